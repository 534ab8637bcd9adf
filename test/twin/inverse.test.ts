/**
 * The inverse path on the laptop twin: real handlers, real ASL, real local services. The scenario is the
 * CR2077 pool exhaustion with one change to the world's physics: the fault is no longer tied to CR2077 (no
 * `causedBy`, no `fixedBy`), so rolling CR2077 back cannot help. The agents still see a suspicious change right
 * before the onset and roll it back; verification runs out, the executor rolls the change forward again, and
 * the incident escalates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutionOutput } from '../../functions/core/model.ts';
import { findScenario, type Scenario } from '../../functions/core/world/scenario.ts';
import { ApiClient } from '../../lib/local/client.ts';
import { runScenario } from '../../lib/local/incident-run.ts';
import { startTwin, type BusEvent, type Twin } from '../../lib/local/twin.ts';

/** The scenario with every fault cut loose from its cause: no action in the catalog ends it. */
const unfixable = (name: string): Scenario => {
  const s = findScenario(name);
  return { ...s, name: `${name}-unfixable`, faults: s.faults.map(({ causedBy: _cause, ...f }) => ({ ...f, fixedBy: [] })) };
};

describe('laptop twin, inverse path', () => {
  let twin: Twin;

  beforeAll(async () => {
    twin = await startTwin({ inMemory: true, waitOverrideMs: 0, maxVerifyChecks: 2 });
  });
  afterAll(async () => {
    await twin?.stop();
  });

  it('when the action does not fix the incident, verification runs out, the inverse runs, and the incident escalates', async () => {
    // Prepare
    const scenario = unfixable('db-pool-exhaustion');
    // Act
    const result = await runScenario(twin, { scenario, approve: 'auto' });
    // Assess: the path through the state machine
    expect(result.execution.status).toBe('SUCCEEDED');
    const states = result.timings.map((t) => t.state);
    expect(states).toEqual(expect.arrayContaining(['Execute mitigation', 'Verify recovery', 'Undo mitigation', 'Escalate: not recovered', 'Write report']));
    expect(states.indexOf('Undo mitigation')).toBeGreaterThan(states.lastIndexOf('Verify recovery'));
    expect(states.indexOf('Escalate: not recovered')).toBeGreaterThan(states.indexOf('Undo mitigation'));
    expect(result.status).toBe('ESCALATED');
    expect(result.verification).toMatchObject({ recovered: false });

    // The executor's record: the action, then its inverse (the change is live again)
    const execution = ExecutionOutput.parse(result.mitigation);
    const [action] = execution.actions;
    expect(action).toMatchObject({ service: 'inventory-service', status: 'succeeded' });
    expect(['rollback-change', 'revert-config']).toContain(action.kind);
    expect(execution.undone).toEqual([expect.objectContaining({ kind: action.kind, service: action.service, target: action.target, status: 'succeeded', detail: expect.stringMatching(/CR2077/) })]);

    // The events: Mitigation Executed (apply), Mitigation Executed (undo), then Incident Escalated
    const events = (twin.events() as BusEvent[]).filter((e) => (e.detail as { incidentId?: string }).incidentId === result.id);
    const sequence = events.map((e) => `${e['detail-type']}${(e.detail as { mode?: string }).mode ? `:${(e.detail as { mode?: string }).mode}` : ''}`);
    expect(sequence.filter((t) => t.startsWith('Mitigation Executed') || t === 'Incident Escalated')).toEqual(['Mitigation Executed:apply', 'Mitigation Executed:undo', 'Incident Escalated']);
    const undo = events.find((e) => (e.detail as { mode?: string }).mode === 'undo');
    expect((undo?.detail as { actions: unknown[] }).actions).toEqual([expect.objectContaining({ kind: action.kind, status: 'succeeded' })]);

    // The timeline says what was undone
    const view = await new ApiClient(twin.url, twin.secret).getIncident(result.id);
    expect(JSON.stringify(view)).toMatch(/mitigation-undone/);
  });

  it('escalates without an undo when what ran has no inverse', async () => {
    // Prepare: an expired certificate whose rolling restart (no inverse) cannot help once the fault is cut loose from its fix
    const scenario = unfixable('certificate-expiry');
    // Act
    const result = await runScenario(twin, { scenario, approve: 'auto' });
    // Assess
    expect(result.execution.status).toBe('SUCCEEDED');
    expect(result.status).toBe('ESCALATED');
    const execution = ExecutionOutput.parse(result.mitigation);
    expect(execution.actions.map((a) => a.kind)).toEqual(['restart-service']);
    expect(execution.undone).toBeUndefined();
    expect(result.timings.map((t) => t.state)).not.toContain('Undo mitigation');
    expect(result.timings.map((t) => t.state)).toContain('Escalate: not recovered');
  });
});
