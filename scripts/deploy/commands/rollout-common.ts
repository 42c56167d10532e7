// Shared by `deploy promote` and `deploy abort`: the options, the rollout context and the output of an outcome.
import { Command } from 'commander';
import { EnvironmentName, ServiceDefinition } from '../../../lib/catalog';
import { RolloutContext, RolloutOutcome } from '../../../lib/deploy/rollout';
import { C2CError } from '../../../lib/errors';
import { CliContext } from '../context';
import { marathonOptions, parseEnvironment, requireOption, withExitHelp } from '../options';
import { lbOption, loadBalancers } from './lb-option';
import { keyOption } from './signing-options';

/** The options of `deploy promote` and `deploy abort`. */
export interface RolloutOptions {
  readonly env?: string;
  readonly lb?: string[];
  readonly key?: string;
  readonly json?: boolean;
  readonly timeout: number;
  readonly marathon?: string;
  readonly reason?: string;
}

/** The command with `SERVICE`, `--env`, `--lb`, `--key`, `--json` and Marathon's options. */
export function rolloutCommand(program: Command, name: string): Command {
  return keyOption(lbOption(marathonOptions(withExitHelp(program.command(name)))))
    .argument('<service>', 'service from the catalog (see list)')
    .option('--env <env>', 'staging or production')
    .option('--json', 'print the outcome as JSON');
}

/** The service, environment and rollout context of a promote or abort. */
export function rolloutTarget(
  ctx: CliContext,
  name: string,
  opts: RolloutOptions,
): { service: ServiceDefinition; environment: EnvironmentName; rc: RolloutContext } {
  const service = ctx.catalog().get(name);
  const environment = parseEnvironment(requireOption(opts.env, '--env', 'staging'));
  const lb = loadBalancers(ctx, opts.lb);
  if (lb.urls.length === 0) {
    throw new C2CError('USAGE', "no marathon-lb stats page: a rollout's steps are read from HAProxy's stats", {
      hint: 'pass --lb http://marathon-lb:9090 (repeat for each marathon-lb), or set MARATHON_LB_URL (comma-separated)',
    });
  }
  return { service, environment, rc: { ...ctx.deployContext({ timeout: opts.timeout, marathon: opts.marathon }, environment), lb } };
}

/** Prints the outcome (a line, or JSON with `--json`). */
export function printOutcome(
  ctx: CliContext,
  opts: RolloutOptions,
  service: string,
  environment: EnvironmentName,
  o: RolloutOutcome,
): void {
  if (opts.json) {
    ctx.json({ ok: true, service, environment, ...o });
    return;
  }
  const secs = 'durationMs' in o ? ` in ${(o.durationMs / 1000).toFixed(1)} s` : '';
  if (o.state === 'paused') {
    ctx.out(
      `${service} in ${environment}: step ${o.step.index}, ${o.step.percent} % on ${o.colour}; paused: 'deploy promote ${service} --env ${environment}' goes on, 'deploy abort ${service} --env ${environment}' goes back`,
    );
  } else if (o.state === 'released') {
    ctx.out(`${service} in ${environment}: 100 % on ${o.colour}${secs}${o.keptOld ? `; ${o.keptOld} kept for a switch back` : ''}`);
  } else {
    ctx.out(`${service} in ${environment}: all traffic back on ${o.colour}${secs}; the new colour is removed`);
  }
}

/** With `--json`, an error is also printed as JSON on stdout (the message and hint still go to stderr). */
export async function withJsonError<T>(ctx: CliContext, opts: RolloutOptions, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (opts.json) {
      const e = error as C2CError;
      ctx.json({ ok: false, code: e.code ?? 'UNEXPECTED', message: e.message, ...(e.hint ? { hint: e.hint } : {}) });
    }
    throw error;
  }
}
