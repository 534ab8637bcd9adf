/**
 * A loopback fake of an AWS account's APIs, serving a recorded account (aws-account-recording.ts) to the real AWS
 * adapters through the real SDK: the twin sets `AWS_ENDPOINT_URL_<SERVICE>` (and `AWS_ENDPOINT_URL`) to it, and the
 * adapters cannot tell it from the account. It speaks each service's own protocol:
 *
 * | service                     | protocol  | operations                                                                      |
 * |-----------------------------|-----------|---------------------------------------------------------------------------------|
 * | X-Ray                       | REST JSON | GetServiceGraph, GetTimeSeriesServiceStatistics, GetTraceSummaries, BatchGetTraces |
 * | CloudWatch                  | JSON 1.0  | GetMetricData                                                                   |
 * | CloudWatch Logs             | JSON 1.1  | DescribeLogGroups, StartQuery, GetQueryResults, StopQuery                       |
 * | CloudTrail                  | JSON 1.1  | LookupEvents                                                                    |
 * | CodeDeploy                  | JSON 1.1  | ListDeployments, BatchGetDeployments, GetDeploymentGroup                        |
 * | Resource Groups Tagging API | JSON 1.1  | GetResources                                                                    |
 * | SSM                         | JSON 1.1  | GetParameter, GetParameterHistory, PutParameter                                 |
 * | Lambda                      | REST JSON | GetAlias, UpdateAlias                                                           |
 *
 * Anything else (another operation, ECS, AppConfig, STS, …) is answered `UnknownOperationException`, which the SDK
 * surfaces as an exception of that name: an adapter that needs more than the recording holds records a gap, it does not
 * crash, and the call is in `calls()` for the test to see.
 *
 * Time: the fake maps the recording's `recordedUntil` to its anchor. Request windows are shifted back by
 * (anchor − recordedUntil), every time it returns forward by the same amount (epoch seconds, ISO strings inside
 * CloudTrail records and log lines, segment documents' start and end times). Nothing after `recordedUntil` exists.
 *
 * The request is honoured, never ignored: a window returns only what lies in it; lists are paged with NextToken (page
 * sizes per operation: the APIs' own by default, smaller ones in tests); X-Ray answers by the entity selector and trace
 * filter (the `service(id(name: …, type: …))` terms the adapter writes, optionally with `{ fault = true OR error = true }`;
 * any other filter is InvalidRequestException); CloudWatch answers each MetricDataQuery under its own Id from the
 * recorded query with the same MetricStat (namespace, metric, dimensions, statistic), summing/averaging/taking the
 * maximum into a coarser period (a percentile takes the maximum of its periods: an upper bound); Logs Insights answers a
 * query over its log groups and window with the recorded rows, newest first, up to its limit (the query language is
 * not evaluated: the rows are what the recorded query matched), Running for the first `runningPolls` polls;
 * CloudTrail honours its one lookup attribute; tags the TagFilters; Lambda's UpdateAlias its RevisionId. Lambda aliases
 * and SSM parameters are state: an UpdateAlias or PutParameter changes what the next read returns.
 *
 * The recording's answer key (`expect`) is never served.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsServiceError } from './aws-json.ts';
import { type AwsRecording, insightsTime, insightsTimeMs, parseIsoTime, requestTimeMs, shiftIsoInText, shiftIsoStrings } from './aws-account-recording.ts';
import { BodyTooLarge, closeServer, listen, readBody, sendJson } from './http-util.ts';

export { AwsServiceError } from './aws-json.ts';

/** One request the fake received. */
export interface AwsCall {
  readonly service: string;
  readonly operation: string;
  readonly input: Readonly<Record<string, unknown>>;
  /** The AWS error it was answered with, if any (`UnknownOperationException: …`). */
  readonly error?: string;
}

/** Operations whose lists are paged (items per page; the APIs' own maximum by default). */
export const DEFAULT_PAGE_SIZES = {
  GetServiceGraph: 1000,
  GetTimeSeriesServiceStatistics: 1000,
  GetTraceSummaries: 100,
  /** Datapoints per page (GetMetricData's own maximum). */
  GetMetricData: 100_800,
  LookupEvents: 50,
  GetResources: 100,
  GetParameterHistory: 50,
  ListDeployments: 100,
  DescribeLogGroups: 50,
} as const;
export type PagedOperation = keyof typeof DEFAULT_PAGE_SIZES;

export interface AwsAccountOptions {
  /** The moment the recording's end maps to. @default now, when the fake starts */
  readonly anchor?: Date;
  /** Smaller pages than the APIs' own, to exercise pagination. */
  readonly pageSizes?: Partial<Record<PagedOperation, number>>;
  /** GetQueryResults answers Running this many times before Complete. @default 1 */
  readonly runningPolls?: number;
  /** The port to listen on (127.0.0.1). @default 0 (any free port) */
  readonly port?: number;
}

export interface AwsAccountFake {
  readonly endpoint: string;
  /** anchor − recordedUntil, in ms: what every recorded time is shifted by. */
  readonly offsetMs: number;
  readonly anchor: Date;
  readonly recording: AwsRecording;
  /** Every request so far, oldest first. */
  calls(): readonly AwsCall[];
  /** The recorded alarm as EventBridge would deliver it now (its times shifted): the body to POST to `/alerts/cloudwatch`. */
  alarmEvent(): Record<string, unknown>;
  /** The variables the account's deployment ran with (the recording's `configuration`). */
  configuration(): Record<string, string>;
  stop(): Promise<void>;
}

// ───────────────────────── helpers ─────────────────────────

type Input = Record<string, unknown>;
type Handler = (input: Input) => unknown;

const MAX_REQUEST_BYTES = 1024 * 1024;

const fail = (type: string, message: string, status = 400): never => {
  throw new AwsServiceError(type, message, status);
};
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const obj = (v: unknown): Input => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Input) : {});
const clone = <T>(v: T): T => structuredClone(v);
const seconds = (ms: number): number => ms / 1000;

/** Paging: an opaque token naming the operation and the offset (a token from another operation is refused). */
const encodeToken = (operation: string, offset: number): string => Buffer.from(JSON.stringify({ o: operation, n: offset })).toString('base64url');
const pageOf = <T>(items: readonly T[], operation: string, token: unknown, size: number, errorType: string): { items: T[]; offset: number; next?: string } => {
  let offset = 0;
  if (token !== undefined && token !== null && token !== '') {
    try {
      const t = JSON.parse(Buffer.from(String(token), 'base64url').toString('utf8')) as { o?: unknown; n?: unknown };
      if (t.o !== operation || typeof t.n !== 'number' || !Number.isInteger(t.n) || t.n < 0) throw new Error('foreign token');
      offset = t.n;
    } catch {
      fail(errorType, `the pagination token is not one this ${operation} returned`);
    }
  }
  const slice = items.slice(offset, offset + size);
  return { items: slice, offset, ...(offset + size < items.length ? { next: encodeToken(operation, offset + size) } : {}) };
};

