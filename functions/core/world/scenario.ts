/**
 * The scenario format: one JSON file per simulated incident world (events/scenarios/*.json, documented in
 * events/scenarios/README.md). A scenario describes a topology, its healthy baseline, the changes made
 * lately, the faults injected (and what fixes them), the incident history and the alert that fires. The
 * world (world.ts) derives every metric, trace and log from it; `expect` is the answer key for evaluation
 * and is never exposed by a tool.
 *
 * Times are minutes relative to the alert: t=0 is "now" when the world is created, -18 is 18 minutes before. A world
 * that keeps running (the live world of `autopilot serve`) gets faults injected at its current minute, which can be
 * days or years after t=0 (world/faults.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { ActionKind, FaultCategory, isTriggerCategory, Severity } from '../model.ts';

/**
 * Minutes relative to the alert (t=0): a year back, and up to ten years ahead — a world that keeps running (the live
 * world) has faults and changes injected at its current minute, however long it has run.
 */
const Minutes = z.number().min(-525_600).max(5_256_000);
const Name = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lower-case letters, digits, ".", "_" and "-", at most 63 characters');
const Id = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{1,40}$/, 'a letter then letters, digits, "_" or "-"');

const Person = z.object({ name: z.string().min(1), contact: z.string().min(1) }).strict();

/** Healthy values of the service's metrics (names from METRICS in tools/ports.ts). */
const Baseline = z
  .object({
    latency_p99_ms: z.number().positive(),
    error_rate_pct: z.number().min(0).max(100),
    throughput_rps: z.number().positive(),
    cpu_pct: z.number().min(0).max(100),
    memory_mb: z.number().min(0),
    /** Connections in use at baseline load; with `db_pool_max`, the service has a connection pool. */
    db_pool_active: z.number().min(0).optional(),
    db_pool_max: z.number().int().positive().optional(),
    /** Median and 95th percentile latency; when declared the service exposes them (p50 ≤ p95 ≤ p99). */
    latency_p50_ms: z.number().positive().optional(),
    latency_p95_ms: z.number().positive().optional(),
  })
  .strict()
  .refine((b) => (b.db_pool_active === undefined) === (b.db_pool_max === undefined), { message: 'db_pool_active and db_pool_max go together' })
  .superRefine((b, ctx) => {
    // Quantiles are ordered: each declared one is at most the next declared one.
    const quantiles = ([['latency_p50_ms', b.latency_p50_ms], ['latency_p95_ms', b.latency_p95_ms], ['latency_p99_ms', b.latency_p99_ms]] as const).filter((q) => q[1] !== undefined);
    for (let k = 1; k < quantiles.length; k++) {
      const [lowName, low] = quantiles[k - 1] as readonly [string, number];
      const [highName, high] = quantiles[k] as readonly [string, number];
      if (low > high) ctx.addIssue({ code: 'custom', path: [lowName], message: `${lowName} (${low}) is above ${highName} (${high}): quantiles go p50 ≤ p95 ≤ p99` });
    }
  });

/**
 * The asynchronous consumer of a `queue` service. Producers are the services that `call` the queue: they enqueue
 * at their call rate (the queue's throughput); the consumer drains at its processing capacity. Capacity at
 * baseline is `replicas × ratePerReplica` messages/s (default: 1.5 × the queue's baseline throughput, 50 %
 * headroom); it falls as the consumer slows (capacity ∝ 1 / its latency: a fixed number of workers, each busy for
 * the processing time) and with a throughput effect on the consumer; `scale-service` of the consumer raises it.
 */
const ConsumerSpec = z
  .object({
    service: Name,
    /** Messages/s one replica of the consumer processes at its baseline latency. */
    ratePerReplica: z.number().positive().optional(),
  })
  .strict();
export type ConsumerSpec = z.infer<typeof ConsumerSpec>;

/** When a `job` service runs (scenario minutes): from `startsAt`, every `everyMinutes` (once without it), each run `durationMinutes` long. */
const ScheduleSpec = z
  .object({
    startsAt: Minutes,
    everyMinutes: z.number().positive().max(10_080).optional(),
    durationMinutes: z.number().positive().max(1440),
  })
  .strict()
  .refine((s) => s.everyMinutes === undefined || s.durationMinutes < s.everyMinutes, { message: 'a run must end before the next one starts (durationMinutes < everyMinutes)', path: ['durationMinutes'] });
