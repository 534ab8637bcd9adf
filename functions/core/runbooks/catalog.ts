/**
 * The mitigation runbook catalog: every action the autopilot may take, typed, with its risk class, whether
 * it can be undone (and how), and the preconditions that must hold before it is proposed. The planner only
 * builds actions through `buildAction`, so an action whose preconditions fail is never planned.
 */
import type { ActionKind, MitigationAction, RiskLevel } from '../model.ts';
import { ChangeResource, hasTypedRollback, rollbackTarget, type TypedAction } from '../tools/aws/rollback-targets.ts';
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

/** A value a change record carries that can be written back (CloudTrail hides parameter values behind this). */
const knownValue = (v: string | undefined): boolean => !!v && v !== 'HIDDEN_DUE_TO_SECURITY_REASONS';

/** Whether two resources are the same one (type, ARN and identifiers). */
const sameResource = (a: unknown, b: NonNullable<ChangeRequest['resource']>): boolean => {
  const parsed = ChangeResource.safeParse(a);
  if (!parsed.success || parsed.data.type !== b.type || parsed.data.arn !== b.arn) return false;
  const ids = (x: Readonly<Record<string, string>> | undefined) => JSON.stringify(Object.entries(x ?? {}).sort(([k], [l]) => (k < l ? -1 : k > l ? 1 : 0)));
  return ids(parsed.data.identifiers) === ids(b.identifiers);
};
/** Whether the action's two values are the change's two, in either order (an inverse has them swapped). */
const sameEnds = (x: unknown, y: unknown, a: string | undefined, b: string | undefined): boolean => (x === a && y === b) || (x === b && y === a);

/**
 * What a typed AWS rollback (../tools/aws/rollback-targets.ts: a Lambda alias, an ECS service, an AppConfig
 * environment, an SSM parameter) acts on must be exactly what the change changed:
 *   - an action naming a resource (`params.resource`) names the change's own, and moves between the change's own two
 *     values — so an action the planner did not build from the change (a reasoner's edit) acts on nothing else;
 *   - a change to a resource with a typed rollback names everything that rollback acts on, is undone by `kind`, and
 *     carries both ends of the move (none hidden): the AWS actions adapter acts on nothing less.
 * A change without a resource (another source), or to a resource without a typed rollback, is left to the other
 * conditions: another actions adapter (SSM Automation, the webhook) may act on it. Holds for the action and its
 * inverse alike (judged on the change as the tools report it right before the action runs).
 */
export const typedAwsResource = (kind: TypedAction): Precondition => ({
  description:
    kind === 'rollback-change'
      ? "the AWS resource and versions the rollback acts on are the change's own, and a change to a Lambda alias, ECS service or AppConfig environment names both versions"
      : `the AWS resource and values the ${kind === 'revert-config' ? 'revert' : 'toggle'} acts on are the change's own, and a change to an SSM parameter names both values (none hidden)`,
  holds: (r) => {
    const resource = r.change?.resource;
    const claimed = r.params?.resource;
    if (claimed !== undefined && !(resource && sameResource(claimed, resource))) return false;
    if (!resource || !hasTypedRollback(resource.type)) return true;
    const target = rollbackTarget(resource);
    if (!target.ok || !target.target.actions.includes(kind)) return false;
    if (kind === 'rollback-change') {
      const v = r.change?.version;
      return !!v?.from && !!v.to && (claimed === undefined || sameEnds(r.params?.fromVersion, r.params?.toVersion, v.to, v.from));
    }
    const c = r.change?.configChange;
    return knownValue(c?.old) && knownValue(c?.new) && (claimed === undefined || sameEnds(r.params?.from, r.params?.to, c?.new, c?.old));
  },
});

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
      typedAwsResource('rollback-change'),
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
      typedAwsResource('revert-config'),
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
    preconditions: [{ description: 'the flag to toggle is named', holds: (r) => !!r.target }, typedAwsResource('toggle-feature-flag')],
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
