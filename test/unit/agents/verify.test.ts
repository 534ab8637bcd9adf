import { describe, expect, it } from 'vitest';
import { faultPath, isRecovered, metricsToVerify, recoveryBound, verifyRecovery } from '../../../functions/core/agents/verify.ts';
import { type ImpactOutput, VerificationOutput } from '../../../functions/core/model.ts';
import type { MetricSeries } from '../../../functions/core/tools/ports.ts';
import { fakeDeps, seedAgentRecord, seedIncident } from './fakes.ts';

const impact: ImpactOutput = {
  anomalies: [
    { service: 'inventory-service', metric: 'latency_p99_ms', baseline: 120, current: 18_340, score: 9, direction: 'up', evidenceIds: [] },
    { service: 'checkout-service', metric: 'error_rate_pct', baseline: 0.1, current: 42, score: 9, direction: 'up', evidenceIds: [] },
    // more traffic is load, not a failure: it need not go back to baseline for the incident to be over
    { service: 'checkout-service', metric: 'throughput_rps', baseline: 100, current: 200, score: 9, direction: 'up', evidenceIds: [] },
  ],
  blastRadius: [],
  usersImpacted: 0,
  revenuePerMinute: 0,
  severity: 'SEV1',
  confidence: 0.9,
  reasoning: '',
  evidenceIds: [],
};

const series = (service: string, metric: string, values: number[]): MetricSeries => ({
  service,
  metric,
  unit: '',
  points: values.map((v, i) => ({ t: new Date(Date.parse('2026-03-14T12:25:00Z') + i * 60_000).toISOString(), v })),
});

const setup = async (latest: { latency: number[]; errors: number[] } | 'none') => {
  const deps = fakeDeps({
    tools: {
      telemetry: {
        queryMetrics: async () => (latest === 'none' ? [] : [series('inventory-service', 'latency_p99_ms', latest.latency), series('checkout-service', 'error_rate_pct', latest.errors)]),
      },
    },
  });
  const incidentId = await seedIncident(deps);
  await seedAgentRecord(deps, incidentId, 'impact', impact);
  return { deps, incidentId };
};

describe('verifyRecovery', () => {
  it('reports recovery when every metric is back in its band, and sets VERIFYING', async () => {
    // Prepare: latency back near 120 ms (one noisy point), error rate 0.5% (90% of the excursion gone)
    const { deps, incidentId } = await setup({ latency: [900, 130, 4000, 125, 128], errors: [3, 0.6, 0.5, 0.4] });
    // Act
    const result = await verifyRecovery(deps)({ incidentId, attempt: 0, maxChecks: 5 });
    // Assess
    expect(result).toMatchObject({ incidentId, attempt: 1, recovered: true, exhausted: false });
    expect((await deps.store.getIncident(incidentId))?.status).toBe('VERIFYING');
    const out = VerificationOutput.parse((await deps.store.getAgentRecord(incidentId, 'verification'))?.output);
    expect(out.checks).toEqual([
      expect.objectContaining({ service: 'inventory-service', baseline: 120, before: 18_340, after: 128, recovered: true }),
      expect.objectContaining({ service: 'checkout-service', after: 0.5, recovered: true }),
    ]);
  });

  it('is not recovered while a metric stays out of band, and exhausted on the last check', async () => {
    const { deps, incidentId } = await setup({ latency: [9000, 9100, 8800], errors: [0.1, 0.1, 0.1] });
    const early = await verifyRecovery(deps)({ incidentId, attempt: 1, maxChecks: 5 });
    expect(early).toMatchObject({ attempt: 2, recovered: false, exhausted: false });
    expect(early.summary).toMatch(/inventory-service latency_p99_ms/);
    const last = await verifyRecovery(deps)({ incidentId, attempt: 4, maxChecks: 5 });
    expect(last).toMatchObject({ attempt: 5, recovered: false, exhausted: true });
  });

  it('does not call a metric without recent data recovered', async () => {
    const { deps, incidentId } = await setup('none');
    const result = await verifyRecovery(deps)({ incidentId, attempt: 0, maxChecks: 1 });
    expect(result).toMatchObject({ recovered: false, exhausted: true });
    expect(result.summary).toMatch(/no data/);
  });
});

describe('recovery band', () => {
  it('uses 25% of the baseline, or 90% of the excursion gone for near-zero baselines', () => {
    expect(recoveryBound({ baseline: 120, current: 18_340, direction: 'up' })).toBeCloseTo(1942);
    expect(recoveryBound({ baseline: 100, current: 110, direction: 'up' })).toBe(125);
    expect(isRecovered({ baseline: 0.1, current: 42, direction: 'up' }, 0.5)).toBe(true);
    expect(isRecovered({ baseline: 0.1, current: 42, direction: 'up' }, 8)).toBe(false);
  });

  it('is direction-aware: below the baseline is fine for a metric that went up, and vice versa', () => {
    expect(isRecovered({ baseline: 120, current: 900, direction: 'up' }, 40)).toBe(true);
    expect(isRecovered({ baseline: 1000, current: 200, direction: 'down' }, 700)).toBe(false);
    expect(isRecovered({ baseline: 1000, current: 200, direction: 'down' }, 950)).toBe(true);
  });
});

