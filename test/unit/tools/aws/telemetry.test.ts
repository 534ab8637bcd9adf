/**
 * The AWS telemetry adapter (functions/core/tools/aws/telemetry.ts) against the API references' response shapes:
 * X-Ray GetServiceGraph (Services[].ReferenceId / Name / Names / Type / Edges[].ReferenceId, NextToken) → nodes,
 * tiers and calls named by the shared convention; GetTimeSeriesServiceStatistics (Timestamp,
 * ServiceSummaryStatistics{OkCount, ErrorStatistics, FaultStatistics, TotalCount, TotalResponseTime},
 * ResponseTimeHistogram[{Value, Count}]) → every X-Ray metric, percentiles and gaps; CloudWatch GetMetricData
 * (MetricDataResults[].Id / Timestamps / Values / StatusCode / Messages, NextToken) batched by 500 and paged;
 * GetTraceSummaries + BatchGetTraces (segment documents with subsegments) → traces; throttling retried by the SDK's
 * own strategy (a fake HTTP handler, so the real middleware runs); partial failure listed, total failure
 * ToolUnavailable naming the API.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { CloudWatchClient, GetMetricDataCommand, type GetMetricDataCommandInput, type MetricDataQuery, type MetricDataResult } from '@aws-sdk/client-cloudwatch';
import { BatchGetTracesCommand, GetServiceGraphCommand, GetTimeSeriesServiceStatisticsCommand, GetTraceSummariesCommand, type Service, type TimeSeriesServiceStatistics, XRayClient } from '@aws-sdk/client-xray';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../functions/core/config.ts';
import { adapterRow, parseSettings } from '../../../../functions/core/tools/adapters.ts';
import { toolsRuntime } from '../../../../functions/core/tools/runtime.ts';
import { type AwsTelemetryOptions, AwsTelemetry, gapsOf, histogramPercentile, MAX_QUERIES_PER_CALL, XRAY_METRIC_NAMES } from '../../../../functions/core/tools/aws/telemetry.ts';
import { parseArn, type ServiceDirectory, type ServiceResources } from '../../../../functions/core/tools/aws/resources.ts';
import { parseXrayNodeName, xrayNodeName, xrayTier } from '../../../../functions/core/tools/aws/xray-names.ts';
import { type MetricSeries, ToolUnavailable } from '../../../../functions/core/tools/ports.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const ACCOUNT = '111122223333';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const at = (hhmm: string) => new Date(`2026-03-01T${hhmm}:00Z`);
const iso = (hhmm: string) => at(hhmm).toISOString();

type Entry = Partial<Pick<ServiceResources, 'xrayNames' | 'gap'>> & { readonly arns?: readonly string[] };
/** A directory answering from a fixed map (what H3's directory resolves, without tags). */
const directory = (entries: Readonly<Record<string, Entry>> = {}, failWith?: Error): ServiceDirectory & { calls: string[][] } => {
  const calls: string[][] = [];
  return {
    calls,
    async resolve(q) {
      calls.push([...q.services]);
      if (failWith) throw failWith;
      return q.services.map((service) => ({
        service,
        xrayNames: entries[service]?.xrayNames ?? [service],
        resources: (entries[service]?.arns ?? []).map(parseArn),
        logGroups: [],
        tags: {},
        ...(entries[service]?.gap ? { gap: entries[service]!.gap } : {}),
      }));
    },
    async serviceOf() {
      return undefined;
    },
  };
};

const setup = (options: Partial<AwsTelemetryOptions> = {}) => {
  const xray = new XRayClient({ region: 'us-west-2', credentials: CREDENTIALS });
  const cloudwatch = new CloudWatchClient({ region: 'us-west-2', credentials: CREDENTIALS });
  const xm = mockClient(xray);
  const cm = mockClient(cloudwatch);
  const telemetry = new AwsTelemetry({ xray, cloudwatch, directory: directory(), clock: () => NOW, ...options });
  return { xray, cloudwatch, xm, cm, telemetry };
};

const sdkError = (name: string, status: number, attempts = 3) => Object.assign(new Error(name === 'AccessDeniedException' ? 'User is not authorized' : 'Rate exceeded'), { name, $metadata: { httpStatusCode: status, attempts }, $fault: status >= 500 ? 'server' : 'client' });

// ───────────────────────── the service graph ─────────────────────────

const svc = (ref: number, name: string, type: string | undefined, calls: readonly number[] = []): Service => ({
  ReferenceId: ref,
  Name: name,
  Names: [name],
  ...(type ? { Type: type } : {}),
  AccountId: ACCOUNT,
  State: 'active',
  Root: type === 'client',
  Edges: calls.map((r) => ({ ReferenceId: r })),
});
const QUEUE_URL = `https://sqs.us-west-2.amazonaws.com/${ACCOUNT}/sqspetadoption`;
const DB = 'adoptions@services-db.cluster-c1x2y3.us-west-2.rds.amazonaws.com';
/** A PetShop-shaped graph plus a Lambda service behind an API stage. */
const GRAPH: Service[] = [
  svc(0, 'PetSite', 'client', [1]),
  svc(1, 'PetSite', undefined, [2, 4]),
  svc(2, 'PetSearch', 'AWS::ECS::Fargate', [3]),
  svc(3, 'petInfo', 'AWS::DynamoDB::Table'),
  svc(4, 'payforadoption', 'AWS::ECS::Container', [5, 6, 7, 8]),
  svc(5, QUEUE_URL, 'AWS::SQS::Queue'),
  svc(6, 'amazon.com', 'remote'),
  svc(7, DB, 'Database::SQL'),
  svc(8, 'STS', 'AWS::STS'),
  svc(9, 'shop/prod', 'AWS::ApiGateway::Stage', [10]),
  svc(10, 'checkout-fn', 'AWS::Lambda', [11]),
  svc(11, 'checkout-fn', 'AWS::Lambda::Function', [12]),
  svc(12, 'orders', 'AWS::DynamoDB::Table'),
];
/** Two pages: the second holds nodes the first one's edges point to. */
const serveGraph = (xm: ReturnType<typeof setup>['xm'], graph: readonly Service[] = GRAPH) =>
  xm.on(GetServiceGraphCommand).callsFake((input: { NextToken?: string }) => (input.NextToken === 'page-2' ? { Services: graph.slice(7) } : { Services: graph.slice(0, 7), NextToken: 'page-2' }));

const byName = <T extends { name: string }>(nodes: readonly T[]) => Object.fromEntries(nodes.map((n) => [n.name, n]));

describe('node naming', () => {
  it.each([
    ['PetSearch', 'AWS::ECS::Fargate', 'PetSearch_AWS::ECS::Fargate'],
    ['petInfo', 'AWS::DynamoDB::Table', 'petInfo_AWS::DynamoDB::Table'],
    ['amazon.com', 'remote', 'amazon.com_remote'],
    ['PetSite', 'client', 'PetSite_client'],
    ['PetSite', undefined, 'PetSite'],
    ['lambda_step_readDDB', 'AWS::Lambda::Function', 'lambda_step_readDDB_AWS::Lambda::Function'],
    ['', 'AWS::StepFunctions::StateMachine', 'AWS::StepFunctions::StateMachine'],
  ])('%s + %s ⇄ %s', (name, type, full) => {
    expect(xrayNodeName(name, type)).toBe(full);
    expect(parseXrayNodeName(full)).toEqual(type ? { name, type } : { name });
  });
});

/** The PetShop dataset's graphs (real X-Ray node names), where this machine has them. */
const PETSHOP = resolve(process.cwd(), '../shared/data/petshop');
const petshopNames = (): string[] => {
  const names = new Set<string>();
  for (const d of readdirSync(PETSHOP, { withFileTypes: true })) {
    const graph = join(PETSHOP, d.name, 'graph.csv');
    if (d.isDirectory() && existsSync(graph)) for (const n of readFileSync(graph, 'utf8').split('\n')[0]!.split(',').slice(1)) if (n.trim()) names.add(n.trim());
  }
  return [...names];
};

