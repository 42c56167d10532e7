// The private pool cannot be lost: in the whole synthesized app, every build that talks to Marathon or to a service
// names the pool (`build.options.worker_pool`) AND starts with the pool check, which every other step waits for; the
// check itself fails the build when it cannot reach a Marathon from where it runs.
import { spawnSync } from 'node:child_process';
import { createServer, Server } from 'node:net';
import { poolCheckStep, POOL_CHECK_STEP } from '../../constructs/worker-pool';
import { DEPLOY_CLI } from '../../constructs/build-steps';
import { lampApi, ledger, shopfront } from '../fixtures/services';
import { ServiceDefinition } from '../../lib/catalog/types';
import { platform, synthFleet, SynthJson, tempWorkspace } from './helpers';

const ws = tempWorkspace();
afterAll(() => ws.cleanup());
const timer: ServiceDefinition = {
  ...ledger,
  name: 'timer',
  repo: 'acme-lighting/timer',
  build: 'make',
  package: { kind: 'artifact', cmd: 'node x.js' },
};
const fleet = synthFleet(ws.app(), ws.bundle, [lampApi, ledger, shopfront, timer]);
const POOL = `projects/${platform.project}/locations/${platform.region}/workerPools/c2c-private`;

interface TriggerStep {
  id: string;
  wait_for: string[];
  env?: string[];
  secret_env?: string[];
  args: string[];
}
interface Trigger {
  name: string;
  build?: { step: TriggerStep[]; options?: { worker_pool?: string } };
}

const triggers = Object.values(fleet.stacks).flatMap(
  (s: SynthJson) => Object.values(s.resource.google_cloudbuild_trigger ?? {}) as unknown as Trigger[],
);

/**
 * A build talks to Marathon or to a service when a step gets a service URL or a Marathon credential, or runs the deploy
 * CLI with a Marathon URL (the platform pipeline's synth also reads the Marathon URLs, as settings, and talks to neither).
 */
const talksToTheCluster = (t: Trigger) =>
  (t.build?.step ?? []).some(
    (s) =>
      (s.env ?? []).some((e) => e.startsWith('SERVICE_URL=')) ||
      (s.secret_env ?? []).some((e) => /MARATHON/.test(e)) ||
      ((s.env ?? []).some((e) => e.startsWith('MARATHON_URL_')) && s.args.join(' ').includes(DEPLOY_CLI)),
  );

/** The steps a step waits for, transitively. */
function upstream(steps: TriggerStep[], id: string, seen = new Set<string>()): Set<string> {
  const step = steps.find((s) => s.id === id)!;
  for (const w of step.wait_for) {
    if (w !== '-' && !seen.has(w)) {
      seen.add(w);
      upstream(steps, w, seen);
    }
  }
  return seen;
}

it('the builds that talk to the cluster are every service’s push, production and e2e builds', () => {
  const names = triggers.filter(talksToTheCluster).map((t) => t.name);
  const expected = ['lamp-api', 'ledger', 'shopfront', 'timer'].flatMap((s) => [`${s}-push`, `${s}-production`, `${s}-e2e`]);
  expect(names.sort()).toEqual(expected.sort());
});

describe.each(triggers.filter(talksToTheCluster).map((t) => [t.name, t] as const))('%s', (_name, trigger) => {
  const steps = trigger.build!.step;

  it('names the private pool', () => expect(trigger.build!.options?.worker_pool).toBe(POOL));

  it('starts with the pool check, and no other step starts before it has passed', () => {
    expect([steps[0].id, steps[0].wait_for]).toEqual([POOL_CHECK_STEP, ['-']]);
    for (const step of steps.slice(1)) {
      expect([step.id, step.wait_for.includes('-'), upstream(steps, step.id).has(POOL_CHECK_STEP)]).toEqual([step.id, false, true]);
    }
  });

  it('checks Marathons the build itself names', () => {
    const targets = steps[0]
      .env!.find((e) => e.startsWith('C2C_POOL_CHECK_TARGETS='))!
      .split('=')[1]
      .split(' ');
    const named = new Set(steps.flatMap((s) => (s.env ?? []).filter((e) => e.startsWith('MARATHON_URL_')).map((e) => e.split('=')[1])));
    expect(targets.length).toBeGreaterThan(0);
    for (const t of targets) expect([...named, ...Object.values(platform.marathonUrls)]).toContain(t);
  });
});

it('the production build needs only production’s Marathon: a staging outage cannot block a production deploy', () => {
  const production = triggers.find((t) => t.name === 'ledger-production')!;
  expect(production.build!.step[0].env).toContain(`C2C_POOL_CHECK_TARGETS=${platform.marathonUrls.production}`);
});

describe('the pool check, run as the step runs it', () => {
  let open: Server;
  let openPort: number;
  let closedPort: number;
  beforeAll(async () => {
    open = createServer((s) => s.end());
    await new Promise<void>((r) => open.listen(0, '127.0.0.1', r));
    openPort = (open.address() as { port: number }).port;
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    closedPort = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
  });
  afterAll(() => new Promise((r) => open.close(r)));

  const run = (targets: string[]) => {
    const step = poolCheckStep(POOL, targets);
    const env = Object.fromEntries(step.env!.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    return spawnSync('node', step.args, { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  };

  it('passes when every Marathon answers (as from inside the pool)', () => {
    const r = run([`http://127.0.0.1:${openPort}`]);
    expect([r.status, r.stdout.trim()]).toEqual([0, `in-private-pool: reached 127.0.0.1:${openPort} from ${POOL}`]);
  });

  it('fails the build, naming the pool and the provider issue, when one cannot be reached (as from the default pool)', () => {
    const r = run([`http://127.0.0.1:${openPort}`, `http://127.0.0.1:${closedPort}`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`in-private-pool: cannot reach 127.0.0.1:${closedPort}: connect ECONNREFUSED`);
    expect(r.stderr).toContain(`does not run in the private pool ${POOL}`);
    expect(r.stderr).toContain('hashicorp/terraform-provider-google#18731');
  });
});
