/**
 * The report side of alert resolution: an incident whose approval was withdrawn because every alert resolved
 * closes RESOLVED with outcome `self-recovered`, and the report says what happened.
 */
import { describe, expect, it } from 'vitest';
import { decideOutcome, renderReport } from '../../../functions/core/agents/report.ts';
import type { PlanOutput } from '../../../functions/core/model.ts';
import type { IncidentMeta } from '../../../functions/core/store/store.ts';

const incident: IncidentMeta = {
  incidentId: 'inc-1',
  status: 'AWAITING_APPROVAL',
  severity: 'SEV2',
  title: 'inventory-service p99 latency above 2 s',
  service: 'inventory-service',
  source: 'alertmanager',
  dedupKey: 'fp:2024-05-01T12:08:00.000Z',
  createdAt: '2024-05-01T12:08:05.000Z',
  updatedAt: '2024-05-01T12:20:00.000Z',
  startedAt: '2024-05-01T12:08:00.000Z',
  alertCount: 4,
  distinctAlerts: 2,
  resolvedAlerts: 2,
  approval: {
    status: 'WITHDRAWN',
    requestedAt: '2024-05-01T12:12:00.000Z',
    decidedAt: '2024-05-01T12:19:00.000Z',
    approver: 'autopilot',
    channel: 'retool',
    comment: 'every alert resolved on its own (2 of 2) while the mitigation awaited approval',
  },
};

const plan: PlanOutput = {
  immediate: [{ kind: 'rollback-change', service: 'inventory-service', target: 'CR2077', params: {}, description: 'Roll back CR2077', risk: 'medium', reversible: true, evidenceIds: [] }],
  longTerm: [],
  risk: 'medium',
  reversible: true,
  autoApprove: false,
  rationale: 'CR2077 halved the pool',
  evidenceIds: [],
};

describe('unit: report for an incident whose alerts resolved while approval was pending', () => {
  it('closes RESOLVED as self-recovered, before any other rule', () => {
    expect(decideOutcome({ incident, plan })).toMatchObject({ status: 'RESOLVED', outcome: 'self-recovered', why: expect.stringMatching(/every alert \(2 of 2\) resolved on its own.*nothing was executed/) });
  });

  it('says so in the summary and the approval section, and lists the mitigation as not executed', () => {
    const outcome = decideOutcome({ incident, plan });
    const markdown = renderReport({ incident, plan }, outcome, { detail: { incident, alerts: [], agents: {}, timeline: [] }, evidence: new Map(), closedAt: '2024-05-01T12:19:05.000Z', durationSeconds: 665 });
    expect(markdown).toContain('RESOLVED (self-recovered)');
    expect(markdown).toMatch(/Outcome: \*\*resolved\*\* — every alert \(2 of 2\) resolved on its own/);
    expect(markdown).toMatch(/Withdrawn at 2024-05-01T12:19:00.000Z before anyone decided \(requested 2024-05-01T12:12:00.000Z via retool\)/);
    expect(markdown).toMatch(/None executed\. Proposed:\n- Roll back CR2077/);
  });
});
