/**
 * The rerun rule: a rerun of an incident whose mitigation was sent (the action journal holds a forward step, whatever
 * its result: succeeded, failed — which may have acted — or never completed) tells the state machine so
 * (`earlierMitigation`), and says on the timeline that it verifies that mitigation instead of diagnosing again.
 * Without a forward step it starts from scratch.
 */
import { describe, expect, it } from 'vitest';
import { MemoryEventPublisher } from '../../../functions/core/events.ts';
import { StaticSecret } from '../../../functions/core/secrets.ts';
import { MemoryActionJournal, stepKey } from '../../../functions/core/store/journal.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { rerunIncident } from '../../../functions/rerun-incident/core.ts';
import { alertFixture } from '../store/contract.ts';
import { CONFIG, FakeWorkflow, SECRET, apiEvent, bodyOf, statusOf } from './fixtures.ts';

const AT = '2026-03-14T12:00:00.000Z';
const restart = { kind: 'restart-service', service: 'inventory-service', reversible: false } as const;
const scale = { kind: 'scale-service', service: 'inventory-service', reversible: true } as const;

const setup = async () => {
  const id = 'inc-1';
  const store = new MemoryIncidentStore();
  const workflow = new FakeWorkflow();
  const journal = new MemoryActionJournal();
  await store.recordAlert(alertFixture(), {}, () => id);
  const first = await workflow.start(id, { incidentId: id, service: 'inventory-service', severity: 'SEV2', title: alertFixture().title, policy: { verifyWaitSeconds: 30, maxVerifyChecks: 3 } });
  await store.setExecutionArn(id, first.executionArn);
  workflow.finish(first.executionArn, 'ABORTED');
  const post = () => rerunIncident({ store, workflow, secret: new StaticSecret(SECRET), config: CONFIG, journal, events: new MemoryEventPublisher() })(apiEvent('POST /incidents/{id}/rerun', { path: { id }, body: {}, secret: SECRET }));
  const rerunInput = () => workflow.executions.get(bodyOf(lastResult!).executionArn as string)?.input as Record<string, unknown> | undefined;
  let lastResult: Awaited<ReturnType<typeof post>> | undefined;
  return {
    id,
    store,
    journal,
    rerun: async () => (lastResult = await post()),
    rerunInput,
  };
};

describe('unit: rerun-incident and the action journal', () => {
  it('tells the state machine a mitigation already ran, and says on the timeline that it verifies it', async () => {
    // Prepare: the restart ran and completed
    const { id, store, journal, rerun, rerunInput } = await setup();
    await journal.claim({ incidentId: id, mode: 'apply', action: restart, claimId: 'c1', claimedAt: AT });
    await journal.complete(id, stepKey('apply', restart), 'c1', { kind: 'restart-service', service: 'inventory-service', status: 'succeeded', detail: 'ok', executedAt: AT }, AT);
    // Act
    const result = await rerun();
    // Assess
    expect(statusOf(result)).toBe(202);
    expect(bodyOf(result)).toMatchObject({ resumesVerification: true });
    expect(rerunInput()).toMatchObject({ earlierMitigation: { steps: 1, summary: 'restart-service inventory-service: succeeded' } });
    const timeline = (await store.getDetail(id))!.timeline;
    expect(timeline.find((e) => e.type === 'rerun-started')?.message).toMatch(/a mitigation already ran \(restart-service inventory-service: succeeded\): this rerun verifies that earlier mitigation/);
  });

  it('counts a step that never completed (outcome unknown) as a mitigation that may have run', async () => {
    const { id, journal, rerun, rerunInput } = await setup();
    await journal.claim({ incidentId: id, mode: 'apply', action: restart, claimId: 'c1', claimedAt: AT });
    await rerun();
    expect(rerunInput()).toMatchObject({ earlierMitigation: { steps: 1, summary: 'restart-service inventory-service: outcome unknown' } });
  });

  it('verifies instead of diagnosing again when the only forward step failed: a failed action may have acted', async () => {
    // Prepare: the adapter reported the scale-out failed (as it reports a call that timed out, or an unconfirmed run)
    const { id, journal, rerun, rerunInput } = await setup();
    await journal.claim({ incidentId: id, mode: 'apply', action: scale, claimId: 'c1', claimedAt: AT });
    await journal.complete(id, stepKey('apply', scale), 'c1', { kind: 'scale-service', service: 'inventory-service', status: 'failed', detail: 'timed out; may have acted', executedAt: AT }, AT);
    // Act
    const result = await rerun();
    // Assess
    expect(bodyOf(result)).toMatchObject({ resumesVerification: true });
    expect(rerunInput()).toMatchObject({ earlierMitigation: { steps: 1, summary: 'scale-service inventory-service: failed' } });
  });

  it('names what an earlier undo ran beside the mitigation it verifies', async () => {
    // Prepare: the scale-out ran, was not verified, and its inverse ran
    const { id, journal, rerun, rerunInput } = await setup();
    const done = (status: 'succeeded') => ({ kind: 'scale-service' as const, service: 'inventory-service', status, detail: 'ok', executedAt: AT });
    await journal.claim({ incidentId: id, mode: 'apply', action: scale, claimId: 'c1', claimedAt: AT });
    await journal.complete(id, stepKey('apply', scale), 'c1', done('succeeded'), AT);
    await journal.claim({ incidentId: id, mode: 'undo', action: scale, claimId: 'c2', claimedAt: AT });
    await journal.complete(id, stepKey('undo', scale), 'c2', done('succeeded'), AT);
    // Act
    await rerun();
    // Assess
    expect(rerunInput()).toMatchObject({ earlierMitigation: { steps: 1, summary: 'scale-service inventory-service: succeeded; undone: scale-service inventory-service: succeeded' } });
  });

  it('diagnoses from scratch when no forward step was ever sent (the journal holds only an undo, or nothing)', async () => {
    // Prepare
    const { id, journal, rerun, rerunInput } = await setup();
    await journal.claim({ incidentId: id, mode: 'undo', action: scale, claimId: 'c1', claimedAt: AT });
    // Act
    const result = await rerun();
    // Assess
    expect(bodyOf(result)).not.toHaveProperty('resumesVerification');
    expect(rerunInput()).not.toHaveProperty('earlierMitigation');
  });
});
