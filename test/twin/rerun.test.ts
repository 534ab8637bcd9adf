/**
 * A rerun after a lost execution never mitigates twice (issue 9, finding 4), on the laptop twin with the real
 * handlers, the real ASL and dynalite. The incident's irreversible mitigation (a rolling restart for an expired
 * certificate) runs; its execution is lost during the recovery wait, as a restart of the twin loses it (here: aborted
 * in the "Wait for recovery" state); then `rerun` — which must verify that mitigation and report, not diagnose again
 * into a second action.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoActionJournal } from '../../functions/core/store/journal.ts';
import { DynamoWorldStore } from '../../functions/core/world/world-store.ts';
import { ApiClient } from '../../lib/local/client.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, TABLE_NAME } from '../../lib/local/constants.ts';
import { ApprovalWatcher, decideWhenRequested, seedScenario } from '../../lib/local/incident-run.ts';
import { startTwin, type BusEvent, type Twin } from '../../lib/local/twin.ts';

const SCENARIO = 'certificate-expiry';

describe('laptop twin, rerun after the execution was lost during the recovery wait', () => {
  let twin: Twin;
  let api: ApiClient;
  let sfn: SFNClient;
  let doc: DynamoDBDocumentClient;

  beforeAll(async () => {
    // Every Wait state lasts 1 s: long enough to cut the execution short inside "Wait for recovery".
    twin = await startTwin({ inMemory: true, waitOverrideMs: 1_000, maxVerifyChecks: 3 });
    api = new ApiClient(twin.url, twin.secret);
    sfn = new SFNClient({ endpoint: twin.endpoints.stepFunctions, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: twin.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }));
  });
  afterAll(async () => {
    sfn?.destroy();
    doc?.destroy();
    await twin?.stop();
  });

  it('verifies the earlier mitigation and reports: exactly one mitigation in the world and on the bus', async () => {
    // Prepare: the incident runs until its mitigation ran and the recovery wait began, then its execution is lost
    const { worldId, alert } = await seedScenario(twin, SCENARIO, { recoveryLagSeconds: 0 });
    const watcher = new ApprovalWatcher(twin);
    const waiting = Promise.withResolvers<void>();
    const seen: string[] = [];
    let firstArn = '';
    const off = twin.onStateEvent((e) => {
      if (e.executionArn === firstArn && e.type === 'entered') seen.push(e.state);
      if (e.executionArn === firstArn && e.type === 'entered' && e.state === 'Wait for recovery') waiting.resolve();
    });
    const { body: accepted } = await api.sendAlert(alert.source, alert.payload);
    firstArn = accepted.executionArn ?? '';
    expect(firstArn).not.toBe('');
    void decideWhenRequested(twin, watcher, api, accepted, 'approve', 'alice');
    await waiting.promise;
    await sfn.send(new StopExecutionCommand({ executionArn: firstArn }));
    const lost = await twin.waitForExecution(firstArn, 30_000);
    off();
    watcher.stop();
    expect(lost.status).toBe('ABORTED');
    expect(seen).toContain('Execute mitigation');
    const journal = await new DynamoActionJournal(doc, TABLE_NAME).list(accepted.incidentId);
    expect(journal.map((e) => `${e.mode} ${e.action.kind} ${e.state} ${e.result?.status}`)).toEqual(['apply restart-service done succeeded']);

    // Act
    const rerun = await api.rerun(accepted.incidentId);
    const result = await twin.waitForExecution(String(rerun.executionArn), 120_000);

    // Assess: the rerun verified and reported, and acted on nothing
    expect(rerun.resumesVerification).toBe(true);
    expect(result.status).toBe('SUCCEEDED');
    const states = twin.stateTimings(String(rerun.executionArn)).map((t) => t.state);
    expect(states).toEqual(expect.arrayContaining(['Verify recovery', 'Write report', 'Publish outcome']));
    for (const skipped of ['Investigate', 'Find root cause', 'Plan mitigation', 'Request approval', 'Execute mitigation', 'Undo mitigation']) expect(states).not.toContain(skipped);
    // exactly one mitigation: in the world (the action port's effects) and on the bus
    const world = await new DynamoWorldStore(doc, TABLE_NAME).getWorld(worldId);
    expect(world!.actions.filter((a) => a.incidentId === accepted.incidentId).map((a) => a.kind)).toEqual(['restart-service']);
    const executed = (twin.events() as BusEvent[]).filter((e) => e['detail-type'] === 'Mitigation Executed' && (e.detail as { incidentId?: string }).incidentId === accepted.incidentId);
    expect(executed).toHaveLength(1);
    // the timeline says so, and the report is written
    const view = await api.getIncident(accepted.incidentId);
    const timeline = (view.timeline ?? []) as { type: string; message: string }[];
    const rerunEvent = timeline.find((e) => e.type === 'rerun-started');
    expect(rerunEvent?.message).toMatch(/a mitigation already ran \(restart-service [^)]*: succeeded\): this rerun verifies that earlier mitigation and reports/);
    expect(timeline.filter((e) => e.type === 'verification').length).toBeGreaterThan(0);
    expect(view.incident.reportLocation).toBeTruthy();
    expect(['RESOLVED', 'ESCALATED']).toContain(view.incident.status);
  }, 150_000); // one CI run out of several timed out at 60 s under the full suite's load (not reproduced alone): room for a slow path, not a fix
});
