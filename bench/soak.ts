/**
 * Soak (`npm run soak`): the load an outage brings, against the laptop twin on loopback, phase by phase, each phase
 * in a fresh twin (a child process of its own: one twin per process, and a fresh data directory). Prints one JSON
 * document on stdout (progress on stderr) and exits 1 when any expectation failed, 2 when the soak itself broke.
 * The JSON is printed whatever happened.
 *
 *   hostile      N webhook requests (default 3,000) across the five sources, generated from a seeded PRNG: malformed
 *                JSON, wrong types, bodies over the limit, nesting 10,000 deep, odd Unicode (lone surrogates; NUL and
 *                bidi controls in fields with a closed set of values; invalid UTF-8 bytes), big numbers (>= 2^53,
 *                1e308, 1e400), wrong credentials, wrong content type, path tricks.
 *                Expect: 0 × 5xx, every request answered 4xx, 0 incidents, 0 executions, 0 events, and every 4xx
 *                "names the field" (below).
 *   duplicates   N deliveries (default 1,000) of one alert, all in flight at once; a delivery shed with 429/503 is
 *                retried after its Retry-After (at most 10 rounds), as a vendor would.
 *                Expect: 1 incident, 1 execution, exactly 1 `Incident Opened`, 0 × 5xx, every 429/503 with Retry-After.
 *   storm        N distinct alerts (default 300) over 3 services within a minute, twice: `escalating` in environment
 *                w1, whose telemetry cannot be read (each incident escalates within a second), and `awaiting-approval`
 *                in three seeded worlds with AUTO_APPROVE_LOW_RISK=false (each incident waits for a human).
 *                Expect: 3 incidents in each, 0 × 5xx.
 *   crash        `autopilot serve` as a child on a free port and a temporary data directory: its demo incident (a
 *                seeded scenario, mitigation approved) is killed with SIGKILL during "Wait for recovery"; the twin is
 *                restarted, `autopilot rerun <id>` is run, and the `Mitigation Executed` (mode apply) events of that
 *                incident in events.jsonl are counted. Expect: 1.
 *
 * "Names the field": each generated case carries the names a precise answer must contain (the offending key path
 * as the normalisers print it, e.g. `alerts.0.labels.service` or `detail.alarmName`, or for a value nested inside a
 * free-form field that field's path; the header name for credentials and content type; `source` for the path
 * parameter; `JSON` for unparseable bodies, the field or `UTF-8` for undecodable bytes, `body` or `bytes` for a body
 * over the size limit). A 4xx
 * names the field when its `message` (or an entry of `problems`) contains one of them. A path that matches no route
 * is answered by API Gateway itself (`{"message":"Not Found"}`, no function runs): it has no field to name and is
 * counted as `notApplicable`, not as a miss.
 *
 * Options: --phases hostile,duplicates,storm,crash  --hostile N  --duplicates N  --storm N  --seed N
 *          --phase-timeout S (per phase, default 300)  --concurrency N (hostile requests in flight, default 32)
 * Loopback only; every loop is bounded in count and in time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { retryAfterSeconds } from '../lib/local/client.ts';

// ───────────────────────────── options ─────────────────────────────

const PHASES = ['hostile', 'duplicates', 'storm', 'crash'] as const;
type Phase = (typeof PHASES)[number];
const SOURCES = ['dynatrace', 'alertmanager', 'datadog', 'cloudwatch', 'generic'] as const;
type Source = (typeof SOURCES)[number];

interface Options {
  phases: Phase[];
  hostile: number;
  duplicates: number;
  storm: number;
  seed: number;
  phaseTimeoutS: number;
  concurrency: number;
}

const DEFAULTS: Options = { phases: [...PHASES], hostile: 3000, duplicates: 1000, storm: 300, seed: 1, phaseTimeoutS: 300, concurrency: 32 };
/** Hard caps, so that no option turns a loop unbounded. */
const MAX = { hostile: 100_000, duplicates: 10_000, storm: 10_000, phaseTimeoutS: 3600, concurrency: 1000 };

class UsageError extends Error {
  override name = 'UsageError';
}

const parseOptions = (argv: readonly string[]): Options & { worker?: string } => {
  const o: Options & { worker?: string } = { ...DEFAULTS, phases: [...DEFAULTS.phases] };
  const int = (name: string, value: string | undefined, max: number, min = 1): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
    return n;
  };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = argv[i + 1];
    i += 1;
    if (flag === '--phases') {
      const phases = (value ?? '').split(',').filter(Boolean);
      const unknown = phases.filter((p) => !(PHASES as readonly string[]).includes(p));
      if (phases.length === 0 || unknown.length) throw new UsageError(`--phases takes a comma-separated subset of ${PHASES.join(',')}; unknown: ${unknown.join(',') || '(none given)'}`);
      o.phases = phases as Phase[];
    } else if (flag === '--hostile') o.hostile = int('hostile', value, MAX.hostile);
    else if (flag === '--duplicates') o.duplicates = int('duplicates', value, MAX.duplicates);
    else if (flag === '--storm') o.storm = int('storm', value, MAX.storm, 3);
    else if (flag === '--seed') o.seed = int('seed', value, 2 ** 31, 0);
    else if (flag === '--phase-timeout') o.phaseTimeoutS = int('phase-timeout', value, MAX.phaseTimeoutS);
    else if (flag === '--concurrency') o.concurrency = int('concurrency', value, MAX.concurrency);
    else if (flag === '--worker') o.worker = value;
    else throw new UsageError(`unknown option ${flag}; options: --phases, --hostile, --duplicates, --storm, --seed, --phase-timeout, --concurrency`);
  }
  return o;
};

const log = (text: string): void => {
  process.stderr.write(`soak: ${text}\n`);
};

// ───────────────────────────── measuring ─────────────────────────────

