/**
 * Where in a call graph an anomaly starts, from metrics alone: the alerting service's degradation is traced down
 * the call graph to the services whose own degradation explains it, and stops where nothing below explains it.
 *
 * Telemetry such as X-Ray's gives, per node, latency (average and percentiles), error rate and request counts,
 * at coarse resolution with gaps, often with no logs, traces or changes. A caller's latency includes its callees'
 * latency, weighted by how often it calls them; its errors include part of theirs. So the alert's anomaly can be
 * decomposed along the graph ("flow"):
 *
 *     f(alert) = 1
 *     for each node v, callers before callees:
 *         s(v→c) = share of v's rise that callee c can explain (below), the shares scaled to sum to ≤ 1
 *         f(c)  += f(v) × s(v→c)                      the alert's anomaly that flows on into c
 *         own(v) = f(v) × (1 − Σ_c s(v→c))            what stays: v's own part of the alert's anomaly
 *
 * `rise` is the degradation of a signal against the node's own history (latency up in ms, failure rates up in
 * percentage points) and `p` the probability that it is real and not noise (the robust z of metrics.ts through
 * `zToScore`). Per-edge call counts are not given, so the shares use bounds that node counts do give:
 *   latency  s = p(c) × min(1, W × rise(c) / rise(v), (rise(c) / level(c)) / (rise(v) / level(v)))
 *            with W = load(c) / load(v), the most calls to c a request of v can make, and the second term because
 *            c's time is part of v's; on the best-composing statistic both have (an average before percentiles,
 *            unless gaps left it one point after the alert). A callee anomalous at the same time that could account
 *            for the caller's rise is taken to: two independent faults at once are rarer than one that propagates.
 *   errors   s = min(1, W × p(c) × rise(c) / rise(v)) + min(1, W × lost(c) / rise(v)) × consistency
 *            where lost(c) are calls that no longer reach c (its share of v's traffic fell: an endpoint that is
 *            down, scaled to zero or unreachable records nothing), as sure as a likelihood ratio makes it: the drop
 *            against the ratio's own noise at that time of day, and against the drop v's error rise implies had
 *            c lost them (a caller failing on its own loses none; `unreached`). A callee silent since the history
 *            (no point at all while its caller has several, its gaps before seldom) lost them all. Lost calls
 *            count only while v's errors are at least a third of what losing them would cause (else v stopped
 *            making them: users who cannot search do not adopt), and explain only what the callees' own recorded
 *            failures leave unexplained. The ratio is read from the alert on, like every other signal.
 *   In both, rise(v) is at least the smallest rise v's noise lets count (the detection threshold times its
 *   spread): a caller's rise within noise is nothing to divide among its callees, and dividing by it would hand the
 *   whole flow that reached it (say through calls lost on the way to it) to a callee that barely moved.
 * Latency and errors flow separately; a node's score is the sum of its own shares, each family weighted by how
 * anomalous the alerting node is in it. Ranked by that score, the first node is the most likely root cause:
 * anomalous, on the path of the alert's degradation, and not explained by anything below.
 *
 * Structure, not names: a pass-through node (an X-Ray `_client` or `AWS::Lambda` node in front of the function) is
 * explained by its one callee like any other caller, so the blame moves past it. An external leaf that degrades
 * with an instrumented sibling by a comparable amount is the caller's own view of its calls to that sibling (a
 * load balancer's `_remote` node): its share goes to the sibling (`clientViews`). A callee that had no traffic in
 * the history and has some now is new behaviour of its caller (a code path or a configuration that changed), so
 * its rise explains nothing and stays with the caller.
 *
 * Windows: points before `baselineEnd` are the node's history (any resolution, gaps allowed, possibly recorded
 * long before); points after it and before the alert are the pre-alert level (a node already degraded before the
 * alert did not start it); the points from the alert on are evaluated. The evaluated level is the k-th most
 * degraded value (k about a quarter of the evaluated points, at least 2 when there are more than `FEW_POINTS`, else
 * 1), so a single spike among many does not count and an anomaly that covers part of the window does. With too
 * little history, the points before the alert serve as a thin baseline with a wide noise floor.
 *
 * The ranking's confidence and the evidence that carries it to the root-cause agent: origin-evidence.ts.
 */
import type { MetricSeries, ServiceNode } from '../tools/ports.ts';
import { type Baseline, DEFAULT_Z_THRESHOLD, median, robustBaseline, zToScore } from './metrics.ts';

export type SignalFamily = 'latency' | 'errors' | 'traffic';

/**
 * The family a metric belongs to, from its name; undefined for what the flow does not use (CPU, memory, …, and
 * counts of errors, whose scale says nothing next to a rate). A throttled request is a failed one for its caller.
 */
