/**
 * Queues with an asynchronous consumer, scheduled jobs and p50/p95 latency: the world features behind the
 * queue-backlog and batch-job-contention families. A small inline topology: a web frontend → orders-api, which
 * writes to orders-db and publishes to orders-queue; fulfil-worker consumes the queue and writes to fulfil-db; a
 * nightly export job reads orders-db.
 */
import { describe, expect, it } from 'vitest';
import { logs } from '../../../functions/core/world/signals.ts';
import { parseScenario, type Scenario, type ScenarioInput } from '../../../functions/core/world/scenario.ts';
import { applyAction, createWorld, metricSeries, snapshotAt, type WorldState } from '../../../functions/core/world/world.ts';
import { MINUTE, NOW } from './helpers.ts';

const oncall = { primary: { name: 'Ada Lovelace', contact: '@ada' }, slack: '#orders' };
const svc = (name: string, tier: string, calls: string[], baseline: Record<string, number>, extra: Record<string, unknown> = {}) => ({ name, tier, calls, baseline: { error_rate_pct: 0.1, cpu_pct: 30, memory_mb: 800, ...baseline }, team: 'Orders', oncall, ...extra });

const base = (over: Partial<ScenarioInput> = {}, services?: ScenarioInput['services']): Scenario =>
  parseScenario({
    name: 'async-world',
    title: 'Queues, jobs and quantiles',
    description: 'Inline topology for the asynchronous world features.',
    services: services ?? [
      svc('web', 'frontend', ['orders-api'], { latency_p99_ms: 400, latency_p50_ms: 90, latency_p95_ms: 220, throughput_rps: 300 }),
      svc('orders-api', 'backend', ['orders-db', 'orders-queue'], { latency_p99_ms: 180, latency_p50_ms: 40, latency_p95_ms: 110, throughput_rps: 300 }, { memoryLimitMb: 2048 }),
      svc('orders-db', 'database', [], { latency_p99_ms: 12, throughput_rps: 900, cpu_pct: 40, memory_mb: 16384 }),
      svc('orders-queue', 'queue', [], { latency_p99_ms: 4, throughput_rps: 300, error_rate_pct: 0 }, { consumer: { service: 'fulfil-worker' } }),
      svc('fulfil-worker', 'backend', ['fulfil-db'], { latency_p99_ms: 120, throughput_rps: 300 }, { replicas: 4 }),
      svc('fulfil-db', 'database', [], { latency_p99_ms: 8, throughput_rps: 600, cpu_pct: 25, memory_mb: 8192 }),
      svc('orders-export', 'job', ['orders-db'], { latency_p99_ms: 900, throughput_rps: 1500, cpu_pct: 60 }, { schedule: { startsAt: -30, durationMinutes: 20 }, replicas: 1 }),
    ],
    alert: { title: 'Queue age', service: 'orders-queue', severity: 'SEV3', problemSeverity: 'CUSTOM_ALERT', startedAt: -3 },
    expect: { rootCause: { service: 'fulfil-worker', category: 'queue-backlog' }, mitigation: { kind: 'scale-service', service: 'fulfil-worker' } },
    ...over,
  } as ScenarioInput);

const world = (s: Scenario, id = 'async') => createWorld(s, { id, now: NOW });
const at = (w: WorldState, m: number) => Date.parse(w.createdAt) + m * MINUTE;
const value = (w: WorldState, m: number, service: string, metric: string) => snapshotAt(w, at(w, m)).services.get(service)?.values[metric] as number;
/** The job never runs inside the windows tested (its only run is a week after the alert). */
const noJob = (s: Scenario): Scenario => ({ ...s, services: s.services.map((x) => (x.schedule ? { ...x, schedule: { ...x.schedule, startsAt: 10_000 } } : x)) });

const slowConsumer = (over: Record<string, unknown> = {}) => ({ service: 'fulfil-worker', startsAt: -40, rampMinutes: 2, kind: 'slow-consumer', effects: { latency_p99_ms: { factor: 3 } }, fixedBy: [{ kind: 'scale-service' as const, service: 'fulfil-worker' }], ...over });

