/**
 * Helpers for the API handlers (API Gateway HTTP API, payload format 2.0): JSON responses, named HTTP errors,
 * body limits and parsing, zod validation with messages naming the field, the shared-secret check, and one
 * place that maps errors to status codes.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type * as z from 'zod';
import { ConfigError } from './config.ts';
import { type ParsedJson, parseKeepableJson } from './keepable-json.ts';
import { isRetryable } from './errors.ts';
import type { Observability } from './handler.ts';
import { InvalidCursor } from './store/dynamo-store.ts';
import { ApprovalAlreadyDecided, IncidentNotFound } from './store/store.ts';
import { type SecretProvider, secretsMatch } from './secrets.ts';

export type ApiEvent = APIGatewayProxyEventV2;
export type ApiResult = APIGatewayProxyStructuredResultV2;

/** The header carrying the shared secret on POST routes. */
export { SECRET_HEADER } from '../registry.ts';
import { SECRET_HEADER } from '../registry.ts';

export const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResult => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  body: JSON.stringify(body),
});

/** Base of the errors an API core throws to answer with a 4xx/5xx; `code` is a stable machine-readable word. */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}
export class BadRequest extends HttpError {
  override name = 'BadRequest';
  constructor(message: string, details?: Record<string, unknown>) {
    super(400, 'bad_request', message, details);
  }
}
export class Unauthorized extends HttpError {
  override name = 'Unauthorized';
  constructor() {
    super(401, 'unauthorized', `missing or wrong ${SECRET_HEADER} header (or Authorization: Bearer)`);
  }
}
export class NotFound extends HttpError {
  override name = 'NotFound';
  constructor(message: string) {
    super(404, 'not_found', message);
  }
}
export class Conflict extends HttpError {
  override name = 'Conflict';
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(409, code, message, details);
  }
}
export class PayloadTooLarge extends HttpError {
  override name = 'PayloadTooLarge';
  constructor(bytes: number, limit: number) {
    super(413, 'payload_too_large', `request body is ${bytes} bytes; the limit is ${limit}`);
  }
}
/** The Retry-After of a 503 that names none: a retryable failure here (a throttle, a race) usually clears in seconds. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** A 503: the request can succeed later; `retryAfterSeconds` goes out as the `Retry-After` header. */
export class ServiceUnavailable extends HttpError {
  override name = 'ServiceUnavailable';
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = DEFAULT_RETRY_AFTER_SECONDS) {
    super(503, 'service_unavailable', message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The `Retry-After` of a 503 (whole seconds, at least 1): the error's own when it names one. */
const retryAfter = (error: unknown): Record<string, string> => {
  const seconds = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  const value = typeof seconds === 'number' && Number.isFinite(seconds) ? Math.max(1, Math.ceil(seconds)) : DEFAULT_RETRY_AFTER_SECONDS;
  return { 'retry-after': String(value) };
};

/** 415: a body sent with a media type this route does not take. The message names the header and what it takes. */
export class UnsupportedMediaType extends HttpError {
  override name = 'UnsupportedMediaType';
  constructor(message: string) {
    super(415, 'unsupported_media_type', message);
  }
}

/** Header lookup; API Gateway lowercases header names, other callers may not. */
export const header = (event: ApiEvent, name: string): string | undefined => {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(event.headers ?? {})) if (k.toLowerCase() === wanted) return v;
  return undefined;
};

/**
 * The longest path parameter any route takes. Every one is an identifier: an incident id (at most 128 characters
 * wherever the workflow carries one, `AgentTask` in model.ts; the webhook makes ~23) or a source name. A longer one
 * names nothing this API keeps, and the DynamoDB key built from it can pass the 2,048-byte partition-key limit, which
 * DynamoDB refuses with a ValidationException: a 500 instead of the 400 it deserves. Checked before anything is read.
 */
export const MAX_PATH_PARAM_CHARS = 128;

/** 400: a path parameter that is missing or cannot be an identifier of this API; the message names the parameter. */
export class PathParamInvalid extends BadRequest {
  override name = 'PathParamInvalid';
}

/** A path parameter as API Gateway hands it over: an HTTP API has already percent-decoded it (decoding again would misread a literal "%"). */
export const pathParam = (event: ApiEvent, name: string): string => {
  const value = event.pathParameters?.[name];
  if (!value) throw new PathParamInvalid(`path parameter "${name}" is missing`);
  if (value.length > MAX_PATH_PARAM_CHARS) throw new PathParamInvalid(`path parameter "${name}" is ${value.length} characters long; at most ${MAX_PATH_PARAM_CHARS}`);
  return value;
};

/** The body as text, refusing more than `maxBytes` (counted before decoding base64, on the decoded size). */
export const readBody = (event: ApiEvent, maxBytes: number): string => {
  const body = event.body ?? '';
  const decoded = event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  if (decoded.byteLength > maxBytes) throw new PayloadTooLarge(decoded.byteLength, maxBytes);
  return utf8Text(decoded);
};

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * The body's bytes as text, refusing bytes that are not UTF-8 (JSON on the wire is UTF-8, RFC 8259 §8.1). A lenient
 * decode would turn them into U+FFFD and store a value the sender never sent, so nothing is written: 400.
 */
export const utf8Text = (bytes: Uint8Array): string => {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    throw new BadRequest('body: not valid UTF-8 (a JSON body must be UTF-8 encoded)');
  }
};

/** The media types a JSON route takes: application/json and the structured-syntax `+json` types. */
const JSON_MEDIA_TYPE = /^application\/(?:[\w.-]+\+)?json$/;

/**
 * A JSON route refuses a body declared as another media type (a form post, XML, text) with 415 naming the header, rather
 * than reading it as JSON by accident; a request without Content-Type is read as JSON. A charset other than UTF-8 is
 * refused too (the body is decoded as UTF-8).
 */