export const familyOf = (metric: string): SignalFamily | undefined => {
  const m = metric.toLowerCase();
  if (/error|fault|fail|5xx|throttl/.test(m)) return /pct|percent|rate|ratio/.test(m) ? 'errors' : undefined;
  if (/latency|duration|response_time/.test(m)) return 'latency';
  if (/throughput|rps|requests|invocations/.test(m)) return 'traffic';
  return undefined;
};

/** Latency statistics by how well they add up along a call: an average composes, a tail only roughly. */
const LATENCY_ORDER = [/avg|mean|average/, /p50|median/, /p90/, /p95/, /p99/];
const latencyRank = (metric: string): number => {
  const i = LATENCY_ORDER.findIndex((r) => r.test(metric.toLowerCase()));
  return i < 0 ? LATENCY_ORDER.length : i;
};

/** Fewest history points for a baseline of its own; below this the points before the alert stand in. */
export const MIN_HISTORY_POINTS = 6;
/** Noise floor of a thin baseline, as a share of its level: two points say little about a series' spread. */
export const THIN_RELATIVE_FLOOR = 0.25;
/** Noise floor of latency as a share of its level (as in metrics.ts). */
export const LATENCY_RELATIVE_FLOOR = 0.05;
/** Noise floor of an error rate, in percentage points: a rate near 0 has no spread to measure. */
export const ERROR_FLOOR_PCT = 0.25;
/** Share of the evaluated points that must be at least as degraded as the level we take (see the header). */
export const SUSTAINED_SHARE = 0.25;
/**
 * Up to this many evaluated points, the most degraded one is the level: at five minutes a point is already five
 * minutes of calls, and with gaps two of three points after the alert may be missing (measured on the injection
 * check: asking for two of three misses a fault whose series kept one point of it, more often than a single noisy
 * point misleads).
 */
export const FEW_POINTS = 3;
/** Traffic below this (in the series' unit) is no traffic: a callee with none in its history is new. */
export const NO_TRAFFIC = 1e-3;
/**
 * Calls that vanish count as lost (failed at the caller) only while the caller's error rise is at least
 * 1 / this of what losing them would cause: retries and fallbacks absorb some, but not most.
 */
export const LOST_CALLS_SLACK = 3;
/**
 * Prior log-odds against calls lost (see `unreached`): a callee's share of its caller's traffic that falls by
 * noise alone (low-rate flows, a queue fed by one page, dip by a quarter and more on their own) must not take
 * the blame from a caller that fails for its own reason.
 */
export const LOST_CALLS_PRIOR = 3.5;
/**
 * Noise floor of a call ratio, as a share of its level: two nodes' buckets cut the same calls a little differently
 * (measured on the injection check: the ratios' own spread, not a floor, should decide at anything above this).
 */
export const LOST_CALLS_RELATIVE_FLOOR = 0.005;
/** History points this close to the evaluated ones' time of day say what the call ratio's noise is then. */
export const TIME_OF_DAY_MS = 3 * 3_600_000;
/** A callee silent at this many of its caller's points since the history may have gone down (see `unreached`). */
export const SILENT_POINTS = 3;
/** Most nodes walked below the alerting service (X-Ray service maps run from tens to a few hundred nodes). */
export const MAX_NODES = 400;

export interface SeriesSignal {
  readonly metric: string;
  readonly baseline: number;
  readonly scale: number;
  readonly historyPoints: number;
  /** True when the history was too short and the points before the alert stood in for it. */
  readonly thin: boolean;
  /** The sustained level of the evaluated part (see the header). */
  readonly level: number;
  /** What the level is compared with: the baseline, or the level just before the alert when that is worse. */
  readonly reference: number;
  /** The degradation, in the metric's unit: level − baseline for latency and errors, baseline − level for traffic. */
  readonly rise: number;
  readonly z: number;
  /** Probability-like strength of the degradation in [0, 1] (0.5 at the detection threshold). */
  readonly p: number;
  readonly evalPoints: number;
}

export interface NodeSignals {
  readonly service: string;
  /** Latency signals, best-composing statistic first. */
  readonly latency: readonly SeriesSignal[];
  readonly errors?: SeriesSignal;
  readonly traffic?: SeriesSignal;
  /** Requests per unit of time in the history (or, without one, now): the weight of its calls. */
  readonly load?: number;
  /** No traffic in the history, some now: a dependency that only appeared with the incident. */
  readonly newTraffic: boolean;
  /** The traffic series' points (time → value), for call ratios between a caller and a callee. */
  readonly trafficAt?: ReadonlyMap<number, number>;
}

interface Window {
  readonly baselineEnd: number;
  readonly alertAt: number;
}

