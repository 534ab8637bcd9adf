/**
 * Self-detection: every minute (an EventBridge Scheduler schedule on AWS, a timer on the twin), read the signals of
 * the configured services through the telemetry port, score them with the project's causal anomaly detector
 * (functions/core/analysis/detector.ts) and, where an SLO objective is set, the multi-window burn rate of their error
 * rate, and open incidents through the core intake (functions/core/intake/intake.ts) like any alert: source
 * `detector`, one alert identity per (environment, service), deduplicated and correlated as a vendor's would be.
 *
 * Why stateless: a Lambda keeps nothing between runs, so each run scores a look-back window (`LOOKBACK_MINUTES` of
 * one-minute points: the detector scores nothing before its 100-point warm-up, and its statistics need 70 points of
 * their own history) and decides on its last minutes. What must outlive a run lives in the incident store: the alert
 * identity's pointer and the alerts it delivered, whose tags carry the baseline the detection was made against.
 *
 * A service is anomalous now when one of its metrics is, in its bad direction (`BAD_DIRECTION`: latency up, error
 * rate up, cache hit ratio down, …), for a sustained stretch, not one noisy point: the last `CONFIRM_POINTS` points
 * (a target's `confirmMinutes`) all score at least `SUSTAIN_SCORE` (p ≤ 1 %, the detector's own re-arm level), the
 * stretch they end reached the detector's paging threshold (`DEFAULT_ALERT_THRESHOLD`, p ≤ 10⁻⁴ by the series' own
 * recent past), and the change is large enough to matter on each of those points (`MIN_EFFECT`: a short look-back
 * makes small ordinary moves look rare) — or when both windows of one of the target's SLO burn-rate conditions burn
 * the error budget at least that fast (Google SRE workbook, "Alerting on SLOs": 14.4× over 1 h and 5 min, 6× over
 * 6 h and 30 min). Then the run sends an OPEN alert for the service:
 * the first opens (or correlates into the service's open incident). While the same episode lasts, the next runs send
 * nothing once its incident is fully opened (a delivery a minute would only fill the timeline), and send it again while
 * the opening is unfinished — the repeat completes an opening a failed run left half done, as a vendor's repeat does.
 *
 * One fault, one incident: anomalous services connected by calls between them (a fault's callers inherit its errors and
 * latency) are one group (`anomalyGroups`), and the run sends one alert for it, for the member whose identity already
 * has an open episode, else the deepest member (it calls no other member: where the fault most likely is). The other
 * members are in its description and its `detector.related` tag, and reported `grouped` into it.
 *
 * The detector learns a level that persists (that is its design: an incident pages once), so a run cannot tell
 * "still broken" from its scores alone once a fault is old. Recovery is therefore judged against the baseline the
 * detection recorded: while the service's identity is open and the service is not anomalous now, the run reads the
 * identity's first OPEN delivery of the episode and sends RESOLVED only once each of its signals is back within its
 * baseline band for `RECOVERY_POINTS` minutes (the SLO's: its shortest window no longer burns at the paging rate) —
 * or once the incident is closed and the detector sees nothing any more. RESOLVED goes through the intake's resolve
 * path (a pending approval is withdrawn: self-recovered).
 *
 * A target whose telemetry fails is reported and skipped; the others still run. A target whose environment does not
 * exist (the twin's `live` world before anyone created it) is skipped quietly (`skipped`, not `failed`).
 *
 * One identity per (environment, service) for good: after a RESOLVED incident, a new anomaly re-fires it and the
 * store opens a new incident (`refiresAnew`); while the incident is ESCALATED or FAILED (humans own it) a new anomaly
 * folds into it, as any vendor's re-fired alert does, until people close it or the pointer's TTL ends.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod';
import { DEFAULT_ALERT_THRESHOLD, detectSeries } from '../core/analysis/detector.ts';
import type { NormalizedItem } from '../core/alerts/common.ts';
import { ConfigError, type Env, envValue } from '../core/config.ts';
import type { Observability } from '../core/handler.ts';
import { type IngestOutcome, type IntakeDeps, intakeAlerts } from '../core/intake/intake.ts';
import { DETECTOR_SOURCE, NormalizedAlert, type Severity, TERMINAL_STATUSES } from '../core/model.ts';
import type { AlertIntakeStore, IncidentMeta } from '../core/store/store.ts';
import { openingPublished } from '../core/store/dynamo-store.ts';
import { METRICS, type MetricSeries, type ServiceNode, type Telemetry, UnknownEnvironment } from '../core/tools/ports.ts';

// ───────────────────────────── configuration ─────────────────────────────

/** The variable the targets come from (a JSON list). */
export const DETECTOR_TARGETS = 'DETECTOR_TARGETS';

/** One burn-rate condition: pages when both windows burn the error budget at least `burnRate` times as fast as allowed. */
export const BurnWindow = z
  .object({
    longMinutes: z.number().int().min(2).max(1440),
    shortMinutes: z.number().int().min(1).max(1440),
    burnRate: z.number().positive().max(10_000),
  })
  .strict()
  .refine((w) => w.shortMinutes < w.longMinutes, { message: 'shortMinutes must be shorter than longMinutes', path: ['shortMinutes'] });
