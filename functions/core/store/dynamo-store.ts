/**
 * `IncidentStore` on one DynamoDB table (see store.ts and ARCHITECTURE.md §Storage).
 *
 * Keys: `pk` / `sk` (strings). META items also carry `gsi1pk = STATUS#<status>` and
 * `gsi1sk = <createdAt>#<incidentId>` for the `byStatus` GSI; grade items (`GRADE#<id>` / `GRADE`, one per incident
 * people resolved after a diagnosis) carry `gsi1pk = GRADES` and `gsi1sk = <resolved at>#<incidentId>`, so the
 * production accuracy is two COUNT queries. DEDUP and CORR items carry `expiresAt` (epoch
 * seconds, TTL); reads treat an expired item as absent, since TTL deletion is lazy (and dynalite never deletes).
 *
 * Only single-item conditional writes and UpdateExpressions are used (no transactions, PartiQL or streams:
 * dynalite lacks them). Multi-item operations are ordered so that a retry after a partial failure completes
 * the job (see `recordAlert`).
 *
 * Listing "all statuses" queries the GSI once per status and merges newest-first; the opaque cursor is the
 * GSI sort key of the last item returned, so every per-status query resumes with `gsi1sk < :before`. That
 * costs one small Query per status (8) per page and needs no second index.
 *
 * Items stay under DynamoDB's 400 KB: an agent record whose evidence is too large has its evidence `data`
 * replaced, largest first, by a `{truncated, originalBytes, preview}` stub (ids, kinds and summaries stay, so
 * citations remain valid); raw alert payloads over `MAX_RAW_ALERT_BYTES` are stored as a preview, and a normalised
 * alert over `MAX_STORED_ALERT_BYTES` keeps the tags that fit (`fitAlert`).
 */
import { randomBytes } from 'node:crypto';
import { BatchGetCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, type QueryCommandInput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type AgentName, type AgentRecord, IncidentStatus, type NormalizedAlert, TERMINAL_STATUSES } from '../model.ts';
import {
  type AlertDisposition,
  type AlertIntakeStore,
  type ApprovalDecision,
  ApprovalAlreadyDecided,
  ApprovalRequestMismatch,
  type ApprovalState,
  type ExecutionArnSwap,
  type GradeRecord,
  type IncidentDetail,
  type IncidentResolution,
  type IncidentSummary,
  type IncidentMeta,
  IncidentNotFound,
  IncidentNotReady,
  type IncidentStore,
  type IncidentWith,
  type ListQuery,
  type OpeningClaim,
  type OpeningClaimResult,
  type OpeningJournal,
  type RecordOptions,
  type RecordResult,
  type ResolveResult,
  type ResolutionStep,
  type ResolutionStore,
  StoreRetryLater,
  type SummaryStore,
  type StoredAlert,
  type TimelineEvent,
  type WithdrawResult,
} from './store.ts';
import { byCodeUnit } from '../compare.ts';
import { type TransientAwsFailure, keepsSdkName, transientAwsFailure } from '../errors.ts';
import { plain } from './plain.ts';

// ───────────────────────────── keys and shared rules (the memory store uses them too) ─────────────────────────────

export const STATUS_INDEX = 'byStatus';
export const META_SK = 'META';
export const DEDUP_SK = 'DEDUP';
export const incidentPk = (incidentId: string): string => `INCIDENT#${incidentId}`;
export const dedupPk = (source: string, dedupKey: string): string => `DEDUP#${source}:${dedupKey}`;
export const CORR_SK = 'CORR';
/** The correlation pointer of a service in an environment (`-` when the alert names no environment). */
export const corrPk = (environment: string | undefined, service: string): string => `CORR#${environment || '-'}#${service}`;
export const statusKey = (status: IncidentStatus): string => `STATUS#${status}`;
export const statusSortKey = (createdAt: string, incidentId: string): string => `${createdAt}#${incidentId}`;
export const agentSk = (agent: AgentName): string => `AGENT#${agent}`;
/** A graded resolution's item (`GRADE#<id>` / `GRADE`), listed in the `byStatus` index under `GRADES_KEY`. */
export const GRADE_SK = 'GRADE';
export const gradePk = (incidentId: string): string => `GRADE#${incidentId}`;
/**
 * The `byStatus` partition of the grade items: no status is called that, so listing incidents never sees them. One
 * item per graded incident (its own partition, a put of the same content on every retry) makes the accuracy a count
 * that no retry, race or rerun can inflate.
 */
export const GRADES_KEY = 'GRADES';
/** The sort key of a resolution's timeline event, written once (`appendEventOnce`). */
export const onceEventSk = (at: string, key: string): string => eventSk(at, `once-${key}`);

/** The production accuracy from its two counts (rate rounded to 4 decimals; null while nothing is graded). */
export const accuracyOf = (graded: number, matched: number): IncidentSummary['accuracy'] => ({
  graded,
  matched,
  rate: graded === 0 ? null : Math.round((matched / graded) * 10_000) / 10_000,
});

/** DynamoDB's item limit is 400 KB; keep a margin for attribute names and keys. */
export const MAX_ITEM_BYTES = 350_000;
/** Retries of a BatchGetItem's unprocessed keys, the first after this many ms (then doubling). */
const BATCH_GET_RETRIES = 4;
const BATCH_GET_BACKOFF_MS = 25;
export const MAX_RAW_ALERT_BYTES = 100_000;
/** The normalised alert on an ALERT item: with the raw payload's limit, the item stays well under MAX_ITEM_BYTES. */
export const MAX_STORED_ALERT_BYTES = 100_000;
/** The tag that says how many tags a stored alert lost to `MAX_STORED_ALERT_BYTES`. */
export const TAGS_DROPPED_TAG = 'autopilot.tagsDropped';
const PREVIEW_CHARS = 2_000;
export const DEFAULT_LIST_LIMIT = 20;
export const MAX_LIST_LIMIT = 100;
export const DEFAULT_DEDUP_TTL_HOURS = 72;

export const isTerminal = (status: IncidentStatus): boolean => TERMINAL_STATUSES.includes(status);

/** The attributes of a META item that are the incident; everything else (keys, the task token) stays inside. */
const META_FIELDS = [
  'incidentId',
  'status',
  'severity',
  'title',
  'service',
  'environment',
  'source',
  'dedupKey',
  'createdAt',
  'updatedAt',
  'startedAt',
  'alertCount',
  'executionArn',
  'approval',
  'outcome',
  'reportLocation',
  'failure',
  'resolvedAt',
  'opening',
  'resolution',
] as const satisfies readonly (keyof IncidentMeta)[];

export const TASK_TOKEN_ATTRIBUTE = 'approvalTaskToken';

export const toMeta = (item: Record<string, unknown>): IncidentMeta => {
  const meta: Record<string, unknown> = {};
  for (const field of META_FIELDS) if (item[field] !== undefined && item[field] !== null) meta[field] = item[field];
  // The identity counts are never stored: they are derived from the tag sets (see below).
  Object.assign(meta, countIdentities((item[OPENINGS_ATTRIBUTE] as Iterable<string> | undefined) ?? [], (item[RESOLUTIONS_ATTRIBUTE] as Iterable<string> | undefined) ?? []));
  return meta as unknown as IncidentMeta;
};

// ───────────────────────────── identity counting (exactly once, by idempotent set writes) ─────────────────────────────
//
// An incident counts its alert identities with two grow-only string sets on META instead of counters:
//   alertOpenings     one tag per time an identity became OPEN     (`<claimId>.<version>`, version even)
//   alertResolutions  one tag per time an identity became RESOLVED (`<claimId>.<version>`, version odd)
// The DEDUP pointer is the identity's state machine: a claim is OPEN at version 0 (with a random `claimId`), and each
// conditional flip OPEN ⇄ RESOLVED adds exactly 1 to `stateVersion`, so the history of a pointer in state (S, v) is
// known from v alone: openings 0, 2, …, resolutions 1, 3, … ≤ v. Every delivery, whatever it finds, adds that whole
// history to META in the one UpdateItem that counts the delivery. Adding an element a set already holds changes
// nothing, and set union is commutative, so:
//   - a retry after ANY failure (a timeout or 5xx whose write may have landed, a Lambda that died between the claim and
//     the count) counts the identity exactly once: it finds the pointer, adds the same tags again;
//   - the first attempt still running, or two retries at once, add the same tags: no double count, in any order;
//   - a RESOLVED notification arriving before the identity was counted adds the opening with its resolution;
//   - a reopened identity (RESOLVED → OPEN) adds a new opening, which has no resolution yet;
//   - a pointer claimed again after its TTL expired has a new claimId: a new identity to the incident, as before.
// distinctAlerts = identities (claimIds) with an opening; resolvedAlerts = those whose every opening has its
// resolution. "Every alert resolved" is then |resolutions| >= |openings| (each resolution v pairs with opening v-1,
// and a resolution is only ever added together with its opening), which one ConditionExpression can test with size().
// The cost: META grows by one tag (~14 bytes) per identity and per flip, never shrinking: DynamoDB's 400 KB item
// limit allows about 25,000 tags (say 12,000 identities that each resolved once) per incident. Each delivery sends
// its identity's tags (version + 1 of them) and reads the sets back with META (ReturnValues ALL_NEW).

