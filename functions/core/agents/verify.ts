/**
 * Verification agent: re-measures the metrics the impact agent found failing and compares their latest value
 * with the baseline. The state machine loops (wait → verify) until recovered or `maxChecks` attempts.
 *
 * What must recover: the service-level indicators that failed (latency, errors, throughput or users down —
 * what users feel). Saturation signals (CPU, memory, a pool in use) are checked only when no indicator failed:
 * a flash sale that keeps CPU at 86% after the bad change is rolled back is load, not an unresolved fault.
 * Plain load (throughput up) is never a failure (see `isFailureSignal`). Only services on the fault's path count
 * (`faultPath`: the root cause's service and its callers), so a bystander's wobble cannot hold a fixed incident open.
 *
 * Recovery band (per metric): a metric has recovered when its latest value (the median of the last
 * `LATEST_POINTS` points, so one noisy point neither passes nor fails a check) is back on the healthy side of
 *
 *     baseline ± max(REL_TOLERANCE · |baseline|, EXCURSION_TOLERANCE · |anomalous − baseline|, NOISE_Z · scale)
 *
 * i.e. within 25% of the baseline, or with at least 90% of the excursion gone (for near-zero baselines such
 * as an error rate of 0.1%), or within the band the anomaly detector itself calls normal: `scale` is the
 * baseline's robust standard deviation the impact agent measured, and NOISE_Z its detection threshold. An
 * error rate whose minute-to-minute noise is ±30% must not be held to ±25%. Direction-aware: for a metric that went up, anything
 * below the upper edge is recovered (latency below the baseline is fine); for one that went down, anything
 * above the lower edge. A metric with no recent data has not recovered: we cannot confirm it. With no
 * anomalous metric at all there is nothing to wait for, and the check passes.
 *
 * The band is widened to the range the metric showed while healthy (`healthyEdge`: its most extreme value in
 * the hour before the onset), because a p99 that spiked now and then before the incident is not unrecovered when
 * it spikes once more — but never beyond half the excursion, so a metric still half-way to its anomalous level
 * is not called recovered because the baseline window caught the start of the fault.
 */
import * as z from 'zod';
import type { AgentDeps } from '../deps.ts';
import { type Anomaly, ExecutionOutput, ImpactOutput, type MetricCheck, RootCauseOutput, VerificationOutput } from '../model.ts';
import { isFailureSignal, isServiceLevelIndicator, isTrafficMetric } from '../analysis/hypotheses.ts';
import { callGraph, dependentsOf } from '../analysis/changes.ts';
import { DEFAULT_Z_THRESHOLD, median } from '../analysis/metrics.ts';
import { type ActionJournal, mitigationSteps } from '../store/journal.ts';
import type { MetricSeries } from '../tools/ports.ts';
import { recordedNodes } from './recorded.ts';
import { EarlierAgentMissing } from './rootcause.ts';
import { runAgent, summarise } from './runtime.ts';

