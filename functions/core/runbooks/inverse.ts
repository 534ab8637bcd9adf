/**
 * Typed inverses of the catalog's actions, and the preconditions checked right before an action (or its
 * inverse) runs.
 *
 * An inverse is an action of the SAME kind with `params.direction = 'undo'` and its parameters swapped:
 *
 * | action                 | inverse                                                          |
 * |------------------------|------------------------------------------------------------------|
 * | rollback-change        | roll forward: re-apply the change (fromVersion ↔ toVersion)       |
 * | revert-config          | set the changed value again (from ↔ to)                          |
 * | scale-service ×f       | scale back in to the previous capacity (×1/f)                    |
 * | toggle-feature-flag    | toggle the flag back (from ↔ to)                                 |
 * | failover               | fail back to the primary                                         |
 * | restart-service        | none: see `NO_INVERSE`                                           |
 *
 * Keeping the kind means adapters need no new vocabulary (an SSM document or a webhook receiver gets the
 * direction as a parameter), the catalog's risk class still applies, and `inverseOf(inverseOf(a))` is `a`
 * again (up to its description): the relation is symmetric, as the table's ↔ says.
 */
import type { MitigationAction } from '../model.ts';
import { type ActionRequest, type Precondition, type RunbookKind, runbook, typedAwsResource, unmetPreconditions } from './catalog.ts';

export type Direction = 'apply' | 'undo';
export const UNDO: Direction = 'undo';

/** Whether the action is an inverse (it undoes an earlier action). */
export const directionOf = (action: Pick<MitigationAction, 'params'>): Direction => (action.params?.direction === UNDO ? 'undo' : 'apply');
export const isUndo = (action: Pick<MitigationAction, 'params'>): boolean => directionOf(action) === 'undo';

/** Why an action kind has no inverse. */
export const NO_INVERSE: Readonly<Partial<Record<RunbookKind | 'none', string>>> = {
  'restart-service': 'a restart cannot be undone: in-flight requests and in-memory state are gone, and the restarted instances already run the same version again',
  none: 'nothing was done, so there is nothing to undo',
};

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

/** `params` with the two keys' values exchanged (a key whose value is missing is left out). */
const swap = (params: Record<string, unknown>, a: string, b: string): Record<string, unknown> => {
  const out: Record<string, unknown> = { ...params };
  delete out[a];
  delete out[b];
  if (params[b] !== undefined) out[a] = params[b];
  if (params[a] !== undefined) out[b] = params[a];
  return out;
};

const arrow = (from: unknown, to: unknown): string => (str(from) && str(to) ? ` (${str(from)} → ${str(to)})` : str(to) ? ` (to ${str(to)})` : '');

interface InverseSpec {
  /** The inverse's parameters, from the original's (without `direction` and `inverse`, which are set here). */
  readonly params: (params: Record<string, unknown>) => Record<string, unknown> | undefined;
  /** Description of an action of this kind in `direction`, from its (already inverted) parameters. */
  readonly describe: (a: Pick<MitigationAction, 'service' | 'target'>, params: Record<string, unknown>, direction: Direction) => string;
  /** How an action in `direction` is undone (the inverse's `params.inverse`). */
  readonly undoneBy: (direction: Direction) => string;
}

/** A lookup table of how each reversible kind is inverted. */
const INVERSES: Readonly<Partial<Record<RunbookKind, InverseSpec>>> = {
  'rollback-change': {
    params: (p) => swap(p, 'fromVersion', 'toVersion'),
    describe: (a, p, d) => (d === 'undo' ? `Roll forward ${a.target} on ${a.service}${arrow(p.fromVersion, p.toVersion)}: re-apply the change` : `Roll back ${a.target} on ${a.service}${arrow(p.fromVersion, p.toVersion)}`),
    undoneBy: (d) => (d === 'undo' ? 'roll the change back again' : runbook('rollback-change').inverse),
  },
  'revert-config': {
    params: (p) => swap(p, 'from', 'to'),
    describe: (a, p, d) => `${d === 'undo' ? 'Set' : 'Revert'} ${str(p.param) ?? a.target} on ${a.service}${arrow(p.from, p.to)}${d === 'undo' ? ' again (undo the revert)' : ''}`,
    undoneBy: (d) => (d === 'undo' ? 'revert the parameter again' : runbook('revert-config').inverse),
  },
  'scale-service': {
    // Scaling by 1/f returns exactly to the capacity before ×f; a factor that is not a positive number has no inverse.
    params: (p) => {
      const factor = Number(p.factor);
      if (!Number.isFinite(factor) || factor <= 0) return undefined;
      return { ...p, factor: 1 / factor };
    },
    describe: (a, p, d) => (d === 'undo' ? `Scale ${a.service} back in ×${round(Number(p.factor))} to the previous capacity` : `Scale ${a.service} out ×${round(Number(p.factor))}`),
    undoneBy: (d) => (d === 'undo' ? 'scale out again' : runbook('scale-service').inverse),
  },
  'toggle-feature-flag': {
    params: (p) => swap(p, 'from', 'to'),
    describe: (a, p, d) => `Toggle feature flag ${str(p.flag) ?? a.target} on ${a.service}${d === 'undo' ? ' back' : ''}${arrow(p.from, p.to)}`,
    undoneBy: (d) => (d === 'undo' ? 'toggle the flag again' : runbook('toggle-feature-flag').inverse),
  },
  failover: {
    params: (p) => ({ ...p }),
    describe: (a, _p, d) => (d === 'undo' ? `Fail ${a.service}'s calls to ${a.target} back to the primary path` : `Fail over ${a.service}'s calls to ${a.target} to the secondary path`),
    undoneBy: (d) => (d === 'undo' ? 'fail over again' : runbook('failover').inverse),
  },
};

