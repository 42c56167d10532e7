// One exact-message test per rule of lib/catalog/validate.ts, as a service owner meets it: at synth, from the
// Microservice construct (and from the Catalog for rules across services).
import { Testing } from 'cdktf';
import { Microservice } from '../../constructs/microservice';
import { literalRefs } from '../../constructs/naming';
import { Catalog, HealthCheck, ServiceDefinition } from '../../lib/catalog';
import { validateService } from '../../lib/catalog/validate';
import { ValidationError } from '../../lib/errors';
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

// A fixture (tests never depend on which services services/ holds).
const ok: ServiceDefinition = {
  name: 'shop',
  repo: 'acme-lighting/shop',
  cpus: 0.25,
  mem: 192,
  instances: { staging: 1, production: 2 },
  smokeTest: './e2e.sh',
  approvers: ['user:ana@acme-lighting.example'],
};
const artifact: ServiceDefinition = { ...ok, package: { kind: 'artifact', cmd: 'node server.js' }, build: 'make' };
const a = (patch: object) => synthError({ ...artifact, ...patch } as ServiceDefinition);
const pkg = (patch: object) => a({ package: { ...artifact.package, ...patch } });
const m = (patch: object) => synthError({ ...ok, ...patch } as ServiceDefinition);

describe('service definition rules (lib/catalog/validate.ts)', () => {
  it('name', () =>
    expect(m({ name: 'Bulb_API' })).toBe(
      "Microservice(Bulb_API): 'name' (\"Bulb_API\") must be lower-case letters, digits and '-' (it becomes the Marathon id); use 'bulb-api'",
    ));
  it('repo', () =>
    expect(m({ repo: 'shop' })).toBe("Microservice(shop): 'repo' (\"shop\") must be a GitHub 'owner/name', e.g. 'acme/bulb-api'"));
  it('cpus', () => expect(m({ cpus: 0 })).toBe("Microservice(shop): 'cpus' (0) must be > 0; set the CPU share per task, e.g. 0.25"));
  it('mem 0', () => expect(m({ mem: 0 })).toBe("Microservice(shop): 'mem' (0) must be > 0 MiB; set it to the container's limit, e.g. 256"));
  it('disk', () => expect(m({ disk: -1 })).toBe("Microservice(shop): 'disk' (-1) must be >= 0 MiB"));
  it('instances (one number)', () =>
    expect(m({ instances: 1.5 })).toBe("Microservice(shop): 'instances' (1.5) must be a whole number >= 0, e.g. 2"));
  it('instances per environment', () =>
    expect(m({ instances: { staging: -1, production: 2 } })).toBe(
      "Microservice(shop): 'instances.staging' (-1) must be a whole number >= 0, e.g. 2",
    ));
  it('production fewer instances than staging', () =>
    expect(m({ instances: { staging: 3, production: 1 } })).toBe(
      "Microservice(shop): 'instances.production' (1) is fewer than staging (3); raise it, or set 'allowFewerInProduction: true' if that is intended",
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
      "Microservice(shop): 'ports[0].name' (\"HTTP\") must be lower-case letters, digits and '-', e.g. 'http'",
    ));
  it('ports not a list', () =>
    expect(m({ ports: 'http' })).toBe(
      "Microservice(shop): 'ports' (\"http\") must be a list of ports, e.g. [{ name: 'http', containerPort: 8080 }]",
    ));
  it('ports[i].containerPort', () =>
    expect(m({ ports: [{ name: 'http', containerPort: 70000 }] })).toBe(
      "Microservice(shop): 'ports[0].containerPort' (70000) must be a port number from 1 to 65535, e.g. 8080",
    ));
  it('health check on a port index that does not exist', () =>
    expect(m({ healthCheck: { portIndex: 1 } })).toBe(
      "Microservice(shop): 'healthCheck.portIndex' (1) must address one of the service's 1 port(s) (0..0); add the port or change the index",
    ));
  it('COMMAND health check without a command', () =>
    expect(m({ healthCheck: { protocol: 'COMMAND' } })).toBe(
      "Microservice(shop): 'healthCheck.command' (undefined) is required for protocol 'COMMAND'; give a shell command that exits 0 when healthy",
    ));
  it('env name', () =>
    expect(m({ env: { '1X': 'a' } })).toBe(
      'Microservice(shop): \'env.1X\' ("1X") is not a valid variable name; use letters, digits and _ (not starting with a digit)',
    ));
  it('env value not a string', () =>
    expect(m({ env: { PORTS: 3 } })).toBe(
      'Microservice(shop): \'env.PORTS\' (3) must be a string (Marathon rejects numbers and booleans); write "3"',
    ));
  it('secret name', () =>
    expect(m({ secrets: { 'db-pass': 'x/y' } })).toBe(
      'Microservice(shop): \'secrets.db-pass\' ("db-pass") is not a valid variable name; use letters, digits and _',
    ));
  it('secret path empty', () =>
    expect(m({ secrets: { DB: ' ' } })).toBe(
      "Microservice(shop): 'secrets.DB' (\" \") must be the secret's store path, e.g. 'bulb-api/db-password'",
    ));
  it('secret also in env', () =>
    expect(m({ env: { DB: 'x' }, secrets: { DB: 'a/b' } })).toBe(
      "Microservice(shop): 'secrets.DB' (\"DB\") is also set in 'env'; keep it in one place",
    ));
  it('label value not a string', () =>
    expect(m({ labels: { TEAM: 7 } })).toBe(
      'Microservice(shop): \'labels.TEAM\' (7) must be a string (Marathon labels are strings); write "7"',
    ));
  it('reserved label prefix', () =>
    expect(m({ labels: { 'c2c.owner': 'x' } })).toBe(
      "Microservice(shop): 'labels.c2c.owner' (\"c2c.owner\") uses the reserved prefix 'c2c.'; choose another key",
    ));
  it('smokeTest', () =>
    expect(m({ smokeTest: '' })).toBe(
      "Microservice(shop): 'smokeTest' (\"\") must be the command that tests a running environment (it gets SERVICE_URL), e.g. './e2e.sh'",
    ));
  it('empty approvers', () =>
    expect(m({ approvers: [] })).toBe(
      "Microservice(shop): 'approvers' ([]) must name at least one reviewer for production, e.g. ['user:ana@example.com']",
    ));
  it('approver not an IAM member', () =>
    expect(m({ approvers: ['ana@example.com'] })).toBe(
      "Microservice(shop): 'approvers[0]' (\"ana@example.com\") must be an IAM member: 'user:…', 'group:…', 'serviceAccount:…' or 'domain:…'",
    ));
  it('approvalTtlHours', () =>
    expect(m({ approvalTtlHours: 0 })).toBe("Microservice(shop): 'approvalTtlHours' (0) must be > 0 hours, e.g. 24"));
  it('paths empty', () =>
    expect(m({ paths: [] })).toBe("Microservice(shop): 'paths' ([]) must list at least one glob, or be left out to build on every push"));
  it('Marathon rules on the rendered app, per environment', () =>
    expect(m({ healthCheck: { intervalSeconds: 2, timeoutSeconds: 2 } })).toBe(
      [
        "Microservice(shop) in staging: 'healthChecks[0].timeoutSeconds' (2) must be less than intervalSeconds (2); lower it or check less often",
        "Microservice(shop) in production: 'healthChecks[0].timeoutSeconds' (2) must be less than intervalSeconds (2); lower it or check less often",
      ].join('\n'),
    ));
  it('duplicate service names in the catalog', () => {
    expect(() => new Catalog([ok, ok])).toThrow(
      new ValidationError([
        {
          subject: 'Microservice(shop)',
          field: 'name',
          value: 'shop',
          message: 'is used by services #1 and #2 in services/service-list.ts; service names must be unique, rename one',
        },
      ]),
    );
    expect(() => new Catalog([ok, ok])).toThrow(
      'Microservice(shop): \'name\' ("shop") is used by services #1 and #2 in services/service-list.ts; service names must be unique, rename one',
    );
  });
});

