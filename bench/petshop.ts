/**
 * Benchmark of the diagnosis on real incidents: every train case of every PetShop traffic scenario
 * (../shared/data/petshop, or --data <dir>), imported with `autopilot import petshop` (functions/core/recorded/
 * petshop.ts) to a temporary directory and run through the whole workflow by `evaluate` (lib/local/eval.ts) on an
 * in-process twin whose tools are the recorded adapter — what `autopilot eval <dir>` does with the same files.
 *
 *   npm run bench:petshop                       every scenario's train cases; JSON on stdout, progress on stderr
 *   npm run bench:petshop -- --only low_traffic  some scenarios
 *   npm run bench:petshop -- --keep <dir>        keep the imported recordings in <dir>
 *
 * Per case: whether the top-1 and the top-3 hypotheses name the root-cause node (the dataset's answer key names
 * only the node, so only the service is scored, as PetShop's protocol does) — top-1 as `autopilot eval` scores it
 * (an abstention is a miss) and as named (abstained or not) —, the rank of the true node among the nodes the
 * hypotheses name (null: not among them), the top-1 confidence, and the time. Summary: top-1 and top-3 recall over
 * all cases and per scenario. For context it prints the published baselines — measured on the cases kept for
 * measurement, with other root causes than the train split's, so not the same test (data README).
 *
 * The rank comes from the incident the twin kept for the run (its alert carries the replay id as `environment`).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { importPetshopScenario, type ImportSummary } from '../functions/core/recorded/petshop.ts';
import { ApiClient } from '../lib/local/client.ts';
import { evaluate, type ScenarioResult } from '../lib/local/eval.ts';
import { startTwin } from '../lib/local/twin.ts';

const DEFAULT_DATA = fileURLToPath(new URL('../../shared/data/petshop/', import.meta.url));

/** Published figures on the measurement cases (low + high traffic), from the dataset's paper: context only. */
const PUBLISHED = {
  note: 'published baselines, measured on the cases kept for measurement (other root causes than the train split): context, not the same test',
  rankedCorrelation: { top1: 0.667, top3: 0.861 },
  anomalyTraversal: { top1: 0.6, top3: 0.84 },
  circa: { top1: 0.28, top3: 0.72 },
};

