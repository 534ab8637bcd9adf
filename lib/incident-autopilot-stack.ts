/**
 * `IncidentAutopilotStack` only composes: the store, the event bus, the functions, the workflow and the API,
 * wired through the resources each construct exposes. Environment-agnostic (no lookups), so `cdk synth` works
 * offline and without credentials.
 */
import { CfnOutput, Duration, type RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Role } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { FUNCTIONS, SECRET_HEADER } from '../functions/registry.ts';
import { AlertApi } from './alert-api.ts';
import { IncidentEvents } from './incident-events.ts';
import { type ActionSettings, IncidentFunctions, SSM_AUTOMATION_WILDCARDS } from './incident-functions.ts';
import { IncidentStore } from './incident-store.ts';
import { IncidentWorkflow } from './incident-workflow.ts';
import { OpeningSweeper } from './opening-sweeper.ts';
import { OperatorConsole } from './operator-console.ts';
import { DETECTOR_TOOL_USE, type ToolUse, toolUseOf } from '../functions/core/agents/tool-use.ts';
import { SIGNALS_TOOL_USE } from '../functions/incident-signals/core.ts';
import { RESOLVE_TOOL_USE } from '../functions/resolve-incident/core.ts';
import { AnomalyDetector, DetectorSettingInvalid } from './anomaly-detector.ts';
import type { DetectorTarget } from '../functions/detect-anomalies/core.ts';
import type { IamNeed } from '../functions/core/tools/adapters.ts';
import { parseResourcePatterns } from '../functions/core/tools/aws/rollback-targets.ts';
import { GRACE_CHECKS } from '../functions/core/verify-policy.ts';
import { grantToolAdapters, resolveToolSettings, type ToolSettings, type ToolsChoice, ToolSettingsInvalid } from './tool-adapters.ts';
import { acknowledgeWildcardResources, literal, logicalIdOf, type WildcardAllowance } from './nag-acknowledgements.ts';
import { DEFAULT_APPROVAL_TIMEOUT_SECONDS } from './workflow-definition.ts';

export const STACK_NAME = 'IncidentAutopilot';
/**
 * API functions that read the tool ports as the agents do, with their tool use: they get the agents' tool environment
 * and the grants of exactly these port methods (the workflow functions' come from functions/core/agents/tool-use.ts).
 */
export const TOOL_USING_API_FUNCTIONS: Readonly<Record<string, ToolUse>> = {
  'incident-signals': SIGNALS_TOOL_USE,
  // People's resolutions join the incident history (the changes port's recordIncident), as write-report's do.
  'resolve-incident': RESOLVE_TOOL_USE,
};
/** The registry function the detector schedule invokes. */
const DETECTOR_FUNCTION = 'detect-anomalies';
export const DEFAULT_VERIFY_WAIT_SECONDS = 120;
export const DEFAULT_MAX_VERIFY_CHECKS = 5;

export class InvalidSettingError extends Error {
  override name = 'InvalidSettingError';
}

