/**
 * `OpeningSweeper`: the EventBridge Scheduler schedule that runs the opening sweeper (functions/sweep-openings) at a
 * fixed rate. The schedule assumes a role of its own that may invoke exactly that function, on its unqualified ARN
 * (the one the target names), and that only schedules of this account's default schedule group may assume.
 *
 * No retries and a one-rate maximum event age: a sweep that failed or was skipped is simply the next run's, and
 * sweeps do not pile up behind an outage. Overlapping runs are safe (every write of a sweep is conditional on the
 * opening journal), so nothing limits the function's concurrency.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ISchedule, type IScheduleTarget, Schedule, ScheduleExpression, type ScheduleTargetConfig, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { SWEEP_SCHEDULE_INPUT } from '../functions/registry.ts';

/** Every 5 minutes: an interrupted opening is completed at most a lease (1 min) plus this long after it was left. */
export const DEFAULT_SWEEP_RATE_MINUTES = 5;
/** Scheduler's rate bounds this stack accepts: every minute to once a day. */
export const MIN_SWEEP_RATE_MINUTES = 1;
export const MAX_SWEEP_RATE_MINUTES = 24 * 60;


export class SweepRateInvalid extends Error {
  override name = 'SweepRateInvalid';
}

export interface OpeningSweeperProps {
  /** The sweep-openings function of the registry. */
  readonly function: IFunction;
  /**
   * Minutes between two sweeps (`openingSweepRateMinutes` on the stack).
   * @default DEFAULT_SWEEP_RATE_MINUTES (5)
   */
  readonly rateMinutes?: number;
}

/** Invokes the function on its unqualified ARN with a role granted exactly that (the L2 LambdaInvoke also grants `<arn>:*`). */
class InvokeFunction implements IScheduleTarget {
  readonly #fn: IFunction;
  readonly #role: Role;
  readonly #maxEventAge: Duration;
  constructor(fn: IFunction, role: Role, maxEventAge: Duration) {
    this.#fn = fn;
    this.#role = role;
    this.#maxEventAge = maxEventAge;
  }

  bind(_schedule: ISchedule): ScheduleTargetConfig {
    return {
      arn: this.#fn.functionArn,
      role: this.#role,
      input: ScheduleTargetInput.fromObject(SWEEP_SCHEDULE_INPUT),
      retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: this.#maxEventAge.toSeconds() },
    };
  }
}

export class OpeningSweeper extends Construct {
  public readonly schedule: Schedule;
  /** The role the schedule invokes the function as. */
  public readonly role: Role;
  public readonly rateMinutes: number;

  constructor(scope: Construct, id: string, props: OpeningSweeperProps) {
    super(scope, id);
    const minutes = props.rateMinutes ?? DEFAULT_SWEEP_RATE_MINUTES;
    if (!Number.isInteger(minutes) || minutes < MIN_SWEEP_RATE_MINUTES || minutes > MAX_SWEEP_RATE_MINUTES) {
      throw new SweepRateInvalid(`openingSweepRateMinutes must be an integer from ${MIN_SWEEP_RATE_MINUTES} to ${MAX_SWEEP_RATE_MINUTES}, got ${minutes}`);
    }
    this.rateMinutes = minutes;
    const stack = Stack.of(this);
    this.role = new Role(this, 'InvokeRole', {
      description: 'Incident Autopilot: EventBridge Scheduler invokes the opening sweeper',
      // Only this account's schedules of the default group may assume it (confused-deputy protection).
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default' }),
          },
        },
      }),
    });
    this.role.addToPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [props.function.functionArn] }));
    // Scheduler's minimum event age is 60 s; a sweep older than one period is superseded by the next.
    const maxEventAge = Duration.minutes(Math.max(1, minutes));
    this.schedule = new Schedule(this, 'Schedule', {
      description: `Incident Autopilot: every ${minutes} min, complete the openings no delivery came back to (functions/sweep-openings)`,
      schedule: ScheduleExpression.rate(Duration.minutes(minutes)),
      target: new InvokeFunction(props.function, this.role, maxEventAge),
    });
  }
}
