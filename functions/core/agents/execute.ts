/**
 * Execution agent: runs the plan's immediate actions through the action port, in order, and writes an
 * ExecutionOutput (AGENT#execution). With `mode: "undo"` (the state machine's "Undo mitigation", after
 * verification ran out without recovery) it runs the inverses of the actions that succeeded, in reverse order,
 * and records them in the same output's `undone` list.
 *
 * Safety rules, each enforced here and not only upstream:
 *   - Approval: it acts only on a plan a human approved, or one the policy auto-approves NOW (every action low
 *     risk and reversible, and the operator allows it). The plan's stored `autoApprove` flag alone is not enough:
 *     a plan record is data, and the policy is re-applied to the actions actually about to run.
 *   - Preconditions: the catalog's (or, for an inverse, inverse.ts's) preconditions are checked against what the
 *     tools say right before the action runs — the change may have been rolled back by a human since the plan
 *     was made. An action whose precondition fails is `skipped` with the failed conditions as its detail.
 *   - Idempotency: every step (an action, or an inverse) goes through the action journal (../store/journal.ts): it is
 *     claimed by a conditional write before it runs and completed with its result after. A step the journal holds as
 *     done is never run again — a Step Functions retry, a rerun, a second invocation — and its recorded result is
 *     used. A step claimed by an invocation that never completed (a crash mid-action) is never repeated when it is
 *     irreversible: it is reported as of unknown outcome, and verification, then humans, decide. A reversible one is
 *     taken over and runs again behind its preconditions (see journal.ts for the rule). A claim still in flight is
 *     waited for briefly, then `ActionInProgress` (retryable) lets the state machine come back later.
 *   - Adapter failures are `failed` results with the adapter's detail, never a crash of the agent.
 * The undo is the ("approved") inverse of approved, reversible actions: the catalog declares each inverse, and
 * the approver saw it (`reversible`) when approving. It never throws for failed inverses: escalation must run.
 */
import * as z from 'zod';
import type { AgentDeps } from '../deps.ts';
import { type AgentSummary, type Evidence, type ExecutedAction, ExecutionOutput, type MitigationAction, PlanOutput } from '../model.ts';
import type { ActionRequest } from '../runbooks/catalog.ts';
import { inverseOf, isUndo, unmetAtExecution, changeRefOf, whyNoInverse } from '../runbooks/inverse.ts';
import { type ApprovalPolicy, DEFAULT_POLICY, decide } from '../runbooks/policy.ts';
import type { IncidentMeta } from '../store/store.ts';
import { type ActionJournal, ActionInProgress, type JournalEntry, type JournalMode, newClaimId, stepKey } from '../store/journal.ts';
import { FUNCTIONS } from '../../registry.ts';
import { isRetryable } from '../errors.ts';
import type { ChangeRequest, ServiceNode, ToolScope } from '../tools/ports.ts';
import { PlanNotFound } from './plan.ts';
import { recordedChanges, recordedNodes } from './recorded.ts';
import { type EvidenceLog, type IncidentSnapshot, loadIncident, runAgent, summarise } from './runtime.ts';
import { byCodeUnit } from '../compare.ts';

export class MitigationNotApproved extends Error {
  override name = 'MitigationNotApproved';
}

/** Every action failed: nothing changed, so verification would only wait for nothing. */
export class MitigationFailed extends Error {
  override name = 'MitigationFailed';
}

/** "Undo mitigation" ran for an incident whose mitigation never ran. */
export class ExecutionNotFound extends Error {
  override name = 'ExecutionNotFound';
  constructor(incidentId: string) {
    super(`incident ${incidentId}: no mitigation was executed, so there is nothing to undo`);
  }
}

export const ExecuteTask = z.object({
  incidentId: z.string().min(1).max(128),
  /** `apply` runs the plan; `undo` runs the inverses of what ran. */
  mode: z.enum(['apply', 'undo']).default('apply'),
});
export type ExecuteTask = z.input<typeof ExecuteTask>;

export interface ExecuteResult extends AgentSummary {
  readonly mode: 'apply' | 'undo';
  /** Whether some action that succeeded has an inverse (the state machine's "Can undo?"). */
  readonly undoable: boolean;
}

/** What the executor needs beyond the agents' common dependencies: the action journal. */
export interface ExecuteDeps extends AgentDeps {
  readonly journal: ActionJournal;
}

