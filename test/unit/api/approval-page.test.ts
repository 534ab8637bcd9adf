import { SFNClient, SendTaskSuccessCommand, TaskTimedOut } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ApprovalLinks, deriveLinkKey, signApprovalLink } from '../../../functions/core/approval-links.ts';
import type { ApprovalState } from '../../../functions/core/store/store.ts';
import type { ApiEvent } from '../../../functions/core/http.ts';
import { StaticSecret } from '../../../functions/core/secrets.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { SfnWorkflowClient, type WorkflowClient } from '../../../functions/core/workflow-client.ts';
import { approvalPage } from '../../../functions/approval-page/core.ts';
import { CONTENT_SECURITY_POLICY, escapeHtml } from '../../../functions/approval-page/html.ts';
import { alertFixture, manualClock } from '../store/contract.ts';
import { CONFIG, FakeWorkflow, SECRET, apiEvent, sampleEvent, statusOf } from './fixtures.ts';

const sfn = mockClient(SFNClient);

const ID = 'inc-1';
const REQUEST = 'req-current';
const DEADLINE = '2024-05-01T13:14:00.000Z';
const EXPIRY = Date.parse(DEADLINE) / 1000;
const key = deriveLinkKey(SECRET);
const XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>';

const token = (over: Partial<{ incidentId: string; decision: 'approve' | 'reject'; expiresAt: number; requestId: string }> = {}): string =>
  signApprovalLink(key, { incidentId: ID, decision: 'approve', expiresAt: EXPIRY, requestId: REQUEST, ...over });

/** An incident waiting for approval, whose agent outputs carry markup (alert titles and agent text are untrusted). */
const pendingIncident = async () => {
  const clock = manualClock('2024-05-01T12:20:00.000Z');
  const store = new MemoryIncidentStore({ clock });
  await store.recordAlert(alertFixture({ title: `Pool exhausted ${XSS}` }), {}, () => ID);
  const approval: ApprovalState = { status: 'PENDING', requestedAt: '2024-05-01T12:14:00.000Z', expiresAt: DEADLINE, channel: 'retool', requestId: REQUEST };
  await store.requestApproval(ID, 'task-token-1', approval);
  const record = (agent: 'plan' | 'rootcause' | 'triage' | 'impact', output: unknown) =>
    store.putAgentRecord(ID, { agent, output, evidence: [], latencyMs: 1, reasoner: 'offline', toolCalls: [], completedAt: '2024-05-01T12:13:00.000Z' });
  await record('plan', {
    immediate: [{ kind: 'revert-config', service: 'inventory-service', target: 'CR2077', params: {}, description: `Revert CR2077 ${XSS}`, risk: 'medium', reversible: true, evidenceIds: [] }],
    longTerm: [],
    risk: 'medium',
    reversible: true,
    autoApprove: false,
    rationale: 'config revert under load needs a human',
    evidenceIds: [],
  });
  await record('rootcause', {
    rootCauses: [{ summary: `CR2077 cut the HikariCP pool from 20 to 10 ${XSS}`, service: 'inventory-service', category: 'config-change', changeId: 'CR2077', predictions: [], confidence: 0.91, evidenceIds: [] }],
    abstained: false,
    missingEvidence: [],
    reasoning: '',
    evidenceIds: [],
  });
  await record('triage', { classification: 'config', headline: `Inventory starved of DB connections "after" CR2077 & ${XSS}`, narrative: '', teamsToEngage: [], nextSteps: [], confidence: 0.9, evidenceIds: [] });
  await record('impact', { anomalies: [], blastRadius: ['inventory-service', 'checkout-service'], usersImpacted: 4200, revenuePerMinute: 310, severity: 'SEV1', confidence: 0.8, reasoning: '', evidenceIds: [] });
  return { store, clock };
};

const pageEvent = (method: 'GET' | 'POST', t: string, form?: Record<string, string>, contentType = 'application/x-www-form-urlencoded'): ApiEvent => {
  const event = apiEvent(`${method} /approvals/{token}`, { path: { token: t }, secret: null, ...(form ? { rawBody: new URLSearchParams(form).toString() } : {}) });
  return { ...event, headers: { 'content-type': contentType, 'user-agent': 'Mozilla/5.0 test' } };
};

const build = async (workflow: Pick<WorkflowClient, 'sendTaskSuccess' | 'sendTaskFailure'> = new FakeWorkflow()) => {
  const { store, clock } = await pendingIncident();
  const handler = approvalPage({ store, workflow, links: new ApprovalLinks(new StaticSecret(SECRET)), config: CONFIG, clock });
  return { store, clock, handler, workflow };
};

