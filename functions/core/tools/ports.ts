/**
 * Tool ports: the only way agents see the world. The adapters behind them (the simulated world, Dynatrace,
 * ServiceNow, Splunk, PagerDuty, SSM Automation, a signed webhook) are rows of adapters.ts; runtime.ts chooses
 * one per port from the configuration. Shapes are
 * vendor-neutral but follow what those APIs return, so an adapter is a mapping, not a reinterpretation.
 *
 * Every call carries a `ToolScope`: the environment/tenant the incident came from (an alert's
 * `environment`). Times are ISO 8601 strings.
 */
import type { MitigationAction } from '../model.ts';

export interface ToolScope {
  /** Environment / tenant the alert came from; for the simulated world, the world id. */
  readonly environment?: string;
  /**
   * One agent run (set by the agent runtime). An adapter may reuse what it fetched earlier in the same run; the
   * simulated tools read their world once per run instead of once per query. Vendor adapters ignore it.
   */
  readonly runId?: string;
}

export interface TimeWindow {
  readonly from: string;
  readonly to: string;
}

// ───────────────────────── telemetry (Dynatrace-shaped) ─────────────────────────

/** Well-known metric names. Adapters map vendor metric keys onto these. */
export const METRICS = {
  latencyP99: 'latency_p99_ms',
  errorRate: 'error_rate_pct',
  throughput: 'throughput_rps',
  cpu: 'cpu_pct',
  memory: 'memory_mb',
  dbPoolActive: 'db_pool_active',
  dbPoolMax: 'db_pool_max',
  /** A cache owner's hit ratio (percent), as the simulated world publishes it (no AWS or vendor adapter maps one yet). */
  cacheHitRatio: 'cache_hit_ratio_pct',
  activeUsers: 'active_users',
  revenuePerMinute: 'revenue_per_min',
} as const;
export type MetricName = (typeof METRICS)[keyof typeof METRICS] | (string & {});

export interface MetricPoint {
  readonly t: string;
  readonly v: number;
}
export interface MetricSeries {
  readonly service: string;
  readonly metric: MetricName;
  readonly unit: string;
  /** Ordered by time; one point per `resolutionSeconds`. */
  readonly points: readonly MetricPoint[];
  /** The availability zone of a per-zone series (`groupBy: ['zone']`); absent on a service-wide one. */
  readonly zone?: string;
}

export interface Span {
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly service: string;
  readonly operation: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly status: 'OK' | 'ERROR';
  readonly error?: string;
}
export interface Trace {
  readonly traceId: string;
  readonly rootService: string;
  readonly startedAt: string;
  readonly totalMs: number;
  readonly status: 'OK' | 'ERROR';
  readonly spans: readonly Span[];
}

/** A monitored service and what it calls (Dynatrace entity relationships `calls`). */
export interface ServiceNode {
  readonly name: string;
  readonly tier: 'frontend' | 'backend' | 'database' | 'cache' | 'external' | 'queue';
  /** Services this one calls (downstream dependencies). */
  readonly calls: readonly string[];
}

export interface Telemetry {
  /**
   * Series of the services' metrics. With `groupBy: ['zone']`, one series per service, metric and availability zone
   * instead (each with `zone`), for the services whose metrics the source splits by zone; none for the others.
   */
  queryMetrics(q: ToolScope & TimeWindow & { services: readonly string[]; metrics?: readonly MetricName[]; resolutionSeconds?: number; groupBy?: readonly 'zone'[] }): Promise<MetricSeries[]>;
  getTraces(q: ToolScope & TimeWindow & { services: readonly string[]; limit?: number; errorsOnly?: boolean }): Promise<Trace[]>;
  /** The whole known topology (or the part reachable from `services`, both directions). */
  getTopology(q: ToolScope & { services?: readonly string[] }): Promise<ServiceNode[]>;
  /**
   * The source's present (ISO time), where it differs from the wall clock: a simulated world whose clock the laptop twin
   * moved ahead while compressing waits. Absent (or undefined) for real sources, whose present is the wall clock.
   */
  present?(q: ToolScope): Promise<string | undefined>;
}

// ───────────────────────── changes & incident history (ServiceNow-shaped) ─────────────────────────

export interface ChangeRequest {
  readonly id: string;
  readonly service: string;
  readonly type: 'deploy' | 'config' | 'feature-flag' | 'infrastructure';
  readonly title: string;
  readonly description: string;
  /** When the change was implemented (deployed). */
  readonly deployedAt: string;
  readonly state: 'scheduled' | 'implemented' | 'rolled-back' | 'cancelled';
  readonly version?: { readonly from: string; readonly to: string };
  readonly configChange?: { readonly param: string; readonly old: string; readonly new: string };
  readonly rollbackPlan?: string;
  readonly author?: string;
  /**
   * The resource the change was made to, where the change source knows it (CloudTrail, CodeDeploy): what a typed
   * rollback acts on. `type` is the CloudFormation resource type (`AWS::Lambda::Alias`, `AWS::ECS::Service`,
   * `AWS::SSM::Parameter`, `AWS::AppConfig::Environment`, …); `identifiers` holds what the inverse needs besides the
   * ARN (an alias name, an AppConfig configuration profile id, a deployment strategy id, …).
   */
  readonly resource?: { readonly type: string; readonly arn: string; readonly identifiers?: Readonly<Record<string, string>> };
}

