/**
 * The two world stores a test file runs its cases against: DynamoWorldStore on a dynalite table started for the file
 * (the real condition expressions) and MemoryWorldStore (which must behave the same). Call at the top level of a test
 * file: it registers the beforeAll/afterAll that start and stop dynalite.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { startDynamo, type LocalDynamo } from '../../../lib/local/dynamodb.ts';
import { DynamoWorldStore, MemoryWorldStore, type WorldStore } from '../../../functions/core/world/world-store.ts';

export const worldStores = (table: string): { stores: [string, () => WorldStore][]; doc: () => DynamoDBDocumentClient } => {
  let dynamo: LocalDynamo | undefined;
  let doc: DynamoDBDocumentClient;
  beforeAll(async () => {
    dynamo = await startDynamo({ tableName: table });
    doc = DynamoDBDocumentClient.from(dynamo.client);
  });
  afterAll(async () => {
    await dynamo?.stop();
  });
  return {
    stores: [
      ['DynamoWorldStore on dynalite', () => new DynamoWorldStore(doc, table)],
      ['MemoryWorldStore', () => new MemoryWorldStore()],
    ],
    doc: () => doc,
  };
};
