/**
 * Telemetry port over AWS X-Ray and Amazon CloudWatch: what an AWS team without another APM sees.
 *
 * - Topology: X-Ray `GetServiceGraph` over the last `graphWindowMinutes` (all pages), cached per agent run
 *   (`scope.runId`, a bounded number of runs). Nodes are named by the shared convention (xray-names.ts), tiered
 *   from their type, `Edges[].ReferenceId` → what a node calls. A service an alert names maps to its nodes through
 *   the service directory's `xrayNames` (matching a node's Name, one of its Names, or its full conventional name);
 *   when the alert's name is not itself a node name, the service's entry node (the one its other nodes do not call)
 *   is reported under the alert's name, so the agents find the service they were asked about.
 * - Metrics: per service, X-Ray `GetTimeSeriesServiceStatistics` for its entry node (latency average and
 *   percentiles from the response-time histogram, error / fault / throttle rates, throughput), and CloudWatch
 *   `GetMetricData` for its resources through metric-mapping.ts (batches of at most 500 queries, all pages; an
 *   Application Signals service when `applicationSignalsEnvironment` is set). A node or resource that several services
 *   of one query reach is read once and reported under one of them (`claimRank`). Periods: CloudWatch reads at the
 *   requested resolution rounded to a multiple of 60 s; X-Ray at 300 s when that divides it, else 60 s, and its
 *   counts and histograms are summed into the requested period. A period with no data is a missing point, never
 *   a zero. X-Ray counts traced (sampled) requests: `throughput_rps` follows the request rate in proportion, not
 *   in absolute terms; rates and latencies are unbiased by sampling.
 * - Traces: X-Ray `GetTraceSummaries` with `service(id(…))` filters (`{ fault = true OR error = true }` when
 *   `errorsOnly`), all pages up to `limit`, then `BatchGetTraces` five ids at a time; segments → spans
 *   (xray-segments.ts).
 *
 * Time: each call stops at its deadline (deadline.ts: AWS_TOOLS_CALL_BUDGET_MS, AWS_TOOLS_RUN_BUDGET_MS; the impact
 * agent reads up to 200 services, one X-Ray statistics query each). X-Ray and CloudWatch are read side by side; at the
 * deadline requests in flight are aborted and nothing new is sent. What was not read is a gap naming the deadline, one
 * per API with the services it left out; a call that read nothing is ToolUnavailable.
 *
 * Partial failure (an API throttled past the SDK's retries, access denied, a CloudWatch result that is partial or
 * forbidden, the deadline) — what each method does:
 * - getTopology: GetServiceGraph failing is `ToolUnavailable` (a partial graph would hide callers and callees). The
 *   directory failing is tolerated while every service asked for is found by its own name; otherwise
 *   `ToolUnavailable` names both. No node for any service asked for is `ToolUnavailable` too (an empty topology
 *   would read as "calls nothing"); a node for some of them returns their part, the others in `gapsOf(result)`.
 * - queryMetrics: returns the series that were read and lists what was not in `gapsOf(result)` (the API, the
 *   service, the metric, why); `ToolUnavailable` when nothing could be read at all, or no service asked for maps to
 *   an X-Ray node or a resource.
 * - getTraces: a service the graph has no node of is filtered by name, and listed in `gapsOf(result)` (no trace of
 *   it is no evidence of its health); GetTraceSummaries failing is `ToolUnavailable`; a BatchGetTraces batch failing (or ids left
 *   unprocessed) returns the traces that were read with the rest in `gapsOf(result)`; `ToolUnavailable` when no
 *   batch succeeded.
 */
import { CloudWatchClient, type MetricDataQuery, paginateGetMetricData } from '@aws-sdk/client-cloudwatch';
import { paginateBatchGetTraces, paginateGetServiceGraph, paginateGetTimeSeriesServiceStatistics, paginateGetTraceSummaries, type Service as XrayService, type Trace as XrayTrace, type TimeSeriesServiceStatistics, XRayClient } from '@aws-sdk/client-xray';
import type { MetricPoint, MetricSeries, PartialGap, ServiceNode, Span, Telemetry, ToolScope, Trace } from '../ports.ts';
import { partialGapsOf, ToolUnavailable, withPartialGaps } from '../ports.ts';
import { type AwsClientSettings, awsClientOptions, budgetOf, isThrottleOrTransient } from './clients.ts';
import { callDeadline, type Deadline, DeadlineReached, isDeadline, type TimeBudget } from './deadline.ts';
import type { DirectorySettings } from './directory-settings.ts';
import { applicationSignalsTarget, convertValue, isTarget, type MetricTarget, RESOURCE_METRIC_NAMES, RESOURCE_METRICS, type ResourceMetric, targetKey, targetOfArn, targetOfNode, DYNAMODB_OPERATIONS } from './metric-mapping.ts';
import type { ServiceDirectory, ServiceResources } from './resources.ts';
import { directoryGaps, serviceDirectory } from './service-directory.ts';
import { SegmentDocument, segmentSpans } from './xray-segments.ts';
import { parseXrayNodeName, type XrayNodeId, xrayNodeName, xrayServiceSelector, xrayTier } from './xray-names.ts';

export const XRAY = 'AWS X-Ray';

/** The series X-Ray's service statistics give every service (names shared with the recorded format and the importer). */
export const XRAY_METRICS = {
  latencyAvg: 'latency_avg_ms',
  latencyP50: 'latency_p50_ms',
  latencyP90: 'latency_p90_ms',
  latencyP95: 'latency_p95_ms',
  latencyP99: 'latency_p99_ms',
  errorRate: 'error_rate_pct',
  faultRate: 'fault_rate_pct',
  throttleRate: 'throttle_rate_pct',
  throughput: 'throughput_rps',
} as const;
export const XRAY_METRIC_NAMES: readonly string[] = Object.values(XRAY_METRICS);

/** Something the adapter could not read, listed beside what it returns (the port-wide PartialGap). */
export type TelemetryGap = PartialGap;
/** What a result left out (empty when it is complete). */
export const gapsOf = (result: object): readonly TelemetryGap[] => partialGapsOf(result);
/** The result with its gaps attached (not enumerable: the array still reads and serialises as the port's type). */
const withGaps = <T extends object>(result: T, gaps: readonly TelemetryGap[]): T => withPartialGaps(result, gaps);

