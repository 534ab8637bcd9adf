/**
 * The messages sent to the model: the agent's instructions as the system role; the evidence (id, kind, source,
 * summary and a bounded slice of its data) and the offline analysis — "a deterministic analysis to check and
 * improve" — as the user turn. Evidence data can be large (metric series, log lines), so it is cut to a
 * character budget; ids and summaries are always sent whole, because citations must be checkable.
 */
import type OpenAI from 'openai';
import type { AgentName, Evidence } from '../model.ts';

type Message = OpenAI.Chat.Completions.ChatCompletionMessageParam;

export interface PromptLimits {
  /** Characters of evidence `data` across all items. @default 24_000 */
  readonly maxDataChars?: number;
  /** Characters of `data` for one evidence item. @default 3_000 */
  readonly maxItemDataChars?: number;
}

export const DEFAULT_MAX_DATA_CHARS = 24_000;
export const DEFAULT_MAX_ITEM_DATA_CHARS = 3_000;
const MAX_SUMMARY_CHARS = 600;

export interface PromptInput {
  readonly agent: AgentName;
  readonly instructions: string;
  readonly evidence: readonly Evidence[];
  /** The offline analysis, already in the shape of the response schema. */
  readonly offline: unknown;
  /** Ids the answer may cite that are not in `evidence` (earlier agents' evidence cited by the offline analysis). */
  readonly otherCitableIds: readonly string[];
}

const clip = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, Math.max(0, max - 15))}… [truncated]`);

const stringify = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value); // cyclic or BigInt data: still show something
  }
};

const evidenceSection = (evidence: readonly Evidence[], limits: PromptLimits): string => {
  if (evidence.length === 0) return '## Evidence\n(none was collected)';
  let dataLeft = limits.maxDataChars ?? DEFAULT_MAX_DATA_CHARS;
  const perItem = limits.maxItemDataChars ?? DEFAULT_MAX_ITEM_DATA_CHARS;
  const lines = [`## Evidence (${evidence.length} items; cite them by id)`];
  for (const item of evidence) {
    lines.push(`- id: ${item.id}`, `  kind: ${item.kind}; source: ${item.source}`, `  summary: ${clip(item.summary, MAX_SUMMARY_CHARS)}`);
    if (item.data === undefined) continue;
    if (dataLeft <= 0) {
      lines.push('  data: (omitted: evidence data budget used up)');
      continue;
    }
    const data = clip(stringify(item.data), Math.min(perItem, dataLeft));
    dataLeft -= data.length;
    lines.push(`  data: ${data}`);
  }
  return lines.join('\n');
};

const RULES = [
  'Answer with one JSON object that matches the response schema, and nothing else.',
  'Every `evidenceIds` list may contain only ids listed in the evidence (or in the list of earlier ids); never invent, shorten or rename an id.',
  'Start from the deterministic analysis: keep what the evidence supports, correct what it contradicts, add what it missed, and cite the evidence for each claim.',
  'Where an optional field does not apply, write null.',
];

export const buildMessages = (input: PromptInput, limits: PromptLimits = {}): Message[] => {
  const system = [`You are the ${input.agent} agent of an incident-response system.`, input.instructions.trim(), '', 'Rules:', ...RULES.map((r) => `- ${r}`)].join('\n');
  const sections = [evidenceSection(input.evidence, limits)];
  if (input.otherCitableIds.length > 0) {
    sections.push(`## Earlier evidence ids you may also cite\n${input.otherCitableIds.map((id) => `- ${id}`).join('\n')}`);
  }
  sections.push(`## A deterministic analysis to check and improve\n${stringify(input.offline)}`);
  return [
    { role: 'system', content: system },
    { role: 'user', content: sections.join('\n\n') },
  ];
};

/** The follow-up turn of the one corrective retry: says exactly what was wrong with the previous answer. */
export const correctionMessage = (problem: string): Message => ({
  role: 'user',
  content: `Your previous answer was rejected: ${problem}. Reply again with the complete corrected JSON object, following the schema and citing only the evidence ids listed above.`,
});

/** A rough token count (about four characters a token) for budget checks before a call. */
export const estimateTokens = (messages: readonly Message[]): number =>
  Math.ceil(messages.reduce((n, m) => n + (typeof m.content === 'string' ? m.content.length : stringify(m.content).length), 0) / 4);
