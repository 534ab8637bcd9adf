/**
 * Benchmark of `autopilot export`'s faithfulness: every scenario (events/scenarios) is run on an in-process twin,
 * its incident exported as a recording (functions/core/recorded/export.ts) with the original top-1 hypothesis as the
 * answer key, and the exports replayed by `evaluate` — what `autopilot export` then `autopilot eval <dir>` do.
 * A faithful export replays to the diagnosis the agents reached on the original: the same top-1 service, and the
 * same change and category where the original named them.
 *
 *   npx node bench/export-roundtrip.ts [--only db-slow,db-pool-exhaustion] [--keep <dir>]   JSON on stdout
 *
 * Per scenario: the original top-1 (`service/changeId/category`, or `abstain`), the replay's, whether the service
 * and the whole key match, the recording's size and sections, and what the export said it lacked. Summary: the
 * share reproduced on the service and on the whole key.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exportRecording, recordingJson } from '../functions/core/recorded/export.ts';
import type { RecordedExpect } from '../functions/core/recorded/format.ts';
import { ApiClient } from '../lib/local/client.ts';
import { evaluate } from '../lib/local/eval.ts';
import { runScenario } from '../lib/local/incident-run.ts';
import { startTwin } from '../lib/local/twin.ts';

const SCENARIOS = fileURLToPath(new URL('../events/scenarios/', import.meta.url));

const { values } = parseArgs({ options: { only: { type: 'string' }, keep: { type: 'string' } } });
const only = values.only ? new Set(values.only.split(',')) : undefined;
const names = readdirSync(SCENARIOS)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .filter((n) => !only || only.has(n))
  .sort();

const dir = values.keep ?? mkdtempSync(join(tmpdir(), 'autopilot-export-roundtrip-'));
const twin = await startTwin({ inMemory: true, waitOverrideMs: 0, console: false });
const started = Date.now();
const originals = new Map<string, { top1: string; sections: Record<string, number>; bytes: number; missing: string[] }>();
try {
  const api = new ApiClient(twin.url, twin.secret);
  for (const scenario of names) {
    process.stderr.write(`${scenario} … `);
    const run = await runScenario(twin, { scenario, approve: 'reject' });
    const view = await api.getIncident(run.id);
    const rootcause = (view.agents as Record<string, { output?: { abstained?: boolean; rootCauses?: { service: string; category?: string; changeId?: string }[] } }> | undefined)?.rootcause?.output;
    const top = rootcause?.rootCauses?.[0];
    const expect: RecordedExpect = rootcause?.abstained || !top ? { rootCause: null } : { rootCause: { service: top.service, ...(top.category ? { category: top.category as never } : {}), ...(top.changeId ? { changeId: top.changeId } : {}) } };
    const { recording, missing } = exportRecording(view, { name: scenario, expect });
    const json = recordingJson(recording);
    writeFileSync(join(dir, `${scenario}.json`), json);
    const sections = Object.fromEntries(['topology', 'metrics', 'logs', 'traces', 'changes', 'history', 'oncall', 'ownership'].map((k) => [k, Array.isArray(recording[k]) ? (recording[k] as unknown[]).length : 0]));
    originals.set(scenario, { top1: expect.rootCause ? [top!.service, top!.changeId, top!.category].filter(Boolean).join('/') : 'abstain', sections, bytes: statSync(join(dir, `${scenario}.json`)).size, missing });
    process.stderr.write(`${originals.get(scenario)!.top1}\n`);
  }
  const replay = await evaluate({ twin, paths: [dir] });
  const cases = replay.scenarios.map((r) => {
    const o = originals.get(r.scenario)!;
    const service = (s: string) => s.replace(/^abstain \(/, '').replace(/\)$/, '').split('/')[0];
    return {
      scenario: r.scenario,
      original: o.top1,
      replay: r.top1,
      sameService: o.top1 === 'abstain' ? r.abstained : !r.abstained && service(r.top1) === service(o.top1),
      same: r.pass,
      bytes: o.bytes,
      sections: o.sections,
      missing: o.missing,
      error: r.error,
    };
  });
  const share = (k: 'same' | 'sameService') => Number((cases.filter((c) => c[k]).length / Math.max(1, cases.length)).toFixed(3));
  process.stdout.write(
    `${JSON.stringify({ cases: cases.length, sameService: share('sameService'), same: share('same'), reproduced: cases.filter((c) => c.same).length, seconds: Math.round((Date.now() - started) / 1000), results: cases }, null, 2)}\n`,
  );
} finally {
  await twin.stop();
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
