/**
 * CodeDeploy deployments as changes: `ListDeployments` over the window (`createTimeRange`, every page through the
 * SDK's paginator, at most `MAX_DEPLOYMENTS`), `BatchGetDeployments` 25 at a time, and `GetDeploymentGroup` once per
 * group for Lambda and ECS deployments (the ECS service the group deploys to, and the account of its service role,
 * which Lambda ARNs need).
 *
 * What changed comes from the revision's AppSpec (JSON or YAML, `appSpecContent` or `string`): Lambda
 * `Name`/`Alias`/`CurrentVersion`/`TargetVersion` → the alias, version current → target; ECS `TaskDefinition` of the
 * revision and of `previousRevision` → task definition old → new. EC2/on-premises deployments name their revision
 * (S3 object, GitHub commit), old → new when CodeDeploy kept the previous one.
 *
 * State: Succeeded, InProgress, Baking, Ready → implemented; Created, Queued → scheduled; Failed or Stopped with a
 * rollback deployment → rolled-back; Stopped without one → cancelled; Failed without one → implemented (an in-place
 * deployment that failed may have changed part of the fleet), its title saying it failed.
 */
import { BatchGetDeploymentsCommand, type CodeDeployClient, type DeploymentGroupInfo, type DeploymentInfo, GetDeploymentGroupCommand, paginateListDeployments, type RevisionLocation } from '@aws-sdk/client-codedeploy';
import type { ChangeRequest } from '../ports.ts';
import { Deadline, DeadlineReached } from './deadline.ts';
import { parseArn } from './resources.ts';

/** Deployments read per call (newest windows rarely hold more; beyond it the answer is incomplete). */
export const MAX_DEPLOYMENTS = 100;
const BATCH = 25;

/** A deployment as a change, before its service is known. */
export interface DeploymentChange {
  readonly change: Omit<ChangeRequest, 'service'>;
  /** ARNs to ask the directory for the service, most specific first. */
  readonly arns: readonly string[];
  /** The service when the directory maps none: the function, ECS service or application name. */
  readonly fallbackService: string;
}

/** A value of an AppSpec key, from JSON (`"Name": "x"`) or YAML (`Name: x`); a key ending another word (`ContainerName`) is not it. */
export const appSpecValue = (content: string, key: string): string | undefined => {
  const m = new RegExp(`(?:^|[^A-Za-z])["']?${key}["']?\\s*:\\s*["']?([^"'\\s,}\\]]+)`, 'm').exec(content);
  return m?.[1];
};
const appSpecOf = (r: RevisionLocation | undefined): string | undefined => r?.appSpecContent?.content ?? r?.string?.content;

/** A revision in a few words: the S3 object (with its version or ETag), the GitHub commit, or the AppSpec's digest. */
export const revisionSummary = (r: RevisionLocation | undefined): string | undefined => {
  if (!r) return undefined;
  if (r.s3Location?.bucket) return `s3://${r.s3Location.bucket}/${r.s3Location.key ?? ''}${r.s3Location.version ? `?versionId=${r.s3Location.version}` : r.s3Location.eTag ? ` (ETag ${r.s3Location.eTag})` : ''}`;
  if (r.gitHubLocation?.repository) return `${r.gitHubLocation.repository}@${r.gitHubLocation.commitId ?? '?'}`;
  const sha = r.appSpecContent?.sha256 ?? r.string?.sha256;
  return sha ? `AppSpec sha256 ${sha.slice(0, 12)}` : undefined;
};

const stateOf = (d: DeploymentInfo): ChangeRequest['state'] => {
  const status = d.status ?? 'Succeeded';
  if (status === 'Created' || status === 'Queued') return 'scheduled';
  if ((status === 'Failed' || status === 'Stopped') && d.rollbackInfo?.rollbackDeploymentId) return 'rolled-back';
  if (status === 'Stopped') return 'cancelled';
  return 'implemented';
};

const tryParse = (arn: string | undefined) => {
  if (!arn) return undefined;
  try {
    return parseArn(arn);
  } catch {
    return undefined;
  }
};

