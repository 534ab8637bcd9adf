/**
 * The incident store port. One DynamoDB table holds everything (see ARCHITECTURE.md §Storage):
 *   INCIDENT#<id> / META              status, severity, title, service, timestamps, execution ARN, approval
 *   INCIDENT#<id> / ALERT#<ts>#<n>    every raw alert folded into the incident
 *   INCIDENT#<id> / AGENT#<name>      an agent's output, evidence, latency, reasoner, tool calls
 *   INCIDENT#<id> / EVENT#<ts>#<seq>  the timeline
 *   DEDUP#<source>:<key> / DEDUP      an alert identity → its incident, with its claim id, OPEN/RESOLVED state (versioned) and a TTL
 *   CORR#<env>#<service> / CORR       the open incident that alerts for this service join, until `expiresAt` (correlation)
 *   GRADE#<id> / GRADE                how the root-cause agent's top hypothesis compared with what people resolved the
 *                                     incident with (one item per graded incident; `byStatus` partition `GRADES`)
 * `DynamoIncidentStore` implements it; `MemoryIncidentStore` is the fake for unit tests. Both also implement
 * `AlertIntakeStore`, the wider port of the alert webhook (correlation, resolution, withdrawal).
 */
import { Retryable } from '../errors.ts';
import type { AgentName, AgentRecord, FaultCategory, IncidentStatus, NormalizedAlert, Severity } from '../model.ts';

export type ApprovalDecision = 'approve' | 'reject';

export interface ApprovalState {
  readonly status: 'PENDING' | 'APPROVED' | 'REJECTED' | 'EXPIRED' | 'WITHDRAWN' | 'AUTO_APPROVED';
  readonly requestedAt?: string;
  /** When the approval times out (the state machine's TimeoutSeconds from the request). */
  readonly expiresAt?: string;
  readonly decidedAt?: string;
  readonly approver?: string;
  readonly comment?: string;
  /** Where the request was sent ("retool", "api"). */
  readonly channel?: string;
  /** This approval request's id: signed links and Retool decisions are bound to it (a rerun asks anew, with a new id). */
  readonly requestId?: string;
}

export interface IncidentMeta {
  readonly incidentId: string;
  readonly status: IncidentStatus;
  readonly severity: Severity;
  readonly title: string;
  readonly service: string;
  readonly environment?: string;
  readonly source: NormalizedAlert['source'];
  readonly dedupKey: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly startedAt: string;
  /** Every delivery folded in (duplicates and resolved notifications included). */
  readonly alertCount: number;
  /**
   * Distinct alert identities (dedup keys) in the incident, each counted once however its deliveries failed and were
   * retried (derived from idempotent tag sets, never stored: see `countIdentities` in dynamo-store.ts). Every store
   * read sets it; optional only because hand-built incidents in tests omit it.
   */
  readonly distinctAlerts?: number;
  /** How many of those identities are resolved now (every time each was opened, it was resolved since). */
  readonly resolvedAlerts?: number;
  readonly executionArn?: string;
  readonly approval?: ApprovalState;
  readonly outcome?: string;
  readonly reportLocation?: string;
  readonly failure?: { readonly error: string; readonly cause: string };
  readonly resolvedAt?: string;
  /** The journal of the opening side effects (see `OpeningJournal`); absent until a delivery claims the opening. */
  readonly opening?: OpeningJournal;
  /** What people said the cause and the fix really were (functions/resolve-incident); absent until someone resolves it. */
  readonly resolution?: IncidentResolution;
}

/** The cause people name when they resolve an incident (the body of POST /incidents/{id}/resolution). */
export interface ResolutionCause {
  readonly service: string;
  /** One of the root-cause agent's categories (`FaultCategory`). */
  readonly category: FaultCategory;
  /** The change that caused it, when one did. */
  readonly change?: string;
  readonly summary: string;
}

/**
 * How the root-cause agent's top hypothesis compares with what people wrote (functions/core/grading.ts). `graded`
 * false: there was no diagnosis to compare (the root-cause agent never ran); such a resolution counts in no accuracy.
 */
export interface ResolutionGrade {
  readonly graded: boolean;
  readonly matched: boolean;
  /** The agent abstained (graded, not matched). */
  readonly abstained?: boolean;
  /** The top hypothesis as the agent stated it. */
  readonly top?: { readonly service: string; readonly category: string; readonly changeId?: string; readonly confidence: number; readonly summary: string };
  /** One line saying why it matched or not. */
  readonly why: string;
}

