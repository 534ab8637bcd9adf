/**
 * The simulated world's side of the inverse path: an inverse action has real effects (re-applying the culprit
 * change brings the fault back), through the same `Actions` port the executor uses.
 */
import { describe, expect, it } from 'vitest';
import type { MitigationAction } from '../../../functions/core/model.ts';
import { inverseOf } from '../../../functions/core/runbooks/inverse.ts';
import { simulatedTools } from '../../../functions/core/tools/simulated.ts';
import { mitigationLevel, mitigationTransitions } from '../../../functions/core/world/dynamics.ts';
import { findScenario } from '../../../functions/core/world/scenario.ts';
import { createWorld, type WorldAction } from '../../../functions/core/world/world.ts';
import { MemoryWorldStore } from '../../../functions/core/world/world-store.ts';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const MINUTE = 60_000;
const iso = (minutes: number) => new Date(NOW.getTime() + minutes * MINUTE).toISOString();

const setup = async (scenario = 'db-pool-exhaustion') => {
  const worlds = new MemoryWorldStore();
  const id = `inverse-${scenario}`;
  await worlds.putWorld(createWorld(findScenario(scenario), { id, now: NOW }));
  let now = NOW.getTime();
  const tools = simulatedTools(worlds, { clock: () => new Date(now) });
  const scope = { environment: id };
  const run = (action: MitigationAction) => tools.actions.execute({ ...scope, incidentId: 'inc-1', action });
  /** The latest error rate of a service (median-free: the last point of the last five minutes). */
  const errors = async (service: string) => (await tools.telemetry.queryMetrics({ ...scope, from: new Date(now - 5 * MINUTE).toISOString(), to: new Date(now).toISOString(), services: [service], metrics: ['error_rate_pct'] }))[0].points.at(-1)!.v;
  const state = async (changeId: string) => (await tools.changes.listChanges({ ...scope, from: iso(-60), to: new Date(now).toISOString() })).find((c) => c.id === changeId)?.state;
  return { worlds, tools, scope, run, errors, state, advance: (minutes: number) => (now += minutes * MINUTE) };
};

const rollback: MitigationAction = {
  kind: 'rollback-change',
  service: 'inventory-service',
  target: 'CR2077',
  params: {},
  description: 'Roll back CR2077',
  risk: 'medium',
  reversible: true,
  evidenceIds: [],
};

