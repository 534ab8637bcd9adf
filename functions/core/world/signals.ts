/**
 * Traces and logs, derived from the world's metrics at the moment they are emitted (dynamics.ts): a span is
 * slow or failing because its service is, an error line appears because requests fail. Background logs give a
 * log-template miner real work: many templates, varying numbers, ids and hosts.
 */
import type { LogLine, Span, Trace } from '../tools/ports.ts';
import { jobRuns, snapshotAt, worldMinuteStart, worldOrigin, type ServiceState, type Snapshot } from './dynamics.ts';
import { hex, keyPrefix, uniform, type KeyPrefix } from './random.ts';
import type { ServiceSpec } from './scenario.ts';
import type { WorldState } from './world.ts';
import { byCodeUnit } from '../compare.ts';

const MINUTE = 60_000;
const TRACE_SLOT = 30_000;
const MAX_TRACE_DEPTH = 5;
/** Logs are generated for at most this long a window (the most recent part of a longer one). */
const MAX_LOG_WINDOW = 24 * 60 * MINUTE;
const MAX_LINES_PER_TEMPLATE_MINUTE = 600;
/** Error lines a caller writes per failed downstream call (most failures are counted, few are logged). */
const DOWNSTREAM_LOGS_PER_FAILED_REQUEST = 0.002;

type Level = LogLine['level'];
const LEVELS: readonly Level[] = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

/** The world at the start of t's minute (snapshotAt keeps the snapshots, so every query of a world shares them). */
const minuteSnapshot = (world: WorldState, t: number): Snapshot => snapshotAt(world, worldMinuteStart(world, t));

const pad = (width: number) => (_: unknown, i: number) => String(i).padStart(width, '0');
const SECONDS = Array.from({ length: 60 }, pad(2));
const MILLISECONDS = Array.from({ length: 1000 }, pad(3));
/** Largest |epoch ms| a Date holds. */
const MAX_DATE = 8.64e15;
// The minute `isoTime` formatted last, and its ISO string up to the seconds.
let lastMinute = Number.NaN;
let lastMinuteHead = '';

/**
 * `new Date(ms).toISOString()`, without a date conversion per call: the minute's ISO string up to its seconds
 * is formatted once and the seconds and milliseconds appended. A trace's spans, and the lines of one minute,
 * share their minute.
 */
const isoTime = (ms: number): string => {
  const t = Math.trunc(ms); // what Date keeps of a fractional time
  if (!(Math.abs(t) <= MAX_DATE)) return new Date(t).toISOString(); // throws, as Date does
  const minute = Math.floor(t / MINUTE) * MINUTE;
  if (minute !== lastMinute) {
    lastMinuteHead = new Date(minute).toISOString().slice(0, -'00.000Z'.length);
    lastMinute = minute;
  }
  const offset = t - minute;
  return `${lastMinuteHead}${SECONDS[Math.floor(offset / 1000)]}.${MILLISECONDS[offset % 1000]}Z`;
};

const shortName = (name: string) => name.replace(/-(service|svc|api)$/, '');

const DEFAULT_OPERATIONS: Record<ServiceSpec['tier'], (s: string) => string[]> = {
  frontend: (s) => ['GET /', `GET /${s}`, `POST /api/${s}`],
  backend: (s) => [`GET /api/v1/${s}`, `POST /api/v1/${s}`, `GET /api/v1/${s}/{id}`],
  database: (s) => [`SELECT ${s}`, `UPDATE ${s}`, `INSERT ${s}`],
  cache: () => ['GET', 'SET', 'MGET'],
  external: (s) => [`POST https://${s}/v1/requests`],
  queue: (s) => [`publish ${s}`],
  job: (s) => [`run ${s}`, `batch ${s}`],
};

export const operationsOf = (s: ServiceSpec): string[] => (s.operations.length > 0 ? s.operations : DEFAULT_OPERATIONS[s.tier](shortName(s.name)));

/** Pod-style host names: `<service>-<replicaset hash>-<pod suffix>`, stable per world. */
export const hostsOf = (world: WorldState, s: ServiceSpec): string[] =>
  Array.from({ length: s.replicas }, (_, k) => `${s.name}-${hex(9, world.id, s.name, 'rs')}-${hex(5, world.id, s.name, 'pod', k)}`);

// ───────────────────────────── traces ─────────────────────────────

export interface TraceQuery {
  readonly services: readonly string[];
  readonly from: number;
  readonly to: number;
  readonly limit?: number;
  readonly errorsOnly?: boolean;
}

/**
 * Traces rooted at each requested service, spans following the call graph. Without `errorsOnly`, spread
 * evenly over the window (newest last); with it, the newest failing ones. Deterministic per world and slot;
 * slots are counted from the world's origin, so the same world seeded later draws the same traces. A trace is a
 * fact of the world: it has its start whatever the query, and one that starts after `to` has not happened yet.
 */