export type BurnWindow = z.infer<typeof BurnWindow>;

/** Google SRE workbook, "Alerting on SLOs", multiwindow multi-burn-rate alerts: the two paging conditions. */
export const DEFAULT_BURN_WINDOWS: readonly BurnWindow[] = [
  { longMinutes: 60, shortMinutes: 5, burnRate: 14.4 },
  { longMinutes: 360, shortMinutes: 30, burnRate: 6 },
];

export const SloObjective = z
  .object({
    /** The availability objective in percent of requests that succeed (99.9: an error budget of 0.1 %). */
    objectivePct: z.number().gt(0).lt(100),
    /** @default DEFAULT_BURN_WINDOWS */
    windows: z.array(BurnWindow).min(1).max(4).optional(),
  })
  .strict();
export type SloObjective = z.infer<typeof SloObjective>;

const Name = z.string().min(1).max(256);

export const DetectorTarget = z
  .object({
    /** The environment the services live in, as the telemetry port scopes it (a simulated world id, a Dynatrace zone…); also the incidents' `environment`. */
    environment: Name,
    /** @default every service of the environment's topology (telemetry.getTopology), at most MAX_SERVICES_PER_TARGET */
    services: z.array(Name).min(1).max(200).optional(),
    /** @default DEFAULT_DETECTOR_METRICS */
    metrics: z.array(Name).min(1).max(20).optional(),
    /** An SLO on the services' error rate: also page on its burn rate. */
    slo: SloObjective.optional(),
    /**
     * The last minutes that must all be anomalous (`CONFIRM_POINTS` by default): fewer detects sooner and pages on
     * shorter blips; bench/detection.ts measures the default.
     */
    confirmMinutes: z.number().int().min(1).max(30).optional(),
  })
  .strict();
export type DetectorTarget = z.infer<typeof DetectorTarget>;

export const DetectorTargets = z
  .array(DetectorTarget)
  .max(20)
  .superRefine((targets, ctx) => {
    const seen = new Set<string>();
    targets.forEach((t, i) => {
      if (seen.has(t.environment)) ctx.addIssue({ code: 'custom', path: [i, 'environment'], message: `environment "${t.environment}" is listed twice` });
      seen.add(t.environment);
    });
  });

/**
 * The targets from DETECTOR_TARGETS (unset or blank: none, the run does nothing). A value that is not JSON, or not a
 * list of targets, is a ConfigError naming the variable and each problem's path: the function fails at cold start.
 */
