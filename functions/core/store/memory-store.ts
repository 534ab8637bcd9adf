/**
 * `IncidentStore` in memory, with the semantics of `DynamoIncidentStore` (same dedup, terminal-status guard,
 * hidden task token, trimming, ordering and cursor format). For unit tests of everything that uses a store.
 * Values are copied in and out (structuredClone), as a database would.
 */
import { type AgentName, type AgentRecord, IncidentStatus, type NormalizedAlert } from '../model.ts';
import {
  accuracyOf,
  DEFAULT_DEDUP_TTL_HOURS,
  RESOLUTION_LANDING,
  WITHDRAWN_BY,
  alertSk,
  allAlertsResolved,
  corrPk,
  correlationWindow,
  countIdentities,
  decodeCursor,
  encodeCursor,
  eventSk,
  fitAgentRecord,
  onceEventSk,
  type IdentityState,
  identityTags,
  initialVersion,
  IntakeContention,
  isTerminal,
  joinable,
  landedInClosed,
  landing,
  listLimit,
  newClaimId,
  newMeta,
  notWithdrawn,
  openingClaimable,
  openingJournal,
  RELEASED_CLAIM_UNTIL,
  plain,
  REROUTE_ROUNDS,
  refiresAnew,
  statusSortKey,
  storedAlert,
} from './dynamo-store.ts';
import {
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
  type RecordOptions,
  type RecordResult,
  type ResolveResult,
  type ResolutionStep,
  type ResolutionStore,
  type StoredAlert,
  type SummaryStore,
  type TimelineEvent,
  type WithdrawResult,
} from './store.ts';
import { byCodeUnit } from '../compare.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Entry {
  meta: Mutable<IncidentMeta>;
  /** The identity tag sets (see `countIdentities` in dynamo-store.ts); `meta`'s counts are derived from them. */
  openings: Set<string>;
  resolutions: Set<string>;
  taskToken?: string;
  alerts: Map<string, StoredAlert>;
  agents: Map<AgentName, AgentRecord>;
  events: Map<string, TimelineEvent>;
}

/** The writes of alert intake that DynamoIncidentStore makes as separate requests, where a failure can fall between. */
export type IntakeStep = 'claim' | 'flip' | 'count';

export interface MemoryStoreOptions {
  /** @default 72 */
  readonly dedupTtlHours?: number;
  readonly clock?: () => Date;
  /**
   * Called after each intake write has landed (the DEDUP claim, a state flip, the META count). A test throws from it
   * to play the failures DynamoDB can have between those requests: a response lost after the write was applied, a
   * Lambda that died before its next request. The write stays done, as it would in DynamoDB.
   */
  readonly afterWrite?: (step: IntakeStep) => Promise<void> | void;
}

interface Pointer {
  incidentId: string;
  expiresAt: number;
}

interface DedupPointer extends Pointer {
  alertState: NormalizedAlert['state'];
  stateVersion: number;
  claimId: string;
}

export class MemoryIncidentStore implements AlertIntakeStore, ResolutionStore, SummaryStore {
  readonly #incidents = new Map<string, Entry>();
  /** The grade items (GRADE#<id>), by incident id. */
  readonly #grades = new Map<string, GradeRecord>();
  readonly #dedup = new Map<string, DedupPointer>();
  readonly #corr = new Map<string, Pointer>();
  readonly #ttlMs: number;
  readonly #clock: () => Date;
  readonly #afterWrite: (step: IntakeStep) => Promise<void> | void;

  constructor(options: MemoryStoreOptions = {}) {
    this.#ttlMs = (options.dedupTtlHours ?? DEFAULT_DEDUP_TTL_HOURS) * 3_600_000;
    this.#clock = options.clock ?? (() => new Date());
    this.#afterWrite = options.afterWrite ?? (() => undefined);
  }

