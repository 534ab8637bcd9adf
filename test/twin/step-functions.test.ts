/**
 * The twin's Step Functions service on its own: the real ASL and the real SDK client against the local JSON
 * endpoint, with scripted task functions (no handlers needed), so the workflow's paths — approval, rejection,
 * approval timeout, a failing agent — and the API semantics (idempotent start, task tokens) are checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SFNClient, StartExecutionCommand, SendTaskSuccessCommand, SendTaskFailureCommand, DescribeExecutionCommand, GetExecutionHistoryCommand } from '@aws-sdk/client-sfn';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { ASL_EVENT_BUS_KEY, ASL_EVENT_SOURCE_KEY, EVENT_SOURCE, FUNCTIONS } from '../../functions/registry.ts';
import { substitute, workflowDefinition } from '../../lib/workflow-definition.ts';
import { startAwsJsonServer, type AwsJsonServer } from '../../lib/local/aws-json.ts';
import { EVENT_BUS_NAME, LOCAL_CREDENTIALS, STATE_MACHINE_ARN, lambdaArn } from '../../lib/local/constants.ts';
import { EventBus } from '../../lib/local/event-bus.ts';
import { LocalStepFunctions, stepFunctionsService, type StateEvent } from '../../lib/local/step-functions.ts';

class ScriptedFailure extends Error {
  override name = 'ScriptedFailure';
}

/** Task functions that answer like the agents would, by function name; the plan and failures are per incident. */
const scriptedLambdas = (onApprovalRequested: (incidentId: string, token: string) => void) => ({
  invoke: async (arn: string, event: unknown) => {
    const name = FUNCTIONS.find((f) => lambdaArn(f.name) === arn)?.name;
    const e = event as { incidentId: string; taskToken?: string; attempt?: number };
    if (e.incidentId.startsWith('fail-') && name === 'find-root-cause') throw new ScriptedFailure('no evidence at all');
    switch (name) {
      case 'plan-mitigation':
        return { summary: 'roll back', hasActions: true, autoApprove: e.incidentId.startsWith('auto-'), risk: 'medium' };
      case 'request-approval':
        onApprovalRequested(e.incidentId, e.taskToken ?? '');
        return { summary: 'asked' };
      case 'verify-recovery':
        return { summary: 'recovered', attempt: (e.attempt ?? 0) + 1, recovered: true, exhausted: false };
      case 'write-report':
        return { summary: 'report', detailType: 'Incident Resolved', detail: { incidentId: e.incidentId } };
      default:
        return { summary: `${name} done` };
    }
  },
});

const definitionFor = (approvalTimeoutSeconds: number) => {
  const values: Record<string, string> = { [ASL_EVENT_BUS_KEY]: EVENT_BUS_NAME, [ASL_EVENT_SOURCE_KEY]: EVENT_SOURCE };
  for (const f of FUNCTIONS) if (f.aslKey) values[f.aslKey] = lambdaArn(f.name);
  return substitute(workflowDefinition({ approvalTimeoutSeconds }), values) as unknown as StateMachineDefinition;
};

const input = (incidentId: string) => JSON.stringify({ incidentId, service: 'inventory-service', severity: 'SEV1', title: 't', policy: { verifyWaitSeconds: 0, maxVerifyChecks: 2 } });

