/**
 * Reasoning behind one interface. Every agent first computes its offline analysis (deterministic statistics
 * and rules over the evidence, in functions/core/analysis); a reasoner then produces the final output.
 * The offline reasoner returns the analysis as is. The LLM reasoner (issue 3) is given the evidence and the
 * offline analysis, must answer in the same zod schema citing only existing evidence ids, gets one
 * corrective retry, and otherwise falls back to the offline result (`reasoner: "offline-fallback"`).
 */
import type * as z from 'zod';
import type { AgentName, Evidence } from '../model.ts';

export interface ReasonRequest<T> {
  readonly agent: AgentName;
  readonly schema: z.ZodType<T>;
  /** What the agent is asked to do, for a model; ignored offline. */
  readonly instructions: string;
  readonly evidence: readonly Evidence[];
  /** The offline analysis: the offline answer, and evidence for a model. */
  readonly offline: T;
  /** The incident the call is for (per-incident token budgets). */
  readonly incidentId?: string;
  /** Evidence ids from earlier agents' records that an output may cite too. */
  readonly knownEvidenceIds?: Iterable<string>;
}

export interface ReasonResult<T> {
  readonly output: T;
  /** "offline", "llm:<model>" or "offline-fallback". */
  readonly reasoner: string;
  readonly note?: string;
  readonly tokens?: { readonly input: number; readonly output: number };
}

export interface Reasoner {
  reason<T>(request: ReasonRequest<T>): Promise<ReasonResult<T>>;
}

export const offlineReasoner: Reasoner = {
  reason: async <T>(request: ReasonRequest<T>): Promise<ReasonResult<T>> => ({
    output: request.schema.parse(request.offline),
    reasoner: 'offline',
  }),
};