/** The size of a string set attribute as the document client returns it (absent: 0). */
const setSize = (value: unknown): number => (value instanceof Set ? value.size : 0);

export const OPENINGS_ATTRIBUTE = 'alertOpenings';
export const RESOLUTIONS_ATTRIBUTE = 'alertResolutions';

/** What a DEDUP pointer says about its identity. */
export interface IdentityState {
  readonly incidentId: string;
  /** This claim of the identity (a pointer claimed again after expiry is a new identity to its incident). */
  readonly claimId: string;
  readonly state: NormalizedAlert['state'];
  /** Flips since the claim: even while OPEN, odd while RESOLVED. */
  readonly version: number;
}

/** A new claim's id: 64 random bits, base64url (no '.', which separates the version in a tag). */
export const newClaimId = (): string => randomBytes(8).toString('base64url');

/** The version a new claim starts at: the first of its state (OPEN 0, RESOLVED 1). */
export const initialVersion = (state: NormalizedAlert['state']): number => (state === 'RESOLVED' ? 1 : 0);

/** The identity a stored DEDUP pointer describes (`#claimDedup` writes every one of these attributes). */
export const identityOf = (item: Record<string, unknown>): IdentityState => ({
  incidentId: String(item.incidentId),
  claimId: String(item.claimId),
  state: item.alertState === 'RESOLVED' ? 'RESOLVED' : 'OPEN',
  version: Number(item.stateVersion),
});

/** The tags of an identity's whole history up to its current version (what every delivery asserts on META). */
export const identityTags = (identity: IdentityState): { openings: string[]; resolutions: string[] } => {
  const openings: string[] = [];
  const resolutions: string[] = [];
  for (let v = 0; v <= identity.version; v++) (v % 2 === 0 ? openings : resolutions).push(`${identity.claimId}.${v}`);
  return { openings, resolutions };
};

/** distinctAlerts and resolvedAlerts from the tag sets (see above). */
export const countIdentities = (openings: Iterable<string>, resolutions: Iterable<string>): { distinctAlerts: number; resolvedAlerts: number } => {
  const resolved = new Set(resolutions);
  const open = new Map<string, boolean>(); // claimId → every opening so far has its resolution
  for (const tag of openings) {
    const dot = tag.lastIndexOf('.');
    const claimId = tag.slice(0, dot);
    const paired = resolved.has(`${claimId}.${Number(tag.slice(dot + 1)) + 1}`);
    open.set(claimId, (open.get(claimId) ?? true) && paired);
  }
  return { distinctAlerts: open.size, resolvedAlerts: [...open.values()].filter(Boolean).length };
};

export class InvalidCursor extends Error {
  override name = 'InvalidCursor';
  constructor(reason?: string) {
    super(`cursor is not one this API returned${reason ? ` (${reason})` : ''}`);
  }
}

/** `createdAt` in a status sort key: an ISO time as `Date.toISOString` writes it. */
const SORT_KEY_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** The longest incident id a cursor may name: the longest path parameter any route takes (MAX_PATH_PARAM_CHARS in http.ts). */
export const MAX_CURSOR_INCIDENT_ID_CHARS = 128;

/**
 * Whether `before` has the shape of a status sort key (`statusSortKey`: `<ISO time>#<incident id>`, the id well-formed
 * Unicode of at most MAX_CURSOR_INCIDENT_ID_CHARS): the reason it has not, or undefined. DynamoDB refuses a key value
 * that is not well-formed or too long (a ValidationException, which would answer 500), so a cursor a client forged or
 * damaged is refused here, as the client error it is.
 */
export const sortKeyProblem = (before: string): string | undefined => {
  const hash = before.indexOf('#');
  const time = hash < 0 ? before : before.slice(0, hash);
  const parsed = new Date(time);
  if (!SORT_KEY_TIME.test(time) || Number.isNaN(parsed.getTime()) || parsed.toISOString() !== time) return 'its position does not start with an ISO time';
  const id = hash < 0 ? '' : before.slice(hash + 1);
  if (id.length === 0) return 'its position names no incident';
  if (id.length > MAX_CURSOR_INCIDENT_ID_CHARS) return `its incident id is longer than ${MAX_CURSOR_INCIDENT_ID_CHARS} characters`;
  if (!id.isWellFormed()) return 'its incident id is not well-formed Unicode';
  return undefined;
};

/** The cursor is the GSI sort key of the last item of a page, base64url-encoded so clients treat it as opaque. */
export const encodeCursor = (before: string): string => Buffer.from(JSON.stringify({ v: 1, before }), 'utf8').toString('base64url');
export const decodeCursor = (cursor: string): string => {
  let parsed: { v?: unknown; before?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { v?: unknown; before?: unknown };
  } catch {
    throw new InvalidCursor();
  }
  if (parsed === null || typeof parsed !== 'object' || parsed.v !== 1 || typeof parsed.before !== 'string') throw new InvalidCursor();
  const problem = sortKeyProblem(parsed.before);
  if (problem) throw new InvalidCursor(problem);
  return parsed.before;
};

export const listLimit = (limit: number | undefined): number => Math.min(Math.max(Math.trunc(limit ?? DEFAULT_LIST_LIMIT), 1), MAX_LIST_LIMIT);

// plain JSON as DynamoDB keeps it: one helper with the action journal (./plain.ts), re-exported for the memory store
export { plain };

const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');

const preview = (value: unknown, originalBytes: number) => ({
  truncated: true,
  originalBytes,
  preview: (JSON.stringify(value) ?? '').slice(0, PREVIEW_CHARS),
});

/** A raw vendor payload as stored on an ALERT item: as is when small, a preview otherwise. */
export const fitRawAlert = (raw: unknown, maxBytes = MAX_RAW_ALERT_BYTES): unknown => {
  const bytes = jsonBytes(raw);
  return bytes <= maxBytes ? plain(raw) : preview(raw, bytes);
};

/**
 * A normalised alert as stored on an ALERT item. Its tags are the one field without a schema limit (labels,
 * description tokens, vendor tags), and a big enough body (MAX_BODY_BYTES can be raised to 10 MB) would make the
 * ALERT put fail after META had counted the delivery: every vendor retry would count it again and never store it.
 * Over `maxBytes`, tags are kept in order while they fit and the rest are dropped, saying how many.
 */
export const fitAlert = (alert: NormalizedAlert, maxBytes = MAX_STORED_ALERT_BYTES): NormalizedAlert => {
  const clean = plain(alert);
  if (jsonBytes(clean) <= maxBytes) return clean;
  const entries = Object.entries(clean.tags);
  // Room for the marker tag and its count, whatever the count.
  let budget = maxBytes - jsonBytes({ ...clean, tags: { [TAGS_DROPPED_TAG]: `${entries.length} of ${entries.length}` } });
  const tags: Record<string, string> = {};
  for (const [key, value] of entries) {
    const bytes = jsonBytes({ [key]: value });
    if (bytes > budget) continue;
    tags[key] = value;
    budget -= bytes;
  }
  const dropped = entries.length - Object.keys(tags).length;
  return { ...clean, tags: { ...tags, [TAGS_DROPPED_TAG]: `${dropped} of ${entries.length}` } };
};

export class ItemTooLarge extends Error {
  override name = 'ItemTooLarge';
}

/** DynamoDB would not serve a read even after retries (sustained throttling): the task fails rather than read a partial incident. */
export class StoreUnavailable extends StoreRetryLater {
  override name = 'StoreUnavailable';
}

/** What `storeError` says of each kind of transient failure (`transientAwsFailure` in errors.ts classifies them). */
const UNAVAILABLE_MESSAGES: Record<TransientAwsFailure, (error: Error) => string> = {
  timeout: (error) => `DynamoDB did not answer in time (${error.name}) after the SDK's retries; retry later`,
  throttle: (error) => `DynamoDB is throttling requests (${error.name}) after the SDK's retries; retry later`,
  network: (error) => `DynamoDB could not be reached (${String((error as { code?: unknown }).code)}) after the SDK's retries; retry later`,
  server: (error) => {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    return `DynamoDB failed the request (${error.name}${status ? `, HTTP ${status}` : ''}) after the SDK's retries; retry later`;
  },
};

/**
 * What a failed DynamoDB request means to the store's callers, by the one classifier of errors.ts
 * (`transientAwsFailure`): a throttle, a server-side failure (a 5xx, `InternalServerError`, `ServiceUnavailable`) or a
 * broken connection (`NETWORK_ERROR_CODES`) that survived the SDK's own retries is `StoreUnavailable`: transient,
 * retryable by name in the state machine, a 503 with Retry-After at the API. A timeout keeps the SDK's name
 * (`keepsSdkName`: the one exception, and why, is written there). Everything else (a conditional check that failed, a
 * validation error) is returned as it is.
 */
export const storeError = (error: unknown): unknown => {
  if (!(error instanceof Error) || error instanceof StoreRetryLater) return error;
  const failure = transientAwsFailure(error);
  if (failure === undefined || keepsSdkName('store', failure)) return error;
  return new StoreUnavailable(UNAVAILABLE_MESSAGES[failure](error), { cause: error });
};

/**
 * Makes an agent record fit in one item. Evidence `data` is dropped largest first (replaced by a preview stub);
 * then over-long summaries are shortened. The output itself is never altered: if it alone is too large the
 * record cannot be stored faithfully and `ItemTooLarge` is thrown.
 */
