import { Violation } from '../errors';
import { MarathonAppDefinition } from './app';

/** Marathon's PathId label rule (raml/v2/types/stringTypes.raml): lower-case a-z, 0-9 and '-', not at either end. */
const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
/** Last segments Marathon reserves as routing keywords. @see reference/marathon-api/SEMANTICS.md §5 */
const RESERVED = new Set(['restart', 'tasks', 'versions', '.', '..']);

/** Why an app id is not valid for Marathon, or undefined when it is. @see reference/marathon-api/SEMANTICS.md §5 */
export function appIdProblem(id: string): string | undefined {
  if (!id.startsWith('/')) return "must be absolute (start with '/'), e.g. '/staging/bulb-api'";
  const segments = id.slice(1).split('/');
  if (segments.length === 1 && segments[0] === '') return 'must not be the root group';
  for (const seg of segments) {
    if (seg === '') return "must not contain an empty segment ('//' or a trailing '/')";
    for (const label of seg.split('.')) {
      if (!LABEL.test(label)) {
        return `segment '${seg}' must be lower-case letters, digits and '-' (no '_', no upper case, not starting or ending with '-'), e.g. '${suggestId(seg)}'`;
      }
    }
  }
  const last = segments[segments.length - 1];
  if (RESERVED.has(last)) return `must not end with the reserved word '${last}'; rename the app`;
  return undefined;
}

function suggestId(seg: string): string {
  return (
    seg
      .toLowerCase()
      .replace(/[^a-z0-9.-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'my-app'
  );
}

/**
 * The rules real Marathon enforces on an app definition (ids, resources, ports vs network mode, health checks,
 * upgrade strategy, labels and env types), checked before anything is sent so that a definition that synthesizes
 * is one Marathon accepts. @see reference/marathon-api/SEMANTICS.md §4-§6, §12
 */
export function validateMarathonApp(app: MarathonAppDefinition): Violation[] {
  const subject = `MarathonApp(${app.id})`;
  const out: Violation[] = [];
  const add: Add = (field, value, message) => out.push({ subject, field, value, message });
  checkResources(app, add);
  checkFetch(app, add);
  const ports = checkPorts(app, add);
  checkHealthChecks(app, ports, add);
  checkUpgradeLabelsAndEnv(app, add);
  return out;
}

type Add = (field: string, value: unknown, message: string) => void;

/** The id, resources, instances, and what the task runs (`cmd`, `args`, the image). */
function checkResources(app: MarathonAppDefinition, add: Add): void {
  const idProblem = appIdProblem(app.id);
  if (idProblem) add('id', app.id, idProblem);
  if (!(app.cpus >= 0.001)) add('cpus', app.cpus, 'must be at least 0.001; set the CPU share per task, e.g. 0.25');
  if (!(app.mem > 0)) add('mem', app.mem, "must be > 0 MiB; set it to the container's limit, e.g. 256");
  if (!(app.disk >= 0)) add('disk', app.disk, 'must be >= 0 MiB; use 0 for no disk');
  if (!Number.isInteger(app.instances) || app.instances < 0) {
    add('instances', app.instances, 'must be a whole number >= 0, e.g. 2');
  }
  if (app.cmd !== undefined && app.args !== undefined) {
    add('cmd', app.cmd, "cannot be combined with 'args'; keep one of them");
  }
  if (app.cmd === undefined && app.args === undefined && app.container === undefined) {
    add(
      'container',
      undefined,
      "is required when there is no 'cmd' or 'args'; give a Docker image, or a 'cmd' that starts the fetched artifact",
    );
  }
  if (app.container && app.container.docker.image.trim() === '') {
    add('container.docker.image', app.container.docker.image, 'must not be empty; give the image reference, e.g. registry:5000/app:1.0');
  }
}

/** The URIs the fetcher downloads into the sandbox. */
function checkFetch(app: MarathonAppDefinition, add: Add): void {
  (app.fetch ?? []).forEach((f, i) => {
    if (typeof f.uri !== 'string' || f.uri.trim() === '') {
      add(`fetch[${i}].uri`, f.uri, 'is required: the URI the fetcher downloads into the sandbox, e.g. https://example.com/app.tar.gz');
    }
    if (f.destPath !== undefined && (f.destPath.startsWith('/') || f.destPath.split('/').includes('..'))) {
      add(`fetch[${i}].destPath`, f.destPath, "must be a relative path inside the task's sandbox, e.g. 'app.tar.gz'");
    }
  });
}

/** Ports vs the network mode (§6): returns the app's ports (portDefinitions with host networking, else portMappings). */
function checkPorts(app: MarathonAppDefinition, add: Add): readonly unknown[] {
  const modes = new Set(app.networks.map((n) => n.mode));
  if (modes.size > 1) add('networks', app.networks, "must not mix network modes; use one of 'host', 'container/bridge', 'container'");
  const host = app.networks.length === 0 || modes.has('host');
  const mappings = app.container?.portMappings;
  if (host && mappings && mappings.length > 0) {
    add(
      'container.portMappings',
      mappings,
      "are not allowed with host networking; use 'portDefinitions', or set networks to [{ mode: 'container/bridge' }]",
    );
  }
  if (!host && app.portDefinitions !== undefined) {
    add(
      'portDefinitions',
      app.portDefinitions,
      "are only allowed with host networking; use 'container.portMappings' with a bridge network",
    );
  }
  const ports = host ? (app.portDefinitions ?? []) : (mappings ?? []);
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const portNumbers: [string, number | undefined][] =
      'containerPort' in p
        ? [
            ['containerPort', p.containerPort],
            ['hostPort', p.hostPort],
            ['servicePort', p.servicePort],
          ]
        : [['port', p.port]];
    for (const [key, value] of portNumbers) {
      if (value !== undefined && (!Number.isInteger(value) || value < 0 || value > 65535)) {
        add(
          `${host ? 'portDefinitions' : 'container.portMappings'}[${i}].${key}`,
          value,
          'must be a whole number from 0 to 65535 (0 = assigned by Marathon)',
        );
      }
    }
    if (names.has(p.name))
      add(
        `${host ? 'portDefinitions' : 'container.portMappings'}[${i}].name`,
        p.name,
        'must be unique among the ports; rename one of them',
      );
    names.add(p.name);
  });
  return ports;
}

