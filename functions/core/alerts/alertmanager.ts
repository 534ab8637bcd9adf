/**
 * Prometheus Alertmanager webhook (version "4"; Grafana's webhook, version "1", has the same `alerts[]`).
 * A notification is a group: each alert in it becomes one NormalizedAlert. Alertmanager's `fingerprint` is
 * stable per label set, so the dedup key is fingerprint + startsAt: the same alert firing again later is a
 * new incident, repeated notifications of one firing are not.
 */
import * as z from 'zod';
import { type Normalizer, DEFAULT_SEVERITY, clip, finish, parsePayload, pick, severityFromWord, timestampString, toIso } from './common.ts';

const Labels = z.record(z.string(), z.string());

export const AlertmanagerAlert = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels: Labels,
  annotations: Labels.default({}),
  startsAt: timestampString,
  /** The zero time `0001-01-01T00:00:00Z` while firing; when it ended once resolved. */
  endsAt: timestampString.optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().trim().min(1),
});

export const AlertmanagerPayload = z.looseObject({
  version: z.enum(['4', '1']),
  groupKey: z.string().optional(),
  truncatedAlerts: z.number().int().nonnegative().optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().optional(),
  groupLabels: Labels.default({}),
  commonLabels: Labels.default({}),
  commonAnnotations: Labels.default({}),
  externalURL: z.string().optional(),
  alerts: z.array(AlertmanagerAlert).min(1),
});
export type AlertmanagerPayload = z.infer<typeof AlertmanagerPayload>;

export const normalizeAlertmanager: Normalizer = (payload, _context) => {
  const group = parsePayload('alertmanager', AlertmanagerPayload, payload);
  const { alerts, ...groupFields } = group;
  return alerts.map((a, i) => {
    const at = `alerts.${i}`;
    const labels = { ...group.commonLabels, ...a.labels };
    const annotations = { ...group.commonAnnotations, ...a.annotations };
    const alert = finish(
      'alertmanager',
      {
        source: 'alertmanager',
        dedupKey: `${a.fingerprint}:${toIso(a.startsAt)}`,
        state: a.status === 'firing' ? 'OPEN' : 'RESOLVED',
        title: clip(pick(annotations, 'summary', 'title') ?? pick(labels, 'alertname'), 1024) ?? '',
        service: pick(labels, 'service', 'app', 'job') ?? '',
        severity: severityFromWord(pick(labels, 'severity', 'priority')) ?? DEFAULT_SEVERITY,
        startedAt: toIso(a.startsAt) ?? '',
        environment: pick(labels, 'environment', 'env'),
        tags: {
          ...labels,
          // Alertmanager dropped alerts from this group (max_alerts): the incident may be missing some.
          ...(group.truncatedAlerts ? { 'alertmanager.truncatedAlerts': String(group.truncatedAlerts) } : {}),
          ...(a.status === 'resolved' && a.endsAt && !a.endsAt.startsWith('0001-') ? { 'alertmanager.endsAt': toIso(a.endsAt) ?? a.endsAt } : {}),
        },
        url: clip(a.generatorURL, 2048) ?? clip(group.externalURL, 2048),
        description: clip(pick(annotations, 'description', 'message'), 8192),
      },
      { service: `${at}.labels.service`, title: `${at}.annotations.summary or ${at}.labels.alertname`, dedupKey: `${at}.fingerprint` },
    );
    // Each stored alert keeps the group's context and its own entry, not the whole group.
    return { alert, raw: { ...groupFields, alert: a } };
  });
};
