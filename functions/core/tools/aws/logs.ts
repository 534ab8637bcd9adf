/**
 * Logs port over CloudWatch Logs Insights: the warnings and errors of each service's log groups (which groups: the
 * service directory, service-directory.ts), fed to the same template miner as any other log source.
 *
 * One `StartQuery` per 50 log groups (the API's limit), all in parallel, with
 *
 *   fields @timestamp, @message, @logStream, @log, level, … | filter <level at or above minLevel> |
 *   sort @timestamp desc | limit N
 *
 * then `GetQueryResults` polled with backoff (250 ms, ×1.6, at most 2 s apart) within a poll budget (10 s by default).
 * A query still Scheduled or Running when the budget runs out is stopped (`StopQuery`, which also stops its cost) and
 * the lines it had found are returned with a partial gap (ports.ts `withPartialGaps`; the agent records it): never a
 * short answer that reads as "these are all the errors". A query that ends Failed, Cancelled, Timeout or Unknown is a
 * gap naming the status beside the other queries' lines, or a ToolUnavailable naming it when no query answered. A log
 * group that does not exist fails a whole StartQuery (ResourceNotFoundException naming it): the query is asked again
 * without it (at most 5 times), and the missing group is a gap.
 *
 * Cost cap (Insights bills bytes scanned): at most `maxGroups` log groups per search (AWS_LOGS_MAX_GROUPS, the alert
 * service's groups first), a window of at most `maxWindowHours` (AWS_LOGS_MAX_WINDOW_HOURS: the newest part of a
 * longer window is read), at most `maxLines` lines (AWS_LOGS_MAX_LINES), and a query whose `statistics.bytesScanned`
 * passes `maxScannedBytes` (AWS_LOGS_MAX_SCANNED_MB) while running is stopped. A cap that cut the answer short is a
 * partial gap naming the variable; the newest `limit` lines are not a cut (every log source returns the newest N). A
 * service the directory answered for with a gap (a source it could not read) is a partial gap too. Every query's statistics (bytes and records scanned, records matched) go to `onQuery` (by default one log line).
 *
 * Rows → LogLine: `@timestamp` (UTC, `yyyy-MM-dd HH:mm:ss.SSS`); the level from a JSON level field (`level`,
 * `log_level`, `severity`, `levelname`), else a level word at the head of the line (Lambda's `<time>\t<request id>\tERROR\t…`,
 * log4j's `… [main] ERROR …`), else a level word anywhere in the line, else ERROR for Lambda's own failure lines (`Task
 * timed out`, `Runtime.*Error`) and exceptions; the message from a JSON `message`/`msg` field, else the line without
 * Lambda's header; the service from the log group (`@log` is `<account>:<group>`), or the line's own `service` field
 * when several services share the group; `@logStream` as the host; the trace id from `xray_trace_id`/`traceId`.
 *
 * Time: a search also stops at its deadline (deadline.ts: AWS_TOOLS_CALL_BUDGET_MS, AWS_TOOLS_RUN_BUDGET_MS), whichever of
 * it and the poll budget comes first: the queries still running are stopped and their lines returned with a gap
 * naming the budget. StopQuery is given a couple of seconds of its own (it stops the query's cost).
 *
 * A Lambda function's X-Ray node (`<name>_AWS::Lambda::Function`, `<name>_AWS::Lambda`) the directory knows no log group
 * of is read at its default `/aws/lambda/<name>` (a group that does not exist is dropped with a gap, as any other).
 * A service with no known log group was not searched, and "no error lines" must not be read from it: a service that
 * writes logs (an application or compute node: not a table, queue, cache, remote API or client node, which have none)
 * without a log group is a partial gap naming it and the fix (the map's `logGroups`, or a tagged Lambda function);
 * when no service asked for has one, nothing was searched at all: ToolUnavailable saying so (naming the directory's
 * gap when a source failed). `scope.environment` is not used: one account and region.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { CloudWatchLogsClient, GetQueryResultsCommand, type GetQueryResultsCommandOutput, type ResultField, StartQueryCommand, StopQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import { Logger } from '@aws-lambda-powertools/logger';
import { byCodeUnit } from '../../compare.ts';
import { type LogLine, type Logs, type PartialGap, type TimeWindow, type ToolScope, ToolUnavailable, withPartialGaps } from '../ports.ts';
import { LEVEL_SPELLINGS } from '../vendors/splunk.ts';
import { type AwsClientSettings, awsClientOptions, budgetOf, errorReason } from './clients.ts';
import { callDeadline, Deadline, DeadlineReached, isDeadline } from './deadline.ts';
import type { DirectorySettings } from './directory-settings.ts';
import type { ServiceDirectory } from './resources.ts';
import { directoryGaps, serviceDirectory } from './service-directory.ts';
import { isTypedNodeName, parseXrayNodeName, xrayTier } from './xray-names.ts';

export const LOGS_TOOL = 'CloudWatch Logs Insights';

/** StartQuery accepts at most 50 log groups. */
export const GROUPS_PER_QUERY = 50;
/** GetQueryResults returns at most 10,000 rows per call. */
export const MAX_LINES_PER_QUERY = 10_000;

