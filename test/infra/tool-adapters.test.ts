/**
 * The tool adapters a deployment uses, through the adapter table (functions/core/tools/adapters.ts): the stack checks
 * `toolsEnvironment` against the rows, grants what each row in use declares to the functions that call the port
 * methods it serves (functions/core/agents/tool-use.ts), chooses the simulated world only when the deployment asks
 * (`tools: 'simulated'`), and leaves the rows it does not use out of the bundles.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { toolUseOf } from '../../functions/core/agents/tool-use.ts';
import { ADAPTERS, adapterRow } from '../../functions/core/tools/adapters.ts';
import { FUNCTIONS } from '../../functions/registry.ts';
import { InvalidSettingError, TOOL_USING_API_FUNCTIONS } from '../../lib/incident-autopilot-stack.ts';
import { toolNeeds } from '../../lib/tool-adapters.ts';
import { logicalIdOf } from '../../lib/nag-acknowledgements.ts';
import { resourcesAllowed, statementsOfRole, SYNTH_TIMEOUT_MS, synthStack, type Synth } from './fixture.ts';

/** The functions given the tools: the workflow functions, and the API functions that use the tool ports (incident-signals, resolve-incident). */
const WORKFLOW = [...FUNCTIONS.filter((f) => f.role === 'workflow').map((f) => f.name), ...Object.keys(TOOL_USING_API_FUNCTIONS)];
/** The functions that call a tool port (plan-mitigation, request-approval and record-failure call none). */
const TOOL_CALLERS = ['analyze-impact', 'find-similar', 'analyze-logs', 'triage', 'find-root-cause', 'execute-mitigation', 'verify-recovery', 'escalate', 'write-report', 'incident-signals', 'resolve-incident'];
const secretArn = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:autopilot/${name}-AbC123`;

const findings = (synth: Synth): string[] =>
  new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(synth.app).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`));

type Fn = { Properties: { Environment?: { Variables?: Record<string, unknown> } } };
const functionsWith = (synth: Synth, variable: string, value: unknown): string[] =>
  (Object.values(synth.template.findResources('AWS::Lambda::Function')) as Fn[]).filter((f) => f.Properties.Environment?.Variables?.[variable] === value).map((f) => String(f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME));

/** The workflow functions whose role has a statement matching `statement`. */
const functionsGranted = (synth: Synth, statement: object): string[] =>
  WORKFLOW.filter((name) => {
    const roleId = logicalIdOf(synth.stack.functions.get(name).role!);
    return Object.keys(synth.template.findResources('AWS::IAM::Policy', { Properties: { ...policyWith(statement), Roles: Match.arrayWith([{ Ref: roleId }]) } })).length > 0;
  });

/** The simulated world's statement (adapters.ts row `simulated`): its items of the incident table only. */
const WORLD_STATEMENT = Match.objectLike({
  Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['WORLD#*'] } },
});
const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
const policyWith = (statement: object) => ({ PolicyDocument: { Statement: Match.arrayWith([statement]) } });
/** The workflow functions allowed to read the secret. */
const readersOf = (synth: Synth, arn: string): string[] =>
  WORKFLOW.filter((name) => resourcesAllowed(statementsOfRole(synth, synth.stack.functions.get(name).role!), 'secretsmanager:GetSecretValue').includes(arn)).sort();

describe('stack: the simulated world is a choice', () => {
  it('by default chooses no simulator: no TOOLS_DEFAULT, no world grant, the simulated row left out of the bundles', () => {
    // Act
    const synth = synthStack();
    // Assess
    expect(functionsWith(synth, 'TOOLS_DEFAULT', 'simulated')).toEqual([]);
    expect(Object.keys(synth.template.findResources('AWS::IAM::Policy', { Properties: policyWith(WORLD_STATEMENT) }))).toEqual([]);
    expect(synth.stack.tools.choice).toBe('configured');
    expect(synth.stack.tools.omitted).toEqual(ADAPTERS.map((r) => r.name));
  }, SYNTH_TIMEOUT_MS);

  it("with tools: 'simulated' gives every workflow function TOOLS_DEFAULT=simulated and the world's items of the table to those calling a tool, cdk-nag clean", () => {
    // Act
    const synth = synthStack({ tools: 'simulated' });
    // Assess
    expect(functionsWith(synth, 'TOOLS_DEFAULT', 'simulated').sort()).toEqual([...WORKFLOW].sort());
    expect(functionsGranted(synth, WORLD_STATEMENT).sort()).toEqual([...TOOL_CALLERS].sort());
    expect(synth.stack.tools.omitted).not.toContain('simulated');
    expect(findings(synth)).toEqual([]);
  }, SYNTH_TIMEOUT_MS);

  it('refuses a choice it does not know, naming the setting', () => {
    expect(() => synthStack({ tools: 'simulator' as never })).toThrow(InvalidSettingError);
    expect(() => synthStack({ tools: 'simulator' as never })).toThrow(/tools must be one of "simulated", "aws", "configured", got "simulator"/);
  }, SYNTH_TIMEOUT_MS);
});

