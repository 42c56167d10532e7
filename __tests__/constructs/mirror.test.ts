// The docker-build step's base-image lines, run by bash against a stand-in `docker` that records its calls: Docker Hub
// images come through mirror.gcr.io and get their Docker Hub name; other registries, stages and build args are left.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mirroredBaseImages } from '../../constructs/build-pipeline';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'c2c-mirror-'));
  // `docker pull` fails for one image the mirror does not hold; every call is recorded.
  writeFileSync(
    join(dir, 'docker'),
    `#!/usr/bin/env bash\necho "$*" >> "${dir}/calls"\nif [ "$1" = pull ] && [ "$3" = mirror.gcr.io/acme/not-mirrored:1 ]; then exit 1; fi\n`,
  );
  chmodSync(join(dir, 'docker'), 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The lines as bash gets them: Cloud Build turns `$$` into `$`. */
function run(dockerfile: string): { calls: string[]; out: string } {
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  writeFileSync(join(dir, 'calls'), '');
  const script = mirroredBaseImages().join('\n').replace(/\$\$/g, '$');
  const out = execFileSync('bash', ['-c', script], { cwd: dir, env: { PATH: `${dir}:${process.env.PATH}` }, encoding: 'utf8' });
  return { calls: readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n').filter(Boolean), out };
}

it('pulls Docker Hub base images through mirror.gcr.io and tags them with their Docker Hub name', () => {
  const { calls } = run(
    [
      'FROM node:20-slim AS build',
      'FROM build AS test',
      'RUN npm ci',
      'FROM --platform=linux/amd64 bitnami/redis:7.2',
      'from build',
      'FROM gcr.io/distroless/nodejs20@sha256:' + 'a'.repeat(64),
      'FROM localhost:5000/base:1',
      'FROM ${BASE}',
      'FROM scratch',
    ].join('\n'),
  );
  expect(calls).toEqual([
    'pull -q mirror.gcr.io/library/node:20-slim',
    'tag mirror.gcr.io/library/node:20-slim node:20-slim',
    'pull -q mirror.gcr.io/bitnami/redis:7.2',
    'tag mirror.gcr.io/bitnami/redis:7.2 bitnami/redis:7.2',
  ]);
});

it('leaves an image the mirror does not hold to the build, with a note', () => {
  const { calls, out } = run('FROM acme/not-mirrored:1\n');
  expect(calls).toEqual(['pull -q mirror.gcr.io/acme/not-mirrored:1']);
  expect(out).toContain('note: acme/not-mirrored:1 is not in mirror.gcr.io');
});
