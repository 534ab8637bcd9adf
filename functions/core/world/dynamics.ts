/**
 * How the world's metrics come about. Nothing here is canned: at any instant t every service's metrics are
 * computed from the scenario in four steps.
 *   1. Healthy intrinsic values: baseline × a mild daily shape × traffic load × seeded noise (fast
 *      per-minute noise, a slow wander, rare latency spikes). The noise is a hash of (world id, service,
 *      metric, time bucket), the bucket counted in minutes since the world's anchor: deterministic, and the
 *      same whenever the world was seeded. Load events (a flash sale) reach callees through the call graph,
 *      and each call edge can carry more than its share: a fault's `callVolume` (retry storm, N+1 query) or a
 *      cache's miss ratio (every miss goes to the backing store) multiplies the traffic on that edge.
 *   2. Faults active at t move their service's metrics (factor / add / value / growth per minute), scaled
 *      by an intensity that ramps in at the fault's start and ramps out after a mitigation that fixes it.
 *      A connection-level fault (expired certificate, DNS) is seen only by the callers: the service's own
 *      metrics show just the requests that no longer arrive.
 *   3. Capacity models turn pressure into symptoms: a connection pool whose demand exceeds its maximum queues
 *      requests (latency towards the pool timeout, errors from timeouts, pending threads), and its demand
 *      follows its database's latency (connections are held while queries run); CPU above ~85 % queues
 *      requests; memory above ~75 % of the limit causes GC pauses and, at the limit, OOM kills. Scaling a
 *      service multiplies its capacity.
 *   4. Callers inherit a share of each callee's latency and error increase over its unstressed values (no
 *      fault, no overload), hop by hop, and business metrics (active users, revenue) follow the frontends'
 *      errors and latency. Services are computed callees first, so a pool sees its database's latency.
 */
import { METRICS, type MetricName, type MetricPoint, type MetricSeries } from '../tools/ports.ts';
import { hash53, keyPrefix, type KeyPrefix } from './random.ts';
import { DEFAULT_CONSUMER_HEADROOM, type Effect, type FaultSpec, type LoadSpec, type Scenario, type ScheduleSpec, type ServiceSpec } from './scenario.ts';
import type { WorldAction, WorldState } from './world.ts';

const MINUTE = 60_000;
/** The hit ratio of a service's read-through cache (services with `cache`). */
export const CACHE_HIT_RATIO = METRICS.cacheHitRatio;
/** Resource metrics of services that declare the feature (`disk`, `fileDescriptors`, `quota`, `certificates`). */
export const RESOURCE_METRICS = {
  diskUsed: 'disk_used_pct',
  openFds: 'open_fds',
  fdLimit: 'fd_limit',
  throttled: 'throttled_rps',
  quotaLimit: 'quota_limit_rps',
  certDays: 'cert_days_to_expiry',
} as const;
/** Messages waiting in a queue with a consumer, and the age of the oldest one (services[].consumer). */
export const QUEUE_DEPTH = 'queue_depth';
export const QUEUE_OLDEST_AGE = 'queue_oldest_age_s';
/** Latency quantiles besides p99, on services whose baseline declares them. */
export const LATENCY_P50 = 'latency_p50_ms';
export const LATENCY_P95 = 'latency_p95_ms';
const MAX_POINTS = 1440;

export const METRIC_UNITS: Record<string, string> = {
  [METRICS.latencyP99]: 'ms',
  [METRICS.errorRate]: 'percent',
  [METRICS.throughput]: 'requests/s',
  [METRICS.cpu]: 'percent',
  [METRICS.memory]: 'MiB',
  [METRICS.dbPoolActive]: 'connections',
  [METRICS.dbPoolMax]: 'connections',
  [METRICS.activeUsers]: 'users',
  [METRICS.revenuePerMinute]: 'USD/min',
  [CACHE_HIT_RATIO]: 'percent',
  [RESOURCE_METRICS.diskUsed]: 'percent',
  [RESOURCE_METRICS.openFds]: 'descriptors',
  [RESOURCE_METRICS.fdLimit]: 'descriptors',
  [RESOURCE_METRICS.throttled]: 'requests/s',
  [RESOURCE_METRICS.quotaLimit]: 'requests/s',
  [RESOURCE_METRICS.certDays]: 'days',
  [QUEUE_DEPTH]: 'messages',
  [QUEUE_OLDEST_AGE]: 'seconds',
  [LATENCY_P50]: 'ms',
  [LATENCY_P95]: 'ms',
};

/** Default share of a callee's increase that its callers inherit per hop. */
const DEFAULT_PROPAGATION = { latency: 0.85, errors: 0.7 };
/** Requests that fail when a saturated pool makes them wait past the timeout. */
const POOL_TIMEOUT_SHARE = 0.9;
/** Threads waiting per connection of excess demand (what HikariCP reports as pending). */
const PENDING_PER_EXCESS_CONNECTION = 30;
/** Share of a pooled connection's hold time spent in the database at baseline (the rest is app work between queries). */
const POOL_HOLD_QUERY_SHARE = 0.6;
/** Most requests that CPU saturation can fail (the rest are served, slowly). */
const MAX_OVERLOAD_ERRORS = 60;
/** Volume use from which writes start failing with ENOSPC (filesystems keep a reserve; the last blocks go fast). */
const DISK_FULL_PCT = 98;
/** Share of requests that write to the volume (logs, temp files, WAL): the most a full disk can fail. */
const DISK_WRITE_SHARE = 0.6;
/** Most requests that descriptor exhaustion fails (a few reuse open connections and files). */
const MAX_FD_ERROR_SHARE = 0.9;
const DAY = 86_400_000;

/** The metrics a service exposes: latency, errors, throughput, host metrics unless external, pool metrics if it has a pool, business ones if it carries them. */
export const serviceMetricNames = (s: ServiceSpec): MetricName[] => [
  METRICS.latencyP99,
  METRICS.errorRate,
  METRICS.throughput,
  // A third party's hosts are not ours to see: only what its callers measure.
  ...(s.tier === 'external' ? [] : [METRICS.cpu, METRICS.memory]),
  ...(s.baseline.db_pool_max !== undefined ? [METRICS.dbPoolActive, METRICS.dbPoolMax] : []),
  ...(s.cache ? [CACHE_HIT_RATIO] : []),
  ...(s.disk ? [RESOURCE_METRICS.diskUsed] : []),
  ...(s.fileDescriptors ? [RESOURCE_METRICS.openFds, RESOURCE_METRICS.fdLimit] : []),
  ...(s.quota ? [RESOURCE_METRICS.throttled, RESOURCE_METRICS.quotaLimit] : []),
  ...(s.certificates ? [RESOURCE_METRICS.certDays] : []),
  ...(s.activeUsers > 0 ? [METRICS.activeUsers] : []),
  ...(s.revenuePerMinute > 0 ? [METRICS.revenuePerMinute] : []),
  ...(s.baseline.latency_p50_ms !== undefined ? [LATENCY_P50] : []),
  ...(s.baseline.latency_p95_ms !== undefined ? [LATENCY_P95] : []),
  ...(s.tier === 'queue' && s.consumer ? [QUEUE_DEPTH, QUEUE_OLDEST_AGE] : []),
];

export interface ActiveFault {
  readonly index: number;
  readonly fault: FaultSpec;
  readonly intensity: number;
}

