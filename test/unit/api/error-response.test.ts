/** errorResponse: every 503 says why (its message) and when to come back (Retry-After); other answers carry no Retry-After. */
import { describe, expect, it } from 'vitest';
import { BadRequest, DEFAULT_RETRY_AFTER_SECONDS, ServiceUnavailable, errorResponse } from '../../../functions/core/http.ts';
import { IntakeContention, StoreUnavailable } from '../../../functions/core/store/dynamo-store.ts';
import { IncidentNotReady } from '../../../functions/core/store/store.ts';
import { JournalUnavailable } from '../../../functions/core/store/journal.ts';

/** An AWS SDK error as it escapes after the SDK's own attempts: a plain Error with the service's error name. */
const sdkError = (name: string, message: string): Error => Object.assign(new Error(message), { name, $retryable: {} });

describe('unit: errorResponse and Retry-After', () => {
  it.each([
    ['ServiceUnavailable (no delay named)', new ServiceUnavailable('Step Functions could not be reached; retry'), String(DEFAULT_RETRY_AFTER_SECONDS)],
    ['ServiceUnavailable naming 7.2 s', new ServiceUnavailable('being opened; retry', 7.2), '8'],
    ['ServiceUnavailable naming 0 s', new ServiceUnavailable('now', 0), '1'],
    ['StoreUnavailable', new StoreUnavailable('DynamoDB is throttling requests; retry later'), String(DEFAULT_RETRY_AFTER_SECONDS)],
    ['IncidentNotReady', new IncidentNotReady('inc-9'), String(DEFAULT_RETRY_AFTER_SECONDS)],
    ['IntakeContention', new IntakeContention('CORR#-#svc', 4), String(DEFAULT_RETRY_AFTER_SECONDS)],
    ['JournalUnavailable (any Retryable, not only the store\'s)', new JournalUnavailable('the action journal could not be read'), String(DEFAULT_RETRY_AFTER_SECONDS)],
    ['an AWS SDK TimeoutError (a name in the retry contract)', sdkError('TimeoutError', 'Connection timed out after 1000 ms'), String(DEFAULT_RETRY_AFTER_SECONDS)],
    ['an AWS SDK ThrottlingException', sdkError('ThrottlingException', 'Rate exceeded'), String(DEFAULT_RETRY_AFTER_SECONDS)],
  ])('%s → 503 with Retry-After %s and its message', (_what, error, retryAfter) => {
    const result = errorResponse(error);
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBe(retryAfter);
    expect(JSON.parse(String(result.body))).toMatchObject({ error: 'service_unavailable', message: error.message });
  });

  it('puts no Retry-After on a 4xx or a 500', () => {
    expect(errorResponse(new BadRequest('id: expected string')).headers?.['retry-after']).toBeUndefined();
    const internal = errorResponse(new Error('boom'));
    expect(internal.statusCode).toBe(500);
    expect(internal.headers?.['retry-after']).toBeUndefined();
  });
});
