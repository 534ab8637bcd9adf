/**
 * Report agent: decides the outcome, writes the RCA / postmortem markdown (AGENT#report, and `<reportDir>/
 * <incidentId>.md` when configured), closes the incident, remembers a resolved incident in the history so
 * the similar-incident search improves, and returns the outcome event for the state machine to publish.
 *
 * Outcome:
 *   approval WITHDRAWN (every alert resolved while it was pending) → RESOLVED, 'self-recovered' (nothing executed)
 *   approval REJECTED                        → ESCALATED, 'rejected'  (mitigation refused: humans own it)
 *   verification recovered                   → RESOLVED,  'resolved'
 *   no action, nothing was anomalous         → RESOLVED,  'no-action' (false alarm)
 *   no action, root cause abstained / no runbook → ESCALATED, 'escalated'
 *   anything else (timed out, not recovered) → ESCALATED, 'escalated'
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as z from 'zod';
import type { AgentDeps } from '../deps.ts';
import {
  type AgentName,
  type AgentRecord,
  type AgentTask,
  type Evidence,
  ExecutionOutput,
  ImpactOutput,
  type IncidentStatus,
  PlanOutput,
  ReportOutput,
  RootCauseOutput,
  TriageOutput,
  VerificationOutput,
} from '../model.ts';
import { IncidentNotFound, type IncidentDetail, type IncidentMeta } from '../store/store.ts';
import { IncidentSnapshot, runAgent, summarise } from './runtime.ts';
import { byCodeUnit } from '../compare.ts';
import { mdAuthored, mdCell as cell, mdCode, mdText as t } from '../text.ts';

export interface ReportOptions {
  /** Also write `<reportDir>/<incidentId>.md` (directories created) and use that path as the location. */
  readonly reportDir?: string;
}

export type OutcomeDetailType = 'Incident Resolved' | 'Incident Escalated';

export interface OutcomeDetail {
  readonly incidentId: string;
  readonly status: IncidentStatus;
  readonly severity: string;
  readonly service: string;
  readonly title: string;
  readonly outcome: ReportOutput['outcome'];
  readonly rootCause?: { readonly summary: string; readonly changeId?: string; readonly confidence: number };
  readonly durationSeconds: number;
  readonly reportLocation: string;
}

export interface ReportResult {
  readonly incidentId: string;
  readonly agent: 'report';
  readonly summary: string;
  readonly detailType: OutcomeDetailType;
  readonly detail: OutcomeDetail;
}

export class InvalidIncidentId extends Error {
  override name = 'InvalidIncidentId';
}

/** The outputs the report reads (each may be missing: the workflow can end early). */
export interface ReportInputs {
  readonly incident: IncidentMeta;
  readonly impact?: ImpactOutput;
  readonly triage?: TriageOutput;
  readonly rootcause?: RootCauseOutput;
  readonly plan?: PlanOutput;
  readonly execution?: ExecutionOutput;
  readonly verification?: VerificationOutput;
  /**
   * Why the impact agent could read no metric at all (its telemetry gaps), if so. "No anomaly" then means "not
   * looked at", not "healthy": the incident must not close as a false alarm while the monitoring is down.
   */
  readonly metricsUnread?: string;
  /** Stored agent outputs that do not match their schema (a record written by another version, say), left out. */
  readonly unreadable?: readonly { readonly agent: AgentName; readonly issue: string }[];
}

export interface Outcome {
  readonly status: 'RESOLVED' | 'ESCALATED';
  readonly outcome: ReportOutput['outcome'];
  readonly why: string;
}