export interface ServiceState {
  /** Every metric's value (ports' metric names) plus `db_pool_pending`. */
  readonly values: Readonly<Record<string, number>>;
  /** The service's own latency/errors (before inheriting callees' increases) and the unstressed ones (no fault, no overload). */
  readonly own: { readonly latency: number; readonly errors: number };
  readonly healthy: { readonly latency: number; readonly errors: number; readonly throughput: number };
  readonly faults: readonly ActiveFault[];
  /** Calls that fail before reaching the service (connection-level faults): the share, the added time, what callers see. */
  readonly connection: { readonly errors: number; readonly latency: number; readonly error?: string };
  /** What a caller experiences calling this service: its reported latency/errors plus connection failures. */
  readonly calls: { readonly latency: number; readonly errors: number };
  /** Errors from CPU saturation (requests rejected or timed out in the queue), in percentage points. */
  readonly overloadErrors: number;
  /**
   * Errors from exhausted resources, in percentage points: writes failing on a full disk (ENOSPC), descriptors at
   * the limit (EMFILE), requests over a rate quota (throttled). Only on services that declare one of them.
   */
  readonly exhaustion?: { readonly disk: number; readonly fds: number; readonly throttled: number };
  /** A queue with a consumer: the backlog (messages beyond those in flight, unrounded), the inflow and the consumer's capacity (messages/s). */
  readonly queue?: { readonly backlog: number; readonly inflow: number; readonly capacity: number };
  /** A job: how far a run is active (0 idle, 1 running). */
  readonly jobRun?: number;
  /** A service with zones: each zone's own values of `ZONE_METRICS`. */
  readonly zones?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface Snapshot {
  readonly t: number;
  readonly services: ReadonlyMap<string, ServiceState>;
}

/** One fault, with what is derived from the scenario and the actions once per world state. */
interface FaultModel {
  readonly fault: FaultSpec;
  readonly index: number;
  /** Epoch ms of its start and (if it heals by itself) its end. */
  readonly start: number;
  readonly end: number | undefined;
  /** Its effects on the metrics the snapshot computes (the cache hit ratio is applied by `cacheHit`). */
  readonly effects: readonly (readonly [keyof Raw, Effect])[];
  readonly cacheEffect: Effect | undefined;
  /** When a mitigation took effect and when an inverse brought the fault back, in time order (see mitigationTransitions). */
  readonly transitions: readonly Transition[];
}

/** The instant a snapshot is computed for, with what every service's noise needs of it. */
interface Instant {
  readonly t: number;
  /** The fast noise's bucket. */
  readonly minute: number;
  /** The slow noise's knot before t, and the weight of the next one (cosine interpolation). */
  readonly knot: number;
  readonly weight: number;
}

/** Minutes between two slow-noise knots. */
const SLOW_KNOT_MINUTES = 15;

/**
 * The world's clock origin: its anchor (scenario minute 0) on the minute at or before it. Every world that
 * createWorld makes is anchored on a whole minute, so this is the anchor itself; an older stored world anchored
 * mid-minute still gets its grids on real UTC minutes.
 */
export const worldOrigin = (world: WorldState): number => context(world).origin;

/** Epoch ms of the start of the world minute (a whole UTC minute) that holds `t`. */
export const worldMinuteStart = (world: WorldState, t: number): number => {
  const origin = context(world).origin;
  return origin + Math.floor((t - origin) / MINUTE) * MINUTE;
};

/**
 * The noise buckets of t. They count minutes since the world's origin, not since the epoch: a world's answers
 * are a function of its id, scenario, actions and the time RELATIVE to its anchor, so the same world seeded a
 * few seconds (or days) later answers the same. The slow wander is interpolated by whole minutes too: the
 * healthy noise holds still within a minute (the world's native grain), so a query a few seconds later inside
 * the same minute sees the same baseline; only faults (ramps, growth) move continuously.
 *
 * A minute is named by its END, as a metrics API labels its buckets: the grid point at 12:07 is the minute
 * (12:06, 12:07], and an instant inside a minute — the "current" point a series ends with at 12:07:20 — belongs
 * to the minute still running, (12:07, 12:08], which the grid point at 12:08 shows once it is complete. With
 * the minute named by its start, the last grid point and the current point were the same minute counted
 * twice: one p99 spike filled two of the last three points, enough to look sustained.
 */
const instant = (ctx: Context, t: number): Instant => {
  const minute = Math.ceil((t - ctx.origin) / MINUTE);
  const knot = Math.floor(minute / SLOW_KNOT_MINUTES);
  const f = (minute - knot * SLOW_KNOT_MINUTES) / SLOW_KNOT_MINUTES;
  return { t, minute, knot, weight: (1 - Math.cos(Math.PI * f)) / 2 };
};

/**
 * One metric's seeded noise on one service, keyed by (world, service, metric, 'fast' | 'slow', bucket): the
 * leading parts hashed once, and the slow knots remembered (each serves the thirty minutes around it).
 */
class MetricNoise {
  readonly #fastKey: KeyPrefix;
  readonly #slowKey: KeyPrefix;
  readonly #knots = new Map<number, number>();

  constructor(service: KeyPrefix, metric: string) {
    this.#fastKey = service.extend(metric, 'fast');
    this.#slowKey = service.extend(metric, 'slow');
  }

  /** Fast noise: one standard normal per minute bucket. */
  fast(at: Instant): number {
    return this.#fastKey.gaussian(at.minute);
  }

  /** Smooth noise: a standard normal at 15-minute knots, interpolated (a slow wander rather than jitter). */
  slow(at: Instant): number {
    return this.#knotValue(at.knot) * (1 - at.weight) + this.#knotValue(at.knot + 1) * at.weight;
  }

  #knotValue(k: number): number {
    let v = this.#knots.get(k);
    if (v === undefined) {
      v = this.#slowKey.gaussian(k);
      this.#knots.set(k, v);
    }
    return v;
  }
}

/** One service, with everything about it that does not depend on the time. */
interface ServiceModel {
  readonly spec: ServiceSpec;
  /** Position in the scenario's services: the snapshot's working arrays are indexed by it. */
  readonly index: number;
  readonly metricNames: readonly MetricName[];
  /** Its faults, in scenario order. */
  readonly faults: readonly FaultModel[];
  /** The load events that target it directly. */
  readonly load: readonly LoadSpec[];
  /** Indices of its callers, once per call edge (a caller listing it twice weighs twice), and of its callees (-1: unknown). */
  readonly callers: readonly number[];
  readonly calls: readonly number[];
  readonly poolTarget: number;
  /** Its successful scale-outs (start, factor), in action order, and when each restart took effect. */
  readonly scales: readonly { readonly at: number; readonly factor: number }[];
  readonly restarts: readonly number[];
  /** Key of the per-minute latency spike draws, and each metric's noise. */
  readonly spikeKey: KeyPrefix;
  readonly noise: Readonly<Record<NoiseMetric, MetricNoise>>;
}

type NoiseMetric = 'latency' | 'errors' | 'throughput' | 'cpu' | 'memory' | 'pool' | 'cache-hit' | 'users' | 'revenue' | 'disk' | 'fds';
const NOISE_METRICS: readonly NoiseMetric[] = ['latency', 'errors', 'throughput', 'cpu', 'memory', 'pool', 'cache-hit', 'users', 'revenue', 'disk', 'fds'];

/**
 * What is derived once per world state: the services and faults with everything that does not depend on the
 * time (graph order, callers, fixes, scale-outs, restarts, noise keys), so a snapshot only does the arithmetic.
 * Keyed by the state object, which never changes: an action makes a new state, hence a new context.
 */
interface Context {
  readonly anchor: number;
  /** worldOrigin: the anchor on its minute. Noise buckets, trace slots and log minutes count from it. */
  readonly origin: number;
  readonly timeOfDay: number;
  readonly lag: number;
  /** In scenario order. */
  readonly services: readonly ServiceModel[];
  /** By fault index (an ActiveFault's `index`). */
  readonly faults: readonly FaultModel[];
  readonly byName: ReadonlyMap<string, ServiceModel>;
  /** Callers before callees. */
  readonly order: readonly ServiceModel[];
  /** Queues with a consumer (see queueStates). */
  readonly queues: readonly QueueModel[];
}

const contexts = new WeakMap<WorldState, Context>();

const topologicalOrder = (services: readonly ServiceSpec[]): string[] => {
  const indegree = new Map(services.map((s) => [s.name, 0]));
  for (const s of services) for (const c of s.calls) indegree.set(c, (indegree.get(c) ?? 0) + 1);
  const calls = new Map(services.map((s) => [s.name, asyncCalls(s)]));
  for (const s of services) if (s.consumer) indegree.set(s.consumer.service, (indegree.get(s.consumer.service) ?? 0) + 1);
  const queue = services.filter((s) => indegree.get(s.name) === 0).map((s) => s.name);
  const order: string[] = [];
  while (queue.length > 0) {
    const n = queue.shift() as string;
    order.push(n);
    for (const c of calls.get(n) ?? []) {
      indegree.set(c, (indegree.get(c) ?? 0) - 1);
      if (indegree.get(c) === 0) queue.push(c);
    }
  }
  return order; // the scenario schema rejects cycles, so this holds every service
};

/** Whether a successful action ends the fault: it undid the causing change, or matches a `fixedBy` entry. */
const fixes = (fault: FaultSpec, a: WorldAction): boolean => {
  if (a.status !== 'succeeded' || a.undo) return false;
  if (fault.causedBy && a.changeId === fault.causedBy) return true;
  return fault.fixedBy.some(
    (f) => f.kind === a.kind && (!f.service || f.service === a.service) && (!f.target || f.target === a.target || f.target === a.service || (a.changeId !== undefined && f.target === a.changeId)),
  );
};

/** A fault's mitigation switching on (an action fixed it) or off (an inverse action undid the last fix). */
export interface Transition {
  readonly at: number;
  readonly mitigated: boolean;
}

/**
 * What an action reverses is found by a key both share: kind, service, target and the change. An inverse
 * (`undo`) carries the change it re-applied in `reappliedChangeId`, the original in `changeId`.
 */
