/**
 * Log template mining: an online parser of the Drain family (He et al., "Drain: An Online Log Parsing
 * Approach with Fixed Depth Tree", ICWS 2017), the approach Loghub's benchmark ranks among the most
 * accurate, and the one Drain3 uses in production.
 *
 * How a line finds its template:
 * 1. Masking: generic variable shapes (UUIDs, timestamps, IPs, hex, paths, durations, numbers) become `<*>`
 *    with regular expressions that know nothing about any particular log format.
 * 2. Tokens: whitespace-separated (plus optional extra delimiters).
 * 3. A fixed-depth parse tree: the first level is the token count, the next `depth − 3` levels are the
 *    leading tokens (a token holding a digit or a wildcard goes to the `<*>` branch, and so does any token
 *    once a node has `maxChildren` children). A leaf holds a short list of templates.
 * 4. In the leaf, the template with the highest token-wise similarity (equal constant tokens / length; ties
 *    go to the template with more wildcards) is chosen if the similarity is ≥ `similarity`; positions where
 *    the line differs become `<*>`. Otherwise the line starts a new template.
 * Template ids never change once given, even as the template generalises.
 */

export const WILDCARD = '<*>';

/** Generic variable shapes, applied in order (more specific first). */
export const DEFAULT_MASKS: readonly RegExp[] = [
  // UUIDs
  /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi,
  // ISO-like date-times (date, optional time, fraction and zone), then bare clock times
  /\b\d{4}[-/]\d{2}[-/]\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?\b/g,
  /\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b/g,
  // IPv4 with optional port
  /(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\d.])/g,
  // 0x-prefixed hex, then long hex strings that mix digits and letters (hashes, trace/span ids)
  /\b0x[0-9a-f]+\b/gi,
  /\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi,
  // Unix paths with at least two segments
  /(?<![\w/])(?:\/[\w.\-~%@+]+){2,}\/?/g,
  // durations and sizes with an attached unit: 250ms, 1.5s, 30sec, 512MB
  /(?<![\w.])[-+]?\d+(?:\.\d+)?(?:ns|us|µs|ms|s|sec|secs|min|mins|h|hr|hrs|[kKmMgGtT]i?[bB])(?![\w])/g,
  // numbers not glued to a letter or digit (so `user42` stays, `pool-1` → `pool-<*>`, `blk_-42` → `blk_<*>`)
  /(?<![A-Za-z0-9])[-+]?\d+(?:[.,]\d+)*(?![A-Za-z0-9])/g,
];

export interface TemplateMinerOptions {
  /** Total tree depth counting the root, the token-count level and the leaf (Drain's default 4: one token level). */
  readonly depth?: number;
  /** Similarity threshold in [0, 1] (default 0.4, Drain3's default). */
  readonly similarity?: number;
  /** Children per internal node before tokens are routed to the wildcard branch (default 100). */
  readonly maxChildren?: number;
  /** Masks applied before tokenising; `[]` disables masking. */
  readonly masks?: readonly RegExp[];
  /** Extra token delimiters besides whitespace (e.g. `['=', ',']`). */
  readonly delimiters?: readonly string[];
}

export interface MinedTemplate {
  readonly id: string;
  readonly template: string;
  readonly tokens: readonly string[];
  readonly count: number;
  /** ISO 8601 of the earliest/latest timestamp seen (when lines came with timestamps). */
  readonly firstSeen?: string;
  readonly lastSeen?: string;
  /** The first line that created the template, as given. */
  readonly example: string;
}

export class InvalidMinerOptions extends Error {
  override name = 'InvalidMinerOptions';
}

interface Cluster {
  readonly id: string;
  tokens: string[];
  count: number;
  first?: number;
  last?: number;
  readonly example: string;
}

interface TreeNode {
  readonly children: Map<string, TreeNode>;
  readonly clusters: Cluster[];
}

const node = (): TreeNode => ({ children: new Map(), clusters: [] });
const HAS_DIGIT = /\d/;
const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Replaces variable-looking substrings with `<*>` using `masks` (default `DEFAULT_MASKS`). */
export const maskMessage = (message: string, masks: readonly RegExp[] = DEFAULT_MASKS): string =>
  masks.reduce((text, mask) => text.replace(mask, WILDCARD), message);

const toMs = (timestamp: string | number | Date | undefined): number | undefined => {
  if (timestamp === undefined) return undefined;
  const ms = timestamp instanceof Date ? timestamp.getTime() : typeof timestamp === 'number' ? timestamp : Date.parse(timestamp);
  return Number.isFinite(ms) ? ms : undefined;
};

export class TemplateMiner {
  readonly #depth: number;
  readonly #similarity: number;
  readonly #maxChildren: number;
  readonly #masks: readonly RegExp[];
  readonly #splitter: RegExp;
  readonly #root = node();
  readonly #clusters: Cluster[] = [];

