/**
 * Chooses the `Actions` adapter from the environment; the simulated world (the fallback) when nothing is
 * configured. A half-configured adapter, or two at once, is a `ConfigError` at cold start naming the variable.
 *
 * | adapter  | required                                         | optional                                                   |
 * |----------|--------------------------------------------------|------------------------------------------------------------|
 * | ssm      | SSM_AUTOMATION_DOCUMENTS (JSON: kind or "kind:undo" → document name/ARN) | SSM_AUTOMATION_ASSUME_ROLE_ARN, SSM_AUTOMATION_WAIT_SECONDS (40) |
 * | webhook  | ACTIONS_WEBHOOK_URL, ACTIONS_WEBHOOK_SECRET_ID   | ACTIONS_WEBHOOK_TIMEOUT_MS (10000), ACTIONS_WEBHOOK_RETRIES (2) |
 *
 * Example: `SSM_AUTOMATION_DOCUMENTS={"rollback-change":"Autopilot-Rollback","rollback-change:undo":"Autopilot-RollForward","scale-service":"Autopilot-Scale"}`.
 */
import { ConfigError, type Env, envInt, envValue } from '../../config.ts';
import { ActionKind } from '../../model.ts';
import type { Actions } from '../ports.ts';
import { checkBaseUrl } from '../vendors/http.ts';
import { SsmAutomationActions, type SsmAutomationOptions } from './ssm.ts';
import { DOCUMENT_REF_FORMS, parseDocumentRef } from './ssm-documents.ts';
import { WebhookActions } from './webhook.ts';

export type ActionsSource = 'simulated' | 'ssm' | 'webhook';

export interface ActionsSelectOptions {
  /** Reads a secret's value by id (Secrets Manager in the Lambdas; the same getter the vendor tools use). */
  readonly getSecret: (id: string) => Promise<string>;
  /** Builds the SSM client (tests pass a fake); by default the adapter builds its own on the first action. */
  readonly ssmClient?: () => NonNullable<SsmAutomationOptions['client']>;
  readonly fetch?: typeof globalThis.fetch;
}

/** An IAM role ARN in any partition. */
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/** Parses SSM_AUTOMATION_DOCUMENTS: a JSON object whose keys are action kinds (optionally `:undo`). */
export const parseDocuments = (raw: string): Record<string, string> => {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ConfigError('invalid configuration: SSM_AUTOMATION_DOCUMENTS must be a JSON object such as {"rollback-change": "Autopilot-Rollback"}');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError('invalid configuration: SSM_AUTOMATION_DOCUMENTS must be a JSON object of action kind → document name');
  const kinds = ActionKind.options.filter((k) => k !== 'none');
  const out: Record<string, string> = {};
  for (const [key, doc] of Object.entries(value)) {
    const kind = key.replace(/:undo$/, '');
    if (!(kinds as readonly string[]).includes(kind)) throw new ConfigError(`invalid configuration: SSM_AUTOMATION_DOCUMENTS key "${key}" is not an action kind (known: ${kinds.join(', ')}, each optionally with ":undo")`);
    // The same rule as the stack's grant (ssm-documents.ts): what the stack lets the function start, it accepts.
    if (typeof doc !== 'string' || !parseDocumentRef(doc)) throw new ConfigError(`invalid configuration: SSM_AUTOMATION_DOCUMENTS["${key}"] must be a document name or ARN (${DOCUMENT_REF_FORMS}), got ${JSON.stringify(doc)}`);
    out[key] = doc;
  }
  if (Object.keys(out).length === 0) throw new ConfigError('invalid configuration: SSM_AUTOMATION_DOCUMENTS names no document');
  return out;
};

/** The actions adapter for this environment, and which one it is (for a startup log line). */
export const selectActions = (env: Env, fallback: Actions, options: ActionsSelectOptions): { actions: Actions; source: ActionsSource } => {
  const documents = envValue(env, 'SSM_AUTOMATION_DOCUMENTS');
  const webhookUrl = envValue(env, 'ACTIONS_WEBHOOK_URL');
  const webhookSecret = envValue(env, 'ACTIONS_WEBHOOK_SECRET_ID');
  const ssmOnly = ['SSM_AUTOMATION_ASSUME_ROLE_ARN', 'SSM_AUTOMATION_WAIT_SECONDS'].filter((n) => envValue(env, n) !== undefined);
  if (documents && (webhookUrl || webhookSecret)) throw new ConfigError('invalid configuration: set SSM_AUTOMATION_DOCUMENTS or ACTIONS_WEBHOOK_URL, not both (one actions adapter per function)');

  if (documents) {
    const assumeRoleArn = envValue(env, 'SSM_AUTOMATION_ASSUME_ROLE_ARN');
    if (assumeRoleArn && !ROLE_ARN.test(assumeRoleArn)) throw new ConfigError(`invalid configuration: SSM_AUTOMATION_ASSUME_ROLE_ARN must be an IAM role ARN, got "${assumeRoleArn}"`);
    const waitSeconds = envInt(env, 'SSM_AUTOMATION_WAIT_SECONDS', 0, 840);
    const actions = new SsmAutomationActions({
      ...(options.ssmClient ? { client: options.ssmClient() } : {}),
      documents: parseDocuments(documents),
      ...(assumeRoleArn ? { assumeRoleArn } : {}),
      ...(waitSeconds !== undefined ? { waitSeconds } : {}),
    });
    return { actions, source: 'ssm' };
  }
  if (ssmOnly.length > 0) throw new ConfigError(`invalid configuration: SSM_AUTOMATION_DOCUMENTS must be set for the SSM Automation adapter (${ssmOnly.join(', ')} ${ssmOnly.length > 1 ? 'are' : 'is'} set)`);

  if (webhookUrl || webhookSecret) {
    if (!webhookUrl) throw new ConfigError('invalid configuration: ACTIONS_WEBHOOK_URL must be set for the action webhook (ACTIONS_WEBHOOK_SECRET_ID is set)');
    if (!webhookSecret) throw new ConfigError('invalid configuration: ACTIONS_WEBHOOK_SECRET_ID must be set for the action webhook (ACTIONS_WEBHOOK_URL is set): requests are always signed');
    const url = checkBaseUrl('ACTIONS_WEBHOOK_URL', webhookUrl);
    const timeoutMs = envInt(env, 'ACTIONS_WEBHOOK_TIMEOUT_MS', 100, 50_000);
    const retries = envInt(env, 'ACTIONS_WEBHOOK_RETRIES', 0, 5);
    const actions = new WebhookActions({
      url,
      key: () => options.getSecret(webhookSecret),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(retries !== undefined ? { retries } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    return { actions, source: 'webhook' };
  }
  for (const name of ['ACTIONS_WEBHOOK_TIMEOUT_MS', 'ACTIONS_WEBHOOK_RETRIES']) {
    if (envValue(env, name) !== undefined) throw new ConfigError(`invalid configuration: ${name} is set but ACTIONS_WEBHOOK_URL is not`);
  }
  return { actions: fallback, source: 'simulated' };
};

export const actionsFromEnv = (env: Env, fallback: Actions, options: ActionsSelectOptions): Actions => selectActions(env, fallback, options).actions;
