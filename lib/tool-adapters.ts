/**
 * The deployment's tool adapters, through the same table the functions build their tools with
 * (functions/core/tools/adapters.ts): which rows this deployment uses, the check of `toolsEnvironment` against the
 * rows' variables and settings schemas (at synth, naming the variable), the grants each row in use declares, and the
 * bundle switches that leave the other rows out of every bundle.
 */
import { Aws } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ConfigError } from '../functions/core/config.ts';
import { ADAPTERS, type AdapterName, type AdapterRow, type IamNeed, omitSwitch } from '../functions/core/tools/adapters.ts';
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
    inUse: ADAPTERS.filter((r) => names.has(r.name)),
    omitted: ADAPTERS.filter((r) => !names.has(r.name)).map((r) => r.name),
  };
};

/**
 * Gives the workflow functions the tools' environment and what the rows configured through it (`toolsEnvironment`,
 * `tools`) declare: read on each secret a variable names, the simulated world's items of the incident table. (The
 * actions rows are granted to the executor by IncidentFunctions, from the same declarations.)
 */
export const grantToolAdapters = (scope: Construct, functions: readonly NodejsFunction[], settings: ToolSettings, table: ITable, executors: readonly NodejsFunction[] = functions): void => {
  const secrets = new Map<string, ISecret>();
  const statements: PolicyStatement[] = [];
  /** What only the functions that run actions get (an actions row's write access). */
  const executorStatements: PolicyStatement[] = [];
  const grant = (need: IamNeed, row: AdapterRow): void => {
    const to = row.ports.length === 1 && row.ports[0] === 'actions' ? executorStatements : statements;
    switch (need.resource) {
      case 'secret-of-variable': {
        const arn = settings.environment[need.variable];
        if (arn !== undefined && !secrets.has(need.variable)) secrets.set(need.variable, Secret.fromSecretCompleteArn(scope, `Tools${pascalCase(need.variable)}`, arn));
        return;
      }
      case 'incident-table':
        statements.push(
          new PolicyStatement({
            actions: [...need.actions],
            resources: [table.tableArn],
            conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': need.leadingKeyPrefixes.map((p) => `${p}*`) } },
          }),
        );
        return;
      case 'aws-api':
        to.push(new PolicyStatement({ actions: [...need.actions], resources: need.resources.map(inAccount) }));
        return;
      case 'ssm-parameter-of-variable': {
        const name = settings.environment[need.variable];
        if (name !== undefined) to.push(new PolicyStatement({ actions: [...need.actions], resources: [inAccount(ssmParameterResource(name))] }));
        return;
      }
      case 'roles-of-variable': {
        const value = settings.environment[need.variable];
        if (value !== undefined) to.push(new PolicyStatement({ actions: [...need.actions], resources: parsePassRoles(value, need.variable), conditions: { StringEquals: { 'iam:PassedToService': [...need.passedToServices] } } }));
        return;
      }
      case 'arns-of-variable': {
        const value = settings.environment[need.variable];
        if (value !== undefined) to.push(new PolicyStatement({ actions: [...need.actions], resources: parseResourcePatterns(value, need.variable) }));
        return;
      }
      default:
        throw new ToolSettingsInvalid(`the stack cannot grant ${need.resource} through toolsEnvironment`);
    }
  };
  for (const r of settings.inUse.filter((x) => x.stackSetting === 'toolsEnvironment' || x.stackSetting === 'tools')) r.iam.forEach((need) => grant(need, r));
  for (const fn of functions) {
    for (const [key, value] of Object.entries(settings.environment)) fn.addEnvironment(key, value);
    for (const secret of secrets.values()) secret.grantRead(fn);
    for (const statement of statements) fn.addToRolePolicy(statement);
    if (executors.includes(fn)) for (const statement of executorStatements) fn.addToRolePolicy(statement);
  }
};

/** esbuild `define`s that leave the unused rows out of a bundle (adapters.ts: each row's `build` tests its switch). */
export const omitDefines = (omitted: readonly AdapterName[]): Record<string, string> =>
  Object.fromEntries(omitted.map((name) => [omitSwitch(name), JSON.stringify('true')]));

/** An ARN pattern of a row (`{partition}`, `{region}`, `{account}`) in this deployment's account. */
const inAccount = (pattern: string): string => pattern.replaceAll('{partition}', Aws.PARTITION).replaceAll('{region}', Aws.REGION).replaceAll('{account}', Aws.ACCOUNT_ID);

const pascalCase = (key: string): string => key.toLowerCase().replace(/(^|_)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());
