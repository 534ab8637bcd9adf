import { describe, expect, it } from 'vitest';
import { affectedShare, analyzeImpact, incidentWindows, severityFrom, topologyNeighbourhood } from '../../../functions/core/agents/impact.ts';
import { citedEvidenceIds, ImpactOutput } from '../../../functions/core/model.ts';
import type { ServiceNode, Trace } from '../../../functions/core/tools/ports.ts';
import { failing, type FakeSeriesSpec, fakeDeps, fakeQueryMetrics, seedIncident } from './fakes.ts';

const TOPOLOGY: ServiceNode[] = [
  { name: 'web-frontend', tier: 'frontend', calls: ['orders-api'] },
  { name: 'orders-api', tier: 'backend', calls: ['stock-service', 'pricing'] },
  { name: 'stock-service', tier: 'backend', calls: ['stock-db'] },
  { name: 'pricing', tier: 'backend', calls: [] },
  { name: 'stock-db', tier: 'database', calls: [] },
];
const CHANGE_AT = '2026-03-14T12:04:00Z';

/** A world where stock-service's pool saturates at 12:04 and the degradation propagates upstream. */
const degradedWorld: FakeSeriesSpec[] = [
  { service: 'stock-service', metric: 'latency_p99_ms', base: 180, changes: [{ at: CHANGE_AT, level: 4000 }] },
  { service: 'stock-service', metric: 'error_rate_pct', base: 0.5, noise: 0.2, changes: [{ at: CHANGE_AT, level: 30 }] },
  { service: 'stock-service', metric: 'db_pool_active', base: 6, noise: 0.1, changes: [{ at: CHANGE_AT, level: 10 }] },
  { service: 'stock-service', metric: 'db_pool_max', base: 10, noise: 0 },
  { service: 'orders-api', metric: 'latency_p99_ms', base: 300, changes: [{ at: '2026-03-14T12:05:00Z', level: 4200 }] },
  { service: 'orders-api', metric: 'error_rate_pct', base: 0.3, noise: 0.2, changes: [{ at: '2026-03-14T12:05:00Z', level: 12 }] },
  { service: 'web-frontend', metric: 'latency_p99_ms', base: 450, changes: [{ at: '2026-03-14T12:05:00Z', level: 4500 }] },
  { service: 'web-frontend', metric: 'error_rate_pct', base: 0.2, noise: 0.2, changes: [{ at: '2026-03-14T12:05:00Z', level: 10 }] },
  { service: 'web-frontend', metric: 'active_users', base: 40_000, noise: 0.01 },
  { service: 'web-frontend', metric: 'revenue_per_min', base: 15_000, noise: 0.02, changes: [{ at: '2026-03-14T12:06:00Z', level: 9_000 }] },
  { service: 'pricing', metric: 'latency_p99_ms', base: 90 },
  { service: 'pricing', metric: 'error_rate_pct', base: 0.1, noise: 0.2 },
];
const quietWorld: FakeSeriesSpec[] = degradedWorld.map(({ changes: _changes, ...s }) => s);

const errorTrace: Trace = {
  traceId: 'abc123',
  rootService: 'orders-api',
  startedAt: '2026-03-14T12:20:00Z',
  totalMs: 30_050,
  status: 'ERROR',
  spans: [
    { spanId: '1', service: 'orders-api', operation: 'POST /orders', startedAt: '2026-03-14T12:20:00Z', durationMs: 30_050, status: 'ERROR', error: 'upstream failed' },
    { spanId: '2', parentSpanId: '1', service: 'stock-service', operation: 'reserve', startedAt: '2026-03-14T12:20:00Z', durationMs: 30_000, status: 'ERROR', error: 'pool timeout' },
    { spanId: '3', parentSpanId: '1', service: 'pricing', operation: 'quote', startedAt: '2026-03-14T12:20:00Z', durationMs: 20, status: 'OK' },
  ],
};

const run = async (specs: FakeSeriesSpec[], overrides: Parameters<typeof fakeDeps>[0] = {}) => {
  const calls: unknown[] = [];
  const deps = fakeDeps({
    tools: {
      telemetry: { getTopology: async () => TOPOLOGY, queryMetrics: fakeQueryMetrics(specs, calls), getTraces: async () => [errorTrace] },
    },
    ...overrides,
  });
  const id = await seedIncident(deps, { service: 'orders-api', title: 'orders-api p99 latency high', startedAt: '2026-03-14T12:10:00Z', severity: 'SEV3' });
  const summary = await analyzeImpact(deps)({ incidentId: id });
  const record = (await deps.store.getAgentRecord(id, 'impact'))!;
  return { deps, id, summary, record, output: ImpactOutput.parse(record.output), calls };
};

