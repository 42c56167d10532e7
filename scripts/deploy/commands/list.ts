import { Command } from 'commander';
import { CliContext } from '../context';
import { marathonOptions, withExitHelp } from '../options';

/** `deploy list`: the catalog's service names, one a line. */
export function register(program: Command, ctx: CliContext): void {
  // --timeout and --marathon are accepted like on every command (build steps pass them uniformly); nothing is sent.
  marathonOptions(withExitHelp(program.command('list')))
    .description("the catalog's service names, one a line")
    .option('--json', 'print a JSON array of { name, description, repo }')
    .action(
      ctx.action(async (opts: { json?: boolean }) => {
        const catalog = ctx.catalog();
        if (opts.json) ctx.json(catalog.services.map((s) => ({ name: s.name, description: s.description ?? s.name, repo: s.repo })));
        else for (const name of catalog.names()) ctx.out(name);
      }),
    );
}
