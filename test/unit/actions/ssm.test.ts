import { GetAutomationExecutionCommand, SSMClient, StartAutomationExecutionCommand } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { MitigationAction } from '../../../functions/core/model.ts';
import { inverseOf } from '../../../functions/core/runbooks/inverse.ts';
import { automationClientToken, automationParameters, documentFor, SsmAutomationActions } from '../../../functions/core/tools/actions/ssm.ts';

const ssm = mockClient(SSMClient);
const ROLE = 'arn:aws:iam::111122223333:role/AutopilotAutomation';
const DOCUMENTS = { 'rollback-change': 'Autopilot-Rollback', 'rollback-change:undo': 'Autopilot-RollForward', 'scale-service': 'Autopilot-Scale', 'revert-config': 'Autopilot-SetParameter' };

const rollback: MitigationAction = {
  kind: 'rollback-change',
  service: 'cart-service',
  target: 'CR2074',
  params: { fromVersion: 'v3.8.2', toVersion: 'v3.8.1', rollbackPlan: 'Redeploy v3.8.1', inverse: 'roll forward again' },
  description: 'Roll back CR2074',
  risk: 'medium',
  reversible: true,
  evidenceIds: [],
};
const scale: MitigationAction = { ...rollback, kind: 'scale-service', service: 'inventory-service', target: undefined, params: { factor: 2 }, description: 'Scale out', risk: 'low' };
const revert: MitigationAction = { ...rollback, kind: 'revert-config', service: 'inventory-service', target: 'maximum-pool-size', params: { param: 'maximum-pool-size', changeId: 'CR2077', from: '10', to: '20' }, risk: 'low' };

/** A clock the adapter's sleeps advance, so the wait deadline is reached without real waiting. */
const fakeTime = () => {
  let now = 0;
  const sleeps: number[] = [];
  return { now: () => now, sleep: async (ms: number) => void (sleeps.push(ms), (now += ms)), sleeps };
};

const adapter = (over: Partial<ConstructorParameters<typeof SsmAutomationActions>[0]> = {}) => {
  const time = fakeTime();
  return { actions: new SsmAutomationActions({ client: new SSMClient({ region: 'eu-west-1' }), documents: DOCUMENTS, assumeRoleArn: ROLE, waitSeconds: 30, sleep: time.sleep, now: time.now, ...over }), time };
};

const statuses = (...list: string[]) => {
  const chain = ssm.on(GetAutomationExecutionCommand, { AutomationExecutionId: 'exec-1' });
  for (const s of list) chain.resolvesOnce({ AutomationExecution: { AutomationExecutionId: 'exec-1', AutomationExecutionStatus: s as never, FailureMessage: s === 'Failed' ? 'Step deploy failed: image v3.8.1 not found' : undefined } });
};

