/**
 * GET /incidents/{id}/signals and GET /console/incidents/{id}/signals: wiring only; the logic is in core.ts. The tools
 * are built as the agents' are (functions/core/tools/runtime.ts, from the same environment the stack gives the
 * agents), so the charts read the same telemetry and changes the agents reasoned from.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadConfig } from '../core/config.ts';
import { apiHandler } from '../core/handler.ts';
import { secretsManagerGetter } from '../core/secrets.ts';
import { DynamoIncidentStore } from '../core/store/dynamo-store.ts';
import { toolsRuntime } from '../core/tools/runtime.ts';
import { incidentSignals } from './core.ts';

const config = loadConfig();
const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true } });
// Vendor tokens are read on the first call of their adapter, and cached.
const { tools } = toolsRuntime(process.env, { getSecret: secretsManagerGetter(new SecretsManagerClient({})), dynamo: () => dynamo, tableName: config.TABLE_NAME });

export const handler = apiHandler(
  'incident-signals',
  incidentSignals({ store: new DynamoIncidentStore(dynamo, config.TABLE_NAME), tools, clock: () => new Date() }),
);
