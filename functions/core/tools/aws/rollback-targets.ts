/**
 * What a typed AWS rollback acts on, and the settings that allow it: the shared, light half of the AWS actions
 * adapter (actions.ts holds the SDK calls). Light on purpose (zod and parseArn, no SDK): the runbook catalog judges
 * its typed preconditions with `rollbackTarget`, and the adapter table parses AWS_ACTIONS_RESOURCES at cold start.
 *
 * A change from CloudTrail / CodeDeploy names the resource it changed (`ChangeRequest.resource`: a CloudFormation
 * type, an ARN, identifiers); the planner carries it into the action's `params.resource`. Four kinds have a typed
 * rollback:
 *
 * | resource type                 | action kind     | identifiers (else read from the ARN)                               | versions           |
 * |-------------------------------|-----------------|--------------------------------------------------------------------|--------------------|
 * | AWS::Lambda::Alias            | rollback-change | functionName, alias                                                | function versions  |
 * | AWS::ECS::Service             | rollback-change | cluster, service                                                   | task definitions   |
 * | AWS::AppConfig::* (environment, deployment, configuration profile) | rollback-change | applicationId, environmentId, configurationProfileId, deploymentStrategyId | configuration versions |
 * | AWS::SSM::Parameter           | revert-config, toggle-feature-flag (a flag kept in a parameter) | name           | parameter values   |
 *
 * The allow-list (AWS_ACTIONS_RESOURCES): comma-separated ARN patterns, `*` any run of characters and `?` one, as IAM
 * reads them. The stack grants the adapter's actions on exactly these patterns, and the adapter refuses any resource
 * whose ARNs (`RollbackTarget.arns`: every ARN IAM is asked about) are not all matched, so a refusal names what to add
 * before IAM would deny it. For AppConfig that is the environment, the configuration profile, the environment's
 * deployments (GetDeployment is authorised on `…/environment/<id>/deployment/<number>`, so the list must cover
 * `…/deployment/*`) and the deployment strategy the rollback uses (`appConfigStrategyArn`: the adapter's setting, else
 * the change's), which the adapter adds.
 */
import * as z from 'zod';
import { ConfigError } from '../../config.ts';
import type { IamNeed } from '../adapters.ts';
import { InvalidArn, type ParsedArn, parseArn } from './resources.ts';

export const LAMBDA_ALIAS = 'AWS::Lambda::Alias';
export const ECS_SERVICE = 'AWS::ECS::Service';
export const SSM_PARAMETER = 'AWS::SSM::Parameter';
const APPCONFIG = /^AWS::AppConfig::(Environment|Deployment|ConfigurationProfile)$/;

/** The resource a change names (ChangeRequest.resource), as it arrives in an action's params. */
export const ChangeResource = z.object({
  type: z.string().min(1),
  arn: z.string().min(1),
  identifiers: z.record(z.string(), z.string()).optional(),
});
export type ChangeResource = z.infer<typeof ChangeResource>;

/** The catalog actions a typed rollback performs. */
export type TypedAction = 'rollback-change' | 'revert-config' | 'toggle-feature-flag';

/** A resource a typed rollback can act on, with what its calls need. */
export type RollbackTarget = (
  | { readonly kind: 'lambda-alias'; readonly functionName: string; readonly alias: string }
  | { readonly kind: 'ecs-service'; readonly cluster: string; readonly service: string }
  | { readonly kind: 'ssm-parameter'; readonly name: string }
  | { readonly kind: 'appconfig'; readonly applicationId: string; readonly environmentId: string; readonly configurationProfileId: string; readonly deploymentStrategyId?: string }
) & {
  /** The catalog actions that undo a change to it. */
  readonly actions: readonly TypedAction[];
  /** How messages name it ("Lambda alias checkout:live"). */
  readonly label: string;
  /** Every ARN the calls are authorised on (each must be in the allow-list). */
  readonly arns: readonly string[];
  readonly parsed: ParsedArn;
};

/** What a target is, or why the resource is not one (a sentence naming the missing field). */
export type TargetResult = { readonly ok: true; readonly target: RollbackTarget } | { readonly ok: false; readonly problem: string };

/** Whether the resource type has a typed rollback at all (other types are left to other adapters). */
export const hasTypedRollback = (type: string): boolean => type === LAMBDA_ALIAS || type === ECS_SERVICE || type === SSM_PARAMETER || APPCONFIG.test(type);

