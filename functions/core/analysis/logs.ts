/**
 * Log template mining: groups log messages into events and shows each event as a template (constant words kept,
 * variables as `<*>`). One configuration for every log format: no per-format patterns or thresholds.
 *
 * The approach is that of Brain (Yu et al., "Brain: Log Parsing With Bidirectional Parallel Tree", IEEE TSC 2023),
 * which Loghub's benchmark ranks among the most accurate: a word that many lines share at the same position is a
 * constant, and a column decides by how many distinct words it holds whether it tells events apart or is a
 * variable. It needs the whole batch, so lines are grouped when the grouping is read, not as they are added.
 *
 * How lines are grouped:
 * 1. Tokens: words split at whitespace and at `= , ; ( ) [ ] { } " ' |`, and at `:` unless digits stand on both
 *    sides (`12:04:13`, `10.0.0.1:5432` stay whole); the punctuation is a token too. Runs of dots (leaders in
 *    `depth......0`, ellipses) separate like whitespace.
 * 2. Variables by shape, whatever the format: a token holding a digit (numbers, IPs, hex, ids, versions), MAC-style
 *    colon-separated hex bytes, a path, a host name (three or more dot-separated lowercase labels ending in a 2–4
 *    letter label, or a name before `:port`), a month or weekday name next to a date part. A unit after a number
 *    joins it (`1.5 KB`, `<1 sec`); a bracketed group of variables only (`(18.4 KB)`, `[10.0.0.1]`), or an empty
 *    one, is an annotation and does not count; adjacent variables are one (`Fri Jun 17 07:07:00 2005`,
 *    `host:port`). So a value's own spaces do not change an event's token count.
 * 3. Lines with the same token count are read together. Each (position, word) counts how many lines hold it;
 *    a line's root is its largest set of words with one common count (ties: the higher count): lines with the
 *    same root form a first group (the words an event's lines share all have that event's count).
 * 4. Inside a group, a column whose words differ is split on when it holds at most `maxSplitValues` distinct
 *    words (`Failed password` / `Failed none`, `begin` / `end`), fewest first, recursively; a column with more,
 *    or whose words are all different (three lines or more), or that mixes words with variables, is a variable.
 * Template ids (`t1`, `t2`, …) follow the order of each template's first line, so a batch always gets the same ids.
 */

export const WILDCARD = '<*>';

/** Generic variable shapes inside one token, for showing a constant token (`blk_<*>`, `HikariPool-<*>`). */
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
  /**
   * A column whose words differ splits a group when it holds at most this many distinct words; more, and it is a
   * variable (default 4, Brain's usual setting).
   */
  readonly maxSplitValues?: number;
  /** Extra token delimiters (single characters) besides whitespace and `= , ; ( ) [ ] { } " ' |`. */
  readonly delimiters?: readonly string[];
}

export interface MinedTemplate {
  readonly id: string;
  readonly template: string;
  /** The template's tokens as shown (variables `<*>`), without the separators between them. */
  readonly tokens: readonly string[];
  readonly count: number;
  /** ISO 8601 of the earliest/latest timestamp seen (when lines came with timestamps). */
  readonly firstSeen?: string;
  readonly lastSeen?: string;
  /** The template's first line, as given. */
  readonly example: string;
}

export class InvalidMinerOptions extends Error {
  override name = 'InvalidMinerOptions';
}

/** Replaces variable-looking substrings with `<*>` using `masks` (default `DEFAULT_MASKS`). */
export const maskMessage = (message: string, masks: readonly RegExp[] = DEFAULT_MASKS): string =>
  masks.reduce((text, mask) => text.replace(mask, WILDCARD), message);

// ───────────────────────── tokens and variables by shape ─────────────────────────

