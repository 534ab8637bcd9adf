/**
 * GET  /approvals/{token}  the confirmation page of a signed approval link: what happened, the plan, a form.
 *                          It never decides anything (mail scanners and link previewers open links).
 * POST /approvals/{token}  the form (`approver`, `comment`, urlencoded): decides, once.
 *
 * Both verify the token (functions/core/approval-links.ts) before reading anything: a tampered token or one
 * signed with another key → 403, an expired one → 410, and nothing is decided. The token must name the
 * incident's CURRENT approval request (410 otherwise: a link from before a rerun) and that request must still
 * be pending (409 with what was decided otherwise). The decision itself is `applyDecision`, shared with the
 * API route, with channel `link`; the approver is the name typed in the form, the link is the credential.
 */
import * as z from 'zod';
import { type ApprovalLinkClaims, ApprovalLinkExpired, ApprovalLinkInvalid, type ApprovalLinks } from '../core/approval-links.ts';
import type { Config } from '../core/config.ts';
import type { Observability } from '../core/handler.ts';
import { type ApiEvent, type ApiResult, BadRequest, HttpError, UnsupportedMediaType, header, parseWith, readBody } from '../core/http.ts';
import { type AgentName, ImpactOutput, PlanOutput, RootCauseOutput, TriageOutput } from '../core/model.ts';
import { ApprovalAlreadyDecided, type ApprovalState, IncidentNotFound, type IncidentStore, type IncidentWith } from '../core/store/store.ts';
import { ApprovalSuperseded, applyDecision, DecisionNotDelivered, type DecisionDeps } from '../decide-approval/core.ts';
import { type ConfirmationView, htmlResponse, renderConfirmation, renderMessage } from './html.ts';

export interface ApprovalPageDeps extends DecisionDeps {
  readonly store: IncidentStore;
  readonly links: Pick<ApprovalLinks, 'verify'>;
  readonly config: Pick<Config, 'MAX_BODY_BYTES'>;
}

export const ApprovalForm = z.object({
  approver: z.string().trim().min(1, 'your name is required').max(200),
  comment: z.string().trim().max(4000).optional(),
});

const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';
const USER_AGENT_CHARS = 200;

const message = (status: number, title: string, text: string, details: readonly string[] = []): ApiResult => htmlResponse(status, renderMessage(title, text, details));

const when = (iso: string | undefined): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC') : 'an unknown time');

/** What a decided (or no longer pending) approval looks like to someone holding a link. */
const alreadyDecided = (approval: ApprovalState | undefined): ApiResult => {
  switch (approval?.status) {
    case 'APPROVED':
    case 'REJECTED':
      return message(409, `Already ${approval.status.toLowerCase()}`, `${approval.approver ?? 'Someone'} ${approval.status.toLowerCase()} this mitigation at ${when(approval.decidedAt)}. Nothing changed.`, approval.comment ? [`Their comment: ${approval.comment}`] : []);
    case 'EXPIRED':
      return message(409, 'Approval expired', `Nobody decided before the deadline (${when(approval.expiresAt)}); the incident was escalated to the on-call. Nothing changed.`);
    case 'WITHDRAWN':
      return message(409, 'Approval withdrawn', 'The approval request was withdrawn (the incident recovered on its own, or was closed). Nothing changed.');
    case 'AUTO_APPROVED':
      return message(409, 'Approved automatically', 'The policy approved this mitigation without a human. Nothing changed.');
    default:
      return message(409, 'Nothing to decide', 'This incident has no pending approval. Nothing changed.');
  }
};

/** The agents whose outputs the confirmation page shows; GET reads them with the incident in one BatchGetItem. */
const PAGE_AGENTS = ['plan', 'rootcause', 'impact', 'triage'] as const satisfies readonly AgentName[];

