import { describe, expect, it } from 'vitest';
import { escalate } from '../../../functions/core/agents/escalate.ts';
import type { TriageOutput } from '../../../functions/core/model.ts';
import { FakeIncidentStore, fakeDeps, seedAgentRecord, seedIncident } from './fakes.ts';

const triage: TriageOutput = {
  classification: 'database',
  headline: 'Checkout slow',
  narrative: '',
  teamsToEngage: [{ team: 'inventory-team', service: 'inventory-service', oncall: 'Priya', contact: 'priya@example.com', escalation: 'Marco', slackChannel: '#inventory', evidenceIds: [] }],
  nextSteps: [],
  confidence: 0.9,
  evidenceIds: [],
};

describe('escalate', () => {
  it('on approval timeout: ESCALATED, the pending approval EXPIRED, the triage contacts named', async () => {
    // Prepare
    const store = new FakeIncidentStore();
    const deps = fakeDeps({ store });
    const incidentId = await seedIncident(deps);
    await seedAgentRecord(deps, incidentId, 'triage', triage);
    await store.requestApproval(incidentId, 'token', { status: 'PENDING', requestedAt: '2026-03-14T11:30:00.000Z' });
    // Act
    const result = await escalate(deps)({ incidentId, reason: 'approval-timeout' });
    // Assess
    const incident = await store.getIncident(incidentId);
    expect(incident).toMatchObject({ status: 'ESCALATED', outcome: 'approval-timeout', approval: { status: 'EXPIRED', requestedAt: '2026-03-14T11:30:00.000Z' } });
    expect(result.contacts[0]).toMatch(/inventory-team.*Priya.*Marco/);
    expect(store.timeline.get(incidentId)?.find((e) => e.type === 'escalated')?.message).toMatch(/Priya/);
    // a late decision can no longer consume the approval
    await expect(store.decideApproval(incidentId, 'approve', 'late')).rejects.toThrow(/expired/);
  });

  it('when not recovered, falls back to the on-call tool without a triage record and leaves the approval alone', async () => {
    const store = new FakeIncidentStore();
    const deps = fakeDeps({
      store,
      tools: { oncall: { getOnCall: async () => [{ service: 'checkout-service', primary: { name: 'Sam', contact: 'sam@example.com' } }] } },
    });
    const incidentId = await seedIncident(deps);
    await store.updateIncident(incidentId, { approval: { status: 'APPROVED', approver: 'alice' } });
    const result = await escalate(deps)({ incidentId, reason: 'not-recovered' });
    expect(result.summary).toMatch(/did not return to baseline.*Sam/);
    expect(await store.getIncident(incidentId)).toMatchObject({ status: 'ESCALATED', outcome: 'not-recovered', approval: { status: 'APPROVED' } });
  });
});
