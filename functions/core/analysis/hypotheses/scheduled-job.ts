/**
 * Scheduled-job hypotheses: "a batch or scheduled job started a run and loads a resource it shares with others
 * (a database, a cache), so the resource slows and every other caller of it degrades", one per service that runs
 * in bursts — its throughput rests near zero and rises when a run starts (a monitoring tool shows a job as one more
 * service: the simulated world's `job` tier reads as `backend` in its topology), or that its topology tier or its
 * logs ("job … run started") name a job — whose callees or their other callers degraded.
 *
 * Predictions: a run started within minutes before the onset of the victims (decisive when it started after it);
 * the shared resource's load, CPU or latency rose with the run, and the traffic it gained is about the job's rate (its
 * calls, not a surge of users — only ever supported); the resource's other callers degraded (the
 * contention, as opposed to the job's own failure); no change to the resource explains it (resource-evidence.ts: a
 * change to it near the onset refutes the job, unless the resource's traffic rose with the run — the job's calls);
 * and, weakly, the job logs a run starting. Why: a job is no change and no user load — nothing in the change log or
 * in the front door's traffic shows it; the contended resource's load and the run's start are its marks. The
 * culprit is the job (its schedule, its size), not the resource that degrades under it.
 */
import { METRICS, type MetricSeries } from '../../tools/ports.ts';
import { type Check, ONSET_GRACE_MINUTES } from '../changes.ts';
import { type Candidate, pick, withReason } from './candidate.ts';
import { MINUTE_MS, type World, anomalyIds, ratioAcross, seriesId, seriesOf, templateIds } from './evidence.ts';
import { fmtNumber, fmtTime, medianOr, minutesBetween, noChangeExplains, valuesBetween } from './resource-evidence.ts';

/** Between runs a job's throughput rests below this share of its run's peak. */
const IDLE_SHARE = 0.1;
/** A run starts at the first point at or above this share of its peak. */
const RUN_SHARE = 0.5;
/** A run this long before the victims' onset still dates it (a heavy job can take a while to bite). */
export const RUN_LEAD_MINUTES = 30;
/** How far back a run start is looked for. */
const RUN_LOOKBACK_MINUTES = 120;
/** The resource's traffic (×), CPU (percentage points) or latency (×) moving this much with the run is its load. */
const LOAD_RATIO = 1.2;
const CPU_RISE_POINTS = 15;
/** The resource's extra traffic is the job's calls when it is this share of the job's rate (calls fan in and out). */
const JOB_TRAFFIC_SHARE_LOW = 0.3;
const JOB_TRAFFIC_SHARE_HIGH = 3;
const LATENCY_RATIO = 1.5;
export const RUN_STARTED_TEXT = /\b(job|batch|cron|etl|export|backup|report)\b.*\b(run )?start|\bstart(ed|ing) (a |the )?(run|job|batch)|\brun started\b/i;

/** When a service's throughput rose from rest to a run: each point ≥ half the peak after ≥ 5 points of rest. */
export const runStartsOf = (tp: MetricSeries | undefined, from: number, to: number): { at: number; peak: number }[] => {
  const pts = (tp?.points ?? []).filter((p) => Date.parse(p.t) <= to);
  const inRange = pts.filter((p) => Date.parse(p.t) >= from);
  if (inRange.length === 0) return [];
  const peak = Math.max(...inRange.map((p) => p.v));
  if (!(peak > 0)) return [];
  const starts: { at: number; peak: number }[] = [];
  for (let i = 5; i < pts.length; i++) {
    const t = Date.parse(pts[i].t);
    if (t < from || pts[i].v < RUN_SHARE * peak || pts[i - 1].v >= RUN_SHARE * peak) continue;
    const rest = medianOr(pts.slice(Math.max(0, i - 10), i).map((p) => p.v));
    if (rest <= IDLE_SHARE * peak) starts.push({ at: t, peak });
  }
  return starts;
};

/** The run that dates an onset: the last to start by the onset (with the grace), else the first after it. */
export const runStartOf = (tp: MetricSeries | undefined, from: number, to: number, onset = to): { at: number; peak: number } | undefined => {
  const starts = runStartsOf(tp, from, to);
  const before = starts.filter((s) => s.at <= onset + ONSET_GRACE_MINUTES * MINUTE_MS);
  return before.length > 0 ? before[before.length - 1] : starts[0];
};

const isJobTier = (w: World, service: string) => (w.graph.tiers.get(service) as string | undefined) === 'job';
const runLogs = (w: World, service: string) => w.input.templates.filter((t) => t.service === service && RUN_STARTED_TEXT.test(t.template));

/** The resources a job calls that degraded, or whose other callers did. */
const victimsOf = (w: World, job: string) => {
  const resources = [...(w.graph.callees.get(job) ?? [])];
  return resources
    .map((r) => ({ r, others: [...(w.graph.callers.get(r) ?? [])].filter((c) => c !== job && w.degraded.has(c)) }))
    .filter(({ r, others }) => w.degraded.has(r) || others.length > 0);
};

