/**
 * What every alert normaliser shares: the result shape, the error naming the bad field, tag parsing,
 * the severity vocabulary and time parsing. The per-source severity tables are in README.md.
 */
import * as z from 'zod';
import { type ParsedJson, parseKeepableJson } from '../keepable-json.ts';
import { NormalizedAlert, type AlertSource, type Severity } from '../model.ts';

/** One normalised alert and the slice of the vendor payload it came from (stored with the alert). */
export interface NormalizedItem {
  readonly alert: NormalizedAlert;
  readonly raw: unknown;
}

export interface NormalizeContext {
  /** When the payload arrived: the start time when the vendor gives none. */
  readonly now: Date;
}

/**
 * Turns a vendor payload into zero or more alerts. Zero means "nothing actionable" (for example a CloudWatch
 * alarm going to INSUFFICIENT_DATA); the API answers 202 and ignores it.
 */
export type Normalizer = (payload: unknown, context: NormalizeContext) => NormalizedItem[];

export class AlertPayloadInvalid extends Error {
  override name = 'AlertPayloadInvalid';
  readonly source: AlertSource;
  /** One entry per problem, each starting with the field path (`alerts.0.fingerprint: …`). */
  readonly problems: readonly string[];
  constructor(source: AlertSource, problems: readonly string[]) {
    super(`invalid ${source} payload: ${problems.join('; ')}`);
    this.source = source;
    this.problems = problems;
  }
}

const issuePath = (path: readonly PropertyKey[]): string => (path.length > 0 ? path.map(String).join('.') : '(payload)');

/** Parses with the vendor schema; every issue becomes "field: message". */
export const parsePayload = <S extends z.ZodType>(source: AlertSource, schema: S, payload: unknown): z.infer<S> => {
  const result = schema.safeParse(payload);
  if (!result.success) throw new AlertPayloadInvalid(source, result.error.issues.map((i) => `${issuePath(i.path)}: ${i.message}`));
  return result.data;
};

/** Validates the assembled alert against the domain schema, naming the vendor field it was built from. */
export const finish = (source: AlertSource, alert: z.input<typeof NormalizedAlert>, fieldOf: Partial<Record<keyof NormalizedAlert, string>> = {}): NormalizedAlert => {
  const result = NormalizedAlert.safeParse(alert);
  if (result.success) return result.data;
  throw new AlertPayloadInvalid(
    source,
    result.error.issues.map((i) => {
      const field = String(i.path[0] ?? '');
      const vendorField = fieldOf[field as keyof NormalizedAlert];
      return `${vendorField ?? field}: ${i.message}`;
    }),
  );
};

/** The first `length` UTF-16 code units of `text`, one fewer if that would cut a surrogate pair in half. */
export const sliceWhole = (text: string, length: number): string => {
  const code = text.charCodeAt(length - 1);
  const cutsAPair = length > 0 && length < text.length && code >= 0xd800 && code <= 0xdbff;
  return text.slice(0, cutsAPair ? length - 1 : length);
};

/** Trimmed, undefined when empty, and at most `max` code units (ending in "…" when clipped, never half a character). */
export const clip = (text: string | undefined, max: number): string | undefined => {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (trimmed.length === 0) return undefined;
  return trimmed.length <= max ? trimmed : `${sliceWhole(trimmed, max - 1)}…`;
};

/**
 * "environment:w1, service:inventory-service, critical" → {environment: 'w1', service: 'inventory-service', critical: ''}.
 * Splits on commas, then on the first `:` (values may contain colons). A Dynatrace context prefix (`[Kubernetes]app:x`)
 * is dropped from the key.
 */
export const parseTagList = (text: string | undefined): Record<string, string> => {
  const tags: Record<string, string> = {};
  for (const part of (text ?? '').split(',')) {
    const tag = part.trim().replace(/^\[[^\]]*\]\s*/, '');
    if (!tag) continue;
    const colon = tag.indexOf(':');
    const key = (colon < 0 ? tag : tag.slice(0, colon)).trim();
    if (key) tags[key] = colon < 0 ? '' : tag.slice(colon + 1).trim();
  }
  return tags;
};

/** Case-insensitive lookup of the first of `keys` with a non-empty value. */
export const pick = (record: Readonly<Record<string, string | undefined>>, ...keys: string[]): string | undefined => {
  const lower = new Map(Object.entries(record).map(([k, v]) => [k.toLowerCase(), v]));
  for (const key of keys) {
    const value = lower.get(key.toLowerCase())?.trim();
    if (value) return value;
  }
  return undefined;
};

/**
 * The severity words alert sources use, for sources whose severity is free text (Alertmanager labels, the
 * generic format, CloudWatch descriptions). Unknown words → undefined (the caller's default applies).
 */
export const severityFromWord = (word: string | undefined): Severity | undefined => {
  const w = word?.trim().toLowerCase();
  if (!w) return undefined;
  const sev = /^sev-?([1-4])$/.exec(w);
  if (sev) return `SEV${sev[1]}` as Severity;
  const p = /^p([1-5])$/.exec(w);
  if (p) return `SEV${Math.min(Number(p[1]), 4)}` as Severity;
  if (['critical', 'crit', 'fatal', 'emergency', 'page', 'disaster'].includes(w)) return 'SEV1';
  if (['high', 'major', 'error', 'err'].includes(w)) return 'SEV2';
  if (['medium', 'moderate', 'warning', 'warn', 'average'].includes(w)) return 'SEV3';
  if (['low', 'minor', 'info', 'informational', 'notice', 'none'].includes(w)) return 'SEV4';
  return undefined;
};

export const DEFAULT_SEVERITY: Severity = 'SEV3';

/** A timestamp as ISO 8601 (UTC), from ISO text (any offset form, e.g. CloudWatch's `+0000`) or epoch ms/seconds. */
export const toIso = (value: string | number | undefined): string | undefined => {
  if (value === undefined || value === '') return undefined;
  let date: Date;
  if (typeof value === 'number' || /^\d+$/.test(value)) {
    const n = Number(value);
    // Ten digits or fewer is epoch seconds (good until 2286); more is milliseconds.
    date = new Date(n < 1e11 ? n * 1000 : n);
  } else {
    date = new Date(value);
  }
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
};

/** A zod string that must be a parseable timestamp (message names what was expected). */
export const timestampString = z.string().refine((s) => toIso(s) !== undefined, { message: 'expected an ISO 8601 timestamp or epoch milliseconds' });

/**
 * Accepts a JSON value or the same value serialised as a JSON string (a placeholder put in quotes by mistake). The
 * JSON in the string gets the same keepable check as the body (keepable-json.ts): its values feed the alert.
 */
export const jsonOrString = <S extends z.ZodType>(schema: S) =>
  z.preprocess((v, ctx) => {
    if (typeof v !== 'string') return v;
    let parsed: ParsedJson;
    try {
      parsed = parseKeepableJson(v, { root: '(the whole JSON text)' });
    } catch (error) {
      if (error instanceof SyntaxError) return v;
      throw error;
    }
    for (const problem of parsed.problems) ctx.addIssue({ code: 'custom', message: `in its JSON text, ${problem}`, input: v });
    return parsed.value;
  }, schema);