/** Health checks (§12): their port, path, timing, and at most one Mesos check. */
function checkHealthChecks(app: MarathonAppDefinition, ports: readonly unknown[], add: Add): void {
  const checks = app.healthChecks ?? [];
  let mesosChecks = 0;
  checks.forEach((hc, i) => {
    const f = (k: string) => `healthChecks[${i}].${k}`;
    if (['MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP'].includes(hc.protocol)) mesosChecks += 1;
    if (hc.protocol === 'COMMAND') {
      if (!hc.command || hc.command.value.trim() === '')
        add(f('command'), hc.command?.value, 'is required for a COMMAND health check; give a shell command that exits 0 when healthy');
    } else {
      const index = hc.portIndex ?? 0;
      if (index >= ports.length || index < 0) {
        add(
          f('portIndex'),
          index,
          `must address one of the app's ${ports.length} port(s) (0..${ports.length - 1}); add the port or change the index`,
        );
      }
    }
    if (hc.path !== undefined && !hc.path.startsWith('/')) add(f('path'), hc.path, "must start with '/', e.g. '/health'");
    for (const key of ['gracePeriodSeconds', 'intervalSeconds', 'timeoutSeconds'] as const) {
      if (!(hc[key] > 0)) add(f(key), hc[key], 'must be > 0 seconds');
    }
    if (!Number.isInteger(hc.maxConsecutiveFailures) || hc.maxConsecutiveFailures < 0) {
      add(f('maxConsecutiveFailures'), hc.maxConsecutiveFailures, 'must be a whole number >= 0 (0 = never kill)');
    }
    if (hc.timeoutSeconds >= hc.intervalSeconds && hc.intervalSeconds > 0) {
      add(
        f('timeoutSeconds'),
        hc.timeoutSeconds,
        `must be less than intervalSeconds (${hc.intervalSeconds}); lower it or check less often`,
      );
    }
  });
  if (mesosChecks > 1)
    add(
      'healthChecks',
      checks.map((c) => c.protocol),
      'may hold at most one MESOS_HTTP/MESOS_HTTPS/MESOS_TCP check',
    );
}

/** The upgrade strategy's bounds, and labels and env values that are strings (or declared secrets). */
function checkUpgradeLabelsAndEnv(app: MarathonAppDefinition, add: Add): void {
  for (const key of ['minimumHealthCapacity', 'maximumOverCapacity'] as const) {
    const v = app.upgradeStrategy[key];
    if (!(v >= 0 && v <= 1))
      add(`upgradeStrategy.${key}`, v, 'must be a number from 0 to 1, e.g. 1 (keep all old tasks until new ones are healthy)');
  }
  for (const [k, v] of Object.entries(app.labels)) {
    if (typeof v !== 'string') add(`labels.${k}`, v, `must be a string, e.g. "${String(v)}"`);
  }
  for (const [k, v] of Object.entries(app.env ?? {})) {
    if (typeof v !== 'string' && !(v && typeof v === 'object' && typeof v.secret === 'string')) {
      add(`env.${k}`, v, `must be a string (Marathon rejects numbers and booleans), e.g. "${String(v)}"`);
    } else if (typeof v === 'object' && !(app.secrets && v.secret in app.secrets)) {
      add(`env.${k}`, v, `references secret '${v.secret}', which is not declared in 'secrets'`);
    }
  }
}
