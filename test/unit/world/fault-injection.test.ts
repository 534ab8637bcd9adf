/**
 * Faults injected into a running world (issue 12 §4): the world store's conditional scenario edits (added at the world's
 * current minute, ended there) on dynalite and in memory, under concurrent writers; the five presets moving the metrics
 * an anomaly detector reads; validation naming the problem; the world model with a fault that starts at an arbitrary
 * minute and one that ends early; and the cost of a window long after the world's creation.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { detectSeries } from '../../../functions/core/analysis/detector.ts';
import { metricSeries, snapshotAt } from '../../../functions/core/world/dynamics.ts';
import { ensureLiveWorld, FaultInvalid, faultMaker, faultViews, LIVE_WORLD_ID, liveScenarioFile, nextFaultId } from '../../../functions/core/world/faults.ts';
import { defaultService, PRESET_NAMES, PresetNotApplicable, presetFault } from '../../../functions/core/world/presets.ts';
import { loadScenario, parseScenario, ScenarioInvalid } from '../../../functions/core/world/scenario.ts';
import { applyAction, createWorld, type WorldState } from '../../../functions/core/world/world.ts';
import { FaultNotFound, MAX_SCENARIO_EDIT_ATTEMPTS, MemoryWorldStore, ScenarioEditContended, WorldNotFound, type WorldStore, worldMinute } from '../../../functions/core/world/world-store.ts';
import { simulatedTools } from '../../../functions/core/tools/simulated.ts';
import { worldStores } from './world-stores.ts';

const TABLE = 'fault-injection';
const MINUTE = 60_000;
/** The live world's creation, and an injection three days and a few seconds later. */
const CREATED = new Date('2026-11-02T09:00:00.000Z');
const LATER = new Date(CREATED.getTime() + 3 * 1440 * MINUTE + 17_000);
const after = (base: Date, minutes: number) => new Date(base.getTime() + minutes * MINUTE);

const { stores } = worldStores(TABLE);

let seq = 0;
/** A store holding a fresh copy of the live world under its own id. */
const liveIn = async (newStore: () => WorldStore) => {
  const store = newStore();
  const id = `live-${++seq}`;
  await store.putWorld(createWorld(loadScenario(liveScenarioFile()), { id, now: CREATED }));
  return { store, id };
};

