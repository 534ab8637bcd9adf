/**
 * Levels that accumulate — a leak's heap, leaked file descriptors, a filling disk — can have started climbing long
 * before any usual look-back (a release yesterday that never frees a buffer). Where one is already climbing as its
 * series begin, the question "what started it?" needs the level further back and the changes of that time: the
 * root-cause agent then reads a coarse history of it (`HISTORY_LOOKBACK_HOURS` at `HISTORY_RESOLUTION_SECONDS`)
 * and that service's changes over the same span, and the families date the climb in it (`climbBegan`).
 */
import { METRICS, type MetricSeries } from '../../tools/ports.ts';
import { median } from '../metrics.ts';
import { MINUTE_MS, type World, growthOf, historyOf, trendTau } from './evidence.ts';
import { RESOURCE_METRICS, STARTED_AT_DEPLOY_MINUTES, riseStart } from './resource-evidence.ts';

/** How far back a climbing level is read, and how coarsely. Two days: a release from the day before yesterday. */
export const HISTORY_LOOKBACK_HOURS = 48;
export const HISTORY_RESOLUTION_SECONDS = 300;
/** At most this many histories an incident (the climbing levels of the services read, first ones first). */
export const MAX_HISTORIES = 4;

/** The levels that accumulate: a climb in one is a story that starts where the climb starts. */
export const ACCUMULATING_METRICS: readonly string[] = [METRICS.memory, RESOURCE_METRICS.openFds, RESOURCE_METRICS.diskUsedPct];

/** Already climbing at the first point: steady (Kendall's τ) from there to the onset, by at least this much. */
const CLIMBING_TAU = 0.6;
const CLIMBING_GROWTH = 1.02;
/** ...over at least this many readings (an hour at one-minute points). */
const CLIMBING_MIN_POINTS = 60;

/**
 * The series (of `ACCUMULATING_METRICS`) that climb steadily from their first point to the onset, or whose climb
 * began at their very start: their beginning is not in them.
 */
export const climbingFromTheStart = (series: readonly MetricSeries[], onsetMs: number): MetricSeries[] =>
  series.filter((s) => {
    if (!ACCUMULATING_METRICS.includes(s.metric)) return false;
    const points = s.points.filter((p) => Number.isNaN(onsetMs) || Date.parse(p.t) <= onsetMs);
    if (points.length < CLIMBING_MIN_POINTS) return false;
    const v = points.map((p) => p.v);
    return (trendTau(v) >= CLIMBING_TAU && growthOf(v) >= CLIMBING_GROWTH) || riseStart({ ...s, points }, Date.parse(points[points.length - 1].t)) === 'before-series';
  });

/** How far off a start dated from a history may be, as a share of the climb's duration. */
const DATING_SHARE = 0.1;

/** Median spacing of a series' points (ms); a minute for fewer than two. */
const stepOf = (s: MetricSeries): number => {
  const gaps = s.points.slice(1).map((p, i) => Date.parse(p.t) - Date.parse(s.points[i].t)).filter((g) => g > 0);
  return gaps.length === 0 ? MINUTE_MS : median(gaps);
};

/**
 * When the climb of `service`'s `metric` that peaks at `peakAt` began: `fine` (the series read for the incident)
 * says so when it holds the start; when the history (read because the level was already climbing where `fine`
 * begins) puts the start earlier than `fine` can see — before its first point, or before the knee that noise on a
 * slow climb makes `fine` report — the history does, at its coarser grain. With how far a deploy may be from that
 * start and still be where it began (`STARTED_AT_DEPLOY_MINUTES`, or two history points when those are coarser),
 * and the history when it dated the start.
 */
export const climbBegan = (
  w: World,
  service: string,
  metric: string,
  fine: MetricSeries | undefined,
  peakAt: number,
): {
  at: number | 'before-series' | undefined;
  toleranceMs: number;
  /** The history, and its readings from the start it dated to the peak, when it dated the start. */
  history?: MetricSeries;
  climb?: number[];
} => {
  const at = riseStart(fine, peakAt);
  const within = STARTED_AT_DEPLOY_MINUTES * MINUTE_MS;
  const history = historyOf(w, service, metric);
  if (!history) return { at, toleranceMs: within };
  const step = stepOf(history);
  const earlier = riseStart(history, peakAt);
  const fineStart = fine && fine.points.length > 0 ? Date.parse(fine.points[0].t) : Number.NaN;
  // The history dates it when `fine` cannot (no start of its own), or puts it clearly earlier and not well inside
  // `fine` (where `fine`'s own, finer dating is the better one).
  if (typeof earlier === 'number' && (typeof at !== 'number' || (earlier < at - 2 * step && earlier < fineStart + 2 * step))) {
    const climb = history.points.filter((p) => Date.parse(p.t) >= earlier && Date.parse(p.t) <= peakAt).map((p) => p.v);
    // riseStart finds the start to within about 5 % of the climb (the level must clear the noise): a day-long climb is
    // dated to within the hour.
    return { at: earlier, toleranceMs: Math.max(within, 2 * step, DATING_SHARE * (peakAt - earlier)), history, climb };
  }
  return { at, toleranceMs: within };
};
