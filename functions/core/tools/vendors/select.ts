/**
 * Chooses, per tool port, the vendor adapter or the fallback (the simulated world), from environment
 * variables. A port whose variables are all absent uses the fallback; a port with some but not all of its
 * required variables is a configuration error naming the missing one (fail at cold start, not mid-incident).
 * Secrets are never in the environment: the environment names a secret id, and `getSecret(id)` (the
 * caller wires Secrets Manager, with its own cache) is asked per request, so a rotation is picked up.
 *
 * | port      | required                                        | optional                                                 |
 * |-----------|-------------------------------------------------|----------------------------------------------------------|
 * | telemetry | DYNATRACE_URL, DYNATRACE_TOKEN_SECRET_ID        | DYNATRACE_ENVIRONMENT_TAG                                |
 * | changes   | SERVICENOW_URL and either SERVICENOW_TOKEN_SECRET_ID (OAuth bearer) or SERVICENOW_USER + SERVICENOW_PASSWORD_SECRET_ID | SERVICENOW_READ_ONLY (true/false), SERVICENOW_CLOSE_CODE |
 * | logs      | SPLUNK_URL, SPLUNK_TOKEN_SECRET_ID              | SPLUNK_INDEX (main), SPLUNK_SERVICE_FIELD (service), SPLUNK_LEVEL_FIELD (log_level), SPLUNK_AUTH_SCHEME (Bearer/Splunk) |
 * | oncall    | PAGERDUTY_TOKEN_SECRET_ID                       | PAGERDUTY_URL (https://api.pagerduty.com)                |
 * | all       |                                                 | TOOLS_HTTP_TIMEOUT_MS, TOOLS_HTTP_RETRIES                |
 *
 * The `actions` port is not a vendor observability tool: it passes through from `fallback`, where
 * functions/core/tools/actions/select.ts has already chosen SSM Automation, a signed webhook or the simulated world.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError, type Env, envInt, envValue } from '../../config.ts';
import { SecretsManagerSecret } from '../../secrets.ts';
import type { Tools } from '../ports.ts';
import { DynatraceTelemetry } from './dynatrace.ts';
import { type Credential, type RetryPolicy, checkBaseUrl } from './http.ts';
import { PagerDutyOnCall, PAGERDUTY_API } from './pagerduty.ts';
import { ServiceNowChanges, type ServiceNowAuth } from './servicenow.ts';
import { SplunkLogs } from './splunk.ts';

export type { Env } from '../../config.ts';

export interface VendorSelectOptions {
  /** Reads a secret's value by id (Secrets Manager in the Lambdas). */
  readonly getSecret: (id: string) => Promise<string>;
  readonly fetch?: typeof globalThis.fetch;
}

/** Which adapter each port ended up with, for a startup log line. */
export type ToolSources = Record<'telemetry' | 'changes' | 'logs' | 'oncall' | 'actions', 'dynatrace' | 'servicenow' | 'splunk' | 'pagerduty' | 'fallback'>;

/** Required variables of a port: all absent → undefined (use the fallback); some absent → ConfigError. */
const group = <K extends string>(env: Env, port: string, names: readonly K[]): Record<K, string> | undefined => {
  const present = names.filter((n) => envValue(env, n) !== undefined);
  if (present.length === 0) return undefined;
  const missing = names.filter((n) => envValue(env, n) === undefined);
  if (missing.length > 0) throw new ConfigError(`invalid configuration: ${missing.join(', ')} must be set for the ${port} adapter (${present.join(', ')} ${present.length > 1 ? 'are' : 'is'} set)`);
  return Object.fromEntries(names.map((n) => [n, envValue(env, n) as string])) as Record<K, string>;
};

const bool = (env: Env, name: string): boolean | undefined => {
  const v = envValue(env, name);
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw new ConfigError(`invalid configuration: ${name} must be true or false, got "${v}"`);
  return v === 'true';
};

