/**
 * Alert intake on the laptop twin: the real webhook, DynamoDB (dynalite), the state machine and the bus.
 * - the IncidentStore contract (dedup, correlation, resolution, withdrawal, races) against DynamoIncidentStore;
 * - an alert storm: 1,000 alerts over 3 services, sent with bounded concurrency → 3 incidents, 3 executions;
 * - HMAC-signed deliveries;
 * - every alert resolving while the approval is pending → the approval is withdrawn, the incident closes as
 *   self-recovered and the report says so.
 * Every plan goes to a human (autoApproveLowRisk: false), so the storm's incidents wait at "Request approval"
 * (open) while the storm lasts instead of closing under it.
 */
import { readFile } from 'node:fs/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAFANA_SIGNATURE_HEADER, SIGNATURE_HEADER, alertSignatureHeader, signAlertBody } from '../../functions/core/alerts/auth.ts';
import { DynamoIncidentStore } from '../../functions/core/store/dynamo-store.ts';
import { ApiClient, type IncidentView } from '../../lib/local/client.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, STATE_MACHINE_ARN, TABLE_NAME } from '../../lib/local/constants.ts';
import { ApprovalWatcher, seedScenario } from '../../lib/local/incident-run.ts';
import { startTwin, type BusEvent, type StateEvent, type Twin } from '../../lib/local/twin.ts';
import { type IntakeFaults, type IntakeStep, incidentStoreContract } from '../unit/store/contract.ts';
import { ingestOpeningContract } from '../unit/api/opening-contract.ts';

let twin: Twin;
let api: ApiClient;
let doc: DynamoDBDocumentClient;
const faultyClients: DynamoDBClient[] = [];

beforeAll(async () => {
  twin = await startTwin({ inMemory: true, waitOverrideMs: 0, autoApproveLowRisk: false });
  api = new ApiClient(twin.url, twin.secret);
  doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: twin.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }));
});
afterAll(async () => {
  doc?.destroy();
  for (const client of faultyClients) client.destroy();
  await twin?.stop();
});

/** A DynamoDB attribute value as the middleware sees it: marshalled ({S: 'x'}) or not, depending on its position. */
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : (value as { S?: string } | undefined)?.S);

/** Which intake write a request is (see IntakeStep), from its input alone. */
const intakeStep = (input: { Item?: Record<string, unknown>; Key?: Record<string, unknown>; UpdateExpression?: string }): IntakeStep | undefined => {
  if (str(input.Item?.kind) === 'DEDUP') return 'claim';
  const sk = str(input.Key?.sk);
  if (sk === 'DEDUP' && input.UpdateExpression?.includes('#state = :to')) return 'flip';
  if (sk === 'META' && input.UpdateExpression?.includes('#alertCount')) return 'count';
  return undefined;
};

/**
 * The store on its own DynamoDB client, with a middleware around the whole request (SDK retries included): once
 * DynamoDB has answered an intake write, `faults` may throw (the caller sees a timeout for a write that landed) or
 * run another delivery before the caller goes on.
 */
const faultyStore = (clock: () => Date, faults: IntakeFaults): DynamoIncidentStore => {
  const client = new DynamoDBClient({ endpoint: twin.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  faultyClients.push(client);
  client.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const step = intakeStep(args.input as Parameters<typeof intakeStep>[0]);
      if (step) await faults.landed(step);
      return out;
    },
    { step: 'initialize', name: 'intakeFaults' },
  );
  return new DynamoIncidentStore(DynamoDBDocumentClient.from(client), TABLE_NAME, { clock });
};

incidentStoreContract('DynamoIncidentStore on the twin (dynalite)', async (clock, faults) => faultyStore(clock, faults));

ingestOpeningContract('DynamoIncidentStore on the twin (dynalite)', async (clock) => new DynamoIncidentStore(doc, TABLE_NAME, { clock }));

