import { describe, expect, it } from 'vitest';
import { METRICS } from '../../../functions/core/tools/ports.ts';
import { applyAction, createWorld, InvalidWorldId, metricSeries, snapshotAt, type WorldState } from '../../../functions/core/world/world.ts';
import { logs, traces } from '../../../functions/core/world/signals.ts';
import { allScenarios, incidentStart, MINUTE, NOW, unrelatedChange, withoutFaults, withoutIncident } from './helpers.ts';

const at = (minutes: number) => NOW.getTime() + minutes * MINUTE;
const scenarios = allScenarios();
const byName = (name: string) => {
  const s = scenarios.find((x) => x.name === name);
  if (!s) throw new Error(`no scenario ${name}`);
  return s;
};

/** Largest relative difference between two services' metrics (latency, errors in points, memory, throughput). */
const divergence = (a: WorldState, b: WorldState, service: string, t: number): number => {
  const va = snapshotAt(a, t).services.get(service)?.values ?? {};
  const vb = snapshotAt(b, t).services.get(service)?.values ?? {};
  return Math.max(
    Math.abs(va.latency_p99_ms - vb.latency_p99_ms) / vb.latency_p99_ms,
    Math.abs(va.error_rate_pct - vb.error_rate_pct) / Math.max(1, vb.error_rate_pct),
    Math.abs(va.memory_mb - vb.memory_mb) / Math.max(1, vb.memory_mb),
    Math.abs(va.throughput_rps - vb.throughput_rps) / Math.max(1, vb.throughput_rps),
  );
};
const incidents = scenarios.filter((s) => s.expect.rootCause !== null);

describe('createWorld', () => {
  it('anchors the scenario at now with no actions, and rejects an id unfit for keys and tags', () => {
    const w = createWorld(scenarios[0], { id: 'w-1', now: NOW });
    expect(w).toMatchObject({ id: 'w-1', createdAt: NOW.toISOString(), actions: [], incidents: [] });
    expect(() => createWorld(scenarios[0], { id: 'bad,id', now: NOW })).toThrow(InvalidWorldId);
  });
});