export interface IncidentAutopilotStackProps extends StackProps {
  /**
   * Seconds a human has to approve a risky mitigation before the incident escalates.
   * @default 3600
   */
  readonly approvalTimeoutSeconds?: number;
  /**
   * Retool workflow webhook that asks approvers. When set, a `RetoolApiKey` secret is created for you to fill
   * (`aws secretsmanager put-secret-value`) and request-approval calls Retool.
   * @default - no Retool: approve through `POST /incidents/{id}/approval` (the CLI does this)
   */
  readonly retoolWorkflowUrl?: string;
  /**
   * Seconds to wait after a mitigation before each recovery check (VERIFY_WAIT_SECONDS).
   * @default 120
   */
  readonly verifyWaitSeconds?: number;
  /**
   * Recovery checks before the incident escalates as not recovered (MAX_VERIFY_CHECKS).
   * @default 5
   */
  readonly maxVerifyChecks?: number;
  /**
   * What happens to the incident table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * Run mitigations as SSM Automation runbooks: action kind (or `<kind>:undo`) → document name (this account's,
   * or AWS-owned like AWS-RestartEC2Instance) or a shared document's ARN (`arn:aws:ssm:<region>:<owner>:document/<name>`).
   * @default - the webhook below, else the simulated world when `tools` is 'simulated', else none: the actions port is a
   *   reported gap and no action is taken
   */
  readonly ssmAutomationDocuments?: Readonly<Record<string, string>>;
  /**
   * The role the runbooks assume (their AutomationAssumeRole parameter), with `ssmAutomationDocuments`.
   * @default - none
   */
  readonly ssmAutomationRoleArn?: string;
  /**
   * Run mitigations by POSTing them, HMAC-signed, to this https endpoint. An `ActionsWebhookSigningKey` secret is
   * created; the receiver verifies signatures with its value.
   * @default - SSM above, else the simulated world when `tools` is 'simulated', else none: the actions port is a reported
   *   gap and no action is taken
   */
  readonly actionsWebhookUrl?: string;
  /**
   * Vendor adapters for the agents' tools, as the environment variables functions/core/tools/adapters.ts lists
   * (DYNATRACE_URL, DYNATRACE_TOKEN_SECRET_ID, SERVICENOW_*, SPLUNK_*, PAGERDUTY_*, TOOLS_HTTP_*). A `*_SECRET_ID`
   * must be a secret's complete ARN: the agents are granted read on exactly that secret.
   * @default - no vendor adapter
   */
  readonly toolsEnvironment?: Readonly<Record<string, string>>;
  /**
   * What serves a tool port that no adapter configures. `simulated`: the simulated world (a demo deployment; it is
   * granted its items of the incident table and bundled). `configured`: nothing — the port is a reported gap in
   * every incident (`gap:telemetry` … naming the variables to set), never the simulator.
   * @default 'configured'
   */
  readonly tools?: ToolsChoice;
  /**
   * An OpenAI-compatible endpoint for the LLM reasoner (LLM_BASE_URL), with `llmModel`. An `LlmApiKey` secret is
   * created for you to fill; the agents read it. Without it the agents use the offline reasoner.
   * @default - the offline reasoner
   */
  readonly llmBaseUrl?: string;
  /** The model name (LLM_MODEL), with `llmBaseUrl`. */
  readonly llmModel?: string;
  /**
   * Tokens (input + output) one incident may spend on the model (LLM_TOKEN_BUDGET), counted in DynamoDB.
   * @default - no budget
   */
  readonly llmTokenBudget?: number;
  /**
   * Topic notified when workflow executions fail or time out.
   * @default - alarms without actions
   */
  readonly alarmTopic?: ITopic;
  /**
   * Minutes between two runs of the opening sweeper (functions/sweep-openings), which starts the workflow and publishes
   * `Incident Opened` of every incident whose opening delivery died with no delivery since. 1 to 1440.
   * @default 5
   */
  readonly openingSweepRateMinutes?: number;
  /**
   * The operator's console on AWS (lib/operator-console.ts): the static site behind CloudFront, the Cognito user pool
   * with managed login, and the console's API routes (auth `jwt`) behind its JWT authorizer. `false` leaves all three
   * out (the API then has no console routes).
   * @default true
   */
  readonly console?: boolean;
  /**
   * The managed login's domain prefix, unique in the region across AWS accounts.
   * @default - `<stack name, lowercased>-<account id>`
   */
  readonly consoleDomainPrefix?: string;
  /**
   * What happens to the console's user pool when it leaves the stack (RETAIN also turns on deletion protection).
   * @default RemovalPolicy.RETAIN
   */
  readonly consoleUserPoolRemovalPolicy?: RemovalPolicy;
  /**
   * What the anomaly detector (functions/detect-anomalies) watches: DETECTOR_TARGETS, a list of
   * `{ environment, services?, metrics?, slo?: { objectivePct, windows? } }`. With at least one target the stack adds its
   * EventBridge Scheduler schedule; with none (the default) there is no schedule and the function does nothing.
   * @default - no self-detection
   */
  readonly detectorTargets?: readonly DetectorTarget[];
  /**
   * Minutes between two runs of the anomaly detector, 1 to 60 (with `detectorTargets`).
   * @default 1
   */
  readonly detectorRateMinutes?: number;
}

