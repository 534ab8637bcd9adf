/**
 * Traffic-surge hypotheses: "more load than this failing service can take", one per failing service.
 *
 * Predictions: it is the origin (origin-prediction.ts), its traffic rose before the onset, it is saturated (CPU,
 * pool or another capacity at its limit), no change to it explains it (refuted by a change that lowered the limit
 * it fails at: then the change is the cause, latent-limit.ts), and — refuted only — the extra traffic is not a
 * change multiplying its calls into it. Why: load alone is not a fault (see `isFailureSignal`), so a surge is
 * blamed only where a service fails under it and nothing else explains that.
 */
import { METRICS, type ChangeRequest, type MetricSeries } from '../../tools/ports.ts';
import { type Check, limitChange, ONSET_GRACE_MINUTES } from '../changes.ts';
import { median } from '../metrics.ts';
import { type Candidate, pick, withReason } from './candidate.ts';
import { MINUTE_MS, type World, amplification, anomalyIds, seriesId, seriesOf } from './evidence.ts';
import { atLimit, refusesWork } from './latent-limit.ts';
import { originPrediction } from './origin-prediction.ts';

/** Traffic ratio: the peak in the 30 min up to the onset over the median before that. */
export const TRAFFIC_SURGE_RATIO = 1.5;
const TRAFFIC_FLAT_RATIO = 1.15;

export const testTrafficSurge = (w: World, service: string): Candidate => {
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
