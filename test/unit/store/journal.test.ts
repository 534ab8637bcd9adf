/**
 * The action journal: its contract (claim once, complete once, take over only a held claim) run against the memory
 * journal, and the DynamoDB journal's conditional paths with aws-sdk-client-mock (the conditions that make it
 * race-safe without transactions, and what a refused condition or a throttle turns into). The DynamoDB journal on
 * dynalite is exercised by test/twin/rerun.test.ts.
 */
import { ConditionalCheckFailedException, DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { RETRYABLE_ERROR_NAMES, isRetryable } from '../../../functions/core/errors.ts';
import type { ExecutedAction, MitigationAction } from '../../../functions/core/model.ts';
import {
  type ActionJournal,
  DynamoActionJournal,
  JournalClaimLost,
  JournalEntryInvalid,
  JournalUnavailable,
  MemoryActionJournal,
  mitigationSteps,
  stepKey,
} from '../../../functions/core/store/journal.ts';

const TABLE = 'incidents';
const restart: Pick<MitigationAction, 'kind' | 'service' | 'target' | 'reversible'> = { kind: 'restart-service', service: 'inventory-service', reversible: false };
const KEY = stepKey('apply', restart);
const AT = '2026-03-14T12:00:00.000Z';
const result: ExecutedAction = { kind: 'restart-service', service: 'inventory-service', status: 'succeeded', detail: 'restarted', executedAt: AT };
const ccf = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

describe('unit: action journal contract (memory)', () => {
  const journal: () => ActionJournal = () => new MemoryActionJournal();

  it('claims a step once: a second claim gets the first claim back, not a claim of its own', async () => {
    const j = journal();
    const first = await j.claim({ incidentId: 'inc-1', mode: 'apply', action: restart, claimId: 'c1', claimedAt: AT });
    const second = await j.claim({ incidentId: 'inc-1', mode: 'apply', action: restart, claimId: 'c2', claimedAt: AT });
    expect(first).toMatchObject({ claimed: true, entry: { key: KEY, state: 'claimed', claimId: 'c1', attempts: 1, reversible: false } });
    expect(second).toMatchObject({ claimed: false, entry: { claimId: 'c1' } });
  });

  it('completes only with the claim that holds the step, and a repeated completion by it is a no-op', async () => {
    const j = journal();
    await j.claim({ incidentId: 'inc-1', mode: 'apply', action: restart, claimId: 'c1', claimedAt: AT });
    await expect(j.complete('inc-1', KEY, 'c2', result, AT)).rejects.toBeInstanceOf(JournalClaimLost);
    const done = await j.complete('inc-1', KEY, 'c1', result, AT);
    expect(done).toMatchObject({ state: 'done', result });
    expect(await j.complete('inc-1', KEY, 'c1', { ...result, detail: 'other' }, AT)).toMatchObject({ result: { detail: 'restarted' } });
  });

  it('takes over a claim only while the expected claim holds it and it is not done', async () => {
    const j = journal();
    await j.claim({ incidentId: 'inc-1', mode: 'apply', action: { ...restart, reversible: true }, claimId: 'c1', claimedAt: AT });
    expect(await j.takeOver('inc-1', KEY, 'c0', 'c2', AT)).toMatchObject({ claimed: false, entry: { claimId: 'c1' } });
    expect(await j.takeOver('inc-1', KEY, 'c1', 'c2', AT)).toMatchObject({ claimed: true, entry: { claimId: 'c2', attempts: 2 } });
    await j.complete('inc-1', KEY, 'c2', result, AT);
    expect(await j.takeOver('inc-1', KEY, 'c2', 'c3', AT)).toMatchObject({ claimed: false, entry: { state: 'done' } });
  });

  it('treats the same claim (or take-over) made again as holding the step: a retried request is not another claimant', async () => {
    // Prepare
    const j = journal();
    const scaleOut = { kind: 'scale-service', service: 'inventory-service', reversible: true } as const;
    await j.claim({ incidentId: 'inc-1', mode: 'apply', action: scaleOut, claimId: 'c1', claimedAt: AT });
    // Act
    const again = await j.claim({ incidentId: 'inc-1', mode: 'apply', action: scaleOut, claimId: 'c1', claimedAt: AT });
    await j.takeOver('inc-1', stepKey('apply', scaleOut), 'c1', 'c2', AT);
    const takenAgain = await j.takeOver('inc-1', stepKey('apply', scaleOut), 'c1', 'c2', AT);
    // Assess
    expect(again).toMatchObject({ claimed: true, entry: { claimId: 'c1' } });
    expect(takenAgain).toMatchObject({ claimed: true, entry: { claimId: 'c2', attempts: 2 } });
  });

  it('lists one incident\'s steps, and mitigationSteps keeps every forward step that was sent, a failed one included', async () => {
    const j = journal();
    await j.claim({ incidentId: 'inc-1', mode: 'apply', action: restart, claimId: 'c1', claimedAt: AT });
    const scale = { kind: 'scale-service', service: 'inventory-service', reversible: true } as const;
    await j.claim({ incidentId: 'inc-1', mode: 'apply', action: scale, claimId: 'c2', claimedAt: AT });
    await j.complete('inc-1', stepKey('apply', scale), 'c2', { ...result, kind: 'scale-service', status: 'failed' }, AT);
    await j.claim({ incidentId: 'inc-1', mode: 'undo', action: scale, claimId: 'c4', claimedAt: AT });
    await j.claim({ incidentId: 'inc-2', mode: 'apply', action: restart, claimId: 'c3', claimedAt: AT });
    const entries = await j.list('inc-1');
    expect(entries.map((e) => e.key)).toEqual([KEY, stepKey('apply', scale), stepKey('undo', scale)].sort());
    // A failed result may have acted (an adapter's timeout, an unconfirmed SSM run): it counts as sent.
    expect(mitigationSteps(entries).map((e) => e.key)).toEqual([KEY, stepKey('apply', scale)].sort());
  });
});

describe('unit: DynamoActionJournal conditional writes (aws-sdk-client-mock)', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const journal = () => new DynamoActionJournal(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), TABLE);
  const item = (overrides: Record<string, unknown> = {}) => ({
    pk: 'INCIDENT#inc-1',
    sk: `ACTION#${KEY}`,
    incidentId: 'inc-1',
    key: KEY,
    mode: 'apply',
    action: { kind: 'restart-service', service: 'inventory-service' },
    reversible: false,
    state: 'claimed',
    claimId: 'c1',
    claimedAt: AT,
    attempts: 1,
    ...overrides,
  });

  beforeEach(() => {
    ddb.reset();
  });

  it('claims with a put conditioned on the item not existing, in the incident\'s partition', async () => {
    ddb.on(PutCommand).resolves({});
    const outcome = await journal().claim({ incidentId: 'inc-1', mode: 'apply', action: restart, claimId: 'c1', claimedAt: AT });
    expect(outcome.claimed).toBe(true);
    const put = ddb.commandCalls(PutCommand)[0].args[0].input;
    expect(put).toMatchObject({ TableName: TABLE, ConditionExpression: 'attribute_not_exists(#pk)', Item: { pk: 'INCIDENT#inc-1', sk: `ACTION#${KEY}`, state: 'claimed', claimId: 'c1' } });
  });

  it('a refused claim reads the holder consistently and returns it', async () => {
    ddb.on(PutCommand).rejects(ccf());
    ddb.on(GetCommand).resolves({ Item: item({ state: 'done', result }) });
    const outcome = await journal().claim({ incidentId: 'inc-1', mode: 'apply', action: restart, claimId: 'c2', claimedAt: AT });
    expect(outcome).toMatchObject({ claimed: false, entry: { claimId: 'c1', state: 'done', result } });
    expect(ddb.commandCalls(GetCommand)[0].args[0].input).toMatchObject({ ConsistentRead: true, Key: { pk: 'INCIDENT#inc-1', sk: `ACTION#${KEY}` } });
  });

  it('completes with an update conditioned on holding the claim and it not being done', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: item({ state: 'done', result, completedAt: AT }) });
    const done = await journal().complete('inc-1', KEY, 'c1', result, AT);
    expect(done).toMatchObject({ state: 'done', result });
    const update = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(update.ConditionExpression).toBe('#claimId = :claimId AND #state = :claimed');
    expect(update.ExpressionAttributeValues).toMatchObject({ ':claimId': 'c1', ':claimed': 'claimed', ':done': 'done' });
  });

  it('a refused completion is a no-op when this claim already completed it (a retried call)', async () => {
    ddb.on(UpdateCommand).rejects(ccf());
    ddb.on(GetCommand).resolves({ Item: item({ state: 'done', result }) });
    await expect(journal().complete('inc-1', KEY, 'c1', result, AT)).resolves.toMatchObject({ state: 'done' });
  });

  it('a refused completion throws JournalClaimLost when another claim holds the step', async () => {
    ddb.on(UpdateCommand).rejects(ccf());
    ddb.on(GetCommand).resolves({ Item: item({ claimId: 'c9' }) });
    await expect(journal().complete('inc-1', KEY, 'c1', result, AT)).rejects.toBeInstanceOf(JournalClaimLost);
  });

  it('takes over with an update conditioned on the old claim id and the step still claimed; a lost race returns the winner', async () => {
    ddb.on(UpdateCommand).rejectsOnce(ccf()).resolves({ Attributes: item({ claimId: 'c2', attempts: 2 }) });
    ddb.on(GetCommand).resolves({ Item: item({ claimId: 'c7', attempts: 2 }) });
    const lost = await journal().takeOver('inc-1', KEY, 'c1', 'c2', AT);
    expect(lost).toMatchObject({ claimed: false, entry: { claimId: 'c7' } });
    const won = await journal().takeOver('inc-1', KEY, 'c1', 'c2', AT);
    expect(won).toMatchObject({ claimed: true, entry: { claimId: 'c2', attempts: 2 } });
    const update = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(update.ConditionExpression).toBe('#state = :claimed AND #claimId = :expected');
    expect(update.ExpressionAttributeValues).toMatchObject({ ':expected': 'c1', ':claimId': 'c2' });
  });

  it('refuses a done item without a result as JournalEntryInvalid, rather than an entry the executor would retake for ever', async () => {
    // Prepare: a hand-edited (or foreign) item says done but carries no result
    ddb.on(GetCommand).resolves({ Item: item({ state: 'done', reversible: true }) });
    // Act
    const error = await journal()
      .get('inc-1', KEY)
      .catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(JournalEntryInvalid);
    expect((error as Error).message).toContain(`ACTION#${KEY}`);
  });

  it('refuses a claim whose time does not parse as JournalEntryInvalid, rather than a claim that never goes stale', async () => {
    // Prepare: claimedAt is not a time (its age would be NaN: in flight for ever)
    ddb.on(GetCommand).resolves({ Item: item({ claimedAt: 'yesterday' }) });
    // Act
    const error = await journal()
      .get('inc-1', KEY)
      .catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(JournalEntryInvalid);
  });

  it('lists every page of the incident\'s ACTION# items', async () => {
    ddb.on(QueryCommand).resolvesOnce({ Items: [item()], LastEvaluatedKey: { pk: 'INCIDENT#inc-1', sk: `ACTION#${KEY}` } }).resolves({ Items: [item({ key: 'apply#x#y#', sk: 'ACTION#apply#x#y#' })] });
    const entries = await journal().list('inc-1');
    expect(entries.map((e) => e.key)).toEqual([KEY, 'apply#x#y#']);
    expect(ddb.commandCalls(QueryCommand)[0].args[0].input).toMatchObject({ ConsistentRead: true, ExpressionAttributeValues: { ':pk': 'INCIDENT#inc-1', ':prefix': 'ACTION#' } });
  });

  it('a claim refused by its own first attempt (the SDK sent the put again after it landed) holds the step', async () => {
    // Prepare: the put landed, its answer was lost, the SDK's retry of it is refused by the item it wrote
    let written: Record<string, unknown> | undefined;
    ddb.on(PutCommand).callsFake((input: { Item: Record<string, unknown> }) => {
      written = input.Item;
      throw ccf();
    });
    ddb.on(GetCommand).callsFake(() => ({ Item: written }));
    // Act
    const outcome = await journal().claim({ incidentId: 'inc-1', mode: 'apply', action: restart, claimId: 'c1', claimedAt: AT });
    // Assess: the step is ours to run, not another invocation's claim to wait for
    expect(outcome).toMatchObject({ claimed: true, entry: { claimId: 'c1', state: 'claimed' } });
  });

  it('a claim whose put timed out after landing holds the step; one that did not land is JournalUnavailable', async () => {
    // Prepare
    const timeout = () => Object.assign(new Error('socket timed out'), { name: 'TimeoutError' });
    let written: Record<string, unknown> | undefined;
    ddb.on(PutCommand).callsFakeOnce((input: { Item: Record<string, unknown> }) => {
      written = input.Item;
      throw timeout();
    }).rejects(timeout());
    ddb.on(GetCommand).callsFake(() => ({ Item: written }));
    // Act
    const landed = await journal().claim({ incidentId: 'inc-1', mode: 'apply', action: restart, claimId: 'c1', claimedAt: AT });
    written = undefined;
    const lost = await journal()
      .claim({ incidentId: 'inc-1', mode: 'apply', action: restart, claimId: 'c2', claimedAt: AT })
      .catch((e: unknown) => e);
    // Assess
    expect(landed).toMatchObject({ claimed: true, entry: { claimId: 'c1' } });
    expect(lost).toBeInstanceOf(JournalUnavailable);
  });

  it('a take-over refused by its own first attempt holds the step', async () => {
    ddb.on(UpdateCommand).rejects(ccf());
    ddb.on(GetCommand).resolves({ Item: item({ claimId: 'c2', attempts: 2, reversible: true }) });
    const outcome = await journal().takeOver('inc-1', KEY, 'c1', 'c2', AT);
    expect(outcome).toMatchObject({ claimed: true, entry: { claimId: 'c2', attempts: 2 } });
  });

  it('turns a server-side fault whose name is not in the contract (DynamoDB ServiceUnavailable, HTTP 503) into JournalUnavailable', async () => {
    // Prepare
    const unavailable = Object.assign(new Error('service unavailable'), { name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } });
    ddb.on(QueryCommand).rejects(unavailable);
    // Act
    const error = await journal()
      .list('inc-1')
      .catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(JournalUnavailable);
    expect(RETRYABLE_ERROR_NAMES).toContain((error as Error).name);
  });

  it('turns a DynamoDB connection that failed after the SDK\'s retries (ECONNRESET, no $fault) into JournalUnavailable, as the store does', async () => {
    // Prepare: what the SDK lets escape when every attempt's connection broke: a plain Error carrying Node's code
    ddb.on(QueryCommand).rejects(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', $metadata: { attempts: 3 } }));
    // Act
    const error = await journal()
      .list('inc-1')
      .catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(JournalUnavailable);
    expect((error as Error).message).toContain('socket hang up');
  });

  it('turns a DynamoDB throttle into JournalUnavailable, which the state machine retries', async () => {
    ddb.on(PutCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    const error = await journal()
      .claim({ incidentId: 'inc-1', mode: 'apply', action: restart, claimId: 'c1', claimedAt: AT })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JournalUnavailable);
    expect(isRetryable(error)).toBe(true);
    expect(RETRYABLE_ERROR_NAMES).toContain((error as Error).name);
  });
});
