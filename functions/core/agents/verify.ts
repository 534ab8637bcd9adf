/**
 * Verification agent: re-measures the metrics the impact agent found failing, after the mitigation, and decides
 * whether they are back within the healthy baseline's noise. The state machine loops (wait → verify) until
 * recovered or `maxChecks` attempts (one more when the last verdict is "not yet", see below).
 *
 * What must recover: the service-level indicators that failed (latency, errors, throughput or users down —
 * what users feel). Saturation signals (CPU, memory, a pool in use) are checked only when no indicator failed:
 * a flash sale that keeps CPU at 86% after the bad change is rolled back is load, not an unresolved fault.
 * Plain load (throughput up) is never a failure (see `isFailureSignal`). Only services on the fault's path count
 * (`faultPath`: the root cause's service and its callers), so a bystander's wobble cannot hold a fixed incident open.
 *
 * Fair and noise-aware (per metric):
 * - Only fresh points count: minutes measured after the mitigation took effect (`mitigatedAt`), one per minute.
 *   A point from before the action says nothing about the fix. The evidence window ends at the later of now and
 *   the mitigation plus the time the workflow waited (`waitSeconds` × checks): on AWS that is now (the waits were
 *   real); on the laptop twin, compressed waits advance the simulated world's clock by the time they skipped, and
 *   the world model computes those minutes (noise and the mitigation's ramp included). A backend that has no such
 *   minutes simply returns fewer points: nothing is filled in.
 * - The statistic is the median of the newest `FRESH_POINTS` fresh points (so one noisy point neither passes nor
 *   fails a check), compared with the healthy baseline — the same series in the hour before the onset
 *   (`HEALTHY_WINDOW_MINUTES`, ending `HEALTHY_GUARD_MINUTES` before it) — as a robust z: (median − healthy
 *   median) / healthy robust σ (1.4826 × MAD, the detector's `robustBaseline`). Recovered when that z, in the
 *   direction the metric failed, is at most NOISE_Z (the impact detector's threshold), or the median is within
 *   REL_TOLERANCE of the healthy level (a flat series has a tiny σ), or no further out than a level the healthy hour
 *   itself held for FRESH_POINTS minutes (capped at twice that tolerance; see `recoveryBound`). Direction-aware:
 *   latency below its baseline is fine. Without a healthy window, the impact agent's baseline and σ stand in.
 * - Verdicts: `recovered`; `not yet` — fewer than FRESH_POINTS fresh minutes, or converging (the newest point is
 *   back in, or every fresh minute is closer to healthy than the last and over half the excursion is gone);
 *   `not recovered`. A "not yet" on the last check earns one more wait
 *   (GRACE_CHECKS), then the incident escalates: a fix whose effect has not shown is not called a success.
 * - A wrong fix leaves the metric where it was: its median stays out, so it ends exhausted (escalated), not RESOLVED.
 *
 * Every check records what was compared (the fresh window and its points, the healthy window, n, median, σ, z,
 * the bound) in the evidence's `data`.
 */
import * as z from 'zod';
import type { AgentDeps } from '../deps.ts';
import { type Anomaly, ExecutionOutput, ImpactOutput, type MetricCheck, RootCauseOutput, VerificationOutput } from '../model.ts';
import { isFailureSignal, isServiceLevelIndicator, isTrafficMetric } from '../analysis/hypotheses.ts';
import { callGraph, dependentsOf } from '../analysis/changes.ts';
import { type Baseline, DEFAULT_Z_THRESHOLD, median, robustBaseline } from '../analysis/metrics.ts';
import { type ActionJournal, mitigationSteps } from '../store/journal.ts';
import type { MetricSeries } from '../tools/ports.ts';
import { GRACE_CHECKS } from '../verify-policy.ts';
import { recordedNodes } from './recorded.ts';
import { EarlierAgentMissing } from './rootcause.ts';
import { runAgent, summarise } from './runtime.ts';

export const VerifyTask = z.object({
  incidentId: z.string().min(1).max(128),
  attempt: z.number().int().min(0),
  maxChecks: z.number().int().min(1).max(100),
  /** Seconds the workflow waits before each check (the Wait state's policy.verifyWaitSeconds), when it says. */
  waitSeconds: z.number().int().min(0).max(86_400).optional(),
});
export type VerifyTask = z.infer<typeof VerifyTask>;

export interface VerifyResult {
  readonly incidentId: string;
  readonly agent: 'verification';
  readonly summary: string;
  readonly attempt: number;
  readonly recovered: boolean;
  readonly exhausted: boolean;
}

