/**
 * Impact agent: which services are degraded, since when, how many users and how much revenue per minute,
 * and how severe. Sees the world only through `telemetry` (topology, metrics, traces).
 *
 * Window (see `incidentWindows`): from 75 min before the alert's start to now. The baseline is the part that
 * ends 15 min before the alert started — well before the end of the window — and each series is scored
 * against it with the robust statistics of analysis/metrics.ts. Where points are coarse (X-Ray and CloudWatch
 * at five minutes) or the window holds too little baseline, more history is read first (analysis/history.ts),
 * and the sustained-anomaly rule follows the resolution.
 *
 * Topology: everything the alerting service reaches (up to `MAX_SERVICES` nodes: service maps run to hundreds)
 * and its callers up to three hops. Besides the anomalies, the agent ranks where in the call graph the alert's
 * degradation starts (analysis/propagation.ts) and keeps that ranking as evidence `origins:<service>` for the
 * root-cause agent.
 */
import type { AgentDeps } from '../deps.ts';
import { analyseSeries, DEFAULT_Z_LOW, hingeOnset, InvalidSeries, median, type SeriesAnalysis, type Trend, trendTest, zToScore } from '../analysis/metrics.ts';
import { failingLeaves } from '../analysis/hypotheses.ts';
import { historyRequest, seriesResolutionMs, sustainedRule, withHistory } from '../analysis/history.ts';
import { dayBefore, dayOverDay } from '../analysis/day-over-day.ts';
import { toOriginEvidence } from '../analysis/origin-evidence.ts';
import { rankOrigins } from '../analysis/propagation.ts';
import { type Anomaly, type AgentSummary, type AgentTask, type Evidence, ImpactOutput, Severity } from '../model.ts';
import type { MetricSeries, ServiceNode, Trace } from '../tools/ports.ts';
import { toReadings, traceRecord } from '../recorded/readings.ts';
import { type AgentContext, runAgent, summarise } from './runtime.ts';

const MINUTE = 60_000;
export const WINDOW_BEFORE_START_MIN = 75;
export const BASELINE_GAP_MIN = 15;
export const MAX_AFTER_START_MIN = 60;
/** A user-facing p99 this many times its baseline counts as every user affected (see `affectedShare`). */
export const FULL_IMPACT_LATENCY_RATIO = 4;
/** Most services read: the alerting service, everything it reaches, its callers (X-Ray maps of 40–200 nodes fit). */
export const MAX_SERVICES = 200;
/** What the other agents' neighbourhoods keep (logs and history are read per service: they stay small). */
const DEFAULT_NEIGHBOURHOOD = 16;
/**
 * A slow climb (a leak, a filling queue) that began before the baseline window is invisible to a level
 * comparison; it counts as an anomaly when Mann–Kendall |Z| ≥ this, the climb is ≥ TREND_MIN_CHANGE of the
 * level over the window, it goes the "worse" way, and the recent level is still above the baseline.
 */
export const TREND_MIN_Z = 4;
export const TREND_MIN_CHANGE = 0.25;

// ───────────────────────── what a metric means ─────────────────────────

/** The symptom family a metric belongs to; triage classifies incidents from these. */
export type MetricKind = 'latency' | 'errors' | 'throughput' | 'saturation' | 'resource' | 'users' | 'revenue' | 'other';

export interface MetricTrait {
  readonly kind: MetricKind;
  /** The direction that means "worse"; `both` for metrics of unknown meaning. */
  readonly bad: 'up' | 'down' | 'both';
}

/** Recognises a metric from its name (vendor-neutral patterns, not a fixed list). */
export const metricTrait = (metric: string): MetricTrait => {
  const m = metric.toLowerCase();
  if (/active_users|users|sessions/.test(m)) return { kind: 'users', bad: 'down' };
  if (/revenue|orders|gmv|checkouts?_per/.test(m)) return { kind: 'revenue', bad: 'down' };
  // Throttled requests are refused requests (HTTP 429), not load served.
  if (/error|fail|5xx|exception|throttl/.test(m)) return { kind: 'errors', bad: 'up' };
  if (/latency|duration|response_time|_ms$|p9\d|p50/.test(m)) return { kind: 'latency', bad: 'up' };
  if (/pool|queue|pending|thread|conn|backlog|wait|quota/.test(m)) return { kind: 'saturation', bad: /_max$|limit|capacity/.test(m) ? 'down' : 'up' };
  if (/cpu|mem|heap|gc|disk|fd|load/.test(m)) return { kind: 'resource', bad: /limit/.test(m) ? 'down' : 'up' };
  // Days left on a certificate or credential: running out is the failure.
  if (/days_to_expiry|expir/.test(m)) return { kind: 'other', bad: 'down' };
  // Load a service serves: fewer is the failure (consumed capacity, invocations and messages are load too).
  if (/throughput|rps|requests|qps|tps|consumed|invocations|messages_(received|sent)/.test(m)) return { kind: 'throughput', bad: 'down' };
  return { kind: 'other', bad: 'both' };
};

