/**
 * Logs port over Splunk's search REST API: one `POST /services/search/v2/jobs/export` (form fields
 * `search`, `output_mode=json`), which runs the search and streams the results as JSON lines
 * (`{"preview":false,"result":{…}}`) without creating a job to poll.
 *
 * The search is `search index="…" <serviceField> IN ("a","b") <levelField> IN ("WARN","WARNING",…)
 * earliest=<epoch> latest=<epoch> | head N | fields …`. Every user-controlled value is a double-quoted SPL
 * string with `\` and `"` escaped, so a service name can never add a pipe or a command; field names are
 * configuration and are checked against a strict pattern at construction.
 *
 * Levels: Splunk data spells levels in many ways (WARNING, ERR, CRITICAL, SEVERE, TRACE…); the search asks
 * for every spelling at or above `minLevel` and the results are mapped back onto our five levels.
 *
 * Auth: a Splunk authentication token, `Authorization: Bearer <token>` (or `Splunk <token>` for a session
 * key). The management port (8089) often has a self-signed certificate: give Node the CA
 * (`NODE_EXTRA_CA_CERTS`), do not disable verification. `scope.environment` is not used.
 */
import { type LogLine, type Logs, type TimeWindow, type ToolScope, ToolUnavailable } from '../ports.ts';
import { type Credential, HttpClient, type RetryPolicy, resolveCredential } from './http.ts';
import { byCodeUnit } from '../../compare.ts';

const VENDOR = 'Splunk';

export interface SplunkOptions extends RetryPolicy {
  /** Management endpoint, e.g. `https://splunk.example.com:8089`. */
  readonly baseUrl: string;
  readonly token: Credential;
  /** `Bearer` for authentication tokens (default), `Splunk` for session keys. */
  readonly authScheme?: 'Bearer' | 'Splunk';
  /** Index to search. @default 'main' */
  readonly index?: string;
  /** Field holding the service name. @default 'service' */
  readonly serviceField?: string;
  /** Field holding the level. @default 'log_level' */
  readonly levelField?: string;
  readonly fetch?: typeof globalThis.fetch;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** An export runs the whole search before the last line arrives: give it longer than a REST lookup. */
const DEFAULT_SPLUNK_TIMEOUT_MS = 30_000;
const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 10_000;
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

const LEVELS: readonly LogLine['level'][] = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
/** Spellings seen in the wild for each of our levels. */
export const LEVEL_SPELLINGS: Readonly<Record<LogLine['level'], readonly string[]>> = {
  DEBUG: ['DEBUG', 'TRACE', 'FINE', 'FINER', 'FINEST'],
  INFO: ['INFO', 'NOTICE', 'INFORMATION'],
  WARN: ['WARN', 'WARNING'],
  ERROR: ['ERROR', 'ERR', 'SEVERE'],
  FATAL: ['FATAL', 'CRITICAL', 'CRIT', 'ALERT', 'EMERG', 'EMERGENCY', 'PANIC'],
};
const LEVEL_OF = new Map(Object.entries(LEVEL_SPELLINGS).flatMap(([level, spellings]) => spellings.map((s) => [s, level as LogLine['level']])));

export class InvalidSplunkField extends Error {
  override name = 'InvalidSplunkField';
}

/** A double-quoted SPL string literal. */
export const splString = (value: string): string => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

const field = (name: string, option: string): string => {
  if (!FIELD_NAME.test(name)) throw new InvalidSplunkField(`${option} must be a plain Splunk field name (letters, digits, _ and .), got "${name}"`);
  return name;
};

const epochSeconds = (name: string, iso: string): number => {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new ToolUnavailable(VENDOR, `${name} is not an ISO 8601 time: "${iso}"`);
  return Math.floor(t / 1000);
};

export class SplunkLogs implements Logs {
  readonly #http: HttpClient;
  readonly #index: string;
  readonly #serviceField: string;
  readonly #levelField: string;

