/**
 * Execution agent: runs the plan's immediate actions through the action port, in order, and writes an
 * ExecutionOutput (AGENT#execution). It refuses to act on a plan that was neither auto-approved by the policy
 * nor approved by a human, and it does not repeat an action a previous attempt already completed (a Lambda
 * retry must not roll back twice).
 */
import type { AgentDeps } from '../deps.ts';
import { type AgentSummary, type AgentTask, ExecutionOutput, PlanOutput } from '../model.ts';
import { PlanNotFound } from './plan.ts';
import { earlierOutput, runAgent, summarise } from './runtime.ts';

export class MitigationNotApproved extends Error {
  override name = 'MitigationNotApproved';
}

/** Every action failed: nothing changed, so verification would only wait for nothing. */
export class MitigationFailed extends Error {
  override name = 'MitigationFailed';
}

const actionKey = (a: { kind: string; service: string; target?: string }) => `${a.kind}|${a.service}|${a.target ?? ''}`;

export const executeMitigation =
  (deps: AgentDeps) =>
  async ({ incidentId }: AgentTask): Promise<AgentSummary> => {
    const plan = await earlierOutput(deps, incidentId, 'plan', PlanOutput);
    if (!plan) throw new PlanNotFound(incidentId);
    const previous = await earlierOutput(deps, incidentId, 'execution', ExecutionOutput);
    const done = new Map((previous?.output.actions ?? []).filter((a) => a.status === 'succeeded').map((a) => [actionKey(a), a.executedAt]));

    const { output, incident } = await runAgent(deps, 'execution', incidentId, async ({ incident, scope, evidence }) => {
      const approval = incident.approval;
      const approved = approval?.status === 'APPROVED' || approval?.status === 'AUTO_APPROVED';
      if (!approved && !plan.output.autoApprove) {
        throw new MitigationNotApproved(`incident ${incidentId}: the plan needs approval and the approval is ${approval?.status ?? 'missing'}`);
      }
      if (!approved) {
        await deps.store.updateIncident(incidentId, { approval: { status: 'AUTO_APPROVED', decidedAt: deps.clock().toISOString(), approver: 'policy', comment: plan.output.rationale.slice(0, 500) } });
      }
      const actions: ExecutionOutput['actions'] = [];
      for (const [i, action] of plan.output.immediate.entries()) {
        const executedAt = deps.clock().toISOString();
        const base = { kind: action.kind, service: action.service, ...(action.target ? { target: action.target } : {}) };
        const already = done.get(actionKey(action));
        if (already) {
          actions.push({ ...base, status: 'skipped', detail: `already executed at ${already}`, executedAt });
          continue;
        }
        const result = await evidence.call(`actions.execute:${action.kind}`, () => deps.tools.actions.execute({ ...scope, incidentId, action }));
        const failure = evidence.items.find((e) => e.id === `gap:actions.execute:${action.kind}`);
        const status = result?.status ?? 'failed';
        const detail = result?.detail ?? failure?.summary ?? 'action failed';
        evidence.add({ id: `action:${i + 1}:${action.kind}`, kind: 'action', source: 'actions', summary: `${action.description}: ${status} (${detail})`, data: { ...base, status } });
        actions.push({ ...base, status, detail, executedAt });
      }
      const offline: ExecutionOutput = { actions, executedAt: deps.clock().toISOString() };
      return { schema: ExecutionOutput, instructions: 'Report the executed actions as they happened.', offline };
    });

    const succeeded = output.actions.filter((a) => a.status !== 'failed');
    const failed = output.actions.filter((a) => a.status === 'failed');
    await deps.store.updateIncident(incidentId, { status: 'MITIGATING' });
    await deps.store.appendEvent(incidentId, {
      type: 'mitigation-executed',
      message: output.actions.map((a) => `${a.kind} ${a.target ?? a.service}: ${a.status}`).join('; ') || 'no action in the plan',
      actor: incident.approval?.approver ?? 'autopilot',
      data: { actions: output.actions },
    });
    await deps.events.publish('Mitigation Executed', {
      incidentId,
      service: incident.service,
      severity: incident.severity,
      title: incident.title,
      actions: output.actions.map((a) => ({ kind: a.kind, service: a.service, ...(a.target ? { target: a.target } : {}), status: a.status, detail: a.detail, executedAt: a.executedAt })),
      executedAt: output.executedAt,
    });
    if (output.actions.length > 0 && succeeded.length === 0) {
      throw new MitigationFailed(`incident ${incidentId}: every action failed: ${failed.map((a) => `${a.kind} (${a.detail})`).join('; ')}`);
    }
    return summarise(incidentId, 'execution', `Executed ${succeeded.length}/${output.actions.length} action(s): ${output.actions.map((a) => `${a.kind} ${a.target ?? a.service} ${a.status}`).join('; ')}`);
  };
