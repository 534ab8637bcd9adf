/** Fakes and event builders shared by the API core tests. */
import { readFileSync } from 'node:fs';
import type { ExecutionStatus } from '@aws-sdk/client-sfn';
import type { ApiEvent } from '../../../functions/core/http.ts';
import type { ExecutionInput } from '../../../functions/core/model.ts';
import { type StartResult, TaskClosed, type WorkflowClient, executionArnFor } from '../../../functions/core/workflow-client.ts';

export const SECRET = 'sample-webhook-secret';
export const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:incident-response';

export const CONFIG = { MAX_BODY_BYTES: 64 * 1024, VERIFY_WAIT_SECONDS: 30, MAX_VERIFY_CHECKS: 3 } as const;

/** A sample API Gateway event from events/api/. */
export const sampleEvent = (name: string): ApiEvent => JSON.parse(readFileSync(new URL(`../../../events/api/${name}.json`, import.meta.url), 'utf8')) as ApiEvent;

export const sampleAlert = (source: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../../events/alerts/${source}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;

/** An HTTP API v2 event for `route` (e.g. `POST /alerts/{source}`) with the right secret unless `secret` says otherwise. */
export const apiEvent = (
  route: string,
  opts: { path?: Record<string, string>; body?: unknown; secret?: string | null; query?: Record<string, string>; rawBody?: string } = {},
): ApiEvent => {
  const [method, template] = route.split(' ');
  const rawPath = template.replace(/\{(\w+)\}/g, (_, k: string) => opts.path?.[k] ?? k);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.secret !== null) headers['x-autopilot-secret'] = opts.secret ?? SECRET;
  return {
    version: '2.0',
    routeKey: route,
    rawPath,
    rawQueryString: new URLSearchParams(opts.query ?? {}).toString(),
    headers,
    ...(opts.query ? { queryStringParameters: opts.query } : {}),
    ...(opts.path ? { pathParameters: opts.path } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.1', userAgent: 'test' },
      requestId: 'r',
      routeKey: route,
      stage: '$default',
      time: '01/May/2024:12:00:00 +0000',
      timeEpoch: 1714564800000,
    },
    ...(opts.rawBody !== undefined ? { body: opts.rawBody } : opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    isBase64Encoded: false,
  };
};

export const bodyOf = (result: unknown): Record<string, unknown> => JSON.parse(String((result as { body?: string }).body)) as Record<string, unknown>;
export const statusOf = (result: unknown): number | undefined => (result as { statusCode?: number }).statusCode;

/** Step Functions as a map of executions; behaviours can be overridden per test. */
export class FakeWorkflow implements WorkflowClient {
  readonly executions = new Map<string, { input: ExecutionInput; status: ExecutionStatus }>();
  readonly successes: { taskToken: string; output: Record<string, unknown> }[] = [];
  readonly failures: { taskToken: string; error: string; cause: string }[] = [];
  /** Set to make the next calls fail. */
  startError: Error | undefined;
  answerError: Error | undefined;

  async start(name: string, input: ExecutionInput): Promise<StartResult> {
    if (this.startError) throw this.startError;
    const executionArn = executionArnFor(STATE_MACHINE_ARN, name);
    if (this.executions.has(executionArn)) return { executionArn, alreadyExisted: true };
    this.executions.set(executionArn, { input, status: 'RUNNING' });
    return { executionArn, alreadyExisted: false };
  }

  async status(executionArn: string): Promise<ExecutionStatus | undefined> {
    return this.executions.get(executionArn)?.status;
  }

  async sendTaskSuccess(taskToken: string, output: Record<string, unknown>): Promise<void> {
    if (this.answerError) throw this.answerError;
    this.successes.push({ taskToken, output });
  }

  async sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void> {
    if (this.answerError) throw this.answerError;
    this.failures.push({ taskToken, error, cause });
  }

  finish(executionArn: string, status: ExecutionStatus = 'SUCCEEDED'): void {
    const execution = this.executions.get(executionArn);
    if (!execution) throw new Error(`no execution ${executionArn}`);
    execution.status = status;
  }
}

export const taskTimedOut = () => new TaskClosed('TaskTimedOut', 'Task Timed Out');