export const parseDetectorTargets = (env: Env): DetectorTarget[] => {
  const raw = envValue(env, DETECTOR_TARGETS);
  if (raw === undefined) return [];
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new ConfigError(`invalid configuration: ${DETECTOR_TARGETS} is not JSON (${(error as Error).message}); expected a list like [{"environment":"prod","services":["checkout"]}]`);
  }
  const parsed = DetectorTargets.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(list)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${DETECTOR_TARGETS}: ${problems}`);
  }
  return parsed.data;
};

// ───────────────────────────── detection ─────────────────────────────

/** The metrics scored by default: the golden signals and the saturation signals the adapters map. */
export const DEFAULT_DETECTOR_METRICS: readonly string[] = [METRICS.latencyP99, METRICS.errorRate, METRICS.throughput, METRICS.cpu, METRICS.memory, METRICS.dbPoolActive, METRICS.cacheHitRatio];

/** Which way a metric goes when something is wrong; a metric not listed counts both ways. */
export const BAD_DIRECTION: Readonly<Record<string, 'up' | 'down' | 'both'>> = {
  [METRICS.latencyP99]: 'up',
  [METRICS.errorRate]: 'up',
  [METRICS.throughput]: 'both',
  [METRICS.cpu]: 'up',
  [METRICS.memory]: 'up',
  [METRICS.dbPoolActive]: 'up',
  [METRICS.cacheHitRatio]: 'down',
};

/**
 * The least change that counts, per metric, in units of the baseline (`relative`) or of the metric (`absolute`, for
 * percentages): the larger applies. A statistically unusual but small move (CPU 41 → 48 % as the day's traffic
 * rises, memory +4 % through a GC cycle) is the world's ordinary behaviour, not an incident. Measured on the simulated
 * world (bench/detection.ts): with no margin a quiet world paged several times an hour; with it on the median of the
 * confirming minutes, twice a day; on each of them, 0.33 a day (6 world-days).
 */
export const MIN_EFFECT: Readonly<Record<string, { readonly relative?: number; readonly absolute?: number }>> = {
  [METRICS.latencyP99]: { relative: 0.25 },
  [METRICS.errorRate]: { absolute: 1 },
  [METRICS.throughput]: { relative: 0.25 },
  [METRICS.cpu]: { relative: 0.25, absolute: 5 },
  [METRICS.memory]: { relative: 0.15 },
  [METRICS.dbPoolActive]: { relative: 0.25 },
  [METRICS.cacheHitRatio]: { absolute: 5 },
};
const DEFAULT_MIN_EFFECT = { relative: 0.25 };

/** Minutes of one-minute points scored each run: the detector's warm-up (100) plus its scored past. */
export const LOOKBACK_MINUTES = 240;
/**
 * The last points that must all be anomalous: a sustained anomaly, not one noisy point. Measured (bench/detection.ts,
 * 28 faults, 6 quiet world-days): 3 → median delay 3 min, 0.33 false alarms a world-day; 2 → 2 min, 1.8 a day.
 */
export const CONFIRM_POINTS = 3;
/** What "anomalous" means for those points: p ≤ 1 % (the detector's re-arm level). */
export const SUSTAIN_SCORE = 0.99;
/** Pre-onset points needed to state a baseline. */
const MIN_BASELINE_POINTS = 20;
/** Recovery: this many last minutes back within the baseline band. */
export const RECOVERY_POINTS = 5;
/** The baseline band: this many robust scales around the baseline … */
export const RECOVERY_SCALES = 4;
/** … and never narrower than this share of the baseline (a very steady series would otherwise never recover). */
export const RECOVERY_RELATIVE = 0.1;
/** Services scored per target at most (a topology can be large; list them in `services` to choose). */
export const MAX_SERVICES_PER_TARGET = 50;

/** One signal found anomalous: the detection's evidence. */
export interface Signal {
  readonly kind: 'anomaly' | 'slo-burn';
  readonly metric: string;
  readonly unit: string;
  /** The latest value (anomaly), or the error rate over the condition's short window (slo-burn). */
  readonly value: number;
  /** The median before the onset (anomaly), or the error rate the objective allows (slo-burn). */
  readonly baseline: number;
  /** Robust scale of the baseline (IQR/1.349), for the recovery band; 0 for slo-burn. */
  readonly scale: number;
  /** The detector's score at its peak in the stretch (anomaly); the long window's burn over the condition's rate (slo-burn). */
  readonly score: number;
  readonly direction: 'up' | 'down';
  /** The first anomalous minute (ISO 8601). */
  readonly onset: string;
  /** slo-burn: both windows' burn rates and the condition. */
  readonly burn?: { readonly long: number; readonly short: number; readonly window: BurnWindow; readonly objectivePct: number };
}

const round = (v: number, digits = 4): number => Number(v.toPrecision(digits));

const medianOf = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const quantile = (sorted: readonly number[], q: number): number => {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
};
/** IQR/1.349, else the mean absolute deviation × 1.2533, else a tiny share of the level. */
const robustScale = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const iqr = quantile(s, 0.75) - quantile(s, 0.25);
  if (iqr > 0) return iqr / 1.349;
  const m = medianOf(values);
  const mad = values.reduce((sum, v) => sum + Math.abs(v - m), 0) / values.length;
  return Math.max(mad * 1.2533, 1e-6 * Math.max(1, Math.abs(m)));
};

/**
 * The anomaly of one series now, if it has one: scored by the causal detector over the whole look-back, its last
 * CONFIRM_POINTS at SUSTAIN_SCORE or more, the stretch they end (a one-point dip bridged) peaking at the paging
 * threshold, in the metric's bad direction, with a baseline before it.
 */
export const anomalyNow = (series: MetricSeries, confirm = CONFIRM_POINTS, threshold = DEFAULT_ALERT_THRESHOLD): Signal | undefined => {
  const points = series.points.filter((p) => Number.isFinite(p.v));
  if (points.length < 100 + confirm) return undefined;
  const values = points.map((p) => p.v);
  const times = points.map((p) => Date.parse(p.t));
  const { scores } = detectSeries(values, {}, times.every(Number.isFinite) ? times : undefined);
  const n = scores.length;
  for (let i = n - confirm; i < n; i++) if ((scores[i] as number) < SUSTAIN_SCORE) return undefined;
  let start = n - confirm;
  while (start > 0 && ((scores[start - 1] as number) >= SUSTAIN_SCORE || (start > 1 && (scores[start - 2] as number) >= SUSTAIN_SCORE))) start -= 1;
  let peak = 0;
  for (let i = start; i < n; i++) peak = Math.max(peak, scores[i] as number);
  if (peak < threshold) return undefined;
  const before = values.slice(0, start);
  if (before.length < MIN_BASELINE_POINTS) return undefined;
  const baseline = medianOf(before);
  const recent = medianOf(values.slice(n - confirm));
  const direction = recent >= baseline ? 'up' : 'down';
  const bad = BAD_DIRECTION[series.metric] ?? 'both';
  if (bad !== 'both' && bad !== direction) return undefined;
  // Every one of the confirming points must be that far off, not their median: a p99 that spikes once or twice in
  // three minutes is the tail's ordinary noise; a fault holds the level.
  const floor = MIN_EFFECT[series.metric] ?? DEFAULT_MIN_EFFECT;
  const least = Math.max((floor.relative ?? 0) * Math.abs(baseline), floor.absolute ?? 0);
  const last = values.slice(n - confirm);
  const effect = direction === 'up' ? Math.min(...last) - baseline : baseline - Math.max(...last);
  if (effect < least) return undefined;
  return {
    kind: 'anomaly',
    metric: series.metric,
    unit: series.unit,
    value: values[n - 1] as number,
    baseline: round(baseline),
    scale: round(robustScale(before)),
    score: peak,
    direction,
    onset: (points[start] as { t: string }).t,
  };
};

/** The error rate over the last `minutes` points, weighted by throughput where the throughput series has the same points. */
const errorRateOver = (errors: MetricSeries, throughput: MetricSeries | undefined, minutes: number): number | undefined => {
  const e = errors.points.slice(-minutes);
  if (e.length < minutes) return undefined;
  const byTime = new Map((throughput?.points ?? []).map((p) => [p.t, p.v]));
  let weighted = 0;
  let weight = 0;
  for (const p of e) {
    const w = byTime.get(p.t);
    const wt = w !== undefined && w > 0 ? w : throughput ? 0 : 1;
    weighted += p.v * wt;
    weight += wt;
  }
  return weight > 0 ? weighted / weight : e.reduce((s, p) => s + p.v, 0) / e.length;
};

/** The SLO burn of one service now: the first condition (in the given order) whose two windows both burn at its rate. */
export const sloBurnNow = (errors: MetricSeries | undefined, throughput: MetricSeries | undefined, slo: SloObjective): Signal | undefined => {
  if (!errors) return undefined;
  const budget = 100 - slo.objectivePct;
  for (const window of slo.windows ?? DEFAULT_BURN_WINDOWS) {
    const long = errorRateOver(errors, throughput, window.longMinutes);
    const short = errorRateOver(errors, throughput, window.shortMinutes);
    if (long === undefined || short === undefined) continue;
    const burnLong = long / budget;
    const burnShort = short / budget;
    if (burnLong < window.burnRate || burnShort < window.burnRate) continue;
    // The onset: where the error rate last rose above the paging rate and stayed there.
    const limit = budget * window.burnRate;
    const points = errors.points;
    let start = points.length - 1;
    while (start > 0 && (points[start - 1] as { v: number }).v >= limit) start -= 1;
    return {
      kind: 'slo-burn',
      metric: errors.metric,
      unit: errors.unit,
      value: round(short),
      baseline: round(budget),
      scale: 0,
      score: round(burnLong / window.burnRate),
      direction: 'up',
      onset: (points[start] as { t: string }).t,
      burn: { long: round(burnLong), short: round(burnShort), window, objectivePct: slo.objectivePct },
    };
  }
  return undefined;
};

/** Whether a recorded signal is over: its last RECOVERY_POINTS back within the baseline band (slo-burn: the short window no longer pages). */
export const signalRecovered = (signal: Signal, series: readonly MetricSeries[], slo?: SloObjective): boolean => {
  const own = series.find((s) => s.metric === signal.metric);
  if (!own) return false;
  if (signal.kind === 'slo-burn') {
    const window = signal.burn?.window ?? DEFAULT_BURN_WINDOWS[0]!;
    const budget = 100 - (slo?.objectivePct ?? signal.burn?.objectivePct ?? 99.9);
    const short = errorRateOver(own, series.find((s) => s.metric === METRICS.throughput), window.shortMinutes);
    return short !== undefined && short / budget < window.burnRate;
  }
  const last = own.points.slice(-RECOVERY_POINTS);
  if (last.length < RECOVERY_POINTS) return false;
  const band = Math.max(RECOVERY_SCALES * signal.scale, RECOVERY_RELATIVE * Math.abs(signal.baseline));
  return last.every((p) => (signal.direction === 'up' ? p.v <= signal.baseline + band : p.v >= signal.baseline - band));
};

// ───────────────────────────── the alert ─────────────────────────────

/** The detector's alert identity for a service: stable, so each run's detection of the same anomaly deduplicates. */
export const detectorDedupKey = (environment: string, service: string): string => `${environment}/${service}`;

/** Tags of a detector alert: the lead signal in plain keys (what a person and the similar-incident agent read), every signal as JSON (what recovery reads). */
export const TAG = {
  metric: 'detector.metric',
  value: 'detector.value',
  baseline: 'detector.baseline',
  score: 'detector.score',
  onset: 'detector.onset',
  direction: 'detector.direction',
  signals: 'detector.signals',
  /** The other anomalous services of the detection's group (comma-separated): its callers, which the fault reaches. */
  related: 'detector.related',
} as const;

const fmt = (v: number, unit: string): string => `${round(v)}${unit ? ` ${unit}` : ''}`;

const describe = (s: Signal): string =>
  s.kind === 'slo-burn' && s.burn
    ? `${s.metric}: the error budget of a ${s.burn.objectivePct} % objective burns ${s.burn.long}× over ${s.burn.window.longMinutes} min and ${s.burn.short}× over ${s.burn.window.shortMinutes} min (pages at ${s.burn.window.burnRate}×); error rate ${fmt(s.value, '%')} against ${fmt(s.baseline, '%')} allowed, since ${s.onset}`
    : `${s.metric} = ${fmt(s.value, s.unit)} against a baseline of ${fmt(s.baseline, s.unit)} (robust scale ${round(s.scale, 3)}), ${s.direction}, anomaly score ${s.score.toFixed(6)} (p = ${(1 - s.score).toExponential(1)}), anomalous since ${s.onset}`;

/** The lead signal: an SLO burn first (it measures users' pain), else the highest score, the earliest onset on a tie. */
const leadOf = (signals: readonly Signal[]): Signal =>
  [...signals].sort((a, b) => (a.kind === b.kind ? b.score - a.score || a.onset.localeCompare(b.onset) : a.kind === 'slo-burn' ? -1 : 1))[0] as Signal;

/** The OPEN alert of a service's detection: the detection is its evidence (title, description, tags, startedAt = the first anomalous minute). */
export const detectionAlert = (environment: string, service: string, signals: readonly Signal[], now: Date, confirm = CONFIRM_POINTS, related: ReadonlyMap<string, readonly Signal[]> = new Map()): NormalizedItem => {
  const lead = leadOf(signals);
  const onset = signals.map((s) => s.onset).sort()[0] as string;
  const severity: Severity = signals.some((s) => s.kind === 'slo-burn') ? 'SEV2' : 'SEV3';
  const title =
    lead.kind === 'slo-burn' && lead.burn
      ? `SLO burn on ${service}: error budget burning ${lead.burn.short}× (${lead.burn.window.shortMinutes} min) and ${lead.burn.long}× (${lead.burn.window.longMinutes} min)`
      : `Anomaly on ${service}: ${lead.metric} ${fmt(lead.value, lead.unit)} (baseline ${fmt(lead.baseline, lead.unit)})`;
  const description = [
    `Detected by Incident Autopilot's anomaly detector at ${now.toISOString()} in ${environment} (${LOOKBACK_MINUTES} min look-back of one-minute points; sustained over the last ${confirm} min).`,
    ...signals.map((s) => `- ${describe(s)}`),
    ...(related.size > 0 ? [`Also anomalous, connected to ${service} in the call graph (one incident for the group):`, ...[...related].flatMap(([other, sigs]) => sigs.map((s) => `- ${other}: ${describe(s)}`))] : []),
  ].join('\n');
  const stored = signals.map((s) => ({ kind: s.kind, metric: s.metric, unit: s.unit, value: round(s.value), baseline: s.baseline, scale: s.scale, score: round(s.score, 8), direction: s.direction, onset: s.onset, ...(s.burn ? { burn: s.burn } : {}) }));
  const alert = NormalizedAlert.parse({
    source: DETECTOR_SOURCE,
    dedupKey: detectorDedupKey(environment, service),
    state: 'OPEN',
    title: title.slice(0, 1024),
    service,
    severity,
    startedAt: onset,
    environment,
    description: description.slice(0, 8192),
    tags: {
      environment,
      service,
      [TAG.metric]: lead.metric,
      [TAG.value]: String(round(lead.value)),
      [TAG.baseline]: String(lead.baseline),
      [TAG.score]: String(round(lead.score, 8)),
      [TAG.onset]: lead.onset,
      [TAG.direction]: lead.direction,
      [TAG.signals]: JSON.stringify(stored),
      ...(related.size > 0 ? { [TAG.related]: [...related.keys()].join(',') } : {}),
    },
  });
  return { alert, raw: { detector: { environment, service, at: now.toISOString(), signals: stored } } };
};