export const traces = (world: WorldState, q: TraceQuery): Trace[] => {
  const byName = new Map(world.scenario.services.map((s) => [s.name, s]));
  const roots = q.services.filter((s) => byName.has(s));
  if (roots.length === 0 || q.to < q.from) return [];
  const limit = Math.min(100, Math.max(1, q.limit ?? 10));
  const perRoot = Math.max(1, Math.ceil(limit / roots.length));
  const origin = worldOrigin(world);
  const env: TraceEnv = { world, origin, byName, operations: new Map(world.scenario.services.map((s) => [s.name, operationsOf(s)])) };
  const slots: number[] = [];
  for (let t = origin + Math.floor((q.to - origin) / TRACE_SLOT) * TRACE_SLOT; t >= q.from && slots.length < 2880; t -= TRACE_SLOT) slots.push(t);
  const out: Trace[] = [];
  for (const root of roots) {
    // Only the newest slot can hold a trace that starts after `to` (every older one ends by the newest's start).
    const started = slots.length > 0 && traceStart(env, root, slots[0] as number) > q.to ? slots.slice(1) : slots;
    const picked: Trace[] = [];
    if (q.errorsOnly) {
      for (const slot of started) {
        const trace = buildTrace(env, root, slot);
        if (trace.status === 'ERROR') picked.push(trace);
        if (picked.length >= perRoot) break;
      }
    } else {
      const n = Math.min(perRoot, started.length);
      for (let k = 0; k < n; k++) picked.push(buildTrace(env, root, started[Math.floor((k * started.length) / n)] as number));
    }
    out.push(...picked.sort((a, b) => byCodeUnit(a.startedAt, b.startedAt)));
  }
  return out.slice(0, limit);
};

/** What every trace of one query shares. */
interface TraceEnv {
  readonly world: WorldState;
  /** worldOrigin: trace slots are keyed by their number since it. */
  readonly origin: number;
  readonly byName: ReadonlyMap<string, ServiceSpec>;
  readonly operations: ReadonlyMap<string, readonly string[]>;
}

/** The slot's number since the world's origin: it keys every draw of the slot's trace. */
const slotNumber = (env: TraceEnv, slot: number): number => Math.round((slot - env.origin) / TRACE_SLOT);

/** When the trace of `root` in `slot` starts (somewhere inside the slot). */
const traceStart = (env: TraceEnv, root: string, slot: number): number => slot + Math.floor(uniform(env.world.id, 'trace-start', root, slotNumber(env, slot)) * TRACE_SLOT);

const buildTrace = (env: TraceEnv, root: string, slot: number): Trace => {
  const { world, byName, operations } = env;
  const n = slotNumber(env, slot);
  const start = traceStart(env, root, slot);
  const traceId = hex(32, world.id, 'trace', root, n);
  // Every draw of a span is keyed by (world, trace id, span counter, what is drawn).
  const traceKey = keyPrefix(world.id, traceId);
  const snapshot = minuteSnapshot(world, start);
  const spans: Span[] = [];
  let counter = 0;
  const visit = (service: string, parentSpanId: string | undefined, at: number, depth: number): { end: number; error: boolean } => {
    const spec = byName.get(service) as ServiceSpec;
    const state = snapshot.services.get(service);
    const key = traceKey.extend(counter++);
    const spanId = key.hex(16, 'span');
    const index = spans.length;
    spans.push(undefined as unknown as Span); // reserve the slot: parents are listed before children
    const ownErrors = state?.own.errors ?? 0;
    const healthyErrors = state?.healthy.errors ?? 0;
    const ownError = key.uniform('error') < ownErrors / 100;
    // A request at the p50 takes about a third of the p99; the log-normal spread gives the tail.
    const typical = (state?.own.latency ?? 100) / 3;
    let selfMs = Math.max(0.5, typical * 0.5 * Math.exp(0.45 * key.gaussian('duration')));
    let cursor = at + selfMs / 2;
    let childError = false;
    /** A call that failed before reaching the callee (TLS, DNS): no callee span, the caller records why. */
    let connectionError: string | undefined;
    if (depth < MAX_TRACE_DEPTH) {
      for (const callee of spec.calls) {
        const conn = snapshot.services.get(callee)?.connection;
        if (conn && conn.errors > 0 && key.uniform('connect', callee) < conn.errors / 100) {
          cursor += conn.latency + 1;
          childError = true;
          connectionError ??= `${conn.error ?? 'connection failed'} (calling ${callee})`;
          continue;
        }
        const child = visit(callee, spanId, cursor, depth + 1);
        cursor = child.end;
        childError ||= child.error;
      }
    }
    const faultError = ownError && key.uniform('cause') < (ownErrors - healthyErrors) / Math.max(ownErrors, 1e-9);
    const fault = state?.faults.find((f) => f.fault.spanError);
    // A request that failed on a saturated resource failed slowly (it waited for its timeout).
    if (faultError && state && state.own.latency > 3 * state.healthy.latency) selfMs = Math.max(selfMs, state.own.latency * (0.8 + 0.2 * key.uniform('slow')));
    const error = ownError || (childError && key.uniform('propagate') < 0.8);
    // A request failed on an exhausted resource (full disk, descriptors, quota) says so, for its share of the errors.
    const exhausted = ownError && state?.exhaustion ? exhaustionSpanError(state, key.uniform('exhausted')) : undefined;
    const end = cursor + selfMs / 2;
    const ops = operations.get(service) as readonly string[];
    spans[index] = {
      spanId,
      ...(parentSpanId ? { parentSpanId } : {}),
      service,
      operation: ops[key.intBetween(0, ops.length - 1, 'op')] as string,
      startedAt: isoTime(at),
      durationMs: Math.round((end - at) * 10) / 10,
      status: error ? 'ERROR' : 'OK',
      ...(error ? { error: spanErrorText(faultError, fault?.fault.spanError, ownError, state?.overloadErrors ?? 0, connectionError, spans.slice(index + 1), exhausted) } : {}),
    };
    return { end, error };
  };
  const result = visit(root, undefined, start, 0);
  return {
    traceId,
    rootService: root,
    startedAt: isoTime(start),
    totalMs: Math.round((result.end - start) * 10) / 10,
    status: result.error ? 'ERROR' : 'OK',
    spans,
  };
};

