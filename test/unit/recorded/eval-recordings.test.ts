/** Unit: how `autopilot eval` finds recordings, scores them on the answer fields they give, and reports them. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { aggregate, evalFiles, formatTable, NoScenarios, type ScenarioResult, scoreRun } from '../../../lib/local/eval.ts';
import { defaultScenarioDir } from '../../../functions/core/world/scenario.ts';
import { recording, TABLE } from './fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'autopilot-eval-recordings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const table = { service: TABLE, category: 'database', changeId: 'ct-1', confidence: 0.8 };
const run = (h: object, extra: object = {}) => ({ rootCauses: [h], abstained: false, status: 'ESCALATED', ...extra });

describe('scoring on the answer fields given', () => {
  it('matches on the service alone when only the service is given', () => {
    expect(scoreRun({ expect: { rootCause: { service: TABLE } } }, run(table), { attempted: true })).toMatchObject({ pass: true, top3: true, topRight: true, expected: TABLE, mitigationScored: false, mitigationOk: false });
    expect(scoreRun({ expect: { rootCause: { service: TABLE } } }, run({ ...table, service: 'other' })).pass).toBe(false);
  });

  it('checks the category and the change only when given', () => {
    expect(scoreRun({ expect: { rootCause: { service: TABLE, changeId: 'ct-1' } } }, run({ ...table, category: 'capacity' })).pass).toBe(true);
    expect(scoreRun({ expect: { rootCause: { service: TABLE, changeId: 'ct-2' } } }, run(table)).pass).toBe(false);
    expect(scoreRun({ expect: { rootCause: { service: TABLE, category: 'capacity' } } }, run(table)).pass).toBe(false);
  });

  it('compares an expected mitigation with the first attempted action for a recording (its actions cannot succeed)', () => {
    const key = { expect: { rootCause: { service: TABLE }, mitigation: { kind: 'revert-config', service: TABLE } } };
    const attempted = run(table, { actions: [{ kind: 'revert-config', service: TABLE, target: 'ct-1', status: 'failed' }] });
    expect(scoreRun(key, attempted, { attempted: true })).toMatchObject({ mitigationOk: true, mitigationScored: true, mitigation: `revert-config ${TABLE} ct-1` });
    expect(scoreRun(key, attempted).mitigationOk).toBe(false);
  });
});

describe('aggregate and table with recordings', () => {
  const result = (over: Partial<ScenarioResult>): ScenarioResult => ({
    file: 'x.json', scenario: 'x', seed: 'ev0-0-x', kind: 'scenario', scored: true, pass: true, expected: 'a', top1: 'a', top3: true, confidence: 1, topRight: true, abstained: false, falseAlarm: false, status: 'RESOLVED', mitigationOk: true, ms: 1, ...over,
  });
  const runs = [
    result({}),
    result({ kind: 'recording', seed: 'rc0-r1', scenario: 'r1', pass: false, top3: true, topRight: false, confidence: 0.5, status: 'ESCALATED' }),
    result({ kind: 'recording', seed: 'rc0-r2', scenario: 'r2', scored: false, pass: false, top3: false, topRight: false, confidence: 0.9, expected: 'unscored', status: 'ESCALATED' }),
  ];

  it('scores only runs with an answer key, keeps resolved to scenarios, and breaks the figures down by kind', () => {
    const r = aggregate(runs);
    expect(r).toMatchObject({ runs: 3, scored: 2, unscored: 1, top1: 0.5, top3: 1, resolved: 1, abstained: 0 });
    expect(r.brier).toBeCloseTo((0 + 0.25) / 2, 3);
    expect(r.byKind.scenario).toEqual({ runs: 1, scored: 1, top1: 1, top3: 1, serviceTop1: 1, culpritTop1: 1, mechanismTop1: null, brier: 0, abstained: 0, resolved: 1, falseAlarmsAbstained: true });
    expect(r.byKind.recording).toEqual({ runs: 2, scored: 1, top1: 0, top3: 1, serviceTop1: 0, culpritTop1: 0, mechanismTop1: null, brier: 0.25, abstained: 0, resolved: null, falseAlarmsAbstained: true });
  });

  it('prints recordings without a seed, unscored ones as such, and a footer that says what does not apply', () => {
    const text = formatTable(aggregate(runs));
    expect(text).toMatch(/^r2\s+-\s+unscored\s+a\s+-\s+0\.90\s+ESCALATED\s+unscored$/m);
    expect(text).toMatch(/runs 3 \(scored 2\)/);
    expect(text).toMatch(/ {2}recordings: runs 2 \(scored 1\) {3}top-1 0\.0%/);
    expect(text).toMatch(/seeds do not apply/);
    expect(text).toMatch(/resolved counts scenarios only/);
  });

  it('prints a scenario-only evaluation as before (no recording lines)', () => {
    const text = formatTable(aggregate([result({})]));
    expect(text).not.toMatch(/recordings|scored/);
  });
});

describe('evalFiles', () => {
  writeFileSync(join(dir, 'orders.json'), JSON.stringify(recording()));
  writeFileSync(join(dir, 'no-key.json'), JSON.stringify(recording({ name: 'no-key', expect: undefined })));

  it('tells recordings from scenarios by their format, in directories and files, and filters by name', () => {
    const mixed = evalFiles([dir, join(defaultScenarioDir(), 'db-pool-exhaustion.json')]);
    expect(mixed.recordings.map((r) => r.name)).toEqual(['no-key', 'unit-orders']);
    expect(mixed.scenarios.map((s) => s.scenario.name)).toEqual(['db-pool-exhaustion']);
    expect(evalFiles([dir], ['unit-orders']).recordings.map((r) => r.name)).toEqual(['unit-orders']);
  });

  it('fails before any run on a bad recording or path, naming it', () => {
    const bad = mkdtempSync(join(tmpdir(), 'autopilot-eval-bad-'));
    try {
      writeFileSync(join(bad, 'bad.json'), JSON.stringify(recording({ recordedUntil: 'soon' })));
      expect(() => evalFiles([bad])).toThrow(/bad\.json is not a valid recording.*recordedUntil/);
      expect(() => evalFiles([join(bad, 'none')])).toThrow(NoScenarios);
      expect(() => evalFiles([dir], ['nothing-like-it'])).toThrow(/none of nothing-like-it is a scenario or recording/);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});
