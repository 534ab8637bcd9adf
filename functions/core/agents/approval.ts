/**
 * Approval request: the state machine waits on `.waitForTaskToken`. We keep the task token server-side only
 * (`store.requestApproval`, with a fresh approval request id), publish `Approval Requested`, and — when a
 * Retool workflow is configured — trigger it (`POST …/workflows/{id}/startTrigger`, key in the
 * `X-Workflow-Api-Key` header, never in the URL) with what an approver needs: headline, impact, root cause
 * with confidence, the plan with risk and reversibility, signed expiring approve/reject links (they open a
 * confirmation page; only its POST decides) and the API endpoint for Retool's own decision POST.
 *
 * The task token never leaves this function. A Retool failure (after retries on 429/5xx and network errors)
 * is recorded on the timeline and the wait goes on: the API route and the links still decide.
 */
import * as z from 'zod';
import { type ApprovalLinks, approvalLinkUrl, linkExpiry, newApprovalRequestId } from '../approval-links.ts';
import type { AgentDeps } from '../deps.ts';
import { type AgentSummary, ImpactOutput, type MitigationAction, PlanOutput, RootCauseOutput, TriageOutput } from '../model.ts';
import { allAlertsResolved } from '../store/dynamo-store.ts';
import type { ApprovalState, IncidentMeta } from '../store/store.ts';
import { SECRET_HEADER } from '../../registry.ts';
import { PlanNotFound } from './plan.ts';
import { loadIncident, summarise } from './runtime.ts';

/** Every alert resolved before anyone was asked: nothing to approve (the ASL catches it by this name). */
export class AlertsResolved extends Error {
  override name = 'AlertsResolved';
  constructor(incidentId: string) {
    super(`incident ${incidentId}: every alert resolved before the approval was requested; approval withdrawn`);
  }
}

export const ApprovalTask = z.object({
  incidentId: z.string().min(1).max(128),
  taskToken: z.string().min(1).max(8192),
  timeoutSeconds: z.number().int().min(1).max(31_536_000),
});
export type ApprovalTask = z.infer<typeof ApprovalTask>;

export interface ApprovalOptions {
  /** Retool workflow webhook (`…/workflows/{id}/startTrigger`); unset → approval through the API and links only. */
  readonly retoolUrl?: string;
  /** Resolves the Retool workflow API key (Secrets Manager); sent as `X-Workflow-Api-Key`. */
  readonly retoolApiKey?: () => Promise<string>;
  /** Public base URL of the API, for the links and the endpoint sent to approvers. */
  readonly apiBaseUrl?: string;
  /** Signs the approve/reject links; unset → no links (approve through Retool's POST or the API). */
  readonly links?: Pick<ApprovalLinks, 'sign'>;
  readonly fetch?: typeof fetch;
  /** How long one Retool attempt may take. @default 10000 */
  readonly retoolTimeoutMs?: number;
  /** Attempts on 429/5xx/network errors. @default 3 */
  readonly retoolAttempts?: number;
  /** First backoff between attempts, doubled each time (a `Retry-After` up to 5 s wins). @default 250 */
  readonly retoolBackoffMs?: number;
  /** @default a random 128-bit id */
  readonly newRequestId?: () => string;
}

export class RetoolRequestFailed extends Error {
  override name = 'RetoolRequestFailed';
}

