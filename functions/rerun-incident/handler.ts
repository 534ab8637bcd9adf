/** POST /incidents/{id}/rerun: wiring only; the logic is in core.ts. */
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
import { DynamoActionJournal } from '../core/store/journal.ts';
import { apiSfnClient, SfnWorkflowClient } from '../core/workflow-client.ts';
import { rerunIncident } from './core.ts';

const config = loadConfig();
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = apiHandler(
  'rerun-incident',
  rerunIncident({
    store: new DynamoIncidentStore(doc, config.TABLE_NAME, { dedupTtlHours: config.DEDUP_TTL_HOURS }),
    journal: new DynamoActionJournal(doc, config.TABLE_NAME),
    workflow: new SfnWorkflowClient(apiSfnClient(), requiredSetting(config.STATE_MACHINE_ARN, 'STATE_MACHINE_ARN')),
    // An incident whose opening never completed is opened by its rerun: `Incident Opened` goes out from here then.
    events: new EventBridgePublisher(new EventBridgeClient({}), config.EVENT_BUS_NAME),
    clock: () => new Date(),
    secret: new SecretsManagerSecret(new SecretsManagerClient({}), requiredSetting(config.WEBHOOK_SECRET_ID, 'WEBHOOK_SECRET_ID')),
    config,
  }),
);