describe('unit: SSM Automation actions adapter', () => {
  beforeEach(() => {
    ssm.reset();
    ssm.on(StartAutomationExecutionCommand).resolves({ AutomationExecutionId: 'exec-1' });
  });

  it('starts the document configured for the kind with parameters mapped from the action, and waits for Success', async () => {
    // Prepare
    statuses('Pending', 'InProgress', 'Success');
    const { actions, time } = adapter();
    // Act
    const result = await actions.execute({ incidentId: 'inc-1', action: rollback });
    // Assess
    expect(result).toEqual({ status: 'succeeded', detail: 'SSM Automation Autopilot-Rollback execution exec-1: Success' });
    const start = ssm.commandCalls(StartAutomationExecutionCommand)[0].args[0].input;
    expect(start.DocumentName).toBe('Autopilot-Rollback');
    expect(start.Parameters).toEqual({
      IncidentId: ['inc-1'],
      Service: ['cart-service'],
      Direction: ['apply'],
      Target: ['CR2074'],
      ChangeId: ['CR2074'],
      FromVersion: ['v3.8.2'],
      ToVersion: ['v3.8.1'],
      AutomationAssumeRole: [ROLE],
    });
    expect(start.Tags).toEqual([
      { Key: 'autopilot:incident', Value: 'inc-1' },
      { Key: 'autopilot:action', Value: 'rollback-change:apply' },
    ]);
    expect(ssm.commandCalls(GetAutomationExecutionCommand)).toHaveLength(3);
    expect(time.sleeps).toEqual([1000, 2000]);
  });

  it('runs the undo document for an inverse, with the direction and the swapped versions', async () => {
    statuses('Success');
    const { actions } = adapter();
    const result = await actions.execute({ incidentId: 'inc-1', action: inverseOf(rollback)! });
    const start = ssm.commandCalls(StartAutomationExecutionCommand)[0].args[0].input;
    expect(result.status).toBe('succeeded');
    expect(start.DocumentName).toBe('Autopilot-RollForward');
    expect(start.Parameters).toMatchObject({ Direction: ['undo'], FromVersion: ['v3.8.1'], ToVersion: ['v3.8.2'] });
    expect(start.Tags).toContainEqual({ Key: 'autopilot:action', Value: 'rollback-change:undo' });
  });

  it('falls back to the kind\'s document with Direction=undo when no undo document is configured', async () => {
    statuses('Success');
    const { actions } = adapter();
    await actions.execute({ incidentId: 'inc-1', action: inverseOf(scale)! });
    const start = ssm.commandCalls(StartAutomationExecutionCommand)[0].args[0].input;
    expect(start.DocumentName).toBe('Autopilot-Scale');
    expect(start.Parameters).toMatchObject({ Direction: ['undo'], Factor: ['0.5'] });
  });

  it('maps a config revert to Parameter and Value, and leaves out what is unknown', () => {
    expect(automationParameters('inc-2', revert)).toEqual({
      IncidentId: ['inc-2'],
      Service: ['inventory-service'],
      Direction: ['apply'],
      Target: ['maximum-pool-size'],
      ChangeId: ['CR2077'],
      Parameter: ['maximum-pool-size'],
      Value: ['20'],
    });
    expect(documentFor(DOCUMENTS, { ...revert, kind: 'failover' })).toBeUndefined();
  });

  it.each([
    ['Failed', 'SSM Automation: Autopilot-Rollback execution exec-1 ended Failed: Step deploy failed: image v3.8.1 not found'],
    ['TimedOut', 'SSM Automation: Autopilot-Rollback execution exec-1 ended TimedOut'],
    ['Cancelled', 'SSM Automation: Autopilot-Rollback execution exec-1 ended Cancelled'],
  ])('reports an execution that ends %s as failed, with the reason', async (status, detail) => {
    statuses('InProgress', status);
    const { actions } = adapter();
    expect(await actions.execute({ incidentId: 'inc-1', action: rollback })).toEqual({ status: 'failed', detail });
  });

  it('stops waiting at the deadline and reports the execution as not confirmed, naming it', async () => {
    ssm.on(GetAutomationExecutionCommand).resolves({ AutomationExecution: { AutomationExecutionStatus: 'InProgress' } });
    const { actions, time } = adapter({ waitSeconds: 10 });
    const result = await actions.execute({ incidentId: 'inc-1', action: rollback });
    expect(result).toEqual({ status: 'failed', detail: 'SSM Automation: Autopilot-Rollback execution exec-1 is still InProgress after 10 s: not confirmed; follow it in the Systems Manager console' });
    expect(time.now()).toBe(10_000);
    expect(time.sleeps).toEqual([1000, 2000, 4000, 3000]);
  });

  it('keeps polling through a failed poll', async () => {
    ssm.on(GetAutomationExecutionCommand).rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })).resolves({ AutomationExecution: { AutomationExecutionStatus: 'Success' } });
    const { actions } = adapter();
    expect((await actions.execute({ incidentId: 'inc-1', action: rollback })).status).toBe('succeeded');
  });

  it('turns a rejected start into a failed result naming the SDK error', async () => {
    ssm.on(StartAutomationExecutionCommand).rejects(Object.assign(new Error('Parameter "Target" is not declared by the document'), { name: 'InvalidAutomationExecutionParametersException' }));
    const { actions } = adapter();
    expect(await actions.execute({ incidentId: 'inc-1', action: rollback })).toEqual({
      status: 'failed',
      detail: 'SSM Automation: StartAutomationExecution of Autopilot-Rollback failed: InvalidAutomationExecutionParametersException: Parameter "Target" is not declared by the document',
    });
  });

  it('fails an action whose kind has no document without calling SSM', async () => {
    const { actions } = adapter();
    const result = await actions.execute({ incidentId: 'inc-1', action: { ...rollback, kind: 'failover', target: 'payment-service' } });
    expect(result).toEqual({ status: 'failed', detail: expect.stringMatching(/^SSM Automation: no document is configured for failover; SSM_AUTOMATION_DOCUMENTS names rollback-change, /) });
    expect(ssm.commandCalls(StartAutomationExecutionCommand)).toHaveLength(0);
  });

  it('gives every start an idempotency token per incident, action and direction, so a duplicate run does not start the runbook twice', async () => {
    statuses('Success', 'Success');
    const { actions } = adapter();
    await actions.execute({ incidentId: 'inc-1', action: rollback });
    await actions.execute({ incidentId: 'inc-1', action: rollback });
    const [first, again] = ssm.commandCalls(StartAutomationExecutionCommand).map((c) => c.args[0].input.ClientToken);
    // SSM enforces the UUID format on ClientToken.
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(again).toBe(first);
    const others = [
      automationClientToken('inc-2', rollback),
      automationClientToken('inc-1', inverseOf(rollback)!),
      automationClientToken('inc-1', { ...rollback, target: 'CR2075' }),
      automationClientToken('inc-1', scale),
    ];
    expect(new Set([first, ...others]).size).toBe(5);
  });
});
