/**
 * A change that lowers a capacity or a limit is latent: the service fails later, when its load reaches the new
 * limit, not at the deploy. These cases check that such a change is blamed over a bare "traffic surge" even when the
 * onset lags the deploy by more than a plausible lag and coincides with a load rise — and that a change that raised
 * the limit, a change elsewhere, or a surge with no change behind it are not blamed for it.
 */
import { describe, expect, it } from 'vitest';
import { limitChange, limitDirection } from '../../../functions/core/analysis/changes.ts';
import { ABSTAIN_BELOW, analyseRootCause, type RootCauseInput } from '../../../functions/core/analysis/hypotheses.ts';
import { anomaly } from './fixtures/anomaly.ts';
import type { ChangeRequest, MetricSeries, ServiceNode, Trace } from '../../../functions/core/tools/ports.ts';

const T = (hhmm: string) => `2026-05-20T${hhmm}:00.000Z`;
const MINUTE = 60_000;

describe('unit: limitChange reads which way a change moved a capacity or limit', () => {
  const config = (param: string, old: string, now: string, title = `set ${param}`): ChangeRequest => ({
    id: 'C1',
    service: 's',
    type: 'config',
    title,
    description: '',
    deployedAt: T('10:00'),
    state: 'implemented',
    configChange: { param, old, new: now },
  });

  it('reads a cap that appears, a smaller number, unit or size as lowered', () => {
    expect(limitChange(config('BillingMode', 'PAY_PER_REQUEST', 'PROVISIONED (RCU 200, WCU 50)'))?.direction).toBe('lowered');
    expect(limitChange(config('ReservedConcurrentExecutions', '100', '20'))?.direction).toBe('lowered');
    expect(limitChange(config('ReservedConcurrentExecutions', 'none', '20'))?.direction).toBe('lowered');
    expect(limitChange(config('MemorySize', '1 GB', '512 MB'))?.direction).toBe('lowered');
    expect(limitChange(config('DBInstanceClass', 'db.r5.2xlarge', 'db.r5.large'))?.direction).toBe('lowered');
    expect(limitChange(config('ProvisionedThroughput', 'RCU 200, WCU 100', 'RCU 200, WCU 50'))?.direction).toBe('lowered');
    expect(limitChange(config('payment-client.read-timeout-ms', '3000', '1000'))?.direction).toBe('lowered');
    // The new setting's numbers: a reading at one of them is a service at its new limit.
    expect(limitChange(config('BillingMode', 'PAY_PER_REQUEST', 'PROVISIONED (RCU 200, WCU 50)'))?.newValues).toEqual([200, 50]);
  });

  it('reads more headroom, or a cap lifted, as raised', () => {
    expect(limitChange(config('MemorySize', '512', '1024'))?.direction).toBe('raised');
    expect(limitChange(config('BillingMode', 'PROVISIONED (RCU 200, WCU 50)', 'PAY_PER_REQUEST'))?.direction).toBe('raised');
    expect(limitChange(config('maximum-pool-size', '20', '60'))?.direction).toBe('raised');
    expect(limitDirection('WriteCapacityUnits', '50', '50')).toBeUndefined();
  });

  it('says nothing of settings that are not a capacity or limit', () => {
    expect(limitChange(config('cart.ttl-days', '14', '30'))).toBeUndefined();
    expect(limitChange(config('storefront.flash-countdown', 'false', 'true'))).toBeUndefined();
    expect(limitChange(config('autovacuum_vacuum_scale_factor', '0.2', '0.05'))).toBeUndefined();
    // A limit set where none was written down: the default it replaced is unknown, so no direction.
    expect(limitChange(config('maximum-pool-size', '', '10'))).toBeUndefined();
    const alias: ChangeRequest = { ...config('x', 'a', 'b'), type: 'deploy', configChange: undefined, title: 'get-order: alias live 41 → 42', description: 'UpdateAlias live: FunctionVersion 41 → 42' };
    expect(limitChange(alias)).toBeUndefined();
  });

  it('reads the title or description when there is no configChange', () => {
    const memory: ChangeRequest = { ...config('x', 'a', 'b'), configChange: undefined, title: 'create-order: MemorySize 512 → 1024', description: 'UpdateFunctionConfiguration: MemorySize 512 → 1024 MB.' };
    expect(limitChange(memory)?.direction).toBe('raised');
    const pool: ChangeRequest = { ...config('x', 'a', 'b'), configChange: undefined, title: 'Tune the pool', description: 'maximum-pool-size from 20 to 10' };
    expect(limitChange(pool)?.direction).toBe('lowered');
  });
});

