import { describe, expect, it } from 'vitest';
import { applyAction, createWorld, metricSeries, snapshotAt, type WorldState } from '../../../functions/core/world/world.ts';
import { logs, traces } from '../../../functions/core/world/signals.ts';
import type { Scenario } from '../../../functions/core/world/scenario.ts';
import { allScenarios, incidentStart, MINUTE, NOW } from './helpers.ts';

const at = (minutes: number) => NOW.getTime() + minutes * MINUTE;
const scenarios = allScenarios();
const byName = (name: string): Scenario => {
  const s = scenarios.find((x) => x.name === name);
  if (!s) throw new Error(`no scenario ${name}`);
  return s;
};
const value = (w: WorldState, service: string, metric: string, minute: number) => snapshotAt(w, at(minute)).services.get(service)?.values[metric] ?? NaN;
const SEEDS = ['seed-1', 'seed-2', 'seed-3', 'seed-4', 'seed-5'];
const SIGNAL_METRICS = ['latency_p99_ms', 'error_rate_pct', 'throughput_rps', 'cpu_pct', 'memory_mb', 'db_pool_active'];

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * How many of the points in [from, to] lie outside the healthy band of [baseFrom, baseTo]: median ± 6 robust
 * standard deviations (1.4826 × MAD, at least 3 % of the median or 0.1 points of error rate).
 */
const outside = (w: WorldState, service: string, metric: string, base: [number, number], window: [number, number]) => {
  const q = (from: number, to: number) => metricSeries(w, { services: [service], metrics: [metric], from: at(from), to: at(to) })[0]?.points.map((p) => p.v) ?? [];
  const before = q(...base);
  const after = q(...window);
  if (before.length === 0) return { count: 0, of: after.length };
  const m = median(before);
  const sigma = Math.max(1.4826 * median(before.map((v) => Math.abs(v - m))), 0.03 * Math.abs(m), metric === 'error_rate_pct' ? 0.1 : 0);
  return { count: after.filter((v) => Math.abs(v - m) > 6 * sigma).length, of: after.length };
};

describe('signal above noise, across world ids', () => {
  for (const s of scenarios.filter((x) => x.expect.rootCause !== null)) {
    it(`${s.name}: the alerting service is clearly and steadily off its baseline at the alert, whatever the noise seed`, () => {
      const start = incidentStart(s);
      for (const id of SEEDS) {
        const w = createWorld(s, { id, now: NOW });
        // Every one of the last five minutes is far outside the healthy band on some metric: no single noisy point.
        const steady = SIGNAL_METRICS.some((metric) => {
          const { count, of } = outside(w, s.alert.service, metric, [start - 60, start - 3], [-5, 0]);
          return of > 0 && count === of;
        });
        expect(steady, `${s.name} world ${id}`).toBe(true);
      }
    });
  }

  it('false-alarm-noise: no service is steadily off its baseline in any world, and the world has no fault', () => {
    const s = byName('false-alarm-noise');
    expect(s.faults).toEqual([]);
    expect(s.expect).toEqual({ rootCause: null, mitigation: { kind: 'none' } });
    for (const id of SEEDS) {
      const w = createWorld(s, { id, now: NOW });
      expect([...snapshotAt(w, at(0)).services.values()].every((x) => x.faults.length === 0)).toBe(true);
      for (const svc of s.services) {
        for (const metric of SIGNAL_METRICS) {
          const { count } = outside(w, svc.name, metric, [-90, -15], [-10, 0]);
          expect(count, `${id} ${svc.name} ${metric}`).toBeLessThanOrEqual(2);
        }
      }
    }
  });

  it('is deterministic for one world id: metrics, logs and traces repeat exactly', () => {
    const s = byName('certificate-expiry');
    const q = { services: ['payment-service', 'ledger-service'], from: at(-15), to: at(0) };
    const a = createWorld(s, { id: 'same', now: NOW });
    const b = createWorld(s, { id: 'same', now: NOW });
    expect(metricSeries(a, q)).toEqual(metricSeries(b, q));
    expect(logs(a, q)).toEqual(logs(b, q));
    expect(traces(a, { ...q, limit: 10 })).toEqual(traces(b, { ...q, limit: 10 }));
  });
});