const reversalKey = (a: WorldAction): string => `${a.kind}|${a.service}|${a.target ?? ''}|${a.changeId ?? a.reappliedChangeId ?? ''}`;

/**
 * When the fault was mitigated and when it came back. Every successful action that fixes the fault adds a
 * live fix; an inverse of one of those removes it. The fault is mitigated while at least one fix is live: a
 * rollback undone by a roll-forward brings the fault back, unless another fix (a failover) still holds it off.
 */
export const mitigationTransitions = (fault: FaultSpec, actions: readonly WorldAction[]): Transition[] => {
  const live = new Map<string, number>();
  const out: Transition[] = [];
  const ordered = actions.filter((a) => a.status === 'succeeded').sort((x, y) => Date.parse(x.at) - Date.parse(y.at));
  for (const a of ordered) {
    const before = [...live.values()].some((n) => n > 0);
    const key = reversalKey(a);
    if (fixes(fault, a)) live.set(key, (live.get(key) ?? 0) + 1);
    else if (a.undo && (live.get(key) ?? 0) > 0) live.set(key, (live.get(key) as number) - 1);
    else continue;
    const after = [...live.values()].some((n) => n > 0);
    if (after !== before) out.push({ at: Date.parse(a.at), mitigated: after });
  }
  return out;
};

/**
 * How far the mitigation has taken effect at t, in [0, 1]: each transition ramps the level from where it
 * stood towards 1 (mitigated) or 0 (the fault is back) over the recovery lag.
 */
export const mitigationLevel = (transitions: readonly Transition[], t: number, lag: number): number => {
  let level = 0;
  let from = 0;
  let at = -Infinity;
  let target = 0;
  const value = (x: number) => (at === -Infinity ? level : from + (target - from) * ramp(x, at, lag));
  for (const tr of transitions) {
    if (tr.at > t) break;
    from = value(tr.at);
    at = tr.at;
    target = tr.mitigated ? 1 : 0;
  }
  level = value(t);
  return clamp01(level);
};

const context = (world: WorldState): Context => {
  const cached = contexts.get(world);
  if (cached) return cached;
  const { services, faults, load } = world.scenario;
  const anchor = Date.parse(world.createdAt);
  const lag = Math.max(1, world.recoveryLagSeconds * 1000);
  const indexOf = new Map(services.map((s, i) => [s.name, i]));
  const callers: number[][] = services.map(() => []);
  services.forEach((s, i) => {
    for (const c of s.calls) {
      const callee = indexOf.get(c);
      if (callee !== undefined) callers[callee]?.push(i);
    }
  });
  // A queue hands its messages to its consumer: for load, the consumer is one more callee of the queue.
  services.forEach((s, i) => {
    const consumer = s.consumer ? indexOf.get(s.consumer.service) : undefined;
    if (consumer !== undefined) callers[consumer]?.push(i);
  });
  const succeeded = world.actions.filter((a) => a.status === 'succeeded');
  const faultModels: FaultModel[] = faults.map((fault, index) => ({
    fault,
    index,
    start: anchor + fault.startsAt * MINUTE,
    end: fault.endsAt === undefined ? undefined : anchor + fault.endsAt * MINUTE,
    effects: Object.entries(fault.effects)
      .filter(([metric]) => metric !== CACHE_HIT_RATIO)
      .map(([metric, e]) => [metric as keyof Raw, e] as const),
    cacheEffect: fault.effects[CACHE_HIT_RATIO],
    transitions: mitigationTransitions(fault, world.actions),
  }));
  const models: ServiceModel[] = services.map((spec, index) => {
    const key = keyPrefix(world.id, spec.name);
    const mine = succeeded.filter((a) => a.service === spec.name);
    return {
      spec,
      index,
      metricNames: serviceMetricNames(spec),
      faults: faultModels.filter((f) => f.fault.service === spec.name),
      load: load.filter((l) => l.services.includes(spec.name)),
      callers: callers[index] as number[],
      calls: spec.calls.map((c) => indexOf.get(c) ?? -1),
      poolTarget: spec.poolTarget === undefined ? -1 : (indexOf.get(spec.poolTarget) ?? -1),
      scales: mine.filter((a) => a.kind === 'scale-service' && a.factor !== undefined).map((a) => ({ at: Date.parse(a.at), factor: a.factor as number })),
      restarts: mine.filter((a) => a.kind === 'restart-service').map((a) => Date.parse(a.at) + lag / 2),
      spikeKey: key,
      noise: Object.fromEntries(NOISE_METRICS.map((m) => [m, new MetricNoise(key, m)])) as Record<NoiseMetric, MetricNoise>,
    };
  });
  const byName = new Map(models.map((m) => [m.spec.name, m]));
  const ctx: Context = {
    anchor,
    origin: Math.floor(anchor / MINUTE) * MINUTE,
    timeOfDay: world.scenario.timeOfDay,
    lag,
    services: models,
    faults: faultModels,
    byName,
    order: topologicalOrder(services).map((name) => byName.get(name) as ServiceModel),
    queues: queueModels(world, anchor),
  };
  contexts.set(world, ctx);
  return ctx;
};

/** A service's calls plus, for a queue, its consumer (the asynchronous edge): what load and graph order follow. */
const asyncCalls = (s: ServiceSpec): readonly string[] => (s.consumer ? [...s.calls, s.consumer.service] : s.calls);

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
/** 0 before `start`, rising linearly to 1 over `duration` ms. */
const ramp = (t: number, start: number, duration: number) => (duration <= 0 ? (t >= start ? 1 : 0) : clamp01((t - start) / duration));

/** A mild daily traffic shape: ±10 %, peaking mid-afternoon (scenario-local time, anchored at `timeOfDay`). */
const dailyShape = (ctx: Context, at: Instant) => {
  // Taken at the grid point that names t's world minute (its end: see `instant`), like the noise: a healthy minute holds still.
  const hours = (ctx.origin + at.minute * MINUTE - ctx.anchor) / 3_600_000;
  return 1 + 0.1 * Math.sin((2 * Math.PI * (ctx.timeOfDay + hours - 9)) / 24);
};

const faultIntensity = (ctx: Context, f: FaultModel, t: number): number => {
  let i = ramp(t, f.start, f.fault.rampMinutes * MINUTE);
  if (f.end !== undefined) i *= 1 - ramp(t, f.end, 2 * MINUTE);
  if (f.transitions.length > 0) i *= 1 - mitigationLevel(f.transitions, t, ctx.lag);
  return i;
};

/** Capacity multiplier from scale-service actions, ramping in over the recovery lag. */
const scaleFactor = (ctx: Context, m: ServiceModel, t: number): number => {
  let f = 1;
  for (const a of m.scales) f *= 1 + (a.factor - 1) * ramp(t, a.at, ctx.lag);
  return f;
};

/** The latest restart of the service that has taken effect by t (restarts reset accumulated growth); -Infinity if none. */
const lastRestart = (m: ServiceModel, t: number): number => {
  let last = -Infinity;
  for (const at of m.restarts) if (at <= t && at > last) last = at;
  return last;
};

/** One effect on one value at intensity `intensity`; `since` is when growth started (a restart resets it). */
const applyEffect = (v: number, e: Effect, intensity: number, since: number, t: number): number => {
  if (e.factor !== undefined) return v * (1 + (e.factor - 1) * intensity);
  if (e.add !== undefined) return v + e.add * intensity;
  if (e.value !== undefined) return v + (e.value - v) * intensity;
  if (e.perMinute !== undefined) return v + e.perMinute * Math.max(0, (t - since) / MINUTE) * intensity;
  return v;
};

/** When a fault's growth (perMinute effects) started on the service: its start, or the last restart (`restart`, -Infinity if none). */
const growthSince = (f: FaultModel, restart: number) => Math.max(f.start, restart);

/** The cache hit ratio of a service with a cache: baseline, noise on the miss ratio, then the faults. */
const cacheHit = (ctx: Context, m: ServiceModel, active: readonly ActiveFault[], restart: number, at: Instant): number => {
  const cache = m.spec.cache;
  if (!cache) return 0;
  const t = at.t;
  const noise = m.noise['cache-hit'];
  const miss = (100 - cache.hitRatioPct) * Math.max(0.5, 1 + 0.05 * noise.fast(at) + 0.05 * noise.slow(at));
  let hit = 100 - miss;
  for (const a of active) {
    const f = ctx.faults[a.index] as FaultModel;
    if (f.cacheEffect) hit = applyEffect(hit, f.cacheEffect, a.intensity, growthSince(f, restart), t);
  }
  return Math.min(99.99, Math.max(0, hit));
};

