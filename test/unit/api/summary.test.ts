/**
 * GET /summary and GET /console/summary (query-incidents): counts of every status and the production accuracy, from
 * the memory store and, for the DynamoDB store, the COUNT queries it sends (every page read).
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { IncidentStatus } from '../../../functions/core/model.ts';
import { accuracyOf, GRADES_KEY } from '../../../functions/core/store/dynamo-store.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { queryIncidents } from '../../../functions/query-incidents/core.ts';
import { alertFixture, manualClock } from '../store/contract.ts';
import { ddb, newStore, TABLE } from '../store/dynamo-fixtures.ts';
import { apiEvent, bodyOf, sampleEvent, statusOf } from './fixtures.ts';

const zeroCounts = Object.fromEntries(IncidentStatus.options.map((s) => [s, 0]));

describe('unit: GET /summary', () => {
  it('answers every status (zeros too), the total and a null rate while nothing is graded, on both routes', async () => {
    // Prepare
    const store = new MemoryIncidentStore({ clock: manualClock() });
    await store.recordAlert(alertFixture({ dedupKey: 'a' }), {}, () => 'inc-a');
    await store.recordAlert(alertFixture({ dedupKey: 'b' }), {}, () => 'inc-b');
    await store.updateIncident('inc-b', { status: 'ESCALATED' });
    const query = queryIncidents({ store });
    // Act
    const operators = await query(apiEvent('GET /summary', { secret: null }));
    const console = await query(apiEvent('GET /console/summary', { secret: null }));
    // Assess
    expect(statusOf(operators)).toBe(200);
    expect(bodyOf(operators)).toEqual({ counts: { ...zeroCounts, OPEN: 1, ESCALATED: 1 }, total: 2, accuracy: { graded: 0, matched: 0, rate: null } });
    expect(bodyOf(console)).toEqual(bodyOf(operators));
  });

  it('accepts the sample event events/api/get-summary.json', async () => {
    const result = await queryIncidents({ store: new MemoryIncidentStore() })(sampleEvent('get-summary'));
    expect(statusOf(result)).toBe(200);
    expect(bodyOf(result)).toEqual({ counts: zeroCounts, total: 0, accuracy: { graded: 0, matched: 0, rate: null } });
  });

  it('counts each graded incident once however often its grade is written', async () => {
    const store = new MemoryIncidentStore();
    for (const [id, matched] of [['inc-1', true], ['inc-2', false], ['inc-3', true]] as const) {
      await store.putGrade({ incidentId: id, matched, at: '2024-05-01T13:00:00.000Z', by: 'james' });
      await store.putGrade({ incidentId: id, matched, at: '2024-05-01T13:00:00.000Z', by: 'james' });
    }
    expect((await store.summarize()).accuracy).toEqual({ graded: 3, matched: 2, rate: 0.6667 });
  });

  it('rounds the rate to 4 decimals and gives null for nothing graded', () => {
    expect(accuracyOf(0, 0)).toEqual({ graded: 0, matched: 0, rate: null });
    expect(accuracyOf(3, 1)).toEqual({ graded: 3, matched: 1, rate: 0.3333 });
    expect(accuracyOf(4, 4).rate).toBe(1);
  });
});

describe('unit: DynamoIncidentStore.summarize', () => {
  beforeEach(() => {
    ddb.reset();
  });

  it('sends COUNT queries on the status index, one per status, reads the grades once (their matched flag only), and sums every page', async () => {
    // Prepare: RESOLVED and the grades answer in two pages
    ddb.on(QueryCommand).callsFake((input: { ExpressionAttributeValues: Record<string, unknown>; ExclusiveStartKey?: unknown }) => {
      const key = input.ExpressionAttributeValues[':gpk'];
      const paged = <T>(first: T, second: T) => (input.ExclusiveStartKey ? second : { ...first, LastEvaluatedKey: { pk: 'next' } });
      if (key === 'STATUS#RESOLVED') return paged({ Count: 5 }, { Count: 2 });
      if (key === 'STATUS#ESCALATED') return { Count: 3 };
      const flags = (...matched: boolean[]) => ({ Items: matched.map((m) => ({ matched: m })), Count: matched.length });
      if (key === GRADES_KEY) return paged(flags(true, false, true, false), flags(true, false));
      return { Count: 0 };
    });
    // Act
    const summary = await newStore().summarize();
    // Assess
    expect(summary).toEqual({ counts: { ...zeroCounts, RESOLVED: 7, ESCALATED: 3 }, total: 10, accuracy: { graded: 6, matched: 3, rate: 0.5 } });
    const calls = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(calls.every((c) => c.IndexName === 'byStatus' && c.TableName === TABLE)).toBe(true);
    const grades = calls.filter((c) => c.ExpressionAttributeValues?.[':gpk'] === GRADES_KEY);
    expect(grades.map((c) => [c.Select, c.ProjectionExpression])).toEqual([[undefined, '#matched'], [undefined, '#matched']]);
    expect(calls.filter((c) => c.ExpressionAttributeValues?.[':gpk'] !== GRADES_KEY).every((c) => c.Select === 'COUNT')).toBe(true);
    // 8 statuses + RESOLVED's second page + 1 grade read × 2 pages
    expect(calls).toHaveLength(IncidentStatus.options.length + 1 + 2);
  });
});
