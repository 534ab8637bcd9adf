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
 * Through the opening journal first (functions/core/intake/opening.ts). An incident whose opening is not published —
 * its delivery died after recording the alert, or after starting the workflow and before `Incident Opened` — is opened
 * by the rerun with the same journal the webhook and the sweeper use (`openingTakeover`: conditional claim →
 * StartExecution named by the incident id → record the ARN → publish → mark published), so `Incident Opened` goes out
 * once even when the rerun's run closes the incident before the sweeper comes (it skips closed incidents). A terminal
 * incident is reopened first (a closed incident cannot be claimed). When that opening itself started the workflow
 * (there was no execution), that execution IS the run: 202 with `openingCompleted: true` and `rerun: 0` (its
 * name is the incident id). When another holder's claim is live (a delivery or the sweeper in the middle of the
 * opening, or one that died within its lease), the rerun starts nothing and answers 503 `opening_in_progress` with
 * Retry-After (the lease left) and who holds it.
 *
 * Then the rerun's own execution, reserved before it is started: one conditional write on META replaces the ARN the
 * rerun read with the ARN of `<id>-rerun-<n>` (`replaceExecutionArn`), and only then StartExecution. If anything
 * recorded another execution since the rerun read META (another rerun, at the same time), the write is refused and the
 * rerun answers 409 `execution_running` naming that execution, having started nothing and written no timeline entry: of
 * any number of reruns at once one starts, and writes the one `rerun-started` entry. A reserved execution whose
 * StartExecution fails is given back (the ARN read is put back, conditionally); if even that fails, META names an
 * execution that does not exist, which the next rerun reads as not running. The ARN is derived from the one on META
 * (same state machine, the name replaced), which the opening guarantees is there; should StartExecution answer
 * another ARN (the state machine was replaced since), the one it answered is recorded, again conditionally.
 *
 * The rerun rule: when the action journal holds a forward mitigation step — whatever its result: succeeded, failed
 * (an adapter reports "may have acted" and "not confirmed" as failed) or never completed (outcome unknown) — the
 * mitigation was sent and the world has (or may have) changed. Diagnosing again would find another cause in the
 * changed world and act a second time (and the same action would not run again anyway: the journal holds it), so the
 * rerun tells the state machine (`earlierMitigation` in the input) to verify that mitigation and report — then
 * escalate if it did not recover; the earlier mitigation is not undone automatically by a rerun (humans decide). The
 * summary names the inverses an earlier undo ran too. Only an incident with no forward step is diagnosed from scratch.
 * The same input goes to a workflow the rerun's opening starts.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Config } from '../core/config.ts';
import type { EventPublisher } from '../core/deps.ts';
import type { Observability } from '../core/handler.ts';
import { type ApiEvent, type ApiResult, Conflict, HttpError, NotFound, json, parseJson, parseWith, pathParam, readBody, requireJsonContentType, requireSecret, withErrors } from '../core/http.ts';
import { type OpeningDeps, type OpeningStore, type Opened, liveOpeningClaim, openingTakeover } from '../core/intake/opening.ts';
import type { SecretProvider } from '../core/secrets.ts';
import { isTerminal, openingPublished } from '../core/store/dynamo-store.ts';
import { type ActionJournal, type JournalEntry, mitigationSteps } from '../core/store/journal.ts';
import { type AlertIntakeStore, type IncidentMeta, IncidentNotFound, type OpeningJournal } from '../core/store/store.ts';
import { type EarlierMitigation, type StartResult, type WorkflowClient, executionInputFor, rerunNumber } from '../core/workflow-client.ts';
import { RerunBody } from '../core/api/schemas.ts';

export { RerunBody };

/** The store calls of a rerun: the opening journal's, reopening, and the compare-and-set of the execution ARN. */
export type RerunStore = OpeningStore & Pick<AlertIntakeStore, 'reopen' | 'replaceExecutionArn'>;

export interface RerunDeps {
  readonly store: RerunStore;
  readonly workflow: Pick<WorkflowClient, 'start' | 'status'>;
  /** Where `Incident Opened` goes when the rerun completes an incident's opening. */
  readonly events: EventPublisher;
  readonly secret: SecretProvider;
  readonly config: Pick<Config, 'MAX_BODY_BYTES' | 'VERIFY_WAIT_SECONDS' | 'MAX_VERIFY_CHECKS'>;
  /** The action journal: whether a mitigation already ran decides where the rerun starts. */
  readonly journal: Pick<ActionJournal, 'list'>;
  /** For the opening claim's lease. @default () => new Date() */
  readonly clock?: () => Date;
}

/** Who the opening journal says claimed an opening a rerun completed. */
export const RERUN_CLAIMANT = 'rerun-incident';

/**
 * 503: another holder's claim on the incident's unpublished opening is live (a delivery or the sweeper opening it, or
 * one that died within its lease). The rerun started nothing; Retry-After is the lease left, after which the rerun may
 * take the opening over.
 */