describe('world metrics', () => {
  it('are deterministic for the same world id and differ for another id', () => {
    const s = byName('db-pool-exhaustion');
    const q = { services: ['inventory-service'], from: at(-60), to: at(0) };
    const a = metricSeries(createWorld(s, { id: 'same', now: NOW }), q);
    const b = metricSeries(createWorld(s, { id: 'same', now: NOW }), q);
    const c = metricSeries(createWorld(s, { id: 'other', now: NOW }), q);
    expect(a).toEqual(b);
    expect(JSON.stringify(a)).not.toEqual(JSON.stringify(c));
  });

  it('averages the minutes a coarse point covers, and gives the instant value at an off-grid end', () => {
    const w = createWorld(byName('memory-leak'), { id: 'coarse', now: NOW });
    const to = at(0) - 20_000;
    const series = metricSeries(w, { services: ['session-service', 'nope'], metrics: [METRICS.memory, METRICS.latencyP99, METRICS.activeUsers], from: at(-60), to, resolutionSeconds: 300 });
    expect(series.map((x) => x.metric)).toEqual([METRICS.memory, METRICS.latencyP99]);
    for (const { metric, points } of series) {
      expect(points).toHaveLength(13);
      points.slice(0, -1).forEach((p, i) => {
        const t = at(-60) + i * 5 * MINUTE;
        const minutes = Array.from({ length: 5 }, (_, k) => snapshotAt(w, t - k * MINUTE).services.get('session-service')?.values[metric] ?? NaN);
        expect(p.t).toBe(new Date(t).toISOString());
        expect(p.v).toBe(Math.round((minutes.reduce((a, b) => a + b, 0) / 5) * 1000) / 1000);
      });
      expect(points.at(-1)).toEqual({ t: new Date(to).toISOString(), v: Math.round((snapshotAt(w, to).services.get('session-service')?.values[metric] ?? NaN) * 1000) / 1000 });
    }
  });

  it('returns one point a minute on the aligned grid plus the current point', () => {
    const w = createWorld(byName('error-rate'), { id: 'grid', now: new Date(NOW.getTime() + 25_000) });
    const [series] = metricSeries(w, { services: ['order-service'], metrics: [METRICS.errorRate], from: at(-10), to: at(0) + 25_000 });
    expect(series.points).toHaveLength(12);
    expect(series.points.at(-1)?.t).toBe(new Date(at(0) + 25_000).toISOString());
    expect(series.unit).toBe('percent');
  });

  for (const s of incidents) {
    it(`${s.name}: the incident is invisible before it starts and clear after (alert and faulty services included)`, () => {
      // Prepare: the same world without the incident shares topology, load and noise, so any difference is the incident.
      const faulty = createWorld(s, { id: `anomaly-${s.name}`, now: NOW });
      const healthy = createWorld(withoutIncident(s), { id: `anomaly-${s.name}`, now: NOW });
      // Assess: identical before it starts, clearly apart at the alert.
      for (const svc of s.services) expect(divergence(faulty, healthy, svc.name, at(incidentStart(s) - 2)), svc.name).toBe(0);
      for (const service of new Set([s.alert.service, ...s.faults.map((f) => f.service)])) expect(divergence(faulty, healthy, service, at(0)), service).toBeGreaterThan(0.3);
    });
  }

  it('has realistic baseline noise: non-negative, a few percent of variation, centred near the baseline', () => {
    for (const s of scenarios) {
      const w = createWorld({ ...withoutFaults(s), load: [] }, { id: `noise-${s.name}`, now: NOW });
      const series = metricSeries(w, { services: s.services.map((x) => x.name), from: at(-180), to: at(0) });
      for (const ser of series) {
        const values = ser.points.map((p) => p.v);
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
        const label = `${s.name} ${ser.service} ${ser.metric}`;
        expect(Math.min(...values), label).toBeGreaterThanOrEqual(0);
        if (mean === 0) continue;
        const spec = s.services.find((x) => x.name === ser.service);
        const baseline = (spec?.baseline as Record<string, number | undefined>)[ser.metric];
        if (ser.metric === METRICS.dbPoolMax) {
          expect(sd, label).toBe(0);
          continue;
        }
        // Whole connections take few distinct values (a pool of ~5 moves between two or three); everything else varies minute to minute.
        const coarse = ser.metric === METRICS.dbPoolActive || ser.metric === METRICS.errorRate;
        expect(new Set(values).size, `${label} should vary`).toBeGreaterThan(coarse ? 1 : values.length / 10);
        if (ser.metric === METRICS.errorRate) continue; // tiny rates are relatively noisy, by nature
        expect(sd / mean, label).toBeLessThan(0.3);
        if (baseline !== undefined && ser.metric !== METRICS.dbPoolActive) expect(Math.abs(mean / baseline - 1), label).toBeLessThan(0.2);
      }
    }
  });

  it('keeps the pool at most at its maximum and pinned there in the pool-exhaustion scenario', () => {
    const w = createWorld(byName('db-pool-exhaustion'), { id: 'pool', now: NOW });
    const [active, max] = metricSeries(w, { services: ['inventory-service'], metrics: [METRICS.dbPoolActive, METRICS.dbPoolMax], from: at(-10), to: at(0) });
    active.points.forEach((p, i) => expect(p.v).toBeLessThanOrEqual(max.points[i].v));
    expect(active.points.at(-1)?.v).toBe(10);
    expect(max.points.at(-1)?.v).toBe(10);
    expect(max.points[0].v).toBe(10);
    const [before] = metricSeries(w, { services: ['inventory-service'], metrics: [METRICS.dbPoolMax], from: at(-25), to: at(-20) });
    expect(before.points.every((p) => p.v === 20)).toBe(true);
  });
});

