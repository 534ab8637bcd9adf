/**
 * A recorded AWS account (`autopilot.aws-recording/1`): what an account's own APIs answered around one incident — X-Ray,
 * CloudWatch, CloudWatch Logs Insights, CloudTrail, CodeDeploy, resource tags, SSM Parameter Store and Lambda — as
 * recorded calls (`{request, response}`) per service and operation, plus the CloudWatch alarm that opened the incident.
 * The loopback fake (aws-account.ts) serves it to the real AWS adapters, so a recorded incident runs end to end through
 * the SDK exactly as it would against the account. Documented in events/recorded/README.md.
 *
 * Responses are kept as the AWS CLI prints them (`--output json`): times are ISO 8601 strings (the fake sends them as
 * the JSON protocols' epoch seconds), every time absolute. Two nested documents may be written as JSON objects for
 * readability: a LookupEvents event's `CloudTrailEvent` and a BatchGetTraces segment's `Document` (strings on the wire).
 *
 * Only what the fake reads is checked here (the fields it matches requests on, every time it shifts); the rest of
 * each response is kept as recorded. A recording that does not parse fails naming the file and every field at fault.
 * `expect` is the answer key: the fake never serves it.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { RecordedExpect } from '../../functions/core/recorded/format.ts';

export const AWS_RECORDING_FORMAT = 'autopilot.aws-recording/1';

export class InvalidAwsRecording extends Error {
  override name = 'InvalidAwsRecording';
}

/** An ISO 8601 date-time as the CLI prints it (`2025-03-12T12:18:05Z`, `…+00:00`, `…+0000`). */
export const parseIsoTime = (s: string): number => (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(s) ? Date.parse(s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) : Number.NaN);
const IsoTime = z.string().refine((s) => !Number.isNaN(parseIsoTime(s)), { message: 'must be an ISO 8601 date-time' });
/** Epoch seconds (as a request carries them) or an ISO time. */
const TimeValue = z.union([z.number().finite(), IsoTime]);

const call = <Req extends z.ZodType, Res extends z.ZodType>(request: Req, response: Res) => z.array(z.object({ request: request.optional(), response })).default([]);
const anyRequest = z.looseObject({});

// ───────────────────────── X-Ray ─────────────────────────

const XrayService = z.looseObject({ Name: z.string().optional(), Type: z.string().optional(), StartTime: IsoTime.optional(), EndTime: IsoTime.optional(), Edges: z.array(z.looseObject({ StartTime: IsoTime.optional(), EndTime: IsoTime.optional() })).optional() });
const XrayServiceId = z.looseObject({ Name: z.string().optional(), Names: z.array(z.string()).optional(), Type: z.string().optional() });
const Segment = z.looseObject({ Id: z.string().min(1), Document: z.union([z.string(), z.looseObject({})]) });

const Xray = z.strictObject({
  GetServiceGraph: call(anyRequest, z.looseObject({ StartTime: IsoTime, EndTime: IsoTime, Services: z.array(XrayService) })),
  GetTimeSeriesServiceStatistics: call(
    z.looseObject({ EntitySelectorExpression: z.string().min(1), Period: z.number().int().positive().default(60) }),
    z.looseObject({ TimeSeriesServiceStatistics: z.array(z.looseObject({ Timestamp: IsoTime })) }),
  ),
  GetTraceSummaries: call(anyRequest, z.looseObject({ TraceSummaries: z.array(z.looseObject({ Id: z.string().min(1), StartTime: IsoTime, HasFault: z.boolean().optional(), HasError: z.boolean().optional(), HasThrottle: z.boolean().optional(), ServiceIds: z.array(XrayServiceId).default([]) })) })),
  BatchGetTraces: call(anyRequest, z.looseObject({ Traces: z.array(z.looseObject({ Id: z.string().min(1), Segments: z.array(Segment).default([]) })) })),
});

// ───────────────────────── CloudWatch ─────────────────────────

const Dimension = z.strictObject({ Name: z.string().min(1), Value: z.string() });
const MetricStat = z.looseObject({ Metric: z.looseObject({ Namespace: z.string().min(1), MetricName: z.string().min(1), Dimensions: z.array(Dimension).default([]) }), Period: z.number().int().positive(), Stat: z.string().min(1) });
const CloudWatch = z.strictObject({
  GetMetricData: call(
    z.looseObject({ MetricDataQueries: z.array(z.looseObject({ Id: z.string().min(1), MetricStat: MetricStat.optional(), Label: z.string().optional() })) }),
    z.looseObject({ MetricDataResults: z.array(z.looseObject({ Id: z.string().min(1), Label: z.string().optional(), Timestamps: z.array(IsoTime), Values: z.array(z.number().finite()) })) }),
  ),
});

// ───────────────────────── Logs ─────────────────────────

const ResultRow = z.array(z.strictObject({ field: z.string().min(1), value: z.string() }));
const Logs = z.strictObject({
  DescribeLogGroups: call(anyRequest, z.looseObject({ logGroups: z.array(z.looseObject({ logGroupName: z.string().min(1) })) })),
  /** A query as StartQuery asked it and the GetQueryResults that completed it. */
  StartQuery: call(z.looseObject({ logGroupNames: z.array(z.string().min(1)).min(1) }), z.looseObject({ status: z.string().optional(), results: z.array(ResultRow) })),
});