export type ScheduleSpec = z.infer<typeof ScheduleSpec>;

export const ServiceSpec = z
  .object({
    name: Name,
    /** `job`: a scheduled or batch job (needs `schedule`): its calls load its callees only while a run is active. */
    tier: z.enum(['frontend', 'backend', 'database', 'cache', 'external', 'queue', 'job']),
    /** Downstream services this one calls synchronously. */
    calls: z.array(Name).default([]),
    baseline: Baseline,
    /** Concurrent users at baseline (frontends); exposes `active_users`. */
    activeUsers: z.number().int().min(0).default(0),
    /** Revenue flowing through the service at baseline ($/min); exposes `revenue_per_min`. */
    revenuePerMinute: z.number().min(0).default(0),
    /** Memory limit per instance; pressure above ~75 % causes GC pauses, above 100 % OOM kills. */
    memoryLimitMb: z.number().positive().optional(),
    /** How long a request waits for a pooled connection before failing (HikariCP connectionTimeout). */
    poolTimeoutMs: z.number().positive().default(30_000),
    replicas: z.number().int().min(1).max(50).default(3),
    /**
     * The database (a callee) the connection pool connects to. Connections are held for the query's time, so
     * pool demand follows that callee's latency (Little's law): a slow database exhausts the pool by itself.
     */
    poolTarget: Name.optional(),
    /**
     * A read-through cache in front of a backing store (both callees). Every miss goes to `backing` and is
     * written back to `store`, so the backing store's load follows the miss ratio; exposes `cache_hit_ratio_pct`.
     */
    cache: z.object({ store: Name, backing: Name, hitRatioPct: z.number().min(0).max(99.9) }).strict().optional(),
    /**
     * A data volume: exposes `disk_used_pct`; at about 98 % writes fail (ENOSPC) and the service's errors rise. A
     * fault grows it with `effects.disk_used_pct {perMinute}` (logs that fill the volume).
     */
    disk: z.object({ capacityGb: z.number().positive().max(1_000_000), usedPct: z.number().min(0).max(100) }).strict().optional(),
    /**
     * Per-process file descriptors: exposes `open_fds` and `fd_limit`; at the limit accept()/open() fail (EMFILE,
     * "Too many open files") and the service's errors rise. A leak is `effects.open_fds {perMinute}`.
     */
    fileDescriptors: z
      .object({ limit: z.number().int().positive().max(10_000_000), open: z.number().min(0) })
      .strict()
      .refine((f) => f.open < f.limit, { message: 'open must be below limit at baseline', path: ['open'] })
      .optional(),
    /**
     * A rate quota on the requests this service serves (provisioned capacity, a concurrency limit, a third party's
     * rate limit): exposes `quota_limit_rps` and `throttled_rps`. Demand above the limit is throttled (HTTP 429,
     * ThrottlingException) and counts as this service's errors; `scale-service` raises the limit.
     */
    quota: z.object({ name: z.string().min(1).max(120), limitRps: z.number().positive() }).strict().optional(),
    /**
     * Certificates the service presents; exposes `cert_days_to_expiry`, the days from the instant to the earliest
     * `notAfter` (scenario minutes), negative after it. Observing the date changes nothing by itself: an expired
     * certificate's failures are a fault (`failsAt: connection`).
     */
    certificates: z.array(z.object({ subject: z.string().min(1), notAfter: z.number().min(-5_256_000).max(5_256_000) }).strict()).min(1).max(20).optional(),
    /**
     * Availability zones the service runs in (2–6 names, e.g. "us-east-1a"), its traffic spread evenly across them: its
     * metrics then also exist per zone (queried with `groupBy: ['zone']`). A fault with `zone` fails only that share.
     */
    zones: z.array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,30}$/, 'lower-case letters, digits and "-", at most 31 characters')).min(2).max(6).optional(),
    /** A `queue`'s asynchronous consumer: exposes `queue_depth` and `queue_oldest_age_s` on the queue. */
    consumer: ConsumerSpec.optional(),
    /** A `job`'s runs (required for tier `job`, refused on the others). */
    schedule: ScheduleSpec.optional(),
    /** Operation names used in spans and request logs; defaults come from the tier. */
    operations: z.array(z.string().min(1)).default([]),
    team: z.string().min(1),
    oncall: z.object({ primary: Person, escalation: Person.optional(), slack: z.string().min(1) }).strict(),
    runbookUrl: z.string().optional(),
    sloTargetPct: z.number().min(0).max(100).default(99.9),
  })
  .strict();
