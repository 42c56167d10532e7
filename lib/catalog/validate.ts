import { Violation } from '../errors';
import { validateMarathonApp } from '../marathon/validate';
import { renderMarathonApp } from '../marathon/render';
import { imageReferenceProblem } from '../image-reference';
import { artifactFile, baseName } from './artifact';
import { checkServiceTypes } from './types-check';
import { validateStrategy } from './validate-strategy';
import { ENVIRONMENTS, HttpHealthCheck, instancesFor, packageOf, portsOf, ServiceDefinition, ServiceHealthCheck } from './types';

type Add = (field: string, value: unknown, message: string) => void;
const HEALTH_PROTOCOLS = ['HTTP', 'HTTPS', 'MESOS_HTTP', 'MESOS_HTTPS', 'TCP', 'MESOS_TCP', 'COMMAND'];
/** Archives Mesos's fetcher extracts. */
const ARCHIVE = /\.(tar\.gz|tgz|tar\.xz|txz|tar\.bz2|tbz2|tar|zip)$/;
/**
 * A word of a command that names something in the sandbox: `./x`, `bin/x`, `$MESOS_SANDBOX` (alone or `/x`), or a file
 * like `server.js`. A heuristic with an explicit way out: a command that finds the artifact itself can say where it is.
 */
const SANDBOX_WORD = /^(\.{1,2}\/|"?\$\{?MESOS_SANDBOX\}?("|\/|$)|[A-Za-z0-9_][^\s/$=]*\/|[^\s/$=-][^\s/$=]*\.[A-Za-z][A-Za-z0-9]*$)/;

const NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const REPO = /^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const IAM_MEMBER = /^(user|group|serviceAccount|domain):\S+$/;

/** The longest service name: it names Cloud Build triggers (`<name>-production-apply` and the like), limited to 64. */
export const MAX_SERVICE_NAME = 53;

/** What the rules may need to know about the platform. */
export interface ValidateOptions {
  /** The GitHub owner the platform manages; when given, `repo` must belong to it. */
  readonly githubOwner?: string;
}

/**
 * Every rule a service definition must meet, each violation naming the service, the field, the value and the fix.
 * The Marathon rules are checked on the rendered app of each environment, so there is one source of truth for them.
 * Synth (the Microservice construct), the catalog and `new-service` all call this one function.
 */
export function validateService(def: ServiceDefinition, options: ValidateOptions = {}): Violation[] {
  const subject = `Microservice(${def.name})`;
  const out: Violation[] = [];
  const add = (field: string, value: unknown, message: string) => out.push({ subject, field, value, message });
  // Types first: the value rules below read numbers as numbers.
  checkServiceTypes(def as unknown as Record<string, unknown>, add);
  if (out.length > 0) return out;
  validateIdentity(def, options, add);
  validateResources(def, add);
  const ports = validatePorts(def, add);
  if (def.healthCheck) validateHealthCheck(def.healthCheck, ports.length, add);
  validatePackage(def, add);
  validateStrategy(def, add);
  validateEnvironment(def, add);
  validateReview(def, add);
  // The Marathon rules, on what will really be sent (both environments; the package reference does not affect validity).
  if (out.length === 0) {
    const ref =
      packageOf(def).kind === 'artifact'
        ? { artifact: { uri: `https://artifacts.invalid/${baseName(artifactFile(def))}`, sha256: '0'.repeat(64) } }
        : { image: 'validate:latest' };
    for (const env of ENVIRONMENTS) {
      for (const v of validateMarathonApp(renderMarathonApp(def, env, ref))) {
        out.push({ ...v, subject: `${subject} in ${env}` });
      }
    }
  }
  return out;
}

/** The name (it becomes the Marathon id and names triggers) and the repository (under the platform's GitHub owner). */
function validateIdentity(def: ServiceDefinition, options: ValidateOptions, add: Add): void {
  if (typeof def.name !== 'string' || !NAME.test(def.name)) {
    const fixed = String(def.name)
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '');
    add('name', def.name, `must be lower-case letters, digits and '-' (it becomes the Marathon id); use '${fixed || 'my-service'}'`);
  }
  if (typeof def.name === 'string' && def.name.length > MAX_SERVICE_NAME) {
    add(
      'name',
      def.name,
      `is ${def.name.length} characters; use at most ${MAX_SERVICE_NAME} (it names Cloud Build triggers, limited to 64)`,
    );
  }
  if (typeof def.repo !== 'string' || !REPO.test(def.repo)) {
    add('repo', def.repo, "must be a GitHub 'owner/name', e.g. 'acme/bulb-api'");
  } else if (options.githubOwner !== undefined && def.repo.split('/')[0].toLowerCase() !== options.githubOwner.toLowerCase()) {
    add(
      'repo',
      def.repo,
      `must belong to the GitHub owner '${options.githubOwner}' that the platform manages; move the repository or set C2C_GITHUB_OWNER`,
    );
  }
}

