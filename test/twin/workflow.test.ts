/**
 * Whole workflow on the laptop twin: real handlers, real ASL, real local services. A scenario's alert is
 * POSTed to the webhook as the vendor would send it; approvals go through the approval API.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { findScenario } from '../../functions/core/world/scenario.ts';
import { ApiClient, ApiError } from '../../lib/local/client.ts';
import { LOCAL_CREDENTIALS, STATE_MACHINE_ARN } from '../../lib/local/constants.ts';
import { runScenario, seedScenario } from '../../lib/local/incident-run.ts';
import { startTwin, type BusEvent, type Twin } from '../../lib/local/twin.ts';

const SCENARIO = 'db-pool-exhaustion';

describe('laptop twin, whole workflow', () => {
  let twin: Twin;
  let api: ApiClient;

  beforeAll(async () => {
    // Every plan goes to a human: the approve and reject paths are exercised whatever the plan's risk.
    twin = await startTwin({ inMemory: true, waitOverrideMs: 0, autoApproveLowRisk: false });
    api = new ApiClient(twin.url, twin.secret);
  });
  afterAll(async () => {
    await twin?.stop();
  });

  const eventsFor = (incidentId: string) => (twin.events() as BusEvent[]).filter((e) => (e.detail as { incidentId?: string }).incidentId === incidentId);

  it('resolves a db-pool-exhaustion incident with auto approval, blaming the scenario change, and publishes Incident Resolved', async () => {
    // Prepare
    const expected = findScenario(SCENARIO).expect;
    if (!expected.rootCause) throw new Error(`${SCENARIO} has no expected root cause`);
    // Act
    const result = await runScenario(twin, { scenario: SCENARIO, approve: 'auto' });
    // Assess
    expect(result.execution.status).toBe('SUCCEEDED');
    expect(result.status).toBe('RESOLVED');
    expect(result.rootCauses[0]).toMatchObject({ service: expected.rootCause.service, category: expected.rootCause.category, changeId: expected.rootCause.changeId });
    expect(eventsFor(result.id).map((e) => e['detail-type'])).toContain('Incident Resolved');
    expect(result.timings.map((t) => t.state)).toEqual(expect.arrayContaining(['Investigate', 'Find root cause', 'Execute mitigation', 'Verify recovery', 'Write report']));
  });

  it('rejected approval writes the report, executes nothing and ends escalated as rejected', async () => {
    const result = await runScenario(twin, { scenario: SCENARIO, approve: 'reject' });
    expect(result.execution.status).toBe('SUCCEEDED');
    expect(result.status).toBe('ESCALATED');
    expect(result.outcome).toBe('rejected');
    expect(result.mitigation).toBeUndefined();
    expect(result.timings.map((t) => t.state)).not.toContain('Execute mitigation');
    expect(result.reportPath).toBeTruthy();
    if (result.reportPath && !result.reportPath.includes('://')) expect(existsSync(result.reportPath)).toBe(true);
    expect(eventsFor(result.id).map((e) => e['detail-type'])).toContain('Incident Escalated');
  });

  it('a duplicate delivery of the same alert folds into one incident with one execution', async () => {
    // Prepare
    const { alert } = await seedScenario(twin, SCENARIO);
    // Act
    const first = await api.sendAlert(alert.source, alert.payload);
    const second = await api.sendAlert(alert.source, alert.payload);
    // Assess
    expect(first.status).toBe(202);
    expect(second.body.incidentId).toBe(first.body.incidentId);
    expect(second.body.deduplicated).toBe(true);
    const sfn = new SFNClient({ endpoint: twin.endpoints.stepFunctions, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
    const { executions } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: STATE_MACHINE_ARN }));
    sfn.destroy();
    expect(executions?.filter((e) => e.name === first.body.incidentId || e.executionArn === first.body.executionArn)).toHaveLength(1);
    const incidents = await api.listIncidents({ limit: 100 });
    expect(incidents.items.filter((i) => i.incidentId === first.body.incidentId)).toHaveLength(1);
  });

  it('rejects malformed JSON and a missing secret with 4xx and writes nothing', async () => {
    // Prepare
    const { alert } = await seedScenario(twin, SCENARIO);
    const known = new Set((await api.listIncidents({ limit: 100 })).items.map((i) => i.incidentId));
    // Act
    const malformed = await api.sendAlert(alert.source, '{"PID": "1", ').catch((e: unknown) => e);
    const unauthenticated = await api.sendAlert(alert.source, alert.payload, { secret: null }).catch((e: unknown) => e);
    const wrongSecret = await api.sendAlert(alert.source, alert.payload, { secret: 'not-the-secret' }).catch((e: unknown) => e);
    // Assess
    for (const answer of [malformed, unauthenticated, wrongSecret]) {
      expect(answer).toBeInstanceOf(ApiError);
      expect((answer as ApiError).status).toBeGreaterThanOrEqual(400);
      expect((answer as ApiError).status).toBeLessThan(500);
    }
    expect((await api.listIncidents({ limit: 100 })).items.filter((i) => !known.has(i.incidentId))).toEqual([]);
    // Earlier tests' executions may still publish; nothing may name an incident this test created.
    expect((twin.events() as BusEvent[]).filter((e) => !known.has(String((e.detail as { incidentId?: unknown }).incidentId)))).toEqual([]);
  });

  it('answers 404 for unknown routes and 413 for bodies over 1 MB, like API Gateway', async () => {
    const notFound = await fetch(`${twin.url}/nope`);
    expect(notFound.status).toBe(404);
    const tooLarge = await fetch(`${twin.url}/alerts/generic`, { method: 'POST', body: 'x'.repeat(1024 * 1024 + 1), headers: { 'x-autopilot-secret': twin.secret } });
    expect(tooLarge.status).toBe(413);
  });
});