const html = (result: unknown): string => String((result as { body?: string }).body);
const headers = (result: unknown): Record<string, string> => (result as { headers: Record<string, string> }).headers;

describe('unit: approval page, GET (shows, never decides)', () => {
  it('shows headline, root cause with confidence, plan with risk and a form; decides nothing', async () => {
    // Prepare
    const { handler, store, workflow } = await build();
    // Act
    const result = await handler(pageEvent('GET', token()));
    // Assess
    expect(statusOf(result)).toBe(200);
    const page = html(result);
    expect(page).toContain('Inventory starved of DB connections &quot;after&quot; CR2077 &amp;');
    expect(page).toContain('CR2077 cut the HikariCP pool from 20 to 10');
    expect(page).toContain('confidence 91%');
    expect(page).toContain('medium risk');
    expect(page).toContain('4,200 users affected');
    expect(page).toMatch(/<form method="post"[^>]*>/);
    expect(page).toContain('name="approver" required');
    expect(page).toContain('name="comment"');
    expect(page).toContain('Approve the mitigation');
    expect((await store.getIncident(ID))?.approval?.status).toBe('PENDING');
    expect((workflow as FakeWorkflow).successes).toEqual([]);
  });

  it('reads the incident and the four agent outputs in one store call (one BatchGetItem), none one by one', async () => {
    const { handler, store } = await build();
    const together = vi.spyOn(store, 'getIncidentWith');
    const oneByOne = vi.spyOn(store, 'getAgentRecord');
    expect(statusOf(await handler(pageEvent('GET', token())))).toBe(200);
    expect(together).toHaveBeenCalledExactlyOnceWith(ID, ['plan', 'rootcause', 'impact', 'triage']);
    expect(oneByOne).not.toHaveBeenCalled();
  });

  it('labels a reject link\'s button Reject', async () => {
    const { handler } = await build();
    const page = html(await handler(pageEvent('GET', token({ decision: 'reject' }))));
    expect(page).toContain('Reject the mitigation');
    expect(page).not.toContain('Approve the mitigation');
  });

  it('escapes every interpolated value: no markup from alerts or agents reaches the page', async () => {
    // Prepare
    const { handler } = await build();
    // Act
    const page = html(await handler(pageEvent('GET', token())));
    // Assess
    expect(page).not.toContain('<script');
    expect(page).not.toContain('<img');
    expect(page).toContain(escapeHtml(XSS));
    // every tag is one the template writes, and no tag has an attribute that loads or runs anything
    const tags = [...page.matchAll(/<\/?([a-zA-Z!][\w-]*)([^>]*)>/g)];
    expect(new Set(tags.map((t) => t[1].toLowerCase()))).toEqual(new Set(['!doctype', 'html', 'head', 'meta', 'title', 'style', 'body', 'main', 'p', 'span', 'h1', 'h2', 'ul', 'li', 'br', 'form', 'label', 'input', 'textarea', 'button']));
    expect(tags.filter((t) => /\b(src|href|on\w+|action)\s*=/i.test(t[2]))).toEqual([]);
    expect(page.match(/<style>/g)).toHaveLength(1);
  });

  it('sends the safety headers: CSP without external sources, no-store, no-referrer, nosniff, no framing', async () => {
    const { handler } = await build();
    const h = headers(await handler(pageEvent('GET', token())));
    expect(h['content-type']).toBe('text/html; charset=utf-8');
    expect(h['cache-control']).toBe('no-store');
    expect(h['referrer-policy']).toBe('no-referrer');
    expect(h['x-content-type-options']).toBe('nosniff');
    expect(h['x-frame-options']).toBe('DENY');
    expect(h['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/);
  });

  it('the CSP hash matches the inline stylesheet, so the page renders styled', async () => {
    const { createHash } = await import('node:crypto');
    const { handler } = await build();
    const style = /<style>([\s\S]*?)<\/style>/.exec(html(await handler(pageEvent('GET', token()))))![1];
    expect(CONTENT_SECURITY_POLICY).toContain(`'sha256-${createHash('sha256').update(style, 'utf8').digest('base64')}'`);
  });
});

describe('unit: approval page, refusals (nothing decided)', () => {
  it('answers 403 with a page for a tampered token', async () => {
    const { handler, store } = await build();
    const [payload, signature] = token().split('.');
    const tampered = `${Buffer.from(Buffer.from(payload, 'base64url').toString('utf8').replace('"approve"', '"reject"')).toString('base64url')}.${signature}`;
    for (const method of ['GET', 'POST'] as const) {
      const result = await handler(pageEvent(method, tampered, { approver: 'mallory' }));
      expect(statusOf(result), method).toBe(403);
      expect(html(result)).toContain('This link is not valid');
      expect(headers(result)['cache-control']).toBe('no-store');
    }
    expect((await store.getIncident(ID))?.approval?.status).toBe('PENDING');
  });

  it('answers 403 for a token signed with another key', async () => {
    const { handler } = await build();
    const foreign = signApprovalLink(deriveLinkKey('not-our-secret'), { incidentId: ID, decision: 'approve', expiresAt: EXPIRY, requestId: REQUEST });
    expect(statusOf(await handler(pageEvent('GET', foreign)))).toBe(403);
  });

  it('answers 410 for an expired link, GET and POST, and decides nothing', async () => {
    // Prepare
    const { handler, store, clock } = await build();
    clock.advance(Date.parse(DEADLINE) - clock().getTime());
    // Act
    const shown = await handler(pageEvent('GET', token()));
    const posted = await handler(pageEvent('POST', token(), { approver: 'late' }));
    // Assess
    expect(statusOf(shown)).toBe(410);
    expect(statusOf(posted)).toBe(410);
    expect(html(posted)).toContain('This link has expired');
    expect((await store.getIncident(ID))?.approval?.status).toBe('PENDING');
  });

  it('answers 410 for a link of an earlier approval request (the incident was rerun)', async () => {
    const { handler, store, workflow } = await build();
    const result = await handler(pageEvent('POST', token({ requestId: 'req-earlier' }), { approver: 'james' }));
    expect(statusOf(result)).toBe(410);
    expect(html(result)).toContain('out of date');
    expect((await store.getIncident(ID))?.approval?.status).toBe('PENDING');
    expect((workflow as FakeWorkflow).successes).toEqual([]);
  });

  it('answers 404 for a genuine link to an incident that does not exist', async () => {
    const { handler } = await build();
    expect(statusOf(await handler(pageEvent('GET', token({ incidentId: 'inc-gone' }))))).toBe(404);
  });

  it('answers 400 naming the field when the approver is missing, 415 for a JSON body', async () => {
    const { handler, store } = await build();
    const missing = await handler(pageEvent('POST', token(), { approver: '  ', comment: 'x' }));
    expect(statusOf(missing)).toBe(400);
    expect(html(missing)).toContain('approver: your name is required');
    const asJson = await handler({ ...pageEvent('POST', token()), body: '{"approver":"x"}', headers: { 'content-type': 'application/json' } });
    expect(statusOf(asJson)).toBe(415);
    expect(html(asJson)).toContain('content-type: the form must be sent as application/x-www-form-urlencoded, got &quot;application/json&quot;');
    expect((await store.getIncident(ID))?.approval?.status).toBe('PENDING');
  });
});

describe('unit: approval page, POST (decides once)', () => {
  it('approves: SendTaskSuccess with channel link, timeline with approver, channel, comment and source', async () => {
    // Prepare
    const { handler, store, workflow } = await build();
    // Act
    const result = await handler(pageEvent('POST', token(), { approver: 'James Wu', comment: 'revert <now>', decision: 'reject' }));
    // Assess
    expect(statusOf(result)).toBe(200);
    expect(html(result)).toContain('Mitigation approved');
    expect(html(result)).toContain('revert &lt;now&gt;');
    expect((workflow as FakeWorkflow).successes).toEqual([
      { taskToken: 'task-token-1', output: { decision: 'approve', approver: 'James Wu', comment: 'revert <now>', channel: 'link', decidedAt: '2024-05-01T12:20:00.000Z' } },
    ]);
    expect((await store.getIncident(ID))?.approval).toMatchObject({ status: 'APPROVED', approver: 'James Wu', comment: 'revert <now>', requestId: REQUEST });
    expect((await store.getDetail(ID))?.timeline.at(-1)).toMatchObject({
      type: 'approval-approved',
      actor: 'James Wu',
      message: 'Mitigation approved by James Wu via link: revert <now>',
      data: { decision: 'approve', channel: 'link', comment: 'revert <now>', requestId: REQUEST, sourceIp: '203.0.113.1', userAgent: 'Mozilla/5.0 test' },
    });
  });

  it('rejects through a reject link: SendTaskFailure ApprovalRejected', async () => {
    const { handler, store, workflow } = await build();
    expect(statusOf(await handler(pageEvent('POST', token({ decision: 'reject' }), { approver: 'Sarah Chen', comment: 'flash sale: no restarts' })))).toBe(200);
    expect((workflow as FakeWorkflow).failures).toEqual([{ taskToken: 'task-token-1', error: 'ApprovalRejected', cause: 'flash sale: no restarts' }]);
    expect((await store.getIncident(ID))?.approval).toMatchObject({ status: 'REJECTED', approver: 'Sarah Chen' });
  });

  it('answers a second POST with 409 and what was decided; a GET afterwards shows it too', async () => {
    // Prepare
    const { handler, workflow } = await build();
    await handler(pageEvent('POST', token(), { approver: 'James Wu' }));
    // Act
    const second = await handler(pageEvent('POST', token({ decision: 'reject' }), { approver: 'Sarah Chen' }));
    const shown = await handler(pageEvent('GET', token()));
    // Assess
    expect(statusOf(second)).toBe(409);
    expect(html(second)).toContain('James Wu approved this mitigation at 2024-05-01 12:20:00 UTC');
    expect(statusOf(shown)).toBe(409);
    expect((workflow as FakeWorkflow).successes).toHaveLength(1);
    expect((workflow as FakeWorkflow).failures).toEqual([]);
  });

  it('answers 503 and leaves the approval pending when Step Functions is unreachable', async () => {
    const workflow = new FakeWorkflow();
    workflow.answerError = Object.assign(new Error('down'), { name: 'ServiceUnavailable' });
    const { handler, store } = await build(workflow);
    const result = await handler(pageEvent('POST', token(), { approver: 'James Wu' }));
    expect(statusOf(result)).toBe(503);
    expect(html(result)).toContain('Please try again');
    expect((await store.getIncident(ID))?.approval?.status).toBe('PENDING');
  });

  it('answers 503 "recorded, but not delivered" without inviting a retry when the undo fails too', async () => {
    const workflow = new FakeWorkflow();
    workflow.answerError = Object.assign(new Error('down'), { name: 'ServiceUnavailable' });
    const { handler, store } = await build(workflow);
    store.undoDecision = async () => {
      throw new Error('DynamoDB unreachable');
    };
    const result = await handler(pageEvent('POST', token(), { approver: 'James Wu' }));
    expect(statusOf(result)).toBe(503);
    expect(html(result)).toContain('Recorded, but not delivered');
    expect(html(result)).not.toContain('Please try again');
    expect((await store.getIncident(ID))?.approval?.status).toBe('APPROVED');
  });

  it('accepts the sample events events/api/approval-page-{get,post}.json once their token placeholder is signed', async () => {
    // Prepare
    const { store, clock } = await pendingIncident();
    const sampleId = 'inc-20240501-9f2c4e1a7b';
    await store.recordAlert(alertFixture({ dedupKey: 'PID-sample' }), {}, () => sampleId);
    await store.requestApproval(sampleId, 'task-token-2', { status: 'PENDING', expiresAt: DEADLINE, requestId: REQUEST });
    const workflow = new FakeWorkflow();
    const handler = approvalPage({ store, workflow, links: new ApprovalLinks(new StaticSecret(SECRET)), config: CONFIG, clock });
    const signed = signApprovalLink(key, { incidentId: sampleId, decision: 'approve', expiresAt: EXPIRY, requestId: REQUEST });
    const withToken = (name: string) => JSON.parse(JSON.stringify(sampleEvent(name)).replaceAll('SAMPLE_APPROVAL_TOKEN', signed)) as ApiEvent;
    // Act + Assess
    expect(statusOf(await handler(withToken('approval-page-get')))).toBe(200);
    expect(statusOf(await handler(withToken('approval-page-post')))).toBe(200);
    expect(workflow.successes).toHaveLength(1);
  });
});

describe('unit: approval page against the Step Functions SDK (mocked)', () => {
  beforeEach(() => {
    sfn.reset();
  });

  it('answers 409 and records EXPIRED when the task already timed out', async () => {
    // Prepare
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));
    const { handler, store } = await build(new SfnWorkflowClient(new SFNClient({ region: 'us-east-1' })));
    // Act
    const result = await handler(pageEvent('POST', token(), { approver: 'James Wu' }));
    // Assess
    expect(statusOf(result)).toBe(409);
    expect(html(result)).toContain('Too late');
    expect((await store.getIncident(ID))?.approval?.status).toBe('EXPIRED');
    expect((await store.getDetail(ID))?.timeline.at(-1)).toMatchObject({ type: 'approval-expired', actor: 'James Wu', data: { channel: 'link', reason: 'TaskTimedOut' } });
  });
});
