/**
 * Twin: recorded incidents through the whole workflow — `autopilot eval` on the example recording and on a copy whose
 * answer key names only the root-cause service, and the export round trip: a scenario incident on this twin →
 * `autopilot export` (from the API) → eval of the export → the same top-1 (service, change, category).
 *
 * This process's twin serves the simulated world (the scenario); the recordings need the recorded adapter, and a
 * twin keeps the tools of its first start, so eval runs them in a child process (`autopilot eval --json`): one
 * child, three recordings, a few seconds each.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportRecording, recordingJson, topHypothesisExpect } from '../../functions/core/recorded/export.ts';
import { parseRecording } from '../../functions/core/recorded/format.ts';
import { ApiClient } from '../../lib/local/client.ts';
import { evaluate, type EvalResult, type ScenarioResult } from '../../lib/local/eval.ts';
import { runScenario, type SimulationResult } from '../../lib/local/incident-run.ts';
import { startTwin, type Twin } from '../../lib/local/twin.ts';

const EXAMPLE = fileURLToPath(new URL('../../events/recorded/orders-dynamodb-throttling.json', import.meta.url));
const TABLE = 'Orders_AWS::DynamoDB::Table';

let twin: Twin;
let dir: string;
let original: SimulationResult;
let exported: Record<string, unknown>;
let missing: string[];
let result: EvalResult;
const run = (name: string): ScenarioResult => result.scenarios.find((s) => s.scenario === name) as ScenarioResult;

beforeAll(async () => {
  twin = await startTwin({ inMemory: true, waitOverrideMs: 0 });
  dir = mkdtempSync(join(tmpdir(), 'autopilot-recorded-eval-'));
  // The example, and the same incident with an answer key that names only the service.
  const example = JSON.parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'example.json'), JSON.stringify(example));
  writeFileSync(join(dir, 'service-only.json'), JSON.stringify({ ...example, name: 'service-only', expect: { rootCause: { service: TABLE } } }));
  // A scenario incident on this twin, exported from the API with the service it found as the answer key.
  original = await runScenario(twin, { scenario: 'db-pool-exhaustion', approve: 'auto' });
  const view = await new ApiClient(twin.url, twin.secret).getIncident(original.id);
  // The whole top hypothesis as the key (service, change, category), as `--confirm-top` writes it.
  ({ recording: exported, missing } = exportRecording(view, { name: 'exported-db-pool', expect: topHypothesisExpect(view) }));
  writeFileSync(join(dir, 'exported-db-pool.json'), recordingJson(exported));
  result = await evaluate({ twin, paths: [dir] });
}, 180_000);
afterAll(async () => {
  await twin?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('twin: autopilot eval on recordings', () => {
  it('runs every recording once, to the end of its execution, as a recording', () => {
    expect(result.scenarios.map((s) => s.scenario).sort()).toEqual(['exported-db-pool', 'orders-dynamodb-throttling', 'service-only']);
    expect(result.runs).toBe(3);
    expect(result.byKind.recording.runs).toBe(3);
    expect(result.byKind.scenario.runs).toBe(0);
    for (const s of result.scenarios) {
      expect(s.kind).toBe('recording');
      expect(s.error, s.scenario).toBeUndefined();
      expect(['ESCALATED', 'RESOLVED', 'FAILED']).toContain(s.status);
      // Nothing was run: a recording cannot be changed, so it never ends RESOLVED by an action.
      expect(s.mitigationOk).toBe(false);
    }
  });

  it('scores the example on its answer fields (the table and the change) and the service-only copy on the service alone', () => {
    expect(run('orders-dynamodb-throttling').expected).toBe(`${TABLE}/7d1c2f0e-5b3a-4e8f-9c61-2a4b8d0e3f57`);
    const serviceOnly = run('service-only');
    expect(serviceOnly.expected).toBe(TABLE);
    // The agents' first hypothesis is on the table (whatever its category): the service alone matches it.
    expect(serviceOnly.top1).toContain(TABLE);
    expect(serviceOnly.topRight).toBe(true);
    expect(serviceOnly.top3).toBe(true);
  });
});

describe('twin: export → eval round trip', () => {
  it('exports what the agents saw: the alert, topology, the series, changes, history, on-call, the log templates and traces', () => {
    const r = parseRecording(exported);
    expect(r.alert.service).toBe('checkout-service');
    expect(r.alert.severity).toBe('SEV2');
    expect(r.topology.length).toBeGreaterThanOrEqual(5);
    expect(r.metrics.length).toBeGreaterThan(10);
    expect(r.metrics.every((m) => m.resolutionSeconds === 60)).toBe(true);
    expect(r.changes.map((c) => c.id)).toContain('CR2077');
    expect(r.history.length).toBeGreaterThan(0);
    expect(r.oncall.length).toBeGreaterThan(0);
    // The log templates come back as their example lines, the traces as their failing paths.
    expect(r.logs.length).toBeGreaterThan(0);
    expect(r.traces.length).toBeGreaterThan(0);
    expect(missing.join(' ')).toMatch(/variable parts of the log lines/);
    expect(Date.parse(r.recordedUntil)).toBeGreaterThan(Date.parse(r.alert.startedAt));
  });

  it('replays to the same top-1: the service, the change and the category', () => {
    const replayed = run('exported-db-pool');
    const top = original.rootCauses[0] as { service: string; changeId?: string; category?: string };
    expect(replayed.expected).toBe([top.service, top.changeId, top.category].filter(Boolean).join('/'));
    expect(replayed.top1.replace(/^abstain \(/, '')).toMatch(new RegExp(`^${top.service}(/|$)`));
    expect(replayed.pass, `original top-1 ${top.service}, replay ${replayed.top1}`).toBe(true);
  });
});
