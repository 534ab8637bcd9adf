/**
 * API Gateway (HTTP API, payload format 2.0) for the laptop twin: the same routes as the stack, each request
 * turned into an `APIGatewayProxyEventV2` for the real handler, and its `APIGatewayProxyResultV2` turned back
 * into the HTTP response (including API Gateway's inference for results without a statusCode).
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
  stop(): Promise<void>;
}

export const startApi = async (opts: { port: number; invoke: Invoke; onError?: (route: string, error: unknown) => void }): Promise<LocalApi> => {
  const routes = API_ROUTES.map(compile);
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
    if (!route) return sendJson(res, 404, { message: 'Not Found' }, { 'apigw-requestid': requestId });
    // Path parameters reach the function decoded, as API Gateway hands them over; a malformed escape never reaches it.
    const params = decodeParams(route, path);
    if (!params) return sendJson(res, 400, { message: 'Bad Request' }, { 'apigw-requestid': requestId });
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
  return { url: `http://127.0.0.1:${port}`, stop: () => closeServer(server) };
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