describe('queues with a consumer', () => {
  it('exposes queue_depth and queue_oldest_age_s on the queue only, with units', () => {
    const w = world(noJob(base()));
    const series = metricSeries(w, { services: ['orders-queue', 'orders-api'], from: at(w, -5), to: at(w, 0) });
    expect(series.filter((s) => s.service === 'orders-queue').map((s) => [s.metric, s.unit])).toEqual(expect.arrayContaining([['queue_depth', 'messages'], ['queue_oldest_age_s', 'seconds']]));
    expect(series.some((s) => s.service === 'orders-api' && s.metric.startsWith('queue_'))).toBe(false);
    // Healthy: only what is in flight (inflow × a second or so), and a young oldest message.
    expect(value(w, 0, 'orders-queue', 'queue_oldest_age_s')).toBeLessThan(3);
    expect(value(w, 0, 'orders-queue', 'queue_depth')).toBeLessThan(1000);
  });

  it('backs up when the consumer slows, growing depth and age over time, with no errors anywhere', () => {
    const healthy = world(noJob(base()));
    const sick = world(noJob(base({ faults: [slowConsumer()] })));
    const depth = [-45, -30, -15, 0].map((m) => value(sick, m, 'orders-queue', 'queue_depth'));
    const age = [-45, -30, -15, 0].map((m) => value(sick, m, 'orders-queue', 'queue_oldest_age_s'));
    expect(depth[0]).toBeLessThan(1000);
    // A third of the capacity (1.5 × 300/s → 150/s) against 300/s: ~150 messages/s pile up.
    expect(depth[1]).toBeGreaterThan(50_000);
    expect(depth[2]).toBeGreaterThan(depth[1] as number);
    expect(depth[3]).toBeGreaterThan(depth[2] as number);
    expect(age[3]).toBeGreaterThan(600);
    expect(age[3]).toBeGreaterThan(age[2] as number);
    for (const s of healthy.scenario.services) {
      for (const m of [-30, -10, 0]) expect(value(sick, m, s.name, 'error_rate_pct'), `${s.name} at ${m}`).toBe(value(healthy, m, s.name, 'error_rate_pct'));
    }
    // The consumer drains what it can: its throughput falls to its capacity.
    expect(value(sick, 0, 'fulfil-worker', 'throughput_rps')).toBeLessThan(0.6 * value(healthy, 0, 'fulfil-worker', 'throughput_rps'));
  });

  it('backs up when a slow callee slows the consumer, and drains after scaling the consumer out', () => {
    const sick = noJob(base({ faults: [{ service: 'fulfil-db', startsAt: -40, rampMinutes: 2, kind: 'slow-db', effects: { latency_p99_ms: { factor: 30 } } }] }));
    const w = world(sick);
    expect(value(w, 0, 'orders-queue', 'queue_oldest_age_s')).toBeGreaterThan(300);
    // Scaling the consumer out (its fix) drains the backlog: depth falls back to what is in flight.
    const scaled = applyAction(w, { kind: 'scale-service', service: 'fulfil-worker', params: { factor: 3 } }, new Date(at(w, -20))).state;
    expect(value(scaled, -10, 'orders-queue', 'queue_depth')).toBeLessThan(value(w, -10, 'orders-queue', 'queue_depth'));
    expect(value(scaled, 20, 'orders-queue', 'queue_oldest_age_s')).toBeLessThan(5);
    const throughputFault = world(noJob(base({ faults: [slowConsumer({ effects: { throughput_rps: { factor: 0.4 } } })] })));
    expect(value(throughputFault, 0, 'orders-queue', 'queue_depth')).toBeGreaterThan(50_000);
  });

  it('backs up when the producers surge beyond the consumer\'s capacity, and the consumer works at capacity', () => {
    const w = world(noJob(base({ load: [{ services: ['web'], startsAt: -30, rampMinutes: 2, factor: 2.5 }] })));
    expect(value(w, -32, 'orders-queue', 'queue_depth')).toBeLessThan(1000);
    expect(value(w, 0, 'orders-queue', 'queue_depth')).toBeGreaterThan(100_000);
    const inflow = snapshotAt(w, at(w, 0)).services.get('orders-queue')?.queue;
    expect(inflow?.capacity).toBeLessThan(inflow?.inflow as number);
    expect(value(w, 0, 'orders-queue', 'error_rate_pct')).toBeLessThan(0.5);
  });

  it('gives the same depth and age at t alone as within a long series, whatever was asked before', () => {
    const s = noJob(base({ faults: [slowConsumer()] }));
    const alone = world(s, 'cut');
    const t = at(alone, -7);
    const single = metricSeries(alone, { services: ['orders-queue'], metrics: ['queue_depth', 'queue_oldest_age_s'], from: t, to: t });
    const long = world({ ...s }, 'cut');
    const series = metricSeries(long, { services: ['orders-queue'], metrics: ['queue_depth', 'queue_oldest_age_s'], from: at(long, -600), to: at(long, 30) });
    const iso = new Date(t).toISOString();
    for (const metric of ['queue_depth', 'queue_oldest_age_s']) {
      const a = single.find((x) => x.metric === metric)?.points.find((p) => p.t === iso)?.v;
      const b = series.find((x) => x.metric === metric)?.points.find((p) => p.t === iso)?.v;
      expect(a, metric).toBeDefined();
      expect(b, metric).toBe(a);
    }
    // Off the grid too (a "current" point): the same at 12:00:17 asked alone or at the end of a series.
    const off = at(alone, -3) + 17_000;
    const x = metricSeries(world(s, 'cut2'), { services: ['orders-queue'], metrics: ['queue_depth'], from: off, to: off })[0]?.points.at(-1)?.v;
    const y = metricSeries(world(s, 'cut2'), { services: ['orders-queue'], metrics: ['queue_depth'], from: off - 300 * MINUTE, to: off })[0]?.points.at(-1)?.v;
    expect(y).toBe(x);
  });

  it('integrates a day-long series in linear work', () => {
    const w = world(noJob(base({ faults: [slowConsumer({ startsAt: -1200 })] })), 'day');
    const started = performance.now();
    const series = metricSeries(w, { services: ['orders-queue'], metrics: ['queue_depth'], from: at(w, -1439), to: at(w, 0) });
    const ms = performance.now() - started;
    expect(series[0]?.points.length).toBe(1440);
    // ~1450 snapshots of 7 services; quadratic work (1440² snapshots) would take minutes.
    expect(ms).toBeLessThan(8000);
  });
});

