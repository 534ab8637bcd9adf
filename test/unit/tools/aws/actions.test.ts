/**
 * The AWS actions adapter (functions/core/tools/aws/actions.ts, rollback-targets.ts): typed rollbacks of a Lambda
 * alias (GetAlias / UpdateAlias), an ECS service (DescribeServices / UpdateService, the SDK's waiter), an SSM parameter
 * (GetParameter / PutParameter) and an AppConfig environment (ListDeployments + GetDeployment / StartDeployment), each
 * with its undo; the current-state guard refusing a resource someone changed since; already-at-target idempotence; the
 * AWS_ACTIONS_RESOURCES allow-list; unknown or hidden old values; kinds the adapter cannot do; SDK errors named in the
 * detail; throttling retried by the SDK's own retry strategy (a fake HTTP handler, so the real middleware runs). The
 * catalog's typed preconditions are here too. Responses follow the shapes of the AWS API references.
 */
import { Readable } from 'node:stream';
import { AppConfigClient, GetDeploymentCommand, ListDeploymentsCommand, StartDeploymentCommand } from '@aws-sdk/client-appconfig';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { GetAliasCommand, LambdaClient, UpdateAliasCommand } from '@aws-sdk/client-lambda';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../functions/core/config.ts';
import type { MitigationAction } from '../../../../functions/core/model.ts';
import { buildAction, unmetPreconditions } from '../../../../functions/core/runbooks/catalog.ts';
import { inverseOf, unmetAtExecution } from '../../../../functions/core/runbooks/inverse.ts';
import { adapterRow, parseSettings } from '../../../../functions/core/tools/adapters.ts';
import { AwsActions, type AwsActionsOptions } from '../../../../functions/core/tools/aws/actions.ts';
import { ACTIONS_API, arnMatches, parseActionSettings, rollbackTarget } from '../../../../functions/core/tools/aws/rollback-targets.ts';
import type { ChangeRequest } from '../../../../functions/core/tools/ports.ts';
import { chooseAdapters } from '../../../../functions/core/tools/runtime.ts';

const ACCOUNT = '111122223333';
const AT = `eu-west-1:${ACCOUNT}`;
const FUNCTION_ARN = `arn:aws:lambda:${AT}:function:checkout`;
const ALIAS_ARN = `${FUNCTION_ARN}:live`;
const SERVICE_ARN = `arn:aws:ecs:${AT}:service/prod/checkout`;
const td = (revision: number) => `arn:aws:ecs:${AT}:task-definition/checkout:${revision}`;
const PARAMETER_ARN = `arn:aws:ssm:${AT}:parameter/checkout/pool-size`;
const ENVIRONMENT_ARN = `arn:aws:appconfig:${AT}:application/app1234/environment/env5678`;
const ALLOW = [
  `arn:aws:lambda:${AT}:function:checkout*`,
  `arn:aws:ecs:${AT}:service/prod/*`,
  `arn:aws:ssm:${AT}:parameter/checkout/*`,
  `arn:aws:appconfig:${AT}:application/app1234/*`,
  `arn:aws:appconfig:${AT}:deploymentstrategy/*`,
];

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const config = { region: 'eu-west-1', credentials: CREDENTIALS };
const lambda = new LambdaClient(config);
const ecs = new ECSClient(config);
const ssm = new SSMClient(config);
const appconfig = new AppConfigClient(config);
const lambdaMock = mockClient(lambda);
const ecsMock = mockClient(ecs);
const ssmMock = mockClient(ssm);
const appconfigMock = mockClient(appconfig);

const adapter = (options: AwsActionsOptions = {}) => new AwsActions({ resources: ALLOW, clients: { lambda, ecs, ssm, appconfig }, ...options });
const run = (action: MitigationAction, options: AwsActionsOptions = {}) => adapter(options).execute({ incidentId: 'inc-1', action });

const change = (over: Partial<ChangeRequest>): ChangeRequest => ({
  id: 'CT-1',
  service: 'checkout',
  type: 'deploy',
  title: 'a change',
  description: '',
  deployedAt: '2026-03-14T12:04:00.000Z',
  state: 'implemented',
  ...over,
});
const aliasChange = change({ id: 'CT-alias', version: { from: '41', to: '42' }, resource: { type: 'AWS::Lambda::Alias', arn: ALIAS_ARN, identifiers: { functionName: 'checkout', alias: 'live' } } });
const serviceChange = change({ id: 'CT-ecs', version: { from: td(6), to: td(7) }, resource: { type: 'AWS::ECS::Service', arn: SERVICE_ARN, identifiers: { cluster: 'prod', service: 'checkout' } } });
const parameterChange = change({ id: 'CT-ssm', type: 'config', configChange: { param: '/checkout/pool-size', old: '20', new: '10' }, resource: { type: 'AWS::SSM::Parameter', arn: PARAMETER_ARN, identifiers: { name: '/checkout/pool-size' } } });
const appConfigChange = change({
  id: 'CT-appconfig',
  type: 'config',
  version: { from: '2', to: '3' },
  resource: { type: 'AWS::AppConfig::Environment', arn: ENVIRONMENT_ARN, identifiers: { applicationId: 'app1234', environmentId: 'env5678', configurationProfileId: 'prof901', deploymentStrategyId: 'strat12' } },
});