  constructor(options: TemplateMinerOptions = {}) {
    this.#depth = options.depth ?? 4;
    this.#similarity = options.similarity ?? 0.4;
    this.#maxChildren = options.maxChildren ?? 100;
    this.#masks = options.masks ?? DEFAULT_MASKS;
    if (!Number.isInteger(this.#depth) || this.#depth < 3) throw new InvalidMinerOptions(`depth must be an integer ≥ 3, got ${this.#depth}`);
    if (!(this.#similarity >= 0 && this.#similarity <= 1)) throw new InvalidMinerOptions(`similarity must be in [0, 1], got ${this.#similarity}`);
    if (!Number.isInteger(this.#maxChildren) || this.#maxChildren < 2) throw new InvalidMinerOptions(`maxChildren must be an integer ≥ 2, got ${this.#maxChildren}`);
    const extra = (options.delimiters ?? []).map(escapeRegExp).join('');
    this.#splitter = new RegExp(`[\\s${extra}]+`);
  }

  /** Masked tokens of a message, as the tree sees them. */
  tokenize(message: string): string[] {
    return maskMessage(message, this.#masks)
      .trim()
      .split(this.#splitter)
      .filter((t) => t.length > 0);
  }

  /** Adds a line (a whole raw line or just its message); returns its template id. */
  add(message: string, timestamp?: string | number | Date): string {
    const tokens = this.tokenize(message);
    const ms = toMs(timestamp);
    const leaf = this.#leaf(tokens, true);
    let cluster = this.#bestMatch(leaf.clusters, tokens);
    if (cluster) {
      cluster.tokens = cluster.tokens.map((t, i) => (t === tokens[i] ? t : WILDCARD));
      cluster.count += 1;
    } else {
      cluster = { id: `t${this.#clusters.length + 1}`, tokens: [...tokens], count: 1, example: message };
      leaf.clusters.push(cluster);
      this.#clusters.push(cluster);
    }
    if (ms !== undefined) {
      cluster.first = cluster.first === undefined ? ms : Math.min(cluster.first, ms);
      cluster.last = cluster.last === undefined ? ms : Math.max(cluster.last, ms);
    }
    return cluster.id;
  }

  /** The id of the template a line would join, without adding it; undefined if it would start a new one. */
  match(message: string): string | undefined {
    const tokens = this.tokenize(message);
    const leaf = this.#leaf(tokens, false);
    return leaf ? this.#bestMatch(leaf.clusters, tokens)?.id : undefined;
  }

  /** Every template, in creation order. */
  templates(): MinedTemplate[] {
    return this.#clusters.map((c) => ({
      id: c.id,
      template: c.tokens.join(' '),
      tokens: [...c.tokens],
      count: c.count,
      firstSeen: c.first === undefined ? undefined : new Date(c.first).toISOString(),
      lastSeen: c.last === undefined ? undefined : new Date(c.last).toISOString(),
      example: c.example,
    }));
  }

  template(id: string): MinedTemplate | undefined {
    return this.templates().find((t) => t.id === id);
  }

  /** Walks (and, when `create`, grows) the tree: token count, then up to depth − 3 leading tokens. */
  #leaf(tokens: readonly string[], create: true): TreeNode;
  #leaf(tokens: readonly string[], create: false): TreeNode | undefined;
  #leaf(tokens: readonly string[], create: boolean): TreeNode | undefined {
    const lengthKey = String(tokens.length);
    let current: TreeNode | undefined = this.#root.children.get(lengthKey);
    if (!current) {
      if (!create) return undefined;
      current = node();
      this.#root.children.set(lengthKey, current);
    }
    // Depth counts the root, the length level and the leaf: depth − 3 levels of leading tokens (as Drain3).
    const levels = Math.min(this.#depth - 3, tokens.length);
    for (let i = 0; i < levels; i += 1) {
      const token = tokens[i];
      const variable = token === WILDCARD || HAS_DIGIT.test(token);
      let key = variable ? WILDCARD : token;
      let next: TreeNode | undefined = current.children.get(key);
      if (!next && key !== WILDCARD && current.children.size >= this.#maxChildren) {
        key = WILDCARD;
        next = current.children.get(key);
      }
      if (!next) {
        if (!create) return undefined;
        next = node();
        current.children.set(key, next);
      }
      current = next;
    }
    return current;
  }

  /** Drain's fast match: highest share of equal constant tokens; ties go to the more general template. */
  #bestMatch(clusters: readonly Cluster[], tokens: readonly string[]): Cluster | undefined {
    let best: Cluster | undefined;
    let bestSim = -1;
    let bestParams = -1;
    for (const cluster of clusters) {
      if (cluster.tokens.length !== tokens.length) continue;
      let same = 0;
      let params = 0;
      let identical = true;
      // As in Drain, a wildcard in the template is a parameter, not a match: two lines that share only their
      // variables must not merge. A line identical to the template (e.g. made only of variables) matches.
      cluster.tokens.forEach((t, i) => {
        if (t !== tokens[i]) identical = false;
        if (t === WILDCARD) params += 1;
        else if (t === tokens[i]) same += 1;
      });
      const sim = identical ? 1 : same / tokens.length;
      if (sim > bestSim || (sim === bestSim && params > bestParams)) {
        best = cluster;
        bestSim = sim;
        bestParams = params;
      }
    }
    return best && bestSim >= this.#similarity ? best : undefined;
  }
}