const round = (x: number): string => (Number.isFinite(x) ? String(Math.round(x * 100) / 100) : String(x));

/**
 * The action that undoes `action`, or undefined when none exists (a restart; a kind outside the catalog; an
 * action whose parameters do not say how to go back, e.g. a scale without a factor).
 */
export const inverseOf = (action: MitigationAction): MitigationAction | undefined => {
  const spec = INVERSES[action.kind as RunbookKind];
  if (!spec) return undefined;
  const { direction: _d, inverse: _i, ...rest } = action.params ?? {};
  const params = spec.params(rest);
  if (!params) return undefined;
  const direction: Direction = isUndo(action) ? 'apply' : 'undo';
  return {
    kind: action.kind,
    service: action.service,
    ...(action.target !== undefined ? { target: action.target } : {}),
    params: { ...params, ...(direction === 'undo' ? { direction } : {}), inverse: spec.undoneBy(direction) },
    description: spec.describe(action, params, direction),
    // The catalog's risk class of the kind: re-applying a deploy is as risky as rolling it back.
    risk: runbook(action.kind).risk,
    reversible: true,
    evidenceIds: [...action.evidenceIds],
  };
};

/** Why `action` has no inverse ('' when it has one). */
export const whyNoInverse = (action: MitigationAction): string => {
  if (inverseOf(action)) return '';
  return NO_INVERSE[action.kind as RunbookKind | 'none'] ?? `${action.kind} on ${action.service} has no inverse: its parameters do not say how to go back`;
};

// ───────────────────────── preconditions at execution ─────────────────────────

const tierRunsOurCode: Precondition = {
  description: 'the service is one we run (not an external dependency or a managed database)',
  holds: (r) => r.tier === undefined || !['external', 'database'].includes(r.tier),
};
const changeIsUndone: Precondition = {
  description: 'the change is rolled back (there is something to re-apply)',
  holds: (r) => r.change?.state === 'rolled-back',
};

/** Preconditions of the inverse of each kind (the catalog holds those of the actions themselves). */
export const INVERSE_PRECONDITIONS: Readonly<Partial<Record<RunbookKind, readonly Precondition[]>>> = {
  'rollback-change': [{ description: 'a change id to roll forward', holds: (r) => !!r.target && !!r.change && r.change.id === r.target }, changeIsUndone, typedAwsResource('rollback-change')],
  'revert-config': [{ description: 'the change set a configuration parameter whose changed value is known', holds: (r) => !!r.change?.configChange && r.change.configChange.new !== '' }, changeIsUndone, typedAwsResource('revert-config')],
  'toggle-feature-flag': [{ description: 'the flag to toggle back is named', holds: (r) => !!r.target }, changeIsUndone, typedAwsResource('toggle-feature-flag')],
  'scale-service': [
    tierRunsOurCode,
    { description: 'a scale-in factor between 1/4 and 1 (back to the previous capacity)', holds: (r) => typeof r.params?.factor === 'number' && r.params.factor >= 0.25 && r.params.factor < 1 },
  ],
  failover: [{ description: 'the dependency to fail back to is named', holds: (r) => !!r.target }],
};

/**
 * Which change an action is about: rollback and flag toggles name it in `target`, a config revert names the
 * parameter in `target` and the change in `params.changeId`.
 */
export const changeRefOf = (action: Pick<MitigationAction, 'kind' | 'target' | 'params'>): { id?: string; param?: string } => {
  const changeId = str(action.params?.changeId);
  switch (action.kind) {
    case 'rollback-change':
      return { id: action.target };
    case 'revert-config':
      return { id: changeId, param: str(action.params?.param) ?? action.target };
    case 'toggle-feature-flag':
      return { id: changeId ?? action.target, param: str(action.params?.flag) };
    default:
      return {};
  }
};

/** The catalog's view of an action about to run: what its preconditions are judged on. */
export const requestOf = (action: MitigationAction, facts: Pick<ActionRequest, 'change' | 'tier'>): ActionRequest => ({
  service: action.service,
  ...(action.target !== undefined ? { target: action.target } : {}),
  params: action.params,
  ...(facts.change ? { change: facts.change } : {}),
  ...(facts.tier ? { tier: facts.tier } : {}),
});

/**
 * The preconditions of `action` (its catalog entry's, or its inverse's for an undo) that do not hold, given
 * what the tools say now. An action of a kind outside the catalog fails with the catalog's `UnknownRunbook`.
 */
export const unmetAtExecution = (action: MitigationAction, facts: Pick<ActionRequest, 'change' | 'tier'>): string[] => {
  const request = requestOf(action, facts);
  if (!isUndo(action)) return unmetPreconditions(action.kind as RunbookKind, request);
  const preconditions = INVERSE_PRECONDITIONS[action.kind as RunbookKind];
  if (!preconditions) return [whyNoInverse({ ...action, params: {} }) || `${action.kind} has no inverse`];
  return preconditions.filter((p) => !p.holds(request)).map((p) => p.description);
};
