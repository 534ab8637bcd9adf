/**
 * The setup shared by the aws-sdk-client-mock tests of DynamoIncidentStore (test/unit/store/dynamo-*.test.ts,
 * cursor-and-arn-swap.test.ts, test/unit/sweep/sweep-dynamo.test.ts): the mocked document client, a store over it,
 * the ConditionalCheckFailedException DynamoDB answers a refused condition with, and an incident's META item.
 * Each test file is its own module graph under vitest, so `ddb` is one mock per file; reset it in `beforeEach`.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoIncidentStore, type DynamoStoreOptions } from '../../../functions/core/store/dynamo-store.ts';
import { manualClock } from './contract.ts';

export const TABLE = 'incidents';

/** Every DynamoDBDocumentClient of the test file answers from this mock. */
export const ddb = mockClient(DynamoDBDocumentClient);

/** What DynamoDB answers a write whose condition fails. */
export const ccf = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

/** A store over the mocked client: a manual clock at 2024-05-01T12:00:00Z and a one-hour dedup TTL unless `options` say otherwise. */
export const newStore = (options: DynamoStoreOptions = {}) =>
  new DynamoIncidentStore(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), TABLE, { clock: manualClock(), dedupTtlHours: 1, ...options });

/**
 * The META item of incident `inc-1` (OPEN, SEV2, inventory-service, opened by dynatrace PID-1, one delivery) recorded
 * at `at` (createdAt, updatedAt and startedAt); `overrides` add or replace attributes.
 */
export const metaItem = (at: string, overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  pk: 'INCIDENT#inc-1',
  sk: 'META',
  incidentId: 'inc-1',
  status: 'OPEN',
  severity: 'SEV2',
  title: 't',
  service: 'inventory-service',
  source: 'dynatrace',
  dedupKey: 'PID-1',
  createdAt: at,
  updatedAt: at,
  startedAt: at,
  alertCount: 1,
  ...overrides,
});