/** The key of a variable token (not a string any log can hold). */
const VAR = '\u0000';
const BASE_DELIMITERS = '=,;()[]{}"\'|';
const WHITESPACE = new Set([' ', '\t', '\n', '\r', '\f', '\v']);
const HAS_DIGIT = /\d/;
const HAS_WORD = /\w/;
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
/** Three or more lowercase labels ending in a 2–4 letter one: `proxy.cse.cuhk.edu.hk`, `ns.example.com`. */
const HOST = /^(?:[a-z0-9-]+\.){2,}[a-z]{2,4}$/;
/** A name before `:port` (`github.com:443`, `wpad:80`): lowercase labels, at least one letter. */
const HOST_BEFORE_PORT = /^(?=[a-z0-9.-]*[a-z])[a-z0-9-]+(?:\.[a-z0-9-]+)*$/;
const PORT = /^\d{2,5}$/;
/** MAC addresses and other colon-separated hex bytes (`00:0D:60:E9:1D:DC`), kept whole: their letter-only bytes look like words. */
const HEX_BYTES = /(?:[0-9a-f]{2}:){5,}[0-9a-f]{2}(?![0-9a-z:])/iy;
/** Unix, Windows (`\Windows\winsxs\…`) or URL (`//host/a`) paths of at least two segments. */
const PATH = /^(?:[\\/][^\\/]*){2,}$/;
const MONTH_OR_DAY_NAME = /^(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|august|september|october|november|december|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|monday|tuesday|wednesday|thursday|friday|saturday|sunday)$/i;
/** Units that belong to the number before them. */
const UNIT = /^(?:[kmgtpe]i?b|b|ns|us|µs|ms|s|m|h|d|sec|secs|seconds?|mins?|minutes?|hrs?|hours?|days?)$/i;
const CLOSING = new Map([['(', ')'], ['[', ']'], ['{', '}']]);

/** One token of a line: its key (the word, or `VAR`), where it is, and an annotation that follows it. */
interface Token {
  key: string;
  /** A word (a constant holding a letter or digit), not punctuation or a variable: words choose a line's root. */
  readonly word: boolean;
  readonly start: number;
  end: number;
  /** End of a following bracketed group of variables only or an empty one (`(1.16 KB)`, `()`), left out of the key sequence. */
  annotationEnd: number;
}

/**
 * The pieces of the message being tokenized, as parallel arrays reused from call to call (tokenizing is
 * synchronous): a few thousand lines make tens of thousands of pieces, and objects for each were most of the time.
 */
const piece = { text: [] as string[], start: [] as number[], end: [] as number[], spaced: [] as boolean[], key: [] as string[], length: 0 };

const push = (text: string, start: number, end: number, spaced: boolean) => {
  const n = piece.length;
  piece.text[n] = text;
  piece.start[n] = start;
  piece.end[n] = end;
  piece.spaced[n] = spaced;
  piece.length = n + 1;
};

const isHexCode = (code: number) => (code >= 48 && code <= 57) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102);
const isWordCode = (code: number) => (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);

/** The end of the run of `hh:` hex bytes (two hex digits and a colon) starting at `i`. */
const hexRunEnd = (message: string, i: number): number => {
  let j = i;
  while (isHexCode(message.charCodeAt(j)) && isHexCode(message.charCodeAt(j + 1)) && message.charCodeAt(j + 2) === 58) j += 3;
  return j;
};

/** Step 1: fills `piece` with the message's pieces (words and punctuation), each marked if whitespace precedes it. */
const splitPieces = (message: string, delimiters: ReadonlySet<string>): void => {
  piece.length = 0;
  let start = -1;
  let spaced = true;
  // Where the last failed HEX_BYTES test's run of `hh:` bytes ends: a piece starting inside that run fails the same
  // way (the same run, fewer bytes), so it is not tested again — testing each would make a long run that ends wrong
  // (`aa:aa:…:aa:`) quadratic in the line's length (minutes for a 1 MB line).
  let noHexBefore = -1;
  for (let i = 0; i < message.length; i += 1) {
    const code = message.charCodeAt(i);
    // a run of two or more dots (a leader, `depth......0`, or an ellipsis) separates like whitespace
    const white = code <= 32 || (code === 46 && (message.charCodeAt(i + 1) === 46 || message.charCodeAt(i - 1) === 46));
    const delimiter = !white && (code === 58 ? !(isDigit(message[i - 1]) && isDigit(message[i + 1])) : code < 128 && !isWordCode(code) && delimiters.has(message[i]));
    if (!white && !delimiter) {
      if (start < 0) {
        start = i;
        if (i >= noHexBefore && isHexCode(code)) {
          HEX_BYTES.lastIndex = i;
          if (HEX_BYTES.test(message)) i = HEX_BYTES.lastIndex - 1;
          else noHexBefore = hexRunEnd(message, i);
        }
      }
      continue;
    }
    if (start >= 0) {
      push(message.slice(start, i), start, i, spaced);
      spaced = false;
      start = -1;
    }
    if (white) spaced = true;
    else {
      push(message[i], i, i + 1, spaced);
      spaced = false;
    }
  }
  if (start >= 0) push(message.slice(start), start, message.length, spaced);
};

const isDatePart = (i: number) => i >= 0 && i < piece.length && (HAS_DIGIT.test(piece.text[i]) || MONTH_OR_DAY_NAME.test(piece.text[i]));

