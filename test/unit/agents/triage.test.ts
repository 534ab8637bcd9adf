import { describe, expect, it } from 'vitest';
import { classify, triage } from '../../../functions/core/agents/triage.ts';
import { citedEvidenceIds, type Evidence, type ImpactOutput, type LogAnalysisOutput, type SimilarOutput, TriageOutput } from '../../../functions/core/model.ts';
import { failing, fakeDeps, seedAgentRecord, seedIncident } from './fakes.ts';

const impactEvidence: Evidence[] = [
  { id: 'metric:stock-service:db_pool_active', kind: 'metric', source: 'telemetry', summary: 'pool', data: { utilisation: 1 } },
  { id: 'anomaly:stock-service:latency_p99_ms', kind: 'metric', source: 'telemetry', summary: 'lat' },
  { id: 'metric:stock-service:latency_p99_ms', kind: 'metric', source: 'telemetry', summary: 'lat' },
  { id: 'anomaly:stock-service:error_rate_pct', kind: 'metric', source: 'telemetry', summary: 'err' },
  { id: 'metric:stock-service:error_rate_pct', kind: 'metric', source: 'telemetry', summary: 'err' },
  { id: 'anomaly:web:latency_p99_ms', kind: 'metric', source: 'telemetry', summary: 'lat' },
  { id: 'metric:web:latency_p99_ms', kind: 'metric', source: 'telemetry', summary: 'lat' },
];
const impact: ImpactOutput = {
  anomalies: [
    { service: 'stock-service', metric: 'latency_p99_ms', baseline: 180, current: 4000, score: 400, direction: 'up', onset: '2026-03-14T12:04:00.000Z', evidenceIds: ['metric:stock-service:latency_p99_ms', 'anomaly:stock-service:latency_p99_ms'] },
    { service: 'stock-service', metric: 'error_rate_pct', baseline: 0.5, current: 18, score: 60, direction: 'up', onset: '2026-03-14T12:04:00.000Z', evidenceIds: ['metric:stock-service:error_rate_pct', 'anomaly:stock-service:error_rate_pct'] },
    { service: 'web', metric: 'latency_p99_ms', baseline: 400, current: 2400, score: 100, direction: 'up', onset: '2026-03-14T12:05:00.000Z', evidenceIds: ['metric:web:latency_p99_ms', 'anomaly:web:latency_p99_ms'] },
  ],
  blastRadius: ['stock-service', 'web'],
  usersImpacted: 47_000,
  revenuePerMinute: 18_400,
  severity: 'SEV1',
  onset: '2026-03-14T12:04:00.000Z',
  confidence: 0.85,
  reasoning: 'Stock-service pool saturated since 12:04; web latency ×6.',
  evidenceIds: ['anomaly:stock-service:latency_p99_ms'],
};
const logs: LogAnalysisOutput = {
  templates: [
    { id: 't2', template: 'HikariPool-<*> - Connection is not available, request timed out after <*>.', service: 'stock-service', level: 'ERROR', count: 40, firstSeen: '2026-03-14T12:04:30.000Z', lastSeen: '2026-03-14T12:25:00.000Z', novel: true, evidenceIds: ['log-template:stock-service:t2'] },
  ],
  totalLines: 40,
  firstErrorAt: '2026-03-14T12:04:30.000Z',
  reasoning: 'new pool timeouts',
  evidenceIds: ['log-template:stock-service:t2'],
};
const similar: SimilarOutput = {
  incidents: [{ id: 'INC-0901', title: 'stock-service pool starvation', score: 0.82, rootCause: 'pool maximum too low', resolution: 'Raise the pool maximum', evidenceIds: ['incident:INC-0901'] }],
  topMatch: 'INC-0901',
  suggestedRunbook: 'Raise the pool maximum from 10 to 30',
  reasoning: 'same service',
  evidenceIds: ['incident:INC-0901'],
};

const oncallTools = {
  getOnCall: async () => [
    { service: 'stock-service', primary: { name: 'Ana Ruiz', contact: '+1-555-0101' }, escalation: { name: 'Ben Ode', contact: '+1-555-0102' } },
    { service: 'web', primary: { name: 'Chen Li', contact: '@chen' } },
  ],
  getOwnership: async () => [
    { service: 'stock-service', team: 'Stock Platform', slackChannel: '#stock-incidents', sloTargetPct: 99.9, sloCurrentPct: 97.1 },
    { service: 'web', team: 'Web Experience', slackChannel: '#web-oncall' },
  ],
};

const seedAll = async (deps: ReturnType<typeof fakeDeps>, id: string) => {
  await seedAgentRecord(deps, id, 'impact', impact, impactEvidence);
  await seedAgentRecord(deps, id, 'logs', logs, [{ id: 'log-template:stock-service:t2', kind: 'log', source: 'logs', summary: 'pool timeouts' }]);
  await seedAgentRecord(deps, id, 'similar', similar, [{ id: 'incident:INC-0901', kind: 'incident', source: 'changes', summary: 'INC-0901' }]);
};