/** An X-Ray node a selector or filter names: `service(id(name: "x", type: "y"))` or `service("x")`. */
interface NodeRef {
  readonly name: string;
  readonly type?: string;
}
const SELECTOR = /^\s*service\(\s*(?:id\(\s*name:\s*("(?:[^"\\]|\\.)*")\s*(?:,\s*type:\s*("(?:[^"\\]|\\.)*")\s*)?\)|("(?:[^"\\]|\\.)*"))\s*\)\s*/;
const parseSelector = (text: string): { ref: NodeRef; rest: string } | undefined => {
  const m = SELECTOR.exec(text);
  if (!m) return undefined;
  const name = JSON.parse((m[1] ?? m[3])!) as string;
  const type = m[2] ? (JSON.parse(m[2]) as string) : undefined;
  return { ref: { name, ...(type ? { type } : {}) }, rest: text.slice(m[0].length) };
};
const refMatches = (ref: NodeRef, node: { Name?: string; Names?: readonly string[]; Type?: string }): boolean =>
  (node.Name === ref.name || (node.Names ?? []).includes(ref.name)) && (ref.type === undefined || node.Type === ref.type);

/** A trace filter of `service(...)` terms joined by OR, each optionally `{ fault = true OR error = true }`. */
interface FilterTerm {
  readonly ref: NodeRef;
  readonly failedOnly: boolean;
}
const parseFilter = (text: string): FilterTerm[] => {
  const terms: FilterTerm[] = [];
  let rest = text.trim();
  while (rest.length > 0) {
    const s = parseSelector(rest);
    if (!s) return fail('InvalidRequestException', `the laptop fake evaluates only service(id(name: …, type: …)) filters joined by OR, optionally with { fault = true OR error = true }: cannot read "${rest.slice(0, 80)}"`);
    rest = s.rest;
    let failedOnly = false;
    const braces = /^\{\s*(fault|error)\s*=\s*true\s*(?:OR\s*(fault|error)\s*=\s*true\s*)?\}\s*/i.exec(rest);
    if (braces) {
      failedOnly = true;
      rest = rest.slice(braces[0].length);
    }
    terms.push({ ref: s.ref, failedOnly });
    const or = /^OR\s+/i.exec(rest);
    if (or) rest = rest.slice(or[0].length);
    else if (rest.length > 0) return fail('InvalidRequestException', `unexpected "${rest.slice(0, 40)}" in the filter expression`);
  }
  return terms;
};

/** A CloudWatch statistic's aggregation into a coarser period. */
const aggregate = (stat: string, values: readonly number[]): number => {
  if (/^(Sum|SampleCount)$/i.test(stat)) return values.reduce((a, b) => a + b, 0);
  if (/^Minimum$/i.test(stat)) return Math.min(...values);
  if (/^Average$/i.test(stat)) return values.reduce((a, b) => a + b, 0) / values.length;
  // Maximum, and percentiles as an upper bound (the maximum of the periods' percentiles).
  return Math.max(...values);
};
const metricKey = (namespace: string, name: string, dimensions: readonly { Name: string; Value: string }[], stat: string): string =>
  JSON.stringify([namespace, name, [...dimensions].map((d) => `${d.Name}=${d.Value}`).sort(), /^p\d/i.test(stat) ? stat.toLowerCase() : stat]);

/** A Lambda function's name from a name, a `name:qualifier`, a partial ARN or an ARN. */
const functionNameOf = (value: string): string | undefined => /^(?:arn:[^:]+:lambda:[^:]+:\d{12}:function:|\d{12}:function:|function:)?([A-Za-z0-9_-]{1,140})(?::[^:]+)?$/.exec(value)?.[1];

// ───────────────────────── the account ─────────────────────────

interface XrayStatsEntry {
  readonly t: number;
  readonly entry: Input;
}
interface MetricSeriesData {
  readonly period: number;
  readonly stat: string;
  readonly label?: string;
  readonly points: readonly (readonly [number, number])[];
}
interface LogRow {
  readonly t: number;
  readonly group: string;
  readonly row: readonly { field: string; value: string }[];
}
interface InsightsQuery {
  readonly groups: ReadonlySet<string>;
  readonly from: number;
  readonly to: number;
  readonly limit: number;
  polls: number;
  stopped: boolean;
}
interface Alias {
  readonly functionName: string;
  readonly config: Input;
}
interface ParameterState {
  current: Input;
  history: Input[];
}

const byTimeDesc = <T extends { t: number }>(a: T, b: T) => b.t - a.t;

