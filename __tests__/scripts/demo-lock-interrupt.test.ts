// The main job as a user meets it when two runs share a work directory, when a run died and left its lock, and on
// Ctrl-C (SIGINT to the whole process group, as a terminal sends it): without Docker (`--docker never`).
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');
const DEMO = join(ROOT, 'dist/scripts/demo.js');
const work = mkdtempSync(join(tmpdir(), 'c2c-demo-lock-'));

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--quiet', '--if-stale'], { cwd: ROOT, stdio: 'inherit' });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A started main job whose output is collected; `until` resolves when stdout or stderr contains `text`. */
function start(workdir: string) {
  const child = spawn(process.execPath, [DEMO, '--docker', 'never', '--workdir', workdir], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: 'true' },
  });
  const out = { stdout: '', stderr: '' };
  const waiters: { text: string; resolve: () => void }[] = [];
  const check = () => {
    for (const w of waiters.splice(0))
      if (out.stdout.includes(w.text) || out.stderr.includes(w.text)) w.resolve();
      else waiters.push(w);
  };
  child.stdout.on('data', (d: Buffer) => ((out.stdout += d.toString()), check()));
  child.stderr.on('data', (d: Buffer) => ((out.stderr += d.toString()), check()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const until = (text: string) =>
    new Promise<void>((resolve, reject) => {
      waiters.push({ text, resolve });
      check();
      void exited.then(() => reject(new Error(`exited before printing '${text}':\n${out.stdout}\n${out.stderr}`)));
    });
  return { child, out, exited, until };
}

/** Ctrl-C in a terminal: SIGINT to the job and every process it started (one process group). */
function ctrlC(child: ChildProcess): void {
  process.kill(-(child.pid as number), 'SIGINT');
}

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

it('a second run on a directory a live run holds exits 1, names the holder and what to do, and wipes nothing', () => {
  const dir = join(work, 'held');
  mkdirSync(dir);
  writeFileSync(join(dir, 'audit.jsonl'), 'the first run writes here\n');
  const since = new Date().toISOString();
  const lock = `${JSON.stringify({ pid: process.pid, host: hostname(), since })}\n`;
  writeFileSync(`${dir}.lock`, lock);
  const r = spawnSync(process.execPath, [DEMO, '--docker', 'never', '--workdir', dir], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status).toBe(1);
  expect(r.stderr.trim().split('\n')).toEqual([
    `demo: ${dir} is in use by the main job pid ${process.pid} on ${hostname()}, running since ${since}: wait for it, stop it (kill -INT ${process.pid}), or run with --workdir <another dir>`,
  ]);
  expect(r.stdout).toBe('');
  expect(readFileSync(join(dir, 'audit.jsonl'), 'utf8')).toBe('the first run writes here\n');
  expect(readFileSync(`${dir}.lock`, 'utf8')).toBe(lock);
});

it('takes over a lock whose pid is dead, with a note, and releases it when stopped', async () => {
  const dir = join(work, 'stale');
  const pid = deadPid();
  writeFileSync(`${dir}.lock`, JSON.stringify({ pid, host: hostname(), since: '2026-01-02T03:04:05.000Z' }));
  const run = start(dir);
  await run.until('No Docker');
  ctrlC(run.child);
  expect(await run.exited).toBe(130);
  const lines = run.out.stderr.trim().split('\n');
  expect(lines[0]).toBe(`demo: note: took over ${dir}.lock, left by pid ${pid} (since 2026-01-02T03:04:05.000Z), which no longer runs`);
  expect(lines[lines.length - 1]).toMatch(/^interrupted: stopped /);
  expect(existsSync(`${dir}.lock`)).toBe(false);
}, 120_000);

it('Ctrl-C during the staging deploys says what it stopped in one line, exits 130, and frees the directory', async () => {
  const dir = join(work, 'ctrl-c');
  const run = start(dir);
  await run.until('staging bulb-api: ');
  expect(readFileSync(`${dir}.lock`, 'utf8')).toContain(`"pid":${run.child.pid}`);
  ctrlC(run.child);
  expect(await run.exited).toBe(130);
  expect(run.out.stderr.trim().split('\n')).toEqual([
    expect.stringMatching(
      /^interrupted: stopped the staging Marathon \(\d+ tasks?\), the production Marathon \(\d+ tasks?\), the artifact bucket; .+ is kept, and `npm start` starts over$/,
    ),
  ]);
  expect(run.out.stdout).not.toMatch(/keeps running|nothing was rolled back|resume|staging deploy failed/);
  expect(existsSync(`${dir}.lock`)).toBe(false);
  // The step headers carry no time since start; a finished step says how long it took.
  expect(run.out.stdout).toMatch(/^\[1\/\d+\] Synthesize the platform \(what `cdktf deploy` would create\)$/m);
  expect(run.out.stdout).toMatch(/^ {2}\(step 1\/\d+ took \d+\.\ds\)$/m);
}, 120_000);
