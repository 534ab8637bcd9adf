/**
 * The opening sweeper on the laptop twin: the real webhook core and DynamoDB (dynalite), a delivery that dies right
 * after recording its alert (no vendor retry, no later alert), and the real sweep-openings handler run by the twin's
 * timer and on demand: the workflow is started and `Incident Opened` reaches the bus exactly once.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgePublisher } from '../../functions/core/events.ts';
import { OPENING_LEASE_MS } from '../../functions/core/intake/opening.ts';
import { StaticSecret } from '../../functions/core/secrets.ts';
import { DynamoIncidentStore, StoreUnavailable } from '../../functions/core/store/dynamo-store.ts';
import { SfnWorkflowClient } from '../../functions/core/workflow-client.ts';
import { ingestAlert } from '../../functions/ingest-alert/core.ts';
import { ApiClient } from '../../lib/local/client.ts';
import { EVENT_BUS_NAME, LOCAL_CREDENTIALS, LOCAL_REGION, STATE_MACHINE_ARN, TABLE_NAME } from '../../lib/local/constants.ts';
import { startTwin, type SweepReport, type Twin, TwinOptionInvalid } from '../../lib/local/twin.ts';
import { apiEvent, statusOf } from '../unit/api/fixtures.ts';

/** The delivery's Lambda died: what it sees of every call after its death. */
class InjectedFailure extends StoreUnavailable {
  override name = 'InjectedFailure';
}

const SWEEP_INTERVAL_MS = 200;
let twin: Twin;
const clients: { destroy(): void }[] = [];
const timedSweeps: SweepReport[] = [];

beforeAll(async () => {
  twin = await startTwin({ inMemory: true, waitOverrideMs: 0, autoApproveLowRisk: false, sweepIntervalMs: SWEEP_INTERVAL_MS, onSweep: (r) => 'report' in r && timedSweeps.push(r.report) });
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  await twin?.stop();
});

const aws = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };

/**
 * The webhook core against the twin's services, its store on its own DynamoDB client: the first timeline write after
 * the alert is recorded never happens, because the Lambda died there (a crash, a timeout). Its clock is `ageMs` behind.
 */
const dyingDelivery = (ageMs: number) => {
  const dynamo = new DynamoDBClient({ endpoint: twin.endpoints.dynamodb, ...aws });
  dynamo.middlewareStack.add(
    (next) => async (args) => {
      const item = (args.input as { Item?: { kind?: unknown } }).Item;
      if (item?.kind === 'EVENT') throw new InjectedFailure('injected: the Lambda died after recording the alert');
      return next(args);
    },
    { step: 'initialize', name: 'dieAfterRecording' },
  );
  const sfn = new SFNClient({ endpoint: twin.endpoints.stepFunctions, ...aws });
  const bus = new EventBridgeClient({ endpoint: twin.endpoints.eventBridge, ...aws });
  clients.push(dynamo, sfn, bus);
  const clock = () => new Date(Date.now() - ageMs);
  return ingestAlert({
    store: new DynamoIncidentStore(DynamoDBDocumentClient.from(dynamo), TABLE_NAME, { clock }),
    workflow: new SfnWorkflowClient(sfn, STATE_MACHINE_ARN),
    events: new EventBridgePublisher(bus, EVENT_BUS_NAME),
    secret: new StaticSecret(twin.secret),
    config: { MAX_BODY_BYTES: 256 * 1024, VERIFY_WAIT_SECONDS: 3, MAX_VERIFY_CHECKS: 2, CORRELATION_WINDOW_SECONDS: 300 },
    clock,
  });
};

let serial = 0;
/** Posts one generic alert through a delivery that dies after recording it; returns the incident it recorded. */
const interruptedIncident = async (ageMs: number): Promise<string> => {
  const id = `sweep-${Date.now().toString(36)}-${++serial}`;
  const answer = await dyingDelivery(ageMs)(
    apiEvent('POST /alerts/{source}', { path: { source: 'generic' }, body: { id, title: `checkout errors ${id}`, service: `svc-${id}`, environment: 'w1' }, secret: twin.secret }),
  );
  expect(statusOf(answer)).toBe(503);
  const store = new DynamoIncidentStore(DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: twin.endpoints.dynamodb, ...aws })), TABLE_NAME);
  const incident = await store.findByDedupKey('generic', id);
  expect(incident, `the incident of ${id} is recorded`).toBeDefined();
  expect(incident?.executionArn).toBeUndefined();
  expect(incident?.opening).toBeUndefined();
  return incident!.incidentId;
};

const openedOnBus = (incidentId: string) => twin.events().filter((e) => (e as { 'detail-type': string })['detail-type'] === 'Incident Opened' && (e as { detail: { incidentId: string } }).detail.incidentId === incidentId);

const until = async (what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

describe('laptop twin: the opening sweeper', () => {
  it('refuses a sweep interval that is not a whole number of milliseconds ≥ 0, naming the option, before starting anything', async () => {
    await expect(startTwin({ inMemory: true, sweepIntervalMs: -1 })).rejects.toThrow(TwinOptionInvalid);
    await expect(startTwin({ inMemory: true, sweepIntervalMs: 0.5 })).rejects.toThrow(/sweepIntervalMs/);
  });

  it('starts the workflow of an incident whose opening delivery died after recording the alert, with exactly one Incident Opened on the bus', async () => {
    // Prepare: the delivery died two leases ago; nobody will send that alert again
    const incidentId = await interruptedIncident(2 * OPENING_LEASE_MS);
    // Act: the twin's timer sweeps
    await until(`Incident Opened of ${incidentId}`, () => openedOnBus(incidentId).length > 0);
    // A sweep on demand, and a few more timed ones, find nothing left to do
    const again = await twin.sweepOpenings();
    const after = timedSweeps.length;
    await until('two more timed sweeps', () => timedSweeps.length >= after + 2);
    // Assess
    expect(openedOnBus(incidentId)).toHaveLength(1);
    expect(again.takenOver.map((t) => t.incidentId)).not.toContain(incidentId);
    const view = await new ApiClient(twin.url, twin.secret).getIncident(incidentId);
    const executionArn = String(view.incident.executionArn);
    expect(executionArn).toEqual(expect.stringContaining(incidentId));
    expect(twin.hasExecution(executionArn)).toBe(true);
    expect(view.incident.opening).toMatchObject({ claimedBy: 'sweep-openings', publishedAt: expect.any(String) });
    expect((view.timeline as { type: string }[]).filter((e) => e.type === 'workflow-started')).toHaveLength(1);
    expect((openedOnBus(incidentId)[0] as { detail: { executionArn: string } }).detail.executionArn).toBe(executionArn);
  });

  it('leaves an incident whose delivery may still be alive (younger than the lease) to that delivery', async () => {
    // Prepare
    const incidentId = await interruptedIncident(0);
    // Act
    const report = await twin.sweepOpenings();
    const after = timedSweeps.length;
    await until('two more timed sweeps', () => timedSweeps.length >= after + 2);
    // Assess
    expect(report.takenOver.map((t) => t.incidentId)).not.toContain(incidentId);
    expect(openedOnBus(incidentId)).toHaveLength(0);
    expect(twin.hasExecution(incidentId)).toBe(false);
  });
});
