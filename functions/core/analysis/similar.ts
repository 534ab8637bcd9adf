/**
 * Ranking past incidents against a new one. Two signals, combined into a score in [0, 1]:
 * - Text: BM25 (minisearch's BM25+) over the past incident's title, root cause, resolution, tags and
 *   category, normalised by the best candidate, averaged with query coverage (the share of the query's
 *   terms the candidate matched) — so the best of a weak field does not score 1.
 * - Structure: the same service (or a topology neighbour), the same failure category (inferred from words,
 *   see `CATEGORY_KEYWORDS`), and tags shared with the query's terms.
 * Weights (why): text carries most of the meaning; a same-service match is the strongest structured hint
 * that the same runbook applies; category and tags refine.
 */
import MiniSearch from 'minisearch';
import type { PastIncident } from '../tools/ports.ts';

export const WEIGHTS = { text: 0.45, service: 0.25, category: 0.15, tags: 0.15 } as const;

/** Failure categories and symptoms, recognised from words (prefix match on each keyword). */
export const CATEGORY_KEYWORDS: Readonly<Record<string, readonly string[]>> = {
  'connection-pool': ['pool', 'hikari', 'connection', 'starvation', 'exhaust', 'pending'],
  database: ['database', 'db', 'sql', 'query', 'queries', 'deadlock', 'postgres', 'mysql', 'replica', 'lock', 'rds', 'dynamo'],
  'memory-leak': ['memory', 'heap', 'oom', 'outofmemory', 'leak', 'gc', 'garbage'],
  capacity: ['cpu', 'saturat', 'throttl', 'capacity', 'overload', 'traffic', 'surge', 'scal', 'flash'],
  cache: ['cache', 'redis', 'memcache', 'evict', 'stampede', 'hit-rate'],
  certificate: ['certificate', 'cert', 'tls', 'ssl', 'handshake'],
  dns: ['dns', 'nxdomain', 'resolv'],
  'bad-deploy': ['deploy', 'release', 'rollout', 'regression', 'build', 'version'],
  'config-change': ['config', 'setting', 'parameter', 'flag', 'tune', 'tuning'],
  dependency: ['upstream', 'downstream', 'dependency', 'third-party', 'gateway', 'provider', 'vendor'],
  latency: ['latency', 'slow', 'p99', 'p95', 'timeout', 'response'],
  errors: ['error', 'exception', '5xx', '500', '503', 'fail'],
};

const STOPWORDS = new Set(
  'a an and are as at be by for from has have in is it its of on or than that the this to was were with into over under after before high low service svc alert problem incident issue detected above below'.split(' '),
);

/** Lower-case word tokens, hyphenated words kept whole and split into parts; stopwords dropped. */
export const keywords = (text: string): string[] => {
  const out = new Set<string>();
  for (const raw of text.toLowerCase().split(/[^a-z0-9\-_.]+/)) {
    const word = raw.replace(/^[-_.]+|[-_.]+$/g, '');
    if (word.length < 2 || STOPWORDS.has(word) || /^\d+(\.\d+)?$/.test(word)) continue;
    out.add(word);
    for (const part of word.split(/[-_.]/)) if (part.length >= 2 && !STOPWORDS.has(part) && !/^\d+$/.test(part)) out.add(part);
  }
  return [...out];
};

/** The categories whose keywords appear (as word prefixes) in the text. */
export const inferCategories = (text: string): Set<string> => {
  const words = keywords(text);
  const found = new Set<string>();
  for (const [category, keys] of Object.entries(CATEGORY_KEYWORDS)) {
    if (keys.some((k) => words.some((w) => w.startsWith(k)))) found.add(category);
  }
  return found;
};

export interface SimilarityQuery {
  readonly title: string;
  readonly service: string;
  /** Topology neighbours of the service (callers and callees). */
  readonly neighbours?: readonly string[];
  /** More text about the new incident: description, tag values, symptoms. */
  readonly text?: string;
}

