/**
 * Is a JSON value one this system can keep faithfully? Every API route that takes a JSON body runs this check when
 * it parses the body (`parseJson` in http.ts), before anything is written; the alert normalisers run the value part
 * again on whatever they are handed (`normalizeAlerts`), so no caller can bring an unkeepable payload past intake.
 *
 * What is refused, and why (each was a 500 after the incident and its dedup pointer had been written):
 * - an integer beyond 2^53 (`9007199254740993`, `1e20`, `1e308`): JavaScript cannot hold it exactly, so JSON.parse
 *   already changed it (…993 → …992), and DynamoDB's document client refuses to store it (an Error, not a 4xx);
 * - a number that is not finite (`1e400` parses to Infinity) or closer to zero than DynamoDB keeps (1e-130);
 *   DynamoDB's largest magnitude (just under 1e126) needs no test of its own: every double at or beyond 2^53 is
 *   an integer, already refused above;
 * - nesting deeper than `MAX_JSON_DEPTH` (see there);
 * - a string or an object key that is not well-formed UTF-16 (a lone surrogate, `"\ud800"`): it has no UTF-8
 *   form, so DynamoDB cannot store it and `encodeURIComponent` throws on it.
 *
 * Numbers: the value is what JSON.parse made of the text, and that suffices to decide. Any integer written with
 * 2^53 or more parses to a double of at least 2^53, so it is seen; a fraction with more digits than a double holds
 * (`0.1000000000000000055511`) or below the smallest double (`1e-400` → 0) is kept as the nearest double, which is
 * what every reader in this system computes with: integers are identities and must be exact, fractions are
 * measurements. The text is read only to quote a refused number as it was sent (`1e20`, not 100000000000000000000).
 *
 * The walk is iterative (an explicit stack; a body nested 100,000 deep cannot overflow the call stack) and visits
 * each value once (linear time); it lists the first `MAX_PROBLEMS` problems and counts the rest.
 */

/**
 * How deep a body may nest (objects and arrays; the top-level object is level 1). DynamoDB keeps 32 levels
 * counting the item's attribute as level 1, and an alert's raw payload is stored as one attribute of its ALERT item,
 * so a payload deeper than 31 could not be stored. The deepest real vendor payloads are about 8 levels (a CloudWatch
 * alarm event's `detail.configuration.metrics[].metricStat.metric.dimensions.X` is 7; a Dynatrace
 * `ProblemDetailsJSONv2` nested in the notification about 8). 24 is three times that, and leaves DynamoDB's
 * limit 7 levels for whatever wraps the payload where it is stored.
 */
export const MAX_JSON_DEPTH = 24;
/** DynamoDB's smallest non-zero magnitude. */
export const MIN_NUMBER_MAGNITUDE = 1e-130;
/** A hostile body can have thousands of problems: the first few name the fields well enough. */
export const MAX_PROBLEMS = 10;
/** Path segments and quoted numbers are clipped to this many characters in a message. */
const MAX_QUOTE_CHARS = 64;

const clipQuote = (text: string): string => {
  const wellFormed = text.toWellFormed();
  return wellFormed.length <= MAX_QUOTE_CHARS ? wellFormed : `${wellFormed.slice(0, MAX_QUOTE_CHARS - 1).toWellFormed()}…`;
};

/** What is wrong with a number, or undefined when it can be kept. */
export const numberProblem = (value: number): string | undefined => {
  if (!Number.isFinite(value)) return 'is not a finite number this system can keep (beyond ±1.8e308)';
  if (Number.isInteger(value) && !Number.isSafeInteger(value)) return 'is not an integer this system can keep exactly (beyond 2^53)';
  if (value !== 0 && Math.abs(value) < MIN_NUMBER_MAGNITUDE) return 'is too close to zero to be stored (DynamoDB keeps magnitudes from 1e-130)';
  return undefined;
};

/** A place in the value: its key in its parent, and the parent (built into a path only when a problem is reported). */
interface Place {
  readonly key: string | number;
  readonly parent: Place | undefined;
}

const pathOf = (place: Place | undefined, root: string): string => {
  const parts: string[] = [];
  for (let p = place; p; p = p.parent) parts.push(typeof p.key === 'number' ? String(p.key) : clipQuote(p.key));
  return parts.length > 0 ? parts.reverse().join('.') : root;
};

export interface KeepableOptions {
  /** How the whole value is named in a problem (`(body)` for a request body). */
  readonly root?: string;
  readonly maxDepth?: number;
  /** The text of a refused number, by its container and key (from `parseKeepableJson`); else the value is quoted. */
  readonly numberText?: (container: object, key: string) => string | undefined;
}

