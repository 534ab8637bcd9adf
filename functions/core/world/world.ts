/**
 * The simulated world: a scenario anchored at a moment (the whole minute of "now" when the world is created),
 * plus everything that happened to it since (mitigation actions, incidents recorded into its history). The state is small
 * and plain JSON, so it fits one DynamoDB item; every metric, trace and log is derived from it on demand by
 * pure, deterministic functions (dynamics.ts, signals.ts). Agents never see this module — only what the tool
 * ports (tools/simulated.ts) return.
 */
import { isDeepStrictEqual } from 'node:util';
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
  /** An inverse action: it undoes an earlier action of the same kind, service and target. */
  readonly undo?: boolean;
  /** An inverse that re-applied this change (roll forward, set the value again, toggle the flag back on). */
  readonly reappliedChangeId?: string;
  /** scale-service: the capacity multiplier applied. */
  readonly factor?: number;
}

export interface WorldState {
  readonly id: string;
  /** The anchor: scenario minute 0 (a whole UTC minute for every world createWorld makes). */
  readonly createdAt: string;
  /** Seconds a successful mitigation takes to show fully in the metrics (rollout, cache warm-up). */
  readonly recoveryLagSeconds: number;
  readonly scenario: Scenario;
  readonly actions: readonly WorldAction[];
  /** Incidents added to the history after the world was created (`recordIncident`). */
  readonly incidents: readonly PastIncident[];
  /**
   * How far the world's clock runs ahead of the wall clock, in ms (default 0). The laptop twin compresses Wait
   * states; each compressed wait advances the world by the time it skipped (`advanceClock`), so the minutes a
   * verification waited for exist in the world — computed by the same model, with its noise and the mitigation's
   * ramp — instead of being judged on the few seconds that really passed. On AWS nothing advances it.
   */
  readonly clockAdvanceMs?: number;
  /**
   * How many times the scenario was edited since the world was created (faults injected into a running world and
   * ended: world-store.ts `addFault` / `endFault`); absent is 0. An edit is conditional on the version it read.
   */
  readonly scenarioVersion?: number;
  /** Who injected and ended which fault, when (the scenario holds only the faults themselves). */
  readonly faultLog?: readonly FaultEvent[];
}

/** One entry of a world's fault log. */
export interface FaultEvent {
  /** The fault's `id` in the scenario. */
  readonly fault: string;
  readonly event: 'injected' | 'ended';
  /** Wall-clock time of the edit (ISO). */
  readonly at: string;
  /** Who: the signed-in user, the name the caller gave, or 'console'. */
  readonly by: string;
  /** The preset the fault was made from (world/presets.ts), if any. */
  readonly preset?: string;
}

/** The world's now (epoch ms) for a wall-clock instant: the wall clock plus what the twin advanced it. */
export const worldNow = (world: Pick<WorldState, 'clockAdvanceMs'>, wallMs: number): number => wallMs + Math.max(0, world.clockAdvanceMs ?? 0);

/** Longest single advance of a world's clock (a day): a wait longer than that is a mistake, not a wait. */
export const MAX_CLOCK_ADVANCE_MS = 86_400_000;

export class InvalidClockAdvance extends RangeError {
  override name = 'InvalidClockAdvance';
}

/** Checks one advance of the world's clock: a whole number of ms in [0, MAX_CLOCK_ADVANCE_MS]. */
export const checkClockAdvance = (ms: number): number => {
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_CLOCK_ADVANCE_MS) throw new InvalidClockAdvance(`clock advance must be a whole number of ms in [0, ${MAX_CLOCK_ADVANCE_MS}], got ${ms}`);
  return ms;
};

export const DEFAULT_RECOVERY_LAG_SECONDS = 90;
/** World ids end up in DynamoDB keys and in alert tags (`environment:<id>`): keep them plain. */
export const WORLD_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export class InvalidWorldId extends Error {
  override name = 'InvalidWorldId';
  constructor(id: string) {
    super(`world id "${id}" is invalid: use letters, digits, ".", "_" or "-" (at most 64 characters)`);
  }
}

/**
 * A new world, anchored (scenario minute 0) on the whole UTC minute at or before `now`. Its noise is keyed by
 * minutes since that anchor, so two worlds with the same id answer the same for the same window relative to
 * their anchors whatever second they were seeded at; the whole minute keeps every grid point a real UTC minute,
 * as a metrics API answers. The alert then fires up to a minute earlier than `now` would have put it: the same
 * as an alert processed a few seconds later.
 */