describe('unit: analyzeImpact', () => {
  it('finds the sustained anomalies, the blast radius with its user-facing caller, users, revenue and SEV1', async () => {
    // Act
    const { output, summary, calls } = await run(degradedWorld);

    // Assess: what was asked
    expect((calls[0] as { services: string[] }).services).toEqual(expect.arrayContaining(['orders-api', 'stock-service', 'stock-db', 'pricing', 'web-frontend']));
    // anomalies and blast radius
    const keys = output.anomalies.map((a) => `${a.service}:${a.metric}`);
    expect(keys).toEqual(expect.arrayContaining(['stock-service:latency_p99_ms', 'stock-service:error_rate_pct', 'stock-service:db_pool_active', 'orders-api:latency_p99_ms', 'web-frontend:latency_p99_ms']));
    expect(keys).not.toContain('pricing:latency_p99_ms');
    expect(keys).not.toContain('web-frontend:active_users');
    expect(output.blastRadius).toEqual(expect.arrayContaining(['stock-service', 'orders-api', 'web-frontend']));
    expect(output.blastRadius).not.toContain('pricing');
    // onset = the earliest sustained anomaly, within 2 minutes of the change
    expect(Math.abs(Date.parse(output.onset!) - Date.parse(CHANGE_AT))).toBeLessThanOrEqual(2 * 60_000);
    // users and revenue: the frontend's p99 ×10 means every active user is affected; revenue at risk ≥ the observed drop
    expect(output.usersImpacted).toBeGreaterThan(38_000);
    expect(output.usersImpacted).toBeLessThan(42_000);
    expect(output.revenuePerMinute).toBeGreaterThan(14_000);
    expect(output.severity).toBe('SEV1');
    expect(output.confidence).toBeGreaterThan(0.7);
    expect(summary).toMatchObject({ agent: 'impact' });
    expect(summary.summary).toMatch(/^SEV1/);
  });

  it('cites only evidence that exists, with the conventional ids', async () => {
    const { record } = await run(degradedWorld);
    const ids = new Set(record.evidence.map((e) => e.id));
    for (const id of citedEvidenceIds(record.output)) expect(ids).toContain(id);
    expect(ids).toContain('topology:orders-api');
    expect(ids).toContain('metric:stock-service:db_pool_active');
    expect(ids).toContain('anomaly:stock-service:db_pool_active');
    expect(ids).toContain('trace:abc123');
    const pool = record.evidence.find((e) => e.id === 'metric:stock-service:db_pool_active')!;
    expect((pool.data as { utilisation: number }).utilisation).toBeGreaterThan(0.9);
    expect(record.evidence.find((e) => e.id === 'trace:abc123')!.summary).toMatch(/error originates in stock-service/);
  });

  it('reports SEV4 and no anomalies on a quiet world', async () => {
    const { output } = await run(quietWorld, {});
    expect(output.anomalies).toEqual([]);
    expect(output.severity).toBe('SEV4');
    expect(output.usersImpacted).toBe(0);
    expect(output.onset).toBeUndefined();
    // the traced error still marks its origin as affected
    expect(output.blastRadius).toEqual(['stock-service', 'web-frontend']);
  });

  it('records a gap and keeps the alert severity when metrics are unavailable', async () => {
    const deps = fakeDeps({ tools: { telemetry: { getTopology: async () => TOPOLOGY, queryMetrics: failing('dynatrace 503') } } });
    const id = await seedIncident(deps, { service: 'orders-api', severity: 'SEV2' });

    await analyzeImpact(deps)({ incidentId: id });

    const record = (await deps.store.getAgentRecord(id, 'impact'))!;
    const output = ImpactOutput.parse(record.output);
    expect(record.evidence.find((e) => e.id === 'gap:telemetry')).toMatchObject({ kind: 'gap', summary: expect.stringContaining('dynatrace 503') });
    expect(record.toolCalls.some((c) => !c.ok)).toBe(true);
    expect(output.severity).toBe('SEV2');
    expect(output.confidence).toBeLessThan(0.3);
    expect(output.evidenceIds).toContain('gap:telemetry');
  });

  it('raises the incident severity to the measured SEV1 and says so on the timeline', async () => {
    // Act: the alert said SEV3; the measured impact is SEV1
    const { deps, id, output } = await run(degradedWorld);

    // Assess
    expect(output.severity).toBe('SEV1');
    const detail = (await deps.store.getDetail(id))!;
    expect(detail.incident.severity).toBe('SEV1');
    expect(detail.timeline.find((e) => e.type === 'severity-raised')).toMatchObject({ actor: 'impact', data: { from: 'SEV3', to: 'SEV1' } });
  });

  it('never lowers the alert severity when the measured impact is smaller', async () => {
    // Act: the alert said SEV3; nothing is degraded (SEV4)
    const { deps, id, output } = await run(quietWorld);

    // Assess
    expect(output.severity).toBe('SEV4');
    const detail = (await deps.store.getDetail(id))!;
    expect(detail.incident.severity).toBe('SEV3');
    expect(detail.timeline.some((e) => e.type === 'severity-raised')).toBe(false);
  });

  it('goes on without topology (only the alert service is measured)', async () => {
    const calls: unknown[] = [];
    const deps = fakeDeps({ tools: { telemetry: { getTopology: failing(), queryMetrics: fakeQueryMetrics(degradedWorld, calls) } } });
    const id = await seedIncident(deps, { service: 'orders-api', startedAt: '2026-03-14T12:10:00Z' });
    await analyzeImpact(deps)({ incidentId: id });
    const output = ImpactOutput.parse((await deps.store.getAgentRecord(id, 'impact'))!.output);
    expect((calls[0] as { services: string[] }).services).toEqual(['orders-api']);
    expect(output.blastRadius).toEqual(['orders-api']);
    expect(output.severity).toBe('SEV2'); // p99 ×14 without user metrics
  });

  it('reports a slow leak that began before the baseline window as a trend anomaly dated by its start', async () => {
    // Prepare: stock-service memory climbs from 10:30 (before the 10:55 window start) at +6 MB/min; nothing else moves.
    const leak: FakeSeriesSpec[] = [
      ...quietWorld.filter((s) => s.service !== 'stock-service'),
      { service: 'stock-service', metric: 'memory_mb', base: 900, noise: 0.01, changes: [{ at: '2026-03-14T10:30:00Z', level: 900 + 6 * 180, rampMinutes: 180 }] },
      { service: 'stock-service', metric: 'throughput_rps', base: 300, noise: 0.02, changes: [{ at: '2026-03-14T10:30:00Z', level: 300 * 1.6, rampMinutes: 180 }] },
    ];

    // Act
    const { output, record } = await run(leak);

    // Assess: memory is flagged (a climb the wrong way); rising throughput is not a degradation.
    const memory = output.anomalies.find((a) => a.metric === 'memory_mb')!;
    expect(memory).toMatchObject({ service: 'stock-service', direction: 'up' });
    expect(Date.parse(memory.onset!)).toBeLessThanOrEqual(Date.parse('2026-03-14T11:00:00Z'));
    expect(output.anomalies.find((a) => a.metric === 'throughput_rps')).toBeUndefined();
    expect(record.evidence.find((e) => e.id === 'anomaly:stock-service:memory_mb')!.summary).toMatch(/climbing steadily up/);
  });

  it('compares with the same minutes yesterday when a day-long creep has cooked the hour before (and only then)', async () => {
    // stock-service's memory has crept from 900 MB since yesterday 20:00 to ~1500 now: +4 % over the window, lost in
    // its noise; its p99 followed (GC). Yesterday at this time both were at their base.
    const creep: FakeSeriesSpec[] = [
      ...quietWorld.filter((s) => s.service !== 'stock-service'),
      { service: 'stock-service', metric: 'memory_mb', base: 900, noise: 0.04, changes: [{ at: '2026-03-13T20:00:00Z', level: 1500, rampMinutes: 960 }] },
      { service: 'stock-service', metric: 'latency_p99_ms', base: 180, noise: 0.08, changes: [{ at: '2026-03-13T20:00:00Z', level: 420, rampMinutes: 960 }] },
      { service: 'stock-service', metric: 'throughput_rps', base: 300, noise: 0.05, changes: [{ at: '2026-03-13T20:00:00Z', level: 150, rampMinutes: 960 }] },
    ];
    const { output, record, calls } = await run(creep);
    const memory = output.anomalies.find((a) => a.service === 'stock-service' && a.metric === 'memory_mb')!;
    expect(memory).toMatchObject({ direction: 'up' });
    expect(memory.baseline).toBeLessThan(1000);
    expect(record.evidence.find((e) => e.id === 'anomaly:stock-service:memory_mb')).toMatchObject({ data: { pattern: 'day-over-day' }, summary: expect.stringMatching(/same time yesterday/) });
    expect(output.anomalies.find((a) => a.service === 'stock-service' && a.metric === 'latency_p99_ms')).toBeDefined();
    // Throughput swings day to day with the business: never judged so.
    expect(output.anomalies.find((a) => a.metric === 'throughput_rps')).toBeUndefined();
    // The day-before query covers the same minutes a day earlier.
    const dayBefore = (calls as { from: string; to: string }[]).find((q) => Date.parse(q.from) < Date.parse('2026-03-14T00:00:00Z') && Date.parse(q.to) < Date.parse('2026-03-14T00:00:00Z'));
    expect(dayBefore).toBeDefined();

    // A quiet world yesterday and today: nothing, and a world with an anomaly in the window asks nothing of yesterday.
    expect((await run(quietWorld)).output.anomalies).toEqual([]);
    const degraded = await run(degradedWorld);
    expect((degraded.calls as { to: string }[]).some((q) => Date.parse(q.to) < Date.parse('2026-03-14T00:00:00Z'))).toBe(false);
  });

  it('fails with IncidentNotFound for an unknown incident', async () => {
    await expect(analyzeImpact(fakeDeps())({ incidentId: 'nope' })).rejects.toMatchObject({ name: 'IncidentNotFound' });
  });
});

