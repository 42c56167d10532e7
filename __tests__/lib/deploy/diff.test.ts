// diffApp: what counts as a change between the rendered definition and what Marathon returns. SEMANTICS.md §6, §7.
import { diffApp } from '../../../lib/deploy/diff';
import { renderForDeploy } from '../../../lib/deploy/apply-service';
import { MarathonAppDefinition } from '../../../lib/marathon/app';
import { loadCatalog } from '../../../services';

const service = loadCatalog().get('bulb-api');
const desired = renderForDeploy(service, 'staging', { image: 'r:5000/bulb-api:1', commit: 'aaa', actor: 'ana@example.com' });

/** What a GET returns for `app` after Marathon stored it: defaults filled in, ports assigned, read-only fields (§6). */
function asMarathonReturnsIt(app: MarathonAppDefinition): Record<string, unknown> {
  type Stored = Record<string, unknown> & {
    container: Record<string, unknown> & { docker: Record<string, unknown>; portMappings: Record<string, unknown>[] };
    healthChecks: Record<string, unknown>[];
  };
  const copy = JSON.parse(JSON.stringify(app)) as Stored;
  copy.container.docker.parameters = [];
  copy.container.docker.privileged = false;
  copy.container.volumes = [];
  copy.container.portMappings.forEach((p, i) => {
    p.labels = {};
    p.servicePort = 10001 + i;
  });
  copy.healthChecks.forEach((h) => {
    h.delaySeconds = 15;
    h.ipProtocol = 'IPv4';
  });
  return {
    ...copy,
    gpus: 0,
    backoffSeconds: 1,
    backoffFactor: 1.15,
    maxLaunchDelaySeconds: 300,
    executor: '',
    requirePorts: false,
    role: '*',
    killSelection: 'YOUNGEST_FIRST',
    unreachableStrategy: { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 },
    version: '2026-11-27T10:00:00.000Z',
    versionInfo: { lastScalingAt: '2026-11-27T10:00:00.000Z', lastConfigChangeAt: '2026-11-27T10:00:00.000Z' },
    tasksStaged: 0,
    tasksRunning: 1,
    tasksHealthy: 1,
    tasksUnhealthy: 0,
    deployments: [],
    tasks: [],
  };
}

describe('diffApp (SEMANTICS.md §6 output shape)', () => {
  it('sees no change when Marathon only added defaults, read-only fields and assigned service ports (§6: servicePort 0 matches any)', () => {
    expect(diffApp(desired, asMarathonReturnsIt(desired))).toEqual([]);
  });

  it('tolerates old Marathon writing null instead of omitting a key (§6)', () => {
    expect(
      diffApp(desired, { ...asMarathonReturnsIt(desired), user: null, args: null, acceptedResourceRoles: null, ipAddress: null }),
    ).toEqual([]);
  });

  it('ignores a change of stamp labels alone (commit, deployer): no restart for metadata (§7 labels restart tasks)', () => {
    const next = renderForDeploy(service, 'staging', { image: 'r:5000/bulb-api:1', commit: 'bbb', actor: 'ben@example.com' });
    expect(diffApp(next, asMarathonReturnsIt(desired))).toEqual([]);
  });

  it('reports a new image as one field change', () => {
    const next = renderForDeploy(service, 'staging', { image: 'r:5000/bulb-api:2', actor: 'ana@example.com' });
    expect(diffApp(next, asMarathonReturnsIt(desired))).toEqual([
      { path: 'container.docker.image', kind: 'changed', from: 'r:5000/bulb-api:1', to: 'r:5000/bulb-api:2' },
    ]);
  });

  it('reports fields set by hand in Marathon as removed, since a partialUpdate=false PUT resets them (§7)', () => {
    const live = asMarathonReturnsIt(desired);
    live.env = { ...(live.env as object), DEBUG: '1' };
    live.acceptedResourceRoles = ['slave_public'];
    expect(diffApp(desired, live)).toEqual(
      expect.arrayContaining([
        { path: 'env.DEBUG', kind: 'removed', from: '1' },
        { path: 'acceptedResourceRoles', kind: 'removed', from: ['slave_public'] },
      ]),
    );
  });

  it('compares a fixed service port exactly', () => {
    const fixed = {
      ...desired,
      container: {
        ...desired.container!,
        portMappings: desired.container!.portMappings!.map((p, i) => (i === 0 ? { ...p, servicePort: 10080 } : p)),
      },
    };
    expect(diffApp(fixed, asMarathonReturnsIt(desired))).toEqual([
      { path: 'container.portMappings[0].servicePort', kind: 'changed', from: 10001, to: 10080 },
    ]);
  });

  it('reports a non-default value of a field the definition leaves out (Marathon default 300/600 unreachableStrategy is not one)', () => {
    const old = { ...asMarathonReturnsIt(desired), unreachableStrategy: { inactiveAfterSeconds: 300, expungeAfterSeconds: 600 } };
    expect(diffApp(desired, old)).toEqual([]);
    const custom = { ...asMarathonReturnsIt(desired), backoffSeconds: 7 };
    expect(diffApp(desired, custom)).toEqual([{ path: 'backoffSeconds', kind: 'removed', from: 7 }]);
  });

  it('lists every top-level field as added for a first deploy', () => {
    const changes = diffApp(desired, null);
    expect(changes.map((c) => c.path)).toEqual(Object.keys(desired).filter((k) => k !== 'id'));
    expect(changes.every((c) => c.kind === 'added')).toBe(true);
    const labels = changes.find((c) => c.path === 'labels')!.to as Record<string, string>;
    expect(labels).not.toHaveProperty('c2c.commit');
  });
});
