/**
 * Shared fakes for agent unit tests: a full `Tools` object from partial overrides (what is not overridden
 * answers "nothing found"), and `AgentDeps` around an in-memory incident store, the offline reasoner, a
 * recording event publisher and a fixed clock.
 *
 * `fakeDeps()` uses the shared `MemoryIncidentStore` (DynamoDB-faithful semantics). `FakeIncidentStore` is a
 * smaller store whose maps are public, for tests that inspect the timeline directly; pass it as
 * `fakeDeps({ store })`.
 */
import type { AgentDeps, DetailType, EventPublisher } from '../../../functions/core/deps.ts';
import type { AgentName, AgentRecord, NormalizedAlert } from '../../../functions/core/model.ts';
import { offlineReasoner, type Reasoner } from '../../../functions/core/reasoning/reasoner.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { type ActionJournal, MemoryActionJournal } from '../../../functions/core/store/journal.ts';
import {
  type AlertIntakeStore,
  ApprovalAlreadyDecided,
  ApprovalRequestMismatch,
  type ApprovalDecision,
  type ApprovalState,
  IncidentNotFound,
  type WithdrawResult,
  type IncidentDetail,
  type IncidentMeta,
  type IncidentStore,
  type IncidentWith,
  type ListQuery,
  type StoredAlert,
  type TimelineEvent,
} from '../../../functions/core/store/store.ts';
import type { Actions, ChangeHistory, Logs, MetricSeries, OnCall, Telemetry, Tools } from '../../../functions/core/tools/ports.ts';

export interface PartialTools {
  readonly telemetry?: Partial<Telemetry>;
  readonly changes?: Partial<ChangeHistory>;
  readonly logs?: Partial<Logs>;
  readonly oncall?: Partial<OnCall>;
  readonly actions?: Partial<Actions>;
}

/** A full `Tools` object: overridden methods as given, the rest return empty results. */
export const fakeTools = (partial: PartialTools = {}): Tools => ({
  telemetry: {
    queryMetrics: async () => [],
    getTraces: async () => [],
    getTopology: async () => [],
    ...partial.telemetry,
  },
  changes: {
    listChanges: async () => [],
    searchIncidents: async () => [],
    recordIncident: async () => undefined,
    ...partial.changes,
  },
  logs: { search: async () => [], ...partial.logs },
  oncall: { getOnCall: async () => [], getOwnership: async () => [], ...partial.oncall },
  actions: { execute: async () => ({ status: 'succeeded', detail: 'fake action' }), ...partial.actions },
});

/** An async function that always rejects, for "tool is down" tests. */
export const failing =
  (message = 'connection refused') =>
  async (): Promise<never> => {
    throw new Error(message);
  };

export class RecordingPublisher implements EventPublisher {
  readonly published: { detailType: DetailType; detail: Record<string, unknown> }[] = [];
  async publish(detailType: DetailType, detail: Record<string, unknown>): Promise<void> {
    this.published.push({ detailType, detail });
  }
}

const TERMINAL = new Set(['RESOLVED', 'ESCALATED', 'FAILED']);

