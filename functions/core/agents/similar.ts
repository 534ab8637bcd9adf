/**
 * Similar-incidents agent: searches the incident history (`changes.searchIncidents`) with keywords from the
 * alert and its service's neighbourhood, then ranks the candidates itself (analysis/similar.ts: BM25 text
 * relevance combined with same-service, same-category and shared-tag matches). The vendor's own ranking is
 * not trusted: it only gathers candidates.
 */
import type { AgentDeps } from '../deps.ts';
import { explainMatch, keywords, rankIncidents } from '../analysis/similar.ts';
import { type AgentSummary, type AgentTask, SimilarOutput } from '../model.ts';
import type { PastIncident } from '../tools/ports.ts';
import { topologyNeighbourhood } from './impact.ts';
import { IncidentNotFound, type IncidentDetail } from '../store/store.ts';
import { type AgentContext, IncidentSnapshot, runAgent, summarise } from './runtime.ts';

/** Below this combined score a match is reported but its runbook is not suggested. */
export const RUNBOOK_MIN_SCORE = 0.4;
const CANDIDATES = 25;

const analyse = async (ctx: AgentContext, detail: IncidentDetail) => {
  const { incident, scope, evidence, deps } = ctx;
  const alert = detail.alerts.find((a) => !a.deduplicated)?.alert ?? detail.alerts[0]?.alert;
  const extraText = [alert?.description ?? '', ...Object.entries(alert?.tags ?? {}).map(([k, v]) => `${k} ${v}`)].join(' ');

  const nodes = (await evidence.call('telemetry', () => deps.tools.telemetry.getTopology({ ...scope, services: [incident.service] }))) ?? [];
  const hood = topologyNeighbourhood(nodes, incident.service, 1, 1);
  const neighbours = hood.services.filter((s) => s !== incident.service);
  if (nodes.length > 0)
    evidence.add({ id: `topology:${incident.service}`, kind: 'topology', source: 'telemetry', summary: `${incident.service} neighbours: ${neighbours.join(', ') || 'none known'}`, data: { callers: hood.callers, callees: hood.callees } });

  // Candidates: a search scoped to the service and its neighbours, and an unscoped one (the same failure
  // mode on another service is still a lesson).
  const text = keywords(`${incident.title} ${extraText} ${incident.service}`).slice(0, 20).join(' ');
  const scoped = await evidence.call('changes', () => deps.tools.changes.searchIncidents({ ...scope, text, services: [incident.service, ...neighbours], limit: CANDIDATES }));
  const unscoped = await evidence.call('changes', () => deps.tools.changes.searchIncidents({ ...scope, text, limit: CANDIDATES }));
  const candidates: PastIncident[] = [...(scoped ?? []), ...(unscoped ?? [])];
  const historyUnavailable = scoped === undefined && unscoped === undefined;

  const ranked = rankIncidents({ title: incident.title, service: incident.service, neighbours, text: extraText }, candidates);
  const top = ranked.slice(0, 3);
  for (const r of top) {
    const i = r.incident;
    evidence.add({
      id: `incident:${i.id}`,
      kind: 'incident',
      source: 'changes',
      summary: `${i.id} "${i.title}" on ${i.service}: ${i.rootCause}${i.resolutionMinutes !== undefined ? ` (resolved in ${i.resolutionMinutes} min)` : ''}`,
      data: { score: r.score, components: r.components, category: i.category, tags: i.tags, resolution: i.resolution, openedAt: i.openedAt },
    });
  }

  const best = top[0];
  const runbook = best && best.score >= RUNBOOK_MIN_SCORE ? best.incident.resolution : undefined;
  const reasoning = historyUnavailable
    ? 'The incident history could not be searched.'
    : top.length === 0
      ? `No past incident matched "${text}".`
      : [
          `Ranked ${ranked.length} past incident(s) by BM25 text relevance and structured matches.`,
          `Best: ${explainMatch(best)}.`,
          ...top.slice(1).map((r) => `Also: ${explainMatch(r)}.`),
          runbook ? `Suggested runbook from ${best.incident.id}: ${runbook}` : `No match reaches ${RUNBOOK_MIN_SCORE}, so no runbook is suggested.`,
        ].join(' ');

  const offline: SimilarOutput = {
    incidents: top.map((r) => ({
      id: r.incident.id,
      title: r.incident.title,
      score: r.score,
      rootCause: r.incident.rootCause,
      resolution: r.incident.resolution,
      resolutionMinutes: r.incident.resolutionMinutes,
      evidenceIds: [`incident:${r.incident.id}`],
    })),
    topMatch: best?.incident.id,
    suggestedRunbook: runbook,
    reasoning,
    evidenceIds: [...top.map((r) => `incident:${r.incident.id}`), ...(evidence.has('gap:changes') ? ['gap:changes'] : [])],
  };
  return {
    schema: SimilarOutput,
    instructions:
      'Rank the past incidents most similar to this one (at most 3, scores in [0,1]), name the top match, suggest the runbook that resolved it if it applies, and explain why. Cite incident evidence ids.',
    offline,
  };
};

export const findSimilar =
  (deps: AgentDeps) =>
  async (task: AgentTask): Promise<AgentSummary> => {
    // The alert's own words (description, tags) are only in the alert items, so the whole partition is read, once,
    // and the agent runs on it rather than reading the incident again.
    const detail = await deps.store.getDetail(task.incidentId);
    if (!detail) throw new IncidentNotFound(task.incidentId);
    const read = new IncidentSnapshot({ incident: detail.incident, records: detail.agents }, []);
    const { output } = await runAgent(deps, 'similar', task.incidentId, (ctx) => analyse(ctx, detail), read);
    const best = output.incidents[0];
    return summarise(task.incidentId, 'similar', best ? `top match ${best.id} (${best.score.toFixed(2)}) "${best.title}"${output.suggestedRunbook ? `; runbook: ${output.suggestedRunbook}` : ''}` : 'no similar past incident');
  };
