/**
 * The twin with handlers in worker threads (AUTOPILOT_ISOLATION=workers): each its own isolate, like a Lambda
 * execution environment. The whole workflow still runs, errors keep their names across the thread boundary (the
 * state machine's Catch depends on them), and the parallel investigation still lands every agent's record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../lib/local/client.ts';
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
