/**
 * The aws service directory (functions/core/tools/aws/service-directory.ts, directory-settings.ts): the service map's
 * errors name the service and field; tags are read page by page through the SDK paginator in GetResources' own
 * shape (ResourceTagMappingList[].ResourceARN / Tags[{Key, Value}], PaginationToken); the map wins over tags; the
 * tag index is read once per run and the caches are bounded; throttling is retried by the SDK's own retry strategy
 * (a fake HTTP handler, so the real middleware runs), and a source that stays down is a gap, never "no resources".
 */
import { Readable } from 'node:stream';
import { GetResourcesCommand, type GetResourcesCommandOutput, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../functions/core/config.ts';
import { DIRECTORY_IAM, parseDirectorySettings, ssmParameterResource } from '../../../../functions/core/tools/aws/directory-settings.ts';
import { DirectoryUnavailable, directoryGaps, serviceDirectory } from '../../../../functions/core/tools/aws/service-directory.ts';
import { ToolUnavailable } from '../../../../functions/core/tools/ports.ts';

const ACCOUNT = '111122223333';
const fn = (name: string) => `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:${name}`;
const table = (name: string) => `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/${name}`;
const mapping = (arn: string, tags: Record<string, string>) => ({ ResourceARN: arn, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) });
const page = (items: ReturnType<typeof mapping>[], token = ''): GetResourcesCommandOutput => ({ ResourceTagMappingList: items, PaginationToken: token, $metadata: {} });

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const taggingClient = () => new ResourceGroupsTaggingAPIClient({ region: 'eu-west-1', credentials: CREDENTIALS });
const ssmClient = () => new SSMClient({ region: 'eu-west-1', credentials: CREDENTIALS });

const errorOf = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('no error');
};

