import { SFNClient, SendTaskFailureCommand, SendTaskSuccessCommand, TaskTimedOut } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ApprovalState } from '../../../functions/core/store/store.ts';
import { StaticSecret } from '../../../functions/core/secrets.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { SfnWorkflowClient } from '../../../functions/core/workflow-client.ts';
import { decideApproval } from '../../../functions/decide-approval/core.ts';
import { alertFixture, manualClock } from '../store/contract.ts';
import { CONFIG, FakeWorkflow, SECRET, apiEvent, bodyOf, sampleEvent, statusOf } from './fixtures.ts';

const sfn = mockClient(SFNClient);

const pendingIncident = async (id = 'inc-1') => {
  const clock = manualClock('2024-05-01T12:20:00.000Z');
  const store = new MemoryIncidentStore({ clock });
  await store.recordAlert(alertFixture(), {}, () => id);
  await store.requestApproval(id, 'task-token-1', { status: 'PENDING', requestedAt: '2024-05-01T12:14:00.000Z', expiresAt: '2024-05-01T13:14:00.000Z', channel: 'api' });
  return { store, clock };
};

const decide = (body: unknown, opts: { secret?: string | null; id?: string } = {}) =>
  apiEvent('POST /incidents/{id}/approval', { path: { id: opts.id ?? 'inc-1' }, body, secret: opts.secret });

