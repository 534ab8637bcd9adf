/**
 * What the twin cannot show about DynamoIncidentStore on AWS, with aws-sdk-client-mock: a throttle, a DynamoDB 5xx or a connection that failed
 * (after the SDK's retries) at any call is `StoreUnavailable`, and the API answers it 503 with Retry-After; a
 * ConditionalCheckFailedException at each conditional write of the opening journal, correlation, decideApproval and
 * withdrawApproval lands on the documented outcome; an ambiguous failure of the opening claim releases it.
 */
import {
  DynamoDBServiceException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
} from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryEventPublisher } from '../../../functions/core/events.ts';
import { StaticSecret } from '../../../functions/core/secrets.ts';
import { StoreUnavailable } from '../../../functions/core/store/dynamo-store.ts';
import { ApprovalAlreadyDecided, ApprovalRequestMismatch, IncidentNotFound } from '../../../functions/core/store/store.ts';
import { ingestAlert } from '../../../functions/ingest-alert/core.ts';
import { FakeWorkflow, SECRET, apiEvent, bodyOf, statusOf } from '../api/fixtures.ts';
import { alertFixture } from './contract.ts';
import { ccf, ddb, metaItem, newStore } from './dynamo-fixtures.ts';

const meta = (overrides: Record<string, unknown> = {}) => metaItem('2024-05-01T11:59:00.000Z', { alertOpenings: new Set(['c1.0']), ...overrides });

const claim = (claimId = 'mine') => ({ claimId, claimedBy: 'dynatrace:PID-1', at: new Date('2024-05-01T12:00:00.000Z'), leaseMs: 60_000 });

beforeEach(() => {
  ddb.reset();
});

