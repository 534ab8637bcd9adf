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

const view = (c: Cluster): MinedTemplate => ({
  id: c.id,
  template: c.tokens.join(' '),
  tokens: [...c.tokens],
  count: c.count,
  firstSeen: c.first === undefined ? undefined : new Date(c.first).toISOString(),
  lastSeen: c.last === undefined ? undefined : new Date(c.last).toISOString(),
  example: c.example,
});

export class TemplateMiner {
  readonly #depth: number;
  readonly #similarity: number;
  readonly #maxChildren: number;
  readonly #masks: readonly RegExp[];
  readonly #splitter: RegExp;
  readonly #root = node();
  readonly #clusters: Cluster[] = [];
  readonly #byId = new Map<string, Cluster>();

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
      this.#byId.set(cluster.id, cluster);
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
    return this.#clusters.map(view);
  }

  /** One template by id, without building the others (the logs agent asks for each template it reports). */
  template(id: string): MinedTemplate | undefined {
    const cluster = this.#byId.get(id);
    return cluster ? view(cluster) : undefined;
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

export interface MinedLines {
  /** The template id of each input line, in order. */
  readonly lines: string[];
  readonly templates: { id: string; template: string; count: number }[];
}

/**
 * Mines templates from a batch of lines (whole raw lines or just their messages): one template id per line,
 * and every template with its final form and count. Ids are assigned in order of first appearance. Raw lines
 * are recognised (see `messagesOf`) and their headers left out, so templates are of messages.
 */
export const mineTemplates = (lines: readonly string[], options: TemplateMinerOptions = {}): MinedLines => {
  const miner = new TemplateMiner(options);
  const ids = messagesOf(lines).map((line) => miner.add(line));
  return { lines: ids, templates: miner.templates().map(({ id, template, count }) => ({ id, template, count })) };
};

/**
 * Grouping accuracy (Zhu et al., "Tools and Benchmarks for Automated Log Parsing", ICSE-SEIP 2019): the share of
 * lines whose predicted group holds exactly the lines of their ground-truth group.
 */
export const groupingAccuracy = (truth: readonly string[], predicted: readonly string[]): number => {
  if (truth.length !== predicted.length) throw new RangeError(`truth has ${truth.length} labels, predicted ${predicted.length}`);
  if (truth.length === 0) return 1;
  const members = (labels: readonly string[]) => {
    const m = new Map<string, number[]>();
    labels.forEach((l, i) => (m.get(l) ?? m.set(l, []).get(l)!).push(i));
    return m;
  };
  const truthGroups = members(truth);
  const predictedGroups = members(predicted);
  let correct = 0;
  for (const [label, lines] of predictedGroups) {
    const truthLines = truthGroups.get(truth[lines[0]])!;
    if (truthLines.length === lines.length && lines.every((i) => truth[i] === truth[lines[0]])) correct += lines.length;
    void label;
  }
  return correct / truth.length;
};

// ───────────────────────── raw lines: recognising the header ─────────────────────────

/** Severity words loggers print (syslog, log4j, Python, Windows, Apache), bracketed or not. */
const LEVEL = /^\[?(?:info|information|warn|warning|error|err|debug|trace|fatal|severe|notice|critical|crit|alert|emerg|verbose)\]?:?$/i;
/** Android / glog single-letter levels count only when a `Component:` follows. */
const LETTER_LEVEL = /^[VDIWEF]$/;
const MONTH_OR_DAY = /^(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)[a-z]*,?$/i;
/** How far into a line a header may reach (BGL's has nine fields). */
const MAX_HEADER_TOKENS = 12;
/** Share of lines that must show a header for the batch to be read as raw lines. */
const HEADER_QUORUM = 0.6;

/** Whitespace tokens of a line, a bracketed group (`[Socket Reader #1 for port 62260]`) kept as one token, with offsets. */
const headerTokens = (line: string): { text: string; end: number }[] => {
  const out: { text: string; end: number }[] = [];
  const re = /\S+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) && out.length < MAX_HEADER_TOKENS + 3) {
    let text = m[0];
    let end = m.index + text.length;
    let depth = [...text].reduce((d, c) => d + (c === '[' ? 1 : c === ']' ? -1 : 0), 0);
    while (text.startsWith('[') && depth > 0) {
      const next = re.exec(line);
      if (!next) break;
      text += ` ${next[0]}`;
      end = next.index + next[0].length;
      depth += [...next[0]].reduce((d, c) => d + (c === '[' ? 1 : c === ']' ? -1 : 0), 0);
    }
    out.push({ text, end });
  }
  return out;
};

const endsField = (t: string) => t.endsWith(':') && !/^\d+(?::\d+)*:$/.test(t);
const isBracketed = (t: string) => t.startsWith('[') && t.endsWith(']');

/**
 * Where a line's header (timestamp, host, level, component…) ends, or undefined when the line does not start
 * like one. Format-agnostic: a header starts with a time, a number, a month/day name, a bracket or a dash, and
 * ends at the first of: a `Component:` field; a level word (plus what loggers put right after it: a bracketed
 * thread/request, a `Component:`, a ` - `); a standalone `-` separator.
 */
export const headerEnd = (line: string): number | undefined => {
  const tokens = headerTokens(line);
  const first = tokens[0]?.text ?? '';
  if (!(/\d/.test(first) || MONTH_OR_DAY.test(first) || first.startsWith('[') || first === '-')) return undefined;
  for (let i = 1; i < Math.min(tokens.length - 1, MAX_HEADER_TOKENS); i += 1) {
    const t = tokens[i].text;
    const level = LEVEL.test(t) || (LETTER_LEVEL.test(t) && endsField(tokens[i + 1]?.text ?? ''));
    if (level) {
      let end = i;
      for (let j = i + 1; j <= i + 2 && j < tokens.length - 1; j += 1) {
        const u = tokens[j].text;
        if (endsField(u) || u === '-' || isBracketed(u)) end = j;
        if (endsField(u) || u === '-') break;
      }
      return tokens[end].end;
    }
    if (endsField(t)) return tokens[i].end;
    if (t === '-' && !LEVEL.test(tokens[i + 1]?.text ?? '')) return tokens[i].end;
  }
  return undefined;
};

/**
 * The message part of each line when the batch is made of raw log lines (most lines show a header), else the
 * lines unchanged. Deciding per batch, not per line, keeps a message that happens to start with a number and
 * contain a colon (`10.251.30.85:50010:Got exception … to /10.251.90.64:`) from losing its first words.
 */
export const messagesOf = (lines: readonly string[]): string[] => {
  const ends = lines.map(headerEnd);
  const nonEmpty = lines.filter((l) => l.trim() !== '').length;
  const withHeader = ends.filter((e) => e !== undefined).length;
  if (nonEmpty === 0 || withHeader / nonEmpty < HEADER_QUORUM) return [...lines];
  return lines.map((l, i) => (ends[i] === undefined ? l : l.slice(ends[i]).trim()));
};
