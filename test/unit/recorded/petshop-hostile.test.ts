/**
 * Unit: `autopilot import petshop` on sloppy input — a broken case after good ones leaves nothing half-written, an
 * --out that cannot be a directory is named as such, and an alert long before the case is refused.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importPetshopScenario, InvalidPetshopData } from '../../../functions/core/recorded/petshop.ts';

const root = mkdtempSync(join(tmpdir(), 'petshop-hostile-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const NODES = ['Storefront', 'catalog_AWS::ECS::Fargate', 'items_AWS::DynamoDB::Table'];
const START = 1_700_000_100 - (1_700_000_100 % 300);

const graphCsv = () => [`,${NODES.join(',')}`, ...NODES.map((r, i) => `${r},${NODES.map((_, j) => (j === i + 1 ? '1.0' : '0.0')).join(',')}`)].join('\n') + '\n';
const metricsCsv = (start: number) =>
  [
    `microservice,${NODES.join(',')}`,
    `metric,${NODES.map(() => 'latency').join(',')}`,
    `statistic,${NODES.map(() => 'Average').join(',')}`,
    `unix_timestamp${','.repeat(NODES.length)}`,
    ...Array.from({ length: 5 }, (_, r) => `${start + r * 300},${NODES.map((_, c) => (0.05 + r / 100 + c / 1000).toFixed(4)).join(',')}`),
  ].join('\n') + '\n';
const target = (timestamp: number) => JSON.stringify({ target: { node: 'Storefront', metric: 'latency', agg: 'Average', timestamp }, root_cause: { node: NODES[2] }, metadata: { how: 'never read' } });

/** A scenario with cases issue_0..issue_{n-1}; `spoil` breaks one of them. */
const scenario = (name: string, n: number, spoil?: (caseDir: string, i: number) => void) => {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'graph.csv'), graphCsv());
  for (let i = 0; i < n; i += 1) {
    const c = join(dir, 'train', `issue_${i}`);
    mkdirSync(c, { recursive: true });
    writeFileSync(join(c, 'metrics.csv'), metricsCsv(START + i * 3600));
    writeFileSync(join(c, 'target.json'), target(START + i * 3600 + 600));
    spoil?.(c, i);
  }
  return dir;
};

describe('unit: import petshop leaves nothing half-done', () => {
  it('writes no recording when a later case is broken (a ragged row in its metrics.csv)', () => {
    const dir = scenario('ragged', 3, (c, i) => {
      if (i === 2) writeFileSync(join(c, 'metrics.csv'), `${metricsCsv(START).trimEnd()},1\n`);
    });
    const out = join(root, 'out-ragged');
    expect(() => importPetshopScenario(dir, out)).toThrow(/issue_2[/\\]metrics\.csv line 9: 5 cell\(s\), the header has 4/);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('writes no recording when a later case has no target.json', () => {
    const dir = scenario('no-target', 3, (c, i) => {
      if (i === 1) rmSync(join(c, 'target.json'));
    });
    const out = join(root, 'out-no-target');
    expect(() => importPetshopScenario(dir, out)).toThrow(/issue_1[/\\]target\.json: cannot read \(ENOENT\)/);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('leaves no temporary file behind after a good import', () => {
    const out = join(root, 'out-good');
    const summary = importPetshopScenario(scenario('good', 2), out);
    expect(readdirSync(out).sort()).toEqual(summary.cases.map((c) => `${c.name}.json`).sort());
  });
});

describe('unit: import petshop --out', () => {
  it('names an --out that is a file, or lies under one', () => {
    const dir = scenario('out-file', 1);
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    expect(() => importPetshopScenario(dir, file)).toThrow(/--out .*a-file: exists and is not a directory/);
    expect(() => importPetshopScenario(dir, join(file, 'sub'))).toThrow(/--out .*a-file[/\\]sub: cannot create the directory \(ENOTDIR\)/);
  });
});

describe('unit: import petshop target.timestamp', () => {
  it('refuses an alert more than a day before the case (its window would hold none of the case)', () => {
    const dir = scenario('early', 1, (c) => writeFileSync(join(c, 'target.json'), target(0)));
    expect(() => importPetshopScenario(dir, join(root, 'out-early'))).toThrow(InvalidPetshopData);
    expect(() => importPetshopScenario(dir, join(root, 'out-early'))).toThrow(/target\.timestamp 0 is more than a day before the case's metrics start/);
  });
});
