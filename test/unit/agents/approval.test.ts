import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { approvalUrl, checkRetoolUrl, requestApproval, RetoolUrlInvalid } from '../../../functions/core/agents/approval.ts';
import { PlanNotFound } from '../../../functions/core/agents/plan.ts';
import { ApprovalLinks, deriveLinkKey, verifyApprovalLink } from '../../../functions/core/approval-links.ts';
import type { PlanOutput, RootCauseOutput, TriageOutput } from '../../../functions/core/model.ts';
import { StaticSecret } from '../../../functions/core/secrets.ts';
import { FakeIncidentStore, RecordingPublisher, fakeDeps, seedAgentRecord, seedIncident } from './fakes.ts';

const TOKEN = 'AQB8AAAAKgAAAAMAAAAAAAAAAS-secret-task-token';
const WEBHOOK_SECRET = 'webhook-secret-for-links-0123456789';
const REQUEST_ID = 'req-0001';

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
const impact = { anomalies: [], blastRadius: ['checkout-service', 'web-frontend'], usersImpacted: 12000, revenuePerMinute: 850, severity: 'SEV2', confidence: 0.8, reasoning: '', evidenceIds: [] };

/** A fake `fetch` that records requests and answers with the given statuses in turn (or throws `error`). */
const fakeFetch = (statuses: number[] = [200], error?: Error) => {
  const requests: { url: string; init: RequestInit }[] = [];
  const fn = (async (url: string | URL | Request, init?: RequestInit) => {
    requests.push({ url: String(url), init: init ?? {} });
    if (error) throw error;
    return new Response('{}', { status: statuses[Math.min(requests.length - 1, statuses.length - 1)] });
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
  await seedAgentRecord(deps, incidentId, 'impact', impact);
  return { deps, store, events, incidentId };
};

const options = (f: typeof fetch, extra: Record<string, unknown> = {}) => ({
  retoolUrl: 'https://api.retool.com/v1/workflows/wf-1/startTrigger',
  retoolApiKey: async () => 'retool_wk_test-key',
  apiBaseUrl: 'https://api.example.com/prod/',
  links: new ApprovalLinks(new StaticSecret(WEBHOOK_SECRET)),
  newRequestId: () => REQUEST_ID,
  retoolBackoffMs: 1,
  fetch: f,
  ...extra,
});

const tokenOf = (link: string): string => decodeURIComponent(link.split('/approvals/')[1]);

describe('unit: requestApproval', () => {
  it('stores the token server-side with a request id, marks the incident AWAITING_APPROVAL and publishes Approval Requested without the token', async () => {
    // Prepare
    const { deps, store, events, incidentId } = await setup();
    // Act
    const result = await requestApproval(deps, { newRequestId: () => REQUEST_ID })({ incidentId, taskToken: TOKEN, timeoutSeconds: 3600 });
    // Assess
    expect(result).toMatchObject({ incidentId, agent: 'plan' });
    const incident = await store.getIncident(incidentId);
    expect(incident?.status).toBe('AWAITING_APPROVAL');
    expect(incident?.approval).toMatchObject({ status: 'PENDING', requestedAt: '2026-03-14T12:30:00.000Z', expiresAt: '2026-03-14T13:30:00.000Z', channel: 'api' });
    expect(incident?.approval?.requestId).toBe(REQUEST_ID);
    expect(events.published).toHaveLength(1);
    expect(events.published[0]).toMatchObject({
      detailType: 'Approval Requested',
      detail: { incidentId, approvalRequestId: REQUEST_ID, headline: 'Checkout failing after CR3001', risk: 'medium', severity: 'SEV2', expiresAt: '2026-03-14T13:30:00.000Z', approvalUrl: `/incidents/${incidentId}/approval` },
    });
    expect(JSON.stringify(events.published)).not.toContain(TOKEN);
    expect(JSON.stringify(store.timeline.get(incidentId))).not.toContain(TOKEN);
    expect((await store.decideApproval(incidentId, 'approve', 'alice')).taskToken).toBe(TOKEN);
  });

  it('draws a fresh approval request id for every request', async () => {
    // Prepare
    const { deps, store, incidentId } = await setup();
    // Act
    await requestApproval(deps)({ incidentId, taskToken: TOKEN, timeoutSeconds: 60 });
    const first = (await store.getIncident(incidentId))?.approval?.requestId;
    await requestApproval(deps)({ incidentId, taskToken: `${TOKEN}-2`, timeoutSeconds: 60 });
    const second = (await store.getIncident(incidentId))?.approval?.requestId;
    // Assess
    expect(first).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(second).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(second).not.toBe(first);
  });

  it('triggers Retool with headline, impact, root cause, plan, signed links and the API endpoint; the key only in X-Workflow-Api-Key', async () => {
    // Prepare
    const { deps, incidentId } = await setup();
    const f = fakeFetch([200]);
    // Act
    await requestApproval(deps, options(f.fn))({ incidentId, taskToken: TOKEN, timeoutSeconds: 600 });
    // Assess
    expect(f.requests).toHaveLength(1);
    const { url, init } = f.requests[0];
    expect(url).toBe('https://api.retool.com/v1/workflows/wf-1/startTrigger');
    expect(new URL(url).search).toBe('');
    expect(init.method).toBe('POST');
    expect(init.headers).toMatchObject({ 'X-Workflow-Api-Key': 'retool_wk_test-key', 'Content-Type': 'application/json' });
    const body = JSON.parse(String(init.body));
    expect(body).toMatchObject({
      incidentId,
      approvalRequestId: REQUEST_ID,
      headline: 'Checkout failing after CR3001',
      incident: { id: incidentId, severity: 'SEV2', url: `https://api.example.com/prod/incidents/${incidentId}` },
      impact: { usersImpacted: 12000, revenuePerMinute: 850, blastRadius: ['checkout-service', 'web-frontend'] },
      rootCause: { summary: 'CR3001 broke pricing', changeId: 'CR3001', confidence: 0.93 },
      plan: { risk: 'medium', reversible: true, actions: [{ kind: 'rollback-change', target: 'CR3001', risk: 'medium', reversible: true }] },
      expiresAt: '2026-03-14T12:40:00.000Z',
      approval: {
        requestId: REQUEST_ID,
        expiresAt: '2026-03-14T12:40:00.000Z',
        api: { method: 'POST', url: `https://api.example.com/prod/incidents/${incidentId}/approval`, header: 'x-autopilot-secret', body: { channel: 'retool', requestId: REQUEST_ID } },
      },
    });
    expect(String(init.body)).not.toContain(TOKEN);
    expect(String(init.body)).not.toContain(WEBHOOK_SECRET);
  });

  it('signs approve and reject links bound to the incident, the decision, the request and the approval deadline', async () => {
    // Prepare
    const { deps, incidentId } = await setup();
    const f = fakeFetch([200]);
    // Act
    await requestApproval(deps, options(f.fn))({ incidentId, taskToken: TOKEN, timeoutSeconds: 600 });
    // Assess
    const { links } = JSON.parse(String(f.requests[0].init.body)).approval as { links: { approve: string; reject: string } };
    expect(links.approve).toMatch(/^https:\/\/api\.example\.com\/prod\/approvals\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const key = deriveLinkKey(WEBHOOK_SECRET);
    const deadline = Date.parse('2026-03-14T12:40:00.000Z') / 1000;
    const beforeDeadline = new Date('2026-03-14T12:39:59.000Z');
    expect(verifyApprovalLink(key, tokenOf(links.approve), beforeDeadline)).toEqual({ incidentId, decision: 'approve', expiresAt: deadline, requestId: REQUEST_ID });
    expect(verifyApprovalLink(key, tokenOf(links.reject), beforeDeadline)).toEqual({ incidentId, decision: 'reject', expiresAt: deadline, requestId: REQUEST_ID });
  });

  it('keeps the links out of the timeline and the event (they are credentials) but says they exist', async () => {
    // Prepare
    const { deps, store, events, incidentId } = await setup();
    const f = fakeFetch([200]);
    // Act
    await requestApproval(deps, options(f.fn))({ incidentId, taskToken: TOKEN, timeoutSeconds: 600 });
    // Assess
    const token = tokenOf(JSON.parse(String(f.requests[0].init.body)).approval.links.approve);
    expect(JSON.stringify(store.timeline.get(incidentId))).not.toContain(token.split('.')[1]);
    expect(JSON.stringify(events.published)).not.toContain(token.split('.')[1]);
    expect(store.timeline.get(incidentId)?.find((e) => e.type === 'approval-requested')?.data).toMatchObject({ linksSigned: true, requestId: REQUEST_ID });
  });

  it('retries a 503 from Retool and records the attempts', async () => {
    // Prepare
    const { deps, store, incidentId } = await setup();
    const f = fakeFetch([503, 200]);
    // Act
    const result = await requestApproval(deps, options(f.fn))({ incidentId, taskToken: TOKEN, timeoutSeconds: 600 });
    // Assess
    expect(f.requests).toHaveLength(2);
    expect(result.summary).toMatch(/Retool workflow triggered/);
    expect(store.timeline.get(incidentId)?.find((e) => e.type === 'approval-notified')?.data).toMatchObject({ attempts: 2 });
  });

  it('does not retry a 401 (wrong key), keeps the approval pending and records the failure', async () => {
    // Prepare
    const { deps, store, incidentId } = await setup();
    const f = fakeFetch([401]);
    // Act
    const result = await requestApproval(deps, options(f.fn))({ incidentId, taskToken: TOKEN, timeoutSeconds: 600 });
    // Assess
    expect(f.requests).toHaveLength(1);
    expect(result.summary).toMatch(/Retool unreachable/);
    expect((await store.getIncident(incidentId))?.approval?.status).toBe('PENDING');
    expect(store.timeline.get(incidentId)?.find((e) => e.type === 'approval-channel-failed')?.message).toMatch(/HTTP 401/);
  });

  it('gives up after three attempts when Retool stays down', async () => {
    // Prepare
    const { deps, store, incidentId } = await setup();
    const f = fakeFetch([502]);
    // Act
    await requestApproval(deps, options(f.fn))({ incidentId, taskToken: TOKEN, timeoutSeconds: 600 });
    // Assess
    expect(f.requests).toHaveLength(3);
    expect(store.timeline.get(incidentId)?.find((e) => e.type === 'approval-channel-failed')?.message).toMatch(/HTTP 502 \(after 3 attempts\)/);
  });

  it('survives a network error from Retool too', async () => {
    const { deps, store, incidentId } = await setup();
    await requestApproval(deps, options(fakeFetch([200], new TypeError('fetch failed')).fn))({ incidentId, taskToken: TOKEN, timeoutSeconds: 600 });
    expect(store.timeline.get(incidentId)?.some((e) => e.type === 'approval-channel-failed' && /fetch failed/.test(e.message))).toBe(true);
  });

  it('goes on without links, and says so, when the link key cannot be read', async () => {
    // Prepare
    const { deps, store, incidentId } = await setup();
    const f = fakeFetch([200]);
    const links = { sign: async () => Promise.reject(new Error('AccessDeniedException')) };
    // Act
    await requestApproval(deps, options(f.fn, { links }))({ incidentId, taskToken: TOKEN, timeoutSeconds: 600 });
    // Assess
    expect(JSON.parse(String(f.requests[0].init.body)).approval.links).toBeUndefined();
    expect((await store.getIncident(incidentId))?.approval?.status).toBe('PENDING');
    expect(store.timeline.get(incidentId)?.find((e) => e.type === 'approval-links-failed')?.message).toMatch(/AccessDeniedException/);
  });

  it('fails with PlanNotFound when there is no plan', async () => {
    const deps = fakeDeps();
    const incidentId = await seedIncident(deps);
    await expect(requestApproval(deps)({ incidentId, taskToken: TOKEN, timeoutSeconds: 60 })).rejects.toBeInstanceOf(PlanNotFound);
  });
});

describe('unit: requestApproval against a fake Retool server on 127.0.0.1', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  /** Retool's webhook trigger: POST /v1/workflows/{id}/startTrigger, JSON, key in X-Workflow-Api-Key. */
  const startRetool = async (answers: number[]) => {
    const received: { method?: string; url?: string; headers: IncomingMessage['headers']; body: unknown }[] = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ method: req.method, url: req.url, headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        const status = answers[Math.min(received.length - 1, answers.length - 1)];
        const known = /^\/v1\/workflows\/[\w-]+\/startTrigger$/.test(req.url ?? '') && req.headers['x-workflow-api-key'] === 'retool_wk_test-key';
        res.writeHead(known ? status : 401, { 'content-type': 'application/json', ...(status === 429 ? { 'retry-after': '0' } : {}) });
        res.end(JSON.stringify(known ? { workflow_run_id: `run-${received.length}` } : { error: 'unauthorized' }));
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/v1/workflows/3f6c1e0a-workflow/startTrigger`, received };
  };

  it('POSTs JSON with the key header to the startTrigger path, and retries a 429', async () => {
    // Prepare
    const retool = await startRetool([429, 200]);
    const { deps, store, incidentId } = await setup();
    // Act
    const result = await requestApproval(deps, options(fetch, { retoolUrl: checkRetoolUrl(retool.url) }))({ incidentId, taskToken: TOKEN, timeoutSeconds: 600 });
    // Assess
    expect(result.summary).toMatch(/Retool workflow triggered/);
    expect(retool.received).toHaveLength(2);
    const last = retool.received[1];
    expect(last.method).toBe('POST');
    expect(last.url).toBe('/v1/workflows/3f6c1e0a-workflow/startTrigger');
    expect(last.headers['content-type']).toBe('application/json');
    expect(last.headers['x-workflow-api-key']).toBe('retool_wk_test-key');
    expect(last.body).toMatchObject({ incidentId, headline: 'Checkout failing after CR3001', approval: { links: { approve: expect.any(String), reject: expect.any(String) } } });
    expect((await store.getIncident(incidentId))?.approval?.status).toBe('PENDING');
  });

  it('records the failure when the fake Retool refuses the key', async () => {
    // Prepare
    const retool = await startRetool([200]);
    const { deps, store, incidentId } = await setup();
    // Act
    await requestApproval(deps, options(fetch, { retoolUrl: retool.url, retoolApiKey: async () => 'retool_wk_wrong' }))({ incidentId, taskToken: TOKEN, timeoutSeconds: 600 });
    // Assess
    expect(retool.received).toHaveLength(1);
    expect(store.timeline.get(incidentId)?.find((e) => e.type === 'approval-channel-failed')?.message).toMatch(/HTTP 401/);
  });
});

describe('unit: checkRetoolUrl', () => {
  it('accepts the documented startTrigger URL and a loopback fake', () => {
    expect(checkRetoolUrl('https://api.retool.com/v1/workflows/0f3c6b1e/startTrigger')).toBe('https://api.retool.com/v1/workflows/0f3c6b1e/startTrigger');
    expect(checkRetoolUrl('http://127.0.0.1:9000/v1/workflows/x/startTrigger')).toMatch(/^http:/);
  });

  it.each([
    ['a key in the query string', 'https://api.retool.com/v1/workflows/x/startTrigger?workflowApiKey=retool_wk_abc'],
    ['plain http to a remote host', 'http://api.retool.com/v1/workflows/x/startTrigger'],
    ['user info', 'https://user:pw@api.retool.com/v1/workflows/x/startTrigger'],
    ['not a URL', 'retool'],
  ])('refuses %s', (_, url) => {
    expect(() => checkRetoolUrl(url)).toThrow(RetoolUrlInvalid);
  });
});

describe('unit: approvalUrl', () => {
  it('joins the base URL without doubling slashes and encodes the id', () => {
    expect(approvalUrl('https://x.test/', 'inc 1')).toBe('https://x.test/incidents/inc%201/approval');
    expect(approvalUrl(undefined, 'inc-1')).toBe('/incidents/inc-1/approval');
  });
});

describe('requestApproval when every alert resolved while the agents worked', () => {
  it('withdraws the approval at once and fails with AlertsResolved, so the workflow closes the incident self-recovered', async () => {
    // Prepare: a real in-memory store that counts resolutions; the incident's only alert has resolved
    const { MemoryIncidentStore } = await import('../../../functions/core/store/memory-store.ts');
    const { AlertsResolved } = await import('../../../functions/core/agents/approval.ts');
    const { fakeAlert } = await import('./fakes.ts');
    const store = new MemoryIncidentStore();
    const events = new RecordingPublisher();
    const deps = fakeDeps({ store, events });
    const { incident } = await store.recordAlert(fakeAlert(), {}, () => 'inc-self-1');
    await store.resolveAlert(fakeAlert({ state: 'RESOLVED' }), {});
    for (const [agent, output] of [['plan', plan], ['rootcause', rootcause], ['triage', triage], ['impact', impact]] as const) await seedAgentRecord(deps, incident.incidentId, agent, output);
    // Act
    const asked = requestApproval(deps, {})({ incidentId: incident.incidentId, taskToken: 'tok-self', timeoutSeconds: 600 });
    // Assess
    await expect(asked).rejects.toBeInstanceOf(AlertsResolved);
    expect((await store.getIncident(incident.incidentId))?.approval?.status).toBe('WITHDRAWN');
    expect(events.published.map((e) => e.detailType)).not.toContain('Approval Requested');
  });
});
