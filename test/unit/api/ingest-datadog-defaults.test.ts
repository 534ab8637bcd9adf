/**
 * Datadog's default webhook payload and natural key spellings (issue 9, finding 6): a user who pastes the default
 * payload, or writes `alert_transition` instead of our template's `transition`, gets an incident, not a 400. The
 * default payload is events/alerts/datadog-default.json.
 */
import { describe, expect, it } from 'vitest';
import { AlertPayloadInvalid, normalizeAlerts } from '../../../functions/core/alerts/index.ts';
import { parseTitlePrefix } from '../../../functions/core/alerts/datadog.ts';
import { MemoryEventPublisher } from '../../../functions/core/events.ts';
import { StaticSecret } from '../../../functions/core/secrets.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { ingestAlert } from '../../../functions/ingest-alert/core.ts';
import { manualClock } from '../store/contract.ts';
import { CONFIG, FakeWorkflow, SECRET, apiEvent, bodyOf, sampleAlert, statusOf } from './fixtures.ts';

type Json = Record<string, unknown>;
const now = new Date('2024-05-01T12:10:00.000Z');
const normalize = (payload: unknown) => normalizeAlerts('datadog', payload, { now });
const problemsOf = (payload: unknown): readonly string[] => {
  try {
    normalize(payload);
  } catch (error) {
    if (error instanceof AlertPayloadInvalid) return error.problems;
    throw error;
  }
  throw new Error('expected AlertPayloadInvalid');
};
/** `o` with key `from` renamed `to` (value kept). */
const renamed = (o: Json, from: string, to: string): Json => {
  const { [from]: value, ...rest } = o;
  return { ...rest, [to]: value };
};

const setup = () => {
  const store = new MemoryIncidentStore();
  const workflow = new FakeWorkflow();
  const events = new MemoryEventPublisher({ validate: true });
  let n = 0;
  const ingest = ingestAlert({ store, workflow, events, secret: new StaticSecret(SECRET), config: CONFIG, clock: manualClock('2024-05-01T12:10:00.000Z'), newIncidentId: () => `inc-${++n}` });
  const post = (body: unknown) => ingest(apiEvent('POST /alerts/{source}', { path: { source: 'datadog' }, body }));
  return { store, workflow, post };
};

describe('unit: Datadog default payload', () => {
  it('opens an incident from events/alerts/datadog-default.json: transition, priority, service and environment from the title', async () => {
    // Prepare
    const { post, workflow } = setup();
    // Act
    const result = await post(sampleAlert('datadog-default'));
    // Assess
    expect(statusOf(result), JSON.stringify(bodyOf(result))).toBe(202);
    expect(workflow.executions.size).toBe(1);
    const [{ alert }] = normalize(sampleAlert('datadog-default'));
    expect(alert).toMatchObject({
      state: 'OPEN',
      severity: 'SEV2',
      service: 'inventory-service',
      environment: 'w1',
      startedAt: '2024-05-01T12:10:00.000Z',
      dedupKey: 'title:env:w1,service:inventory-service inventory-service error rate above 5%',
      tags: { 'datadog.transition': 'Triggered', 'datadog.identity': 'title', 'datadog.eventId': '7495316273849201654', 'datadog.eventType': 'query_alert_monitor' },
    });
    expect(alert.description).toContain('HikariPool-1');
  });

  it('lets the default payload’s [Recovered] notification (a new event id) resolve the incident its [Triggered] opened', async () => {
    const { post } = setup();
    const triggered = sampleAlert('datadog-default');
    const opened = bodyOf(await post(triggered));
    const recovered = { ...triggered, id: '7495316273849209999', title: String(triggered.title).replace('[Triggered on', '[Recovered on') };
    const result = bodyOf(await post(recovered));
    expect(result).toMatchObject({ incidentId: opened.incidentId, state: 'RESOLVED', allResolved: true });
  });

  it.each([
    ['[Triggered] db down', 'OPEN', 'SEV3'],
    ['[Re-Triggered] db down', 'OPEN', 'SEV3'],
    ['[Warn] db down', 'OPEN', 'SEV3'],
    ['[No Data] db down', 'OPEN', 'SEV3'],
    ['[Renotify] db down', 'OPEN', 'SEV3'],
    ['[Recovered] db down', 'RESOLVED', 'SEV3'],
    ['[Warn Recovered] db down', 'RESOLVED', 'SEV3'],
    ['[P1] [Triggered on {service:db,env:prod}] db down', 'OPEN', 'SEV1'],
    ['[P4] [Recovered on {service:db,env:prod}] db down', 'RESOLVED', 'SEV4'],
  ])('reads the title %s as %s, %s', (title, state, severity) => {
    const [{ alert }] = normalize({ ...sampleAlert('datadog-default'), title: `${title} on service:db` });
    expect(alert).toMatchObject({ state, severity });
  });

  it('takes the transition from event_type when the title has no prefix and event_type reads as one', () => {
    const [{ alert }] = normalize({ ...sampleAlert('datadog-default'), title: 'service:db is down', event_type: 'Recovered' });
    expect(alert).toMatchObject({ state: 'RESOLVED', service: 'db' });
  });

  it('parses a title prefix into priority, transition, scope and the monitor name, stopping at a group of the name', () => {
    expect(parseTitlePrefix('[P1] [Triggered on {host:a}] [Memory Alert] high')).toEqual({ priority: 'P1', transition: 'Triggered', scope: '{host:a}', name: '[Memory Alert] high' });
    expect(parseTitlePrefix('no prefix')).toEqual({ priority: undefined, transition: undefined, scope: undefined, name: 'no prefix' });
  });
});

