/**
 * Change hypotheses: "change X caused it", one per change implemented in the window (deployed by now).
 *
 * Predictions: timing (decisive: the onset follows the deploy within a plausible lag; a slow burn — a metric of
 * the changed service flat before the deploy and climbing after — or, for a lowered limit, the load reaching it
 * (latent-limit.ts) makes a late onset as strong as a prompt one; a latent code path — the last change to the
 * failing service, whose own new errors appear only at the onset — or a leak older than the series read makes it
 * weaker support), place (the changed service is the origin, a dependency of it, or floods it), meaning (the
 * symptoms name what it touched), novelty (new errors where its faults would show start after the deploy; not
 * those that blame a failing callee) and, for a change of a capacity or limit, mechanism (its service fails at the
 * limit it lowered; one it raised cannot make it saturate). Its category is the mechanism the phenomenon shows
 * (`changeCategory`: callers that cannot resolve or authenticate, a cache that stopped hitting, a database slowed,
 * a pool full at a lowered limit), else the change type's. Why: most incidents follow a change, and a change is
 * the one cause a rollback undoes — but only one the evidence places and times is blamed.
 */
import type { FaultCategory } from '../../model.ts';
import { METRICS, type ChangeRequest, type MetricSeries } from '../../tools/ports.ts';
import {
  type Check,
  dependenciesOf,
  meaningOverlap,
  relationOf,
  limitChange,
  timeAlignment,
  tokens,
  tokensMatch,
  MAX_PLAUSIBLE_LAG_MINUTES,
  ONSET_GRACE_MINUTES,
} from '../changes.ts';
import { median, senSlope } from '../metrics.ts';
import { byCodeUnit } from '../../compare.ts';
import { type Candidate, pick, withReason } from './candidate.ts';
import {
  MINUTE_MS,
  STEADY_TREND_TAU,
  type Template,
  type World,
  amplification,
  anomalyIds,
  callerSymptoms,
  categoryFromText,
  growthOf,
  historyId,
  isFailureSignal,
  namesIn,
  seriesId,
  seriesOf,
  templateIds,
  topologyIds,
  trendTau,
  withoutServiceNames,
} from './evidence.ts';
import { LOAD_RISE_RATIO, atLimit, loadRise } from './latent-limit.ts';
import { climbBegan } from './history.ts';

/** The subjects of the change family: every change implemented in the window and deployed by now, in input order. */
export const changesInWindow = (w: World): ChangeRequest[] => w.input.changes.filter((c) => c.state === 'implemented' && !(Date.parse(c.deployedAt) > Date.parse(w.input.now)));

/** Whether another change to `change`'s service was deployed after it and by `until` (epoch ms): then it is not the last one. */
const changedSince = (w: World, change: ChangeRequest, until: number): boolean => {
  const deployed = Date.parse(change.deployedAt);
  return w.input.changes.some((c) => c.id !== change.id && c.service === change.service && c.state === 'implemented' && Date.parse(c.deployedAt) > deployed && Date.parse(c.deployedAt) <= until);
};

/** Share of the failing traces that must end in a service for the traces to place the fault there. */
const MIN_LEAF_SHARE = 0.3;
/** One failing trace is an anecdote (background errors happen everywhere): traces place a fault from two on. */
const MIN_LEAF_TRACES = 2;
/** How far a healthy dependency may be from the origin and still be blamed. */
const MAX_BLAME_HOPS = 3;

