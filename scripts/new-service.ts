// npm run new-service -- NAME [--artifact] [--repo owner/name] [--force] [--json] [--dir PATH]
// Thin CLI over lib/scaffold.ts. Exit codes: 0 written; 2 invalid name/repo, file exists, or bad usage; 1 unexpected.
import { Command } from 'commander';
import { findRepoRoot } from '../constructs/settings';
import { C2CError } from '../lib/errors';
import { platformFromEnv } from '../lib/platform';
import { scaffoldService } from '../lib/scaffold';
import { configureCommander, exitCodeFor, reportCliError } from './cli-kit';

const io = { out: (s: string) => process.stdout.write(s), err: (s: string) => process.stderr.write(`${s}\n`) };

function main(argv: string[]): number {
  const program = new Command('new-service')
    .description('Write services/NAME.ts from the template and list it in services/service-list.ts (one line)')
    .argument('<name>', "service name: lower-case letters, digits and '-', e.g. 'bulb-api'")
    .option('--repo <owner/name>', 'GitHub repository, owned by $C2C_GITHUB_OWNER (default: $C2C_GITHUB_OWNER/NAME)')
    .option(
      '--artifact',
      'deploy a tarball that `make` builds, fetched and run by Marathon without Docker (default: a Docker image)',
      false,
    )
    .option('--force', 'overwrite an existing services/NAME.ts', false)
    .option('--json', 'print what was written as JSON', false)
    .option('--dir <path>', 'repository root (default: this checkout)')
    .addHelpText(
      'after',
      '\nThe service is checked by the same rules as `npm run synth`: what this writes synthesizes.' +
        '\nExit codes: 0 written; 2 invalid name or repository, file exists (use --force), or bad usage; 1 unexpected error.',
    );
  configureCommander(program, io);
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    return exitCodeFor(e);
  }
  const opts = program.opts<{ repo?: string; force: boolean; json: boolean; dir?: string; artifact: boolean }>();
  const [name] = program.args;
  try {
    const result = scaffoldService({
      root: opts.dir ?? findRepoRoot(__dirname),
      name,
      repo: opts.repo,
      force: opts.force,
      kind: opts.artifact ? 'artifact' : 'image',
      githubOwner: platformFromEnv(process.env).githubOwner,
    });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      process.stdout.write(`wrote ${result.file}\n`);
      process.stdout.write(result.indexUpdated ? `added ${name} to ${result.index}\n` : `${result.index} already lists ${name}\n`);
      process.stdout.write(`next: edit ${result.file}, then 'npm test' and 'npm run synth'\n`);
    }
    return 0;
  } catch (e) {
    if (e instanceof C2CError) return reportCliError('new-service', io, e);
    throw e;
  }
}

process.exitCode = main(process.argv.slice(2));