export const TYPED_RESOURCES = `${LAMBDA_ALIAS}, ${ECS_SERVICE}, AWS::AppConfig::Environment (rollback-change), ${SSM_PARAMETER} (revert-config, toggle-feature-flag)`;

const id = (identifiers: Readonly<Record<string, string>> | undefined, key: string): string | undefined => {
  const v = identifiers?.[key]?.trim();
  return v ? v : undefined;
};

const problem = (text: string): TargetResult => ({ ok: false, problem: text });

/** The resource a typed rollback acts on, from the change's resource; `{ok: false}` names what is missing. */
export const rollbackTarget = (resource: ChangeResource): TargetResult => {
  let parsed: ParsedArn;
  try {
    parsed = parseArn(resource.arn);
  } catch (error) {
    if (error instanceof InvalidArn) return problem(`the ${resource.type} resource's ARN is not an ARN (${JSON.stringify(resource.arn.slice(0, 200))})`);
    throw error;
  }
  const ids = resource.identifiers;
  const prefix = `arn:${parsed.partition}:${parsed.service}:${parsed.region}:${parsed.account}`;
  if (resource.type === LAMBDA_ALIAS) {
    if (parsed.service !== 'lambda' || parsed.resourceType !== 'function') return problem(`a Lambda alias's ARN must be arn:…:lambda:…:function:<name>:<alias>, got ${resource.arn}`);
    const [fromArn, qualifier] = parsed.resourceId.split(':');
    const functionName = id(ids, 'functionName') ?? fromArn;
    const alias = id(ids, 'alias') ?? qualifier;
    if (!functionName || !alias) return problem(`the Lambda alias ${resource.arn} names no ${!functionName ? 'function' : 'alias'} (identifiers.${!functionName ? 'functionName' : 'alias'} or the ARN's qualifier)`);
    // IAM authorises alias calls on the function; the alias ARN is checked too, whichever one a policy names.
    const fn = functionName.startsWith('arn:') ? functionName : `${prefix}:function:${functionName}`;
    const shortName = fn.split(':')[6] ?? functionName;
    return { ok: true, target: { kind: 'lambda-alias', functionName, alias, actions: ['rollback-change'], label: `Lambda alias ${shortName}:${alias}`, arns: [fn, `${fn}:${alias}`], parsed } };
  }
  if (resource.type === ECS_SERVICE) {
    if (parsed.service !== 'ecs' || parsed.resourceType !== 'service') return problem(`an ECS service's ARN must be arn:…:ecs:…:service/<cluster>/<service>, got ${resource.arn}`);
    const parts = parsed.resourceId.split('/');
    const cluster = id(ids, 'cluster') ?? (parts.length === 2 ? parts[0] : undefined);
    const service = id(ids, 'service') ?? parts[parts.length - 1];
    if (!cluster || !service) return problem(`the ECS service ${resource.arn} names no ${!cluster ? 'cluster' : 'service'} (identifiers.${!cluster ? 'cluster' : 'service'} or a service/<cluster>/<service> ARN)`);
    const clusterName = cluster.startsWith('arn:') ? cluster.split('/').pop()! : cluster;
    return { ok: true, target: { kind: 'ecs-service', cluster, service, actions: ['rollback-change'], label: `ECS service ${clusterName}/${service}`, arns: [`${prefix}:service/${clusterName}/${service}`], parsed } };
  }
  if (resource.type === SSM_PARAMETER) {
    if (parsed.service !== 'ssm' || parsed.resourceType !== 'parameter') return problem(`an SSM parameter's ARN must be arn:…:ssm:…:parameter/<name>, got ${resource.arn}`);
    // A hierarchical name (/a/b) appears in the ARN without its leading slash: parameter/a/b.
    const name = id(ids, 'name') ?? (parsed.resourceId.includes('/') ? `/${parsed.resourceId}` : parsed.resourceId);
    if (!name) return problem(`the SSM parameter ${resource.arn} names no parameter`);
    return { ok: true, target: { kind: 'ssm-parameter', name, actions: ['revert-config', 'toggle-feature-flag'], label: `SSM parameter ${name}`, arns: [`${prefix}:parameter/${name.replace(/^\//, '')}`], parsed } };
  }
  if (APPCONFIG.test(resource.type)) {
    if (parsed.service !== 'appconfig') return problem(`an AppConfig resource's ARN must be arn:…:appconfig:…, got ${resource.arn}`);
    const path = parsed.resource.split('/');
    const after = (segment: string): string | undefined => {
      const i = path.indexOf(segment);
      return i >= 0 ? path[i + 1] : undefined;
    };
    const applicationId = id(ids, 'applicationId') ?? after('application');
    const environmentId = id(ids, 'environmentId') ?? after('environment');
    const configurationProfileId = id(ids, 'configurationProfileId') ?? after('configurationprofile');
    const missing = Object.entries({ applicationId, environmentId, configurationProfileId }).filter(([, v]) => !v).map(([k]) => `identifiers.${k}`);
    if (missing.length > 0) return problem(`the AppConfig resource ${resource.arn} does not name ${missing.join(', ')}`);
    const deploymentStrategyId = id(ids, 'deploymentStrategyId');
    const app = `${prefix}:application/${applicationId}`;
    // The strategy is not among them: which one a rollback uses is the adapter's choice (appConfigStrategyArn).
    const arns = [`${app}/environment/${environmentId}`, `${app}/configurationprofile/${configurationProfileId}`, `${app}/environment/${environmentId}/deployment/*`];
    return {
      ok: true,
      target: { kind: 'appconfig', applicationId: applicationId!, environmentId: environmentId!, configurationProfileId: configurationProfileId!, ...(deploymentStrategyId ? { deploymentStrategyId } : {}), actions: ['rollback-change'], label: `AppConfig profile ${configurationProfileId} in environment ${environmentId} of application ${applicationId}`, arns, parsed },
    };
  }
  return problem(`no typed rollback for ${resource.type} (the AWS actions adapter rolls back ${TYPED_RESOURCES})`);
};

