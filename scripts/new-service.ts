// npm run new-service -- NAME [--artifact] [--repo owner/name] [--approvers MEMBERS] [--force] [--json] [--dir PATH]
// Thin CLI over lib/scaffold.ts. Exit codes: 0 written; 2 invalid name/repo, file exists, or bad usage; 1 unexpected.
import { spawnSync } from 'node:child_process';
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
    .option(
      '--approvers <members>',
      "who may approve production deploys: IAM members, comma-separated, e.g. 'user:ana@example.com,group:payments@example.com' (default: user:<your git config user.email>)",
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
  const opts = program.opts<{ repo?: string; force: boolean; json: boolean; dir?: string; artifact: boolean; approvers?: string }>();
  const [name] = program.args;
  try {
    const approvers = approversFrom(opts.approvers);
    const result = scaffoldService({
      approvers: approvers.members,
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
      process.stdout.write(`approvers: ${result.approvers.join(', ')} (${approvers.source}; change them in ${result.file})\n`);
      process.stdout.write(result.indexUpdated ? `added ${name} to ${result.index}\n` : `${result.index} already lists ${name}\n`);
      process.stdout.write(`next: edit ${result.file}, then 'npm test' and 'npm run synth'\n`);
    }
    return 0;
  } catch (e) {
    if (e instanceof C2CError) return reportCliError('new-service', io, e);
    throw e;
  }
}

/** The approvers: --approvers, else the user of `git config user.email`; says where they came from. */
function approversFrom(flag: string | undefined): { members: string[]; source: string } {
  if (flag !== undefined) {
    return {
      members: flag
        .split(',')
        .map((m) => m.trim())
        .filter((m) => m !== ''),
      source: 'from --approvers',
    };
  }
  const email = spawnSync('git', ['config', 'user.email'], { encoding: 'utf8' }).stdout?.trim() ?? '';
  if (email === '') {
    throw new C2CError('USAGE', 'no approvers: --approvers is not given and git config user.email is not set', {
      hint: "name who may approve production deploys, e.g. --approvers 'user:ana@example.com,group:payments@example.com'",
    });
  }
  return { members: [`user:${email}`], source: 'you, from git config user.email; others with --approvers' };
}

process.exitCode = main(process.argv.slice(2));
