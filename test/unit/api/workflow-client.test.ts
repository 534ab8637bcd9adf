import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  InvalidToken,
  SFNClient,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SFN_CONNECTION_TIMEOUT_MS, SFN_REQUEST_TIMEOUT_MS, SfnWorkflowClient, TaskClosed, apiSfnClient, executionArnFor, executionInputFor, rerunNumber } from '../../../functions/core/workflow-client.ts';
import { FUNCTIONS } from '../../../functions/registry.ts';
import { STATE_MACHINE_ARN } from './fixtures.ts';

const sfn = mockClient(SFNClient);
const input = executionInputFor({ incidentId: 'inc-1', service: 'inventory-service', severity: 'SEV2', title: 't' }, { VERIFY_WAIT_SECONDS: 60, MAX_VERIFY_CHECKS: 4 });
const client = () => new SfnWorkflowClient(new SFNClient({ region: 'us-east-1' }), STATE_MACHINE_ARN);

describe('unit: SfnWorkflowClient', () => {
  beforeEach(() => {
    sfn.reset();
  });

  it('starts an execution named after the incident with the JSON input', async () => {
    // Prepare
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: new Date() });
    // Act
    const started = await client().start('inc-1', input);
    // Assess
    expect(started).toEqual({ executionArn: 'arn:x', alreadyExisted: false });
    expect(sfn.commandCalls(StartExecutionCommand)[0].args[0].input).toEqual({
      stateMachineArn: STATE_MACHINE_ARN,
      name: 'inc-1',
      input: JSON.stringify({ incidentId: 'inc-1', service: 'inventory-service', severity: 'SEV2', title: 't', policy: { verifyWaitSeconds: 60, maxVerifyChecks: 4 } }),
    });
  });

  it('treats ExecutionAlreadyExists as already started and derives the ARN from the name', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    expect(await client().start('inc-1', input)).toEqual({
      executionArn: 'arn:aws:states:us-east-1:123456789012:execution:incident-response:inc-1',
      alreadyExisted: true,
    });
  });

  it('lets other start errors escape', async () => {
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    await expect(client().start('inc-1', input)).rejects.toThrow('slow down');
  });

  it('reports the status of an execution and undefined for one that does not exist', async () => {
    sfn.on(DescribeExecutionCommand, { executionArn: 'arn:running' }).resolves({ status: 'RUNNING' });
    sfn.on(DescribeExecutionCommand, { executionArn: 'arn:none' }).rejects(new ExecutionDoesNotExist({ message: 'no', $metadata: {} }));
    expect(await client().status('arn:running')).toBe('RUNNING');
    expect(await client().status('arn:none')).toBeUndefined();
  });

  it('turns InvalidToken on SendTaskSuccess into TaskClosed', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(new InvalidToken({ message: 'Invalid token', $metadata: {} }));
    const error = await client().sendTaskSuccess('tok', { decision: 'approve' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskClosed);
    expect((error as TaskClosed).reason).toBe('InvalidToken');
    expect((error as TaskClosed).onRetry).toBe(false);
  });

  it('says when Step Functions reported the task closed to a retried call (the SDK made more than one attempt)', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: { attempts: 3 } }));
    const error = await client().sendTaskSuccess('tok', { decision: 'approve' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TaskClosed', reason: 'TaskTimedOut', onRetry: true });
  });

  it('caps the failure cause at the Step Functions limit', async () => {
    sfn.on(SendTaskFailureCommand).resolves({});
    await client().sendTaskFailure('tok', 'ApprovalRejected', 'c'.repeat(40_000));
    expect(sfn.commandCalls(SendTaskFailureCommand)[0].args[0].input.cause).toHaveLength(32_768);
  });

  it('refuses to start without a state machine ARN', async () => {
    await expect(new SfnWorkflowClient(new SFNClient({ region: 'us-east-1' })).start('inc-1', input)).rejects.toThrow(/no state machine ARN/);
  });
});

describe('unit: workflow helpers', () => {
  it('derives execution ARNs and rerun numbers', () => {
    expect(executionArnFor(STATE_MACHINE_ARN, 'inc-1-rerun-2')).toBe('arn:aws:states:us-east-1:123456789012:execution:incident-response:inc-1-rerun-2');
    expect(() => executionArnFor('arn:aws:lambda:us-east-1:1:function:f', 'x')).toThrow(/not a state machine ARN/);
    expect(rerunNumber(undefined)).toBe(0);
    expect(rerunNumber('arn:aws:states:r:a:execution:sm:inc-1')).toBe(0);
    expect(rerunNumber('arn:aws:states:r:a:execution:sm:inc-1-rerun-12')).toBe(12);
  });
});

describe('unit: the API functions\' Step Functions client', () => {
  it('limits each attempt, so the SDK\'s three attempts end inside every API function\'s timeout (with a second to spare for backoff)', () => {
    const apiFunctions = FUNCTIONS.filter((f) => !f.aslKey);
    for (const f of apiFunctions) expect(3 * (SFN_CONNECTION_TIMEOUT_MS + SFN_REQUEST_TIMEOUT_MS) + 1_000, f.name).toBeLessThan(f.timeoutSeconds * 1000);
    expect(apiSfnClient()).toBeInstanceOf(SFNClient);
  });
});