/** The RESOLVED alert of a service's identity. */
export const recoveryAlert = (environment: string, service: string, why: string, now: Date, startedAt: string): NormalizedItem => ({
  alert: NormalizedAlert.parse({
    source: DETECTOR_SOURCE,
    dedupKey: detectorDedupKey(environment, service),
    state: 'RESOLVED',
    title: `Recovered: ${service} (${why})`.slice(0, 1024),
    service,
    severity: 'SEV3',
    startedAt,
    environment,
    tags: { environment, service },
  }),
  raw: { detector: { environment, service, at: now.toISOString(), recovered: why } },
});

const StoredSignals = z.array(
  z.object({
    kind: z.enum(['anomaly', 'slo-burn']),
    metric: z.string(),
    unit: z.string(),
    value: z.number(),
    baseline: z.number(),
    scale: z.number(),
    score: z.number(),
    direction: z.enum(['up', 'down']),
    onset: z.string(),
    burn: z.object({ long: z.number(), short: z.number(), window: BurnWindow, objectivePct: z.number() }).optional(),
  }),
);

// ───────────────────────────── the run ─────────────────────────────

export interface DetectDeps {
  /** The telemetry port (functions/core/tools/runtime.ts: simulated, vendor or AWS adapters alike). */
  readonly telemetry: Pick<Telemetry, 'queryMetrics' | 'getTopology' | 'present'>;
  /** The core intake's dependencies; its store also answers where an identity points. */
  readonly intake: IntakeDeps & { readonly store: AlertIntakeStore };
  readonly targets: readonly DetectorTarget[];
  readonly clock: () => Date;
  /** CPU-bound work timer (tests and the bench). @default performance.now */
  readonly now?: () => number;
}

