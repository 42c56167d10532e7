import { Violation } from '../errors';
import { validateMarathonApp } from '../marathon/validate';
import { renderMarathonApp } from '../marathon/render';
import { ENVIRONMENTS, instancesFor, SERVICE_DEFAULTS, ServiceDefinition } from './types';

const NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const REPO = /^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const IAM_MEMBER = /^(user|group|serviceAccount|domain):\S+$/;

/**
 * Every rule a service definition must meet, each violation naming the service, the field, the value and the fix.
 * The Marathon rules are checked on the rendered app of each environment, so there is one source of truth for them.
 */
export function validateService(def: ServiceDefinition): Violation[] {
  const subject = `Microservice(${def.name})`;
  const out: Violation[] = [];
  const add = (field: string, value: unknown, message: string) => out.push({ subject, field, value, message });

  if (typeof def.name !== 'string' || !NAME.test(def.name)) {
    const fixed = String(def.name)
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '');
    add('name', def.name, `must be lower-case letters, digits and '-' (it becomes the Marathon id); use '${fixed || 'my-service'}'`);
  }
  if (typeof def.repo !== 'string' || !REPO.test(def.repo)) add('repo', def.repo, "must be a GitHub 'owner/name', e.g. 'acme/bulb-api'");
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

  const ports = def.ports ?? SERVICE_DEFAULTS.ports;
  ports.forEach((p, i) => {
    if (!NAME.test(p.name)) add(`ports[${i}].name`, p.name, "must be lower-case letters, digits and '-', e.g. 'http'");
    if (!Number.isInteger(p.containerPort) || p.containerPort < 1 || p.containerPort > 65535) {
      add(`ports[${i}].containerPort`, p.containerPort, 'must be a port number from 1 to 65535, e.g. 8080');
    }
  });
  if (def.healthCheck) {
    const index = def.healthCheck.portIndex ?? 0;
    const protocol = def.healthCheck.protocol ?? 'HTTP';
    if (protocol !== 'COMMAND' && (index < 0 || index >= ports.length)) {
      add(
        'healthCheck.portIndex',
        index,
        `must address one of the service's ${ports.length} port(s) (0..${ports.length - 1}); add the port or change the index`,
      );
    }
    if (protocol === 'COMMAND' && !def.healthCheck.command) {
      add(
        'healthCheck.command',
        def.healthCheck.command,
        "is required for protocol 'COMMAND'; give a shell command that exits 0 when healthy",
      );
    }
  }
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

  // The Marathon rules, on what will really be sent (both environments; the image does not affect validity).
  if (out.length === 0) {
    for (const env of ENVIRONMENTS) {
      for (const v of validateMarathonApp(renderMarathonApp(def, env, { image: 'validate:latest' }))) {
        out.push({ ...v, subject: `${subject} in ${env}` });
      }
    }
  }
  return out;
}

/** Rules across the catalog: unique names and repositories, plus every service's own rules. */
export function validateCatalog(defs: readonly ServiceDefinition[]): Violation[] {
  const out: Violation[] = [];
  const seen = new Map<string, number>();
  defs.forEach((def, i) => {
    const first = seen.get(def.name);
    if (first !== undefined) {
      out.push({
        subject: `Microservice(${def.name})`,
        field: 'name',
        value: def.name,
        message: `is used by services #${first + 1} and #${i + 1} in services/fleet.ts; service names must be unique, rename one`,
      });
    } else seen.set(def.name, i);
    out.push(...validateService(def));
  });
  return out;
}
