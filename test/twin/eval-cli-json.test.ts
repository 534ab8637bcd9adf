/**
 * Twin: `autopilot eval --json` as a user runs it, with the handlers' logger turned up (AUTOPILOT_DEBUG=1, the
 * documented switch for debugging, or POWERTOOLS_LOG_LEVEL=INFO). The logger writes JSON lines to stdout; stdout
 * must still be one JSON document, and a mixed evaluation (scenarios here, recordings in a child process whose
 * stdout is parsed) must still finish.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../bin/autopilot.ts', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../events/recorded/orders-dynamodb-throttling.json', import.meta.url));
const SCENARIO = fileURLToPath(new URL('../../events/scenarios/db-pool-exhaustion.json', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'autopilot-eval-cli-json-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
copyFileSync(EXAMPLE, join(dir, 'recording.json'));
copyFileSync(SCENARIO, join(dir, 'scenario.json'));

const evalJson = (env: Record<string, string>, ...paths: string[]) =>
  run(process.execPath, [cli, 'eval', '--json', '--seeds', '1', ...paths], { env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 64 * 1024 * 1024 });

describe('twin: autopilot eval --json with the logger on', () => {
  it('keeps stdout one JSON document under POWERTOOLS_LOG_LEVEL=INFO (the log lines go to stderr)', async () => {
    const { stdout, stderr } = await evalJson({ POWERTOOLS_LOG_LEVEL: 'INFO' }, join(dir, 'recording.json'));
    const result = JSON.parse(stdout) as { runs: number; scenarios: { kind: string }[] };
    expect(result.runs).toBe(1);
    expect(stderr).toMatch(/"level":"INFO"/);
  }, 120_000);

  it('finishes a mixed evaluation under AUTOPILOT_DEBUG=1 (the child process prints its result on a clean stdout)', async () => {
    const { stdout } = await evalJson({ AUTOPILOT_DEBUG: '1' }, dir);
    const result = JSON.parse(stdout) as { runs: number; byKind: { scenario: { runs: number }; recording: { runs: number } } };
    expect(result.runs).toBe(2);
    expect(result.byKind.scenario.runs).toBe(1);
    expect(result.byKind.recording.runs).toBe(1);
  }, 180_000);
});
