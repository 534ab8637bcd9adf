/**
 * The simulated world: a scenario anchored at a moment ("now" when the world is created), plus everything
 * that happened to it since (mitigation actions, incidents recorded into its history). The state is small
 * and plain JSON, so it fits one DynamoDB item; every metric, trace and log is derived from it on demand by
 * pure, deterministic functions (dynamics.ts, signals.ts). Agents never see this module — only what the tool
 * ports (tools/simulated.ts) return.
 */
import type { ActionKind } from '../model.ts';
import type { ActionResult, PastIncident } from '../tools/ports.ts';
import type { Scenario } from './scenario.ts';

export { metricSeries, snapshotAt, serviceMetricNames, METRIC_UNITS, type Snapshot, type ServiceState } from './dynamics.ts';
export { traces, logs, type TraceQuery, type LogQuery } from './signals.ts';
export { scenarioAlert, type ScenarioAlert } from './alert-payload.ts';

/** One action the world received (succeeded or failed), as stored. */
export interface WorldAction {
  readonly incidentId: string;
  readonly kind: ActionKind;
  readonly service: string;
  readonly target?: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly at: string;
  readonly status: ActionResult['status'];
  readonly detail: string;
  /** The change this action undid (a rollback, a config revert, a flag toggle). */
  readonly changeId?: string;
  /** scale-service: the capacity multiplier applied. */
  readonly factor?: number;
}

export interface WorldState {
  readonly id: string;
  /** The anchor: scenario minute 0. */
  readonly createdAt: string;
  /** Seconds a successful mitigation takes to show fully in the metrics (rollout, cache warm-up). */
  readonly recoveryLagSeconds: number;
  readonly scenario: Scenario;
  readonly actions: readonly WorldAction[];
  /** Incidents added to the history after the world was created (`recordIncident`). */
  readonly incidents: readonly PastIncident[];
}

export const DEFAULT_RECOVERY_LAG_SECONDS = 90;
/** World ids end up in DynamoDB keys and in alert tags (`environment:<id>`): keep them plain. */
export const WORLD_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export class InvalidWorldId extends Error {
  override name = 'InvalidWorldId';
  constructor(id: string) {
    super(`world id "${id}" is invalid: use letters, digits, ".", "_" or "-" (at most 64 characters)`);
  }
}

export const createWorld = (scenario: Scenario, opts: { id: string; now: Date; recoveryLagSeconds?: number }): WorldState => {
  if (!WORLD_ID.test(opts.id)) throw new InvalidWorldId(opts.id);
  return {
    id: opts.id,
    createdAt: opts.now.toISOString(),
    recoveryLagSeconds: opts.recoveryLagSeconds ?? DEFAULT_RECOVERY_LAG_SECONDS,
    scenario,
    actions: [],
    incidents: [],
  };
};

/** Scenario minutes → epoch milliseconds in this world. */
export const worldTime = (world: WorldState, minutes: number): number => Date.parse(world.createdAt) + minutes * 60_000;

/** What an executor asks the world to do. */
export interface ActionRequest {
  readonly kind: ActionKind;
  readonly service: string;
  readonly target?: string;
  readonly params?: Readonly<Record<string, unknown>>;
  readonly incidentId?: string;
}

export interface AppliedAction {
  readonly state: WorldState;
  readonly result: ActionResult;
  /** The record to store; undefined when the same action was already applied (an idempotent retry). */
  readonly record?: WorldAction;
}

type Outcome = Pick<WorldAction, 'status' | 'detail' | 'changeId' | 'factor'>;
type Handler = (world: WorldState, a: ActionRequest, at: number) => Outcome;

const failed = (detail: string): Outcome => ({ status: 'failed', detail });
const iso = (ms: number) => new Date(ms).toISOString();

/** Whether the change has been undone by an earlier successful action. */
const undoneBy = (world: WorldState, changeId: string): WorldAction | undefined =>
  world.actions.find((x) => x.status === 'succeeded' && x.changeId === changeId);

