/**
 * The `Actions` port over the AWS APIs themselves: typed rollbacks of the changes the AWS change adapter sees
 * (CloudTrail, CodeDeploy), each the inverse of one API call, acting on the resource the change names
 * (`params.resource`, carried from `ChangeRequest.resource` by the planner; rollback-targets.ts says which):
 *
 * | resource               | action          | reads (the guard)                    | acts                                                 |
 * |------------------------|-----------------|--------------------------------------|------------------------------------------------------|
 * | Lambda alias           | rollback-change | GetAlias                             | UpdateAlias to `toVersion` (with the read RevisionId) |
 * | ECS service            | rollback-change | DescribeServices                     | UpdateService to the `toVersion` task definition     |
 * | AppConfig profile/env  | rollback-change | ListDeployments + GetDeployment      | StartDeployment of configuration version `toVersion` |
 * | SSM parameter          | revert-config, toggle-feature-flag | GetParameter      | PutParameter `to` (Overwrite, the same Type)          |
 *
 * The inverse (undo) is the same call with the values swapped (inverse.ts swaps fromVersion ↔ toVersion, from ↔ to).
 * A flag kept in an SSM parameter (the change adapter classifies a parameter named like a flag as a feature-flag
 * change) is toggled back the same way as a configuration value is reverted.
 *
 * Safety, per action, before any write:
 *   - the kind: only rollback-change, revert-config and toggle-feature-flag, of one of the four resources; anything
 *     else (scale, restart, a failover, a change without an AWS resource) is `failed`, naming what would be needed;
 *   - the allow-list: every ARN the calls are authorised on must match AWS_ACTIONS_RESOURCES (the stack grants the
 *     adapter's IAM on exactly those patterns): outside it, or unset, is `failed` saying what to add. For AppConfig
 *     that includes the environment's deployments and the deployment strategy the rollback will use;
 *   - the current state: read, and the action runs only if the resource is still where the change (or, for an undo,
 *     the rollback) left it (`fromVersion` / `from`). Anything else is `failed` naming what differs: someone changed it
 *     since, and a blind rollback would undo their work. Already at the target (`toVersion` / `to`) is `succeeded`
 *     "already at …": a retry, or a human who got there first, does not act twice.
 *   - SDK errors are `failed` with the API and the error's name; throttling is retried by the SDK's standard retry
 *     strategy (awsClientOptions), not here.
 *
 * Waiting: a Lambda alias and an SSM parameter take effect on the call. An ECS service rolls out over minutes
 * (draining, health checks) and an AppConfig deployment over its strategy's duration, longer than the executor's
 * Lambda: the action reports `succeeded` with "rolling out", and the verify agent judges recovery from the metrics,
 * as for every action. AWS_ACTIONS_ECS_WAIT_SECONDS (0 by default) makes the ECS rollback wait, bounded, with the
 * SDK's `waitUntilServicesStable`; still rolling at the deadline is still `succeeded` ("still rolling out after N s"):
 * the update was accepted, and a `failed` would keep the undo from ever reverting it.
 *
 * Time: an action has a deadline (deadline.ts: AWS_TOOLS_CALL_BUDGET_MS, and what is left of the executor run's
 * AWS_TOOLS_RUN_BUDGET_MS: a plan's actions share it). Reads are cut at it (`failed`, nothing changed); a write is never
 * started past it, and never cut once sent; the ECS wait is shortened to what is left.
 *
 * SDK clients are imported on the first action that needs them (the executor is the only function that acts).
 */
import type { AppConfigClient } from '@aws-sdk/client-appconfig';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { MitigationAction } from '../../model.ts';
import { isUndo } from '../../runbooks/inverse.ts';
import type { ActionResult, Actions, ToolScope } from '../ports.ts';
import { type AwsClientSettings, awsClientOptions, budgetOf } from './clients.ts';
import { callDeadline, type Deadline, isDeadline } from './deadline.ts';
import { type ActionSettings, appConfigStrategyArn, ChangeResource, outsideAllowList, type RollbackTarget, rollbackTarget, TYPED_RESOURCES } from './rollback-targets.ts';

