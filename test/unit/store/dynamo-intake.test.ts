/**
 * Command shapes of the alert-intake part of DynamoIncidentStore (correlation, resolution, withdrawal): the
 * conditions that make them race-safe without transactions. Behaviour is covered by the contract, run against
 * MemoryIncidentStore (unit) and against DynamoIncidentStore on dynalite (test/twin/intake.test.ts).
 */
import { ConditionalCheckFailedException, DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoIncidentStore, corrPk } from '../../../functions/core/store/dynamo-store.ts';
import { IncidentNotFound, IncidentNotReady } from '../../../functions/core/store/store.ts';
import { alertFixture, manualClock } from './contract.ts';

const TABLE = 'incidents';
const ddb = mockClient(DynamoDBDocumentClient);
const ccf = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
const NOW = Date.parse('2024-05-01T12:00:00Z') / 1000;

const meta = (overrides: Record<string, unknown> = {}) => ({
  pk: 'INCIDENT#inc-1',
  sk: 'META',
  incidentId: 'inc-1',
  status: 'INVESTIGATING',
  severity: 'SEV2',
  title: 't',
  service: 'inventory-service',
  source: 'dynatrace',
  dedupKey: 'PID-1',
  createdAt: '2024-05-01T11:59:00.000Z',
  updatedAt: '2024-05-01T11:59:00.000Z',
  startedAt: '2024-05-01T11:59:00.000Z',
  alertCount: 1,
  distinctAlerts: 1,
  resolvedAlerts: 0,
  ...overrides,
});

const newStore = () => new DynamoIncidentStore(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), TABLE, { clock: manualClock(), dedupTtlHours: 1 });