/** The ARN IAM authorises StartDeployment's deployment strategy on, in the target's partition, region and account. */
export const appConfigStrategyArn = (target: RollbackTarget, strategyId: string): string => {
  const p = target.parsed;
  return `arn:${p.partition}:appconfig:${p.region}:${p.account}:deploymentstrategy/${strategyId}`;
};

// ───────────────────────── the allow-list ─────────────────────────

/** Services whose resources the adapter acts on: a pattern must name one of them (the grant never spans others). */
const SERVICES = ['lambda', 'ecs', 'ssm', 'appconfig'] as const;
const PATTERN = /^arn:(aws[a-z-]*|\*):([a-z0-9*?-]+):([a-z0-9*?-]*):([0-9*?]*):(.+)$/;

/** Parses AWS_ACTIONS_RESOURCES: comma-separated ARN patterns; a ConfigError naming the variable and the bad pattern. */
export const parseResourcePatterns = (raw: string, variable = 'AWS_ACTIONS_RESOURCES'): string[] => {
  const patterns = raw.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (patterns.length === 0) throw new ConfigError(`invalid configuration: ${variable} names no ARN pattern`);
  for (const p of patterns) {
    const m = PATTERN.exec(p);
    if (!m) throw new ConfigError(`invalid configuration: ${variable} must be comma-separated ARN patterns (arn:<partition>:<service>:<region>:<account>:<resource>, * and ? as wildcards), got ${JSON.stringify(p.slice(0, 200))}`);
    if (!(SERVICES as readonly string[]).includes(m[2]!)) throw new ConfigError(`invalid configuration: ${variable} pattern ${JSON.stringify(p.slice(0, 200))} must name one of the services the AWS actions act on (${SERVICES.join(', ')}), got "${m[2]}"`);
  }
  return patterns;
};

const patternRegExp = (pattern: string): RegExp => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);

/** Whether IAM would match `arn` against `pattern` (`*` any run of characters, `?` one; case-sensitive). */
export const arnMatches = (pattern: string, arn: string): boolean => patternRegExp(pattern).test(arn);

/** The ARNs of `arns` no pattern matches. */
export const outsideAllowList = (patterns: readonly string[], arns: readonly string[]): string[] => arns.filter((arn) => !patterns.some((p) => arnMatches(p, arn)));

// ───────────────────────── settings and IAM ─────────────────────────

export const ACTIONS_VARIABLES = ['AWS_ACTIONS_RESOURCES', 'AWS_ACTIONS_ECS_WAIT_SECONDS', 'AWS_ACTIONS_APPCONFIG_STRATEGY_ID', 'AWS_ACTIONS_ECS_PASS_ROLES'] as const;

/** An IAM role ARN in any partition. */
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/**
 * AWS_ACTIONS_ECS_PASS_ROLES: the task, execution or infrastructure roles an ECS rollback's task definitions name.
 * `UpdateService` may be authorised only with `iam:PassRole` on them (to ECS), so the stack grants exactly these.
 */