export const decideOutcome = (inputs: ReportInputs): Outcome => {
  const { incident, impact, rootcause, plan, verification } = inputs;
  if (incident.approval?.status === 'WITHDRAWN') {
    const alerts = incident.distinctAlerts ? ` (${incident.resolvedAlerts ?? incident.distinctAlerts} of ${incident.distinctAlerts})` : '';
    return {
      status: 'RESOLVED',
      outcome: 'self-recovered',
      why: `every alert${alerts} resolved on its own while the mitigation awaited approval: the approval was withdrawn and nothing was executed`,
    };
  }
  if (incident.approval?.status === 'REJECTED') {
    return { status: 'ESCALATED', outcome: 'rejected', why: `the mitigation was rejected${incident.approval.approver ? ` by ${incident.approval.approver}` : ''}: humans own the incident` };
  }
  if (verification?.recovered) return { status: 'RESOLVED', outcome: 'resolved', why: 'the metrics returned to their baseline after the mitigation' };
  if (plan && plan.immediate.length === 0) {
    if (impact && impact.anomalies.length === 0 && inputs.metricsUnread === undefined) return { status: 'RESOLVED', outcome: 'no-action', why: 'no metric deviated from its baseline: a false alarm, nothing to do' };
    if (inputs.metricsUnread !== undefined) {
      return { status: 'ESCALATED', outcome: 'escalated', why: `no metric could be read (${inputs.metricsUnread}), so nothing shows this is a false alarm: humans must look` };
    }
    return {
      status: 'ESCALATED',
      outcome: 'escalated',
      why: rootcause?.abstained ? 'the root cause could not be determined, so no automatic action was taken' : 'no runbook applies to the root cause',
    };
  }
  if (incident.status === 'ESCALATED') return { status: 'ESCALATED', outcome: 'escalated', why: incident.outcome === 'approval-timeout' ? 'nobody decided on the mitigation before the deadline' : 'the metrics did not recover after the mitigation' };
  return { status: 'ESCALATED', outcome: 'escalated', why: 'the incident was not confirmed resolved' };
};

const MARK = { supported: '✔ supported', refuted: '✘ refuted', inconclusive: '? inconclusive' } as const;

/**
 * The RCA markdown. Pure: everything it shows comes from `inputs` and `detail`. Every string interpolated into it
 * is untrusted (alert text, tool output, agent output built from both, human input) and goes through the
 * neutraliser of its context (functions/core/text.ts): `t` inline text, `cell` a table cell, `mdCode` a code span.
 * Numbers are interpolated as they are (schema-checked numbers); the report's own words and markers are literal.
 */
