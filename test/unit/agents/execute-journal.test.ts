/**
 * The executor and the action journal: a step that ran is never run again, whatever happened to the execution
 * record (a rerun overwrites AGENT#execution); a step claimed by an invocation that died is never repeated when it
 * is irreversible, and is taken over behind its preconditions when it is reversible; a claim in flight is waited
 * for, then answered with the retryable ActionInProgress. The undo path journals its inverses the same way.
 */
import { describe, expect, it } from 'vitest';
import { EXECUTOR_TIMEOUT_MS, executeMitigation } from '../../../functions/core/agents/execute.ts';
import { RETRYABLE_ERROR_NAMES, isRetryable } from '../../../functions/core/errors.ts';
import type { ChangeRequest } from '../../../functions/core/tools/ports.ts';
import type { MitigationAction, PlanOutput } from '../../../functions/core/model.ts';
import { ActionInProgress, JournalUnavailable, stepKey } from '../../../functions/core/store/journal.ts';
import { CR2077, planOf, restart, revert, setupExecution } from './execute-fixtures.ts';
import { FAKE_NOW, seedAgentRecord } from './fakes.ts';

const plan = (immediate: MitigationAction[]): PlanOutput => planOf(immediate, true);
/** Long before FAKE_NOW: a claim from then was left by an invocation Lambda has ended. */
const LONG_AGO = new Date(FAKE_NOW.getTime() - 2 * EXECUTOR_TIMEOUT_MS).toISOString();
const FAST = { pollMs: 1, inFlightWaitMs: 50 };

/** An approved incident with plan `p`; `changes` is what the change history says now (CR2077 implemented). */
const setup = (p: PlanOutput, changes?: () => ChangeRequest[]) => setupExecution(p, { approvedBy: 'alice', ...(changes ? { changes } : {}) });

