/**
 * A workflow task that runs out of Lambda time must not come back as the retryable `TimeoutError`: middy's early
 * timeout answers with an error of that name (the AWS SDK's client timeout, which the retry contract retries) while
 * the handler's promise goes on in an environment Lambda then freezes — a mitigation still in flight there could
 * resume later beside the retry. Lambda's own timeout ends the invocation instead (`Sandbox.Timedout`, not retried;
 * the environment is reset), which is what the action journal's staleness rule assumes.
 */
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { describe, expect, it } from 'vitest';
import { workflowHandler } from '../../../functions/core/handler.ts';
import { RETRYABLE_ERROR_NAMES } from '../../../functions/core/errors.ts';

const context = (remainingMs: number): Context =>
  ({
    functionName: 'execute-mitigation',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:execute-mitigation',
    memoryLimitInMB: '1024',
    awsRequestId: 'req-1',
    logGroupName: '/aws/lambda/execute-mitigation',
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }) as Context;

describe('unit: workflowHandler near the Lambda deadline', () => {
  it('does not answer a slow task with a TimeoutError of its own, so the state machine does not retry it as transient', async () => {
    // Prepare: a task that needs 80 ms with 20 ms left before the Lambda timeout
    const handler = workflowHandler('execute-mitigation', z.object({ incidentId: z.string() }), async ({ incidentId }) => {
      await new Promise((resolve) => setTimeout(resolve, 80));
      return { incidentId, done: true };
    });
    // Act
    const outcome = await handler({ incidentId: 'inc-1' }, context(20)).then(
      (result) => ({ result }),
      (error: Error) => ({ error: error.name }),
    );
    // Assess: the handler's own result, never an early error named like a transient SDK failure
    expect(outcome).toEqual({ result: { incidentId: 'inc-1', done: true } });
    expect(RETRYABLE_ERROR_NAMES).toContain('TimeoutError');
  });
});
