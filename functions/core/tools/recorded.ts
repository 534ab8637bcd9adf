/**
 * The recorded adapter of every tool port: it serves the recorded incident (recorded/format.ts) registered under
 * `scope.environment` (recorded/store.ts), so `autopilot eval` runs a real incident through the whole workflow
 * exactly as it runs a simulated world.
 *
 * Time: a replay maps the recording's `recordedUntil` to its anchor. Every time returned is shifted by
 * (anchor − recordedUntil); query windows are shifted back; nothing after `recordedUntil` exists (a window's end is
 * clamped to it, as the simulated adapter clamps to now).
 *
 * What it returns is what was recorded, never more:
 * - metrics at their recorded resolution; a gap (`null`) is a missing point, never a zero. A coarser
 *   `resolutionSeconds` averages the points of each period (periods start at the window's start, as CloudWatch's
 *   GetMetricData counts them); a finer one gets the recorded points;
 * - a section the recording left out (no `logs`, `traces`, `changes`, `history`, `oncall`, `ownership` or
 *   `metrics` key) was not recorded: the tool fails with ToolUnavailable, and the agent records a gap rather than
 *   reading "nothing there" as healthy;
 * - `recordIncident` keeps the incident in memory for the replay (the recording is never written);
 * - `actions.execute` runs nothing: status `failed`, "a recorded incident cannot be changed".
 *
 * The answer key (`expect`) and the recording's description and source never leave this module; a test serialises
 * every tool result to make sure of it.
 */
import { byCodeUnit } from '../compare.ts';
import type { RecordedSeries } from '../recorded/format.ts';
import type { RecordingSource, Replay, Section } from '../recorded/store.ts';
import { connectedTopology, copyChange, parseQueryTime, rankPastIncidents } from './replay-common.ts';
import type { ChangeRequest, LogLine, MetricPoint, MetricSeries, OnCallEntry, Ownership, PastIncident, ServiceNode, Span, ToolScope, Tools, Trace } from './ports.ts';
import { ToolUnavailable } from './ports.ts';

/** How a replay's action result begins: nothing was run (eval tells this failure from a real one by it). */
export const RECORDED_ACTION_REFUSED = 'a recorded incident cannot be changed';

export class InvalidRecordedQuery extends ToolUnavailable {
  override name = 'InvalidRecordedQuery';
}

/** At most this many points per series: a long window at a fine resolution is averaged rather than returned whole. */
export const MAX_POINTS = 1440;
const TRACE_LIMIT = { default: 10, max: 100 } as const;
const LOG_LIMIT = { default: 1000, max: 10_000 } as const;
const LEVELS: readonly LogLine['level'][] = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
const iso = (ms: number): string => new Date(ms).toISOString();

/** What a replay is read into once (per replay, not per query): times parsed, lists by service. */
interface Index {
  readonly until: number;
  readonly seriesByService: ReadonlyMap<string, readonly { readonly s: RecordedSeries; readonly start: number }[]>;
  readonly logsByService: ReadonlyMap<string, readonly { readonly line: RecordedLogLineLike; readonly at: number }[]>;
  readonly traces: readonly { readonly trace: Trace; readonly at: number; readonly services: ReadonlySet<string> }[];
  readonly changes: readonly { readonly change: ChangeRequest; readonly at: number }[];
  readonly nodes: readonly ServiceNode[];
}
type RecordedLogLineLike = Omit<LogLine, 'timestamp'>;

const byTime = <T extends { at: number }>(a: T, b: T) => a.at - b.at;

