/**
 * An agent that fails: the incident ends FAILED with the outputs of the agents that did run kept, `Incident
 * Failed` is published (valid against its schema) and the execution fails. The failure is injected the way AWS
 * FIS's `aws:lambda:invocation-error` would: the twin makes every invocation of one function throw.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateDetail } from '../../functions/core/events.ts';
import { ApiClient } from '../../lib/local/client.ts';
import type { BusEvent } from '../../lib/local/event-bus.ts';
import { runScenario } from '../../lib/local/incident-run.ts';
import { startTwin, type Twin } from '../../lib/local/twin.ts';

describe('laptop twin, an agent fails', () => {
  let twin: Twin;

  beforeAll(async () => {
    twin = await startTwin({ inMemory: true, waitOverrideMs: 0, faults: { 'find-root-cause': 'RootCauseCrashed' } });
  });
  afterAll(async () => {
    await twin?.stop();
  });

  it('leaves the incident FAILED with partial outputs kept and publishes Incident Failed', async () => {
    // Act
    const result = await runScenario(twin, { scenario: 'db-pool-exhaustion', approve: 'auto' });
    // Assess
    expect(result.execution.status).toBe('FAILED');
    expect(result.execution.error).toBe('IncidentFailed');
    const view = await new ApiClient(twin.url, twin.secret).getIncident(result.id);
    expect(view.incident.status).toBe('FAILED');
    expect(view.incident.failure).toMatchObject({ error: 'RootCauseCrashed' });
    expect(Object.keys(view.agents ?? {}).sort()).toEqual(['impact', 'logs', 'similar', 'triage']);
    const failed = (twin.events() as BusEvent[]).filter((e) => e['detail-type'] === 'Incident Failed' && (e.detail as { incidentId?: string }).incidentId === result.id);
    expect(failed).toHaveLength(1);
    expect(failed[0].detail).toMatchObject({ incidentId: result.id, error: 'RootCauseCrashed' });
    expect(validateDetail('Incident Failed', failed[0].detail)).toEqual({ ok: true });
    expect(result.timings.map((t) => t.state)).toEqual(expect.arrayContaining(['Record failure', 'Publish failure', 'Incident failed']));
  });
});
