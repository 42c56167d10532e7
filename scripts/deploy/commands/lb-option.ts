// `--lb URL` (repeatable) and MARATHON_LB_URL: marathon-lb's stats pages, for blue/green and canary releases.
import { Command } from 'commander';
import { LoadBalancers } from '../../../lib/deploy/rollout';
import { CliContext } from '../context';
import { parseHttpUrl } from '../options';

/** `--lb URL`, repeatable. */
export function lbOption(cmd: Command): Command {
  return cmd.option(
    '--lb <url>',
    "marathon-lb's stats page, e.g. http://marathon-lb:9090 (repeat for each marathon-lb; default: MARATHON_LB_URL, comma-separated); needed by blue/green and canary",
    (value: string, previous: string[] = []) => [...previous, parseHttpUrl(value, '--lb')],
  );
}

/** The stats pages from `--lb`, else from `MARATHON_LB_URL` (read once, here). */
export function loadBalancers(ctx: Pick<CliContext, 'env'>, flag: readonly string[] | undefined): LoadBalancers {
  if (flag && flag.length > 0) return { urls: flag };
  const urls = (ctx.env.MARATHON_LB_URL ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  return { urls: urls.map((u) => parseHttpUrl(u, 'MARATHON_LB_URL')) };
}
