import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { applyAction, createWorld } from '../../../functions/core/world/world.ts';
import { DynamoWorldStore, MAX_WORLD_ACTIONS, MemoryWorldStore, WorldNotFound } from '../../../functions/core/world/world-store.ts';
import { allScenarios, mockDocumentClient, NOW } from './helpers.ts';

const scenario = allScenarios()[0];

describe('MemoryWorldStore', () => {
  it('round-trips a world and appends actions and incidents', async () => {
    // Prepare
    const store = new MemoryWorldStore();
    const world = createWorld(scenario, { id: 'mem-1', now: NOW });
    const { record } = applyAction(world, { kind: 'restart-service', service: scenario.services[0].name, incidentId: 'i-1' }, NOW);
    // Act
    await store.putWorld(world);
    if (record) await store.recordAction('mem-1', record);
    await store.recordIncident('mem-1', { id: 'INC-1', title: 't', service: 's', openedAt: NOW.toISOString(), rootCause: 'r', resolution: 'x', tags: [] });
    const back = await store.getWorld('mem-1');
    // Assess
    expect(back?.scenario).toEqual(world.scenario);
    expect(back?.actions).toEqual([record]);
    expect(back?.incidents.map((i) => i.id)).toEqual(['INC-1']);
    expect(await store.getWorld('other')).toBeUndefined();
    await expect(store.recordAction('other', record as never)).rejects.toThrow(WorldNotFound);
  });
});

describe('DynamoWorldStore', () => {
  const { ddb, doc } = mockDocumentClient();

  it('stores a world under WORLD#<id> / WORLD with the scenario as JSON, well under 400 KB', async () => {
    ddb.on(PutCommand).resolves({});
    await new DynamoWorldStore(doc, 'table').putWorld(createWorld(scenario, { id: 'd-1', now: NOW }));
    const input = ddb.commandCalls(PutCommand)[0].args[0].input;
    expect(input.Item).toMatchObject({ pk: 'WORLD#d-1', sk: 'WORLD', id: 'd-1', actions: [], incidents: [] });
    expect(Buffer.byteLength(JSON.stringify(input.Item))).toBeLessThan(100_000);
  });

  it('reads a world back, parsing its scenario', async () => {
    const world = createWorld(scenario, { id: 'd-1', now: NOW });
    ddb.on(GetCommand).resolves({ Item: { pk: 'WORLD#d-1', sk: 'WORLD', id: 'd-1', createdAt: world.createdAt, recoveryLagSeconds: 90, scenario: JSON.stringify(scenario), actions: [], incidents: [] } });
    expect(await new DynamoWorldStore(doc, 'table').getWorld('d-1')).toEqual(world);
  });

  it('appends an action atomically with list_append under an existence and size condition', async () => {
    ddb.on(UpdateCommand).resolves({});
    const { record } = applyAction(createWorld(scenario, { id: 'd-1', now: NOW }), { kind: 'none', service: 'x' }, NOW);
    await new DynamoWorldStore(doc, 'table').recordAction('d-1', record as never);
    const input = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(input.UpdateExpression).toContain('list_append(if_not_exists(#list, :empty), :item)');
    expect(input.ConditionExpression).toContain('attribute_exists(pk)');
    expect(input.ExpressionAttributeValues?.[':max']).toBe(MAX_WORLD_ACTIONS);
  });

  it('adds the length the caller read to the condition (an absent list counts as empty only for a guard of 0)', async () => {
    ddb.on(UpdateCommand).resolves({});
    const { record } = applyAction(createWorld(scenario, { id: 'd-1', now: NOW }), { kind: 'none', service: 'x' }, NOW);
    const store = new DynamoWorldStore(doc, 'table');
    await store.recordAction('d-1', record as never, { expectedLength: 0 });
    await store.recordAction('d-1', record as never, { expectedLength: 3 });
    const [empty, three] = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(empty.ConditionExpression).toBe('attribute_exists(pk) AND (attribute_not_exists(#list) OR size(#list) < :max) AND (attribute_not_exists(#list) OR size(#list) = :expected)');
    expect(three.ConditionExpression).toBe('attribute_exists(pk) AND (attribute_not_exists(#list) OR size(#list) < :max) AND size(#list) = :expected');
    expect(three.ExpressionAttributeValues).toMatchObject({ ':expected': 3, ':max': MAX_WORLD_ACTIONS });
  });
});
