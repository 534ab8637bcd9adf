import { describe, expect, it } from 'vitest';
import { incidentSignals, readSignals, resolutionFor, type Signals } from '../../../functions/incident-signals/core.ts';
import { ToolUnavailable } from '../../../functions/core/tools/ports.ts';
import { withPartialGaps } from '../../../functions/core/tools/ports.ts';
import { failing, FAKE_NOW, fakeDeps, fakeQueryMetrics, type FakeSeriesSpec, fakeTools, seedAgentRecord, seedIncident } from '../agents/fakes.ts';
import { apiEvent, bodyOf, statusOf } from './fixtures.ts';

const ONSET = '2026-03-14T12:05:00.000Z';
/** Alert at 12:10 (fakeAlert), onset 12:05, now 12:30 (FAKE_NOW). */
const SPECS: FakeSeriesSpec[] = [
  { service: 'checkout-service', metric: 'latency_p99_ms', unit: 'ms', base: 200, changes: [{ at: ONSET, level: 900 }] },
  { service: 'checkout-service', metric: 'error_rate_pct', unit: '%', base: 0.5 },
  { service: 'checkout-service', metric: 'throughput_rps', unit: 'req/s', base: 120 },
  { service: 'inventory-service', metric: 'latency_p99_ms', unit: 'ms', base: 50, changes: [{ at: ONSET, level: 600 }] },
  { service: 'inventory-service', metric: 'db_pool_active', base: 10, changes: [{ at: ONSET, level: 50 }] },
  { service: 'inventory-service', metric: 'cpu_pct', base: 30 },
  { service: 'unrelated-service', metric: 'latency_p99_ms', base: 10 },
];

const impactOutput = {
  anomalies: [
    { service: 'checkout-service', metric: 'latency_p99_ms', baseline: 200, current: 900, score: 0.9, direction: 'up', onset: ONSET, evidenceIds: ['metric:checkout-service:latency_p99_ms'] },
    { service: 'inventory-service', metric: 'db_pool_active', baseline: 10, current: 50, score: 0.95, direction: 'up', onset: ONSET, evidenceIds: ['anomaly:inventory-service:db_pool_active'] },
  ],
  blastRadius: ['checkout-service', 'inventory-service'],
  usersImpacted: 100,
  revenuePerMinute: 10,
  severity: 'SEV2',
  onset: ONSET,
  confidence: 0.8,
  reasoning: 'r',
  evidenceIds: [],
};
const rootCauseOutput = {
  rootCauses: [
    {
      summary: 'CHG-1 shrank the pool of inventory-service',
      service: 'inventory-service',
      category: 'config-change',
      changeId: 'CHG-1',
      culprit: { kind: 'change', service: 'inventory-service', changeId: 'CHG-1' },
      predictions: [{ statement: 'the pool saturates', result: 'supported', evidenceIds: ['anomaly:inventory-service:db_pool_active'] }],
      confidence: 0.8,
      evidenceIds: ['change:CHG-1'],
    },
  ],
  abstained: false,
  missingEvidence: [],
  reasoning: 'r',
  evidenceIds: [],
};
const CHANGE = {
  id: 'CHG-1',
  service: 'inventory-service',
  type: 'config' as const,
  title: 'Pool size 50 → 10',
  description: 'd',
  deployedAt: '2026-03-14T12:04:00.000Z',
  state: 'implemented' as const,
};

const seeded = async (tools = fakeTools({ telemetry: { queryMetrics: fakeQueryMetrics(SPECS) }, changes: { listChanges: async () => [CHANGE] } })) => {
  const deps = fakeDeps({ tools });
  const id = await seedIncident(deps, { environment: 'prod' });
  await seedAgentRecord(deps, id, 'impact', impactOutput);
  await seedAgentRecord(deps, id, 'rootcause', rootCauseOutput);
  return { deps, id };
};

const series = (s: Signals, service: string, metric: string) => s.series.find((x) => x.service === service && x.metric === metric);

