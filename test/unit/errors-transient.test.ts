/**
 * One classifier of transient AWS SDK failures (errors.ts `transientAwsFailure`), used by the incident store
 * (`storeError`) and the action journal alike, with one explicit exception (`keepsSdkName`): the store passes a
 * timeout on under the SDK's own name. Whatever each adapter makes of a transient failure, the API and the state
 * machine retry it (`isRetryable`, `RETRYABLE_ERROR_NAMES`).
 */
import { describe, expect, it } from 'vitest';
import { NETWORK_ERROR_CODES, RETRYABLE_ERROR_NAMES, type TransientAwsFailure, isRetryable, isTransientAwsError, keepsSdkName, transientAwsFailure } from '../../functions/core/errors.ts';
import { StoreUnavailable, storeError } from '../../functions/core/store/dynamo-store.ts';

const failures: readonly (readonly [string, () => Error, TransientAwsFailure | undefined])[] = [
  ['a throttle by name', () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } }), 'throttle'],
  ['ProvisionedThroughputExceededException', () => Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } }), 'throttle'],
  ['InternalFailure without $fault', () => Object.assign(new Error('internal'), { name: 'InternalFailure' }), 'server'],
  ['a bare 503', () => Object.assign(new Error('unavailable'), { name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } }), 'server'],
  ...NETWORK_ERROR_CODES.map((code) => [code, () => Object.assign(new Error(`connect ${code}`), { code, $metadata: { attempts: 3 } }), 'network'] as const),
  ['TimeoutError', () => Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' }), 'timeout'],
  ['ENOTFOUND (a wrong endpoint)', () => Object.assign(new Error('getaddrinfo ENOTFOUND dynamodb.example'), { code: 'ENOTFOUND' }), undefined],
  ['ConditionalCheckFailedException', () => Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException', $fault: 'client', $metadata: { httpStatusCode: 400 } }), undefined],
  ['ValidationException', () => Object.assign(new Error('bad expression'), { name: 'ValidationException', $fault: 'client', $metadata: { httpStatusCode: 400 } }), undefined],
];

describe('unit: transientAwsFailure, the one classifier of transient AWS failures', () => {
  it.each(failures)('classifies %s', (_, make, kind) => {
    // Act
    const failure = transientAwsFailure(make());
    // Assess
    expect(failure).toBe(kind);
    expect(isTransientAwsError(make())).toBe(kind !== undefined);
  });

  it('classifies nothing that is not an object', () => {
    expect([undefined, null, 'TimeoutError', 503].map(transientAwsFailure)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('keeps the SDK name only for a timeout in the store: every other transient failure is wrapped by every adapter', () => {
    const kinds: TransientAwsFailure[] = ['throttle', 'server', 'network', 'timeout'];
    expect(kinds.filter((k) => keepsSdkName('store', k))).toEqual(['timeout']);
    expect(kinds.filter((k) => keepsSdkName('journal', k))).toEqual([]);
  });
});

describe('unit: storeError follows the classifier', () => {
  it.each(failures)('%s → StoreUnavailable when transient (but a timeout), as it is otherwise; retryable exactly when transient', (_, make, kind) => {
    // Prepare
    const original = make();
    // Act
    const mapped = storeError(original);
    // Assess
    if (kind === undefined || kind === 'timeout') expect(mapped).toBe(original);
    else expect(mapped).toBeInstanceOf(StoreUnavailable);
    expect(isRetryable(mapped)).toBe(kind !== undefined);
  });

  it('passes a timeout on under a name the retry contract lists, so the state machine retries it unwrapped', () => {
    const timeout = failures.find(([name]) => name === 'TimeoutError')![1]();
    expect(RETRYABLE_ERROR_NAMES).toContain((storeError(timeout) as Error).name);
  });
});
