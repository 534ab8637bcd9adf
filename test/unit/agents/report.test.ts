import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidIncidentId, type ReportInputs, writeReport } from '../../../functions/core/agents/report.ts';
import type { ExecutionOutput, ImpactOutput, PlanOutput, RootCauseOutput, TriageOutput, VerificationOutput } from '../../../functions/core/model.ts';
import type { PastIncident } from '../../../functions/core/tools/ports.ts';
import { FakeIncidentStore, fakeDeps, seedAgentRecord, seedIncident } from './fakes.ts';

const anomaly = { service: 'inventory-service', metric: 'latency_p99_ms', baseline: 120, current: 18_340, score: 9, direction: 'up' as const, onset: '2026-03-14T12:10:00.000Z', evidenceIds: ['anomaly:inventory-service:latency_p99_ms'] };
const impact = (anomalies = [anomaly]): ImpactOutput => ({ anomalies, blastRadius: ['checkout-service', 'inventory-service'], usersImpacted: 47_000, revenuePerMinute: 18_400, severity: 'SEV1', onset: anomalies[0]?.onset, confidence: 0.9, reasoning: '', evidenceIds: [] });
const triage: TriageOutput = { classification: 'connection pool', headline: 'Checkout timing out: inventory DB pool starved', narrative: 'Flash-sale traffic.', teamsToEngage: [], nextSteps: [], confidence: 0.9, evidenceIds: [] };
const rootcause: RootCauseOutput = {
  rootCauses: [
    {
      summary: 'CR2077 "Tune HikariCP pool settings" reduced maximum-pool-size 20 → 10',
      service: 'inventory-service',
      category: 'config-change',
      changeId: 'CR2077',
      predictions: [
        { statement: 'the anomaly starts after CR2077 was deployed', result: 'supported', evidenceIds: ['change:CR2077'] },
        { statement: 'errors mention the pool', result: 'supported', evidenceIds: ['log-template:inventory-service:t1'] },
      ],
      confidence: 0.97,
      evidenceIds: ['change:CR2077', 'log-template:inventory-service:t1'],
    },
    { summary: 'Traffic surge beyond the capacity of inventory-service', service: 'inventory-service', category: 'capacity', predictions: [{ statement: 'traffic rose before the onset', result: 'refuted', evidenceIds: [] }], confidence: 0.18, evidenceIds: [] },
  ],
  abstained: false,
  missingEvidence: [],
  rollbackCandidate: 'CR2077',
  reasoning: 'Ruled out: CR2081 (confidence 0: deployed 5 min AFTER the onset: it cannot have caused it).',
  evidenceIds: [],
};
const plan = (immediate: PlanOutput['immediate']): PlanOutput => ({ immediate, longTerm: ['Alert on pool saturation'], risk: 'low', reversible: true, autoApprove: true, rationale: 'revert', evidenceIds: [] });
const revert = { kind: 'revert-config' as const, service: 'inventory-service', target: 'maximum-pool-size', params: {}, description: 'Revert maximum-pool-size from 10 back to 20', risk: 'low' as const, reversible: true, evidenceIds: [] };
const execution: ExecutionOutput = { actions: [{ kind: 'revert-config', service: 'inventory-service', target: 'maximum-pool-size', status: 'succeeded', detail: 'reverted', executedAt: '2026-03-14T12:20:00.000Z' }], executedAt: '2026-03-14T12:20:00.000Z' };
const verification = (recovered: boolean): VerificationOutput => ({ attempt: 1, recovered, checks: [{ service: 'inventory-service', metric: 'latency_p99_ms', baseline: 120, before: 18_340, after: recovered ? 130 : 9000, recovered, evidenceIds: [] }], checkedAt: '2026-03-14T12:28:00.000Z' });

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const setup = async (records: Record<string, unknown>, recordIncident?: (q: { incident: PastIncident }) => Promise<void>) => {
  const store = new FakeIncidentStore();
  const recorded: PastIncident[] = [];
  const deps = fakeDeps({ store, tools: { changes: { recordIncident: recordIncident ?? (async ({ incident }) => void recorded.push(incident)) } } });
  const incidentId = await seedIncident(deps, { startedAt: '2026-03-14T12:10:00.000Z' });
  await seedAgentRecord(deps, incidentId, 'impact', impact(), [{ id: 'anomaly:inventory-service:latency_p99_ms', kind: 'metric', source: 'telemetry', summary: 'p99 120 → 18340 ms' }]);
  for (const [agent, output] of Object.entries(records)) {
    // The impact agent always read metrics here (a record without any is an investigation that could not see).
    const evidence =
      agent === 'rootcause'
        ? [{ id: 'change:CR2077', kind: 'change' as const, source: 'changes', summary: 'CR2077 Tune HikariCP pool settings' }]
        : agent === 'impact'
          ? [{ id: 'metric:inventory-service:latency_p99_ms', kind: 'metric' as const, source: 'telemetry', summary: 'inventory-service latency_p99_ms series' }]
          : [];
    await seedAgentRecord(deps, incidentId, agent as 'plan', output, evidence);
  }
  return { deps, store, recorded, incidentId };
};

