/**
 * The adapter table: every adapter behind the tool ports, one row each. A row says which ports it serves, the
 * environment variables it reads (a zod schema, parsed once at cold start, whose errors name the variable), how it
 * is built (a lazy `import()`, so a function loads only the adapters its configuration uses) and the IAM it needs
 * (declarative: the stack grants from the rows in use). `runtime.ts` builds the tools from the environment through
 * this table; `lib/incident-autopilot-stack.ts` checks the deployment's settings and grants through it.
 *
 * Adding an adapter is adding a row.
 *
 * | row             | ports      | selected when                                                                      |
 * |-----------------|------------|------------------------------------------------------------------------------------|
 * | simulated       | all        | chosen explicitly: TOOLS_DEFAULT=simulated or TOOLS_<PORT>=simulated               |
 * | recorded        | all        | chosen explicitly: TOOLS_DEFAULT=recorded or TOOLS_<PORT>=recorded (a replay)      |
 * | dynatrace       | telemetry  | DYNATRACE_URL or DYNATRACE_TOKEN_SECRET_ID is set                                  |
 * | servicenow      | changes    | SERVICENOW_URL, SERVICENOW_TOKEN_SECRET_ID, SERVICENOW_USER or SERVICENOW_PASSWORD_SECRET_ID is set |
 * | splunk          | logs       | SPLUNK_URL or SPLUNK_TOKEN_SECRET_ID is set                                        |
 * | pagerduty       | oncall     | PAGERDUTY_TOKEN_SECRET_ID or PAGERDUTY_URL is set                                  |
 * | ssm-automation  | actions    | any SSM_AUTOMATION_* variable is set                                               |
 * | actions-webhook | actions    | any ACTIONS_WEBHOOK_* variable is set                                              |
 * | aws-telemetry   | telemetry  | family `aws` (TOOLS_DEFAULT=aws): X-Ray service graph, statistics, traces; CloudWatch GetMetricData |
 * | aws-logs        | logs       | family `aws`: CloudWatch Logs Insights over each service's log groups              |
 * | aws-changes     | changes    | family `aws`: CloudTrail LookupEvents, CodeDeploy; past incidents as HISTORY# items |
 * | aws-oncall      | oncall     | family `aws`: tags (team, oncall, runbook, slack), AWS_ONCALL_ROSTER_PARAMETER     |
 * | aws-actions     | actions    | family `aws`: typed rollbacks, only on AWS_ACTIONS_RESOURCES                       |
 *
 * A vendor row whose variables are set wins over a family choice for its port (Dynatrace telemetry with the rest
 * from AWS is `TOOLS_DEFAULT=aws` plus DYNATRACE_URL + DYNATRACE_TOKEN_SECRET_ID).
 *
 * Bundling: each row's `build` is written as `process.env.AUTOPILOT_OMIT_<ROW> === 'true' ? undefined : …`. The
 * stack defines that expression as `"true"` for the rows a deployment does not use, so esbuild drops the row's
 * `import()` (and everything only it imports) from the bundle; unbundled (tests, the twin) every row is available.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { ConfigError, type Env, envValue } from '../config.ts';
import { ActionKind } from '../model.ts';
import type { WorldStore } from '../world/world-store.ts';
import { DOCUMENT_REF_FORMS, parseDocumentRef } from './actions/ssm-documents.ts';
import type { Tools } from './ports.ts';
import { checkBaseUrl } from './vendors/http.ts';
import { ACTIONS_IAM, ACTIONS_VARIABLES, parseActionSettings } from './aws/rollback-targets.ts';
import { AWS_CLIENT_VARIABLES } from './aws/clients.ts';
import { checkParameterName, DIRECTORY_IAM, DIRECTORY_VARIABLES, parseDirectorySettings } from './aws/directory-settings.ts';

// ───────────────────────── ports ─────────────────────────

/** Every port and its methods: the runtime serves each method of a port through the row chosen for it. */
export const PORT_METHODS = {
  telemetry: ['queryMetrics', 'getTraces', 'getTopology'],
  changes: ['listChanges', 'searchIncidents', 'recordIncident'],
  logs: ['search'],
  oncall: ['getOnCall', 'getOwnership'],
  actions: ['execute'],
} as const satisfies { readonly [P in keyof Tools]: readonly (keyof Tools[P])[] };

export type Port = keyof Tools;
export const PORTS = Object.keys(PORT_METHODS) as readonly Port[];
/** A method of a port (of any port when none is named). Method names are unique across the ports. */
export type PortMethod<P extends Port = Port> = (typeof PORT_METHODS)[P][number];

// ───────────────────────── IAM ─────────────────────────

/**
 * What a row needs from IAM, by kind of resource; the stack turns each into a least-privilege statement, granted
 * only to the functions that call a port method the need serves (functions/core/agents/tool-use.ts).
 */
export type IamNeed = IamResourceNeed & {
  /**
   * The port methods that need it (each a method of one of the row's ports). Absent: every method of the row's
   * ports. A row whose methods call different APIs scopes each need, so that a function calling only `searchIncidents`
   * is not granted CloudTrail, nor one calling only `getTopology` X-Ray's traces.
   */
  readonly methods?: readonly PortMethod[];
};

