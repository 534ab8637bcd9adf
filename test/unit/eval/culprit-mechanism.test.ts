/**
 * Unit: culprit top-1 and mechanism top-1 in `autopilot eval` (issue 11). The culprit is the key's service and, when
 * the key names one, its change, whatever the category; the mechanism is the key's `mechanism`, else its category
 * unless that names only a trigger (then unscored: null). Both show in every summary and beside top-1 in the table;
 * every field that was there stays, with its meaning.
 */
import { describe, expect, it } from 'vitest';
import { aggregate, culpritMatches, expectedMechanism, formatTable, type ScenarioResult, scoreRun } from '../../../lib/local/eval.ts';

const poolChange = { rootCause: { service: 'inventory-service', changeId: 'CR2077', category: 'config-change', mechanism: 'connection-pool' }, mitigation: { kind: 'revert-config' } };
const badDeploy = { rootCause: { service: 'pricing-service', changeId: 'CHG-1', category: 'bad-deploy' }, mitigation: { kind: 'rollback-change' } };
const leak = { rootCause: { service: 'ledger', category: 'file-descriptors' }, mitigation: { kind: 'restart-service' } };
const falseAlarm = { rootCause: null, mitigation: { kind: 'none' } };
const run = (top: object | undefined, abstained = false) => ({ rootCauses: top ? [top] : [], abstained, status: 'RESOLVED' });

describe('unit: the answer key’s mechanism and culprit', () => {
  it('scores the named mechanism, else a category that is one, and nothing for a trigger or a false alarm', () => {
    expect(expectedMechanism(poolChange)).toBe('connection-pool');
    expect(expectedMechanism(leak)).toBe('file-descriptors');
    expect(expectedMechanism(badDeploy)).toBeNull();
    expect(expectedMechanism({ rootCause: { service: 's', category: 'config-change' } })).toBeNull();
    expect(expectedMechanism(falseAlarm)).toBeNull();
    // A recording that gives only the service has no mechanism to score.
    expect(expectedMechanism({ rootCause: { service: 's' } })).toBeNull();
  });

  it('matches the culprit on the service and, when the key names one, the change — the culprit field first', () => {
    expect(culpritMatches({ service: 'inventory-service', changeId: 'CR2077', category: 'bad-deploy' }, poolChange)).toBe(true);
    expect(culpritMatches({ service: 'inventory-service', changeId: 'CR2080' }, poolChange)).toBe(false);
    expect(culpritMatches({ service: 'inventory-service' }, poolChange)).toBe(false);
    expect(culpritMatches({ service: 'x', culprit: { kind: 'change', service: 'inventory-service', changeId: 'CR2077' } }, poolChange)).toBe(true);
    expect(culpritMatches({ service: 'ledger', category: 'memory-leak' }, leak)).toBe(true);
    expect(culpritMatches(undefined, leak)).toBe(false);
  });
});

describe('unit: scoreRun culpritTop1 and mechanismTop1', () => {
  it('counts the right change with the compatibility category wrong as a culprit hit and its mechanism as a mechanism hit', () => {
    const h = { service: 'inventory-service', changeId: 'CR2077', category: 'config-change', mechanism: 'connection-pool', confidence: 0.9 };
    // The key's category is config-change and so is the hypothesis's: a full top-1 hit, culprit and mechanism too.
    expect(scoreRun({ expect: poolChange }, run(h))).toMatchObject({ pass: true, culpritTop1: true, mechanismTop1: true });
    // Categorised otherwise (the old way: the pool): not a top-1 hit, yet the culprit and the mechanism are right.
    expect(scoreRun({ expect: poolChange }, run({ ...h, category: 'connection-pool' }))).toMatchObject({ pass: false, culpritTop1: true, mechanismTop1: true });
    // Without a mechanism field (a hypothesis made before issue 11), its category stands for it.
    expect(scoreRun({ expect: poolChange }, run({ service: 'inventory-service', changeId: 'CR2077', category: 'connection-pool' }))).toMatchObject({ mechanismTop1: true });
    expect(scoreRun({ expect: poolChange }, run({ ...h, mechanism: 'capacity' }))).toMatchObject({ pass: true, culpritTop1: true, mechanismTop1: false });
  });

  it('scores no mechanism for a trigger-only key or a false alarm, and misses both when the agent abstained', () => {
    const h = { service: 'pricing-service', changeId: 'CHG-1', category: 'bad-deploy', mechanism: 'bad-deploy', confidence: 0.8 };
    expect(scoreRun({ expect: badDeploy }, run(h))).toMatchObject({ pass: true, culpritTop1: true, mechanismTop1: null });
    expect(scoreRun({ expect: leak }, run({ service: 'ledger', category: 'file-descriptors' }, true))).toMatchObject({ culpritTop1: false, mechanismTop1: false, serviceTop1: false });
    expect(scoreRun({ expect: falseAlarm }, run(undefined, true))).toMatchObject({ pass: true, culpritTop1: true, mechanismTop1: null });
    expect(scoreRun({ expect: falseAlarm }, run(h))).toMatchObject({ pass: false, culpritTop1: false, mechanismTop1: null });
  });

  it('does not count the right service with the wrong change as the culprit', () => {
    expect(scoreRun({ expect: badDeploy }, run({ service: 'pricing-service', changeId: 'CHG-2', category: 'bad-deploy' }))).toMatchObject({ serviceTop1: true, culpritTop1: false });
  });
});

