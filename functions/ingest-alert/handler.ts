/** POST /alerts/{source}: wiring only; the logic is in core.ts. Clients are built once per cold start. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadConfig } from '../core/config.ts';
import { EventBridgePublisher } from '../core/events.ts';
import { apiHandler } from '../core/handler.ts';
import { requiredSetting } from '../core/http.ts';
import { SecretsManagerSecret } from '../core/secrets.ts';
import { DynamoIncidentStore } from '../core/store/dynamo-store.ts';
import { apiSfnClient, SfnWorkflowClient } from '../core/workflow-client.ts';
import { ingestAlert } from './core.ts';

const config = loadConfig();

export const handler = apiHandler(
  'ingest-alert',
  ingestAlert({
    store: new DynamoIncidentStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), config.TABLE_NAME, { dedupTtlHours: config.DEDUP_TTL_HOURS }),
    workflow: new SfnWorkflowClient(apiSfnClient(), requiredSetting(config.STATE_MACHINE_ARN, 'STATE_MACHINE_ARN')),
    events: new EventBridgePublisher(new EventBridgeClient({}), config.EVENT_BUS_NAME),
    secret: new SecretsManagerSecret(new SecretsManagerClient({}), requiredSetting(config.WEBHOOK_SECRET_ID, 'WEBHOOK_SECRET_ID')),
    config,
    clock: () => new Date(),
  }),
);
