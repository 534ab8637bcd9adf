/**
 * Step Functions for the laptop twin: the same ASL, interpreted by aws-local-stepfunctions, behind the API
 * calls the handlers make (StartExecution, DescribeExecution, SendTaskSuccess/Failure, GetExecutionHistory,
 * ListExecutions, StopExecution).
 *
 * Every Task state is overridden by name and dispatched on its Resource:
 *   lambda:invoke                   → the registry handler, returning `{Payload, StatusCode}` like the integration
 *   lambda:invoke.waitForTaskToken  → the handler, then a promise settled by SendTaskSuccess/SendTaskFailure
 *   events:putEvents                → the twin's event bus
 * The library does not fill `$$.Task.Token`, so each run gets a fresh token in its context object (one token
 * per execution: a retried approval state reuses it, where AWS would mint a new one).
 *
 * Executions live in memory: after a restart the incidents stay in DynamoDB but their executions are gone.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ExecutionAbortedError, ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { type AwsService, AwsServiceError, requiredString } from './aws-json.ts';
import { type AslDefinition, allStates } from '../workflow-definition.ts';
import { STATE_MACHINE_ARN, executionArn as arnFor } from './constants.ts';
import type { EventBus, PutEntry } from './event-bus.ts';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';

export interface StateEvent {
  executionArn: string;
  incidentId: string;
  state: string;
  type: 'entered' | 'succeeded' | 'failed' | 'caught';
  at: string;
  durationMs?: number;
  error?: string;
}

export interface ExecutionResult {
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: unknown;
  error?: string;
  cause?: string;
}

interface HistoryEvent {
  readonly id: number;
  readonly previousEventId: number;
  readonly timestamp: number; // epoch seconds, as the JSON protocol sends dates
  readonly type: string;
  readonly [details: string]: unknown;
}

interface Waiter {
  readonly executionArn: string;
  resolve(output: unknown): void;
  reject(error: Error): void;
}

interface Execution {
  readonly arn: string;
  readonly name: string;
  readonly input: string;
  readonly incidentId: string;
  readonly startDate: Date;
  readonly token: string;
  status: ExecutionStatus;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  readonly history: HistoryEvent[];
  readonly timings: { state: string; ms: number }[];
  /** The compressed waits' hooks so far (onWaitCompressed), chained: the state after a Wait awaits them. */
  skipped: Promise<void>;
  /** Settles when the run has ended and its event log has been read to the end. */
  readonly done: Promise<void>;
  abort(): void;
}

/** SendTaskFailure's error, as the state machine's Catch sees it. */
export class TaskFailure extends Error {
  override name = 'TaskFailure';
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error; // dynamic on purpose: ASL Catch matches on it (e.g. ApprovalRejected)
  }
}

export class ExecutionNotFound extends Error {
  override name = 'ExecutionNotFound';
}

/** `waitFor` gave up: the execution is still running (e.g. waiting for an approval nobody gives). */
export class ExecutionStillRunning extends Error {
  override name = 'ExecutionStillRunning';
}

export class UnsupportedResource extends Error {
  override name = 'UnsupportedResource';
}

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const LAMBDA_INVOKE_WAIT = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
const PUT_EVENTS = 'arn:aws:states:::events:putEvents';
/** AWS caps execution names at 80 characters of letters, digits, `-` and `_` (roughly; enough to catch mistakes). */
const EXECUTION_NAME = /^[A-Za-z0-9_.:-]{1,80}$/;

export interface LocalStepFunctionsOptions {
  /** The definition with every placeholder substituted. */
  readonly definition: StateMachineDefinition;
  /** Invokes a function by name or ARN (see LocalLambdas). */
  readonly lambdas: { invoke(nameOrArn: string, event: unknown): Promise<unknown> };
  readonly bus: EventBus;
  readonly defaultEventBus: string;
  /** When set, every Wait state pauses this many milliseconds instead of its own duration. */
  readonly waitOverrideMs?: number;
  /**
   * Called when a compressed Wait state (see waitOverrideMs) is entered, with the time it skipped: the twin
   * advances the incident's simulated world by it, so the world's clock keeps the time the workflow meant to wait.
   * The state after the Wait starts only once this has settled; a failure is reported to `onError` and the run goes
   * on (the world then simply has fewer fresh minutes).
   */
  readonly onWaitCompressed?: (wait: CompressedWait) => Promise<void>;
  readonly onError?: (error: Error) => void;
}