/** What a run did with one service: detected (and took in), recovered (resolved), or failed. */
export interface ServiceOutcome {
  readonly service: string;
  /** `grouped`: anomalous, and reported in the incident of `groupedInto`, a service it calls (or that has the group's open incident). */
  readonly action: 'opened' | 'correlated' | 'deduplicated' | 'resolved' | 'failed' | 'grouped';
  readonly groupedInto?: string;
  /** `deduplicated` without a delivery: the episode's incident is open and fully opened, so nothing was sent. */
  readonly alreadyOpen?: boolean;
  readonly incidentId?: string;
  readonly signals?: readonly Signal[];
  readonly error?: string;
  readonly message?: string;
}

export interface TargetReport {
  readonly environment: string;
  /** `skipped`: the environment does not exist (quiet); `failed`: its telemetry failed; the other targets ran all the same. */
  readonly status: 'ok' | 'skipped' | 'failed';
  readonly reason?: string;
  readonly error?: string;
  readonly servicesScored: number;
  /** Services of a topology beyond MAX_SERVICES_PER_TARGET, left out. */
  readonly servicesLeftOut?: number;
  readonly outcomes: readonly ServiceOutcome[];
  readonly durationMs: number;
  /** Of which scoring (CPU). */
  readonly scoringMs: number;
}

