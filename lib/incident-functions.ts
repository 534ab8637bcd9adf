/**
 * `IncidentFunctions`: every Lambda function of functions/registry.ts, built the same way, each with exactly the
 * permissions its spec's `access` list names and the environment functions/core/config.ts parses at cold start.
 *
 * Grants that need the state machine (`sfn:start`, `sfn:respond`) are applied by `connectStateMachine`, because
 * the state machine itself is built from the workflow functions created here. There is no cycle: the functions
 * that start or answer executions are API functions, which the state machine never references.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { type IRole, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, Architecture, LoggingFormat, Runtime, SystemLogLevel, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type Access, BUNDLE_EXTERNAL_MODULES, FUNCTIONS, type FunctionSpec } from '../functions/registry.ts';
import { ConfigError } from '../functions/core/config.ts';
import { TABLE_SCHEMA } from './table-schema.ts';
import { type AdapterName, adapterRow, type IamNeed, parseDocuments } from '../functions/core/tools/adapters.ts';
import { omitDefines } from './tool-adapters.ts';

/** The expression functions/core/reasoning/llm.ts tests before importing the openai SDK. */
export const LLM_OMIT_SWITCH = 'process.env.AUTOPILOT_OMIT_LLM';
import { DOCUMENT_REF_FORMS, type DocumentRef, parseDocumentRef } from '../functions/core/tools/actions/ssm-documents.ts';
import { checkBaseUrl } from '../functions/core/tools/vendors/http.ts';

/** The Powertools metrics namespace; the same constant as functions/core/handler.ts `NAMESPACE`. */
export const METRICS_NAMESPACE = 'IncidentAutopilot';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * ESM needs `require` for the few CommonJS dependencies esbuild leaves as dynamic `require()` calls (Node
 * built-ins inside CJS packages); the banner recreates it at the top of every bundle.
 */
export const ESM_REQUIRE_BANNER = "import { createRequire as __autopilotCreateRequire } from 'node:module'; const require = __autopilotCreateRequire(import.meta.url);";

export class MissingHandlerError extends Error {
  override name = 'MissingHandlerError';
}
export class UnknownFunctionError extends Error {
  override name = 'UnknownFunctionError';
}

export interface RetoolSettings {
  /** The Retool workflow webhook (`https://api.retool.com/v1/workflows/{id}/startTrigger`). */
  readonly workflowUrl: string;
  /** Secret holding the Retool workflow API key (`X-Workflow-Api-Key`). */
  readonly apiKeySecret: ISecret;
}

/** Run mitigations through SSM Automation runbooks (functions/core/tools/actions/ssm.ts). */
export interface SsmAutomationSettings {
  /**
   * Action kind (or `<kind>:undo`) → Automation document: a name (this account's document, or an AWS-owned one
   * such as AWS-RestartEC2Instance) or the ARN of a document another account shared with this one
   * (`arn:aws:ssm:<region>:<owner>:document/<name>`). The grant names each exactly (functions/core/tools/actions/ssm-documents.ts).
   */
  readonly documents: Readonly<Record<string, string>>;
  /**
   * The role the runbooks run as (their `AutomationAssumeRole` parameter); the function may pass it to SSM only.
   * @default - none: the runbooks run with the function's own permissions, which grant nothing but starting them
   */
  readonly assumeRole?: IRole;
  /**
   * How long the executor waits for a runbook to finish (SSM_AUTOMATION_WAIT_SECONDS).
   * @default 40
   */
  readonly waitSeconds?: number;
}

/** Post mitigations to a signed webhook (functions/core/tools/actions/webhook.ts). */
export interface ActionWebhookSettings {
  /** The receiver's https URL (ACTIONS_WEBHOOK_URL). */
  readonly url: string;
  /** The HMAC signing key (ACTIONS_WEBHOOK_SECRET_ID); the receiver verifies with the same key. */
  readonly signingKey: ISecret;
}