describe('unit: the summaries and the table', () => {
  const result = (over: Partial<ScenarioResult>): ScenarioResult => ({
    file: 'x.json', scenario: 'x', seed: 'ev1-0-x', kind: 'generated', family: 'fd-leak', scored: true, pass: true, expected: 'a', top1: 'a', top3: true, serviceTop1: true, culpritTop1: true, mechanismTop1: true, confidence: 1, topRight: true, abstained: false, falseAlarm: false, status: 'RESOLVED', mitigationOk: true, ms: 1, ...over,
  });
  const runs = [
    result({}),
    result({ pass: false, topRight: false, confidence: 0.6, mechanismTop1: false }),
    result({ family: 'bad-deploy-errors', pass: false, topRight: false, confidence: 0.5, culpritTop1: false, mechanismTop1: null }),
    result({ family: 'bad-deploy-errors', mechanismTop1: null }),
  ];

  it('gives the shares overall, by kind and by family (null where nothing scored a mechanism), and keeps every field', () => {
    const r = aggregate(runs);
    expect(r).toMatchObject({ runs: 4, scored: 4, top1: 0.5, top3: 1, serviceTop1: 1, culpritTop1: 0.75, mechanismTop1: 0.5 });
    expect(Object.keys(r)).toEqual(expect.arrayContaining(['runs', 'scored', 'unscored', 'top1', 'top3', 'serviceTop1', 'brier', 'abstained', 'resolved', 'falseAlarmsAbstained', 'meetsTargets', 'byKind', 'byFamily', 'reliability', 'scenarios', 'ms']));
    expect(r.byKind.generated).toMatchObject({ top1: 0.5, culpritTop1: 0.75, mechanismTop1: 0.5 });
    expect(r.byKind.scenario).toMatchObject({ runs: 0, culpritTop1: null, mechanismTop1: null });
    expect(r.byFamily['fd-leak']).toMatchObject({ top1: 0.5, culpritTop1: 1, mechanismTop1: 0.5 });
    expect(r.byFamily['bad-deploy-errors']).toMatchObject({ top1: 0.5, culpritTop1: 0.5, mechanismTop1: null });
  });

  it('reads a result made before culprits were scored as its full top-1 hit, and scores nothing when nothing is scored', () => {
    const { culpritTop1: _c, mechanismTop1: _m, ...old } = result({ kind: 'scenario' });
    expect(aggregate([old, { ...old, pass: false }])).toMatchObject({ culpritTop1: 0.5, mechanismTop1: null });
    expect(aggregate([result({ kind: 'recording', scored: false })])).toMatchObject({ culpritTop1: null, mechanismTop1: null });
  });

  it('prints culprit and mechanism beside top-1, overall and per family', () => {
    const text = formatTable(aggregate(runs));
    expect(text).toMatch(/^runs 4 {3}top-1 50\.0% \(culprit 75\.0%, mechanism 50\.0%, service 100\.0%\) {3}top-3 100\.0%/m);
    expect(text).toMatch(/ {2}generated: runs 4 {3}top-1 50\.0% \(culprit 75\.0%, mechanism 50\.0%, service 100\.0%\)/);
    expect(text).toMatch(/ {2}\s*bad-deploy-errors: runs 2 {3}top-1 50\.0% \(culprit 50\.0%, service 100\.0%\) {3}top-3/);
    // A scenario-only evaluation prints the culprit share too (and no service share, as before).
    expect(formatTable(aggregate([result({ kind: 'scenario', family: undefined, mechanismTop1: null })]))).toMatch(/^runs 1 {3}top-1 100\.0% \(culprit 100\.0%\) {3}top-3/m);
  });
});
