/**
 * `autopilot export <incidentId> <dir>`: what the agents saw of an incident, written as a recording
 * (recorded/format.ts), so `autopilot eval <dir>` replays it and a real incident becomes a regression test.
 *
 * It reads only the incident as the API returns it (`GET /incidents/{id}`: the incident, its alerts, the agents'
 * records and their evidence), never a tool, so the recording holds what the agents were shown and nothing the
 * tools might answer today. Section by section:
 * - alert: the first alert of the incident (its own severity, before the impact agent raised it);
 * - topology: the nodes the root-cause agent kept whole, and the impact agent's neighbourhood for the services it
 *   read (with their tier; their calls are known only where a whole node was kept);
 * - metrics: the series the impact agent read over its window and the root-cause agent over its longer look-back
 *   (`data.readings` of their metric evidence), merged point by point, each on its own step — points off that step
 *   go to the nearest step, a step already taken keeps its first point;
 * - logs: the logs agent keeps templates, not lines: each kept template is written back as its example line, as
 *   many times as it was counted, spread over the window it was counted in (the incident lines between its first and
 *   last sighting, the baseline lines over the baseline window). A replay mines the same templates with the same
 *   counts; the lines' variable parts (all but the example's) and the templates it did not keep are lost;
 * - traces: the agents keep, per trace, its root service, status, duration and the services its failures end in
 *   (`failingLeaves`), which is all the analysis reads of a trace: each is written as a root span with one failing
 *   child per such service;
 * - changes: the change requests the root-cause agent read; history: the past incidents the similar-incidents agent
 *   kept (its top three); on-call and ownership: what triage read;
 * - `recordedUntil`: when the last of those agents finished.
 * What could not be written is listed in `missing` (and the recording's description).
 *
 * `expect` is written only when a human gives it (`--expect-*` or `--confirm-top`): the system's own outcome is not
 * an answer key. Without it, eval runs the recording unscored.
 */
import { FaultCategory } from '../model.ts';
import { isChangeRequest, isServiceNode } from '../agents/recorded.ts';
import type { ChangeRequest } from '../tools/ports.ts';
import { copyChange } from '../tools/replay-common.ts';
import { parseRecording, type Recording, RECORDED_LINES_MAX, RECORDED_MESSAGE_MAX, RECORDING_FORMAT, RecordedLogLevel, type RecordedExpect, type RecordedNode } from './format.ts';
import { logWindows } from '../agents/logs.ts';
import { fromReadings } from './readings.ts';

/** The incident as `GET /incidents/{id}` returns it (only what export reads; the rest is ignored). */
export interface ExportableIncident {
  readonly incident: { readonly incidentId: string; readonly title?: unknown; readonly service?: unknown; readonly startedAt?: unknown; readonly severity?: unknown; readonly updatedAt?: unknown };
  readonly alerts?: readonly unknown[];
  readonly agents?: Partial<Record<string, { readonly output?: unknown; readonly evidence?: unknown; readonly completedAt?: unknown; readonly [k: string]: unknown }>>;
}

export interface ExportResult {
  /**
   * The recording as JSON to write (checked: it parses as a Recording). Sections the agents did not keep are left out
   * rather than written empty: an absent section is "not recorded", which a replay reports as a gap.
   */
  readonly recording: Record<string, unknown>;
  /** What the agents did not keep, so the recording lacks it (one sentence each). */
  readonly missing: string[];
}

export class NotExportable extends Error {
  override name = 'NotExportable';
}

type Evidence = { readonly id: string; readonly kind: string; readonly summary?: string; readonly data?: unknown };

const TIERS = new Set<string>(['frontend', 'backend', 'database', 'cache', 'external', 'queue']);
const RECORDING_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const str = (x: unknown): string | undefined => (typeof x === 'string' && x.length > 0 ? x : undefined);
const obj = (x: unknown): Record<string, unknown> | undefined => (x && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined);
const evidenceOf = (record: { evidence?: unknown } | undefined): Evidence[] =>
  Array.isArray(record?.evidence) ? (record.evidence as unknown[]).filter((e): e is Evidence => !!obj(e) && typeof (e as Evidence).id === 'string' && typeof (e as Evidence).kind === 'string') : [];

