/**
 * `IncidentWorkflow`: the Standard state machine defined by statemachine/incident-response.asl.json (the single
 * source of the workflow, shared with the laptop twin), with a log group at level ALL, X-Ray tracing and alarms on
 * failed and timed-out executions.
 *
 * Nothing in an ASL file creates IAM permissions, so every function the definition references is granted
 * `lambda:InvokeFunction` here (on its unqualified ARN, the one the definition names), and the bus `events:PutEvents` (the Publish states use the direct SDK integration).
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ASL_EVENT_BUS_KEY, ASL_EVENT_SOURCE_KEY, EVENT_SOURCE } from '../functions/registry.ts';
import { DEFAULT_APPROVAL_TIMEOUT_SECONDS, placeholders, workflowDefinition } from './workflow-definition.ts';

export class MissingSubstitutionError extends Error {
  override name = 'MissingSubstitutionError';
}

export interface IncidentWorkflowProps {
  /** The workflow functions by their ASL substitution key (`${AnalyzeImpactFunctionArn}` → function). */
  readonly functions: ReadonlyMap<string, IFunction>;
  /** The bus the Publish states put events on. */
  readonly eventBus: IEventBus;
  /**
   * How long a human has to decide before the approval times out and the incident escalates.
   * @default 3600
   */
  readonly approvalTimeoutSeconds?: number;
  /**
   * Longest an execution may run before Step Functions stops it (and the timed-out alarm fires).
   * @default - the Standard workflow limit of one year
   */
  readonly executionTimeout?: Duration;
  /**
   * Topic notified when an alarm fires (executions failed or timed out).
   * @default - alarms without actions
   */
  readonly alarmTopic?: ITopic;
  /**
   * Retention of the execution log group.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
}

export class IncidentWorkflow extends Construct {
  public readonly stateMachine: StateMachine;
  public readonly logGroup: LogGroup;
  /** Every `${Key}` of the definition and what it becomes; exposed so tests can check it covers the ASL. */
  public readonly definitionSubstitutions: Readonly<Record<string, string>>;
  /** Fires when an execution fails (an agent or action failed and `Record failure` ran). */
  public readonly failedAlarm: Alarm;
  /** Fires when an execution exceeds its timeout. */
  public readonly timedOutAlarm: Alarm;

  constructor(scope: Construct, id: string, props: IncidentWorkflowProps) {
    super(scope, id);
    const definition = workflowDefinition({ approvalTimeoutSeconds: props.approvalTimeoutSeconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS });
    // The L2 `timeout` prop only reaches definitions CDK builds itself; a definition from a string carries its own.
    if (props.executionTimeout) definition.TimeoutSeconds = props.executionTimeout.toSeconds();

    const substitutions: Record<string, string> = {
      [ASL_EVENT_BUS_KEY]: props.eventBus.eventBusName,
      [ASL_EVENT_SOURCE_KEY]: EVENT_SOURCE,
    };
    for (const [key, fn] of props.functions) substitutions[key] = fn.functionArn;
    // Fail the synth, not the first execution, when the ASL names a function nobody built.
    const missing = [...placeholders(definition)].filter((key) => substitutions[key] === undefined);
    if (missing.length > 0) throw new MissingSubstitutionError(`the workflow definition uses ${missing.map((k) => `\${${k}}`).join(', ')} but no function or setting provides it`);
    this.definitionSubstitutions = substitutions;

    this.logGroup = new LogGroup(this, 'Logs', {
      // The /aws/vendedlogs/ prefix keeps CloudWatch Logs' resource policy from growing with every state machine.
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-incident-response`,
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      // Standard, not Express: executions wait up to the approval timeout for a human and must be exactly-once.
      stateMachineType: StateMachineType.STANDARD,
      comment: 'Incident Autopilot: investigate, triage, root cause, plan, approve, mitigate, verify, report',
      definitionBody: DefinitionBody.fromString(JSON.stringify(definition)),
      definitionSubstitutions: substitutions,
      logs: { destination: this.logGroup, level: LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });

    // The ASL invokes the unqualified ARN, so that is all the role may invoke (no `:*` versions and aliases).
    for (const fn of props.functions.values()) fn.grantInvokeLatestVersion(this.stateMachine);
    props.eventBus.grantPutEventsTo(this.stateMachine);

    const alarm = (alarmId: string, description: string, metric: ReturnType<StateMachine['metricFailed']>): Alarm => {
      const a = new Alarm(this, alarmId, {
        alarmDescription: description,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      if (props.alarmTopic) a.addAlarmAction(new SnsAction(props.alarmTopic));
      return a;
    };
    this.failedAlarm = alarm('ExecutionsFailed', 'An incident workflow execution failed', this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }));
    this.timedOutAlarm = alarm('ExecutionsTimedOut', 'An incident workflow execution timed out', this.stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum' }));
  }
}