export interface InsightsLimits {
  /** Log groups read per search, the alert service's first (AWS_LOGS_MAX_GROUPS). */
  readonly maxGroups: number;
  /** The longest window read; a longer one is read from its end back (AWS_LOGS_MAX_WINDOW_HOURS). */
  readonly maxWindowHours: number;
  /** Lines returned per search (AWS_LOGS_MAX_LINES; a smaller `limit` in the query wins). */
  readonly maxLines: number;
  /** How long a search waits for its queries (AWS_LOGS_POLL_BUDGET_MS). */
  readonly pollBudgetMs: number;
  /** Bytes a query may scan before it is stopped (AWS_LOGS_MAX_SCANNED_MB × 1 MiB). */
  readonly maxScannedBytes: number;
}

export const DEFAULT_INSIGHTS_LIMITS: InsightsLimits = {
  maxGroups: 50,
  maxWindowHours: 24,
  maxLines: 5_000,
  pollBudgetMs: 10_000,
  maxScannedBytes: 10 * 1024 ** 3,
};

/** What one Insights query cost and returned (logged by default; a test or the bench may collect it). */
export interface InsightsQueryReport {
  readonly queryId: string;
  readonly logGroups: number;
  readonly status: string;
  readonly elapsedMs: number;
  readonly polls: number;
  readonly bytesScanned?: number;
  readonly recordsScanned?: number;
  readonly recordsMatched?: number;
  readonly rows: number;
  /** Why the query was stopped early, if it was. */
  readonly stopped?: string;
}

export interface AwsLogsOptions {
  readonly directory: ServiceDirectory;
  /** A client to use (tests, a shared client); else one is built on first use with `clientSettings`. */
  readonly client?: CloudWatchLogsClient;
  readonly clientSettings?: AwsClientSettings;
  readonly limits?: Partial<InsightsLimits>;
  readonly onQuery?: (report: InsightsQueryReport) => void;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Milliseconds since the epoch (the poll budget is measured with it). */
  readonly now?: () => number;
}

const FIRST_POLL_MS = 250;
const POLL_GROWTH = 1.6;
const MAX_POLL_GAP_MS = 2_000;
const MAX_MESSAGE_CHARS = 4_000;
/** What a StopQuery may take, past the deadline if need be: it ends the query's cost. */
const STOP_WAIT_MS = 2_000;
/** How many leading whitespace tokens may hold a line's level word. */
const HEADER_TOKENS = 6;

