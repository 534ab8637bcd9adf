/**
 * The world's clock: the laptop twin advances a world's clock by the waits it compresses, and the simulated tools
 * then answer up to the world's now (wall clock + advance) with minutes the world model computes — the noise and a
 * mitigation's ramp go on as if the time had passed. Nothing advances it on AWS: a world without an advance
 * answers exactly as before.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { simulatedTools } from '../../../functions/core/tools/simulated.ts';
import { findScenario } from '../../../functions/core/world/scenario.ts';
import { createWorld, InvalidClockAdvance, worldNow } from '../../../functions/core/world/world.ts';
import { DynamoWorldStore, MemoryWorldStore, WorldNotFound } from '../../../functions/core/world/world-store.ts';
import { waitSecondsOf } from '../../../lib/local/step-functions.ts';
import { mockDocumentClient } from './helpers.ts';

const NOW = new Date('2026-03-14T12:30:00.000Z');
const scenario = findScenario('error-rate');

describe('world clock', () => {
  it('is the wall clock plus the advances, which add up', async () => {
    const store = new MemoryWorldStore();
    await store.putWorld(createWorld(scenario, { id: 'c-1', now: NOW }));
    expect(worldNow((await store.getWorld('c-1'))!, NOW.getTime())).toBe(NOW.getTime());
    await store.advanceClock('c-1', 60_000);
    await store.advanceClock('c-1', 59_999);
    expect((await store.getWorld('c-1'))?.clockAdvanceMs).toBe(119_999);
    await expect(store.advanceClock('c-1', -1)).rejects.toThrow(InvalidClockAdvance);
    await expect(store.advanceClock('c-1', 1.5)).rejects.toThrow(InvalidClockAdvance);
    await expect(store.advanceClock('nope', 1)).rejects.toThrow(WorldNotFound);
  });

  it('lets the simulated tools answer the minutes it advanced, computed by the world model, and stamps actions with it', async () => {
    // Prepare: the fault is live; the bad deploy is rolled back at 12:30 (wall = world)
    const store = new MemoryWorldStore();
    await store.putWorld(createWorld(scenario, { id: 'c-2', now: NOW, recoveryLagSeconds: 90 }));
    const tools = simulatedTools(store, { clock: () => NOW });
    const scope = { environment: 'c-2' };
    await tools.actions.execute({ ...scope, incidentId: 'i-1', action: { kind: 'rollback-change', service: 'order-service', target: 'CHG-7731', params: {}, reversible: true, risk: 'low', rationale: '' } as never });
    const ask = () => tools.telemetry.queryMetrics({ ...scope, from: '2026-03-14T12:29:00.000Z', to: '2026-03-14T12:40:00.000Z', services: ['order-service'], metrics: ['error_rate_pct'] });
    // Act: no advance → nothing after the wall clock; then the twin skips a 5-minute wait
    const before = (await ask())[0]!.points;
    await store.advanceClock('c-2', 5 * 60_000);
    const after = (await ask())[0]!.points;
    // Assess: the answer now reaches 12:35, the minutes after the ramp are back near the 0.2 % baseline
    expect(before.at(-1)?.t).toBe('2026-03-14T12:30:00.000Z');
    expect(before.at(-1)!.v).toBeGreaterThan(20);
    expect(after.at(-1)?.t).toBe('2026-03-14T12:35:00.000Z');
    expect(after.slice(-3).every((p) => p.v < 1)).toBe(true);
    // an action after the advance is stamped on the world's clock (a rollback after 12:35 in world time)
    await tools.actions.execute({ ...scope, incidentId: 'i-1', action: { kind: 'restart-service', service: 'order-service', params: {}, reversible: false, risk: 'low', rationale: '' } as never });
    expect((await store.getWorld('c-2'))?.actions.at(-1)?.at).toBe('2026-03-14T12:35:00.000Z');
  });
});

describe('DynamoWorldStore.advanceClock', () => {
  const { ddb, doc } = mockDocumentClient();

  it('adds atomically to clockAdvanceMs on an existing world, and reads it back', async () => {
    ddb.on(UpdateCommand).resolves({});
    await new DynamoWorldStore(doc, 'table').advanceClock('d-1', 60_000);
    expect(ddb.commandCalls(UpdateCommand)[0]!.args[0].input).toMatchObject({ Key: { pk: 'WORLD#d-1', sk: 'WORLD' }, UpdateExpression: 'ADD clockAdvanceMs :ms', ConditionExpression: 'attribute_exists(pk)', ExpressionAttributeValues: { ':ms': 60_000 } });
    ddb.on(GetCommand).resolves({ Item: { id: 'd-1', createdAt: NOW.toISOString(), recoveryLagSeconds: 90, scenario: JSON.stringify(scenario), actions: [], incidents: [], clockAdvanceMs: 60_000 } });
    expect((await new DynamoWorldStore(doc, 'table').getWorld('d-1'))?.clockAdvanceMs).toBe(60_000);
  });

  it('is WorldNotFound for a world that does not exist', async () => {
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }));
    await expect(new DynamoWorldStore(doc, 'table').advanceClock('gone', 1)).rejects.toThrow(WorldNotFound);
  });
});

describe('waitSecondsOf (the local runner reads what a compressed Wait skipped)', () => {
  it('reads Seconds, or a plain SecondsPath from the state input', () => {
    expect(waitSecondsOf({ Seconds: 30 }, {})).toBe(30);
    expect(waitSecondsOf({ SecondsPath: '$.policy.verifyWaitSeconds' }, { policy: { verifyWaitSeconds: 60 } })).toBe(60);
    expect(waitSecondsOf({ SecondsPath: '$.policy.missing' }, { policy: {} })).toBeUndefined();
    expect(waitSecondsOf({ SecondsPath: '$.a[0]' }, { a: [1] })).toBeUndefined();
  });
});
