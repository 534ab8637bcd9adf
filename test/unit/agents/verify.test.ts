import { describe, expect, it } from 'vitest';
import { FRESH_POINTS, faultPath, healthyReference, judgeRecovery, metricsToVerify, recoveryBound, verifyRecovery } from '../../../functions/core/agents/verify.ts';
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
    // Prepare: latency back near 120 ms (one noisy point among the newest three), error rate back near 0.1 %
    const { deps, incidentId } = await setup({ latency: [900, 130, 4000, 125, 128], errors: [3, 0.12, 0.09, 0.11] });
    // Act
    const result = await verifyRecovery(deps)({ incidentId, attempt: 0, maxChecks: 5 });
    // Assess
    expect(result).toMatchObject({ incidentId, attempt: 1, recovered: true, exhausted: false });
    expect((await deps.store.getIncident(incidentId))?.status).toBe('VERIFYING');
    const out = VerificationOutput.parse((await deps.store.getAgentRecord(incidentId, 'verification'))?.output);
    expect(out.checks).toEqual([
      expect.objectContaining({ service: 'inventory-service', baseline: 120, before: 18_340, after: 128, recovered: true }),
      expect.objectContaining({ service: 'checkout-service', after: 0.11, recovered: true }),
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

  it('does not call a metric without recent data recovered: "not yet", one more check, then it gives up', async () => {
    const { deps, incidentId } = await setup('none');
    const first = await verifyRecovery(deps)({ incidentId, attempt: 0, maxChecks: 1 });
    expect(first).toMatchObject({ recovered: false, exhausted: false });
    expect(first.summary).toMatch(/Not yet recovered.*no data/);
    const grace = await verifyRecovery(deps)({ incidentId, attempt: 1, maxChecks: 1 });
    expect(grace).toMatchObject({ recovered: false, exhausted: true });
  });

  it('a 5x error rate after the fix is not recovered, though 90% of the excursion is gone', async () => {
    const { deps, incidentId } = await setup({ latency: [125, 118, 122], errors: [0.5, 0.52, 0.5] }); // stuck at 5x, not improving
    const result = await verifyRecovery(deps)({ incidentId, attempt: 4, maxChecks: 5 });
    expect(result).toMatchObject({ recovered: false, exhausted: true });
    expect(result.summary).toMatch(/checkout-service error_rate_pct 0.5 vs healthy 0.1/);
  });

  it('asks for the minutes the workflow waited since the mitigation, and records what it compared', async () => {
    // Prepare: executed at 12:26; three checks of 120 s waited → evidence up to 12:32, past the fake clock (12:30)
    let asked: { from: string; to: string } | undefined;
    const deps = fakeDeps({
      tools: {
        telemetry: {
          queryMetrics: async (q: { from: string; to: string }) => {
            asked ??= { from: q.from, to: q.to };
            return [series('inventory-service', 'latency_p99_ms', [18_000, 121, 119, 124, 120])];
          },
        },
      },
    });
    const incidentId = await seedIncident(deps);
    await seedAgentRecord(deps, incidentId, 'impact', { ...impact, anomalies: [impact.anomalies[0]!] });
    await seedAgentRecord(deps, incidentId, 'execution', { actions: [], executedAt: '2026-03-14T12:26:00.000Z' });
    // Act
    const result = await verifyRecovery(deps)({ incidentId, attempt: 2, maxChecks: 5, waitSeconds: 120 });
    // Assess: the window reaches 12:26 + 3 × 120 s; only points after 12:26 count (12:25 is pre-fix, 12:26 the action's own minute)
    expect(asked?.to).toBe('2026-03-14T12:32:00.000Z');
    expect(result.recovered).toBe(true);
    const record = await deps.store.getAgentRecord(incidentId, 'verification');
    const data = record?.evidence.find((e) => e.id === 'metric:inventory-service:latency_p99_ms')?.data as Record<string, unknown>;
    expect(data).toMatchObject({ verdict: 'recovered', freshMinutes: 3, median: 120, mitigatedAt: '2026-03-14T12:26:00.000Z' });
    expect((data.points as unknown[]).length).toBe(FRESH_POINTS);
  });
});