/** One deployment as a change. `region` is the client's; the group (when read) gives the ECS service and the account. */
export const deploymentChange = (d: DeploymentInfo, group: DeploymentGroupInfo | undefined, region: string, groupError?: string): DeploymentChange | undefined => {
  const id = d.deploymentId;
  if (!id) return undefined;
  const app = d.applicationName ?? '?';
  const groupName = d.deploymentGroupName ?? '?';
  const deployedAt = (d.startTime ?? d.createTime)?.toISOString();
  if (!deployedAt) return undefined;
  const failed = d.status === 'Failed' || d.status === 'Stopped' ? ` (${d.status.toLowerCase()})` : '';
  const role = tryParse(group?.serviceRoleArn);
  const details = [
    `Deployment ${id} of ${app}/${groupName}${d.deploymentConfigName ? ` with ${d.deploymentConfigName}` : ''}, status ${d.status ?? 'unknown'}, created by ${d.creator ?? 'unknown'}.`,
    ...(d.description ? [`Description: ${d.description.slice(0, 300)}.`] : []),
    ...(d.errorInformation?.message ? [`Error: ${d.errorInformation.message.slice(0, 300)}.`] : []),
    ...(d.rollbackInfo?.rollbackDeploymentId ? [`Rolled back by deployment ${d.rollbackInfo.rollbackDeploymentId}${d.rollbackInfo.rollbackMessage ? `: ${d.rollbackInfo.rollbackMessage.slice(0, 200)}` : ''}.`] : []),
    ...(d.rollbackInfo?.rollbackTriggeringDeploymentId ? [`This deployment rolls back ${d.rollbackInfo.rollbackTriggeringDeploymentId}.`] : []),
    ...(groupError ? [`Its deployment group could not be read (${groupError}), so the resource it deployed to is not named.`] : []),
  ];
  const base = { id: `codedeploy:${id}`, type: 'deploy' as const, deployedAt, state: stateOf(d), author: `CodeDeploy (${d.creator ?? 'unknown'})` };
  const content = appSpecOf(d.revision);
  const groupArn = role ? `arn:${role.partition}:codedeploy:${region}:${role.account}:deploymentgroup:${app}/${groupName}` : undefined;

  if (d.computePlatform === 'Lambda' && content) {
    const name = appSpecValue(content, 'Name');
    const alias = appSpecValue(content, 'Alias');
    const from = appSpecValue(content, 'CurrentVersion');
    const to = appSpecValue(content, 'TargetVersion');
    if (name && alias) {
      const given = tryParse(name);
      const fnName = given ? given.resourceId.split(':')[0]! : name;
      const fnArn = given ? `arn:${given.partition}:lambda:${given.region}:${given.account}:function:${fnName}` : role ? `arn:${role.partition}:lambda:${region}:${role.account}:function:${fnName}` : undefined;
      return {
        change: {
          ...base,
          title: `CodeDeploy ${app}/${groupName}: Lambda ${fnName} alias ${alias} version ${from ?? '?'} → ${to ?? '?'}${failed}`,
          description: details.join(' '),
          ...(from && to ? { version: { from, to }, rollbackPlan: `Point alias ${alias} of ${fnName} back to version ${from}` } : {}),
          ...(fnArn ? { resource: { type: 'AWS::Lambda::Alias', arn: `${fnArn}:${alias}`, identifiers: { functionName: fnName, alias } } } : {}),
        },
        arns: [...(fnArn ? [`${fnArn}:${alias}`, fnArn] : []), ...(groupArn ? [groupArn] : [])],
        fallbackService: fnName,
      };
    }
  }
  if (d.computePlatform === 'ECS') {
    const to = content ? appSpecValue(content, 'TaskDefinition') : undefined;
    const previous = appSpecOf(d.previousRevision);
    const from = previous ? appSpecValue(previous, 'TaskDefinition') : undefined;
    const target = group?.ecsServices?.[0];
    const td = tryParse(to) ?? tryParse(from);
    const serviceArn = target?.serviceName && target.clusterName && (td ?? role) ? `arn:${(td ?? role)!.partition}:ecs:${td?.region || region}:${(td ?? role)!.account}:service/${target.clusterName}/${target.serviceName}` : undefined;
    const label = target?.serviceName ? `ECS ${target.clusterName ?? '?'}/${target.serviceName}` : 'ECS';
    const short = (s: string) => s.replace(/^arn:[^:]+:ecs:[^:]*:\d*:task-definition\//, '');
    return {
      change: {
        ...base,
        title: `CodeDeploy ${app}/${groupName}: ${label} task definition ${from ? short(from) : '?'} → ${to ? short(to) : '?'}${failed}`,
        description: details.join(' '),
        ...(from && to ? { version: { from, to }, rollbackPlan: `Update service ${target?.serviceName ?? '?'} back to task definition ${short(from)}` } : {}),
        ...(serviceArn ? { resource: { type: 'AWS::ECS::Service', arn: serviceArn, identifiers: { cluster: target!.clusterName!, service: target!.serviceName! } } } : {}),
      },
      arns: [...(serviceArn ? [serviceArn] : []), ...(groupArn ? [groupArn] : [])],
      fallbackService: target?.serviceName ?? app,
    };
  }
  const to = revisionSummary(d.revision);
  const from = revisionSummary(d.previousRevision);
  return {
    change: {
      ...base,
      title: `CodeDeploy ${app}/${groupName}: ${to ?? 'new revision'}${failed}`,
      description: details.join(' '),
      ...(from && to ? { version: { from, to }, rollbackPlan: `Deploy the previous revision ${from} to ${app}/${groupName}` } : {}),
      ...(groupArn ? { resource: { type: 'AWS::CodeDeploy::DeploymentGroup', arn: groupArn, identifiers: { applicationName: app, deploymentGroupName: groupName } } } : {}),
    },
    arns: groupArn ? [groupArn] : [],
    fallbackService: app,
  };
};

/**
 * The deployments created in the window, as changes; `truncated` when more than MAX_DEPLOYMENTS were listed, or the
 * deadline stopped the reads (the deployments read by then are returned; none read is DeadlineReached).
 */
export const listDeploymentChanges = async (client: CodeDeployClient, from: Date, to: Date, max = MAX_DEPLOYMENTS, deadline: Deadline = Deadline.none()): Promise<{ changes: DeploymentChange[]; truncated?: string }> => {
  const ids: string[] = [];
  let truncated: string | undefined;
  const infos: DeploymentInfo[] = [];
  try {
    for await (const page of deadline.pages(paginateListDeployments({ client }, { createTimeRange: { start: from, end: to } }, { abortSignal: deadline.signal }))) {
      ids.push(...(page.deployments ?? []));
      if (ids.length >= max) {
        if (ids.length > max || page.nextToken) truncated = `more than ${max} CodeDeploy deployments were created in the window; only the first ${max} listed were read`;
        break;
      }
    }
    const wanted = ids.slice(0, max);
    for (let i = 0; i < wanted.length; i += BATCH) {
      const out = await deadline.race(client.send(new BatchGetDeploymentsCommand({ deploymentIds: wanted.slice(i, i + BATCH) }), { abortSignal: deadline.signal }));
      infos.push(...(out.deploymentsInfo ?? []));
    }
  } catch (error) {
    // Nothing read: CodeDeploy did not answer in time, which is a failure, not "no deployments".
    if (!(error instanceof DeadlineReached) || infos.length === 0) throw error;
    truncated = `${infos.length} of the ${ids.length}${ids.length < max ? ' or more' : ''} CodeDeploy deployments listed were read: ${deadline.reason}`;
  }
  const region = await client.config.region();
  type Group = { readonly info?: DeploymentGroupInfo; readonly error?: string };
  const groups = new Map<string, Promise<Group>>();
  const groupOf = (d: DeploymentInfo): Promise<Group> => {
    if (!d.applicationName || !d.deploymentGroupName) return Promise.resolve({});
    const key = `${d.applicationName}/${d.deploymentGroupName}`;
    let p = groups.get(key);
    if (!p) {
      // A group deleted since (or not readable) still leaves the deployment a change, only without its resource.
      p = deadline
        .race(client.send(new GetDeploymentGroupCommand({ applicationName: d.applicationName, deploymentGroupName: d.deploymentGroupName }), { abortSignal: deadline.signal }))
        .then((o): Group => ({ info: o.deploymentGroupInfo }))
        .catch((error: { name?: string; message?: string }): Group => ({ error: `${error?.name ?? 'Error'}: ${String(error?.message ?? error).slice(0, 200)}` }));
      groups.set(key, p);
    }
    return p;
  };
  const changes = await Promise.all(
    infos.map(async (d) => {
      const g = await groupOf(d);
      return deploymentChange(d, g.info, region, g.error);
    }),
  );
  return { changes: changes.filter((c): c is DeploymentChange => c !== undefined), ...(truncated ? { truncated } : {}) };
};
