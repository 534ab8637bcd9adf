/**
 * The small HTTP client every outbound call uses (the vendor adapters, and the signed action webhook):
 * global `fetch` with a per-attempt timeout (`AbortSignal.timeout`, covering the body read too), bounded
 * retries with exponential backoff and full jitter on 429 / 5xx, and on network errors / timeouts when the
 * request is safe to repeat (a 429's or 503's `Retry-After` is honoured, within a cap), and every failure
 * surfaced as `ToolUnavailable` ("ServiceNow unavailable: 503 …") so the agent records a gap and goes on.
 *
 * Credentials travel only in request headers built per attempt by `auth()`; error messages carry the
 * method, the path (never the query string, never headers) and at most a short excerpt of the vendor's
 * error body. This module logs nothing.
 */
import type * as z from 'zod';
import { ConfigError } from '../../config.ts';
import { ToolUnavailable } from '../ports.ts';

/** A secret value, or a function returning it (so a rotated secret is picked up; see ../adapters.ts). */
export type Credential = string | (() => Promise<string>);

export const resolveCredential = async (vendor: string, what: string, credential: Credential): Promise<string> => {
  let value: string;
  try {
    value = typeof credential === 'string' ? credential : await credential();
  } catch (error) {
    // The secret store's message names the secret id, never its value.
    throw new ToolUnavailable(vendor, `cannot read the ${what}: ${(error as Error).message}`, { cause: error });
  }
  if (!value) throw new ToolUnavailable(vendor, `the ${what} is empty`);
  return value;
};

export interface RetryPolicy {
  /** Retries after the first attempt. @default 2 */
  readonly retries?: number;
  /** Per-attempt timeout, including reading the body. @default 10_000 */
  readonly timeoutMs?: number;
  /** First backoff step; doubles each retry. @default 250 */
  readonly backoffBaseMs?: number;
  /** Backoff ceiling. @default 5_000 */
  readonly backoffMaxMs?: number;
  /** A `Retry-After` longer than this is not waited for: the call fails at once. @default 30_000 */
  readonly maxRetryAfterMs?: number;
}

/** The request as one attempt sends it: what `auth` may sign. */
export interface OutgoingRequest {
  readonly method: string;
  readonly url: URL;
  readonly body: string | undefined;
}

