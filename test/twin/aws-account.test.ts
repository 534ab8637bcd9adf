/**
 * Twin: one AWS-shaped recorded incident end to end through the AWS adapters — the SDK pointed at a loopback fake of
 * the account (lib/local/aws-account.ts) that serves recorded AWS API responses
 * (events/recorded/aws/checkout-alias-dynamodb-throttling.json: an UpdateAlias moves checkout's live alias to a version
 * that writes one DynamoDB item per order line; the orders table throttles and checkout's errors climb).
 *
 * 1. The fake through the real SDK clients: times shifted onto the anchor, windows, pagination, the X-Ray selector and
 *    trace filter, each MetricDataQuery answered under its own Id, Logs Insights polling, CloudTrail's lookup
 *    attribute, Lambda alias state with RevisionId, and a named exception for what it does not serve.
 * 2. The changes and actions adapters against the fake: the UpdateAlias as a ChangeRequest with its resource and
 *    42 → 43 (the previous version found by CloudTrail's look-back), and the typed rollback as the planner builds it:
 *    GetAlias, then UpdateAlias back to 42 with the read RevisionId; a second run does nothing.
 * 3. The whole workflow on a twin with TOOLS_DEFAULT=aws, the recording's CloudWatch alarm sent to /alerts/cloudwatch.
 *
 * Expected values are read from the recording, never written here.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CloudTrailClient, type Event as LookupEvent, LookupEventsCommand, paginateLookupEvents } from '@aws-sdk/client-cloudtrail';
import { CloudWatchClient, type GetMetricDataCommandOutput, type MetricDataQuery, paginateGetMetricData } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, GetQueryResultsCommand, StartQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { GetAliasCommand, LambdaClient, UpdateAliasCommand } from '@aws-sdk/client-lambda';
import { paginateGetResources, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { SSMClient } from '@aws-sdk/client-ssm';
import { BatchGetTracesCommand, GetTimeSeriesServiceStatisticsCommand, paginateGetTraceSummaries, type TraceSummary, XRayClient } from '@aws-sdk/client-xray';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MitigationAction } from '../../functions/core/model.ts';
import { AwsActions } from '../../functions/core/tools/aws/actions.ts';
import { AwsChanges } from '../../functions/core/tools/aws/changes.ts';
import { AwsServiceDirectory } from '../../functions/core/tools/aws/service-directory.ts';
import { type ChangeRequest, partialGapsOf } from '../../functions/core/tools/ports.ts';
import { type AwsRecording, InvalidAwsRecording, parseAwsRecording, parseIsoTime, readAwsRecording } from '../../lib/local/aws-account-recording.ts';
import { type AwsAccountFake, startAwsAccount } from '../../lib/local/aws-account.ts';
import { ApiClient, type IncidentView } from '../../lib/local/client.ts';
import { ApprovalWatcher, decideWhenRequested } from '../../lib/local/incident-run.ts';
import { startTwin, type Twin, TwinOptionInvalid } from '../../lib/local/twin.ts';

const FILE = fileURLToPath(new URL('../../events/recorded/aws/checkout-alias-dynamodb-throttling.json', import.meta.url));
const recording = readAwsRecording(FILE);
const UNTIL = parseIsoTime(recording.recordedUntil);
const MINUTE = 60_000;
const DAY = 86_400_000;
const fn = (name: string) => `arn:aws:lambda:${recording.region}:${recording.account}:function:${name}`;

// ───────────────────────── what the recording holds (the expectations) ─────────────────────────

const events = recording.responses.cloudtrail!.LookupEvents.flatMap((c) => c.response.Events);
const trailRecord = (e: (typeof events)[number]) => (typeof e.CloudTrailEvent === 'string' ? JSON.parse(e.CloudTrailEvent) : e.CloudTrailEvent) as { requestParameters?: Record<string, unknown>; errorCode?: string };
/** The alias move at the heart of the incident: the newest successful UpdateAlias of checkout:live. */
const aliasMove = events
  .filter((e) => e.EventName.startsWith('UpdateAlias') && !trailRecord(e).errorCode && trailRecord(e).requestParameters?.functionName === 'checkout')
  .sort((a, b) => parseIsoTime(b.EventTime) - parseIsoTime(a.EventTime))[0]!;