/** The resolution of a series: the median spacing of its points (a gap is a missing point, not a new spacing). */
export const resolutionOf = (times: readonly number[]): number => {
  const steps: number[] = [];
  for (let i = 1; i < times.length; i += 1) if (times[i] > times[i - 1]) steps.push(times[i] - times[i - 1]);
  return steps.length > 0 ? median(steps) : 60_000;
};

/**
 * A point is "before the alert" when it starts at least this long (or one resolution step, if longer) before the
 * alert: an alert fires a few minutes into a fault, and a coarse point that ends after the alert holds part of it.
 */
export const PRE_ALERT_SPAN_MS = 5 * 60_000;

const finitePoints = (s: MetricSeries) => s.points.map((p) => ({ t: Date.parse(p.t), v: p.v })).filter((p) => Number.isFinite(p.t) && Number.isFinite(p.v));

/** The signal of one series, or undefined when it has nothing to evaluate. */
export const seriesSignal = (series: MetricSeries, family: SignalFamily, window: Window): SeriesSignal | undefined => {
  const points = finitePoints(series);
  const resolutionMs = resolutionOf(points.map((p) => p.t));
  // A point is before the alert when its whole bucket (and a few minutes' margin) precedes it.
  const beforeAlert = (t: number) => t + Math.max(resolutionMs, PRE_ALERT_SPAN_MS) <= window.alertAt;
  const evaluated = points.filter((p) => p.t >= window.baselineEnd && !beforeAlert(p.t)).map((p) => p.v);
  if (evaluated.length === 0) return undefined;
  let history = points.filter((p) => p.t < window.baselineEnd).map((p) => p.v);
  let pre = points.filter((p) => p.t >= window.baselineEnd && beforeAlert(p.t)).map((p) => p.v);
  let thin = false;
  if (history.length < MIN_HISTORY_POINTS) {
    // Too little history: everything before the alert is the baseline, with a wide noise floor.
    const before = points.filter((p) => beforeAlert(p.t)).map((p) => p.v);
    if (before.length === 0) return undefined;
    thin = true;
    history = before;
    pre = [];
  }
  const floors = (b: number) => ({
    relativeFloor: thin ? THIN_RELATIVE_FLOOR : family === 'latency' ? LATENCY_RELATIVE_FLOOR : family === 'traffic' ? 0.1 : 0,
    absoluteFloor: family === 'errors' ? ERROR_FLOOR_PCT : Math.max(1e-6, b * 1e-3),
  });
  const rough = median(history);
  const baseline: Baseline = robustBaseline(history, floors(Math.abs(rough)));
  const sign = family === 'traffic' ? -1 : 1;
  const worstFirst = [...evaluated].sort((a, b) => sign * (b - a));
  const k = evaluated.length > FEW_POINTS ? Math.max(2, Math.ceil(SUSTAINED_SHARE * evaluated.length)) : 1;
  const level = worstFirst[k - 1];
  // Already there before the alert: a level that moved since a distant history (or a fault that began long
  // before) did not start the alert's problem. The rise counts from the pre-alert level when that is higher.
  const reference = pre.length > 0 ? sign * Math.max(sign * baseline.median, sign * median(pre)) : baseline.median;
  const rise = sign * (level - reference);
  const z = rise / baseline.scale;
  return {
    metric: series.metric,
    baseline: baseline.median,
    scale: baseline.scale,
    historyPoints: baseline.n,
    thin,
    level,
    reference,
    rise,
    z,
    p: z > 0 ? zToScore(z, DEFAULT_Z_THRESHOLD) : 0,
    evalPoints: evaluated.length,
  };
};

/** Every node's signals from its series (services without a usable series are left out). */
export const nodeSignals = (series: readonly MetricSeries[], window: Window): Map<string, NodeSignals> => {
  const byService = new Map<string, MetricSeries[]>();
  for (const s of series) (byService.get(s.service) ?? byService.set(s.service, []).get(s.service)!).push(s);
  const out = new Map<string, NodeSignals>();
  for (const [service, list] of byService) {
    const latency: SeriesSignal[] = [];
    let errors: SeriesSignal | undefined;
    let traffic: SeriesSignal | undefined;
    let trafficSeries: MetricSeries | undefined;
    for (const s of [...list].sort((a, b) => latencyRank(a.metric) - latencyRank(b.metric))) {
      const family = familyOf(s.metric);
      if (!family) continue;
      const signal = seriesSignal(s, family, window);
      if (family === 'traffic' && !trafficSeries) trafficSeries = s;
      if (!signal) continue;
      if (family === 'latency') latency.push(signal);
      // Several failure rates (errors, throttles): the one that rose most is what callers feel.
      else if (family === 'errors') errors = !errors || signal.rise * signal.p > errors.rise * errors.p ? signal : errors;
      else traffic ??= signal;
    }
    // Load and novelty from the raw counts: a callee with no traffic in its history has no baseline to speak of.
    let load: number | undefined;
    let newTraffic = false;
    let trafficAt: Map<number, number> | undefined;
    if (trafficSeries) {
      const points = finitePoints(trafficSeries);
      trafficAt = new Map(points.map((p) => [p.t, p.v]));
      const history = points.filter((p) => p.t < window.baselineEnd).map((p) => p.v);
      const now = points.filter((p) => p.t >= window.baselineEnd).map((p) => p.v);
      const before = history.length > 0 ? median(history) : Number.NaN;
      const after = now.length > 0 ? Math.max(...now) : Number.NaN;
      load = Number.isFinite(before) && before > NO_TRAFFIC ? before : Number.isFinite(after) ? median(now) : undefined;
      newTraffic = history.length >= MIN_HISTORY_POINTS && before <= NO_TRAFFIC && after > NO_TRAFFIC;
    }
    if (latency.length > 0 || errors || traffic || load !== undefined) out.set(service, { service, latency, errors, traffic, load, newTraffic, trafficAt });
  }
  return out;
};

