import { MarathonAppDefinition } from '../../marathon/app';

/** The two colours, as marathon-lb's `zdd.py` names them (`HAPROXY_DEPLOYMENT_COLOUR`, the `-blue`/`-green` app ids). */
export type Colour = 'blue' | 'green';
export const COLOURS: readonly Colour[] = ['blue', 'green'];

/**
 * marathon-lb's deployment-group labels (README "Zero-downtime Deployments", `zdd.py`, `marathon_lb.py` `get_apps`).
 * All values are strings, as Marathon requires.
 */
export const MLB = {
  group: 'HAPROXY_DEPLOYMENT_GROUP',
  altPort: 'HAPROXY_DEPLOYMENT_ALT_PORT',
  colour: 'HAPROXY_DEPLOYMENT_COLOUR',
  startedAt: 'HAPROXY_DEPLOYMENT_STARTED_AT',
  targetInstances: 'HAPROXY_DEPLOYMENT_TARGET_INSTANCES',
  newInstances: 'HAPROXY_DEPLOYMENT_NEW_INSTANCES',
  appId: 'HAPROXY_APP_ID',
  port0: 'HAPROXY_0_PORT',
  vhost0: 'HAPROXY_0_VHOST',
} as const;

/** What a colour app is made from: the service's rendered app (`/<env>/<name>`) and the rollout's facts. */
export interface ColourAppInput {
  /** The one renderer's output for the service and environment (its id is the group's base id). */
  readonly base: MarathonAppDefinition;
  readonly colour: Colour;
  /** The public service port (`HAPROXY_0_PORT`): the service's first `servicePort`. */
  readonly publicPort: number;
  /** `HAPROXY_DEPLOYMENT_ALT_PORT`. */
  readonly altPort: number;
  /** The service port this colour's app holds: the one the other colour does not (`zdd.py` `select_next_port`). */
  readonly servicePort: number;
  /** ISO time; marathon-lb orders the colours by it (older drains as the newer's tasks get healthy). */
  readonly startedAt: string;
  /** Instances the release ends with (`HAPROXY_DEPLOYMENT_TARGET_INSTANCES`). */
  readonly targetInstances: number;
  /** Instances to start with. */
  readonly instances: number;
}

/** The deployment group of a service in an environment: one HAProxy backend (`<group>_<HAPROXY_0_PORT>`). */
export function deploymentGroup(baseId: string): string {
  return baseId.replace(/^\//, '').replace(/\//g, '-');
}

/** A colour's Marathon app id: the base id with `-blue` or `-green`, as `zdd.py` `set_app_ids` does. */
export function colourAppId(baseId: string, colour: Colour): string {
  return `${baseId}-${colour}`;
}

export function otherColour(colour: Colour): Colour {
  return colour === 'blue' ? 'green' : 'blue';
}

/**
 * A colour's app definition: the rendered app under the colour's id, its first service port set to the colour's
 * port, and every label `zdd.py` puts on the app it creates. The labels are all set at creation: changing a label
 * later is a config change that restarts every task (SEMANTICS.md §7, §15).
 */
export function colourApp(input: ColourAppInput): MarathonAppDefinition {
  const { base } = input;
  const labels: Record<string, string> = {
    ...base.labels,
    [MLB.group]: deploymentGroup(base.id),
    [MLB.altPort]: String(input.altPort),
    [MLB.colour]: input.colour,
    [MLB.startedAt]: input.startedAt,
    [MLB.targetInstances]: String(input.targetInstances),
    [MLB.newInstances]: '0',
    [MLB.appId]: base.id,
    [MLB.port0]: String(input.publicPort),
  };
  const sorted = Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const app: MarathonAppDefinition = { ...base, id: colourAppId(base.id, input.colour), instances: input.instances, labels: sorted };
  if (base.container?.portMappings && base.container.portMappings.length > 0) {
    const [first, ...rest] = base.container.portMappings;
    return { ...app, container: { ...base.container, portMappings: [{ ...first, servicePort: input.servicePort }, ...rest] } };
  }
  if (base.portDefinitions && base.portDefinitions.length > 0) {
    const [first, ...rest] = base.portDefinitions;
    return { ...app, portDefinitions: [{ ...first, port: input.servicePort }, ...rest] };
  }
  return app;
}