export const fitAgentRecord = (record: AgentRecord, maxBytes = MAX_ITEM_BYTES): AgentRecord => {
  const clean = plain(record);
  let size = jsonBytes(clean);
  if (size <= maxBytes) return clean;
  const evidence = clean.evidence.map((e) => ({ ...e }));
  const bySize = evidence
    .map((e, i) => ({ i, bytes: e.data === undefined ? 0 : jsonBytes(e.data) }))
    .filter((x) => x.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
  for (const { i, bytes } of bySize) {
    if (size <= maxBytes) break;
    const stub = preview(evidence[i].data, bytes);
    evidence[i].data = stub;
    size -= bytes - jsonBytes(stub);
  }
  for (const e of evidence) {
    if (size <= maxBytes) break;
    if (e.summary.length > PREVIEW_CHARS) {
      size -= Buffer.byteLength(e.summary.slice(PREVIEW_CHARS), 'utf8');
      e.summary = `${e.summary.slice(0, PREVIEW_CHARS)}… [truncated]`;
    }
  }
  const fitted: AgentRecord = { ...clean, evidence };
  const finalSize = jsonBytes(fitted);
  if (finalSize > maxBytes) throw new ItemTooLarge(`agent record ${record.agent} is ${finalSize} bytes after trimming evidence (limit ${maxBytes}): its output is too large to store`);
  return fitted;
};

/**
 * Timeline sequence: a per-process counter (orders events written in the same millisecond by one writer) and
 * random bytes (separates concurrent writers), so `EVENT#<iso>#<seq>` never collides.
 */
let eventCounter = 0;
export const eventSeq = (): string => `${(eventCounter++ % 1_000_000).toString().padStart(6, '0')}${randomBytes(3).toString('hex')}`;
export const eventSk = (at: string, seq: string = eventSeq()): string => `EVENT#${at}#${seq}`;
export const alertSk = (receivedAt: string, n: number): string => `ALERT#${receivedAt}#${n.toString().padStart(6, '0')}`;

/** What a new incident's META looks like, from its first alert. */
export const newMeta = (incidentId: string, alert: NormalizedAlert, now: string): IncidentMeta => ({
  incidentId,
  status: 'OPEN',
  severity: alert.severity,
  title: alert.title,
  service: alert.service,
  ...(alert.environment ? { environment: alert.environment } : {}),
  source: alert.source,
  dedupKey: alert.dedupKey,
  createdAt: now,
  updatedAt: now,
  startedAt: alert.startedAt,
  alertCount: 0,
  distinctAlerts: 0,
  resolvedAlerts: 0,
});

type Patch = Parameters<IncidentStore['updateIncident']>[1];

/** The correlation window of a `recordAlert` call in whole seconds; 0 (no correlation) when absent or negative. */
export const correlationWindow = (options: RecordOptions): number => Math.max(0, Math.trunc(options.correlationWindowSeconds ?? 0));

/**
 * An incident stops taking correlated alerts once it holds this many identity tags (~14 bytes each, about 140 KB of
 * its 400 KB item). The correlation window slides with every alert, so a storm of distinct alerts on one service
 * would otherwise grow one incident until DynamoDB refused every further count (and every alert of that service
 * failed for good); past the budget the storm opens a new incident instead, as after a closed one.
 */
export const MAX_CORRELATED_TAGS = 10_000;

/**
 * The statuses after which an incident takes no more correlated alerts: only RESOLVED, the one that says the problem
 * is over. ESCALATED is the incident humans are working on now, and AWAITING_APPROVAL one waiting for them: a new
 * alert for the service is more of the same problem and joins it (it starts no workflow: the journal of the opening
 * is done). FAILED joins too: the workflow broke and `Incident Failed` handed the incident to humans just as
 * ESCALATED does; a new incident per alert would run the same failing workflow once per alert and page once per
 * alert — the storm correlation exists to prevent — while the joined alerts stay listed for `autopilot rerun`.
 */
export const CORRELATION_CLOSED_STATUSES: readonly IncidentStatus[] = ['RESOLVED'];

/** Whether a correlated alert may join this incident (the rule both stores share). */
export const joinable = (status: IncidentStatus, identityTags: number, options: RecordOptions): boolean =>
  !CORRELATION_CLOSED_STATUSES.includes(status) && identityTags < (options.maxCorrelatedTags ?? MAX_CORRELATED_TAGS);

/**
 * Whether an alert identity that fires again goes the new-identity way (correlate, or open a new incident) instead of
 * folding into the incident its DEDUP pointer names (the rule both stores share). Only when the vendor said RESOLVED
 * for it (the pointer is RESOLVED: this OPEN delivery is a re-fire, not a repeat) AND its incident is closed for
 * correlation (`CORRELATION_CLOSED_STATUSES`: RESOLVED). Most vendors give a re-fire a new identity anyway
 * (Alertmanager fingerprint + startsAt, Dynatrace PID, Datadog cycle key, CloudWatch state time); generic scripts and
 * some setups reuse it, and without this rule the re-fire would be absorbed by the RESOLVED incident: no execution, no
 * page. An incident that is ESCALATED or FAILED is humans' now and keeps absorbing its re-fires (the identity reopens
 * in it), as it takes its service's correlated alerts. A repeated OPEN delivery of an identity that never resolved
 * (Alertmanager's repeat_interval, a vendor retry) is a duplicate delivery: it folds into its incident whatever the
 * incident's status, RESOLVED included — the incident took that alert already.
 */
export const refiresAnew = (alertState: NormalizedAlert['state'], identityState: NormalizedAlert['state'], incidentStatus: IncidentStatus | undefined): boolean =>
  alertState === 'OPEN' && identityState === 'RESOLVED' && incidentStatus !== undefined && CORRELATION_CLOSED_STATUSES.includes(incidentStatus);

/**
 * Whether a count landed a new identity in an incident that closed after correlation found it joinable (the rule both
 * stores share): correlation reads the incident (say ESCALATED), the workflow resolves it, then the count lands. The
 * count's own result (META as the count left it) shows it; the identity is then re-routed like a re-fire
 * (`refiresAnew`): its DEDUP pointer re-pointed, conditionally, to the incident correlation gives now. The resolved
 * incident keeps the count it took (its `alertCount` and the identity's opening tag; no ALERT item).
 */
export const landedInClosed = (disposition: AlertDisposition, incidentStatus: IncidentStatus): boolean =>
  disposition === 'correlated' && CORRELATION_CLOSED_STATUSES.includes(incidentStatus);

/** How many times one delivery re-routes its identity before giving up (`IntakeContention`, retryable). */
export const REROUTE_ROUNDS = 3;

/**
 * `Incident Opened` went out for this incident: the journal says published, or the incident predates the journal
 * (an execution ARN and no journal: the code of that time published before recording the ARN).
 */
export const openingPublished = (meta: Pick<IncidentMeta, 'opening' | 'executionArn'>): boolean =>
  meta.opening?.publishedAt !== undefined || (meta.opening === undefined && meta.executionArn !== undefined);

/**
 * Whether a delivery may claim the opening now: the incident is not closed (a closed incident starts and publishes
 * nothing: its workflow ran, and it is humans' now, or over), the opening is not published, and it has no claim or
 * one whose lease has passed.
 */
export const openingClaimable = (meta: Pick<IncidentMeta, 'status' | 'opening' | 'executionArn'>, at: Date): boolean =>
  !isTerminal(meta.status) && !openingPublished(meta) && (meta.opening === undefined || byCodeUnit(meta.opening.claimedUntil, at.toISOString()) < 0);

/** `claimedUntil` of a released claim: long past, so the next delivery takes it over. */
export const RELEASED_CLAIM_UNTIL = new Date(0).toISOString();

/** The journal a claim writes (a takeover replaces the whole journal: the taker redoes every step). */
export const openingJournal = (claim: OpeningClaim): OpeningJournal => ({
  claimId: claim.claimId,
  claimedBy: claim.claimedBy,
  claimedUntil: new Date(claim.at.getTime() + claim.leaseMs).toISOString(),
});

/**
 * How an OPEN delivery landed, from what `recordAlert` found (the rule both stores share). `counted`: the delivery
 * brought a new identity to the incident, so its ALERT item is not a duplicate; a delivery that created META is not a
 * duplicate either, even for a known identity (a retry whose first attempt claimed the identity and died before META).
 * What META counts does not depend on this: every delivery asserts its identity's tags (`identityTags`).
 */
export const landing = (found: { readonly created: boolean; readonly newIdentity: boolean; readonly joined: boolean }): { disposition: AlertDisposition; counted: boolean } => ({
  disposition: found.created || (found.newIdentity && !found.joined) ? 'opened' : found.newIdentity ? 'correlated' : 'deduplicated',
  counted: found.newIdentity || found.created,
});

/** What an ALERT item holds: the normalised alert, the raw payload (a preview when large) and how it landed. */
export const storedAlert = (receivedAt: string, alert: NormalizedAlert, raw: unknown, landed: ReturnType<typeof landing>): StoredAlert => ({
  receivedAt,
  alert: fitAlert(alert),
  raw: fitRawAlert(raw),
  deduplicated: !landed.counted,
  ...(landed.disposition === 'correlated' ? { correlated: true } : {}),
});

/** How a RESOLVED notification lands: on a known identity, never counted as a new one. */
export const RESOLUTION_LANDING = { disposition: 'deduplicated', counted: false } as const;

/** Who withdraws an approval when every alert resolved (recorded as the approval's `approver`). */
export const WITHDRAWN_BY = 'autopilot';

/** Every distinct alert identity of the incident is resolved (false while none is counted). */
export const allAlertsResolved = (incident: Pick<IncidentMeta, 'distinctAlerts' | 'resolvedAlerts'>): boolean =>
  (incident.distinctAlerts ?? 0) > 0 && (incident.resolvedAlerts ?? 0) >= (incident.distinctAlerts ?? 0);

/** Why a withdrawal did not happen, from the current approval state. */
export const notWithdrawn = (approval: ApprovalState | undefined, hasToken: boolean): WithdrawResult =>
  approval?.status === 'PENDING' && hasToken
    ? { withdrawn: false, reason: 'alerts-open', approval }
    : { withdrawn: false, reason: 'not-pending', ...(approval ? { approval } : {}) };

// ───────────────────────────── the DynamoDB implementation ─────────────────────────────

/** Where a new identity goes: the service's correlated incident, or a new id (`#correlate`). */
type Route = () => Promise<{ incidentId: string; joined: boolean }>;

/** Where a delivery lands: its identity (as the pointer says), and whether this delivery brought it to that incident. */
interface Routed {
  readonly identity: IdentityState;
  /** This delivery claimed (or re-pointed) the identity for its incident. */
  readonly newIdentity: boolean;
  /** …and that incident is the service's correlated one it joined. */
  readonly joined: boolean;
}

export interface DynamoStoreOptions {
  /** How long a dedup pointer lives after the last alert that used it. @default 72 */
  readonly dedupTtlHours?: number;
  readonly clock?: () => Date;
}

const isConditionFailure = (error: unknown): boolean => error instanceof Error && error.name === 'ConditionalCheckFailedException';

/** An identity's DEDUP pointer disappeared between finding it and flipping its state (its TTL deletion ran). Retryable. */
export class AlertIdentityVanished extends StoreRetryLater {
  override name = 'AlertIdentityVanished';
  constructor(pk: string) {
    super(`the dedup pointer ${pk} disappeared while its state was being changed (expired); retry the delivery`);
  }
}

/**
 * A pointer (an alert identity's or a service's correlation pointer) kept changing under this delivery for every
 * round it tried (concurrent deliveries claiming, expiring and replacing it). Nothing was counted; retryable.
 */
export class IntakeContention extends StoreRetryLater {
  override name = 'IntakeContention';
  constructor(pk: string, rounds: number) {
    super(`the pointer ${pk} changed under this delivery ${rounds} times in a row (concurrent deliveries); retry the delivery`);
  }
}

/** Builds `SET a = :a, ...` / `REMOVE ...` with placeholder names for every attribute (reserved words are many). */
class UpdateBuilder {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  readonly #sets: string[] = [];
  readonly #removes: string[] = [];
  readonly #adds: string[] = [];
  #n = 0;

  name(path: string): string {
    return path
      .split('.')
      .map((part) => {
        const key = `#${part.replace(/\W/g, '_')}`;
        this.names[key] = part;
        return key;
      })
      .join('.');
  }

  value(v: unknown): string {
    const key = `:v${this.#n++}`;
    this.values[key] = v;
    return key;
  }

  set(path: string, v: unknown): this {
    this.#sets.push(`${this.name(path)} = ${this.value(v)}`);
    return this;
  }

  /** `path = if_not_exists(path, v)`: written only when the item (or the attribute) does not exist yet. */
  setIfAbsent(path: string, v: unknown): this {
    const name = this.name(path);
    this.#sets.push(`${name} = if_not_exists(${name}, ${this.value(v)})`);
    return this;
  }

  /** `ADD path v`: a number is added, a Set's elements join a set (adding one it has already is a no-op). */
  add(path: string, v: number | ReadonlySet<string>): this {
    this.#adds.push(`${this.name(path)} ${this.value(v)}`);
    return this;
  }

  remove(path: string): this {
    this.#removes.push(this.name(path));
    return this;
  }

  expression(): string {
    return [
      this.#sets.length > 0 ? `SET ${this.#sets.join(', ')}` : '',
      this.#adds.length > 0 ? `ADD ${this.#adds.join(', ')}` : '',
      this.#removes.length > 0 ? `REMOVE ${this.#removes.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
  }

  get hasValues(): boolean {
    return Object.keys(this.values).length > 0;
  }
}

export class DynamoIncidentStore implements AlertIntakeStore, ResolutionStore, SummaryStore {
  /** The caller's client, every failure passed through `storeError` (a throttle is `StoreUnavailable`). */
  readonly #doc: Pick<DynamoDBDocumentClient, 'send'>;
  readonly #table: string;
  readonly #ttlSeconds: number;
  readonly #clock: () => Date;

  constructor(doc: DynamoDBDocumentClient, tableName: string, options: DynamoStoreOptions = {}) {
    const send = async (command: unknown): Promise<unknown> => {
      try {
        return await doc.send(command as never);
      } catch (error) {
        throw storeError(error);
      }
    };
    this.#doc = { send: send as DynamoDBDocumentClient['send'] };
    this.#table = tableName;
    this.#ttlSeconds = Math.round((options.dedupTtlHours ?? DEFAULT_DEDUP_TTL_HOURS) * 3600);
    this.#clock = options.clock ?? (() => new Date());
  }

  /**
   * 1. A known identity: refresh `DEDUP#<source>:<key>` (conditional on it being live) and fold into its incident;
   *    an OPEN delivery of a RESOLVED identity reopens it (a conditional flip, `#moveIdentity`) — unless the incident is
   *    RESOLVED too (`refiresAnew`: one META read, only on that flip): then the pointer is re-pointed (a conditional
   *    put on the pointer as it was read, `#repoint`) to the incident of step 2, and the alert goes the new-identity way.
   * 2. A new identity: the incident is the service's correlated one (join or claim `CORR#<env>#<service>`), or a
   *    new id; then claim the DEDUP pointer for it (conditional put, with a fresh `claimId`, OPEN at version 0).
   *    Losing that claim means a concurrent delivery of the same identity won: fold into its incident as in 1.
   * 3. Count the delivery on META, creating META if it is absent, in one UpdateItem (`#countDelivery`) that also
   *    adds the identity's tags (`identityTags`): `created` is whoever created META, and the identity is counted
   *    once however often this runs. A failure anywhere after step 2 (even an ambiguous one: a timeout, a 5xx, the
   *    Lambda dying) leaves a pointer that the sender's retry finds, and the retry's step 3 adds the same tags. A new
   *    identity whose count landed in an incident RESOLVED since correlation read it (`landedInClosed`, seen in the
   *    count's own ALL_NEW result) is re-pointed as in 1 and counted again where correlation sends it now.
   * 4. Put the ALERT item, numbered by that count.
   * A new alert costs 5 round trips when it opens an incident (refresh, correlation upsert, claim, count, ALERT) and 6
   * when it joins one (the correlation pointer's incident is read to check it is still open); a repeat costs 3; a
   * re-fire whose incident goes on costs 5 (the incident's META read, then the flip), and one whose incident is RESOLVED
   * costs the refresh, that read and the re-point put besides a new alert's correlation, count and ALERT put.
   */
  async recordAlert(alert: NormalizedAlert, raw: unknown, newIncidentId: () => string, options: RecordOptions = {}): Promise<RecordResult> {
    const now = this.#clock();
    const nowIso = now.toISOString();
    const window = correlationWindow(options);
    const route: Route = () => (window > 0 ? this.#correlate(alert, now, window, newIncidentId, options) : Promise.resolve({ incidentId: newIncidentId(), joined: false }));

    let routed = await this.#locate(alert, now, route, await this.#refreshDedup(alert, now));
    let { incident, created } = await this.#countDelivery(newMeta(routed.identity.incidentId, alert, nowIso), routed.identity);
    let landed = landing({ created, newIdentity: routed.newIdentity, joined: routed.joined });
    for (let round = 0; landedInClosed(landed.disposition, incident.status); round++) {
      if (round >= REROUTE_ROUNDS) throw new IntakeContention(dedupPk(alert.source, alert.dedupKey), REROUTE_ROUNDS);
      const repointed = await this.#repoint(alert, routed.identity, now, route);
      routed = 'identity' in repointed ? repointed : await this.#locate(alert, now, route, repointed.current);
      ({ incident, created } = await this.#countDelivery(newMeta(routed.identity.incidentId, alert, nowIso), routed.identity));
      landed = landing({ created, newIdentity: routed.newIdentity, joined: routed.joined });
    }
    await this.#putAlert(incident, storedAlert(nowIso, alert, raw, landed));
    return { incident, created, disposition: landed.disposition };
  }

  async resolveAlert(alert: NormalizedAlert, raw: unknown): Promise<ResolveResult | undefined> {
    const now = this.#clock();
    const nowIso = now.toISOString();
    let identity = await this.#refreshDedup(alert, now);
    if (!identity) return undefined;
    let newlyResolved = false;
    if (identity.state !== 'RESOLVED') ({ identity, moved: newlyResolved } = await this.#moveIdentity(alert, identity, 'RESOLVED', nowIso));
    // The identity's whole history, this resolution included: a repeat (or the retry of a notification whose count
    // failed, even ambiguously) adds the same tags, so nothing is counted twice and nothing is lost.
    let incident: IncidentMeta;
    try {
      incident = await this.#update(identity.incidentId, this.#countIdentity(new UpdateBuilder(), identity));
    } catch (error) {
      if (!(error instanceof IncidentNotFound)) throw error;
      // The identity stays RESOLVED: the sender's retry (503) finds it so and adds the same tags once META exists.
      throw new IncidentNotReady(identity.incidentId);
    }
    await this.#putAlert(incident, storedAlert(nowIso, alert, raw, RESOLUTION_LANDING));
    return { incident, newlyResolved, allResolved: allAlertsResolved(incident) };
  }

  async withdrawApproval(incidentId: string, reason: string): Promise<WithdrawResult> {
    const at = this.#clock().toISOString();
    const u = new UpdateBuilder()
      .set('approval.status', 'WITHDRAWN')
      .set('approval.decidedAt', at)
      .set('approval.approver', WITHDRAWN_BY)
      .set('approval.comment', reason)
      .set('updatedAt', at);
    const pending = u.value('PENDING');
    const openings = u.name(OPENINGS_ATTRIBUTE);
    // Every identity resolved at this very instant: as many resolutions as openings (see `countIdentities`).
    const { written, item } = await this.#updateMetaIf(
      incidentId,
      u,
      `${u.name('approval.status')} = ${pending} AND attribute_exists(${u.name(TASK_TOKEN_ATTRIBUTE)}) AND attribute_exists(${openings}) AND size(${u.name(RESOLUTIONS_ATTRIBUTE)}) >= size(${openings})`,
    );
    if (written) return { withdrawn: true, taskToken: String(item[TASK_TOKEN_ATTRIBUTE]), approval: item.approval as ApprovalState };
    return notWithdrawn(item.approval as ApprovalState | undefined, item[TASK_TOKEN_ATTRIBUTE] !== undefined);
  }

  async undoWithdrawal(incidentId: string): Promise<void> {
    const u = new UpdateBuilder().set('approval.status', 'PENDING').remove('approval.decidedAt').remove('approval.approver').remove('approval.comment');
    const withdrawn = u.value('WITHDRAWN');
    await this.#updateMetaIf(incidentId, u, `${u.name('approval.status')} = ${withdrawn}`);
  }

  async claimOpening(incidentId: string, claim: OpeningClaim): Promise<OpeningClaimResult> {
    const journal = openingJournal(claim);
    const u = new UpdateBuilder().set('opening', journal).set('updatedAt', this.#clock().toISOString());
    const opening = u.name('opening');
    const published = u.name('opening.publishedAt');
    const until = u.name('opening.claimedUntil');
    const terminals = TERMINAL_STATUSES.map((s) => u.value(s)).join(', ');
    // `openingClaimable`, in one condition: not closed (checked here, not only on the caller's read, which the workflow
    // may have overtaken); not published; no claim, or one whose lease has passed (a released one included); and not
    // an incident from before the journal (an execution ARN without a journal counts as published).
    const { written, item } = await this.#updateMetaIf(
      incidentId,
      u,
      `NOT ${u.name('status')} IN (${terminals}) AND attribute_not_exists(${published}) AND (attribute_not_exists(${opening}) OR ${until} < ${u.value(claim.at.toISOString())}) AND (attribute_exists(${opening}) OR attribute_not_exists(${u.name('executionArn')}))`,
    );
    return { claimed: written, incident: toMeta(item) };
  }

  async recordOpeningStarted(incidentId: string, claimId: string, executionArn: string): Promise<boolean> {
    const at = this.#clock().toISOString();
    // `if_not_exists`: an ARN already there is never replaced (a rerun's, recorded while this claimant was starting the
    // original execution by name: see `recordOpeningStarted` in store.ts); the start is journalled all the same.
    const u = new UpdateBuilder().setIfAbsent('executionArn', executionArn).set('opening.startedAt', at).set('updatedAt', at);
    return (await this.#updateMetaIf(incidentId, u, `${u.name('opening.claimId')} = ${u.value(claimId)}`)).written;
  }

  async markOpeningPublished(incidentId: string, _claimId: string): Promise<void> {
    // Whoever's claim it is now: the event went out, and no delivery may publish it again.
    const at = this.#clock().toISOString();
    const u = new UpdateBuilder().set('opening.publishedAt', at).set('updatedAt', at);
    await this.#updateMetaIf(incidentId, u, `attribute_exists(${u.name('opening')})`);
  }

  async releaseOpening(incidentId: string, claimId: string): Promise<void> {
    const u = new UpdateBuilder().set('opening.claimedUntil', RELEASED_CLAIM_UNTIL);
    await this.#updateMetaIf(incidentId, u, `${u.name('opening.claimId')} = ${u.value(claimId)} AND attribute_not_exists(${u.name('opening.publishedAt')})`);
  }

  async replaceExecutionArn(incidentId: string, expected: string | undefined, executionArn: string): Promise<ExecutionArnSwap> {
    const u = new UpdateBuilder().set('executionArn', executionArn).set('updatedAt', this.#clock().toISOString());
    const arn = u.name('executionArn');
    const { written, item } = await this.#updateMetaIf(incidentId, u, expected === undefined ? `attribute_not_exists(${arn})` : `${arn} = ${u.value(expected)}`);
    return { replaced: written, incident: toMeta(item) };
  }

  /** The incident an alert's dedup key points at, if the pointer exists and has not expired. */
  async findByDedupKey(source: NormalizedAlert['source'], dedupKey: string): Promise<IncidentMeta | undefined> {
    const pointer = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: { pk: dedupPk(source, dedupKey), sk: DEDUP_SK }, ConsistentRead: true }));
    const item = pointer.Item;
    if (!item || Number(item.expiresAt) < this.#epoch(this.#clock())) return undefined;
    return this.getIncident(String(item.incidentId));
  }

  async getIncident(incidentId: string): Promise<IncidentMeta | undefined> {
    const item = await this.#getMetaItem(incidentId);
    return item ? toMeta(item) : undefined;
  }

  async getIncidentWith(incidentId: string, agents: readonly AgentName[]): Promise<IncidentWith | undefined> {
    const pk = incidentPk(incidentId);
    const items = await this.#batchGet([{ pk, sk: META_SK }, ...[...new Set(agents)].map((agent) => ({ pk, sk: agentSk(agent) }))]);
    const meta = items.find((item) => item.sk === META_SK);
    if (!meta) return undefined;
    const records: Partial<Record<AgentName, AgentRecord>> = {};
    for (const item of items) if (item.kind === 'AGENT') records[(item.record as AgentRecord).agent] = item.record as AgentRecord;
    return { incident: toMeta(meta), records };
  }

  async getDetail(incidentId: string): Promise<IncidentDetail | undefined> {
    const items = await this.#query({ KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': incidentPk(incidentId) }, ConsistentRead: true });
    return assembleDetail(items);
  }

  async listIncidents(query: ListQuery): Promise<{ items: IncidentMeta[]; cursor?: string }> {
    const limit = listLimit(query.limit);
    const before = query.cursor ? decodeCursor(query.cursor) : undefined;
    const statuses = query.status ? [query.status] : IncidentStatus.options;
    // limit + 1 per status tells whether anything is left after this page.
    const perStatus = await Promise.all(statuses.map((status) => this.#queryStatus(status, query, before, limit + 1)));
    // An incident whose status changes while the statuses are read (in parallel, on an eventually consistent index)
    // can come back from two of them: keep its newest copy, so no page lists an incident twice.
    const newest = new Map<string, Record<string, unknown>>();
    for (const item of perStatus.flat()) {
      const id = String(item.incidentId);
      const seen = newest.get(id);
      if (!seen || byCodeUnit(String(item.updatedAt ?? ''), String(seen.updatedAt ?? '')) > 0) newest.set(id, item);
    }
    const merged = [...newest.values()].sort((a, b) => byCodeUnit(String(b.gsi1sk), String(a.gsi1sk)));
    const page = merged.slice(0, limit);
    const last = page.at(-1);
    return { items: page.map(toMeta), ...(merged.length > limit && last ? { cursor: encodeCursor(String(last.gsi1sk)) } : {}) };
  }

  async setExecutionArn(incidentId: string, executionArn: string): Promise<void> {
    await this.#update(incidentId, new UpdateBuilder().set('executionArn', executionArn));
  }

  async updateIncident(incidentId: string, patch: Patch): Promise<IncidentMeta> {
    const build = (withStatus: boolean) => {
      const u = new UpdateBuilder();
      for (const [field, value] of Object.entries(patch)) {
        if (value === undefined || field === 'status') continue;
        u.set(field, plain(value));
      }
      if (withStatus && patch.status) u.set('status', patch.status).set('gsi1pk', statusKey(patch.status));
      return u;
    };
    return this.#updateGuarded(incidentId, patch.status, build);
  }

  async putAgentRecord(incidentId: string, record: AgentRecord): Promise<void> {
    const fitted = fitAgentRecord(record);
    await this.#doc.send(
      new PutCommand({ TableName: this.#table, Item: { pk: incidentPk(incidentId), sk: agentSk(record.agent), kind: 'AGENT', record: fitted } }),
    );
  }

  async getAgentRecord(incidentId: string, agent: AgentName): Promise<AgentRecord | undefined> {
    const got = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: { pk: incidentPk(incidentId), sk: agentSk(agent) }, ConsistentRead: true }));
    return got.Item?.record as AgentRecord | undefined;
  }

  async appendEvent(incidentId: string, event: Omit<TimelineEvent, 'at'> & { at?: string }): Promise<void> {
    const at = event.at ?? this.#clock().toISOString();
    const stored: TimelineEvent = plain({ ...event, at });
    await this.#doc.send(new PutCommand({ TableName: this.#table, Item: { pk: incidentPk(incidentId), sk: eventSk(at), kind: 'EVENT', event: stored } }));
  }

  /** Stores the token (a top-level attribute no read returns), marks approval PENDING and, unless terminal, the incident AWAITING_APPROVAL. */
  async requestApproval(incidentId: string, taskToken: string, approval: ApprovalState): Promise<IncidentMeta> {
    const pending: ApprovalState = plain({ ...approval, status: 'PENDING' });
    return this.#updateGuarded(incidentId, 'AWAITING_APPROVAL', (withStatus) => {
      const u = new UpdateBuilder().set(TASK_TOKEN_ATTRIBUTE, taskToken).set('approval', pending);
      if (withStatus) u.set('status', 'AWAITING_APPROVAL').set('gsi1pk', statusKey('AWAITING_APPROVAL'));
      return u;
    });
  }

  async decideApproval(incidentId: string, decision: ApprovalDecision, approver: string, comment?: string, requestId?: string): Promise<{ taskToken: string; approval: ApprovalState }> {
    const u = new UpdateBuilder()
      .set('approval.status', decision === 'approve' ? 'APPROVED' : 'REJECTED')
      .set('approval.decidedAt', this.#clock().toISOString())
      .set('approval.approver', approver);
    if (comment !== undefined) u.set('approval.comment', comment);
    u.set('updatedAt', this.#clock().toISOString());
    const pending = u.value('PENDING');
    const sameRequest = requestId === undefined ? '' : ` AND ${u.name('approval.requestId')} = ${u.value(requestId)}`;
    const { written, item } = await this.#updateMetaIf(incidentId, u, `${u.name('approval.status')} = ${pending} AND attribute_exists(${u.name(TASK_TOKEN_ATTRIBUTE)})${sameRequest}`);
    if (written) return { taskToken: String(item[TASK_TOKEN_ATTRIBUTE]), approval: item.approval as ApprovalState };
    const current = item.approval as ApprovalState | undefined;
    if (current?.status === 'PENDING' && item[TASK_TOKEN_ATTRIBUTE] !== undefined && requestId !== undefined) throw new ApprovalRequestMismatch(current);
    throw new ApprovalAlreadyDecided(current);
  }

  /** Back to PENDING, only from APPROVED/REJECTED (an EXPIRED approval stays expired); a no-op otherwise. */
  async undoDecision(incidentId: string): Promise<void> {
    const u = new UpdateBuilder().set('approval.status', 'PENDING').remove('approval.decidedAt').remove('approval.approver').remove('approval.comment');
    const approved = u.value('APPROVED');
    const rejected = u.value('REJECTED');
    await this.#updateMetaIf(incidentId, u, `${u.name('approval.status')} IN (${approved}, ${rejected})`);
  }

  /**
   * For a rerun: a terminal incident goes back to INVESTIGATING and forgets the previous run's outcome,
   * failure, report location and approval (with its token). The only way out of a terminal status. A
   * non-terminal incident is returned unchanged.
   */
  async reopen(incidentId: string): Promise<IncidentMeta> {
    const u = new UpdateBuilder()
      .set('status', 'INVESTIGATING')
      .set('gsi1pk', statusKey('INVESTIGATING'))
      .set('updatedAt', this.#clock().toISOString());
    for (const field of ['outcome', 'failure', 'resolvedAt', 'reportLocation', 'approval', TASK_TOKEN_ATTRIBUTE]) u.remove(field);
    const terminals = TERMINAL_STATUSES.map((s) => u.value(s)).join(', ');
    // Not terminal: returned as it is.
    return toMeta((await this.#updateMetaIf(incidentId, u, `${u.name('status')} IN (${terminals})`)).item);
  }

  // ───────────── resolutions and the summary (functions/resolve-incident, GET /summary) ─────────────

  async recordResolution(incidentId: string, resolution: IncidentResolution): Promise<{ recorded: boolean; incident: IncidentMeta }> {
    const u = new UpdateBuilder()
      .set('resolution', plain(resolution))
      .set('status', 'RESOLVED')
      .set('gsi1pk', statusKey('RESOLVED'))
      .setIfAbsent('resolvedAt', resolution.at)
      .set('updatedAt', this.#clock().toISOString());
    const terminals = TERMINAL_STATUSES.map((s) => u.value(s)).join(', ');
    const { written, item } = await this.#updateMetaIf(incidentId, u, `${u.name('status')} IN (${terminals}) AND attribute_not_exists(${u.name('resolution')})`);
    return { recorded: written, incident: toMeta(item) };
  }

  async markResolutionStep(incidentId: string, step: ResolutionStep, at: string): Promise<void> {
    const u = new UpdateBuilder().setIfAbsent(`resolution.${step}`, at);
    await this.#updateMetaIf(incidentId, u, `attribute_exists(${u.name('resolution')})`);
  }

  async putGrade(grade: GradeRecord): Promise<void> {
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: { pk: gradePk(grade.incidentId), sk: GRADE_SK, kind: 'GRADE', gsi1pk: GRADES_KEY, gsi1sk: statusSortKey(grade.at, grade.incidentId), ...plain(grade) },
      }),
    );
  }

  async appendEventOnce(incidentId: string, key: string, event: TimelineEvent): Promise<void> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: { pk: incidentPk(incidentId), sk: onceEventSk(event.at, key), kind: 'EVENT', event: plain(event) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** One COUNT query per status, and one read of the grades' `matched` flags, each paginated to its last page (a page stops at 1 MB read). */
  async summarize(): Promise<IncidentSummary> {
    const [counted, accuracy] = await Promise.all([
      Promise.all(
        IncidentStatus.options.map(async (status) => [status, await this.#count({ IndexName: STATUS_INDEX, KeyConditionExpression: '#gpk = :gpk', ExpressionAttributeNames: { '#gpk': 'gsi1pk' }, ExpressionAttributeValues: { ':gpk': statusKey(status) } })] as const),
      ),
      this.#gradeAccuracy(),
    ]);
    const counts = Object.fromEntries(counted) as Record<IncidentStatus, number>;
    return { counts, total: counted.reduce((sum, [, n]) => sum + n, 0), accuracy };
  }

  /** Graded and matched in one pass over the grade items (projected to their flag), not a COUNT of each. */
  async #gradeAccuracy(): Promise<IncidentSummary['accuracy']> {
    let graded = 0;
    let matched = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: STATUS_INDEX,
          KeyConditionExpression: '#gpk = :gpk',
          ProjectionExpression: '#matched',
          ExpressionAttributeNames: { '#gpk': 'gsi1pk', '#matched': 'matched' },
          ExpressionAttributeValues: { ':gpk': GRADES_KEY },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        graded += 1;
        if (item.matched === true) matched += 1;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return accuracyOf(graded, matched);
  }

  /** A COUNT query, page after page (`Count` is after the filter, per page). */
  async #count(input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey' | 'Select'>): Promise<number> {
    let total = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(new QueryCommand({ ...input, TableName: this.#table, Select: 'COUNT', ExclusiveStartKey: startKey }));
      total += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return total;
  }

  // ───────────── internals ─────────────

  #epoch(date: Date): number {
    return Math.floor(date.getTime() / 1000);
  }

  /** Extends a live DEDUP pointer's TTL; returns its identity, or undefined when there is none (or it expired). */
  async #refreshDedup(alert: NormalizedAlert, now: Date): Promise<IdentityState | undefined> {
    const nowEpoch = this.#epoch(now);
    try {
      const refreshed = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: dedupPk(alert.source, alert.dedupKey), sk: DEDUP_SK },
          UpdateExpression: 'SET #expiresAt = :exp',
          ConditionExpression: 'attribute_exists(pk) AND #expiresAt >= :now',
          ExpressionAttributeNames: { '#expiresAt': 'expiresAt' },
          ExpressionAttributeValues: { ':exp': nowEpoch + this.#ttlSeconds, ':now': nowEpoch },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return identityOf(refreshed.Attributes ?? {});
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return undefined;
    }
  }

  /**
   * Where an alert's delivery lands, from its identity's live pointer (`pointer`, undefined when there is none): a new
   * identity is routed (`route`) and claimed; a known one folds into its incident, reopening it if the vendor had said
   * RESOLVED — or, if that incident is RESOLVED too, is re-pointed to where `route` sends it now (`refiresAnew`). A
   * conditional write lost to a concurrent delivery reads the pointer again and decides again, a bounded number of times.
   */
  async #locate(alert: NormalizedAlert, now: Date, route: Route, pointer: IdentityState | undefined): Promise<Routed> {
    let current = pointer;
    for (let round = 0; round < REROUTE_ROUNDS; round++) {
      if (!current) {
        const target = await route();
        const claim = await this.#claimDedup(alert, now, target.incidentId);
        if (claim.won) return { identity: claim.identity, newIdentity: true, joined: target.joined };
        current = claim.identity;
      }
      if (alert.state !== 'OPEN' || current.state !== 'RESOLVED') return { identity: current, newIdentity: false, joined: false };
      // A re-fire (the vendor said RESOLVED): the one extra read, only on this flip.
      const meta = await this.#getMetaItem(current.incidentId);
      if (!refiresAnew(alert.state, current.state, meta?.status as IncidentStatus | undefined)) {
        return { identity: (await this.#moveIdentity(alert, current, 'OPEN', now.toISOString())).identity, newIdentity: false, joined: false };
      }
      const repointed = await this.#repoint(alert, current, now, route);
      if ('identity' in repointed) return repointed;
      current = repointed.current;
    }
    throw new IntakeContention(dedupPk(alert.source, alert.dedupKey), REROUTE_ROUNDS);
  }

  /**
   * Re-points an identity's DEDUP pointer from `from` (an incident that is RESOLVED) to the incident `route` gives now,
   * as a new claim (a fresh `claimId`, OPEN at version 0: a new identity to that incident), conditional on the pointer
   * still being `from` (same incident, claim, state and version), as an expired pointer is replaced. Exactly one of
   * concurrent re-fires wins; a loser gets the pointer as it is now (`current`, undefined if it expired) to decide again.
   */
  async #repoint(alert: NormalizedAlert, from: IdentityState, now: Date, route: Route): Promise<Routed | { current: IdentityState | undefined }> {
    const target = await route();
    const identity: IdentityState = { incidentId: target.incidentId, claimId: newClaimId(), state: alert.state, version: initialVersion(alert.state) };
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...this.#dedupItem(alert, identity, now), repointedFrom: from.incidentId },
          ConditionExpression: '#incidentId = :incidentId AND #claimId = :claimId AND #state = :state AND #version = :version',
          ExpressionAttributeNames: { '#incidentId': 'incidentId', '#claimId': 'claimId', '#state': 'alertState', '#version': 'stateVersion' },
          ExpressionAttributeValues: { ':incidentId': from.incidentId, ':claimId': from.claimId, ':state': from.state, ':version': from.version },
        }),
      );
      return { identity, newIdentity: true, joined: target.joined };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    return { current: await this.#refreshDedup(alert, now) };
  }

  /** The DEDUP pointer of an identity as claimed now: its incident, state and version, claim id and TTL. */
  #dedupItem(alert: NormalizedAlert, identity: IdentityState, now: Date): Record<string, unknown> {
    return {
      pk: dedupPk(alert.source, alert.dedupKey),
      sk: DEDUP_SK,
      kind: 'DEDUP',
      incidentId: identity.incidentId,
      source: alert.source,
      dedupKey: alert.dedupKey,
      alertState: identity.state,
      stateVersion: identity.version,
      claimId: identity.claimId,
      createdAt: now.toISOString(),
      expiresAt: this.#epoch(now) + this.#ttlSeconds,
    };
  }

  /**
   * Claims the DEDUP pointer of a new identity for `incidentId` (absent or expired): OPEN at version 0 under a new
   * claim id (a RESOLVED alert claims it RESOLVED at 1). `won`: this call claimed it; otherwise the identity is the
   * one a concurrent delivery claimed first.
   */
  async #claimDedup(alert: NormalizedAlert, now: Date, incidentId: string): Promise<{ identity: IdentityState; won: boolean }> {
    const key = { pk: dedupPk(alert.source, alert.dedupKey), sk: DEDUP_SK };
    const nowEpoch = this.#epoch(now);
    // Two rounds: the winner's pointer can expire between our failed claim and the refresh.
    const rounds = 2;
    for (let round = 0; round < rounds; round++) {
      const identity: IdentityState = { incidentId, claimId: newClaimId(), state: alert.state, version: initialVersion(alert.state) };
      try {
        await this.#doc.send(
          new PutCommand({
            TableName: this.#table,
            Item: this.#dedupItem(alert, identity, now),
            ConditionExpression: 'attribute_not_exists(pk) OR #expiresAt < :now',
            ExpressionAttributeNames: { '#expiresAt': 'expiresAt' },
            ExpressionAttributeValues: { ':now': nowEpoch },
          }),
        );
        return { identity, won: true };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const winner = await this.#refreshDedup(alert, now);
      if (winner) return { identity: winner, won: false };
    }
    throw new IntakeContention(key.pk, rounds);
  }

  /**
   * Flips an identity to `to` (OPEN ⇄ RESOLVED), conditional on it being in the other state, adding 1 to its version.
   * `moved`: this call flipped it (repeats flip once). When the condition fails someone else moved it first; the
   * pointer is read again and its current identity returned (whatever it is now, its tags are the truth to assert).
   */
  async #moveIdentity(alert: NormalizedAlert, seen: IdentityState, to: NormalizedAlert['state'], at: string): Promise<{ identity: IdentityState; moved: boolean }> {
    const from: NormalizedAlert['state'] = to === 'OPEN' ? 'RESOLVED' : 'OPEN';
    const key = { pk: dedupPk(alert.source, alert.dedupKey), sk: DEDUP_SK };
    try {
      const out = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: key,
          UpdateExpression: 'SET #state = :to, #changedAt = :at, #version = #version + :one',
          // A pointer that is gone has no state either: the condition fails rather than create a stateless item.
          ConditionExpression: '#state = :from',
          ExpressionAttributeNames: { '#state': 'alertState', '#changedAt': 'stateChangedAt', '#version': 'stateVersion' },
          ExpressionAttributeValues: { ':to': to, ':from': from, ':at': at, ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { identity: identityOf(out.Attributes ?? {}), moved: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const got = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: key, ConsistentRead: true }));
    // Pointers are only ever replaced by a new claim, never deleted by this store: gone means its TTL deletion ran.
    if (!got.Item) throw new AlertIdentityVanished(key.pk);
    // Usually in `to` already (a concurrent delivery moved it), possibly moved on since, or claimed anew after its
    // expiry: whatever it says now is the identity's truth, and asserting its tags is right in every case.
    return { identity: identityOf(got.Item), moved: false };
  }

  /**
   * The incident a new alert for its service joins, or a new id that now owns the service's correlation pointer.
   * Joining slides the window (`expiresAt` = now + window). A pointer naming a closed incident is replaced,
   * conditionally on it still naming that incident, so concurrent alerts agree on the one replacement.
   */
  async #correlate(alert: NormalizedAlert, now: Date, windowSeconds: number, newIncidentId: () => string, options: RecordOptions): Promise<{ incidentId: string; joined: boolean }> {
    const key = { pk: corrPk(alert.environment, alert.service), sk: CORR_SK };
    const nowEpoch = this.#epoch(now);
    const expiresAt = nowEpoch + windowSeconds;
    const claim = async (condition: string, names: Record<string, string>, values: Record<string, unknown>): Promise<string | undefined> => {
      const candidate = newIncidentId();
      try {
        await this.#doc.send(
          new PutCommand({
            TableName: this.#table,
            Item: { ...key, kind: 'CORR', incidentId: candidate, environment: alert.environment ?? null, service: alert.service, lastAlertAt: now.toISOString(), expiresAt },
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        );
        return candidate;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        return undefined;
      }
    };
    const rounds = 4;
    for (let round = 0; round < rounds; round++) {
      let current: string | undefined;
      // One upsert: slides a live pointer's window (keeping its incident), or creates an absent one for a new id
      // (its old image is then empty). Only an expired pointer fails the condition and is claimed by a put below.
      const candidate = newIncidentId();
      try {
        const out = await this.#doc.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: key,
            UpdateExpression:
              'SET #expiresAt = :exp, #lastAlertAt = :at, #incidentId = if_not_exists(#incidentId, :candidate), #kind = :kind, #service = :service, #environment = :environment',
            ConditionExpression: 'attribute_not_exists(pk) OR #expiresAt >= :now',
            ExpressionAttributeNames: { '#expiresAt': 'expiresAt', '#lastAlertAt': 'lastAlertAt', '#incidentId': 'incidentId', '#kind': 'kind', '#service': 'service', '#environment': 'environment' },
            ExpressionAttributeValues: { ':exp': expiresAt, ':now': nowEpoch, ':at': now.toISOString(), ':candidate': candidate, ':kind': 'CORR', ':service': alert.service, ':environment': alert.environment ?? null },
            ReturnValues: 'ALL_OLD',
          }),
        );
        if (out.Attributes?.incidentId === undefined) return { incidentId: candidate, joined: false };
        current = String(out.Attributes.incidentId);
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      if (current !== undefined) {
        const meta = await this.#getMetaItem(current);
        // No META yet: its first writer is between claiming the pointer and putting META (or died there); join anyway.
        const tags = meta ? setSize(meta[OPENINGS_ATTRIBUTE]) + setSize(meta[RESOLUTIONS_ATTRIBUTE]) : 0;
        if (!meta || joinable(meta.status as IncidentStatus, tags, options)) return { incidentId: current, joined: true };
        const replaced = await claim('#incidentId = :closed', { '#incidentId': 'incidentId' }, { ':closed': current });
        if (replaced) return { incidentId: replaced, joined: false };
        continue;
      }
      const claimed = await claim('attribute_not_exists(pk) OR #expiresAt < :now', { '#expiresAt': 'expiresAt' }, { ':now': nowEpoch });
      if (claimed) return { incidentId: claimed, joined: false };
    }
    throw new IntakeContention(key.pk, rounds);
  }

  /**
   * Counts one OPEN delivery on META and creates META from `first` if it is absent, in one UpdateItem (a
   * put-if-absent followed by the count would cost every delivery a second round trip). Every attribute of `first`
   * is `if_not_exists`, so the first writer's META stands. `created` needs no marker: the write that creates META
   * is the one whose `ADD alertCount 1` yields 1, and ADD is atomic, so exactly one writer sees 1. The identity's tags
   * are added to the tag sets (a no-op for tags already there): that is the whole of counting it, idempotent.
   */
  async #countDelivery(first: IncidentMeta, identity: IdentityState): Promise<{ incident: IncidentMeta; created: boolean }> {
    // No numeric identity counters are stored: toMeta derives them from the tag sets.
    const { pk, sk, alertCount: _n, distinctAlerts: _d, resolvedAlerts: _r, updatedAt, ...initial } = this.#metaItem(first);
    const u = new UpdateBuilder();
    for (const [field, value] of Object.entries(initial)) u.setIfAbsent(field, value);
    this.#countIdentity(u.set('updatedAt', updatedAt), identity);
    const out = await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk, sk },
        UpdateExpression: u.expression(),
        ExpressionAttributeNames: u.names,
        ExpressionAttributeValues: u.values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    const incident = toMeta(out.Attributes ?? {});
    return { incident, created: incident.alertCount === 1 };
  }

  /** Counts a delivery and adds its identity's whole history to META's tag sets: what every delivery writes (see `identityTags`). */
  #countIdentity(u: UpdateBuilder, identity: IdentityState): UpdateBuilder {
    const tags = identityTags(identity);
    u.add('alertCount', 1).add(OPENINGS_ATTRIBUTE, new Set(tags.openings));
    // DynamoDB refuses an empty set: an identity that never resolved has no resolution tag to add.
    if (tags.resolutions.length > 0) u.add(RESOLUTIONS_ATTRIBUTE, new Set(tags.resolutions));
    return u;
  }

  /** The ALERT item, numbered by the incident's delivery count (unique: ADD is atomic). */
  async #putAlert(incident: IncidentMeta, stored: StoredAlert): Promise<void> {
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: { pk: incidentPk(incident.incidentId), sk: alertSk(stored.receivedAt, incident.alertCount), kind: 'ALERT', ...stored },
      }),
    );
  }

  #metaItem(meta: IncidentMeta): Record<string, unknown> {
    return {
      pk: incidentPk(meta.incidentId),
      sk: META_SK,
      kind: 'META',
      gsi1pk: statusKey(meta.status),
      gsi1sk: statusSortKey(meta.createdAt, meta.incidentId),
      ...plain(meta),
    };
  }

  /**
   * Strongly consistent BatchGetItem of at most 100 keys. DynamoDB may hand back some keys unprocessed (throttling):
   * those are asked again with exponential backoff, and still-missing keys after the last try are an error, never
   * silently "not found".
   */
  async #batchGet(keys: readonly Record<string, string>[]): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let pending: Record<string, unknown>[] = [...keys];
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (attempt > 0) {
        if (attempt > BATCH_GET_RETRIES) throw new StoreUnavailable(`BatchGetItem left ${pending.length} key(s) unprocessed after ${BATCH_GET_RETRIES} retries`);
        await new Promise((resolve) => setTimeout(resolve, BATCH_GET_BACKOFF_MS * 2 ** (attempt - 1)));
      }
      const out = await this.#doc.send(new BatchGetCommand({ RequestItems: { [this.#table]: { Keys: pending, ConsistentRead: true } } }));
      items.push(...(out.Responses?.[this.#table] ?? []));
      pending = out.UnprocessedKeys?.[this.#table]?.Keys ?? [];
    }
    return items;
  }

  async #getMetaItem(incidentId: string): Promise<Record<string, unknown> | undefined> {
    const got = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: { pk: incidentPk(incidentId), sk: META_SK }, ConsistentRead: true }));
    return got.Item;
  }

  async #queryStatus(status: IncidentStatus, query: ListQuery, before: string | undefined, want: number): Promise<Record<string, unknown>[]> {
    const names: Record<string, string> = { '#gpk': 'gsi1pk' };
    const values: Record<string, unknown> = { ':gpk': statusKey(status) };
    let keyCondition = '#gpk = :gpk';
    if (before) {
      names['#gsk'] = 'gsi1sk';
      values[':before'] = before;
      keyCondition += ' AND #gsk < :before';
    }
    const filters: string[] = [];
    if (query.severity) {
      names['#severity'] = 'severity';
      values[':severity'] = query.severity;
      filters.push('#severity = :severity');
    }
    if (query.service) {
      names['#service'] = 'service';
      values[':service'] = query.service;
      filters.push('#service = :service');
    }
    const found = await this.#query(
      {
        IndexName: STATUS_INDEX,
        KeyConditionExpression: keyCondition,
        ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        Limit: want,
      },
      want,
    );
    return found.slice(0, want);
  }

  /** A Query on the table, page after page, until the last page or until at least `want` items are in hand. */
  async #query(input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>, want = Number.POSITIVE_INFINITY): Promise<Record<string, unknown>[]> {
    const found: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(new QueryCommand({ ...input, TableName: this.#table, ExclusiveStartKey: startKey }));
      found.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey && found.length < want);
    return found;
  }

  /**
   * One conditional update of an incident's META item: `condition` is ANDed with "the incident exists". Returns
   * `{written: true, item}` with the item as written, or `{written: false, item}` with the item as it is when the
   * condition failed; throws IncidentNotFound when there is no incident at all.
   */
  async #updateMetaIf(incidentId: string, u: UpdateBuilder, condition?: string): Promise<{ written: boolean; item: Record<string, unknown> }> {
    try {
      const out = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: incidentPk(incidentId), sk: META_SK },
          UpdateExpression: u.expression(),
          ConditionExpression: condition ? `attribute_exists(pk) AND ${condition}` : 'attribute_exists(pk)',
          ExpressionAttributeNames: u.names,
          ExpressionAttributeValues: u.values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { written: true, item: out.Attributes ?? {} };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const current = await this.#getMetaItem(incidentId);
    if (!current) throw new IncidentNotFound(incidentId);
    return { written: false, item: current };
  }

  /** A plain conditional update of META (must exist); returns the new META. */
  async #update(incidentId: string, u: UpdateBuilder): Promise<IncidentMeta> {
    u.set('updatedAt', this.#clock().toISOString());
    // With no condition of its own, the only way to fail is a missing incident (#updateMetaIf throws then).
    return toMeta((await this.#updateMetaIf(incidentId, u)).item);
  }

  /**
   * An update that may move the status. A non-terminal status is written only if the current one is not
   * terminal (condition); when that condition fails on an existing incident, the rest of the patch is applied
   * without the status, so a late writer never moves RESOLVED/ESCALATED/FAILED back.
   */
  async #updateGuarded(incidentId: string, status: IncidentStatus | undefined, build: (withStatus: boolean) => UpdateBuilder): Promise<IncidentMeta> {
    if (!status || isTerminal(status)) return this.#update(incidentId, build(true));
    const u = build(true).set('updatedAt', this.#clock().toISOString());
    const terminals = TERMINAL_STATUSES.map((s) => u.value(s)).join(', ');
    const { written, item: current } = await this.#updateMetaIf(incidentId, u, `NOT ${u.name('status')} IN (${terminals})`);
    if (written) return toMeta(current);
    const rest = build(false);
    if (!rest.hasValues) return toMeta(current);
    return this.#update(incidentId, rest);
  }
}

/** Sorts one partition's items into an IncidentDetail (items arrive in sort-key order: ALERT, EVENT by time). */
export const assembleDetail = (items: readonly Record<string, unknown>[]): IncidentDetail | undefined => {
  const meta = items.find((i) => i.sk === META_SK);
  if (!meta) return undefined;
  const sorted = [...items].sort((a, b) => byCodeUnit(String(a.sk), String(b.sk)));
  const alerts: StoredAlert[] = [];
  const agents: IncidentDetail['agents'] = {};
  const timeline: TimelineEvent[] = [];
  for (const item of sorted) {
    const sk = String(item.sk);
    if (sk.startsWith('ALERT#')) {
      alerts.push({
        receivedAt: item.receivedAt as string,
        alert: item.alert as NormalizedAlert,
        raw: item.raw,
        deduplicated: Boolean(item.deduplicated),
        ...(item.correlated ? { correlated: true } : {}),
      });
    } else if (sk.startsWith('AGENT#')) {
      const record = item.record as AgentRecord;
      agents[record.agent] = record;
    } else if (sk.startsWith('EVENT#')) {
      timeline.push(item.event as TimelineEvent);
    }
  }
  return { incident: toMeta(meta), alerts, agents, timeline };
};