/** Why a span failed: the fault's error, an overload rejection, a generic 500, a failed connection, or a failed child. */
const spanErrorText = (faultError: boolean, spanError: string | undefined, ownError: boolean, overload: number, connectionError: string | undefined, children: readonly (Span | undefined)[], exhausted?: string): string => {
  if (faultError && spanError) return spanError;
  if (exhausted) return exhausted;
  if (ownError) return overload > 0 ? 'HTTP 503 Service Unavailable: request queue full' : 'HTTP 500 Internal Server Error';
  if (connectionError) return connectionError;
  return `downstream call failed: ${children.find((s) => s?.status === 'ERROR')?.service ?? 'dependency'}`;
};

const EXHAUSTION_SPAN_ERRORS = {
  disk: 'IOException: No space left on device (ENOSPC)',
  fds: 'IOException: Too many open files (EMFILE)',
  throttled: 'ThrottlingException: Rate exceeded (HTTP 429 Too Many Requests)',
} as const;

/** The error of a failed request that an exhausted resource explains (`u`: the span's draw), else undefined. */
const exhaustionSpanError = (state: ServiceState, u: number): string | undefined => {
  const ex = state.exhaustion;
  if (!ex) return undefined;
  const total = ex.disk + ex.fds + ex.throttled;
  if (total <= 0 || u >= total / Math.max(state.own.errors, 1e-9)) return undefined;
  const kind = ex.disk >= ex.fds && ex.disk >= ex.throttled ? 'disk' : ex.fds >= ex.throttled ? 'fds' : 'throttled';
  return EXHAUSTION_SPAN_ERRORS[kind];
};

// ───────────────────────────── logs ─────────────────────────────

interface BackgroundTemplate {
  readonly level: Exclude<Level, 'FATAL'>;
  readonly template: string;
  readonly ratePerMinute: number;
}