interface Expectation {
  readonly name: string;
  readonly expected: unknown;
  readonly actual: unknown;
  readonly held: boolean;
}

const expect = (name: string, expected: unknown, actual: unknown, held = JSON.stringify(expected) === JSON.stringify(actual)): Expectation => ({ name, expected, actual, held });

const percentile = (sorted: readonly number[], p: number): number | null =>
  sorted.length === 0 ? null : Math.round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] * 10) / 10;

const latencySummary = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50Ms: percentile(sorted, 50), p90Ms: percentile(sorted, 90), p99Ms: percentile(sorted, 99), maxMs: percentile(sorted, 100) };
};

interface Answer {
  readonly status: number; // 0: no answer (socket error or timeout)
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly ms: number;
  readonly error?: string;
}

/** Status → count, `network-error` for requests that got no answer. */
const countStatuses = (answers: readonly Answer[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const a of answers) {
    const key = a.status === 0 ? 'network-error' : String(a.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
};

const REQUEST_TIMEOUT_MS = 60_000;
const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

/** One raw HTTP request (node:http, so that the path and the body's bytes go out exactly as given). */
const send = (base: string, req: { method: string; path: string; headers: Record<string, string>; body?: Buffer }): Promise<Answer> =>
  new Promise((resolve) => {
    const url = new URL(base);
    const started = performance.now();
    const headers = { ...req.headers, ...(req.body ? { 'content-length': String(req.body.length) } : {}) };
    const r = request({ host: url.hostname, port: url.port, method: req.method, path: req.path, headers, agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
      res.on('error', (e) => resolve({ status: 0, headers: {}, text: '', ms: performance.now() - started, error: e.message }));
    });
    r.on('timeout', () => r.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    r.on('error', (e) => resolve({ status: 0, headers: {}, text: '', ms: performance.now() - started, error: e.message }));
    r.end(req.body);
  });

/** Runs `tasks` with at most `limit` in flight. */
const pool = async <T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> => {
  const out = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) {
        const i = next;
        next += 1;
        out[i] = await task(i);
      }
    }),
  );
  return out;
};

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes (then undefined). */
const pollUntil = async <T>(check: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T | undefined> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) return undefined;
    await sleep(everyMs);
  }
};

// ───────────────────────────── the twin's state, read independently of the API ─────────────────────────────

type Twin = import('../lib/local/twin.ts').Twin;

interface IncidentRow {
  readonly incidentId: string;
  readonly status: string;
  readonly service?: string;
  readonly executionArn?: string;
}

/** Every incident META item in the table (a full scan: not the list index, which an interrupted intake can miss). */
const scanIncidents = async (twin: Twin): Promise<IncidentRow[]> => {
  const { LOCAL_CREDENTIALS, LOCAL_REGION, TABLE_NAME } = await import('../lib/local/constants.ts');
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: twin.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }));
  try {
    const rows: IncidentRow[] = [];
    let start: Record<string, unknown> | undefined;
    for (let page = 0; page < 10_000; page += 1) {
      const out = await doc.send(new ScanCommand({ TableName: TABLE_NAME, ExclusiveStartKey: start, FilterExpression: 'sk = :meta AND begins_with(pk, :inc)', ExpressionAttributeValues: { ':meta': 'META', ':inc': 'INCIDENT#' } }));
      for (const item of out.Items ?? []) rows.push({ incidentId: String(item.incidentId ?? String(item.pk).slice('INCIDENT#'.length)), status: String(item.status), service: item.service as string | undefined, executionArn: item.executionArn as string | undefined });
      start = out.LastEvaluatedKey;
      if (!start) break;
    }
    return rows;
  } finally {
    doc.destroy();
  }
};

const listExecutions = async (twin: Twin): Promise<{ executionArn: string; status: string; name: string }[]> => {
  const { LOCAL_CREDENTIALS, LOCAL_REGION, STATE_MACHINE_ARN } = await import('../lib/local/constants.ts');
  const sfn = new SFNClient({ endpoint: twin.endpoints.stepFunctions, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    const out = await sfn.send(new ListExecutionsCommand({ stateMachineArn: STATE_MACHINE_ARN }));
    return (out.executions ?? []).map((e) => ({ executionArn: String(e.executionArn), status: String(e.status), name: String(e.name) }));
  } finally {
    sfn.destroy();
  }
};

/** Waits (bounded) until no execution is RUNNING, or every running one is waiting for an approval. */
const settle = async (twin: Twin, timeoutMs: number, waitingForApproval: () => Set<string> = () => new Set()): Promise<boolean> =>
  (await pollUntil(async () => {
    const running = (await listExecutions(twin)).filter((e) => e.status === 'RUNNING' && !waitingForApproval().has(e.name));
    return running.length === 0 ? true : undefined;
  }, timeoutMs)) === true;

const countBy = <T>(items: readonly T[], key: (t: T) => string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
};

// ───────────────────────────── PRNG and payload templates ─────────────────────────────

/** mulberry32: a small, seeded, reproducible PRNG. */
const prng = (seed: number) => {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] };
};

const root = fileURLToPath(new URL('../', import.meta.url));
const sample = (source: Source): Record<string, unknown> => JSON.parse(readFileSync(join(root, 'events/alerts', `${source}.json`), 'utf8')) as Record<string, unknown>;

