/**
 * The recorded-incident format: one JSON file per incident as the tools saw it (documented in
 * events/recorded/README.md). Where a scenario (world/scenario.ts) describes a world that derives its signals, a
 * recording holds the signals themselves: the alert, the topology, metric series of any resolution with gaps, and
 * optionally logs, traces, changes, history and on-call. The recorded adapter (tools/recorded.ts) serves it through
 * the same ports as every other adapter, so `autopilot eval <dir>` runs recordings through the whole workflow.
 *
 * Sources: `autopilot import petshop` (a public dataset), `autopilot export` (an incident this system handled),
 * or a hand-written file.
 *
 * Times are absolute (ISO 8601). A replay maps `recordedUntil` to the moment the replay starts, so the agents see
 * the recording as if it had just happened: "now" is the end of the recording, and nothing after it exists.
 *
 * `expect` is the answer key for evaluation: no tool ever returns it. It may name only what the dataset knows (a
 * dataset may give the root-cause service and no category); eval scores only the fields given.
 */
import * as z from 'zod';
import { ActionKind, FaultCategory, isTriggerCategory, Severity } from '../model.ts';

export const RECORDING_FORMAT = 'autopilot.recording/1';

/** A recorded name: a service as the telemetry names it (X-Ray style names carry `_`, `::`, `/`, `@`, spaces). */
const ServiceName = z.string().min(1).max(256).refine((s) => s.trim() === s && !/[\u0000-\u001f]/.test(s), { message: 'no leading/trailing blanks or control characters' });
const RecordingName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" and "-", at most 64 characters');
const IsoTime = z.string().refine((s) => /^\d{4}-\d{2}-\d{2}T/.test(s) && !Number.isNaN(Date.parse(s)), { message: 'an ISO 8601 date-time' });

export const RecordedNode = z.strictObject({
  name: ServiceName,
  tier: z.enum(['frontend', 'backend', 'database', 'cache', 'external', 'queue']),
  /** Services this one calls (downstream). */
  calls: z.array(ServiceName).default([]),
  /** What the telemetry says the node is (an X-Ray / CloudFormation resource type such as `AWS::ECS::Fargate`). */
  type: z.string().max(128).optional(),
});
export type RecordedNode = z.infer<typeof RecordedNode>;

/**
 * One metric series on a regular grid: `values[i]` is the value at `start + i × resolutionSeconds`; `null` is a
 * gap (no data points in that period, as CloudWatch and X-Ray report it). Metric names follow tools/ports.ts
 * METRICS where one fits (`latency_p99_ms`, `error_rate_pct`, `throughput_rps`, `cpu_pct`, …); other names are
 * kept as recorded (`latency_avg_ms`, `latency_p50_ms`, `throttle_rate_pct`, `queue_depth`, …).
 */
export const RecordedSeries = z
  .strictObject({
    service: ServiceName,
    metric: z.string().min(1).max(128),
    unit: z.string().max(32),
    /** The statistic the values are (Average, p99, Sum, …), as recorded. */
    statistic: z.string().max(32).optional(),
    resolutionSeconds: z.number().int().min(1).max(86_400),
    start: IsoTime,
    values: z.array(z.number().finite().nullable()).min(1).max(100_000),
  });
export type RecordedSeries = z.infer<typeof RecordedSeries>;

export const RecordedLogLevel = z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']);
/** A recorded log line's longest message, and the most lines a recording holds (export.ts checks both before writing). */
export const RECORDED_MESSAGE_MAX = 8192;
export const RECORDED_LINES_MAX = 200_000;
export const RecordedLogLine = z.strictObject({ timestamp: IsoTime, service: ServiceName, level: RecordedLogLevel, message: z.string().max(RECORDED_MESSAGE_MAX), host: z.string().optional(), traceId: z.string().optional() });

const RecordedSpan = z.strictObject({
  spanId: z.string().min(1),
  parentSpanId: z.string().optional(),
  service: ServiceName,
  operation: z.string(),
  startedAt: IsoTime,
  durationMs: z.number().min(0),
  status: z.enum(['OK', 'ERROR']),
  error: z.string().optional(),
});
export const RecordedTrace = z.strictObject({ traceId: z.string().min(1), rootService: ServiceName, startedAt: IsoTime, totalMs: z.number().min(0), status: z.enum(['OK', 'ERROR']), spans: z.array(RecordedSpan) });

export const RecordedChange = z.strictObject({
  id: z.string().min(1).max(128),
  service: ServiceName,
  type: z.enum(['deploy', 'config', 'feature-flag', 'infrastructure']),
  title: z.string().min(1),
  description: z.string(),
  deployedAt: IsoTime,
  state: z.enum(['scheduled', 'implemented', 'rolled-back', 'cancelled']).default('implemented'),
  version: z.strictObject({ from: z.string(), to: z.string() }).optional(),
  configChange: z.strictObject({ param: z.string(), old: z.string(), new: z.string() }).optional(),
  rollbackPlan: z.string().optional(),
  author: z.string().optional(),
});

export const RecordedPastIncident = z.strictObject({
  id: z.string().min(1),
  title: z.string().min(1),
  service: ServiceName,
  openedAt: IsoTime,
  resolvedAt: IsoTime.optional(),
  category: z.string().optional(),
  rootCause: z.string(),
  resolution: z.string(),
  resolutionMinutes: z.number().min(0).optional(),
  tags: z.array(z.string()).default([]),
});

