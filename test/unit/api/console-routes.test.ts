/**
 * The console's routes (auth `jwt`): the same functions as the iam/secret routes, mounted under /console. Reads answer
 * exactly as GET /incidents[/{id}]; a decision needs no secret (the JWT authorizer stood for it on AWS) and records the
 * signed-in user, else the body's approver, else 'console', with channel `console` — while the secret route is unchanged.
 */
import { describe, expect, it } from 'vitest';
import type { ApiEvent } from '../../../functions/core/http.ts';
import { StaticSecret } from '../../../functions/core/secrets.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { decideApproval } from '../../../functions/decide-approval/core.ts';
import { queryIncidents } from '../../../functions/query-incidents/core.ts';
import { API_ROUTES } from '../../../functions/registry.ts';
import { agentRecordFixture, alertFixture, manualClock } from '../store/contract.ts';
import { CONFIG, FakeWorkflow, SECRET, apiEvent, bodyOf, statusOf } from './fixtures.ts';

const pending = async () => {
  const clock = manualClock('2024-05-01T12:20:00.000Z');
  const store = new MemoryIncidentStore({ clock });
  await store.recordAlert(alertFixture(), {}, () => 'inc-1');
  await store.requestApproval('inc-1', 'task-token-1', { status: 'PENDING', requestedAt: '2024-05-01T12:14:00.000Z', expiresAt: '2024-05-01T13:14:00.000Z', channel: 'api' });
  const workflow = new FakeWorkflow();
  return { store, workflow, handler: decideApproval({ store, workflow, secret: new StaticSecret(SECRET), config: CONFIG, clock }) };
};

/** A console request as API Gateway hands it over after the JWT authorizer: no secret header, the verified claims. */
const consoleEvent = (route: string, opts: { path?: Record<string, string>; body?: unknown; query?: Record<string, string>; claims?: Record<string, unknown> } = {}): ApiEvent => {
  const event = apiEvent(route, { ...opts, secret: null });
  if (!opts.claims) return event;
  return { ...event, requestContext: { ...event.requestContext, authorizer: { jwt: { claims: opts.claims, scopes: [] } } } } as unknown as ApiEvent;
};