describe('writeReport', () => {
  it('resolves a recovered incident: RCA markdown, file, status, history and the Resolved event', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'rca-'));
    dirs.push(dir);
    const reportDir = join(dir, 'nested', 'reports');
    const { deps, store, recorded, incidentId } = await setup({ triage, rootcause, plan: plan([revert]), execution, verification: verification(true) });
    await store.updateIncident(incidentId, { approval: { status: 'AUTO_APPROVED', approver: 'policy', decidedAt: '2026-03-14T12:19:00.000Z' } });
    await store.appendEvent(incidentId, { type: 'mitigation-executed', message: 'revert-config maximum-pool-size: succeeded', at: '2026-03-14T12:20:00.000Z' });
    // Act
    const result = await writeReport(deps, { reportDir })({ incidentId });
    // Assess
    const location = join(reportDir, `${incidentId}.md`);
    expect(result).toMatchObject({
      agent: 'report',
      detailType: 'Incident Resolved',
      detail: { incidentId, status: 'RESOLVED', outcome: 'resolved', severity: 'SEV2', service: 'checkout-service', rootCause: { changeId: 'CR2077', confidence: 0.97 }, durationSeconds: 20 * 60, reportLocation: location },
    });
    const markdown = await readFile(location, 'utf8');
    for (const section of ['## Summary', '## Impact', '## Timeline', '## Root cause', '## Hypotheses considered', '## Actions taken', '## Approval', '## Verification', '## Follow-ups']) expect(markdown).toContain(section);
    expect(markdown).toContain('`change:CR2077` — CR2077 Tune HikariCP pool settings');
    expect(markdown).toContain('CR2081 (confidence 0: deployed 5 min AFTER the onset');
    expect(markdown).toContain('refuted: traffic rose before the onset');
    expect(markdown).toMatch(/\| inventory-service \| latency_p99_ms \| 120 \| 18340 \| 130 \| yes \|/);
    expect(markdown).toContain('Auto-approved by policy');
    expect(markdown).toContain('- [ ] Alert on pool saturation');
    expect(markdown).toMatch(/2026-03-14T12:20:00.000Z — mitigation-executed/);
    expect(await store.getIncident(incidentId)).toMatchObject({ status: 'RESOLVED', outcome: 'resolved', reportLocation: location, resolvedAt: '2026-03-14T12:30:00.000Z' });
    expect(recorded).toEqual([expect.objectContaining({ id: incidentId, category: 'config-change', resolution: 'Revert maximum-pool-size from 10 back to 20', resolutionMinutes: 20 })]);
  });

  it("a rerun of an incident people resolved leaves their cause and fix in the history (records nothing over it)", async () => {
    // Prepare: a recovered incident that people resolved before this (re)run of the report
    const { deps, store, recorded, incidentId } = await setup({ triage, rootcause, plan: plan([revert]), execution, verification: verification(true) });
    const meta = store.incidents.get(incidentId)!;
    store.incidents.set(incidentId, {
      ...meta,
      resolution: {
        cause: { service: 'postgres', category: 'database', summary: 'vacuum' },
        fix: 'killed the vacuum',
        by: 'ana',
        at: '2026-03-14T13:00:00.000Z',
        statusBefore: 'RESOLVED',
        grade: { graded: true, matched: false, why: 'x' },
      },
    });
    // Act
    const result = await writeReport(deps)({ incidentId });
    // Assess
    expect(result).toMatchObject({ detailType: 'Incident Resolved' });
    expect(recorded).toEqual([]);
  });

  it('shows the incident severity in the header and says when the measured one is lower (a measurement never lowers it)', async () => {
    // Prepare: the alert said SEV2 (META), the measured impact is SEV4
    const { deps, incidentId } = await setup({ impact: { ...impact([]), severity: 'SEV4' }, triage, rootcause, plan: plan([revert]), execution, verification: verification(true) });
    // Act
    await writeReport(deps)({ incidentId });
    // Assess
    const markdown = String(((await deps.store.getAgentRecord(incidentId, 'report'))!.output as { markdown: string }).markdown);
    expect(markdown).toMatch(/^\| [^|]+ \| checkout-service \| SEV2 \|/m);
    expect(markdown).toContain("Measured severity SEV4 (the incident keeps the alert's SEV2: a measurement never lowers it)");
  });

  it('escalates a rejected mitigation and names the approver; stores the report in DynamoDB by default', async () => {
    const { deps, store, recorded, incidentId } = await setup({ rootcause, plan: plan([revert]) });
    await store.requestApproval(incidentId, 'tok', { status: 'PENDING', requestedAt: '2026-03-14T12:15:00.000Z' });
    await store.decideApproval(incidentId, 'reject', 'alice', 'not during the sale');
    const result = await writeReport(deps)({ incidentId });
    expect(result).toMatchObject({ detailType: 'Incident Escalated', detail: { status: 'ESCALATED', outcome: 'rejected', reportLocation: `dynamodb://${incidentId}/AGENT#report` } });
    const report = (await store.getAgentRecord(incidentId, 'report'))?.output as { markdown: string; outcome: string };
    expect(report.outcome).toBe('rejected');
    expect(report.markdown).toMatch(/Status \*\*REJECTED\*\* by alice/);
    expect(report.markdown).toContain('Comment: "not during the sale"');
    expect(report.markdown).toContain('None executed. Proposed:');
    expect(recorded).toEqual([]);
  });

  it('resolves a false alarm with no action', async () => {
    const { deps, incidentId } = await setup({ impact: impact([]), rootcause: { ...rootcause, rootCauses: [], abstained: true, rollbackCandidate: undefined }, plan: plan([]) });
    const result = await writeReport(deps)({ incidentId });
    expect(result).toMatchObject({ detailType: 'Incident Resolved', detail: { status: 'RESOLVED', outcome: 'no-action' } });
    expect(result.detail.rootCause).toBeUndefined();
  });

  it('escalates when the root cause abstained, and after a not-recovered escalation', async () => {
    const abstained = await setup({ rootcause: { ...rootcause, abstained: true, missingEvidence: ['error traces'] }, plan: plan([]) });
    expect((await writeReport(abstained.deps)({ incidentId: abstained.incidentId })).detail).toMatchObject({ status: 'ESCALATED', outcome: 'escalated' });

    const failed = await setup({ rootcause, plan: plan([revert]), execution, verification: verification(false) });
    await failed.store.updateIncident(failed.incidentId, { status: 'ESCALATED', outcome: 'not-recovered' });
    const result = await writeReport(failed.deps)({ incidentId: failed.incidentId });
    expect(result).toMatchObject({ detailType: 'Incident Escalated', summary: expect.stringMatching(/did not recover/) });
  });

  it('leaves out a stored output that does not match its schema, says so, and does not claim a recovery it cannot read', async () => {
    // Prepare: the verification record was written by another version (recovered is a string, checks missing).
    const { deps, store, incidentId } = await setup({ triage, rootcause, plan: plan([revert]), execution, verification: { attempt: 1, recovered: 'yes' } });
    // Act
    const result = await writeReport(deps)({ incidentId });
    // Assess
    expect(result.detail.status).toBe('ESCALATED');
    const report = (await store.getAgentRecord(incidentId, 'report'))?.output as { markdown: string };
    expect(report.markdown).toMatch(/- \[ \] Repair the stored verification record, left out of this report: it does not match its schema \(recovered: /);
    expect(report.markdown).toContain('CR2077');
  });

  it('says the impact was not measured when no metric could be read, rather than "no metric deviated"', async () => {
    // Prepare: the impact agent saw only a telemetry gap.
    const { deps, store, incidentId } = await setup({ rootcause: { ...rootcause, rootCauses: [], abstained: true, rollbackCandidate: undefined }, plan: plan([]) });
    await seedAgentRecord(deps, incidentId, 'impact', impact([]), [{ id: 'gap:telemetry', kind: 'gap', source: 'telemetry', summary: 'telemetry unavailable: environment "w1" is not a known simulated world' }]);
    // Act
    await writeReport(deps)({ incidentId });
    // Assess
    const { markdown } = (await store.getAgentRecord(incidentId, 'report'))?.output as { markdown: string };
    expect(markdown).toContain('Impact not measured: no metric could be read (telemetry unavailable: environment "w1" is not a known simulated world)');
    expect(markdown).not.toContain('No metric deviated from its baseline.');
  });

  it('keeps the report when the history cannot be updated', async () => {
    const { deps, store, incidentId } = await setup({ rootcause, plan: plan([revert]), execution, verification: verification(true) }, async () => {
      throw new Error('ServiceNow 503');
    });
    const result = await writeReport(deps)({ incidentId });
    expect(result.detail.status).toBe('RESOLVED');
    expect(store.timeline.get(incidentId)?.some((e) => e.type === 'history-not-updated')).toBe(true);
  });

  it('refuses an incident id that cannot name a file', async () => {
    const deps = fakeDeps();
    const incidentId = await seedIncident(deps, {}, '../escape');
    await expect(writeReport(deps, { reportDir: tmpdir() })({ incidentId })).rejects.toBeInstanceOf(InvalidIncidentId);
  });
});

