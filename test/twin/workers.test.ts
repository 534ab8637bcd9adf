/**
 * The twin with handlers in worker threads (AUTOPILOT_ISOLATION=workers): each its own isolate, like a Lambda
 * execution environment. The whole workflow still runs, errors keep their names across the thread boundary (the
 * state machine's Catch depends on them), and the parallel investigation still lands every agent's record.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../lib/local/client.ts';
import { WorkerPool } from '../../lib/local/lambda-runtime.ts';
import { runScenario } from '../../lib/local/incident-run.ts';
import { startTwin, type Twin } from '../../lib/local/twin.ts';

describe('laptop twin with handlers in worker threads', () => {
  let twin: Twin;

  beforeAll(async () => {
    twin = await startTwin({ inMemory: true, waitOverrideMs: 0, isolation: 'workers' });
  }, 60_000);
  afterAll(async () => {
    await twin?.stop();
  });

  it('runs an incident end to end, every agent writing its record', async () => {
    const result = await runScenario(twin, { scenario: 'bad-deploy-latency', approve: 'auto' });
    expect(result.execution.status).toBe('SUCCEEDED');
    expect(['RESOLVED', 'ESCALATED']).toContain(result.status);
    const view = await new ApiClient(twin.url, twin.secret).getIncident(result.id);
    expect(Object.keys(view.agents ?? {})).toEqual(expect.arrayContaining(['impact', 'similar', 'logs', 'triage', 'rootcause', 'plan', 'report']));
  });
});

describe('the worker pool when a handler takes its worker down', () => {
  it('fails the invocation in flight and runs the next one on a fresh worker, as Lambda replaces a crashed environment', async () => {
    // Prepare: one worker; a handler whose stray callback throws (the thread dies mid-invocation) and a sound one
    const root = mkdtempSync(join(tmpdir(), 'autopilot-pool-'));
    writeFileSync(join(root, 'crash.mjs'), "export const handler = () => new Promise(() => setTimeout(() => { throw new RangeError('stray'); }, 10));\n");
    writeFileSync(join(root, 'ok.mjs'), 'export const handler = async (event) => ({ echoed: event });\n');
    const pool = new WorkerPool(root, 1);
    const spec = { name: 'f', memoryMb: 128, arn: 'arn:aws:lambda:us-east-1:000000000000:function:f' };
    try {
      await pool.loadEverywhere(['ok.mjs']);
      // Act / Assess
      await expect(pool.invoke('crash.mjs', spec, {}, Date.now() + 5_000)).rejects.toMatchObject({ name: 'RangeError', message: 'stray' });
      await expect(pool.invoke('ok.mjs', spec, { n: 1 }, Date.now() + 5_000)).resolves.toEqual({ echoed: { n: 1 } });
    } finally {
      await pool.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