export interface AwsTelemetryOptions {
  readonly xray: XRayClient;
  readonly cloudwatch: CloudWatchClient;
  readonly directory: ServiceDirectory;
  readonly clock?: () => Date;
  /** How far back the service graph looks. @default 60 */
  readonly graphWindowMinutes?: number;
  /** The Application Signals environment (`eks:<cluster>/<namespace>`, `ecs:<cluster>`, `lambda:default`, …): when set, its service metrics are read too. */
  readonly applicationSignalsEnvironment?: string;
  /** X-Ray calls (statistics, trace batches) in flight at once. @default 4 */
  readonly concurrency?: number;
  /** Agent runs whose service graph is kept. @default 16 */
  readonly cachedRuns?: number;
  /** The time budget of each call (deadline.ts). */
  readonly budget?: TimeBudget;
}

export const DEFAULT_GRAPH_WINDOW_MINUTES = 60;
const DEFAULT_CONCURRENCY = 4;
const DEFAULT_CACHED_RUNS = 16;
/** GetMetricData's documented limit of queries per call. */
export const MAX_QUERIES_PER_CALL = 500;
/** BatchGetTraces's documented limit of trace ids per call. */
export const TRACE_IDS_PER_CALL = 5;
const DEFAULT_TRACE_LIMIT = 20;
const MAX_TRACE_LIMIT = 100;
const SELECTOR_MAX = 500;

/** The IAM action each API needs (named when access is denied). */
const IAM_ACTIONS: Readonly<Record<string, string>> = {
  GetServiceGraph: 'xray:GetServiceGraph',
  GetTimeSeriesServiceStatistics: 'xray:GetTimeSeriesServiceStatistics',
  GetTraceSummaries: 'xray:GetTraceSummaries',
  BatchGetTraces: 'xray:BatchGetTraces',
  GetMetricData: 'cloudwatch:GetMetricData',
};

/** `<API> failed: <error>: <message> (why, in words)`: what a gap or ToolUnavailable says. */
export const describeFailure = (api: string, error: unknown): string => {
  if (error instanceof DeadlineReached) return `${api} not answered: ${error.message}`;
  const e = (error ?? {}) as { name?: string; message?: string; $metadata?: { attempts?: number } };
  const attempts = e.$metadata?.attempts;
  const note = isThrottleOrTransient(error)
    ? `throttled or unavailable${attempts ? ` after ${attempts} attempts` : ''}`
    : /AccessDenied|Unauthorized|NotAuthorized|Forbidden/.test(e.name ?? '')
      ? `access denied: the function's role needs ${IAM_ACTIONS[api] ?? api}`
      : undefined;
  return `${api} failed: ${e.name ?? 'Error'}: ${String(e.message ?? error).slice(0, 300)}${note ? ` (${note})` : ''}`;
};

// ───────────────────────── the service graph ─────────────────────────

interface GraphNode extends XrayNodeId {
  readonly fullName: string;
  readonly names: Set<string>;
  readonly calls: Set<string>;
  readonly callers: Set<string>;
}
interface Graph {
  readonly byName: ReadonlyMap<string, GraphNode>;
  /** `last 60 min to 2026-…Z`, for messages. */
  readonly window: string;
}

/** X-Ray's services → nodes by conventional name (a name X-Ray lists twice, in two accounts, is one node). */
export const buildGraph = (services: readonly XrayService[], window = ''): Graph => {
  const byName = new Map<string, GraphNode>();
  const nameOfRef = new Map<number, string>();
  for (const s of services) {
    const type = s.Type || undefined;
    const fullName = xrayNodeName(s.Name ?? '', type);
    if (!fullName) continue;
    if (s.ReferenceId !== undefined) nameOfRef.set(s.ReferenceId, fullName);
    const node = byName.get(fullName) ?? { name: s.Name ?? '', ...(type ? { type } : {}), fullName, names: new Set<string>(), calls: new Set<string>(), callers: new Set<string>() };
    for (const n of s.Names ?? []) node.names.add(n);
    byName.set(fullName, node);
  }
  for (const s of services) {
    const caller = byName.get(xrayNodeName(s.Name ?? '', s.Type || undefined));
    if (!caller) continue;
    for (const edge of s.Edges ?? []) {
      const callee = edge.ReferenceId === undefined ? undefined : nameOfRef.get(edge.ReferenceId);
      if (!callee || callee === caller.fullName) continue;
      caller.calls.add(callee);
      byName.get(callee)?.callers.add(caller.fullName);
    }
  }
  return { byName, window };
};

/** A service asked for, and the X-Ray nodes it is. */
interface Resolved {
  readonly service: string;
  /** Its nodes (never `client` nodes: those are its callers). */
  readonly nodes: readonly XrayNodeId[];
  /** The node its metrics and traces are read from: the entry among its nodes. */
  readonly primary?: XrayNodeId & { readonly fullName: string };
  readonly resources?: ServiceResources;
}

/** Apps first, then the Lambda service node (the entry to its function), then other AWS nodes, remote last. */
const typeRank = (type: string | undefined): number => (!type ? 0 : type === 'AWS::Lambda' ? 1 : type === 'remote' ? 3 : 2);

const resolveService = (service: string, graph: Graph | undefined, entry: ServiceResources | undefined): Resolved => {
  const base = { service, ...(entry ? { resources: entry } : {}) };
  const exact = graph?.byName.get(service);
  if (exact) return { ...base, nodes: [exact], primary: exact };
  const names = entry && entry.xrayNames.length > 0 ? entry.xrayNames : [service];
  if (!graph) {
    // No graph: a conventional name says its node; a plain name is taken as an untyped application node.
    const nodes = names.map((n) => ({ ...parseXrayNodeName(n), fullName: n }));
    return { ...base, nodes, primary: nodes[0] };
  }
  const wanted = new Set(names);
  const matches = [...graph.byName.values()].filter((n) => n.type !== 'client' && (wanted.has(n.fullName) || wanted.has(n.name) || [...n.names].some((x) => wanted.has(x))));
  if (matches.length === 0) return { ...base, nodes: [] };
  const inMatches = new Set(matches.map((n) => n.fullName));
  const isEntry = (n: GraphNode) => ![...n.callers].some((c) => inMatches.has(c));
  const ordered = [...matches].sort((a, b) => Number(isEntry(b)) - Number(isEntry(a)) || typeRank(a.type) - typeRank(b.type) || (a.fullName < b.fullName ? -1 : a.fullName > b.fullName ? 1 : 0));
  return { ...base, nodes: ordered, primary: ordered[0] };
};

