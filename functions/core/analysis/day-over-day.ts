/**
 * The same window a day earlier, as the baseline of last resort. A level that has been creeping up for a day (a leak
 * deployed yesterday: memory, and the GC pauses it brings) cooks the incident window's own baseline — the hour before
 * the alert is already bad — so the usual level and trend tests see nothing while the alert fires. Compared with the
 * same minutes yesterday (the daily shape cancels out), it stands out. The impact agent asks for it only when the
 * usual tests found no degradation at all.
 *
 * A series degraded day over day: its current level (median of the last `CURRENT_POINTS` points) is at least
 * `MIN_Z` robust deviations (1.4826 × MAD of yesterday's window, floored at `SCALE_FLOOR` of its median) and
 * `MIN_CHANGE` relatively from yesterday's median, in the direction that is worse for the metric — for a latency,
 * an error rate (also by `MIN_ERROR_POINTS` points), a saturation or a resource; not for throughput or revenue,
 * whose day-to-day swings are business, not faults.
 */
import type { MetricSeries } from '../tools/ports.ts';
import { median } from './metrics.ts';

const CURRENT_POINTS = 5;
export const MIN_Z = 8;
export const MIN_CHANGE = 0.3;
const MIN_ERROR_POINTS = 1;
const SCALE_FLOOR = 0.02;
const DAY_MS = 86_400_000;

export interface DayOverDay {
  readonly service: string;
  readonly metric: string;
  readonly yesterday: number;
  readonly current: number;
  readonly z: number;
  readonly relative: number;
  readonly direction: 'up' | 'down';
}

/** The query window a day before `[from, to]`. */
export const dayBefore = (from: string, to: string): { from: string; to: string } => ({
  from: new Date(Date.parse(from) - DAY_MS).toISOString(),
  to: new Date(Date.parse(to) - DAY_MS).toISOString(),
});

/**
 * Today's series against yesterday's (same service and metric): the degradation, if it is one. `worse` says which
 * way is worse for the metric and which kinds of metric are judged (see the header).
 */
export const dayOverDay = (today: MetricSeries, yesterday: MetricSeries, worse: (metric: string) => { kind: string; bad: 'up' | 'down' | 'both' }): DayOverDay | undefined => {
  const { kind, bad } = worse(today.metric);
  if (!['latency', 'errors', 'saturation', 'resource'].includes(kind)) return undefined;
  const now = today.points.map((p) => p.v).filter(Number.isFinite).slice(-CURRENT_POINTS);
  const before = yesterday.points.map((p) => p.v).filter(Number.isFinite);
  if (now.length < 3 || before.length < 10) return undefined;
  const current = median(now);
  const base = median(before);
  const mad = median(before.map((v) => Math.abs(v - base)));
  const scale = Math.max(1.4826 * mad, SCALE_FLOOR * Math.abs(base), Number.EPSILON);
  const z = (current - base) / scale;
  const direction = z >= 0 ? 'up' : 'down';
  if (bad !== 'both' && bad !== direction) return undefined;
  const relative = base === 0 ? Number.POSITIVE_INFINITY : current / base - 1;
  if (Math.abs(z) < MIN_Z || Math.abs(relative) < MIN_CHANGE) return undefined;
  if (kind === 'errors' && Math.abs(current - base) < MIN_ERROR_POINTS) return undefined;
  return { service: today.service, metric: today.metric, yesterday: base, current, z, relative, direction };
};
