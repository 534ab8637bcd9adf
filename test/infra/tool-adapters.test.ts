/**
 * The tool adapters a deployment uses, through the adapter table (functions/core/tools/adapters.ts): the stack checks
 * `toolsEnvironment` against the rows, grants what each row in use declares, chooses the simulated world only when
 * the deployment asks (`tools: 'simulated'`), and leaves the rows it does not use out of the bundles.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ADAPTERS } from '../../functions/core/tools/adapters.ts';
import { FUNCTIONS } from '../../functions/registry.ts';
import { InvalidSettingError } from '../../lib/incident-autopilot-stack.ts';
import { SYNTH_TIMEOUT_MS, synthStack, type Synth } from './fixture.ts';

const WORKFLOW = FUNCTIONS.filter((f) => f.role === 'workflow').map((f) => f.name);
const secretArn = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:autopilot/${name}-AbC123`;

const findings = (synth: Synth): string[] =>
  new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(synth.app).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`));

type Fn = { Properties: { Environment?: { Variables?: Record<string, unknown> } } };
const functionsWith = (synth: Synth, variable: string, value: unknown): string[] =>
  (Object.values(synth.template.findResources('AWS::Lambda::Function')) as Fn[]).filter((f) => f.Properties.Environment?.Variables?.[variable] === value).map((f) => String(f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME));

/** The simulated world's statement (adapters.ts row `simulated`): its items of the incident table only. */
const WORLD_STATEMENT = Match.objectLike({
  Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['WORLD#*'] } },
});
const policyWith = (statement: object) => ({ PolicyDocument: { Statement: Match.arrayWith([statement]) } });
const secretReadOn = (arn: string) => Match.objectLike({ Action: Match.arrayWith(['secretsmanager:GetSecretValue']), Resource: Match.arrayWith([arn]) });

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

  it("with tools: 'simulated' gives every workflow function TOOLS_DEFAULT=simulated and the world's items of the table, cdk-nag clean", () => {
    // Act
    const synth = synthStack({ tools: 'simulated' });
    // Assess
    expect(functionsWith(synth, 'TOOLS_DEFAULT', 'simulated').sort()).toEqual([...WORKFLOW].sort());
    synth.template.hasResourceProperties('AWS::IAM::Policy', policyWith(WORLD_STATEMENT));
    expect(Object.keys(synth.template.findResources('AWS::IAM::Policy', { Properties: policyWith(WORLD_STATEMENT) }))).toHaveLength(WORKFLOW.length);
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
    for (const name of ['dynatrace', 'servicenow', 'splunk', 'pagerduty']) {
      synth.template.hasResourceProperties('AWS::IAM::Policy', policyWith(secretReadOn(secretArn(name))));
      expect(Object.keys(synth.template.findResources('AWS::IAM::Policy', { Properties: policyWith(secretReadOn(secretArn(name))) }))).toHaveLength(WORKFLOW.length);
    }
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

describe("stack: tools: 'aws' — the account's own telemetry behind every port", () => {
  const ROLLBACK_PATTERN = 'arn:aws:lambda:us-east-1:123456789012:function:checkout*';
  type Policy = { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } };
  const actionsOf = (p: Policy): string[] => p.Properties.PolicyDocument.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
  const policiesGranting = (synth: Synth, action: string): Policy[] => (Object.values(synth.template.findResources('AWS::IAM::Policy')) as Policy[]).filter((p) => actionsOf(p).includes(action));

  it('gives every workflow function TOOLS_DEFAULT=aws, grants each aws row\'s reads to all of them and the rollbacks to the executor only, cdk-nag clean', () => {
    // Act
    const synth = synthStack({ tools: 'aws', toolsEnvironment: { AWS_ACTIONS_RESOURCES: ROLLBACK_PATTERN, AWS_ONCALL_ROSTER_PARAMETER: '/autopilot/oncall-roster' } });
    // Assess
    expect(functionsWith(synth, 'TOOLS_DEFAULT', 'aws').sort()).toEqual([...WORKFLOW].sort());
    expect(synth.stack.tools.inUse.map((r) => r.name).sort()).toEqual(['aws-actions', 'aws-changes', 'aws-logs', 'aws-oncall', 'aws-telemetry']);
    expect(synth.stack.tools.omitted).toEqual(expect.arrayContaining(['simulated', 'recorded', 'dynatrace']));
    for (const read of ['xray:GetServiceGraph', 'cloudwatch:GetMetricData', 'logs:StartQuery', 'cloudtrail:LookupEvents', 'tag:GetResources']) {
      expect(policiesGranting(synth, read), read).toHaveLength(WORKFLOW.length);
    }
    const rollbacks = policiesGranting(synth, 'lambda:UpdateAlias');
    expect(rollbacks).toHaveLength(1);
    const statement = rollbacks[0]!.Properties.PolicyDocument.Statement.find((s) => actionsOf({ Properties: { PolicyDocument: { Statement: [s] } } } as Policy).includes('lambda:UpdateAlias'));
    expect(statement?.Resource).toEqual(ROLLBACK_PATTERN);
    synth.template.hasResourceProperties('AWS::IAM::Policy', policyWith(Match.objectLike({ Action: 'ssm:GetParameter', Resource: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([':parameter/autopilot/oncall-roster']) ]) }) })));
    expect(findings(synth)).toEqual([]);
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
