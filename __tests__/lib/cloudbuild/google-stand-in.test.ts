// The loopback Google APIs, through the project's own clients (storage, the gate's Cloud Build read).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGoogleStandIn, GoogleStandIn } from '../../../lib/cloudbuild/google-stand-in';
import { createObject, getObject } from '../../../lib/google/storage';
import { fetchBuild } from '../../../lib/gate/cloudbuild';
import { gcsSink } from '../../../lib/audit/gcs';

const dir = mkdtempSync(join(tmpdir(), 'c2c-google-'));
let g: GoogleStandIn;
beforeAll(async () => (g = await startGoogleStandIn(dir)));
afterAll(async () => {
  await g.close();
  rmSync(dir, { recursive: true, force: true });
});

it('hands the build its token only with Metadata-Flavor: Google', async () => {
  const url = `${g.url}/computeMetadata/v1/instance/service-accounts/default/token`;
  expect((await fetch(url)).status).toBe(403);
  const body = (await (await fetch(url, { headers: { 'Metadata-Flavor': 'Google' } })).json()) as { access_token: string };
  expect(body.access_token).toBe(g.buildToken);
});

it('stores objects once, by generation, through the storage client and the metadata token', async () => {
  const auth = { metadataUrl: g.url };
  const ref = await createObject({ bucket: 'acme-deploy', name: 'plans/a.json' }, '{"a":1}', { auth, baseUrl: g.url });
  expect(ref.generation).toMatch(/^\d+$/);
  expect((await getObject(ref, { auth, baseUrl: g.url })).toString()).toBe('{"a":1}');
  await expect(createObject({ bucket: 'acme-deploy', name: 'plans/a.json' }, 'x', { auth, baseUrl: g.url })).rejects.toMatchObject({
    code: 'OBJECT_EXISTS',
  });
  await expect(getObject({ bucket: 'acme-deploy', name: 'plans/none.json' }, { auth, baseUrl: g.url })).rejects.toMatchObject({
    code: 'GOOGLE_NOT_FOUND',
  });
});

it("approves a build as the caller's identity, never the build's own, and the gate reads who", async () => {
  g.addBuild({ project: 'acme', location: 'europe-west1', id: 'b-1', substitutions: { _PLAN_OBJECT: 'plans/x.json' } });
  const approve = (token: string) =>
    fetch(`${g.url}/v1/projects/acme/locations/europe-west1/builds/b-1:approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ approvalResult: { decision: 'APPROVED', comment: 'ok' } }),
    });
  expect((await approve(g.buildToken)).status).toBe(403);
  expect((await approve('forged')).status).toBe(401);
  expect((await approve(g.tokenFor('ana@acme.example'))).status).toBe(200);
  const build = await fetchBuild({ project: 'acme', buildId: 'b-1', location: 'europe-west1' }, { metadataUrl: g.url }, g.url);
  expect(build.approval).toMatchObject({ state: 'APPROVED', result: { approverAccount: 'ana@acme.example', decision: 'APPROVED' } });
  expect((await approve(g.tokenFor('bob@acme.example'))).status).toBe(400);
});

it("lists objects by prefix, so the deploy CLI's audit log (a chain of GCS objects) appends and reads back here", async () => {
  const sink = gcsSink('gs://acme-audit/events/', { auth: { metadataUrl: g.url }, baseUrl: g.url });
  await sink.append(async (prev) => `{"n":1,"prev":"${prev.slice(0, 8)}"}`);
  await sink.append(async (prev) => `{"n":2,"prev":"${prev.slice(0, 8)}"}`);
  const lines = await sink.readAll();
  expect(lines.map((l) => JSON.parse(l).n)).toEqual([1, 2]);
  expect(await sink.integrity!()).toEqual([]);
  expect(g.objects('acme-audit')).toEqual(['events/000000000001.json', 'events/000000000002.json']);
});