describe('unit: DynamoIncidentStore turns throttling and DynamoDB server errors into StoreUnavailable', () => {
  const failures = [
    ['ProvisionedThroughputExceededException', () => new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds the allowed throughput', $metadata: { httpStatusCode: 400 } })],
    ['ThrottlingException', () => new DynamoDBServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } })],
    ['RequestLimitExceeded', () => new RequestLimitExceeded({ message: 'Throughput exceeds the account limit', $metadata: { httpStatusCode: 400 } })],
    ['InternalServerError', () => new InternalServerError({ message: 'Internal server error', $metadata: { httpStatusCode: 500 } })],
    ['a bare 503', () => new DynamoDBServiceException({ name: 'ServiceUnavailable', $fault: 'server', message: 'Service unavailable', $metadata: { httpStatusCode: 503 } })],
    // What the SDK lets escape when every attempt's connection failed: a plain Error with Node's code, no $fault.
    ['ECONNREFUSED', () => Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED', $metadata: { attempts: 3 } })],
    ['ECONNRESET', () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', $metadata: { attempts: 3 } })],
  ] as const;

  it.each(failures)('%s at recordAlert, a read, an update, decideApproval and claimOpening → StoreUnavailable naming it', async (name, failure) => {
    // Prepare
    ddb.onAnyCommand().rejects(failure());
    const store = newStore();
    // Act
    const calls = [
      store.recordAlert(alertFixture(), {}, () => 'inc-1', { correlationWindowSeconds: 300 }),
      store.getIncident('inc-1'),
      store.updateIncident('inc-1', { status: 'INVESTIGATING' }),
      store.decideApproval('inc-1', 'approve', 'james.wu'),
      store.claimOpening('inc-1', claim()),
      store.listIncidents({ status: 'OPEN' }),
    ];
    // Assess
    for (const call of calls) {
      const error = await call.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StoreUnavailable);
      expect(error).toMatchObject({ name: 'StoreUnavailable', retryable: true, message: expect.stringContaining(name === 'a bare 503' ? 'HTTP 503' : name) });
    }
  });

  it('passes a conditional check failure, a validation error and an endpoint that does not resolve through unchanged', async () => {
    ddb.on(UpdateCommand).rejects(ccf());
    ddb.on(GetCommand).resolves({});
    await expect(newStore().setExecutionArn('inc-1', 'arn')).rejects.toBeInstanceOf(IncidentNotFound);
    ddb.reset();
    ddb.on(PutCommand).rejects(new DynamoDBServiceException({ name: 'ValidationException', $fault: 'client', message: 'Item size has exceeded the maximum allowed size', $metadata: { httpStatusCode: 400 } }));
    await expect(newStore().appendEvent('inc-1', { type: 't', message: 'm' })).rejects.toMatchObject({ name: 'ValidationException' });
    ddb.reset();
    ddb.on(GetCommand).rejects(Object.assign(new Error('getaddrinfo ENOTFOUND dynamodb.nowhere.invalid'), { code: 'ENOTFOUND' }));
    await expect(newStore().getIncident('inc-1')).rejects.toSatisfy((e) => !(e instanceof StoreUnavailable) && (e as { code?: string }).code === 'ENOTFOUND');
  });

  it('makes the webhook answer 503 with Retry-After and the reason when DynamoDB throttles, not 500', async () => {
    // Prepare
    ddb.onAnyCommand().rejects(new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds the allowed throughput', $metadata: { httpStatusCode: 400 } }));
    const ingest = ingestAlert({
      store: newStore(),
      workflow: new FakeWorkflow(),
      events: new MemoryEventPublisher(),
      secret: new StaticSecret(SECRET),
      config: { MAX_BODY_BYTES: 65536, VERIFY_WAIT_SECONDS: 30, MAX_VERIFY_CHECKS: 3 },
      clock: () => new Date('2024-05-01T12:00:00.000Z'),
    });
    // Act
    const result = await ingest(apiEvent('POST /alerts/{source}', { path: { source: 'generic' }, rawBody: JSON.stringify({ id: 'a', title: 't', service: 's' }) }));
    // Assess
    expect(statusOf(result)).toBe(503);
    expect(result.headers?.['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(bodyOf(result)).toMatchObject({ error: 'service_unavailable', message: expect.stringMatching(/throttling.*ProvisionedThroughputExceededException.*retry later/) });
  });

  it('makes the webhook answer 503 with Retry-After naming the code when DynamoDB cannot be reached, not 500', async () => {
    // Prepare
    ddb.onAnyCommand().rejects(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED', $metadata: { attempts: 3 } }));
    const ingest = ingestAlert({
      store: newStore(),
      workflow: new FakeWorkflow(),
      events: new MemoryEventPublisher(),
      secret: new StaticSecret(SECRET),
      config: { MAX_BODY_BYTES: 65536, VERIFY_WAIT_SECONDS: 30, MAX_VERIFY_CHECKS: 3 },
      clock: () => new Date('2024-05-01T12:00:00.000Z'),
    });
    // Act
    const result = await ingest(apiEvent('POST /alerts/{source}', { path: { source: 'generic' }, rawBody: JSON.stringify({ id: 'a', title: 't', service: 's' }) }));
    // Assess
    expect(statusOf(result)).toBe(503);
    expect(result.headers?.['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(bodyOf(result)).toMatchObject({ error: 'service_unavailable', message: expect.stringMatching(/could not be reached \(ECONNREFUSED\).*retry later/) });
  });
});

describe('unit: DynamoIncidentStore opening journal, conditional writes', () => {
  it('claims with one conditional update: not closed, not published, no live claim, not an incident from before the journal', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: meta({ opening: { claimId: 'mine', claimedBy: 'dynatrace:PID-1', claimedUntil: '2024-05-01T12:01:00.000Z' } }) });
    const result = await newStore().claimOpening('inc-1', claim());
    expect(result).toMatchObject({ claimed: true, incident: { opening: { claimId: 'mine' } } });
    const input = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(input.Key).toEqual({ pk: 'INCIDENT#inc-1', sk: 'META' });
    expect(input.ConditionExpression).toBe(
      'attribute_exists(pk) AND NOT #status IN (:v2, :v3, :v4) AND attribute_not_exists(#opening.#publishedAt) AND (attribute_not_exists(#opening) OR #opening.#claimedUntil < :v5) AND (attribute_exists(#opening) OR attribute_not_exists(#executionArn))',
    );
    expect(input.ExpressionAttributeNames).toMatchObject({ '#status': 'status', '#opening': 'opening', '#publishedAt': 'publishedAt', '#claimedUntil': 'claimedUntil', '#executionArn': 'executionArn' });
    expect(input.ExpressionAttributeValues?.[':v0']).toEqual({ claimId: 'mine', claimedBy: 'dynatrace:PID-1', claimedUntil: '2024-05-01T12:01:00.000Z' });
    expect([':v2', ':v3', ':v4'].map((v) => input.ExpressionAttributeValues?.[v])).toEqual(['RESOLVED', 'ESCALATED', 'FAILED']);
    expect(input.ExpressionAttributeValues?.[':v5']).toBe('2024-05-01T12:00:00.000Z');
    expect(ddb.calls()).toHaveLength(1);
  });

  it('a claim refused on a closed incident reads META once and reports it closed, so no caller starts or publishes', async () => {
    // Prepare: the caller read the incident open; the workflow escalated it before the claim
    ddb.on(UpdateCommand).rejects(ccf());
    ddb.on(GetCommand).resolves({ Item: meta({ status: 'ESCALATED', opening: { claimId: 'failed', claimedBy: 'x', claimedUntil: new Date(0).toISOString() } }) });
    // Act
    const result = await newStore().claimOpening('inc-1', claim());
    // Assess
    expect(result).toMatchObject({ claimed: false, incident: { status: 'ESCALATED', opening: { claimId: 'failed' } } });
    expect(ddb.calls()).toHaveLength(2);
  });

  it('on ConditionalCheckFailed reads META once and reports who holds the claim; no META → IncidentNotFound', async () => {
    ddb.on(UpdateCommand).rejects(ccf());
    ddb.on(GetCommand).resolvesOnce({ Item: meta({ opening: { claimId: 'theirs', claimedBy: 'x', claimedUntil: '2024-05-01T12:00:30.000Z' } }) }).resolves({});
    expect(await newStore().claimOpening('inc-1', claim())).toMatchObject({ claimed: false, incident: { opening: { claimId: 'theirs' } } });
    expect(ddb.commandCalls(GetCommand)[0].args[0].input).toMatchObject({ ConsistentRead: true });
    await expect(newStore().claimOpening('inc-1', claim())).rejects.toBeInstanceOf(IncidentNotFound);
  });

  it('records the execution only while holding the claim: ConditionalCheckFailed → false', async () => {
    ddb.on(UpdateCommand).resolvesOnce({ Attributes: meta() }).rejects(ccf());
    ddb.on(GetCommand).resolves({ Item: meta() });
    expect(await newStore().recordOpeningStarted('inc-1', 'mine', 'arn:x')).toBe(true);
    expect(await newStore().recordOpeningStarted('inc-1', 'mine', 'arn:x')).toBe(false);
    const input = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(input.ConditionExpression).toBe('attribute_exists(pk) AND #opening.#claimId = :v3');
    expect(input.ExpressionAttributeValues).toMatchObject({ ':v0': 'arn:x', ':v3': 'mine' });
  });

  it('records the execution ARN only where there is none: a rerun\'s ARN already on META is never replaced', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: meta({ executionArn: 'arn:rerun-1' }) });
    expect(await newStore().recordOpeningStarted('inc-1', 'mine', 'arn:original')).toBe(true);
    const input = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(input.UpdateExpression).toContain('#executionArn = if_not_exists(#executionArn, :v0)');
    expect(input.ExpressionAttributeValues).toMatchObject({ ':v0': 'arn:original' });
  });

  it('releases only its own unpublished claim, and a release that finds another holder is a quiet no-op', async () => {
    ddb.on(UpdateCommand).rejects(ccf());
    ddb.on(GetCommand).resolves({ Item: meta() });
    await expect(newStore().releaseOpening('inc-1', 'mine')).resolves.toBeUndefined();
    const input = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(input.ConditionExpression).toBe('attribute_exists(pk) AND #opening.#claimId = :v1 AND attribute_not_exists(#opening.#publishedAt)');
    expect(input.ExpressionAttributeValues).toMatchObject({ ':v0': new Date(0).toISOString(), ':v1': 'mine' });
  });

  it('releases a claim whose write failed ambiguously, so the webhook’s retry can take the opening at once', async () => {
    // Prepare: a new incident's META (no journal); the claim times out (it may have landed)
    ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' } } as never).resolves({ Attributes: { incidentId: 'inc-1', claimId: 'c1', alertState: 'OPEN', stateVersion: 0 } });
    ddb.on(UpdateCommand, { Key: { sk: 'META' } } as never).resolves({ Attributes: meta({ alertCount: 2 }) });
    ddb.on(UpdateCommand, { UpdateExpression: 'SET #opening = :v0, #updatedAt = :v1' } as never).rejects(Object.assign(new Error('socket timed out'), { name: 'TimeoutError' }));
    ddb.on(PutCommand).resolves({});
    ddb.on(GetCommand).resolves({ Item: meta() });
    const ingest = ingestAlert({
      store: newStore(),
      workflow: new FakeWorkflow(),
      events: new MemoryEventPublisher(),
      secret: new StaticSecret(SECRET),
      config: { MAX_BODY_BYTES: 65536, VERIFY_WAIT_SECONDS: 30, MAX_VERIFY_CHECKS: 3, CORRELATION_WINDOW_SECONDS: 0 },
      clock: () => new Date('2024-05-01T12:00:00.000Z'),
    });
    // Act
    const result = await ingest(apiEvent('POST /alerts/{source}', { path: { source: 'generic' }, rawBody: JSON.stringify({ id: 'a', title: 't', service: 's' }) }));
    // Assess
    expect(statusOf(result)).toBeGreaterThanOrEqual(500);
    const updates = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    const claimed = updates.find((u) => u.UpdateExpression === 'SET #opening = :v0, #updatedAt = :v1');
    const release = updates.at(-1);
    expect(release?.UpdateExpression).toBe('SET #opening.#claimedUntil = :v0');
    expect(release?.ExpressionAttributeValues?.[':v1']).toBe((claimed?.ExpressionAttributeValues?.[':v0'] as { claimId: string }).claimId);
  });
});

