/**
 * Zonal hypotheses: cart-service's errors rise at 11:00 in one availability zone only (an AZ impairment). The family
 * must blame the zone (category zone, culprit kind zone with the zone named), refute itself when every zone degraded
 * alike, stay silent without per-zone series, and give way to a change deployed at the onset.
 */
import { describe, expect, it } from 'vitest';
import { analyseRootCause, type RootCauseInput } from '../../../../functions/core/analysis/hypotheses.ts';
import { indexEvidence } from '../../../../functions/core/analysis/hypotheses/evidence.ts';
import { testZonal } from '../../../../functions/core/analysis/hypotheses/zonal.ts';
import type { ChangeRequest, MetricSeries, ServiceNode } from '../../../../functions/core/tools/ports.ts';
import { anomaly } from '../fixtures/anomaly.ts';
import { at, change, failingTraces, m, series, step, template } from './fixtures.ts';

const topology: ServiceNode[] = [
  { name: 'web', tier: 'frontend', calls: ['cart-service'] },
  { name: 'cart-service', tier: 'backend', calls: ['cart-db'] },
  { name: 'cart-db', tier: 'database', calls: [] },
];
const ONSET = at('11:00');
const ZONES = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];
const zoned = (metric: string, f: (zone: string) => (x: number) => number): MetricSeries[] => ZONES.map((zone) => ({ ...series('cart-service', metric, f(zone), 0.05), zone }));
/** eu-west-1b fails 70 % of its requests from 11:00; the other zones stay at 0.2 %. */
const oneZone = zoned('error_rate_pct', (z) => (z === 'eu-west-1b' ? step(0.2, 70, m('11:00')) : () => 0.2));
const everyZone = zoned('error_rate_pct', () => step(0.2, 25, m('11:00')));

const input = (over: { zones?: MetricSeries[]; changes?: ChangeRequest[] } = {}): RootCauseInput => ({
  incident: { service: 'web', startedAt: at('11:02') },
  anomalies: [anomaly('cart-service', 'error_rate_pct', 0.2, 23, ONSET, 300), anomaly('web', 'error_rate_pct', 0.1, 15, ONSET, 200)],
  onset: ONSET,
  templates: [template('cart-service', 'request <*> failed: upstream connect error or disconnect/reset before headers')],
  changes: over.changes ?? [],
  topology,
  traces: failingTraces(['web', 'cart-service'], 6, 'upstream connect error'),
  series: [series('cart-service', 'throughput_rps', () => 300, 4)],
  ...(over.zones ? { zoneSeries: over.zones } : {}),
  now: at('11:20'),
});

describe('zonal hypotheses', () => {
  it('blames the one zone that fails while the others serve, naming it', () => {
    const out = analyseRootCause(input({ zones: oneZone }));
    expect(out.abstained).toBe(false);
    expect(out.rootCauses[0]).toMatchObject({ service: 'cart-service', category: 'zone', mechanism: 'zone', culprit: { kind: 'zone', service: 'cart-service', zone: 'eu-west-1b' } });
    expect(out.rootCauses[0].confidence).toBeGreaterThan(0.8);
    const confined = out.rootCauses[0].predictions.find((p) => p.statement.startsWith('cart-service fails in one availability zone only'));
    expect(confined).toMatchObject({ result: 'supported', statement: expect.stringMatching(/eu-west-1b's errors 0\.2 → 70 % while eu-west-1a, eu-west-1c stayed near their own/) });
    expect(confined?.evidenceIds).toContain('zone:cart-service:eu-west-1b:error_rate_pct');
  });

  it('refutes itself when every zone degraded alike (a release or a callee reaches all of them)', () => {
    const c = testZonal(indexEvidence(input({ zones: everyZone })), 'cart-service')!;
    expect(c.predictions[1]).toMatchObject({ result: 'refuted', decisive: true });
    expect(analyseRootCause(input({ zones: everyZone })).rootCauses.some((h) => h.category === 'zone')).toBe(false);
  });

  it('says nothing without per-zone series', () => {
    expect(analyseRootCause(input()).considered.some((h) => h.category === 'zone')).toBe(false);
  });

  it('admits a change to the service at the onset as a rival: its "no change explains it" is refuted', () => {
    const release = change('CHG-9', 'cart-service', at('10:57'));
    const out = analyseRootCause(input({ zones: oneZone, changes: [release] }));
    const zonal = out.considered.find((h) => h.category === 'zone')!;
    // A change to the service deployed at the onset is a rival the zonal story must admit: "no change explains it" is refuted.
    expect(zonal.predictions.find((p) => p.statement.startsWith('no change to cart-service explains it'))?.result).toBe('refuted');
  });
});
