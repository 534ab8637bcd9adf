/**
 * CloudWatch alarm state change, as EventBridge delivers it (a rule on `aws.cloudwatch` /
 * `CloudWatch Alarm State Change` with an API destination posting the whole event).
 *
 * Dedup key: alarm ARN + the timestamp of the ALARM state. An ALARM event uses its own `state.timestamp`;
 * the OK event that ends it carries that same ALARM state as `previousState`, so it lands on the same
 * incident. INSUFFICIENT_DATA is not actionable: no alert (the API answers 202, ignored).
 *
 * CloudWatch alarms have no severity or service fields; put `key=value` (or `key:value`) tokens in the
 * alarm description, e.g. "p99 latency high. service=inventory-service severity=SEV2 environment=w1".
 * Without them the service falls back to a well-known metric dimension, then to the alarm name.
 */
import * as z from 'zod';
import type { NormalizedAlert } from '../model.ts';
import { type NormalizedItem, type Normalizer, DEFAULT_SEVERITY, clip, finish, parsePayload, pick, severityFromWord, timestampString, toIso } from './common.ts';

const AlarmState = z.looseObject({
  value: z.enum(['ALARM', 'OK', 'INSUFFICIENT_DATA']),
  reason: z.string().optional(),
  reasonData: z.string().optional(),
  timestamp: timestampString,
});

const Metric = z.looseObject({
  id: z.string().optional(),
  metricStat: z
    .looseObject({
      metric: z.looseObject({ namespace: z.string().optional(), name: z.string().optional(), dimensions: z.record(z.string(), z.string()).optional() }).optional(),
    })
    .optional(),
});

export const CloudWatchAlarmEvent = z.looseObject({
  source: z.literal('aws.cloudwatch'),
  'detail-type': z.literal('CloudWatch Alarm State Change'),
  account: z.string().optional(),
  region: z.string().optional(),
  time: z.string().optional(),
  resources: z.array(z.string().trim().min(1)).min(1),
  detail: z.looseObject({
    alarmName: z.string().trim().min(1),
    state: AlarmState,
    previousState: AlarmState.optional(),
    configuration: z.looseObject({ description: z.string().optional(), metrics: z.array(Metric).optional() }).optional(),
  }),
});
export type CloudWatchAlarmEvent = z.infer<typeof CloudWatchAlarmEvent>;

/** Dimensions that usually name the thing an alarm watches, in order of preference. */
const SERVICE_DIMENSIONS = ['ServiceName', 'Service', 'service', 'FunctionName', 'ClusterName', 'TableName', 'DBInstanceIdentifier', 'QueueName', 'ApiName', 'LoadBalancer'];

/** `key=value` / `key:value` tokens in free text. */
export const descriptionTokens = (description: string | undefined): Record<string, string> => {
  const tokens: Record<string, string> = {};
  for (const m of (description ?? '').matchAll(/\b([A-Za-z][\w.-]*)[=:]([^\s,;]+)/g)) tokens[m[1]] = m[2];
  return tokens;
};

export const normalizeCloudWatch: Normalizer = (payload, _context): NormalizedItem[] => {
  const e = parsePayload('cloudwatch', CloudWatchAlarmEvent, payload);
  const { state, previousState, alarmName, configuration } = e.detail;
  let alertState: NormalizedAlert['state'];
  let alarmTimestamp: string;
  if (state.value === 'ALARM') {
    alertState = 'OPEN';
    alarmTimestamp = state.timestamp;
  } else if (state.value === 'OK') {
    alertState = 'RESOLVED';
    // The OK event names the ALARM state it ends; OK after INSUFFICIENT_DATA matches no incident (ignored).
    alarmTimestamp = previousState?.value === 'ALARM' ? previousState.timestamp : state.timestamp;
  } else {
    return [];
  }
  const alarmArn = e.resources[0];
  const tokens = descriptionTokens(configuration?.description);
  const dimensions = Object.assign({}, ...(configuration?.metrics ?? []).map((m) => m.metricStat?.metric?.dimensions ?? {})) as Record<string, string>;
  const region = e.region ?? alarmArn.split(':')[3];
  const alert = finish(
    'cloudwatch',
    {
      source: 'cloudwatch',
      dedupKey: `${alarmArn}#${toIso(alarmTimestamp)}`,
      state: alertState,
      title: clip(alarmName, 1024) ?? alarmName,
      service: pick(tokens, 'service') ?? pick(dimensions, ...SERVICE_DIMENSIONS) ?? alarmName,
      severity: severityFromWord(pick(tokens, 'severity', 'sev', 'priority')) ?? DEFAULT_SEVERITY,
      startedAt: toIso(alertState === 'OPEN' ? state.timestamp : alarmTimestamp) ?? '',
      environment: pick(tokens, 'environment', 'env'),
      tags: {
        ...tokens,
        'aws.alarmArn': alarmArn,
        ...(e.account ? { 'aws.account': e.account } : {}),
        ...(region ? { 'aws.region': region } : {}),
        'cloudwatch.state': state.value,
      },
      url: region ? `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#alarmsV2:alarm/${encodeURIComponent(alarmName)}` : undefined,
      description: clip([configuration?.description, state.reason].filter(Boolean).join('\n\n'), 8192),
    },
    { dedupKey: 'resources.0', title: 'detail.alarmName' },
  );
  return [{ alert, raw: payload }];
};