describe('unit: decide-approval with a fake workflow', () => {
  it('answers 401 without the secret and leaves the approval pending', async () => {
    // Prepare
    const { store, clock } = await pendingIncident();
    const workflow = new FakeWorkflow();
    const handler = decideApproval({ store, workflow, secret: new StaticSecret(SECRET), config: CONFIG, clock });
    // Act
    const result = await handler(decide({ decision: 'approve', approver: 'mallory' }, { secret: null }));
    // Assess
    expect(statusOf(result)).toBe(401);
    expect((await store.getIncident('inc-1'))?.approval?.status).toBe('PENDING');
    expect(workflow.successes).toEqual([]);
  });

  it('approves: SendTaskSuccess with decision, approver, comment and decidedAt, and a timeline event', async () => {
    const { store, clock } = await pendingIncident();
    const workflow = new FakeWorkflow();
    const handler = decideApproval({ store, workflow, secret: new StaticSecret(SECRET), config: CONFIG, clock });
    const result = await handler(decide({ decision: 'approve', approver: 'james.wu', comment: 'revert CR2077' }));
    expect(statusOf(result)).toBe(200);
    expect(bodyOf(result)).toMatchObject({ incidentId: 'inc-1', approval: { status: 'APPROVED', approver: 'james.wu', comment: 'revert CR2077' } });
    expect(workflow.successes).toEqual([
      { taskToken: 'task-token-1', output: { decision: 'approve', approver: 'james.wu', comment: 'revert CR2077', channel: 'api', decidedAt: '2024-05-01T12:20:00.000Z' } },
    ]);
    expect((await store.getDetail('inc-1'))?.timeline.at(-1)).toMatchObject({
      type: 'approval-approved',
      actor: 'james.wu',
      message: 'Mitigation approved by james.wu via api: revert CR2077',
      data: { decision: 'approve', approver: 'james.wu', channel: 'api', comment: 'revert CR2077' },
    });
  });

  it('rejects: SendTaskFailure ApprovalRejected with the comment as cause', async () => {
    const { store, clock } = await pendingIncident();
    const workflow = new FakeWorkflow();
    const handler = decideApproval({ store, workflow, secret: new StaticSecret(SECRET), config: CONFIG, clock });
    expect(statusOf(await handler(decide({ decision: 'reject', approver: 'sarah.chen', comment: 'flash sale: no restarts now' })))).toBe(200);
    expect(workflow.failures).toEqual([{ taskToken: 'task-token-1', error: 'ApprovalRejected', cause: 'flash sale: no restarts now' }]);
    expect((await store.getIncident('inc-1'))?.approval).toMatchObject({ status: 'REJECTED', approver: 'sarah.chen' });
  });

  it('answers 409 with what was decided on a second decision', async () => {
    const { store, clock } = await pendingIncident();
    const workflow = new FakeWorkflow();
    const handler = decideApproval({ store, workflow, secret: new StaticSecret(SECRET), config: CONFIG, clock });
    await handler(decide({ decision: 'approve', approver: 'james.wu' }));
    const second = await handler(decide({ decision: 'reject', approver: 'sarah.chen', comment: 'no' }));
    expect(statusOf(second)).toBe(409);
    expect(bodyOf(second)).toMatchObject({ error: 'approval_already_decided', approval: { status: 'APPROVED', approver: 'james.wu' } });
    expect(workflow.failures).toEqual([]);
  });

  it('records Retool as the channel when Retool decides, with the request id it was sent', async () => {
    // Prepare
    const { store, clock } = await pendingIncident();
    await store.requestApproval('inc-1', 'task-token-1', { status: 'PENDING', expiresAt: '2024-05-01T13:14:00.000Z', channel: 'retool', requestId: 'req-7' });
    const workflow = new FakeWorkflow();
    const handler = decideApproval({ store, workflow, secret: new StaticSecret(SECRET), config: CONFIG, clock });
    // Act
    const result = await handler(decide({ decision: 'reject', approver: 'sarah.chen@example.com', comment: 'not now', channel: 'retool', requestId: 'req-7' }));
    // Assess
    expect(statusOf(result)).toBe(200);
    expect((await store.getDetail('inc-1'))?.timeline.at(-1)).toMatchObject({
      type: 'approval-rejected',
      actor: 'sarah.chen@example.com',
      data: { decision: 'reject', channel: 'retool', comment: 'not now', requestId: 'req-7' },
    });
  });

  it('answers 409 approval_superseded, deciding nothing, when the request id is not the pending one', async () => {
    // Prepare
    const { store, clock } = await pendingIncident();
    await store.requestApproval('inc-1', 'task-token-1', { status: 'PENDING', expiresAt: '2024-05-01T13:14:00.000Z', requestId: 'req-new' });
    const workflow = new FakeWorkflow();
    const handler = decideApproval({ store, workflow, secret: new StaticSecret(SECRET), config: CONFIG, clock });
    // Act
    const result = await handler(decide({ decision: 'approve', approver: 'retool-bot', channel: 'retool', requestId: 'req-old' }));
    // Assess
    expect(statusOf(result)).toBe(409);
    expect(bodyOf(result)).toMatchObject({ error: 'approval_superseded', approval: { status: 'PENDING' } });
    expect((await store.getIncident('inc-1'))?.approval?.status).toBe('PENDING');
    expect(workflow.successes).toEqual([]);
  });

  it('refuses a superseded request in the conditional write itself, so an out-of-date read cannot let it through (race)', async () => {
    // Prepare: a read of the incident would still show the old request; the store holds the new one
    const { store, clock } = await pendingIncident();
    await store.requestApproval('inc-1', 'task-token-2', { status: 'PENDING', expiresAt: '2024-05-01T13:14:00.000Z', requestId: 'req-new' });
    const staleRead = async (id: string) => {
      const current = await store.getIncident(id);
      return current && { ...current, approval: { ...current.approval!, requestId: 'req-old' } };
    };
    const stale = new Proxy(store, {
      get: (target, prop: keyof MemoryIncidentStore) => (prop === 'getIncident' ? staleRead : typeof target[prop] === 'function' ? (target[prop] as (...a: unknown[]) => unknown).bind(target) : target[prop]),
    });
    const workflow = new FakeWorkflow();
    const handler = decideApproval({ store: stale, workflow, secret: new StaticSecret(SECRET), config: CONFIG, clock });
    // Act
    const result = await handler(decide({ decision: 'approve', approver: 'retool-bot', channel: 'retool', requestId: 'req-old' }));
    // Assess
    expect(statusOf(result)).toBe(409);
    expect(bodyOf(result)).toMatchObject({ error: 'approval_superseded' });
    expect((await store.getIncident('inc-1'))?.approval).toMatchObject({ status: 'PENDING', requestId: 'req-new' });
    expect(workflow.successes).toEqual([]);
  });

  it('refuses the link channel over the API (only a signed link is a link) with 400 naming the field', async () => {
    const { store, clock } = await pendingIncident();
    const handler = decideApproval({ store, workflow: new FakeWorkflow(), secret: new StaticSecret(SECRET), config: CONFIG, clock });
    const result = await handler(decide({ decision: 'approve', approver: 'x', channel: 'link' }));
    expect(statusOf(result)).toBe(400);
    expect(bodyOf(result).problems).toEqual([expect.stringMatching(/^channel: /)]);
  });

  it('answers 409 with the EXPIRED approval when the decision comes after the timeout escalated', async () => {
    // Prepare: what escalate leaves behind on approval-timeout
    const { store, clock } = await pendingIncident();
    const approval = (await store.getIncident('inc-1'))!.approval!;
    await store.updateIncident('inc-1', { status: 'ESCALATED', outcome: 'approval-timeout', approval: { ...approval, status: 'EXPIRED', decidedAt: '2024-05-01T13:14:00.000Z' } });
    const workflow = new FakeWorkflow();
    const handler = decideApproval({ store, workflow, secret: new StaticSecret(SECRET), config: CONFIG, clock });
    // Act
    const result = await handler(decide({ decision: 'approve', approver: 'too-late' }));
    // Assess
    expect(statusOf(result)).toBe(409);
    expect(bodyOf(result)).toMatchObject({ error: 'approval_already_decided', approval: { status: 'EXPIRED' } });
    expect(workflow.successes).toEqual([]);
  });

  it('undoes the decision and answers 503 when Step Functions fails otherwise', async () => {
    const { store, clock } = await pendingIncident();
    const workflow = new FakeWorkflow();
    workflow.answerError = Object.assign(new Error('service unavailable'), { name: 'ServiceUnavailable' });
    const handler = decideApproval({ store, workflow, secret: new StaticSecret(SECRET), config: CONFIG, clock });
    const result = await handler(decide({ decision: 'approve', approver: 'james.wu' }));
    expect(statusOf(result)).toBe(503);
    expect((await store.getIncident('inc-1'))?.approval).toEqual({ status: 'PENDING', requestedAt: '2024-05-01T12:14:00.000Z', expiresAt: '2024-05-01T13:14:00.000Z', channel: 'api' });
    workflow.answerError = undefined;
    expect(statusOf(await handler(decide({ decision: 'approve', approver: 'james.wu' })))).toBe(200);
  });

  it('says the decision is recorded but not delivered (not "try again") when the undo fails too', async () => {
    const { store, clock } = await pendingIncident();
    const workflow = new FakeWorkflow();
    workflow.answerError = Object.assign(new Error('service unavailable'), { name: 'ServiceUnavailable' });
    store.undoDecision = async () => {
      throw new Error('DynamoDB unreachable');
    };
    const handler = decideApproval({ store, workflow, secret: new StaticSecret(SECRET), config: CONFIG, clock });
    const result = await handler(decide({ decision: 'approve', approver: 'james.wu' }));
    expect(statusOf(result)).toBe(503);
    expect(bodyOf(result)).toMatchObject({ error: 'approval_not_delivered', approval: { status: 'APPROVED', approver: 'james.wu' } });
    expect(String(bodyOf(result).message)).toContain('2024-05-01T13:14:00.000Z');
    expect((await store.getIncident('inc-1'))?.approval?.status).toBe('APPROVED');
  });

  it('answers 400 naming a bad decision and 404 for an unknown incident', async () => {
    const { store, clock } = await pendingIncident();
    const handler = decideApproval({ store, workflow: new FakeWorkflow(), secret: new StaticSecret(SECRET), config: CONFIG, clock });
    const bad = await handler(decide({ decision: 'maybe', approver: '' }));
    expect(statusOf(bad)).toBe(400);
    expect(bodyOf(bad).problems).toEqual(expect.arrayContaining([expect.stringMatching(/^decision: /), expect.stringMatching(/^approver: /)]));
    expect(statusOf(await handler(decide({ decision: 'approve', approver: 'x' }, { id: 'inc-404' })))).toBe(404);
  });

  it('accepts the sample event events/api/decide-approval.json', async () => {
    const { store, clock } = await pendingIncident('inc-20240501-9f2c4e1a7b');
    const workflow = new FakeWorkflow();
    const handler = decideApproval({ store, workflow, secret: new StaticSecret(SECRET), config: CONFIG, clock });
    expect(statusOf(await handler(sampleEvent('decide-approval')))).toBe(200);
    expect(workflow.successes).toHaveLength(1);
  });
});