/** Step 2: each piece's key, `VAR` when its shape says variable (see the header). */
const pieceKeys = (): void => {
  const { text, key, spaced } = piece;
  const n = piece.length;
  for (let i = 0; i < n; i += 1) {
    const t = text[i];
    let k = t;
    if (HAS_DIGIT.test(t) || (t.length >= 17 && t[2] === ':' && (HEX_BYTES.lastIndex = 0) === 0 && HEX_BYTES.test(t)) || ((t[0] === '/' || t[0] === '\\') && PATH.test(t)) || (t.includes('.') && HOST.test(t))) k = VAR;
    else if (text[i + 1] === ':' && i + 2 < n && !spaced[i + 1] && !spaced[i + 2] && PORT.test(text[i + 2]) && HOST_BEFORE_PORT.test(t)) k = VAR;
    key[i] = k;
  }
  for (let i = 0; i < n; i += 1) {
    const k = key[i];
    if (k === VAR || k.length > 9) continue;
    // month and weekday names are variables next to a date part (not `may` in "may not")
    if (k.length >= 3 && MONTH_OR_DAY_NAME.test(k) && (isDatePart(i - 1) || isDatePart(i + 1))) key[i] = VAR;
    // a unit right after a number is part of it
    else if (i > 0 && key[i - 1] === VAR && HAS_DIGIT.test(text[i - 1]) && UNIT.test(k)) key[i] = VAR;
  }
};

/** The tokens of a message, variables by shape as `VAR`, annotations set aside, adjacent variables merged. */
const tokensOf = (message: string, delimiters: ReadonlySet<string>): Token[] => {
  splitPieces(message, delimiters);
  pieceKeys();
  const { key: keys, start: starts, end: ends, spaced } = piece;
  const n = piece.length;
  const out: Token[] = [];
  for (let i = 0; i < n; i += 1) {
    const key = keys[i];
    const previous = out.length > 0 ? out[out.length - 1] : undefined;
    if (previous && (key === '(' || key === '[' || key === '{')) {
      // a bracketed group of variables only, or an empty one, annotates the token before it
      let j = i + 1;
      while (j < n && keys[j] === VAR) j += 1;
      if (j < n && keys[j] === CLOSING.get(key)) {
        previous.annotationEnd = ends[j];
        i = j;
        continue;
      }
    }
    // `host:port`, `fe80::1`, `a/b` between variables, and runs of variables, are one variable
    if ((key === ':' || key === '/') && previous?.key === VAR && previous.annotationEnd === previous.end) {
      let j = i + 1;
      while (j < n && (keys[j] === ':' || keys[j] === '/') && !spaced[j]) j += 1;
      if (j < n && keys[j] === VAR) {
        previous.end = ends[j];
        previous.annotationEnd = previous.end;
        i = j;
        continue;
      }
    }
    if (key === VAR && previous?.key === VAR && previous.annotationEnd === previous.end) {
      previous.end = ends[i];
      previous.annotationEnd = previous.end;
      continue;
    }
    out.push({ key, word: key !== VAR && HAS_WORD.test(key), start: starts[i], end: ends[i], annotationEnd: ends[i] });
  }
  return out;
};

// ───────────────────────── grouping ─────────────────────────

interface Line {
  readonly message: string;
  readonly tokens: Token[];
  readonly ms?: number;
}

interface Group {
  readonly id: string;
  readonly lines: readonly number[];
  /** Per position the word all lines share, or `VAR`. */
  readonly pattern: readonly string[];
}

const pushTo = <K, V>(map: Map<K, V[]>, key: K, value: V) => {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
};

/** Step 3: first groups of one token count, by each line's root (largest set of words with one common count). */
const firstGroups = (lines: readonly Line[], members: readonly number[]): number[][] => {
  // each distinct (position, word) gets a slot; per line and position the slot, or -1 for a variable or punctuation
  // (punctuation is structure, not a word: it does not choose the root)
  const width = lines[members[0]].tokens.length;
  const slotOf = Array.from({ length: width }, () => new Map<string, number>());
  const counts: number[] = [];
  const slots = new Int32Array(members.length * width);
  members.forEach((i, m) => {
    const tokens = lines[i].tokens;
    for (let p = 0; p < width; p += 1) {
      const t = tokens[p];
      let slot = -1;
      if (t.word) {
        slot = slotOf[p].get(t.key) ?? -1;
        if (slot < 0) slotOf[p].set(t.key, (slot = counts.push(0) - 1));
        counts[slot] += 1;
      }
      slots[m * width + p] = slot;
    }
  });
  const byRoot = new Map<string, number[]>();
  const sizes = new Map<number, number>();
  members.forEach((i, m) => {
    const row = m * width;
    // the count shared by the most words (ties: the higher count)
    sizes.clear();
    let rootCount = -1;
    let rootSize = 0;
    for (let p = 0; p < width; p += 1) {
      const slot = slots[row + p];
      if (slot < 0) continue;
      const c = counts[slot];
      const size = (sizes.get(c) ?? 0) + 1;
      sizes.set(c, size);
      if (size > rootSize || (size === rootSize && c > rootCount)) {
        rootCount = c;
        rootSize = size;
      }
    }
    let root = '';
    for (let p = 0; p < width; p += 1) {
      const slot = slots[row + p];
      if (slot >= 0 && counts[slot] === rootCount) root += `${slot},`;
    }
    pushTo(byRoot, root, i);
  });
  return [...byRoot.values()];
};

