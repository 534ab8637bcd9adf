/**
 * API Gateway (HTTP API, payload format 2.0) for the laptop twin: the same routes as the stack, each request
 * turned into an `APIGatewayProxyEventV2` for the real handler, and its `APIGatewayProxyResultV2` turned back
 * into the HTTP response (including API Gateway's inference for results without a statusCode).
 *
 * Load shedding. On AWS a request storm never queues without bound: the stage's throttle (a token bucket, burst
 * then rate) answers 429 at once, and a function's reserved concurrency caps how many invocations run together.
 * The twin runs every handler on one thread (or a few workers), so without a bound 1,000 simultaneous requests
 * all start, share the CPU, and run past the functions' 15 s timeout into 500s. Each API function therefore gets
 * a `ConcurrencyGate`: at most `concurrency` invocations run (reserved concurrency), at most `queue` more wait for
 * a slot (the burst API Gateway admits beyond what is running), each for at most `maxWaitMs`; any other request is
 * answered at once `429 {"message": "Too Many Requests"}` with `Retry-After`, the body API Gateway's throttle
 * answers with. The defaults (10 running + 90 waiting = 100 at once) match the stage's burst of 100 in
 * lib/alert-api.ts; `AUTOPILOT_API_CONCURRENCY`, `AUTOPILOT_API_QUEUE` and `AUTOPILOT_API_QUEUE_WAIT_MS` change
 * them. What was shed is counted per function (`LocalApi.throttleStats()`).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { API_ROUTES, type ApiRoute } from '../../functions/registry.ts';
import { LOCAL_ACCOUNT, MAX_API_BODY_BYTES } from './constants.ts';
import { BodyTooLarge, closeServer, listen, readBody, sendJson } from './http-util.ts';

/**
 * The twin serves API_ROUTES from the registry, like the CDK AlertApi. IAM authorization of the GET routes
 * has no local counterpart: on loopback the twin answers them without a signature.
 */

interface CompiledRoute extends ApiRoute {
  readonly routeKey: string;
  readonly pattern: RegExp;
  readonly params: readonly string[];
}

const compile = (route: ApiRoute): CompiledRoute => {
  const params: string[] = [];
  const segments = route.path.split('/').map((segment) => {
    const param = /^\{(\w+)\}$/.exec(segment);
    if (!param) return segment.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
    params.push(param[1]);
    return '([^/]+)';
  });
  return { ...route, routeKey: `${route.method} ${route.path}`, pattern: new RegExp(`^${segments.join('/')}$`), params };
};

export type Invoke = (functionName: string, event: APIGatewayProxyEventV2) => Promise<unknown>;

export interface LocalApi {
  readonly url: string;
  /** Per API function: what ran, what waited and what was shed (429) since the API started. */
  throttleStats(): Record<string, ThrottleStats>;
  stop(): Promise<void>;
}

/** How many requests to one API function the twin takes at once; beyond it answers 429. */
export interface ApiLimits {
  /** Invocations of one function running at once: Lambda's reserved concurrency. */
  readonly concurrency: number;
  /** Requests to one function waiting for a running slot; beyond it a request is shed at once. */
  readonly queue: number;
  /** The longest a request waits in the queue before it is shed. */
  readonly maxWaitMs: number;
}

/**
 * 10 running + 90 waiting: at most 100 requests per function at once, the `$default` stage's burst in
 * lib/alert-api.ts. The wait is bounded well under API Gateway's 30 s integration limit minus the 15 s function timeout.
 */
export const DEFAULT_API_LIMITS: ApiLimits = { concurrency: 10, queue: 90, maxWaitMs: 5000 };

/** The environment variable of each limit (read by `apiLimitsFromEnv`). */
export const API_LIMIT_VARIABLES: Readonly<Record<keyof ApiLimits, string>> = {
  concurrency: 'AUTOPILOT_API_CONCURRENCY',
  queue: 'AUTOPILOT_API_QUEUE',
  maxWaitMs: 'AUTOPILOT_API_QUEUE_WAIT_MS',
};

export class InvalidApiLimit extends Error {
  override name = 'InvalidApiLimit';
}

/** The limits, each from its variable when set (a whole number; concurrency at least 1), else the default. */
export const apiLimitsFromEnv = (env: NodeJS.ProcessEnv = process.env): ApiLimits => {
  const read = (key: keyof ApiLimits, min: number): number => {
    const name = API_LIMIT_VARIABLES[key];
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return DEFAULT_API_LIMITS[key];
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < min) throw new InvalidApiLimit(`${name} must be a whole number >= ${min}, got "${raw}"`);
    return value;
  };
  return { concurrency: read('concurrency', 1), queue: read('queue', 0), maxWaitMs: read('maxWaitMs', 0) };
};