/** Undoes a change: the shared core of rollback, config revert and flag toggle. */
const undoChange = (world: WorldState, a: ActionRequest, at: number, changeId: string, verb: string): Outcome => {
  const change = world.scenario.changes.find((c) => c.id === changeId);
  if (!change) return failed(`change ${changeId} does not exist in environment ${world.id}`);
  if (change.service !== a.service) return failed(`change ${changeId} was made to ${change.service}, not ${a.service}`);
  if (worldTime(world, change.deployedAt) > at) return failed(`change ${changeId} is scheduled for ${iso(worldTime(world, change.deployedAt))} and not yet implemented`);
  const earlier = undoneBy(world, changeId);
  if (earlier) return { status: 'succeeded', detail: `change ${changeId} was already ${verb} at ${earlier.at}`, changeId };
  const what = change.version ? ` (${change.version.to} → ${change.version.from})` : change.configChange ? ` (${change.configChange.param} ${change.configChange.new} → ${change.configChange.old})` : '';
  return { status: 'succeeded', detail: `${verb} ${changeId} on ${change.service}${what}: ${change.rollbackPlan}`, changeId };
};

/** A lookup table of what each action kind does to the world. */
const HANDLERS: Record<ActionKind, Handler> = {
  'rollback-change': (w, a, at) => (a.target ? undoChange(w, a, at, a.target, 'rolled back') : failed('rollback-change needs a target change id')),
  'revert-config': (w, a, at) => {
    const change = [...w.scenario.changes]
      .filter((c) => c.service === a.service && c.configChange && (c.id === a.target || c.configChange.param === a.target || !a.target))
      .filter((c) => worldTime(w, c.deployedAt) <= at)
      .sort((x, y) => y.deployedAt - x.deployedAt)[0];
    if (!change) return failed(`no config change${a.target ? ` of ${a.target}` : ''} was made to ${a.service} in environment ${w.id}`);
    return undoChange(w, a, at, change.id, 'reverted');
  },
  'toggle-feature-flag': (w, a, at) => {
    const change = [...w.scenario.changes]
      .filter((c) => c.service === a.service && c.type === 'feature-flag' && (c.id === a.target || c.configChange?.param === a.target || !a.target))
      .filter((c) => worldTime(w, c.deployedAt) <= at)
      .sort((x, y) => y.deployedAt - x.deployedAt)[0];
    if (!change) return failed(`no feature flag${a.target ? ` ${a.target}` : ''} was changed on ${a.service} in environment ${w.id}`);
    return undoChange(w, a, at, change.id, 'toggled back');
  },
  'scale-service': (w, a) => {
    const spec = w.scenario.services.find((s) => s.name === a.service);
    const replicas = Number(a.params?.replicas);
    const factor = Number.isFinite(replicas) && replicas > 0 && spec ? replicas / spec.replicas : Number(a.params?.factor ?? 2);
    if (!Number.isFinite(factor) || factor <= 0 || factor > 10) return failed(`scale factor ${String(a.params?.factor ?? a.params?.replicas)} is out of range (0, 10]`);
    return { status: 'succeeded', detail: `scaled ${a.service} ×${factor.toFixed(2)} (to ${Math.round((spec?.replicas ?? 1) * factor)} replicas)`, factor };
  },
  'restart-service': (_w, a) => ({ status: 'succeeded', detail: `rolling restart of ${a.service} completed` }),
  failover: (_w, a) => ({ status: 'succeeded', detail: `traffic of ${a.service} failed over${a.target ? ` away from ${a.target}` : ''} to the secondary` }),
  none: () => ({ status: 'succeeded', detail: 'no action taken' }),
};

/**
 * Applies a mitigation at `at`. Pure: returns the new state, the result for the caller and the record to
 * store. Unknown services and changes fail with a clear detail; repeating an applied action is a no-op.
 * Which faults the action ends, and how the metrics recover, is decided by dynamics.ts from the records.
 */
export const applyAction = (state: WorldState, action: ActionRequest, at: Date): AppliedAction => {
  const incidentId = action.incidentId ?? 'manual';
  const repeat = state.actions.find(
    (x) => x.status === 'succeeded' && x.incidentId === incidentId && x.kind === action.kind && x.service === action.service && x.target === action.target && x.kind !== 'scale-service',
  );
  if (repeat) return { state, result: { status: 'succeeded', detail: `already applied at ${repeat.at}: ${repeat.detail}` } };
  const known = action.kind === 'none' || state.scenario.services.some((s) => s.name === action.service);
  const outcome = known ? HANDLERS[action.kind](state, action, at.getTime()) : failed(`service ${action.service} does not exist in environment ${state.id}`);
  const record: WorldAction = {
    incidentId,
    kind: action.kind,
    service: action.service,
    ...(action.target !== undefined ? { target: action.target } : {}),
    params: action.params ?? {},
    at: at.toISOString(),
    ...outcome,
  };
  return { state: { ...state, actions: [...state.actions, record] }, result: { status: outcome.status, detail: outcome.detail }, record };
};
