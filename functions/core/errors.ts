/**
 * Error names are the retry contract with the state machine. A workflow handler lets its errors escape with their
 * `name`; the ASL's `Retry` on every Task state lists exactly `RETRYABLE_ERROR_NAMES` (with backoff and jitter,
 * separately from the `Lambda.*` retrier), and everything else goes to the state's `Catch`.
 *
 * A transient failure — the same call made again later can succeed, and nothing is lost or repeated by failing
 * now — extends `Retryable`. Its class name goes into `RETRYABLE_ERROR_NAMES` (test/unit/errors-contract.test.ts
 * checks that every exported subclass is listed, that nothing else is, and that the ASL retries exactly the list).
 * A retried task may run its side effects again: the executor consults the action journal
 * (functions/core/store/journal.ts) before acting, so a retry never repeats an action that already ran. The other
 * side effects of a retried task are at-least-once: a timeline entry, an event (`Mitigation Executed`,
 * `Approval Requested`), a Retool trigger (with a new approval request id; the old one's links are refused).
 *
 * This module imports nothing, so any module (the store ports included) can extend `Retryable`.
 */

/** A transient failure: retry the same request later. `retryable` lets callers tell it apart without the class. */
export class Retryable extends Error {
  override name = 'Retryable';
  readonly retryable = true as const;
}

/**
 * The names of this project's `Retryable` classes (each class's `name` is its class name). Kept as a literal list —
 * the ASL and this module must not import the store or the agents — and tied to the classes by a test.
 */
export const OWN_RETRYABLE_ERROR_NAMES = [
  'Retryable',
  // functions/core/store/store.ts
  'StoreRetryLater',
  'IncidentNotReady',
  // functions/core/store/dynamo-store.ts
  'StoreUnavailable',
  'AlertIdentityVanished',
  'IntakeContention',
  // functions/core/store/journal.ts
  'ActionInProgress',
  'JournalUnavailable',
] as const;

