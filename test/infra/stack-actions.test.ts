/**
 * Where mitigations run, chosen at deploy time: SSM Automation runbooks or a signed webhook (the simulated world
 * otherwise). Each choice grants the executor exactly what it needs and leaves cdk-nag with nothing unexplained.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../functions/registry.ts';
import { InvalidSettingError } from '../../lib/incident-autopilot-stack.ts';
import { SYNTH_TIMEOUT_MS, synthStack, type Synth } from './fixture.ts';

const findings = (synth: Synth): string[] =>
  new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(synth.app).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`));

const executorEnv = (synth: Synth): Record<string, unknown> => {
  const fns = synth.template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'execute-mitigation' } } } });
  const [fn] = Object.values(fns) as { Properties: { Environment: { Variables: Record<string, unknown> } } }[];
  return fn.Properties.Environment.Variables;
};

describe('mitigation adapters chosen at deploy time', () => {
  it('SSM Automation: the executor may start the configured runbooks, and cdk-nag finds nothing unexplained', () => {
    // Act
    const synth = synthStack({ ssmAutomationDocuments: { 'rollback-change': 'Autopilot-Rollback', 'scale-service': 'Autopilot-Scale' } });
    // Assess
    expect(JSON.parse(String(executorEnv(synth).SSM_AUTOMATION_DOCUMENTS))).toEqual({ 'rollback-change': 'Autopilot-Rollback', 'scale-service': 'Autopilot-Scale' });
    const ssmStatements = Object.values(synth.template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement)
      .filter((st) => JSON.stringify(st.Action).includes('ssm:'))
      .map((st) => `${JSON.stringify(st.Action)} on ${JSON.stringify(st.Resource)}`);
    expect(ssmStatements.some((st) => st.includes('"ssm:StartAutomationExecution"') && st.includes('automation-definition/Autopilot-Rollback:*'))).toBe(true);
    expect(ssmStatements.some((st) => st.includes('automation-definition/*'))).toBe(false); // only the configured documents
    expect(findings(synth)).toEqual([]);
  }, SYNTH_TIMEOUT_MS);

  it('SSM Automation with a shared document\'s ARN and an AWS-owned runbook: granted in their owners\' accounts, nothing unexplained', () => {
    // Act
    const documents = { 'rollback-change': 'arn:aws:ssm:eu-west-1:444455556666:document/Platform-Rollback', 'restart-service': 'AWS-RestartEC2Instance' };
    const synth = synthStack({ ssmAutomationDocuments: documents });
    // Assess
    expect(JSON.parse(String(executorEnv(synth).SSM_AUTOMATION_DOCUMENTS))).toEqual(documents);
    const start = Object.values(synth.template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement)
      .filter((st) => JSON.stringify(st.Action) === '"ssm:StartAutomationExecution"')
      .map((st) => JSON.stringify(st.Resource));
    expect(start).toHaveLength(1);
    expect(start[0]).toContain('"arn:aws:ssm:eu-west-1:444455556666:automation-definition/Platform-Rollback:*"');
    expect(start[0]).toMatch(/::automation-definition\/AWS-RestartEC2Instance:\*"/);
    expect(findings(synth)).toEqual([]);
  }, SYNTH_TIMEOUT_MS);

  it('signed webhook: a signing key secret is created and only the executor may read it', () => {
    // Act
    const synth = synthStack({ actionsWebhookUrl: 'https://actions.example.com/autopilot' });
    // Assess
    expect(executorEnv(synth)).toMatchObject({ ACTIONS_WEBHOOK_URL: 'https://actions.example.com/autopilot' });
    synth.template.hasResourceProperties('AWS::SecretsManager::Secret', { Description: Match.stringLikeRegexp('action webhook') });
    expect(findings(synth)).toEqual([]);
  }, SYNTH_TIMEOUT_MS);

  it('refuses both adapters at once, and a webhook that is not https', () => {
    expect(() => synthStack({ ssmAutomationDocuments: { 'rollback-change': 'X' }, actionsWebhookUrl: 'https://a.example.com' })).toThrow(InvalidSettingError);
    expect(() => synthStack({ actionsWebhookUrl: 'http://a.example.com' })).toThrow(/https/);
  }, SYNTH_TIMEOUT_MS);
});

describe('the LLM reasoner chosen at deploy time', () => {
  it('gives every workflow agent the endpoint, the model, the budget and read access to the key, and nothing else reads it', () => {
    // Act
    const synth = synthStack({ llmBaseUrl: 'https://llm.example.com/v1', llmModel: 'gpt-test', llmTokenBudget: 50_000 });
    // Assess
    const fns = Object.values(synth.template.findResources('AWS::Lambda::Function')) as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }[];
    const withLlm = fns.filter((f) => f.Properties.Environment?.Variables?.LLM_MODEL === 'gpt-test');
    expect(withLlm).toHaveLength(FUNCTIONS.filter((f) => f.role === 'workflow').length);
    for (const f of withLlm) expect(f.Properties.Environment?.Variables).toMatchObject({ LLM_BASE_URL: 'https://llm.example.com/v1', LLM_TOKEN_BUDGET: '50000', LLM_API_KEY_SECRET_ID: expect.anything() });
    synth.template.hasResourceProperties('AWS::SecretsManager::Secret', { Description: Match.stringLikeRegexp('LLM endpoint') });
    expect(findings(synth)).toEqual([]);
  }, SYNTH_TIMEOUT_MS);

  it('refuses half a configuration', () => {
    expect(() => synthStack({ llmBaseUrl: 'https://llm.example.com/v1' })).toThrow(InvalidSettingError);
  }, SYNTH_TIMEOUT_MS);
});

describe('vendor adapters chosen at deploy time', () => {
  const TOKEN_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:autopilot/dynatrace-token-AbC123';

  it('gives every workflow agent the adapter variables, and read access to exactly the named secret to those calling telemetry', () => {
    // Act
    const synth = synthStack({ toolsEnvironment: { DYNATRACE_URL: 'https://abc12345.live.dynatrace.com', DYNATRACE_TOKEN_SECRET_ID: TOKEN_ARN } });
    // Assess
    const fns = Object.values(synth.template.findResources('AWS::Lambda::Function')) as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }[];
    // The workflow functions, incident-signals (reads the tools for the console's charts) and resolve-incident (records into the history).
    expect(fns.filter((f) => f.Properties.Environment?.Variables?.DYNATRACE_TOKEN_SECRET_ID === TOKEN_ARN)).toHaveLength(FUNCTIONS.filter((f) => f.role === 'workflow').length + 2);
    const grants = Object.values(synth.template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement)
      .filter((st) => JSON.stringify(st.Action).includes("secretsmanager:GetSecretValue") && JSON.stringify(st.Resource).includes(TOKEN_ARN));
    // impact, similar, logs, root cause, execute, verify (functions/core/agents/tool-use.ts), and incident-signals.
    expect(grants.length).toBe(7);
    expect(findings(synth)).toEqual([]);
  }, SYNTH_TIMEOUT_MS);

  it('refuses an unknown variable and a secret that is not a complete ARN', () => {
    expect(() => synthStack({ toolsEnvironment: { AWS_REGION: 'x' } })).toThrow(/not a tool adapter variable/);
    expect(() => synthStack({ toolsEnvironment: { DYNATRACE_TOKEN_SECRET_ID: 'dynatrace-token' } })).toThrow(/complete ARN/);
  }, SYNTH_TIMEOUT_MS);
});
