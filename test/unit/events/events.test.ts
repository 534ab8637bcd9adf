import { readdirSync } from 'node:fs';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DetailType } from '../../../functions/core/deps.ts';
import {
  DETAIL_TYPES,
  EventBridgePublisher,
  EventPublishFailed,
  InvalidEventDetail,
  MemoryEventPublisher,
  detailSchema,
  schemaFileName,
  validateDetail,
} from '../../../functions/core/events.ts';
import { EVENT_SOURCE } from '../../../functions/registry.ts';
import { openedDetail } from '../../../functions/ingest-alert/core.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { alertFixture } from '../store/contract.ts';

/** One realistic detail per detail-type (the CR2077 / HikariCP scenario). */
const SAMPLES: Record<DetailType, Record<string, unknown>> = {
  'Incident Opened': {
    incidentId: 'inc-20240501-9f2c4e1a7b',
    status: 'OPEN',
    severity: 'SEV2',
    service: 'inventory-service',
    title: 'Response time degradation on inventory-service',
    source: 'dynatrace',
    dedupKey: '-4781623149532104331_1714564800000V2',
    environment: 'w1',
    startedAt: '2024-05-01T12:08:00.000Z',
    createdAt: '2024-05-01T12:10:00.000Z',
    executionArn: 'arn:aws:states:us-east-1:123456789012:execution:incident-response:inc-20240501-9f2c4e1a7b',
  },
  'Approval Requested': {
    incidentId: 'inc-20240501-9f2c4e1a7b',
    severity: 'SEV2',
    service: 'inventory-service',
    title: 'Response time degradation on inventory-service',
    risk: 'medium',
    summary: 'Revert CR2077 (HikariCP maximum-pool-size 10 → 20) and roll the pods',
    channel: 'retool',
    requestedAt: '2024-05-01T12:14:00.000Z',
    expiresAt: '2024-05-01T13:14:00.000Z',
    actions: [{ kind: 'revert-config', service: 'inventory-service', target: 'CR2077', description: 'maximum-pool-size back to 20', risk: 'medium', reversible: true }],
  },
  'Mitigation Executed': {
    incidentId: 'inc-20240501-9f2c4e1a7b',
    service: 'inventory-service',
    executedAt: '2024-05-01T12:20:00.000Z',
    actions: [{ kind: 'revert-config', service: 'inventory-service', target: 'CR2077', status: 'succeeded', detail: 'pool size 20, rolling restart done', executedAt: '2024-05-01T12:20:00.000Z' }],
  },
  'Incident Resolved': {
    incidentId: 'inc-20240501-9f2c4e1a7b',
    status: 'RESOLVED',
    severity: 'SEV2',
    service: 'inventory-service',
    title: 'Response time degradation on inventory-service',
    outcome: 'resolved',
    rootCause: { summary: 'CR2077 reduced the HikariCP pool from 20 to 10 under flash-sale load', changeId: 'CR2077', confidence: 0.93 },
    durationSeconds: 1560,
    reportLocation: 'dynamodb://incident-autopilot/INCIDENT#inc-20240501-9f2c4e1a7b/AGENT#report',
  },
  'Incident Escalated': {
    incidentId: 'inc-20240501-9f2c4e1a7b',
    status: 'ESCALATED',
    severity: 'SEV2',
    service: 'inventory-service',
    title: 'Response time degradation on inventory-service',
    outcome: 'rejected',
    durationSeconds: 900,
    reportLocation: '.autopilot/reports/inc-20240501-9f2c4e1a7b.md',
  },
  'Incident Failed': { incidentId: 'inc-20240501-9f2c4e1a7b', error: 'States.TaskFailed', cause: 'find-root-cause timed out' },
  'Resolution Recorded': {
    incidentId: 'inc-20240501-9f2c4e1a7b',
    status: 'RESOLVED',
    statusBefore: 'ESCALATED',
    severity: 'SEV2',
    service: 'inventory-service',
    title: 'Response time degradation on inventory-service',
    resolvedBy: 'james.wu',
    resolvedAt: '2024-05-01T13:02:00.000Z',
    cause: { service: 'inventory-service', category: 'connection-pool', change: 'CR2077', summary: 'CR2077 halved the HikariCP pool under flash-sale load' },
    fix: 'Reverted CR2077 (maximum-pool-size back to 20)',
    grade: { graded: true, matched: true },
  },
};