export class OpeningInProgress extends HttpError {
  override name = 'OpeningInProgress';
  readonly retryAfterSeconds: number;
  constructor(incidentId: string, claim: OpeningJournal | undefined, now: Date) {
    const left = claim ? Math.max(1, Math.ceil((Date.parse(claim.claimedUntil) - now.getTime()) / 1000)) : 1;
    super(
      503,
      'opening_in_progress',
      `incident ${incidentId} is being opened by another delivery or the sweeper${claim ? ` (claimed by ${claim.claimedBy} until ${claim.claimedUntil})` : ''}, which has not published Incident Opened yet; this rerun started nothing: rerun in ${left} s, once that opening is done or its claim may be taken over`,
      { retryAfterSeconds: left, ...(claim ? { claimedBy: claim.claimedBy, claimedUntil: claim.claimedUntil } : {}) },
    );
    this.retryAfterSeconds = left;
  }
}

/** An execution ARN on META that is not `arn:<partition>:states:<region>:<account>:execution:<state machine>:<name>`. */
export class ExecutionArnUnrecognised extends Error {
  override name = 'ExecutionArnUnrecognised';
}

/** The ARN Step Functions gives execution `name` of the state machine that ran `executionArn`. */
export const siblingExecutionArn = (executionArn: string, name: string): string => {
  const parts = executionArn.split(':');
  if (parts.length !== 8 || parts[2] !== 'states' || parts[5] !== 'execution') throw new ExecutionArnUnrecognised(`not a Step Functions execution ARN: ${executionArn}`);
  return [...parts.slice(0, 7), name].join(':');
};

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


/** How many taken names to step over (reruns started elsewhere whose ARN was never stored). */
const MAX_NAME_ATTEMPTS = 10;

export const rerunIncident = (deps: RerunDeps) => {
  const clock = deps.clock ?? (() => new Date());
  const opening: OpeningDeps = { store: deps.store, workflow: deps.workflow, events: deps.events, config: deps.config, clock };
  return withErrors(async (event: ApiEvent, o?: Observability): Promise<ApiResult> => {
    await requireSecret(event, deps.secret);
    const incidentId = pathParam(event, 'id');
    requireJsonContentType(event);
    const text = readBody(event, deps.config.MAX_BODY_BYTES);
    const body = text.trim() ? parseWith(RerunBody, parseJson(text), 'rerun request') : {};
    const requested = { ...(body.requestedBy ? { actor: body.requestedBy } : {}) };
    const by = `${body.requestedBy ? ` by ${body.requestedBy}` : ''}${body.reason ? `: ${body.reason}` : ''}`;

    let incident = await deps.store.getIncident(incidentId);
    if (!incident) throw new NotFound(`incident ${incidentId} not found`);
    const earlier = earlierMitigationOf(await deps.journal.list(incidentId));
    const verifies = (e: EarlierMitigation | undefined) =>
      e ? ` — a mitigation already ran (${e.summary}): this rerun verifies that earlier mitigation and reports, without diagnosing or acting again` : '';

    if (!openingPublished(incident)) {
      const completed = await completeOpening(deps, opening, incident, earlier, o);
      if ('run' in completed) {
        const { run, status } = completed;
        await deps.store.appendEvent(incidentId, {
          type: 'rerun-started',
          ...requested,
          message:
            `Rerun requested${by} — the incident's opening was not complete and its workflow had never started: the rerun completed the opening ` +
            `(workflow started${run.published ? ', Incident Opened published' : ''}), and that execution is this rerun` +
            verifies(earlier),
          data: { executionArn: run.executionArn, previousStatus: incident.status, openingCompleted: true, ...(earlier ? { earlierMitigation: earlier } : {}) },
        });
        o?.metrics.addMetric('RerunsStarted', MetricUnit.Count, 1);
        o?.metrics.addMetric('RerunOpeningsCompleted', MetricUnit.Count, 1);
        return json(202, { incidentId, executionArn: run.executionArn, rerun: rerunNumber(run.executionArn), status, openingCompleted: true, ...(earlier ? { resumesVerification: true } : {}) });
      }
      incident = completed.incident;
    }

    if (incident.executionArn && (await deps.workflow.status(incident.executionArn)) === 'RUNNING') throw executionRunning(incidentId, incident.executionArn);
    const previous = incident.executionArn;
    // The opening records the ARN before it is marked published, so a published opening has one.
    if (!previous) throw new Conflict('no_execution_recorded', `incident ${incidentId} has no execution recorded although its opening is published; nothing to rerun from`);

    let expected = previous;
    let current = incident;
    let n = rerunNumber(previous);
    for (let attempt = 0; attempt < MAX_NAME_ATTEMPTS; attempt++) {
      n += 1;
      const name = `${incidentId}-rerun-${n}`;
      const reserved = siblingExecutionArn(previous, name);
      // The reservation: only a rerun that read the ARN still on META goes on (another rerun, at the same time, lost).
      const swap = await deps.store.replaceExecutionArn(incidentId, expected, reserved);
      if (!swap.replaced) {
        throw new Conflict('execution_running', `another rerun of incident ${incidentId} recorded its execution first; this rerun started nothing`, {
          ...(swap.incident.executionArn ? { executionArn: swap.incident.executionArn } : {}),
        });
      }
      let started: StartResult;
      try {
        if (isTerminal(current.status)) current = await deps.store.reopen(incidentId);
        started = await deps.workflow.start(name, executionInputFor(current, deps.config, earlier));
      } catch (error) {
        await giveBack(deps, incidentId, reserved, expected, o);
        throw error;
      }
      if (started.executionArn !== reserved && !(await deps.store.replaceExecutionArn(incidentId, reserved, started.executionArn)).replaced) {
        o?.logger.error('the started rerun could not be recorded: META names another execution now', { incidentId, reserved, started: started.executionArn });
      }
      if (started.alreadyExisted) {
        // A name taken by a finished execution (a rerun started elsewhere whose ARN was never stored): step over it.
        if ((await deps.workflow.status(started.executionArn)) !== 'RUNNING') {
          expected = started.executionArn;
          continue;
        }
        throw new Conflict('execution_running', `a rerun of incident ${incidentId} is already running`, { executionArn: started.executionArn });
      }
      await deps.store.appendEvent(incidentId, {
        type: 'rerun-started',
        ...requested,
        message: `Rerun #${n} started${by}${verifies(earlier)}`,
        data: { executionArn: started.executionArn, previousStatus: incident.status, ...(earlier ? { earlierMitigation: earlier } : {}) },
      });
      o?.metrics.addMetric('RerunsStarted', MetricUnit.Count, 1);
      return json(202, { incidentId, executionArn: started.executionArn, rerun: n, status: current.status, ...(earlier ? { resumesVerification: true } : {}) });
    }
    throw new Conflict('rerun_names_exhausted', `could not find a free execution name after ${MAX_NAME_ATTEMPTS} attempts`);
  });
};