/**
 * How much more (or less) than its baseline share `caller` sends to `callee` at t: the active faults'
 * `callVolume`, and for a cache, misses reaching the backing store (and written back to the cache).
 */
const edgeFactor = (caller: ServiceSpec, callee: string, faults: readonly ActiveFault[], hit: number): number => {
  let f = 1;
  for (const { fault, intensity } of faults) {
    const v = fault.callVolume[callee];
    if (v !== undefined) f *= 1 + (v - 1) * intensity;
  }
  if (caller.cache) {
    const miss = 100 - hit;
    const miss0 = 100 - caller.cache.hitRatioPct;
    if (callee === caller.cache.backing) f *= miss / miss0;
    if (callee === caller.cache.store) f *= (100 + miss) / (100 + miss0);
  }
  return f;
};

/**
 * Traffic multiplier from load events; services not targeted inherit their callers' (weighted by the callers'
 * baseline throughput), each caller's share multiplied by its edge factor. Indexed like the scenario's services.
 */
const loadFactors = (ctx: Context, t: number, active: readonly (readonly ActiveFault[])[], hits: readonly number[]): number[] => {
  const out = ctx.services.map(() => 1);
  for (const m of ctx.order) {
    let direct = 1;
    for (const l of m.load) {
      let env = ramp(t, ctx.anchor + l.startsAt * MINUTE, l.rampMinutes * MINUTE);
      if (l.endsAt !== undefined) env *= 1 - ramp(t, ctx.anchor + l.endsAt * MINUTE, l.rampMinutes * MINUTE);
      direct *= 1 + (l.factor - 1) * env;
    }
    let inherited = 1;
    if (m.callers.length > 0) {
      let weight = 0;
      // A job's calls come on top of the callee's baseline (which is the other callers' traffic): its weight counts only when nothing else calls.
      let jobWeight = 0;
      let sum = 0;
      for (const c of m.callers) {
        const spec = (ctx.services[c] as ServiceModel).spec;
        const w = spec.baseline.throughput_rps;
        if (spec.tier === 'job') jobWeight += w;
        else weight += w;
        sum += w * (out[c] as number) * edgeFactor(spec, m.spec.name, active[c] as ActiveFault[], hits[c] as number);
      }
      inherited = sum / (weight > 0 ? weight : jobWeight);
    }
    out[m.index] = m.spec.schedule ? direct * inherited * jobRunLevel(ctx, m.spec.schedule, t) : direct * inherited;
  }
  return out;
};

type Raw = Record<'latency_p99_ms' | 'error_rate_pct' | 'throughput_rps' | 'cpu_pct' | 'memory_mb' | 'db_pool_active' | 'db_pool_max' | 'cache_hit_ratio_pct' | 'disk_used_pct' | 'open_fds' | 'quota_limit_rps', number>;
type Capacity = Raw & { db_pool_pending: number; overload_errors: number; throttled_rps: number; disk_errors: number; fd_errors: number; throttled_errors: number; latency_uniform: number };

/** Step 1: healthy values with noise, at `demand` (traffic load × daily shape). */
const healthyRaw = (m: ServiceModel, at: Instant, demand: number, hit: number, spike: number): Raw => {
  const b = m.spec.baseline;
  const noise = m.noise;
  const n = (metric: NoiseMetric, fast: number, slow: number) => 1 + fast * noise[metric].fast(at) + slow * noise[metric].slow(at);
  // `spike`: p99's heavy tail (latencySpike), drawn once per minute by the caller, which also takes it out of p50/p95.
  return {
    latency_p99_ms: b.latency_p99_ms * (1 + 0.08 * (demand - 1)) * Math.max(0.6, n('latency', 0.07, 0.04)) * spike,
    error_rate_pct: Math.max(0, b.error_rate_pct * Math.max(0, n('errors', 0.3, 0.1))),
    throughput_rps: b.throughput_rps * demand * Math.max(0.5, n('throughput', 0.035, 0.03)),
    cpu_pct: b.cpu_pct * demand ** 0.9 * Math.max(0.5, n('cpu', 0.05, 0.04)),
    memory_mb: b.memory_mb * Math.max(0.8, n('memory', 0.008, 0.02)),
    // Without a pool the value is 0 whatever the noise (and never shown): nothing to draw.
    db_pool_active: b.db_pool_active === undefined ? 0 : b.db_pool_active * demand * Math.max(0.5, n('pool', 0.07, 0.03)),
    db_pool_max: b.db_pool_max ?? 0,
    cache_hit_ratio_pct: hit,
    // Without the feature the value is 0 and never shown: nothing to draw. A volume fills slowly (its noise is
    // tiny); open descriptors follow the connections, so the load.
    disk_used_pct: m.spec.disk ? m.spec.disk.usedPct * Math.max(0.9, n('disk', 0.001, 0.004)) : 0,
    open_fds: m.spec.fileDescriptors ? m.spec.fileDescriptors.open * (1 + 0.5 * (demand - 1)) * Math.max(0.5, n('fds', 0.03, 0.03)) : 0,
    quota_limit_rps: m.spec.quota?.limitRps ?? 0,
  };
};

/** p99 latency has a heavy tail: about one minute in forty shows a GC pause or a slow request burst (a factor ≥ 1.25, else 1). */
const latencySpike = (m: ServiceModel, minute: number): number =>
  m.spikeKey.uniform('latency-spike', minute) < 0.025 ? 1.25 + 0.5 * m.spikeKey.uniform('latency-spike-size', minute) : 1;

/** Step 2: the server-side faults' direct effects on `v`, in place, on every metric. */
const applyServerFaults = (ctx: Context, v: Raw, active: readonly ActiveFault[], restart: number, t: number): void => {
  for (const a of active) {
    if (a.fault.failsAt === 'connection') continue;
    const f = ctx.faults[a.index] as FaultModel;
    const since = growthSince(f, restart);
    for (const [metric, e] of f.effects) v[metric] = applyEffect(v[metric], e, a.intensity, since, t);
  }
};

/**
 * Step 2 for the connection-level faults (expired certificate, DNS), in one pass: their latency and errors are
 * what callers see (returned, on top of `v`'s: see `computeSnapshot`), their other effects move `v` in place.
 */
const applyConnectionFaults = (ctx: Context, v: Raw, active: readonly ActiveFault[], restart: number, t: number): { latency: number; errors: number } => {
  let latency = v.latency_p99_ms;
  let errors = v.error_rate_pct;
  for (const a of active) {
    if (a.fault.failsAt !== 'connection') continue;
    const f = ctx.faults[a.index] as FaultModel;
    const since = growthSince(f, restart);
    for (const [metric, e] of f.effects) {
      if (metric === 'latency_p99_ms') latency = applyEffect(latency, e, a.intensity, since, t);
      else if (metric === 'error_rate_pct') errors = applyEffect(errors, e, a.intensity, since, t);
      else v[metric] = applyEffect(v[metric], e, a.intensity, since, t);
    }
  }
  return { latency, errors };
};

