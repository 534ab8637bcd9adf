/**
 * The request schemas of the HTTP API: each function validates its input with these, and the API description
 * (openapi.ts) is generated from the same — one definition, so the document cannot drift from what is accepted.
 */
import * as z from 'zod';
import { FaultCategory, IncidentStatus, Severity } from '../model.ts';
import { MAX_LIST_LIMIT } from '../store/dynamo-store.ts';

/** Where a decision came from: a signed link's page, Retool, the API (scripts), the CLI. */
export const DecisionChannel = z.enum(['link', 'retool', 'api', 'cli']);
export type DecisionChannel = z.infer<typeof DecisionChannel>;

export const DecisionBody = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  approver: z.string().trim().min(1).max(200),
  comment: z.string().trim().max(4000).optional(),
  /** Who is calling; `link` is reserved to the approval page (its identity is the signed link). @default 'api' */
  channel: DecisionChannel.exclude(['link']).default('api'),
  /** The approval request this decision is meant for (Retool echoes `approvalRequestId`); checked when given. */
  requestId: z.string().trim().min(1).max(64).optional(),
});
export type DecisionBody = z.infer<typeof DecisionBody>;

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

const isoTime = z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString());

/** The query parameters of GET /incidents/{id}/signals: an optional window (ISO 8601); the function bounds its length. */
export const SignalsParams = z
  .object({
    from: isoTime.optional().describe('Start of the window (ISO 8601). Default: an hour before the onset.'),
    to: isoTime.optional().describe('End of the window (ISO 8601). Default: now, or the resolution plus 30 minutes.'),
  });
export type SignalsParams = z.infer<typeof SignalsParams>;

/** What people say caused an incident: where, what kind of fault (the root-cause agent's categories), which change. */
export const ResolutionCause = z.strictObject({
  service: z.string().trim().min(1).max(256),
  category: FaultCategory,
  /** The change that caused it (a change request id, as the changes port names it), when one did. */
  change: z.string().trim().min(1).max(128).optional(),
  summary: z.string().trim().min(1).max(4000),
});

/** POST /incidents/{id}/resolution (and the console's): what the cause and the fix really were, by whom. */
export const ResolutionBody = z.strictObject({
  cause: ResolutionCause,
  fix: z.string().trim().min(1).max(4000),
  /** Who resolved it: required on the secret route; on the console's, the signed-in user wins (the twin: this, else 'console'). */
  by: z.string().trim().min(1).max(200).optional(),
  comment: z.string().trim().max(4000).optional(),
});
export type ResolutionBody = z.infer<typeof ResolutionBody>;
