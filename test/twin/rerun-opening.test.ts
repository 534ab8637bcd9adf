/**
 * A rerun goes through the opening journal, on the laptop twin (real handlers, the real ASL, dynalite, the twin's bus).
 * Reproduces, in small, two defects the session's adversarial runs found (issue 9):
 * 1. an opener that died after StartExecution and before publishing (its claim still live), a restart that lost the
 *    execution, then `autopilot rerun`: the rerun ran the incident to its end and `Incident Opened` never went out (the
 *    sweeper passes a closed incident). Now: 503 with Retry-After while the dead opener's lease lasts, then the rerun
 *    takes the opening over — exactly one `Incident Opened` — and runs;
 * 2. incidents recorded without their workflow (deliveries that died after recording the alert), then a sweep and a
 *    rerun of each at once: two workflows for some incidents and `Incident Opened` missing for most. Now: one workflow
 *    and one `Incident Opened` per incident.
 * Every plan waits for a human (autoApproveLowRisk: false), so an execution stays RUNNING until it is decided.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeAlerts } from '../../functions/core/alerts/index.ts';
import { EventBridgePublisher } from '../../functions/core/events.ts';
import { OPENING_LEASE_MS } from '../../functions/core/intake/opening.ts';
import { StaticSecret } from '../../functions/core/secrets.ts';
import { DynamoIncidentStore, StoreUnavailable } from '../../functions/core/store/dynamo-store.ts';
import { SfnWorkflowClient } from '../../functions/core/workflow-client.ts';
import { ingestAlert } from '../../functions/ingest-alert/core.ts';
import { ApiClient, ApiError } from '../../lib/local/client.ts';
import { EVENT_BUS_NAME, LOCAL_CREDENTIALS, LOCAL_REGION, STATE_MACHINE_ARN, TABLE_NAME, executionArn } from '../../lib/local/constants.ts';
import { ApprovalWatcher, decideWhenRequested, seedScenario } from '../../lib/local/incident-run.ts';
import { startTwin, type Twin } from '../../lib/local/twin.ts';
import { apiEvent, bodyOf, statusOf } from '../unit/api/fixtures.ts';

const SCENARIO = 'certificate-expiry';
const aws = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };

/** The delivery's Lambda died: what it sees of every call after its death. */
class InjectedDeath extends StoreUnavailable {
  override name = 'InjectedDeath';
}

let twin: Twin;
let api: ApiClient;
let sfn: SFNClient;
let store: DynamoIncidentStore;
const clients: { destroy(): void }[] = [];

beforeAll(async () => {
  twin = await startTwin({ inMemory: true, waitOverrideMs: 200, maxVerifyChecks: 2, autoApproveLowRisk: false });
  api = new ApiClient(twin.url, twin.secret);
  sfn = new SFNClient({ endpoint: twin.endpoints.stepFunctions, ...aws });
  const dynamo = new DynamoDBClient({ endpoint: twin.endpoints.dynamodb, ...aws });
  clients.push(sfn, dynamo);
  store = new DynamoIncidentStore(DynamoDBDocumentClient.from(dynamo), TABLE_NAME);
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  await twin?.stop();
});

/**
 * The webhook core against the twin's services, as a Lambda that dies at `dieAt` (nothing of it runs after, its claim
 * release included). Its clock is `ageMs` behind, so what it wrote is that old.
 */
const dyingDelivery = (dieAt: 'after-recording' | 'at-publish', ageMs: number) => {
  let dead = false;
  const dynamo = new DynamoDBClient({ endpoint: twin.endpoints.dynamodb, ...aws });
  dynamo.middlewareStack.add(
    (next) => async (args) => {
      if (dead) throw new InjectedDeath('injected: the Lambda is dead');
      const item = (args.input as { Item?: { kind?: unknown } }).Item;
      if (dieAt === 'after-recording' && item?.kind === 'EVENT') {
        dead = true;
        throw new InjectedDeath('injected: the Lambda died after recording the alert');
      }
      return next(args);
    },
    { step: 'initialize', name: 'dieAfterRecording' },
  );
  const bus = new EventBridgeClient({ endpoint: twin.endpoints.eventBridge, ...aws });
  bus.middlewareStack.add(
    (next) => async (args) => {
      if (dieAt === 'at-publish') {
        dead = true;
        throw new InjectedDeath('injected: the Lambda died before publishing Incident Opened');
      }
      return next(args);
    },
    { step: 'initialize', name: 'dieAtPublish' },
  );
  const workflow = new SFNClient({ endpoint: twin.endpoints.stepFunctions, ...aws });
  clients.push(dynamo, bus, workflow);
  const clock = () => new Date(Date.now() - ageMs);
  return ingestAlert({
    store: new DynamoIncidentStore(DynamoDBDocumentClient.from(dynamo), TABLE_NAME, { clock }),
    workflow: new SfnWorkflowClient(workflow, STATE_MACHINE_ARN),
    events: new EventBridgePublisher(bus, EVENT_BUS_NAME),
    secret: new StaticSecret(twin.secret),
    config: { MAX_BODY_BYTES: 256 * 1024, VERIFY_WAIT_SECONDS: 1, MAX_VERIFY_CHECKS: 2, CORRELATION_WINDOW_SECONDS: 300 },
    clock,
  });
};

