/**
 * Queue-backlog hypotheses: "the consumer behind this queue drains slower than its producers enqueue, so messages
 * pile up" — a throughput regression behind an asynchronous edge — one per service that publishes `queue_depth`
 * and either fails or holds a growing backlog. The hypothesis blames the consumer.
 *
 * Where the consumer is: the queue's callee in the topology (a service map draws the queue → its consumer, as X-Ray
 * does for an SQS-triggered function); when the topology shows none, the one service that is not a producer, whose
 * throughput fell at the onset and whose name shares a word with the queue's (orders-queue → orders-worker).
 *
 * Predictions: depth and oldest-message age climb steadily from the onset; the consumer's drain (its throughput)
 * fell or stayed flat while the inflow (the queue's throughput, else its producers') held — a backlog under a surge
 * of producers, or with a consumer draining faster than before, is load, not a regression; nothing fails (error rates flat: an asynchronous edge hides the slowdown);
 * nothing the consumer calls explains its slowdown (origin-prediction.ts); and what slowed it — a deploy to the
 * consumer within a plausible lag before the backlog began is the culprit: the hypothesis names it (`changeId`, so
 * it never competes with the change tester's hypothesis of the same deploy under another culprit, and a rollback
 * undoes it) and keeps the mechanism, the backlog; with no such deploy, no change to it explains it. Why: with no
 * errors anywhere, the queue's depth and age are the only marks a slower consumer leaves.
 */
import { METRICS, type ChangeRequest, type MetricSeries } from '../../tools/ports.ts';
import { type Check, timeAlignment, tokens, tokensMatch, MAX_PLAUSIBLE_LAG_MINUTES } from '../changes.ts';
import { type Candidate, pick, withReason } from './candidate.ts';
import { MINUTE_MS, STEADY_TREND_TAU, type World, anomalyIds, isFailureSignal, seriesId, seriesOf, trendTau } from './evidence.ts';
import { originPrediction } from './origin-prediction.ts';
import { RESOURCE_METRICS, fmtNumber, medianOr, noChangeExplains, onsetMsOf, servicesWithMetric, valuesBetween } from './resource-evidence.ts';

/** The backlog grows at least this much (×) from the onset to its latest reading. */
const BACKLOG_GROWTH = 2;
/** Drain / inflow ratios across the onset: at most this is "fell or flat", at least `DRAIN_ROSE` rose. */
const DRAIN_FLAT = 1.05;
const DRAIN_ROSE = 1.2;
/** Inflow within these bounds "held"; at or above `INFLOW_SURGE` it surged. */
const INFLOW_HELD_LOW = 0.8;
const INFLOW_SURGE = 1.5;
/** A consumer that drains faster, or producers that surged, refute a slower consumer this strongly: the backlog is load. */
const INFLOW_SURGE_WEIGHT = 3;

/** The subjects: services that publish a queue depth. */
export const queueServices = servicesWithMetric(RESOURCE_METRICS.queueDepth);

const nameWords = (s: string) => [...tokens(s.replace(/[-_.](queue|q|topic|stream|sqs|service|svc|worker|consumer|processor)$/i, ''))];

/** The queue's consumer (see the header), if the evidence shows one. */
export const consumerOf = (w: World, queue: string): string | undefined => {
  const producers = w.graph.callers.get(queue) ?? new Set<string>();
  const callees = [...(w.graph.callees.get(queue) ?? [])].filter((c) => (w.graph.tiers.get(c) as string | undefined) !== 'queue' && !producers.has(c));
  if (callees.length === 1) return callees[0];
  const onset = onsetMsOf(w, queue);
  const words = nameWords(queue);
  const pool = callees.length > 1 ? callees : [...new Set(w.input.series.map((s) => s.service))].filter((s) => s !== queue && !producers.has(s));
  const slowed = pool.filter((s) => {
    const drain = ratioAround(seriesOf(w, s, METRICS.throughput), onset);
    return drain !== undefined && drain <= DRAIN_FLAT && (callees.length > 1 || nameWords(s).some((x) => words.some((q) => tokensMatch(q, x))));
  });
  return slowed.length === 1 ? slowed[0] : undefined;
};

