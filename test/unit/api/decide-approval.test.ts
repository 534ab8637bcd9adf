import { SFNClient, SendTaskFailureCommand, SendTaskSuccessCommand, TaskTimedOut } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
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
  await store.openOrFold(alertFixture(), {}, () => id);
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
      { taskToken: 'task-token-1', output: { decision: 'approve', approver: 'james.wu', comment: 'revert CR2077', decidedAt: '2024-05-01T12:20:00.000Z' } },
    ]);
    expect((await store.getDetail('inc-1'))?.timeline.at(-1)).toMatchObject({ type: 'approval-approved', actor: 'james.wu', message: 'Mitigation approved by james.wu: revert CR2077' });
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

  it('sends the rejection as SendTaskFailure with error ApprovalRejected', async () => {
    const { store, clock } = await pendingIncident();
    sfn.on(SendTaskFailureCommand).resolves({});
    const handler = decideApproval({ store, workflow: new SfnWorkflowClient(new SFNClient({ region: 'us-east-1' })), secret: new StaticSecret(SECRET), config: CONFIG, clock });
    expect(statusOf(await handler(decide({ decision: 'reject', approver: 'sarah.chen', comment: 'not during the sale' })))).toBe(200);
    expect(sfn.commandCalls(SendTaskFailureCommand)[0].args[0].input).toEqual({ taskToken: 'task-token-1', error: 'ApprovalRejected', cause: 'not during the sale' });
  });
});
