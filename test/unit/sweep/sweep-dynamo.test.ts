/**
 * The opening sweeper on DynamoIncidentStore, with aws-sdk-client-mock: what the twin cannot show about its races on
 * AWS. It adds no conditional write of its own; these pin what the journal's conditions mean for it: a claim whose
 * condition fails (a live delivery or another sweeper won) starts and publishes nothing, a sweeper that lost its claim
 * after starting the execution does not publish, and a throttled status index fails the run (the next run retries).
 */
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryEventPublisher } from '../../../functions/core/events.ts';
import { StoreUnavailable } from '../../../functions/core/store/dynamo-store.ts';
import { sweepOpenings } from '../../../functions/sweep-openings/core.ts';
import { FakeWorkflow } from '../api/fixtures.ts';
import { manualClock } from '../store/contract.ts';
import { ccf, ddb, metaItem, newStore } from '../store/dynamo-fixtures.ts';


/** An OPEN incident recorded an hour before the clock (12:00), never claimed: the sweeper's candidate. */
const meta = (overrides: Record<string, unknown> = {}) =>
  metaItem('2024-05-01T11:00:00.000Z', { gsi1pk: 'STATUS#OPEN', gsi1sk: '2024-05-01T11:00:00.000Z#inc-1', alertOpenings: new Set(['c1.0']), ...overrides });
const othersClaim = { claimId: 'other', claimedBy: 'dynatrace:PID-1', claimedUntil: '2024-05-01T12:01:00.000Z' };

const setup = () => {
  const clock = manualClock('2024-05-01T12:00:00.000Z');
  const store = newStore({ clock });
  const workflow = new FakeWorkflow();
  const events = new MemoryEventPublisher({ validate: true });
  const sweep = sweepOpenings({ store, workflow, events, config: { VERIFY_WAIT_SECONDS: 30, MAX_VERIFY_CHECKS: 3 }, clock });
  // The status index lists the candidate under OPEN, nothing under any other status.
  ddb.on(QueryCommand).callsFake((input: { ExpressionAttributeValues: Record<string, unknown> }) => ({ Items: input.ExpressionAttributeValues[':gpk'] === 'STATUS#OPEN' ? [meta()] : [] }));
  return { sweep, workflow, events };
};

beforeEach(() => {
  ddb.reset();
});

describe('unit: sweep-openings on DynamoDB conditional writes', () => {
  it('starts and publishes nothing when its claim’s condition fails (a live delivery or another sweeper claimed first)', async () => {
    // Prepare
    const { sweep, workflow, events } = setup();
    ddb.on(UpdateCommand).rejects(ccf());
    ddb.on(GetCommand).resolves({ Item: meta({ opening: othersClaim }) });
    // Act
    const report = await sweep();
    // Assess
    expect(report).toMatchObject({ examined: 1, takenOver: [], skipped: ['inc-1'], failed: [], complete: true });
    expect(workflow.executions.size).toBe(0);
    expect(events.events).toEqual([]);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('does not publish when it lost its claim after starting the execution (recordOpeningStarted’s condition fails)', async () => {
    // Prepare: the claim wins; the record of the execution finds another claimant
    const { sweep, workflow, events } = setup();
    ddb.on(UpdateCommand).resolvesOnce({ Attributes: meta({ opening: { claimId: 'mine', claimedBy: 'sweep-openings', claimedUntil: '2024-05-01T12:01:00.000Z' } }) }).rejects(ccf());
    ddb.on(GetCommand).resolves({ Item: meta({ opening: othersClaim }) });
    // Act
    const report = await sweep();
    // Assess
    expect(report.takenOver).toEqual([{ incidentId: 'inc-1', was: 'unclaimed', executionArn: expect.stringContaining('inc-1'), started: true, published: false }]);
    expect(workflow.executions.size).toBe(1);
    expect(events.events).toEqual([]);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('fails the run with StoreUnavailable when the status index is throttled, having started nothing', async () => {
    const { sweep, workflow } = setup();
    ddb.on(QueryCommand).rejects(new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds the allowed throughput', $metadata: { httpStatusCode: 400 } }));
    await expect(sweep()).rejects.toBeInstanceOf(StoreUnavailable);
    expect(workflow.executions.size).toBe(0);
  });
});
