import { describe, expect, it } from 'vitest';
import { ExecuteTask, ExecutionNotFound, MitigationFailed, MitigationNotApproved, executeMitigation } from '../../../functions/core/agents/execute.ts';
import { PlanNotFound } from '../../../functions/core/agents/plan.ts';
import { validateDetail } from '../../../functions/core/events.ts';
import type { MitigationAction, PlanOutput } from '../../../functions/core/model.ts';
import { CR2077, type ExecutionSetupOptions, failover, planOf, restart, revert, scale, setupExecution } from './execute-fixtures.ts';
import { fakeDeps, seedIncident } from './fakes.ts';

const plan = (autoApprove: boolean, immediate = [revert, scale]): PlanOutput => planOf(immediate, autoApprove);
const setup = (p: PlanOutput, options: ExecutionSetupOptions = {}) => setupExecution(p, options);

describe('executeMitigation (apply)', () => {
  it('runs an auto-approved plan, records AUTO_APPROVED, MITIGATING and publishes Mitigation Executed (apply)', async () => {
    // Prepare
    const { deps, store, events, executed, incidentId, output } = await setup(plan(true));
    // Act
    const result = await executeMitigation(deps)({ incidentId });
    // Assess
    expect(result).toMatchObject({ mode: 'apply', undoable: true, summary: expect.stringMatching(/Executed 2\/2/) });
    expect(executed.map((a) => a.kind)).toEqual(['revert-config', 'scale-service']);
    const incident = await store.getIncident(incidentId);
    expect(incident?.status).toBe('MITIGATING');
    expect(incident?.approval).toMatchObject({ status: 'AUTO_APPROVED', approver: 'policy' });
    expect((await output()).actions.map((a) => a.status)).toEqual(['succeeded', 'succeeded']);
    expect(events.published).toEqual([expect.objectContaining({ detailType: 'Mitigation Executed', detail: expect.objectContaining({ incidentId, mode: 'apply', actions: expect.any(Array) }) })]);
    expect(validateDetail('Mitigation Executed', events.published[0].detail)).toEqual({ ok: true });
  });

  it('refuses a plan that needs approval while the approval is still pending', async () => {
    const { deps, store, executed, incidentId } = await setup(plan(false));
    await store.requestApproval(incidentId, 'token', { status: 'PENDING' });
    await expect(executeMitigation(deps)({ incidentId })).rejects.toBeInstanceOf(MitigationNotApproved);
    expect(executed).toEqual([]);
  });

  it('refuses an action that is neither approved nor auto-approvable, even when the stored plan claims auto-approval', async () => {
    // Prepare: a plan record marked autoApprove whose action is high risk (the policy would never allow it)
    const { deps, store, executed, incidentId } = await setup(plan(true, [failover]));
    // Act
    const error = await executeMitigation(deps)({ incidentId }).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(MitigationNotApproved);
    expect((error as Error).message).toMatch(/failover on checkout-service is high risk/);
    expect(executed).toEqual([]);
    expect((await store.getIncident(incidentId))?.approval).toBeUndefined();
  });

  it('refuses to auto-approve when the operator turned the policy off', async () => {
    const { deps, executed, incidentId } = await setup(plan(true));
    const error = await executeMitigation(deps, { autoApproveLowRisk: false })({ incidentId }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MitigationNotApproved);
    expect((error as Error).message).toMatch(/AUTO_APPROVE_LOW_RISK=false/);
    expect(executed).toEqual([]);
  });

  it('runs a plan a human approved, whatever its risk', async () => {
    const { deps, store, executed, incidentId } = await setup(plan(false, [revert, failover]));
    await store.requestApproval(incidentId, 'token', { status: 'PENDING' });
    await store.decideApproval(incidentId, 'approve', 'alice', 'go');
    await executeMitigation(deps)({ incidentId });
    expect(executed.map((a) => a.kind)).toEqual(['revert-config', 'failover']);
    expect((await store.getIncident(incidentId))?.approval).toMatchObject({ status: 'APPROVED', approver: 'alice' });
  });

  it('checks preconditions at execution: a change rolled back since planning is skipped with the failed condition', async () => {
    // Prepare: someone reverted CR2077 by hand after the plan was made
    const { deps, executed, incidentId, output, setChanges } = await setup(plan(true));
    setChanges([{ ...CR2077, state: 'rolled-back' }]);
    // Act
    const result = await executeMitigation(deps)({ incidentId });
    // Assess
    expect(executed.map((a) => a.kind)).toEqual(['scale-service']);
    const [skipped, ran] = (await output()).actions;
    expect(skipped).toMatchObject({ kind: 'revert-config', status: 'skipped', detail: 'precondition not met: the change is implemented (not already rolled back or cancelled)' });
    expect(ran.status).toBe('succeeded');
    expect(result.summary).toMatch(/Executed 1\/2 action\(s\), 1 skipped/);
  });

  it('refuses to scale a managed database at execution time', async () => {
    const onDb: MitigationAction = { ...scale, service: 'inventory-db' };
    const { deps, executed, incidentId, output } = await setup(plan(true, [onDb]));
    await executeMitigation(deps)({ incidentId });
    expect(executed).toEqual([]);
    expect((await output()).actions[0]).toMatchObject({ status: 'skipped', detail: expect.stringMatching(/the service is one we run/) });
  });

  it('judges a change on the root-cause record when the change history is down, and says so', async () => {
    const { deps, executed, incidentId, output } = await setup(plan(true, [revert]), {
      changes: async () => {
        throw new Error('ServiceNow unavailable: 503');
      },
    });
    await executeMitigation(deps)({ incidentId });
    expect(executed).toHaveLength(1);
    expect((await output()).actions[0].detail).toMatch(/the change history is unavailable: judged on the change as recorded at root-cause time \(implemented\)/);
  });

  it('keeps what a previous attempt completed and does not repeat it (Lambda retry)', async () => {
    const { deps, executed, incidentId, output } = await setup(plan(true));
    await executeMitigation(deps)({ incidentId });
    const first = await output();
    await executeMitigation(deps)({ incidentId });
    await executeMitigation(deps)({ incidentId });
    expect(executed).toHaveLength(2);
    expect((await output()).actions).toEqual(first.actions);
  });

  it('continues after one failed action and fails with MitigationFailed when every action failed', async () => {
    const partial = await setup(plan(true), { execute: async ({ action }) => (action.kind === 'revert-config' ? { status: 'failed', detail: 'config map locked' } : { status: 'succeeded', detail: 'ok' }) });
    expect((await executeMitigation(partial.deps)({ incidentId: partial.incidentId })).summary).toMatch(/Executed 1\/2/);

    const none = await setup(plan(true), {
      execute: async () => {
        throw new Error('actions API down');
      },
    });
    await expect(executeMitigation(none.deps)({ incidentId: none.incidentId })).rejects.toBeInstanceOf(MitigationFailed);
    expect((await none.output()).actions.every((a) => a.status === 'failed' && /actions API down/.test(a.detail))).toBe(true);
  });

  it('is not undoable when only irreversible actions ran', async () => {
    const { deps, store, incidentId } = await setup(plan(false, [restart]));
    await store.requestApproval(incidentId, 'token', { status: 'PENDING' });
    await store.decideApproval(incidentId, 'approve', 'alice');
    expect(await executeMitigation(deps)({ incidentId })).toMatchObject({ mode: 'apply', undoable: false });
  });

  it('fails with PlanNotFound without a plan', async () => {
    const deps = fakeDeps();
    const incidentId = await seedIncident(deps);
    await expect(executeMitigation(deps)({ incidentId })).rejects.toBeInstanceOf(PlanNotFound);
  });

  it('parses the task: mode defaults to apply, anything else than apply/undo is rejected', () => {
    expect(ExecuteTask.parse({ incidentId: 'inc-1' })).toEqual({ incidentId: 'inc-1', mode: 'apply' });
    expect(ExecuteTask.safeParse({ incidentId: 'inc-1', mode: 'redo' }).success).toBe(false);
  });
});

