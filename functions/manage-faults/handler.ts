/** GET/POST /admin/faults and DELETE /admin/faults/{id}: wiring only; the logic is in core.ts. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadConfig } from '../core/config.ts';
import { apiHandler } from '../core/handler.ts';
import { DynamoWorldStore } from '../core/world/world-store.ts';
import { manageFaults } from './core.ts';

const config = loadConfig();

export const handler = apiHandler(
  'manage-faults',
  manageFaults({ worlds: new DynamoWorldStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), config.TABLE_NAME), config, clock: () => new Date() }),
);
