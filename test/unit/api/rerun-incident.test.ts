import { describe, expect, it } from 'vitest';
import { MemoryEventPublisher } from '../../../functions/core/events.ts';
import { StaticSecret } from '../../../functions/core/secrets.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { executionArnFor } from '../../../functions/core/workflow-client.ts';
import { rerunIncident } from '../../../functions/rerun-incident/core.ts';
import { MemoryActionJournal } from '../../../functions/core/store/journal.ts';
import { alertFixture } from '../store/contract.ts';
import { CONFIG, FakeWorkflow, SECRET, STATE_MACHINE_ARN, apiEvent, bodyOf, sampleEvent, statusOf } from './fixtures.ts';

const setup = async (id = 'inc-1') => {
  const store = new MemoryIncidentStore();
  const workflow = new FakeWorkflow();
  await store.recordAlert(alertFixture(), {}, () => id);
  const first = await workflow.start(id, { incidentId: id, service: 'inventory-service', severity: 'SEV2', title: alertFixture().title, policy: { verifyWaitSeconds: 30, maxVerifyChecks: 3 } });
  await store.setExecutionArn(id, first.executionArn);
  const rerun = rerunIncident({ store, workflow, secret: new StaticSecret(SECRET), config: CONFIG, journal: new MemoryActionJournal(), events: new MemoryEventPublisher() });
  const post = (body?: unknown, opts: { secret?: string | null; id?: string } = {}) =>
    rerun(apiEvent('POST /incidents/{id}/rerun', { path: { id: opts.id ?? id }, body, secret: opts.secret }));
  return { store, workflow, first, post, rerun };
};

describe('unit: rerun-incident', () => {
  it('answers 401 without the secret and starts nothing', async () => {
    // Prepare
    const { workflow, first, post } = await setup();
    workflow.finish(first.executionArn, 'FAILED');
    // Act
    const result = await post({}, { secret: null });
    // Assess
    expect(statusOf(result)).toBe(401);
    expect(workflow.executions.size).toBe(1);
  });

  it('answers 409 while the current execution is running', async () => {
    const { workflow, post } = await setup();
    const result = await post();
    expect(statusOf(result)).toBe(409);
    expect(bodyOf(result)).toMatchObject({ error: 'execution_running' });
    expect(workflow.executions.size).toBe(1);
  });

  it('reopens a terminal incident and starts <id>-rerun-1 with the same input, then -rerun-2', async () => {
    const { store, workflow, first, post } = await setup();
    workflow.finish(first.executionArn, 'SUCCEEDED');
    await store.updateIncident('inc-1', { status: 'RESOLVED', outcome: 'resolved' });
    const result = await post({ requestedBy: 'sarah.chen', reason: 'verify the fix' });
    expect(statusOf(result)).toBe(202);
    expect(bodyOf(result)).toEqual({ incidentId: 'inc-1', executionArn: executionArnFor(STATE_MACHINE_ARN, 'inc-1-rerun-1'), rerun: 1, status: 'INVESTIGATING' });
    const executions = [...workflow.executions.values()];
    expect(executions[1].input).toEqual(executions[0].input);
    expect(await store.getIncident('inc-1')).toMatchObject({ status: 'INVESTIGATING', executionArn: executionArnFor(STATE_MACHINE_ARN, 'inc-1-rerun-1') });
    expect((await store.getIncident('inc-1'))?.outcome).toBeUndefined();
    expect((await store.getDetail('inc-1'))?.timeline.at(-1)).toMatchObject({ type: 'rerun-started', actor: 'sarah.chen', message: 'Rerun #1 started by sarah.chen: verify the fix' });

    workflow.finish(executionArnFor(STATE_MACHINE_ARN, 'inc-1-rerun-1'), 'FAILED');
    expect(bodyOf(await post())).toMatchObject({ rerun: 2, executionArn: executionArnFor(STATE_MACHINE_ARN, 'inc-1-rerun-2') });
  });

  it('keeps a non-terminal status when the execution is no longer running', async () => {
    const { store, workflow, first, post } = await setup();
    await store.updateIncident('inc-1', { status: 'INVESTIGATING' });
    workflow.finish(first.executionArn, 'ABORTED');
    expect(bodyOf(await post())).toMatchObject({ rerun: 1, status: 'INVESTIGATING' });
  });

  it('steps over a rerun name that is already taken by a finished execution', async () => {
    const { workflow, first, post } = await setup();
    workflow.finish(first.executionArn, 'FAILED');
    const taken = await workflow.start('inc-1-rerun-1', { incidentId: 'inc-1', service: 's', severity: 'SEV2', title: 't', policy: { verifyWaitSeconds: 1, maxVerifyChecks: 1 } });
    workflow.finish(taken.executionArn, 'SUCCEEDED');
    expect(bodyOf(await post())).toMatchObject({ rerun: 2 });
  });

  it('answers 404 for an unknown incident and 400 naming an unknown body field', async () => {
    const { post } = await setup();
    expect(statusOf(await post({}, { id: 'inc-404' }))).toBe(404);
    const bad = await post({ requestedBy: 'x', force: true });
    expect(statusOf(bad)).toBe(400);
    expect(bodyOf(bad).message).toMatch(/force/);
  });

  it('accepts the sample event events/api/rerun-incident.json', async () => {
    const { workflow, first, rerun } = await setup('inc-20240501-9f2c4e1a7b');
    workflow.finish(first.executionArn, 'SUCCEEDED');
    expect(statusOf(await rerun(sampleEvent('rerun-incident')))).toBe(202);
  });
});