/** The executor's Lambda timeout: a claim older than this belongs to an invocation Lambda has ended. */
export const EXECUTOR_TIMEOUT_MS = (FUNCTIONS.find((f) => f.name === 'execute-mitigation')?.timeoutSeconds ?? 60) * 1000;

export interface JournalTiming {
  /** A claim older than this was left by an invocation that died. @default EXECUTOR_TIMEOUT_MS */
  readonly claimTimeoutMs?: number;
  /** How long to wait for a claim another invocation holds before failing with `ActionInProgress`. @default 5000 */
  readonly inFlightWaitMs?: number;
  /** Between two reads of a claim in flight. @default 100 */
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** How far back the change history is read to judge a change's current state. */
export const PRECONDITION_CHANGE_LOOKBACK_HOURS = 24;
const HOUR_MS = 3_600_000;

const actionKey = (a: { kind: string; service: string; target?: string }) => `${a.kind}|${a.service}|${a.target ?? ''}`;
const base = (a: Pick<MitigationAction, 'kind' | 'service' | 'target'>) => ({ kind: a.kind, service: a.service, ...(a.target ? { target: a.target } : {}) });

/** What the preconditions are judged on, plus how it was learnt (for the detail). */
interface Facts {
  readonly change?: ChangeRequest;
  readonly tier?: ServiceNode['tier'];
  readonly notes: readonly string[];
}

/**
 * Reads, once per run, the current change records and topology for the actions' services (falling back to
 * what the root-cause agent recorded when a tool is down), and answers per action.
 */
const factFinder = async (deps: AgentDeps, incident: IncidentMeta, scope: ToolScope, evidence: EvidenceLog, earlier: IncidentSnapshot, actions: readonly MitigationAction[]) => {
  if (actions.length === 0) return (): Facts => ({ notes: [] });
  const recorded: Evidence[] = earlier.record('rootcause')?.evidence ?? [];
  const services = [...new Set(actions.map((a) => a.service))];
  const needsChange = actions.some((a) => changeRefOf(a).id || changeRefOf(a).param);
  const now = deps.clock();
  const onset = Date.parse(incident.startedAt);
  const from = new Date((Number.isNaN(onset) ? now.getTime() : onset) - PRECONDITION_CHANGE_LOOKBACK_HOURS * HOUR_MS).toISOString();
  const live = needsChange ? await evidence.call('changes.listChanges', () => deps.tools.changes.listChanges({ ...scope, from, to: now.toISOString(), services })) : [];
  const topology = await evidence.call('telemetry.getTopology', () => deps.tools.telemetry.getTopology({ ...scope, services }));
  const changesRecorded = recordedChanges(recorded);
  const nodes = topology ?? recordedNodes(recorded);

  const find = (list: readonly ChangeRequest[], a: MitigationAction): ChangeRequest | undefined => {
    const ref = changeRefOf(a);
    if (ref.id) return list.find((c) => c.id === ref.id);
    if (!ref.param) return undefined;
    return list.filter((c) => c.service === a.service && c.configChange?.param === ref.param).sort((x, y) => byCodeUnit(y.deployedAt, x.deployedAt))[0];
  };

  return (action: MitigationAction, forwardSucceeded: boolean): Facts => {
    const notes: string[] = [];
    const tier = nodes.find((n) => n.name === action.service)?.tier;
    const ref = changeRefOf(action);
    if (!ref.id && !ref.param) return { tier, notes };
    let change = live ? find(live, action) : undefined;
    if (change) {
      evidence.add({ id: `change:${change.id}`, kind: 'change', source: 'changes', summary: `${change.id} on ${change.service}: ${change.state}`, data: change });
      return { change, tier, notes };
    }
    change = find(changesRecorded, action);
    if (!change) return { tier, notes: [live ? 'the change is not in the change history' : 'the change history is unavailable and the change was never recorded'] };
    if (isUndo(action) && forwardSucceeded) {
      // What is known for sure: this incident's own action undid the change. The record predates it.
      notes.push(`${live ? 'the change is not in the change history' : 'the change history is unavailable'}: assumed rolled back by this incident's ${action.kind}`);
      return { change: { ...change, state: 'rolled-back' }, tier, notes };
    }
    notes.push(`${live ? 'the change is not in the change history' : 'the change history is unavailable'}: judged on the change as recorded at root-cause time (${change.state})`);
    return { change, tier, notes };
  };
};

/** The preconditions that fail (an action outside the catalog fails them all, naming why). */
const unmet = (action: MitigationAction, facts: Pick<ActionRequest, 'change' | 'tier'>): string[] => {
  try {
    return unmetAtExecution(action, facts);
  } catch (error) {
    return [(error as Error).message];
  }
};

/** The precondition check of one action (or inverse): a `skipped` result when a condition fails, else undefined. */
const precheck = (evidence: EvidenceLog, action: MitigationAction, facts: Facts, label: string, executedAt: string): ExecutedAction | undefined => {
  const failedConditions = unmet(action, facts);
  if (failedConditions.length === 0) return undefined;
  const detail = `precondition not met: ${failedConditions.join('; ')}${facts.notes.length ? ` (${facts.notes.join('; ')})` : ''}`;
  evidence.add({ id: label, kind: 'action', source: 'actions', summary: `${action.description}: skipped (${detail})`, data: { ...base(action), status: 'skipped' } });
  return { ...base(action), status: 'skipped', detail, executedAt };
};

/** Runs one action (or inverse): preconditions, then the port; every outcome is an ExecutedAction. */
const runOne = async (deps: AgentDeps, scope: ToolScope, incidentId: string, evidence: EvidenceLog, action: MitigationAction, facts: Facts, label: string): Promise<ExecutedAction> => {
  const executedAt = deps.clock().toISOString();
  const skipped = precheck(evidence, action, facts, label, executedAt);
  if (skipped) return skipped;
  return act(deps, scope, incidentId, evidence, action, facts, label, executedAt);
};

/** Calls the action port for one action (or inverse) whose preconditions hold. */
const act = async (deps: AgentDeps, scope: ToolScope, incidentId: string, evidence: EvidenceLog, action: MitigationAction, facts: Facts, label: string, executedAt: string): Promise<ExecutedAction> => {
  const tool = `actions.execute:${action.kind}${isUndo(action) ? ':undo' : ''}`;
  const result = await evidence.call(tool, () => deps.tools.actions.execute({ ...scope, incidentId, action }));
  const gap = evidence.items.find((e) => e.id === `gap:${tool}`);
  const status = result?.status ?? 'failed';
  const detail = (result?.detail ?? gap?.summary ?? 'action failed') + (facts.notes.length ? ` (${facts.notes.join('; ')})` : '');
  evidence.add({ id: label, kind: 'action', source: 'actions', summary: `${action.description}: ${status} (${detail})`, data: { ...base(action), status } });
  return { ...base(action), status, detail, executedAt };
};

/** What every step of one executor run shares. */
interface StepRun {
  readonly deps: ExecuteDeps;
  readonly scope: ToolScope;
  readonly incidentId: string;
  readonly evidence: EvidenceLog;
  /** The journal as read at the start of the run, by step key. */
  readonly known: ReadonlyMap<string, JournalEntry>;
  readonly timing: Required<JournalTiming>;
}

/** Attempts at recording a step's result when the journal fails transiently (0.5 s, 1 s, 2 s apart). */
const COMPLETE_ATTEMPTS = 4;
const COMPLETE_BACKOFF_MS = 500;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const timingOf = (t: JournalTiming = {}): Required<JournalTiming> => ({
  claimTimeoutMs: t.claimTimeoutMs ?? EXECUTOR_TIMEOUT_MS,
  inFlightWaitMs: t.inFlightWaitMs ?? 5_000,
  pollMs: t.pollMs ?? 100,
  sleep: t.sleep ?? defaultSleep,
});

/** The result reported for a step whose claim was left by an invocation that died: irreversible, so not repeated. */
export const unknownOutcome = (action: MitigationAction, entry: JournalEntry): ExecutedAction => ({
  ...base(action),
  status: 'skipped',
  detail: `outcome unknown: started at ${entry.claimedAt} by an invocation that never recorded its result; not run again because it cannot be undone — verification and the on-call decide whether it took effect`,
  executedAt: entry.claimedAt,
});

/**
 * Runs one step through the action journal (see the module comment and ../store/journal.ts): a done step's result
 * is used, a new step is claimed before it runs and completed after, a claim in flight is waited for, a dead
 * invocation's claim is never repeated when irreversible and is taken over when reversible.
 */
const runStep = async (s: StepRun, mode: JournalMode, action: MitigationAction, facts: Facts, label: string): Promise<ExecutedAction> => {
  const { deps, incidentId, evidence, timing } = s;
  const key = stepKey(mode, action);
  // The result is known only to this invocation: were it lost to a transient journal failure, the next attempt would
  // find the step claimed and never completed — an unknown outcome, or a reversible action run again. So the
  // completion (idempotent for this claim) is retried here before the error escapes to the state machine's Retry.
  const complete = async (claimId: string, result: ExecutedAction) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await deps.journal.complete(incidentId, key, claimId, result, deps.clock().toISOString());
        return result;
      } catch (error) {
        if (!isRetryable(error) || attempt >= COMPLETE_ATTEMPTS) throw error;
        await timing.sleep(COMPLETE_BACKOFF_MS * 2 ** (attempt - 1));
      }
    }
  };
  let entry = s.known.get(key);
  if (!entry) {
    const executedAt = deps.clock().toISOString();
    // Preconditions first: a step that cannot run is not claimed (it may run in a later attempt when they hold).
    const skipped = precheck(evidence, action, facts, label, executedAt);
    if (skipped) return skipped;
    const claimId = newClaimId();
    const outcome = await deps.journal.claim({ incidentId, mode, action, claimId, claimedAt: executedAt });
    if (outcome.claimed) return complete(claimId, await act(deps, s.scope, incidentId, evidence, action, facts, label, executedAt));
    entry = outcome.entry;
  }
  const waitUntil = Date.now() + timing.inFlightWaitMs;
  for (;;) {
    if (entry.state === 'done' && entry.result) {
      const r = entry.result;
      evidence.add({ id: label, kind: 'action', source: 'actions', summary: `${action.description}: already ${r.status} at ${r.executedAt} (action journal; not run again)`, data: { ...base(action), status: r.status } });
      return r;
    }
    const age = deps.clock().getTime() - Date.parse(entry.claimedAt);
    if (!(age >= timing.claimTimeoutMs)) {
      // Another invocation holds the step now (a duplicate invocation, a retry that overtook its predecessor).
      if (Date.now() >= waitUntil) throw new ActionInProgress(entry);
      await timing.sleep(timing.pollMs);
      entry = (await deps.journal.get(incidentId, key)) ?? entry;
      continue;
    }
    if (!entry.reversible) {
      const result = unknownOutcome(action, entry);
      evidence.add({ id: label, kind: 'action', source: 'actions', summary: `${action.description}: ${result.detail}`, data: { ...base(action), status: 'unknown' } });
      return result;
    }
    const claimId = newClaimId();
    const outcome = await deps.journal.takeOver(incidentId, key, entry.claimId, claimId, deps.clock().toISOString());
    if (!outcome.claimed) {
      entry = outcome.entry;
      continue;
    }
    const note = `an earlier attempt started at ${entry.claimedAt} never recorded its result; reversible, so run again behind its preconditions`;
    const result = await runOne(deps, s.scope, incidentId, evidence, action, { ...facts, notes: [...facts.notes, note] }, label);
    return complete(claimId, result);
  }
};