/** A valid alert of `source` for `service`, with its dedup identity `id` (environment w1: no telemetry behind it). */
const validAlert = (source: Source, service: string, id: string, title = `${service} error rate above 5%`): Record<string, unknown> => {
  const p = structuredClone(sample(source));
  switch (source) {
    case 'dynatrace': {
      Object.assign(p, { PID: id, ProblemTitle: title, Tags: `environment:w1, service:${service}`, ImpactedEntity: service, ImpactedEntities: [{ type: 'SERVICE', name: service }] });
      delete p.ProblemDetailsJSONv2;
      return p;
    }
    case 'alertmanager': {
      const alert = (p.alerts as Record<string, unknown>[])[0];
      Object.assign(alert, { fingerprint: id, labels: { ...(alert.labels as object), service, alertname: title.replace(/\W+/g, '') }, annotations: { summary: title } });
      p.alerts = [alert];
      return p;
    }
    case 'datadog':
      return Object.assign(p, { alert_cycle_key: id, id, title, tags: `env:w1,service:${service}`, scope: `env:w1,service:${service}` });
    case 'cloudwatch': {
      const detail = p.detail as Record<string, unknown>;
      p.resources = [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${id}`];
      detail.alarmName = title.replace(/[^\w-]+/g, '-');
      (detail.configuration as Record<string, unknown>).description = `${title}. service=${service} environment=w1 severity=SEV2`;
      return p;
    }
    case 'generic':
      return Object.assign(p, { id, title, service, environment: 'w1' });
  }
};

/** Sets `path` (dotted, numeric segments index arrays) in a copy of `payload`. */
const setPath = (payload: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> => {
  const copy = structuredClone(payload);
  const keys = path.split('.');
  let at: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) {
    if (at[k] === undefined || typeof at[k] !== 'object' || at[k] === null) at[k] = {};
    at = at[k] as Record<string, unknown>;
  }
  at[keys[keys.length - 1]] = value;
  return copy;
};

// ───────────────────────────── phase: hostile ─────────────────────────────

interface HostileCase {
  readonly category: string;
  readonly source: Source;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** What a precise answer names; null: API Gateway answers for a route that does not exist (nothing to name). */
  readonly mentions: readonly string[] | null;
  readonly what: string;
}

/** Per source: string fields the schema requires, fields with a closed set of values, numeric fields, free-form objects. */
const FIELDS: Record<Source, { strings: string[]; closed: string[]; numbers: string[]; freeForm: string[]; objects: string[] }> = {
  dynatrace: { strings: ['PID', 'ProblemTitle'], closed: ['State'], numbers: ['PID', 'ProblemDetailsJSONv2.startTime'], freeForm: ['ProblemDetailsJSONv2'], objects: ['ImpactedEntities'] },
  alertmanager: { strings: ['alerts.0.fingerprint', 'alerts.0.labels.service', 'alerts.0.startsAt'], closed: ['status', 'version', 'alerts.0.status'], numbers: ['truncatedAlerts'], freeForm: ['alerts.0.extra'], objects: ['alerts', 'alerts.0.labels'] },
  datadog: { strings: ['alert_cycle_key', 'title', 'transition', 'date'], closed: ['date'], numbers: ['org_id', 'alert_cycle_key'], freeForm: ['custom_payload'], objects: [] },
  cloudwatch: { strings: ['detail.alarmName', 'resources.0'], closed: ['detail.state.value', 'source', 'detail-type'], numbers: ['detail.configuration.metrics.0.metricStat.period'], freeForm: ['detail.configuration'], objects: ['detail', 'resources'] },
  generic: { strings: ['id', 'title', 'service'], closed: ['status', 'severity'], numbers: ['id', 'startedAt'], freeForm: ['tags'], objects: ['tags'] },
};

/** A path's names a precise answer may use: the path itself, and for a nested value the free-form field carrying it. */
const namesFor = (path: string, carrier?: string): string[] => [path, ...(carrier && carrier !== path ? [carrier] : [])];

const deep = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

const generateHostile = (count: number, seed: number, secret: string): HostileCase[] => {
  const rnd = prng(seed);
  const json = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8');
  const auth = { 'x-autopilot-secret': secret, 'content-type': 'application/json' };
  const base = (source: Source, i: number) => validAlert(source, `soak-hostile-${source}`, `hostile-${seed}-${i}`);
  const post = (source: Source, category: string, body: Buffer, mentions: readonly string[] | null, what: string, headers: Record<string, string> = auth, path = `/alerts/${source}`): HostileCase => ({ category, source, method: 'POST', path, headers, body, mentions, what });

  const builders: Record<string, (source: Source, i: number) => HostileCase> = {
    'malformed-json': (source, i) => {
      const text = JSON.stringify(base(source, i));
      const variants = [text.slice(0, Math.max(1, rnd.int(text.length - 1))), `${text.slice(0, -1)},}`, text.replaceAll('"', "'"), `${text}garbage`, '{"a": NaN}', '{', '', '   ', 'null,', '[1,]'];
      const body = rnd.pick(variants);
      return post(source, 'malformed-json', Buffer.from(body, 'utf8'), ['JSON'], `malformed JSON (${body.length} chars)`);
    },
    'wrong-type': (source, i) => {
      const fields = [...FIELDS[source].strings, ...FIELDS[source].objects];
      const field = rnd.pick(fields);
      const value = FIELDS[source].objects.includes(field) ? rnd.pick(['a string', 42, true]) : rnd.pick([{ nested: 'object' }, ['an', 'array'], true, false]);
      return post(source, 'wrong-type', json(setPath(base(source, i), field, value)), namesFor(field), `${field} = ${JSON.stringify(value)}`);
    },
    huge: (source, i) => {
      const field = rnd.pick(FIELDS[source].strings);
      const size = 300_000 + rnd.int(400_000); // over MAX_BODY_BYTES (256 KiB), under the API's 1 MiB
      return post(source, 'huge', json(setPath(base(source, i), field, 'x'.repeat(size))), ['body', 'bytes'], `${field} of ${size} characters`);
    },
    'deep-nesting': (source, i) => {
      const field = rnd.pick(FIELDS[source].freeForm);
      const inner = `${field}.${rnd.pick(['nested', 'detail', 'x'])}`;
      const marker = '"__DEEP__"';
      const text = JSON.stringify(setPath(base(source, i), inner, '__DEEP__')).replace(marker, deep(10_000));
      return post(source, 'deep-nesting', Buffer.from(text, 'utf8'), namesFor(inner, field), `${inner} nested 10,000 deep`);
    },
    'odd-unicode': (source, i) => {
      const kind = rnd.pick(['lone-surrogate', 'nul', 'bidi', 'invalid-utf8'] as const);
      if (kind === 'invalid-utf8') {
        const field = rnd.pick(FIELDS[source].strings);
        const text = JSON.stringify(setPath(base(source, i), field, '__BYTES__'));
        const [before, after] = text.split('__BYTES__');
        const bad = rnd.pick([Buffer.from([0xc3, 0x28]), Buffer.from([0xff, 0xfe]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xe2, 0x82])]);
        // Named precisely by the field that holds the bytes or by the encoding the body breaks.
        return post(source, 'odd-unicode', Buffer.concat([Buffer.from(`${before}ok`, 'utf8'), bad, Buffer.from(after, 'utf8')]), [field, 'UTF-8', 'utf8'], `${field} with invalid UTF-8 bytes ${bad.toString('hex')}`);
      }
      if (kind === 'lone-surrogate') {
        const field = rnd.pick(FIELDS[source].strings);
        const surrogate = rnd.pick(['\\ud800', '\\udfff', '\\udbff\\u0041']);
        const text = JSON.stringify(setPath(base(source, i), field, `x__S__y`)).replace('__S__', surrogate);
        return post(source, 'odd-unicode', Buffer.from(text, 'utf8'), namesFor(field), `${field} with a lone surrogate ${surrogate}`);
      }
      // NUL and bidi controls where the valid values are a closed set: the value cannot be valid.
      const field = rnd.pick(FIELDS[source].closed);
      const current = field.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], base(source, i));
      const odd = kind === 'nul' ? '\u0000' : rnd.pick(['\u202e', '\u2066', '\u200f']);
      return post(source, 'odd-unicode', json(setPath(base(source, i), field, `${String(current ?? 'x')}${odd}`)), namesFor(field), `${field} with ${kind} U+${odd.codePointAt(0)?.toString(16).padStart(4, '0')}`);
    },
    'big-number': (source, i) => {
      const field = rnd.pick(FIELDS[source].numbers);
      const literal = rnd.pick(['9007199254740993', '12345678901234567890', '1e308', '1e400', '-1e400', '1e20']);
      const text = JSON.stringify(setPath(base(source, i), field, '__N__')).replace('"__N__"', literal);
      return post(source, 'big-number', Buffer.from(text, 'utf8'), namesFor(field), `${field} = ${literal}`);
    },
    'wrong-credentials': (source, i) => {
      const body = json(base(source, i));
      const variants: [Record<string, string>, string[], string][] = [
        [{ 'content-type': 'application/json' }, ['x-autopilot-secret', 'authorization'], 'no credential'],
        [{ 'content-type': 'application/json', 'x-autopilot-secret': `${secret}x` }, ['x-autopilot-secret'], 'wrong secret'],
        [{ 'content-type': 'application/json', 'x-autopilot-secret': '' }, ['x-autopilot-secret'], 'empty secret'],
        [{ 'content-type': 'application/json', authorization: 'Bearer not-the-secret' }, ['authorization', 'x-autopilot-secret'], 'wrong bearer'],
        [{ 'content-type': 'application/json', authorization: `Basic ${Buffer.from('user:wrong').toString('base64')}` }, ['authorization', 'x-autopilot-secret'], 'wrong basic auth'],
        [{ 'content-type': 'application/json', 'x-autopilot-signature': `sha256=${'0'.repeat(64)}` }, ['x-autopilot-signature'], 'wrong signature'],
        [{ 'content-type': 'application/json', 'x-autopilot-signature': 'md5=abc' }, ['x-autopilot-signature'], 'malformed signature'],
      ];
      const [headers, mentions, what] = rnd.pick(variants);
      return post(source, 'wrong-credentials', body, mentions, what, headers);
    },
    'wrong-content-type': (source, i) => {
      const contentType = rnd.pick(['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x', 'image/png']);
      // An otherwise valid alert: only the declared type is wrong (for one canary service, so an accepted one opens at most one incident).
      const body = json(validAlert(source, 'soak-hostile-content-type', `content-type-${seed}-${i}`));
      return post(source, 'wrong-content-type', body, ['content-type'], `content-type ${contentType}`, { 'x-autopilot-secret': secret, 'content-type': contentType });
    },
    'path-trick': (source, i) => {
      const body = json(base(source, i));
      const variants: [string, string, readonly string[] | null][] = [
        ['POST', `/alerts/../incidents`, null],
        ['POST', `/alerts/%2e%2e/incidents`, null],
        ['POST', `/alerts/${source}%2Fx`, ['source']],
        ['POST', `/alerts/${source.slice(0, 3)}%2F${source.slice(3)}`, ['source']],
        ['POST', `/alerts/unknown-${rnd.int(1000)}`, ['source']],
        ['POST', `/alerts/${source.toUpperCase()}`, ['source']],
        ['POST', `/alerts/${'a'.repeat(4000 + rnd.int(4000))}`, ['source']],
        ['POST', `/alerts/${source}/extra`, null],
        ['POST', `/alerts//${source}`, null],
        ['POST', `/alerts/${source}%00`, ['source']],
        ['POST', `/alerts/%zz`, null],
        ['PUT', `/alerts/${source}`, null],
      ];
      const [method, path, mentions] = rnd.pick(variants);
      return { category: 'path-trick', source, method, path, headers: auth, body, mentions, what: `${method} ${path.length > 60 ? `${path.slice(0, 40)}… (${path.length} chars)` : path}` };
    },
  };
  const categories = Object.keys(builders);
  return Array.from({ length: count }, (_, i) => {
    const category = categories[i % categories.length];
    const source = SOURCES[Math.floor(i / categories.length) % SOURCES.length];
    return builders[category](source, i);
  });
};

