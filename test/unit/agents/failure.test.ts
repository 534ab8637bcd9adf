import { describe, expect, it } from 'vitest';
import { MAX_CAUSE_CHARS, recordFailure, trimCause } from '../../../functions/core/agents/failure.ts';
import { FakeIncidentStore, fakeDeps, seedAgentRecord, seedIncident } from './fakes.ts';

describe('recordFailure', () => {
  it('marks the incident FAILED with the error and the Lambda error message, keeping partial outputs', async () => {
    // Prepare
    const store = new FakeIncidentStore();
    const deps = fakeDeps({ store });
    const incidentId = await seedIncident(deps);
    await seedAgentRecord(deps, incidentId, 'impact', { anomalies: [] });
    const cause = JSON.stringify({ errorType: 'ToolUnavailable', errorMessage: 'telemetry unavailable: 503', trace: ['at x', 'at y'] });
    // Act
    const result = await recordFailure(deps)({ incidentId, error: { Error: 'ToolUnavailable', Cause: cause } });
    // Assess
    expect(result.summary).toBe('Workflow failed: ToolUnavailable: telemetry unavailable: 503');
    expect(await store.getIncident(incidentId)).toMatchObject({ status: 'FAILED', failure: { error: 'ToolUnavailable', cause: 'ToolUnavailable: telemetry unavailable: 503' } });
    expect(store.timeline.get(incidentId)?.[0]).toMatchObject({ type: 'failed' });
    expect(await store.getAgentRecord(incidentId, 'impact')).toBeDefined();
  });

  it('does not overwrite a terminal status', async () => {
    const store = new FakeIncidentStore();
    const deps = fakeDeps({ store });
    const incidentId = await seedIncident(deps);
    await store.updateIncident(incidentId, { status: 'RESOLVED' });
    const result = await recordFailure(deps)({ incidentId, error: { Error: 'States.Runtime', Cause: 'publish failed' } });
    expect((await store.getIncident(incidentId))?.status).toBe('RESOLVED');
    expect((await store.getIncident(incidentId))?.failure).toBeUndefined();
    expect(result.summary).toMatch(/already RESOLVED/);
  });
});

describe('trimCause', () => {
  it('keeps plain text and trims long causes', () => {
    expect(trimCause('  boom ')).toBe('boom');
    expect(trimCause('x'.repeat(5000))).toHaveLength(MAX_CAUSE_CHARS);
    expect(trimCause(undefined)).toBe('');
  });
});