describe('unit: incident-signals', () => {
  it('charts the key metrics of the incident\'s service and the culprit, and the metric the top hypothesis cites', async () => {
    // Prepare
    const { deps, id } = await seeded();
    // Act
    const signals = await readSignals(deps, id, {});
    // Assess
    expect(signals.window).toEqual({ from: '2026-03-14T11:05:00.000Z', to: FAKE_NOW.toISOString() });
    expect(signals.onset).toBe(ONSET);
    expect(signals.series.map((s) => `${s.service} ${s.metric}`)).toEqual([
      'checkout-service latency_p99_ms',
      'checkout-service error_rate_pct',
      'checkout-service throughput_rps',
      'inventory-service latency_p99_ms',
      'inventory-service db_pool_active',
    ]);
    expect(series(signals, 'inventory-service', 'db_pool_active')?.points.length).toBeGreaterThan(60);
    expect(signals.gaps).toEqual([]);
  });

  it('draws the baseline band from before the onset, so the degraded points fall outside it', async () => {
    const { deps, id } = await seeded();
    const latency = series(await readSignals(deps, id, {}), 'checkout-service', 'latency_p99_ms');
    const band = latency?.baseline;
    expect(band).toBeDefined();
    expect(band!.low).toBeLessThan(200);
    expect(band!.high).toBeGreaterThan(200);
    expect(band!.high).toBeLessThan(400);
    expect(band!.mean).toBeCloseTo(200, -1);
    const after = latency!.points.filter((p) => Date.parse(p.t) > Date.parse(ONSET) + 60_000);
    expect(after.every((p) => p.v > band!.high)).toBe(true);
  });

  it('marks the onset, the detection, the change and, from the timeline, the action, the approval and the recovery', async () => {
    const { deps, id } = await seeded();
    await deps.store.appendEvent(id, { at: '2026-03-14T12:15:00.000Z', type: 'approval-approved', message: 'Mitigation approved by alice via console', actor: 'alice' });
    await deps.store.appendEvent(id, { at: '2026-03-14T12:16:00.000Z', type: 'mitigation-executed', message: 'revert-config inventory-service: ok', data: { actions: [{ service: 'inventory-service' }] } });
    await deps.store.appendEvent(id, { at: '2026-03-14T12:20:00.000Z', type: 'verification', message: 'not yet', data: { recovered: false } });
    await deps.store.appendEvent(id, { at: '2026-03-14T12:25:00.000Z', type: 'verification', message: 'recovered', data: { recovered: true } });
    const { markers } = await readSignals(deps, id, {});
    // The store's clock opened the incident at FAKE_NOW: the detection comes last here. The failed check is no marker.
    expect(markers.map((m) => m.kind)).toEqual(['change', 'onset', 'approval', 'action', 'recovered', 'detection']);
    expect(markers[0]).toEqual({ t: CHANGE.deployedAt, kind: 'change', label: 'CHG-1: Pool size 50 → 10', service: 'inventory-service' });
    expect(markers.find((m) => m.kind === 'action')?.service).toBe('inventory-service');
    expect(markers.find((m) => m.kind === 'detection')?.label).toBe('Alert received (dynatrace)');
  });

  it('reads through the ports in the incident\'s environment, the window the resolution fits', async () => {
    const calls: { environment?: string; resolutionSeconds?: number; services: string[] }[] = [];
    const changeCalls: unknown[] = [];
    const { deps, id } = await seeded(
      fakeTools({
        telemetry: { queryMetrics: fakeQueryMetrics(SPECS, calls as unknown[]) },
        changes: { listChanges: async (q) => (changeCalls.push(q), []) },
      }),
    );
    await readSignals(deps, id, {});
    expect(calls.every((c) => c.environment === 'prod' && c.resolutionSeconds === 60)).toBe(true);
    expect(changeCalls).toEqual([expect.objectContaining({ environment: 'prod', services: ['checkout-service', 'inventory-service'] })]);
    expect(resolutionFor(0, 7 * 86_400_000)).toBe(1680);
  });

  it('answers the series it could read and names the failures in gaps, never failing the whole answer', async () => {
    const { deps, id } = await seeded(
      fakeTools({
        telemetry: {
          queryMetrics: async (q) => {
            if (q.services.length === 1) throw new ToolUnavailable('telemetry', 'Dynatrace answered 503');
            return withPartialGaps(await fakeQueryMetrics(SPECS)(q), [{ api: 'metrics.query', service: 'checkout-service', metric: 'throughput_rps', reason: 'throttled' }]);
          },
        },
        changes: { listChanges: failing('ServiceNow timed out') },
      }),
    );
    const signals = await readSignals(deps, id, {});
    expect(series(signals, 'checkout-service', 'latency_p99_ms')?.points.length).toBeGreaterThan(0);
    expect(series(signals, 'inventory-service', 'db_pool_active')).toBeUndefined();
    expect(signals.gaps).toEqual([
      { port: 'telemetry', reason: 'metrics.query: throttled', service: 'checkout-service', metric: 'throughput_rps' },
      { port: 'telemetry', reason: 'Dynatrace answered 503', service: 'inventory-service', metric: 'db_pool_active' },
      { port: 'changes', reason: 'ServiceNow timed out' },
    ]);
    expect(signals.markers.some((m) => m.kind === 'change')).toBe(false);
  });

  it('without agent records charts the incident\'s service from an hour before the alert\'s start', async () => {
    const deps = fakeDeps({ tools: fakeTools({ telemetry: { queryMetrics: fakeQueryMetrics(SPECS) } }) });
    const id = await seedIncident(deps);
    const signals = await readSignals(deps, id, {});
    expect(signals.onset).toBe('2026-03-14T12:10:00.000Z');
    expect(signals.window.from).toBe('2026-03-14T11:10:00.000Z');
    expect(new Set(signals.series.map((s) => s.service))).toEqual(new Set(['checkout-service']));
    expect(signals.markers[0]).toMatchObject({ kind: 'onset', label: "Onset (the alert's start)" });
  });

  it('ends the default window at the resolution plus a margin', async () => {
    const deps = fakeDeps({ tools: fakeTools({ telemetry: { queryMetrics: fakeQueryMetrics(SPECS) } }) });
    const id = await seedIncident(deps);
    await deps.store.updateIncident(id, { status: 'RESOLVED', resolvedAt: '2026-03-14T11:50:00.000Z' } as never);
    const resolvedEarly = await readSignals({ ...deps, clock: () => new Date('2026-03-15T00:00:00.000Z') }, id, {});
    expect(resolvedEarly.window.to).toBe('2026-03-14T12:20:00.000Z');
  });

  it('takes the window from the query, validated', async () => {
    const { deps, id } = await seeded();
    const handler = incidentSignals(deps);
    const ok = await handler(apiEvent('GET /incidents/{id}/signals', { path: { id }, query: { from: '2026-03-14T12:00:00Z', to: '2026-03-14T12:10:00+00:00' }, secret: null }));
    expect(statusOf(ok)).toBe(200);
    expect(bodyOf(ok).window).toEqual({ from: '2026-03-14T12:00:00.000Z', to: '2026-03-14T12:10:00.000Z' });
    for (const query of [{ from: 'yesterday' } as Record<string, string>, { from: '2026-03-14T12:10:00Z', to: '2026-03-14T12:00:00Z' }, { from: '2026-01-01T00:00:00Z', to: '2026-03-14T00:00:00Z' }]) {
      const bad = await handler(apiEvent('GET /incidents/{id}/signals', { path: { id }, query, secret: null }));
      expect(statusOf(bad), JSON.stringify(query)).toBe(400);
    }
  });

  it('answers 404 for an unknown incident, on the console route too', async () => {
    const { deps } = await seeded();
    const handler = incidentSignals(deps);
    expect(statusOf(await handler(apiEvent('GET /incidents/{id}/signals', { path: { id: 'nope' }, secret: null })))).toBe(404);
    expect(statusOf(await handler(apiEvent('GET /console/incidents/{id}/signals', { path: { id: 'nope' }, secret: null })))).toBe(404);
  });
});
