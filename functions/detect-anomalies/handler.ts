/**
 * The anomaly detector, invoked by an EventBridge Scheduler schedule (and by the laptop twin's timer): wiring only;
 * the logic is in core.ts. The targets (DETECTOR_TARGETS) and the tools are read once per cold start — a bad
 * DETECTOR_TARGETS fails the function at init, naming the problem — and the telemetry port is the agents' own
 * (functions/core/tools/runtime.ts through defaultRuntime: simulated, vendor or AWS adapters alike). The run's report
 * is its result and its log line.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Context } from 'aws-lambda';
import { defaultRuntime } from '../core/default-deps.ts';
import { observability } from '../core/handler.ts';
import { requiredSetting } from '../core/http.ts';
import { DynamoIncidentStore } from '../core/store/dynamo-store.ts';
import { apiSfnClient, SfnWorkflowClient } from '../core/workflow-client.ts';
import { type DetectionReport, detectAnomalies, parseDetectorTargets } from './core.ts';

const targets = parseDetectorTargets(process.env);
const { config, deps, dynamo } = defaultRuntime();
const o = observability('detect-anomalies');

const detect = detectAnomalies({
  telemetry: deps.tools.telemetry,
  intake: {
    store: new DynamoIncidentStore(dynamo, config.TABLE_NAME, { dedupTtlHours: config.DEDUP_TTL_HOURS }),
    workflow: new SfnWorkflowClient(apiSfnClient(), requiredSetting(config.STATE_MACHINE_ARN, 'STATE_MACHINE_ARN')),
    events: deps.events,
    config,
    clock: () => new Date(),
  },
  targets,
  clock: () => new Date(),
});

export const handler = middy<unknown, DetectionReport, Error, Context>()
  .use(injectLambdaContext(o.logger, { clearState: true }))
  .use(captureLambdaHandler(o.tracer))
  .use(logMetrics(o.metrics))
  .handler(async (event) => {
    const report = await detect(event, o);
    o.logger.info('anomaly detection done', {
      targets: report.targets.map((t) => ({ environment: t.environment, status: t.status, ...(t.reason ? { reason: t.reason } : {}), servicesScored: t.servicesScored, durationMs: t.durationMs, scoringMs: t.scoringMs })),
      servicesScored: report.servicesScored,
      detections: report.detections,
      opened: report.opened,
      correlated: report.correlated,
      deduplicated: report.deduplicated,
      resolved: report.resolved,
      failures: report.failures,
      durationMs: report.durationMs,
    });
    return report;
  });