const LEVELS: readonly LogLine['level'][] = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
const LEVEL_OF = new Map(Object.entries(LEVEL_SPELLINGS).flatMap(([level, spellings]) => spellings.map((s) => [s, level as LogLine['level']])));
/** JSON fields that carry a level, most common first (Powertools and Lambda's JSON format: `level`). */
const LEVEL_FIELDS = ['level', 'log_level', 'severity', 'levelname'] as const;
const MESSAGE_FIELDS = ['message', 'msg'] as const;
const TRACE_FIELDS = ['xray_trace_id', 'traceId', 'trace_id'] as const;
/** Lambda's own failure lines and stack traces, which carry no level word. */
const ERROR_PATTERN = /Task timed out after|Runtime\.[A-Za-z]+Error|Process exited before completing|Exception|Traceback \(most recent call last\)/;
/** Lambda's text format: `<ISO time>\t<request id>\t<LEVEL>\t<message>`. */
const LAMBDA_HEADER = /^\d{4}-\d{2}-\d{2}T[\d:.]+Z\t[\w-]+\t([A-Z]+)\t/;

/** Every spelling at or above `min`. */
const spellingsFrom = (min: LogLine['level']): string[] => LEVELS.slice(LEVELS.indexOf(min)).flatMap((l) => LEVEL_SPELLINGS[l]);

/** An Insights string literal: double-quoted, `\` and `"` escaped. */
const literal = (value: string): string => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/**
 * The Insights query for one search. Level words are matched upper case and delimited (a word inside another word is
 * not a level); the level fields case-insensitively. DEBUG and up is every line: no filter.
 */
export const insightsQuery = (minLevel: LogLine['level'] | undefined, limit: number): string => {
  const fields = ['@timestamp', '@message', '@logStream', '@log', ...LEVEL_FIELDS, ...MESSAGE_FIELDS, 'service', ...TRACE_FIELDS];
  const parts = [`fields ${fields.join(', ')}`];
  if (minLevel && minLevel !== 'DEBUG') {
    const words = spellingsFrom(minLevel);
    const set = `[${words.map(literal).join(', ')}]`;
    const byField = LEVEL_FIELDS.map((f) => `toupper(${f}) in ${set}`);
    const byWord = `@message like /(^|[^A-Za-z])(${words.join('|')})([^A-Za-z]|$)/`;
    const byPattern = LEVELS.indexOf(minLevel) <= LEVELS.indexOf('ERROR') ? [`@message like /${ERROR_PATTERN.source}/`] : [];
    parts.push(`filter ${[...byField, byWord, ...byPattern].join(' or ')}`);
  }
  parts.push('sort @timestamp desc', `limit ${limit}`);
  return parts.join(' | ');
};

/** `2024-05-01 12:00:00.000` (UTC) → ISO 8601; undefined when it does not parse. */
const insightsTime = (value: string | undefined): string | undefined => {
  if (!value) return undefined;
  const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value.replace(' ', 'T') : `${value.replace(' ', 'T')}Z`);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
};

const levelWord = (token: string): LogLine['level'] | undefined => LEVEL_OF.get(token.replace(/^[[(<]+|[\])>:,]+$/g, '').toUpperCase());

/** The level of a line (see the header comment for the order); undefined when nothing in it says. */
export const levelOf = (fields: Readonly<Record<string, string>>, message: string): LogLine['level'] | undefined => {
  for (const f of LEVEL_FIELDS) {
    const v = fields[f];
    if (v) {
      const level = LEVEL_OF.get(v.trim().toUpperCase());
      if (level) return level;
    }
  }
  const lambda = LAMBDA_HEADER.exec(message);
  if (lambda) {
    const level = LEVEL_OF.get(lambda[1]!);
    if (level) return level;
  }
  for (const token of message.split(/\s+/, HEADER_TOKENS)) {
    const level = levelWord(token);
    // Only upper-case words in the header: "Error connecting" starts a sentence, it is not a level.
    if (level && /[A-Z]{3,}/.test(token)) return level;
  }
  const word = /(?:^|[^A-Za-z])(WARN|WARNING|ERROR|ERR|SEVERE|FATAL|CRITICAL|CRIT|PANIC|EMERG|EMERGENCY)(?:[^A-Za-z]|$)/.exec(message);
  if (word) return LEVEL_OF.get(word[1]!);
  if (ERROR_PATTERN.test(message)) return 'ERROR';
  return undefined;
};

