import { planService } from '../../lib/gate/plan-service';
import { C2CError } from '../../lib/errors';
import { MarathonClient } from '../../lib/marathon/client';
import { imageReferenceProblem, parseImageReference, pinnedImage, resolveImageDigest } from '../../lib/image-reference';
import { startLocalMarathon } from '@commit-to-cloud/local-marathon';
import { loadCatalog } from '../../services';
import { startRecordingServer } from '../helpers/http';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** A Docker Registry v2 on loopback that knows one manifest: bulb-api:1a2b3c4. */
async function registry() {
  return startRecordingServer((req, res) => {
    if (req.method === 'HEAD' && req.url === '/v2/bulb-api/manifests/1a2b3c4') {
      res.writeHead(200, { 'docker-content-digest': DIGEST, 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' });
    } else {
      res.writeHead(req.url.startsWith('/v2/broken/') ? 500 : 404);
    }
    res.end();
  });
}

describe('image references', () => {
  it('splits registry, repository, tag and digest', () => {
    expect(parseImageReference('registry.internal:5000/team/app:1.2')).toEqual({
      registry: 'registry.internal:5000',
      repository: 'team/app',
      tag: '1.2',
    });
    expect(parseImageReference('nginx')).toEqual({ registry: 'docker.io', repository: 'nginx' });
    expect(parseImageReference(`localhost/app:v1@${DIGEST}`)).toEqual({
      registry: 'localhost',
      repository: 'app',
      tag: 'v1',
      digest: DIGEST,
    });
    // The grammar's domain rule: an upper-case first component is a registry, as Docker reads it.
    expect(parseImageReference('Registry/app:1')).toMatchObject({ registry: 'Registry', repository: 'app' });
    expect(pinnedImage('r:5000/app:v1', DIGEST)).toBe(`r:5000/app:v1@${DIGEST}`);
  });
});

// One test per rule of the Docker reference grammar, the one check of every image that enters: --image, plan files,
// service files.
describe('the reference grammar (imageReferenceProblem)', () => {
  const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;

  it.each([
    'registry.internal:5000/bulb-api:3f2a9c1',
    'bulb-api:3f2a9c1',
    'localhost/team/app:v1.2_3',
    'docker.io/library/nginx:1.25',
    `nginx@${digest}`,
    `nginx:1.25@${digest}`,
    'a__b.c-d---e:latest',
    '[::1]:5000/app:1',
  ])('accepts %s', (ref) => expect(imageReferenceProblem(ref)).toBeNull());

  it.each([
    [
      'registry.internal:5000/Payments:abc123',
      "has an upper-case repository 'Payments'; repository names are lower-case: use 'registry.internal:5000/payments:abc123'",
    ],
    ['Payments:abc123', "has an upper-case repository 'Payments'; repository names are lower-case: use 'payments:abc123'"],
    ['bulb-api', "has no tag or digest; add one, e.g. 'bulb-api:3f2a9c1'"],
    [
      'bulb_-api:1',
      "has an invalid repository component 'bulb_-api'; use lower-case letters and digits, separated by '.', '_', '__' or '-'",
    ],
    ['bulb-api:-x', "has an invalid tag '-x'; a tag is letters, digits, '_', '.' and '-' (at most 128, not starting with '.' or '-')"],
    ['bulb-api@sha256:abc', "has an invalid digest 'sha256:abc'; write sha256:<64 lower-case hex digits>"],
    ['bad_host.example:5000/app:1', "has an invalid registry 'bad_host.example:5000'; write host[:port], e.g. registry.internal:5000"],
    ['bulb api:1', "contains white space; give one reference, e.g. 'registry.internal:5000/bulb-api:3f2a9c1'"],
    [`${'a'.repeat(256)}:1`, 'has a name of 256 characters; the limit is 255'],
  ])('refuses %s', (ref, problem) => expect(imageReferenceProblem(ref)).toBe(problem));

  it('a reference that must be pinned needs a digest', () => {
    expect(imageReferenceProblem('nginx:1.25', 'digest')).toBe("must be pinned by digest, 'name@sha256:<64 hex>'");
    expect(imageReferenceProblem(`nginx@${digest}`, 'digest')).toBeNull();
  });
});

describe('resolving a digest from the registry (Docker Registry HTTP API v2)', () => {
  it('HEADs the manifest with the manifest media types and reads Docker-Content-Digest', async () => {
    const srv = await registry();
    try {
      expect(await resolveImageDigest('registry.marathon.internal:5000/bulb-api:1a2b3c4', srv.url)).toEqual({ digest: DIGEST });
      expect(srv.received[0].method).toBe('HEAD');
      expect(srv.received[0].url).toBe('/v2/bulb-api/manifests/1a2b3c4');
      expect(srv.received[0].headers.accept).toContain('application/vnd.docker.distribution.manifest.v2+json');
      expect(srv.received[0].headers.accept).toContain('application/vnd.oci.image.index.v1+json');
    } finally {
      await srv.close();
    }
  });

  it('an image the registry does not have is IMAGE_NOT_FOUND; other failures keep the tag with a note', async () => {
    const srv = await registry();
    try {
      await expect(resolveImageDigest('r:5000/bulb-api:nope', srv.url)).rejects.toMatchObject({
        code: 'IMAGE_NOT_FOUND',
        message: `r:5000/bulb-api:nope is not in the registry at ${srv.url} (404 for bulb-api:nope)`,
      } satisfies Partial<C2CError>);
      expect(await resolveImageDigest('r:5000/broken:v1', srv.url)).toEqual({
        note: `the registry at ${srv.url} answered 500 without a Docker-Content-Digest; the plan keeps the tag`,
      });
    } finally {
      await srv.close();
    }
    const gone = await resolveImageDigest('r:5000/bulb-api:1a2b3c4', srv.url, { timeoutMs: 1000 });
    expect('note' in gone && gone.note).toMatch(/did not answer/);
  });

  it('a plan with a digest runs image@digest, so production runs exactly the reviewed image', async () => {
    const marathon = await startLocalMarathon({ docker: 'never' });
    try {
      const client = new MarathonClient({ baseUrl: marathon.url });
      const { plan } = await planService(
        { client, actor: 'dev@example.com' },
        {
          service: loadCatalog().get('bulb-api'),
          environment: 'production',
          image: 'registry.marathon.internal:5000/bulb-api:1a2b3c4',
          imageDigest: DIGEST,
        },
      );
      expect(plan.imageDigest).toBe(DIGEST);
      expect(plan.image).toBe('registry.marathon.internal:5000/bulb-api:1a2b3c4');
      expect(plan.app.container?.docker.image).toBe(`registry.marathon.internal:5000/bulb-api:1a2b3c4@${DIGEST}`);
    } finally {
      await marathon.close();
    }
  });
});
