import { EnvironmentName } from '../catalog/types';
import { C2CError } from '../errors';

/** What happened to a production plan: the approver is told when it waits and reminded while it still does. */
export type NoticeKind = 'waiting' | 'reminder' | 'approved' | 'rejected' | 'applied' | 'rolled-back' | 'failed' | 'expired';

/** One notice about a plan, with what a reviewer needs to decide from the chat window. */
export interface PlanNotice {
  readonly kind: NoticeKind;
  readonly service: string;
  readonly environment: EnvironmentName;
  /** The plan id (full; shown shortened). */
  readonly planId: string;
  /** Who made the change: the commit's author (who may not approve it). A reminder read from the build has none. */
  readonly author?: string;
  readonly commit?: string;
  /**
   * The field-level diff as text (`formatDiff`), shown one screen long. A reminder read from the build has none: the
   * waiting notice showed it.
   */
  readonly diff?: string;
  /** The whole change: the plan's commits since what production runs (`formatChanges`), flagged when too many. */
  readonly changes?: string;
  /** Where to approve: the build's page (Approve button) or the command to run. */
  readonly link: string;
  /** The service's reviewers (as named in the service file), mentioned so they hear of it. */
  readonly reviewers?: readonly string[];
  /** Minutes the plan has been waiting (reminders). */
  readonly waitingMinutes?: number;
  /** Who approved or rejected (approved, rejected). */
  readonly by?: string;
}

/** Lines of the diff a message shows; the rest is counted, not shown. */
export const ONE_SCREEN_LINES = 20;

const SECRETISH = /(pass(word)?|secret|token|credential|api[_-]?key|private[_-]?key)/i;

/** Whether a field's path looks like it holds a secret (`env.DB_PASSWORD`): its value is shown as `(hidden)`. */
export function isSecretPath(path: string): boolean {
  return SECRETISH.test(path);
}

/**
 * The diff as a chat message shows it: at most {@link ONE_SCREEN_LINES} lines, each at most 200 characters, and the
 * value of any field whose path looks like a secret (`env.DB_PASSWORD`) replaced by `(hidden)`: a chat channel is not
 * where a value that slipped into `env` should be copied to.
 */
export function oneScreenDiff(diff: string, maxLines = ONE_SCREEN_LINES): string {
  const lines = diff.split('\n').map((line) => {
    const m = /^([+\-~] )([^:]+):(.*)$/.exec(line);
    const shown = m && SECRETISH.test(m[2]) ? `${m[1]}${m[2]}: (hidden)` : line;
    return shown.length > 200 ? `${shown.slice(0, 199)}…` : shown;
  });
  if (lines.length <= maxLines) return lines.join('\n');
  return [...lines.slice(0, maxLines), `… and ${lines.length - maxLines} more lines (run 'deploy plan' to see all)`].join('\n');
}

const HEADLINE: Record<NoticeKind, (n: PlanNotice) => string> = {
  waiting: (n) => `${n.service}: a ${n.environment} plan waits for approval`,
  reminder: (n) =>
    `${n.service}: the ${n.environment} plan still waits for approval${n.waitingMinutes ? ` (${n.waitingMinutes} min)` : ''}`,
  approved: (n) => `${n.service}: the ${n.environment} plan was approved${n.by ? ` by ${n.by}` : ''}; applying`,
  rejected: (n) => `${n.service}: the ${n.environment} plan was rejected${n.by ? ` by ${n.by}` : ''}`,
  applied: (n) => `${n.service}: the ${n.environment} plan is applied and healthy`,
  'rolled-back': (n) => `${n.service}: the ${n.environment} deploy failed and was rolled back`,
  failed: (n) => `${n.service}: the ${n.environment} deploy failed`,
  expired: (n) => `${n.service}: the ${n.environment} plan expired without approval; push again for a new plan`,
};

/** The text of a notice: headline, who and what, the diff (one screen), where to act. */
export function noticeText(n: PlanNotice): string {
  const asks = n.kind === 'waiting' || n.kind === 'reminder';
  return [
    HEADLINE[n.kind](n),
    `plan ${n.planId ? n.planId.slice(0, 12) : '(id unknown)'}${n.author ? ` by ${n.author}` : ''}${n.commit ? ` (commit ${n.commit.slice(0, 12)})` : ''}`,
    ...(asks && n.reviewers && n.reviewers.length > 0 ? [`reviewers: ${n.reviewers.join(', ')}`] : []),
    ...((asks || n.kind === 'approved') && n.diff !== undefined ? ['```', oneScreenDiff(n.diff), '```'] : []),
    ...(asks && n.changes !== undefined ? [oneScreenDiff(n.changes, ONE_SCREEN_LINES / 2)] : []),
    `${asks ? 'approve or reject' : 'details'}: ${n.link}`,
  ].join('\n');
}

/** The JSON body both Slack and Google Chat incoming webhooks read: `{ "text": ... }`. */
export function webhookBody(n: PlanNotice): { text: string } {
  return { text: noticeText(n) };
}

/**
 * The page with the Approve button: the production build when its id is known, else the region's build history
 * filtered on the service's production builds; without Cloud Build, the local command.
 */
export function approvalLink(where: { project?: string; location?: string; buildId?: string; service: string; planPath?: string }): string {
  if (where.project && where.location) {
    const base = `https://console.cloud.google.com/cloud-build/builds;region=${encodeURIComponent(where.location)}`;
    if (where.buildId) return `${base}/${encodeURIComponent(where.buildId)}?project=${encodeURIComponent(where.project)}`;
    const query = encodeURIComponent(`tags="${where.service}" AND tags="production"`);
    return `${base}?project=${encodeURIComponent(where.project)}&query=${query}`;
  }
  return `deploy approve ${where.planPath ?? '<plan file>'}`;
}

/**
 * Posts a notice to a chat webhook (Slack or Google Chat incoming webhook URL). The URL is a credential: it never
 * appears in a message or an error.
 * @throws C2CError NOTIFY_FAILED
 */
export async function postNotice(url: string, n: PlanNotice, options: { timeoutMs?: number } = {}): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(webhookBody(n)),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (err) {
    throw new C2CError('NOTIFY_FAILED', `could not post the ${n.kind} notice for ${n.service}: the webhook did not answer`, {
      hint: 'check C2C_NOTIFY_WEBHOOK (the URL is not printed)',
      cause: err,
    });
  }
  await res.body?.cancel().catch(() => undefined);
  if (!res.ok) {
    throw new C2CError('NOTIFY_FAILED', `could not post the ${n.kind} notice for ${n.service}: the webhook answered ${res.status}`, {
      hint: 'check C2C_NOTIFY_WEBHOOK (the URL is not printed)',
    });
  }
}
