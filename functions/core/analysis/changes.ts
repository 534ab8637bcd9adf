/**
 * Scoring a change request against an anomaly it might explain, along three independent lines:
 *
 * - time: a cause precedes its effect. The anomaly's onset must follow the deploy within a plausible lag
 *   (`MAX_PLAUSIBLE_LAG_MINUTES`); a change deployed after the onset cannot have caused it.
 * - place: faults propagate from a dependency to its callers. The changed service must be the anomalous one
 *   or something it calls (directly or transitively), not an unrelated corner of the call graph.
 * - meaning: the symptoms name what the change touched (a config parameter, a library, a component):
 *   token overlap between the change's text and the error templates / anomalous metric names.
 *
 * And what a change did to a capacity or limit of its service (`limitChange`: lowered or raised, read from its
 * old → new values), for the latent-limit reasoning in hypotheses.ts.
 *
 * Each line yields a verdict (supported / refuted / inconclusive) and a short reason; hypotheses.ts turns
 * them into predictions and a confidence.
 */
import type { ChangeRequest, ServiceNode } from '../tools/ports.ts';

export type Verdict = 'supported' | 'refuted' | 'inconclusive';

export interface Check {
  readonly verdict: Verdict;
  /** Why, in words, with the numbers behind it. */
  readonly reason: string;
}

const MINUTE_MS = 60_000;

/** A config reload or a rolling deploy takes effect within minutes; an hour is a generous upper bound. */
export const MAX_PLAUSIBLE_LAG_MINUTES = 60;
/**
 * Metrics are bucketed (one point per minute or more), so an onset can be stamped at the start of the bucket
 * the deploy fell into. A deploy this much after the onset still counts as "at the onset".
 */
export const ONSET_GRACE_MINUTES = 2;

// ───────────────────────────── time ─────────────────────────────

export interface TimeAlignment extends Check {
  /** Minutes from the deploy to the onset (negative: deployed after the onset). */
  readonly lagMinutes?: number;
}

/** The most an onset's uncertainty can widen the grace (see `timeAlignment`). */
export const MAX_ONSET_UNCERTAINTY_MINUTES = 10;

/**
 * `uncertaintyMinutes` widens the grace: when a service's indicators disagree on when it broke (latency creeping
 * up with load at 12:04, errors jumping at 12:12), a deploy inside that spread cannot be ruled out by timing.
 */
export const timeAlignment = (deployedAt: string, onset: string | undefined, maxLagMinutes = MAX_PLAUSIBLE_LAG_MINUTES, uncertaintyMinutes = 0): TimeAlignment => {
  const grace = Math.max(ONSET_GRACE_MINUTES, Math.min(MAX_ONSET_UNCERTAINTY_MINUTES, uncertaintyMinutes));
  const deployed = Date.parse(deployedAt);
  const start = onset ? Date.parse(onset) : Number.NaN;
  if (Number.isNaN(deployed)) return { verdict: 'inconclusive', reason: `deploy time "${deployedAt}" is not a timestamp` };
  if (Number.isNaN(start)) return { verdict: 'inconclusive', reason: 'the anomaly onset is unknown' };
  const lagMinutes = Math.round(((start - deployed) / MINUTE_MS) * 10) / 10;
  if (lagMinutes < -grace) {
    return { verdict: 'refuted', lagMinutes, reason: `deployed ${fmtMinutes(-lagMinutes)} AFTER the onset: it cannot have caused it` };
  }
  if (lagMinutes <= maxLagMinutes) {
    return { verdict: 'supported', lagMinutes, reason: `onset ${fmtMinutes(Math.max(0, lagMinutes))} after the deploy (plausible lag ≤ ${maxLagMinutes} min)` };
  }
  return { verdict: 'inconclusive', lagMinutes, reason: `deployed ${fmtMinutes(lagMinutes)} before the onset, longer than a plausible lag (${maxLagMinutes} min)` };
};

const fmtMinutes = (m: number): string => (m >= 120 ? `${Math.round(m / 6) / 10} h` : `${Math.round(m * 10) / 10} min`);

// ───────────────────────────── place ─────────────────────────────

export interface CallGraph {
  /** service → the services it calls */
  readonly callees: ReadonlyMap<string, ReadonlySet<string>>;
  /** service → the services that call it */
  readonly callers: ReadonlyMap<string, ReadonlySet<string>>;
  readonly tiers: ReadonlyMap<string, ServiceNode['tier']>;
}

