import { BatchGetCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidCursor,
  ItemTooLarge,
  StoreUnavailable,
  countIdentities,
  decodeCursor,
  encodeCursor,
  MAX_STORED_ALERT_BYTES,
  TAGS_DROPPED_TAG,
  fitAgentRecord,
  fitAlert,
  fitRawAlert,
  storedAlert,
  toMeta,
} from '../../../functions/core/store/dynamo-store.ts';
import { ApprovalAlreadyDecided, IncidentNotFound } from '../../../functions/core/store/store.ts';
import { agentRecordFixture, alertFixture } from './contract.ts';
import { TABLE, ccf, ddb, metaItem as metaAt, newStore } from './dynamo-fixtures.ts';


/** META as the table holds it: with its status-index keys and an approval task token. */
const metaItem = (overrides: Record<string, unknown> = {}) =>
  metaAt('2024-05-01T12:00:00.000Z', { gsi1pk: 'STATUS#OPEN', gsi1sk: '2024-05-01T12:00:00.000Z#inc-1', approvalTaskToken: 'tok-secret', ...overrides });

describe('unit: DynamoIncidentStore command shapes', () => {
  beforeEach(() => {
    ddb.reset();
  });

  it('getIncidentWith asks for META and each agent once, consistently, and asks again for unprocessed keys', async () => {
    // Prepare: the first answer leaves the impact record unprocessed (throttling)
    const impactKey = { pk: 'INCIDENT#inc-1', sk: 'AGENT#impact' };
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { [TABLE]: [metaItem()] }, UnprocessedKeys: { [TABLE]: { Keys: [impactKey] } } })
      .resolvesOnce({ Responses: { [TABLE]: [{ ...impactKey, kind: 'AGENT', record: agentRecordFixture() }] } });
    // Act
    const got = await newStore().getIncidentWith('inc-1', ['impact', 'plan', 'impact']);
    // Assess
    const calls = ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems?.[TABLE]);
    expect(calls[0]).toEqual({ ConsistentRead: true, Keys: [{ pk: 'INCIDENT#inc-1', sk: 'META' }, impactKey, { pk: 'INCIDENT#inc-1', sk: 'AGENT#plan' }] });
    expect(calls[1]).toEqual({ ConsistentRead: true, Keys: [impactKey] });
    expect(got?.incident.incidentId).toBe('inc-1');
    expect(JSON.stringify(got)).not.toContain('tok-secret');
    expect(got?.records).toEqual({ impact: agentRecordFixture() });
  });

  it('getIncidentWith fails with StoreUnavailable when keys stay unprocessed, rather than report them missing', async () => {
    const keys = [{ pk: 'INCIDENT#inc-1', sk: 'META' }];
    ddb.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [] }, UnprocessedKeys: { [TABLE]: { Keys: keys } } });
    await expect(newStore().getIncidentWith('inc-1', [])).rejects.toBeInstanceOf(StoreUnavailable);
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(5);
  });

  it('recordAlert (no correlation window) on a new key finds no live pointer, claims it, creates META while counting the identity, and stores the alert', async () => {
    // Prepare
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({ Attributes: metaItem({ incidentId: 'inc-new', alertCount: 1 }) });
    ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' } } as never).rejects(ccf());
    // Act
    const result = await newStore().recordAlert(alertFixture(), { PID: 'PID-1' }, () => 'inc-new');
    // Assess
    expect(result.created).toBe(true);
    expect(JSON.stringify(result.incident)).not.toContain('tok-secret');
    const updates = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(updates[0]).toMatchObject({ Key: { pk: 'DEDUP#dynatrace:PID-1', sk: 'DEDUP' }, ConditionExpression: 'attribute_exists(pk) AND #expiresAt >= :now' });
    const puts = ddb.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(puts[0]).toMatchObject({
      TableName: TABLE,
      Item: { pk: 'DEDUP#dynatrace:PID-1', sk: 'DEDUP', incidentId: 'inc-new', alertState: 'OPEN', stateVersion: 0, expiresAt: Date.parse('2024-05-01T12:00:00Z') / 1000 + 3600 },
      ConditionExpression: 'attribute_not_exists(pk) OR #expiresAt < :now',
    });
    const claimId = String(puts[0].Item?.claimId);
    expect(claimId).toMatch(/^[\w-]{11}$/);
    // One UpdateItem creates META if absent (every initial attribute if_not_exists) and counts the delivery: no
    // put-if-absent round trip, and no condition (it must be able to create). The identity is counted by adding its
    // opening tag to a set (idempotent), not by a counter.
    expect(updates).toHaveLength(2);
    expect(updates[1]).toMatchObject({ Key: { pk: 'INCIDENT#inc-new', sk: 'META' }, ReturnValues: 'ALL_NEW' });
    expect(updates[1].ConditionExpression).toBeUndefined();
    const names = updates[1].ExpressionAttributeNames ?? {};
    const values = updates[1].ExpressionAttributeValues ?? {};
    const initial = (field: string): unknown => {
      const match = new RegExp(`#${field} = if_not_exists\\(#${field}, (:v\\d+)\\)`).exec(updates[1].UpdateExpression ?? '');
      expect(names[`#${field}`]).toBe(field);
      return match ? values[match[1]] : undefined;
    };
    expect(['incidentId', 'status', 'gsi1pk', 'gsi1sk', 'createdAt'].map(initial)).toEqual(['inc-new', 'OPEN', 'STATUS#OPEN', '2024-05-01T12:00:00.000Z#inc-new', '2024-05-01T12:00:00.000Z']);
    // No numeric identity counters are stored (toMeta derives them from the tag sets).
    expect(Object.values(names)).not.toContain('distinctAlerts');
    expect(Object.values(names)).not.toContain('resolvedAlerts');
    const added = /ADD #alertCount :v\d+, #alertOpenings (:v\d+)$/.exec(updates[1].UpdateExpression ?? '');
    expect(added).not.toBeNull();
    expect(values[added?.[1] ?? '']).toEqual(new Set([`${claimId}.0`]));
    expect(updates[1].UpdateExpression).not.toContain('if_not_exists(#alertCount');
    expect(puts).toHaveLength(2);
    expect(puts[1]).toMatchObject({ Item: { pk: 'INCIDENT#inc-new', sk: 'ALERT#2024-05-01T12:00:00.000Z#000001', deduplicated: false, raw: { PID: 'PID-1' } } });
    // Correlation is off without a window: no CORR item is touched.
    expect(JSON.stringify([...updates, ...puts])).not.toContain('CORR#');
  });

  it('recordAlert (no correlation window) on a taken key refreshes the pointer, reuses its id and reports created=false', async () => {
    // Generic stubs first: a later, more specific `on` wins.
    ddb.on(PutCommand).resolves({});
    ddb.on(PutCommand, { Item: { sk: 'DEDUP' } } as never).rejects(ccf());
    ddb.on(UpdateCommand, { Key: { pk: 'DEDUP#dynatrace:PID-1', sk: 'DEDUP' } }).resolves({ Attributes: { incidentId: 'inc-1' } });
    ddb.on(UpdateCommand, { Key: { pk: 'INCIDENT#inc-1', sk: 'META' } }).resolves({ Attributes: metaItem({ alertCount: 2 }) });
    let minted = 0;
    const result = await newStore().recordAlert(alertFixture(), {}, () => `inc-unused-${++minted}`);
    expect(result).toMatchObject({ created: false, incident: { incidentId: 'inc-1', alertCount: 2 } });
    const refresh = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(refresh).toMatchObject({ UpdateExpression: 'SET #expiresAt = :exp', ConditionExpression: 'attribute_exists(pk) AND #expiresAt >= :now' });
    const alertPut = ddb.commandCalls(PutCommand).at(-1)?.args[0].input;
    expect(alertPut).toMatchObject({ Item: { sk: 'ALERT#2024-05-01T12:00:00.000Z#000002', deduplicated: true } });
    // A repeat costs 3 round trips: refresh, META count, ALERT put.
    expect(ddb.calls()).toHaveLength(3);
  });

  it('recordAlert retried after the pointer was claimed but META was not written creates the incident and counts the identity', async () => {
    // The pointer exists but META does not: the META update creates it (its count comes back 1), completing the job.
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' } } as never).resolves({ Attributes: { incidentId: 'inc-half', claimId: 'claim-half', alertState: 'OPEN', stateVersion: 0 } });
    ddb.on(UpdateCommand, { Key: { sk: 'META' } } as never).resolves({ Attributes: metaItem({ incidentId: 'inc-half', alertCount: 1, alertOpenings: new Set(['claim-half.0']) }) });
    const result = await newStore().recordAlert(alertFixture(), {}, () => 'inc-other');
    const count = ddb.commandCalls(UpdateCommand, { Key: { sk: 'META' } } as never)[0].args[0].input;
    expect(count.Key).toEqual({ pk: 'INCIDENT#inc-half', sk: 'META' });
    // A known identity adds the same opening tag its first attempt would have: counted once, whoever gets there.
    const added = /ADD #alertCount :v\d+, #alertOpenings (:v\d+)$/.exec(count.UpdateExpression ?? '');
    expect(count.ExpressionAttributeValues?.[added?.[1] ?? '']).toEqual(new Set(['claim-half.0']));
    expect(result.incident).toMatchObject({ distinctAlerts: 1, resolvedAlerts: 0 });
    expect(result.incident).not.toHaveProperty('alertOpenings');
    expect(result.created).toBe(true);
    expect(result.incident.incidentId).toBe('inc-half');
    expect(ddb.commandCalls(PutCommand).at(-1)?.args[0].input.Item).toMatchObject({ sk: 'ALERT#2024-05-01T12:00:00.000Z#000001', deduplicated: false });
  });

  it('getIncident reads META consistently and never returns keys or the task token', async () => {
    ddb.on(GetCommand).resolves({ Item: metaItem({ approval: { status: 'PENDING' } }) });
    const meta = await newStore().getIncident('inc-1');
    expect(ddb.commandCalls(GetCommand)[0].args[0].input).toEqual({ TableName: TABLE, Key: { pk: 'INCIDENT#inc-1', sk: 'META' }, ConsistentRead: true });
    expect(meta).toMatchObject({ incidentId: 'inc-1', approval: { status: 'PENDING' } });
    expect(meta).not.toHaveProperty('approvalTaskToken');
    expect(meta).not.toHaveProperty('pk');
    expect(meta).not.toHaveProperty('gsi1pk');
  });

  it('getDetail pages through the whole partition and sorts items by kind', async () => {
    ddb
      .on(QueryCommand)
      .resolvesOnce({
        Items: [metaItem(), { pk: 'INCIDENT#inc-1', sk: 'EVENT#2024-05-01T12:01:00.000Z#000001aaaaaa', event: { at: '2024-05-01T12:01:00.000Z', type: 'x', message: 'm' } }],
        LastEvaluatedKey: { pk: 'INCIDENT#inc-1', sk: 'EVENT#z' },
      })
      .resolvesOnce({ Items: [{ pk: 'INCIDENT#inc-1', sk: 'AGENT#impact', record: agentRecordFixture() }] });
    const detail = await newStore().getDetail('inc-1');
    const queries = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(queries).toHaveLength(2);
    expect(queries[1].ExclusiveStartKey).toEqual({ pk: 'INCIDENT#inc-1', sk: 'EVENT#z' });
    expect(detail?.agents.impact?.latencyMs).toBe(42);
    expect(detail?.timeline).toHaveLength(1);
    expect(JSON.stringify(detail)).not.toContain('tok-secret');
  });

  it('getDetail of an unknown incident is undefined', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    expect(await newStore().getDetail('nope')).toBeUndefined();
  });

  it('updateIncident to a non-terminal status is conditional on the current status not being terminal', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: metaItem({ status: 'INVESTIGATING' }) });
    await newStore().updateIncident('inc-1', { status: 'INVESTIGATING' });
    const input = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(input.ConditionExpression).toMatch(/^attribute_exists\(pk\) AND NOT #status IN \(:v\d+, :v\d+, :v\d+\)$/);
    expect(Object.values(input.ExpressionAttributeValues ?? {})).toEqual(expect.arrayContaining(['RESOLVED', 'ESCALATED', 'FAILED', 'INVESTIGATING', 'STATUS#INVESTIGATING']));
  });

  it('updateIncident on a terminal incident retries without the status and keeps the rest', async () => {
    ddb.on(UpdateCommand).rejectsOnce(ccf()).resolves({ Attributes: metaItem({ status: 'RESOLVED', reportLocation: 'r' }) });
    ddb.on(GetCommand).resolves({ Item: metaItem({ status: 'RESOLVED' }) });
    const meta = await newStore().updateIncident('inc-1', { status: 'VERIFYING', reportLocation: 'r' });
    const retry = ddb.commandCalls(UpdateCommand)[1].args[0].input;
    expect(meta.status).toBe('RESOLVED');
    expect(retry.ConditionExpression).toBe('attribute_exists(pk)');
    expect(Object.values(retry.ExpressionAttributeValues ?? {})).not.toContain('VERIFYING');
    expect(Object.values(retry.ExpressionAttributeValues ?? {})).toContain('r');
  });

  it('updateIncident on an unknown incident throws IncidentNotFound', async () => {
    ddb.on(UpdateCommand).rejects(ccf());
    ddb.on(GetCommand).resolves({});
    await expect(newStore().updateIncident('nope', { status: 'INVESTIGATING' })).rejects.toBeInstanceOf(IncidentNotFound);
    await expect(newStore().updateIncident('nope', { outcome: 'x' })).rejects.toBeInstanceOf(IncidentNotFound);
  });

  it('requestApproval stores the token as its own attribute and marks the approval PENDING', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: metaItem() });
    await newStore().requestApproval('inc-1', 'tok-abc', { status: 'APPROVED', requestedAt: '2024-05-01T12:20:00.000Z' });
    const input = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(input.ExpressionAttributeNames).toMatchObject({ '#approvalTaskToken': 'approvalTaskToken' });
    expect(Object.values(input.ExpressionAttributeValues ?? {})).toEqual(expect.arrayContaining(['tok-abc', { status: 'PENDING', requestedAt: '2024-05-01T12:20:00.000Z' }, 'AWAITING_APPROVAL']));
  });

  it('decideApproval is a conditional update on approval.status = PENDING returning the token', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: metaItem({ approval: { status: 'APPROVED', approver: 'james' } }) });
    const out = await newStore().decideApproval('inc-1', 'approve', 'james', 'ok');
    const input = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(input.ConditionExpression).toMatch(/#approval\.#status = :v\d+/);
    expect(input.UpdateExpression).toContain('#approval.#approver');
    expect(input.ReturnValues).toBe('ALL_NEW');
    expect(out).toEqual({ taskToken: 'tok-secret', approval: { status: 'APPROVED', approver: 'james' } });
  });

  it('decideApproval on a decided approval throws ApprovalAlreadyDecided carrying the current state', async () => {
    ddb.on(UpdateCommand).rejects(ccf());
    ddb.on(GetCommand).resolves({ Item: metaItem({ approval: { status: 'REJECTED', approver: 'sarah' } }) });
    const error = await newStore().decideApproval('inc-1', 'approve', 'james').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApprovalAlreadyDecided);
    expect((error as ApprovalAlreadyDecided).approval).toEqual({ status: 'REJECTED', approver: 'sarah' });
    expect((error as Error).message).toBe('approval already rejected by sarah');
  });

  it('listIncidents without a status queries every status on the byStatus index, newest first', async () => {
    ddb.on(QueryCommand).callsFake((input: { ExpressionAttributeValues: Record<string, string> }) => {
      const status = input.ExpressionAttributeValues[':gpk'].slice('STATUS#'.length);
      if (status === 'OPEN') return { Items: [metaItem({ incidentId: 'a', gsi1sk: '2024-05-01T12:03:00.000Z#a' }), metaItem({ incidentId: 'c', gsi1sk: '2024-05-01T12:01:00.000Z#c' })] };
      if (status === 'RESOLVED') return { Items: [metaItem({ incidentId: 'b', status: 'RESOLVED', gsi1sk: '2024-05-01T12:02:00.000Z#b' })] };
      return { Items: [] };
    });
    const page = await newStore().listIncidents({ limit: 2, severity: 'SEV2' });
    const queries = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(queries).toHaveLength(8);
    expect(queries[0]).toMatchObject({ IndexName: 'byStatus', ScanIndexForward: false, Limit: 3, FilterExpression: '#severity = :severity' });
    expect(page.items.map((i) => i.incidentId)).toEqual(['a', 'b']);
    expect(decodeCursor(page.cursor ?? '')).toBe('2024-05-01T12:02:00.000Z#b');
  });

  it('listIncidents lists an incident once when its status changed between the per-status reads, as it is now', async () => {
    // Prepare: the index still shows inc-1 as INVESTIGATING to one query and already as RESOLVED to another.
    ddb.on(QueryCommand).callsFake((input: { ExpressionAttributeValues: Record<string, string> }) => {
      const status = input.ExpressionAttributeValues[':gpk'].slice('STATUS#'.length);
      if (status === 'INVESTIGATING') return { Items: [metaItem({ status: 'INVESTIGATING', updatedAt: '2024-05-01T12:00:01.000Z' })] };
      if (status === 'RESOLVED') return { Items: [metaItem({ status: 'RESOLVED', updatedAt: '2024-05-01T12:00:09.000Z' })] };
      return { Items: [] };
    });
    // Act
    const page = await newStore().listIncidents({});
    // Assess
    expect(page.items.map((i) => [i.incidentId, i.status])).toEqual([['inc-1', 'RESOLVED']]);
  });

  it('listIncidents resumes below the cursor position', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    await newStore().listIncidents({ status: 'OPEN', cursor: encodeCursor('2024-05-01T12:02:00.000Z#b') });
    const input = ddb.commandCalls(QueryCommand)[0].args[0].input;
    expect(input.KeyConditionExpression).toBe('#gpk = :gpk AND #gsk < :before');
    expect(input.ExpressionAttributeValues).toMatchObject({ ':gpk': 'STATUS#OPEN', ':before': '2024-05-01T12:02:00.000Z#b' });
  });

  it('rejects a cursor it did not issue', async () => {
    await expect(newStore().listIncidents({ cursor: 'eyJ2IjoyfQ' })).rejects.toBeInstanceOf(InvalidCursor);
  });

  it('appendEvent writes EVENT#<at>#<seq> items that do not collide', async () => {
    ddb.on(PutCommand).resolves({});
    const store = newStore();
    await store.appendEvent('inc-1', { type: 'a', message: 'one', at: '2024-05-01T12:00:00.000Z' });
    await store.appendEvent('inc-1', { type: 'b', message: 'two', at: '2024-05-01T12:00:00.000Z' });
    const keys = ddb.commandCalls(PutCommand).map((c) => String(c.args[0].input.Item?.sk));
    expect(keys[0]).toMatch(/^EVENT#2024-05-01T12:00:00\.000Z#\d{6}[0-9a-f]{6}$/);
    expect(keys[0] < keys[1]).toBe(true);
  });
});

