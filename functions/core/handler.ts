/**
 * Handler wiring shared by every function: a middy chain with Powertools (logger, tracer, metrics) around a
 * small core function that takes its dependencies as arguments. Workflow handlers parse their task input
 * with a zod schema and let errors escape (the error's `name` is the contract with the state machine's
 * Retry/Catch); API handlers map errors to status codes themselves.
 */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import type { Context } from 'aws-lambda';
import type * as z from 'zod';

export const NAMESPACE = 'IncidentAutopilot';

export interface Observability {
  readonly logger: Logger;
  readonly tracer: Tracer;
  readonly metrics: Metrics;
}

export const observability = (serviceName: string): Observability => {
  const logger = new Logger({ serviceName });
  // Metrics' own warnings (e.g. "no application metrics") go through the logger, so POWERTOOLS_LOG_LEVEL governs them.
  return { logger, tracer: new Tracer({ serviceName }), metrics: new Metrics({ namespace: NAMESPACE, serviceName, logger }) };
};

/** A state-machine task handler: the input is parsed with `schema`, errors escape with their `name`. */
export const workflowHandler = <S extends z.ZodType, R>(
  name: string,
  schema: S,
  core: (input: z.infer<S>, o: Observability) => Promise<R>,
) => {
  const o = observability(name);
  // No early timeout: middy's answers an error named `TimeoutError` (the AWS SDK's, retried by the retry contract)
  // while the task goes on in an environment Lambda freezes. Lambda's own timeout ends it (`Sandbox.Timedout`, not retried).
  return middy<z.infer<S>, R, Error, Context>({ timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(o.logger, { clearState: true }))
    .use(captureLambdaHandler(o.tracer))
    .use(logMetrics(o.metrics))
    .use(parser({ schema }))
    .handler(async (input) => {
      const started = Date.now();
      const result = await core(input, o);
      o.metrics.addMetric('TaskDuration', MetricUnit.Milliseconds, Date.now() - started);
      return result;
    });
};

/** An API Gateway (HTTP API, payload v2) handler; the core returns the proxy result itself. */
export const apiHandler = <E, R>(name: string, core: (event: E, o: Observability) => Promise<R>) => {
  const o = observability(name);
  return middy<E, R, Error, Context>()
    .use(injectLambdaContext(o.logger, { clearState: true }))
    .use(captureLambdaHandler(o.tracer))
    .use(logMetrics(o.metrics))
    .handler(async (event) => {
      const result = await core(event, o);
      const status = (result as { statusCode?: number } | undefined)?.statusCode ?? 200;
      o.metrics.addMetric(status >= 500 ? 'ApiServerErrors' : status >= 400 ? 'ApiClientErrors' : 'ApiRequestsOk', MetricUnit.Count, 1);
      return result;
    });
};