describe('unit: impact helpers', () => {
  it('walks callers transitively and callees to depth 2', () => {
    const hood = topologyNeighbourhood(TOPOLOGY, 'stock-service');
    expect(hood.callers).toEqual(['orders-api', 'web-frontend']);
    expect(hood.callees).toEqual(['stock-db']);
    expect([...hood.upstreamOf('stock-db')]).toEqual(['stock-service', 'orders-api', 'web-frontend']);
  });

  it('puts the baseline well before the alert and caps a rerun window', () => {
    expect(incidentWindows('2026-03-14T12:10:00Z', new Date('2026-03-14T12:30:00Z'))).toEqual({ from: '2026-03-14T10:55:00.000Z', to: '2026-03-14T12:30:00.000Z', baselineEnd: '2026-03-14T11:55:00.000Z' });
    expect(incidentWindows('2026-03-14T12:10:00Z', new Date('2026-03-20T00:00:00Z')).to).toBe('2026-03-14T13:10:00.000Z');
  });

  it('computes the affected share as the largest of errors, latency and drops', () => {
    expect(affectedShare({ errorExcessPct: 10 })).toBeCloseTo(0.1);
    expect(affectedShare({ latencyRatio: 2.5 })).toBeCloseTo(0.5);
    expect(affectedShare({ latencyRatio: 10, errorExcessPct: 5 })).toBe(1);
    expect(affectedShare({ dropFraction: 0.3, errorExcessPct: 1 })).toBeCloseTo(0.3);
  });

  it('derives severity from the policy thresholds', () => {
    const base = { usersImpacted: 0, revenuePerMinute: 0, affectedShare: 0, worstErrorPct: 0, worstLatencyRatio: 1, userFacing: true };
    expect(severityFrom({ ...base, worstErrorPct: 30 }, true).severity).toBe('SEV1');
    expect(severityFrom({ ...base, usersImpacted: 20_000 }, true).severity).toBe('SEV1');
    expect(severityFrom({ ...base, usersImpacted: 20_000, userFacing: false }, true).severity).toBe('SEV2');
    expect(severityFrom({ ...base, worstLatencyRatio: 3.5 }, true).severity).toBe('SEV2');
    expect(severityFrom(base, true).severity).toBe('SEV3');
    expect(severityFrom(base, false).severity).toBe('SEV4');
  });
});

