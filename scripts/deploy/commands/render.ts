import { Command } from 'commander';
import { renderForDeploy } from '../../../lib/deploy/apply-service';
import { CliContext } from '../context';
import { marathonOptions, parseCommit, parseEnvironment, parsePackage, requireOption, withExitHelp } from '../options';

/** `deploy render`: the Marathon JSON that `apply` would submit (stamps included). Sends nothing. */
export function register(program: Command, ctx: CliContext): void {
  // --timeout and --marathon are accepted like on every command (build steps pass them uniformly); nothing is sent.
  marathonOptions(withExitHelp(program.command('render')))
    .description('print the Marathon app JSON that apply would submit (nothing is sent)')
    .option('--service <name>', 'service from the catalog (see list)')
    .option('--env <env>', 'staging or production')
    .option('--image <image>', 'image reference, e.g. registry.internal:5000/bulb-api:3f2a9c1')
    .option('--artifact <uri>', "an artifact service's tarball URI (with --sha256, instead of --image)")
    .option('--sha256 <hex>', "the artifact file's SHA-256 (64 hex digits)")
    .option('--commit <sha>', 'commit to stamp as c2c.commit')
    .action(
      ctx.action(async (opts: { service?: string; env?: string; image?: string; artifact?: string; sha256?: string; commit?: string }) => {
        const service = ctx.catalog().get(requireOption(opts.service, '--service', 'bulb-api'));
        const environment = parseEnvironment(opts.env);
        const { image, artifact } = parsePackage(service, opts);
        const commit = opts.commit === undefined ? undefined : parseCommit(opts.commit);
        ctx.json(renderForDeploy(service, environment, { image, artifact, commit, actor: ctx.actor() }));
      }),
    );
}