describe.skipIf(!existsSync(PETSHOP))('node naming on PetShop (../shared/data/petshop; skipped where absent)', () => {
  it('every node name of every scenario graph splits into an X-Ray name and type and back', () => {
    const names = petshopNames();
    expect(names.length).toBeGreaterThan(40);
    for (const n of names) {
      const { name, type } = parseXrayNodeName(n);
      expect(xrayNodeName(name, type), n).toBe(n);
    }
    const tier = (n: string) => xrayTier(parseXrayNodeName(n).type);
    expect([tier('petInfo_AWS::DynamoDB::Table'), tier('PetSearch_client'), tier('amazon.com_remote'), tier('PetSite'), tier('STS_AWS::STS')]).toEqual(['database', 'frontend', 'external', 'backend', 'external']);
  });
});

describe('getTopology', () => {
  it('names every node of every page by the convention, tiers it from its type, and follows its edges', async () => {
    const { xm, telemetry } = setup();
    serveGraph(xm);
    const nodes = byName(await telemetry.getTopology({}));
    expect(Object.keys(nodes).sort()).toEqual(GRAPH.map((s) => xrayNodeName(s.Name!, s.Type)).sort());
    expect(nodes['PetSite_client']).toEqual({ name: 'PetSite_client', tier: 'frontend', calls: ['PetSite'] });
    expect(nodes['PetSite']).toEqual({ name: 'PetSite', tier: 'backend', calls: ['PetSearch_AWS::ECS::Fargate', 'payforadoption_AWS::ECS::Container'] });
    expect(nodes['payforadoption_AWS::ECS::Container']!.calls).toEqual([`${QUEUE_URL}_AWS::SQS::Queue`, 'amazon.com_remote', `${DB}_Database::SQL`, 'STS_AWS::STS']);
    const tiers = Object.fromEntries(Object.values(nodes).map((n) => [n.name, n.tier]));
    expect(tiers).toMatchObject({
      'petInfo_AWS::DynamoDB::Table': 'database',
      [`${QUEUE_URL}_AWS::SQS::Queue`]: 'queue',
      'amazon.com_remote': 'external',
      [`${DB}_Database::SQL`]: 'database',
      'STS_AWS::STS': 'external',
      'shop/prod_AWS::ApiGateway::Stage': 'frontend',
      'checkout-fn_AWS::Lambda': 'backend',
      'checkout-fn_AWS::Lambda::Function': 'backend',
    });
    const calls = xm.commandCalls(GetServiceGraphCommand);
    expect(calls).toHaveLength(2);
    expect(calls[0]!.args[0].input).toMatchObject({ StartTime: new Date(NOW.getTime() - 60 * 60_000), EndTime: NOW });
  });

  it('for services asked for: everything they reach and everything reaching them, not their siblings', async () => {
    const { xm, telemetry } = setup();
    serveGraph(xm);
    const nodes = await telemetry.getTopology({ services: ['PetSearch_AWS::ECS::Fargate'] });
    expect(nodes.map((n) => n.name).sort()).toEqual(['PetSearch_AWS::ECS::Fargate', 'PetSite', 'PetSite_client', 'petInfo_AWS::DynamoDB::Table']);
    expect(gapsOf(nodes)).toEqual([]);
    // One service of two unknown: the other's part, and the unknown one listed.
    const some = await telemetry.getTopology({ services: ['PetSearch_AWS::ECS::Fargate', 'billing'] });
    expect(some).toHaveLength(4);
    expect(gapsOf(some)).toEqual([{ api: 'mapping', service: 'billing', reason: 'no node of the service graph (the last 60 min to 2026-03-01T12:00:00.000Z) is billing' }]);
  });

  it("reports a service the alert names under the alert's name: its entry node, found through the directory's xrayNames", async () => {
    const { xm, telemetry } = setup({ directory: directory({ checkout: { xrayNames: ['checkout-fn'] } }) });
    serveGraph(xm);
    const nodes = byName(await telemetry.getTopology({ services: ['checkout'] }));
    expect(nodes['checkout']).toEqual({ name: 'checkout', tier: 'backend', calls: ['checkout-fn_AWS::Lambda::Function'] });
    expect(nodes['shop/prod_AWS::ApiGateway::Stage']!.calls).toEqual(['checkout']);
    expect(nodes['checkout-fn_AWS::Lambda::Function']!.calls).toEqual(['orders_AWS::DynamoDB::Table']);
    expect(nodes['checkout-fn_AWS::Lambda']).toBeUndefined();
  });

  it('a plain X-Ray name matches the node of that Name, never its client node', async () => {
    const { xm, telemetry } = setup();
    serveGraph(xm);
    const nodes = byName(await telemetry.getTopology({ services: ['PetSearch'] }));
    expect(nodes['PetSearch']).toMatchObject({ tier: 'backend', calls: ['petInfo_AWS::DynamoDB::Table'] });
    expect(nodes['PetSite']!.calls).toContain('PetSearch');
  });

  it('no node for the service is ToolUnavailable saying what was tried, not an empty topology', async () => {
    const { xm, telemetry } = setup();
    serveGraph(xm);
    const error = await telemetry.getTopology({ services: ['billing'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolUnavailable);
    expect((error as Error).message).toMatch(/no node of the service graph \(the last 60 min to 2026-03-01T12:00:00.000Z, 13 nodes\) is billing: tried billing \(as billing\)/);
  });

  it('a failing directory is tolerated while the services are found by name, and named when they are not', async () => {
    const { xm, telemetry } = setup({ directory: directory({}, new Error('tag:GetResources: ThrottlingException')) });
    serveGraph(xm);
    expect((await telemetry.getTopology({ services: ['PetSearch_AWS::ECS::Fargate'] })).length).toBe(4);
    await expect(telemetry.getTopology({ services: ['checkout'] })).rejects.toThrow(/checkout.*the service directory failed: Error: tag:GetResources: ThrottlingException/);
  });

  it('reads the graph once per agent run, and keeps a bounded number of runs', async () => {
    const { xm, telemetry } = setup({ cachedRuns: 2 });
    serveGraph(xm);
    const pagesRead = () => xm.commandCalls(GetServiceGraphCommand).length;
    await telemetry.getTopology({ runId: 'r1' });
    await telemetry.getTopology({ runId: 'r1', services: ['PetSite'] });
    expect(pagesRead()).toBe(2);
    await telemetry.getTopology({ runId: 'r2' });
    await telemetry.getTopology({ runId: 'r3' });
    expect(pagesRead()).toBe(6);
    await telemetry.getTopology({ runId: 'r3' });
    expect(pagesRead()).toBe(6);
    await telemetry.getTopology({ runId: 'r1' }); // evicted by r3
    expect(pagesRead()).toBe(8);
    await telemetry.getTopology({});
    expect(pagesRead()).toBe(10); // no run: never cached
  });

  it('a failed read is not cached, and access denied is ToolUnavailable naming the API and the permission', async () => {
    const { xm, telemetry } = setup();
    xm.on(GetServiceGraphCommand).rejectsOnce(sdkError('AccessDeniedException', 403, 1)).resolves({ Services: GRAPH });
    const error = await telemetry.getTopology({ runId: 'r' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolUnavailable);
    expect((error as ToolUnavailable).reason).toBe("GetServiceGraph failed: AccessDeniedException: User is not authorized (access denied: the function's role needs xray:GetServiceGraph)");
    expect(await telemetry.getTopology({ runId: 'r' })).toHaveLength(GRAPH.length);
  });
});

describe('throttling, through the SDK retry strategy (a fake HTTP handler: the real middleware runs)', () => {
  /** Answers each request with the next response (X-Ray speaks restJson1: errors in x-amzn-errortype). */
  const handler = (responses: readonly { status: number; body: unknown; error?: string }[]) => {
    const requests: string[] = [];
    return {
      requests,
      handle: async (request: { path?: string }) => {
        requests.push(request.path ?? '');
        const r = responses[Math.min(requests.length - 1, responses.length - 1)]!;
        const headers: Record<string, string> = { 'content-type': 'application/json', ...(r.error ? { 'x-amzn-errortype': r.error } : {}) };
        return { response: { statusCode: r.status, headers, body: Readable.from([Buffer.from(JSON.stringify(r.body))]) } };
      },
    };
  };
  const throttled = { status: 429, error: 'ThrottledException', body: { message: 'Rate exceeded' } };
  const telemetryOver = (h: ReturnType<typeof handler>, maxAttempts: number) =>
    new AwsTelemetry({
      xray: new XRayClient({ region: 'us-west-2', credentials: CREDENTIALS, maxAttempts, retryMode: 'standard', requestHandler: h }),
      cloudwatch: new CloudWatchClient({ region: 'us-west-2', credentials: CREDENTIALS }),
      directory: directory(),
      clock: () => NOW,
    });

  it('a throttled GetServiceGraph is retried and then answers', async () => {
    const h = handler([throttled, { status: 200, body: { Services: GRAPH.slice(0, 4) } }]);
    const nodes = await telemetryOver(h, 3).getTopology({});
    expect(h.requests).toEqual(['/ServiceGraph', '/ServiceGraph']);
    expect(nodes.map((n) => n.name).sort()).toEqual(['PetSearch_AWS::ECS::Fargate', 'PetSite', 'PetSite_client', 'petInfo_AWS::DynamoDB::Table']);
  });

  it('throttling that outlasts the retries is ToolUnavailable naming the API and the attempts', async () => {
    const h = handler([throttled]);
    const error = await telemetryOver(h, 2).getTopology({}).catch((e: unknown) => e);
    expect(h.requests).toHaveLength(2);
    expect(error).toBeInstanceOf(ToolUnavailable);
    expect((error as ToolUnavailable).message).toBe('AWS X-Ray unavailable: GetServiceGraph failed: ThrottledException: Rate exceeded (throttled or unavailable after 2 attempts)');
  });
});

// ───────────────────────── X-Ray statistics ─────────────────────────

interface Counts {
  readonly total: number;
  readonly errors?: number;
  readonly throttles?: number;
  readonly faults?: number;
  readonly responseTime?: number;
  readonly histogram?: readonly (readonly [number, number])[];
}
const stat = (hhmm: string, c: Counts): TimeSeriesServiceStatistics => ({
  Timestamp: at(hhmm),
  ServiceSummaryStatistics: {
    OkCount: c.total - (c.errors ?? 0) - (c.faults ?? 0),
    ErrorStatistics: { ThrottleCount: c.throttles ?? 0, OtherCount: (c.errors ?? 0) - (c.throttles ?? 0), TotalCount: c.errors ?? 0 },
    FaultStatistics: { OtherCount: c.faults ?? 0, TotalCount: c.faults ?? 0 },
    TotalCount: c.total,
    TotalResponseTime: c.responseTime ?? 0,
  },
  ResponseTimeHistogram: (c.histogram ?? []).map(([Value, Count]) => ({ Value, Count })),
});
const seriesOf = (series: readonly MetricSeries[], service: string, metric: string) => series.find((s) => s.service === service && s.metric === metric)?.points;

describe('histogramPercentile', () => {
  it('takes the nearest rank over the buckets, in value order', () => {
    const h = new Map([
      [1.0, 4],
      [0.05, 50],
      [2.0, 1],
      [0.1, 40],
      [0.5, 5],
    ]);
    expect([0.5, 0.9, 0.95, 0.99, 1].map((p) => histogramPercentile(h, p))).toEqual([0.05, 0.1, 0.5, 1.0, 2.0]);
    expect(histogramPercentile(new Map(), 0.99)).toBeUndefined();
  });
});

describe('queryMetrics: X-Ray service statistics', () => {
  const PETSEARCH = 'PetSearch_AWS::ECS::Fargate';
  const minute1 = { total: 100, errors: 4, throttles: 1, faults: 2, responseTime: 12.5, histogram: [[0.05, 50], [0.1, 40], [0.5, 5], [1.0, 4], [2.0, 1]] } as const;

  it('reads every metric of a node: average and percentile latency, error / fault / throttle rates, throughput; a missing period is a gap', async () => {
    const { xm, cm, telemetry } = setup();
    serveGraph(xm);
    xm.on(GetTimeSeriesServiceStatisticsCommand).resolves({
      TimeSeriesServiceStatistics: [
        stat('11:00', minute1),
        stat('11:01', { total: 30, faults: 3, responseTime: 3, histogram: [[0.1, 30]] }),
        // 11:02: no entry at all (a gap); 11:03: an entry with no requests
        stat('11:03', { total: 0 }),
      ],
    });
    const series = await telemetry.queryMetrics({ services: [PETSEARCH], from: iso('11:00'), to: iso('11:04'), resolutionSeconds: 60 });
    expect(series.map((s) => s.metric).sort()).toEqual([...XRAY_METRIC_NAMES].sort());
    expect(seriesOf(series, PETSEARCH, 'latency_avg_ms')).toEqual([
      { t: iso('11:00'), v: 125 },
      { t: iso('11:01'), v: 100 },
    ]);
    expect(seriesOf(series, PETSEARCH, 'latency_p50_ms')).toEqual([{ t: iso('11:00'), v: 50 }, { t: iso('11:01'), v: 100 }]);
    expect(seriesOf(series, PETSEARCH, 'latency_p90_ms')![0]!.v).toBe(100);
    expect(seriesOf(series, PETSEARCH, 'latency_p95_ms')![0]!.v).toBe(500);
    expect(seriesOf(series, PETSEARCH, 'latency_p99_ms')![0]!.v).toBe(1000);
    expect(seriesOf(series, PETSEARCH, 'error_rate_pct')).toEqual([{ t: iso('11:00'), v: 6 }, { t: iso('11:01'), v: 10 }]);
    expect(seriesOf(series, PETSEARCH, 'fault_rate_pct')).toEqual([{ t: iso('11:00'), v: 2 }, { t: iso('11:01'), v: 10 }]);
    expect(seriesOf(series, PETSEARCH, 'throttle_rate_pct')).toEqual([{ t: iso('11:00'), v: 1 }, { t: iso('11:01'), v: 0 }]);
    expect(seriesOf(series, PETSEARCH, 'throughput_rps')).toEqual([{ t: iso('11:00'), v: 100 / 60 }, { t: iso('11:01'), v: 0.5 }, { t: iso('11:03'), v: 0 }]);
    expect(xm.commandCalls(GetTimeSeriesServiceStatisticsCommand)[0]!.args[0].input).toEqual({
      StartTime: at('11:00'),
      EndTime: at('11:04'),
      Period: 60,
      EntitySelectorExpression: 'service(id(name: "PetSearch", type: "AWS::ECS::Fargate"))',
    });
    expect(cm.commandCalls(GetMetricDataCommand)).toHaveLength(0); // ECS service without its ARN: no CloudWatch target
    expect(gapsOf(series)).toEqual([]);
  });

  it('reads at 300 s and sums into a 10-minute period; a 90 s request reads at 60 s, CloudWatch at 120 s', async () => {
    const { xm, telemetry } = setup();
    serveGraph(xm);
    xm.on(GetTimeSeriesServiceStatisticsCommand).resolves({
      TimeSeriesServiceStatistics: [stat('11:00', { total: 60, faults: 6, responseTime: 6, histogram: [[0.1, 60]] }), stat('11:05', { total: 40, responseTime: 14, histogram: [[0.35, 40]] }), stat('11:10', { total: 10, responseTime: 1 })],
    });
    const series = await telemetry.queryMetrics({ services: [PETSEARCH], metrics: ['latency_avg_ms', 'fault_rate_pct', 'throughput_rps', 'latency_p50_ms'], from: iso('11:00'), to: iso('11:20'), resolutionSeconds: 600 });
    expect(xm.commandCalls(GetTimeSeriesServiceStatisticsCommand)[0]!.args[0].input.Period).toBe(300);
    expect(seriesOf(series, PETSEARCH, 'throughput_rps')).toEqual([{ t: iso('11:00'), v: 100 / 600 }, { t: iso('11:10'), v: 10 / 600 }]);
    expect(seriesOf(series, PETSEARCH, 'latency_avg_ms')).toEqual([{ t: iso('11:00'), v: 200 }, { t: iso('11:10'), v: 100 }]);
    expect(seriesOf(series, PETSEARCH, 'fault_rate_pct')![0]!.v).toBe(6);
    expect(seriesOf(series, PETSEARCH, 'latency_p50_ms')).toEqual([{ t: iso('11:00'), v: 100 }]);
    expect(series.map((s) => s.metric).sort()).toEqual(['fault_rate_pct', 'latency_avg_ms', 'latency_p50_ms', 'throughput_rps']);

    xm.on(GetTimeSeriesServiceStatisticsCommand).resolves({ TimeSeriesServiceStatistics: [] });
    await telemetry.queryMetrics({ services: [PETSEARCH], metrics: ['latency_avg_ms'], from: iso('11:00'), to: iso('11:20'), resolutionSeconds: 90 });
    expect(xm.commandCalls(GetTimeSeriesServiceStatisticsCommand)[1]!.args[0].input.Period).toBe(60);
  });

  it("reads an alert's service at its entry node and returns it under the alert's name", async () => {
    const { xm, telemetry } = setup({ directory: directory({ checkout: { xrayNames: ['checkout-fn'] } }) });
    serveGraph(xm);
    xm.on(GetTimeSeriesServiceStatisticsCommand).resolves({ TimeSeriesServiceStatistics: [stat('11:00', { total: 10, responseTime: 1 })] });
    const series = await telemetry.queryMetrics({ services: ['checkout'], metrics: ['latency_avg_ms'], from: iso('11:00'), to: iso('11:01') });
    expect(series).toEqual([{ service: 'checkout', metric: 'latency_avg_ms', unit: 'ms', points: [{ t: iso('11:00'), v: 100 }] }]);
    expect(xm.commandCalls(GetTimeSeriesServiceStatisticsCommand)[0]!.args[0].input.EntitySelectorExpression).toBe('service(id(name: "checkout-fn", type: "AWS::Lambda"))');
  });

  it('one service failing past the retries: the others are returned and the failure is listed; all failing is ToolUnavailable', async () => {
    const { xm, telemetry } = setup();
    serveGraph(xm);
    xm.on(GetTimeSeriesServiceStatisticsCommand, { EntitySelectorExpression: 'service(id(name: "PetSearch", type: "AWS::ECS::Fargate"))' }).resolves({ TimeSeriesServiceStatistics: [stat('11:00', { total: 10, responseTime: 1 })] });
    xm.on(GetTimeSeriesServiceStatisticsCommand, { EntitySelectorExpression: 'service(id(name: "payforadoption", type: "AWS::ECS::Container"))' }).rejects(sdkError('ThrottledException', 429));
    const q = { services: [PETSEARCH, 'payforadoption_AWS::ECS::Container'], metrics: ['latency_avg_ms'], from: iso('11:00'), to: iso('11:01') };
    const series = await telemetry.queryMetrics(q);
    expect(series.map((s) => s.service)).toEqual([PETSEARCH]);
    expect(gapsOf(series)).toEqual([
      { api: 'xray:GetTimeSeriesServiceStatistics', service: 'payforadoption_AWS::ECS::Container', reason: 'GetTimeSeriesServiceStatistics failed: ThrottledException: Rate exceeded (throttled or unavailable after 3 attempts)' },
    ]);

    xm.on(GetTimeSeriesServiceStatisticsCommand).rejects(sdkError('ThrottledException', 429));
    await expect(telemetry.queryMetrics(q)).rejects.toThrow(/AWS X-Ray unavailable: no metric could be read: GetTimeSeriesServiceStatistics failed: ThrottledException/);
  });

  it('a service with no X-Ray node and no resource is ToolUnavailable saying so, never an empty answer', async () => {
    const { xm, telemetry } = setup();
    serveGraph(xm);
    await expect(telemetry.queryMetrics({ services: ['billing'], from: iso('11:00'), to: iso('11:05') })).rejects.toThrow(/no X-Ray node in the service graph \(the last 60 min to .*\) and no mapped AWS resource is known for billing/);
  });

  it('the graph unavailable: a conventional name still says its node, and the gap is listed', async () => {
    const { xm, telemetry } = setup();
    xm.on(GetServiceGraphCommand).rejects(sdkError('ThrottledException', 429));
    xm.on(GetTimeSeriesServiceStatisticsCommand).resolves({ TimeSeriesServiceStatistics: [stat('11:00', { total: 10, responseTime: 1 })] });
    const series = await telemetry.queryMetrics({ services: [PETSEARCH], metrics: ['latency_avg_ms'], from: iso('11:00'), to: iso('11:01') });
    expect(series).toHaveLength(1);
    expect(gapsOf(series)[0]).toMatchObject({ api: 'xray:GetServiceGraph', reason: expect.stringMatching(/^GetServiceGraph failed: ThrottledException/) });
  });
});

// ───────────────────────── CloudWatch ─────────────────────────

type Points = readonly (readonly [string, number])[];
const dims = (q: MetricDataQuery) => Object.fromEntries((q.MetricStat?.Metric?.Dimensions ?? []).map((d) => [d.Name, d.Value]));
/** Answers every query of a GetMetricData call from `valueOf` (undefined: no datapoints), Complete. */
const answer = (valueOf: (q: MetricDataQuery) => Points | undefined) => (input: GetMetricDataCommandInput) => ({
  MetricDataResults: (input.MetricDataQueries ?? []).map(
    (q): MetricDataResult => {
      const points = valueOf(q) ?? [];
      return { Id: q.Id, Label: q.MetricStat?.Metric?.MetricName, Timestamps: points.map(([t]) => at(t)), Values: points.map(([, v]) => v), StatusCode: 'Complete' };
    },
  ),
});
const fn = (name: string) => `arn:aws:lambda:us-west-2:${ACCOUNT}:function:${name}`;
const table = (name: string) => `arn:aws:dynamodb:us-west-2:${ACCOUNT}:table/${name}`;
const queue = (name: string) => `arn:aws:sqs:us-west-2:${ACCOUNT}:${name}`;

describe('queryMetrics: CloudWatch resource metrics', () => {
  it("reads the service's resources through the mapping: per-operation sums, sample-weighted latency, a real zero kept, a gap left out", async () => {
    const { xm, cm, telemetry } = setup({ directory: directory({ checkout: { xrayNames: ['checkout-fn'], arns: [fn('checkout-fn'), table('orders'), queue('orders-events')] } }) });
    serveGraph(xm);
    cm.on(GetMetricDataCommand).callsFake(
      answer((q) => {
        const d = dims(q);
        const name = q.MetricStat!.Metric!.MetricName;
        const stat = q.MetricStat!.Stat;
        if (name === 'Errors') return [['11:00', 0], ['11:01', 3]];
        if (name === 'ThrottledRequests' && d.Operation === 'GetItem') return [['11:00', 2], ['11:01', 1]];
        if (name === 'ThrottledRequests' && d.Operation === 'Query') return [['11:00', 3]];
        if (name === 'SuccessfulRequestLatency' && d.Operation === 'GetItem') return [['11:00', stat === 'SampleCount' ? 100 : 10]];
        if (name === 'SuccessfulRequestLatency' && d.Operation === 'Query') return [['11:00', stat === 'SampleCount' ? 50 : 40]];
        if (name === 'ApproximateNumberOfMessagesVisible') return [['11:00', 7]];
        return undefined;
      }),
    );
    const series = await telemetry.queryMetrics({ services: ['checkout'], metrics: ['lambda_errors', 'dynamodb_throttle_errors', 'dynamodb_latency_ms', 'queue_depth'], from: iso('11:00'), to: iso('11:02'), resolutionSeconds: 60 });
    expect(series).toEqual([
      { service: 'checkout', metric: 'dynamodb_latency_ms', unit: 'ms', points: [{ t: iso('11:00'), v: 20 }] },
      { service: 'checkout', metric: 'dynamodb_throttle_errors', unit: 'count', points: [{ t: iso('11:00'), v: 5 }, { t: iso('11:01'), v: 1 }] },
      { service: 'checkout', metric: 'lambda_errors', unit: 'count', points: [{ t: iso('11:00'), v: 0 }, { t: iso('11:01'), v: 3 }] },
      { service: 'checkout', metric: 'queue_depth', unit: 'messages', points: [{ t: iso('11:00'), v: 7 }] },
    ]);
    expect(gapsOf(series)).toEqual([]);
    expect(xm.commandCalls(GetTimeSeriesServiceStatisticsCommand)).toHaveLength(0); // no X-Ray metric asked for
    const [call] = cm.commandCalls(GetMetricDataCommand);
    const input = call!.args[0].input;
    expect(input).toMatchObject({ StartTime: at('11:00'), EndTime: at('11:02'), ScanBy: 'TimestampAscending' });
    const queries = input.MetricDataQueries!;
    // The Lambda function once (its ARN and its X-Ray nodes name the same function), 10 operations × (throttles +
    // latency + its sample count), the queue.
    expect(queries).toHaveLength(1 + 10 * 3 + 1);
    expect(queries.find((q) => q.MetricStat?.Metric?.MetricName === 'Errors')).toEqual({
      Id: expect.stringMatching(/^q\d+$/),
      MetricStat: { Metric: { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: 'checkout-fn' }] }, Period: 60, Stat: 'Sum' },
      ReturnData: true,
    });
    expect(new Set(queries.map((q) => q.Id)).size).toBe(queries.length);
  });

  it('more than 500 queries go in several calls, a weighted pair never split, every result read', async () => {
    const tables = Array.from({ length: 13 }, (_, i) => table(`t${i}`));
    const { xm, cm, telemetry } = setup({ directory: directory({ big: { arns: tables } }) });
    serveGraph(xm);
    cm.on(GetMetricDataCommand).callsFake(answer(() => [['11:00', 1]]));
    const metrics = ['dynamodb_throttle_errors', 'dynamodb_system_errors', 'dynamodb_latency_ms', 'dynamodb_read_throttle_errors', 'dynamodb_write_throttle_errors'];
    const series = await telemetry.queryMetrics({ services: ['big'], metrics, from: iso('11:00'), to: iso('11:01') });
    const calls = cm.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input.MetricDataQueries!);
    expect(calls.map((c) => c.length)).toEqual([500, 13 * 42 - 500]);
    for (const c of calls) {
      expect(c.length).toBeLessThanOrEqual(MAX_QUERIES_PER_CALL);
      // A SampleCount query sits right after its Average in the same call.
      c.forEach((q, i) => {
        if (q.MetricStat?.Stat === 'SampleCount') expect(c[i - 1]!.MetricStat).toMatchObject({ Stat: 'Average', Metric: q.MetricStat.Metric });
      });
    }
    const v = (m: string) => seriesOf(series, 'big', m)![0]!.v;
    expect([v('dynamodb_throttle_errors'), v('dynamodb_system_errors'), v('dynamodb_latency_ms'), v('dynamodb_read_throttle_errors'), v('dynamodb_write_throttle_errors')]).toEqual([130, 130, 1, 13, 13]);
  });

  it('follows NextToken: a result partial on one page is completed by the next', async () => {
    const { xm, cm, telemetry } = setup({ directory: directory({ events: { arns: [queue('events')] } }) });
    serveGraph(xm);
    const tokens: (string | undefined)[] = [];
    cm.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => {
      // Recorded here: the paginator reuses its input object, so the mock's call log shows the last token.
      tokens.push(input.NextToken);
      const id = input.MetricDataQueries![0]!.Id;
      return input.NextToken === 'more'
        ? { MetricDataResults: [{ Id: id, Timestamps: [at('11:01')], Values: [4], StatusCode: 'Complete' }] }
        : { MetricDataResults: [{ Id: id, Timestamps: [at('11:00')], Values: [3], StatusCode: 'PartialData' }], NextToken: 'more' };
    });
    const series = await telemetry.queryMetrics({ services: ['events'], metrics: ['queue_depth'], from: iso('11:00'), to: iso('11:02') });
    expect(seriesOf(series, 'events', 'queue_depth')).toEqual([{ t: iso('11:00'), v: 3 }, { t: iso('11:01'), v: 4 }]);
    expect(tokens).toEqual([undefined, 'more']);
    expect(gapsOf(series)).toEqual([]);
  });

  it('PartialData at the end, a Forbidden result and a call-level message are listed as gaps, the points kept', async () => {
    const { xm, cm, telemetry } = setup({ directory: directory({ events: { arns: [queue('events')] } }) });
    serveGraph(xm);
    cm.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => {
      const [depth, age] = input.MetricDataQueries!;
      return {
        MetricDataResults: [
          { Id: depth!.Id, Timestamps: [at('11:00')], Values: [3], StatusCode: 'PartialData' },
          { Id: age!.Id, Timestamps: [], Values: [], StatusCode: 'Forbidden', Messages: [{ Code: 'Forbidden', Value: 'not authorized for AWS/SQS' }] },
        ],
        Messages: [{ Code: 'MaxMetricsExceeded', Value: 'Maximum number of allowed metrics exceeded' }],
      };
    });
    const series = await telemetry.queryMetrics({ services: ['events'], metrics: ['queue_depth', 'queue_oldest_age_s'], from: iso('11:00'), to: iso('11:02') });
    expect(series).toEqual([{ service: 'events', metric: 'queue_depth', unit: 'messages', points: [{ t: iso('11:00'), v: 3 }] }]);
    expect(gapsOf(series)).toEqual([
      { api: 'cloudwatch:GetMetricData', reason: 'CloudWatch said: MaxMetricsExceeded: Maximum number of allowed metrics exceeded' },
      { api: 'cloudwatch:GetMetricData', service: 'events', metric: 'queue_depth', reason: 'SQS queue events ApproximateNumberOfMessagesVisible: partial data' },
      { api: 'cloudwatch:GetMetricData', service: 'events', metric: 'queue_oldest_age_s', reason: 'SQS queue events ApproximateAgeOfOldestMessage: Forbidden (Forbidden: not authorized for AWS/SQS)' },
    ]);
  });

  it('GetMetricData failing while X-Ray answers: the X-Ray series and a gap; failing alone: ToolUnavailable naming GetMetricData', async () => {
    const { xm, cm, telemetry } = setup({ directory: directory({ 'PetSearch_AWS::ECS::Fargate': { arns: ['arn:aws:ecs:us-west-2:111122223333:service/prod/PetSearch'] } }) });
    serveGraph(xm);
    xm.on(GetTimeSeriesServiceStatisticsCommand).resolves({ TimeSeriesServiceStatistics: [stat('11:00', { total: 10, responseTime: 1 })] });
    cm.on(GetMetricDataCommand).rejects(sdkError('AccessDeniedException', 403, 1));
    const q = { services: ['PetSearch_AWS::ECS::Fargate'], metrics: ['latency_avg_ms', 'cpu_pct', 'memory_pct'], from: iso('11:00'), to: iso('11:01') };
    const series = await telemetry.queryMetrics(q);
    expect(series.map((s) => s.metric)).toEqual(['latency_avg_ms']);
    expect(gapsOf(series)).toEqual([
      { api: 'cloudwatch:GetMetricData', service: 'PetSearch_AWS::ECS::Fargate', metric: 'cpu_pct, memory_pct', reason: "GetMetricData failed: AccessDeniedException: User is not authorized (access denied: the function's role needs cloudwatch:GetMetricData)" },
    ]);
    await expect(telemetry.queryMetrics({ ...q, metrics: ['cpu_pct'] })).rejects.toThrow(/no metric could be read: GetMetricData failed: AccessDeniedException/);
  });

  it('reads Application Signals for the service when an environment is set', async () => {
    const { xm, cm, telemetry } = setup({ applicationSignalsEnvironment: 'eks:pets/default' });
    serveGraph(xm);
    cm.on(GetMetricDataCommand).callsFake(answer((q) => (q.MetricStat?.Metric?.MetricName === 'Fault' ? [['11:00', 0.031]] : undefined)));
    const series = await telemetry.queryMetrics({ services: ['PetSite'], metrics: ['appsignals_fault_rate_pct', 'appsignals_latency_p99_ms'], from: iso('11:00'), to: iso('11:01') });
    expect(series).toEqual([{ service: 'PetSite', metric: 'appsignals_fault_rate_pct', unit: '%', points: [{ t: iso('11:00'), v: expect.closeTo(3.1, 6) }] }]);
    const queries = cm.commandCalls(GetMetricDataCommand)[0]!.args[0].input.MetricDataQueries!;
    expect(queries.map((q) => [q.MetricStat?.Metric?.Namespace, q.MetricStat?.Metric?.MetricName, q.MetricStat?.Stat, dims(q)])).toEqual([
      ['ApplicationSignals', 'Latency', 'p99', { Service: 'PetSite', Environment: 'eks:pets/default' }],
      ['ApplicationSignals', 'Fault', 'Average', { Service: 'PetSite', Environment: 'eks:pets/default' }],
    ]);
  });

  it('a node or resource several services asked for reach is read once, under the service that stands for it, else its own node, else the first asked', async () => {
    const ecs = 'arn:aws:ecs:us-west-2:111122223333:service/prod/PetSearch';
    const { xm, cm, telemetry } = setup({
      directory: directory({
        // The alert's service: the function by its tag and its X-Ray nodes, and the table it writes to, also tagged with it.
        checkout: { xrayNames: ['checkout-fn'], arns: [fn('checkout-fn'), table('orders')] },
        search: { arns: [ecs] },
        'search-api': { arns: [ecs] },
      }),
    });
    serveGraph(xm);
    xm.on(GetTimeSeriesServiceStatisticsCommand).resolves({ TimeSeriesServiceStatistics: [stat('11:00', { total: 10, responseTime: 1 })] });
    cm.on(GetMetricDataCommand).callsFake(answer(() => [['11:00', 1]]));
    // The function's own node asked for before the service that stands for it: the order does not decide.
    const services = ['checkout-fn_AWS::Lambda::Function', 'orders_AWS::DynamoDB::Table', 'checkout', 'checkout-fn_AWS::Lambda', 'search', 'search-api'];
    const series = await telemetry.queryMetrics({ services, metrics: ['latency_avg_ms', 'lambda_errors', 'dynamodb_throttle_errors', 'cpu_pct'], from: iso('11:00'), to: iso('11:01') });
    const queries = cm.commandCalls(GetMetricDataCommand).flatMap((c) => c.args[0].input.MetricDataQueries!);
    const read = queries.map((q) => `${q.MetricStat!.Metric!.MetricName} ${JSON.stringify(dims(q))}`);
    expect(new Set(read).size).toBe(read.length);
    expect(read.filter((r) => r.startsWith('Errors '))).toEqual(['Errors {"FunctionName":"checkout-fn"}']);
    expect(read.filter((r) => r.startsWith('CPUUtilization '))).toEqual(['CPUUtilization {"ClusterName":"prod","ServiceName":"PetSearch"}']);
    const owners = (metric: string) => series.filter((s) => s.metric === metric).map((s) => s.service);
    expect(owners('lambda_errors')).toEqual(['checkout']);
    expect(owners('dynamodb_throttle_errors')).toEqual(['orders_AWS::DynamoDB::Table']);
    expect(owners('cpu_pct')).toEqual(['search']);
    // X-Ray: each node once — checkout's entry node is checkout-fn_AWS::Lambda, reported as checkout.
    const selectors = xm.commandCalls(GetTimeSeriesServiceStatisticsCommand).map((c) => c.args[0].input.EntitySelectorExpression);
    expect(selectors.sort()).toEqual(['service(id(name: "checkout-fn", type: "AWS::Lambda"))', 'service(id(name: "checkout-fn", type: "AWS::Lambda::Function"))', 'service(id(name: "orders", type: "AWS::DynamoDB::Table"))']);
    expect(owners('latency_avg_ms').sort()).toEqual(['checkout', 'checkout-fn_AWS::Lambda::Function', 'orders_AWS::DynamoDB::Table']);
    expect(gapsOf(series)).toEqual([]);
  });

  it("a directory's gap on a service is listed beside what was read", async () => {
    const { xm, cm, telemetry } = setup({ directory: directory({ events: { arns: [queue('events')], gap: 'tag:GetResources: ThrottlingException (resources from tags unknown)' } }) });
    serveGraph(xm);
    cm.on(GetMetricDataCommand).callsFake(answer(() => [['11:00', 1]]));
    const series = await telemetry.queryMetrics({ services: ['events'], metrics: ['queue_depth'], from: iso('11:00'), to: iso('11:01') });
    expect(series).toHaveLength(1);
    expect(gapsOf(series)).toEqual([{ api: 'service-directory', service: 'events', reason: 'tag:GetResources: ThrottlingException (resources from tags unknown)' }]);
  });
});

