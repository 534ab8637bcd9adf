/**
 * Command shapes of the alert-intake part of DynamoIncidentStore (correlation, resolution, withdrawal): the
 * conditions that make them race-safe without transactions. Behaviour is covered by the contract, run against
 * MemoryIncidentStore (unit) and against DynamoIncidentStore on dynalite (test/twin/intake.test.ts).
 */
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { AlertIdentityVanished, IntakeContention, StoreUnavailable, corrPk } from '../../../functions/core/store/dynamo-store.ts';
import { IncidentNotFound, IncidentNotReady, StoreRetryLater } from '../../../functions/core/store/store.ts';
import { alertFixture } from './contract.ts';
import { ccf, ddb, metaItem, newStore } from './dynamo-fixtures.ts';

const NOW = Date.parse('2024-05-01T12:00:00Z') / 1000;

const meta = (overrides: Record<string, unknown> = {}) => metaItem('2024-05-01T11:59:00.000Z', { status: 'INVESTIGATING', alertOpenings: new Set(['c1.0']), ...overrides });

describe('unit: DynamoIncidentStore alert intake command shapes', () => {
  beforeEach(() => {
    ddb.reset();
    ddb.on(PutCommand).resolves({});
  });

  it('joins a live correlation pointer: slides its window, claims the identity for that incident and counts it', async () => {
    // Prepare: no DEDUP pointer, a live CORR pointer naming an open incident
    ddb.on(UpdateCommand).resolves({ Attributes: meta({ alertCount: 2, alertOpenings: new Set(['c1.0', 'c2.0']) }) });
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
      ConditionExpression: 'attribute_not_exists(pk) OR #expiresAt >= :now',
      ExpressionAttributeValues: { ':exp': NOW + 300, ':now': NOW, ':candidate': 'inc-unused' },
      ReturnValues: 'ALL_OLD',
    });
    expect(corr.UpdateExpression).toContain('#incidentId = if_not_exists(#incidentId, :candidate)');
    expect(ddb.commandCalls(PutCommand, { Item: { sk: 'DEDUP' } } as never)[0].args[0].input.Item).toMatchObject({ pk: 'DEDUP#dynatrace:PID-2', incidentId: 'inc-1' });
    expect(ddb.commandCalls(PutCommand, { Item: { sk: 'CORR' } } as never)).toHaveLength(0);
    const alertItem = ddb.commandCalls(PutCommand).at(-1)?.args[0].input.Item;
    expect(alertItem).toMatchObject({ sk: 'ALERT#2024-05-01T12:00:00.000Z#000002', deduplicated: false, correlated: true });
    // Joining costs one more than opening: refresh (fails), CORR upsert, the joined incident's META read, DEDUP claim, META count, ALERT put.
    expect(ddb.calls()).toHaveLength(6);
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

  it('creates an absent correlation pointer for a new incident with the same upsert that would join a live one: one round trip', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: meta({ incidentId: 'inc-new' }) });
    ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' } } as never).rejects(ccf());
    ddb.on(UpdateCommand, { Key: { sk: 'CORR' } } as never).resolves({}); // no old image: it did not exist
    const result = await newStore().recordAlert(alertFixture({ dedupKey: 'PID-5' }), {}, () => 'inc-new', { correlationWindowSeconds: 60 });
    expect(result).toMatchObject({ created: true, disposition: 'opened' });
    expect(ddb.commandCalls(UpdateCommand, { Key: { sk: 'CORR' } } as never)).toHaveLength(1);
    expect(ddb.commandCalls(PutCommand, { Item: { sk: 'CORR' } } as never)).toHaveLength(0);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    expect(ddb.commandCalls(PutCommand, { Item: { sk: 'DEDUP' } } as never)[0].args[0].input.Item).toMatchObject({ incidentId: 'inc-new' });
    // A brand-new alert: refresh (fails), CORR upsert, DEDUP claim, META count, ALERT put.
    expect(ddb.calls()).toHaveLength(5);
  });

  it('claims an expired correlation pointer for a new incident', async () => {
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

  describe('a META count that fails, certainly or ambiguously', () => {
    const throttled = () => new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds the allowed throughput', $metadata: { httpStatusCode: 400 } });
    const timeout = () => Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    const added = (input: { UpdateExpression?: string; ExpressionAttributeValues?: Record<string, unknown> }, attribute: string) => {
      const match = new RegExp(`#${attribute} (:v\\d+)`).exec(input.UpdateExpression ?? '');
      return match ? input.ExpressionAttributeValues?.[match[1]] : undefined;
    };

    for (const [what, failure] of [['refused (throttled)', throttled], ['ambiguous (a timeout)', timeout]] as const) {
      it(`keeps the claim when the count is ${what}, and the retry adds the very tag the first attempt sent`, async () => {
        // Prepare: a new identity; its claim succeeds, the count fails
        ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' } } as never).rejectsOnce(ccf());
        ddb.on(UpdateCommand, { Key: { sk: 'META' } } as never).rejectsOnce(failure());
        ddb.on(DeleteCommand).resolves({});
        // Act: the first attempt fails; the retry finds the pointer it claimed
        const store = newStore();
        await expect(store.recordAlert(alertFixture({ dedupKey: 'PID-9' }), {}, () => 'inc-new')).rejects.toThrow();
        const claimed = ddb.commandCalls(PutCommand, { Item: { sk: 'DEDUP' } } as never)[0].args[0].input.Item ?? {};
        ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' } } as never).resolves({ Attributes: claimed });
        ddb.on(UpdateCommand, { Key: { sk: 'META' } } as never).resolves({ Attributes: meta({ incidentId: 'inc-new', alertOpenings: new Set([`${String(claimed.claimId)}.0`]) }) });
        await store.recordAlert(alertFixture({ dedupKey: 'PID-9' }), {}, () => 'inc-other');
        // Assess: nothing given back, both counts carry the same tag (the set keeps it once)
        expect(ddb.commandCalls(DeleteCommand)).toHaveLength(0);
        const counts = ddb.commandCalls(UpdateCommand, { Key: { sk: 'META' } } as never).map((c) => c.args[0].input);
        expect(counts.map((c) => c.Key?.pk)).toEqual(['INCIDENT#inc-new', 'INCIDENT#inc-new']);
        expect(counts.map((c) => added(c, 'alertOpenings'))).toEqual([new Set([`${String(claimed.claimId)}.0`]), new Set([`${String(claimed.claimId)}.0`])]);
        expect(ddb.commandCalls(PutCommand, { Item: { kind: 'ALERT' } } as never)).toHaveLength(1);
      });
    }

    it('leaves a reopened identity OPEN: the retry asserts its new opening (version 2), nothing is flipped back', async () => {
      ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' }, UpdateExpression: 'SET #expiresAt = :exp' } as never).resolves({ Attributes: { incidentId: 'inc-1', claimId: 'c1', alertState: 'RESOLVED', stateVersion: 1 } });
      ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' }, ExpressionAttributeValues: { ':to': 'OPEN' } } as never).resolves({ Attributes: { incidentId: 'inc-1', claimId: 'c1', alertState: 'OPEN', stateVersion: 2 } });
      // The re-fire's one read: its incident is still open (INVESTIGATING), so the identity reopens in it.
      ddb.on(GetCommand).resolves({ Item: meta() });
      ddb.on(UpdateCommand, { Key: { sk: 'META' } } as never).rejects(throttled());
      // A throttle is StoreUnavailable (retryable, 503 + Retry-After) since issue 9; it was the SDK's error before.
      await expect(newStore().recordAlert(alertFixture(), {}, () => 'inc-unused')).rejects.toBeInstanceOf(StoreUnavailable);
      const flips = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input).filter((i) => i.UpdateExpression?.includes('#state = :to'));
      expect(flips.map((f) => [f.ExpressionAttributeValues?.[':from'], f.ExpressionAttributeValues?.[':to']])).toEqual([['RESOLVED', 'OPEN']]);
      expect(flips[0].UpdateExpression).toBe('SET #state = :to, #changedAt = :at, #version = #version + :one');
      const count = ddb.commandCalls(UpdateCommand, { Key: { sk: 'META' } } as never)[0].args[0].input;
      expect([added(count, 'alertOpenings'), added(count, 'alertResolutions')]).toEqual([new Set(['c1.0', 'c1.2']), new Set(['c1.1'])]);
    });
  });

  describe('a re-fire (an OPEN delivery of a RESOLVED identity) whose incident is RESOLVED', () => {
    const resolvedPointer = { pk: 'DEDUP#dynatrace:PID-1', sk: 'DEDUP', incidentId: 'inc-1', claimId: 'c1', alertState: 'RESOLVED', stateVersion: 1 };

    it('re-points the identity with a put conditional on the pointer as read, never flipping it in the resolved incident', async () => {
      // Prepare: the live pointer is RESOLVED and names inc-1, which is RESOLVED; no correlation window
      ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' }, UpdateExpression: 'SET #expiresAt = :exp' } as never).resolves({ Attributes: resolvedPointer });
      ddb.on(GetCommand).resolves({ Item: meta({ status: 'RESOLVED' }) });
      ddb.on(UpdateCommand, { Key: { sk: 'META' } } as never).resolves({ Attributes: meta({ incidentId: 'inc-new', status: 'OPEN' }) });
      // Act
      const result = await newStore().recordAlert(alertFixture(), {}, () => 'inc-new');
      // Assess
      expect(result).toMatchObject({ created: true, disposition: 'opened', incident: { incidentId: 'inc-new' } });
      const repoint = ddb.commandCalls(PutCommand, { Item: { sk: 'DEDUP' } } as never)[0].args[0].input;
      expect(repoint).toMatchObject({
        Item: { pk: 'DEDUP#dynatrace:PID-1', incidentId: 'inc-new', alertState: 'OPEN', stateVersion: 0, repointedFrom: 'inc-1' },
        ConditionExpression: '#incidentId = :incidentId AND #claimId = :claimId AND #state = :state AND #version = :version',
        ExpressionAttributeValues: { ':incidentId': 'inc-1', ':claimId': 'c1', ':state': 'RESOLVED', ':version': 1 },
      });
      expect(repoint.Item?.claimId).not.toBe('c1');
      expect(ddb.commandCalls(UpdateCommand).filter((c) => c.args[0].input.UpdateExpression?.includes('#state = :to'))).toHaveLength(0);
      expect(ddb.commandCalls(UpdateCommand, { Key: { sk: 'META' } } as never).map((c) => c.args[0].input.Key?.pk)).toEqual(['INCIDENT#inc-new']);
    });

    it('folds into the pointer a concurrent re-fire re-pointed first, when its own re-point is refused', async () => {
      ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' }, UpdateExpression: 'SET #expiresAt = :exp' } as never)
        .resolvesOnce({ Attributes: resolvedPointer })
        .resolves({ Attributes: { ...resolvedPointer, incidentId: 'inc-theirs', claimId: 'c2', alertState: 'OPEN', stateVersion: 0 } });
      ddb.on(GetCommand).resolves({ Item: meta({ status: 'RESOLVED' }) });
      ddb.on(PutCommand, { Item: { sk: 'DEDUP' } } as never).rejects(ccf());
      ddb.on(UpdateCommand, { Key: { sk: 'META' } } as never).resolves({ Attributes: meta({ incidentId: 'inc-theirs', status: 'OPEN', alertCount: 2 }) });
      const result = await newStore().recordAlert(alertFixture(), {}, () => 'inc-mine');
      expect(result).toMatchObject({ created: false, disposition: 'deduplicated', incident: { incidentId: 'inc-theirs' } });
      expect(ddb.commandCalls(PutCommand, { Item: { sk: 'DEDUP' } } as never)).toHaveLength(1);
    });

    it('reads the incident only on that flip: a repeat of an OPEN identity reads nothing', async () => {
      ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' }, UpdateExpression: 'SET #expiresAt = :exp' } as never).resolves({ Attributes: { ...resolvedPointer, alertState: 'OPEN', stateVersion: 0 } });
      ddb.on(UpdateCommand, { Key: { sk: 'META' } } as never).resolves({ Attributes: meta({ status: 'RESOLVED', alertCount: 2 }) });
      const result = await newStore().recordAlert(alertFixture(), {}, () => 'inc-unused');
      expect(result).toMatchObject({ disposition: 'deduplicated', incident: { incidentId: 'inc-1', status: 'RESOLVED' } });
      expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    });
  });

  it('resolves an identity with a conditional state change and adds its opening and resolution tags', async () => {
    const sets = { alertOpenings: new Set(['c1.0']), alertResolutions: new Set(['c1.1']) };
    ddb.on(UpdateCommand, { Key: { sk: 'META' } } as never).resolves({ Attributes: meta({ alertCount: 2, ...sets }) });
    ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' }, UpdateExpression: 'SET #expiresAt = :exp' } as never).resolves({ Attributes: { incidentId: 'inc-1', claimId: 'c1', alertState: 'OPEN', stateVersion: 0 } });
    ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' }, ExpressionAttributeValues: { ':to': 'RESOLVED' } } as never).resolves({ Attributes: { incidentId: 'inc-1', claimId: 'c1', alertState: 'RESOLVED', stateVersion: 1 } });
    const result = await newStore().resolveAlert(alertFixture({ state: 'RESOLVED' }), {});
    expect(result).toMatchObject({ newlyResolved: true, allResolved: true, incident: { distinctAlerts: 1, resolvedAlerts: 1 } });
    const flip = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input).find((i) => i.UpdateExpression?.includes('#state = :to'));
    expect(flip).toMatchObject({ ConditionExpression: '#state = :from', ExpressionAttributeValues: { ':to': 'RESOLVED', ':from': 'OPEN', ':one': 1 } });
    const count = ddb.commandCalls(UpdateCommand, { Key: { sk: 'META' } } as never)[0].args[0].input;
    expect(count.UpdateExpression).toMatch(/ADD #alertCount :v\d, #alertOpenings :v\d, #alertResolutions :v\d$/);
    expect(Object.values(count.ExpressionAttributeValues ?? {})).toEqual([1, new Set(['c1.0']), new Set(['c1.1']), '2024-05-01T12:00:00.000Z']);
  });

  it('keeps the identity RESOLVED and throws IncidentNotReady when its incident has no META yet', async () => {
    // Prepare: a live OPEN pointer, the flip succeeds, META is absent (its count fails the existence condition).
    // Nothing is flipped back: the sender's retry finds the identity RESOLVED and adds the same tags (flipping it
    // back would bump its version and leave the first resolution's tag unpaired).
    ddb.on(UpdateCommand).resolves({ Attributes: { incidentId: 'inc-half', claimId: 'c1', alertState: 'RESOLVED', stateVersion: 1 } });
    ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' }, UpdateExpression: 'SET #expiresAt = :exp' } as never).resolves({ Attributes: { incidentId: 'inc-half', claimId: 'c1', alertState: 'OPEN', stateVersion: 0 } });
    ddb.on(UpdateCommand, { Key: { sk: 'META' } } as never).rejects(ccf());
    ddb.on(GetCommand).resolves({});
    // Act
    const error = await newStore().resolveAlert(alertFixture({ state: 'RESOLVED' }), {}).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(IncidentNotReady);
    expect((error as IncidentNotReady).incidentId).toBe('inc-half');
    const flips = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input).filter((i) => i.UpdateExpression?.includes('#state = :to'));
    expect(flips.map((f) => [f.ExpressionAttributeValues?.[':from'], f.ExpressionAttributeValues?.[':to']])).toEqual([['OPEN', 'RESOLVED']]);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('gives up with a retryable IntakeContention naming the pointer when the dedup pointer changes under every claim', async () => {
    // Prepare: the claim always loses, and the winner's pointer is never live when read back (it expired in between)
    ddb.on(UpdateCommand).rejects(ccf());
    ddb.on(PutCommand).rejects(ccf());
    // Act
    const error = await newStore().recordAlert(alertFixture({ dedupKey: 'PID-7' }), {}, () => 'inc-new').catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(IntakeContention);
    expect(error).toBeInstanceOf(StoreRetryLater);
    expect((error as Error).message).toContain('DEDUP#dynatrace:PID-7');
    expect(ddb.commandCalls(PutCommand, { Item: { sk: 'DEDUP' } } as never)).toHaveLength(2);
  });

  it('gives up with a retryable IntakeContention naming the correlation pointer when it changes under every round', async () => {
    // Prepare: the live pointer names a closed incident each time, and its replacement always loses
    ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' } } as never).rejects(ccf());
    ddb.on(UpdateCommand, { Key: { sk: 'CORR' } } as never).resolves({ Attributes: { incidentId: 'inc-closed' } });
    ddb.on(GetCommand).resolves({ Item: meta({ incidentId: 'inc-closed', status: 'RESOLVED' }) });
    ddb.on(PutCommand, { Item: { sk: 'CORR' } } as never).rejects(ccf());
    const error = await newStore().recordAlert(alertFixture({ dedupKey: 'PID-8' }), {}, () => 'inc-new', { correlationWindowSeconds: 60 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntakeContention);
    expect((error as Error).message).toContain(corrPk('w1', 'inventory-service'));
  });

  it('fails a flip whose pointer vanished (TTL deletion) with a retryable AlertIdentityVanished', async () => {
    ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' }, UpdateExpression: 'SET #expiresAt = :exp' } as never).resolves({ Attributes: { incidentId: 'inc-1', claimId: 'c1', alertState: 'OPEN', stateVersion: 0 } });
    ddb.on(UpdateCommand, { Key: { sk: 'DEDUP' }, ExpressionAttributeValues: { ':to': 'RESOLVED' } } as never).rejects(ccf());
    ddb.on(GetCommand).resolves({});
    const error = await newStore().resolveAlert(alertFixture({ state: 'RESOLVED' }), {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AlertIdentityVanished);
    expect(error).toBeInstanceOf(StoreRetryLater);
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
    // As many resolutions as openings: every identity resolved.
    expect(input.ConditionExpression).toBe(
      'attribute_exists(pk) AND #approval.#status = :v5 AND attribute_exists(#approvalTaskToken) AND attribute_exists(#alertOpenings) AND size(#alertResolutions) >= size(#alertOpenings)',
    );
    expect(input.ExpressionAttributeValues).toMatchObject({ ':v5': 'PENDING' });
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
