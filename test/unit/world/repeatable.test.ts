import { describe, expect, it } from 'vitest';
import type { LogLine, MetricSeries, Trace } from '../../../functions/core/tools/ports.ts';
import { logs, traces } from '../../../functions/core/world/signals.ts';
import { createWorld, metricSeries, snapshotAt, type WorldState } from '../../../functions/core/world/world.ts';
import { allScenarios, MINUTE, withoutFaults } from './helpers.ts';

const scenarios = allScenarios();
const byName = (name: string) => {
  const s = scenarios.find((x) => x.name === name);
  if (!s) throw new Error(`no scenario ${name}`);
  return s;
};

/** Wall-clock instants a world may be seeded at: mid-minute, late in a minute, and another day at another second. */
const SEEDED_AT = [new Date('2026-03-10T12:00:07.250Z'), new Date('2026-03-10T12:00:52.900Z'), new Date('2026-03-11T09:47:31.000Z')];

const anchor = (w: WorldState) => Date.parse(w.createdAt);
/** Epoch ms of `minutes` (and `seconds`) after the world's anchor. */
const rel = (w: WorldState, minutes: number, seconds = 0) => anchor(w) + minutes * MINUTE + seconds * 1000;
/** An ISO time as ms after the world's anchor. */
const since = (w: WorldState, iso: string) => Date.parse(iso) - anchor(w);

const relativeSeries = (w: WorldState, series: MetricSeries[]) => series.map((s) => ({ ...s, points: s.points.map((p) => ({ t: since(w, p.t), v: p.v })) }));
const relativeTraces = (w: WorldState, ts: Trace[]) => ts.map((t) => ({ ...t, startedAt: since(w, t.startedAt), spans: t.spans.map((s) => ({ ...s, startedAt: since(w, s.startedAt) })) }));
const relativeLogs = (w: WorldState, lines: LogLine[]) => lines.map((l) => ({ ...l, timestamp: since(w, l.timestamp) }));

describe('repeatable worlds', () => {
  it('anchors a new world on the whole UTC minute at or before now', () => {
    const s = byName('db-pool-exhaustion');
    expect(SEEDED_AT.map((now) => createWorld(s, { id: 'anchor', now }).createdAt)).toEqual(['2026-03-10T12:00:00.000Z', '2026-03-10T12:00:00.000Z', '2026-03-11T09:47:00.000Z']);
  });

  it('answers the same series, traces and logs for the same window relative to the anchor, whatever second it was seeded at', () => {
    for (const name of ['db-pool-exhaustion', 'memory-leak', 'bad-deploy-latency']) {
      const s = byName(name);
      const services = s.services.map((x) => x.name);
      const worlds = SEEDED_AT.map((now) => createWorld(s, { id: 'replay', now }));
      const answers = worlds.map((w) => ({
        // A window that ends mid-minute (its last point is the current value), a coarse one, traces and logs.
        fine: relativeSeries(w, metricSeries(w, { services, from: rel(w, -60), to: rel(w, 0, 23) })),
        coarse: relativeSeries(w, metricSeries(w, { services, from: rel(w, -180, 10), to: rel(w, 2), resolutionSeconds: 300 })),
        traces: relativeTraces(w, traces(w, { services: [services[0] as string], from: rel(w, -30), to: rel(w, 0, 23), limit: 20 })),
        logs: relativeLogs(w, logs(w, { services, from: rel(w, -20), to: rel(w, 0, 23), limit: 2000 })),
      }));
      expect(answers[0]?.fine[0]?.points.at(-1)?.t).toBe(23_000);
      expect(answers[0]?.logs.length).toBeGreaterThan(100);
      expect(answers[1], `${name}: seeded later in the same minute`).toEqual(answers[0]);
      expect(answers[2], `${name}: seeded another day at another second`).toEqual(answers[0]);
    }
  });

  it('shows the running minute as the current point, not the last grid minute a second time', () => {
    // A point is named by the end of its minute: at 12:07:20 the current value is the minute (12:07, 12:08] that the
    // grid point at 12:08 will show, not the minute (12:06, 12:07] the grid point at 12:07 already showed.
    const w = createWorld({ ...withoutFaults(byName('bad-deploy-latency')), load: [] }, { id: 'running', now: SEEDED_AT[0] as Date });
    const services = w.scenario.services.map((s) => s.name);
    let differs = 0;
    for (const minutes of [-30, -12, -1, 0, 7]) {
      const series = metricSeries(w, { services, metrics: ['latency_p99_ms'], from: rel(w, minutes - 2), to: rel(w, minutes, 20) });
      const next = metricSeries(w, { services, metrics: ['latency_p99_ms'], from: rel(w, minutes - 2), to: rel(w, minutes + 1) });
      series.forEach((s, i) => {
        const current = s.points.at(-1)?.v;
        expect(current, `${s.service} at minute ${minutes}:20`).toBe(next[i]?.points.at(-1)?.v);
        if (current !== s.points.at(-2)?.v) differs += 1;
      });
    }
    expect(differs).toBeGreaterThan(0);
  });

  it('gives a trace the same start whenever it is asked for, and no trace that starts after the end of the window', () => {
    const s = byName('db-pool-exhaustion');
    const w = createWorld(s, { id: 'trace-facts', now: SEEDED_AT[0] as Date });
    const starts = new Map<string, string>();
    let seenTwice = 0;
    // Windows ending every 5 seconds over two minutes: the newest slot's trace is asked for before and after it starts.
    for (let second = 0; second < 120; second += 5) {
      const to = rel(w, 5, second);
      for (const t of traces(w, { services: [s.alert.service], from: to - 10 * MINUTE, to, limit: 20 })) {
        expect(Date.parse(t.startedAt), `${t.traceId} asked up to ${new Date(to).toISOString()}`).toBeLessThanOrEqual(to);
        const before = starts.get(t.traceId);
        if (before !== undefined) {
          seenTwice += 1;
          expect(t.startedAt, `${t.traceId} asked up to ${new Date(to).toISOString()}`).toBe(before);
        }
        starts.set(t.traceId, t.startedAt);
      }
    }
    expect(seenTwice).toBeGreaterThan(100);
  });

  it('holds the healthy noise still within a minute, so a query seconds later in the same minute sees the same baseline', () => {
    const w = createWorld({ ...withoutFaults(byName('db-pool-exhaustion')), load: [] }, { id: 'still', now: SEEDED_AT[0] as Date });
    for (const minutes of [-37, -5, 0, 12]) {
      expect(snapshotAt(w, rel(w, minutes, 3)).services).toEqual(snapshotAt(w, rel(w, minutes, 58)).services);
    }
  });
});
