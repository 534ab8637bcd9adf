import { describe, expect, it } from 'vitest';
import { approvalUrl, requestApproval } from '../../../functions/core/agents/approval.ts';
import { PlanNotFound } from '../../../functions/core/agents/plan.ts';
import type { PlanOutput, RootCauseOutput, TriageOutput } from '../../../functions/core/model.ts';
import { FakeIncidentStore, RecordingPublisher, fakeDeps, seedAgentRecord, seedIncident } from './fakes.ts';

const TOKEN = 'AQB8AAAAKgAAAAMAAAAAAAAAAS-secret-task-token';

const plan: PlanOutput = {
  immediate: [{ kind: 'rollback-change', service: 'checkout-service', target: 'CR3001', params: {}, description: 'Roll back CR3001', risk: 'medium', reversible: true, evidenceIds: [] }],
  longTerm: ['Canary analysis'],
  risk: 'medium',
  reversible: true,
  autoApprove: false,
  rationale: 'deploy rollback needs a human',
  evidenceIds: [],
};
const rootcause: RootCauseOutput = {
  rootCauses: [{ summary: 'CR3001 broke pricing', service: 'checkout-service', category: 'bad-deploy', changeId: 'CR3001', predictions: [], confidence: 0.93, evidenceIds: [] }],
  abstained: false,
  missingEvidence: [],
  rollbackCandidate: 'CR3001',
  reasoning: '',
  evidenceIds: [],
};
const triage: TriageOutput = { classification: 'bad deploy', headline: 'Checkout failing after CR3001', narrative: '', teamsToEngage: [], nextSteps: [], confidence: 0.9, evidenceIds: [] };

/** A fake `fetch` that records requests and answers with `status` (or throws `error`). */
const fakeFetch = (status = 200, error?: Error) => {
  const requests: { url: string; init: RequestInit }[] = [];
  const fn = (async (url: string | URL | Request, init?: RequestInit) => {
    requests.push({ url: String(url), init: init ?? {} });
    if (error) throw error;
    return new Response('{}', { status });
  }) as typeof fetch;
  return { fn, requests };
};

const setup = async () => {
  const store = new FakeIncidentStore();
  const events = new RecordingPublisher();
  const deps = fakeDeps({ store, events });
  const incidentId = await seedIncident(deps);
  await seedAgentRecord(deps, incidentId, 'plan', plan);
  await seedAgentRecord(deps, incidentId, 'rootcause', rootcause);
  await seedAgentRecord(deps, incidentId, 'triage', triage);
  return { deps, store, events, incidentId };
};

const retoolOptions = (f: typeof fetch) => ({ retoolUrl: 'https://api.retool.com/v1/workflows/wf-1/startTrigger', retoolApiKey: async () => 'retool-key', apiBaseUrl: 'https://api.example.com/prod/', fetch: f });

describe('requestApproval', () => {
  it('stores the token server-side, marks the incident AWAITING_APPROVAL and publishes Approval Requested without the token', async () => {
    // Prepare
    const { deps, store, events, incidentId } = await setup();
    // Act
    const result = await requestApproval(deps)({ incidentId, taskToken: TOKEN, timeoutSeconds: 3600 });
    // Assess
    expect(result).toMatchObject({ incidentId, agent: 'plan' });
    const incident = await store.getIncident(incidentId);
    expect(incident?.status).toBe('AWAITING_APPROVAL');
    expect(incident?.approval).toMatchObject({ status: 'PENDING', requestedAt: '2026-03-14T12:30:00.000Z', expiresAt: '2026-03-14T13:30:00.000Z', channel: 'api' });
    expect(events.published).toHaveLength(1);
    expect(events.published[0]).toMatchObject({
      detailType: 'Approval Requested',
      detail: { incidentId, headline: 'Checkout failing after CR3001', risk: 'medium', severity: 'SEV2', requestedAt: '2026-03-14T12:30:00.000Z', expiresAt: '2026-03-14T13:30:00.000Z', approvalUrl: `/incidents/${incidentId}/approval` },
    });
    expect(JSON.stringify(events.published)).not.toContain(TOKEN);
    expect(JSON.stringify(store.timeline.get(incidentId))).not.toContain(TOKEN);
    // the stored token is what a decision returns
    expect((await store.decideApproval(incidentId, 'approve', 'alice')).taskToken).toBe(TOKEN);
  });

  it('POSTs the decision context to Retool with the API key header, never the token', async () => {
    const { deps, incidentId, events } = await setup();
    const f = fakeFetch(200);
    await requestApproval(deps, retoolOptions(f.fn))({ incidentId, taskToken: TOKEN, timeoutSeconds: 600 });
    expect(f.requests).toHaveLength(1);
    const { url, init } = f.requests[0];
    expect(url).toBe('https://api.retool.com/v1/workflows/wf-1/startTrigger');
    expect(init.method).toBe('POST');
    expect(init.headers).toMatchObject({ 'X-Workflow-Api-Key': 'retool-key', 'Content-Type': 'application/json' });
    const body = JSON.parse(String(init.body));
    expect(body).toMatchObject({
      incidentId,
      headline: 'Checkout failing after CR3001',
      rootCause: { summary: 'CR3001 broke pricing', changeId: 'CR3001', confidence: 0.93 },
      plan: { risk: 'medium', reversible: true, actions: [{ kind: 'rollback-change', target: 'CR3001', risk: 'medium', reversible: true }] },
      approval: { method: 'POST', url: `https://api.example.com/prod/incidents/${incidentId}/approval` },
    });
    expect(String(init.body)).not.toContain(TOKEN);
    expect(events.published[0].detail.approvalUrl).toBe(`https://api.example.com/prod/incidents/${incidentId}/approval`);
  });

  it('keeps the approval pending and records the failure when Retool is down', async () => {
    const { deps, store, incidentId } = await setup();
    const f = fakeFetch(502);
    const result = await requestApproval(deps, retoolOptions(f.fn))({ incidentId, taskToken: TOKEN, timeoutSeconds: 600 });
    expect(result.summary).toMatch(/Retool unreachable/);
    expect((await store.getIncident(incidentId))?.approval?.status).toBe('PENDING');
    const failed = store.timeline.get(incidentId)?.find((e) => e.type === 'approval-channel-failed');
    expect(failed?.message).toMatch(/HTTP 502/);
  });

  it('survives a network error from Retool too', async () => {
    const { deps, store, incidentId } = await setup();
    await requestApproval(deps, retoolOptions(fakeFetch(200, new TypeError('fetch failed')).fn))({ incidentId, taskToken: TOKEN, timeoutSeconds: 600 });
    expect(store.timeline.get(incidentId)?.some((e) => e.type === 'approval-channel-failed' && /fetch failed/.test(e.message))).toBe(true);
  });

  it('fails with PlanNotFound when there is no plan', async () => {
    const deps = fakeDeps();
    const incidentId = await seedIncident(deps);
    await expect(requestApproval(deps)({ incidentId, taskToken: TOKEN, timeoutSeconds: 60 })).rejects.toBeInstanceOf(PlanNotFound);
  });
});

describe('approvalUrl', () => {
  it('joins the base URL without doubling slashes and encodes the id', () => {
    expect(approvalUrl('https://x.test/', 'inc 1')).toBe('https://x.test/incidents/inc%201/approval');
    expect(approvalUrl(undefined, 'inc-1')).toBe('/incidents/inc-1/approval');
  });
});