// ───────────────────────────── the flow ─────────────────────────────

export interface OriginInput {
  readonly topology: readonly ServiceNode[];
  readonly series: readonly MetricSeries[];
  /** The alerting service and when the alert says the problem started. */
  readonly alert: { readonly service: string; readonly startedAt: string };
  /** Points before this are history. */
  readonly baselineEnd: string;
  readonly maxNodes?: number;
}

export interface RankedOrigin {
  readonly service: string;
  /** The share of the alert's anomaly that stays with this node (see the header); the ranking key. */
  readonly score: number;
  /** Hops below the alerting service (shortest path). */
  readonly depth: number;
  /** Its own strongest degradation: family, metric, baseline → level, z. */
  readonly strongest?: { readonly family: SignalFamily; readonly metric: string; readonly baseline: number; readonly level: number; readonly z: number; readonly p: number };
  /** Anomalous callees whose rise explains part of this node's. */
  readonly explainedBy: readonly string[];
}

export interface OriginAnalysis {
  readonly alertService: string;
  /** Weight of each family in the score: how anomalous the alerting node is in it. */
  readonly familyWeights: Readonly<Record<'latency' | 'errors', number>>;
  /** Nodes walked (the alerting service and everything it reaches, within the budget). */
  readonly walked: number;
  /** Nodes with no usable series in the window. */
  readonly withoutData: readonly string[];
  readonly ranked: readonly RankedOrigin[];
  readonly signals: ReadonlyMap<string, NodeSignals>;
}

/** Breadth-first below `start`: the nodes in order and their depth. */
const below = (callees: ReadonlyMap<string, readonly string[]>, start: string, budget: number): Map<string, number> => {
  const depth = new Map([[start, 0]]);
  let frontier = [start];
  while (frontier.length > 0 && depth.size < budget) {
    const next: string[] = [];
    for (const s of frontier)
      for (const c of callees.get(s) ?? [])
        if (!depth.has(c) && depth.size < budget) {
          depth.set(c, depth.get(s)! + 1);
          next.push(c);
        }
    frontier = next;
  }
  return depth;
};

/** Callers before callees (Kahn's order over the walked nodes; an edge that closes a cycle is ignored). */
const topologicalOrder = (nodes: readonly string[], callees: ReadonlyMap<string, readonly string[]>, depth: ReadonlyMap<string, number>): string[] => {
  const inside = new Set(nodes);
  const indegree = new Map(nodes.map((n) => [n, 0]));
  for (const n of nodes) for (const c of callees.get(n) ?? []) if (inside.has(c) && c !== n) indegree.set(c, indegree.get(c)! + 1);
  const ready = nodes.filter((n) => indegree.get(n) === 0);
  const order: string[] = [];
  const done = new Set<string>();
  while (order.length < nodes.length) {
    if (ready.length === 0) {
      // A cycle: release its shallowest node.
      const rest = nodes.filter((n) => !done.has(n)).sort((a, b) => depth.get(a)! - depth.get(b)!);
      ready.push(rest[0]);
    }
    const n = ready.shift()!;
    if (done.has(n)) continue;
    done.add(n);
    order.push(n);
    for (const c of callees.get(n) ?? []) {
      if (!inside.has(c) || done.has(c)) continue;
      indegree.set(c, indegree.get(c)! - 1);
      if (indegree.get(c) === 0) ready.push(c);
    }
  }
  return order;
};

/**
 * How sure we are that a node's latency degraded: its best-composing statistic (an average, which every call
 * feeds), or the second strongest of the others when there are three or more (one percentile alone wanders, and
 * gaps may hide the average).
 */
