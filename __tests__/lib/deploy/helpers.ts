import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceDefinition } from '../../../lib/catalog';
import { AuditRecorder, DeployContext } from '../../../lib/deploy/types';
import { NewAuditEvent } from '../../../lib/audit/log';
import { MarathonClient } from '../../../lib/marathon/client';
import { LocalMarathon, startLocalMarathon } from '@commit-to-cloud/local-marathon';
export { recordingProxy } from '../../helpers/proxy';

/** An image store for the local Marathon: `reg:5000/<name>:<tag>` runs `<store>/<name>/<tag>/run` (PORT0.. set). */
export function makeImageStore(badImages: readonly string[] = ['web-bad']): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'c2c-images-'));
  const image = (name: string, tag: string, script: string) => {
    mkdirSync(join(dir, name, tag), { recursive: true });
    const run = join(dir, name, tag, 'run');
    writeFileSync(run, script);
    chmodSync(run, 0o755);
  };
  // A bad release: it runs, but every request (the health check too) gets a 500.
  const serve500 = `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} -e "require('http').createServer((q, s) => { s.statusCode = 500; s.end('broken'); }).listen(Number(process.env.PORT0), '127.0.0.1')"\n`;
  for (const name of badImages) image(name, 'bad', serve500);
  // An image that cannot start: every task exits at once with 125 (what `docker run` gives for a missing image).
  for (const name of badImages) image(name, 'broken', '#!/bin/sh\necho "image not found" >&2\nexit 125\n');
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A small test service with fast health checks (validate rules: timeout < interval, all > 0). */
export function testService(name: string, extra: Partial<ServiceDefinition> = {}): ServiceDefinition {
  return {
    name,
    repo: `acme/${name}`,
    cpus: 0.1,
    mem: 32,
    instances: 1,
    // Fast, but a healthy task on a loaded machine is not killed for two slow answers: 3 failures of 0.25 s each.
    healthCheck: { path: '/health', gracePeriodSeconds: 2, intervalSeconds: 0.3, timeoutSeconds: 0.25, maxConsecutiveFailures: 3 },
    smokeTest: './e2e.sh',
    approvers: ['user:ana@example.com'],
    ...extra,
  };
}

/** Collects audit events in memory. */
export function memoryAudit(): AuditRecorder & { events: NewAuditEvent[] } {
  const events: NewAuditEvent[] = [];
  return {
    events,
    record: async (e) => {
      events.push(e);
      return e;
    },
  };
}

export async function startMarathon(imageStore: string): Promise<LocalMarathon> {
  return startLocalMarathon({ docker: 'never', imageStore, enableFeatures: ['secrets'] });
}

export function deployContext(url: string, extra: Partial<DeployContext> = {}): DeployContext {
  return {
    client: new MarathonClient({ baseUrl: url, auth: { source: 'none' }, backoffMs: 20, maxBackoffMs: 100, requestTimeoutMs: 3000 }),
    actor: 'dev@example.com',
    timeoutMs: 8000,
    pollIntervalMs: 100,
    ...extra,
  };
}

export async function fault(url: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${url}/__local/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`fault ${JSON.stringify(body)}: ${res.status} ${await res.text()}`);
}

export async function clearFaults(url: string): Promise<void> {
  await fetch(`${url}/__local/faults`, { method: 'DELETE' });
}

/** GET /v2/apps/{id} straight from Marathon (not through the client under test). */
export async function rawApp(url: string, id: string): Promise<Record<string, unknown> | null> {
  const res = await fetch(`${url}/v2/apps${id}`);
  if (res.status === 404) return null;
  return ((await res.json()) as { app: Record<string, unknown> }).app;
}