describe('decideOutcome when the monitoring could not be read', () => {
  it('escalates instead of closing as a false alarm, and says why', async () => {
    const { decideOutcome, metricsUnread } = await import('../../../functions/core/agents/report.ts');
    const blind = {
      agent: 'impact' as const,
      output: {},
      evidence: [{ id: 'gap:telemetry.queryMetrics', kind: 'gap' as const, source: 'telemetry.queryMetrics', summary: 'telemetry.queryMetrics unavailable: Dynatrace unavailable: 503' }],
      latencyMs: 1,
      reasoner: 'offline',
      toolCalls: [],
      completedAt: '2026-03-14T12:30:00.000Z',
    };
    const seeing = { ...blind, evidence: [{ id: 'metric:a:latency_p99_ms', kind: 'metric' as const, source: 'telemetry', summary: 'a latency' }] };
    const base: ReportInputs = {
      incident: { incidentId: 'i', status: 'INVESTIGATING', severity: 'SEV2', title: 't', service: 'a', source: 'dynatrace', dedupKey: 'k', createdAt: '', updatedAt: '', startedAt: '', alertCount: 1 },
      impact: { anomalies: [], blastRadius: [], usersImpacted: 0, revenuePerMinute: 0, severity: 'SEV4', confidence: 0, reasoning: '', evidenceIds: [] },
      plan: { immediate: [], longTerm: [], risk: 'low', reversible: true, autoApprove: false, rationale: '', evidenceIds: [] },
    };
    expect(decideOutcome({ ...base, metricsUnread: metricsUnread(blind) })).toMatchObject({ status: 'ESCALATED', why: expect.stringMatching(/503/) });
    expect(decideOutcome({ ...base, metricsUnread: metricsUnread(seeing) })).toMatchObject({ status: 'RESOLVED', outcome: 'no-action' });
    expect(metricsUnread(undefined)).toMatch(/did not run/);
  });
});
