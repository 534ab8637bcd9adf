/**
 * `AnomalyDetector`: the EventBridge Scheduler schedule that runs the anomaly detector (functions/detect-anomalies) at
 * a fixed rate — every minute by default, the detector's grain — with the targets it watches (DETECTOR_TARGETS on the
 * function, checked here at synth by the function's own schema, naming `detectorTargets`).
 *
 * The stack creates it only when targets are configured: with none, the function has nothing to do, and a schedule
 * invoking it every minute would be a cost and a log line a minute for nothing. The function exists either way (it
 * is in the registry); without DETECTOR_TARGETS a run does nothing.
 *
 * As the opening sweeper's: the schedule assumes a role of its own that may invoke exactly that function, on its
 * unqualified ARN, and that only this account's default schedule group may assume; no retries and a one-rate maximum
 * event age, because each run scores the last minutes anew (a missed run is the next one's, and runs do not pile up
 * behind an outage). Overlapping runs are safe: the intake is idempotent and its writes conditional.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ISchedule, type IScheduleTarget, Schedule, ScheduleExpression, type ScheduleTargetConfig, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { DETECTOR_TARGETS, type DetectorTarget, DetectorTargets } from '../functions/detect-anomalies/core.ts';
import { DETECT_SCHEDULE_INPUT } from '../functions/registry.ts';

/** Every minute: the detector scores one-minute points, and a detection needs a few of them. */
export const DEFAULT_DETECT_RATE_MINUTES = 1;
export const MIN_DETECT_RATE_MINUTES = 1;
export const MAX_DETECT_RATE_MINUTES = 60;

export class DetectorSettingInvalid extends Error {
  override name = 'DetectorSettingInvalid';
}

/** The targets, checked as the function will parse them at cold start; the error names the stack prop. */
export const checkDetectorTargets = (targets: readonly DetectorTarget[]): DetectorTarget[] => {
  const parsed = DetectorTargets.safeParse(targets);
  if (!parsed.success) throw new DetectorSettingInvalid(`detectorTargets: ${parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(list)'}: ${i.message}`).join('; ')}`);
  return parsed.data;
};

export interface AnomalyDetectorProps {
  /** The detect-anomalies function of the registry. */
  readonly function: IFunction & { addEnvironment(key: string, value: string): unknown };
  /** What it watches (at least one target). */
  readonly targets: readonly DetectorTarget[];
  /**
   * Minutes between two runs (`detectorRateMinutes` on the stack), 1 to 60.
   * @default DEFAULT_DETECT_RATE_MINUTES (1)
   */
  readonly rateMinutes?: number;
}

/** Invokes the function on its unqualified ARN with a role granted exactly that. */
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
      input: ScheduleTargetInput.fromObject(DETECT_SCHEDULE_INPUT),
      retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: this.#maxEventAge.toSeconds() },
    };
  }
}

export class AnomalyDetector extends Construct {
  public readonly schedule: Schedule;
  /** The role the schedule invokes the function as. */
  public readonly role: Role;
  public readonly rateMinutes: number;
  public readonly targets: readonly DetectorTarget[];

  constructor(scope: Construct, id: string, props: AnomalyDetectorProps) {
    super(scope, id);
    const minutes = props.rateMinutes ?? DEFAULT_DETECT_RATE_MINUTES;
    if (!Number.isInteger(minutes) || minutes < MIN_DETECT_RATE_MINUTES || minutes > MAX_DETECT_RATE_MINUTES) {
      throw new DetectorSettingInvalid(`detectorRateMinutes must be an integer from ${MIN_DETECT_RATE_MINUTES} to ${MAX_DETECT_RATE_MINUTES}, got ${minutes}`);
    }
    const targets = checkDetectorTargets(props.targets);
    if (targets.length === 0) throw new DetectorSettingInvalid('detectorTargets: give at least one target (or no detector)');
    this.rateMinutes = minutes;
    this.targets = targets;
    props.function.addEnvironment(DETECTOR_TARGETS, JSON.stringify(targets));
    const stack = Stack.of(this);
    this.role = new Role(this, 'InvokeRole', {
      description: 'Incident Autopilot: EventBridge Scheduler invokes the anomaly detector',
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
    // Scheduler's minimum event age is 60 s; a run older than one period is superseded by the next.
    const maxEventAge = Duration.minutes(Math.max(1, minutes));
    this.schedule = new Schedule(this, 'Schedule', {
      description: `Incident Autopilot: every ${minutes} min, score the watched services and open incidents on anomalies (functions/detect-anomalies)`,
      schedule: ScheduleExpression.rate(Duration.minutes(minutes)),
      target: new InvokeFunction(props.function, this.role, maxEventAge),
    });
  }
}