/** The actions the planner builds from a change (plan.ts: the same params). */
const rollbackOf = (c: ChangeRequest): MitigationAction => {
  const built = buildAction('rollback-change', { service: c.service, target: c.id, change: c, params: { fromVersion: c.version?.to, toVersion: c.version?.from, resource: c.resource } }, `Roll back ${c.id}`);
  if (!built.ok) throw new Error(`not buildable: ${built.unmet.join('; ')}`);
  return built.action;
};
const revertOf = (c: ChangeRequest, kind: 'revert-config' | 'toggle-feature-flag' = 'revert-config'): MitigationAction => {
  const cfg = c.configChange!;
  const built = buildAction(kind, { service: c.service, target: kind === 'revert-config' ? cfg.param : c.id, change: c, params: { param: cfg.param, flag: cfg.param, changeId: c.id, from: cfg.new, to: cfg.old, resource: c.resource } }, `Revert ${cfg.param}`);
  if (!built.ok) throw new Error(`not buildable: ${built.unmet.join('; ')}`);
  return built.action;
};
const undoOf = (a: MitigationAction): MitigationAction => inverseOf(a)!;

const sdkError = (name: string, message: string) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });

beforeEach(() => {
  lambdaMock.reset();
  ecsMock.reset();
  ssmMock.reset();
  appconfigMock.reset();
});

describe('settings and the row', () => {
  it('parses the allow-list, the ECS wait and the AppConfig strategy; unset allows nothing', () => {
    expect(parseActionSettings({ AWS_ACTIONS_RESOURCES: ` ${ALLOW[0]} ,, ${ALLOW[1]}`, AWS_ACTIONS_ECS_WAIT_SECONDS: '30', AWS_ACTIONS_APPCONFIG_STRATEGY_ID: 'AppConfig.AllAtOnce' })).toEqual({
      resources: [ALLOW[0], ALLOW[1]],
      ecsWaitSeconds: 30,
      appConfigStrategyId: 'AppConfig.AllAtOnce',
    });
    expect(parseActionSettings({})).toEqual({ resources: [], ecsWaitSeconds: 0 });
  });

  it.each([
    [{ AWS_ACTIONS_RESOURCES: 'checkout' }, /AWS_ACTIONS_RESOURCES must be comma-separated ARN patterns.*"checkout"/],
    [{ AWS_ACTIONS_RESOURCES: `arn:aws:dynamodb:${AT}:table/orders` }, /AWS_ACTIONS_RESOURCES pattern .* must name one of the services .*got "dynamodb"/],
    [{ AWS_ACTIONS_RESOURCES: `arn:aws:*:${AT}:*` }, /must name one of the services/],
    [{ AWS_ACTIONS_ECS_WAIT_SECONDS: '5' }, /AWS_ACTIONS_ECS_WAIT_SECONDS must be 0 .* between 10 and 45, got "5"/],
    [{ AWS_ACTIONS_ECS_WAIT_SECONDS: '120' }, /AWS_ACTIONS_ECS_WAIT_SECONDS/],
    [{ AWS_ACTIONS_APPCONFIG_STRATEGY_ID: 'All At Once' }, /AWS_ACTIONS_APPCONFIG_STRATEGY_ID must be a deployment strategy id/],
  ])('refuses %j with a ConfigError naming the variable', (env, message) => {
    expect(() => parseActionSettings(env)).toThrow(ConfigError);
    expect(() => parseActionSettings(env)).toThrow(message);
  });

  it('is the aws family row for the actions port, chosen by TOOLS_DEFAULT=aws, granting its API only on the allow-list', () => {
    const row = adapterRow('aws-actions')!;
    expect(row).toMatchObject({ family: 'aws', ports: ['actions'], selectors: [], stackSetting: 'tools' });
    expect(row.iam).toEqual([
      { resource: 'arns-of-variable', variable: 'AWS_ACTIONS_RESOURCES', actions: ACTIONS_API },
      { resource: 'roles-of-variable', variable: 'AWS_ACTIONS_ECS_PASS_ROLES', passedToServices: ['ecs-tasks.amazonaws.com', 'ecs.amazonaws.com'], actions: ['iam:PassRole'] },
    ]);
    expect(chooseAdapters({ TOOLS_DEFAULT: 'aws' }).byPort.actions?.name).toBe('aws-actions');
    expect(parseSettings(row, { AWS_ACTIONS_RESOURCES: ALLOW.join(','), AWS_TOOLS_MAX_ATTEMPTS: '5' })).toMatchObject({ resources: ALLOW, client: { maxAttempts: 5 } });
    expect(() => parseSettings(row, { AWS_ACTIONS_RESOURCES: 'nope' })).toThrow(/AWS_ACTIONS_RESOURCES/);
  });

  it('matches ARN patterns as IAM does: * any run, ? one character, everything else literally', () => {
    expect(arnMatches(`arn:aws:lambda:${AT}:function:checkout*`, ALIAS_ARN)).toBe(true);
    expect(arnMatches(`arn:aws:lambda:${AT}:function:checkout`, ALIAS_ARN)).toBe(false);
    expect(arnMatches('arn:aws:lambda:eu-west-?:*:function:checkout:live', ALIAS_ARN)).toBe(true);
    expect(arnMatches('arn:aws:ssm:eu.west.1:*:parameter/*', PARAMETER_ARN)).toBe(false);
  });

  it('reads each resource kind from its ARN when identifiers are missing, and names what is missing otherwise', () => {
    expect(rollbackTarget({ type: 'AWS::Lambda::Alias', arn: ALIAS_ARN })).toMatchObject({ ok: true, target: { kind: 'lambda-alias', functionName: 'checkout', alias: 'live', arns: [FUNCTION_ARN, ALIAS_ARN] } });
    expect(rollbackTarget({ type: 'AWS::ECS::Service', arn: SERVICE_ARN })).toMatchObject({ ok: true, target: { cluster: 'prod', service: 'checkout', arns: [SERVICE_ARN] } });
    expect(rollbackTarget({ type: 'AWS::SSM::Parameter', arn: PARAMETER_ARN })).toMatchObject({ ok: true, target: { name: '/checkout/pool-size', arns: [PARAMETER_ARN] } });
    expect(rollbackTarget({ type: 'AWS::AppConfig::Environment', arn: ENVIRONMENT_ARN })).toEqual({ ok: false, problem: expect.stringContaining('identifiers.configurationProfileId') });
    expect(rollbackTarget({ type: 'AWS::Lambda::Alias', arn: FUNCTION_ARN })).toEqual({ ok: false, problem: expect.stringContaining('names no alias') });
    expect(rollbackTarget({ type: 'AWS::CloudFormation::Stack', arn: `arn:aws:cloudformation:${AT}:stack/app/1` })).toEqual({ ok: false, problem: expect.stringContaining('no typed rollback for AWS::CloudFormation::Stack') });
  });
});

