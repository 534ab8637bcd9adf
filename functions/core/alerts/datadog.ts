/**
 * Datadog webhook. The user writes the payload with `$VARIABLES` (README.md gives our template), or keeps Datadog's
 * default payload (`body`, `last_updated`, `event_type`, `title` = `$EVENT_TITLE`, `date`, `org: {id, name}`, `id`),
 * or writes their own with natural names (`alert_transition`, `alertTransition`, `ALERT_TRANSITION`, ...). Datadog
 * substitutes strings everywhere, and an unavailable variable becomes an empty string, so an empty value counts as
 * absent and the next source is tried.
 *
 * Every field is read through one table, `DATADOG_FIELDS`: its accepted spellings, in order of preference, and its
 * type. A spelling matches a key whatever its case and separators. A value of the wrong type is a 400 naming the key
 * as sent. Where a value comes from when its field is absent (the title's `[P1] [Triggered on {scope}]` prefix, ...)
 * is in README.md, one line per value.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import type { Severity } from '../model.ts';
import { AlertPayloadInvalid, type Normalizer, DEFAULT_SEVERITY, clip, finish, parseTagList, pick, toIso } from './common.ts';

/** `$ALERT_PRIORITY` → Severity; without a priority, `$ALERT_TYPE` decides (README.md). */
export const DATADOG_PRIORITY: Readonly<Record<string, Severity>> = { P1: 'SEV1', P2: 'SEV2', P3: 'SEV3', P4: 'SEV4', P5: 'SEV4' };
export const DATADOG_ALERT_TYPE: Readonly<Record<string, Severity>> = { error: 'SEV2', warning: 'SEV3', info: 'SEV4', success: 'SEV4' };

/** Datadog ids arrive as strings; a hand-written payload may use numbers. */
const idText = z.union([z.string(), z.number()]).transform(String);
const text = z.string();
/** `$TAGS` is a comma-separated string; a hand-written payload may send an array of `key:value` strings. */
const tagText = z.union([z.string(), z.array(z.string()).transform((tags) => tags.join(','))]);

interface FieldSpec {
  /** Accepted spellings, preferred first; `a.b` is key `b` of the object under key `a` (the default payload's `org`). */
  readonly spellings: readonly string[];
  readonly type: z.ZodType<string>;
}

/** The one table of accepted spellings per field (matching ignores case and `_`, `-`, `$`, spaces). */
export const DATADOG_FIELDS = {
  cycleKey: { spellings: ['alert_cycle_key', 'cycle_key'], type: idText },
  monitorId: { spellings: ['alert_id', 'monitor_id'], type: idText },
  eventId: { spellings: ['id', 'event_id'], type: idText },
  title: { spellings: ['title', 'alert_title', 'event_title'], type: text },
  transition: { spellings: ['transition', 'alert_transition'], type: text },
  eventType: { spellings: ['event_type'], type: text },
  priority: { spellings: ['priority', 'alert_priority'], type: text },
  alertType: { spellings: ['alert_type'], type: text },
  date: { spellings: ['date', 'event_date'], type: idText },
  lastUpdated: { spellings: ['last_updated'], type: idText },
  tags: { spellings: ['tags', 'event_tags'], type: tagText },
  scope: { spellings: ['scope', 'alert_scope'], type: tagText },
  hostname: { spellings: ['hostname', 'host_name', 'host'], type: text },
  link: { spellings: ['link', 'url', 'event_url'], type: text },
  body: { spellings: ['body', 'text_only_msg', 'event_msg', 'message', 'text', 'alert_status'], type: text },
  query: { spellings: ['query', 'alert_query'], type: text },
  orgId: { spellings: ['org_id', 'org.id'], type: idText },
  orgName: { spellings: ['org_name', 'org.name'], type: text },
} as const satisfies Record<string, FieldSpec>;
export type DatadogField = keyof typeof DATADOG_FIELDS;

/** One value as sent: the key it came under (its path, for messages) and its text. */
interface Found {
  readonly key: string;
  readonly value: string;
}

const canonical = (key: string): string => key.toLowerCase().replace(/[\s_$-]/g, '');