describe('recovery band: noise', () => {
  it('widens the band to the noise the detector calls normal (NOISE_Z × the baseline scale)', () => {
    // Prepare: an error rate of 0.09 % whose minute-to-minute noise is ±30 % (scale 0.03)
    const anomaly = { baseline: 0.09, current: 0.36, direction: 'up' as const };
    // Assess: 0.14 is noise after the fix, not a fault still going on; without the scale it would not pass
    expect(isRecovered(anomaly, 0.14)).toBe(false);
    expect(isRecovered(anomaly, 0.14, 0.03)).toBe(true);
    expect(recoveryBound(anomaly, 0.03)).toBeCloseTo(0.09 + 3.5 * 0.03);
    expect(isRecovered(anomaly, 0.3, 0.03)).toBe(false);
  });
});

describe('metricsToVerify', () => {
  const a = (service: string, metric: string, baseline: number, current: number) => ({ service, metric, baseline, current, score: 9, direction: current >= baseline ? ('up' as const) : ('down' as const), evidenceIds: [] });

  it('verifies what users feel, not saturation that load keeps up after the fix', () => {
    // a flash sale keeps CPU at 86 % after the bad change is rolled back; latency and errors are the fault
    const picked = metricsToVerify([a('inventory', 'latency_p99_ms', 120, 9000), a('inventory', 'cpu_pct', 50, 86), a('checkout', 'error_rate_pct', 0.1, 40), a('checkout', 'throughput_rps', 100, 200)]);
    expect(picked.map((x) => x.metric)).toEqual(['latency_p99_ms', 'error_rate_pct']);
  });

  it('verifies saturation when no service-level indicator failed, and everything when nothing is a failure', () => {
    expect(metricsToVerify([a('db', 'cpu_pct', 40, 95), a('db', 'throughput_rps', 100, 300)]).map((x) => x.metric)).toEqual(['cpu_pct']);
    expect(metricsToVerify([a('db', 'throughput_rps', 100, 300)]).map((x) => x.metric)).toEqual(['throughput_rps']);
  });
});

describe('verifyRecovery with the impact agent\'s noise scale', () => {
  it('reads the scale from the impact evidence and calls a noisy but healthy error rate recovered', async () => {
    // Prepare: the impact record carries the baseline scale of the series it flagged
    const deps = fakeDeps({ tools: { telemetry: { queryMetrics: async () => [series('checkout-service', 'error_rate_pct', [0.15, 0.13, 0.14])] } } });
    const incidentId = await seedIncident(deps);
    await seedAgentRecord(deps, incidentId, 'impact', { ...impact, anomalies: [{ service: 'checkout-service', metric: 'error_rate_pct', baseline: 0.09, current: 0.36, score: 9, direction: 'up', evidenceIds: [] }] }, [
      { id: 'metric:checkout-service:error_rate_pct', kind: 'metric', source: 'telemetry', summary: 'error rate', data: { scale: 0.03 } },
    ]);
    // Act
    const result = await verifyRecovery(deps)({ incidentId, attempt: 0, maxChecks: 3 });
    // Assess
    expect(result.recovered).toBe(true);
  });
});

describe('faultPath', () => {
  const topo = (name: string, calls: string[]) => ({ id: `topology:${name}`, kind: 'topology', source: 'telemetry', summary: name, data: { name, tier: 'backend', calls } });
  const rc = (service: string, abstained = false) => ({
    output: { rootCauses: [{ summary: 's', service, category: 'dependency' as const, predictions: [], confidence: 0.8, evidenceIds: [] }], abstained, missingEvidence: [], reasoning: '', evidenceIds: [] },
    evidence: [topo('web', ['delivery']), topo('delivery', ['geo-api', 'slots-db']), topo('geo-api', []), topo('slots-db', [])],
  });

  it('is the root cause service and its callers, not a bystander beside them', () => {
    expect(faultPath(rc('geo-api'))).toEqual(new Set(['geo-api', 'delivery', 'web']));
  });

  it('is undefined (check everything) when the root cause abstained or is missing', () => {
    expect(faultPath(rc('geo-api', true))).toBeUndefined();
    expect(faultPath(undefined)).toBeUndefined();
  });
});

describe('healthyEdge', () => {
  it('widens the band to the worst value seen while healthy, never past half the excursion', async () => {
    const { healthyEdge } = await import('../../../functions/core/agents/verify.ts');
    const up = { baseline: 100, current: 1000, direction: 'up' as const };
    expect(healthyEdge(up, [90, 110, 180, 95])).toBe(180); // a healthy p99 spike to 180
    expect(healthyEdge(up, [90, 900])).toBe(550); // the window caught the fault's start: capped half-way
    expect(healthyEdge(up, [])).toBeUndefined();
    const down = { baseline: 1000, current: 100, direction: 'down' as const };
    expect(healthyEdge(down, [950, 700, 1020])).toBe(700);
    // the band recoveryBound / isRecovered judge with is widened to that edge, never narrowed by it
    expect(recoveryBound(up)).toBe(190); // baseline + 10% of the excursion
    expect(recoveryBound(up, 0, [90, 300, 95])).toBe(300);
    expect(recoveryBound(up, 0, [90, 110, 180])).toBe(190);
    expect(isRecovered(up, 250, 0, [90, 300])).toBe(true);
    expect(isRecovered(up, 250)).toBe(false);
  });
});