describe('unit: item size limits', () => {
  it('replaces the largest evidence data first and keeps ids and summaries', () => {
    // Prepare
    const big = 'x'.repeat(300_000);
    const record = agentRecordFixture({
      evidence: [
        { id: 'small', kind: 'metric', source: 't', summary: 's', data: { v: 1 } },
        { id: 'big', kind: 'log', source: 'logs', summary: 'lots of logs', data: { big } },
        { id: 'medium', kind: 'log', source: 'logs', summary: 'm', data: { m: 'y'.repeat(100_000) } },
      ],
    });
    // Act
    const fitted = fitAgentRecord(record);
    // Assess
    expect(fitted.evidence.map((e) => e.id)).toEqual(['small', 'big', 'medium']);
    expect(fitted.evidence[0].data).toEqual({ v: 1 });
    expect(fitted.evidence[1].data).toMatchObject({ truncated: true, originalBytes: 300_010 });
    expect(fitted.evidence[2].data).toEqual({ m: 'y'.repeat(100_000) });
    expect(JSON.stringify(fitted).length).toBeLessThan(350_000);
  });

  it('keeps a computed number outside DynamoDB\'s range as the nearest it keeps (a tail probability of 1e-140 is 0), never failing the put', () => {
    const record = agentRecordFixture({
      output: { p: 1e-140, q: -2e-131, big: 3e200, ok: 1.5e-12, zero: 0 },
      evidence: [{ id: 'e', kind: 'metric', source: 't', summary: 's', data: { pValue: 5e-324, z: -1e130 } }],
    });
    const fitted = fitAgentRecord(record);
    expect(fitted.output).toEqual({ p: 0, q: 0, big: 9.99999999999999e125, ok: 1.5e-12, zero: 0 });
    expect(fitted.evidence[0].data).toEqual({ pValue: 0, z: -9.99999999999999e125 });
  });

  it('refuses a record whose output alone is too large', () => {
    expect(() => fitAgentRecord(agentRecordFixture({ output: { markdown: 'z'.repeat(400_000) } }))).toThrow(ItemTooLarge);
  });

  it('keeps the tags of a huge alert that fit, in order, and says how many it dropped', () => {
    // Prepare: two 60 KB tag values cannot both fit in 100 KB
    const alert = alertFixture({ tags: { first: 'x'.repeat(60_000), second: 'y'.repeat(60_000), small: 'z' } });
    // Act
    const stored = storedAlert('2024-05-01T12:00:00.000Z', alert, { big: 'q'.repeat(200_000) }, { disposition: 'opened', counted: true });
    // Assess
    expect(stored.alert.tags).toEqual({ first: 'x'.repeat(60_000), small: 'z', [TAGS_DROPPED_TAG]: '1 of 3' });
    expect(Buffer.byteLength(JSON.stringify(stored.alert))).toBeLessThanOrEqual(MAX_STORED_ALERT_BYTES);
    expect(Buffer.byteLength(JSON.stringify(stored))).toBeLessThan(350_000);
    expect({ ...stored.alert, tags: alert.tags }).toEqual(alert);
    expect(fitAlert(alertFixture())).toEqual(alertFixture());
  });

  it('stores a raw alert over the limit as a preview', () => {
    expect(fitRawAlert({ a: 1 })).toEqual({ a: 1 });
    expect(fitRawAlert({ blob: 'q'.repeat(200_000) })).toMatchObject({ truncated: true, originalBytes: 200_011 });
  });
});