const Person = z.strictObject({ name: z.string().min(1), contact: z.string().min(1) });
export const RecordedOnCall = z.strictObject({ service: ServiceName, primary: Person, escalation: Person.optional() });
export const RecordedOwnership = z.strictObject({
  service: ServiceName,
  team: z.string().min(1),
  slackChannel: z.string().optional(),
  runbookUrl: z.string().optional(),
  sloTargetPct: z.number().min(0).max(100).optional(),
  sloCurrentPct: z.number().min(0).max(100).optional(),
});

/** The alert that opened the incident, vendor-neutral; a replay sends it as a generic alert. */
export const RecordedAlert = z.strictObject({
  service: ServiceName,
  title: z.string().min(1).max(1024),
  startedAt: IsoTime,
  severity: Severity.optional(),
  /** The metric that alerted, in the series' naming (e.g. `latency_avg_ms`). */
  metric: z.string().optional(),
  description: z.string().max(8192).optional(),
});

/**
 * The answer key: what the dataset knows. `rootCause: null` is a false alarm (the right outcome is to abstain).
 * Every field but `rootCause.service` is optional, and eval scores only the fields given.
 */
export const RecordedExpect = z.strictObject({
  rootCause: z
    .strictObject({
      service: ServiceName,
      category: FaultCategory.optional(),
      changeId: z.string().optional(),
      /** How it failed, when the dataset says (issue 11); never a trigger category (bad-deploy, config-change). */
      mechanism: FaultCategory.refine((c) => !isTriggerCategory(c), { message: 'a mechanism says how the fault fails: bad-deploy and config-change are triggers, not mechanisms' }).optional(),
    })
    .nullable(),
  mitigation: z.strictObject({ kind: ActionKind, service: ServiceName.optional(), target: z.string().optional() }).optional(),
});
export type RecordedExpect = z.infer<typeof RecordedExpect>;

export const Recording = z
  .strictObject({
    format: z.literal(RECORDING_FORMAT),
    name: RecordingName,
    description: z.string().optional(),
    /** Where it came from (dataset, case, licence), for the report and the credits. */
    source: z.strictObject({ dataset: z.string().optional(), case: z.string().optional(), license: z.string().optional(), url: z.string().optional(), exportedFrom: z.string().optional() }).optional(),
    /** The end of the recording: a replay maps it to "now". */
    recordedUntil: IsoTime,
    alert: RecordedAlert,
    topology: z.array(RecordedNode).min(1).max(2_000),
    metrics: z.array(RecordedSeries).max(20_000).default([]),
    logs: z.array(RecordedLogLine).max(RECORDED_LINES_MAX).default([]),
    traces: z.array(RecordedTrace).max(10_000).default([]),
    changes: z.array(RecordedChange).max(10_000).default([]),
    history: z.array(RecordedPastIncident).max(10_000).default([]),
    oncall: z.array(RecordedOnCall).default([]),
    ownership: z.array(RecordedOwnership).default([]),
    expect: RecordedExpect.optional(),
  })
  .superRefine((r, ctx) => {
    const names = new Set(r.topology.map((n) => n.name));
    const known = (name: string, path: (string | number)[]) => {
      if (!names.has(name)) ctx.addIssue({ code: 'custom', path, message: `"${name}" is not a node of the topology` });
    };
    const seen = new Set<string>();
    r.topology.forEach((n, i) => {
      if (seen.has(n.name)) ctx.addIssue({ code: 'custom', path: ['topology', i, 'name'], message: `node "${n.name}" appears twice` });
      seen.add(n.name);
      n.calls.forEach((c, j) => known(c, ['topology', i, 'calls', j]));
    });
    known(r.alert.service, ['alert', 'service']);
    r.metrics.forEach((m, i) => known(m.service, ['metrics', i, 'service']));
    if (r.expect?.rootCause) known(r.expect.rootCause.service, ['expect', 'rootCause', 'service']);
    // A key naming a change that is not among the recorded ones (a typo) is one no run can ever match.
    const changeId = r.expect?.rootCause?.changeId;
    if (changeId !== undefined && r.changes.length > 0 && !r.changes.some((c) => c.id === changeId))
      ctx.addIssue({ code: 'custom', path: ['expect', 'rootCause', 'changeId'], message: `"${changeId}" is not the id of a change in the recording (changes[].id): no run could name it` });
    const until = Date.parse(r.recordedUntil);
    if (Date.parse(r.alert.startedAt) > until) ctx.addIssue({ code: 'custom', path: ['alert', 'startedAt'], message: 'the alert starts after the recording ends (recordedUntil)' });
    // Nothing after recordedUntil exists in a replay: such a series would be silently invisible (a wrong recordedUntil).
    r.metrics.forEach((m, i) => {
      if (Date.parse(m.start) > until) ctx.addIssue({ code: 'custom', path: ['metrics', i, 'start'], message: 'the series starts after the recording ends (recordedUntil): a replay shows none of it' });
    });
  });
export type Recording = z.infer<typeof Recording>;

export class InvalidRecording extends Error {
  override name = 'InvalidRecording';
}

/** Parses a recording, or throws InvalidRecording naming the file and every field at fault. */
export const parseRecording = (value: unknown, origin = '(recording)'): Recording => {
  const parsed = Recording.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new InvalidRecording(`${origin} is not a valid recording (${RECORDING_FORMAT}): ${issues.join('; ')}${parsed.error.issues.length > 10 ? `; and ${parsed.error.issues.length - 10} more` : ''}`);
  }
  return parsed.data;
};

/** Whether a parsed JSON file claims to be a recording (eval tells recordings from scenarios by this). */
export const isRecordingFile = (value: unknown): boolean => typeof value === 'object' && value !== null && (value as { format?: unknown }).format === RECORDING_FORMAT;