type IamResourceNeed =
  /**
   * The actions on the ARN patterns the variable lists (comma-separated, `*` and `?` as IAM reads them; none when
   * the variable is unset): aws/rollback-targets.ts `parseResourcePatterns` parses them.
   */
  | { readonly resource: 'arns-of-variable'; readonly variable: string; readonly actions: readonly string[] }
  /** Read the Secrets Manager secret whose complete ARN the variable holds. */
  | { readonly resource: 'secret-of-variable'; readonly variable: string; readonly actions: readonly string[] }
  /** The incident table, only the items whose partition key starts with one of `leadingKeyPrefixes`. */
  | { readonly resource: 'incident-table'; readonly actions: readonly string[]; readonly leadingKeyPrefixes: readonly string[] }
  /** Start the Automation documents the variable names (a JSON map; any version). */
  | { readonly resource: 'automation-definitions-of-variable'; readonly variable: string; readonly actions: readonly string[] }
  /** The Automation executions the function starts (ids known only once started). */
  | { readonly resource: 'automation-executions'; readonly actions: readonly string[] }
  /** Pass the role whose ARN the variable holds, to one service only. */
  | { readonly resource: 'role-of-variable'; readonly variable: string; readonly passedToService: string; readonly actions: readonly string[] }
  /** Pass the roles whose ARNs the variable lists (comma-separated), to these services only. */
  | { readonly resource: 'roles-of-variable'; readonly variable: string; readonly passedToServices: readonly string[]; readonly actions: readonly string[] }
  /**
   * An AWS API on the resources named. Each resource is an ARN pattern in which `{partition}`, `{region}` and
   * `{account}` stand for the deployment's, or `*` for an API that has no resource-level permissions (X-Ray's
   * GetServiceGraph, CloudTrail's LookupEvents, …: `why` then says so, for the cdk-nag acknowledgement).
   */
  | { readonly resource: 'aws-api'; readonly actions: readonly string[]; readonly resources: readonly string[]; readonly why?: string }
  /**
   * The SSM parameter the variable names (a name or an ARN; none when the variable is unset): a name `/a/b` is
   * `arn:{partition}:ssm:{region}:{account}:parameter/a/b` (aws/directory-settings.ts `ssmParameterResource`).
   */
  | { readonly resource: 'ssm-parameter-of-variable'; readonly variable: string; readonly actions: readonly string[] };

const SECRET_READ = ['secretsmanager:GetSecretValue'] as const;
const secretOf = (variable: string): IamNeed => ({ resource: 'secret-of-variable', variable, actions: SECRET_READ });

// ───────────────────────── rows ─────────────────────────

/** What building an adapter may use, besides its settings. */
export interface BuildContext {
  /** Reads a secret's value by id (Secrets Manager in the Lambdas), per request so a rotation is picked up. */
  readonly getSecret: (id: string) => Promise<string>;
  readonly fetch?: typeof globalThis.fetch;
  /** Builds the SSM client (tests pass a fake); by default the adapter builds its own on the first action. */
  readonly ssmClient?: () => unknown;
  /** Where simulated worlds live (a test's memory store), else DynamoDB through `dynamo` and `tableName`. */
  readonly worlds?: WorldStore;
  readonly dynamo?: () => DynamoDBDocumentClient;
  readonly tableName?: string;
  readonly clock?: () => Date;
}

export type AdapterName = 'simulated' | 'dynatrace' | 'servicenow' | 'splunk' | 'pagerduty' | 'ssm-automation' | 'actions-webhook' | 'recorded' | 'aws-telemetry' | 'aws-logs' | 'aws-changes' | 'aws-oncall' | 'aws-actions';

export interface AdapterRow<S = unknown> {
  readonly name: AdapterName;
  /** How messages name it ("the Dynatrace adapter"). */
  readonly title: string;
  readonly ports: readonly Port[];
  /** Every variable the row reads. */
  readonly variables: readonly string[];
  /** The variables whose presence selects the row (none: the row is only chosen explicitly, by TOOLS_DEFAULT / TOOLS_<PORT>). */
  readonly selectors: readonly string[];
  /** The variables that configure it, as a gap names them ("set DYNATRACE_URL + DYNATRACE_TOKEN_SECRET_ID"); none: chosen by name only. */
  readonly configureWith: readonly string[];
  /** Its settings over the environment (the row's variables, trimmed, blanks dropped); an issue names the variable. */
  readonly settings: z.ZodType<S>;
  /** Builds the adapter (imports its module on first use); undefined when the bundle left the row out. */
  readonly build: ((settings: S, context: BuildContext) => Promise<Partial<Tools>>) | undefined;
  readonly iam: readonly IamNeed[];
  /** The stack setting a deployment configures it with. */
  readonly stackSetting: 'tools' | 'toolsEnvironment' | 'ssmAutomationDocuments' | 'actionsWebhookUrl';
  /**
   * A family of rows chosen together: `TOOLS_DEFAULT=<family>` (or `TOOLS_<PORT>=<family>`) chooses, per port, the
   * family's row that serves it. The AWS rows (X-Ray + CloudWatch, Logs Insights, CloudTrail, tags, rollbacks) are
   * the family `aws`: the stack's `tools: 'aws'`.
   */
  readonly family?: string;
}

type Raw = Readonly<Record<string, string | undefined>>;