export interface RankedIncident {
  readonly incident: PastIncident;
  /** Combined score in [0, 1]. */
  readonly score: number;
  readonly components: { readonly text: number; readonly service: number; readonly category: number; readonly tags: number };
  readonly matchedTerms: readonly string[];
  readonly serviceMatch: 'same' | 'neighbour' | 'none';
  readonly sharedCategories: readonly string[];
  readonly sharedTags: readonly string[];
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

const tokenize = (text: string): string[] => keywords(text);

/** Ranks candidates (deduplicated by id) for the query, best first. */
export const rankIncidents = (query: SimilarityQuery, candidates: readonly PastIncident[]): RankedIncident[] => {
  const unique = [...new Map(candidates.map((c) => [c.id, c])).values()];
  if (unique.length === 0) return [];
  const queryText = [query.title, query.text ?? '', query.service].join(' ');
  const queryTerms = keywords(queryText);
  const queryCategories = inferCategories(queryText);
  const neighbours = new Set(query.neighbours ?? []);

  const index = new MiniSearch<{ id: string; title: string; rootCause: string; resolution: string; tags: string; category: string; service: string }>({
    fields: ['title', 'rootCause', 'resolution', 'tags', 'category', 'service'],
    tokenize,
    searchOptions: { boost: { title: 2, tags: 1.5, rootCause: 1.5 }, prefix: (term) => term.length >= 5, fuzzy: (term) => (term.length >= 6 ? 0.15 : false), combineWith: 'OR' },
  });
  index.addAll(unique.map((c) => ({ id: c.id, title: c.title, rootCause: c.rootCause, resolution: c.resolution, tags: c.tags.join(' '), category: c.category ?? '', service: c.service })));
  const hits = new Map(index.search(queryTerms.join(' ')).map((h) => [String(h.id), h]));
  const maxBm25 = Math.max(0, ...[...hits.values()].map((h) => h.score));

  const ranked = unique.map((incident): RankedIncident => {
    const hit = hits.get(incident.id);
    const matchedTerms = hit ? [...new Set(hit.queryTerms as string[])] : [];
    const coverage = queryTerms.length === 0 ? 0 : matchedTerms.length / queryTerms.length;
    const text = hit && maxBm25 > 0 ? 0.5 * (hit.score / maxBm25) + 0.5 * coverage : 0;
    const serviceMatch = incident.service === query.service ? 'same' : neighbours.has(incident.service) ? 'neighbour' : 'none';
    const service = serviceMatch === 'same' ? 1 : serviceMatch === 'neighbour' ? 0.5 : 0;
    const incidentText = [incident.title, incident.rootCause, incident.category ?? '', incident.tags.join(' ')].join(' ');
    const theirCategories = inferCategories(incidentText);
    if (incident.category) theirCategories.add(incident.category);
    const sharedCategories = [...queryCategories].filter((c) => theirCategories.has(c));
    const category = queryCategories.size === 0 ? 0 : sharedCategories.length / queryCategories.size;
    const termSet = new Set([...queryTerms, ...queryCategories]);
    const sharedTags = incident.tags.filter((t) => termSet.has(t.toLowerCase()) || keywords(t).some((k) => termSet.has(k)));
    const tags = incident.tags.length === 0 ? 0 : Math.min(1, sharedTags.length / Math.min(incident.tags.length, 3));
    const score = WEIGHTS.text * text + WEIGHTS.service * service + WEIGHTS.category * category + WEIGHTS.tags * tags;
    return {
      incident,
      score: round(Math.min(1, Math.max(0, score))),
      components: { text: round(text), service, category: round(category), tags: round(tags) },
      matchedTerms,
      serviceMatch,
      sharedCategories,
      sharedTags,
    };
  });
  // Ties: the more recent incident first (its runbook reflects the current system).
  return ranked.sort((a, b) => b.score - a.score || Date.parse(b.incident.openedAt) - Date.parse(a.incident.openedAt));
};

/** One sentence saying why a ranked incident matched. */
export const explainMatch = (r: RankedIncident): string => {
  const why: string[] = [];
  if (r.serviceMatch === 'same') why.push(`same service ${r.incident.service}`);
  else if (r.serviceMatch === 'neighbour') why.push(`neighbouring service ${r.incident.service}`);
  if (r.sharedCategories.length > 0) why.push(`same category (${r.sharedCategories.join(', ')})`);
  if (r.sharedTags.length > 0) why.push(`shared tags ${r.sharedTags.join(', ')}`);
  if (r.matchedTerms.length > 0) why.push(`matching terms ${r.matchedTerms.slice(0, 6).join(', ')}`);
  return `${r.incident.id} (${r.score.toFixed(2)}): ${why.length > 0 ? why.join('; ') : 'weak textual overlap only'}`;
};
