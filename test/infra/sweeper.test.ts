/**
 * The opening sweeper on AWS: its EventBridge Scheduler schedule (rate, target, input, no retries), the role the
 * schedule invokes it as (lambda:InvokeFunction on exactly that function), and the function's own grants, each on
 * exactly the resource and actions the opening journal needs.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { OPENING_LEASE_MS } from '../../functions/core/intake/opening.ts';
import { functionSpec, SWEEP_SCHEDULE_INPUT } from '../../functions/registry.ts';
import { TABLE_SCHEMA } from '../../lib/table-schema.ts';
import { DEFAULT_SWEEP_RATE_MINUTES, SweepRateInvalid } from '../../lib/opening-sweeper.ts';
import { actionsAllowed, arnOf, ref, resourceOf, resourcesAllowed, statementsOfRole, SYNTH_TIMEOUT_MS, synthStack, type Synth } from './fixture.ts';

let synth: Synth;
beforeAll(() => {
  synth = synthStack();
}, SYNTH_TIMEOUT_MS);

const sweeperFn = () => synth.stack.functions.get('sweep-openings');
const sweeperStatements = () => statementsOfRole(synth, sweeperFn().role!);

describe('OpeningSweeper schedule', () => {
  it('invokes sweep-openings every 5 minutes by default, with its input, as its own role, without retries', () => {
    synth.template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    synth.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: `rate(${DEFAULT_SWEEP_RATE_MINUTES} minutes)`,
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: arnOf(sweeperFn()),
        RoleArn: arnOf(synth.stack.openingSweeper.role),
        Input: JSON.stringify(SWEEP_SCHEDULE_INPUT),
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: DEFAULT_SWEEP_RATE_MINUTES * 60 },
      },
    });
  });

  it('takes the rate from openingSweepRateMinutes', () => {
    const custom = synthStack({ openingSweepRateMinutes: 2 });
    custom.template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(2 minutes)', Target: Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 120 } }) });
  }, SYNTH_TIMEOUT_MS);

  it.each([0, -5, 1.5, 1441])('refuses openingSweepRateMinutes %s with an error naming the setting', (minutes) => {
    expect(() => synthStack({ openingSweepRateMinutes: minutes })).toThrow(SweepRateInvalid);
    expect(() => synthStack({ openingSweepRateMinutes: minutes })).toThrow(/openingSweepRateMinutes must be an integer from 1 to 1440/);
  }, SYNTH_TIMEOUT_MS);

  it('lets only EventBridge Scheduler, for this account’s default schedule group, assume the invoke role', () => {
    const role = resourceOf(synth, synth.stack.openingSweeper.role);
    expect(role.Properties.AssumeRolePolicyDocument).toMatchObject({
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' }, 'aws:SourceArn': expect.anything() } },
        },
      ],
    });
    expect(JSON.stringify(role.Properties.AssumeRolePolicyDocument)).toContain(':schedule-group/default');
  });

  it('grants the invoke role lambda:InvokeFunction on exactly the sweeper function, and nothing else', () => {
    synth.template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [ref(synth.stack.openingSweeper.role)],
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: arnOf(sweeperFn()) }] },
    });
    const statements = statementsOfRole(synth, synth.stack.openingSweeper.role);
    expect([...actionsAllowed(statements)]).toEqual(['lambda:InvokeFunction']);
    expect(resourcesAllowed(statements, 'lambda:InvokeFunction')).toEqual([arnOf(sweeperFn())]);
  });
});

describe('sweep-openings function', () => {
  it('runs no longer than the opening claim’s lease, so a live sweeper is never overtaken', () => {
    expect(functionSpec('sweep-openings').timeoutSeconds * 1000).toBeLessThanOrEqual(OPENING_LEASE_MS);
    expect(resourceOf(synth, sweeperFn()).Properties.Timeout).toBe(functionSpec('sweep-openings').timeoutSeconds);
  });

  it('may Get, Put and Update items of the incident table and Query its status index, and no other DynamoDB action', () => {
    synth.template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [ref(sweeperFn().role!)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: arnOf(synth.stack.store.table) },
          { Effect: 'Allow', Action: 'dynamodb:Query', Resource: { 'Fn::Join': ['', [arnOf(synth.stack.store.table), `/index/${TABLE_SCHEMA.byStatusIndex.name}`]] } },
        ]),
      },
    });
    const dynamo = [...actionsAllowed(sweeperStatements())].filter((a) => a.startsWith('dynamodb:')).sort();
    expect(dynamo).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
  });

  it('may start executions of the incident workflow only (no DescribeExecution), and knows its ARN', () => {
    synth.template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [ref(sweeperFn().role!)],
      PolicyDocument: { Statement: Match.arrayWith([{ Effect: 'Allow', Action: 'states:StartExecution', Resource: ref(synth.stack.workflow.stateMachine) }]) },
    });
    expect([...actionsAllowed(sweeperStatements())].filter((a) => a.startsWith('states:'))).toEqual(['states:StartExecution']);
    const env = (resourceOf(synth, sweeperFn()).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.STATE_MACHINE_ARN).toEqual(ref(synth.stack.workflow.stateMachine));
  });

  it('may put events on the incident bus only', () => {
    synth.template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [ref(sweeperFn().role!)],
      PolicyDocument: { Statement: Match.arrayWith([{ Effect: 'Allow', Action: 'events:PutEvents', Resource: arnOf(synth.stack.events.eventBus) }]) },
    });
    expect(resourcesAllowed(sweeperStatements(), 'events:PutEvents')).toEqual([arnOf(synth.stack.events.eventBus)]);
  });

  it('reads no secret and answers no task token', () => {
    const actions = [...actionsAllowed(sweeperStatements())];
    expect(actions.filter((a) => /^(secretsmanager|ssm|iam):|^states:Send/.test(a))).toEqual([]);
  });
});