/** The recorded account as the operations read it: indexed once, times in epoch ms on the recording's clock. */
const indexOf = (r: AwsRecording) => {
  const x = r.responses.xray;
  const graphs = (x?.GetServiceGraph ?? []).map((c) => ({ from: parseIsoTime(c.response.StartTime), to: parseIsoTime(c.response.EndTime), services: c.response.Services as Input[] }));
  const stats = (x?.GetTimeSeriesServiceStatistics ?? []).map((c) => {
    const ref = c.request ? parseSelector(c.request.EntitySelectorExpression) : undefined;
    if (!ref || ref.rest.trim() !== '') throw new AwsServiceError('InvalidRecording', `a recorded GetTimeSeriesServiceStatistics has no readable EntitySelectorExpression: ${c.request?.EntitySelectorExpression ?? '(none)'}`);
    return { ref: ref.ref, period: c.request!.Period, entries: c.response.TimeSeriesServiceStatistics.map((e) => ({ t: parseIsoTime(e.Timestamp), entry: e as Input })).sort((a, b) => a.t - b.t) };
  });
  const summaries = new Map<string, { t: number; summary: Input }>();
  for (const c of x?.GetTraceSummaries ?? []) for (const s of c.response.TraceSummaries) summaries.set(s.Id, { t: parseIsoTime(s.StartTime), summary: s as Input });
  const traces = new Map<string, Input>();
  for (const c of x?.BatchGetTraces ?? []) for (const t of c.response.Traces) traces.set(t.Id, t as Input);

  const metrics = new Map<string, MetricSeriesData>();
  for (const c of r.responses.cloudwatch?.GetMetricData ?? []) {
    const queries = new Map((c.request?.MetricDataQueries ?? []).map((q) => [q.Id, q]));
    for (const res of c.response.MetricDataResults) {
      const q = queries.get(res.Id);
      if (!q?.MetricStat) continue;
      const ms = q.MetricStat;
      const key = metricKey(ms.Metric.Namespace, ms.Metric.MetricName, ms.Metric.Dimensions, ms.Stat);
      const points = new Map<number, number>((metrics.get(key)?.points ?? []).map(([t, v]) => [t, v]));
      res.Timestamps.forEach((t, i) => points.set(parseIsoTime(t), res.Values[i]!));
      metrics.set(key, { period: ms.Period, stat: ms.Stat, ...(res.Label ?? q.Label ? { label: res.Label ?? q.Label } : {}), points: [...points.entries()].sort((a, b) => a[0] - b[0]) });
    }
  }

  const groups = new Set<string>();
  for (const c of r.responses.logs?.DescribeLogGroups ?? []) for (const g of c.response.logGroups) groups.add(g.logGroupName);
  const rows = new Map<string, LogRow>();
  for (const c of r.responses.logs?.StartQuery ?? []) {
    for (const g of c.request?.logGroupNames ?? []) groups.add(g);
    for (const row of c.response.results) {
      const t = insightsTimeMs(row.find((f) => f.field === '@timestamp')!.value);
      const group = row.find((f) => f.field === '@log')!.value.replace(/^\d{12}:/, '');
      groups.add(group);
      // The same row recorded by two queries is one row (@ptr names it, else its time and message).
      const id = row.find((f) => f.field === '@ptr')?.value ?? `${t}\u0000${row.find((f) => f.field === '@message')?.value ?? ''}`;
      rows.set(id, { t, group, row });
    }
  }

  const events = new Map<string, { t: number; event: Input }>();
  for (const c of r.responses.cloudtrail?.LookupEvents ?? []) for (const e of c.response.Events) events.set(e.EventId, { t: parseIsoTime(e.EventTime), event: e as Input });

  const deployments = new Map<string, { t: number; info: Input }>();
  for (const c of r.responses.codedeploy?.BatchGetDeployments ?? []) for (const d of c.response.deploymentsInfo) deployments.set(d.deploymentId, { t: parseIsoTime(d.createTime), info: d as Input });
  const deploymentGroups = new Map<string, Input>();
  for (const c of r.responses.codedeploy?.GetDeploymentGroup ?? []) if (c.request) deploymentGroups.set(`${c.request.applicationName}\u0000${c.request.deploymentGroupName}`, c.response);

  const tagged = new Map<string, Input>();
  for (const c of r.responses.tagging?.GetResources ?? []) for (const m of c.response.ResourceTagMappingList) tagged.set(m.ResourceARN, m as Input);

  const parameters = new Map<string, ParameterState>();
  const parameter = (name: string): ParameterState => {
    let p = parameters.get(name);
    if (!p) parameters.set(name, (p = { current: {}, history: [] }));
    return p;
  };
  for (const c of r.responses.ssm?.GetParameterHistory ?? []) {
    const name = c.request!.Name;
    const p = parameter(name);
    for (const v of c.response.Parameters) if (!p.history.some((h) => h.Version === v.Version)) p.history.push({ ...v, Name: v.Name ?? name });
  }
  for (const c of r.responses.ssm?.GetParameter ?? []) {
    const p = parameter(c.response.Parameter.Name);
    p.current = c.response.Parameter as Input;
    if (!p.history.some((h) => h.Version === c.response.Parameter.Version)) p.history.push(c.response.Parameter as Input);
  }
  for (const [name, p] of parameters) {
    p.history.sort((a, b) => Number(a.Version) - Number(b.Version));
    if (p.current.Version === undefined) p.current = p.history.at(-1) ?? {};
    if (p.current.Version === undefined) parameters.delete(name);
  }

  const aliases = new Map<string, Alias>();
  for (const c of r.responses.lambda?.GetAlias ?? []) {
    const fn = functionNameOf(c.request!.FunctionName);
    if (fn) aliases.set(`${fn}:${c.response.Name}`, { functionName: fn, config: { ...c.response } });
  }
  return { graphs, stats, summaries, traces, metrics, groups, rows: [...rows.values()].sort(byTimeDesc), events: [...events.values()].sort(byTimeDesc), deployments, deploymentGroups, tagged, parameters, aliases };
};