describe('recovery band', () => {
  it('is the healthy median plus the larger of NOISE_Z robust sigmas and 25% of the level', () => {
    // A healthy hour with no error at all measures no noise: a trickle after the fix is recovered once 90 % of the
    // excursion is gone, not judged against a σ of 0 (which would undo a fix that worked).
    const silent = healthyReference({ baseline: 0 }, Array(60).fill(0));
    expect(silent.zeroLevel).toBe(true);
    const t0 = Date.parse('2025-01-01T12:00:00Z');
    const fresh = (vs: number[]) => vs.map((v, i) => ({ t: new Date(t0 + (i + 1) * 60_000).toISOString(), v }));
    expect(judgeRecovery({ direction: 'up', current: 20 }, fresh([1, 0, 1]), t0, silent).verdict).toBe('recovered');
    expect(judgeRecovery({ direction: 'up', current: 20 }, fresh([0.5, 0.4, 0.6]), t0, silent).verdict).toBe('recovered');
    expect(judgeRecovery({ direction: 'up', current: 20 }, fresh([5, 6, 5]), t0, silent).verdict).toBe('not-recovered');
    expect(healthyReference({ baseline: 0 }, [0, 0, 0.1, 0, 0]).zeroLevel).toBeUndefined();
    expect(recoveryBound({ direction: 'up' }, { median: 120, scale: 6 })).toBe(150);
    expect(recoveryBound({ direction: 'up' }, { median: 0.09, scale: 0.03 })).toBeCloseTo(0.09 + 3.5 * 0.03);
    expect(recoveryBound({ direction: 'down' }, { median: 1000, scale: 100 })).toBe(650);
  });

  it('widens to a level the healthy hour held for three minutes, never beyond twice the tolerance', () => {
    // healthy p99 ~100 (σ 5) that wandered to ~135 for three minutes: 130 after the fix is that, not a fault
    const ref = healthyReference({ baseline: 100 }, [100, 98, 102, 101, 99, 100, 133, 135, 137, 101, 99, 100]);
    expect(ref.heldHigh).toBe(135);
    expect(recoveryBound({ direction: 'up' }, ref)).toBe(135);
    // a window that caught a fault's start (held 400) widens only to twice the tolerance
    expect(recoveryBound({ direction: 'up' }, { median: 100, scale: 5, heldHigh: 400 })).toBe(150);
    // a single healthy spike is not a held level
    expect(healthyReference({ baseline: 100 }, [100, 98, 400, 101, 99]).heldHigh).toBe(101);
  });

  it('takes the healthy window when it has points, else the impact baseline with its scale', () => {
    const ref = healthyReference({ baseline: 100 }, [98, 100, 102, 101, 99, 400]);
    expect(ref).toMatchObject({ source: 'healthy-window', median: 100.5, n: 6 });
    expect(ref.scale).toBeLessThan(10); // one healthy spike does not widen the noise
    expect(healthyReference({ baseline: 0.09 }, [], 0.03)).toMatchObject({ source: 'impact-baseline', median: 0.09, scale: 0.03 });
  });
});

describe('judgeRecovery', () => {
  const pts = (values: number[], start = '2026-03-14T12:25:00Z') => values.map((v, i) => ({ t: new Date(Date.parse(start) + i * 60_000).toISOString(), v }));
  const ref = { median: 100, scale: 5 };
  const up = { direction: 'up' as const };

  it('recovers on the median of the newest fresh minutes, not on one point that dips', () => {
    expect(judgeRecovery(up, pts([900, 880, 95, 910]), undefined, ref).verdict).toBe('not-recovered');
    expect(judgeRecovery(up, pts([900, 101, 97, 400]), undefined, ref)).toMatchObject({ verdict: 'recovered', median: 101 });
  });

  it('counts only points after the mitigation, one per minute', () => {
    const since = Date.parse('2026-03-14T12:27:00Z');
    const points = [...pts([900, 900, 900, 100, 99]), { t: '2026-03-14T12:29:40.000Z', v: 98 }];
    expect(judgeRecovery(up, points, since, ref)).toMatchObject({ verdict: 'not-yet', fresh: 2 });
  });

  it('says "not yet" while converging (the newest minute is back in), and "not recovered" for a fix that did nothing', () => {
    expect(judgeRecovery(up, pts([600, 300, 104]), undefined, ref)).toMatchObject({ verdict: 'not-yet', reason: expect.stringMatching(/converging/) });
    expect(judgeRecovery(up, pts([600, 610, 590, 605]), undefined, ref)).toMatchObject({ verdict: 'not-recovered' });
    // a slow ramp: each minute closer, over half the excursion (100 → 900) gone — not yet; a ramp that has not got that far is out
    expect(judgeRecovery({ ...up, current: 900 }, pts([600, 450, 300]), undefined, ref)).toMatchObject({ verdict: 'not-yet', reason: expect.stringMatching(/closer to healthy/) });
    expect(judgeRecovery({ ...up, current: 900 }, pts([800, 700, 600]), undefined, ref).verdict).toBe('not-recovered');
    expect(judgeRecovery({ ...up, current: 900 }, pts([300, 450, 320]), undefined, ref).verdict).toBe('not-recovered');
  });

  it('is direction-aware: below the healthy level is fine for a metric that went up, and vice versa', () => {
    expect(judgeRecovery(up, pts([40, 41, 39]), undefined, ref).verdict).toBe('recovered');
    const down = { direction: 'down' as const };
    expect(judgeRecovery(down, pts([700, 690, 710]), undefined, { median: 1000, scale: 20 }).verdict).toBe('not-recovered');
    expect(judgeRecovery(down, pts([990, 1200, 960]), undefined, { median: 1000, scale: 20 }).verdict).toBe('recovered');
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