export type ServiceSpec = z.infer<typeof ServiceSpec>;

export const ChangeSpec = z
  .object({
    id: Id,
    service: Name,
    type: z.enum(['deploy', 'config', 'feature-flag', 'infrastructure']),
    title: z.string().min(1),
    description: z.string().min(1),
    deployedAt: Minutes,
    version: z.object({ from: z.string(), to: z.string() }).strict().optional(),
    configChange: z.object({ param: z.string().min(1), old: z.string(), new: z.string() }).strict().optional(),
    rollbackPlan: z.string().min(1),
    author: z.string().optional(),
  })
  .strict();
export type ChangeSpec = z.infer<typeof ChangeSpec>;

/** How a fault moves one metric of its service: a factor, an addition, a target value, or growth per minute. */
export const Effect = z
  .object({
    factor: z.number().positive().optional(),
    add: z.number().optional(),
    value: z.number().optional(),
    perMinute: z.number().optional(),
  })
  .strict()
  .refine((e) => Object.keys(e).length === 1, { message: 'exactly one of factor, add, value, perMinute' });
export type Effect = z.infer<typeof Effect>;
/** Metrics a fault may move directly; the others (users, revenue, pool wait) are derived. */
export const EFFECT_METRICS: readonly string[] = ['latency_p99_ms', 'error_rate_pct', 'throughput_rps', 'cpu_pct', 'memory_mb', 'db_pool_active', 'db_pool_max', 'cache_hit_ratio_pct', 'disk_used_pct', 'open_fds', 'quota_limit_rps'];
/** Effect metrics that exist only on a service declaring a feature: the metric, the ServiceSpec field, what to say. */
const FEATURE_EFFECTS: Readonly<Record<string, { readonly field: 'cache' | 'disk' | 'fileDescriptors' | 'quota'; readonly lacks: string }>> = {
  cache_hit_ratio_pct: { field: 'cache', lacks: 'has no cache (services[].cache)' },
  disk_used_pct: { field: 'disk', lacks: 'has no disk (services[].disk)' },
  open_fds: { field: 'fileDescriptors', lacks: 'declares no file descriptors (services[].fileDescriptors)' },
  quota_limit_rps: { field: 'quota', lacks: 'has no quota (services[].quota)' },
};

/** Longest `{hex:n}` a log template may draw: longer than any id a log carries (a trace id is 32). */
const MAX_HEX_PLACEHOLDER = 64;

/**
 * A log line template. `{hex:n}` draws n digits on every line, so n must be a whole number in [1, 64]: a huge n
 * allocates that much per line, and `{hex:Infinity}` never finishes a log query.
 */
const Template = z
  .string()
  .min(1)
  .superRefine((template, ctx) => {
    for (const [whole, length] of template.matchAll(/\{hex:([^}]*)\}/g)) {
      const n = Number(length);
      if (!Number.isInteger(n) || n < 1 || n > MAX_HEX_PLACEHOLDER) ctx.addIssue({ code: 'custom', message: `${whole}: the length must be a whole number from 1 to ${MAX_HEX_PLACEHOLDER}` });
    }
  });

export const LogTemplateSpec = z
  .object({
    level: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']),
    /**
     * Placeholders: {int:a-b} {float:a-b} {hex:n} {uuid} {ip} {pick:a|b|c} {host} {service} {op} {metric:name}
     * ({metric:db_pool_active} is the world's current value; db_pool_pending is also available) and {at:m},
     * the ISO time of scenario minute m (a certificate's notAfter, a job's start).
     */
    template: Template,
    /** Lines per minute at full intensity. */
    ratePerMinute: z.number().min(0).max(600).optional(),
    /** Lines per failed request caused by the fault (rate then follows the derived error rate). */
    perFailedRequest: z.number().min(0).max(1).optional(),
  })
  .strict()
  .refine((t) => (t.ratePerMinute === undefined) !== (t.perFailedRequest === undefined), { message: 'exactly one of ratePerMinute, perFailedRequest' });