/** Whether a 4xx answer names what the case expects (see the module comment). */
const namesTheField = (c: HostileCase, a: Answer): boolean | 'n/a' => {
  if (c.mentions === null) return 'n/a';
  let texts: string[] = [a.text];
  try {
    const body = JSON.parse(a.text) as { message?: unknown; problems?: unknown };
    texts = [String(body.message ?? ''), ...(Array.isArray(body.problems) ? body.problems.map(String) : [])];
  } catch {
    // not JSON: the raw text
  }
  const lower = texts.map((t) => t.toLowerCase());
  return c.mentions.some((m) => lower.some((t) => t.includes(m.toLowerCase())));
};

const runHostile = async (o: Options) => {
  const { startTwin } = await import('../lib/local/twin.ts');
  const twin = await startTwin({ inMemory: true, waitOverrideMs: 0, console: false });
  try {
    let events = 0;
    twin.onEvent(() => {
      events += 1;
    });
    const cases = generateHostile(o.hostile, o.seed, twin.secret);
    log(`hostile: ${cases.length} requests, ${o.concurrency} in flight`);
    const started = performance.now();
    let done = 0;
    const answers = await pool(cases.length, o.concurrency, async (i) => {
      const c = cases[i];
      const a = await send(twin.url, { method: c.method, path: c.path, headers: c.headers, body: c.body });
      done += 1;
      if (done % 500 === 0) log(`hostile: ${done}/${cases.length}`);
      return a;
    });
    const wallMs = performance.now() - started;
    await settle(twin, 60_000);
    const incidents = await scanIncidents(twin);
    const executions = await listExecutions(twin);

    const byCategory: Record<string, { statuses: Record<string, number>; namesField: number; missesField: number; notApplicable: number }> = {};
    const misses: { category: string; source: string; what: string; status: number; message: string }[] = [];
    const accepted: { category: string; source: string; what: string; status: number }[] = [];
    let fourxx = 0;
    let named = 0;
    let notApplicable = 0;
    cases.forEach((c, i) => {
      const a = answers[i];
      const entry = (byCategory[c.category] ??= { statuses: {}, namesField: 0, missesField: 0, notApplicable: 0 });
      const key = a.status === 0 ? 'network-error' : String(a.status);
      entry.statuses[key] = (entry.statuses[key] ?? 0) + 1;
      if (a.status < 400 || a.status >= 500) {
        if (a.status > 0 && a.status < 400) accepted.push({ category: c.category, source: c.source, what: c.what, status: a.status });
        return;
      }
      fourxx += 1;
      const names = namesTheField(c, a);
      if (names === 'n/a') {
        entry.notApplicable += 1;
        notApplicable += 1;
      } else if (names) {
        entry.namesField += 1;
        named += 1;
      } else {
        entry.missesField += 1;
        if (misses.length < 25) misses.push({ category: c.category, source: c.source, what: c.what, status: a.status, message: a.text.slice(0, 200) });
      }
    });
    const statuses = countStatuses(answers);
    const fiveXX = answers.filter((a) => a.status >= 500).length;
    return {
      phase: 'hostile',
      requests: cases.length,
      seed: o.seed,
      wallMs: Math.round(wallMs),
      statuses,
      latency: latencySummary(answers.map((a) => a.ms)),
      byCategory,
      fieldNaming: { fourxx, namesField: named, missesField: fourxx - named - notApplicable, notApplicable, firstMisses: misses },
      acceptedSamples: accepted.slice(0, 25),
      incidents: { count: incidents.length, byStatus: countBy(incidents, (r) => r.status) },
      executions: executions.length,
      events,
      throttle: twin.apiThrottleStats()['ingest-alert'],
      expectations: [
        expect('no 5xx', 0, fiveXX),
        expect('every request answered 4xx', cases.length, fourxx),
        expect('no incident', 0, incidents.length),
        expect('no execution', 0, executions.length),
        expect('no event published', 0, events),
        expect('every 4xx names the field (n/a: no route)', 0, fourxx - named - notApplicable),
      ],
    };
  } finally {
    await twin.stop();
  }
};