/** A setting's problem: a ConfigError thrown inside a schema becomes an issue carrying its message. */
const settingsSchema = <S>(variables: readonly string[], parse: (raw: Raw) => S): z.ZodType<S> =>
  z.record(z.string(), z.string()).transform((env, ctx) => {
    const raw: Raw = Object.fromEntries(variables.map((n) => [n, envValue(env, n)]));
    try {
      return parse(raw);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message.replace(/^invalid configuration: /, ''), input: env });
      return z.NEVER;
    }
  }) as unknown as z.ZodType<S>;

const fail = (message: string): never => {
  throw new ConfigError(`invalid configuration: ${message}`);
};
const int = (raw: Raw, name: string, min: number, max: number): number | undefined => {
  const v = raw[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) fail(`${name} must be an integer between ${min} and ${max}, got "${v}"`);
  return n;
};
const bool = (raw: Raw, name: string): boolean | undefined => {
  const v = raw[name];
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') fail(`${name} must be true or false, got "${v}"`);
  return v === 'true';
};
/** Required variables of an adapter: some absent → the error names them and what is set. */
const required = <K extends string>(raw: Raw, title: string, names: readonly K[]): Record<K, string> => {
  const present = names.filter((n) => raw[n] !== undefined);
  const missing = names.filter((n) => raw[n] === undefined);
  if (missing.length > 0) fail(`${missing.join(', ')} must be set for the ${title} adapter (${present.length > 0 ? `${present.join(', ')} ${present.length > 1 ? 'are' : 'is'} set` : 'some of its variables are set'})`);
  return Object.fromEntries(names.map((n) => [n, raw[n] as string])) as Record<K, string>;
};
/** Drops undefined options, which would override an adapter's own defaults when spread. */
const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/** The HTTP settings every vendor adapter shares. */
const HTTP_VARIABLES = ['TOOLS_HTTP_TIMEOUT_MS', 'TOOLS_HTTP_RETRIES'] as const;
const http = (raw: Raw) => ({ timeoutMs: int(raw, 'TOOLS_HTTP_TIMEOUT_MS', 100, 120_000), retries: int(raw, 'TOOLS_HTTP_RETRIES', 0, 5) });
const credential = (context: BuildContext, id: string) => () => context.getSecret(id);

const row = <S>(r: Omit<AdapterRow<S>, 'settings'> & { readonly parse: (raw: Raw) => S }): AdapterRow<S> => {
  const { parse, ...rest } = r;
  return { ...rest, settings: settingsSchema(r.variables, parse) };
};

const simulated = row({
  name: 'simulated',
  configureWith: [],
  title: 'simulated world',
  ports: ['telemetry', 'changes', 'logs', 'oncall', 'actions'],
  variables: [],
  selectors: [],
  stackSetting: 'tools',
  parse: () => ({}),
  build:
    process.env.AUTOPILOT_OMIT_SIMULATED === 'true'
      ? undefined
      : async (_settings, context) => {
          const [{ simulatedTools }, { DynamoWorldStore }] = await Promise.all([import('./simulated.ts'), import('../world/world-store.ts')]);
          const worlds = context.worlds ?? (context.dynamo && context.tableName ? new DynamoWorldStore(context.dynamo(), context.tableName) : fail('the simulated world needs TABLE_NAME (where the worlds live)'));
          return simulatedTools(worlds, context.clock ? { clock: context.clock } : {});
        },
  // The worlds are items of the incident table (world-store.ts: PK WORLD#<id>; GetItem, PutItem, UpdateItem).
  iam: [{ resource: 'incident-table', actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], leadingKeyPrefixes: ['WORLD#'] }],
});

const dynatrace = row({
  name: 'dynatrace',
  configureWith: ['DYNATRACE_URL', 'DYNATRACE_TOKEN_SECRET_ID'],
  title: 'Dynatrace',
  ports: ['telemetry'],
  variables: ['DYNATRACE_URL', 'DYNATRACE_TOKEN_SECRET_ID', 'DYNATRACE_ENVIRONMENT_TAG', ...HTTP_VARIABLES],
  selectors: ['DYNATRACE_URL', 'DYNATRACE_TOKEN_SECRET_ID'],
  stackSetting: 'toolsEnvironment',
  parse: (raw) => {
    const r = required(raw, 'Dynatrace', ['DYNATRACE_URL', 'DYNATRACE_TOKEN_SECRET_ID']);
    return { ...http(raw), baseUrl: checkBaseUrl('DYNATRACE_URL', r.DYNATRACE_URL), tokenSecretId: r.DYNATRACE_TOKEN_SECRET_ID, environmentTag: raw.DYNATRACE_ENVIRONMENT_TAG };
  },
  build:
    process.env.AUTOPILOT_OMIT_DYNATRACE === 'true'
      ? undefined
      : async (s, context) => {
          const { DynatraceTelemetry } = await import('./vendors/dynatrace.ts');
          return { telemetry: new DynatraceTelemetry(defined({ timeoutMs: s.timeoutMs, retries: s.retries, fetch: context.fetch, baseUrl: s.baseUrl, apiToken: credential(context, s.tokenSecretId), environmentTag: s.environmentTag })) };
        },
  iam: [secretOf('DYNATRACE_TOKEN_SECRET_ID')],
});

