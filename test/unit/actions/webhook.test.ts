/**
 * The signed action webhook against a receiver the test runs on 127.0.0.1: it verifies the signature the way a
 * real receiver would, and answers what each test queues (an answer, or no answer at all).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MitigationAction } from '../../../functions/core/model.ts';
import { inverseOf } from '../../../functions/core/runbooks/inverse.ts';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER, verifyWebhookSignature, WebhookActions } from '../../../functions/core/tools/actions/webhook.ts';

const KEY = 'whsec-test-3f9a1c';

interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** What the receiver's verification said. */
  readonly verified: ReturnType<typeof verifyWebhookSignature>;
}
type Answer = { status: number; json?: unknown; headers?: Record<string, string> } | 'hang';

const startReceiver = async () => {
  const received: Received[] = [];
  const answers: Answer[] = [];
  const hanging: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const verified = verifyWebhookSignature({ key: KEY, timestamp: req.headers[TIMESTAMP_HEADER] as string | undefined, signature: req.headers[SIGNATURE_HEADER] as string | undefined, body });
      received.push({ headers: req.headers, body, verified });
      const answer = answers.shift() ?? { status: 200, json: { detail: 'done' } };
      if (answer === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(verified.ok ? answer.status : 401, { 'content-type': 'application/json', ...answer.headers });
      res.end(JSON.stringify(verified.ok ? (answer.json ?? {}) : { error: verified.reason }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/autopilot`;
  return {
    url,
    received,
    answer: (...a: Answer[]) => answers.push(...a),
    close: async () => {
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

const revert: MitigationAction = {
  kind: 'revert-config',
  service: 'inventory-service',
  target: 'maximum-pool-size',
  params: { param: 'maximum-pool-size', changeId: 'CR2077', from: '10', to: '20' },
  description: 'Revert maximum-pool-size on inventory-service from 10 back to 20 (undo CR2077)',
  risk: 'low',
  reversible: true,
  evidenceIds: ['change:CR2077'],
};

describe('unit: signed action webhook', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const sleeps: number[] = [];
  beforeEach(async () => {
    receiver = await startReceiver();
    sleeps.length = 0;
  });
  afterEach(async () => {
    await receiver.close();
  });
  const adapter = (over: Partial<ConstructorParameters<typeof WebhookActions>[0]> = {}) =>
    new WebhookActions({ url: receiver.url, key: async () => KEY, timeoutMs: 2_000, sleep: async (ms) => void sleeps.push(ms), random: () => 0.5, ...over });

  it('posts the action as JSON, signed so that the receiver can verify it, and succeeds on 2xx', async () => {
    // Act
    const result = await adapter().execute({ incidentId: 'inc-1', action: revert });
    // Assess
    expect(result).toEqual({ status: 'succeeded', detail: 'action webhook: 200 from POST /hooks/autopilot: done' });
    expect(receiver.received).toHaveLength(1);
    const [req] = receiver.received;
    expect(req.verified).toEqual({ ok: true });
    expect(req.headers['content-type']).toBe('application/json');
    const body = JSON.parse(req.body) as Record<string, unknown>;
    expect(body).toMatchObject({ incidentId: 'inc-1', direction: 'apply', action: { kind: 'revert-config', service: 'inventory-service', target: 'maximum-pool-size', params: revert.params, risk: 'low' } });
    expect(req.headers[IDEMPOTENCY_HEADER]).toBe(body.idempotencyKey);
  });

  it('signs HMAC-SHA256 over "<timestamp>.<body>": a tampered body or a stale timestamp does not verify', () => {
    const body = '{"incidentId":"inc-1"}';
    const now = Date.parse('2026-03-10T12:00:00Z');
    const ts = String(now / 1000);
    const signature = signWebhook(KEY, ts, body);
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature({ key: KEY, timestamp: ts, body, signature, now })).toEqual({ ok: true });
    expect(verifyWebhookSignature({ key: KEY, timestamp: ts, body: `${body} `, signature, now })).toEqual({ ok: false, reason: 'signature does not match' });
    expect(verifyWebhookSignature({ key: 'other', timestamp: ts, body, signature, now })).toEqual({ ok: false, reason: 'signature does not match' });
    expect(verifyWebhookSignature({ key: KEY, timestamp: ts, body, signature, now: now + 301_000 })).toEqual({ ok: false, reason: 'timestamp is 301 s away from now' });
  });

  it('retries a 503, then succeeds', async () => {
    receiver.answer({ status: 503, json: { error: 'deploy tool busy' } }, { status: 202, json: { detail: 'queued as job 42' } });
    const result = await adapter().execute({ incidentId: 'inc-1', action: revert });
    expect(result).toEqual({ status: 'succeeded', detail: 'action webhook: 202 from POST /hooks/autopilot: queued as job 42' });
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received.every((r) => r.verified.ok)).toBe(true);
    // The same delivery: one idempotency key for both attempts.
    expect(new Set(receiver.received.map((r) => r.headers[IDEMPOTENCY_HEADER])).size).toBe(1);
    expect(sleeps).toEqual([125]);
  });

  it('honours Retry-After on a 429', async () => {
    receiver.answer({ status: 429, headers: { 'retry-after': '2' } });
    expect((await adapter().execute({ incidentId: 'inc-1', action: revert })).status).toBe('succeeded');
    expect(sleeps).toEqual([2000]);
  });

  it('gives up after the retries, naming the last status', async () => {
    receiver.answer({ status: 502 }, { status: 502 }, { status: 502 });
    const result = await adapter().execute({ incidentId: 'inc-1', action: revert });
    expect(result).toEqual({ status: 'failed', detail: 'action webhook: 502 Bad Gateway on POST /hooks/autopilot: {} (after 3 attempts)' });
    expect(receiver.received).toHaveLength(3);
  });

  it('does not retry a 4xx other than 429', async () => {
    receiver.answer({ status: 409, json: { error: 'another deploy is running' } });
    const result = await adapter().execute({ incidentId: 'inc-1', action: revert });
    expect(result).toEqual({ status: 'failed', detail: 'action webhook: 409 Conflict on POST /hooks/autopilot: {"error":"another deploy is running"}' });
    expect(receiver.received).toHaveLength(1);
  });

  it('fails on a timeout without retrying, warning that the receiver may have acted', async () => {
    receiver.answer('hang');
    const result = await adapter({ timeoutMs: 150 }).execute({ incidentId: 'inc-1', action: revert });
    expect(result.status).toBe('failed');
    expect(result.detail).toMatch(/^action webhook: timed out after 150 ms on POST \/hooks\/autopilot; not retried: the POST may have taken effect without its answer arriving \(idempotency key [0-9a-f]{32}\)$/);
    expect(receiver.received).toHaveLength(1);
  });

  it('reports a failure the receiver states in a 2xx body', async () => {
    receiver.answer({ status: 200, json: { status: 'failed', detail: 'config map is locked' } });
    expect(await adapter().execute({ incidentId: 'inc-1', action: revert })).toEqual({ status: 'failed', detail: 'action webhook: the receiver reported a failure: config map is locked' });
  });

  it('sends an inverse with direction undo and its own idempotency key', async () => {
    await adapter().execute({ incidentId: 'inc-1', action: revert });
    await adapter().execute({ incidentId: 'inc-1', action: inverseOf(revert)! });
    const [apply, undo] = receiver.received.map((r) => JSON.parse(r.body) as { direction: string; idempotencyKey: string; action: { params: Record<string, unknown> } });
    expect(undo.direction).toBe('undo');
    expect(undo.action.params).toMatchObject({ from: '20', to: '10', direction: 'undo' });
    expect(undo.idempotencyKey).not.toBe(apply.idempotencyKey);
  });

  it('fails without calling the receiver when the signing key cannot be read', async () => {
    const result = await adapter({
      key: async () => {
        throw new Error('Secrets Manager can\'t find the specified secret (autopilot/actions-webhook)');
      },
    }).execute({ incidentId: 'inc-1', action: revert });
    expect(result).toEqual({ status: 'failed', detail: 'action webhook: cannot read the signing key: Secrets Manager can\'t find the specified secret (autopilot/actions-webhook)' });
    expect(receiver.received).toHaveLength(0);
  });

  it('fails with the network error when nothing listens', async () => {
    const url = receiver.url;
    await receiver.close();
    const result = await new WebhookActions({ url, key: async () => KEY, timeoutMs: 2_000 }).execute({ incidentId: 'inc-1', action: revert });
    expect(result).toEqual({ status: 'failed', detail: expect.stringMatching(/^action webhook: fetch failed \(ECONNREFUSED\) on POST \/hooks\/autopilot; not retried: the POST may have taken effect without its answer arriving \(idempotency key [0-9a-f]{32}\)$/) });
    receiver = await startReceiver();
  });
});
