/**
 * The incident history of the aws family (functions/core/tools/aws/history.ts) over a mocked document client:
 * recordIncident writes one small item under HISTORY#<env> (idempotent by key, bounded texts, bad input named);
 * searchIncidents is one bounded Query of that partition, newest first, page after page up to the cap, filtered to the
 * asked services and ranked by the similarity agent's own code.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { HistoryRecordInvalid, historyPk, IncidentHistory } from '../../../../functions/core/tools/aws/history.ts';
import { type PastIncident, ToolUnavailable } from '../../../../functions/core/tools/ports.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const TABLE = 'incidents';
const doc = () => DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } }));
const history = (maxCandidates?: number) => new IncidentHistory({ doc, tableName: TABLE, ...(maxCandidates ? { maxCandidates } : {}) });

const incident = (id: string, over: Partial<PastIncident> = {}): PastIncident => ({
  id,
  title: 'Checkout latency high',
  service: 'checkout',
  openedAt: '2024-04-01T10:00:00.000Z',
  resolvedAt: '2024-04-01T10:40:00.000Z',
  category: 'connection-pool',
  rootCause: 'DB connection pool exhausted after the pool size was lowered',
  resolution: 'Raised the pool size back to 50',
  resolutionMinutes: 40,
  tags: ['checkout', 'connection-pool'],
  ...over,
});
const item = (i: PastIncident, env = 'prod') => ({ pk: historyPk(env), sk: `${i.openedAt}#${i.id}`, kind: 'HISTORY', ...i });

beforeEach(() => ddb.reset());

describe('recordIncident', () => {
  it('puts one item under the environment partition, keyed by openedAt and id', async () => {
    ddb.on(PutCommand).resolves({});
    const { category: _category, ...noCategory } = incident('INC-1');
    await history().recordIncident({ environment: 'prod', incident: noCategory });
    const put = ddb.commandCalls(PutCommand)[0]!.args[0].input;
    expect(put.TableName).toBe(TABLE);
    expect(put.ConditionExpression).toBeUndefined();
    expect(put.Item).toEqual({ pk: 'HISTORY#prod', sk: '2024-04-01T10:00:00.000Z#INC-1', kind: 'HISTORY', ...noCategory });
    expect(Object.values(put.Item!)).not.toContain(undefined);
  });

  it('without an environment the partition is HISTORY#-; long texts and tag lists are bounded', async () => {
    ddb.on(PutCommand).resolves({});
    await history().recordIncident({ incident: incident('INC-2', { rootCause: 'x'.repeat(10_000), tags: Array.from({ length: 50 }, (_, i) => `t${i}`) }) });
    const put = ddb.commandCalls(PutCommand)[0]!.args[0].input.Item!;
    expect(put.pk).toBe('HISTORY#-');
    expect((put.rootCause as string).length).toBe(4_000);
    expect(put.tags).toHaveLength(32);
  });

  it.each([
    [{ rootCause: undefined }, 'incident.rootCause'],
    [{ openedAt: 'last tuesday' }, 'incident.openedAt must be an ISO 8601 time'],
    [{ id: '' }, 'incident.id'],
    [{ tags: 'pool' }, 'incident.tags'],
  ])('refuses a malformed incident, naming the field: %j', async (over, message) => {
    const error = await history()
      .recordIncident({ incident: { ...incident('INC-3'), ...over } as unknown as PastIncident })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HistoryRecordInvalid);
    expect((error as Error).message).toContain(message);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('a failed write is a ToolUnavailable (the report records it as history-not-updated)', async () => {
    ddb.on(PutCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' }));
    await expect(history().recordIncident({ incident: incident('INC-4') })).rejects.toThrow('incident history unavailable: PutItem of incident INC-4 failed: ProvisionedThroughputExceededException');
  });
});

describe('searchIncidents', () => {
  const pool = incident('INC-10');
  const cert = incident('INC-11', { title: 'Payments TLS handshake failures', service: 'payments', category: 'certificate', rootCause: 'Expired certificate on the PSP endpoint', resolution: 'Renewed the certificate', tags: ['payments', 'certificate'], openedAt: '2024-04-05T09:00:00.000Z' });
  const dns = incident('INC-12', { title: 'Search NXDOMAIN', service: 'search', category: 'dns', rootCause: 'DNS record deleted', resolution: 'Restored the record', tags: ['dns'], openedAt: '2024-04-06T09:00:00.000Z' });
  const poolAgain = incident('INC-13', { title: 'Orders slow, Hikari pending threads', service: 'orders', rootCause: 'Connection pool starvation in orders', resolution: 'Scaled the pool', tags: ['connection-pool'], openedAt: '2024-04-07T09:00:00.000Z' });

  it('is one Query of the partition, newest first, bounded; ranks by text and drops what does not match', async () => {
    ddb.on(QueryCommand).resolves({ Items: [item(poolAgain), item(dns), item(cert), item(pool)] });
    const found = await history().searchIncidents({ environment: 'prod', text: 'connection pool exhausted hikari', limit: 5 });
    const q = ddb.commandCalls(QueryCommand)[0]!.args[0].input;
    expect(q).toMatchObject({ TableName: TABLE, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'HISTORY#prod' }, ScanIndexForward: false, Limit: 200 });
    expect(q.IndexName).toBeUndefined();
    expect(q.FilterExpression).toBeUndefined();
    // Both pool incidents, the one whose title names Hikari first (titles weigh double); certificate and DNS ones dropped.
    expect(found).toEqual([poolAgain, pool]);
  });

  it('with services, only theirs, the first service ranked as the incident service', async () => {
    ddb.on(QueryCommand).resolves({ Items: [item(poolAgain), item(dns), item(cert), item(pool)] });
    const found = await history().searchIncidents({ environment: 'prod', text: 'connection pool', services: ['checkout', 'payments'] });
    expect(found.map((i) => i.id)).toEqual(['INC-10', 'INC-11']);
  });

  it('reads page after page up to the cap, never more', async () => {
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [item(poolAgain), item(dns)], LastEvaluatedKey: { pk: 'HISTORY#prod', sk: 'k2' } })
      .resolvesOnce({ Items: [item(cert)], LastEvaluatedKey: { pk: 'HISTORY#prod', sk: 'k3' } })
      .resolves({ Items: [item(pool)] });
    const found = await history(3).searchIncidents({ environment: 'prod', text: 'pool certificate dns' });
    const calls = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.Limit)).toEqual([3, 1]);
    expect(calls[1]!.ExclusiveStartKey).toEqual({ pk: 'HISTORY#prod', sk: 'k2' });
    // INC-10 was beyond the cap: not read, not found.
    expect(found.map((i) => i.id)).not.toContain('INC-10');
    expect(found.map((i) => i.id).sort()).toEqual(['INC-11', 'INC-12', 'INC-13']);
  });

  it('skips items of another shape; an empty history is []', async () => {
    ddb.on(QueryCommand).resolvesOnce({ Items: [{ pk: 'HISTORY#prod', sk: 'x', kind: 'HISTORY', title: 'no id' }, item(pool)] }).resolves({ Items: [] });
    await expect(history().searchIncidents({ environment: 'prod', text: 'pool' })).resolves.toEqual([pool]);
    await expect(history().searchIncidents({ environment: 'staging', text: 'pool' })).resolves.toEqual([]);
    expect(ddb.commandCalls(QueryCommand)[1]!.args[0].input.ExpressionAttributeValues).toEqual({ ':pk': 'HISTORY#staging' });
  });

  it('a failed Query is a ToolUnavailable naming the partition; no table is a gap saying so', async () => {
    ddb.on(QueryCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await expect(history().searchIncidents({ environment: 'prod', text: 'pool' })).rejects.toThrow('Query of HISTORY#prod failed: AccessDeniedException: denied');
    const noTable = new IncidentHistory({ doc: undefined, tableName: undefined });
    const error = await noTable.searchIncidents({ text: 'pool' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolUnavailable);
    expect((error as Error).message).toContain('needs the incident table (TABLE_NAME)');
  });
});