export type LogTemplateSpec = z.infer<typeof LogTemplateSpec>;

const Fix = z.object({ kind: ActionKind, service: Name.optional(), target: z.string().optional() }).strict();

export const FaultSpec = z
  .object({
    /**
     * Names the fault (unique within the scenario): how an injected fault is listed and ended (POST/DELETE
     * /admin/faults). Optional: the hand-written scenarios' faults have none.
     */
    id: Id.optional(),
    service: Name,
    startsAt: Minutes,
    /** Minutes from start to full intensity. */
    rampMinutes: z.number().min(0).max(240).default(2),
    /** Optional self-healing end. */
    endsAt: Minutes.optional(),
    /** The change that introduced the fault; rolling it back (or reverting its config/flag) fixes it. */
    causedBy: Id.optional(),
    kind: z.string().min(1),
    effects: z.record(z.string(), Effect).default({}),
    /** Share of this service's latency/error increase that its callers inherit, per hop. */
    propagation: z.object({ latency: z.number().min(0).max(1).default(0.85), errors: z.number().min(0).max(1).default(0.7) }).strict().optional(),
    logs: z.array(LogTemplateSpec).default([]),
    /** The error recorded on failing spans of this service. */
    spanError: z.string().optional(),
    /** Actions that end the fault besides rolling back `causedBy`. */
    fixedBy: z.array(Fix).default([]),
    /**
     * Where requests fail. `server` (default): the service handles them badly and its own metrics show it.
     * `connection`: they never reach it (expired certificate, unresolvable name, refused connection): its
     * latency/error effects are seen only by its callers, and its own throughput falls by the failed share.
     */
    failsAt: z.enum(['server', 'connection']).default('server'),
    /** What callers record when a call fails at connection time (exception text in their logs and spans). */
    callerError: z.string().min(1).optional(),
    /** Multiplies the requests this service sends to a callee (a retry storm, a lost batch, an N+1 query). */
    callVolume: z.record(z.string(), z.number().positive().max(50)).default({}),
    /**
     * One of the service's `zones`: the fault fails only the service's share of traffic there (an availability-zone
     * impairment). Its effects are that zone's; the service's own metrics mix them with its healthy zones'. A server
     * fault only.
     */
    zone: z.string().min(1).optional(),
  })
  .strict()
  .refine((f) => f.failsAt === 'server' || f.callerError !== undefined, { message: 'a connection-level fault names the callerError its callers see', path: ['callerError'] });
export type FaultSpec = z.infer<typeof FaultSpec>;

/** Extra traffic (a flash sale, a marketing push); callees inherit it through the call graph. */
export const LoadSpec = z
  .object({
    services: z.array(Name).min(1),
    startsAt: Minutes,
    endsAt: Minutes.optional(),
    rampMinutes: z.number().min(0).max(240).default(5),
    factor: z.number().positive().max(20),
    description: z.string().optional(),
  })
  .strict();
export type LoadSpec = z.infer<typeof LoadSpec>;

export const PastIncidentSpec = z
  .object({
    id: Id,
    title: z.string().min(1),
    service: Name,
    openedAt: Minutes,
    rootCause: z.string().min(1),
    resolution: z.string().min(1),
    resolutionMinutes: z.number().int().positive(),
    category: z.string().min(1),
    tags: z.array(z.string()).default([]),
  })
  .strict();
export type PastIncidentSpec = z.infer<typeof PastIncidentSpec>;