/** Minimal in-memory `IncidentStore` whose maps are public (inspect `timeline`, `agents` directly). */
export class FakeIncidentStore implements IncidentStore {
  readonly incidents = new Map<string, IncidentMeta>();
  readonly alerts = new Map<string, StoredAlert[]>();
  readonly agents = new Map<string, Partial<Record<AgentName, AgentRecord>>>();
  readonly timeline = new Map<string, TimelineEvent[]>();
  readonly #dedup = new Map<string, string>();
  readonly #tokens = new Map<string, string>();
  readonly #now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  /** Opens (or folds into) an incident for the alert, the way intake would, for tests that start from an open incident. */
  async open(alert: NormalizedAlert, raw: unknown, newIncidentId: () => string): Promise<{ incident: IncidentMeta; created: boolean }> {
    const key = `${alert.source}:${alert.dedupKey}`;
    const existing = this.#dedup.get(key);
    const now = this.#now().toISOString();
    if (existing) {
      const incident = this.#must(existing);
      const updated = { ...incident, alertCount: incident.alertCount + 1, updatedAt: now };
      this.incidents.set(existing, updated);
      this.alerts.get(existing)?.push({ receivedAt: now, alert, raw, deduplicated: true });
      return { incident: updated, created: false };
    }
    const incidentId = newIncidentId();
    const incident: IncidentMeta = {
      incidentId,
      status: 'OPEN',
      severity: alert.severity,
      title: alert.title,
      service: alert.service,
      environment: alert.environment,
      source: alert.source,
      dedupKey: alert.dedupKey,
      createdAt: now,
      updatedAt: now,
      startedAt: alert.startedAt,
      alertCount: 1,
    };
    this.#dedup.set(key, incidentId);
    this.incidents.set(incidentId, incident);
    this.alerts.set(incidentId, [{ receivedAt: now, alert, raw, deduplicated: false }]);
    return { incident, created: true };
  }

  async getIncident(incidentId: string): Promise<IncidentMeta | undefined> {
    return this.incidents.get(incidentId);
  }

  async getIncidentWith(incidentId: string, agents: readonly AgentName[]): Promise<IncidentWith | undefined> {
    const incident = this.incidents.get(incidentId);
    if (!incident) return undefined;
    const all = this.agents.get(incidentId) ?? {};
    return { incident, records: Object.fromEntries(agents.flatMap((a) => (all[a] ? [[a, all[a]]] : []))) };
  }

  async findByDedupKey(source: NormalizedAlert['source'], dedupKey: string): Promise<IncidentMeta | undefined> {
    const id = this.#dedup.get(`${source}:${dedupKey}`);
    return id ? this.incidents.get(id) : undefined;
  }

