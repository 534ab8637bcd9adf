/**
 * The grants of the action adapters (`ssm:automation`, `secret:actions-webhook`): only the executor gets them,
 * only when the adapter is configured, and only on the configured documents, role and key.
 */
import { App, CfnParameter, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { CfnPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { functionSpec } from '../../functions/registry.ts';
import { type ActionSettings, ActionSettingsInvalid, IncidentFunctions, SSM_AUTOMATION_WILDCARDS } from '../../lib/incident-functions.ts';
import { explainedWildcards, logicalIdOf } from '../../lib/nag-acknowledgements.ts';
import { cdkJsonContext } from './fixture.ts';

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

const DOCUMENTS = { 'rollback-change': 'Autopilot-Rollback', 'rollback-change:undo': 'Autopilot-RollForward', 'scale-service': 'Autopilot-Scale' };

/** The executor and one agent without the access, in a minimal stack (no bundling). */
const build = (actions?: (stack: Stack) => ActionSettings) => {
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'ActionsTest', { env: { account: '111122223333', region: 'eu-west-1' } });
  const table = new Table(stack, 'Table', { partitionKey: { name: 'pk', type: AttributeType.STRING }, sortKey: { name: 'sk', type: AttributeType.STRING } });
  const functions = new IncidentFunctions(stack, 'Functions', {
    table,
    eventBus: new EventBus(stack, 'Bus'),
    webhookSecret: new Secret(stack, 'WebhookSecret'),
    actions: actions?.(stack),
    specs: [functionSpec('execute-mitigation'), functionSpec('triage')],
  });
  const template = Template.fromStack(stack);
  const resources = (template.toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> }).Resources;
  const envOf = (name: string) => (resources[logicalIdOf(functions.get(name))].Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  const statementsOf = (name: string): Statement[] =>
    Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(logicalIdOf(functions.get(name).role!)))
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
  const actionsOf = (name: string) => new Set(statementsOf(name).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])));
  const on = (name: string, action: string) => statementsOf(name).filter((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]).includes(action));
  return { stack, functions, envOf, actionsOf, on };
};

const ssmSettings = (stack: Stack): ActionSettings => ({
  ssmAutomation: { documents: DOCUMENTS, assumeRole: new Role(stack, 'AutomationRole', { assumedBy: new ServicePrincipal('ssm.amazonaws.com') }), waitSeconds: 30 },
});

