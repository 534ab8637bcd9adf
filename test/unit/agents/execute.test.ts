import { describe, expect, it } from 'vitest';
import { MitigationFailed, MitigationNotApproved, executeMitigation } from '../../../functions/core/agents/execute.ts';
import { PlanNotFound } from '../../../functions/core/agents/plan.ts';
import { ExecutionOutput, type MitigationAction, type PlanOutput } from '../../../functions/core/model.ts';
import type { Actions } from '../../../functions/core/tools/ports.ts';
import { FakeIncidentStore, RecordingPublisher, fakeDeps, seedAgentRecord, seedIncident } from './fakes.ts';

const revert: MitigationAction = { kind: 'revert-config', service: 'inventory-service', target: 'maximum-pool-size', params: { from: '10', to: '20' }, description: 'Revert pool size', risk: 'low', reversible: true, evidenceIds: [] };
const scale: MitigationAction = { kind: 'scale-service', service: 'inventory-service', params: { factor: 2 }, description: 'Scale out', risk: 'low', reversible: true, evidenceIds: [] };
const plan = (autoApprove: boolean, immediate = [revert, scale]): PlanOutput => ({ immediate, longTerm: [], risk: 'low', reversible: true, autoApprove, rationale: 'policy', evidenceIds: [] });

const setup = async (p: PlanOutput, execute?: Actions['execute']) => {
  const store = new FakeIncidentStore();
  const events = new RecordingPublisher();
  const executed: MitigationAction[] = [];
  const deps = fakeDeps({
    store,
    events,
    tools: {
      actions: {
        execute:
          execute ??
          (async ({ action }) => {
            executed.push(action);
            return { status: 'succeeded', detail: `${action.kind} done` };
          }),
      },
    },
  });
  const incidentId = await seedIncident(deps);
  await seedAgentRecord(deps, incidentId, 'plan', p);
  return { deps, store, events, executed, incidentId };
};

describe('executeMitigation', () => {
  it('runs an auto-approved plan, records AUTO_APPROVED, MITIGATING and publishes Mitigation Executed', async () => {
    // Prepare
    const { deps, store, events, executed, incidentId } = await setup(plan(true));
    // Act
    const result = await executeMitigation(deps)({ incidentId });
    // Assess
    expect(result.summary).toMatch(/Executed 2\/2/);
    expect(executed.map((a) => a.kind)).toEqual(['revert-config', 'scale-service']);
    const incident = await store.getIncident(incidentId);
    expect(incident?.status).toBe('MITIGATING');
    expect(incident?.approval).toMatchObject({ status: 'AUTO_APPROVED', approver: 'policy' });
    const output = ExecutionOutput.parse((await store.getAgentRecord(incidentId, 'execution'))?.output);
    expect(output.actions.map((a) => a.status)).toEqual(['succeeded', 'succeeded']);
    expect(events.published).toEqual([expect.objectContaining({ detailType: 'Mitigation Executed', detail: expect.objectContaining({ incidentId, actions: expect.any(Array) }) })]);
  });

  it('refuses a plan that needs approval while the approval is still pending', async () => {
    const { deps, store, executed, incidentId } = await setup(plan(false));
    await store.requestApproval(incidentId, 'token', { status: 'PENDING' });
    await expect(executeMitigation(deps)({ incidentId })).rejects.toBeInstanceOf(MitigationNotApproved);
    expect(executed).toEqual([]);
  });

  it('runs a plan a human approved', async () => {
    const { deps, store, executed, incidentId } = await setup(plan(false));
    await store.requestApproval(incidentId, 'token', { status: 'PENDING' });
    await store.decideApproval(incidentId, 'approve', 'alice', 'go');
    await executeMitigation(deps)({ incidentId });
    expect(executed).toHaveLength(2);
    expect((await store.getIncident(incidentId))?.approval).toMatchObject({ status: 'APPROVED', approver: 'alice' });
  });

  it('does not repeat actions a previous attempt completed (Lambda retry)', async () => {
    const { deps, executed, incidentId } = await setup(plan(true));
    await executeMitigation(deps)({ incidentId });
    await executeMitigation(deps)({ incidentId });
    expect(executed).toHaveLength(2);
    const output = ExecutionOutput.parse((await deps.store.getAgentRecord(incidentId, 'execution'))?.output);
    expect(output.actions.map((a) => a.status)).toEqual(['skipped', 'skipped']);
  });

  it('continues after one failed action and fails with MitigationFailed when every action failed', async () => {
    const partial = await setup(plan(true), async ({ action }) => (action.kind === 'revert-config' ? { status: 'failed', detail: 'config map locked' } : { status: 'succeeded', detail: 'ok' }));
    expect((await executeMitigation(partial.deps)({ incidentId: partial.incidentId })).summary).toMatch(/Executed 1\/2/);

    const none = await setup(plan(true), async () => {
      throw new Error('actions API down');
    });
    await expect(executeMitigation(none.deps)({ incidentId: none.incidentId })).rejects.toBeInstanceOf(MitigationFailed);
    const output = ExecutionOutput.parse((await none.deps.store.getAgentRecord(none.incidentId, 'execution'))?.output);
    expect(output.actions.every((a) => a.status === 'failed' && /actions API down/.test(a.detail))).toBe(true);
  });

  it('fails with PlanNotFound without a plan', async () => {
    const deps = fakeDeps();
    const incidentId = await seedIncident(deps);
    await expect(executeMitigation(deps)({ incidentId })).rejects.toBeInstanceOf(PlanNotFound);
  });
});
