/**
 * GET /incidents/{id}/signals?from=&to= (and the console's GET /console/incidents/{id}/signals): what the console's
 * charts draw for one incident —
 *
 *   { window: {from, to}, onset, series: [{ service, metric, unit, points: [{t, v}], baseline?: {low, high, mean} }],
 *     markers: [{ t, kind, label, service? }], gaps: [{ port, reason, service?, metric? }] }
 *
 * Services: the incident's own, the top hypothesis's culprit (and the service it names), then the services whose
 * metrics the impact agent found anomalous, worst first — read from the agents' records, never guessed. Metrics:
 * p99 latency, error rate and throughput of each, plus the metrics the top hypothesis cites (its `metric:<service>:<metric>`
 * evidence, directly or through the impact anomalies it cites).
 *
 * Window: from an hour before the onset (the impact agent's estimate, else the alert's start) to now, or to the
 * incident's resolution plus a margin; `from`/`to` override it. Everything is read through the same tool ports the
 * agents use, in the incident's environment (the simulated world on the twin and in a demo deployment, the vendor or
 * AWS adapters elsewhere).
 *
 * Baseline band: the robust baseline of analysis/metrics.ts (the impact agent's) over the points before
 * `onset − BASELINE_GAP_MIN`, drawn as median ± DEFAULT_Z_THRESHOLD × scale: a point outside the band is one the
 * impact agent's rule scores anomalous. `mean` is the plain mean of those baseline points. A window that starts after
 * that (a `from` past the onset) has no baseline points, and its series no band.
 *
 * Markers: the onset; the detection (when the incident was opened, and by what); the changes deployed in the window
 * (change port); from the timeline, the actions executed and undone, the approval decided, and recovery verified.
 *
 * A port that fails answers what the others could read plus a `gaps` entry naming it: a chart without its change
 * markers is still worth drawing. Only an unknown incident (404) or an invalid query (400) fails the request.
 */
import { randomUUID } from 'node:crypto';
import { SignalsParams } from '../core/api/schemas.ts';
import { BASELINE_GAP_MIN } from '../core/agents/impact.ts';
import { DEFAULT_Z_THRESHOLD, robustBaseline } from '../core/analysis/metrics.ts';
import { type ApiEvent, type ApiResult, BadRequest, json, NotFound, parseWith, pathParam, withErrors } from '../core/http.ts';
import { citedEvidenceIds, ImpactOutput, type Hypothesis, RootCauseOutput } from '../core/model.ts';
import type { IncidentDetail, IncidentStore, TimelineEvent } from '../core/store/store.ts';
import { type ChangeRequest, METRICS, type MetricSeries, partialGapsOf, type Tools, type ToolScope, ToolUnavailable } from '../core/tools/ports.ts';
import type { ToolUse } from '../core/agents/tool-use.ts';

const MINUTE = 60_000;
/** How far before the onset the default window starts. */
export const BEFORE_ONSET_MIN = 60;
/** How far past the incident's resolution the default window ends. */
export const AFTER_RESOLUTION_MIN = 30;
/** The longest window one request may ask for. */
export const MAX_WINDOW_DAYS = 7;
/** Points per series the resolution aims at (a chart is ~1,000 px wide; 60 s is the finest the ports serve). */
export const TARGET_POINTS = 360;
/** Services charted at most: the incident's, the culprit's and the worst affected. */
export const MAX_SERVICES = 6;
/** The longest marker label (timeline messages and change titles can be long). */
export const MAX_LABEL_CHARS = 200;
/** The metrics charted for every service. */
export const KEY_METRICS: readonly string[] = [METRICS.latencyP99, METRICS.errorRate, METRICS.throughput];

/** The port methods this function calls: the stack grants it the tool IAM of exactly these (lib/tool-adapters.ts). */
export const SIGNALS_TOOL_USE = { telemetry: ['queryMetrics'], changes: ['listChanges'] } as const satisfies ToolUse;

export { SignalsParams };