/** What every service of a tier logs when nothing is wrong. */
const TIER_LOGS: Record<ServiceSpec['tier'], BackgroundTemplate[]> = {
  frontend: [
    { level: 'INFO', template: '{ip} - - "{op} HTTP/1.1" 200 {int:310-9800} "{pick:Mozilla/5.0 (Macintosh)|Mozilla/5.0 (iPhone)|okhttp/4.12.0}" rt={int:12-240}ms', ratePerMinute: 12 },
    { level: 'INFO', template: 'session {hex:12} refreshed for user {int:100000-999999}', ratePerMinute: 2 },
    { level: 'WARN', template: 'slow client {ip}: request body upload took {int:900-1900}ms', ratePerMinute: 0.3 },
    { level: 'DEBUG', template: 'health check ok (uptime {int:1000-90000}s)', ratePerMinute: 1 },
  ],
  backend: [
    { level: 'INFO', template: 'completed {op} status=200 duration={int:4-180}ms requestId={uuid}', ratePerMinute: 10 },
    { level: 'INFO', template: 'cache {pick:hit|miss} key={pick:sku|user|cart|price|order}:{int:1000-99999}', ratePerMinute: 3 },
    { level: 'WARN', template: 'retrying {pick:GET|POST} to downstream after {int:50-400}ms (attempt {int:1-2}/3)', ratePerMinute: 0.4 },
    { level: 'ERROR', template: 'request {uuid} aborted: client closed connection after {int:1-30}s', ratePerMinute: 0.05 },
    { level: 'DEBUG', template: 'health check ok (uptime {int:1000-90000}s)', ratePerMinute: 1 },
  ],
  database: [
    { level: 'INFO', template: 'duration: {float:0.2-40.0} ms  statement: {pick:SELECT|UPDATE|INSERT} ... ({int:1-500} rows)', ratePerMinute: 3 },
    { level: 'INFO', template: 'checkpoint complete: wrote {int:200-4000} buffers ({float:0.1-4.9}%); write={float:0.1-29.9} s', ratePerMinute: 0.2 },
    { level: 'WARN', template: 'autovacuum: found {int:1000-90000} removable, {int:10-900} nonremovable row versions', ratePerMinute: 0.1 },
  ],
  cache: [
    { level: 'INFO', template: 'Accepted {ip}:{int:30000-60999}', ratePerMinute: 3 },
    { level: 'INFO', template: '{int:1-100} changes in 300 seconds. Saving...', ratePerMinute: 0.2 },
  ],
  // A third party's own logs are not ours to read; its callers log its failures.
  external: [],
  queue: [
    { level: 'INFO', template: '[Producer clientId={host}] sent batch of {int:1-500} records to partition {int:0-11}', ratePerMinute: 4 },
    { level: 'WARN', template: 'consumer group rebalance: {int:1-6} partitions reassigned', ratePerMinute: 0.05 },
  ],
  // A job writes while it runs (jobEmitters), not in between.
  job: [],
};

export interface LogQuery {
  readonly services: readonly string[];
  readonly from: number;
  readonly to: number;
  readonly minLevel?: Level;
  readonly limit?: number;
}

interface Emitter {
  /** The emitter's part of each line's key (`bg0`, `f1.2`, `down.<callee>`, `overload.warn`). */
  readonly key: string;
  readonly level: Level;
  readonly template: string;
  readonly count: number;
  /** Ms into the minute of every line (a job's run edge); drawn per line when absent. */
  readonly at?: number;
}

/** One queried service: what its lines need that does not change from minute to minute. */
interface LogSource {
  /** Position in the query's services (a name asked twice is generated twice, as asked). */
  readonly position: number;
  readonly spec: ServiceSpec;
  readonly hosts: readonly string[];
  readonly operations: readonly string[];
  /** Its background templates at or above the asked level, with their index among all of them (part of the key). */
  readonly background: readonly { readonly index: number; readonly template: BackgroundTemplate }[];
  /** (world id, service): the start of every key of its lines and counts. */
  readonly key: KeyPrefix;
}

/**
 * Log lines of the services over [from, to]: background lines of each tier and scenario, plus each active
 * fault's templates at a rate that follows the fault's intensity (or the failed requests it causes). Sorted
 * by time; when more than `limit` lines match, the most recent ones are kept.
 *
 * Minutes are generated newest first, and generation stops once the complete minutes hold `limit` lines: every
 * line of an older minute is older than all of those (a line's timestamp lies inside its minute), so it could
 * not be kept. Each line depends only on its own key, so the lines kept are the ones a full pass would keep.
 */