/**
 * The problems that keep `value` from being stored faithfully, each `path: what is wrong`; empty when there are none.
 * Accepts any value (an object built in process too): undefined is skipped as JSON.stringify skips it, a value JSON
 * has no form for (bigint, function, symbol) is a problem, and an object reached twice is walked once.
 */
export const unkeepableProblems = (value: unknown, options: KeepableOptions = {}): string[] => walk(value, options).problems;

/** Stands on the stack for an object key that is not well-formed. */
const BAD_KEY = Symbol('bad key');

interface WalkResult {
  readonly problems: string[];
  /** Some problem is a number (worth quoting as written). */
  readonly numbers: boolean;
  /** Some container is nested too deep (the text must not meet a recursive reviver). */
  readonly tooDeep: boolean;
}

const walk = (value: unknown, options: KeepableOptions): WalkResult => {
  let numbers = false;
  let tooDeep = false;
  const root = options.root ?? '(payload)';
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  const problems: string[] = [];
  const seen = new Set<object>();
  let unlisted = 0;
  const report = (place: Place | undefined, what: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(`${pathOf(place, root)}: ${what}`);
    else unlisted++;
  };
  // Each entry: a value, where it is, how many containers hold it, and its container (to look up a number's text).
  const stack: { value: unknown; place: Place | undefined; depth: number; container?: object }[] = [{ value, place: undefined, depth: 0 }];
  // The whole value is walked even past MAX_PROBLEMS: `tooDeep` must be known for all of it (see parseKeepableJson).
  while (stack.length > 0) {
    const { value: v, place, depth, container } = stack.pop()!;
    if (v === BAD_KEY) {
      report(place, 'this key holds a lone UTF-16 surrogate: not well-formed Unicode, it has no UTF-8 form to store');
      continue;
    }
    switch (typeof v) {
      case 'string':
        if (!v.isWellFormed()) report(place, 'holds a lone UTF-16 surrogate: not well-formed Unicode, it has no UTF-8 form to store');
        continue;
      case 'number': {
        const problem = numberProblem(v);
        if (problem) {
          numbers = true;
          const text = container && place ? options.numberText?.(container, String(place.key)) : undefined;
          report(place, `${clipQuote(text ?? String(v))} ${problem}`);
        }
        continue;
      }
      case 'boolean':
      case 'undefined':
        continue;
      case 'object':
        break;
      default:
        report(place, `is a ${typeof v}, which JSON has no form for`);
        continue;
    }
    if (v === null || seen.has(v)) continue;
    seen.add(v);
    if (depth + 1 > maxDepth) {
      tooDeep = true;
      report(place, `nests deeper than ${maxDepth} levels of objects and arrays`);
      continue;
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], place: { key: i, parent: place }, depth: depth + 1, container: v });
      continue;
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i];
      const at: Place = { key, parent: place };
      // A bad key is reported when its turn comes (problems in document order); its value is not looked into.
      stack.push(key.isWellFormed() ? { value: (v as Record<string, unknown>)[key], place: at, depth: depth + 1, container: v } : { value: BAD_KEY, place: at, depth });
    }
  }
  if (unlisted > 0) problems.push(`${root}: ${unlisted} more problems not listed`);
  return { problems, numbers, tooDeep };
};

export interface ParsedJson {
  readonly value: unknown;
  /** Empty when the value can be kept; else `path: what is wrong` (see `unkeepableProblems`). */
  readonly problems: string[];
}

/**
 * JSON.parse (a SyntaxError escapes as is) and the keepable check. Refused numbers are quoted as the text wrote them:
 * only then, and only once the depth is known to be within the limit, is the text parsed again with a reviver, whose
 * `context.source` is that text (a reviver recurses, so it must not meet a hostile depth).
 */
export const parseKeepableJson = (text: string, options: Omit<KeepableOptions, 'numberText'> = {}): ParsedJson => {
  const value = JSON.parse(text) as unknown;
  const { problems, numbers, tooDeep } = walk(value, options);
  if (!numbers || tooDeep) return { value, problems };
  const texts = new WeakMap<object, Map<string, string>>();
  const revived = JSON.parse(text, function (this: object, key: string, v: unknown, context?: { source?: string }) {
    if (typeof v === 'number' && numberProblem(v) && context?.source !== undefined) {
      let byKey = texts.get(this);
      if (!byKey) texts.set(this, (byKey = new Map()));
      byKey.set(key, context.source);
    }
    return v;
  }) as unknown;
  // The refusal stands either way; a runtime without `context.source` quotes the parsed value instead.
  return { value: revived, problems: unkeepableProblems(revived, { ...options, numberText: (container, key) => texts.get(container)?.get(key) }) };
};
