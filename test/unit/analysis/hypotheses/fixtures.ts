/**
 * Test fixture for the hypothesis families of causes that are not a change: synthetic minute series, failing
 * traces along a call path, log templates and changes, so each case states only its numbers. The clock runs from
 * 09:00 to 11:30 on one day; `at('10:55')` is a timestamp, `series(...)` one point a minute over that range.
 */
import type { Template } from '../../../../functions/core/analysis/hypotheses.ts';
import type { ChangeRequest, MetricSeries, Trace } from '../../../../functions/core/tools/ports.ts';

export const at = (hhmm: string) => `2026-05-20T${hhmm}:00.000Z`;
export const MINUTE = 60_000;
const START = Date.parse(at('09:00'));
/** Minutes since 09:00 of a clock time. */
export const m = (hhmm: string) => (Date.parse(at(hhmm)) - START) / MINUTE;

/** One point a minute from 09:00 to 11:30; `f` gets the minute since 09:00. A small deterministic wobble is added. */
export const series = (service: string, metric: string, f: (minute: number) => number, wobble = 0): MetricSeries => ({
  service,
  metric,
  unit: '',
  points: Array.from({ length: 151 }, (_, i) => ({ t: new Date(START + i * MINUTE).toISOString(), v: f(i) + wobble * Math.sin(i * 1.7) })),
});

/** A ramp: `from` until minute `a`, linear to `to` at minute `b`, then `to`. */
export const ramp = (from: number, to: number, a: number, b: number) => (x: number) => (x <= a ? from : x >= b ? to : from + ((to - from) * (x - a)) / (b - a));
/** A step from `from` to `to` at minute `a`. */
export const step = (from: number, to: number, a: number) => (x: number) => (x < a ? from : to);

/** `n` failing traces down `path` (the root first), failing from the first service to the last (its deepest failing span). */
export const failingTraces = (path: readonly string[], n = 4, error = 'failed', startedAt = at('11:05')): Trace[] =>
  Array.from({ length: n }, (_, i) => ({
    traceId: `t-${path.join('-')}-${i}`,
    rootService: path[0],
    startedAt,
    totalMs: 900,
    status: 'ERROR',
    spans: path.map((service, k) => ({
      spanId: `s${k}`,
      ...(k > 0 ? { parentSpanId: `s${k - 1}` } : {}),
      service,
      operation: `op-${service}`,
      startedAt,
      durationMs: 900 - k * 10,
      status: 'ERROR' as const,
      ...(k === path.length - 1 ? { error } : {}),
    })),
  }));

export const template = (service: string, text: string, novel = true, count = 120): Template => ({
  id: `tpl-${service}-${text.length}`,
  template: text,
  service,
  level: 'ERROR',
  count,
  firstSeen: at('11:00'),
  lastSeen: at('11:25'),
  novel,
  evidenceIds: [`log:${service}:${text.length}`],
});

export const change = (id: string, service: string, deployedAt: string, fields: Partial<ChangeRequest> = {}): ChangeRequest => ({
  id,
  service,
  type: 'deploy',
  title: `Release ${service}`,
  description: 'routine release',
  deployedAt,
  state: 'implemented',
  version: { from: '1.4.0', to: '1.5.0' },
  ...fields,
});
