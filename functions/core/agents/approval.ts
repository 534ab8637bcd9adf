/**
 * Approval request: the state machine waits on `.waitForTaskToken`. We keep the task token server-side only
 * (`store.requestApproval`), publish `Approval Requested`, and — when a Retool workflow is configured — POST
 * the decision context to it. The token never leaves this function: approvers decide through the
 * authenticated `POST /incidents/{id}/approval` route, which looks the token up. A Retool failure is
 * recorded on the timeline and the wait goes on (the API route still works).
 */
import { z } from 'zod';
import type { AgentDeps } from '../deps.ts';
import { type AgentSummary, ImpactOutput, type MitigationAction, PlanOutput, RootCauseOutput, TriageOutput } from '../model.ts';
import { IncidentNotFound } from '../store/store.ts';
import { PlanNotFound } from './plan.ts';
import { earlierOutput, summarise } from './runtime.ts';

export const ApprovalTask = z.object({
  incidentId: z.string().min(1).max(128),
  taskToken: z.string().min(1).max(8192),
  timeoutSeconds: z.number().int().min(1).max(31_536_000),
});
export type ApprovalTask = z.infer<typeof ApprovalTask>;

export interface ApprovalOptions {
  /** Retool workflow webhook (`…/workflows/{id}/startTrigger`); unset → approval through the API only. */
  readonly retoolUrl?: string;
  /** Resolves the Retool workflow API key (e.g. from Secrets Manager); sent as `X-Workflow-Api-Key`. */
  readonly retoolApiKey?: () => Promise<string>;
  /** Public base URL of the API, for the approval endpoint sent to approvers. */
  readonly apiBaseUrl?: string;
  readonly fetch?: typeof fetch;
  /** How long to wait for Retool before recording a failure. @default 10000 */
  readonly retoolTimeoutMs?: number;
}

export class RetoolRequestFailed extends Error {
  override name = 'RetoolRequestFailed';
}

/** `POST <apiBaseUrl>/incidents/<id>/approval` (a path when no base URL is configured). */
export const approvalUrl = (apiBaseUrl: string | undefined, incidentId: string): string =>
  `${(apiBaseUrl ?? '').replace(/\/+$/, '')}/incidents/${encodeURIComponent(incidentId)}/approval`;

const describeAction = (a: MitigationAction) => ({ kind: a.kind, service: a.service, ...(a.target ? { target: a.target } : {}), description: a.description, risk: a.risk, reversible: a.reversible });

export const requestApproval =
  (deps: AgentDeps, options: ApprovalOptions = {}) =>
  async (input: ApprovalTask): Promise<AgentSummary> => {
    const { incidentId, taskToken, timeoutSeconds } = input;
    const incident = await deps.store.getIncident(incidentId);
    if (!incident) throw new IncidentNotFound(incidentId);
    const plan = await earlierOutput(deps, incidentId, 'plan', PlanOutput);
    if (!plan) throw new PlanNotFound(incidentId);
    const [impact, rootcause, triage] = await Promise.all([
      earlierOutput(deps, incidentId, 'impact', ImpactOutput),
      earlierOutput(deps, incidentId, 'rootcause', RootCauseOutput),
      earlierOutput(deps, incidentId, 'triage', TriageOutput),
    ]);

    const now = deps.clock();
    const requestedAt = now.toISOString();
    const expiresAt = new Date(now.getTime() + timeoutSeconds * 1000).toISOString();
    const channel = options.retoolUrl ? 'retool' : 'api';
    await deps.store.requestApproval(incidentId, taskToken, { status: 'PENDING', requestedAt, expiresAt, channel });
    await deps.store.updateIncident(incidentId, { status: 'AWAITING_APPROVAL' });

    const headline = triage?.output.headline ?? incident.title;
    const actions = plan.output.immediate.map(describeAction);
    const url = approvalUrl(options.apiBaseUrl, incidentId);
    const top = rootcause && !rootcause.output.abstained ? rootcause.output.rootCauses[0] : undefined;
    await deps.store.appendEvent(incidentId, {
      type: 'approval-requested',
      message: `Approval requested (${plan.output.risk} risk) via ${channel}; expires ${expiresAt}`,
      actor: 'autopilot',
      data: { risk: plan.output.risk, actions, expiresAt, approvalUrl: url, channel },
    });
    await deps.events.publish('Approval Requested', {
      incidentId,
      severity: incident.severity,
      service: incident.service,
      title: incident.title,
      headline,
      summary: plan.output.rationale.slice(0, 1000),
      risk: plan.output.risk,
      actions,
      channel,
      requestedAt,
      expiresAt,
      approvalUrl: url,
    });

    let retool = '';
    if (options.retoolUrl) {
      const body = {
        incidentId,
        headline,
        severity: incident.severity,
        service: incident.service,
        impact: impact
          ? { severity: impact.output.severity, usersImpacted: impact.output.usersImpacted, revenuePerMinute: impact.output.revenuePerMinute, blastRadius: impact.output.blastRadius }
          : undefined,
        rootCause: top ? { summary: top.summary, category: top.category, changeId: top.changeId, confidence: top.confidence } : { summary: 'undetermined', confidence: 0 },
        plan: { actions, risk: plan.output.risk, reversible: plan.output.reversible, longTerm: plan.output.longTerm, rationale: plan.output.rationale },
        requestedAt,
        expiresAt,
        approval: { method: 'POST', url, body: { decision: 'approve | reject', approver: '<name>', comment: '<optional>' } },
      };
      try {
        await postToRetool(options, body);
        retool = '; Retool workflow triggered';
        await deps.store.appendEvent(incidentId, { type: 'approval-notified', message: 'Retool approval workflow triggered', actor: 'autopilot' });
      } catch (error) {
        // The approval stays PENDING and the state machine keeps waiting: the API route still decides.
        const message = error instanceof Error ? error.message : String(error);
        retool = '; Retool unreachable, approve through the API';
        await deps.store.appendEvent(incidentId, {
          type: 'approval-channel-failed',
          message: `Retool workflow could not be triggered (${message}); approve or reject through POST ${url}`,
          actor: 'autopilot',
          data: { channel: 'retool', error: message },
        });
      }
    }
    return summarise(incidentId, 'plan', `Awaiting approval (${plan.output.risk} risk, ${actions.length} action(s)) until ${expiresAt}${retool}`);
  };

const postToRetool = async (options: ApprovalOptions, body: unknown): Promise<void> => {
  const doFetch = options.fetch ?? fetch;
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (options.retoolApiKey) headers['X-Workflow-Api-Key'] = await options.retoolApiKey();
  const response = await doFetch(options.retoolUrl!, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(options.retoolTimeoutMs ?? 10_000),
  });
  if (!response.ok) throw new RetoolRequestFailed(`Retool answered HTTP ${response.status}`);
};
