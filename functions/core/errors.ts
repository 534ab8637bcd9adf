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

/**
 * AWS SDK errors that are transient by the SDK's own classification (throttling, a service's 500, a request
 * timeout) and that a workflow task can let escape from its DynamoDB, EventBridge or Secrets Manager calls after
 * the SDK's own attempts: a DynamoDB throttle during an outage must be retried by the state machine, not turned
 * into a failed incident.
 */
export const AWS_TRANSIENT_ERROR_NAMES = [
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'ThrottlingException',
  'InternalServerError',
  'InternalFailure',
  'TimeoutError',
] as const;

/**
 * Whether an AWS SDK error that escaped the SDK's own attempts is transient: a throttle or a timeout by name
 * (`AWS_TRANSIENT_ERROR_NAMES`), or any server-side fault (`$fault: "server"`, an HTTP 5xx such as DynamoDB's
 * `ServiceUnavailable`). The one classifier for the adapters over the SDK: each turns such an error into its own
 * `Retryable` (the action journal's `JournalUnavailable`); everything else (a refused condition, a validation error)
 * is not transient and is passed on as it is.
 */
export const isTransientAwsError = (error: unknown): boolean => {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: unknown } };
  if ((AWS_TRANSIENT_ERROR_NAMES as readonly string[]).includes(String(e.name))) return true;
  const status = e.$metadata?.httpStatusCode;
  return e.$fault === 'server' || (typeof status === 'number' && status >= 500);
};

/** Every error name the state machine retries (besides the `Lambda.*` service errors): the retry contract. */
export const RETRYABLE_ERROR_NAMES: readonly string[] = [...OWN_RETRYABLE_ERROR_NAMES, ...AWS_TRANSIENT_ERROR_NAMES];

/** The `Lambda.*` service errors retried by their own retrier (a Lambda service hiccup, not a handler error). */
export const LAMBDA_SERVICE_ERROR_NAMES: readonly string[] = ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'];

/**
 * The retrier of `RETRYABLE_ERROR_NAMES` in the ASL: a store outage or throttle needs longer than a Lambda
 * hiccup, so it starts at 2 s, doubles up to 30 s with full jitter (concurrent executions retrying one table
 * spread apart), 5 attempts: the delays add up to at most 60 s (about half that on average, as full jitter draws each
 * from 0 to its cap), besides each attempt's own run and the SDK's retries, before the incident fails. Each attempt
 * has the state's own TimeoutSeconds.
 */
export const RETRYABLE_RETRIER = {
  ErrorEquals: RETRYABLE_ERROR_NAMES,
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