/**
 * A resolution recorded on META (exactly once: a conditional write). `recordedAt` and `publishedAt` are its journal:
 * set once the resolution is in the incident history (the similar-incident agent's memory) and once its event went
 * out, so a retry of a half-done resolution completes what is missing and repeats nothing done.
 */
export interface IncidentResolution {
  readonly cause: ResolutionCause;
  readonly fix: string;
  readonly by: string;
  readonly at: string;
  readonly comment?: string;
  /** The status the incident had when people resolved it (ESCALATED, FAILED, or RESOLVED by the autopilot). */
  readonly statusBefore: IncidentStatus;
  readonly grade: ResolutionGrade;
  readonly recordedAt?: string;
  readonly publishedAt?: string;
}

/** The journal steps of a resolution (`IncidentResolution`). */
export type ResolutionStep = 'recordedAt' | 'publishedAt';

/** Counts by status and the production accuracy (GET /summary). */
export interface IncidentSummary {
  readonly counts: Readonly<Record<IncidentStatus, number>>;
  readonly total: number;
  readonly accuracy: ProductionAccuracy;
}

/** How often the top hypothesis matched what people resolved incidents with; `rate` is null while nothing is graded. */
export interface ProductionAccuracy {
  readonly graded: number;
  readonly matched: number;
  readonly rate: number | null;
}

/** What a grade item holds (GRADE#<id>): enough to audit the count without reading the incident. */
export interface GradeRecord {
  readonly incidentId: string;
  readonly matched: boolean;
  /** When people resolved the incident (the resolution's `at`). */
  readonly at: string;
  readonly by: string;
}

/**
 * What resolve-incident needs beyond `IncidentStore` (DynamoIncidentStore and MemoryIncidentStore implement it). Every
 * write is idempotent or conditional, so a retried or concurrent request never records twice.
 */
export interface ResolutionStore extends Pick<IncidentStore, 'getIncidentWith'> {
  /**
   * One conditional write on META: the resolution, and the status RESOLVED (resolvedAt kept if set), only if the
   * incident is terminal (RESOLVED, ESCALATED, FAILED) and has no resolution yet. `recorded: false` (nothing written)
   * comes with META as it is now: another resolution won, or the incident is not terminal. Throws IncidentNotFound.
   */
  recordResolution(incidentId: string, resolution: IncidentResolution): Promise<{ readonly recorded: boolean; readonly incident: IncidentMeta }>;
  /** Sets a journal step of the recorded resolution (kept if already set); a no-op without a resolution. */
  markResolutionStep(incidentId: string, step: ResolutionStep, at: string): Promise<void>;
  /** Writes the incident's grade item (GRADE#<id>): a put of the same content whatever the number of retries. */
  putGrade(grade: GradeRecord): Promise<void>;
  /** Appends a timeline event keyed by `key` once: a second call with the same key writes nothing. */
  appendEventOnce(incidentId: string, key: string, event: TimelineEvent): Promise<void>;
}

/** What GET /summary reads. */
export interface SummaryStore {
  /** Counts by status (every IncidentStatus, 0 included) and the production accuracy, each read to its last page. */
  summarize(): Promise<IncidentSummary>;
}

/**
 * The journal of an incident's opening side effects, on META: which delivery may start its workflow and publish
 * `Incident Opened` (the one whose conditional claim won), and how far it got. Claim → StartExecution →
 * `startedAt` (with the execution ARN) → publish → `publishedAt`. A claim whose lease (`claimedUntil`) has passed
 * without `publishedAt` is taken over by the next delivery, which redoes the steps (each idempotent but the publish).
 */
export interface OpeningJournal {
  /** The claiming delivery's random id. */
  readonly claimId: string;
  /** The alert identity of the claiming delivery (`<source>:<dedupKey>`), for the record. */
  readonly claimedBy: string;
  /** ISO time after which the claim may be taken over (the claimant must be dead by then); the epoch when released. */
  readonly claimedUntil: string;
  /** When the claimant recorded the execution it started (the ARN is META's `executionArn`). */
  readonly startedAt?: string;
  /** When `Incident Opened` was published: nothing is left to do. */
  readonly publishedAt?: string;
}