describe('mitigations', () => {
  const lagMinutes = 90 / 60;

  /** After the fix a service is back: errors within half a point of its healthy twin, latency within `tolerance`. */
  const recovered = (a: WorldState, twin: WorldState, service: string, t: number, tolerance: number) => {
    const va = snapshotAt(a, t).services.get(service)?.values ?? {};
    const vb = snapshotAt(twin, t).services.get(service)?.values ?? {};
    return va.error_rate_pct - vb.error_rate_pct < 0.5 && va.latency_p99_ms / vb.latency_p99_ms < 1 + tolerance && Math.abs(va.memory_mb - vb.memory_mb) <= 0.05 * vb.memory_mb;
  };

  for (const s of incidents) {
    const rc = s.expect.rootCause as NonNullable<typeof s.expect.rootCause>;
    it(`${s.name}: the expected mitigation restores the metrics after the lag; the past stays as it was`, () => {
      // Prepare
      const id = `fix-${s.name}`;
      const world = createWorld(s, { id, now: NOW });
      const healthy = createWorld(withoutIncident(s), { id, now: NOW });
      const m = s.expect.mitigation;
      // Act
      const { state, result } = applyAction(world, { kind: m.kind, service: m.service ?? rc.service, target: m.target, incidentId: 'i-1' }, NOW);
      // Assess
      expect(result.status).toBe('succeeded');
      for (const svc of s.services) expect(divergence(state, world, svc.name, at(-1)), svc.name).toBe(0);
      expect(divergence(state, healthy, s.alert.service, at(0))).toBeGreaterThan(0.3);
      // Added capacity serves the surge, a little slower than no surge at all; anything else is as if nothing happened.
      const tolerance = s.faults.length === 0 ? 0.25 : 0.05;
      for (const svc of s.services) expect(recovered(state, healthy, svc.name, at(lagMinutes + 1), tolerance), svc.name).toBe(true);
    });

    it(`${s.name}: a wrong mitigation (an unrelated rollback, or a restart when there is none) is recorded but fixes nothing`, () => {
      const world = createWorld(s, { id: `herring-${s.name}`, now: NOW });
      const herring = unrelatedChange(s);
      const wrong = herring
        ? { kind: 'rollback-change' as const, service: herring.service, target: herring.id }
        : { kind: 'restart-service' as const, service: rc.service };
      const { state, result } = applyAction(world, wrong, NOW);
      expect(result.status).toBe('succeeded');
      expect(state.actions).toHaveLength(1);
      for (const svc of s.services) expect(divergence(state, world, svc.name, at(lagMinutes + 5)), svc.name).toBe(0);
    });
  }

  it('fails a rollback of a change that does not exist, or of another service, with a clear detail', () => {
    const world = createWorld(byName('db-pool-exhaustion'), { id: 'nochange', now: NOW });
    expect(applyAction(world, { kind: 'rollback-change', service: 'inventory-service', target: 'CR9999' }, NOW).result).toEqual({
      status: 'failed',
      detail: 'change CR9999 does not exist in environment nochange',
    });
    expect(applyAction(world, { kind: 'rollback-change', service: 'cart-service', target: 'CR2077' }, NOW).result.detail).toMatch(/made to inventory-service, not cart-service/);
    expect(applyAction(world, { kind: 'restart-service', service: 'ghost' }, NOW).result).toMatchObject({ status: 'failed', detail: expect.stringMatching(/service ghost does not exist/) });
  });

  it('fails a config revert or flag toggle (either direction) with no such change, naming what it looked for', () => {
    const world = createWorld(byName('db-pool-exhaustion'), { id: 'nochange', now: NOW });
    const detail = (a: Parameters<typeof applyAction>[1]) => applyAction(world, a, NOW).result;
    expect(detail({ kind: 'revert-config', service: 'cart-service', target: 'timeout-ms' })).toEqual({ status: 'failed', detail: 'no config change of timeout-ms was made to cart-service in environment nochange' });
    expect(detail({ kind: 'revert-config', service: 'cart-service', undo: true })).toEqual({ status: 'failed', detail: 'no config change was made to cart-service in environment nochange' });
    expect(detail({ kind: 'toggle-feature-flag', service: 'cart-service', target: 'new-cart' })).toEqual({ status: 'failed', detail: 'no feature flag new-cart was changed on cart-service in environment nochange' });
    expect(detail({ kind: 'toggle-feature-flag', service: 'cart-service', undo: true })).toEqual({ status: 'failed', detail: 'no feature flag was changed on cart-service in environment nochange' });
  });

  it('a config revert undoes the change the plan named (params.changeId), and its inverse re-applies that same change', () => {
    // Two changes to the same parameter: the culprit CR3391 (20 → 60), then a later, harmless CR3399 (60 → 40).
    const s = byName('config-pool-too-many-clients');
    const culprit = s.changes.find((c) => c.id === 'CR3391')!;
    const later = { ...culprit, id: 'CR3399', deployedAt: -3, configChange: { param: 'maximum-pool-size', old: '60', new: '40' } };
    const world = createWorld({ ...s, changes: [...s.changes, later] }, { id: 'same-param', now: NOW });
    const revert = { kind: 'revert-config', service: 'account-service', target: 'maximum-pool-size', params: { changeId: 'CR3391' }, incidentId: 'i-1' } as const;
    const forward = applyAction(world, revert, NOW);
    expect(forward.record).toMatchObject({ status: 'succeeded', changeId: 'CR3391' });
    const back = applyAction(forward.state, { ...revert, undo: true }, new Date(at(1)));
    expect(back.record).toMatchObject({ status: 'succeeded', reappliedChangeId: 'CR3391' });
    // Without a named change, the newest change to the parameter is the one reverted.
    expect(applyAction(world, { ...revert, params: {} }, NOW).record).toMatchObject({ status: 'succeeded', changeId: 'CR3399' });
  });

  it('treats a repeated action as an idempotent no-op', () => {
    const world = createWorld(byName('error-rate'), { id: 'repeat', now: NOW });
    const first = applyAction(world, { kind: 'rollback-change', service: 'order-service', target: 'CHG-7731', incidentId: 'i-1' }, NOW);
    const again = applyAction(first.state, { kind: 'rollback-change', service: 'order-service', target: 'CHG-7731', incidentId: 'i-1' }, NOW);
    expect(again.record).toBeUndefined();
    expect(again.result.status).toBe('succeeded');
    expect(again.state.actions).toHaveLength(1);
  });

  it('treats a repeated scale with the same parameters as a no-op, and a different factor or one after an undo as new', () => {
    const world = createWorld(byName('db-pool-exhaustion'), { id: 'repeat-scale', now: NOW });
    const scale = { kind: 'scale-service', service: 'inventory-service', params: { factor: 2 }, incidentId: 'i-1' } as const;
    const first = applyAction(world, scale, NOW);
    // A duplicate run of the executor asks again: ×2 stays ×2, not ×4.
    const again = applyAction(first.state, scale, NOW);
    expect(again.record).toBeUndefined();
    expect(again.result.detail).toMatch(/^already applied at /);
    const more = applyAction(first.state, { ...scale, params: { factor: 3 } }, NOW);
    expect(more.record).toMatchObject({ status: 'succeeded', factor: 3 });
    const scaleIn = { ...scale, params: { factor: 0.5 }, undo: true };
    const undone = applyAction(first.state, scaleIn, NOW);
    expect(undone.record).toMatchObject({ status: 'succeeded', undo: true });
    expect(applyAction(undone.state, scaleIn, NOW).record).toBeUndefined();
    expect(applyAction(undone.state, scale, NOW).record).toMatchObject({ status: 'succeeded', factor: 2 });
  });

  it('undoes two scale-outs in turn: a scale-in with another factor is a new step, not a repeat of the first scale-in', () => {
    const world = createWorld(byName('db-pool-exhaustion'), { id: 'undo-two-scales', now: NOW });
    const scale = (factor: number, undo = false) => ({ kind: 'scale-service', service: 'inventory-service', params: { factor }, incidentId: 'i-1', ...(undo ? { undo } : {}) }) as const;
    let state = world;
    for (const step of [scale(2), scale(3), scale(1 / 3, true), scale(1 / 2, true)]) {
      const applied = applyAction(state, step, NOW);
      expect(applied.record, `scale ×${step.params.factor}${step.undo ? ' (undo)' : ''}`).toMatchObject({ status: 'succeeded', factor: step.params.factor });
      state = applied.state;
    }
    // Back to the capacity before both scale-outs.
    expect(state.actions.reduce((f, a) => f * (a.factor as number), 1)).toBeCloseTo(1, 12);
    // A duplicate run of the last scale-in is still a repeat.
    expect(applyAction(state, scale(1 / 2, true), NOW).record).toBeUndefined();
  });

  it('scaling out relieves a saturated connection pool but not a slow query from a bad deploy', () => {
    const pool = createWorld(byName('db-pool-exhaustion'), { id: 'scale', now: NOW });
    const scaledPool = applyAction(pool, { kind: 'scale-service', service: 'inventory-service', params: { replicas: 6 } }, NOW).state;
    const errors = (w: WorldState, svc: string) => snapshotAt(w, at(5)).services.get(svc)?.values.error_rate_pct ?? NaN;
    expect(errors(pool, 'inventory-service')).toBeGreaterThan(15);
    expect(errors(scaledPool, 'inventory-service')).toBeLessThan(1);

    const deploy = createWorld(byName('bad-deploy-latency'), { id: 'scale', now: NOW });
    const scaledDeploy = applyAction(deploy, { kind: 'scale-service', service: 'product-catalog', params: { factor: 2 } }, NOW).state;
    const latency = (w: WorldState) => snapshotAt(w, at(5)).services.get('product-catalog')?.values.latency_p99_ms ?? NaN;
    expect(latency(scaledDeploy)).toBeGreaterThan(0.8 * latency(deploy));
  });

  it('a restart resets a memory leak, which then grows again', () => {
    const world = createWorld(byName('memory-leak'), { id: 'restart', now: NOW });
    const restarted = applyAction(world, { kind: 'restart-service', service: 'session-service' }, NOW).state;
    const memory = (w: WorldState, m: number) => snapshotAt(w, at(m)).services.get('session-service')?.values.memory_mb ?? NaN;
    expect(memory(restarted, 3)).toBeLessThan(0.6 * memory(world, 3));
    expect(memory(restarted, 60)).toBeGreaterThan(memory(restarted, 3) + 300);
  });
});