const servicenow = row({
  name: 'servicenow',
  configureWith: ['SERVICENOW_URL', 'SERVICENOW_TOKEN_SECRET_ID'],
  title: 'ServiceNow',
  ports: ['changes'],
  variables: ['SERVICENOW_URL', 'SERVICENOW_TOKEN_SECRET_ID', 'SERVICENOW_USER', 'SERVICENOW_PASSWORD_SECRET_ID', 'SERVICENOW_READ_ONLY', 'SERVICENOW_CLOSE_CODE', ...HTTP_VARIABLES],
  selectors: ['SERVICENOW_URL', 'SERVICENOW_TOKEN_SECRET_ID', 'SERVICENOW_USER', 'SERVICENOW_PASSWORD_SECRET_ID'],
  stackSetting: 'toolsEnvironment',
  parse: (raw) => {
    const basicSet = raw.SERVICENOW_USER !== undefined || raw.SERVICENOW_PASSWORD_SECRET_ID !== undefined;
    const basic = basicSet ? required(raw, 'ServiceNow basic auth', ['SERVICENOW_USER', 'SERVICENOW_PASSWORD_SECRET_ID']) : undefined;
    const token = raw.SERVICENOW_TOKEN_SECRET_ID;
    const url = raw.SERVICENOW_URL ?? fail('SERVICENOW_URL must be set for the ServiceNow adapter');
    if (token && basic) fail('set SERVICENOW_TOKEN_SECRET_ID or SERVICENOW_USER + SERVICENOW_PASSWORD_SECRET_ID, not both');
    if (!token && !basic) fail('SERVICENOW_TOKEN_SECRET_ID or SERVICENOW_USER + SERVICENOW_PASSWORD_SECRET_ID must be set for the ServiceNow adapter');
    return {
      ...http(raw),
      instanceUrl: checkBaseUrl('SERVICENOW_URL', url),
      auth: (token ? { tokenSecretId: token } : { user: basic!.SERVICENOW_USER, passwordSecretId: basic!.SERVICENOW_PASSWORD_SECRET_ID }) as { tokenSecretId: string } | { user: string; passwordSecretId: string },
      readOnly: bool(raw, 'SERVICENOW_READ_ONLY'),
      closeCode: raw.SERVICENOW_CLOSE_CODE,
    };
  },
  build:
    process.env.AUTOPILOT_OMIT_SERVICENOW === 'true'
      ? undefined
      : async (s, context) => {
          const { ServiceNowChanges } = await import('./vendors/servicenow.ts');
          const auth = 'tokenSecretId' in s.auth ? { token: credential(context, s.auth.tokenSecretId) } : { user: s.auth.user, password: credential(context, s.auth.passwordSecretId) };
          return { changes: new ServiceNowChanges(defined({ timeoutMs: s.timeoutMs, retries: s.retries, fetch: context.fetch, instanceUrl: s.instanceUrl, auth, readOnly: s.readOnly, closeCode: s.closeCode })) };
        },
  iam: [secretOf('SERVICENOW_TOKEN_SECRET_ID'), secretOf('SERVICENOW_PASSWORD_SECRET_ID')],
});

const splunk = row({
  name: 'splunk',
  configureWith: ['SPLUNK_URL', 'SPLUNK_TOKEN_SECRET_ID'],
  title: 'Splunk',
  ports: ['logs'],
  variables: ['SPLUNK_URL', 'SPLUNK_TOKEN_SECRET_ID', 'SPLUNK_INDEX', 'SPLUNK_SERVICE_FIELD', 'SPLUNK_LEVEL_FIELD', 'SPLUNK_AUTH_SCHEME', ...HTTP_VARIABLES],
  selectors: ['SPLUNK_URL', 'SPLUNK_TOKEN_SECRET_ID'],
  stackSetting: 'toolsEnvironment',
  parse: (raw) => {
    const r = required(raw, 'Splunk', ['SPLUNK_URL', 'SPLUNK_TOKEN_SECRET_ID']);
    const scheme = raw.SPLUNK_AUTH_SCHEME;
    if (scheme !== undefined && scheme !== 'Bearer' && scheme !== 'Splunk') fail(`SPLUNK_AUTH_SCHEME must be Bearer or Splunk, got "${scheme}"`);
    return {
      ...http(raw),
      baseUrl: checkBaseUrl('SPLUNK_URL', r.SPLUNK_URL),
      tokenSecretId: r.SPLUNK_TOKEN_SECRET_ID,
      authScheme: scheme as 'Bearer' | 'Splunk' | undefined,
      index: raw.SPLUNK_INDEX,
      serviceField: raw.SPLUNK_SERVICE_FIELD,
      levelField: raw.SPLUNK_LEVEL_FIELD,
    };
  },
  build:
    process.env.AUTOPILOT_OMIT_SPLUNK === 'true'
      ? undefined
      : async (s, context) => {
          const { SplunkLogs } = await import('./vendors/splunk.ts');
          const { tokenSecretId, ...options } = s;
          return { logs: new SplunkLogs(defined({ ...options, fetch: context.fetch, token: credential(context, tokenSecretId) })) };
        },
  iam: [secretOf('SPLUNK_TOKEN_SECRET_ID')],
});

/** PagerDuty's REST API (the adapter's default base URL; pagerduty.ts's PAGERDUTY_API, not imported so the row stays light). */
const PAGERDUTY_DEFAULT_URL = 'https://api.pagerduty.com';

