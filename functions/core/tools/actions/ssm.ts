/**
 * The `Actions` port over AWS Systems Manager Automation: each action kind runs the Automation runbook
 * (document) configured for it, with parameters mapped from the action, and the adapter waits for the
 * execution to finish by polling `GetAutomationExecution` (the SDK has no waiter for Automation; its only SSM
 * waiter is for Run Command). Polling is bounded: past `waitSeconds` the action is reported as failed ("not
 * confirmed"), naming the execution id so a human can follow it — the agent never hangs past its Lambda.
 *
 * Documents: `documents[kind]` runs the action, `documents["<kind>:undo"]` its inverse; without an undo
 * document, the kind's document runs with `Direction=undo`. Parameters (all strings, sent only when known; a
 * document must declare each one it receives — SSM rejects undeclared parameters):
 *
 * | kind                | parameters                                        |
 * |---------------------|---------------------------------------------------|
 * | every kind          | IncidentId, Service, Direction (apply/undo), Target, AutomationAssumeRole |
 * | rollback-change     | ChangeId, FromVersion, ToVersion                  |
 * | revert-config       | ChangeId, Parameter, Value                        |
 * | scale-service       | Factor                                            |
 * | toggle-feature-flag | ChangeId, Flag, Value                             |
 * | failover            | Dependency                                        |
 * | restart-service     | Strategy                                          |
 *
 * Every failure (no document for the kind, an SDK error, a failed or timed-out execution, the wait running
 * out) is a `failed` ActionResult with the reason: the executor records it and goes on.
 *
 * Duplicate runs: every start carries a `ClientToken` derived from the incident, the action (kind, service,
 * target) and the direction, so a second run of the same step (a Step Functions retry of an executor that timed
 * out while waiting, or two invocations at once) gets the execution the first one started, and waits for it,
 * instead of running the runbook twice. The token is the webhook adapter's `idempotency-key`, laid out as a UUID.
 */
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { MitigationAction } from '../../model.ts';
import { directionOf } from '../../runbooks/inverse.ts';
import type { ActionResult, Actions, ToolScope } from '../ports.ts';
import { idempotencyKey } from './webhook.ts';

/** Terminal statuses that mean the runbook did what it was asked. */
export const SUCCESS_STATUSES: ReadonlySet<string> = new Set(['Success', 'CompletedWithSuccess']);
/** Terminal statuses that mean it did not (or not fully). */
export const FAILURE_STATUSES: ReadonlySet<string> = new Set(['Failed', 'TimedOut', 'Cancelled', 'Cancelling', 'Rejected', 'CompletedWithFailure', 'ChangeCalendarOverrideRejected', 'Exited']);

export const DEFAULT_SSM_WAIT_SECONDS = 40;
const FIRST_POLL_MS = 1_000;
const MAX_POLL_MS = 5_000;

/**
 * The SSM SDK module, loaded on the first action rather than with this file: every workflow function imports the
 * actions adapters through default-deps, only execute-mitigation acts, and the module costs ~60 ms of cold start.
 */
const ssmModule = () => import('@aws-sdk/client-ssm');
type SsmModule = Awaited<ReturnType<typeof ssmModule>>;

export interface SsmAutomationOptions {
  /** Injected in tests; by default an SSMClient with the function's credentials, built on the first action. */
  readonly client?: Pick<SSMClient, 'send'>;
  /** Action kind (or `<kind>:undo`) → Automation document name or ARN. */
  readonly documents: Readonly<Record<string, string>>;
  /** Passed as the `AutomationAssumeRole` parameter: the role the runbook's steps run as. */
  readonly assumeRoleArn?: string;
  /** How long to wait for a terminal status. @default 40 (the agent Lambda has 60 s) */
  readonly waitSeconds?: number;
  /** Injected in tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'boolean' ? String(v) : undefined);

/** Per kind, the action's own parameters as document parameters. */
const KIND_PARAMETERS: Readonly<Record<string, (a: MitigationAction) => Record<string, string | undefined>>> = {
  'rollback-change': (a) => ({ ChangeId: a.target, FromVersion: text(a.params.fromVersion), ToVersion: text(a.params.toVersion) }),
  'revert-config': (a) => ({ ChangeId: text(a.params.changeId), Parameter: text(a.params.param) ?? a.target, Value: text(a.params.to) }),
  'scale-service': (a) => ({ Factor: text(a.params.factor) }),
  'toggle-feature-flag': (a) => ({ ChangeId: text(a.params.changeId) ?? a.target, Flag: text(a.params.flag) ?? a.target, Value: text(a.params.to) }),
  failover: (a) => ({ Dependency: text(a.params.dependency) ?? a.target }),
  'restart-service': (a) => ({ Strategy: text(a.params.strategy) }),
};

/** The document parameters of an action (SSM's `Record<string, string[]>`), unknown values left out. */
export const automationParameters = (incidentId: string, action: MitigationAction, assumeRoleArn?: string): Record<string, string[]> => {
  const all: Record<string, string | undefined> = {
    IncidentId: incidentId,
    Service: action.service,
    Direction: directionOf(action),
    Target: action.target,
    ...(KIND_PARAMETERS[action.kind]?.(action) ?? {}),
    AutomationAssumeRole: assumeRoleArn,
  };
  return Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '').map(([k, v]) => [k, [v]]));
};

