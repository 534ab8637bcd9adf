/**
 * The request schemas of the HTTP API: each function validates its input with these, and the API description
 * (openapi.ts) is generated from the same — one definition, so the document cannot drift from what is accepted.
 */
import * as z from 'zod';
import { FaultCategory, IncidentStatus, Severity } from '../model.ts';
import { MAX_LIST_LIMIT } from '../store/dynamo-store.ts';
import { FaultPreset } from '../world/preset-names.ts';

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

const isoTime = z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString());

/** The query parameters of GET /incidents/{id}/signals: an optional window (ISO 8601); the function bounds its length. */
export const SignalsParams = z
  .object({
    from: isoTime.optional().describe('Start of the window (ISO 8601). Default: an hour before the onset.'),
    to: isoTime.optional().describe('End of the window (ISO 8601). Default: now, or the resolution plus 30 minutes.'),
  });
export type SignalsParams = z.infer<typeof SignalsParams>;
/** A world id (functions/core/world/world.ts WORLD_ID): the world faults are injected into. */
const WorldId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a world id: letters, digits, ".", "_" or "-" (at most 64 characters)');

/** POST /admin/faults: a preset on a service (default: the preset's choice), or a scenario-format fault without startsAt. */
export const FaultInjectionBody = z
  .strictObject({
    /** @default LIVE_WORLD_ID ('live') */
    world: WorldId.optional(),
    preset: FaultPreset.optional(),
    service: z.string().trim().min(1).max(63).optional(),
    fault: z.record(z.string(), z.unknown()).optional().describe('a scenario-format fault (events/scenarios/README.md) without startsAt: it starts now; an endsAt counts minutes from now'),
    /** Who injects it, when nobody is signed in (the twin's console, the CLI). @default 'console' */
    by: z.string().trim().min(1).max(200).optional(),
  })
  .refine((b) => (b.preset === undefined) !== (b.fault === undefined), { message: 'give either a preset or a fault (not both)', path: ['preset'] });
export type FaultInjectionBody = z.infer<typeof FaultInjectionBody>;

/** The query of GET /admin/faults and DELETE /admin/faults/{id}. */
export const FaultQuery = z.object({
  /** @default LIVE_WORLD_ID ('live') */
  world: WorldId.optional(),
  /** DELETE: who ends it, when nobody is signed in. @default 'console' */
  by: z.string().trim().min(1).max(200).optional(),
});

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