export interface ThrottleStats {
  /** Requests that got a running slot (at once or after waiting). */
  admitted: number;
  /** Requests answered 429: `queueFull` found every slot and the whole queue taken, `waitExpired` waited maxWaitMs. */
  shed: number;
  queueFull: number;
  waitExpired: number;
  /** Requests whose client went away while they waited (nothing to answer). */
  abandoned: number;
  inFlight: number;
  queued: number;
  maxInFlight: number;
  maxQueued: number;
}

export type Admission = 'admitted' | 'queue-full' | 'wait-expired' | 'abandoned';

interface Waiter {
  readonly admit: (admission: Admission) => void;
}

/**
 * A counting semaphore with a bounded FIFO queue and a bounded wait: reserved concurrency plus the burst in front
 * of it. `acquire` resolves `admitted` (the caller must `release` once the invocation is over) or why not.
 */
export class ConcurrencyGate {
  readonly limits: ApiLimits;
  readonly #queue: Waiter[] = [];
  readonly #stats: ThrottleStats = { admitted: 0, shed: 0, queueFull: 0, waitExpired: 0, abandoned: 0, inFlight: 0, queued: 0, maxInFlight: 0, maxQueued: 0 };
  /** Moving average of how long an admitted request holds its slot, for Retry-After. */
  #serviceMs = 100;

  constructor(limits: ApiLimits) {
    if (!(limits.concurrency >= 1)) throw new InvalidApiLimit(`concurrency must be at least 1, got ${limits.concurrency}`);
    this.limits = limits;
  }

  acquire(signal?: AbortSignal): Promise<Admission> {
    const s = this.#stats;
    if (s.inFlight < this.limits.concurrency) {
      this.#run();
      return Promise.resolve('admitted');
    }
    if (this.#queue.length >= this.limits.queue) return Promise.resolve(this.#shed('queue-full'));
    return new Promise<Admission>((resolve) => {
      const leave = (admission: 'wait-expired' | 'abandoned') => {
        const at = this.#queue.indexOf(waiter);
        if (at < 0) return; // already admitted
        this.#queue.splice(at, 1);
        s.queued = this.#queue.length;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (admission === 'abandoned') s.abandoned += 1;
        resolve(admission === 'abandoned' ? admission : this.#shed(admission));
      };
      const onAbort = () => leave('abandoned');
      const waiter: Waiter = {
        admit: (admission) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(admission);
        },
      };
      const timer = setTimeout(() => leave('wait-expired'), this.limits.maxWaitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
      s.queued = this.#queue.length;
      s.maxQueued = Math.max(s.maxQueued, s.queued);
    });
  }

  /** Frees the slot of an admitted request (held `heldMs`); the longest waiter takes it. */
  release(heldMs: number): void {
    this.#serviceMs = this.#serviceMs * 0.8 + Math.max(0, heldMs) * 0.2;
    this.#stats.inFlight -= 1;
    const next = this.#queue.shift();
    this.#stats.queued = this.#queue.length;
    if (!next) return;
    this.#run();
    next.admit('admitted');
  }

  /** Whole seconds until the work now admitted has drained at the current pace (1 to 60). */
  retryAfterSeconds(): number {
    const ahead = this.#stats.inFlight + this.#queue.length;
    const seconds = Math.ceil(((ahead / this.limits.concurrency) * this.#serviceMs) / 1000);
    return Math.min(60, Math.max(1, seconds));
  }

  stats(): ThrottleStats {
    return { ...this.#stats };
  }

  #run(): void {
    const s = this.#stats;
    s.inFlight += 1;
    s.admitted += 1;
    s.maxInFlight = Math.max(s.maxInFlight, s.inFlight);
  }

  #shed(reason: 'queue-full' | 'wait-expired'): Admission {
    this.#stats.shed += 1;
    if (reason === 'queue-full') this.#stats.queueFull += 1;
    else this.#stats.waitExpired += 1;
    return reason;
  }
}

/** API Gateway's throttle answer. */
export const TOO_MANY_REQUESTS = { message: 'Too Many Requests' } as const;

/** What answers a request no API route takes (the twin's console); true when it answered. */
export type Fallback = (req: IncomingMessage, res: ServerResponse, path: string) => boolean;

export const startApi = async (opts: { port: number; invoke: Invoke; onError?: (route: string, error: unknown) => void; limits?: ApiLimits; fallback?: Fallback }): Promise<LocalApi> => {
  const routes = API_ROUTES.map(compile);
  const limits = opts.limits ?? apiLimitsFromEnv();
  const gates = new Map<string, ConcurrencyGate>();
  for (const route of routes) if (!gates.has(route.function)) gates.set(route.function, new ConcurrencyGate(limits));
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      opts.onError?.('(twin)', error);
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal Server Error' });
    });
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const route = routes.find((r) => r.method === method && r.pattern.test(path));
    // API routes first; then the console's files; anything else is API Gateway's 404.
    if (!route && opts.fallback?.(req, res, url.pathname)) return;
    if (!route) return sendJson(res, 404, { message: 'Not Found' }, { 'apigw-requestid': requestId });
    // Path parameters reach the function decoded, as API Gateway hands them over; a malformed escape never reaches it.
    const params = decodeParams(route, path);
    if (!params) return sendJson(res, 400, { message: 'Bad Request' }, { 'apigw-requestid': requestId });
    // Throttled before the body is read or the function invoked, as API Gateway throttles before its integration.
    const gate = gates.get(route.function) as ConcurrencyGate;
    const gone = new AbortController();
    const onClose = () => gone.abort();
    res.once('close', onClose);
    const admission = await gate.acquire(gone.signal);
    if (admission === 'abandoned') return;
    if (admission !== 'admitted') {
      req.resume(); // the unread body must not be taken for the next request on this connection
      return sendJson(res, 429, TOO_MANY_REQUESTS, { 'apigw-requestid': requestId, 'retry-after': String(gate.retryAfterSeconds()) });
    }
    const admittedAt = performance.now();
    try {
      await invokeRoute(req, res, url, route, params, requestId);
    } finally {
      res.off('close', onClose);
      gate.release(performance.now() - admittedAt);
    }
  };