describe('directory settings', () => {
  it('defaults the tag key and accepts a well-formed map', () => {
    const s = parseDirectorySettings({ AWS_SERVICE_MAP: JSON.stringify({ checkout: { xray: 'checkout-api', resources: [fn('checkout')], logGroups: ['/ecs/checkout'], tags: { team: 'payments' } } }) });
    expect(s.tagKey).toBe('service');
    expect(s.serviceMap?.checkout?.xray).toBe('checkout-api');
  });

  it.each([
    [{ checkout: { resources: [fn('checkout'), 'checkout-fn'] } }, 'AWS_SERVICE_MAP["checkout"].resources[1] must be an ARN'],
    [{ checkout: { xray: [] } }, 'AWS_SERVICE_MAP["checkout"].xray'],
    [{ checkout: { logGroup: ['/aws/lambda/x'] } }, 'AWS_SERVICE_MAP["checkout"] has unknown field(s) logGroup'],
    [{ checkout: { tags: { team: 7 } } }, 'AWS_SERVICE_MAP["checkout"].tags.team'],
    [{ checkout: { logGroups: ['bad group name!'] } }, 'AWS_SERVICE_MAP["checkout"].logGroups[0] must be a log group name'],
    [['checkout'], 'AWS_SERVICE_MAP must be a JSON object of service'],
  ])('a malformed map names the service and field: %j', (map, message) => {
    const error = errorOf(() => parseDirectorySettings({ AWS_SERVICE_MAP: JSON.stringify(map) }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(message);
  });

  it('refuses JSON that is not JSON, both sources at once, a bad parameter name or tag key', () => {
    expect(errorOf(() => parseDirectorySettings({ AWS_SERVICE_MAP: '{checkout:' })).message).toContain('AWS_SERVICE_MAP must be a JSON object');
    expect(errorOf(() => parseDirectorySettings({ AWS_SERVICE_MAP: '{}', AWS_SERVICE_MAP_PARAMETER: '/m' })).message).toContain('AWS_SERVICE_MAP or AWS_SERVICE_MAP_PARAMETER, not both');
    expect(errorOf(() => parseDirectorySettings({ AWS_SERVICE_MAP_PARAMETER: 'has space' })).message).toContain('AWS_SERVICE_MAP_PARAMETER must be an SSM parameter name');
    expect(errorOf(() => parseDirectorySettings({ AWS_SERVICE_TAG_KEY: 'aws:cloudformation:stack-name' })).message).toContain('AWS_SERVICE_TAG_KEY');
  });

  it('names the parameter for IAM as the stack grants it', () => {
    expect(ssmParameterResource('/autopilot/service-map')).toBe('arn:{partition}:ssm:{region}:{account}:parameter/autopilot/service-map');
    expect(ssmParameterResource('service-map')).toBe('arn:{partition}:ssm:{region}:{account}:parameter/service-map');
    const arn = `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/x/y`;
    expect(ssmParameterResource(arn)).toBe(arn);
    expect(DIRECTORY_IAM).toContainEqual({ resource: 'ssm-parameter-of-variable', variable: 'AWS_SERVICE_MAP_PARAMETER', actions: ['ssm:GetParameter'] });
    expect(DIRECTORY_IAM.find((n) => n.resource === 'aws-api')).toMatchObject({ actions: ['tag:GetResources'], resources: ['*'], why: expect.stringContaining('resource-level') });
  });
});

describe('service directory over tags and the map', () => {
  it('reads every page of GetResources with a TagFilter on the service key and groups resources by service', async () => {
    const tagging = taggingClient();
    const mock = mockClient(tagging);
    mock
      .on(GetResourcesCommand)
      .resolves(page([mapping(fn('orders-api'), { service: 'orders', team: 'fulfilment' }), mapping(table('orders'), { service: 'orders', oncall: 'Ana <ana@example.com>' })], 'token-2'))
      .on(GetResourcesCommand, { PaginationToken: 'token-2' })
      .resolves(page([mapping(fn('checkout'), { service: 'checkout', team: 'payments', runbook: 'https://wiki/checkout' })]));
    const directory = serviceDirectory({ tagKey: 'service' }, { tagging });
    const [orders, checkout, unknown] = await directory.resolve({ runId: 'r1', services: ['orders', 'checkout', 'ghost'] });
    expect(mock.commandCalls(GetResourcesCommand)).toHaveLength(2);
    expect(mock.commandCalls(GetResourcesCommand)[0]!.args[0].input).toMatchObject({ TagFilters: [{ Key: 'service' }], ResourcesPerPage: 100 });
    expect(orders!.resources.map((r) => r.arn)).toEqual([fn('orders-api'), table('orders')]);
    expect(orders!.logGroups).toEqual(['/aws/lambda/orders-api']);
    expect(orders!.xrayNames).toEqual(['orders']);
    expect(orders!.tags).toEqual({ team: 'fulfilment', oncall: 'Ana <ana@example.com>' });
    expect(orders!.gap).toBeUndefined();
    expect(checkout!.tags.runbook).toBe('https://wiki/checkout');
    expect(unknown).toEqual({ service: 'ghost', xrayNames: ['ghost'], resources: [], logGroups: [], tags: {} });
    expect(await directory.serviceOf({ runId: 'r1', arn: `${fn('checkout')}:live` })).toBe('checkout');
    expect(await directory.serviceOf({ runId: 'r1', arn: table('orders') })).toBe('orders');
    expect(await directory.serviceOf({ runId: 'r1', arn: table('other') })).toBeUndefined();
    expect(mock.commandCalls(GetResourcesCommand)).toHaveLength(2); // one read per run
  });

  it('lets the map win: its X-Ray names, log groups and tags over the defaults and the tags', async () => {
    const tagging = taggingClient();
    mockClient(tagging)
      .on(GetResourcesCommand)
      .resolves(page([mapping(fn('checkout'), { service: 'checkout', team: 'tagged-team', slack: '#checkout' })]));
    const settings = parseDirectorySettings({
      AWS_SERVICE_MAP: JSON.stringify({ checkout: { xray: ['checkout-api', 'checkout-worker'], resources: [table('carts')], logGroups: ['/custom/checkout'], tags: { team: 'payments' } }, search: { resources: [fn('search')] } }),
    });
    const directory = serviceDirectory(settings, { tagging });
    const [checkout, search] = await directory.resolve({ runId: 'r', services: ['checkout', 'search'] });
    expect(checkout!.xrayNames).toEqual(['checkout-api', 'checkout-worker']);
    expect(checkout!.resources.map((r) => r.arn)).toEqual([table('carts'), fn('checkout')]);
    expect(checkout!.logGroups).toEqual(['/custom/checkout']);
    expect(checkout!.tags).toEqual({ team: 'payments', slack: '#checkout' });
    expect(search!.logGroups).toEqual(['/aws/lambda/search']);
    expect(await directory.serviceOf({ runId: 'r', arn: `${fn('search')}:3` })).toBe('search');
  });

  it('with a custom tag key, reads that key and leaves it out of the ownership tags', async () => {
    const tagging = taggingClient();
    const mock = mockClient(tagging);
    mock.on(GetResourcesCommand).resolves(page([mapping(fn('a'), { app: 'alpha', team: 't' })]));
    const [alpha] = await serviceDirectory(parseDirectorySettings({ AWS_SERVICE_TAG_KEY: 'app' }), { tagging }).resolve({ services: ['alpha'] });
    expect(mock.commandCalls(GetResourcesCommand)[0]!.args[0].input.TagFilters).toEqual([{ Key: 'app' }]);
    expect(alpha!.tags).toEqual({ team: 't' });
  });
});

describe('bounded caches', () => {
  it('reads tags once per run and keeps only the last maxRuns runs', async () => {
    const tagging = taggingClient();
    const mock = mockClient(tagging);
    mock.on(GetResourcesCommand).resolves(page([mapping(fn('a'), { service: 'a' })]));
    const directory = serviceDirectory({ tagKey: 'service' }, { tagging }, { maxRuns: 2 });
    const reads = () => mock.commandCalls(GetResourcesCommand).length;
    await Promise.all([directory.resolve({ runId: 'r1', services: ['a'] }), directory.resolve({ runId: 'r1', services: ['a'] })]);
    expect(reads()).toBe(1); // concurrent calls of one run share one read
    await directory.resolve({ runId: 'r2', services: ['a'] });
    await directory.resolve({ runId: 'r1', services: ['a'] });
    expect(reads()).toBe(2);
    await directory.resolve({ runId: 'r3', services: ['a'] }); // evicts r1, the oldest
    await directory.resolve({ runId: 'r1', services: ['a'] });
    expect(reads()).toBe(4);
  });

  it('refreshes a run read after its TTL', async () => {
    let now = 0;
    const tagging = taggingClient();
    const mock = mockClient(tagging);
    mock.on(GetResourcesCommand).resolves(page([]));
    const directory = serviceDirectory({ tagKey: 'service' }, { tagging }, { now: () => now, runTtlMs: 1000 });
    await directory.resolve({ runId: 'r', services: ['a'] });
    now = 999;
    await directory.resolve({ runId: 'r', services: ['a'] });
    now = 1000;
    await directory.resolve({ runId: 'r', services: ['a'] });
    expect(mock.commandCalls(GetResourcesCommand)).toHaveLength(2);
  });

  it('stops at maxTaggedResources, and a service not among them carries a gap', async () => {
    const tagging = taggingClient();
    const mock = mockClient(tagging);
    mock
      .on(GetResourcesCommand)
      .resolves(page([mapping(fn('a1'), { service: 'a' }), mapping(fn('a2'), { service: 'a' })], 'next'))
      .on(GetResourcesCommand, { PaginationToken: 'next' })
      .resolves(page([mapping(fn('b1'), { service: 'b' })]));
    const directory = serviceDirectory({ tagKey: 'service' }, { tagging }, { maxTaggedResources: 2 });
    const [a, b] = await directory.resolve({ runId: 'r', services: ['a', 'b'] });
    expect(mock.commandCalls(GetResourcesCommand)).toHaveLength(1);
    expect(a!.resources).toHaveLength(2);
    expect(a!.gap).toBeUndefined();
    expect(b!.gap).toContain('only the first 2 tagged resources were read');
    await expect(directory.serviceOf({ runId: 'r', arn: fn('b1') })).rejects.toBeInstanceOf(DirectoryUnavailable);
  });
});

describe('the tag read in time', () => {
  it('a read longer than readBudgetMs stops: the pages read are a truncated index, services not among them carry a gap', async () => {
    let now = 0;
    const tagging = taggingClient();
    let n = 0;
    // A large account: every page is full and has another after it; each takes 2 s.
    mockClient(tagging)
      .on(GetResourcesCommand)
      .callsFake(async () => {
        await Promise.resolve();
        now += 2_000;
        n += 1;
        return page([mapping(fn(`a${n}`), { service: 'a' })], `next-${n}`);
      });
    const directory = serviceDirectory({ tagKey: 'service' }, { tagging }, { now: () => now, readBudgetMs: 5_000 });
    const [a, b] = await directory.resolve({ runId: 'r', services: ['a', 'b'] });
    expect(n).toBe(3);
    expect(a!.resources).toHaveLength(3);
    expect(b!.gap).toBe("b: only the first 3 tagged resources were read (stopped after 5000 ms), none of them b's");
    await expect(directory.serviceOf({ runId: 'r', arn: fn('zzz') })).rejects.toThrow('only the first 3 tagged resources were read (stopped after 5000 ms)');
  });

  it('no page within the budget is a failed source, never "no resources"', async () => {
    const tagging = taggingClient();
    mockClient(tagging).on(GetResourcesCommand).callsFake(() => new Promise(() => undefined));
    const directory = serviceDirectory({ tagKey: 'service', serviceMap: { a: { resources: [fn('a')] } } }, { tagging }, { readBudgetMs: 200 });
    const [a] = await directory.resolve({ runId: 'r', services: ['a'] });
    expect(a!.resources).toHaveLength(1);
    expect(a!.gap).toBe('a: resource tags could not be read (tag:GetResources: no page within 200 ms): answered from the service map only');
  });
});

describe('the map in SSM Parameter Store', () => {
  const parameter = (value: string) => ({ Parameter: { Name: '/autopilot/service-map', Type: 'String' as const, Value: value, Version: 1 } });

  it('is read once per TTL; a failed refresh keeps the last good map', async () => {
    let now = 0;
    const tagging = taggingClient();
    mockClient(tagging).on(GetResourcesCommand).resolves(page([]));
    const ssm = ssmClient();
    const ssmMock = mockClient(ssm);
    ssmMock.on(GetParameterCommand).resolvesOnce(parameter(JSON.stringify({ checkout: { resources: [fn('checkout')] } }))).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const directory = serviceDirectory(parseDirectorySettings({ AWS_SERVICE_MAP_PARAMETER: '/autopilot/service-map' }), { tagging, ssm }, { now: () => now, mapTtlMs: 300_000 });
    const first = await directory.resolve({ runId: 'r1', services: ['checkout'] });
    expect(first[0]!.resources.map((r) => r.arn)).toEqual([fn('checkout')]);
    expect(ssmMock.commandCalls(GetParameterCommand)[0]!.args[0].input).toEqual({ Name: '/autopilot/service-map', WithDecryption: true });
    now = 299_999;
    await directory.resolve({ runId: 'r2', services: ['checkout'] });
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(1);
    now = 300_000;
    const stale = await directory.resolve({ runId: 'r3', services: ['checkout'] });
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(2);
    expect(stale[0]!.resources.map((r) => r.arn)).toEqual([fn('checkout')]);
    expect(stale[0]!.gap).toBeUndefined();
  });

  it('a malformed map in the parameter is a gap naming the parameter, service and field', async () => {
    const tagging = taggingClient();
    mockClient(tagging)
      .on(GetResourcesCommand)
      .resolves(page([mapping(fn('checkout'), { service: 'checkout' })]));
    const ssm = ssmClient();
    mockClient(ssm)
      .on(GetParameterCommand)
      .resolves(parameter(JSON.stringify({ checkout: { resources: ['nope'] } })));
    const [checkout] = await serviceDirectory({ tagKey: 'service', serviceMapParameter: '/autopilot/service-map' }, { tagging, ssm }).resolve({ runId: 'r', services: ['checkout'] });
    expect(checkout!.resources.map((r) => r.arn)).toEqual([fn('checkout')]);
    expect(checkout!.gap).toContain('SSM parameter /autopilot/service-map["checkout"].resources[0] must be an ARN');
  });

  it('a missing parameter and unreadable tags: nothing is known, DirectoryUnavailable', async () => {
    const tagging = taggingClient();
    mockClient(tagging)
      .on(GetResourcesCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const ssm = ssmClient();
    mockClient(ssm)
      .on(GetParameterCommand)
      .rejects(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }));
    const error = await serviceDirectory({ tagKey: 'service', serviceMapParameter: '/autopilot/service-map' }, { tagging, ssm })
      .resolve({ runId: 'r', services: ['checkout'] })
      .then(() => new Error('no error'), (e: unknown) => e as Error);
    expect(error).toBeInstanceOf(ToolUnavailable);
    expect(error.message).toContain('SSM parameter /autopilot/service-map (AWS_SERVICE_MAP_PARAMETER) does not exist');
    expect(error.message).toContain('tag:GetResources: AccessDeniedException');
  });
});

describe('failure of the tagging API', () => {
  const failing = () => {
    const tagging = taggingClient();
    mockClient(tagging)
      .on(GetResourcesCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException' }));
    return tagging;
  };

  it('answers from the map with a gap, and never says an unmapped service has no resources', async () => {
    const settings = parseDirectorySettings({ AWS_SERVICE_MAP: JSON.stringify({ checkout: { resources: [fn('checkout')] } }) });
    const entries = await serviceDirectory(settings, { tagging: failing() }).resolve({ runId: 'r', services: ['checkout', 'orders'] });
    expect(entries[0]!.resources.map((r) => r.arn)).toEqual([fn('checkout')]);
    expect(entries[0]!.gap).toContain('answered from the service map only');
    expect(entries[1]!.resources).toEqual([]);
    expect(entries[1]!.gap).toMatch(/^orders: resource tags could not be read \(tag:GetResources: ThrottledException: Rate exceeded\)$/);
    expect(directoryGaps(entries)).toHaveLength(2);
  });

  it('throws DirectoryUnavailable when nothing asked for is known, and for an ARN it cannot place', async () => {
    const directory = serviceDirectory({ tagKey: 'service' }, { tagging: failing() });
    await expect(directory.resolve({ runId: 'r', services: ['orders'] })).rejects.toThrow(/AWS service directory unavailable: nothing is known about orders/);
    await expect(directory.serviceOf({ runId: 'r', arn: fn('orders') })).rejects.toBeInstanceOf(DirectoryUnavailable);
  });
});

describe('throttling through the SDK retry strategy (a fake HTTP handler: the real middleware runs)', () => {
  /** Answers each GetResources request with the next response: status and JSON body (the awsJson1_1 protocol). */
  const handler = (responses: readonly { status: number; body: unknown }[]) => {
    const requests: unknown[] = [];
    return {
      requests,
      handle: async (request: { body?: unknown }) => {
        requests.push(request.body);
        const r = responses[Math.min(requests.length - 1, responses.length - 1)]!;
        return { response: { statusCode: r.status, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: Readable.from([Buffer.from(JSON.stringify(r.body))]) } };
      },
    };
  };
  const throttled = { status: 400, body: { __type: 'ThrottledException', Message: 'Rate exceeded' } };
  const client = (h: ReturnType<typeof handler>, maxAttempts: number) => new ResourceGroupsTaggingAPIClient({ region: 'eu-west-1', credentials: CREDENTIALS, maxAttempts, retryMode: 'standard', requestHandler: h });

  it('a throttled call is retried and then succeeds', async () => {
    const h = handler([throttled, { status: 200, body: { ResourceTagMappingList: [mapping(fn('a'), { service: 'a' })], PaginationToken: '' } }]);
    const [a] = await serviceDirectory({ tagKey: 'service' }, { tagging: client(h, 3) }).resolve({ runId: 'r', services: ['a'] });
    expect(h.requests).toHaveLength(2);
    expect(a!.resources.map((r) => r.arn)).toEqual([fn('a')]);
    expect(a!.gap).toBeUndefined();
  });

  it('throttling that outlasts the retries is a gap naming it', async () => {
    const h = handler([throttled]);
    const settings = parseDirectorySettings({ AWS_SERVICE_MAP: JSON.stringify({ a: { resources: [fn('a')] } }) });
    const [a] = await serviceDirectory(settings, { tagging: client(h, 2) }).resolve({ runId: 'r', services: ['a'] });
    expect(h.requests).toHaveLength(2);
    expect(a!.gap).toContain('ThrottledException');
  });
});
