/** GET /incidents, GET /incidents/{id} and GET /summary: wiring only; the logic is in core.ts. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadConfig } from '../core/config.ts';
import { apiHandler } from '../core/handler.ts';
import { DynamoIncidentStore } from '../core/store/dynamo-store.ts';
import { queryIncidents } from './core.ts';

const config = loadConfig();

export const handler = apiHandler(
  'query-incidents',
  queryIncidents({ store: new DynamoIncidentStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), config.TABLE_NAME) }),
);