const CHANGE_CATEGORY: Record<ChangeRequest['type'], FaultCategory | undefined> = {
  deploy: 'bad-deploy',
  config: 'config-change',
  'feature-flag': 'config-change',
  infrastructure: undefined,
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

/** A slow burn's climb after the deploy must be this many times steeper than the drift before it. */
export const SLOW_BURN_SLOPE_RATIO = 3;

export interface SlowBurn {
  readonly metric: string;
  readonly growth: number;
  readonly id: string;
  /** The deploy precedes the series: the climb is seen from the series' start, not from the deploy. */
  readonly sinceMinutes?: number;
  /** ...and the history that dated the climb's start to the deploy (history.ts), when it was read. */
  readonly historyId?: string;
}

/** A burn older than the series must climb this steadily (τ), for this long, by this much (cf. resource-leak.ts). */
const UNSEEN_START_TAU = 0.8;
const UNSEEN_START_MIN_MINUTES = 150;
const UNSEEN_START_GROWTH = 1.03;

/**
 * A slow burn that began before the series does (a leak deployed a day ago, read through a look-back of hours):
 * the deploy precedes the first point, the changed service's memory climbs without pause from that point to the
 * onset, and no later change to the service was deployed before the onset. The growth over the look-back is small
 * next to the level, so steadiness, not a factor, tells it. Where the root-cause agent read the memory's longer
 * history (history.ts), the climb must have begun there at the deploy; without it, nothing but this deploy can
 * have started it.
 */
const olderThanTheSeries = (w: World, change: ChangeRequest, deployed: number, end: number): SlowBurn | undefined => {
  const series = seriesOf(w, change.service, METRICS.memory);
  if (!series || Date.parse(series.points[0].t) <= deployed) return undefined;
  if (changedSince(w, change, end)) return undefined;
  const points = series.points.filter((p) => Date.parse(p.t) <= end);
  if (points.length < 5) return undefined;
  const since = climbBegan(w, change.service, METRICS.memory, { ...series, points }, end);
  if (since.history && since.climb && typeof since.at === 'number') {
    // The history shows the climb: it began at this deploy and climbed steadily from there to the onset.
    if (Math.abs(since.at - deployed) > since.toleranceMs) return undefined;
    const grown = growthOf(since.climb);
    if (since.climb.length < 5 || trendTau(since.climb) < UNSEEN_START_TAU || grown < HISTORY_CLIMB_GROWTH) return undefined;
    return { metric: METRICS.memory, growth: grown, id: seriesId(series), sinceMinutes: Math.round((end - since.at) / MINUTE_MS), historyId: historyId(since.history) };
  }
  const minutes = (Date.parse(points[points.length - 1].t) - Date.parse(points[0].t)) / MINUTE_MS;
  const v = points.map((p) => p.v);
  const growth = growthOf(v);
  if (minutes < UNSEEN_START_MIN_MINUTES || trendTau(v) < UNSEEN_START_TAU || growth < UNSEEN_START_GROWTH) return undefined;
  return { metric: METRICS.memory, growth, id: seriesId(series), sinceMinutes: Math.round(minutes) };
};

/** A climb the history shows from its start must have grown this much by the onset (as a slow burn seen whole). */
const HISTORY_CLIMB_GROWTH = 1.2;

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
export const slowBurn = (w: World, change: ChangeRequest, onset: string | undefined): SlowBurn | undefined => {
  const deployed = Date.parse(change.deployedAt);
  const end = Date.parse(onset ?? '');
  if (Number.isNaN(deployed) || Number.isNaN(end) || end <= deployed) return undefined;
  const older = olderThanTheSeries(w, change, deployed, end);
  if (older) return older;
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


/** How long a latent code path may lie dormant after its deploy (the change look-back of the root-cause agent). */
export const MAX_DORMANT_MINUTES = 6 * 60;

/**
 * A latent code path of `change` (see testChange): the deploy lies beyond a plausible lag before the onset but
 * within `MAX_DORMANT_MINUTES`; its service is an origin of the failure; no later change to that service was deployed
 * before the onset; and the service shows new error templates of its own first seen after the deploy and no earlier
 * than shortly before the onset (a fault that smouldered since the deploy would have shown them sooner).
 */
const latentCodePath = (w: World, change: ChangeRequest, onset: string | undefined): { errors: Template[] } | undefined => {
  const deployed = Date.parse(change.deployedAt);
  const start = Date.parse(onset ?? '');
  if (Number.isNaN(deployed) || Number.isNaN(start)) return undefined;
  const lag = (start - deployed) / MINUTE_MS;
  if (lag <= MAX_PLAUSIBLE_LAG_MINUTES || lag > MAX_DORMANT_MINUTES || !w.origins.has(change.service)) return undefined;
  if (changedSince(w, change, start)) return undefined;
  const errors = w.input.templates.filter(
    (t) => t.novel && t.service === change.service && /error|fatal|crit/i.test(t.level) && Date.parse(t.firstSeen) >= start - DORMANT_ONSET_SLACK_MINUTES * MINUTE_MS,
  );
  return errors.length > 0 ? { errors } : undefined;
};

/** A dormant fault's first new errors may lead the onset the metrics show by this much. */
const DORMANT_ONSET_SLACK_MINUTES = 10;

/**
 * Most faults a change causes show within minutes of the deploy (a config reload, a rolling restart). An onset
 * later than this, with nothing building up since the deploy, is still possible but weaker evidence.
 */
export const PROMPT_LAG_MINUTES = 15;
const LATE_TIMING_WEIGHT = 0.75;

export const testChange = (w: World, change: ChangeRequest): Candidate => {
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
  // A latent code path: beyond a plausible lag, nothing building up — but the changed service is where the
  // fault starts, nothing was changed on it since, and errors of its own never seen before appear at the onset.
  // Code that only misbehaves on some input, at some hour or once a cache of the old version's data expires
  // fires long after the deploy; the last change to the failing service is then the suspect a newer change
  // elsewhere must not displace.
  const dormant = !burn && !latent && time.verdict === 'inconclusive' ? latentCodePath(w, change, onset) : undefined;
  const timeCheck: Check = burn
    ? {
        verdict: 'supported',
        reason: burn.historyId
          ? `slow burn older than the series: ${burn.metric} of ${change.service} began to climb ${burn.sinceMinutes} min before the onset in its longer history, when ${change.id} was deployed (×${burn.growth.toFixed(2)} through the series read)`
          : burn.sinceMinutes
          ? `slow burn older than the series: ${burn.metric} of ${change.service} climbs without pause through all ${burn.sinceMinutes} min read before the onset (×${burn.growth.toFixed(2)}), and ${change.id}, ${Math.round(time.lagMinutes!)} min before the onset, is the last change to it`
          : `slow burn: ${burn.metric} of ${change.service} climbs steadily from the deploy (×${burn.growth.toFixed(2)} by the onset, ${Math.round(time.lagMinutes!)} min later)`,
      }
    : latent
      ? { verdict: 'supported', reason: `latent limit: ${limit!.reason}; ${change.service} fails at it (${saturated!.reason}) once its load reached it — traffic ×${latent.ratio.toFixed(2)} from before the deploy to the onset, ${Math.round(time.lagMinutes!)} min later` }
      : dormant
        ? { verdict: 'supported', reason: `latent code path: ${time.reason}, but it is the last change to ${change.service}, where the fault starts, and its own new errors appear only at the onset ("${dormant.errors[0].template.slice(0, 100)}")` }
        : time;
  // Weight: a prompt onset (or a slow burn or a load reaching a lowered limit leading to it) is strong timing
  // evidence; an onset that follows a deploy by half an hour with nothing building up in between is merely not
  // excluded, and so is a latent code path.
  // A burn whose start the series does not show is timed by elimination (the last change to the service), not seen.
  // A start the history dates to the deploy is seen, at a coarser grain.
  const timingWeight = burn?.sinceMinutes && !burn.historyId ? 1.5 : burn || latent ? 2 : (late && time.verdict === 'supported') || dormant ? LATE_TIMING_WEIGHT : 1.5;
  const timing = pick(timeCheck.verdict, withReason(`the anomaly on ${target} starts after ${change.id} was deployed, within ${MAX_PLAUSIBLE_LAG_MINUTES} min, as a slow burn, when the load reaches a limit it lowered, or as a latent code path`, timeCheck), timingWeight, [
    id,
    ...anomalyIds(w, target),
    ...(burn ? [burn.id, ...(burn.historyId ? [burn.historyId] : [])] : []),
    ...(latent ? [latent.id, ...saturated!.evidenceIds] : []),
    ...(dormant ? templateIds(dormant.errors) : []),
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
  // What the symptoms say of the change (step 3 below), read here too: a healthy dependency's change is placed by it.
  const related = new Set([change.service, target, ...(w.graph.callers.get(change.service) ?? [])]);
  // Symptoms are what is new: business-as-usual lines ("retrying … to downstream") say nothing about a change.
  const symptomTemplates = w.input.templates.filter((t) => t.novel && (related.has(t.service) || w.anomalous.has(t.service)));
  const symptomMetrics = w.input.anomalies.filter((a) => related.has(a.service)).map((a) => a.metric);
  const meaning = meaningOverlap(change, [...symptomTemplates.map((t) => t.template), ...symptomMetrics], w.serviceTokens);
  // A healthy dependency's change breaks its caller only in ways that show: its callers name it (a response they
  // cannot parse, a call they cannot make) or their errors speak of what it changed (a rotated password refused).
  // The call graph alone does not place a fault in a healthy service changed at the wrong moment.
  const speaksOfIt = isAnomalous || meaning.verdict === 'supported' || callerSymptoms(w, change.service).length > 0;
  let place: Check;
  if (flood) place = { verdict: 'supported', reason: flood };
  else if (floodedBy) place = { verdict: 'inconclusive', reason: `${change.service} fails under the extra calls ${floodedBy.id} makes into it: ${amplification(w, floodedBy, change.service)}` };
  else if (failsHere) place = { verdict: 'supported', reason: `${leafTraces.length} of ${w.errorTraceCount} failing trace(s) end in ${change.service}` };
  else if (rel.kind === 'same' && w.origins.has(target)) place = { verdict: 'supported', reason: `${change.service} is failing and none of its dependencies is` };
  else if (rel.kind === 'dependency' && w.origins.has(target) && rel.hops <= MAX_BLAME_HOPS && speaksOfIt) place = { verdict: 'supported', reason: `${target} (the origin) calls ${change.service} (${rel.hops} hop(s))` };
  else if (rel.kind === 'dependency' && w.origins.has(target) && rel.hops <= MAX_BLAME_HOPS)
    place = { verdict: 'inconclusive', reason: `${target} (the origin) calls ${change.service} (${rel.hops} hop(s)), but ${change.service} is healthy and nothing its callers say points at it` };
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

  // 3. meaning: the symptoms name what the change touched (read above).
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
  const horizon = burn || latent || dormant ? Infinity : MAX_PLAUSIBLE_LAG_MINUTES;
  // Its own new errors that blame a failing callee of its ("call to orders-db failed: …") are that callee's symptoms.
  const failingCallees = [...(w.graph.callees.get(change.service) ?? [])].filter((c) => w.anomalous.has(c));
  const blamesCallee = (text: string) => failingCallees.some((c) => namesIn(c, text));
  const novel = symptomOnly ? [] : w.input.templates.filter((t) => t.novel && ((t.service === change.service && !blamesCallee(t.template)) || (callers.has(t.service) && namesIt(t.template))));
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

  // 6. elimination: when nothing decided the timing (beyond a plausible lag, nothing building up, no latent code path
  //    seen), the last change to the service where the fault starts — deployed within MAX_DORMANT_MINUTES, nothing
  //    changed on it since — is the suspect a person checks first. Weak evidence, and only ever for: a location-only
  //    reading of the same failure (origin-hypotheses.ts) says less.
  const lastChange = time.verdict === 'inconclusive' && !burn && !latent && !dormant && place.verdict === 'supported' ? lastChangeToOrigin(w, change, onset) : undefined;
  const elimination = lastChange ? [pick('supported', `${change.id} is the last change to ${change.service}, where the fault starts — ${lastChange}`, LAST_CHANGE_WEIGHT, [id, ...anomalyIds(w, change.service)])] : [];

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
    category: changeCategory(change, drift?.metric, ownSymptoms(w, change.service, change.deployedAt), {
      tier: w.graph.tiers.get(change.service),
      floods: !!flood,
      callerSymptoms: callerSymptoms(w, change.service).map((x) => x.text),
      atLoweredLimit: limit?.direction === 'lowered' && !!saturated,
      limitReached: saturated?.fromMetrics ? saturated.reason : undefined,
    }),
    changeId: change.id,
    predictions: [timing, locality, semantic, novelty, ...mechanism, ...elimination],
  };
};

/** Weight of being the last change to the failing service (see testChange, 6): less than any direct evidence. */
const LAST_CHANGE_WEIGHT = 0.75;

/**
 * Why `change` is the last suspect standing on its service: its service is an origin of the failure, it was deployed
 * beyond a plausible lag but within `MAX_DORMANT_MINUTES` of the onset, and no other change to the service landed
 * between it and the onset. Undefined otherwise.
 */
const lastChangeToOrigin = (w: World, change: ChangeRequest, onset: string | undefined): string | undefined => {
  const deployed = Date.parse(change.deployedAt);
  const start = Date.parse(onset ?? '');
  if (Number.isNaN(deployed) || Number.isNaN(start) || !w.origins.has(change.service)) return undefined;
  const lag = (start - deployed) / MINUTE_MS;
  if (lag <= MAX_PLAUSIBLE_LAG_MINUTES || lag > MAX_DORMANT_MINUTES) return undefined;
  return changedSince(w, change, start) ? undefined : `deployed ${Math.round(lag)} min before the onset, nothing changed on it since, and it fails with none of its dependencies failing`;
};

/**
 * The changed service's own new error templates and anomalous metrics, service names left out. A hit ratio that
 * falls is a symptom too (a cache that stopped hitting), though not a failure signal: the service serves on, and
 * what fails is the store behind the cache.
 */
const ownSymptoms = (w: World, service: string, deployedAt: string): string[] => [
  ...w.input.templates.filter((t) => t.novel && t.service === service).map((t) => withoutServiceNames(w, t.template)),
  ...w.input.anomalies.filter((a) => a.service === service && (isFailureSignal(a) || isFallingHitRatio(a))).map((a) => a.metric),
  ...w.input.series.filter((s) => s.service === service && HIT_RATIO.test(s.metric) && missesRose(s, Date.parse(deployedAt))).map((s) => s.metric),
];

const HIT_RATIO = /hit_?(ratio|rate)/i;
const isFallingHitRatio = (a: { metric: string; direction: string }) => a.direction === 'down' && HIT_RATIO.test(a.metric);
/** A cache misses this many times as often after the deploy as before it: it stopped doing its job. */
const MISS_RISE = 1.5;
/**
 * Whether a hit-ratio series (percent) shows the misses rising at the deploy: the miss share (100 − hit) in the
 * 15 min after it over the 30 min before. A drop from 97 % to 87 % hardly moves the ratio, but sends four times
 * the reads to the store behind the cache — too little for a detector on the ratio, all the database feels.
 */
const missesRose = (s: MetricSeries, deployed: number): boolean => {
  if (Number.isNaN(deployed)) return false;
  const before = s.points.filter((p) => Date.parse(p.t) < deployed && Date.parse(p.t) >= deployed - 30 * MINUTE_MS).map((p) => 100 - p.v);
  const after = s.points.filter((p) => Date.parse(p.t) >= deployed && Date.parse(p.t) <= deployed + 15 * MINUTE_MS).map((p) => 100 - p.v);
  if (before.length < 3 || after.length < 3) return false;
  return median(after) >= MISS_RISE * Math.max(median(before), 0.5);
};

/** What else shapes a change's category besides its own text and symptoms (see `changeCategory`). */
export interface ChangeContext {
  /** The changed service's tier in the topology: a change to a database that slows it is a database fault. */
  readonly tier?: string;
  /** What the changed service's callers say when calls to it fail (`callerSymptoms`). */
  readonly callerSymptoms?: readonly string[];
  /** The change lowered a limit of its service and the service fails at it: its symptoms say which resource ran out. */
  readonly atLoweredLimit?: boolean;
  /** How the service shows it is at the limit ("db_pool_active reached db_pool_max"): a pool that is full is a pool fault. */
  readonly limitReached?: string;
  /** The change multiplies its service's calls into a dependency (`amplification`). */
  readonly floods?: boolean;
}

const CACHE_ONLY: ReadonlySet<FaultCategory> = new Set(['cache']);

/**
 * Mechanisms that only the callers can see: the call fails before it reaches the service (a name, a handshake) or
 * is turned away at its door (a password it no longer accepts).
 */
const CONNECTION_CATEGORIES: ReadonlySet<FaultCategory> = new Set(['dns', 'certificate', 'credential']);

/** The category most of the texts name, among `allowed`; undefined when none does. */
const mostNamed = (texts: readonly string[], allowed: ReadonlySet<FaultCategory>): FaultCategory | undefined => {
  const counts = new Map<FaultCategory, number>();
  for (const text of texts) {
    const c = categoryFromText(text.replace(/_/g, ' '));
    if (allowed.has(c)) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || byCodeUnit(a[0], b[0]))[0]?.[0];
};

/** What a slow burn in a resource says about the mechanism: memory that only grows leaks, so do connections never returned. */
const SLOW_BURN_CATEGORY: Partial<Record<string, FaultCategory>> = { [METRICS.memory]: 'memory-leak', [METRICS.dbPoolActive]: 'connection-pool' };

/**
 * The fault category of a change: the mechanism when the evidence shows one, else the change type's default (a
 * deploy is a bad deploy, a config or flag change a config change). In order:
 * - a change that floods a dependency while its cache misses more: a cache that stopped absorbing the reads (its
 *   pool filling up with the slow calls is what the flood did: neither a pool leak nor a pool fault);
 * - a slow burn names it (memory that only grows leaks; so does a pool that fills up from the deploy on);
 * - a change that lowered a limit its service now fails at: what its own symptoms say ran out (a pool parameter
 *   named after the database is still a pool that ran dry);
 * - calls to the changed service that fail before reaching it: what its callers' errors name (a name that no
 *   longer resolves after a record change is DNS, a failed handshake a certificate, a refused password after a
 *   secret rotation a credential), whatever the change says;
 * - a change that names a connection pool, a cache, a certificate... (not a deploy: its title names a feature);
 * - a change to a database (its tier) slows or breaks the database: a database fault, whatever was changed on it;
 * - a deploy whose own symptoms show it broke a resource of its own (its cache stopped hitting, its memory or
 *   connections leak).
 */
export const changeCategory = (change: ChangeRequest, burnMetric?: string, ownSymptoms: readonly string[] = [], context: ChangeContext = {}): FaultCategory => {
  // A flood of calls into a dependency that a cache stopped absorbing: the misses are the extra calls. The
  // service's pool filling up with them (slowly, or at once) is what the flood did, not why it came.
  const bypassed = context.floods ? mostNamed(ownSymptoms, CACHE_ONLY) : undefined;
  if (bypassed) return bypassed;
  const mechanism = burnMetric && !(context.floods && burnMetric === METRICS.dbPoolActive) ? SLOW_BURN_CATEGORY[burnMetric] : undefined;
  if (mechanism) return mechanism;
  const ranOut = context.atLoweredLimit ? (mostNamed(ownSymptoms, RESOURCE_CATEGORIES) ?? (context.limitReached && /pool/i.test(context.limitReached) ? 'connection-pool' : undefined)) : undefined;
  if (ranOut) return ranOut;
  const unreachable = mostNamed(context.callerSymptoms ?? [], CONNECTION_CATEGORIES);
  if (unreachable) return unreachable;
  const specific = categoryFromText(`${change.title} ${change.configChange?.param ?? ''} ${change.type === 'deploy' ? '' : change.description}`);
  if (specific !== 'unknown' && change.type !== 'deploy') return specific;
  if (context.tier === 'database') return 'database';
  // A deploy is a bad deploy, unless the changed service's own new symptoms show it broke a resource of its
  // own (its cache stopped hitting, its memory or connections leak): then that is the kind of fault.
  if (change.type === 'deploy') {
    const own = mostNamed(ownSymptoms, context.floods ? CACHE_ONLY : RESOURCE_CATEGORIES);
    if (own) return own;
  }
  return CHANGE_CATEGORY[change.type] ?? specific;
};

/** Faults of a service's own resources that a deploy can cause and whose symptoms name them. */
const RESOURCE_CATEGORIES: ReadonlySet<FaultCategory> = new Set(['cache', 'memory-leak', 'connection-pool']);
