/**
 * Self-detection on the laptop twin: a simulated world with a fault in the twin's table, the real detect-anomalies
 * handler (DETECTOR_TARGETS set by the twin before the handlers load) run by `twin.detect()` and by the twin's timer,
 * the real intake and the real workflow. No alert is sent by hand.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoIncidentStore } from '../../functions/core/store/dynamo-store.ts';
import { detectorDedupKey, type DetectionReport } from '../../functions/detect-anomalies/core.ts';
import { LIVE_WORLD_ID, LOCAL_CREDENTIALS, LOCAL_REGION, TABLE_NAME } from '../../lib/local/constants.ts';
import { seedScenario } from '../../lib/local/incident-run.ts';
import { startTwin, type Twin, TwinOptionInvalid } from '../../lib/local/twin.ts';

const WORLD = 'det-twin';
let twin: Twin;
let doc: DynamoDBDocumentClient;
const timed: DetectionReport[] = [];
let timerOn = false;

beforeAll(async () => {
  twin = await startTwin({
    inMemory: true,
    waitOverrideMs: 0,
    detectorTargets: [{ environment: LIVE_WORLD_ID }, { environment: WORLD }],
    detectIntervalMs: 250,
    onDetect: (r) => {
      if (timerOn && 'report' in r) timed.push(r.report);
    },
  });
  doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: twin.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }));
});
afterAll(async () => {
  doc?.destroy();
  await twin?.stop();
});

describe('the twin runs the anomaly detector', () => {
  it('reports a target whose world does not exist as skipped, quietly, and opens nothing', async () => {
    const report = await twin.detect();
    expect(report.targets[0]).toMatchObject({ environment: LIVE_WORLD_ID, status: 'skipped', reason: expect.stringContaining(`world ${LIVE_WORLD_ID} does not exist`) });
    expect(report.targets[1]).toMatchObject({ environment: WORLD, status: 'skipped' });
    expect(report).toMatchObject({ failures: 0, opened: 0 });
  });

  it('opens an incident with source detector in the world’s environment for a world with a fault; the next run deduplicates; the agents read that world', async () => {
    // Prepare: the error-rate scenario (order-service throws since 8 minutes before now)
    await seedScenario(twin, 'error-rate', { worldId: WORLD });

    // Act
    const first = await twin.detect();
    const second = await twin.detect();

    // Assess
    const opened = first.targets[1]!.outcomes.filter((o) => o.action === 'opened');
    expect(opened.length).toBeGreaterThanOrEqual(1);
    const store = new DynamoIncidentStore(doc, TABLE_NAME);
    const incident = (await store.getIncident(opened[0]!.incidentId!))!;
    expect(incident).toMatchObject({ source: 'detector', environment: WORLD, dedupKey: detectorDedupKey(WORLD, opened[0]!.service) });
    expect(incident.executionArn).toBeDefined();
    expect(second.targets[1]!.outcomes.find((o) => o.service === opened[0]!.service)).toMatchObject({ action: 'deduplicated', incidentId: incident.incidentId });
    expect(second.opened).toBe(0);

    // The workflow runs (it may then wait for an approval): the impact agent's record is what shows which world it read.
    const deadline = Date.now() + 90_000;
    let impact = await store.getAgentRecord(incident.incidentId, 'impact');
    while (!impact && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      impact = await store.getAgentRecord(incident.incidentId, 'impact');
    }
    expect(impact).toBeDefined();
    // The impact agent measured the world's metrics (no telemetry gap): it read the environment the detector watched.
    expect(impact!.evidence.some((e) => e.kind === 'metric')).toBe(true);
    expect(impact!.evidence.filter((e) => e.id === 'gap:telemetry')).toEqual([]);
  }, 150_000);

  it('runs on the timer too, reporting each run to onDetect', async () => {
    timerOn = true;
    const deadline = Date.now() + 20_000;
    while (timed.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    timerOn = false;
    expect(timed.length).toBeGreaterThanOrEqual(2);
    expect(timed[0]!.targets.map((t) => t.environment)).toEqual([LIVE_WORLD_ID, WORLD]);
  }, 30_000);

  it('refuses bad detector options before starting', async () => {
    await expect(startTwin({ inMemory: true, detectIntervalMs: -1 })).rejects.toThrow(TwinOptionInvalid);
    await expect(startTwin({ inMemory: true, detectorTargets: [{ environment: '' }] })).rejects.toThrow(/detectorTargets: 0\.environment/);
  });
});
