/**
 * Twin: `autopilot eval` on the scenario suite — every scenario through the whole workflow (webhook, Step
 * Functions, every agent, auto-approval, execution, verification, report) on one in-process twin, one world per
 * scenario. The diagnosis must meet the targets: top-1 ≥ 90 %, top-3 = 100 %, and the false alarm abstains.
 *
 * A world is one draw of noise. `autopilot eval --seeds 5` measures the rate over many draws; this CI gate runs one
 * draw per scenario and gives a scenario that misses one more, fresh world: it fails on a scenario the analysis gets
 * wrong twice in a row (a regression), not on a single unlucky draw — which it still reports.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregate, evaluate, type EvalResult, runOne, scenarioFiles, TARGETS } from '../../lib/local/eval.ts';
import { defaultScenarioDir } from '../../functions/core/world/scenario.ts';
import { startTwin, type Twin } from '../../lib/local/twin.ts';

let twin: Twin;
let first: EvalResult;
let gated: EvalResult;

beforeAll(async () => {
  twin = await startTwin({ inMemory: true, waitOverrideMs: 0 });
  first = await evaluate({ twin, seeds: 1 });
  const files = scenarioFiles(defaultScenarioDir());
  const retried = await Promise.all(
    first.scenarios.map(async (s) => {
      if (s.pass) return s;
      console.warn(`eval: ${s.scenario} missed on world ${s.seed} (expected ${s.expected}, got ${s.top1}); trying a fresh world`);
      const { file, scenario } = files.find((f) => f.scenario.name === s.scenario)!;
      return runOne(twin, file, scenario, `evretry-${randomBytes(3).toString('hex')}-${scenario.name}`.slice(0, 64));
    }),
  );
  gated = aggregate(retried);
}, 180_000);
afterAll(() => twin?.stop());

describe('twin: autopilot eval on the scenario suite', () => {
  it('runs every scenario to the end of its execution', () => {
    expect(first.runs).toBeGreaterThanOrEqual(25);
    expect(first.scenarios.filter((s) => s.error)).toEqual([]);
  });

  it('meets the targets on first draws: top-1 ≥ 90 %, and the false alarm abstains', () => {
    expect(first.top1).toBeGreaterThanOrEqual(TARGETS.top1);
    expect(first.falseAlarmsAbstained).toBe(true);
    expect(first.brier).toBeLessThan(0.1);
  });

  it('has no scenario misdiagnosed on two worlds in a row, and every expected cause in the top 3', () => {
    const failed = gated.scenarios.filter((s) => !s.pass).map((s) => `${s.scenario}: expected ${s.expected}, got ${s.top1}`);
    expect(gated.top3, failed.join('; ')).toBe(1);
    expect(failed).toEqual([]);
  });
});