// ───────────────────────── traces ─────────────────────────

const doc = (d: Record<string, unknown>) => JSON.stringify(d);
const T0 = at('11:30').getTime() / 1000;
/** A PetShop-like request: PetSite reads DynamoDB (fault), calls amazon.com (503), queries SQL, sends to SQS from a local subsegment, calls payforadoption. */
const SEGMENTS = [
  doc({
    id: 'a000000000000001',
    trace_id: '1-67c2f4e8-000000000000000000000001',
    name: 'PetSite',
    start_time: T0,
    end_time: T0 + 0.5,
    http: { request: { method: 'GET', url: 'http://petsite.example/adopt?id=1' }, response: { status: 500 } },
    fault: true,
    subsegments: [
      { id: 's000000000000001', name: 'DynamoDB', namespace: 'aws', start_time: T0 + 0.01, end_time: T0 + 0.11, fault: true, aws: { operation: 'GetItem', table_name: 'petInfo' }, cause: { working_directory: '/app', exceptions: [{ id: 'e1', type: 'InternalServerError', message: 'Internal server error' }] } },
      { id: 's000000000000002', name: 'amazon.com', namespace: 'remote', start_time: T0 + 0.12, end_time: T0 + 0.2, fault: true, http: { request: { method: 'GET', url: 'https://amazon.com/x' }, response: { status: 503 } } },
      { id: 's000000000000003', name: DB, namespace: 'remote', start_time: T0 + 0.2, end_time: T0 + 0.25, sql: { url: 'jdbc:postgresql://services-db/adoptions', sanitized_query: 'SELECT * FROM adoptions WHERE id = ?' } },
      { id: 's000000000000004', name: 'render', start_time: T0 + 0.25, end_time: T0 + 0.3, subsegments: [{ id: 's000000000000005', name: 'SQS', namespace: 'aws', start_time: T0 + 0.26, end_time: T0 + 0.27, aws: { operation: 'SendMessage', queue_url: QUEUE_URL } }] },
      { id: 's000000000000006', name: 'payforadoption', namespace: 'remote', start_time: T0 + 0.3, end_time: T0 + 0.45, http: { request: { method: 'POST', url: 'http://payforadoption/pay' } } },
    ],
  }),
  doc({ id: 'b000000000000001', trace_id: '1-67c2f4e8-000000000000000000000001', parent_id: 's000000000000006', name: 'payforadoption', origin: 'AWS::ECS::Container', start_time: T0 + 0.31, end_time: T0 + 0.44, http: { request: { method: 'POST', url: 'http://payforadoption/pay' } } }),
];
const okTrace = (id: string) => ({ Id: id, Duration: 0.05, Segments: [{ Id: `${id}-seg`, Document: doc({ id: `c${id.padStart(15, '0')}`, name: 'PetSite', start_time: T0, end_time: T0 + 0.05 }) }] });

