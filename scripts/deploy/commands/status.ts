import Table from 'cli-table3';
import { Command } from 'commander';
import { EnvironmentName, ENVIRONMENTS } from '../../../lib/catalog';
import { baseName } from '../../../lib/catalog/artifact';
import { fleetStatus, ServiceStatus } from '../../../lib/deploy/status';
import { MarathonClient } from '../../../lib/marathon/client';
import { CliContext } from '../context';
import { marathonOptions, parseEnvironment, withExitHelp } from '../options';

/** `deploy status`: every service per environment, with health, deployment in progress and drift. */
export function register(program: Command, ctx: CliContext): void {
  marathonOptions(withExitHelp(program.command('status')))
    .description(
      'every service per environment: image (or artifact and SHA-256), version, healthy/running/wanted, deployment in progress, drift',
    )
    .option('--env <env>', 'only this environment (default: every environment with a Marathon URL)')
    .option('--service <name>', 'only this service')
    .option('--json', 'print JSON')
    .action(
      ctx.action(async (opts: { env?: string; service?: string; json?: boolean; timeout: number; marathon?: string }) => {
        const catalog = ctx.catalog();
        const services = opts.service !== undefined ? [catalog.get(opts.service)] : catalog.services;
        const environments: EnvironmentName[] =
          opts.env !== undefined ? [parseEnvironment(opts.env)] : ENVIRONMENTS.filter((e) => ctx.hasMarathon(e, opts.marathon));
        if (environments.length === 0) {
          // No URL at all: let the client factory explain which variables to set.
          ctx.client({ marathon: opts.marathon, timeoutSeconds: opts.timeout });
        }
        const clients: Partial<Record<EnvironmentName, MarathonClient>> = {};
        for (const environment of environments)
          clients[environment] = ctx.client({ environment, marathon: opts.marathon, timeoutSeconds: opts.timeout });
        const rows = await fleetStatus({ services, clients });
        if (opts.json) ctx.json(rows);
        else ctx.out(table(rows));
      }),
    );
}

/**
 * One row per service and environment, about 100 characters wide: the image without its registry (JSON has it whole),
 * the commit, who deployed or approved it, how long ago its definition changed, the task counts and the drift.
 */
function table(rows: readonly ServiceStatus[], now = Date.now()): string {
  const t = new Table({
    head: ['service', 'env', 'state', 'image', 'commit', 'by', 'age', 'tasks', 'drift'],
    style: { head: [], border: [], compact: true },
  });
  for (const r of rows) {
    t.push([
      r.service,
      r.environment,
      r.deployment ? `deploying ${r.deployment.id.slice(0, 8)} step ${r.deployment.currentStep}/${r.deployment.totalSteps}` : r.state,
      r.image !== null
        ? r.image.slice(r.image.lastIndexOf('/', r.image.search(/[:@][^/]*$/)) + 1).replace(/(@sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1…')
        : r.artifact
          ? `${baseName(r.artifact.uri)} ${r.artifact.sha256?.slice(0, 12) ?? '?'}`
          : '-',
      r.commit?.slice(0, 7) ?? '-',
      r.approvedBy ? `${r.approvedBy} (approved)` : (r.deployedBy ?? '-'),
      r.version ? age(now - Date.parse(r.version)) : '-',
      r.state === 'missing' ? '-' : `${r.healthChecks ? `${r.healthy} healthy` : `${r.running} running`} of ${r.wanted}`,
      r.state === 'missing' ? 'not deployed' : r.drift.length === 0 ? 'none' : driftText(r.drift.map((d) => d.path)),
    ]);
  }
  return `${t.toString()}\n(full image, version and deployment: --json)`;
}

/** `45s`, `12m`, `5h`, `3d`. */
function age(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** The drifted fields, at most two named: `env.A, cpus +3`. */
function driftText(paths: readonly string[]): string {
  return paths.slice(0, 2).join(', ') + (paths.length > 2 ? ` +${paths.length - 2}` : '');
}