describe('executeMitigation (undo)', () => {
  /** Runs the plan, then marks the changes as they are after it (CR2077 reverted). */
  const applied = async (p: PlanOutput, options: ExecutionSetupOptions = {}) => {
    const s = await setup(p, options);
    await executeMitigation(s.deps)({ incidentId: s.incidentId });
    s.setChanges([{ ...CR2077, state: 'rolled-back' }]);
    s.executed.length = 0;
    s.events.published.length = 0;
    return s;
  };

  it('runs the inverses of what ran in reverse order, records them as undone and publishes Mitigation Executed (undo)', async () => {
    // Prepare
    const { deps, events, executed, incidentId, output, store } = await applied(plan(true));
    const before = await output();
    // Act
    const result = await executeMitigation(deps)({ incidentId, mode: 'undo' });
    // Assess: scale back in first, then set the pool size to 10 again
    expect(executed.map((a) => [a.kind, a.params.direction, a.params.factor ?? a.params.to])).toEqual([
      ['scale-service', 'undo', 0.5],
      ['revert-config', 'undo', '10'],
    ]);
    const after = await output();
    expect(after.actions).toEqual(before.actions);
    expect(after.executedAt).toBe(before.executedAt);
    expect(after.undone?.map((a) => [a.kind, a.status])).toEqual([
      ['scale-service', 'succeeded'],
      ['revert-config', 'succeeded'],
    ]);
    expect(result).toMatchObject({ mode: 'undo', undoable: false, summary: expect.stringMatching(/^Undid 2\/2 action\(s\)/) });
    expect(events.published).toEqual([
      {
        detailType: 'Mitigation Executed',
        detail: expect.objectContaining({ incidentId, mode: 'undo', actions: [expect.objectContaining({ kind: 'scale-service', status: 'succeeded' }), expect.objectContaining({ kind: 'revert-config', status: 'succeeded' })] }),
      },
    ]);
    expect(validateDetail('Mitigation Executed', events.published[0].detail)).toEqual({ ok: true });
    expect(store.timeline.get(incidentId)?.map((e) => e.type)).toContain('mitigation-undone');
    // The forward run's evidence is still in the record.
    const record = await store.getAgentRecord(incidentId, 'execution');
    expect(record?.evidence.map((e) => e.id)).toEqual(expect.arrayContaining(['action:1:revert-config', 'undo:1:scale-service']));
  });

  it('skips what has no inverse (a restart), saying why, and undoes the rest', async () => {
    const { deps, store, executed, incidentId, output } = await setup(plan(false, [revert, restart]));
    await store.requestApproval(incidentId, 'token', { status: 'PENDING' });
    await store.decideApproval(incidentId, 'approve', 'alice');
    await executeMitigation(deps)({ incidentId });
    executed.length = 0;
    await executeMitigation(deps)({ incidentId, mode: 'undo' }).catch(() => undefined);
    const undone = (await output()).undone ?? [];
    expect(undone[0]).toMatchObject({ kind: 'restart-service', status: 'skipped', detail: expect.stringMatching(/^no inverse: a restart cannot be undone/) });
    // CR2077 still reads implemented here: the inverse's precondition fails, so nothing runs.
    expect(undone[1]).toMatchObject({ kind: 'revert-config', status: 'skipped', detail: 'precondition not met: the change is rolled back (there is something to re-apply)' });
    expect(executed).toEqual([]);
  });

  it('does not undo an action that failed or was skipped', async () => {
    const { deps, executed, incidentId, output } = await applied(plan(true), { execute: async ({ action }) => (action.kind === 'scale-service' ? { status: 'failed', detail: 'quota' } : { status: 'succeeded', detail: 'ok' }) });
    await executeMitigation(deps)({ incidentId, mode: 'undo' });
    expect((await output()).undone?.map((a) => a.kind)).toEqual(['revert-config']);
    expect(executed).toEqual([]);
  });

  it('records a failed inverse as failed and still returns (escalation must run)', async () => {
    let undoCalls = 0;
    const { deps, incidentId, output, events } = await applied(plan(true), {
      execute: async ({ action }) => {
        if (action.params.direction !== 'undo') return { status: 'succeeded', detail: 'ok' };
        undoCalls += 1;
        throw new Error('deploy API down');
      },
    });
    const result = await executeMitigation(deps)({ incidentId, mode: 'undo' });
    expect(undoCalls).toBe(2);
    expect(result.summary).toMatch(/^Undid 0\/2/);
    expect((await output()).undone?.every((a) => a.status === 'failed' && /deploy API down/.test(a.detail))).toBe(true);
    expect(events.published[0].detail).toMatchObject({ mode: 'undo' });
  });

  it('does not repeat an inverse a previous attempt completed', async () => {
    const { deps, executed, incidentId } = await applied(plan(true));
    await executeMitigation(deps)({ incidentId, mode: 'undo' });
    await executeMitigation(deps)({ incidentId, mode: 'undo' });
    expect(executed).toHaveLength(2);
  });

  it('fails with ExecutionNotFound when nothing was executed', async () => {
    const { deps, incidentId } = await setup(plan(true));
    await expect(executeMitigation(deps)({ incidentId, mode: 'undo' })).rejects.toBeInstanceOf(ExecutionNotFound);
  });
});
