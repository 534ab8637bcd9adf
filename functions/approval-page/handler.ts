/** GET and POST /approvals/{token}: wiring only; the logic is in core.ts, the HTML in html.ts. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ApprovalLinks } from '../core/approval-links.ts';
import { loadConfig } from '../core/config.ts';
import { apiHandler } from '../core/handler.ts';
import { requiredSetting } from '../core/http.ts';
import { SecretsManagerSecret } from '../core/secrets.ts';
import { DynamoIncidentStore } from '../core/store/dynamo-store.ts';
import { apiSfnClient, SfnWorkflowClient } from '../core/workflow-client.ts';
import { approvalPage } from './core.ts';

const config = loadConfig();

export const handler = apiHandler(
  'approval-page',
  approvalPage({
    store: new DynamoIncidentStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), config.TABLE_NAME),
    // Answering a task token needs no state machine ARN.
    workflow: new SfnWorkflowClient(apiSfnClient()),
    // The link key is derived from the webhook secret (see functions/core/approval-links.ts).
    links: new ApprovalLinks(new SecretsManagerSecret(new SecretsManagerClient({}), requiredSetting(config.WEBHOOK_SECRET_ID, 'WEBHOOK_SECRET_ID'))),
    config,
    clock: () => new Date(),
  }),
);