/**
 * StartAutomationExecution's idempotency token for an action: SSM wants a UUID, so the webhook's idempotency key
 * (16 bytes of the SHA-256 of what identifies the step: incident, kind, service, target, direction) is laid out
 * as one (version 5 and RFC 4122 variant bits set, as a name-based UUID has them). One definition of "the same
 * step" for both adapters. Parameters are left out on purpose, as in the webhook key: a retry that asks for the
 * same step with other parameters gets SSM's IdempotentParameterMismatch (a failed result), not a second run.
 */
export const automationClientToken = (incidentId: string, action: MitigationAction): string => {
  const b = Buffer.from(idempotencyKey(incidentId, action), 'hex');
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

/** The document for an action: `<kind>:undo` for an inverse when configured, else the kind's. */
export const documentFor = (documents: Readonly<Record<string, string>>, action: MitigationAction): string | undefined =>
  (directionOf(action) === 'undo' ? documents[`${action.kind}:undo`] : undefined) ?? documents[action.kind];

const failed = (detail: string): ActionResult => ({ status: 'failed', detail: `SSM Automation: ${detail}` });
const describe = (error: unknown): string => {
  const e = error as { name?: string; message?: string };
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(error)}`;
};

export class SsmAutomationActions implements Actions {
  #client: Pick<SSMClient, 'send'> | undefined;
  readonly #documents: Readonly<Record<string, string>>;
  readonly #assumeRoleArn: string | undefined;
  readonly #waitMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;

  constructor(options: SsmAutomationOptions) {
    this.#client = options.client;
    this.#documents = options.documents;
    this.#assumeRoleArn = options.assumeRoleArn;
    this.#waitMs = Math.max(0, options.waitSeconds ?? DEFAULT_SSM_WAIT_SECONDS) * 1000;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#now = options.now ?? Date.now;
  }

  async execute({ incidentId, action }: ToolScope & { incidentId: string; action: MitigationAction }): Promise<ActionResult> {
    const direction = directionOf(action);
    const document = documentFor(this.#documents, action);
    if (!document) {
      return failed(`no document is configured for ${action.kind}${direction === 'undo' ? ` (nor ${action.kind}:undo)` : ''}; SSM_AUTOMATION_DOCUMENTS names ${Object.keys(this.#documents).join(', ') || 'none'}`);
    }
    const ssm = await ssmModule();
    const client = (this.#client ??= new ssm.SSMClient({}));
    let executionId: string | undefined;
    try {
      const started = await client.send(
        new ssm.StartAutomationExecutionCommand({
          DocumentName: document,
          Parameters: automationParameters(incidentId, action, this.#assumeRoleArn),
          // The same step started again (a duplicate run) returns the first start's execution instead of a new one.
          ClientToken: automationClientToken(incidentId, action),
          // Tags make every execution traceable to its incident in the SSM console and in CloudTrail.
          Tags: [
            { Key: 'autopilot:incident', Value: incidentId },
            { Key: 'autopilot:action', Value: `${action.kind}:${direction}` },
          ],
        }),
      );
      executionId = started.AutomationExecutionId;
    } catch (error) {
      return failed(`StartAutomationExecution of ${document} failed: ${describe(error)}`);
    }
    if (!executionId) return failed(`StartAutomationExecution of ${document} returned no execution id`);
    return this.#wait(client, ssm, document, executionId);
  }

  /** Polls until a terminal status or the deadline, backing off from 1 s to 5 s between polls. */
  async #wait(client: Pick<SSMClient, 'send'>, ssm: SsmModule, document: string, executionId: string): Promise<ActionResult> {
    const deadline = this.#now() + this.#waitMs;
    let pause = FIRST_POLL_MS;
    let status = 'Pending';
    for (;;) {
      try {
        const { AutomationExecution: execution } = await client.send(new ssm.GetAutomationExecutionCommand({ AutomationExecutionId: executionId }));
        status = execution?.AutomationExecutionStatus ?? 'Pending';
        if (SUCCESS_STATUSES.has(status)) return { status: 'succeeded', detail: `SSM Automation ${document} execution ${executionId}: ${status}` };
        if (FAILURE_STATUSES.has(status)) {
          return failed(`${document} execution ${executionId} ended ${status}${execution?.FailureMessage ? `: ${execution.FailureMessage}` : ''}`);
        }
      } catch (error) {
        // A failed poll is not a failed action: the execution may be fine. Keep polling until the deadline.
        status = `unknown (${describe(error)})`;
      }
      const left = deadline - this.#now();
      if (left <= 0) {
        return failed(`${document} execution ${executionId} is still ${status} after ${Math.round(this.#waitMs / 1000)} s: not confirmed; follow it in the Systems Manager console`);
      }
      await this.#sleep(Math.min(pause, left));
      pause = Math.min(MAX_POLL_MS, pause * 2);
    }
  }
}
