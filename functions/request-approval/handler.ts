/** "Request approval" (a `.waitForTaskToken` task): wiring only; the logic is in functions/core/agents/approval.ts. */
import { workflowHandler } from '../core/handler.ts';
import { defaultRuntime } from '../core/default-deps.ts';
import { ApprovalLinks } from '../core/approval-links.ts';
import { ApprovalTask, checkRetoolUrl, requestApproval } from '../core/agents/approval.ts';

const { deps, config, getSecret } = defaultRuntime();
const { RETOOL_API_KEY_SECRET_ID: retoolKeyId, WEBHOOK_SECRET_ID: webhookSecretId } = config;
// Signed approve/reject links need the webhook secret (the link key is derived from it); without it, no links.
const links = webhookSecretId ? new ApprovalLinks({ getSecret: () => getSecret(webhookSecretId) }) : undefined;

export const handler = workflowHandler(
  'request-approval',
  ApprovalTask,
  requestApproval(deps, {
    // Checked at cold start: a URL carrying the API key (it would reach logs) fails the function at init.
    retoolUrl: config.RETOOL_WORKFLOW_URL ? checkRetoolUrl(config.RETOOL_WORKFLOW_URL) : undefined,
    retoolApiKey: retoolKeyId ? () => getSecret(retoolKeyId) : undefined,
    apiBaseUrl: config.API_BASE_URL,
    links,
  }),
);