/** DynamoDB's and the other services' throttling errors: over the table's, an index's or the account's throughput. */
export const AWS_THROTTLE_ERROR_NAMES = ['ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'ThrottlingException'] as const;
/** Server-side failures by name (most also carry `$fault: "server"` or an HTTP 5xx, which count too). */
export const AWS_SERVER_ERROR_NAMES = ['InternalServerError', 'InternalFailure'] as const;
/** The SDK's name for a request that got no answer in time: it may have landed. */
export const AWS_TIMEOUT_ERROR_NAMES = ['TimeoutError'] as const;

/**
 * AWS SDK errors that are transient by name (throttling, a service's 500, a request timeout) and that a workflow task
 * can let escape from its DynamoDB, EventBridge or Secrets Manager calls after the SDK's own attempts: a DynamoDB
 * throttle during an outage must be retried by the state machine, not turned into a failed incident. These names are
 * in the retry contract (`RETRYABLE_ERROR_NAMES`) as they are.
 */
export const AWS_TRANSIENT_ERROR_NAMES = [...AWS_THROTTLE_ERROR_NAMES, ...AWS_SERVER_ERROR_NAMES, ...AWS_TIMEOUT_ERROR_NAMES] as const;

/**
 * Node's codes for a connection that failed or broke (refused, reset, timed out, unreachable, a DNS lookup that failed
 * for now). The SDK retries these itself; the one that escapes is a plain `Error` carrying the code (no `$fault`, no
 * name of the list above). ENOTFOUND is not here: a name that does not resolve is a wrong endpoint, not an outage.
 */
export const NETWORK_ERROR_CODES = ['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENETUNREACH', 'EHOSTUNREACH', 'EAI_AGAIN'] as const;

/** Why an AWS SDK error that escaped the SDK's own attempts is transient (see `transientAwsFailure`). */
export type TransientAwsFailure = 'throttle' | 'server' | 'network' | 'timeout';

/**
 * The one classifier of transient AWS SDK failures, for every adapter over the SDK (the store's `storeError`, the
 * action journal): a throttle by name, a server-side fault (by name, `$fault: "server"` or an HTTP 5xx such as
 * DynamoDB's `ServiceUnavailable`), a broken connection by Node's code (`NETWORK_ERROR_CODES`), or a timeout by name.
 * Undefined for everything else (a refused condition, a validation error): not transient, passed on as it is.
 *
 * Each adapter turns a transient failure into its own `Retryable` (`StoreUnavailable`, `JournalUnavailable`), with
 * ONE exception, decided here by `keepsSdkName` so that no adapter keeps a list of its own.
 */
export const transientAwsFailure = (error: unknown): TransientAwsFailure | undefined => {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { name?: unknown; code?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const name = String(e.name);
  if ((AWS_THROTTLE_ERROR_NAMES as readonly string[]).includes(name)) return 'throttle';
  if ((AWS_TIMEOUT_ERROR_NAMES as readonly string[]).includes(name)) return 'timeout';
  if (typeof e.code === 'string' && (NETWORK_ERROR_CODES as readonly string[]).includes(e.code)) return 'network';
  const status = e.$metadata?.httpStatusCode;
  if ((AWS_SERVER_ERROR_NAMES as readonly string[]).includes(name) || e.$fault === 'server' || (typeof status === 'number' && status >= 500)) return 'server';
  return undefined;
};

/** Whether an AWS SDK error that escaped the SDK's own attempts is transient (`transientAwsFailure`). */
export const isTransientAwsError = (error: unknown): boolean => transientAwsFailure(error) !== undefined;

/** The adapters over the SDK that wrap transient failures: the incident store (`storeError`) and the action journal. */
export type TransientAdapter = 'store' | 'journal';

/**
 * The one rule for the one exception: the incident store passes a timeout on under the SDK's own name (`TimeoutError`)
 * instead of wrapping it in `StoreUnavailable`. Nothing is lost by that: the name is in the retry contract
 * (`AWS_TIMEOUT_ERROR_NAMES` ⊂ `RETRYABLE_ERROR_NAMES`), so the state machine retries it and the API answers it 503 with
 * Retry-After (`isRetryable`) exactly as a `StoreUnavailable`; and a timeout, unlike a throttle or a refused
 * connection, says the write may have landed, which the wrapper's "retry later" would hide. Every other transient
 * failure, in every adapter, is wrapped.
 */
export const keepsSdkName = (adapter: TransientAdapter, failure: TransientAwsFailure): boolean => adapter === 'store' && failure === 'timeout';

/** Every error name the state machine retries (besides the `Lambda.*` service errors): the retry contract. */
export const RETRYABLE_ERROR_NAMES: readonly string[] = [...OWN_RETRYABLE_ERROR_NAMES, ...AWS_TRANSIENT_ERROR_NAMES];

/** The `Lambda.*` service errors retried by their own retrier (a Lambda service hiccup, not a handler error). */
export const LAMBDA_SERVICE_ERROR_NAMES: readonly string[] = ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'];

/**
 * "Another invocation is running this very step" (the action journal's live claim): not an outage but a wait for
 * that invocation to finish, or to die and its claim to go stale after the executor's timeout (60 s). Retried by
 * `IN_FLIGHT_RETRIER` on the states that run the executor, on a jitter-free schedule that outlasts that timeout;
 * full jitter could spend the general retrier's attempts in seconds and fail an incident whose action is running.
 */
export const IN_FLIGHT_ERROR_NAMES: readonly string[] = ['ActionInProgress'];

/** 10 s, then ×1.5: 10 + 15 + 22.5 + 33.75 + 50.6 + 75.9 ≈ 208 s of delays over 6 attempts, well past a stale claim. */
export const IN_FLIGHT_RETRIER = {
  ErrorEquals: IN_FLIGHT_ERROR_NAMES,
  IntervalSeconds: 10,
  MaxAttempts: 6,
  BackoffRate: 1.5,
} as const;

/**
 * The retrier of every other name of `RETRYABLE_ERROR_NAMES` in the ASL: a store outage or throttle needs longer than a Lambda
 * hiccup, so it starts at 2 s, doubles up to 30 s with full jitter (concurrent executions retrying one table
 * spread apart), 5 attempts: the delays add up to at most 60 s (about half that on average, as full jitter draws each
 * from 0 to its cap), besides each attempt's own run and the SDK's retries, before the incident fails. Each attempt
 * has the state's own TimeoutSeconds.
 */
export const RETRYABLE_RETRIER = {
  ErrorEquals: RETRYABLE_ERROR_NAMES.filter((name) => !IN_FLIGHT_ERROR_NAMES.includes(name)),
  IntervalSeconds: 2,
  MaxAttempts: 5,
  BackoffRate: 2,
  MaxDelaySeconds: 30,
  JitterStrategy: 'FULL',
} as const;

/**
 * Whether an error is a transient failure: a `Retryable`, an error object that says `retryable: true`, or an error
 * whose name is in the retry contract (an AWS SDK throttle or timeout that escaped after the SDK's own attempts). The
 * API answers these 503 with Retry-After, as the state machine retries them.
 */
export const isRetryable = (error: unknown): boolean =>
  error instanceof Retryable ||
  (typeof error === 'object' && error !== null && ((error as { retryable?: unknown }).retryable === true || RETRYABLE_ERROR_NAMES.includes(String((error as { name?: unknown }).name))));