describe.each(stores)('unit: %s adds and ends faults in a running world', (_name, newStore) => {
  it('adds a preset at the world’s current minute, with its change, and ends it there; the log says who', async () => {
    // Prepare
    const { store, id } = await liveIn(newStore);
    // Act
    const maker = faultMaker({ preset: 'error-rate', by: 'ana' });
    const added = await store.addFault(id, maker.make, LATER);
    const ended = await store.endFault(id, 'fault-1', 'bo', after(LATER, 7));
    // Assess
    const minute = (LATER.getTime() - CREATED.getTime()) / MINUTE;
    expect(added.fault).toMatchObject({ id: 'fault-1', service: 'checkout-service', kind: 'exception-after-deploy', startsAt: minute, causedBy: maker.info().changes[0] });
    expect(added.world.scenario.changes.map((c) => [c.id, c.deployedAt])).toEqual([[maker.info().changes[0], minute]]);
    expect(added.world.scenario.expect).toEqual({ rootCause: { service: 'checkout-service', changeId: maker.info().changes[0], category: 'bad-deploy' }, mitigation: { kind: 'rollback-change', service: 'checkout-service', target: maker.info().changes[0] } });
    expect(ended).toMatchObject({ endedAt: after(LATER, 7).toISOString(), alreadyEnded: false });
    const world = (await store.getWorld(id))!;
    expect(world.scenario.faults[0]?.endsAt).toBe(minute + 7);
    expect(world.scenarioVersion).toBe(2);
    expect(world.faultLog).toEqual([
      { fault: 'fault-1', event: 'injected', at: LATER.toISOString(), by: 'ana', preset: 'error-rate' },
      { fault: 'fault-1', event: 'ended', at: after(LATER, 7).toISOString(), by: 'bo' },
    ]);
  });

  it('ending an ended fault writes nothing and answers the end it has; an unknown id or world is named', async () => {
    const { store, id } = await liveIn(newStore);
    await store.addFault(id, faultMaker({ preset: 'latency-spike', by: 'x' }).make, LATER);
    await store.endFault(id, 'fault-1', 'x', after(LATER, 2));
    const again = await store.endFault(id, 'fault-1', 'y', after(LATER, 9));
    expect(again).toMatchObject({ alreadyEnded: true, endedAt: after(LATER, 2).toISOString() });
    expect((await store.getWorld(id))!.scenarioVersion).toBe(2);
    await expect(store.endFault(id, 'fault-9', 'x', LATER)).rejects.toThrow(new FaultNotFound(id, 'fault-9', ['fault-1']));
    await expect(store.endFault('no-such-world', 'fault-1', 'x', LATER)).rejects.toThrow(WorldNotFound);
    await expect(store.addFault('no-such-world', faultMaker({ preset: 'error-rate', by: 'x' }).make, LATER)).rejects.toThrow(WorldNotFound);
  });

  it('loses no concurrent injection: two at once both land, with distinct ids', async () => {
    const { store, id } = await liveIn(newStore);
    const results = await Promise.all([store.addFault(id, faultMaker({ preset: 'error-rate', by: 'a' }).make, LATER), store.addFault(id, faultMaker({ preset: 'slow-database', by: 'b' }).make, LATER)]);
    expect(new Set(results.map((r) => r.fault.id))).toEqual(new Set(['fault-1', 'fault-2']));
    const world = (await store.getWorld(id))!;
    expect(world.scenario.faults.map((f) => f.kind).sort()).toEqual(['database-slowdown', 'exception-after-deploy']);
    expect(world.faultLog?.map((e) => e.by).sort()).toEqual(['a', 'b']);
  });

  it('loses no action or injection that lands between its read and its write: it retries on a fresh read', async () => {
    // Prepare: right after the edit's first read, an action (another attribute) and another injection (the scenario) land
    const { store, id } = await liveIn(newStore);
    const action = applyAction((await store.getWorld(id))!, { kind: 'restart-service', service: 'catalog-service', incidentId: 'inc-1' }, LATER).record!;
    const interfering = interfere(store, 1, async () => {
      await store.recordAction(id, action);
      await store.addFault(id, faultMaker({ preset: 'memory-leak', by: 'other' }).make, LATER);
    });
    let attempts = 0;
    const mine = faultMaker({ preset: 'dependency-down', by: 'me' });
    // Act
    const added = await store.addFault(id, (world, minute) => (attempts++, mine.make(world, minute)), LATER);
    // Assess: the lost first attempt was made again on the world the others wrote, and all three are kept
    expect(interfering.count()).toBe(1);
    expect(attempts).toBe(2);
    expect(added.fault.id).toBe('fault-2');
    const world = (await store.getWorld(id))!;
    expect(world.actions).toEqual([action]);
    expect(world.scenario.faults.map((f) => [f.id, f.kind])).toEqual([
      ['fault-1', 'memory-leak'],
      ['fault-2', 'third-party-outage'],
    ]);
    expect(world.faultLog?.map((e) => e.by)).toEqual(['other', 'me']);
  });

  it('ends a fault under a concurrent injection without losing either', async () => {
    const { store, id } = await liveIn(newStore);
    await store.addFault(id, faultMaker({ preset: 'error-rate', by: 'a' }).make, LATER);
    interfere(store, 1, async () => void (await store.addFault(id, faultMaker({ preset: 'slow-database', by: 'b' }).make, LATER)));
    const ended = await store.endFault(id, 'fault-1', 'c', after(LATER, 3));
    expect(ended.alreadyEnded).toBe(false);
    const world = (await store.getWorld(id))!;
    expect(world.scenario.faults.map((f) => [f.id, f.endsAt !== undefined])).toEqual([
      ['fault-1', true],
      ['fault-2', false],
    ]);
  });

  it('gives up with ScenarioEditContended when every attempt loses, having written nothing of its own', async () => {
    const { store, id } = await liveIn(newStore);
    const interfering = interfere(store, Infinity, async () => void (await store.addFault(id, faultMaker({ preset: 'latency-spike', by: 'other' }).make, LATER)));
    await expect(store.addFault(id, faultMaker({ preset: 'error-rate', by: 'me' }).make, LATER)).rejects.toThrow(ScenarioEditContended);
    expect(interfering.count()).toBe(MAX_SCENARIO_EDIT_ATTEMPTS);
    const world = (await store.getWorld(id))!;
    expect(world.faultLog?.map((e) => e.by)).toEqual(Array(MAX_SCENARIO_EDIT_ATTEMPTS).fill('other'));
  });
});

