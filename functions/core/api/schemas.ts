/**
 * The request schemas of the HTTP API: each function validates its input with these, and the API description
 * (openapi.ts) is generated from the same — one definition, so the document cannot drift from what is accepted.
 */
import * as z from 'zod';
import { IncidentStatus, Severity } from '../model.ts';
import { MAX_LIST_LIMIT } from '../store/dynamo-store.ts';

/** Where a decision came from: a signed link's page, Retool, the API (scripts), the CLI. */
/** Where a decision came from; `link` is the approval page's, `console` the console's jwt route's (neither is chosen in a body). */
export const DecisionChannel = z.enum(['link', 'retool', 'api', 'cli', 'console']);
export type DecisionChannel = z.infer<typeof DecisionChannel>;

export const DecisionBody = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  approver: z.string().trim().min(1).max(200),
  comment: z.string().trim().max(4000).optional(),
  /** Who is calling; `link` is reserved to the approval page (its identity is the signed link). @default 'api' */
  channel: DecisionChannel.exclude(['link', 'console']).default('api'),
  /** The approval request this decision is meant for (Retool echoes `approvalRequestId`); checked when given. */
  requestId: z.string().trim().min(1).max(64).optional(),
});
export type DecisionBody = z.infer<typeof DecisionBody>;

/**
 * POST /console/incidents/{id}/approval: the console's decision. The approver is the signed-in user (the JWT's claims);
 * the body's `approver` only names someone where nobody is signed in (the twin's loopback console), else 'console'.
 * The channel is always `console`.
 */
export const ConsoleDecisionBody = z.strictObject({
  decision: DecisionBody.shape.decision,
  approver: DecisionBody.shape.approver.optional(),
  comment: DecisionBody.shape.comment,
  requestId: DecisionBody.shape.requestId,
});
export type ConsoleDecisionBody = z.infer<typeof ConsoleDecisionBody>;

/** What a rerun may say of itself. */
export const RerunBody = z.strictObject({
  requestedBy: z.string().trim().min(1).max(200).optional(),
  reason: z.string().trim().max(2000).optional(),
});

const upper = (v: unknown) => (typeof v === 'string' ? v.trim().toUpperCase() : v);

/** The query parameters of GET /incidents. */
export const ListParams = z.object({
  status: z.preprocess(upper, IncidentStatus).optional(),
  severity: z.preprocess(upper, Severity).optional(),
  service: z.string().trim().min(1).max(256).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).optional(),
  cursor: z.string().min(1).max(2048).optional(),
});