// ───────────────────────────── phase: duplicates ─────────────────────────────

const MAX_RETRY_ROUNDS = 20;
const RETRY_BUDGET_MS = 120_000;

/** The answer's Retry-After in ms, read as the CLI reads it (delta seconds only); undefined when absent or malformed. */
const retryAfterMs = (a: Answer): number | undefined => {
  const v = a.headers['retry-after'];
  const seconds = retryAfterSeconds(typeof v === 'string' ? v : null);
  return seconds === undefined ? undefined : seconds * 1000;
};

const isShed = (a: Answer) => a.status === 429 || a.status === 503;

/** A 5xx that is not load deliberately shed: every 5xx but a 503 that says when to come back. */
const isUnexpected5xx = (a: Answer) => a.status >= 500 && !(a.status === 503 && retryAfterMs(a) !== undefined);

/**
 * Sends every body at once, then re-sends the shed ones (429/503) after the largest Retry-After they carried, as a
 * vendor retries; at most MAX_RETRY_ROUNDS rounds and RETRY_BUDGET_MS in all.
 */
const deliverWithRetries = async (url: string, headers: Record<string, string>, path: string, bodies: Buffer[], concurrency: number) => {
  const first: Answer[] = [];
  const all: Answer[] = [];
  const final = new Array<Answer>(bodies.length);
  let pending = bodies.map((_, i) => i);
  const deadline = Date.now() + RETRY_BUDGET_MS;
  let rounds = 0;
  for (; rounds <= MAX_RETRY_ROUNDS && pending.length > 0 && Date.now() < deadline; rounds += 1) {
    const answers = await pool(pending.length, concurrency, (k) => send(url, { method: 'POST', path, headers, body: bodies[pending[k]] }));
    all.push(...answers);
    if (rounds === 0) first.push(...answers);
    answers.forEach((a, k) => {
      final[pending[k]] = a;
    });
    const shed = pending.filter((_, k) => isShed(answers[k]));
    log(`  round ${rounds}: ${JSON.stringify(countStatuses(answers))}`);
    if (shed.length === 0) {
      pending = [];
      break;
    }
    const wait = Math.max(1000, ...answers.filter(isShed).map((a) => retryAfterMs(a) ?? 1000));
    pending = shed;
    await sleep(Math.min(wait, Math.max(0, deadline - Date.now())));
  }
  return { first, all, final, rounds, stillShed: pending.length };
};