/** One Insights row as a LogLine; undefined when its time does not parse or its level is below `minLevel`. */
export const toLogLine = (row: readonly ResultField[], serviceOfGroup: (group: string, lineService: string | undefined) => string, minLevel: LogLine['level'] | undefined): LogLine | undefined => {
  const fields: Record<string, string> = {};
  for (const f of row) if (f.field && f.value !== undefined && f.value !== null) fields[f.field] = f.value;
  const timestamp = insightsTime(fields['@timestamp']);
  if (!timestamp) return undefined;
  const raw = fields['@message'] ?? '';
  const level = levelOf(fields, raw) ?? (minLevel && minLevel !== 'DEBUG' ? undefined : 'INFO');
  if (!level || LEVELS.indexOf(level) < LEVELS.indexOf(minLevel ?? 'DEBUG')) return undefined;
  const field = MESSAGE_FIELDS.map((f) => fields[f]).find((v) => v !== undefined && v !== '');
  const message = (field ?? raw.replace(LAMBDA_HEADER, '')).trimEnd().slice(0, MAX_MESSAGE_CHARS);
  // `@log` is `<account id>:<log group name>`.
  const group = (fields['@log'] ?? '').replace(/^\d{12}:/, '');
  const traceId = TRACE_FIELDS.map((f) => fields[f]).find((v) => v);
  const host = fields['@logStream'];
  return {
    timestamp,
    service: serviceOfGroup(group, fields.service),
    level,
    message,
    ...(host ? { host } : {}),
    ...(traceId ? { traceId } : {}),
  };
};

const epochSeconds = (name: string, iso: string): number => {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new ToolUnavailable(LOGS_TOOL, `${name} is not an ISO 8601 time: ${JSON.stringify(iso.slice(0, 40))}`);
  return t / 1000;
};


interface QueryOutcome {
  readonly rows: readonly (readonly ResultField[])[];
  /** What the query left out: log groups that do not exist, or a stop before it completed (its rows are what it had found by then). */
  readonly gaps: readonly PartialGap[];
}

/** Missing log groups dropped from one query before it gives up (a Lambda function that never ran has none). */
const MAX_MISSING_GROUPS = 5;
/** The log group a StartQuery ResourceNotFoundException names ("Log group '/aws/lambda/x' does not exist …"), if it is one of `groups`. */
const missingGroup = (error: unknown, groups: readonly string[]): string | undefined => {
  const e = error as { name?: string; message?: string };
  if (e?.name !== 'ResourceNotFoundException') return undefined;
  const named = /log group '([^']+)'/i.exec(e.message ?? '')?.[1];
  return named === undefined ? undefined : groups.find((g) => g === named || g === `/${named}`);
};

/** The default log group of a Lambda function's X-Ray node name, if the name is one. */
export const lambdaNodeLogGroup = (service: string): string | undefined => {
  const { name, type } = parseXrayNodeName(service);
  return name && (type === 'AWS::Lambda::Function' || type === 'AWS::Lambda') ? `/aws/lambda/${name}` : undefined;
};

/** Whether a service is one that writes logs: anything but a typed X-Ray node of a table, queue, cache, remote API or client. */
export const writesLogs = (service: string): boolean => {
  if (!isTypedNodeName(service)) return true;
  const { type } = parseXrayNodeName(service);
  if (type === 'client') return false;
  const tier = xrayTier(type);
  return tier === 'backend' || (tier === 'frontend' && !/ApiGateway|ElasticLoadBalancing|CloudFront/.test(type ?? ''));
};

let defaultLogger: Logger | undefined;
const logReport = (report: InsightsQueryReport): void => {
  defaultLogger ??= new Logger({ serviceName: 'aws-logs' });
  defaultLogger.info('logs insights query', { ...report });
};

export class AwsLogs implements Logs {
  readonly #directory: ServiceDirectory;
  readonly #limits: InsightsLimits;
  readonly #options: AwsLogsOptions;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;
  #client: CloudWatchLogsClient | undefined;

  constructor(options: AwsLogsOptions) {
    this.#directory = options.directory;
    this.#limits = { ...DEFAULT_INSIGHTS_LIMITS, ...options.limits };
    this.#options = options;
    this.#client = options.client;
    this.#sleep = options.sleep ?? ((ms) => delay(ms));
    this.#now = options.now ?? Date.now;
  }

