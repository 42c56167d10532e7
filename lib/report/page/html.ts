import { AuditEvent } from '../../audit/log';
import { PlanChanges, tooManyCommits } from '../../deploy/changes';
import { FieldChange, formatChange, leafChanges } from '../../deploy/diff';
import { ServiceStatus } from '../../deploy/status';
import type { LogVerification } from '../../gate/verify-log';
import type { PlanFile } from '../../gate/plan-file';
import { isSecretPath } from '../../notify/message';
import { DORA_DEFINITIONS, DoraReport, formatDuration } from '../dora';
import { ChartData, chartData, chartSpecs, minutesText, renderSvg } from './charts';
import { COLORS } from './palette';

/** One service of the fleet: what runs in each environment, and its last production deploy from the audit log. */
export interface FleetRow {
  readonly service: string;
  readonly staging: ServiceStatus | null;
  readonly production: ServiceStatus | null;
  /** The last `apply.succeeded` in production: when, by whom, approved by whom. */
  readonly lastDeploy: { readonly time: string; readonly actor: string; readonly approver?: string } | null;
}

/** A production plan that waits for approval, as a reviewer sees it. */
export interface PendingPlan {
  readonly plan: PlanFile;
  /** The diff of its app against the live app as read when the page was written (not the plan's stored diff). */
  readonly diff: readonly FieldChange[];
  /** The live app is no longer the version the plan was made against: it must be planned again. */
  readonly stale: boolean;
  /** Production could not be read: `diff` is the plan's own, against production as it was when planned. */
  readonly diffAtPlanTime?: boolean;
  /** The command (or the build's page) that approves it. */
  readonly approveWith: string;
  /**
   * The plan's author signature: verified against the allowed signers (the principal whose key signed it), absent,
   * or present but not checked because no allowed-signers file was at hand. A signature that fails is never shown
   * here: such a plan is listed as not shown, with why.
   */
  readonly signature: { readonly verifiedSigner: string } | 'unsigned' | 'unchecked';
}

/** Everything the page shows; the CLI gathers it, the page only renders. */
export interface PageInput {
  readonly report: DoraReport;
  readonly generatedAt: Date;
  /** The fleet, or why it could not be read (no Marathon URL, Marathon down). */
  readonly fleet: { readonly rows: readonly FleetRow[] } | { readonly unavailable: string };
  readonly pending: readonly PendingPlan[];
  /** Plans the audit log says wait that are not shown: no file, or one that fails its checks (`service`, `planId`, why). */
  readonly missingPlans?: readonly { readonly service: string; readonly planId: string; readonly reason: string }[];
  readonly audit: {
    readonly location: string;
    /** The records of the window, in time order. */
    readonly events: readonly AuditEvent[];
    /** `deploy history --verify` over the whole log, or why it was not run. */
    readonly verification: LogVerification | { readonly notChecked: string };
  };
  /** More commits than this in a plan is flagged. */
  readonly maxCommits: number;
}

