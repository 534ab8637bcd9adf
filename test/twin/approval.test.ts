/**
 * Approvals on the laptop twin, through the channels an approver really uses: the Retool workflow (a fake
 * Retool on 127.0.0.1 receives the trigger, as `https://api.retool.com/v1/workflows/{id}/startTrigger` would),
 * the signed links it carries (GET shows a page, only the form's POST decides) and the approval API.
 *
 * The approval deadline is short (APPROVAL_TIMEOUT_SECONDS) so the timeout path runs in this file too; every
 * other test decides within a second of the request, far inside it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deriveLinkKey, signApprovalLink } from '../../functions/core/approval-links.ts';
import { ApiClient, ApiError } from '../../lib/local/client.ts';
import { WEBHOOK_SECRET_ID } from '../../lib/local/constants.ts';
import { seedScenario } from '../../lib/local/incident-run.ts';
import { startTwin, type BusEvent, type Twin } from '../../lib/local/twin.ts';

const APPROVAL_TIMEOUT_SECONDS = 10;

interface RetoolTrigger {
  readonly path: string;
  readonly apiKey: string | undefined;
  readonly body: { incidentId: string; approvalRequestId: string; approval: { links: { approve: string; reject: string }; api: { url: string } } };
}

/** Retool's webhook trigger: records each startTrigger POST and answers like Retool (a workflow run id). */
const startFakeRetool = async (): Promise<{ url: string; triggers: RetoolTrigger[]; server: Server }> => {
  const triggers: RetoolTrigger[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const apiKey = req.headers['x-workflow-api-key'];
      triggers.push({ path: req.url ?? '', apiKey: Array.isArray(apiKey) ? apiKey[0] : apiKey, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ workflow_run_id: `run-${triggers.length}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/workflows/7b1d2c3e-approvals/startTrigger`, triggers, server };
};

describe('laptop twin, approvals through Retool, signed links and the API', () => {
  let twin: Twin;
  let api: ApiClient;
  let retool: Awaited<ReturnType<typeof startFakeRetool>>;

  beforeAll(async () => {
    retool = await startFakeRetool();
    // request-approval reads these at its cold start (inside startTwin). The twin's Secrets Manager stand-in
    // serves only the webhook secret, so it doubles as the Retool key here: the header must carry its value.
    vi.stubEnv('RETOOL_WORKFLOW_URL', retool.url);
    vi.stubEnv('RETOOL_API_KEY_SECRET_ID', WEBHOOK_SECRET_ID);
    twin = await startTwin({ inMemory: true, waitOverrideMs: 0, autoApproveLowRisk: false, approvalTimeoutSeconds: APPROVAL_TIMEOUT_SECONDS });
    api = new ApiClient(twin.url, twin.secret);
  });
  afterAll(async () => {
    await twin?.stop();
    await new Promise<void>((resolve) => (retool?.server ? retool.server.close(() => resolve()) : resolve()));
    vi.unstubAllEnvs();
  });

  /** Sends a scenario's alert and waits until Retool was asked to approve its mitigation. */
  const incidentAwaitingApproval = async (scenario: string) => {
    const { alert } = await seedScenario(twin, scenario, { recoveryLagSeconds: 0 });
    const { body: accepted } = await api.sendAlert(alert.source, alert.payload);
    await expect.poll(() => retool.triggers.some((t) => t.body.incidentId === accepted.incidentId), { timeout: 30_000 }).toBe(true);
    const trigger = retool.triggers.find((t) => t.body.incidentId === accepted.incidentId)!;
    return { id: accepted.incidentId, arn: accepted.executionArn ?? accepted.incidentId, trigger };
  };

  const open = (link: string, form?: Record<string, string>) =>
    fetch(link, form ? { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) } : {});

  const timelineOf = async (id: string) => ((await api.getIncident(id)).timeline ?? []) as { type: string; actor?: string; data?: Record<string, unknown> }[];

  it('triggers the Retool workflow with the key header and links that point at this API', async () => {
    // Act
    const { id, trigger } = await incidentAwaitingApproval('db-pool-exhaustion');
    // Assess
    expect(trigger.path).toBe('/v1/workflows/7b1d2c3e-approvals/startTrigger');
    expect(trigger.apiKey).toBe(twin.secret);
    expect(trigger.body.approval.links.approve.startsWith(`${twin.url}/approvals/`)).toBe(true);
    expect(trigger.body.approval.api.url).toBe(`${twin.url}/incidents/${id}/approval`);
    // leave the incident decided, so the deadline does not fire during later tests' assertions
    await api.decide(id, 'reject', 'cleanup');
  });

  it('approves through a link: the GET page decides nothing, the form POST decides and the workflow goes on', async () => {
    // Prepare
    const { id, arn, trigger } = await incidentAwaitingApproval('memory-leak');
    // Act 1: a mail scanner (or the approver) opens the link
    const page = await open(trigger.body.approval.links.approve);
    // Assess 1
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await page.text()).toContain('Approve the mitigation');
    expect((await api.getIncident(id)).incident.approval?.status).toBe('PENDING');
    // Act 2: the approver submits the form
    const decided = await open(trigger.body.approval.links.approve, { approver: 'James Wu', comment: 'roll it back' });
    // Assess 2
    expect(decided.status).toBe(200);
    expect(await decided.text()).toContain('Mitigation approved');
    expect((await twin.waitForExecution(arn, 30_000)).status).toBe('SUCCEEDED');
    const view = await api.getIncident(id);
    expect(view.incident.approval).toMatchObject({ status: 'APPROVED', approver: 'James Wu', comment: 'roll it back' });
    expect((await timelineOf(id)).find((e) => e.type === 'approval-approved')).toMatchObject({ actor: 'James Wu', data: { channel: 'link', comment: 'roll it back' } });
    // a second decision, through the other link, is 409 and changes nothing
    const again = await open(trigger.body.approval.links.reject, { approver: 'Sarah Chen' });
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('James Wu approved this mitigation');
  });

  it('rejects through the API as Retool would; a second decision is 409 with what was decided', async () => {
    // Prepare
    const { id, arn, trigger } = await incidentAwaitingApproval('feature-flag-errors');
    // Act
    const first = await fetch(trigger.body.approval.api.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-autopilot-secret': twin.secret },
      body: JSON.stringify({ decision: 'reject', approver: 'sarah.chen@example.com', comment: 'not during the sale', channel: 'retool', requestId: trigger.body.approvalRequestId }),
    });
    const second = await api.decide(id, 'approve', 'james.wu').catch((e: unknown) => e);
    // Assess
    expect(first.status).toBe(200);
    expect(second).toBeInstanceOf(ApiError);
    expect((second as ApiError).status).toBe(409);
    expect((second as ApiError).body).toMatchObject({ error: 'approval_already_decided', approval: { status: 'REJECTED', approver: 'sarah.chen@example.com' } });
    expect((await twin.waitForExecution(arn, 30_000)).status).toBe('SUCCEEDED');
    expect((await timelineOf(id)).find((e) => e.type === 'approval-rejected')).toMatchObject({ actor: 'sarah.chen@example.com', data: { channel: 'retool', comment: 'not during the sale' } });
    // the link of the decided request shows what happened, and decides nothing
    expect((await open(trigger.body.approval.links.approve, { approver: 'late' })).status).toBe(409);
  });

  it('refuses an expired link with 410 and a tampered one with 403; the approval stays pending', async () => {
    // Prepare: a genuine token for the pending request, but with an expiry in the past
    const { id, trigger } = await incidentAwaitingApproval('config-client-timeout');
    const key = deriveLinkKey(twin.secret);
    const expired = signApprovalLink(key, { incidentId: id, decision: 'approve', expiresAt: Math.floor(Date.now() / 1000) - 60, requestId: trigger.body.approvalRequestId });
    const genuine = trigger.body.approval.links.approve;
    const [claims, signature] = genuine.split('/approvals/')[1].split('.');
    const tampered = `${twin.url}/approvals/${claims}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    // Act
    const expiredGet = await open(`${twin.url}/approvals/${expired}`);
    const expiredPost = await open(`${twin.url}/approvals/${expired}`, { approver: 'mallory' });
    const tamperedPost = await open(tampered, { approver: 'mallory' });
    // Assess
    expect(expiredGet.status).toBe(410);
    expect(await expiredGet.text()).toContain('This link has expired');
    expect(expiredPost.status).toBe(410);
    expect(tamperedPost.status).toBe(403);
    expect((await api.getIncident(id)).incident.approval?.status).toBe('PENDING');
    await api.decide(id, 'reject', 'cleanup');
  });

  it('escalates when nobody decides by the deadline, publishes Incident Escalated, and then refuses the link (410) and the API (409)', async () => {
    // Prepare
    const { id, arn, trigger } = await incidentAwaitingApproval('dependency-down');
    // Act: nobody answers
    const result = await twin.waitForExecution(arn, (APPROVAL_TIMEOUT_SECONDS + 30) * 1000);
    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const view = await api.getIncident(id);
    expect(view.incident.status).toBe('ESCALATED');
    expect(view.incident.approval?.status).toBe('EXPIRED');
    const published = (twin.events() as BusEvent[]).filter((e) => (e.detail as { incidentId?: string }).incidentId === id).map((e) => e['detail-type']);
    expect(published).toContain('Approval Requested');
    expect(published).toContain('Incident Escalated');
    const link = await open(trigger.body.approval.links.approve, { approver: 'too-late' });
    expect(link.status).toBe(410);
    const late = await api.decide(id, 'approve', 'too-late').catch((e: unknown) => e);
    expect((late as ApiError).status).toBe(409);
    expect((late as ApiError).body).toMatchObject({ approval: { status: 'EXPIRED' } });
  }, (APPROVAL_TIMEOUT_SECONDS + 60) * 1000);
});
