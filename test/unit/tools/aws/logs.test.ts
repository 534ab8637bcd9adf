/**
 * The CloudWatch Logs Insights adapter (functions/core/tools/aws/logs.ts) against the API's own shapes: StartQuery
 * (logGroupNames ≤ 50, epoch-second times, queryString, limit) → queryId; GetQueryResults → status
 * (Scheduled | Running | Complete | Failed | Cancelled | Timeout | Unknown), results as arrays of {field, value},
 * statistics {recordsMatched, recordsScanned, bytesScanned}; StopQuery. Polling runs on a fake clock: Running →
 * Complete, a query that outlasts the budget is stopped and its lines returned with a partial gap, a terminal failure
 * names its status, and every cost cap (groups, window, scan) is a partial gap naming its variable.
 */
import { CloudWatchLogsClient, GetQueryResultsCommand, type GetQueryResultsCommandOutput, type ResultField, StartQueryCommand, StopQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsLogs, type InsightsLimits, type InsightsQueryReport, insightsQuery, levelOf } from '../../../../functions/core/tools/aws/logs.ts';
import type { ServiceDirectory, ServiceResources } from '../../../../functions/core/tools/aws/resources.ts';
import { partialGapsOf, ToolUnavailable } from '../../../../functions/core/tools/ports.ts';

const ACCOUNT = '111122223333';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const cwl = mockClient(CloudWatchLogsClient);

/** A directory that knows the log groups of some services (and optionally a gap per service). */
const fakeDirectory = (groups: Record<string, string[]>, gaps: Record<string, string> = {}): ServiceDirectory & { asked: string[][] } => {
  const asked: string[][] = [];
  return {
    asked,
    resolve: async (q) => {
      asked.push([...q.services]);
      return q.services.map((service): ServiceResources & { gap?: string } => ({ service, xrayNames: [service], resources: [], logGroups: groups[service] ?? [], tags: {}, ...(gaps[service] ? { gap: gaps[service] } : {}) }));
    },
    serviceOf: async () => undefined,
  };
};

/** A fake clock that sleeping advances. */
const fakeTime = () => {
  let now = Date.parse('2024-05-01T12:00:00Z');
  const waits: number[] = [];
  return {
    waits,
    now: () => now,
    sleep: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
  };
};

const row = (fields: Record<string, string>): ResultField[] => Object.entries(fields).map(([field, value]) => ({ field, value }));
const result = (status: GetQueryResultsCommandOutput['status'], rows: ResultField[][] = [], bytesScanned = 0): GetQueryResultsCommandOutput => ({
  status,
  results: rows,
  statistics: { recordsMatched: rows.length, recordsScanned: rows.length * 10, bytesScanned },
  $metadata: {},
});

const adapter = (directory: ServiceDirectory, limits: Partial<InsightsLimits> = {}, reports: InsightsQueryReport[] = []) => {
  const time = fakeTime();
  const logs = new AwsLogs({ directory, client: new CloudWatchLogsClient({ region: 'eu-west-1', credentials: CREDENTIALS }), limits, onQuery: (r) => reports.push(r), sleep: time.sleep, now: time.now });
  return { logs, time, reports };
};

const WINDOW = { from: '2024-05-01T11:00:00Z', to: '2024-05-01T12:00:00Z' };
const group = (name: string) => `${ACCOUNT}:${name}`;

beforeEach(() => cwl.reset());