  /**
   * See `DynamoIncidentStore.recordAlert`: the same steps, each write atomic here, with `afterWrite` between them
   * where DynamoDB has separate requests (so the contract can fail a delivery there and check its retry).
   */
  async recordAlert(alert: NormalizedAlert, raw: unknown, newIncidentId: () => string, options: RecordOptions = {}): Promise<RecordResult> {
    const now = this.#clock();
    const nowIso = now.toISOString();
    const window = correlationWindow(options);
    const route: Route = () => (window > 0 ? this.#correlate(alert, now, window, newIncidentId, options) : { incidentId: newIncidentId(), joined: false });
    let routed = await this.#locate(alert, now, route, this.#liveDedup(alert, now));
    let seen = snapshot(routed.pointer);
    let { entry, created } = await this.#count(routed.pointer, alert, nowIso);
    let landed = landing({ created, newIdentity: routed.newIdentity, joined: routed.joined });
    // See `landedInClosed`: correlation found the incident joinable, and it was RESOLVED before the count landed.
    for (let round = 0; landedInClosed(landed.disposition, entry.meta.status); round++) {
      if (round >= REROUTE_ROUNDS) throw new IntakeContention(`DEDUP#${dedupKeyOf(alert)}`, REROUTE_ROUNDS);
      const repointed = await this.#repoint(alert, seen, now, route);
      routed = 'pointer' in repointed ? repointed : await this.#locate(alert, now, route, repointed.current);
      seen = snapshot(routed.pointer);
      ({ entry, created } = await this.#count(routed.pointer, alert, nowIso));
      landed = landing({ created, newIdentity: routed.newIdentity, joined: routed.joined });
    }
    entry.alerts.set(alertSk(nowIso, entry.meta.alertCount), storedAlert(nowIso, alert, raw, landed));
    return { incident: structuredClone(entry.meta), created, disposition: landed.disposition };
  }

  async resolveAlert(alert: NormalizedAlert, raw: unknown): Promise<ResolveResult | undefined> {
    const now = this.#clock();
    const nowIso = now.toISOString();
    const pointer = this.#liveDedup(alert, now);
    if (!pointer) return undefined;
    const newlyResolved = pointer.alertState !== 'RESOLVED';
    if (newlyResolved) await this.#flip(pointer, 'RESOLVED');
    const entry = this.#incidents.get(pointer.incidentId);
    // The opening delivery is between its claim and its count, or died there: the identity stays RESOLVED, and the
    // sender's retry adds its tags once META exists (as DynamoIncidentStore does).
    if (!entry) throw new IncidentNotReady(pointer.incidentId);
    this.#assertTags(entry, pointer);
    const meta = entry.meta;
    meta.alertCount += 1;
    meta.updatedAt = nowIso;
    await this.#afterWrite('count');
    entry.alerts.set(alertSk(nowIso, meta.alertCount), storedAlert(nowIso, alert, raw, RESOLUTION_LANDING));
    return { incident: structuredClone(meta), newlyResolved, allResolved: allAlertsResolved(meta) };
  }

  async withdrawApproval(incidentId: string, reason: string): Promise<WithdrawResult> {
    const entry = this.#entry(incidentId);
    const current = entry.meta.approval;
    if (current?.status !== 'PENDING' || entry.taskToken === undefined || !allAlertsResolved(entry.meta)) {
      return notWithdrawn(current ? structuredClone(current) : undefined, entry.taskToken !== undefined);
    }
    const approval: ApprovalState = { ...current, status: 'WITHDRAWN', decidedAt: this.#clock().toISOString(), approver: WITHDRAWN_BY, comment: reason };
    entry.meta.approval = approval;
    this.#touch(entry);
    return { withdrawn: true, taskToken: entry.taskToken, approval: structuredClone(approval) };
  }

  async undoWithdrawal(incidentId: string): Promise<void> {
    const entry = this.#entry(incidentId);
    const current = entry.meta.approval;
    if (current?.status !== 'WITHDRAWN') return;
    const { decidedAt: _d, approver: _a, comment: _c, ...rest } = current;
    entry.meta.approval = { ...rest, status: 'PENDING' };
    this.#touch(entry);
  }

  /** See `DynamoIncidentStore.claimOpening`: the same condition, one atomic step here. */
  async claimOpening(incidentId: string, claim: OpeningClaim): Promise<OpeningClaimResult> {
    const entry = this.#entry(incidentId);
    if (!openingClaimable(entry.meta, claim.at)) return { claimed: false, incident: structuredClone(entry.meta) };
    entry.meta.opening = openingJournal(claim);
    this.#touch(entry);
    return { claimed: true, incident: structuredClone(entry.meta) };
  }

  async recordOpeningStarted(incidentId: string, claimId: string, executionArn: string): Promise<boolean> {
    const entry = this.#entry(incidentId);
    const opening = entry.meta.opening;
    if (opening?.claimId !== claimId) return false;
    // Never replaces an ARN already there (a rerun's), as DynamoIncidentStore's `if_not_exists`.
    entry.meta.executionArn ??= executionArn;
    entry.meta.opening = { ...opening, startedAt: this.#clock().toISOString() };
    this.#touch(entry);
    return true;
  }

  async markOpeningPublished(incidentId: string, _claimId: string): Promise<void> {
    const entry = this.#entry(incidentId);
    const opening = entry.meta.opening;
    if (!opening) return;
    entry.meta.opening = { ...opening, publishedAt: this.#clock().toISOString() };
    this.#touch(entry);
  }

  async releaseOpening(incidentId: string, claimId: string): Promise<void> {
    const entry = this.#entry(incidentId);
    const opening = entry.meta.opening;
    if (opening?.claimId !== claimId || opening.publishedAt !== undefined) return;
    entry.meta.opening = { ...opening, claimedUntil: RELEASED_CLAIM_UNTIL };
  }

  /** See `DynamoIncidentStore.replaceExecutionArn`: the same condition, one atomic step here. */
  async replaceExecutionArn(incidentId: string, expected: string | undefined, executionArn: string): Promise<ExecutionArnSwap> {
    const entry = this.#entry(incidentId);
    if (entry.meta.executionArn !== expected) return { replaced: false, incident: structuredClone(entry.meta) };
    entry.meta.executionArn = executionArn;
    this.#touch(entry);
    return { replaced: true, incident: structuredClone(entry.meta) };
  }

  async findByDedupKey(source: NormalizedAlert['source'], dedupKey: string): Promise<IncidentMeta | undefined> {
    const pointer = this.#dedup.get(dedupKeyOf({ source, dedupKey }));
    if (!pointer || pointer.expiresAt < this.#clock().getTime()) return undefined;
    return this.getIncident(pointer.incidentId);
  }

  async getIncident(incidentId: string): Promise<IncidentMeta | undefined> {
    const entry = this.#incidents.get(incidentId);
    return entry ? structuredClone(entry.meta) : undefined;
  }

  async getIncidentWith(incidentId: string, agents: readonly AgentName[]): Promise<IncidentWith | undefined> {
    const entry = this.#incidents.get(incidentId);
    if (!entry) return undefined;
    const records: Partial<Record<AgentName, AgentRecord>> = {};
    for (const agent of agents) {
      const record = entry.agents.get(agent);
      if (record) records[agent] = structuredClone(record);
    }
    return { incident: structuredClone(entry.meta), records };
  }

  async getDetail(incidentId: string): Promise<IncidentDetail | undefined> {
    const entry = this.#incidents.get(incidentId);
    if (!entry) return undefined;
    const bySortKey = <T>(map: Map<string, T>): T[] => [...map.entries()].sort(([a], [b]) => byCodeUnit(a, b)).map(([, v]) => v);
    return structuredClone({
      incident: entry.meta,
      alerts: bySortKey(entry.alerts),
      agents: Object.fromEntries(entry.agents),
      timeline: bySortKey(entry.events),
    });
  }

  async listIncidents(query: ListQuery): Promise<{ items: IncidentMeta[]; cursor?: string }> {
    const limit = listLimit(query.limit);
    const before = query.cursor ? decodeCursor(query.cursor) : undefined;
    const matching = [...this.#incidents.values()]
      .map((e) => ({ meta: e.meta, sortKey: statusSortKey(e.meta.createdAt, e.meta.incidentId) }))
      .filter(({ meta, sortKey }) =>
        (!query.status || meta.status === query.status) &&
        (!query.severity || meta.severity === query.severity) &&
        (!query.service || meta.service === query.service) &&
        (!before || sortKey < before),
      )
      .sort((a, b) => byCodeUnit(b.sortKey, a.sortKey));
    const page = matching.slice(0, limit);
    const last = page.at(-1);
    return { items: page.map((p) => structuredClone(p.meta)), ...(matching.length > limit && last ? { cursor: encodeCursor(last.sortKey) } : {}) };
  }

  async setExecutionArn(incidentId: string, executionArn: string): Promise<void> {
    const entry = this.#entry(incidentId);
    entry.meta.executionArn = executionArn;
    this.#touch(entry);
  }

  async updateIncident(incidentId: string, patch: Parameters<IncidentStore['updateIncident']>[1]): Promise<IncidentMeta> {
    const entry = this.#entry(incidentId);
    for (const [field, value] of Object.entries(patch)) {
      if (value === undefined || field === 'status') continue;
      (entry.meta as Record<string, unknown>)[field] = plain(value);
    }
    if (patch.status) this.#moveStatus(entry, patch.status);
    this.#touch(entry);
    return structuredClone(entry.meta);
  }

  async putAgentRecord(incidentId: string, record: AgentRecord): Promise<void> {
    // Like DynamoDB, an item write does not check that the incident exists; keep it reachable if it does.
    this.#incidents.get(incidentId)?.agents.set(record.agent, fitAgentRecord(record));
  }

  async getAgentRecord(incidentId: string, agent: AgentName): Promise<AgentRecord | undefined> {
    const record = this.#incidents.get(incidentId)?.agents.get(agent);
    return record ? structuredClone(record) : undefined;
  }

  async appendEvent(incidentId: string, event: Omit<TimelineEvent, 'at'> & { at?: string }): Promise<void> {
    const at = event.at ?? this.#clock().toISOString();
    this.#incidents.get(incidentId)?.events.set(eventSk(at), plain({ ...event, at }));
  }

  async requestApproval(incidentId: string, taskToken: string, approval: ApprovalState): Promise<IncidentMeta> {
    const entry = this.#entry(incidentId);
    entry.taskToken = taskToken;
    entry.meta.approval = plain({ ...approval, status: 'PENDING' });
    this.#moveStatus(entry, 'AWAITING_APPROVAL');
    this.#touch(entry);
    return structuredClone(entry.meta);
  }

  async decideApproval(incidentId: string, decision: ApprovalDecision, approver: string, comment?: string, requestId?: string): Promise<{ taskToken: string; approval: ApprovalState }> {
    const entry = this.#entry(incidentId);
    const current = entry.meta.approval;
    if (current?.status !== 'PENDING' || entry.taskToken === undefined) throw new ApprovalAlreadyDecided(current ? structuredClone(current) : undefined);
    if (requestId !== undefined && current.requestId !== requestId) throw new ApprovalRequestMismatch(structuredClone(current));
    const approval: ApprovalState = {
      ...current,
      status: decision === 'approve' ? 'APPROVED' : 'REJECTED',
      decidedAt: this.#clock().toISOString(),
      approver,
      ...(comment !== undefined ? { comment } : {}),
    };
    entry.meta.approval = approval;
    this.#touch(entry);
    return { taskToken: entry.taskToken, approval: structuredClone(approval) };
  }

  async undoDecision(incidentId: string): Promise<void> {
    const entry = this.#entry(incidentId);
    const current = entry.meta.approval;
    if (current?.status !== 'APPROVED' && current?.status !== 'REJECTED') return;
    const { decidedAt: _d, approver: _a, comment: _c, ...rest } = current;
    entry.meta.approval = { ...rest, status: 'PENDING' };
    this.#touch(entry);
  }

  /** See `DynamoIncidentStore.reopen`. */
  async reopen(incidentId: string): Promise<IncidentMeta> {
    const entry = this.#entry(incidentId);
    if (isTerminal(entry.meta.status)) {
      const { outcome: _o, failure: _f, resolvedAt: _r, reportLocation: _l, approval: _a, ...rest } = entry.meta;
      entry.meta = { ...rest, status: 'INVESTIGATING' };
      entry.taskToken = undefined;
      this.#touch(entry);
    }
    return structuredClone(entry.meta);
  }

  // ───────────── resolutions and the summary (see DynamoIncidentStore) ─────────────

  async recordResolution(incidentId: string, resolution: IncidentResolution): Promise<{ recorded: boolean; incident: IncidentMeta }> {
    const entry = this.#entry(incidentId);
    if (!isTerminal(entry.meta.status) || entry.meta.resolution) return { recorded: false, incident: structuredClone(entry.meta) };
    entry.meta.resolution = plain(resolution);
    entry.meta.status = 'RESOLVED';
    entry.meta.resolvedAt ??= resolution.at;
    this.#touch(entry);
    return { recorded: true, incident: structuredClone(entry.meta) };
  }

  async markResolutionStep(incidentId: string, step: ResolutionStep, at: string): Promise<void> {
    const entry = this.#entry(incidentId);
    if (entry.meta.resolution && entry.meta.resolution[step] === undefined) entry.meta.resolution = { ...entry.meta.resolution, [step]: at };
  }

  async putGrade(grade: GradeRecord): Promise<void> {
    this.#grades.set(grade.incidentId, plain(grade));
  }

  async appendEventOnce(incidentId: string, key: string, event: TimelineEvent): Promise<void> {
    const events = this.#incidents.get(incidentId)?.events;
    const sk = onceEventSk(event.at, key);
    if (events && !events.has(sk)) events.set(sk, plain(event));
  }

  async summarize(): Promise<IncidentSummary> {
    const counts = Object.fromEntries(IncidentStatus.options.map((s) => [s, 0])) as Record<IncidentStatus, number>;
    for (const entry of this.#incidents.values()) counts[entry.meta.status] += 1;
    const grades = [...this.#grades.values()];
    return { counts, total: this.#incidents.size, accuracy: accuracyOf(grades.length, grades.filter((g) => g.matched).length) };
  }

  /** Test helper: the stored task token (the real store never returns it). */
  taskTokenOf(incidentId: string): string | undefined {
    return this.#incidents.get(incidentId)?.taskToken;
  }

  /**
   * See `DynamoIncidentStore.#locate`: a new identity is routed and claimed; a known one folds, reopens, or — a re-fire
   * whose incident is RESOLVED (`refiresAnew`) — is re-pointed to where `route` sends it now.
   */
  async #locate(alert: NormalizedAlert, now: Date, route: Route, pointer: DedupPointer | undefined): Promise<Routed> {
    let current = pointer;
    for (let round = 0; round < REROUTE_ROUNDS; round++) {
      if (!current) {
        const target = route();
        const claimed: DedupPointer = { incidentId: target.incidentId, expiresAt: now.getTime() + this.#ttlMs, alertState: alert.state, stateVersion: initialVersion(alert.state), claimId: newClaimId() };
        this.#dedup.set(dedupKeyOf(alert), claimed);
        await this.#afterWrite('claim');
        return { pointer: claimed, newIdentity: true, joined: target.joined };
      }
      if (alert.state !== 'OPEN' || current.alertState !== 'RESOLVED') return { pointer: current, newIdentity: false, joined: false };
      if (!refiresAnew(alert.state, current.alertState, this.#incidents.get(current.incidentId)?.meta.status)) {
        await this.#flip(current, 'OPEN');
        return { pointer: current, newIdentity: false, joined: false };
      }
      const repointed = await this.#repoint(alert, snapshot(current), now, route);
      if ('pointer' in repointed) return repointed;
      current = repointed.current;
    }
    throw new IntakeContention(`DEDUP#${dedupKeyOf(alert)}`, REROUTE_ROUNDS);
  }

  /**
   * See `DynamoIncidentStore.#repoint`: a new claim for the incident `route` gives now, only while the pointer is still
   * `from` (same incident, claim, state and version); otherwise the pointer as it is now (undefined if it expired).
   */
  async #repoint(alert: NormalizedAlert, from: IdentityState, now: Date, route: Route): Promise<Routed | { current: DedupPointer | undefined }> {
    const target = route();
    const live = this.#liveDedup(alert, now);
    if (!live || live.incidentId !== from.incidentId || live.claimId !== from.claimId || live.alertState !== from.state || live.stateVersion !== from.version) return { current: live };
    const repointed: DedupPointer = { incidentId: target.incidentId, expiresAt: now.getTime() + this.#ttlMs, alertState: alert.state, stateVersion: initialVersion(alert.state), claimId: newClaimId() };
    this.#dedup.set(dedupKeyOf(alert), repointed);
    await this.#afterWrite('claim');
    return { pointer: repointed, newIdentity: true, joined: target.joined };
  }

  /** OPEN ⇄ RESOLVED, one version further (see `DynamoIncidentStore.#moveIdentity`). */
  async #flip(pointer: DedupPointer, to: NormalizedAlert['state']): Promise<void> {
    pointer.alertState = to;
    pointer.stateVersion += 1;
    await this.#afterWrite('flip');
  }

  /** Counts an OPEN delivery on META (created from this alert if absent) and asserts the identity's tags. */
  async #count(pointer: DedupPointer, alert: NormalizedAlert, nowIso: string): Promise<{ entry: Entry; created: boolean }> {
    let entry = this.#incidents.get(pointer.incidentId);
    const created = !entry;
    if (!entry) {
      entry = { meta: newMeta(pointer.incidentId, alert, nowIso), openings: new Set(), resolutions: new Set(), alerts: new Map(), agents: new Map(), events: new Map() };
      this.#incidents.set(pointer.incidentId, entry);
    }
    this.#assertTags(entry, pointer);
    entry.meta.alertCount += 1;
    entry.meta.updatedAt = nowIso;
    await this.#afterWrite('count');
    return { entry, created };
  }

  /** Adds the identity's history to the incident's tag sets and derives the counts (see `countIdentities`). */
  #assertTags(entry: Entry, pointer: DedupPointer): void {
    const identity: IdentityState = { incidentId: pointer.incidentId, claimId: pointer.claimId, state: pointer.alertState, version: pointer.stateVersion };
    const tags = identityTags(identity);
    for (const tag of tags.openings) entry.openings.add(tag);
    for (const tag of tags.resolutions) entry.resolutions.add(tag);
    Object.assign(entry.meta, countIdentities(entry.openings, entry.resolutions));
  }

  /** The live DEDUP pointer of an alert's identity, its TTL extended. */
  #liveDedup(alert: NormalizedAlert, now: Date) {
    const pointer = this.#dedup.get(dedupKeyOf(alert));
    if (!pointer || pointer.expiresAt < now.getTime()) return undefined;
    pointer.expiresAt = now.getTime() + this.#ttlMs;
    return pointer;
  }

  /** See `DynamoIncidentStore.#correlate`. */
  #correlate(alert: NormalizedAlert, now: Date, windowSeconds: number, newIncidentId: () => string, options: RecordOptions): { incidentId: string; joined: boolean } {
    const key = corrPk(alert.environment, alert.service);
    const expiresAt = now.getTime() + windowSeconds * 1000;
    const pointer = this.#corr.get(key);
    if (pointer && pointer.expiresAt >= now.getTime()) {
      const entry = this.#incidents.get(pointer.incidentId);
      if (!entry || joinable(entry.meta.status, entry.openings.size + entry.resolutions.size, options)) {
        pointer.expiresAt = expiresAt;
        return { incidentId: pointer.incidentId, joined: true };
      }
    }
    const incidentId = newIncidentId();
    this.#corr.set(key, { incidentId, expiresAt });
    return { incidentId, joined: false };
  }

  #entry(incidentId: string): Entry {
    const entry = this.#incidents.get(incidentId);
    if (!entry) throw new IncidentNotFound(incidentId);
    return entry;
  }

  #moveStatus(entry: Entry, status: IncidentStatus): void {
    if (isTerminal(entry.meta.status) && !isTerminal(status)) return;
    entry.meta.status = status;
  }

  #touch(entry: Entry): void {
    entry.meta.updatedAt = this.#clock().toISOString();
  }
}

const dedupKeyOf = (alert: Pick<NormalizedAlert, 'source' | 'dedupKey'>): string => `${alert.source}:${alert.dedupKey}`;

/** Where a new identity goes: the service's correlated incident, or a new id. */
type Route = () => { incidentId: string; joined: boolean };

/** Where a delivery lands (see `Routed` in dynamo-store.ts), with the live pointer object. */
interface Routed {
  readonly pointer: DedupPointer;
  readonly newIdentity: boolean;
  readonly joined: boolean;
}

/** A pointer's identity as it is now (the pointer object itself changes when its identity flips). */
const snapshot = (pointer: DedupPointer): IdentityState => ({ incidentId: pointer.incidentId, claimId: pointer.claimId, state: pointer.alertState, version: pointer.stateVersion });