/** The object's keys by canonical spelling (the first key wins when two spell the same field). */
const keysOf = (o: Record<string, unknown>): Map<string, string> => {
  const keys = new Map<string, string>();
  for (const key of Object.keys(o)) if (!keys.has(canonical(key))) keys.set(canonical(key), key);
  return keys;
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Every field of the table present in the payload, each spelling in order, type-checked. A wrong type is a problem
 * naming the key as sent; an empty value is kept (it counts as absent when a value is chosen).
 */
const readFields = (payload: Record<string, unknown>): { fields: Record<DatadogField, Found[]>; problems: string[]; invalid: Set<DatadogField> } => {
  const top = keysOf(payload);
  const problems: string[] = [];
  const invalid = new Set<DatadogField>();
  const fields = {} as Record<DatadogField, Found[]>;
  for (const [field, spec] of Object.entries(DATADOG_FIELDS) as [DatadogField, FieldSpec][]) {
    fields[field] = [];
    for (const spelling of spec.spellings) {
      const [first, second] = spelling.split('.');
      const key = top.get(canonical(first));
      if (key === undefined) continue;
      let value = payload[key];
      let path = key;
      if (second !== undefined) {
        if (!isObject(value)) continue;
        const inner = keysOf(value).get(canonical(second));
        if (inner === undefined) continue;
        value = value[inner];
        path = `${key}.${inner}`;
      }
      if (fields[field].some((f) => f.key === path)) continue;
      const result = spec.type.safeParse(value);
      if (result.success) fields[field].push({ key: path, value: result.data.trim() });
      else {
        invalid.add(field);
        problems.push(...result.error.issues.map((i) => `${[path, ...i.path.map(String)].join('.')}: ${i.message}`));
      }
    }
  }
  return { fields, problems, invalid };
};

/** The first non-empty value of a field, and the key it came from. */
const firstOf = (found: readonly Found[]): Found | undefined => found.find((f) => f.value.length > 0);

/** `$ALERT_TRANSITION` values and event-title prefixes (`Triggered`, `Re-Triggered`, `Warn`, `No Data`, `Recovered`, ...). */
const TRANSITION = /^((?:re-?)?(?:triggered|warn|no data)|renotify|(?:warn |no data )?recovered)(?:\s+on\s+(\{.*\}))?$/i;

/** What an event title's leading `[...]` groups say: `[P1] [Triggered on {service:x,env:w1}] Name` (README.md). */
export interface TitlePrefix {
  readonly priority?: string;
  readonly transition?: string;
  /** The `{...}` of `[Triggered on {...}]`: the monitor group that fired. */
  readonly scope?: string;
  /** The title without its priority and transition groups (the monitor's name). */
  readonly name: string;
}

export const parseTitlePrefix = (title: string): TitlePrefix => {
  let rest = title.trim();
  let priority: string | undefined;
  let transition: string | undefined;
  let scope: string | undefined;
  for (let m = /^\[([^\]]*)\]\s*/.exec(rest); m; m = /^\[([^\]]*)\]\s*/.exec(rest)) {
    const group = m[1].trim();
    const p = /^p([1-5])$/i.exec(group);
    const t = TRANSITION.exec(group);
    if (p && !priority) priority = `P${p[1]}`;
    else if (t && !transition) [transition, scope] = [t[1], t[2]];
    else break;
    rest = rest.slice(m[0].length);
  }
  return { priority, transition, scope, name: rest };
};

/** Recovered, Warn Recovered, No Data Recovered → RESOLVED; Triggered, Re-Triggered, Warn, No Data, Renotify → OPEN. */
export const datadogState = (transition: string): 'OPEN' | 'RESOLVED' => (/recovered/i.test(transition) ? 'RESOLVED' : 'OPEN');

/** A `service:<name>` tag written in free text (a title's `{scope}` or `… on service:x`). */
const serviceInText = (t: string): string | undefined => /(?:^|[\s{,(])service:([^\s,}\])]+)/i.exec(t)?.[1];

