/**
 * POST /incidents/{id}/approval  {decision: approve|reject, approver, comment?}  (x-autopilot-secret required)
 *
 * 1. Record the decision in DynamoDB, only if the approval is still PENDING (conditional update). A second
 *    decision → 409 with what was decided.
 * 2. Answer Step Functions with the stored task token: approve → SendTaskSuccess
 *    `{decision, approver, comment, decidedAt}`; reject → SendTaskFailure `ApprovalRejected` (cause = comment).
 * 3. The task was already closed (TaskTimedOut / InvalidToken / TaskDoesNotExist: the deadline passed, or the
 *    execution ended) → the approval is recorded EXPIRED, 409. Any other Step Functions error → the decision is
 *    undone (back to PENDING, so the approver can retry) and 503.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod';
import type { Config } from '../core/config.ts';
import type { Observability } from '../core/handler.ts';
import { type ApiEvent, type ApiResult, Conflict, ServiceUnavailable, json, parseJson, parseWith, pathParam, readBody, requireSecret, withErrors } from '../core/http.ts';
import type { SecretProvider } from '../core/secrets.ts';
import type { ApprovalState, IncidentStore } from '../core/store/store.ts';
import { TaskClosed, type WorkflowClient } from '../core/workflow-client.ts';

export interface DecideDeps {
  readonly store: IncidentStore;
  readonly workflow: Pick<WorkflowClient, 'sendTaskSuccess' | 'sendTaskFailure'>;
  readonly secret: SecretProvider;
  readonly config: Pick<Config, 'MAX_BODY_BYTES'>;
  readonly clock: () => Date;
}

export const DecisionBody = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  approver: z.string().trim().min(1).max(200),
  comment: z.string().trim().max(4000).optional(),
});
export type DecisionBody = z.infer<typeof DecisionBody>;

export const APPROVAL_REJECTED = 'ApprovalRejected';

export const decideApproval = (deps: DecideDeps) =>
  withErrors(async (event: ApiEvent, o?: Observability): Promise<ApiResult> => {
    await requireSecret(event, deps.secret);
    const incidentId = pathParam(event, 'id');
    const body = parseWith(DecisionBody, parseJson(readBody(event, deps.config.MAX_BODY_BYTES)), 'approval decision');
    const comment = body.comment || undefined;

    // Throws IncidentNotFound (404) or ApprovalAlreadyDecided (409, carrying the current approval).
    const { taskToken, approval } = await deps.store.decideApproval(incidentId, body.decision, body.approver, comment);
    const decidedAt = approval.decidedAt ?? deps.clock().toISOString();
    try {
      if (body.decision === 'approve') {
        await deps.workflow.sendTaskSuccess(taskToken, { decision: 'approve', approver: body.approver, ...(comment ? { comment } : {}), decidedAt });
      } else {
        await deps.workflow.sendTaskFailure(taskToken, APPROVAL_REJECTED, comment ?? `rejected by ${body.approver}`);
      }
    } catch (error) {
      if (error instanceof TaskClosed) return expired(deps, incidentId, approval, body, error);
      o?.logger.error('answering Step Functions failed; undoing the decision', error as Error);
      try {
        await deps.store.undoDecision(incidentId);
      } catch (undoError) {
        o?.logger.error('undoing the decision failed', undoError as Error);
      }
      throw new ServiceUnavailable('Step Functions could not be reached; the decision was not recorded, try again');
    }

    const verb = body.decision === 'approve' ? 'approved' : 'rejected';
    o?.metrics.addMetric(body.decision === 'approve' ? 'ApprovalsApproved' : 'ApprovalsRejected', MetricUnit.Count, 1);
    await deps.store.appendEvent(incidentId, {
      type: `approval-${verb}`,
      actor: body.approver,
      message: `Mitigation ${verb} by ${body.approver}${comment ? `: ${comment}` : ''}`,
      data: { decision: body.decision, ...(comment ? { comment } : {}) },
    });
    return json(200, { incidentId, approval });
  });

const expired = async (deps: DecideDeps, incidentId: string, decided: ApprovalState, body: DecisionBody, error: TaskClosed): Promise<never> => {
  const { approver: _a, decidedAt: _d, comment: _c, ...request } = decided;
  const approval: ApprovalState = { ...request, status: 'EXPIRED' };
  await deps.store.updateIncident(incidentId, { approval });
  await deps.store.appendEvent(incidentId, {
    type: 'approval-expired',
    actor: body.approver,
    message: `${body.approver}'s decision (${body.decision}) arrived after the approval task closed (${error.reason})`,
    data: { decision: body.decision, reason: error.reason },
  });
  throw new Conflict('approval_expired', `the approval task is closed (${error.reason}): the deadline passed or the workflow moved on`, { approval });
};
