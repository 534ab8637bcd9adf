/**
 * Twin: `autopilot resolve`, `autopilot incidents` (its summary line, and `--json` with `summary` and `accuracy` beside
 * `items` and `cursor`) and `autopilot show` with a resolution, as a user runs them against a running twin.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario } from '../../lib/local/incident-run.ts';
import { startTwin, type Twin } from '../../lib/local/twin.ts';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../bin/autopilot.ts', import.meta.url));

let twin: Twin;
let incidentId: string;
const autopilot = (...args: string[]) => run(process.execPath, [cli, '--url', twin.url, '--secret', twin.secret, ...args], { env: { ...process.env, NO_COLOR: '1' } });

beforeAll(async () => {
  twin = await startTwin({ inMemory: true, waitOverrideMs: 0, autoApproveLowRisk: false });
  incidentId = (await runScenario(twin, { scenario: 'db-pool-exhaustion', approve: 'reject' })).id;
}, 120_000);
afterAll(async () => {
  await twin?.stop();
});

describe('twin: autopilot resolve, incidents and show', () => {
  it('lists with the counts and no accuracy yet; resolves; shows the resolution (hostile text inert); lists the accuracy', async () => {
    // Prepare: the incident is ESCALATED (the mitigation was rejected)
    const before = JSON.parse((await autopilot('incidents', '--json')).stdout) as Record<string, unknown>;
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['items', 'cursor', 'summary', 'accuracy']));
    expect(before.summary).toMatchObject({ counts: { ESCALATED: 1, RESOLVED: 0 }, total: 1 });
    expect(before.accuracy).toEqual({ graded: 0, matched: 0, rate: null });
    expect((await autopilot('incidents')).stdout.split('\n')[0]).toBe('1 incident: 1 ESCALATED · production accuracy: none graded yet (autopilot resolve <id>)');

    // Act
    const resolved = JSON.parse(
      (await autopilot('resolve', incidentId, '--service', 'inventory-service', '--category', 'connection-pool', '--change', 'CR2077', '--summary', 'CR2077 halved the pool \u001b[31mRED\u001b[0m', '--fix', 'reverted CR2077', '--by', 'james.wu', '--json')).stdout,
    ) as { status: string; resolution: { grade: { graded: boolean; matched: boolean } } };
    // Assess
    expect(resolved).toMatchObject({ status: 'RESOLVED', resolution: { grade: { graded: true } } });
    const again = await autopilot('resolve', incidentId, '--service', 'inventory-service', '--category', 'connection-pool', '--change', 'CR2077', '--summary', 'CR2077 halved the pool \u001b[31mRED\u001b[0m', '--fix', 'reverted CR2077', '--by', 'james.wu');
    expect(again.stdout).toMatch(new RegExp(`^Already recorded: ${incidentId} is RESOLVED \\(by james\\.wu at `));
    const shown = (await autopilot('show', incidentId)).stdout;
    expect(shown).toContain('resolved   by james.wu at ');
    expect(shown).toContain('cause      inventory-service/connection-pool (change CR2077): CR2077 halved the pool \\x1b[31mRED\\x1b[0m');
    expect(shown).not.toContain('\u001b[31m');
    expect(shown).toContain('fix        reverted CR2077');
    const { matched } = resolved.resolution.grade;
    expect((await autopilot('incidents')).stdout.split('\n')[0]).toBe(`1 incident: 1 RESOLVED · production accuracy ${matched ? 1 : 0}/1 (${matched ? '100.0' : '0.0'}%)`);
  });

  it('refuses a category the root-cause agent does not use, and a different second resolution names who resolved it', async () => {
    await expect(autopilot('resolve', incidentId, '--service', 's', '--category', 'gremlins', '--summary', 's', '--fix', 'f')).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/--category <category>' argument 'gremlins' is invalid/) });
    await expect(autopilot('resolve', incidentId, '--service', 's', '--category', 'dns', '--summary', 's', '--fix', 'f', '--by', 'ana')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/the API answered 409: already resolved by james\.wu at /),
    });
  });
});