describe('unit: decide-approval against the Step Functions SDK (mocked)', () => {
  beforeEach(() => {
    sfn.reset();
  });

  it('records EXPIRED and answers 409 when the task timed out', async () => {
    const { store, clock } = await pendingIncident();
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));
    const handler = decideApproval({ store, workflow: new SfnWorkflowClient(new SFNClient({ region: 'us-east-1' })), secret: new StaticSecret(SECRET), config: CONFIG, clock });
    const result = await handler(decide({ decision: 'approve', approver: 'james.wu' }));
    expect(statusOf(result)).toBe(409);
    expect(bodyOf(result)).toMatchObject({ error: 'approval_expired', approval: { status: 'EXPIRED' } });
    expect((await store.getIncident('inc-1'))?.approval).toEqual({ status: 'EXPIRED', requestedAt: '2024-05-01T12:14:00.000Z', expiresAt: '2024-05-01T13:14:00.000Z', channel: 'api' });
    expect((await store.getDetail('inc-1'))?.timeline.at(-1)).toMatchObject({ type: 'approval-expired', actor: 'james.wu' });
  });

  it('keeps an approval whose retried SendTaskSuccess found the task closed before the deadline (the first attempt delivered it)', async () => {
    const { store, clock } = await pendingIncident();
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: { attempts: 2 } }));
    const handler = decideApproval({ store, workflow: new SfnWorkflowClient(new SFNClient({ region: 'us-east-1' })), secret: new StaticSecret(SECRET), config: CONFIG, clock });
    const result = await handler(decide({ decision: 'approve', approver: 'james.wu' }));
    expect(statusOf(result)).toBe(200);
    expect((await store.getIncident('inc-1'))?.approval).toMatchObject({ status: 'APPROVED', approver: 'james.wu' });
    expect((await store.getDetail('inc-1'))?.timeline.at(-1)).toMatchObject({ type: 'approval-approved', actor: 'james.wu' });
  });

  it('sends the rejection as SendTaskFailure with error ApprovalRejected', async () => {
    const { store, clock } = await pendingIncident();
    sfn.on(SendTaskFailureCommand).resolves({});
    const handler = decideApproval({ store, workflow: new SfnWorkflowClient(new SFNClient({ region: 'us-east-1' })), secret: new StaticSecret(SECRET), config: CONFIG, clock });
    expect(statusOf(await handler(decide({ decision: 'reject', approver: 'sarah.chen', comment: 'not during the sale' })))).toBe(200);
    expect(sfn.commandCalls(SendTaskFailureCommand)[0].args[0].input).toEqual({ taskToken: 'task-token-1', error: 'ApprovalRejected', cause: 'not during the sale' });
  });

  it.each(['InvalidToken', 'TaskDoesNotExist'])('treats %s as a closed task: 409 approval_expired', async (name) => {
    const { store, clock } = await pendingIncident();
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('closed'), { name }));
    const handler = decideApproval({ store, workflow: new SfnWorkflowClient(new SFNClient({ region: 'us-east-1' })), secret: new StaticSecret(SECRET), config: CONFIG, clock });
    const result = await handler(decide({ decision: 'approve', approver: 'james.wu' }));
    expect(statusOf(result)).toBe(409);
    expect(bodyOf(result)).toMatchObject({ error: 'approval_expired', approval: { status: 'EXPIRED' } });
    // and a retry of the same decision is still 409, now from the store
    expect(bodyOf(await handler(decide({ decision: 'approve', approver: 'james.wu' })))).toMatchObject({ error: 'approval_already_decided', approval: { status: 'EXPIRED' } });
  });
});
