import { describe, expect, it } from 'vitest';
import type { MitigationAction } from '../../../functions/core/model.ts';
import { buildAction, RUNBOOKS, type RunbookKind } from '../../../functions/core/runbooks/catalog.ts';
import { changeRefOf, directionOf, inverseOf, isUndo, NO_INVERSE, unmetAtExecution, whyNoInverse } from '../../../functions/core/runbooks/inverse.ts';
import type { ChangeRequest } from '../../../functions/core/tools/ports.ts';

const CR2077: ChangeRequest = {
  id: 'CR2077',
  service: 'inventory-service',
  type: 'config',
  title: 'Tune HikariCP pool settings',
  description: 'Lower maximum-pool-size from 20 to 10',
  deployedAt: '2026-03-10T11:42:00.000Z',
  state: 'implemented',
  configChange: { param: 'maximum-pool-size', old: '20', new: '10' },
  rollbackPlan: 'Revert maximum-pool-size to 20 via config map + rolling restart',
};
const CR2074: ChangeRequest = { ...CR2077, id: 'CR2074', service: 'cart-service', type: 'deploy', configChange: undefined, version: { from: 'v3.8.1', to: 'v3.8.2' } };
const FLAG: ChangeRequest = { ...CR2077, id: 'CR2075', service: 'web-storefront', type: 'feature-flag', configChange: { param: 'storefront.flash-countdown', old: 'false', new: 'true' } };

/** Builds an action through the catalog, as the planner does. */
const built = (kind: RunbookKind, request: Parameters<typeof buildAction>[1]): MitigationAction => {
  const result = buildAction(kind, request, `${kind} test`, ['ev-1']);
  if (!result.ok) throw new Error(`${kind} not buildable: ${result.unmet.join('; ')}`);
  return result.action;
};

const rollback = built('rollback-change', { service: 'cart-service', target: 'CR2074', change: CR2074, params: { fromVersion: 'v3.8.2', toVersion: 'v3.8.1' } });
const revert = built('revert-config', { service: 'inventory-service', target: 'maximum-pool-size', change: CR2077, params: { param: 'maximum-pool-size', changeId: 'CR2077', from: '10', to: '20' } });
const scale = built('scale-service', { service: 'inventory-service', tier: 'backend', params: { factor: 2 } });
const toggle = built('toggle-feature-flag', { service: 'web-storefront', target: 'CR2075', change: FLAG, params: { flag: 'storefront.flash-countdown', from: 'true', to: 'false' } });
const failover = built('failover', { service: 'checkout-service', target: 'payment-service', tier: 'backend', params: { dependency: 'payment-service' } });
const restart = built('restart-service', { service: 'inventory-service', tier: 'backend', params: { strategy: 'rolling' } });

/** An action without the parts that are allowed to differ after a round trip (description, the inverse text). */
const essence = (a: MitigationAction) => {
  const { inverse: _i, ...params } = a.params;
  return { kind: a.kind, service: a.service, target: a.target, params, risk: a.risk, evidenceIds: a.evidenceIds };
};