/** How many of an environment's latest AppConfig deployments are read to find the profile's current one. */
export const APPCONFIG_LOOKBACK = 20;
/** The value CloudTrail records for a parameter's value: never a value to write back. */
const HIDDEN_VALUE = 'HIDDEN_DUE_TO_SECURITY_REASONS';
const IN_PROGRESS = new Set(['DEPLOYING', 'BAKING', 'VALIDATING', 'ROLLING_BACK']);
/** AppConfig deployments that did not stick: the configuration went back to the one before. */
const UNDONE = new Set(['ROLLED_BACK', 'REVERTED']);

/** What each kind outside the adapter's reach would need. */
const OTHER_KINDS: Readonly<Record<string, string>> = {
  'scale-service': 'scaling changes capacity (ECS desired count, Lambda concurrency, Auto Scaling), which this adapter does not touch',
  'restart-service': 'a restart (ECS UpdateService --force-new-deployment, a Lambda cold start) is not a rollback of a change',
  failover: 'a failover (Route 53, a circuit breaker) is not a rollback of a change',
  none: 'nothing to do',
};

/** A call to an AWS API failed: the message names the API. */
class AwsCallFailed extends Error {
  override name = 'AwsCallFailed';
  constructor(api: string, cause: unknown) {
    const e = cause as { name?: string; message?: string } | undefined;
    super(`${api} failed: ${e?.name ?? 'Error'}${e?.message ? `: ${e.message}` : ''}`, { cause });
  }
}

/** A read not answered by the deadline, or a write not started because it had passed: nothing was changed. */
class OutOfTime extends Error {
  override name = 'OutOfTime';
}

/** A read: cut at the deadline. */
const read = async <T>(deadline: Deadline, api: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> => {
  if (deadline.expired) throw new OutOfTime(`${api} not made, ${deadline.reason}; nothing was changed`);
  try {
    return await deadline.race(run(deadline.signal));
  } catch (error) {
    if (isDeadline(error, deadline)) throw new OutOfTime(`${api} not answered, ${deadline.reason}; nothing was changed`);
    throw error instanceof AwsCallFailed || error instanceof OutOfTime ? error : new AwsCallFailed(api, error);
  }
};

/** A write: never started past the deadline, never cut once sent (its outcome would be unknown). */
const write = async <T>(deadline: Deadline, api: string, run: () => Promise<T>): Promise<T> => {
  if (deadline.expired) throw new OutOfTime(`${api} not started: the reads before it took the time, ${deadline.reason}; nothing was changed`);
  try {
    return await run();
  } catch (error) {
    throw error instanceof AwsCallFailed ? error : new AwsCallFailed(api, error);
  }
};

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);
/** A value as a detail shows it: quoted, long ones cut. */
const show = (v: string): string => JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
/** `family:revision` of a task definition given as an ARN or as `family:revision`. */
const taskDefinition = (v: string): string => /:task-definition\/(.+)$/.exec(v)?.[1] ?? v;

/** What one action asks of a handler: where the resource should be now, and where it should go. */
interface Move {
  readonly target: RollbackTarget;
  /** Where the change (or, for an undo, the rollback) left it: the guard's expectation. */
  readonly expected: string;
  /** Where the action takes it. */
  readonly wanted: string;
  /** What left it at `expected` ("change CR-1", "the rollback"), for the guard's message. */
  readonly by: string;
  /** "roll back", "roll forward", "revert", "set again". */
  readonly verb: string;
  readonly incidentId: string;
  readonly action: MitigationAction;
}

const failed = (detail: string): ActionResult => ({ status: 'failed', detail });
const succeeded = (detail: string): ActionResult => ({ status: 'succeeded', detail });
const changedSince = (m: Move, now: string): ActionResult =>
  failed(`${m.target.label} is ${now}, not ${m.expected} as ${m.by} left it: someone changed it since; not going to ${m.verb} it blindly (check who changed it, then act by hand)`);

export interface AwsActionsOptions extends Partial<ActionSettings> {
  readonly client?: AwsClientSettings;
  /** Injected in tests; by default each client is built on the first action that needs it, with awsClientOptions. */
  readonly clients?: { readonly lambda?: LambdaClient; readonly ecs?: ECSClient; readonly ssm?: SSMClient; readonly appconfig?: AppConfigClient };
  /** Injected in tests: the ECS waiter (the SDK's `waitUntilServicesStable` by default). */
  readonly waitServicesStable?: (params: { client: ECSClient; maxWaitTime: number; minDelay: number; maxDelay: number }, input: { cluster: string; services: string[] }) => Promise<unknown>;
  /** Milliseconds since the epoch (the deadline is measured with it). */
  readonly now?: () => number;
}