describe('unit: inverse actions in the simulated world', () => {
  it('rolling the culprit change forward again brings the fault back, and the change history says so', async () => {
    // Prepare: the rollback fixed the incident
    const w = await setup();
    await w.run(rollback);
    w.advance(5);
    const recovered = await w.errors('checkout-service');
    const rolledBack = await w.state('CR2077');
    // Act
    const result = await w.run(inverseOf(rollback)!);
    w.advance(5);
    // Assess
    expect(recovered).toBeLessThan(1);
    expect(rolledBack).toBe('rolled-back');
    expect(result).toEqual({ status: 'succeeded', detail: 'rolled forward CR2077 on inventory-service (maximum-pool-size 20 → 10)' });
    expect(await w.state('CR2077')).toBe('implemented');
    expect(await w.errors('checkout-service')).toBeGreaterThan(10);
  });

  it('refuses to roll forward a change that is still live, with a clear detail', async () => {
    const w = await setup();
    expect(await w.run(inverseOf(rollback)!)).toEqual({ status: 'failed', detail: 'change CR2077 is live (not rolled back): there is nothing to re-apply' });
  });

  it('re-applies a reverted config parameter and toggles a flag back on', async () => {
    const w = await setup();
    const revert: MitigationAction = { ...rollback, kind: 'revert-config', target: 'maximum-pool-size', params: { param: 'maximum-pool-size', changeId: 'CR2077', from: '10', to: '20' } };
    const toggle: MitigationAction = { ...rollback, kind: 'toggle-feature-flag', service: 'web-storefront', target: 'CR2075', params: { flag: 'storefront.flash-countdown', to: 'false' } };
    expect((await w.run(revert)).status).toBe('succeeded');
    expect((await w.run(toggle)).status).toBe('succeeded');
    w.advance(1);
    expect(await w.run(inverseOf(revert)!)).toMatchObject({ status: 'succeeded', detail: expect.stringMatching(/re-applied CR2077/) });
    expect(await w.run(inverseOf(toggle)!)).toMatchObject({ status: 'succeeded', detail: expect.stringMatching(/toggled again CR2075/) });
    expect(await w.state('CR2077')).toBe('implemented');
    expect(await w.state('CR2075')).toBe('implemented');
  });

  it('scales back in to the previous capacity', async () => {
    const w = await setup();
    const scale: MitigationAction = { ...rollback, kind: 'scale-service', target: undefined, params: { factor: 2 } };
    await w.run(scale);
    const back = await w.run(inverseOf(scale)!);
    const world = await w.worlds.getWorld(w.scope.environment);
    expect(back).toEqual({ status: 'succeeded', detail: 'scaled inventory-service back in ×0.50 (to 3 replicas)' });
    expect(world?.actions.map((a) => a.factor)).toEqual([2, 0.5]);
  });

  it('fails back only after a failover, and cannot undo a restart', async () => {
    const w = await setup();
    const failover: MitigationAction = { ...rollback, kind: 'failover', service: 'checkout-service', target: 'payment-service', params: { dependency: 'payment-service' } };
    expect(await w.run(inverseOf(failover)!)).toMatchObject({ status: 'failed', detail: expect.stringMatching(/has not failed over away from payment-service/) });
    await w.run(failover);
    expect(await w.run(inverseOf(failover)!)).toMatchObject({ status: 'succeeded', detail: expect.stringMatching(/failed back to the primary/) });
    const restartUndo: MitigationAction = { ...rollback, kind: 'restart-service', target: undefined, params: { direction: 'undo' } };
    expect(await w.run(restartUndo)).toEqual({ status: 'failed', detail: 'restart-service cannot be undone' });
  });

  it('treats a retried inverse as the same action, and a new rollback after the undo as a new one', async () => {
    const w = await setup();
    await w.run(rollback);
    await w.run(inverseOf(rollback)!);
    const retry = await w.run(inverseOf(rollback)!);
    const again = await w.run(rollback);
    expect(retry.detail).toMatch(/^already applied at /);
    expect(again).toMatchObject({ status: 'succeeded', detail: expect.stringMatching(/^rolled back CR2077/) });
    expect(await w.state('CR2077')).toBe('rolled-back');
  });
});

describe('unit: mitigation level of a fault', () => {
  const fault = findScenario('db-pool-exhaustion').faults[0];
  const act = (at: number, a: Partial<WorldAction>): WorldAction => ({ incidentId: 'i', kind: 'rollback-change', service: 'inventory-service', target: 'CR2077', params: {}, at: new Date(at).toISOString(), status: 'succeeded', detail: '', ...a });

  it('switches off at the fix and on again at its inverse, ramping over the lag', () => {
    // Prepare
    const transitions = mitigationTransitions(fault, [act(0, { changeId: 'CR2077' }), act(10 * MINUTE, { undo: true, reappliedChangeId: 'CR2077' })]);
    // Assess
    expect(transitions).toEqual([
      { at: 0, mitigated: true },
      { at: 10 * MINUTE, mitigated: false },
    ]);
    const lag = 2 * MINUTE;
    expect(mitigationLevel(transitions, -1, lag)).toBe(0);
    expect(mitigationLevel(transitions, MINUTE, lag)).toBeCloseTo(0.5);
    expect(mitigationLevel(transitions, 5 * MINUTE, lag)).toBe(1);
    expect(mitigationLevel(transitions, 11 * MINUTE, lag)).toBeCloseTo(0.5);
    expect(mitigationLevel(transitions, 20 * MINUTE, lag)).toBe(0);
  });

  it('ignores an inverse of an action that never fixed the fault, and a failed fix', () => {
    expect(mitigationTransitions(fault, [act(0, { undo: true, reappliedChangeId: 'CR2074', target: 'CR2074' })])).toEqual([]);
    expect(mitigationTransitions(fault, [act(0, { changeId: 'CR2077', status: 'failed' })])).toEqual([]);
  });
});