/** Step 3: capacity models. Returns the final own values and the pool's pending threads. */
const applyCapacity = (s: ServiceSpec, raw: Raw, scale: number): Capacity => {
  let latency = raw.latency_p99_ms;
  // What every request pays (CPU queueing), as opposed to the tail alone (pool waits, GC pauses): see latencyQuantiles.
  let uniform = latency;
  let errors = raw.error_rate_pct;
  let cpu = raw.cpu_pct / scale;
  let memory = raw.memory_mb;
  let active = raw.db_pool_active;
  let pending = 0;
  const max = Math.max(1, Math.round(raw.db_pool_max));
  if (s.baseline.db_pool_max !== undefined) {
    // Connections are per instance: scaling out spreads the demand over more pools.
    const demand = raw.db_pool_active / scale;
    const rho = demand / max;
    active = Math.min(max, demand);
    if (rho > 1) {
      pending = (demand - max) * PENDING_PER_EXCESS_CONNECTION;
      latency += (s.poolTimeoutMs - latency) * Math.min(1, rho - 1);
      errors += (100 - errors) * (1 - 1 / rho) * POOL_TIMEOUT_SHARE;
    }
  }
  if (s.memoryLimitMb !== undefined) {
    const pressure = memory / s.memoryLimitMb;
    if (pressure > 0.75) {
      // The collector runs more often and longer as the heap fills: pauses, CPU burnt in GC, and near the
      // limit requests that time out during a pause.
      const gc = ((Math.min(pressure, 1) - 0.75) / 0.25) ** 2;
      latency *= 1 + 4 * gc;
      cpu += 30 * gc;
      if (pressure > 0.85) errors += 5 * ((Math.min(pressure, 1) - 0.85) / 0.15) ** 2;
    }
    if (pressure >= 1) {
      // OOM kills: instances restart at the limit, and requests in flight fail.
      memory = s.memoryLimitMb * 0.97;
      errors += 6;
    }
  }
  // Exhausted resources (only on services that declare them).
  let throughput = raw.throughput_rps;
  let throttled = 0;
  let diskErrors = 0;
  let fdErrors = 0;
  let throttledErrors = 0;
  let disk = raw.disk_used_pct;
  let fds = raw.open_fds;
  let quota = raw.quota_limit_rps;
  if (s.disk) {
    disk = Math.min(100, Math.max(0, disk));
    if (disk >= DISK_FULL_PCT) {
      // ENOSPC: writes fail, more of them as the last blocks go.
      const before = errors;
      errors += (100 - errors) * DISK_WRITE_SHARE * (0.5 + 0.5 * Math.min(1, (disk - DISK_FULL_PCT) / (100 - DISK_FULL_PCT)));
      diskErrors = errors - before;
    }
  }
  if (s.fileDescriptors) {
    const limit = s.fileDescriptors.limit;
    fds = Math.max(0, fds);
    if (fds >= limit) {
      // EMFILE: every accept() and open() past the limit fails; demand beyond it fails more requests.
      const before = errors;
      errors += (100 - errors) * Math.min(MAX_FD_ERROR_SHARE, 0.3 + 3 * (fds / limit - 1));
      fdErrors = errors - before;
      fds = limit;
    }
  }
  if (s.quota) {
    // Scaling raises the limit (more provisioned capacity, a higher concurrency or rate limit).
    quota = Math.max(0, quota) * scale;
    if (throughput > quota) {
      throttled = throughput - quota;
      const before = errors;
      errors += (100 - errors) * (throttled / throughput);
      throttledErrors = errors - before;
      throughput = quota;
    }
  }
  let overload = 0;
  if (cpu > 85) {
    // Past ~85 % requests queue for a core; past 100 % the queue overflows and requests are rejected.
    const queueing = 1 + 3 * ((Math.min(cpu, 130) - 85) / 15) ** 2;
    latency *= queueing;
    uniform *= queueing;
    overload = Math.min(MAX_OVERLOAD_ERRORS, Math.max(0, cpu - 100) * 0.5);
    errors += overload;
    cpu = Math.min(cpu, 100);
  }
  return {
    latency_p99_ms: latency,
    error_rate_pct: Math.min(100, Math.max(0, errors)),
    throughput_rps: throughput,
    cpu_pct: Math.max(0, cpu),
    memory_mb: memory,
    db_pool_active: Math.round(active),
    db_pool_max: max,
    cache_hit_ratio_pct: raw.cache_hit_ratio_pct,
    db_pool_pending: Math.round(pending),
    overload_errors: overload,
    disk_used_pct: disk,
    open_fds: fds,
    quota_limit_rps: quota,
    throttled_rps: throttled,
    disk_errors: diskErrors,
    fd_errors: fdErrors,
    throttled_errors: throttledErrors,
    latency_uniform: uniform,
  };
};

/** The first of the strongest faults (highest intensity), if any. */
const strongest = (faults: readonly ActiveFault[], connection?: boolean): ActiveFault | undefined => {
  let best: ActiveFault | undefined;
  for (const f of faults) {
    if (connection !== undefined && (f.fault.failsAt === 'connection') !== connection) continue;
    if (!best || f.intensity > best.intensity) best = f;
  }
  return best;
};

/**
 * Snapshots are pure functions of (world, t), and a world only changes by appending actions, so a warm container
 * reuses them across invocations: each agent re-reads the world from the store (a new object each time), but
 * the impact, logs, root-cause and verification agents ask about the same minutes. Grouped by world state (its
 * key), so a lookup hashes no string. An action makes a new key, so a snapshot of the world before it is never
 * served after it.
 *
 * Bounded by service states, not snapshots: a snapshot holds one per service (~0.6 KiB each), and a scenario
 * has up to 30 services, so a count of snapshots alone would let the cache grow five-fold with the scenario.
 * 140,000 service states is ~20,000 snapshots of a 7-service world, about 90 MB. The least recently used
 * world state is evicted first; the one being queried only loses its own oldest minutes when it is alone.
 */
const SNAPSHOT_CACHE_SERVICE_STATES = 140_000;
const snapshots = new Map<string, Map<number, Snapshot>>();
let cachedServiceStates = 0;
/** The key last used: always the last in `snapshots` (a Map iterates in insertion order), so using it again moves nothing. */
let newestKey: string | undefined;
const worldKeys = new WeakMap<WorldState, string>();
/** Scenario hashes by scenario object (the world store hands out one parsed object per distinct scenario). */
const scenarioHashes = new WeakMap<Scenario, number>();
const scenarioHash = (scenario: Scenario): number => {
  let h = scenarioHashes.get(scenario);
  if (h === undefined) {
    h = hash53(JSON.stringify(scenario));
    scenarioHashes.set(scenario, h);
  }
  return h;
};
/** Everything a snapshot depends on but the time: the scenario and the actions so far (hashed), the anchor, the lag. */
const worldKey = (world: WorldState): string => {
  let key = worldKeys.get(world);
  if (!key) {
    key = `${world.id}|${scenarioHash(world.scenario)}|${world.createdAt}|${world.recoveryLagSeconds}|${hash53(JSON.stringify(world.actions))}`;
    worldKeys.set(world, key);
  }
  return key;
};

/** All services' metrics at epoch ms `t`. */
export const snapshotAt = (world: WorldState, t: number): Snapshot => {
  const key = worldKey(world);
  let cache = snapshots.get(key);
  if (!cache || key !== newestKey) {
    // To the back of the eviction order.
    cache ??= new Map();
    snapshots.delete(key);
    snapshots.set(key, cache);
    newestKey = key;
  }
  const cached = cache.get(t);
  if (cached) return cached;
  const snapshot = computeSnapshot(world, t);
  const size = snapshot.services.size;
  for (const [oldest, entries] of snapshots) {
    if (cachedServiceStates + size <= SNAPSHOT_CACHE_SERVICE_STATES) break;
    if (oldest !== key) {
      snapshots.delete(oldest);
      for (const s of entries.values()) cachedServiceStates -= s.services.size;
      continue;
    }
    // Only this world state is left: drop its oldest minutes.
    for (const [minute, s] of entries) {
      if (cachedServiceStates + size <= SNAPSHOT_CACHE_SERVICE_STATES) break;
      entries.delete(minute);
      cachedServiceStates -= s.services.size;
    }
  }
  cache.set(t, snapshot);
  cachedServiceStates += size;
  return snapshot;
};

/** What the snapshot cache holds, for tests: the bound, the service states counted against it, the world states, one's cached times (oldest first). */
export const snapshotCache = {
  limit: SNAPSHOT_CACHE_SERVICE_STATES,
  serviceStates: (): number => cachedServiceStates,
  worldStates: (): number => snapshots.size,
  times: (world: WorldState): number[] => [...(snapshots.get(worldKey(world))?.keys() ?? [])],
};

/** A service's state while the snapshot is computed (callees first). */
interface Own {
  readonly v: Capacity;
  readonly unstressed: Raw;
  readonly faults: readonly ActiveFault[];
  readonly connection: ServiceState['connection'];
  readonly total: { readonly latency: number; readonly errors: number };
  readonly calls: { readonly latency: number; readonly errors: number };
  /** The share of this service's increases its callers inherit (its strongest fault's, or the default). */
  readonly propagation: { readonly latency: number; readonly errors: number };
  /** The part of `total.latency` every request pays (no tail: spikes, pool waits, GC pauses, connection timeouts), and its unstressed value. */
  readonly uniform: number;
  readonly unstressedUniform: number;
  /** A service with zones and a zonal fault active: each zone's own view (see `zoneViews`). */
  readonly zones?: readonly { readonly zone: string; readonly v: Raw }[];
}

/**
 * The zones of a service whose zonal faults are active: each zone's own values — the service's faults that are not
 * zonal and the zonal ones of that zone — for its share of the traffic. The service's metrics mix them (`mixZones`).
 */
const zoneViews = (ctx: Context, s: ServiceSpec, raw: Raw, faults: readonly ActiveFault[], restart: number, t: number): { zone: string; v: Raw }[] | undefined => {
  if (!s.zones || !faults.some((a) => a.fault.zone !== undefined)) return undefined;
  const common = faults.filter((a) => a.fault.zone === undefined);
  return s.zones.map((zone) => {
    const v = { ...raw };
    applyServerFaults(ctx, v, [...common, ...faults.filter((a) => a.fault.zone === zone)], restart, t);
    return { zone, v };
  });
};

/**
 * The service's values from its zones' (equal shares of its traffic): rates, utilisations and levels average; the
 * p99 is the worst zone's — a zone carrying a sixth of the traffic or more holds the slowest percent of requests.
 */
