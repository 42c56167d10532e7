import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseImageTag, parseLdd, writeRootfs } from '../../../lib/docker/base-image';

it('reads the libraries and the loader from ldd output', () => {
  const out = [
    '\tlinux-vdso.so.1 (0x00007ffd)',
    '\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f22)',
    '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f22)',
    '\t/lib64/ld-linux-x86-64.so.2 (0x00007f22)',
  ].join('\n');
  expect(parseLdd(out)).toEqual(['/lib/x86_64-linux-gnu/libstdc++.so.6', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
});

it('names the image after the Node version', () => {
  expect(baseImageTag('20.20.2')).toBe('c2c-base/node:20.20.2');
});

describe('the root filesystem', () => {
  let root: string;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'c2c-rootfs-test-'));
    await writeRootfs(root, {
      node: process.execPath,
      npm: join(require.resolve('npm/package.json', { paths: [join(process.execPath, '../../lib/node_modules')] }), '..'),
      sh: '/bin/sh',
      grep: '/bin/grep',
      env: '/usr/bin/env',
    });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('holds node, npm, sh, grep and env, executable', () => {
    for (const bin of ['usr/bin/node', 'bin/sh', 'bin/grep', 'usr/bin/env']) expect(statSync(join(root, bin)).mode & 0o111).not.toBe(0);
    expect(readlinkSync(join(root, 'usr/bin/npm'))).toBe('../lib/node_modules/npm/bin/npm-cli.js');
    expect(existsSync(join(root, 'usr/lib/node_modules/npm/bin/npm-cli.js'))).toBe(true);
  });

  it("holds every library node loads, and a 'node' user with uid 1000", () => {
    expect(existsSync(join(root, 'lib64/ld-linux-x86-64.so.2')) || existsSync(join(root, 'lib/ld-linux-aarch64.so.1'))).toBe(true);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toMatch(/^node:x:1000:1000:/m);
    expect(lstatSync(join(root, 'tmp')).mode & 0o1777).toBe(0o1777);
  });
});