  constructor(options: SplunkOptions) {
    const { token, authScheme = 'Bearer' } = options;
    this.#http = new HttpClient({
      timeoutMs: DEFAULT_SPLUNK_TIMEOUT_MS,
      ...options,
      vendor: VENDOR,
      auth: async () => ({ authorization: `${authScheme} ${await resolveCredential(VENDOR, 'token', token)}` }),
    });
    this.#index = options.index ?? 'main';
    this.#serviceField = field(options.serviceField ?? 'service', 'serviceField');
    this.#levelField = field(options.levelField ?? 'log_level', 'levelField');
  }

  /** The SPL this adapter sends (exported for tests and for showing in evidence). */
  spl(q: TimeWindow & { services: readonly string[]; minLevel?: LogLine['level']; limit?: number }): string {
    const limit = Math.min(MAX_LIMIT, Math.max(1, Math.floor(q.limit ?? DEFAULT_LIMIT)));
    const levels = LEVELS.slice(LEVELS.indexOf(q.minLevel ?? 'DEBUG')).flatMap((l) => LEVEL_SPELLINGS[l]);
    const clauses = [
      `search index=${splString(this.#index)}`,
      `${this.#serviceField} IN (${q.services.map(splString).join(',')})`,
      // DEBUG and up is everything: no level filter, so lines without a level field are kept.
      ...(q.minLevel && q.minLevel !== 'DEBUG' ? [`${this.#levelField} IN (${levels.map(splString).join(',')})`] : []),
      `earliest=${epochSeconds('from', q.from)}`,
      `latest=${epochSeconds('to', q.to)}`,
    ];
    return `${clauses.join(' ')} | head ${limit} | fields _time, host, _raw, message, trace_id, traceId, ${this.#serviceField}, ${this.#levelField}`;
  }

  async search(q: ToolScope & TimeWindow & { services: readonly string[]; minLevel?: LogLine['level']; limit?: number }): Promise<LogLine[]> {
    if (q.services.length === 0) return [];
    const response = await this.#http.request({
      method: 'POST',
      path: '/services/search/v2/jobs/export',
      form: { search: this.spl(q), output_mode: 'json' },
      // The export only runs a search: safe to send again after a timeout.
      retryUnanswered: true,
    });
    const lines: LogLine[] = [];
    const errors: string[] = [];
    for (const text of response.text.split('\n')) {
      if (text.trim() === '') continue;
      let row: { preview?: boolean; result?: Record<string, unknown>; messages?: { type?: string; text?: string }[] };
      try {
        row = JSON.parse(text) as typeof row;
      } catch {
        throw new ToolUnavailable(VENDOR, `export stream has a line that is not JSON: ${text.slice(0, 120)}`);
      }
      for (const m of row.messages ?? []) if (m.type === 'ERROR' || m.type === 'FATAL') errors.push(m.text ?? m.type);
      if (row.preview === true || !row.result) continue;
      const line = this.#line(row.result);
      if (line) lines.push(line);
    }
    if (lines.length === 0 && errors.length > 0) throw new ToolUnavailable(VENDOR, `search failed: ${errors.join('; ')}`);
    return lines.sort((a, b) => byCodeUnit(a.timestamp, b.timestamp));
  }

  #line(result: Record<string, unknown>): LogLine | undefined {
    const str = (key: string): string | undefined => {
      const v = result[key];
      // Multivalue fields arrive as arrays: take the first value.
      const first = Array.isArray(v) ? v[0] : v;
      return first === undefined || first === null ? undefined : String(first);
    };
    const time = Date.parse(str('_time') ?? '');
    if (Number.isNaN(time)) return undefined;
    const rawLevel = (str(this.#levelField) ?? '').toUpperCase();
    const host = str('host');
    const traceId = str('trace_id') ?? str('traceId');
    return {
      timestamp: new Date(time).toISOString(),
      service: str(this.#serviceField) ?? 'unknown',
      level: LEVEL_OF.get(rawLevel) ?? 'INFO',
      message: str('message') ?? str('_raw') ?? '',
      ...(host ? { host } : {}),
      ...(traceId ? { traceId } : {}),
    };
  }
}
