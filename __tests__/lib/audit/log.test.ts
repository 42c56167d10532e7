import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, GENESIS, lineHash } from '../../../lib/audit/log';
import { sendJson, startRecordingServer } from '../../helpers/http';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'c2c-audit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the local audit log', () => {
  it('appends one JSON object per line and lists them in time order, filtered', async () => {
    const log = AuditLog.open(join(dir, 'nested', 'audit.jsonl'));
    await log.record({ type: 'apply.succeeded', service: 'b', environment: 'staging', actor: 'ci', time: '2026-11-02T00:00:00.000Z' });
    await log.record({ type: 'apply.started', service: 'a', environment: 'production', actor: 'ana', time: '2026-11-01T00:00:00.000Z' });
    const lines = readFileSync(join(dir, 'nested', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0])).toMatchObject({ type: 'apply.succeeded', service: 'b', id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect((await log.list()).map((e) => e.service)).toEqual(['a', 'b']);
    expect((await log.list({ environment: 'staging' })).map((e) => e.service)).toEqual(['b']);
    expect((await log.list({ since: new Date('2026-11-01T12:00:00Z') })).map((e) => e.service)).toEqual(['b']);
  });

  it('concurrent writers never lose an event', async () => {
    const path = join(dir, 'audit.jsonl');
    const writers = [AuditLog.open(path), AuditLog.open(path)];
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        writers[i % 2].record({ type: 'apply.noop', service: `s${i}`, environment: 'staging', actor: 'x' }),
      ),
    );
    expect(await AuditLog.open(path).list()).toHaveLength(50);
  });

  it('an empty or missing log lists nothing; a malformed line is reported with its number and skipped, never fatal', async () => {
    const path = join(dir, 'audit.jsonl');
    const log = AuditLog.open(path);
    expect(await log.list()).toEqual([]);
    await log.record({ type: 'apply.noop', service: 'a', environment: 'staging', actor: 'x' });
    appendFileSync(path, '{oops\n');
    await log.record({ type: 'apply.noop', service: 'b', environment: 'staging', actor: 'x' });
    expect((await log.list()).map((e) => e.service)).toEqual(['a', 'b']);
    expect((await log.read()).problems).toEqual([{ line: 2, message: 'not valid JSON; skipped' }]);
  });

  it('every record carries the SHA-256 of the line before it; an edited line is named by the next one', async () => {
    const path = join(dir, 'audit.jsonl');
    const log = AuditLog.open(path);
    for (const service of ['a', 'b', 'c']) await log.record({ type: 'apply.noop', service, environment: 'staging', actor: 'x' });
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0]).prev).toBe(GENESIS);
    expect(JSON.parse(lines[2]).prev).toBe(lineHash(lines[1]));
    expect((await log.read()).problems).toEqual([]);
    writeFileSync(path, `${[lines[0], lines[1].replace('"b"', '"B"'), lines[2]].join('\n')}\n`);
    expect((await log.read()).problems).toEqual([
      { line: 3, chain: true, message: expect.stringMatching(/^hash chain broken: prev [0-9a-f]{12} is not the hash of line 2 /) },
    ]);
    writeFileSync(path, `${[lines[0], lines[2]].join('\n')}\n`);
    expect((await log.read()).problems.map((p) => p.line)).toEqual([2]);
  });

  it('C2C_AUDIT_LOG picks the location', () => {
    expect(AuditLog.open(undefined, { C2C_AUDIT_LOG: join(dir, 'x.jsonl') }).location).toBe(join(dir, 'x.jsonl'));
  });
});

