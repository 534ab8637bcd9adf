/**
 * The opening sweeper: completes every incident opening that no delivery will come back to complete. The webhook
 * opens an incident through a journal on META (functions/core/intake/opening.ts): a delivery that dies keeps its
 * claim until the lease ends, and the next delivery of any alert of the incident takes over. When no delivery ever
 * comes again (a vendor that does not retry; the last alert of an incident, whose Lambda died after recording it), the
 * incident would stay without an execution, or without its `Incident Opened`, for good. This function, run on a
 * schedule (EventBridge Scheduler on AWS, a timer on the twin), closes that gap:
 *
 *   1. it lists the incidents of every non-terminal status (OPEN first) through the status index, page after page
 *      (`SWEEP_PAGE_SIZE`) to the end, however many there are;
 *   2. for each whose opening is not published and may be taken over (`openingState`: its claim released, or its lease
 *      passed; or never claimed and the incident older than the lease, so its own delivery, if alive, claims first),
 *   3. it runs the same opening as the webhook (`openingTakeover`: conditional claim → StartExecution by incident id →
 *      record the ARN while holding the claim → publish `Incident Opened` → mark published).
 * Non-terminal statuses, not only OPEN: a claimant that died after StartExecution leaves an incident whose workflow
 * moves it to INVESTIGATING within seconds, still without its `Incident Opened`.
 *
 * Everything it writes is conditional on that journal, so it races safely with live deliveries and with another
 * sweeper (two runs overlapping, a retried invocation): one claim wins, one execution is started (by name), one
 * `Incident Opened` is published. It adds no write of its own to the store. The status index is eventually
 * consistent; what it lists only chooses candidates, the conditional claim decides.
 *
 * Bounded per run: at most `MAX_TAKEOVERS_PER_RUN` takeovers attempted and `SWEEP_BUDGET_MS` of work (no takeover
 * starts after it; the function's 60 s timeout leaves the last one time to finish, and never outlives the lease of
 * the claim it took). What a run does not reach waits for the next one: a completed opening is published, so the next
 * run passes it and reaches further. Failures are logged, counted and left released for the next run or delivery.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Observability } from '../core/handler.ts';
import { type OpeningDeps, type OpeningState, type OpeningStore, TAKEOVER_STATES, openingState, openingTakeover, OPENING_LEASE_MS } from '../core/intake/opening.ts';
import { NON_TERMINAL_STATUSES } from '../core/model.ts';
import type { IncidentStore } from '../core/store/store.ts';

/** Takeovers attempted per run at most; the rest wait for the next run. */
export const MAX_TAKEOVERS_PER_RUN = 25;
/** Work per run: no takeover starts after this (the function's timeout is 60 s, the claim's lease 60 s). */
export const SWEEP_BUDGET_MS = 40_000;
/** Incidents per page of the status index (the list API's maximum). */
export const SWEEP_PAGE_SIZE = 100;
/** Who the journal says claimed an opening the sweeper took over. */
export const SWEEPER_CLAIMANT = 'sweep-openings';

export interface SweepDeps extends OpeningDeps {
  readonly store: OpeningStore & Pick<IncidentStore, 'listIncidents'>;
  /** @default MAX_TAKEOVERS_PER_RUN */
  readonly maxTakeovers?: number;
  /** @default SWEEP_BUDGET_MS */
  readonly budgetMs?: number;
  /** @default SWEEP_PAGE_SIZE */
  readonly pageSize?: number;
}

/** One opening the run took over and completed (fully or as far as its claim lasted). */
export interface TakenOver {
  readonly incidentId: string;
  /** Why it was free: its claimant released it, died holding it (lease passed), or never claimed it. */
  readonly was: OpeningState;
  readonly executionArn: string;
  /** This run's StartExecution created the execution (false: it existed already). */
  readonly started: boolean;
  readonly published: boolean;
}

export interface SweepReport {
  /** Incidents listed (non-terminal, across the swept statuses). */
  readonly examined: number;
  readonly takenOver: readonly TakenOver[];
  /** Candidates whose claim another taker won first (a live delivery, another sweeper), or that turned out closed. */
  readonly skipped: readonly string[];
  readonly failed: readonly { readonly incidentId: string; readonly error: string; readonly message: string }[];
  /** Every status was listed to the end and every candidate tried: nothing waits for the next run. */
  readonly complete: boolean;
  /** Why the run stopped early, when it did. */
  readonly stoppedBy?: 'takeover-cap' | 'time-budget';
}

