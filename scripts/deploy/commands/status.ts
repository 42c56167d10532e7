import Table from 'cli-table3';
import { Command } from 'commander';
import { EnvironmentName, ENVIRONMENTS } from '../../../lib/catalog';
import { baseName } from '../../../lib/catalog/artifact';
import { fleetStatus, ServiceStatus } from '../../../lib/deploy/status';
import { RolloutStatus, rolloutStatus } from '../../../lib/deploy/release';
import { MarathonClient } from '../../../lib/marathon/client';
import { CliContext } from '../context';
import { marathonOptions, parseEnvironment, withExitHelp } from '../options';
import { lbOption, loadBalancers } from './lb-option';

/** `deploy status`: every service per environment, with health, deployment in progress and drift. */
export function register(program: Command, ctx: CliContext): void {
  lbOption(marathonOptions(withExitHelp(program.command('status'))))
    .description(
      'every service per environment: image (or artifact and SHA-256), version, healthy/running/wanted, deployment in progress, drift; for blue/green and canary both colours, the step and the traffic split',
    )
    .option('--env <env>', 'only this environment (default: every environment with a Marathon URL)')
    .option('--service <name>', 'only this service')
    .option('--json', 'print JSON')
    .action(
      ctx.action(async (opts: { env?: string; service?: string; json?: boolean; timeout: number; marathon?: string; lb?: string[] }) => {
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
        const lb = loadBalancers(ctx, opts.lb);
        const rows: StatusRow[] = [];
        for (const row of await fleetStatus({ services, clients })) {
          const client = clients[row.environment];
          const rollout = client ? await rolloutStatus(client, catalog.get(row.service), row.environment, lb) : null;
          rows.push(rollout ? { ...row, rollout } : row);
        }
        if (opts.json) ctx.json(rows);
        else ctx.out(table(rows));
      }),
    );
}

/**
 * One row per service and environment, about 100 characters wide: the image without its registry (JSON has it whole),
 * the commit, who deployed or approved it, how long ago its definition changed, the task counts and the drift.
 */
/** A row of `deploy status`: a two-colour service also has its `rollout` (both colours, the step, the split). */
type StatusRow = ServiceStatus & { readonly rollout?: RolloutStatus };

function table(rows: readonly StatusRow[], now = Date.now()): string {
  const t = new Table({
    head: ['service', 'env', 'state', 'image', 'commit', 'by', 'age', 'tasks', 'drift'],
    style: { head: [], border: [], compact: true },
  });
  const rollouts: string[] = [];
  for (const r of rows) {
    if (r.rollout) {
      pushColours(t, r, r.rollout);
      rollouts.push(rolloutLine(r, r.rollout));
      continue;
    }
    t.push([
      r.service,
      r.environment,
      r.deployment ? `deploying ${r.deployment.id.slice(0, 8)} step ${r.deployment.currentStep}/${r.deployment.totalSteps}` : r.state,
      r.image !== null ? shortImage(r.image) : r.artifact ? `${baseName(r.artifact.uri)} ${r.artifact.sha256?.slice(0, 12) ?? '?'}` : '-',
      r.commit?.slice(0, 7) ?? '-',
      r.approvedBy ? `${r.approvedBy} (approved)` : (r.deployedBy ?? '-'),
      r.version ? age(now - Date.parse(r.version)) : '-',
      r.state === 'missing' ? '-' : `${r.healthChecks ? `${r.healthy} healthy` : `${r.running} running`} of ${r.wanted}`,
      r.state === 'missing' ? 'not deployed' : r.drift.length === 0 ? 'none' : driftText(r.drift.map((d) => d.path)),
    ]);
  }
  return `${t.toString()}\n${rollouts.map((l) => `${l}\n`).join('')}(full image, version and deployment: --json)`;
}

/** One table row per colour: `canary new blue`, its app's image, version age, tasks and marathon-lb's serving count. */
function pushColours(t: InstanceType<typeof Table>, r: StatusRow, ro: RolloutStatus, now = Date.now()): void {
  for (const c of ro.colours) {
    t.push([
      r.service,
      r.environment,
      `${c.role} ${c.colour}`,
      c.image ? shortImage(c.image) : '-',
      '-',
      '-',
      c.version ? age(now - Date.parse(c.version)) : '-',
      `${c.healthy} healthy of ${c.instances}${c.serving === null ? '' : `, ${c.serving} serving`}`,
      c.appId,
    ]);
  }
}

/** `bulb-api in staging: canary step 1 of 3 (10 %), traffic 10 % new (green) / 90 % old (blue), from HAProxy's stats`. */
function rolloutLine(r: StatusRow, ro: RolloutStatus): string {
  const [n, o] = ro.colours;
  const step = ro.step ? `step ${ro.step.index} of ${ro.step.of} (${ro.step.percent} %)` : 'no step reached';
  const source = ro.traffic.source === 'haproxy' ? "from HAProxy's stats" : "from instance counts (pass --lb for HAProxy's)";
  return (
    `${r.service} in ${r.environment}: ${ro.strategy} ${step}${ro.inFlight ? ', in flight' : ''}; traffic ${ro.traffic.newPercent} % new (${n.colour})` +
    `${o ? ` / ${ro.traffic.oldPercent} % old (${o.colour})` : ''}, ${source}`
  );
}

function shortImage(image: string): string {
  return image.slice(image.lastIndexOf('/', image.search(/[:@][^/]*$/)) + 1).replace(/(@sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1…');
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