describe('scheduled jobs', () => {
  const s = base();
  it('loads its callee only while a run is active, and every other caller of it inherits the latency', () => {
    const heavy = world(s);
    const idle = world(noJob(s));
    const db = (w: WorldState, m: number, metric: string) => value(w, m, 'orders-db', metric);
    // Before the run (-30) and after it (-10 + the ramp): the same as without the job.
    expect(db(heavy, -35, 'cpu_pct')).toBe(db(idle, -35, 'cpu_pct'));
    expect(db(heavy, -5, 'cpu_pct')).toBe(db(idle, -5, 'cpu_pct'));
    // During the run: 1500/s on top of 900/s of orders-db's own traffic → CPU past saturation, latency up.
    expect(db(heavy, -20, 'throughput_rps')).toBeGreaterThan(2 * db(idle, -20, 'throughput_rps'));
    expect(db(heavy, -20, 'cpu_pct')).toBeGreaterThan(85);
    expect(value(heavy, -20, 'orders-api', 'latency_p99_ms')).toBeGreaterThan(1.5 * value(idle, -20, 'orders-api', 'latency_p99_ms'));
    // The job's own throughput is its baseline while it runs, ~0 otherwise.
    expect(value(heavy, -20, 'orders-export', 'throughput_rps')).toBeGreaterThan(1300);
    expect(value(heavy, -35, 'orders-export', 'throughput_rps')).toBe(0);
  });

  it('writes "run started" and "run finished" at the run edges', () => {
    const w = world(s);
    const lines = logs(w, { services: ['orders-export'], from: at(w, -40), to: at(w, 0), limit: 5000 });
    const edges = lines.filter((l) => /^job orders-export run (started|finished)/.test(l.message));
    expect(edges.map((l) => [l.timestamp, l.message.split(' ').slice(0, 4).join(' ')])).toEqual([
      [new Date(at(w, -30)).toISOString(), 'job orders-export run started'],
      [new Date(at(w, -10)).toISOString(), 'job orders-export run finished'],
    ]);
    expect(lines.filter((l) => l.message.includes('batch') && Date.parse(l.timestamp) < at(w, -31))).toEqual([]);
  });

  it('repeats with everyMinutes', () => {
    const repeating = base({}, base().services.map((x) => (x.schedule ? { ...x, schedule: { startsAt: -100, everyMinutes: 30, durationMinutes: 10 } } : x)) as ScenarioInput['services']);
    const w = world(repeating);
    const running = [-95, -85, -65, -55, -35, -25, -5].map((m) => value(w, m, 'orders-export', 'throughput_rps') > 1000);
    expect(running).toEqual([true, false, true, false, true, false, true]);
  });
});