const indexOf = (replay: Replay): Index => {
  const r = replay.recording;
  const seriesByService = new Map<string, { s: RecordedSeries; start: number }[]>();
  for (const s of r.metrics) {
    const list = seriesByService.get(s.service) ?? [];
    list.push({ s, start: Date.parse(s.start) });
    seriesByService.set(s.service, list);
  }
  const logsByService = new Map<string, { line: RecordedLogLineLike; at: number }[]>();
  for (const { timestamp, ...line } of r.logs) {
    const list = logsByService.get(line.service) ?? [];
    list.push({ line, at: Date.parse(timestamp) });
    logsByService.set(line.service, list);
  }
  for (const list of logsByService.values()) list.sort(byTime);
  const traces = r.traces
    .map((t) => ({ trace: t as Trace, at: Date.parse(t.startedAt), services: new Set([t.rootService, ...t.spans.map((s) => s.service)]) }))
    .sort(byTime);
  const changes = r.changes.map((c) => ({ change: c as ChangeRequest, at: Date.parse(c.deployedAt) })).sort(byTime);
  // ServiceNode as every adapter returns it: the node's recorded `type` is not part of the port.
  const nodes = r.topology.map((n) => ({ name: n.name, tier: n.tier, calls: [...n.calls] }));
  return { until: Date.parse(r.recordedUntil), seriesByService, logsByService, traces, changes, nodes };
};

/** Evenly spaced picks of `n` items out of `items` (oldest to newest kept in order). */
const spread = <T>(items: readonly T[], n: number): T[] => {
  if (items.length <= n) return [...items];
  return Array.from({ length: n }, (_, k) => items[Math.floor((k * items.length) / n)] as T);
};