export class SweepSettingInvalid extends Error {
  override name = 'SweepSettingInvalid';
}

const positiveInt = (field: string, value: number): number => {
  if (!Number.isInteger(value) || value < 1) throw new SweepSettingInvalid(`${field} must be a positive integer, got ${value}`);
  return value;
};

export const sweepOpenings = (deps: SweepDeps) => {
  const maxTakeovers = positiveInt('maxTakeovers', deps.maxTakeovers ?? MAX_TAKEOVERS_PER_RUN);
  const budgetMs = positiveInt('budgetMs', deps.budgetMs ?? SWEEP_BUDGET_MS);
  const pageSize = positiveInt('pageSize', deps.pageSize ?? SWEEP_PAGE_SIZE);

  return async (_event?: unknown, o?: Observability): Promise<SweepReport> => {
    const startedAt = deps.clock().getTime();
    const overBudget = () => deps.clock().getTime() - startedAt >= budgetMs;
    let examined = 0;
    let attempts = 0;
    const takenOver: TakenOver[] = [];
    const skipped: string[] = [];
    const failed: { incidentId: string; error: string; message: string }[] = [];
    let stoppedBy: SweepReport['stoppedBy'];
    // An incident whose status changes between two statuses' queries can be listed twice: try it once.
    const seen = new Set<string>();

    // OPEN first: an opening that never started its workflow leaves the incident OPEN.
    sweep: for (const status of NON_TERMINAL_STATUSES) {
      let cursor: string | undefined;
      do {
        if (overBudget()) {
          stoppedBy = 'time-budget';
          break sweep;
        }
        const page = await deps.store.listIncidents({ status, limit: pageSize, ...(cursor ? { cursor } : {}) });
        for (const incident of page.items) {
          if (seen.has(incident.incidentId)) continue;
          seen.add(incident.incidentId);
          examined += 1;
          const was = openingState(incident, deps.clock(), OPENING_LEASE_MS);
          if (!TAKEOVER_STATES.has(was)) continue;
          if (attempts >= maxTakeovers) {
            stoppedBy = 'takeover-cap';
            break sweep;
          }
          if (overBudget()) {
            stoppedBy = 'time-budget';
            break sweep;
          }
          attempts += 1;
          const incidentId = incident.incidentId;
          try {
            const result = await openingTakeover(deps, incidentId, SWEEPER_CLAIMANT, o);
            if (result.outcome !== 'opened') {
              skipped.push(incidentId);
              o?.logger.info('opening not taken over', { incidentId, was, outcome: result.outcome });
              continue;
            }
            const { executionArn, started, published } = result;
            takenOver.push({ incidentId, was, executionArn, started, published });
            o?.logger.warn('opening taken over by the sweeper', { incidentId, was, executionArn, started, published });
          } catch (error) {
            const e = error instanceof Error ? error : new Error(String(error));
            failed.push({ incidentId, error: e.name, message: e.message });
            o?.logger.error('taking over the opening failed; the next run tries again', { incidentId, was, error: e });
          }
        }
        cursor = page.cursor;
      } while (cursor);
    }

    const report: SweepReport = { examined, takenOver, skipped, failed, complete: stoppedBy === undefined, ...(stoppedBy ? { stoppedBy } : {}) };
    o?.metrics.addMetric('IncidentsSwept', MetricUnit.Count, examined);
    o?.metrics.addMetric('OpeningsTakenOver', MetricUnit.Count, takenOver.length);
    o?.metrics.addMetric('SweepWorkflowsStarted', MetricUnit.Count, takenOver.filter((t) => t.started).length);
    o?.metrics.addMetric('SweepOpeningsPublished', MetricUnit.Count, takenOver.filter((t) => t.published).length);
    o?.metrics.addMetric('SweepTakeoversFailed', MetricUnit.Count, failed.length);
    o?.metrics.addMetric('SweepIncomplete', MetricUnit.Count, report.complete ? 0 : 1);
    if (!report.complete) o?.logger.warn('the sweep stopped early; the rest waits for the next run', { stoppedBy, examined, attempts });
    return report;
  };
};
