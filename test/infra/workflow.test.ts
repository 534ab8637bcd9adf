import { App, Stack } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Function as LambdaFunction, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { ASL_EVENT_BUS_KEY, ASL_EVENT_SOURCE_KEY, EVENT_SOURCE, FUNCTIONS } from '../../functions/registry.ts';
import { IncidentWorkflow, MissingSubstitutionError } from '../../lib/incident-workflow.ts';
import { APPROVAL_STATE, type AslDefinition, placeholders, readWorkflowDefinition, taskStates, workflowDefinition } from '../../lib/workflow-definition.ts';
import { arnOf, ref, resourceOf, resourcesAllowed, statementsOfRole, SYNTH_TIMEOUT_MS, synthStack, type Synth } from './fixture.ts';

const APPROVAL_TIMEOUT = 900;
let synth: Synth;
beforeAll(() => {
  synth = synthStack({ approvalTimeoutSeconds: APPROVAL_TIMEOUT, verifyWaitSeconds: 60, maxVerifyChecks: 3 });
}, SYNTH_TIMEOUT_MS);

const stateMachine = () => resourceOf(synth, synth.stack.workflow.stateMachine);

describe('IncidentWorkflow', () => {
  it('is a Standard state machine', () => {
    synth.template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    synth.template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineType: 'STANDARD' });
  });

  it('logs every event, with execution data, to its log group', () => {
    expect(stateMachine().Properties.LoggingConfiguration).toEqual({
      Level: 'ALL',
      IncludeExecutionData: true,
      Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: arnOf(synth.stack.workflow.logGroup) } }],
    });
  });

  it('traces executions with X-Ray', () => {
    synth.template.hasResourceProperties('AWS::StepFunctions::StateMachine', { TracingConfiguration: { Enabled: true } });
  });

  it('deploys the ASL file with the configured approval timeout on the approval task and its payload', () => {
    const definition = JSON.parse(stateMachine().Properties.DefinitionString as string) as AslDefinition;
    const approval = definition.States[APPROVAL_STATE] as unknown as { TimeoutSeconds: number; Parameters: { Payload: { timeoutSeconds: number } } };
    expect(approval.TimeoutSeconds).toBe(APPROVAL_TIMEOUT);
    expect(approval.Parameters.Payload.timeoutSeconds).toBe(APPROVAL_TIMEOUT);
    expect(Object.keys(definition.States)).toEqual(Object.keys(readWorkflowDefinition().States));
  });

  it('bounds an execution by the approval wait, every recovery check and an agent budget', () => {
    const definition = JSON.parse(stateMachine().Properties.DefinitionString as string) as { TimeoutSeconds?: number };
    expect(definition.TimeoutSeconds).toBe(APPROVAL_TIMEOUT + (3 + 1) * (60 + 120) + 30 * 60); // the checks and the grace check
  });

  it('substitutes every ${Placeholder} of the definition', () => {
    const substitutions = stateMachine().Properties.DefinitionSubstitutions as Record<string, unknown>;
    const needed = [...placeholders(workflowDefinition())].sort();
    expect(needed.length).toBeGreaterThan(0);
    expect(needed.filter((key) => substitutions[key] === undefined)).toEqual([]);
    expect(Object.keys(substitutions).sort()).toEqual(needed);
  });

  it('substitutes each function key with that function\'s ARN, and the bus name and event source', () => {
    const substitutions = stateMachine().Properties.DefinitionSubstitutions as Record<string, unknown>;
    for (const spec of FUNCTIONS.filter((s) => s.role === 'workflow')) {
      expect(substitutions[spec.aslKey!], spec.name).toEqual(arnOf(synth.stack.functions.get(spec.name)));
    }
    expect(substitutions[ASL_EVENT_BUS_KEY]).toEqual(ref(synth.stack.events.eventBus));
    expect(substitutions[ASL_EVENT_SOURCE_KEY]).toBe(EVENT_SOURCE);
  });

  it('lets the state machine invoke every function the ASL references, on the ARN the ASL names', () => {
    const invocable = resourcesAllowed(statementsOfRole(synth, synth.stack.workflow.stateMachine.role), 'lambda:InvokeFunction');
    const keys = [...taskStates(readWorkflowDefinition()).values()]
      .map((task) => (task.Parameters as { FunctionName?: string } | undefined)?.FunctionName)
      .filter((name): name is string => name !== undefined)
      .map((name) => /^\$\{(\w+)\}$/.exec(name)![1]);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of new Set(keys)) {
      const spec = FUNCTIONS.find((s) => s.aslKey === key);
      expect(spec, key).toBeDefined();
      expect(invocable, key).toContainEqual(arnOf(synth.stack.functions.get(spec!.name)));
    }
  });

  it('lets the state machine invoke no API function', () => {
    const invocable = JSON.stringify(resourcesAllowed(statementsOfRole(synth, synth.stack.workflow.stateMachine.role), 'lambda:InvokeFunction'));
    for (const spec of FUNCTIONS.filter((s) => s.role === 'api')) {
      expect(invocable, spec.name).not.toContain(JSON.stringify(arnOf(synth.stack.functions.get(spec.name))));
    }
  });

  it('lets the state machine put events on the incident bus only', () => {
    const resources = resourcesAllowed(statementsOfRole(synth, synth.stack.workflow.stateMachine.role), 'events:PutEvents');
    expect(resources).toEqual([arnOf(synth.stack.events.eventBus)]);
  });

  it.each([
    ['ExecutionsFailed', () => synth.stack.workflow.failedAlarm],
    ['ExecutionsTimedOut', () => synth.stack.workflow.timedOutAlarm],
  ])('alarms on %s of this state machine', (metric, alarm) => {
    expect(resourceOf(synth, alarm()).Properties).toMatchObject({
      Namespace: 'AWS/States',
      MetricName: metric,
      Dimensions: [{ Name: 'StateMachineArn', Value: ref(synth.stack.workflow.stateMachine) }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('refuses to build when the ASL names a function nobody provides, naming the placeholder', () => {
    const stack = new Stack(new App(), 'Partial');
    const bus = new EventBus(stack, 'Bus');
    const functions = new Map<string, IFunction>();
    for (const spec of FUNCTIONS.filter((s) => s.role === 'workflow' && s.name !== 'triage')) {
      functions.set(spec.aslKey!, LambdaFunction.fromFunctionArn(stack, spec.name, `arn:aws:lambda:eu-west-1:111122223333:function:${spec.name}`));
    }
    const error = (() => {
      try {
        new IncidentWorkflow(stack, 'Workflow', { functions, eventBus: bus });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(MissingSubstitutionError);
    expect((error as Error).message).toContain('${TriageFunctionArn}');
  });
});

describe('statemachine/incident-response.asl.json', () => {
  interface State {
    Type: string;
    Next?: string;
    End?: boolean;
    Default?: string;
    Choices?: { Next: string }[];
    Catch?: { Next: string }[];
    Branches?: { StartAt: string; States: Record<string, State> }[];
  }
  const transitions = (state: State): string[] => [
    ...(state.Next ? [state.Next] : []),
    ...(state.Default ? [state.Default] : []),
    ...(state.Choices ?? []).map((c) => c.Next),
    ...(state.Catch ?? []).map((c) => c.Next),
  ];
  /** Every state machine in the definition: the top level and each Parallel branch, with a name for messages. */
  const machines = (scope: string, m: { StartAt: string; States: Record<string, State> }): [string, { StartAt: string; States: Record<string, State> }][] => [
    [scope, m],
    ...Object.entries(m.States).flatMap(([name, s]) => (s.Branches ?? []).flatMap((b, i) => machines(`${scope} > ${name}[${i}]`, b))),
  ];
  const all = machines('top', readWorkflowDefinition() as unknown as { StartAt: string; States: Record<string, State> });

  it.each(all)('%s: StartAt and every Next, Default, Choice and Catch target exist', (_, m) => {
    const names = new Set(Object.keys(m.States));
    const dangling = [m.StartAt, ...Object.values(m.States).flatMap(transitions)].filter((target) => !names.has(target));
    expect(dangling).toEqual([]);
  });

  it.each(all)('%s: every state is reachable from StartAt', (_, m) => {
    const seen = new Set<string>();
    const visit = (name: string) => {
      if (seen.has(name) || !m.States[name]) return;
      seen.add(name);
      transitions(m.States[name]).forEach(visit);
    };
    visit(m.StartAt);
    expect(Object.keys(m.States).filter((name) => !seen.has(name))).toEqual([]);
  });

  it('starts with a Choice that sends a rerun whose mitigation already ran straight to the verification loop', () => {
    const definition = readWorkflowDefinition() as unknown as { StartAt: string; States: Record<string, State & { Choices?: { Variable?: string; IsPresent?: boolean; Next: string }[] }> };
    const first = definition.States[definition.StartAt];
    expect(first.Type).toBe('Choice');
    expect(first.Choices).toEqual([{ Variable: '$.earlierMitigation', IsPresent: true, Next: 'Start verification' }]);
    expect(first.Default).toBe('Investigate');
    // The verification loop then reports and publishes as usual.
    expect(definition.States['Start verification'].Next).toBe('Wait for recovery');
    expect(definition.States['Recovered?'].Choices?.map((c) => c.Next)).toContain('Write report');
    expect(definition.States['Write report'].Next).toBe('Publish outcome');
  });

  it.each(all)('%s: every state either ends or moves on', (_, m) => {
    const stuck = Object.entries(m.States).filter(([, s]) => !['Choice', 'Succeed', 'Fail'].includes(s.Type) && !s.End && !s.Next);
    expect(stuck.map(([name]) => name)).toEqual([]);
  });
});