describe('latency quantiles', () => {
  it('exposes p50 and p95 where declared, ordered under p99', () => {
    const w = world(noJob(base()));
    const names = metricSeries(w, { services: ['web', 'orders-db'], from: at(w, -2), to: at(w, 0) }).map((x) => `${x.service}:${x.metric}`);
    expect(names).toEqual(expect.arrayContaining(['web:latency_p50_ms', 'web:latency_p95_ms']));
    expect(names.some((n) => n.startsWith('orders-db:latency_p50'))).toBe(false);
    for (let m = -120; m <= 0; m++) {
      const [p50, p95, p99] = ['latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms'].map((x) => value(w, m, 'web', x)) as [number, number, number];
      expect(p50).toBeLessThanOrEqual(p95);
      expect(p95).toBeLessThanOrEqual(p99);
      expect(p50).toBeGreaterThan(60);
      expect(p50).toBeLessThan(130);
    }
  });

  it('barely moves p50 under a tail fault (GC pauses) while a uniform slowdown moves every quantile', () => {
    const healthy = world(noJob(base()));
    // Heap at ~97 % of the limit: GC pauses multiply p99, requests between pauses are served as fast as ever.
    const gc = world(noJob(base({ faults: [{ service: 'orders-api', startsAt: -30, rampMinutes: 1, kind: 'heap-pressure', effects: { memory_mb: { value: 1990 } } }] })));
    const slow = world(noJob(base({ faults: [{ service: 'orders-api', startsAt: -30, rampMinutes: 1, kind: 'slow-code', effects: { latency_p99_ms: { factor: 3 } } }] })));
    const ratio = (w: WorldState, metric: string) => value(w, 0, 'orders-api', metric) / value(healthy, 0, 'orders-api', metric);
    expect(ratio(gc, 'latency_p99_ms')).toBeGreaterThan(3);
    expect(ratio(gc, 'latency_p50_ms')).toBeLessThan(1.25);
    expect(ratio(slow, 'latency_p99_ms')).toBeGreaterThan(2.5);
    expect(ratio(slow, 'latency_p50_ms')).toBeGreaterThan(2.5);
    // The caller inherits the uniform slowdown in its median, the tail mostly in its tail.
    expect(value(slow, 0, 'web', 'latency_p50_ms') / value(healthy, 0, 'web', 'latency_p50_ms')).toBeGreaterThan(value(gc, 0, 'web', 'latency_p50_ms') / value(healthy, 0, 'web', 'latency_p50_ms'));
  });
});

describe('schema', () => {
  const services = () => base().services.map((x) => ({ ...x })) as unknown as Record<string, unknown>[];
  const invalid = (mutate: (xs: Record<string, unknown>[]) => void) => {
    const xs = services();
    mutate(xs);
    return () => base({}, xs as unknown as ScenarioInput['services']);
  };
  const at = (xs: Record<string, unknown>[], name: string) => xs.find((x) => x.name === name) as Record<string, unknown>;

  it('refuses quantiles out of order, naming the field', () => {
    expect(invalid((xs) => ((at(xs, 'web').baseline as Record<string, number>).latency_p50_ms = 300))).toThrow(/services\.0\.baseline\.latency_p50_ms: latency_p50_ms \(300\) is above latency_p95_ms \(220\)/);
    expect(invalid((xs) => ((at(xs, 'web').baseline as Record<string, number>).latency_p95_ms = 500))).toThrow(/services\.0\.baseline\.latency_p95_ms: .*above latency_p99_ms/);
  });

  it('refuses a consumer that is not a service, on a service that is not a queue, or that produces to its queue', () => {
    expect(invalid((xs) => (at(xs, 'orders-queue').consumer = { service: 'nope' }))).toThrow(/services\.3\.consumer\.service: unknown service "nope"/);
    expect(invalid((xs) => (at(xs, 'orders-api').consumer = { service: 'fulfil-worker' }))).toThrow(/services\.1\.consumer: only a queue service has a consumer/);
    expect(invalid((xs) => (at(xs, 'orders-queue').consumer = { service: 'orders-api' }))).toThrow(/orders-api produces to orders-queue/);
    expect(invalid((xs) => (at(xs, 'orders-queue').consumer = { service: 'orders-db' }))).toThrow(/must be a backend or job service/);
    expect(invalid((xs) => (at(xs, 'orders-queue').consumer = { service: 'fulfil-worker', ratePerReplica: 50 }))).toThrow(/consumer\.ratePerReplica: 4 replicas × 50\/s = 200 messages\/s is below/);
  });

  it('refuses a consumer whose calls lead back to its own queue', () => {
    expect(invalid((xs) => (at(xs, 'fulfil-worker').calls = ['fulfil-db', 'orders-api']))).toThrow(/services: a consumer feeds its own queue: .*orders-queue → fulfil-worker/);
  });

  it('refuses a queue consumer without a producer', () => {
    expect(invalid((xs) => (at(xs, 'orders-api').calls = ['orders-db']))).toThrow(/services\.3\.consumer: orders-queue has a consumer but no producer/);
  });

  it('requires a schedule on a job and refuses one elsewhere', () => {
    expect(invalid((xs) => delete at(xs, 'orders-export').schedule)).toThrow(/services\.6\.schedule: a job service needs a schedule/);
    expect(invalid((xs) => (at(xs, 'orders-api').schedule = { startsAt: -10, durationMinutes: 5 }))).toThrow(/services\.1\.schedule: only a job service has a schedule/);
    expect(invalid((xs) => (at(xs, 'orders-export').schedule = { startsAt: -10, everyMinutes: 5, durationMinutes: 5 }))).toThrow(/schedule\.durationMinutes: a run must end before the next one starts/);
  });
});