/** The confirmation page's facts, from the agents' stored outputs (each optional but the plan). */
const confirmationView = ({ incident, records }: IncidentWith, claims: ApprovalLinkClaims): ConfirmationView => {
  const output = <T>(agent: (typeof PAGE_AGENTS)[number], schema: z.ZodType<T>): T | undefined => {
    const record = records[agent];
    const parsed = record ? schema.safeParse(record.output) : undefined;
    return parsed?.success ? parsed.data : undefined;
  };
  const plan = output('plan', PlanOutput);
  const rootcause = output('rootcause', RootCauseOutput);
  const impact = output('impact', ImpactOutput);
  const triage = output('triage', TriageOutput);
  const top = rootcause && !rootcause.abstained ? rootcause.rootCauses[0] : undefined;
  return {
    incidentId: incident.incidentId,
    decision: claims.decision,
    title: incident.title,
    headline: triage?.headline ?? incident.title,
    severity: incident.severity,
    service: incident.service,
    ...(impact ? { impact: { usersImpacted: impact.usersImpacted, revenuePerMinute: impact.revenuePerMinute, blastRadius: impact.blastRadius } } : {}),
    ...(top ? { rootCause: { summary: top.summary, confidence: top.confidence, category: top.category, ...(top.changeId ? { changeId: top.changeId } : {}) } } : {}),
    plan: plan
      ? { risk: plan.risk, reversible: plan.reversible, rationale: plan.rationale, actions: plan.immediate.map((a) => ({ kind: a.kind, service: a.service, ...(a.target ? { target: a.target } : {}), description: a.description, risk: a.risk, reversible: a.reversible })) }
      : { risk: 'unknown', reversible: false, actions: [] },
    expiresAt: when(incident.approval?.expiresAt ?? new Date(claims.expiresAt * 1000).toISOString()),
  };
};

/** 400: a form field whose percent-escapes are malformed or do not decode to UTF-8; the message names the field. */
export class FormFieldInvalid extends BadRequest {
  override name = 'FormFieldInvalid';
}

const decodeFormComponent = (raw: string, field: string): string => {
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    throw new FormFieldInvalid(`invalid approval form: ${field}: not valid percent-encoded UTF-8`);
  }
};

/**
 * The fields of an `application/x-www-form-urlencoded` body, decoded strictly: `+` is a space, each `%XX` a byte, and the
 * bytes must be UTF-8. URLSearchParams decodes leniently (a malformed escape stays as sent, bytes that are not UTF-8 —
 * an encoded lone surrogate, a Latin-1 `%E9` — become U+FFFD), so the approver recorded would be a name nobody typed;
 * here such a field is 400 naming it, and nothing is decided. The first value of a repeated name counts (as `get`).
 */
export const parseFormFields = (body: string): Map<string, string> => {
  const fields = new Map<string, string>();
  for (const pair of body.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const name = decodeFormComponent(at < 0 ? pair : pair.slice(0, at), 'a field name');
    const value = decodeFormComponent(at < 0 ? '' : pair.slice(at + 1), name);
    if (!fields.has(name)) fields.set(name, value);
  }
  return fields;
};

