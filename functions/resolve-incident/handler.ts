/** POST /incidents/{id}/resolution and POST /console/incidents/{id}/resolution: wiring only; the logic is in core.ts. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadConfig } from '../core/config.ts';
import { EventBridgePublisher } from '../core/events.ts';
import { apiHandler } from '../core/handler.ts';
import { requiredSetting } from '../core/http.ts';
import { SecretsManagerSecret, secretsManagerGetter } from '../core/secrets.ts';
import { DynamoIncidentStore } from '../core/store/dynamo-store.ts';
import { toolsRuntime } from '../core/tools/runtime.ts';
import { resolveIncident } from './core.ts';

const config = loadConfig();
const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true } });
const secrets = new SecretsManagerClient({});
// The incident history through the adapter table, as the workflow's write-report reaches it (functions/core/tools/runtime.ts).
const { tools } = toolsRuntime(process.env, { getSecret: secretsManagerGetter(secrets), dynamo: () => dynamo, tableName: config.TABLE_NAME });

export const handler = apiHandler(
  'resolve-incident',
  resolveIncident({
    store: new DynamoIncidentStore(dynamo, config.TABLE_NAME, { dedupTtlHours: config.DEDUP_TTL_HOURS }),
    tools,
    events: EventBridgePublisher.lazy(config.EVENT_BUS_NAME),
    secret: new SecretsManagerSecret(secrets, requiredSetting(config.WEBHOOK_SECRET_ID, 'WEBHOOK_SECRET_ID')),
    config,
    clock: () => new Date(),
  }),
);