export const logs = (world: WorldState, q: LogQuery): LogLine[] => {
  const byName = new Map(world.scenario.services.map((s) => [s.name, s]));
  const minRank = LEVELS.indexOf(q.minLevel ?? 'DEBUG');
  const limit = Math.min(10_000, Math.max(1, q.limit ?? 1000));
  const from = Math.max(q.from, q.to - MAX_LOG_WINDOW);
  const anchor = Date.parse(world.createdAt);
  const sources: LogSource[] = [];
  q.services.forEach((name, position) => {
    const spec = byName.get(name);
    if (!spec) return;
    const all = [...TIER_LOGS[spec.tier], ...world.scenario.backgroundLogs.filter((b) => !b.service || b.service === name)];
    sources.push({
      position,
      spec,
      hosts: hostsOf(world, spec),
      operations: operationsOf(spec),
      // Lines below the asked level are not drawn at all (each draw depends only on its own key, so skipping some changes no other).
      background: all.map((template, index) => ({ index, template })).filter((b) => LEVELS.indexOf(b.template.level) >= minRank),
      key: keyPrefix(world.id, name),
    });
  });
  if (sources.length === 0) return [];
  // Lines are ordered by time, then service name; equal ones as a full oldest-first pass, service by service,
  // would make them: by the service's position in the query, then in generation order. The sources ranked by
  // (name, position) once replace comparing names line by line.
  const rank = new Map(
    [...sources]
      .sort((a, b) => byCodeUnit(a.spec.name, b.spec.name) || a.position - b.position)
      .map((source, i) => [source, i]),
  );
  const lines: LogLine[] = [];
  // Per line, what orders it: its time and its source's rank.
  const times: number[] = [];
  const ranks: number[] = [];
  // Minutes are counted from the world's origin, and every draw of a minute is keyed by that count: the same
  // world seeded later writes the same lines at the same times relative to its anchor.
  const origin = worldOrigin(world);
  const first = worldMinuteStart(world, from);
  for (let minute = worldMinuteStart(world, q.to); minute >= first; minute -= MINUTE) {
    const snapshot = snapshotAt(world, minute);
    const worldMinute = Math.round((minute - origin) / MINUTE);
    for (const source of sources) {
      const name = source.spec.name;
      const sourceRank = rank.get(source) as number;
      const state = snapshot.services.get(name);
      if (!state) continue;
      const all = source.spec.tier === 'job' || state.queue ? [...emitters(source, snapshot, state, worldMinute, minRank), ...asyncEmitters(world, source, state, minute, worldMinute, minRank)] : emitters(source, snapshot, state, worldMinute, minRank);
      for (const e of all) {
        const levelRank = LEVELS.indexOf(e.level);
        const template = compiled(e.template);
        const key = source.key.extend(e.key, worldMinute);
        for (let k = 0; k < e.count; k++) {
          const lineKey = key.extend(k);
          const offset = e.at ?? Math.floor(lineKey.uniform('ts') * MINUTE);
          const ts = minute + offset;
          if (ts < from || ts > q.to) continue;
          const host = source.hosts[lineKey.intBetween(0, source.hosts.length - 1, 'host')] as string;
          const message = render(template, lineKey, { host, spec: source.spec, values: state.values, anchor, operations: source.operations });
          const timestamp = isoTime(ts);
          lines.push(
            levelRank >= ERROR_RANK
              ? { timestamp, service: name, level: e.level, message, host, traceId: lineKey.hex(32, 'trace') }
              : { timestamp, service: name, level: e.level, message, host },
          );
          times.push(ts);
          ranks.push(sourceRank);
        }
      }
    }
    if (lines.length >= limit) break;
  }
  // Lines of one source at one time come from one minute, where they were generated in a full pass's order
  // (emitter by emitter, line by line): their indices keep it.
  const order = Array.from(lines, (_, i) => i).sort((a, b) => (times[a] as number) - (times[b] as number) || (ranks[a] as number) - (ranks[b] as number) || a - b);
  return order.slice(Math.max(0, order.length - limit)).map((i) => lines[i] as LogLine);
};

const ERROR_RANK = LEVELS.indexOf('ERROR');

/** What each line source writes in one minute (`minute`: its number since the world's origin), and how many lines: only those at or above `minRank`. */
const emitters = (source: LogSource, snapshot: Snapshot, state: ServiceState, minute: number, minRank: number): Emitter[] => {
  const { spec, key } = source;
  const out: Emitter[] = [];
  for (const { index, template: b } of source.background) {
    out.push({ key: `bg${index}`, level: b.level, template: b.template, count: key.poisson(b.ratePerMinute, 'bg', index, minute) });
  }
  let serverFaults = 0;
  for (const f of state.faults) if (f.fault.failsAt !== 'connection') serverFaults++;
  const connectionFaults = state.faults.length - serverFaults;
  for (const { fault, index, intensity } of state.faults) {
    // Failed requests this fault adds, per minute (its share of the service's own excess errors, or of the
    // calls that fail before reaching it). Overload errors are the capacity model's, logged below.
    const failedPerMinute =
      fault.failsAt === 'connection'
        ? (state.healthy.throughput * 60 * state.connection.errors) / 100 / connectionFaults
        : (state.healthy.throughput * 60 * Math.max(0, state.own.errors - state.healthy.errors - state.overloadErrors - exhaustionErrors(state))) / 100 / serverFaults;
    fault.logs.forEach((l, j) => {
      if (LEVELS.indexOf(l.level) < minRank) return;
      const rate = l.perFailedRequest !== undefined ? l.perFailedRequest * failedPerMinute : (l.ratePerMinute ?? 0) * intensity;
      out.push({ key: `f${index}.${j}`, level: l.level, template: l.template, count: Math.min(MAX_LINES_PER_TEMPLATE_MINUTE, key.poisson(rate, 'fault', index, j, minute)) });
    });
  }
  // Callers log the failures they inherit: one line per few failed downstream calls, per failing callee.
  const inherited = Math.max(0, (state.values.error_rate_pct ?? 0) - state.own.errors);
  if (inherited > 0.2 && ERROR_RANK >= minRank) {
    const failing = spec.calls
      .map((c) => ({ c, callee: snapshot.services.get(c) }))
      .map(({ c, callee }) => ({ c, callee, excess: callee ? Math.max(0, callee.calls.errors - callee.healthy.errors) : 0 }))
      .filter((x) => x.excess > 0.2);
    const totalExcess = failing.reduce((sum, x) => sum + x.excess, 0);
    for (const { c, callee, excess } of failing) {
      const rate = (DOWNSTREAM_LOGS_PER_FAILED_REQUEST * state.healthy.throughput * 60 * inherited * (excess / totalExcess)) / 100;
      out.push({ key: `down.${c}`, level: 'ERROR', template: downstreamTemplate(c, callee as ServiceState), count: Math.min(MAX_LINES_PER_TEMPLATE_MINUTE, key.poisson(rate, 'down', c, minute)) });
    }
  }
  // An overloaded service says so: queueing warnings, and rejections that follow the requests it sheds.
  if (state.values.cpu_pct >= 95 && spec.tier !== 'external') {
    const level = Math.min(1, (state.values.cpu_pct - 90) / 10);
    const [warn, reject] = OVERLOAD_LOGS[spec.tier];
    if (LEVELS.indexOf('WARN') >= minRank) out.push({ key: 'overload.warn', level: 'WARN', template: warn, count: key.poisson(3 * level, 'overload', minute) });
    const shed = (state.healthy.throughput * 60 * state.overloadErrors) / 100;
    if (ERROR_RANK >= minRank) out.push({ key: 'overload.reject', level: 'ERROR', template: reject, count: Math.min(MAX_LINES_PER_TEMPLATE_MINUTE, key.poisson(0.002 * shed, 'shed', minute)) });
  }
  out.push(...exhaustionEmitters(spec, state, key, minute, minRank));
  return out;
};

