import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageDir, packageLocalImage } from '../../../lib/demo/image-store';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'c2c-images-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the local image store (the demo stand-in for docker build + push)', () => {
  it('lays images out the way the local Marathon looks them up: registry host stripped, tag last', () => {
    expect(imageDir('/s', 'registry.marathon.internal:5000/bulb-api:abc1234')).toBe('/s/bulb-api/abc1234');
    expect(imageDir('/s', 'localhost/team/app')).toBe('/s/team/app/latest');
    expect(imageDir('/s', 'team/app:1.2')).toBe('/s/team/app/1.2');
  });

  it('copies the repository without .git and writes an executable run entrypoint with baked-in env', async () => {
    const repo = join(dir, 'repo');
    mkdirSync(join(repo, '.git'), { recursive: true });
    writeFileSync(join(repo, 'server.js'), 'console.log(process.env.BROKEN ?? "unset")\n');
    writeFileSync(join(repo, '.git', 'HEAD'), 'ref: main\n');
    const out = await packageLocalImage({
      repoDir: repo,
      store: join(dir, 'store'),
      image: 'reg:5000/web:v1',
      command: 'node server.js',
      extraEnv: { BROKEN: '1' },
    });
    expect(out).toBe(join(dir, 'store', 'web', 'v1'));
    expect(() => statSync(join(out, '.git'))).toThrow();
    expect(readFileSync(join(out, 'server.js'), 'utf8')).toContain('BROKEN');
    expect(execFileSync(join(out, 'run'), { encoding: 'utf8' })).toBe('1\n');
  });
});