const ALIAS_CHANGE = `cloudtrail:${aliasMove.EventId}`;
const NEW_VERSION = String(trailRecord(aliasMove).requestParameters!.functionVersion);
/** The version the alias served before: the UpdateAlias before it. */
const OLD_VERSION = String(
  trailRecord(
    events
      .filter((e) => e.EventName.startsWith('UpdateAlias') && !trailRecord(e).errorCode && parseIsoTime(e.EventTime) < parseIsoTime(aliasMove.EventTime))
      .sort((a, b) => parseIsoTime(b.EventTime) - parseIsoTime(a.EventTime))[0]!,
  ).requestParameters!.functionVersion,
);
const recordedAlias = recording.responses.lambda!.GetAlias[0]!.response;

const queryOf = (namespace: string, metric: string, stat: string, dims: Record<string, string>): { query: MetricDataQuery['MetricStat']; points: [number, number][] } => {
  const call = recording.responses.cloudwatch!.GetMetricData[0]!;
  const q = call.request!.MetricDataQueries.find(
    (x) => x.MetricStat?.Metric.Namespace === namespace && x.MetricStat.Metric.MetricName === metric && x.MetricStat.Stat === stat && JSON.stringify(x.MetricStat.Metric.Dimensions.map((d) => `${d.Name}=${d.Value}`).sort()) === JSON.stringify(Object.entries(dims).map(([k, v]) => `${k}=${v}`).sort()),
  )!;
  const r = call.response.MetricDataResults.find((x) => x.Id === q.Id)!;
  return { query: { Metric: { Namespace: namespace, MetricName: metric, Dimensions: Object.entries(dims).map(([Name, Value]) => ({ Name, Value })) }, Period: 60, Stat: stat }, points: r.Timestamps.map((t, i) => [parseIsoTime(t), r.Values[i]!]) };
};
const lambdaErrors = queryOf('AWS/Lambda', 'Errors', 'Sum', { FunctionName: 'checkout' });

const client = <C>(Ctor: new (config: Record<string, unknown>) => C, fake: AwsAccountFake): C =>
  new Ctor({ endpoint: fake.endpoint, region: recording.region, credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' }, maxAttempts: 1 });
const named = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'no error';
  } catch (error) {
    return (error as Error).name;
  }
};

// ───────────────────────── 1. the fake through the SDK ─────────────────────────