// ───────────────────────── CloudTrail, CodeDeploy ─────────────────────────

const TrailEvent = z.looseObject({
  EventId: z.string().min(1),
  EventName: z.string().min(1),
  EventTime: IsoTime,
  EventSource: z.string().min(1),
  ReadOnly: z.enum(['true', 'false']).optional(),
  Username: z.string().optional(),
  AccessKeyId: z.string().optional(),
  Resources: z.array(z.looseObject({ ResourceType: z.string().optional(), ResourceName: z.string().optional() })).default([]),
  CloudTrailEvent: z.union([z.string(), z.looseObject({})]),
});
const CloudTrail = z.strictObject({ LookupEvents: call(anyRequest, z.looseObject({ Events: z.array(TrailEvent) })) });

const CodeDeploy = z.strictObject({
  ListDeployments: call(anyRequest, z.looseObject({ deployments: z.array(z.string()) })),
  BatchGetDeployments: call(anyRequest, z.looseObject({ deploymentsInfo: z.array(z.looseObject({ deploymentId: z.string().min(1), createTime: IsoTime })) })),
  GetDeploymentGroup: call(z.looseObject({ applicationName: z.string().min(1), deploymentGroupName: z.string().min(1) }), z.looseObject({ deploymentGroupInfo: z.looseObject({}) })),
});

// ───────────────────────── tags, SSM, Lambda ─────────────────────────

const Tagging = z.strictObject({
  GetResources: call(anyRequest, z.looseObject({ ResourceTagMappingList: z.array(z.looseObject({ ResourceARN: z.string().startsWith('arn:'), Tags: z.array(z.strictObject({ Key: z.string().min(1), Value: z.string() })).default([]) })) })),
});

const Parameter = z.looseObject({ Name: z.string().min(1), Type: z.enum(['String', 'StringList', 'SecureString']), Value: z.string().optional(), Version: z.number().int().positive(), LastModifiedDate: IsoTime.optional() });
const Ssm = z.strictObject({
  GetParameter: call(anyRequest, z.looseObject({ Parameter })),
  GetParameterHistory: call(z.looseObject({ Name: z.string().min(1) }), z.looseObject({ Parameters: z.array(Parameter.extend({ Name: z.string().min(1).optional() })) })),
});

const Lambda = z.strictObject({
  GetAlias: call(
    z.looseObject({ FunctionName: z.string().min(1), Name: z.string().min(1) }),
    z.looseObject({ AliasArn: z.string().startsWith('arn:'), Name: z.string().min(1), FunctionVersion: z.string().min(1), RevisionId: z.string().optional(), Description: z.string().optional() }),
  ),
});

// ───────────────────────── the recording ─────────────────────────

const section = <S extends z.ZodType>(s: S) => s.optional();