/** CPU, memory, disk and instances per environment. */
function validateResources(def: ServiceDefinition, add: Add): void {
  if (!(def.cpus > 0)) add('cpus', def.cpus, 'must be > 0; set the CPU share per task, e.g. 0.25');
  if (!(def.mem > 0)) add('mem', def.mem, "must be > 0 MiB; set it to the container's limit, e.g. 256");
  if (def.disk !== undefined && !(def.disk >= 0)) add('disk', def.disk, 'must be >= 0 MiB');

  // A single number is reported once, not once per environment.
  for (const env of typeof def.instances === 'number' ? ENVIRONMENTS.slice(0, 1) : ENVIRONMENTS) {
    const n = instancesFor(def, env);
    const field = typeof def.instances === 'number' ? 'instances' : `instances.${env}`;
    if (!Number.isInteger(n) || n < 0) add(field, n, 'must be a whole number >= 0, e.g. 2');
  }
  if (typeof def.instances !== 'number' && def.instances.production < def.instances.staging && !def.allowFewerInProduction) {
    add(
      'instances.production',
      def.instances.production,
      `is fewer than staging (${def.instances.staging}); raise it, or set 'allowFewerInProduction: true' if that is intended`,
    );
  }
}

/** The ports (an artifact's have no containerPort); returns them. */
function validatePorts(def: ServiceDefinition, add: Add): ReturnType<typeof portsOf> {
  const pkg = packageOf(def);
  const artifact = pkg.kind === 'artifact';
  const ports = Array.isArray(portsOf(def)) ? portsOf(def) : [];
  if (def.ports !== undefined && !Array.isArray(def.ports)) {
    add('ports', def.ports, `must be a list of ports, e.g. [{ name: 'http'${artifact ? '' : ', containerPort: 8080'} }]`);
  }
  ports.forEach((p, i) => {
    if (!NAME.test(p.name)) add(`ports[${i}].name`, p.name, "must be lower-case letters, digits and '-', e.g. 'http'");
    if (artifact && p.containerPort !== undefined) {
      add(
        `ports[${i}].containerPort`,
        p.containerPort,
        `is Docker-only: an artifact runs on the agent's network and listens on $PORT_${p.name.toUpperCase().replace(/-/g, '_')}; remove it`,
      );
    } else if (!artifact && (!Number.isInteger(p.containerPort) || (p.containerPort ?? 0) < 1 || (p.containerPort ?? 0) > 65535)) {
      add(`ports[${i}].containerPort`, p.containerPort, 'must be a port number from 1 to 65535, e.g. 8080');
    }
  });
  return ports;
}

/** Env, secrets and labels: valid names, string values, nothing twice, no reserved prefix. */
function validateEnvironment(def: ServiceDefinition, add: Add): void {
  for (const [k, v] of Object.entries(def.env ?? {})) {
    if (!ENV_NAME.test(k)) add(`env.${k}`, k, 'is not a valid variable name; use letters, digits and _ (not starting with a digit)');
    if (typeof v !== 'string') add(`env.${k}`, v, `must be a string (Marathon rejects numbers and booleans); write "${String(v)}"`);
  }
  for (const [k, v] of Object.entries(def.secrets ?? {})) {
    if (!ENV_NAME.test(k)) add(`secrets.${k}`, k, 'is not a valid variable name; use letters, digits and _');
    if (typeof v !== 'string' || v.trim() === '') add(`secrets.${k}`, v, "must be the secret's store path, e.g. 'bulb-api/db-password'");
    if (def.env && k in def.env) add(`secrets.${k}`, k, "is also set in 'env'; keep it in one place");
  }
  for (const [k, v] of Object.entries(def.labels ?? {})) {
    if (typeof v !== 'string') add(`labels.${k}`, v, `must be a string (Marathon labels are strings); write "${String(v)}"`);
    if (k.startsWith('c2c.')) add(`labels.${k}`, k, "uses the reserved prefix 'c2c.'; choose another key");
  }
}

