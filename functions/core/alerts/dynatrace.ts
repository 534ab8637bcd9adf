/**
 * Dynatrace problem notification (custom webhook integration). The payload is a template the user writes
 * with Dynatrace placeholders; README.md gives the one this normaliser expects. `{PID}` is the problem's
 * unique id (the dedup key); `{ImpactedEntities}` and `{ProblemDetailsJSONv2}` are JSON placeholders that
 * must be placed unquoted (a quoted one is accepted too).
 */
import * as z from 'zod';
import type { Severity } from '../model.ts';
import { type Normalizer, DEFAULT_SEVERITY, clip, finish, jsonOrString, parsePayload, parseTagList, pick, toIso } from './common.ts';

/** ProblemSeverity → Severity (README.md). Unknown levels fall back to SEV3. */
export const DYNATRACE_SEVERITY: Readonly<Record<string, Severity>> = {
  AVAILABILITY: 'SEV1',
  ERROR: 'SEV2',
  PERFORMANCE: 'SEV3',
  RESOURCE_CONTENTION: 'SEV3',
  MONITORING_UNAVAILABLE: 'SEV3',
  CUSTOM_ALERT: 'SEV4',
  INFO: 'SEV4',
};

const ImpactedEntity = z.looseObject({ type: z.string().optional(), name: z.string(), entity: z.string().optional() });

export const DynatracePayload = z.looseObject({
  PID: z.union([z.string().trim().min(1), z.number()]).transform(String),
  ProblemID: z.string().optional(),
  ProblemTitle: z.string().trim().min(1),
  State: z.preprocess((v) => (typeof v === 'string' ? v.trim().toUpperCase() : v), z.enum(['OPEN', 'RESOLVED', 'MERGED'])),
  ProblemSeverity: z.string().optional(),
  ProblemImpact: z.string().optional(),
  ProblemURL: z.string().optional(),
  Tags: z.string().optional(),
  ImpactedEntity: z.string().optional(),
  ImpactedEntities: jsonOrString(z.array(ImpactedEntity)).optional(),
  ProblemDetailsText: z.string().optional(),
  ProblemDetailsJSONv2: jsonOrString(
    z.looseObject({
      startTime: z.number().optional(),
      impactedEntities: z.array(z.looseObject({ name: z.string().optional() })).optional(),
      // Problems API v2 entity tags: the same tags as {Tags}, structured; used when the template leaves {Tags} out.
      entityTags: z.array(z.looseObject({ key: z.string(), value: z.string().nullish() })).nullish(),
    }),
  ).optional(),
});

/** `{Tags}`, else the v2 details' `entityTags` (first value per key wins, as in the text form). */
const problemTags = (p: DynatracePayload): Record<string, string> => {
  const tags = parseTagList(p.Tags);
  if (Object.keys(tags).length > 0) return tags;
  for (const t of p.ProblemDetailsJSONv2?.entityTags ?? []) if (!(t.key in tags)) tags[t.key] = t.value ?? '';
  return tags;
};
export type DynatracePayload = z.infer<typeof DynatracePayload>;

export const normalizeDynatrace: Normalizer = (payload, { now }) => {
  const p = parsePayload('dynatrace', DynatracePayload, payload);
  const tags = problemTags(p);
  const service =
    pick(tags, 'service') ??
    p.ImpactedEntities?.find((e) => e.name.trim())?.name.trim() ??
    p.ProblemDetailsJSONv2?.impactedEntities?.find((e) => e.name?.trim())?.name?.trim() ??
    clip(p.ImpactedEntity, 256);
  const startTime = p.ProblemDetailsJSONv2?.startTime;
  const severityLevel = p.ProblemSeverity?.trim().toUpperCase();
  const alert = finish(
    'dynatrace',
    {
      source: 'dynatrace',
      dedupKey: p.PID,
      // MERGED: Dynatrace folded this problem into another one; for this incident that is the end.
      state: p.State === 'OPEN' ? 'OPEN' : 'RESOLVED',
      title: clip(p.ProblemTitle, 1024) ?? p.ProblemTitle,
      service: service ?? '',
      severity: (severityLevel && DYNATRACE_SEVERITY[severityLevel]) || DEFAULT_SEVERITY,
      startedAt: (startTime && startTime > 0 ? toIso(startTime) : undefined) ?? now.toISOString(),
      environment: pick(tags, 'environment', 'env'),
      tags: {
        ...tags,
        ...(p.ProblemID ? { 'dynatrace.problemId': p.ProblemID } : {}),
        ...(p.ProblemImpact ? { 'dynatrace.impact': p.ProblemImpact } : {}),
        ...(severityLevel ? { 'dynatrace.severity': severityLevel } : {}),
        ...(p.State === 'MERGED' ? { 'dynatrace.state': 'MERGED' } : {}),
      },
      url: clip(p.ProblemURL, 2048),
      description: clip(p.ProblemDetailsText, 8192),
    },
    { service: 'Tags (service:<name>) or ImpactedEntities[0].name', dedupKey: 'PID', title: 'ProblemTitle', url: 'ProblemURL' },
  );
  return [{ alert, raw: payload }];
};