describe('unit: DynamoIncidentStore conditional writes a race can fail', () => {
  it('joins a correlation pointer naming an ESCALATED incident instead of replacing it', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: meta({ status: 'ESCALATED', alertCount: 2, alertOpenings: new Set(['c1.0', 'c2.0']) }) });
    ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' } } as never).rejects(ccf());
    ddb.on(UpdateCommand, { Key: { sk: 'CORR' } } as never).resolves({ Attributes: { incidentId: 'inc-1' } });
    ddb.on(GetCommand).resolves({ Item: meta({ status: 'ESCALATED' }) });
    ddb.on(PutCommand).resolves({});
    const result = await newStore().recordAlert(alertFixture({ dedupKey: 'PID-2' }), {}, () => 'inc-new', { correlationWindowSeconds: 300 });
    expect(result).toMatchObject({ disposition: 'correlated', incident: { incidentId: 'inc-1', status: 'ESCALATED' } });
    expect(ddb.commandCalls(PutCommand, { Item: { sk: 'CORR' } } as never)).toHaveLength(0);
  });

  it('folds into the winner’s incident when a concurrent delivery claimed the identity first (ConditionalCheckFailed on the DEDUP put)', async () => {
    ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' } } as never)
      .rejectsOnce(ccf())
      .resolves({ Attributes: { incidentId: 'inc-winner', claimId: 'cw', alertState: 'OPEN', stateVersion: 0 } });
    ddb.on(PutCommand, { Item: { sk: 'DEDUP' } } as never).rejects(ccf());
    ddb.on(PutCommand, { Item: { kind: 'ALERT' } } as never).resolves({});
    ddb.on(UpdateCommand, { Key: { sk: 'META' } } as never).resolves({ Attributes: meta({ incidentId: 'inc-winner', alertCount: 2, alertOpenings: new Set(['cw.0']) }) });
    const result = await newStore().recordAlert(alertFixture({ dedupKey: 'PID-3' }), {}, () => 'inc-loser');
    expect(result).toMatchObject({ created: false, disposition: 'deduplicated', incident: { incidentId: 'inc-winner' } });
    expect(ddb.commandCalls(UpdateCommand, { Key: { sk: 'META' } } as never)[0].args[0].input.Key).toEqual({ pk: 'INCIDENT#inc-winner', sk: 'META' });
  });

  it('decideApproval: ConditionalCheckFailed on another pending request → ApprovalRequestMismatch; on a decided one → ApprovalAlreadyDecided', async () => {
    ddb.on(UpdateCommand).rejects(ccf());
    ddb.on(GetCommand)
      .resolvesOnce({ Item: meta({ approval: { status: 'PENDING', requestId: 'req-2' }, approvalTaskToken: 'tok' }) })
      .resolves({ Item: meta({ approval: { status: 'APPROVED', approver: 'sarah.chen' }, approvalTaskToken: 'tok' }) });
    await expect(newStore().decideApproval('inc-1', 'approve', 'james.wu', undefined, 'req-1')).rejects.toBeInstanceOf(ApprovalRequestMismatch);
    await expect(newStore().decideApproval('inc-1', 'approve', 'james.wu', undefined, 'req-1')).rejects.toSatisfy((e) => e instanceof ApprovalAlreadyDecided && e.approval?.approver === 'sarah.chen');
    const input = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(input.ConditionExpression).toMatch(/^attribute_exists\(pk\) AND #approval\.#status = :v\d+ AND attribute_exists\(#approvalTaskToken\) AND #approval\.#requestId = :v\d+$/);
  });

  it('withdrawApproval: ConditionalCheckFailed while a human decided first → not withdrawn, not-pending; still open alerts → alerts-open', async () => {
    ddb.on(UpdateCommand).rejects(ccf());
    ddb.on(GetCommand)
      .resolvesOnce({ Item: meta({ approval: { status: 'REJECTED' }, approvalTaskToken: 'tok' }) })
      .resolves({ Item: meta({ approval: { status: 'PENDING' }, approvalTaskToken: 'tok' }) });
    expect(await newStore().withdrawApproval('inc-1', 'resolved')).toMatchObject({ withdrawn: false, reason: 'not-pending', approval: { status: 'REJECTED' } });
    expect(await newStore().withdrawApproval('inc-1', 'resolved')).toMatchObject({ withdrawn: false, reason: 'alerts-open' });
  });

  it('lists a status page after page with the index cursor (no item is skipped by the Limit)', async () => {
    ddb.on(QueryCommand)
      .resolvesOnce({ Items: [meta({ incidentId: 'inc-2', gsi1sk: 'b#inc-2' })], LastEvaluatedKey: { pk: 'x' } })
      .resolves({ Items: [meta({ incidentId: 'inc-1', gsi1sk: 'a#inc-1' })] });
    const { items } = await newStore().listIncidents({ status: 'OPEN', limit: 5 });
    expect(items.map((i) => i.incidentId)).toEqual(['inc-2', 'inc-1']);
  });
});