describe('stack: grants from the rows in use', () => {
  it('grants read on exactly the secret each configured vendor row names (Dynatrace, ServiceNow basic auth, Splunk, PagerDuty)', () => {
    // Prepare
    const toolsEnvironment = {
      DYNATRACE_URL: 'https://abc12345.live.dynatrace.com',
      DYNATRACE_TOKEN_SECRET_ID: secretArn('dynatrace'),
      SERVICENOW_URL: 'https://acme.service-now.com',
      SERVICENOW_USER: 'autopilot',
      SERVICENOW_PASSWORD_SECRET_ID: secretArn('servicenow'),
      SPLUNK_URL: 'https://splunk.example.com:8089',
      SPLUNK_TOKEN_SECRET_ID: secretArn('splunk'),
      PAGERDUTY_TOKEN_SECRET_ID: secretArn('pagerduty'),
    };
    // Act
    const synth = synthStack({ toolsEnvironment });
    // Assess
    // Each vendor's secret only to the functions calling its port.
    expect(readersOf(synth, secretArn('dynatrace'))).toEqual(['analyze-impact', 'analyze-logs', 'execute-mitigation', 'find-root-cause', 'find-similar', 'incident-signals', 'verify-recovery']);
    expect(readersOf(synth, secretArn('servicenow'))).toEqual(['execute-mitigation', 'find-root-cause', 'find-similar', 'incident-signals', 'resolve-incident', 'write-report']);
    // The root-cause function reads the logs of origins beyond the logs agent's neighbourhood (rootcause.ts).
    expect(readersOf(synth, secretArn('splunk'))).toEqual(['analyze-logs', 'find-root-cause']);
    expect(readersOf(synth, secretArn('pagerduty'))).toEqual(['escalate', 'triage']);
    // Every workflow function still gets the variables (the runtime chooses its rows from them at cold start).
    expect(functionsWith(synth, 'DYNATRACE_TOKEN_SECRET_ID', secretArn('dynatrace')).sort()).toEqual([...WORKFLOW].sort());
    expect([...synth.stack.tools.inUse.map((r) => r.name)].sort()).toEqual(['dynatrace', 'pagerduty', 'servicenow', 'splunk']);
    expect(synth.stack.tools.omitted).toContain('simulated');
    expect(findings(synth)).toEqual([]);
  }, SYNTH_TIMEOUT_MS);

  it('keeps the SSM Automation row in use (and bundled) when runbooks are configured', () => {
    const synth = synthStack({ ssmAutomationDocuments: { 'rollback-change': 'Autopilot-Rollback' } });
    expect(synth.stack.tools.inUse.map((r) => r.name)).toEqual(['ssm-automation']);
    expect(synth.stack.tools.omitted).not.toContain('ssm-automation');
  }, SYNTH_TIMEOUT_MS);

  it.each([
    [{ DYNATRACE_URL: 'https://abc12345.live.dynatrace.com' }, /toolsEnvironment: DYNATRACE_TOKEN_SECRET_ID must be set for the Dynatrace adapter/],
    [{ SSM_AUTOMATION_DOCUMENTS: '{}' }, /SSM_AUTOMATION_DOCUMENTS is not a tool adapter variable/],
    [{ TOOLS_DEFAULT: 'simulated' }, /TOOLS_DEFAULT is not a tool adapter variable/],
    [{ SERVICENOW_URL: 'https://acme.service-now.com', SERVICENOW_PASSWORD_SECRET_ID: 'password' }, /SERVICENOW_PASSWORD_SECRET_ID must be a secret's complete ARN/],
  ])('refuses toolsEnvironment %j at synth, naming the variable', (toolsEnvironment, message) => {
    expect(() => synthStack({ toolsEnvironment })).toThrow(InvalidSettingError);
    expect(() => synthStack({ toolsEnvironment })).toThrow(message);
  }, SYNTH_TIMEOUT_MS);
});

describe('toolNeeds: a row\'s needs for the port methods a function calls, through the row chosen for each port', () => {
  const world = adapterRow('simulated')!;
  const dynatrace = adapterRow('dynatrace')!;
  const changes = adapterRow('aws-changes')!;

  it('gives a row serving several ports only to the functions calling a port it is chosen for', () => {
    // tools: 'simulated' with Dynatrace telemetry: the world serves changes, logs, on-call and actions, not telemetry.
    const byPort = { telemetry: dynatrace, changes: world, logs: world, oncall: world, actions: world };
    expect(toolNeeds(toolUseOf('verify-recovery'), byPort)).toEqual(dynatrace.iam);
    expect(toolNeeds(toolUseOf('triage'), byPort)).toEqual(world.iam);
    expect(toolNeeds(toolUseOf('plan-mitigation'), byPort)).toEqual([]);
  });

  it('gives a method-scoped need only to the functions calling one of its methods', () => {
    const actionsOf = (name: string) => toolNeeds(toolUseOf(name), { changes }).flatMap((n) => n.actions);
    expect(actionsOf('find-similar')).toEqual(['dynamodb:Query']);
    expect(actionsOf('write-report')).toEqual(['dynamodb:PutItem']);
    expect(actionsOf('find-root-cause')).toContain('cloudtrail:LookupEvents');
    expect(actionsOf('find-root-cause')).not.toContain('dynamodb:Query');
  });
});

describe("stack: tools: 'aws' — the account's own telemetry behind every port", () => {
  const ROLLBACK_PATTERN = 'arn:aws:lambda:us-east-1:123456789012:function:checkout*';
  type Policy = { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } };
  const actionsOf = (p: Policy): string[] => p.Properties.PolicyDocument.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
  const policiesGranting = (synth: Synth, action: string): Policy[] => (Object.values(synth.template.findResources('AWS::IAM::Policy')) as Policy[]).filter((p) => actionsOf(p).includes(action));

  const ROSTER = '/autopilot/oncall-roster';
  const SERVICE_MAP = '/autopilot/service-map';
  let account: Synth;
  let bare: Synth;
  beforeAll(() => {
    account = synthStack({ tools: 'aws', toolsEnvironment: { AWS_ACTIONS_RESOURCES: ROLLBACK_PATTERN, AWS_ONCALL_ROSTER_PARAMETER: ROSTER, AWS_SERVICE_MAP_PARAMETER: SERVICE_MAP } });
    bare = synthStack();
  }, SYNTH_TIMEOUT_MS);

  /** What the tools grant a function: each action it is allowed (on a resource, under a condition) that it is not allowed without tools. */
  const grants = (s: Synth, name: string): string[] =>
    statementsOfRole(s, s.stack.functions.get(name).role!).flatMap((st) =>
      list(st.Action).flatMap((action) => list(st.Resource).map((resource) => JSON.stringify({ action, resource, condition: (st as { Condition?: unknown }).Condition ?? null }))),
    );
  const toolGrants = (name: string): { action: string; resource: unknown; condition: unknown }[] => {
    const without = new Set(grants(bare, name));
    return [...new Set(grants(account, name))].filter((g) => !without.has(g)).map((g) => JSON.parse(g) as { action: string; resource: unknown; condition: unknown });
  };
  /** The actions the tools grant a function; an action on the incident table's items names their key prefix (`dynamodb:Query HISTORY#*`). */
  const toolActions = (name: string): string[] => {
    const label = (g: { action: string; condition: unknown }) => {
      const keys = (g.condition as { 'ForAllValues:StringLike'?: { 'dynamodb:LeadingKeys'?: string[] } } | null)?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
      return keys ? `${g.action} ${keys.join(',')}` : g.action;
    };
    return [...new Set(toolGrants(name).map(label))].sort();
  };
  const toolResources = (name: string, action: string): string[] => toolGrants(name).filter((g) => g.action === action).map((g) => JSON.stringify(g.resource));

  const XRAY_GRAPH = ['xray:GetServiceGraph'];
  const METRICS = ['cloudwatch:GetMetricData', 'xray:GetTimeSeriesServiceStatistics'];
  const TRACES = ['xray:BatchGetTraces', 'xray:GetTraceSummaries'];
  const DIRECTORY = ['ssm:GetParameter', 'tag:GetResources'];
  const CHANGES = ['appconfig:GetDeployment', 'appconfig:ListDeployments', 'cloudtrail:LookupEvents', 'codedeploy:BatchGetDeployments', 'codedeploy:GetDeploymentGroup', 'codedeploy:ListDeployments', 'ssm:GetParameterHistory'];
  const LOGS = ['logs:GetQueryResults', 'logs:StartQuery', 'logs:StopQuery'];
  const ROLLBACKS = ['appconfig:StartDeployment', 'ecs:DescribeServices', 'ecs:UpdateService', 'lambda:GetAlias', 'lambda:UpdateAlias', 'ssm:PutParameter'];
  /** Per function, exactly the tool actions it is granted (functions/core/agents/tool-use.ts through the aws rows' needs). */
  const EXPECTED: Record<string, readonly string[]> = {
    'analyze-impact': [...XRAY_GRAPH, ...METRICS, ...TRACES, ...DIRECTORY],
    'find-similar': [...XRAY_GRAPH, ...DIRECTORY, 'dynamodb:Query HISTORY#*'],
    'analyze-logs': [...XRAY_GRAPH, ...DIRECTORY, ...LOGS],
    triage: [...DIRECTORY],
    'find-root-cause': [...XRAY_GRAPH, ...METRICS, ...TRACES, ...DIRECTORY, ...CHANGES, ...LOGS],
    'plan-mitigation': [],
    'request-approval': [],
    'execute-mitigation': [...XRAY_GRAPH, ...DIRECTORY, ...CHANGES, ...ROLLBACKS],
    'verify-recovery': [...XRAY_GRAPH, ...METRICS, ...DIRECTORY],
    escalate: [...DIRECTORY],
    // Metrics and changes for the console's charts (functions/incident-signals/core.ts SIGNALS_TOOL_USE).
    'incident-signals': [...XRAY_GRAPH, ...METRICS, ...DIRECTORY, ...CHANGES],
    // People's resolutions into the history (functions/resolve-incident/core.ts RESOLVE_TOOL_USE).
    'resolve-incident': ['dynamodb:PutItem HISTORY#*'],
    'write-report': ['dynamodb:PutItem HISTORY#*'],
    'record-failure': [],
  };

  it('gives every workflow function TOOLS_DEFAULT=aws and uses the aws row of every port', () => {
    expect(functionsWith(account, 'TOOLS_DEFAULT', 'aws').sort()).toEqual([...WORKFLOW].sort());
    expect(account.stack.tools.inUse.map((r) => r.name).sort()).toEqual(['aws-actions', 'aws-changes', 'aws-logs', 'aws-oncall', 'aws-telemetry']);
    expect(account.stack.tools.omitted).toEqual(expect.arrayContaining(['simulated', 'recorded', 'dynatrace']));
  });

  it.each(WORKFLOW.map((name) => [name]))('grants %s exactly the AWS reads (and writes) of the port methods its agent calls', (name) => {
    expect(Object.keys(EXPECTED)).toContain(name);
    expect(toolActions(name)).toEqual([...new Set(EXPECTED[name])].sort());
  });

  it('grants no function a read of a port it does not call: triage no X-Ray, impact no CloudTrail nor Logs Insights, logs no CloudTrail, similar no CloudTrail', () => {
    expect(toolActions('triage').filter((a) => /^(xray|cloudwatch|cloudtrail|logs|codedeploy):/.test(a))).toEqual([]);
    expect(toolActions('analyze-impact').filter((a) => /^(cloudtrail|logs|codedeploy|appconfig):|GetParameterHistory|HISTORY#/.test(a))).toEqual([]);
    expect(toolActions('analyze-logs').filter((a) => /^(cloudtrail|cloudwatch|codedeploy):|GetTraceSummaries/.test(a))).toEqual([]);
    expect(toolActions('find-similar').filter((a) => /^(cloudtrail|codedeploy|logs):|PutItem/.test(a))).toEqual([]);
    expect(toolActions('find-root-cause').filter((a) => /HISTORY#|UpdateAlias/.test(a))).toEqual([]);
  });

  it('scopes each grant: Logs Insights to log groups, the roster to triage and escalate, the rollbacks to the executor on the allow-list', () => {
    expect(toolResources('analyze-logs', 'logs:StartQuery')).toEqual([expect.stringMatching(/:log-group:\*"/)]);
    const roster = (name: string) => toolResources(name, 'ssm:GetParameter').some((r) => r.includes(`:parameter${ROSTER}`));
    expect(WORKFLOW.filter(roster).sort()).toEqual(['escalate', 'triage']);
    const serviceMap = (name: string) => toolResources(name, 'ssm:GetParameter').some((r) => r.includes(`:parameter${SERVICE_MAP}`));
    expect(WORKFLOW.filter(serviceMap).sort()).toEqual(['analyze-impact', 'analyze-logs', 'escalate', 'execute-mitigation', 'find-root-cause', 'find-similar', 'incident-signals', 'triage', 'verify-recovery']);
    expect(WORKFLOW.filter((name) => toolActions(name).includes('lambda:UpdateAlias'))).toEqual(['execute-mitigation']);
    expect(toolResources('execute-mitigation', 'lambda:UpdateAlias')).toEqual([JSON.stringify(ROLLBACK_PATTERN)]);
    expect(toolResources('execute-mitigation', 'cloudtrail:LookupEvents')).toEqual([JSON.stringify('*')]);
  });

  it('stays cdk-nag clean', () => {
    expect(findings(account)).toEqual([]);
  }, SYNTH_TIMEOUT_MS);

  it('without AWS_ACTIONS_RESOURCES grants no rollback at all', () => {
    const synth = synthStack({ tools: 'aws' });
    expect(policiesGranting(synth, 'lambda:UpdateAlias')).toEqual([]);
    expect(policiesGranting(synth, 'ssm:PutParameter')).toEqual([]);
    expect(findings(synth)).toEqual([]);
  }, SYNTH_TIMEOUT_MS);

  it('lets the executor pass exactly the ECS roles AWS_ACTIONS_ECS_PASS_ROLES lists, to ECS only; nothing without it', () => {
    const role = 'arn:aws:iam::123456789012:role/checkout-task';
    const synth = synthStack({ tools: 'aws', toolsEnvironment: { AWS_ACTIONS_RESOURCES: 'arn:aws:ecs:us-east-1:123456789012:service/prod/*', AWS_ACTIONS_ECS_PASS_ROLES: role } });
    const passing = policiesGranting(synth, 'iam:PassRole');
    expect(passing).toHaveLength(1);
    expect(passing[0]!.Properties.PolicyDocument.Statement).toEqual(
      expect.arrayContaining([expect.objectContaining({ Action: 'iam:PassRole', Resource: role, Condition: { StringEquals: { 'iam:PassedToService': ['ecs-tasks.amazonaws.com', 'ecs.amazonaws.com'] } } })]),
    );
    expect(policiesGranting(synth, 'ecs:UpdateService')).toEqual(passing);
    expect(findings(synth)).toEqual([]);
    expect(policiesGranting(synthStack({ tools: 'aws' }), 'iam:PassRole')).toEqual([]);
    expect(() => synthStack({ tools: 'aws', toolsEnvironment: { AWS_ACTIONS_ECS_PASS_ROLES: 'checkout-task' } })).toThrow(/AWS_ACTIONS_ECS_PASS_ROLES must be comma-separated IAM role ARNs/);
  }, SYNTH_TIMEOUT_MS);

  it('refuses a malformed allow-list at synth, naming the variable', () => {
    expect(() => synthStack({ tools: 'aws', toolsEnvironment: { AWS_ACTIONS_RESOURCES: 'checkout' } })).toThrow(/AWS_ACTIONS_RESOURCES/);
  }, SYNTH_TIMEOUT_MS);
});
