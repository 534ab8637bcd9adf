/**
 * Verification after a rerun: the "after" time of the mitigation comes from the execution record or, when the executor
 * died after acting and before writing that record, from the action journal — points from before the action must
 * not decide whether the service recovered.
 */
import { describe, expect, it } from 'vitest';
import { mitigatedAt, verifyRecovery } from '../../../functions/core/agents/verify.ts';
import type { ExecutedAction, ImpactOutput, MitigationAction } from '../../../functions/core/model.ts';
import { MemoryActionJournal, stepKey } from '../../../functions/core/store/journal.ts';
import type { MetricSeries } from '../../../functions/core/tools/ports.ts';
import { fakeDeps, seedAgentRecord, seedIncident } from './fakes.ts';

const impact: ImpactOutput = {
  anomalies: [{ service: 'inventory-service', metric: 'latency_p99_ms', baseline: 120, current: 18_340, score: 9, direction: 'up', evidenceIds: [] }],
  blastRadius: [],
  usersImpacted: 0,
  revenuePerMinute: 0,
  severity: 'SEV1',
  confidence: 0.9,
  reasoning: '',
  evidenceIds: [],
};
const restart: Pick<MitigationAction, 'kind' | 'service' | 'target' | 'reversible'> = { kind: 'restart-service', service: 'inventory-service', reversible: false };
/** One point a minute from 12:25 to 12:29 (FAKE_NOW is 12:30): still failing until the restart at 12:28:30, then healthy. */
const latency: MetricSeries = {
  service: 'inventory-service',
  metric: 'latency_p99_ms',
  unit: 'ms',
  points: [18_000, 17_500, 18_200, 18_100, 125].map((v, i) => ({ t: new Date(Date.parse('2026-03-14T12:25:00Z') + i * 60_000).toISOString(), v })),
};
const RESTARTED_AT = '2026-03-14T12:28:30.000Z';

const setup = async () => {
  const journal = new MemoryActionJournal();
  const deps = fakeDeps({ journal, tools: { telemetry: { queryMetrics: async () => [latency] } } });
  const incidentId = await seedIncident(deps);
  await seedAgentRecord(deps, incidentId, 'impact', impact);
  return { deps, journal, incidentId };
};

describe('unit: verifyRecovery after an executor that died before writing its record', () => {
  it('judges only the points after the journalled action: one fresh minute is "not yet", not a pass nor a failure', async () => {
    // Prepare: the restart is journalled as done; the execution record was never written (the executor died)
    const { deps, journal, incidentId } = await setup();
    const done: ExecutedAction = { kind: 'restart-service', service: 'inventory-service', status: 'succeeded', detail: 'restarted', executedAt: '2026-03-14T12:28:00.000Z' };
    await journal.claim({ incidentId, mode: 'apply', action: restart, claimId: 'c1', claimedAt: '2026-03-14T12:28:00.000Z' });
    await journal.complete(incidentId, stepKey('apply', restart), 'c1', done, RESTARTED_AT);
    // Act
    const result = await verifyRecovery(deps)({ incidentId, attempt: 0, maxChecks: 3 });
    // Assess: only 12:29 is after 12:28:30 — the failing points before it are not judged, and one point decides nothing
    expect(result).toMatchObject({ recovered: false, exhausted: false, attempt: 1 });
    expect(result.summary).toMatch(/Not yet recovered/);
    const data = (await deps.store.getAgentRecord(incidentId, 'verification'))?.evidence.find((e) => e.id === 'metric:inventory-service:latency_p99_ms')?.data;
    expect(data).toMatchObject({ verdict: 'not-yet', freshMinutes: 1, mitigatedAt: RESTARTED_AT });
  });

  it('takes the later of the execution record and the journal, and the claim time of a step whose outcome is unknown', async () => {
    // Prepare
    const journal = new MemoryActionJournal();
    await journal.claim({ incidentId: 'inc-1', mode: 'apply', action: restart, claimId: 'c1', claimedAt: RESTARTED_AT });
    // Act
    const fromClaim = await mitigatedAt(journal, 'inc-1', undefined);
    const fromRecord = await mitigatedAt(journal, 'inc-1', { actions: [], executedAt: '2026-03-14T12:29:00.000Z' });
    const nothing = await mitigatedAt(new MemoryActionJournal(), 'inc-1', undefined);
    // Assess
    expect(fromClaim).toBe(Date.parse(RESTARTED_AT));
    expect(fromRecord).toBe(Date.parse('2026-03-14T12:29:00.000Z'));
    expect(nothing).toBeUndefined();
  });
});
