/**
 * How every `aws` adapter builds its SDK clients: the SDK's own standard retry strategy (exponential backoff with
 * jitter, retrying throttling and transient errors), bounded per-request and connection timeouts so a slow API
 * cannot eat a Lambda's whole budget, and the region and credentials of the function's environment. Endpoints follow
 * the SDK's own configuration (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`), which is how the twin points the
 * adapters at a loopback fake.
 *
 * Light on purpose (no SDK import): the adapters import their clients lazily and pass these options in.
 */

/** Settings every aws row shares (AWS_TOOLS_MAX_ATTEMPTS, AWS_TOOLS_TIMEOUT_MS, and the time budgets of deadline.ts). */
export interface AwsClientSettings {
  /** Attempts per call, the first included (the SDK's `maxAttempts`). @default 3 */
  readonly maxAttempts?: number;
  /** Per-request timeout in ms. @default 5000 */
  readonly timeoutMs?: number;
  /** What one tool call may take, all its requests together (AWS_TOOLS_CALL_BUDGET_MS, deadline.ts). @default 20000 */
  readonly callBudgetMs?: number;
  /** What the aws tool calls of one agent run may take together (AWS_TOOLS_RUN_BUDGET_MS). @default 40000 */
  readonly runBudgetMs?: number;
}

export const AWS_CLIENT_VARIABLES = ['AWS_TOOLS_MAX_ATTEMPTS', 'AWS_TOOLS_TIMEOUT_MS', 'AWS_TOOLS_CALL_BUDGET_MS', 'AWS_TOOLS_RUN_BUDGET_MS'] as const;

/** The time budget (deadline.ts) the settings give. */
export const budgetOf = (s: AwsClientSettings | undefined): { callMs?: number; runMs?: number } => ({
  ...(s?.callBudgetMs !== undefined ? { callMs: s.callBudgetMs } : {}),
  ...(s?.runBudgetMs !== undefined ? { runMs: s.runBudgetMs } : {}),
});
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_TIMEOUT_MS = 5_000;
const CONNECTION_TIMEOUT_MS = 2_000;

/** The options object for any SDK v3 client constructor. */
export const awsClientOptions = (s: AwsClientSettings = {}) =>
  ({
    maxAttempts: s.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryMode: 'standard',
    requestHandler: { requestTimeout: s.timeoutMs ?? DEFAULT_TIMEOUT_MS, connectionTimeout: CONNECTION_TIMEOUT_MS },
  }) as const;

/** Whether an SDK error is throttling or a transient server fault that outlasted the SDK's retries (recorded as a gap naming it). */
export const isThrottleOrTransient = (error: unknown): boolean => {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown } | undefined;
  if (!e) return false;
  if (e.$retryable) return true;
  if (/Throttl|TooManyRequests|RequestLimitExceeded|LimitExceeded|ServiceUnavailable|InternalFailure|TimeoutError/.test(e.name ?? '')) return true;
  const status = e.$metadata?.httpStatusCode;
  return status === 429 || (status !== undefined && status >= 500);
};

/** `<error name>: <message>` of an SDK (or any) error, the message cut at 300 characters: what a gap or ToolUnavailable quotes. */
export const errorReason = (error: unknown): string => {
  const e = error as { name?: string; message?: string };
  return `${e?.name ?? 'Error'}: ${(e?.message ?? String(error)).slice(0, 300)}`;
};
