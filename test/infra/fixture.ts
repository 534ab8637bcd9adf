/**
 * Shared setup of the infrastructure tests: the app as `cdk synth` builds it (cdk.json's feature flags), and small
 * readers over the synthesized template. Bundling is skipped unless asked for: template assertions do not need
 * the 16 bundles, and test/infra/bundles.test.ts builds them once for real.
 */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { IncidentAutopilotStack, type IncidentAutopilotStackProps, STACK_NAME } from '../../lib/incident-autopilot-stack.ts';
import { logicalIdOf } from '../../lib/nag-acknowledgements.ts';

export const RETOOL_URL = 'https://api.retool.com/v1/workflows/0f3c6b1e/startTrigger';

/** The context of cdk.json (feature flags), so the tests see the template `cdk synth` produces. */
export const cdkJsonContext = (): Record<string, unknown> =>
  (JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }).context;

export interface Synth {
  readonly app: App;
  readonly stack: IncidentAutopilotStack;
  readonly template: Template;
  readonly resources: Record<string, CfnResourceJson>;
}

export interface CfnResourceJson {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
  readonly DeletionPolicy?: string;
}

export interface SynthOptions {
  /** Bundle the functions with esbuild, as `cdk synth` does. @default false */
  readonly bundle?: boolean;
  /** Validate the template against the CloudFormation schemas, as `cdk synth` does (~2 s of CPU). @default false */
  readonly validate?: boolean;
  /** Changes to make before synthesis (for tests that must see a finding). */
  readonly beforeSynth?: (stack: IncidentAutopilotStack) => void;
}

export const synthStack = (props: IncidentAutopilotStackProps = {}, options: SynthOptions = {}): Synth => {
  const app = new App({
    context: { ...cdkJsonContext(), ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) },
    builtinCloudFormationValidation: options.validate ?? false,
  });
  const stack = new IncidentAutopilotStack(app, STACK_NAME, { retoolWorkflowUrl: RETOOL_URL, ...props });
  options.beforeSynth?.(stack);
  const template = Template.fromStack(stack);
  const resources = (template.toJSON() as { Resources: Record<string, CfnResourceJson> }).Resources;
  return { app, stack, template, resources };
};

/** The synthesized resource of a construct. */
export const resourceOf = (synth: Synth, construct: IConstruct): CfnResourceJson => {
  const resource = synth.resources[logicalIdOf(construct)];
  if (!resource) throw new Error(`no resource for ${construct.node.path}`);
  return resource;
};

export const ref = (construct: IConstruct) => ({ Ref: logicalIdOf(construct) });
export const arnOf = (construct: IConstruct) => ({ 'Fn::GetAtt': [logicalIdOf(construct), 'Arn'] });

export interface PolicyStatement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

/** Every statement of every inline policy attached to the role. */
export const statementsOfRole = (synth: Synth, role: IConstruct): PolicyStatement[] => {
  const roleId = logicalIdOf(role);
  return Object.values(synth.resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties.Roles as unknown[]).some((x) => JSON.stringify(x) === JSON.stringify({ Ref: roleId })))
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement);
};

const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** The resources an action is allowed on, across the statements. */
export const resourcesAllowed = (statements: readonly PolicyStatement[], action: string): unknown[] =>
  statements.filter((s) => s.Effect === 'Allow' && list(s.Action).includes(action)).flatMap((s) => list(s.Resource));

export const actionsAllowed = (statements: readonly PolicyStatement[]): Set<string> =>
  new Set(statements.filter((s) => s.Effect === 'Allow').flatMap((s) => list(s.Action)));

/**
 * Time allowed for one synthesis in a `beforeAll`: ~1 s alone, ~10 s with the 16 bundles, several times that on
 * two cores shared with the rest of the suite.
 */
export const SYNTH_TIMEOUT_MS = 180_000;
