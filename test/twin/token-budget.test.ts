/**
 * The per-incident LLM token budget as Lambda uses it: one count on the incident's DynamoDB partition, shared by
 * every container (the three investigation agents run in parallel). Against dynalite, the twin's DynamoDB.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoTokenBudget, InvalidTokenBudget } from '../../functions/core/reasoning/budget.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, TABLE_NAME } from '../../lib/local/constants.ts';
import { startTwin, type Twin } from '../../lib/local/twin.ts';

describe('DynamoTokenBudget on the laptop twin', () => {
  let twin: Twin;
  let doc: DynamoDBDocumentClient;

  beforeAll(async () => {
    twin = await startTwin({ inMemory: true, waitOverrideMs: 0 });
    doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: twin.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }));
  });
  afterAll(async () => {
    doc?.destroy();
    await twin?.stop();
  });

  it('counts what concurrent containers spend on one incident, and never reports less than zero left', async () => {
    // Prepare: two "containers" with their own budget objects over the same table
    const a = new DynamoTokenBudget(doc, TABLE_NAME, 1000);
    const b = new DynamoTokenBudget(doc, TABLE_NAME, 1000);
    // Act
    await Promise.all([a.consume('inc-budget-1', 300), b.consume('inc-budget-1', 450), a.consume('inc-other', 10)]);
    // Assess
    expect(await b.remaining('inc-budget-1')).toBe(250);
    expect(await a.remaining('inc-other')).toBe(990);
    await a.consume('inc-budget-1', 400);
    expect(await b.remaining('inc-budget-1')).toBe(0);
    expect(await a.remaining('inc-never-seen')).toBe(1000);
  });

  it('refuses a negative limit or spend with a named error', async () => {
    expect(() => new DynamoTokenBudget(doc, TABLE_NAME, -1)).toThrow(InvalidTokenBudget);
    await expect(new DynamoTokenBudget(doc, TABLE_NAME, 10).consume('inc-x', -5)).rejects.toThrow(InvalidTokenBudget);
  });
});
