// One exact-message test per rule of lib/marathon/validate.ts, as met at construction of a MarathonApp (or, for
// rules a service definition cannot break through the renderer, from validateMarathonApp on a hand-written app).
import { Testing } from 'cdktf';
import { MarathonApp } from '../../constructs/marathon-app';
import { ServiceDefinition } from '../../lib/catalog';
import { formatViolation, ValidationError } from '../../lib/errors';
import { MarathonAppDefinition } from '../../lib/marathon/app';
import { renderMarathonApp } from '../../lib/marathon/render';
import { validateMarathonApp } from '../../lib/marathon/validate';
import bulbApi from '../../services/bulb-api';
import { tempWorkspace } from './helpers';

const ws = tempWorkspace();
afterAll(() => ws.cleanup());

function constructError(service: ServiceDefinition): string {
  try {
    Testing.synthScope((scope) => {
      new MarathonApp(scope, 'app', { service, environment: 'staging', image: 'r:5000/x:1' });
    });
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as Error).message;
  }
  throw new Error('expected a ValidationError');
}

const base = renderMarathonApp(bulbApi, 'staging', { image: 'r:5000/bulb-api:1' });
const v = (patch: Partial<MarathonAppDefinition> | object) =>
  validateMarathonApp({ ...base, ...patch } as MarathonAppDefinition)
    .map(formatViolation)
    .join('\n');
const S = 'MarathonApp(/staging/bulb-api)';

describe('MarathonApp construction', () => {
  it('throws for a Marathon id with _ or upper case', () =>
    expect(constructError({ ...bulbApi, name: 'Bulb_Api' })).toBe(
      "MarathonApp(/staging/Bulb_Api): 'id' (\"/staging/Bulb_Api\") segment 'Bulb_Api' must be lower-case letters, digits and '-' (no '_', no upper case, not starting or ending with '-'), e.g. 'bulb-api'",
    ));
  it('throws for mem 0', () =>
    expect(constructError({ ...bulbApi, mem: 0 })).toBe(
      "MarathonApp(/staging/bulb-api): 'mem' (0) must be > 0 MiB; set it to the container's limit, e.g. 256",
    ));
  it('throws for a health check portIndex that does not exist', () =>
    expect(constructError({ ...bulbApi, healthCheck: { portIndex: 2 } })).toBe(
      "MarathonApp(/staging/bulb-api): 'healthChecks[0].portIndex' (2) must address one of the app's 2 port(s) (0..1); add the port or change the index",
    ));
  it('is valid for the example', () => {
    expect(() =>
      Testing.synthScope((scope) => {
        new MarathonApp(scope, 'app', { service: bulbApi, environment: 'production', image: 'r/x:1' });
      }),
    ).not.toThrow();
  });
});