/** What the release process needs: the smoke test, the production reviewers, the approval lifetime, the build paths. */
function validateReview(def: ServiceDefinition, add: Add): void {
  if (typeof def.smokeTest !== 'string' || def.smokeTest.trim() === '') {
    add('smokeTest', def.smokeTest, "must be the command that tests a running environment (it gets SERVICE_URL), e.g. './e2e.sh'");
  }
  if (!Array.isArray(def.approvers) || def.approvers.length === 0) {
    add('approvers', def.approvers, "must name at least one reviewer for production, e.g. ['user:ana@example.com']");
  } else {
    def.approvers.forEach((a, i) => {
      if (!IAM_MEMBER.test(a)) add(`approvers[${i}]`, a, "must be an IAM member: 'user:…', 'group:…', 'serviceAccount:…' or 'domain:…'");
    });
  }
  if (def.approvalTtlHours !== undefined && !(def.approvalTtlHours > 0))
    add('approvalTtlHours', def.approvalTtlHours, 'must be > 0 hours, e.g. 24');
  if (def.paths !== undefined && def.paths.length === 0)
    add('paths', def.paths, 'must list at least one glob, or be left out to build on every push');
}

/** Rules across the catalog: unique names and repositories, plus every service's own rules. */
export function validateCatalog(defs: readonly ServiceDefinition[], options: ValidateOptions = {}): Violation[] {
  const out: Violation[] = [];
  const seen = new Map<string, number>();
  defs.forEach((def, i) => {
    const first = seen.get(def.name);
    if (first !== undefined) out.push(duplicateNameViolation(def.name, first, i));
    else seen.set(def.name, i);
    out.push(...validateService(def, options));
  });
  return out;
}

/** The service at `index` has the name of the one at `first` (0-based positions in services/service-list.ts). */
export function duplicateNameViolation(name: string, first: number, index: number): Violation {
  return {
    subject: `Microservice(${name})`,
    field: 'name',
    value: name,
    message: `is used by services #${first + 1} and #${index + 1} in services/service-list.ts; service names must be unique, rename one`,
  };
}

/** The health check: its kind's own fields only, and a port to check for HTTP and TCP. */
function validateHealthCheck(hc: ServiceHealthCheck, portCount: number, add: Add): void {
  const protocol = hc.protocol ?? 'HTTP';
  if (!HEALTH_PROTOCOLS.includes(protocol)) {
    add('healthCheck.protocol', protocol, `must be one of ${HEALTH_PROTOCOLS.join(', ')} (or left out for HTTP)`);
    return;
  }
  const fields = hc as Partial<HttpHealthCheck> & { command?: unknown };
  if (protocol === 'COMMAND') {
    if (typeof fields.command !== 'string' || fields.command.trim() === '') {
      add('healthCheck.command', fields.command, "is required for protocol 'COMMAND'; give a shell command that exits 0 when healthy");
    }
    for (const key of ['path', 'portIndex'] as const) {
      if (fields[key] !== undefined)
        add(`healthCheck.${key}`, fields[key], `is not used by a COMMAND check (it runs 'command'); remove it`);
    }
    return;
  }
  const kind = protocol.endsWith('TCP') ? 'TCP' : 'HTTP';
  if (fields.command !== undefined) {
    add('healthCheck.command', fields.command, `is only for protocol 'COMMAND'; remove it, or set protocol: 'COMMAND'`);
  }
  if (kind === 'TCP' && fields.path !== undefined) {
    add('healthCheck.path', fields.path, `is not used by a ${protocol} check (it only connects to the port); remove it, or use 'HTTP'`);
  }
  const index = fields.portIndex ?? 0;
  if (index < 0 || index >= portCount) {
    add(
      'healthCheck.portIndex',
      index,
      `must address one of the service's ${portCount} port(s) (0..${portCount - 1}); add the port or change the index`,
    );
  }
}

