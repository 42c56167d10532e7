import { Command } from 'commander';
import { formatViolation } from '../../../lib/errors';
import { CliContext } from '../context';
import { marathonOptions, withExitHelp } from '../options';

/** `deploy list`: the catalog's service names, one a line; a service whose file breaks a rule is named on stderr. */
export function register(program: Command, ctx: CliContext): void {
  // --timeout and --marathon are accepted like on every command (build steps pass them uniformly); nothing is sent.
  marathonOptions(withExitHelp(program.command('list')))
    .description("the catalog's service names, one a line (a service whose file breaks a rule is left out and named on stderr)")
    .option('--json', 'print a JSON array of { name, description, repo }, and { name, invalid } for a broken service file')
    .action(
      ctx.action(async (opts: { json?: boolean }) => {
        const catalog = ctx.catalog();
        if (opts.json) {
          ctx.json([
            ...catalog.services.map((s) => ({ name: s.name, description: s.description ?? s.name, repo: s.repo })),
            ...catalog.broken.map((b) => ({ name: b.name, invalid: b.error.violations.map(formatViolation) })),
          ]);
        } else for (const name of catalog.names()) ctx.out(name);
        for (const b of catalog.broken) {
          ctx.err(`deploy: ${b.name} is left out, its service file breaks a rule: ${formatViolation(b.error.violations[0])}`);
        }
      }),
    );
}
