/**
 * The AWS changes adapter (functions/core/tools/aws/changes.ts, cloudtrail-events.ts, codedeploy.ts) against the APIs'
 * own shapes: LookupEvents (Events[] with EventId, EventName, EventTime, EventSource, Resources and the record as the
 * `CloudTrailEvent` JSON string; NextToken) read page by page as one ReadOnly=false stream; GetParameterHistory
 * (Parameters[] with Version, Value, Type); AppConfig ListDeployments (Items[] with DeploymentNumber,
 * ConfigurationProfileId, ConfigurationVersion, State); CodeDeploy ListDeployments / BatchGetDeployments
 * (deploymentsInfo[] with revision, previousRevision, computePlatform, status, rollbackInfo) / GetDeploymentGroup.
 * Each event kind becomes a ChangeRequest whose resource, version and configChange a rollback can act on; failed calls
 * are skipped; throttling is retried by the SDK's own retry strategy (a fake HTTP handler: the real middleware runs);
 * partial answers are the changes read with partial gaps naming what is missing.
 */
import { Readable } from 'node:stream';
import { AppConfigClient, GetDeploymentCommand, ListDeploymentsCommand as ListAppConfigDeploymentsCommand } from '@aws-sdk/client-appconfig';
import { CloudTrailClient, type Event as LookupEvent, LookupEventsCommand, type LookupEventsCommandInput } from '@aws-sdk/client-cloudtrail';
import { BatchGetDeploymentsCommand, CodeDeployClient, GetDeploymentGroupCommand, ListDeploymentsCommand } from '@aws-sdk/client-codedeploy';
import { GetParameterHistoryCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { AwsChanges, type AwsChangesOptions, PREVIOUS_UNKNOWN } from '../../../../functions/core/tools/aws/changes.ts';
import { draftOf, handledEventNames, lambdaFunction, mapperFor, type TrailEvent } from '../../../../functions/core/tools/aws/cloudtrail-events.ts';
import { appSpecValue } from '../../../../functions/core/tools/aws/codedeploy.ts';
import type { ServiceDirectory } from '../../../../functions/core/tools/aws/resources.ts';
import { type ChangeRequest, partialGapsOf, ToolUnavailable } from '../../../../functions/core/tools/ports.ts';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const USER = `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/alice`;
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const WINDOW = { from: '2024-05-01T06:00:00.000Z', to: '2024-05-01T12:00:00.000Z' };

const fnArn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
const tdArn = (family: string, rev: number) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${rev}`;
const ecsServiceArn = (cluster: string, name: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${cluster}/${name}`;
const paramArn = (name: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/${name.replace(/^\//, '')}`;
const envArn = (app: string, env: string) => `arn:aws:appconfig:${REGION}:${ACCOUNT}:application/${app}/environment/${env}`;

interface EventSpec {
  readonly id: string;
  readonly name: string;
  readonly source: string;
  readonly time: string;
  readonly request?: Record<string, unknown> | null;
  readonly response?: Record<string, unknown> | null;
  readonly errorCode?: string;
  readonly invokedBy?: string;
}
/** A LookupEvents event as the API returns it: the record itself is the CloudTrailEvent JSON string. */
const event = (e: EventSpec): LookupEvent => ({
  EventId: e.id,
  EventName: e.name,
  ReadOnly: 'false',
  EventTime: new Date(e.time),
  EventSource: e.source,
  Username: 'alice',
  Resources: [],
  CloudTrailEvent: JSON.stringify({
    eventVersion: '1.08',
    userIdentity: { type: 'AssumedRole', principalId: 'AROAEXAMPLE:alice', arn: USER, accountId: ACCOUNT, ...(e.invokedBy ? { invokedBy: e.invokedBy } : {}) },
    eventTime: e.time.replace('.000Z', 'Z'),
    eventSource: e.source,
    eventName: e.name,
    awsRegion: REGION,
    sourceIPAddress: e.invokedBy ?? '203.0.113.9',
    userAgent: 'aws-cli/2.15.0',
    ...(e.errorCode ? { errorCode: e.errorCode, errorMessage: 'User is not authorized' } : {}),
    requestParameters: e.request ?? null,
    responseElements: e.response ?? null,
    requestID: `req-${e.id}`,
    eventID: e.id,
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
  }),
});

// ───────────────────────── the events of the story ─────────────────────────

const aliasMove = (id: string, time: string, version: string, functionName = 'checkout', extra: Partial<EventSpec> = {}) =>
  event({
    id,
    name: 'UpdateAlias20150331',
    source: 'lambda.amazonaws.com',
    time,
    request: { functionName, name: 'live', functionVersion: version },
    response: { aliasArn: `${fnArn(functionName)}:live`, name: 'live', functionVersion: version, revisionId: 'r' },
    ...extra,
  });
const ecsUpdate = event({
  id: 'ev-ecs',
  name: 'UpdateService',
  source: 'ecs.amazonaws.com',
  time: '2024-05-01T11:00:00.000Z',
  request: { cluster: 'prod', service: 'orders', taskDefinition: 'orders:8' },
  response: {
    service: {
      serviceArn: ecsServiceArn('prod', 'orders'),
      serviceName: 'orders',
      clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod`,
      taskDefinition: tdArn('orders', 8),
      desiredCount: 3,
      deployments: [
        { id: 'ecs-svc/2', status: 'PRIMARY', taskDefinition: tdArn('orders', 8), desiredCount: 3 },
        { id: 'ecs-svc/1', status: 'ACTIVE', taskDefinition: tdArn('orders', 7), desiredCount: 3 },
      ],
    },
  },
});
const registerTd = event({
  id: 'ev-td',
  name: 'RegisterTaskDefinition',
  source: 'ecs.amazonaws.com',
  time: '2024-05-01T10:59:00.000Z',
  request: { family: 'orders', containerDefinitions: [{ name: 'app', image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/orders:1.4.2` }] },
  response: { taskDefinition: { taskDefinitionArn: tdArn('orders', 8), family: 'orders', revision: 8 } },
});
const putParameter = event({
  id: 'ev-ssm',
  name: 'PutParameter',
  source: 'ssm.amazonaws.com',
  time: '2024-05-01T10:30:00.000Z',
  request: { name: '/checkout/db/pool-size', type: 'String', overwrite: true, value: 'HIDDEN_DUE_TO_SECURITY_REASONS' },
  response: { version: 3, tier: 'Standard' },
});
const failedConfig = event({ id: 'ev-failed', name: 'UpdateFunctionConfiguration20150331v2', source: 'lambda.amazonaws.com', time: '2024-05-01T10:20:00.000Z', request: { functionName: 'checkout', memorySize: 128 }, errorCode: 'AccessDenied' });
const unrelated = event({ id: 'ev-logs', name: 'CreateLogStream', source: 'logs.amazonaws.com', time: '2024-05-01T10:10:00.000Z', request: { logGroupName: '/aws/lambda/checkout', logStreamName: 's' } });
const appConfigDeploy = event({
  id: 'ev-appconfig',
  name: 'StartDeployment',
  source: 'appconfig.amazonaws.com',
  time: '2024-05-01T10:00:00.000Z',
  request: { applicationId: 'app1', environmentId: 'env1', deploymentStrategyId: 'strat1', configurationProfileId: 'prof1', configurationVersion: '3' },
  response: { applicationId: 'app1', environmentId: 'env1', deploymentStrategyId: 'strat1', configurationProfileId: 'prof1', deploymentNumber: 5, configurationName: 'checkout-flags', configurationVersion: '3', state: 'DEPLOYING' },
});
const codeUpdate = event({
  id: 'ev-code',
  name: 'UpdateFunctionCode20150331v2',
  source: 'lambda.amazonaws.com',
  time: '2024-05-01T09:30:00.000Z',
  request: { functionName: 'checkout', s3Bucket: 'artifacts', s3Key: 'checkout/1.2.3.zip', publish: true },
  // Version 8: no alias moves to it in the window, so the publish is a change of its own.
  response: { functionName: 'checkout', functionArn: `${fnArn('checkout')}:8`, version: '8', codeSha256: 'ZmFrZXNoYTI1NmZha2VzaGEyNTY=' },
});
const rdsModify = event({
  id: 'ev-rds',
  name: 'ModifyDBInstance',
  source: 'rds.amazonaws.com',
  time: '2024-05-01T09:00:00.000Z',
  request: { dBInstanceIdentifier: 'orders-db', dBInstanceClass: 'db.r6g.xlarge', applyImmediately: true, masterUserPassword: '****' },
  response: { dBInstanceIdentifier: 'orders-db', dBInstanceArn: `arn:aws:rds:${REGION}:${ACCOUNT}:db:orders-db`, dBInstanceClass: 'db.r6g.large', pendingModifiedValues: { dBInstanceClass: 'db.r6g.xlarge' } },
});
const tableUpdate = event({
  id: 'ev-ddb',
  name: 'UpdateTable',
  source: 'dynamodb.amazonaws.com',
  time: '2024-05-01T08:00:00.000Z',
  request: { tableName: 'orders-table', provisionedThroughput: { readCapacityUnits: 5, writeCapacityUnits: 5 } },
  response: { tableDescription: { tableName: 'orders-table', tableArn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders-table`, tableStatus: 'UPDATING' } },
});
const stackUpdate = event({
  id: 'ev-cfn',
  name: 'UpdateStack',
  source: 'cloudformation.amazonaws.com',
  time: '2024-05-01T07:00:00.000Z',
  request: { stackName: 'checkout-stack', usePreviousTemplate: true, parameters: [{ parameterKey: 'DbPassword', parameterValue: 's3cr3t' }] },
  response: { stackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/checkout-stack/0a1b2c3d` },
});

/** A directory that knows some ARNs; `failing` ARNs throw as a directory that could not read its sources does. */
const fakeDirectory = (services: Record<string, string>, failing: readonly string[] = []): ServiceDirectory & { asked: string[] } => {
  const asked: string[] = [];
  return {
    asked,
    resolve: async () => [],
    serviceOf: async (q) => {
      asked.push(q.arn);
      if (failing.includes(q.arn)) throw new ToolUnavailable('AWS service directory', `cannot tell which service ${q.arn} belongs to: tag:GetResources: ThrottlingException`);
      return services[q.arn];
    },
  };
};
const DIRECTORY = {
  [fnArn('checkout')]: 'checkout',
  [ecsServiceArn('prod', 'orders')]: 'orders',
  [paramArn('/checkout/db/pool-size')]: 'checkout',
  [envArn('app1', 'env1')]: 'checkout',
  [`arn:aws:rds:${REGION}:${ACCOUNT}:db:orders-db`]: 'orders-db',
};

interface Clients {
  cloudtrail: CloudTrailClient;
  codedeploy: CodeDeployClient;
  ssm: SSMClient;
  appconfig: AppConfigClient;
}
const clientsOf = (): Clients => ({
  cloudtrail: new CloudTrailClient({ region: REGION, credentials: CREDENTIALS }),
  codedeploy: new CodeDeployClient({ region: REGION, credentials: CREDENTIALS }),
  ssm: new SSMClient({ region: REGION, credentials: CREDENTIALS }),
  appconfig: new AppConfigClient({ region: REGION, credentials: CREDENTIALS }),
});
const fakeTime = () => {
  let now = Date.parse('2024-05-01T12:00:00Z');
  const waits: number[] = [];
  return { waits, now: () => now, sleep: async (ms: number) => void (waits.push(ms), (now += ms)) };
};
const adapter = (directory: ServiceDirectory, clients: Clients, options: Partial<AwsChangesOptions> = {}) => {
  const time = fakeTime();
  const changes = new AwsChanges({
    directory,
    history: { searchIncidents: async () => [], recordIncident: async () => undefined },
    clients,
    codeDeploy: false,
    sleep: time.sleep,
    now: time.now,
    ...options,
  });
  return { changes, time };
};

const byId = (list: readonly ChangeRequest[]) => Object.fromEntries(list.map((c) => [c.id, c]));

describe('CloudTrail write events → ChangeRequests', () => {
  const setup = () => {
    const clients = clientsOf();
    const trail = mockClient(clients.cloudtrail);
    // Inputs as sent (the SDK's paginator reuses one input object, so the recorded calls would all show the last token).
    const sent: LookupEventsCommandInput[] = [];
    const pages = [
      { Events: [aliasMove('ev-alias', '2024-05-01T11:30:00.000Z', '7'), ecsUpdate, registerTd, putParameter, failedConfig, unrelated], NextToken: 'page-2' },
      { Events: [appConfigDeploy, codeUpdate, aliasMove('ev-alias-before', '2024-05-01T09:45:00.000Z', '6'), rdsModify, tableUpdate, stackUpdate] },
    ];
    trail.on(LookupEventsCommand).callsFake((input: LookupEventsCommandInput) => {
      sent.push(structuredClone(input));
      return input.LookupAttributes?.[0]?.AttributeKey === 'ReadOnly' ? pages[input.NextToken ? 1 : 0] : { Events: [] };
    });
    const ssm = mockClient(clients.ssm);
    ssm.on(GetParameterHistoryCommand).resolves({
      Parameters: [
        { Name: '/checkout/db/pool-size', Type: 'String', Version: 1, Value: '50' },
        { Name: '/checkout/db/pool-size', Type: 'String', Version: 2, Value: '20' },
        { Name: '/checkout/db/pool-size', Type: 'String', Version: 3, Value: '5' },
      ],
    });
    const appconfig = mockClient(clients.appconfig);
    appconfig.on(ListAppConfigDeploymentsCommand).resolves({
      Items: [
        { DeploymentNumber: 5, ConfigurationProfileId: 'prof1', ConfigurationName: 'checkout-flags', ConfigurationVersion: '3', State: 'COMPLETE' },
        { DeploymentNumber: 4, ConfigurationProfileId: 'other', ConfigurationName: 'other', ConfigurationVersion: '9', State: 'COMPLETE' },
        { DeploymentNumber: 3, ConfigurationProfileId: 'prof1', ConfigurationName: 'checkout-flags', ConfigurationVersion: '2', State: 'COMPLETE' },
        { DeploymentNumber: 2, ConfigurationProfileId: 'prof1', ConfigurationName: 'checkout-flags', ConfigurationVersion: '1', State: 'ROLLED_BACK' },
      ],
    });
    return { clients, trail, ssm, appconfig, sent };
  };

  it('reads the window as one ReadOnly=false stream, page after page, paced for 2 TPS', async () => {
    const { clients, sent } = setup();
    const { changes, time } = adapter(fakeDirectory(DIRECTORY), clients);
    await changes.listChanges({ ...WINDOW, runId: 'run-1' });
    const calls = sent;
    expect(calls[0]).toEqual({ LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }], StartTime: new Date(WINDOW.from), EndTime: new Date(WINDOW.to), MaxResults: 50 });
    expect(calls[1]!.NextToken).toBe('page-2');
    expect(calls[1]!.LookupAttributes).toEqual(calls[0]!.LookupAttributes);
    // Then one look back for the older alias move's own predecessor (by event name), nothing else.
    expect(calls.slice(2).map((c) => c.LookupAttributes)).toEqual([[{ AttributeKey: 'EventName', AttributeValue: 'UpdateAlias20150331' }], [{ AttributeKey: 'EventName', AttributeValue: 'CreateAlias20150331' }]]);
    // Each call after the first waited for its 500 ms slot (the fake clock moves only by sleeping).
    expect(time.waits).toEqual([500, 500, 500]);
  });

  it('maps each event kind with its resource, old → new and rollback plan; skips failed calls and events that change nothing', async () => {
    const { clients, ssm, appconfig } = setup();
    const { changes } = adapter(fakeDirectory(DIRECTORY), clients);
    const list = await changes.listChanges(WINDOW);
    expect(partialGapsOf(list)).toEqual([]);
    const c = byId(list);
    expect(Object.keys(c)).toEqual(['cloudtrail:ev-alias', 'cloudtrail:ev-ecs', 'cloudtrail:ev-ssm', 'cloudtrail:ev-appconfig', 'cloudtrail:ev-alias-before', 'cloudtrail:ev-code', 'cloudtrail:ev-rds', 'cloudtrail:ev-ddb', 'cloudtrail:ev-cfn']);
    expect(c['cloudtrail:ev-failed']).toBeUndefined();

    expect(c['cloudtrail:ev-alias']).toEqual({
      id: 'cloudtrail:ev-alias',
      service: 'checkout',
      type: 'deploy',
      title: 'Lambda checkout alias live: version 6 → 7',
      description: `UpdateAlias20150331 by ${USER} at 2024-05-01T11:30:00.000Z (CloudTrail event ev-alias).`,
      deployedAt: '2024-05-01T11:30:00.000Z',
      state: 'implemented',
      version: { from: '6', to: '7' },
      rollbackPlan: 'Point alias live of checkout back to version 6',
      author: USER,
      resource: { type: 'AWS::Lambda::Alias', arn: `${fnArn('checkout')}:live`, identifiers: { functionName: 'checkout', alias: 'live' } },
    });

    expect(c['cloudtrail:ev-ecs']).toMatchObject({
      service: 'orders',
      type: 'deploy',
      title: 'ECS prod/orders: task definition orders:7 → orders:8',
      version: { from: tdArn('orders', 7), to: tdArn('orders', 8) },
      resource: { type: 'AWS::ECS::Service', arn: ecsServiceArn('prod', 'orders'), identifiers: { cluster: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod`, service: 'orders' } },
    });
    expect(c['cloudtrail:ev-ecs']!.description).toContain(`Images: ${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/orders:1.4.2.`);

    expect(ssm.commandCalls(GetParameterHistoryCommand)[0]!.args[0].input).toEqual({ Name: '/checkout/db/pool-size', WithDecryption: false, MaxResults: 50 });
    expect(c['cloudtrail:ev-ssm']).toMatchObject({
      service: 'checkout',
      type: 'config',
      title: 'SSM parameter /checkout/db/pool-size: "20" → "5"',
      configChange: { param: '/checkout/db/pool-size', old: '20', new: '5' },
      resource: { type: 'AWS::SSM::Parameter', arn: paramArn('/checkout/db/pool-size'), identifiers: { name: '/checkout/db/pool-size', toVersion: '3', fromVersion: '2' } },
    });

    expect(appconfig.commandCalls(ListAppConfigDeploymentsCommand)[0]!.args[0].input).toMatchObject({ ApplicationId: 'app1', EnvironmentId: 'env1' });
    expect(c['cloudtrail:ev-appconfig']).toMatchObject({
      service: 'checkout',
      type: 'config',
      title: 'AppConfig checkout-flags: version 2 → 3 in environment env1',
      version: { from: '2', to: '3' },
      state: 'implemented',
      resource: { type: 'AWS::AppConfig::Environment', arn: envArn('app1', 'env1'), identifiers: { applicationId: 'app1', environmentId: 'env1', configurationProfileId: 'prof1', deploymentStrategyId: 'strat1', previousDeploymentNumber: '3' } },
    });

    expect(c['cloudtrail:ev-code']).toMatchObject({
      type: 'deploy',
      service: 'checkout',
      title: 'Lambda checkout: new code (sha256 ZmFrZXNoYTI1), published as version 8',
      resource: { type: 'AWS::Lambda::Function', arn: fnArn('checkout'), identifiers: { functionName: 'checkout', version: '8' } },
    });
    expect(c['cloudtrail:ev-code']!.version).toBeUndefined();
    expect(c['cloudtrail:ev-rds']).toMatchObject({ type: 'infrastructure', service: 'orders-db', title: 'RDS instance orders-db modified (dBInstanceClass: db.r6g.large → db.r6g.xlarge, masterUserPassword (value withheld))' });
    // Not mapped by the directory: kept under the resource's own name.
    expect(c['cloudtrail:ev-ddb']).toMatchObject({ type: 'infrastructure', service: 'orders-table', title: 'DynamoDB table orders-table updated (provisioned throughput read 5 / write 5)' });
    expect(c['cloudtrail:ev-cfn']).toMatchObject({ type: 'infrastructure', service: 'checkout-stack', title: 'CloudFormation stack checkout-stack updated (parameters DbPassword)' });
    expect(JSON.stringify(list)).not.toContain('s3cr3t');
    expect(JSON.stringify(list)).not.toContain('****');
  });

  it('filters by service and lists newest first', async () => {
    const { clients } = setup();
    const { changes } = adapter(fakeDirectory(DIRECTORY), clients);
    const list = await changes.listChanges({ ...WINDOW, services: ['orders', 'orders-table'] });
    expect(list.map((c) => c.id)).toEqual(['cloudtrail:ev-ecs', 'cloudtrail:ev-ddb']);
  });

  it('an alias moved back later marks the earlier move rolled-back; a deployment AppConfig reports rolled back is rolled-back', async () => {
    const clients = clientsOf();
    mockClient(clients.cloudtrail)
      .on(LookupEventsCommand)
      .resolves({ Events: [aliasMove('ev-back', '2024-05-01T11:50:00.000Z', '6'), aliasMove('ev-fwd', '2024-05-01T11:30:00.000Z', '7'), aliasMove('ev-first', '2024-05-01T09:00:00.000Z', '6'), appConfigDeploy] });
    mockClient(clients.appconfig)
      .on(ListAppConfigDeploymentsCommand)
      .resolves({ Items: [{ DeploymentNumber: 5, ConfigurationProfileId: 'prof1', ConfigurationVersion: '3', State: 'ROLLED_BACK' }] });
    const { changes } = adapter(fakeDirectory(DIRECTORY), clients);
    const c = byId(await changes.listChanges(WINDOW));
    expect(c['cloudtrail:ev-fwd']).toMatchObject({ state: 'rolled-back', version: { from: '6', to: '7' } });
    expect(c['cloudtrail:ev-back']).toMatchObject({ state: 'implemented', version: { from: '7', to: '6' } });
    expect(c['cloudtrail:ev-appconfig']).toMatchObject({ state: 'rolled-back' });
    // No earlier deployment of the profile: the old version is unknown, and marked so.
    expect(c['cloudtrail:ev-appconfig']!.version).toBeUndefined();
    expect(c['cloudtrail:ev-appconfig']!.resource!.identifiers!.previous).toBe(PREVIOUS_UNKNOWN);
    expect(c['cloudtrail:ev-appconfig']!.description).toContain('The previous configuration version is unknown');
  });

  it("skips the alias and service moves CodeDeploy makes itself (its deployment is that change)", async () => {
    const clients = clientsOf();
    mockClient(clients.cloudtrail)
      .on(LookupEventsCommand)
      .resolves({ Events: [aliasMove('ev-cd', '2024-05-01T11:00:00.000Z', '7', 'checkout', { invokedBy: 'codedeploy.amazonaws.com' }), aliasMove('ev-human', '2024-05-01T10:00:00.000Z', '6')] });
    const cd = mockClient(clients.codedeploy);
    cd.on(ListDeploymentsCommand).resolves({ deployments: [] });
    const { changes } = adapter(fakeDirectory(DIRECTORY), clients, { codeDeploy: true });
    const list = await changes.listChanges(WINDOW);
    expect(list.map((c) => c.id)).toEqual(['cloudtrail:ev-human']);
    expect(partialGapsOf(list)).toEqual([]);
  });
});

describe("what the events do not carry", () => {
  it("an alias's previous version is looked back for by event name when it is not in the window", async () => {
    const clients = clientsOf();
    const trail = mockClient(clients.cloudtrail);
    trail
      .on(LookupEventsCommand, { LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }] })
      .resolves({ Events: [aliasMove('ev-alias', '2024-05-01T11:30:00.000Z', '7')] })
      .on(LookupEventsCommand, { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'UpdateAlias20150331' }] })
      .resolves({ Events: [aliasMove('ev-other-fn', '2024-04-20T10:00:00.000Z', '3', 'payments'), aliasMove('ev-old', '2024-04-10T10:00:00.000Z', '4')] });
    const { changes } = adapter(fakeDirectory(DIRECTORY), clients);
    const [change] = await changes.listChanges(WINDOW);
    expect(change).toMatchObject({ title: 'Lambda checkout alias live: version 4 → 7', version: { from: '4', to: '7' } });
    const back = trail.commandCalls(LookupEventsCommand)[1]!.args[0].input;
    expect(back.EndTime).toEqual(new Date(Date.parse('2024-05-01T11:30:00.000Z') - 1));
    expect(back.StartTime!.getTime()).toBe(Date.parse('2024-05-01T12:00:00Z') - 90 * 86_400_000);
  });

  it('an alias whose previous version is nowhere: no version, marked unknown, the look-back bounded', async () => {
    const clients = clientsOf();
    const trail = mockClient(clients.cloudtrail);
    // The general answer first: aws-sdk-client-mock lets a later general `on` override an earlier specific one.
    trail
      .on(LookupEventsCommand)
      .resolves({ Events: [], NextToken: 'more' })
      .on(LookupEventsCommand, { LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }] })
      .resolves({ Events: [aliasMove('ev-a', '2024-05-01T11:30:00.000Z', '7'), aliasMove('ev-b', '2024-05-01T11:20:00.000Z', '3', 'payments'), aliasMove('ev-c', '2024-05-01T11:10:00.000Z', '9', 'search')] });
    const { changes } = adapter(fakeDirectory(DIRECTORY), clients);
    const list = await changes.listChanges(WINDOW);
    for (const c of list) {
      expect(c.version).toBeUndefined();
      expect(c.resource!.identifiers!.previous).toBe(PREVIOUS_UNKNOWN);
      expect(c.description).toContain("The alias's previous version is unknown");
    }
    // 1 stream page + at most 4 look-back pages.
    expect(trail.commandCalls(LookupEventsCommand)).toHaveLength(5);
  });

  it('a SecureString parameter: versions only, never a value, no configChange', async () => {
    const clients = clientsOf();
    mockClient(clients.cloudtrail)
      .on(LookupEventsCommand)
      .resolves({ Events: [event({ id: 'ev-sec', name: 'PutParameter', source: 'ssm.amazonaws.com', time: '2024-05-01T11:00:00.000Z', request: { name: 'db-password', type: 'SecureString', overwrite: true, value: 'HIDDEN_DUE_TO_SECURITY_REASONS' }, response: { version: 2, tier: 'Standard' } })] });
    mockClient(clients.ssm)
      .on(GetParameterHistoryCommand)
      .resolves({ Parameters: [{ Name: 'db-password', Type: 'SecureString', Version: 1, Value: 'AQICAHh-ciphertext-1' }, { Name: 'db-password', Type: 'SecureString', Version: 2, Value: 'AQICAHh-ciphertext-2' }] });
    const { changes } = adapter(fakeDirectory({}), clients);
    const [c] = await changes.listChanges(WINDOW);
    expect(c).toMatchObject({ title: 'SSM parameter db-password (SecureString) changed: version 1 → 2 (values withheld)', resource: { identifiers: { name: 'db-password', fromVersion: '1', toVersion: '2' } } });
    expect(c!.configChange).toBeUndefined();
    expect(JSON.stringify(c)).not.toContain('ciphertext');
  });

  it('a secret kept as a plain String parameter (named like one): versions only, its values shown nowhere', async () => {
    const clients = clientsOf();
    mockClient(clients.cloudtrail)
      .on(LookupEventsCommand)
      .resolves({ Events: [event({ id: 'ev-str', name: 'PutParameter', source: 'ssm.amazonaws.com', time: '2024-05-01T11:00:00.000Z', request: { name: '/checkout/db-password', type: 'String', overwrite: true, value: 'HIDDEN_DUE_TO_SECURITY_REASONS' }, response: { version: 2 } })] });
    mockClient(clients.ssm)
      .on(GetParameterHistoryCommand)
      .resolves({ Parameters: [{ Name: '/checkout/db-password', Type: 'String', Version: 1, Value: 'hunter2' }, { Name: '/checkout/db-password', Type: 'String', Version: 2, Value: 'correct-horse' }] });
    const { changes } = adapter(fakeDirectory({}), clients);
    const [c] = await changes.listChanges(WINDOW);
    expect(c!.title).toBe('SSM parameter /checkout/db-password (named like a secret) changed: version 1 → 2 (values withheld)');
    expect(c!.configChange).toBeUndefined();
    expect(JSON.stringify(c)).not.toMatch(/hunter2|correct-horse/);
  });

  it('a parameter whose history cannot be read: the change is kept, its old value marked unknown', async () => {
    const clients = clientsOf();
    mockClient(clients.cloudtrail).on(LookupEventsCommand).resolves({ Events: [putParameter] });
    mockClient(clients.ssm).on(GetParameterHistoryCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const { changes } = adapter(fakeDirectory(DIRECTORY), clients);
    const [c] = await changes.listChanges(WINDOW);
    expect(c).toMatchObject({ title: 'SSM parameter /checkout/db/pool-size changed (version 3)', resource: { identifiers: { previous: PREVIOUS_UNKNOWN } } });
    expect(c!.configChange).toBeUndefined();
    expect(c!.description).toContain('GetParameterHistory failed (AccessDeniedException: not authorized)');
  });

  it('an ECS update whose response lists no older deployment takes the previous task definition from an earlier update in the window', async () => {
    const clients = clientsOf();
    const later = event({
      id: 'ev-later',
      name: 'UpdateService',
      source: 'ecs.amazonaws.com',
      time: '2024-05-01T11:40:00.000Z',
      request: { cluster: 'prod', service: 'orders', taskDefinition: 'orders:9' },
      response: { service: { serviceArn: ecsServiceArn('prod', 'orders'), serviceName: 'orders', clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod`, taskDefinition: tdArn('orders', 9), deployments: [{ status: 'PRIMARY', taskDefinition: tdArn('orders', 9) }] } },
    });
    mockClient(clients.cloudtrail).on(LookupEventsCommand).resolves({ Events: [later, ecsUpdate] });
    const { changes } = adapter(fakeDirectory(DIRECTORY), clients);
    const c = byId(await changes.listChanges(WINDOW));
    expect(c['cloudtrail:ev-later']).toMatchObject({ title: 'ECS prod/orders: task definition orders:8 → orders:9', version: { from: tdArn('orders', 8), to: tdArn('orders', 9) } });
  });
});

describe('a Lambda publish and the alias move that puts it in front of users', () => {
  const SHA = 'bmV3Y29kZW5ld2NvZGVuZXdjb2RlbmV3Y29kZQ==';
  const upload = (id: string, time: string, sha: string, publishAs?: string, functionName = 'checkout') =>
    event({
      id,
      name: 'UpdateFunctionCode20150331v2',
      source: 'lambda.amazonaws.com',
      time,
      request: { functionName, s3Bucket: 'artifacts', s3Key: `${functionName}/${id}.zip`, ...(publishAs ? { publish: true } : {}) },
      response: { functionName, functionArn: `${fnArn(functionName)}${publishAs ? `:${publishAs}` : ''}`, version: publishAs ?? '$LATEST', codeSha256: sha },
    });
  const publish = (id: string, time: string, version: string, sha: string) =>
    event({ id, name: 'PublishVersion20150331', source: 'lambda.amazonaws.com', time, request: { functionName: 'checkout' }, response: { functionName: 'checkout', functionArn: `${fnArn('checkout')}:${version}`, version, codeSha256: sha } });
  const stageMove = (id: string, time: string, version: string) =>
    event({ id, name: 'UpdateAlias20150331', source: 'lambda.amazonaws.com', time, request: { functionName: 'checkout', name: 'staging', functionVersion: version }, response: { aliasArn: `${fnArn('checkout')}:staging`, name: 'staging', functionVersion: version } });
  const listWith = async (events: LookupEvent[], options: Partial<AwsChangesOptions> = {}, setup?: (clients: Clients) => void) => {
    const clients = clientsOf();
    // Look-backs (by event name) find nothing: the fold must not depend on the alias's previous version.
    mockClient(clients.cloudtrail).on(LookupEventsCommand).resolves({ Events: [] }).on(LookupEventsCommand, { LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }] }).resolves({ Events: events });
    setup?.(clients);
    const { changes } = adapter(fakeDirectory(DIRECTORY), clients, options);
    const list = await changes.listChanges(WINDOW);
    expect(partialGapsOf(list)).toEqual([]);
    return list;
  };

  it('update-function-code --publish then the alias moved to that version: one change, the alias move, saying what was published', async () => {
    const list = await listWith([aliasMove('ev-alias', '2024-05-01T11:30:00.000Z', '7'), upload('ev-pub', '2024-05-01T11:29:26.000Z', SHA, '7'), aliasMove('ev-alias-before', '2024-05-01T09:45:00.000Z', '6')]);
    expect(list.map((c) => c.id)).toEqual(['cloudtrail:ev-alias', 'cloudtrail:ev-alias-before']);
    expect(list[0]).toEqual({
      id: 'cloudtrail:ev-alias',
      service: 'checkout',
      type: 'deploy',
      title: 'Lambda checkout alias live: version 6 → 7',
      description: `UpdateAlias20150331 by ${USER} at 2024-05-01T11:30:00.000Z (CloudTrail event ev-alias). Version 7 of checkout was published by ${USER} at 2024-05-01T11:29:26.000Z (UpdateFunctionCode20150331v2, CloudTrail event ev-pub): code sha256 ${SHA} from s3://artifacts/checkout/ev-pub.zip.`,
      deployedAt: '2024-05-01T11:30:00.000Z',
      state: 'implemented',
      version: { from: '6', to: '7' },
      rollbackPlan: 'Point alias live of checkout back to version 6',
      author: USER,
      resource: { type: 'AWS::Lambda::Alias', arn: `${fnArn('checkout')}:live`, identifiers: { functionName: 'checkout', alias: 'live' } },
    });
  });

  it('update-function-code, then publish-version of that code, then the alias: all three are the alias move; an overwritten upload stays its own change', async () => {
    const list = await listWith([
      aliasMove('ev-alias', '2024-05-01T11:30:00.000Z', '7'),
      publish('ev-publish', '2024-05-01T11:25:00.000Z', '7', SHA),
      upload('ev-upload', '2024-05-01T11:20:00.000Z', SHA),
      upload('ev-upload-overwritten', '2024-05-01T11:10:00.000Z', 'b2xkY29kZQ=='),
    ]);
    expect(list.map((c) => c.id)).toEqual(['cloudtrail:ev-alias', 'cloudtrail:ev-upload-overwritten']);
    expect(list[0]).toMatchObject({ resource: { type: 'AWS::Lambda::Alias' }, deployedAt: '2024-05-01T11:30:00.000Z' });
    expect(list[0]!.description).toContain(
      `Version 7 of checkout was published by ${USER} at 2024-05-01T11:25:00.000Z (PublishVersion20150331, CloudTrail event ev-publish) from the code uploaded by ${USER} at 2024-05-01T11:20:00.000Z (UpdateFunctionCode20150331v2, CloudTrail event ev-upload): code sha256 ${SHA} from s3://artifacts/checkout/ev-upload.zip.`,
    );
    // The alias's previous version was not found: the move is still the change, its old version marked unknown.
    expect(list[0]!.version).toBeUndefined();
    expect(list[0]!.resource!.identifiers!.previous).toBe(PREVIOUS_UNKNOWN);
  });

  it('a publish no move to its version follows stays a change: another version, another function, a move before it; a version two aliases move to is noted on both', async () => {
    const list = await listWith([
      aliasMove('ev-live', '2024-05-01T11:50:00.000Z', '9'),
      stageMove('ev-staging', '2024-05-01T11:40:00.000Z', '9'),
      upload('ev-pub-9', '2024-05-01T11:35:00.000Z', SHA, '9'),
      aliasMove('ev-payments', '2024-05-01T11:30:00.000Z', '8', 'payments'),
      aliasMove('ev-six', '2024-05-01T11:20:00.000Z', '6'),
      upload('ev-pub-8', '2024-05-01T11:10:00.000Z', 'ZWlnaHQ=', '8'),
      stageMove('ev-early', '2024-05-01T10:00:00.000Z', '8'),
    ]);
    const c = byId(list);
    expect(Object.keys(c).sort()).toEqual(['cloudtrail:ev-early', 'cloudtrail:ev-live', 'cloudtrail:ev-payments', 'cloudtrail:ev-pub-8', 'cloudtrail:ev-six', 'cloudtrail:ev-staging']);
    expect(c['cloudtrail:ev-pub-8']).toMatchObject({ title: 'Lambda checkout: new code (sha256 ZWlnaHQ=), published as version 8', deployedAt: '2024-05-01T11:10:00.000Z' });
    for (const id of ['cloudtrail:ev-live', 'cloudtrail:ev-staging']) expect(c[id]!.description).toContain('Version 9 of checkout was published by');
    for (const id of ['cloudtrail:ev-payments', 'cloudtrail:ev-six', 'cloudtrail:ev-early']) expect(c[id]!.description).not.toContain('published');
  });

  it('CodeDeploy moved the alias: its deployment is the change, and it says what was published', async () => {
    const appSpec = JSON.stringify({ version: 0.0, Resources: [{ fn: { Type: 'AWS::Lambda::Function', Properties: { Name: 'checkout', Alias: 'live', CurrentVersion: '6', TargetVersion: '7' } } }] });
    const list = await listWith([aliasMove('ev-cd', '2024-05-01T11:00:06.000Z', '7', 'checkout', { invokedBy: 'codedeploy.amazonaws.com' }), upload('ev-pub', '2024-05-01T10:59:00.000Z', SHA, '7')], { codeDeploy: true }, (clients) => {
      const cd = mockClient(clients.codedeploy);
      cd.on(ListDeploymentsCommand).resolves({ deployments: ['d-1'] });
      cd.on(BatchGetDeploymentsCommand).resolves({
        deploymentsInfo: [{ deploymentId: 'd-1', applicationName: 'checkout-app', deploymentGroupName: 'checkout-dg', computePlatform: 'Lambda', status: 'Succeeded', creator: 'user', createTime: new Date('2024-05-01T11:00:00Z'), startTime: new Date('2024-05-01T11:00:05Z'), revision: { revisionType: 'AppSpecContent', appSpecContent: { content: appSpec } } }],
      });
      cd.on(GetDeploymentGroupCommand).resolves({ deploymentGroupInfo: { applicationName: 'checkout-app', deploymentGroupName: 'checkout-dg', serviceRoleArn: `arn:aws:iam::${ACCOUNT}:role/CodeDeployRole`, computePlatform: 'Lambda' } });
    });
    expect(list.map((c) => c.id)).toEqual(['codedeploy:d-1']);
    expect(list[0]).toMatchObject({ version: { from: '6', to: '7' }, deployedAt: '2024-05-01T11:00:05.000Z', resource: { type: 'AWS::Lambda::Alias', arn: `${fnArn('checkout')}:live` } });
    expect(list[0]!.description).toMatch(/^Deployment d-1 of checkout-app\/checkout-dg.*Version 7 of checkout was published by .* \(UpdateFunctionCode20150331v2, CloudTrail event ev-pub\): code sha256 /);
  });
});

describe('bounds, throttling and partial answers', () => {
  it('more write events than AWS_CHANGES_MAX_EVENTS: what was read, with a gap naming the variable and how far it got', async () => {
    const clients = clientsOf();
    const trail = mockClient(clients.cloudtrail);
    trail
      .on(LookupEventsCommand)
      .resolvesOnce({ Events: [aliasMove('e1', '2024-05-01T11:50:00.000Z', '7'), unrelated], NextToken: 't' })
      .resolves({ Events: [aliasMove('e2', '2024-05-01T09:00:00.000Z', '6'), putParameter], NextToken: 't2' });
    mockClient(clients.ssm).on(GetParameterHistoryCommand).resolves({ Parameters: [] });
    const { changes } = adapter(fakeDirectory(DIRECTORY), clients, { maxEvents: 3 });
    const list = await changes.listChanges(WINDOW);
    expect(partialGapsOf(list)).toEqual([{ api: 'cloudtrail:LookupEvents', reason: 'CloudTrail had more than 3 write events in the window: only 2024-05-01T09:00:00.000Z → 2024-05-01T12:00:00.000Z was read (AWS_CHANGES_MAX_EVENTS)' }]);
    expect(list.map((c) => c.id)).toEqual(['cloudtrail:e1', 'cloudtrail:e2']);
    const stream = trail.commandCalls(LookupEventsCommand).filter((c) => c.args[0].input.LookupAttributes![0]!.AttributeKey === 'ReadOnly');
    expect(stream).toHaveLength(2);
  });

  it('a stream longer than the call budget stops at the deadline: the events read, a gap naming how far and the budget', async () => {
    const clients = clientsOf();
    let n = 0;
    // An account busy with writes: every page is full and has another after it.
    mockClient(clients.cloudtrail)
      .on(LookupEventsCommand)
      .callsFake(() => ({ Events: Array.from({ length: 50 }, () => event({ id: `ev-${n}`, name: 'CreateLogStream', source: 'logs.amazonaws.com', time: new Date(Date.parse('2024-05-01T11:59:00.000Z') - 1000 * n++).toISOString() })), NextToken: `t${n}` }));
    const { changes, time } = adapter(fakeDirectory(DIRECTORY), clients, { maxEvents: 10_000, clientSettings: { callBudgetMs: 5_000 } });
    const started = time.now();
    const list = await changes.listChanges(WINDOW);
    // Paced at 500 ms a page, 5 s hold at most 10 pages: not the 200 pages of the event cap (100 s, past any Lambda).
    expect(n / 50).toBeLessThanOrEqual(10);
    expect(time.now() - started).toBeLessThanOrEqual(5_000);
    expect(list).toEqual([]);
    expect(partialGapsOf(list)).toEqual([{ api: 'cloudtrail:LookupEvents', reason: expect.stringMatching(/^CloudTrail's write events were read back to 2024-05-01T11:5\d:\d\d\.000Z only \(window .*\): stopped at the deadline \(the call budget of 5000 ms \(AWS_TOOLS_CALL_BUDGET_MS\)\)$/) }]);
  });

  it('a request that never answers is cut at the deadline: CloudTrail keeps its first page, CodeDeploy is a gap', async () => {
    const clients = clientsOf();
    mockClient(clients.cloudtrail)
      .on(LookupEventsCommand)
      .resolvesOnce({ Events: [tableUpdate], NextToken: 't' })
      .callsFake(() => new Promise(() => undefined));
    mockClient(clients.codedeploy).on(ListDeploymentsCommand).callsFake(() => new Promise(() => undefined));
    const { changes } = adapter(fakeDirectory(DIRECTORY), clients, { codeDeploy: true, lookupIntervalMs: 0, clientSettings: { callBudgetMs: 1_000 } });
    const list = await changes.listChanges({ ...WINDOW, runId: 'hanging-run' });
    expect(list.map((c) => c.id)).toEqual(['cloudtrail:ev-ddb']);
    expect(partialGapsOf(list)).toEqual([
      { api: 'codedeploy:ListDeployments', reason: expect.stringContaining('DeadlineReached: stopped at the deadline (the call budget of 1000 ms (AWS_TOOLS_CALL_BUDGET_MS))') },
      { api: 'cloudtrail:LookupEvents', reason: expect.stringContaining("CloudTrail's write events were read back to 2024-05-01T08:00:00.000Z only") },
    ]);
  });

  it('at the deadline, look-ups of old values are not made: the change says its previous value is unknown and why', async () => {
    const clients = clientsOf();
    const trail = mockClient(clients.cloudtrail);
    trail.on(LookupEventsCommand).resolves({ Events: [aliasMove('ev-a', '2024-05-01T11:00:00.000Z', '7'), putParameter] });
    const ssm = mockClient(clients.ssm);
    ssm.on(GetParameterHistoryCommand).resolves({ Parameters: [] });
    // The first page takes the whole budget (the fake clock moves 2 s while it is read).
    let now = Date.parse('2024-05-01T12:00:00Z');
    trail.on(LookupEventsCommand, { LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }] }).callsFake(async () => {
      await Promise.resolve();
      now += 2_000;
      return { Events: [aliasMove('ev-a', '2024-05-01T11:00:00.000Z', '7'), putParameter] };
    });
    const { changes } = adapter(fakeDirectory(DIRECTORY), clients, { now: () => now, clientSettings: { callBudgetMs: 1_500 } });
    const list = await changes.listChanges(WINDOW);
    const c = byId(list);
    expect(c['cloudtrail:ev-a']!.version).toBeUndefined();
    expect(c['cloudtrail:ev-a']!.resource!.identifiers!.previous).toBe(PREVIOUS_UNKNOWN);
    expect(c['cloudtrail:ev-a']!.description).toContain('The previous version is unknown: not looked up, stopped at the deadline');
    expect(c['cloudtrail:ev-ssm']!.configChange).toBeUndefined();
    expect(ssm.commandCalls(GetParameterHistoryCommand)).toHaveLength(0);
    expect(trail.commandCalls(LookupEventsCommand)).toHaveLength(1);
    expect(partialGapsOf(list)).toEqual([{ api: 'cloudtrail:LookupEvents', reason: expect.stringMatching(/^2 look-up\(s\) of previous versions or values were not made, stopped at the deadline/) }]);
  });

  it('with a services filter, a change whose service the directory could not tell is a gap', async () => {
    const clients = clientsOf();
    mockClient(clients.cloudtrail).on(LookupEventsCommand).resolves({ Events: [tableUpdate] });
    const { changes } = adapter(fakeDirectory({}, [`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders-table`]), clients);
    const filtered = await changes.listChanges({ ...WINDOW, services: ['orders'] });
    expect(filtered).toEqual([]);
    expect(partialGapsOf(filtered)).toEqual([{ api: 'AWS service directory', reason: expect.stringContaining('the service of 1 change(s) could not be told (cannot tell which service') }]);
    // Without a filter the change is listed under its resource's name, and nothing is missing.
    const all = await changes.listChanges(WINDOW);
    expect(all).toMatchObject([{ service: 'orders-table' }]);
    expect(partialGapsOf(all)).toEqual([]);
  });

  describe('throttling through the SDK retry strategy (a fake HTTP handler: the real middleware runs)', () => {
    const handler = (responses: readonly { status: number; body: unknown }[]) => {
      const requests: string[] = [];
      return {
        requests,
        handle: async (request: { headers: Record<string, string> }) => {
          requests.push(Object.entries(request.headers).find(([k]) => k.toLowerCase() === 'x-amz-target')?.[1] ?? '');
          const r = responses[Math.min(requests.length - 1, responses.length - 1)]!;
          return { response: { statusCode: r.status, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: Readable.from([Buffer.from(JSON.stringify(r.body))]) } };
        },
      };
    };
    const throttled = { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } };
    const wire = (e: LookupEvent) => ({ ...e, EventTime: e.EventTime!.getTime() / 1000 });
    const trailClient = (h: ReturnType<typeof handler>, maxAttempts: number) => ({ ...clientsOf(), cloudtrail: new CloudTrailClient({ region: REGION, credentials: CREDENTIALS, maxAttempts, retryMode: 'standard', requestHandler: h }) });

    it('a throttled LookupEvents is retried and then succeeds', async () => {
      const h = handler([throttled, { status: 200, body: { Events: [wire(aliasMove('ev-1', '2024-05-01T11:00:00.000Z', '7')), wire(aliasMove('ev-0', '2024-05-01T10:00:00.000Z', '6'))] } }]);
      const { changes } = adapter(fakeDirectory(DIRECTORY), trailClient(h, 3));
      const list = await changes.listChanges(WINDOW);
      // The throttled call and its retry (then the older move's look-back, answered from the same fake).
      expect(h.requests.slice(0, 2)).toEqual(['CloudTrail_20131101.LookupEvents', 'CloudTrail_20131101.LookupEvents']);
      expect(list[0]).toMatchObject({ id: 'cloudtrail:ev-1', version: { from: '6', to: '7' } });
    });

    it('throttling that outlasts the retries is a ToolUnavailable naming it', async () => {
      const h = handler([throttled]);
      const { changes } = adapter(fakeDirectory(DIRECTORY), trailClient(h, 2));
      const error = await changes.listChanges(WINDOW).catch((e: unknown) => e);
      expect(h.requests).toHaveLength(2);
      expect(error).toBeInstanceOf(ToolUnavailable);
      expect((error as Error).message).toContain('CloudTrail LookupEvents failed: ThrottlingException: Rate exceeded');
    });
  });
});

describe('CodeDeploy deployments', () => {
  const lambdaAppSpec = JSON.stringify({ version: 0.0, Resources: [{ checkoutFn: { Type: 'AWS::Lambda::Function', Properties: { Name: 'checkout', Alias: 'live', CurrentVersion: '6', TargetVersion: '7' } } }] });
  const ecsAppSpec = (td: string) => `version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: "${td}"\n        LoadBalancerInfo:\n          ContainerName: "app"\n          ContainerPort: 8080\n`;
  const role = `arn:aws:iam::${ACCOUNT}:role/CodeDeployRole`;

  const setup = () => {
    const clients = clientsOf();
    mockClient(clients.cloudtrail).on(LookupEventsCommand).resolves({ Events: [] });
    const cd = mockClient(clients.codedeploy);
    const listed: { createTimeRange?: unknown; nextToken?: string }[] = [];
    cd.on(ListDeploymentsCommand).callsFake((input: { createTimeRange?: unknown; nextToken?: string }) => {
      listed.push(structuredClone(input));
      return input.nextToken === 'n' ? { deployments: ['d-EC2'] } : { deployments: ['d-LAMBDA', 'd-ECS'], nextToken: 'n' };
    });
    cd.on(BatchGetDeploymentsCommand).resolves({
      deploymentsInfo: [
        { deploymentId: 'd-LAMBDA', applicationName: 'checkout-app', deploymentGroupName: 'checkout-dg', computePlatform: 'Lambda', status: 'Succeeded', creator: 'user', createTime: new Date('2024-05-01T11:00:00Z'), startTime: new Date('2024-05-01T11:00:05Z'), deploymentConfigName: 'CodeDeployDefault.LambdaCanary10Percent5Minutes', revision: { revisionType: 'AppSpecContent', appSpecContent: { content: lambdaAppSpec, sha256: 'abc' } } },
        { deploymentId: 'd-ECS', applicationName: 'orders-app', deploymentGroupName: 'orders-dg', computePlatform: 'ECS', status: 'Failed', creator: 'user', createTime: new Date('2024-05-01T10:00:00Z'), revision: { revisionType: 'AppSpecContent', appSpecContent: { content: ecsAppSpec(tdArn('orders', 8)) } }, previousRevision: { revisionType: 'AppSpecContent', appSpecContent: { content: ecsAppSpec(tdArn('orders', 7)) } }, rollbackInfo: { rollbackDeploymentId: 'd-RB', rollbackMessage: 'alarm orders-5xx' } },
        { deploymentId: 'd-EC2', applicationName: 'legacy', deploymentGroupName: 'fleet', computePlatform: 'Server', status: 'Stopped', creator: 'user', createTime: new Date('2024-05-01T09:00:00Z'), revision: { revisionType: 'S3', s3Location: { bucket: 'builds', key: 'legacy/2.zip', bundleType: 'zip', eTag: 'e2' } }, previousRevision: { revisionType: 'S3', s3Location: { bucket: 'builds', key: 'legacy/1.zip', bundleType: 'zip', eTag: 'e1' } } },
      ],
    });
    cd.on(GetDeploymentGroupCommand, { applicationName: 'checkout-app' }).resolves({ deploymentGroupInfo: { applicationName: 'checkout-app', deploymentGroupName: 'checkout-dg', serviceRoleArn: role, computePlatform: 'Lambda' } });
    cd.on(GetDeploymentGroupCommand, { applicationName: 'orders-app' }).resolves({ deploymentGroupInfo: { applicationName: 'orders-app', deploymentGroupName: 'orders-dg', serviceRoleArn: role, computePlatform: 'ECS', ecsServices: [{ clusterName: 'prod', serviceName: 'orders' }] } });
    cd.on(GetDeploymentGroupCommand, { applicationName: 'legacy' }).rejects(Object.assign(new Error('no such group'), { name: 'DeploymentGroupDoesNotExistException' }));
    return { clients, cd, listed };
  };

  it('lists the window page by page, reads them 25 at a time, and makes each a deploy with its resource and versions', async () => {
    const { clients, cd, listed } = setup();
    const { changes } = adapter(fakeDirectory(DIRECTORY), clients, { codeDeploy: true });
    const c = byId(await changes.listChanges(WINDOW));
    const list = listed;
    expect(list[0]!.createTimeRange).toEqual({ start: new Date(WINDOW.from), end: new Date(WINDOW.to) });
    expect(list[0]!.nextToken).toBeUndefined();
    expect(list[1]!.nextToken).toBe('n');
    expect(cd.commandCalls(BatchGetDeploymentsCommand)[0]!.args[0].input).toEqual({ deploymentIds: ['d-LAMBDA', 'd-ECS', 'd-EC2'] });

    expect(c['codedeploy:d-LAMBDA']).toEqual({
      id: 'codedeploy:d-LAMBDA',
      service: 'checkout',
      type: 'deploy',
      title: 'CodeDeploy checkout-app/checkout-dg: Lambda checkout alias live version 6 → 7',
      description: expect.stringContaining('with CodeDeployDefault.LambdaCanary10Percent5Minutes, status Succeeded'),
      deployedAt: '2024-05-01T11:00:05.000Z',
      state: 'implemented',
      author: 'CodeDeploy (user)',
      version: { from: '6', to: '7' },
      rollbackPlan: 'Point alias live of checkout back to version 6',
      resource: { type: 'AWS::Lambda::Alias', arn: `${fnArn('checkout')}:live`, identifiers: { functionName: 'checkout', alias: 'live' } },
    });
    expect(c['codedeploy:d-ECS']).toMatchObject({
      service: 'orders',
      state: 'rolled-back',
      title: 'CodeDeploy orders-app/orders-dg: ECS prod/orders task definition orders:7 → orders:8 (failed)',
      version: { from: tdArn('orders', 7), to: tdArn('orders', 8) },
      resource: { type: 'AWS::ECS::Service', arn: ecsServiceArn('prod', 'orders'), identifiers: { cluster: 'prod', service: 'orders' } },
    });
    expect(c['codedeploy:d-ECS']!.description).toContain('Rolled back by deployment d-RB: alarm orders-5xx.');
    expect(c['codedeploy:d-EC2']).toMatchObject({
      service: 'legacy',
      state: 'cancelled',
      title: 'CodeDeploy legacy/fleet: s3://builds/legacy/2.zip (ETag e2) (stopped)',
      version: { from: 's3://builds/legacy/1.zip (ETag e1)', to: 's3://builds/legacy/2.zip (ETag e2)' },
    });
    expect(c['codedeploy:d-EC2']!.resource).toBeUndefined();
    expect(c['codedeploy:d-EC2']!.description).toContain('Its deployment group could not be read (DeploymentGroupDoesNotExistException: no such group)');
  });

  it('CodeDeploy unreadable while CloudTrail answered: the CloudTrail changes and a gap; both unreadable: ToolUnavailable', async () => {
    const clients = clientsOf();
    mockClient(clients.cloudtrail).on(LookupEventsCommand).resolves({ Events: [tableUpdate] });
    mockClient(clients.codedeploy).on(ListDeploymentsCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const { changes } = adapter(fakeDirectory(DIRECTORY), clients, { codeDeploy: true });
    const list = await changes.listChanges(WINDOW);
    expect(partialGapsOf(list)).toEqual([{ api: 'codedeploy:ListDeployments', reason: 'AccessDeniedException: denied: only CloudTrail events were read' }]);
    expect(list.map((c) => c.id)).toEqual(['cloudtrail:ev-ddb']);

    const down = clientsOf();
    mockClient(down.cloudtrail).on(LookupEventsCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    mockClient(down.codedeploy).on(ListDeploymentsCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await expect(adapter(fakeDirectory(DIRECTORY), down, { codeDeploy: true }).changes.listChanges(WINDOW)).rejects.toThrow('AWS changes unavailable: CloudTrail LookupEvents failed: AccessDeniedException: denied; CodeDeploy failed: AccessDeniedException: denied');
  });

  it('reads AppSpec values from JSON and YAML, not from a longer key', () => {
    expect(appSpecValue(lambdaAppSpec, 'Name')).toBe('checkout');
    expect(appSpecValue(ecsAppSpec(tdArn('orders', 8)), 'TaskDefinition')).toBe(tdArn('orders', 8));
    expect(appSpecValue('ContainerName: "app"\n', 'Name')).toBeUndefined();
  });
});

describe('partitions', () => {
  it("an event's ARNs are in its partition: the caller's ARN says it, else the region's prefix", async () => {
    const { partitionOf } = await import('../../../../functions/core/tools/aws/cloudtrail-events.ts');
    expect(['us-east-1', 'cn-north-1', 'us-gov-west-1', 'us-iso-east-1', 'us-isob-east-1', 'eu-isoe-west-1', 'us-isof-south-1', 'eusc-de-east-1'].map(partitionOf)).toEqual(['aws', 'aws-cn', 'aws-us-gov', 'aws-iso', 'aws-iso-b', 'aws-iso-e', 'aws-iso-f', 'aws-eusc']);
    const { toTrailEvent } = await import('../../../../functions/core/tools/aws/changes.ts');
    const raw = aliasMove('ev-cn', '2024-05-01T11:00:00.000Z', '7');
    const record = JSON.parse(raw.CloudTrailEvent!) as Record<string, unknown>;
    const inChina = { ...raw, CloudTrailEvent: JSON.stringify({ ...record, awsRegion: 'cn-north-1', userIdentity: { ...(record.userIdentity as object), arn: `arn:aws-cn:sts::${ACCOUNT}:assumed-role/deployer/alice` } }) };
    expect(toTrailEvent(inChina)!.partition).toBe('aws-cn');
    const isoF = { ...raw, CloudTrailEvent: JSON.stringify({ ...record, awsRegion: 'us-isof-south-1', userIdentity: { type: 'AWSService', invokedBy: 'codedeploy.amazonaws.com' } }) };
    expect(toTrailEvent(isoF)!.partition).toBe('aws-iso-f');
  });
});

describe('the event table', () => {
  const e = (name: string, source: string, request: Record<string, unknown>, response: Record<string, unknown> = {}): TrailEvent => ({
    id: 'x',
    name,
    source,
    time: '2024-05-01T10:00:00.000Z',
    region: REGION,
    account: ACCOUNT,
    partition: 'aws',
    request,
    response,
    resourceArns: [],
  });

  it("matches Lambda's dated names, never a longer name", () => {
    expect(mapperFor('lambda.amazonaws.com', 'UpdateFunctionCode20150331v2')).toBeDefined();
    expect(mapperFor('lambda.amazonaws.com', 'UpdateFunctionConfiguration20150331v2')).toBeDefined();
    expect(mapperFor('ecs.amazonaws.com', 'UpdateService')).toBeDefined();
    expect(mapperFor('ecs.amazonaws.com', 'UpdateServicePrimaryTaskSet')).toBeUndefined();
    expect(mapperFor('ecs.amazonaws.com', 'DescribeServices')).toBeUndefined();
    expect(handledEventNames().join('\n')).toContain('appconfig.amazonaws.com: StartDeployment');
  });

  it('names Lambda environment variables, never their values', () => {
    const d = draftOf(e('UpdateFunctionConfiguration20150331v2', 'lambda.amazonaws.com', { functionName: 'checkout', memorySize: 1024, environment: { variables: { DB_PASSWORD: 'hunter2', POOL: '5' } } }));
    expect(d!.title).toBe('Lambda checkout: configuration changed (memorySize=1024, environment variables (DB_PASSWORD, POOL))');
    expect(JSON.stringify(d)).toContain('hunter2'); // the raw event is kept on the draft …
    expect(d!.title + d!.details.join(' ')).not.toContain('hunter2'); // … but never said
  });

  it('reads camelCase and PascalCase parameters alike; Application Auto Scaling ids become ARNs', () => {
    const d = draftOf(e('StartDeployment', 'appconfig.amazonaws.com', { ApplicationId: 'a', EnvironmentId: 'e', ConfigurationProfileId: 'p', DeploymentStrategyId: 's', ConfigurationVersion: '4' }));
    expect(d!.resource!.identifiers).toEqual({ applicationId: 'a', environmentId: 'e', configurationProfileId: 'p', deploymentStrategyId: 's' });
    const scaling = draftOf(e('PutScalingPolicy', 'application-autoscaling.amazonaws.com', { serviceNamespace: 'ecs', resourceId: 'service/prod/orders', policyName: 'cpu', policyType: 'TargetTrackingScaling' }));
    expect(scaling).toMatchObject({ type: 'infrastructure', title: 'service/prod/orders: scaling policy cpu set (TargetTrackingScaling)', arns: [ecsServiceArn('prod', 'orders')], fallbackService: 'orders' });
  });

  it.each([
    ['lambda.amazonaws.com', 'PublishVersion20150331', { functionName: 'checkout' }, { functionArn: `${fnArn('checkout')}:8`, version: '8' }, 'deploy', 'Lambda checkout: version 8 published'],
    ['lambda.amazonaws.com', 'PutFunctionConcurrency20171031', { functionName: 'checkout', reservedConcurrentExecutions: 5 }, { reservedConcurrentExecutions: 5 }, 'infrastructure', 'Lambda checkout: reserved concurrency → 5'],
    ['lambda.amazonaws.com', 'DeleteFunctionConcurrency20171031', { functionName: 'checkout' }, {}, 'infrastructure', 'Lambda checkout: reserved concurrency removed'],
    ['lambda.amazonaws.com', 'UpdateEventSourceMapping20150331', { uUID: 'u-1', batchSize: 1, enabled: false }, { uUID: 'u-1', functionArn: fnArn('checkout'), eventSourceArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:orders-q` }, 'config', 'Lambda checkout: event source mapping from orders-q changed (batchSize=1, enabled=false)'],
    ['ecs.amazonaws.com', 'CreateService', { cluster: 'prod', serviceName: 'orders', taskDefinition: 'orders:1' }, { service: { serviceArn: ecsServiceArn('prod', 'orders'), serviceName: 'orders', clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod`, taskDefinition: tdArn('orders', 1) } }, 'deploy', 'ECS prod/orders: service created with task definition orders:1'],
    ['ecs.amazonaws.com', 'UpdateService', { cluster: 'prod', service: 'orders', desiredCount: 6 }, { service: { serviceArn: ecsServiceArn('prod', 'orders'), serviceName: 'orders', taskDefinition: tdArn('orders', 8) } }, 'infrastructure', 'ECS prod/orders: desired count → 6'],
    ['ecs.amazonaws.com', 'UpdateService', { cluster: 'prod', service: 'orders', forceNewDeployment: true }, { service: { serviceArn: ecsServiceArn('prod', 'orders'), serviceName: 'orders', taskDefinition: tdArn('orders', 8) } }, 'deploy', 'ECS prod/orders: new deployment forced (task definition orders:8)'],
    ['cloudformation.amazonaws.com', 'ExecuteChangeSet', { changeSetName: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:changeSet/cs-42/abc`, stackName: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/checkout-stack/0a1b` }, null, 'infrastructure', 'CloudFormation stack checkout-stack: change set cs-42 executed'],
    ['autoscaling.amazonaws.com', 'UpdateAutoScalingGroup', { autoScalingGroupName: 'web-asg', maxSize: 10, launchTemplate: { launchTemplateName: 'web', version: '7' } }, null, 'deploy', 'Auto Scaling group web-asg: maxSize=10, launch template web version 7'],
    ['autoscaling.amazonaws.com', 'SetDesiredCapacity', { autoScalingGroupName: 'web-asg', desiredCapacity: 2 }, null, 'infrastructure', 'Auto Scaling group web-asg: desired capacity → 2'],
    ['autoscaling.amazonaws.com', 'PutScalingPolicy', { autoScalingGroupName: 'web-asg', policyName: 'cpu50', policyType: 'TargetTrackingScaling' }, { policyARN: 'arn:x' }, 'infrastructure', 'Auto Scaling group web-asg: scaling policy cpu50 set (TargetTrackingScaling)'],
    ['application-autoscaling.amazonaws.com', 'RegisterScalableTarget', { serviceNamespace: 'dynamodb', resourceId: 'table/orders-table', scalableDimension: 'dynamodb:table:ReadCapacityUnits', minCapacity: 5, maxCapacity: 50 }, null, 'infrastructure', 'table/orders-table: scalable target dynamodb:table:ReadCapacityUnits set (min 5, max 50)'],
    ['rds.amazonaws.com', 'ModifyDBCluster', { dBClusterIdentifier: 'orders-aurora', backupRetentionPeriod: 7 }, { dBClusterArn: `arn:aws:rds:${REGION}:${ACCOUNT}:cluster:orders-aurora` }, 'infrastructure', 'RDS cluster orders-aurora modified (backupRetentionPeriod=7)'],
    ['rds.amazonaws.com', 'RebootDBInstance', { dBInstanceIdentifier: 'orders-db', forceFailover: true }, { dBInstanceArn: `arn:aws:rds:${REGION}:${ACCOUNT}:db:orders-db` }, 'infrastructure', 'RDS instance orders-db rebooted with failover'],
    ['rds.amazonaws.com', 'FailoverDBCluster', { dBClusterIdentifier: 'orders-aurora' }, { dBCluster: { dBClusterArn: `arn:aws:rds:${REGION}:${ACCOUNT}:cluster:orders-aurora` } }, 'infrastructure', 'RDS cluster orders-aurora failed over'],
    ['rds.amazonaws.com', 'ModifyDBParameterGroup', { dBParameterGroupName: 'orders-pg', parameters: [{ parameterName: 'max_connections', parameterValue: '100', applyMethod: 'pending-reboot' }] }, { dBParameterGroupName: 'orders-pg' }, 'config', 'RDS parameter group orders-pg: max_connections=100 (pending-reboot)'],
    ['apigateway.amazonaws.com', 'CreateDeployment', { restApiId: 'a1b2', stageName: 'prod' }, { id: 'd1' }, 'deploy', 'API Gateway a1b2: new deployment to stage prod'],
    ['apigateway.amazonaws.com', 'UpdateStage', { restApiId: 'a1b2', stageName: 'prod', patchOperations: [{ op: 'replace', path: '/variables/apiKey', value: 'sk-secret' }] }, null, 'config', 'API Gateway a1b2 stage prod: replace /variables/apiKey'],
    ['sqs.amazonaws.com', 'SetQueueAttributes', { queueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/orders-q`, attributes: { VisibilityTimeout: '5', Policy: '{…}' } }, null, 'config', 'SQS queue orders-q: VisibilityTimeout=5, Policy'],
  ] as const)('%s %s → a %s… change', (source, name, request, response, type, title) => {
    const d = draftOf(e(name, source, request as Record<string, unknown>, (response ?? {}) as Record<string, unknown>));
    expect(d).toMatchObject({ type, title });
    expect(JSON.stringify([d!.title, d!.details])).not.toContain('sk-secret');
  });

  it('reads a Lambda function from a name, a qualified name, a partial ARN or an ARN', () => {
    const ev = e('x', 'lambda.amazonaws.com', {});
    expect(lambdaFunction(ev, 'checkout')).toEqual({ name: 'checkout', arn: fnArn('checkout') });
    expect(lambdaFunction(ev, 'checkout:live')).toEqual({ name: 'checkout', arn: fnArn('checkout') });
    expect(lambdaFunction(ev, `${ACCOUNT}:function:checkout`)).toEqual({ name: 'checkout', arn: fnArn('checkout') });
    expect(lambdaFunction(ev, `arn:aws-cn:lambda:cn-north-1:444455556666:function:checkout:7`)).toEqual({ name: 'checkout', arn: 'arn:aws-cn:lambda:cn-north-1:444455556666:function:checkout' });
  });
});

describe('the aws-changes row', () => {
  it('is the aws family row for changes; its settings name the variable at fault; it builds with the history over the table', async () => {
    const { adapterRow, parseSettings } = await import('../../../../functions/core/tools/adapters.ts');
    const { chooseAdapters } = await import('../../../../functions/core/tools/runtime.ts');
    const row = adapterRow('aws-changes')!;
    expect(chooseAdapters({ TOOLS_DEFAULT: 'aws' }).byPort.changes?.name).toBe('aws-changes');
    expect(parseSettings(row, { AWS_CHANGES_MAX_EVENTS: '500', AWS_CHANGES_CODEDEPLOY: 'false', AWS_HISTORY_MAX_CANDIDATES: '100' })).toMatchObject({ maxEvents: 500, codeDeploy: false, historyMaxCandidates: 100 });
    expect(() => parseSettings(row, { AWS_CHANGES_MAX_EVENTS: '10' })).toThrow('AWS_CHANGES_MAX_EVENTS must be an integer between 50 and 10000, got "10"');
    expect(() => parseSettings(row, { AWS_CHANGES_CODEDEPLOY: 'yes' })).toThrow('AWS_CHANGES_CODEDEPLOY must be true or false, got "yes"');
    expect(row.iam).toContainEqual({ resource: 'incident-table', actions: ['dynamodb:Query'], leadingKeyPrefixes: ['HISTORY#'], methods: ['searchIncidents'] });
    expect(row.iam).toContainEqual({ resource: 'incident-table', actions: ['dynamodb:PutItem'], leadingKeyPrefixes: ['HISTORY#'], methods: ['recordIncident'] });
    const built = await row.build!(parseSettings(row, {}), { getSecret: async () => '' });
    expect(built.changes).toBeInstanceOf(AwsChanges);
    // No table in this context: the history is a gap saying so, not an empty past.
    await expect(built.changes!.searchIncidents({ text: 'pool' })).rejects.toThrow('needs the incident table (TABLE_NAME)');
  });
});