describe('unit: identity counting from tag sets', () => {
  it('counts an identity resolved only when every opening has its resolution, and never reads stored numbers', () => {
    // a: opened, resolved, reopened (open); b: opened, resolved; c: opened; d: resolved once, its reopen not yet counted
    const openings = ['a.0', 'a.2', 'b.0', 'c.0', 'd.0'];
    const resolutions = ['a.1', 'b.1', 'd.1'];
    expect(countIdentities(openings, resolutions)).toEqual({ distinctAlerts: 4, resolvedAlerts: 2 });
    expect(countIdentities(['a.0', 'a.2'], ['a.1', 'a.3'])).toEqual({ distinctAlerts: 1, resolvedAlerts: 1 });
    expect(toMeta({ incidentId: 'i', alertOpenings: new Set(openings), alertResolutions: new Set(resolutions) })).toEqual({ incidentId: 'i', distinctAlerts: 4, resolvedAlerts: 2 });
    // The counts are the tag sets' alone: a stray number on the item is not part of the incident.
    expect(toMeta({ incidentId: 'i', distinctAlerts: 3, resolvedAlerts: 1, alertOpenings: new Set(['x.0']) })).toEqual({ incidentId: 'i', distinctAlerts: 1, resolvedAlerts: 0 });
  });
});