/** A comma list of tags in a stable order (a monitor group's identity). */
const groupKey = (tags: string): string =>
  tags
    .replace(/^\{|\}$/g, '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
    .sort()
    .join(',');

/** Titles can be long; an identity built from one is hashed past this length (DEDUP keys are capped in bytes). */
const MAX_TITLE_IDENTITY_CHARS = 256;

/** How each value's missing source is named in a 400. */
const MISSING = {
  title: 'title: missing — send $ALERT_TITLE or $EVENT_TITLE as title (or alert_title, event_title)',
  transition: 'transition: missing — send $ALERT_TRANSITION as transition (or alert_transition), or a title starting [Triggered], [Recovered], [Warn], [No Data]…',
  date: 'date: missing — send $DATE (epoch milliseconds) as date',
  identity: 'alert_cycle_key: missing — send $ALERT_CYCLE_KEY as alert_cycle_key (or $ALERT_ID as alert_id, or $ID as id)',
} as const;

export const normalizeDatadog: Normalizer = (payload, _context) => {
  if (!isObject(payload)) throw new AlertPayloadInvalid('datadog', [`(payload): expected a JSON object, received ${Array.isArray(payload) ? 'an array' : payload === null ? 'null' : typeof payload}`]);
  const { fields, problems, invalid } = readFields(payload);
  const titles = fields.title.filter((f) => f.value.length > 0);
  const prefixes = titles.map((t) => parseTitlePrefix(t.value));
  const title = titles[0];
  const eventType = firstOf(fields.eventType)?.value;
  const transition =
    firstOf(fields.transition)?.value ?? prefixes.find((p) => p.transition)?.transition ?? (eventType && TRANSITION.test(eventType) ? eventType : undefined);
  const date = firstOf(fields.date);
  // A field sent with the wrong type is already named; "missing" is for a field not sent at all (or sent empty).
  if (!title && !invalid.has('title')) problems.push(MISSING.title);
  if (!transition && !invalid.has('transition')) problems.push(MISSING.transition);
  if (!date && !invalid.has('date')) problems.push(MISSING.date);
  const startedAt = date ? toIso(date.value) : undefined;
  if (date && !startedAt) problems.push(`${date.key}: expected an ISO 8601 timestamp or epoch milliseconds`);
  const identity = dedupIdentity(fields, prefixes);
  if (!identity && title) problems.push(MISSING.identity);
  if (problems.length > 0 || !title || !transition || !identity) throw new AlertPayloadInvalid('datadog', problems);

  const tags = parseTagList(firstOf(fields.tags)?.value);
  const scope = parseTagList(firstOf(fields.scope)?.value);
  const titleScopes = prefixes.map((p) => parseTagList(p.scope?.replace(/^\{|\}$/g, '')));
  const priorities = fields.priority.map((f) => f.value.toUpperCase());
  const severity =
    DATADOG_PRIORITY[priorities.find((p) => p in DATADOG_PRIORITY) ?? ''] ??
    DATADOG_ALERT_TYPE[firstOf(fields.alertType)?.value.toLowerCase() ?? ''] ??
    DATADOG_PRIORITY[prefixes.find((p) => p.priority)?.priority ?? ''] ??
    DEFAULT_SEVERITY;
  const taggedService = pick(tags, 'service') ?? pick(scope, 'service');
  const service = taggedService ?? titleScopes.map((s) => pick(s, 'service')).find(Boolean) ?? titles.map((t) => serviceInText(t.value)).find(Boolean);
  // The title's {scope} names the environment only for an alert whose service came from the title too (a payload
  // without service tags, such as the default one): an alert tagged with its service keeps the tags' environment.
  const environment =
    pick(tags, 'env', 'environment') ?? pick(scope, 'env', 'environment') ?? (taggedService ? undefined : titleScopes.map((s) => pick(s, 'env', 'environment')).find(Boolean));
  const monitorId = firstOf(fields.monitorId)?.value;
  const eventId = firstOf(fields.eventId)?.value;
  const hostname = firstOf(fields.hostname)?.value;
  const alert = finish(
    'datadog',
    {
      source: 'datadog',
      dedupKey: identity.key,
      state: datadogState(transition),
      title: clip(title.value, 1024) ?? title.value,
      service: service ?? '',
      severity,
      startedAt: startedAt ?? '',
      environment,
      tags: {
        ...tags,
        ...(monitorId ? { 'datadog.monitorId': monitorId } : {}),
        ...(eventId ? { 'datadog.eventId': eventId } : {}),
        'datadog.transition': transition,
        ...(hostname ? { 'datadog.host': hostname } : {}),
        ...(identity.from !== 'cycleKey' ? { 'datadog.identity': identity.from } : {}),
        ...(eventType ? { 'datadog.eventType': eventType } : {}),
      },
      url: clip(firstOf(fields.link)?.value, 2048),
      description: clip(firstOf(fields.body)?.value, 8192),
    },
    {
      service: 'tags (service:<name>), scope, or a service:<name> tag in the title',
      dedupKey: fields.cycleKey[0]?.key ?? 'alert_cycle_key',
      title: title.key,
      url: firstOf(fields.link)?.key ?? 'link',
      description: firstOf(fields.body)?.key ?? 'body',
      environment: 'tags (env:<name>)',
    },
  );
  return [{ alert, raw: payload }];
};

/**
 * The alert's identity, best first: `$ALERT_CYCLE_KEY` (the same from trigger to recovery); else the monitor
 * (`$ALERT_ID`) and its group (`$ALERT_SCOPE`, or the title's `{scope}`); else the monitor's title without its
 * `[Triggered]`/`[Recovered]` prefix (so the default payload's recovery finds its trigger); else the event id.
 */
const dedupIdentity = (fields: Record<DatadogField, Found[]>, prefixes: readonly TitlePrefix[]): { key: string; from: string } | undefined => {
  const cycleKey = firstOf(fields.cycleKey)?.value;
  if (cycleKey) return { key: cycleKey, from: 'cycleKey' };
  const group = groupKey(firstOf(fields.scope)?.value ?? prefixes.find((p) => p.scope)?.scope ?? '');
  const monitorId = firstOf(fields.monitorId)?.value;
  if (monitorId) return { key: `monitor:${monitorId}${group ? `:${group}` : ''}`, from: 'monitor' };
  const name = prefixes.map((p) => `${p.scope ? `${groupKey(p.scope)} ` : ''}${p.name}`.replace(/\s+/g, ' ').trim()).find(Boolean);
  if (name) {
    const key = name.length <= MAX_TITLE_IDENTITY_CHARS ? name : createHash('sha256').update(name).digest('hex');
    return { key: `title:${key}`, from: 'title' };
  }
  const eventId = firstOf(fields.eventId)?.value;
  return eventId ? { key: `event:${eventId}`, from: 'event' } : undefined;
};