export interface HttpClientOptions extends RetryPolicy {
  /** Vendor name used in `ToolUnavailable` (`"Dynatrace"`). */
  readonly vendor: string;
  /** The vendor's base URL; a request with the empty path goes to exactly this URL (a webhook's one address). */
  readonly baseUrl: string;
  /**
   * Headers carrying the credentials, built per attempt: a signature then carries a fresh timestamp on every
   * retry, and a rotated secret is picked up between attempts.
   */
  readonly auth: (request: OutgoingRequest) => Promise<Record<string, string>>;
  readonly fetch?: typeof globalThis.fetch;
  /** Injected in tests; real timers otherwise. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export type QueryValue = string | number | boolean | readonly string[] | undefined;

export interface RequestSpec {
  readonly method?: 'GET' | 'POST' | 'PATCH';
  /** Path below the base URL, starting with `/`; `''` is the base URL itself. */
  readonly path: string;
  /** Query parameters; arrays repeat the key (`include[]=a&include[]=b`); undefined values are left out. */
  readonly query?: Record<string, QueryValue>;
  readonly json?: unknown;
  /** `application/x-www-form-urlencoded` body (Splunk). */
  readonly form?: Record<string, string>;
  readonly headers?: Record<string, string>;
  /** Non-2xx statuses the caller handles itself (e.g. ServiceNow's 404 "No Record found"). */
  readonly acceptStatuses?: readonly number[];
  /**
   * Whether an attempt that got no answer (a timeout, a network error) is tried again. A request that creates
   * or does something may have taken effect although its answer was lost: trying again could do it twice, so
   * POST is not retried then unless the caller says it only reads (Splunk's search export).
   * @default true for GET and PATCH (idempotent), false for POST
   */
  readonly retryUnanswered?: boolean;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/**
 * A request that failed for good. Still a `ToolUnavailable` (same name, so Step Functions and the agents see
 * no difference); `problem` is the message without the vendor prefix, for a caller that words its own result
 * (the action webhook).
 */
export class VendorRequestFailed extends ToolUnavailable {
  /** The last HTTP status; undefined when the last attempt got no answer (timeout, network error). */
  readonly status: number | undefined;
  constructor(vendor: string, problem: string, status: number | undefined) {
    super(vendor, problem);
    this.status = status;
  }
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_RETRIES = 2;
const DEFAULT_BACKOFF_BASE_MS = 250;
const DEFAULT_BACKOFF_MAX_MS = 5_000;
const DEFAULT_MAX_RETRY_AFTER_MS = 30_000;
const MAX_ERROR_EXCERPT = 200;
/** Hard ceiling on attempts whatever the configuration says. */
const MAX_ATTEMPTS = 6;

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const isRetryableStatus = (status: number): boolean => status === 429 || (status >= 500 && status <= 599);

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export const parseRetryAfter = (value: string | null, now: number = Date.now()): number | undefined => {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
};

/** One line of the vendor's error body, for the message: whitespace collapsed, truncated. */
const excerpt = (text: string): string => {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_ERROR_EXCERPT ? `${line.slice(0, MAX_ERROR_EXCERPT)}…` : line;
};

const describeError = (error: unknown, timeoutMs: number): string => {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `timed out after ${timeoutMs} ms`;
  const cause = e?.cause?.code ?? e?.cause?.message;
  return cause ? `${e?.message ?? 'network error'} (${cause})` : (e?.message ?? String(error));
};

export class HttpClient {
  readonly vendor: string;
  readonly #base: URL;
  /** The base with a trailing slash, so relative paths resolve below it (`/e/<env-id>/` + `api/v2/…`). */
  readonly #dir: URL;
  readonly #auth: (request: OutgoingRequest) => Promise<Record<string, string>>;
  readonly #fetch: typeof globalThis.fetch;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #attempts: number;
  readonly #timeoutMs: number;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;
  readonly #maxRetryAfterMs: number;

  constructor(options: HttpClientOptions) {
    this.vendor = options.vendor;
    this.#base = new URL(options.baseUrl);
    this.#dir = new URL(this.#base.pathname.endsWith('/') ? this.#base.href : `${this.#base.origin}${this.#base.pathname}/`);
    this.#auth = options.auth;
    // Looked up per call so a test (or a wrapper) can replace global fetch after construction.
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#sleep = options.sleep ?? realSleep;
    this.#random = options.random ?? Math.random;
    this.#attempts = Math.min(MAX_ATTEMPTS, 1 + Math.max(0, Math.floor(options.retries ?? DEFAULT_RETRIES)));
    this.#timeoutMs = Math.max(1, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.#backoffBaseMs = Math.max(0, options.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS);
    this.#backoffMaxMs = Math.max(this.#backoffBaseMs, options.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS);
    this.#maxRetryAfterMs = Math.max(0, options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS);
  }

  /** The absolute URL of a request (exported for the tests and for links in evidence). */
  url(spec: Pick<RequestSpec, 'path' | 'query'>): URL {
    // Keep any path prefix of the base URL (`https://host/e/<env-id>/` for Dynatrace Managed).
    const url = spec.path === '' ? new URL(this.#base) : new URL(spec.path.replace(/^\//, ''), this.#dir);
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) url.searchParams.append(key, v);
      else url.searchParams.append(key, String(value));
    }
    return url;
  }