export interface DetectionReport {
  readonly at: string;
  readonly targets: readonly TargetReport[];
  readonly servicesScored: number;
  readonly detections: number;
  readonly opened: number;
  readonly correlated: number;
  readonly deduplicated: number;
  readonly resolved: number;
  readonly failures: number;
  readonly durationMs: number;
}

const errorFields = (error: unknown) => {
  const e = error instanceof Error ? error : new Error(String(error));
  return { error: e.name, message: e.message };
};

const actionOf = (r: IngestOutcome): ServiceOutcome['action'] =>
  'ignored' in r ? 'deduplicated' : r.state === 'RESOLVED' ? 'resolved' : r.correlated ? 'correlated' : r.deduplicated ? 'deduplicated' : 'opened';

/**
 * The signals of the identity's current episode: the first OPEN delivery since its last RESOLVED one, undefined when
 * the identity is resolved (or unknown). Reads the incident's alerts only when the incident has an unresolved one.
 */
interface Episode {
  readonly incident: IncidentMeta;
  readonly signals: Signal[];
  readonly startedAt: string;
}

const openEpisode = async (store: AlertIntakeStore, environment: string, service: string): Promise<Episode | undefined> => {
  const dedupKey = detectorDedupKey(environment, service);
  const incident = await store.findByDedupKey(DETECTOR_SOURCE, dedupKey);
  if (!incident) return undefined;
  if (incident.distinctAlerts !== undefined && (incident.resolvedAlerts ?? 0) >= incident.distinctAlerts) return undefined;
  const detail = await store.getDetail(incident.incidentId);
  const mine = (detail?.alerts ?? []).filter((a) => a.alert.source === DETECTOR_SOURCE && a.alert.dedupKey === dedupKey);
  if (mine.length === 0 || mine.at(-1)!.alert.state !== 'OPEN') return undefined;
  let first = mine.length - 1;
  while (first > 0 && mine[first - 1]!.alert.state === 'OPEN') first -= 1;
  const opening = mine[first]!.alert;
  let stored: unknown = [];
  try {
    stored = JSON.parse(opening.tags[TAG.signals] ?? '[]');
  } catch {
    // clipped by the store's size cap (fitAlert): judged without its baseline, below
  }
  const parsed = StoredSignals.safeParse(stored);
  return { incident, signals: parsed.success ? (parsed.data as Signal[]) : [], startedAt: opening.startedAt };
};

/**
 * The anomalous services in groups connected by calls between anomalous services (a fault's callers inherit its errors
 * and latency): one incident per group, as a monitoring vendor opens one problem for a fault and its callers. Without a
 * topology, each service is its own group.
 */
export const anomalyGroups = (anomalous: ReadonlyMap<string, readonly Signal[]>, topology: readonly ServiceNode[] | undefined): string[][] => {
  const names = [...anomalous.keys()].sort();
  const neighbours = new Map(names.map((n) => [n, new Set<string>()]));
  for (const node of topology ?? []) {
    if (!neighbours.has(node.name)) continue;
    for (const callee of node.calls) {
      if (!neighbours.has(callee) || callee === node.name) continue;
      neighbours.get(node.name)!.add(callee);
      neighbours.get(callee)!.add(node.name);
    }
  }
  const seen = new Set<string>();
  const groups: string[][] = [];
  for (const start of names) {
    if (seen.has(start)) continue;
    const group: string[] = [];
    const queue = [start];
    seen.add(start);
    while (queue.length > 0) {
      const n = queue.shift()!;
      group.push(n);
      for (const m of neighbours.get(n)!) if (!seen.has(m)) seen.add(m), queue.push(m);
    }
    groups.push(group.sort());
  }
  return groups;
};

/**
 * The service a group's alert is sent for: a member whose detector identity already has an open episode (so the group
 * keeps one incident while the fault spreads or recedes; the earliest-started first), else the deepest member — one
 * that calls no other member, where the fault most likely is (the earliest onset, then the name, among several).
 */