export const recordedTools = (source: RecordingSource, opts: { clock?: () => Date } = {}): Tools => {
  const clock = opts.clock ?? (() => new Date());
  const indexes = new WeakMap<Replay, Index>();
  /** Incidents recorded during a replay (`recordIncident`), per replay id. */
  const recordedIncidents = new Map<string, PastIncident[]>();

  const replayOf = async (tool: string, scope: ToolScope): Promise<{ replay: Replay; index: Index }> => {
    const id = scope.environment;
    if (!id) throw new ToolUnavailable(tool, 'no environment in the tool scope: the recorded tools need the replay id (the alert\'s "environment")');
    let replay: Replay | undefined;
    try {
      replay = await source.get(id);
    } catch (error) {
      throw new ToolUnavailable(tool, `cannot read recording "${id}": ${(error as Error).message}`, { cause: error });
    }
    if (!replay) throw new ToolUnavailable(tool, `environment "${id}" is not a recording known to ${source.describe}`);
    let index = indexes.get(replay);
    if (!index) {
      index = indexOf(replay);
      indexes.set(replay, index);
    }
    return { replay, index };
  };

  const need = (tool: string, replay: Replay, section: Section, what: string): void => {
    if (!replay.sections.has(section)) throw new ToolUnavailable(tool, `recording "${replay.recording.name}" holds no ${what} (its "${section}" section was not recorded)`);
  };

  /** The query window on the recording's clock: shifted back, its end clamped to the end of the recording and to now. */
  const window = (tool: string, replay: Replay, index: Index, q: { from: string; to: string }) => {
    const invalid = (message: string) => new InvalidRecordedQuery(tool, message);
    const from = parseQueryTime('from', q.from, invalid);
    const to = parseQueryTime('to', q.to, invalid);
    if (from > to) throw new InvalidRecordedQuery(tool, `from (${q.from}) is after to (${q.to})`);
    return { from: from - replay.offsetMs, to: Math.min(to - replay.offsetMs, index.until, clock().getTime() - replay.offsetMs) };
  };

  /** One recorded series over [from, to] (recorded clock), at `wantMs` or its own resolution if finer is asked. */
  const seriesPoints = (s: RecordedSeries, start: number, from: number, to: number, wantMs: number | undefined, offsetMs: number): MetricPoint[] => {
    const step = s.resolutionSeconds * 1000;
    const first = Math.max(0, Math.ceil((from - start) / step));
    const last = Math.min(s.values.length - 1, Math.floor((to - start) / step));
    if (last < first) return [];
    // Coarser than recorded (asked, or needed to stay within MAX_POINTS): the mean of each period's points.
    const capMs = Math.ceil((to - from) / MAX_POINTS / step) * step;
    const period = Math.max(wantMs ?? 0, capMs);
    const out: MetricPoint[] = [];
    if (period <= step) {
      for (let i = first; i <= last; i++) {
        const v = s.values[i];
        if (v !== null && v !== undefined) out.push({ t: iso(start + i * step + offsetMs), v });
      }
      return out;
    }
    let bucket = -1;
    let sum = 0;
    let n = 0;
    const flush = () => {
      if (n > 0) out.push({ t: iso(from + bucket * period + offsetMs), v: sum / n });
    };
    for (let i = first; i <= last; i++) {
      const b = Math.floor((start + i * step - from) / period);
      if (b !== bucket) {
        flush();
        bucket = b;
        sum = 0;
        n = 0;
      }
      const v = s.values[i];
      if (v !== null && v !== undefined) {
        sum += v;
        n += 1;
      }
    }
    flush();
    return out;
  };

  const shiftTrace = (t: Trace, offsetMs: number): Trace => ({
    traceId: t.traceId,
    rootService: t.rootService,
    startedAt: iso(Date.parse(t.startedAt) + offsetMs),
    totalMs: t.totalMs,
    status: t.status,
    spans: t.spans.map(
      (s): Span => ({
        spanId: s.spanId,
        ...(s.parentSpanId !== undefined ? { parentSpanId: s.parentSpanId } : {}),
        service: s.service,
        operation: s.operation,
        startedAt: iso(Date.parse(s.startedAt) + offsetMs),
        durationMs: s.durationMs,
        status: s.status,
        ...(s.error !== undefined ? { error: s.error } : {}),
      }),
    ),
  });

  const shiftChange = (c: ChangeRequest, at: number, offsetMs: number): ChangeRequest => copyChange(c, iso(at + offsetMs), c.state);

  return {
    telemetry: {
      async queryMetrics(q) {
        // A recording holds service-wide series only.
        if (q.groupBy?.length) return [];
        const { replay, index } = await replayOf('telemetry', q);
        need('telemetry', replay, 'metrics', 'metrics');
        const { from, to } = window('telemetry', replay, index, q);
        if (q.resolutionSeconds !== undefined && !(Number.isFinite(q.resolutionSeconds) && q.resolutionSeconds > 0)) {
          throw new InvalidRecordedQuery('telemetry', `resolutionSeconds must be a positive number of seconds, got ${q.resolutionSeconds}`);
        }
        const wantMs = q.resolutionSeconds !== undefined ? q.resolutionSeconds * 1000 : undefined;
        const metrics = q.metrics && q.metrics.length > 0 ? new Set<string>(q.metrics) : undefined;
        const out: MetricSeries[] = [];
        for (const service of new Set(q.services)) {
          for (const { s, start } of index.seriesByService.get(service) ?? []) {
            if (metrics && !metrics.has(s.metric)) continue;
            out.push({ service: s.service, metric: s.metric, unit: s.unit, points: to < from ? [] : seriesPoints(s, start, from, to, wantMs, replay.offsetMs) });
          }
        }
        return out;
      },

      async getTraces(q) {
        const { replay, index } = await replayOf('telemetry', q);
        need('telemetry', replay, 'traces', 'traces');
        const { from, to } = window('telemetry', replay, index, q);
        const services = new Set(q.services);
        const limit = Math.min(TRACE_LIMIT.max, Math.max(1, q.limit ?? TRACE_LIMIT.default));
        // X-Ray's `service("x")` filter: every trace that passes through one of the services.
        const inWindow = index.traces.filter((t) => t.at >= from && t.at <= to && [...services].some((s) => t.services.has(s)) && (!q.errorsOnly || t.trace.status === 'ERROR'));
        // Errors only: the newest failing ones; else spread over the window. Oldest first either way.
        const picked = q.errorsOnly ? inWindow.slice(-limit) : spread(inWindow, limit);
        return picked.map((t) => shiftTrace(t.trace, replay.offsetMs));
      },

      async getTopology(q) {
        const { index } = await replayOf('telemetry', q);
        const nodes = index.nodes.map((n) => ({ name: n.name, tier: n.tier, calls: [...n.calls] }));
        if (!q.services || q.services.length === 0) return nodes;
        return connectedTopology(nodes, q.services);
      },
    },

    changes: {
      async listChanges(q) {
        const { replay, index } = await replayOf('changes', q);
        need('changes', replay, 'changes', 'change records');
        const { from, to } = window('changes', replay, index, q);
        const services = q.services && q.services.length > 0 ? new Set(q.services) : undefined;
        return index.changes
          .filter(({ change, at }) => at >= from && at <= to && (!services || services.has(change.service)))
          .reverse() // newest first, as the other change adapters answer
          .map(({ change, at }) => shiftChange(change, at, replay.offsetMs));
      },

      async searchIncidents(q) {
        const { replay, index } = await replayOf('changes', q);
        const during = recordedIncidents.get(replay.id) ?? [];
        if (!replay.sections.has('history') && during.length === 0) need('changes', replay, 'history', 'incident history');
        const now = Math.min(index.until, clock().getTime() - replay.offsetMs);
        const history: PastIncident[] = replay.recording.history
          .filter((h) => Date.parse(h.openedAt) <= now)
          .map((h) => ({
            id: h.id,
            title: h.title,
            service: h.service,
            openedAt: iso(Date.parse(h.openedAt) + replay.offsetMs),
            ...(h.resolvedAt ? { resolvedAt: iso(Date.parse(h.resolvedAt) + replay.offsetMs) } : {}),
            ...(h.category !== undefined ? { category: h.category } : {}),
            rootCause: h.rootCause,
            resolution: h.resolution,
            ...(h.resolutionMinutes !== undefined ? { resolutionMinutes: h.resolutionMinutes } : {}),
            tags: [...h.tags],
          }));
        return rankPastIncidents([...history, ...during], q);
      },

      async recordIncident(q) {
        const { replay } = await replayOf('changes', q);
        // Kept for the replay only (a later search in the same replay finds it); idempotent by incident id, the last
        // record of an id replacing its entry (people correcting what the autopilot recorded), as the simulated world does.
        const list = recordedIncidents.get(replay.id) ?? [];
        const copy = { ...q.incident, tags: [...q.incident.tags] };
        const at = list.findIndex((i) => i.id === q.incident.id);
        if (at < 0) list.push(copy);
        else list[at] = copy;
        recordedIncidents.set(replay.id, list);
      },
    },

    logs: {
      async search(q) {
        const { replay, index } = await replayOf('logs', q);
        need('logs', replay, 'logs', 'logs');
        const { from, to } = window('logs', replay, index, q);
        const minRank = LEVELS.indexOf(q.minLevel ?? 'DEBUG');
        const limit = Math.min(LOG_LIMIT.max, Math.max(1, q.limit ?? LOG_LIMIT.default));
        const lines: { line: RecordedLogLineLike; at: number }[] = [];
        for (const service of new Set(q.services)) {
          for (const l of index.logsByService.get(service) ?? []) if (l.at >= from && l.at <= to && LEVELS.indexOf(l.line.level) >= minRank) lines.push(l);
        }
        // The newest `limit` lines, oldest first.
        lines.sort((a, b) => a.at - b.at || byCodeUnit(a.line.service, b.line.service));
        return lines.slice(-limit).map(({ line, at }) => ({
          timestamp: iso(at + replay.offsetMs),
          service: line.service,
          level: line.level,
          message: line.message,
          ...(line.host !== undefined ? { host: line.host } : {}),
          ...(line.traceId !== undefined ? { traceId: line.traceId } : {}),
        }));
      },
    },

    oncall: {
      async getOnCall(q) {
        const { replay } = await replayOf('oncall', q);
        need('oncall', replay, 'oncall', 'on-call data');
        const services = new Set(q.services);
        return replay.recording.oncall
          .filter((o) => services.has(o.service))
          .map((o): OnCallEntry => ({ service: o.service, primary: { ...o.primary }, ...(o.escalation ? { escalation: { ...o.escalation } } : {}) }));
      },
      async getOwnership(q) {
        const { replay } = await replayOf('oncall', q);
        need('oncall', replay, 'ownership', 'ownership data');
        const services = new Set(q.services);
        return replay.recording.ownership.filter((o) => services.has(o.service)).map((o): Ownership => ({ ...o }));
      },
    },

    actions: {
      async execute(q) {
        const { replay } = await replayOf('actions', q);
        const what = [q.action.kind, q.action.service, q.action.target].filter(Boolean).join(' ');
        // Honest: nothing was run, and nothing can be (the recording is the past).
        return { status: 'failed', detail: `${RECORDED_ACTION_REFUSED}: ${what} was not run (replay "${replay.id}" of recording "${replay.recording.name}")` };
      },
    },
  };
};
