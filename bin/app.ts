#!/usr/bin/env node
/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy`. Settings come from context, in cdk.json or on the command line:
 *   npx cdk deploy -c approvalTimeoutSeconds=1800 -c retoolWorkflowUrl=https://api.retool.com/v1/workflows/<id>/startTrigger
 *   npx cdk deploy -c tools=simulated      # a demo deployment: the simulated world behind every unconfigured tool port
 *   npx cdk deploy -c console=false        # no operator console (no CloudFront site, no Cognito user pool, no console routes)
 * The stack is environment-agnostic (no lookups), so synth needs neither credentials nor network.
 * cdk-nag's AWS Solutions pack validates every synth; an unacknowledged finding fails it.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IncidentAutopilotStack, type IncidentAutopilotStackProps, InvalidSettingError, STACK_NAME } from '../lib/incident-autopilot-stack.ts';

const app = new App();

/** A context value, or undefined when unset or empty. */
const rawContext = (key: string): unknown => {
  const raw: unknown = app.node.tryGetContext(key);
  return raw === undefined || raw === null || raw === '' ? undefined : raw;
};

/** A JSON context value: parsed when it arrives as a string (`-c key='…'`), as is from cdk.json. */
const jsonContext = (key: string, raw: unknown, what: string): unknown => {
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw);
  } catch {
    throw new InvalidSettingError(`context ${key} must be a JSON ${what}, got ${JSON.stringify(raw)}`);
  }
};

/** A numeric context value (`-c key=123` arrives as a string, cdk.json may hold a number). */
const intContext = (key: string): number | undefined => {
  const raw = rawContext(key);
  if (raw === undefined) return undefined;
  const value = typeof raw === 'number' ? raw : Number(String(raw).trim());
  if (!Number.isInteger(value)) throw new InvalidSettingError(`context ${key} must be an integer, got ${JSON.stringify(raw)}`);
  return value;
};
const stringContext = (key: string): string | undefined => {
  const raw = rawContext(key);
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new InvalidSettingError(`context ${key} must be a string, got ${JSON.stringify(raw)}`);
  return raw;
};

/** A boolean (`-c console=false` arrives as a string). */
const boolContext = (key: string): boolean | undefined => {
  const raw = rawContext(key);
  if (raw === undefined) return undefined;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new InvalidSettingError(`context ${key} must be true or false, got ${JSON.stringify(raw)}`);
};

/** A JSON object of strings (`-c ssmAutomationDocuments='{"rollback-change":"Autopilot-Rollback"}'`). */
const mapContext = (key: string): Record<string, string> | undefined => {
  const raw = rawContext(key);
  if (raw === undefined) return undefined;
  const value = jsonContext(key, raw, 'object');
  if (!value || typeof value !== 'object' || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new InvalidSettingError(`context ${key} must map names to strings, got ${JSON.stringify(raw)}`);
  }
  return value as Record<string, string>;
};

/** A JSON list (`-c detectorTargets='[{"environment":"prod"}]'`); its items are checked by the stack. */
const listContext = (key: string): unknown[] | undefined => {
  const raw = rawContext(key);
  if (raw === undefined) return undefined;
  const value = jsonContext(key, raw, 'list');
  if (!Array.isArray(value)) throw new InvalidSettingError(`context ${key} must be a JSON list, got ${JSON.stringify(raw)}`);
  return value;
};

new IncidentAutopilotStack(app, STACK_NAME, {
  approvalTimeoutSeconds: intContext('approvalTimeoutSeconds'),
  retoolWorkflowUrl: stringContext('retoolWorkflowUrl'),
  ssmAutomationDocuments: mapContext('ssmAutomationDocuments'),
  ssmAutomationRoleArn: stringContext('ssmAutomationRoleArn'),
  actionsWebhookUrl: stringContext('actionsWebhookUrl'),
  toolsEnvironment: mapContext('toolsEnvironment'),
  // `-c tools=simulated` for a demo deployment: the simulated world serves the ports no adapter configures (checked by the stack).
  tools: stringContext('tools') as IncidentAutopilotStackProps['tools'],
  llmBaseUrl: stringContext('llmBaseUrl'),
  llmModel: stringContext('llmModel'),
  llmTokenBudget: intContext('llmTokenBudget'),
  verifyWaitSeconds: intContext('verifyWaitSeconds'),
  maxVerifyChecks: intContext('maxVerifyChecks'),
  openingSweepRateMinutes: intContext('openingSweepRateMinutes'),
  // The operator's console (CloudFront + Cognito): `-c console=false` leaves it out; `-c consoleDomainPrefix=…` names its sign-in domain.
  console: boolContext('console'),
  consoleDomainPrefix: stringContext('consoleDomainPrefix'),
  // Self-detection: what the anomaly detector watches (its schedule exists only with targets), and how often.
  detectorTargets: listContext('detectorTargets') as IncidentAutopilotStackProps['detectorTargets'],
  detectorRateMinutes: intContext('detectorRateMinutes'),
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