const pagerduty = row({
  name: 'pagerduty',
  configureWith: ['PAGERDUTY_TOKEN_SECRET_ID'],
  title: 'PagerDuty',
  ports: ['oncall'],
  variables: ['PAGERDUTY_TOKEN_SECRET_ID', 'PAGERDUTY_URL', ...HTTP_VARIABLES],
  selectors: ['PAGERDUTY_TOKEN_SECRET_ID', 'PAGERDUTY_URL'],
  stackSetting: 'toolsEnvironment',
  parse: (raw) => {
    const r = required(raw, 'PagerDuty', ['PAGERDUTY_TOKEN_SECRET_ID']);
    return { ...http(raw), tokenSecretId: r.PAGERDUTY_TOKEN_SECRET_ID, baseUrl: checkBaseUrl('PAGERDUTY_URL', raw.PAGERDUTY_URL ?? PAGERDUTY_DEFAULT_URL) };
  },
  build:
    process.env.AUTOPILOT_OMIT_PAGERDUTY === 'true'
      ? undefined
      : async (s, context) => {
          const { PagerDutyOnCall } = await import('./vendors/pagerduty.ts');
          return { oncall: new PagerDutyOnCall(defined({ timeoutMs: s.timeoutMs, retries: s.retries, fetch: context.fetch, token: credential(context, s.tokenSecretId), baseUrl: s.baseUrl })) };
        },
  iam: [secretOf('PAGERDUTY_TOKEN_SECRET_ID')],
});

/** An IAM role ARN in any partition. */
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/** Parses SSM_AUTOMATION_DOCUMENTS: a JSON object whose keys are action kinds (optionally `:undo`). */
export const parseDocuments = (raw: string): Record<string, string> => {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return fail('SSM_AUTOMATION_DOCUMENTS must be a JSON object such as {"rollback-change": "Autopilot-Rollback"}');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) fail('SSM_AUTOMATION_DOCUMENTS must be a JSON object of action kind → document name');
  const kinds = ActionKind.options.filter((k) => k !== 'none');
  const out: Record<string, string> = {};
  for (const [key, doc] of Object.entries(value as object)) {
    const kind = key.replace(/:undo$/, '');
    if (!(kinds as readonly string[]).includes(kind)) fail(`SSM_AUTOMATION_DOCUMENTS key "${key}" is not an action kind (known: ${kinds.join(', ')}, each optionally with ":undo")`);
    // The same rule as the stack's grant (ssm-documents.ts): what the stack lets the function start, it accepts.
    if (typeof doc !== 'string' || !parseDocumentRef(doc)) fail(`SSM_AUTOMATION_DOCUMENTS["${key}"] must be a document name or ARN (${DOCUMENT_REF_FORMS}), got ${JSON.stringify(doc)}`);
    out[key] = doc as string;
  }
  if (Object.keys(out).length === 0) fail('SSM_AUTOMATION_DOCUMENTS names no document');
  return out;
};

const ssmAutomation = row({
  name: 'ssm-automation',
  configureWith: ['SSM_AUTOMATION_DOCUMENTS'],
  title: 'SSM Automation',
  ports: ['actions'],
  variables: ['SSM_AUTOMATION_DOCUMENTS', 'SSM_AUTOMATION_ASSUME_ROLE_ARN', 'SSM_AUTOMATION_WAIT_SECONDS'],
  selectors: ['SSM_AUTOMATION_DOCUMENTS', 'SSM_AUTOMATION_ASSUME_ROLE_ARN', 'SSM_AUTOMATION_WAIT_SECONDS'],
  stackSetting: 'ssmAutomationDocuments',
  parse: (raw) => {
    const r = required(raw, 'SSM Automation', ['SSM_AUTOMATION_DOCUMENTS']);
    const assumeRoleArn = raw.SSM_AUTOMATION_ASSUME_ROLE_ARN;
    if (assumeRoleArn && !ROLE_ARN.test(assumeRoleArn)) fail(`SSM_AUTOMATION_ASSUME_ROLE_ARN must be an IAM role ARN, got "${assumeRoleArn}"`);
    return { documents: parseDocuments(r.SSM_AUTOMATION_DOCUMENTS), assumeRoleArn, waitSeconds: int(raw, 'SSM_AUTOMATION_WAIT_SECONDS', 0, 840) };
  },
  build:
    process.env.AUTOPILOT_OMIT_SSM_AUTOMATION === 'true'
      ? undefined
      : async (s, context) => {
          const { SsmAutomationActions } = await import('./actions/ssm.ts');
          const client = context.ssmClient?.() as ConstructorParameters<typeof SsmAutomationActions>[0]['client'];
          return { actions: new SsmAutomationActions(defined({ client, documents: s.documents, assumeRoleArn: s.assumeRoleArn, waitSeconds: s.waitSeconds })) };
        },
  iam: [
    { resource: 'automation-definitions-of-variable', variable: 'SSM_AUTOMATION_DOCUMENTS', actions: ['ssm:StartAutomationExecution'] },
    { resource: 'automation-executions', actions: ['ssm:GetAutomationExecution', 'ssm:AddTagsToResource'] },
    { resource: 'role-of-variable', variable: 'SSM_AUTOMATION_ASSUME_ROLE_ARN', passedToService: 'ssm.amazonaws.com', actions: ['iam:PassRole'] },
  ],
});

