/**
 * Traces and logs, derived from the world's metrics at the moment they are emitted (dynamics.ts): a span is
 * slow or failing because its service is, an error line appears because requests fail. Background logs give a
 * log-template miner real work: many templates, varying numbers, ids and hosts.
 */
import type { LogLine, Span, Trace } from '../tools/ports.ts';
import { snapshotAt, type ServiceState, type Snapshot } from './dynamics.ts';
import { gaussian, hex, intBetween, poisson, uniform } from './random.ts';
import type { ServiceSpec } from './scenario.ts';
import type { WorldState } from './world.ts';

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

/** A per-world, per-query memo of minute snapshots (computing one costs a pass over every service). */
const snapshots = (world: WorldState) => {
  const cache = new Map<number, Snapshot>();
  return (t: number): Snapshot => {
    const minute = Math.floor(t / MINUTE) * MINUTE;
    let s = cache.get(minute);
    if (!s) {
      s = snapshotAt(world, minute);
      cache.set(minute, s);
    }
    return s;
  };
};

const shortName = (name: string) => name.replace(/-(service|svc|api)$/, '');

const DEFAULT_OPERATIONS: Record<ServiceSpec['tier'], (s: string) => string[]> = {
  frontend: (s) => ['GET /', `GET /${s}`, `POST /api/${s}`],
  backend: (s) => [`GET /api/v1/${s}`, `POST /api/v1/${s}`, `GET /api/v1/${s}/{id}`],
  database: (s) => [`SELECT ${s}`, `UPDATE ${s}`, `INSERT ${s}`],
  cache: () => ['GET', 'SET', 'MGET'],
  external: (s) => [`POST https://${s}/v1/requests`],
  queue: (s) => [`publish ${s}`],
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
 * evenly over the window (newest last); with it, the newest failing ones. Deterministic per world and slot.
 */
export const traces = (world: WorldState, q: TraceQuery): Trace[] => {
  const byName = new Map(world.scenario.services.map((s) => [s.name, s]));
  const roots = q.services.filter((s) => byName.has(s));
  if (roots.length === 0 || q.to < q.from) return [];
  const limit = Math.min(100, Math.max(1, q.limit ?? 10));
  const perRoot = Math.max(1, Math.ceil(limit / roots.length));
  const snap = snapshots(world);
  const slots: number[] = [];
  for (let t = Math.floor(q.to / TRACE_SLOT) * TRACE_SLOT; t >= q.from && slots.length < 2880; t -= TRACE_SLOT) slots.push(t);
  const out: Trace[] = [];
  for (const root of roots) {
    const picked: Trace[] = [];
    if (q.errorsOnly) {
      for (const slot of slots) {
        const trace = buildTrace(world, byName, snap, root, slot, q.to);
        if (trace.status === 'ERROR') picked.push(trace);
        if (picked.length >= perRoot) break;
      }
    } else {
      const n = Math.min(perRoot, slots.length);
      for (let k = 0; k < n; k++) picked.push(buildTrace(world, byName, snap, root, slots[Math.floor((k * slots.length) / n)], q.to));
    }
    out.push(...picked.sort((a, b) => a.startedAt.localeCompare(b.startedAt)));
  }
  return out.slice(0, limit);
};

const buildTrace = (world: WorldState, byName: Map<string, ServiceSpec>, snap: (t: number) => Snapshot, root: string, slot: number, notAfter: number): Trace => {
  const start = Math.min(notAfter, slot + Math.floor(uniform(world.id, 'trace-start', root, slot) * TRACE_SLOT));
  const traceId = hex(32, world.id, 'trace', root, slot);
  const snapshot = snap(start);
  const spans: Span[] = [];
  let counter = 0;
  const visit = (service: string, parentSpanId: string | undefined, at: number, depth: number): { end: number; error: boolean } => {
    const spec = byName.get(service) as ServiceSpec;
    const state = snapshot.services.get(service);
    const key = [world.id, traceId, counter++];
    const spanId = hex(16, ...key, 'span');
    const index = spans.length;
    spans.push(undefined as unknown as Span); // reserve the slot: parents are listed before children
    const ownErrors = state?.own.errors ?? 0;
    const healthyErrors = state?.healthy.errors ?? 0;
    const ownError = uniform(...key, 'error') < ownErrors / 100;
    // A request at the p50 takes about a third of the p99; the log-normal spread gives the tail.
    const typical = (state?.own.latency ?? 100) / 3;
    let selfMs = Math.max(0.5, typical * 0.5 * Math.exp(0.45 * gaussian(...key, 'duration')));
    let cursor = at + selfMs / 2;
    let childError = false;
    /** A call that failed before reaching the callee (TLS, DNS): no callee span, the caller records why. */
    let connectionError: string | undefined;
    if (depth < MAX_TRACE_DEPTH) {
      for (const callee of spec.calls) {
        const conn = snapshot.services.get(callee)?.connection;
        if (conn && conn.errors > 0 && uniform(...key, 'connect', callee) < conn.errors / 100) {
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
    const faultError = ownError && uniform(...key, 'cause') < (ownErrors - healthyErrors) / Math.max(ownErrors, 1e-9);
    const fault = state?.faults.find((f) => f.fault.spanError);
    // A request that failed on a saturated resource failed slowly (it waited for its timeout).
    if (faultError && state && state.own.latency > 3 * state.healthy.latency) selfMs = Math.max(selfMs, state.own.latency * (0.8 + 0.2 * uniform(...key, 'slow')));
    const error = ownError || (childError && uniform(...key, 'propagate') < 0.8);
    const end = cursor + selfMs / 2;
    const operations = operationsOf(spec);
    spans[index] = {
      spanId,
      ...(parentSpanId ? { parentSpanId } : {}),
      service,
      operation: operations[intBetween(0, operations.length - 1, ...key, 'op')],
      startedAt: new Date(at).toISOString(),
      durationMs: Math.round((end - at) * 10) / 10,
      status: error ? 'ERROR' : 'OK',
      ...(error ? { error: spanErrorText(faultError, fault?.fault.spanError, ownError, state?.overloadErrors ?? 0, connectionError, spans.slice(index + 1)) } : {}),
    };
    return { end, error };
  };
  const result = visit(root, undefined, start, 0);
  return {
    traceId,
    rootService: root,
    startedAt: new Date(start).toISOString(),
    totalMs: Math.round((result.end - start) * 10) / 10,
    status: result.error ? 'ERROR' : 'OK',
    spans,
  };
};

/** Why a span failed: the fault's error, an overload rejection, a generic 500, a failed connection, or a failed child. */
const spanErrorText = (faultError: boolean, spanError: string | undefined, ownError: boolean, overload: number, connectionError: string | undefined, children: readonly (Span | undefined)[]): string => {
  if (faultError && spanError) return spanError;
  if (ownError) return overload > 0 ? 'HTTP 503 Service Unavailable: request queue full' : 'HTTP 500 Internal Server Error';
  if (connectionError) return connectionError;
  return `downstream call failed: ${children.find((s) => s?.status === 'ERROR')?.service ?? 'dependency'}`;
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
};

export interface LogQuery {
  readonly services: readonly string[];
  readonly from: number;
  readonly to: number;
  readonly minLevel?: Level;
  readonly limit?: number;
}

interface Emitter {
  readonly key: string;
  readonly level: Level;
  readonly template: string;
  readonly count: number;
}

/**
 * Log lines of the services over [from, to]: background lines of each tier and scenario, plus each active
 * fault's templates at a rate that follows the fault's intensity (or the failed requests it causes). Sorted
 * by time; when more than `limit` lines match, the most recent ones are kept.
 */
export const logs = (world: WorldState, q: LogQuery): LogLine[] => {
  const byName = new Map(world.scenario.services.map((s) => [s.name, s]));
  const minRank = LEVELS.indexOf(q.minLevel ?? 'DEBUG');
  const limit = Math.min(10_000, Math.max(1, q.limit ?? 1000));
  const from = Math.max(q.from, q.to - MAX_LOG_WINDOW);
  const snap = snapshots(world);
  const anchor = Date.parse(world.createdAt);
  const lines: LogLine[] = [];
  for (const name of q.services) {
    const spec = byName.get(name);
    if (!spec) continue;
    const hosts = hostsOf(world, spec);
    const background = [...TIER_LOGS[spec.tier], ...world.scenario.backgroundLogs.filter((b) => !b.service || b.service === name)];
    for (let minute = Math.floor(from / MINUTE) * MINUTE; minute <= q.to; minute += MINUTE) {
      const snapshot = snap(minute);
      const state = snapshot.services.get(name);
      if (!state) continue;
      const emitters: Emitter[] = background.map((b, i) => ({ key: `bg${i}`, level: b.level, template: b.template, count: poisson(b.ratePerMinute, world.id, name, 'bg', i, minute) }));
      const serverFaults = state.faults.filter((f) => f.fault.failsAt !== 'connection').length;
      const connectionFaults = state.faults.length - serverFaults;
      for (const { fault, index, intensity } of state.faults) {
        // Failed requests this fault adds, per minute (its share of the service's own excess errors, or of the
        // calls that fail before reaching it). Overload errors are the capacity model's, logged below.
        const failedPerMinute =
          fault.failsAt === 'connection'
            ? (state.healthy.throughput * 60 * state.connection.errors) / 100 / connectionFaults
            : (state.healthy.throughput * 60 * Math.max(0, state.own.errors - state.healthy.errors - state.overloadErrors)) / 100 / serverFaults;
        fault.logs.forEach((l, j) => {
          const rate = l.perFailedRequest !== undefined ? l.perFailedRequest * failedPerMinute : (l.ratePerMinute ?? 0) * intensity;
          emitters.push({ key: `f${index}.${j}`, level: l.level, template: l.template, count: Math.min(MAX_LINES_PER_TEMPLATE_MINUTE, poisson(rate, world.id, name, 'fault', index, j, minute)) });
        });
      }
      // Callers log the failures they inherit: one line per few failed downstream calls, per failing callee.
      const inherited = Math.max(0, (state.values.error_rate_pct ?? 0) - state.own.errors);
      if (inherited > 0.2) {
        const failing = spec.calls
          .map((c) => ({ c, callee: snapshot.services.get(c) }))
          .map(({ c, callee }) => ({ c, callee, excess: callee ? Math.max(0, callee.calls.errors - callee.healthy.errors) : 0 }))
          .filter((x) => x.excess > 0.2);
        const totalExcess = failing.reduce((sum, x) => sum + x.excess, 0);
        for (const { c, callee, excess } of failing) {
          const rate = (DOWNSTREAM_LOGS_PER_FAILED_REQUEST * state.healthy.throughput * 60 * inherited * (excess / totalExcess)) / 100;
          emitters.push({ key: `down.${c}`, level: 'ERROR', template: downstreamTemplate(c, callee as ServiceState), count: Math.min(MAX_LINES_PER_TEMPLATE_MINUTE, poisson(rate, world.id, name, 'down', c, minute)) });
        }
      }
      // An overloaded service says so: queueing warnings, and rejections that follow the requests it sheds.
      if (state.values.cpu_pct >= 95 && spec.tier !== 'external') {
        const level = Math.min(1, (state.values.cpu_pct - 90) / 10);
        const [warn, reject] = OVERLOAD_LOGS[spec.tier];
        emitters.push({ key: 'overload.warn', level: 'WARN', template: warn, count: poisson(3 * level, world.id, name, 'overload', minute) });
        const shed = (state.healthy.throughput * 60 * state.overloadErrors) / 100;
        emitters.push({ key: 'overload.reject', level: 'ERROR', template: reject, count: Math.min(MAX_LINES_PER_TEMPLATE_MINUTE, poisson(0.002 * shed, world.id, name, 'shed', minute)) });
      }
      for (const e of emitters) {
        if (LEVELS.indexOf(e.level) < minRank) continue;
        for (let k = 0; k < e.count; k++) {
          const key = [world.id, name, e.key, minute, k];
          const ts = minute + Math.floor(uniform(...key, 'ts') * MINUTE);
          if (ts < from || ts > q.to) continue;
          const host = hosts[intBetween(0, hosts.length - 1, ...key, 'host')];
          lines.push({
            timestamp: new Date(ts).toISOString(),
            service: name,
            level: e.level,
            message: instantiate(e.template, key, { host, spec, values: state.values, anchor }),
            host,
            ...(LEVELS.indexOf(e.level) >= LEVELS.indexOf('ERROR') ? { traceId: hex(32, ...key, 'trace') } : {}),
          });
        }
      }
    }
  }
  lines.sort((a, b) => a.timestamp.localeCompare(b.timestamp) || a.service.localeCompare(b.service));
  return lines.length > limit ? lines.slice(lines.length - limit) : lines;
};

/** What a caller logs about a failing callee: the connection error, a timeout when it is very slow, or a 5xx. */
const downstreamTemplate = (callee: string, state: ServiceState): string => {
  if (state.connection.errors > 0.5 * Math.max(0, state.calls.errors - state.healthy.errors)) {
    return `call to ${callee} failed: ${state.connection.error ?? 'connection refused'} (requestId={uuid})`;
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
};

const PLACEHOLDER = /\{(\w+)(?::([^}]*))?\}/g;

/** Fills a template's placeholders (see LogTemplateSpec in scenario.ts) deterministically from `key`. */
export const instantiate = (template: string, key: readonly (string | number)[], env: { host: string; spec: ServiceSpec; values: Readonly<Record<string, number>>; anchor?: number }): string => {
  let n = 0;
  return template.replace(PLACEHOLDER, (whole, kind: string, arg: string | undefined) => {
    const k = [...key, 'p', n++];
    const range = () => {
      const [a, b] = (arg ?? '0-100').split('-').map(Number);
      return [a, Number.isFinite(b) ? b : a] as const;
    };
    switch (kind) {
      case 'int': {
        const [a, b] = range();
        return String(intBetween(a, b, ...k));
      }
      case 'float': {
        const [a, b] = range();
        return (a + uniform(...k) * (b - a)).toFixed(1);
      }
      case 'hex':
        return hex(Number(arg ?? 8), ...k);
      case 'uuid': {
        const h = hex(32, ...k);
        return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
      }
      case 'ip':
        return `10.${intBetween(0, 31, ...k, 'a')}.${intBetween(0, 255, ...k, 'b')}.${intBetween(1, 254, ...k, 'c')}`;
      case 'pick': {
        const options = (arg ?? '').split('|');
        return options[intBetween(0, options.length - 1, ...k)];
      }
      case 'host':
        return env.host;
      case 'service':
        return env.spec.name;
      case 'op': {
        const ops = operationsOf(env.spec);
        return ops[intBetween(0, ops.length - 1, ...k)];
      }
      case 'at': {
        // The ISO time of a scenario minute (a certificate's notAfter, a job's start), on the world's clock.
        const m = Number(arg);
        return env.anchor === undefined || !Number.isFinite(m) ? whole : new Date(env.anchor + m * MINUTE).toISOString().replace(/\.000Z$/, 'Z');
      }
      case 'metric': {
        const v = env.values[arg ?? ''];
        return v === undefined ? whole : String(Math.round(v * 10) / 10);
      }
      default:
        return whole;
    }
  });
};
