/**
 * Root cause as hypothesis → experiment. From ALL the evidence we generate candidate explanations (every
 * change in the window, and every anomalous service as an origin: traffic surge, resource leak, failing
 * external dependency), state what each predicts, check every prediction against the evidence in code, and
 * compute a confidence from those checks. Nothing here knows a scenario: it sees anomalies, templates,
 * changes, topology, traces and metric series.
 *
 * Predictions per hypothesis:
 *   change      timing (decisive; a slow burn — a metric of the changed service flat before the deploy and
 *               climbing after — makes a long lag plausible), place (origin / dependency of the origin /
 *               floods it: its dependency's traffic jumps at the deploy far more than its own), meaning
 *               (symptoms name what it touched), novelty (new errors where its faults would show); and for a
 *               change of a capacity or limit (changes.ts, `limitChange`), mechanism: its service fails at the
 *               limit it lowered (throttles, CPU pinned, usage at its cap or at the new number, errors saying
 *               so). Lowering a limit is latent: the service fails when its load reaches the limit, so a late
 *               onset with the load risen since the deploy is timed as strongly as a prompt one; a limit it raised
 *               cannot make the service saturate;
 *   surge       origin, traffic rose before the onset, saturation (CPU, pool or another capacity at its
 *               limit), no change on the service (refuted by a change that lowered the limit it fails at);
 *   leak        origin, memory climbs steadily (Kendall's τ), errors mention memory / GC;
 *   dependency  failing spans end in the external dependency, callers' errors name it or a remote failure;
 *   metric-origin  the fault is where the alert's degradation stops along the call graph (origin-hypotheses.ts,
 *               from the impact agent's ranking, propagation.ts): its confidence is that ranking's calibrated one,
 *               it gives way to a credible hypothesis that places the fault in the same service or is a change
 *               above it, and it refutes surge / leak / service-fault / dependency hypotheses it places elsewhere;
 *   all         (when close past incidents exist) one reads like this hypothesis — weak support only.
 * Only failure signals (see `isFailureSignal`) mark a service as failing and set fault onsets: more load is
 * not a fault, and a sale that starts before a bad change must not refute the change.
 *
 * Confidence (documented, monotone, bounded):
 *
 *     confidence = 0                                          if a decisive prediction is refuted
 *     confidence = σ(PRIOR_LOG_ODDS + Σ w·[supported] − Σ w·[refuted])   otherwise
 *
 * σ is the logistic function; `PRIOR_LOG_ODDS` = −2 (an untested hypothesis is unlikely: σ(−2) ≈ 0.12);
 * each prediction has a weight w (how diagnostic it is). Inconclusive checks add nothing. A change deployed
 * after the onset is refuted outright (the timing prediction is decisive). Turning any check from
 * inconclusive to supported strictly raises the confidence; turning it to refuted strictly lowers it.
 *
 * We abstain when there is no anomaly (nothing to explain) or when the best hypothesis stays below
 * `ABSTAIN_BELOW` or has no supported prediction at all.
 */
import type * as z from 'zod';
import type { Anomaly, FaultCategory, Hypothesis, LogTemplate, RootCauseOutput, SimilarOutput } from '../model.ts';
import { METRICS, type ChangeRequest, type MetricSeries, type ServiceNode, type Trace } from '../tools/ports.ts';
import {
  type CallGraph,
  type Check,
  type Verdict,
  callGraph,
  changeText,
  dependenciesOf,
  meaningOverlap,
  relationOf,
  limitChange,
  timeAlignment,
  type LimitChange,
  tokens,
  tokensMatch,
  MIN_MEANING_MATCHES,
  MAX_PLAUSIBLE_LAG_MINUTES,
  ONSET_GRACE_MINUTES,
} from './changes.ts';
import { DEFAULT_Z_THRESHOLD, mannKendallS, median, senSlope } from './metrics.ts';
import { byCodeUnit } from '../compare.ts';
import { originCandidates, withoutSubsumedOrigins, withPlaceFromOrigins } from './origin-hypotheses.ts';
import type { OriginEvidence } from './origin-evidence.ts';
import { parseXrayNodeName } from '../tools/aws/xray-names.ts';

export type Template = z.infer<typeof LogTemplate>;

export const PRIOR_LOG_ODDS = -2;
export const ABSTAIN_BELOW = 0.5;
export const TOP_N = 3;
/** Share of the failing traces that must end in a service for the traces to place the fault there. */
const MIN_LEAF_SHARE = 0.3;
/** One failing trace is an anecdote (background errors happen everywhere): traces place a fault from two on. */
const MIN_LEAF_TRACES = 2;
/** How far a healthy dependency may be from the origin and still be blamed. */
const MAX_BLAME_HOPS = 3;
const MINUTE_MS = 60_000;

export interface RootCauseInput {
  /** The service the alert named and when it said the problem started. */
  readonly incident: { readonly service: string; readonly startedAt: string };
  readonly anomalies: readonly Anomaly[];
  /** The earliest onset the impact agent saw. */
  readonly onset?: string;
  readonly templates: readonly Template[];
  readonly changes: readonly ChangeRequest[];
  readonly topology: readonly ServiceNode[];
  /** Error traces of the anomalous services. */
  readonly traces: readonly Trace[];
  /** Series of the anomalous services (throughput, cpu, memory, db pool), from before the onset until now. */
  readonly series: readonly MetricSeries[];
  readonly similar?: SimilarOutput;
  /** Tools that failed (`gap:<tool>` ids): reported as missing evidence. */
  readonly gaps?: readonly string[];
  /** Where the alert's degradation starts along the call graph, from metrics (origin-hypotheses.ts). */
  readonly origins?: OriginEvidence;
  readonly now: string;
}

/** A prediction with its weight; `decisive` means a refutation kills the hypothesis. */
export interface TestedPrediction {
  readonly statement: string;
  readonly result: Verdict;
  readonly weight: number;
  readonly decisive?: boolean;
  readonly evidenceIds: readonly string[];
  /** Evidence that would have settled an inconclusive check. */
  readonly missing?: string;
}