/** Records of the audit trail the page lists at most (the newest); `deploy history` has them all. */
export const MAX_TRAIL_ROWS = 500;
/** Diff lines shown before the rest folds away. */
export const DIFF_LINES_SHOWN = 20;

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text made safe for HTML content and attribute values. */
export const esc = (text: unknown): string => String(text).replace(/[&<>"']/g, (c) => ESC[c]);

/** The docs' light markdown (`**bold**`, `code`) as HTML. */
function md(text: string): string {
  return esc(text)
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/`([^`]+)`/g, '<code>$1</code>');
}

const pct = (r: number | null) => (r === null ? '-' : `${Math.round(r * 100)}%`);
const ageText = (ms: number) => formatDuration(Math.max(0, ms));

function table(head: readonly string[], rows: readonly (readonly string[])[], caption: string): string {
  const th = head.map((h) => `<th scope="col">${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<div class="scroll"><table><caption>${esc(caption)}</caption><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

/** Whether the log verifies: the one place the page decides what it says about the audit log. */
export function verificationState(v: PageInput['audit']['verification']): { ok: boolean; text: string } {
  if ('notChecked' in v) return { ok: false, text: `The audit log was NOT verified (${v.notChecked}): treat every figure as unchecked.` };
  if (v.problems.length === 0) {
    return {
      ok: true,
      text: `deploy history --verify holds: ${v.records} records, hash chain intact, ${v.signatures} signatures verified.`,
    };
  }
  const first = v.problems[0];
  return {
    ok: false,
    text: `The audit log FAILS verification (deploy history --verify): ${v.problems.length} problem(s), the first at line ${first.line}: ${first.message}. The figures on this page are read from a log that does not verify.`,
  };
}

/** The deploys chart's rows as a table: a row per week, a column per series, and the week's total. */
function pivot(data: ChartData, weeks: readonly string[], series: readonly string[]): string[][] {
  return weeks.map((week) => {
    const counts = series.map((name) => data.deploysPerWeek.find((r) => r.week === week && r.series === name)?.deploys ?? 0);
    return [esc(week), ...counts.map(String), String(counts.reduce((a, c) => a + c, 0))];
  });
}

async function doraSection(report: DoraReport, data: ChartData): Promise<string> {
  const weeks = report.weeks.map((w) => w.start.slice(0, 10));
  const specs = chartSpecs(data, weeks);
  const [deploys, lead, cfr, ttr] = await Promise.all(
    (['deploysPerWeek', 'leadTimes', 'changeFailureRate', 'timeToRestore'] as const).map((k) => renderSvg(specs[k])),
  );
  const f = report.fleet;
  const series = [...new Set(data.deploysPerWeek.map((r) => r.series))];
  const perService = report.services.map((s) => [esc(s.service), String(s.deploys), ...s.weeklyDeploys.map(String)]);
  const figure = (id: string, title: string, value: string, definition: string, svg: string, numbers: string) =>
    `<figure id="${id}"><h3>${esc(title)}: <span class="figure">${esc(value)}</span></h3><p class="def">${definition}</p>` +
    `<div class="pair"><div class="chart">${svg}</div><div>${numbers}</div></div></figure>`;
  return [
    `<section id="dora"><h2>DORA, ${esc(report.environment)}, ${esc(report.since.slice(0, 10))} to ${esc(report.until.slice(0, 10))} (${report.days.toFixed(1)} days)</h2>`,
    `<p class="def">${md(DORA_DEFINITIONS.measures)} ${md(DORA_DEFINITIONS.trends)}</p>`,
    figure(
      'deploys',
      'Deploys per week',
      `${f.deploys} deploys, ${f.deploysPerDay.toFixed(2)} per day`,
      md(DORA_DEFINITIONS.deploy),
      deploys,
      table(['week starting', ...series.map(esc), 'total'], pivot(data, weeks, series), "the chart's numbers") +
        `<details><summary>every service, every week (${report.services.length} services)</summary>${table(['service', 'deploys', ...weeks], perService, 'deploys per week per service')}</details>`,
    ),
    figure(
      'lead-time',
      'Lead time, commit to production',
      `median ${formatDuration(f.leadTimeMs)}`,
      md('Lead time is the median from commit time to a succeeded deploy.'),
      lead,
      table(
        ['lead time', 'deploys'],
        data.leadTimes.map((r) => [esc(r.range), String(r.deploys)]),
        "the chart's numbers",
      ),
    ),
    figure(
      'change-failure-rate',
      'Change failure rate',
      f.changeFailureRate === null ? 'no deploys' : `${pct(f.changeFailureRate)} (${f.failures}/${f.deploys})`,
      md(DORA_DEFINITIONS.failure),
      cfr,
      table(
        ['week starting', 'deploys', 'failures', 'rate'],
        data.changeFailureRate.map((r) => [esc(r.week), String(r.deploys), String(r.failures), pct(r.rate)]),
        "the chart's numbers",
      ),
    ),
    figure(
      'time-to-restore',
      'Time to restore',
      `median ${formatDuration(f.timeToRestoreMs)}`,
      md(DORA_DEFINITIONS.restore),
      ttr,
      table(
        ['week starting', 'median time to restore', 'minutes'],
        data.timeToRestore.map((r) => [esc(r.week), esc(minutesText(r.minutes)), String(r.minutes)]),
        "the chart's numbers",
      ),
    ),
    '</section>',
  ].join('\n');
}

function versionCell(s: ServiceStatus | null): string {
  if (!s || s.state === 'missing') return '<span class="muted">not deployed</span>';
  const what = s.image ? (s.image.split('/').pop() ?? s.image) : s.artifact ? `${s.artifact.uri.split('/').pop()}` : '-';
  return `<code>${esc(what)}</code>${s.commit ? ` <span class="muted">commit ${esc(s.commit.slice(0, 7))}</span>` : ''}`;
}

function healthCell(s: ServiceStatus | null): string {
  if (!s || s.state === 'missing') return '-';
  const cls = s.state === 'healthy' ? 'good' : s.state === 'deploying' ? '' : 'bad';
  return `<span class="${cls}">${esc(s.state)}</span> ${s.healthChecks ? s.healthy : '-'}/${s.running}/${s.wanted}`;
}

function driftCell(rows: (ServiceStatus | null)[]): string {
  const parts = rows
    .filter((s): s is ServiceStatus => s !== null && s.drift.length > 0)
    .map((s) => `<span class="bad">${esc(s.environment)}: ${esc(s.drift.map((d) => d.path).join(', '))}</span>`);
  return parts.length > 0 ? parts.join('<br>') : 'none';
}

function fleetSection(fleet: PageInput['fleet'], now: number): string {
  if ('unavailable' in fleet)
    return `<section id="fleet"><h2>Fleet</h2><p class="bad">The fleet could not be read: ${esc(fleet.unavailable)}</p></section>`;
  const rows = fleet.rows.map((r) => {
    const staged = r.staging?.image ?? r.staging?.artifact?.uri ?? null;
    const live = r.production?.image ?? r.production?.artifact?.uri ?? null;
    const behind = staged !== null && staged !== live ? ' <span class="muted">(staging runs another version)</span>' : '';
    return [
      esc(r.service),
      versionCell(r.staging),
      versionCell(r.production) + behind,
      healthCell(r.staging),
      healthCell(r.production),
      driftCell([r.staging, r.production]),
      r.lastDeploy
        ? `${esc(r.lastDeploy.time.replace('T', ' ').slice(0, 16))} <span class="muted">(${ageText(now - Date.parse(r.lastDeploy.time))} ago) by ${esc(r.lastDeploy.actor)}</span>`
        : '-',
      r.lastDeploy?.approver ? esc(r.lastDeploy.approver) : '-',
    ];
  });
  const head = [
    'service',
    'staging',
    'production',
    'staging health',
    'production health',
    'drift',
    'last production deploy',
    'approved by',
  ];
  return `<section id="fleet"><h2>Fleet (${fleet.rows.length} services)</h2><p class="def">Health is healthy/running/wanted tasks; drift lists the fields where what runs differs from the definition rendered for the version that runs.</p>${table(head, rows, 'per service, what runs where')}</section>`;
}

function diffBlock(diff: readonly FieldChange[]): string {
  const lines = leafChanges(diff).map((c) => {
    const shown = isSecretPath(c.path)
      ? { ...c, from: c.from === undefined ? undefined : '(hidden)', to: c.to === undefined ? undefined : '(hidden)' }
      : c;
    return `<span class="${c.kind}">${esc(formatChange(shown))}</span>`;
  });
  if (lines.length === 0) return '<pre class="diff">no change</pre>';
  const rest = lines.slice(DIFF_LINES_SHOWN);
  return (
    `<pre class="diff">${lines.slice(0, DIFF_LINES_SHOWN).join('\n')}</pre>` +
    (rest.length > 0 ? `<details><summary>${rest.length} more line(s)</summary><pre class="diff">${rest.join('\n')}</pre></details>` : '')
  );
}

function changesBlock(changes: PlanChanges | undefined, max: number): string {
  if (!changes) return '<p class="muted">Commits: not recorded (the plan was made without <code>--repo</code>).</p>';
  const flag = tooManyCommits(changes, max)
    ? `<p class="flag bad">${changes.total} commits in one release, more than ${max}: not a small change; review each one.</p>`
    : '';
  const link = changes.compareUrl ? ` <a href="${esc(changes.compareUrl)}">compare</a>` : '';
  const span = changes.from
    ? `${esc(changes.from.slice(0, 7))}..${esc(changes.to.slice(0, 7))}`
    : `up to ${esc(changes.to.slice(0, 7))}, first deploy`;
  const items = changes.commits.map(
    (c) => `<li><code>${esc(c.sha.slice(0, 7))}</code> ${esc(c.subject)} <span class="muted">${esc(c.author)}</span></li>`,
  );
  const more = changes.total > changes.commits.length ? `<li class="muted">… and ${changes.total - changes.commits.length} more</li>` : '';
  return `${flag}<p>${changes.total} commit(s) since what production runs (${span})${link}</p><ul class="commits">${items.join('')}${more}</ul>`;
}

function pendingSection(input: PageInput): string {
  const now = input.generatedAt.getTime();
  const cards = input.pending.map(({ plan, diff, stale, diffAtPlanTime, approveWith, signature }) => {
    const author = plan.commitAuthor ?? plan.createdBy;
    const signed =
      signature === 'unsigned'
        ? ' (unsigned)'
        : signature === 'unchecked'
          ? ' (signed; <span class="bad">signature not checked: no allowed signers here</span>)'
          : ` (signed by ${esc(signature.verifiedSigner)}, verified)`;
    return [
      `<article class="plan" id="plan-${esc(plan.id.slice(0, 12))}"><h3>${esc(plan.service)} <span class="muted">plan ${esc(plan.id.slice(0, 12))}</span></h3>`,
      `<p>by ${esc(author)}${signed}, waiting ${ageText(now - Date.parse(plan.createdAt))}, runs <code>${esc(plan.image)}</code>${plan.commit ? ` at commit <code>${esc(plan.commit.slice(0, 7))}</code>` : ''}</p>`,
      stale ? '<p class="bad">Stale: production changed since this plan was made; it must be planned again.</p>' : '',
      changesBlock(plan.changes, input.maxCommits),
      diffAtPlanTime
        ? `<p>What it changed against production when planned (production cannot be read here, so not checked against what runs now):</p>${diffBlock(diff)}`
        : `<p>What it changes against production now:</p>${diffBlock(diff)}`,
      `<p>Approve: <code class="cmd">${esc(approveWith)}</code></p></article>`,
    ].join('\n');
  });
  const missing = (input.missingPlans ?? []).map(
    (m) => `<li>${esc(m.service)}: plan ${esc(m.planId.slice(0, 12))}: <span class="bad">${esc(m.reason)}</span></li>`,
  );
  const none = cards.length === 0 && missing.length === 0 ? '<p>No production plan waits for approval.</p>' : '';
  return `<section id="approvals"><h2>Waiting for approval (${cards.length + missing.length})</h2>${none}${cards.join('\n')}${missing.length > 0 ? `<p>Not shown: plans the log says wait whose file is missing or fails its checks (a plan is shown only when it is whole, is the one the log names and any signature verifies):</p><ul>${missing.join('')}</ul>` : ''}</section>`;
}

function trailDetails(e: AuditEvent): string {
  const parts: string[] = [];
  if (e.breakGlass) parts.push('<strong class="bad">BREAK-GLASS</strong>');
  if (e.image) parts.push(esc(e.image.split('/').pop() ?? e.image));
  if (e.planId) parts.push(`plan ${esc(e.planId.slice(0, 12))}`);
  if (e.approver && e.type !== 'approval.recorded') parts.push(`approved by ${esc(e.approver)}`);
  if (e.appVersion) parts.push(`version ${esc(e.appVersion)}`);
  if (e.code) parts.push(esc(e.code));
  if (e.reason) parts.push(esc(e.reason));
  if (e.comment) parts.push(`“${esc(e.comment)}”`);
  return parts.join(', ');
}

function auditSection(audit: PageInput['audit']): string {
  const state = verificationState(audit.verification);
  const shown = audit.events.slice(-MAX_TRAIL_ROWS).reverse();
  const rows = shown.map((e) => [
    esc(e.time.replace('T', ' ').slice(0, 19)),
    esc(e.service),
    esc(e.environment),
    esc(e.type),
    esc(e.actor),
    trailDetails(e),
  ]);
  const cut =
    audit.events.length > shown.length
      ? ` The newest ${shown.length} of ${audit.events.length} are listed; <code>deploy history --since …</code> has them all.`
      : '';
  return (
    `<section id="audit"><h2>Audit trail (${audit.events.length} records in the window)</h2>` +
    `<p class="verify ${state.ok ? 'ok' : 'fail'}">${esc(state.text)}</p><p class="muted">From ${esc(audit.location)}, newest first.${cut}</p>` +
    `${table(['time (UTC)', 'service', 'env', 'event', 'actor', 'details'], rows, 'audit records of the window')}</section>`
  );
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:${COLORS.text};background:${COLORS.background};margin:0 auto;max-width:1200px;padding:1rem 1.5rem;line-height:1.45}
h1{font-size:1.5rem}h2{border-bottom:2px solid ${COLORS.border};padding-bottom:.2rem;margin-top:2rem}h3{font-size:1.05rem}
.muted{color:${COLORS.muted}}.good{color:${COLORS.good}}.bad{color:${COLORS.bad}}
.def{color:${COLORS.muted};font-size:.9rem;max-width:75ch}.figure{font-weight:600}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}caption{text-align:left;color:${COLORS.muted};font-size:.8rem}
th,td{border:1px solid ${COLORS.border};padding:.2rem .45rem;text-align:left;vertical-align:top}th{background:${COLORS.panel}}
figure{margin:1.5rem 0}.pair{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}.chart svg{max-width:100%;height:auto}
pre.diff{background:${COLORS.panel};padding:.6rem;white-space:pre-wrap;overflow-wrap:anywhere;font-size:.85rem}
.added{color:${COLORS.added}}.removed{color:${COLORS.removed}}.changed{color:${COLORS.changed}}
article.plan{border:1px solid ${COLORS.border};padding:.2rem 1rem;margin:1rem 0}code.cmd{background:${COLORS.panel};padding:.1rem .3rem}
a{color:${COLORS.link}}.verify{padding:.5rem .8rem;font-weight:600}.verify.ok{background:${COLORS.goodBackground};color:${COLORS.good}}
.verify.fail{background:${COLORS.bad};color:${COLORS.background}}.flag{font-weight:600}
nav a{margin-right:1rem}
`;

/**
 * The team's page: one self-contained HTML document (inline CSS, charts as inline SVG rendered now, no script, no
 * font, no request), with DORA trends, the fleet, the plans waiting for approval and the audit trail of the window.
 */
export async function renderPage(input: PageInput): Promise<string> {
  const data = chartData(input.report);
  const state = verificationState(input.audit.verification);
  const dora = await doraSection(input.report, data);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>commit-to-cloud: the team's page</title><style>${CSS}</style></head>
<body><header><h1>commit-to-cloud: the team's page</h1>
<p class="muted">Written ${esc(input.generatedAt.toISOString())} by <code>deploy report --html</code>.</p>
<p class="verify ${state.ok ? 'ok' : 'fail'}" id="verification">${esc(state.text)}</p>
<nav><a href="#approvals">Waiting for approval</a><a href="#fleet">Fleet</a><a href="#dora">DORA</a><a href="#audit">Audit trail</a></nav></header>
<main>
${pendingSection(input)}
${fleetSection(input.fleet, input.generatedAt.getTime())}
${dora}
${auditSection(input.audit)}
</main></body></html>
`;
}
