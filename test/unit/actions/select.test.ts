import { SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../functions/core/config.ts';
import { parseDocuments } from '../../../functions/core/tools/adapters.ts';
import { toolsRuntime } from '../../../functions/core/tools/runtime.ts';
import { MemoryWorldStore } from '../../../functions/core/world/world-store.ts';
import { SsmAutomationActions } from '../../../functions/core/tools/actions/ssm.ts';
import { WebhookActions } from '../../../functions/core/tools/actions/webhook.ts';

const options = { getSecret: async () => 'key', ssmClient: () => new SSMClient({ region: 'eu-west-1' }), worlds: new MemoryWorldStore() };
/** The actions port through the adapter table, as a function builds it at cold start. */
const select = (env: Record<string, string>) => {
  const runtime = toolsRuntime(env, options);
  return { actions: runtime.adapter('actions'), source: runtime.sources.actions };
};
const errorOf = (env: Record<string, string>): Error => {
  try {
    select(env);
  } catch (error) {
    return error as Error;
  }
  throw new Error('no error');
};

describe('unit: actions adapter selection', () => {
  // Changed by issue 10: the simulated world serves actions only where the deployment chose it.
  it('uses the simulated world when it is chosen and nothing else is configured, and no adapter otherwise', async () => {
    expect(select({ TOOLS_DEFAULT: 'simulated' }).source).toBe('simulated');
    expect(select({ TOOLS_ACTIONS: 'simulated' }).source).toBe('simulated');
    expect(select({}).source).toBe('none');
    expect(await select({}).actions).toBeUndefined();
  });

  it('uses SSM Automation when SSM_AUTOMATION_DOCUMENTS is set', async () => {
    const { actions, source } = select({ SSM_AUTOMATION_DOCUMENTS: '{"rollback-change":"Autopilot-Rollback","rollback-change:undo":"Autopilot-RollForward"}', SSM_AUTOMATION_ASSUME_ROLE_ARN: 'arn:aws:iam::111122223333:role/Autopilot', SSM_AUTOMATION_WAIT_SECONDS: '30' });
    expect(source).toBe('ssm-automation');
    expect(await actions).toBeInstanceOf(SsmAutomationActions);
  });

  it('uses the signed webhook when its URL and key are set', async () => {
    const { actions, source } = select({ ACTIONS_WEBHOOK_URL: 'https://deploy.example.com/autopilot', ACTIONS_WEBHOOK_SECRET_ID: 'autopilot/actions-webhook' });
    expect(source).toBe('actions-webhook');
    expect(await actions).toBeInstanceOf(WebhookActions);
  });

  it.each([
    [{ SSM_AUTOMATION_DOCUMENTS: '{"rollback-change":"A-1"}', ACTIONS_WEBHOOK_URL: 'https://x.example' }, /not both/],
    [{ ACTIONS_WEBHOOK_URL: 'https://x.example' }, /ACTIONS_WEBHOOK_SECRET_ID must be set/],
    [{ ACTIONS_WEBHOOK_SECRET_ID: 's' }, /ACTIONS_WEBHOOK_URL must be set/],
    [{ ACTIONS_WEBHOOK_URL: 'http://deploy.example.com/x', ACTIONS_WEBHOOK_SECRET_ID: 's' }, /ACTIONS_WEBHOOK_URL must use https/],
    [{ ACTIONS_WEBHOOK_URL: 'https://x.example', ACTIONS_WEBHOOK_SECRET_ID: 's', ACTIONS_WEBHOOK_RETRIES: '9' }, /ACTIONS_WEBHOOK_RETRIES must be an integer between 0 and 5/],
    [{ SSM_AUTOMATION_ASSUME_ROLE_ARN: 'arn:aws:iam::111122223333:role/x' }, /SSM_AUTOMATION_DOCUMENTS must be set/],
    [{ SSM_AUTOMATION_DOCUMENTS: '{"rollback-change":"A-1"}', SSM_AUTOMATION_ASSUME_ROLE_ARN: 'role/x' }, /SSM_AUTOMATION_ASSUME_ROLE_ARN must be an IAM role ARN/],
    [{ SSM_AUTOMATION_DOCUMENTS: 'rollback-change=A' }, /SSM_AUTOMATION_DOCUMENTS must be a JSON object/],
    [{ SSM_AUTOMATION_DOCUMENTS: '{"reboot-world":"A-1"}' }, /key "reboot-world" is not an action kind/],
    [{ SSM_AUTOMATION_DOCUMENTS: '{"scale-service":"a b"}' }, /SSM_AUTOMATION_DOCUMENTS\["scale-service"\] must be a document name or ARN/],
    [{ ACTIONS_WEBHOOK_TIMEOUT_MS: '500' }, /ACTIONS_WEBHOOK_TIMEOUT_MS is set but ACTIONS_WEBHOOK_URL is not/],
  ])('rejects a bad configuration with a ConfigError naming the variable (%j)', (env, message) => {
    const error = errorOf(env);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(message);
  });

  it('parses the document map, undo documents and ARNs included', () => {
    expect(parseDocuments('{"failover":"Autopilot-Failover","failover:undo":"arn:aws:ssm:eu-west-1:111122223333:document/Autopilot-Failback"}')).toEqual({
      failover: 'Autopilot-Failover',
      'failover:undo': 'arn:aws:ssm:eu-west-1:111122223333:document/Autopilot-Failback',
    });
  });
});