describe('the GCS audit log (JSON API on a loopback server)', () => {
  /** Cloud Storage's JSON API as far as the log uses it: create-once uploads, listing with generations, media reads. */
  async function fakeGcs() {
    const objects = new Map<string, string>();
    const generations = new Map<string, number>();
    let clock = 1_700_000_000_000_000;
    const srv = await startRecordingServer((req, res) => {
      const url = new URL(req.url, 'http://x');
      if (req.method === 'POST' && url.pathname === '/upload/storage/v1/b/audit-bkt/o') {
        const name = url.searchParams.get('name') ?? '';
        if (objects.has(name)) return sendJson(res, 412, { error: { code: 412 } });
        objects.set(name, req.body);
        generations.set(name, (clock += 1000));
        return sendJson(res, 200, { name, bucket: 'audit-bkt', generation: String(generations.get(name)) });
      }
      if (req.method === 'GET' && url.pathname === '/storage/v1/b/audit-bkt/o') {
        return sendJson(res, 200, {
          kind: 'storage#objects',
          items: [...objects.keys()]
            .filter((n) => n.startsWith(url.searchParams.get('prefix') ?? ''))
            .map((name) => ({ name, generation: String(generations.get(name)) })),
        });
      }
      const m = /^\/storage\/v1\/b\/audit-bkt\/o\/(.+)$/.exec(url.pathname);
      if (req.method === 'GET' && m && url.searchParams.get('alt') === 'media') {
        const body = objects.get(decodeURIComponent(m[1]));
        return body ? sendJson(res, 200, JSON.parse(body)) : sendJson(res, 404, {});
      }
      return sendJson(res, 404, {});
    });
    return { srv, objects, generations, tick: () => (clock += 1000) };
  }

  it('writes one object per event without overwriting, and reads them back', async () => {
    const { srv, objects } = await fakeGcs();
    try {
      const env = { C2C_GCS_BASE_URL: srv.url, GOOGLE_OAUTH_ACCESS_TOKEN: 't0k' };
      const log = AuditLog.open('gs://audit-bkt/events', env);
      const e = await log.record({ type: 'plan.created', service: 'a', environment: 'production', actor: 'ana', planId: 'p1' });
      const post = srv.received.find((r) => r.method === 'POST');
      expect(post?.url).toBe(
        `/upload/storage/v1/b/audit-bkt/o?uploadType=media&ifGenerationMatch=0&name=${encodeURIComponent('events/000000000001.json')}`,
      );
      expect(post?.headers.authorization).toBe('Bearer t0k');
      expect(JSON.parse(post?.body ?? '{}')).toEqual(e);
      expect(await log.list()).toEqual([e]);
      // The next record takes the next number and links to the first.
      const e2 = await log.record({ type: 'plan.created', service: 'a', environment: 'production', actor: 'ana', planId: 'p2' });
      expect([...objects.keys()]).toEqual(['events/000000000001.json', 'events/000000000002.json']);
      expect(e2.prev).toBe(lineHash(objects.get('events/000000000001.json') ?? ''));
      expect((await log.read()).problems).toEqual([]);
    } finally {
      await srv.close();
    }
  });

  it('a deleted record and a back-dated insert show in the numbers and generations (a bucket without its retention lock)', async () => {
    const { srv, objects, generations, tick } = await fakeGcs();
    try {
      const log = AuditLog.open('gs://audit-bkt/events', { C2C_GCS_BASE_URL: srv.url, GOOGLE_OAUTH_ACCESS_TOKEN: 't' });
      for (const service of ['a', 'b', 'c']) await log.record({ type: 'apply.noop', service, environment: 'staging', actor: 'x' });
      const second = objects.get('events/000000000002.json') ?? '';
      objects.delete('events/000000000002.json');
      const gap = (await log.read()).problems;
      expect(gap).toHaveLength(2);
      expect(gap).toEqual(
        expect.arrayContaining([
          { line: 2, message: 'record 2 is missing from gs://audit-bkt/events/ (the next object is number 3): it was deleted' },
          expect.objectContaining({ line: 2, chain: true }),
        ]),
      );
      // Put back with the same bytes (the chain holds again), but created now: its generation gives it away.
      objects.set('events/000000000002.json', second);
      generations.set('events/000000000002.json', tick());
      expect((await log.read()).problems).toEqual([
        { line: 2, message: expect.stringMatching(/^object events\/000000000002\.json was created after the record that follows it /) },
      ]);
    } finally {
      await srv.close();
    }
  });

  it('a GCS error names the bucket and the missing role', async () => {
    const srv = await startRecordingServer((_req, res) => sendJson(res, 403, { error: { code: 403 } }));
    try {
      const log = AuditLog.open('gs://audit-bkt', { C2C_GCS_BASE_URL: srv.url, GOOGLE_OAUTH_ACCESS_TOKEN: 't' });
      await expect(log.record({ type: 'apply.noop', service: 'a', environment: 'staging', actor: 'x' })).rejects.toThrow(
        'GCS answered 403 for GET gs://audit-bkt/',
      );
    } finally {
      await srv.close();
    }
  });
});

describe('where the log goes', () => {
  it('C2C_AUDIT_BUCKET (set by the build steps) means one object per event in that bucket', () => {
    expect(AuditLog.open(undefined, { C2C_AUDIT_BUCKET: 'acme-audit' }).location).toBe('gs://acme-audit/events/');
  });
});
