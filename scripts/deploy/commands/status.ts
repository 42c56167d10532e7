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

function table(rows: readonly ServiceStatus[]): string {
  const t = new Table({
    head: ['service', 'env', 'state', 'image', 'version', 'healthy/running/wanted', 'deployment', 'drift'],
    style: { head: [], border: [] },
  });
  for (const r of rows) {
    t.push([
      r.service,
      r.environment,
      r.state,
      r.image ?? (r.artifact ? `artifact ${baseName(r.artifact.uri)} sha256:${r.artifact.sha256?.slice(0, 12) ?? '?'}` : '-'),
      r.version ?? '-',
      r.state === 'missing' ? '-' : `${r.healthChecks ? r.healthy : '-'}/${r.running}/${r.wanted}`,
      r.deployment
        ? `${r.deployment.id.slice(0, 8)} step ${r.deployment.currentStep}/${r.deployment.totalSteps}${r.deployedBy ? ` by ${r.deployedBy}` : ''}`
        : '-',
      r.drift.length === 0 ? 'none' : r.drift.map((d) => d.path).join(', '),
    ]);
  }
  return t.toString();
}
