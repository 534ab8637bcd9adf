/**
 * One EventBridge Scheduler schedule that invokes one registry function at a fixed rate: what the opening sweeper
 * (lib/opening-sweeper.ts) and the anomaly detector (lib/anomaly-detector.ts) both are.
 *
 * The schedule assumes a role of its own that may invoke exactly that function, on its unqualified ARN (the one the
 * target names; the L2 LambdaInvoke target would also grant `<arn>:*`), and that only this account's schedules of the
 * default schedule group may assume (confused-deputy protection). No retries and a one-rate maximum event age: each run
 * does its work anew, so a failed or skipped run is simply the next one's, and runs do not pile up behind an outage.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ISchedule, type IScheduleTarget, Schedule, ScheduleExpression, type ScheduleTargetConfig, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import type { Construct } from 'constructs';

/** Invokes the function on its unqualified ARN with a role granted exactly that. */
class InvokeFunction implements IScheduleTarget {
  readonly #fn: IFunction;
  readonly #role: Role;
  readonly #input: Record<string, unknown>;
  readonly #maxEventAge: Duration;
  constructor(fn: IFunction, role: Role, input: Record<string, unknown>, maxEventAge: Duration) {
    this.#fn = fn;
    this.#role = role;
    this.#input = input;
    this.#maxEventAge = maxEventAge;
  }

  bind(_schedule: ISchedule): ScheduleTargetConfig {
    return {
      arn: this.#fn.functionArn,
      role: this.#role,
      input: ScheduleTargetInput.fromObject(this.#input),
      retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: this.#maxEventAge.toSeconds() },
    };
  }
}

export interface FunctionScheduleProps {
  readonly function: IFunction;
  /** What each invocation receives (the registry's schedule input of that function). */
  readonly input: Record<string, unknown>;
  /** Whole minutes between two runs; the caller has checked its own bounds. */
  readonly rateMinutes: number;
  /** What the role is for, and what the schedule does (their descriptions in the console). */
  readonly roleDescription: string;
  readonly scheduleDescription: string;
}

/** The role (`InvokeRole`) and the schedule (`Schedule`), created in `scope`. */
export const scheduleFunction = (scope: Construct, props: FunctionScheduleProps): { role: Role; schedule: Schedule } => {
  const stack = Stack.of(scope);
  const role = new Role(scope, 'InvokeRole', {
    description: props.roleDescription,
    assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
      conditions: {
        StringEquals: {
          'aws:SourceAccount': stack.account,
          'aws:SourceArn': stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default' }),
        },
      },
    }),
  });
  role.addToPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [props.function.functionArn] }));
  // Scheduler's minimum event age is 60 s; a run older than one period is superseded by the next.
  const maxEventAge = Duration.minutes(Math.max(1, props.rateMinutes));
  const schedule = new Schedule(scope, 'Schedule', {
    description: props.scheduleDescription,
    schedule: ScheduleExpression.rate(Duration.minutes(props.rateMinutes)),
    target: new InvokeFunction(props.function, role, props.input, maxEventAge),
  });
  return { role, schedule };
};
