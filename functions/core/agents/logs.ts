/**
 * Logs agent: WARN-and-above logs of the alert service's neighbourhood, mined into templates (analysis/logs.ts), each
 * compared with a baseline window just before: templates that are new, or far more frequent than the
 * baseline rate explains (a Poisson tail test), are the incident's log signature. `firstErrorAt` is the
 * first line of the earliest new/spiking error template.
 *
 * The services are the alert's service and its topology neighbourhood — the same the impact agent examines —
 * not the impact agent's output: the three investigation agents run in parallel.
 */
import type { AgentDeps } from '../deps.ts';
import { TemplateMiner } from '../analysis/logs.ts';
import { type AgentSummary, type AgentTask, LogAnalysisOutput } from '../model.ts';
import type { LogLine } from '../tools/ports.ts';
import { incidentWindows, topologyNeighbourhood } from './impact.ts';
import { type AgentContext, type EvidenceLog, runAgent, summarise } from './runtime.ts';
import { byCodeUnit } from '../compare.ts';

const MINUTE = 60_000;
/** The baseline window is this many times longer than the incident window (more history, steadier rates). */
export const BASELINE_LENGTH_FACTOR = 2;
/** A template "spikes" when its incident rate is ≥ this × the baseline rate … */
export const SPIKE_RATIO = 3;
/** … and that many lines would happen by chance with probability < this under the baseline rate. */
export const SPIKE_P_VALUE = 1e-3;
const MAX_TEMPLATES = 25;
const LINE_LIMIT = 5_000;
const LEVEL_RANK: Record<LogLine['level'], number> = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3, FATAL: 4 };

/** P(X ≥ k) for X ~ Poisson(λ), summed in log space so large k does not overflow. */
export const poissonTail = (k: number, lambda: number): number => {
  if (k <= 0) return 1;
  if (lambda <= 0) return 0;
  let cdf = 0;
  let logP = -lambda; // log P(X = 0)
  for (let i = 0; i < k; i += 1) {
    cdf += Math.exp(logP);
    logP += Math.log(lambda) - Math.log(i + 1);
  }
  return Math.max(0, 1 - cdf);
};

export type TemplateStatus = 'new' | 'spiking' | 'steady';

/** Classifies a template from its counts in the incident and baseline windows (lengths in ms). */
export const templateStatus = (incidentCount: number, baselineCount: number, incidentMs: number, baselineMs: number): TemplateStatus => {
  if (incidentCount === 0) return 'steady';
  if (baselineCount === 0) return 'new';
  const expected = (baselineCount / baselineMs) * incidentMs;
  return incidentCount >= SPIKE_RATIO * expected && poissonTail(incidentCount, expected) < SPIKE_P_VALUE ? 'spiking' : 'steady';
};

/**
 * The two windows the logs agent reads at `now`: the incident (from the impact agent's baseline end to its window
 * end) and the baseline before it, `BASELINE_LENGTH_FACTOR` times as long. Exported for `autopilot export`, which
 * writes the template counts back into the windows they were counted in.
 */
export const logWindows = (startedAt: string, now: Date): { baselineFrom: number; incidentFrom: number; to: number } => {
  const windows = incidentWindows(startedAt, now);
  const incidentFrom = Date.parse(windows.baselineEnd);
  const incidentMs = Math.max(MINUTE, Date.parse(windows.to) - incidentFrom);
  return { baselineFrom: incidentFrom - BASELINE_LENGTH_FACTOR * incidentMs, incidentFrom, to: Date.parse(windows.to) };
};

export interface Counts {
  readonly service: string;
  /** `<level>-<miner id>`, unique per service. */
  readonly id: string;
  readonly level: LogLine['level'];
  readonly miner: TemplateMiner;
  baseline: number;
  incident: number;
  first?: string;
  last?: string;
  firstErrorAt?: string;
  example?: string;
  traceIds: Set<string>;
}

/** One mined template of a service: its text, counts per window and status against the baseline. */
export interface MinedTemplate {
  readonly service: string;
  readonly id: string;
  readonly level: LogLine['level'];
  readonly text: string;
  readonly counts: Counts;
  readonly status: TemplateStatus | 'unknown';
}

/**
 * Mines WARN+ lines of the incident and baseline windows into templates per service and level, and ranks them: new or
 * spiking first, then by level, then by incident count; the first `max`. `baselineLines` undefined: the baseline could
 * not be read (status 'unknown'). Also returns every template counted (for totals).
 */