describe('twin step functions (real ASL, scripted tasks, SDK over the JSON protocol)', () => {
  const tokens = new Map<string, PromiseWithResolvers<string>>();
  const tokenFor = (incidentId: string) => {
    if (!tokens.has(incidentId)) tokens.set(incidentId, Promise.withResolvers<string>());
    return tokens.get(incidentId)!;
  };
  const bus = new EventBus();
  const stateEvents: StateEvent[] = [];
  let sfn: LocalStepFunctions;
  let server: AwsJsonServer;
  let client: SFNClient;

  beforeAll(async () => {
    sfn = new LocalStepFunctions({
      definition: definitionFor(1),
      lambdas: scriptedLambdas((id, token) => tokenFor(id).resolve(token)),
      bus,
      defaultEventBus: EVENT_BUS_NAME,
      waitOverrideMs: 0,
    });
    sfn.onStateEvent((e) => stateEvents.push(e));
    server = await startAwsJsonServer([stepFunctionsService(sfn)]);
    client = new SFNClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
  });
  afterAll(async () => {
    client?.destroy();
    await sfn?.stop();
    await server?.stop();
  });

  const start = (incidentId: string) => client.send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name: incidentId, input: input(incidentId) }));
  const entered = (arn: string) => stateEvents.filter((e) => e.executionArn === arn && e.type === 'entered').map((e) => e.state);

  it('approved plan runs the mitigation, verifies and publishes the outcome', async () => {
    // Prepare / Act
    const { executionArn } = await start('inc-approve');
    const token = await tokenFor('inc-approve').promise;
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ decision: 'approve', approver: 'sam' }) }));
    const result = await sfn.waitFor(executionArn!);
    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(entered(executionArn!)).toEqual(expect.arrayContaining(['Analyze impact', 'Find similar incidents', 'Analyze logs', 'Request approval', 'Execute mitigation', 'Verify recovery', 'Publish outcome']));
    expect(bus.events.filter((e) => (e.detail as { incidentId?: string }).incidentId === 'inc-approve').map((e) => e['detail-type'])).toEqual(['Incident Resolved']);
    expect(sfn.timings(executionArn!).map((t) => t.state)).toContain('Request approval');
  });

  it('rejected approval skips the mitigation and a second answer with the token is TaskTimedOut', async () => {
    const { executionArn } = await start('inc-reject');
    const token = await tokenFor('inc-reject').promise;
    await client.send(new SendTaskFailureCommand({ taskToken: token, error: 'ApprovalRejected', cause: 'too risky' }));
    const result = await sfn.waitFor(executionArn!);
    expect(result.status).toBe('SUCCEEDED');
    expect(entered(executionArn!)).toContain('Write report');
    expect(entered(executionArn!)).not.toContain('Execute mitigation');
    await expect(client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))).rejects.toMatchObject({ name: 'TaskTimedOut' });
  });

  it('approval that nobody answers times out into the escalation branch', async () => {
    const { executionArn } = await start('inc-timeout');
    const token = await tokenFor('inc-timeout').promise;
    const result = await sfn.waitFor(executionArn!, 10_000);
    expect(result.status).toBe('SUCCEEDED');
    expect(stateEvents).toContainEqual(expect.objectContaining({ executionArn, state: 'Request approval', type: 'failed', error: 'States.Timeout' }));
    expect(entered(executionArn!)).toContain('Escalate: approval timed out');
    await expect(client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))).rejects.toMatchObject({ name: 'TaskTimedOut' });
  });

  it('a failing agent is caught by name, recorded, and the execution fails with Incident Failed published', async () => {
    const { executionArn } = await start('fail-rootcause');
    const result = await sfn.waitFor(executionArn!);
    expect(result).toMatchObject({ status: 'FAILED', error: 'IncidentFailed' });
    expect(stateEvents).toContainEqual(expect.objectContaining({ executionArn, state: 'Find root cause', type: 'caught', error: 'ScriptedFailure' }));
    const failed = bus.events.find((e) => e['detail-type'] === 'Incident Failed' && (e.detail as { incidentId: string }).incidentId === 'fail-rootcause');
    expect(failed?.detail).toMatchObject({ error: 'ScriptedFailure' });
    expect(failed?.detail).toMatchObject({ cause: 'no evidence at all' });
    const described = await client.send(new DescribeExecutionCommand({ executionArn }));
    expect(described.status).toBe('FAILED');
    const history = await client.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(history.events?.some((e) => e.type === 'TaskFailed')).toBe(true);
  });

  it('auto-approved plan never asks for approval', async () => {
    const { executionArn } = await start('auto-1');
    expect((await sfn.waitFor(executionArn!)).status).toBe('SUCCEEDED');
    expect(entered(executionArn!)).not.toContain('Request approval');
    expect(entered(executionArn!)).toContain('Execute mitigation');
  });

  it('StartExecution is idempotent for the same name and input while running and conflicts otherwise', async () => {
    const first = await start('inc-dup');
    const again = await start('inc-dup');
    expect(again.executionArn).toBe(first.executionArn);
    await expect(client.send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name: 'inc-dup', input: '{"incidentId":"inc-dup","other":1}' }))).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    const token = await tokenFor('inc-dup').promise;
    await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }));
    await sfn.waitFor(first.executionArn!);
  });

  it('rejects an unknown task token with InvalidToken and a bad input with InvalidExecutionInput', async () => {
    await expect(client.send(new SendTaskSuccessCommand({ taskToken: 'not-a-token', output: '{}' }))).rejects.toMatchObject({ name: 'InvalidToken' });
    await expect(client.send(new StartExecutionCommand({ stateMachineArn: STATE_MACHINE_ARN, name: 'bad-input', input: '{not json' }))).rejects.toMatchObject({ name: 'InvalidExecutionInput' });
    await expect(client.send(new DescribeExecutionCommand({ executionArn: 'arn:aws:states:us-east-1:000000000000:execution:incident-response:nope' }))).rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });
  });
});
