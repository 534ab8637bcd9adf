/**
 * How the world's metrics come about. Nothing here is canned: at any instant t every service's metrics are
 * computed from the scenario in four steps.
 *   1. Healthy intrinsic values: baseline × a mild daily shape × traffic load × seeded noise (fast
 *      per-minute noise, a slow wander, rare latency spikes). The noise is a hash of (world id, service,
 *      metric, time bucket): deterministic. Load events (a flash sale) reach callees through the call graph,
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
import { gaussian, hash53, uniform } from './random.ts';
import type { Effect, FaultSpec, Scenario, ServiceSpec } from './scenario.ts';
import type { WorldAction, WorldState } from './world.ts';

const MINUTE = 60_000;
/** The hit ratio of a service's read-through cache (services with `cache`). */
export const CACHE_HIT_RATIO = 'cache_hit_ratio_pct';
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

/** The metrics a service exposes: latency, errors, throughput, host metrics unless external, pool metrics if it has a pool, business ones if it carries them. */
export const serviceMetricNames = (s: ServiceSpec): MetricName[] => [
  METRICS.latencyP99,
  METRICS.errorRate,
  METRICS.throughput,
  // A third party's hosts are not ours to see: only what its callers measure.
  ...(s.tier === 'external' ? [] : [METRICS.cpu, METRICS.memory]),
  ...(s.baseline.db_pool_max !== undefined ? [METRICS.dbPoolActive, METRICS.dbPoolMax] : []),
  ...(s.cache ? [CACHE_HIT_RATIO] : []),
  ...(s.activeUsers > 0 ? [METRICS.activeUsers] : []),
  ...(s.revenuePerMinute > 0 ? [METRICS.revenuePerMinute] : []),
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
}

export interface Snapshot {
  readonly t: number;
  readonly services: ReadonlyMap<string, ServiceState>;
}

/** What is derived once per world state: graph order, callers, and when each fault was fixed. */
interface Context {
  readonly anchor: number;
  readonly timeOfDay: number;
  readonly lag: number;
  readonly byName: ReadonlyMap<string, ServiceSpec>;
  /** Callers before callees. */
  readonly order: readonly string[];
  readonly callers: ReadonlyMap<string, readonly string[]>;
  /**
   * Per fault index: when a mitigation took effect (`mitigated` true) and when an inverse action brought the fault
   * back (`mitigated` false), in time order. A fault with no entry was never mitigated.
   */
  readonly mitigations: ReadonlyMap<number, readonly Transition[]>;
  readonly actions: readonly WorldAction[];
}

const contexts = new WeakMap<WorldState, Context>();

const topologicalOrder = (services: readonly ServiceSpec[]): string[] => {
  const indegree = new Map(services.map((s) => [s.name, 0]));
  for (const s of services) for (const c of s.calls) indegree.set(c, (indegree.get(c) ?? 0) + 1);
  const calls = new Map(services.map((s) => [s.name, s.calls]));
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
  const { services, faults } = world.scenario;
  const callers = new Map<string, string[]>(services.map((s) => [s.name, []]));
  for (const s of services) for (const c of s.calls) callers.get(c)?.push(s.name);
  const mitigations = new Map<number, Transition[]>();
  faults.forEach((fault, index) => {
    const transitions = mitigationTransitions(fault, world.actions);
    if (transitions.length > 0) mitigations.set(index, transitions);
  });
  const ctx: Context = {
    anchor: Date.parse(world.createdAt),
    timeOfDay: world.scenario.timeOfDay,
    lag: Math.max(1, world.recoveryLagSeconds * 1000),
    byName: new Map(services.map((s) => [s.name, s])),
    order: topologicalOrder(services),
    callers,
    mitigations,
    actions: world.actions,
  };
  contexts.set(world, ctx);
  return ctx;
};

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
/** 0 before `start`, rising linearly to 1 over `duration` ms. */
const ramp = (t: number, start: number, duration: number) => (duration <= 0 ? (t >= start ? 1 : 0) : clamp01((t - start) / duration));

/** A mild daily traffic shape: ±10 %, peaking mid-afternoon (scenario-local time, anchored at `timeOfDay`). */
const dailyShape = (ctx: Context, t: number) => 1 + 0.1 * Math.sin((2 * Math.PI * (ctx.timeOfDay + (t - ctx.anchor) / 3_600_000 - 9)) / 24);