/** What a delivery asks of `claimOpening`. */
export interface OpeningClaim {
  readonly claimId: string;
  readonly claimedBy: string;
  /** Now, by the caller's clock: a claim whose `claimedUntil` is before this has expired. */
  readonly at: Date;
  /** The lease: `claimedUntil` = at + leaseMs. */
  readonly leaseMs: number;
}

/** `claimed`: this call holds the opening now. Otherwise the incident as it is (someone else's claim, or done). */
export interface OpeningClaimResult {
  readonly claimed: boolean;
  readonly incident: IncidentMeta;
}

export interface StoredAlert {
  readonly receivedAt: string;
  readonly alert: NormalizedAlert;
  readonly raw: unknown;
  /** Another delivery of an identity the incident already had (a retry, a repeat, its resolved notification). */
  readonly deduplicated: boolean;
  /** A new identity that joined the incident because it is for the same service within the correlation window. */
  readonly correlated?: boolean;
}

export interface TimelineEvent {
  readonly at: string;
  readonly type: string;
  readonly message: string;
  readonly actor?: string;
  readonly data?: Record<string, unknown>;
}

export interface IncidentDetail {
  readonly incident: IncidentMeta;
  readonly alerts: readonly StoredAlert[];
  readonly agents: Partial<Record<AgentName, AgentRecord>>;
  readonly timeline: readonly TimelineEvent[];
}

export interface ListQuery {
  readonly status?: IncidentStatus;
  readonly severity?: Severity;
  readonly service?: string;
  readonly limit?: number;
  /** Opaque cursor from a previous page. */
  readonly cursor?: string;
}

export interface OpenResult {
  readonly incident: IncidentMeta;
  /** False when the alert folded into an existing open incident (duplicate delivery). */
  readonly created: boolean;
}

export interface IncidentWith {
  readonly incident: IncidentMeta;
  readonly records: Partial<Record<AgentName, AgentRecord>>;
}

/** What the agents and the API read and write. Opening incidents from alerts is `AlertIntakeStore`'s. */
export interface IncidentStore {
  getIncident(incidentId: string): Promise<IncidentMeta | undefined>;
  /**
   * The incident and the named agents' records, read together (one BatchGetItem): what an agent needs before
   * it starts. Undefined if the incident does not exist; an agent that has not run is absent from `records`.
   */
  getIncidentWith(incidentId: string, agents: readonly AgentName[]): Promise<IncidentWith | undefined>;
  /** The incident an alert identity points at (DEDUP item), if any. */
  findByDedupKey(source: NormalizedAlert['source'], dedupKey: string): Promise<IncidentMeta | undefined>;
  /** Puts a terminal incident back to INVESTIGATING for a rerun, clearing outcome, failure, report and approval. */
  reopen(incidentId: string): Promise<IncidentMeta>;
  getDetail(incidentId: string): Promise<IncidentDetail | undefined>;
  listIncidents(query: ListQuery): Promise<{ items: IncidentMeta[]; cursor?: string }>;
  setExecutionArn(incidentId: string, executionArn: string): Promise<void>;
  /** Updates status (and optional fields). Terminal statuses are never overwritten by non-terminal ones. */
  updateIncident(incidentId: string, patch: Partial<Pick<IncidentMeta, 'status' | 'severity' | 'outcome' | 'reportLocation' | 'failure' | 'resolvedAt' | 'approval'>>): Promise<IncidentMeta>;
  putAgentRecord(incidentId: string, record: AgentRecord): Promise<void>;
  getAgentRecord(incidentId: string, agent: AgentName): Promise<AgentRecord | undefined>;
  appendEvent(incidentId: string, event: Omit<TimelineEvent, 'at'> & { at?: string }): Promise<void>;
  /**
   * Stores the task token server-side (never returned by reads), marks approval PENDING and the incident
   * AWAITING_APPROVAL (unless it is already closed). Returns the incident as that write left it.
   */
  requestApproval(incidentId: string, taskToken: string, approval: ApprovalState): Promise<IncidentMeta>;
  /**
   * Records a decision if and only if the approval is still PENDING — and, given `requestId`, is that request (one
   * conditional write: no read before it can go stale); returns the token to answer Step Functions with. Throws
   * `ApprovalAlreadyDecided` or `ApprovalRequestMismatch` (each carrying the current state) otherwise.
   */
  decideApproval(incidentId: string, decision: ApprovalDecision, approver: string, comment?: string, requestId?: string): Promise<{ taskToken: string; approval: ApprovalState }>;
  /**
   * PENDING → WITHDRAWN, only if the approval is still PENDING and every alert of the incident is resolved at
   * that instant (one conditional update, the same guard `decideApproval` uses, so a human decision and a
   * withdrawal cannot both win). Returns the task token to fail with `AlertsResolved`.
   */
  withdrawApproval(incidentId: string, reason: string): Promise<WithdrawResult>;
  /** Puts a decided approval back to PENDING (the callback to Step Functions failed transiently). */
  undoDecision(incidentId: string): Promise<void>;
}