export const BackgroundLogSpec = z
  .object({ service: Name.optional(), level: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']), template: Template, ratePerMinute: z.number().min(0).max(600) })
  .strict();

export const AlertSpec = z
  .object({
    title: z.string().min(1),
    service: Name,
    severity: Severity,
    /** Dynatrace's problem category. */
    problemSeverity: z.enum(['AVAILABILITY', 'ERROR', 'PERFORMANCE', 'RESOURCE_CONTENTION', 'CUSTOM_ALERT']),
    impact: z.enum(['APPLICATION', 'SERVICE', 'INFRASTRUCTURE']).default('SERVICE'),
    /** When the monitoring tool says the problem started. */
    startedAt: Minutes.default(-3),
    description: z.string().optional(),
  })
  .strict();

/**
 * How the expected fault fails (issue 11), when its category names only the trigger (a bad deploy, a config change):
 * a pool-size change is a config change whose mechanism is `connection-pool`. Optional: without it the mechanism
 * scored is the category, unless the category is a trigger (then the mechanism is not scored). Never a trigger.
 */
const ExpectedMechanism = FaultCategory.refine((c) => !isTriggerCategory(c), { message: 'a mechanism says how the fault fails, not what triggered it: bad-deploy and config-change are categories, not mechanisms' });

/**
 * The answer key. `rootCause: null` says there is nothing to find (a false alarm): the right outcome is to
 * abstain, and the mitigation must then be `{ "kind": "none" }`.
 */
export const Expect = z
  .object({
    rootCause: z.object({ service: Name, changeId: Id.optional(), category: FaultCategory, mechanism: ExpectedMechanism.optional() }).strict().nullable(),
    mitigation: z.object({ kind: ActionKind, service: Name.optional(), target: z.string().optional() }).strict(),
  })
  .strict()
  .refine((e) => e.rootCause !== null || e.mitigation.kind === 'none', { message: 'a false alarm (rootCause null) expects the mitigation { "kind": "none" }', path: ['mitigation', 'kind'] });
export type Expect = z.infer<typeof Expect>;
export type ExpectedRootCause = NonNullable<Expect['rootCause']>;

/** Whether the scenario is a false alarm: nothing to find, so the right answer is to abstain. */
export const isFalseAlarm = (s: { expect: Expect }): boolean => s.expect.rootCause === null;

export const Scenario = z
  .object({
    name: Name,
    title: z.string().min(1),
    description: z.string().min(1),
    /** Local hour of day at t=0 (drives the mild daily traffic shape, so a world behaves the same whenever it is created). */
    timeOfDay: z.number().min(0).max(24).default(14),
    services: z.array(ServiceSpec).min(1).max(30),
    changes: z.array(ChangeSpec).default([]),
    faults: z.array(FaultSpec).default([]),
    load: z.array(LoadSpec).default([]),
    history: z.array(PastIncidentSpec).default([]),
    backgroundLogs: z.array(BackgroundLogSpec).default([]),
    alert: AlertSpec,
    expect: Expect,
  })
  .strict()
  .superRefine((s, ctx) => {
    const names = new Set<string>();
    s.services.forEach((svc, i) => {
      if (names.has(svc.name)) ctx.addIssue({ code: 'custom', path: ['services', i, 'name'], message: `duplicate service "${svc.name}"` });
      names.add(svc.name);
    });
    const service = (name: string, path: (string | number)[]) => {
      if (!names.has(name)) ctx.addIssue({ code: 'custom', path, message: `unknown service "${name}"` });
    };
    s.services.forEach((svc, i) => {
      svc.calls.forEach((c, j) => service(c, ['services', i, 'calls', j]));
      const callee = (name: string, path: (string | number)[]) => {
        if (!svc.calls.includes(name)) ctx.addIssue({ code: 'custom', path: ['services', i, ...path], message: `"${name}" is not one of ${svc.name}'s calls` });
      };
      if (svc.poolTarget !== undefined) {
        callee(svc.poolTarget, ['poolTarget']);
        if (svc.baseline.db_pool_max === undefined) ctx.addIssue({ code: 'custom', path: ['services', i, 'poolTarget'], message: 'a poolTarget needs a pool (baseline db_pool_active and db_pool_max)' });
      }
      if (svc.cache) {
        callee(svc.cache.store, ['cache', 'store']);
        callee(svc.cache.backing, ['cache', 'backing']);
      }
      checkQueueAndJob(s, svc, i, ctx);
      if (svc.zones && new Set(svc.zones).size !== svc.zones.length) ctx.addIssue({ code: 'custom', path: ['services', i, 'zones'], message: 'zones must be distinct' });
    });
    const changeIds = new Set<string>();
    s.changes.forEach((c, i) => {
      if (changeIds.has(c.id)) ctx.addIssue({ code: 'custom', path: ['changes', i, 'id'], message: `duplicate change "${c.id}"` });
      changeIds.add(c.id);
      service(c.service, ['changes', i, 'service']);
      if (c.type === 'deploy' && !c.version) ctx.addIssue({ code: 'custom', path: ['changes', i, 'version'], message: 'a deploy names its version {from, to}' });
      if (c.type === 'config' && !c.configChange) ctx.addIssue({ code: 'custom', path: ['changes', i, 'configChange'], message: 'a config change names {param, old, new}' });
    });
    const faultIds = new Set<string>();
    s.faults.forEach((f, i) => {
      if (f.id !== undefined) {
        if (faultIds.has(f.id)) ctx.addIssue({ code: 'custom', path: ['faults', i, 'id'], message: `duplicate fault id "${f.id}"` });
        faultIds.add(f.id);
      }
      service(f.service, ['faults', i, 'service']);
      for (const metric of Object.keys(f.effects)) {
        if (!EFFECT_METRICS.includes(metric)) ctx.addIssue({ code: 'custom', path: ['faults', i, 'effects', metric], message: `not a metric a fault can move (one of ${EFFECT_METRICS.join(', ')})` });
        const feature = FEATURE_EFFECTS[metric];
        if (feature && !s.services.find((x) => x.name === f.service)?.[feature.field]) {
          ctx.addIssue({ code: 'custom', path: ['faults', i, 'effects', metric], message: `${f.service} ${feature.lacks}` });
        }
      }
      const calls = s.services.find((x) => x.name === f.service)?.calls ?? [];
      for (const callee of Object.keys(f.callVolume)) {
        if (!calls.includes(callee)) ctx.addIssue({ code: 'custom', path: ['faults', i, 'callVolume', callee], message: `"${callee}" is not one of ${f.service}'s calls` });
      }
      if (f.zone !== undefined) {
        const zones = s.services.find((x) => x.name === f.service)?.zones;
        if (!zones) ctx.addIssue({ code: 'custom', path: ['faults', i, 'zone'], message: `${f.service} declares no zones` });
        else if (!zones.includes(f.zone)) ctx.addIssue({ code: 'custom', path: ['faults', i, 'zone'], message: `"${f.zone}" is not one of ${f.service}'s zones (${zones.join(', ')})` });
        if (f.failsAt === 'connection') ctx.addIssue({ code: 'custom', path: ['faults', i, 'zone'], message: 'a zonal fault fails at the server (failsAt: server)' });
      }
      if (f.causedBy && !changeIds.has(f.causedBy)) ctx.addIssue({ code: 'custom', path: ['faults', i, 'causedBy'], message: `unknown change "${f.causedBy}"` });
      const cause = s.changes.find((c) => c.id === f.causedBy);
      if (cause && cause.deployedAt > f.startsAt) ctx.addIssue({ code: 'custom', path: ['faults', i, 'startsAt'], message: `starts before its cause ${cause.id} is deployed` });
      f.fixedBy.forEach((x, j) => x.service && service(x.service, ['faults', i, 'fixedBy', j, 'service']));
    });
    s.load.forEach((l, i) => l.services.forEach((n, j) => service(n, ['load', i, 'services', j])));
    const incidentIds = new Set<string>();
    s.history.forEach((h, i) => {
      if (incidentIds.has(h.id)) ctx.addIssue({ code: 'custom', path: ['history', i, 'id'], message: `duplicate incident "${h.id}"` });
      incidentIds.add(h.id);
      service(h.service, ['history', i, 'service']);
    });
    s.backgroundLogs.forEach((b, i) => b.service && service(b.service, ['backgroundLogs', i, 'service']));
    service(s.alert.service, ['alert', 'service']);
    const rc = s.expect.rootCause;
    if (rc) {
      service(rc.service, ['expect', 'rootCause', 'service']);
      if (rc.changeId && !changeIds.has(rc.changeId)) ctx.addIssue({ code: 'custom', path: ['expect', 'rootCause', 'changeId'], message: `unknown change "${rc.changeId}"` });
    } else if (s.faults.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['expect', 'rootCause'], message: 'a false alarm (rootCause null) has no faults' });
    }
    if (s.expect.mitigation.service) service(s.expect.mitigation.service, ['expect', 'mitigation', 'service']);
    const cycle = findCycle(s.services);
    if (cycle) ctx.addIssue({ code: 'custom', path: ['services'], message: `the call graph has a cycle: ${cycle.join(' → ')}` });
    else if (s.services.some((x) => x.consumer)) {
      // A consumer's work must not flow back into its own queue (load follows queue → consumer too).
      const loop = findCycle(s.services.map((x) => ({ name: x.name, calls: x.consumer ? [...x.calls, x.consumer.service] : x.calls })));
      if (loop) ctx.addIssue({ code: 'custom', path: ['services'], message: `a consumer feeds its own queue: ${loop.join(' → ')}` });
    }
  });
