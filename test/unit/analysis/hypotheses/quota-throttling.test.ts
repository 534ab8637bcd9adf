/**
 * Quota throttling with no change: the lunch peak's writes grow into orders-table's provisioned 200 requests/s, and
 * what is above it is throttled (ProvisionedThroughputExceeded). The family must blame the quota (category
 * throttling), stay silent on a table that does not throttle, refute demand far below the quota, and — when a change
 * lowered the quota — leave the fault to the change (the latent-limit story), never claim it too.
 */
import { describe, expect, it } from 'vitest';
import { analyseRootCause, type RootCauseInput } from '../../../../functions/core/analysis/hypotheses.ts';
import { indexEvidence } from '../../../../functions/core/analysis/hypotheses/evidence.ts';
import { testQuotaThrottling } from '../../../../functions/core/analysis/hypotheses/quota-throttling.ts';
import type { ChangeRequest, ServiceNode } from '../../../../functions/core/tools/ports.ts';
import { anomaly } from '../fixtures/anomaly.ts';
import { at, change, failingTraces, m, ramp, series, template } from './fixtures.ts';

const topology: ServiceNode[] = [
  { name: 'checkout-api', tier: 'frontend', calls: ['order-service'] },
  { name: 'order-service', tier: 'backend', calls: ['orders-table'] },
  { name: 'orders-table', tier: 'database', calls: [] },
];
const ONSET = at('10:55');

/** Demand on the table: 120/s until 10:00, then up to 240/s by 11:10; the quota is `quota` (200 unless lowered). */
const demand = ramp(120, 240, m('10:00'), m('11:10'));
const tableSeries = (quota: (x: number) => number = () => 200, want: (x: number) => number = demand) => [
  series('orders-table', 'throughput_rps', (x) => Math.min(want(x), quota(x))),
  series('orders-table', 'throttled_rps', (x) => Math.max(0, want(x) - quota(x))),
  series('orders-table', 'quota_limit_rps', quota),
  series('order-service', 'throughput_rps', (x) => want(x) / 2),
];

const input = (over: { changes?: ChangeRequest[]; quota?: (x: number) => number; demand?: (x: number) => number; errors?: boolean } = {}): RootCauseInput => ({
  incident: { service: 'checkout-api', startedAt: at('10:58') },
  anomalies: [
    anomaly('orders-table', 'error_rate_pct', 0.05, 12, ONSET, 300),
    anomaly('orders-table', 'throttled_rps', 0, 30, ONSET, 80),
    anomaly('order-service', 'error_rate_pct', 0.1, 12, ONSET, 280),
    anomaly('checkout-api', 'error_rate_pct', 0.1, 8, ONSET, 200),
  ],
  onset: ONSET,
  templates:
    over.errors === false
      ? []
      : [template('order-service', 'PutItem on orders-table failed: ProvisionedThroughputExceededException: Rate of requests exceeds the allowed throughput')],
  changes: over.changes ?? [],
  topology,
  traces: failingTraces(['checkout-api', 'order-service', 'orders-table'], 6, 'ProvisionedThroughputExceededException'),
  series: tableSeries(over.quota, over.demand),
  now: at('11:30'),
});

describe('quota-throttling hypotheses', () => {
  it('blames load growing into an unchanged quota', () => {
    const out = analyseRootCause(input());
    expect(out.abstained).toBe(false);
    expect(out.considered[0]).toMatchObject({ kind: 'quota-throttling', service: 'orders-table', category: 'throttling' });
    expect(out.rootCauses[0].confidence).toBeGreaterThan(0.8);
    const verdicts = Object.fromEntries(out.rootCauses[0].predictions.map((p) => [p.statement.split(' — ')[0], p.result]));
    expect(verdicts).toMatchObject({
      'orders-table began to throttle at the onset': 'supported',
      'demand on orders-table (served + throttled) reached its quota': 'supported',
      'load grew into the quota of orders-table': 'supported',
      'the quota of orders-table was not lowered': 'supported',
      'orders-table or its callers log throttling': 'supported',
    });
    // The surge hypothesis on the same table says less (capacity, not the quota) and ranks below it.
    const surge = out.considered.find((h) => h.kind === 'traffic-surge' && h.service === 'orders-table');
    if (surge) expect(surge.confidence).toBeLessThan(out.rootCauses[0].confidence);
  });

  it('reads demand that arrives in a step at the onset as load grown into the quota', () => {
    const out = analyseRootCause(input({ demand: (x) => (x < m('10:55') ? 150 : 260) }));
    expect(out.considered[0]).toMatchObject({ kind: 'quota-throttling', service: 'orders-table' });
    expect(out.rootCauses[0].predictions.find((p) => p.statement.startsWith('load grew into the quota'))?.result).toBe('supported');
  });

  it('says nothing of a healthy table that never throttles', () => {
    const calm = { ...input({ demand: () => 120 }), anomalies: [anomaly('order-service', 'error_rate_pct', 0.1, 12, ONSET, 280)] };
    expect(testQuotaThrottling(indexEvidence(calm), 'orders-table')).toBeUndefined();
  });

  it('refutes throttling that did not happen at demand far below the quota', () => {
    const out = analyseRootCause({ ...input({ demand: () => 100, errors: false }), anomalies: [anomaly('orders-table', 'error_rate_pct', 0.05, 12, ONSET, 300)] });
    const quota = out.considered.find((h) => h.kind === 'quota-throttling')!;
    const verdicts = Object.fromEntries(quota.predictions.map((p) => [p.statement.split(' — ')[0], p.result]));
    expect(verdicts['orders-table began to throttle at the onset']).toBe('refuted');
    expect(verdicts['demand on orders-table (served + throttled) reached its quota']).toBe('refuted');
    expect(quota.confidence).toBeLessThan(0.2);
  });

  it('leaves a quota lowered by a change to the change (decisive), even though load grew into it', () => {
    // CHG-77 cut the table's write capacity from 400 to 200 at 09:50; the lunch peak reached the new limit at 10:55.
    const cut = change('CHG-77', 'orders-table', at('09:50'), {
      type: 'config',
      title: 'Set write-units of orders-table',
      description: 'cost review',
      version: undefined,
      configChange: { param: 'write-units', old: '400', new: '200' },
    });
    const out = analyseRootCause(input({ changes: [cut], quota: (x) => (x < m('09:50') ? 400 : 200) }));
    expect(out.rootCauses[0]).toMatchObject({ service: 'orders-table', changeId: 'CHG-77' });
    expect(out.rollbackCandidate).toBe('CHG-77');
    const quota = out.considered.find((h) => h.kind === 'quota-throttling')!;
    expect(quota.confidence).toBe(0);
    expect(quota.predictions.find((p) => p.statement.startsWith('the quota of orders-table was not lowered'))?.statement).toMatch(/CHG-77 lowered it/);
  });
});