export interface PastIncident {
  readonly id: string;
  readonly title: string;
  readonly service: string;
  readonly openedAt: string;
  readonly resolvedAt?: string;
  readonly category?: string;
  readonly rootCause: string;
  readonly resolution: string;
  readonly resolutionMinutes?: number;
  readonly tags: readonly string[];
}

export interface ChangeHistory {
  listChanges(q: ToolScope & TimeWindow & { services?: readonly string[] }): Promise<ChangeRequest[]>;
  /** Full-text + structured search over past incidents (ServiceNow `incident` table). */
  searchIncidents(q: ToolScope & { text: string; services?: readonly string[]; limit?: number }): Promise<PastIncident[]>;
  /** Adds a resolved incident to the history, so the memory improves. */
  recordIncident(q: ToolScope & { incident: PastIncident }): Promise<void>;
}

// ───────────────────────── logs (Splunk-shaped) ─────────────────────────

export interface LogLine {
  readonly timestamp: string;
  readonly service: string;
  readonly level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL';
  readonly message: string;
  readonly host?: string;
  readonly traceId?: string;
}

export interface Logs {
  search(q: ToolScope & TimeWindow & { services: readonly string[]; minLevel?: LogLine['level']; limit?: number }): Promise<LogLine[]>;
}

// ───────────────────────── on-call & ownership (PagerDuty-shaped) ─────────────────────────

export interface Person {
  readonly name: string;
  readonly contact: string;
}
export interface OnCallEntry {
  readonly service: string;
  readonly primary: Person;
  readonly escalation?: Person;
}
export interface Ownership {
  readonly service: string;
  readonly team: string;
  readonly slackChannel?: string;
  readonly runbookUrl?: string;
  readonly sloTargetPct?: number;
  readonly sloCurrentPct?: number;
}
export interface OnCall {
  getOnCall(q: ToolScope & { services: readonly string[] }): Promise<OnCallEntry[]>;
  getOwnership(q: ToolScope & { services: readonly string[] }): Promise<Ownership[]>;
}

// ───────────────────────── actions (the Executor's hands) ─────────────────────────

export interface ActionResult {
  readonly status: 'succeeded' | 'failed';
  readonly detail: string;
}
export interface Actions {
  execute(q: ToolScope & { incidentId: string; action: MitigationAction }): Promise<ActionResult>;
}

/** Everything an agent may use. */
export interface Tools {
  readonly telemetry: Telemetry;
  readonly changes: ChangeHistory;
  readonly logs: Logs;
  readonly oncall: OnCall;
  readonly actions: Actions;
}

/** A tool failed (vendor down, timeout). Agents record it as a `gap` evidence item and go on. */
export class ToolUnavailable extends Error {
  override name = 'ToolUnavailable';
  readonly tool: string;
  /** What went wrong, without the "<tool> unavailable:" prefix (for messages that already name the tool). */
  readonly reason: string;
  constructor(tool: string, reason: string, options?: ErrorOptions) {
    super(`${tool} unavailable: ${reason}`, options);
    this.tool = tool;
    this.reason = reason;
  }
}

/**
 * The scope's environment names nothing the adapter knows (a simulated world that does not exist). Still a
 * ToolUnavailable (agents record a gap); the detector reports such a target as skipped rather than failed.
 */
export class UnknownEnvironment extends ToolUnavailable {
  override name = 'UnknownEnvironment';
  readonly environment: string;
  constructor(tool: string, environment: string, reason: string, options?: ErrorOptions) {
    super(tool, reason, options);
    this.environment = environment;
  }
}

/**
 * Something a tool could not read, listed beside the partial answer it returned (one CloudWatch query throttled out
 * of fifty, one trace batch lost): the answer is still worth having, and the agent records each as a `gap:` evidence
 * item (agents/runtime.ts), so a partial answer is never read as the whole truth.
 */
export interface PartialGap {
  /** What failed: the API (`xray:GetTimeSeriesServiceStatistics`, `cloudwatch:GetMetricData`, …) or a part of the adapter. */
  readonly api: string;
  readonly service?: string;
  readonly metric?: string;
  readonly reason: string;
}

const PARTIAL_GAPS = Symbol.for('incident-autopilot.partial-gaps');

/** What a tool's result left out (empty when it is complete). */
export const partialGapsOf = (result: unknown): readonly PartialGap[] =>
  (typeof result === 'object' && result !== null ? ((result as Record<symbol, unknown>)[PARTIAL_GAPS] as readonly PartialGap[] | undefined) : undefined) ?? [];

/** The result with what it left out attached (not enumerable, so it still reads and serialises as the port's type). */
export const withPartialGaps = <T extends object>(result: T, gaps: readonly PartialGap[]): T =>
  gaps.length > 0 ? Object.defineProperty(result, PARTIAL_GAPS, { value: [...partialGapsOf(result), ...gaps], enumerable: false, configurable: true }) : result;

