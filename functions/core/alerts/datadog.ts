/**
 * Datadog webhook. The user writes the payload with `$VARIABLES` (README.md gives the template); Datadog
 * substitutes strings everywhere, and an unavailable variable becomes an empty string. `$ALERT_CYCLE_KEY`
 * stays the same from trigger to recovery, so it is the dedup key.
 */
import * as z from 'zod';
import type { Severity } from '../model.ts';
import { type Normalizer, DEFAULT_SEVERITY, clip, finish, parsePayload, parseTagList, pick, timestampString, toIso } from './common.ts';

/** `$ALERT_PRIORITY` → Severity; without a priority, `$ALERT_TYPE` decides (README.md). */
export const DATADOG_PRIORITY: Readonly<Record<string, Severity>> = { P1: 'SEV1', P2: 'SEV2', P3: 'SEV3', P4: 'SEV4', P5: 'SEV4' };
export const DATADOG_ALERT_TYPE: Readonly<Record<string, Severity>> = { error: 'SEV2', warning: 'SEV3', info: 'SEV4', success: 'SEV4' };

/** Datadog ids arrive as strings; a hand-written test payload may use numbers. */
const idString = z.union([z.string(), z.number()]).transform(String);
const text = z.string().optional();

export const DatadogPayload = z.looseObject({
  id: idString.optional(),
  alert_cycle_key: idString.pipe(z.string().trim().min(1, 'must not be empty ($ALERT_CYCLE_KEY)')),
  alert_id: idString.optional(),
  title: z.string().trim().min(1, 'must not be empty ($ALERT_TITLE)'),
  event_title: text,
  transition: z.string().trim().min(1, 'must not be empty ($ALERT_TRANSITION)'),
  alert_type: text,
  priority: text,
  date: idString.pipe(timestampString),
  last_updated: idString.optional(),
  tags: text,
  scope: text,
  hostname: text,
  link: text,
  body: text,
  query: text,
  org_id: idString.optional(),
  org_name: text,
});
export type DatadogPayload = z.infer<typeof DatadogPayload>;

/** Recovered, Warn Recovered, No Data Recovered → RESOLVED; Triggered, Re-Triggered, Warn, No Data, Renotify → OPEN. */
export const datadogState = (transition: string): 'OPEN' | 'RESOLVED' => (/recovered/i.test(transition) ? 'RESOLVED' : 'OPEN');

export const normalizeDatadog: Normalizer = (payload, _context) => {
  const p = parsePayload('datadog', DatadogPayload, payload);
  const tags = parseTagList(p.tags);
  const scope = parseTagList(p.scope);
  const severity = DATADOG_PRIORITY[p.priority?.trim().toUpperCase() ?? ''] ?? DATADOG_ALERT_TYPE[p.alert_type?.trim().toLowerCase() ?? ''] ?? DEFAULT_SEVERITY;
  const alert = finish(
    'datadog',
    {
      source: 'datadog',
      dedupKey: p.alert_cycle_key,
      state: datadogState(p.transition),
      title: clip(p.title, 1024) ?? p.title,
      service: pick(tags, 'service') ?? pick(scope, 'service') ?? '',
      severity,
      startedAt: toIso(p.date) ?? '',
      environment: pick(tags, 'env', 'environment') ?? pick(scope, 'env', 'environment'),
      tags: {
        ...tags,
        ...(p.alert_id ? { 'datadog.monitorId': p.alert_id } : {}),
        ...(p.id ? { 'datadog.eventId': p.id } : {}),
        'datadog.transition': p.transition,
        ...(p.hostname ? { 'datadog.host': p.hostname } : {}),
      },
      url: clip(p.link, 2048),
      description: clip(p.body, 8192),
    },
    { service: 'tags (service:<name>) or scope', dedupKey: 'alert_cycle_key', url: 'link', description: 'body' },
  );
  return [{ alert, raw: payload }];
};