/** How an alert landed: it opened an incident, repeated a known identity, or joined an open incident for its service. */
export type AlertDisposition = 'opened' | 'deduplicated' | 'correlated';

export interface RecordOptions {
  /**
   * A new alert for the same environment and service as an open incident's latest alert, at most this many
   * seconds later, joins that incident (a sliding window). 0 or absent: no correlation, every identity opens its own.
   */
  readonly correlationWindowSeconds?: number;
  /**
   * A correlated alert joins an open incident only while it holds fewer identity tags than this (see
   * `MAX_CORRELATED_TAGS` in dynamo-store.ts). @default MAX_CORRELATED_TAGS
   */
  readonly maxCorrelatedTags?: number;
}

export interface RecordResult extends OpenResult {
  readonly disposition: AlertDisposition;
}

export interface ResolveResult {
  readonly incident: IncidentMeta;
  /** This notification resolved the identity (false: it was resolved already, a repeated delivery). */
  readonly newlyResolved: boolean;
  /** Every distinct alert of the incident is resolved now. */
  readonly allResolved: boolean;
}

export type WithdrawResult =
  | { readonly withdrawn: true; readonly taskToken: string; readonly approval: ApprovalState }
  | { readonly withdrawn: false; readonly reason: 'not-pending' | 'alerts-open'; readonly approval?: ApprovalState };

/**
 * What the alert webhook needs beyond `IncidentStore`. Every method uses single-item conditional writes only, so
 * concurrent deliveries are safe without transactions.
 */
