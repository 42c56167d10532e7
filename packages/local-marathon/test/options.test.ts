/** startLocalMarathon refuses bad options with a LocalMarathonConfigError (code and hint) before creating anything. */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMarathonConfigError, LocalMarathonOptions, startLocalMarathon } from '../src';
import { start, stopAll } from './helpers';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lm-options-'));
});
afterEach(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

async function refusal(options: LocalMarathonOptions): Promise<{ code: string; hint: string }> {
  const e = await startLocalMarathon({ docker: 'never', ...options }).then(
    async (m) => {
      await m.close();
      return undefined;
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(LocalMarathonConfigError);
  const { code, hint } = e as LocalMarathonConfigError;
  return { code, hint };
}

test('each bad option has its code and a hint; nothing is written', async () => {
  writeFileSync(join(dir, 'file'), 'x');
  expect((await refusal({ stateDir: join(dir, 'file') })).code).toBe('STATE_NOT_A_DIRECTORY');
  expect((await refusal({ imageStore: join(dir, 'file') })).code).toBe('IMAGES_NOT_A_DIRECTORY');
  expect(await refusal({ enableFeatures: ['secrets', 'bogus'] })).toEqual({
    code: 'UNKNOWN_FEATURE',
    hint: expect.stringContaining('secrets'),
  });
  expect((await refusal({ credentials: 'no-colon' })).code).toBe('BAD_CREDENTIALS');
  expect((await refusal({ allowedHosts: ['evil.test/path'] })).code).toBe('BAD_ALLOWED_HOST');
  expect((await refusal({ fetcherConnectTo: [{ host: 'a.test', port: 0, to: { host: '127.0.0.1', port: 1 } }] })).code).toBe(
    'BAD_CONNECT_TO',
  );
  expect((await refusal({ fetcherConnectTo: [{ host: 'a.test', port: 80, to: { host: 'x/y', port: 1 } }] })).code).toBe('BAD_CONNECT_TO');
  expect(readdirSync(dir)).toEqual(['file']);
});

test('an image store that does not exist yet is fine in-process (a harness may fill it after start)', async () => {
  const s = await start({ imageStore: join(dir, 'later') });
  expect((await s.req('GET', '/__local/info')).body.imageStore).toBe(join(dir, 'later'));
});

test('a state directory that a live server owns is refused; after close it is free again', async () => {
  const stateDir = join(dir, 'state');
  const first = await start({ stateDir });
  expect((await refusal({ stateDir })).code).toBe('STATE_IN_USE');
  await first.m.close();
  const again = await start({ stateDir });
  expect((await again.req('GET', '/ping')).status).toBe(200);
});