/** Starts the fake on 127.0.0.1 (a free port unless `port` is given). */
export const startAwsAccount = async (recording: AwsRecording, options: AwsAccountOptions = {}): Promise<AwsAccountFake> => {
  const until = parseIsoTime(recording.recordedUntil);
  // A whole number of minutes, so minute-aligned times (CloudWatch, X-Ray) stay aligned; rounded down, so everything
  // recorded is in the past of the anchor.
  const offset = Math.floor(((options.anchor ?? new Date()).getTime() - until) / 60_000) * 60_000;
  const anchor = new Date(until + offset);
  const pageSize = (op: PagedOperation) => Math.max(1, Math.floor(options.pageSizes?.[op] ?? DEFAULT_PAGE_SIZES[op]));
  const runningPolls = options.runningPolls ?? 1;
  const index = indexOf(recording);
  const calls: AwsCall[] = [];
  const queries = new Map<string, InsightsQuery>();

  /** A request time on the recording's clock (epoch ms); `field` named when it is missing or not a time. */
  const back = (input: Input, field: string, errorType: string, fallback?: number): number => {
    const value = input[field];
    if (value === undefined && fallback !== undefined) return fallback;
    const t = requestTimeMs(value);
    if (t === undefined || Number.isNaN(t)) return fail(errorType, `${field} must be a timestamp, got ${JSON.stringify(value)}`);
    return t - offset;
  };
  const forward = (t: number): number => seconds(t + offset);
  const window = (input: Input, errorType: string, from = 'StartTime', to = 'EndTime', defaults?: { from: number; to: number }) => {
    const w = { from: back(input, from, errorType, defaults?.from), to: back(input, to, errorType, defaults?.to) };
    if (w.from > w.to) fail(errorType, `${from} must not be after ${to}`);
    return w;
  };

  // ───────── X-Ray ─────────
  const shiftTimes = (o: Input, keys: readonly string[]): Input => {
    const out = clone(o);
    for (const k of keys) if (typeof out[k] === 'string') out[k] = forward(parseIsoTime(out[k] as string));
    return out;
  };
  const shiftDocument = (doc: Input): Input => {
    const out: Input = { ...doc };
    for (const k of ['start_time', 'end_time']) if (typeof out[k] === 'number') out[k] = Math.round(((out[k] as number) + offset / 1000) * 1e6) / 1e6;
    if (Array.isArray(out.subsegments)) out.subsegments = out.subsegments.map((s) => shiftDocument(obj(s)));
    return out;
  };

  const xray: Record<string, Handler> = {
    GetServiceGraph: (input) => {
      const w = window(input, 'InvalidRequestException');
      // The recorded graph that overlaps the window most (none: no service was seen in it).
      const overlap = (g: { from: number; to: number }) => Math.min(g.to, w.to) - Math.max(g.from, w.from);
      const graph = index.graphs.filter((g) => overlap(g) >= 0).sort((a, b) => overlap(b) - overlap(a))[0];
      const services = (graph?.services ?? []).map((s) => ({ ...shiftTimes(s, ['StartTime', 'EndTime']), Edges: arr(s.Edges).map((e) => shiftTimes(obj(e), ['StartTime', 'EndTime'])) }));
      const page = pageOf(services, 'GetServiceGraph', input.NextToken, pageSize('GetServiceGraph'), 'InvalidRequestException');
      return { StartTime: forward(w.from), EndTime: forward(w.to), Services: page.items, ContainsOldGroupVersions: false, ...(page.next ? { NextToken: page.next } : {}) };
    },
    GetTimeSeriesServiceStatistics: (input) => {
      const w = window(input, 'InvalidRequestException');
      const selector = str(input.EntitySelectorExpression) ?? fail('InvalidRequestException', 'EntitySelectorExpression is required (the laptop fake answers by service(id(name: …, type: …)))');
      const parsed = parseSelector(selector);
      if (!parsed || parsed.rest.trim() !== '') fail('InvalidRequestException', `the laptop fake reads one service(id(name: …, type: …)) selector, got "${selector.slice(0, 120)}"`);
      const period = input.Period === undefined ? 60 : Number(input.Period);
      if (!Number.isInteger(period) || period < 60 || period % 60 !== 0) fail('InvalidRequestException', `Period must be a multiple of 60 seconds, got ${JSON.stringify(input.Period)}`);
      const ref = parsed!.ref;
      const recorded = index.stats.filter((s) => s.ref.name === ref.name && (ref.type === undefined || s.ref.type === ref.type));
      const entries: XrayStatsEntry[] = recorded.flatMap((s) => s.entries).filter((e) => e.t >= w.from && e.t < w.to);
      // Summed into the period asked for, on the replay clock's boundaries (a finer one gets the recorded entries).
      const buckets = new Map<number, Input[]>();
      for (const e of entries) {
        const b = Math.floor((e.t + offset) / 1000 / period) * period * 1000 - offset;
        buckets.set(b, [...(buckets.get(b) ?? []), e.entry]);
      }
      const out = [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([t, list]) => ({ ...sumStatistics(list), Timestamp: forward(t) }));
      const page = pageOf(out, 'GetTimeSeriesServiceStatistics', input.NextToken, pageSize('GetTimeSeriesServiceStatistics'), 'InvalidRequestException');
      return { TimeSeriesServiceStatistics: page.items, ContainsOldGroupVersions: false, ...(page.next ? { NextToken: page.next } : {}) };
    },
    GetTraceSummaries: (input) => {
      const w = window(input, 'InvalidRequestException');
      const filter = str(input.FilterExpression);
      const terms = filter ? parseFilter(filter) : undefined;
      const failed = (s: Input) => Boolean(s.HasFault || s.HasError || s.HasThrottle);
      const matches = (s: Input) => !terms || terms.some((term) => arr(s.ServiceIds).some((id) => refMatches(term.ref, obj(id))) && (!term.failedOnly || failed(s)));
      const found = [...index.summaries.values()].filter(({ t, summary }) => t >= w.from && t <= w.to && matches(summary)).sort(byTimeDesc);
      const page = pageOf(found, 'GetTraceSummaries', input.NextToken, pageSize('GetTraceSummaries'), 'InvalidRequestException');
      return {
        TraceSummaries: page.items.map(({ summary }) => shiftTimes(summary, ['StartTime'])),
        ApproximateTime: forward(Math.min(w.to, until)),
        TracesProcessedCount: found.length,
        ...(page.next ? { NextToken: page.next } : {}),
      };
    },
    BatchGetTraces: (input) => {
      const ids = arr(input.TraceIds).map(String);
      if (ids.length === 0 || ids.length > 5) fail('InvalidRequestException', `TraceIds must list 1 to 5 trace ids, got ${ids.length}`);
      const found = ids.flatMap((id) => (index.traces.has(id) ? [index.traces.get(id)!] : []));
      return {
        Traces: found.map((t) => ({
          ...clone(t),
          Segments: arr(t.Segments).map((seg) => {
            const s = obj(seg);
            const doc = typeof s.Document === 'string' ? (JSON.parse(s.Document) as Input) : obj(s.Document);
            return { Id: s.Id, Document: JSON.stringify(shiftDocument(doc)) };
          }),
        })),
        UnprocessedTraceIds: ids.filter((id) => !index.traces.has(id)),
      };
    },
  };

  // ───────── CloudWatch ─────────
  const cloudwatch: Record<string, Handler> = {
    GetMetricData: (input) => {
      const w = window(input, 'InvalidParameterValueException');
      if (w.from >= w.to) fail('InvalidParameterValueException', 'The parameter StartTime must be less than the parameter EndTime.');
      const queries = arr(input.MetricDataQueries).map(obj);
      if (queries.length === 0 || queries.length > 500) fail('InvalidParameterValueException', `MetricDataQueries must hold 1 to 500 queries, got ${queries.length}`);
      const seen = new Set<string>();
      for (const q of queries) {
        const id = str(q.Id);
        if (!id || !/^[a-z][a-zA-Z0-9_]*$/.test(id)) fail('InvalidParameterValueException', `The value ${JSON.stringify(q.Id)} for parameter MetricDataQueries.member.Id is invalid: it must start with a lower-case letter and hold only letters, digits and _`);
        if (seen.has(id!)) fail('InvalidParameterValueException', `The value ${id} for parameter MetricDataQueries.member.Id is not unique.`);
        seen.add(id!);
      }
      const descending = input.ScanBy !== 'TimestampAscending';
      const results = queries.map((q) => {
        const stat = obj(q.MetricStat);
        if (!q.MetricStat) return { id: String(q.Id), label: str(q.Label) ?? String(q.Id), points: [] as (readonly [number, number])[], unsupported: 'metric math (Expression) is not evaluated by the laptop fake' };
        const metric = obj(stat.Metric);
        const period = Number(stat.Period);
        if (!Number.isInteger(period) || period <= 0 || (period >= 60 && period % 60 !== 0)) fail('InvalidParameterValueException', `The parameter MetricDataQueries.member.MetricStat.Period must be 1, 5, 10, 30 or a multiple of 60, got ${JSON.stringify(stat.Period)}`);
        const dimensions = arr(metric.Dimensions).map((d) => ({ Name: String(obj(d).Name), Value: String(obj(d).Value) }));
        const recorded = index.metrics.get(metricKey(String(metric.Namespace), String(metric.MetricName), dimensions, String(stat.Stat)));
        const label = str(q.Label) ?? recorded?.label ?? String(metric.MetricName);
        if (!recorded) return { id: String(q.Id), label, points: [] };
        const inWindow = recorded.points.filter(([t]) => t >= w.from && t < w.to);
        const points: (readonly [number, number])[] = [];
        if (period <= recorded.period || period % recorded.period !== 0) points.push(...inWindow);
        else {
          // Periods on the clock's boundaries (a multiple of the period since the epoch, on the replay's clock).
          const buckets = new Map<number, number[]>();
          for (const [t, v] of inWindow) {
            const b = Math.floor((t + offset) / (period * 1000)) * period * 1000 - offset;
            buckets.set(b, [...(buckets.get(b) ?? []), v]);
          }
          for (const [t, vs] of [...buckets.entries()].sort((a, b) => a[0] - b[0])) points.push([t, aggregate(recorded.stat, vs)]);
        }
        return { id: String(q.Id), label, points: descending ? points.reverse() : points };
      });
      // Pages of at most `size` datapoints across the results; a result not finished on this page is PartialData.
      const flat = results.flatMap((r, ri) => r.points.map((_, pi) => [ri, pi] as const));
      const size = Math.min(pageSize('GetMetricData'), input.MaxDatapoints === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Number(input.MaxDatapoints)));
      const page = pageOf(flat, 'GetMetricData', input.NextToken, size, 'InvalidNextToken');
      const onPage = new Map<number, number[]>();
      for (const [ri, pi] of page.items) onPage.set(ri, [...(onPage.get(ri) ?? []), pi]);
      // A result's points are contiguous in `flat`: it is finished once its last point is on this page or an earlier one.
      const lastOf = new Map<number, number>();
      flat.forEach(([ri], i) => lastOf.set(ri, i));
      const end = page.offset + page.items.length;
      const finished = (ri: number) => (lastOf.get(ri) ?? -1) < end;
      return {
        MetricDataResults: results.map((r, ri) => {
          const picks = onPage.get(ri) ?? [];
          return {
            Id: r.id,
            Label: r.label,
            Timestamps: picks.map((pi) => forward(r.points[pi]![0])),
            Values: picks.map((pi) => r.points[pi]![1]),
            StatusCode: 'unsupported' in r ? 'InternalError' : finished(ri) ? 'Complete' : 'PartialData',
            ...('unsupported' in r ? { Messages: [{ Code: 'Unsupported', Value: r.unsupported }] } : {}),
          };
        }),
        Messages: [],
        ...(page.next ? { NextToken: page.next } : {}),
      };
    },
  };

  // ───────── CloudWatch Logs ─────────
  const groupNameOf = (value: string): string => value.replace(/^arn:[^:]+:logs:[^:]+:\d{12}:log-group:/, '').replace(/:\*$/, '');
  const logs: Record<string, Handler> = {
    DescribeLogGroups: (input) => {
      const prefix = str(input.logGroupNamePrefix) ?? '';
      const groups = [...index.groups].filter((g) => g.startsWith(prefix)).sort();
      const page = pageOf(groups, 'DescribeLogGroups', input.nextToken, Math.min(pageSize('DescribeLogGroups'), Number(input.limit ?? 50)), 'InvalidParameterException');
      return { logGroups: page.items.map((logGroupName) => ({ logGroupName, arn: `arn:aws:logs:${recording.region}:${recording.account}:log-group:${logGroupName}:*` })), ...(page.next ? { nextToken: page.next } : {}) };
    },
    StartQuery: (input) => {
      const names = [...arr(input.logGroupNames), ...arr(input.logGroupIdentifiers), ...(str(input.logGroupName) ? [input.logGroupName] : [])].map((g) => groupNameOf(String(g)));
      if (names.length === 0) fail('InvalidParameterException', 'one of logGroupName, logGroupNames or logGroupIdentifiers is required');
      if (names.length > 50) fail('InvalidParameterException', `a query may name at most 50 log groups, got ${names.length}`);
      for (const g of names) if (!index.groups.has(g)) fail('ResourceNotFoundException', `Log group '${g}' does not exist for account ID '${recording.account}'`);
      if (!str(input.queryString)) fail('InvalidParameterException', 'queryString is required');
      const w = window(input, 'InvalidParameterException', 'startTime', 'endTime');
      const limit = input.limit === undefined ? 10_000 : Number(input.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) fail('InvalidParameterException', `limit must be between 1 and 10000, got ${JSON.stringify(input.limit)}`);
      const queryId = randomUUID();
      queries.set(queryId, { groups: new Set(names), from: w.from, to: w.to, limit, polls: 0, stopped: false });
      return { queryId };
    },
    GetQueryResults: (input) => {
      const id = str(input.queryId) ?? fail('InvalidParameterException', 'queryId is required');
      const q = queries.get(id!) ?? fail('ResourceNotFoundException', `query ${id} does not exist`);
      q.polls += 1;
      const matched = index.rows.filter((r) => q.groups.has(r.group) && r.t >= q.from && r.t <= q.to);
      const statistics = (rows: readonly LogRow[]) => ({ recordsMatched: rows.length, recordsScanned: rows.length, bytesScanned: rows.reduce((n, r) => n + r.row.reduce((m, f) => m + f.value.length, 0), 0) });
      if (q.stopped) return { status: 'Cancelled', results: [], statistics: statistics([]) };
      if (q.polls <= runningPolls) return { status: 'Running', results: [], statistics: statistics([]) };
      const rows = matched.slice(0, q.limit);
      return {
        status: 'Complete',
        results: rows.map((r) => r.row.map((f) => ({ field: f.field, value: f.field === '@timestamp' ? insightsTime(r.t + offset) : f.field === '@message' ? shiftIsoInText(f.value, offset) : f.value }))),
        statistics: statistics(matched),
      };
    },
    StopQuery: (input) => {
      const q = queries.get(str(input.queryId) ?? '') ?? fail('ResourceNotFoundException', `query ${String(input.queryId)} does not exist`);
      const running = q.polls <= runningPolls && !q.stopped;
      q.stopped = true;
      return { success: running };
    },
  };

  // ───────── CloudTrail ─────────
  const LOOKUP_KEYS = ['EventId', 'EventName', 'ReadOnly', 'Username', 'ResourceType', 'ResourceName', 'EventSource', 'AccessKeyId'] as const;
  const cloudtrail: Record<string, Handler> = {
    LookupEvents: (input) => {
      const attributes = arr(input.LookupAttributes).map(obj);
      if (attributes.length > 1) fail('InvalidLookupAttributesException', 'You cannot specify more than one lookup attribute.');
      const attribute = attributes[0];
      const key = attribute ? String(attribute.AttributeKey) : undefined;
      const value = attribute ? String(attribute.AttributeValue ?? '') : undefined;
      if (key !== undefined && !(LOOKUP_KEYS as readonly string[]).includes(key)) fail('InvalidLookupAttributesException', `AttributeKey must be one of ${LOOKUP_KEYS.join(', ')}, got ${key}`);
      const max = input.MaxResults === undefined ? 50 : Number(input.MaxResults);
      if (!Number.isInteger(max) || max < 1 || max > 50) fail('InvalidMaxResultsException', `MaxResults must be between 1 and 50, got ${JSON.stringify(input.MaxResults)}`);
      // Without a window: CloudTrail's 90 days of event history up to now.
      const w = window(input, 'InvalidTimeRangeException', 'StartTime', 'EndTime', { from: until - 90 * 86_400_000, to: Number.POSITIVE_INFINITY });
      const matches = (e: Input): boolean => {
        if (key === undefined) return true;
        const resources = arr(e.Resources).map(obj);
        switch (key) {
          case 'ReadOnly':
            return String(e.ReadOnly ?? 'false') === value;
          case 'ResourceType':
            return resources.some((r) => r.ResourceType === value);
          case 'ResourceName':
            return resources.some((r) => r.ResourceName === value);
          default:
            return e[key] === value;
        }
      };
      const found = index.events.filter(({ t, event }) => t >= w.from && t <= w.to && matches(event));
      const page = pageOf(found, 'LookupEvents', input.NextToken, Math.min(max, pageSize('LookupEvents')), 'InvalidNextTokenException');
      return {
        Events: page.items.map(({ t, event }) => {
          const record = typeof event.CloudTrailEvent === 'string' ? (JSON.parse(event.CloudTrailEvent) as unknown) : event.CloudTrailEvent;
          return { ...clone(event), EventTime: forward(t), CloudTrailEvent: JSON.stringify(shiftIsoStrings(record, offset)) };
        }),
        ...(page.next ? { NextToken: page.next } : {}),
      };
    },
  };

  // ───────── CodeDeploy ─────────
  const shiftDeployment = (info: Input): Input => {
    const out = clone(info);
    for (const k of ['createTime', 'startTime', 'completeTime']) if (typeof out[k] === 'string') out[k] = forward(parseIsoTime(out[k] as string));
    return out;
  };
  const codedeploy: Record<string, Handler> = {
    ListDeployments: (input) => {
      const range = obj(input.createTimeRange);
      const w = window(range, 'InvalidTimeRangeException', 'start', 'end', { from: Number.NEGATIVE_INFINITY, to: Number.POSITIVE_INFINITY });
      const statuses = arr(input.includeOnlyStatuses).map(String);
      const found = [...index.deployments.entries()]
        .filter(([, d]) => d.t >= w.from && d.t <= w.to && (statuses.length === 0 || statuses.includes(String(d.info.status))) && (!input.applicationName || d.info.applicationName === input.applicationName) && (!input.deploymentGroupName || d.info.deploymentGroupName === input.deploymentGroupName))
        .sort((a, b) => b[1].t - a[1].t)
        .map(([id]) => id);
      const page = pageOf(found, 'ListDeployments', input.nextToken, pageSize('ListDeployments'), 'InvalidNextTokenException');
      return { deployments: page.items, ...(page.next ? { nextToken: page.next } : {}) };
    },
    BatchGetDeployments: (input) => {
      const ids = arr(input.deploymentIds).map(String);
      if (ids.length === 0 || ids.length > 25) fail('BatchLimitExceededException', `deploymentIds must list 1 to 25 ids, got ${ids.length}`);
      return { deploymentsInfo: ids.flatMap((id) => (index.deployments.has(id) ? [shiftDeployment(index.deployments.get(id)!.info)] : [])) };
    },
    GetDeploymentGroup: (input) => {
      const group = index.deploymentGroups.get(`${String(input.applicationName)}\u0000${String(input.deploymentGroupName)}`);
      return group ? clone(group) : fail('DeploymentGroupDoesNotExistException', `No deployment group ${String(input.deploymentGroupName)} in application ${String(input.applicationName)}`);
    },
  };

  // ───────── tags ─────────
  const tagging: Record<string, Handler> = {
    GetResources: (input) => {
      const filters = arr(input.TagFilters).map(obj);
      const types = arr(input.ResourceTypeFilters).map(String);
      const arns = arr(input.ResourceARNList).map(String);
      const perPage = input.ResourcesPerPage === undefined ? 50 : Number(input.ResourcesPerPage);
      if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100) fail('InvalidParameterException', `ResourcesPerPage must be between 1 and 100, got ${JSON.stringify(input.ResourcesPerPage)}`);
      const found = [...index.tagged.values()].filter((m) => {
        const tags = new Map(arr(m.Tags).map((t) => [String(obj(t).Key), String(obj(t).Value)]));
        const arn = String(m.ResourceARN);
        const [, , service, , , resource] = arn.split(':');
        const kind = `${service}:${(resource ?? '').split(/[/:]/)[0]}`;
        return (
          filters.every((f) => tags.has(String(f.Key)) && (arr(f.Values).length === 0 || arr(f.Values).map(String).includes(tags.get(String(f.Key))!))) &&
          (types.length === 0 || types.some((t) => t === service || t === kind)) &&
          (arns.length === 0 || arns.includes(arn))
        );
      });
      const page = pageOf(found, 'GetResources', input.PaginationToken, Math.min(perPage, pageSize('GetResources')), 'PaginationTokenExpiredException');
      return { ResourceTagMappingList: page.items.map(clone), PaginationToken: page.next ?? '' };
    },
  };

  // ───────── SSM ─────────
  /** A parameter's name from a name or an ARN (`parameter/a/b` is `/a/b`, `parameter/name` is `name`). */
  const parameterName = (value: unknown): string => {
    const name = str(value) ?? fail('ValidationException', "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must not be null");
    const fromArn = /^arn:[^:]+:ssm:[^:]*:\d{12}:parameter\/(.+)$/.exec(name!)?.[1];
    return fromArn === undefined ? name! : fromArn.includes('/') ? `/${fromArn}` : fromArn;
  };
  const shiftParameter = (p: Input): Input => ({ ...clone(p), ...(typeof p.LastModifiedDate === 'string' ? { LastModifiedDate: forward(parseIsoTime(p.LastModifiedDate)) } : typeof p.LastModifiedDate === 'number' ? { LastModifiedDate: p.LastModifiedDate } : {}) });
  const ssm: Record<string, Handler> = {
    GetParameter: (input) => {
      const name = parameterName(input.Name);
      const p = index.parameters.get(name) ?? fail('ParameterNotFound', `Parameter ${name} not found.`);
      const out = shiftParameter(p!.current);
      return { Parameter: { ...out, ARN: out.ARN ?? `arn:aws:ssm:${recording.region}:${recording.account}:parameter/${name.replace(/^\//, '')}` } };
    },
    GetParameterHistory: (input) => {
      const name = parameterName(input.Name);
      const p = index.parameters.get(name) ?? fail('ParameterNotFound', `Parameter ${name} not found.`);
      const max = input.MaxResults === undefined ? 50 : Number(input.MaxResults);
      if (!Number.isInteger(max) || max < 1 || max > 50) fail('ValidationException', `MaxResults must be between 1 and 50, got ${JSON.stringify(input.MaxResults)}`);
      const page = pageOf(p!.history, 'GetParameterHistory', input.NextToken, Math.min(max, pageSize('GetParameterHistory')), 'InvalidNextToken');
      return { Parameters: page.items.map(shiftParameter), ...(page.next ? { NextToken: page.next } : {}) };
    },
    PutParameter: (input) => {
      const name = parameterName(input.Name);
      const value = typeof input.Value === 'string' ? input.Value : fail('ValidationException', "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must not be null");
      const existing = index.parameters.get(name);
      if (existing && input.Overwrite !== true) fail('ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
      const type = str(input.Type) ?? (existing?.current.Type as string | undefined) ?? fail('ValidationException', 'Type is required for a new parameter');
      const version = Number(existing?.current.Version ?? 0) + 1;
      // Written now: on the recording's clock, now − offset, so a later read shifts it back to now.
      const current: Input = { Name: name, Type: type, Value: value, Version: version, LastModifiedDate: Date.now() / 1000 - offset / 1000, DataType: str(input.DataType) ?? 'text' };
      const state = existing ?? { current, history: [] };
      state.current = current;
      state.history.push(current);
      index.parameters.set(name, state);
      return { Version: version, Tier: 'Standard' };
    },
  };

  // ───────── Lambda (REST) ─────────
  const aliasOf = (functionName: string, name: string): Alias => {
    const fn = functionNameOf(functionName) ?? fail('ValidationException', `FunctionName ${JSON.stringify(functionName)} is not a function name or ARN`, 400);
    return index.aliases.get(`${fn}:${name}`) ?? fail('ResourceNotFoundException', `Alias not found: arn:aws:lambda:${recording.region}:${recording.account}:function:${fn}:${name}`, 404);
  };
  const lambda = {
    GetAlias: (input: Input) => clone(aliasOf(String(input.FunctionName), String(input.Name)).config),
    UpdateAlias: (input: Input) => {
      const alias = aliasOf(String(input.FunctionName), String(input.Name));
      const config = alias.config;
      if (input.RevisionId !== undefined && input.RevisionId !== config.RevisionId) fail('PreconditionFailedException', 'The Revision Id provided does not match the latest Revision Id. Call the GetAlias API to retrieve the latest Revision Id', 412);
      if (input.FunctionVersion !== undefined && !/^(\$LATEST|\d+)$/.test(String(input.FunctionVersion))) fail('InvalidParameterValueException', `FunctionVersion must be a version number or $LATEST, got ${JSON.stringify(input.FunctionVersion)}`);
      if (input.FunctionVersion !== undefined) config.FunctionVersion = String(input.FunctionVersion);
      if (input.Description !== undefined) config.Description = input.Description;
      if (input.RoutingConfig !== undefined) config.RoutingConfig = input.RoutingConfig;
      config.RevisionId = randomUUID();
      return clone(config);
    },
  };

  // ───────── dispatch ─────────
  const jsonServices: Readonly<Record<string, { readonly service: string; readonly contentType: string; readonly operations: Record<string, Handler> }>> = {
    GraniteServiceVersion20100801: { service: 'cloudwatch', contentType: 'application/x-amz-json-1.0', operations: cloudwatch },
    Logs_20140328: { service: 'logs', contentType: 'application/x-amz-json-1.1', operations: logs },
    CloudTrail_20131101: { service: 'cloudtrail', contentType: 'application/x-amz-json-1.1', operations: cloudtrail },
    CodeDeploy_20141006: { service: 'codedeploy', contentType: 'application/x-amz-json-1.1', operations: codedeploy },
    ResourceGroupsTaggingAPI_20170126: { service: 'tagging', contentType: 'application/x-amz-json-1.1', operations: tagging },
    AmazonSSM: { service: 'ssm', contentType: 'application/x-amz-json-1.1', operations: ssm },
    // Served by the aws actions adapter, not recorded here: every operation is UnknownOperationException.
    AmazonEC2ContainerServiceV20141113: { service: 'ecs', contentType: 'application/x-amz-json-1.1', operations: {} },
  };
  const XRAY_PATHS: Readonly<Record<string, string>> = { '/ServiceGraph': 'GetServiceGraph', '/TimeSeriesServiceStatistics': 'GetTimeSeriesServiceStatistics', '/TraceSummaries': 'GetTraceSummaries', '/Traces': 'BatchGetTraces' };
  const ALIAS_PATH = /^\/2015-03-31\/functions\/([^/]+)\/aliases\/([^/]+)$/;

  const readInput = async (req: IncomingMessage): Promise<Input> => {
    const raw = await readBody(req, MAX_REQUEST_BYTES);
    if (raw.length === 0) return {};
    let input: unknown;
    try {
      input = JSON.parse(raw.toString('utf8'));
    } catch {
      return fail('SerializationException', 'the request body is not valid JSON');
    }
    if (!input || typeof input !== 'object' || Array.isArray(input)) fail('SerializationException', 'the request body must be a JSON object');
    return input as Input;
  };

  /** Which service and operation a request is, and how to answer it. */
  const route = async (req: IncomingMessage): Promise<{ service: string; operation: string; contentType: string; input: Input; run: () => unknown }> => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const url = new URL(req.url ?? '/', 'http://fake');
    if (target) {
      const dot = target.lastIndexOf('.');
      const prefix = target.slice(0, dot);
      const json = Object.hasOwn(jsonServices, prefix) ? jsonServices[prefix] : undefined;
      const operation = target.slice(dot + 1);
      const input = await readInput(req);
      const handler: Handler | undefined = json && Object.hasOwn(json.operations, operation) ? json.operations[operation] : undefined;
      return { service: json?.service ?? target.slice(0, dot), operation, contentType: json?.contentType ?? 'application/x-amz-json-1.1', input, run: () => (handler && req.method === 'POST' ? handler(input) : unknown(target)) };
    }
    const xrayOperation = Object.hasOwn(XRAY_PATHS, url.pathname) ? XRAY_PATHS[url.pathname] : undefined;
    if (xrayOperation && req.method === 'POST') {
      const input = await readInput(req);
      return { service: 'xray', operation: xrayOperation, contentType: 'application/json', input, run: () => xray[xrayOperation]!(input) };
    }
    const alias = ALIAS_PATH.exec(url.pathname);
    if (alias && (req.method === 'GET' || req.method === 'PUT')) {
      const body = req.method === 'PUT' ? await readInput(req) : {};
      const input = { ...body, FunctionName: decodeURIComponent(alias[1]!), Name: decodeURIComponent(alias[2]!) };
      const operation = req.method === 'GET' ? 'GetAlias' : 'UpdateAlias';
      return { service: 'lambda', operation, contentType: 'application/json', input, run: () => lambda[operation](input) };
    }
    req.resume();
    return { service: 'unknown', operation: `${req.method} ${url.pathname}`, contentType: 'application/json', input: {}, run: () => unknown(`${req.method} ${url.pathname}`) };
  };
  const unknown = (what: string): never => fail('UnknownOperationException', `the recorded AWS account (laptop fake, recording "${recording.name}") does not serve ${what}`, 404);

  const answer = (res: ServerResponse, contentType: string, error: AwsServiceError) =>
    sendJson(res, error.status, contentType.includes('amz-json') ? { __type: error.type, message: error.message } : { Type: 'User', message: error.message, Message: error.message }, { 'content-type': contentType, 'x-amzn-errortype': error.type, 'x-amzn-requestid': randomUUID() });

  const server: Server = createServer(async (req, res) => {
    let routed: Awaited<ReturnType<typeof route>> | undefined;
    try {
      routed = await route(req);
      const output = routed.run();
      calls.push({ service: routed.service, operation: routed.operation, input: routed.input });
      sendJson(res, 200, output ?? {}, { 'content-type': routed.contentType, 'x-amzn-requestid': randomUUID() });
    } catch (error) {
      const e = error instanceof AwsServiceError ? error : error instanceof BodyTooLarge ? new AwsServiceError('ValidationException', error.message, 413) : new AwsServiceError('InternalFailure', error instanceof Error ? error.message : String(error), 500);
      calls.push({ service: routed?.service ?? 'unknown', operation: routed?.operation ?? String(req.headers['x-amz-target'] ?? req.url), input: routed?.input ?? {}, error: `${e.type}: ${e.message}` });
      answer(res, routed?.contentType ?? 'application/json', e);
    }
  });
  await listen(server, options.port ?? 0);
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    offsetMs: offset,
    anchor,
    recording,
    calls: () => [...calls],
    alarmEvent: () => {
      const event = clone(recording.alarm) as Input;
      const detail = obj(event.detail);
      const shiftAt = (o: Input, key: string) => {
        if (typeof o[key] === 'string') o[key] = new Date(parseIsoTime(o[key] as string) + offset).toISOString();
      };
      shiftAt(event, 'time');
      shiftAt(obj(detail.state), 'timestamp');
      shiftAt(obj(detail.previousState), 'timestamp');
      return event;
    },
    configuration: () => ({ ...recording.configuration }),
    stop: () => closeServer(server),
  };
};