export const mineTemplates = (
  incidentLines: readonly LogLine[] | undefined,
  baselineLines: readonly LogLine[] | undefined,
  incidentMs: number,
  baselineMs: number,
  max = MAX_TEMPLATES,
): { rows: MinedTemplate[]; counts: Counts[] } => {
  // One miner per service and level (a WARN and an ERROR of the same shape are different events), fed the
  // baseline lines first, then the incident's; the miner groups the whole batch (it needs every line to tell
  // constants from variables), so lines are counted per window once all are in. Template ids are
  // `<level>-<miner id>`, unique per service. `counts` holds every template in the order first seen (the ranking
  // below keeps that order among equals).
  type Miner = { miner: TemplateMiner; prefix: string; byId: Map<string, Counts> };
  const miners = new Map<string, Map<LogLine['level'], Miner>>();
  const counts: Counts[] = [];
  const fed: { line: LogLine; window: 'baseline' | 'incident'; m: Miner; lineNo: number }[] = [];
  const feed = (line: LogLine, window: 'baseline' | 'incident') => {
    if (LEVEL_RANK[line.level] < LEVEL_RANK.WARN) return;
    let levels = miners.get(line.service);
    if (!levels) miners.set(line.service, (levels = new Map()));
    let m = levels.get(line.level);
    if (!m) levels.set(line.level, (m = { miner: new TemplateMiner(), prefix: `${line.level.toLowerCase()}-`, byId: new Map() }));
    // Without the timestamp: the miner's own first/last seen are not read here (the counts keep theirs), and
    // parsing every line's timestamp was a good part of the feed.
    fed.push({ line, window, m, lineNo: m.miner.add(line.message) });
  };
  const count = ({ line, window, m, lineNo }: (typeof fed)[number]) => {
    const minerId = m.miner.templateIdOf(lineNo);
    let c = m.byId.get(minerId);
    if (!c) {
      c = { service: line.service, id: m.prefix + minerId, level: line.level, miner: m.miner, baseline: 0, incident: 0, traceIds: new Set() };
      m.byId.set(minerId, c);
      counts.push(c);
    }
    if (window === 'baseline') {
      c.baseline += 1;
      return;
    }
    c.incident += 1;
    if (!c.first || line.timestamp < c.first) c.first = line.timestamp;
    if (!c.last || line.timestamp > c.last) c.last = line.timestamp;
    if (LEVEL_RANK[line.level] >= LEVEL_RANK.ERROR && (!c.firstErrorAt || line.timestamp < c.firstErrorAt)) c.firstErrorAt = line.timestamp;
    c.example ??= line.message;
    if (line.traceId && c.traceIds.size < 5) c.traceIds.add(line.traceId);
  };
  const byTime = (a: LogLine, b: LogLine) => byCodeUnit(a.timestamp, b.timestamp);
  for (const line of [...(baselineLines ?? [])].sort(byTime)) feed(line, 'baseline');
  for (const line of [...(incidentLines ?? [])].sort(byTime)) feed(line, 'incident');
  for (const f of fed) count(f);

  const baselineKnown = baselineLines !== undefined;
  const rows = counts
    .filter((c) => c.incident > 0)
    .map((c) => {
      const text = c.miner.template(c.id.slice(c.id.indexOf('-') + 1))!.template;
      const status: TemplateStatus | 'unknown' = baselineKnown ? templateStatus(c.incident, c.baseline, incidentMs, baselineMs) : 'unknown';
      return { service: c.service, id: c.id, level: c.level, text, counts: c, status };
    })
    .sort((a, b) => Number(b.status === 'new' || b.status === 'spiking') - Number(a.status === 'new' || a.status === 'spiking') || LEVEL_RANK[b.level] - LEVEL_RANK[a.level] || b.counts.incident - a.counts.incident)
    .slice(0, max);
  return { rows, counts };
};

/**
 * Mined templates as evidence (`log-template:<service>:<id>`, with their counts and an example) and as the
 * LogAnalysisOutput templates that cite it; `why` adds to each summary why the lines were read (the root-cause agent
 * reads services beyond this agent's neighbourhood).
 */
export const recordTemplates = (evidence: Pick<EvidenceLog, 'add'>, rows: readonly MinedTemplate[], baselineKnown: boolean, why = ''): LogAnalysisOutput['templates'] =>
  rows.map((r) => {
    const evidenceId = evidence.add({
      id: `log-template:${r.service}:${r.id}`,
      kind: 'log',
      source: 'logs',
      summary: `${r.service} ${r.level} "${r.text}" ×${r.counts.incident} since ${r.counts.first} (${r.status}${baselineKnown ? `, ${r.counts.baseline} in the baseline window` : ''}${why ? `; ${why}` : ''})`,
      data: { service: r.service, template: r.text, level: r.level, count: r.counts.incident, baselineCount: r.counts.baseline, status: r.status, firstSeen: r.counts.first, lastSeen: r.counts.last, example: r.counts.example, traceIds: [...r.counts.traceIds] },
    });
    return {
      id: r.id,
      template: r.text,
      service: r.service,
      level: r.level,
      count: r.counts.incident,
      firstSeen: r.counts.first!,
      lastSeen: r.counts.last!,
      novel: r.status === 'new' || r.status === 'spiking',
      evidenceIds: [evidenceId],
    };
  });

