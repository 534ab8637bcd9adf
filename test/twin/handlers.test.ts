/**
 * Every Lambda handler, invoked with its sample event from events/ (the same files `sam local invoke -e` takes),
 * against the laptop twin's services. The samples name a placeholder incident; the test points them at a real
 * one, so each handler does its whole job rather than failing on "not found".
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS, type FunctionSpec } from '../../functions/registry.ts';
import { deriveLinkKey, linkExpiry, signApprovalLink } from '../../functions/core/approval-links.ts';
import { ApiClient } from '../../lib/local/client.ts';
import { ApprovalWatcher, ensureLiveWorld, runScenario, seedScenario } from '../../lib/local/incident-run.ts';
import { startTwin, type Twin } from '../../lib/local/twin.ts';

const root = join(import.meta.dirname, '..', '..');
const SAMPLE_INCIDENT = 'INC-SAMPLE';
const SAMPLE_API_INCIDENT = 'inc-20240501-9f2c4e1a7b';
const SAMPLE_SECRET = 'sample-webhook-secret';

const readSample = (file: string): string => readFileSync(join(root, 'events', file), 'utf8');

/** The API samples for each API function (events/api/<route>.json). */
const API_SAMPLES: Record<string, string[]> = {
  'ingest-alert': ['dynatrace', 'alertmanager', 'datadog', 'cloudwatch', 'generic'].map((s) => `api/ingest-alert-${s}.json`),
  'query-incidents': ['api/list-incidents.json', 'api/get-incident.json', 'api/get-summary.json'],
  'decide-approval': ['api/decide-approval.json'],
  'rerun-incident': ['api/rerun-incident.json'],
  'resolve-incident': ['api/resolve-incident.json'],
  'approval-page': ['api/approval-page-get.json', 'api/approval-page-post.json'],
  'incident-signals': ['api/incident-signals.json'],
  // In this order: the live world's faults listed, one injected, then ended.
  'manage-faults': ['api/manage-faults-list.json', 'api/manage-faults-inject.json', 'api/manage-faults-end.json'],
  // Not an API function: what its EventBridge Scheduler schedule sends (SWEEP_SCHEDULE_INPUT).
  'sweep-openings': ['scheduled/sweep-openings.json'],
  // Not an API function either: what its schedule sends (DETECT_SCHEDULE_INPUT).
  'detect-anomalies': ['scheduled/detect-anomalies.json'],
};
const SAMPLE_APPROVAL_TOKEN = 'SAMPLE_APPROVAL_TOKEN';