export const VerifyTask = z.object({
  incidentId: z.string().min(1).max(128),
  attempt: z.number().int().min(0),
  maxChecks: z.number().int().min(1).max(100),
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

export const REL_TOLERANCE = 0.25;
export const EXCURSION_TOLERANCE = 0.1;
/** A value within this many robust standard deviations of the baseline is noise (the detection threshold). */
export const NOISE_Z = DEFAULT_Z_THRESHOLD;
export const LATEST_POINTS = 3;
/** How far back "latest" reaches. */
export const RECENT_WINDOW_MINUTES = 10;

type Check = z.infer<typeof MetricCheck>;

/**
 * The healthy side of the band for one anomaly (see the module comment); `scale` is the baseline's robust σ, and
 * `healthy` the values the metric showed before the fault, which widen the band to `healthyEdge`.
 */
export const recoveryBound = (anomaly: Pick<Anomaly, 'baseline' | 'current' | 'direction'>, scale = 0, healthy: readonly number[] = []): number => {
  const tolerance = Math.max(REL_TOLERANCE * Math.abs(anomaly.baseline), EXCURSION_TOLERANCE * Math.abs(anomaly.current - anomaly.baseline), NOISE_Z * Math.max(0, scale));
  const band = anomaly.direction === 'up' ? anomaly.baseline + tolerance : anomaly.baseline - tolerance;
  const edge = healthyEdge(anomaly, healthy);
  if (edge === undefined) return band;
  return anomaly.direction === 'up' ? Math.max(band, edge) : Math.min(band, edge);
};

/** Whether `latest` is on the healthy side of `bound` (a `recoveryBound`). */
const withinBound = (anomaly: Pick<Anomaly, 'direction'>, latest: number, bound: number): boolean => (anomaly.direction === 'up' ? latest <= bound : latest >= bound);

export const isRecovered = (anomaly: Pick<Anomaly, 'baseline' | 'current' | 'direction'>, latest: number, scale = 0, healthy: readonly number[] = []): boolean =>
  withinBound(anomaly, latest, recoveryBound(anomaly, scale, healthy));

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

/** The most extreme healthy value in the direction of the anomaly, capped at half the excursion. */
export const healthyEdge = (anomaly: Pick<Anomaly, 'baseline' | 'current' | 'direction'>, healthy: readonly number[]): number | undefined => {
  if (healthy.length === 0) return undefined;
  const halfway = (anomaly.baseline + anomaly.current) / 2;
  return anomaly.direction === 'up' ? Math.min(Math.max(...healthy), halfway) : Math.max(Math.min(...healthy), halfway);
};

/**
 * The latest value: the median of the newest `LATEST_POINTS` points measured after the mitigation ran
 * (`since`, inclusive), so neither a pre-action point nor one noisy point decides. Points from before the action say
 * nothing about recovery; if the backend has none after it yet, there is no data and the check waits.
 */
const latestValue = (series: MetricSeries | undefined, since: number | undefined): number | undefined => {
  const points = (series?.points ?? []).filter((p) => since === undefined || Date.parse(p.t) >= since);
  if (points.length === 0) return undefined;
  return median(points.slice(-LATEST_POINTS).map((p) => p.v));
};

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
  async ({ incidentId, attempt, maxChecks }: VerifyTask): Promise<VerifyResult> => {
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
      const services = [...new Set(anomalies.map((a) => a.service))];
      const metrics = [...new Set(anomalies.map((a) => a.metric))];
      const series =
        anomalies.length === 0
          ? []
          : ((await evidence.call('telemetry.queryMetrics', () =>
              deps.tools.telemetry.queryMetrics({ ...scope, from: new Date(now.getTime() - RECENT_WINDOW_MINUTES * 60_000).toISOString(), to: now.toISOString(), services, metrics }),
            )) ?? []);
      // The healthy range: the same series in the hour before the fault began.
      const onsets = anomalies.map((a) => Date.parse(a.onset ?? '')).filter((t) => !Number.isNaN(t));
      const healthyEnd = onsets.length > 0 ? Math.min(...onsets) - HEALTHY_GUARD_MINUTES * 60_000 : undefined;
      const healthySeries =
        healthyEnd === undefined || anomalies.length === 0
          ? []
          : ((await evidence.call('telemetry.queryMetrics', () =>
              deps.tools.telemetry.queryMetrics({ ...scope, from: new Date(healthyEnd - HEALTHY_WINDOW_MINUTES * 60_000).toISOString(), to: new Date(healthyEnd).toISOString(), services, metrics }),
            )) ?? []);
      const checks: Check[] = anomalies.map((a) => {
        const id = `metric:${a.service}:${a.metric}`;
        const s = series.find((x) => x.service === a.service && x.metric === a.metric);
        const latest = latestValue(s, since);
        if (latest === undefined) {
          evidence.add({ id, kind: 'metric', source: 'telemetry', summary: `${a.service} ${a.metric}: no recent data` });
          return { service: a.service, metric: a.metric, baseline: a.baseline, before: a.current, after: Number.NaN, recovered: false, evidenceIds: [id] };
        }
        const scale = scaleOf(impact.evidence, a.service, a.metric);
        const healthy = healthySeries.find((x) => x.service === a.service && x.metric === a.metric)?.points.map((p) => p.v) ?? [];
        const bound = recoveryBound(a, scale, healthy);
        const recovered = withinBound(a, latest, bound);
        evidence.add({
          id,
          kind: 'metric',
          source: 'telemetry',
          summary: `${a.service} ${a.metric}: baseline ${a.baseline}, during ${a.current}, now ${round(latest)} (healthy ${a.direction === 'up' ? '≤' : '≥'} ${round(bound)}) → ${recovered ? 'recovered' : 'not recovered'}`,
        });
        return { service: a.service, metric: a.metric, baseline: a.baseline, before: a.current, after: round(latest), recovered, evidenceIds: [id] };
      });
      // JSON has no NaN: a metric without data is stored with `after` = -1 and recovered false.
      const stored = checks.map((c) => (Number.isNaN(c.after) ? { ...c, after: -1 } : c));
      const offline: VerificationOutput = { attempt: attempt + 1, recovered: checks.every((c) => c.recovered), checks: stored, checkedAt: now.toISOString() };
      return { schema: VerificationOutput, instructions: 'Report whether every anomalous metric is back within its recovery band.', offline };
    }, ['impact', 'rootcause', 'execution']);

    const next = attempt + 1;
    const exhausted = !output.recovered && next >= maxChecks;
    const pending = output.checks.filter((c) => !c.recovered);
    await deps.store.updateIncident(incidentId, { status: 'VERIFYING' });
    const summary = output.recovered
      ? `Recovered on check ${next}: ${output.checks.map((c) => `${c.service} ${c.metric} ${c.before} → ${c.after} (baseline ${c.baseline})`).join('; ')}`
      : `Not recovered on check ${next}/${maxChecks}: ${pending.map((c) => `${c.service} ${c.metric} ${c.after < 0 ? 'no data' : c.after} vs baseline ${c.baseline}`).join('; ') || 'no anomalous metric to check'}${exhausted ? ' — giving up' : ''}`;
    await deps.store.appendEvent(incidentId, { type: 'verification', message: summary, actor: 'autopilot', data: { attempt: next, recovered: output.recovered, exhausted } });
    return { ...summarise(incidentId, 'verification', summary), agent: 'verification', attempt: next, recovered: output.recovered, exhausted };
  };

const round = (v: number) => Math.round(v * 100) / 100;