/** Where mitigations run; at most one adapter. */
export interface ActionSettings {
  readonly ssmAutomation?: SsmAutomationSettings;
  readonly webhook?: ActionWebhookSettings;
}

export class ActionSettingsInvalid extends Error {
  override name = 'ActionSettingsInvalid';
}

/** The wildcards `ssm:automation` needs, for the stack's cdk-nag IAM5 allowances (`WildcardAllowance` shape). */
export const SSM_AUTOMATION_WILDCARDS = [
  {
    reason: 'StartAutomationExecution of the configured action documents only, at any version (a new runbook version must not need a redeploy).',
    resource: /:automation-definition\/[A-Za-z0-9_.-]+:\*$/,
    actions: /^ssm:StartAutomationExecution$/,
  },
  {
    reason: 'GetAutomationExecution and tagging of the automation executions this function starts; execution ids exist only once started.',
    resource: /:automation-execution\/\*$/,
    actions: /^ssm:(GetAutomationExecution|AddTagsToResource)$/,
  },
] as const;

export interface IncidentFunctionsProps {
  /** The incident table (TABLE_NAME); `table:read` / `table:write` grant on it. */
  readonly table: ITable;
  /** The custom bus (EVENT_BUS_NAME); `events:put` grants on it. */
  readonly eventBus: IEventBus;
  /** The webhook/approval shared secret (WEBHOOK_SECRET_ID); `secret:webhook` grants read on it. */
  readonly webhookSecret: ISecret;
  /**
   * Retool approval channel. Functions with `secret:retool` get RETOOL_WORKFLOW_URL and read access to the key.
   * @default - no Retool: approvals go through the API/CLI only and `secret:retool` grants nothing
   */
  readonly retool?: RetoolSettings;
  /**
   * Where mitigations run. Functions with `ssm:automation` / `secret:actions-webhook` get the environment and the
   * permissions of the configured adapter.
   * @default - no action adapter: the simulated world where TOOLS_DEFAULT=simulated, else the actions port is a reported
   *   gap (either way no real action is taken)
   */
  readonly actions?: ActionSettings;
  /**
   * Tool adapters no function of this deployment uses: each is left out of every bundle (its bundle switch,
   * functions/core/tools/adapters.ts).
   * @default - none: every adapter is bundled
   */
  readonly omitAdapters?: readonly AdapterName[];
  /**
   * Leave the openai SDK out of every bundle (a deployment without an LLM endpoint: the reasoner is offline).
   * @default false
   */
  readonly omitLlm?: boolean;
  /**
   * The functions to build.
   * @default FUNCTIONS from functions/registry.ts
   */
  readonly specs?: readonly FunctionSpec[];
  /**
   * Extra environment for every function (e.g. VERIFY_WAIT_SECONDS, MAX_VERIFY_CHECKS).
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Retention of each function's log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Directory the specs' `entry` paths are relative to (holds package-lock.json and tsconfig.json).
   * @default the repository root
   */
  readonly projectRoot?: string;
}

/** PascalCase construct id from a kebab-case function name: `ingest-alert` → `IngestAlert`. */
const constructId = (name: string): string => name.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());

export class IncidentFunctions extends Construct {
  /** The specs the functions were built from, in registry order. */
  public readonly specs: readonly FunctionSpec[];
  /** Every function by its registry name. */
  public readonly functions: ReadonlyMap<string, NodejsFunction>;
  /** Every function's log group by its registry name. */
  public readonly logGroups: ReadonlyMap<string, LogGroup>;