export const latencyStrength = (n: NodeSignals | undefined): number => {
  const [first, ...rest] = n?.latency ?? [];
  if (!first) return 0;
  const others = rest.map((s) => s.p).sort((a, b) => b - a);
  return Math.max(first.p, others.length >= 2 ? others[1] : 0);
};

/** Calls to c per request of v, at most: all of c's requests come from v (a hard bound from the counts). */
const maxCallsPerRequest = (v: NodeSignals | undefined, c: NodeSignals): number => (c.load !== undefined && v?.load !== undefined && v.load > 0 ? c.load / v.load : Number.POSITIVE_INFINITY);

/**
 * What a caller's rise is divided by when a callee's share of it is worked out, given how sure the callee's part is
 * (`sure`, its p): the rise itself, or, when that is within noise, up to the smallest rise the caller's noise lets
 * count (the detection threshold times its spread), the less sure the callee the closer. A rise within noise,
 * divided by itself, would let a callee's faint wobble, or a call ratio's chance dip weighted by the prior against
 * it, "explain" all of it and take the whole flow that reached the caller (say through calls lost on the way to
 * it, which nothing below it can explain), making an origin of a node whose own signals barely moved. A callee
 * surely degraded still explains a caller whose own rise is faint (a pass-through node, a family the alert barely
 * shows): the flow goes on to it rather than stay with a node within noise.
 */
const explainable = (s: SeriesSignal, sure: number): number => Math.max(s.rise, DEFAULT_Z_THRESHOLD * s.scale * (1 - Math.min(1, Math.max(0, sure))));

/**
 * The share of a caller's latency rise its callee can explain, per statistic both have (the median of them),
 * times how sure the callee's rise is. Two bounds, neither needing per-edge call counts:
 * - traffic: v calls c at most load(c) / load(v) times per request, so c explains at most that × rise(c) / rise(v);
 * - composition: c's time is part of v's, so v cannot degrade by a larger factor than c explains:
 *   at most (rise(c) / level(c)) / (rise(v) / level(v)).
 * A callee that is anomalous at the same time as its caller and could account for the caller's rise is taken to
 * account for it: two independent faults at once are far less likely than one that propagates.
 */
const latencyShare = (v: NodeSignals | undefined, c: NodeSignals): number => {
  const sure = latencyStrength(c);
  if (sure === 0) return 0;
  const wMax = maxCallsPerRequest(v, c);
  const shares: { share: number; solid: boolean }[] = [];
  for (const sv of v?.latency ?? []) {
    const sc = c.latency.find((x) => x.metric === sv.metric);
    if (!sc || !(sv.rise > 0)) continue;
    const rise = Math.max(0, sc.rise);
    const against = explainable(sv, sure);
    let share = Math.min(1, (wMax * rise) / against);
    if (sc.reference > 0 && sv.reference > 0) share = Math.min(share, rise / sc.reference / (against / sv.reference));
    shares.push({ share, solid: sv.evalPoints >= 2 && sc.evalPoints >= 2 });
  }
  // A caller with no comparable latency (gaps) is explained as far as the callee is surely degraded.
  if (shares.length === 0) return (v?.latency ?? []).some((x) => x.rise > 0) ? 0 : sure;
  // The best-composing statistic decides (an average adds up along a call; a tail of a subset of the calls does not),
  // unless gaps left it a single point after the alert on either side while another statistic has more.
  return (shares.find((x) => x.solid) ?? shares[0]).share * sure;
};

/**
 * The share of a caller's error rise its callee can explain: the callee's own error rise (calls that failed
 * there) and the calls that never reached it, times the most calls per request v can make to c.
 */
const errorShare = (v: NodeSignals | undefined, c: NodeSignals, window: Window, minCalls: number): { failed: number; lost: number } => {
  const failed = c.errors ? Math.max(0, c.errors.rise) * c.errors.p : 0;
  const calls = unreached(v, c, window, v?.errors?.rise);
  const lost = 100 * calls.missing * calls.sure;
  const rise = v?.errors?.rise;
  // Calls that vanished without the caller failing nearly as many requests were not lost: the caller stopped
  // making them (users who cannot search do not adopt), which explains none of its errors. The further the
  // caller's errors fall short of what losing them would cause, the less they count (cubed: decisively).
  const implied = minCalls * lost;
  const consistent = lost > 0 && rise !== undefined && implied > LOST_CALLS_SLACK * Math.max(0, rise) ? ((LOST_CALLS_SLACK * Math.max(0, rise)) / implied) ** 3 : 1;
  const none = { failed: 0, lost: 0 };
  if (!(failed + lost > 0)) return none;
  if (rise === undefined) return { failed: c.errors?.p ?? 0, lost: lost > 0 ? consistent : 0 };
  if (!(rise > 0) || !v?.errors) return none;
  const wMax = maxCallsPerRequest(v, c);
  return {
    failed: Math.min(1, (wMax * failed) / explainable(v.errors, c.errors?.p ?? 0)),
    lost: Math.min(1, (wMax * lost) / explainable(v.errors, calls.sure)) * consistent,
  };
};

