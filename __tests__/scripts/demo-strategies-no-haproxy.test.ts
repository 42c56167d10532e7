// The main job's "Release strategies" step on a machine without haproxy (PATH holds no haproxy): one line that says
// so with the install command, and the job goes on to its next step.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMainJob } from '../../scripts/demo/job';
import { releaseStrategies } from '../../scripts/demo/strategies';

const tmp = mkdtempSync(join(tmpdir(), 'c2c-no-haproxy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it('says in one line that haproxy is missing, with the install command, and the job goes on', async () => {
  const out: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  let after = false;
  let summary: Record<string, unknown> = {};
  let code: number;
  try {
    code = await runMainJob({ workdir: join(tmp, 'work'), json: false, docker: 'never' }, [
      // An empty directory as PATH: no haproxy there.
      releaseStrategies(join(tmp, 'empty')),
      releaseStrategies(''),
      {
        name: 'after',
        heading: () => 'The next step',
        run: async (job) => {
          after = true;
          summary = job.summary;
        },
      },
    ]);
  } finally {
    write.mockRestore();
  }
  expect(code).toBe(0);
  expect(after).toBe(true);
  const lines = out.join('').split('\n');
  const skipped = "  skipped: no haproxy on PATH, which runs marathon-lb's routing here; to see this step: sudo apt-get install haproxy";
  expect(lines.slice(0, 4)).toEqual([
    '',
    '[1/3] Release strategies: blue/green, then an aborted canary, of storefront through marathon-lb (a real HAProxy)',
    skipped,
    expect.stringMatching(/^ {2}\(step 1\/3 took \d+\.\ds\)$/),
  ]);
  expect(lines.filter((l) => l === skipped)).toHaveLength(2);
  expect(lines).toContain('[3/3] The next step');
  expect(summary.strategies).toEqual({ skipped: 'no haproxy on PATH (sudo apt-get install haproxy)' });
});