/** The configured Retool URL would leak its key, or is not a URL we may post an incident to. */
export class RetoolUrlInvalid extends Error {
  override name = 'RetoolUrlInvalid';
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const KEY_PARAMS = ['workflowapikey', 'api_key', 'apikey', 'key'];

/**
 * Checks RETOOL_WORKFLOW_URL once, at cold start: https (plain http only on loopback, for local fakes), and no
 * API key in the query string — Retool accepts `?workflowApiKey=`, but URLs end up in logs; the key goes in
 * the `X-Workflow-Api-Key` header, from Secrets Manager.
 */
export const checkRetoolUrl = (url: string): string => {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RetoolUrlInvalid(`RETOOL_WORKFLOW_URL is not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && LOOPBACK.has(parsed.hostname))) {
    throw new RetoolUrlInvalid(`RETOOL_WORKFLOW_URL must be https:// (got ${parsed.protocol}//${parsed.host})`);
  }
  const leaking = [...parsed.searchParams.keys()].filter((k) => KEY_PARAMS.includes(k.toLowerCase()));
  if (leaking.length > 0 || parsed.username || parsed.password) {
    throw new RetoolUrlInvalid(`RETOOL_WORKFLOW_URL must not carry credentials (found ${leaking.length > 0 ? leaking.join(', ') : 'user info'}): put the key in the secret RETOOL_API_KEY_SECRET_ID names`);
  }
  return url;
};

/** `POST <apiBaseUrl>/incidents/<id>/approval` (a path when no base URL is configured). */
export const approvalUrl = (apiBaseUrl: string | undefined, incidentId: string): string =>
  `${(apiBaseUrl ?? '').replace(/\/+$/, '')}/incidents/${encodeURIComponent(incidentId)}/approval`;

const describeAction = (a: MitigationAction) => ({ kind: a.kind, service: a.service, ...(a.target ? { target: a.target } : {}), description: a.description, risk: a.risk, reversible: a.reversible });

type ActionView = ReturnType<typeof describeAction>;

export interface ApprovalLinkSet {
  readonly approve: string;
  readonly reject: string;
}

/** The body Retool receives (its workflow reads it as `startTrigger.data`). */
export const retoolPayload = (p: {
  incident: IncidentMeta;
  requestId: string;
  headline: string;
  impact?: ImpactOutput;
  rootcause?: RootCauseOutput;
  plan: PlanOutput;
  actions: readonly ActionView[];
  requestedAt: string;
  expiresAt: string;
  apiBaseUrl?: string;
  links?: ApprovalLinkSet;
}) => {
  const top = p.rootcause && !p.rootcause.abstained ? p.rootcause.rootCauses[0] : undefined;
  const base = (p.apiBaseUrl ?? '').replace(/\/+$/, '');
  return {
    type: 'approval-requested',
    incidentId: p.incident.incidentId,
    approvalRequestId: p.requestId,
    headline: p.headline,
    incident: {
      id: p.incident.incidentId,
      title: p.incident.title,
      severity: p.incident.severity,
      service: p.incident.service,
      ...(p.incident.environment ? { environment: p.incident.environment } : {}),
      startedAt: p.incident.startedAt,
      url: `${base}/incidents/${encodeURIComponent(p.incident.incidentId)}`,
    },
    impact: p.impact
      ? { severity: p.impact.severity, usersImpacted: p.impact.usersImpacted, revenuePerMinute: p.impact.revenuePerMinute, blastRadius: p.impact.blastRadius, ...(p.impact.onset ? { onset: p.impact.onset } : {}) }
      : null,
    rootCause: top
      ? { summary: top.summary, service: top.service, category: top.category, ...(top.changeId ? { changeId: top.changeId } : {}), confidence: top.confidence }
      : { summary: 'undetermined: the analysis abstained', confidence: 0 },
    plan: { risk: p.plan.risk, reversible: p.plan.reversible, actions: p.actions, longTerm: p.plan.longTerm, rationale: p.plan.rationale },
    requestedAt: p.requestedAt,
    expiresAt: p.expiresAt,
    approval: {
      requestId: p.requestId,
      expiresAt: p.expiresAt,
      // Open in a browser: a confirmation page; only its form's POST decides. Both expire at the deadline.
      ...(p.links ? { links: p.links } : {}),
      // Retool's own decision: a REST query with the shared secret as a static header of the resource.
      api: {
        method: 'POST',
        url: approvalUrl(p.apiBaseUrl, p.incident.incidentId),
        header: SECRET_HEADER,
        body: { decision: 'approve | reject', approver: '<who decided>', comment: '<optional>', channel: 'retool', requestId: p.requestId },
      },
    },
  };
};

export const requestApproval =
  (deps: AgentDeps, options: ApprovalOptions = {}) =>
  async (input: ApprovalTask): Promise<AgentSummary> => {
    const { incidentId, taskToken, timeoutSeconds } = input;
    const earlier = await loadIncident(deps, incidentId, ['plan', 'impact', 'rootcause', 'triage']);
    const { incident } = earlier;
    const plan = earlier.output('plan', PlanOutput);
    if (!plan) throw new PlanNotFound(incidentId);
    const impact = earlier.output('impact', ImpactOutput);
    const rootcause = earlier.output('rootcause', RootCauseOutput);
    const triage = earlier.output('triage', TriageOutput);

    const now = deps.clock();
    const requestedAt = now.toISOString();
    const expiresAt = new Date(now.getTime() + timeoutSeconds * 1000).toISOString();
    const channel = options.retoolUrl ? 'retool' : 'api';
    const requestId = (options.newRequestId ?? newApprovalRequestId)();
    const pending: ApprovalState = { status: 'PENDING', requestedAt, expiresAt, channel, requestId };
    const requested = await deps.store.requestApproval(incidentId, taskToken, pending);
    // Every alert may have resolved while the agents worked: the resolved notifications found no pending approval
    // to withdraw then, so withdraw it now. The error's name routes the state machine to the report (self-recovered).
    // A resolution after the write above finds the approval pending and withdraws it itself (ingest-alert).
    if (allAlertsResolved(requested)) {
      const withdrawal = await deps.store.withdrawApproval(incidentId, 'every alert resolved before the approval was requested');
      if (withdrawal.withdrawn) throw new AlertsResolved(incidentId);
    }

    const headline = triage?.output.headline ?? incident.title;
    const actions = plan.output.immediate.map(describeAction);
    const url = approvalUrl(options.apiBaseUrl, incidentId);
    const links = await signLinks(deps, options, { incidentId, requestId, expiresAt });
    await deps.store.appendEvent(incidentId, {
      type: 'approval-requested',
      message: `Approval requested (${plan.output.risk} risk) via ${channel}${links ? ' with signed links' : ''}; expires ${expiresAt}`,
      actor: 'autopilot',
      // The links are credentials: the timeline (readable by every operator) says they exist, not what they are.
      data: { risk: plan.output.risk, actions, expiresAt, approvalUrl: url, channel, requestId, linksSigned: Boolean(links) },
    });
    await deps.events.publish('Approval Requested', {
      incidentId,
      approvalRequestId: requestId,
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
      const body = retoolPayload({
        incident,
        requestId,
        headline,
        impact: impact?.output,
        rootcause: rootcause?.output,
        plan: plan.output,
        actions,
        requestedAt,
        expiresAt,
        apiBaseUrl: options.apiBaseUrl,
        links,
      });
      try {
        const attempts = await postToRetool(options, body);
        retool = '; Retool workflow triggered';
        await deps.store.appendEvent(incidentId, { type: 'approval-notified', message: 'Retool approval workflow triggered', actor: 'autopilot', data: { channel: 'retool', attempts, requestId } });
      } catch (error) {
        // The approval stays PENDING and the state machine keeps waiting: the API route and the links still decide.
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

/** Both links, or none (recorded on the timeline) when the key cannot be read: the API still decides. */
const signLinks = async (deps: AgentDeps, options: ApprovalOptions, p: { incidentId: string; requestId: string; expiresAt: string }): Promise<ApprovalLinkSet | undefined> => {
  if (!options.links) return undefined;
  const expiresAt = linkExpiry(p.expiresAt);
  try {
    const [approve, reject] = await Promise.all(
      (['approve', 'reject'] as const).map((decision) => options.links!.sign({ incidentId: p.incidentId, decision, expiresAt, requestId: p.requestId })),
    );
    return { approve: approvalLinkUrl(options.apiBaseUrl, approve), reject: approvalLinkUrl(options.apiBaseUrl, reject) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await deps.store.appendEvent(p.incidentId, { type: 'approval-links-failed', message: `Approval links could not be signed (${message}); approve through the API`, actor: 'autopilot', data: { error: message } });
    return undefined;
  }
};

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
const MAX_RETRY_AFTER_MS = 5_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `Retry-After` in seconds (Retool's rate limiter sends it), capped; undefined when absent or a date. */
const retryAfterMs = (response: Response): number | undefined => {
  const seconds = Number(response.headers.get('retry-after'));
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, MAX_RETRY_AFTER_MS) : undefined;
};

/**
 * POSTs the payload; retries 429/5xx and network errors with exponential backoff. A duplicate trigger is
 * harmless (decisions are idempotent: the second one gets 409). Returns the number of attempts made.
 */
const postToRetool = async (options: ApprovalOptions, body: unknown): Promise<number> => {
  const doFetch = options.fetch ?? fetch;
  const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (options.retoolApiKey) headers['X-Workflow-Api-Key'] = await options.retoolApiKey();
  const attempts = Math.max(1, options.retoolAttempts ?? 3);
  const backoff = options.retoolBackoffMs ?? 250;
  const text = JSON.stringify(body);
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let wait = backoff * 2 ** (attempt - 1);
    try {
      const response = await doFetch(options.retoolUrl!, { method: 'POST', headers, body: text, signal: AbortSignal.timeout(options.retoolTimeoutMs ?? 10_000) });
      await response.body?.cancel(); // the answer is not needed; free the connection
      if (response.ok) return attempt;
      last = `Retool answered HTTP ${response.status}`;
      if (!RETRYABLE_STATUS.has(response.status)) throw new RetoolRequestFailed(last);
      wait = retryAfterMs(response) ?? wait;
    } catch (error) {
      if (error instanceof RetoolRequestFailed) throw error;
      last = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    if (attempt < attempts) await sleep(wait);
  }
  throw new RetoolRequestFailed(`${last} (after ${attempts} attempts)`);
};