/** A median within this fraction of the healthy level is recovered even when the healthy series was flat (tiny σ). */
export const REL_TOLERANCE = 0.25;
/** A value within this many robust standard deviations of the healthy median is noise (the detection threshold). */
export const NOISE_Z = DEFAULT_Z_THRESHOLD;
/** Fresh (post-mitigation) minutes the verdict needs, and the newest this many are the ones judged. */
export const FRESH_POINTS = 3;
export { GRACE_CHECKS } from '../verify-policy.ts';
/** How far back the window reaches when the mitigation time is unknown. */
export const RECENT_WINDOW_MINUTES = 10;

type Check = z.infer<typeof MetricCheck>;
export type Verdict = 'recovered' | 'not-yet' | 'not-recovered';

/**
 * When the healthy level was zero throughout (an error rate with no error in the hour before the onset), it measures
 * no noise: a robust σ of 0 would make one stray error after a fix "not recovered" on every check, and the workflow
 * would undo a fix that worked. Then the metric is recovered once this fraction or less of the incident's excursion
 * is left (0 → 30 % → 1 % is recovered; 0 → 30 % → 5 % is not).
 */
export const ZERO_LEVEL_EXCURSION = 0.1;

export interface HealthyReference extends Baseline {
  readonly source: 'healthy-window' | 'impact-baseline';
  /** The healthy level was exactly zero throughout (see ZERO_LEVEL_EXCURSION). */
  readonly zeroLevel?: boolean;
  /** The highest and lowest median of FRESH_POINTS consecutive healthy points: levels the healthy system itself held. */
  readonly heldHigh?: number;
  readonly heldLow?: number;
}

/** The healthy reference of one metric: the healthy window's robust baseline, or the impact agent's baseline and σ. */
export const healthyReference = (anomaly: Pick<Anomaly, 'baseline'>, healthy: readonly number[], impactScale = 0): HealthyReference => {
  if (healthy.length >= FRESH_POINTS) {
    const held = healthy.slice(FRESH_POINTS - 1).map((_, i) => median(healthy.slice(i, i + FRESH_POINTS)));
    const zeroLevel = healthy.every((v) => v === 0);
    return { ...robustBaseline(healthy), source: 'healthy-window', heldHigh: Math.max(...held), heldLow: Math.min(...held), ...(zeroLevel ? { zeroLevel } : {}) };
  }
  const scale = Math.max(impactScale, 0.05 * Math.abs(anomaly.baseline), 1e-6);
  const zeroLevel = anomaly.baseline === 0 && impactScale === 0;
  return { median: anomaly.baseline, mad: scale / 1.4826, scale, n: 0, source: 'impact-baseline', ...(zeroLevel ? { zeroLevel } : {}) };
};

/**
 * The healthy side's edge: the healthy median plus (or minus) the larger of NOISE_Z σ and REL_TOLERANCE of the level,
 * widened to the most extreme level the healthy window held for FRESH_POINTS minutes (a p99 whose slow wander took it
 * there while healthy is not unrecovered when it is there again) — but never beyond twice that tolerance.
 */
export const recoveryBound = (
  anomaly: Pick<Anomaly, 'direction'> & { readonly current?: number },
  reference: Pick<HealthyReference, 'median' | 'scale' | 'heldHigh' | 'heldLow' | 'zeroLevel'>,
): number => {
  const excursion = reference.zeroLevel && typeof anomaly.current === 'number' && Number.isFinite(anomaly.current) ? ZERO_LEVEL_EXCURSION * Math.abs(anomaly.current - reference.median) : 0;
  const tolerance = Math.max(NOISE_Z * reference.scale, REL_TOLERANCE * Math.abs(reference.median), excursion);
  if (anomaly.direction === 'up') return Math.max(reference.median + tolerance, Math.min(reference.heldHigh ?? -Infinity, reference.median + 2 * tolerance));
  return Math.min(reference.median - tolerance, Math.max(reference.heldLow ?? Infinity, reference.median - 2 * tolerance));
};

/** Whether `value` is on the healthy side of `bound` (a `recoveryBound`). */
const withinBound = (anomaly: Pick<Anomaly, 'direction'>, value: number, bound: number): boolean => (anomaly.direction === 'up' ? value <= bound : value >= bound);

export interface Judgement {
  readonly verdict: Verdict;
  /** The fresh points judged (newest FRESH_POINTS, one per minute) and how many fresh minutes there were. */
  readonly points: readonly { t: string; v: number }[];
  readonly fresh: number;
  readonly median?: number;
  /** Robust z of the median against the healthy reference, signed so that positive is towards the failure. */
  readonly z?: number;
  readonly bound: number;
  readonly reason: string;
}