/**
 * The share of a caller's calls that no longer reach a callee (an endpoint that is down records nothing of them),
 * and how sure that is (`missing`, `sure`; the share counts as their product). The ratio of the callee's traffic to its caller's is steady while load comes and
 * goes, so it is judged against its own history at that time of day (the history's points within
 * `TIME_OF_DAY_MS` of the evaluated ones' time of day, when there are enough; else all of it): its level (the k-th
 * lowest evaluated ratio) against that history's median, in units of its robust spread, or of how far the same
 * statistic dips over as many consecutive history points (its 95th percentile / 1.645) when that is wider.
 *
 * How sure is a likelihood ratio between two readings of the caller's error rise (`callerRise`, points): the
 * callee lost calls (then at least `callerRise` / 100 of its calls per request of the caller are missing: every
 * failed request lost at least one) or the caller fails on its own (then nothing is missing). A drop that noise
 * makes as easily as the loss would does not count; one far larger than noise and at least the loss does:
 *
 *     μ = max(observed, expected);  log LR = (observed² − (observed − μ)²) / (2 spread²);
 *     sure = 1 / (1 + exp(LOST_CALLS_PRIOR − log LR))
 *
 * A callee that went silent (no traffic point at all since the history while its caller, whose errors rose, has
 * several, and its traffic series seldom had gaps at its caller's points before) lost all its calls, as sure as
 * such a run of gaps is unlikely at its own gap rate: a gap is not a zero, but a whole service falling silent
 * while its callers fail is not an ordinary gap.
 */
const unreached = (v: NodeSignals | undefined, c: NodeSignals, window: Window, callerRise: number | undefined): { missing: number; sure: number } => {
  const none = { missing: 0, sure: 0 };
  const at = v?.trafficAt;
  if (!at || !c.trafficAt) return none;
  const history: { t: number; r: number }[] = [];
  const now: number[] = [];
  let since = 0;
  let callerNow = 0;
  let callerHistory = 0;
  // The ratio is judged where the signals are (from the alert on, as `seriesSignal` has it): a dip just before the
  // alert, while the calls still arrived, is the ratio's noise, not calls lost with the alert's failures.
  const resolutionMs = resolutionOf([...at.keys()].sort((a, b) => a - b));
  const evaluated = (t: number) => t + Math.max(resolutionMs, PRE_ALERT_SPAN_MS) > window.alertAt;
  for (const [t, vv] of at) {
    if (!(vv > NO_TRAFFIC)) continue;
    const cv = c.trafficAt.get(t);
    if (t < window.baselineEnd) callerHistory += 1;
    else callerNow += 1;
    if (cv === undefined) continue;
    if (t < window.baselineEnd) history.push({ t, r: cv / vv });
    else {
      since += 1;
      if (evaluated(t)) now.push(cv / vv);
    }
  }
  if (history.length < MIN_HISTORY_POINTS) return none;
  if (now.length === 0 && since > 0) return none;
  if (now.length === 0) {
    // Silent since the history: as sure as that many gaps in a row are unlikely at the callee's own gap rate.
    if (callerNow < SILENT_POINTS || callerRise === undefined || !(callerRise > 0)) return none;
    const gapRate = Math.min(1, Math.max(1 / callerHistory, 1 - history.length / callerHistory));
    return { missing: 1, sure: 1 - gapRate ** callerNow };
  }
  const nowTimes = [...at.keys()].filter((t) => t >= window.baselineEnd);
  const sameTime = history.filter((h) => nowTimes.some((t) => timeOfDayDistance(h.t, t) <= TIME_OF_DAY_MS));
  const reference = (sameTime.length >= 2 * MIN_HISTORY_POINTS ? sameTime : history).map((h) => h.r);
  const baseline = robustBaseline(reference, { relativeFloor: LOST_CALLS_RELATIVE_FLOOR });
  if (!(baseline.median > 0)) return none;
  const k = now.length >= 3 ? Math.max(2, Math.ceil(SUSTAINED_SHARE * now.length)) : 1;
  const level = [...now].sort((a, b) => a - b)[k - 1];
  const missing = baseline.median - level;
  if (!(missing > 0)) return none;
  // The spread of this very statistic in the history (the k-th lowest of as many consecutive points), so that a
  // flow whose dips come in runs or with heavier tails than its spread says is judged by what its dips do.
  const dips: number[] = [];
  for (let i = 0; i + now.length <= reference.length; i += 1) dips.push(baseline.median - [...reference.slice(i, i + now.length)].sort((a, b) => a - b)[k - 1]);
  const spread = Math.max(baseline.scale, dips.length >= MIN_HISTORY_POINTS ? quantile(dips, 0.95) / 1.645 : 0);
  const expected = Math.max(0, callerRise ?? 0) / 100;
  const mu = Math.max(missing, expected);
  const logLr = (missing ** 2 - (missing - mu) ** 2) / (2 * spread ** 2);
  return { missing: missing / baseline.median, sure: 1 / (1 + Math.exp(-(logLr - LOST_CALLS_PRIOR))) };
};

