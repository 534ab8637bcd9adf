/**
 * The approval page's form is decoded strictly. Found on the laptop twin: `approver=%E0%A4%A` (a malformed escape) was
 * accepted and the mitigation rejected by "\uFFFD%A", a name nobody typed, because URLSearchParams decodes leniently.
 * A field that is not percent-encoded UTF-8 is now 400 naming it, and the approval stays pending.
 */
import { describe, expect, it } from 'vitest';
import { ApprovalLinks, deriveLinkKey, signApprovalLink } from '../../../functions/core/approval-links.ts';
import type { ApiEvent } from '../../../functions/core/http.ts';
import { StaticSecret } from '../../../functions/core/secrets.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import type { ApprovalState } from '../../../functions/core/store/store.ts';
import { approvalPage, parseFormFields } from '../../../functions/approval-page/core.ts';
import { alertFixture, manualClock } from '../store/contract.ts';
import { CONFIG, FakeWorkflow, SECRET, apiEvent, statusOf } from './fixtures.ts';

const ID = 'inc-1';
const REQUEST = 'req-current';
const DEADLINE = '2024-05-01T13:14:00.000Z';

const pending = async () => {
  const clock = manualClock('2024-05-01T12:20:00.000Z');
  const store = new MemoryIncidentStore({ clock });
  await store.recordAlert(alertFixture(), {}, () => ID);
  const approval: ApprovalState = { status: 'PENDING', requestedAt: '2024-05-01T12:14:00.000Z', expiresAt: DEADLINE, channel: 'retool', requestId: REQUEST };
  await store.requestApproval(ID, 'task-token-1', approval);
  const workflow = new FakeWorkflow();
  const handler = approvalPage({ store, workflow, links: new ApprovalLinks(new StaticSecret(SECRET)), config: CONFIG, clock });
  const token = signApprovalLink(deriveLinkKey(SECRET), { incidentId: ID, decision: 'reject', expiresAt: Date.parse(DEADLINE) / 1000, requestId: REQUEST });
  const post = (rawBody: string) => {
    const event = apiEvent('POST /approvals/{token}', { path: { token }, secret: null, rawBody });
    return handler({ ...event, headers: { 'content-type': 'application/x-www-form-urlencoded' } } as ApiEvent);
  };
  return { store, workflow, post };
};

describe('unit: approval page form decoding', () => {
  it.each([
    ['a malformed escape', 'approver=%E0%A4%A', 'approver'],
    ['an encoded lone surrogate', 'approver=Ann%ED%A0%80', 'approver'],
    ['a Latin-1 byte that is not UTF-8', 'approver=Zo%EB', 'approver'],
    ['a malformed escape in the comment', 'approver=Ann&comment=50%', 'comment'],
  ])('answers 400 naming the field for %s, and decides nothing', async (_case, body, field) => {
    // Prepare
    const { store, workflow, post } = await pending();
    // Act
    const result = await post(body);
    // Assess
    expect(statusOf(result)).toBe(400);
    expect(String((result as { body?: string }).body)).toContain(`${field}: not valid percent-encoded UTF-8`);
    expect((await store.getIncident(ID))?.approval?.status).toBe('PENDING');
    expect(workflow.failures).toEqual([]);
  });

  it('decides with the name as typed: "+" is a space and UTF-8 escapes decode', async () => {
    // Prepare
    const { store, workflow, post } = await pending();
    // Act
    const result = await post('approver=Zo%C3%AB+Ng&comment=no+restarts+%F0%9F%9A%A8');
    // Assess
    expect(statusOf(result)).toBe(200);
    expect((await store.getIncident(ID))?.approval).toMatchObject({ status: 'REJECTED', approver: 'Zoë Ng', comment: 'no restarts 🚨' });
    expect(workflow.failures).toHaveLength(1);
  });

  it('parseFormFields keeps the first value of a repeated name and reads a name without "=" as empty', () => {
    expect([...parseFormFields('approver=a&approver=b&flag&&comment=')]).toEqual([
      ['approver', 'a'],
      ['flag', ''],
      ['comment', ''],
    ]);
  });
});