describe('connection-level faults (certificate, DNS)', () => {
  const s = byName('certificate-expiry');
  const world = createWorld(s, { id: 'tls', now: NOW });

  it('fail the callers while the service itself only sees its traffic vanish', () => {
    // The expired certificate: ledger-service reports a healthy error rate and almost no requests.
    expect(value(world, 'ledger-service', 'error_rate_pct', -2)).toBeLessThan(0.5);
    expect(value(world, 'ledger-service', 'throughput_rps', -2)).toBeLessThan(0.05 * value(world, 'ledger-service', 'throughput_rps', -30));
    expect(value(world, 'payment-service', 'error_rate_pct', -2)).toBeGreaterThan(60);
  });

  it('show the caller-side exception in the callers\' logs and spans, with no span on the unreachable service', () => {
    const lines = logs(world, { services: ['payment-service'], from: at(-9), to: at(0), minLevel: 'ERROR' });
    expect(lines.some((l) => l.message.startsWith('call to ledger-service failed: javax.net.ssl.SSLHandshakeException: PKIX path validation failed'))).toBe(true);
    const failing = traces(world, { services: ['payment-service'], from: at(-8), to: at(0), limit: 10, errorsOnly: true });
    expect(failing.length).toBeGreaterThan(5);
    const tlsFailures = failing.filter((t) => t.spans[0].error?.includes('SSLHandshakeException'));
    expect(tlsFailures.length).toBeGreaterThan(5);
    for (const t of tlsFailures) expect(t.spans.some((sp) => sp.service === 'ledger-service')).toBe(false);
  });

  it('render the {at:m} placeholder as the world time of that minute (the certificate notAfter)', () => {
    const lines = logs(world, { services: ['ledger-service'], from: at(-600), to: at(0) }).filter((l) => l.message.startsWith('x509 check'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0].message).toContain(`notAfter=${new Date(at(-9)).toISOString().replace('.000Z', 'Z')}`);
  });

  it('are fixed by the restart that loads the renewed certificate', () => {
    const { state } = applyAction(world, { kind: 'restart-service', service: 'ledger-service' }, NOW);
    expect(value(state, 'payment-service', 'error_rate_pct', 3)).toBeLessThan(1);
    expect(value(state, 'ledger-service', 'throughput_rps', 3)).toBeGreaterThan(100);
  });

  it('ramp in over the DNS TTL and name the unresolvable host in the callers\' logs', () => {
    const dns = createWorld(byName('dns-record-change'), { id: 'dns', now: NOW });
    expect(value(dns, 'checkout-service', 'error_rate_pct', -12)).toBeLessThan(value(dns, 'checkout-service', 'error_rate_pct', -5));
    const lines = logs(dns, { services: ['invoice-service'], from: at(-10), to: at(0), minLevel: 'ERROR' });
    expect(lines.some((l) => l.message.includes('UnknownHostException: tax-service.internal.shopco.net'))).toBe(true);
  });
});