const mixZones = (into: Raw, zones: readonly { v: Raw }[]): void => {
  for (const key of Object.keys(into) as (keyof Raw)[]) {
    into[key] = key === 'latency_p99_ms' ? Math.max(...zones.map((z) => z.v[key])) : zones.reduce((sum, z) => sum + z.v[key], 0) / zones.length;
  }
};

/** The metrics a zone has of its own (`groupBy: ['zone']`): what a load balancer reports per availability zone. */
export const ZONE_METRICS: readonly string[] = [METRICS.latencyP99, METRICS.errorRate, METRICS.throughput, METRICS.cpu];

const computeSnapshot = (world: WorldState, t: number): Snapshot => {
  const ctx = context(world);
  const at = instant(ctx, t);
  const n = ctx.services.length;
  // Working state per service, indexed like the scenario's services.
  const active: ActiveFault[][] = new Array(n);
  const restarts: number[] = new Array(n);
  const hits: number[] = new Array(n).fill(0);
  for (const m of ctx.services) {
    const faults: ActiveFault[] = [];
    for (const f of m.faults) {
      const intensity = faultIntensity(ctx, f, t);
      if (intensity > 0) faults.push({ fault: f.fault, index: f.index, intensity });
    }
    active[m.index] = faults;
    restarts[m.index] = lastRestart(m, t);
    if (m.spec.cache) hits[m.index] = cacheHit(ctx, m, faults, restarts[m.index] as number, at);
  }
  const loads = loadFactors(ctx, t, active, hits);
  const daily = dailyShape(ctx, at);
  const own: Own[] = new Array(n);
  // Callees before callers: a pool sees its database's latency, and increases travel up every path.
  for (let k = ctx.order.length - 1; k >= 0; k--) {
    const m = ctx.order[k] as ServiceModel;
    const s = m.spec;
    const faults = active[m.index] as ActiveFault[];
    const restart = restarts[m.index] as number;
    const spike = latencySpike(m, at.minute);
    const raw = healthyRaw(m, at, (loads[m.index] as number) * daily, hits[m.index] as number, spike);
    const faulted = { ...raw };
    const zones = zoneViews(ctx, s, raw, faults, restart, t);
    if (zones) mixZones(faulted, zones);
    else applyServerFaults(ctx, faulted, faults, restart, t);
    // Connection-level failures: what callers would see, taken out of the service's own view.
    const seen = applyConnectionFaults(ctx, faulted, faults, restart, t);
    const connErrors = Math.min(100, Math.max(0, seen.errors - faulted.error_rate_pct));
    const connLatency = Math.max(0, seen.latency - faulted.latency_p99_ms);
    if (connErrors > 0) faulted.throughput_rps = faulted.throughput_rps * (1 - connErrors / 100);
    if (m.poolTarget >= 0) {
      // Little's law: connections in use = request rate × hold time, and the hold time is mostly query time.
      const target = own[m.poolTarget] as Own;
      const slowdown = target.calls.latency / target.unstressed.latency_p99_ms;
      faulted.db_pool_active = faulted.db_pool_active * (1 + POOL_HOLD_QUERY_SHARE * (slowdown - 1));
    }
    const v = applyCapacity(s, faulted, scaleFactor(ctx, m, t));
    let latency = v.latency_p99_ms;
    let errors = v.error_rate_pct;
    let uniform = v.latency_uniform / spike;
    for (const callee of m.calls) {
      const c = own[callee];
      if (!c) continue;
      const increase = Math.max(0, c.calls.latency - c.unstressed.latency_p99_ms);
      latency += c.propagation.latency * increase;
      errors += c.propagation.errors * Math.max(0, c.calls.errors - c.unstressed.error_rate_pct);
      uniform += c.propagation.latency * Math.min(increase, Math.max(0, c.uniform - c.unstressedUniform));
    }
    const total = { latency, errors: Math.min(100, errors) };
    const callerError = strongest(faults, true)?.fault.callerError;
    const propagation = strongest(faults)?.fault.propagation;
    own[m.index] = {
      v,
      unstressed: raw,
      faults,
      connection: callerError ? { errors: connErrors, latency: connLatency, error: callerError } : { errors: connErrors, latency: connLatency },
      total,
      calls: { latency: total.latency + connLatency * (connErrors / 100), errors: Math.min(100, total.errors + connErrors * (1 - total.errors / 100)) },
      propagation: { latency: propagation?.latency ?? DEFAULT_PROPAGATION.latency, errors: propagation?.errors ?? DEFAULT_PROPAGATION.errors },
      uniform: Math.min(uniform, total.latency),
      unstressedUniform: raw.latency_p99_ms / spike,
      ...(zones ? { zones } : {}),
    };
  }
  const queues = ctx.queues.length > 0 ? queueStates(world, ctx, t, own) : undefined;
  const services = new Map<string, ServiceState>();
  for (const m of ctx.services) {
    const s = m.spec;
    const o = own[m.index] as Own;
    const tot = o.total;
    const demand = (loads[m.index] as number) * daily;
    const slowdown = tot.latency / o.unstressed.latency_p99_ms;
    // Users abandon slow pages: conversion drops with each doubling of latency.
    const latencyPenalty = slowdown > 1 ? Math.max(0.4, 1 - 0.15 * Math.log2(slowdown)) : 1;
    const values: Record<string, number> = {
      [METRICS.latencyP99]: round(tot.latency, 2),
      [METRICS.errorRate]: round(tot.errors, 3),
      [METRICS.throughput]: round(o.v.throughput_rps, 2),
      [METRICS.cpu]: round(o.v.cpu_pct, 2),
      [METRICS.memory]: round(o.v.memory_mb, 1),
    };
    if (s.baseline.db_pool_max !== undefined) {
      values[METRICS.dbPoolActive] = o.v.db_pool_active;
      values[METRICS.dbPoolMax] = o.v.db_pool_max;
      values.db_pool_pending = o.v.db_pool_pending;
    }
    if (s.cache) values[CACHE_HIT_RATIO] = round(o.v.cache_hit_ratio_pct, 2);
    if (s.disk) values[RESOURCE_METRICS.diskUsed] = round(o.v.disk_used_pct, 2);
    if (s.fileDescriptors) {
      values[RESOURCE_METRICS.openFds] = Math.round(o.v.open_fds);
      values[RESOURCE_METRICS.fdLimit] = s.fileDescriptors.limit;
    }
    if (s.quota) {
      values[RESOURCE_METRICS.throttled] = round(o.v.throttled_rps, 2);
      values[RESOURCE_METRICS.quotaLimit] = round(o.v.quota_limit_rps, 2);
    }
    // What ACM publishes as DaysToExpiry: from the instant to the earliest notAfter, negative once it has passed.
    if (s.certificates) values[RESOURCE_METRICS.certDays] = round((ctx.anchor + Math.min(...s.certificates.map((c) => c.notAfter)) * MINUTE - t) / DAY, 3);
    if (s.activeUsers > 0) {
      values[METRICS.activeUsers] = Math.round(s.activeUsers * demand * (1 + 0.02 * m.noise.users.fast(at)) * (1 - 0.15 * (tot.errors / 100)));
    }
    if (s.revenuePerMinute > 0) {
      values[METRICS.revenuePerMinute] = round(s.revenuePerMinute * demand * Math.max(0, 1 + 0.05 * m.noise.revenue.fast(at)) * (1 - tot.errors / 100) * latencyPenalty, 2);
    }
    if (s.baseline.latency_p50_ms !== undefined || s.baseline.latency_p95_ms !== undefined) Object.assign(values, latencyQuantiles(s, o, values[METRICS.latencyP99] as number));
    const queue = queues?.states.get(m.index);
    if (queue) {
      values[QUEUE_DEPTH] = Math.round(queue.depth);
      values[QUEUE_OLDEST_AGE] = round(queue.age, 1);
    }
    const drained = queues?.drains.get(m.index);
    if (drained !== undefined) values[METRICS.throughput] = round(o.v.throughput_rps * drained, 2);
    const jobRun = s.schedule ? jobRunLevel(ctx, s.schedule, t) : undefined;
    // Per zone: the zone's own view (or the service's, no zonal fault active) plus what its callees add to every zone.
    const inherited = { latency: Math.max(0, tot.latency - o.v.latency_p99_ms), errors: Math.max(0, tot.errors - o.v.error_rate_pct) };
    const zoneShare = s.zones ? 1 / s.zones.length : 0;
    const zoneValues = s.zones
      ? Object.fromEntries(
          s.zones.map((zone) => {
            const z = o.zones?.find((x) => x.zone === zone)?.v;
            return [
              zone,
              {
                [METRICS.latencyP99]: round((z?.latency_p99_ms ?? o.v.latency_p99_ms) + inherited.latency, 2),
                [METRICS.errorRate]: round(Math.min(100, (z?.error_rate_pct ?? o.v.error_rate_pct) + inherited.errors), 3),
                [METRICS.throughput]: round((z?.throughput_rps ?? o.v.throughput_rps) * zoneShare, 2),
                [METRICS.cpu]: round(z?.cpu_pct ?? o.v.cpu_pct, 2),
              },
            ];
          }),
        )
      : undefined;
    services.set(s.name, {
      values,
      ...(zoneValues ? { zones: zoneValues } : {}),
      own: { latency: o.v.latency_p99_ms, errors: o.v.error_rate_pct },
      healthy: { latency: o.unstressed.latency_p99_ms, errors: o.unstressed.error_rate_pct, throughput: o.unstressed.throughput_rps },
      faults: o.faults,
      connection: o.connection,
      calls: o.calls,
      overloadErrors: o.v.overload_errors,
      ...(s.disk || s.fileDescriptors || s.quota ? { exhaustion: { disk: o.v.disk_errors, fds: o.v.fd_errors, throttled: o.v.throttled_errors } } : {}),
      ...(queue ? { queue: { backlog: queue.backlog, inflow: queue.inflow, capacity: queue.capacity } } : {}),
      ...(jobRun !== undefined ? { jobRun } : {}),
    });
  }
  return { t, services };
};