export const renderReport = (
  inputs: ReportInputs,
  outcome: Outcome,
  context: { readonly detail: IncidentDetail; readonly evidence: ReadonlyMap<string, Evidence>; readonly closedAt: string; readonly durationSeconds: number },
): string => {
  const { incident, impact, triage, rootcause, plan, execution, verification } = inputs;
  const out: string[] = [];
  const line = (s = '') => out.push(s);
  const top = rootcause && !rootcause.abstained ? rootcause.rootCauses[0] : undefined;

  line(`# Incident report — ${t(incident.title)}`);
  line();
  line(`| Incident | Service | Severity | Outcome | Started | Closed | Duration |`);
  line(`|---|---|---|---|---|---|---|`);
  line(`| ${cell(incident.incidentId)} | ${cell(incident.service)} | ${cell(incident.severity)} | ${outcome.status} (${outcome.outcome}) | ${cell(incident.startedAt)} | ${cell(context.closedAt)} | ${Math.round(context.durationSeconds / 60)} min |`);
  line();
  line('## Summary');
  line();
  line(`${t(triage?.headline ?? incident.title)}. Outcome: **${outcome.status.toLowerCase()}** — ${t(outcome.why)}.`);
  if (top) line(`Root cause: ${t(top.summary)} (confidence ${top.confidence}).`);
  if (triage?.narrative) {
    line();
    line(t(triage.narrative));
  }
  line();

  line('## Impact');
  line();
  if (!impact) line('_The impact analysis did not run._');
  else if (inputs.metricsUnread !== undefined) {
    // Zero users and "no deviation" would read as a measured all-clear: nothing was measured.
    line(`Severity ${t(impact.severity)} (from the alert). Impact not measured: no metric could be read (${t(inputs.metricsUnread)}).`);
  } else {
    // The incident's severity is the alert's raised by the measurement, never lowered (impact.ts): say when they differ.
    const measured = impact.severity === incident.severity ? `Severity ${t(impact.severity)}` : `Measured severity ${t(impact.severity)} (the incident keeps the alert's ${t(incident.severity)}: a measurement never lowers it)`;
    line(`${measured}; about ${impact.usersImpacted} users and ${impact.revenuePerMinute}/min of revenue affected; blast radius: ${impact.blastRadius.map(t).join(', ') || 'none'}.`);
    if (impact.anomalies.length > 0) {
      line();
      line('| Service | Metric | Baseline | During | Score | Onset |');
      line('|---|---|---|---|---|---|');
      for (const a of impact.anomalies) line(`| ${cell(a.service)} | ${cell(a.metric)} | ${a.baseline} | ${a.current} | ${a.score} | ${cell(a.onset)} |`);
    } else line('No metric deviated from its baseline.');
  }
  line();

  line('## Timeline');
  line();
  const agentTimes = Object.values(context.detail.agents)
    .filter((r): r is NonNullable<typeof r> => !!r)
    .map((r) => ({ at: r.completedAt, text: `${t(r.agent)} agent completed (${r.latencyMs} ms, ${t(r.reasoner)})` }));
  const events = [
    { at: incident.startedAt, text: 'problem started (per the alert)' },
    ...(impact?.onset ? [{ at: impact.onset, text: 'first anomaly onset (telemetry)' }] : []),
    ...context.detail.timeline.map((e) => ({ at: e.at, text: `${t(e.type)}: ${t(e.message)}${e.actor ? ` (${t(e.actor)})` : ''}` })),
    ...agentTimes,
  ].sort((a, b) => byCodeUnit(a.at, b.at));
  for (const e of events) line(`- ${t(e.at)} — ${e.text}`);
  line();

  line('## Root cause');
  line();
  if (!rootcause) line('_The root-cause analysis did not run._');
  else if (!top) {
    line(`Undetermined: the analysis abstained. Missing evidence: ${rootcause.missingEvidence.map(t).join('; ') || 'none listed'}.`);
  } else {
    line(`**${t(top.summary)}** — category ${t(top.category)}, service ${t(top.service)}${top.changeId ? `, change ${t(top.changeId)}` : ''}, confidence ${top.confidence}.`);
    line();
    line('Predictions tested:');
    for (const p of top.predictions) line(`- ${MARK[p.result]}: ${t(p.statement)}${p.evidenceIds.length ? ` [${p.evidenceIds.map(t).join(', ')}]` : ''}`);
    line();
    line('Evidence:');
    for (const id of top.evidenceIds) line(`- ${mdCode(id)} — ${t(context.evidence.get(id)?.summary ?? '(cited by an earlier agent)')}`);
  }
  line();

  line('## Hypotheses considered');
  line();
  if (rootcause) {
    for (const [i, h] of rootcause.rootCauses.entries()) {
      const refuted = h.predictions.filter((p) => p.result === 'refuted');
      line(`${i + 1}. ${t(h.summary)} — confidence ${h.confidence}${refuted.length ? `; refuted: ${refuted.map((p) => t(p.statement)).join('; ')}` : ''}`);
    }
    if (rootcause.rootCauses.length === 0) line('None: there was nothing anomalous to explain.');
    line();
    line(t(rootcause.reasoning));
  } else line('_None._');
  line();

  line('## Actions taken');
  line();
  if (execution && execution.actions.length > 0) {
    for (const a of execution.actions) line(`- ${t(a.executedAt)} — ${t(a.kind)} on ${t(a.service)}${a.target ? ` (${t(a.target)})` : ''}: **${t(a.status)}** — ${t(a.detail)}`);
    if (execution.undone && execution.undone.length > 0) {
      line();
      line('Recovery was not verified, so the actions were undone:');
      for (const a of execution.undone) line(`- ${t(a.executedAt)} — undo: ${t(a.kind)} on ${t(a.service)}${a.target ? ` (${t(a.target)})` : ''}: **${t(a.status)}** — ${t(a.detail)}`);
    }
  } else if (plan && plan.immediate.length > 0) {
    line('None executed. Proposed:');
    for (const a of plan.immediate) line(`- ${t(a.description)} (${t(a.risk)} risk, ${a.reversible ? 'reversible' : 'not reversible'})`);
  } else line('None.');
  if (plan?.rationale) {
    line();
    line(`Plan rationale: ${t(plan.rationale)}`);
  }
  line();

  line('## Approval');
  line();
  const ap = incident.approval;
  if (!ap) line(plan && plan.immediate.length > 0 ? 'No approval recorded.' : 'Not needed: no action was planned.');
  else if (ap.status === 'AUTO_APPROVED') line(`Auto-approved by policy at ${t(ap.decidedAt ?? '?')} (every action low risk and reversible).`);
  else if (ap.status === 'WITHDRAWN') {
    line(`Withdrawn at ${t(ap.decidedAt ?? '?')} before anyone decided${ap.requestedAt ? ` (requested ${t(ap.requestedAt)}${ap.channel ? ` via ${t(ap.channel)}` : ''})` : ''}: ${t(ap.comment ?? 'every alert resolved')}.`);
    line('The incident self-recovered: the proposed mitigation was not executed. Review whether the cause can recur.');
  }
  else {
    line(`Status **${t(ap.status)}**${ap.approver ? ` by ${t(ap.approver)}` : ''}${ap.decidedAt ? ` at ${t(ap.decidedAt)}` : ''}${ap.channel ? ` via ${t(ap.channel)}` : ''}.`);
    if (ap.requestedAt) line(`Requested ${t(ap.requestedAt)}${ap.expiresAt ? `, deadline ${t(ap.expiresAt)}` : ''}.`);
    if (ap.comment) line(`Comment: "${t(ap.comment)}"`);
  }
  line();

  line('## Verification');
  line();
  if (!verification) line('Not performed.');
  else {
    line(`Check ${verification.attempt} at ${t(verification.checkedAt)}: ${verification.recovered ? 'recovered' : 'not recovered'}.`);
    line();
    line('| Service | Metric | Baseline | Before | After | Recovered |');
    line('|---|---|---|---|---|---|');
    for (const c of verification.checks) line(`| ${cell(c.service)} | ${cell(c.metric)} | ${c.baseline} | ${c.before} | ${c.after < 0 ? 'no data' : c.after} | ${c.recovered ? 'yes' : 'no'} |`);
  }
  line();

  line('## Follow-ups');
  line();
  for (const f of plan?.longTerm ?? []) line(`- [ ] ${t(f)}`);
  if (!plan?.longTerm.length) line('- [ ] Postmortem review');
  for (const u of inputs.unreadable ?? []) line(`- [ ] Repair the stored ${t(u.agent)} record, left out of this report: it does not match its schema (${t(u.issue)})`);
  line();
  return out.join('\n');
};