describe('unit: triage', () => {
  it('classifies, headlines, engages the origin team first and orders next steps', async () => {
    // Prepare
    const deps = fakeDeps({ tools: { oncall: oncallTools } });
    const id = await seedIncident(deps, { service: 'web', title: 'web p99 latency high' });
    await seedAll(deps, id);

    // Act
    const summary = await triage(deps)({ incidentId: id });

    // Assess
    const record = (await deps.store.getAgentRecord(id, 'triage'))!;
    const output = TriageOutput.parse(record.output);
    expect(output.classification).toMatch(/^saturation: db_pool_active at 100% of its maximum on stock-service/);
    expect(output.headline).toMatch(/^SEV1 ACTIVE: web saturation and latency and errors \(origin stock-service\) — 47,000 users, \$18,400\/min at risk$/);
    expect(output.teamsToEngage.map((t) => [t.team, t.service, t.oncall, t.contact])).toEqual([
      ['Stock Platform', 'stock-service', 'Ana Ruiz', '+1-555-0101'],
      ['Web Experience', 'web', 'Chen Li', '@chen'],
    ]);
    expect(output.teamsToEngage[0]).toMatchObject({ slackChannel: '#stock-incidents', escalation: 'Ben Ode (+1-555-0102)', evidenceIds: ['oncall:stock-service', 'ownership:stock-service'] });
    expect(output.nextSteps[0]).toMatch(/^Page Ana Ruiz \(Stock Platform, stock-service\)/);
    expect(output.nextSteps[1]).toMatch(/^Open the incident bridge in #stock-incidents, bring in Web Experience/);
    expect(output.nextSteps[2]).toMatch(/INC-0901/);
    expect(output.nextSteps.at(-1)).toMatch(/^Review changes to stock-service, web deployed since 2026-03-14T11:34:00.000Z/);
    expect(output.narrative).toMatch(/HikariPool/);
    expect(output.confidence).toBeGreaterThan(0.85);
    expect(summary.summary).toMatch(/^SEV1 ACTIVE: .*\[saturation\]; engage Stock Platform, Web Experience$/);
    // citations: own evidence or earlier agents' evidence
    const own = new Set(record.evidence.map((e) => e.id));
    const earlier = new Set([...impactEvidence.map((e) => e.id), 'log-template:stock-service:t2', 'incident:INC-0901']);
    for (const cited of citedEvidenceIds(output)) expect(own.has(cited) || earlier.has(cited)).toBe(true);
    expect(own).toContain('oncall:stock-service');
    expect(own).toContain('ownership:web');
  });

  it('still triages from the alert alone when earlier agents and on-call are unavailable', async () => {
    const deps = fakeDeps({ tools: { oncall: { getOnCall: failing('pagerduty down'), getOwnership: failing('pagerduty down') } } });
    const id = await seedIncident(deps, { service: 'web', severity: 'SEV2' });

    await triage(deps)({ incidentId: id });

    const record = (await deps.store.getAgentRecord(id, 'triage'))!;
    const output = TriageOutput.parse(record.output);
    expect(record.evidence.map((e) => e.id)).toEqual(['gap:oncall']);
    expect(output.headline).toMatch(/^SEV2 ACTIVE: web degraded$/);
    expect(output.classification).toMatch(/^unclassified/);
    expect(output.teamsToEngage).toEqual([]);
    expect(output.nextSteps.at(-1)).toMatch(/^Restore access to oncall/);
    expect(output.narrative).toMatch(/Missing inputs: impact, similar, logs/);
    expect(output.confidence).toBeLessThan(0.2);
    expect(output.evidenceIds).toEqual(['gap:oncall']);
  });

  it('rejects nothing valid: the output passes the schema with only ownership known', async () => {
    const deps = fakeDeps({ tools: { oncall: { getOwnership: oncallTools.getOwnership } } });
    const id = await seedIncident(deps, { service: 'web' });
    await seedAll(deps, id);
    await triage(deps)({ incidentId: id });
    const output = TriageOutput.parse((await deps.store.getAgentRecord(id, 'triage'))!.output);
    expect(output.teamsToEngage[0]).toMatchObject({ team: 'Stock Platform', oncall: 'unknown (no on-call schedule)', contact: '#stock-incidents', evidenceIds: ['ownership:stock-service'] });
  });
});

describe('unit: classify', () => {
  it('calls errors-only incidents errors, and a big error rate availability too', () => {
    const only = (current: number) =>
      classify({ output: { ...impact, anomalies: [{ service: 's', metric: 'error_rate_pct', baseline: 0.1, current, score: 50, direction: 'up', evidenceIds: ['anomaly:s:error_rate_pct'] }] }, evidence: [] }, undefined);
    expect(only(8).primary).toBe('errors');
    expect([...only(40).scores.keys()]).toEqual(['availability', 'errors']);
  });

  it('reads resource symptoms from log templates', () => {
    const c = classify(undefined, { ...logs, templates: [{ ...logs.templates[0], template: 'java.lang.OutOfMemoryError: Java heap space' }] });
    expect(c.primary).toBe('resource');
    expect(c.evidenceIds).toEqual(['log-template:stock-service:t2']);
  });
});