describe('what is deployed and how it is built', () => {
  it('build none with a built (unpinned) image', () =>
    expect(m({ build: 'none' })).toBe(
      "Microservice(shop): 'build' (\"none\") leaves nothing to deploy: this service's image is built from its repository; choose a build, or deploy an upstream image pinned by digest with package: { kind: 'upstream-image', image: 'name@sha256:…' }",
    ));
  it('upstream image not pinned by digest', () =>
    expect(m({ package: { kind: 'upstream-image', image: 'nginx:1.25' }, build: 'none' })).toBe(
      "Microservice(shop): 'package.image' (\"nginx:1.25\") must be pinned by digest, 'name@sha256:<64 hex>', so that what is reviewed is what runs; find the digest with 'docker buildx imagetools inspect IMAGE'",
    ));
  it('an upstream image pinned by digest needs no build', () =>
    expect(() =>
      Testing.synthScope((scope) => {
        new Microservice(scope, 's', {
          service: { ...ok, package: { kind: 'upstream-image', image: `nginx@sha256:${'a'.repeat(64)}` } },
          platform,
          refs: literalRefs(platform, ws.bundle.sha256),
          connection: 'github',
        });
      }),
    ).not.toThrow());
  it('containerizer not one of the engines', () =>
    expect(m({ package: { kind: 'image', containerizer: 'PODMAN' } })).toBe(
      "Microservice(shop): 'package.containerizer' (\"PODMAN\") must be 'DOCKER' (the Docker engine) or 'MESOS' (Mesos's own runtime, no Docker daemon)",
    ));
  it('Docker-only field on an artifact: package.containerizer', () =>
    expect(pkg({ containerizer: 'MESOS' })).toBe(
      'Microservice(shop): \'package.containerizer\' ("MESOS") is Docker-only; an artifact has no image: remove it',
    ));
  it('build not one of the kinds', () =>
    expect(m({ build: 'gradle' })).toBe(
      "Microservice(shop): 'build' (\"gradle\") must be 'build.sh', 'make', 'none' or { command: '…' } (a command that exits non-zero when the build or a test fails)",
    ));
  it('build command empty', () =>
    expect(m({ build: { command: ' ' } })).toBe(
      "Microservice(shop): 'build' ({\"command\":\" \"}) must be 'build.sh', 'make', 'none' or { command: '…' } (a command that exits non-zero when the build or a test fails)",
    ));
  it('unknown package kind', () =>
    expect(m({ package: { kind: 'rpm' } })).toBe(
      "Microservice(shop): 'package.kind' (\"rpm\") must be 'image' (built by the repository), 'upstream-image' or 'artifact'",
    ));
  it('artifact with build none', () =>
    expect(a({ build: 'none' })).toBe(
      "Microservice(shop): 'build' (\"none\") cannot be 'none' for an artifact: the build produces the tarball; use 'build.sh', 'make' or { command: '…' }",
    ));
  it('Docker-only field on an artifact: package.image', () =>
    expect(pkg({ image: 'nginx:1.25' })).toBe(
      'Microservice(shop): \'package.image\' ("nginx:1.25") is Docker-only; an artifact has no image: remove it',
    ));
  it('Docker-only field on an artifact: cmd', () =>
    expect(a({ cmd: 'node server.js' })).toBe(
      "Microservice(shop): 'cmd' (\"node server.js\") is Docker-only (it overrides an image's entrypoint); an artifact names its command in 'package.cmd'",
    ));
  it('Docker-only field on an artifact: ports[i].containerPort', () =>
    expect(a({ ports: [{ name: 'http', containerPort: 8080 }] })).toBe(
      "Microservice(shop): 'ports[0].containerPort' (8080) is Docker-only: an artifact runs on the agent's network and listens on $PORT_HTTP; remove it",
    ));
  it('an image port without containerPort', () =>
    expect(m({ ports: [{ name: 'http' }] })).toBe(
      "Microservice(shop): 'ports[0].containerPort' (undefined) must be a port number from 1 to 65535, e.g. 8080",
    ));
  it('artifact without cmd or args', () =>
    expect(a({ package: { kind: 'artifact' } })).toBe(
      "Microservice(shop): 'package.cmd' (undefined) is required for an artifact: the command that starts it in the sandbox, e.g. 'node server.js' or './bin/start'",
    ));
  it('artifact with both cmd and args', () =>
    expect(pkg({ args: ['./x'] })).toBe(
      "Microservice(shop): 'package.args' ([\"./x\"]) cannot be combined with 'package.cmd'; keep one of them",
    ));
  it('a cmd that does not start the artifact', () =>
    expect(pkg({ cmd: 'sleep 1000' })).toBe(
      "Microservice(shop): 'package.cmd' (\"sleep 1000\") does not start anything from the artifact (it is unpacked in the task's sandbox, the working directory); name a file from the tarball, e.g. './bin/start' or 'node server.js', or say where it is: 'cd $MESOS_SANDBOX && npm start'",
    ));
  it.each([
    ['./bin/start --port $PORT_HTTP'],
    ['bin/start'],
    ['java -jar app.jar'],
    ['exec $MESOS_SANDBOX/run'],
    ['cd $MESOS_SANDBOX && npm start'],
    ['cd "${MESOS_SANDBOX}" && make run'],
  ])('a cmd that starts the artifact: %s', (cmd) =>
    expect(validateService({ ...artifact, package: { kind: 'artifact', cmd } })).toEqual([]),
  );
  it('args that do not start the fetched binary', () =>
    expect(a({ package: { kind: 'artifact', args: ['/usr/bin/lamp'], file: 'out/lamp', extract: false, executable: true } })).toBe(
      "Microservice(shop): 'package.args' ([\"/usr/bin/lamp\"]) does not start the fetched file 'lamp'; run it as './lamp'",
    ));
  it('executable without extract: false', () =>
    expect(pkg({ cmd: './shop', executable: true })).toBe(
      "Microservice(shop): 'package.executable' (true) keeps the fetcher from extracting the archive; set extract: false for a single binary, or remove executable for a tarball",
    ));
  it('a file outside the repository', () =>
    expect(pkg({ file: '/tmp/app.tar.gz' })).toBe(
      "Microservice(shop): 'package.file' (\"/tmp/app.tar.gz\") must be the file the build leaves, relative to the repository root, e.g. 'dist/app.tar.gz'",
    ));
  it('a file that is not an archive, to extract', () =>
    expect(pkg({ file: 'out/shop.bin' })).toBe(
      'Microservice(shop): \'package.file\' ("out/shop.bin") is not an archive the fetcher extracts (.tar.gz, .tgz, .tar.xz, .tar.bz2, .zip); set extract: false for a single file',
    ));
  it('destPath outside the sandbox', () =>
    expect(pkg({ destPath: '../shop.tar.gz' })).toBe(
      "Microservice(shop): 'package.destPath' (\"../shop.tar.gz\") must be a file name inside the sandbox, e.g. 'lamp-sync'",
    ));
});

