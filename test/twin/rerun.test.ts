/**
 * A rerun after a lost execution never mitigates twice (issue 9, finding 4), on the laptop twin with the real
 * handlers, the real ASL and dynalite. The incident's irreversible mitigation (a rolling restart for an expired
 * certificate) runs; its execution is lost during the recovery wait, as a restart of the twin loses it (here: aborted
 * in the "Wait for recovery" state); then `rerun` — which must verify that mitigation and report, not diagnose again
 * into a second action.
 *
 * The world is a fixed one: its id seeds its noise, and with a fresh random id a few worlds of this scenario in a hundred
 * are diagnosed as something no runbook mitigates (e.g. world w-fb6709312d: a ledger-db origin along the call graph), so
 * the first run escalates without acting and never reaches the recovery wait this test needs. The test then waited for
 * that state forever and timed out (at 60 s, then at 150 s): the wait is now bounded by the first run's end, and fails
 * at once naming what the run did instead.
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
/** A world of the scenario whose diagnosis is the expired certificate and whose plan is the rolling restart. */
const WORLD_ID = 'w-rerun-certificate-expiry';

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
    const { worldId, alert } = await seedScenario(twin, SCENARIO, { recoveryLagSeconds: 0, worldId: WORLD_ID });
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
    // Bounded by the run's end: a run that never waits for recovery (it planned no action) fails here, saying why.
    const ended = twin.waitForExecution(firstArn, 20_000).then((r) => r.status);
    const reached = await Promise.race([waiting.promise.then(() => 'waiting' as const), ended]);
    if (reached !== 'waiting') {
      const view = await api.getIncident(accepted.incidentId);
      const plan = view.agents?.plan?.output as { rationale?: string } | undefined;
      expect.fail(`the first run ended ${reached} (incident ${view.incident.status}) without reaching "Wait for recovery"; states ${seen.join(' → ')}; plan: ${plan?.rationale}`);
    }
    await sfn.send(new StopExecutionCommand({ executionArn: firstArn }));
    const lost = await twin.waitForExecution(firstArn, 10_000);
    off();
    watcher.stop();
    expect(lost.status).toBe('ABORTED');
    expect(seen).toContain('Execute mitigation');
    expect(seen).not.toContain('Verify recovery'); // lost inside the wait, before any verification
    const journal = await new DynamoActionJournal(doc, TABLE_NAME).list(accepted.incidentId);
    expect(journal.map((e) => `${e.mode} ${e.action.kind} ${e.state} ${e.result?.status}`)).toEqual(['apply restart-service done succeeded']);

    // Act
    const rerun = await api.rerun(accepted.incidentId);
    const result = await twin.waitForExecution(String(rerun.executionArn), 20_000);

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
  }, 30_000); // ~2 s alone, ≤ 8 s beside the unit suite on 2 cores
});