describe('unit: the webhook’s DynamoDB round trips per delivery (ingest-alert/core.ts module comment)', () => {
  const ingestWith = (workflow: FakeWorkflow, events: MemoryEventPublisher) =>
    ingestAlert({
      store: newStore(),
      workflow,
      events,
      secret: new StaticSecret(SECRET),
      config: { MAX_BODY_BYTES: 65536, VERIFY_WAIT_SECONDS: 30, MAX_VERIFY_CHECKS: 3, CORRELATION_WINDOW_SECONDS: 300 },
      clock: () => new Date('2024-05-01T12:00:00.000Z'),
      newIncidentId: () => 'inc-1',
    });
  const deliver = (ingest: ReturnType<typeof ingestWith>) =>
    ingest(apiEvent('POST /alerts/{source}', { path: { source: 'generic' }, rawBody: JSON.stringify({ id: 'PID-1', title: 't', service: 'inventory-service' }) }));

  it('a repeat of an incident whose opening is published costs 4 requests (refresh, count, ALERT, timeline), and nothing of Step Functions or EventBridge', async () => {
    // Prepare
    ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' } } as never).resolves({ Attributes: { incidentId: 'inc-1', claimId: 'c1', alertState: 'OPEN', stateVersion: 0 } });
    ddb.on(UpdateCommand, { Key: { sk: 'META' } } as never).resolves({
      Attributes: meta({ alertCount: 2, executionArn: 'arn:aws:states:us-east-1:1:execution:sm:inc-1', opening: { claimId: 'c', claimedBy: 'x', claimedUntil: '2024-05-01T12:00:30.000Z', publishedAt: '2024-05-01T11:59:01.000Z' } }),
    });
    ddb.on(PutCommand).resolves({});
    const workflow = new FakeWorkflow();
    const events = new MemoryEventPublisher();
    // Act
    const result = await deliver(ingestWith(workflow, events));
    // Assess
    expect(statusOf(result)).toBe(202);
    expect(bodyOf(result)).toMatchObject({ incidentId: 'inc-1', deduplicated: true });
    expect(ddb.calls()).toHaveLength(4);
    expect(workflow.executions.size).toBe(0);
    expect(events.events).toHaveLength(0);
  });

  it('a new incident costs 10 requests: 5 to record the alert, 1 timeline entry, and 4 for the opening (claim, record, timeline, mark)', async () => {
    // Prepare: no identity, no correlation pointer yet
    ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' } } as never).rejects(ccf());
    ddb.on(UpdateCommand, { Key: { sk: 'CORR' } } as never).resolves({});
    ddb.on(UpdateCommand, { Key: { sk: 'META' } } as never).resolves({ Attributes: meta({ alertCount: 1 }) });
    ddb.on(PutCommand).resolves({});
    const workflow = new FakeWorkflow();
    const events = new MemoryEventPublisher();
    // Act
    const result = await deliver(ingestWith(workflow, events));
    // Assess
    expect(statusOf(result)).toBe(202);
    expect(bodyOf(result)).toMatchObject({ incidentId: 'inc-1', deduplicated: false });
    expect(ddb.calls()).toHaveLength(10);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    expect(workflow.executions.size).toBe(1);
    expect(events.events.map((e) => e.detailType)).toEqual(['Incident Opened']);
  });
});