export const callGraph = (nodes: readonly ServiceNode[]): CallGraph => {
  const callees = new Map<string, Set<string>>();
  const callers = new Map<string, Set<string>>();
  const tiers = new Map<string, ServiceNode['tier']>();
  const get = (m: Map<string, Set<string>>, k: string) => m.get(k) ?? m.set(k, new Set()).get(k)!;
  for (const node of nodes) {
    tiers.set(node.name, node.tier);
    get(callees, node.name);
    get(callers, node.name);
    for (const callee of node.calls) {
      get(callees, node.name).add(callee);
      get(callers, callee).add(node.name);
    }
  }
  return { callees, callers, tiers };
};

/** Hops from `from` to `to` following `edges` (breadth-first); undefined when unreachable. */
export const hops = (edges: ReadonlyMap<string, ReadonlySet<string>>, from: string, to: string): number | undefined => {
  if (from === to) return 0;
  const seen = new Set([from]);
  let frontier = [from];
  for (let depth = 1; frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const s of frontier) {
      for (const n of edges.get(s) ?? []) {
        if (n === to) return depth;
        if (!seen.has(n)) {
          seen.add(n);
          next.push(n);
        }
      }
    }
    frontier = next;
  }
  return undefined;
};

/** Everything `service` calls, transitively. */
export const dependenciesOf = (graph: CallGraph, service: string): Set<string> => reachable(graph.callees, service);
/** Everything that calls `service`, transitively. */
export const dependentsOf = (graph: CallGraph, service: string): Set<string> => reachable(graph.callers, service);

const reachable = (edges: ReadonlyMap<string, ReadonlySet<string>>, start: string): Set<string> => {
  const out = new Set<string>();
  const stack = [...(edges.get(start) ?? [])];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (s === start || out.has(s)) continue;
    out.add(s);
    stack.push(...(edges.get(s) ?? []));
  }
  return out;
};

/**
 * How the changed service relates to an anomalous one. `dependency`: the anomalous service calls it (a fault
 * there propagates to the anomalous service); `dependent`: it calls the anomalous service (it could at most
 * flood it); `unrelated`: no path either way.
 */
export type Relation = { readonly kind: 'same' } | { readonly kind: 'dependency' | 'dependent'; readonly hops: number } | { readonly kind: 'unrelated' } | { readonly kind: 'unknown' };

export const relationOf = (graph: CallGraph, changed: string, anomalous: string): Relation => {
  if (changed === anomalous) return { kind: 'same' };
  if (!graph.tiers.has(changed) && !graph.callers.has(changed)) return { kind: 'unknown' };
  const down = hops(graph.callees, anomalous, changed);
  if (down !== undefined) return { kind: 'dependency', hops: down };
  const up = hops(graph.callees, changed, anomalous);
  if (up !== undefined) return { kind: 'dependent', hops: up };
  return { kind: 'unrelated' };
};

// ───────────────────────────── meaning ─────────────────────────────

/**
 * Words that carry no meaning for matching a change to its symptoms: English glue, and the vocabulary every
 * change or error message uses ("service", "error", "update", "timeout" is NOT here: it is a symptom).
 */
const STOP_WORDS = new Set(
  (
    'a an and or the to of for in on at by with from into as is are was were be been not no this that these those it its ' +
    'after before during per via than then when while all any some new old value values set sets setting settings ' +
    'service services svc error errors exception exceptions failed failure fail fails request requests response ' +
    'update updated updates upgrade change changes changed config configuration configured param params parameter ' +
    'version release deploy deployed deployment rollout minor major patch fix fixes fixed bump tune tuned tuning ' +
    'increase increased decrease decreased reduce reduced adjust adjusted improve improved add added remove removed ' +
    'ms sec secs second seconds min mins minute minutes http https www com org io java lang net null true false ' +
    'info warn warning debug fatal level log logs message msg id ids cr chg ' +
    // metric-name glue: "error_rate_pct" must not make every "rate limit" change look relevant
    'rate rates pct percent rps per ' +
    // a particle and HTTP status text: "roll out" is not "timed out", a flag value "internal" not "Internal Server Error"
    'out internal'
  ).split(' '),
);

/** Lower-case word tokens: splits camelCase, snake_case, kebab-case, dotted and `$`-joined names; drops numbers (and numbers with units: "30000ms"). */
export const tokens = (text: string): Set<string> =>
  new Set(wordsOf(text).filter((word) => word.length >= 3 && !/^\d/.test(word) && !STOP_WORDS.has(word)));