const line = (actions: readonly ExecutedAction[]) => actions.map((a) => `${a.kind} ${a.target ?? a.service}: ${a.status}`).join('; ');

const publishable = (actions: readonly ExecutedAction[]) =>
  actions.map((a) => ({ kind: a.kind, service: a.service, ...(a.target ? { target: a.target } : {}), status: a.status, detail: a.detail, executedAt: a.executedAt }));

/** Whether a human approved, or the policy (re-applied to these actions) allows running them unattended. */
const checkApproval = async (deps: AgentDeps, incident: IncidentMeta, plan: PlanOutput, policy: ApprovalPolicy): Promise<void> => {
  const status = incident.approval?.status;
  if (status === 'APPROVED' || status === 'AUTO_APPROVED') return;
  const decision = decide(plan.immediate, policy);
  if (!plan.autoApprove || !decision.autoApprove) {
    const why = !decision.autoApprove ? decision.reasons.join('; ') : 'the plan was not marked for auto-approval';
    throw new MitigationNotApproved(`incident ${incident.incidentId}: the plan needs approval and the approval is ${status ?? 'missing'} (${why})`);
  }
  await deps.store.updateIncident(incident.incidentId, { approval: { status: 'AUTO_APPROVED', decidedAt: deps.clock().toISOString(), approver: 'policy', comment: plan.rationale.slice(0, 500) } });
};

