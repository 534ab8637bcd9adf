/**
 * The anomaly detector on AWS: its EventBridge Scheduler schedule exists only with `detectorTargets` (rate, target,
 * input, no retries, its own invoke role), the targets reach the function as DETECTOR_TARGETS (checked at synth), and
 * the function's grants: the intake's (table, StartExecution, SendTaskFailure, PutEvents) and the telemetry tools'
 * (here the aws rows: CloudWatch and X-Ray reads), not the other ports'.
 */
import { readFileSync } from 'node:fs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { DETECT_SCHEDULE_INPUT, functionSpec } from '../../functions/registry.ts';
import { OPENING_LEASE_MS } from '../../functions/core/intake/opening.ts';
import { InvalidSettingError } from '../../lib/incident-autopilot-stack.ts';
import { actionsAllowed, arnOf, ref, resourceOf, resourcesAllowed, statementsOfRole, SYNTH_TIMEOUT_MS, synthStack, type Synth } from './fixture.ts';

const TARGETS = [{ environment: 'prod', services: ['checkout', 'payments'], slo: { objectivePct: 99.9 } }];

let plain: Synth;
let watching: Synth;
beforeAll(() => {
  plain = synthStack();
  watching = synthStack({ detectorTargets: TARGETS, tools: 'aws' });
}, 2 * SYNTH_TIMEOUT_MS);

const detectorFn = (s: Synth) => s.stack.functions.get('detect-anomalies');
const envOf = (s: Synth) => (resourceOf(s, detectorFn(s)).Properties.Environment as { Variables: Record<string, unknown> }).Variables;

describe('AnomalyDetector schedule', () => {
  it('is not created without detectorTargets (the function exists and has nothing to do)', () => {
    expect(plain.stack.anomalyDetector).toBeUndefined();
    plain.template.resourceCountIs('AWS::Scheduler::Schedule', 1); // the opening sweeper's
    expect(envOf(plain).DETECTOR_TARGETS).toBeUndefined();
  });

  it('invokes detect-anomalies every minute by default, with its input, as its own role, without retries', () => {
    watching.template.resourceCountIs('AWS::Scheduler::Schedule', 2);
    watching.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: arnOf(detectorFn(watching)),
        RoleArn: arnOf(watching.stack.anomalyDetector!.role),
        Input: JSON.stringify(DETECT_SCHEDULE_INPUT),
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
      },
    });
  });

  it('grants its invoke role lambda:InvokeFunction on exactly the detector function, assumable by this account’s schedules only', () => {
    const statements = statementsOfRole(watching, watching.stack.anomalyDetector!.role);
    expect([...actionsAllowed(statements)]).toEqual(['lambda:InvokeFunction']);
    expect(resourcesAllowed(statements, 'lambda:InvokeFunction')).toEqual([arnOf(detectorFn(watching))]);
    const role = resourceOf(watching, watching.stack.anomalyDetector!.role);
    expect(JSON.stringify(role.Properties.AssumeRolePolicyDocument)).toContain(':schedule-group/default');
    expect(role.Properties.AssumeRolePolicyDocument).toMatchObject({ Statement: [{ Principal: { Service: 'scheduler.amazonaws.com' } }] });
  });

  it('gives the function its targets as DETECTOR_TARGETS, and the tools’ environment', () => {
    expect(JSON.parse(String(envOf(watching).DETECTOR_TARGETS))).toEqual(TARGETS);
    expect(envOf(watching).TOOLS_DEFAULT).toBe('aws');
    expect(envOf(watching).STATE_MACHINE_ARN).toEqual(ref(watching.stack.workflow.stateMachine));
  });

  it('is cdk-nag clean with its grants (the telemetry reads that have no resource-level permissions are acknowledged as the agents’ are)', () => {
    const findings = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(watching.app).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`));
    expect(findings).toEqual([]);
  });

  it('sends what events/scheduled/detect-anomalies.json holds (the sample the twin’s handler test invokes)', () => {
    expect(JSON.parse(readFileSync(new URL('../../events/scheduled/detect-anomalies.json', import.meta.url), 'utf8'))).toEqual(DETECT_SCHEDULE_INPUT);
  });

  it('takes the rate from detectorRateMinutes', () => {
    const custom = synthStack({ detectorTargets: [{ environment: 'prod' }], detectorRateMinutes: 5 });
    custom.template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(5 minutes)', Target: { RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300 } } });
  }, SYNTH_TIMEOUT_MS);

  it.each([
    [{ detectorTargets: [{ environment: '' }] }, /detectorTargets: 0\.environment: /],
    [{ detectorTargets: [{ environment: 'a' }, { environment: 'a' }] }, /detectorTargets: 1\.environment: environment "a" is listed twice/],
    [{ detectorTargets: [{ environment: 'a' }], detectorRateMinutes: 0 }, /detectorRateMinutes must be an integer from 1 to 60, got 0/],
    [{ detectorRateMinutes: 2 }, /detectorRateMinutes needs detectorTargets/],
  ])('refuses %j at synth, naming the setting', (props, message) => {
    expect(() => synthStack(props as never)).toThrow(InvalidSettingError);
    expect(() => synthStack(props as never)).toThrow(message);
  }, SYNTH_TIMEOUT_MS);
});

describe('detect-anomalies function', () => {
  const statements = () => statementsOfRole(watching, detectorFn(watching).role!);

  it('runs under a minute (its rate) and never outlives the opening claim’s lease', () => {
    expect(functionSpec('detect-anomalies').timeoutSeconds).toBeLessThan(60);
    expect(functionSpec('detect-anomalies').timeoutSeconds * 1000).toBeLessThanOrEqual(OPENING_LEASE_MS);
  });

  it('has the intake’s grants: the table, StartExecution, SendTaskFailure (withdrawing an approval) and PutEvents on the incident bus', () => {
    const actions = actionsAllowed(statements());
    for (const a of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:Query', 'states:StartExecution', 'states:SendTaskFailure', 'events:PutEvents']) expect(actions, a).toContain(a);
    expect(resourcesAllowed(statements(), 'events:PutEvents')).toEqual([arnOf(watching.stack.events.eventBus)]);
    expect(resourcesAllowed(statements(), 'states:StartExecution')).toEqual([ref(watching.stack.workflow.stateMachine)]);
  });

  it('has the telemetry tools’ grants (CloudWatch metrics, the X-Ray service graph) and not the other ports’ (logs, changes)', () => {
    const actions = actionsAllowed(statements());
    expect(actions).toContain('cloudwatch:GetMetricData');
    expect(actions).toContain('xray:GetServiceGraph');
    expect([...actions].filter((a) => /^(logs:StartQuery|cloudtrail:|codedeploy:|appconfig:|ssm:StartAutomation)/.test(a))).toEqual([]);
    expect([...actions].filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
  });
});