describe('the recorded AWS account through the SDK', () => {
  // Anchored ten days after the recording: every time comes back exactly ten days later.
  const anchor = new Date(UNTIL + 10 * DAY);
  const later = (t: number) => t + 10 * DAY;
  let fake: AwsAccountFake;
  beforeAll(async () => {
    fake = await startAwsAccount(recording, { anchor, pageSizes: { GetTraceSummaries: 2, LookupEvents: 2, GetResources: 2, GetMetricData: 7 }, runningPolls: 1 });
  });
  afterAll(() => fake?.stop());

  it('answers each MetricDataQuery under its own Id, in the window only, shifted onto the anchor; a coarser period sums; an unrecorded metric is empty', async () => {
    const from = later(UNTIL - 12 * MINUTE);
    const to = later(UNTIL);
    const queries: MetricDataQuery[] = [
      { Id: 'perMinute', MetricStat: lambdaErrors.query },
      { Id: 'fiveMinutes', MetricStat: { ...lambdaErrors.query!, Period: 300 } },
      { Id: 'scans', MetricStat: { Metric: { Namespace: 'AWS/DynamoDB', MetricName: 'ThrottledRequests', Dimensions: [{ Name: 'TableName', Value: 'orders' }, { Name: 'Operation', Value: 'Scan' }] }, Period: 60, Stat: 'Sum' } },
    ];
    const byId = new Map<string, { Timestamps: Date[]; Values: number[]; StatusCode?: string }>();
    for await (const page of paginateGetMetricData({ client: client(CloudWatchClient, fake) }, { StartTime: new Date(from), EndTime: new Date(to), ScanBy: 'TimestampAscending', MetricDataQueries: queries }))
      for (const r of page.MetricDataResults!) {
        const acc = byId.get(r.Id!) ?? { Timestamps: [], Values: [] };
        byId.set(r.Id!, { Timestamps: [...acc.Timestamps, ...r.Timestamps!], Values: [...acc.Values, ...r.Values!], StatusCode: r.StatusCode });
      }
    const expected = lambdaErrors.points.filter(([t]) => later(t) >= from && later(t) < to);
    expect(expected.length).toBeGreaterThan(5);
    expect(byId.get('perMinute')!.Timestamps.map((t) => t.getTime())).toEqual(expected.map(([t]) => later(t)));
    expect(byId.get('perMinute')!.Values).toEqual(expected.map(([, v]) => v));
    expect(byId.get('fiveMinutes')!.Values.reduce((a, b) => a + b, 0)).toBe(expected.reduce((a, [, v]) => a + v, 0));
    expect(byId.get('fiveMinutes')!.Timestamps.every((t) => t.getTime() % 300_000 === 0)).toBe(true);
    expect(byId.get('scans')).toEqual({ StatusCode: 'Complete', Timestamps: [], Values: [] });
  });

  it('pages GetMetricData by datapoints: the SDK paginator reassembles the series, PartialData until its last page', async () => {
    const pages: GetMetricDataCommandOutput[] = [];
    for await (const page of paginateGetMetricData({ client: client(CloudWatchClient, fake) }, { StartTime: new Date(later(UNTIL - 30 * MINUTE)), EndTime: new Date(later(UNTIL)), ScanBy: 'TimestampAscending', MetricDataQueries: [{ Id: 'e', MetricStat: lambdaErrors.query }] })) pages.push(page);
    expect(pages.length).toBeGreaterThan(2);
    expect(pages.slice(0, -1).every((p) => p.MetricDataResults![0]!.StatusCode === 'PartialData')).toBe(true);
    expect(pages.at(-1)!.MetricDataResults![0]!.StatusCode).toBe('Complete');
    const values = pages.flatMap((p) => p.MetricDataResults![0]!.Values!);
    expect(values).toEqual(lambdaErrors.points.filter(([t]) => t >= UNTIL - 30 * MINUTE).map(([, v]) => v));
  });

  it('answers X-Ray statistics by the entity selector, summed into 5-minute periods; a selector it cannot read is InvalidRequestException', async () => {
    const xray = client(XRayClient, fake);
    const stats = async (name: string, type: string) =>
      (await xray.send(new GetTimeSeriesServiceStatisticsCommand({ StartTime: new Date(later(UNTIL - 20 * MINUTE)), EndTime: new Date(later(UNTIL)), Period: 300, EntitySelectorExpression: `service(id(name: ${JSON.stringify(name)}, type: ${JSON.stringify(type)}))` }))).TimeSeriesServiceStatistics!;
    const table = await stats('orders', 'AWS::DynamoDB::Table');
    const fn_ = await stats('checkout', 'AWS::Lambda::Function');
    const recorded = (type: string) => recording.responses.xray!.GetTimeSeriesServiceStatistics.find((c) => c.request!.EntitySelectorExpression.includes(type))!.response.TimeSeriesServiceStatistics;
    const total = (entries: readonly Record<string, unknown>[]) => entries.filter((e) => parseIsoTime(e.Timestamp as string) >= UNTIL - 20 * MINUTE).reduce((n, e) => n + ((e.ServiceSummaryStatistics as { TotalCount: number }).TotalCount ?? 0), 0);
    expect(table.reduce((n, e) => n + e.ServiceSummaryStatistics!.TotalCount!, 0)).toBe(total(recorded('AWS::DynamoDB::Table')));
    expect(fn_.reduce((n, e) => n + e.ServiceSummaryStatistics!.TotalCount!, 0)).toBe(total(recorded('AWS::Lambda::Function')));
    expect(table.some((e) => e.ServiceSummaryStatistics!.ErrorStatistics!.ThrottleCount! > 0)).toBe(true);
    expect(await named(xray.send(new GetTimeSeriesServiceStatisticsCommand({ StartTime: new Date(later(UNTIL - MINUTE)), EndTime: new Date(later(UNTIL)), EntitySelectorExpression: 'edge("a", "b")' })))).toBe('InvalidRequestException');
  });

  it('filters trace summaries by service and fault, pages them, and shifts the segment documents', async () => {
    const xray = client(XRayClient, fake);
    const summaries: TraceSummary[] = [];
    for await (const page of paginateGetTraceSummaries({ client: xray }, { StartTime: new Date(later(UNTIL - 20 * MINUTE)), EndTime: new Date(later(UNTIL)), FilterExpression: 'service(id(name: "checkout", type: "AWS::Lambda")) { fault = true OR error = true }' })) summaries.push(...page.TraceSummaries!);
    const recorded = recording.responses.xray!.GetTraceSummaries[0]!.response.TraceSummaries.filter((s) => s.HasFault && parseIsoTime(s.StartTime) >= UNTIL - 20 * MINUTE);
    expect(summaries.map((s) => s.Id).sort()).toEqual(recorded.map((s) => s.Id).sort());
    expect(summaries.length).toBeGreaterThan(2); // more than one page of 2
    const first = recorded.find((s) => s.Id === summaries[0]!.Id)!;
    expect(summaries[0]!.StartTime!.getTime()).toBe(later(parseIsoTime(first.StartTime)));
    const traces = await xray.send(new BatchGetTracesCommand({ TraceIds: [summaries[0]!.Id!, '1-00000000-000000000000000000000000'] }));
    expect(traces.UnprocessedTraceIds).toEqual(['1-00000000-000000000000000000000000']);
    const doc = JSON.parse(traces.Traces![0]!.Segments![0]!.Document!) as { start_time: number };
    expect(Math.abs(doc.start_time * 1000 - later(parseIsoTime(first.StartTime)))).toBeLessThan(1_000);
  });

  it('honours CloudTrail lookup attributes, pages the events newest first and shifts the records inside', async () => {
    const ct = client(CloudTrailClient, fake);
    const writes: LookupEvent[] = [];
    for await (const page of paginateLookupEvents({ client: ct }, { LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }], StartTime: new Date(later(UNTIL - 6 * 60 * MINUTE)), EndTime: new Date(later(UNTIL)) })) writes.push(...page.Events!);
    const expected = events.filter((e) => e.ReadOnly === 'false' && parseIsoTime(e.EventTime) >= UNTIL - 6 * 60 * MINUTE);
    expect(new Set(writes.map((e) => e.EventId))).toEqual(new Set(expected.map((e) => e.EventId)));
    expect(writes.length).toBeGreaterThan(2); // more than one page of 2
    expect(writes.map((e) => e.EventTime!.getTime())).toEqual([...writes.map((e) => e.EventTime!.getTime())].sort((a, b) => b - a));
    const alias = writes.find((e) => e.EventId === aliasMove.EventId)!;
    expect(alias.EventTime!.getTime()).toBe(later(parseIsoTime(aliasMove.EventTime)));
    expect(Date.parse((JSON.parse(alias.CloudTrailEvent!) as { eventTime: string }).eventTime)).toBe(later(parseIsoTime(aliasMove.EventTime)));
    const byName = await ct.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: aliasMove.EventName }], StartTime: new Date(later(UNTIL - 30 * DAY)), EndTime: new Date(later(UNTIL)) }));
    expect(byName.Events!.every((e) => e.EventName === aliasMove.EventName)).toBe(true);
    expect(await named(ct.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }, { AttributeKey: 'EventName', AttributeValue: 'PutParameter' }] })))).toBe('InvalidLookupAttributesException');
  });

  it('runs a Logs Insights query: Running first, then the rows of its log groups in its window, newest first; a missing group is named', async () => {
    const logs = client(CloudWatchLogsClient, fake);
    const start = later(UNTIL - 19 * MINUTE) / 1000;
    const { queryId } = await logs.send(new StartQueryCommand({ logGroupNames: ['/aws/lambda/checkout'], startTime: start, endTime: later(UNTIL) / 1000, queryString: 'fields @timestamp, @message | sort @timestamp desc', limit: 25 }));
    expect((await logs.send(new GetQueryResultsCommand({ queryId }))).status).toBe('Running');
    const done = await logs.send(new GetQueryResultsCommand({ queryId }));
    expect(done.status).toBe('Complete');
    expect(done.results!.length).toBe(25);
    const times = done.results!.map((row) => Date.parse(`${row.find((f) => f.field === '@timestamp')!.value!.replace(' ', 'T')}Z`));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(times.every((t) => t >= start * 1000 && t <= later(UNTIL))).toBe(true);
    expect(done.results!.every((row) => row.find((f) => f.field === '@log')!.value!.endsWith(':/aws/lambda/checkout'))).toBe(true);
    // The Lambda line's own time is shifted with it.
    const message = done.results![0]!.find((f) => f.field === '@message')!.value!;
    if (/^\d{4}-/.test(message)) expect(Math.abs(Date.parse(message.split('\t')[0]!) - times[0]!)).toBeLessThan(1_000);
    const missing = logs.send(new StartQueryCommand({ logGroupNames: ['/aws/lambda/nope'], startTime: start, endTime: later(UNTIL) / 1000, queryString: 'fields @message' }));
    await expect(missing).rejects.toMatchObject({ name: 'ResourceNotFoundException', message: expect.stringContaining("Log group '/aws/lambda/nope' does not exist") });
  });

  it('pages tagged resources by their tag filter', async () => {
    const tagging = client(ResourceGroupsTaggingAPIClient, fake);
    const arns: (string | undefined)[] = [];
    for await (const page of paginateGetResources({ client: tagging, pageSize: 100 }, { TagFilters: [{ Key: 'service', Values: ['checkout', 'orders'] }] })) arns.push(...page.ResourceTagMappingList!.map((m) => m.ResourceARN));
    expect(arns.sort()).toEqual([fn('checkout'), `arn:aws:dynamodb:${recording.region}:${recording.account}:table/orders`].sort());
  });

  it('keeps Lambda aliases as state: UpdateAlias needs the current RevisionId and moves what GetAlias reads', async () => {
    const lambda = client(LambdaClient, fake);
    const alias = await lambda.send(new GetAliasCommand({ FunctionName: 'checkout', Name: 'live' }));
    expect(alias).toMatchObject({ FunctionVersion: recordedAlias.FunctionVersion, RevisionId: recordedAlias.RevisionId });
    expect(await named(lambda.send(new UpdateAliasCommand({ FunctionName: 'checkout', Name: 'live', FunctionVersion: OLD_VERSION, RevisionId: 'stale' })))).toBe('PreconditionFailedException');
    await lambda.send(new UpdateAliasCommand({ FunctionName: fn('checkout'), Name: 'live', FunctionVersion: OLD_VERSION, RevisionId: alias.RevisionId }));
    expect((await lambda.send(new GetAliasCommand({ FunctionName: 'checkout', Name: 'live' }))).FunctionVersion).toBe(OLD_VERSION);
    expect(await named(lambda.send(new GetAliasCommand({ FunctionName: 'checkout', Name: 'canary' })))).toBe('ResourceNotFoundException');
  });

  it('answers what it does not serve with UnknownOperationException, and lists the call', async () => {
    expect(await named(client(ECSClient, fake).send(new DescribeServicesCommand({ cluster: 'prod', services: ['checkout'] })))).toBe('UnknownOperationException');
    expect(fake.calls().at(-1)).toMatchObject({ service: 'ecs', operation: 'DescribeServices', error: expect.stringContaining('UnknownOperationException') });
  });

  it('sends the recorded alarm with its times shifted, and refuses a recording with data after its end, naming the field', () => {
    const alarm = fake.alarmEvent() as { detail: { state: { timestamp: string } } };
    expect(Date.parse(alarm.detail.state.timestamp)).toBe(later(parseIsoTime(recording.alarm.detail.state.timestamp)));
    const bad = JSON.parse(readFileSync(FILE, 'utf8')) as AwsRecording;
    const results = bad.responses.cloudwatch!.GetMetricData[0]!.response.MetricDataResults[0]!;
    (results.Timestamps as string[])[0] = '2099-01-01T00:00:00Z';
    expect(() => parseAwsRecording(bad, 'bad.json')).toThrow(InvalidAwsRecording);
    expect(() => parseAwsRecording(bad, 'bad.json')).toThrow(/bad\.json.*responses\.cloudwatch\.GetMetricData\.0\.response\.MetricDataResults\.0\.Timestamps\.0: 2099-01-01T00:00:00Z is after recordedUntil/);
  });
});