/** What an execution reads: the plan, its own earlier record (a retry), and the root cause's evidence (preconditions). */
const EXECUTION_READS = ['plan', 'execution', 'rootcause'] as const;

/** The journal of the incident by step key. */
const journalOf = async (deps: ExecuteDeps, incidentId: string): Promise<Map<string, JournalEntry>> => new Map((await deps.journal.list(incidentId)).map((e) => [e.key, e]));

const apply = async (deps: ExecuteDeps, incidentId: string, policy: ApprovalPolicy, timing: Required<JournalTiming>): Promise<ExecuteResult> => {
  const earlier = await loadIncident(deps, incidentId, EXECUTION_READS);
  const plan = earlier.output('plan', PlanOutput);
  if (!plan) throw new PlanNotFound(incidentId);
  const previous = earlier.output('execution', ExecutionOutput);
  // An execution record from before the journal existed: what it says succeeded is not run again either.
  const done = new Map((previous?.output.actions ?? []).filter((a) => a.status === 'succeeded').map((a) => [actionKey(a), a]));
  const known = await journalOf(deps, incidentId);

  const { output, incident } = await runAgent(deps, 'execution', incidentId, async ({ incident, scope, evidence }) => {
    await checkApproval(deps, incident, plan.output, policy);
    const fresh = (a: MitigationAction) => !done.has(actionKey(a)) && !known.get(stepKey('apply', a))?.result;
    const factsOf = await factFinder(deps, incident, scope, evidence, earlier, plan.output.immediate.filter(fresh));
    const steps: StepRun = { deps, scope, incidentId, evidence, known, timing };
    const actions: ExecutedAction[] = [];
    for (const [i, action] of plan.output.immediate.entries()) {
      const already = done.get(actionKey(action));
      // Kept as it was: the record must keep saying it succeeded, or a third attempt (or the undo) would not know.
      if (already && !known.has(stepKey('apply', action))) {
        evidence.add({ id: `action:${i + 1}:${action.kind}`, kind: 'action', source: 'actions', summary: `${action.description}: already executed at ${already.executedAt}`, data: { ...base(action), status: 'succeeded' } });
        actions.push(already);
        continue;
      }
      actions.push(await runStep(steps, 'apply', action, factsOf(action, false), `action:${i + 1}:${action.kind}`));
    }
    const offline: ExecutionOutput = { actions, executedAt: deps.clock().toISOString() };
    return { schema: ExecutionOutput, instructions: 'Report the executed actions as they happened.', offline };
  }, earlier);

  const succeeded = output.actions.filter((a) => a.status === 'succeeded');
  const failed = output.actions.filter((a) => a.status === 'failed');
  const skipped = output.actions.filter((a) => a.status === 'skipped');
  const planned = new Map(plan.output.immediate.map((a) => [actionKey(a), a]));
  const undoable = succeeded.some((a) => {
    const p = planned.get(actionKey(a));
    return !!p && !!inverseOf(p);
  });
  await deps.store.updateIncident(incidentId, { status: 'MITIGATING' });
  await deps.store.appendEvent(incidentId, {
    type: 'mitigation-executed',
    message: line(output.actions) || 'no action in the plan',
    actor: incident.approval?.approver ?? 'autopilot',
    data: { actions: output.actions },
  });
  await deps.events.publish('Mitigation Executed', {
    incidentId,
    service: incident.service,
    severity: incident.severity,
    title: incident.title,
    mode: 'apply',
    actions: publishable(output.actions),
    executedAt: output.executedAt,
  });
  if (output.actions.length > 0 && failed.length === output.actions.length) {
    throw new MitigationFailed(`incident ${incidentId}: every action failed: ${failed.map((a) => `${a.kind} (${a.detail})`).join('; ')}`);
  }
  const summary = `Executed ${succeeded.length}/${output.actions.length} action(s)${skipped.length ? `, ${skipped.length} skipped` : ''}: ${line(output.actions)}`;
  return { ...summarise(incidentId, 'execution', summary), mode: 'apply', undoable };
};