/** True when an anomaly goes the way that means "worse" for its metric. */
export const isDegradation = (metric: string, direction: 'up' | 'down'): boolean => {
  const { bad } = metricTrait(metric);
  return bad === 'both' || bad === direction;
};

// ───────────────────────── topology ─────────────────────────

export interface Neighbourhood {
  /** The service, then callees (downstream), then callers (upstream), each by distance. */
  readonly services: string[];
  readonly callers: string[];
  readonly callees: string[];
  readonly tiers: ReadonlyMap<string, ServiceNode['tier']>;
  /** Transitive callers of a service (who is affected when it degrades). */
  readonly upstreamOf: (service: string) => Set<string>;
  /** Services within reach that the budget left out of `services` (their metrics are not read). */
  readonly omitted: string[];
}

const walk = (start: string, next: (s: string) => readonly string[], depth: number): string[] => {
  const seen = new Set([start]);
  const order: string[] = [];
  let frontier = [start];
  for (let d = 0; d < depth && frontier.length > 0; d += 1) {
    const nextFrontier: string[] = [];
    for (const s of frontier)
      for (const n of next(s))
        if (!seen.has(n)) {
          seen.add(n);
          order.push(n);
          nextFrontier.push(n);
        }
    frontier = nextFrontier;
  }
  return order;
};

/** Callers (transitively, `up` hops) and callees (`down` hops) of a service in a topology, at most `budget` services. */
export const topologyNeighbourhood = (nodes: readonly ServiceNode[], service: string, up = 3, down = 2, budget = DEFAULT_NEIGHBOURHOOD): Neighbourhood => {
  const callees = new Map<string, readonly string[]>();
  const callers = new Map<string, string[]>();
  for (const n of nodes) {
    callees.set(n.name, n.calls);
    for (const c of n.calls) callers.set(c, [...(callers.get(c) ?? []), n.name]);
  }
  const downstream = walk(service, (s) => callees.get(s) ?? [], down);
  const upstream = walk(service, (s) => callers.get(s) ?? [], up);
  const reach = [...new Set([service, ...downstream, ...upstream])];
  const services = reach.slice(0, budget);
  return {
    services,
    omitted: reach.slice(budget),
    callers: upstream,
    callees: downstream,
    tiers: new Map(nodes.map((n) => [n.name, n.tier])),
    upstreamOf: (s) => new Set(walk(s, (x) => callers.get(x) ?? [], 10)),
  };
};

// ───────────────────────── windows ─────────────────────────

export interface IncidentWindows {
  readonly from: string;
  readonly to: string;
  /** Points before this belong to the baseline. */
  readonly baselineEnd: string;
}

/**
 * The query window for an incident: it ends now (or 60 min after the alert's start, for a rerun days later);
 * the baseline is the 60 min that end 15 min before the start (and at least 15 min before the window's end),
 * so a slow build-up before the alert fired is still evaluated, not absorbed into the baseline.
 */
export const incidentWindows = (startedAt: string, now: Date): IncidentWindows => {
  const start = Date.parse(startedAt);
  const to = now.getTime() < start ? now.getTime() : Math.min(now.getTime(), start + MAX_AFTER_START_MIN * MINUTE);
  const baselineEnd = Math.min(start, to) - BASELINE_GAP_MIN * MINUTE;
  const from = baselineEnd - (WINDOW_BEFORE_START_MIN - BASELINE_GAP_MIN) * MINUTE;
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), baselineEnd: new Date(baselineEnd).toISOString() };
};

// ───────────────────────── analysis ─────────────────────────

export interface AnalysedSeries {
  readonly series: MetricSeries;
  readonly analysis: SeriesAnalysis;
  readonly evidenceId: string;
  /** A sustained degrading trend over the whole window, when the level test alone did not fire. */
  readonly trend?: Trend & { readonly onset: string; readonly startLevel: number };
}

/** The degrading trend of a series, if it has one (see TREND_MIN_Z). */
export const degradingTrend = (series: MetricSeries, analysis: SeriesAnalysis): AnalysedSeries['trend'] => {
  if (analysis.anomalous || series.points.filter((p) => Number.isFinite(p.v)).length < 8) return undefined;
  const trend = trendTest(series.points);
  if (Math.abs(trend.z) < TREND_MIN_Z || Math.abs(trend.relativeChange) < TREND_MIN_CHANGE) return undefined;
  if (trend.direction !== analysis.direction || Math.abs(analysis.z) < DEFAULT_Z_LOW || !isDegradation(series.metric, trend.direction)) return undefined;
  const onset = hingeOnset(series.points);
  const before = series.points.slice(0, Math.max(1, onset.index + 1)).map((p) => p.v);
  return { ...trend, onset: iso(onset.t), startLevel: median(before.slice(-5)) };
};