export interface SignalPoint {
  readonly t: string;
  readonly v: number;
}
export interface SignalSeries {
  readonly service: string;
  readonly metric: string;
  readonly unit?: string;
  readonly points: readonly SignalPoint[];
  readonly baseline?: { readonly low: number; readonly high: number; readonly mean: number };
}
export type MarkerKind = 'onset' | 'change' | 'action' | 'detection' | 'approval' | 'recovered';
export interface Marker {
  readonly t: string;
  readonly kind: MarkerKind;
  readonly label: string;
  readonly service?: string;
}
export interface SignalGap {
  readonly port: 'telemetry' | 'changes';
  readonly reason: string;
  readonly service?: string;
  readonly metric?: string;
}
export interface Signals {
  readonly window: { readonly from: string; readonly to: string };
  readonly onset: string | null;
  readonly series: readonly SignalSeries[];
  readonly markers: readonly Marker[];
  readonly gaps: readonly SignalGap[];
}

export interface SignalsDeps {
  readonly store: Pick<IncidentStore, 'getDetail'>;
  readonly tools: { readonly telemetry: Pick<Tools['telemetry'], 'queryMetrics'>; readonly changes: Pick<Tools['changes'], 'listChanges'> };
  readonly clock: () => Date;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const validTime = (s: string | undefined): number | undefined => {
  const ms = s === undefined ? Number.NaN : Date.parse(s);
  return Number.isFinite(ms) ? ms : undefined;
};
const clip = (s: string): string => (s.length > MAX_LABEL_CHARS ? `${s.slice(0, MAX_LABEL_CHARS - 1)}…` : s);
const reasonOf = (error: unknown): string => (error instanceof ToolUnavailable ? error.reason : error instanceof Error ? error.message : String(error));

/** The top hypothesis (the root-cause agent ranks them), unless it abstained. */
const topHypothesis = (detail: IncidentDetail): Hypothesis | undefined => {
  const parsed = RootCauseOutput.safeParse(detail.agents.rootcause?.output);
  return parsed.success && !parsed.data.abstained ? parsed.data.rootCauses[0] : undefined;
};

export interface Subjects {
  /** Services to chart, in order. */
  readonly services: readonly string[];
  /** Metrics beyond KEY_METRICS, by service (the ones the top hypothesis cites). */
  readonly extra: ReadonlyMap<string, readonly string[]>;
  readonly onset?: string;
}

/** What to chart, from the incident and its agents' records. */
export const subjectsOf = (detail: IncidentDetail): Subjects => {
  const impact = ImpactOutput.safeParse(detail.agents.impact?.output);
  const anomalies = impact.success ? impact.data.anomalies : [];
  const top = topHypothesis(detail);
  const services = new Set<string>([detail.incident.service]);
  if (top?.culprit?.service) services.add(top.culprit.service);
  if (top?.service) services.add(top.service);
  for (const a of [...anomalies].sort((x, y) => y.score - x.score)) services.add(a.service);

  const extra = new Map<string, Set<string>>();
  const add = (service: string, metric: string) => {
    if (KEY_METRICS.includes(metric)) return;
    extra.set(service, (extra.get(service) ?? new Set()).add(metric));
  };
  if (top) {
    const cited = citedEvidenceIds(top);
    for (const id of cited) {
      const m = /^metric:([^:]+):(.+)$/.exec(id);
      if (m) add(m[1], m[2]);
    }
    for (const a of anomalies) if (a.evidenceIds.some((id) => cited.has(id))) add(a.service, a.metric);
  }
  const charted = [...services].slice(0, MAX_SERVICES);
  // A metric the hypothesis cites is charted even for a service beyond the budget: it is the evidence.
  for (const s of extra.keys()) if (!charted.includes(s)) charted.push(s);
  return {
    services: charted,
    extra: new Map([...extra].map(([s, m]) => [s, [...m]])),
    onset: impact.success ? impact.data.onset : undefined,
  };
};

/** The window: the query's, else an hour before the onset to now (or the resolution plus a margin). */
export const signalWindow = (detail: IncidentDetail, onsetMs: number | undefined, query: SignalsParams, now: Date): { from: number; to: number } => {
  const endMs = validTime(detail.incident.resolvedAt);
  const defaultTo = endMs !== undefined ? Math.min(now.getTime(), endMs + AFTER_RESOLUTION_MIN * MINUTE) : now.getTime();
  const to = query.to !== undefined ? Date.parse(query.to) : defaultTo;
  const anchor = onsetMs ?? validTime(detail.incident.startedAt) ?? to;
  let from = query.from !== undefined ? Date.parse(query.from) : Math.min(anchor, to) - BEFORE_ONSET_MIN * MINUTE;
  if (query.from === undefined && to - from > MAX_WINDOW_DAYS * 86_400_000) from = to - MAX_WINDOW_DAYS * 86_400_000;
  if (from >= to) throw new BadRequest(`from (${iso(from)}) must be before to (${iso(to)})`);
  if (to - from > MAX_WINDOW_DAYS * 86_400_000) throw new BadRequest(`the window may be at most ${MAX_WINDOW_DAYS} days, got ${iso(from)} to ${iso(to)}`);
  return { from, to };
};

/** One point per `resolution` over the window, in whole minutes. */
export const resolutionFor = (from: number, to: number): number => Math.max(60, Math.ceil((to - from) / 1000 / TARGET_POINTS / 60) * 60);

/** The baseline band of a series: the impact agent's robust baseline over the points before `baselineEnd`. */
export const baselineBand = (points: readonly SignalPoint[], baselineEnd: number): SignalSeries['baseline'] => {
  const before = points.filter((p) => Date.parse(p.t) < baselineEnd);
  if (before.length < 4) return undefined;
  const b = robustBaseline(before);
  const spread = DEFAULT_Z_THRESHOLD * b.scale;
  const nonNegative = before.every((p) => p.v >= 0);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    low: round(nonNegative ? Math.max(0, b.median - spread) : b.median - spread),
    high: round(b.median + spread),
    mean: round(before.reduce((sum, p) => sum + p.v, 0) / before.length),
  };
};