const parseForm = (event: ApiEvent, maxBytes: number): z.infer<typeof ApprovalForm> => {
  const type = (header(event, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (type !== FORM_CONTENT_TYPE) throw new UnsupportedMediaType(`content-type: the form must be sent as ${FORM_CONTENT_TYPE}, got ${JSON.stringify(header(event, 'content-type') ?? '(none)')}`);
  const fields = parseFormFields(readBody(event, maxBytes));
  // Only the two fields count; the decision is the link's, whatever else the body says.
  return parseWith(ApprovalForm, { approver: fields.get('approver') ?? '', comment: fields.get('comment') ?? undefined }, 'approval form');
};

const decided = (approval: ApprovalState, incidentId: string): ApiResult => {
  const approved = approval.status === 'APPROVED';
  return message(
    200,
    approved ? 'Mitigation approved' : 'Mitigation rejected',
    approved ? `Thank you, ${approval.approver}. The mitigation for ${incidentId} runs now; its recovery is verified against the baseline.` : `Thank you, ${approval.approver}. The mitigation for ${incidentId} will not run; the incident goes to its report with your rejection.`,
    approval.comment ? [`Your comment: ${approval.comment}`] : [],
  );
};

export const approvalPage =
  (deps: ApprovalPageDeps) =>
  async (event: ApiEvent, o?: Observability): Promise<ApiResult> => {
    const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
    const sourceIp = event.requestContext?.http?.sourceIp ?? 'unknown';
    try {
      const claims = await deps.links.verify(event.pathParameters?.token ?? '', deps.clock());
      // GET shows the agents' outputs: read with the incident at once. POST needs the incident only.
      const found = await deps.store.getIncidentWith(claims.incidentId, method === 'GET' ? PAGE_AGENTS : []);
      if (!found) throw new IncidentNotFound(claims.incidentId);
      const { incident } = found;
      if (incident.approval?.requestId !== claims.requestId) throw new ApprovalSuperseded(incident.approval);
      if (incident.approval?.status !== 'PENDING') return alreadyDecided(incident.approval);

      if (method === 'GET') return htmlResponse(200, renderConfirmation(confirmationView(found, claims)));
      if (method !== 'POST') return message(405, 'Method not allowed', 'Open the link, then use the button on the page.');

      const form = parseForm(event, deps.config.MAX_BODY_BYTES);
      const userAgent = (header(event, 'user-agent') ?? '').slice(0, USER_AGENT_CHARS);
      const approval = await applyDecision(
        deps,
        {
          incidentId: claims.incidentId,
          decision: claims.decision,
          approver: form.approver,
          ...(form.comment ? { comment: form.comment } : {}),
          channel: 'link',
          requestId: claims.requestId,
          audit: { sourceIp, ...(userAgent ? { userAgent } : {}) },
        },
        o,
      );
      return decided(approval, claims.incidentId);
    } catch (error) {
      return errorPage(error, method, sourceIp, o);
    }
  };

const errorPage = (error: unknown, method: string, sourceIp: string, o?: Pick<Observability, 'logger'>): ApiResult => {
  if (error instanceof ApprovalLinkInvalid) {
    o?.logger.warn('approval link refused', { reason: error.message, method, sourceIp });
    return message(403, 'This link is not valid', 'The approval link was altered, cut short, or signed with a key that has since been rotated. Nothing was decided.', [
      'Copy the whole link from the message again, or approve through Retool or the API.',
    ]);
  }
  if (error instanceof ApprovalLinkExpired) return message(410, 'This link has expired', `${error.message.replace(/^the/, 'The')}: the approval deadline has passed. Nothing was decided.`);
  if (error instanceof ApprovalSuperseded) return message(410, 'This link is out of date', 'The incident has a newer approval request (it was run again); this link belongs to an earlier one. Nothing was decided.');
  if (error instanceof ApprovalAlreadyDecided) return alreadyDecided(error.approval);
  if (error instanceof IncidentNotFound) return message(404, 'Incident not found', 'The incident this link was made for no longer exists. Nothing was decided.');
  if (error instanceof HttpError) {
    if (error.code === 'approval_expired') return message(409, 'Too late', 'The approval task had already closed (its deadline passed or the workflow moved on). Your decision was recorded as too late; nothing runs.');
    if (error instanceof DecisionNotDelivered) {
      return message(503, 'Recorded, but not delivered', `Your decision is recorded, but the workflow could not be told and the record could not be withdrawn. The workflow waits until ${when(error.approval.expiresAt)} and then escalates.`, [
        'Trying again will not help; tell the on-call, who can answer the workflow directly.',
      ]);
    }
    const details = error instanceof BadRequest && Array.isArray(error.details?.problems) ? (error.details.problems as string[]) : [];
    return message(error.status, error.status >= 500 ? 'Please try again' : 'The form was not accepted', error.message, details);
  }
  o?.logger.error('approval page failed', error as Error);
  return message(500, 'Something went wrong', 'The approval could not be processed. Nothing was decided; try again, or approve through Retool or the API.');
};
