/**
 * Twin: `autopilot eval --generated` — generated incidents (functions/core/world/generator.ts) run through the whole
 * workflow like scenario files, one world each, with kind 'generated', their family, and per-family figures. Figures
 * are not gated here (the generator measures the agents; it does not set a target for them).
 */
import { describe, expect, it } from 'vitest';
import { evaluate, formatTable, NoScenarios } from '../../lib/local/eval.ts';
import { generateIncident } from '../../functions/core/world/generator.ts';
import { describeExpected } from '../../lib/local/eval.ts';

describe('twin: autopilot eval --generated', () => {
  it('runs N generated incidents once each and reports them per family', async () => {
    // --seeds does not multiply generated incidents.
    const result = await evaluate({ generated: { count: 3, seed: 'twin' }, seeds: 2 });
    expect(result.runs).toBe(3);
    expect(result.scenarios.filter((r) => r.error)).toEqual([]);
    expect(result.byKind.generated.runs).toBe(3);
    expect(result.byKind.scenario.runs).toBe(0);
    result.scenarios.forEach((r, i) => {
      const g = generateIncident('twin', i);
      expect(r).toMatchObject({ kind: 'generated', family: g.family, novel: g.novel, scenario: g.scenario.name, expected: describeExpected(g.scenario) });
      expect(r.file).toBe(`generated:twin/${i}`);
    });
    const families = Object.values(result.byFamily);
    expect(families.reduce((n, f) => n + f.runs, 0)).toBe(3);
    expect(formatTable(result)).toMatch(/per family/);
  }, 120_000);

  it('refuses --only without files to select from, and a bad seed, before running anything', async () => {
    await expect(evaluate({ generated: { count: 1, seed: 'x' }, files: ['db-slow'] })).rejects.toThrow(NoScenarios);
    await expect(evaluate({ generated: { count: 1, seed: 'bad seed' } })).rejects.toThrow(/--seed/);
  });
});