describe('Lambda alias', () => {
  const alias = (version: string, weights?: Record<string, number>) => ({ AliasArn: ALIAS_ARN, Name: 'live', FunctionVersion: version, RevisionId: `rev-${version}`, Description: '', ...(weights ? { RoutingConfig: { AdditionalVersionWeights: weights } } : {}) });

  it('rolls back: UpdateAlias to the previous version, with the revision it read', async () => {
    lambdaMock.on(GetAliasCommand).resolves(alias('42'));
    lambdaMock.on(UpdateAliasCommand).resolves(alias('41'));
    const result = await run(rollbackOf(aliasChange));
    expect(result).toEqual({ status: 'succeeded', detail: 'Lambda alias checkout:live: roll back from version 42 to 41 (UpdateAlias; takes effect on the next invocation)' });
    expect(lambdaMock.commandCalls(GetAliasCommand)[0]!.args[0].input).toEqual({ FunctionName: 'checkout', Name: 'live' });
    expect(lambdaMock.commandCalls(UpdateAliasCommand)[0]!.args[0].input).toEqual({ FunctionName: 'checkout', Name: 'live', FunctionVersion: '41', RevisionId: 'rev-42' });
  });

  it('undoes the rollback: the same call with the versions swapped', async () => {
    lambdaMock.on(GetAliasCommand).resolves(alias('41'));
    lambdaMock.on(UpdateAliasCommand).resolves(alias('42'));
    const result = await run(undoOf(rollbackOf(aliasChange)));
    expect(result.status).toBe('succeeded');
    expect(result.detail).toContain('roll forward from version 41 to 42');
    expect(lambdaMock.commandCalls(UpdateAliasCommand)[0]!.args[0].input).toMatchObject({ FunctionVersion: '42', RevisionId: 'rev-41' });
  });

  it('refuses when someone moved the alias since, and never writes', async () => {
    lambdaMock.on(GetAliasCommand).resolves(alias('43'));
    const result = await run(rollbackOf(aliasChange));
    expect(result).toEqual({ status: 'failed', detail: expect.stringMatching(/^Lambda alias checkout:live is at version 43, not 42 as change CT-alias left it: someone changed it since; not going to roll back it blindly/) });
    expect(lambdaMock.commandCalls(UpdateAliasCommand)).toHaveLength(0);
  });

  it('refuses an alias mid traffic shift (weighted routing), even on the expected version', async () => {
    lambdaMock.on(GetAliasCommand).resolves(alias('42', { '43': 0.1 }));
    const result = await run(rollbackOf(aliasChange));
    expect(result.status).toBe('failed');
    expect(result.detail).toContain('at version 42 with 10 % of traffic on version 43');
    expect(lambdaMock.commandCalls(UpdateAliasCommand)).toHaveLength(0);
  });

  it('is idempotent: already on the previous version is succeeded, with no write', async () => {
    lambdaMock.on(GetAliasCommand).resolves(alias('41'));
    expect(await run(rollbackOf(aliasChange))).toEqual({ status: 'succeeded', detail: 'Lambda alias checkout:live already at version 41: nothing to do' });
    expect(lambdaMock.commandCalls(UpdateAliasCommand)).toHaveLength(0);
  });

  it('an SDK error is failed, naming the API and the error (a revision changed between read and write)', async () => {
    lambdaMock.on(GetAliasCommand).resolves(alias('42'));
    lambdaMock.on(UpdateAliasCommand).rejects(sdkError('PreconditionFailedException', 'The Revision Id provided does not match the latest Revision Id.'));
    expect(await run(rollbackOf(aliasChange))).toEqual({ status: 'failed', detail: 'Lambda alias checkout:live: UpdateAlias failed: PreconditionFailedException: The Revision Id provided does not match the latest Revision Id.' });
  });

  it('needs the function ARN in the allow-list too (IAM authorises alias calls on the function)', async () => {
    const result = await run(rollbackOf(aliasChange), { resources: [ALIAS_ARN] });
    expect(result).toEqual({ status: 'failed', detail: expect.stringContaining(`${FUNCTION_ARN} is not in AWS_ACTIONS_RESOURCES (${ALIAS_ARN}); add it`) });
    expect(lambdaMock.calls()).toHaveLength(0);
  });
});