export type Scenario = z.infer<typeof Scenario>;
/** What a scenario file may omit (defaults filled by the schema). */
export type ScenarioInput = z.input<typeof Scenario>;

/** Minimum headroom of a consumer's baseline capacity over its queue's baseline inflow: below it, noise alone builds a backlog. */
export const MIN_CONSUMER_HEADROOM = 1.2;
/** A consumer's capacity over its queue's baseline inflow when `ratePerReplica` is not declared. */
export const DEFAULT_CONSUMER_HEADROOM = 1.5;

/** The rules of `consumer` (queues only, a known service that is not the queue nor one of its producers) and `schedule` (jobs only, and every job has one). */
const checkQueueAndJob = (
  s: { services: readonly { name: string; tier: string; calls: readonly string[]; replicas: number; baseline: { throughput_rps: number } }[] },
  svc: ServiceSpec,
  i: number,
  ctx: z.RefinementCtx,
): void => {
  if (svc.tier === 'job' && !svc.schedule) ctx.addIssue({ code: 'custom', path: ['services', i, 'schedule'], message: 'a job service needs a schedule {startsAt, everyMinutes?, durationMinutes}' });
  if (svc.tier !== 'job' && svc.schedule) ctx.addIssue({ code: 'custom', path: ['services', i, 'schedule'], message: `only a job service has a schedule (${svc.name} is a ${svc.tier})` });
  const consumer = svc.consumer;
  if (!consumer) return;
  const path = ['services', i, 'consumer', 'service'];
  if (svc.tier !== 'queue') {
    ctx.addIssue({ code: 'custom', path: ['services', i, 'consumer'], message: `only a queue service has a consumer (${svc.name} is a ${svc.tier})` });
    return;
  }
  const target = s.services.find((x) => x.name === consumer.service);
  if (!target) return void ctx.addIssue({ code: 'custom', path, message: `unknown service "${consumer.service}": the consumer must be one of the scenario's services` });
  if (target.name === svc.name) return void ctx.addIssue({ code: 'custom', path, message: 'a queue cannot consume itself' });
  if (target.tier !== 'backend' && target.tier !== 'job') ctx.addIssue({ code: 'custom', path, message: `the consumer must be a backend or job service (${target.name} is a ${target.tier})` });
  if (target.calls.includes(svc.name)) ctx.addIssue({ code: 'custom', path, message: `${target.name} produces to ${svc.name} (calls it) and cannot also be its consumer` });
  if (!s.services.some((x) => x.calls.includes(svc.name))) ctx.addIssue({ code: 'custom', path: ['services', i, 'consumer'], message: `${svc.name} has a consumer but no producer: some service must call it` });
  if (consumer.ratePerReplica !== undefined) {
    const capacity = consumer.ratePerReplica * target.replicas;
    if (capacity < MIN_CONSUMER_HEADROOM * svc.baseline.throughput_rps) {
      ctx.addIssue({ code: 'custom', path: ['services', i, 'consumer', 'ratePerReplica'], message: `${target.replicas} replicas × ${consumer.ratePerReplica}/s = ${capacity} messages/s is below ${MIN_CONSUMER_HEADROOM} × the queue's baseline throughput (${svc.baseline.throughput_rps}/s): the queue would back up while healthy` });
    }
  }
};