const quantile = (xs: readonly number[], q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};

const DAY_MS = 86_400_000;
const timeOfDayDistance = (a: number, b: number): number => {
  const d = (((a - b) % DAY_MS) + DAY_MS) % DAY_MS;
  return Math.min(d, DAY_MS - d);
};

/** The rise of a node in a family, in the statistic two nodes share (latency) or in points (errors). */
const riseIn = (n: NodeSignals | undefined, family: 'latency' | 'errors', metric?: string): number | undefined =>
  family === 'errors' ? n?.errors?.rise : n?.latency.find((x) => !metric || x.metric === metric)?.rise;

/**
 * An external leaf (an X-Ray `_remote` node: the caller's own record of calls to an endpoint) whose degradation
 * matches an instrumented sibling's, at the same time, is most likely the caller's view of its calls to that
 * sibling (through a load balancer, say): its share of the explanation goes to the sibling, whose own callees can
 * explain it further. "Matches": in the best-composing statistic both have, the view's rise is at least a third
 * of the sibling's and at most what the sibling's rise would be if all of it fell on the view's calls
 * (× load(sibling) / load(view)), with the same slack of 3. A remote endpoint that fails alone keeps its share.
 */
const clientViews = (parts: { c: string; share: number }[], family: 'latency' | 'errors', caller: NodeSignals | undefined, signals: ReadonlyMap<string, NodeSignals>, isRemoteLeaf: (c: string) => boolean): void => {
  const sure = (c: string) => (family === 'latency' ? latencyStrength(signals.get(c)) : (signals.get(c)?.errors?.p ?? 0));
  const rises = (a: NodeSignals | undefined, b: NodeSignals | undefined): [number, number] | undefined => {
    if (family === 'errors') return a?.errors && b?.errors ? [a.errors.rise, b.errors.rise] : undefined;
    for (const l of caller?.latency ?? []) {
      const ra = riseIn(a, family, l.metric);
      const rb = riseIn(b, family, l.metric);
      if (ra !== undefined && rb !== undefined) return [ra, rb];
    }
    return undefined;
  };
  for (const view of parts.filter((x) => isRemoteLeaf(x.c) && x.share > 0)) {
    const a = signals.get(view.c);
    const matches = parts.filter((x) => {
      if (x === view || isRemoteLeaf(x.c) || !(x.share > 0) || sure(x.c) < 0.5) return false;
      const b = signals.get(x.c);
      const r = rises(a, b);
      if (!r || !(r[0] > 0) || !(r[1] > 0)) return false;
      const concentrated = a?.load && b?.load ? Math.max(1, b.load / a.load) : 1;
      return r[0] >= r[1] / CLIENT_VIEW_SLACK && r[0] <= r[1] * concentrated * CLIENT_VIEW_SLACK;
    });
    if (matches.length === 0) continue;
    const best = matches.sort((x, y) => y.share - x.share)[0];
    best.share += view.share;
    view.share = 0;
  }
};

/** How far a client's view of calls and the server's own record of them may differ and still be one thing. */
export const CLIENT_VIEW_SLACK = 3;

/** A node's strength in a family. */
const strength = (n: NodeSignals | undefined, family: 'latency' | 'errors'): number => (family === 'latency' ? latencyStrength(n) : (n?.errors?.p ?? 0));