  constructor(scope: Construct, id: string, props: IncidentFunctionsProps) {
    super(scope, id);
    if (props.actions?.ssmAutomation && props.actions.webhook) {
      throw new ActionSettingsInvalid('actions: configure ssmAutomation or webhook, not both (the executor uses one actions adapter)');
    }
    checkActionSettings(props.actions);
    this.specs = props.specs ?? FUNCTIONS;
    const root = props.projectRoot ?? PROJECT_ROOT;
    const functions = new Map<string, NodejsFunction>();
    const logGroups = new Map<string, LogGroup>();

    for (const spec of this.specs) {
      const entry = join(root, spec.entry);
      if (!existsSync(entry)) throw new MissingHandlerError(`function ${spec.name}: handler file ${spec.entry} does not exist under ${root}`);
      const cid = constructId(spec.name);
      const logGroup = new LogGroup(this, `${cid}Logs`, { retention: props.logRetention ?? RetentionDays.ONE_MONTH });
      // An own role instead of the default AWSLambdaBasicExecutionRole managed policy: the function writes only
      // to its own log group, so that is all the role may write to.
      const role = new Role(this, `${cid}Role`, {
        assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
        description: `Incident Autopilot ${spec.name}`,
      });
      logGroup.grantWrite(role);

      const fn = new NodejsFunction(this, cid, {
        entry,
        handler: 'handler',
        description: spec.description,
        runtime: Runtime.NODEJS_22_X,
        architecture: Architecture.ARM_64,
        memorySize: spec.memoryMb,
        timeout: Duration.seconds(spec.timeoutSeconds),
        tracing: Tracing.ACTIVE,
        role,
        logGroup,
        loggingFormat: LoggingFormat.JSON,
        applicationLogLevelV2: ApplicationLogLevel.INFO,
        systemLogLevelV2: SystemLogLevel.WARN,
        projectRoot: root,
        depsLockFilePath: join(root, 'package-lock.json'),
        environment: {
          TABLE_NAME: props.table.tableName,
          EVENT_BUS_NAME: props.eventBus.eventBusName,
          POWERTOOLS_SERVICE_NAME: spec.name,
          POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
          // Stack traces point at the TypeScript sources through the bundled source map.
          NODE_OPTIONS: '--enable-source-maps',
          ...props.environment,
        },
        bundling: {
          format: OutputFormat.ESM,
          target: 'node22',
          platform: 'node',
          minify: true,
          sourceMap: true,
          sourceMapMode: SourceMapMode.DEFAULT,
          // Line mappings only: sources are in the repository, and leaving them out keeps each asset small.
          sourcesContent: false,
          // Prefer the ESM build of dual packages (the AWS SDK, Powertools) so esbuild can tree-shake them.
          mainFields: ['module', 'main'],
          banner: ESM_REQUIRE_BANNER,
          // The AWS SDK v3 ships with the nodejs22.x runtime (excluding it is CDK's own default there; its @smithy/*
          // internals go with it, since only SDK packages import them). Bundled, the SDK would pin its version but push
          // the agents' bundles past 1 MB; excluded, they stay under it (`npm run bench` prints both). The clients used
          // are the long-stable DynamoDB, Step Functions, EventBridge, Secrets Manager and SSM APIs, so the runtime's
          // SDK version is not a compatibility risk.
          externalModules: [...BUNDLE_EXTERNAL_MODULES],
          define: { ...omitDefines(props.omitAdapters ?? []), ...(props.omitLlm ? { [LLM_OMIT_SWITCH]: JSON.stringify('true') } : {}) },
          tsconfig: join(root, 'tsconfig.json'),
          logLevel: LogLevel.WARNING,
        },
      });
      Validations.of(fn).acknowledge({
        id: 'AwsSolutions-L1',
        reason: 'Node.js 22 on purpose: the laptop twin, the tests and CI run these handlers on Node 22 (package.json engines, the node@22 dev dependency); the Lambda runtime moves to 24 together with them, not ahead of them.',
      });
      functions.set(spec.name, fn);
      logGroups.set(spec.name, logGroup);
      this.grantAccess(spec, fn, props);
    }
    this.functions = functions;
    this.logGroups = logGroups;
  }

  /** The function named `name` in the registry. */
  public get(name: string): NodejsFunction {
    const fn = this.functions.get(name);
    if (!fn) throw new UnknownFunctionError(`no function named ${name}; known: ${[...this.functions.keys()].join(', ')}`);
    return fn;
  }

