/**
 * How much metric history a diagnosis needs, judged from what the telemetry returned.
 *
 * The impact agent first reads the usual incident window (an hour of baseline at one-minute points). That is
 * plenty at one-minute resolution and far too little where points are coarse (X-Ray and CloudWatch at five
 * minutes: twelve points) or where the only healthy history was recorded long before (a recorded incident whose
 * baseline is a normal period weeks earlier). So, from the first answer:
 *
 * - the resolution is the median spacing of the points (gaps are missing points, not a coarser grid);
 * - the baseline coverage is the median, over the series that have points, of how many finite points lie before
 *   the baseline's end;
 * - when coverage is below `MIN_BASELINE_POINTS`, or the points are coarser than a minute, the agent asks for
 *   `WANTED_BASELINE_POINTS` points' worth of history before the window (a day at five minutes, at least
 *   `MIN_LOOKBACK_HOURS`); if that still leaves the coverage short, once more as far back as `MAX_HISTORY_DAYS`
 *   (whatever healthy history exists before the onset).
 *
 * Pure functions: the agent does the queries.
 */
import type { MetricSeries } from '../tools/ports.ts';
import { median } from './metrics.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** Fewer finite baseline points than this per series (median over series) is too little history. */
export const MIN_BASELINE_POINTS = 24;
/** How many points of history to ask for when the window's own baseline is short. */
export const WANTED_BASELINE_POINTS = 288;
/** The shortest extra history asked for (a few hours smooth over a lull or a burst). */
export const MIN_LOOKBACK_HOURS = 6;
/** The furthest back a diagnosis looks for healthy history. */
export const MAX_HISTORY_DAYS = 30;
/** Points at or finer than this are "fine": the usual window then holds enough baseline. */
export const FINE_RESOLUTION_MS = MINUTE_MS;

/** The resolution of a set of series: the median spacing between consecutive points of each (one minute if none). */
export const seriesResolutionMs = (series: readonly MetricSeries[]): number => {
  const steps: number[] = [];
  for (const s of series) {
    let previous = Number.NaN;
    for (const p of s.points) {
      const t = Date.parse(p.t);
      if (t > previous) steps.push(t - previous);
      if (Number.isFinite(t)) previous = t;
    }
  }
  return steps.length > 0 ? median(steps) : MINUTE_MS;
};

/** Median over the series with points of how many finite points lie before `baselineEnd`. */
export const baselineCoverage = (series: readonly MetricSeries[], baselineEnd: string): number => {
  const end = Date.parse(baselineEnd);
  const counts = series.filter((s) => s.points.length > 0).map((s) => s.points.filter((p) => Date.parse(p.t) < end && Number.isFinite(p.v)).length);
  return counts.length > 0 ? median(counts) : 0;
};

export interface HistoryRequest {
  readonly from: string;
  readonly to: string;
  /** The resolution to ask for: the series' own, so baseline and window are compared point for point. */
  readonly resolutionSeconds: number;
}

/**
 * The extra history to ask for, or undefined when the series already hold enough: `step` 1 asks for about
 * `WANTED_BASELINE_POINTS` points before `from`; step 2 (after step 1 fell short) everything up to
 * `MAX_HISTORY_DAYS` before the baseline's end that step 1 did not cover.
 */
export const historyRequest = (series: readonly MetricSeries[], window: { readonly from: string; readonly baselineEnd: string }, step: 1 | 2): HistoryRequest | undefined => {
  const resolution = seriesResolutionMs(series);
  const coverage = baselineCoverage(series, window.baselineEnd);
  if (series.length === 0) return undefined;
  if (step === 1 && coverage >= MIN_BASELINE_POINTS && resolution <= FINE_RESOLUTION_MS) return undefined;
  if (step === 2 && coverage >= MIN_BASELINE_POINTS) return undefined;
  const from = Date.parse(window.from);
  const end = Date.parse(window.baselineEnd);
  const near = end - Math.max(MIN_LOOKBACK_HOURS * HOUR_MS, WANTED_BASELINE_POINTS * resolution);
  const far = end - MAX_HISTORY_DAYS * 24 * HOUR_MS;
  const [start, stop] = step === 1 ? [near, from] : [far, Math.min(near, from)];
  if (!(stop > start)) return undefined;
  return { from: new Date(start).toISOString(), to: new Date(stop).toISOString(), resolutionSeconds: Math.max(1, Math.round(resolution / 1000)) };
};

/** The series of `later` with the points of `earlier` (same service and metric) before them, one point per time. */
export const withHistory = (earlier: readonly MetricSeries[], later: readonly MetricSeries[]): MetricSeries[] => {
  const key = (s: MetricSeries) => `${s.service}\u0000${s.metric}`;
  const before = new Map<string, MetricSeries>();
  for (const s of earlier) before.set(key(s), s);
  const merged = later.map((s) => {
    const old = before.get(key(s));
    before.delete(key(s));
    if (!old || old.points.length === 0) return s;
    const seen = new Set(s.points.map((p) => Date.parse(p.t)));
    const points = [...old.points.filter((p) => !seen.has(Date.parse(p.t))), ...s.points].sort((a, b) => Date.parse(a.t) - Date.parse(b.t));
    return { ...s, points };
  });
  // A series with history but no point in the window is kept: its history still says what normal was.
  return [...merged, ...before.values()];
};

/**
 * The "k of the last n points" rule that makes an anomaly sustained, for a resolution: about five minutes of
 * points (at least three), of which 60 % beyond the threshold; the current level is the median of the last
 * min(3, n − 1). At one minute this is metrics.ts's default (3 of 5, median of 3); at five minutes, 2 of 3.
 */
export const sustainedRule = (resolutionMs: number): { readonly k: number; readonly n: number; readonly currentPoints: number } => {
  const n = Math.max(3, Math.round((5 * MINUTE_MS) / Math.max(1, resolutionMs)));
  return { n, k: Math.ceil(0.6 * n), currentPoints: Math.min(3, n - 1) };
};
