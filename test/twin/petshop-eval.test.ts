/**
 * Twin: real recorded incidents end to end — a few PetShop train cases (../shared/data/petshop) imported with the
 * PetShop importer and run by `evaluate` through the whole workflow on a twin whose tools are the recorded adapter.
 * One case per traffic scenario, up to three (with and without a noissue baseline). Skipped when the data is absent.
 *
 * What this gates is the path, not the accuracy (that is `npm run bench:petshop`): every case runs to the end of
 * its execution, is scored on the node the dataset names, and the hypotheses name nodes of the recorded topology.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importPetshopScenario } from '../../functions/core/recorded/petshop.ts';
import { evaluate, type EvalResult } from '../../lib/local/eval.ts';

const DATA = fileURLToPath(new URL('../../../shared/data/petshop/', import.meta.url));
const scenarios = statSync(DATA, { throwIfNoEntry: false })?.isDirectory()
  ? readdirSync(DATA)
      .filter((n) => statSync(join(DATA, n, 'train'), { throwIfNoEntry: false })?.isDirectory())
      .sort()
  : [];
if (scenarios.length === 0) console.warn(`petshop-eval: ${DATA} not found; skipped`);

describe.skipIf(scenarios.length === 0)('twin: PetShop train cases through the whole workflow', () => {
  const out = mkdtempSync(join(tmpdir(), 'petshop-eval-'));
  // one case per scenario: the first scenarios with and without a baseline
  const withBaseline = scenarios.filter((s) => statSync(join(DATA, s, 'noissue'), { throwIfNoEntry: false })?.isDirectory());
  const picked = [...new Set([...withBaseline.slice(0, 2), ...scenarios.filter((s) => !withBaseline.includes(s)).slice(0, 1)])].slice(0, 3);
  let result: EvalResult;
  const files: { file: string; name: string; topology: Set<string>; rootCause: string }[] = [];

  beforeAll(async () => {
    for (const scenario of picked) {
      const summary = importPetshopScenario(join(DATA, scenario), join(out, 'all'), { splits: ['train'] });
      const first = summary.cases[0];
      const recording = JSON.parse(readFileSync(first.file!, 'utf8')) as { topology: { name: string }[]; expect: { rootCause: { service: string } } };
      files.push({ file: first.file!, name: first.name, topology: new Set(recording.topology.map((n) => n.name)), rootCause: recording.expect.rootCause.service });
    }
    result = await evaluate({ paths: files.map((f) => f.file) });
  }, 240_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs every case to the end of its execution, scored on the node the dataset names', () => {
    expect(result.runs).toBe(files.length);
    expect(result.scenarios.filter((r) => r.error).map((r) => `${r.scenario}: ${r.error}`)).toEqual([]);
    for (const f of files) {
      const run = result.scenarios.find((r) => r.scenario === f.name);
      expect(run, f.name).toMatchObject({ kind: 'recording', scored: true, expected: f.rootCause });
      expect(run!.status).not.toBe('ERROR');
    }
    expect(result.byKind.recording.scored).toBe(files.length);
  });

  it('names nodes of the recorded topology in its hypotheses', () => {
    for (const f of files) {
      const run = result.scenarios.find((r) => r.scenario === f.name)!;
      // `service/category`: X-Ray names may hold '/' themselves, so match a whole node name as a prefix
      const named = run.top1.replace(/^abstain \((.*)\)$/, '$1');
      if (named !== 'none') expect([...f.topology].some((n) => named === n || named.startsWith(`${n}/`)), `${f.name}: ${run.top1}`).toBe(true);
    }
  });
});