describe('getTraces', () => {
  it('turns segments and their subsegments into spans named by the convention, with errors and parents', async () => {
    const { xm, telemetry } = setup();
    serveGraph(xm);
    xm.on(GetTraceSummariesCommand).resolves({ TraceSummaries: [{ Id: 'T1', HasFault: true }] });
    xm.on(BatchGetTracesCommand).resolves({ Traces: [{ Id: 'T1', Duration: 0.5, Segments: SEGMENTS.map((Document, i) => ({ Id: `seg${i}`, Document })) }] });
    const [trace] = await telemetry.getTraces({ services: ['PetSite'], from: iso('11:00'), to: iso('12:00') });
    expect(trace).toMatchObject({ traceId: 'T1', rootService: 'PetSite', startedAt: new Date(T0 * 1000).toISOString(), totalMs: 500, status: 'ERROR' });
    const spans = Object.fromEntries(trace!.spans.map((s) => [s.spanId, s]));
    expect(spans['a000000000000001']).toEqual({ spanId: 'a000000000000001', service: 'PetSite', operation: 'GET /adopt', startedAt: new Date(T0 * 1000).toISOString(), durationMs: 500, status: 'ERROR', error: 'fault (HTTP 500)' });
    expect(spans['s000000000000001']).toMatchObject({ parentSpanId: 'a000000000000001', service: 'petInfo_AWS::DynamoDB::Table', operation: 'GetItem', durationMs: 100, status: 'ERROR', error: 'InternalServerError: Internal server error' });
    expect(spans['s000000000000002']).toMatchObject({ service: 'amazon.com_remote', operation: 'GET https://amazon.com/x', status: 'ERROR', error: 'fault (HTTP 503)' });
    expect(spans['s000000000000003']).toMatchObject({ service: `${DB}_Database::SQL`, operation: 'SELECT * FROM adoptions WHERE id = ?', status: 'OK' });
    expect(spans['s000000000000004']).toMatchObject({ service: 'PetSite', operation: 'render' });
    expect(spans['s000000000000005']).toMatchObject({ parentSpanId: 's000000000000004', service: `${QUEUE_URL}_AWS::SQS::Queue`, operation: 'SendMessage' });
    expect(spans['b000000000000001']).toMatchObject({ parentSpanId: 's000000000000006', service: 'payforadoption_AWS::ECS::Container', operation: 'POST /pay', status: 'OK' });
    expect(trace!.spans).toHaveLength(8);
    expect(xm.commandCalls(GetTraceSummariesCommand)[0]!.args[0].input).toEqual({ StartTime: at('11:00'), EndTime: at('12:00'), FilterExpression: 'service(id(name: "PetSite"))', Sampling: false });
  });

  it('errorsOnly filters on fault or error; summaries are paged up to the limit and fetched five ids per call', async () => {
    const { xm, telemetry } = setup();
    serveGraph(xm);
    xm.on(GetTraceSummariesCommand).callsFake((input: { NextToken?: string }) =>
      input.NextToken === 'p2' ? { TraceSummaries: ['T5', 'T6', 'T7'].map((Id) => ({ Id, HasError: true })) } : { TraceSummaries: ['T1', 'T2', 'T3', 'T4'].map((Id) => ({ Id, HasError: true })), NextToken: 'p2' },
    );
    xm.on(BatchGetTracesCommand).callsFake((input: { TraceIds: string[] }) => ({ Traces: input.TraceIds.map((id) => ({ ...okTrace(id), Segments: [{ Id: 'x', Document: doc({ id: `e${id}`, name: 'PetSite', start_time: T0, end_time: T0 + 0.05, error: true, http: { response: { status: 404 } } }) }] })) }));
    const traces = await telemetry.getTraces({ services: ['PetSite'], from: iso('11:00'), to: iso('12:00'), limit: 6, errorsOnly: true });
    expect(traces.map((t) => t.traceId)).toEqual(['T1', 'T2', 'T3', 'T4', 'T5', 'T6']);
    expect(traces.every((t) => t.status === 'ERROR' && t.spans[0]!.error === 'error (HTTP 404)')).toBe(true);
    expect(xm.commandCalls(GetTraceSummariesCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({ FilterExpression: 'service(id(name: "PetSite")) { fault = true OR error = true }' }),
      expect.objectContaining({ NextToken: 'p2' }),
    ]);
    expect(xm.commandCalls(BatchGetTracesCommand).map((c) => c.args[0].input.TraceIds)).toEqual([['T1', 'T2', 'T3', 'T4', 'T5'], ['T6']]);
  });

  it("filters an alert's service by its entry node and names its spans after the alert's service", async () => {
    const { xm, telemetry } = setup({ directory: directory({ checkout: { xrayNames: ['checkout-fn'] } }) });
    serveGraph(xm);
    xm.on(GetTraceSummariesCommand).resolves({ TraceSummaries: [{ Id: 'T1' }] });
    xm.on(BatchGetTracesCommand).resolves({
      Traces: [
        {
          Id: 'T1',
          Segments: [
            { Id: '1', Document: doc({ id: 'f000000000000001', name: 'checkout-fn', origin: 'AWS::Lambda', start_time: T0, end_time: T0 + 0.2 }) },
            { Id: '2', Document: doc({ id: 'f000000000000002', parent_id: 'f000000000000001', name: 'checkout-fn', origin: 'AWS::Lambda::Function', start_time: T0 + 0.01, end_time: T0 + 0.19, subsegments: [{ id: 'f000000000000003', name: 'DynamoDB', namespace: 'aws', start_time: T0 + 0.02, end_time: T0 + 0.1, aws: { operation: 'PutItem', table_name: 'orders' } }] }) },
          ],
        },
      ],
    });
    const [trace] = await telemetry.getTraces({ services: ['checkout'], from: iso('11:00'), to: iso('12:00') });
    expect(xm.commandCalls(GetTraceSummariesCommand)[0]!.args[0].input.FilterExpression).toBe('service(id(name: "checkout-fn", type: "AWS::Lambda"))');
    expect(trace!.rootService).toBe('checkout');
    expect(trace!.totalMs).toBe(200);
    expect(trace!.spans.map((s) => s.service)).toEqual(['checkout', 'checkout-fn_AWS::Lambda::Function', 'orders_AWS::DynamoDB::Table']);
  });

  it('a failing batch: the other traces and a gap naming its ids; every batch failing or the summaries failing: ToolUnavailable', async () => {
    const { xm, telemetry } = setup();
    serveGraph(xm);
    xm.on(GetTraceSummariesCommand).resolves({ TraceSummaries: ['T1', 'T2', 'T3', 'T4', 'T5', 'T6'].map((Id) => ({ Id })) });
    xm.on(BatchGetTracesCommand).callsFake((input: { TraceIds: string[] }) => {
      if (input.TraceIds.includes('T6')) throw sdkError('ThrottledException', 429);
      return { Traces: input.TraceIds.slice(1).map(okTrace), UnprocessedTraceIds: [input.TraceIds[0]] };
    });
    const q = { services: ['PetSite'], from: iso('11:00'), to: iso('12:00'), limit: 10 };
    const traces = await telemetry.getTraces(q);
    expect(traces.map((t) => t.traceId)).toEqual(['T2', 'T3', 'T4', 'T5']);
    expect(gapsOf(traces)).toEqual([
      { api: 'xray:BatchGetTraces', reason: 'X-Ray left 1 trace(s) unprocessed: T1' },
      { api: 'xray:BatchGetTraces', reason: 'BatchGetTraces failed: ThrottledException: Rate exceeded (throttled or unavailable after 3 attempts) (traces T6)' },
    ]);

    xm.on(BatchGetTracesCommand).rejects(sdkError('ThrottledException', 429));
    await expect(telemetry.getTraces(q)).rejects.toThrow(/AWS X-Ray unavailable: traces could not be read: BatchGetTraces failed: ThrottledException/);
    xm.on(GetTraceSummariesCommand).rejects(sdkError('AccessDeniedException', 403, 1));
    await expect(telemetry.getTraces(q)).rejects.toThrow("AWS X-Ray unavailable: GetTraceSummaries failed: AccessDeniedException: User is not authorized (access denied: the function's role needs xray:GetTraceSummaries)");
  });

  it('no trace in the window is an empty answer (the call succeeded)', async () => {
    const { xm, telemetry } = setup();
    serveGraph(xm);
    xm.on(GetTraceSummariesCommand).resolves({ TraceSummaries: [] });
    expect(await telemetry.getTraces({ services: ['PetSite'], from: iso('11:00'), to: iso('12:00') })).toEqual([]);
    expect(xm.commandCalls(BatchGetTracesCommand)).toHaveLength(0);
  });

  it('a service the graph has no node of: looked for by name, and no trace of it is a gap, not an all-clear', async () => {
    const { xm, telemetry } = setup();
    serveGraph(xm);
    xm.on(GetTraceSummariesCommand).resolves({ TraceSummaries: [] });
    const traces = await telemetry.getTraces({ services: ['ghost'], from: iso('11:00'), to: iso('12:00'), errorsOnly: true });
    expect(traces).toEqual([]);
    expect(xm.commandCalls(GetTraceSummariesCommand)[0]!.args[0].input.FilterExpression).toBe('service("ghost") { fault = true OR error = true }');
    expect(gapsOf(traces)).toEqual([{ api: 'mapping', service: 'ghost', reason: expect.stringMatching(/^no node of the service graph \(the last 60 min to .*\) is ghost: its traces were looked for by name only$/) }]);
  });
});