/** Smooth noise: a standard normal at 15-minute knots, interpolated (a slow wander rather than jitter). */
const slowNoise = (seed: string, t: number) => {
  const knot = 15 * MINUTE;
  const k = Math.floor(t / knot);
  const f = (t - k * knot) / knot;
  const w = (1 - Math.cos(Math.PI * f)) / 2;
  return gaussian(seed, 'slow', k) * (1 - w) + gaussian(seed, 'slow', k + 1) * w;
};

/** Fast noise: one standard normal per minute bucket. */
const fastNoise = (seed: string, t: number) => gaussian(seed, 'fast', Math.floor(t / MINUTE));

const faultIntensity = (ctx: Context, fault: FaultSpec, index: number, t: number): number => {
  const start = ctx.anchor + fault.startsAt * MINUTE;
  let i = ramp(t, start, fault.rampMinutes * MINUTE);
  if (fault.endsAt !== undefined) i *= 1 - ramp(t, ctx.anchor + fault.endsAt * MINUTE, 2 * MINUTE);
  const transitions = ctx.mitigations.get(index);
  if (transitions) i *= 1 - mitigationLevel(transitions, t, ctx.lag);
  return i;
};

/** Capacity multiplier from scale-service actions, ramping in over the recovery lag. */
const scaleFactor = (ctx: Context, service: string, t: number): number =>
  ctx.actions
    .filter((a) => a.status === 'succeeded' && a.kind === 'scale-service' && a.service === service && a.factor !== undefined)
    .reduce((f, a) => f * (1 + ((a.factor as number) - 1) * ramp(t, Date.parse(a.at), ctx.lag)), 1);

/** The latest restart of the service that has taken effect by t (restarts reset accumulated growth). */
const lastRestart = (ctx: Context, service: string, t: number): number | undefined => {
  const done = ctx.actions
    .filter((a) => a.status === 'succeeded' && a.kind === 'restart-service' && a.service === service)
    .map((a) => Date.parse(a.at) + ctx.lag / 2)
    .filter((x) => x <= t);
  return done.length > 0 ? Math.max(...done) : undefined;
};

/** One effect on one value at intensity `intensity`; `since` is when growth started (a restart resets it). */
const applyEffect = (v: number, e: Effect, intensity: number, since: number, t: number): number => {
  if (e.factor !== undefined) return v * (1 + (e.factor - 1) * intensity);
  if (e.add !== undefined) return v + e.add * intensity;
  if (e.value !== undefined) return v + (e.value - v) * intensity;
  if (e.perMinute !== undefined) return v + e.perMinute * Math.max(0, (t - since) / MINUTE) * intensity;
  return v;
};

/** When a fault's growth (perMinute effects) started on the service: its start, or the last restart. */
const growthSince = (ctx: Context, fault: FaultSpec, service: string, t: number) => Math.max(ctx.anchor + fault.startsAt * MINUTE, lastRestart(ctx, service, t) ?? -Infinity);