describe('ECS service', () => {
  const service = (taskDefinition: string, over: Record<string, unknown> = {}) => ({
    serviceArn: SERVICE_ARN,
    serviceName: 'checkout',
    clusterArn: `arn:aws:ecs:${AT}:cluster/prod`,
    status: 'ACTIVE',
    desiredCount: 3,
    runningCount: 3,
    taskDefinition,
    deploymentController: { type: 'ECS' as const },
    deployments: [{ id: 'ecs-svc/111', status: 'PRIMARY', taskDefinition, desiredCount: 3, runningCount: 3, rolloutState: 'COMPLETED' as const }],
    ...over,
  });
  const updated = (taskDefinition: string) => ({ service: service(taskDefinition, { deployments: [{ id: 'ecs-svc/222', status: 'PRIMARY', taskDefinition, rolloutState: 'IN_PROGRESS' }] }) });

  it('rolls back: UpdateService to the previous task definition, reported as rolling out (no wait by default)', async () => {
    ecsMock.on(DescribeServicesCommand).resolves({ services: [service(td(7))], failures: [] });
    ecsMock.on(UpdateServiceCommand).resolves(updated(td(6)));
    const result = await run(rollbackOf(serviceChange));
    expect(result).toEqual({ status: 'succeeded', detail: 'ECS service prod/checkout: roll back from task definition checkout:7 to checkout:6 (UpdateService, deployment ecs-svc/222); rolling out — the verify agent checks recovery' });
    expect(ecsMock.commandCalls(DescribeServicesCommand)[0]!.args[0].input).toEqual({ cluster: 'prod', services: ['checkout'] });
    expect(ecsMock.commandCalls(UpdateServiceCommand)[0]!.args[0].input).toEqual({ cluster: 'prod', service: 'checkout', taskDefinition: td(6) });
  });

  it('undoes the rollback: UpdateService back to the changed task definition', async () => {
    ecsMock.on(DescribeServicesCommand).resolves({ services: [service(td(6))], failures: [] });
    ecsMock.on(UpdateServiceCommand).resolves(updated(td(7)));
    const result = await run(undoOf(rollbackOf(serviceChange)));
    expect(result.detail).toContain('roll forward from task definition checkout:6 to checkout:7');
    expect(ecsMock.commandCalls(UpdateServiceCommand)[0]!.args[0].input.taskDefinition).toBe(td(7));
  });

  it('refuses a service on a third task definition, and one deployed by CodeDeploy', async () => {
    ecsMock.on(DescribeServicesCommand).resolvesOnce({ services: [service(td(8))] }).resolvesOnce({ services: [service(td(7), { deploymentController: { type: 'CODE_DEPLOY' } })] });
    const third = await run(rollbackOf(serviceChange));
    expect(third).toEqual({ status: 'failed', detail: expect.stringContaining('ECS service prod/checkout is on task definition checkout:8, not') });
    expect(third.detail).toContain('someone changed it since');
    const codeDeploy = await run(rollbackOf(serviceChange));
    expect(codeDeploy).toEqual({ status: 'failed', detail: expect.stringContaining('deployed by the CODE_DEPLOY deployment controller') });
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it('is idempotent: already on the previous task definition (a retry while it rolls out) is succeeded, with no write', async () => {
    ecsMock.on(DescribeServicesCommand).resolves({ services: [service(`checkout:6`, { deployments: [{ id: 'ecs-svc/222', status: 'PRIMARY', taskDefinition: td(6), rolloutState: 'IN_PROGRESS' }] })] });
    expect(await run(rollbackOf(serviceChange))).toEqual({ status: 'succeeded', detail: 'ECS service prod/checkout already at task definition checkout:6 (deployment ecs-svc/222 IN_PROGRESS): nothing to do' });
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it('a service DescribeServices does not find is failed with its reason', async () => {
    ecsMock.on(DescribeServicesCommand).resolves({ services: [], failures: [{ arn: SERVICE_ARN, reason: 'MISSING' }] });
    expect(await run(rollbackOf(serviceChange))).toEqual({ status: 'failed', detail: 'ECS service prod/checkout: DescribeServices found no such service (MISSING)' });
  });

  it('with AWS_ACTIONS_ECS_WAIT_SECONDS, waits with the SDK waiter: stable, still rolling at the deadline, or gone', async () => {
    ecsMock.on(DescribeServicesCommand).resolvesOnce({ services: [service(td(7))] }).resolves({ services: [service(td(6))] });
    ecsMock.on(UpdateServiceCommand).resolves(updated(td(6)));
    // The SDK's own waiter: its first DescribeServices sees one deployment with running = desired.
    const stable = await run(rollbackOf(serviceChange), { ecsWaitSeconds: 20 });
    expect(stable).toEqual({ status: 'succeeded', detail: expect.stringMatching(/\(UpdateService, deployment ecs-svc\/222\); stable \(one deployment, running = desired\)$/) });
    expect(ecsMock.commandCalls(DescribeServicesCommand)).toHaveLength(2);

    const waits: unknown[] = [];
    const timeout = Object.assign(new Error('{"state":"TIMEOUT","reason":"Waiter has timed out"}'), { name: 'TimeoutError' });
    ecsMock.on(DescribeServicesCommand).resolves({ services: [service(td(7))] });
    // A call budget longer than the wait (the default 20 s would cut a 20 s wait to what is left of it).
    const rolling = await run(rollbackOf(serviceChange), { ecsWaitSeconds: 20, client: { callBudgetMs: 30_000 }, waitServicesStable: async (params, input) => {
        waits.push({ maxWaitTime: params.maxWaitTime, input });
        throw timeout;
      },
    });
    expect(rolling).toEqual({ status: 'succeeded', detail: expect.stringMatching(/; still rolling out after 20 s — the verify agent checks recovery$/) });
    expect(waits).toEqual([{ maxWaitTime: 20, input: { cluster: 'prod', services: ['checkout'] } }]);

    const gone = await run(rollbackOf(serviceChange), { ecsWaitSeconds: 20, waitServicesStable: () => Promise.reject(new Error('{"state":"FAILURE"}')) });
    expect(gone).toEqual({ status: 'failed', detail: expect.stringContaining('but the service then stopped being ACTIVE while rolling out') });
  });

  it('the wait is cut to what is left of the deadline, and skipped when too little is left (the executor has a minute for the plan)', async () => {
    ecsMock.on(DescribeServicesCommand).resolves({ services: [service(td(7))] });
    ecsMock.on(UpdateServiceCommand).resolves(updated(td(6)));
    const waits: number[] = [];
    const waitServicesStable = async (params: { maxWaitTime: number }) => void waits.push(params.maxWaitTime);
    await run(rollbackOf(serviceChange), { ecsWaitSeconds: 45, client: { callBudgetMs: 20_000 }, waitServicesStable });
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeLessThanOrEqual(20);
    expect(waits[0]).toBeGreaterThanOrEqual(19);
    // Most of the run's budget spent (here by a slow read): UpdateService still sent, the rollout not waited for.
    let now = 0;
    ecsMock.on(DescribeServicesCommand).callsFake(async () => {
      await Promise.resolve();
      now += 25_000;
      return { services: [service(td(7))] };
    });
    const executor = new AwsActions({ resources: ALLOW, clients: { ecs }, ecsWaitSeconds: 45, now: () => now, waitServicesStable, client: { runBudgetMs: 30_000, callBudgetMs: 55_000 } });
    const result = await executor.execute({ incidentId: 'inc-1', runId: 'executor-run', action: rollbackOf(serviceChange) });
    expect(result).toEqual({ status: 'succeeded', detail: expect.stringMatching(/\(UpdateService, deployment ecs-svc\/222\); rolling out, not waited for \(stopped at the deadline \(what was left of the agent run's budget of 30000 ms/) });
    expect(waits).toHaveLength(1);
  });
});

describe('SSM parameter', () => {
  const parameter = (value: string, type: 'String' | 'StringList' | 'SecureString' = 'String') => ({ Parameter: { Name: '/checkout/pool-size', Type: type, Value: value, Version: 7, ARN: PARAMETER_ARN, DataType: 'text' } });

  it('reverts: PutParameter with the old value, Overwrite, the same Type', async () => {
    ssmMock.on(GetParameterCommand).resolves(parameter('10', 'StringList'));
    ssmMock.on(PutParameterCommand).resolves({ Version: 8, Tier: 'Standard' });
    const result = await run(revertOf(parameterChange));
    expect(result).toEqual({ status: 'succeeded', detail: 'SSM parameter /checkout/pool-size: revert from "10" to "20" (PutParameter, version 8; readers that cache it pick it up on their next read)' });
    expect(ssmMock.commandCalls(GetParameterCommand)[0]!.args[0].input).toEqual({ Name: '/checkout/pool-size', WithDecryption: false });
    expect(ssmMock.commandCalls(PutParameterCommand)[0]!.args[0].input).toEqual({ Name: '/checkout/pool-size', Value: '20', Type: 'StringList', Overwrite: true, DataType: 'text' });
  });

  it('undoes the revert: the changed value again', async () => {
    ssmMock.on(GetParameterCommand).resolves(parameter('20'));
    ssmMock.on(PutParameterCommand).resolves({ Version: 9 });
    const result = await run(undoOf(revertOf(parameterChange)));
    expect(result.detail).toContain('set again from "20" to "10"');
    expect(ssmMock.commandCalls(PutParameterCommand)[0]!.args[0].input).toMatchObject({ Value: '10', Overwrite: true });
  });

  it('toggles back a flag kept in a parameter, the same way', async () => {
    ssmMock.on(GetParameterCommand).resolves(parameter('10'));
    ssmMock.on(PutParameterCommand).resolves({ Version: 8 });
    const result = await run(revertOf({ ...parameterChange, type: 'feature-flag' }, 'toggle-feature-flag'));
    expect(result.detail).toContain('toggle back from "10" to "20"');
  });

  it('refuses a value someone changed since; already at the old value is succeeded with no write', async () => {
    ssmMock.on(GetParameterCommand).resolvesOnce(parameter('15')).resolvesOnce(parameter('20'));
    const changed = await run(revertOf(parameterChange));
    expect(changed).toEqual({ status: 'failed', detail: expect.stringMatching(/^SSM parameter \/checkout\/pool-size is "15", not "10" as change CT-ssm left it: someone changed it since; not going to revert it blindly/) });
    expect(await run(revertOf(parameterChange))).toEqual({ status: 'succeeded', detail: 'SSM parameter /checkout/pool-size already "20" (version 7): nothing to do' });
    expect(ssmMock.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('refuses a SecureString (its old value is never in a plan)', async () => {
    ssmMock.on(GetParameterCommand).resolves(parameter('AQICAHh...', 'SecureString'));
    const result = await run(revertOf(parameterChange));
    expect(result).toEqual({ status: 'failed', detail: expect.stringContaining('SSM parameter /checkout/pool-size is a SecureString') });
    expect(ssmMock.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  it('refuses an unknown or hidden old value without calling AWS', async () => {
    const action = revertOf(parameterChange);
    const unknown = await run({ ...action, params: { ...action.params, to: undefined } });
    expect(unknown).toEqual({ status: 'failed', detail: expect.stringContaining('the value to go back to (params.to) is unknown; not guessing it') });
    const hidden = await run({ ...action, params: { ...action.params, to: 'HIDDEN_DUE_TO_SECURITY_REASONS' } });
    expect(hidden.detail).toContain('(CloudTrail hides parameter values)');
    const noCurrent = await run({ ...action, params: { ...action.params, from: '' } });
    expect(noCurrent.detail).toContain('the value the change set (params.from) is unknown');
    expect(ssmMock.calls()).toHaveLength(0);
  });

  it('a missing parameter is failed, naming the error', async () => {
    ssmMock.on(GetParameterCommand).rejects(sdkError('ParameterNotFound', ''));
    expect(await run(revertOf(parameterChange))).toEqual({ status: 'failed', detail: 'SSM parameter /checkout/pool-size: GetParameter failed: ParameterNotFound' });
  });
});

describe('AppConfig', () => {
  const summary = (n: number, version: string, state = 'COMPLETE') => ({ DeploymentNumber: n, ConfigurationName: 'pricing', ConfigurationVersion: version, State: state as 'COMPLETE', PercentageComplete: 100, DeploymentDurationInMinutes: 0, GrowthType: 'LINEAR' as const, GrowthFactor: 100, FinalBakeTimeInMinutes: 0 });
  const deployment = (n: number, profile: string, version: string, state = 'COMPLETE') => ({ ApplicationId: 'app1234', EnvironmentId: 'env5678', DeploymentStrategyId: 'strat12', ConfigurationProfileId: profile, DeploymentNumber: n, ConfigurationVersion: version, State: state as 'COMPLETE' });
  /** Deployments newest first, as ListDeployments returns them, each also answered by GetDeployment. */
  const history = (...list: ReturnType<typeof deployment>[]) => {
    appconfigMock.on(ListDeploymentsCommand).resolves({ Items: list.map((d) => summary(d.DeploymentNumber, d.ConfigurationVersion, d.State)) });
    for (const d of list) appconfigMock.on(GetDeploymentCommand, { ApplicationId: 'app1234', EnvironmentId: 'env5678', DeploymentNumber: d.DeploymentNumber }).resolves(d);
  };

  it("rolls back: StartDeployment of the previous version, found past other profiles' and rolled-back deployments", async () => {
    history(deployment(9, 'other99', '5'), deployment(8, 'prof901', '4', 'ROLLED_BACK'), deployment(7, 'prof901', '3'), deployment(6, 'prof901', '2'));
    appconfigMock.on(StartDeploymentCommand).resolves({ ...deployment(10, 'prof901', '2', 'DEPLOYING') });
    const result = await run(rollbackOf(appConfigChange));
    expect(result).toEqual({
      status: 'succeeded',
      detail: 'AppConfig profile prof901 in environment env5678 of application app1234: roll back from configuration version 3 to 2 (StartDeployment, deployment 10, strategy strat12); rolling out — the verify agent checks recovery',
    });
    expect(appconfigMock.commandCalls(ListDeploymentsCommand)[0]!.args[0].input).toMatchObject({ ApplicationId: 'app1234', EnvironmentId: 'env5678' });
    // The rolled-back deployment is skipped without reading it; the profile's current one is the first that stuck.
    expect(appconfigMock.commandCalls(GetDeploymentCommand).map((c) => c.args[0].input.DeploymentNumber)).toEqual([9, 7]);
    expect(appconfigMock.commandCalls(StartDeploymentCommand)[0]!.args[0].input).toEqual({
      ApplicationId: 'app1234',
      EnvironmentId: 'env5678',
      ConfigurationProfileId: 'prof901',
      ConfigurationVersion: '2',
      DeploymentStrategyId: 'strat12',
      Description: 'Incident Autopilot inc-1: roll back CT-appconfig (version 3 to 2)',
    });
  });

  it('undoes the rollback with the configured strategy (AWS_ACTIONS_APPCONFIG_STRATEGY_ID)', async () => {
    history(deployment(10, 'prof901', '2'));
    appconfigMock.on(StartDeploymentCommand).resolves(deployment(11, 'prof901', '3', 'DEPLOYING'));
    const result = await run(undoOf(rollbackOf(appConfigChange)), { appConfigStrategyId: 'AppConfig.AllAtOnce' });
    expect(result.detail).toContain('roll forward from configuration version 2 to 3 (StartDeployment, deployment 11, strategy AppConfig.AllAtOnce)');
    expect(appconfigMock.commandCalls(StartDeploymentCommand)[0]!.args[0].input).toMatchObject({ ConfigurationVersion: '3', DeploymentStrategyId: 'AppConfig.AllAtOnce' });
  });

  it('is idempotent while its own deployment rolls out; refuses over another one in progress, or a version someone deployed since', async () => {
    history(deployment(10, 'prof901', '2', 'BAKING'));
    expect(await run(rollbackOf(appConfigChange))).toEqual({ status: 'succeeded', detail: expect.stringContaining('already deploying configuration version 2 (deployment 10, BAKING): nothing to do') });
    appconfigMock.reset();
    history(deployment(10, 'prof901', '4', 'DEPLOYING'));
    expect(await run(rollbackOf(appConfigChange))).toEqual({ status: 'failed', detail: expect.stringContaining('deployment 10 of configuration version 4 is DEPLOYING; not starting another over it') });
    appconfigMock.reset();
    history(deployment(10, 'prof901', '4'));
    expect(await run(rollbackOf(appConfigChange))).toEqual({ status: 'failed', detail: expect.stringContaining('is at configuration version 4 (deployment 10), not 3 as change CT-appconfig left it: someone changed it since') });
    expect(appconfigMock.commandCalls(StartDeploymentCommand)).toHaveLength(0);
  });

  it('the allow-list covers the strategy the rollback deploys with (the setting over the change) and the environment\'s deployments', async () => {
    const exact = [`${ENVIRONMENT_ARN}`, `arn:aws:appconfig:${AT}:application/app1234/configurationprofile/prof901`, `arn:aws:appconfig:${AT}:deploymentstrategy/strat12`];
    // GetDeployment is authorised on …/environment/env5678/deployment/<n>: an exact environment ARN does not cover it.
    const noDeployments = await run(rollbackOf(appConfigChange), { resources: exact });
    expect(noDeployments).toEqual({ status: 'failed', detail: expect.stringContaining(`${ENVIRONMENT_ARN}/deployment/* is not in AWS_ACTIONS_RESOURCES`) });
    // The configured strategy, not the change's, is the one StartDeployment is authorised on.
    const withDeployments = [...exact, `${ENVIRONMENT_ARN}/deployment/*`];
    const otherStrategy = await run(rollbackOf(appConfigChange), { resources: withDeployments, appConfigStrategyId: 'AppConfig.AllAtOnce' });
    expect(otherStrategy).toEqual({ status: 'failed', detail: expect.stringContaining(`arn:aws:appconfig:${AT}:deploymentstrategy/AppConfig.AllAtOnce is not in AWS_ACTIONS_RESOURCES`) });
    expect(appconfigMock.calls()).toHaveLength(0);
  });

  it('reads cut at the deadline: no StartDeployment, failed saying nothing was changed', async () => {
    let now = 0;
    const list = Array.from({ length: 20 }, (_, i) => deployment(30 - i, 'other99', String(i)));
    appconfigMock.on(ListDeploymentsCommand).resolves({ Items: list.map((d) => summary(d.DeploymentNumber, d.ConfigurationVersion, d.State)) });
    appconfigMock.on(GetDeploymentCommand).callsFake(async (input: { DeploymentNumber: number }) => {
      await Promise.resolve();
      now += 1_000;
      return deployment(input.DeploymentNumber, 'other99', '1');
    });
    const result = await run(rollbackOf(appConfigChange), { now: () => now, client: { callBudgetMs: 5_000 } });
    expect(result).toEqual({ status: 'failed', detail: expect.stringMatching(/: GetDeployment not made, stopped at the deadline \(the call budget of 5000 ms \(AWS_TOOLS_CALL_BUDGET_MS\)\); nothing was changed$/) });
    expect(appconfigMock.commandCalls(GetDeploymentCommand)).toHaveLength(5);
    expect(appconfigMock.commandCalls(StartDeploymentCommand)).toHaveLength(0);
  });

  it('without a strategy from the change or the settings, names the setting', async () => {
    const { deploymentStrategyId: _s, ...ids } = appConfigChange.resource!.identifiers!;
    const result = await run(rollbackOf({ ...appConfigChange, resource: { ...appConfigChange.resource!, identifiers: ids } }));
    expect(result).toEqual({ status: 'failed', detail: expect.stringContaining('set AWS_ACTIONS_APPCONFIG_STRATEGY_ID') });
    expect(appconfigMock.calls()).toHaveLength(0);
  });
});

describe('refusals before any call', () => {
  it('a kind the adapter cannot do names the kind and what it would take', async () => {
    const scale: MitigationAction = { kind: 'scale-service', service: 'checkout', params: { factor: 2 }, description: 'Scale out', risk: 'low', reversible: true, evidenceIds: [] };
    const result = await run(scale);
    expect(result).toEqual({ status: 'failed', detail: expect.stringMatching(/^scale-service is not something the AWS actions adapter can do: scaling changes capacity .* serve the actions port with SSM Automation \(SSM_AUTOMATION_DOCUMENTS\) or the action webhook instead$/) });
  });

  it('a change without an AWS resource, or one whose resource has no typed rollback', async () => {
    const plain = rollbackOf(change({ id: 'CHG1', version: { from: '1.0', to: '1.1' } }));
    expect(await run(plain)).toEqual({ status: 'failed', detail: expect.stringContaining('rollback-change of CHG1: the change names no AWS resource') });
    const stack = rollbackOf(change({ id: 'CT-cfn', version: { from: 'a', to: 'b' }, resource: { type: 'AWS::CloudFormation::Stack', arn: `arn:aws:cloudformation:${AT}:stack/app/1` } }));
    expect(await run(stack)).toEqual({ status: 'failed', detail: expect.stringContaining('no typed rollback for AWS::CloudFormation::Stack') });
    const wrongKind = { ...rollbackOf(aliasChange), params: { fromVersion: '10', toVersion: '20', resource: parameterChange.resource } };
    expect(await run(wrongKind)).toEqual({ status: 'failed', detail: expect.stringContaining('a change to SSM parameter /checkout/pool-size is undone by revert-config or toggle-feature-flag, not rollback-change') });
  });

  it('the allow-list: unset refuses everything, naming the variable; a resource outside it names what to add', async () => {
    const unset = await run(rollbackOf(serviceChange), { resources: [] });
    expect(unset).toEqual({ status: 'failed', detail: `rollback-change of CT-ecs: AWS_ACTIONS_RESOURCES is not set, so no AWS resource may be acted on; add ${SERVICE_ARN} (or a pattern matching it) to AWS_ACTIONS_RESOURCES to let the autopilot act on ECS service prod/checkout` });
    const outside = await run(rollbackOf(serviceChange), { resources: [`arn:aws:ecs:${AT}:service/staging/*`] });
    expect(outside.detail).toContain(`${SERVICE_ARN} is not in AWS_ACTIONS_RESOURCES (arn:aws:ecs:${AT}:service/staging/*); add it`);
    expect(ecsMock.calls()).toHaveLength(0);
  });
});

describe('throttling through the SDK retry strategy (a fake HTTP handler: the real middleware runs)', () => {
  /** Answers each request with the next response (the awsJson1_1 protocol of SSM). */
  const handler = (responses: readonly { status: number; body: unknown }[]) => {
    const targets: string[] = [];
    return {
      targets,
      handle: async (request: { headers: Record<string, string> }) => {
        targets.push(request.headers['x-amz-target'] ?? '');
        const r = responses[Math.min(targets.length - 1, responses.length - 1)]!;
        return { response: { statusCode: r.status, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: Readable.from([Buffer.from(JSON.stringify(r.body))]) } };
      },
    };
  };
  const throttled = { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } };
  const current = { status: 200, body: { Parameter: { Name: '/checkout/pool-size', Type: 'String', Value: '10', Version: 7, DataType: 'text' } } };

  it('a throttled read is retried, then the revert goes through', async () => {
    const h = handler([throttled, current, { status: 200, body: { Version: 8, Tier: 'Standard' } }]);
    const client = new SSMClient({ ...config, maxAttempts: 3, retryMode: 'standard', requestHandler: h });
    const result = await run(revertOf(parameterChange), { clients: { ssm: client } });
    expect(result).toEqual({ status: 'succeeded', detail: expect.stringContaining('revert from "10" to "20" (PutParameter, version 8') });
    expect(h.targets).toEqual(['AmazonSSM.GetParameter', 'AmazonSSM.GetParameter', 'AmazonSSM.PutParameter']);
  });

  it('throttling that outlasts the retries is failed, naming it, and nothing is written', async () => {
    const h = handler([throttled]);
    const client = new SSMClient({ ...config, maxAttempts: 2, retryMode: 'standard', requestHandler: h });
    const result = await run(revertOf(parameterChange), { clients: { ssm: client } });
    expect(result).toEqual({ status: 'failed', detail: 'SSM parameter /checkout/pool-size: GetParameter failed: ThrottlingException: Rate exceeded' });
    expect(h.targets).toEqual(['AmazonSSM.GetParameter', 'AmazonSSM.GetParameter']);
  });
});

describe("the catalog's typed preconditions", () => {
  it('a typed resource needs both ends of the move; a change without a resource is left to the other conditions', () => {
    const noPrevious = { ...aliasChange, version: { from: '', to: '42' } };
    expect(unmetPreconditions('rollback-change', { service: 'checkout', target: noPrevious.id, change: noPrevious, params: {} })).toContain(
      "the AWS resource and versions the rollback acts on are the change's own, and a change to a Lambda alias, ECS service or AppConfig environment names both versions",
    );
    const plain = change({ id: 'CHG1', rollbackPlan: 'redeploy 1.0' });
    expect(unmetPreconditions('rollback-change', { service: 'checkout', target: 'CHG1', change: plain, params: {} })).toEqual([]);
    const hidden = { ...parameterChange, configChange: { param: '/checkout/pool-size', old: 'HIDDEN_DUE_TO_SECURITY_REASONS', new: '10' } };
    expect(unmetPreconditions('revert-config', { service: 'checkout', target: '/checkout/pool-size', change: hidden, params: {} })).toHaveLength(1);
    // An SSM parameter is reverted, not rolled back.
    expect(unmetPreconditions('rollback-change', { service: 'checkout', target: 'CT-ssm', change: { ...parameterChange, rollbackPlan: 'restart' }, params: {} })).toHaveLength(1);
  });

  it("at execution, the action must act on the change's own resource and values (an edited plan acts on nothing else); its inverse too", () => {
    const action = rollbackOf(aliasChange);
    expect(unmetAtExecution(action, { change: aliasChange })).toEqual([]);
    expect(unmetAtExecution(undoOf(action), { change: { ...aliasChange, state: 'rolled-back' } })).toEqual([]);
    const otherAlias = { ...action, params: { ...action.params, resource: { type: 'AWS::Lambda::Alias', arn: `arn:aws:lambda:${AT}:function:payments:live` } } };
    expect(unmetAtExecution(otherAlias, { change: aliasChange })).toHaveLength(1);
    const otherVersion = { ...action, params: { ...action.params, toVersion: '7' } };
    expect(unmetAtExecution(otherVersion, { change: aliasChange })).toHaveLength(1);
    const invented = { ...action, params: { ...action.params, resource: aliasChange.resource } };
    expect(unmetAtExecution(invented, { change: { ...aliasChange, resource: undefined } })).toHaveLength(1);
  });
});
