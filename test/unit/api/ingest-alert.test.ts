import { describe, expect, it } from 'vitest';
import { StaticSecret } from '../../../functions/core/secrets.ts';
import { MemoryEventPublisher } from '../../../functions/core/events.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { ingestAlert } from '../../../functions/ingest-alert/core.ts';
import { manualClock } from '../store/contract.ts';
import { CONFIG, FakeWorkflow, SECRET, apiEvent, bodyOf, sampleAlert, sampleEvent, statusOf } from './fixtures.ts';

const setup = () => {
  const store = new MemoryIncidentStore();
  const workflow = new FakeWorkflow();
  const events = new MemoryEventPublisher({ validate: true });
  const clock = manualClock('2024-05-01T12:10:00.000Z');
  let n = 0;
  const ingest = ingestAlert({ store, workflow, events, secret: new StaticSecret(SECRET), config: CONFIG, clock, newIncidentId: () => `inc-${++n}` });
  const post = (source: string, body: unknown, opts: { secret?: string | null; rawBody?: string } = {}) => ingest(apiEvent('POST /alerts/{source}', { path: { source }, body, ...opts }));
  const nothingHappened = async () => {
    expect((await store.listIncidents({})).items).toEqual([]);
    expect(workflow.executions.size).toBe(0);
    expect(events.events).toEqual([]);
  };
  return { store, workflow, events, clock, post, nothingHappened };
};

describe('unit: ingest-alert authentication and validation', () => {
  it('answers 401 without the secret header and starts nothing', async () => {
    // Prepare
    const { post, nothingHappened } = setup();
    // Act
    const result = await post('dynatrace', sampleAlert('dynatrace'), { secret: null });
    // Assess
    expect(statusOf(result)).toBe(401);
    expect(bodyOf(result)).toMatchObject({ error: 'unauthorized' });
    await nothingHappened();
  });

  it('answers 401 with a wrong secret and starts nothing', async () => {
    const { post, nothingHappened } = setup();
    expect(statusOf(await post('dynatrace', sampleAlert('dynatrace'), { secret: `${SECRET}x` }))).toBe(401);
    await nothingHappened();
  });

  it('answers 413 for a body over MAX_BODY_BYTES and starts nothing', async () => {
    const { post, nothingHappened } = setup();
    const result = await post('generic', { ...sampleAlert('generic'), description: 'x'.repeat(CONFIG.MAX_BODY_BYTES) });
    expect(statusOf(result)).toBe(413);
    expect(bodyOf(result).message).toMatch(/limit is 65536/);
    await nothingHappened();
  });

  it('answers 400 naming the JSON problem for a malformed body', async () => {
    const { post, nothingHappened } = setup();
    const result = await post('dynatrace', undefined, { rawBody: '{"PID": "1",' });
    expect(statusOf(result)).toBe(400);
    expect(bodyOf(result).message).toMatch(/^request body is not valid JSON: /);
    await nothingHappened();
  });

  it('answers 404 for an unknown source', async () => {
    const { post, nothingHappened } = setup();
    const result = await post('nagios', { any: 1 });
    expect(statusOf(result)).toBe(404);
    expect(bodyOf(result).message).toMatch(/unknown alert source "nagios"/);
    await nothingHappened();
  });

  it('answers 400 naming the missing field of a vendor payload', async () => {
    const { post, nothingHappened } = setup();
    const { PID: _, ...payload } = sampleAlert('dynatrace');
    const result = await post('dynatrace', payload);
    expect(statusOf(result)).toBe(400);
    expect(bodyOf(result).problems).toEqual([expect.stringMatching(/^PID: /)]);
    await nothingHappened();
  });
});