/** Settings with defaults applied, checked against the same bounds functions/core/config.ts enforces. */
export interface StackSettings {
  readonly approvalTimeoutSeconds: number;
  readonly verifyWaitSeconds: number;
  readonly maxVerifyChecks: number;
  readonly retoolWorkflowUrl?: string;
}

const checkInt = (field: string, value: number, min: number, max: number): number => {
  if (!Number.isInteger(value) || value < min || value > max) throw new InvalidSettingError(`${field} must be an integer from ${min} to ${max}, got ${value}`);
  return value;
};

export const resolveSettings = (props: IncidentAutopilotStackProps): StackSettings => {
  const url = props.retoolWorkflowUrl;
  if (url !== undefined && !/^https:\/\/\S+$/.test(url)) throw new InvalidSettingError(`retoolWorkflowUrl must be an https:// URL, got ${JSON.stringify(url)}`);
  return {
    // Step Functions caps a task's TimeoutSeconds at 99999999; a year is the Standard workflow's own limit.
    approvalTimeoutSeconds: checkInt('approvalTimeoutSeconds', props.approvalTimeoutSeconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS, 60, 365 * 86_400),
    verifyWaitSeconds: checkInt('verifyWaitSeconds', props.verifyWaitSeconds ?? DEFAULT_VERIFY_WAIT_SECONDS, 0, 86_400),
    maxVerifyChecks: checkInt('maxVerifyChecks', props.maxVerifyChecks ?? DEFAULT_MAX_VERIFY_CHECKS, 1, 20),
    retoolWorkflowUrl: url,
  };
};

/**
 * An upper bound on one execution: the approval wait, every recovery wait, generous time for each agent, and a
 * margin. Exceeding it means something is stuck, which the timed-out alarm reports.
 */
export const executionTimeout = (s: StackSettings): Duration => {
  const agentBudgetSeconds = 30 * 60;
  // GRACE_CHECKS more than maxVerifyChecks when the last verdict is "not yet" (see agents/verify.ts).
  const verifySeconds = (s.maxVerifyChecks + GRACE_CHECKS) * (s.verifyWaitSeconds + 120);
  return Duration.seconds(s.approvalTimeoutSeconds + verifySeconds + agentBudgetSeconds);
};

export class IncidentAutopilotStack extends Stack {
  public readonly settings: StackSettings;
  public readonly store: IncidentStore;
  public readonly events: IncidentEvents;
  public readonly functions: IncidentFunctions;
  public readonly workflow: IncidentWorkflow;
  public readonly api: AlertApi;
  /** The schedule of the opening sweeper. */
  public readonly openingSweeper: OpeningSweeper;
  /** The schedule of the anomaly detector; only with `detectorTargets`. */
  public readonly anomalyDetector?: AnomalyDetector;
  /** Shared secret of the webhook and approval routes (header `x-autopilot-secret`). */
  public readonly webhookSecret: Secret;
  /** Retool workflow API key, created empty when `retoolWorkflowUrl` is set. */
  public readonly retoolApiKey?: Secret;
  /** The LLM endpoint's API key, when an LLM reasoner is configured. */
  public readonly llmApiKey?: Secret;
  /** The tool adapters in use, and the ones left out of the bundles. */
  public readonly tools: ToolSettings;
  /** The operator's console (site, sign-in, authorizer); absent with `console: false`. */
  public readonly console?: OperatorConsole;