/**
 * How strongly a service asked for claims a node or a resource, lowest first, when several services asked for in one
 * query reach it: a service that stands for the node (the alert's `checkout` for its nodes `checkout_AWS::Lambda` and
 * `checkout_AWS::Lambda::Function`); then the node asked for by its own name; then a service that owns the resource
 * only by the directory (a tag), with no node of it — `orders_AWS::DynamoDB::Table` keeps its table's metrics even
 * when the table is tagged with `checkout`.
 */
const claimRank = (service: string, nodeFullName: string): number => (service === nodeFullName ? 1 : 0);
const CLAIM_BY_DIRECTORY = 2;

/** Node name → the service name it is reported under (the alert's name for the entry node it maps to). */
const aliases = (resolved: readonly Resolved[]): ((node: string) => string) => {
  const alias = new Map<string, string>();
  const asked = new Set(resolved.map((r) => r.service));
  for (const r of resolved) {
    const node = r.primary?.fullName;
    if (node && node !== r.service && !alias.has(node) && !asked.has(node)) alias.set(node, r.service);
  }
  return (node) => alias.get(node) ?? node;
};

// ───────────────────────── time ─────────────────────────

const epochSeconds = (field: string, iso: string): number => {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new ToolUnavailable(XRAY, `${field} is not an ISO 8601 time: ${JSON.stringify(iso)}`);
  return Math.floor(t / 1000);
};

/** The period CloudWatch reads at: the requested resolution rounded to a multiple of 60 s (at least 60). */
export const cloudWatchPeriod = (resolutionSeconds: number | undefined): number => Math.max(60, Math.round((resolutionSeconds ?? 60) / 60) * 60);
/** The period X-Ray reads at (it accepts 60 and 300): 300 when it divides the period, else 60. */
export const xrayPeriod = (period: number): number => (period % 300 === 0 ? 300 : 60);

const isoOf = (seconds: number): string => new Date(seconds * 1000).toISOString();

// ───────────────────────── X-Ray statistics → series ─────────────────────────

interface Bucket {
  total: number;
  errors: number;
  faults: number;
  throttles: number;
  responseTime: number;
  hasResponseTime: boolean;
  histogram: Map<number, number>;
}

/** The value at percentile `p` (0–1) of a response-time histogram (value in seconds → count), nearest rank. */
export const histogramPercentile = (histogram: ReadonlyMap<number, number>, p: number): number | undefined => {
  const entries = [...histogram.entries()].filter(([, c]) => c > 0).sort(([a], [b]) => a - b);
  const total = entries.reduce((s, [, c]) => s + c, 0);
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const [value, count] of entries) {
    seen += count;
    if (seen >= rank) return value;
  }
  return entries.at(-1)![0];
};

const PERCENTILES: readonly (readonly [string, number])[] = [
  [XRAY_METRICS.latencyP50, 0.5],
  [XRAY_METRICS.latencyP90, 0.9],
  [XRAY_METRICS.latencyP95, 0.95],
  [XRAY_METRICS.latencyP99, 0.99],
];

/**
 * X-Ray's time series for one node → our series, summed into `period`-second buckets. A bucket X-Ray has no entry
 * for is a gap; a bucket with no requests has a zero throughput and no latency or rates (undefined, not zero).
 */
export const xraySeries = (service: string, entries: readonly TimeSeriesServiceStatistics[], period: number, wanted: ReadonlySet<string>): MetricSeries[] => {
  const buckets = new Map<number, Bucket>();
  for (const e of entries) {
    const stats = e.ServiceSummaryStatistics ?? e.EdgeSummaryStatistics;
    if (!e.Timestamp || !stats) continue;
    const at = Math.floor(e.Timestamp.getTime() / 1000 / period) * period;
    const b = buckets.get(at) ?? { total: 0, errors: 0, faults: 0, throttles: 0, responseTime: 0, hasResponseTime: false, histogram: new Map<number, number>() };
    b.total += stats.TotalCount ?? 0;
    b.errors += stats.ErrorStatistics?.TotalCount ?? 0;
    b.throttles += stats.ErrorStatistics?.ThrottleCount ?? 0;
    b.faults += stats.FaultStatistics?.TotalCount ?? 0;
    if (stats.TotalResponseTime !== undefined) {
      b.responseTime += stats.TotalResponseTime;
      b.hasResponseTime = true;
    }
    for (const h of e.ResponseTimeHistogram ?? []) if (h.Value !== undefined && h.Count) b.histogram.set(h.Value, (b.histogram.get(h.Value) ?? 0) + h.Count);
    buckets.set(at, b);
  }
  const times = [...buckets.keys()].sort((a, b) => a - b);
  const series = (metric: string, unit: string, value: (b: Bucket) => number | undefined): MetricSeries | undefined => {
    if (!wanted.has(metric)) return undefined;
    const points: MetricPoint[] = [];
    for (const t of times) {
      const v = value(buckets.get(t)!);
      if (v !== undefined && Number.isFinite(v)) points.push({ t: isoOf(t), v });
    }
    return points.length > 0 ? { service, metric, unit, points } : undefined;
  };
  const rate = (count: (b: Bucket) => number) => (b: Bucket) => (b.total > 0 ? (count(b) / b.total) * 100 : undefined);
  return [
    series(XRAY_METRICS.latencyAvg, 'ms', (b) => (b.total > 0 && b.hasResponseTime ? (b.responseTime / b.total) * 1000 : undefined)),
    ...PERCENTILES.map(([metric, p]) =>
      series(metric, 'ms', (b) => {
        const v = histogramPercentile(b.histogram, p);
        return v === undefined ? undefined : v * 1000;
      }),
    ),
    series(XRAY_METRICS.errorRate, '%', rate((b) => b.errors + b.faults)),
    series(XRAY_METRICS.faultRate, '%', rate((b) => b.faults)),
    series(XRAY_METRICS.throttleRate, '%', rate((b) => b.throttles)),
    series(XRAY_METRICS.throughput, 'req/s', (b) => b.total / period),
  ].filter((s): s is MetricSeries => s !== undefined);
};

// ───────────────────────── CloudWatch queries ─────────────────────────

interface PlannedQuery {
  readonly id: string;
  readonly service: string;
  readonly metric: ResourceMetric;
  readonly target: MetricTarget;
  readonly query: MetricDataQuery;
  /** The SampleCount companion of a weighted average. */
  readonly weight?: MetricDataQuery;
}