const round = (v: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/**
 * Metric series for the services over [from, to] (epoch ms): one point per `resolutionSeconds` on the grid
 * aligned to the world's origin (whole UTC minutes) (the mean of the minute values inside each bucket), plus the point at `to` itself when `to` is not on
 * the grid (the "current" value). Metrics a service does not expose are left out.
 */
export const metricSeries = (
  world: WorldState,
  q: { services: readonly string[]; metrics?: readonly MetricName[]; from: number; to: number; resolutionSeconds?: number; groupBy?: readonly 'zone'[] },
): MetricSeries[] => {
  // At most MAX_POINTS per series: a long window gets a coarser resolution rather than a huge answer.
  const span = Math.max(0, q.to - q.from);
  // Resolutions are whole minutes (the world's native grain).
  const res = Math.max(1, Math.ceil((q.resolutionSeconds ?? 60) / 60), Math.ceil(span / MAX_POINTS / MINUTE)) * MINUTE;
  const byName = context(world).byName;
  const wanted: { service: string; metrics: MetricName[]; zone?: string }[] = [];
  const byZone = q.groupBy?.includes('zone') ?? false;
  for (const service of q.services) {
    const model = byName.get(service);
    const exposed = model?.metricNames;
    if (!exposed) continue;
    if (byZone) {
      // Per zone: only a service that runs in zones, and only the metrics a zone has of its own.
      const metrics = (q.metrics ?? ZONE_METRICS).filter((m) => ZONE_METRICS.includes(m) && exposed.includes(m));
      for (const zone of model.spec.zones ?? []) if (metrics.length > 0) wanted.push({ service, metrics, zone });
      continue;
    }
    const metrics = (q.metrics ?? exposed).filter((m) => exposed.includes(m));
    if (metrics.length > 0) wanted.push({ service, metrics });
  }
  if (wanted.length === 0) return [];
  // The grid counts whole resolutions from the world's origin (a whole UTC minute): a coarse bucket then covers
  // the same world minutes however long after the epoch's last 5-minute or hour mark the world was seeded.
  const origin = context(world).origin;
  const grid: number[] = [];
  for (let t = origin + Math.ceil((q.from - origin) / res) * res; t <= q.to; t += res) grid.push(t);
  const times = grid.at(-1) === q.to ? grid : [...grid, q.to];
  // Per point, the snapshots it averages, shared by every series: a coarse grid bucket is the mean of the minute
  // values it covers (what Dynatrace's :avg does), newest first; the extra point at `to` is the value at that instant.
  const buckets = times.map((t, i) => {
    const minutes = res > MINUTE && i < grid.length ? res / MINUTE : 1;
    return Array.from({ length: minutes }, (_, k) => snapshotAt(world, t - k * MINUTE));
  });
  const stamps = times.map((t) => new Date(t).toISOString());
  const out: MetricSeries[] = [];
  for (const { service, metrics, zone } of wanted) {
    // One pass over the points per service, every metric at once.
    const points: MetricPoint[][] = metrics.map(() => new Array(times.length));
    const sums = new Array<number>(metrics.length);
    buckets.forEach((bucket, i) => {
      sums.fill(0);
      for (const snap of bucket) {
        const state = snap.services.get(service);
        const values = zone === undefined ? state?.values : state?.zones?.[zone];
        metrics.forEach((metric, j) => {
          sums[j] = (sums[j] as number) + (values?.[metric] ?? 0);
        });
      }
      metrics.forEach((_, j) => {
        (points[j] as MetricPoint[])[i] = { t: stamps[i] as string, v: Math.round(((sums[j] as number) / bucket.length) * 1000) / 1000 };
      });
    });
    metrics.forEach((metric, j) => out.push({ service, metric, unit: METRIC_UNITS[metric] ?? '', points: points[j] as MetricPoint[], ...(zone === undefined ? {} : { zone }) }));
  }
  return out;
};

// ───────────────────────────── queues, jobs, quantiles ─────────────────────────────

/**
 * A queue with an asynchronous consumer. Producers (the queue's callers) publish at the queue's throughput; the
 * consumer drains at its capacity:
 *   capacity(t) = base × scale-outs × (unstressed latency / latency) × (throughput / unstressed throughput)
 * of the consumer, where base is `replicas × ratePerReplica` (default 1.5 × the queue's baseline throughput). A
 * fixed pool of workers each busy for a message's processing time (Little's law): a consumer twice as slow (its
 * own code, CPU queueing, or a slow callee it waits on) drains half as fast; a throughput effect on it scales it
 * directly. The backlog integrates inflow − capacity over the world's minute grid, never below zero; nothing
 * fails because of it (no retention is modelled), so a backlog shows in depth and age only.
 */
interface QueueModel {
  readonly queue: number;
  readonly consumer: number;
  /** Messages/s the consumer drains at its baseline. */
  readonly capacity: number;
  /** Minutes since the world's origin of the first grid point integrated (see queueModels); before it the backlog is 0. */
  readonly first: number;
}

/** Integration reaches back at most this far before the anchor (a fault that started a year ago is not replayed minute by minute). */
const MAX_BACKLOG_MINUTES = 3 * 1440;
/** Minutes integrated before the first event that can move a queue (so a ramp is never cut). */
const BACKLOG_LEAD_MINUTES = 10;
/** Seconds a message spends in flight besides the consumer's processing time (the poll and batch interval). */
const POLL_SECONDS = 1;

/**
 * The queues with a consumer. Integration starts a little before the first event of the world (a fault, a surge,
 * a job run, an action): a consumer has headroom at baseline (the schema requires it), so nothing builds up before
 * it, and starting there makes the backlog at t a function of the world alone, never of a query's window.
 */
const queueModels = (world: WorldState, anchor: number): QueueModel[] => {
  const { services, faults, load } = world.scenario;
  const indexOf = new Map(services.map((s, i) => [s.name, i]));
  const withConsumer = services.filter((s) => s.consumer);
  if (withConsumer.length === 0) return [];
  const origin = Math.floor(anchor / MINUTE) * MINUTE;
  const events = [
    ...faults.map((f) => f.startsAt),
    ...load.map((l) => l.startsAt),
    ...services.flatMap((s) => (s.schedule ? [s.schedule.startsAt] : [])),
    ...world.actions.map((a) => (Date.parse(a.at) - anchor) / MINUTE),
  ].filter((m) => Number.isFinite(m));
  const earliest = events.length > 0 ? Math.max(-MAX_BACKLOG_MINUTES, Math.min(...events) - BACKLOG_LEAD_MINUTES) : Infinity;
  const first = Number.isFinite(earliest) ? Math.floor((anchor + earliest * MINUTE - origin) / MINUTE) : Number.MAX_SAFE_INTEGER;
  return withConsumer.map((s) => {
    const consumer = s.consumer as NonNullable<ServiceSpec['consumer']>;
    const target = services[indexOf.get(consumer.service) as number] as ServiceSpec;
    const capacity = consumer.ratePerReplica !== undefined ? consumer.ratePerReplica * target.replicas : DEFAULT_CONSUMER_HEADROOM * s.baseline.throughput_rps;
    return { queue: indexOf.get(s.name) as number, consumer: indexOf.get(consumer.service) as number, capacity, first };
  });
};

/** One queue's integrated backlog at whole grid minutes `first`, `first + 1`, …, and the messages that arrived since `first − 1`. */
interface Backlog {
  readonly depth: number[];
  readonly arrivals: number[];
}

/**
 * Integrated backlogs by world state (worldKey) and queue index. Each grid point is computed once per world state
 * (a series of 1440 points costs 1440 snapshots, not 1440²), and the snapshot at a grid point is the single
 * source of its value, so the same value comes out whichever query reached it first.
 */
const BACKLOG_WORLD_STATES = 64;
const backlogs = new Map<string, Map<number, Backlog>>();

const backlogOf = (world: WorldState, queue: number): Backlog => {
  const key = worldKey(world);
  let byQueue = backlogs.get(key);
  if (!byQueue) {
    if (backlogs.size >= BACKLOG_WORLD_STATES) backlogs.delete(backlogs.keys().next().value as string);
    byQueue = new Map();
    backlogs.set(key, byQueue);
  }
  let b = byQueue.get(queue);
  if (!b) {
    b = { depth: [], arrivals: [] };
    byQueue.set(queue, b);
  }
  return b;
};

/** The backlog and arrivals at grid minute k (≥ q.first), integrating the minutes not yet integrated, in order. */
const gridBacklog = (world: WorldState, ctx: Context, q: QueueModel, k: number): { depth: number; arrivals: number } => {
  const b = backlogOf(world, q.queue);
  const name = (ctx.services[q.queue] as ServiceModel).spec.name;
  for (let j = q.first + b.depth.length; j <= k; j++) {
    // The snapshot at grid point j reads the backlog at j − 1, already integrated: the recursion is one level deep.
    const state = snapshotAt(world, ctx.origin + j * MINUTE).services.get(name)?.queue;
    b.depth.push(state?.backlog ?? 0);
    b.arrivals.push((b.arrivals.at(-1) ?? 0) + (state?.inflow ?? 0) * 60);
  }
  return { depth: b.depth[k - q.first] as number, arrivals: b.arrivals[k - q.first] as number };
};

interface QueueState {
  readonly backlog: number;
  readonly inflow: number;
  readonly capacity: number;
  /** What the metrics show: the backlog plus the messages in flight, and the oldest message's age (s). */
  readonly depth: number;
  readonly age: number;
}

/** Every queue's state at t, and per consumer the share of its inflow it drains (its throughput follows what it drains). */
const queueStates = (world: WorldState, ctx: Context, t: number, own: readonly Own[]): { states: Map<number, QueueState>; drains: Map<number, number> } => {
  const states = new Map<number, QueueState>();
  const drains = new Map<number, number>();
  // The grid point before t (strictly): t on the grid integrates its whole minute from the previous one.
  const k = Math.ceil((t - ctx.origin) / MINUTE) - 1;
  const dt = (t - (ctx.origin + k * MINUTE)) / 1000;
  for (const q of ctx.queues) {
    const c = own[q.consumer] as Own;
    const inflow = Math.max(0, (own[q.queue] as Own).v.throughput_rps);
    const slowdown = c.unstressed.latency_p99_ms / Math.max(1e-9, c.total.latency);
    const share = c.unstressed.throughput_rps > 0 ? c.v.throughput_rps / c.unstressed.throughput_rps : 1;
    const capacity = q.capacity * scaleFactor(ctx, ctx.services[q.consumer] as ServiceModel, t) * Math.min(1.5, slowdown) * Math.max(0, share);
    const before = k < q.first ? { depth: 0, arrivals: 0 } : gridBacklog(world, ctx, q, k);
    const backlog = Math.max(0, before.depth + (inflow - capacity) * dt);
    // FIFO: the oldest waiting message arrived when the arrivals reached what has been served.
    let waited = 0;
    if (backlog > 0) {
      const arrived = before.arrivals + inflow * dt;
      const served = arrived - backlog;
      waited = (t - arrivalTime(world, ctx, q, k, before.arrivals, inflow, served)) / 1000;
    }
    const inFlight = POLL_SECONDS + c.total.latency / 1000;
    states.set(q.queue, { backlog, inflow, capacity, depth: backlog + inflow * inFlight, age: Math.max(0, waited) + inFlight });
    const drained = inflow > 0 ? (backlog > 0 ? capacity : inflow) / inflow : 1;
    drains.set(q.consumer, Math.min(drains.get(q.consumer) ?? Infinity, drained));
  }
  return { states, drains };
};

/** When the cumulative arrivals reached `served` (epoch ms): in the running minute after grid point k, or by bisection over the integrated ones. */
const arrivalTime = (world: WorldState, ctx: Context, q: QueueModel, k: number, arrivalsAtK: number, inflow: number, served: number): number => {
  const gridK = ctx.origin + k * MINUTE;
  if (served >= arrivalsAtK) return gridK + (inflow > 0 ? ((served - arrivalsAtK) / inflow) * 1000 : 0);
  if (k < q.first) return gridK;
  const b = backlogOf(world, q.queue);
  // The last integrated point j with arrivals ≤ served (arrivals before `first` count as 0).
  let lo = -1;
  let hi = k - q.first;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((b.arrivals[mid] as number) <= served) lo = mid;
    else hi = mid;
  }
  const a0 = lo < 0 ? 0 : (b.arrivals[lo] as number);
  const a1 = b.arrivals[lo + 1] as number;
  const t0 = ctx.origin + (q.first + lo) * MINUTE;
  return t0 + (a1 > a0 ? ((served - a0) / (a1 - a0)) * MINUTE : 0);
};

