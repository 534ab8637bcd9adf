import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { EVENT_SOURCE } from '../../functions/registry.ts';
import { SECRET_HEADER } from '../../functions/registry.ts';
import { executionTimeout, InvalidSettingError, resolveSettings } from '../../lib/incident-autopilot-stack.ts';
import { TABLE_SCHEMA } from '../../lib/table-schema.ts';
import { arnOf, ref, resourceOf, SYNTH_TIMEOUT_MS, synthStack, type Synth } from './fixture.ts';

let synth: Synth;
beforeAll(() => {
  synth = synthStack();
}, SYNTH_TIMEOUT_MS);

const table = () => resourceOf(synth, synth.stack.store.table);

describe('IncidentStore', () => {
  it('is one on-demand table with string keys pk and sk', () => {
    synth.template.resourceCountIs('AWS::DynamoDB::Table', 1);
    expect(table().Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
    expect(table().Properties.AttributeDefinitions).toEqual(expect.arrayContaining([
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ]));
  });

  it('lists incidents by status through the byStatus index, projecting everything', () => {
    expect(table().Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'byStatus',
        KeySchema: [
          { AttributeName: 'gsi1pk', KeyType: 'HASH' },
          { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
    expect(TABLE_SCHEMA.byStatusIndex).toEqual({ name: 'byStatus', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' });
  });

  it('expires items on expiresAt', () => {
    expect(table().Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  it('has point-in-time recovery on', () => {
    expect(table().Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  it('encrypts with the AWS-managed key', () => {
    expect(table().Properties.SSESpecification).toEqual({ SSEEnabled: true });
  });

  it('is retained when it leaves the stack', () => {
    expect(table().DeletionPolicy).toBe('Retain');
  });
});

describe('IncidentEvents', () => {
  it('creates the incident-autopilot bus', () => {
    synth.template.hasResourceProperties('AWS::Events::EventBus', { Name: 'incident-autopilot' });
  });

  it('archives what the system publishes on it', () => {
    synth.template.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: arnOf(synth.stack.events.eventBus),
      EventPattern: { source: [EVENT_SOURCE] },
      RetentionDays: 30,
    });
  });

  it('matches CloudWatch alarms entering ALARM on the default bus', () => {
    const rule = resourceOf(synth, synth.stack.events.cloudWatchAlarmRule).Properties;
    expect(rule.EventBusName).toBeUndefined();
    expect(rule.EventPattern).toEqual({
      source: ['aws.cloudwatch'],
      'detail-type': ['CloudWatch Alarm State Change'],
      detail: { state: { value: ['ALARM'] } },
    });
  });

  it('forwards them to POST /alerts/cloudwatch on this API', () => {
    synth.template.hasResourceProperties('AWS::Events::ApiDestination', {
      HttpMethod: 'POST',
      InvocationEndpoint: { 'Fn::Join': ['', Match.arrayWith([ref(synth.stack.api.httpApi), '/alerts/cloudwatch'])] },
    });
  });

  it('authenticates the forwarding with the webhook secret in the shared header', () => {
    synth.template.hasResourceProperties('AWS::Events::Connection', {
      AuthorizationType: 'API_KEY',
      AuthParameters: {
        ApiKeyAuthParameters: {
          ApiKeyName: SECRET_HEADER,
          ApiKeyValue: { 'Fn::Join': ['', ['{{resolve:secretsmanager:', ref(synth.stack.webhookSecret), ':SecretString:::}}']] },
        },
      },
    });
  });

  it('retries and dead-letters what the webhook does not take', () => {
    const target = (resourceOf(synth, synth.stack.events.cloudWatchAlarmRule).Properties.Targets as Record<string, unknown>[])[0];
    expect(target).toMatchObject({
      DeadLetterConfig: { Arn: arnOf(synth.stack.events.alarmDeadLetterQueue!) },
      RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
    });
  });
});

describe('stack settings', () => {
  it('applies the documented defaults', () => {
    expect(resolveSettings({})).toEqual({ approvalTimeoutSeconds: 3600, verifyWaitSeconds: 120, maxVerifyChecks: 5, retoolWorkflowUrl: undefined });
  });

  it.each([
    [{ approvalTimeoutSeconds: 10 }, 'approvalTimeoutSeconds'],
    [{ approvalTimeoutSeconds: 1.5 }, 'approvalTimeoutSeconds'],
    [{ verifyWaitSeconds: -1 }, 'verifyWaitSeconds'],
    [{ maxVerifyChecks: 0 }, 'maxVerifyChecks'],
    [{ maxVerifyChecks: 21 }, 'maxVerifyChecks'],
    [{ retoolWorkflowUrl: 'http://insecure.example' }, 'retoolWorkflowUrl'],
  ])('rejects %o naming %s', (props, field) => {
    expect(() => resolveSettings(props)).toThrow(InvalidSettingError);
    expect(() => resolveSettings(props)).toThrow(field);
  });

  it('bounds an execution by the approval wait, the recovery checks and an agent budget', () => {
    const timeout = executionTimeout({ approvalTimeoutSeconds: 3600, verifyWaitSeconds: 120, maxVerifyChecks: 5 });
    // five checks and the grace check a last "not yet" earns
    expect(timeout.toSeconds()).toBe(Duration.hours(1).toSeconds() + 6 * 240 + 1800);
  });
});
