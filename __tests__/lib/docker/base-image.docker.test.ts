import { execFileSync } from 'node:child_process';
import { ensureBaseImage } from '../../../lib/docker/base-image';

const tag = `c2c-base-test/node:${process.pid}`;
afterAll(() => {
  execFileSync('docker', ['image', 'rm', '-f', tag], { stdio: 'ignore' });
});

it('makes an image whose node, npm and sh run as the node user, and reuses it the second time', async () => {
  const first = await ensureBaseImage({ image: tag });
  expect(first).toMatchObject({ image: tag, created: true });
  const out = execFileSync('docker', ['run', '--rm', '--user', 'node', tag, 'sh', '-c', 'node -v && npm -v && echo ok | grep ok'], {
    encoding: 'utf8',
  });
  expect(out.split('\n').slice(0, 3)).toEqual([`v${process.versions.node}`, expect.stringMatching(/^\d+\.\d+\.\d+$/), 'ok']);
  const second = await ensureBaseImage({ image: tag });
  expect(second).toMatchObject({ image: tag, created: false, id: first.id });
});
