import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { findRegistryBinary, registryConfig, startRegistry } from '../../../lib/docker/local-registry';
import { caught } from '../../helpers/errors';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'c2c-registry-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('writes a config with filesystem storage, the loopback address and no access log', () => {
  const config = parse(registryConfig({ rootDirectory: '/w/registry/storage', addr: '127.0.0.1:5123', secret: 's3' })) as Record<
    string,
    Record<string, unknown>
  >;
  expect(config.version).toBe(0.1);
  expect(config.storage).toEqual({ filesystem: { rootdirectory: '/w/registry/storage' }, delete: { enabled: true } });
  expect(config.http).toMatchObject({ addr: '127.0.0.1:5123', secret: 's3' });
  expect(config.log).toEqual({ level: 'warn', accesslog: { disabled: true } });
});

it('quotes a storage path with YAML-special characters', () => {
  const config = parse(registryConfig({ rootDirectory: '/w/a: b #c', addr: '127.0.0.1:1', secret: 'x' })) as {
    storage: { filesystem: { rootdirectory: string } };
  };
  expect(config.storage.filesystem.rootdirectory).toBe('/w/a: b #c');
});

it('finds docker-registry (Debian) before registry on PATH', () => {
  for (const bin of ['docker-registry', 'registry']) writeFileSync(join(dir, bin), '');
  expect(findRegistryBinary(`/nonexistent:${dir}`)).toBe(join(dir, 'docker-registry'));
  rmSync(join(dir, 'docker-registry'));
  expect(findRegistryBinary(dir)).toBe(join(dir, 'registry'));
});

it('fails with REGISTRY_NOT_FOUND and the fix when there is no binary', async () => {
  const err = await caught(startRegistry({ dir, path: '/nonexistent' }));
  expect(err.code).toBe('REGISTRY_NOT_FOUND');
  expect(err.message).toBe('no Docker registry binary (docker-registry or registry) on PATH');
  expect(err.hint).toContain('apt-get install docker-registry');
  expect(() => findRegistryBinary('', join(dir, 'nope'))).toThrow(`the registry binary ${join(dir, 'nope')} does not exist`);
});

it('fails with REGISTRY_START_FAILED and the output of a registry that exits at once', async () => {
  const bin = join(dir, 'docker-registry');
  writeFileSync(bin, '#!/bin/sh\necho "configuration error: bad storage driver" >&2\nexit 1\n');
  chmodSync(bin, 0o755);
  const err = await caught(startRegistry({ dir: join(dir, 'reg'), path: dir }));
  expect(err.code).toBe('REGISTRY_START_FAILED');
  expect(err.message).toContain(`${bin} serve ${join(dir, 'reg', 'config.yml')} did not answer on GET /v2/:`);
  expect(err.message).toContain('configuration error: bad storage driver');
  expect(err.hint).toBe(`run it alone to see why: ${bin} serve ${join(dir, 'reg', 'config.yml')}`);
});