  /** The workflow functions by their ASL substitution key (`AnalyzeImpactFunctionArn` → function). */
  public workflowFunctions(): ReadonlyMap<string, NodejsFunction> {
    const out = new Map<string, NodejsFunction>();
    for (const spec of this.specs) if (spec.role === 'workflow' && spec.aslKey) out.set(spec.aslKey, this.get(spec.name));
    return out;
  }

  /**
   * Grants `sfn:start` (StartExecution, DescribeExecution; STATE_MACHINE_ARN in the environment), `sfn:start-only`
   * (StartExecution; STATE_MACHINE_ARN) and `sfn:respond` (SendTaskSuccess/Failure/Heartbeat) on the incident workflow.
   */
  public connectStateMachine(stateMachine: IStateMachine): void {
    for (const spec of this.specs) {
      const fn = this.get(spec.name);
      if (spec.access.includes('sfn:start')) {
        stateMachine.grantStartExecution(fn);
        stateMachine.grantExecution(fn, 'states:DescribeExecution');
        fn.addEnvironment('STATE_MACHINE_ARN', stateMachine.stateMachineArn);
      }
      if (spec.access.includes('sfn:start-only')) {
        stateMachine.grantStartExecution(fn);
        fn.addEnvironment('STATE_MACHINE_ARN', stateMachine.stateMachineArn);
      }
      if (spec.access.includes('sfn:respond')) stateMachine.grantTaskResponse(fn);
    }
  }

  /** Tells every function the public API base URL (links sent to approvers, rerun hints). */
  public setApiBaseUrl(url: string): void {
    for (const fn of this.functions.values()) fn.addEnvironment('API_BASE_URL', url);
  }

  private grantAccess(spec: FunctionSpec, fn: NodejsFunction, props: IncidentFunctionsProps): void {
    // One entry per access kind; `sfn:*` wait for connectStateMachine.
    const grants: Record<Access, () => void> = {
      // Read-write already includes every read action: one statement, not two.
      'table:read': () => (spec.access.includes('table:write') ? undefined : props.table.grantReadData(fn)),
      'table:write': () => props.table.grantReadWriteData(fn),
      // Exactly the calls of the opening journal (functions/core/intake/opening.ts) and the status listing.
      'table:openings': () => {
        fn.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], resources: [props.table.tableArn] }));
        fn.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${props.table.tableArn}/index/${TABLE_SCHEMA.byStatusIndex.name}`] }));
      },
      'sfn:start': () => {},
      'sfn:start-only': () => {},
      'sfn:respond': () => {},
      'events:put': () => props.eventBus.grantPutEventsTo(fn),
      'secret:webhook': () => {
        props.webhookSecret.grantRead(fn);
        fn.addEnvironment('WEBHOOK_SECRET_ID', props.webhookSecret.secretArn);
      },
      'secret:retool': () => {
        if (!props.retool) return;
        props.retool.apiKeySecret.grantRead(fn);
        fn.addEnvironment('RETOOL_WORKFLOW_URL', props.retool.workflowUrl);
        fn.addEnvironment('RETOOL_API_KEY_SECRET_ID', props.retool.apiKeySecret.secretArn);
      },
      'ssm:automation': () => {
        const ssm = props.actions?.ssmAutomation;
        if (ssm) grantSsmAutomation(fn, ssm);
      },
      'secret:actions-webhook': () => {
        const webhook = props.actions?.webhook;
        if (!webhook) return;
        webhook.signingKey.grantRead(fn);
        fn.addEnvironment('ACTIONS_WEBHOOK_URL', webhook.url);
        fn.addEnvironment('ACTIONS_WEBHOOK_SECRET_ID', webhook.signingKey.secretArn);
      },
    };
    for (const access of spec.access) grants[access]();
  }
}

/**
 * The automation-definition a reference names, any version, for StartAutomationExecution: in the owner's account
 * (none for AWS's own documents, the sharer's for a shared document's ARN), as the runtime passes it to SSM.
 */
const automationDefinitionArn = (stack: Stack, ref: DocumentRef): string => {
  const resourceName = `${ref.name}:*`;
  if (ref.owner === 'shared') return `arn:${ref.partition}:ssm:${ref.region}:${ref.account}:automation-definition/${resourceName}`;
  return stack.formatArn({ service: 'ssm', resource: 'automation-definition', resourceName, ...(ref.owner === 'aws' ? { account: '' } : {}) });
};

/**
 * The executor's own checks of the settings it will read, run at synth: a documents map or a webhook URL it
 * would refuse must fail `cdk synth`, naming the setting, not the cold start of every function that loads the
 * actions adapters after the deploy. Values that are tokens (resolved at deploy time) cannot be checked here.
 */
const checkActionSettings = (actions: ActionSettings | undefined): void => {
  const ssm = actions?.ssmAutomation;
  if (ssm) {
    const references = [...new Set(Object.values(ssm.documents))];
    if (references.length === 0) throw new ActionSettingsInvalid('actions.ssmAutomation.documents names no document');
    const bad = references.filter((r) => !parseDocumentRef(r));
    if (bad.length > 0) throw new ActionSettingsInvalid(`actions.ssmAutomation.documents: ${bad.map((b) => JSON.stringify(b)).join(', ')} is not a document name or a shared document's ARN: use ${DOCUMENT_REF_FORMS}`);
    // The rest of the runtime's rule (functions/core/tools/adapters.ts): every key an action kind, optionally with ":undo".
    asSettingsError('actions.ssmAutomation.documents', () => parseDocuments(JSON.stringify(ssm.documents)));
  }
  const url = actions?.webhook?.url;
  if (url !== undefined && !Token.isUnresolved(url)) asSettingsError('actions.webhook.url', () => checkBaseUrl('ACTIONS_WEBHOOK_URL', url));
};

