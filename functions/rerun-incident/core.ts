/**
 * POST /incidents/{id}/rerun  {requestedBy?, reason?}  (x-autopilot-secret required)
 *
 * Starts the workflow again for an incident, as execution `<id>-rerun-<n>` with the same input (built from
 * the stored META, like ingest). 409 while the incident's current execution is RUNNING.
 *
 * Status: a terminal incident (RESOLVED / ESCALATED / FAILED) is reopened to INVESTIGATING, forgetting the
 * previous run's outcome, failure, report location and approval; this explicit human action is the only way
 * out of a terminal status (store.reopen). A non-terminal incident whose execution is not running (aborted,
 * timed out, never started) keeps its status. Agent records are overwritten as the new run writes them; the
 * timeline keeps both runs.
 *
 * The rerun rule: when the action journal holds a forward mitigation step — whatever its result: succeeded, failed
 * (an adapter reports "may have acted" and "not confirmed" as failed) or never completed (outcome unknown) — the
 * mitigation was sent and the world has (or may have) changed. Diagnosing again would find another cause in the
 * changed world and act a second time (and the same action would not run again anyway: the journal holds it), so the
 * rerun tells the state machine (`earlierMitigation` in the input) to verify that mitigation and report — then
 * escalate if it did not recover; the earlier mitigation is not undone automatically by a rerun (humans decide). The
 * summary names the inverses an earlier undo ran too. Only an incident with no forward step is diagnosed from scratch.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod';
import type { Config } from '../core/config.ts';
import type { Observability } from '../core/handler.ts';
import { type ApiEvent, type ApiResult, Conflict, NotFound, json, parseJson, parseWith, pathParam, readBody, requireJsonContentType, requireSecret, withErrors } from '../core/http.ts';
import { TERMINAL_STATUSES } from '../core/model.ts';
import type { SecretProvider } from '../core/secrets.ts';
import { type ActionJournal, type JournalEntry, mitigationSteps } from '../core/store/journal.ts';
import type { IncidentStore } from '../core/store/store.ts';
import { type EarlierMitigation, type WorkflowClient, executionInputFor, rerunNumber } from '../core/workflow-client.ts';

export interface RerunDeps {
  readonly store: IncidentStore;
  readonly workflow: Pick<WorkflowClient, 'start' | 'status'>;
  readonly secret: SecretProvider;
  readonly config: Pick<Config, 'MAX_BODY_BYTES' | 'VERIFY_WAIT_SECONDS' | 'MAX_VERIFY_CHECKS'>;
  /** The action journal: whether a mitigation already ran decides where the rerun starts. */
  readonly journal: Pick<ActionJournal, 'list'>;
}

/** The longest step line kept in `earlierMitigation.summary`. */
const MAX_EARLIER_SUMMARY = 500;

/** What the journal says ran, as the state machine's input; undefined when no forward step was attempted. */
export const earlierMitigationOf = (entries: readonly JournalEntry[]): EarlierMitigation | undefined => {
  const steps = mitigationSteps(entries);
  if (steps.length === 0) return undefined;
  const outcome = (e: JournalEntry) => `${e.action.kind} ${e.action.target ?? e.action.service}: ${e.result?.status ?? 'outcome unknown'}`;
  const undone = entries.filter((e) => e.mode === 'undo');
  const text = steps.map(outcome).join('; ') + (undone.length ? `; undone: ${undone.map(outcome).join('; ')}` : '');
  return { steps: steps.length, summary: text.length > MAX_EARLIER_SUMMARY ? `${text.slice(0, MAX_EARLIER_SUMMARY - 3)}...` : text };
};

export const RerunBody = z.strictObject({
  requestedBy: z.string().trim().min(1).max(200).optional(),
  reason: z.string().trim().max(2000).optional(),
});

/** How many taken names to step over (reruns started elsewhere whose ARN was never stored). */
const MAX_NAME_ATTEMPTS = 10;

export const rerunIncident = (deps: RerunDeps) =>
  withErrors(async (event: ApiEvent, o?: Observability): Promise<ApiResult> => {
    await requireSecret(event, deps.secret);
    const incidentId = pathParam(event, 'id');
    requireJsonContentType(event);
    const text = readBody(event, deps.config.MAX_BODY_BYTES);
    const body = text.trim() ? parseWith(RerunBody, parseJson(text), 'rerun request') : {};

    const incident = await deps.store.getIncident(incidentId);
    if (!incident) throw new NotFound(`incident ${incidentId} not found`);
    if (incident.executionArn && (await deps.workflow.status(incident.executionArn)) === 'RUNNING') {
      throw new Conflict('execution_running', `incident ${incidentId} has a running execution; wait for it to finish`, { executionArn: incident.executionArn });
    }

    const earlier = earlierMitigationOf(await deps.journal.list(incidentId));
    const current = TERMINAL_STATUSES.includes(incident.status) ? await deps.store.reopen(incidentId) : incident;
    const input = executionInputFor(current, deps.config, earlier);
    let n = rerunNumber(incident.executionArn);
    for (let attempt = 0; attempt < MAX_NAME_ATTEMPTS; attempt++) {
      n += 1;
      const started = await deps.workflow.start(`${incidentId}-rerun-${n}`, input);
      if (started.alreadyExisted) {
        if ((await deps.workflow.status(started.executionArn)) !== 'RUNNING') continue;
        // Someone else's rerun of this incident is running: point the incident at it and say so.
        await deps.store.setExecutionArn(incidentId, started.executionArn);
        throw new Conflict('execution_running', `a rerun of incident ${incidentId} is already running`, { executionArn: started.executionArn });
      }
      await deps.store.setExecutionArn(incidentId, started.executionArn);
      await deps.store.appendEvent(incidentId, {
        type: 'rerun-started',
        ...(body.requestedBy ? { actor: body.requestedBy } : {}),
        message:
          `Rerun #${n} started${body.requestedBy ? ` by ${body.requestedBy}` : ''}${body.reason ? `: ${body.reason}` : ''}` +
          (earlier ? ` — a mitigation already ran (${earlier.summary}): this rerun verifies that earlier mitigation and reports, without diagnosing or acting again` : ''),
        data: { executionArn: started.executionArn, previousStatus: incident.status, ...(earlier ? { earlierMitigation: earlier } : {}) },
      });
      o?.metrics.addMetric('RerunsStarted', MetricUnit.Count, 1);
      return json(202, { incidentId, executionArn: started.executionArn, rerun: n, status: current.status, ...(earlier ? { resumesVerification: true } : {}) });
    }
    throw new Conflict('rerun_names_exhausted', `could not find a free execution name after ${MAX_NAME_ATTEMPTS} attempts`);
  });