/** Errors (percentage points) the exhausted resources explain; they have lines of their own. */
const exhaustionErrors = (state: ServiceState): number => (state.exhaustion ? state.exhaustion.disk + state.exhaustion.fds + state.exhaustion.throttled : 0);

/** Lines per request failed by an exhausted resource (most are counted, few are logged). */
const EXHAUSTION_LOGS_PER_FAILED_REQUEST = 0.003;

/**
 * What a service with an exhausted resource writes: a low-disk warning from 90 %, and a line per few requests that
 * a full disk (ENOSPC), descriptors at the limit (EMFILE) or a rate quota (throttled, HTTP 429) failed. A third
 * party's own logs are not ours: its callers log its throttling (downstreamTemplate).
 */
const exhaustionEmitters = (spec: ServiceSpec, state: ServiceState, key: KeyPrefix, minute: number, minRank: number): Emitter[] => {
  if (spec.tier === 'external') return [];
  const out: Emitter[] = [];
  const disk = state.values.disk_used_pct;
  if (spec.disk && disk !== undefined && disk >= 90 && LEVELS.indexOf('WARN') >= minRank) {
    out.push({ key: 'exhausted.disk-warn', level: 'WARN', template: EXHAUSTION_LOGS.diskWarn(spec), count: key.poisson(0.5 + 1.5 * Math.min(1, (disk - 90) / 10), 'exhausted', 'disk-warn', minute) });
  }
  const ex = state.exhaustion;
  if (!ex) return out;
  for (const kind of ['disk', 'fds', 'throttled'] as const) {
    const level = kind === 'throttled' ? 'WARN' : 'ERROR';
    if (ex[kind] <= 0 || LEVELS.indexOf(level) < minRank) continue;
    const failed = (state.healthy.throughput * 60 * ex[kind]) / 100;
    out.push({ key: `exhausted.${kind}`, level, template: EXHAUSTION_LOGS[kind](spec), count: Math.min(MAX_LINES_PER_TEMPLATE_MINUTE, key.poisson(EXHAUSTION_LOGS_PER_FAILED_REQUEST * failed, 'exhausted', kind, minute)) });
  }
  return out;
};

/**
 * What a job and a queue with a consumer write besides the tier's lines: a job logs each run's start and end at
 * the instant they happen and progress lines while it runs; a queue whose oldest message is over a minute old
 * logs the consumer group's lag (Kafka's consumer-lag warning), more often as it grows.
 */
