/**
 * The CloudTrail write events that change how a service behaves, and what each one changed: a lookup table from
 * event source and name to a mapper that reads the event's `requestParameters` / `responseElements` into a draft
 * change (type, title, the resource acted on, old → new where the event carries it). Pure: no SDK, no I/O. What an
 * event does not carry (an alias's previous version, a parameter's previous value, an AppConfig environment's
 * previous configuration version) is named in `need`, and changes.ts looks it up. A Lambda publish that an alias move
 * to its version follows is folded into that move (`foldPublishes`).
 *
 * Lambda's event names carry the API version (`UpdateFunctionCode20150331v2`, `UpdateAlias20150331`): a table name
 * matches itself or itself followed by a date suffix (8 digits, optional `v<n>`), so `UpdateService` never matches
 * `UpdateServicePrimaryTaskSet`. Parameter names are read case-insensitively (services log camelCase or PascalCase).
 *
 * Never in a title or description: secret values. SecureString parameters, Lambda environment variables, CloudFormation
 * parameter values, API Gateway patch values and anything named like a password are named, not shown.
 */
import type { ChangeRequest } from '../ports.ts';

export type Json = Readonly<Record<string, unknown>>;

/** A CloudTrail event, parsed and reduced to what the mappers read. */
export interface TrailEvent {
  readonly id: string;
  readonly name: string;
  readonly source: string;
  /** ISO 8601. */
  readonly time: string;
  readonly region: string;
  readonly account: string;
  readonly partition: string;
  /** The caller (`userIdentity.arn`, else its principal id). */
  readonly author?: string;
  /** The AWS service that made the call on someone's behalf (`userIdentity.invokedBy`, or the source IP when it is a service). */
  readonly invokedBy?: string;
  readonly request: Json;
  readonly response: Json;
  /** ARNs among the event's Resources (LookupEvents' `Resources[].ResourceName`). */
  readonly resourceArns: readonly string[];
}

/** What a draft still needs looked up before it is complete. */
export type Need =
  | { readonly kind: 'alias-previous'; readonly functionName: string; readonly alias: string; readonly eventName: string }
  | { readonly kind: 'ecs-previous'; readonly serviceArn: string }
  | { readonly kind: 'ssm-history'; readonly name: string; readonly version: number; readonly secure: boolean }
  | { readonly kind: 'appconfig-previous'; readonly applicationId: string; readonly environmentId: string; readonly configurationProfileId: string; readonly deploymentNumber?: number };

/** A change as an event describes it, before service mapping and look-ups. */
export interface Draft {
  readonly event: TrailEvent;
  type: ChangeRequest['type'];
  title: string;
  readonly details: string[];
  resource?: { readonly type: string; readonly arn: string; identifiers?: Record<string, string> };
  version?: { readonly from: string; readonly to: string };
  /** The new version where the old one is still to be found (alias, ECS task definition, AppConfig). */
  toVersion?: string;
  configChange?: { readonly param: string; readonly old: string; readonly new: string };
  rollbackPlan?: string;
  state?: ChangeRequest['state'];
  /** ARNs to ask the directory for the service, most specific first. */
  readonly arns: string[];
  /** The service when the directory maps none of `arns`: the resource's own name (see changes.ts). */
  readonly fallbackService: string;
  readonly need?: Need;
  /** ECS: the task definition (ARN) this change put in place, and its images when the registration is in the window. */
  taskDefinition?: string;
  /** Lambda: the code this event uploaded or published, and the version it published (see `foldPublishes`). */
  readonly lambdaCode?: LambdaCode;
  /** Lambda: the function and version an alias was moved to. */
  readonly aliasTarget?: { readonly functionArn: string; readonly version: string };
}

/** What an UpdateFunctionCode or PublishVersion event did to a function's code. */
export interface LambdaCode {
  readonly functionArn: string;
  readonly functionName: string;
  /** The version published (UpdateFunctionCode with `publish`, PublishVersion); absent when only $LATEST changed. */
  readonly version?: string;
  readonly codeSha256?: string;
  /** Where the code came from (`s3://…`, an image URI), when the event says. */
  readonly codeSource?: string;
}

type Mapper = (e: TrailEvent) => Omit<Draft, 'event' | 'details'> & { readonly details?: string[] } | undefined;

// ───────────────────────── reading parameters ─────────────────────────

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A member by name, case-insensitively (`applicationId` or `ApplicationId`). */
export const member = (o: unknown, name: string): unknown => {
  if (!isObj(o)) return undefined;
  if (name in o) return o[name];
  const lower = name.toLowerCase();
  const key = Object.keys(o).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : o[key];
};
/** A string member (numbers and booleans as text); undefined when absent or empty. */
export const text = (o: unknown, ...names: string[]): string | undefined => {
  for (const n of names) {
    const v = member(o, n);
    if (typeof v === 'string' && v !== '') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  }
  return undefined;
};
const obj = (o: unknown, name: string): Json | undefined => {
  const v = member(o, name);
  return isObj(v) ? v : undefined;
};
const list = (o: unknown, name: string): unknown[] => {
  const v = member(o, name);
  return Array.isArray(v) ? v : [];
};