describe('unit: inverseOf', () => {
  it('rolls a rolled-back change forward: same change, versions swapped, direction undo', () => {
    const inverse = inverseOf(rollback);
    expect(inverse).toMatchObject({ kind: 'rollback-change', service: 'cart-service', target: 'CR2074', risk: 'medium', reversible: true, evidenceIds: ['ev-1'] });
    expect(inverse?.params).toMatchObject({ direction: 'undo', fromVersion: 'v3.8.1', toVersion: 'v3.8.2' });
    expect(inverse?.description).toMatch(/Roll forward CR2074 on cart-service \(v3\.8\.1 → v3\.8\.2\)/);
  });

  it('sets a reverted parameter back to the changed value', () => {
    const inverse = inverseOf(revert);
    expect(inverse).toMatchObject({ kind: 'revert-config', target: 'maximum-pool-size', risk: 'low' });
    expect(inverse?.params).toMatchObject({ direction: 'undo', param: 'maximum-pool-size', changeId: 'CR2077', from: '20', to: '10' });
    expect(inverse?.description).toMatch(/Set maximum-pool-size on inventory-service \(20 → 10\) again/);
  });

  it('scales back in to the previous capacity (×1/f)', () => {
    const inverse = inverseOf(scale);
    expect(inverse?.params).toMatchObject({ direction: 'undo', factor: 0.5 });
    expect(inverse?.description).toMatch(/Scale inventory-service back in ×0\.5/);
  });

  it('toggles a flag back and fails back to the primary', () => {
    expect(inverseOf(toggle)?.params).toMatchObject({ direction: 'undo', flag: 'storefront.flash-countdown', from: 'false', to: 'true' });
    expect(inverseOf(failover)).toMatchObject({ kind: 'failover', target: 'payment-service', risk: 'high', params: expect.objectContaining({ direction: 'undo', dependency: 'payment-service' }) });
    expect(inverseOf(failover)?.description).toMatch(/back to the primary/);
  });

  it('has no inverse for a restart, and says why', () => {
    expect(inverseOf(restart)).toBeUndefined();
    expect(whyNoInverse(restart)).toBe(NO_INVERSE['restart-service']);
    expect(whyNoInverse(restart)).toMatch(/cannot be undone/);
  });

  it('has no inverse for a scale without a usable factor', () => {
    expect(inverseOf({ ...scale, params: { factor: 'lots' } })).toBeUndefined();
    expect(whyNoInverse({ ...scale, params: {} })).toMatch(/do not say how to go back/);
  });

  it.each([rollback, revert, scale, toggle, failover])('is symmetric: the inverse of the inverse of $kind is the action again', (action) => {
    const inverse = inverseOf(action) as MitigationAction;
    expect(isUndo(inverse)).toBe(true);
    const back = inverseOf(inverse) as MitigationAction;
    expect(directionOf(back)).toBe('apply');
    expect(essence(back)).toEqual(essence(action));
  });

  it('covers every catalog kind: an inverse exactly for the reversible ones', () => {
    const actions: Record<RunbookKind, MitigationAction> = { 'rollback-change': rollback, 'revert-config': revert, 'scale-service': scale, 'toggle-feature-flag': toggle, failover, 'restart-service': restart };
    for (const kind of Object.keys(RUNBOOKS) as RunbookKind[]) {
      expect(!!inverseOf(actions[kind]), kind).toBe(RUNBOOKS[kind].reversible);
    }
  });
});

describe('unit: preconditions at execution', () => {
  it('passes a rollback of a live change and skips one already rolled back, naming the condition', () => {
    expect(unmetAtExecution(rollback, { change: CR2074 })).toEqual([]);
    expect(unmetAtExecution(rollback, { change: { ...CR2074, state: 'rolled-back' } })).toEqual(['the change is implemented (not already rolled back or cancelled)']);
  });

  it('fails a rollback whose change cannot be found', () => {
    expect(unmetAtExecution(rollback, {})).toEqual(expect.arrayContaining(['a change id to roll back', 'the change is implemented (not already rolled back or cancelled)']));
  });

  it('refuses to scale a managed database or an external dependency', () => {
    expect(unmetAtExecution(scale, { tier: 'database' })).toEqual(['the service is one we run (not an external dependency or a managed database)']);
    expect(unmetAtExecution(scale, { tier: 'backend' })).toEqual([]);
  });

  it('rolls forward only a change that is rolled back', () => {
    const forward = inverseOf(rollback) as MitigationAction;
    expect(unmetAtExecution(forward, { change: { ...CR2074, state: 'rolled-back' } })).toEqual([]);
    expect(unmetAtExecution(forward, { change: CR2074 })).toEqual(['the change is rolled back (there is something to re-apply)']);
  });

  it('sets a parameter again only when its changed value is known and the change is reverted', () => {
    const again = inverseOf(revert) as MitigationAction;
    expect(unmetAtExecution(again, { change: { ...CR2077, state: 'rolled-back' } })).toEqual([]);
    expect(unmetAtExecution(again, { change: { ...CR2077, state: 'rolled-back', configChange: { param: 'maximum-pool-size', old: '20', new: '' } } })).toEqual([
      'the change set a configuration parameter whose changed value is known',
    ]);
  });

  it('scales back in only by a factor in [1/4, 1)', () => {
    const back = inverseOf(scale) as MitigationAction;
    expect(unmetAtExecution(back, { tier: 'backend' })).toEqual([]);
    expect(unmetAtExecution({ ...back, params: { ...back.params, factor: 0.1 } }, { tier: 'backend' })).toEqual(['a scale-in factor between 1/4 and 1 (back to the previous capacity)']);
  });

  it('never runs the undo of a restart', () => {
    expect(unmetAtExecution({ ...restart, params: { direction: 'undo' } }, { tier: 'backend' })).toEqual([expect.stringMatching(/cannot be undone/)]);
  });

  it('names the change an action is about', () => {
    expect(changeRefOf(rollback)).toEqual({ id: 'CR2074' });
    expect(changeRefOf(revert)).toEqual({ id: 'CR2077', param: 'maximum-pool-size' });
    expect(changeRefOf({ ...revert, params: {} })).toEqual({ param: 'maximum-pool-size' });
    expect(changeRefOf(toggle)).toEqual({ id: 'CR2075', param: 'storefront.flash-countdown' });
    expect(changeRefOf(scale)).toEqual({});
  });
});