/** Step 4: splits a group on its columns of few distinct words, recursively; returns the final groups. */
const splitGroup = (lines: readonly Line[], members: number[], width: number, maxSplitValues: number, out: number[][]): void => {
  let column = -1;
  let fewest = Infinity;
  for (let p = 0; p < width; p += 1) {
    const values = new Set<string>();
    let variable = false;
    for (const i of members) {
      const key = lines[i].tokens[p].key;
      if (key === VAR) variable = true;
      values.add(key);
      if (variable || values.size > maxSplitValues) break;
    }
    if (variable || values.size <= 1 || values.size > maxSplitValues) continue;
    // every line a different word: names, not kinds of event
    if (values.size === members.length && members.length >= 3) continue;
    if (values.size < fewest) [column, fewest] = [p, values.size];
  }
  if (column < 0) {
    out.push(members);
    return;
  }
  const parts = new Map<string, number[]>();
  for (const i of members) pushTo(parts, lines[i].tokens[column].key, i);
  for (const part of parts.values()) splitGroup(lines, part, width, maxSplitValues, out);
};

const toMs = (timestamp: string | number | Date | undefined): number | undefined => {
  if (timestamp === undefined) return undefined;
  const ms = timestamp instanceof Date ? timestamp.getTime() : typeof timestamp === 'number' ? timestamp : Date.parse(timestamp);
  return Number.isFinite(ms) ? ms : undefined;
};

/**
 * Groups log messages into templates. Add every line, then read: `templateIdOf(line)`, `ids()`, `templates()`.
 * The grouping is computed over all lines added so far when first read after an add (reading after each add of a
 * long stream re-reads the whole batch each time).
 */
export class TemplateMiner {
  readonly #maxSplitValues: number;
  readonly #delimiters: ReadonlySet<string>;
  readonly #lines: Line[] = [];
  #groups: Group[] | undefined;
  #groupOfLine: number[] = [];
  readonly #byId = new Map<string, Group>();