describe('unit: what a metric means (load is not failure)', () => {
  it.each(['consumed_write_capacity_units', 'ConsumedReadCapacityUnits', 'lambda_invocations', 'sqs_messages_received'])('%s is load: only a drop is a failure', async (name) => {
    const { metricTrait } = await import('../../../functions/core/agents/impact.ts');
    const { isTrafficMetric, isFailureSignal } = await import('../../../functions/core/analysis/hypotheses.ts');
    expect(metricTrait(name)).toEqual({ kind: 'throughput', bad: 'down' });
    expect(isTrafficMetric(name)).toBe(true);
    // A lunch peak raising consumed capacity is more load, not a fault that dates the incident.
    expect(isFailureSignal({ metric: name, direction: 'up', current: 40 })).toBe(false);
    expect(isFailureSignal({ metric: name, direction: 'down', current: 1 })).toBe(true);
  });
});

describe('unit: what the resource and expiry metrics of the world mean', () => {
  it.each([
    ['throttled_rps', { kind: 'errors', bad: 'up' }],
    ['ThrottledRequests', { kind: 'errors', bad: 'up' }],
    ['queue_oldest_age_s', { kind: 'saturation', bad: 'up' }],
    ['queue_depth', { kind: 'saturation', bad: 'up' }],
    ['cert_days_to_expiry', { kind: 'other', bad: 'down' }],
    ['disk_used_pct', { kind: 'resource', bad: 'up' }],
    ['open_fds', { kind: 'resource', bad: 'up' }],
    ['fd_limit', { kind: 'resource', bad: 'down' }],
    ['quota_limit_rps', { kind: 'saturation', bad: 'down' }],
  ] as const)('%s', async (name, trait) => {
    const { metricTrait } = await import('../../../functions/core/agents/impact.ts');
    expect(metricTrait(name)).toEqual(trait);
  });
});
