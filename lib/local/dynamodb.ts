/**
 * DynamoDB for the laptop twin: dynalite (DynamoDB on LevelDB) on loopback, with the incident table created
 * from the same TABLE_SCHEMA the CDK IncidentStore builds the AWS table from (keys, GSI byStatus, pay per request).
 */
import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { TABLE_SCHEMA } from '../table-schema.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './constants.ts';

/** dynalite's thread did not come up (its LevelDB directory is locked by another twin, or it crashed). */
export class DynamoStartFailed extends Error {
  override name = 'DynamoStartFailed';
}

export interface LocalDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  /** CPU time dynalite's thread has used so far (diagnostics: the benchmark's split of CPU by thread). */
  cpuUsage(): Promise<NodeJS.CpuUsage>;
  stop(): Promise<void>;
}

export const startDynamo = async (opts: { path?: string; tableName: string }): Promise<LocalDynamo> => {
  if (opts.path) mkdirSync(opts.path, { recursive: true });
  const thread = new Worker(new URL('./dynamodb-thread.ts', import.meta.url), { workerData: { path: opts.path } });
  let exited = false;
  let crashed: Error | undefined;
  thread.once('exit', () => {
    exited = true;
  });
  // Kept for the whole life of the thread: a Worker 'error' without a listener would take the twin down with it.
  thread.on('error', (error) => {
    crashed ??= error;
  });
  const port = await new Promise<number>((resolve, reject) => {
    thread.once('message', (m: { port?: number; error?: string }) => (m.port ? resolve(m.port) : reject(new DynamoStartFailed(`dynalite did not start: ${m.error}`))));
    thread.once('error', reject);
    // A thread that ends without a word (its error event, if any, comes first and wins) must not leave the start hanging.
    thread.once('exit', (code) => reject(new DynamoStartFailed(`dynalite's thread exited with code ${code} before listening`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const stop = async () => {
    client.destroy();
    // A thread that already ended (it crashed) answers nothing: waiting for its 'stopped' would never return.
    if (exited) return;
    await new Promise<void>((resolve) => {
      thread.on('message', (m: unknown) => m === 'stopped' && resolve());
      thread.once('exit', () => resolve());
      thread.postMessage('stop');
    });
    await thread.terminate();
    exited = true;
  };
  // Node measures a worker's CPU time itself (Worker#cpuUsage): no message to the thread, no listener to clean up.
  const cpuUsage = async (): Promise<NodeJS.CpuUsage> => {
    if (exited) throw new DynamoStartFailed("dynalite's thread has exited");
    return thread.cpuUsage();
  };
  try {
    await ensureTable(client, opts.tableName);
  } catch (error) {
    await stop();
    // dynalite listens before it opens LevelDB, so a locked directory shows here as a refused connection after
    // its thread died of "Database is not open" (dynalite drops LevelDB's lock error): say what that means.
    if (crashed) {
      const hint = opts.path ? ` (is another twin running on ${opts.path}? LevelDB allows one process per directory)` : '';
      throw new DynamoStartFailed(`dynalite stopped: ${crashed.message}${hint}`, { cause: crashed });
    }
    throw error;
  }
  return { endpoint, client, cpuUsage, stop };
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
