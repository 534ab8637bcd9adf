/**
 * The opening sweeper, invoked by an EventBridge Scheduler schedule (and by the laptop twin's timer): wiring only; the
 * logic is in core.ts. Clients are built once per cold start; the run's report is its result (and its log line).
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { loadConfig } from '../core/config.ts';
import { EventBridgePublisher } from '../core/events.ts';
import { observability } from '../core/handler.ts';
import { requiredSetting } from '../core/http.ts';
import { DynamoIncidentStore } from '../core/store/dynamo-store.ts';
import { apiSfnClient, SfnWorkflowClient } from '../core/workflow-client.ts';
import { type SweepReport, sweepOpenings } from './core.ts';

const config = loadConfig();
const o = observability('sweep-openings');

const sweep = sweepOpenings({
  store: new DynamoIncidentStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), config.TABLE_NAME, { dedupTtlHours: config.DEDUP_TTL_HOURS }),
  workflow: new SfnWorkflowClient(apiSfnClient(), requiredSetting(config.STATE_MACHINE_ARN, 'STATE_MACHINE_ARN')),
  events: new EventBridgePublisher(new EventBridgeClient({}), config.EVENT_BUS_NAME),
  config,
  clock: () => new Date(),
});

export const handler = middy<unknown, SweepReport, Error, Context>()
  .use(injectLambdaContext(o.logger, { clearState: true }))
  .use(captureLambdaHandler(o.tracer))
  .use(logMetrics(o.metrics))
  .handler(async (event) => {
    const report = await sweep(event, o);
    o.logger.info('opening sweep done', { examined: report.examined, takenOver: report.takenOver.length, skipped: report.skipped.length, failed: report.failed.length, complete: report.complete });
    return report;
  });
