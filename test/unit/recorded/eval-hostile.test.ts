/**
 * Unit: `autopilot eval` on sloppy input — two files of one name (they would share a run id, and the second alert
 * would fold into the first incident, scoring the first run twice), and an evaluation where nothing is scored
 * (no target can be met by runs that have no answer key).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { aggregate, evalFiles, formatTable, NoScenarios, type ScenarioResult } from '../../../lib/local/eval.ts';
import { defaultScenarioDir } from '../../../functions/core/world/scenario.ts';
import { recording, TABLE } from './fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'autopilot-eval-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('evalFiles: two files of one name', () => {
  it('refuses two recordings named alike, naming both files', () => {
    const d = mkdtempSync(join(dir, 'rec-'));
    writeFileSync(join(d, 'a.json'), JSON.stringify(recording({ name: 'twin-name' })));
    writeFileSync(join(d, 'b.json'), JSON.stringify(recording({ name: 'twin-name', expect: { rootCause: { service: TABLE } } })));
    expect(() => evalFiles([d])).toThrow(NoScenarios);
    expect(() => evalFiles([d])).toThrow(/"twin-name".*a\.json.*b\.json/);
    // choosing one of them by its file is fine
    expect(evalFiles([d], [join(d, 'a.json')]).recordings).toHaveLength(1);
  });

  it('refuses two scenarios named alike (their worlds and alerts would be one)', () => {
    const d = mkdtempSync(join(dir, 'scn-'));
    const text = readFileSync(join(defaultScenarioDir(), 'db-pool-exhaustion.json'), 'utf8');
    writeFileSync(join(d, 'a.json'), text);
    writeFileSync(join(d, 'b.json'), text);
    expect(() => evalFiles([d])).toThrow(/"db-pool-exhaustion".*a\.json.*b\.json/);
  });

  it('refuses scenario names whose run ids would be cut to the same 64 characters', () => {
    const d = mkdtempSync(join(dir, 'long-'));
    const scenario = JSON.parse(readFileSync(join(defaultScenarioDir(), 'db-pool-exhaustion.json'), 'utf8')) as Record<string, unknown>;
    const stem = 'a'.repeat(59);
    writeFileSync(join(d, 'a.json'), JSON.stringify({ ...scenario, name: `${stem}-one` }));
    writeFileSync(join(d, 'b.json'), JSON.stringify({ ...scenario, name: `${stem}-two` }));
    expect(() => evalFiles([d])).toThrow(/first .* characters/);
  });
});

describe('evalFiles: what a directory holds besides files', () => {
  it.skipIf(process.platform === 'win32')('reads only regular files: a device or FIFO named *.json would never end (or block for ever)', () => {
    const d = mkdtempSync(join(dir, 'dev-'));
    writeFileSync(join(d, 'orders.json'), JSON.stringify(recording()));
    symlinkSync('/dev/null', join(d, 'null.json'));
    mkdirSync(join(d, 'folder.json'));
    expect(evalFiles([d]).recordings.map((r) => r.name)).toEqual(['unit-orders']);
  });
});

describe('evalFiles: a format eval does not run', () => {
  it('names the file and its format instead of reading it as a scenario', () => {
    const d = mkdtempSync(join(dir, 'fmt-'));
    writeFileSync(join(d, 'next.json'), JSON.stringify(recording({ format: 'autopilot.recording/2' })));
    expect(() => evalFiles([d])).toThrow(/next\.json: format "autopilot\.recording\/2" is not one eval runs: "autopilot\.recording\/1" \(a recording\) or none \(a scenario\)$/);
  });

  it('says where an AWS recording runs', () => {
    const aws = join(defaultScenarioDir(), '..', 'recorded', 'aws', 'checkout-alias-dynamodb-throttling.json');
    expect(() => evalFiles([aws])).toThrow(/checkout-alias-dynamodb-throttling\.json: format "autopilot\.aws-recording\/1" .*loopback fake/);
  });
});

describe('evalFiles: a series no replay can show', () => {
  it('refuses a metric series that starts after the recording ends, naming the field', () => {
    const d = mkdtempSync(join(dir, 'late-'));
    const r = recording();
    const metrics = (r.metrics as Record<string, unknown>[]).map((m, i) => (i === 1 ? { ...m, start: '2025-01-01T03:00:00Z' } : m));
    writeFileSync(join(d, 'late.json'), JSON.stringify({ ...r, metrics }));
    expect(() => evalFiles([d])).toThrow(/late\.json is not a valid recording .*metrics\.1\.start: the series starts after the recording ends \(recordedUntil\)/);
  });
});

describe('evalFiles: an answer key no run can match', () => {
  it('refuses an expected change that is not a change of the recording, naming the field', () => {
    const d = mkdtempSync(join(dir, 'key-'));
    writeFileSync(join(d, 'ghost-change.json'), JSON.stringify(recording({ expect: { rootCause: { service: TABLE, changeId: 'ct-404' } } })));
    expect(() => evalFiles([d])).toThrow(/ghost-change\.json is not a valid recording .*expect\.rootCause\.changeId: "ct-404" is not the id of a change in the recording/);
  });
});

describe('aggregate: nothing scored', () => {
  const unscored: ScenarioResult = {
    file: 'r.json', scenario: 'r', seed: 'rc0-r', kind: 'recording', scored: false, pass: false, expected: 'unscored', top1: `${TABLE}/database`, top3: false, confidence: 0.7, topRight: false, abstained: false, falseAlarm: false, status: 'ESCALATED', mitigationOk: false, ms: 1,
  };

  it('does not meet the targets, nor claim a hit rate, when no run has an answer key', () => {
    const r = aggregate([unscored]);
    expect(r.scored).toBe(0);
    expect(r.meetsTargets).toBe(false);
    expect(r.top1).toBe(0);
    expect(r.top3).toBe(0);
  });

  it('prints n/a for the figures and says the targets were not measured', () => {
    const text = formatTable(aggregate([unscored]));
    expect(text).toMatch(/runs 1 \(scored 0\) {3}top-1 n\/a {3}top-3 n\/a {3}Brier n\/a/);
    expect(text).toMatch(/targets .*: NOT met \(no run has an answer key\)/);
    expect(text).not.toMatch(/top-1 100\.0%/);
  });
});
