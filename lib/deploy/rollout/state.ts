import { MarathonAppInfo, MarathonClient, MarathonTask } from '../../marathon/client';
import { Colour, colourAppId, COLOURS, deploymentGroup, MLB } from './labels';
import { serverName } from './haproxy-stats';

/** One colour app as Marathon holds it. */
export interface ColourState {
  readonly colour: Colour;
  readonly app: MarathonAppInfo;
  readonly startedAt: string;
}

/**
 * A service's two-colour state, read from Marathon alone (no file, no label a user edits by hand decides it): the
 * colour apps of its deployment group, the newer by `HAPROXY_DEPLOYMENT_STARTED_AT` (as marathon-lb orders them).
 */
export interface RolloutState {
  readonly baseId: string;
  readonly group: string;
  /** The newer colour (the release), if any colour exists. */
  readonly newer: ColourState | null;
  /** The older colour (what traffic goes back to), while it exists. */
  readonly older: ColourState | null;
  /** `HAPROXY_DEPLOYMENT_TARGET_INSTANCES` of the newer colour. */
  readonly target: number;
}

/** Reads both colour apps of `baseId` (`/<env>/<name>`), with their tasks. */
export async function readRollout(client: MarathonClient, baseId: string): Promise<RolloutState> {
  const group = deploymentGroup(baseId);
  const found: ColourState[] = [];
  for (const colour of COLOURS) {
    const app = await client.getApp(colourAppId(baseId, colour));
    if (app && app.labels[MLB.group] === group) {
      found.push({ colour, app, startedAt: app.labels[MLB.startedAt] ?? '' });
    }
  }
  found.sort((a, b) => Date.parse(a.startedAt || '0') - Date.parse(b.startedAt || '0'));
  const newer = found.length > 0 ? found[found.length - 1] : null;
  const older = found.length > 1 ? found[0] : null;
  const target = newer ? Number(newer.app.labels[MLB.targetInstances] ?? newer.app.instances) : 0;
  return { baseId, group, newer, older, target };
}

/** A rollout is in flight when both colours run and the newer has not reached its target, or Marathon is deploying either. */
export function inFlight(state: RolloutState): boolean {
  if (!state.newer || !state.older) return false;
  if (state.newer.app.deployments.length > 0 || state.older.app.deployments.length > 0) return true;
  return state.newer.app.instances < state.target && state.older.app.instances > 0;
}

/** The HAProxy server name of a task's first port, as marathon-lb names it. */
export function taskServer(task: MarathonTask): string | null {
  if (!task.host || task.ports.length === 0) return null;
  return serverName(task.host, task.host, task.ports[0]);
}

/** Running tasks whose health checks pass (all of them for an app without checks), as marathon-lb selects them. */
export function liveTasks(app: MarathonAppInfo): MarathonTask[] {
  return app.tasks.filter((t) => t.state === 'TASK_RUNNING' && (!app.hasHealthChecks || t.healthy.some(Boolean)));
}