/** One value per minute (the last in each minute): a backend's extra "current" point shares its minute's noise. */
const perMinute = (points: readonly { t: string; v: number }[]): { t: string; v: number }[] => {
  const byMinute = new Map<number, { t: string; v: number }>();
  for (const p of points) {
    const t = Date.parse(p.t);
    if (!Number.isNaN(t) && Number.isFinite(p.v)) byMinute.set(Math.floor(t / 60_000), p);
  }
  return [...byMinute.entries()].sort((x, y) => x[0] - y[0]).map(([, p]) => p);
};

/**
 * The verdict for one metric from its points after the mitigation (`since`, exclusive: a point stamped at the action
 * is from before it took effect) against the healthy reference. See the module comment.
 */
export const judgeRecovery = (
  anomaly: Pick<Anomaly, 'direction'> & { readonly current?: number },
  points: readonly { t: string; v: number }[],
  since: number | undefined,
  reference: Pick<HealthyReference, 'median' | 'scale' | 'heldHigh' | 'heldLow' | 'zeroLevel'>,
): Judgement => {
  const fresh = perMinute(points.filter((p) => since === undefined || Date.parse(p.t) > since));
  const judged = fresh.slice(-FRESH_POINTS);
  const bound = recoveryBound(anomaly, reference);
  if (judged.length === 0) return { verdict: 'not-yet', points: [], fresh: 0, bound, reason: 'no data after the mitigation yet' };
  const m = median(judged.map((p) => p.v));
  const sign = anomaly.direction === 'up' ? 1 : -1;
  const zValue = (sign * (m - reference.median)) / reference.scale;
  const within = withinBound(anomaly, m, bound);
  const base = { points: judged, fresh: fresh.length, median: m, z: zValue, bound };
  if (judged.length < FRESH_POINTS) return { ...base, verdict: 'not-yet', reason: `${judged.length} of ${FRESH_POINTS} fresh minutes after the mitigation` };
  if (within) return { ...base, verdict: 'recovered', reason: `median of the last ${judged.length} minutes within the healthy noise` };
  const newest = judged.at(-1) as { v: number };
  if (withinBound(anomaly, newest.v, bound)) return { ...base, verdict: 'not-yet', reason: 'converging: the newest minute is back in, the median is not yet' };
  // Still ramping down (a slow rollout, a cache warming): every fresh minute closer to healthy than the one before,
  // and the newest past half of the excursion. Not a failure yet; the grace check and then the limit still bound it.
  const distance = (v: number) => sign * (v - reference.median);
  const improving = judged.every((p, i) => i === 0 || distance(p.v) < distance((judged[i - 1] as { v: number }).v));
  if (anomaly.current !== undefined && improving && distance(newest.v) <= distance(anomaly.current) / 2)
    return { ...base, verdict: 'not-yet', reason: 'converging: every fresh minute closer to healthy, more than half of the excursion gone' };
  return { ...base, verdict: 'not-recovered', reason: `median of the last ${judged.length} minutes still outside the healthy noise` };
};

/**
 * The anomalies that must recover: the failing service-level indicators, or every failure signal when no
 * indicator failed (a saturation-only incident), or every anomaly when none is a failure signal.
 */
export const metricsToVerify = (anomalies: readonly Anomaly[]): Anomaly[] => {
  const failures = anomalies.filter(isFailureSignal);
  const indicators = failures.filter((a) => isServiceLevelIndicator(a.metric) || isTrafficMetric(a.metric));
  return indicators.length > 0 ? indicators : failures.length > 0 ? failures : [...anomalies];
};

/**
 * The services on the fault's path: the root cause's service and everything that calls it, transitively (the
 * topology the root-cause agent recorded). A bystander — a database whose p99 wobbled because a caller retried,
 * a cache beside the faulty service — is no part of the incident, and a fix is not judged by it. Undefined (check
 * everything) when the root cause abstained or the topology is unknown.
 */
export const faultPath = (rootcause: { output: RootCauseOutput; evidence: readonly { kind: string; data?: unknown }[] } | undefined): Set<string> | undefined => {
  const top = rootcause?.output.rootCauses[0];
  if (!rootcause || rootcause.output.abstained || !top) return undefined;
  const nodes = recordedNodes(rootcause.evidence);
  if (nodes.length === 0) return undefined;
  return new Set([top.service, ...dependentsOf(callGraph(nodes), top.service)]);
};

