/**
 * The aws-oncall adapter (functions/core/tools/aws/oncall.ts) and its row: ownership from the directory's tags,
 * on-call from the SSM roster (a service's own key over its team's) or the `oncall` tag; a service nothing names has
 * no entry; an unreadable roster, or tags that could not be read for a service nothing else answers for, is
 * ToolUnavailable (the agent's gap), never an empty answer.
 */
import { GetResourcesCommand, type GetResourcesCommandOutput, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../functions/core/config.ts';
import { adapterRow, parseSettings } from '../../../../functions/core/tools/adapters.ts';
import { parseDirectorySettings } from '../../../../functions/core/tools/aws/directory-settings.ts';
import { AwsOnCall, RosterInvalid } from '../../../../functions/core/tools/aws/oncall.ts';
import { serviceDirectory } from '../../../../functions/core/tools/aws/service-directory.ts';
import { ToolUnavailable } from '../../../../functions/core/tools/ports.ts';
import { toolsRuntime } from '../../../../functions/core/tools/runtime.ts';

const ACCOUNT = '111122223333';
const fn = (name: string) => `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:${name}`;
const mapping = (arn: string, tags: Record<string, string>) => ({ ResourceARN: arn, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) });
const page = (items: ReturnType<typeof mapping>[], token = ''): GetResourcesCommandOutput => ({ ResourceTagMappingList: items, PaginationToken: token, $metadata: {} });
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const ROSTER = '/autopilot/oncall';
const parameter = (value: unknown) => ({ Parameter: { Name: ROSTER, Type: 'String' as const, Value: typeof value === 'string' ? value : JSON.stringify(value), Version: 3 } });

const TAGGED = [
  mapping(fn('checkout'), { service: 'checkout', team: 'payments', slack: '#payments', runbook: 'https://runbooks.example.com/checkout', oncall: 'payments-oncall@example.com' }),
  mapping(fn('orders'), { service: 'orders', team: 'fulfilment', oncall: 'orders-pager@example.com' }),
  mapping(fn('search'), { service: 'search', oncall: 'search@example.com' }),
  mapping(fn('catalog'), { service: 'catalog', team: 'payments' }),
];