describe('unit: the console routes', () => {
  it('are jwt routes of the same functions as their iam/secret counterparts', () => {
    const route = (method: string, path: string) => API_ROUTES.find((r) => r.method === method && r.path === path);
    expect(route('GET', '/console/incidents')).toMatchObject({ function: 'query-incidents', auth: 'jwt' });
    expect(route('GET', '/console/incidents/{id}')).toMatchObject({ function: 'query-incidents', auth: 'jwt' });
    expect(route('POST', '/console/incidents/{id}/approval')).toMatchObject({ function: 'decide-approval', auth: 'jwt' });
    expect(route('POST', '/incidents/{id}/approval')).toMatchObject({ function: 'decide-approval', auth: 'secret' });
  });

  it('list and show an incident exactly as GET /incidents and GET /incidents/{id} do', async () => {
    const clock = manualClock();
    const store = new MemoryIncidentStore({ clock });
    for (const i of [1, 2]) {
      clock.advance(60_000);
      await store.recordAlert(alertFixture({ dedupKey: `k${i}`, severity: i === 1 ? 'SEV1' : 'SEV3' }), {}, () => `inc-${i}`);
    }
    await store.putAgentRecord('inc-1', agentRecordFixture());
    const query = queryIncidents({ store });
    const list = await query(consoleEvent('GET /console/incidents', { query: { severity: 'sev1' } }));
    expect(statusOf(list)).toBe(200);
    expect(bodyOf(list)).toEqual(bodyOf(await query(apiEvent('GET /incidents', { query: { severity: 'sev1' }, secret: null }))));
    expect((bodyOf(list).items as { incidentId: string }[]).map((i) => i.incidentId)).toEqual(['inc-1']);
    const one = await query(consoleEvent('GET /console/incidents/{id}', { path: { id: 'inc-1' } }));
    expect(statusOf(one)).toBe(200);
    expect(bodyOf(one)).toEqual(bodyOf(await query(apiEvent('GET /incidents/{id}', { path: { id: 'inc-1' }, secret: null }))));
    expect(Object.keys(bodyOf(one).agents as object)).not.toHaveLength(0);
    expect(statusOf(await query(consoleEvent('GET /console/incidents/{id}', { path: { id: 'inc-404' } })))).toBe(404);
  });

  it('records the signed-in user as approver, over any approver the body names, with channel console', async () => {
    const { store, workflow, handler } = await pending();
    const result = await handler(consoleEvent('POST /console/incidents/{id}/approval', { path: { id: 'inc-1' }, body: { decision: 'approve', approver: 'mallory', comment: 'ok' }, claims: { email: 'ana@example.com', sub: 'abc' } }));
    expect(statusOf(result)).toBe(200);
    expect(bodyOf(result)).toMatchObject({ incidentId: 'inc-1', approval: { status: 'APPROVED', approver: 'ana@example.com', comment: 'ok' } });
    expect(workflow.successes).toEqual([{ taskToken: 'task-token-1', output: { decision: 'approve', approver: 'ana@example.com', comment: 'ok', channel: 'console', decidedAt: '2024-05-01T12:20:00.000Z' } }]);
    expect((await store.getDetail('inc-1'))?.timeline.at(-1)).toMatchObject({ type: 'approval-approved', actor: 'ana@example.com', data: { channel: 'console' } });
  });

  it("takes the body's approver where nobody is signed in (the twin), else 'console'", async () => {
    const named = await pending();
    await named.handler(consoleEvent('POST /console/incidents/{id}/approval', { path: { id: 'inc-1' }, body: { decision: 'reject', approver: 'james.wu', comment: 'too risky' } }));
    expect((await named.store.getIncident('inc-1'))?.approval).toMatchObject({ status: 'REJECTED', approver: 'james.wu' });
    expect(named.workflow.failures).toHaveLength(1);
    const anonymous = await pending();
    const result = await anonymous.handler(consoleEvent('POST /console/incidents/{id}/approval', { path: { id: 'inc-1' }, body: { decision: 'approve' } }));
    expect(statusOf(result)).toBe(200);
    expect((await anonymous.store.getIncident('inc-1'))?.approval).toMatchObject({ status: 'APPROVED', approver: 'console' });
  });

  it('refuses a channel in the console body, and the console channel on the secret route (400 naming the field)', async () => {
    const { store, handler } = await pending();
    const viaConsole = await handler(consoleEvent('POST /console/incidents/{id}/approval', { path: { id: 'inc-1' }, body: { decision: 'approve', channel: 'api' } }));
    expect(statusOf(viaConsole)).toBe(400);
    const viaSecret = await handler(apiEvent('POST /incidents/{id}/approval', { path: { id: 'inc-1' }, body: { decision: 'approve', approver: 'x', channel: 'console' } }));
    expect(statusOf(viaSecret)).toBe(400);
    expect(bodyOf(viaSecret).problems).toEqual([expect.stringMatching(/^channel: /)]);
    expect((await store.getIncident('inc-1'))?.approval?.status).toBe('PENDING');
  });

  it('keeps the secret route as it was: 401 without the secret, approver required', async () => {
    const { store, handler } = await pending();
    expect(statusOf(await handler(apiEvent('POST /incidents/{id}/approval', { path: { id: 'inc-1' }, body: { decision: 'approve', approver: 'x' }, secret: null })))).toBe(401);
    const noApprover = await handler(apiEvent('POST /incidents/{id}/approval', { path: { id: 'inc-1' }, body: { decision: 'approve' } }));
    expect(statusOf(noApprover)).toBe(400);
    expect(bodyOf(noApprover).problems).toEqual([expect.stringMatching(/^approver: /)]);
    expect((await store.getIncident('inc-1'))?.approval?.status).toBe('PENDING');
  });
});
