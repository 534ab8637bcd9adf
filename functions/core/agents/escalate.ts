/**
 * Escalation: hands the incident to humans when nobody approved in time or the metrics did not recover.
 * Marks the incident ESCALATED (outcome = the reason), expires a still-pending approval on timeout (so a late
 * click cannot start a mitigation nobody is watching), and names who is paged: the teams triage engaged,
 * or — without a triage record — the on-call of the incident's service.
 */
import * as z from 'zod';
import type { AgentDeps } from '../deps.ts';
import { TriageOutput } from '../model.ts';
import { clipSummary, loadIncident } from './runtime.ts';

export const EscalationReason = z.enum(['approval-timeout', 'not-recovered']);
export type EscalationReason = z.infer<typeof EscalationReason>;

export const EscalateTask = z.object({
  incidentId: z.string().min(1).max(128),
  reason: EscalationReason,
});
export type EscalateTask = z.infer<typeof EscalateTask>;

export interface EscalateResult {
  readonly incidentId: string;
  readonly reason: EscalationReason;
  readonly contacts: readonly string[];
  readonly summary: string;
}

const REASON_TEXT: Record<EscalationReason, string> = {
  'approval-timeout': 'nobody approved or rejected the mitigation before the deadline',
  'not-recovered': 'the metrics did not return to baseline after the mitigation',
};

export const escalate =
  (deps: AgentDeps) =>
  async ({ incidentId, reason }: EscalateTask): Promise<EscalateResult> => {
    const earlier = await loadIncident(deps, incidentId, ['triage']);
    const { incident } = earlier;
    const triage = earlier.output('triage', TriageOutput);

    let contacts = (triage?.output.teamsToEngage ?? []).map(
      (t) => `${t.team} (${t.service}): on-call ${t.oncall} <${t.contact}>${t.escalation ? `, escalation ${t.escalation}` : ''}${t.slackChannel ? `, ${t.slackChannel}` : ''}`,
    );
    if (contacts.length === 0) {
      // No triage record: ask the on-call tool directly; a failure there must not stop the escalation.
      const entries = await deps.tools.oncall.getOnCall({ environment: incident.environment, services: [incident.service] }).catch(() => []);
      contacts = entries.map((e) => `${e.service}: on-call ${e.primary.name} <${e.primary.contact}>${e.escalation ? `, escalation ${e.escalation.name} <${e.escalation.contact}>` : ''}`);
    }
    if (contacts.length === 0) contacts = [`the owner of ${incident.service} (no on-call found)`];

    const now = deps.clock().toISOString();
    const expire = reason === 'approval-timeout' && incident.approval?.status === 'PENDING';
    await deps.store.updateIncident(incidentId, {
      status: 'ESCALATED',
      outcome: reason,
      ...(expire ? { approval: { ...incident.approval!, status: 'EXPIRED', decidedAt: now } } : {}),
    });
    const summary = `Escalated: ${REASON_TEXT[reason]}. Paging ${contacts.join('; ')}`;
    await deps.store.appendEvent(incidentId, { type: 'escalated', message: summary, actor: 'autopilot', data: { reason, contacts, approvalExpired: expire } });
    return { incidentId, reason, contacts, summary: clipSummary(summary) };
  };