const groupOrigin = (group: readonly string[], episodes: ReadonlyMap<string, Episode | undefined>, anomalous: ReadonlyMap<string, readonly Signal[]>, topology: readonly ServiceNode[] | undefined): string => {
  if (group.length === 1) return group[0]!;
  const open = group.flatMap((service) => {
    const episode = episodes.get(service);
    return episode && !TERMINAL_STATUSES.includes(episode.incident.status) ? [{ service, startedAt: episode.startedAt }] : [];
  });
  if (open.length > 0) return open.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.service.localeCompare(b.service))[0]!.service;
  const members = new Set(group);
  const callsOf = new Map((topology ?? []).map((n) => [n.name, n.calls]));
  const deepest = group.filter((s) => !(callsOf.get(s) ?? []).some((c) => c !== s && members.has(c)));
  const onset = (s: string) => anomalous.get(s)!.map((x) => x.onset).sort()[0]!;
  return (deepest.length > 0 ? deepest : [...group]).sort((a, b) => onset(a).localeCompare(onset(b)) || a.localeCompare(b))[0]!;
};

const runTarget = async (deps: DetectDeps, target: DetectorTarget, at: Date, o?: Observability): Promise<TargetReport> => {
  const timer = deps.now ?? (() => performance.now());
  const started = timer();
  const { environment } = target;
  const runId = `detect-${at.toISOString()}-${environment}`;
  const scope = { environment, runId };
  let scoringMs = 0;
  const outcomes: ServiceOutcome[] = [];
  const finish = (rest: Pick<TargetReport, 'status' | 'servicesScored'> & Partial<TargetReport>): TargetReport => ({ environment, outcomes, durationMs: round(timer() - started, 6), scoringMs: round(scoringMs, 6), ...rest });

  let services: string[];
  let series: MetricSeries[];
  let leftOut = 0;
  // The source's own present: a simulated world whose clock the laptop twin moved ahead (compressed waits) is read up
  // to its now, not the wall clock's, and the alerts are stamped with it. Real sources have none: the wall clock.
  let now = at;
  let topology: readonly ServiceNode[] | undefined;
  try {
    const present = await deps.telemetry.present?.(scope);
    if (present !== undefined && !Number.isNaN(Date.parse(present))) now = new Date(present);
    if (target.services) services = [...target.services];
    else {
      topology = await deps.telemetry.getTopology(scope);
      const all = topology.map((n) => n.name);
      services = all.slice(0, MAX_SERVICES_PER_TARGET);
      leftOut = all.length - services.length;
    }
    const metrics = [...new Set([...(target.metrics ?? DEFAULT_DETECTOR_METRICS), ...(target.slo ? [METRICS.errorRate, METRICS.throughput] : [])])];
    const longest = Math.max(LOOKBACK_MINUTES, ...(target.slo ? (target.slo.windows ?? DEFAULT_BURN_WINDOWS).map((w) => w.longMinutes) : []));
    // Whole minutes, so every point is a real one-minute point (no partial point at `to`).
    const to = Math.floor(now.getTime() / 60_000) * 60_000;
    series = services.length === 0 ? [] : await deps.telemetry.queryMetrics({ ...scope, services, metrics, from: new Date(to - longest * 60_000).toISOString(), to: new Date(to).toISOString(), resolutionSeconds: 60 });
  } catch (error) {
    if (error instanceof UnknownEnvironment) {
      o?.logger.info('detector target skipped: its environment does not exist', { environment, reason: error.reason });
      return finish({ status: 'skipped', reason: `world ${environment} does not exist (${error.reason})`, servicesScored: 0 });
    }
    const e = errorFields(error);
    o?.logger.error('detector target failed; the other targets run', { environment, ...e });
    return finish({ status: 'failed', reason: e.message, error: e.error, servicesScored: 0 });
  }

  const anomalyMetrics = new Set(target.metrics ?? DEFAULT_DETECTOR_METRICS);
  const confirm = target.confirmMinutes ?? CONFIRM_POINTS;
  // Scored first, all of them: anomalous services connected in the call graph are one fault seen from several places.
  const anomalous = new Map<string, Signal[]>();
  const normal: string[] = [];
  for (const service of services) {
    const own = series.filter((s) => s.service === service && s.zone === undefined);
    const t0 = timer();
    const signals: Signal[] = [];
    try {
      for (const s of own) {
        if (!anomalyMetrics.has(s.metric)) continue;
        const signal = anomalyNow(s, confirm);
        if (signal) signals.push(signal);
      }
      if (target.slo) {
        const burn = sloBurnNow(own.find((s) => s.metric === METRICS.errorRate), own.find((s) => s.metric === METRICS.throughput), target.slo);
        if (burn) signals.push(burn);
      }
    } catch (error) {
      scoringMs += timer() - t0;
      outcomes.push({ service, action: 'failed', ...errorFields(error) });
      continue;
    }
    scoringMs += timer() - t0;
    if (signals.length > 0) anomalous.set(service, signals);
    else normal.push(service);
  }

  if (anomalous.size > 1 && !topology) {
    try {
      topology = await deps.telemetry.getTopology(scope);
    } catch (error) {
      o?.logger.warn('detector: no topology to group the anomalous services by; one incident each', { environment, ...errorFields(error) });
    }
  }
  for (const group of anomalyGroups(anomalous, topology)) {
    let origin = group[0]!;
    try {
      // Each member's open episode, read once: it chooses the group's service and tells whether its incident is open.
      const episodes = new Map(await Promise.all(group.map(async (service) => [service, await openEpisode(deps.intake.store, environment, service)] as const)));
      origin = groupOrigin(group, episodes, anomalous, topology);
      const related = new Map(group.filter((s) => s !== origin).map((s) => [s, anomalous.get(s)!] as const));
      // The same episode, its incident fully opened: another delivery would add only an alert and a timeline line a
      // minute for as long as the fault lasts. Sent again only while the opening is unfinished (the repeat completes it).
      const episode = episodes.get(origin);
      if (episode && openingPublished(episode.incident)) {
        const incidentId = episode.incident.incidentId;
        outcomes.push({ service: origin, action: 'deduplicated', incidentId, alreadyOpen: true, signals: anomalous.get(origin)! });
        for (const [service, signals] of related) outcomes.push({ service, action: 'grouped', groupedInto: origin, incidentId, signals });
        continue;
      }
      const [result] = await intakeAlerts(deps.intake, [detectionAlert(environment, origin, anomalous.get(origin)!, now, confirm, related)], o);
      const incidentId = 'incidentId' in result! ? result.incidentId : undefined;
      outcomes.push({ service: origin, action: actionOf(result!), ...(incidentId ? { incidentId } : {}), signals: anomalous.get(origin)! });
      for (const [service, signals] of related) outcomes.push({ service, action: 'grouped', groupedInto: origin, ...(incidentId ? { incidentId } : {}), signals });
    } catch (error) {
      const e = errorFields(error);
      o?.logger.error('detector intake failed for a service; the next run sends it again', { environment, service: origin, ...e });
      outcomes.push({ service: origin, action: 'failed', ...e });
    }
  }

  for (const service of normal) {
    const own = series.filter((s) => s.service === service && s.zone === undefined);
    try {
      const episode = await openEpisode(deps.intake.store, environment, service);
      if (!episode) continue;
      const closed = TERMINAL_STATUSES.includes(episode.incident.status);
      // Without the recorded signals (a clipped alert), not anomalous now is all there is to go on.
      const recovered = episode.signals.length === 0 || episode.signals.every((s) => signalRecovered(s, own, target.slo));
      if (!recovered && !closed) continue;
      const why = !recovered
        ? `incident ${episode.incident.status.toLowerCase()} and no anomaly seen any more`
        : episode.signals.length > 0
          ? `${episode.signals.map((s) => s.metric).join(', ')} back within the baseline for ${RECOVERY_POINTS} min`
          : 'no anomaly seen any more';
      const [result] = await intakeAlerts(deps.intake, [recoveryAlert(environment, service, why, now, episode.startedAt)], o);
      outcomes.push({ service, action: 'resolved', ...('incidentId' in result! ? { incidentId: result.incidentId } : {}) });
    } catch (error) {
      const e = errorFields(error);
      o?.logger.error('detector intake failed for a service; the next run sends it again', { environment, service, ...e });
      outcomes.push({ service, action: 'failed', ...e });
    }
  }
  return finish({ status: 'ok', servicesScored: services.length, ...(leftOut > 0 ? { servicesLeftOut: leftOut } : {}) });
};