/** Returns a cycle in the call graph, if any (traces and propagation walk it as a DAG). */
const findCycle = (services: readonly { name: string; calls: readonly string[] }[]): string[] | undefined => {
  const calls = new Map(services.map((s) => [s.name, s.calls]));
  const state = new Map<string, 'open' | 'done'>();
  const visit = (name: string, path: string[]): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'open') return [...path.slice(path.indexOf(name)), name];
    state.set(name, 'open');
    for (const next of calls.get(name) ?? []) {
      const found = visit(next, [...path, name]);
      if (found) return found;
    }
    state.set(name, 'done');
    return undefined;
  };
  for (const s of services) {
    const found = visit(s.name, []);
    if (found) return found;
  }
  return undefined;
};

export class ScenarioInvalid extends Error {
  override name = 'ScenarioInvalid';
  readonly file: string;
  /** One `path: what is wrong` per problem, when the scenario was read but does not validate. */
  readonly problems: readonly string[];
  constructor(file: string, message: string, options?: ErrorOptions & { problems?: readonly string[] }) {
    super(`scenario ${file}: ${message}`, options);
    this.file = file;
    this.problems = options?.problems ?? [message];
  }
}

const issueLines = (error: z.ZodError): string[] => error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);

/** Validates a parsed scenario object; `origin` names it in errors. */
export const parseScenario = (value: unknown, origin = '(inline)'): Scenario => {
  const parsed = Scenario.safeParse(value);
  if (!parsed.success) {
    const problems = issueLines(parsed.error);
    throw new ScenarioInvalid(origin, problems.join('; '), { problems });
  }
  return parsed.data;
};

