/**
 * Twin: `autopilot export <id> <dir>` as a user runs it against a running twin — a second export of the same
 * incident does not silently replace the first (which may hold an answer key a human gave), `--force` does; a <dir>
 * that is a file is named as such; and the export still evaluates.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario } from '../../lib/local/incident-run.ts';
import { startTwin, type Twin } from '../../lib/local/twin.ts';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../bin/autopilot.ts', import.meta.url));

let twin: Twin;
let incidentId: string;
let service: string;
let falseAlarmId: string;
const dir = mkdtempSync(join(tmpdir(), 'autopilot-export-cli-'));
const autopilot = (...args: string[]) => run(process.execPath, [cli, '--url', twin.url, '--secret', twin.secret, ...args], { env: { ...process.env, NO_COLOR: '1' } });

beforeAll(async () => {
  twin = await startTwin({ inMemory: true, waitOverrideMs: 0 });
  const result = await runScenario(twin, { scenario: 'db-pool-exhaustion', approve: 'auto' });
  incidentId = result.id;
  service = (result.rootCauses[0] as { service: string }).service;
  falseAlarmId = (await runScenario(twin, { scenario: 'false-alarm-noise', approve: 'auto' })).id;
}, 120_000);
afterAll(async () => {
  await twin?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('twin: autopilot export', () => {
  it('refuses to replace an earlier export (its answer key would be lost); --force replaces it', async () => {
    const out = join(dir, 'twice');
    await autopilot('export', incidentId, out, '--expect-service', service);
    const file = join(out, `${incidentId}.json`);
    const first = readFileSync(file, 'utf8');
    expect(JSON.parse(first).expect).toEqual({ rootCause: { service } });
    await expect(autopilot('export', incidentId, out)).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(new RegExp(`${incidentId}\\.json exists: pass --force to replace it`)) });
    expect(readFileSync(file, 'utf8')).toBe(first);
    await autopilot('export', incidentId, out, '--force');
    expect(JSON.parse(readFileSync(file, 'utf8')).expect).toBeUndefined();
  });

  it('writes a confirmed false alarm as the key rootCause: null (--expect-false-alarm), alone', async () => {
    const out = join(dir, 'false-alarm');
    await autopilot('export', falseAlarmId, out, '--expect-false-alarm');
    expect(JSON.parse(readFileSync(join(out, `${falseAlarmId}.json`), 'utf8')).expect).toEqual({ rootCause: null });
    await expect(autopilot('export', falseAlarmId, out, '--expect-false-alarm', '--expect-service', service, '--force')).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/give one answer key: --confirm-top, --expect-service or --expect-false-alarm/) });
  });

  it('names a <dir> that is a file', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    await expect(autopilot('export', incidentId, file)).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/a-file exists and is not a directory/) });
    await expect(autopilot('export', incidentId, join(file, 'sub'))).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/cannot write .*a-file[/\\]sub[/\\].*\.json \(ENOTDIR\)/) });
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('leaves no temporary file behind when the rename is refused (a directory holds the recording\'s name)', async () => {
    const out = join(dir, 'blocked');
    mkdirSync(join(out, `${incidentId}.json`), { recursive: true });
    await expect(autopilot('export', incidentId, out, '--force')).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/cannot write .*\.json \((EISDIR|ENOTEMPTY|EEXIST|EPERM)\)/) });
    expect(readdirSync(out)).toEqual([`${incidentId}.json`]);
  });
});