describe('unit: executeMitigation with the action journal', () => {
  it('claims each step before it runs and completes it with the result', async () => {
    // Prepare
    const { deps, journal, incidentId } = await setup(plan([restart]));
    // Act
    await executeMitigation(deps)({ incidentId });
    // Assess
    expect(await journal.get(incidentId, stepKey('apply', restart))).toMatchObject({ state: 'done', reversible: false, result: { kind: 'restart-service', status: 'succeeded' } });
  });

  it('does not run a step again after a rerun overwrote the execution record: the journal\'s result is used', async () => {
    // Prepare: the mitigation ran; a rerun's new run then replaced AGENT#execution
    const { deps, executed, incidentId, output } = await setup(plan([restart]));
    await executeMitigation(deps)({ incidentId });
    await seedAgentRecord(deps, incidentId, 'execution', { actions: [], executedAt: FAKE_NOW.toISOString() });
    // Act
    await executeMitigation(deps)({ incidentId });
    // Assess
    expect(executed).toHaveLength(1);
    expect((await output()).actions).toEqual([expect.objectContaining({ kind: 'restart-service', status: 'succeeded' })]);
  });

  it('records a step\'s result through a transient journal failure instead of leaving it claimed for the next attempt', async () => {
    // Prepare: the journal throttles the first two completions (after the action ran)
    const { deps, journal, executed, incidentId } = await setup(plan([revert]));
    const complete = journal.complete.bind(journal);
    let failures = 2;
    journal.complete = async (...args: Parameters<typeof complete>) => {
      if (failures-- > 0) throw new JournalUnavailable('action journal: UpdateItem failed: ProvisionedThroughputExceededException');
      return complete(...args);
    };
    // Act
    const result = await executeMitigation(deps, undefined, { sleep: async () => {} })({ incidentId });
    // Assess: one run, its result journalled as done (a later attempt uses it rather than running the revert again)
    expect(result.summary).toMatch(/Executed 1\/1/);
    expect(executed).toHaveLength(1);
    expect(await journal.get(incidentId, stepKey('apply', revert))).toMatchObject({ state: 'done', result: { status: 'succeeded' } });
  });

  it('never repeats an irreversible step whose invocation died mid-action: its outcome is reported unknown', async () => {
    // Prepare: a claim from an invocation that never completed
    const { deps, journal, executed, incidentId, output } = await setup(plan([restart]));
    await journal.claim({ incidentId, mode: 'apply', action: restart, claimId: 'dead', claimedAt: LONG_AGO });
    // Act
    const result = await executeMitigation(deps)({ incidentId });
    // Assess
    expect(executed).toHaveLength(0);
    expect((await output()).actions).toEqual([expect.objectContaining({ kind: 'restart-service', status: 'skipped', detail: expect.stringMatching(/^outcome unknown: .*not run again because it cannot be undone/) })]);
    expect(result.summary).toMatch(/outcome unknown|skipped/);
    expect(await journal.get(incidentId, stepKey('apply', restart))).toMatchObject({ state: 'claimed', claimId: 'dead' });
  });

  it('takes over a reversible step whose invocation died, and runs it once more behind its preconditions', async () => {
    // Prepare
    const { deps, journal, executed, incidentId, output } = await setup(plan([revert]));
    await journal.claim({ incidentId, mode: 'apply', action: revert, claimId: 'dead', claimedAt: LONG_AGO });
    // Act
    await executeMitigation(deps)({ incidentId });
    // Assess
    expect(executed.map((a) => a.kind)).toEqual(['revert-config']);
    expect((await output()).actions[0]).toMatchObject({ status: 'succeeded', detail: expect.stringMatching(/never recorded its result; reversible, so run again/) });
    expect(await journal.get(incidentId, stepKey('apply', revert))).toMatchObject({ state: 'done', attempts: 2 });
  });

  it('skips a dead invocation\'s reversible step when its precondition no longer holds (the earlier attempt landed)', async () => {
    // Prepare: the change is rolled back already, by the attempt that died
    const { deps, journal, executed, incidentId, output } = await setup(plan([revert]), () => [{ ...CR2077, state: 'rolled-back' }]);
    await journal.claim({ incidentId, mode: 'apply', action: revert, claimId: 'dead', claimedAt: LONG_AGO });
    // Act
    await executeMitigation(deps)({ incidentId });
    // Assess
    expect(executed).toHaveLength(0);
    expect((await output()).actions[0]).toMatchObject({ status: 'skipped', detail: expect.stringMatching(/precondition not met/) });
    expect(await journal.get(incidentId, stepKey('apply', revert))).toMatchObject({ state: 'done', result: { status: 'skipped' } });
  });

  it('waits for a claim in flight and uses its result instead of running the step', async () => {
    // Prepare: another invocation claimed the step just now and completes it a moment later
    const { deps, journal, executed, incidentId, output } = await setup(plan([restart]));
    const key = stepKey('apply', restart);
    await journal.claim({ incidentId, mode: 'apply', action: restart, claimId: 'other', claimedAt: FAKE_NOW.toISOString() });
    const otherResult = { kind: 'restart-service' as const, service: 'inventory-service', status: 'succeeded' as const, detail: 'done by the other invocation', executedAt: FAKE_NOW.toISOString() };
    // Act
    const running = executeMitigation(deps, undefined, { pollMs: 5, inFlightWaitMs: 2_000 })({ incidentId });
    setTimeout(() => void journal.complete(incidentId, key, 'other', otherResult, FAKE_NOW.toISOString()), 20);
    await running;
    // Assess
    expect(executed).toHaveLength(0);
    expect((await output()).actions).toEqual([otherResult]);
  });

  it('fails with the retryable ActionInProgress when a claim in flight does not complete in time', async () => {
    // Prepare
    const { deps, journal, executed, incidentId } = await setup(plan([restart]));
    await journal.claim({ incidentId, mode: 'apply', action: restart, claimId: 'other', claimedAt: FAKE_NOW.toISOString() });
    // Act
    const error = await executeMitigation(deps, undefined, FAST)({ incidentId }).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(ActionInProgress);
    expect(isRetryable(error)).toBe(true);
    expect(RETRYABLE_ERROR_NAMES).toContain((error as Error).name);
    expect(executed).toHaveLength(0);
  });

  it('runs the action once when two invocations share the journal at once; both report it succeeded', async () => {
    // Prepare
    const { deps, executed, incidentId } = await setup(plan([restart]));
    // Act
    const results = await Promise.all([executeMitigation(deps, undefined, { pollMs: 2 })({ incidentId }), executeMitigation(deps, undefined, { pollMs: 2 })({ incidentId })]);
    // Assess
    expect(executed).toHaveLength(1);
    expect(results.map((r) => r.summary)).toEqual([expect.stringMatching(/^Executed 1\/1/), expect.stringMatching(/^Executed 1\/1/)]);
  });

  it('journals the inverses of the undo path: a second undo after its record was overwritten runs nothing again', async () => {
    // Prepare: the revert ran, CR2077 is rolled back, then the undo ran once
    let state: ChangeRequest['state'] = 'implemented';
    const { deps, journal, executed, incidentId, output } = await setup(plan([revert]), () => [{ ...CR2077, state }]);
    await executeMitigation(deps)({ incidentId });
    state = 'rolled-back';
    await executeMitigation(deps)({ incidentId, mode: 'undo' });
    const undone = (await output()).undone;
    expect(undone).toEqual([expect.objectContaining({ status: 'succeeded' })]);
    // the undo's record is lost (a rerun wrote AGENT#execution again without it)
    const { undone: _lost, ...withoutUndo } = await output();
    await seedAgentRecord(deps, incidentId, 'execution', withoutUndo);
    executed.length = 0;
    // Act
    await executeMitigation(deps)({ incidentId, mode: 'undo' });
    // Assess
    expect(executed).toHaveLength(0);
    expect((await output()).undone).toEqual(undone);
    expect((await journal.list(incidentId)).map((e) => `${e.mode} ${e.state}`)).toEqual(['apply done', 'undo done']);
  });
});