const analyse = async (ctx: AgentContext) => {
  const { incident, scope, evidence, deps } = ctx;
  const bounds = logWindows(incident.startedAt, deps.clock());
  const incidentFrom = new Date(bounds.incidentFrom).toISOString();
  const windowEnd = new Date(bounds.to).toISOString();
  const incidentMs = Math.max(MINUTE, bounds.to - bounds.incidentFrom);
  const baselineFrom = new Date(bounds.baselineFrom).toISOString();
  const baselineMs = BASELINE_LENGTH_FACTOR * incidentMs;

  // Services: the alert service and the same topology neighbourhood the impact agent examines. Not the impact
  // agent's blast radius: the two run in parallel (on AWS truly so), and a result that depended on which one
  // finished first would differ from run to run.
  const nodes = (await evidence.call('telemetry', () => deps.tools.telemetry.getTopology({ ...scope, services: [incident.service] }))) ?? [];
  const hood = topologyNeighbourhood(nodes, incident.service);
  const services = hood.services;
  const servicesFrom = nodes.length > 0 ? `${incident.service} and its topology neighbours` : `${incident.service} alone (topology unavailable)`;
  if (nodes.length > 0)
    evidence.add({ id: `topology:${incident.service}`, kind: 'topology', source: 'telemetry', summary: `${incident.service} is called by ${hood.callers.join(', ') || 'nothing known'} and calls ${hood.callees.join(', ') || 'nothing known'}`, data: { callers: hood.callers, callees: hood.callees } });

  const query = { ...scope, services, minLevel: 'WARN' as const, limit: LINE_LIMIT };
  const incidentLines = await evidence.call('logs', () => deps.tools.logs.search({ ...query, from: incidentFrom, to: windowEnd }));
  const baselineLines = await evidence.call('logs', () => deps.tools.logs.search({ ...query, from: baselineFrom, to: incidentFrom }));

  const { rows, counts } = mineTemplates(incidentLines, baselineLines, incidentMs, baselineMs);
  const baselineKnown = baselineLines !== undefined;

  const templates = recordTemplates(evidence, rows, baselineKnown);

  const novelErrors = rows.filter((r) => (r.status === 'new' || r.status === 'spiking') && r.counts.firstErrorAt);
  const anyErrors = rows.filter((r) => r.counts.firstErrorAt);
  const firstErrorSource = (novelErrors.length > 0 ? novelErrors : anyErrors).sort((a, b) => byCodeUnit(a.counts.firstErrorAt!, b.counts.firstErrorAt!))[0];
  const firstErrorAt = firstErrorSource?.counts.firstErrorAt;
  const allIncidentLines = counts.reduce((s, c) => s + c.incident, 0);

  const novel = rows.filter((r) => r.status === 'new' || r.status === 'spiking');
  const reasoning = [
    incidentLines === undefined
      ? 'Logs could not be searched, so there is no log evidence.'
      : `${allIncidentLines} WARN+ lines from ${services.join(', ')} (${servicesFrom}) between ${incidentFrom} and ${windowEnd} form ${counts.length} templates.`,
    !baselineKnown && incidentLines !== undefined ? 'The baseline window could not be read, so novelty is unknown.' : '',
    novel.length > 0
      ? `${novel.length} are new or spiking against the ${Math.round(baselineMs / MINUTE)}-min baseline: ${novel
          .slice(0, 3)
          .map((r) => `${r.service} "${r.text}" ×${r.counts.incident} (${r.status}${r.status === 'spiking' ? `, ${r.counts.baseline} before` : ''})`)
          .join('; ')}.`
      : incidentLines !== undefined && baselineKnown
        ? 'No template is new or unusually frequent compared with the baseline.'
        : '',
    firstErrorAt && firstErrorSource ? `First ${novelErrors.length > 0 ? 'new ' : ''}error at ${firstErrorAt} on ${firstErrorSource.service}.` : '',
  ]
    .filter(Boolean)
    .join(' ');

  const gaps = ['gap:logs', 'gap:telemetry'].filter((id) => evidence.has(id));
  const offline: LogAnalysisOutput = {
    templates,
    totalLines: allIncidentLines,
    firstErrorAt,
    reasoning,
    evidenceIds: [...templates.filter((t) => t.novel).slice(0, 5).flatMap((t) => t.evidenceIds), ...gaps],
  };
  return {
    schema: LogAnalysisOutput,
    instructions:
      'Summarise the incident’s log signature from the mined templates: which templates are new or spiking versus the baseline window, on which services, and when the first error appeared. Cite the log-template evidence ids.',
    offline,
  };
};

export const analyzeLogs =
  (deps: AgentDeps) =>
  async (task: AgentTask): Promise<AgentSummary> => {
    const { output } = await runAgent(deps, 'logs', task.incidentId, analyse);
    const novel = output.templates.filter((t) => t.novel);
    const top = novel[0] ?? output.templates[0];
    return summarise(
      task.incidentId,
      'logs',
      `${output.totalLines} WARN+ lines, ${output.templates.length} templates (${novel.length} new/spiking)${top ? `; top: ${top.service} "${top.template}" ×${top.count}` : ''}${output.firstErrorAt ? `; first error ${output.firstErrorAt}` : ''}`,
    );
  };