/** The baseline's robust σ the impact agent recorded for a series (evidence `metric:<service>:<metric>`). */
const scaleOf = (evidence: readonly { id: string; data?: unknown }[], service: string, metric: string): number => {
  const data = evidence.find((e) => e.id === `metric:${service}:${metric}`)?.data as { scale?: unknown } | undefined;
  const scale = Number(data?.scale);
  return Number.isFinite(scale) && scale > 0 ? scale : 0;
};

/** How far before the onset the healthy range is read. */
export const HEALTHY_WINDOW_MINUTES = 60;
/** Minutes just before the onset left out of the healthy range (an onset is dated to the minute). */
export const HEALTHY_GUARD_MINUTES = 5;

/**
 * When the mitigation took effect, as far as the records say: the later of the execution record's `executedAt` and
 * the action journal's forward steps (completed, or claimed when the outcome is unknown). The journal covers an
 * executor that died after acting and before writing its record — a rerun then verifies with no execution record,
 * and points from before the action must not decide.
 */
export const mitigatedAt = async (journal: Pick<ActionJournal, 'list'> | undefined, incidentId: string, execution: ExecutionOutput | undefined): Promise<number | undefined> => {
  const steps = journal ? mitigationSteps(await journal.list(incidentId)) : [];
  const times = [execution?.executedAt, ...steps.map((e) => e.completedAt ?? e.claimedAt)].map((t) => Date.parse(t ?? '')).filter((t) => !Number.isNaN(t));
  return times.length > 0 ? Math.max(...times) : undefined;
};

