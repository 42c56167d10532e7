#!/usr/bin/env node
// Runs every ```bash block of README.md, in order, on a copy of the working tree (so `new-service` and the demo
// change nothing here), and fails on the first block that exits non-zero. CI runs it after `npm ci` and `npm test`,
// so inside the blocks those two commands are skipped (they just ran). Markers on the line before a fence:
//   <!-- readme-check: skip REASON -->   not run; the reason is printed (e.g. needs cloud credentials)
//   <!-- readme-check: background -->    started in its own process group, stopped (SIGTERM) after the last block
// Exit codes: 0 every block passed; 1 a block failed; 2 bad usage.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
if (args.includes('--help') || args.some((a) => a !== '--keep')) {
  process.stdout.write(
    'usage: node scripts/check-readme.mjs [--keep]\nRuns every bash block of README.md on a copy of the tree (--keep leaves the copy).\nExit codes: 0 all passed, 1 a block failed, 2 bad usage.\n',
  );
  process.exit(args.includes('--help') ? 0 : 2);
}

/** The bash blocks of a Markdown text, with their line numbers and markers. */
function bashBlocks(markdown) {
  const lines = markdown.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```bash') continue;
    const marker = /<!--\s*readme-check:\s*(skip|background)\s*(.*?)\s*-->/.exec(lines[i - 1] ?? '');
    const body = [];
    let j = i + 1;
    for (; j < lines.length && lines[j].trim() !== '```'; j++) body.push(lines[j]);
    blocks.push({ line: i + 1, script: body.join('\n'), mode: marker ? marker[1] : 'run', reason: marker ? marker[2] : '' });
    i = j;
  }
  return blocks;
}

// A copy of the tracked and untracked (not ignored) files, with node_modules linked, not copied.
const work = mkdtempSync(join(tmpdir(), 'c2c-readme-'));
const files = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
  .stdout.split('\0')
  .filter(Boolean);
for (const f of files) {
  mkdirSync(dirname(join(work, f)), { recursive: true });
  try {
    cpSync(join(root, f), join(work, f));
  } catch {
    // A file deleted in the working tree but still in the index: nothing to copy.
  }
}
symlinkSync(join(root, 'node_modules'), join(work, 'node_modules'));

// `npm ci` and `npm test` ran just before this in CI; every other npm command runs for real.
const prelude = `set -euo pipefail
npm() { case "\${1:-}" in ci|test) echo "readme-check: 'npm $1' already ran in this job; skipped" >&2; return 0;; esac; command npm "$@"; }
export CI=true CHECKPOINT_DISABLE=1 DISABLE_VERSION_CHECK=1
`;

const background = [];
let passed = 0;
let skipped = 0;
let failed = 0;

function run(block) {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', prelude + block.script], { cwd: work, stdio: 'inherit', detached: true, env: process.env });
    child.on('exit', (code, signal) => {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* the group is gone already */
      }
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

async function stopBackground() {
  for (const b of background) {
    try {
      process.kill(-b.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && background.some((b) => alive(b.pid))) await new Promise((r) => setTimeout(r, 100));
  for (const b of background) {
    try {
      process.kill(-b.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const blocks = bashBlocks(readFileSync(join(root, 'README.md'), 'utf8'));
try {
  for (const block of blocks) {
    const title = `README.md:${block.line}`;
    if (block.mode === 'skip') {
      skipped += 1;
      process.stdout.write(`\n--- ${title}: not run (${block.reason || 'no reason given'})\n`);
      continue;
    }
    if (block.mode === 'background') {
      const log = join(work, `.readme-background-${block.line}.log`);
      const out = openSync(log, 'a');
      const child = spawn('bash', ['-c', prelude + block.script], {
        cwd: work,
        stdio: ['ignore', out, out],
        detached: true,
        env: process.env,
      });
      background.push({ pid: child.pid, log });
      await new Promise((r) => setTimeout(r, 2000));
      if (!alive(child.pid)) {
        failed += 1;
        process.stdout.write(`\n--- ${title}: the background command stopped:\n${readFileSync(log, 'utf8')}\n`);
        break;
      }
      process.stdout.write(`\n--- ${title}: started in the background (${block.script.trim()})\n`);
      continue;
    }
    process.stdout.write(
      `\n--- ${title}\n${block.script
        .trim()
        .split('\n')
        .map((l) => `$ ${l}`)
        .join('\n')}\n`,
    );
    const code = await run(block);
    if (code !== 0) {
      failed += 1;
      process.stdout.write(`\n--- ${title}: exited ${code}\n`);
      break;
    }
    passed += 1;
  }
} finally {
  await stopBackground();
  if (args.includes('--keep') || failed > 0) process.stdout.write(`\n(the copy is kept at ${work})\n`);
  else rmSync(work, { recursive: true, force: true });
}
process.stdout.write(`\nREADME check: ${passed} blocks passed, ${failed} failed, ${skipped} not run\n`);
process.exit(failed > 0 ? 1 : 0);