  constructor(options: TemplateMinerOptions = {}) {
    this.#maxSplitValues = options.maxSplitValues ?? 4;
    if (!Number.isInteger(this.#maxSplitValues) || this.#maxSplitValues < 1)
      throw new InvalidMinerOptions(`maxSplitValues must be an integer ≥ 1, got ${this.#maxSplitValues}`);
    for (const d of options.delimiters ?? [])
      if (d.length !== 1 || WHITESPACE.has(d) || /\w/.test(d)) throw new InvalidMinerOptions(`delimiters must be single punctuation characters, got ${JSON.stringify(d)}`);
    this.#delimiters = new Set([...BASE_DELIMITERS, ...(options.delimiters ?? [])]);
  }

  /** A message's tokens as grouping sees them: words, punctuation, and `<*>` for variables. */
  tokenize(message: string): string[] {
    return tokensOf(message, this.#delimiters).map((t) => (t.key === VAR ? WILDCARD : t.key));
  }

  /** Adds a message (or a whole line); returns its line number in this miner (0, 1, …) for `templateIdOf`. */
  add(message: string, timestamp?: string | number | Date): number {
    this.#lines.push({ message, tokens: tokensOf(message, this.#delimiters), ms: toMs(timestamp) });
    this.#groups = undefined;
    return this.#lines.length - 1;
  }

  /** The template id of an added line. */
  templateIdOf(line: number): string {
    const groups = this.#grouped();
    const g = this.#groupOfLine[line];
    if (g === undefined) throw new RangeError(`no line ${line} in this miner (it has ${this.#lines.length})`);
    return groups[g].id;
  }

  /** The template id of every added line, in order. */
  ids(): string[] {
    const groups = this.#grouped();
    return this.#groupOfLine.map((g) => groups[g].id);
  }

  /** The id of the template whose constant tokens a message shares (the most of them), without adding it. */
  match(message: string): string | undefined {
    const keys = tokensOf(message, this.#delimiters).map((t) => t.key);
    let best: Group | undefined;
    let bestConstants = -1;
    for (const g of this.#grouped()) {
      if (g.pattern.length !== keys.length) continue;
      let constants = 0;
      const fits = g.pattern.every((k, p) => k === VAR || (k === keys[p] && (constants += 1) > 0));
      if (fits && constants > bestConstants) [best, bestConstants] = [g, constants];
    }
    return best?.id;
  }

  /** Every template, in the order of their first lines. */
  templates(): MinedTemplate[] {
    return this.#grouped().map((g) => this.#view(g));
  }

  /** One template by id. */
  template(id: string): MinedTemplate | undefined {
    this.#grouped();
    const g = this.#byId.get(id);
    return g ? this.#view(g) : undefined;
  }

  #grouped(): Group[] {
    if (this.#groups) return this.#groups;
    const lines = this.#lines;
    const byWidth = new Map<number, number[]>();
    lines.forEach((l, i) => pushTo(byWidth, l.tokens.length, i));
    const found: number[][] = [];
    for (const [width, members] of byWidth) for (const first of firstGroups(lines, members)) splitGroup(lines, first, width, this.#maxSplitValues, found);
    found.sort((a, b) => a[0] - b[0]);
    this.#groupOfLine = new Array<number>(lines.length);
    this.#byId.clear();
    this.#groups = found.map((members, g) => {
      const first = lines[members[0]].tokens;
      const pattern = first.map((t, p) => (t.key !== VAR && members.every((i) => lines[i].tokens[p].key === t.key) ? t.key : VAR));
      for (const i of members) this.#groupOfLine[i] = g;
      const group = { id: `t${g + 1}`, lines: members, pattern };
      this.#byId.set(group.id, group);
      return group;
    });
    return this.#groups;
  }

  /**
   * A group as shown: the first line's separators; a shared word as is; a variable as its masked text when every
   * line masks to the same (`blk_<*>`, `ssh2`), else `<*>`; an annotation when every line has one.
   */
  #view(g: Group): MinedTemplate {
    const lines = g.lines.map((i) => this.#lines[i]);
    const first = lines[0];
    const shown: string[] = [];
    let template = '';
    let previousEnd = 0;
    g.pattern.forEach((key, p) => {
      const token = first.tokens[p];
      let text = key;
      if (key === VAR) {
        const raw = new Set(lines.map((l) => l.message.slice(l.tokens[p].start, l.tokens[p].end)));
        const masked = new Set<string>();
        for (const r of raw) if (masked.add(maskMessage(r)).size > 1) break;
        text = masked.size === 1 ? [...masked][0] : WILDCARD;
      }
      const annotation = first.message.slice(token.end, token.annotationEnd);
      if (annotation && lines.every((l) => l.tokens[p].annotationEnd > l.tokens[p].end)) {
        const masked = new Set(lines.map((l) => maskMessage(l.message.slice(l.tokens[p].end, l.tokens[p].annotationEnd))));
        const [, space, bracket] = /^(\s*)(.)/.exec(annotation)!;
        text += masked.size === 1 ? [...masked][0] : `${space}${bracket}${WILDCARD}${CLOSING.get(bracket)}`;
      }
      template += first.message.slice(previousEnd, token.start) + text;
      previousEnd = token.annotationEnd;
      shown.push(text);
    });
    template += first.message.slice(previousEnd).trimEnd();
    const times = lines.map((l) => l.ms).filter((ms): ms is number => ms !== undefined);
    return {
      id: g.id,
      template: template.trim(),
      tokens: shown,
      count: lines.length,
      firstSeen: times.length ? new Date(Math.min(...times)).toISOString() : undefined,
      lastSeen: times.length ? new Date(Math.max(...times)).toISOString() : undefined,
      example: first.message,
    };
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
  for (const line of messagesOf(lines)) miner.add(line);
  return { lines: miner.ids(), templates: miner.templates().map(({ id, template, count }) => ({ id, template, count })) };
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
    const parts = [m[0]];
    let end = m.index + m[0].length;
    let depth = [...m[0]].reduce((d, c) => d + (c === '[' ? 1 : c === ']' ? -1 : 0), 0);
    // Joined once at the end: testing a string grown token by token flattened it each time (quadratic on a long
    // line of unclosed brackets: 44 s for 180 KB).
    while (m[0].startsWith('[') && depth > 0) {
      const next = re.exec(line);
      if (!next) break;
      parts.push(next[0]);
      end = next.index + next[0].length;
      depth += [...next[0]].reduce((d, c) => d + (c === '[' ? 1 : c === ']' ? -1 : 0), 0);
    }
    out.push({ text: parts.join(' '), end });
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