export const verifyRecovery =
  (deps: AgentDeps & { readonly journal?: Pick<ActionJournal, 'list'> }) =>
  async ({ incidentId, attempt, maxChecks, waitSeconds }: VerifyTask): Promise<VerifyResult> => {
    let notYet = false;
    // Why each unrecovered metric is not (yet) recovered, for the summary an operator reads on every check.
    const reasons = new Map<string, string>();
    const { output } = await runAgent(deps, 'verification', incidentId, async ({ scope, evidence, earlier }) => {
      const impact = earlier.output('impact', ImpactOutput);
      if (!impact) throw new EarlierAgentMissing('impact', incidentId);
      // Recovery means what users feel is healthy again; more load (a sale that is still running) is not a fault,
      // and neither is a bystander's wobble off the fault's path.
      const rootcause = earlier.output('rootcause', RootCauseOutput);
      const onPath = faultPath(rootcause);
      const anomalies = metricsToVerify(onPath ? impact.output.anomalies.filter((a) => onPath.has(a.service)) : impact.output.anomalies);
      const since = await mitigatedAt(deps.journal, incidentId, earlier.output('execution', ExecutionOutput)?.output);
      const now = deps.clock();
      // The window: from the mitigation (or RECENT_WINDOW_MINUTES back) to the later of now and the time the workflow
      // has waited since the mitigation. On AWS that is now; on the twin, compressed waits advanced the world's clock
      // by as much, and the world answers up to its own now (never beyond).
      const waited = since !== undefined && waitSeconds !== undefined ? since + (attempt + 1) * waitSeconds * 1000 : 0;
      const to = Math.max(now.getTime(), waited);
      const from = since !== undefined ? Math.min(since, to - RECENT_WINDOW_MINUTES * 60_000) : to - RECENT_WINDOW_MINUTES * 60_000;
      const services = [...new Set(anomalies.map((a) => a.service))];
      const metrics = [...new Set(anomalies.map((a) => a.metric))];
      const series =
        anomalies.length === 0
          ? []
          : ((await evidence.call('telemetry.queryMetrics', () =>
              deps.tools.telemetry.queryMetrics({ ...scope, from: new Date(from).toISOString(), to: new Date(to).toISOString(), services, metrics }),
            )) ?? []);
      // The healthy range: the same series in the hour before the fault began.
      const onsets = anomalies.map((a) => Date.parse(a.onset ?? '')).filter((t) => !Number.isNaN(t));
      const healthyEnd = onsets.length > 0 ? Math.min(...onsets) - HEALTHY_GUARD_MINUTES * 60_000 : undefined;
      const healthyStart = healthyEnd === undefined ? undefined : healthyEnd - HEALTHY_WINDOW_MINUTES * 60_000;
      const healthySeries =
        healthyEnd === undefined || healthyStart === undefined || anomalies.length === 0
          ? []
          : ((await evidence.call('telemetry.queryMetrics', () =>
              deps.tools.telemetry.queryMetrics({ ...scope, from: new Date(healthyStart).toISOString(), to: new Date(healthyEnd).toISOString(), services, metrics }),
            )) ?? []);
      const verdicts: Verdict[] = [];
      const checks: Check[] = anomalies.map((a) => {
        const id = `metric:${a.service}:${a.metric}`;
        const points = series.find((x) => x.service === a.service && x.metric === a.metric)?.points ?? [];
        const healthy = healthySeries.find((x) => x.service === a.service && x.metric === a.metric)?.points.map((p) => p.v).filter(Number.isFinite) ?? [];
        const reference = healthyReference(a, healthy, scaleOf(impact.evidence, a.service, a.metric));
        const j = judgeRecovery(a, points, since, reference);
        verdicts.push(j.verdict);
        const recovered = j.verdict === 'recovered';
        if (!recovered) reasons.set(`${a.service}\u0000${a.metric}`, j.reason);
        const now = j.median === undefined ? 'no data after the mitigation' : `median ${round(j.median)} of ${j.points.length} fresh minute(s), z ${round(j.z ?? 0)}`;
        evidence.add({
          id,
          kind: 'metric',
          source: 'telemetry',
          summary: `${a.service} ${a.metric}: healthy ${round(reference.median)} ± ${round(reference.scale)} (σ), during ${a.current}, now ${now} (healthy ${a.direction === 'up' ? '≤' : '≥'} ${round(j.bound)}) → ${j.verdict === 'recovered' ? 'recovered' : j.verdict === 'not-yet' ? `not yet (${j.reason})` : 'not recovered'}`,
          data: {
            verdict: j.verdict,
            reason: j.reason,
            statistic: `robust z of the median of the newest ${FRESH_POINTS} post-mitigation minutes vs the healthy window (threshold ${NOISE_Z}, or within ${REL_TOLERANCE * 100}% of the healthy level)`,
            mitigatedAt: since === undefined ? null : new Date(since).toISOString(),
            window: { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
            freshMinutes: j.fresh,
            points: j.points,
            median: j.median ?? null,
            z: j.z ?? null,
            bound: j.bound,
            healthy: { source: reference.source, from: healthyStart === undefined ? null : new Date(healthyStart).toISOString(), to: healthyEnd === undefined ? null : new Date(healthyEnd).toISOString(), n: reference.n, median: reference.median, scale: reference.scale, heldHigh: reference.heldHigh ?? null, heldLow: reference.heldLow ?? null },
          },
        });
        return { service: a.service, metric: a.metric, baseline: round(reference.median), before: a.current, after: j.median === undefined ? Number.NaN : round(j.median), recovered, evidenceIds: [id] };
      });
      // "Not yet": nothing failed with enough data, something still lacks fresh minutes or is converging.
      notYet = verdicts.includes('not-yet') && !verdicts.includes('not-recovered');
      // JSON has no NaN: a metric without data is stored with `after` = -1 and recovered false.
      const stored = checks.map((c) => (Number.isNaN(c.after) ? { ...c, after: -1 } : c));
      const offline: VerificationOutput = { attempt: attempt + 1, recovered: checks.every((c) => c.recovered), checks: stored, checkedAt: now.toISOString() };
      return { schema: VerificationOutput, instructions: 'Report whether every anomalous metric is back within the healthy baseline\'s noise, judged on minutes after the mitigation only.', offline };
    }, ['impact', 'rootcause', 'execution']);

    const next = attempt + 1;
    // One more wait when the last verdict is "not yet" (bounded by GRACE_CHECKS), then escalate.
    const limit = maxChecks + (notYet && !output.recovered ? GRACE_CHECKS : 0);
    const exhausted = !output.recovered && next >= limit;
    const pending = output.checks.filter((c) => !c.recovered);
    await deps.store.updateIncident(incidentId, { status: 'VERIFYING' });
    const summary = output.recovered
      ? `Recovered on check ${next}: ${output.checks.map((c) => `${c.service} ${c.metric} ${c.before} → ${c.after} (healthy ${c.baseline})`).join('; ')}`
      : `${notYet ? 'Not yet recovered' : 'Not recovered'} on check ${next}/${limit}: ${pending.map((c) => `${c.service} ${c.metric} ${c.after < 0 ? 'no data after the mitigation' : c.after} vs healthy ${c.baseline}${reasons.has(`${c.service}\u0000${c.metric}`) ? ` (${reasons.get(`${c.service}\u0000${c.metric}`)})` : ''}`).join('; ') || 'no anomalous metric to check'}${exhausted ? ' — giving up' : ''}`;
    await deps.store.appendEvent(incidentId, { type: 'verification', message: summary, actor: 'autopilot', data: { attempt: next, recovered: output.recovered, exhausted, notYet } });
    return { ...summarise(incidentId, 'verification', summary), agent: 'verification', attempt: next, recovered: output.recovered, exhausted };
  };

const round = (v: number) => Math.round(v * 100) / 100;
