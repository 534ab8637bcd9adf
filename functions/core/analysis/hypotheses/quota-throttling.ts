/**
 * Quota-throttling hypotheses: "demand grew into this service's rate quota (a table's capacity, a function's
 * concurrency, a provider's rate limit), and what is above it is throttled", one per service that publishes
 * `throttled_rps` and either fails or throttles.
 *
 * Predictions: throttling rose from about nothing at the onset; demand (what it served plus what it throttled)
 * reached its quota (`quota_limit_rps`); demand rose because of load — its own traffic, or its callers', grew into an
 * unchanged quota; the quota did not come down (a change that lowered it is the latent-limit story the change tester
 * tells, latent-limit.ts: refuted decisively, so the two never claim the same fault); it or its callers log
 * throttling (429, Rate exceeded, ProvisionedThroughputExceeded). Why: a quota is a limit nobody changed; load
 * grows into it with no deploy, and the throttle count and the demand against the limit are its marks.
 */
import { METRICS, type MetricSeries } from '../../tools/ports.ts';
import { type Check, limitChange, ONSET_GRACE_MINUTES } from '../changes.ts';
import { type Candidate, pick, withReason } from './candidate.ts';
import { MINUTE_MS, type World, anomalyIds, seriesId, seriesOf, templateIds } from './evidence.ts';
import { originPrediction } from './origin-prediction.ts';
import { RESOURCE_METRICS, fmtNumber, fmtTime, medianOr, minutesBetween, noChangeExplains, onsetMsOf, servicesWithMetric, templatesSaying, valuesBetween } from './resource-evidence.ts';

/** Throttling counts as "about nothing" below this many requests/s or this share of the traffic. */
const NO_THROTTLE_RPS = 0.5;
const NO_THROTTLE_SHARE = 0.01;
/** Demand at this share of the quota is at it (per-minute averages of a capped rate sit a little below the cap). */
export const AT_QUOTA_SHARE = 0.95;
/** Demand below this share of the quota does not explain throttling. */
const FAR_BELOW_QUOTA_SHARE = 0.8;
/** Demand (own or a caller's) up by at least this factor from an hour before the onset is load that grew. */
export const DEMAND_RISE_RATIO = 1.15;
/** …and by at most this is flat. */
const DEMAND_FLAT_RATIO = 1.05;
/** The first throttles come this close to the onset to date it. */
const THROTTLE_ONSET_MINUTES = 15;
export const THROTTLED_TEXT =
  /throttl|too ?many ?requests|\b429\b|rate ?exceeded|rate ?limit|limit ?exceeded|provisionedthroughputexceeded|throughput ?exceeded|request ?limit|toomanyrequests|slow ?down|quota/i;

/** The subjects: services that publish how much they throttle. */
export const servicesWithQuota = servicesWithMetric(RESOURCE_METRICS.throttledRps);

/** Sum of two series at the same timestamps (the second may lack some). */
const demandSeries = (served: MetricSeries | undefined, throttled: MetricSeries): MetricSeries => {
  const tp = new Map((served?.points ?? []).map((p) => [p.t, p.v]));
  return { ...throttled, metric: 'demand', points: throttled.points.map((p) => ({ t: p.t, v: p.v + (tp.get(p.t) ?? 0) })) };
};

/**
 * Median of the 10 min from the onset over the median of the hour before it (30 to 90 min before the onset): the
 * load at the limit, whether it ramped up to it or arrived in a step at the onset.
 */
const riseInto = (s: MetricSeries | undefined, onset: number): number | undefined => {
  if (!s || Number.isNaN(onset)) return undefined;
  const before = medianOr(valuesBetween(s, onset - 90 * MINUTE_MS, onset - 30 * MINUTE_MS));
  const at = medianOr(valuesBetween(s, onset, onset + 10 * MINUTE_MS));
  return before > 0 && Number.isFinite(at) ? at / before : undefined;
};