/**
 * Makes `store` run `between` after each of its next `times` reads of a world (not during `between` itself): another
 * writer landing between a read and the write that depends on it.
 */
const interfere = (store: WorldStore, times: number, between: () => Promise<void>): { count: () => number } => {
  const read = store.getWorld.bind(store);
  let count = 0;
  let busy = false;
  store.getWorld = async (id: string) => {
    const world = await read(id);
    if (count < times && !busy) {
      count += 1;
      busy = true;
      try {
        await between();
      } finally {
        busy = false;
      }
    }
    return world;
  };
  return { count: () => count };
};

describe('unit: the live world', () => {
  it('is created once from events/worlds/live.json and then left running as it is', async () => {
    const store = new MemoryWorldStore();
    const first = await ensureLiveWorld(store, CREATED);
    expect(first.created).toBe(true);
    expect(first.world.id).toBe(LIVE_WORLD_ID);
    expect(first.world.scenario.faults).toEqual([]);
    await store.addFault(LIVE_WORLD_ID, faultMaker({ preset: 'error-rate', by: 'x' }).make, LATER);
    const second = await ensureLiveWorld(store, after(LATER, 60));
    expect(second.created).toBe(false);
    expect(second.world.createdAt).toBe(first.world.createdAt);
    expect(second.world.scenario.faults).toHaveLength(1);
  });

  it('answers the telemetry port’s topology for environment live', async () => {
    const store = new MemoryWorldStore();
    await ensureLiveWorld(store, CREATED);
    const nodes = await simulatedTools(store, { clock: () => LATER }).telemetry.getTopology({ environment: LIVE_WORLD_ID });
    expect(nodes.map((n) => n.name).sort()).toEqual(['card-psp', 'catalog-db', 'catalog-service', 'checkout-service', 'inventory-db', 'inventory-service', 'payment-service', 'web-storefront']);
  });
});

/** The mean of a metric over [from, to) minutes around an instant, one value per minute. */
const mean = (world: WorldState, service: string, metric: string, at: Date, from: number, to: number): number => {
  let sum = 0;
  for (let m = from; m < to; m++) sum += snapshotAt(world, at.getTime() + m * MINUTE).services.get(service)?.values[metric] ?? Number.NaN;
  return sum / (to - from);
};

