/**
 * The loop every agent follows: load the incident → call tools, collecting evidence with stable ids (a tool
 * that fails becomes a `gap` evidence item, and the agent goes on with what it has) → offline analysis →
 * reasoner → validate citations → persist the full record (AGENT#<name>) → return a compact summary to the
 * state machine. (Agents that act — approval, execution, verification — append their own timeline events.)
 */
import type * as z from 'zod';
import type { AgentDeps } from '../deps.ts';
import { type AgentName, type AgentRecord, type AgentSummary, type Evidence, validateCitations } from '../model.ts';
import { IncidentNotFound, type IncidentMeta } from '../store/store.ts';
import type { ToolScope } from '../tools/ports.ts';

export class EvidenceLog {
  readonly items: Evidence[] = [];
  readonly toolCalls: AgentRecord['toolCalls'] = [];
  readonly #ids = new Set<string>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Adds an evidence item; an id seen before is kept once (the first wins). Returns the id. */
  add(item: Evidence): string {
    if (!this.#ids.has(item.id)) {
      this.#ids.add(item.id);
      this.items.push(item);
    }
    return item.id;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /**
   * Calls a tool, timing it. On failure records a `gap` evidence item (`gap:<tool>`) and returns `undefined`,
   * so the agent continues with what it has.
   */
  async call<T>(tool: string, fn: () => Promise<T>): Promise<T | undefined> {
    const started = this.#now();
    try {
      const result = await fn();
      this.toolCalls.push({ tool, ok: true, latencyMs: this.#now() - started });
      return result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.toolCalls.push({ tool, ok: false, latencyMs: this.#now() - started, error: message });
      this.add({ id: `gap:${tool}`, kind: 'gap', source: tool, summary: `${tool} unavailable: ${message}` });
      return undefined;
    }
  }
}

export interface AgentContext {
  readonly incident: IncidentMeta;
  readonly scope: ToolScope;
  readonly evidence: EvidenceLog;
  readonly deps: AgentDeps;
}

export interface AgentAnalysis<T> {
  readonly schema: z.ZodType<T>;
  /** For an LLM reasoner: what to produce from the evidence. */
  readonly instructions: string;
  readonly offline: T;
  /** Evidence ids an output may cite besides this run's own (e.g. ids from earlier agents' records). */
  readonly knownEvidenceIds?: Iterable<string>;
}

export interface AgentRun<T> {
  readonly output: T;
  readonly record: AgentRecord;
  readonly incident: IncidentMeta;
}

/** Runs one agent end to end and persists its record. */
export const runAgent = async <T>(
  deps: AgentDeps,
  agent: AgentName,
  incidentId: string,
  analyse: (ctx: AgentContext) => Promise<AgentAnalysis<T>>,
): Promise<AgentRun<T>> => {
  const started = deps.clock().getTime();
  const incident = await deps.store.getIncident(incidentId);
  if (!incident) throw new IncidentNotFound(incidentId);
  const evidence = new EvidenceLog(() => deps.clock().getTime());
  const ctx: AgentContext = { incident, scope: { environment: incident.environment }, evidence, deps };
  const analysis = await analyse(ctx);
  // incidentId lets an LLM reasoner charge the incident's token budget; knownEvidenceIds widens what it may cite.
  const result = await deps.reasoner.reason({
    agent,
    schema: analysis.schema,
    instructions: analysis.instructions,
    evidence: evidence.items,
    offline: analysis.offline,
    incidentId,
    knownEvidenceIds: analysis.knownEvidenceIds,
  });
  validateCitations(result.output, evidence.items, analysis.knownEvidenceIds);
  const record: AgentRecord = {
    agent,
    output: result.output,
    evidence: evidence.items,
    latencyMs: Math.max(0, deps.clock().getTime() - started),
    reasoner: result.reasoner,
    reasonerNote: result.note,
    toolCalls: evidence.toolCalls,
    tokens: result.tokens,
    completedAt: deps.clock().toISOString(),
  };
  await deps.store.putAgentRecord(incidentId, record);
  return { output: result.output, record, incident };
};

/** The compact summary returned to the state machine. */
export const summarise = (incidentId: string, agent: AgentName, summary: string): AgentSummary => ({
  incidentId,
  agent,
  summary: summary.length > 500 ? `${summary.slice(0, 497)}...` : summary,
});

/** Reads an earlier agent's output (typed by its schema); undefined if that agent has not run. */
export const earlierOutput = async <T>(deps: AgentDeps, incidentId: string, agent: AgentName, schema: z.ZodType<T>): Promise<{ output: T; evidence: Evidence[] } | undefined> => {
  const record = await deps.store.getAgentRecord(incidentId, agent);
  if (!record) return undefined;
  return { output: schema.parse(record.output), evidence: record.evidence };
};
