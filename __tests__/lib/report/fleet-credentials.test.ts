// The page's Marathon read credential from Secret Manager's `versions/latest:access`, against a loopback stand-in:
// no version (404) or a disabled one (400 FAILED_PRECONDITION) is "no value", the three forms the deploy steps take
// become the same Authorization header, and no error ever carries the value.
import { accessLatestSecret } from '../../../lib/google/secret-manager';
import { readCredentialFromSecret } from '../../../lib/report/page/fleet-credentials';
import { sendJson, startRecordingServer } from '../../helpers/http';

const NAME = 'projects/acme/secrets/c2c-page-marathon-production';
/** What the stand-in answers for NAME's latest version: [status, body]. */
let answer: [number, unknown] = [404, {}];
let sm: Awaited<ReturnType<typeof startRecordingServer>>;
const value = (v: string): [number, unknown] => [200, { name: `${NAME}/versions/3`, payload: { data: Buffer.from(v).toString('base64') } }];

beforeAll(async () => {
  sm = await startRecordingServer((req, res) =>
    req.url === `/v1/${NAME}/versions/latest:access` ? sendJson(res, answer[0], answer[1]) : sendJson(res, 404, {}),
  );
});
afterAll(() => sm.close());

const options = () => ({ auth: { accessToken: 'tok' }, baseUrl: sm.url });

it('no version, or a disabled latest version, is null; the call carries the bearer token', async () => {
  answer = [404, { error: { code: 404, status: 'NOT_FOUND' } }];
  expect(await accessLatestSecret(NAME, options())).toBeNull();
  answer = [400, { error: { code: 400, status: 'FAILED_PRECONDITION' } }];
  expect(await accessLatestSecret(NAME, options())).toBeNull();
  expect(sm.received.at(-1)!.headers.authorization).toBe('Bearer tok');
  answer = [400, { error: { code: 400, status: 'INVALID_ARGUMENT' } }];
  await expect(accessLatestSecret(NAME, options())).rejects.toMatchObject({ code: 'GOOGLE_HTTP' });
});

it('a denied read names the role; a malformed name is refused before any request', async () => {
  answer = [403, { error: { code: 403, status: 'PERMISSION_DENIED' } }];
  await expect(accessLatestSecret(NAME, options())).rejects.toMatchObject({
    code: 'GOOGLE_DENIED',
    hint: `the account needs roles/secretmanager.secretAccessor on ${NAME}`,
  });
  const before = sm.received.length;
  await expect(accessLatestSecret('projects/acme/secrets/../../x', options())).rejects.toMatchObject({ code: 'USAGE' });
  expect(sm.received).toHaveLength(before);
});

it("takes the deploy steps' forms: token=…, none, user:password", async () => {
  answer = value('token=abc.def\n');
  expect(await readCredentialFromSecret(NAME, options())).toEqual({ header: 'token=abc.def', source: 'MARATHON_TOKEN' });
  answer = value('none');
  expect(await readCredentialFromSecret(NAME, options())).toEqual({ source: 'none' });
  answer = value('reader:s3cret');
  expect(await readCredentialFromSecret(NAME, options())).toEqual({
    header: `Basic ${Buffer.from('reader:s3cret').toString('base64')}`,
    source: 'MARATHON_CREDENTIALS',
  });
  answer = [404, {}];
  expect(await readCredentialFromSecret(NAME, options())).toBeNull();
});

it('a value of no known form is refused naming the secret, never the value', async () => {
  for (const bad of ['s3cret-without-colon', 'user:pa\u001bss']) {
    answer = value(bad);
    const err = await readCredentialFromSecret(NAME, options()).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'USAGE', message: expect.stringContaining(NAME) });
    expect(JSON.stringify({ m: (err as Error).message, h: (err as { hint?: string }).hint })).not.toMatch(/s3cret|pa.ss/);
  }
});
