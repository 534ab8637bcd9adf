/**
 * Twin: fault injection into the live world, as the demo does it — the live world created the way `autopilot serve`
 * creates it, a preset POSTed to the twin's API, listed active, seen in the world's metrics through the telemetry port,
 * ended by DELETE and listed ended; and the same through the CLI (`autopilot inject`, `autopilot faults`,
 * `autopilot faults end`).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulatedTools } from '../../functions/core/tools/simulated.ts';
import { DynamoWorldStore } from '../../functions/core/world/world-store.ts';
import { ApiClient, ApiError } from '../../lib/local/client.ts';
import { LIVE_WORLD_ID, LOCAL_CREDENTIALS, LOCAL_REGION, TABLE_NAME } from '../../lib/local/constants.ts';
import { ensureLiveWorld } from '../../lib/local/incident-run.ts';
import { startTwin, type Twin } from '../../lib/local/twin.ts';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../bin/autopilot.ts', import.meta.url));
const MINUTE = 60_000;

let twin: Twin;
let api: ApiClient;
let doc: DynamoDBDocumentClient;
const dir = mkdtempSync(join(tmpdir(), 'autopilot-faults-'));
const autopilot = (...args: string[]) => run(process.execPath, [cli, '--url', twin.url, '--secret', twin.secret, ...args], { env: { ...process.env, NO_COLOR: '1' } });

beforeAll(async () => {
  twin = await startTwin({ inMemory: true, waitOverrideMs: 0 });
  api = new ApiClient(twin.url, twin.secret);
  doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: twin.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }));
}, 60_000);
afterAll(async () => {
  doc?.destroy();
  await twin?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('twin: faults in the live world', () => {
  it('creates the live world once; a second start leaves it running', async () => {
    // The world was created an hour ago (a healthy hour to compare with), as a first `serve` would have.
    const first = await ensureLiveWorld(twin, new Date(Date.now() - 60 * MINUTE));
    const second = await ensureLiveWorld(twin);
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.world.createdAt).toBe(first.world.createdAt);
  });

  it('POST a preset, GET lists it active, the metrics show it, DELETE ends it, GET lists it ended', async () => {
    // Act: inject
    const injected = await api.injectFault({ preset: 'error-rate', by: 'twin-test' });
    // Assess: answered and listed
    expect(injected).toMatchObject({ id: 'fault-1', world: LIVE_WORLD_ID, service: 'checkout-service', preset: 'error-rate', by: 'twin-test' });
    const listed = await api.listFaults();
    expect(listed.faults).toEqual([expect.objectContaining({ id: 'fault-1', active: true, preset: 'error-rate', service: 'checkout-service' })]);
    // The world's metrics, through the telemetry port as an agent or the detector reads them: the last points carry
    // the error rate of the injected deploy (it ramps over a minute: wait until the port's "now" is past it).
    const tools = simulatedTools(new DynamoWorldStore(doc, TABLE_NAME));
    const errors = async () => {
      const [series] = await tools.telemetry.queryMetrics({ environment: LIVE_WORLD_ID, services: ['checkout-service'], metrics: ['error_rate_pct'], from: new Date(Date.now() - 30 * MINUTE).toISOString(), to: new Date().toISOString() });
      return series!.points.map((p) => p.v);
    };
    const healthy = (await errors()).slice(0, -3);
    expect(Math.max(...healthy)).toBeLessThan(2);
    const expected = (injected.fault as { effects: { error_rate_pct: { add: number } } }).effects.error_rate_pct.add;
    await expect.poll(async () => (await errors()).at(-1), { timeout: 70_000, interval: 2_000 }).toBeGreaterThan(Math.min(5, expected / 2));
    // Act: end it
    const ended = await api.endFault('fault-1', { by: 'twin-test' });
    expect(ended).toMatchObject({ id: 'fault-1', world: LIVE_WORLD_ID, alreadyEnded: false });
    // Assess: listed ended, by whom; a second DELETE changes nothing
    expect((await api.listFaults()).faults).toEqual([expect.objectContaining({ id: 'fault-1', active: false, endsAt: ended.endedAt, endedBy: 'twin-test' })]);
    expect(await api.endFault('fault-1')).toEqual({ ...ended, alreadyEnded: true });
  }, 90_000);

  it('names an unknown world, service or fault', async () => {
    await expect(api.listFaults('nowhere')).rejects.toMatchObject({ status: 404, message: 'world nowhere does not exist' });
    await expect(api.injectFault({ preset: 'error-rate', service: 'nope' })).rejects.toThrow(ApiError);
    await expect(api.injectFault({ preset: 'error-rate', service: 'nope' })).rejects.toMatchObject({ status: 400, message: expect.stringContaining('its services are web-storefront, checkout-service') });
    await expect(api.endFault('fault-99')).rejects.toMatchObject({ status: 404 });
  });

  it('autopilot inject, faults and faults end', async () => {
    // A preset, by name, on a service
    const { stdout: injectedJson } = await autopilot('inject', 'slow-database', '--service', 'catalog-db', '--by', 'cli', '--json');
    const injected = JSON.parse(injectedJson) as { id: string; service: string; changes: string[]; watch: unknown[] };
    expect(injected).toMatchObject({ service: 'catalog-db', by: 'cli' });
    expect(injected.changes).toHaveLength(1);
    // A fault written by hand, from a file, in human output
    const file = join(dir, 'fault.json');
    writeFileSync(file, JSON.stringify({ service: 'payment-service', kind: 'card-timeouts', effects: { latency_p99_ms: { factor: 4 } } }));
    const { stdout: human } = await autopilot('inject', file);
    expect(human).toMatch(/^Injected fault-\d+ \(custom: card-timeouts\) into payment-service of world live at /);
    expect(human).toMatch(/watch +payment-service error_rate_pct, payment-service latency_p99_ms/);
    // Listed, then ended
    const { stdout: listing } = await autopilot('faults');
    expect(listing).toMatch(new RegExp(`${injected.id} +ACTIVE +catalog-db +slow-database`));
    const { stdout: endedOut } = await autopilot('faults', 'end', injected.id);
    expect(endedOut).toMatch(new RegExp(`^Ended ${injected.id} in world live at `));
    const { stdout: listJson } = await autopilot('faults', 'list', '--json');
    expect((JSON.parse(listJson) as { faults: { id: string; active: boolean }[] }).faults.find((f) => f.id === injected.id)?.active).toBe(false);
    // Neither a preset nor a file: one line naming both
    await expect(autopilot('inject', 'disk-on-fire')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('"disk-on-fire" is neither a preset (latency-spike, error-rate, slow-database, memory-leak, dependency-down) nor a file') });
  }, 60_000);
});
