// The main job with Docker runs the first release through the local Cloud Build executor: a build step that fails
// stops the job (exit 1) naming the service, the trigger and the step, with the step's last log lines.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMainJobProcess } from '../helpers/main-job';

const work = mkdtempSync(join(tmpdir(), 'c2c-demo-exec-fail-'));
// Port 5000 on 127.0.0.1 held by a process of this machine: the push build's registry side-car (`-p 5000:5000`, bound
// to 127.0.0.1 by the executor) cannot publish it, as when a second side-car runs on the same engine.
const holder = createServer();

beforeAll(async () => {
  await new Promise<void>((resolve) => {
    // Someone else's side-car may hold it already: the port is taken either way.
    holder.once('error', () => resolve());
    holder.listen(5000, '127.0.0.1', () => resolve());
  });
});

afterAll(() => {
  holder.close();
  rmSync(work, { recursive: true, force: true });
});

it('stops with exit 1 naming the service, trigger and step of a failed build step, with its last log lines', async () => {
  const { code, stdout, stderr } = await runMainJobProcess(['--docker', 'always', '--workdir', join(work, 'demo')]);
  expect({ code, stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/^demo: ([a-z-]+): trigger \1-push failed: step registry-sidecar failed \(exited \d+\)$/m) }); // prettier-ignore
  // The step's own log: the engine refusing the port.
  expect(stderr).toMatch(/^ {2}\| .*(address already in use|port is already allocated)/m);
  // The narrative showed the step's line, and no production build ran.
  expect(stdout).toMatch(/-push: registry-sidecar failed \d+\.\ds/);
  expect(stdout).not.toMatch(/-production: /);
}, 600_000);