const context = (spec: FunctionSpec): Context =>
  ({
    functionName: spec.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${spec.name}`,
    memoryLimitInMB: String(spec.memoryMb),
    awsRequestId: `sample-${spec.name}`,
    logGroupName: `/aws/lambda/${spec.name}`,
    logStreamName: 'sample',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => spec.timeoutSeconds * 1000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }) as Context;

const invoke = async (spec: FunctionSpec, event: unknown): Promise<unknown> => {
  const { handler } = (await import(pathToFileURL(join(root, spec.entry)).href)) as { handler: (e: unknown, c: Context) => Promise<unknown> };
  return handler(event, context(spec));
};

describe('every handler with its sample event, on the laptop twin', () => {
  let twin: Twin;
  let api: ApiClient;
  let resolvedId: string;

  beforeAll(async () => {
    // Every plan goes to a human, so the approval handler always has a pending approval to decide.
    twin = await startTwin({ inMemory: true, waitOverrideMs: 0, autoApproveLowRisk: false });
    api = new ApiClient(twin.url, twin.secret);
    // An incident that went through the whole workflow: every agent record exists.
    resolvedId = (await runScenario(twin, { scenario: 'db-pool-exhaustion', approve: 'auto' })).id;
  });
  afterAll(async () => {
    await twin?.stop();
  });

  it('has a sample event for every function in the registry', () => {
    for (const spec of FUNCTIONS) {
      const files = spec.role === 'workflow' ? [`tasks/${spec.name}.json`] : API_SAMPLES[spec.name];
      expect(files, spec.name).toBeDefined();
      for (const file of files) expect(() => JSON.parse(readSample(file)), file).not.toThrow();
    }
  });

  // The incident went through the whole workflow, so every record a handler reads exists. Order matters: the
  // actors run first, on the first run's plan and approval (re-running the investigation later may find the
  // recovered world healthy and plan nothing); request-approval puts the approval back to PENDING, so it is last.
  const ORDER = ['execute-mitigation', 'verify-recovery', 'write-report', 'escalate', 'record-failure'];
  const rank = (name: string) => (name === 'request-approval' ? 99 : ORDER.includes(name) ? ORDER.indexOf(name) : 50);
  const workflowFunctions = FUNCTIONS.filter((f) => f.role === 'workflow').sort((a, b) => rank(a.name) - rank(b.name));
  it.each(workflowFunctions.map((f) => [f.name, f] as const))('workflow function %s handles its sample task', async (_, spec) => {
    // Prepare
    const event = JSON.parse(readSample(`tasks/${spec.name}.json`).replaceAll(SAMPLE_INCIDENT, resolvedId));
    // Act
    const result = (await invoke(spec, event)) as { incidentId?: string; summary?: string };
    // Assess
    expect(result.incidentId).toBe(resolvedId);
    expect(typeof result.summary).toBe('string');
  });

  it('API function manage-faults lists, injects and ends a fault of the live world from its sample requests', async () => {
    // Prepare: the live world, as `autopilot serve` creates it
    await ensureLiveWorld(twin);
    const spec = FUNCTIONS.find((f) => f.name === 'manage-faults')!;
    // Act, Assess
    const answers: { statusCode: number; body?: string }[] = [];
    for (const file of API_SAMPLES[spec.name]) answers.push((await invoke(spec, JSON.parse(readSample(file)))) as { statusCode: number; body?: string });
    expect(answers.map((a) => a.statusCode), JSON.stringify(answers.map((a) => a.body))).toEqual([200, 201, 200]);
    // The signed-in user of the sample's verified claims is who injected it.
    expect(JSON.parse(answers[1]!.body!)).toMatchObject({ id: 'fault-1', service: 'checkout-service', preset: 'error-rate', by: 'ana.operator@example.com' });
  });

  it.each(['ingest-alert', 'query-incidents', 'rerun-incident', 'incident-signals'].map((name) => [name, FUNCTIONS.find((f) => f.name === name)!] as const))(
    'API function %s answers its sample requests with 2xx',
    async (_, spec) => {
      for (const file of API_SAMPLES[spec.name]) {
        // Prepare
        const event = JSON.parse(readSample(file).replaceAll(SAMPLE_API_INCIDENT, resolvedId).replaceAll(SAMPLE_SECRET, twin.secret));
        // Act
        const response = (await invoke(spec, event)) as { statusCode: number; body?: string };
        // Assess
        expect(response.statusCode, `${file}: ${response.body}`).toBeGreaterThanOrEqual(200);
        expect(response.statusCode, `${file}: ${response.body}`).toBeLessThan(300);
      }
    },
  );

  /** An incident waiting at "Request approval", with its approval PENDING. */
  const pendingIncident = async (scenario: string) => {
    const watcher = new ApprovalWatcher(twin);
    const { alert } = await seedScenario(twin, scenario);
    const { body: accepted } = await api.sendAlert(alert.source, alert.payload);
    await watcher.reached(accepted.incidentId);
    watcher.stop();
    await expect.poll(async () => (await api.getIncident(accepted.incidentId)).incident.approval?.status, { timeout: 10_000 }).toBe('PENDING');
    return accepted;
  };

  it('API function decide-approval approves a pending mitigation from its sample request', async () => {
    // Prepare: an incident waiting at "Request approval"
    const accepted = await pendingIncident('db-pool-exhaustion');
    const spec = FUNCTIONS.find((f) => f.name === 'decide-approval')!;
    const event = JSON.parse(readSample('api/decide-approval.json').replaceAll(SAMPLE_API_INCIDENT, accepted.incidentId).replaceAll(SAMPLE_SECRET, twin.secret));
    // Act
    const response = (await invoke(spec, event)) as { statusCode: number; body?: string };
    // Assess
    expect(response.statusCode, response.body).toBe(200);
    const execution = await twin.waitForExecution(accepted.executionArn ?? accepted.incidentId, 30_000);
    expect(execution.status).toBe('SUCCEEDED');
  });

  it('API function resolve-incident resolves a closed incident from its sample request, and the same request again is 200', async () => {
    // Prepare: the incident that went through the whole workflow is closed (terminal), whatever the handlers above made it
    const spec = FUNCTIONS.find((f) => f.name === 'resolve-incident')!;
    const event = JSON.parse(readSample('api/resolve-incident.json').replaceAll(SAMPLE_API_INCIDENT, resolvedId).replaceAll(SAMPLE_SECRET, twin.secret));
    // Act
    const first = (await invoke(spec, event)) as { statusCode: number; body?: string };
    const again = (await invoke(spec, event)) as { statusCode: number; body?: string };
    // Assess
    expect(first.statusCode, first.body).toBe(200);
    expect(again.statusCode, again.body).toBe(200);
    expect(JSON.parse(String(again.body))).toMatchObject({ replayed: true, status: 'RESOLVED', resolution: { by: 'james.wu@example.com' } });
  });

  it('API function approval-page shows the page on GET and decides on POST from its sample requests', async () => {
    // Prepare: a pending approval and a link signed for it, as "Request approval" signs them
    const accepted = await pendingIncident('memory-leak');
    const approval = (await api.getIncident(accepted.incidentId)).incident.approval as unknown as { expiresAt: string; requestId: string };
    const token = signApprovalLink(deriveLinkKey(twin.secret), { incidentId: accepted.incidentId, decision: 'approve', expiresAt: linkExpiry(approval.expiresAt), requestId: approval.requestId });
    const spec = FUNCTIONS.find((f) => f.name === 'approval-page')!;
    const sample = (file: string) => JSON.parse(readSample(file).replaceAll(SAMPLE_APPROVAL_TOKEN, token));
    // Act
    const page = (await invoke(spec, sample('api/approval-page-get.json'))) as { statusCode: number; body?: string };
    const statusAfterGet = (await api.getIncident(accepted.incidentId)).incident.approval?.status;
    const decided = (await invoke(spec, sample('api/approval-page-post.json'))) as { statusCode: number; body?: string };
    // Assess: the GET decides nothing, the POST does
    expect(page.statusCode, page.body).toBe(200);
    expect(statusAfterGet).toBe('PENDING');
    expect(decided.statusCode, decided.body).toBe(200);
    const execution = await twin.waitForExecution(accepted.executionArn ?? accepted.incidentId, 30_000);
    expect(execution.status).toBe('SUCCEEDED');
  });
});
