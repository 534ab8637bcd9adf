import { describe, expect, it } from 'vitest';
import { snapshotCache, snapshotAt } from '../../../functions/core/world/dynamics.ts';
import { findScenario } from '../../../functions/core/world/scenario.ts';
import { applyAction, createWorld, type WorldState } from '../../../functions/core/world/world.ts';
import { MINUTE, NOW } from './helpers.ts';

// The cache is module state shared by this file's tests (vitest gives each file a module instance of its own),
// so each test says what it needs of it rather than relying on the order of the tests.
describe('unit: the snapshot cache', () => {
  const scenario = findScenario('db-pool-exhaustion');
  const services = scenario.services.length;
  const t0 = NOW.getTime();
  /** Computes minutes of `world` before `t0` (from 1000 minutes back, older and older) while `more()` says so. */
  const computeWhile = (world: WorldState, more: () => boolean): number => {
    let k = 1000;
    while (more()) snapshotAt(world, t0 - k++ * MINUTE);
    return k;
  };
  const full = () => snapshotCache.serviceStates() + services > snapshotCache.limit;

  it('never serves a snapshot of the world before an action after it', () => {
    const before = createWorld(scenario, { id: 'cache-a', now: NOW });
    const cause = scenario.expect.rootCause!;
    const { state: after } = applyAction(before, { kind: 'rollback-change', service: cause.service, target: cause.changeId }, NOW);
    const t = t0 + 10 * MINUTE;
    const old = snapshotAt(before, t);
    expect(snapshotAt(after, t)).not.toBe(old);
    expect(snapshotAt(after, t).services.get(cause.service)?.faults).toEqual([]);
    expect(snapshotAt(createWorld(scenario, { id: 'cache-a', now: NOW }), t)).toBe(old); // the same world, read again
  });

  it('is bounded by service states, and evicts the least recently used world state first', () => {
    const a = createWorld(scenario, { id: 'cache-b', now: NOW });
    const b = createWorld(scenario, { id: 'cache-c', now: NOW });
    snapshotAt(a, t0);
    snapshotAt(a, t0 + MINUTE);
    snapshotAt(b, t0);
    snapshotAt(a, t0); // read from the cache: a is now the more recently used
    computeWhile(createWorld(scenario, { id: 'cache-d', now: NOW }), () => snapshotCache.times(b).length > 0);
    expect(snapshotCache.serviceStates()).toBeLessThanOrEqual(snapshotCache.limit);
    expect(snapshotCache.serviceStates()).toBeGreaterThan(snapshotCache.limit - services);
    expect(snapshotCache.times(a)).toEqual([t0, t0 + MINUTE]);
  });

  it('alone in the cache, a world state loses its oldest minutes first', () => {
    const c = createWorld(scenario, { id: 'cache-e', now: NOW });
    snapshotAt(c, t0);
    const alone = () => snapshotCache.worldStates() === 1 && snapshotCache.times(c).length > 0;
    const k = computeWhile(c, () => !alone() || !full());
    expect(snapshotCache.times(c)[0]).toBe(t0);
    for (let j = 0; j < 5; j++) snapshotAt(c, t0 - (k + j) * MINUTE);
    const times = snapshotCache.times(c);
    expect(alone()).toBe(true);
    expect(snapshotCache.serviceStates()).toBe(times.length * services);
    expect(snapshotCache.serviceStates()).toBeLessThanOrEqual(snapshotCache.limit);
    // Five minutes in, five out: t0 and the four oldest of the fill.
    expect(times[0]).toBe(t0 - 1004 * MINUTE);
    expect(times.at(-1)).toBe(t0 - (k + 4) * MINUTE);
  });
});