// ───────────────────────── 2. the changes and actions adapters against the fake ─────────────────────────

describe('the AWS changes and actions adapters against the recorded account', () => {
  let fake: AwsAccountFake;
  let changes: ChangeRequest[];
  beforeAll(async () => {
    fake = await startAwsAccount(recording, { pageSizes: { LookupEvents: 3 } });
    const directory = new AwsServiceDirectory({ tagKey: 'service' }, { tagging: client(ResourceGroupsTaggingAPIClient, fake), ssm: client(SSMClient, fake) });
    const adapter = new AwsChanges({
      directory,
      history: { searchIncidents: async () => [], recordIncident: async () => undefined },
      clients: { cloudtrail: client(CloudTrailClient, fake), codedeploy: client(CodeDeployClient, fake), ssm: client(SSMClient, fake) },
      lookupIntervalMs: 0,
    });
    const now = fake.anchor.getTime();
    changes = await adapter.listChanges({ runId: 'r1', from: new Date(now - 6 * 60 * MINUTE).toISOString(), to: new Date(now).toISOString(), services: ['checkout'] });
    expect(partialGapsOf(changes)).toEqual([]);
  });
  afterAll(() => fake?.stop());

  it('reads the UpdateAlias as a change to the alias, old → new version found by looking back in CloudTrail', () => {
    const change = changes.find((c) => c.id === ALIAS_CHANGE);
    expect(change).toMatchObject({
      service: 'checkout',
      type: 'deploy',
      state: 'implemented',
      version: { from: OLD_VERSION, to: NEW_VERSION },
      resource: { type: 'AWS::Lambda::Alias', arn: `${fn('checkout')}:live`, identifiers: { functionName: 'checkout', alias: 'live' } },
    });
    expect(Date.parse(change!.deployedAt)).toBe(parseIsoTime(aliasMove.EventTime) + fake.offsetMs);
    // The look-back by event name, beyond the window's ReadOnly=false stream.
    expect(fake.calls().some((c) => c.operation === 'LookupEvents' && JSON.stringify(c.input.LookupAttributes).includes('EventName'))).toBe(true);
  });

  it('rolls the alias back as the planner asks: GetAlias, then UpdateAlias to the old version with the read RevisionId; a second run does nothing', async () => {
    const change = changes.find((c) => c.id === ALIAS_CHANGE)!;
    // As plan.ts builds a rollback-change from a change.
    const action: MitigationAction = {
      kind: 'rollback-change',
      service: change.service,
      target: change.id,
      params: { fromVersion: change.version!.to, toVersion: change.version!.from, resource: change.resource },
      description: `Roll back ${change.id}`,
      risk: 'low',
      reversible: true,
      evidenceIds: [],
    };
    const actions = new AwsActions({ resources: [fn('checkout'), `${fn('checkout')}:*`], clients: { lambda: client(LambdaClient, fake) } });
    const before = fake.calls().length;
    const first = await actions.execute({ incidentId: 'inc-1', action });
    expect(first.status).toBe('succeeded');
    const lambdaCalls = fake.calls().slice(before).filter((c) => c.service === 'lambda');
    expect(lambdaCalls.map((c) => c.operation)).toEqual(['GetAlias', 'UpdateAlias']);
    expect(lambdaCalls[1]!.input).toMatchObject({ FunctionName: 'checkout', Name: 'live', FunctionVersion: OLD_VERSION, RevisionId: recordedAlias.RevisionId });
    const again = await actions.execute({ incidentId: 'inc-1', action });
    expect(again).toMatchObject({ status: 'succeeded', detail: expect.stringContaining(`already at version ${OLD_VERSION}`) });
    expect(fake.calls().filter((c) => c.operation === 'UpdateAlias')).toHaveLength(1);
  });
});

