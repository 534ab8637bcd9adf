/**
 * One loopback server for the AWS JSON-protocol services the handlers call (Step Functions: JSON 1.0;
 * EventBridge and Secrets Manager: JSON 1.1). The SDK sends `X-Amz-Target: <Prefix>.<Operation>`; the
 * prefix picks the service, the operation its handler. Errors use the AWS shape `{__type, message}`
 * plus the `x-amzn-errortype` header, which is what the SDK turns into named exceptions.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BodyTooLarge, closeServer, listen, readBody, sendJson } from './http-util.ts';

/** An error the SDK will surface as an exception named `type`. */
export class AwsServiceError extends Error {
  override name = 'AwsServiceError';
  readonly type: string;
  readonly status: number;
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

export type Operation = (input: Record<string, unknown>) => unknown | Promise<unknown>;

export interface AwsService {
  /** The X-Amz-Target prefix, e.g. `AWSStepFunctions`. */
  readonly targetPrefix: string;
  /** `application/x-amz-json-1.0` or `-1.1`. */
  readonly contentType: string;
  readonly operations: Readonly<Record<string, Operation>>;
}

const MAX_REQUEST_BYTES = 1024 * 1024;

export interface AwsJsonServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export const startAwsJsonServer = async (services: readonly AwsService[]): Promise<AwsJsonServer> => {
  const byPrefix = new Map(services.map((s) => [s.targetPrefix, s]));
  const server: Server = createServer(async (req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const dot = target.lastIndexOf('.');
    const service = byPrefix.get(target.slice(0, dot));
    const contentType = service?.contentType ?? 'application/x-amz-json-1.1';
    const fail = (error: AwsServiceError) =>
      sendJson(res, error.status, { __type: error.type, message: error.message }, { 'content-type': contentType, 'x-amzn-errortype': error.type });
    try {
      const operation = service?.operations[target.slice(dot + 1)];
      if (req.method !== 'POST' || !service || !operation) throw new AwsServiceError('UnknownOperationException', `the laptop twin does not implement ${target || 'this request'}`);
      const raw = await readBody(req, MAX_REQUEST_BYTES);
      let input: unknown;
      try {
        input = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
      } catch {
        throw new AwsServiceError('SerializationException', 'the request body is not valid JSON');
      }
      if (!input || typeof input !== 'object' || Array.isArray(input)) throw new AwsServiceError('SerializationException', 'the request body must be a JSON object');
      const output = await operation(input as Record<string, unknown>);
      sendJson(res, 200, output ?? {}, { 'content-type': contentType });
    } catch (error) {
      if (error instanceof AwsServiceError) return fail(error);
      if (error instanceof BodyTooLarge) return fail(new AwsServiceError('ValidationException', error.message, 413));
      fail(new AwsServiceError('InternalFailure', error instanceof Error ? error.message : String(error), 500));
    }
  });
  await listen(server, 0);
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => closeServer(server) };
};

/** Reads a required string field, failing the way AWS does (ValidationException naming the field). */
export const requiredString = (input: Record<string, unknown>, field: string): string => {
  const value = input[field];
  if (typeof value !== 'string' || value.length === 0) throw new AwsServiceError('ValidationException', `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`);
  return value;
};