const actionsWebhook = row({
  name: 'actions-webhook',
  configureWith: ['ACTIONS_WEBHOOK_URL', 'ACTIONS_WEBHOOK_SECRET_ID'],
  title: 'action webhook',
  ports: ['actions'],
  variables: ['ACTIONS_WEBHOOK_URL', 'ACTIONS_WEBHOOK_SECRET_ID', 'ACTIONS_WEBHOOK_TIMEOUT_MS', 'ACTIONS_WEBHOOK_RETRIES'],
  selectors: ['ACTIONS_WEBHOOK_URL', 'ACTIONS_WEBHOOK_SECRET_ID', 'ACTIONS_WEBHOOK_TIMEOUT_MS', 'ACTIONS_WEBHOOK_RETRIES'],
  stackSetting: 'actionsWebhookUrl',
  parse: (raw) => {
    const url = raw.ACTIONS_WEBHOOK_URL;
    const secretId = raw.ACTIONS_WEBHOOK_SECRET_ID;
    if (!url && !secretId) {
      const set = ['ACTIONS_WEBHOOK_TIMEOUT_MS', 'ACTIONS_WEBHOOK_RETRIES'].filter((n) => raw[n] !== undefined);
      fail(`${set.join(', ')} ${set.length > 1 ? 'are' : 'is'} set but ACTIONS_WEBHOOK_URL is not`);
    }
    if (!url) fail('ACTIONS_WEBHOOK_URL must be set for the action webhook (ACTIONS_WEBHOOK_SECRET_ID is set)');
    if (!secretId) fail('ACTIONS_WEBHOOK_SECRET_ID must be set for the action webhook (ACTIONS_WEBHOOK_URL is set): requests are always signed');
    return { url: checkBaseUrl('ACTIONS_WEBHOOK_URL', url!), secretId: secretId!, timeoutMs: int(raw, 'ACTIONS_WEBHOOK_TIMEOUT_MS', 100, 50_000), retries: int(raw, 'ACTIONS_WEBHOOK_RETRIES', 0, 5) };
  },
  build:
    process.env.AUTOPILOT_OMIT_ACTIONS_WEBHOOK === 'true'
      ? undefined
      : async (s, context) => {
          const { WebhookActions } = await import('./actions/webhook.ts');
          return { actions: new WebhookActions(defined({ url: s.url, key: () => context.getSecret(s.secretId), timeoutMs: s.timeoutMs, retries: s.retries, fetch: context.fetch })) };
        },
  iam: [secretOf('ACTIONS_WEBHOOK_SECRET_ID')],
});

const recorded = row({
  name: 'recorded',
  configureWith: [],
  title: 'recorded incident',
  ports: ['telemetry', 'changes', 'logs', 'oncall', 'actions'],
  variables: ['RECORDINGS_DIR'],
  selectors: [],
  stackSetting: 'tools',
  parse: (raw) => ({ dir: raw.RECORDINGS_DIR }),
  build:
    process.env.AUTOPILOT_OMIT_RECORDED === 'true'
      ? undefined
      : async (s, context) => {
          const [{ recordedTools }, { recordingSource }] = await Promise.all([import('./recorded.ts'), import('../recorded/store.ts')]);
          return recordedTools(recordingSource({ dir: s.dir, clock: context.clock }), context.clock ? { clock: context.clock } : {});
        },
  // Recordings are registered in the process (eval) or read from RECORDINGS_DIR: no AWS resource.
  iam: [],
});

// ───────────────────────── the aws family (tools: 'aws'), one row per adapter ─────────────────────────
/**
 * The SDK client settings and time budgets every aws row reads (aws/clients.ts, aws/deadline.ts). The budgets stop
 * at 55 s: an agent's Lambda has 60.
 */
const awsClient = (raw: Raw) =>
  defined({
    maxAttempts: int(raw, 'AWS_TOOLS_MAX_ATTEMPTS', 1, 10),
    timeoutMs: int(raw, 'AWS_TOOLS_TIMEOUT_MS', 100, 60_000),
    callBudgetMs: int(raw, 'AWS_TOOLS_CALL_BUDGET_MS', 1_000, 55_000),
    runBudgetMs: int(raw, 'AWS_TOOLS_RUN_BUDGET_MS', 1_000, 55_000),
  });
// Rows of the family set `family: 'aws'`, `stackSetting: 'tools'`, and declare their IAM as `aws-api` needs.
const awsOncall = row({
  name: 'aws-oncall',
  configureWith: [],
  title: 'AWS tags and on-call roster',
  family: 'aws',
  ports: ['oncall'],
  variables: [...DIRECTORY_VARIABLES, 'AWS_ONCALL_ROSTER_PARAMETER', ...AWS_CLIENT_VARIABLES],
  selectors: [],
  stackSetting: 'tools',
  parse: (raw) => ({
    directory: parseDirectorySettings(raw),
    ...(raw.AWS_ONCALL_ROSTER_PARAMETER !== undefined ? { rosterParameter: checkParameterName('AWS_ONCALL_ROSTER_PARAMETER', raw.AWS_ONCALL_ROSTER_PARAMETER) } : {}),
    client: awsClient(raw),
  }),
  build:
    process.env.AUTOPILOT_OMIT_AWS_ONCALL === 'true'
      ? undefined
      : async (s) => {
          const { awsOnCall } = await import('./aws/oncall.ts');
          return { oncall: awsOnCall(s) };
        },
  // Tags through the Resource Groups Tagging API; the service map's and the roster's parameters when named.
  iam: [...DIRECTORY_IAM, { resource: 'ssm-parameter-of-variable', variable: 'AWS_ONCALL_ROSTER_PARAMETER', actions: ['ssm:GetParameter'] }],
});