const post = (source: string, body: string, headers: Record<string, string>) =>
  fetch(`${twin.url}/alerts/${source}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

const incidentIdsNamed = async (names: ReadonlySet<string>): Promise<string[]> => {
  const sfn = new SFNClient({ endpoint: twin.endpoints.stepFunctions, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    const { executions } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: STATE_MACHINE_ARN }));
    return (executions ?? []).map((e) => String(e.name)).filter((n) => names.has(n));
  } finally {
    sfn.destroy();
  }
};

/** Runs `task` over `items` with at most `limit` in flight. */
const pool = async <T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> => {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
};

describe('laptop twin: an alert storm', () => {
  it('turns 1,000 alerts over 3 services into 3 incidents, each listing its alerts, and 3 executions', async () => {
    // Prepare: three worlds, each with its own faulty service; the storm repeats each world's alert under new ids.
    const scenarios = ['db-pool-exhaustion', 'feature-flag-errors', 'memory-leak'];
    const worlds = await Promise.all(scenarios.map((s) => seedScenario(twin, s)));
    const targets = worlds.map(({ worldId, alert }) => ({ environment: worldId, service: String((alert.payload.ImpactedEntities as { name: string }[])[0].name) }));
    const alerts = Array.from({ length: 1000 }, (_, i) => {
      const t = targets[i % 3];
      return { id: `storm-${t.environment}-${i}`, title: `${t.service} alert #${i}`, service: t.service, environment: t.environment, severity: i % 7 === 0 ? 'critical' : 'warning' };
    });
    const opened: BusEvent[] = [];
    const unsubscribe = twin.onEvent((e) => {
      if (e['detail-type'] === 'Incident Opened') opened.push(e);
    });
    // Act
    const answers = await pool(alerts, 16, async (alert) => {
      const res = await post('generic', JSON.stringify(alert), { 'x-autopilot-secret': twin.secret });
      return { status: res.status, body: (await res.json()) as { incidentId: string; deduplicated: boolean; correlated?: boolean } };
    });
    unsubscribe();
    // Assess
    expect(answers.filter((a) => a.status !== 202)).toEqual([]);
    const incidentIds = new Set(answers.map((a) => a.body.incidentId));
    expect(incidentIds.size).toBe(3);
    expect(answers.filter((a) => !a.body.deduplicated && !a.body.correlated)).toHaveLength(3);
    expect(answers.filter((a) => a.body.correlated)).toHaveLength(997);
    const views = await Promise.all([...incidentIds].map((id) => api.getIncident(id)));
    for (const view of views) {
      const service = String(view.incident.service);
      const own = alerts.filter((a) => a.service === service);
      const listed = (view.alerts ?? []) as { alert: { dedupKey: string; service: string } }[];
      expect(new Set(listed.map((a) => a.alert.dedupKey))).toEqual(new Set(own.map((a) => a.id)));
      expect(view.incident).toMatchObject({ alertCount: own.length, distinctAlerts: own.length });
    }
    expect(views.reduce((n, v) => n + (v.alerts?.length ?? 0), 0)).toBe(1000);
    expect(new Set(views.map((v) => v.incident.service))).toEqual(new Set(targets.map((t) => t.service)));
    expect((await incidentIdsNamed(incidentIds)).sort()).toEqual([...incidentIds].sort());
    expect(opened.map((e) => (e.detail as { incidentId: string }).incidentId).sort()).toEqual([...incidentIds].sort());
  });
});

