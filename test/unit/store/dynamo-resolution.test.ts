/**
 * DynamoIncidentStore's resolution writes (functions/resolve-incident): one conditional update records a resolution
 * once, on a terminal incident; the grade item lands in the `GRADES` partition of the status index; the resolution's
 * timeline entry is a conditional put that a repeat leaves alone.
 */
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import type { IncidentResolution } from '../../../functions/core/store/store.ts';
import { IncidentNotFound } from '../../../functions/core/store/store.ts';
import { TABLE, ccf, ddb, metaItem, newStore } from './dynamo-fixtures.ts';

const AT = '2024-05-01T13:00:00.000Z';
const resolution: IncidentResolution = {
  cause: { service: 'inventory-service', category: 'connection-pool', change: 'CR2077', summary: 'pool halved' },
  fix: 'reverted CR2077',
  by: 'james.wu',
  at: AT,
  statusBefore: 'ESCALATED',
  grade: { graded: true, matched: true, why: 'matches' },
};

describe('unit: DynamoIncidentStore resolutions', () => {
  beforeEach(() => {
    ddb.reset();
  });

  it('recordResolution: one update, only on a terminal incident without a resolution, moving it to RESOLVED and keeping resolvedAt', async () => {
    // Prepare
    ddb.on(UpdateCommand).resolves({ Attributes: metaItem(AT, { status: 'RESOLVED', resolution }) });
    // Act
    const result = await newStore().recordResolution('inc-1', resolution);
    // Assess
    expect(result.recorded).toBe(true);
    expect(result.incident.resolution).toEqual(resolution);
    const input = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input.Key).toEqual({ pk: 'INCIDENT#inc-1', sk: 'META' });
    expect(input.ConditionExpression).toBe('attribute_exists(pk) AND #status IN (:v5, :v6, :v7) AND attribute_not_exists(#resolution)');
    expect([input.ExpressionAttributeValues?.[':v5'], input.ExpressionAttributeValues?.[':v6'], input.ExpressionAttributeValues?.[':v7']]).toEqual(['RESOLVED', 'ESCALATED', 'FAILED']);
    expect(input.UpdateExpression).toContain('#resolvedAt = if_not_exists(#resolvedAt, ');
    expect(Object.values(input.ExpressionAttributeValues ?? {})).toEqual(expect.arrayContaining(['STATUS#RESOLVED', resolution]));
  });

  it('recordResolution that loses its condition writes nothing and returns META as it is now (the winner\'s resolution)', async () => {
    const winner = { ...resolution, by: 'ana.silva' };
    ddb.on(UpdateCommand).rejects(ccf());
    ddb.on(GetCommand).resolves({ Item: metaItem(AT, { status: 'RESOLVED', resolution: winner }) });
    const result = await newStore().recordResolution('inc-1', resolution);
    expect(result).toMatchObject({ recorded: false, incident: { status: 'RESOLVED', resolution: { by: 'ana.silva' } } });
  });

  it('recordResolution of an unknown incident throws IncidentNotFound', async () => {
    ddb.on(UpdateCommand).rejects(ccf());
    ddb.on(GetCommand).resolves({});
    await expect(newStore().recordResolution('inc-1', resolution)).rejects.toBeInstanceOf(IncidentNotFound);
  });

  it('markResolutionStep sets the step only if absent and only with a resolution', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: metaItem(AT) });
    await newStore().markResolutionStep('inc-1', 'recordedAt', AT);
    const input = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input.UpdateExpression).toBe('SET #resolution.#recordedAt = if_not_exists(#resolution.#recordedAt, :v0)');
    expect(input.ConditionExpression).toBe('attribute_exists(pk) AND attribute_exists(#resolution)');
  });

  it('putGrade writes the grade item in its own partition, listed under GRADES in the status index', async () => {
    ddb.on(PutCommand).resolves({});
    await newStore().putGrade({ incidentId: 'inc-1', matched: false, at: AT, by: 'james.wu' });
    expect(ddb.commandCalls(PutCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE,
      Item: { pk: 'GRADE#inc-1', sk: 'GRADE', kind: 'GRADE', gsi1pk: 'GRADES', gsi1sk: `${AT}#inc-1`, incidentId: 'inc-1', matched: false, at: AT, by: 'james.wu' },
    });
  });

  it('appendEventOnce puts under a fixed key if absent; a repeat (condition failed) is no error; another failure is', async () => {
    const event = { at: AT, type: 'resolution-recorded', message: 'm' };
    ddb.on(PutCommand).rejectsOnce(ccf()).rejectsOnce(new Error('boom'));
    await expect(newStore().appendEventOnce('inc-1', 'resolution', event)).resolves.toBeUndefined();
    await expect(newStore().appendEventOnce('inc-1', 'resolution', event)).rejects.toThrow('boom');
    const input = ddb.commandCalls(PutCommand)[0]!.args[0].input;
    expect(input.Item).toMatchObject({ pk: 'INCIDENT#inc-1', sk: `EVENT#${AT}#once-resolution`, kind: 'EVENT', event });
    expect(input.ConditionExpression).toBe('attribute_not_exists(pk)');
  });
});
