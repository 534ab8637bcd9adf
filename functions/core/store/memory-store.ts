/**
 * `IncidentStore` in memory, with the semantics of `DynamoIncidentStore` (same dedup, terminal-status guard,
 * hidden task token, trimming, ordering and cursor format). For unit tests of everything that uses a store.
 * Values are copied in and out (structuredClone), as a database would.
 */
import type { AgentName, AgentRecord, IncidentStatus, NormalizedAlert } from '../model.ts';
import {
  DEFAULT_DEDUP_TTL_HOURS,
  RESOLUTION_LANDING,
  WITHDRAWN_BY,
  alertSk,
  allAlertsResolved,
  corrPk,
  correlationWindow,
  decodeCursor,
  encodeCursor,
  eventSk,
  fitAgentRecord,
  isTerminal,
  landing,
  listLimit,
  newMeta,
  notWithdrawn,
  plain,
  statusSortKey,
  storedAlert,
} from './dynamo-store.ts';
import {
  type AlertIntakeStore,
  type ApprovalDecision,
  ApprovalAlreadyDecided,
  ApprovalRequestMismatch,
  type ApprovalState,
  type IncidentDetail,
  type IncidentMeta,
  IncidentNotFound,
  IncidentNotReady,
  type IncidentStore,
  type IncidentWith,
  type ListQuery,
  type RecordOptions,
  type RecordResult,
  type ResolveResult,
  type StoredAlert,
  type TimelineEvent,
  type WithdrawResult,
} from './store.ts';
import { byCodeUnit } from '../compare.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Entry {
  meta: Mutable<IncidentMeta>;
  taskToken?: string;
  alerts: Map<string, StoredAlert>;
  agents: Map<AgentName, AgentRecord>;
  events: Map<string, TimelineEvent>;
}

export interface MemoryStoreOptions {
  /** @default 72 */
  readonly dedupTtlHours?: number;
  readonly clock?: () => Date;
}

interface Pointer {
  incidentId: string;
  expiresAt: number;
}

export class MemoryIncidentStore implements AlertIntakeStore {
  readonly #incidents = new Map<string, Entry>();
  readonly #dedup = new Map<string, Pointer & { alertState: NormalizedAlert['state'] }>();
  readonly #corr = new Map<string, Pointer>();
  readonly #ttlMs: number;
  readonly #clock: () => Date;

  constructor(options: MemoryStoreOptions = {}) {
    this.#ttlMs = (options.dedupTtlHours ?? DEFAULT_DEDUP_TTL_HOURS) * 3_600_000;
    this.#clock = options.clock ?? (() => new Date());
  }

  /** See `DynamoIncidentStore.recordAlert`; here every step happens at once (no await inside). */
  async recordAlert(alert: NormalizedAlert, raw: unknown, newIncidentId: () => string, options: RecordOptions = {}): Promise<RecordResult> {
    const now = this.#clock();
    const nowIso = now.toISOString();
    const window = correlationWindow(options);
    const pointer = this.#liveDedup(alert, now);
    let incidentId: string;
    let newIdentity = false;
    let joined = false;
    let reopened = false;
    if (pointer) {
      incidentId = pointer.incidentId;
      if (alert.state === 'OPEN' && pointer.alertState === 'RESOLVED') {
        pointer.alertState = 'OPEN';
        reopened = true;
      }
    } else {
      const target = window > 0 ? this.#correlate(alert, now, window, newIncidentId) : { incidentId: newIncidentId(), joined: false };
      incidentId = target.incidentId;
      joined = target.joined;
      newIdentity = true;
      this.#dedup.set(dedupKeyOf(alert), { incidentId, expiresAt: now.getTime() + this.#ttlMs, alertState: alert.state });
    }
    let entry = this.#incidents.get(incidentId);
    const created = !entry;
    if (!entry) {
      entry = { meta: newMeta(incidentId, alert, nowIso), alerts: new Map(), agents: new Map(), events: new Map() };
      this.#incidents.set(incidentId, entry);
    }
    const landed = landing({ created, newIdentity, joined });
    const meta = entry.meta;
    meta.alertCount += 1;
    if (landed.counted) meta.distinctAlerts = (meta.distinctAlerts ?? 0) + 1;
    if (reopened) meta.resolvedAlerts = (meta.resolvedAlerts ?? 0) - 1;
    meta.updatedAt = nowIso;
    entry.alerts.set(alertSk(nowIso, meta.alertCount), storedAlert(nowIso, alert, raw, landed));
    return { incident: structuredClone(meta), created, disposition: landed.disposition };
  }

  async resolveAlert(alert: NormalizedAlert, raw: unknown): Promise<ResolveResult | undefined> {
    const now = this.#clock();
    const nowIso = now.toISOString();
    const pointer = this.#liveDedup(alert, now);
    if (!pointer) return undefined;
    const entry = this.#incidents.get(pointer.incidentId);
    // Unreachable here (recordAlert is atomic); kept so both stores answer a half-opened incident alike.
    if (!entry) throw new IncidentNotReady(pointer.incidentId);
    const newlyResolved = pointer.alertState !== 'RESOLVED';
    pointer.alertState = 'RESOLVED';
    const meta = entry.meta;
    meta.alertCount += 1;
    if (newlyResolved) meta.resolvedAlerts = (meta.resolvedAlerts ?? 0) + 1;
    meta.updatedAt = nowIso;
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

  /** Test helper: the stored task token (the real store never returns it). */
  taskTokenOf(incidentId: string): string | undefined {
    return this.#incidents.get(incidentId)?.taskToken;
  }

  /** The live DEDUP pointer of an alert's identity, its TTL extended. */
  #liveDedup(alert: NormalizedAlert, now: Date) {
    const pointer = this.#dedup.get(dedupKeyOf(alert));
    if (!pointer || pointer.expiresAt < now.getTime()) return undefined;
    pointer.expiresAt = now.getTime() + this.#ttlMs;
    return pointer;
  }

  /** See `DynamoIncidentStore.#correlate`. */
  #correlate(alert: NormalizedAlert, now: Date, windowSeconds: number, newIncidentId: () => string): { incidentId: string; joined: boolean } {
    const key = corrPk(alert.environment, alert.service);
    const expiresAt = now.getTime() + windowSeconds * 1000;
    const pointer = this.#corr.get(key);
    if (pointer && pointer.expiresAt >= now.getTime()) {
      const meta = this.#incidents.get(pointer.incidentId)?.meta;
      if (!meta || !isTerminal(meta.status)) {
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