/** The GetMetricData queries for the services' targets and the metrics wanted. */
export const planQueries = (targets: readonly { readonly service: string; readonly target: MetricTarget }[], wanted: ReadonlySet<string>, period: number): PlannedQuery[] => {
  const planned: PlannedQuery[] = [];
  let n = 0;
  const stat = (target: MetricTarget, metric: ResourceMetric, extra: Record<string, string>, s: string): MetricDataQuery => ({
    Id: `q${n++}`,
    MetricStat: {
      Metric: { Namespace: target.namespace, MetricName: metric.metricName, Dimensions: Object.entries({ ...target.dimensions, ...extra }).map(([Name, Value]) => ({ Name, Value })) },
      Period: period,
      Stat: s,
    },
    ReturnData: true,
  });
  for (const { service, target } of targets)
    for (const metric of RESOURCE_METRICS[target.kind]) {
      if (!wanted.has(metric.name)) continue;
      const variants: Record<string, string>[] = metric.perOperation ? DYNAMODB_OPERATIONS.map((Operation) => ({ Operation })) : [{}];
      for (const extra of variants) {
        const query = stat(target, metric, extra, metric.stat);
        const weight = metric.combine === 'weighted-by-sample-count' ? stat(target, metric, extra, 'SampleCount') : undefined;
        planned.push({ id: query.Id!, service, metric, target, query, ...(weight ? { weight } : {}) });
      }
    }
  return planned;
};

const chunks = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

const groupBy = <T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> => {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
};