export const testQuotaThrottling = (w: World, service: string): Candidate | undefined => {
  const throttled = seriesOf(w, service, RESOURCE_METRICS.throttledRps);
  if (!throttled) return undefined;
  const served = seriesOf(w, service, METRICS.throughput);
  const quota = seriesOf(w, service, RESOURCE_METRICS.quotaLimitRps);
  const onset = onsetMsOf(w, service);
  const demand = demandSeries(served, throttled);
  const typical = medianOr(demand.points.map((p) => p.v));
  const small = Math.max(NO_THROTTLE_RPS, NO_THROTTLE_SHARE * (Number.isFinite(typical) ? typical : 0));
  const peakThrottle = Math.max(...throttled.points.map((p) => p.v));
  if (!w.degraded.has(service) && !(peakThrottle > small)) return undefined;

  // 1. Throttling rose from about nothing at the onset.
  let rose: Check;
  if (Number.isNaN(onset)) rose = peakThrottle > small ? { verdict: 'supported', reason: `it throttled up to ${fmtNumber(peakThrottle)}/s` } : { verdict: 'refuted', reason: 'it never throttled' };
  else {
    const before = medianOr(valuesBetween(throttled, onset - 60 * MINUTE_MS, onset - THROTTLE_ONSET_MINUTES * MINUTE_MS));
    const after = Math.max(...valuesBetween(throttled, onset, onset + 15 * MINUTE_MS), Number.NEGATIVE_INFINITY);
    const first = throttled.points.find((p) => p.v > small && Date.parse(p.t) >= onset - 60 * MINUTE_MS);
    if (!(after > small)) rose = { verdict: 'refuted', reason: `it did not throttle after the onset (peak ${fmtNumber(Math.max(after, 0))}/s)` };
    else if (Number.isFinite(before) && before > small) rose = { verdict: 'refuted', reason: `it already throttled ${fmtNumber(before)}/s well before the onset: not what changed` };
    else if (first && Math.abs(minutesBetween(Date.parse(first.t), onset)) <= THROTTLE_ONSET_MINUTES)
      rose = { verdict: 'supported', reason: `throttling rose from about 0 to ${fmtNumber(after)}/s, starting at ${fmtTime(Date.parse(first.t))}` };
    else rose = { verdict: 'inconclusive', reason: `it throttles ${fmtNumber(after)}/s, but its first throttles are not near the onset` };
  }
  const roseP = pick(rose.verdict, withReason(`${service} began to throttle at the onset`, rose), 2, [seriesId(throttled), ...anomalyIds(w, service, RESOURCE_METRICS.throttledRps)]);

  // 2. Demand reached the quota.
  let atQuota: Check;
  const quotas = new Map((quota?.points ?? []).map((p) => [p.t, p.v]));
  if (!quota) atQuota = { verdict: 'inconclusive', reason: 'its quota (quota_limit_rps) is not published' };
  else if (!served) atQuota = { verdict: 'inconclusive', reason: 'its throughput is not published' };
  else {
    const from = Number.isNaN(onset) ? undefined : onset - 10 * MINUTE_MS;
    const shares = demand.points
      .filter((p) => from === undefined || Date.parse(p.t) >= from)
      .map((p) => ({ p, q: quotas.get(p.t) }))
      .filter((x): x is { p: (typeof demand.points)[number]; q: number } => x.q !== undefined && x.q > 0)
      .map((x) => ({ ...x, share: x.p.v / x.q }));
    const top = shares.sort((a, b) => b.share - a.share)[0];
    if (!top) atQuota = { verdict: 'inconclusive', reason: 'no readings of demand and quota at the same minutes' };
    else if (top.share >= AT_QUOTA_SHARE) atQuota = { verdict: 'supported', reason: `demand reached ${fmtNumber(top.p.v)}/s against a quota of ${fmtNumber(top.q)}/s at ${fmtTime(Date.parse(top.p.t))}` };
    else if (top.share < FAR_BELOW_QUOTA_SHARE) atQuota = { verdict: 'refuted', reason: `demand peaked at ${Math.round(top.share * 100)} % of its quota (${fmtNumber(top.p.v)} of ${fmtNumber(top.q)}/s)` };
    else atQuota = { verdict: 'inconclusive', reason: `demand reached ${Math.round(top.share * 100)} % of its quota` };
  }
  const atQuotaP = pick(atQuota.verdict, withReason(`demand on ${service} (served + throttled) reached its quota`, atQuota), 1, [seriesId(throttled), ...[served, quota].filter((s): s is MetricSeries => !!s).map(seriesId)], {
    missing: atQuota.verdict === 'inconclusive' && (!quota || !served) ? `${!quota ? 'quota_limit_rps' : 'throughput_rps'} of ${service}` : undefined,
  });

  // 3. Load grew into it: its own demand, or a caller's traffic, rose from an hour before the onset.
  const ownRise = riseInto(demand, onset);
  const callerRises = [...(w.graph.callers.get(service) ?? [])]
    .map((c) => ({ c, s: seriesOf(w, c, METRICS.throughput) }))
    .map(({ c, s }) => ({ c, s, ratio: riseInto(s, onset) }))
    .filter((x): x is { c: string; s: MetricSeries; ratio: number } => x.ratio !== undefined)
    .sort((a, b) => b.ratio - a.ratio);
  let load: Check;
  if (ownRise !== undefined && ownRise >= DEMAND_RISE_RATIO) load = { verdict: 'supported', reason: `its demand at the onset was ×${ownRise.toFixed(2)} what it was an hour before` };
  else if (callerRises[0] && callerRises[0].ratio >= DEMAND_RISE_RATIO) load = { verdict: 'supported', reason: `traffic of its caller ${callerRises[0].c} at the onset was ×${callerRises[0].ratio.toFixed(2)} what it was an hour before` };
  else if (ownRise !== undefined && ownRise <= DEMAND_FLAT_RATIO && (callerRises[0]?.ratio ?? 1) <= DEMAND_FLAT_RATIO)
    load = { verdict: 'refuted', reason: `its demand held flat (×${ownRise.toFixed(2)}): no load grew into the quota` };
  else if (ownRise === undefined && callerRises.length === 0) load = { verdict: 'inconclusive', reason: 'no traffic series before the onset to compare with' };
  else load = { verdict: 'inconclusive', reason: `demand rose only ×${(ownRise ?? callerRises[0]?.ratio ?? 1).toFixed(2)}` };
  const loadP = pick(load.verdict, withReason(`load grew into the quota of ${service}`, load), 1, [seriesId(throttled), ...(served ? [seriesId(served)] : []), ...callerRises.slice(0, 1).map((x) => seriesId(x.s))], {
    missing: load.verdict === 'inconclusive' && ownRise === undefined && callerRises.length === 0 ? `throughput of ${service} and its callers before the onset` : undefined,
  });

  // 4. The quota did not come down: a change that lowered it is the latent-limit story (decisive: one claim, one
  //    tester); a published quota that fell with no change on record refutes "load grew into it" less strongly.
  const loweredBy = w.input.changes.find(
    (c) => c.service === service && c.state === 'implemented' && limitChange(c)?.direction === 'lowered' && !(Date.parse(c.deployedAt) > onset + ONSET_GRACE_MINUTES * MINUTE_MS),
  );
  const quotaBefore = quota && !Number.isNaN(onset) ? medianOr(valuesBetween(quota, undefined, onset - 60 * MINUTE_MS)) : Number.NaN;
  const quotaLowest = quota && !Number.isNaN(onset) ? Math.min(...valuesBetween(quota, onset - 60 * MINUTE_MS, onset + 15 * MINUTE_MS)) : Number.NaN;
  let kept: Check;
  let decisive = false;
  if (loweredBy) {
    kept = { verdict: 'refuted', reason: `${loweredBy.id} lowered it (${limitChange(loweredBy)!.reason}): a latent limit, tested as a change` };
    decisive = true;
  } else if (Number.isFinite(quotaBefore) && Number.isFinite(quotaLowest) && quotaLowest < 0.95 * quotaBefore)
    kept = { verdict: 'refuted', reason: `quota_limit_rps fell from ${fmtNumber(quotaBefore)} to ${fmtNumber(quotaLowest)}/s` };
  else if (Number.isFinite(quotaBefore)) kept = { verdict: 'supported', reason: `quota_limit_rps held at ${fmtNumber(quotaBefore)}/s` };
  else kept = { verdict: 'inconclusive', reason: 'no quota series before the onset' };
  const keptP = pick(kept.verdict, withReason(`the quota of ${service} was not lowered`, kept), kept.verdict === 'refuted' ? 2 : 0.5, [...(loweredBy ? [`change:${loweredBy.id}`] : []), ...(quota ? [seriesId(quota)] : [])], {
    decisive,
  });

  const said = templatesSaying(w, service, THROTTLED_TEXT, { callers: true });
  const errors = pick(said.length > 0 ? 'supported' : 'inconclusive', `${service} or its callers log throttling — ${said.length > 0 ? `"${said[0].template.slice(0, 160)}"` : 'none do'}`, 1, templateIds(said), {
    missing: said.length > 0 ? undefined : `error logs of ${service} or its callers (429 / ThrottlingException)`,
  });
  // Other changes to it (a deploy beside the quota) are tested on their own; they do not refute a quota that load
  // reached (one that lowered the quota is the check above).
  const noChange = noChangeExplains(w, service, { timing: false });
  return {
    kind: 'quota-throttling',
    summary: `Demand grew into the rate quota of ${service}${quota ? ` (${fmtNumber(Number.isFinite(quotaBefore) ? quotaBefore : medianOr(quota.points.map((p) => p.v)))}/s)` : ''}: requests above it are throttled`,
    service,
    category: 'throttling',
    predictions: [originPrediction(w, service), roseP, atQuotaP, loadP, keptP, errors, noChange],
  };
};