/** A job's first run's ramp, and each run's ramp out (ms). */
const JOB_RAMP = MINUTE;

/** How far a run of the job is active at t: 0 idle, 1 running (ramping over a minute at each edge). */
const jobRunLevel = (ctx: Context, schedule: ScheduleSpec, t: number): number => {
  const first = ctx.anchor + schedule.startsAt * MINUTE;
  if (t < first) return 0;
  const duration = schedule.durationMinutes * MINUTE;
  const level = (start: number) => ramp(t, start, JOB_RAMP) * (1 - ramp(t, start + duration, JOB_RAMP));
  if (schedule.everyMinutes === undefined) return level(first);
  const every = schedule.everyMinutes * MINUTE;
  const k = Math.floor((t - first) / every);
  return k === 0 ? level(first) : Math.max(level(first + k * every), level(first + (k - 1) * every));
};

/** The runs of a job (scenario minutes of start and end) that overlap [from, to] (epoch ms), for its run logs. */
export const jobRuns = (world: WorldState, name: string, from: number, to: number): { start: number; end: number }[] => {
  const spec = context(world).byName.get(name)?.spec;
  const schedule = spec?.schedule;
  if (!schedule) return [];
  const anchor = context(world).anchor;
  const first = anchor + schedule.startsAt * MINUTE;
  const duration = schedule.durationMinutes * MINUTE;
  if (schedule.everyMinutes === undefined) return first <= to && first + duration >= from ? [{ start: first, end: first + duration }] : [];
  const every = schedule.everyMinutes * MINUTE;
  const out: { start: number; end: number }[] = [];
  for (let k = Math.max(0, Math.floor((from - duration - first) / every)); first + k * every <= to; k++) {
    const start = first + k * every;
    if (start + duration >= from) out.push({ start, end: start + duration });
  }
  return out;
};

/** Share of the tail's extra latency (over the uniform part) that p50 and p95 show. */
const TAIL_SHARE = { p50: 0.005, p95: 0.2 } as const;

/**
 * p50 and p95 from the p99's two parts. The uniform part (the service's own latency with its faults' latency
 * effects, load and CPU queueing, and callees' uniform increases) slows every request: the quantiles scale with it
 * from their baselines. The tail (rare latency spikes, pool waits, GC pauses, connection timeouts) hits few
 * requests: p95 shows a fifth of it, p50 almost none (half a percent). So a GC or pool problem moves p99 far more than p50,
 * while a slow code path moves them all. Kept ordered: p50 ≤ p95 ≤ p99.
 */
const latencyQuantiles = (s: ServiceSpec, o: Own, p99: number): Record<string, number> => {
  const b = s.baseline;
  const ratio = o.uniform / b.latency_p99_ms;
  const tail = Math.max(0, o.total.latency - o.uniform);
  const out: Record<string, number> = {};
  const p95 = b.latency_p95_ms !== undefined ? round(Math.min(p99, b.latency_p95_ms * ratio + TAIL_SHARE.p95 * tail), 2) : undefined;
  if (p95 !== undefined) out[LATENCY_P95] = p95;
  if (b.latency_p50_ms !== undefined) out[LATENCY_P50] = round(Math.min(p95 ?? p99, b.latency_p50_ms * ratio + TAIL_SHARE.p50 * tail), 2);
  return out;
};