describe('health check kinds', () => {
  it('unknown protocol', () =>
    expect(m({ healthCheck: { protocol: 'GRPC' } })).toBe(
      'Microservice(shop): \'healthCheck.protocol\' ("GRPC") must be one of HTTP, HTTPS, MESOS_HTTP, MESOS_HTTPS, TCP, MESOS_TCP, COMMAND (or left out for HTTP)',
    ));
  it('a command on an HTTP check', () =>
    expect(m({ healthCheck: { path: '/health', command: 'true' } })).toBe(
      "Microservice(shop): 'healthCheck.command' (\"true\") is only for protocol 'COMMAND'; remove it, or set protocol: 'COMMAND'",
    ));
  it('a path on a TCP check', () =>
    expect(m({ healthCheck: { protocol: 'TCP', path: '/health' } })).toBe(
      "Microservice(shop): 'healthCheck.path' (\"/health\") is not used by a TCP check (it only connects to the port); remove it, or use 'HTTP'",
    ));
  it('a port on a COMMAND check', () =>
    expect(m({ healthCheck: { protocol: 'COMMAND', command: 'true', portIndex: 0 } })).toBe(
      "Microservice(shop): 'healthCheck.portIndex' (0) is not used by a COMMAND check (it runs 'command'); remove it",
    ));
  it('a TCP check on a port that does not exist', () =>
    expect(m({ healthCheck: HealthCheck.tcp({ portIndex: 3 }) })).toBe(
      "Microservice(shop): 'healthCheck.portIndex' (3) must address one of the service's 1 port(s) (0..0); add the port or change the index",
    ));
});

