/**
 * Twin: `autopilot eval` on the scenario suite — every scenario through the whole workflow (webhook, Step
 * Functions, every agent, auto-approval, execution, verification, report) on one in-process twin, one world per
 * scenario. The diagnosis must meet the targets: top-1 ≥ 90 %, top-3 = 100 %, and the false alarm abstains.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate, type EvalResult, TARGETS } from '../../lib/local/eval.ts';
import { startTwin, type Twin } from '../../lib/local/twin.ts';

let twin: Twin;
let result: EvalResult;

beforeAll(async () => {
  twin = await startTwin({ inMemory: true, waitOverrideMs: 0 });
  result = await evaluate({ twin, seeds: 1 });
}, 120_000);
afterAll(() => twin?.stop());

describe('twin: autopilot eval on the scenario suite', () => {
  it('runs every scenario to the end of its execution', () => {
    expect(result.runs).toBeGreaterThanOrEqual(7);
    expect(result.scenarios.filter((s) => s.error)).toEqual([]);
  });

  it('meets the targets: top-1 ≥ 90 %, top-3 = 100 %, false alarms abstain', () => {
    const failed = result.scenarios.filter((s) => !s.pass).map((s) => `${s.scenario}: expected ${s.expected}, got ${s.top1}`);
    expect(result.top1, failed.join('; ')).toBeGreaterThanOrEqual(TARGETS.top1);
    expect(result.top3, failed.join('; ')).toBe(1);
    expect(result.falseAlarmsAbstained).toBe(true);
    expect(result.brier).toBeLessThan(0.1);
  });
});
