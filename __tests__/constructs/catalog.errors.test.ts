// One exact-message test per rule of lib/catalog/validate.ts, as a service owner meets it: at synth, from the
// Microservice construct (and from the Catalog for rules across services).
import { Testing } from 'cdktf';
import { Microservice } from '../../constructs/microservice';
import { literalRefs } from '../../constructs/naming';
import { Catalog, ServiceDefinition } from '../../lib/catalog';
import { ValidationError } from '../../lib/errors';
import storefront from '../../services/storefront';
import { platform, tempWorkspace } from './helpers';

const ws = tempWorkspace();
afterAll(() => ws.cleanup());

/** The message a definition fails with at synth (construction of its Microservice). */
function synthError(def: ServiceDefinition): string {
  try {
    Testing.synthScope((scope) => {
      new Microservice(scope, 'service', {
        service: def,
        platform,
        refs: literalRefs(platform, ws.bundle.sha256),
        connection: 'github',
      });
    });
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as Error).message;
  }
  throw new Error('expected a ValidationError');
}

const ok: ServiceDefinition = { ...storefront, virtualHost: undefined };
const m = (patch: object) => synthError({ ...ok, ...patch } as ServiceDefinition);

describe('service definition rules (lib/catalog/validate.ts)', () => {
  it('name', () =>
    expect(m({ name: 'Bulb_API' })).toBe(
      "Microservice(Bulb_API): 'name' (\"Bulb_API\") must be lower-case letters, digits and '-' (it becomes the Marathon id); use 'bulb-api'",
    ));
  it('repo', () =>
    expect(m({ repo: 'storefront' })).toBe(
      "Microservice(storefront): 'repo' (\"storefront\") must be a GitHub 'owner/name', e.g. 'acme/bulb-api'",
    ));
  it('cpus', () => expect(m({ cpus: 0 })).toBe("Microservice(storefront): 'cpus' (0) must be > 0; set the CPU share per task, e.g. 0.25"));
  it('mem 0', () =>
    expect(m({ mem: 0 })).toBe("Microservice(storefront): 'mem' (0) must be > 0 MiB; set it to the container's limit, e.g. 256"));
  it('disk', () => expect(m({ disk: -1 })).toBe("Microservice(storefront): 'disk' (-1) must be >= 0 MiB"));
  it('instances (one number)', () =>
    expect(m({ instances: 1.5 })).toBe("Microservice(storefront): 'instances' (1.5) must be a whole number >= 0, e.g. 2"));
  it('instances per environment', () =>
    expect(m({ instances: { staging: -1, production: 2 } })).toBe(
      "Microservice(storefront): 'instances.staging' (-1) must be a whole number >= 0, e.g. 2",
    ));
  it('production fewer instances than staging', () =>
    expect(m({ instances: { staging: 3, production: 1 } })).toBe(
      "Microservice(storefront): 'instances.production' (1) is fewer than staging (3); raise it, or set 'allowFewerInProduction: true' if that is intended",
    ));
  it('production fewer than staging is allowed when intended', () => {
    expect(() =>
      Testing.synthScope((scope) => {
        new Microservice(scope, 's', {
          service: { ...ok, instances: { staging: 3, production: 1 }, allowFewerInProduction: true },
          platform,
          refs: literalRefs(platform, ws.bundle.sha256),
          connection: 'github',
        });
      }),
    ).not.toThrow();
  });
  it('ports[i].name', () =>
    expect(m({ ports: [{ name: 'HTTP', containerPort: 8080 }] })).toBe(
      "Microservice(storefront): 'ports[0].name' (\"HTTP\") must be lower-case letters, digits and '-', e.g. 'http'",
    ));
  it('ports[i].containerPort', () =>
    expect(m({ ports: [{ name: 'http', containerPort: 70000 }] })).toBe(
      "Microservice(storefront): 'ports[0].containerPort' (70000) must be a port number from 1 to 65535, e.g. 8080",
    ));
  it('health check on a port index that does not exist', () =>
    expect(m({ healthCheck: { portIndex: 1 } })).toBe(
      "Microservice(storefront): 'healthCheck.portIndex' (1) must address one of the service's 1 port(s) (0..0); add the port or change the index",
    ));
  it('COMMAND health check without a command', () =>
    expect(m({ healthCheck: { protocol: 'COMMAND' } })).toBe(
      "Microservice(storefront): 'healthCheck.command' (undefined) is required for protocol 'COMMAND'; give a shell command that exits 0 when healthy",
    ));
  it('env name', () =>
    expect(m({ env: { '1X': 'a' } })).toBe(
      'Microservice(storefront): \'env.1X\' ("1X") is not a valid variable name; use letters, digits and _ (not starting with a digit)',
    ));
  it('env value not a string', () =>
    expect(m({ env: { PORTS: 3 } })).toBe(
      'Microservice(storefront): \'env.PORTS\' (3) must be a string (Marathon rejects numbers and booleans); write "3"',
    ));
  it('secret name', () =>
    expect(m({ secrets: { 'db-pass': 'x/y' } })).toBe(
      'Microservice(storefront): \'secrets.db-pass\' ("db-pass") is not a valid variable name; use letters, digits and _',
    ));
  it('secret path empty', () =>
    expect(m({ secrets: { DB: ' ' } })).toBe(
      "Microservice(storefront): 'secrets.DB' (\" \") must be the secret's store path, e.g. 'bulb-api/db-password'",
    ));
  it('secret also in env', () =>
    expect(m({ env: { DB: 'x' }, secrets: { DB: 'a/b' } })).toBe(
      "Microservice(storefront): 'secrets.DB' (\"DB\") is also set in 'env'; keep it in one place",
    ));
  it('label value not a string', () =>
    expect(m({ labels: { TEAM: 7 } })).toBe(
      'Microservice(storefront): \'labels.TEAM\' (7) must be a string (Marathon labels are strings); write "7"',
    ));
  it('reserved label prefix', () =>
    expect(m({ labels: { 'c2c.owner': 'x' } })).toBe(
      "Microservice(storefront): 'labels.c2c.owner' (\"c2c.owner\") uses the reserved prefix 'c2c.'; choose another key",
    ));
  it('smokeTest', () =>
    expect(m({ smokeTest: '' })).toBe(
      "Microservice(storefront): 'smokeTest' (\"\") must be the command that tests a running environment (it gets SERVICE_URL), e.g. './e2e.sh'",
    ));
  it('empty approvers', () =>
    expect(m({ approvers: [] })).toBe(
      "Microservice(storefront): 'approvers' ([]) must name at least one reviewer for production, e.g. ['user:ana@example.com']",
    ));
  it('approver not an IAM member', () =>
    expect(m({ approvers: ['ana@example.com'] })).toBe(
      "Microservice(storefront): 'approvers[0]' (\"ana@example.com\") must be an IAM member: 'user:…', 'group:…', 'serviceAccount:…' or 'domain:…'",
    ));
  it('approvalTtlHours', () =>
    expect(m({ approvalTtlHours: 0 })).toBe("Microservice(storefront): 'approvalTtlHours' (0) must be > 0 hours, e.g. 24"));
  it('paths empty', () =>
    expect(m({ paths: [] })).toBe(
      "Microservice(storefront): 'paths' ([]) must list at least one glob, or be left out to build on every push",
    ));
  it('Marathon rules on the rendered app, per environment', () =>
    expect(m({ healthCheck: { intervalSeconds: 2, timeoutSeconds: 2 } })).toBe(
      [
        "Microservice(storefront) in staging: 'healthChecks[0].timeoutSeconds' (2) must be less than intervalSeconds (2); lower it or check less often",
        "Microservice(storefront) in production: 'healthChecks[0].timeoutSeconds' (2) must be less than intervalSeconds (2); lower it or check less often",
      ].join('\n'),
    ));
  it('duplicate service names in the catalog', () => {
    expect(() => new Catalog([ok, ok])).toThrow(
      new ValidationError([
        {
          subject: 'Microservice(storefront)',
          field: 'name',
          value: 'storefront',
          message: 'is used by services #1 and #2 in services/fleet.ts; service names must be unique, rename one',
        },
      ]),
    );
    expect(() => new Catalog([ok, ok])).toThrow(
      'Microservice(storefront): \'name\' ("storefront") is used by services #1 and #2 in services/fleet.ts; service names must be unique, rename one',
    );
  });
});
