/**
 * Optimistic concurrency of the world store: an append guarded by the length the caller read lands only if the
 * world is still as read. Run against DynamoWorldStore on dynalite (the real condition expressions) and against
 * MemoryWorldStore (which must behave the same, since unit tests of the tools run on it).
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import type { PastIncident } from '../../../functions/core/tools/ports.ts';
import { applyAction, createWorld, type WorldAction } from '../../../functions/core/world/world.ts';
import { DynamoWorldStore, MAX_WORLD_ACTIONS, WORLD_SK, WorldChanged, WorldFull, WorldNotFound, worldPk } from '../../../functions/core/world/world-store.ts';
import { allScenarios, NOW } from './helpers.ts';
import { worldStores } from './world-stores.ts';

const TABLE = 'world-store-race';
const scenario = allScenarios()[0];
const service = scenario.services[0].name;
const incident = (id: string): PastIncident => ({ id, title: 't', service, openedAt: NOW.toISOString(), rootCause: 'r', resolution: 'x', tags: [] });

const { stores, doc } = worldStores(TABLE);

let seq = 0;

describe.each(stores)('unit: %s appends under optimistic concurrency', (_name, newStore) => {
  const seeded = async () => {
    const store = newStore();
    const world = createWorld(scenario, { id: `race-${++seq}`, now: NOW });
    await store.putWorld(world);
    return { store, world };
  };

  it('two recorders of one action, interleaved (both read, then both append): the world holds it once', async () => {
    // Prepare: both read the world before either appends, and both decide the action is not applied yet
    const { store, world } = await seeded();
    const request = { kind: 'restart-service' as const, service, incidentId: 'inc-1' };
    const readA = (await store.getWorld(world.id))!;
    const readB = (await store.getWorld(world.id))!;
    const a = applyAction(readA, request, NOW).record!;
    const b = applyAction(readB, request, NOW).record!;
    // Act
    await store.recordAction(world.id, a, { expectedLength: readA.actions.length });
    const lost = store.recordAction(world.id, b, { expectedLength: readB.actions.length });
    // Assess: B lost the race, and deciding again on a fresh read finds the action applied
    await expect(lost).rejects.toThrow(WorldChanged);
    await expect(lost).rejects.toThrow(`world ${world.id} changed since it was read: it holds 1 actions, not the 0 read; nothing was written`);
    const again = applyAction((await store.getWorld(world.id))!, request, NOW);
    expect(again.record).toBeUndefined();
    expect(again.result.detail).toMatch(/^already applied at /);
    expect((await store.getWorld(world.id))!.actions).toEqual([a]);
  });

  it('of many guarded appends at once on the same read, exactly one lands', async () => {
    const { store, world } = await seeded();
    const records = Array.from({ length: 8 }, (_, i) => applyAction(world, { kind: 'restart-service', service, incidentId: `inc-${i}` }, NOW).record!);
    const outcomes = await Promise.allSettled(records.map((r) => store.recordAction(world.id, r, { expectedLength: 0 })));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason)).toEqual(Array(7).fill(expect.any(WorldChanged)));
    expect((await store.getWorld(world.id))!.actions).toHaveLength(1);
  });

  it('guards recorded incidents the same way, and an unguarded append still appends', async () => {
    const { store, world } = await seeded();
    await store.recordIncident(world.id, incident('INC-1'), { expectedLength: 0 });
    await expect(store.recordIncident(world.id, incident('INC-1'), { expectedLength: 0 })).rejects.toThrow(WorldChanged);
    await store.recordIncident(world.id, incident('INC-2'), { expectedLength: 1 });
    await store.recordIncident(world.id, incident('INC-3'));
    expect((await store.getWorld(world.id))!.incidents.map((i) => i.id)).toEqual(['INC-1', 'INC-2', 'INC-3']);
  });

  it('replaces a recorded incident in place only while the history is as read and the entry is that incident', async () => {
    const { store, world } = await seeded();
    await store.recordIncident(world.id, incident('INC-1'));
    await store.recordIncident(world.id, incident('INC-2'));
    const corrected = { ...incident('INC-1'), rootCause: 'what people found', tags: ['people'] };
    await expect(store.replaceIncident(world.id, 0, corrected, { expectedLength: 1 })).rejects.toThrow(WorldChanged);
    await expect(store.replaceIncident(world.id, 1, corrected, { expectedLength: 2 })).rejects.toThrow(WorldChanged);
    await expect(store.replaceIncident(world.id, 1, corrected, { expectedLength: 2 })).rejects.toThrow(/holds incident INC-2 at index 1, not INC-1/);
    await expect(store.replaceIncident(world.id, 5, corrected, { expectedLength: 2 })).rejects.toThrow(/no incident at index 5 \(its history holds 2\)/);
    await expect(store.replaceIncident('no-such-world', 0, corrected, { expectedLength: 2 })).rejects.toThrow(WorldNotFound);
    expect((await store.getWorld(world.id))!.incidents.map((i) => i.rootCause)).toEqual([incident('INC-1').rootCause, incident('INC-2').rootCause]);
    await store.replaceIncident(world.id, 0, corrected, { expectedLength: 2 });
    expect((await store.getWorld(world.id))!.incidents).toEqual([corrected, incident('INC-2')]);
  });

  it('keeps WorldNotFound and WorldFull under a guard', async () => {
    const { store, world } = await seeded();
    const record = applyAction(world, { kind: 'none', service, incidentId: 'inc-1' }, NOW).record as WorldAction;
    await expect(store.recordAction('no-such-world', record, { expectedLength: 0 })).rejects.toThrow(WorldNotFound);
    await store.putWorld({ ...world, actions: Array(MAX_WORLD_ACTIONS).fill(record) });
    await expect(store.recordAction(world.id, record, { expectedLength: MAX_WORLD_ACTIONS })).rejects.toThrow(WorldFull);
    // A stale reader of a full world first learns it is stale; on a fresh read it learns the world is full.
    await expect(store.recordAction(world.id, record, { expectedLength: 3 })).rejects.toThrow(WorldChanged);
    await expect(store.recordAction(world.id, record)).rejects.toThrow(WorldFull);
  });
});

describe('unit: WorldChanged', () => {
  it('says the world was replaced, not that it holds N of the N read, when the length read is still the length', () => {
    expect(new WorldChanged('w-1', 'actions', 3, 3).message).toBe('world w-1 was replaced while appending to its actions; nothing was written');
    expect(new WorldChanged('w-1', 'actions', undefined, 3).message).toBe('world w-1 was replaced while appending to its actions; nothing was written');
    expect(new WorldChanged('w-1', 'incidents', 2, 3).message).toBe('world w-1 changed since it was read: it holds 3 incidents, not the 2 read; nothing was written');
  });
});

describe('unit: DynamoWorldStore guard on a world item without an actions attribute', () => {
  it('treats the missing list as empty: a guard of 0 appends once, a second guard of 0 loses', async () => {
    const world = createWorld(scenario, { id: `race-${++seq}`, now: NOW });
    const store = new DynamoWorldStore(doc(), TABLE);
    await store.putWorld(world);
    // An item written before the lists were always stored: no `actions`, no `incidents`.
    const { Item } = await doc().send(new GetCommand({ TableName: TABLE, Key: { pk: worldPk(world.id), sk: WORLD_SK } }));
    const { actions: _a, incidents: _i, ...bare } = Item!;
    await doc().send(new PutCommand({ TableName: TABLE, Item: bare }));
    expect((await store.getWorld(world.id))!.actions).toEqual([]);
    const record = applyAction(world, { kind: 'none', service, incidentId: 'inc-1' }, NOW).record as WorldAction;
    await store.recordAction(world.id, record, { expectedLength: 0 });
    await expect(store.recordAction(world.id, record, { expectedLength: 0 })).rejects.toThrow(WorldChanged);
    expect((await store.getWorld(world.id))!.actions).toEqual([record]);
  });
});