describe('unit: the five presets', () => {
  it.each(PRESET_NAMES.map((p) => [p]))('%s moves the metrics it names: the detector pages after the injection, never before', async (preset) => {
    // Prepare: the live world three days old, a preset injected on its default service
    const store = new MemoryWorldStore();
    await ensureLiveWorld(store, CREATED);
    const maker = faultMaker({ preset, by: 'test' });
    await store.addFault(LIVE_WORLD_ID, maker.make, LATER);
    const world = (await store.getWorld(LIVE_WORLD_ID))!;
    const [first] = maker.info().watch;
    // Act: two hours before the injection and twenty minutes after, as the telemetry port serves them
    const tools = simulatedTools(store, { clock: () => after(LATER, 20) });
    const [series] = await tools.telemetry.queryMetrics({ environment: LIVE_WORLD_ID, services: [first!.service], metrics: [first!.metric as never], from: after(LATER, -120).toISOString(), to: after(LATER, 20).toISOString() });
    const values = series!.points.map((p) => p.v);
    const injectedAt = series!.points.findIndex((p) => Date.parse(p.t) > LATER.getTime());
    const detection = detectSeries(values);
    // Assess: the watched metric moves well beyond its healthy level, and the detector pages on it only after
    const before = mean(world, first!.service, first!.metric, LATER, -60, 0);
    const during = mean(world, first!.service, first!.metric, LATER, 5, 15);
    expect(during, `${first!.service} ${first!.metric}`).toBeGreaterThan(before * 1.25);
    expect(detection.incidents.length, `${preset}: pages ${JSON.stringify(detection.incidents)}`).toBeGreaterThan(0);
    for (const page of detection.incidents) expect(page.startIndex).toBeGreaterThanOrEqual(injectedAt);
  });

  it.each(PRESET_NAMES.map((p) => [p]))('%s is ended in the world by the mitigation its answer key names', async (preset) => {
    const store = new MemoryWorldStore();
    await ensureLiveWorld(store, CREATED);
    const maker = faultMaker({ preset, by: 'test' });
    const { world } = await store.addFault(LIVE_WORLD_ID, maker.make, LATER);
    const mitigation = world.scenario.expect.mitigation;
    const fixed = applyAction(world, { kind: mitigation.kind, service: mitigation.service ?? maker.info().service, ...(mitigation.target ? { target: mitigation.target } : {}), incidentId: 'inc-1' }, after(LATER, 6));
    expect(fixed.result.status, fixed.result.detail).toBe('succeeded');
    const [view] = faultViews(fixed.state, after(LATER, 8));
    expect(view).toMatchObject({ id: 'fault-1', active: false, mitigatedAt: after(LATER, 6).toISOString() });
    expect(faultViews(world, after(LATER, 8))[0]?.active).toBe(true);
    const [watch] = maker.info().watch;
    const healthy = mean(fixed.state, watch!.service, watch!.metric, LATER, -30, 0);
    const recovered = mean(fixed.state, watch!.service, watch!.metric, LATER, 12, 20);
    expect(recovered).toBeLessThan(healthy * 1.25);
  });

  it('default to a sensible service per type in the live world', () => {
    const live = loadScenario(liveScenarioFile());
    expect(Object.fromEntries(PRESET_NAMES.map((p) => [p, defaultService(p, live)]))).toEqual({
      'latency-spike': 'checkout-service',
      'error-rate': 'checkout-service',
      'slow-database': 'inventory-db',
      'memory-leak': 'catalog-service',
      'dependency-down': 'card-psp',
    });
  });

  it('refuse a service they do not fit, naming those they do', () => {
    const live = loadScenario(liveScenarioFile());
    const at = { worldId: 'live', scenario: live, minute: 10, faultId: 'fault-1' };
    expect(() => presetFault('slow-database', { ...at, service: 'checkout-service' })).toThrow(new PresetNotApplicable('preset slow-database needs a database: checkout-service is a backend (services it fits: inventory-db, catalog-db)'));
    expect(() => presetFault('error-rate', { ...at, service: 'card-psp' })).toThrow(/needs a service that runs our code .*card-psp is a external/);
    expect(() => presetFault('dependency-down', { ...at, service: 'web-storefront' })).toThrow(/needs a service something calls/);
    expect(() => presetFault('error-rate', { ...at, service: 'nope' })).toThrow(/world live has no service "nope" \(its services: web-storefront, checkout-service/);
  });

  it('replay the same fault for the same world and id, and differ across ids', () => {
    const live = loadScenario(liveScenarioFile());
    const at = { worldId: 'live', scenario: live, minute: 10, service: 'checkout-service' };
    expect(presetFault('error-rate', { ...at, faultId: 'fault-1' })).toEqual(presetFault('error-rate', { ...at, faultId: 'fault-1' }));
    expect(presetFault('error-rate', { ...at, faultId: 'fault-1' }).changes[0]?.id).not.toBe(presetFault('error-rate', { ...at, faultId: 'fault-2' }).changes[0]?.id);
  });
});

describe('unit: a fault written by hand', () => {
  const store = new MemoryWorldStore();
  beforeAll(async () => {
    await ensureLiveWorld(store, CREATED);
  });
  const inject = (fault: Record<string, unknown>, service?: string) => store.addFault(LIVE_WORLD_ID, faultMaker({ fault, service, by: 'hand' }).make, LATER);

  it('starts now; its endsAt counts from now', async () => {
    const { fault } = await inject({ id: 'hand-1', service: 'payment-service', kind: 'card-timeouts', effects: { latency_p99_ms: { factor: 4 } }, endsAt: 15 });
    const minute = worldMinute((await store.getWorld(LIVE_WORLD_ID))!, LATER);
    expect(fault).toMatchObject({ id: 'hand-1', startsAt: minute, endsAt: minute + 15, rampMinutes: 2 });
  });

  it('names each problem with a path under fault.', async () => {
    await expect(inject({ service: 'payment-service', kind: 'x', startsAt: 3 })).rejects.toThrow(new FaultInvalid(["fault.startsAt: an injected fault starts now (the world's current minute): leave startsAt out"]));
    await expect(inject({ service: 'payment-service', kind: 'x', effects: { latency_p99_ms: { factor: 2, add: 3 } } })).rejects.toThrow(/fault\.effects\.latency_p99_ms: exactly one of factor, add, value, perMinute/);
    await expect(inject({ service: 'payment-service', kind: 'x', effects: { queue_depth: { add: 3 } } })).rejects.toThrow(ScenarioInvalid);
    await expect(inject({ service: 'payment-service', kind: 'x', effects: { queue_depth: { add: 3 } } })).rejects.toThrow(/fault\.effects\.queue_depth: not a metric a fault can move/);
    await expect(inject({ service: 'payment-service', kind: 'x', causedBy: 'CHG-404' })).rejects.toThrow(/fault\.causedBy: unknown change "CHG-404"/);
    await expect(inject({ id: 'hand-1', service: 'payment-service', kind: 'x' })).rejects.toThrow(/fault\.id: world live already has a fault "hand-1"/);
    await expect(inject({ kind: 'x' }, 'payment-service')).resolves.toMatchObject({ fault: { service: 'payment-service', id: 'fault-1' } });
  });

  it('the scenario format refuses two faults with one id', () => {
    const live = loadScenario(liveScenarioFile());
    const fault = { id: 'f-1', service: 'payment-service', startsAt: 0, kind: 'x' };
    expect(() => parseScenario({ ...live, faults: [fault, fault], expect: { rootCause: { service: 'payment-service', category: 'unknown' }, mitigation: { kind: 'none' } } })).toThrow(/faults\.1\.id: duplicate fault id "f-1"/);
    expect(nextFaultId({ ...live, faults: [{ ...parseScenario({ ...live, faults: [{ ...fault, id: 'fault-7' }], expect: { rootCause: { service: 'payment-service', category: 'unknown' }, mitigation: { kind: 'none' } } }).faults[0]! }] })).toBe('fault-8');
  });
});

describe('unit: the world model with faults injected late', () => {
  it('injects at the world’s clock: a world the twin advanced (compressed waits) gets the fault at its own now', async () => {
    const store = new MemoryWorldStore();
    await ensureLiveWorld(store, CREATED);
    await store.advanceClock(LIVE_WORLD_ID, 7 * MINUTE);
    const { fault } = await store.addFault(LIVE_WORLD_ID, faultMaker({ preset: 'error-rate', by: 'x' }).make, LATER);
    expect(fault.startsAt).toBe((LATER.getTime() - CREATED.getTime()) / MINUTE + 7);
  });

  it('leaves the past as it was: the minutes before an injection are the same as in the world without it', async () => {
    const store = new MemoryWorldStore();
    const { world: before } = await ensureLiveWorld(store, CREATED);
    const { world } = await store.addFault(LIVE_WORLD_ID, faultMaker({ preset: 'error-rate', by: 'x' }).make, LATER);
    const window = { services: before.scenario.services.map((s) => s.name), from: after(LATER, -90).getTime(), to: LATER.getTime() };
    expect(metricSeries(world, window)).toEqual(metricSeries(before, window));
  });

  it('recovers after an early end: a fault started at an arbitrary minute and ended five minutes later', async () => {
    const store = new MemoryWorldStore();
    await ensureLiveWorld(store, CREATED);
    const odd = new Date(CREATED.getTime() + 9_876 * MINUTE + 41_300);
    await store.addFault(LIVE_WORLD_ID, faultMaker({ preset: 'dependency-down', by: 'x' }).make, odd);
    await store.endFault(LIVE_WORLD_ID, 'fault-1', 'x', after(odd, 5));
    const world = (await store.getWorld(LIVE_WORLD_ID))!;
    const errors = (m: number) => mean(world, 'payment-service', 'error_rate_pct', odd, m, m + 1);
    expect(errors(-2)).toBeLessThan(2);
    expect(errors(3)).toBeGreaterThan(20);
    expect(errors(10)).toBeLessThan(2);
  });

  it('computes an hour of every service a year after creation as cheaply as one at creation', () => {
    const live = loadScenario(liveScenarioFile());
    const world = createWorld(live, { id: 'cost-check', now: CREATED });
    const hour = (at: number) => ({ services: live.services.map((s) => s.name), from: at - 60 * MINUTE, to: at });
    const time = (at: number) => {
      const t0 = performance.now();
      metricSeries(world, hour(at));
      return performance.now() - t0;
    };
    time(CREATED.getTime() + 120 * MINUTE); // warm up
    const early = time(CREATED.getTime() + 240 * MINUTE);
    const late = time(CREATED.getTime() + 365 * 1440 * MINUTE);
    // Nothing is replayed from the creation: the cost is the window's, not the world's age.
    expect(late).toBeLessThan(Math.max(50, early * 5));
  });
});