/** The ECS waiter's least wait worth starting (it polls every 5 s at the least). */
const MIN_ECS_WAIT_SECONDS = 10;

export class AwsActions implements Actions {
  readonly #resources: readonly string[];
  readonly #ecsWaitSeconds: number;
  readonly #appConfigStrategyId: string | undefined;
  readonly #clientOptions: ReturnType<typeof awsClientOptions>;
  readonly #waitServicesStable: AwsActionsOptions['waitServicesStable'];
  readonly #budget: ReturnType<typeof budgetOf>;
  readonly #now: () => number;
  #lambda?: LambdaClient;
  #ecs?: ECSClient;
  #ssm?: SSMClient;
  #appconfig?: AppConfigClient;

  constructor(options: AwsActionsOptions = {}) {
    this.#resources = options.resources ?? [];
    this.#ecsWaitSeconds = options.ecsWaitSeconds ?? 0;
    this.#appConfigStrategyId = options.appConfigStrategyId;
    this.#clientOptions = awsClientOptions(options.client);
    this.#waitServicesStable = options.waitServicesStable;
    this.#budget = budgetOf(options.client);
    this.#now = options.now ?? Date.now;
    this.#lambda = options.clients?.lambda;
    this.#ecs = options.clients?.ecs;
    this.#ssm = options.clients?.ssm;
    this.#appconfig = options.clients?.appconfig;
  }