/** The cache hit ratio of a service with a cache: baseline, noise on the miss ratio, then the faults. */
const cacheHit = (world: WorldState, ctx: Context, s: ServiceSpec, faults: readonly ActiveFault[], t: number): number => {
  if (!s.cache) return 0;
  const seed = `${world.id}|${s.name}|cache-hit`;
  const miss = (100 - s.cache.hitRatioPct) * Math.max(0.5, 1 + 0.05 * fastNoise(seed, t) + 0.05 * slowNoise(seed, t));
  let hit = 100 - miss;
  for (const { fault, intensity } of faults) {
    const e = fault.effects[CACHE_HIT_RATIO];
    if (e) hit = applyEffect(hit, e, intensity, growthSince(ctx, fault, s.name, t), t);
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
 * baseline throughput), each caller's share multiplied by its edge factor.
 */
const loadFactors = (world: WorldState, ctx: Context, t: number, faults: ReadonlyMap<string, readonly ActiveFault[]>, hits: ReadonlyMap<string, number>): Map<string, number> => {
  const out = new Map<string, number>();
  for (const name of ctx.order) {
    const direct = world.scenario.load
      .filter((l) => l.services.includes(name))
      .reduce((f, l) => {
        let env = ramp(t, ctx.anchor + l.startsAt * MINUTE, l.rampMinutes * MINUTE);
        if (l.endsAt !== undefined) env *= 1 - ramp(t, ctx.anchor + l.endsAt * MINUTE, l.rampMinutes * MINUTE);
        return f * (1 + (l.factor - 1) * env);
      }, 1);
    const callers = ctx.callers.get(name) ?? [];
    let inherited = 1;
    if (callers.length > 0) {
      let weight = 0;
      let sum = 0;
      for (const c of callers) {
        const spec = ctx.byName.get(c) as ServiceSpec;
        const w = spec.baseline.throughput_rps;
        weight += w;
        sum += w * (out.get(c) ?? 1) * edgeFactor(spec, name, faults.get(c) ?? [], hits.get(c) ?? 0);
      }
      inherited = sum / weight;
    }
    out.set(name, direct * inherited);
  }
  return out;
};

type Raw = Record<'latency_p99_ms' | 'error_rate_pct' | 'throughput_rps' | 'cpu_pct' | 'memory_mb' | 'db_pool_active' | 'db_pool_max' | 'cache_hit_ratio_pct', number>;
type Capacity = Raw & { db_pool_pending: number; overload_errors: number };

/** Step 1: healthy values with noise. */
const healthyRaw = (world: WorldState, ctx: Context, s: ServiceSpec, t: number, load: number, hit: number): Raw => {
  const seed = (metric: string) => `${world.id}|${s.name}|${metric}`;
  const demand = load * dailyShape(ctx, t);
  const b = s.baseline;
  const n = (metric: string, fast: number, slow: number) => 1 + fast * fastNoise(seed(metric), t) + slow * slowNoise(seed(metric), t);
  // p99 latency has a heavy tail: about one minute in forty shows a GC pause or a slow request burst.
  const spike = uniform(seed('latency-spike'), Math.floor(t / MINUTE)) < 0.025 ? 1.25 + 0.5 * uniform(seed('latency-spike-size'), Math.floor(t / MINUTE)) : 1;
  return {
    latency_p99_ms: b.latency_p99_ms * (1 + 0.08 * (demand - 1)) * Math.max(0.6, n('latency', 0.07, 0.04)) * spike,
    error_rate_pct: Math.max(0, b.error_rate_pct * Math.max(0, n('errors', 0.3, 0.1))),
    throughput_rps: b.throughput_rps * demand * Math.max(0.5, n('throughput', 0.035, 0.03)),
    cpu_pct: b.cpu_pct * demand ** 0.9 * Math.max(0.5, n('cpu', 0.05, 0.04)),
    memory_mb: b.memory_mb * Math.max(0.8, n('memory', 0.008, 0.02)),
    db_pool_active: (b.db_pool_active ?? 0) * demand * Math.max(0.5, n('pool', 0.07, 0.03)),
    db_pool_max: b.db_pool_max ?? 0,
    cache_hit_ratio_pct: hit,
  };
};

/** Step 2: the faults' direct effects (the cache hit ratio is already applied by `cacheHit`), except `skip`. */
const applyFaults = (ctx: Context, raw: Raw, faults: readonly ActiveFault[], service: string, t: number, skip: readonly string[] = []): Raw => {
  const out = { ...raw };
  for (const { fault, intensity } of faults) {
    const since = growthSince(ctx, fault, service, t);
    for (const [metric, e] of Object.entries(fault.effects)) {
      if (metric === CACHE_HIT_RATIO || skip.includes(metric)) continue;
      const key = metric as keyof Raw;
      out[key] = applyEffect(out[key], e, intensity, since, t);
    }
  }
  return out;
};

/** Step 3: capacity models. Returns the final own values and the pool's pending threads. */
const applyCapacity = (s: ServiceSpec, raw: Raw, scale: number): Capacity => {
  let latency = raw.latency_p99_ms;
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
  let overload = 0;
  if (cpu > 85) {
    // Past ~85 % requests queue for a core; past 100 % the queue overflows and requests are rejected.
    latency *= 1 + 3 * ((Math.min(cpu, 130) - 85) / 15) ** 2;
    overload = Math.min(MAX_OVERLOAD_ERRORS, Math.max(0, cpu - 100) * 0.5);
    errors += overload;
    cpu = Math.min(cpu, 100);
  }
  return {
    latency_p99_ms: latency,
    error_rate_pct: Math.min(100, Math.max(0, errors)),
    throughput_rps: raw.throughput_rps,
    cpu_pct: Math.max(0, cpu),
    memory_mb: memory,
    db_pool_active: Math.round(active),
    db_pool_max: max,
    cache_hit_ratio_pct: raw.cache_hit_ratio_pct,
    db_pool_pending: Math.round(pending),
    overload_errors: overload,
  };
};

/** All services' metrics at epoch ms `t`. */
/**
 * Snapshots are pure functions of (world, t), and a world only changes by appending actions, so a warm container
 * reuses them across invocations: each agent re-reads the world from the store (a new object each time), but
 * the impact, logs, root-cause and verification agents ask about the same minutes. Bounded, oldest evicted first.
 */
const SNAPSHOT_CACHE_ENTRIES = 20_000;
const snapshots = new Map<string, Snapshot>();
const worldKeys = new WeakMap<WorldState, string>();
/** Everything a snapshot depends on but the time: the scenario and the actions so far (hashed), the anchor, the lag. */
const worldKey = (world: WorldState): string => {
  let key = worldKeys.get(world);
  if (!key) {
    key = `${world.id}|${hash53(JSON.stringify(world.scenario))}|${world.createdAt}|${world.recoveryLagSeconds}|${hash53(JSON.stringify(world.actions))}`;
    worldKeys.set(world, key);
  }
  return key;
};
const snapshotKey = (world: WorldState, t: number): string => `${worldKey(world)}|${t}`;

export const snapshotAt = (world: WorldState, t: number): Snapshot => {
  const key = snapshotKey(world, t);
  const cached = snapshots.get(key);
  if (cached) return cached;
  const snapshot = computeSnapshot(world, t);
  if (snapshots.size >= SNAPSHOT_CACHE_ENTRIES) snapshots.delete(snapshots.keys().next().value as string);
  snapshots.set(key, snapshot);
  return snapshot;
};

const computeSnapshot = (world: WorldState, t: number): Snapshot => {
  const ctx = context(world);
  const active = new Map<string, ActiveFault[]>();
  const hits = new Map<string, number>();
  for (const s of world.scenario.services) {
    const faults = world.scenario.faults
      .map((fault, index) => ({ fault, index, intensity: fault.service === s.name ? faultIntensity(ctx, fault, index, t) : 0 }))
      .filter((f) => f.intensity > 0);
    active.set(s.name, faults);
    if (s.cache) hits.set(s.name, cacheHit(world, ctx, s, faults, t));
  }
  const loads = loadFactors(world, ctx, t, active, hits);
  interface Own {
    v: Capacity;
    unstressed: Raw;
    faults: ActiveFault[];
    connection: ServiceState['connection'];
    total: { latency: number; errors: number };
    calls: { latency: number; errors: number };
  }
  const own = new Map<string, Own>();
  // Callees before callers: a pool sees its database's latency, and increases travel up every path.
  for (const name of [...ctx.order].reverse()) {
    const s = ctx.byName.get(name) as ServiceSpec;
    const faults = active.get(name) ?? [];
    const raw = healthyRaw(world, ctx, s, t, loads.get(name) ?? 1, hits.get(name) ?? 0);
    const server = faults.filter((f) => f.fault.failsAt !== 'connection');
    const atConnection = faults.filter((f) => f.fault.failsAt === 'connection');
    let faulted = applyFaults(ctx, applyFaults(ctx, raw, server, name, t), atConnection, name, t, [METRICS.latencyP99, METRICS.errorRate]);
    // Connection-level failures: what callers would see, taken out of the service's own view.
    const seen = applyFaults(ctx, faulted, atConnection, name, t);
    const connErrors = Math.min(100, Math.max(0, seen.error_rate_pct - faulted.error_rate_pct));
    const connLatency = Math.max(0, seen.latency_p99_ms - faulted.latency_p99_ms);
    if (connErrors > 0) faulted = { ...faulted, throughput_rps: faulted.throughput_rps * (1 - connErrors / 100) };
    if (s.poolTarget) {
      // Little's law: connections in use = request rate × hold time, and the hold time is mostly query time.
      const target = own.get(s.poolTarget) as Own;
      const slowdown = target.calls.latency / target.unstressed.latency_p99_ms;
      faulted = { ...faulted, db_pool_active: faulted.db_pool_active * (1 + POOL_HOLD_QUERY_SHARE * (slowdown - 1)) };
    }
    const v = applyCapacity(s, faulted, scaleFactor(ctx, name, t));
    let latency = v.latency_p99_ms;
    let errors = v.error_rate_pct;
    for (const callee of s.calls) {
      const c = own.get(callee);
      if (!c) continue;
      const strongest = [...c.faults].sort((a, b) => b.intensity - a.intensity)[0];
      const share = { ...DEFAULT_PROPAGATION, ...strongest?.fault.propagation };
      latency += share.latency * Math.max(0, c.calls.latency - c.unstressed.latency_p99_ms);
      errors += share.errors * Math.max(0, c.calls.errors - c.unstressed.error_rate_pct);
    }
    const total = { latency, errors: Math.min(100, errors) };
    const strongestConn = [...atConnection].sort((a, b) => b.intensity - a.intensity)[0];
    own.set(name, {
      v,
      unstressed: raw,
      faults,
      connection: { errors: connErrors, latency: connLatency, ...(strongestConn?.fault.callerError ? { error: strongestConn.fault.callerError } : {}) },
      total,
      calls: { latency: total.latency + connLatency * (connErrors / 100), errors: Math.min(100, total.errors + connErrors * (1 - total.errors / 100)) },
    });
  }
  const services = new Map<string, ServiceState>();
  for (const s of world.scenario.services) {
    const o = own.get(s.name) as Own;
    const tot = o.total;
    const demand = (loads.get(s.name) ?? 1) * dailyShape(ctx, t);
    const seed = (metric: string) => `${world.id}|${s.name}|${metric}`;
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
    if (s.activeUsers > 0) {
      values[METRICS.activeUsers] = Math.round(s.activeUsers * demand * (1 + 0.02 * fastNoise(seed('users'), t)) * (1 - 0.15 * (tot.errors / 100)));
    }
    if (s.revenuePerMinute > 0) {
      values[METRICS.revenuePerMinute] = round(s.revenuePerMinute * demand * Math.max(0, 1 + 0.05 * fastNoise(seed('revenue'), t)) * (1 - tot.errors / 100) * latencyPenalty, 2);
    }
    services.set(s.name, {
      values,
      own: { latency: o.v.latency_p99_ms, errors: o.v.error_rate_pct },
      healthy: { latency: o.unstressed.latency_p99_ms, errors: o.unstressed.error_rate_pct, throughput: o.unstressed.throughput_rps },
      faults: o.faults,
      connection: o.connection,
      calls: o.calls,
      overloadErrors: o.v.overload_errors,
    });
  }
  return { t, services };
};

const round = (v: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/**
 * Metric series for the services over [from, to] (epoch ms): one point per `resolutionSeconds` on the aligned
 * grid (the mean of the minute values inside each bucket), plus the point at `to` itself when `to` is not on
 * the grid (the "current" value). Metrics a service does not expose are left out.
 */
export const metricSeries = (
  world: WorldState,
  q: { services: readonly string[]; metrics?: readonly MetricName[]; from: number; to: number; resolutionSeconds?: number },
): MetricSeries[] => {
  // At most MAX_POINTS per series: a long window gets a coarser resolution rather than a huge answer.
  const span = Math.max(0, q.to - q.from);
  // Resolutions are whole minutes (the world's native grain).
  const res = Math.max(1, Math.ceil((q.resolutionSeconds ?? 60) / 60), Math.ceil(span / MAX_POINTS / MINUTE)) * MINUTE;
  const byName = context(world).byName;
  const grid: number[] = [];
  for (let t = Math.ceil(q.from / res) * res; t <= q.to; t += res) grid.push(t);
  const times = grid.at(-1) === q.to ? grid : [...grid, q.to];
  const cache = new Map<number, Snapshot>();
  const snap = (t: number) => {
    let s = cache.get(t);
    if (!s) {
      s = snapshotAt(world, t);
      cache.set(t, s);
    }
    return s;
  };
  const out: MetricSeries[] = [];
  for (const name of q.services) {
    const spec = byName.get(name);
    if (!spec) continue;
    const exposed = serviceMetricNames(spec);
    for (const metric of q.metrics ?? exposed) {
      if (!exposed.includes(metric)) continue;
      const points: MetricPoint[] = times.map((t) => {
        // A coarse bucket is the mean of the minute values it covers (what Dynatrace's :avg does).
        const minutes = res > MINUTE && grid.includes(t) ? Array.from({ length: res / MINUTE }, (_, k) => t - k * MINUTE) : [t];
        const values = minutes.map((m) => snap(m).services.get(name)?.values[metric] ?? 0);
        const v = values.reduce((a, b) => a + b, 0) / values.length;
        return { t: new Date(t).toISOString(), v: Math.round(v * 1000) / 1000 };
      });
      out.push({ service: name, metric, unit: METRIC_UNITS[metric] ?? '', points });
    }
  }
  return out;
};

/** The scenario's services (for adapters that need the topology). */
export const topology = (scenario: Scenario) => scenario.services.map((s) => ({ name: s.name, tier: s.tier, calls: [...s.calls] }));