/** Ports built from the environment, plus which adapter each uses. */
export const selectTools = (env: Env, fallback: Tools, options: VendorSelectOptions): { tools: Tools; sources: ToolSources } => {
  const secret = (id: string): Credential => () => options.getSecret(id);
  const common: RetryPolicy & { fetch?: typeof globalThis.fetch } = {
    timeoutMs: envInt(env, 'TOOLS_HTTP_TIMEOUT_MS', 100, 120_000),
    retries: envInt(env, 'TOOLS_HTTP_RETRIES', 0, 5),
    fetch: options.fetch,
  };
  const sources: ToolSources = { telemetry: 'fallback', changes: 'fallback', logs: 'fallback', oncall: 'fallback', actions: 'fallback' };
  // `undefined` options would override the adapters' own defaults when spread: drop them.
  const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

  let telemetry = fallback.telemetry;
  const dt = group(env, 'Dynatrace', ['DYNATRACE_URL', 'DYNATRACE_TOKEN_SECRET_ID']);
  if (dt) {
    telemetry = new DynatraceTelemetry(
      defined({ ...common, baseUrl: checkBaseUrl('DYNATRACE_URL', dt.DYNATRACE_URL), apiToken: secret(dt.DYNATRACE_TOKEN_SECRET_ID), environmentTag: envValue(env, 'DYNATRACE_ENVIRONMENT_TAG') }),
    );
    sources.telemetry = 'dynatrace';
  }

  let changes = fallback.changes;
  const snUrl = envValue(env, 'SERVICENOW_URL');
  const snToken = envValue(env, 'SERVICENOW_TOKEN_SECRET_ID');
  const snBasic = group(env, 'ServiceNow basic auth', ['SERVICENOW_USER', 'SERVICENOW_PASSWORD_SECRET_ID']);
  if (snUrl || snToken || snBasic) {
    if (!snUrl) throw new ConfigError('invalid configuration: SERVICENOW_URL must be set for the ServiceNow adapter');
    if (snToken && snBasic) throw new ConfigError('invalid configuration: set SERVICENOW_TOKEN_SECRET_ID or SERVICENOW_USER + SERVICENOW_PASSWORD_SECRET_ID, not both');
    if (!snToken && !snBasic) throw new ConfigError('invalid configuration: SERVICENOW_TOKEN_SECRET_ID or SERVICENOW_USER + SERVICENOW_PASSWORD_SECRET_ID must be set for the ServiceNow adapter');
    const auth: ServiceNowAuth = snToken ? { token: secret(snToken) } : { user: snBasic!.SERVICENOW_USER, password: secret(snBasic!.SERVICENOW_PASSWORD_SECRET_ID) };
    changes = new ServiceNowChanges(
      defined({ ...common, instanceUrl: checkBaseUrl('SERVICENOW_URL', snUrl), auth, readOnly: bool(env, 'SERVICENOW_READ_ONLY'), closeCode: envValue(env, 'SERVICENOW_CLOSE_CODE') }),
    );
    sources.changes = 'servicenow';
  }

  let logs = fallback.logs;
  const sp = group(env, 'Splunk', ['SPLUNK_URL', 'SPLUNK_TOKEN_SECRET_ID']);
  if (sp) {
    const scheme = envValue(env, 'SPLUNK_AUTH_SCHEME');
    if (scheme !== undefined && scheme !== 'Bearer' && scheme !== 'Splunk') throw new ConfigError(`invalid configuration: SPLUNK_AUTH_SCHEME must be Bearer or Splunk, got "${scheme}"`);
    logs = new SplunkLogs(
      defined({
        ...common,
        baseUrl: checkBaseUrl('SPLUNK_URL', sp.SPLUNK_URL),
        token: secret(sp.SPLUNK_TOKEN_SECRET_ID),
        authScheme: scheme,
        index: envValue(env, 'SPLUNK_INDEX'),
        serviceField: envValue(env, 'SPLUNK_SERVICE_FIELD'),
        levelField: envValue(env, 'SPLUNK_LEVEL_FIELD'),
      }),
    );
    sources.logs = 'splunk';
  }

  let oncall = fallback.oncall;
  const pdToken = envValue(env, 'PAGERDUTY_TOKEN_SECRET_ID');
  const pdUrl = envValue(env, 'PAGERDUTY_URL');
  if (pdUrl && !pdToken) throw new ConfigError('invalid configuration: PAGERDUTY_TOKEN_SECRET_ID must be set for the PagerDuty adapter (PAGERDUTY_URL is set)');
  if (pdToken) {
    oncall = new PagerDutyOnCall(defined({ ...common, token: secret(pdToken), baseUrl: checkBaseUrl('PAGERDUTY_URL', pdUrl ?? PAGERDUTY_API) }));
    sources.oncall = 'pagerduty';
  }

  return { tools: { telemetry, changes, logs, oncall, actions: fallback.actions }, sources };
};

/** The tools for this environment: vendor adapters where configured, `fallback` (simulated) elsewhere. */
export const toolsFromEnv = (env: Env, fallback: Tools, options: VendorSelectOptions): Tools => selectTools(env, fallback, options).tools;

/**
 * A `getSecret` over Secrets Manager: one cached `SecretsManagerSecret` per secret id (values kept for the
 * TTL, concurrent cold reads shared), so a warm Lambda does not call Secrets Manager per vendor request.
 */
export const secretsManagerGetter = (client: SecretsManagerClient, options: { ttlMs?: number } = {}): ((id: string) => Promise<string>) => {
  const byId = new Map<string, SecretsManagerSecret>();
  return (id) => {
    let secret = byId.get(id);
    if (!secret) {
      secret = new SecretsManagerSecret(client, id, options);
      byId.set(id, secret);
    }
    return secret.getSecret();
  };
};
