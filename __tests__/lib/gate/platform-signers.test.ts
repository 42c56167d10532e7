// Issue 20 item 9: on the cloud path the allowed signers come from the platform's object in the deploy bucket, never
// from the service's checkout. A real HTTP server on 127.0.0.1 plays Cloud Storage's JSON API; real git and ssh-keygen.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyCommitAuthor } from '../../../lib/gate/commit-author';
import { fetchPlatformSigners, parsePlatformSigners, platformSignersObject } from '../../../lib/gate/platform-signers';
import { caught } from '../../helpers/errors';
import { signingWith, testGit } from '../../helpers/git';
import { startRecordingServer } from '../../helpers/http';
import { testKeys, TestKeys } from '../../helpers/keys';

const ANA = 'ana@example.com';
const BEN = 'ben@example.com';
let dir: string;
let keys: TestKeys;
let platformList: Buffer;
let sha: string;
let server: Awaited<ReturnType<typeof startRecordingServer>>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'c2c-platform-signers-test-'));
  keys = testKeys(dir, [ANA, BEN]);
  platformList = readFileSync(keys.allowedSigners);
  sha = createHash('sha256').update(platformList).digest('hex');
  server = await startRecordingServer((req, res) => {
    const wanted = `/storage/v1/b/deploy-bucket/o/${encodeURIComponent(platformSignersObject(sha))}?alt=media&generation=7`;
    if (req.url === wanted) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(platformList);
    } else if (req.url.includes('generation=8')) {
      res.writeHead(200);
      res.end(
        `${platformList.toString()}mallory@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOlq2E2vhXnF5e3nJZ3sBqsYv3w2o7iXyq1sR8d4Pp5n\n`,
      );
    } else {
      res.writeHead(404);
      res.end('{}');
    }
  });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const auth = { accessToken: 'test-token' };

describe('the platform signers reference', () => {
  it('is gs://BUCKET/security/allowed_signers-<sha256>#GENERATION and nothing else', async () => {
    expect(parsePlatformSigners(`gs://deploy-bucket/security/allowed_signers-${sha}#7`)).toEqual({
      bucket: 'deploy-bucket',
      object: `security/allowed_signers-${sha}`,
      sha256: sha,
      generation: '7',
    });
    for (const bad of [
      `gs://deploy-bucket/security/allowed_signers-${sha}`, // no generation: "whatever is there now"
      `gs://deploy-bucket/other/allowed_signers-${sha}#7`,
      `gs://deploy-bucket/security/allowed_signers#7`,
      `https://evil.example/security/allowed_signers-${sha}#7`,
    ]) {
      const e = await caught((async () => parsePlatformSigners(bad))());
      expect([e.code, e.message]).toEqual(['USAGE', expect.stringMatching(/^C2C_PLATFORM_SIGNERS '.*' is not gs:\/\/BUCKET\//)]);
    }
  });
});

describe('fetchPlatformSigners', () => {
  it('reads exactly the pinned generation with the bearer token, and loads the list', async () => {
    const ref = parsePlatformSigners(`gs://deploy-bucket/security/allowed_signers-${sha}#7`);
    const signers = await fetchPlatformSigners(ref, { auth, baseUrl: server.url });
    expect(signers.signers.map((s) => s.principal)).toEqual([ANA, BEN]);
    const last = server.received[server.received.length - 1];
    expect(last.headers.authorization).toBe('Bearer test-token');
    expect(last.url).toMatch(/\?alt=media&generation=7$/);
  });

  it('refuses other bytes than the name pins (a generation written by someone else), and a missing object', async () => {
    const other = await caught(
      fetchPlatformSigners(parsePlatformSigners(`gs://deploy-bucket/security/allowed_signers-${sha}#8`), { auth, baseUrl: server.url }),
    );
    expect([other.code, other.message]).toEqual([
      'GATE_BAD_ALLOWED_SIGNERS',
      expect.stringMatching(/#8 has SHA-256 [0-9a-f]{64}, not the one its name holds: it is not the list the platform published$/),
    ]);
    const missing = await caught(
      fetchPlatformSigners(parsePlatformSigners(`gs://deploy-bucket/security/allowed_signers-${'0'.repeat(64)}#7`), {
        auth,
        baseUrl: server.url,
      }),
    );
    expect([missing.code, missing.message]).toEqual([
      'GATE_NO_ALLOWED_SIGNERS',
      expect.stringMatching(/^could not read the platform's allowed signers gs:\/\/deploy-bucket\/.*: 404 not found$/),
    ]);
  });
});

describe('the commit author against the platform list', () => {
  it("an author who lists their own key under a reviewer's name in the checkout is not that reviewer", async () => {
    const repo = join(dir, 'repo');
    mkdirSync(join(repo, 'security'), { recursive: true });
    const git = testGit(repo, dir, BEN);
    // Mallory's own key, listed in the checkout as ben.
    const mallory = keys.add('mallory@example.com', { listed: false });
    writeFileSync(join(repo, 'security', 'allowed_signers'), `${BEN} ${readFileSync(`${mallory}.pub`, 'utf8').trim()}\n`);
    git(['init', '-q']);
    git(['add', '-A']);
    git([...signingWith(mallory), 'commit', '-qS', '-m', 'me, as ben']);
    const id = git(['rev-parse', 'HEAD']);
    // Against the checkout's own file (a terminal), the forged line would name ben; against the platform's, nobody.
    expect((await verifyCommitAuthor(repo, id)).author).toBe(BEN);
    const signers = await fetchPlatformSigners(parsePlatformSigners(`gs://deploy-bucket/security/allowed_signers-${sha}#7`), {
      auth,
      baseUrl: server.url,
    });
    const verified = await verifyCommitAuthor(repo, id, { signers, name: "the platform's allowed signers" });
    expect(verified.author).toBeUndefined();
    expect(verified.unverified).toMatch(/^the commit is signed with key SHA256:\S+, which is not in the platform's allowed signers$/);
    // A commit signed by a key the platform lists names that person.
    git([...signingWith(keys.key(ANA)), 'commit', '-qS', '--allow-empty', '-m', 'ana']);
    expect((await verifyCommitAuthor(repo, git(['rev-parse', 'HEAD']), { signers, name: 'x' })).author).toBe(ANA);
  });
});