const awsActions = row({
  name: 'aws-actions',
  configureWith: [],
  title: 'AWS rollbacks',
  family: 'aws',
  ports: ['actions'],
  variables: [...ACTIONS_VARIABLES, ...AWS_CLIENT_VARIABLES],
  selectors: [],
  stackSetting: 'tools',
  // AWS_ACTIONS_RESOURCES unset is not a ConfigError: every function of a tools=aws deployment parses this row,
  // and only the executor acts; each action is then refused, naming the variable.
  parse: (raw) => ({ ...parseActionSettings(raw), client: awsClient(raw) }),
  build:
    process.env.AUTOPILOT_OMIT_AWS_ACTIONS === 'true'
      ? undefined
      : async (s) => {
          const { AwsActions } = await import('./aws/actions.ts');
          return { actions: new AwsActions(s) };
        },
  // Lambda aliases, ECS services, SSM parameters, AppConfig deployments: only those AWS_ACTIONS_RESOURCES lists.
  iam: ACTIONS_IAM,
});

const awsTelemetry = row({
  name: 'aws-telemetry',
  configureWith: [],
  title: 'AWS X-Ray and CloudWatch',
  family: 'aws',
  ports: ['telemetry'],
  variables: [...DIRECTORY_VARIABLES, 'AWS_XRAY_GRAPH_MINUTES', 'AWS_APPLICATION_SIGNALS_ENVIRONMENT', ...AWS_CLIENT_VARIABLES],
  selectors: [],
  stackSetting: 'tools',
  parse: (raw) => {
    const environment = raw.AWS_APPLICATION_SIGNALS_ENVIRONMENT;
    if (environment !== undefined && !/^[\w.:/-]{1,255}$/.test(environment)) fail(`AWS_APPLICATION_SIGNALS_ENVIRONMENT must be an Application Signals environment such as eks:<cluster>/<namespace>, ecs:<cluster> or lambda:default, got ${JSON.stringify(environment.slice(0, 100))}`);
    return {
      directory: parseDirectorySettings(raw),
      client: awsClient(raw),
      ...defined({ graphWindowMinutes: int(raw, 'AWS_XRAY_GRAPH_MINUTES', 5, 360), applicationSignalsEnvironment: environment }),
    };
  },
  build:
    process.env.AUTOPILOT_OMIT_AWS_TELEMETRY === 'true'
      ? undefined
      : async (s, context) => {
          const { awsTelemetry } = await import('./aws/telemetry.ts');
          return { telemetry: awsTelemetry(s, context.clock) };
        },
  // X-Ray's and CloudWatch's read APIs have no resource-level permissions; the directory reads tags (and the map's
  // parameter). Every method reads the service graph and the directory; only queryMetrics the statistics and
  // CloudWatch, only getTraces the traces (aws/telemetry.ts).
  iam: [
    { resource: 'aws-api', actions: ['xray:GetServiceGraph'], resources: ['*'], why: 'X-Ray GetServiceGraph has no resource-level permissions.' },
    {
      resource: 'aws-api',
      actions: ['xray:GetTimeSeriesServiceStatistics'],
      resources: ['*'],
      why: 'X-Ray GetTimeSeriesServiceStatistics has no resource-level permissions.',
      methods: ['queryMetrics'],
    },
    { resource: 'aws-api', actions: ['cloudwatch:GetMetricData'], resources: ['*'], why: 'CloudWatch GetMetricData has no resource-level permissions.', methods: ['queryMetrics'] },
    {
      resource: 'aws-api',
      actions: ['xray:GetTraceSummaries', 'xray:BatchGetTraces'],
      resources: ['*'],
      why: 'The X-Ray trace APIs (GetTraceSummaries, BatchGetTraces) have no resource-level permissions.',
      methods: ['getTraces'],
    },
    ...DIRECTORY_IAM,
  ],
});

const awsLogsRow = row({
  name: 'aws-logs',
  configureWith: [],
  title: 'CloudWatch Logs Insights',
  family: 'aws',
  ports: ['logs'],
  variables: [...DIRECTORY_VARIABLES, 'AWS_LOGS_MAX_GROUPS', 'AWS_LOGS_MAX_WINDOW_HOURS', 'AWS_LOGS_MAX_LINES', 'AWS_LOGS_POLL_BUDGET_MS', 'AWS_LOGS_MAX_SCANNED_MB', ...AWS_CLIENT_VARIABLES],
  selectors: [],
  stackSetting: 'tools',
  parse: (raw) => {
    const scannedMb = int(raw, 'AWS_LOGS_MAX_SCANNED_MB', 1, 1_048_576);
    return {
      directory: parseDirectorySettings(raw),
      client: awsClient(raw),
      limits: defined({
        maxGroups: int(raw, 'AWS_LOGS_MAX_GROUPS', 1, 500),
        maxWindowHours: int(raw, 'AWS_LOGS_MAX_WINDOW_HOURS', 1, 744),
        maxLines: int(raw, 'AWS_LOGS_MAX_LINES', 1, 10_000),
        pollBudgetMs: int(raw, 'AWS_LOGS_POLL_BUDGET_MS', 1_000, 60_000),
        maxScannedBytes: scannedMb === undefined ? undefined : scannedMb * 1024 ** 2,
      }),
    };
  },
  build:
    process.env.AUTOPILOT_OMIT_AWS_LOGS === 'true'
      ? undefined
      : async (s) => {
          const { awsLogs: logsAdapter } = await import('./aws/logs.ts');
          return { logs: logsAdapter(s) };
        },
  // StartQuery on the account's log groups (which ones: the directory, at run time); the query ids it returns are not resources.
  iam: [
    { resource: 'aws-api', actions: ['logs:StartQuery'], resources: ['arn:{partition}:logs:{region}:{account}:log-group:*'], why: "A service's log groups are known only at run time (the service directory)." },
    { resource: 'aws-api', actions: ['logs:GetQueryResults', 'logs:StopQuery'], resources: ['*'], why: 'CloudWatch Logs GetQueryResults and StopQuery have no resource-level permissions (they name a query id).' },
    ...DIRECTORY_IAM,
  ],
});