describe('types, checked at run time (lib/catalog/types-check.ts): a value the compiler did not see', () => {
  it('a number written as a string', () =>
    expect(m({ mem: '256' })).toBe(`Microservice(shop): 'mem' ("256") must be a number, not a string; write mem: 256 (no quotes)`));
  it('a per-environment count written as a string', () =>
    expect(m({ instances: { staging: 1, production: '2' } })).toBe(
      `Microservice(shop): 'instances.production' ("2") must be a number, not a string; write production: 2 (no quotes)`,
    ));
  it('a boolean written as a string', () =>
    expect(m({ fourEyes: 'false' })).toBe(
      `Microservice(shop): 'fourEyes' ("false") must be a boolean, not a string; write fourEyes: false (no quotes)`,
    ));
  it('a health check timing written as a string', () =>
    expect(m({ healthCheck: { path: '/health', intervalSeconds: '5' } })).toBe(
      `Microservice(shop): 'healthCheck.intervalSeconds' ("5") must be a number, not a string; write intervalSeconds: 5 (no quotes)`,
    ));
  it('a list where an object belongs', () =>
    expect(m({ env: ['A=1'] })).toBe(
      `Microservice(shop): 'env' (["A=1"]) must be an object of names to strings, e.g. { LOG_LEVEL: 'info' }`,
    ));
  it('an upstream image with an upper-case repository', () =>
    expect(
      m({ package: { kind: 'upstream-image', image: `registry.internal:5000/Payments@sha256:${'a'.repeat(64)}` }, build: 'none' }),
    ).toBe(
      `Microservice(shop): 'package.image' ("registry.internal:5000/Payments@sha256:${'a'.repeat(64)}") has an upper-case repository 'Payments'; repository names are lower-case: use 'registry.internal:5000/payments@sha256:${'a'.repeat(64)}'`,
    ));
});

describe('a tolerant catalog (the deploy CLI): one broken service file does not stop the others', () => {
  const broken = { ...ok, name: 'ledger', repo: 'acme-lighting/ledger', mem: '256' } as unknown as ServiceDefinition;
  const catalog = Catalog.tolerant([ok, broken]);
  it('keeps the good services and sets the broken one aside with its violations', () =>
    expect([catalog.names(), catalog.broken.map((b) => [b.name, b.error.message])]).toEqual([
      ['shop'],
      [['ledger', `Microservice(ledger): 'mem' ("256") must be a number, not a string; write mem: 256 (no quotes)`]],
    ]));
  it('a command about the broken service gets its violations', () =>
    expect(() => catalog.get('ledger')).toThrow(`Microservice(ledger): 'mem' ("256") must be a number`));
  it('the strict catalog (synth) still refuses the whole set', () => expect(() => new Catalog([ok, broken])).toThrow(ValidationError));
});
