/**
 * A metric series as an agent read it, kept compactly in its evidence (`data.readings`), so `autopilot export` can
 * write what the agents saw as a recording (recorded/export.ts) and a real incident becomes a regression test.
 *
 * `{ t0, t, v }`: the first point's time, then the seconds since `t0` and the values (five significant digits, which
 * keeps every figure the analysis prints), each as one comma-separated string. Strings, not number lists, because
 * the record goes through DynamoDB: a list is one typed attribute per point, which the SDK marshals, the store
 * parses and every later agent reading the impact record unmarshals again (a quarter of an incident's CPU on the
 * bench); a string is one attribute. About ten bytes a point: a 75-minute window at one-minute points is about
 * 1.4 KB a series. Missing points are simply absent, as the tools return them. Older records kept `t` and `v` as
 * number lists; `fromReadings` reads both.
 */

import type { Trace } from '../tools/ports.ts';

export interface Readings {
  readonly t0: string;
  /** Seconds since `t0`, one per point, ascending, comma-separated. */
  readonly t: string;
  /** The values, one per point, comma-separated. */
  readonly v: string;
}

/** Points beyond this are not kept (a series that long was not a one-incident read). */
export const MAX_READINGS = 2_000;

const significant = (x: number): number => (x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(5)));

/** The readings of a series' points; undefined for an empty or too long series, or one with a bad time. */
export const toReadings = (points: readonly { readonly t: string; readonly v: number }[]): Readings | undefined => {
  if (points.length === 0 || points.length > MAX_READINGS) return undefined;
  const t0 = Date.parse(points[0]!.t);
  if (Number.isNaN(t0)) return undefined;
  const t: number[] = [];
  const v: number[] = [];
  for (const p of points) {
    const at = Date.parse(p.t);
    if (Number.isNaN(at) || !Number.isFinite(p.v)) continue;
    t.push(Math.round((at - t0) / 1000));
    v.push(significant(p.v));
  }
  return { t0: new Date(t0).toISOString(), t: t.join(','), v: v.join(',') };
};

/** A comma-separated list of numbers (or, from an older record, a list), or undefined when any entry is not one. */
const numbers = (value: unknown): unknown[] | undefined => {
  if (Array.isArray(value)) return value;
  if (typeof value !== 'string') return undefined;
  if (value === '') return [];
  return value.split(',').map((s) => (s.trim() === '' ? Number.NaN : Number(s)));
};

/** The points (epoch ms, value) of kept readings, or undefined when `value` is not readings. */
export const fromReadings = (value: unknown): { readonly at: number; readonly v: number }[] | undefined => {
  if (!value || typeof value !== 'object') return undefined;
  const r = value as { t0?: unknown; t?: unknown; v?: unknown };
  const ts = numbers(r.t);
  const vs = numbers(r.v);
  if (typeof r.t0 !== 'string' || !ts || !vs || ts.length !== vs.length) return undefined;
  const t0 = Date.parse(r.t0);
  if (Number.isNaN(t0)) return undefined;
  const out: { at: number; v: number }[] = [];
  for (let i = 0; i < ts.length; i++) {
    const dt = ts[i];
    const v = vs[i];
    if (typeof dt !== 'number' || typeof v !== 'number' || !Number.isFinite(dt) || !Number.isFinite(v)) return undefined;
    out.push({ at: t0 + dt * 1000, v });
  }
  return out;
};

/**
 * What an agent keeps of a trace (its evidence's `data`) so that `autopilot export` can write it back (`tracesOf` in
 * recorded/export.ts): its root, start, status and duration and the services its failures end in (`failingLeaves`),
 * all the analysis reads of a trace. One shape for every agent that keeps traces (impact, root cause).
 */
export const traceRecord = (t: Pick<Trace, 'traceId' | 'rootService' | 'startedAt' | 'status' | 'totalMs'>, failingLeaves: readonly string[]) => ({
  traceId: t.traceId,
  rootService: t.rootService,
  startedAt: t.startedAt,
  status: t.status,
  totalMs: t.totalMs,
  failingLeaves,
});
