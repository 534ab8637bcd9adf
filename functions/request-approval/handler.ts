/** "Request approval" (a `.waitForTaskToken` task): wiring only; the logic is in functions/core/agents/approval.ts. */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { workflowHandler } from '../core/handler.ts';
import { defaultRuntime } from '../core/default-deps.ts';
import { ApprovalLinks } from '../core/approval-links.ts';
import { SecretsManagerSecret } from '../core/secrets.ts';
import { ApprovalTask, checkRetoolUrl, requestApproval } from '../core/agents/approval.ts';

const { deps, config } = defaultRuntime();
const secrets = new SecretsManagerClient({});
const retoolKey = config.RETOOL_API_KEY_SECRET_ID ? new SecretsManagerSecret(secrets, config.RETOOL_API_KEY_SECRET_ID) : undefined;
// Signed approve/reject links need the webhook secret (the link key is derived from it); without it, no links.
const links = config.WEBHOOK_SECRET_ID ? new ApprovalLinks(new SecretsManagerSecret(secrets, config.WEBHOOK_SECRET_ID)) : undefined;

export const handler = workflowHandler(
  'request-approval',
  ApprovalTask,
  requestApproval(deps, {
    // Checked at cold start: a URL carrying the API key (it would reach logs) fails the function at init.
    retoolUrl: config.RETOOL_WORKFLOW_URL ? checkRetoolUrl(config.RETOOL_WORKFLOW_URL) : undefined,
    retoolApiKey: retoolKey ? () => retoolKey.getSecret() : undefined,
    apiBaseUrl: config.API_BASE_URL,
    links,
  }),
);