describe('validateMarathonApp rules', () => {
  it('id not absolute', () =>
    expect(v({ id: 'staging/x' })).toBe(
      `MarathonApp(staging/x): 'id' ("staging/x") must be absolute (start with '/'), e.g. '/staging/bulb-api'`,
    ));
  it('id is the root group', () => expect(v({ id: '/' })).toBe(`MarathonApp(/): 'id' ("/") must not be the root group`));
  it('id with an empty segment', () =>
    expect(v({ id: '/a//b' })).toBe(`MarathonApp(/a//b): 'id' ("/a//b") must not contain an empty segment ('//' or a trailing '/')`));
  it('id ending with a reserved word', () =>
    expect(v({ id: '/staging/versions' })).toBe(
      `MarathonApp(/staging/versions): 'id' ("/staging/versions") must not end with the reserved word 'versions'; rename the app`,
    ));
  it('cpus', () => expect(v({ cpus: 0 })).toBe(`${S}: 'cpus' (0) must be at least 0.001; set the CPU share per task, e.g. 0.25`));
  it('disk', () => expect(v({ disk: -1 })).toBe(`${S}: 'disk' (-1) must be >= 0 MiB; use 0 for no disk`));
  it('instances', () => expect(v({ instances: -1 })).toBe(`${S}: 'instances' (-1) must be a whole number >= 0, e.g. 2`));
  it('cmd with args', () =>
    expect(v({ cmd: 'x', args: ['y'] })).toBe(`${S}: 'cmd' ("x") cannot be combined with 'args'; keep one of them`));
  it('nothing to run', () =>
    expect(v({ container: undefined, healthChecks: undefined, networks: [{ mode: 'host' }] })).toBe(
      `${S}: 'container' (undefined) is required when there is no 'cmd' or 'args'; give a Docker image, or a 'cmd' that starts the fetched artifact`,
    ));
  it('fetch without a URI', () =>
    expect(v({ fetch: [{ uri: '', extract: true, executable: false, cache: true }] })).toBe(
      `${S}: 'fetch[0].uri' ("") is required: the URI the fetcher downloads into the sandbox, e.g. https://example.com/app.tar.gz`,
    ));
  it('fetch destPath outside the sandbox', () =>
    expect(v({ fetch: [{ uri: 'https://e.com/a.tgz', extract: true, executable: false, cache: true, destPath: '/etc/a.tgz' }] })).toBe(
      `${S}: 'fetch[0].destPath' ("/etc/a.tgz") must be a relative path inside the task's sandbox, e.g. 'app.tar.gz'`,
    ));
  it('empty image', () =>
    expect(v({ container: { ...base.container!, docker: { image: ' ', forcePullImage: false } } })).toBe(
      `${S}: 'container.docker.image' (" ") must not be empty; give the image reference, e.g. registry:5000/app:1.0`,
    ));
  it('mixed network modes', () =>
    expect(v({ networks: [{ mode: 'container/bridge' }, { mode: 'container', name: 'n' }] })).toBe(
      `${S}: 'networks' ([{"mode":"container/bridge"},{"mode":"container","name":"n"}]) must not mix network modes; use one of 'host', 'container/bridge', 'container'`,
    ));
  it('portMappings with host networking', () =>
    expect(v({ networks: [{ mode: 'host' }], healthChecks: undefined })).toBe(
      `${S}: 'container.portMappings' (${JSON.stringify(base.container!.portMappings)}) are not allowed with host networking; use 'portDefinitions', or set networks to [{ mode: 'container/bridge' }]`,
    ));
  it('portDefinitions with a bridge network', () =>
    expect(v({ portDefinitions: [{ port: 0, protocol: 'tcp', name: 'http' }] })).toBe(
      `${S}: 'portDefinitions' ([{"port":0,"protocol":"tcp","name":"http"}]) are only allowed with host networking; use 'container.portMappings' with a bridge network`,
    ));
  it('port number out of range', () =>
    expect(
      v({
        container: {
          ...base.container!,
          portMappings: [{ ...base.container!.portMappings![0], hostPort: 70000 }, base.container!.portMappings![1]],
        },
      }),
    ).toBe(`${S}: 'container.portMappings[0].hostPort' (70000) must be a whole number from 0 to 65535 (0 = assigned by Marathon)`));
  it('duplicate port names', () =>
    expect(
      v({
        container: {
          ...base.container!,
          portMappings: [base.container!.portMappings![0], { ...base.container!.portMappings![1], name: 'http' }],
        },
      }),
    ).toBe(`${S}: 'container.portMappings[1].name' ("http") must be unique among the ports; rename one of them`));
  const hc = base.healthChecks![0];
  it('COMMAND check without a command', () =>
    expect(v({ healthChecks: [{ ...hc, protocol: 'COMMAND', command: { value: '' }, path: undefined, portIndex: undefined }] })).toBe(
      `${S}: 'healthChecks[0].command' ("") is required for a COMMAND health check; give a shell command that exits 0 when healthy`,
    ));
  it('health check path', () =>
    expect(v({ healthChecks: [{ ...hc, path: 'health' }] })).toBe(
      `${S}: 'healthChecks[0].path' ("health") must start with '/', e.g. '/health'`,
    ));
  it('health check timings > 0', () =>
    expect(v({ healthChecks: [{ ...hc, gracePeriodSeconds: 0 }] })).toBe(
      `${S}: 'healthChecks[0].gracePeriodSeconds' (0) must be > 0 seconds`,
    ));
  it('maxConsecutiveFailures', () =>
    expect(v({ healthChecks: [{ ...hc, maxConsecutiveFailures: -1 }] })).toBe(
      `${S}: 'healthChecks[0].maxConsecutiveFailures' (-1) must be a whole number >= 0 (0 = never kill)`,
    ));
  it('timeout not below interval', () =>
    expect(v({ healthChecks: [{ ...hc, timeoutSeconds: 5 }] })).toBe(
      `${S}: 'healthChecks[0].timeoutSeconds' (5) must be less than intervalSeconds (5); lower it or check less often`,
    ));
  it('more than one Mesos check', () =>
    expect(
      v({
        healthChecks: [
          { ...hc, protocol: 'MESOS_HTTP' },
          { ...hc, protocol: 'MESOS_TCP', path: undefined },
        ],
      }),
    ).toBe(`${S}: 'healthChecks' (["MESOS_HTTP","MESOS_TCP"]) may hold at most one MESOS_HTTP/MESOS_HTTPS/MESOS_TCP check`));
  it('upgrade strategy in [0, 1]', () =>
    expect(v({ upgradeStrategy: { minimumHealthCapacity: 1.5, maximumOverCapacity: 1 } })).toBe(
      `${S}: 'upgradeStrategy.minimumHealthCapacity' (1.5) must be a number from 0 to 1, e.g. 1 (keep all old tasks until new ones are healthy)`,
    ));
  it('label value not a string', () =>
    expect(v({ labels: { ...base.labels, N: 1 } })).toBe(`${S}: 'labels.N' (1) must be a string, e.g. "1"`));
  it('env value not a string', () =>
    expect(v({ env: { ...base.env, N: true } })).toBe(
      `${S}: 'env.N' (true) must be a string (Marathon rejects numbers and booleans), e.g. "true"`,
    ));
  it('env secret reference not declared', () =>
    expect(v({ env: { ...base.env, DB: { secret: 'db' } } })).toBe(
      `${S}: 'env.DB' ({"secret":"db"}) references secret 'db', which is not declared in 'secrets'`,
    ));
});