/** Lower-case words of a name or text, camelCase, snake_case, kebab-case, dotted and `$`-joined names split. */
const wordsOf = (text: string): string[] =>
  text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    // an acronym's end (`HTTPServer` → `HTTP Server`) with a lookahead: a backtracking `([A-Z]+)([A-Z][a-z])` is
    // quadratic on a long run of capitals (5 s for 80 KB)
    .replace(/([A-Z])(?=[A-Z][a-z])/g, '$1 ')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);

/** Equal, or the shorter (≥ 4 letters) is a prefix of the longer: "hikari" ~ "hikaricp", "pool" ~ "pools". */
export const tokensMatch = (a: string, b: string): boolean => {
  if (a === b) return true;
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return short.length >= 4 && long.startsWith(short);
};

export interface MeaningOverlap extends Check {
  /** The change's tokens that the symptoms mention. */
  readonly matched: readonly string[];
}

/** The text of a change that says what it touched. */
export const changeText = (change: ChangeRequest): string =>
  [change.title, change.description, change.configChange?.param, change.version ? `${change.version.from} ${change.version.to}` : undefined].filter(Boolean).join(' ');

/** Two distinct shared tokens are needed: one shared word is too often a coincidence ("cache", "order"). */
export const MIN_MEANING_MATCHES = 2;

/**
 * Token overlap between what a change touched and the symptom texts (error templates, metric names).
 * `ignore` removes tokens that would match trivially (service names: the place check covers those).
 */
export const meaningOverlap = (change: ChangeRequest, symptoms: readonly string[], ignore: ReadonlySet<string> = new Set()): MeaningOverlap => {
  const changeTokens = [...tokens(changeText(change))].filter((t) => ![...ignore].some((i) => tokensMatch(t, i)));
  const symptomTokens = new Set(symptoms.flatMap((s) => [...tokens(s)]));
  if (symptomTokens.size === 0) return { verdict: 'inconclusive', matched: [], reason: 'no error templates or anomalous metrics to compare with' };
  // One word, one match: "pool" and "pools" in the change count once.
  const matched = changeTokens
    .filter((t) => [...symptomTokens].some((s) => tokensMatch(t, s)))
    .filter((t, i, all) => !all.slice(0, i).some((earlier) => tokensMatch(earlier, t)));
  if (matched.length >= MIN_MEANING_MATCHES) return { verdict: 'supported', matched, reason: `the symptoms mention ${matched.map((m) => `"${m}"`).join(', ')}` };
  return {
    verdict: 'inconclusive',
    matched,
    reason: matched.length === 1 ? `only one shared word ("${matched[0]}")` : 'the symptoms do not mention what the change touched',
  };
};

// ───────────────────────────── limits ─────────────────────────────

/**
 * What a change did to a capacity or a limit of its service (provisioned throughput, a pool size, reserved
 * concurrency, memory, an instance size, a quota, a timeout…), read from its old → new values. Lowering a limit
 * is a latent fault: nothing breaks at the deploy, and the service starts refusing work later, when its load
 * reaches the new limit (hypotheses.ts, `latentLimit`). Raising one gives headroom and cannot make the service
 * saturate sooner.
 */
export interface LimitChange {
  readonly direction: 'lowered' | 'raised';
  readonly param: string;
  readonly from: string;
  readonly to: string;
  /** The numbers of the new setting: a reading at one of them is a service at its new limit. */
  readonly newValues: readonly number[];
  readonly reason: string;
}

/**
 * Words of a parameter that is a capacity or a limit ("WriteCapacityUnits", "maximum-pool-size",
 * "ReservedConcurrentExecutions", "server.worker-threads", "autoscaling.max-replicas"), each also in the plural.
 */
const LIMIT_WORDS = new Set(
  (
    'capacity throughput concurrency concurrent pool memory heap size limit quota timeout max maximum connection ' +
    'worker thread replica instance rcu wcu unit provisioned reserved burst shard partition task desired vcpu cpu ' +
    'slot permit iops'
  ).split(' '),
);
const isLimitWord = (word: string): boolean => LIMIT_WORDS.has(word) || (word.endsWith('s') && LIMIT_WORDS.has(word.slice(0, -1)));

const isLimitParam = (param: string): boolean => wordsOf(param).some(isLimitWord);