const round = (x: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
const iso = (t: string | number): string => new Date(typeof t === 'number' ? t : Date.parse(t)).toISOString();
const fmt = (x: number): string => (Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : String(round(x, 2)));

/** Severity policy thresholds (documented defaults; a business would tune them). */
export const SEVERITY_POLICY = {
  sev1: { affectedShare: 0.25, users: 10_000, revenuePerMinute: 10_000, errorPct: 25 },
  sev2: { affectedShare: 0.05, users: 1_000, revenuePerMinute: 1_000, errorPct: 5, latencyRatio: 3 },
} as const;

export interface ImpactFigures {
  readonly usersImpacted: number;
  readonly revenuePerMinute: number;
  /** The largest share of a user-facing service's traffic considered affected, in [0, 1]. */
  readonly affectedShare: number;
  readonly worstErrorPct: number;
  readonly worstLatencyRatio: number;
  readonly userFacing: boolean;
  readonly explanation: string[];
}

/**
 * The share of a user-facing service's users affected, from its own anomalous series:
 *   errors:  the excess error rate (current − baseline, as a fraction) fails that share of requests;
 *   latency: p99 at r × baseline; we scale linearly from 0 at r = 1 to 1 at r = FULL_IMPACT_LATENCY_RATIO,
 *            because a page fans out to many calls, so a multiplied tail soon reaches every session;
 *   drops:   a fall in active users or throughput is users already lost.
 * The share is the largest of the three (they overlap, so summing would double count).
 */
export const affectedShare = (parts: { errorExcessPct?: number; latencyRatio?: number; dropFraction?: number }): number => {
  const errors = Math.max(0, (parts.errorExcessPct ?? 0) / 100);
  const latency = parts.latencyRatio ? (parts.latencyRatio - 1) / (FULL_IMPACT_LATENCY_RATIO - 1) : 0;
  const drop = parts.dropFraction ?? 0;
  return Math.min(1, Math.max(0, errors, latency, drop));
};

export const severityFrom = (f: Pick<ImpactFigures, 'usersImpacted' | 'revenuePerMinute' | 'affectedShare' | 'worstErrorPct' | 'worstLatencyRatio' | 'userFacing'>, degraded: boolean): { severity: Severity; why: string } => {
  const p1 = SEVERITY_POLICY.sev1;
  const p2 = SEVERITY_POLICY.sev2;
  if (f.worstErrorPct >= p1.errorPct) return { severity: 'SEV1', why: `error rate ${fmt(f.worstErrorPct)}% ≥ ${p1.errorPct}%` };
  if (f.userFacing && f.affectedShare >= p1.affectedShare) return { severity: 'SEV1', why: `${Math.round(f.affectedShare * 100)}% of user traffic affected` };
  if (f.userFacing && f.usersImpacted >= p1.users) return { severity: 'SEV1', why: `${fmt(f.usersImpacted)} users affected` };
  if (f.userFacing && f.revenuePerMinute >= p1.revenuePerMinute) return { severity: 'SEV1', why: `$${fmt(f.revenuePerMinute)}/min revenue at risk` };
  if (f.worstErrorPct >= p2.errorPct) return { severity: 'SEV2', why: `error rate ${fmt(f.worstErrorPct)}% ≥ ${p2.errorPct}%` };
  if (f.worstLatencyRatio >= p2.latencyRatio) return { severity: 'SEV2', why: `p99 latency ×${fmt(f.worstLatencyRatio)} of baseline` };
  if (f.affectedShare >= p2.affectedShare || f.usersImpacted >= p2.users || f.revenuePerMinute >= p2.revenuePerMinute)
    return { severity: 'SEV2', why: `${fmt(f.usersImpacted)} users / $${fmt(f.revenuePerMinute)}/min affected` };
  if (degraded) return { severity: 'SEV3', why: 'degradation without measurable user impact' };
  return { severity: 'SEV4', why: 'no sustained anomaly found' };
};

/** The service of a trace's first deepest failing span (see `failingLeaves`): where the failure began. */
export const errorOrigin = (trace: Trace): string | undefined => failingLeaves(trace)[0];

/** One series' evidence item, with its readings (`full`) and without them (`slim`). */
interface MetricEvidence {
  readonly service: string;
  readonly full: Evidence;
  readonly slim: Evidence;
}

/**
 * Bytes of series evidence an impact record keeps: with the readings up to `withReadings`, then without them up to
 * `total`. An agent record must fit its store's item (350 KB), and a map of 200 services holds 1,400 series.
 */
export const METRIC_EVIDENCE_BUDGET = { withReadings: 150_000, total: 230_000 } as const;

const jsonBytes = (x: unknown): number => Buffer.byteLength(JSON.stringify(x) ?? '', 'utf8');

/**
 * Adds the series evidence, most telling first: the alerting service's, the anomalous and ranked services' and the
 * blast radius's, then the rest nearest the alerting service first; with readings while `withReadings` lasts, then
 * without them while `total` lasts, then left out and counted in one `metric:omitted` item. A series something
 * cites (an anomaly, a ranked node's strongest signal, a user-facing service's users) is always kept.
 */
const keepMetricEvidence = (
  evidence: AgentContext['evidence'],
  items: readonly MetricEvidence[],
  keep: { readonly cited: ReadonlySet<string>; readonly important: ReadonlySet<string> },
  order: readonly string[],
): void => {
  const rank = new Map(order.map((s, i) => [s, i]));
  const weight = (item: MetricEvidence) => (keep.cited.has(item.full.id) ? 2 : keep.important.has(item.service) ? 1 : 0);
  const sorted = [...items].sort((a, b) => weight(b) - weight(a) || (rank.get(a.service) ?? order.length) - (rank.get(b.service) ?? order.length));
  let bytes = 0;
  const left = new Map<string, number>();
  for (const item of sorted) {
    const full = jsonBytes(item.full);
    if (bytes + full <= METRIC_EVIDENCE_BUDGET.withReadings) {
      evidence.add(item.full);
      bytes += full;
      continue;
    }
    const slim = jsonBytes(item.slim);
    if (keep.cited.has(item.full.id) || bytes + slim <= METRIC_EVIDENCE_BUDGET.total) {
      evidence.add(item.slim);
      bytes += slim;
      continue;
    }
    left.set(item.service, (left.get(item.service) ?? 0) + 1);
  }
  if (left.size > 0) {
    const series = [...left.values()].reduce((a, b) => a + b, 0);
    evidence.add({
      id: 'metric:omitted',
      kind: 'metric',
      source: 'telemetry',
      summary: `${series} more series of ${left.size} services, none of them anomalous, were analysed but not kept (the record's size)`,
      data: { series, services: [...left.keys()] },
    });
  }
};

const analyse = async (ctx: AgentContext) => {
  const { incident, scope, evidence, deps } = ctx;
  const service = incident.service;
  const windows = incidentWindows(incident.startedAt, deps.clock());

  // 1. Topology: whose metrics to read, and who sits upstream (users) of a degraded service.
  const nodes = (await evidence.call('telemetry', () => deps.tools.telemetry.getTopology({ ...scope, services: [service] }))) ?? [];
  const hood = topologyNeighbourhood(nodes, service, 3, Number.POSITIVE_INFINITY, MAX_SERVICES);
  if (nodes.length > 0)
    evidence.add({
      id: `topology:${service}`,
      kind: 'topology',
      source: 'telemetry',
      summary: `${service} is called by ${hood.callers.join(', ') || 'nothing known'} and calls ${hood.callees.join(', ') || 'nothing known'}`,
      data: { callers: hood.callers, callees: hood.callees, tiers: Object.fromEntries(hood.tiers) },
    });
  // A map larger than the budget: the services left out are a gap, not read as healthy (one may be the cause).
  if (hood.omitted.length > 0)
    evidence.add({
      id: 'gap:topology.budget',
      kind: 'gap',
      source: 'telemetry',
      summary: `${hood.omitted.length} service(s) within reach of ${service} were not read (at most ${MAX_SERVICES} are): ${hood.omitted.slice(0, 10).join(', ')}${hood.omitted.length > 10 ? ', …' : ''}`,
      data: { omitted: hood.omitted.length },
    });

  // 2. Metrics for the neighbourhood over the whole window, and more history when that holds too little baseline.
  let metricsResult = await evidence.call('telemetry', () =>
    deps.tools.telemetry.queryMetrics({ ...scope, services: hood.services, from: windows.from, to: windows.to, resolutionSeconds: 60 }),
  );
  for (const step of [1, 2] as const) {
    const more = metricsResult && historyRequest(metricsResult, windows, step);
    if (!more || !metricsResult) break;
    const history = await evidence.call('telemetry', () => deps.tools.telemetry.queryMetrics({ ...scope, services: hood.services, ...more }));
    if (history) metricsResult = withHistory(history, metricsResult);
  }
  const metricsUnavailable = metricsResult === undefined;
  const resolutionMs = seriesResolutionMs(metricsResult ?? []);
  const sustained = sustainedRule(resolutionMs);
  const windowFrom = Date.parse(windows.from);
  const analysed: AnalysedSeries[] = [];
  for (const series of metricsResult ?? []) {
    let analysis: SeriesAnalysis;
    try {
      analysis = analyseSeries(series.points, { baselineEnd: windows.baselineEnd, ...sustained });
    } catch (error) {
      if (error instanceof InvalidSeries) continue; // too few points to judge: skip, not fail
      throw error;
    }
    // A slow climb is judged over the incident window, not over a day of history (a daily cycle is no leak).
    const recent = { ...series, points: series.points.filter((p) => Date.parse(p.t) >= windowFrom) };
    analysed.push({ series, analysis, evidenceId: `metric:${series.service}:${series.metric}`, trend: degradingTrend(recent, analysis) });
  }
  const byKey = new Map(analysed.map((a) => [`${a.series.service}:${a.series.metric}`, a]));
  // Each series' evidence, kept once the anomalies and the ranking say which matter most (see `keepMetricEvidence`).
  const metricEvidence = analysed.map((a): MetricEvidence => {
    const { series, analysis } = a;
    // Generic utilisation: `<x>_active` against a sibling `<x>_max` (pools, workers, connections).
    const max = series.metric.endsWith('_active') ? byKey.get(`${series.service}:${series.metric.replace(/_active$/, '_max')}`) : undefined;
    const utilisation = max && max.analysis.current > 0 ? round(analysis.current / max.analysis.current, 3) : undefined;
    const slim = {
      id: a.evidenceId,
      kind: 'metric' as const,
      source: 'telemetry',
      summary: `${series.service} ${series.metric}: baseline ${fmt(analysis.baseline.median)}${series.unit ? ` ${series.unit}` : ''}, now ${fmt(analysis.current)} (z ${round(analysis.z, 1)})${utilisation !== undefined ? `, ${Math.round(utilisation * 100)}% of max` : ''}`,
      data: {
        unit: series.unit,
        baseline: round(analysis.baseline.median, 3),
        scale: round(analysis.baseline.scale, 4),
        current: round(analysis.current, 3),
        z: round(analysis.z, 2),
        onset: analysis.onset ? iso(analysis.onset.t) : a.trend?.onset,
        trend: a.trend ? { slopePerMinute: round(a.trend.slopePerMinute, 4), mannKendallZ: round(a.trend.z, 2), relativeChange: round(a.trend.relativeChange, 3) } : undefined,
        utilisation,
      },
    };
    const full = {
      ...slim,
      data: {
        ...slim.data,
        // The series as read over the incident window (≈1.4 KB for 75 minutes of minute points), so `autopilot
        // export` can write what this agent saw as a recording (recorded/readings.ts). Not the extra history read
        // for coarse series: a day of it for every series of a 200-node map would not fit the agent's record.
        readings: toReadings(series.points.filter((p) => Date.parse(p.t) >= windowFrom)),
      },
    };
    return { service: series.service, full, slim };
  });

  // 3. Anomalies: a level sustained beyond the threshold at the end of the window, or a degrading trend.
  const anomalies: Anomaly[] = analysed
    .filter((a) => a.analysis.anomalous || a.trend)
    .map((a): Anomaly => {
      const id = `anomaly:${a.series.service}:${a.series.metric}`;
      const trend = a.analysis.anomalous ? undefined : a.trend;
      const onset = trend ? trend.onset : a.analysis.onset ? iso(a.analysis.onset.t) : undefined;
      const baseline = trend ? trend.startLevel : a.analysis.baseline.median;
      const score = trend ? Math.abs(trend.z) : Math.abs(a.analysis.z);
      evidence.add({
        id,
        kind: 'metric',
        source: 'telemetry',
        summary: trend
          ? `${a.series.service} ${a.series.metric} climbing steadily ${trend.direction} since ${onset}: ${fmt(baseline)} to ${fmt(a.analysis.current)} (${fmt(trend.slopePerMinute)}/min, Mann–Kendall Z ${round(trend.z, 1)})`
          : `${a.series.service} ${a.series.metric} ${a.analysis.direction} from ${fmt(baseline)} to ${fmt(a.analysis.current)} since ${onset ?? 'the window start'} (robust z ${round(a.analysis.z, 1)})`,
        data: { degradation: isDegradation(a.series.metric, a.analysis.direction), kind: metricTrait(a.series.metric).kind, pattern: trend ? 'trend' : 'level-shift' },
      });
      return {
        service: a.series.service,
        metric: a.series.metric,
        baseline: round(baseline, 3),
        current: round(a.analysis.current, 3),
        score: round(score, 2),
        direction: a.analysis.direction,
        onset,
        evidenceIds: [a.evidenceId, id],
      };
    })
    .sort((x, y) => y.score - x.score);
  // 3a. Nothing degraded against the hour before, yet an alert fired: a level creeping up for a day has cooked that
  // baseline (a leak deployed yesterday). Compare the window with the same minutes a day earlier.
  if (!anomalies.some((a) => isDegradation(a.metric, a.direction)) && metricsResult && metricsResult.length > 0) {
    const earlier = dayBefore(windows.from, windows.to);
    const yesterday = await evidence.call('telemetry', () => deps.tools.telemetry.queryMetrics({ ...scope, services: hood.services, from: earlier.from, to: earlier.to, resolutionSeconds: 60 }));
    const windowStart = Date.parse(windows.from);
    for (const today of metricsResult) {
      const before = yesterday?.find((y) => y.service === today.service && y.metric === today.metric);
      const recent = { ...today, points: today.points.filter((p) => Date.parse(p.t) >= windowStart) };
      const found = before && dayOverDay(recent, before, metricTrait);
      if (!found) continue;
      const id = `anomaly:${today.service}:${today.metric}`;
      evidence.add({
        id,
        kind: 'metric',
        source: 'telemetry',
        summary: `${today.service} ${today.metric} ${found.direction} from ${fmt(found.yesterday)} at the same time yesterday to ${fmt(found.current)} (robust z ${round(found.z, 1)}): a level that has crept up since before the window`,
        data: { degradation: true, kind: metricTrait(today.metric).kind, pattern: 'day-over-day', yesterday: round(found.yesterday, 3) },
      });
      anomalies.push({
        service: today.service,
        metric: today.metric,
        baseline: round(found.yesterday, 3),
        current: round(found.current, 3),
        score: round(Math.abs(found.z), 2),
        direction: found.direction,
        // It began before the window: the window's start is the earliest this agent can date it.
        onset: iso(windowStart),
        evidenceIds: [`metric:${today.service}:${today.metric}`, id],
      });
    }
    anomalies.sort((x, y) => y.score - x.score);
  }
  const degradations = anomalies.filter((a) => isDegradation(a.metric, a.direction));

  // 3b. Where the alert's degradation starts, along the call graph (kept as evidence for the root-cause agent).
  const ranked: string[] = [];
  // Series evidence other evidence or hypotheses cite: always kept (see `keepMetricEvidence`).
  const cited = new Set(anomalies.map((a) => `metric:${a.service}:${a.metric}`));
  if (metricsResult && metricsResult.length > 0 && nodes.length > 0) {
    const origins = rankOrigins({ topology: nodes, series: metricsResult, alert: { service, startedAt: incident.startedAt }, baselineEnd: windows.baselineEnd, maxNodes: MAX_SERVICES });
    const items = toOriginEvidence(origins, hood.tiers);
    for (const item of items) evidence.add(item);
    for (const r of origins.ranked.slice(0, items.length - 1)) {
      ranked.push(r.service);
      if (r.strongest) cited.add(`metric:${r.service}:${r.strongest.metric}`);
    }
  }

  // 4. Traces of the alert service in the evaluation part: where errors originate, the slowest paths.
  const traces = (await evidence.call('telemetry', () => deps.tools.telemetry.getTraces({ ...scope, services: [service], from: windows.baselineEnd, to: windows.to, limit: 50 }))) ?? [];
  const notable = [...traces].sort((a, b) => Number(b.status === 'ERROR') - Number(a.status === 'ERROR') || b.totalMs - a.totalMs).slice(0, 5);
  const traceIds = notable.map((t) => {
    const leaves = failingLeaves(t);
    const origin = leaves[0]; // errorOrigin(t)
    const slowest = [...t.spans].sort((a, b) => b.durationMs - a.durationMs)[0];
    return evidence.add({
      id: `trace:${t.traceId}`,
      kind: 'trace',
      source: 'telemetry',
      summary: `${t.rootService} ${t.status} in ${fmt(t.totalMs)} ms${origin ? `, error originates in ${origin}` : ''}${slowest ? `, slowest span ${slowest.service} ${slowest.operation} ${fmt(slowest.durationMs)} ms` : ''}`,
      data: { ...traceRecord(t, leaves), errorOrigin: origin, spans: t.spans.length },
    });
  });
  const errorTraces = traces.filter((t) => t.status === 'ERROR');
  const errorOrigins = new Set(errorTraces.map(errorOrigin).filter((s): s is string => Boolean(s)));

  // 5. Blast radius: degraded services, services where traced errors originate, and their user-facing callers.
  const degradedServices = new Set([...degradations.map((a) => a.service), ...errorOrigins]);
  const reportsUsers = (s: string) => byKey.has(`${s}:active_users`) || byKey.has(`${s}:revenue_per_min`) || [...byKey.keys()].some((k) => k.startsWith(`${s}:`) && ['users', 'revenue'].includes(metricTrait(k.split(':')[1]).kind));
  const isUserFacing = (s: string) => hood.tiers.get(s) === 'frontend' || reportsUsers(s);
  const userFacing = new Set<string>();
  for (const s of degradedServices) {
    if (isUserFacing(s)) userFacing.add(s);
    for (const u of hood.upstreamOf(s)) if (isUserFacing(u)) userFacing.add(u);
  }
  const blastRadius = [...degradedServices, ...[...userFacing].filter((s) => !degradedServices.has(s))];
  for (const u of userFacing) for (const a of analysed) if (a.series.service === u && ['users', 'revenue'].includes(metricTrait(a.series.metric).kind)) cited.add(a.evidenceId);
  keepMetricEvidence(evidence, metricEvidence, { cited, important: new Set([service, ...anomalies.map((a) => a.service), ...ranked, ...blastRadius]) }, hood.services);

  // 6. Users and revenue (see `affectedShare` for the formula).
  const explanation: string[] = [];
  let usersImpacted = 0;
  let revenuePerMinute = 0;
  let share = 0;
  const anomalyOf = (s: string, kind: MetricKind) => degradations.find((a) => a.service === s && metricTrait(a.metric).kind === kind);
  const worstDownstream = (kind: MetricKind) => degradations.filter((a) => metricTrait(a.metric).kind === kind).sort((a, b) => b.score - a.score)[0];
  const hasMetric = (s: string, kind: MetricKind) => analysed.some((a) => a.series.service === s && metricTrait(a.series.metric).kind === kind);
  if (degradedServices.size > 0) {
    for (const u of userFacing) {
      const err = hasMetric(u, 'errors') ? anomalyOf(u, 'errors') : worstDownstream('errors');
      const lat = hasMetric(u, 'latency') ? anomalyOf(u, 'latency') : worstDownstream('latency');
      const users = analysed.find((a) => a.series.service === u && metricTrait(a.series.metric).kind === 'users');
      const revenue = analysed.find((a) => a.series.service === u && metricTrait(a.series.metric).kind === 'revenue');
      const throughput = anomalyOf(u, 'throughput');
      const drop = (a: { baseline: number; current: number } | undefined) => (a && a.baseline > 0 ? Math.max(0, (a.baseline - a.current) / a.baseline) : 0);
      const userDrop = users?.analysis.anomalous ? drop({ baseline: users.analysis.baseline.median, current: users.analysis.current }) : 0;
      const f = affectedShare({
        errorExcessPct: err ? err.current - err.baseline : 0,
        latencyRatio: lat && lat.baseline > 0 ? lat.current / lat.baseline : undefined,
        dropFraction: Math.max(userDrop, drop(throughput)),
      });
      share = Math.max(share, f);
      if (users) {
        const lost = users.analysis.anomalous ? users.analysis.baseline.median - users.analysis.current : 0;
        // Exposed users: the usual level, or more when traffic is above it now (a sale, a launch).
        const exposed = Math.max(users.analysis.baseline.median, users.analysis.current);
        const n = Math.round(Math.max(exposed * f, lost, 0));
        usersImpacted += n;
        explanation.push(`${u}: ${fmt(n)} users = ${fmt(exposed)} active × ${Math.round(f * 100)}% affected`);
      }
      if (revenue) {
        const lost = revenue.analysis.anomalous ? revenue.analysis.baseline.median - revenue.analysis.current : 0;
        const expected = Math.max(revenue.analysis.baseline.median, revenue.analysis.current);
        const r = Math.max(expected * f, lost, 0);
        revenuePerMinute += r;
        explanation.push(`${u}: $${fmt(r)}/min of $${fmt(expected)}/min at risk`);
      }
    }
  }
  const worstErrorPct = Math.max(0, ...degradations.filter((a) => metricTrait(a.metric).kind === 'errors' && /pct|rate|percent/.test(a.metric)).map((a) => a.current));
  const worstLatencyRatio = Math.max(1, ...degradations.filter((a) => metricTrait(a.metric).kind === 'latency' && a.baseline > 0).map((a) => a.current / a.baseline));
  const figures = { usersImpacted, revenuePerMinute: round(revenuePerMinute, 2), affectedShare: share, worstErrorPct, worstLatencyRatio, userFacing: userFacing.size > 0 };
  let { severity, why } = severityFrom(figures, degradations.length > 0);
  if (metricsUnavailable) {
    severity = incident.severity;
    why = `metrics unavailable, keeping the alert's ${incident.severity}`;
  }

  // 7. Onset and confidence.
  const onsets = degradations.map((a) => a.onset).filter((t): t is string => Boolean(t)).sort();
  const onset = onsets[0];
  let confidence: number;
  if (metricsUnavailable) confidence = 0.15;
  else if (degradations.length === 0) confidence = analysed.length > 0 ? 0.55 : 0.2;
  else {
    // Strength: how far beyond the threshold the strongest anomalies are. Consistency: do onsets agree
    // (within 10 min of the earliest)? Corroboration: traced errors originate inside the blast radius.
    const top = degradations.slice(0, 3);
    const strength = top.reduce((s, a) => s + zToScore(a.score), 0) / top.length;
    const consistency = onsets.length === 0 ? 0.5 : onsets.filter((t) => Date.parse(t) - Date.parse(onsets[0]) <= 10 * MINUTE).length / onsets.length;
    const corroborated = errorTraces.length > 0 && [...errorOrigins].some((s) => degradedServices.has(s)) ? 1 : traces.length > 0 ? 0.5 : 0;
    confidence = 0.3 + 0.35 * strength + 0.2 * consistency + 0.1 * corroborated + (degradations.length >= 2 ? 0.05 : 0);
    if (evidence.has('gap:telemetry')) confidence -= 0.15;
  }
  confidence = round(Math.min(0.99, Math.max(0.05, confidence)), 2);

  const reasoning = [
    metricsUnavailable
      ? 'Metrics could not be read, so impact is unmeasured.'
      : degradations.length === 0
        ? `No sustained degradation in ${analysed.length} series across ${hood.services.length} services (baseline before ${windows.baselineEnd}).`
        : `${degradations.length} sustained degradation(s)${onset ? ` since ${onset}` : ''}: ${degradations
            .slice(0, 4)
            .map((a) => `${a.service} ${a.metric} ${fmt(a.baseline)}→${fmt(a.current)} (z ${fmt(a.score)})`)
            .join('; ')}.`,
    blastRadius.length > 0 ? `Blast radius: ${blastRadius.join(', ')}${userFacing.size > 0 ? ` (user-facing: ${[...userFacing].join(', ')})` : ''}.` : '',
    errorTraces.length > 0 ? `${errorTraces.length} of ${traces.length} traces failed; errors originate in ${[...errorOrigins].join(', ') || 'unknown spans'}.` : '',
    explanation.length > 0 ? `Impact: ${explanation.join('; ')}.` : '',
    `Severity ${severity}: ${why}.`,
  ]
    .filter(Boolean)
    .join(' ');

  const userEvidence = [...userFacing].flatMap((u) => analysed.filter((a) => a.series.service === u && ['users', 'revenue'].includes(metricTrait(a.series.metric).kind)).map((a) => a.evidenceId));
  const offline: ImpactOutput = {
    anomalies,
    blastRadius,
    usersImpacted,
    revenuePerMinute: figures.revenuePerMinute,
    severity,
    onset,
    confidence,
    reasoning,
    evidenceIds: [...new Set([...(evidence.has(`topology:${service}`) ? [`topology:${service}`] : []), ...degradations.slice(0, 6).map((a) => `anomaly:${a.service}:${a.metric}`), ...userEvidence, ...traceIds.slice(0, 3), ...(evidence.has('gap:telemetry') ? ['gap:telemetry'] : [])])],
  };
  return {
    schema: ImpactOutput,
    instructions:
      'Assess the impact of this incident from the metric, trace and topology evidence: list the sustained anomalies, the blast radius (degraded services and their user-facing callers), users impacted and revenue per minute at risk, severity SEV1..SEV4, the earliest onset and your confidence. Cite evidence ids.',
    offline,
  };
};

/** Whether `a` is a more severe level than `b` (SEV1 is the most severe). */
export const moreSevere = (a: Severity, b: Severity): boolean => Severity.options.indexOf(a) < Severity.options.indexOf(b);

export const analyzeImpact =
  (deps: AgentDeps) =>
  async (task: AgentTask): Promise<AgentSummary> => {
    const { output, incident } = await runAgent(deps, 'impact', task.incidentId, analyse);
    // Measured impact raises the incident's severity (so the incident list, the API and the report agree), and never
    // lowers it: the alert's severity may reflect what these metrics do not see, and lowering it is a human's call.
    if (moreSevere(output.severity, incident.severity)) {
      await deps.store.updateIncident(task.incidentId, { severity: output.severity });
      await deps.store.appendEvent(task.incidentId, {
        type: 'severity-raised',
        actor: 'impact',
        message: `Severity raised from ${incident.severity} (the alert's) to ${output.severity} (measured impact)`,
        data: { from: incident.severity, to: output.severity },
      });
    }
    const head = output.anomalies.length > 0 ? `${output.anomalies.length} anomalies, blast radius ${output.blastRadius.join(', ')}` : 'no sustained anomaly';
    return summarise(task.incidentId, 'impact', `${output.severity}: ${head}; ${output.usersImpacted.toLocaleString('en-US')} users, $${output.revenuePerMinute.toLocaleString('en-US')}/min (confidence ${output.confidence})`);
  };