export interface Candidate {
  readonly kind: 'change' | 'traffic-surge' | 'resource-leak' | 'dependency-outage' | 'service-fault' | 'metric-origin';
  readonly summary: string;
  readonly service: string;
  readonly category: FaultCategory;
  readonly changeId?: string;
  readonly predictions: readonly TestedPrediction[];
  /** A confidence of its own, calibrated elsewhere (metric-origin: propagation.ts), instead of `confidenceOf`. */
  readonly confidence?: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The documented confidence formula (see the module comment). */
export const confidenceOf = (predictions: readonly Pick<TestedPrediction, 'result' | 'weight' | 'decisive'>[]): number => {
  if (predictions.some((p) => p.decisive && p.result === 'refuted')) return 0;
  const score = predictions.reduce((s, p) => s + (p.result === 'supported' ? p.weight : p.result === 'refuted' ? -p.weight : 0), 0);
  return Math.round(sigmoid(PRIOR_LOG_ODDS + score) * 1000) / 1000;
};

// ───────────────────────────── the evidence, indexed ─────────────────────────────

interface World {
  readonly input: RootCauseInput;
  readonly graph: CallGraph;
  readonly topologyKnown: boolean;
  /**
   * Services with a failure signal (see `isFailureSignal`): only these can be an origin or a symptom. A service
   * that merely carries more load (throughput up) is busy, not broken.
   */
  readonly anomalous: ReadonlySet<string>;
  /** Services with any failure signal, including those that only wobbled beside a real failure (`realFailures`). */
  readonly degraded: ReadonlySet<string>;
  /** A service's failing (transitive) dependencies that can explain its failure (see `explains`). */
  readonly failingDepsOf: (service: string) => string[];
  /** Failing services no failing (transitive) dependency of which explains their failure. */
  readonly origins: ReadonlySet<string>;
  /** Per service, the traces whose deepest failing span is in it. */
  readonly leafErrors: ReadonlyMap<string, readonly string[]>;
  readonly errorTraceCount: number;
  readonly onsetOf: (service: string) => string | undefined;
  /** Minutes between the earliest and the latest indicator onset of a service: how unsure its onset is. */
  readonly onsetSpreadOf: (service: string) => number;
  readonly serviceTokens: ReadonlySet<string>;
}

/** The deepest failing span of a trace: an ERROR span none of whose children failed. */
export const failingLeaves = (trace: Trace): string[] => {
  const failing = trace.spans.filter((s) => s.status === 'ERROR');
  const failingParents = new Set(failing.map((s) => s.parentSpanId).filter(Boolean));
  return [...new Set(failing.filter((s) => !failingParents.has(s.spanId)).map((s) => s.service))];
};

/** The traffic a service serves (requests, users, revenue): a failure only when it drops. */
export const isTrafficMetric = (metric: string): boolean => /throughput|rps|requests|users|revenue|consumed|invocations|messages_(received|sent)/i.test(metric);

/** CPU at or above this is saturation (a failure signal); below it a CPU rise is just load. */
export const CPU_SATURATION_PCT = 85;

/**
 * Whether an anomaly shows something failing, as opposed to more load arriving: latency, errors, memory or a
 * pool in use going up, throughput / users / revenue going down, CPU at saturation, a resized pool. Load
 * anomalies (throughput up, more users) still feed the traffic check, but do not mark a service as failing
 * and do not set the fault onset — a flash sale starting at 12:00 is not a fault that started at 12:00.
 */
export const isFailureSignal = (a: Pick<Anomaly, 'metric' | 'direction' | 'current'>): boolean => {
  const m = a.metric.toLowerCase();
  if (isTrafficMetric(m)) return a.direction === 'down';
  if (/cpu/.test(m)) return a.current >= CPU_SATURATION_PCT;
  if (/pool_max/.test(m)) return true;
  return a.direction === 'up';
};

/** An indicator dates a service's fault only if its anomaly is at least this share of the service's strongest one. */
export const DATING_SHARE = 0.25;

/** Latency and error rate: what users feel, and what dates a fault. */
export const isServiceLevelIndicator = (metric: string): boolean => /latency|error/.test(metric.toLowerCase());

/**
 * A dependency whose only failure is in its service-level indicators explains its caller's failure only if an
 * indicator rose by at least this share of the caller's rise on it: a request's latency includes its calls'
 * latency and its errors include theirs, so a database that answers 3.5 ms slower under a sale's load (or fails
 * 0.016 % of calls instead of 0.006 %) is not why its caller takes 13 s more and fails 23 % of requests. (A
 * caller that calls it ten times per request would degrade ten times as much: the share leaves room for that.)
 */
export const EXPLAINED_SLI_SHARE = 0.1;

/**
 * Whether a failing dependency can explain its caller's failure: yes when anything but its service-level
 * indicators fails (saturation, lost throughput, a resized pool, memory), when one of its indicators cannot be
 * compared with the caller's (the caller shows no anomaly on it), or when one rose by a real share of the
 * caller's (see `EXPLAINED_SLI_SHARE`).
 */
const explainer = (failures: readonly Anomaly[]) => {
  const rises = new Map<string, Map<string, number>>();
  const failsOtherwise = new Set<string>();
  for (const a of failures) {
    if (!isServiceLevelIndicator(a.metric)) {
      failsOtherwise.add(a.service);
      continue;
    }
    const own = rises.get(a.service) ?? rises.set(a.service, new Map()).get(a.service)!;
    own.set(a.metric, Math.max(own.get(a.metric) ?? 0, a.current - a.baseline));
  }
  return (dependency: string, caller: string): boolean => {
    if (failsOtherwise.has(dependency)) return true;
    const callerRises = rises.get(caller);
    // Compared on the same indicator only (p99 with p99, in the same unit).
    return [...(rises.get(dependency) ?? [])].some(([metric, rise]) => {
      const callerRise = callerRises?.get(metric);
      return callerRise === undefined || rise >= EXPLAINED_SLI_SHARE * callerRise;
    });
  };
};

/**
 * A service-level indicator or a traffic metric whose anomaly scores below this (twice the detection threshold)
 * only wobbled past the detector's edge. Beside a real failure elsewhere, such a wobble is not part of the
 * incident: see `realFailures`.
 */
export const WOBBLE_SCORE = 2 * DEFAULT_Z_THRESHOLD;

/** Metrics whose marginal anomalies can be wobbles: what users feel (latency, errors) and the traffic served. */
const canWobble = (metric: string): boolean => isServiceLevelIndicator(metric) || isTrafficMetric(metric);

/**
 * The failure signals of the services that really fail. A p99 that drifts just past the threshold (+20 %, z 3.6),
 * or a dependency that serves 19 % fewer requests because its failing caller gets fewer calls out (z 3.8), is what
 * detectors flag now and then on any busy service; beside a real failure elsewhere (errors at 24 %, z 800) it is
 * the edge of the noise or an echo of that failure, not where the incident is. Taken as failing, such a wobble
 * claims to be the origin of its callers' failure — and dates it by when it drifted, minutes before the deploy
 * that broke them, refuting that deploy. So a service whose only failure signals are such wobbles is left out
 * when some service fails for real. Saturation, memory and pools are never wobbles here: a leak or a filling
 * pool can score low and still be the fault; and a dependency whose traffic really collapses (a certificate
 * that fails every handshake: z 20) is no wobble either. With nothing strong anywhere (a false alarm, an
 * incident still starting) every failure signal counts, as before.
 */
const realFailures = (failures: readonly Anomaly[]): Anomaly[] => {
  const strong = new Set(failures.filter((a) => !canWobble(a.metric) || a.score >= WOBBLE_SCORE).map((a) => a.service));
  return strong.size > 0 ? failures.filter((a) => strong.has(a.service)) : [...failures];
};

/** Which services a service's NEW error templates name ("call to ledger-service failed: …"). */
const serviceNamer = (templates: readonly Template[]) => {
  const novel = templates.filter((t) => t.novel);
  return (caller: string, callee: string): boolean => {
    const own = tokens(callee.replace(/-(service|svc|api)$/, ''));
    if (own.size === 0) return false;
    return novel.some((t) => t.service === caller && [...own].every((o) => [...tokens(t.template)].some((x) => tokensMatch(o, x))));
  };
};

/**
 * Where a failing trace really fails. Its deepest failing span is where the error was raised, but a service
 * that cannot get an answer from a callee raises the error itself: a TLS handshake the callee's expired
 * certificate fails or a DNS name that no longer resolves leaves no callee span at all, and a callee too slow to
 * answer leaves one that did not fail yet. When the leaf's new errors name exactly one anomalous callee ("call to
 * customers-db failed: Read timed out"), the failure is in that callee; the leaf only reports it.
 */
const calleeThatFailedTheCall = (leaf: string, graph: CallGraph, anomalous: ReadonlySet<string>, names: (caller: string, callee: string) => boolean): string | undefined => {
  const candidates = [...(graph.callees.get(leaf) ?? [])].filter((c) => anomalous.has(c) && names(leaf, c));
  return candidates.length === 1 ? candidates[0] : undefined;
};

const index = (input: RootCauseInput): World => {
  const graph = callGraph(input.topology);
  const allFailures = input.anomalies.filter(isFailureSignal);
  const failures = realFailures(allFailures);
  // Only load anomalies (a surge nothing failed under): fall back to every anomalous service.
  const signals = failures.length > 0 ? failures : input.anomalies;
  const anomalous = new Set(signals.map((a) => a.service));
  const explains = explainer(failures);
  const failingDepsOf = (service: string) => [...dependenciesOf(graph, service)].filter((d) => anomalous.has(d) && explains(d, service));
  const origins = new Set([...anomalous].filter((s) => failingDepsOf(s).length === 0));
  const leafErrors = new Map<string, string[]>();
  const errorTraces = input.traces.filter((t) => t.status === 'ERROR' || t.spans.some((s) => s.status === 'ERROR'));
  const namesService = serviceNamer(input.templates);
  for (const trace of errorTraces) {
    for (const leaf of failingLeaves(trace)) {
      const service = calleeThatFailedTheCall(leaf, graph, anomalous, namesService) ?? leaf;
      (leafErrors.get(service) ?? leafErrors.set(service, []).get(service)!).push(trace.traceId);
    }
  }
  // A service's fault onset is when its service-level indicators (latency, errors) broke; saturation signals
  // (pool in use, memory, CPU) date it only when no SLI moved. Under a traffic surge a pool fills up before
  // anything fails: dating the fault by the pool would put the onset before the change that broke it.
  const onsets = new Map<string, string>();
  // Only the service's strong indicators date it: a mild latency creep (+25 %, z 5) that load caused twenty
  // minutes before errors jumped to 24 % (z 700) is not when the fault began.
  const strongestSli = new Map<string, number>();
  for (const a of signals) if (isServiceLevelIndicator(a.metric)) strongestSli.set(a.service, Math.max(strongestSli.get(a.service) ?? 0, a.score));
  // And an indicator that only wobbled past the detector's edge (below WOBBLE_SCORE) did not really move: when
  // the service fails otherwise too (its CPU saturated under a surge), that failure dates it, not a p99 that
  // crossed the threshold on noise ten minutes before the surge arrived.
  const failsOtherwise = new Set(signals.filter((a) => !isServiceLevelIndicator(a.metric) && a.onset).map((a) => a.service));
  const dates = (a: Anomaly) =>
    !isServiceLevelIndicator(a.metric) || (a.score >= DATING_SHARE * (strongestSli.get(a.service) ?? 0) && (a.score >= WOBBLE_SCORE || !failsOtherwise.has(a.service)));
  const sliOnsets = new Map<string, string>();
  for (const a of signals) {
    if (!a.onset || !dates(a)) continue;
    const into = isServiceLevelIndicator(a.metric) ? sliOnsets : onsets;
    const current = into.get(a.service);
    if (!current || Date.parse(a.onset) < Date.parse(current)) into.set(a.service, a.onset);
  }
  for (const [service, onset] of sliOnsets) onsets.set(service, onset);
  const spreads = new Map<string, number>();
  for (const service of new Set(signals.map((a) => a.service))) {
    const own = signals.filter((a) => a.service === service && a.onset && dates(a) && (!sliOnsets.has(service) || isServiceLevelIndicator(a.metric))).map((a) => Date.parse(a.onset!));
    if (own.length > 1) spreads.set(service, (Math.max(...own) - Math.min(...own)) / MINUTE_MS);
  }
  const serviceNames = new Set([...input.topology.map((n) => n.name), ...anomalous, ...input.changes.map((c) => c.service), input.incident.service]);
  return {
    input,
    graph,
    topologyKnown: input.topology.length > 0,
    anomalous,
    degraded: new Set([...anomalous, ...allFailures.map((a) => a.service)]),
    failingDepsOf,
    origins,
    leafErrors,
    errorTraceCount: errorTraces.length,
    onsetOf: (service) => onsets.get(service) ?? earliest(signals) ?? input.onset ?? input.incident.startedAt,
    onsetSpreadOf: (service) => spreads.get(service) ?? 0,
    serviceTokens: new Set([...serviceNames].flatMap((s) => [...tokens(s.replace(/-(service|svc|api)$/, ''))])),
  };
};

const earliest = (anomalies: readonly Anomaly[]): string | undefined =>
  anomalies.map((a) => a.onset).filter((o): o is string => !!o && !Number.isNaN(Date.parse(o))).sort((a, b) => Date.parse(a) - Date.parse(b))[0];

/** Kendall's tau of values against their order: +1 strictly rising, −1 strictly falling, ≈ 0 no trend. Robust to noise. */
export const trendTau = (values: readonly number[]): number => {
  const n = values.length;
  return n < 3 ? 0 : mannKendallS(values) / ((n * (n - 1)) / 2);
};

const anomalyIds = (w: World, service: string, metric?: string): string[] =>
  w.input.anomalies.filter((a) => a.service === service && (!metric || a.metric === metric)).flatMap((a) => a.evidenceIds);
const templateIds = (templates: readonly Template[]): string[] => templates.flatMap((t) => t.evidenceIds);
const seriesOf = (w: World, service: string, metric: string): MetricSeries | undefined =>
  w.input.series.find((s) => s.service === service && s.metric === metric && s.points.length > 0);
const seriesId = (s: MetricSeries) => `metric:${s.service}:${s.metric}`;
const topologyIds = (w: World, ...services: string[]) => (w.topologyKnown ? services.filter((s) => w.graph.tiers.has(s)).map((s) => `topology:${s}`) : []);
const pick = (verdict: Verdict, statement: string, weight: number, evidenceIds: readonly string[], extra: Partial<TestedPrediction> = {}): TestedPrediction => ({
  statement,
  result: verdict,
  weight,
  evidenceIds: [...new Set(evidenceIds)],
  ...extra,
});
const withReason = (statement: string, check: Check) => `${statement} — ${check.reason}`;

// ───────────────────────────── change hypotheses ─────────────────────────────

const CHANGE_CATEGORY: Record<ChangeRequest['type'], FaultCategory | undefined> = {
  deploy: 'bad-deploy',
  config: 'config-change',
  'feature-flag': 'config-change',
  infrastructure: undefined,
};

/** A fault category read from text (for infrastructure changes and symptom wording). */
export const categoryFromText = (text: string): FaultCategory => {
  const t = text.toLowerCase();
  if (/\bdns\b|resolv|nxdomain/.test(t)) return 'dns';
  if (/certif|\btls\b|\bssl\b|x509/.test(t)) return 'certificate';
  if (/hikari|connection pool|pool ?size|pool exhaust|pooltimeout/.test(t)) return 'connection-pool';
  if (/out ?of ?memory|\boom\b|heap|memory leak|gc overhead/.test(t)) return 'memory-leak';
  if (/\bcache\b|redis|memcache/.test(t)) return 'cache';
  if (/\bsql\b|database|deadlock|\bdb\b|postgres|mysql|query/.test(t)) return 'database';
  return 'unknown';
};

/** The anomalous service a change would explain best: origins first, then the closest by call graph. */
const targetOf = (w: World, change: ChangeRequest): string | undefined => {
  const ranked = [...w.anomalous]
    .map((s) => ({ s, rel: relationOf(w.graph, change.service, s) }))
    .map(({ s, rel }) => ({ s, rank: (w.origins.has(s) ? 0 : 10) + (rel.kind === 'same' ? 0 : rel.kind === 'dependency' ? rel.hops : rel.kind === 'dependent' ? 5 + rel.hops : 20) }))
    .sort((a, b) => a.rank - b.rank || byCodeUnit(a.s, b.s));
  return ranked[0]?.s;
};

/** Series where a slow-burning fault shows first: it grows from the deploy until something gives. */
const SLOW_BURN_METRICS = [METRICS.memory, METRICS.dbPoolActive, METRICS.cpu, METRICS.latencyP99];
/** A trend at least this steady (Kendall's tau) counts as "climbing". */
export const STEADY_TREND_TAU = 0.6;

/** A slow burn's climb after the deploy must be this many times steeper than the drift before it. */
export const SLOW_BURN_SLOPE_RATIO = 3;

/**
 * A slow burn: a metric of the changed service climbs steadily from the deploy to the onset (a leak, a creeping
 * pool), much faster than it drifted in the hour before. This makes a lag longer than
 * `MAX_PLAUSIBLE_LAG_MINUTES` plausible.
 *
 * "Before" is judged by rate, not by steadiness: real series wander slowly, and over an hour a wander of a
 * few percent can look perfectly monotone (Kendall's tau near ±1) while being negligible next to the climb.
 * So the climb (Sen's slope after the deploy) must be steady (tau) and at least `SLOW_BURN_SLOPE_RATIO` times
 * the drift before it, and the level must have grown by 20% by the onset.
 */
const slowBurn = (w: World, change: ChangeRequest, onset: string | undefined): { metric: string; growth: number; id: string } | undefined => {
  const deployed = Date.parse(change.deployedAt);
  const end = Date.parse(onset ?? '');
  if (Number.isNaN(deployed) || Number.isNaN(end) || end <= deployed) return undefined;
  for (const metric of SLOW_BURN_METRICS) {
    const series = seriesOf(w, change.service, metric);
    if (!series) continue;
    const prePoints = series.points.filter((p) => Date.parse(p.t) < deployed && Date.parse(p.t) >= deployed - 60 * MINUTE_MS);
    const postPoints = series.points.filter((p) => Date.parse(p.t) >= deployed && Date.parse(p.t) <= end);
    if (prePoints.length < 3 || postPoints.length < 5) continue;
    const pre = prePoints.map((p) => p.v);
    const post = postPoints.map((p) => p.v);
    const growth = median(post.slice(-Math.max(1, Math.floor(post.length / 5)))) / median(pre);
    const climb = senSlope(postPoints);
    const drift = Math.abs(senSlope(prePoints));
    if (climb > 0 && climb >= SLOW_BURN_SLOPE_RATIO * drift && trendTau(post) >= STEADY_TREND_TAU && growth >= 1.2) return { metric, growth, id: seriesId(series) };
  }
  return undefined;
};

/** Traffic ratio of a series across the deploy: median of the 15 min after over the 30 min before. */
const ratioAcross = (series: MetricSeries | undefined, at: number): number | undefined => {
  if (!series) return undefined;
  const before = series.points.filter((p) => Date.parse(p.t) < at && Date.parse(p.t) >= at - 30 * MINUTE_MS).map((p) => p.v);
  const after = series.points.filter((p) => Date.parse(p.t) >= at && Date.parse(p.t) <= at + 15 * MINUTE_MS).map((p) => p.v);
  if (before.length === 0 || after.length === 0 || median(before) <= 0) return undefined;
  return median(after) / median(before);
};

/**
 * Most faults a change causes show within minutes of the deploy (a config reload, a rolling restart). An onset
 * later than this, with nothing building up since the deploy, is still possible but weaker evidence.
 */
export const PROMPT_LAG_MINUTES = 15;
const LATE_TIMING_WEIGHT = 0.75;

/** A change that makes its service call a dependency this much more than its own traffic grew floods it. */
export const AMPLIFICATION_RATIO = 1.5;

/**
 * A change in a caller can break its dependency by flooding it (a flag that adds synchronous calls, a retry
 * storm). Then the failing dependency's traffic jumps at the deploy much more than the changed service's own:
 * the extra calls come from the change, not from users (a sale lifts both alike).
 */
const amplification = (w: World, change: ChangeRequest, target: string): string | undefined => {
  if (target === change.service || !dependenciesOf(w.graph, change.service).has(target)) return undefined;
  const at = Date.parse(change.deployedAt);
  const dep = ratioAcross(seriesOf(w, target, METRICS.throughput), at);
  const own = ratioAcross(seriesOf(w, change.service, METRICS.throughput), at);
  if (dep === undefined || own === undefined || dep < AMPLIFICATION_RATIO || dep / own < AMPLIFICATION_RATIO) return undefined;
  return `${change.service} multiplies its calls into ${target}: ${target}'s traffic ×${dep.toFixed(1)} at the deploy while ${change.service}'s own ×${own.toFixed(1)}`;
};

// ───────────────────────────── latent limits ─────────────────────────────

/** Metric names that count work a service refuses at a limit: throttles, rejections, a capacity exceeded. */
const REFUSED_METRIC = /throttl|reject|exceed|exhaust|insufficient|dropped/i;
/** Error words of a service refusing work at a limit (its own errors, or its callers' that name it). */
const REFUSED_TEXT =
  /throttl|too ?many ?requests|rate ?exceeded|limit ?exceeded|throughput ?exceeded|capacity ?exceeded|exceeds? the (allowed|provisioned|maximum)|quota|pool (is )?exhausted|connection is not available|\b429\b/i;
/** Where a lowered timeout shows: calls that time out at it. */
const TIMED_OUT_TEXT = /timed? ?out|timeout/i;
/** Metrics that count how much of a capacity is in use: a reading at the new limit's number is the service at it. */
const USAGE_METRIC = /concurren|pool|capacity|units|connections|workers|threads|memory|heap|slots|in_use|active/i;
/** Traffic and service-level metrics are not a capacity in use, whatever their number. */
const NOT_USAGE_METRIC = /users|revenue|rps|throughput|requests|latency|error/i;
/** The in-use half of a usage / cap pair of series (db_pool_active / db_pool_max, consumed_… / provisioned_…). */
const IN_USE_WORD = /consumed|used|in_use|active/;
const CAP_WORD = /provisioned|max|limit|allocated|reserved/;
/** A usage this close to its cap is at it (a per-minute average of a capped rate stays a little below the cap). */
export const AT_LIMIT_SHARE = 0.95;
/**
 * A lowered limit explains a late onset only if the load reached it: the changed service's traffic in the 5 min up to
 * the onset must be at least this many times its traffic in the 15 min before the deploy.
 */
export const LOAD_RISE_RATIO = 1.1;

interface AtLimit {
  readonly reason: string;
  readonly evidenceIds: readonly string[];
  /** Read from its own metrics (not only from error wording, which may speak of another service's limit). */
  readonly fromMetrics: boolean;
}

const fmtValue = (v: number) => String(Math.round(v * 100) / 100);

/** The distinctive words of a service's own name (`Orders_AWS::DynamoDB::Table` → orders; `ledger-service` → ledger). */
const ownNameTokens = (service: string): Set<string> => tokens((parseXrayNodeName(service).name || service).replace(/-(service|svc|api)$/, ''));

const sinceOnsetOf = (w: World, service: string) => {
  const onset = Date.parse(w.onsetOf(service) ?? '');
  return (s: MetricSeries) => s.points.filter((p) => Number.isNaN(onset) || Date.parse(p.t) >= onset);
};

/**
 * Whether a service's own metrics show it at a limit, whatever set the limit: a throttle or rejection metric rose,
 * its CPU is pinned at saturation, or a usage series reached its cap (pool active = max, consumed = provisioned)
 * since the onset.
 */
const refusesWork = (w: World, service: string): AtLimit | undefined => {
  const refused = w.input.anomalies
    .filter((a) => a.service === service && isFailureSignal(a) && a.direction === 'up' && REFUSED_METRIC.test(a.metric))
    .sort((a, b) => b.score - a.score)[0];
  if (refused) return { fromMetrics: true, reason: `${refused.metric} ${fmtValue(refused.baseline)} → ${fmtValue(refused.current)}`, evidenceIds: refused.evidenceIds };
  const sinceOnset = sinceOnsetOf(w, service);
  const mine = w.input.series.filter((s) => s.service === service && s.points.length > 0);
  // Compute at its limit: fewer replicas, threads or CPU than the load needs shows as CPU pinned at saturation.
  const cpu = mine.find((s) => s.metric === METRICS.cpu);
  const cpuPeak = Math.max(...(cpu ? sinceOnset(cpu).map((p) => p.v) : []), Number.NEGATIVE_INFINITY);
  if (cpu && cpuPeak >= CPU_SATURATION_PCT) return { fromMetrics: true, reason: `${METRICS.cpu} reached ${fmtValue(cpuPeak)}%`, evidenceIds: [seriesId(cpu), ...anomalyIds(w, service, METRICS.cpu)] };
  const hot = w.input.anomalies.find((a) => a.service === service && /cpu/i.test(a.metric) && a.current >= CPU_SATURATION_PCT);
  if (hot) return { fromMetrics: true, reason: `${hot.metric} at ${fmtValue(hot.current)}%`, evidenceIds: hot.evidenceIds };
  for (const used of mine.filter((s) => IN_USE_WORD.test(s.metric))) {
    const cap = mine.find((s) => s !== used && CAP_WORD.test(s.metric) && s.metric.replace(CAP_WORD, '') === used.metric.replace(IN_USE_WORD, ''));
    if (!cap) continue;
    const caps = new Map(cap.points.map((p) => [p.t, p.v]));
    const hit = sinceOnset(used).find((p) => (caps.get(p.t) ?? 0) > 0 && p.v >= AT_LIMIT_SHARE * caps.get(p.t)!);
    if (hit) return { fromMetrics: true, reason: `${used.metric} reached ${cap.metric} (${fmtValue(hit.v)} of ${fmtValue(caps.get(hit.t)!)})`, evidenceIds: [seriesId(used), seriesId(cap)] };
  }
  return undefined;
};

/**
 * Whether a service fails at a limit of its own: its metrics say so (`refusesWork`), a usage reading sits at the
 * number `limit` set (concurrency at the new reserved concurrency), or — wording only — its new errors, or its
 * callers' that name it, say it throttles, is over a quota or ran out of a pool (or times out, when the limit is a
 * timeout).
 */
const atLimit = (w: World, service: string, limit: LimitChange): AtLimit | undefined => {
  const refused = refusesWork(w, service);
  if (refused) return refused;
  const own = w.input.anomalies.filter((a) => a.service === service && isFailureSignal(a));
  const sinceOnset = sinceOnsetOf(w, service);
  const mine = w.input.series.filter((s) => s.service === service && s.points.length > 0);
  const limits = limit.newValues.filter((n) => n > 0);
  const atNewLimit = (v: number) => limits.some((n) => v >= AT_LIMIT_SHARE * n && v <= n / AT_LIMIT_SHARE);
  const isUsage = (metric: string) => USAGE_METRIC.test(metric) && !NOT_USAGE_METRIC.test(metric);
  const usage = own.find((a) => isUsage(a.metric) && atNewLimit(a.current));
  if (usage) return { fromMetrics: true, reason: `${usage.metric} at ${fmtValue(usage.current)}, the new limit`, evidenceIds: usage.evidenceIds };
  for (const s of mine.filter((x) => isUsage(x.metric))) {
    const peak = Math.max(...sinceOnset(s).map((p) => p.v), Number.NEGATIVE_INFINITY);
    if (atNewLimit(peak)) return { fromMetrics: true, reason: `${s.metric} peaks at ${fmtValue(peak)}, the new limit`, evidenceIds: [seriesId(s)] };
  }
  const name = ownNameTokens(service);
  const callers = w.graph.callers.get(service) ?? new Set<string>();
  const namesIt = (text: string) => name.size > 0 && [...name].every((o) => [...tokens(text)].some((x) => tokensMatch(o, x)));
  const timeout = /timeout/i.test(limit.param);
  const said = w.input.templates.filter(
    (t) => t.novel && (t.service === service || (callers.has(t.service) && namesIt(t.template))) && (REFUSED_TEXT.test(t.template) || (timeout && TIMED_OUT_TEXT.test(t.template))),
  );
  if (said.length > 0) return { fromMetrics: false, reason: `new errors say so: "${said[0].template.slice(0, 120)}"`, evidenceIds: templateIds(said) };
  return undefined;
};

/** The changed service's traffic (else its target's) in the 5 min up to the onset over the 15 min before the deploy. */
const loadRise = (w: World, change: ChangeRequest, target: string, onset: string | undefined): { ratio: number; id: string } | undefined => {
  const deployed = Date.parse(change.deployedAt);
  const end = Date.parse(onset ?? '');
  if (Number.isNaN(deployed) || Number.isNaN(end)) return undefined;
  for (const service of new Set([change.service, target])) {
    const s = seriesOf(w, service, METRICS.throughput);
    if (!s) continue;
    const before = s.points.filter((p) => Date.parse(p.t) < deployed && Date.parse(p.t) >= deployed - 15 * MINUTE_MS).map((p) => p.v);
    const atOnset = s.points.filter((p) => Date.parse(p.t) <= end && Date.parse(p.t) > end - 5 * MINUTE_MS).map((p) => p.v);
    if (before.length === 0 || atOnset.length === 0 || median(before) <= 0) continue;
    return { ratio: median(atOnset) / median(before), id: seriesId(s) };
  }
  return undefined;
};

const testChange = (w: World, change: ChangeRequest): Candidate => {
  const id = `change:${change.id}`;
  const target = targetOf(w, change) ?? w.input.incident.service;
  const onset = w.onsetOf(target);

  // 1. time (decisive): the onset follows the deploy within a plausible lag — or, for a slow burn, the
  //    changed service starts drifting at the deploy.
  const time = timeAlignment(change.deployedAt, onset, MAX_PLAUSIBLE_LAG_MINUTES, w.onsetSpreadOf(target));
  // The drift also names the mechanism (a memory drift is a leak), whatever the lag.
  const drift = time.verdict !== 'refuted' ? slowBurn(w, change, onset) : undefined;
  // A late onset (beyond PROMPT_LAG_MINUTES) needs the slow burn to be more than barely plausible.
  const late = time.lagMinutes !== undefined && time.lagMinutes > PROMPT_LAG_MINUTES && time.verdict !== 'refuted';
  const burn = late ? drift : undefined;
  // A latent limit: the change lowered a capacity or limit of its service (limitChange), the service — the origin,
  // not a caller of a failing dependency — now fails at a limit of its own, and its load rose from the deploy to the
  // onset. Nothing breaks at the deploy; the service refuses work once the load reaches the new limit, so the lag
  // is the time the load took to get there, and the load rise at the onset is the trigger, not the cause.
  const limit = limitChange(change);
  const saturated = limit && w.origins.has(change.service) ? atLimit(w, change.service, limit) : undefined;
  const rise = late && !burn && limit?.direction === 'lowered' && saturated ? loadRise(w, change, target, onset) : undefined;
  const latent = rise && rise.ratio >= LOAD_RISE_RATIO ? rise : undefined;
  const timeCheck: Check = burn
    ? { verdict: 'supported', reason: `slow burn: ${burn.metric} of ${change.service} climbs steadily from the deploy (×${burn.growth.toFixed(2)} by the onset, ${Math.round(time.lagMinutes!)} min later)` }
    : latent
      ? { verdict: 'supported', reason: `latent limit: ${limit!.reason}; ${change.service} fails at it (${saturated!.reason}) once its load reached it — traffic ×${latent.ratio.toFixed(2)} from before the deploy to the onset, ${Math.round(time.lagMinutes!)} min later` }
      : time;
  // Weight: a prompt onset (or a slow burn or a load reaching a lowered limit leading to it) is strong timing
  // evidence; an onset that follows a deploy by half an hour with nothing building up in between is merely not excluded.
  const timingWeight = burn || latent ? 2 : late && time.verdict === 'supported' ? LATE_TIMING_WEIGHT : 1.5;
  const timing = pick(timeCheck.verdict, withReason(`the anomaly on ${target} starts after ${change.id} was deployed, within ${MAX_PLAUSIBLE_LAG_MINUTES} min, as a slow burn or when the load reaches a limit it lowered`, timeCheck), timingWeight, [
    id,
    ...anomalyIds(w, target),
    ...(burn ? [burn.id] : []),
    ...(latent ? [latent.id, ...saturated!.evidenceIds] : []),
  ], {
    decisive: true,
    missing: time.verdict === 'inconclusive' && time.lagMinutes === undefined ? `the onset of the anomaly on ${target}` : undefined,
  });

  // 2. place: the changed service is the origin, or a dependency of it (faults flow from callee to caller).
  //    A stray failing trace or two is noise: the failing traces must end there in a real share.
  const leafTraces = w.leafErrors.get(change.service) ?? [];
  const leafShare = w.errorTraceCount > 0 ? leafTraces.length / w.errorTraceCount : 0;
  const failsHere = leafTraces.length >= MIN_LEAF_TRACES && (leafShare >= MIN_LEAF_SHARE || leafTraces.length >= Math.max(...[...w.leafErrors.values()].map((l) => l.length)));
  const rel = relationOf(w.graph, change.service, target);
  const isAnomalous = w.anomalous.has(change.service);
  // The target's failure is already explained by a failing dependency of its own that the changed service
  // does not lead to: a healthy changed service beside that path explains nothing.
  const targetFailingDeps = w.failingDepsOf(target);
  const changedDeps = dependenciesOf(w.graph, change.service);
  const explainedElsewhere = !isAnomalous && targetFailingDeps.length > 0 && !targetFailingDeps.some((d) => d === change.service || changedDeps.has(d));
  const flood = amplification(w, change, target);
  // The changed service is being flooded by another change's extra calls: its failure (and the traces that end
  // in it) is explained by the flood, whatever was changed on it.
  const floodedBy = !flood
    ? w.input.changes.filter((c) => c.id !== change.id && c.state === 'implemented' && c.service !== change.service).find((c) => amplification(w, c, change.service))
    : undefined;
  let place: Check;
  if (flood) place = { verdict: 'supported', reason: flood };
  else if (floodedBy) place = { verdict: 'inconclusive', reason: `${change.service} fails under the extra calls ${floodedBy.id} makes into it: ${amplification(w, floodedBy, change.service)}` };
  else if (failsHere) place = { verdict: 'supported', reason: `${leafTraces.length} of ${w.errorTraceCount} failing trace(s) end in ${change.service}` };
  else if (rel.kind === 'same' && w.origins.has(target)) place = { verdict: 'supported', reason: `${change.service} is failing and none of its dependencies is` };
  else if (rel.kind === 'dependency' && w.origins.has(target) && rel.hops <= MAX_BLAME_HOPS) place = { verdict: 'supported', reason: `${target} (the origin) calls ${change.service} (${rel.hops} hop(s))` };
  else if (rel.kind === 'unknown' || !w.topologyKnown) place = { verdict: 'inconclusive', reason: `${change.service} is not in the known topology` };
  else if (rel.kind === 'unrelated') place = { verdict: 'refuted', reason: `${change.service} is neither a failing service nor on a call path to one` };
  else if (!isAnomalous && w.errorTraceCount > 0 && rel.kind === 'dependency') place = { verdict: 'refuted', reason: `${change.service} is healthy and the failing traces end elsewhere` };
  else if (explainedElsewhere) place = { verdict: 'refuted', reason: `${change.service} is healthy and ${target}'s failure is explained by failing ${targetFailingDeps.join(', ')}` };
  else if (isAnomalous) place = { verdict: 'inconclusive', reason: `${change.service} is failing but one of its dependencies is too: it may be a symptom` };
  else place = { verdict: 'inconclusive', reason: `${change.service} ${rel.kind === 'dependent' ? 'calls' : 'is near'} ${target} but shows no fault of its own` };
  const locality = pick(place.verdict, withReason(`${change.service} is the origin of the anomaly, a dependency of it, or floods it`, place), 1.5, [
    id,
    ...(flood ? [seriesOf(w, target, METRICS.throughput), seriesOf(w, change.service, METRICS.throughput)].filter((x): x is MetricSeries => !!x).map(seriesId) : []),
    ...leafTraces.slice(0, 5).map((t) => `trace:${t}`),
    ...topologyIds(w, change.service, target),
    ...anomalyIds(w, change.service),
  ], { missing: place.verdict === 'inconclusive' && !w.topologyKnown ? 'the service topology (call graph)' : undefined });

  // 3. meaning: the symptoms name what the change touched.
  const related = new Set([change.service, target, ...(w.graph.callers.get(change.service) ?? [])]);
  // Symptoms are what is new: business-as-usual lines ("retrying … to downstream") say nothing about a change.
  const symptomTemplates = w.input.templates.filter((t) => t.novel && (related.has(t.service) || w.anomalous.has(t.service)));
  const symptomMetrics = w.input.anomalies.filter((a) => related.has(a.service)).map((a) => a.metric);
  const meaning = meaningOverlap(change, [...symptomTemplates.map((t) => t.template), ...symptomMetrics], w.serviceTokens);
  const matchedTemplates = symptomTemplates.filter((t) => meaning.matched.some((m) => [...tokens(t.template)].some((tt) => tt.startsWith(m) || m.startsWith(tt))));
  const touched = change.configChange ? `${change.configChange.param}` : change.title;
  const semantic = pick(meaning.verdict, withReason(`the errors or anomalous metrics mention what ${change.id} touched (${touched})`, meaning), 1.5, [
    id,
    ...templateIds(matchedTemplates),
  ], { missing: symptomTemplates.length === 0 ? 'error log templates of the affected services' : undefined });

  // 4. novelty: errors new since the deploy appear where the change can be seen first — in the changed
  //    service if it is an origin, or in its callers if it is a dependency that does not log itself. New errors
  //    in a service that is itself only a symptom of a failing dependency say nothing about this change.
  //    A healthy changed service's callers count only with errors that name it.
  const symptomOnly = isAnomalous && !w.origins.has(change.service) && !failsHere;
  const callers = new Set(isAnomalous ? [] : (w.graph.callers.get(change.service) ?? []));
  const ownTokens = tokens(change.service.replace(/-(service|svc|api)$/, ''));
  const namesIt = (text: string) => [...tokens(text)].some((t) => [...ownTokens].some((o) => tokensMatch(o, t)));
  const deployed = Date.parse(change.deployedAt);
  // A prompt fault shows its errors within a plausible lag of the deploy. A slow burn keeps building from the
  // deploy until something gives — the heap fills and pods are OOM-killed, the pool runs dry — and that moment
  // can come well after its climb became an anomaly: while it burns, every error first seen after the deploy
  // may be its doing.
  const horizon = burn || latent ? Infinity : MAX_PLAUSIBLE_LAG_MINUTES;
  const novel = symptomOnly ? [] : w.input.templates.filter((t) => t.novel && (t.service === change.service || (callers.has(t.service) && namesIt(t.template))));
  const after = novel.filter((t) => {
    const lag = (Date.parse(t.firstSeen) - deployed) / MINUTE_MS;
    return lag >= -ONSET_GRACE_MINUTES && lag <= horizon;
  });
  const before = novel.filter((t) => (Date.parse(t.firstSeen) - deployed) / MINUTE_MS < -ONSET_GRACE_MINUTES);
  let fresh: Check;
  if (symptomOnly) fresh = { verdict: 'inconclusive', reason: `${change.service}'s new errors are explained by its failing dependencies` };
  else if (after.length > 0) fresh = { verdict: 'supported', reason: `${after.length} new error template(s) first seen after the deploy` };
  else if (before.length > 0) fresh = { verdict: 'refuted', reason: `the new errors were first seen before the deploy (${before[0].firstSeen})` };
  else fresh = { verdict: 'inconclusive', reason: 'no new error templates around the deploy' };
  const novelty = pick(fresh.verdict, withReason(`new errors where ${change.service}'s faults would show start after the deploy`, fresh), 1, [id, ...templateIds(fresh.verdict === 'supported' ? after : fresh.verdict === 'refuted' ? before : [])]);

  // 5. mechanism (changes of a capacity or limit only): the changed service fails at the limit the change lowered.
  //    One it raised gives headroom: that the service then saturates at its own limit speaks against the change
  //    (read from its metrics only: error wording may speak of another service's limit).
  //    A raised limit with no saturation says nothing either way: no check is added for it.
  let atIt: Check | undefined;
  if (limit?.direction === 'lowered' && saturated) atIt = { verdict: 'supported', reason: `${limit.reason}; ${change.service} is at it: ${saturated.reason}` };
  else if (limit?.direction === 'raised' && saturated?.fromMetrics) atIt = { verdict: 'refuted', reason: `${limit.reason}, yet ${change.service} saturates (${saturated.reason}): more headroom cannot make it saturate` };
  else if (limit?.direction === 'lowered') {
    atIt = {
      verdict: 'inconclusive',
      reason: `${limit.reason}; ${w.origins.has(change.service) ? `${change.service} shows no sign of being at a limit` : `${change.service} is not where the failure starts`}`,
    };
  }
  const mechanism = atIt ? [pick(atIt.verdict, withReason(`${change.service} fails at a limit ${change.id} lowered`, atIt), 1.5, [id, ...(saturated?.evidenceIds ?? [])])] : [];

  const what = change.configChange
    ? `${change.configChange.param} ${change.configChange.old} → ${change.configChange.new}`
    : change.version
      ? `${change.version.from} → ${change.version.to}`
      : change.type;
  const lag = time.lagMinutes !== undefined ? (time.lagMinutes >= 0 ? `, ${Math.round(time.lagMinutes)} min before the onset on ${target}` : `, ${Math.round(-time.lagMinutes)} min after the onset on ${target}`) : '';
  return {
    kind: 'change',
    summary: `${change.id} "${change.title}" (${change.type} on ${change.service}: ${what}) deployed ${change.deployedAt}${lag}`,
    service: change.service,
    category: changeCategory(change, drift?.metric, ownSymptoms(w, change.service)),
    changeId: change.id,
    predictions: [timing, locality, semantic, novelty, ...mechanism],
  };
};

/** The changed service's own new error templates and anomalous metrics, service names left out. */
const ownSymptoms = (w: World, service: string): string[] => [
  ...w.input.templates.filter((t) => t.novel && t.service === service).map((t) => withoutServiceNames(w, t.template)),
  ...w.input.anomalies.filter((a) => a.service === service && isFailureSignal(a)).map((a) => a.metric),
];

/** What a slow burn in a resource says about the mechanism: memory that only grows leaks, so do connections never returned. */
const SLOW_BURN_CATEGORY: Partial<Record<string, FaultCategory>> = { [METRICS.memory]: 'memory-leak', [METRICS.dbPoolActive]: 'connection-pool' };

/**
 * The fault category of a change: the mechanism when the evidence shows one (a memory slow burn is a leak, a
 * pool that fills up from the deploy on leaks connections;
 * a change that names a connection pool, a cache, a certificate... is that kind of fault), else the change
 * type's default (a deploy is a bad deploy, a config or flag change a config change).
 */
export const changeCategory = (change: ChangeRequest, burnMetric?: string, ownSymptoms: readonly string[] = []): FaultCategory => {
  const mechanism = burnMetric ? SLOW_BURN_CATEGORY[burnMetric] : undefined;
  if (mechanism) return mechanism;
  const specific = categoryFromText(`${change.title} ${change.configChange?.param ?? ''} ${change.type === 'deploy' ? '' : change.description}`);
  if (specific !== 'unknown' && change.type !== 'deploy') return specific;
  // A deploy is a bad deploy, unless the changed service's own new symptoms show it broke a resource of its
  // own (its cache stopped hitting, its memory or connections leak): then that is the kind of fault.
  if (change.type === 'deploy') {
    const counts = new Map<FaultCategory, number>();
    for (const text of ownSymptoms) {
      const c = categoryFromText(text.replace(/_/g, ' '));
      if (RESOURCE_CATEGORIES.has(c)) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || byCodeUnit(a[0], b[0]))[0];
    if (top) return top[0];
  }
  return CHANGE_CATEGORY[change.type] ?? specific;
};

/** Faults of a service's own resources that a deploy can cause and whose symptoms name them. */
const RESOURCE_CATEGORIES: ReadonlySet<FaultCategory> = new Set(['cache', 'memory-leak', 'connection-pool']);

// ───────────────────────────── origin hypotheses ─────────────────────────────

/** Shared by every origin hypothesis: blame the origin, not the loudest downstream symptom. */
const originPrediction = (w: World, service: string): TestedPrediction => {
  const anomalousDeps = w.failingDepsOf(service);
  // Dependencies that degraded too, but by far too little to explain this service's failure.
  const barelyDegraded = [...dependenciesOf(w.graph, service)].filter((d) => w.degraded.has(d) && !anomalousDeps.includes(d));
  const healthyDeps = barelyDegraded.length > 0 ? `no dependency fails enough to explain it (${barelyDegraded.join(', ')} degraded far less)` : 'no dependency is anomalous';
  const leaf = w.leafErrors.get(service) ?? [];
  const elsewhere = [...w.leafErrors.entries()].filter(([s]) => s !== service).sort((a, b) => b[1].length - a[1].length)[0];
  let check: Check;
  if (anomalousDeps.length > 0) check = { verdict: 'refuted', reason: `it calls anomalous ${anomalousDeps.join(', ')}: a symptom, not the origin` };
  else if (leaf.length > 0 && (!elsewhere || leaf.length >= elsewhere[1].length)) check = { verdict: 'supported', reason: `${healthyDeps} and ${leaf.length} failing trace(s) end in it` };
  else if (elsewhere && leaf.length === 0) check = { verdict: 'refuted', reason: `failing traces end in ${elsewhere[0]}, not here` };
  else if (w.topologyKnown) check = { verdict: 'supported', reason: healthyDeps };
  else check = { verdict: 'inconclusive', reason: 'the call graph is unknown' };
  return pick(check.verdict, withReason(`${service} is where the anomaly starts`, check), 1, [
    ...anomalyIds(w, service),
    ...leaf.slice(0, 5).map((t) => `trace:${t}`),
    ...(elsewhere && check.verdict === 'refuted' ? elsewhere[1].slice(0, 3).map((t) => `trace:${t}`) : []),
    ...topologyIds(w, service, ...anomalousDeps),
  ], { missing: check.verdict === 'inconclusive' ? 'the service topology and error traces' : undefined });
};


/** Traffic ratio: the peak in the 30 min up to the onset over the median before that. */
export const TRAFFIC_SURGE_RATIO = 1.5;
const TRAFFIC_FLAT_RATIO = 1.15;

const testTrafficSurge = (w: World, service: string): Candidate => {
  const onset = Date.parse(w.onsetOf(service) ?? '');
  const tp = seriesOf(w, service, METRICS.throughput);
  let traffic: Check;
  let ratio: number | undefined;
  if (!tp || Number.isNaN(onset)) traffic = { verdict: 'inconclusive', reason: 'no throughput series' };
  else {
    const base = median(tp.points.filter((p) => Date.parse(p.t) < onset - 30 * MINUTE_MS).map((p) => p.v));
    const ramp = tp.points.filter((p) => Math.abs(Date.parse(p.t) - (onset - 12.5 * MINUTE_MS)) <= 17.5 * MINUTE_MS).map((p) => p.v);
    if (Number.isNaN(base) || ramp.length === 0 || base <= 0) traffic = { verdict: 'inconclusive', reason: 'no throughput before the onset to compare with' };
    else {
      ratio = Math.max(...ramp) / base;
      const r = ratio.toFixed(1);
      traffic =
        ratio >= TRAFFIC_SURGE_RATIO
          ? { verdict: 'supported', reason: `throughput peaked at ${r}× its earlier median` }
          : ratio <= TRAFFIC_FLAT_RATIO
            ? { verdict: 'refuted', reason: `throughput stayed flat (${r}× its earlier median)` }
            : { verdict: 'inconclusive', reason: `throughput rose only ${r}×` };
    }
  }
  const trafficP = pick(traffic.verdict, withReason(`traffic into ${service} rose before the onset`, traffic), 1.5, [...(tp ? [seriesId(tp)] : []), ...anomalyIds(w, service, METRICS.throughput)], {
    missing: tp ? undefined : `throughput of ${service}`,
  });

  // Saturation: CPU near its limit or the DB pool fully used after the onset.
  const cpu = seriesOf(w, service, METRICS.cpu);
  const active = seriesOf(w, service, METRICS.dbPoolActive);
  const max = seriesOf(w, service, METRICS.dbPoolMax);
  const sinceOnset = (s?: MetricSeries) => (s ? s.points.filter((p) => Number.isNaN(onset) || Date.parse(p.t) >= onset).map((p) => p.v) : []);
  const cpuPeak = Math.max(...sinceOnset(cpu), Number.NEGATIVE_INFINITY);
  // The limit is read once, not once per point (the pool series hold hours of minutes).
  const limits = sinceOnset(max);
  const poolFull = active && max ? sinceOnset(active).some((v, i) => v >= (limits[i] ?? Number.POSITIVE_INFINITY)) : undefined;
  // Or a limit of another kind: it throttles, or a usage reached its cap (refusesWork).
  const refuses = refusesWork(w, service);
  let sat: Check;
  if (cpuPeak >= 85) sat = { verdict: 'supported', reason: `CPU reached ${Math.round(cpuPeak)}%` };
  else if (poolFull) sat = { verdict: 'supported', reason: 'the DB connection pool was fully used' };
  else if (refuses) sat = { verdict: 'supported', reason: `it refuses work at a limit: ${refuses.reason}` };
  else if (cpu || (active && max)) sat = { verdict: 'refuted', reason: `no saturation (CPU peak ${Number.isFinite(cpuPeak) ? Math.round(cpuPeak) : '?'}%, pool not full)` };
  else sat = { verdict: 'inconclusive', reason: 'no CPU or pool series' };
  const saturation = pick(sat.verdict, withReason(`${service} is saturated (CPU, connection pool or another capacity at its limit)`, sat), 1, [
    ...[cpu, active, max].filter((s): s is MetricSeries => !!s).map(seriesId),
    ...(refuses && sat.verdict === 'supported' ? refuses.evidenceIds : []),
  ], {
    missing: sat.verdict === 'inconclusive' ? `CPU / DB pool metrics of ${service}` : undefined,
  });

  // Extra traffic from one caller's code (a retry storm, N+1 queries) is not a surge of users: if a change
  // multiplies its calls into this service, the change is the explanation (tested as a change hypothesis).
  const floods = w.input.changes
    .filter((c) => c.state === 'implemented' && c.service !== service)
    .map((c) => ({ c, why: amplification(w, c, service) }))
    .filter((x): x is { c: ChangeRequest; why: string } => x.why !== undefined);
  const users = pick(
    floods.length > 0 ? 'refuted' : 'inconclusive',
    `the extra traffic comes from users, not from a change that multiplies calls — ${floods.length > 0 ? floods[0].why : 'no change floods it'}`,
    1.5,
    floods.map((f) => `change:${f.c.id}`),
  );
  const own = w.input.changes.filter((c) => c.service === service);
  // A change that lowered a limit the service now fails at explains why this load is too much: the traffic exceeds
  // the capacity the change left, not the one the service had (the change is tested as a latent limit).
  const lowered = own
    .filter((c) => c.state === 'implemented' && !(Date.parse(c.deployedAt) > onset + ONSET_GRACE_MINUTES * MINUTE_MS))
    .map((c) => ({ c, limit: limitChange(c) }))
    .map(({ c, limit }) => ({ c, limit, at: limit?.direction === 'lowered' ? atLimit(w, service, limit) : undefined }))
    .find((x) => x.at !== undefined);
  const noChange = lowered
    ? pick('refuted', `no change to ${service} in the window explains it — ${lowered.c.id} lowered its limit (${lowered.limit!.reason}) and it fails at it (${lowered.at!.reason})`, 1, [
        `change:${lowered.c.id}`,
        ...lowered.at!.evidenceIds,
      ])
    : pick(
        own.length === 0 ? 'supported' : 'inconclusive',
        `no change to ${service} in the window explains it — ${own.length === 0 ? 'none was deployed' : `${own.map((c) => c.id).join(', ')} deployed (tested separately)`}`,
        0.5,
        own.map((c) => `change:${c.id}`),
      );
  return {
    kind: 'traffic-surge',
    summary: `Traffic surge beyond the capacity of ${service}${ratio ? ` (throughput ${ratio.toFixed(1)}× before the onset)` : ''}`,
    service,
    category: 'capacity',
    predictions: [originPrediction(w, service), trafficP, saturation, noChange, ...(users.result === 'refuted' ? [users] : [])],
  };
};

/** A leak: memory climbs steadily (Kendall's tau ≥ STEADY_TREND_TAU) and by at least this factor. */
const LEAK_GROWTH = 1.2;
/** How far back the leak check looks from the onset. */
const LEAK_WINDOW_MINUTES = 120;

const testResourceLeak = (w: World, service: string): Candidate => {
  const mem = seriesOf(w, service, METRICS.memory);
  const onset = Date.parse(w.onsetOf(service) ?? '');
  const points = (mem?.points ?? []).filter((p) => Number.isNaN(onset) || Date.parse(p.t) >= onset - LEAK_WINDOW_MINUTES * MINUTE_MS);
  let grow: Check;
  if (points.length < 5) grow = { verdict: 'inconclusive', reason: 'no memory series' };
  else {
    const v = points.map((p) => p.v);
    const fifth = Math.max(1, Math.floor(v.length / 5));
    const tau = trendTau(v);
    const growth = median(v.slice(-fifth)) / Math.max(median(v.slice(0, fifth)), Number.MIN_VALUE);
    if (tau >= STEADY_TREND_TAU && growth >= LEAK_GROWTH) grow = { verdict: 'supported', reason: `memory climbs steadily (trend τ ${tau.toFixed(2)}), ×${growth.toFixed(2)} in ${LEAK_WINDOW_MINUTES} min` };
    else if (growth < 1.1 || tau < 0.2) grow = { verdict: 'refuted', reason: `memory is not climbing (τ ${tau.toFixed(2)}, ×${growth.toFixed(2)})` };
    else grow = { verdict: 'inconclusive', reason: `memory grew ×${growth.toFixed(2)} but not steadily (τ ${tau.toFixed(2)})` };
  }
  const growth = pick(grow.verdict, withReason(`memory of ${service} grows monotonically`, grow), 2, [...(mem ? [seriesId(mem)] : []), ...anomalyIds(w, service, METRICS.memory)], {
    missing: mem ? undefined : `memory of ${service}`,
  });
  const oom = w.input.templates.filter((t) => t.service === service && /out ?of ?memory|heap|\bgc\b|garbage collect|\boom\b|memory/i.test(t.template));
  const oomP = pick(oom.length > 0 ? 'supported' : 'inconclusive', `errors in ${service} mention memory exhaustion — ${oom.length > 0 ? `"${oom[0].template}"` : 'none do'}`, 1, templateIds(oom));
  return {
    kind: 'resource-leak',
    summary: `Resource (memory) leak in ${service}`,
    service,
    category: 'memory-leak',
    predictions: [originPrediction(w, service), growth, oomP],
  };
};

const testDependencyOutage = (w: World, dependency: string): Candidate => {
  const leaf = w.leafErrors.get(dependency) ?? [];
  let spans: Check;
  if (w.errorTraceCount === 0) spans = { verdict: 'inconclusive', reason: 'no error traces' };
  else if (leaf.length / w.errorTraceCount >= 0.5) spans = { verdict: 'supported', reason: `${leaf.length} of ${w.errorTraceCount} failing traces end in ${dependency}` };
  else if (leaf.length === 0) spans = { verdict: 'refuted', reason: `none of ${w.errorTraceCount} failing traces ends in ${dependency}` };
  else spans = { verdict: 'inconclusive', reason: `only ${leaf.length} of ${w.errorTraceCount} failing traces end in ${dependency}` };
  const spansP = pick(spans.verdict, withReason(`the failing spans are in ${dependency}`, spans), 2, [...leaf.slice(0, 5).map((t) => `trace:${t}`), ...topologyIds(w, dependency)], {
    missing: w.errorTraceCount === 0 ? 'error traces of the affected services' : undefined,
  });
  const callers = new Set(w.graph.callers.get(dependency) ?? []);
  const depTokens = tokens(dependency);
  const mentions = w.input.templates.filter(
    (t) => callers.has(t.service) && ([...tokens(t.template)].some((x) => depTokens.has(x)) || /timed? ?out|connection refused|unavailable|\b50[234]\b|circuit/i.test(t.template)),
  );
  const mentionP = pick(mentions.length > 0 ? 'supported' : 'inconclusive', `errors of its callers mention ${dependency} or a remote failure — ${mentions.length > 0 ? `"${mentions[0].template}"` : 'none do'}`, 1, templateIds(mentions));
  const callersAnomalous = [...callers].filter((c) => w.anomalous.has(c));
  return {
    kind: 'dependency-outage',
    summary: `Outage or degradation of external dependency ${dependency}${callersAnomalous.length ? ` (called by ${callersAnomalous.join(', ')})` : ''}`,
    service: dependency,
    category: 'dependency',
    predictions: [spansP, mentionP],
  };
};

const withoutServiceNames = (w: World, text: string): string => {
  const names = [...w.graph.tiers.keys()].sort((a, b) => b.length - a.length);
  return names.reduce((t, n) => t.split(n).join(' '), text);
};

/**
 * A fault of the service itself that no change of ours explains (an expired certificate, a DNS record that
 * stopped resolving, a cache or database gone bad). Generated only for an origin whose new errors — its own, or
 * its callers' errors that name it — say which mechanism failed (`categoryFromText`); without such words there is
 * nothing to name, and the surge, leak and change hypotheses cover the rest.
 */
const testServiceFault = (w: World, service: string): Candidate | undefined => {
  const callers = w.graph.callers.get(service) ?? new Set<string>();
  const own = tokens(service.replace(/-(service|svc|api)$/, ''));
  const namesIt = (text: string) => own.size > 0 && [...own].every((o) => [...tokens(text)].some((x) => tokensMatch(o, x)));
  const symptoms = w.input.templates.filter((t) => t.novel && (t.service === service || (callers.has(t.service) && namesIt(t.template))));
  // What the errors say, not whom they name: "customers-db" is a name, not a database symptom.
  const mechanismOf = (text: string) => categoryFromText(withoutServiceNames(w, text));
  // The mechanism most of the symptom lines name.
  const counts = new Map<FaultCategory, number>();
  symptoms.forEach((t) => {
    const c = mechanismOf(t.template);
    if (c !== 'unknown') counts.set(c, (counts.get(c) ?? 0) + t.count);
  });
  if (counts.size === 0) return undefined;
  const category = [...counts.entries()].sort((a, b) => b[1] - a[1] || byCodeUnit(a[0], b[0]))[0][0];
  const naming = symptoms.filter((t) => mechanismOf(t.template) === category);
  const mechanism = pick('supported', `new errors at ${service} or in calls to it name a ${category} failure — "${naming[0].template.slice(0, 160)}"`, 2, templateIds(naming));

  // A change to the service that could have caused it is the better explanation (and is tested on its own).
  const onset = w.onsetOf(service);
  const suspects = w.input.changes.filter((c) => c.service === service && c.state === 'implemented' && timeAlignment(c.deployedAt, onset, MAX_PLAUSIBLE_LAG_MINUTES, w.onsetSpreadOf(service)).verdict === 'supported');
  const noChange = pick(
    suspects.length === 0 ? 'supported' : 'refuted',
    `no change to ${service} explains it — ${suspects.length === 0 ? 'none was deployed before the onset within a plausible lag' : `${suspects.map((c) => c.id).join(', ')} could have (tested separately)`}`,
    suspects.length === 0 ? 0.5 : 1,
    suspects.map((c) => `change:${c.id}`),
  );
  return {
    kind: 'service-fault',
    summary: `${category} failure in ${service}, not caused by a recent change`,
    service,
    category,
    predictions: [originPrediction(w, service), mechanism, noChange],
  };
};

// ───────────────────────────── generate, test, rank ─────────────────────────────

/** Every candidate explanation the evidence allows, each already tested. */
export const testHypotheses = (input: RootCauseInput): Candidate[] => {
  const w = index(input);
  const now = Date.parse(input.now);
  const candidates: Candidate[] = input.changes
    .filter((c) => c.state === 'implemented' && !(Date.parse(c.deployedAt) > now))
    .map((c) => testChange(w, c));
  for (const service of [...w.anomalous].sort()) {
    candidates.push(testTrafficSurge(w, service), testResourceLeak(w, service));
  }
  for (const service of [...w.origins].sort()) {
    const fault = testServiceFault(w, service);
    if (fault) candidates.push(fault);
  }
  // External dependencies: external-tier callees of an anomalous service, and any service failing traces end
  // in that we do not monitor as an anomalous service of ours.
  const external = new Set<string>();
  for (const s of w.anomalous) for (const d of w.graph.callees.get(s) ?? []) if (w.graph.tiers.get(d) === 'external') external.add(d);
  for (const s of w.leafErrors.keys()) if (!w.anomalous.has(s) && (w.graph.tiers.get(s) ?? 'external') === 'external') external.add(s);
  for (const d of [...external].sort()) candidates.push(testDependencyOutage(w, d));
  const placed = candidates.map((c) => withPlaceFromOrigins(c, input.origins));
  placed.push(...originCandidates(input.origins));
  const calls = (caller: string, callee: string) => dependenciesOf(w.graph, caller).has(callee);
  return withoutSubsumedOrigins(placed, (c) => c.confidence ?? confidenceOf(c.predictions), ABSTAIN_BELOW, calls).map((c) => withHistory(w, c));
};

/** A past incident this close (similar agent's score) is worth comparing with. */
const HISTORY_MIN_SCORE = 0.5;

/**
 * Memory as weak evidence: a close past incident whose root cause reads like this hypothesis (two distinctive
 * shared words, service names aside) supports it a little (weight 0.5). Never a refutation: that a fault is
 * new says nothing against it. Added only when there are close past incidents to compare with.
 */
const withHistory = (w: World, c: Candidate): Candidate => {
  const past = (w.input.similar?.incidents ?? []).filter((i) => i.score >= HISTORY_MIN_SCORE);
  if (past.length === 0) return c;
  const mine = [...tokens(`${c.summary} ${c.category.replace('-', ' ')}`)].filter((t) => ![...w.serviceTokens].some((st) => tokensMatch(t, st)));
  const match = past
    .map((i) => ({ i, shared: [...tokens(`${i.title} ${i.rootCause ?? ''}`)].filter((t) => mine.some((m) => tokensMatch(m, t))) }))
    .sort((a, b) => b.shared.length - a.shared.length)[0];
  const supported = match.shared.length >= MIN_MEANING_MATCHES;
  const statement = supported
    ? `a similar past incident had this kind of cause — ${match.i.id} ("${match.i.rootCause ?? match.i.title}") shares ${match.shared.map((t) => `"${t}"`).join(', ')}`
    : `a similar past incident had this kind of cause — none of ${past.map((i) => i.id).join(', ')} reads like it`;
  return { ...c, predictions: [...c.predictions, pick(supported ? 'supported' : 'inconclusive', statement, 0.5, supported ? match.i.evidenceIds : [])] };
};

const supportedWeight = (c: Candidate) => c.predictions.filter((p) => p.result === 'supported').reduce((s, p) => s + p.weight, 0);

export interface RootCauseAnalysis extends RootCauseOutput {
  /** All candidates, ranked, with their confidence (for the report's "considered and refuted"). */
  readonly considered: readonly (Hypothesis & { kind: Candidate['kind'] })[];
}

const toHypothesis = (c: Candidate): Hypothesis & { kind: Candidate['kind'] } => ({
  kind: c.kind,
  summary: c.summary,
  service: c.service,
  category: c.category,
  ...(c.changeId ? { changeId: c.changeId } : {}),
  predictions: c.predictions.map((p) => ({ statement: p.statement, result: p.result, evidenceIds: [...p.evidenceIds] })),
  confidence: c.confidence ?? confidenceOf(c.predictions),
  evidenceIds: [...new Set(c.predictions.flatMap((p) => p.evidenceIds))],
});

/** Generates, tests and ranks the hypotheses; keeps the top 3; abstains when nothing is supported. */
export const analyseRootCause = (input: RootCauseInput): RootCauseAnalysis => {
  if (input.anomalies.length === 0) {
    return {
      rootCauses: [],
      considered: [],
      abstained: true,
      missingEvidence: ['an anomalous metric: telemetry does not confirm the alert (possible false alarm)', ...(input.gaps ?? []).map((g) => `data from ${g.replace(/^gap:/, '')}`)],
      reasoning: 'No metric deviates from its baseline, so there is nothing to explain: abstaining.',
      evidenceIds: [...(input.gaps ?? [])],
    };
  }
  const candidates = testHypotheses(input);
  const ranked = candidates
    .map((c) => ({ c, h: toHypothesis(c), supported: supportedWeight(c) }))
    .sort((a, b) => b.h.confidence - a.h.confidence || b.supported - a.supported || Number(b.c.kind === 'change') - Number(a.c.kind === 'change') || byCodeUnit(a.h.summary, b.h.summary));
  const best = ranked[0];
  const abstained = !best || best.h.confidence < ABSTAIN_BELOW || best.supported === 0;
  const top = ranked.slice(0, TOP_N);
  const missing = new Set<string>();
  if (abstained) {
    for (const { c } of top) for (const p of c.predictions) if (p.result === 'inconclusive' && p.missing) missing.add(p.missing);
    for (const g of input.gaps ?? []) missing.add(`data from ${g.replace(/^gap:/, '')}`);
    if (missing.size === 0) missing.add('a change, traffic, leak or dependency signal that explains the anomaly');
  }
  // The rejected alternatives go into the reasoning (RootCauseOutput keeps only the top 3), so the report can
  // say what was considered and why it was ruled out.
  const rejected = ranked.slice(TOP_N).concat(top.filter((r) => r.h.confidence < ABSTAIN_BELOW && r !== best));
  const refuted = rejected
    .filter((r) => r.c.predictions.some((p) => p.result === 'refuted'))
    .slice(0, 8)
    .map((r) => {
      const why = r.c.predictions.find((p) => p.result === 'refuted' && p.decisive) ?? r.c.predictions.find((p) => p.result === 'refuted')!;
      return `${r.c.changeId ?? `${r.c.kind} in ${r.c.service}`} (confidence ${r.h.confidence}: ${why.statement.split(' — ').pop()})`;
    });
  const reasoning = [
    `Tested ${candidates.length} hypothesis(es): ${input.changes.length} change(s) in the window, and the failing services as origins (surge, leak) and their external dependencies.`,
    best ? `Best: ${best.h.summary} — confidence ${best.h.confidence} (${best.c.predictions.filter((p) => p.result === 'supported').length}/${best.c.predictions.length} predictions supported).` : '',
    refuted.length ? `Ruled out: ${refuted.join('; ')}.` : '',
    abstained ? `Abstaining: no hypothesis reaches ${ABSTAIN_BELOW} with supported evidence.` : '',
    'Confidence = σ(−2 + Σ supported weights − Σ refuted weights); 0 when a decisive prediction is refuted.',
  ]
    .filter(Boolean)
    .join(' ');
  const rootCauses = top.map((r) => {
    const { kind: _kind, ...h } = r.h;
    return h;
  });
  return {
    rootCauses,
    considered: ranked.map((r) => r.h),
    abstained,
    missingEvidence: [...missing],
    ...(!abstained && best.c.changeId ? { rollbackCandidate: best.c.changeId } : {}),
    reasoning,
    evidenceIds: [...new Set(rootCauses.flatMap((h) => h.evidenceIds))],
  };
};
