// The deploy CLI as an importable module: the program and main(argv, io). scripts/deploy.ts runs it.
import { Command } from 'commander';
import { register as abort } from './commands/abort';
import { register as apply } from './commands/apply';
import { register as approve } from './commands/approve';
import { register as history } from './commands/history';
import { register as list } from './commands/list';
import { register as notify } from './commands/notify';
import { register as object } from './commands/object';
import { register as plan } from './commands/plan';
import { register as promote } from './commands/promote';
import { register as remind } from './commands/remind';
import { register as render } from './commands/render';
import { register as report } from './commands/report';
import { register as rollback } from './commands/rollback';
import { register as status } from './commands/status';
import { configureCommander } from '../cli-kit';
import { CliContext, CliIo, createContext, reportError } from './context';
import { EXIT_CODES_HELP } from './options';

/** Every command module, in help order. */
export const COMMANDS: ((program: Command, ctx: CliContext) => void)[] = [
  list,
  render,
  plan,
  approve,
  notify,
  remind,
  apply,
  promote,
  abort,
  rollback,
  status,
  history,
  report,
  object,
];

/** Builds the program over the given streams (tests pass their own). */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('deploy')
    .description('render, plan, apply, roll back and show commit-to-cloud services on Marathon')
    .addHelpText('after', EXIT_CODES_HELP);
  for (const register of COMMANDS) register(program, ctx);
  return configureCommander(program, ctx);
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  const ctx = createContext(
    {
      ...io,
      setExitCode: (c) => {
        exitCode = c;
      },
    },
    argv,
  );
  const program = buildProgram(ctx);
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 2;
    }
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    return reportError(ctx, error);
  }
  return exitCode;
}
