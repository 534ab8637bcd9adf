/**
 * Record failure: the state machine's Catch for every state lands here. The incident becomes FAILED (unless
 * it already reached a terminal status: a failure after the outcome was decided must not rewrite it), the
 * error is kept (the Cause trimmed), and a timeline event says where it broke. Agent outputs already written
 * stay: they are the partial investigation a human picks up.
 */
import * as z from 'zod';
import type { AgentDeps } from '../deps.ts';
import { TERMINAL_STATUSES } from '../model.ts';
import { IncidentNotFound } from '../store/store.ts';
import { clipSummary } from './runtime.ts';

export const FailureTask = z.object({
  incidentId: z.string().min(1).max(128),
  error: z
    .object({ Error: z.string().optional(), Cause: z.string().optional() })
    .loose()
    .default({}),
});
export type FailureTask = z.infer<typeof FailureTask>;

export interface FailureResult {
  readonly incidentId: string;
  readonly summary: string;
}

export const MAX_CAUSE_CHARS = 1000;

/**
 * A Lambda error's Cause is a JSON document ({errorType, errorMessage, trace}); keep the message, not the
 * stack. Any other Cause is kept as text. Either way at most `MAX_CAUSE_CHARS`.
 */
export const trimCause = (cause: string | undefined): string => {
  let text = cause ?? '';
  try {
    const parsed = JSON.parse(text) as { errorType?: string; errorMessage?: string };
    if (parsed && typeof parsed === 'object' && typeof parsed.errorMessage === 'string') text = parsed.errorType ? `${parsed.errorType}: ${parsed.errorMessage}` : parsed.errorMessage;
  } catch {
    // not JSON: keep as is
  }
  text = text.trim();
  return text.length > MAX_CAUSE_CHARS ? `${text.slice(0, MAX_CAUSE_CHARS - 3)}...` : text;
};

export const recordFailure =
  (deps: AgentDeps) =>
  async ({ incidentId, error }: FailureTask): Promise<FailureResult> => {
    const incident = await deps.store.getIncident(incidentId);
    if (!incident) throw new IncidentNotFound(incidentId);
    const name = error.Error || 'UnknownError';
    const cause = trimCause(error.Cause);
    const terminal = TERMINAL_STATUSES.includes(incident.status);
    if (!terminal) await deps.store.updateIncident(incidentId, { status: 'FAILED', failure: { error: name, cause } });
    const what = cause.startsWith(name) ? cause : `${name}: ${cause || 'no cause given'}`;
    const message = terminal ? `${what} (after the incident was already ${incident.status})` : `Workflow failed: ${what}`;
    await deps.store.appendEvent(incidentId, { type: 'failed', message, actor: 'autopilot', data: { error: name, cause, statusKept: terminal } });
    return { incidentId, summary: clipSummary(message) };
  };
