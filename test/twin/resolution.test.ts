/**
 * Closing the loop on the laptop twin: an incident the workflow hands to people (a rejected approval → ESCALATED) is
 * resolved over HTTP; it becomes RESOLVED with the resolution on GET /incidents/{id}, GET /summary counts its grade,
 * `Resolution Recorded` goes out, and the similar-incident search (the simulated world's history, through the changes
 * port the find-similar agent uses) finds it with the people's cause and fix. A second, different resolution is 409.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateDetail } from '../../functions/core/events.ts';
import { simulatedTools } from '../../functions/core/tools/simulated.ts';
import { DynamoWorldStore } from '../../functions/core/world/world-store.ts';
import { ApiClient, ApiError, type ResolutionRequest, type SummaryAnswer } from '../../lib/local/client.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, TABLE_NAME } from '../../lib/local/constants.ts';
import { ApprovalWatcher, decideWhenRequested, runScenario, seedScenario } from '../../lib/local/incident-run.ts';
import { type BusEvent, startTwin, type Twin } from '../../lib/local/twin.ts';

describe('laptop twin, people resolve an escalated incident', () => {
  let twin: Twin;

  beforeAll(async () => {
    twin = await startTwin({ inMemory: true, waitOverrideMs: 0, autoApproveLowRisk: false });
  });
  afterAll(async () => {
    await twin?.stop();
  });

  it('records the resolution, counts it in the production accuracy, and the similar-incident search finds it', async () => {
    // Prepare: an incident escalated by a rejected approval
    const api = new ApiClient(twin.url, twin.secret);
    const watcher = new ApprovalWatcher(twin);
    const { worldId, alert } = await seedScenario(twin, 'db-pool-exhaustion');
    const { body: accepted } = await api.sendAlert(alert.source, alert.payload);
    expect(await decideWhenRequested(twin, watcher, api, accepted, 'reject', 'sre-on-call')).toBe(true);
    await twin.waitForExecution(accepted.executionArn ?? accepted.incidentId, 60_000);
    const id = accepted.incidentId;
    const escalated = await api.getIncident(id);
    expect(escalated.incident.status).toBe('ESCALATED');
    const top = (escalated.agents?.rootcause?.output as { rootCauses: { service: string; category: string; changeId?: string }[] }).rootCauses[0];
    const before: SummaryAnswer = await api.summary();
    const resolution: ResolutionRequest = {
      cause: { service: 'inventory-service', category: 'connection-pool', change: 'CR2077', summary: 'CR2077 halved the HikariCP pool; zebrafish flash-sale load exhausted it' },
      fix: 'Reverted CR2077 by hand after the rejected rollback window',
      by: 'james.wu',
      comment: 'rollback was rejected during the sale freeze',
    };

    // Act
    const answer = await api.resolve(id, resolution);

    // Assess: the answer and the incident
    const expectedMatch = top?.service === 'inventory-service' && top.category === 'connection-pool' && top.changeId === 'CR2077';
    expect(answer).toMatchObject({ incidentId: id, status: 'RESOLVED', history: 'recorded', replayed: false, resolution: { by: 'james.wu', statusBefore: 'ESCALATED', grade: { graded: true, matched: expectedMatch } } });
    const view = await api.getIncident(id);
    expect(view.incident.status).toBe('RESOLVED');
    expect(view.resolution).toMatchObject({ cause: resolution.cause, fix: resolution.fix, by: 'james.wu', comment: resolution.comment, recordedAt: expect.any(String), publishedAt: expect.any(String) });
    expect((view.timeline as { type: string }[]).filter((e) => e.type === 'resolution-recorded')).toHaveLength(1);

    // …the summary: one more RESOLVED, one fewer ESCALATED, one more graded
    const after = await api.summary();
    expect(after.counts.RESOLVED).toBe(before.counts.RESOLVED + 1);
    expect(after.counts.ESCALATED).toBe(before.counts.ESCALATED - 1);
    expect(after.total).toBe(before.total);
    expect(after.accuracy.graded).toBe(before.accuracy.graded + 1);
    expect(after.accuracy.matched).toBe(before.accuracy.matched + (expectedMatch ? 1 : 0));
    expect(after.accuracy.rate).toBe(Math.round((after.accuracy.matched / after.accuracy.graded) * 10_000) / 10_000);

    // …the event, valid against its schema
    const published = (twin.events() as BusEvent[]).filter((e) => e['detail-type'] === 'Resolution Recorded' && (e.detail as { incidentId?: string }).incidentId === id);
    expect(published).toHaveLength(1);
    expect(validateDetail('Resolution Recorded', published[0]!.detail)).toEqual({ ok: true });

    // …the history the find-similar agent searches, in the incident's environment (the world)
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: twin.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }));
    try {
      const found = await simulatedTools(new DynamoWorldStore(doc, TABLE_NAME)).changes.searchIncidents({ environment: worldId, text: 'zebrafish flash-sale HikariCP', services: ['inventory-service'], limit: 10 });
      expect(found.find((i) => i.id === id)).toMatchObject({ category: 'connection-pool', resolution: resolution.fix, rootCause: expect.stringContaining('zebrafish') });
    } finally {
      doc.destroy();
    }

    // Act & assess: the same again is answered as recorded; a different one is refused naming who and when
    expect(await api.resolve(id, resolution)).toMatchObject({ replayed: true, status: 'RESOLVED' });
    const other = await api.resolve(id, { ...resolution, by: 'ana.silva', fix: 'restarted the pods' }).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(ApiError);
    expect((other as ApiError).status).toBe(409);
    expect((other as ApiError).message).toMatch(/already resolved by james\.wu at /);
    expect((await api.summary()).accuracy.graded).toBe(after.accuracy.graded);
  });

  it("people correcting an incident the autopilot RESOLVED replace the autopilot's entry in the history; the status stays", async () => {
    // Prepare: resolved by the autopilot, which recorded its own diagnosis in the world's history
    const api = new ApiClient(twin.url, twin.secret);
    const run = await runScenario(twin, { scenario: 'db-pool-exhaustion', approve: 'auto' });
    expect(run.status).toBe('RESOLVED');
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: twin.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }));
    const history = simulatedTools(new DynamoWorldStore(doc, TABLE_NAME)).changes;
    const entries = async () => ((await new DynamoWorldStore(doc, TABLE_NAME).getWorld(run.worldId))?.incidents ?? []).filter((i) => i.id === run.id);
    try {
      expect(await entries()).toHaveLength(1);
      const resolvedAt = (await api.getIncident(run.id)).incident.resolvedAt;
      // Act
      const answer = await api.resolve(run.id, {
        cause: { service: 'inventory-service', category: 'connection-pool', change: 'CR2077', summary: 'confirmed: the quokka pool change CR2077' },
        fix: 'the autopilot rollback of CR2077, kept',
        by: 'ana.silva',
      });
      // Assess
      expect(answer).toMatchObject({ status: 'RESOLVED', resolution: { statusBefore: 'RESOLVED' } });
      expect((await api.getIncident(run.id)).incident.resolvedAt).toBe(resolvedAt);
      const after = await entries();
      expect(after).toHaveLength(1);
      expect(after[0]).toMatchObject({ rootCause: expect.stringContaining('quokka'), resolution: 'the autopilot rollback of CR2077, kept' });
      const found = await history.searchIncidents({ environment: run.worldId, text: 'quokka pool', services: ['inventory-service'], limit: 10 });
      expect(found.filter((i) => i.id === run.id)).toHaveLength(1);
    } finally {
      doc.destroy();
    }
  });
});