  const invokeRoute = async (req: IncomingMessage, res: ServerResponse, url: URL, route: CompiledRoute, params: Record<string, string>, requestId: string) => {
    let body: Buffer;
    try {
      body = await readBody(req, MAX_API_BODY_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLarge) return sendJson(res, 413, { message: 'Request Entity Too Large' }, { 'apigw-requestid': requestId, connection: 'close' });
      throw error;
    }
    const event = toEvent(req, url, route, params, body, requestId);
    let result: unknown;
    try {
      result = await opts.invoke(route.function, event);
    } catch (error) {
      opts.onError?.(route.routeKey, error);
      // API Gateway answers every function error with 500, a function timeout (Sandbox.Timedout) included: the API
      // functions time out (registry timeoutSeconds) well before the integration's own 30 s limit, the only 503.
      return sendJson(res, 500, { message: 'Internal Server Error' }, { 'apigw-requestid': requestId });
    }
    writeResult(res, result, requestId);
  };

  await listen(server, opts.port);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    throttleStats: () => Object.fromEntries([...gates].map(([name, gate]) => [name, gate.stats()])),
    stop: () => closeServer(server),
  };
};

/** The route's path parameters, percent-decoded; undefined when an escape is malformed (`%zz`). */
const decodeParams = (route: CompiledRoute, path: string): Record<string, string> | undefined => {
  const match = route.pattern.exec(path);
  try {
    return Object.fromEntries(route.params.map((name, i) => [name, decodeURIComponent(match?.[i + 1] ?? '')]));
  } catch {
    return undefined;
  }
};

const toEvent = (req: IncomingMessage, url: URL, route: CompiledRoute, pathParameters: Record<string, string>, body: Buffer, requestId: string): APIGatewayProxyEventV2 => {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === 'cookie') continue;
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const text = body.toString('utf8');
  const binary = body.length > 0 && !Buffer.from(text, 'utf8').equals(body); // not valid UTF-8
  const now = new Date();
  const cookies = req.headers.cookie?.split(';').map((c) => c.trim()).filter(Boolean);
  return {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    ...(cookies?.length ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(route.params.length ? { pathParameters } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT,
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0],
      http: { method: req.method ?? 'GET', path: url.pathname, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId,
      routeKey: route.routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length ? { body: binary ? body.toString('base64') : text } : {}),
    isBase64Encoded: binary,
  };
};

/** API Gateway's mapping of a payload-2.0 result: a structured result as given, anything else as JSON 200. */
const writeResult = (res: ServerResponse, result: unknown, requestId: string): void => {
  const structured = result && typeof result === 'object' && 'statusCode' in result ? (result as APIGatewayProxyStructuredResultV2) : undefined;
  if (!structured) {
    const text = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    res.writeHead(200, { 'content-type': 'application/json', 'apigw-requestid': requestId });
    res.end(text);
    return;
  }
  const headers: Record<string, string | string[]> = { 'apigw-requestid': requestId };
  for (const [k, v] of Object.entries(structured.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (structured.cookies?.length) headers['set-cookie'] = structured.cookies;
  const body = structured.body === undefined ? Buffer.alloc(0) : Buffer.from(structured.body, structured.isBase64Encoded ? 'base64' : 'utf8');
  if (!headers['content-type'] && body.length > 0) headers['content-type'] = 'application/json';
  res.writeHead(structured.statusCode ?? 200, headers);
  res.end(body);
};