/**
 * The subjects: services with callees in the topology that the topology or their logs call a job, or whose
 * throughput rests near zero and then runs — whose callees or callees' other callers degraded. In code-unit order.
 */
export const jobServices = (w: World): string[] => {
  const withSeries = new Set(w.input.series.filter((s) => s.metric === METRICS.throughput && s.points.length > 0).map((s) => s.service));
  const candidates = new Set([...w.graph.tiers.keys()].filter((s) => isJobTier(w, s) || runLogs(w, s).length > 0 || withSeries.has(s)));
  return [...candidates].filter((s) => (w.graph.callees.get(s)?.size ?? 0) > 0 && victimsOf(w, s).length > 0).sort();
};

const earliest = (onsets: readonly (string | undefined)[]): number => {
  const ms = onsets.map((o) => Date.parse(o ?? '')).filter((t) => !Number.isNaN(t));
  return ms.length > 0 ? Math.min(...ms) : Number.NaN;
};

export const testScheduledJob = (w: World, job: string): Candidate | undefined => {
  const victims = victimsOf(w, job);
  if (victims.length === 0) return undefined;
  const onset = earliest(victims.flatMap(({ r, others }) => [...(w.degraded.has(r) ? [w.onsetOf(r)] : []), ...others.map((o) => w.onsetOf(o))]));
  const tp = seriesOf(w, job, METRICS.throughput);
  // Looked for past the onset too: a run that started after it is found, and refutes the job outright.
  const run = Number.isNaN(onset) ? undefined : runStartOf(tp, onset - RUN_LOOKBACK_MINUTES * MINUTE_MS, onset + 60 * MINUTE_MS, onset);
  const logs = runLogs(w, job);
  // A service that neither runs in bursts nor is called a job is no job: nothing to say.
  if (!run && !isJobTier(w, job) && logs.length === 0) return undefined;

  // 1. Timing: a run started shortly before the victims' onset.
  let timing: Check;
  let decisive = false;
  if (!tp) timing = { verdict: 'inconclusive', reason: `no throughput series of ${job}` };
  else if (!run) timing = { verdict: 'refuted', reason: `its throughput shows no run starting from rest in the ${RUN_LOOKBACK_MINUTES} min before the onset` };
  else {
    const lead = minutesBetween(run.at, onset);
    if (lead < -ONSET_GRACE_MINUTES) {
      timing = { verdict: 'refuted', reason: `its run started at ${fmtTime(run.at)}, ${fmtNumber(-lead)} min AFTER the onset` };
      decisive = true;
    } else if (lead <= RUN_LEAD_MINUTES) timing = { verdict: 'supported', reason: `a run started at ${fmtTime(run.at)} (throughput from rest to ${fmtNumber(run.peak)}/s), ${fmtNumber(Math.max(0, lead))} min before the onset` };
    else timing = { verdict: 'inconclusive', reason: `a run started at ${fmtTime(run.at)}, ${fmtNumber(lead)} min before the onset` };
  }
  const timingP = pick(timing.verdict, withReason(`a run of ${job} started within ${RUN_LEAD_MINUTES} min before the onset`, timing), 2, [...(tp ? [seriesId(tp)] : []), ...anomalyIds(w, job, METRICS.throughput), ...templateIds(logs)], {
    decisive,
    missing: tp ? undefined : `throughput of ${job}`,
  });

  // 2. The shared resource's load, CPU or latency moved with the run.
  const at = run?.at ?? onset;
  const moved = victims.map(({ r }) => {
    const tpRatio = ratioAcross(seriesOf(w, r, METRICS.throughput), at);
    const cpu = seriesOf(w, r, METRICS.cpu);
    const cpuRise = cpu ? medianOr(valuesBetween(cpu, at, at + 15 * MINUTE_MS)) - medianOr(valuesBetween(cpu, at - 30 * MINUTE_MS, at - MINUTE_MS)) : undefined;
    const latRatio = ratioAcross(seriesOf(w, r, METRICS.latencyP99), at);
    const ids = [seriesOf(w, r, METRICS.throughput), cpu, seriesOf(w, r, METRICS.latencyP99)].filter((s): s is MetricSeries => !!s).map(seriesId);
    const why = [
      tpRatio !== undefined && tpRatio >= LOAD_RATIO ? `traffic ×${tpRatio.toFixed(2)}` : '',
      cpuRise !== undefined && cpuRise >= CPU_RISE_POINTS ? `CPU +${Math.round(cpuRise)} points` : '',
      latRatio !== undefined && latRatio >= LATENCY_RATIO ? `p99 ×${latRatio.toFixed(1)}` : '',
    ].filter(Boolean);
    const known = tpRatio !== undefined || (cpuRise !== undefined && Number.isFinite(cpuRise)) || latRatio !== undefined;
    return { r, why, known, ids, callsRose: tpRatio !== undefined && tpRatio >= LOAD_RATIO };
  });
  const loaded = moved.filter((m) => m.why.length > 0);
  let load: Check;
  if (loaded.length > 0) load = { verdict: 'supported', reason: loaded.map((m) => `${m.r}: ${m.why.join(', ')} at ${fmtTime(at)}`).join('; ') };
  else if (moved.some((m) => m.known)) load = { verdict: 'refuted', reason: `${moved.map((m) => m.r).join(', ')} carried no more load, CPU or latency when the run started` };
  else load = { verdict: 'inconclusive', reason: `no series of ${moved.map((m) => m.r).join(', ')}` };
  const loadP = pick(load.verdict, withReason(`the resource ${job} shares (${victims.map((v) => v.r).join(', ')}) took its load when the run started`, load), 1.5, moved.flatMap((m) => m.ids), {
    missing: load.verdict === 'inconclusive' ? `throughput / CPU / latency of ${victims.map((v) => v.r).join(', ')}` : undefined,
  });

  // 2b. The resource's extra traffic is the job's calls: what it serves more since the run started is about what the
  //     job sends (a surge of users would not match the job's rate). Only ever supported: a job of few heavy queries
  //     adds little traffic, and says nothing against itself by that.
  const jobRate = run && tp ? medianOr(valuesBetween(tp, run.at, run.at + 15 * MINUTE_MS)) : Number.NaN;
  const matched = victims
    .map(({ r }) => {
      const s = seriesOf(w, r, METRICS.throughput);
      if (!s || !run || !(jobRate > 0)) return undefined;
      const extra = medianOr(valuesBetween(s, run.at, run.at + 15 * MINUTE_MS)) - medianOr(valuesBetween(s, run.at - 30 * MINUTE_MS, run.at - MINUTE_MS));
      const share = extra / jobRate;
      return share >= JOB_TRAFFIC_SHARE_LOW && share <= JOB_TRAFFIC_SHARE_HIGH ? { r, s, extra } : undefined;
    })
    .filter((x): x is { r: string; s: MetricSeries; extra: number } => x !== undefined);
  const matchedP = pick(
    matched.length > 0 ? 'supported' : 'inconclusive',
    `the extra traffic on ${victims.map((v) => v.r).join(', ')} is ${job}'s calls — ${
      matched.length > 0 ? `${matched[0].r} serves ${fmtNumber(matched[0].extra)}/s more since the run started, ${job} sends ${fmtNumber(jobRate)}/s` : 'its traffic did not grow by the job’s rate'
    }`,
    1,
    [...(tp ? [seriesId(tp)] : []), ...matched.map((x) => seriesId(x.s))],
  );

  // 3. Contention: the resource's other callers degraded with it (not only the job itself).
  const others = [...new Set(victims.flatMap((v) => v.others))];
  const contention: Check =
    others.length > 0
      ? { verdict: 'supported', reason: `${others.join(', ')} degraded beside ${job}` }
      : { verdict: 'inconclusive', reason: `only ${victims.map((v) => v.r).join(', ')} degraded; none of its other callers did` };
  const contentionP = pick(contention.verdict, withReason(`the other callers of ${victims.map((v) => v.r).join(', ')} degraded`, contention), 1.5, others.flatMap((o) => anomalyIds(w, o)));

  // 4. No change to the contended resource explains its slowing down (tested as a change if one does). A change to
  //    it near the onset refutes the job — unless the resource's traffic rose when the run started: the job's calls
  //    arrived, which no change to the resource makes (a change beside them is then tested on its own).
  const callsArrived = new Set(moved.filter((x) => x.callsRose).map((x) => x.r));
  const noChange = victims.map(({ r }) => noChangeExplains(w, r, { onset: Number.isNaN(onset) ? undefined : new Date(onset).toISOString(), timing: !callsArrived.has(r) }));
  const worst = noChange.find((p) => p.result === 'refuted') ?? noChange.find((p) => p.result === 'inconclusive') ?? noChange[0];

  const logged = pick(logs.length > 0 ? 'supported' : 'inconclusive', `${job} logs a run starting — ${logs.length > 0 ? `"${logs[0].template.slice(0, 120)}"` : 'no such line'}`, 0.5, templateIds(logs));
  return {
    kind: 'scheduled-job',
    summary: `Scheduled job ${job}${run ? ` (run started ${fmtTime(run.at)})` : ''} overloads the ${victims.map((v) => v.r).join(', ')} it shares with ${others.length > 0 ? others.join(', ') : 'other callers'}`,
    service: job,
    category: 'capacity',
    predictions: [timingP, loadP, matchedP, contentionP, worst, logged],
  };
};
