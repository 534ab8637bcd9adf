/**
 * The retry contract on the twin: a handler that throws a Retryable error (StoreUnavailable, as during a DynamoDB
 * outage) on its first call and succeeds on the second lets the incident go on, instead of "Record failure"; a
 * handler error that is not retryable still goes to "Record failure" at once. This runs the real ASL in the twin's
 * interpreter (aws-local-stepfunctions) and the twin's Lambda runtime (LocalLambdas, which turns a thrown error into
 * the Lambda error whose errorType is its `name`), with stub handler modules in a temporary root, so that the
 * error's name is what travels from the handler to the state machine's Retry.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASL_EVENT_BUS_KEY, ASL_EVENT_SOURCE_KEY, EVENT_SOURCE, FUNCTIONS } from '../../functions/registry.ts';
import { EVENT_BUS_NAME, STATE_MACHINE_ARN, lambdaArn } from '../../lib/local/constants.ts';
import { EventBus } from '../../lib/local/event-bus.ts';
import { LocalLambdas } from '../../lib/local/lambda-runtime.ts';
import { LocalStepFunctions, type StateEvent } from '../../lib/local/step-functions.ts';
import { substitute, workflowDefinition } from '../../lib/workflow-definition.ts';

const STORE_MODULE = new URL('../../functions/core/store/dynamo-store.ts', import.meta.url).href;

/** Calls per function and incident, shared with the stub handlers (they run on this thread). */
const calls: Map<string, number> = ((globalThis as { __retryTestCalls?: Map<string, number> }).__retryTestCalls = new Map());

/**
 * A stub handler: counts its calls; triage fails on its first call per incident with the error the incident id names
 * (`retryable-…` → StoreUnavailable, `fatal-…` → a plain named error), and answers like the agents otherwise.
 */
const stub = (name: string) => `
import { StoreUnavailable } from ${JSON.stringify(STORE_MODULE)};
class TriageCrashed extends Error { name = 'TriageCrashed'; }
export const handler = async (event) => {
  const calls = globalThis.__retryTestCalls;
  const key = ${JSON.stringify(name)} + ' ' + event.incidentId;
  const n = (calls.get(key) ?? 0) + 1;
  calls.set(key, n);
  if (${JSON.stringify(name)} === 'triage' && n === 1) {
    if (event.incidentId.startsWith('retryable-')) throw new StoreUnavailable('BatchGetItem left 1 key(s) unprocessed after 5 retries');
    if (event.incidentId.startsWith('fatal-')) throw new TriageCrashed('no on-call data at all');
  }
  switch (${JSON.stringify(name)}) {
    case 'plan-mitigation': return { summary: 'nothing to do', hasActions: false, autoApprove: false, risk: 'low' };
    case 'write-report': return { summary: 'report', detailType: 'Incident Resolved', detail: { incidentId: event.incidentId } };
    default: return { summary: ${JSON.stringify(name)} + ' done' };
  }
};
`;

describe('laptop twin, the retry contract through the Lambda runtime and the interpreter', () => {
  let root: string;
  let lambdas: LocalLambdas;
  let sfn: LocalStepFunctions;
  const stateEvents: StateEvent[] = [];

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'autopilot-retry-'));
    for (const f of FUNCTIONS.filter((s) => s.role === 'workflow')) {
      const file = join(root, f.entry);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, stub(f.name));
    }
    lambdas = new LocalLambdas(root);
    const values: Record<string, string> = { [ASL_EVENT_BUS_KEY]: EVENT_BUS_NAME, [ASL_EVENT_SOURCE_KEY]: EVENT_SOURCE };
    for (const f of FUNCTIONS) if (f.aslKey) values[f.aslKey] = lambdaArn(f.name);
    const definition = substitute(workflowDefinition(), values) as unknown as StateMachineDefinition;
    sfn = new LocalStepFunctions({ definition, lambdas, bus: new EventBus(), defaultEventBus: EVENT_BUS_NAME, waitOverrideMs: 0 });
    sfn.onStateEvent((e) => stateEvents.push(e));
  });
  afterAll(async () => {
    await sfn?.stop();
    await lambdas?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const run = (incidentId: string) => {
    sfn.startExecution(
      STATE_MACHINE_ARN,
      incidentId,
      JSON.stringify({ incidentId, service: 'inventory-service', severity: 'SEV2', title: 't', policy: { verifyWaitSeconds: 0, maxVerifyChecks: 1 } }),
    );
    return sfn.waitFor(incidentId, 30_000);
  };
  const statesOf = (incidentId: string) => stateEvents.filter((e) => e.incidentId === incidentId && e.type === 'entered').map((e) => e.state);

  it('retries a task whose handler threw StoreUnavailable once, and the incident goes on to its report', async () => {
    // Act
    const result = await run('retryable-1');
    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(calls.get('triage retryable-1')).toBe(2);
    expect(statesOf('retryable-1')).toEqual(expect.arrayContaining(['Triage and engage', 'Find root cause', 'Write report', 'Publish outcome']));
    expect(statesOf('retryable-1')).not.toContain('Record failure');
  });

  it('does not retry an error that is not retryable: the incident goes to Record failure', async () => {
    // Act
    const result = await run('fatal-1');
    // Assess
    expect(result.status).toBe('FAILED');
    expect(calls.get('triage fatal-1')).toBe(1);
    expect(statesOf('fatal-1')).toEqual(expect.arrayContaining(['Record failure', 'Publish failure']));
    expect(statesOf('fatal-1')).not.toContain('Find root cause');
  });
});
