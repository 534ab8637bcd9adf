/**
 * `OpeningSweeper`: the EventBridge Scheduler schedule that runs the opening sweeper (functions/sweep-openings) at a
 * fixed rate (lib/function-schedule.ts: a role that may invoke exactly that function, no retries).
 *
 * No retries and a one-rate maximum event age: a sweep that failed or was skipped is simply the next run's, and
 * sweeps do not pile up behind an outage. Overlapping runs are safe (every write of a sweep is conditional on the
 * opening journal), so nothing limits the function's concurrency.
 */
import type { Role } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Schedule } from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { scheduleFunction } from './function-schedule.ts';
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
    ({ role: this.role, schedule: this.schedule } = scheduleFunction(this, {
      function: props.function,
      input: SWEEP_SCHEDULE_INPUT,
      rateMinutes: minutes,
      roleDescription: 'Incident Autopilot: EventBridge Scheduler invokes the opening sweeper',
      scheduleDescription: `Incident Autopilot: every ${minutes} min, complete the openings no delivery came back to (functions/sweep-openings)`,
    }));
  }
}