/** Markers from the timeline: actions executed and undone, the approval decided, recovery verified. */
export const timelineMarkers = (timeline: readonly TimelineEvent[], service: string): Marker[] =>
  timeline.flatMap((e): Marker[] => {
    if (e.type === 'mitigation-executed' || e.type === 'mitigation-undone') {
      const actions = (e.data?.actions ?? e.data?.undone) as { service?: unknown }[] | undefined;
      const acted = Array.isArray(actions) && typeof actions[0]?.service === 'string' ? actions[0].service : service;
      return [{ t: e.at, kind: 'action', label: clip(`${e.type === 'mitigation-undone' ? 'Undone' : 'Executed'}: ${e.message}`), service: acted }];
    }
    if (e.type === 'approval-approved' || e.type === 'approval-rejected') return [{ t: e.at, kind: 'approval', label: clip(e.message) }];
    if (e.type === 'verification' && e.data?.recovered === true) return [{ t: e.at, kind: 'recovered', label: clip(e.message) }];
    return [];
  });

const changeMarker = (c: ChangeRequest): Marker => ({ t: new Date(c.deployedAt).toISOString(), kind: 'change', label: clip(`${c.id}: ${c.title}`), service: c.service });

/** The signals of one incident (see the module comment). Throws NotFound for an unknown incident. */
export const readSignals = async (deps: SignalsDeps, incidentId: string, query: SignalsParams): Promise<Signals> => {
  const detail = await deps.store.getDetail(incidentId);
  if (!detail) throw new NotFound(`incident ${incidentId} not found`);
  const { incident } = detail;
  const subjects = subjectsOf(detail);
  const onsetMs = validTime(subjects.onset) ?? validTime(incident.startedAt);
  const { from, to } = signalWindow(detail, onsetMs, query, deps.clock());
  const window = { from: iso(from), to: iso(to) };
  // One run id: an adapter may reuse what it read for the other queries of this request (the simulated world).
  const scope: ToolScope = { environment: incident.environment, runId: `${incidentId}/signals/${randomUUID()}` };
  const resolutionSeconds = resolutionFor(from, to);
  const gaps: SignalGap[] = [];

  // The key metrics of every service in one query; each service's cited extras in one more.
  const queries: { services: string[]; metrics: string[] }[] = [{ services: [...subjects.services], metrics: [...KEY_METRICS] }];
  for (const [service, metrics] of subjects.extra) queries.push({ services: [service], metrics: [...metrics] });
  const [metricResults, changeResult] = await Promise.all([
    Promise.allSettled(queries.map((q) => deps.tools.telemetry.queryMetrics({ ...scope, ...window, services: q.services, metrics: q.metrics, resolutionSeconds }))),
    deps.tools.changes.listChanges({ ...scope, ...window, services: [...subjects.services] }).then(
      (changes) => ({ ok: true as const, changes }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
  ]);

  const read: MetricSeries[] = [];
  metricResults.forEach((r, i) => {
    if (r.status === 'fulfilled') {
      read.push(...r.value);
      for (const g of partialGapsOf(r.value)) gaps.push({ port: 'telemetry', reason: `${g.api}: ${g.reason}`, ...(g.service ? { service: g.service } : {}), ...(g.metric ? { metric: g.metric } : {}) });
    } else {
      const q = queries[i];
      gaps.push({ port: 'telemetry', reason: reasonOf(r.reason), ...(q.services.length === 1 ? { service: q.services[0] } : {}), ...(q.metrics.length === 1 ? { metric: q.metrics[0] } : {}) });
    }
  });
  const baselineEnd = onsetMs !== undefined ? onsetMs - BASELINE_GAP_MIN * MINUTE : undefined;
  const order = (s: { service: string; metric: string }) => subjects.services.indexOf(s.service) * 100 + (KEY_METRICS.includes(s.metric) ? KEY_METRICS.indexOf(s.metric) : 50);
  const series: SignalSeries[] = read
    // Service-wide series only (a per-zone one is asked for with groupBy, which this does not).
    .filter((s) => s.zone === undefined)
    .map((s) => {
      const points = s.points.filter((p) => Number.isFinite(p.v)).map((p) => ({ t: new Date(p.t).toISOString(), v: p.v }));
      const baseline = baselineEnd !== undefined ? baselineBand(points, baselineEnd) : undefined;
      return { service: s.service, metric: s.metric, ...(s.unit ? { unit: s.unit } : {}), points, ...(baseline ? { baseline } : {}) };
    })
    .sort((a, b) => order(a) - order(b));

  const markers: Marker[] = [];
  if (onsetMs !== undefined) markers.push({ t: iso(onsetMs), kind: 'onset', label: subjects.onset ? 'Onset (estimated from the metrics)' : 'Onset (the alert\'s start)', service: incident.service });
  const detectedAt = validTime(incident.createdAt);
  if (detectedAt !== undefined) markers.push({ t: iso(detectedAt), kind: 'detection', label: clip((incident.source as string) === 'detector' ? 'Detected by the anomaly detector' : `Alert received (${incident.source})`), service: incident.service });
  if (changeResult.ok) markers.push(...changeResult.changes.filter((c) => validTime(c.deployedAt) !== undefined).map(changeMarker));
  else gaps.push({ port: 'changes', reason: reasonOf(changeResult.error) });
  markers.push(...timelineMarkers(detail.timeline, incident.service));
  const inWindow = markers.filter((m) => {
    const t = Date.parse(m.t);
    return t >= from && t <= to;
  });
  inWindow.sort((a, b) => Date.parse(a.t) - Date.parse(b.t));

  return { window, onset: onsetMs !== undefined ? iso(onsetMs) : null, series, markers: inWindow, gaps };
};

export const incidentSignals = (deps: SignalsDeps) =>
  withErrors(async (event: ApiEvent): Promise<ApiResult> => {
    const query = parseWith(SignalsParams, event.queryStringParameters ?? {}, 'query parameters');
    return json(200, await readSignals(deps, pathParam(event, 'id'), query));
  });
