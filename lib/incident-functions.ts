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
import { Duration, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, Architecture, LoggingFormat, Runtime, SystemLogLevel, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type Access, FUNCTIONS, type FunctionSpec } from '../functions/registry.ts';

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
          // internals go with it, since only SDK packages import them). Bundled, the SDK would pin its version but put
          // each bundle near the 1 MB limit (measured ~1.0 MB); excluded, the bundles measure 0.64-0.70 MB (zod,
          // Powertools, the domain code). The clients used are the long-stable DynamoDB, Step Functions, EventBridge
          // and Secrets Manager APIs, so the runtime's SDK version is not a compatibility risk.
          externalModules: ['@aws-sdk/*'],
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
   * Grants `sfn:start` (StartExecution, DescribeExecution; STATE_MACHINE_ARN in the environment) and
   * `sfn:respond` (SendTaskSuccess/Failure/Heartbeat) on the incident workflow.
   */
  public connectStateMachine(stateMachine: IStateMachine): void {
    for (const spec of this.specs) {
      const fn = this.get(spec.name);
      if (spec.access.includes('sfn:start')) {
        stateMachine.grantStartExecution(fn);
        stateMachine.grantExecution(fn, 'states:DescribeExecution');
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
      'sfn:start': () => {},
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
    };
    for (const access of spec.access) grants[access]();
  }
}