  constructor(scope: Construct, id: string, props: IncidentAutopilotStackProps = {}) {
    super(scope, id, { description: 'Incident Autopilot: multi-agent incident response on Step Functions and Lambda', ...props });
    this.settings = resolveSettings(props);

    this.store = new IncidentStore(this, 'Store', { removalPolicy: props.tableRemovalPolicy });
    this.events = new IncidentEvents(this, 'Events');
    this.webhookSecret = new Secret(this, 'WebhookSecret', {
      description: `Incident Autopilot shared secret: send it as the ${SECRET_HEADER} header on POST /alerts/* and approvals`,
      generateSecretString: { passwordLength: 40, excludePunctuation: true },
    });
    Validations.of(this.webhookSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'A static credential that monitoring vendors and Retool hold in their own configuration; an automatic rotation would silently break their webhooks. Rotate it by hand, together with the vendor settings.',
    });
    if (this.settings.retoolWorkflowUrl) {
      this.retoolApiKey = new Secret(this, 'RetoolApiKey', {
        description: 'Incident Autopilot: the Retool workflow API key. Replace the generated placeholder with your key.',
      });
      Validations.of(this.retoolApiKey).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'The key is issued by Retool; AWS cannot rotate it. Rotate it in Retool and put the new value here.',
      });
    }

    const actions = this.actionSettings(props);
    this.tools = this.toolSettings(props);

    this.functions = new IncidentFunctions(this, 'Functions', {
      actions,
      omitAdapters: this.tools.omitted,
      omitLlm: !props.llmBaseUrl && !props.llmModel,
      table: this.store.table,
      eventBus: this.events.eventBus,
      webhookSecret: this.webhookSecret,
      retool: this.retoolApiKey && this.settings.retoolWorkflowUrl ? { workflowUrl: this.settings.retoolWorkflowUrl, apiKeySecret: this.retoolApiKey } : undefined,
      environment: {
        VERIFY_WAIT_SECONDS: String(this.settings.verifyWaitSeconds),
        MAX_VERIFY_CHECKS: String(this.settings.maxVerifyChecks),
      },
    });

    this.workflow = new IncidentWorkflow(this, 'Workflow', {
      functions: this.functions.workflowFunctions(),
      eventBus: this.events.eventBus,
      approvalTimeoutSeconds: this.settings.approvalTimeoutSeconds,
      executionTimeout: executionTimeout(this.settings),
      alarmTopic: props.alarmTopic,
    });
    this.functions.connectStateMachine(this.workflow.stateMachine);
    this.openingSweeper = new OpeningSweeper(this, 'OpeningSweeper', { function: this.functions.get('sweep-openings'), rateMinutes: props.openingSweepRateMinutes });
    this.anomalyDetector = this.configureDetector(props);
    this.llmApiKey = this.configureLlm(props);
    // Each workflow function gets the tool IAM of only the port methods its agent calls (functions/core/agents/tool-use.ts).
    // So does each API function that uses the tools (incident-signals charts an incident from them; resolve-incident
    // records what people resolved it with into the history).
    // And the anomaly detector, when it watches something, that of the telemetry it reads (DETECTOR_TOOL_USE; without
    // targets it reads nothing, so it gets nothing). One call: the tools' secrets are imported once.
    const toolUsers = [
      ...FUNCTIONS.filter((f) => f.role === 'workflow' || (f.name === DETECTOR_FUNCTION && this.anomalyDetector)).map((f) => f.name),
      ...Object.keys(TOOL_USING_API_FUNCTIONS),
    ];
    const toolUseFor = (name: string): ToolUse => TOOL_USING_API_FUNCTIONS[name] ?? (name === DETECTOR_FUNCTION ? DETECTOR_TOOL_USE : toolUseOf(name));
    grantToolAdapters(this, new Map(toolUsers.map((name) => [name, this.functions.get(name)])), this.tools, this.store.table, toolUseFor);

    if (props.console ?? true) {
      this.console = new OperatorConsole(this, 'Console', { domainPrefix: props.consoleDomainPrefix, userPoolRemovalPolicy: props.consoleUserPoolRemovalPolicy });
    }
    this.api = new AlertApi(this, 'Api', {
      routeFunction: (name) => this.functions.get(name),
      consoleAuthorizer: this.console?.authorizer,
      withoutConsoleRoutes: !this.console,
      corsOrigins: this.console ? [this.console.origin] : undefined,
    });
    this.functions.setApiBaseUrl(this.api.url);
    // The API's base without a trailing slash, as the twin's '' is: the console appends paths that start with '/'.
    this.console?.deployContent(this.api.httpApi.apiEndpoint);
    this.events.forwardAlarmsTo({ endpoint: this.api.routeUrl('alerts/cloudwatch'), secretHeaderName: SECRET_HEADER, secret: this.webhookSecret });

    // Read at synthesis, once every grant is made: excuses exactly the wildcard resources these allowances explain.
    acknowledgeWildcardResources(this, [...this.wildcardAllowances(), ...(actions?.ssmAutomation ? SSM_AUTOMATION_WILDCARDS : []), ...(this.console?.wildcardAllowances() ?? [])]);

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the HTTP API' });
    new CfnOutput(this, 'StateMachineArn', { value: this.workflow.stateMachine.stateMachineArn, description: 'The incident workflow' });
    new CfnOutput(this, 'EventBusName', { value: this.events.eventBus.eventBusName, description: 'Where outcomes are published' });
    if (this.console) {
      new CfnOutput(this, 'ConsoleUrl', { value: this.console.url, description: 'The operator console (sign in with a user of ConsoleUserPoolId)' });
      new CfnOutput(this, 'ConsoleUserPoolId', { value: this.console.userPool.userPoolId, description: 'Create console users here: aws cognito-idp admin-create-user --user-pool-id <this> …' });
      new CfnOutput(this, 'ConsoleSignInUrl', { value: this.console.signInUrl, description: 'The managed login of the console' });
    }
    new CfnOutput(this, 'WebhookSecretArn', { value: this.webhookSecret.secretArn, description: `Value to send as ${SECRET_HEADER}` });
  }

  /** The anomaly detector's schedule and targets, when targets are given; its settings checked at synth, naming the prop. */
  private configureDetector(props: IncidentAutopilotStackProps): AnomalyDetector | undefined {
    if (props.detectorTargets === undefined || props.detectorTargets.length === 0) {
      if (props.detectorRateMinutes !== undefined) throw new InvalidSettingError('detectorRateMinutes needs detectorTargets (without targets there is no detector schedule)');
      return undefined;
    }
    try {
      return new AnomalyDetector(this, 'AnomalyDetector', { function: this.functions.get(DETECTOR_FUNCTION), targets: props.detectorTargets, rateMinutes: props.detectorRateMinutes });
    } catch (error) {
      if (error instanceof DetectorSettingInvalid) throw new InvalidSettingError(error.message, { cause: error });
      throw error;
    }
  }

  /** The tool adapters this deployment uses (functions/core/tools/adapters.ts), checked at synth. */
  private toolSettings(props: IncidentAutopilotStackProps): ToolSettings {
    try {
      return resolveToolSettings(props);
    } catch (error) {
      if (error instanceof ToolSettingsInvalid) throw new InvalidSettingError(error.message, { cause: error });
      throw error;
    }
  }

  /** The LLM reasoner for the agents, when an endpoint is configured: its key secret, env and grants. */
  private configureLlm(props: IncidentAutopilotStackProps): Secret | undefined {
    if (!props.llmBaseUrl && !props.llmModel) return undefined;
    if (!props.llmBaseUrl || !props.llmModel) throw new InvalidSettingError('set llmBaseUrl and llmModel together');
    if (!/^https:\/\/\S+$/.test(props.llmBaseUrl)) throw new InvalidSettingError(`llmBaseUrl must be an https:// URL, got ${JSON.stringify(props.llmBaseUrl)}`);
    if (props.llmTokenBudget !== undefined) checkInt('llmTokenBudget', props.llmTokenBudget, 1, 100_000_000);
    const key = new Secret(this, 'LlmApiKey', { description: 'Incident Autopilot: the API key of the LLM endpoint. Replace the generated placeholder with your key.' });
    Validations.of(key).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'The key is issued by the model provider; AWS cannot rotate it. Rotate it there and put the new value here.' });
    for (const spec of FUNCTIONS.filter((f) => f.role === 'workflow')) {
      const fn = this.functions.get(spec.name);
      fn.addEnvironment('LLM_BASE_URL', props.llmBaseUrl);
      fn.addEnvironment('LLM_MODEL', props.llmModel);
      fn.addEnvironment('LLM_API_KEY_SECRET_ID', key.secretArn);
      if (props.llmTokenBudget !== undefined) fn.addEnvironment('LLM_TOKEN_BUDGET', String(props.llmTokenBudget));
      key.grantRead(fn);
    }
    return key;
  }

  /** Where mitigations run: SSM Automation or a signed webhook; neither set: what `tools` chooses (the simulated world, or a gap). */
  private actionSettings(props: IncidentAutopilotStackProps): ActionSettings | undefined {
    if (props.ssmAutomationDocuments && props.actionsWebhookUrl) throw new InvalidSettingError('set ssmAutomationDocuments or actionsWebhookUrl, not both');
    if (props.ssmAutomationDocuments) {
      return {
        ssmAutomation: {
          documents: props.ssmAutomationDocuments,
          assumeRole: props.ssmAutomationRoleArn ? Role.fromRoleArn(this, 'AutomationAssumeRole', props.ssmAutomationRoleArn, { mutable: false }) : undefined,
        },
      };
    }
    if (props.actionsWebhookUrl) {
      if (!/^https:\/\/\S+$/.test(props.actionsWebhookUrl)) throw new InvalidSettingError(`actionsWebhookUrl must be an https:// URL, got ${JSON.stringify(props.actionsWebhookUrl)}`);
      const signingKey = new Secret(this, 'ActionsWebhookSigningKey', {
        description: 'Incident Autopilot: HMAC key of the signed action webhook; give the receiver the same value.',
        generateSecretString: { passwordLength: 48, excludePunctuation: true },
      });
      Validations.of(signingKey).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'The receiver holds the same key; rotating it is a coordinated change with the receiver, done by hand.' });
      return { webhook: { url: props.actionsWebhookUrl, signingKey } };
    }
    return undefined;
  }

  /**
   * The wildcards the tool rows in use declare (`aws-api` needs whose resource is `*` or an ARN pattern): each is
   * excused by the row's own `why`, for exactly the actions it names.
   */
  private toolWildcardAllowances(): WildcardAllowance[] {
    const flattened = (pattern: string) => pattern.replaceAll('{partition}', '<AWS::Partition>').replaceAll('{region}', '<AWS::Region>').replaceAll('{account}', '<AWS::AccountId>');
    const patterns = (need: IamNeed): { patterns: string[]; why: string } => {
      if (need.resource === 'aws-api') return { patterns: need.resources.map(flattened), why: need.why ?? 'the resources are known only at run time' };
      if (need.resource === 'arns-of-variable') {
        const value = this.tools.environment[need.variable];
        return { patterns: value === undefined ? [] : parseResourcePatterns(value, need.variable), why: `the operator's allow-list ${need.variable}, granted as given` };
      }
      return { patterns: [], why: '' };
    };
    return this.tools.inUse.flatMap((row) =>
      row.iam.flatMap((need) => {
        const { patterns: resources, why } = patterns(need);
        return resources
          .filter((r) => r.includes('*'))
          .map((r) => ({ reason: `${row.title}: ${why}`, resource: new RegExp(`^${literal(r)}$`), actions: new RegExp(`^(${need.actions.map(literal).join('|')})$`) }));
      }),
    );
  }

  /** Why each remaining wildcard resource in an IAM policy of this stack is acceptable (cdk-nag IAM5). */
  private wildcardAllowances(): WildcardAllowance[] {
    return [
      ...this.toolWildcardAllowances(),
      {
        reason: 'X-Ray trace submission has no resource-level permissions (tracing ACTIVE).',
        resource: /^\*$/,
        actions: /^xray:(PutTraceSegments|PutTelemetryRecords|GetSamplingRules|GetSamplingTargets)$/,
      },
      {
        reason: 'Step Functions delivers logs through CloudWatch Logs vended-log APIs, which take no resource.',
        resource: /^\*$/,
        actions: /^logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)$/,
      },
      {
        reason: 'Queries on the incident table\'s own secondary index (byStatus); the wildcard cannot reach another table.',
        resource: new RegExp(`^<${literal(logicalIdOf(this.store.table))}\\.Arn>/index/\\*$`),
        actions: /^dynamodb:/,
      },
      {
        reason: 'DescribeExecution on executions of the incident workflow only; execution names are incident ids, known only at run time.',
        resource: new RegExp(`:execution:.*"Ref":"${literal(logicalIdOf(this.workflow.stateMachine))}".*:\\*$`),
        actions: /^states:DescribeExecution$/,
      },
    ];
  }
}

