/**
 * The opening of an incident: make sure its workflow runs and `Incident Opened` goes out once. The alert webhook
 * (functions/ingest-alert) opens an incident on every OPEN delivery; the opening sweeper (functions/sweep-openings)
 * completes, on a schedule, every opening whose delivery died and that no later delivery came to complete; a rerun
 * (functions/rerun-incident) completes the opening of the incident it reruns before anything else, so a rerun that
 * closes the incident before the sweeper comes (it passes closed incidents) cannot leave it unpublished. All three run
 * exactly the steps below, journalled on META (`opening`, see `OpeningJournal` in store.ts), because the one
 * non-idempotent side effect, `Incident Opened`, pages someone. Whoever finds the opening not published takes it, by
 * one conditional write (`claimOpening`: the incident not closed, and no claim yet, or one whose lease has passed or
 * was released), and only the winner goes on:
 *   1. claim (lease `OPENING_LEASE_MS`, four times the webhook's 15 s timeout and no less than the sweeper's 60 s: a
 *      live claimant is never overtaken);
 *   2. StartExecution (name = incident id, input built only from META: idempotent; skipped when META has the ARN);
 *   3. record the ARN, conditional on still holding the claim (`recordOpeningStarted`; an ARN already there, a rerun's,
 *      is kept: the opening's execution exists all the same, so the claimant goes on), and the timeline entry;
 *   4. publish `Incident Opened`;
 *   5. mark it published (`markOpeningPublished`): nobody does anything more.
 * A failure the claimant sees in 2–4 releases the claim, so the next taker (a vendor retry, another alert of the
 * incident, the sweeper) goes on at once. A claimant that dies (timeout, crash) holds its claim until the lease ends;
 * then the next taker redoes the steps: the execution is started once (by name), and `Incident Opened` published once,
 * whatever step it died after, EXCEPT a death between 4 and 5, after which the taker publishes it a second time (at
 * least once, as any EventBridge event: consumers key on `incidentId`). A claimant that lost its claim to a taker (it
 * outlived its lease) stops at step 3, before publishing. Every guarantee rests on single-item conditional writes on
 * META, which DynamoDB serialises per item, so webhook deliveries and sweepers race safely in any number.
 */
import { byCodeUnit } from '../compare.ts';
import type { Config } from '../config.ts';
import type { EventPublisher } from '../deps.ts';
import type { Observability } from '../handler.ts';
import { ServiceUnavailable } from '../http.ts';
import { isTerminal, newClaimId, openingClaimable, openingPublished, RELEASED_CLAIM_UNTIL } from '../store/dynamo-store.ts';
import { type AlertIntakeStore, type IncidentMeta, IncidentNotFound, type OpeningClaim, type OpeningClaimResult, type OpeningJournal } from '../store/store.ts';
import { type EarlierMitigation, type WorkflowClient, executionInputFor } from '../workflow-client.ts';

/**
 * The lease of an opening claim: after this long its holder is presumed dead (the ingest function's timeout is 15 s,
 * the sweeper's 60 s) and the next taker takes the opening over. A claim released on a failure is taken over at once.
 */
export const OPENING_LEASE_MS = 60_000;
/** How long a delivery that did not win the opening claim waits for the winner to record the execution. */
export const OPENING_WAIT_MS = 3_000;
/** Its polls of META: the first after this many ms, then doubling up to `OPENING_POLL_MAX_MS`. */
const OPENING_POLL_MS = 25;
const OPENING_POLL_MAX_MS = 400;
/**
 * The longest Retry-After a delivery that lost the opening claim asks for: a claimant is usually alive and just slow,
 * so sooner is better; a retry that comes before a dead claimant's lease ends is simply told again.
 */
const MAX_RETRY_AFTER_SECONDS = 10;
/** Attempts at marking the opening published: the one gap where a failure would let a later taker publish again. */
const MARK_ATTEMPTS = 3;

/** The store calls of an opening. DynamoIncidentStore and MemoryIncidentStore implement them. */
export type OpeningStore = Pick<AlertIntakeStore, 'getIncident' | 'appendEvent' | 'claimOpening' | 'recordOpeningStarted' | 'markOpeningPublished' | 'releaseOpening'>;