const runDuplicates = async (o: Options) => {
  const { startTwin } = await import('../lib/local/twin.ts');
  const twin = await startTwin({ inMemory: true, waitOverrideMs: 0, console: false });
  try {
    const opened: string[] = [];
    const published: Record<string, number> = {};
    twin.onEvent((e) => {
      published[e['detail-type']] = (published[e['detail-type']] ?? 0) + 1;
      if (e['detail-type'] === 'Incident Opened') opened.push(String((e.detail as { incidentId?: string }).incidentId));
    });
    const body = Buffer.from(JSON.stringify(sample('dynatrace')), 'utf8');
    log(`duplicates: ${o.duplicates} deliveries of one Dynatrace problem, all at once`);
    const started = performance.now();
    const run = await deliverWithRetries(twin.url, { 'x-autopilot-secret': twin.secret, 'content-type': 'application/json' }, '/alerts/dynatrace', Array.from({ length: o.duplicates }, () => body), o.duplicates);
    const wallMs = performance.now() - started;
    const settled = await settle(twin, 120_000);
    const incidents = await scanIncidents(twin);
    const executions = await listExecutions(twin);
    const shedAnswers = run.all.filter(isShed);
    const acceptedIds = new Set(run.final.filter((a) => a?.status === 202).map((a) => (JSON.parse(a.text) as { incidentId?: string }).incidentId));
    const executionNames = new Set(executions.map((e) => e.name));
    const fiveXXNotShed = run.all.filter(isUnexpected5xx).length;
    return {
      phase: 'duplicates',
      deliveries: o.duplicates,
      wallMs: Math.round(wallMs),
      statusesFirstRound: countStatuses(run.first),
      statusesAllAttempts: countStatuses(run.all),
      statusesFinal: countStatuses(run.final.filter(Boolean)),
      retryRounds: run.rounds,
      stillShedAfterRetries: run.stillShed,
      latencyFirstRound: latencySummary(run.first.map((a) => a.ms)),
      shed: { answers: shedAnswers.length, withRetryAfter: shedAnswers.filter((a) => retryAfterMs(a) !== undefined).length, byStatus: countStatuses(shedAnswers), twinThrottle: twin.apiThrottleStats()['ingest-alert'] },
      incidents: { count: incidents.length, byStatus: countBy(incidents, (r) => r.status) },
      executions: executions.length,
      executionsSettled: settled,
      eventsPublished: published,
      expectations: [
        expect('one incident', 1, incidents.length),
        expect('one execution', 1, executions.length),
        expect('exactly one Incident Opened', 1, opened.length),
        expect('no 5xx other than a 503 shed with Retry-After', 0, fiveXXNotShed),
        expect('every 429/503 carries Retry-After', shedAnswers.length, shedAnswers.filter((a) => retryAfterMs(a) !== undefined).length),
        expect('every accepted delivery names an incident that has an execution', true, [...acceptedIds].every((id) => id !== undefined && executionNames.has(id))),
        expect('every delivery accepted in the end', o.duplicates, run.final.filter((a) => a?.status === 202).length),
      ],
    };
  } finally {
    await twin.stop();
  }
};

// ───────────────────────────── phase: storm ─────────────────────────────

const STORM_SPREAD_MS = 20_000;