describe('load on call edges (cache misses, call volume)', () => {
  it('cache-invalidation-storm: the hit ratio falls and the backing database takes the misses, until the rollback', () => {
    const w = createWorld(byName('cache-invalidation-storm'), { id: 'storm', now: NOW });
    expect(value(w, 'catalog-api', 'cache_hit_ratio_pct', -30)).toBeGreaterThan(94);
    expect(value(w, 'catalog-api', 'cache_hit_ratio_pct', -1)).toBeLessThan(72);
    const dbLoad = value(w, 'catalog-db', 'throughput_rps', -1) / value(w, 'catalog-db', 'throughput_rps', -30);
    expect(dbLoad).toBeGreaterThan(5);
    expect(value(w, 'catalog-db', 'cpu_pct', -1)).toBe(100);
    // The cache itself is only a little busier (write-backs after misses).
    expect(value(w, 'catalog-redis', 'throughput_rps', -1) / value(w, 'catalog-redis', 'throughput_rps', -30)).toBeLessThan(1.5);
    const { state } = applyAction(w, { kind: 'rollback-change', service: 'catalog-api', target: 'CHG-11802' }, NOW);
    expect(value(state, 'catalog-api', 'cache_hit_ratio_pct', 3)).toBeGreaterThan(94);
    expect(value(state, 'catalog-db', 'cpu_pct', 3)).toBeLessThan(40);
  });

  it('downstream-symptom-n-plus-one: the database load triples while the loud service\'s own traffic is flat', () => {
    const w = createWorld(byName('downstream-symptom-n-plus-one'), { id: 'nplus1', now: NOW });
    const ratio = (svc: string, metric: string) => value(w, svc, metric, -1) / value(w, svc, metric, -30);
    expect(ratio('customers-db', 'throughput_rps')).toBeGreaterThan(2.5);
    expect(Math.abs(ratio('customer-service', 'throughput_rps') - 1)).toBeLessThan(0.15);
    expect(Math.abs(ratio('reporting-service', 'throughput_rps') - 1)).toBeLessThan(0.15);
    expect(value(w, 'customer-service', 'error_rate_pct', -1)).toBeGreaterThan(value(w, 'reporting-service', 'error_rate_pct', -1));
  });
});

describe('capacity', () => {
  it('misleading-past-incident: the pool saturates from the database\'s latency alone, and the past fix (scale out) does not restore latency', () => {
    const s = byName('misleading-past-incident');
    expect(s.faults.every((f) => f.service !== 'order-service')).toBe(true);
    const w = createWorld(s, { id: 'little', now: NOW });
    expect(value(w, 'order-service', 'db_pool_active', -1)).toBe(value(w, 'order-service', 'db_pool_max', -1));
    expect(value(w, 'order-service', 'db_pool_active', -40)).toBeLessThan(15);
    // At the edge of saturation the pool flaps minute to minute (noise decides), so compare ten-minute windows.
    const latencies = (world: WorldState, from: number) => Array.from({ length: 11 }, (_, k) => value(world, 'order-service', 'latency_p99_ms', from + k));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const healthy = median(latencies(w, -50));
    const scaled = applyAction(w, { kind: 'scale-service', service: 'order-service', params: { replicas: 6 } }, NOW).state;
    expect(mean(latencies(scaled, 5))).toBeGreaterThan(3 * healthy);
    const rolledBack = applyAction(w, { kind: 'rollback-change', service: 'orders-db', target: 'CHG-8120' }, NOW).state;
    expect(median(latencies(rolledBack, 5))).toBeLessThan(1.3 * healthy);
  });

  it('traffic-surge-capacity: only the service without headroom saturates, says so in its logs, and scaling it (not another) fixes it', () => {
    const s = byName('traffic-surge-capacity');
    const w = createWorld(s, { id: 'surge', now: NOW });
    expect(value(w, 'seatmap-service', 'cpu_pct', -1)).toBe(100);
    for (const svc of s.services.filter((x) => x.name !== 'seatmap-service' && x.tier !== 'external')) expect(value(w, svc.name, 'cpu_pct', -1), svc.name).toBeLessThan(85);
    const lines = logs(w, { services: ['seatmap-service'], from: at(-10), to: at(0), minLevel: 'WARN' });
    expect(lines.some((l) => l.message.startsWith('request queue saturated'))).toBe(true);
    expect(lines.some((l) => l.level === 'ERROR' && l.message.includes('503 Service Unavailable (request queue full)'))).toBe(true);
    const wrong = applyAction(w, { kind: 'scale-service', service: 'event-api' }, NOW).state;
    expect(value(wrong, 'seatmap-service', 'cpu_pct', 5)).toBe(100);
    const right = applyAction(w, { kind: 'scale-service', service: 'seatmap-service' }, NOW).state;
    expect(value(right, 'seatmap-service', 'cpu_pct', 5)).toBeLessThan(70);
    expect(value(right, 'seatmap-service', 'error_rate_pct', 5)).toBeLessThan(0.5);
  });
});
