/**
 * POST /incidents/{id}/approval  {decision: approve|reject, approver, comment?, channel?, requestId?}
 * (x-autopilot-secret required). Retool, the CLI and scripts decide here; browsers decide through the signed
 * approval links (functions/approval-page), which share `applyDecision` below.
 *
 * `applyDecision`:
 * 1. `requestId` given (links always; Retool echoes the one it was sent) → it must be the pending request's,
 *    else 409 `approval_superseded` (a decision meant for an earlier request never decides a later one).
 * 2. Record the decision in DynamoDB, only if the approval is still PENDING (conditional update). A second
 *    decision → 409 `approval_already_decided` with what was decided.
 * 3. Answer Step Functions with the stored task token: approve → SendTaskSuccess
 *    `{decision, approver, comment, channel, decidedAt}`; reject → SendTaskFailure `ApprovalRejected`.
 * 4. The task was already closed (TaskTimedOut / InvalidToken / TaskDoesNotExist: the deadline passed, or the
 *    execution ended) → the approval is recorded EXPIRED, 409 `approval_expired`. Any other Step Functions
 *    error → the decision is undone (back to PENDING, so the approver can retry) and 503. If the undo fails
 *    too, 503 `approval_not_delivered` says the decision stays recorded but undelivered (a retry cannot help).
 * 5. The timeline gets the decision with the approver, the channel and the comment.
 *
 * POST /console/incidents/{id}/approval  {decision, approver?, comment?, requestId?} (auth `jwt`): the console's
 * route. No secret: on AWS the HTTP API's JWT authorizer let the request in, on the twin only loopback reaches it.
 * The approver is the signed-in user (`signedInUser`), else the body's `approver` (the twin has no sign-in), else
 * 'console'; the channel is `console`.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Config } from '../core/config.ts';
import type { Observability } from '../core/handler.ts';
import { type ApiEvent, type ApiResult, Conflict, HttpError, ServiceUnavailable, json, parseJson, parseWith, pathParam, readBody, requireJsonContentType, requireSecret, signedInUser, withErrors } from '../core/http.ts';
import { API_ROUTES } from '../registry.ts';
import type { SecretProvider } from '../core/secrets.ts';
import { type ApprovalDecision, ApprovalRequestMismatch, type ApprovalState, type IncidentStore } from '../core/store/store.ts';
import { TaskClosed, type WorkflowClient } from '../core/workflow-client.ts';
import { ConsoleDecisionBody, DecisionBody, DecisionChannel } from '../core/api/schemas.ts';

export { ConsoleDecisionBody, DecisionBody, DecisionChannel };

/** The route keys of this function's `jwt` routes (the console's): decided without the secret, as the signed-in user. */
const CONSOLE_ROUTE_KEYS: ReadonlySet<string> = new Set(API_ROUTES.filter((r) => r.function === 'decide-approval' && r.auth === 'jwt').map((r) => `${r.method} ${r.path}`));

export interface DecideDeps {
  readonly store: IncidentStore;
  readonly workflow: Pick<WorkflowClient, 'sendTaskSuccess' | 'sendTaskFailure'>;
  readonly secret: SecretProvider;
  readonly config: Pick<Config, 'MAX_BODY_BYTES'>;
  readonly clock: () => Date;
}


export const APPROVAL_REJECTED = 'ApprovalRejected';

export interface DecisionRequest {
  readonly incidentId: string;
  readonly decision: ApprovalDecision;
  readonly approver: string;
  readonly comment?: string;
  readonly channel: DecisionChannel;
  readonly requestId?: string;
  /** Extra facts for the timeline (e.g. the source IP of a link decision). */
  readonly audit?: Readonly<Record<string, string>>;
}

/** The decision was meant for another approval request than the pending one (e.g. a link from before a rerun). */
export class ApprovalSuperseded extends Conflict {
  override name = 'ApprovalSuperseded';
  constructor(current: ApprovalState | undefined) {
    super('approval_superseded', 'this decision belongs to an earlier approval request of the incident; the current one was not decided', { approval: current ?? null });
  }
}

/**
 * Step Functions could not be answered AND the recorded decision could not be put back to PENDING: the
 * incident shows the decision, the workflow never heard it. Said plainly (not "try again": a retry would be
 * 409 already decided) so the approver knows the workflow waits until the deadline and then escalates.
 */
export class DecisionNotDelivered extends HttpError {
  override name = 'DecisionNotDelivered';
  readonly approval: ApprovalState;
  constructor(approval: ApprovalState) {
    super(
      503,
      'approval_not_delivered',
      `the decision is recorded but Step Functions could not be told, and the record could not be withdrawn; the workflow waits until ${approval.expiresAt ?? 'its deadline'} and then escalates`,
      { approval },
    );
    this.approval = approval;
  }
}

export type DecisionDeps = Pick<DecideDeps, 'store' | 'workflow' | 'clock'>;

