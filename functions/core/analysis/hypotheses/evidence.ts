/**
 * The evidence, indexed once per analysis (`indexEvidence` → `World`): which services fail and which only carry
 * more load, which failing services are origins (no failing dependency explains them), where failing traces end,
 * when each service's fault began; and the readers several hypothesis families share (series and evidence ids,
 * the fault category words name, a change flooding a dependency, Kendall's τ). A family file reads the World; it
 * never re-derives these, so every family sees the same failing services, origins and onsets.
 */
import type * as z from 'zod';
import type { Anomaly, FaultCategory, LogTemplate, SimilarOutput } from '../../model.ts';
import { METRICS, type ChangeRequest, type MetricSeries, type ServiceNode, type Trace } from '../../tools/ports.ts';
import { type CallGraph, callGraph, dependenciesOf, tokens, tokensMatch } from '../changes.ts';
import { DEFAULT_Z_THRESHOLD, mannKendallS, median } from '../metrics.ts';
import type { OriginEvidence } from '../origin-evidence.ts';
import { parseXrayNodeName } from '../../tools/aws/xray-names.ts';

export type Template = z.infer<typeof LogTemplate>;

export const MINUTE_MS = 60_000;

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
  /**
   * Coarse, longer series of a level that was already climbing where `series` begin (a leak deployed yesterday):
   * where that climb began lies further back (history.ts; the root-cause agent reads them when it sees one).
   */
  readonly history?: readonly MetricSeries[];
  /** Per-availability-zone series (each with `zone`) of the failing services whose metrics are split by zone (zonal.ts). */
  readonly zoneSeries?: readonly MetricSeries[];
  readonly similar?: SimilarOutput;
  /** Tools that failed (`gap:<tool>` ids): reported as missing evidence. */
  readonly gaps?: readonly string[];
  /** Where the alert's degradation starts along the call graph, from metrics (origin-hypotheses.ts). */
  readonly origins?: OriginEvidence;
  readonly now: string;
}