describe('unit: event schemas', () => {
  it('has exactly one JSON Schema file per detail-type', () => {
    const files = readdirSync(new URL('../../../events/schemas/', import.meta.url)).filter((f) => f.endsWith('.json')).sort();
    expect(files).toEqual(DETAIL_TYPES.map(schemaFileName).sort());
  });

  it.each(DETAIL_TYPES)('%s: the schema is draft 2020-12 with a title matching the detail-type', (detailType) => {
    expect(detailSchema(detailType)).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', title: detailType, type: 'object' });
  });

  it.each(DETAIL_TYPES)('%s: the sample detail validates', (detailType) => {
    expect(validateDetail(detailType, SAMPLES[detailType])).toEqual({ ok: true });
  });

  it.each(DETAIL_TYPES)('%s: a detail without incidentId is rejected naming the field', (detailType) => {
    const { incidentId: _, ...rest } = SAMPLES[detailType];
    const result = validateDetail(detailType, rest);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toEqual(expect.arrayContaining([expect.stringMatching(/^incidentId: /)]));
  });

  it('rejects a resolved detail with a wrong status, a confidence above 1 and no report location', () => {
    const { reportLocation: _, ...rest } = SAMPLES['Incident Resolved'];
    const result = validateDetail('Incident Resolved', { ...rest, status: 'ESCALATED', rootCause: { summary: 's', confidence: 1.5 } });
    expect(!result.ok && result.problems).toEqual(
      expect.arrayContaining([expect.stringMatching(/^status: /), expect.stringMatching(/^rootCause\.confidence: /), expect.stringMatching(/^reportLocation: /)]),
    );
  });

  it('rejects an Approval Requested detail that leaks the task token', () => {
    const result = validateDetail('Approval Requested', { ...SAMPLES['Approval Requested'], taskToken: 'AAAA' });
    expect(!result.ok && result.problems).toEqual([expect.stringMatching(/^taskToken: /)]);
  });

  it('rejects timestamps that are not ISO 8601', () => {
    const result = validateDetail('Incident Opened', { ...SAMPLES['Incident Opened'], createdAt: 'yesterday' });
    expect(!result.ok && result.problems).toEqual([expect.stringMatching(/^createdAt: /)]);
  });

  it('the Incident Opened detail ingest builds validates', async () => {
    const store = new MemoryIncidentStore();
    const { incident } = await store.recordAlert(alertFixture(), {}, () => 'inc-opened');
    expect(validateDetail('Incident Opened', openedDetail(incident, 'arn:aws:states:us-east-1:1:execution:sm:inc-opened'))).toEqual({ ok: true });
  });
});

describe('unit: EventBridgePublisher', () => {
  const eventBridge = mockClient(EventBridgeClient);
  beforeEach(() => {
    eventBridge.reset();
  });

  it('puts one entry with the system source, the detail-type and the JSON detail on the bus', async () => {
    // Prepare
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    const publisher = new EventBridgePublisher(new EventBridgeClient({ region: 'us-east-1' }), 'incident-autopilot');
    // Act
    await publisher.publish('Incident Failed', SAMPLES['Incident Failed']);
    // Assess
    expect(eventBridge.commandCalls(PutEventsCommand)[0].args[0].input).toEqual({
      Entries: [{ EventBusName: 'incident-autopilot', Source: EVENT_SOURCE, DetailType: 'Incident Failed', Detail: JSON.stringify(SAMPLES['Incident Failed']) }],
    });
  });

  it('fails loudly when EventBridge rejects the entry', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] });
    const publisher = new EventBridgePublisher(new EventBridgeClient({ region: 'us-east-1' }), 'bus');
    const error = await publisher.publish('Incident Opened', SAMPLES['Incident Opened']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventPublishFailed);
    expect((error as Error).message).toBe('EventBridge rejected "Incident Opened": InternalFailure (try again)');
  });
});

describe('unit: MemoryEventPublisher', () => {
  it('records published events as JSON copies', async () => {
    const publisher = new MemoryEventPublisher();
    const detail = { incidentId: 'x', error: 'E', cause: 'C' };
    await publisher.publish('Incident Failed', detail);
    detail.cause = 'changed';
    expect(publisher.events).toEqual([{ source: EVENT_SOURCE, detailType: 'Incident Failed', detail: { incidentId: 'x', error: 'E', cause: 'C' } }]);
    expect(publisher.ofType('Incident Failed')).toHaveLength(1);
  });

  it('with validate: true refuses a detail that does not match its schema', async () => {
    const publisher = new MemoryEventPublisher({ validate: true });
    await expect(publisher.publish('Incident Failed', { incidentId: 'x' })).rejects.toBeInstanceOf(InvalidEventDetail);
    expect(publisher.events).toHaveLength(0);
  });
});