export interface AlertIntakeStore extends IncidentStore {
  /**
   * Deduplicates on the vendor's identity and records the alert; safe to call again with the same alert (retries).
   * Order: a known identity (DEDUP pointer) folds into its incident; otherwise (with a correlation window) the
   * service's correlation pointer is joined (or claimed for a new id), then the identity is claimed for that
   * incident (a concurrent delivery of the same identity that claimed it first wins), META is created if absent
   * (`created` = this call created it), and the alert is counted and stored. An OPEN delivery of a RESOLVED
   * identity reopens it in its incident — unless that incident is RESOLVED: then the identity is re-pointed
   * (conditionally, one of concurrent re-fires wins) and goes the new-identity way, correlated or in a new incident
   * (`refiresAnew` in dynamo-store.ts). A repeated OPEN delivery of an identity that never resolved folds into its
   * incident whatever its status. A new identity whose correlated incident was RESOLVED before its count landed is
   * re-routed the same way (`landedInClosed`). Without `correlationWindowSeconds` every new identity opens its own
   * incident. A retry after any failure, even one whose writes partly landed, counts the identity exactly once.
   */
  recordAlert(alert: NormalizedAlert, raw: unknown, newIncidentId: () => string, options?: RecordOptions): Promise<RecordResult>;
  /**
   * Records a RESOLVED notification for a known identity and marks the identity resolved (once: repeats and retries
   * do not count twice, and a retry after a failure counts it). Undefined when the identity is unknown or its pointer
   * expired (nothing is written). Throws `IncidentNotReady` when the identity's incident has no META yet: the identity
   * stays resolved, and the retry counts it on META once its opening delivery has created it.
   */
  resolveAlert(alert: NormalizedAlert, raw: unknown): Promise<ResolveResult | undefined>;
  /** WITHDRAWN → PENDING (answering Step Functions failed transiently); a no-op from any other state. */
  undoWithdrawal(incidentId: string): Promise<void>;
  /**
   * One conditional write: takes the incident's opening (see `OpeningJournal`) if the incident is not closed
   * (RESOLVED, ESCALATED, FAILED: a closed incident starts and publishes nothing, whatever its caller read before) and
   * the opening is not published and unclaimed, or its claim expired (`claimedUntil` < `at`) or was released. An
   * incident whose META has an execution ARN and no journal (opened before the journal existed, when the publish came
   * before the ARN) counts as published. Throws IncidentNotFound when there is no META.
   */
  claimOpening(incidentId: string, claim: OpeningClaim): Promise<OpeningClaimResult>;
  /**
   * Records the started execution (META's `executionArn` and `opening.startedAt`) only while `claimId` holds the
   * opening; false (nothing written) when another delivery has taken it over, which then publishes instead. An
   * execution ARN already on META is never replaced: it can only be the same one (started by name) or a rerun's that
   * a human started while this claimant was starting the original (a sweeper or a late delivery taking over the
   * unpublished opening of an incident just rerun), and the incident must keep pointing at the run going on. The start
   * is journalled (true) all the same: the opening's execution exists, so its claimant goes on to publish.
   */
  recordOpeningStarted(incidentId: string, claimId: string, executionArn: string): Promise<boolean>;
  /** Records `Incident Opened` published (`opening.publishedAt`): the journal's last entry. */
  markOpeningPublished(incidentId: string, claimId: string): Promise<void>;
  /** Gives up a claim still held by `claimId` and not published (its holder failed), so the next delivery takes it over at once. */
  releaseOpening(incidentId: string, claimId: string): Promise<void>;
  /**
   * Compare-and-set of META's execution ARN, one conditional write: records `executionArn` only if META's ARN is still
   * `expected` (undefined: META has none). A rerun reserves the execution it is about to start this way, before starting
   * it, so that of two reruns (or a rerun and anything that recorded an execution since the rerun read META) only one
   * starts, and a rerun never overwrites an execution someone else recorded. `replaced: false` (nothing written) comes
   * with META as it is now. Throws IncidentNotFound when there is no META.
   */
  replaceExecutionArn(incidentId: string, expected: string | undefined, executionArn: string): Promise<ExecutionArnSwap>;
}

/** What `replaceExecutionArn` did: `incident` is META as written, or as it is when the ARN was not the expected one. */
export interface ExecutionArnSwap {
  readonly replaced: boolean;
  readonly incident: IncidentMeta;
}

export class IncidentNotFound extends Error {
  override name = 'IncidentNotFound';
  constructor(incidentId: string) {
    super(`incident ${incidentId} not found`);
  }
}

/**
 * The store could not finish the request now, and nothing is lost by failing it: the same request made again later
 * completes it (every intake write is idempotent). The API answers 503 with this message, so an alert vendor retries
 * the delivery instead of reading an unexplained 500.
 */
export class StoreRetryLater extends Retryable {
  override name = 'StoreRetryLater';
}

/**
 * An alert identity points at an incident whose META does not exist yet: the delivery that opened it is between
 * claiming the identity and writing META, or died there (its vendor's retry completes it). Retryable: the caller
 * should answer so that the sender tries again later (503), not "not found".
 */
export class IncidentNotReady extends StoreRetryLater {
  override name = 'IncidentNotReady';
  readonly incidentId: string;
  constructor(incidentId: string) {
    super(`incident ${incidentId} is still being opened; retry the notification`);
    this.incidentId = incidentId;
  }
}

/** The pending approval is another request than the one a decision was made for (e.g. a link from before a rerun). */
export class ApprovalRequestMismatch extends Error {
  override name = 'ApprovalRequestMismatch';
  readonly approval: ApprovalState;
  constructor(approval: ApprovalState) {
    super(`the pending approval is request ${approval.requestId ?? '(none)'}, not the one decided`);
    this.approval = approval;
  }
}

export class ApprovalAlreadyDecided extends Error {
  override name = 'ApprovalAlreadyDecided';
  readonly approval: ApprovalState | undefined;
  constructor(approval: ApprovalState | undefined) {
    super(approval ? `approval already ${approval.status.toLowerCase()}${approval.approver ? ` by ${approval.approver}` : ''}` : 'no approval is pending');
    this.approval = approval;
  }
}
