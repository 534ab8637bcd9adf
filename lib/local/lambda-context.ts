/** The Lambda `Context` the twin gives a handler (inline or in a worker thread). */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

export interface ContextSpec {
  readonly name: string;
  readonly memoryMb: number;
  readonly arn: string;
}

export const lambdaContext = (spec: ContextSpec, deadline: number): Context => {
  const requestId = randomUUID();
  const unsupported = () => {
    throw new Error('callback-style completion is not supported by the laptop twin');
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: spec.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: spec.arn,
    memoryLimitInMB: String(spec.memoryMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${spec.name}`,
    logStreamName: `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${requestId.replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
};
