/**
 * The incident workflow as the API handlers see it: start an execution (idempotently, by name), ask whether
 * one runs, answer a task token. `SfnWorkflowClient` wraps the Step Functions SDK client; unit tests pass a
 * fake or mock the SDK. On the laptop twin the same client talks to the twin (AWS_ENDPOINT_URL_SFN).
 */
import {
  DescribeExecutionCommand,
  type ExecutionStatus,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import * as z from 'zod';
import { ExecutionInput } from './model.ts';
import type { IncidentMeta } from './store/store.ts';

export interface StartResult {
  readonly executionArn: string;
  /** An execution with this name existed already (a retry, or a name taken by an earlier run). */
  readonly alreadyExisted: boolean;
}

export interface WorkflowClient {
  start(name: string, input: ExecutionInput): Promise<StartResult>;
  /** The execution's status, or undefined if there is no such execution. */
  status(executionArn: string): Promise<ExecutionStatus | undefined>;
  sendTaskSuccess(taskToken: string, output: Record<string, unknown>): Promise<void>;
  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void>;
}

/**
 * Per-attempt limit of a Step Functions call from an API function (15 s timeout): the SDK's three attempts and
 * their backoff end before the function does, so a hung connection fails into the caller's own error handling
 * (an approval decision is given back, the API answers 503) instead of a function timeout that leaves the decision
 * recorded but never sent.
 */
export const SFN_REQUEST_TIMEOUT_MS = 3_000;
export const SFN_CONNECTION_TIMEOUT_MS = 1_000;

/** The SFN client of the API functions (see SFN_REQUEST_TIMEOUT_MS). */
export const apiSfnClient = (): SFNClient => new SFNClient({ requestHandler: { requestTimeout: SFN_REQUEST_TIMEOUT_MS, connectionTimeout: SFN_CONNECTION_TIMEOUT_MS } });

/** The task behind a token is closed: it timed out, was already answered, or the token is unknown. */
export class TaskClosed extends Error {
  override name = 'TaskClosed';
  readonly reason: string;
  /**
   * Step Functions said so to a retry of the call (the SDK's attempts > 1): the first attempt may have closed the
   * task itself, its answer lost on the way back.
   */
  readonly onRetry: boolean;
  constructor(reason: string, message: string, onRetry = false) {
    super(message);
    this.reason = reason;
    this.onRetry = onRetry;
  }
}

const TASK_CLOSED_ERRORS = new Set(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist']);
/** Step Functions limits (SendTaskFailure cause, error). */
const MAX_CAUSE = 32_768;
const MAX_ERROR = 256;

const errorName = (error: unknown): string | undefined => (error instanceof Error ? error.name : undefined);

/** `arn:aws:states:r:a:stateMachine:sm` + name → `arn:aws:states:r:a:execution:sm:name` (the ARN AWS assigns). */
export const executionArnFor = (stateMachineArn: string, name: string): string => {
  const parts = stateMachineArn.split(':');
  if (parts.length < 7 || parts[5] !== 'stateMachine') throw new Error(`not a state machine ARN: ${stateMachineArn}`);
  return [...parts.slice(0, 5), 'execution', parts[6], name].join(':');
};

export class SfnWorkflowClient implements WorkflowClient {
  readonly #client: SFNClient;
  readonly #stateMachineArn: string | undefined;

  /** `stateMachineArn` is needed only to start executions (answering a task token does not need it). */
  constructor(client: SFNClient, stateMachineArn?: string) {
    this.#client = client;
    this.#stateMachineArn = stateMachineArn;
  }

  /**
   * StartExecution is idempotent for the same name and input while the execution runs; otherwise a taken name
   * is `ExecutionAlreadyExists`, which here means "already started": the ARN is derived from the name.
   */
  async start(name: string, input: ExecutionInput): Promise<StartResult> {
    const stateMachineArn = this.#stateMachineArn;
    if (!stateMachineArn) throw new Error('SfnWorkflowClient: no state machine ARN to start executions of');
    try {
      const out = await this.#client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      if (!out.executionArn) throw new Error('StartExecution returned no executionArn');
      return { executionArn: out.executionArn, alreadyExisted: false };
    } catch (error) {
      if (errorName(error) !== 'ExecutionAlreadyExists') throw error;
      return { executionArn: executionArnFor(stateMachineArn, name), alreadyExisted: true };
    }
  }

  async status(executionArn: string): Promise<ExecutionStatus | undefined> {
    try {
      const out = await this.#client.send(new DescribeExecutionCommand({ executionArn }));
      return out.status;
    } catch (error) {
      if (errorName(error) === 'ExecutionDoesNotExist') return undefined;
      throw error;
    }
  }

  async sendTaskSuccess(taskToken: string, output: Record<string, unknown>): Promise<void> {
    await this.#answer(() => this.#client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) })));
  }

  async sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void> {
    await this.#answer(() => this.#client.send(new SendTaskFailureCommand({ taskToken, error: error.slice(0, MAX_ERROR), cause: cause.slice(0, MAX_CAUSE) })));
  }

  async #answer(send: () => Promise<unknown>): Promise<void> {
    try {
      await send();
    } catch (error) {
      const name = errorName(error);
      if (name && TASK_CLOSED_ERRORS.has(name)) throw new TaskClosed(name, (error as Error).message, ((error as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1) > 1);
      throw error;
    }
  }
}

/** The policy part of the execution input, from configuration. */
export interface PolicyConfig {
  readonly VERIFY_WAIT_SECONDS: number;
  readonly MAX_VERIFY_CHECKS: number;
}

/**
 * What a rerun tells the state machine about a mitigation that already ran (the action journal holds it): the
 * state machine's first Choice ("Mitigation already ran?") then goes straight to the verification loop instead of
 * diagnosing again into a second action.
 */
export const EarlierMitigation = z.strictObject({
  /** How many forward steps the journal holds: each was sent, whatever its result (succeeded, failed, outcome unknown). */
  steps: z.number().int().min(1),
  /** One line: each step and its outcome. */
  summary: z.string().min(1).max(500),
});
export type EarlierMitigation = z.infer<typeof EarlierMitigation>;

/** The execution input, with `earlierMitigation` when a rerun resumes after a mitigation that ran. */
export type WorkflowInput = ExecutionInput & { readonly earlierMitigation?: EarlierMitigation };

/**
 * The execution input, built ONLY from the stored incident, configuration and (for a rerun) the action journal, so
 * a retried ingest or a retried rerun sends the same input for the same incident (StartExecution is idempotent only
 * for an identical input).
 */
export const executionInputFor = (incident: Pick<IncidentMeta, 'incidentId' | 'service' | 'severity' | 'title'>, config: PolicyConfig, earlierMitigation?: EarlierMitigation): WorkflowInput => ({
  ...ExecutionInput.parse({
    incidentId: incident.incidentId,
    service: incident.service,
    severity: incident.severity,
    title: incident.title,
    policy: { verifyWaitSeconds: config.VERIFY_WAIT_SECONDS, maxVerifyChecks: config.MAX_VERIFY_CHECKS },
  }),
  ...(earlierMitigation ? { earlierMitigation: EarlierMitigation.parse(earlierMitigation) } : {}),
});

/** `…:execution:sm:inc-1-rerun-3` → 3; an original execution → 0. */
export const rerunNumber = (executionArn: string | undefined): number => {
  const match = /-rerun-(\d+)$/.exec(executionArn?.split(':').at(-1) ?? '');
  return match ? Number(match[1]) : 0;
};