/** Runs a runtime check, reporting its ConfigError as an ActionSettingsInvalid that names the construct prop. */
const asSettingsError = (setting: string, check: () => unknown): void => {
  try {
    check();
  } catch (error) {
    if (error instanceof ConfigError) throw new ActionSettingsInvalid(`${setting}: ${error.message.replace(/^invalid configuration: /, '')}`, { cause: error });
    throw error;
  }
};

/**
 * `ssm:automation`: start exactly the configured documents (any version), read and tag the executions, and pass
 * the assume role to SSM only. The environment names the documents and the role for the adapter. (The documents
 * were checked once, by `checkActionSettings`.)
 */
const grantSsmAutomation = (fn: NodejsFunction, ssm: SsmAutomationSettings): void => {
  const stack = Stack.of(fn);
  // The actions come from the row's declaration (functions/core/tools/adapters.ts), the resources from the settings.
  const need = (resource: IamNeed['resource']): string[] => [...(adapterRow('ssm-automation')?.iam.find((n) => n.resource === resource)?.actions ?? [])];
  const refs = Object.values(ssm.documents).flatMap((r) => parseDocumentRef(r) ?? []);
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: need('automation-definitions-of-variable'),
      resources: [...new Set(refs.map((ref) => automationDefinitionArn(stack, ref)))],
    }),
  );
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: need('automation-executions'),
      resources: [stack.formatArn({ service: 'ssm', resource: 'automation-execution', resourceName: '*' })],
    }),
  );
  if (ssm.assumeRole) {
    fn.addToRolePolicy(new PolicyStatement({ actions: need('role-of-variable'), resources: [ssm.assumeRole.roleArn], conditions: { StringEquals: { 'iam:PassedToService': 'ssm.amazonaws.com' } } }));
    fn.addEnvironment('SSM_AUTOMATION_ASSUME_ROLE_ARN', ssm.assumeRole.roleArn);
  }
  fn.addEnvironment('SSM_AUTOMATION_DOCUMENTS', JSON.stringify(ssm.documents));
  if (ssm.waitSeconds !== undefined) fn.addEnvironment('SSM_AUTOMATION_WAIT_SECONDS', String(ssm.waitSeconds));
};
