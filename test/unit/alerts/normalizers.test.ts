import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AlertPayloadInvalid, UnknownAlertSource, normalizeAlerts } from '../../../functions/core/alerts/index.ts';
import { parseTagList, severityFromWord, toIso } from '../../../functions/core/alerts/common.ts';
import { NormalizedAlert } from '../../../functions/core/model.ts';

const now = new Date('2024-05-01T12:10:00.000Z');
const sample = (source: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(`../../../events/alerts/${source}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
const normalize = (source: string, payload: unknown) => normalizeAlerts(source, payload, { now });

/** The problems of the AlertPayloadInvalid a call throws (fails the test if it does not throw one). */
const problemsOf = (fn: () => unknown): readonly string[] => {
  try {
    fn();
  } catch (error) {
    if (error instanceof AlertPayloadInvalid) return error.problems;
    throw error;
  }
  throw new Error('expected AlertPayloadInvalid');
};

const without = (o: Record<string, unknown>, key: string) => {
  const { [key]: _, ...rest } = o;
  return rest;
};

describe('unit: alert normalisers, every sample', () => {
  it.each(['dynatrace', 'alertmanager', 'datadog', 'cloudwatch', 'generic'])('normalises events/alerts/%s.json into valid NormalizedAlerts', (source) => {
    const items = normalize(source, sample(source));
    expect(items.length).toBeGreaterThan(0);
    for (const { alert } of items) {
      expect(NormalizedAlert.parse(alert)).toEqual(alert);
      expect(alert).toMatchObject({ source, state: 'OPEN', service: 'inventory-service', environment: 'w1' });
    }
  });

  it('throws UnknownAlertSource naming the known sources', () => {
    expect(() => normalize('pagerduty', {})).toThrow(UnknownAlertSource);
    expect(() => normalize('pagerduty', {})).toThrow(/known: dynatrace, alertmanager, datadog, cloudwatch, generic/);
  });
});

describe('unit: Dynatrace normaliser', () => {
  it('maps PID, title, severity, tags and the v2 start time', () => {
    const [{ alert }] = normalize('dynatrace', sample('dynatrace'));
    expect(alert).toMatchObject({
      dedupKey: '-4781623149532104331_1714564800000V2',
      title: 'Response time degradation on inventory-service',
      severity: 'SEV3',
      startedAt: '2024-05-01T12:08:00.000Z',
      tags: { environment: 'w1', service: 'inventory-service', team: 'inventory-platform', 'dynatrace.problemId': 'P-24051', 'dynatrace.impact': 'SERVICE' },
    });
    expect(alert.url).toContain('dynatrace.com');
  });

  it('treats RESOLVED and MERGED as resolved and maps AVAILABILITY to SEV1', () => {
    expect(normalize('dynatrace', { ...sample('dynatrace'), State: 'RESOLVED' })[0].alert.state).toBe('RESOLVED');
    const merged = normalize('dynatrace', { ...sample('dynatrace'), State: 'merged', ProblemSeverity: 'AVAILABILITY' })[0].alert;
    expect(merged).toMatchObject({ state: 'RESOLVED', severity: 'SEV1', tags: { 'dynatrace.state': 'MERGED' } });
  });

  it('falls back to the first impacted entity for the service and to arrival time for the start', () => {
    const payload = { ...without(without(sample('dynatrace'), 'ProblemDetailsJSONv2'), 'Tags'), ImpactedEntities: JSON.stringify([{ type: 'SERVICE', name: 'checkout', entity: 'SERVICE-1' }]) };
    const [{ alert }] = normalize('dynatrace', payload);
    expect(alert).toMatchObject({ service: 'checkout', startedAt: now.toISOString() });
    expect(alert.environment).toBeUndefined();
  });

  it('names PID when it is missing', () => {
    expect(problemsOf(() => normalize('dynatrace', without(sample('dynatrace'), 'PID')))).toEqual([expect.stringMatching(/^PID: /)]);
  });

  it('names the service sources when no service can be found', () => {
    const payload = without(without(without(without(sample('dynatrace'), 'Tags'), 'ImpactedEntities'), 'ImpactedEntity'), 'ProblemDetailsJSONv2');
    expect(problemsOf(() => normalize('dynatrace', payload))).toEqual([expect.stringMatching(/^Tags \(service:<name>\) or ImpactedEntities\[0\]\.name: /)]);
  });

  it('names fields of the wrong type', () => {
    const problems = problemsOf(() => normalize('dynatrace', { ...sample('dynatrace'), State: 'CLOSED', ProblemTitle: 42, ImpactedEntities: 'not json' }));
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/^ProblemTitle: /), expect.stringMatching(/^State: .*OPEN/), expect.stringMatching(/^ImpactedEntities: /)]));
  });
});

describe('unit: Alertmanager normaliser', () => {
  it('turns a group of two alerts into two alerts keyed by fingerprint and startsAt', () => {
    const items = normalize('alertmanager', sample('alertmanager'));
    expect(items.map((i) => i.alert.dedupKey)).toEqual(['8c3f0a1b2c4d5e6f:2024-05-01T12:08:00.000Z', '9d4e1b2c3d5e6f70:2024-05-01T12:08:30.000Z']);
    expect(items[0].alert).toMatchObject({ severity: 'SEV1', title: 'inventory-service p99 latency above 2 s', startedAt: '2024-05-01T12:08:00.000Z', tags: { instance: 'inventory-7d9f-1:8080' } });
    expect(items[0].raw).toMatchObject({ receiver: 'incident-autopilot', alert: { fingerprint: '8c3f0a1b2c4d5e6f' } });
    expect(items[0].raw).not.toHaveProperty('alerts');
  });

  it('maps a resolved alert to RESOLVED with the same dedup key', () => {
    const payload = sample('alertmanager') as { alerts: Record<string, unknown>[] };
    const resolved = { ...payload, status: 'resolved', alerts: [{ ...payload.alerts[0], status: 'resolved', endsAt: '2024-05-01T12:30:00Z' }] };
    const [{ alert }] = normalize('alertmanager', resolved);
    expect(alert).toMatchObject({ state: 'RESOLVED', dedupKey: '8c3f0a1b2c4d5e6f:2024-05-01T12:08:00.000Z' });
  });

  it('names the missing fingerprint and version with their paths', () => {
    const payload = sample('alertmanager') as { alerts: Record<string, unknown>[] };
    const bad = { ...without(payload, 'version'), alerts: [without(payload.alerts[0], 'fingerprint')] };
    expect(problemsOf(() => normalize('alertmanager', bad))).toEqual(expect.arrayContaining([expect.stringMatching(/^version: /), expect.stringMatching(/^alerts\.0\.fingerprint: /)]));
  });

  it('names the service label of the alert that lacks one', () => {
    const payload = sample('alertmanager') as { alerts: { labels: Record<string, string> }[] };
    const { service: _s, ...labels } = payload.alerts[1].labels;
    const bad = { ...payload, alerts: [payload.alerts[0], { ...payload.alerts[1], labels }] };
    expect(problemsOf(() => normalize('alertmanager', bad))).toEqual([expect.stringMatching(/^alerts\.1\.labels\.service: /)]);
  });

  it('rejects labels that are not strings and an empty group', () => {
    const payload = sample('alertmanager') as { alerts: Record<string, unknown>[] };
    expect(problemsOf(() => normalize('alertmanager', { ...payload, alerts: [{ ...payload.alerts[0], labels: { severity: 1 } }] }))).toEqual([expect.stringMatching(/^alerts\.0\.labels\.severity: /)]);
    expect(problemsOf(() => normalize('alertmanager', { ...payload, alerts: [] }))).toEqual([expect.stringMatching(/^alerts: /)]);
  });
});

describe('unit: Datadog normaliser', () => {
  it('uses the alert cycle key, priority and the service tag', () => {
    const [{ alert }] = normalize('datadog', sample('datadog'));
    expect(alert).toMatchObject({ dedupKey: '7495316273849201000', severity: 'SEV2', startedAt: '2024-05-01T12:10:00.000Z', tags: { 'datadog.monitorId': '148822937', team: 'inventory-platform' } });
    expect(alert.description).toContain('HikariPool-1');
  });

  it('maps Recovered to RESOLVED and falls back to alert_type when there is no priority', () => {
    const [{ alert }] = normalize('datadog', { ...sample('datadog'), transition: 'Recovered', priority: '', alert_type: 'warning' });
    expect(alert).toMatchObject({ state: 'RESOLVED', severity: 'SEV3', dedupKey: '7495316273849201000' });
  });

  // Issue 9 (finding 6): an empty $ALERT_CYCLE_KEY now falls back to the monitor, the title, then the event id; only
  // a payload with none of them is refused.
  it('names alert_cycle_key when Datadog substituted an empty string and no other identity is left', () => {
    const payload = { ...sample('datadog'), alert_cycle_key: '', alert_id: '', id: '', title: '[Triggered]', event_title: '' };
    expect(problemsOf(() => normalize('datadog', payload))).toEqual([expect.stringMatching(/^alert_cycle_key: .*ALERT_CYCLE_KEY/)]);
  });

  it('names a missing date and a title of the wrong type', () => {
    const problems = problemsOf(() => normalize('datadog', { ...without(sample('datadog'), 'date'), title: { text: 'x' } }));
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/^date: /), expect.stringMatching(/^title: /)]));
  });

  // Issue 9 (finding 6): a service:<name> tag in the title now counts too, so the sample's event_title is emptied.
  it('names where the service should be when neither tags, scope nor the titles have one', () => {
    const payload = { ...sample('datadog'), tags: 'env:w1', scope: '', event_title: '' };
    expect(problemsOf(() => normalize('datadog', payload))).toEqual([expect.stringMatching(/^tags \(service:<name>\), scope, or a service:<name> tag in the title: /)]);
  });
});

describe('unit: CloudWatch normaliser', () => {
  it('keys an ALARM by alarm ARN and its state timestamp and reads service/severity from the description', () => {
    const [{ alert }] = normalize('cloudwatch', sample('cloudwatch'));
    expect(alert).toMatchObject({
      dedupKey: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:inventory-service-p99-latency#2024-05-01T12:09:12.517Z',
      state: 'OPEN',
      severity: 'SEV2',
      title: 'inventory-service-p99-latency',
      startedAt: '2024-05-01T12:09:12.517Z',
    });
    expect(alert.url).toContain('us-east-1.console.aws.amazon.com');
  });

  it('keys the OK that ends an ALARM by that ALARM timestamp, so it lands on the same incident', () => {
    const alarm = sample('cloudwatch') as { detail: Record<string, unknown> };
    const ok = { ...alarm, detail: { ...alarm.detail, state: { value: 'OK', reason: 'back to normal', timestamp: '2024-05-01T12:40:00.000+0000' }, previousState: alarm.detail.state } };
    const [{ alert: opened }] = normalize('cloudwatch', alarm);
    const [{ alert: resolved }] = normalize('cloudwatch', ok);
    expect(resolved.state).toBe('RESOLVED');
    expect(resolved.dedupKey).toBe(opened.dedupKey);
  });

  it('ignores INSUFFICIENT_DATA', () => {
    const alarm = sample('cloudwatch') as { detail: Record<string, unknown> };
    expect(normalize('cloudwatch', { ...alarm, detail: { ...alarm.detail, state: { value: 'INSUFFICIENT_DATA', timestamp: '2024-05-01T12:40:00.000+0000' } } })).toEqual([]);
  });

  it('falls back to a metric dimension when the description names no service', () => {
    const alarm = sample('cloudwatch') as { detail: { configuration: Record<string, unknown> } };
    const payload = { ...alarm, detail: { ...alarm.detail, configuration: { ...alarm.detail.configuration, description: 'latency high' } } };
    expect(normalize('cloudwatch', payload)[0].alert).toMatchObject({ service: 'inventory-service', severity: 'SEV3' });
  });

  it('names the missing alarm ARN and a bad state value', () => {
    const alarm = sample('cloudwatch') as { detail: { state: Record<string, unknown> } };
    const bad = { ...alarm, resources: [], detail: { ...alarm.detail, state: { ...alarm.detail.state, value: 'RED' } } };
    expect(problemsOf(() => normalize('cloudwatch', bad))).toEqual(expect.arrayContaining([expect.stringMatching(/^resources: /), expect.stringMatching(/^detail\.state\.value: /)]));
  });

  it('refuses an event that is not an alarm state change', () => {
    expect(problemsOf(() => normalize('cloudwatch', { ...sample('cloudwatch'), 'detail-type': 'EC2 Instance State-change Notification' }))).toEqual([expect.stringMatching(/^detail-type: /)]);
  });
});

describe('unit: generic normaliser', () => {
  it('accepts severity words and epoch start times', () => {
    const [{ alert }] = normalize('generic', { id: 42, title: 't', service: 's', severity: 'critical', status: 'RESOLVED', startedAt: 1714565160000, tags: { retries: 3 } });
    expect(alert).toMatchObject({ dedupKey: '42', severity: 'SEV1', state: 'RESOLVED', startedAt: '2024-05-01T12:06:00.000Z', tags: { retries: '3' } });
  });

  it('names a missing id and rejects misspelt fields', () => {
    const problems = problemsOf(() => normalize('generic', { ...without(sample('generic'), 'id'), servce: 'x' }));
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/^id: /), expect.stringMatching(/servce/)]));
  });

  it('refuses an id or a service too long in bytes for a storage key, naming it (multi-byte text passes a character cap)', () => {
    const euros = '€'.repeat(400); // 400 characters, 1,200 bytes
    expect(problemsOf(() => normalize('generic', { ...sample('generic'), id: euros }))).toEqual([expect.stringMatching(/^id: .*1024 bytes/)]); // the vendor's field, not ours
    expect(problemsOf(() => normalize('generic', { ...sample('generic'), service: euros.slice(0, 200) }))).toEqual([expect.stringMatching(/^service: .*512 bytes/)]);
  });

  it('names a severity it does not know', () => {
    expect(problemsOf(() => normalize('generic', { ...sample('generic'), severity: 'apocalyptic' }))).toEqual([expect.stringMatching(/^severity: expected SEV1/)]);
  });
});

describe('unit: normaliser helpers', () => {
  it('parses tag lists with colons in values and Dynatrace context prefixes', () => {
    expect(parseTagList('environment:w1, service:inventory-service, [Kubernetes]app:inv, url:http://x:8080, flag')).toEqual({
      environment: 'w1',
      service: 'inventory-service',
      app: 'inv',
      url: 'http://x:8080',
      flag: '',
    });
  });

  it('maps severity words and priorities', () => {
    expect(['SEV2', 'sev-4', 'P1', 'p5', 'Critical', 'warning', 'info', 'whatever'].map(severityFromWord)).toEqual(['SEV2', 'SEV4', 'SEV1', 'SEV4', 'SEV1', 'SEV3', 'SEV4', undefined]);
  });

  it('reads ISO with any offset form and epoch seconds or milliseconds', () => {
    expect(toIso('2019-10-02T17:20:48.551+0000')).toBe('2019-10-02T17:20:48.551Z');
    expect(toIso('1714565400')).toBe('2024-05-01T12:10:00.000Z');
    expect(toIso(1714565400000)).toBe('2024-05-01T12:10:00.000Z');
    expect(toIso('soon')).toBeUndefined();
  });
});