// ───────────────────────── a store whose write capacity was cut, failing at the lunch peak ─────────────────────────

const topology: ServiceNode[] = [
  { name: 'checkout-api', tier: 'frontend', calls: ['order-worker'] },
  { name: 'order-worker', tier: 'backend', calls: ['orders-store'] },
  { name: 'orders-store', tier: 'database', calls: [] },
];

/** One point a minute from 09:00 to 11:30. */
const perMinute = (service: string, metric: string, f: (at: string) => number): MetricSeries => ({
  service,
  metric,
  unit: '',
  points: Array.from({ length: 151 }, (_, i) => {
    const t = new Date(Date.parse(T('09:00')) + i * MINUTE).toISOString();
    return { t, v: f(t) };
  }),
});

/** Write demand: flat at 100/s until 10:30, then up to 160/s by 11:10 (the lunch peak); `flat` keeps it at 100. */
const demand = (flat = false) => (t: string) => {
  const m = (Date.parse(t) - Date.parse(T('10:30'))) / MINUTE;
  return flat || m <= 0 ? 100 : 100 + 60 * Math.min(1, m / 40);
};

const ONSET = T('11:10');

const failingTraces: Trace[] = Array.from({ length: 4 }, (_, i) => ({
  traceId: `t${i}`,
  rootService: 'checkout-api',
  startedAt: T('11:15'),
  totalMs: 900,
  status: 'ERROR',
  spans: [
    { spanId: 'a', service: 'checkout-api', operation: 'POST /orders', startedAt: T('11:15'), durationMs: 900, status: 'ERROR' },
    { spanId: 'b', parentSpanId: 'a', service: 'order-worker', operation: 'create', startedAt: T('11:15'), durationMs: 880, status: 'ERROR' },
    { spanId: 'c', parentSpanId: 'b', service: 'orders-store', operation: 'put', startedAt: T('11:15'), durationMs: 5, status: 'ERROR', error: 'write capacity exceeded' },
  ],
}));

/** A capacity change to the store, deployed at 09:50: 80 minutes before the onset (beyond a plausible lag). */
const capacityChange = (old: string, now: string, service = 'orders-store', param = 'write-units'): ChangeRequest => ({
  id: 'CHG-77',
  service,
  type: 'config',
  title: `Set ${param} of ${service}`,
  description: 'cost review',
  deployedAt: T('09:50'),
  state: 'implemented',
  configChange: { param, old, new: now },
});

const incident = (changes: ChangeRequest[], flatDemand = false): RootCauseInput => ({
  incident: { service: 'checkout-api', startedAt: T('11:14') },
  anomalies: [
    anomaly('orders-store', 'throttle_rate_pct', 0, 40, ONSET, 5000),
    anomaly('order-worker', 'error_rate_pct', 0.1, 30, ONSET, 900),
    anomaly('checkout-api', 'error_rate_pct', 0.1, 10, ONSET, 300),
    ...(flatDemand ? [] : [anomaly('orders-store', 'throughput_rps', 100, 160, T('10:50'), 8)]),
  ],
  onset: ONSET,
  templates: [],
  changes,
  topology,
  traces: failingTraces,
  series: [perMinute('orders-store', 'throughput_rps', demand(flatDemand)), perMinute('order-worker', 'throughput_rps', (t) => demand(flatDemand)(t) / 2)],
  now: T('11:30'),
});