const asyncEmitters = (world: WorldState, source: LogSource, state: ServiceState, minute: number, worldMinute: number, minRank: number): Emitter[] => {
  const { spec, key } = source;
  const out: Emitter[] = [];
  if (spec.tier === 'job' && LEVELS.indexOf('INFO') >= minRank) {
    for (const run of jobRuns(world, spec.name, minute, minute + MINUTE - 1)) {
      const id = `${Math.round((run.start - worldOrigin(world)) / MINUTE)}`;
      if (run.start >= minute && run.start < minute + MINUTE) out.push({ key: `job.start.${id}`, level: 'INFO', template: `job ${spec.name} run started (run ${id}, schedule window ${Math.round((run.end - run.start) / MINUTE)} min)`, count: 1, at: run.start - minute });
      if (run.end >= minute && run.end < minute + MINUTE) out.push({ key: `job.end.${id}`, level: 'INFO', template: `job ${spec.name} run finished (run ${id}): processed {int:20000-900000} items in ${Math.round((run.end - run.start) / MINUTE)} min`, count: 1, at: run.end - minute });
    }
    if ((state.jobRun ?? 0) > 0.5) out.push({ key: 'job.progress', level: 'INFO', template: `job ${spec.name}: batch {int:1-5000} committed ({int:500-5000} items, {int:200-9000} ms)`, count: key.poisson(4 * (state.jobRun ?? 0), 'job-progress', worldMinute) });
  }
  const age = state.values.queue_oldest_age_s ?? 0;
  if (state.queue && age > 60 && LEVELS.indexOf('WARN') >= minRank) {
    const consumer = world.scenario.services.find((s) => s.name === spec.name)?.consumer?.service ?? 'consumer';
    out.push({ key: 'queue.lag', level: 'WARN', template: `consumer group ${consumer} lag {metric:queue_depth} messages on ${spec.name}, oldest message {metric:queue_oldest_age_s}s`, count: key.poisson(Math.min(6, age / 120), 'queue-lag', worldMinute) });
  }
  return out;
};

/** The exhaustion lines, in the words of the service's kind of software. */
const EXHAUSTION_LOGS: Record<'diskWarn' | 'disk' | 'fds' | 'throttled', (s: ServiceSpec) => string> = {
  diskWarn: (s) => `low disk space on /data: {metric:disk_used_pct}% of ${s.disk?.capacityGb ?? 0} GB used`,
  disk: (s) =>
    s.tier === 'database'
      ? 'PANIC: could not write to file "pg_wal/xlogtemp.{int:1000-99999}": No space left on device'
      : s.tier === 'cache'
        ? 'Failed opening the temp RDB file temp-{int:1000-99999}.rdb (in server root dir /data) for saving: No space left on device'
        : s.tier === 'queue'
          ? 'Error while appending records to partition {int:0-11} in dir /var/lib/kafka/data: java.io.IOException: No space left on device'
          : 'write failed for {op}: java.io.IOException: No space left on device (ENOSPC) writing {pick:/data/tmp/upload.part|/var/log/app/app.log|/data/spool/batch.dat} requestId={uuid}',
  fds: (s) =>
    s.tier === 'database'
      ? 'LOG: out of file descriptors: Too many open files; release and retry'
      : 'java.io.IOException: Too many open files (EMFILE): accept failed on {op} (open fds {metric:open_fds}/{metric:fd_limit}) requestId={uuid}',
  throttled: (s) => `throttled {op}: 429 Too Many Requests (ThrottlingException: Rate exceeded for ${s.quota?.name ?? 'quota'}, limit {metric:quota_limit_rps}/s, {metric:throttled_rps}/s over) requestId={uuid}`,
};

/** What a caller logs about a failing callee: the connection error, a timeout when it is very slow, or a 5xx. */
const downstreamTemplate = (callee: string, state: ServiceState): string => {
  if (state.connection.errors > 0.5 * Math.max(0, state.calls.errors - state.healthy.errors)) {
    return `call to ${callee} failed: ${state.connection.error ?? 'connection refused'} (requestId={uuid})`;
  }
  if (state.exhaustion && state.exhaustion.throttled > 0.5 * Math.max(0, state.calls.errors - state.healthy.errors)) {
    return `call to ${callee} failed: ThrottlingException: Rate exceeded (HTTP 429 Too Many Requests) (requestId={uuid})`;
  }
  if (state.calls.latency > 5 * state.healthy.latency) {
    return `call to ${callee} failed: {pick:Read timed out after 10000ms|SocketTimeoutException: timeout|HTTP 504 Gateway Timeout} (requestId={uuid})`;
  }
  return `call to ${callee} failed: {pick:HTTP 500 Internal Server Error|HTTP 503 Service Unavailable} (requestId={uuid})`;
};