/** Settings with no cap of their own: on-demand billing, unlimited, unreserved. */
const UNBOUNDED = /pay[\s_-]*per[\s_-]*request|on[\s_-]*demand|unlimited|unbounded|unreserved|no[\s_-]*limit/i;
/** An unset value: no cap, but only for a parameter that is a limit ("ReservedConcurrency: none → 20"). */
const UNSET = /^\s*(none|null|unset|-1)\s*$/i;

/** Unit scales, to compare "512 MB" with "1 GB" and "3 s" with "1000 ms". Units of another family compare raw. */
const UNIT_SCALE: Record<string, { family: string; scale: number }> = {
  kb: { family: 'bytes', scale: 1e3 },
  kib: { family: 'bytes', scale: 1024 },
  mb: { family: 'bytes', scale: 1e6 },
  mib: { family: 'bytes', scale: 1024 ** 2 },
  gb: { family: 'bytes', scale: 1e9 },
  gib: { family: 'bytes', scale: 1024 ** 3 },
  tb: { family: 'bytes', scale: 1e12 },
  tib: { family: 'bytes', scale: 1024 ** 4 },
  ms: { family: 'time', scale: 1 },
  s: { family: 'time', scale: 1e3 },
  sec: { family: 'time', scale: 1e3 },
  min: { family: 'time', scale: 6e4 },
  h: { family: 'time', scale: 3.6e6 },
};

interface Amount {
  readonly label?: string;
  readonly value: number;
  readonly unit?: string;
}

/** The numbers of a setting, each with the label before it ("RCU 200, WCU 50") and the unit after it ("1024 MB"). */
const amountsOf = (text: string): Amount[] => {
  // What `/(?:([A-Za-z][A-Za-z_-]*)\s*[:=]?\s*)?(?<![\w.])(\d+(?:\.\d+)?)\s*([A-Za-z]+)?/g` matches, in linear time:
  // the numbers first, then each one's label read backwards (the regex tried every letter of a long word as a label's
  // start: quadratic, 12 s for a 40 KB value). A label runs to the separator before its number and starts at the
  // first letter of its run of label characters that the previous amount (its unit included) left free.
  const out: Amount[] = [];
  let free = 0;
  for (const m of text.matchAll(/(?<![\w.])(\d+(?:\.\d+)?)\s*([A-Za-z]+)?/g)) {
    let j = m.index;
    while (j > free && /\s/.test(text[j - 1]!)) j -= 1;
    if (j > free && (text[j - 1] === ':' || text[j - 1] === '=')) j -= 1;
    while (j > free && /\s/.test(text[j - 1]!)) j -= 1;
    const labelEnd = j;
    while (j > free && /[A-Za-z_-]/.test(text[j - 1]!)) j -= 1;
    while (j < labelEnd && !/[A-Za-z]/.test(text[j]!)) j += 1;
    out.push({ label: j < labelEnd ? text.slice(j, labelEnd).toLowerCase() : undefined, value: Number(m[1]), unit: m[2]?.toLowerCase() });
    free = m.index + m[0].length;
  }
  return out;
};

const inCommonUnits = (a: Amount, b: Amount): [number, number] => {
  const ua = a.unit ? UNIT_SCALE[a.unit] : undefined;
  const ub = b.unit ? UNIT_SCALE[b.unit] : undefined;
  return ua && ub && ua.family === ub.family ? [a.value * ua.scale, b.value * ub.scale] : [a.value, b.value];
};

/** Instance sizes in order (db.r5.large < db.r5.2xlarge), for a change of instance class. */
const sizeRank = (text: string): number | undefined => {
  const m = /(?:^|[.\s_-])(nano|micro|small|medium|large|(\d*)xlarge)\b/i.exec(text);
  if (!m) return undefined;
  const order = ['nano', 'micro', 'small', 'medium', 'large'];
  const i = order.indexOf(m[1].toLowerCase());
  return i >= 0 ? i : order.length + Math.log2(Number(m[2] || 1));
};

/**
 * The direction of one setting's change, or undefined when it is not a capacity or limit or its values do not say.
 * A cap that appears (on-demand → provisioned, unlimited → 100) lowers the limit; one that goes away raises it.
 */