/** Names of keys and parameters whose values are never shown (a secret kept as a plain String parameter included). */
export const SENSITIVE_KEY = /password|passwd|secret|token|credential|private[-_]?key|api[-_]?key/i;
const short = (s: string, max = 80): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
/** `key=value` for the request's scalar members (sensitive ones named only), skipping `skip`. */
const settings = (request: Json, skip: readonly string[]): string[] => {
  const skipped = new Set(skip.map((s) => s.toLowerCase()));
  return Object.entries(request)
    .filter(([k]) => !skipped.has(k.toLowerCase()))
    .map(([k, v]) => {
      if (SENSITIVE_KEY.test(k)) return `${k} (value withheld)`;
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return `${k}=${short(String(v), 60)}`;
      return k;
    });
};

// ───────────────────────── ARNs ─────────────────────────

/** The partition of a region by its prefix (every partition AWS names; the standard one otherwise). */
const PARTITION_OF_REGION: readonly (readonly [string, string])[] = [
  ['cn-', 'aws-cn'],
  ['us-gov-', 'aws-us-gov'],
  ['us-iso-', 'aws-iso'],
  ['us-isob-', 'aws-iso-b'],
  ['eu-isoe-', 'aws-iso-e'],
  ['us-isof-', 'aws-iso-f'],
  ['eusc-', 'aws-eusc'],
];
export const partitionOf = (region: string): string => PARTITION_OF_REGION.find(([prefix]) => region.startsWith(prefix))?.[1] ?? 'aws';
const arn = (e: TrailEvent, service: string, resource: string, account = e.account): string => `arn:${e.partition}:${service}:${e.region}:${account}:${resource}`;

