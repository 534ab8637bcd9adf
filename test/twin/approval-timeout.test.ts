/**
 * The approval deadline on the laptop twin: nobody answers within approvalTimeoutSeconds, the workflow
 * escalates and publishes `Incident Escalated`; answering afterwards is refused (the task is closed).
 * A twin of its own: the deadline is part of the state machine definition.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from '../../lib/local/client.ts';
import { seedScenario } from '../../lib/local/incident-run.ts';
import { startTwin, type BusEvent, type StateEvent, type Twin } from '../../lib/local/twin.ts';

describe('laptop twin, approval timeout', () => {
  let twin: Twin;

  beforeAll(async () => {
    twin = await startTwin({ inMemory: true, waitOverrideMs: 0, approvalTimeoutSeconds: 1, autoApproveLowRisk: false });
  });
  afterAll(async () => {
    await twin?.stop();
  });

  it('escalates an approval nobody answers within the deadline and publishes Incident Escalated', async () => {
    // Prepare
    const api = new ApiClient(twin.url, twin.secret);
    const states: StateEvent[] = [];
    twin.onStateEvent((e) => states.push(e));
    const { alert } = await seedScenario(twin, 'db-pool-exhaustion');
    // Act
    const { body } = await api.sendAlert(alert.source, alert.payload);
    const result = await twin.waitForExecution(body.executionArn ?? body.incidentId, 30_000);
    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(states).toContainEqual(expect.objectContaining({ incidentId: body.incidentId, state: 'Request approval', type: 'failed', error: 'States.Timeout' }));
    expect(states.some((e) => e.incidentId === body.incidentId && e.state === 'Escalate: approval timed out' && e.type === 'succeeded')).toBe(true);
    const view = await api.getIncident(body.incidentId);
    expect(view.incident.status).toBe('ESCALATED');
    const published = (twin.events() as BusEvent[]).filter((e) => (e.detail as { incidentId?: string }).incidentId === body.incidentId).map((e) => e['detail-type']);
    expect(published).toContain('Incident Escalated');
    const late = await api.decide(body.incidentId, 'approve', 'too-late').catch((e: unknown) => e);
    expect(late).toBeInstanceOf(ApiError);
    expect((late as ApiError).status).toBeGreaterThanOrEqual(400);
  });
});