/** A scenario incident whose delivery died at `dieAt`; returns its id. */
const interruptedIncident = async (dieAt: 'after-recording' | 'at-publish', ageMs: number): Promise<string> => {
  const { alert } = await seedScenario(twin, SCENARIO, { recoveryLagSeconds: 0 });
  const answer = await dyingDelivery(dieAt, ageMs)(apiEvent('POST /alerts/{source}', { path: { source: alert.source }, body: alert.payload, secret: twin.secret }));
  expect(statusOf(answer), JSON.stringify(bodyOf(answer))).toBe(503);
  const [{ alert: normalized }] = normalizeAlerts(alert.source, alert.payload, { now: new Date() });
  const incident = await store.findByDedupKey(alert.source, normalized.dedupKey);
  expect(incident, 'the incident is recorded').toBeDefined();
  expect(incident?.opening?.publishedAt).toBeUndefined();
  return incident!.incidentId;
};

const openedOnBus = (incidentId: string) =>
  twin.events().filter((e) => (e as { 'detail-type': string })['detail-type'] === 'Incident Opened' && (e as { detail: { incidentId: string } }).detail.incidentId === incidentId);

/** The rerun's answer: its body, or the API error's status, body and Retry-After. */
const rerun = async (incidentId: string) => {
  try {
    return { status: 202, body: await api.rerun(incidentId) };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { status: error.status, body: error.body as Record<string, unknown> };
  }
};

const stopIfRunning = async (name: string) => {
  if (twin.hasExecution(name)) await sfn.send(new StopExecutionCommand({ executionArn: executionArn(name) }));
};

describe('laptop twin: a rerun goes through the opening journal', () => {
  it('a sweep and a rerun of each of 4 incidents recorded without their workflow, at once: one workflow and one Incident Opened each', async () => {
    // Prepare: four deliveries died after recording their alerts, two leases ago (the sweeper may take them over)
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await interruptedIncident('after-recording', 2 * OPENING_LEASE_MS));
    // Act
    const [report, ...answers] = await Promise.all([twin.sweepOpenings(), ...ids.map(rerun)]);
    // Assess
    for (const [i, id] of ids.entries()) {
      const runs = [id, `${id}-rerun-1`, `${id}-rerun-2`].filter((name) => twin.hasExecution(name));
      expect(runs, `${id}: ${JSON.stringify(answers[i])}`).toHaveLength(1);
      expect(openedOnBus(id), id).toHaveLength(1);
      const incident = await store.getIncident(id);
      expect(incident?.executionArn, id).toBe(executionArn(runs[0]));
      expect(incident?.opening?.publishedAt, id).toBeDefined();
      const answer = answers[i];
      const accepted = answer.status === 202 && answer.body.openingCompleted === true && answer.body.executionArn === executionArn(id);
      const told = (answer.status === 409 && answer.body.executionArn === executionArn(id)) || (answer.status === 503 && answer.body.error === 'opening_in_progress');
      expect(accepted || told, `${id}: ${JSON.stringify(answer)}`).toBe(true);
    }
    expect(report.failed).toEqual([]);
    for (const id of ids) await stopIfRunning(id);
  });

  it('a rerun after the opener died between StartExecution and publishing: 503 while its lease lasts, then exactly one Incident Opened and the run', async () => {
    // Prepare: the opener started the workflow, recorded it, and died before publishing; its claim ends in ~4 s.
    // A restart then lost the execution (here: stopped).
    const incidentId = await interruptedIncident('at-publish', OPENING_LEASE_MS - 4_000);
    const meta = await store.getIncident(incidentId);
    expect(meta?.executionArn).toBe(executionArn(incidentId));
    await sfn.send(new StopExecutionCommand({ executionArn: executionArn(incidentId) }));
    expect((await twin.waitForExecution(incidentId, 30_000)).status).toBe('ABORTED');

    // Act 1: the rerun, while the dead opener's lease lasts
    const early = await rerun(incidentId);
    // Assess 1
    expect(early.status).toBe(503);
    expect(early.body).toMatchObject({ error: 'opening_in_progress', claimedBy: expect.any(String) });
    expect(early.body.message).toMatch(/being opened by another delivery or the sweeper/);
    expect(Number(early.body.retryAfterSeconds)).toBeLessThanOrEqual(5);
    expect(twin.hasExecution(`${incidentId}-rerun-1`)).toBe(false);
    expect(openedOnBus(incidentId)).toHaveLength(0);

    // Act 2: the rerun again, after Retry-After, and the run decided to its end
    await new Promise((resolve) => setTimeout(resolve, Number(early.body.retryAfterSeconds) * 1000 + 200));
    const watcher = new ApprovalWatcher(twin);
    const accepted = await rerun(incidentId);
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    const runArn = String(accepted.body.executionArn);
    void decideWhenRequested(twin, watcher, api, { incidentId, executionArn: runArn } as Parameters<typeof decideWhenRequested>[3], 'approve', 'alice');
    const ended = await twin.waitForExecution(runArn, 60_000);
    watcher.stop();

    // Assess 2: the run ended, and Incident Opened went out exactly once, for the opener's execution
    expect(runArn).toBe(executionArn(`${incidentId}-rerun-1`));
    expect(ended.status).toBe('SUCCEEDED');
    expect(openedOnBus(incidentId)).toHaveLength(1);
    expect((openedOnBus(incidentId)[0] as { detail: { executionArn: string } }).detail.executionArn).toBe(executionArn(incidentId));
    const view = await api.getIncident(incidentId);
    expect(['RESOLVED', 'ESCALATED']).toContain(view.incident.status);
    expect(view.incident.executionArn).toBe(runArn);
    expect((view.timeline as { type: string }[]).filter((e) => e.type === 'rerun-started')).toHaveLength(1);
  });
});