describe('traces and logs', () => {
  const world = createWorld(byName('db-pool-exhaustion'), { id: 'signals', now: NOW });

  it('traces follow the call graph, and failing ones carry the fault error on the faulty service', () => {
    const errors = traces(world, { services: ['checkout-service'], from: at(-15), to: at(0), limit: 5, errorsOnly: true });
    expect(errors.length).toBe(5);
    for (const t of errors) {
      expect(t.status).toBe('ERROR');
      expect(t.spans[0]).toMatchObject({ service: 'checkout-service' });
      const ids = new Set(t.spans.map((s) => s.spanId));
      for (const s of t.spans.slice(1)) expect(ids.has(s.parentSpanId ?? '')).toBe(true);
    }
    const faulty = errors.flatMap((t) => t.spans).filter((s) => s.service === 'inventory-service' && s.status === 'ERROR');
    expect(faulty.some((s) => s.error?.includes('PoolTimeoutException'))).toBe(true);
    const before = traces(world, { services: ['checkout-service'], from: at(-60), to: at(-20), limit: 20 });
    expect(before.filter((t) => t.status === 'ERROR').length).toBeLessThanOrEqual(1);
  });

  it('logs show the fault templates only after the fault starts, with varying values and hosts', () => {
    const lines = logs(world, { services: ['inventory-service'], from: at(-40), to: at(0), minLevel: 'ERROR', limit: 5000 });
    const hikari = lines.filter((l) => l.message.startsWith('HikariPool-1 - Connection is not available'));
    expect(hikari.length).toBeGreaterThan(50);
    expect(Math.min(...hikari.map((l) => Date.parse(l.timestamp)))).toBeGreaterThanOrEqual(at(-18));
    // The waiting count follows the world minute by minute.
    expect(new Set(hikari.map((l) => l.message)).size).toBeGreaterThan(10);
    expect(new Set(hikari.map((l) => l.host)).size).toBe(3);
    expect(hikari[0].message).toMatch(/total=10, active=10, idle=0, waiting=\d+/);
    const callers = logs(world, { services: ['checkout-service'], from: at(-10), to: at(0), minLevel: 'ERROR' });
    expect(callers.some((l) => l.message.startsWith('call to inventory-service failed'))).toBe(true);
  });

  it('logs are sorted, filtered by level and capped at the limit (keeping the newest)', () => {
    const all = logs(world, { services: ['web-storefront', 'inventory-service'], from: at(-30), to: at(0), limit: 100 });
    expect(all).toHaveLength(100);
    expect([...all].sort((a, b) => a.timestamp.localeCompare(b.timestamp))).toEqual(all);
    expect(Date.parse(all[0].timestamp)).toBeGreaterThan(at(-5));
    const warn = logs(world, { services: ['web-storefront'], from: at(-30), to: at(0), minLevel: 'WARN' });
    expect(warn.every((l) => l.level !== 'INFO' && l.level !== 'DEBUG')).toBe(true);
  });

  it('a limit keeps exactly the newest lines of the whole window, in the same order (ties between services included)', () => {
    // Not in name order, so lines of the same millisecond are ordered by service name, not by the query.
    const q = { services: ['web-storefront', 'inventory-service', 'checkout-service'], from: at(-45) + 1234, to: at(0) - 777 };
    for (const minLevel of ['DEBUG', 'WARN', 'ERROR'] as const) {
      const all = logs(world, { ...q, minLevel, limit: 10_000 });
      expect(all.length, minLevel).toBeGreaterThan(200);
      expect(all.length, minLevel).toBeLessThan(10_000);
      for (const limit of [1, 37, 150, all.length - 1]) expect(logs(world, { ...q, minLevel, limit }), `${minLevel} ${limit}`).toEqual(all.slice(all.length - limit));
      // Sorted by time, then service name.
      const sorted = [...all].sort((a, b) => a.timestamp.localeCompare(b.timestamp) || a.service.localeCompare(b.service));
      expect(sorted.map((l) => `${l.timestamp} ${l.service}`)).toEqual(all.map((l) => `${l.timestamp} ${l.service}`));
    }
  });
});