const awsChangesRow = row({
  name: 'aws-changes',
  configureWith: [],
  title: 'CloudTrail and CodeDeploy changes',
  family: 'aws',
  ports: ['changes'],
  variables: [...DIRECTORY_VARIABLES, 'AWS_CHANGES_MAX_EVENTS', 'AWS_CHANGES_CODEDEPLOY', 'AWS_HISTORY_MAX_CANDIDATES', ...AWS_CLIENT_VARIABLES],
  selectors: [],
  stackSetting: 'tools',
  parse: (raw) => ({
    directory: parseDirectorySettings(raw),
    client: awsClient(raw),
    ...defined({ maxEvents: int(raw, 'AWS_CHANGES_MAX_EVENTS', 50, 10_000), codeDeploy: bool(raw, 'AWS_CHANGES_CODEDEPLOY'), historyMaxCandidates: int(raw, 'AWS_HISTORY_MAX_CANDIDATES', 10, 1_000) }),
  }),
  build:
    process.env.AUTOPILOT_OMIT_AWS_CHANGES === 'true'
      ? undefined
      : async (s, context) => {
          const { awsChanges: changesAdapter } = await import('./aws/changes.ts');
          return { changes: changesAdapter(s, { ...(context.dynamo ? { dynamo: context.dynamo } : {}), ...(context.tableName ? { tableName: context.tableName } : {}) }) };
        },
  // listChanges reads CloudTrail, CodeDeploy, parameter and AppConfig history and the directory; searchIncidents and
  // recordIncident only the history items of the incident table (history.ts), nothing else of it.
  iam: [
    { resource: 'aws-api', actions: ['cloudtrail:LookupEvents'], resources: ['*'], why: 'CloudTrail LookupEvents has no resource-level permissions.', methods: ['listChanges'] },
    {
      resource: 'aws-api',
      actions: ['codedeploy:ListDeployments', 'codedeploy:BatchGetDeployments', 'codedeploy:GetDeploymentGroup'],
      resources: ['arn:{partition}:codedeploy:{region}:{account}:deploymentgroup:*'],
      why: 'Deployments are listed account-wide: every deployment group of the account and region.',
      methods: ['listChanges'],
    },
    {
      resource: 'aws-api',
      actions: ['ssm:GetParameterHistory'],
      resources: ['arn:{partition}:ssm:{region}:{account}:parameter/*'],
      why: 'The parameter a PutParameter event changed is known only at run time; read without decryption (SecureString values stay encrypted and are not shown).',
      methods: ['listChanges'],
    },
    {
      resource: 'aws-api',
      actions: ['appconfig:ListDeployments', 'appconfig:GetDeployment'],
      resources: ['arn:{partition}:appconfig:{region}:{account}:application/*/environment/*', 'arn:{partition}:appconfig:{region}:{account}:application/*/environment/*/deployment/*'],
      why: 'The AppConfig environment a StartDeployment event changed is known only at run time.',
      methods: ['listChanges'],
    },
    { resource: 'incident-table', actions: ['dynamodb:Query'], leadingKeyPrefixes: ['HISTORY#'], methods: ['searchIncidents'] },
    { resource: 'incident-table', actions: ['dynamodb:PutItem'], leadingKeyPrefixes: ['HISTORY#'], methods: ['recordIncident'] },
    ...DIRECTORY_IAM.map((need): IamNeed => ({ ...need, methods: ['listChanges'] })),
  ],
});

// (new aws rows go above this line)

/** The table. Order matters only for messages. */
export const ADAPTERS: readonly AdapterRow[] = [simulated, recorded, dynatrace, servicenow, splunk, pagerduty, ssmAutomation, actionsWebhook, awsTelemetry, awsLogsRow, awsChangesRow, awsOncall, awsActions] as unknown as readonly AdapterRow[];

export const adapterRow = (name: string): AdapterRow | undefined => ADAPTERS.find((r) => r.name === name);

/** The bundle switch of a row: the expression its `build` tests, which the stack defines as "true" to leave the row out. */
export const omitSwitch = (name: AdapterName): string => `process.env.AUTOPILOT_OMIT_${name.toUpperCase().replace(/-/g, '_')}`;

/** Parses a row's settings from the environment: a ConfigError naming the variable, or the settings. */
export const parseSettings = <S>(r: AdapterRow<S>, env: Env): S => {
  const present = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const parsed = r.settings.safeParse(present);
  if (!parsed.success) throw new ConfigError(`invalid configuration: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  return parsed.data;
};