  /** Full jitter: a uniform wait in [0, min(max, base·2^retry)] spreads retrying clients apart. */
  backoffMs(retry: number): number {
    const ceiling = Math.min(this.#backoffMaxMs, this.#backoffBaseMs * 2 ** retry);
    return Math.round(this.#random() * ceiling);
  }

  /** Sends the request, retrying what is worth retrying; resolves only with a 2xx response. */
  async request(spec: RequestSpec): Promise<HttpResponse> {
    const method = spec.method ?? 'GET';
    const url = this.url(spec);
    const what = `${method} ${url.pathname}`;
    const retryUnanswered = spec.retryUnanswered ?? method !== 'POST';
    const headers: Record<string, string> = { accept: 'application/json', ...spec.headers };
    let body: string | undefined;
    if (spec.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(spec.json);
    } else if (spec.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(spec.form).toString();
    }

    let lastProblem = '';
    let lastStatus: number | undefined;
    for (let attempt = 0; attempt < this.#attempts; attempt += 1) {
      const isLast = attempt === this.#attempts - 1;
      let response: Response;
      let text: string;
      const authHeaders = await this.#auth({ method, url, body });
      try {
        response = await this.#fetch(url, { method, headers: { ...headers, ...authHeaders }, body, signal: AbortSignal.timeout(this.#timeoutMs) });
        text = await response.text();
      } catch (error) {
        lastProblem = `${describeError(error, this.#timeoutMs)} on ${what}`;
        lastStatus = undefined;
        if (!retryUnanswered) throw new VendorRequestFailed(this.vendor, `${lastProblem}; not retried: the ${method} may have taken effect without its answer arriving`, undefined);
        if (isLast) break;
        await this.#sleep(this.backoffMs(attempt));
        continue;
      }
      if ((response.status >= 200 && response.status < 300) || spec.acceptStatuses?.includes(response.status)) return { status: response.status, headers: response.headers, text };

      const detail = excerpt(text);
      lastStatus = response.status;
      lastProblem = `${response.status}${response.statusText ? ` ${response.statusText}` : ''} on ${what}${detail ? `: ${detail}` : ''}`;
      if (!isRetryableStatus(response.status)) throw new VendorRequestFailed(this.vendor, lastProblem, lastStatus);
      if (isLast) break;
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
      if (retryAfter !== undefined && retryAfter > this.#maxRetryAfterMs) {
        throw new VendorRequestFailed(this.vendor, `${lastProblem} (Retry-After ${Math.ceil(retryAfter / 1000)} s is longer than the ${Math.ceil(this.#maxRetryAfterMs / 1000)} s this call may wait)`, lastStatus);
      }
      await this.#sleep(retryAfter ?? this.backoffMs(attempt));
    }
    throw new VendorRequestFailed(this.vendor, `${lastProblem}${this.#attempts > 1 ? ` (after ${this.#attempts} attempts)` : ''}`, lastStatus);
  }

  /** A 2xx JSON response validated by `schema`; a shape mismatch is a `ToolUnavailable` naming the field. */
  async json<S extends z.ZodType>(spec: RequestSpec, schema: S): Promise<z.infer<S>> {
    const response = await this.request(spec);
    return this.parse(response.text, schema, `${spec.method ?? 'GET'} ${this.url(spec).pathname}`);
  }

  parse<S extends z.ZodType>(text: string, schema: S, what: string): z.infer<S> {
    let value: unknown;
    try {
      value = text.trim() === '' ? {} : (JSON.parse(text) as unknown);
    } catch {
      throw new ToolUnavailable(this.vendor, `${what} answered with something that is not JSON: ${excerpt(text)}`);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(body)'}: ${i.message}`).slice(0, 3);
      throw new ToolUnavailable(this.vendor, `unexpected response from ${what}: ${problems.join('; ')}`);
    }
    return parsed.data;
  }
}

/**
 * The base URL of a vendor, checked: https, or http only to a loopback host (tests, a local twin). A token
 * must not cross the network in clear text. URLs come from the environment, so a bad one is a ConfigError
 * (the function fails at cold start) without each caller translating it.
 */
export class VendorUrlInvalid extends ConfigError {
  override name = 'VendorUrlInvalid';
  constructor(message: string) {
    super(`invalid configuration: ${message}`);
  }
}
export const checkBaseUrl = (name: string, value: string): string => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new VendorUrlInvalid(`${name} is not a URL: "${value}"`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new VendorUrlInvalid(`${name} must use https (http is accepted only for localhost): "${url.origin}"`);
  }
  if (url.username || url.password) throw new VendorUrlInvalid(`${name} must not carry credentials in the URL; use the secret instead`);
  return url.toString();
};