// ───────────────────────── 3. the whole workflow on the twin ─────────────────────────

type Evidence = { id: string; kind: string; summary: string; data?: unknown };

describe('twin with TOOLS_DEFAULT=aws on the recorded account', () => {
  let fake: AwsAccountFake;
  let twin: Twin;
  let view: IncidentView;
  let status: string;
  const evidenceOf = (agent: string) => ((view.agents?.[agent] as { evidence?: Evidence[] } | undefined)?.evidence ?? []);
  const outputOf = <T>(agent: string) => view.agents?.[agent]?.output as T;

  beforeAll(async () => {
    fake = await startAwsAccount(recording);
    twin = await startTwin({
      inMemory: true,
      waitOverrideMs: 0,
      maxVerifyChecks: 2,
      tools: 'aws',
      awsEndpoint: fake.endpoint,
      // The account's own settings (the roster parameter), and the operator's allow-list for rollbacks.
      toolsEnvironment: { ...fake.configuration(), AWS_ACTIONS_RESOURCES: `${fn('checkout')},${fn('checkout')}:*` },
    });
    const api = new ApiClient(twin.url, twin.secret);
    const watcher = new ApprovalWatcher(twin);
    try {
      const { body: accepted } = await api.sendAlert('cloudwatch', fake.alarmEvent());
      await decideWhenRequested(twin, watcher, api, accepted, 'approve', 'aws-account-test');
      status = (await twin.waitForExecution(accepted.executionArn ?? accepted.incidentId, 120_000)).status;
      view = await api.getIncident(accepted.incidentId);
    } finally {
      watcher.stop();
    }
  }, 150_000);
  afterAll(async () => {
    await twin?.stop();
    await fake?.stop();
  });

  it('refuses tools: aws without an account to talk to', async () => {
    await expect(startTwin({ inMemory: true, tools: 'aws' })).rejects.toThrow(TwinOptionInvalid);
  });

  it('runs the incident to the end, every agent answered by the account (no gap anywhere, no call refused)', () => {
    expect(status).toBe('SUCCEEDED');
    expect(['RESOLVED', 'ESCALATED']).toContain(view.incident.status);
    expect(view.incident.service).toBe('checkout');
    for (const agent of ['impact', 'logs', 'triage', 'similar', 'rootcause']) expect(evidenceOf(agent).filter((e) => e.kind === 'gap').map((e) => `${e.id}: ${e.summary}`), agent).toEqual([]);
    expect(fake.calls().filter((c) => c.error)).toEqual([]);
    const used = new Set(fake.calls().map((c) => `${c.service}:${c.operation}`));
    for (const op of ['xray:GetServiceGraph', 'xray:GetTimeSeriesServiceStatistics', 'xray:GetTraceSummaries', 'xray:BatchGetTraces', 'cloudwatch:GetMetricData', 'logs:StartQuery', 'logs:GetQueryResults', 'cloudtrail:LookupEvents', 'codedeploy:ListDeployments', 'tagging:GetResources', 'ssm:GetParameter']) expect(used, op).toContain(op);
  });

  it('the impact agent read X-Ray and CloudWatch series and found checkout failing after the alias moved', () => {
    const impact = evidenceOf('impact');
    expect(impact.map((e) => e.id)).toEqual(expect.arrayContaining(['metric:checkout:error_rate_pct', 'metric:checkout:lambda_errors', 'metric:orders_AWS::DynamoDB::Table:throttle_rate_pct', 'metric:orders_AWS::DynamoDB::Table:dynamodb_latency_ms']));
    const anomalies = outputOf<{ anomalies: { service: string; metric: string; onset?: string }[] }>('impact').anomalies;
    const errors = anomalies.find((a) => a.service === 'checkout' && a.metric === 'error_rate_pct');
    expect(errors).toBeDefined();
    expect(Date.parse(errors!.onset!)).toBeGreaterThanOrEqual(parseIsoTime(aliasMove.EventTime) + fake.offsetMs - MINUTE);
  });

  it('on-call and ownership come from the tags and the SSM roster; the logs agent mined the new version\'s errors', () => {
    expect(evidenceOf('triage').find((e) => e.id === 'oncall:checkout')?.summary).toContain('Priya Raman');
    expect(evidenceOf('triage').find((e) => e.id === 'ownership:checkout')?.summary).toContain('payments');
    expect(evidenceOf('logs').some((e) => e.id.startsWith('log-template:checkout:') && e.summary.includes('ProvisionedThroughputExceededException'))).toBe(true);
  });

  it('the root-cause agent saw the UpdateAlias as a change with its resource and versions, and names checkout', () => {
    const change = evidenceOf('rootcause').find((e) => e.id === `change:${ALIAS_CHANGE}`);
    expect(change?.data).toMatchObject({ service: 'checkout', version: { from: OLD_VERSION, to: NEW_VERSION }, resource: { type: 'AWS::Lambda::Alias', arn: `${fn('checkout')}:live` } });
    const { rootCauses } = outputOf<{ rootCauses: { service: string; changeId?: string; confidence: number }[] }>('rootcause');
    expect(rootCauses[0]!.service).toBe('checkout');
    // The alias move is among the hypotheses kept (see the report: with the code publish 34 s before it, the two tie).
    expect(rootCauses.slice(0, 3).map((h) => h.changeId)).toContain(ALIAS_CHANGE);
  });

  it('acts on the alias only through the typed rollback the plan chose: GetAlias, then UpdateAlias back to the old version', () => {
    const plan = outputOf<{ immediate: { kind: string; target?: string }[] }>('plan');
    const rollsBackAlias = plan.immediate.some((a) => a.kind === 'rollback-change' && a.target === ALIAS_CHANGE);
    const lambda = fake.calls().filter((c) => c.service === 'lambda');
    if (rollsBackAlias) {
      expect(lambda.slice(0, 2).map((c) => c.operation)).toEqual(['GetAlias', 'UpdateAlias']);
      expect(lambda[1]!.input).toMatchObject({ FunctionVersion: OLD_VERSION, RevisionId: recordedAlias.RevisionId });
    } else {
      // No rollback of the alias was planned: the account's Lambda was never touched.
      expect(lambda).toEqual([]);
      expect(view.incident.status).toBe('ESCALATED');
    }
  });
});