const undo = async (deps: ExecuteDeps, incidentId: string, timing: Required<JournalTiming>): Promise<ExecuteResult> => {
  const earlier = await loadIncident(deps, incidentId, EXECUTION_READS);
  const plan = earlier.output('plan', PlanOutput);
  if (!plan) throw new PlanNotFound(incidentId);
  const execution = earlier.output('execution', ExecutionOutput);
  if (!execution) throw new ExecutionNotFound(incidentId);
  const planned = new Map(plan.output.immediate.map((a) => [actionKey(a), a]));
  const undoneBefore = new Map((execution.output.undone ?? []).filter((a) => a.status === 'succeeded').map((a) => [actionKey(a), a]));
  // Undo in reverse order: the last action taken is the first one undone (like unwinding a stack).
  const ran = execution.output.actions.filter((a) => a.status === 'succeeded').reverse();
  const known = await journalOf(deps, incidentId);

  const { output, incident } = await runAgent(deps, 'execution', incidentId, async ({ incident, scope, evidence }) => {
    const status = incident.approval?.status;
    if (status !== 'APPROVED' && status !== 'AUTO_APPROVED') throw new MitigationNotApproved(`incident ${incidentId}: nothing to undo under an approval that is ${status ?? 'missing'}`);
    // The forward run's evidence stays in the record: the output still cites it.
    for (const e of execution.evidence) evidence.add(e);
    const inverses = ran.map((a) => planned.get(actionKey(a))).flatMap((p) => (p ? [inverseOf(p)].filter((x): x is MitigationAction => !!x) : []));
    const factsOf = await factFinder(deps, incident, scope, evidence, earlier, inverses.filter((a) => !undoneBefore.has(actionKey(a)) && !known.get(stepKey('undo', a))?.result));
    const steps: StepRun = { deps, scope, incidentId, evidence, known, timing };
    const undone: ExecutedAction[] = [];
    for (const [i, a] of ran.entries()) {
      const executedAt = deps.clock().toISOString();
      const original = planned.get(actionKey(a));
      const inverse = original ? inverseOf(original) : undefined;
      if (!original || !inverse) {
        const detail = original ? `no inverse: ${whyNoInverse(original)}` : 'not in the plan any more: its inverse is unknown';
        evidence.add({ id: `undo:${i + 1}:${a.kind}`, kind: 'action', source: 'actions', summary: `undo ${a.kind} ${a.target ?? a.service}: skipped (${detail})`, data: { ...base(a), status: 'skipped' } });
        undone.push({ ...base(a), status: 'skipped', detail, executedAt });
        continue;
      }
      const already = undoneBefore.get(actionKey(inverse));
      if (already && !known.has(stepKey('undo', inverse))) {
        undone.push(already);
        continue;
      }
      undone.push(await runStep(steps, 'undo', inverse, factsOf(inverse, true), `undo:${i + 1}:${a.kind}`));
    }
    const offline: ExecutionOutput = { ...execution.output, undone };
    return { schema: ExecutionOutput, instructions: 'Report the executed actions and the inverses run to undo them, as they happened.', offline };
  }, earlier);

  const undone = output.undone ?? [];
  const succeeded = undone.filter((a) => a.status === 'succeeded');
  const at = deps.clock().toISOString();
  await deps.store.appendEvent(incidentId, {
    type: 'mitigation-undone',
    message: `recovery not verified: ${line(undone) || 'nothing to undo'}`,
    actor: 'autopilot',
    data: { undone },
  });
  await deps.events.publish('Mitigation Executed', {
    incidentId,
    service: incident.service,
    severity: incident.severity,
    title: incident.title,
    mode: 'undo',
    actions: publishable(undone),
    executedAt: at,
  });
  return { ...summarise(incidentId, 'execution', `Undid ${succeeded.length}/${undone.length} action(s): ${line(undone) || 'nothing to undo'}`), mode: 'undo', undoable: false };
};

export const executeMitigation = (deps: ExecuteDeps, policy: ApprovalPolicy = DEFAULT_POLICY, journalTiming: JournalTiming = {}) => {
  const timing = timingOf(journalTiming);
  return async (task: ExecuteTask): Promise<ExecuteResult> => (task.mode === 'undo' ? undo(deps, task.incidentId, timing) : apply(deps, task.incidentId, policy, timing));
};
