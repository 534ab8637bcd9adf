/** Unit: how `autopilot eval` scores a run against a scenario's `expect` block, and aggregates the runs. */
import { describe, expect, it } from 'vitest';
import { aggregate, formatTable, scoreRun, type ScenarioResult } from '../../../lib/local/eval.ts';
import type { Scenario } from '../../../functions/core/world/scenario.ts';

const bad: Pick<Scenario, 'expect'> = {
  expect: { rootCause: { service: 'inventory-service', changeId: 'CR2077', category: 'connection-pool' }, mitigation: { kind: 'rollback-change', service: 'inventory-service', target: 'CR2077' } },
};
const dependency: Pick<Scenario, 'expect'> = { expect: { rootCause: { service: 'adyen-psp', category: 'dependency' }, mitigation: { kind: 'failover' } } };
const falseAlarm: Pick<Scenario, 'expect'> = { expect: { rootCause: null, mitigation: { kind: 'none' } } };
const right = { service: 'inventory-service', changeId: 'CR2077', category: 'connection-pool', confidence: 0.9 };
const rollback = { kind: 'rollback-change', service: 'inventory-service', target: 'CR2077', status: 'succeeded' };

describe('unit: scoreRun', () => {
  it('passes when the top hypothesis names the expected service, change and category', () => {
    const r = scoreRun(bad, { rootCauses: [right], abstained: false, status: 'RESOLVED', actions: [rollback] });
    expect(r).toMatchObject({ pass: true, top3: true, topRight: true, confidence: 0.9, expected: 'inventory-service/CR2077/connection-pool', top1: 'inventory-service/CR2077/connection-pool', mitigationOk: true });
  });

  it('fails a right service with the wrong change or category, but counts it in the top 3 when ranked lower', () => {
    const wrongChange = { ...right, changeId: 'CR2080' };
    const wrongCategory = { ...right, category: 'bad-deploy' };
    expect(scoreRun(bad, { rootCauses: [wrongChange], abstained: false, status: 'RESOLVED' }).pass).toBe(false);
    expect(scoreRun(bad, { rootCauses: [wrongCategory], abstained: false, status: 'RESOLVED' }).pass).toBe(false);
    expect(scoreRun(bad, { rootCauses: [wrongChange, wrongCategory, right], abstained: false, status: 'RESOLVED' })).toMatchObject({ pass: false, top3: true, topRight: false });
  });

  it('does not require a change id when none is expected, and fails a right answer the agent abstained on', () => {
    const h = { service: 'adyen-psp', category: 'dependency', confidence: 0.7 };
    expect(scoreRun(dependency, { rootCauses: [h], abstained: false, status: 'RESOLVED' }).pass).toBe(true);
    expect(scoreRun(dependency, { rootCauses: [h], abstained: true, status: 'ESCALATED' })).toMatchObject({ pass: false, topRight: true, top1: 'abstain (adyen-psp/dependency)' });
  });

  it('passes a false alarm only when the agent abstains, and expects no action', () => {
    expect(scoreRun(falseAlarm, { rootCauses: [], abstained: true, status: 'RESOLVED', actions: [] })).toMatchObject({ pass: true, top3: true, falseAlarm: true, expected: 'abstain', mitigationOk: true });
    expect(scoreRun(falseAlarm, { rootCauses: [right], abstained: false, status: 'RESOLVED', actions: [rollback] })).toMatchObject({ pass: false, top3: false, topRight: false, mitigationOk: false });
  });
});

describe('unit: aggregate', () => {
  const result = (over: Partial<ScenarioResult>): ScenarioResult => ({
    file: 'x.json', scenario: 'x', seed: 'ev1-0-x', pass: true, expected: 'a', top1: 'a', top3: true, confidence: 1, topRight: true, abstained: false, falseAlarm: false, status: 'RESOLVED', mitigationOk: true, ms: 1, ...over,
  });

  it('computes top-1, top-3, the Brier score of the top-1 confidence, abstentions and the targets', () => {
    const runs = [
      result({}),
      result({ pass: false, top1: 'b', topRight: false, confidence: 0.6, top3: true, status: 'ESCALATED' }),
      result({ falseAlarm: true, abstained: true, confidence: 0, topRight: false, expected: 'abstain', top1: 'abstain (none)' }),
    ];
    const r = aggregate(runs);
    expect(r).toMatchObject({ runs: 3, top1: 0.667, top3: 1, abstained: 1, resolved: 0.5, falseAlarmsAbstained: true, meetsTargets: false });
    expect(r.brier).toBeCloseTo((0 + 0.36 + 0) / 3, 3);
    expect(formatTable(r)).toMatch(/top-1 66\.7%.*top-3 100\.0%.*Brier 0\.120.*abstained 1/);
  });

  it('bins the scored runs by top-1 confidence into a reliability table: count, mean confidence, share right', () => {
    const runs = [
      result({ confidence: 1 }),
      result({ confidence: 0.95, topRight: false, pass: false }),
      result({ confidence: 0.91 }),
      result({ confidence: 0.55, topRight: false, pass: false }),
      result({ confidence: 0.05, topRight: false, pass: false }),
      // Not scored: counts in no bin.
      result({ confidence: 0.5, scored: false, kind: 'recording' }),
    ];
    const { reliability } = aggregate(runs);
    expect(reliability).toHaveLength(10);
    expect(reliability![9]).toEqual({ from: 0.9, to: 1, runs: 3, meanConfidence: 0.953, right: 0.667 });
    expect(reliability![5]).toEqual({ from: 0.5, to: 0.6, runs: 1, meanConfidence: 0.55, right: 0 });
    expect(reliability![0]).toEqual({ from: 0, to: 0.1, runs: 1, meanConfidence: 0.05, right: 0 });
    expect(reliability![3]).toEqual({ from: 0.3, to: 0.4, runs: 0, meanConfidence: null, right: null });
    expect(formatTable(aggregate(runs))).toMatch(/reliability \(top-1 confidence → share right\): 0\.0–0\.1: 1 at 0\.05 → 0\.00 {3}0\.5–0\.6: 1 at 0\.55 → 0\.00 {3}0\.9–1\.0: 3 at 0\.95 → 0\.67/);
  });
});