/** Ranks every node below the alerting service by the share of the alert's anomaly that is its own (see the header). */
export const rankOrigins = (input: OriginInput): OriginAnalysis => {
  const alertAt = Date.parse(input.alert.startedAt);
  const baselineEnd = Date.parse(input.baselineEnd);
  if (Number.isNaN(alertAt)) throw new RangeError(`alert.startedAt is not a timestamp: ${input.alert.startedAt}`);
  if (Number.isNaN(baselineEnd)) throw new RangeError(`baselineEnd is not a timestamp: ${input.baselineEnd}`);
  const callees = new Map<string, string[]>();
  for (const n of input.topology) callees.set(n.name, [...new Set(n.calls)]);
  const tiers = new Map(input.topology.map((n) => [n.name, n.tier]));
  const callers = new Map<string, string[]>();
  for (const [v, cs] of callees) for (const c of cs) (callers.get(c) ?? callers.set(c, []).get(c)!).push(v);

  const depth = below(callees, input.alert.service, input.maxNodes ?? MAX_NODES);
  const walked = [...depth.keys()];
  const inside = new Set(walked);
  const signals = nodeSignals(
    input.series.filter((s) => inside.has(s.service)),
    { baselineEnd, alertAt },
  );
  const order = topologicalOrder(walked, callees, depth);

  // Calls to c per request of v, at least: c's requests shared among its callers at one rate (a caller that calls
  // it less than the others is the exception; 0 when the counts are missing).
  const minCallsPerRequest = (v: string, c: string): number => {
    const load = signals.get(c)?.load;
    const total = (callers.get(c) ?? []).reduce((s, u) => s + (signals.get(u)?.load ?? 0), 0);
    return load !== undefined && total > 0 ? load / total : 0;
  };

  const families = ['latency', 'errors'] as const;
  const atAlert = families.map((f) => strength(signals.get(input.alert.service), f));
  const sum = atAlert[0] + atAlert[1];
  const familyWeights = { latency: sum > 0 ? atAlert[0] / sum : 0.5, errors: sum > 0 ? atAlert[1] / sum : 0.5 };

  const own = new Map<string, number>(walked.map((n) => [n, 0]));
  const explainedBy = new Map<string, Set<string>>();
  for (const family of families) {
    const lambda = familyWeights[family];
    if (lambda === 0) continue;
    const flow = new Map<string, number>([[input.alert.service, 1]]);
    for (const v of order) {
      const f = flow.get(v) ?? 0;
      if (f === 0) continue;
      const sv = signals.get(v);
      const parts: { c: string; share: number; lost?: number }[] = [];
      for (const c of callees.get(v) ?? []) {
        if (!inside.has(c) || c === v) continue;
        const sc = signals.get(c);
        if (!sc || sc.newTraffic) continue;
        if (family === 'latency') {
          const share = latencyShare(sv, sc);
          if (share > 0) parts.push({ c, share });
        } else {
          const { failed, lost } = errorShare(sv, sc, { baselineEnd, alertAt }, minCallsPerRequest(v, c));
          if (failed + lost > 0) parts.push({ c, share: Math.min(1, failed), lost });
        }
      }
      // Calls lost are read from counts, failures from the callees' own records: lost calls explain only what the
      // recorded failures leave unexplained.
      const room = Math.max(0, 1 - parts.reduce((s, x) => s + x.share, 0));
      const lostTotal = parts.reduce((s, x) => s + (x.lost ?? 0), 0);
      for (const x of parts) x.share = Math.min(1, x.share + (x.lost ?? 0) * (lostTotal > room ? room / lostTotal : 1));
      clientViews(parts, family, sv, signals, (c) => tiers.get(c) === 'external' && (callees.get(c) ?? []).length === 0);
      const total = parts.reduce((s, x) => s + x.share, 0);
      const scale = total > 1 ? 1 / total : 1;
      let passed = 0;
      for (const { c, share } of parts) {
        const s = share * scale;
        passed += s;
        flow.set(c, (flow.get(c) ?? 0) + f * s);
        if (s >= 0.1) (explainedBy.get(v) ?? explainedBy.set(v, new Set()).get(v)!).add(c);
      }
      own.set(v, own.get(v)! + lambda * f * (1 - passed));
    }
  }

  const strongestOf = (n: NodeSignals | undefined): RankedOrigin['strongest'] => {
    const all = [...(n?.latency ?? []).map((s) => ({ family: 'latency' as const, s })), ...(n?.errors ? [{ family: 'errors' as const, s: n.errors }] : []), ...(n?.traffic ? [{ family: 'traffic' as const, s: n.traffic }] : [])];
    const best = all.sort((a, b) => b.s.z - a.s.z)[0];
    return best ? { family: best.family, metric: best.s.metric, baseline: best.s.baseline, level: best.s.level, z: best.s.z, p: best.s.p } : undefined;
  };
  const ranked = walked
    .map((service): RankedOrigin => ({ service, score: own.get(service) ?? 0, depth: depth.get(service)!, strongest: strongestOf(signals.get(service)), explainedBy: [...(explainedBy.get(service) ?? [])] }))
    .sort((a, b) => b.score - a.score || (b.strongest?.p ?? 0) - (a.strongest?.p ?? 0) || a.depth - b.depth || (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  return {
    alertService: input.alert.service,
    familyWeights,
    walked: walked.length,
    withoutData: walked.filter((s) => !signals.has(s)),
    ranked,
    signals,
  };
};
