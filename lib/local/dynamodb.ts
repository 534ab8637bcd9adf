/**
 * DynamoDB for the laptop twin: dynalite (DynamoDB on LevelDB) on loopback, with the incident table created
 * from the same TABLE_SCHEMA the CDK IncidentStore builds the AWS table from (keys, GSI byStatus, pay per request).
 */
import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { TABLE_SCHEMA } from '../table-schema.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './constants.ts';

export interface LocalDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  stop(): Promise<void>;
}

export const startDynamo = async (opts: { path?: string; tableName: string }): Promise<LocalDynamo> => {
  if (opts.path) mkdirSync(opts.path, { recursive: true });
  const thread = new Worker(new URL('./dynamodb-thread.ts', import.meta.url), { workerData: { path: opts.path } });
  const port = await new Promise<number>((resolve, reject) => {
    thread.once('message', (m: { port?: number; error?: string }) => (m.port ? resolve(m.port) : reject(new Error(`dynalite did not start: ${m.error}`))));
    thread.once('error', reject);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const stop = async () => {
    client.destroy();
    await new Promise<void>((resolve) => {
      thread.once('message', () => resolve());
      thread.once('exit', () => resolve());
      thread.postMessage('stop');
    });
    await thread.terminate();
  };
  try {
    await ensureTable(client, opts.tableName);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, client, stop };
};

/** Creates the incident table if it does not exist (a second start reuses the data on disk). */
const ensureTable = async (client: DynamoDBClient, tableName: string): Promise<void> => {
  const { partitionKey, sortKey, byStatusIndex } = TABLE_SCHEMA;
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [partitionKey, sortKey, byStatusIndex.partitionKey, byStatusIndex.sortKey].map((name) => ({ AttributeName: name, AttributeType: 'S' as const })),
      KeySchema: [
        { AttributeName: partitionKey, KeyType: 'HASH' },
        { AttributeName: sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: byStatusIndex.name,
          KeySchema: [
            { AttributeName: byStatusIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: byStatusIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
};