/** One run over every target, one after another (a target's failure is its report's, never the run's). */
export const detectAnomalies = (deps: DetectDeps) => async (_event?: unknown, o?: Observability): Promise<DetectionReport> => {
  const timer = deps.now ?? (() => performance.now());
  const started = timer();
  const at = deps.clock();
  const targets: TargetReport[] = [];
  for (const target of deps.targets) {
    try {
      targets.push(await runTarget(deps, target, at, o));
    } catch (error) {
      const e = errorFields(error);
      targets.push({ environment: target.environment, status: 'failed', reason: e.message, error: e.error, servicesScored: 0, outcomes: [], durationMs: 0, scoringMs: 0 });
    }
  }
  const all = targets.flatMap((t) => t.outcomes);
  const count = (action: ServiceOutcome['action']) => all.filter((x) => x.action === action).length;
  const report: DetectionReport = {
    at: at.toISOString(),
    targets,
    servicesScored: targets.reduce((s, t) => s + t.servicesScored, 0),
    detections: all.filter((x) => x.signals !== undefined).length,
    opened: count('opened'),
    correlated: count('correlated'),
    deduplicated: count('deduplicated'),
    resolved: count('resolved'),
    failures: count('failed') + targets.filter((t) => t.status === 'failed').length,
    durationMs: round(timer() - started, 6),
  };
  o?.metrics.addMetric('DetectorServicesScored', MetricUnit.Count, report.servicesScored);
  o?.metrics.addMetric('DetectorDetections', MetricUnit.Count, report.detections);
  o?.metrics.addMetric('DetectorResolved', MetricUnit.Count, report.resolved);
  o?.metrics.addMetric('DetectorFailures', MetricUnit.Count, report.failures);
  return report;
};