/** X-Ray statistics of one period: counts, response times and histograms summed. */
const sumStatistics = (entries: readonly Input[]): Input => {
  const sumOf = (pick: (e: Input) => unknown) => entries.reduce((n, e) => n + (typeof pick(e) === 'number' ? (pick(e) as number) : 0), 0);
  const stats = (key: 'ServiceSummaryStatistics' | 'EdgeSummaryStatistics') => {
    const present = entries.filter((e) => e[key]);
    if (present.length === 0) return undefined;
    const s = (e: Input) => obj(e[key]);
    return {
      OkCount: sumOf((e) => s(e).OkCount),
      ErrorStatistics: { ThrottleCount: sumOf((e) => obj(s(e).ErrorStatistics).ThrottleCount), OtherCount: sumOf((e) => obj(s(e).ErrorStatistics).OtherCount), TotalCount: sumOf((e) => obj(s(e).ErrorStatistics).TotalCount) },
      FaultStatistics: { OtherCount: sumOf((e) => obj(s(e).FaultStatistics).OtherCount), TotalCount: sumOf((e) => obj(s(e).FaultStatistics).TotalCount) },
      TotalCount: sumOf((e) => s(e).TotalCount),
      TotalResponseTime: sumOf((e) => s(e).TotalResponseTime),
    };
  };
  const histogram = new Map<number, number>();
  for (const e of entries) for (const h of arr(e.ResponseTimeHistogram).map(obj)) if (typeof h.Value === 'number') histogram.set(h.Value, (histogram.get(h.Value) ?? 0) + Number(h.Count ?? 0));
  const service = stats('ServiceSummaryStatistics');
  const edge = stats('EdgeSummaryStatistics');
  return {
    ...(service ? { ServiceSummaryStatistics: service } : {}),
    ...(edge ? { EdgeSummaryStatistics: edge } : {}),
    ResponseTimeHistogram: [...histogram.entries()].sort((a, b) => a[0] - b[0]).map(([Value, Count]) => ({ Value, Count })),
  };
};