/** A Lambda function from a name, a `name:qualifier`, a partial ARN or an ARN: its name and unqualified ARN. */
export const lambdaFunction = (e: TrailEvent, value: string | undefined): { name: string; arn: string } | undefined => {
  if (!value) return undefined;
  const m = /^(?:arn:([^:]+):lambda:([^:]+):(\d{12}):)?(?:(\d{12}):)?(?:function:)?([A-Za-z0-9_-]+)(?::[^:]+)?$/.exec(value);
  if (!m) return undefined;
  const [, partition, region, account, partialAccount, name] = m;
  return { name: name!, arn: `arn:${partition ?? e.partition}:lambda:${region ?? e.region}:${account ?? partialAccount ?? e.account}:function:${name}` };
};
const lastSegment = (s: string): string => s.split(/[/:]/).filter(Boolean).at(-1) ?? s;
/** An ECS task definition's `family:revision`, from an ARN or a bare `family:revision`. */
export const taskDefinitionName = (td: string): string => td.replace(/^arn:[^:]+:ecs:[^:]*:\d*:task-definition\//, '');

// ───────────────────────── the table ─────────────────────────

const lambda = (e: TrailEvent) => {
  const fn = lambdaFunction(e, text(e.response, 'functionArn')) ?? lambdaFunction(e, text(e.request, 'functionName'));
  return fn;
};
const functionResource = (fn: { name: string; arn: string }, identifiers: Record<string, string> = {}) => ({ type: 'AWS::Lambda::Function', arn: fn.arn, identifiers: { functionName: fn.name, ...identifiers } });

const LAMBDA: Record<string, Mapper> = {
  UpdateFunctionCode: (e) => {
    const fn = lambda(e);
    if (!fn) return undefined;
    const sha = text(e.response, 'codeSha256');
    const published = text(e.request, 'publish') === 'true' ? text(e.response, 'version') : undefined;
    const source = text(e.request, 'imageUri') ?? (text(e.request, 's3Bucket') ? `s3://${text(e.request, 's3Bucket')}/${text(e.request, 's3Key') ?? ''}` : undefined);
    return {
      type: 'deploy',
      title: `Lambda ${fn.name}: new code${sha ? ` (sha256 ${sha.slice(0, 12)})` : ''}${published ? `, published as version ${published}` : ''}`,
      details: [...(source ? [`Code from ${source}.`] : []), 'The previous code is not in the CloudTrail event.'],
      resource: functionResource(fn, published ? { version: published } : {}),
      arns: [fn.arn],
      fallbackService: fn.name,
      lambdaCode: { functionArn: fn.arn, functionName: fn.name, ...(published ? { version: published } : {}), ...(sha ? { codeSha256: sha } : {}), ...(source ? { codeSource: source } : {}) },
    };
  },
  UpdateFunctionConfiguration: (e) => {
    const fn = lambda(e);
    if (!fn) return undefined;
    const changed = Object.keys(e.request)
      .filter((k) => !/^(functionName|revisionId)$/i.test(k))
      .map((k) => {
        const v = e.request[k];
        if (/^environment$/i.test(k)) return `environment variables (${Object.keys(obj(v, 'variables') ?? {}).join(', ') || 'values withheld'})`;
        if (/^layers$/i.test(k) && Array.isArray(v)) return `layers=${v.map((l) => lastSegment(String(l))).join(',')}`;
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return `${k}=${short(String(v), 60)}`;
        return k;
      });
    return {
      type: 'config',
      title: `Lambda ${fn.name}: configuration changed (${changed.join(', ') || 'no parameters recorded'})`,
      details: ['Previous values are not in the CloudTrail event.'],
      resource: functionResource(fn),
      arns: [fn.arn],
      fallbackService: fn.name,
    };
  },
  UpdateAlias: (e) => {
    const fn = lambdaFunction(e, text(e.request, 'functionName'));
    const alias = text(e.request, 'name') ?? text(e.response, 'name');
    if (!fn || !alias) return undefined;
    const to = text(e.request, 'functionVersion') ?? text(e.response, 'functionVersion');
    const weights = obj(obj(e.request, 'routingConfig'), 'additionalVersionWeights') ?? obj(obj(e.response, 'routingConfig'), 'additionalVersionWeights');
    const routing = weights && Object.keys(weights).length > 0 ? Object.entries(weights).map(([v, w]) => `${Math.round(Number(w) * 100)}% to version ${v}`).join(', ') : undefined;
    const aliasArn = text(e.response, 'aliasArn') ?? `${fn.arn}:${alias}`;
    return {
      type: 'deploy',
      title: `Lambda ${fn.name} alias ${alias} → version ${to ?? '(unchanged)'}${routing ? ` (${routing})` : ''}`,
      details: routing ? [`Weighted routing: ${routing}.`] : [],
      resource: { type: 'AWS::Lambda::Alias', arn: aliasArn, identifiers: { functionName: fn.name, alias } },
      ...(to ? { toVersion: to, aliasTarget: { functionArn: fn.arn, version: to } } : {}),
      arns: [aliasArn, fn.arn],
      fallbackService: fn.name,
      ...(to ? { need: { kind: 'alias-previous' as const, functionName: fn.name, alias, eventName: e.name } } : {}),
    };
  },
  PublishVersion: (e) => {
    const fn = lambda(e);
    const version = text(e.response, 'version');
    if (!fn || !version) return undefined;
    const sha = text(e.response, 'codeSha256');
    return {
      type: 'deploy',
      title: `Lambda ${fn.name}: version ${version} published${sha ? ` (sha256 ${sha.slice(0, 12)})` : ''}`,
      details: ['A published version changes nothing until an alias or a trigger points at it.'],
      resource: { type: 'AWS::Lambda::Version', arn: `${fn.arn}:${version}`, identifiers: { functionName: fn.name, version } },
      arns: [fn.arn],
      fallbackService: fn.name,
      lambdaCode: { functionArn: fn.arn, functionName: fn.name, version, ...(sha ? { codeSha256: sha } : {}) },
    };
  },
  PutFunctionConcurrency: (e) => {
    const fn = lambdaFunction(e, text(e.request, 'functionName'));
    if (!fn) return undefined;
    const n = text(e.request, 'reservedConcurrentExecutions') ?? text(e.response, 'reservedConcurrentExecutions');
    return { type: 'infrastructure', title: `Lambda ${fn.name}: reserved concurrency → ${n ?? '?'}`, resource: functionResource(fn), arns: [fn.arn], fallbackService: fn.name };
  },
  DeleteFunctionConcurrency: (e) => {
    const fn = lambdaFunction(e, text(e.request, 'functionName'));
    if (!fn) return undefined;
    return { type: 'infrastructure', title: `Lambda ${fn.name}: reserved concurrency removed`, resource: functionResource(fn), arns: [fn.arn], fallbackService: fn.name };
  },
  UpdateEventSourceMapping: (e) => {
    const fn = lambdaFunction(e, text(e.response, 'functionArn')) ?? lambdaFunction(e, text(e.request, 'functionName'));
    const uuid = text(e.request, 'uUID', 'uuid') ?? text(e.response, 'uUID', 'uuid');
    if (!fn || !uuid) return undefined;
    const source = text(e.response, 'eventSourceArn');
    const what = settings(e.request, ['uUID', 'uuid', 'functionName']);
    return {
      type: 'config',
      title: `Lambda ${fn.name}: event source mapping${source ? ` from ${lastSegment(source)}` : ''} changed (${what.join(', ') || 'no parameters recorded'})`,
      resource: { type: 'AWS::Lambda::EventSourceMapping', arn: arn(e, 'lambda', `event-source-mapping:${uuid}`), identifiers: { uuid, functionName: fn.name } },
      arns: [fn.arn, ...(source ? [source] : [])],
      fallbackService: fn.name,
    };
  },
};

/** An ECS service's identity from an UpdateService/CreateService event. */
const ecsService = (e: TrailEvent) => {
  const svc = obj(e.response, 'service');
  const clusterArn = text(svc, 'clusterArn');
  const requestedCluster = text(e.request, 'cluster') ?? 'default';
  const cluster = clusterArn ? lastSegment(clusterArn) : lastSegment(requestedCluster);
  const name = text(svc, 'serviceName') ?? (text(e.request, 'service', 'serviceName') ? lastSegment(text(e.request, 'service', 'serviceName')!) : undefined);
  if (!name) return undefined;
  const serviceArn = text(svc, 'serviceArn') ?? arn(e, 'ecs', `service/${cluster}/${name}`);
  return { svc, cluster, clusterId: clusterArn ?? requestedCluster, name, serviceArn };
};

const ECS: Record<string, Mapper> = {
  UpdateService: (e) => {
    const s = ecsService(e);
    if (!s) return undefined;
    const requestedTd = text(e.request, 'taskDefinition');
    const newTd = text(s.svc, 'taskDefinition') ?? requestedTd;
    // Right after UpdateService the service lists the new deployment (PRIMARY) and the one it replaces (ACTIVE).
    const previous = list(s.svc, 'deployments')
      .filter(isObj)
      .find((d) => text(d, 'status') === 'ACTIVE' && text(d, 'taskDefinition') && text(d, 'taskDefinition') !== newTd);
    const oldTd = previous ? text(previous, 'taskDefinition') : undefined;
    const forced = text(e.request, 'forceNewDeployment') === 'true';
    const desired = text(e.request, 'desiredCount');
    const other = settings(e.request, ['cluster', 'service', 'taskDefinition', 'forceNewDeployment', 'desiredCount']);
    const label = `ECS ${s.cluster}/${s.name}`;
    const identifiers = { cluster: s.clusterId, service: s.name };
    const resource = { type: 'AWS::ECS::Service', arn: s.serviceArn, identifiers };
    const base = { resource, arns: [s.serviceArn], fallbackService: s.name };
    if (requestedTd && newTd) {
      return {
        ...base,
        type: 'deploy',
        title: `${label}: task definition ${oldTd ? `${taskDefinitionName(oldTd)} → ` : '→ '}${taskDefinitionName(newTd)}`,
        details: other.length > 0 ? [`Also: ${other.join(', ')}.`] : [],
        toVersion: newTd,
        taskDefinition: newTd,
        ...(oldTd ? { version: { from: oldTd, to: newTd }, rollbackPlan: `Update service ${s.name} in ${s.cluster} back to task definition ${taskDefinitionName(oldTd)}` } : { need: { kind: 'ecs-previous' as const, serviceArn: s.serviceArn } }),
      };
    }
    if (forced) return { ...base, type: 'deploy', title: `${label}: new deployment forced (task definition ${newTd ? taskDefinitionName(newTd) : 'unchanged'})`, details: other.length > 0 ? [`Also: ${other.join(', ')}.`] : [] };
    if (desired !== undefined && other.length === 0) return { ...base, type: 'infrastructure', title: `${label}: desired count → ${desired}` };
    return { ...base, type: /capacity|placement|count/i.test(other.join(' ')) ? 'infrastructure' : 'config', title: `${label}: service updated (${[...(desired !== undefined ? [`desiredCount=${desired}`] : []), ...other].join(', ') || 'no parameters recorded'})` };
  },
  CreateService: (e) => {
    const s = ecsService(e);
    if (!s) return undefined;
    const td = text(s.svc, 'taskDefinition') ?? text(e.request, 'taskDefinition');
    return {
      type: 'deploy',
      title: `ECS ${s.cluster}/${s.name}: service created${td ? ` with task definition ${taskDefinitionName(td)}` : ''}`,
      resource: { type: 'AWS::ECS::Service', arn: s.serviceArn, identifiers: { cluster: s.clusterId, service: s.name } },
      ...(td ? { toVersion: td, taskDefinition: td } : {}),
      arns: [s.serviceArn],
      fallbackService: s.name,
    };
  },
};

const SSM: Record<string, Mapper> = {
  PutParameter: (e) => {
    const name = text(e.request, 'name');
    const version = Number(text(e.response, 'version'));
    if (!name) return undefined;
    const parameterArn = arn(e, 'ssm', `parameter/${name.replace(/^\//, '')}`);
    const secure = text(e.request, 'type') === 'SecureString';
    return {
      type: /feature|flag|toggle/i.test(name) ? 'feature-flag' : 'config',
      title: `SSM parameter ${name} changed${Number.isInteger(version) ? ` (version ${version})` : ''}`,
      resource: { type: 'AWS::SSM::Parameter', arn: parameterArn, identifiers: { name, ...(Number.isInteger(version) ? { toVersion: String(version) } : {}) } },
      arns: [parameterArn],
      fallbackService: name,
      ...(Number.isInteger(version) ? { need: { kind: 'ssm-history' as const, name, version, secure } } : {}),
    };
  },
};

const APPCONFIG: Record<string, Mapper> = {
  StartDeployment: (e) => {
    const applicationId = text(e.request, 'applicationId') ?? text(e.response, 'applicationId');
    const environmentId = text(e.request, 'environmentId') ?? text(e.response, 'environmentId');
    const configurationProfileId = text(e.request, 'configurationProfileId') ?? text(e.response, 'configurationProfileId');
    const deploymentStrategyId = text(e.request, 'deploymentStrategyId') ?? text(e.response, 'deploymentStrategyId');
    const to = text(e.request, 'configurationVersion') ?? text(e.response, 'configurationVersion');
    if (!applicationId || !environmentId || !configurationProfileId || !to) return undefined;
    const deploymentNumber = Number(text(e.response, 'deploymentNumber'));
    const profile = text(e.response, 'configurationName') ?? configurationProfileId;
    const environmentArn = arn(e, 'appconfig', `application/${applicationId}/environment/${environmentId}`);
    return {
      type: 'config',
      title: `AppConfig ${profile} → version ${to} in environment ${environmentId}`,
      details: [...(text(e.request, 'description') ? [`Description: ${short(text(e.request, 'description')!, 200)}.`] : [])],
      resource: { type: 'AWS::AppConfig::Environment', arn: environmentArn, identifiers: { applicationId, environmentId, configurationProfileId, ...(deploymentStrategyId ? { deploymentStrategyId } : {}) } },
      toVersion: to,
      arns: [environmentArn, arn(e, 'appconfig', `application/${applicationId}/configurationprofile/${configurationProfileId}`), arn(e, 'appconfig', `application/${applicationId}`)],
      fallbackService: profile,
      need: { kind: 'appconfig-previous', applicationId, environmentId, configurationProfileId, ...(Number.isInteger(deploymentNumber) ? { deploymentNumber } : {}) },
    };
  },
};

const stack = (e: TrailEvent) => {
  const id = text(e.response, 'stackId') ?? (text(e.request, 'stackName')?.startsWith('arn:') ? text(e.request, 'stackName') : undefined);
  const name = id ? (id.split('/')[1] ?? id) : text(e.request, 'stackName');
  return name ? { id, name } : undefined;
};
const CLOUDFORMATION: Record<string, Mapper> = {
  UpdateStack: (e) => {
    const s = stack(e);
    if (!s) return undefined;
    const parameters = list(e.request, 'parameters').filter(isObj).map((p) => text(p, 'parameterKey') ?? '?');
    return {
      type: 'infrastructure',
      title: `CloudFormation stack ${s.name} updated${parameters.length > 0 ? ` (parameters ${parameters.join(', ')})` : ''}`,
      details: [text(e.request, 'usePreviousTemplate') === 'true' ? 'Same template, new parameters.' : 'New template.'],
      ...(s.id ? { resource: { type: 'AWS::CloudFormation::Stack', arn: s.id, identifiers: { stackName: s.name } } } : {}),
      arns: [...(s.id ? [s.id] : []), ...e.resourceArns],
      fallbackService: s.name,
    };
  },
  ExecuteChangeSet: (e) => {
    const changeSet = text(e.request, 'changeSetName');
    const s = stack(e);
    const name = s?.name ?? e.resourceArns.find((a) => a.includes(':stack/'))?.split('/')[1];
    if (!name && !changeSet) return undefined;
    const stackArn = s?.id ?? e.resourceArns.find((a) => a.includes(':stack/'));
    return {
      type: 'infrastructure',
      title: `CloudFormation stack ${name ?? '(unknown)'}: change set ${changeSet ? lastSegment(changeSet.replace(/\/[^/]+$/, '')) : '?'} executed`,
      ...(stackArn ? { resource: { type: 'AWS::CloudFormation::Stack', arn: stackArn, identifiers: { stackName: name ?? lastSegment(stackArn) } } } : {}),
      arns: [...(stackArn ? [stackArn] : []), ...e.resourceArns],
      fallbackService: name ?? lastSegment(changeSet!),
    };
  },
};

const asg = (e: TrailEvent, title: (name: string) => string, type: ChangeRequest['type'] = 'infrastructure') => {
  const name = text(e.request, 'autoScalingGroupName');
  if (!name) return undefined;
  const groupArn = e.resourceArns.find((a) => a.includes(':autoScalingGroup:'));
  return {
    type,
    title: title(name),
    ...(groupArn ? { resource: { type: 'AWS::AutoScaling::AutoScalingGroup', arn: groupArn, identifiers: { autoScalingGroupName: name } } } : {}),
    arns: [...(groupArn ? [groupArn] : []), ...e.resourceArns],
    fallbackService: name,
  };
};
const AUTOSCALING: Record<string, Mapper> = {
  UpdateAutoScalingGroup: (e) => {
    const launch = obj(e.request, 'launchTemplate');
    const what = settings(e.request, ['autoScalingGroupName', 'launchTemplate', 'mixedInstancesPolicy']);
    if (launch) what.push(`launch template ${text(launch, 'launchTemplateName', 'launchTemplateId') ?? ''} version ${text(launch, 'version') ?? '$Default'}`.replace('  ', ' '));
    if (member(e.request, 'mixedInstancesPolicy') !== undefined) what.push('mixed instances policy');
    return asg(e, (n) => `Auto Scaling group ${n}: ${what.join(', ') || 'updated'}`, launch || text(e.request, 'launchConfigurationName') ? 'deploy' : 'infrastructure');
  },
  PutScalingPolicy: (e) => asg(e, (n) => `Auto Scaling group ${n}: scaling policy ${text(e.request, 'policyName') ?? '?'} set${text(e.request, 'policyType') ? ` (${text(e.request, 'policyType')})` : ''}`),
  SetDesiredCapacity: (e) => asg(e, (n) => `Auto Scaling group ${n}: desired capacity → ${text(e.request, 'desiredCapacity') ?? '?'}`),
};

/** Application Auto Scaling's resource id (`service/<cluster>/<service>`, `function:<name>:<alias>`, `table/<name>`) → the resource's ARN. */
const scalableArn = (e: TrailEvent, namespace: string | undefined, resourceId: string): string | undefined => {
  if (namespace === 'ecs' && resourceId.startsWith('service/')) return arn(e, 'ecs', resourceId);
  if (namespace === 'lambda' && resourceId.startsWith('function:')) return arn(e, 'lambda', resourceId);
  if (namespace === 'dynamodb' && resourceId.startsWith('table/')) return arn(e, 'dynamodb', resourceId.split('/').slice(0, 2).join('/'));
  return undefined;
};
const scalable = (e: TrailEvent, what: string): ReturnType<Mapper> => {
  const resourceId = text(e.request, 'resourceId');
  if (!resourceId) return undefined;
  const target = scalableArn(e, text(e.request, 'serviceNamespace'), resourceId);
  return { type: 'infrastructure', title: `${resourceId}: ${what}`, arns: [...(target ? [target] : []), ...e.resourceArns], fallbackService: lastSegment(resourceId.replace(/^function:([^:]+).*$/, '$1')) };
};
const APPLICATION_AUTOSCALING: Record<string, Mapper> = {
  PutScalingPolicy: (e) => scalable(e, `scaling policy ${text(e.request, 'policyName') ?? '?'} set${text(e.request, 'policyType') ? ` (${text(e.request, 'policyType')})` : ''}`),
  RegisterScalableTarget: (e) => scalable(e, `scalable target ${text(e.request, 'scalableDimension') ?? ''} set (min ${text(e.request, 'minCapacity') ?? '?'}, max ${text(e.request, 'maxCapacity') ?? '?'})`.replace('  ', ' ')),
};

const rdsChange = (e: TrailEvent, kind: 'instance' | 'cluster', title: (id: string, what: string) => string): ReturnType<Mapper> => {
  const response = obj(e.response, kind === 'instance' ? 'dBInstance' : 'dBCluster') ?? e.response;
  const id = text(e.request, kind === 'instance' ? 'dBInstanceIdentifier' : 'dBClusterIdentifier');
  if (!id) return undefined;
  const resourceArn = text(response, kind === 'instance' ? 'dBInstanceArn' : 'dBClusterArn') ?? arn(e, 'rds', `${kind === 'instance' ? 'db' : 'cluster'}:${id}`);
  const pending = obj(response, 'pendingModifiedValues') ?? {};
  const what = settings(e.request, [kind === 'instance' ? 'dBInstanceIdentifier' : 'dBClusterIdentifier', 'applyImmediately']).map((s) => {
    // Old → new where the response still shows the old value beside the pending one (the class until it is applied).
    const key = s.split('=')[0]!;
    const current = text(response, key);
    const next = text(pending, key);
    return current && next && current !== next ? `${key}: ${current} → ${next}` : s;
  });
  const apply = text(e.request, 'applyImmediately');
  return {
    type: 'infrastructure',
    title: title(id, what.join(', ')),
    details: apply === undefined ? [] : [apply === 'true' ? 'Applied immediately.' : 'Applied in the next maintenance window.'],
    resource: { type: kind === 'instance' ? 'AWS::RDS::DBInstance' : 'AWS::RDS::DBCluster', arn: resourceArn, identifiers: { [kind === 'instance' ? 'dbInstanceIdentifier' : 'dbClusterIdentifier']: id } },
    arns: [resourceArn],
    fallbackService: id,
  };
};
const parameterGroup = (e: TrailEvent, kind: 'pg' | 'cluster-pg'): ReturnType<Mapper> => {
  const name = text(e.request, kind === 'pg' ? 'dBParameterGroupName' : 'dBClusterParameterGroupName');
  if (!name) return undefined;
  const params = list(e.request, 'parameters')
    .filter(isObj)
    .map((p) => `${text(p, 'parameterName') ?? '?'}=${short(text(p, 'parameterValue') ?? '', 40)}${text(p, 'applyMethod') ? ` (${text(p, 'applyMethod')})` : ''}`);
  const groupArn = arn(e, 'rds', `${kind}:${name}`);
  return { type: 'config', title: `RDS ${kind === 'pg' ? 'parameter group' : 'cluster parameter group'} ${name}: ${params.join(', ') || 'parameters changed'}`, arns: [groupArn], fallbackService: name };
};
const RDS: Record<string, Mapper> = {
  ModifyDBInstance: (e) => rdsChange(e, 'instance', (id, what) => `RDS instance ${id} modified (${what || 'no parameters recorded'})`),
  ModifyDBCluster: (e) => rdsChange(e, 'cluster', (id, what) => `RDS cluster ${id} modified (${what || 'no parameters recorded'})`),
  RebootDBInstance: (e) => rdsChange(e, 'instance', (id) => `RDS instance ${id} rebooted${text(e.request, 'forceFailover') === 'true' ? ' with failover' : ''}`),
  FailoverDBCluster: (e) => rdsChange(e, 'cluster', (id) => `RDS cluster ${id} failed over${text(e.request, 'targetDBInstanceIdentifier') ? ` to ${text(e.request, 'targetDBInstanceIdentifier')}` : ''}`),
  ModifyDBParameterGroup: (e) => parameterGroup(e, 'pg'),
  ModifyDBClusterParameterGroup: (e) => parameterGroup(e, 'cluster-pg'),
};

const DYNAMODB: Record<string, Mapper> = {
  UpdateTable: (e) => {
    const name = text(e.request, 'tableName');
    if (!name) return undefined;
    const tableArn = text(obj(e.response, 'tableDescription'), 'tableArn') ?? arn(e, 'dynamodb', `table/${name}`);
    const throughput = obj(e.request, 'provisionedThroughput');
    const what = [
      ...(throughput ? [`provisioned throughput read ${text(throughput, 'readCapacityUnits') ?? '?'} / write ${text(throughput, 'writeCapacityUnits') ?? '?'}`] : []),
      ...settings(e.request, ['tableName', 'provisionedThroughput']),
    ];
    return { type: 'infrastructure', title: `DynamoDB table ${name} updated (${what.join(', ') || 'no parameters recorded'})`, resource: { type: 'AWS::DynamoDB::Table', arn: tableArn, identifiers: { tableName: name } }, arns: [tableArn], fallbackService: name };
  },
};

const apiStage = (e: TrailEvent) => {
  const api = text(e.request, 'restApiId');
  if (!api) return undefined;
  const stage = text(e.request, 'stageName');
  const apiArn = `arn:${e.partition}:apigateway:${e.region}::/restapis/${api}`;
  return { api, stage, apiArn, stageArn: stage ? `${apiArn}/stages/${stage}` : undefined };
};
const APIGATEWAY: Record<string, Mapper> = {
  CreateDeployment: (e) => {
    const s = apiStage(e);
    if (!s) return undefined;
    return { type: 'deploy', title: `API Gateway ${s.api}: new deployment${s.stage ? ` to stage ${s.stage}` : ''}`, arns: [...(s.stageArn ? [s.stageArn] : []), s.apiArn], fallbackService: s.api };
  },
  UpdateStage: (e) => {
    const s = apiStage(e);
    if (!s) return undefined;
    // Paths only: a stage variable's value may be a credential.
    const paths = list(e.request, 'patchOperations').filter(isObj).map((p) => `${text(p, 'op') ?? '?'} ${text(p, 'path') ?? '?'}`);
    return { type: 'config', title: `API Gateway ${s.api} stage ${s.stage ?? '?'}: ${paths.join(', ') || 'updated'}`, arns: [...(s.stageArn ? [s.stageArn] : []), s.apiArn], fallbackService: s.api };
  },
};

const NUMERIC_QUEUE_ATTRIBUTES = /^(VisibilityTimeout|MessageRetentionPeriod|DelaySeconds|MaximumMessageSize|ReceiveMessageWaitTimeSeconds)$/;
const SQS: Record<string, Mapper> = {
  SetQueueAttributes: (e) => {
    const url = text(e.request, 'queueUrl');
    const m = url ? /^https?:\/\/[^/]+\/(\d{12})\/([^/?]+)/.exec(url) : null;
    if (!m) return undefined;
    const [, account, name] = m;
    const queueArn = arn(e, 'sqs', name!, account);
    const attributes = Object.entries(obj(e.request, 'attributes') ?? {}).map(([k, v]) => (NUMERIC_QUEUE_ATTRIBUTES.test(k) ? `${k}=${String(v)}` : k));
    return { type: 'config', title: `SQS queue ${name}: ${attributes.join(', ') || 'attributes changed'}`, resource: { type: 'AWS::SQS::Queue', arn: queueArn, identifiers: { queueUrl: url! } }, arns: [queueArn], fallbackService: name! };
  },
};

/** Event source → event name → mapper. Every name handled is listed here. */
export const EVENT_MAPPERS: Readonly<Record<string, Readonly<Record<string, Mapper>>>> = {
  'lambda.amazonaws.com': LAMBDA,
  'ecs.amazonaws.com': ECS,
  'ssm.amazonaws.com': SSM,
  'appconfig.amazonaws.com': APPCONFIG,
  'cloudformation.amazonaws.com': CLOUDFORMATION,
  'autoscaling.amazonaws.com': AUTOSCALING,
  'application-autoscaling.amazonaws.com': APPLICATION_AUTOSCALING,
  'rds.amazonaws.com': RDS,
  'dynamodb.amazonaws.com': DYNAMODB,
  'apigateway.amazonaws.com': APIGATEWAY,
  'sqs.amazonaws.com': SQS,
};

/**
 * Events read but not turned into changes of their own: a Lambda alias's creation (where its first version comes from)
 * and an ECS task definition's registration (its images, named by the UpdateService that uses it).
 */
export const CONTEXT_EVENTS: Readonly<Record<string, readonly string[]>> = {
  'lambda.amazonaws.com': ['CreateAlias'],
  'ecs.amazonaws.com': ['RegisterTaskDefinition'],
};

/** An event name without Lambda's API-version suffix (`UpdateAlias20150331` → `UpdateAlias`). */
export const baseEventName = (name: string): string => name.replace(/\d{8}(?:v\d+)?$/, '');

/** The mapper for an event, if it is one of the table's. */
export const mapperFor = (source: string, name: string): Mapper | undefined => EVENT_MAPPERS[source]?.[baseEventName(name)];
export const isContextEvent = (source: string, name: string): boolean => (CONTEXT_EVENTS[source] ?? []).includes(baseEventName(name));

/** The draft of an event: its table mapper's reading, or undefined when the event is not one that changes behaviour. */
export const draftOf = (e: TrailEvent): Draft | undefined => {
  const mapped = mapperFor(e.source, e.name)?.(e);
  if (!mapped) return undefined;
  return { ...mapped, event: e, details: [...(mapped.details ?? [])] };
};

// ───────────────────────── publishes folded into alias moves ─────────────────────────

/** An alias moved to a version of a function: an UpdateAlias draft, or a CodeDeploy deployment of a Lambda alias. */
export interface AliasMove {
  /** The function's unqualified ARN. */
  readonly functionArn: string;
  readonly version: string;
  /** ISO 8601. */
  readonly time: string;
  /** Adds a sentence to the move's description. */
  readonly note: (sentence: string) => void;
}

const millis = (iso: string): number => Date.parse(iso);
const codeWords = (c: LambdaCode): string => [c.codeSha256 ? `code sha256 ${c.codeSha256}` : 'new code', ...(c.codeSource ? [`from ${c.codeSource}`] : [])].join(' ');
const byWhom = (e: TrailEvent): string => `by ${e.author ?? 'unknown'}${e.invokedBy ? ` (through ${e.invokedBy})` : ''} at ${e.time} (${e.name}, CloudTrail event ${e.id})`;

/**
 * For a function served through an alias, publishing a version changes nothing users see until the alias moves to
 * it: a publish (UpdateFunctionCode with `publish`, or PublishVersion with the UpdateFunctionCode whose code it
 * published) that an alias move to exactly that version of the same function follows is folded into the move — the
 * move stays the change (its resource, version from → to, time), and its description says what was published, by
 * whom and when. A publish no alias move follows is kept as a change of its own: $LATEST or the version itself may be
 * invoked directly. Matched by function ARN and version number only, never by names.
 *
 * Returns the drafts that remain changes of their own (in their order); each folded publish has noted itself on
 * every move to its version.
 */
export const foldPublishes = (drafts: readonly Draft[], moves: readonly AliasMove[]): Draft[] => {
  const folded = new Set<Draft>();
  const publishes = drafts.filter((d) => d.lambdaCode?.version !== undefined);
  const codeOnly = drafts.filter((d) => d.lambdaCode && d.lambdaCode.version === undefined);
  for (const p of publishes) {
    const code = p.lambdaCode!;
    const at = millis(p.event.time);
    const to = moves.filter((m) => m.functionArn === code.functionArn && m.version === code.version && millis(m.time) >= at);
    if (to.length === 0) continue;
    // PublishVersion publishes $LATEST: the newest code upload of the function before it (the same code when both
    // events name its SHA), unless another publish of the function came in between (that one published it).
    const upload =
      baseEventName(p.event.name) === 'PublishVersion'
        ? codeOnly
            .filter((c) => c.lambdaCode!.functionArn === code.functionArn && millis(c.event.time) <= at)
            .filter((c) => !(c.lambdaCode!.codeSha256 && code.codeSha256) || c.lambdaCode!.codeSha256 === code.codeSha256)
            .filter((c) => !publishes.some((other) => other !== p && other.lambdaCode!.functionArn === code.functionArn && millis(other.event.time) >= millis(c.event.time) && millis(other.event.time) <= at))
            .sort((a, b) => millis(b.event.time) - millis(a.event.time))[0]
        : undefined;
    const sentence = upload
      ? `Version ${code.version} of ${code.functionName} was published ${byWhom(p.event)} from the code uploaded ${byWhom(upload.event)}: ${codeWords({ ...upload.lambdaCode!, ...(code.codeSha256 ? { codeSha256: code.codeSha256 } : {}) })}.`
      : `Version ${code.version} of ${code.functionName} was published ${byWhom(p.event)}: ${codeWords(code)}.`;
    for (const m of to) m.note(sentence);
    folded.add(p);
    if (upload) folded.add(upload);
  }
  return drafts.filter((d) => !folded.has(d));
};

/** The container images of a RegisterTaskDefinition event, with the task definition it registered. */
export const registeredImages = (e: TrailEvent): { taskDefinition: string; images: string[] } | undefined => {
  const td = text(obj(e.response, 'taskDefinition'), 'taskDefinitionArn');
  if (!td) return undefined;
  const images = list(e.request, 'containerDefinitions')
    .filter(isObj)
    .flatMap((c) => (text(c, 'image') ? [text(c, 'image')!] : []));
  return { taskDefinition: td, images };
};

/** Every event name handled, `<source>: <names>` (for the README and the report). */
export const handledEventNames = (): string[] => Object.entries(EVENT_MAPPERS).map(([source, names]) => `${source}: ${Object.keys(names).join(', ')}`);