/** Reads and validates a scenario file. Throws `ScenarioInvalid` naming the file and the bad field. */
export const loadScenario = (file: string): Scenario => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ScenarioInvalid(file, `cannot be read (${(error as Error).message})`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ScenarioInvalid(file, `not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return parseScenario(json, file);
};

/**
 * events/scenarios, resolved from this module (functions/core/world → the project root). Computed on call, not
 * at import: a bundled Lambda that only parses stored scenarios never needs (or has) the directory.
 */
export const defaultScenarioDir = (): string => fileURLToPath(new URL('../../../events/scenarios/', import.meta.url));

/** The scenarios in `dir`, sorted by name. Files that do not parse are reported, not skipped. */
export const listScenarios = (dir: string = defaultScenarioDir()): { name: string; file: string; title: string }[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const file = join(dir, f);
      const s = loadScenario(file);
      return { name: s.name, file, title: s.title };
    });

/** Finds a scenario by name (or file stem) in `dir`. */
export const findScenario = (name: string, dir: string = defaultScenarioDir()): Scenario => {
  const hit = listScenarios(dir).find((s) => s.name === name || basename(s.file, '.json') === name);
  if (!hit) throw new ScenarioInvalid(join(dir, `${name}.json`), `no scenario named "${name}" in ${dir}`);
  return loadScenario(hit.file);
};

export class RenameConflict extends Error {
  override name = 'RenameConflict';
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Renames services, change ids and incident ids everywhere: structured fields and every free text (titles,
 * descriptions, log templates, root causes), so no trace of an old name is left. A name is replaced only as a
 * whole token (not inside a longer name such as `inventory-service-db`). Used to check that conclusions follow
 * the world rather than memorised names.
 */
export const renameScenario = (s: Scenario, mapping: Record<string, string>): Scenario => {
  const keys = Object.keys(mapping).filter((k) => mapping[k] !== k);
  if (keys.length === 0) return s;
  const known = new Set([...s.services.map((x) => x.name), ...s.changes.map((c) => c.id), ...s.history.map((h) => h.id)]);
  for (const k of keys) {
    if (!known.has(k)) throw new RenameConflict(`"${k}" is not a service, change id or incident id of scenario ${s.name}`);
    if (known.has(mapping[k]) && !keys.includes(mapping[k])) throw new RenameConflict(`"${mapping[k]}" (the new name of "${k}") already exists in scenario ${s.name}`);
  }
  const targets = keys.map((k) => mapping[k]);
  if (new Set(targets).size !== targets.length) throw new RenameConflict('two names map to the same new name');
  // One alternation, longest first, so a rename never feeds another one.
  const pattern = new RegExp(`(?<![A-Za-z0-9_-])(${[...keys].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|')})(?![A-Za-z0-9_-])`, 'g');
  const rename = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(pattern, (m) => mapping[m]);
    if (Array.isArray(v)) return v.map(rename);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rename(x)]));
    return v;
  };
  return parseScenario(rename(s), `${s.name} (renamed)`);
};