export interface CaseFigures {
  readonly case: string;
  readonly scenario: string;
  readonly expected: string;
  /** Calls from the alerting node down to the root-cause node (shortest path in the call graph); null: unreachable. */
  readonly hops: number | null;
  /** The top-1 hypothesis (`abstain (…)` when the agent abstained). */
  readonly top1: string;
  /** The top-1 names the root-cause node and the agent did not abstain (what `autopilot eval` scores). */
  readonly top1Hit: boolean;
  /** The top-1 names the root-cause node, abstained or not (PetShop's protocol scores the ranking alone). */
  readonly top1Named: boolean;
  readonly top3Hit: boolean;
  /** 1-based rank of the true node among the nodes the hypotheses name, in order; null when not among them. */
  readonly rank: number | null;
  readonly hypotheses: readonly string[];
  readonly confidence: number;
  readonly abstained: boolean;
  readonly status: string;
  readonly ms: number;
  readonly error?: string;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
const share = (xs: readonly CaseFigures[], f: (c: CaseFigures) => boolean) => (xs.length === 0 ? null : round(xs.filter(f).length / xs.length));

/** The summary of some cases: top-1 and top-3 recall, mean rank where found, errors. */
export const summarise = (cases: readonly CaseFigures[]) => ({
  cases: cases.length,
  top1: share(cases, (c) => c.top1Hit),
  top1Named: share(cases, (c) => c.top1Named),
  top3: share(cases, (c) => c.top3Hit),
  found: cases.filter((c) => c.rank !== null).length,
  abstained: cases.filter((c) => c.abstained).length,
  errors: cases.filter((c) => c.error).length,
});

/** Shortest number of calls from `from` down to `to` in a recording's topology (null: not reachable). */
export const hopsBetween = (topology: readonly { name: string; calls: readonly string[] }[], from: string, to: string): number | null => {
  const calls = new Map(topology.map((n) => [n.name, n.calls]));
  let frontier = [from];
  const seen = new Set(frontier);
  for (let hops = 0; frontier.length > 0; hops += 1) {
    if (frontier.includes(to)) return hops;
    frontier = frontier.flatMap((n) => calls.get(n) ?? []).filter((n) => !seen.has(n) && seen.add(n));
  }
  return null;
};

/** The scenario directories of the dataset (those with a graph.csv and a train split). */
export const petshopScenarios = (dataDir: string): string[] =>
  statSync(dataDir, { throwIfNoEntry: false })?.isDirectory()
    ? readdirSync(dataDir)
        .filter((n) => statSync(join(dataDir, n, 'graph.csv'), { throwIfNoEntry: false })?.isFile() && statSync(join(dataDir, n, 'train'), { throwIfNoEntry: false })?.isDirectory())
        .sort()
    : [];

const main = async () => {
  const { values } = parseArgs({ options: { data: { type: 'string' }, only: { type: 'string', multiple: true }, keep: { type: 'string' } } });
  const dataDir = resolve(values.data ?? DEFAULT_DATA);
  const scenarios = petshopScenarios(dataDir).filter((s) => !values.only || values.only.includes(s));
  if (scenarios.length === 0) {
    process.stderr.write(`bench:petshop: no PetShop traffic scenario (graph.csv and train/) in ${dataDir}${values.only ? ` named ${values.only.join(', ')}` : ''}; nothing to measure\n`);
    process.exitCode = 2;
    return;
  }
  const outDir = values.keep ? resolve(values.keep) : mkdtempSync(join(tmpdir(), 'petshop-bench-'));
  const started = Date.now();
  try {
    const imports: ImportSummary[] = scenarios.map((s) => importPetshopScenario(join(dataDir, s), outDir, { splits: ['train'] }));
    const scenarioOf = new Map(imports.flatMap((i) => i.cases.map((c) => [c.name, i.scenario] as const)));
    const hopsOf = new Map(
      imports.flatMap((i) =>
        i.cases.map((c) => {
          const r = JSON.parse(readFileSync(c.file!, 'utf8')) as { alert: { service: string }; topology: { name: string; calls: string[] }[]; expect?: { rootCause: { service: string } | null } };
          return [c.name, r.expect?.rootCause ? hopsBetween(r.topology, r.alert.service, r.expect.rootCause.service) : null] as const;
        }),
      ),
    );
    process.stderr.write(`imported ${scenarioOf.size} train case(s) of ${scenarios.join(', ')} to ${outDir}\n`);

    const twin = await startTwin({ inMemory: true, waitOverrideMs: 0, tools: 'recorded' });
    let result: Awaited<ReturnType<typeof evaluate>>;
    const hypothesesOf = new Map<string, string[]>();
    try {
      result = await evaluate({
        paths: [outDir],
        recordingTwin: twin,
        onResult: (r, done, total) => process.stderr.write(`${done}/${total} ${r.scenario}: ${r.pass ? 'top-1' : r.top3 ? 'top-3' : 'miss'} (${r.top1}) ${(r.ms / 1000).toFixed(1)} s\n`),
      });
      // the hypotheses of each run, ranked as the workflow ranked them, from the incident the twin kept
      const api = new ApiClient(twin.url, twin.secret);
      let cursor: string | undefined;
      do {
        const page = await api.listIncidents({ limit: 100, cursor });
        for (const item of page.items) {
          const environment = typeof item.environment === 'string' ? item.environment : undefined;
          if (!environment) continue;
          const view = await api.getIncident(String(item.incidentId));
          const output = view.agents?.rootcause?.output as { rootCauses?: { service?: unknown; confidence?: unknown }[] } | undefined;
          const ranked = [...(output?.rootCauses ?? [])].sort((a, b) => Number(b.confidence) - Number(a.confidence)).map((h) => String(h.service));
          hypothesesOf.set(environment, ranked);
        }
        cursor = page.cursor;
      } while (cursor);
    } finally {
      await twin.stop();
    }

    const cases: CaseFigures[] = result.scenarios.map((r: ScenarioResult) => {
      const hypotheses = hypothesesOf.get(r.seed) ?? [];
      // the rank of the node: hypotheses naming the same node (with other categories) count once
      const index = [...new Set(hypotheses)].indexOf(r.expected);
      return {
        case: r.scenario,
        scenario: scenarioOf.get(r.scenario) ?? '?',
        expected: r.expected,
        hops: hopsOf.get(r.scenario) ?? null,
        top1: r.top1,
        top1Hit: r.pass,
        top1Named: r.topRight,
        top3Hit: r.top3,
        rank: index >= 0 ? index + 1 : null,
        hypotheses,
        confidence: round(r.confidence),
        abstained: r.abstained,
        status: r.status,
        ms: r.ms,
        ...(r.error ? { error: r.error } : {}),
      };
    });
    const byScenario = Object.fromEntries(scenarios.map((s) => [s, summarise(cases.filter((c) => c.scenario === s))]));
    const imported = {
      cases: imports.reduce((n, i) => n + i.totals.cases, 0),
      series: imports.reduce((n, i) => n + i.totals.series, 0),
      points: imports.reduce((n, i) => n + i.totals.points, 0),
      gaps: imports.reduce((n, i) => n + i.totals.gaps, 0),
      unmapped: [...new Set(imports.flatMap((i) => i.totals.unmapped))],
    };
    process.stdout.write(
      `${JSON.stringify({ dataset: 'PetShop train split', data: dataDir, imported, summary: { ...summarise(cases), brier: result.brier, byScenario }, published: PUBLISHED, cases, ms: Date.now() - started }, null, 2)}\n`,
    );
  } finally {
    if (!values.keep) rmSync(outDir, { recursive: true, force: true });
  }
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench:petshop: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