export interface OpeningDeps {
  readonly store: OpeningStore;
  readonly workflow: Pick<WorkflowClient, 'start'>;
  readonly events: EventPublisher;
  /** The policy part of the execution input. */
  readonly config: Pick<Config, 'VERIFY_WAIT_SECONDS' | 'MAX_VERIFY_CHECKS'>;
  readonly clock: () => Date;
  /** How long a delivery that lost the opening claim waits for the execution to be recorded. @default OPENING_WAIT_MS */
  readonly openingWaitMs?: number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What the claimant did: the execution it made sure of, whether it started it now, whether it published. */
export interface Opened {
  readonly executionArn: string;
  /** This claimant's StartExecution created the execution (false: META had it, or it existed by name). */
  readonly started: boolean;
  /** This claimant published `Incident Opened` (false: it lost its claim to a taker before publishing). */
  readonly published: boolean;
}

const sleeper = (deps: OpeningDeps) => deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

/**
 * The webhook's opening: makes sure the incident's workflow runs and `Incident Opened` went out once. Returns the
 * execution ARN once the execution exists; throws ServiceUnavailable (503 + Retry-After) when it cannot tell that it
 * does. A delivery that does not win the claim waits up to `openingWaitMs` for the claimant to record the execution.
 * A published incident costs nothing more: the repeat path is the store's count alone.
 */
export const ensureOpened = async (deps: OpeningDeps, incident: IncidentMeta, claimedBy: string, o?: Observability): Promise<{ executionArn?: string }> => {
  // Done, or closed (a closed incident starts and publishes nothing: it is humans' now, or over).
  if (openingPublished(incident) || isTerminal(incident.status)) return incident.executionArn ? { executionArn: incident.executionArn } : {};
  const { store } = deps;
  const claimId = newClaimId();
  const waitUntil = performance.now() + (deps.openingWaitMs ?? OPENING_WAIT_MS);
  const sleep = sleeper(deps);
  let current = incident;
  for (let poll = 0; ; poll++) {
    if (openingClaimable(current, deps.clock())) {
      const claim = await claimOrRelease(deps, current.incidentId, { claimId, claimedBy, at: deps.clock(), leaseMs: OPENING_LEASE_MS }, o);
      if (claim.claimed) return openAsClaimant(deps, claim.incident, claimId, o);
      current = claim.incident;
    }
    // The execution exists (its publish is the claimant's), or the incident closed meanwhile.
    if (current.executionArn) return { executionArn: current.executionArn };
    if (isTerminal(current.status)) return {};
    if (performance.now() >= waitUntil) {
      const until = current.opening?.claimedUntil;
      const left = until ? Math.ceil((Date.parse(until) - deps.clock().getTime()) / 1000) : 1;
      throw new ServiceUnavailable(
        `incident ${current.incidentId} is being opened by another delivery, which has not recorded its workflow yet${until ? ` (its claim lasts until ${until})` : ''}; retry the delivery`,
        Math.min(Math.max(left, 1), MAX_RETRY_AFTER_SECONDS),
      );
    }
    await sleep(Math.min(OPENING_POLL_MS * 2 ** poll, OPENING_POLL_MAX_MS));
    const read = await store.getIncident(current.incidentId);
    if (!read) throw new IncidentNotFound(current.incidentId);
    current = read;
  }
};

/** Why an opening is left to whoever holds it, or to nobody, or may be taken over now (see `openingTakeover`). */
export type OpeningState =
  | 'published' // nothing left to do
  | 'closed' // RESOLVED, ESCALATED or FAILED: a closed incident starts and publishes nothing
  | 'held' // a claim whose lease has not passed: its holder may be alive
  | 'young' // no claim yet, and the incident is younger than the lease: its opening delivery may be alive
  | 'unclaimed' // no claim, and older than the lease: the delivery died between recording the alert and claiming
  | 'released' // its claimant saw a failure and gave the claim up
  | 'expired'; // its claimant died holding it, and the lease has passed

/**
 * The claim holding an unpublished opening at `at` — its lease not passed, not released — whatever the incident's status;
 * undefined when the opening is published or free to take. A taker that must not wait (the rerun) answers with it.
 */
export const liveOpeningClaim = (meta: IncidentMeta, at: Date): OpeningJournal | undefined =>
  !openingPublished(meta) && meta.opening !== undefined && byCodeUnit(meta.opening.claimedUntil, at.toISOString()) >= 0 ? meta.opening : undefined;

/** The states in which a taker that did not record the incident's alert (the sweeper) takes the opening over. */
export const TAKEOVER_STATES: ReadonlySet<OpeningState> = new Set(['unclaimed', 'released', 'expired']);

/**
 * Where an incident's opening stands at `at`, for a taker that did not bring its alert: a claim left behind by a dead
 * or failed claimant is taken at once (released) or once its lease has passed (expired); an incident nobody claimed
 * is taken once it is older than the lease, so that its own opening delivery, if alive, claims it first.
 */
export const openingState = (meta: IncidentMeta, at: Date, leaseMs: number = OPENING_LEASE_MS): OpeningState => {
  if (openingPublished(meta)) return 'published';
  if (isTerminal(meta.status)) return 'closed';
  if (meta.opening) {
    if (meta.opening.claimedUntil === RELEASED_CLAIM_UNTIL) return 'released';
    return openingClaimable(meta, at) ? 'expired' : 'held';
  }
  return Date.parse(meta.createdAt) + leaseMs <= at.getTime() ? 'unclaimed' : 'young';
};

export type TakeoverResult =
  | ({ readonly outcome: 'opened' } & Opened)
  /** The conditional claim did not win: another taker holds or finished the opening. */
  | { readonly outcome: 'lost'; readonly incident: IncidentMeta }
  /** The claim was refused because the incident is closed (the status index lagged): nothing started or published. */
  | { readonly outcome: 'closed'; readonly incident: IncidentMeta };

/** What a taker that is not an alert delivery adds to its opening. */
export interface TakeoverOptions {
  /**
   * The rerun's: what the action journal says already ran. When the takeover has to start the incident's workflow, the
   * input carries it, so that run verifies that mitigation instead of diagnosing into a second action.
   */
  readonly earlierMitigation?: EarlierMitigation;
}

/**
 * The opening of a taker that does not wait (the sweeper, the rerun): one conditional claim, and if it wins, steps 2–5.
 * The caller decides that the opening is worth taking (`openingState` in `TAKEOVER_STATES` for the sweeper); the
 * claim's condition decides whether it may. Throws what a step throws (ServiceUnavailable, StoreUnavailable…) after
 * releasing the claim, like the webhook.
 */
export const openingTakeover = async (deps: OpeningDeps, incidentId: string, claimedBy: string, o?: Observability, options: TakeoverOptions = {}): Promise<TakeoverResult> => {
  const claimId = newClaimId();
  const claim = await claimOrRelease(deps, incidentId, { claimId, claimedBy, at: deps.clock(), leaseMs: OPENING_LEASE_MS }, o);
  // The claim's condition refuses a closed incident, so a claim won is on an open one.
  if (!claim.claimed) return { outcome: isTerminal(claim.incident.status) ? 'closed' : 'lost', incident: claim.incident };
  return { outcome: 'opened', ...(await openAsClaimant(deps, claim.incident, claimId, o, options.earlierMitigation)) };
};

/**
 * Step 1. A claim that failed ambiguously (a timeout: it may have landed) is released, so that the retry can take
 * the opening at once instead of waiting out a lease nobody holds.
 */
const claimOrRelease = async (deps: OpeningDeps, incidentId: string, claim: OpeningClaim, o?: Observability): Promise<OpeningClaimResult> => {
  try {
    return await deps.store.claimOpening(incidentId, claim);
  } catch (error) {
    await releaseQuietly(deps, incidentId, claim.claimId, o);
    throw error;
  }
};

/** Gives up a claim this taker may hold; a failure here only means the claim lapses at the end of its lease. */
const releaseQuietly = async (deps: OpeningDeps, incidentId: string, claimId: string, o?: Observability): Promise<void> => {
  try {
    await deps.store.releaseOpening(incidentId, claimId);
  } catch (error) {
    o?.logger.error('releasing the opening claim failed', error as Error);
  }
};

/**
 * Steps 2–5 of the journal, by the taker holding the opening claim. A failure before the publish releases the
 * claim (the next taker goes on at once); a claim lost to a taker stops before publishing.
 */
const openAsClaimant = async (deps: OpeningDeps, incident: IncidentMeta, claimId: string, o?: Observability, earlierMitigation?: EarlierMitigation): Promise<Opened> => {
  const { store } = deps;
  const incidentId = incident.incidentId;
  let executionArn: string;
  let alreadyExisted = true;
  try {
    if (incident.executionArn) executionArn = incident.executionArn;
    else ({ executionArn, alreadyExisted } = await startWorkflow(deps, incident, o, earlierMitigation));
    if (!(await store.recordOpeningStarted(incidentId, claimId, executionArn))) {
      o?.logger.warn('opening claim taken over by another delivery; not publishing', { incidentId });
      return { executionArn, started: !alreadyExisted, published: false };
    }
    await store.appendEvent(incidentId, {
      type: 'workflow-started',
      message: alreadyExisted ? 'Workflow was already started (a retried or taken-over delivery)' : 'Workflow started',
      data: { executionArn },
    });
    await publishOpened(deps, incident, executionArn, o);
  } catch (error) {
    await releaseQuietly(deps, incidentId, claimId, o);
    throw error;
  }
  await markPublished(deps, incidentId, claimId, o);
  return { executionArn, started: !alreadyExisted, published: true };
};

const publishOpened = async (deps: OpeningDeps, incident: IncidentMeta, executionArn: string, o?: Observability): Promise<void> => {
  try {
    await deps.events.publish('Incident Opened', openedDetail(incident, executionArn));
  } catch (error) {
    o?.logger.error('publishing Incident Opened failed', error as Error);
    throw new ServiceUnavailable(`the alert is recorded and the workflow of incident ${incident.incidentId} started, but Incident Opened could not be published (${(error as Error).name}); retry the delivery`);
  }
};

/**
 * Step 5. `Incident Opened` is out, so this never fails the caller: the execution exists, and a retry could only
 * publish again. It tries a few times; if the mark never lands, a taker after the lease publishes a second time (logged).
 */
const markPublished = async (deps: OpeningDeps, incidentId: string, claimId: string, o?: Observability): Promise<void> => {
  const sleep = sleeper(deps);
  for (let attempt = 1; ; attempt++) {
    try {
      await deps.store.markOpeningPublished(incidentId, claimId);
      return;
    } catch (error) {
      if (attempt >= MARK_ATTEMPTS) {
        o?.logger.error('Incident Opened was published but could not be journalled; a later delivery may publish it again', error as Error);
        return;
      }
      await sleep(OPENING_POLL_MS * 2 ** attempt);
    }
  }
};

/**
 * StartExecution for a recorded incident. A failure (throttled, timed out, unreachable) is a 503 that says the alert
 * is recorded and a retry completes the delivery (the retry starts the workflow).
 */
const startWorkflow = async (deps: OpeningDeps, incident: IncidentMeta, o?: Observability, earlierMitigation?: EarlierMitigation) => {
  try {
    return await deps.workflow.start(incident.incidentId, executionInputFor(incident, deps.config, earlierMitigation));
  } catch (error) {
    o?.logger.error('starting the workflow failed', error as Error);
    throw new ServiceUnavailable(`the alert is recorded, but the workflow of incident ${incident.incidentId} could not be started (${(error as Error).name}); retry the delivery`);
  }
};

/** The `Incident Opened` detail (events/schemas/incident-opened.json). */
export const openedDetail = (incident: IncidentMeta, executionArn: string): Record<string, unknown> => ({
  incidentId: incident.incidentId,
  status: 'OPEN',
  severity: incident.severity,
  service: incident.service,
  title: incident.title,
  source: incident.source,
  dedupKey: incident.dedupKey,
  ...(incident.environment ? { environment: incident.environment } : {}),
  startedAt: incident.startedAt,
  createdAt: incident.createdAt,
  executionArn,
});