const setup = (o: { tags?: 'ok' | 'fail'; roster?: unknown; rosterError?: string; map?: object; now?: () => number } = {}) => {
  const tagging = new ResourceGroupsTaggingAPIClient({ region: 'eu-west-1', credentials: CREDENTIALS });
  const taggingMock = mockClient(tagging);
  if (o.tags === 'fail') taggingMock.on(GetResourcesCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException' }));
  else taggingMock.on(GetResourcesCommand).resolves(page(TAGGED));
  const ssm = new SSMClient({ region: 'eu-west-1', credentials: CREDENTIALS });
  const ssmMock = mockClient(ssm);
  if (o.rosterError) ssmMock.on(GetParameterCommand).rejects(Object.assign(new Error(o.rosterError), { name: o.rosterError }));
  else if (o.roster !== undefined) ssmMock.on(GetParameterCommand).resolves(parameter(o.roster));
  const settings = parseDirectorySettings(o.map ? { AWS_SERVICE_MAP: JSON.stringify(o.map) } : {});
  const oncall = new AwsOnCall({ directory: serviceDirectory(settings, { tagging }), ssm, ...(o.roster !== undefined || o.rosterError ? { rosterParameter: ROSTER } : {}), ...(o.now ? { now: o.now } : {}) });
  return { oncall, taggingMock, ssmMock };
};

describe('ownership from tags', () => {
  it('maps team, slack and runbook; a service without a team tag, or unknown, has no entry', async () => {
    const { oncall } = setup();
    expect(await oncall.getOwnership({ runId: 'r', services: ['checkout', 'search', 'ghost', 'orders'] })).toEqual([
      { service: 'checkout', team: 'payments', slackChannel: '#payments', runbookUrl: 'https://runbooks.example.com/checkout' },
      { service: 'orders', team: 'fulfilment' },
    ]);
  });

  it("the map's tags win over the resources' tags", async () => {
    const { oncall } = setup({ map: { orders: { tags: { team: 'orders-core', slack: '#orders' } } } });
    expect(await oncall.getOwnership({ runId: 'r', services: ['orders'] })).toEqual([{ service: 'orders', team: 'orders-core', slackChannel: '#orders' }]);
  });
});

describe('on-call', () => {
  const roster = {
    checkout: { primary: { name: 'Ana Lima', contact: 'ana@example.com' }, escalation: { name: 'Ben Okafor', contact: 'ben@example.com' } },
    payments: { primary: { name: 'Payments rota', contact: 'payments@example.com' } },
  };

  it("the roster's service key over its team key over the oncall tag; nothing named: no entry", async () => {
    const { oncall } = setup({ roster });
    expect(await oncall.getOnCall({ runId: 'r', services: ['checkout', 'catalog', 'orders', 'ghost'] })).toEqual([
      { service: 'checkout', primary: { name: 'Ana Lima', contact: 'ana@example.com' }, escalation: { name: 'Ben Okafor', contact: 'ben@example.com' } },
      { service: 'catalog', primary: { name: 'Payments rota', contact: 'payments@example.com' } },
      { service: 'orders', primary: { name: 'orders-pager@example.com', contact: 'orders-pager@example.com' } },
    ]);
  });

  it('without a roster parameter, the oncall tag only and no SSM call', async () => {
    const { oncall, ssmMock } = setup();
    expect(await oncall.getOnCall({ runId: 'r', services: ['checkout', 'catalog'] })).toEqual([{ service: 'checkout', primary: { name: 'payments-oncall@example.com', contact: 'payments-oncall@example.com' } }]);
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(0);
  });

  it('reads the roster once per TTL, with decryption, and again after it', async () => {
    let now = 0;
    const { oncall, ssmMock } = setup({ roster, now: () => now });
    await Promise.all([oncall.getOnCall({ runId: 'r', services: ['checkout'] }), oncall.getOnCall({ runId: 'r', services: ['checkout'] })]);
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(1);
    expect(ssmMock.commandCalls(GetParameterCommand)[0]!.args[0].input).toEqual({ Name: ROSTER, WithDecryption: true });
    now = 5 * 60_000;
    // A later agent run (one run lasts less than its Lambda's minute: its time budget, deadline.ts, is long spent).
    await oncall.getOnCall({ runId: 'r-later', services: ['checkout'] });
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(2);
  });

  it('an unreadable roster is ToolUnavailable, and the next call reads again', async () => {
    const { oncall, ssmMock } = setup({ rosterError: 'ThrottlingException' });
    await expect(oncall.getOnCall({ runId: 'r', services: ['checkout'] })).rejects.toThrow(/AWS on-call unavailable: the roster parameter \/autopilot\/oncall could not be read: ThrottlingException/);
    await expect(oncall.getOnCall({ runId: 'r', services: ['checkout'] })).rejects.toBeInstanceOf(ToolUnavailable);
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(2);
  });

  it('a roster read that never answers is ToolUnavailable at the call deadline, not a hung agent', async () => {
    const ssm = new SSMClient({ region: 'eu-west-1', credentials: CREDENTIALS });
    mockClient(ssm).on(GetParameterCommand).callsFake(() => new Promise(() => undefined));
    const tagging = new ResourceGroupsTaggingAPIClient({ region: 'eu-west-1', credentials: CREDENTIALS });
    mockClient(tagging).on(GetResourcesCommand).resolves(page(TAGGED));
    const oncall = new AwsOnCall({ directory: serviceDirectory(parseDirectorySettings({}), { tagging }), ssm, rosterParameter: ROSTER, client: { callBudgetMs: 300 } });
    await expect(oncall.getOnCall({ runId: 'slow', services: ['checkout'] })).rejects.toThrow('AWS on-call unavailable: the on-call of checkout could not be read: stopped at the deadline (the call budget of 300 ms (AWS_TOOLS_CALL_BUDGET_MS))');
  });

  it('a missing roster parameter says so', async () => {
    const { oncall } = setup({ rosterError: 'ParameterNotFound' });
    await expect(oncall.getOnCall({ services: ['checkout'] })).rejects.toThrow('the roster parameter /autopilot/oncall (AWS_ONCALL_ROSTER_PARAMETER) does not exist');
  });

  it.each([
    [{ payments: { primary: { name: 'Rota', contact: '' } } }, 'SSM parameter /autopilot/oncall["payments"].primary.contact must not be empty'],
    [{ payments: { primary: { name: 'Rota' } } }, '["payments"].primary.contact'],
    [{ payments: { primary: { name: 'A', contact: 'a@x' }, backup: {} } }, '["payments"] has unknown field(s) backup'],
    ['not json', 'SSM parameter /autopilot/oncall must be a JSON object'],
  ])('a malformed roster is RosterInvalid naming the field: %j', async (value, message) => {
    const { oncall } = setup({ roster: value });
    const error = await oncall.getOnCall({ services: ['catalog'] }).then(
      () => new Error('no error'),
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(RosterInvalid);
    expect(error).toBeInstanceOf(ToolUnavailable);
    expect(error.message).toContain(message);
  });
});

describe('when tags cannot be read', () => {
  it('answers what the map or the roster knows, and is ToolUnavailable for what nothing answers', async () => {
    const { oncall } = setup({ tags: 'fail', map: { checkout: { tags: { team: 'payments' } } }, roster: { orders: { primary: { name: 'Olga', contact: 'olga@example.com' } } } });
    expect(await oncall.getOwnership({ runId: 'r', services: ['checkout'] })).toEqual([{ service: 'checkout', team: 'payments' }]);
    // The roster names orders itself: the directory is not needed for it.
    expect(await oncall.getOnCall({ runId: 'r', services: ['orders'] })).toEqual([{ service: 'orders', primary: { name: 'Olga', contact: 'olga@example.com' } }]);
    await expect(oncall.getOwnership({ runId: 'r', services: ['checkout', 'search'] })).rejects.toThrow(/AWS on-call unavailable: the owner of search cannot be told: search: resource tags could not be read \(tag:GetResources: ThrottledException/);
    await expect(oncall.getOnCall({ runId: 'r', services: ['search'] })).rejects.toBeInstanceOf(ToolUnavailable);
  });
});

describe('the aws-oncall row', () => {
  const row = adapterRow('aws-oncall')!;

  it('is the aws family row for oncall, chosen by name only, with its IAM', () => {
    expect(row).toMatchObject({ family: 'aws', ports: ['oncall'], selectors: [], stackSetting: 'tools' });
    expect(row.variables).toEqual(expect.arrayContaining(['AWS_SERVICE_MAP', 'AWS_SERVICE_MAP_PARAMETER', 'AWS_SERVICE_TAG_KEY', 'AWS_ONCALL_ROSTER_PARAMETER', 'AWS_TOOLS_MAX_ATTEMPTS', 'AWS_TOOLS_TIMEOUT_MS']));
    expect(row.iam).toEqual([
      { resource: 'aws-api', actions: ['tag:GetResources'], resources: ['*'], why: expect.any(String) },
      { resource: 'ssm-parameter-of-variable', variable: 'AWS_SERVICE_MAP_PARAMETER', actions: ['ssm:GetParameter'] },
      { resource: 'ssm-parameter-of-variable', variable: 'AWS_ONCALL_ROSTER_PARAMETER', actions: ['ssm:GetParameter'] },
    ]);
  });

  it('refuses bad settings naming the variable', () => {
    expect(() => parseSettings(row, { AWS_ONCALL_ROSTER_PARAMETER: 'no spaces allowed' })).toThrow(ConfigError);
    expect(() => parseSettings(row, { AWS_ONCALL_ROSTER_PARAMETER: 'no spaces allowed' })).toThrow(/AWS_ONCALL_ROSTER_PARAMETER must be an SSM parameter name/);
    expect(() => parseSettings(row, { AWS_SERVICE_MAP: '{"checkout": {"resources": ["x"]}}' })).toThrow(/AWS_SERVICE_MAP\["checkout"\]\.resources\[0\] must be an ARN/);
    expect(() => parseSettings(row, { AWS_TOOLS_MAX_ATTEMPTS: '0' })).toThrow(/AWS_TOOLS_MAX_ATTEMPTS/);
  });

  it('serves oncall under TOOLS_DEFAULT=aws, building its clients through the SDK (class-level mocks)', async () => {
    const tagging = mockClient(ResourceGroupsTaggingAPIClient);
    const ssm = mockClient(SSMClient);
    try {
      tagging.on(GetResourcesCommand).resolves(page(TAGGED));
      ssm.on(GetParameterCommand).resolves(parameter({ payments: { primary: { name: 'Rota', contact: 'rota@example.com' } } }));
      const runtime = toolsRuntime({ TOOLS_DEFAULT: 'aws', AWS_ONCALL_ROSTER_PARAMETER: ROSTER, AWS_REGION: 'eu-west-1' }, { getSecret: async () => 'unused' });
      expect(runtime.sources.oncall).toBe('aws-oncall');
      expect(await runtime.tools.oncall.getOnCall({ runId: 'row', services: ['checkout'] })).toEqual([{ service: 'checkout', primary: { name: 'Rota', contact: 'rota@example.com' } }]);
      expect(await runtime.tools.oncall.getOwnership({ runId: 'row', services: ['catalog'] })).toEqual([{ service: 'catalog', team: 'payments' }]);
      expect(tagging.commandCalls(GetResourcesCommand)).toHaveLength(1);
    } finally {
      tagging.restore();
      ssm.restore();
    }
  });
});
