/**
 * `AnomalyDetector`: the EventBridge Scheduler schedule that runs the anomaly detector (functions/detect-anomalies) at
 * a fixed rate — every minute by default, the detector's grain — with the targets it watches (DETECTOR_TARGETS on the
 * function, checked here at synth by the function's own schema, naming `detectorTargets`).
 *
 * The stack creates it only when targets are configured: with none, the function has nothing to do, and a schedule
 * invoking it every minute would be a cost and a log line a minute for nothing. The function exists either way (it
 * is in the registry); without DETECTOR_TARGETS a run does nothing.
 *
 * As the opening sweeper's (lib/function-schedule.ts): a role that may invoke exactly that function, no retries and a
 * one-rate maximum event age, because each run scores the last minutes anew (a missed run is the next one's). Overlapping runs are safe: the intake is idempotent and its writes conditional.
 */
import type { Role } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Schedule } from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { scheduleFunction } from './function-schedule.ts';
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
    ({ role: this.role, schedule: this.schedule } = scheduleFunction(this, {
      function: props.function,
      input: DETECT_SCHEDULE_INPUT,
      rateMinutes: minutes,
      roleDescription: 'Incident Autopilot: EventBridge Scheduler invokes the anomaly detector',
      scheduleDescription: `Incident Autopilot: every ${minutes} min, score the watched services and open incidents on anomalies (functions/detect-anomalies)`,
    }));
  }
}
