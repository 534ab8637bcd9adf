/**
 * The deployment's tool adapters, through the same table the functions build their tools with
 * (functions/core/tools/adapters.ts): which rows this deployment uses, the check of `toolsEnvironment` against the
 * rows' variables and settings schemas (at synth, naming the variable), the grants each row in use declares, and the
 * bundle switches that leave the other rows out of every bundle. A function is granted a row's needs only for the
 * port methods it calls (functions/core/agents/tool-use.ts), each need only if it serves one of them.
 */
import { Aws } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ConfigError } from '../functions/core/config.ts';
import type { ToolUse } from '../functions/core/agents/tool-use.ts';
import { ADAPTERS, type AdapterName, type AdapterRow, type IamNeed, omitSwitch, type Port, PORT_METHODS, PORTS, type PortMethod } from '../functions/core/tools/adapters.ts';
import { ssmParameterResource } from '../functions/core/tools/aws/directory-settings.ts';
import { parsePassRoles, parseResourcePatterns } from '../functions/core/tools/aws/rollback-targets.ts';
import { chooseAdapters, TOOLS_DEFAULT } from '../functions/core/tools/runtime.ts';

/**
 * `simulated`: the simulated world serves every port no adapter configures (a demo deployment; incidents are
 * diagnosed only in the worlds `autopilot simulate`-style runs create). `aws`: the account's own telemetry serves
 * every port no vendor adapter configures (the `aws` family of rows: X-Ray and CloudWatch, Logs Insights,
 * CloudTrail, resource tags, typed rollbacks). `configured`: only the configured adapters; an unconfigured port is
 * a reported gap in every incident.
 */
export type ToolsChoice = 'simulated' | 'aws' | 'configured';
export const TOOLS_CHOICES: readonly ToolsChoice[] = ['simulated', 'aws', 'configured'];

export class ToolSettingsInvalid extends Error {
  override name = 'ToolSettingsInvalid';
}

export interface ToolSettingsInput {
  readonly tools?: string;
  readonly toolsEnvironment?: Readonly<Record<string, string>>;
  readonly ssmAutomationDocuments?: unknown;
  readonly actionsWebhookUrl?: string;
}

export interface ToolSettings {
  readonly choice: ToolsChoice;
  /** The variables every workflow function gets: `toolsEnvironment`, plus TOOLS_DEFAULT when the simulator is chosen. */
  readonly environment: Readonly<Record<string, string>>;
  /** The rows this deployment uses. */
  readonly inUse: readonly AdapterRow[];
  /** The row configured through `tools` / `toolsEnvironment` that serves each port (none: the port is a gap, or served by an actions setting). */
  readonly byPort: Readonly<Partial<Record<Port, AdapterRow>>>;
  /** The rows left out of every bundle. */
  readonly omitted: readonly AdapterName[];
}

/** A Secrets Manager secret's complete ARN (ending in the six characters it appends): a grant then names exactly one secret. */
const COMPLETE_SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/;

/** The rows a deployment configures through `toolsEnvironment` (the vendor rows, and the settings of the rows a `tools` choice picks), and the variables they read. */
const environmentRows = ADAPTERS.filter((r) => r.stackSetting === 'toolsEnvironment' || (r.stackSetting === 'tools' && r.variables.length > 0));
export const TOOLS_ENVIRONMENT_VARIABLES: ReadonlySet<string> = new Set(environmentRows.flatMap((r) => r.variables));
/** Variables that name a secret some row reads (declared by the rows' IAM). */
const SECRET_VARIABLES: ReadonlySet<string> = new Set(ADAPTERS.flatMap((r) => r.iam.flatMap((n) => (n.resource === 'secret-of-variable' ? [n.variable] : []))));

export const resolveToolSettings = (input: ToolSettingsInput): ToolSettings => {
  const choice = (input.tools ?? 'configured') as ToolsChoice;
  if (!TOOLS_CHOICES.includes(choice)) throw new ToolSettingsInvalid(`tools must be one of ${TOOLS_CHOICES.map((c) => JSON.stringify(c)).join(', ')}, got ${JSON.stringify(input.tools)}`);
  const given = input.toolsEnvironment ?? {};
  for (const [key, value] of Object.entries(given)) {
    if (!TOOLS_ENVIRONMENT_VARIABLES.has(key)) throw new ToolSettingsInvalid(`toolsEnvironment: ${key} is not a tool adapter variable (known: ${[...TOOLS_ENVIRONMENT_VARIABLES].join(', ')}; see functions/core/tools/adapters.ts)`);
    if (SECRET_VARIABLES.has(key) && !COMPLETE_SECRET_ARN.test(value)) throw new ToolSettingsInvalid(`toolsEnvironment: ${key} must be a secret's complete ARN (…:secret:<name>-XXXXXX), got ${JSON.stringify(value)}`);
  }
  const environment = { ...given, ...(choice === 'configured' ? {} : { [TOOLS_DEFAULT]: choice }) };
  let byPort;
  try {
    // The functions' own rule, run at synth: a configuration they would refuse at cold start fails `cdk synth`.
    byPort = chooseAdapters(environment, ADAPTERS.filter((r) => r.stackSetting === 'toolsEnvironment' || r.stackSetting === 'tools')).byPort;
  } catch (error) {
    if (error instanceof ConfigError) throw new ToolSettingsInvalid(`toolsEnvironment: ${error.message.replace(/^invalid configuration: /, '')}`, { cause: error });
    throw error;
  }
  const names = new Set<AdapterName>(Object.values(byPort).flatMap((r) => (r ? [r.name] : [])));
  if (input.ssmAutomationDocuments) names.add('ssm-automation');
  if (input.actionsWebhookUrl) names.add('actions-webhook');
  return {
    choice,
    environment,
    byPort: Object.fromEntries(PORTS.flatMap((port) => (byPort[port] ? [[port, byPort[port]]] : []))),
    inUse: ADAPTERS.filter((r) => names.has(r.name)),
    omitted: ADAPTERS.filter((r) => !names.has(r.name)).map((r) => r.name),
  };
};

