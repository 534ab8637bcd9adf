/**
 * What the simulated adapter (simulated.ts), the recorded adapter (recorded.ts) and `autopilot export`
 * (recorded/export.ts) answer alike: an ISO time read from a query, the part of a topology connected to some
 * services, the ranking of past incidents by words and service, and a change request copied field by field.
 * One copy, so a replay of a recorded incident answers exactly as a simulated world does.
 */
import { byCodeUnit } from '../compare.ts';
import type { ChangeRequest, PastIncident, ServiceNode } from './ports.ts';

/** `value` in epoch ms, or the error `invalid` makes of a message naming `field`. */
export const parseQueryTime = (field: string, value: string, invalid: (message: string) => Error): number => {
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw invalid(`${field} is not an ISO 8601 time: "${value}"`);
  return t;
};

/** The part of `nodes` connected to `services`: everything they reach and everything that reaches them. */
export const connectedTopology = (nodes: readonly ServiceNode[], services: readonly string[]): ServiceNode[] => {
  const callers = new Map<string, string[]>(nodes.map((n) => [n.name, []]));
  for (const n of nodes) for (const c of n.calls) callers.get(c)?.push(n.name);
  const calls = new Map<string, readonly string[]>(nodes.map((n) => [n.name, n.calls]));
  const keep = new Set<string>();
  const walk = (start: string, next: ReadonlyMap<string, readonly string[]>) => {
    const seen = new Set<string>();
    const stack = [start];
    while (stack.length > 0) {
      const n = stack.pop() as string;
      if (seen.has(n) || !next.has(n)) continue;
      seen.add(n);
      keep.add(n);
      stack.push(...(next.get(n) ?? []));
    }
  };
  for (const s of services) {
    walk(s, calls);
    walk(s, callers);
  }
  return nodes.filter((n) => keep.has(n.name));
};

export const DEFAULT_SEARCH_LIMIT = 10;
/** Words too common in incident text to say anything about similarity. */
const STOPWORDS = new Set(['the', 'a', 'an', 'and', 'or', 'of', 'to', 'in', 'on', 'for', 'with', 'at', 'by', 'from', 'is', 'was', 'are', 'after', 'during', 'increase', 'service']);

const tokens = (text: string): string[] =>
  text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((t) => t.length > 1 && !STOPWORDS.has(t));

/**
 * The incidents matching a search, best first: one point per query word in the incident's text, two if it is on one
 * of `services`; none scoring nothing; ties newest first; at most `limit` (default 10, at least 1).
 */
export const rankPastIncidents = (incidents: readonly PastIncident[], q: { text: string; services?: readonly string[]; limit?: number }): PastIncident[] => {
  const wanted = new Set(tokens(q.text));
  const services = new Set(q.services ?? []);
  return incidents
    .map((i) => {
      const words = new Set(tokens([i.title, i.rootCause, i.resolution, i.category ?? '', i.service, ...i.tags].join(' ')));
      let score = 0;
      for (const t of wanted) if (words.has(t)) score += 1;
      if (services.has(i.service)) score += 2;
      return { i, score };
    })
    .filter((x) => x.score > 0)
    .sort((a, b) => b.score - a.score || byCodeUnit(b.i.openedAt, a.i.openedAt))
    .slice(0, Math.max(1, q.limit ?? DEFAULT_SEARCH_LIMIT))
    .map((x) => x.i);
};

/** The fields of a change request a change source holds (no time or state: those are the copier's to give). */
type ChangeFields = Pick<ChangeRequest, 'id' | 'service' | 'type' | 'title' | 'description' | 'version' | 'configChange' | 'rollbackPlan' | 'author'>;

/** A change request as every adapter returns it: the port's fields only, copied (no `resource`, nothing extra). */
export const copyChange = (c: ChangeFields, deployedAt: string, state: ChangeRequest['state']): ChangeRequest => ({
  id: c.id,
  service: c.service,
  type: c.type,
  title: c.title,
  description: c.description,
  deployedAt,
  state,
  ...(c.version ? { version: { from: c.version.from, to: c.version.to } } : {}),
  ...(c.configChange ? { configChange: { param: c.configChange.param, old: c.configChange.old, new: c.configChange.new } } : {}),
  ...(c.rollbackPlan !== undefined ? { rollbackPlan: c.rollbackPlan } : {}),
  ...(c.author !== undefined ? { author: c.author } : {}),
});

/** The same past incident, field by field (a stored map's key order is not the writer's): a repeat, not a correction. */
export const samePastIncident = (a: PastIncident, b: PastIncident): boolean =>
  a.id === b.id &&
  a.title === b.title &&
  a.service === b.service &&
  a.openedAt === b.openedAt &&
  a.resolvedAt === b.resolvedAt &&
  a.category === b.category &&
  a.rootCause === b.rootCause &&
  a.resolution === b.resolution &&
  a.resolutionMinutes === b.resolutionMinutes &&
  a.tags.length === b.tags.length &&
  a.tags.every((t, i) => t === b.tags[i]);
