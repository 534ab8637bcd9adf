/**
 * Every built-in scenario through the whole workflow on the laptop twin: the execution succeeds, the incident
 * ends in a terminal status with a report, and every event it published validates against its JSON schema in
 * events/schemas/. How often the diagnosis is right is measured by `autopilot eval`, not asserted here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DetailType } from '../../functions/core/deps.ts';
import { DETAIL_TYPES, validateDetail } from '../../functions/core/events.ts';
import { listScenarios } from '../../functions/core/world/scenario.ts';
import type { BusEvent } from '../../lib/local/event-bus.ts';
import { runScenario } from '../../lib/local/incident-run.ts';
import { startTwin, type Twin } from '../../lib/local/twin.ts';

describe('every scenario, end to end on the laptop twin', () => {
  let twin: Twin;

  beforeAll(async () => {
    twin = await startTwin({ inMemory: true, waitOverrideMs: 0 });
  });
  afterAll(async () => {
    await twin?.stop();
  });

  it.each(listScenarios().map((s) => s.name))('%s: completes with a terminal status, a report and valid events', async (name) => {
    // Act
    const result = await runScenario(twin, { scenario: name, approve: 'auto' });
    // Assess
    expect(result.execution.status, `${result.execution.error}: ${result.execution.cause}`).toBe('SUCCEEDED');
    expect(['RESOLVED', 'ESCALATED']).toContain(result.status);
    expect(result.reportPath).toBeTruthy();
    const published = (twin.events() as BusEvent[]).filter((e) => (e.detail as { incidentId?: string }).incidentId === result.id);
    const types = published.map((e) => e['detail-type']);
    expect(types[0]).toBe('Incident Opened');
    expect(types.at(-1)).toBe(result.status === 'RESOLVED' ? 'Incident Resolved' : 'Incident Escalated');
    for (const event of published) {
      expect(DETAIL_TYPES).toContain(event['detail-type']);
      expect(validateDetail(event['detail-type'] as DetailType, event.detail), `${event['detail-type']}: ${JSON.stringify(event.detail)}`).toEqual({ ok: true });
    }
  });
});