describe('unit: a change that lowered a limit is the culprit when the load reaches it later', () => {
  it('blames the change that cut the store’s write capacity, 80 min before the onset, over a traffic surge', () => {
    const out = analyseRootCause(incident([capacityChange('500', '120')]));
    expect(out.abstained).toBe(false);
    expect(out.rootCauses[0]).toMatchObject({ service: 'orders-store', changeId: 'CHG-77' });
    expect(out.rootCauses[0].confidence).toBeGreaterThan(0.85);
    const [timing] = out.rootCauses[0].predictions;
    expect(timing.result).toBe('supported');
    expect(timing.statement).toMatch(/latent limit: write-units 500 → 120: less headroom; orders-store fails at it \(throttle_rate_pct 0 → 40\)/);
    const mechanism = out.rootCauses[0].predictions.find((p) => p.statement.startsWith('orders-store fails at a limit'));
    expect(mechanism?.result).toBe('supported');
    // The surge is real, but it is not the cause: the change left less capacity than the service had.
    const surge = out.considered.find((h) => h.kind === 'traffic-surge' && h.service === 'orders-store')!;
    expect(surge.predictions.find((p) => p.statement.startsWith('no change to orders-store'))?.result).toBe('refuted');
    expect(surge.confidence).toBeLessThan(out.rootCauses[0].confidence);
    expect(out.rollbackCandidate).toBe('CHG-77');
  });

  it('reads a cap that appears (on-demand → provisioned) the same way', () => {
    const out = analyseRootCause(incident([capacityChange('on-demand', 'provisioned 120 units', 'orders-store', 'capacity-mode')]));
    expect(out.rootCauses[0]).toMatchObject({ changeId: 'CHG-77' });
  });

  it('does not explain the lag by the limit when the load did not rise to it', () => {
    const out = analyseRootCause(incident([capacityChange('500', '120')], true));
    const change = out.considered.find((h) => h.changeId === 'CHG-77')!;
    expect(change.predictions[0].result).toBe('inconclusive');
    expect(change.predictions[0].statement).not.toMatch(/latent limit/);
  });

  it('does not blame a change that raised the limit: the surge beyond capacity stays the cause', () => {
    const out = analyseRootCause(incident([capacityChange('120', '500')]));
    expect(out.rootCauses[0]).toMatchObject({ service: 'orders-store', category: 'capacity' });
    expect(out.rootCauses[0].changeId).toBeUndefined();
    const change = out.considered.find((h) => h.changeId === 'CHG-77')!;
    expect(change.predictions.find((p) => p.statement.startsWith('orders-store fails at a limit'))?.result).toBe('refuted');
    expect(change.confidence).toBeLessThan(ABSTAIN_BELOW);
  });

  it('does not blame a limit change to another service (the caller’s memory), lowered or raised', () => {
    for (const [old, now] of [
      ['1024', '512'],
      ['512', '1024'],
    ]) {
      const out = analyseRootCause(incident([capacityChange(old, now, 'order-worker', 'MemorySize')]));
      expect(out.rootCauses[0]).toMatchObject({ service: 'orders-store', category: 'capacity' });
      const change = out.considered.find((h) => h.changeId === 'CHG-77')!;
      expect(change.predictions[0].statement).not.toMatch(/latent limit/);
      expect(change.confidence).toBeLessThan(ABSTAIN_BELOW);
    }
  });

  it('reads a usage at the new number as the service at its limit (concurrency at the new reserved concurrency)', () => {
    const input = incident([capacityChange('100', '20', 'order-worker', 'ReservedConcurrentExecutions')]);
    const out = analyseRootCause({
      ...input,
      // The worker fails on its own (the store is healthy) and runs at 20 concurrent executions, the new limit.
      anomalies: [anomaly('order-worker', 'error_rate_pct', 0.1, 30, ONSET, 900), anomaly('order-worker', 'concurrent_executions', 6, 19.5, ONSET, 12), anomaly('checkout-api', 'error_rate_pct', 0.1, 10, ONSET, 300)],
      traces: [],
    });
    expect(out.rootCauses[0]).toMatchObject({ service: 'order-worker', changeId: 'CHG-77' });
    expect(out.rootCauses[0].predictions[0].statement).toMatch(/latent limit: ReservedConcurrentExecutions 100 → 20: less headroom; order-worker fails at it \(concurrent_executions at 19.5, the new limit\)/);
  });

  it('reads CPU pinned at saturation as a compute limit (fewer replicas than the peak needs)', () => {
    const input = incident([capacityChange('8', '4', 'order-worker', 'autoscaling.max-replicas')]);
    const cpu = perMinute('order-worker', 'cpu_pct', (t) => (Date.parse(t) >= Date.parse(ONSET) ? 97 : 60));
    const out = analyseRootCause({
      ...input,
      anomalies: [anomaly('order-worker', 'latency_p99_ms', 120, 2400, ONSET, 400), anomaly('order-worker', 'cpu_pct', 60, 97, ONSET, 30), anomaly('checkout-api', 'error_rate_pct', 0.1, 10, ONSET, 300)],
      series: [...input.series, cpu],
      traces: [],
    });
    expect(out.rootCauses[0]).toMatchObject({ service: 'order-worker', changeId: 'CHG-77' });
    expect(out.rootCauses[0].predictions[0].statement).toMatch(/latent limit: autoscaling.max-replicas 8 → 4: less headroom; order-worker fails at it \(cpu_pct reached 97%\)/);
  });

  it('keeps a surge with no change behind it as capacity', () => {
    const out = analyseRootCause(incident([]));
    expect(out.abstained).toBe(false);
    expect(out.rootCauses[0]).toMatchObject({ service: 'orders-store', category: 'capacity' });
    expect(out.rootCauses[0].predictions.find((p) => p.statement.startsWith('orders-store is saturated'))?.result).toBe('supported');
  });
});