/** A Wait state the twin shortened: what it would have waited and what it waited. */
export interface CompressedWait {
  readonly executionArn: string;
  readonly incidentId: string;
  readonly state: string;
  readonly seconds: number;
  readonly waitedMs: number;
}

/** The seconds a Wait state asks for: `Seconds`, or `SecondsPath` (a plain `$.a.b` path) read from its input. */
export const waitSecondsOf = (state: { Seconds?: unknown; SecondsPath?: unknown }, input: unknown): number | undefined => {
  if (typeof state.Seconds === 'number') return state.Seconds;
  if (typeof state.SecondsPath !== 'string' || !/^\$(\.[A-Za-z0-9_]+)+$/.test(state.SecondsPath)) return undefined;
  let v: unknown = input;
  for (const key of state.SecondsPath.slice(2).split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
};

export class LocalStepFunctions {
  readonly #machine: StateMachine;
  readonly #states: ReturnType<typeof allStates>;
  readonly #opts: LocalStepFunctionsOptions;
  readonly #executions = new Map<string, Execution>();
  readonly #waiters = new Map<string, Waiter>();
  /** Tokens whose task has finished (answered, failed or timed out): answering them again is TaskTimedOut. */
  readonly #closedTokens = new Set<string>();
  readonly #listeners = new Set<(e: StateEvent) => void>();

  constructor(opts: LocalStepFunctionsOptions) {
    this.#opts = opts;
    this.#machine = new StateMachine(opts.definition);
    this.#states = allStates(opts.definition as unknown as AslDefinition);
    for (const [name, state] of this.#states) {
      if (state.Type === 'Task' && ![LAMBDA_INVOKE, LAMBDA_INVOKE_WAIT, PUT_EVENTS].includes(state.Resource ?? ''))
        throw new UnsupportedResource(`state "${name}": the laptop twin cannot run Resource ${state.Resource}`);
    }
  }

  onStateEvent(listener: (e: StateEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // ───────────────────────── API operations ─────────────────────────

  startExecution(stateMachineArn: string, name: string | undefined, input: string | undefined): { executionArn: string; startDate: number } {
    if (stateMachineArn !== STATE_MACHINE_ARN) throw new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    const executionName = name ?? randomUUID();
    if (!EXECUTION_NAME.test(executionName)) throw new AwsServiceError('InvalidName', `Invalid Name: '${executionName}'`);
    const inputText = input ?? '{}';
    let parsed: unknown;
    try {
      parsed = JSON.parse(inputText);
    } catch {
      throw new AwsServiceError('InvalidExecutionInput', 'Invalid State Machine Execution Input: the input is not valid JSON');
    }
    const existing = this.#executions.get(arnFor(executionName));
    if (existing) {
      // AWS: the same name and input while the execution runs is idempotent; anything else is a conflict.
      if (existing.status === 'RUNNING' && existing.input === inputText) return { executionArn: existing.arn, startDate: existing.startDate.getTime() / 1000 };
      throw new AwsServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${existing.arn}'`);
    }
    const execution = this.#run(executionName, inputText, parsed);
    return { executionArn: execution.arn, startDate: execution.startDate.getTime() / 1000 };
  }

  describeExecution(arn: string): Record<string, unknown> {
    const e = this.#get(arn);
    return {
      executionArn: e.arn,
      stateMachineArn: STATE_MACHINE_ARN,
      name: e.name,
      status: e.status,
      startDate: e.startDate.getTime() / 1000,
      stopDate: e.stopDate ? e.stopDate.getTime() / 1000 : undefined,
      input: e.input,
      output: e.output,
      error: e.error,
      cause: e.cause,
    };
  }

  listExecutions(statusFilter?: string): Record<string, unknown> {
    const executions = [...this.#executions.values()]
      .filter((e) => !statusFilter || e.status === statusFilter)
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime())
      .map((e) => ({ executionArn: e.arn, stateMachineArn: STATE_MACHINE_ARN, name: e.name, status: e.status, startDate: e.startDate.getTime() / 1000, stopDate: e.stopDate ? e.stopDate.getTime() / 1000 : undefined }));
    return { executions };
  }

  getExecutionHistory(arn: string, reverseOrder = false, maxResults = 1000, nextToken?: string): Record<string, unknown> {
    const { history } = this.#get(arn);
    const events = reverseOrder ? [...history].reverse() : history;
    const start = nextToken ? Number.parseInt(nextToken, 10) || 0 : 0;
    const page = events.slice(start, start + maxResults);
    return { events: page, nextToken: start + maxResults < events.length ? String(start + maxResults) : undefined };
  }

  sendTaskSuccess(token: string, output: string): Record<string, never> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(output);
    } catch {
      throw new AwsServiceError('InvalidOutput', 'Invalid Output: the output is not valid JSON');
    }
    this.#takeWaiter(token).resolve(parsed);
    return {};
  }

  sendTaskFailure(token: string, error?: string, cause?: string): Record<string, never> {
    this.#takeWaiter(token).reject(new TaskFailure(error || 'States.TaskFailed', cause ?? ''));
    return {};
  }

  stopExecution(arn: string): { stopDate: number } {
    const e = this.#get(arn);
    if (e.status === 'RUNNING') e.abort();
    return { stopDate: Date.now() / 1000 };
  }

  // ───────────────────────── for the twin and tests ─────────────────────────

  has(arnOrName: string): boolean {
    return this.#executions.has(arnOrName.startsWith('arn:') ? arnOrName : arnFor(arnOrName));
  }

  async waitFor(arnOrName: string, timeoutMs = 60_000): Promise<ExecutionResult> {
    const e = this.#get(arnOrName.startsWith('arn:') ? arnOrName : arnFor(arnOrName), () => new ExecutionNotFound(`no execution ${arnOrName}`));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ExecutionStillRunning(`execution ${e.name} still ${e.status} after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([e.done, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return {
      status: e.status as ExecutionResult['status'],
      output: e.output === undefined ? undefined : JSON.parse(e.output),
      error: e.error,
      cause: e.cause,
    };
  }

  timings(arn: string): { state: string; ms: number }[] {
    return [...(this.#executions.get(arn)?.timings ?? [])];
  }

  /** Aborts every running execution and waits for them to end. */
  async stop(): Promise<void> {
    const running = [...this.#executions.values()].filter((e) => e.status === 'RUNNING');
    for (const e of running) e.abort();
    await Promise.allSettled(running.map((e) => e.done));
  }

  // ───────────────────────── internals ─────────────────────────

  #get(arn: string, notFound: () => Error = () => new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`)): Execution {
    const e = this.#executions.get(arn);
    if (!e) throw notFound();
    return e;
  }

  #takeWaiter(token: string): Waiter {
    if (typeof token !== 'string' || token.length === 0) throw new AwsServiceError('InvalidToken', 'Invalid token');
    const waiter = this.#waiters.get(token);
    if (waiter) {
      this.#waiters.delete(token);
      this.#closedTokens.add(token);
      return waiter;
    }
    if (this.#closedTokens.has(token)) throw new AwsServiceError('TaskTimedOut', 'Task Timed Out: the task token has either expired or the task associated with the token has already been closed');
    throw new AwsServiceError('InvalidToken', 'Invalid token');
  }

  #closeToken(token: string, reason: Error): void {
    const waiter = this.#waiters.get(token);
    this.#waiters.delete(token);
    this.#closedTokens.add(token);
    waiter?.reject(reason);
  }

  #run(name: string, input: string, parsed: unknown): Execution {
    const arn = arnFor(name);
    const token = randomBytes(48).toString('base64url');
    const incidentId = parsed && typeof parsed === 'object' && 'incidentId' in parsed ? String((parsed as { incidentId: unknown }).incidentId) : name;
    const overrides: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const [stateName, state] of this.#states) {
      if (state.Type !== 'Task') continue;
      if (state.Resource === LAMBDA_INVOKE) overrides[stateName] = (params) => this.#invokeLambda(params);
      else if (state.Resource === LAMBDA_INVOKE_WAIT) overrides[stateName] = (params) => this.#invokeAndWait(params, token, arn);
      else overrides[stateName] = async (params) => this.#putEvents(params);
    }
    const waitTimeOverrides: Record<string, number> = {};
    const hook = this.#opts.onWaitCompressed;
    if (this.#opts.waitOverrideMs !== undefined)
      for (const [stateName, state] of this.#states)
        // With a hook, at least 1 ms: the library skips a 0 ms wait without yielding, and the event log must see the
        // Wait entered (and start the hook) before the next state runs. The next state awaits the hook (see below).
        if (state.Type === 'Wait') waitTimeOverrides[stateName] = hook ? Math.max(1, this.#opts.waitOverrideMs) : this.#opts.waitOverrideMs;
    if (hook && this.#opts.waitOverrideMs !== undefined) {
      const afterWait = new Set([...this.#states.values()].filter((st) => st.Type === 'Wait').map((st) => (st as { Next?: string }).Next));
      for (const name of Object.keys(overrides)) {
        if (!afterWait.has(name)) continue;
        const task = overrides[name] as (input: unknown) => Promise<unknown>;
        overrides[name] = async (params) => {
          await new Promise((r) => setImmediate(r)); // the event log has read every event dispatched so far
          await execution.skipped;
          return task(params);
        };
      }
    }

    const run = this.#machine.run(parsed as never, {
      overrides: { taskResourceLocalHandlers: overrides as never, waitTimeOverrides },
      context: { Task: { Token: token }, Execution: { Id: arn, Name: name, RoleArn: 'arn:aws:iam::000000000000:role/local' }, StateMachine: { Id: STATE_MACHINE_ARN, Name: 'incident-response' } },
    });
    const history: HistoryEvent[] = [];
    const timings: { state: string; ms: number }[] = [];
    const execution: Execution = {
      arn,
      name,
      input,
      incidentId,
      startDate: new Date(),
      token,
      status: 'RUNNING',
      history,
      timings,
      skipped: Promise.resolve(),
      abort: run.abort,
      done: Promise.resolve(),
    };
    const settled = run.result.then(
      (output) => {
        execution.status = 'SUCCEEDED';
        execution.output = JSON.stringify(output ?? null);
      },
      (error: unknown) => {
        if (error instanceof ExecutionAbortedError) {
          execution.status = 'ABORTED';
          return;
        }
        const cause = error instanceof ExecutionError && error.cause instanceof Error ? error.cause : error instanceof Error ? error : new Error(String(error));
        execution.status = 'FAILED';
        execution.error = cause.name;
        execution.cause = cause.message;
      },
    );
    const logged = this.#readEventLog(run.eventLogs, execution);
    (execution as { done: Promise<void> }).done = Promise.all([settled, logged]).then(() => {
      execution.stopDate ??= new Date();
      this.#closeToken(token, new ExecutionAbortedError());
    });
    this.#executions.set(arn, execution);
    return execution;
  }

  async #invokeLambda(params: unknown): Promise<unknown> {
    const { FunctionName, Payload } = params as { FunctionName: string; Payload?: unknown };
    const result = await this.#opts.lambdas.invoke(FunctionName, Payload ?? {});
    return { ExecutedVersion: '$LATEST', Payload: result, StatusCode: 200 };
  }

  /** `.waitForTaskToken`: the override's promise IS the wait; SendTaskSuccess/Failure settles it. */
  async #invokeAndWait(params: unknown, token: string, executionArn: string): Promise<unknown> {
    const { FunctionName, Payload } = params as { FunctionName: string; Payload?: unknown };
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    promise.catch(() => undefined); // settled after a timeout nobody awaits any more
    // Registered before the handler runs: a fast approver may answer before the handler returns.
    this.#closedTokens.delete(token);
    this.#waiters.set(token, { executionArn, resolve, reject });
    try {
      await this.#opts.lambdas.invoke(FunctionName, Payload ?? {});
    } catch (error) {
      this.#closeToken(token, error as Error);
      throw error;
    }
    return promise;
  }

  #putEvents(params: unknown): unknown {
    const { Entries } = params as { Entries: PutEntry[] };
    const result = this.#opts.bus.put(Entries, this.#opts.defaultEventBus);
    // The integration fails the task when any entry failed (Retry on States.TaskFailed applies).
    if (result.FailedEntryCount > 0) throw new TaskFailure('EventBridge.EventBridgeException', JSON.stringify(result.Entries));
    return result;
  }

  /** A compressed Wait was entered: tells the hook how long it would have waited (chained on the execution). */
  #compressed(execution: Execution, stateName: string, input: unknown): void {
    const hook = this.#opts.onWaitCompressed;
    const waitedMs = this.#opts.waitOverrideMs;
    if (!hook || waitedMs === undefined) return;
    const seconds = waitSecondsOf(this.#states.get(stateName) as { Seconds?: unknown; SecondsPath?: unknown }, input);
    if (seconds === undefined) return;
    const wait: CompressedWait = { executionArn: execution.arn, incidentId: execution.incidentId, state: stateName, seconds, waitedMs: Math.max(1, waitedMs) };
    execution.skipped = execution.skipped.then(() => hook(wait)).catch((error: unknown) => this.#opts.onError?.(error instanceof Error ? error : new Error(String(error))));
  }

  async #readEventLog(events: AsyncIterable<unknown>, execution: Execution): Promise<void> {
    const entered = new Map<string, number>();
    const lastError = new Map<string, string>();
    /** A caught state still "exits" in the library's log; it ended in failure, so that exit is not a success. */
    const caught = new Set<string>();
    let id = 0;
    const push = (timestamp: number, type: string, details: Record<string, unknown> = {}) => {
      id += 1;
      execution.history.push({ id, previousEventId: id - 1, timestamp: timestamp / 1000, type, ...details });
    };
    for await (const raw of events) {
      const event = raw as { type: string; timestamp: number; state?: { name: string; type: string; input?: unknown; output?: unknown }; Error?: string; Cause?: unknown; input?: unknown; output?: unknown };
      const at = new Date(event.timestamp).toISOString();
      const state = event.state;
      switch (event.type) {
        case 'ExecutionStarted':
          push(event.timestamp, 'ExecutionStarted', { executionStartedEventDetails: { input: JSON.stringify(event.input), roleArn: 'arn:aws:iam::000000000000:role/local' } });
          break;
        case 'ExecutionSucceeded':
          push(event.timestamp, 'ExecutionSucceeded', { executionSucceededEventDetails: { output: JSON.stringify(event.output) } });
          execution.stopDate = new Date(event.timestamp);
          break;
        case 'ExecutionFailed':
          push(event.timestamp, 'ExecutionFailed', { executionFailedEventDetails: { error: event.Error, cause: String(event.Cause ?? '') } });
          execution.stopDate = new Date(event.timestamp);
          break;
        case 'ExecutionAborted':
          push(event.timestamp, 'ExecutionAborted', { executionAbortedEventDetails: {} });
          execution.stopDate = new Date(event.timestamp);
          break;
        case 'StateEntered':
          if (!state) break;
          entered.set(state.name, event.timestamp);
          push(event.timestamp, `${state.type}StateEntered`, { stateEnteredEventDetails: { name: state.name, input: JSON.stringify(state.input) } });
          if (state.type === 'Wait') this.#compressed(execution, state.name, state.input);
          this.#emit({ executionArn: execution.arn, incidentId: execution.incidentId, state: state.name, type: 'entered', at });
          break;
        case 'StateExited': {
          if (!state) break;
          if (caught.delete(state.name)) {
            push(event.timestamp, `${state.type}StateExited`, { stateExitedEventDetails: { name: state.name, output: JSON.stringify(state.output) } });
            break;
          }
          const ms = event.timestamp - (entered.get(state.name) ?? event.timestamp);
          execution.timings.push({ state: state.name, ms });
          push(event.timestamp, `${state.type}StateExited`, { stateExitedEventDetails: { name: state.name, output: JSON.stringify(state.output) } });
          this.#emit({ executionArn: execution.arn, incidentId: execution.incidentId, state: state.name, type: 'succeeded', at, durationMs: ms });
          if (this.#states.get(state.name)?.Resource === LAMBDA_INVOKE_WAIT) this.#closeToken(execution.token, new Error('task closed'));
          break;
        }
        case 'StateFailed': {
          if (!state) break;
          const ms = event.timestamp - (entered.get(state.name) ?? event.timestamp);
          execution.timings.push({ state: state.name, ms });
          const error = event.Error ?? 'States.TaskFailed';
          lastError.set(state.name, error);
          push(event.timestamp, state.type === 'Task' ? (error === 'States.Timeout' ? 'TaskTimedOut' : 'TaskFailed') : `${state.type}StateFailed`, {
            taskFailedEventDetails: { resource: state.name, error, cause: typeof event.Cause === 'string' ? event.Cause : JSON.stringify(event.Cause ?? '') },
          });
          this.#emit({ executionArn: execution.arn, incidentId: execution.incidentId, state: state.name, type: 'failed', at, durationMs: ms, error });
          // A timed-out approval: answering it later must fail the way AWS does (TaskTimedOut).
          if (this.#states.get(state.name)?.Resource === LAMBDA_INVOKE_WAIT) this.#closeToken(execution.token, new Error(error));
          break;
        }
        case 'StateRetried':
          if (state) push(event.timestamp, 'StateRetried', { stateRetriedEventDetails: { name: state.name } });
          break;
        case 'StateCaught':
          if (!state) break;
          caught.add(state.name);
          push(event.timestamp, 'StateCaught', { stateCaughtEventDetails: { name: state.name, error: lastError.get(state.name) } });
          this.#emit({ executionArn: execution.arn, incidentId: execution.incidentId, state: state.name, type: 'caught', at, error: lastError.get(state.name) });
          break;
        default:
          break; // Parallel branch and Map iteration events: the state events inside say enough
      }
    }
  }

  #emit(event: StateEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's bug must not stop the execution's bookkeeping.
      }
    }
  }
}

export const stepFunctionsService = (sfn: LocalStepFunctions): AwsService => ({
  targetPrefix: 'AWSStepFunctions',
  contentType: 'application/x-amz-json-1.0',
  operations: {
    StartExecution: (i) => sfn.startExecution(requiredString(i, 'stateMachineArn'), i.name as string | undefined, i.input as string | undefined),
    DescribeExecution: (i) => sfn.describeExecution(requiredString(i, 'executionArn')),
    ListExecutions: (i) => sfn.listExecutions(i.statusFilter as string | undefined),
    GetExecutionHistory: (i) => sfn.getExecutionHistory(requiredString(i, 'executionArn'), i.reverseOrder === true, typeof i.maxResults === 'number' && i.maxResults > 0 ? i.maxResults : 1000, i.nextToken as string | undefined),
    SendTaskSuccess: (i) => sfn.sendTaskSuccess(requiredString(i, 'taskToken'), requiredString(i, 'output')),
    SendTaskFailure: (i) => sfn.sendTaskFailure(requiredString(i, 'taskToken'), i.error as string | undefined, i.cause as string | undefined),
    StopExecution: (i) => sfn.stopExecution(requiredString(i, 'executionArn')),
  },
});