export interface World {
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

/** Whether a text names a service: every distinctive word of its name is in it. */
export const namesIn = (service: string, text: string): boolean => {
  const own = tokens(service.replace(/-(service|svc|api)$/, ''));
  return own.size > 0 && [...own].every((o) => [...tokens(text)].some((x) => tokensMatch(o, x)));
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
const calleeThatFailedTheCall = (leaf: string, graph: CallGraph, anomalous: ReadonlySet<string>, names: (caller: string, callee: string) => boolean, refusedBefore: (callee: string) => boolean): string | undefined => {
  const named = [...(graph.callees.get(leaf) ?? [])].filter((c) => names(leaf, c));
  const failing = named.filter((c) => anomalous.has(c));
  if (failing.length === 1) return failing[0];
  // A call refused before it reached the callee (an expired certificate, a name that no longer resolves) leaves no
  // span of it, and can leave its metrics untouched (it serves those who still reach it): the one callee whose
  // calls the leaf's errors say were refused so, when the trace never reached it, is where it fails.
  const refused = named.filter(refusedBefore);
  if (failing.length === 0 && refused.length === 1) return refused[0];
  return undefined;
};

/** Words of a call refused before it reached its callee: a TLS handshake, a certificate, a name that did not resolve. */
const REFUSED_BEFORE_TEXT = /handshake|certificate|\bx509\b|\bpkix\b|\bssl|\btls\b|unknownhost|nxdomain|name or service not known|could not resolve|failed to resolve/i;

/** A pool in use below this share of its maximum still has free connections: more in use is more load, not a failure. */
export const POOL_FULL_SHARE = 0.9;

/**
 * Whether an anomaly is a connection pool in use that rose but never came near its maximum (the service's
 * `db_pool_max` series, read since the anomaly's onset): like CPU below saturation, that is load — a surge sends
 * every service more requests and each holds more connections — not a pool running dry. Without a maximum to
 * compare with, the rise stays a failure signal (a leak is read from it).
 */
const poolWithHeadroom = (input: RootCauseInput) => {
  const maxima = new Map(input.series.filter((s) => s.metric === METRICS.dbPoolMax && s.points.length > 0).map((s) => [s.service, s]));
  const active = new Map(input.series.filter((s) => s.metric === METRICS.dbPoolActive && s.points.length > 0).map((s) => [s.service, s]));
  return (a: Anomaly): boolean => {
    if (a.metric !== METRICS.dbPoolActive || a.direction !== 'up') return false;
    const max = maxima.get(a.service);
    if (!max) return false;
    const since = Date.parse(a.onset ?? '');
    const caps = new Map(max.points.map((p) => [p.t, p.v]));
    const used = (active.get(a.service)?.points ?? []).filter((p) => Number.isNaN(since) || Date.parse(p.t) >= since);
    const readings = used.length > 0 ? used.map((p) => ({ v: p.v, cap: caps.get(p.t) })) : [{ v: a.current, cap: max.points[max.points.length - 1].v }];
    return readings.every((r) => r.cap !== undefined && r.cap > 0 && r.v < POOL_FULL_SHARE * r.cap);
  };
};

export const indexEvidence = (input: RootCauseInput): World => {
  const graph = callGraph(input.topology);
  const hasHeadroom = poolWithHeadroom(input);
  const allFailures = input.anomalies.filter((a) => isFailureSignal(a) && !hasHeadroom(a));
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
  const novelTextsOf = new Map<string, string[]>();
  for (const t of input.templates) if (t.novel) (novelTextsOf.get(t.service) ?? novelTextsOf.set(t.service, []).get(t.service)!).push(t.template);
  for (const trace of errorTraces) {
    for (const leaf of failingLeaves(trace)) {
      // The leaf's own span may say whom it failed to reach ("UnknownHostException: ledger.internal…"): that names
      // the callee as well as its log lines would (the logs of the leaf may not have been read).
      const spanErrors = trace.spans.filter((s) => s.service === leaf && s.status === 'ERROR' && s.error).map((s) => s.error!);
      const names = (caller: string, callee: string) => namesService(caller, callee) || spanErrors.some((e) => namesIn(callee, e));
      const leafTexts = [...spanErrors, ...(novelTextsOf.get(leaf) ?? [])];
      const refusedBefore = (callee: string) =>
        !trace.spans.some((s) => s.service === callee) && leafTexts.some((text) => namesIn(callee, text) && REFUSED_BEFORE_TEXT.test(text));
      const service = calleeThatFailedTheCall(leaf, graph, anomalous, names, refusedBefore) ?? leaf;
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

/** How much a level grew: the median of its last fifth over the median of its first fifth (robust to noise at either end). */
export const growthOf = (v: readonly number[]): number => {
  const fifth = Math.max(1, Math.floor(v.length / 5));
  return median(v.slice(-fifth)) / Math.max(median(v.slice(0, fifth)), Number.MIN_VALUE);
};

/** A trend at least this steady (Kendall's tau) counts as "climbing". */
export const STEADY_TREND_TAU = 0.6;

export const anomalyIds = (w: World, service: string, metric?: string): string[] =>
  w.input.anomalies.filter((a) => a.service === service && (!metric || a.metric === metric)).flatMap((a) => a.evidenceIds);
export const templateIds = (templates: readonly Template[]): string[] => templates.flatMap((t) => t.evidenceIds);
export const seriesOf = (w: World, service: string, metric: string): MetricSeries | undefined =>
  w.input.series.find((s) => s.service === service && s.metric === metric && s.points.length > 0);
export const seriesId = (s: MetricSeries) => `metric:${s.service}:${s.metric}`;
/** The coarse look-back of a service's metric (`RootCauseInput.history`), if it was read. */
export const historyOf = (w: World, service: string, metric: string): MetricSeries | undefined =>
  w.input.history?.find((s) => s.service === service && s.metric === metric && s.points.length > 0);
export const historyId = (s: MetricSeries) => `history:${s.service}:${s.metric}`;
/** The evidence id of a per-zone series (`RootCauseInput.zoneSeries`). */
export const zoneSeriesId = (s: MetricSeries) => `zone:${s.service}:${s.zone}:${s.metric}`;
export const topologyIds = (w: World, ...services: string[]) => (w.topologyKnown ? services.filter((s) => w.graph.tiers.has(s)).map((s) => `topology:${s}`) : []);

export const withoutServiceNames = (w: World, text: string): string => {
  const names = [...w.graph.tiers.keys()].sort((a, b) => b.length - a.length);
  return names.reduce((t, n) => t.split(n).join(' '), text);
};

/**
 * Words of a name that does not resolve, as resolvers and runtimes print it (Java's UnknownHostException, glibc's
 * "Name or service not known" / "Temporary failure in name resolution", Go's "no such host", Node's getaddrinfo
 * ENOTFOUND, a resolver's NXDOMAIN / SERVFAIL), and of the records a DNS change edits (a CNAME, a Route 53 record
 * set or hosted zone).
 */
const DNS_TEXT = /\bdns\b|resolv|name resolution|nxdomain|servfail|unknownhost|unknown host|name or service not known|no such host|getaddrinfo|enotfound|\bcname\b|route ?53|hosted zone|record set/;

/**
 * Words of a credential that stopped working, as database drivers and services print it ("password authentication
 * failed for user", MySQL's "Access denied for user", Mongo's "Exception authenticating MongoCredential", an invalid
 * or expired token), and of the change that causes it (a secret rotated).
 */
const CREDENTIAL_TEXT = /password authentication failed|access denied for user|authentication failed|exception authenticating|invalid (credentials|password|token)|credential|rotat\w* (the )?secret|secret rotation/;

/** A fault category read from text (for infrastructure changes and symptom wording). */
export const categoryFromText = (text: string): FaultCategory => {
  const t = text.toLowerCase();
  if (DNS_TEXT.test(t)) return 'dns';
  if (/certif|\btls\b|\bssl\b|x509/.test(t)) return 'certificate';
  if (CREDENTIAL_TEXT.test(t)) return 'credential';
  if (/hikari|connection pool|pool ?size|pool exhaust|pooltimeout/.test(t)) return 'connection-pool';
  if (/out ?of ?memory|\boom\b|heap|memory leak|gc overhead/.test(t)) return 'memory-leak';
  if (/\bcache\b|redis|memcache/.test(t)) return 'cache';
  if (/\bsql\b|database|deadlock|\bdb\b|postgres|mysql|query/.test(t)) return 'database';
  return 'unknown';
};

/** Traffic ratio of a series across the deploy: median of the 15 min after over the 30 min before. */
export const ratioAcross = (series: MetricSeries | undefined, at: number): number | undefined => {
  if (!series) return undefined;
  const before = series.points.filter((p) => Date.parse(p.t) < at && Date.parse(p.t) >= at - 30 * MINUTE_MS).map((p) => p.v);
  const after = series.points.filter((p) => Date.parse(p.t) >= at && Date.parse(p.t) <= at + 15 * MINUTE_MS).map((p) => p.v);
  if (before.length === 0 || after.length === 0 || median(before) <= 0) return undefined;
  return median(after) / median(before);
};

/** A change that makes its service call a dependency this much more than its own traffic grew floods it. */
export const AMPLIFICATION_RATIO = 1.5;

/**
 * A change in a caller can break its dependency by flooding it (a flag that adds synchronous calls, a retry
 * storm). Then the failing dependency's traffic jumps at the deploy much more than the changed service's own:
 * the extra calls come from the change, not from users (a sale lifts both alike).
 */
export const amplification = (w: World, change: ChangeRequest, target: string): string | undefined => {
  if (target === change.service || !dependenciesOf(w.graph, change.service).has(target)) return undefined;
  const at = Date.parse(change.deployedAt);
  const dep = ratioAcross(seriesOf(w, target, METRICS.throughput), at);
  const own = ratioAcross(seriesOf(w, change.service, METRICS.throughput), at);
  if (dep === undefined || own === undefined || dep < AMPLIFICATION_RATIO || dep / own < AMPLIFICATION_RATIO) return undefined;
  // The extra calls must leave the changed service itself: a target further down is flooded by this change only if
  // the callee it reaches the target through carries them too. A service upstream of the real culprit (its calls
  // unchanged, the next hop's traffic flat) sees the same jump below it and did nothing.
  const callees = w.graph.callees.get(change.service) ?? new Set<string>();
  if (!callees.has(target)) {
    const via = [...callees].filter((c) => dependenciesOf(w.graph, c).has(target));
    // A callee that is the changed service itself under another node (X-Ray draws a Lambda function's client and its
    // AWS::Lambda::Function node apart) runs the changed code: the calls can multiply inside it.
    const serviceOf = (node: string) => parseXrayNodeName(node).name || node;
    const hops = via.some((c) => serviceOf(c) === serviceOf(change.service)) ? [] : via.map((c) => ratioAcross(seriesOf(w, c, METRICS.throughput), at)).filter((r): r is number => r !== undefined);
    if (hops.length > 0 && !hops.some((r) => r / own >= AMPLIFICATION_RATIO)) return undefined;
  }
  return `${change.service} multiplies its calls into ${target}: ${target}'s traffic ×${dep.toFixed(1)} at the deploy while ${change.service}'s own ×${own.toFixed(1)}`;
};

/** The failing services, in code-unit order: the subjects of the surge and leak families. */
export const anomalousServices = (w: World): string[] => [...w.anomalous].sort();

/** The failing services no failing dependency explains, in code-unit order: the subjects of the service-fault family. */
export const originServices = (w: World): string[] => [...w.origins].sort();

/**
 * The origins, and the callees failing calls never reached whose callers' errors name them (calleeThatFailedTheCall:
 * a refused handshake, a name that does not resolve): places a fault of the service's own can be, in code-unit order.
 */
export const faultPlaces = (w: World): string[] => [...new Set([...w.origins, ...[...w.leafErrors.keys()].filter((s) => !w.anomalous.has(s))])].sort();

/** One thing a caller said about its failing calls to a service: a new error template or a failing span's error. */
export interface CallerSymptom {
  /** The words, service names left out (they name the place, not the mechanism). */
  readonly text: string;
  /** How many lines or spans said it. */
  readonly count: number;
  readonly evidenceIds: readonly string[];
}

/**
 * What the callers of a service say when their calls to it fail: their new error templates and their failing
 * spans' errors that name it ("UnknownHostException: ledger.internal…", "SSLHandshakeException … (calling ledger)").
 * A call that fails before it reaches the service (DNS, TLS) leaves no span of the service and nothing in its logs:
 * its callers' words are the only ones that name the mechanism — and the logs agent may not have read theirs, while
 * the error traces carry them anyway.
 */
export const callerSymptoms = (w: World, service: string): CallerSymptom[] => {
  const callers = w.graph.callers.get(service) ?? new Set<string>();
  const own = tokens(service.replace(/-(service|svc|api)$/, ''));
  const namesIt = (text: string) => own.size > 0 && [...own].every((o) => [...tokens(text)].some((x) => tokensMatch(o, x)));
  const templates = w.input.templates
    .filter((t) => t.novel && callers.has(t.service) && namesIt(t.template))
    .map((t) => ({ text: withoutServiceNames(w, t.template), count: t.count, evidenceIds: t.evidenceIds }));
  const spans = new Map<string, { count: number; ids: string[] }>();
  for (const trace of w.input.traces) {
    for (const span of trace.spans) {
      if (span.status !== 'ERROR' || !span.error || !callers.has(span.service) || !namesIt(span.error)) continue;
      const text = withoutServiceNames(w, span.error);
      const seen = spans.get(text) ?? spans.set(text, { count: 0, ids: [] }).get(text)!;
      seen.count += 1;
      if (seen.ids.length < 5 && !seen.ids.includes(`trace:${trace.traceId}`)) seen.ids.push(`trace:${trace.traceId}`);
    }
  }
  return [...templates, ...[...spans].map(([text, v]) => ({ text, count: v.count, evidenceIds: v.ids }))];
};
