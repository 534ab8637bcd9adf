/**
 * Latent limits: whether a service fails at a limit — its own metrics say it refuses work (throttles, CPU pinned,
 * a usage series at its cap), a usage reading sits at the number a change set, or its new errors (or its callers'
 * that name it) say it throttles or ran out — and whether its load rose from a deploy to the onset. A change that
 * lowered a capacity fails nothing at the deploy; its service breaks when the load reaches the new limit, so
 * these readings are what make a late onset as strong as a prompt one (change.ts), and what refutes a surge whose
 * "too much load" is really a limit lowered by a change (traffic-surge.ts).
 */
import { METRICS, type ChangeRequest, type MetricSeries } from '../../tools/ports.ts';
import { type LimitChange, tokens, tokensMatch } from '../changes.ts';
import { median } from '../metrics.ts';
import { parseXrayNodeName } from '../../tools/aws/xray-names.ts';
import { CPU_SATURATION_PCT, MINUTE_MS, type World, anomalyIds, isFailureSignal, seriesId, seriesOf, templateIds } from './evidence.ts';

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

export interface AtLimit {
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
export const refusesWork = (w: World, service: string): AtLimit | undefined => {
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
export const atLimit = (w: World, service: string, limit: LimitChange): AtLimit | undefined => {
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
export const loadRise = (w: World, change: ChangeRequest, target: string, onset: string | undefined): { ratio: number; id: string } | undefined => {
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