describe('Insights polling', () => {
  it('starts one query over the service groups, polls Running → Complete with backoff, and maps the rows', async () => {
    cwl.on(StartQueryCommand).resolves({ queryId: 'q-1' });
    cwl
      .on(GetQueryResultsCommand)
      .resolvesOnce(result('Scheduled'))
      .resolvesOnce(result('Running'))
      .resolves(
        result(
          'Complete',
          [
            row({ '@timestamp': '2024-05-01 11:59:00.000', '@message': '2024-05-01T11:59:00.000Z\tc0ffee-1\tERROR\tInvoke Error {"errorType":"TimeoutError"}', '@logStream': '2024/05/01/[$LATEST]abc', '@log': group('/aws/lambda/checkout') }),
            row({ '@timestamp': '2024-05-01 11:58:30.500', '@message': '{"level":"WARN","message":"pool nearly exhausted","service":"checkout","xray_trace_id":"1-abc-def"}', level: 'WARN', message: 'pool nearly exhausted', xray_trace_id: '1-abc-def', '@logStream': 's', '@log': group('/aws/lambda/checkout') }),
          ],
          52_428_800,
        ),
      );
    const directory = fakeDirectory({ checkout: ['/aws/lambda/checkout'], payments: ['/ecs/payments'] });
    const { logs, time, reports } = adapter(directory);
    const lines = await logs.search({ ...WINDOW, runId: 'run-1', services: ['checkout', 'payments'], minLevel: 'WARN', limit: 100 });

    expect(directory.asked).toEqual([['checkout', 'payments']]);
    const start = cwl.commandCalls(StartQueryCommand)[0]!.args[0].input;
    expect(start.logGroupNames).toEqual(['/aws/lambda/checkout', '/ecs/payments']);
    expect(start.startTime).toBe(Date.parse(WINDOW.from) / 1000);
    expect(start.endTime).toBe(Date.parse(WINDOW.to) / 1000);
    expect(start.limit).toBe(100);
    expect(start.queryString).toContain('| sort @timestamp desc | limit 100');
    expect(start.queryString).toContain('toupper(level) in ["WARN", "WARNING", "ERROR"');
    expect(cwl.commandCalls(GetQueryResultsCommand)).toHaveLength(3);
    expect(cwl.commandCalls(StopQueryCommand)).toHaveLength(0);
    // Backoff: each wait longer than the one before, none above 2 s.
    expect(time.waits[0]).toBe(250);
    expect(time.waits[1]!).toBeGreaterThan(time.waits[0]!);
    expect(Math.max(...time.waits)).toBeLessThanOrEqual(2_000);

    expect(partialGapsOf(lines)).toEqual([]);
    expect(lines).toEqual([
      { timestamp: '2024-05-01T11:58:30.500Z', service: 'checkout', level: 'WARN', message: 'pool nearly exhausted', host: 's', traceId: '1-abc-def' },
      { timestamp: '2024-05-01T11:59:00.000Z', service: 'checkout', level: 'ERROR', message: 'Invoke Error {"errorType":"TimeoutError"}', host: '2024/05/01/[$LATEST]abc' },
    ]);
    expect(reports).toEqual([expect.objectContaining({ queryId: 'q-1', status: 'Complete', polls: 3, bytesScanned: 52_428_800, recordsMatched: 2, logGroups: 2, rows: 2 })]);
  });

  it.each(['Failed', 'Cancelled', 'Timeout', 'Unknown'] as const)('a query that ends %s is a ToolUnavailable naming the status', async (status) => {
    cwl.on(StartQueryCommand).resolves({ queryId: 'q-2' });
    cwl.on(GetQueryResultsCommand).resolvesOnce(result('Running')).resolves(result(status));
    const { logs } = adapter(fakeDirectory({ checkout: ['/aws/lambda/checkout'] }));
    const error = await logs.search({ ...WINDOW, services: ['checkout'], minLevel: 'WARN' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolUnavailable);
    expect((error as Error).message).toContain(`query q-2 over 1 log group(s) ended ${status}`);
  });

  it('one query of several failing: the others\' lines, and a gap naming the failed one', async () => {
    cwl.on(StartQueryCommand).callsFake((input: { logGroupNames: string[] }) => ({ queryId: input.logGroupNames.length === 50 ? 'q-ok' : 'q-bad' }));
    cwl.on(GetQueryResultsCommand).callsFake((input: { queryId: string }) =>
      input.queryId === 'q-ok' ? result('Complete', [row({ '@timestamp': '2024-05-01 11:10:00.000', '@message': 'ERROR boom', '@log': group('/aws/lambda/fn-000') })]) : result('Failed'),
    );
    const groups = Array.from({ length: 60 }, (_, i) => `/aws/lambda/fn-${String(i).padStart(3, '0')}`);
    const { logs } = adapter(fakeDirectory({ big: groups }), { maxGroups: 100 });
    const lines = await logs.search({ ...WINDOW, services: ['big'], minLevel: 'WARN' });
    expect(lines.map((l) => l.message)).toEqual(['ERROR boom']);
    expect(partialGapsOf(lines)).toEqual([{ api: 'logs:GetQueryResults', reason: 'query q-bad over 10 log group(s) ended Failed' }]);
  });

  it('a query still running when the poll budget is spent is stopped; its lines are returned with a partial gap', async () => {
    cwl.on(StartQueryCommand).resolves({ queryId: 'q-3' });
    cwl.on(GetQueryResultsCommand).resolves(result('Running', [row({ '@timestamp': '2024-05-01 11:30:00.000', '@message': 'ERROR db timeout', '@log': group('/aws/lambda/checkout') })], 1_000));
    cwl.on(StopQueryCommand).resolves({ success: true });
    const reports: InsightsQueryReport[] = [];
    const { logs, time } = adapter(fakeDirectory({ checkout: ['/aws/lambda/checkout'] }), { pollBudgetMs: 5_000 }, reports);
    const lines = await logs.search({ ...WINDOW, services: ['checkout'], minLevel: 'WARN' });
    expect(partialGapsOf(lines)).toEqual([{ api: 'logs:GetQueryResults', reason: 'query q-3 over 1 log group(s) did not complete within 5000 ms (AWS_LOGS_POLL_BUDGET_MS; last status Running): stopped' }]);
    expect(lines).toEqual([{ timestamp: '2024-05-01T11:30:00.000Z', service: 'checkout', level: 'ERROR', message: 'ERROR db timeout' }]);
    expect(cwl.commandCalls(StopQueryCommand)[0]!.args[0].input).toEqual({ queryId: 'q-3' });
    expect(time.waits.reduce((a, b) => a + b, 0)).toBe(5_000);
    expect(reports[0]).toMatchObject({ status: 'Running', stopped: 'poll budget', bytesScanned: 1_000 });
  });

  it('the call deadline comes before a long poll budget: the query is stopped there, its lines returned with a gap naming the budget', async () => {
    cwl.on(StartQueryCommand).resolves({ queryId: 'q-4' });
    cwl.on(GetQueryResultsCommand).resolves(result('Running', [row({ '@timestamp': '2024-05-01 11:30:00.000', '@message': 'ERROR db timeout', '@log': group('/aws/lambda/checkout') })]));
    cwl.on(StopQueryCommand).resolves({ success: true });
    const time = fakeTime();
    const logs = new AwsLogs({ directory: fakeDirectory({ checkout: ['/aws/lambda/checkout'] }), client: new CloudWatchLogsClient({ region: 'eu-west-1', credentials: CREDENTIALS }), clientSettings: { callBudgetMs: 5_000 }, limits: { pollBudgetMs: 60_000 }, onQuery: () => undefined, sleep: time.sleep, now: time.now });
    const lines = await logs.search({ ...WINDOW, services: ['checkout'], minLevel: 'WARN' });
    expect(time.waits.reduce((a, b) => a + b, 0)).toBe(5_000);
    expect(partialGapsOf(lines)).toEqual([{ api: 'logs:GetQueryResults', reason: 'query q-4 over 1 log group(s) did not complete by the deadline (the call budget of 5000 ms (AWS_TOOLS_CALL_BUDGET_MS); last status Running): stopped' }]);
    expect(lines).toHaveLength(1);
    expect(cwl.commandCalls(StopQueryCommand)).toHaveLength(1);
  });

  it('GetQueryResults and StopQuery that never answer hold the search no longer than the deadline and the stop\'s own 2 s', async () => {
    cwl.on(StartQueryCommand).resolves({ queryId: 'q-5' });
    cwl.on(GetQueryResultsCommand).resolvesOnce(result('Running', [row({ '@timestamp': '2024-05-01 11:30:00.000', '@message': 'ERROR db timeout', '@log': group('/aws/lambda/checkout') })])).callsFake(() => new Promise(() => undefined));
    cwl.on(StopQueryCommand).callsFake(() => new Promise(() => undefined));
    const logs = new AwsLogs({ directory: fakeDirectory({ checkout: ['/aws/lambda/checkout'] }), client: new CloudWatchLogsClient({ region: 'eu-west-1', credentials: CREDENTIALS }), clientSettings: { callBudgetMs: 1_000 }, onQuery: () => undefined });
    const started = Date.now();
    const lines = await logs.search({ ...WINDOW, services: ['checkout'], minLevel: 'WARN' });
    expect(Date.now() - started).toBeLessThan(3_500);
    expect(lines).toHaveLength(1);
    expect(partialGapsOf(lines)).toEqual([{ api: 'logs:GetQueryResults', reason: expect.stringContaining('did not complete by the deadline (the call budget of 1000 ms (AWS_TOOLS_CALL_BUDGET_MS); last status Running)') }]);
  });

  it('StartQuery refused (too many concurrent queries) is a ToolUnavailable naming the error', async () => {
    cwl.on(StartQueryCommand).rejects(Object.assign(new Error('Too many concurrent queries'), { name: 'LimitExceededException' }));
    const { logs } = adapter(fakeDirectory({ checkout: ['/aws/lambda/checkout'] }));
    await expect(logs.search({ ...WINDOW, services: ['checkout'] })).rejects.toThrow('StartQuery over 1 log group(s) failed: LimitExceededException: Too many concurrent queries');
  });
});

describe('cost caps', () => {
  const manyGroups = (n: number) => Array.from({ length: n }, (_, i) => `/aws/lambda/fn-${String(i).padStart(3, '0')}`);

  it('splits groups into queries of at most 50 and merges their newest lines', async () => {
    let n = 0;
    cwl.on(StartQueryCommand).callsFake(() => ({ queryId: `q-${(n += 1)}` }));
    cwl.on(GetQueryResultsCommand).callsFake((input: { queryId: string }) =>
      result('Complete', [row({ '@timestamp': `2024-05-01 11:0${input.queryId.slice(2)}:00.000`, '@message': `ERROR from ${input.queryId}`, '@log': group('/aws/lambda/fn-000') })]),
    );
    const { logs, reports } = adapter(fakeDirectory({ big: manyGroups(120) }), { maxGroups: 200 });
    const lines = await logs.search({ ...WINDOW, services: ['big'], minLevel: 'ERROR', limit: 2 });
    expect(cwl.commandCalls(StartQueryCommand).map((c) => c.args[0].input.logGroupNames!.length)).toEqual([50, 50, 20]);
    expect(lines.map((l) => l.message)).toEqual(['ERROR from q-2', 'ERROR from q-3']);
    // The newest `limit` lines are the answer asked for, not a cut.
    expect(partialGapsOf(lines)).toEqual([]);
    expect(reports).toHaveLength(3);
  });

  it('more groups than AWS_LOGS_MAX_GROUPS: the first are read, a partial gap names the variable', async () => {
    cwl.on(StartQueryCommand).resolves({ queryId: 'q' });
    cwl.on(GetQueryResultsCommand).resolves(result('Complete', [row({ '@timestamp': '2024-05-01 11:10:00.000', '@message': 'ERROR x', '@log': group('/aws/lambda/a') })]));
    const { logs } = adapter(fakeDirectory({ a: ['/aws/lambda/a'], b: manyGroups(60) }), { maxGroups: 10 });
    const lines = await logs.search({ ...WINDOW, services: ['a', 'b'], minLevel: 'WARN' });
    expect(partialGapsOf(lines)).toEqual([{ api: 'logs:StartQuery', reason: '61 log groups belong to a, b, only the first 10 were read (AWS_LOGS_MAX_GROUPS)' }]);
    // The alert service (asked first) keeps its groups.
    expect(cwl.commandCalls(StartQueryCommand)[0]!.args[0].input.logGroupNames).toEqual(['/aws/lambda/a', ...manyGroups(9)]);
    expect(lines).toHaveLength(1);
  });

  it('a window longer than AWS_LOGS_MAX_WINDOW_HOURS reads its last hours and says so; the lines limit is capped by AWS_LOGS_MAX_LINES', async () => {
    cwl.on(StartQueryCommand).resolves({ queryId: 'q' });
    cwl.on(GetQueryResultsCommand).resolves(result('Complete'));
    const { logs } = adapter(fakeDirectory({ a: ['/g'] }), { maxWindowHours: 2, maxLines: 300 });
    const lines = await logs.search({ from: '2024-04-30T12:00:00Z', to: '2024-05-01T12:00:00Z', services: ['a'], limit: 5_000 });
    expect(partialGapsOf(lines).map((g) => g.reason)).toEqual(['the window 2024-04-30T12:00:00Z → 2024-05-01T12:00:00Z is longer than 2 h, only its last 2 h were read (AWS_LOGS_MAX_WINDOW_HOURS)']);
    const input = cwl.commandCalls(StartQueryCommand)[0]!.args[0].input;
    expect(input.startTime).toBe(Date.parse('2024-05-01T10:00:00Z') / 1000);
    expect(input.limit).toBe(300);
  });

  it('a query scanning more than AWS_LOGS_MAX_SCANNED_MB is stopped', async () => {
    cwl.on(StartQueryCommand).resolves({ queryId: 'q-big' });
    cwl.on(GetQueryResultsCommand).resolvesOnce(result('Running', [], 10)).resolves(result('Running', [], 3 * 1024 ** 2));
    cwl.on(StopQueryCommand).resolves({ success: true });
    const { logs } = adapter(fakeDirectory({ a: ['/g'] }), { maxScannedBytes: 2 * 1024 ** 2 });
    const lines = await logs.search({ ...WINDOW, services: ['a'] });
    expect(partialGapsOf(lines).map((g) => g.reason)).toEqual([`query q-big had scanned ${3 * 1024 ** 2} bytes, more than the cap of ${2 * 1024 ** 2} (AWS_LOGS_MAX_SCANNED_MB): stopped`]);
    expect(cwl.commandCalls(StopQueryCommand)).toHaveLength(1);
    expect(cwl.commandCalls(GetQueryResultsCommand)).toHaveLength(2);
  });
});

describe('services without log groups', () => {
  it('a service that writes logs but has no known log group was not searched: ToolUnavailable saying how to name them, never [] ("no errors")', async () => {
    const { logs } = adapter(fakeDirectory({}));
    await expect(logs.search({ ...WINDOW, services: ['checkout'], minLevel: 'WARN' })).rejects.toThrow(
      'CloudWatch Logs Insights unavailable: no log group is known for checkout, so no log was searched: name their log groups in AWS_SERVICE_MAP (logGroups), or tag their Lambda functions service=checkout',
    );
    expect(cwl.commandCalls(StartQueryCommand)).toHaveLength(0);
    // Nodes that write no logs of their own (a table, a queue, a remote API) are nothing to search: [].
    await expect(logs.search({ ...WINDOW, services: ['orders_AWS::DynamoDB::Table', 'jobs_AWS::SQS::Queue', 'api.example.com_remote'] })).resolves.toEqual([]);
  });

  it("a Lambda function's X-Ray node is read at the function's default log group, once with the service that owns the group", async () => {
    cwl.on(StartQueryCommand).resolves({ queryId: 'q' });
    cwl.on(GetQueryResultsCommand).resolves(result('Complete', [row({ '@timestamp': '2024-05-01 11:10:00.000', '@message': 'ERROR x', '@log': group('/aws/lambda/checkout') })]));
    const { logs } = adapter(fakeDirectory({ checkout: ['/aws/lambda/checkout'] }));
    const lines = await logs.search({ ...WINDOW, services: ['checkout', 'checkout_AWS::Lambda::Function', 'pricing_AWS::Lambda'], minLevel: 'WARN' });
    expect(cwl.commandCalls(StartQueryCommand)[0]!.args[0].input.logGroupNames).toEqual(['/aws/lambda/checkout', '/aws/lambda/pricing']);
    expect(lines.map((l) => l.service)).toEqual(['checkout']);
    expect(partialGapsOf(lines)).toEqual([]);
  });

  it('beside services that were searched, the ones without a log group are one gap naming them', async () => {
    cwl.on(StartQueryCommand).resolves({ queryId: 'q' });
    cwl.on(GetQueryResultsCommand).resolves(result('Complete', [row({ '@timestamp': '2024-05-01 11:10:00.000', '@message': 'ERROR x', '@log': group('/g') })]));
    const { logs } = adapter(fakeDirectory({ a: ['/g'] }));
    const lines = await logs.search({ ...WINDOW, services: ['a', 'payments_AWS::ECS::Fargate', 'orders_AWS::DynamoDB::Table'], minLevel: 'WARN' });
    expect(lines).toHaveLength(1);
    expect(partialGapsOf(lines)).toEqual([{ api: 'logs:StartQuery', reason: 'no log group is known for payments_AWS::ECS::Fargate: not searched; name their log groups in AWS_SERVICE_MAP (logGroups), or tag their Lambda functions service=payments_AWS::ECS::Fargate' }]);
  });

  it('no log group because the directory could not read its sources is a gap, not []', async () => {
    const { logs } = adapter(fakeDirectory({}, { checkout: 'checkout: resource tags could not be read (ThrottlingException)' }));
    await expect(logs.search({ ...WINDOW, services: ['checkout'] })).rejects.toThrow('no log group is known for checkout: checkout: resource tags could not be read (ThrottlingException)');
  });

  it('one service read, another unknown for a directory failure: the lines read, and a gap naming it', async () => {
    cwl.on(StartQueryCommand).resolves({ queryId: 'q' });
    cwl.on(GetQueryResultsCommand).resolves(result('Complete', [row({ '@timestamp': '2024-05-01 11:10:00.000', '@message': 'WARN slow', '@log': group('/g') })]));
    const { logs } = adapter(fakeDirectory({ a: ['/g'] }, { b: 'b: resource tags could not be read (AccessDenied)' }));
    const lines = await logs.search({ ...WINDOW, services: ['a', 'b'], minLevel: 'WARN' });
    expect(partialGapsOf(lines)).toEqual([{ api: 'AWS service directory', service: 'b', reason: 'b: resource tags could not be read (AccessDenied)' }]);
    expect(lines.map((l) => l.service)).toEqual(['a']);
  });
});

describe('row mapping', () => {
  const mapOne = async (fields: Record<string, string>, minLevel?: 'WARN' | 'DEBUG', groups: Record<string, string[]> = { checkout: ['/aws/lambda/checkout'] }) => {
    cwl.on(StartQueryCommand).resolves({ queryId: 'q' });
    cwl.on(GetQueryResultsCommand).resolves(result('Complete', [row({ '@log': group('/aws/lambda/checkout'), ...fields })]));
    const { logs } = adapter(fakeDirectory(groups));
    return logs.search({ ...WINDOW, services: Object.keys(groups), ...(minLevel ? { minLevel } : {}) });
  };

  it.each([
    ['a JSON level field', { '@message': '{"level":"error","message":"x"}', level: 'error', message: 'payment declined' }, 'ERROR', 'payment declined'],
    ['a JSON log_level field spelled WARNING', { '@message': '{}', log_level: 'WARNING', msg: 'retrying' }, 'WARN', 'retrying'],
    ['a log4j header', { '@message': '2024-05-01 11:00:00,123 [main] WARN  c.e.Pool - pool at 95%' }, 'WARN', '2024-05-01 11:00:00,123 [main] WARN  c.e.Pool - pool at 95%'],
    ['a Python header', { '@message': '[CRITICAL] 2024-05-01T11:00:00Z db gone' }, 'FATAL', '[CRITICAL] 2024-05-01T11:00:00Z db gone'],
    ["Lambda's timeout line", { '@message': '2024-05-01T11:00:03.000Z c0ffee-2 Task timed out after 3.00 seconds' }, 'ERROR', '2024-05-01T11:00:03.000Z c0ffee-2 Task timed out after 3.00 seconds'],
    ['an exception without a level', { '@message': 'java.lang.IllegalStateException: closed' }, 'ERROR', 'java.lang.IllegalStateException: closed'],
  ])('level and message from %s', async (_name, fields, level, message) => {
    const [line] = await mapOne({ '@timestamp': '2024-05-01 11:00:00.000', ...fields }, 'WARN');
    expect(line).toMatchObject({ level, message, service: 'checkout' });
  });

  it('lines below minLevel are dropped; a line without a level is INFO when every level was asked for', async () => {
    await expect(mapOne({ '@timestamp': '2024-05-01 11:00:00.000', '@message': 'INFO all good, no ERROR here', level: 'INFO' }, 'WARN')).resolves.toEqual([]);
    cwl.reset();
    const [line] = await mapOne({ '@timestamp': '2024-05-01 11:00:00.000', '@message': 'started' });
    expect(line).toMatchObject({ level: 'INFO', message: 'started' });
  });

  it('a group shared by two services: the line goes to the service its own service field names, else the first asked', async () => {
    const shared = { a: ['/shared'], b: ['/shared'] };
    cwl.on(StartQueryCommand).resolves({ queryId: 'q' });
    cwl.on(GetQueryResultsCommand).resolves(
      result('Complete', [
        row({ '@timestamp': '2024-05-01 11:00:00.000', '@message': 'ERROR x', service: 'b', '@log': group('/shared') }),
        row({ '@timestamp': '2024-05-01 11:00:01.000', '@message': 'ERROR y', '@log': group('/shared') }),
        row({ '@timestamp': 'not a time', '@message': 'ERROR z', '@log': group('/shared') }),
      ]),
    );
    const { logs } = adapter(fakeDirectory(shared));
    const lines = await logs.search({ ...WINDOW, services: ['a', 'b'], minLevel: 'WARN' });
    expect(cwl.commandCalls(StartQueryCommand)[0]!.args[0].input.logGroupNames).toEqual(['/shared']);
    expect(lines.map((l) => [l.service, l.message])).toEqual([
      ['b', 'ERROR x'],
      ['a', 'ERROR y'],
    ]);
  });

  it('levelOf does not read a capitalised sentence as a level', () => {
    expect(levelOf({}, 'Error connecting is handled by retry')).toBeUndefined();
    expect(levelOf({}, 'WARNING: disk 91%')).toBe('WARN');
  });
});

describe('the query string', () => {
  it('asks every level at or above minLevel, and nothing for DEBUG', () => {
    expect(insightsQuery('DEBUG', 10)).toBe('fields @timestamp, @message, @logStream, @log, level, log_level, severity, levelname, message, msg, service, xray_trace_id, traceId, trace_id | sort @timestamp desc | limit 10');
    const fatal = insightsQuery('FATAL', 5);
    expect(fatal).toContain('"FATAL", "CRITICAL"');
    expect(fatal).not.toContain('"ERROR"');
    expect(fatal).not.toContain('Task timed out');
    expect(insightsQuery('ERROR', 5)).toContain('Task timed out after');
  });

  it('refuses a time that does not parse, naming the field', async () => {
    const { logs } = adapter(fakeDirectory({ a: ['/g'] }));
    await expect(logs.search({ from: 'yesterday', to: WINDOW.to, services: ['a'] })).rejects.toThrow('from is not an ISO 8601 time');
  });
});

describe('the aws-logs row', () => {
  it('is the aws family row for logs; its settings name the variable at fault', async () => {
    const { adapterRow, parseSettings } = await import('../../../../functions/core/tools/adapters.ts');
    const { chooseAdapters } = await import('../../../../functions/core/tools/runtime.ts');
    const row = adapterRow('aws-logs')!;
    expect(chooseAdapters({ TOOLS_DEFAULT: 'aws' }).byPort.logs?.name).toBe('aws-logs');
    expect(parseSettings(row, { AWS_LOGS_MAX_GROUPS: '20', AWS_LOGS_MAX_SCANNED_MB: '512', AWS_TOOLS_TIMEOUT_MS: '3000' })).toMatchObject({ client: { timeoutMs: 3000 }, limits: { maxGroups: 20, maxScannedBytes: 512 * 1024 ** 2 } });
    expect(() => parseSettings(row, { AWS_LOGS_MAX_LINES: '20000' })).toThrow('AWS_LOGS_MAX_LINES must be an integer between 1 and 10000, got "20000"');
    expect(() => parseSettings(row, { AWS_LOGS_POLL_BUDGET_MS: 'soon' })).toThrow('AWS_LOGS_POLL_BUDGET_MS must be an integer');
    expect(row.iam).toContainEqual(expect.objectContaining({ resource: 'aws-api', actions: ['logs:StartQuery'], resources: ['arn:{partition}:logs:{region}:{account}:log-group:*'] }));
    const built = await row.build!(parseSettings(row, {}), { getSecret: async () => '' });
    expect(built.logs).toBeInstanceOf(AwsLogs);
  });
});

describe('log groups that do not exist', () => {
  it('a group StartQuery says does not exist is dropped and named; the query runs over the others', async () => {
    cwl
      .on(StartQueryCommand)
      .rejectsOnce(Object.assign(new Error("Log group '/aws/lambda/never-ran' does not exist for account ID '111122223333'"), { name: 'ResourceNotFoundException' }))
      .resolves({ queryId: 'q-ok' });
    cwl.on(GetQueryResultsCommand).resolves(result('Complete', [row({ '@timestamp': '2024-05-01 11:10:00.000', '@message': 'ERROR x', '@log': group('/aws/lambda/checkout') })]));
    const { logs } = adapter(fakeDirectory({ checkout: ['/aws/lambda/checkout'], idle: ['/aws/lambda/never-ran'] }));
    const lines = await logs.search({ ...WINDOW, services: ['checkout', 'idle'], minLevel: 'WARN' });
    expect(cwl.commandCalls(StartQueryCommand).map((c) => c.args[0].input.logGroupNames)).toEqual([['/aws/lambda/checkout', '/aws/lambda/never-ran'], ['/aws/lambda/checkout']]);
    expect(lines.map((l) => l.message)).toEqual(['ERROR x']);
    expect(partialGapsOf(lines)).toEqual([{ api: 'logs:StartQuery', reason: 'log group /aws/lambda/never-ran does not exist' }]);
  });

  it('a ResourceNotFoundException that names no group of the query is the query failing', async () => {
    cwl.on(StartQueryCommand).rejects(Object.assign(new Error('The specified resource does not exist.'), { name: 'ResourceNotFoundException' }));
    const { logs } = adapter(fakeDirectory({ checkout: ['/aws/lambda/checkout'] }));
    await expect(logs.search({ ...WINDOW, services: ['checkout'] })).rejects.toThrow('StartQuery over 1 log group(s) failed: ResourceNotFoundException');
    expect(cwl.commandCalls(StartQueryCommand)).toHaveLength(1);
  });
});