describe('unit: Datadog key spellings', () => {
  const template = sampleAlert('datadog');
  const reference = normalize(template)[0].alert;

  it.each(['alert_transition', 'alertTransition', 'ALERT_TRANSITION', 'Alert-Transition'])('accepts the transition as %s, with the same alert as the template', (key) => {
    expect(normalize(renamed(template, 'transition', key))[0].alert).toEqual(reference);
  });

  it('accepts alertCycleKey, alert_priority, alert_scope, host_name, url and a tags array, with the same alert as the template', () => {
    let payload = renamed(template, 'alert_cycle_key', 'alertCycleKey');
    payload = renamed(payload, 'priority', 'alert_priority');
    payload = renamed(payload, 'scope', 'alert_scope');
    payload = renamed(payload, 'link', 'url');
    payload = { ...payload, tags: String(template.tags).split(',') };
    expect(normalize(payload)[0].alert).toEqual(reference);
  });

  it('prefers $ALERT_PRIORITY over an event priority (normal/low) under "priority"', () => {
    const [{ alert }] = normalize({ ...template, priority: 'normal', alert_priority: 'P1' });
    expect(alert.severity).toBe('SEV1');
  });

  it('chooses the identity best first: cycle key, then monitor + group, then the title, then the event id', () => {
    const base = { ...template, title: '[Triggered] checkout latency', event_title: '' };
    expect(normalize(base)[0].alert.dedupKey).toBe('7495316273849201000');
    expect(normalize({ ...base, alert_cycle_key: '' })[0].alert.dedupKey).toBe('monitor:148822937:env:w1,service:inventory-service');
    expect(normalize({ ...base, alert_cycle_key: '', alert_id: '' })[0].alert.dedupKey).toBe('title:checkout latency');
    expect(normalize({ ...base, alert_cycle_key: '', alert_id: '', title: '[Triggered]' })[0].alert.dedupKey).toBe('event:7495316273849201654');
  });

  it('hashes a title identity too long for a storage key', () => {
    const [{ alert }] = normalize({ ...sampleAlert('datadog-default'), title: `[Triggered] service:db ${'x'.repeat(2000)}` });
    expect(alert.dedupKey).toMatch(/^title:[0-9a-f]{64}$/);
  });
});

describe('unit: Datadog payloads with nothing usable', () => {
  it('answers a payload with no title, transition, date or identity 400 naming each, and writes nothing', async () => {
    const { post, store, workflow } = setup();
    const result = await post({ org: { id: '1' }, event_type: 'query_alert_monitor' });
    expect(statusOf(result)).toBe(400);
    expect(bodyOf(result).problems).toEqual([expect.stringMatching(/^title: missing/), expect.stringMatching(/^transition: missing/), expect.stringMatching(/^date: missing/)]);
    expect((await store.listIncidents({})).items).toEqual([]);
    expect(workflow.executions.size).toBe(0);
  });

  it('names a title without a transition prefix when no transition field is sent', () => {
    expect(problemsOf({ ...sampleAlert('datadog-default'), title: 'db down' })).toEqual([expect.stringMatching(/^transition: missing .*\[Triggered\]/)]);
  });

  it('names the key as sent when its value has the wrong type', () => {
    expect(problemsOf(renamed({ ...sampleAlert('datadog'), transition: 7 }, 'transition', 'alertTransition'))).toEqual([expect.stringMatching(/^alertTransition: /)]);
    expect(problemsOf({ ...sampleAlert('datadog-default'), org: { id: { nested: true } } })).toEqual([expect.stringMatching(/^org\.id: /)]);
  });

  it.each([null, [], 'text', 42])('answers a body that is not an object (%j) 400 naming the payload', async (body) => {
    const { post } = setup();
    const result = await post(body);
    expect(statusOf(result)).toBe(400);
    expect(bodyOf(result).problems).toEqual([expect.stringMatching(/^\(payload\): expected a JSON object/)]);
  });
});