describe('unit: ingest-alert opening and deduplicating incidents', () => {
  it('opens an incident, starts the workflow named after it with the META input and publishes Incident Opened', async () => {
    const { post, store, workflow, events } = setup();
    const result = await post('dynatrace', sampleAlert('dynatrace'));
    expect(statusOf(result)).toBe(202);
    const body = bodyOf(result);
    expect(body).toEqual({ incidentId: 'inc-1', executionArn: expect.stringMatching(/:execution:incident-response:inc-1$/), deduplicated: false, state: 'OPEN' });
    expect([...workflow.executions.values()][0].input).toEqual({
      incidentId: 'inc-1',
      service: 'inventory-service',
      severity: 'SEV3',
      title: 'Response time degradation on inventory-service',
      policy: { verifyWaitSeconds: 30, maxVerifyChecks: 3 },
    });
    expect(events.ofType('Incident Opened')).toEqual([expect.objectContaining({ incidentId: 'inc-1', executionArn: body.executionArn })]);
    expect((await store.getIncident('inc-1'))?.executionArn).toBe(body.executionArn);
    expect((await store.getDetail('inc-1'))?.timeline.map((e) => e.type)).toEqual(['incident-opened', 'workflow-started']);
  });

  it('answers a second delivery 202 deduplicated without starting or publishing again', async () => {
    const { post, store, workflow, events } = setup();
    const first = bodyOf(await post('datadog', sampleAlert('datadog')));
    const second = await post('datadog', sampleAlert('datadog'));
    expect(statusOf(second)).toBe(202);
    expect(bodyOf(second)).toEqual({ ...first, deduplicated: true });
    expect(workflow.executions.size).toBe(1);
    expect(events.events).toHaveLength(1);
    expect((await store.getIncident(String(first.incidentId)))?.alertCount).toBe(2);
  });

  it('completes a delivery whose StartExecution failed when the vendor retries', async () => {
    const { post, store, workflow, events } = setup();
    workflow.startError = Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    const failed = await post('generic', sampleAlert('generic'));
    // A 503 that says what happened and that a retry helps, not a bare 500.
    expect(statusOf(failed)).toBe(503);
    expect(bodyOf(failed)).toEqual({
      error: 'service_unavailable',
      message: 'the alert is recorded, but the workflow of incident inc-1 could not be started (ThrottlingException); retry the delivery',
    });
    expect((await store.getIncident('inc-1'))?.executionArn).toBeUndefined();
    workflow.startError = undefined;
    const retry = await post('generic', sampleAlert('generic'));
    expect(statusOf(retry)).toBe(202);
    expect(bodyOf(retry)).toMatchObject({ incidentId: 'inc-1', deduplicated: true, executionArn: expect.stringContaining(':inc-1') });
    expect(events.ofType('Incident Opened')).toHaveLength(1);
    expect((await store.getIncident('inc-1'))?.executionArn).toBe(bodyOf(retry).executionArn);
  });

  it('answers a resolved alert for no known incident 202 ignored and writes nothing', async () => {
    const { post, nothingHappened } = setup();
    const result = await post('dynatrace', { ...sampleAlert('dynatrace'), State: 'RESOLVED' });
    expect(statusOf(result)).toBe(202);
    expect(bodyOf(result)).toMatchObject({ ignored: true, reason: 'resolved alert for no known incident' });
    await nothingHappened();
  });

  it('folds a resolved alert into its incident without starting anything', async () => {
    const { post, store, workflow } = setup();
    await post('dynatrace', sampleAlert('dynatrace'));
    const result = await post('dynatrace', { ...sampleAlert('dynatrace'), State: 'RESOLVED' });
    expect(bodyOf(result)).toMatchObject({ incidentId: 'inc-1', state: 'RESOLVED', deduplicated: true });
    expect(workflow.executions.size).toBe(1);
    const detail = await store.getDetail('inc-1');
    expect(detail?.alerts.map((a) => a.alert.state)).toEqual(['OPEN', 'RESOLVED']);
    expect(detail?.timeline.at(-1)?.type).toBe('alert-resolved');
  });

  it('answers an Alertmanager group with one result per alert, the second correlated into the first one\'s incident', async () => {
    const { post, workflow, store } = setup();
    const result = await post('alertmanager', sampleAlert('alertmanager'));
    expect(statusOf(result)).toBe(202);
    expect(bodyOf(result).results).toEqual([
      expect.objectContaining({ incidentId: 'inc-1', deduplicated: false }),
      expect.objectContaining({ incidentId: 'inc-1', deduplicated: false, correlated: true }),
    ]);
    expect(workflow.executions.size).toBe(1);
    expect(await store.getIncident('inc-1')).toMatchObject({ alertCount: 2, distinctAlerts: 2 });
  });

  it('answers a CloudWatch INSUFFICIENT_DATA event 202 ignored', async () => {
    const { post, nothingHappened } = setup();
    const alarm = sampleAlert('cloudwatch') as { detail: Record<string, unknown> };
    const result = await post('cloudwatch', { ...alarm, detail: { ...alarm.detail, state: { value: 'INSUFFICIENT_DATA', timestamp: '2024-05-01T12:40:00.000+0000' } } });
    expect(statusOf(result)).toBe(202);
    expect(bodyOf(result)).toMatchObject({ ignored: true });
    await nothingHappened();
  });

  it.each(['dynatrace', 'alertmanager', 'datadog', 'cloudwatch', 'generic'])('accepts the sample API event events/api/ingest-alert-%s.json', async (source) => {
    const { workflow, events, store, clock } = setup();
    const ingest = ingestAlert({ store, workflow, events, secret: new StaticSecret(SECRET), config: CONFIG, clock });
    const result = await ingest(sampleEvent(`ingest-alert-${source}`));
    expect(statusOf(result)).toBe(202);
    expect(workflow.executions.size).toBeGreaterThan(0);
    expect([...workflow.executions.keys()][0]).toMatch(/:execution:incident-response:inc-20240501-[0-9a-f]{10}$/);
  });

  it('keeps each sample API event body identical to events/alerts/<source>.json', () => {
    for (const source of ['dynatrace', 'alertmanager', 'datadog', 'cloudwatch', 'generic']) {
      expect(JSON.parse(String(sampleEvent(`ingest-alert-${source}`).body))).toEqual(sampleAlert(source));
    }
  });
});