/** What a CPU-saturated service of each tier logs: a queueing warning, and a line per shed request. */
const OVERLOAD_LOGS: Record<ServiceSpec['tier'], readonly [string, string]> = {
  frontend: ['upstream response time {int:2000-9000}ms exceeds budget: worker queue depth {int:120-900} (cpu {metric:cpu_pct}%)', 'rejected {op}: 503 Service Unavailable (worker queue full) requestId={uuid}'],
  backend: ['request queue saturated: {int:40-600} requests waiting for a worker thread (cpu {metric:cpu_pct}%)', 'rejected {op}: 503 Service Unavailable (request queue full) requestId={uuid}'],
  database: ['duration: {int:1200-9000}.{int:100-999} ms  statement: {pick:SELECT|UPDATE|INSERT} ... (server load: cpu {metric:cpu_pct}%)', 'canceling statement due to statement timeout (backend pid {int:10000-60000})'],
  cache: ['{int:100-900} clients waiting: event loop busy {int:80-400}ms (cpu {metric:cpu_pct}%)', 'Timeout reading from client {ip}:{int:30000-60999}: connection reset'],
  external: ['', ''],
  queue: ['[Producer clientId={host}] request latency {int:900-6000}ms: broker overloaded (cpu {metric:cpu_pct}%)', 'org.apache.kafka.common.errors.TimeoutException: Expiring {int:1-400} record(s) for partition {int:0-11}'],
  job: ['batch step slow: {int:40-600} items waiting for a worker thread (cpu {metric:cpu_pct}%)', 'batch item {uuid} failed: worker queue full'],
};

// ───────────────────────────── templates ─────────────────────────────

const PLACEHOLDER = /\{(\w+)(?::([^}]*))?\}/g;

interface TemplateEnv {
  readonly host: string;
  readonly spec: ServiceSpec;
  readonly values: Readonly<Record<string, number>>;
  /** Epoch ms of scenario minute 0 (`{at:<minute>}`). */
  readonly anchor: number;
  /** operationsOf(spec) (`{op}`). */
  readonly operations: readonly string[];
}

/** A placeholder's text from the line's key and environment. */
type Fill = (key: KeyPrefix, env: TemplateEnv) => string;
/** A template split once into literal text and placeholders. */
type Compiled = readonly (string | Fill)[];

/**
 * One placeholder, parsed: `n` is its position among the template's placeholders (its draws are keyed by the
 * line's key, 'p', n), `whole` its text, kept when it cannot be filled.
 */
const placeholder = (n: number, whole: string, kind: string, arg: string | undefined): Fill | string => {
  const range = () => {
    const [a, b] = (arg ?? '0-100').split('-').map(Number) as [number, number];
    return [a, Number.isFinite(b) ? b : a] as const;
  };
  switch (kind) {
    case 'int': {
      const [a, b] = range();
      return (key) => String(key.intBetween(a, b, 'p', n));
    }
    case 'float': {
      const [a, b] = range();
      return (key) => (a + key.uniform('p', n) * (b - a)).toFixed(1);
    }
    case 'hex': {
      const length = Number(arg ?? 8);
      return (key) => key.hex(length, 'p', n);
    }
    case 'uuid':
      return (key) => {
        const h = key.hex(32, 'p', n);
        return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
      };
    case 'ip':
      return (key) => `10.${key.intBetween(0, 31, 'p', n, 'a')}.${key.intBetween(0, 255, 'p', n, 'b')}.${key.intBetween(1, 254, 'p', n, 'c')}`;
    case 'pick': {
      const options = (arg ?? '').split('|');
      return (key) => options[key.intBetween(0, options.length - 1, 'p', n)] as string;
    }
    case 'host':
      return (_, env) => env.host;
    case 'service':
      return (_, env) => env.spec.name;
    case 'op':
      return (key, env) => env.operations[key.intBetween(0, env.operations.length - 1, 'p', n)] as string;
    case 'at': {
      // The ISO time of a scenario minute (a certificate's notAfter, a job's start), on the world's clock.
      const m = Number(arg);
      if (!Number.isFinite(m)) return whole;
      return (_, env) => new Date(env.anchor + m * MINUTE).toISOString().replace(/\.000Z$/, 'Z');
    }
    case 'metric':
      return (_, env) => {
        const v = env.values[arg ?? ''];
        return v === undefined ? whole : String(Math.round(v * 10) / 10);
      };
    default:
      return whole;
  }
};

const compile = (template: string): Compiled => {
  const parts: (string | Fill)[] = [];
  let n = 0;
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (m.index > last) parts.push(template.slice(last, m.index));
    parts.push(placeholder(n++, m[0], m[1] as string, m[2]));
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push(template.slice(last));
  return parts;
};

/** Templates seen so far, compiled (scenario, tier and downstream templates: a few dozen per world). Bounded: cleared when full. */
const COMPILED_TEMPLATES_MAX = 2_000;
const compiledTemplates = new Map<string, Compiled>();
const compiled = (template: string): Compiled => {
  let c = compiledTemplates.get(template);
  if (!c) {
    c = compile(template);
    if (compiledTemplates.size >= COMPILED_TEMPLATES_MAX) compiledTemplates.clear();
    compiledTemplates.set(template, c);
  }
  return c;
};

const render = (template: Compiled, key: KeyPrefix, env: TemplateEnv): string => {
  let out = '';
  for (const part of template) out += typeof part === 'string' ? part : part(key, env);
  return out;
};