/** What is deployed and how it is built: each kind with its own fields, and a build that produces what is deployed. */
function validatePackage(def: ServiceDefinition, add: Add): void {
  const pkg = packageOf(def) as { kind: unknown } & Record<string, unknown>;
  const build = def.build;
  const buildOk =
    build === undefined ||
    build === 'build.sh' ||
    build === 'make' ||
    build === 'none' ||
    (typeof build === 'object' && build !== null && typeof build.command === 'string' && build.command.trim() !== '');
  if (!buildOk) {
    add(
      'build',
      build,
      "must be 'build.sh', 'make', 'none' or { command: '…' } (a command that exits non-zero when the build or a test fails)",
    );
  }
  if ((pkg.kind === 'image' || pkg.kind === 'upstream-image') && pkg.containerizer !== undefined) {
    if (pkg.containerizer !== 'DOCKER' && pkg.containerizer !== 'MESOS') {
      add(
        'package.containerizer',
        pkg.containerizer,
        "must be 'DOCKER' (the Docker engine) or 'MESOS' (Mesos's own runtime, no Docker daemon)",
      );
    }
  }
  if (pkg.kind === 'image') {
    if (build === 'none') {
      add(
        'build',
        build,
        "leaves nothing to deploy: this service's image is built from its repository; choose a build, or deploy an upstream image pinned by digest with package: { kind: 'upstream-image', image: 'name@sha256:…' }",
      );
    }
    return;
  }
  if (pkg.kind === 'upstream-image') {
    const problem = imageReferenceProblem(pkg.image, 'digest');
    if (problem !== null) {
      add(
        'package.image',
        pkg.image,
        problem.startsWith('must be pinned')
          ? `${problem}, so that what is reviewed is what runs; find the digest with 'docker buildx imagetools inspect IMAGE'`
          : problem,
      );
    }
    return;
  }
  if (pkg.kind !== 'artifact') {
    add('package.kind', pkg.kind, "must be 'image' (built by the repository), 'upstream-image' or 'artifact'");
    return;
  }
  validateArtifact(def, pkg, add);
}

/** An artifact service: a tarball (or a single file) the fetcher puts in the sandbox, and the command that starts it. */
function validateArtifact(def: ServiceDefinition, pkg: Record<string, unknown>, add: Add): void {
  const build = def.build;
  const a = packageOf(def) as Extract<ReturnType<typeof packageOf>, { kind: 'artifact' }>;
  if (build === 'none') {
    add('build', build, "cannot be 'none' for an artifact: the build produces the tarball; use 'build.sh', 'make' or { command: '…' }");
  }
  for (const key of ['image', 'containerizer'] as const) {
    if (pkg[key] !== undefined) add(`package.${key}`, pkg[key], 'is Docker-only; an artifact has no image: remove it');
  }
  if (def.cmd !== undefined) {
    add('cmd', def.cmd, "is Docker-only (it overrides an image's entrypoint); an artifact names its command in 'package.cmd'");
  }
  const file = artifactFile(def);
  if (typeof file !== 'string' || file.trim() === '' || file.startsWith('/') || file.split('/').includes('..') || file.endsWith('/')) {
    add('package.file', file, "must be the file the build leaves, relative to the repository root, e.g. 'dist/app.tar.gz'");
    return;
  }
  const hasCmd = a.cmd !== undefined;
  const hasArgs = a.args !== undefined;
  if (hasCmd === hasArgs) {
    add(
      hasCmd ? 'package.args' : 'package.cmd',
      hasCmd ? a.args : undefined,
      hasCmd
        ? "cannot be combined with 'package.cmd'; keep one of them"
        : "is required for an artifact: the command that starts it in the sandbox, e.g. 'node server.js' or './bin/start'",
    );
  } else if (!(a.executable && a.extract !== false)) {
    // (An executable archive is reported below; what it starts is moot until that is fixed.)
    const words = hasCmd ? String(a.cmd).trim().split(/\s+/) : Array.isArray(a.args) ? a.args.map(String) : [];
    const fetched = a.destPath ?? baseName(artifactFile(def));
    const extract = a.extract ?? true;
    const starts =
      extract && !a.executable
        ? words.some((w) => SANDBOX_WORD.test(w))
        : words.some((w) => w.replace(/^(\.\/|\$\{?MESOS_SANDBOX\}?\/)/, '') === fetched);
    if (!starts) {
      add(
        hasCmd ? 'package.cmd' : 'package.args',
        hasCmd ? a.cmd : a.args,
        extract && !a.executable
          ? "does not start anything from the artifact (it is unpacked in the task's sandbox, the working directory); name a file from the tarball, e.g. './bin/start' or 'node server.js', or say where it is: 'cd $MESOS_SANDBOX && npm start'"
          : `does not start the fetched file '${fetched}'; run it as './${fetched}'`,
      );
    }
  }
  if (a.executable && a.extract !== false) {
    add(
      'package.executable',
      a.executable,
      'keeps the fetcher from extracting the archive; set extract: false for a single binary, or remove executable for a tarball',
    );
  }
  if ((a.extract ?? true) && !a.executable && !ARCHIVE.test(file)) {
    add(
      'package.file',
      file,
      'is not an archive the fetcher extracts (.tar.gz, .tgz, .tar.xz, .tar.bz2, .zip); set extract: false for a single file',
    );
  }
  if (a.destPath !== undefined && (a.destPath.startsWith('/') || a.destPath.split('/').includes('..') || a.destPath.trim() === '')) {
    add('package.destPath', a.destPath, "must be a file name inside the sandbox, e.g. 'lamp-sync'");
  }
}