describe('the deadline (AWS_TOOLS_CALL_BUDGET_MS, AWS_TOOLS_RUN_BUDGET_MS)', () => {
  const hang = () => new Promise<never>(() => undefined);
  const wide = Array.from({ length: 40 }, (_, i) => svc(i, `svc${i}`, 'AWS::ECS::Fargate'));

  it('metrics of many services: what answered before the deadline, one gap naming the services left and the budget; CloudWatch read beside X-Ray', async () => {
    const fn = `arn:aws:lambda:us-west-2:${ACCOUNT}:function:svc39`;
    const { xm, cm, telemetry } = setup({ budget: { callMs: 300 }, directory: directory({ svc39: { arns: [fn] } }) });
    xm.on(GetServiceGraphCommand).resolves({ Services: wide });
    xm.on(GetTimeSeriesServiceStatisticsCommand).callsFake((input: { EntitySelectorExpression: string }) => (/"svc[0-3]"/.test(input.EntitySelectorExpression) ? { TimeSeriesServiceStatistics: [stat('11:00', { total: 60, responseTime: 6 })] } : hang()));
    cm.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => ({ MetricDataResults: input.MetricDataQueries!.map((q) => ({ Id: q.Id, Timestamps: [at('11:00')], Values: [1], StatusCode: 'Complete' })) }));
    const started = Date.now();
    const series = await telemetry.queryMetrics({ services: wide.map((n) => n.Name!), metrics: ['latency_avg_ms', 'lambda_errors'], from: iso('11:00'), to: iso('11:01') });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(series.map((s) => `${s.service} ${s.metric}`)).toEqual(['svc0 latency_avg_ms', 'svc1 latency_avg_ms', 'svc2 latency_avg_ms', 'svc3 latency_avg_ms', 'svc39 lambda_errors']);
    expect(gapsOf(series)).toEqual([{ api: 'xray:GetTimeSeriesServiceStatistics', reason: '36 service(s) not read (svc4, svc5, svc6, svc7, svc8, svc9, svc10, svc11, svc12, svc13, …): stopped at the deadline (the call budget of 300 ms (AWS_TOOLS_CALL_BUDGET_MS))' }]);
  });

  it('nothing read by the deadline is ToolUnavailable naming it; a graph that never comes too', async () => {
    const { xm, cm, telemetry } = setup({ budget: { callMs: 200 } });
    xm.on(GetServiceGraphCommand).resolves({ Services: wide });
    xm.on(GetTimeSeriesServiceStatisticsCommand).callsFake(hang);
    cm.on(GetMetricDataCommand).callsFake(hang);
    await expect(telemetry.queryMetrics({ services: ['svc1'], from: iso('11:00'), to: iso('11:01') })).rejects.toThrow(/no metric could be read: .*stopped at the deadline \(the call budget of 200 ms/);
    xm.on(GetServiceGraphCommand).callsFake(hang);
    await expect(telemetry.getTopology({ services: ['svc1'] })).rejects.toThrow('AWS X-Ray unavailable: GetServiceGraph not answered: stopped at the deadline (the call budget of 200 ms (AWS_TOOLS_CALL_BUDGET_MS))');
  });

  it('trace summaries that keep coming back empty stop at the deadline (X-Ray pages a long scan)', async () => {
    let now = NOW.getTime();
    const { xm, telemetry } = setup({ budget: { callMs: 5_000 }, clock: () => new Date(now) });
    serveGraph(xm);
    let n = 0;
    xm.on(GetTraceSummariesCommand).callsFake(async () => {
      await Promise.resolve();
      now += 100;
      return { TraceSummaries: n++ === 3 ? [{ Id: 'T1', HasFault: true }] : [], NextToken: `p${n}` };
    });
    xm.on(BatchGetTracesCommand).callsFake((input: { TraceIds: string[] }) => ({ Traces: input.TraceIds.map(okTrace) }));
    const traces = await telemetry.getTraces({ services: ['PetSite'], from: iso('11:00'), to: iso('12:00'), limit: 20 });
    // Half of the 5 s at 100 ms a page: about 25 pages, not an endless scan.
    expect(n).toBeLessThanOrEqual(26);
    expect(traces.map((t) => t.traceId)).toEqual(['T1']);
    expect(gapsOf(traces)).toEqual([{ api: 'xray:GetTraceSummaries', reason: 'only 1 trace summaries were read: half the time left before the deadline (the call budget of 5000 ms (AWS_TOOLS_CALL_BUDGET_MS)) went to them, the rest to fetching their traces' }]);
    // None found by the deadline: ToolUnavailable naming it, not an empty "no traces".
    n = -1_000;
    await expect(telemetry.getTraces({ services: ['PetSite'], from: iso('11:00'), to: iso('12:00') })).rejects.toThrow('AWS X-Ray unavailable: GetTraceSummaries not answered: stopped at the deadline (the call budget of 5000 ms (AWS_TOOLS_CALL_BUDGET_MS))');
  });

  it('calls of one agent run share the run budget', async () => {
    let now = NOW.getTime();
    const { xm, telemetry } = setup({ budget: { callMs: 20_000, runMs: 30_000 }, clock: () => new Date(now) });
    xm.on(GetServiceGraphCommand).callsFake(async () => {
      await Promise.resolve();
      now += 25_000;
      return { Services: wide };
    });
    // The graph's one page took 25 s, past nothing: it is complete (no NextToken) and kept.
    expect(await telemetry.getTopology({ services: ['svc1'], runId: 'deadline-run' })).toHaveLength(1);
    // 25 s of the run's 30 s are gone: the next call has 5 s, not its own 20.
    xm.on(GetTimeSeriesServiceStatisticsCommand).callsFake(async () => {
      await Promise.resolve();
      now += 6_000;
      return { TimeSeriesServiceStatistics: [stat('11:00', { total: 60, responseTime: 6 })], NextToken: 'more' };
    });
    await expect(telemetry.queryMetrics({ services: ['svc1'], metrics: ['latency_avg_ms'], from: iso('11:00'), to: iso('11:01'), runId: 'deadline-run' })).rejects.toThrow(
      "no metric could be read: 1 service(s) not read (svc1): stopped at the deadline (what was left of the agent run's budget of 30000 ms (AWS_TOOLS_RUN_BUDGET_MS))",
    );
    // Its first page took 6 s of the 5 left: no second page was asked for.
    expect(xm.commandCalls(GetTimeSeriesServiceStatisticsCommand)).toHaveLength(1);
  });
});

