// One exact-message test per rule of lib/catalog/validate-strategy.ts, as a service owner meets it at synth.
import { Testing } from 'cdktf';
import { Microservice } from '../../constructs/microservice';
import { literalRefs } from '../../constructs/naming';
import { ServiceDefinition } from '../../lib/catalog';
import { ValidationError } from '../../lib/errors';
import { platform, tempWorkspace } from './helpers';

const ws = tempWorkspace();
afterAll(() => ws.cleanup());

function synth(def: ServiceDefinition): void {
  Testing.synthScope((scope) => {
    new Microservice(scope, 'service', { service: def, platform, refs: literalRefs(platform, ws.bundle.sha256), connection: 'github' });
  });
}

function synthError(def: ServiceDefinition): string {
  try {
    synth(def);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as Error).message;
  }
  throw new Error('expected a ValidationError');
}

// A fixture that meets every rule of a two-colour strategy.
const ok: ServiceDefinition = {
  name: 'shop',
  repo: 'acme-lighting/shop',
  cpus: 0.25,
  mem: 192,
  instances: { staging: 2, production: 10 },
  ports: [{ name: 'http', containerPort: 8080, servicePort: 10080 }],
  virtualHost: 'shop.acme-lighting.example',
  strategy: {
    kind: 'canary',
    altPort: 10081,
    steps: [{ percent: 10, pause: 'promote' }, { percent: 50, pause: { minutes: 5 } }, { percent: 100 }],
  },
  smokeTest: './e2e.sh',
  approvers: ['user:ana@acme-lighting.example'],
};
const m = (patch: object) => synthError({ ...ok, ...patch } as ServiceDefinition);
const canary = (patch: object) => m({ strategy: { ...ok.strategy, ...patch } });
const steps = (list: object[]) => canary({ steps: list });

describe('release strategy rules (lib/catalog/validate-strategy.ts)', () => {
  it('a valid canary, blue/green and rolling strategy synthesize', () => {
    expect(() => synth(ok)).not.toThrow();
    expect(() => synth({ ...ok, strategy: { kind: 'blueGreen', altPort: 10081, keepOldMinutes: 0 } })).not.toThrow();
    expect(() => synth({ ...ok, strategy: { kind: 'rolling' }, virtualHost: undefined })).not.toThrow();
  });
  it('strategy.kind', () =>
    expect(m({ strategy: { kind: 'redBlack' } })).toBe(
      "Microservice(shop): 'strategy.kind' (\"redBlack\") must be 'rolling', 'blueGreen' or 'canary'",
    ));
  it('virtualHost is needed', () =>
    expect(m({ virtualHost: undefined })).toBe(
      "Microservice(shop): 'virtualHost' (undefined) is required by strategy 'canary': marathon-lb routes both colours under it; set it, e.g. 'shop.example.com'",
    ));
  it('health checks are needed', () =>
    expect(m({ healthCheck: false })).toBe(
      "Microservice(shop): 'healthCheck' (false) is required by strategy 'canary': marathon-lb sends traffic to a new task only once its health check passes; remove 'healthCheck: false'",
    ));
  it('a fixed service port', () =>
    expect(m({ ports: [{ name: 'http', containerPort: 8080 }] })).toBe(
      "Microservice(shop): 'ports[0].servicePort' (undefined) must be a fixed port for strategy 'canary' (marathon-lb's HAPROXY_0_PORT keeps the public port while the colours alternate); set it, e.g. 10080",
    ));
  it('altPort is a port', () =>
    expect(m({ strategy: { kind: 'blueGreen', altPort: 0 } })).toBe(
      "Microservice(shop): 'strategy.altPort' (0) must be a port number from 1 to 65535 (marathon-lb's HAPROXY_DEPLOYMENT_ALT_PORT), e.g. 10081",
    ));
  it('altPort differs from the service ports', () =>
    expect(m({ strategy: { kind: 'blueGreen', altPort: 10080 } })).toBe(
      "Microservice(shop): 'strategy.altPort' (10080) is also ports[0].servicePort; the colours alternate between the two, so choose another port",
    ));
  it('keepOldMinutes', () =>
    expect(m({ strategy: { kind: 'blueGreen', altPort: 10081, keepOldMinutes: -1 } })).toBe(
      "Microservice(shop): 'strategy.keepOldMinutes' (-1) must be a number of minutes >= 0 (0 removes the old colour at once), e.g. 30",
    ));
  it('steps listed', () =>
    expect(steps([])).toBe(
      "Microservice(shop): 'strategy.steps' ([]) must list at least one step, e.g. [{ percent: 10 }, { percent: 50 }, { percent: 100 }]",
    ));
  it('steps[i].percent is a whole percent', () =>
    expect(steps([{ percent: 0 }, { percent: 100 }])).toBe(
      "Microservice(shop): 'strategy.steps[0].percent' (0) must be a whole percent from 1 to 100, e.g. 10",
    ));
  it('steps rise', () =>
    expect(steps([{ percent: 50 }, { percent: 10 }, { percent: 100 }])).toBe(
      "Microservice(shop): 'strategy.steps[1].percent' (10) must be more than the step before (50); list the steps in rising order",
    ));
  it('the last step is 100', () =>
    expect(steps([{ percent: 10 }, { percent: 50 }])).toBe(
      "Microservice(shop): 'strategy.steps[1].percent' (50) must be 100 on the last step (a release ends with every instance on the new colour); add { percent: 100 }",
    ));
  it('no pause after the last step', () =>
    expect(steps([{ percent: 10 }, { percent: 100, pause: 'promote' }])).toBe(
      'Microservice(shop): \'strategy.steps[1].pause\' ("promote") comes after the last step, where the release is done; remove it',
    ));
  it('a pause is promote or minutes', () =>
    expect(steps([{ percent: 10, pause: { minutes: 0 } }, { percent: 100 }])).toBe(
      "Microservice(shop): 'strategy.steps[0].pause' ({\"minutes\":0}) must be 'promote' (wait for 'deploy promote') or { minutes: n } with n > 0, e.g. { minutes: 10 }",
    ));
});