export const requireJsonContentType = (event: ApiEvent): void => {
  const value = header(event, 'content-type');
  if (value === undefined || value.trim() === '') return;
  const [type = '', ...params] = value.split(';').map((part) => part.trim().toLowerCase());
  const shown = JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
  if (!JSON_MEDIA_TYPE.test(type)) throw new UnsupportedMediaType(`content-type: expected application/json, got ${shown}`);
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replaceAll('"', '');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') throw new UnsupportedMediaType(`content-type: the charset must be utf-8, got ${shown}`);
};

/**
 * 400: a JSON body this system cannot keep faithfully (keepable-json.ts: an integer beyond 2^53, a number out of
 * range, nesting too deep, a lone surrogate). `problems` has one `path: what is wrong` per field.
 */
export class UnkeepableJson extends BadRequest {
  override name = 'UnkeepableJson';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`request body holds values this system cannot keep: ${problems.join('; ')}`, { problems });
    this.problems = problems;
  }
}

/**
 * The body as JSON, checked to be keepable (keepable-json.ts) before any route acts on it: a body that would fail
 * only when stored (after other writes) is refused here, with 400, and nothing is written.
 */
export const parseJson = (text: string): unknown => {
  if (text.trim().length === 0) throw new BadRequest('request body is empty; expected JSON');
  let parsed: ParsedJson;
  try {
    parsed = parseKeepableJson(text, { root: '(body)' });
  } catch (error) {
    if (error instanceof SyntaxError) throw new BadRequest(`request body is not valid JSON: ${error.message}`);
    throw error;
  }
  if (parsed.problems.length > 0) throw new UnkeepableJson(parsed.problems);
  return parsed.value;
};

/** `alerts.0.labels.service: Invalid input: expected string, received undefined` — one line per issue. */
export const zodProblems = (error: z.ZodError): string[] =>
  error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(body)'}: ${issue.message}`);

export const parseWith = <S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> => {
  const result = schema.safeParse(value);
  if (!result.success) {
    const problems = zodProblems(result.error);
    throw new BadRequest(`invalid ${what}: ${problems.join('; ')}`, { problems });
  }
  return result.data;
};

/**
 * The secret a caller presents: the `x-autopilot-secret` header, or else `Authorization: Bearer <secret>`
 * (Alertmanager's `http_config.authorization` can only set the latter).
 */
export const presentedSecret = (event: ApiEvent): string | undefined => {
  const direct = header(event, SECRET_HEADER);
  if (direct !== undefined) return direct;
  const bearer = /^Bearer\s+(.+)$/i.exec(header(event, 'authorization') ?? '');
  return bearer?.[1].trim();
};

/**
 * Who is signed in, on a `jwt` route (functions/registry.ts): the claims API Gateway's JWT authorizer verified — the
 * e-mail, else the Cognito user name, else the subject. Undefined where no authorizer ran (the twin's loopback console,
 * every other auth kind): the caller then says who it is in the body, as on the secret routes.
 */
export const signedInUser = (event: ApiEvent): string | undefined => {
  const claims = (event.requestContext as { authorizer?: { jwt?: { claims?: Record<string, unknown> } } }).authorizer?.jwt?.claims;
  if (!claims) return undefined;
  for (const key of ['email', 'cognito:username', 'username', 'sub']) {
    const value = claims[key];
    if (typeof value === 'string' && value.trim() !== '') return value.trim().slice(0, 200);
  }
  return undefined;
};

/** Throws `Unauthorized` unless the presented secret matches (constant-time). */
export const requireSecret = async (event: ApiEvent, secrets: SecretProvider): Promise<void> => {
  const expected = await secrets.getSecret();
  if (!secretsMatch(presentedSecret(event), expected)) throw new Unauthorized();
};

/** The response for an error escaping an API core; unexpected errors are logged and answered 500 without detail. */
export const errorResponse = (error: unknown, o?: Pick<Observability, 'logger'>): ApiResult => {
  // Every 503 says when to come back (Retry-After) and why (the message).
  if (error instanceof HttpError) return json(error.status, { error: error.code, message: error.message, ...error.details }, error.status === 503 ? retryAfter(error) : {});
  if (error instanceof IncidentNotFound) return json(404, { error: 'not_found', message: error.message });
  if (error instanceof InvalidCursor) return json(400, { error: 'bad_request', message: error.message });
  if (error instanceof ApprovalAlreadyDecided) return json(409, { error: 'approval_already_decided', message: error.message, approval: error.approval ?? null });
  // Say why and that a retry helps (a vendor retries a 5xx): not a bare "internal error".
  if (isRetryable(error)) {
    const { name, message } = error as Error;
    o?.logger.warn('transient failure: asking the caller to retry', { error: name, message });
    return json(503, { error: 'service_unavailable', message: message || `${name}: retry the request` }, retryAfter(error));
  }
  o?.logger.error('unhandled error', error as Error);
  return json(500, { error: 'internal_error', message: 'internal error' });
};

/** Wraps an API core so every error becomes a response. */
export const withErrors =
  <O extends Pick<Observability, 'logger'>>(core: (event: ApiEvent, o?: O) => Promise<ApiResult>) =>
  async (event: ApiEvent, o?: O): Promise<ApiResult> => {
    try {
      return await core(event, o);
    } catch (error) {
      return errorResponse(error, o);
    }
  };

/** A setting an API function cannot run without (config.ts keeps it optional for the functions that do not need it). */
export const requiredSetting = (value: string | undefined, name: string): string => {
  if (!value) throw new ConfigError(`invalid configuration: ${name} is required by this function`);
  return value;
};
