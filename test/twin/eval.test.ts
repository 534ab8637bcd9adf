/**
 * Twin: `autopilot eval` on the scenario suite — every scenario through the whole workflow (webhook, Step
 * Functions, every agent, auto-approval, execution, verification, report) on one in-process twin, two worlds per
 * scenario. The diagnosis must meet the targets: top-1 ≥ 90 %, top-3 = 100 %, and the false alarm abstains.
 *
 * A world is one draw of noise. Every run counts: a miss is a miss (no scenario gets a fresh world after missing one).
 * The gate is the score over both draws — top-1 of at least 95 % (at most two misses in 52 runs: a rare unlucky draw
 * is reported, not hidden) — and no scenario may miss on both of its worlds (a regression on one scenario fails the
 * gate however good the rest is). `autopilot eval --seeds 8` measures the rate over more draws.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate, type EvalResult, TARGETS } from '../../lib/local/eval.ts';
import { startTwin, type Twin } from '../../lib/local/twin.ts';

const SEEDS = 2;
/** The share of first-draw runs whose top-1 must be right: stricter than the published target, with room for two draws. */
const GATE_TOP1 = 0.95;

let twin: Twin;
let result: EvalResult;

beforeAll(async () => {
  twin = await startTwin({ inMemory: true, waitOverrideMs: 0 });
  result = await evaluate({ twin, seeds: SEEDS });
  for (const s of result.scenarios.filter((r) => !r.pass)) console.warn(`eval: ${s.scenario} missed on world ${s.seed} (expected ${s.expected}, got ${s.top1}) — counted`);
}, 240_000);
afterAll(() => twin?.stop());

describe('twin: autopilot eval on the scenario suite', () => {
  it('runs every scenario on two worlds to the end of its execution', () => {
    expect(result.runs).toBeGreaterThanOrEqual(25 * SEEDS);
    expect(result.scenarios.filter((s) => s.error)).toEqual([]);
  });

  it('meets the targets with every run counted: top-1 ≥ 95 %, top-3 = 100 %, the false alarm abstains, Brier < 0.05', () => {
    const missed = result.scenarios.filter((s) => !s.pass).map((s) => `${s.scenario} (world ${s.seed}): expected ${s.expected}, got ${s.top1}`);
    expect(result.top1, missed.join('; ')).toBeGreaterThanOrEqual(Math.max(GATE_TOP1, TARGETS.top1));
    expect(result.top3, missed.join('; ')).toBe(TARGETS.top3);
    expect(result.falseAlarmsAbstained).toBe(true);
    expect(result.brier).toBeLessThan(0.05);
  });

  it('has no scenario that misses on both of its worlds', () => {
    const byScenario = new Map<string, boolean[]>();
    for (const s of result.scenarios) byScenario.set(s.scenario, [...(byScenario.get(s.scenario) ?? []), s.pass]);
    const alwaysMissed = [...byScenario].filter(([, passes]) => !passes.some(Boolean)).map(([name]) => name);
    expect(alwaysMissed).toEqual([]);
  });
});