describe('laptop twin: duplicate deliveries', () => {
  it('gives 300 concurrent deliveries of one Dynatrace problem one incident, one execution and exactly one Incident Opened, with no 5xx', async () => {
    // Prepare: one problem, delivered 300 times at once (as a vendor retrying through a flaky network would)
    const sample = JSON.parse(await readFile(new URL('../../events/alerts/dynatrace.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    const body = JSON.stringify({ ...sample, PID: `dup-${Date.now()}` });
    const opened: BusEvent[] = [];
    const unsubscribe = twin.onEvent((e) => {
      if (e['detail-type'] === 'Incident Opened') opened.push(e);
    });
    // Act
    const answers = await Promise.all(
      Array.from({ length: 300 }, async () => {
        const res = await post('dynatrace', body, { 'x-autopilot-secret': twin.secret });
        return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { incidentId?: string; executionArn?: string } };
      }),
    );
    unsubscribe();
    // Assess: every answer is a 202 with the execution, or a deliberate shed (429/503) that says when to retry
    const accepted = answers.filter((a) => a.status === 202);
    const shed = answers.filter((a) => a.status === 429 || a.status === 503);
    expect(answers.filter((a) => a.status >= 500 && a.status !== 503)).toEqual([]);
    expect(shed.every((a) => Number(a.retryAfter) >= 1)).toBe(true);
    expect(accepted.length + shed.length).toBe(300);
    expect(accepted.length).toBeGreaterThan(0);
    const ids = new Set(accepted.map((a) => a.body.incidentId));
    expect(ids.size).toBe(1);
    const [incidentId] = [...ids] as string[];
    expect(accepted.every((a) => a.body.executionArn?.endsWith(`:${incidentId}`))).toBe(true);
    expect(await incidentIdsNamed(new Set([incidentId]))).toEqual([incidentId]);
    expect(opened.filter((e) => (e.detail as { incidentId: string }).incidentId === incidentId)).toHaveLength(1);
  });
});

describe('laptop twin: signed deliveries', () => {
  const alert = (id: string) => JSON.stringify({ id, title: 'signed alert', service: `signed-${id}`, environment: 'signing' });

  it('accepts a body signed with x-autopilot-signature and with Grafana’s signature header, without the secret', async () => {
    // Prepare
    const body = alert(`sig-${Date.now()}`);
    const ts = String(Math.floor(Date.now() / 1000));
    const grafanaBody = alert(`grafana-${Date.now()}`);
    // Act
    const ours = await post('generic', body, { [SIGNATURE_HEADER]: alertSignatureHeader(twin.secret, body) });
    const grafana = await post('generic', grafanaBody, { [GRAFANA_SIGNATURE_HEADER]: signAlertBody(twin.secret, grafanaBody, ts), 'x-grafana-alerting-timestamp': ts });
    // Assess
    expect(ours.status).toBe(202);
    expect(grafana.status).toBe(202);
  });

  it('answers 401 to a bad signature, even with the right secret, and writes nothing', async () => {
    const id = `bad-sig-${Date.now()}`;
    const body = alert(id);
    const tampered = await post('generic', body, { [SIGNATURE_HEADER]: alertSignatureHeader(twin.secret, alert('something else')), 'x-autopilot-secret': twin.secret });
    const wrongKey = await post('generic', body, { [SIGNATURE_HEADER]: alertSignatureHeader(`${twin.secret}x`, body) });
    expect([tampered.status, wrongKey.status]).toEqual([401, 401]);
    const listed = await api.listIncidents({ limit: 100 });
    expect(listed.items.filter((i) => i.service === `signed-${id}`)).toEqual([]);
  });
});

describe('laptop twin: alerts resolving while the approval is pending', () => {
  it('withdraws the approval, skips the mitigation and closes the incident RESOLVED as self-recovered, saying so in the report', async () => {
    // Prepare: an incident waiting for a human
    const watcher = new ApprovalWatcher(twin);
    const states: StateEvent[] = [];
    const unsubscribe = twin.onStateEvent((e) => states.push(e));
    const { alert } = await seedScenario(twin, 'db-pool-exhaustion');
    const { body: accepted } = await api.sendAlert(alert.source, alert.payload);
    await watcher.reached(accepted.incidentId);
    watcher.stop();
    await expect.poll(async () => (await api.getIncident(accepted.incidentId)).incident.approval?.status, { timeout: 10_000 }).toBe('PENDING');
    // Act: the vendor reports the problem closed
    const resolved = await api.sendAlert(alert.source, { ...alert.payload, State: 'RESOLVED' });
    const execution = await twin.waitForExecution(accepted.executionArn ?? accepted.incidentId, 30_000);
    unsubscribe();
    // Assess
    expect(resolved.body).toMatchObject({ incidentId: accepted.incidentId, state: 'RESOLVED', allResolved: true, approvalWithdrawn: true });
    expect(execution.status).toBe('SUCCEEDED');
    expect(states).toContainEqual(expect.objectContaining({ incidentId: accepted.incidentId, state: 'Request approval', type: 'failed', error: 'AlertsResolved' }));
    expect(states.some((e) => e.incidentId === accepted.incidentId && e.state === 'Execute mitigation')).toBe(false);
    const view: IncidentView = await api.getIncident(accepted.incidentId);
    expect(view.incident).toMatchObject({ status: 'RESOLVED', outcome: 'self-recovered', approval: { status: 'WITHDRAWN', approver: 'autopilot' } });
    expect(view.agents?.execution).toBeUndefined();
    expect((view.timeline as { type: string }[]).map((e) => e.type)).toEqual(expect.arrayContaining(['alert-resolved', 'approval-withdrawn', 'report-written']));
    const report = String(view.incident.reportLocation);
    const markdown = report.includes('://') ? String((view.agents?.report?.output as { markdown: string }).markdown) : await readFile(report, 'utf8');
    expect(markdown).toMatch(/RESOLVED \(self-recovered\)/);
    expect(markdown).toMatch(/resolved on its own/);
    expect(markdown).toMatch(/Withdrawn at/);
    const published = (twin.events() as BusEvent[]).filter((e) => (e.detail as { incidentId?: string }).incidentId === accepted.incidentId);
    expect(published.find((e) => e['detail-type'] === 'Incident Resolved')?.detail).toMatchObject({ outcome: 'self-recovered', status: 'RESOLVED' });
    // A human arriving afterwards is told it was withdrawn.
    const late = await api.decide(accepted.incidentId, 'approve', 'too-late').catch((e: unknown) => e as { status?: number; body?: unknown });
    expect(late).toMatchObject({ status: 409 });
  });
});