/** The latest change to the consumer deployed within a plausible lag before the backlog began (timed as change.ts times a deploy). */
const changeThatSlowed = (w: World, consumer: string, onset: string | undefined): { change: ChangeRequest; lag: number } | undefined =>
  w.input.changes
    .filter((c) => c.service === consumer && c.state === 'implemented')
    .map((c) => ({ change: c, time: timeAlignment(c.deployedAt, onset, MAX_PLAUSIBLE_LAG_MINUTES, w.onsetSpreadOf(consumer)) }))
    .filter((x) => x.time.verdict === 'supported')
    .map((x) => ({ change: x.change, lag: x.time.lagMinutes ?? 0 }))
    .sort((a, b) => a.lag - b.lag)[0];

/** Median of the 15 min after `at` over the median of the 30 min before it. */
const ratioAround = (s: MetricSeries | undefined, at: number): number | undefined => {
  if (!s || Number.isNaN(at)) return undefined;
  const before = medianOr(valuesBetween(s, at - 30 * MINUTE_MS, at - MINUTE_MS));
  const after = medianOr(valuesBetween(s, at, at + 15 * MINUTE_MS));
  return before > 0 && Number.isFinite(after) ? after / before : undefined;
};

export const testQueueBacklog = (w: World, queue: string): Candidate | undefined => {
  const depth = seriesOf(w, queue, RESOURCE_METRICS.queueDepth);
  if (!depth) return undefined;
  const age = seriesOf(w, queue, RESOURCE_METRICS.queueOldestAgeS);
  const onset = onsetMsOf(w, queue);

  // 1. The backlog climbs: depth (and age) rise steadily from the onset to the latest reading.
  const since = (s: MetricSeries | undefined) => valuesBetween(s, Number.isNaN(onset) ? undefined : onset - 5 * MINUTE_MS);
  const d = since(depth);
  const a = since(age);
  const growth = (v: readonly number[]) => (v.length > 0 ? v[v.length - 1] / Math.max(v[0], 1) : Number.NaN);
  const dTau = trendTau(d);
  const dGrowth = growth(d);
  if (!w.degraded.has(queue) && !(dTau >= STEADY_TREND_TAU && dGrowth >= BACKLOG_GROWTH)) return undefined;
  let climb: Check;
  if (d.length < 5) climb = { verdict: 'inconclusive', reason: 'too few depth readings since the onset' };
  else if (dTau >= STEADY_TREND_TAU && dGrowth >= BACKLOG_GROWTH)
    climb = {
      verdict: 'supported',
      reason: `queue_depth climbs steadily (τ ${dTau.toFixed(2)}) from ${fmtNumber(d[0])} to ${fmtNumber(d[d.length - 1])}${a.length > 0 ? `, the oldest message from ${fmtNumber(a[0])} s to ${fmtNumber(a[a.length - 1])} s` : ''}`,
    };
  else if (dTau < 0.2 || dGrowth < 1.2) climb = { verdict: 'refuted', reason: `queue_depth does not climb (τ ${dTau.toFixed(2)}, ×${fmtNumber(dGrowth)})` };
  else climb = { verdict: 'inconclusive', reason: `queue_depth grew ×${fmtNumber(dGrowth)}, not steadily (τ ${dTau.toFixed(2)})` };
  const climbP = pick(climb.verdict, withReason(`the backlog of ${queue} grows (depth and oldest-message age)`, climb), 2, [
    seriesId(depth),
    ...(age ? [seriesId(age)] : []),
    ...anomalyIds(w, queue, RESOURCE_METRICS.queueDepth),
    ...anomalyIds(w, queue, RESOURCE_METRICS.queueOldestAgeS),
  ]);

  const consumer = consumerOf(w, queue);
  const producers = [...(w.graph.callers.get(queue) ?? [])].filter((p) => p !== consumer);

  // 2. The consumer's drain fell or stayed flat while the inflow held: the queue's own throughput (what producers
  //    enqueue), else its producers' together. A backlog under a surge of producers is load, not a regression.
  const drainSeries = consumer ? seriesOf(w, consumer, METRICS.throughput) : undefined;
  const drain = ratioAround(drainSeries, onset);
  const inflowSeries = seriesOf(w, queue, METRICS.throughput);
  const inflowIds = (inflowSeries ? [inflowSeries] : producers.map((p) => seriesOf(w, p, METRICS.throughput)).filter((s): s is MetricSeries => !!s)).map(seriesId);
  const known = (inflowSeries ? [ratioAround(inflowSeries, onset)] : producers.map((p) => ratioAround(seriesOf(w, p, METRICS.throughput), onset))).filter((r): r is number => r !== undefined);
  const inflow = known.length > 0 ? Math.max(...known) : undefined;
  const inflowSaid = inflow === undefined ? 'inflow unknown' : `inflow ×${inflow.toFixed(2)}`;
  let drained: Check;
  if (inflow !== undefined && inflow >= INFLOW_SURGE) drained = { verdict: 'refuted', reason: `inflow rose ×${inflow.toFixed(2)}: producers outpace the consumer (load, not a slower consumer)` };
  else if (!consumer) drained = { verdict: 'inconclusive', reason: `its consumer is not in the topology (${inflowSaid})` };
  else if (drain === undefined) drained = { verdict: 'inconclusive', reason: `no throughput of ${consumer} around the onset (${inflowSaid})` };
  else if (drain >= DRAIN_ROSE) drained = { verdict: 'refuted', reason: `${consumer} drains faster than before (×${drain.toFixed(2)}): it is keeping up with more, not slowing` };
  else if (drain <= DRAIN_FLAT && inflow !== undefined && inflow >= INFLOW_HELD_LOW)
    drained = { verdict: 'supported', reason: `${consumer}'s throughput ×${drain.toFixed(2)} across the onset while the ${inflowSaid}` };
  else drained = { verdict: 'inconclusive', reason: `${consumer}'s throughput ×${drain.toFixed(2)}, ${inflowSaid}` };
  const drainP = pick(drained.verdict, withReason(`the consumer of ${queue} drains no faster than before while the inflow holds`, drained), drained.verdict === 'refuted' ? INFLOW_SURGE_WEIGHT : 2, [
    ...(drainSeries ? [seriesId(drainSeries)] : []),
    ...(consumer ? anomalyIds(w, consumer, METRICS.throughput) : []),
    ...inflowIds,
  ], {
    missing: !consumer ? `the consumer of ${queue} (topology)` : drain === undefined ? `throughput of ${consumer}` : inflow === undefined ? `throughput of ${queue} or its producers` : undefined,
  });

  // 4. Nothing fails: an asynchronous edge turns a slower consumer into a backlog, not into errors.
  const around = new Set([queue, ...(consumer ? [consumer] : []), ...producers]);
  const erring = w.input.anomalies.filter((x) => around.has(x.service) && /error|fail|5xx/i.test(x.metric) && isFailureSignal(x));
  const quiet: Check =
    erring.length === 0
      ? { verdict: 'supported', reason: `no error rate moved on ${[...around].join(', ')}` }
      : { verdict: 'inconclusive', reason: `errors rose on ${[...new Set(erring.map((x) => x.service))].join(', ')}: a failing consumer, not only a slower one` };
  const quietP = pick(quiet.verdict, withReason('error rates stayed flat', quiet), 1, erring.flatMap((x) => x.evidenceIds));

  // 5. The consumer is where the slowdown starts. 6. What slowed it: a change to it deployed within a plausible lag
  //    before the backlog began is the culprit (named: a rollback undoes it; the mechanism stays the backlog), else
  //    no change to it explains it.
  const place = consumer ? [originPrediction(w, consumer)] : [];
  const onsetIso = Number.isNaN(onset) ? undefined : new Date(onset).toISOString();
  const starter = consumer ? changeThatSlowed(w, consumer, onsetIso) : undefined;
  const cause = starter
    ? [
        pick('supported', `a change to ${consumer} slowed it — ${starter.change.id} ("${starter.change.title}") was deployed ${fmtNumber(Math.max(0, starter.lag))} min before the backlog began`, 1, [
          `change:${starter.change.id}`,
          ...anomalyIds(w, consumer!),
        ]),
      ]
    : consumer
      ? [noChangeExplains(w, consumer, { onset: onsetIso })]
      : [];
  return {
    kind: 'queue-backlog',
    summary: consumer
      ? `${starter ? `${starter.change.id} slowed ${consumer}: it` : consumer} drains ${queue} slower than its producers fill it: the backlog grows with no errors`
      : `The consumer of ${queue} drains slower than its producers fill it (consumer not in the topology)`,
    service: consumer ?? queue,
    ...(starter ? { changeId: starter.change.id } : {}),
    category: 'queue-backlog',
    predictions: [climbP, drainP, quietP, ...place, ...cause],
  };
};
