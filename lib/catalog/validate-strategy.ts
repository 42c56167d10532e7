import { portsOf, ServiceDefinition, strategyOf } from './types';

type Add = (field: string, value: unknown, message: string) => void;
const KINDS = ['rolling', 'blueGreen', 'canary'];

/**
 * The rules of a service's release strategy (kept apart from validate.ts, which calls it). Blue/green and canary run
 * two colours behind marathon-lb, so they need what marathon-lb's deployment-group contract needs: a virtual host,
 * a fixed service port (`HAPROXY_0_PORT`), an alternate port (`HAPROXY_DEPLOYMENT_ALT_PORT`) and health checks (it
 * routes only to tasks whose health checks pass).
 */
export function validateStrategy(def: ServiceDefinition, add: Add): void {
  if (def.strategy === undefined) return;
  const s = strategyOf(def) as unknown as Record<string, unknown>;
  if (typeof s !== 'object' || s === null || !KINDS.includes(String(s.kind))) {
    add('strategy.kind', s?.kind, "must be 'rolling', 'blueGreen' or 'canary'");
    return;
  }
  if (s.kind === 'rolling') return;
  const kind = String(s.kind);
  if (def.virtualHost === undefined) {
    add(
      'virtualHost',
      def.virtualHost,
      `is required by strategy '${kind}': marathon-lb routes both colours under it; set it, e.g. '${def.name}.example.com'`,
    );
  }
  if (def.healthCheck === false) {
    add(
      'healthCheck',
      false,
      `is required by strategy '${kind}': marathon-lb sends traffic to a new task only once its health check passes; remove 'healthCheck: false'`,
    );
  }
  validatePorts(def, kind, s, add);
  if (s.keepOldMinutes !== undefined && !(typeof s.keepOldMinutes === 'number' && s.keepOldMinutes >= 0)) {
    add('strategy.keepOldMinutes', s.keepOldMinutes, 'must be a number of minutes >= 0 (0 removes the old colour at once), e.g. 30');
  }
  if (kind === 'canary') validateSteps(s.steps, add);
}

function validatePorts(def: ServiceDefinition, kind: string, s: Record<string, unknown>, add: Add): void {
  const ports = Array.isArray(portsOf(def)) ? portsOf(def) : [];
  const main = ports[0]?.servicePort ?? 0;
  if (!(Number.isInteger(main) && main > 0)) {
    add(
      'ports[0].servicePort',
      ports[0]?.servicePort,
      `must be a fixed port for strategy '${kind}' (marathon-lb's HAPROXY_0_PORT keeps the public port while the colours alternate); set it, e.g. 10080`,
    );
  }
  const alt = s.altPort;
  if (!(typeof alt === 'number' && Number.isInteger(alt) && alt >= 1 && alt <= 65535)) {
    add(
      'strategy.altPort',
      alt,
      `must be a port number from 1 to 65535 (marathon-lb's HAPROXY_DEPLOYMENT_ALT_PORT), e.g. ${main > 0 ? main + 1 : 10081}`,
    );
    return;
  }
  const same = ports.findIndex((p) => p.servicePort === alt);
  if (same >= 0) {
    add('strategy.altPort', alt, `is also ports[${same}].servicePort; the colours alternate between the two, so choose another port`);
  }
}

function validateSteps(steps: unknown, add: Add): void {
  if (!Array.isArray(steps) || steps.length === 0) {
    add('strategy.steps', steps, 'must list at least one step, e.g. [{ percent: 10 }, { percent: 50 }, { percent: 100 }]');
    return;
  }
  let before = 0;
  steps.forEach((raw: unknown, i) => {
    const step = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const p = step.percent;
    const last = i === steps.length - 1;
    if (!(typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 100)) {
      add(`strategy.steps[${i}].percent`, p, 'must be a whole percent from 1 to 100, e.g. 10');
    } else if (p <= before) {
      add(`strategy.steps[${i}].percent`, p, `must be more than the step before (${before}); list the steps in rising order`);
    } else if (last && p !== 100) {
      add(
        `strategy.steps[${i}].percent`,
        p,
        'must be 100 on the last step (a release ends with every instance on the new colour); add { percent: 100 }',
      );
    }
    if (typeof p === 'number') before = Math.max(before, p);
    const pause = step.pause;
    if (pause === undefined) return;
    if (last) {
      add(`strategy.steps[${i}].pause`, pause, 'comes after the last step, where the release is done; remove it');
    } else if (
      pause !== 'promote' &&
      !(
        typeof pause === 'object' &&
        pause !== null &&
        (pause as { minutes?: unknown }).minutes !== undefined &&
        Number((pause as { minutes: unknown }).minutes) > 0
      )
    ) {
      add(
        `strategy.steps[${i}].pause`,
        pause,
        "must be 'promote' (wait for 'deploy promote') or { minutes: n } with n > 0, e.g. { minutes: 10 }",
      );
    }
  });
}
