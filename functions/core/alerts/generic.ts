/**
 * The generic JSON alert, for any source without its own normaliser (a script, a CI job, a test):
 *
 *   { "id": "…",            required: the dedup key (the same id folds into the same incident)
 *     "title": "…",         required
 *     "service": "…",       required
 *     "status": "open",     open | resolved (also firing | ok); default open
 *     "severity": "SEV2",   SEV1–SEV4, P1–P5 or a word (critical, high, warning, info…); default SEV3
 *     "startedAt": "…",     ISO 8601 or epoch milliseconds; default: when it arrived
 *     "environment", "url", "description": strings; "tags": { key: string | number | boolean } }
 *
 * Unknown fields are rejected, so a misspelt field is an error rather than silently ignored.
 */
import * as z from 'zod';
import { type Normalizer, DEFAULT_SEVERITY, clip, finish, parsePayload, severityFromWord, timestampString, toIso } from './common.ts';

export const GenericAlertPayload = z.strictObject({
  id: z.union([z.string(), z.number()]).transform(String).pipe(z.string().trim().min(1)),
  title: z.string().trim().min(1),
  service: z.string().trim().min(1),
  status: z.preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), z.enum(['open', 'firing', 'resolved', 'ok'])).default('open'),
  severity: z
    .string()
    .refine((s) => severityFromWord(s) !== undefined, { message: 'expected SEV1–SEV4, P1–P5 or critical/high/medium/warning/low/info' })
    .optional(),
  startedAt: z.union([z.number(), timestampString]).optional(),
  environment: z.string().optional(),
  tags: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
  url: z.string().optional(),
  description: z.string().optional(),
});
export type GenericAlertPayload = z.infer<typeof GenericAlertPayload>;

export const normalizeGeneric: Normalizer = (payload, { now }) => {
  const p = parsePayload('generic', GenericAlertPayload, payload);
  const alert = finish('generic', {
    source: 'generic',
    dedupKey: p.id,
    state: p.status === 'open' || p.status === 'firing' ? 'OPEN' : 'RESOLVED',
    title: clip(p.title, 1024) ?? p.title,
    service: p.service,
    severity: severityFromWord(p.severity) ?? DEFAULT_SEVERITY,
    startedAt: toIso(p.startedAt) ?? now.toISOString(),
    environment: clip(p.environment, 256),
    tags: p.tags,
    url: clip(p.url, 2048),
    description: clip(p.description, 8192),
  }, { dedupKey: 'id' });
  return [{ alert, raw: payload }];
};