/** Records a decision and answers Step Functions (see the module comment). Returns the decided approval. */
export const applyDecision = async (deps: DecisionDeps, request: DecisionRequest, o?: Pick<Observability, 'logger' | 'metrics'>): Promise<ApprovalState> => {
  const { incidentId, decision, approver, channel, requestId } = request;
  const comment = request.comment || undefined;
  // One conditional write: PENDING, and (given a request id) that very request. Throws IncidentNotFound (404),
  // ApprovalAlreadyDecided (409) or, for a request a newer one replaced, ApprovalSuperseded (409).
  let decided: Awaited<ReturnType<DecisionDeps['store']['decideApproval']>>;
  try {
    decided = await deps.store.decideApproval(incidentId, decision, approver, comment, requestId);
  } catch (error) {
    if (error instanceof ApprovalRequestMismatch) throw new ApprovalSuperseded(error.approval);
    throw error;
  }
  const { taskToken, approval } = decided;
  const decidedAt = approval.decidedAt ?? deps.clock().toISOString();
  try {
    if (decision === 'approve') {
      await deps.workflow.sendTaskSuccess(taskToken, { decision: 'approve', approver, ...(comment ? { comment } : {}), channel, decidedAt });
    } else {
      await deps.workflow.sendTaskFailure(taskToken, APPROVAL_REJECTED, comment ?? `rejected by ${approver} (${channel})`);
    }
  } catch (error) {
    if (!(error instanceof TaskClosed && deliveredBefore(error, approval, deps.clock()))) await undeliverable(deps, approval, request, error, o);
    // Closed as seen by a retry, before the deadline: most likely our first attempt closed it and its answer was
    // lost. Calling the approval EXPIRED would make execute-mitigation refuse the mitigation a human approved.
    o?.logger.warn('Step Functions answered a retried decision with a closed task; keeping the decision as delivered', { incidentId, decision });
  }

  const verb = decision === 'approve' ? 'approved' : 'rejected';
  o?.metrics.addMetric(decision === 'approve' ? 'ApprovalsApproved' : 'ApprovalsRejected', MetricUnit.Count, 1);
  await deps.store.appendEvent(incidentId, {
    type: `approval-${verb}`,
    actor: approver,
    message: `Mitigation ${verb} by ${approver} via ${channel}${comment ? `: ${comment}` : ''}`,
    data: { decision, approver, channel, ...(comment ? { comment } : {}), ...(approval.requestId ? { requestId: approval.requestId } : {}), ...request.audit },
  });
  return approval;
};

export const decideApproval = (deps: DecideDeps) =>
  withErrors(async (event: ApiEvent, o?: Observability): Promise<ApiResult> => {
    if (CONSOLE_ROUTE_KEYS.has(event.routeKey)) return decideFromConsole(deps, event, o);
    await requireSecret(event, deps.secret);
    const incidentId = pathParam(event, 'id');
    requireJsonContentType(event);
    const body = parseWith(DecisionBody, parseJson(readBody(event, deps.config.MAX_BODY_BYTES)), 'approval decision');
    const approval = await applyDecision(deps, { incidentId, ...body }, o);
    return json(200, { incidentId, approval });
  });

/** The console's route (see the module comment): the authorizer (AWS) or loopback (twin) stands for the secret. */
const decideFromConsole = async (deps: DecideDeps, event: ApiEvent, o?: Observability): Promise<ApiResult> => {
  const incidentId = pathParam(event, 'id');
  requireJsonContentType(event);
  const body = parseWith(ConsoleDecisionBody, parseJson(readBody(event, deps.config.MAX_BODY_BYTES)), 'approval decision');
  const approver = signedInUser(event) ?? body.approver ?? 'console';
  const approval = await applyDecision(deps, { incidentId, decision: body.decision, approver, comment: body.comment, channel: 'console', requestId: body.requestId }, o);
  return json(200, { incidentId, approval });
};

/** Whether a closed task means our own earlier attempt delivered the decision (see `TaskClosed.onRetry`). */
const deliveredBefore = (error: TaskClosed, approval: ApprovalState, now: Date): boolean =>
  error.onRetry && (approval.expiresAt === undefined || now.getTime() < Date.parse(approval.expiresAt));

/** Step Functions did not take the decision: an expired task → EXPIRED (409); anything else → undo it (503). */
const undeliverable = async (deps: DecisionDeps, approval: ApprovalState, request: DecisionRequest, error: unknown, o?: Pick<Observability, 'logger' | 'metrics'>): Promise<never> => {
  if (error instanceof TaskClosed) return expired(deps, approval, request, error);
  const { incidentId, decision } = request;
  o?.logger.error('answering Step Functions failed; undoing the decision', { incidentId, decision, error });
  try {
    await deps.store.undoDecision(incidentId);
  } catch (undoError) {
    // Now the incident says decided while the workflow still waits: a retry would get 409 "already decided".
    o?.logger.error('undoing the decision failed: recorded but not delivered', { incidentId, decision, error: undoError });
    o?.metrics.addMetric('ApprovalsNotDelivered', MetricUnit.Count, 1);
    throw new DecisionNotDelivered(approval);
  }
  throw new ServiceUnavailable('Step Functions could not be reached; the decision was not recorded, try again');
};

const expired = async (deps: DecisionDeps, decided: ApprovalState, request: DecisionRequest, error: TaskClosed): Promise<never> => {
  const { approver: _a, decidedAt: _d, comment: _c, ...pending } = decided;
  const approval: ApprovalState = { ...pending, status: 'EXPIRED' };
  await deps.store.updateIncident(request.incidentId, { approval });
  await deps.store.appendEvent(request.incidentId, {
    type: 'approval-expired',
    actor: request.approver,
    message: `${request.approver}'s decision (${request.decision}, via ${request.channel}) arrived after the approval task closed (${error.reason})`,
    data: { decision: request.decision, approver: request.approver, channel: request.channel, reason: error.reason, ...request.audit },
  });
  throw new Conflict('approval_expired', `the approval task is closed (${error.reason}): the deadline passed or the workflow moved on`, { approval });
};