const runStorm = async (o: Options, variant: 'escalating' | 'awaiting-approval') => {
  const { startTwin } = await import('../lib/local/twin.ts');
  // Real waits are irrelevant here; the approval deadline is long, so incidents stay AWAITING_APPROVAL.
  const twin = await startTwin({ inMemory: true, waitOverrideMs: 0, autoApproveLowRisk: variant === 'escalating', approvalTimeoutSeconds: 3600 });
  try {
    const awaiting = new Set<string>();
    let opened = 0;
    twin.onEvent((e) => {
      const id = String((e.detail as { incidentId?: string }).incidentId);
      if (e['detail-type'] === 'Approval Requested') awaiting.add(id);
      if (e['detail-type'] === 'Incident Opened') opened += 1;
    });
    // Three services: in w1 (no world: the agents cannot read telemetry and the incident escalates), or three seeded
    // worlds whose plans wait for a human (AUTO_APPROVE_LOW_RISK=false).
    let targets: { service: string; environment: string; problem?: Record<string, unknown> }[];
    if (variant === 'escalating') targets = ['checkout-service', 'inventory-service', 'payment-service'].map((service) => ({ service, environment: 'w1' }));
    else {
      const { seedScenario } = await import('../lib/local/incident-run.ts');
      targets = [];
      for (let k = 0; k < 3; k += 1) {
        const { worldId, alert } = await seedScenario(twin, 'db-pool-exhaustion', { recoveryLagSeconds: 0, worldId: `w-soak-${o.seed}-${k}` });
        const problem = alert.payload;
        targets.push({ service: String(problem.ImpactedEntity), environment: worldId, problem });
      }
    }
    const bodies = Array.from({ length: o.storm }, (_, i) => {
      const t = targets[i % targets.length];
      const id = `storm-${o.seed}-${i}`;
      // The w1 storm mixes every source; the approval storm repeats each world's Dynatrace problem under new PIDs.
      if (!t.problem) {
        const source = SOURCES[i % SOURCES.length];
        return { source, body: Buffer.from(JSON.stringify(validAlert(source, t.service, id, `${t.service} alert ${i}`)), 'utf8') };
      }
      const problem: Record<string, unknown> = { ...structuredClone(t.problem), PID: id, ProblemTitle: `${String(t.problem.ProblemTitle)} (${i})` };
      delete problem.ProblemDetailsJSONv2;
      return { source: 'dynatrace' as Source, body: Buffer.from(JSON.stringify(problem), 'utf8') };
    });
    log(`storm (${variant}): ${o.storm} distinct alerts over ${targets.length} services in ${STORM_SPREAD_MS / 1000} s`);
    const headers = { 'x-autopilot-secret': twin.secret, 'content-type': 'application/json' };
    const started = performance.now();
    const answers: Answer[] = [];
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < bodies.length; i += 1) {
      const due = started + (i * STORM_SPREAD_MS) / bodies.length;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      // A shed alert is retried after its Retry-After, as a vendor would (bounded: a few rounds).
      inFlight.push(
        (async () => {
          for (let attempt = 0; attempt < 5; attempt += 1) {
            const a = await send(twin.url, { method: 'POST', path: `/alerts/${bodies[i].source}`, headers, body: bodies[i].body });
            answers.push(a);
            if (!isShed(a)) return;
            await sleep(retryAfterMs(a) ?? 1000);
          }
        })(),
      );
    }
    await Promise.all(inFlight);
    const sendMs = performance.now() - started;
    // Escalating incidents end; approval-waiting ones stay RUNNING at "Request approval", by design.
    const settled = await settle(twin, 120_000, () => awaiting);
    const incidents = await scanIncidents(twin);
    const executions = await listExecutions(twin);
    return {
      variant,
      alerts: o.storm,
      services: targets.map((t) => `${t.environment}/${t.service}`),
      sendWallMs: Math.round(sendMs),
      statuses: countStatuses(answers),
      latency: latencySummary(answers.map((a) => a.ms)),
      incidents: { count: incidents.length, byStatus: countBy(incidents, (r) => r.status), byService: countBy(incidents, (r) => r.service ?? '?') },
      executions: executions.length,
      incidentOpenedEvents: opened,
      executionsSettled: settled,
      throttle: twin.apiThrottleStats()['ingest-alert'],
      expectations: [
        expect(`${targets.length} incidents`, targets.length, incidents.length),
        expect('sent within a minute', true, sendMs < 60_000),
        expect('no 5xx', 0, answers.filter(isUnexpected5xx).length),
        expect('every alert accepted (202) in the end', o.storm, answers.filter((a) => a.status === 202).length),
      ],
    };
  } finally {
    await twin.stop();
  }
};

// ───────────────────────────── phase: crash ─────────────────────────────

interface ServeLine {
  event: string;
  [k: string]: unknown;
}

/** `autopilot serve --json` as a child process, its JSON lines delivered to `onLine`. */
const startServe = (dataDir: string, extra: string[], onLine: (l: ServeLine) => void): ChildProcess => {
  const child = spawn(process.execPath, [join(root, 'bin/autopilot.ts'), '--data-dir', dataDir, '--json', 'serve', '--port', '0', ...extra], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  if (child.stdout) createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      onLine(JSON.parse(line) as ServeLine);
    } catch {
      // not a JSON line
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`  [serve] ${chunk.toString('utf8')}`));
  return child;
};