/** Runs `fn` over `items`, at most `limit` at once; the outcome of each, in order. Items not started by the deadline are rejected with DeadlineReached. */
const settleAll = async <T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>, deadline: Deadline): Promise<PromiseSettledResult<R>[]> => {
  const out: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      if (deadline.expired) {
        out[i] = { status: 'rejected', reason: new DeadlineReached(deadline.reason) };
        continue;
      }
      try {
        out[i] = { status: 'fulfilled', value: await deadline.race(fn(items[i]!)) };
      } catch (reason) {
        out[i] = { status: 'rejected', reason: isDeadline(reason, deadline) ? new DeadlineReached(deadline.reason) : reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
};

interface QueryResult {
  readonly points: Map<number, number>;
  status?: string;
  readonly messages: string[];
}

/** Combines the per-resource (per-operation) values of one timestamp. */
const combineAt = (metric: ResourceMetric, values: readonly { v: number; w?: number }[]): number | undefined => {
  if (values.length === 0) return undefined;
  switch (metric.combine) {
    case 'sum':
      return values.reduce((s, x) => s + x.v, 0);
    case 'max':
      return Math.max(...values.map((x) => x.v));
    case 'min':
      return Math.min(...values.map((x) => x.v));
    case 'weighted-by-sample-count': {
      const weighted = values.filter((x) => x.w !== undefined && x.w > 0);
      const total = weighted.reduce((s, x) => s + x.w!, 0);
      return total > 0 ? weighted.reduce((s, x) => s + x.v * x.w!, 0) / total : undefined;
    }
  }
};

/** The per-resource results → one series per service and metric, in our unit. */
const combineSeries = (planned: readonly PlannedQuery[], results: ReadonlyMap<string, QueryResult>, period: number): MetricSeries[] => {
  const out: MetricSeries[] = [];
  for (const [key, group] of groupBy(planned, (p) => `${p.service}\u0000${p.metric.name}`)) {
    const metric = group[0]!.metric;
    const service = key.slice(0, key.indexOf('\u0000'));
    const times = new Set<number>();
    for (const p of group) for (const t of results.get(p.id)?.points.keys() ?? []) times.add(t);
    const points: MetricPoint[] = [];
    for (const t of [...times].sort((a, b) => a - b)) {
      const values = group.flatMap((p) => {
        const v = results.get(p.id)?.points.get(t);
        const w = p.weight ? results.get(p.weight.Id!)?.points.get(t) : undefined;
        return v === undefined ? [] : [{ v, ...(w !== undefined ? { w } : {}) }];
      });
      const v = combineAt(metric, values);
      if (v !== undefined) points.push({ t: isoOf(t), v: convertValue(v, metric.convert, period) });
    }
    if (points.length > 0) out.push({ service, metric: metric.name, unit: metric.unit, points });
  }
  return out;
};

// ───────────────────────── the adapter ─────────────────────────

export class AwsTelemetry implements Telemetry {
  readonly #xray: XRayClient;
  readonly #cloudwatch: CloudWatchClient;
  readonly #directory: ServiceDirectory;
  readonly #clock: () => Date;
  readonly #graphWindowMinutes: number;
  readonly #appSignalsEnvironment: string | undefined;
  readonly #concurrency: number;
  readonly #cachedRuns: number;
  readonly #budget: TimeBudget;
  readonly #graphs = new Map<string, Promise<Graph>>();

  constructor(options: AwsTelemetryOptions) {
    this.#xray = options.xray;
    this.#cloudwatch = options.cloudwatch;
    this.#directory = options.directory;
    this.#clock = options.clock ?? (() => new Date());
    this.#graphWindowMinutes = options.graphWindowMinutes ?? DEFAULT_GRAPH_WINDOW_MINUTES;
    this.#appSignalsEnvironment = options.applicationSignalsEnvironment;
    this.#concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
    this.#cachedRuns = Math.max(1, options.cachedRuns ?? DEFAULT_CACHED_RUNS);
    this.#budget = options.budget ?? {};
  }

  /** Runs one call within its deadline (deadline.ts). */
  async #within<R>(scope: ToolScope, run: (deadline: Deadline) => Promise<R>): Promise<R> {
    const deadline = callDeadline(scope, this.#budget, () => this.#clock().getTime());
    try {
      return await run(deadline);
    } finally {
      deadline.dispose();
    }
  }

  /** The service graph of this run (fetched once per run and kept for a bounded number of runs), waited for until the deadline. */
  async #graph(scope: ToolScope, deadline: Deadline): Promise<Graph> {
    try {
      return await deadline.race(this.#sharedGraph(scope, deadline));
    } catch (error) {
      if (error instanceof DeadlineReached) throw new ToolUnavailable(XRAY, describeFailure('GetServiceGraph', error), { cause: error });
      throw error;
    }
  }

  #sharedGraph(scope: ToolScope, deadline: Deadline): Promise<Graph> {
    const key = scope.runId === undefined ? undefined : `${scope.runId}\u0000${scope.environment ?? ''}`;
    if (key === undefined) return this.#fetchGraph(deadline);
    const cached = this.#graphs.get(key);
    if (cached) {
      // Most recently used last: the oldest run is the first evicted.
      this.#graphs.delete(key);
      this.#graphs.set(key, cached);
      return cached;
    }
    // The first call of the run reads it within its own deadline (a partial graph is never kept: all pages or none).
    const fetched = this.#fetchGraph(deadline);
    this.#graphs.set(key, fetched);
    // A failed fetch is tried again on the next call rather than cached.
    fetched.catch(() => {
      if (this.#graphs.get(key) === fetched) this.#graphs.delete(key);
    });
    while (this.#graphs.size > this.#cachedRuns) this.#graphs.delete(this.#graphs.keys().next().value!);
    return fetched;
  }

  async #fetchGraph(deadline: Deadline): Promise<Graph> {
    const end = this.#clock();
    const start = new Date(end.getTime() - this.#graphWindowMinutes * 60_000);
    const services: XrayService[] = [];
    try {
      for await (const page of deadline.pages(paginateGetServiceGraph({ client: this.#xray }, { StartTime: start, EndTime: end }, { abortSignal: deadline.signal }))) services.push(...(page.Services ?? []));
    } catch (error) {
      throw new ToolUnavailable(XRAY, describeFailure('GetServiceGraph', error), { cause: error });
    }
    return buildGraph(services, `the last ${this.#graphWindowMinutes} min to ${end.toISOString()}`);
  }

  /** The directory's entries for the services (undefined entries and a gap when it fails). */
  async #entries(scope: ToolScope, services: readonly string[], gaps: TelemetryGap[], deadline: Deadline): Promise<Map<string, ServiceResources>> {
    try {
      // The directory's tag read is shared by the run's calls: this one waits for it only until its deadline.
      const entries = await deadline.race(this.#directory.resolve({ ...scope, services }));
      // A source of the directory failed: what it says may be incomplete, and the answer says so.
      gaps.push(...directoryGaps(entries, 'service-directory'));
      return new Map(entries.map((e) => [e.service, e]));
    } catch (error) {
      gaps.push({ api: 'service-directory', reason: `the service directory failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}` });
      return new Map();
    }
  }

  getTopology(q: Parameters<Telemetry['getTopology']>[0]): Promise<ServiceNode[]> {
    return this.#within(q, (deadline) => this.#getTopology(q, deadline));
  }

  async #getTopology(q: Parameters<Telemetry['getTopology']>[0], deadline: Deadline): Promise<ServiceNode[]> {
    const graph = await this.#graph(q, deadline);
    const nodeOf = (n: GraphNode, display: (node: string) => string): ServiceNode => ({
      name: display(n.fullName),
      tier: xrayTier(n.type),
      calls: [...new Set([...n.calls].map(display))].filter((c) => c !== display(n.fullName)),
    });
    if (!q.services || q.services.length === 0) return [...graph.byName.values()].map((n) => nodeOf(n, (x) => x));

    const gaps: TelemetryGap[] = [];
    const entries = await this.#entries(q, q.services, gaps, deadline);
    const resolved = q.services.map((s) => resolveService(s, graph, entries.get(s)));
    const starts = resolved.flatMap((r) => r.nodes.map((n) => xrayNodeName(n.name, n.type)));
    const missing = resolved.filter((r) => r.nodes.length === 0).map((r) => r.service);
    if (starts.length === 0 || (missing.length > 0 && gaps.length > 0)) {
      const tried = resolved.map((r) => `${r.service} (as ${(r.resources?.xrayNames.length ? r.resources.xrayNames : [r.service]).join(', ')})`).join('; ');
      const directory = gaps.length > 0 ? `; ${gaps.map((g) => g.reason).join('; ')}` : '';
      throw new ToolUnavailable(XRAY, `no node of the service graph (${graph.window}, ${graph.byName.size} nodes) is ${missing.join(', ')}: tried ${tried}; name the service's X-Ray nodes in the service map (xray)${directory}`);
    }
    // Everything the services reach and everything that reaches them.
    const keep = new Set<string>();
    const walk = (start: string, next: (n: GraphNode) => Iterable<string>) => {
      const seen = new Set<string>();
      const stack = [start];
      while (stack.length > 0) {
        const name = stack.pop()!;
        const node = graph.byName.get(name);
        if (!node || seen.has(name)) continue;
        seen.add(name);
        keep.add(name);
        stack.push(...next(node));
      }
    };
    for (const s of starts) {
      walk(s, (n) => n.calls);
      walk(s, (n) => n.callers);
    }
    const display = aliases(resolved);
    for (const service of missing) gaps.push({ api: 'mapping', service, reason: `no node of the service graph (${graph.window}) is ${service}` });
    return withGaps(
      [...graph.byName.values()].filter((n) => keep.has(n.fullName)).map((n) => nodeOf(n, display)),
      gaps,
    );
  }

  queryMetrics(q: Parameters<Telemetry['queryMetrics']>[0]): Promise<MetricSeries[]> {
    // Per-zone series (a load balancer's AvailabilityZone dimension) are not mapped yet: none, as for a service whose
    // metrics are not split by zone.
    if (q.groupBy?.length) return Promise.resolve([]);
    return this.#within(q, (deadline) => this.#queryMetrics(q, deadline));
  }

  async #queryMetrics(q: Parameters<Telemetry['queryMetrics']>[0], deadline: Deadline): Promise<MetricSeries[]> {
    const period = cloudWatchPeriod(q.resolutionSeconds);
    const from = Math.floor(epochSeconds('from', q.from) / period) * period;
    const to = Math.ceil(epochSeconds('to', q.to) / period) * period;
    if (to <= from) throw new ToolUnavailable(XRAY, `to (${q.to}) must be after from (${q.from})`);
    if (q.services.length === 0) return [];
    const wanted = new Set<string>(q.metrics ?? [...XRAY_METRIC_NAMES, ...RESOURCE_METRIC_NAMES]);
    const gaps: TelemetryGap[] = [];
    let graph: Graph | undefined;
    try {
      graph = await this.#graph(q, deadline);
    } catch (error) {
      gaps.push({ api: 'xray:GetServiceGraph', reason: `${error instanceof ToolUnavailable ? error.reason : String(error)}; node types taken from the names asked for` });
    }
    const entries = await this.#entries(q, q.services, gaps, deadline);
    const resolved = q.services.map((s) => resolveService(s, graph, entries.get(s)));

    // What to read for each service: its entry node's X-Ray statistics, its resources' CloudWatch metrics. Each node
    // and each resource is read once per query and reported under one of the services asked for (see `claimRank`):
    // `checkout` and its own node `checkout_AWS::Lambda::Function` both reach the function, whose series would
    // otherwise come back twice.
    const xrayWanted = XRAY_METRIC_NAMES.some((m) => wanted.has(m));
    const xrayClaims = new Map<string, { service: string; node: XrayNodeId & { readonly fullName: string }; rank: number }>();
    if (xrayWanted)
      for (const r of resolved) {
        if (!r.primary || r.primary.type === 'client') continue;
        const rank = claimRank(r.service, r.primary.fullName);
        const held = xrayClaims.get(r.primary.fullName);
        if (!held || rank < held.rank) xrayClaims.set(r.primary.fullName, { service: r.service, node: r.primary, rank });
      }
    const xrayTasks = [...xrayClaims.values()].map(({ service, node }) => ({ service, node }));
    const claims = new Map<string, { service: string; target: MetricTarget; rank: number }>();
    const claimants = new Set<string>();
    for (const r of resolved) {
      const claim = (target: MetricTarget, rank: number) => {
        claimants.add(r.service);
        const key = targetKey(target);
        const held = claims.get(key);
        // Equal claims: the service asked for first keeps it.
        if (!held || rank < held.rank) claims.set(key, { service: r.service, target, rank });
      };
      const byNode = new Map<string, number>();
      for (const node of r.nodes) {
        const t = targetOfNode(node.name, node.type);
        if (t) byNode.set(targetKey(t), Math.min(byNode.get(targetKey(t)) ?? Number.POSITIVE_INFINITY, claimRank(r.service, xrayNodeName(node.name, node.type))));
      }
      for (const resource of r.resources?.resources ?? []) {
        const t = targetOfArn(resource);
        if (isTarget(t)) claim(t, byNode.get(targetKey(t)) ?? CLAIM_BY_DIRECTORY);
        else gaps.push({ api: 'mapping', service: r.service, reason: `${t.arn}: ${t.reason}` });
      }
      for (const node of r.nodes) {
        const t = targetOfNode(node.name, node.type);
        if (t) claim(t, byNode.get(targetKey(t))!);
      }
      if (this.#appSignalsEnvironment && r.primary?.name) claim(applicationSignalsTarget(r.primary.name, this.#appSignalsEnvironment), claimRank(r.service, r.primary.fullName));
    }
    const targets = [...claims.values()].map(({ service, target }) => ({ service, target }));
    // A service whose nodes and resources are all reported under another one asked for is not unknown.
    const unknown = resolved.filter((r) => !xrayTasks.some((t) => t.service === r.service) && !claimants.has(r.service) && !(xrayWanted && r.primary && xrayClaims.has(r.primary.fullName)));
    for (const r of unknown) gaps.push({ api: 'mapping', service: r.service, reason: `no X-Ray node${graph ? ` in the service graph (${graph.window})` : ''} and no mapped AWS resource is known for ${r.service}` });
    const planned = planQueries(targets, wanted, period);
    if (xrayTasks.length === 0 && planned.length === 0) {
      if (gaps.length === 0) return [];
      throw new ToolUnavailable(XRAY, `no metric could be read: ${gaps.map((g) => g.reason).join('; ')}`);
    }

    let reads = 0;
    let failures = 0;
    const out: MetricSeries[] = [];
    // X-Ray (one statistics query per service, a few at once) and CloudWatch side by side: a deadline reached in one
    // does not leave the other unread.
    const xPeriod = xrayPeriod(period);
    const readXray = async (): Promise<void> => {
      const settled = await settleAll(
        xrayTasks,
        this.#concurrency,
        async ({ service, node }) => {
          const selector = xrayServiceSelector(node);
          if (selector.length > SELECTOR_MAX) throw new Error(`the node name is too long for an entity selector (${selector.length} > ${SELECTOR_MAX} characters)`);
          const statistics: TimeSeriesServiceStatistics[] = [];
          for await (const page of deadline.pages(paginateGetTimeSeriesServiceStatistics({ client: this.#xray }, { StartTime: new Date(from * 1000), EndTime: new Date(to * 1000), Period: xPeriod, EntitySelectorExpression: selector }, { abortSignal: deadline.signal })))
            statistics.push(...(page.TimeSeriesServiceStatistics ?? []));
          return xraySeries(service, statistics, period, wanted);
        },
        deadline,
      );
      const late: string[] = [];
      settled.forEach((s, i) => {
        if (s.status === 'fulfilled') {
          reads += 1;
          out.push(...s.value);
        } else {
          failures += 1;
          if (s.reason instanceof DeadlineReached) late.push(xrayTasks[i]!.service);
          else gaps.push({ api: 'xray:GetTimeSeriesServiceStatistics', service: xrayTasks[i]!.service, reason: describeFailure('GetTimeSeriesServiceStatistics', s.reason) });
        }
      });
      // One gap for every service the deadline left unread (an impact agent asks for up to 200).
      if (late.length > 0) gaps.push({ api: 'xray:GetTimeSeriesServiceStatistics', reason: `${late.length} service(s) not read (${late.slice(0, 10).join(', ')}${late.length > 10 ? ', …' : ''}): ${deadline.reason}` });
    };

    // CloudWatch: batches of at most 500 queries (a weighted average's SampleCount companion stays in its batch).
    const batches: PlannedQuery[][] = [];
    let batch: PlannedQuery[] = [];
    let size = 0;
    for (const p of planned) {
      const n = p.weight ? 2 : 1;
      if (size + n > MAX_QUERIES_PER_CALL) {
        batches.push(batch);
        batch = [];
        size = 0;
      }
      batch.push(p);
      size += n;
    }
    if (batch.length > 0) batches.push(batch);
    const results = new Map<string, QueryResult>();
    const readCloudWatch = async (): Promise<void> => {
      const late: string[] = [];
      for (const b of batches) {
        try {
          if (deadline.expired) throw new DeadlineReached(deadline.reason);
          await this.#metricData(b, from, to, results, gaps, deadline);
          reads += 1;
        } catch (error) {
          failures += 1;
          // Points of a batch cut mid-way are kept and its series said partial, as for any failed batch.
          if (isDeadline(error, deadline)) {
            late.push(...new Set(b.map((p) => p.service)));
            continue;
          }
          const reason = describeFailure('GetMetricData', error);
          for (const [service, metrics] of groupBy(b, (p) => p.service)) gaps.push({ api: 'cloudwatch:GetMetricData', service, metric: [...new Set(metrics.map((p) => p.metric.name))].join(', '), reason });
        }
      }
      const services = [...new Set(late)];
      if (services.length > 0) gaps.push({ api: 'cloudwatch:GetMetricData', reason: `the metrics of ${services.length} service(s) not read, or read in part (${services.slice(0, 10).join(', ')}${services.length > 10 ? ', …' : ''}): ${deadline.reason}` });
    };
    await Promise.all([readXray(), readCloudWatch()]);
    out.push(...combineSeries(planned, results, period));
    if (reads === 0 && failures > 0) throw new ToolUnavailable(XRAY, `no metric could be read: ${[...new Set(gaps.map((g) => g.reason))].join('; ')}`);
    out.sort((a, b) => (a.service === b.service ? (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0) : a.service < b.service ? -1 : 1));
    return withGaps(out, gaps);
  }

  /** One batch of queries, all pages, merged into `results` by query id; partial and refused results become gaps. */
  async #metricData(batch: readonly PlannedQuery[], from: number, to: number, results: Map<string, QueryResult>, gaps: TelemetryGap[], deadline: Deadline): Promise<void> {
    const queries = batch.flatMap((p) => (p.weight ? [p.query, p.weight] : [p.query]));
    const input = { MetricDataQueries: queries, StartTime: new Date(from * 1000), EndTime: new Date(to * 1000), ScanBy: 'TimestampAscending' as const };
    const messages = new Set<string>();
    for await (const page of deadline.pages(paginateGetMetricData({ client: this.#cloudwatch }, input, { abortSignal: deadline.signal }))) {
      for (const m of page.Messages ?? []) messages.add(`${m.Code ?? 'Message'}: ${m.Value ?? ''}`);
      for (const r of page.MetricDataResults ?? []) {
        if (!r.Id) continue;
        const acc = results.get(r.Id) ?? { points: new Map<number, number>(), messages: [] };
        const ts = r.Timestamps ?? [];
        const vs = r.Values ?? [];
        ts.forEach((t, i) => {
          const v = vs[i];
          if (v !== undefined && Number.isFinite(v)) acc.points.set(Math.floor(t.getTime() / 1000), v);
        });
        // The last page's status is the query's: PartialData on an earlier page is completed by the next.
        acc.status = r.StatusCode;
        for (const m of r.Messages ?? []) acc.messages.push(`${m.Code ?? 'Message'}: ${m.Value ?? ''}`);
        results.set(r.Id, acc);
      }
    }
    if (messages.size > 0) gaps.push({ api: 'cloudwatch:GetMetricData', reason: `CloudWatch said: ${[...messages].join('; ')}` });
    for (const p of batch)
      for (const q of p.weight ? [p.query, p.weight] : [p.query]) {
        const r = results.get(q.Id!);
        const what = `${p.target.label} ${p.metric.metricName}${q === p.weight ? ' SampleCount' : ''}`;
        if (!r) gaps.push({ api: 'cloudwatch:GetMetricData', service: p.service, metric: p.metric.name, reason: `no result for ${what}` });
        else if (r.status && r.status !== 'Complete')
          gaps.push({ api: 'cloudwatch:GetMetricData', service: p.service, metric: p.metric.name, reason: `${what}: ${r.status === 'PartialData' ? 'partial data' : r.status}${r.messages.length > 0 ? ` (${r.messages.join('; ')})` : ''}` });
      }
  }

  getTraces(q: Parameters<Telemetry['getTraces']>[0]): Promise<Trace[]> {
    return this.#within(q, (deadline) => this.#getTraces(q, deadline));
  }

  async #getTraces(q: Parameters<Telemetry['getTraces']>[0], deadline: Deadline): Promise<Trace[]> {
    const from = epochSeconds('from', q.from);
    const to = epochSeconds('to', q.to);
    if (to <= from) throw new ToolUnavailable(XRAY, `to (${q.to}) must be after from (${q.from})`);
    if (q.services.length === 0) return [];
    const limit = Math.min(MAX_TRACE_LIMIT, Math.max(1, Math.floor(q.limit ?? DEFAULT_TRACE_LIMIT)));
    const gaps: TelemetryGap[] = [];
    let graph: Graph | undefined;
    try {
      graph = await this.#graph(q, deadline);
    } catch (error) {
      gaps.push({ api: 'xray:GetServiceGraph', reason: `${error instanceof ToolUnavailable ? error.reason : String(error)}; services filtered by the names asked for` });
    }
    const entries = await this.#entries(q, q.services, gaps, deadline);
    const resolved = q.services.map((s) => resolveService(s, graph, entries.get(s)));
    const selectors = resolved.flatMap((r) => (r.primary ? [xrayServiceSelector(r.primary)] : (r.resources?.xrayNames.length ? r.resources.xrayNames : [r.service]).map((n) => `service(${JSON.stringify(n)})`)));
    // A service the graph has no node of is looked for by name: no trace of it is then no evidence of health.
    for (const r of resolved) if (graph && r.nodes.length === 0) gaps.push({ api: 'mapping', service: r.service, reason: `no node of the service graph (${graph.window}) is ${r.service}: its traces were looked for by name only` });
    const filter = [...new Set(selectors)].map((s) => (q.errorsOnly ? `${s} { fault = true OR error = true }` : s)).join(' OR ');

    // 1. Summaries, newest pages first as X-Ray returns them, up to the limit.
    const summaries: { id: string; hasError: boolean }[] = [];
    // X-Ray may answer pages with no summary while it scans a long window: summaries are read for half the time left
    // at most once some are found, so the traces found can still be fetched.
    const now = () => this.#clock().getTime();
    const summariesUntil = now() + deadline.remaining() / 2;
    try {
      for await (const page of deadline.pages(paginateGetTraceSummaries({ client: this.#xray }, { StartTime: new Date(from * 1000), EndTime: new Date(to * 1000), FilterExpression: filter, Sampling: false }, { abortSignal: deadline.signal }))) {
        for (const s of page.TraceSummaries ?? []) if (s.Id && !summaries.some((x) => x.id === s.Id)) summaries.push({ id: s.Id, hasError: Boolean(s.HasError || s.HasFault || s.HasThrottle) });
        if (summaries.length >= limit) break;
        if (summaries.length > 0 && page.NextToken && now() >= summariesUntil) {
          gaps.push({ api: 'xray:GetTraceSummaries', reason: `only ${summaries.length} trace summaries were read: half the time left before the deadline (${deadline.why}) went to them, the rest to fetching their traces` });
          break;
        }
      }
    } catch (error) {
      // Some summaries read before the deadline: their traces are still worth fetching, and the cut is said.
      if (!(isDeadline(error, deadline) && summaries.length > 0)) throw new ToolUnavailable(XRAY, describeFailure('GetTraceSummaries', isDeadline(error, deadline) ? new DeadlineReached(deadline.reason) : error), { cause: error });
      gaps.push({ api: 'xray:GetTraceSummaries', reason: `only ${summaries.length} trace summaries were read: ${deadline.reason}` });
    }
    const wantedIds = summaries.slice(0, limit);
    if (wantedIds.length === 0) return withGaps([], gaps);

    // 2. The traces, five ids per call.
    const batches = chunks(wantedIds.map((s) => s.id), TRACE_IDS_PER_CALL);
    const settled = await settleAll(
      batches,
      this.#concurrency,
      async (ids) => {
        const traces: XrayTrace[] = [];
        const unprocessed: string[] = [];
        for await (const page of deadline.pages(paginateBatchGetTraces({ client: this.#xray }, { TraceIds: ids }, { abortSignal: deadline.signal }))) {
          traces.push(...(page.Traces ?? []));
          unprocessed.push(...(page.UnprocessedTraceIds ?? []));
        }
        return { traces, unprocessed };
      },
      deadline,
    );
    const fetched: XrayTrace[] = [];
    let succeeded = 0;
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') {
        succeeded += 1;
        fetched.push(...s.value.traces);
        if (s.value.unprocessed.length > 0) gaps.push({ api: 'xray:BatchGetTraces', reason: `X-Ray left ${s.value.unprocessed.length} trace(s) unprocessed: ${s.value.unprocessed.join(', ')}` });
      } else {
        gaps.push({ api: 'xray:BatchGetTraces', reason: `${describeFailure('BatchGetTraces', s.reason)} (traces ${batches[i]!.join(', ')})` });
      }
    });
    if (succeeded === 0) throw new ToolUnavailable(XRAY, `traces could not be read: ${gaps.filter((g) => g.api === 'xray:BatchGetTraces').map((g) => g.reason).join('; ')}`);

    const display = aliases(resolved);
    const hasError = new Map(wantedIds.map((s) => [s.id, s.hasError]));
    const traces = fetched.flatMap((t) => {
      const trace = toTrace(t, hasError.get(t.Id ?? '') ?? false, display, gaps);
      return trace ? [trace] : [];
    });
    return withGaps(q.errorsOnly ? traces.filter((t) => t.status === 'ERROR') : traces, gaps);
  }
}

/** One X-Ray trace → ours; undefined (and a gap) when none of its segments is a segment document. */
export const toTrace = (t: XrayTrace, summaryHasError: boolean, display: (node: string) => string = (n) => n, gaps: TelemetryGap[] = []): Trace | undefined => {
  const spans: Span[] = [];
  const roots: { service: string; start: number }[] = [];
  let bad = 0;
  for (const segment of t.Segments ?? []) {
    let doc: SegmentDocument;
    try {
      const parsed = SegmentDocument.safeParse(JSON.parse(segment.Document ?? ''));
      if (!parsed.success) throw parsed.error;
      doc = parsed.data;
    } catch {
      bad += 1;
      continue;
    }
    const own = segmentSpans(doc, display);
    spans.push(...own);
    if (!doc.parent_id) roots.push({ service: own[0]!.service, start: doc.start_time });
  }
  if (bad > 0) gaps.push({ api: 'xray:BatchGetTraces', reason: `${bad} segment(s) of trace ${t.Id} are not segment documents` });
  if (spans.length === 0 || !t.Id) return undefined;
  // Spans from one segment and the next can share ids only if X-Ray sent a segment twice: keep the first.
  const unique = [...new Map(spans.map((s) => [s.spanId, s])).values()].sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : 0));
  const ids = new Set(unique.map((s) => s.spanId));
  const start = Math.min(...unique.map((s) => Date.parse(s.startedAt)));
  const end = Math.max(...unique.map((s) => Date.parse(s.startedAt) + s.durationMs));
  // The root: a segment nothing in the trace calls (the earliest, if X-Ray sent several), else the earliest span.
  const root = roots.sort((a, b) => a.start - b.start)[0]?.service ?? unique.find((s) => !s.parentSpanId || !ids.has(s.parentSpanId))?.service ?? unique[0]!.service;
  return {
    traceId: t.Id,
    rootService: root,
    startedAt: new Date(start).toISOString(),
    totalMs: t.Duration !== undefined ? Math.round(t.Duration * 1_000_000) / 1000 : end - start,
    status: summaryHasError || unique.some((s) => s.status === 'ERROR') ? 'ERROR' : 'OK',
    spans: unique,
  };
};

/** The `aws-telemetry` row's settings (adapters.ts parses them from the environment). */
export interface AwsTelemetrySettings {
  readonly directory: DirectorySettings;
  readonly client?: AwsClientSettings;
  readonly graphWindowMinutes?: number;
  readonly applicationSignalsEnvironment?: string;
}

/** The adapter a deployment builds: its own X-Ray and CloudWatch clients, the directory the aws rows share. */
export const awsTelemetry = (s: AwsTelemetrySettings, clock?: () => Date): AwsTelemetry =>
  new AwsTelemetry({
    xray: new XRayClient(awsClientOptions(s.client)),
    cloudwatch: new CloudWatchClient(awsClientOptions(s.client)),
    directory: serviceDirectory(s.directory, {}, s.client ? { client: s.client } : {}),
    budget: budgetOf(s.client),
    ...(clock ? { clock } : {}),
    ...(s.graphWindowMinutes !== undefined ? { graphWindowMinutes: s.graphWindowMinutes } : {}),
    ...(s.applicationSignalsEnvironment ? { applicationSignalsEnvironment: s.applicationSignalsEnvironment } : {}),
  });
