/**
 * The loop every agent follows: load the incident → call tools, collecting evidence with stable ids (a tool
 * that fails becomes a `gap` evidence item, and the agent goes on with what it has) → offline analysis →
 * reasoner → validate citations → persist the full record (AGENT#<name>) → return a compact summary to the
 * state machine. (Agents that act — approval, execution, verification — append their own timeline events.)
 */
import { randomUUID } from 'node:crypto';
import type * as z from 'zod';
import type { AgentDeps } from '../deps.ts';
import { type AgentName, type AgentRecord, type AgentSummary, type Evidence, validateCitations } from '../model.ts';
import { IncidentNotFound, type IncidentMeta, type IncidentWith } from '../store/store.ts';
import { type PartialGap, partialGapsOf, type ToolScope, ToolUnavailable } from '../tools/ports.ts';

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
   * so the agent continues with what it has. One gap per tool name, naming every distinct failure: an agent that
   * reads topology, metrics and traces through one `telemetry` name must not report a metrics outage with the
   * topology call's message (the report quotes these gaps when it says why no metric was read).
   */
  async call<T>(tool: string, fn: () => Promise<T>): Promise<T | undefined> {
    const started = this.#now();
    try {
      const result = await fn();
      this.toolCalls.push({ tool, ok: true, latencyMs: this.#now() - started });
      // A partial answer (some queries failed): each part it left out is a gap, so it is not read as the whole truth.
      const partial = partialGapsOf(result);
      if (partial.length > 0) {
        const more = partial.length > MAX_PARTIAL_GAPS_NAMED ? `; and ${partial.length - MAX_PARTIAL_GAPS_NAMED} more` : '';
        this.#gap(tool, `partly: ${partial.slice(0, MAX_PARTIAL_GAPS_NAMED).map(describePartialGap).join('; ')}${more}`);
      }
      return result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.toolCalls.push({ tool, ok: false, latencyMs: this.#now() - started, error: message });
      // The gap says "<tool> unavailable: …" itself: a ToolUnavailable's own prefix would say it twice.
      this.#gap(tool, error instanceof ToolUnavailable ? error.reason : message);
      return undefined;
    }
  }

  #gap(tool: string, message: string): void {
    const id = `gap:${tool}`;
    const at = this.#ids.has(id) ? this.items.findIndex((e) => e.id === id) : -1;
    if (at < 0) {
      this.add({ id, kind: 'gap', source: tool, summary: `${tool} unavailable: ${message}` });
      return;
    }
    const known = this.items[at];
    if (!known.summary.includes(message)) this.items[at] = { ...known, summary: `${known.summary}; ${message}` };
  }
}

/** How a partial answer's gap reads in the evidence ("cloudwatch:GetMetricData (checkout cpu_pct): ThrottlingException"). */
const MAX_PARTIAL_GAPS_NAMED = 5;
export const describePartialGap = (g: PartialGap): string => `${g.api}${g.service ? ` (${[g.service, g.metric].filter(Boolean).join(' ')})` : ''}: ${g.reason}`;

/** An earlier agent's output, typed by its schema, with the evidence it cited. */
export interface Earlier<T> {
  readonly output: T;
  readonly evidence: Evidence[];
}

/** Thrown when code asks for an agent record it did not declare in `reads` (a programming error, not data). */
export class UndeclaredRead extends Error {
  override name = 'UndeclaredRead';
}

/**
 * The incident and the earlier agents' records an agent declared it reads, fetched together in one round trip
 * (`IncidentStore.getIncidentWith`) instead of one read per record.
 */
export class IncidentSnapshot {
  readonly incident: IncidentMeta;
  readonly #records: IncidentWith['records'];
  readonly #reads: ReadonlySet<AgentName>;

  constructor(loaded: IncidentWith, reads: readonly AgentName[]) {
    this.incident = loaded.incident;
    this.#records = loaded.records;
    this.#reads = new Set(reads);
  }

  /** The agent's whole record; undefined if it has not run. */
  record(agent: AgentName): AgentRecord | undefined {
    if (!this.#reads.has(agent)) throw new UndeclaredRead(`the ${agent} record was not declared in reads (${[...this.#reads].join(', ') || 'none'})`);
    return this.#records[agent];
  }

  /** The agent's output parsed with its schema; undefined if it has not run. */
  output<T>(agent: AgentName, schema: z.ZodType<T>): Earlier<T> | undefined {
    const record = this.record(agent);
    return record ? { output: schema.parse(record.output), evidence: record.evidence } : undefined;
  }
}

/** Reads the incident and the named agents' records at once; throws `IncidentNotFound` if there is no incident. */
export const loadIncident = async (deps: AgentDeps, incidentId: string, reads: readonly AgentName[] = []): Promise<IncidentSnapshot> => {
  const loaded = await deps.store.getIncidentWith(incidentId, reads);
  if (!loaded) throw new IncidentNotFound(incidentId);
  return new IncidentSnapshot(loaded, reads);
};

export interface AgentContext {
  readonly incident: IncidentMeta;
  readonly scope: ToolScope;
  readonly evidence: EvidenceLog;
  readonly deps: AgentDeps;
  /** What earlier agents recorded, for the agents named in `runAgent`'s `reads`. */
  readonly earlier: IncidentSnapshot;
}

export interface AgentAnalysis<T> {
  readonly schema: z.ZodType<T>;
  /** For an LLM reasoner: what to produce from the evidence. */
  readonly instructions: string;
  readonly offline: T;
  /** Evidence ids an output may cite besides this run's own (e.g. ids from earlier agents' records). */
  readonly knownEvidenceIds?: Iterable<string>;
  /** Applied to the reasoner's output before it is checked and stored (e.g. neutralising what a model wrote). */
  readonly finish?: (output: T) => T;
}

export interface AgentRun<T> {
  readonly output: T;
  readonly record: AgentRecord;
  readonly incident: IncidentMeta;
}

/**
 * Runs one agent end to end and persists its record. `reads` names the earlier agents whose records it needs
 * (read with the incident, in one round trip, available as `ctx.earlier`), or is what the caller already
 * loaded with `loadIncident`.
 */
export const runAgent = async <T>(
  deps: AgentDeps,
  agent: AgentName,
  incidentId: string,
  analyse: (ctx: AgentContext) => Promise<AgentAnalysis<T>>,
  reads: readonly AgentName[] | IncidentSnapshot = [],
): Promise<AgentRun<T>> => {
  const started = deps.clock().getTime();
  const earlier = reads instanceof IncidentSnapshot ? reads : await loadIncident(deps, incidentId, reads);
  const { incident } = earlier;
  const evidence = new EvidenceLog(() => deps.clock().getTime());
  // runId lets a tool adapter reuse what it fetched during this run (the simulated world is read once per run).
  const scope: ToolScope = { environment: incident.environment, runId: `${incidentId}/${agent}/${randomUUID()}` };
  const ctx: AgentContext = { incident, scope, evidence, deps, earlier };
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
  const output = analysis.finish ? analysis.finish(result.output) : result.output;
  validateCitations(output, evidence.items, analysis.knownEvidenceIds);
  const record: AgentRecord = {
    agent,
    output,
    evidence: evidence.items,
    latencyMs: Math.max(0, deps.clock().getTime() - started),
    reasoner: result.reasoner,
    reasonerNote: result.note,
    toolCalls: evidence.toolCalls,
    tokens: result.tokens,
    completedAt: deps.clock().toISOString(),
  };
  await deps.store.putAgentRecord(incidentId, record);
  return { output, record, incident };
};

/** The longest summary a task hands back to the state machine (it travels in the execution's state). */
export const MAX_SUMMARY_CHARS = 500;

/** A summary cut to `MAX_SUMMARY_CHARS`, marked with "..." when cut. */
export const clipSummary = (summary: string): string => (summary.length > MAX_SUMMARY_CHARS ? `${summary.slice(0, MAX_SUMMARY_CHARS - 3)}...` : summary);

/** The compact summary returned to the state machine. */
export const summarise = (incidentId: string, agent: AgentName, summary: string): AgentSummary => ({ incidentId, agent, summary: clipSummary(summary) });