const waitFor = <T>(what: string, timeoutMs: number, subscribe: (resolve: (v: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not seen within ${timeoutMs / 1000} s`)), timeoutMs);
    subscribe((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });

const runCli = (args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin/autopilot.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });

const stopChild = async (child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> => {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await Promise.race([exited, sleep(15_000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
};

const runCrash = async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'autopilot-soak-crash-'));
  const listeners = new Set<(l: ServeLine) => void>();
  const onLine = (l: ServeLine) => {
    for (const f of listeners) f(l);
  };
  const on = (f: (l: ServeLine) => void) => listeners.add(f);
  let child: ChildProcess | undefined;
  const timeline: { at: number; what: string }[] = [];
  const t0 = performance.now();
  const mark = (what: string) => {
    timeline.push({ at: Math.round(performance.now() - t0), what });
    log(`crash: ${what}`);
  };
  try {
    // 1. First start: the demo (a seeded db-pool-exhaustion incident whose mitigation the demo approves) runs.
    const ready = waitFor<ServeLine>('first start', 60_000, (resolve) => on((l) => l.event === 'ready' && resolve(l)));
    const executed = waitFor<string>('Mitigation Executed of the demo incident', 120_000, (resolve) =>
      on((l) => l.event === 'bus' && l.detailType === 'Mitigation Executed' && resolve(String((l.detail as { incidentId?: string }).incidentId))),
    );
    // Registered now: the Wait state is entered right after the mitigation, often in the same output chunk.
    const waiting = waitFor<void>('Wait for recovery', 180_000, (resolve) => on((l) => l.event === 'state' && l.state === 'Wait for recovery' && l.type === 'entered' && resolve()));
    waiting.catch(() => undefined);
    child = startServe(dataDir, ['--demo-approval', 'auto'], onLine);
    await ready;
    mark('serve started (demo on)');
    const incidentId = await executed;
    mark(`mitigation executed for ${incidentId}`);
    await waiting;
    await sleep(2000);
    // 2. kill -9 during the recovery wait.
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    mark('serve killed with SIGKILL during "Wait for recovery"');

    // 3. Restart on the same data directory, then `autopilot rerun <id>`.
    listeners.clear();
    const ready2 = waitFor<ServeLine>('restart', 60_000, (resolve) => on((l) => l.event === 'ready' && resolve(l)));
    const outcome = waitFor<ServeLine>('the rerun outcome', 240_000, (resolve) => on((l) => l.event === 'outcome' && l.incidentId === incidentId && resolve(l)));
    outcome.catch(() => undefined);
    child = startServe(dataDir, ['--no-demo'], onLine);
    await ready2;
    mark('serve restarted');
    const rerun = await runCli(['--data-dir', dataDir, '--json', 'rerun', incidentId, '--wait', '30'], 60_000);
    mark(`autopilot rerun exited ${rerun.code}: ${(rerun.stdout || rerun.stderr).trim().slice(0, 200)}`);
    let final: ServeLine | undefined;
    let outcomeError: string | undefined;
    if (rerun.code === 0) {
      try {
        final = await outcome;
        mark(`outcome: ${String(final.status)}`);
      } catch (error) {
        outcomeError = (error as Error).message;
        mark(outcomeError);
      }
    }
    await stopChild(child, 'SIGTERM');
    child = undefined;

    // 4. Count from the event log on disk (both runs).
    const lines = readFileSync(join(dataDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { 'detail-type': string; detail: { incidentId?: string; mode?: string; actions?: unknown[] } });
    const mine = lines.filter((e) => e.detail?.incidentId === incidentId);
    const applied = mine.filter((e) => e['detail-type'] === 'Mitigation Executed' && e.detail.mode !== 'undo');
    return {
      phase: 'crash',
      incidentId,
      wallMs: Math.round(performance.now() - t0),
      timeline,
      rerun: { exitCode: rerun.code, output: (rerun.stdout || rerun.stderr).trim().slice(0, 500) },
      finalStatus: final?.status ?? null,
      outcomeError: outcomeError ?? null,
      eventsOfIncident: countBy(mine, (e) => e['detail-type']),
      mitigationsExecuted: applied.length,
      actionsApplied: applied.reduce((n, e) => n + (e.detail.actions?.length ?? 0), 0),
      expectations: [expect('rerun accepted', 0, rerun.code), expect('one mitigation executed in all', 1, applied.length), expect('the rerun reached an outcome', true, final !== undefined)],
    };
  } finally {
    await stopChild(child, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
};

// ───────────────────────────── orchestration ─────────────────────────────

type PhaseResult = Record<string, unknown> & { expectations?: Expectation[] };

/** A worker: one phase in this process (with its own twin), its result as JSON on stdout. */
const runWorker = async (name: string, o: Options): Promise<void> => {
  let result: unknown;
  if (name === 'hostile') result = await runHostile(o);
  else if (name === 'duplicates') result = await runDuplicates(o);
  else if (name === 'storm-escalating') result = await runStorm(o, 'escalating');
  else if (name === 'storm-awaiting-approval') result = await runStorm(o, 'awaiting-approval');
  else if (name === 'crash') result = await runCrash();
  else throw new UsageError(`unknown worker ${name}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
};

/** Runs one worker as a child process (bounded by the phase timeout) and returns its JSON, or what went wrong. */
const runChild = (name: string, argv: readonly string[], timeoutS: number): Promise<PhaseResult> =>
  new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...argv, '--worker', name], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const wallMs = Math.round(performance.now() - started);
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        if (code === 0) return resolve({ ...(JSON.parse(last) as PhaseResult), processWallMs: wallMs });
      } catch {
        // fall through
      }
      const why = timedOut ? `did not finish within the phase timeout of ${timeoutS} s` : `exited ${code ?? signal}`;
      resolve({ phase: name, error: why, processWallMs: wallMs, expectations: [expect('phase completed', true, false)] });
    });
  });

const main = async (): Promise<number> => {
  const o = parseOptions(process.argv.slice(2));
  if (o.worker) {
    await runWorker(o.worker, o);
    return 0;
  }
  const argv = ['--hostile', String(o.hostile), '--duplicates', String(o.duplicates), '--storm', String(o.storm), '--seed', String(o.seed), '--concurrency', String(o.concurrency)];
  const started = performance.now();
  const phases: Record<string, unknown> = {};
  for (const phase of o.phases) {
    log(`phase ${phase}`);
    if (phase === 'storm') {
      const escalating = await runChild('storm-escalating', argv, o.phaseTimeoutS);
      const awaiting = await runChild('storm-awaiting-approval', argv, o.phaseTimeoutS);
      phases.storm = { escalating, awaitingApproval: awaiting, expectations: [...(escalating.expectations ?? []).map((e) => ({ ...e, name: `escalating: ${e.name}` })), ...(awaiting.expectations ?? []).map((e) => ({ ...e, name: `awaiting approval: ${e.name}` }))] };
    } else phases[phase] = await runChild(phase, argv, o.phaseTimeoutS);
  }
  const all = Object.entries(phases).flatMap(([phase, r]) => ((r as PhaseResult).expectations ?? []).map((e) => ({ phase, ...e })));
  const failed = all.filter((e) => !e.held);
  const result = {
    soak: 'incident-autopilot twin',
    options: o,
    node: process.version,
    wallMs: Math.round(performance.now() - started),
    phases,
    expectationsHeld: all.length - failed.length,
    expectationsFailed: failed.map((e) => `${e.phase}: ${e.name} (expected ${JSON.stringify(e.expected)}, got ${JSON.stringify(e.actual)})`),
    ok: failed.length === 0,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return failed.length === 0 ? 0 : 1;
};

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    process.exit(error instanceof UsageError ? 64 : 2);
  },
);
