import type * as Vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { DoraReport, formatDuration } from '../dora';
import { COLORS, SERIES } from './palette';

/** A chart's numbers: the rows it draws, exactly as the table under it lists them. */
export interface ChartData {
  /** Deploys per week per series: the busiest services by name, the rest summed in one series. */
  readonly deploysPerWeek: readonly { readonly week: string; readonly series: string; readonly deploys: number }[];
  readonly leadTimes: readonly { readonly range: string; readonly deploys: number }[];
  /** Weeks with deploys only: a rate of nothing is not 0%. */
  readonly changeFailureRate: readonly {
    readonly week: string;
    readonly rate: number;
    readonly failures: number;
    readonly deploys: number;
  }[];
  /** Weeks with a restore only. */
  readonly timeToRestore: readonly { readonly week: string; readonly minutes: number }[];
}

/** Services drawn as series of their own in the deploys chart; the rest are one series. */
export const NAMED_SERIES = SERIES.length - 1;

const weekLabel = (iso: string) => iso.slice(0, 10);

/** The series of the deploys chart: the busiest services (ties by name), then `other services (N)` when any remain. */
export function deploySeries(report: DoraReport): { readonly named: readonly string[]; readonly other: string | null } {
  const busiest = [...report.services].sort((a, b) => b.deploys - a.deploys || (a.service < b.service ? -1 : 1));
  const named = busiest.slice(0, NAMED_SERIES).map((f) => f.service);
  const rest = report.services.length - named.length;
  return { named, other: rest > 0 ? `other services (${rest})` : null };
}

/** The numbers behind every chart, all read from `report` (what `deploy report --json` prints). */
export function chartData(report: DoraReport): ChartData {
  const { named, other } = deploySeries(report);
  const weeks = report.weeks.map((w) => weekLabel(w.start));
  const deploysPerWeek = weeks.flatMap((week, i) => {
    const rows = named.map((name) => ({
      week,
      series: name,
      deploys: report.services.find((f) => f.service === name)?.weeklyDeploys[i] ?? 0,
    }));
    if (other) {
      const sum = report.services.filter((f) => !named.includes(f.service)).reduce((a, f) => a + f.weeklyDeploys[i], 0);
      rows.push({ week, series: other, deploys: sum });
    }
    return rows;
  });
  return {
    deploysPerWeek,
    leadTimes: report.leadTimeDistribution.map((b) => ({ range: b.label, deploys: b.count })),
    changeFailureRate: report.weeks
      .filter((w) => w.changeFailureRate !== null)
      .map((w) => ({ week: weekLabel(w.start), rate: w.changeFailureRate ?? 0, failures: w.failures, deploys: w.deploys })),
    timeToRestore: report.weeks
      .filter((w) => w.timeToRestoreMs !== null)
      .map((w) => ({ week: weekLabel(w.start), minutes: Math.round(((w.timeToRestoreMs ?? 0) / 60_000) * 10) / 10 })),
  };
}

const CONFIG = {
  background: COLORS.background,
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  axis: {
    labelColor: COLORS.text,
    titleColor: COLORS.text,
    domainColor: COLORS.border,
    tickColor: COLORS.border,
    gridColor: '#e5e7eb',
    labelFontSize: 11,
    titleFontSize: 12,
  },
  legend: { labelColor: COLORS.text, titleColor: COLORS.text, labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
  view: { stroke: null },
};

type Spec = TopLevelSpec;

/** The Vega-Lite specifications of the four charts, over {@link chartData}. */
export function chartSpecs(data: ChartData, weeks: readonly string[]): Record<keyof ChartData, Spec> {
  const week = { field: 'week', type: 'ordinal' as const, title: 'week starting', sort: [...weeks], axis: { labelAngle: -45 } };
  const series = [...new Set(data.deploysPerWeek.map((r) => r.series))];
  return {
    deploysPerWeek: {
      config: CONFIG,
      width: Math.max(420, weeks.length * 26),
      height: 220,
      data: { values: data.deploysPerWeek as unknown as Record<string, unknown>[] },
      mark: { type: 'bar', stroke: COLORS.background, strokeWidth: 0.5 },
      encoding: {
        x: week,
        y: { field: 'deploys', type: 'quantitative', aggregate: 'sum', title: 'deploys' },
        color: { field: 'series', type: 'nominal', title: 'service', sort: series, scale: { domain: series, range: [...SERIES] } },
        order: { field: 'series', sort: 'ascending' },
      },
    },
    leadTimes: {
      config: CONFIG,
      width: 360,
      height: 200,
      data: { values: data.leadTimes as unknown as Record<string, unknown>[] },
      mark: { type: 'bar', color: SERIES[0] },
      encoding: {
        x: {
          field: 'range',
          type: 'ordinal',
          title: 'lead time (commit to production)',
          sort: data.leadTimes.map((r) => r.range),
          axis: { labelAngle: 0 },
        },
        y: { field: 'deploys', type: 'quantitative', title: 'deploys' },
      },
    },
    changeFailureRate: {
      config: CONFIG,
      width: Math.max(420, weeks.length * 26),
      height: 180,
      data: { values: data.changeFailureRate as unknown as Record<string, unknown>[] },
      mark: { type: 'line', point: { filled: true, color: SERIES[1] }, color: SERIES[1] },
      encoding: {
        x: week,
        y: { field: 'rate', type: 'quantitative', title: 'change failure rate', axis: { format: '.0%' }, scale: { domain: [0, 1] } },
      },
    },
    timeToRestore: {
      config: CONFIG,
      width: Math.max(420, weeks.length * 26),
      height: 180,
      data: { values: data.timeToRestore as unknown as Record<string, unknown>[] },
      mark: { type: 'line', point: { filled: true, color: SERIES[2] }, color: SERIES[2] },
      encoding: {
        x: week,
        y: { field: 'minutes', type: 'quantitative', title: 'median time to restore (min)' },
      },
    },
  };
}

/** Compiles a Vega-Lite spec and renders it to SVG in this process (no browser, no network: `loader` refuses). */
export async function renderSvg(spec: Spec): Promise<string> {
  // Loaded here, not at the top: every deploy command would otherwise pay ~0.5 s to load Vega.
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vl.compile(spec).spec;
  // Vega would only log a failed load and draw an empty chart: a spec that names a URL is refused here.
  if ((compiled.data ?? []).some((d) => 'url' in d)) throw new Error('the page loads nothing: a chart may only draw inline values');
  const refuse = () => Promise.reject(new Error('the page loads nothing'));
  const loader = { ...vega.loader(), load: refuse, sanitize: refuse, http: refuse, file: refuse } as unknown as Vega.Loader;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A duration of minutes as people read it, for tables. */
export const minutesText = (minutes: number) => formatDuration(minutes * 60_000);