/** Undefined when the impact agent read metrics; else what kept it from them (its gaps), or that it never ran. */
export const metricsUnread = (impact: AgentRecord | undefined): string | undefined => {
  if (!impact) return 'the impact agent did not run';
  if (impact.evidence.some((e) => e.kind === 'metric')) return undefined;
  const gaps = impact.evidence.filter((e) => e.kind === 'gap').map((e) => e.summary);
  return gaps.length > 0 ? gaps.join('; ') : 'the telemetry returned no series for these services';
};

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export const writeReport =
  (deps: AgentDeps, options: ReportOptions = {}) =>
  async ({ incidentId }: AgentTask): Promise<ReportResult> => {
    const detail = await deps.store.getDetail(incidentId);
    if (!detail) throw new IncidentNotFound(incidentId);
    if (options.reportDir && (!SAFE_ID.test(incidentId) || incidentId.includes('..'))) throw new InvalidIncidentId(`incident id "${incidentId}" cannot name a report file`);
    // Each stored output is checked against its schema: one that does not match (written by another version, or
    // edited by hand) is left out as if its agent had not run, and the report says so, rather than the report
    // failing on it or rendering garbage. Leaving, say, the verification out can only make the outcome more careful.
    const unreadable: { agent: AgentName; issue: string }[] = [];
    const outputOf = <T>(agent: AgentName, schema: z.ZodType<T>): T | undefined => {
      const stored = detail.agents[agent]?.output;
      if (stored === undefined) return undefined;
      const parsed = schema.safeParse(stored);
      if (parsed.success) return parsed.data;
      const issue = parsed.error.issues[0];
      unreadable.push({ agent, issue: issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid' });
      return undefined;
    };
    const inputs: ReportInputs = {
      incident: detail.incident,
      impact: outputOf('impact', ImpactOutput),
      triage: outputOf('triage', TriageOutput),
      rootcause: outputOf('rootcause', RootCauseOutput),
      plan: outputOf('plan', PlanOutput),
      execution: outputOf('execution', ExecutionOutput),
      verification: outputOf('verification', VerificationOutput),
      metricsUnread: metricsUnread(detail.agents.impact),
      unreadable,
    };
    const outcome = decideOutcome(inputs);
    const evidence = new Map(Object.values(detail.agents).flatMap((r) => (r?.evidence ?? []).map((e) => [e.id, e] as const)));
    const location = options.reportDir ? join(options.reportDir, `${incidentId}.md`) : `dynamodb://${incidentId}/AGENT#report`;

    // The whole partition was just read: the agent runs on it rather than reading the incident again.
    const read = new IncidentSnapshot({ incident: detail.incident, records: detail.agents }, []);
    const { output, incident } = await runAgent(deps, 'report', incidentId, async () => {
      const closedAt = deps.clock().toISOString();
      const durationSeconds = Math.max(0, Math.round((Date.parse(closedAt) - Date.parse(detail.incident.startedAt)) / 1000));
      const markdown = renderReport(inputs, outcome, { detail, evidence, closedAt, durationSeconds });
      return {
        schema: ReportOutput,
        instructions: 'Write the RCA report in markdown from the incident record; keep the outcome and location as given.',
        offline: { markdown, location, outcome: outcome.outcome },
        // A model that rewrote the report read the alert's text too: what it wrote is neutralised like any other
        // untrusted Markdown before it is stored or written. The rendered report is already safe.
        finish: (o: ReportOutput) => (o.markdown === markdown ? o : { ...o, markdown: mdAuthored(o.markdown) }),
      };
    }, read);
    if (options.reportDir) {
      await mkdir(options.reportDir, { recursive: true });
      await writeFile(location, output.markdown, 'utf8');
    }

    const now = deps.clock();
    const durationSeconds = Math.max(0, Math.round((now.getTime() - Date.parse(incident.startedAt)) / 1000));
    const resolved = outcome.status === 'RESOLVED';
    const updated = await deps.store.updateIncident(incidentId, {
      status: outcome.status,
      outcome: outcome.outcome,
      reportLocation: location,
      ...(resolved ? { resolvedAt: now.toISOString() } : {}),
    });
    await deps.store.appendEvent(incidentId, { type: 'report-written', message: `Report written (${outcome.outcome}): ${location}`, actor: 'autopilot', data: { location, outcome: outcome.outcome } });

    const top = inputs.rootcause && !inputs.rootcause.abstained ? inputs.rootcause.rootCauses[0] : undefined;
    // A rerun of an incident people already resolved leaves their cause and fix in the history (functions/resolve-incident).
    if (outcome.outcome === 'resolved' && !incident.resolution) {
      // Remember what worked, so the next similar incident finds it. Losing this must not lose the report.
      const worked = (inputs.execution?.actions ?? []).filter((a) => a.status === 'succeeded');
      const planned = new Map((inputs.plan?.immediate ?? []).map((a) => [`${a.kind}|${a.service}|${a.target ?? ''}`, a.description]));
      const resolution = worked.map((a) => planned.get(`${a.kind}|${a.service}|${a.target ?? ''}`) ?? `${a.kind} ${a.target ?? a.service}`).join('; ') || 'recovered after mitigation';
      try {
        await deps.tools.changes.recordIncident({
          environment: incident.environment,
          incident: {
            id: incidentId,
            title: inputs.triage?.headline ?? incident.title,
            service: incident.service,
            openedAt: incident.startedAt,
            resolvedAt: now.toISOString(),
            ...(top ? { category: top.category } : {}),
            rootCause: top?.summary ?? 'undetermined',
            resolution,
            resolutionMinutes: Math.round(durationSeconds / 60),
            tags: [...new Set([incident.service, ...(top ? [top.category, top.service] : []), ...(top?.changeId ? [top.changeId] : []), ...worked.map((a) => a.kind)])],
          },
        });
      } catch (error) {
        await deps.store.appendEvent(incidentId, { type: 'history-not-updated', message: `Could not add the incident to the history: ${error instanceof Error ? error.message : String(error)}`, actor: 'autopilot' });
      }
    }

    const eventDetail: OutcomeDetail = {
      incidentId,
      status: outcome.status,
      severity: updated.severity,
      service: updated.service,
      title: updated.title,
      outcome: outcome.outcome,
      ...(top ? { rootCause: { summary: top.summary, ...(top.changeId ? { changeId: top.changeId } : {}), confidence: top.confidence } } : {}),
      durationSeconds,
      reportLocation: location,
    };
    return {
      ...summarise(incidentId, 'report', `${outcome.status} (${outcome.outcome}): ${outcome.why}. Report at ${location}`),
      agent: 'report',
      detailType: resolved ? 'Incident Resolved' : 'Incident Escalated',
      detail: eventDetail,
    };
  };
