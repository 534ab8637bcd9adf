import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { workflowHandler } from '../core/handler.ts';
import { defaultRuntime } from '../core/default-deps.ts';
import { SecretsManagerSecret } from '../core/secrets.ts';
import { ApprovalTask, requestApproval } from '../core/agents/approval.ts';

const { deps, config } = defaultRuntime();
const retoolKey = config.RETOOL_API_KEY_SECRET_ID ? new SecretsManagerSecret(new SecretsManagerClient({}), config.RETOOL_API_KEY_SECRET_ID) : undefined;

export const handler = workflowHandler(
  'request-approval',
  ApprovalTask,
  requestApproval(deps, {
    retoolUrl: config.RETOOL_WORKFLOW_URL,
    retoolApiKey: retoolKey ? () => retoolKey.getSecret() : undefined,
    apiBaseUrl: config.API_BASE_URL,
  }),
);