describe('IncidentFunctions: action adapters', () => {
  it('grants nothing for actions and sets no adapter variable when no adapter is configured', () => {
    const { envOf, actionsOf } = build();
    expect([...actionsOf('execute-mitigation')].filter((a) => /^(ssm|iam):/.test(a) || /^secretsmanager:/.test(a))).toEqual([]);
    expect(Object.keys(envOf('execute-mitigation')).filter((k) => /^(SSM_AUTOMATION|ACTIONS_WEBHOOK)_/.test(k))).toEqual([]);
  });

  it('lets the executor start exactly the configured SSM documents and tells it which', () => {
    const { envOf, on, stack } = build(ssmSettings);
    const [start] = on('execute-mitigation', 'ssm:StartAutomationExecution');
    const resolved = stack.resolve(start.Resource) as unknown[];
    expect(JSON.stringify(resolved)).toContain(':automation-definition/Autopilot-Rollback:*');
    expect(JSON.stringify(resolved)).toContain(':automation-definition/Autopilot-RollForward:*');
    expect(JSON.stringify(resolved)).toContain(':automation-definition/Autopilot-Scale:*');
    expect(resolved).toHaveLength(3);
    const env = envOf('execute-mitigation');
    expect(JSON.parse(env.SSM_AUTOMATION_DOCUMENTS as string)).toEqual(DOCUMENTS);
    expect(env.SSM_AUTOMATION_WAIT_SECONDS).toBe('30');
    expect(env.SSM_AUTOMATION_ASSUME_ROLE_ARN).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^AutomationRole/), 'Arn'] });
  });

  it('lets the executor read its automation executions and pass the assume role to SSM only', () => {
    const { on } = build(ssmSettings);
    const [read] = on('execute-mitigation', 'ssm:GetAutomationExecution');
    expect(JSON.stringify(read.Resource)).toContain(':automation-execution/*');
    const [pass] = on('execute-mitigation', 'iam:PassRole');
    expect(pass.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^AutomationRole/), 'Arn'] });
    expect(pass.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ssm.amazonaws.com' } });
  });

  it('gives a function without ssm:automation none of it', () => {
    const { envOf, actionsOf } = build(ssmSettings);
    expect([...actionsOf('triage')].filter((a) => /^(ssm|iam):/.test(a))).toEqual([]);
    expect(envOf('triage').SSM_AUTOMATION_DOCUMENTS).toBeUndefined();
  });

  it('explains both SSM wildcards for cdk-nag with the exported allowances, and nothing else', () => {
    const { functions } = build(ssmSettings);
    const policy = functions.get('execute-mitigation').role!.node.findChild('DefaultPolicy').node.defaultChild as CfnPolicy;
    const explained = [...explainedWildcards(policy, SSM_AUTOMATION_WILDCARDS).keys()];
    expect(explained.some((k) => k.includes('automation-definition/Autopilot-Rollback:*'))).toBe(true);
    expect(explained.some((k) => k.includes('automation-execution/*'))).toBe(true);
    expect(explained).toHaveLength(4);
  });

  it('lets the executor read the webhook signing key and tells it the URL and the key id', () => {
    let key: Secret | undefined;
    const { envOf, on, stack } = build((s) => {
      key = new Secret(s, 'ActionKey');
      return { webhook: { url: 'https://deploy.example.com/autopilot', signingKey: key } };
    });
    const env = envOf('execute-mitigation');
    expect(env.ACTIONS_WEBHOOK_URL).toBe('https://deploy.example.com/autopilot');
    expect(env.ACTIONS_WEBHOOK_SECRET_ID).toEqual({ Ref: logicalIdOf(key!) });
    expect(on('execute-mitigation', 'secretsmanager:GetSecretValue').map((s) => s.Resource)).toEqual([{ Ref: logicalIdOf(key!) }]);
    expect(on('triage', 'secretsmanager:GetSecretValue')).toEqual([]);
    expect(stack.resolve(envOf('triage').ACTIONS_WEBHOOK_URL)).toBeUndefined();
  });

  it('refuses two adapters at once, and a document that is neither a name nor a shared document\'s ARN', () => {
    expect(() => build((s) => ({ ...ssmSettings(s), webhook: { url: 'https://x.example', signingKey: new Secret(s, 'K') } }))).toThrow(ActionSettingsInvalid);
    expect(() => build(() => ({ ssmAutomation: { documents: { 'scale-service': 'arn:aws:ssm:eu-west-1:1:document/X' } } }))).toThrow(/is not a document name/);
    expect(() => build(() => ({ ssmAutomation: { documents: { 'scale-service': 'arn:aws:ssm:eu-west-1:444455556666:automation-definition/Scale' } } }))).toThrow(/is not a document name or a shared document's ARN/);
  });

  it('refuses at synth what the executor would refuse at every cold start: a key that is no action kind, a clear-text webhook URL', () => {
    expect(() => build(() => ({ ssmAutomation: { documents: { rollback: 'Autopilot-Rollback' } } }))).toThrow(ActionSettingsInvalid);
    expect(() => build(() => ({ ssmAutomation: { documents: { rollback: 'Autopilot-Rollback' } } }))).toThrow(/actions\.ssmAutomation\.documents: SSM_AUTOMATION_DOCUMENTS key "rollback" is not an action kind/);
    expect(() => build((s) => ({ webhook: { url: 'http://deploy.example.com/autopilot', signingKey: new Secret(s, 'K') } }))).toThrow(ActionSettingsInvalid);
    expect(() => build((s) => ({ webhook: { url: 'http://deploy.example.com/autopilot', signingKey: new Secret(s, 'K') } }))).toThrow(/actions\.webhook\.url: ACTIONS_WEBHOOK_URL/);
    // A URL known only at deploy time cannot be checked here, and is not refused.
    expect(() => build((s) => ({ webhook: { url: new CfnParameter(s, 'ActionsUrl').valueAsString, signingKey: new Secret(s, 'K') } }))).not.toThrow();
  });

  it('grants a shared document in its owner\'s account and an AWS-owned one without an account, exactly those', () => {
    const SHARED = 'arn:aws:ssm:eu-west-1:444455556666:document/Platform-Rollback';
    const documents = { 'rollback-change': SHARED, 'restart-service': 'AWS-RestartEC2Instance', 'scale-service': 'Autopilot-Scale' };
    const { envOf, on, stack, functions } = build(() => ({ ssmAutomation: { documents } }));
    const [start] = on('execute-mitigation', 'ssm:StartAutomationExecution');
    const resources = (stack.resolve(start.Resource) as unknown[]).map((r) => JSON.stringify(r));
    expect(resources).toHaveLength(3);
    expect(resources).toContain(JSON.stringify('arn:aws:ssm:eu-west-1:444455556666:automation-definition/Platform-Rollback:*'));
    // formatArn keeps the partition a token; the account is empty, as in AWS-owned documents' ARNs.
    expect(resources.find((r) => r.includes('AWS-RestartEC2Instance'))).toMatch(/:ssm:eu-west-1::automation-definition\/AWS-RestartEC2Instance:\*"/);
    expect(resources.find((r) => r.includes('Autopilot-Scale'))).toMatch(/:ssm:eu-west-1:111122223333:automation-definition\/Autopilot-Scale:\*"/);
    // The runtime gets the ARN as configured: SSM wants a shared document named by its ARN.
    expect(JSON.parse(envOf('execute-mitigation').SSM_AUTOMATION_DOCUMENTS as string)).toEqual(documents);
    // The same allowances explain every StartAutomationExecution resource to cdk-nag.
    const policy = functions.get('execute-mitigation').role!.node.findChild('DefaultPolicy').node.defaultChild as CfnPolicy;
    const explained = [...explainedWildcards(policy, SSM_AUTOMATION_WILDCARDS).keys()];
    expect(explained.filter((k) => k.includes('automation-definition/'))).toHaveLength(3);
  });
});