  get limits(): InsightsLimits {
    return this.#limits;
  }

  async search(q: ToolScope & TimeWindow & { services: readonly string[]; minLevel?: LogLine['level']; limit?: number }): Promise<LogLine[]> {
    const from = epochSeconds('from', q.from);
    const to = epochSeconds('to', q.to);
    if (q.services.length === 0 || from > to) return [];
    const deadline = callDeadline(q, budgetOf(this.#options.clientSettings), this.#now);
    try {
      return await this.#search(q, from, to, deadline);
    } finally {
      deadline.dispose();
    }
  }

  async #search(q: ToolScope & TimeWindow & { services: readonly string[]; minLevel?: LogLine['level']; limit?: number }, from: number, to: number, deadline: Deadline): Promise<LogLine[]> {
    let entries;
    try {
      // The directory's tag read is shared by the run's calls: this one waits for it only until its deadline.
      entries = await deadline.race(this.#directory.resolve({ ...(q.runId ? { runId: q.runId } : {}), ...(q.environment ? { environment: q.environment } : {}), services: q.services }));
    } catch (error) {
      if (error instanceof DeadlineReached) throw new ToolUnavailable(LOGS_TOOL, `the log groups of ${q.services.join(', ')} are not known: the service directory did not answer, ${deadline.reason}`, { cause: error });
      throw error;
    }

    // Each group read once, for the services that write to it, in the order the services were asked for.
    const servicesOfGroup = new Map<string, string[]>();
    const groupsOf = (e: (typeof entries)[number]): readonly string[] => {
      if (e.logGroups.length > 0) return e.logGroups;
      const byDefault = lambdaNodeLogGroup(e.service);
      return byDefault ? [byDefault] : [];
    };
    for (const e of entries) for (const g of groupsOf(e)) servicesOfGroup.set(g, [...(servicesOfGroup.get(g) ?? []), e.service]);
    // A service the directory could not fully read may have log groups it does not know of.
    const gaps: PartialGap[] = directoryGaps(entries);
    const allGroups = [...servicesOfGroup.keys()];
    // Services that write logs but whose log groups nobody named: not searched, and said so.
    const unsearched = entries.filter((e) => groupsOf(e).length === 0 && !e.gap && writesLogs(e.service)).map((e) => e.service);
    const howToName = (services: readonly string[]) => `name their log groups in AWS_SERVICE_MAP (logGroups), or tag their Lambda functions ${services.length === 1 ? `service=${services[0]}` : 'with the service tag'}`;
    if (allGroups.length === 0) {
      if (gaps.length > 0) throw new ToolUnavailable(LOGS_TOOL, `no log group is known for ${q.services.join(', ')}: ${gaps.map((g) => g.reason).join('; ')}`);
      if (unsearched.length > 0) throw new ToolUnavailable(LOGS_TOOL, `no log group is known for ${unsearched.join(', ')}, so no log was searched: ${howToName(unsearched)}`);
      return [];
    }
    if (unsearched.length > 0) gaps.push({ api: 'logs:StartQuery', reason: `no log group is known for ${unsearched.slice(0, 10).join(', ')}${unsearched.length > 10 ? `, … (${unsearched.length})` : ''}: not searched; ${howToName(unsearched)}` });

    const groups = allGroups.slice(0, this.#limits.maxGroups);
    if (allGroups.length > groups.length) gaps.push({ api: 'logs:StartQuery', reason: `${allGroups.length} log groups belong to ${q.services.join(', ')}, only the first ${groups.length} were read (AWS_LOGS_MAX_GROUPS)` });
    const maxWindow = this.#limits.maxWindowHours * 3600;
    const start = Math.max(from, to - maxWindow);
    if (start > from) gaps.push({ api: 'logs:StartQuery', reason: `the window ${q.from} → ${q.to} is longer than ${this.#limits.maxWindowHours} h, only its last ${this.#limits.maxWindowHours} h were read (AWS_LOGS_MAX_WINDOW_HOURS)` });
    const limit = Math.max(1, Math.min(Math.floor(q.limit ?? this.#limits.maxLines), this.#limits.maxLines, MAX_LINES_PER_QUERY));

    const serviceOfGroup = (group: string, lineService: string | undefined): string => {
      const owners = servicesOfGroup.get(group) ?? [];
      if (lineService && owners.includes(lineService)) return lineService;
      return owners[0] ?? lineService ?? group;
    };
    const batches: string[][] = [];
    for (let i = 0; i < groups.length; i += GROUPS_PER_QUERY) batches.push(groups.slice(i, i + GROUPS_PER_QUERY));
    const query = insightsQuery(q.minLevel, limit);
    const settled = await Promise.allSettled(batches.map((batch) => this.#run(batch, Math.floor(start), Math.ceil(to), query, limit, deadline)));
    const outcomes = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failures = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    // No query answered: nothing was read, and that is the tool failing, not an empty answer.
    if (outcomes.length === 0) throw failures[0];
    for (const f of failures) gaps.push({ api: 'logs:GetQueryResults', reason: f instanceof ToolUnavailable ? f.reason : errorReason(f) });

    const lines = outcomes
      .flatMap((o) => o.rows)
      .flatMap((row) => {
        const line = toLogLine(row, serviceOfGroup, q.minLevel);
        return line ? [line] : [];
      })
      // The newest `limit` of all batches, returned oldest first.
      .sort((a, b) => byCodeUnit(b.timestamp, a.timestamp))
      .slice(0, limit)
      .reverse();
    gaps.push(...outcomes.flatMap((o) => o.gaps));
    return withPartialGaps(lines, gaps);
  }

  /** One Insights query over at most 50 groups: started, polled within the budget, stopped if it must be. */
  async #run(groups: readonly string[], startTime: number, endTime: number, queryString: string, limit: number, deadline: Deadline): Promise<QueryOutcome> {
    this.#client ??= new CloudWatchLogsClient(awsClientOptions(this.#options.clientSettings));
    const client = this.#client;
    const began = this.#now();
    let queryId: string | undefined;
    let asked = [...groups];
    const missing: PartialGap[] = [];
    for (;;) {
      if (asked.length === 0) return { rows: [], gaps: missing };
      try {
        queryId = (await deadline.race(client.send(new StartQueryCommand({ logGroupNames: asked, startTime, endTime, queryString, limit }), { abortSignal: deadline.signal }))).queryId;
        break;
      } catch (error) {
        // A query that may have started is not known to us: nothing to stop, nothing read.
        if (isDeadline(error, deadline)) throw new ToolUnavailable(LOGS_TOOL, `StartQuery over ${asked.length} log group(s) not answered: ${deadline.reason}`, { cause: error });
        // One group that does not exist fails the whole query: ask again without it, and say it was not there.
        const gone = missingGroup(error, asked);
        if (gone === undefined || missing.length >= MAX_MISSING_GROUPS) throw new ToolUnavailable(LOGS_TOOL, `StartQuery over ${asked.length} log group(s) failed: ${errorReason(error)}`, { cause: error });
        asked = asked.filter((g) => g !== gone);
        missing.push({ api: 'logs:StartQuery', reason: `log group ${gone} does not exist` });
      }
    }
    if (!queryId) throw new ToolUnavailable(LOGS_TOOL, 'StartQuery answered without a queryId');

    let wait = FIRST_POLL_MS;
    let polls = 0;
    let last: GetQueryResultsCommandOutput | undefined;
    const report = (status: string, stopped?: string): void =>
      (this.#options.onQuery ?? logReport)({
        queryId: queryId!,
        logGroups: asked.length,
        status,
        elapsedMs: this.#now() - began,
        polls,
        ...(last?.statistics?.bytesScanned !== undefined ? { bytesScanned: last.statistics.bytesScanned } : {}),
        ...(last?.statistics?.recordsScanned !== undefined ? { recordsScanned: last.statistics.recordsScanned } : {}),
        ...(last?.statistics?.recordsMatched !== undefined ? { recordsMatched: last.statistics.recordsMatched } : {}),
        rows: last?.results?.length ?? 0,
        ...(stopped ? { stopped } : {}),
      });

    /** Stops the query at a budget and returns what it had found, with the gap saying which budget. */
    const cut = async (byDeadline: boolean): Promise<QueryOutcome> => {
      const why = byDeadline
        ? `query ${queryId} over ${asked.length} log group(s) did not complete by the deadline (${deadline.why}; last status ${last?.status ?? 'none'}): stopped`
        : `query ${queryId} over ${asked.length} log group(s) did not complete within ${this.#limits.pollBudgetMs} ms (AWS_LOGS_POLL_BUDGET_MS; last status ${last?.status ?? 'none'}): stopped`;
      await this.#stop(queryId!);
      report(last?.status ?? 'Unknown', byDeadline ? 'deadline' : 'poll budget');
      return { rows: last?.results ?? [], gaps: [...missing, { api: 'logs:GetQueryResults', reason: why }] };
    };
    for (;;) {
      const pollLeft = this.#limits.pollBudgetMs - (this.#now() - began);
      if (deadline.expired) return cut(true);
      if (pollLeft <= 0) return cut(false);
      await this.#sleep(Math.min(wait, pollLeft, deadline.remaining()));
      if (deadline.expired) return cut(true);
      wait = Math.min(MAX_POLL_GAP_MS, Math.round(wait * POLL_GROWTH));
      try {
        last = await deadline.race(client.send(new GetQueryResultsCommand({ queryId }), { abortSignal: deadline.signal }));
      } catch (error) {
        if (isDeadline(error, deadline)) return cut(true);
        await this.#stop(queryId);
        throw new ToolUnavailable(LOGS_TOOL, `GetQueryResults for query ${queryId} failed: ${errorReason(error)}`, { cause: error });
      }
      polls += 1;
      const status = last.status ?? 'Unknown';
      const scanned = last.statistics?.bytesScanned ?? 0;
      if (status === 'Complete') {
        report(status);
        return { rows: last.results ?? [], gaps: missing };
      }
      if (status === 'Scheduled' || status === 'Running') {
        if (scanned > this.#limits.maxScannedBytes) {
          await this.#stop(queryId);
          report(status, 'scan cap');
          return { rows: last.results ?? [], gaps: [...missing, { api: 'logs:GetQueryResults', reason: `query ${queryId} had scanned ${scanned} bytes, more than the cap of ${this.#limits.maxScannedBytes} (AWS_LOGS_MAX_SCANNED_MB): stopped` }] };
        }
        continue;
      }
      report(status);
      throw new ToolUnavailable(LOGS_TOOL, `query ${queryId} over ${asked.length} log group(s) ended ${status}${status === 'Timeout' ? ' (Insights gives a query 60 minutes: narrow the window)' : ''}`);
    }
  }

  /** Stops a query (and its cost), waiting at most STOP_WAIT_MS; a query that ended meanwhile refuses, which is fine. */
  async #stop(queryId: string): Promise<void> {
    const bound = new Deadline(Date.now() + STOP_WAIT_MS, `StopQuery's ${STOP_WAIT_MS} ms`);
    try {
      await bound.race(this.#client!.send(new StopQueryCommand({ queryId }), { abortSignal: bound.signal }));
    } catch {
      // Already complete, or the stop itself failed or took too long: either way nothing more can be done here.
    } finally {
      bound.dispose();
    }
  }
}

/** The settings of the aws-logs row (adapters.ts). */
export interface AwsLogsSettings {
  readonly directory: DirectorySettings;
  readonly client?: AwsClientSettings;
  readonly limits: Partial<InsightsLimits>;
}

/** The adapter a deployment builds: its own Logs client, the directory the aws rows share. */
export const awsLogs = (s: AwsLogsSettings): AwsLogs =>
  new AwsLogs({ directory: serviceDirectory(s.directory, {}, s.client ? { client: s.client } : {}), ...(s.client ? { clientSettings: s.client } : {}), limits: s.limits });
