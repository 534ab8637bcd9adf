/** A small recording for the recorded adapter's and store's unit tests: times on round minutes, easy to check. */
import { RECORDING_FORMAT } from '../../../functions/core/recorded/format.ts';

export const MINUTE = 60_000;
/** The end of the recording. */
export const UNTIL = Date.parse('2025-01-01T02:00:00Z');
/** Where a replay maps UNTIL (an arbitrary, later moment). */
export const ANCHOR = new Date('2030-06-01T12:00:30Z');
export const OFFSET = ANCHOR.getTime() - UNTIL;

export const iso = (ms: number): string => new Date(ms).toISOString();
/** A recorded time, `minutes` before the end of the recording. */
export const rec = (minutes: number): string => iso(UNTIL + minutes * MINUTE);
/** The same moment on the replay's clock. */
export const replayed = (minutes: number): string => iso(ANCHOR.getTime() + minutes * MINUTE);

export const API = 'orders-api_AWS::ApiGateway::Stage';
export const FN = 'create-order_AWS::Lambda::Function';
export const TABLE = 'Orders_AWS::DynamoDB::Table';
export const LONELY = 'billing_AWS::Lambda::Function';

/** Markers that exist only in the parts no tool may return. */
export const SECRET = { target: 'ANSWER-TARGET-7f3a', description: 'DESCRIPTION-MARKER-91c2', source: 'SOURCE-MARKER-44d0' } as const;

/** 120 one-minute points ending at UNTIL (the first at −120 min), value = minute index, with gaps at 100..102. */
const minuteValues = (): (number | null)[] => Array.from({ length: 120 }, (_, i) => (i >= 100 && i <= 102 ? null : i));

export const recording = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  format: RECORDING_FORMAT,
  name: 'unit-orders',
  description: SECRET.description,
  source: { dataset: SECRET.source },
  recordedUntil: iso(UNTIL),
  alert: { service: API, title: 'orders-api 5XX above 5%', startedAt: rec(-10), severity: 'SEV2', metric: 'error_rate_pct' },
  topology: [
    { name: API, tier: 'frontend', calls: [FN], type: 'AWS::ApiGateway::Stage' },
    { name: FN, tier: 'backend', calls: [TABLE], type: 'AWS::Lambda::Function' },
    { name: TABLE, tier: 'database', calls: [], type: 'AWS::DynamoDB::Table' },
    { name: LONELY, tier: 'backend', calls: [] },
  ],
  metrics: [
    { service: API, metric: 'error_rate_pct', unit: '%', statistic: 'Average', resolutionSeconds: 60, start: rec(-120), values: minuteValues() },
    { service: API, metric: 'latency_p99_ms', unit: 'ms', statistic: 'p99', resolutionSeconds: 60, start: rec(-120), values: minuteValues().map((v) => (v === null ? null : 100 + v)) },
    // Five-minute points (X-Ray's grain), 24 of them over the same two hours.
    { service: TABLE, metric: 'throttle_rate_pct', unit: '%', resolutionSeconds: 300, start: rec(-120), values: Array.from({ length: 24 }, (_, i) => (i === 20 ? null : i * 2)) },
  ],
  logs: [
    { timestamp: rec(-50), service: FN, level: 'INFO', message: 'REPORT RequestId: a Duration: 80 ms' },
    { timestamp: rec(-8), service: FN, level: 'WARN', message: 'PutItem throttled, retrying' },
    { timestamp: rec(-7), service: FN, level: 'ERROR', message: 'ProvisionedThroughputExceededException', traceId: 't-2' },
    { timestamp: rec(-6), service: API, level: 'ERROR', message: 'Method completed with status: 502' },
    { timestamp: rec(-1), service: FN, level: 'ERROR', message: 'ProvisionedThroughputExceededException', host: 'sandbox-1' },
  ],
  traces: [
    {
      traceId: 't-1', rootService: API, startedAt: rec(-40), totalMs: 90, status: 'OK',
      spans: [
        { spanId: 's1', service: API, operation: 'POST /orders', startedAt: rec(-40), durationMs: 90, status: 'OK' },
        { spanId: 's2', parentSpanId: 's1', service: FN, operation: 'Invoke', startedAt: rec(-40), durationMs: 80, status: 'OK' },
      ],
    },
    {
      traceId: 't-2', rootService: API, startedAt: rec(-7), totalMs: 2100, status: 'ERROR',
      spans: [
        { spanId: 's3', service: API, operation: 'POST /orders', startedAt: rec(-7), durationMs: 2100, status: 'ERROR', error: 'HTTP 502' },
        { spanId: 's4', parentSpanId: 's3', service: TABLE, operation: 'PutItem', startedAt: rec(-7), durationMs: 300, status: 'ERROR', error: 'ProvisionedThroughputExceededException' },
      ],
    },
    { traceId: 't-3', rootService: API, startedAt: rec(-3), totalMs: 2000, status: 'ERROR', spans: [{ spanId: 's5', service: API, operation: 'POST /orders', startedAt: rec(-3), durationMs: 2000, status: 'ERROR' }] },
  ],
  changes: [
    { id: 'ct-1', service: TABLE, type: 'config', title: 'UpdateTable Orders: BillingMode → PROVISIONED', description: 'CloudFormation update', deployedAt: rec(-30), configChange: { param: 'BillingMode', old: 'PAY_PER_REQUEST', new: 'PROVISIONED' } },
    { id: 'ct-0', service: FN, type: 'deploy', title: 'create-order alias 4 → 5', description: 'UpdateAlias', deployedAt: rec(-90), version: { from: '4', to: '5' }, author: 'ci' },
  ],
  history: [
    { id: 'INC-1', title: 'Orders table throttling during an import', service: TABLE, openedAt: '2024-06-01T10:00:00Z', resolvedAt: '2024-06-01T11:00:00Z', category: 'database', rootCause: 'hot partition', resolution: 'sharded writes', resolutionMinutes: 60, tags: ['dynamodb'] },
    // Opened after the recording ends: it has not happened yet when the replay starts.
    { id: 'INC-9', title: 'Orders table throttling again', service: TABLE, openedAt: rec(30), rootCause: 'later', resolution: 'later', tags: [] },
  ],
  oncall: [{ service: API, primary: { name: 'Priya', contact: 'priya@example.com' } }],
  ownership: [{ service: API, team: 'orders', slackChannel: '#orders' }],
  expect: { rootCause: { service: TABLE, category: 'dns', changeId: 'ct-1' }, mitigation: { kind: 'revert-config', service: TABLE, target: SECRET.target } },
  ...over,
});

/** The recording without some of its optional sections (not recorded). */
export const without = (...sections: string[]): Record<string, unknown> => {
  const r = recording();
  for (const s of sections) delete r[s];
  return r;
};
