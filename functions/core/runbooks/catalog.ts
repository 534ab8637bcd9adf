/**
 * The mitigation runbook catalog: every action the autopilot may take, typed, with its risk class, whether
 * it can be undone (and how), and the preconditions that must hold before it is proposed. The planner only
 * builds actions through `buildAction`, so an action whose preconditions fail is never planned.
 */
import type { ActionKind, MitigationAction, RiskLevel } from '../model.ts';
import type { ChangeRequest, ServiceNode } from '../tools/ports.ts';

export type RunbookKind = Exclude<ActionKind, 'none'>;

/** What the planner knows when it asks for an action. */
export interface ActionRequest {
  readonly service: string;
  /** The change to roll back, the config parameter to revert, the flag to toggle, the dependency to fail over. */
  readonly target?: string;
  readonly params?: Record<string, unknown>;
  /** The change request behind the action, when one is blamed. */
  readonly change?: ChangeRequest;
  /** The tier of `service` in the topology, when known. */
  readonly tier?: ServiceNode['tier'];
}

export interface Precondition {
  readonly description: string;
  readonly holds: (request: ActionRequest) => boolean;
}

export interface RunbookEntry {
  readonly kind: RunbookKind;
  readonly title: string;
  readonly risk: RiskLevel;
  readonly reversible: boolean;
  /** What undoes the action (or why nothing does). */
  readonly inverse: string;
  readonly preconditions: readonly Precondition[];
}

const runsOurCode: Precondition = {
  description: 'the service is one we run (not an external dependency or a managed database)',
  holds: (r) => r.tier === undefined || !['external', 'database'].includes(r.tier),
};
const changeIsLive: Precondition = {
  description: 'the change is implemented (not already rolled back or cancelled)',
  holds: (r) => r.change?.state === 'implemented',
};

export const RUNBOOKS: Readonly<Record<RunbookKind, RunbookEntry>> = {
  'rollback-change': {
    kind: 'rollback-change',
    title: 'Roll back the change',
    // A redeploy of the previous version: well-trodden, but it restarts every instance of the service.
    risk: 'medium',
    reversible: true,
    inverse: 'roll forward again to the changed version',
    preconditions: [
      { description: 'a change id to roll back', holds: (r) => !!r.target && !!r.change && r.change.id === r.target },
      changeIsLive,
      { description: 'a previous version or a rollback plan exists', holds: (r) => !!r.change?.version?.from || !!r.change?.rollbackPlan },
    ],
  },
  'revert-config': {
    kind: 'revert-config',
    title: 'Revert the configuration parameter',
    // Restores a value that ran in production until the change: the smallest possible step back.
    risk: 'low',
    reversible: true,
    inverse: 'set the parameter back to the changed value',
    preconditions: [
      { description: 'the change altered a configuration parameter with a known old value', holds: (r) => !!r.change?.configChange && r.change.configChange.old !== '' },
      changeIsLive,
    ],
  },
  'scale-service': {
    kind: 'scale-service',
    title: 'Scale the service out',
    risk: 'low',
    reversible: true,
    inverse: 'scale back in to the previous capacity',
    preconditions: [
      runsOurCode,
      { description: 'a scale factor between 1 and 4', holds: (r) => typeof r.params?.factor === 'number' && r.params.factor > 1 && r.params.factor <= 4 },
    ],
  },
  'restart-service': {
    kind: 'restart-service',
    title: 'Rolling restart of the service',
    // In-flight requests and in-memory state are lost; a restart cannot be undone, only waited out.
    risk: 'medium',
    reversible: false,
    inverse: 'none: a restart cannot be undone (in-memory state is lost)',
    preconditions: [runsOurCode],
  },
  'toggle-feature-flag': {
    kind: 'toggle-feature-flag',
    title: 'Toggle the feature flag',
    risk: 'low',
    reversible: true,
    inverse: 'toggle the flag back',
    preconditions: [{ description: 'the flag to toggle is named', holds: (r) => !!r.target }],
  },
  failover: {
    kind: 'failover',
    title: 'Fail over / open the circuit to the dependency',
    // Moves all traffic to a secondary path that may be colder, smaller or degraded: a human decides.
    risk: 'high',
    reversible: true,
    inverse: 'fail back to the primary once it is healthy',
    preconditions: [{ description: 'the dependency to fail over is named', holds: (r) => !!r.target }],
  },
};

export class UnknownRunbook extends Error {
  override name = 'UnknownRunbook';
  constructor(kind: string) {
    super(`no runbook "${kind}" in the catalog (known: ${Object.keys(RUNBOOKS).join(', ')})`);
  }
}

export const runbook = (kind: string): RunbookEntry => {
  const entry = (RUNBOOKS as Record<string, RunbookEntry | undefined>)[kind];
  if (!entry) throw new UnknownRunbook(kind);
  return entry;
};

/** The preconditions of `kind` that do not hold for `request`. */
export const unmetPreconditions = (kind: RunbookKind, request: ActionRequest): string[] =>
  runbook(kind).preconditions.filter((p) => !p.holds(request)).map((p) => p.description);

export type BuildResult = { readonly ok: true; readonly action: MitigationAction } | { readonly ok: false; readonly kind: RunbookKind; readonly unmet: readonly string[] };

/** Builds a catalog action, with the catalog's risk and reversibility, if its preconditions hold. */
export const buildAction = (kind: RunbookKind, request: ActionRequest, description: string, evidenceIds: readonly string[] = []): BuildResult => {
  const unmet = unmetPreconditions(kind, request);
  if (unmet.length > 0) return { ok: false, kind, unmet };
  const entry = runbook(kind);
  return {
    ok: true,
    action: {
      kind,
      service: request.service,
      ...(request.target ? { target: request.target } : {}),
      params: { ...request.params, inverse: entry.inverse },
      description,
      risk: entry.risk,
      reversible: entry.reversible,
      evidenceIds: [...new Set(evidenceIds)],
    },
  };
};

/** Reads which runbook a free-text resolution (e.g. a past incident's) describes; undefined when none. */
export const runbookFromText = (text: string): RunbookKind | undefined => {
  const t = text.toLowerCase();
  if (/roll ?back|redeploy (the )?previous/.test(t)) return 'rollback-change';
  if (/\brevert/.test(t)) return 'revert-config';
  if (/fail ?over|circuit/.test(t)) return 'failover';
  if (/feature ?flag|\bflag\b|kill ?switch/.test(t)) return 'toggle-feature-flag';
  if (/\bscal(e|ed|ing)\b|replicas|more instances|add capacity/.test(t)) return 'scale-service';
  if (/restart|bounce|recycle/.test(t)) return 'restart-service';
  return undefined;
};
