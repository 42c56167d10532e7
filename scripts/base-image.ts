// npm run base-image -- [--tag IMAGE] [--force] [--json]
// Makes the local base image a service's Dockerfile builds FROM (`--build-arg BASE_IMAGE=...`) from this machine's
// Node runtime, since nothing can be pulled from outside. Thin CLI over lib/docker/base-image.ts.
// Exit codes: 0 made or already there; 1 no Docker engine or the import failed; 2 bad usage.
import { Command } from 'commander';
import { baseImageTag, ensureBaseImage } from '../lib/docker/base-image';
import { configureCommander, exitCodeFor, reportCliError } from './cli-kit';

const io = { out: (s: string) => process.stdout.write(s), err: (s: string) => process.stderr.write(`${s}\n`) };

async function main(argv: string[]): Promise<number> {
  const program = new Command('base-image')
    .description("Make the local base image (this machine's node, npm, sh, grep; a 'node' user) unless it exists")
    .option('--tag <image>', 'image name and tag', baseImageTag())
    .option('--force', 'make it again even if it exists', false)
    .option('--json', 'print {image, id, created, seconds} as JSON', false)
    .addHelpText(
      'after',
      '\nPrints the image name. Use it as: docker build --build-arg BASE_IMAGE=$(npm run --silent base-image) .' +
        '\nNeeds a running Docker engine. Exit codes: 0 made or already there; 1 no engine, or docker import failed; 2 bad usage.',
    );
  configureCommander(program, io);
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    return exitCodeFor(e);
  }
  const opts = program.opts<{ tag: string; force: boolean; json: boolean }>();
  try {
    if (!opts.json) io.err(`base-image: checking ${opts.tag} ...`);
    const result = await ensureBaseImage({ image: opts.tag, force: opts.force });
    if (opts.json) io.out(`${JSON.stringify(result)}\n`);
    else {
      io.err(`base-image: ${result.created ? `made ${result.image} in ${result.seconds.toFixed(1)} s` : `${result.image} already exists`}`);
      io.out(`${result.image}\n`);
    }
    return 0;
  } catch (e) {
    return reportCliError('base-image', io, e);
  }
}

void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
