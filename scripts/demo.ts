#!/usr/bin/env node
// The main job on one machine (`npm start`): takes the example fleet from commit to production against two local
// Marathon servers (staging and production), using the same CLIs a build step or a person would use. The job is a list
// of named steps (scripts/demo/steps.ts) run by scripts/demo/job.ts; this file is its command line.
import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { DOCKER_MODES, DockerMode } from '../lib/docker/engine';
import { configureCommander, exitCodeFor } from './cli-kit';
import { runMainJob } from './demo/job';
import { MAIN_JOB_STEPS } from './demo/steps';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('npm start --')
    .description(
      'Takes the example fleet from commit to production on this machine: synth, build + unit tests, staging deploy, smoke tests, gated production deploy, an automatic rollback, status and DORA report. Needs no cloud account; starts and stops two local Marathon servers itself.',
    )
    .option('--workdir <dir>', 'where the demo writes repos, images, plans, the audit log and cdktf.out', '.c2c/demo')
    .option('--json', 'print one JSON summary on stdout instead of the narrative', false)
    .addOption(
      new Option(
        '--docker <mode>',
        'auto: real images, a registry and containers when a Docker engine answers (docker info), else the stand-in; never: always the stand-in; always: fail without an engine',
      )
        .choices([...DOCKER_MODES])
        .default('auto'),
    )
    .addHelpText(
      'after',
      '\nExit codes:\n  0    every step did what it should (including the deliberate rollback)\n  1    a step failed, --docker always and no engine answers, or another run holds the work directory (<workdir>.lock; the message says which)\n  2    bad usage\n  130  interrupted by Ctrl-C (SIGTERM: 143); the last line says what was stopped\n',
    );
  configureCommander(program, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(`${s}\n`) });
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    return exitCodeFor(err) === 0 ? EXIT_OK : EXIT_USAGE;
  }
  const opts = program.opts<{ workdir: string; json: boolean; docker: DockerMode }>();
  return runMainJob({ workdir: resolve(opts.workdir), json: opts.json, docker: opts.docker }, MAIN_JOB_STEPS);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`demo: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = EXIT_FAILED;
  },
);