/** 409: the incident's current execution is still running. */
const executionRunning = (incidentId: string, executionArn: string): Conflict =>
  new Conflict('execution_running', `incident ${incidentId} has a running execution; wait for it to finish`, { executionArn });

/** The opening completed the run itself (it started the workflow), or the incident as the rerun goes on from. */
type OpeningOutcome = { readonly run: Opened; readonly status: IncidentMeta['status'] } | { readonly incident: IncidentMeta };

/**
 * Completes an unpublished opening through the journal. While the incident's execution runs, an opening another holder
 * claims or a closed incident is left to the holder or the sweeper: 409 execution_running. Otherwise a live claim of
 * another holder is 503 (OpeningInProgress), and a terminal incident is reopened first.
 */
const completeOpening = async (deps: RerunDeps, opening: OpeningDeps, incident: IncidentMeta, earlier: EarlierMitigation | undefined, o?: Observability): Promise<OpeningOutcome> => {
  const { incidentId } = incident;
  const now = opening.clock();
  const running = incident.executionArn !== undefined && (await deps.workflow.status(incident.executionArn)) === 'RUNNING';
  const held = liveOpeningClaim(incident, now);
  if (running && (held || isTerminal(incident.status))) throw executionRunning(incidentId, incident.executionArn!);
  if (held) throw new OpeningInProgress(incidentId, held, now);
  const status = isTerminal(incident.status) ? (await deps.store.reopen(incidentId)).status : incident.status;
  const result = await openingTakeover(opening, incidentId, RERUN_CLAIMANT, o, earlier ? { earlierMitigation: earlier } : {});
  if (result.outcome === 'opened') {
    o?.logger.warn('opening completed by a rerun', { incidentId, executionArn: result.executionArn, started: result.started, published: result.published });
    if (result.started) return { run: result, status };
    const read = await deps.store.getIncident(incidentId);
    if (!read) throw new IncidentNotFound(incidentId);
    return { incident: read };
  }
  if (openingPublished(result.incident)) return { incident: result.incident };
  if (result.outcome === 'closed') throw new Conflict('incident_closed', `incident ${incidentId} was closed while this rerun was completing its opening; rerun it again`);
  throw new OpeningInProgress(incidentId, liveOpeningClaim(result.incident, opening.clock()), opening.clock());
};

/** Puts back the ARN a reservation replaced, if the reservation is still there; a failure here is only logged. */
const giveBack = async (deps: RerunDeps, incidentId: string, reserved: string, expected: string, o?: Observability): Promise<void> => {
  try {
    await deps.store.replaceExecutionArn(incidentId, reserved, expected);
  } catch (error) {
    o?.logger.error('giving back the reserved rerun execution failed; META names an execution that was not started', error as Error);
  }
};