/** The most frequent positive gap between points, in seconds (a series' own step). */
const stepOf = (times: readonly number[]): number => {
  const counts = new Map<number, number>();
  for (let i = 1; i < times.length; i++) {
    const d = Math.round((times[i]! - times[i - 1]!) / 1000);
    if (d > 0) counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  let best = 60;
  let n = 0;
  for (const [d, c] of counts) if (c > n || (c === n && d < best)) [best, n] = [d, c];
  return Math.min(86_400, Math.max(1, best));
};

/** `metric:<service>:<metric>` → its parts (service names may hold `:`, as X-Ray's `AWS::Lambda::Function`). */
const metricKey = (id: string): { service: string; metric: string } | undefined => {
  if (!id.startsWith('metric:')) return undefined;
  const rest = id.slice('metric:'.length);
  const at = rest.lastIndexOf(':');
  return at > 0 && at < rest.length - 1 ? { service: rest.slice(0, at), metric: rest.slice(at + 1) } : undefined;
};

type AgentRecordLike = { readonly evidence?: unknown; readonly completedAt?: unknown; readonly latencyMs?: unknown; readonly output?: unknown } | undefined;

/** `count` moments spread evenly over [from, to] (the middle when there is one). */
const spread = (count: number, from: number, to: number): number[] =>
  count === 1 ? [Math.round((from + to) / 2)] : Array.from({ length: count }, (_, i) => Math.round(from + ((to - from) * i) / (count - 1)));

/**
 * The log lines of the logs agent's kept templates (see the header), or undefined when the agent has not run (the
 * section is then not recorded). Its windows are those of the moment it ran (`completedAt - latencyMs`).
 */
const logsOf = (record: AgentRecordLike, startedAt: string, missing: string[]): Recording['logs'] | undefined => {
  if (!record) {
    missing.push('log lines (the logs agent has not run)');
    return undefined;
  }
  const ranAt = Date.parse(String(record.completedAt ?? '')) - (typeof record.latencyMs === 'number' ? record.latencyMs : 0);
  if (Number.isNaN(ranAt)) {
    missing.push('log lines (the logs agent kept no time it ran at)');
    return undefined;
  }
  const windows = logWindows(startedAt, new Date(ranAt));
  const lines: Recording['logs'][number][] = [];
  let kept = 0;
  let unwritable = 0;
  for (const e of evidenceOf(record)) {
    if (e.kind !== 'log' || !e.id.startsWith('log-template:')) continue;
    const d = obj(e.data);
    // The service: in the data since it was kept there; before, only in the id `log-template:<service>:<level>-<n>`.
    const service = str(d?.service) ?? (e.id.lastIndexOf(':') > 'log-template:'.length ? e.id.slice('log-template:'.length, e.id.lastIndexOf(':')) : undefined);
    const example = str(d?.example);
    const level = RecordedLogLevel.safeParse(d?.level).data;
    const count = typeof d?.count === 'number' && Number.isInteger(d.count) && d.count >= 0 ? d.count : undefined;
    const first = Date.parse(String(d?.firstSeen ?? ''));
    const last = Date.parse(String(d?.lastSeen ?? ''));
    if (!service || !example || !level || count === undefined || Number.isNaN(first) || Number.isNaN(last)) {
      unwritable += 1;
      continue;
    }
    kept += 1;
    const baselineCount = typeof d?.baselineCount === 'number' && Number.isInteger(d.baselineCount) && d.baselineCount > 0 ? d.baselineCount : 0;
    // A record counting more lines than a recording holds is refused before its lines are made.
    if (lines.length + count + baselineCount > RECORDED_LINES_MAX)
      throw new NotExportable(`the logs agent's templates count more log lines than a recording holds (${RECORDED_LINES_MAX}; template ${e.id} alone ${count + baselineCount})`);
    const message = example.slice(0, RECORDED_MESSAGE_MAX);
    const traceIds = Array.isArray(d?.traceIds) ? (d.traceIds as unknown[]).filter((t): t is string => typeof t === 'string' && t.length > 0) : [];
    spread(count, first, Math.max(first, last)).forEach((at, i) =>
      lines.push({ timestamp: new Date(at).toISOString(), service, level: level, message, ...(traceIds[i] ? { traceId: traceIds[i] } : {}) }),
    );
    // Inside the baseline window, clear of its edges (the replay's window is a moment off the original's).
    const margin = Math.min(60_000, (windows.incidentFrom - windows.baselineFrom) / 10);
    if (baselineCount > 0) for (const at of spread(baselineCount, windows.baselineFrom + margin, windows.incidentFrom - margin)) lines.push({ timestamp: new Date(at).toISOString(), service, level: level, message });
  }
  lines.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
  const output = obj(record.output);
  const total = typeof output?.totalLines === 'number' ? output.totalLines : undefined;
  const written = lines.filter((l) => Date.parse(l.timestamp) >= windows.incidentFrom).length;
  if (total !== undefined && total > written) missing.push(`${total - written} of the ${total} incident log lines, of templates the logs agent did not keep (it keeps the 25 most telling)`);
  if (unwritable > 0) missing.push(`${unwritable} log template(s) kept without an example line or counts (an older record)`);
  if (kept > 0) missing.push(`the variable parts of the log lines: each of the ${kept} kept template(s) is written as its example line, as often as it was counted`);
  return lines;
};

/** Whether the root-cause agent's error-trace search answered (its tool call record says so). */
const tracesSearched = (record: (AgentRecordLike & { readonly toolCalls?: unknown }) | undefined): boolean =>
  Array.isArray(record?.toolCalls) && (record.toolCalls as unknown[]).some((c) => obj(c)?.tool === 'telemetry.getTraces' && obj(c)?.ok === true);

/**
 * The traces the impact and root-cause agents kept (see the header), or undefined when neither kept one with its
 * start (an older record). A trace kept by both is written once.
 */
const tracesOf = (items: readonly Evidence[], nodes: ReadonlyMap<string, RecordedNode>, searched: boolean, missing: string[]): Recording['traces'] | undefined => {
  const traces = new Map<string, Recording['traces'][number]>();
  let unwritable = 0;
  for (const e of items) {
    if (e.kind !== 'trace') continue;
    const d = obj(e.data);
    const traceId = str(d?.traceId) ?? (e.id.startsWith('trace:') ? e.id.slice('trace:'.length) : undefined);
    const rootService = str(d?.rootService);
    const status = d?.status === 'ERROR' || d?.status === 'OK' ? d.status : undefined;
    const totalMs = typeof d?.totalMs === 'number' && d.totalMs >= 0 ? d.totalMs : undefined;
    const at = Date.parse(String(d?.startedAt ?? ''));
    if (!traceId || !rootService || !status || totalMs === undefined || Number.isNaN(at) || !nodes.has(rootService)) {
      unwritable += 1;
      continue;
    }
    const leaves = (Array.isArray(d?.failingLeaves) ? (d.failingLeaves as unknown[]) : str(d?.errorOrigin) ? [d?.errorOrigin] : []).filter((s): s is string => typeof s === 'string' && s.length > 0);
    const startedAt = new Date(at).toISOString();
    // The root fails alone (it is the only leaf), or fails through children, one per leaf (a failing child of the
    // root's own service where the root's service is a leaf beside others): `failingLeaves` reads the same leaves.
    const alone = leaves.length === 1 && leaves[0] === rootService;
    const children = alone ? [] : leaves;
    const spans: Recording['traces'][number]['spans'] = [
      { spanId: `${traceId}-0`, service: rootService, operation: 'recorded', startedAt, durationMs: totalMs, status: alone || (children.length > 0 && status === 'ERROR') ? 'ERROR' : 'OK' },
      ...children.map((service, i) => ({ spanId: `${traceId}-${i + 1}`, parentSpanId: `${traceId}-0`, service, operation: 'recorded', startedAt, durationMs: totalMs, status: 'ERROR' as const })),
    ];
    // A trace kept by both agents: the one that names more failing services says more.
    const known = traces.get(traceId);
    if (!known || known.spans.length < spans.length) traces.set(traceId, { traceId, rootService, startedAt, totalMs, status, spans });
  }
  if (unwritable > 0) missing.push(`${unwritable} trace(s) kept without their start or root service (an older record), or rooted in a service not in the topology`);
  if (traces.size > 0) missing.push('the spans of each trace but its root and the services its failures end in (all the analysis reads)');
  // None kept: "no traces" only when a trace search is known to have answered; else the section is not recorded.
  return traces.size > 0 || searched ? [...traces.values()] : undefined;
};

/** The answer key of the agents' top hypothesis, for `--confirm-top` (a human confirms it was right). */
export const topHypothesisExpect = (view: ExportableIncident): RecordedExpect => {
  const out = obj(view.agents?.rootcause?.output);
  const ranked = (Array.isArray(out?.rootCauses) ? (out.rootCauses as unknown[]) : []).map(obj).filter((h): h is Record<string, unknown> => !!h && typeof h.service === 'string');
  ranked.sort((a, b) => Number(b.confidence ?? 0) - Number(a.confidence ?? 0));
  const top = ranked[0];
  if (!top) throw new NotExportable(`incident ${view.incident.incidentId} has no root-cause hypothesis to confirm`);
  const category = FaultCategory.safeParse(top.category);
  // "unknown" is no category to confirm: as a key it would fail a later run that names the right one.
  const known = category.success && category.data !== 'unknown';
  return { rootCause: { service: top.service as string, ...(known ? { category: category.data } : {}), ...(str(top.changeId) ? { changeId: top.changeId as string } : {}) } };
};

/** The recording of what the agents saw of `view`. Throws NotExportable, or InvalidRecording naming the field. */
export const exportRecording = (view: ExportableIncident, opts: { name?: string; expect?: RecordedExpect } = {}): ExportResult => {
  const inc = view.incident;
  const agents = view.agents ?? {};
  const missing: string[] = [];
  const service = str(inc.service);
  const startedAt = str(inc.startedAt);
  if (!service || !startedAt) throw new NotExportable(`incident ${inc.incidentId} has no service or start time`);
  const name = opts.name ?? inc.incidentId;
  if (!RECORDING_NAME.test(name)) throw new NotExportable(`"${name}" cannot name a recording (letters, digits, ".", "_" and "-", at most 64): pass --name`);

  // ── alert: the first delivery, with the alert's own severity
  const first = (view.alerts ?? []).map((a) => obj(obj(a)?.alert)).find((a) => a !== undefined);
  const severity = str(first?.severity) ?? str(inc.severity);

  // ── when the agents finished reading
  const investigators = ['impact', 'logs', 'similar', 'triage', 'rootcause'] as const;
  const finished = investigators.map((a) => Date.parse(String(agents[a]?.completedAt ?? ''))).filter((t) => !Number.isNaN(t));
  if (finished.length === 0) throw new NotExportable(`incident ${inc.incidentId} has no investigation yet (no impact, logs, similar, triage or root-cause record)`);
  const recordedUntil = Math.max(Date.parse(startedAt), ...finished);

  // ── topology
  const impact = evidenceOf(agents.impact);
  const rootcause = evidenceOf(agents.rootcause);
  const nodes = new Map<string, RecordedNode>();
  for (const e of rootcause) if (e.kind === 'topology' && isServiceNode(e.data) && TIERS.has(e.data.tier)) nodes.set(e.data.name, { name: e.data.name, tier: e.data.tier, calls: [...e.data.calls] });
  const tiers = obj(obj(impact.find((e) => e.kind === 'topology')?.data)?.tiers) ?? {};
  let callsUnknown = 0;
  for (const [name, tier] of Object.entries(tiers)) {
    if (nodes.has(name) || typeof tier !== 'string' || !TIERS.has(tier)) continue;
    nodes.set(name, { name, tier: tier as RecordedNode['tier'], calls: [] });
    callsUnknown += 1;
  }
  if (!nodes.has(service)) throw new NotExportable(`the agents kept no topology node for ${service} (its tier is unknown), so the incident cannot be replayed`);
  if (callsUnknown > 0) missing.push(`the calls of ${callsUnknown} service(s) the impact agent read but the root-cause agent did not keep whole (they are written without calls)`);
  let dropped = 0;
  for (const n of nodes.values()) {
    const known = n.calls.filter((c) => nodes.has(c));
    dropped += n.calls.length - known.length;
    n.calls.splice(0, n.calls.length, ...known);
  }
  if (dropped > 0) missing.push(`${dropped} call(s) to services the agents kept no node for`);

  // ── metrics: the series the impact agent read over its window, and the root-cause agent over its look-back
  const read = new Map<string, { service: string; metric: string; unit: string; points: Map<number, number> }>();
  const unread = new Set<string>();
  for (const e of [...impact, ...rootcause]) {
    const key = e.kind === 'metric' ? metricKey(e.id) : undefined;
    if (!key || !nodes.has(key.service)) continue;
    const data = obj(e.data);
    const points = fromReadings(data?.readings);
    if (!points || points.length === 0) {
      unread.add(e.id);
      continue;
    }
    let series = read.get(e.id);
    if (!series) read.set(e.id, (series = { ...key, unit: str(data?.unit)?.slice(0, 32) ?? '', points: new Map() }));
    // The first reading of a moment wins (the impact agent's, read at the step the analysis used).
    for (const p of points) if (!series.points.has(p.at)) series.points.set(p.at, p.v);
  }
  const metrics: Recording['metrics'] = [];
  const trimmed = [...unread].filter((id) => !read.has(id)).length;
  for (const series of read.values()) {
    const points = [...series.points].map(([at, v]) => ({ at, v })).sort((a, b) => a.at - b.at);
    const step = stepOf(points.map((p) => p.at));
    const start = points[0]!.at;
    const values: (number | null)[] = new Array(Math.min(100_000, Math.round((points.at(-1)!.at - start) / (step * 1000)) + 1)).fill(null);
    for (const p of points) {
      const i = Math.round((p.at - start) / (step * 1000));
      if (i < values.length && values[i] === null) values[i] = p.v;
    }
    metrics.push({ service: series.service, metric: series.metric, unit: series.unit, resolutionSeconds: step, start: new Date(start).toISOString(), values });
  }
  if (trimmed > 0) missing.push(`${trimmed} metric series whose points the agents did not keep (an older record, or one trimmed to fit its item)`);
  if (metrics.length === 0) missing.push('every metric series (the impact agent kept none)');

  // ── changes the root-cause agent read
  const changes = rootcause
    .filter((e) => e.kind === 'change' && isChangeRequest(e.data))
    .map((e) => {
      const c = e.data as ChangeRequest;
      return copyChange(c, c.deployedAt, c.state);
    });

  // ── history: the past incidents the similar-incidents agent kept
  const similarOut = obj(agents.similar?.output);
  const similarEvidence = new Map(evidenceOf(agents.similar).map((e) => [e.id, e]));
  const history: Record<string, unknown>[] = [];
  for (const i of (Array.isArray(similarOut?.incidents) ? (similarOut.incidents as unknown[]) : []).map(obj)) {
    const id = str(i?.id);
    const title = str(i?.title);
    const e = id ? similarEvidence.get(`incident:${id}`) : undefined;
    const data = obj(e?.data);
    const openedAt = str(data?.openedAt);
    // The service is only in the summary the agent wrote: `<id> "<title>" on <service>: <root cause>`.
    const prefix = `${id} "${title}" on `;
    const rootCause = str(i?.rootCause) ?? '';
    const summary = e?.summary ?? '';
    const end = summary.indexOf(`: ${rootCause}`, prefix.length);
    const pastService = summary.startsWith(prefix) && end > prefix.length ? summary.slice(prefix.length, end) : undefined;
    if (!id || !title || !openedAt || !pastService) continue;
    history.push({
      id,
      title,
      service: pastService,
      openedAt,
      ...(str(data?.category) ? { category: data?.category } : {}),
      rootCause,
      resolution: str(i?.resolution) ?? str(data?.resolution) ?? '',
      ...(typeof i?.resolutionMinutes === 'number' ? { resolutionMinutes: i.resolutionMinutes } : {}),
      tags: Array.isArray(data?.tags) ? (data.tags as unknown[]).filter((t): t is string => typeof t === 'string') : [],
    });
  }

  // ── on-call and ownership, as triage read them
  const triage = evidenceOf(agents.triage);
  const person = (p: unknown) => {
    const o = obj(p);
    return o && str(o.name) && str(o.contact) ? { name: o.name as string, contact: o.contact as string } : undefined;
  };
  const oncall = triage.flatMap((e) => {
    const d = obj(e.data);
    const primary = person(d?.primary);
    if (e.kind !== 'oncall' || !str(d?.service) || !primary) return [];
    const escalation = person(d?.escalation);
    return [{ service: d!.service as string, primary, ...(escalation ? { escalation } : {}) }];
  });
  const ownership = triage.flatMap((e) => {
    const d = obj(e.data);
    if (e.kind !== 'ownership' || !str(d?.service) || !str(d?.team)) return [];
    const pct = (x: unknown) => (typeof x === 'number' && x >= 0 && x <= 100 ? x : undefined);
    return [
      Object.fromEntries(
        Object.entries({ service: d!.service, team: d!.team, slackChannel: str(d!.slackChannel), runbookUrl: str(d!.runbookUrl), sloTargetPct: pct(d!.sloTargetPct), sloCurrentPct: pct(d!.sloCurrentPct) }).filter(([, v]) => v !== undefined),
      ),
    ];
  });

  const logs = logsOf(agents.logs, startedAt, missing);
  const traces = tracesOf([...impact, ...rootcause], nodes, tracesSearched(agents.rootcause), missing);
  if (!agents.rootcause) missing.push('topology nodes, changes and error traces of the root-cause agent (it has not run)');
  if (!agents.similar) missing.push('the incident history (the similar-incidents agent has not run)');
  if (!agents.triage) missing.push('on-call and ownership (triage has not run)');

  const value = {
    format: RECORDING_FORMAT,
    name,
    description: `Exported from incident ${inc.incidentId} ("${str(inc.title) ?? ''}"): what its agents saw. Not in this recording: ${missing.join('; ')}.`,
    source: { exportedFrom: inc.incidentId },
    recordedUntil: new Date(recordedUntil).toISOString(),
    alert: {
      service,
      title: str(first?.title) ?? str(inc.title) ?? `alert on ${service}`,
      startedAt: new Date(Date.parse(startedAt)).toISOString(),
      ...(severity ? { severity } : {}),
      ...(str(first?.description) ? { description: first?.description } : {}),
    },
    topology: [...nodes.values()],
    ...(metrics.length > 0 ? { metrics } : {}),
    ...(logs ? { logs } : {}),
    ...(traces ? { traces } : {}),
    ...(agents.rootcause ? { changes } : {}),
    ...(agents.similar ? { history } : {}),
    ...(agents.triage ? { oncall, ownership } : {}),
    ...(opts.expect ? { expect: opts.expect } : {}),
  };
  parseRecording(value, `the export of incident ${inc.incidentId}`);
  return { recording: value, missing };
};

/** Two-space JSON with each run of numbers (a series' values) on one line: readable, and a diff shows what changed. */
export const recordingJson = (recording: unknown): string =>
  `${JSON.stringify(recording, (_key, v: unknown) => (Array.isArray(v) && v.length > 3 && v.every((x) => typeof x === 'number' || x === null) ? `\u0000${JSON.stringify(v)}\u0000` : v), 2).replace(/"\\u0000(.*?)\\u0000"/g, '$1')}\n`;