export const AwsRecording = z
  .strictObject({
    format: z.literal(AWS_RECORDING_FORMAT),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" and "-", at most 64 characters'),
    description: z.string().optional(),
    source: z.looseObject({}).optional(),
    account: z.string().regex(/^\d{12}$/, 'a 12-digit account id'),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'a region such as us-east-1'),
    /** The end of the recording: the fake maps it to its anchor ("now"). */
    recordedUntil: IsoTime,
    /** The variables of the aws adapter rows the account's deployment ran with (AWS_SERVICE_MAP, AWS_ONCALL_ROSTER_PARAMETER, …). */
    configuration: z.record(z.string().regex(/^AWS_[A-Z0-9_]+$/, 'an AWS_* adapter variable'), z.string()).default({}),
    /** The CloudWatch alarm state change (as EventBridge delivers it) that opened the incident. */
    alarm: z.looseObject({
      source: z.literal('aws.cloudwatch'),
      time: IsoTime.optional(),
      detail: z.looseObject({ state: z.looseObject({ timestamp: IsoTime }), previousState: z.looseObject({ timestamp: IsoTime }).optional() }),
    }),
    expect: RecordedExpect.optional(),
    responses: z.strictObject({
      xray: section(Xray),
      cloudwatch: section(CloudWatch),
      logs: section(Logs),
      cloudtrail: section(CloudTrail),
      codedeploy: section(CodeDeploy),
      tagging: section(Tagging),
      ssm: section(Ssm),
      lambda: section(Lambda),
    }),
  })
  .superRefine((r, ctx) => {
    const until = parseIsoTime(r.recordedUntil);
    /** Nothing recorded happens after the recording ends. */
    const notAfter = (time: string | undefined, path: (string | number)[]) => {
      if (time !== undefined && parseIsoTime(time) > until) ctx.addIssue({ code: 'custom', path, message: `${time} is after recordedUntil (${r.recordedUntil})` });
    };
    notAfter(r.alarm.detail.state.timestamp, ['alarm', 'detail', 'state', 'timestamp']);
    r.responses.cloudwatch?.GetMetricData.forEach((c, i) => {
      const ids = new Set(c.request?.MetricDataQueries.map((q) => q.Id) ?? []);
      c.response.MetricDataResults.forEach((res, j) => {
        const at = ['responses', 'cloudwatch', 'GetMetricData', i, 'response', 'MetricDataResults', j];
        if (!ids.has(res.Id)) ctx.addIssue({ code: 'custom', path: [...at, 'Id'], message: `no query of the recorded request has Id "${res.Id}" (a result is matched to a request by its query's MetricStat)` });
        if (res.Timestamps.length !== res.Values.length) ctx.addIssue({ code: 'custom', path: [...at, 'Values'], message: `${res.Values.length} values for ${res.Timestamps.length} timestamps` });
        res.Timestamps.forEach((t, k) => notAfter(t, [...at, 'Timestamps', k]));
      });
    });
    r.responses.xray?.GetTimeSeriesServiceStatistics.forEach((c, i) => c.response.TimeSeriesServiceStatistics.forEach((e, j) => notAfter(e.Timestamp, ['responses', 'xray', 'GetTimeSeriesServiceStatistics', i, 'response', 'TimeSeriesServiceStatistics', j, 'Timestamp'])));
    r.responses.xray?.GetTraceSummaries.forEach((c, i) => c.response.TraceSummaries.forEach((s, j) => notAfter(s.StartTime, ['responses', 'xray', 'GetTraceSummaries', i, 'response', 'TraceSummaries', j, 'StartTime'])));
    r.responses.cloudtrail?.LookupEvents.forEach((c, i) => c.response.Events.forEach((e, j) => notAfter(e.EventTime, ['responses', 'cloudtrail', 'LookupEvents', i, 'response', 'Events', j, 'EventTime'])));
    r.responses.logs?.StartQuery.forEach((c, i) =>
      c.response.results.forEach((row, j) => {
        const t = row.find((f) => f.field === '@timestamp')?.value;
        const log = row.find((f) => f.field === '@log')?.value;
        const at = ['responses', 'logs', 'StartQuery', i, 'response', 'results', j];
        if (t === undefined || Number.isNaN(insightsTimeMs(t))) ctx.addIssue({ code: 'custom', path: at, message: 'a row needs @timestamp as Insights prints it (yyyy-MM-dd HH:mm:ss.SSS, UTC)' });
        else if (insightsTimeMs(t) > until) ctx.addIssue({ code: 'custom', path: at, message: `@timestamp ${t} is after recordedUntil` });
        if (log === undefined) ctx.addIssue({ code: 'custom', path: at, message: 'a row needs @log (<account>:<log group>): the fake answers a query over its groups' });
      }),
    );
  });
export type AwsRecording = z.infer<typeof AwsRecording>;

/** Insights' `@timestamp` (`2025-03-12 12:18:05.123`, UTC) in epoch ms. */
export const insightsTimeMs = (value: string): number => Date.parse(`${value.replace(' ', 'T')}Z`);
/** Epoch ms as Insights prints `@timestamp`. */
export const insightsTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

export const parseAwsRecording = (value: unknown, origin = '(AWS recording)'): AwsRecording => {
  const parsed = AwsRecording.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new InvalidAwsRecording(`${origin} is not a valid AWS recording (${AWS_RECORDING_FORMAT}): ${issues.join('; ')}${parsed.error.issues.length > 10 ? `; and ${parsed.error.issues.length - 10} more` : ''}`);
  }
  return parsed.data;
};

/** Reads and parses a recording file; InvalidAwsRecording naming the file otherwise. */
export const readAwsRecording = (file: string): AwsRecording => {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InvalidAwsRecording(`${file} cannot be read as JSON: ${(error as Error).message}`);
  }
  return parseAwsRecording(json, file);
};

export const isAwsRecordingFile = (value: unknown): boolean => typeof value === 'object' && value !== null && (value as { format?: unknown }).format === AWS_RECORDING_FORMAT;

/** Epoch ms of a request's time (epoch seconds on the wire; an ISO string is accepted too). */
export const requestTimeMs = (value: unknown): number | undefined => {
  const parsed = TimeValue.safeParse(value);
  if (!parsed.success) return undefined;
  return typeof parsed.data === 'number' ? parsed.data * 1000 : parseIsoTime(parsed.data);
};

/** ISO date-time strings inside a value (a CloudTrail record), shifted by `offsetMs`; other values as they are. */
const ISO_IN_TEXT = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})/g;
export const shiftIsoStrings = (value: unknown, offsetMs: number): unknown => {
  if (typeof value === 'string') {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$/.test(value)) return value;
    return new Date(parseIsoTime(value) + offsetMs).toISOString();
  }
  if (Array.isArray(value)) return value.map((v) => shiftIsoStrings(v, offsetMs));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shiftIsoStrings(v, offsetMs)]));
  return value;
};
/** Every ISO date-time in a text (a log line's header, a JSON log's `timestamp`), shifted. */
export const shiftIsoInText = (text: string, offsetMs: number): string => text.replace(ISO_IN_TEXT, (m) => new Date(parseIsoTime(m) + offsetMs).toISOString());