  async reopen(incidentId: string): Promise<IncidentMeta> {
    const { outcome: _o, failure: _f, reportLocation: _r, approval: _a, resolvedAt: _d, ...rest } = this.#must(incidentId);
    const reopened: IncidentMeta = { ...rest, status: 'INVESTIGATING', updatedAt: this.#now().toISOString() };
    this.incidents.set(incidentId, reopened);
    return reopened;
  }

  async getDetail(incidentId: string): Promise<IncidentDetail | undefined> {
    const incident = this.incidents.get(incidentId);
    if (!incident) return undefined;
    return { incident, alerts: this.alerts.get(incidentId) ?? [], agents: this.agents.get(incidentId) ?? {}, timeline: this.timeline.get(incidentId) ?? [] };
  }

  async listIncidents(query: ListQuery): Promise<{ items: IncidentMeta[]; cursor?: string }> {
    const items = [...this.incidents.values()]
      .filter((i) => (!query.status || i.status === query.status) && (!query.severity || i.severity === query.severity) && (!query.service || i.service === query.service))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    return { items: items.slice(0, query.limit ?? 50) };
  }

  async setExecutionArn(incidentId: string, executionArn: string): Promise<void> {
    this.incidents.set(incidentId, { ...this.#must(incidentId), executionArn });
  }

  async updateIncident(incidentId: string, patch: Parameters<IncidentStore['updateIncident']>[1]): Promise<IncidentMeta> {
    const current = this.#must(incidentId);
    const keepStatus = patch.status && TERMINAL.has(current.status) && !TERMINAL.has(patch.status);
    const updated: IncidentMeta = { ...current, ...patch, status: keepStatus ? current.status : (patch.status ?? current.status), updatedAt: this.#now().toISOString() };
    this.incidents.set(incidentId, updated);
    return updated;
  }

  async putAgentRecord(incidentId: string, record: AgentRecord): Promise<void> {
    this.#must(incidentId);
    this.agents.set(incidentId, { ...this.agents.get(incidentId), [record.agent]: record });
  }

  async getAgentRecord(incidentId: string, agent: AgentName): Promise<AgentRecord | undefined> {
    return this.agents.get(incidentId)?.[agent];
  }

  async appendEvent(incidentId: string, event: Omit<TimelineEvent, 'at'> & { at?: string }): Promise<void> {
    const list = this.timeline.get(incidentId) ?? [];
    list.push({ ...event, at: event.at ?? this.#now().toISOString() });
    this.timeline.set(incidentId, list);
  }

  async requestApproval(incidentId: string, taskToken: string, approval: ApprovalState): Promise<IncidentMeta> {
    this.#tokens.set(incidentId, taskToken);
    return this.updateIncident(incidentId, { status: 'AWAITING_APPROVAL', approval: { ...approval, status: 'PENDING' } });
  }

  async decideApproval(incidentId: string, decision: ApprovalDecision, approver: string, comment?: string, requestId?: string): Promise<{ taskToken: string; approval: ApprovalState }> {
    const incident = this.#must(incidentId);
    const token = this.#tokens.get(incidentId);
    if (!token || incident.approval?.status !== 'PENDING') throw new ApprovalAlreadyDecided(incident.approval);
    if (requestId !== undefined && incident.approval.requestId !== requestId) throw new ApprovalRequestMismatch(incident.approval);
    const approval: ApprovalState = { ...incident.approval, status: decision === 'approve' ? 'APPROVED' : 'REJECTED', approver, comment, decidedAt: this.#now().toISOString() };
    await this.updateIncident(incidentId, { approval });
    return { taskToken: token, approval };
  }

  async undoDecision(incidentId: string): Promise<void> {
    const incident = this.#must(incidentId);
    if (incident.approval) await this.updateIncident(incidentId, { approval: { ...incident.approval, status: 'PENDING', approver: undefined, decidedAt: undefined } });
  }

  #must(incidentId: string): IncidentMeta {
    const incident = this.incidents.get(incidentId);
    if (!incident) throw new IncidentNotFound(incidentId);
    return incident;
  }

  /** This fake counts no alert resolutions, so there is never a withdrawal. */
  async withdrawApproval(incidentId: string): Promise<WithdrawResult> {
    const incident = this.incidents.get(incidentId);
    if (!incident) throw new IncidentNotFound(incidentId);
    return incident.approval?.status === 'PENDING' ? { withdrawn: false, reason: 'alerts-open', approval: incident.approval } : { withdrawn: false, reason: 'not-pending', approval: incident.approval };
  }
}

/** The default fake "now": 2026-03-14T12:30:00Z. */
export const FAKE_NOW = new Date('2026-03-14T12:30:00.000Z');

export interface FakeDepsOptions {
  readonly store?: IncidentStore;
  readonly tools?: Tools | PartialTools;
  readonly clock?: () => Date;
  readonly reasoner?: Reasoner;
  readonly events?: EventPublisher;
  /** The action journal. @default a fresh MemoryActionJournal */
  readonly journal?: ActionJournal;
}

const isTools = (t: Tools | PartialTools): t is Tools =>
  typeof (t as Tools).telemetry?.queryMetrics === 'function' &&
  typeof (t as Tools).changes?.searchIncidents === 'function' &&
  typeof (t as Tools).logs?.search === 'function' &&
  typeof (t as Tools).oncall?.getOnCall === 'function' &&
  typeof (t as Tools).actions?.execute === 'function';

/** AgentDeps for tests: `MemoryIncidentStore`, offline reasoner, recording publisher, fixed clock (FAKE_NOW). */
export const fakeDeps = (options: FakeDepsOptions = {}): AgentDeps & { readonly store: IncidentStore; readonly events: EventPublisher; readonly journal: ActionJournal } => {
  const clock = options.clock ?? (() => new Date(FAKE_NOW));
  const tools = options.tools ? (isTools(options.tools) ? options.tools : fakeTools(options.tools)) : fakeTools();
  return {
    store: options.store ?? new MemoryIncidentStore({ clock }),
    tools,
    reasoner: options.reasoner ?? offlineReasoner,
    events: options.events ?? new RecordingPublisher(),
    journal: options.journal ?? new MemoryActionJournal(),
    clock,
  };
};

/** A valid normalised alert, with overrides. */
export const fakeAlert = (overrides: Partial<NormalizedAlert> = {}): NormalizedAlert => ({
  source: 'dynatrace',
  dedupKey: 'P-1',
  state: 'OPEN',
  title: 'Response time degradation on checkout-service',
  service: 'checkout-service',
  severity: 'SEV2',
  startedAt: '2026-03-14T12:10:00.000Z',
  tags: {},
  ...overrides,
});

/** Opens an incident in `deps.store` from `fakeAlert(overrides)`; returns its id. */
export const seedIncident = async (deps: AgentDeps, overrides: Partial<NormalizedAlert> = {}, incidentId = 'inc-test-1'): Promise<string> => {
  const { store } = deps;
  const alert = fakeAlert(overrides);
  const { incident } = store instanceof FakeIncidentStore ? await store.open(alert, {}, () => incidentId) : await (store as AlertIntakeStore).recordAlert(alert, {}, () => incidentId);
  return incident.incidentId;
};

/** Stores an earlier agent's record directly (to test agents that read `earlierOutput`). */
export const seedAgentRecord = async (deps: AgentDeps, incidentId: string, agent: AgentName, output: unknown, evidence: AgentRecord['evidence'] = []): Promise<void> => {
  await deps.store.putAgentRecord(incidentId, { agent, output, evidence, latencyMs: 1, reasoner: 'offline', toolCalls: [], completedAt: FAKE_NOW.toISOString() });
};

// ───────────────────────── synthetic telemetry ─────────────────────────

/** A seeded PRNG (mulberry32) so synthetic series are reproducible. */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** Standard normal samples from a seeded PRNG (Box–Muller). */
export const gaussian = (seed: number): (() => number) => {
  const rand = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
};

export interface FakeSeriesSpec {
  readonly service: string;
  readonly metric: string;
  readonly unit?: string;
  /** Level before any change. */
  readonly base: number;
  /** Standard deviation of the Gaussian noise, as a fraction of the level (default 0.03). */
  readonly noise?: number;
  /** Level changes: from `at` on, the level is `level` (optionally reached linearly over `rampMinutes`). */
  readonly changes?: readonly { readonly at: string; readonly level: number; readonly rampMinutes?: number }[];
  readonly seed?: number;
}

/** A `MetricSeries` with one point per minute over [from, to], built from a spec. */
export const fakeSeries = (spec: FakeSeriesSpec, from: string, to: string): MetricSeries => {
  const noise = gaussian(spec.seed ?? 7);
  const points: { t: string; v: number }[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += 60_000) {
    let level = spec.base;
    let previous = spec.base;
    for (const c of spec.changes ?? []) {
      const at = Date.parse(c.at);
      if (t < at) continue;
      const ramp = (c.rampMinutes ?? 0) * 60_000;
      level = ramp > 0 && t < at + ramp ? previous + ((c.level - previous) * (t - at)) / ramp : c.level;
      previous = c.level;
    }
    points.push({ t: new Date(t).toISOString(), v: Math.max(0, level * (1 + (spec.noise ?? 0.03) * noise())) });
  }
  return { service: spec.service, metric: spec.metric, unit: spec.unit ?? '', points };
};

/** A `queryMetrics` fake over specs: filters by the requested services/metrics and window. */
export const fakeQueryMetrics =
  (specs: readonly FakeSeriesSpec[], calls: unknown[] = []) =>
  async (q: { services: readonly string[]; metrics?: readonly string[]; from: string; to: string }): Promise<MetricSeries[]> => {
    calls.push(q);
    return specs
      .filter((s) => q.services.includes(s.service) && (!q.metrics || q.metrics.includes(s.metric)))
      .map((s, i) => fakeSeries({ seed: i + 1, ...s }, q.from, q.to));
  };