  async execute({ incidentId, action, ...scope }: ToolScope & { incidentId: string; action: MitigationAction }): Promise<ActionResult> {
    const move = this.#plan(incidentId, action);
    if ('status' in move) return move;
    const deadline = callDeadline(scope, this.#budget, this.#now);
    try {
      switch (move.target.kind) {
        case 'lambda-alias':
          return await this.#lambdaAlias(move, move.target, deadline);
        case 'ecs-service':
          return await this.#ecsService(move, move.target, deadline);
        case 'ssm-parameter':
          return await this.#ssmParameter(move, move.target, deadline);
        case 'appconfig':
          return await this.#appConfig(move, move.target, deadline);
      }
    } catch (error) {
      if (error instanceof AwsCallFailed || error instanceof OutOfTime) return failed(`${move.target.label}: ${error.message}`);
      throw error;
    } finally {
      deadline.dispose();
    }
  }

  /** Everything checked before any call: the kind, the resource, the allow-list, the values. A result refuses. */
  #plan(incidentId: string, action: MitigationAction): Move | ActionResult {
    const params = action.params ?? {};
    const subject = `${action.kind} of ${action.target ?? action.service}`;
    if (action.kind !== 'rollback-change' && action.kind !== 'revert-config' && action.kind !== 'toggle-feature-flag') {
      return failed(`${action.kind} is not something the AWS actions adapter can do: ${OTHER_KINDS[action.kind] ?? 'unknown kind'}. It only rolls back changes to ${TYPED_RESOURCES}. Do it by hand, or serve the actions port with SSM Automation (SSM_AUTOMATION_DOCUMENTS) or the action webhook instead`);
    }
    if (params.resource === undefined) {
      return failed(`${subject}: the change names no AWS resource (changes read from CloudTrail or CodeDeploy do; this one came from another source), so there is nothing typed to roll back. Do it by hand, or serve the actions port with SSM Automation or the action webhook`);
    }
    const resource = ChangeResource.safeParse(params.resource);
    if (!resource.success) {
      const issue = resource.error.issues[0];
      return failed(`${subject}: params.resource${issue?.path.length ? `.${issue.path.join('.')}` : ''} is malformed (${issue?.message ?? 'invalid'})`);
    }
    const t = rollbackTarget(resource.data);
    if (!t.ok) return failed(`${subject}: ${t.problem}`);
    const target = t.target;
    if (!target.actions.includes(action.kind)) return failed(`${subject}: a change to ${target.label} is undone by ${target.actions.join(' or ')}, not ${action.kind}`);
    // An AppConfig rollback is authorised on the strategy it deploys with too: the setting's, else the change's.
    const strategy = target.kind === 'appconfig' ? (this.#appConfigStrategyId ?? target.deploymentStrategyId) : undefined;
    if (target.kind === 'appconfig' && !strategy) return failed(`${target.label}: the change names no deployment strategy (identifiers.deploymentStrategyId); set AWS_ACTIONS_APPCONFIG_STRATEGY_ID (e.g. AppConfig.AllAtOnce) to choose one for rollbacks`);
    const arns = strategy ? [...target.arns, appConfigStrategyArn(target, strategy)] : target.arns;
    if (this.#resources.length === 0) {
      return failed(`${subject}: AWS_ACTIONS_RESOURCES is not set, so no AWS resource may be acted on; add ${arns.join(' and ')} (or a pattern matching ${arns.length > 1 ? 'them' : 'it'}) to AWS_ACTIONS_RESOURCES to let the autopilot act on ${target.label}`);
    }
    const outside = outsideAllowList(this.#resources, arns);
    if (outside.length > 0) {
      return failed(`${subject}: ${outside.join(' and ')} ${outside.length > 1 ? 'are' : 'is'} not in AWS_ACTIONS_RESOURCES (${this.#resources.join(', ')}); add ${outside.length > 1 ? 'them' : 'it'} (or a pattern matching ${outside.length > 1 ? 'them' : 'it'}) to let the autopilot act on ${target.label}`);
    }
    const undo = isUndo(action);
    const [fromKey, toKey] = action.kind === 'rollback-change' ? ['fromVersion', 'toVersion'] : ['from', 'to'];
    const expected = text(params[fromKey]);
    const wanted = text(params[toKey]);
    const unknown = (v: string | undefined) => v === undefined || v === HIDDEN_VALUE;
    if (unknown(wanted)) {
      return failed(`${subject}: the value to go back to (params.${toKey}) is unknown${wanted === HIDDEN_VALUE ? ' (CloudTrail hides parameter values)' : ''}; not guessing it — set ${target.label} by hand`);
    }
    if (unknown(expected)) {
      return failed(`${subject}: the value the change set (params.${fromKey}) is unknown, so whether someone changed ${target.label} since cannot be checked; not acting blindly`);
    }
    const changeId = action.kind === 'rollback-change' ? action.target : (text(params.changeId) ?? action.target);
    const verbs = { 'rollback-change': ['roll back', 'roll forward'], 'revert-config': ['revert', 'set again'], 'toggle-feature-flag': ['toggle back', 'toggle again'] }[action.kind];
    return {
      target,
      expected: expected!,
      wanted: wanted!,
      by: undo ? 'the rollback' : changeId ? `change ${changeId}` : 'the change',
      verb: verbs[undo ? 1 : 0]!,
      incidentId,
      action,
    };
  }

  async #lambdaAlias(m: Move, t: Extract<RollbackTarget, { kind: 'lambda-alias' }>, deadline: Deadline): Promise<ActionResult> {
    const sdk = await import('@aws-sdk/client-lambda');
    const client = (this.#lambda ??= new sdk.LambdaClient(this.#clientOptions));
    const alias = await read(deadline, 'GetAlias', (abortSignal) => client.send(new sdk.GetAliasCommand({ FunctionName: t.functionName, Name: t.alias }), { abortSignal }));
    const weights = Object.entries(alias.RoutingConfig?.AdditionalVersionWeights ?? {}).filter(([, w]) => w > 0);
    const split = weights.length > 0 ? ` with ${weights.map(([v, w]) => `${Math.round(w * 100)} % of traffic on version ${v}`).join(', ')}` : '';
    const now = `at version ${alias.FunctionVersion ?? 'unknown'}${split}`;
    if (alias.FunctionVersion === m.wanted && !split) return succeeded(`${t.label} already at version ${m.wanted}: nothing to do`);
    // A weighted alias is mid-shift (a CodeDeploy canary, a human): not the state the change left.
    if (alias.FunctionVersion !== m.expected || split) return changedSince(m, now);
    const updated = await write(deadline, 'UpdateAlias', () =>
      client.send(new sdk.UpdateAliasCommand({ FunctionName: t.functionName, Name: t.alias, FunctionVersion: m.wanted, ...(alias.RevisionId ? { RevisionId: alias.RevisionId } : {}) })),
    );
    return succeeded(`${t.label}: ${m.verb} from version ${m.expected} to ${updated.FunctionVersion ?? m.wanted} (UpdateAlias; takes effect on the next invocation)`);
  }

  async #ecsService(m: Move, t: Extract<RollbackTarget, { kind: 'ecs-service' }>, deadline: Deadline): Promise<ActionResult> {
    const sdk = await import('@aws-sdk/client-ecs');
    const client = (this.#ecs ??= new sdk.ECSClient(this.#clientOptions));
    const described = await read(deadline, 'DescribeServices', (abortSignal) => client.send(new sdk.DescribeServicesCommand({ cluster: t.cluster, services: [t.service] }), { abortSignal }));
    const service = described.services?.[0];
    if (!service) return failed(`${t.label}: DescribeServices found no such service (${described.failures?.map((f) => f.reason).join(', ') || 'no failure reason'})`);
    if (service.status !== 'ACTIVE') return failed(`${t.label} is ${service.status ?? 'in an unknown status'}, not ACTIVE: nothing to ${m.verb}`);
    const controller = service.deploymentController?.type ?? 'ECS';
    if (controller !== 'ECS') {
      return failed(`${t.label} is deployed by the ${controller} deployment controller, which owns its task definition: ${m.verb} it there (a CodeDeploy rollback), not with UpdateService`);
    }
    const current = service.taskDefinition ? taskDefinition(service.taskDefinition) : 'unknown';
    const rollout = service.deployments?.find((d) => d.status === 'PRIMARY');
    if (current === taskDefinition(m.wanted)) {
      return succeeded(`${t.label} already at task definition ${current}${rollout?.rolloutState && rollout.rolloutState !== 'COMPLETED' ? ` (deployment ${rollout.id} ${rollout.rolloutState})` : ''}: nothing to do`);
    }
    if (current !== taskDefinition(m.expected)) return changedSince(m, `on task definition ${current}`);
    const updated = await write(deadline, 'UpdateService', () => client.send(new sdk.UpdateServiceCommand({ cluster: t.cluster, service: t.service, taskDefinition: m.wanted })));
    const deployment = updated.service?.deployments?.find((d) => d.status === 'PRIMARY')?.id;
    const done = `${t.label}: ${m.verb} from task definition ${current} to ${taskDefinition(m.wanted)} (UpdateService${deployment ? `, deployment ${deployment}` : ''})`;
    // The wait never outlasts the deadline: the executor's Lambda has a minute for the whole plan.
    const waitSeconds = Math.min(this.#ecsWaitSeconds, Math.floor(deadline.remaining() / 1000));
    if (this.#ecsWaitSeconds <= 0) return succeeded(`${done}; rolling out — the verify agent checks recovery`);
    if (waitSeconds < MIN_ECS_WAIT_SECONDS) return succeeded(`${done}; rolling out, not waited for (${deadline.reason}) — the verify agent checks recovery`);
    const wait = this.#waitServicesStable ?? sdk.waitUntilServicesStable;
    try {
      await wait({ client, maxWaitTime: waitSeconds, minDelay: 5, maxDelay: 15 }, { cluster: t.cluster, services: [t.service] });
      return succeeded(`${done}; stable (one deployment, running = desired)`);
    } catch (error) {
      const name = (error as { name?: string } | undefined)?.name;
      if (name === 'TimeoutError') return succeeded(`${done}; still rolling out after ${waitSeconds} s — the verify agent checks recovery`);
      // The waiter's failure states: the service went MISSING, DRAINING or INACTIVE after the update.
      return failed(`${done}, but the service then stopped being ACTIVE while rolling out (waitUntilServicesStable: ${(error as Error).message.slice(0, 300)})`);
    }
  }

  async #ssmParameter(m: Move, t: Extract<RollbackTarget, { kind: 'ssm-parameter' }>, deadline: Deadline): Promise<ActionResult> {
    const sdk = await import('@aws-sdk/client-ssm');
    const client = (this.#ssm ??= new sdk.SSMClient(this.#clientOptions));
    // Not decrypted: a SecureString is refused below whatever its value, and its plaintext is never needed.
    const { Parameter: p } = await read(deadline, 'GetParameter', (abortSignal) => client.send(new sdk.GetParameterCommand({ Name: t.name, WithDecryption: false }), { abortSignal }));
    if (!p?.Type) return failed(`${t.label}: GetParameter returned no parameter`);
    if (p.Type === 'SecureString') {
      return failed(`${t.label} is a SecureString: its values are never carried in a plan (the record, the approval page and the events would show the secret), so its old value is not known here; revert it by hand (GetParameterHistory with decryption, then PutParameter)`);
    }
    const now = p.Value ?? '';
    if (now === m.wanted) return succeeded(`${t.label} already ${show(m.wanted)} (version ${p.Version ?? '?'}): nothing to do`);
    if (now !== m.expected) return changedSince({ ...m, expected: show(m.expected) }, show(now));
    const put = await write(deadline, 'PutParameter', () =>
      client.send(new sdk.PutParameterCommand({ Name: t.name, Value: m.wanted, Type: p.Type, Overwrite: true, ...(p.DataType ? { DataType: p.DataType } : {}) })),
    );
    return succeeded(`${t.label}: ${m.verb} from ${show(m.expected)} to ${show(m.wanted)} (PutParameter, version ${put.Version ?? '?'}; readers that cache it pick it up on their next read)`);
  }

  async #appConfig(m: Move, t: Extract<RollbackTarget, { kind: 'appconfig' }>, deadline: Deadline): Promise<ActionResult> {
    const sdk = await import('@aws-sdk/client-appconfig');
    const client = (this.#appconfig ??= new sdk.AppConfigClient(this.#clientOptions));
    // Checked in #plan, with the allow-list.
    const strategy = (this.#appConfigStrategyId ?? t.deploymentStrategyId)!;
    const scope = { ApplicationId: t.applicationId, EnvironmentId: t.environmentId };
    // The profile's current configuration: its latest deployment that stuck (a rolled-back one left the one before).
    let current: { number: number; version: string; state: string } | undefined;
    let seen = 0;
    await read(deadline, 'ListDeployments', async (abortSignal) => {
      for await (const page of deadline.pages(sdk.paginateListDeployments({ client, pageSize: APPCONFIG_LOOKBACK }, { ...scope, MaxResults: APPCONFIG_LOOKBACK }, { abortSignal }))) {
        for (const summary of page.Items ?? []) {
          if (seen++ >= APPCONFIG_LOOKBACK || summary.DeploymentNumber === undefined) return;
          if (UNDONE.has(summary.State ?? '')) continue;
          const d = await read(deadline, 'GetDeployment', (signal) => client.send(new sdk.GetDeploymentCommand({ ...scope, DeploymentNumber: summary.DeploymentNumber }), { abortSignal: signal }));
          if (d.ConfigurationProfileId !== t.configurationProfileId) continue;
          current = { number: summary.DeploymentNumber, version: d.ConfigurationVersion ?? '', state: d.State ?? summary.State ?? 'unknown' };
          return;
        }
      }
    });
    if (!current) return failed(`${t.label}: no deployment of the profile among the environment's latest ${APPCONFIG_LOOKBACK}, so its current configuration is unknown; not acting blindly`);
    if (IN_PROGRESS.has(current.state)) {
      if (current.version === m.wanted) return succeeded(`${t.label} already deploying configuration version ${m.wanted} (deployment ${current.number}, ${current.state}): nothing to do`);
      return failed(`${t.label}: deployment ${current.number} of configuration version ${current.version} is ${current.state}; not starting another over it (stop it first, or wait for it)`);
    }
    if (current.version === m.wanted) return succeeded(`${t.label} already at configuration version ${m.wanted} (deployment ${current.number}): nothing to do`);
    if (current.version !== m.expected) return changedSince(m, `at configuration version ${current.version} (deployment ${current.number})`);
    const started = await write(deadline, 'StartDeployment', () =>
      client.send(
        new sdk.StartDeploymentCommand({
          ...scope,
          ConfigurationProfileId: t.configurationProfileId,
          ConfigurationVersion: m.wanted,
          DeploymentStrategyId: strategy,
          Description: `Incident Autopilot ${m.incidentId}: ${m.verb} ${m.action.target ?? ''} (version ${m.expected} to ${m.wanted})`.slice(0, 1024),
        }),
      ),
    );
    return succeeded(`${t.label}: ${m.verb} from configuration version ${m.expected} to ${m.wanted} (StartDeployment, deployment ${started.DeploymentNumber ?? '?'}, strategy ${strategy}); rolling out — the verify agent checks recovery`);
  }
}
