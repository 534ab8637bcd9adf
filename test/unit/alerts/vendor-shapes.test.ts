/**
 * Vendor details beyond the samples: what Dynatrace, Alertmanager, Datadog and CloudWatch actually send in the
 * cases the samples do not show (templates without {Tags}, truncated groups, resolved entries, string-only values).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalizeAlerts } from '../../../functions/core/alerts/index.ts';

const now = new Date('2024-05-01T12:10:00.000Z');
const sample = (source: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(`../../../events/alerts/${source}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;

describe('unit: Dynatrace payload details', () => {
  it('takes service and environment from ProblemDetailsJSONv2.entityTags when the template has no {Tags}', () => {
    // Prepare: a template without Tags, ImpactedEntity or ImpactedEntities
    const { Tags: _t, ImpactedEntity: _e, ImpactedEntities: _i, ...payload } = sample('dynatrace');
    const details = payload.ProblemDetailsJSONv2 as Record<string, unknown>;
    // Act
    const [{ alert }] = normalizeAlerts('dynatrace', { ...payload, ProblemDetailsJSONv2: { ...details, impactedEntities: [] } }, { now });
    // Assess
    expect(alert).toMatchObject({ service: 'inventory-service', environment: 'w1' });
  });

  it('accepts {ProblemDetailsJSONv2} and {ImpactedEntities} placed in quotes by mistake', () => {
    const payload = sample('dynatrace');
    const quoted = { ...payload, ImpactedEntities: JSON.stringify(payload.ImpactedEntities), ProblemDetailsJSONv2: JSON.stringify(payload.ProblemDetailsJSONv2) };
    expect(normalizeAlerts('dynatrace', quoted, { now })[0].alert).toEqual(normalizeAlerts('dynatrace', payload, { now })[0].alert);
  });
});

describe('unit: Alertmanager payload details', () => {
  it('marks every alert of a truncated group and keeps the end time of a resolved entry', () => {
    const payload = sample('alertmanager') as { alerts: Record<string, unknown>[] };
    const group = { ...payload, truncatedAlerts: 5, status: 'resolved', alerts: [{ ...payload.alerts[0], status: 'resolved', endsAt: '2024-05-01T12:30:00Z' }] };
    const [{ alert }] = normalizeAlerts('alertmanager', group, { now });
    expect(alert).toMatchObject({ state: 'RESOLVED', tags: { 'alertmanager.truncatedAlerts': '5', 'alertmanager.endsAt': '2024-05-01T12:30:00.000Z' } });
  });

  it('accepts the zero endsAt of a firing alert and adds no end time for it', () => {
    const [{ alert }] = normalizeAlerts('alertmanager', sample('alertmanager'), { now });
    expect(alert.tags).not.toHaveProperty('alertmanager.endsAt');
    expect(alert.tags).not.toHaveProperty('alertmanager.truncatedAlerts');
  });
});

describe('unit: Datadog payload details', () => {
  it.each([
    ['Triggered', 'OPEN'],
    ['Re-Triggered', 'OPEN'],
    ['Warn', 'OPEN'],
    ['No Data', 'OPEN'],
    ['Renotify', 'OPEN'],
    ['Recovered', 'RESOLVED'],
    ['Warn Recovered', 'RESOLVED'],
    ['No Data Recovered', 'RESOLVED'],
  ])('maps $ALERT_TRANSITION %s to %s under the same alert cycle key', (transition, state) => {
    const [{ alert }] = normalizeAlerts('datadog', { ...sample('datadog'), transition }, { now });
    expect(alert).toMatchObject({ state, dedupKey: '7495316273849201000' });
  });

  it.each([
    ['P1', 'SEV1'],
    ['P3', 'SEV3'],
    ['P5', 'SEV4'],
  ])('maps $ALERT_PRIORITY %s to %s', (priority, severity) => {
    expect(normalizeAlerts('datadog', { ...sample('datadog'), priority }, { now })[0].alert.severity).toBe(severity);
  });
});

describe('unit: CloudWatch payload details', () => {
  it('reads the EventBridge event exactly as the API destination forwards it (string reasonData, +0000 offsets)', () => {
    const [{ alert, raw }] = normalizeAlerts('cloudwatch', sample('cloudwatch'), { now });
    expect(alert.tags).toMatchObject({ 'aws.account': '123456789012', 'aws.region': 'us-east-1', 'cloudwatch.state': 'ALARM', environment: 'w1' });
    expect(raw).toMatchObject({ 'detail-type': 'CloudWatch Alarm State Change' });
  });
});