/**
 * Gives the workflow functions the tools' environment, and each of them what the rows configured through it
 * (`toolsEnvironment`, `tools`) declare for the port methods that function calls (`toolUse`, by function name):
 * read on each secret a variable names, the simulated world's items of the incident table, the AWS reads of the
 * `aws` rows, an actions row's write access (so only the executor, the one function that calls `actions.execute`).
 * The SSM Automation and webhook actions rows are granted to the executor by IncidentFunctions.
 */
export const grantToolAdapters = (scope: Construct, functions: ReadonlyMap<string, NodejsFunction>, settings: ToolSettings, table: ITable, toolUse: (functionName: string) => ToolUse): void => {
  const secrets = new Map<string, ISecret>();
  const secretOf = (variable: string, arn: string): ISecret => {
    let secret = secrets.get(variable);
    if (!secret) {
      secret = Secret.fromSecretCompleteArn(scope, `Tools${pascalCase(variable)}`, arn);
      secrets.set(variable, secret);
    }
    return secret;
  };
  /** A need's statement, or the secret it reads; none when the variable it reads is unset. */
  const grantOf = (need: IamNeed): PolicyStatement | ISecret | undefined => {
    switch (need.resource) {
      case 'secret-of-variable': {
        const arn = settings.environment[need.variable];
        return arn === undefined ? undefined : secretOf(need.variable, arn);
      }
      case 'incident-table':
        return new PolicyStatement({
          actions: [...need.actions],
          resources: [table.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': need.leadingKeyPrefixes.map((p) => `${p}*`) } },
        });
      case 'aws-api':
        return new PolicyStatement({ actions: [...need.actions], resources: need.resources.map(inAccount) });
      case 'ssm-parameter-of-variable': {
        const name = settings.environment[need.variable];
        return name === undefined ? undefined : new PolicyStatement({ actions: [...need.actions], resources: [inAccount(ssmParameterResource(name))] });
      }
      case 'roles-of-variable': {
        const value = settings.environment[need.variable];
        return value === undefined ? undefined : new PolicyStatement({ actions: [...need.actions], resources: parsePassRoles(value, need.variable), conditions: { StringEquals: { 'iam:PassedToService': [...need.passedToServices] } } });
      }
      case 'arns-of-variable': {
        const value = settings.environment[need.variable];
        return value === undefined ? undefined : new PolicyStatement({ actions: [...need.actions], resources: parseResourcePatterns(value, need.variable) });
      }
      default:
        throw new ToolSettingsInvalid(`the stack cannot grant ${need.resource} through toolsEnvironment`);
    }
  };
  for (const [name, fn] of functions) {
    for (const [key, value] of Object.entries(settings.environment)) fn.addEnvironment(key, value);
    // The same need reached through two ports (the directory's, through telemetry and logs) is granted once.
    const granted = new Set<string>();
    for (const need of toolNeeds(toolUse(name), settings.byPort)) {
      const key = JSON.stringify({ ...need, methods: undefined });
      if (granted.has(key)) continue;
      granted.add(key);
      const grant = grantOf(need);
      if (grant instanceof PolicyStatement) fn.addToRolePolicy(grant);
      else grant?.grantRead(fn);
    }
  }
};

/**
 * The needs of a function calling `use`, of the rows `byPort` chose: for each port it calls, the row serving that
 * port, and of that row the needs serving a method it calls there (a need naming no methods serves them all).
 */
export const toolNeeds = (use: ToolUse, byPort: Readonly<Partial<Record<Port, AdapterRow>>>): IamNeed[] =>
  PORTS.flatMap((port) => {
    const calls: readonly PortMethod[] = use[port] ?? [];
    const row = byPort[port];
    if (calls.length === 0 || !row || (row.stackSetting !== 'tools' && row.stackSetting !== 'toolsEnvironment')) return [];
    const methods: readonly PortMethod[] = PORT_METHODS[port];
    return row.iam.filter((need) => (need.methods ?? methods).some((m) => methods.includes(m) && calls.includes(m)));
  });

/** esbuild `define`s that leave the unused rows out of a bundle (adapters.ts: each row's `build` tests its switch). */
export const omitDefines = (omitted: readonly AdapterName[]): Record<string, string> =>
  Object.fromEntries(omitted.map((name) => [omitSwitch(name), JSON.stringify('true')]));

/** An ARN pattern of a row (`{partition}`, `{region}`, `{account}`) in this deployment's account. */
const inAccount = (pattern: string): string => pattern.replaceAll('{partition}', Aws.PARTITION).replaceAll('{region}', Aws.REGION).replaceAll('{account}', Aws.ACCOUNT_ID);

const pascalCase = (key: string): string => key.toLowerCase().replace(/(^|_)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());