describe('the aws-telemetry row', () => {
  const row = adapterRow('aws-telemetry')!;

  it('parses its settings, refusing a bad value by the variable', () => {
    expect(parseSettings(row, { AWS_XRAY_GRAPH_MINUTES: '120', AWS_APPLICATION_SIGNALS_ENVIRONMENT: 'eks:pets/default', AWS_TOOLS_MAX_ATTEMPTS: '5' })).toEqual({
      directory: { tagKey: 'service' },
      client: { maxAttempts: 5 },
      graphWindowMinutes: 120,
      applicationSignalsEnvironment: 'eks:pets/default',
    });
    expect(() => parseSettings(row, { AWS_XRAY_GRAPH_MINUTES: '3' })).toThrow(new ConfigError('invalid configuration: AWS_XRAY_GRAPH_MINUTES must be an integer between 5 and 360, got "3"'));
    expect(() => parseSettings(row, { AWS_APPLICATION_SIGNALS_ENVIRONMENT: 'eks pets' })).toThrow(/AWS_APPLICATION_SIGNALS_ENVIRONMENT must be an Application Signals environment/);
  });

  it("declares the X-Ray and CloudWatch read APIs on '*' with why, and the directory's needs", () => {
    expect(row).toMatchObject({ family: 'aws', stackSetting: 'tools', selectors: [], ports: ['telemetry'] });
    const apis = row.iam.flatMap((n) => (n.resource === 'aws-api' ? n.actions.map((a) => [a, n.resources.join(), Boolean(n.why)]) : []));
    expect(apis).toEqual(
      expect.arrayContaining(['xray:GetServiceGraph', 'xray:GetTimeSeriesServiceStatistics', 'xray:GetTraceSummaries', 'xray:BatchGetTraces', 'cloudwatch:GetMetricData', 'tag:GetResources'].map((a) => [a, '*', true])),
    );
  });

  it('is the telemetry of TOOLS_DEFAULT=aws, built on first use', async () => {
    const runtime = toolsRuntime({ TOOLS_DEFAULT: 'aws' }, { getSecret: async () => '' });
    expect(runtime.sources.telemetry).toBe('aws-telemetry');
    expect(await runtime.adapter('telemetry')).toBeInstanceOf(AwsTelemetry);
  });
});