export const createWorld = (scenario: Scenario, opts: { id: string; now: Date; recoveryLagSeconds?: number }): WorldState => {
  if (!WORLD_ID.test(opts.id)) throw new InvalidWorldId(opts.id);
  const now = opts.now.getTime();
  if (!Number.isFinite(now)) throw new RangeError(`world ${opts.id}: now is not a valid date`);
  return {
    id: opts.id,
    createdAt: new Date(Math.floor(now / 60_000) * 60_000).toISOString(),
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
  /** Undo an earlier action of this kind (the executor's inverse path). */
  readonly undo?: boolean;
}

export interface AppliedAction {
  readonly state: WorldState;
  readonly result: ActionResult;
  /** The record to store; undefined when the same action was already applied (an idempotent retry). */
  readonly record?: WorldAction;
}

type Outcome = Pick<WorldAction, 'status' | 'detail' | 'changeId' | 'factor' | 'reappliedChangeId'>;
type Handler = (world: WorldState, a: ActionRequest, at: number) => Outcome;

const failed = (detail: string): Outcome => ({ status: 'failed', detail });
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The last successful action that undid or re-applied the change by `at` (epoch ms; default: any time). The
 * change is undone when that action undid it (`changeId`), live again when it re-applied it, live when none.
 */
const lastChangeAction = (world: WorldState, changeId: string, at = Infinity): WorldAction | undefined =>
  world.actions
    .filter((x) => x.status === 'succeeded' && (x.changeId === changeId || x.reappliedChangeId === changeId) && Date.parse(x.at) <= at)
    .sort((x, y) => Date.parse(x.at) - Date.parse(y.at))
    .at(-1);

/** The action that undid the change and is still in force at `at` (not re-applied since), if any. */
export const changeUndoneBy = (world: WorldState, changeId: string, at = Infinity): WorldAction | undefined => {
  const last = lastChangeAction(world, changeId, at);
  return last?.changeId === changeId ? last : undefined;
};

/** Undoes a change: the shared core of rollback, config revert and flag toggle. */
const undoChange = (world: WorldState, a: ActionRequest, at: number, changeId: string, verb: string): Outcome => {
  const change = world.scenario.changes.find((c) => c.id === changeId);
  if (!change) return failed(`change ${changeId} does not exist in environment ${world.id}`);
  if (change.service !== a.service) return failed(`change ${changeId} was made to ${change.service}, not ${a.service}`);
  if (worldTime(world, change.deployedAt) > at) return failed(`change ${changeId} is scheduled for ${iso(worldTime(world, change.deployedAt))} and not yet implemented`);
  const earlier = changeUndoneBy(world, changeId);
  // No changeId: this action undid nothing new, so a later inverse of the earlier one alone brings the change back.
  if (earlier) return { status: 'succeeded', detail: `change ${changeId} was already ${verb} at ${earlier.at}` };
  const what = change.version ? ` (${change.version.to} → ${change.version.from})` : change.configChange ? ` (${change.configChange.param} ${change.configChange.new} → ${change.configChange.old})` : '';
  return { status: 'succeeded', detail: `${verb} ${changeId} on ${change.service}${what}: ${change.rollbackPlan}`, changeId };
};

/** Re-applies a change an earlier action undid: the shared core of every inverse of a change. */
const reapplyChange = (world: WorldState, a: ActionRequest, at: number, changeId: string, verb: string): Outcome => {
  const change = world.scenario.changes.find((c) => c.id === changeId);
  if (!change) return failed(`change ${changeId} does not exist in environment ${world.id}`);
  if (change.service !== a.service) return failed(`change ${changeId} was made to ${change.service}, not ${a.service}`);
  if (!changeUndoneBy(world, changeId, at)) return failed(`change ${changeId} is live (not rolled back): there is nothing to re-apply`);
  const what = change.version ? ` (${change.version.from} → ${change.version.to})` : change.configChange ? ` (${change.configChange.param} ${change.configChange.old} → ${change.configChange.new})` : '';
  return { status: 'succeeded', detail: `${verb} ${changeId} on ${change.service}${what}`, reappliedChangeId: changeId };
};

/**
 * The config or flag change an action refers to, forward or inverse alike: `params.changeId` when the plan
 * named it (two changes may set the same parameter), otherwise the newest change to the service whose id or
 * parameter is `a.target` (any, without a target).
 */
const changeFor = (w: WorldState, a: ActionRequest, at: number, type: 'config' | 'feature-flag'): string | undefined => {
  const changeId = typeof a.params?.changeId === 'string' ? a.params.changeId : undefined;
  return [...w.scenario.changes]
    .filter((c) => c.service === a.service && (type === 'config' ? !!c.configChange : c.type === 'feature-flag'))
    .filter((c) => (changeId ? c.id === changeId : c.id === a.target || c.configChange?.param === a.target || !a.target))
    .filter((c) => worldTime(w, c.deployedAt) <= at)
    .sort((x, y) => y.deployedAt - x.deployedAt)[0]?.id;
};

/**
 * A handler for a config or flag action: finds the change it refers to (changeFor) and undoes or re-applies
 * it, or fails naming what it looked for.
 */
const onChange =
  (type: 'config' | 'feature-flag', apply: typeof undoChange, verb: string): Handler =>
  (w, a, at) => {
    const id = changeFor(w, a, at, type);
    if (id) return apply(w, a, at, id, verb);
    const target = a.target ? ` ${type === 'config' ? 'of ' : ''}${a.target}` : '';
    return failed(type === 'config' ? `no config change${target} was made to ${a.service} in environment ${w.id}` : `no feature flag${target} was changed on ${a.service} in environment ${w.id}`);
  };

/** The last forward action of this kind on this service and target that an inverse would undo. */
const forwardAction = (w: WorldState, a: ActionRequest): WorldAction | undefined =>
  w.actions.filter((x) => x.status === 'succeeded' && !x.undo && x.kind === a.kind && x.service === a.service && x.target === a.target).at(-1);

/** What each kind's inverse does to the world (restart-service and none have none). */
const UNDO_HANDLERS: Partial<Record<ActionKind, Handler>> = {
  'rollback-change': (w, a, at) => (a.target ? reapplyChange(w, a, at, a.target, 'rolled forward') : failed('rolling forward needs a target change id')),
  'revert-config': onChange('config', reapplyChange, 're-applied'),
  'toggle-feature-flag': onChange('feature-flag', reapplyChange, 'toggled again'),
  'scale-service': (w, a) => {
    const factor = Number(a.params?.factor);
    if (!Number.isFinite(factor) || factor <= 0 || factor >= 1) return failed(`scaling back in needs a factor in (0, 1), got ${String(a.params?.factor)}`);
    const spec = w.scenario.services.find((s) => s.name === a.service);
    return { status: 'succeeded', detail: `scaled ${a.service} back in ×${factor.toFixed(2)} (to ${Math.round((spec?.replicas ?? 1) * scaleOf(w, a.service) * factor)} replicas)`, factor };
  },
  failover: (w, a) =>
    forwardAction(w, a)
      ? { status: 'succeeded', detail: `traffic of ${a.service}${a.target ? ` to ${a.target}` : ''} failed back to the primary` }
      : failed(`${a.service} has not failed over${a.target ? ` away from ${a.target}` : ''}: nothing to fail back`),
};

/** The capacity multiplier the service runs at now (the product of its scale actions). */
const scaleOf = (w: WorldState, service: string): number =>
  w.actions.filter((x) => x.status === 'succeeded' && x.kind === 'scale-service' && x.service === service && x.factor !== undefined).reduce((f, x) => f * (x.factor as number), 1);

/** A lookup table of what each action kind does to the world. */
const HANDLERS: Record<ActionKind, Handler> = {
  'rollback-change': (w, a, at) => (a.target ? undoChange(w, a, at, a.target, 'rolled back') : failed('rollback-change needs a target change id')),
  'revert-config': onChange('config', undoChange, 'reverted'),
  'toggle-feature-flag': onChange('feature-flag', undoChange, 'toggled back'),
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
  const undo = action.undo === true;
  // An idempotent retry repeats the LAST action of this incident on the same kind, service and target in the same
  // direction; after an undo, applying the action again is a new action, not a repeat. A scale is a repeat only with
  // the same parameters (×2 retried stays ×2; asking for ×3 after ×2 is a new step), since scales multiply. That
  // holds both ways: undoing ×2 then ×3 is a scale-in ×1/3 and then one ×1/2, and the second is a step of its own.
  const last = state.actions
    .filter((x) => x.status === 'succeeded' && x.incidentId === incidentId && x.kind === action.kind && x.service === action.service && x.target === action.target)
    .at(-1);
  // Compared as stored (no undefined values, any key order: DynamoDB keeps no map order).
  const sameParams = action.kind !== 'scale-service' || isDeepStrictEqual(last?.params ?? {}, JSON.parse(JSON.stringify(action.params ?? {})));
  const repeat = last && sameParams && (last.undo === true) === undo ? last : undefined;
  if (repeat) return { state, result: { status: 'succeeded', detail: `already applied at ${repeat.at}: ${repeat.detail}` } };
  const known = action.kind === 'none' || state.scenario.services.some((s) => s.name === action.service);
  const handler = undo ? UNDO_HANDLERS[action.kind] : HANDLERS[action.kind];
  const outcome = !known
    ? failed(`service ${action.service} does not exist in environment ${state.id}`)
    : handler
      ? handler(state, action, at.getTime())
      : failed(`${action.kind} cannot be undone`);
  const record: WorldAction = {
    incidentId,
    kind: action.kind,
    service: action.service,
    ...(action.target !== undefined ? { target: action.target } : {}),
    params: action.params ?? {},
    at: at.toISOString(),
    ...(undo ? { undo: true } : {}),
    ...outcome,
  };
  return { state: { ...state, actions: [...state.actions, record] }, result: { status: outcome.status, detail: outcome.detail }, record };
};