export const parsePassRoles = (raw: string, variable = 'AWS_ACTIONS_ECS_PASS_ROLES'): string[] => {
  const roles = raw.split(',').map((r) => r.trim()).filter((r) => r !== '');
  if (roles.length === 0) throw new ConfigError(`invalid configuration: ${variable} names no role`);
  for (const r of roles) if (!ROLE_ARN.test(r)) throw new ConfigError(`invalid configuration: ${variable} must be comma-separated IAM role ARNs (arn:aws:iam::<account>:role/<name>), got ${JSON.stringify(r.slice(0, 200))}`);
  return roles;
};
/** The longest ECS wait: the executor Lambda has 60 s for every action of the plan and the journal's writes. */
export const MAX_ECS_WAIT_SECONDS = 45;

export interface ActionSettings {
  /** AWS_ACTIONS_RESOURCES; empty (unset) refuses every action, naming the variable. */
  readonly resources: readonly string[];
  /** AWS_ACTIONS_ECS_WAIT_SECONDS: how long to wait for an ECS service to settle after UpdateService (0: do not wait). */
  readonly ecsWaitSeconds: number;
  /** AWS_ACTIONS_APPCONFIG_STRATEGY_ID: the deployment strategy of an AppConfig rollback instead of the change's own. */
  readonly appConfigStrategyId?: string;
}

/** Parses the adapter's variables (already trimmed, blanks dropped); a ConfigError naming the variable. */
export const parseActionSettings = (raw: Readonly<Record<string, string | undefined>>): ActionSettings => {
  const wait = raw.AWS_ACTIONS_ECS_WAIT_SECONDS;
  const seconds = wait === undefined ? 0 : Number(wait);
  // The SDK waiter polls at 5 s at the least: a wait shorter than 10 s could not look twice.
  if (!Number.isInteger(seconds) || (seconds !== 0 && (seconds < 10 || seconds > MAX_ECS_WAIT_SECONDS))) {
    throw new ConfigError(`invalid configuration: AWS_ACTIONS_ECS_WAIT_SECONDS must be 0 (do not wait) or an integer between 10 and ${MAX_ECS_WAIT_SECONDS}, got "${wait}"`);
  }
  const strategy = raw.AWS_ACTIONS_APPCONFIG_STRATEGY_ID;
  if (strategy !== undefined && !/^([a-z0-9]{4,7}|AppConfig\.[A-Za-z0-9]{9,40})$/.test(strategy)) {
    throw new ConfigError(`invalid configuration: AWS_ACTIONS_APPCONFIG_STRATEGY_ID must be a deployment strategy id (4-7 lower-case letters and digits, or a predefined AppConfig.* one such as AppConfig.AllAtOnce), got "${strategy}"`);
  }
  // Checked here so a malformed list fails at cold start (and at synth); only the stack's grant uses it.
  if (raw.AWS_ACTIONS_ECS_PASS_ROLES !== undefined) parsePassRoles(raw.AWS_ACTIONS_ECS_PASS_ROLES);
  return {
    resources: raw.AWS_ACTIONS_RESOURCES === undefined ? [] : parseResourcePatterns(raw.AWS_ACTIONS_RESOURCES),
    ecsWaitSeconds: seconds,
    ...(strategy ? { appConfigStrategyId: strategy } : {}),
  };
};

/** Every API call the adapter makes: granted on the allow-list's patterns only. */
export const ACTIONS_API = ['lambda:GetAlias', 'lambda:UpdateAlias', 'ecs:DescribeServices', 'ecs:UpdateService', 'ssm:GetParameter', 'ssm:PutParameter', 'appconfig:ListDeployments', 'appconfig:GetDeployment', 'appconfig:StartDeployment'] as const;

export const ACTIONS_IAM: readonly IamNeed[] = [
  { resource: 'arns-of-variable', variable: 'AWS_ACTIONS_RESOURCES', actions: ACTIONS_API },
  // An ECS rollback to an earlier task definition passes its roles again: task and execution roles to ecs-tasks, an
  // infrastructure role to ecs. Only the roles listed, only to ECS.
  { resource: 'roles-of-variable', variable: 'AWS_ACTIONS_ECS_PASS_ROLES', passedToServices: ['ecs-tasks.amazonaws.com', 'ecs.amazonaws.com'], actions: ['iam:PassRole'] },
];
