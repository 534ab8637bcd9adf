/**
 * Two conditional paths of DynamoIncidentStore that dynalite cannot show as DynamoDB has them, with aws-sdk-client-mock:
 * - the list cursor: a cursor whose decoded position is not a status sort key (`<ISO time>#<incident id>`, the id at
 *   most 128 characters of well-formed Unicode) is refused as InvalidCursor (400) before any Query is sent. dynalite
 *   answers such a position 200; DynamoDB refuses a key value over its size limit or that is not well-formed with a
 *   ValidationException, which the API would answer 500;
 * - `replaceExecutionArn`, the rerun's reservation of its execution: the condition sent is "the ARN is still the one
 *   read", and a ConditionalCheckFailedException answers `replaced: false` with META as it is (no overwrite).
 */
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { MAX_PATH_PARAM_CHARS } from '../../../functions/core/http.ts';
import { InvalidCursor, MAX_CURSOR_INCIDENT_ID_CHARS, decodeCursor, encodeCursor, statusSortKey } from '../../../functions/core/store/dynamo-store.ts';
import { queryIncidents } from '../../../functions/query-incidents/core.ts';
import { apiEvent, bodyOf, statusOf } from '../api/fixtures.ts';
import { ccf, ddb, metaItem, newStore } from './dynamo-fixtures.ts';

const cursorOf = (before: string) => Buffer.from(JSON.stringify({ v: 1, before }), 'utf8').toString('base64url');
const AT = '2024-05-01T12:00:00.000Z';

beforeEach(() => {
  ddb.reset();
});

describe('unit: decodeCursor accepts only a status sort key', () => {
  it('round-trips every cursor a page returns', () => {
    const before = statusSortKey(AT, 'inc-20240501-9f2c4e1a7b');
    expect(decodeCursor(encodeCursor(before))).toBe(before);
    expect(decodeCursor(encodeCursor(statusSortKey(AT, 'x'.repeat(MAX_CURSOR_INCIDENT_ID_CHARS))))).toMatch(/^2024-05-01T12:00:00\.000Z#x+$/);
  });

  it.each([
    ['a 1,500-character incident id', `${AT}#${'x'.repeat(1_500)}`, /longer than 128 characters/],
    ['a 1,500-character position without a time', 'y'.repeat(1_500), /ISO time/],
    ['a lone surrogate in the incident id', `${AT}#inc-\ud800`, /not well-formed Unicode/],
    ['a time that is not a real date', '2024-02-30T12:00:00.000Z#inc-1', /ISO time/],
    ['a time in another format', '2024-05-01 12:00:00#inc-1', /ISO time/],
    ['no incident id', `${AT}#`, /names no incident/],
    ['an empty position', '', /ISO time/],
  ])('refuses %s as InvalidCursor saying why', (_name, before, why) => {
    // Act
    const decoding = () => decodeCursor(cursorOf(before));
    // Assess
    expect(decoding).toThrow(InvalidCursor);
    expect(decoding).toThrow(why);
  });

  it('refuses a cursor that is not JSON, not an object, or of another version', () => {
    for (const cursor of ['not-a-cursor', Buffer.from('null').toString('base64url'), Buffer.from('"x"').toString('base64url'), Buffer.from(JSON.stringify({ v: 2, before: `${AT}#inc-1` })).toString('base64url')]) {
      expect(() => decodeCursor(cursor), cursor).toThrow(InvalidCursor);
    }
  });

  it('bounds the incident id as the routes bound a path parameter', () => {
    expect(MAX_CURSOR_INCIDENT_ID_CHARS).toBe(MAX_PATH_PARAM_CHARS);
  });

  it('answers GET /incidents with a forged cursor 400 naming the cursor, and sends DynamoDB nothing', async () => {
    // Prepare
    ddb.on(QueryCommand).resolves({ Items: [] });
    const query = queryIncidents({ store: newStore() });
    // Act
    // (1,000 characters: a cursor over 2,048 is refused by the route's own schema first)
    const long = await query(apiEvent('GET /incidents', { query: { cursor: cursorOf(`${AT}#${'x'.repeat(1_000)}`) }, secret: null }));
    const surrogate = await query(apiEvent('GET /incidents', { query: { cursor: cursorOf(`${AT}#inc-\ud800`) }, secret: null }));
    // Assess
    for (const result of [long, surrogate]) {
      expect(statusOf(result)).toBe(400);
      expect(bodyOf(result)).toMatchObject({ error: 'bad_request', message: expect.stringMatching(/^cursor is not one this API returned \(/) });
    }
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });
});

describe('unit: DynamoIncidentStore.replaceExecutionArn on DynamoDB', () => {
  const meta = (executionArn?: string) => metaItem(AT, { alertOpenings: new Set(['c1.0']), ...(executionArn ? { executionArn } : {}) });

  it('sends one update conditional on the ARN read, and on its absence when none was read', async () => {
    // Prepare
    ddb.on(UpdateCommand).resolves({ Attributes: meta('arn:rerun-1') });
    // Act
    const swapped = await newStore().replaceExecutionArn('inc-1', 'arn:original', 'arn:rerun-1');
    await newStore().replaceExecutionArn('inc-1', undefined, 'arn:rerun-1');
    // Assess
    expect(swapped).toMatchObject({ replaced: true, incident: { executionArn: 'arn:rerun-1' } });
    const [withArn, withoutArn] = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(withArn.ConditionExpression).toBe('attribute_exists(pk) AND #executionArn = :v2');
    expect(withArn.ExpressionAttributeValues).toMatchObject({ ':v0': 'arn:rerun-1', ':v2': 'arn:original' });
    expect(withoutArn.ConditionExpression).toBe('attribute_exists(pk) AND attribute_not_exists(#executionArn)');
  });

  it('answers a lost condition with replaced: false and META as it is, writing nothing more', async () => {
    // Prepare: another rerun recorded its execution after this one read META
    ddb.on(UpdateCommand).rejects(ccf());
    ddb.on(GetCommand).resolves({ Item: meta('arn:rerun-1-of-another') });
    // Act
    const swap = await newStore().replaceExecutionArn('inc-1', 'arn:original', 'arn:rerun-1');
    // Assess
    expect(swap).toMatchObject({ replaced: false, incident: { executionArn: 'arn:rerun-1-of-another' } });
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
    expect(ddb.commandCalls(GetCommand)[0].args[0].input).toMatchObject({ ConsistentRead: true });
  });
});