export const limitDirection = (param: string, from: string, to: string): LimitChange | undefined => {
  const limit = isLimitParam(param);
  const unbounded = (v: string) => UNBOUNDED.test(v) || (limit && UNSET.test(v));
  const newValues = amountsOf(to).map((a) => a.value);
  const result = (direction: LimitChange['direction'], why: string): LimitChange => ({ direction, param, from, to, newValues, reason: `${param} ${from} → ${to}: ${why}` });
  if (unbounded(from) && !unbounded(to)) return result('lowered', 'a cap where there was none');
  if (!unbounded(from) && unbounded(to)) return result('raised', 'the cap is lifted');
  // Labelled numbers ("RCU 200, WCU 100" → "RCU 200, WCU 50"): any one lowered lowers a limit.
  const old = amountsOf(from);
  const now = amountsOf(to);
  const labelled = old.filter((a) => a.label && now.some((b) => b.label === a.label));
  if (labelled.length > 0) {
    const moves = labelled.map((a) => {
      const b = now.find((x) => x.label === a.label)!;
      const [x, y] = inCommonUnits(a, b);
      return { label: a.label!, x, y };
    });
    const down = moves.find((m) => m.y < m.x);
    if (down) return result('lowered', `${down.label} ${down.x} → ${down.y}`);
    const up = moves.find((m) => m.y > m.x);
    if (up) return result('raised', `${up.label} ${up.x} → ${up.y}`);
    return undefined;
  }
  const [rankFrom, rankTo] = [sizeRank(from), sizeRank(to)];
  if (rankFrom !== undefined && rankTo !== undefined && rankFrom !== rankTo) return result(rankTo < rankFrom ? 'lowered' : 'raised', rankTo < rankFrom ? 'a smaller size' : 'a larger size');
  if (!limit || old.length === 0 || now.length === 0) return undefined;
  const [x, y] = inCommonUnits(old[0], now[0]);
  if (y === x) return undefined;
  return result(y < x ? 'lowered' : 'raised', y < x ? 'less headroom' : 'more headroom');
};

/** "MemorySize 512 → 1024", "pool size from 20 to 10" in a change's title or description. */
const SETTING_MOVES = [
  // `(?:\s*[:=])?\s+` is `\s*[:=]?\s+` without two ways to split the blanks (quadratic on a long run of them)
  /([A-Za-z][\w.-]*)(?:\s*[:=])?\s+([^\s,;]+(?:\s*[A-Za-z]{1,3}\b)?)\s*(?:→|->|=>)\s*([^\s,;]+(?:\s*[A-Za-z]{1,3}\b)?)/g,
  /([A-Za-z][\w.-]*)\s+from\s+([^\s,;]+(?:\s*[A-Za-z]{1,3}\b)?)\s+to\s+([^\s,;]+(?:\s*[A-Za-z]{1,3}\b)?)/gi,
];

const isNameCode = (code: number) => (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code === 46 || code === 45;
const isLetterCode = (code: number) => (code >= 65 && code <= 90) || (code >= 97 && code <= 122);

/**
 * `text.matchAll(pattern)` for a SETTING_MOVES pattern, in linear time. A pattern's name (`[A-Za-z][\w.-]*`) must run to
 * the end of its run of name characters (only a blank or `:`/`=` may follow it), so every start inside one run meets
 * the same rest of the text: the run's first letter matches or none does. The regex engine tried them all — quadratic
 * on a long run without blanks (a pasted key or blob in a description: 1.6 s for 40 KB, per change and per reading).
 */
function* settingMoves(text: string, pattern: RegExp): Generator<RegExpExecArray> {
  const sticky = new RegExp(pattern.source, pattern.flags.replace('g', '') + 'y');
  let i = 0;
  while (i < text.length) {
    if (!isLetterCode(text.charCodeAt(i))) {
      i += 1;
      continue;
    }
    sticky.lastIndex = i;
    const m = sticky.exec(text);
    if (m) {
      yield m;
      i = Math.max(sticky.lastIndex, i + 1);
      continue;
    }
    while (i < text.length && isNameCode(text.charCodeAt(i))) i += 1;
  }
}

/**
 * What a change did to a capacity or limit of its service: from its `configChange` (the parameter, or the values
 * themselves when the parameter is not a limit by name: BillingMode PAY_PER_REQUEST → PROVISIONED), else from a
 * "param old → new" in its title or description. Undefined when it touched none, or the values do not say which way.
 */
export const limitChange = (change: ChangeRequest): LimitChange | undefined => {
  if (change.configChange) {
    const read = limitDirection(change.configChange.param, change.configChange.old, change.configChange.new);
    if (read) return read;
  }
  for (const text of [change.title, change.description]) {
    for (const pattern of SETTING_MOVES) {
      for (const m of settingMoves(text, pattern)) {
        const read = limitDirection(m[1], m[2].trim(), m[3].trim().replace(/\.$/, ''));
        if (read) return read;
      }
    }
  }
  return undefined;
};