describe('unit: DynamoIncidentStore alert intake command shapes', () => {
  beforeEach(() => {
    ddb.reset();
    ddb.on(PutCommand).resolves({});
  });

  it('joins a live correlation pointer: slides its window, claims the identity for that incident and counts it', async () => {
    // Prepare: no DEDUP pointer, a live CORR pointer naming an open incident
    ddb.on(UpdateCommand).resolves({ Attributes: meta({ alertCount: 2, distinctAlerts: 2 }) });
    ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' } } as never).rejects(ccf());
    ddb.on(UpdateCommand, { Key: { sk: 'CORR' } } as never).resolves({ Attributes: { incidentId: 'inc-1' } });
    ddb.on(GetCommand).resolves({ Item: meta() });
    // Act
    const result = await newStore().recordAlert(alertFixture({ dedupKey: 'PID-2' }), {}, () => 'inc-unused', { correlationWindowSeconds: 300 });
    // Assess
    expect(result).toMatchObject({ created: false, disposition: 'correlated', incident: { incidentId: 'inc-1' } });
    const corr = ddb.commandCalls(UpdateCommand, { Key: { sk: 'CORR' } } as never)[0].args[0].input;
    expect(corr).toMatchObject({
      Key: { pk: corrPk('w1', 'inventory-service'), sk: 'CORR' },
      ConditionExpression: 'attribute_exists(pk) AND #expiresAt >= :now',
      ExpressionAttributeValues: { ':exp': NOW + 300, ':now': NOW },
    });
    expect(ddb.commandCalls(PutCommand, { Item: { sk: 'DEDUP' } } as never)[0].args[0].input.Item).toMatchObject({ pk: 'DEDUP#dynatrace:PID-2', incidentId: 'inc-1' });
    expect(ddb.commandCalls(PutCommand, { Item: { sk: 'CORR' } } as never)).toHaveLength(0);
    const alertItem = ddb.commandCalls(PutCommand).at(-1)?.args[0].input.Item;
    expect(alertItem).toMatchObject({ sk: 'ALERT#2024-05-01T12:00:00.000Z#000002', deduplicated: false, correlated: true });
  });

  it('replaces a pointer naming a closed incident, conditionally on it still naming that incident', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: meta({ incidentId: 'inc-new' }) });
    ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' } } as never).rejects(ccf());
    ddb.on(UpdateCommand, { Key: { sk: 'CORR' } } as never).resolves({ Attributes: { incidentId: 'inc-closed' } });
    ddb.on(GetCommand).resolves({ Item: meta({ incidentId: 'inc-closed', status: 'RESOLVED' }) });
    const result = await newStore().recordAlert(alertFixture({ dedupKey: 'PID-3' }), {}, () => 'inc-new', { correlationWindowSeconds: 300 });
    expect(result).toMatchObject({ created: true, disposition: 'opened' });
    const replace = ddb.commandCalls(PutCommand, { Item: { sk: 'CORR' } } as never)[0].args[0].input;
    expect(replace).toMatchObject({ Item: { incidentId: 'inc-new', expiresAt: NOW + 300 }, ConditionExpression: '#incidentId = :closed', ExpressionAttributeValues: { ':closed': 'inc-closed' } });
  });

  it('claims an absent or expired correlation pointer for a new incident', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: meta({ incidentId: 'inc-new' }) });
    ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' } } as never).rejects(ccf());
    ddb.on(UpdateCommand, { Key: { sk: 'CORR' } } as never).rejects(ccf());
    const result = await newStore().recordAlert(alertFixture({ dedupKey: 'PID-4', environment: undefined }), {}, () => 'inc-new', { correlationWindowSeconds: 60 });
    expect(result.disposition).toBe('opened');
    expect(ddb.commandCalls(PutCommand, { Item: { sk: 'CORR' } } as never)[0].args[0].input).toMatchObject({
      Item: { pk: 'CORR#-#inventory-service', incidentId: 'inc-new', expiresAt: NOW + 60 },
      ConditionExpression: 'attribute_not_exists(pk) OR #expiresAt < :now',
    });
  });

  describe('a META count DynamoDB refuses', () => {
    const throttled = () => new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds the allowed throughput', $metadata: { httpStatusCode: 400 } });

    it('gives back the identity this call claimed, only that claim, so the retry counts it as new', async () => {
      // Prepare: a new identity; its claim succeeds, the count is throttled past the SDK's retries
      ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' } } as never).rejects(ccf());
      ddb.on(UpdateCommand, { Key: { sk: 'META' } } as never).rejects(throttled());
      ddb.on(DeleteCommand).resolves({});
      // Act
      const error = await newStore().recordAlert(alertFixture({ dedupKey: 'PID-9' }), {}, () => 'inc-new').catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(ProvisionedThroughputExceededException);
      const release = ddb.commandCalls(DeleteCommand)[0]?.args[0].input;
      expect(release).toMatchObject({
        Key: { pk: 'DEDUP#dynatrace:PID-9', sk: 'DEDUP' },
        ConditionExpression: '#incidentId = :id AND #createdAt = :at',
        ExpressionAttributeValues: { ':id': 'inc-new', ':at': '2024-05-01T12:00:00.000Z' },
      });
      expect(ddb.commandCalls(PutCommand, { Item: { sk: 'DEDUP' } } as never)[0].args[0].input.Item).toMatchObject({ incidentId: 'inc-new', createdAt: '2024-05-01T12:00:00.000Z' });
      expect(ddb.commandCalls(PutCommand, { Item: { kind: 'ALERT' } } as never)).toHaveLength(0);
    });

    it('puts a reopened identity back to RESOLVED, so the retry takes it off resolvedAlerts', async () => {
      ddb.on(UpdateCommand).resolves({});
      ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' }, UpdateExpression: 'SET #expiresAt = :exp' } as never).resolves({ Attributes: { incidentId: 'inc-1', alertState: 'RESOLVED' } });
      ddb.on(UpdateCommand, { Key: { sk: 'META' } } as never).rejects(throttled());
      await expect(newStore().recordAlert(alertFixture(), {}, () => 'inc-unused')).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
      const flips = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input).filter((i) => i.UpdateExpression?.includes('#state = :to'));
      expect(flips.map((f) => [f.ExpressionAttributeValues?.[':from'], f.ExpressionAttributeValues?.[':to']])).toEqual([
        ['RESOLVED', 'OPEN'],
        ['OPEN', 'RESOLVED'],
      ]);
      expect(ddb.commandCalls(DeleteCommand)).toHaveLength(0);
    });

    it('keeps the claim after an ambiguous failure (a timeout): the count may have landed, and the retry folds into it', async () => {
      ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' } } as never).rejects(ccf());
      ddb.on(UpdateCommand, { Key: { sk: 'META' } } as never).rejects(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));
      await expect(newStore().recordAlert(alertFixture({ dedupKey: 'PID-10' }), {}, () => 'inc-new')).rejects.toThrow('socket hang up');
      expect(ddb.commandCalls(DeleteCommand)).toHaveLength(0);
    });
  });

  it('resolves an identity with a conditional state change and counts it once', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: meta({ resolvedAlerts: 1, alertCount: 2 }) });
    ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' }, UpdateExpression: 'SET #expiresAt = :exp' } as never).resolves({ Attributes: { incidentId: 'inc-1', alertState: 'OPEN' } });
    const result = await newStore().resolveAlert(alertFixture({ state: 'RESOLVED' }), {});
    expect(result).toMatchObject({ newlyResolved: true, allResolved: true });
    const flip = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input).find((i) => i.UpdateExpression?.includes('#state = :to'));
    expect(flip).toMatchObject({ ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#state) OR #state = :from)', ExpressionAttributeValues: { ':to': 'RESOLVED', ':from': 'OPEN' } });
    const count = ddb.commandCalls(UpdateCommand, { Key: { sk: 'META' } } as never)[0].args[0].input;
    expect(count.UpdateExpression).toMatch(/ADD #alertCount :v\d, #resolvedAlerts :v\d$/);
  });

  it('puts the identity back to OPEN and throws IncidentNotReady when its incident has no META yet', async () => {
    // Prepare: a live OPEN pointer, the flip succeeds, META is absent (its count fails the existence condition)
    ddb.on(UpdateCommand).resolves({});
    ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' }, UpdateExpression: 'SET #expiresAt = :exp' } as never).resolves({ Attributes: { incidentId: 'inc-half', alertState: 'OPEN' } });
    ddb.on(UpdateCommand, { Key: { sk: 'META' } } as never).rejects(ccf());
    ddb.on(GetCommand).resolves({});
    // Act
    const error = await newStore().resolveAlert(alertFixture({ state: 'RESOLVED' }), {}).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(IncidentNotReady);
    expect((error as IncidentNotReady).incidentId).toBe('inc-half');
    const flips = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input).filter((i) => i.UpdateExpression?.includes('#state = :to'));
    expect(flips.map((f) => [f.ExpressionAttributeValues?.[':from'], f.ExpressionAttributeValues?.[':to']])).toEqual([
      ['OPEN', 'RESOLVED'],
      ['RESOLVED', 'OPEN'],
    ]);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('resolves nothing and writes nothing for an identity without a live pointer', async () => {
    ddb.on(UpdateCommand).rejects(ccf());
    expect(await newStore().resolveAlert(alertFixture({ state: 'RESOLVED' }), {})).toBeUndefined();
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('withdraws with one conditional update: PENDING, token present, every identity resolved', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { ...meta(), approvalTaskToken: 'tok', approval: { status: 'WITHDRAWN' } } });
    const result = await newStore().withdrawApproval('inc-1', 'all resolved');
    expect(result).toEqual({ withdrawn: true, taskToken: 'tok', approval: { status: 'WITHDRAWN' } });
    const input = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(input.ConditionExpression).toBe(
      'attribute_exists(pk) AND #approval.#status = :v5 AND attribute_exists(#approvalTaskToken) AND #distinctAlerts > :v6 AND #resolvedAlerts >= #distinctAlerts',
    );
    expect(input.ExpressionAttributeValues).toMatchObject({ ':v5': 'PENDING', ':v6': 0 });
  });

  it('tells why a withdrawal did not happen, and throws IncidentNotFound for an unknown incident', async () => {
    ddb.on(UpdateCommand).rejects(ccf());
    ddb.on(GetCommand).resolvesOnce({ Item: { ...meta(), approvalTaskToken: 'tok', approval: { status: 'PENDING' } } }).resolvesOnce({ Item: { ...meta(), approval: { status: 'APPROVED' } } }).resolvesOnce({});
    const store = newStore();
    expect(await store.withdrawApproval('inc-1', 'x')).toMatchObject({ withdrawn: false, reason: 'alerts-open' });
    expect(await store.withdrawApproval('inc-1', 'x')).toMatchObject({ withdrawn: false, reason: 'not-pending', approval: { status: 'APPROVED' } });
    await expect(store.withdrawApproval('inc-1', 'x')).rejects.toBeInstanceOf(IncidentNotFound);
  });
});
