import { describe, expect, it } from 'vitest';
import { ToolUnavailable } from '../../../functions/core/tools/ports.ts';
import { DynatraceTelemetry, quoteSelectorValue, resolutionToSeconds } from '../../../functions/core/tools/vendors/dynatrace.ts';
import { type Received, recordingSleep, rejectionOf, useFakeVendor } from './fake-vendor.ts';

const T0 = Date.parse('2024-05-01T12:00:00Z');
const window = { from: '2024-05-01T12:00:00.000Z', to: '2024-05-01T12:02:00.000Z' };

/** A Metrics API v2 answer: one collection per selector, in order, as Dynatrace returns them. */
const metricData = (resolution: string, collections: { metricId: string; data: { dimensionMap: Record<string, string>; values: (number | null)[] }[] }[]) => ({
  totalCount: collections.reduce((n, c) => n + c.data.length, 0),
  nextPageKey: null,
  resolution,
  result: collections.map((c) => ({
    metricId: c.metricId,
    dataPointCountRatio: 0.0001,
    dimensionCountRatio: 0.001,
    data: c.data.map((d) => ({ dimensions: Object.values(d.dimensionMap), dimensionMap: d.dimensionMap, timestamps: d.values.map((_, i) => T0 + i * 60_000), values: d.values })),
  })),
});

const svc = (id: string, name: string) => ({ 'dt.entity.service': id, 'dt.entity.service.name': name });

describe('unit: DynatraceTelemetry against a fake Dynatrace API v2', () => {
  const fake = useFakeVendor();
  const adapter = (over: Partial<ConstructorParameters<typeof DynatraceTelemetry>[0]> = {}) => {
    const rec = recordingSleep();
    return { dt: new DynatraceTelemetry({ baseUrl: fake.url, apiToken: 'dt0c01.TOKEN', sleep: rec.sleep, timeoutMs: 2_000, ...over }), waits: rec.waits };
  };

  it('queries service metrics per service and maps units: µs → ms, count per minute → rps, nulls dropped', async () => {
    // Prepare
    fake.once('GET', '/api/v2/metrics/query', {
      status: 200,
      json: metricData('1m', [
        { metricId: 'builtin:service.response.time:splitBy("dt.entity.service"):percentile(99):names', data: [{ dimensionMap: svc('SERVICE-A1', 'payment-service'), values: [250_000, null, 1_200_000] }] },
        {
          metricId: 'builtin:service.errors.total.rate:splitBy("dt.entity.service"):avg:names',
          data: [
            { dimensionMap: svc('SERVICE-A1', 'payment-service'), values: [0.5, 1.5, 12] },
            { dimensionMap: svc('SERVICE-B2', 'checkout-service'), values: [0.1, 0.1, 0.2] },
          ],
        },
        { metricId: 'builtin:service.requestCount.total:splitBy("dt.entity.service"):value:names', data: [{ dimensionMap: svc('SERVICE-A1', 'payment-service'), values: [6000, 6600, 3000] }] },
      ]),
    });
    const { dt } = adapter();

    // Act
    const series = await dt.queryMetrics({ ...window, services: ['payment-service', 'checkout-service'], metrics: ['latency_p99_ms', 'error_rate_pct', 'throughput_rps', 'db_pool_active'] });

    // Assess: the request
    const req = fake.received[0];
    expect(req.headers.authorization).toBe('Api-Token dt0c01.TOKEN');
    expect(req.query.get('metricSelector')).toBe(
      [
        'builtin:service.response.time:splitBy("dt.entity.service"):percentile(99):names',
        'builtin:service.errors.total.rate:splitBy("dt.entity.service"):avg:names',
        'builtin:service.requestCount.total:splitBy("dt.entity.service"):value:names',
      ].join(','),
    );
    expect(req.query.get('entitySelector')).toBe('type(SERVICE),entityName.in("payment-service","checkout-service")');
    expect(req.query.get('from')).toBe(String(T0));
    expect(req.query.get('to')).toBe(String(T0 + 120_000));
    expect(req.query.get('resolution')).toBe('1m');
    // Assess: the mapping (db_pool_active has no default mapping and is left out)
    expect(series).toEqual([
      { service: 'payment-service', metric: 'latency_p99_ms', unit: 'ms', points: [{ t: '2024-05-01T12:00:00.000Z', v: 250 }, { t: '2024-05-01T12:02:00.000Z', v: 1200 }] },
      { service: 'payment-service', metric: 'error_rate_pct', unit: '%', points: [{ t: '2024-05-01T12:00:00.000Z', v: 0.5 }, { t: '2024-05-01T12:01:00.000Z', v: 1.5 }, { t: '2024-05-01T12:02:00.000Z', v: 12 }] },
      { service: 'checkout-service', metric: 'error_rate_pct', unit: '%', points: [{ t: '2024-05-01T12:00:00.000Z', v: 0.1 }, { t: '2024-05-01T12:01:00.000Z', v: 0.1 }, { t: '2024-05-01T12:02:00.000Z', v: 0.2 }] },
      { service: 'payment-service', metric: 'throughput_rps', unit: 'req/s', points: [{ t: '2024-05-01T12:00:00.000Z', v: 100 }, { t: '2024-05-01T12:01:00.000Z', v: 110 }, { t: '2024-05-01T12:02:00.000Z', v: 50 }] },
    ]);
  });

  it('reads host metrics on the hosts a service runs on, averaged, with the resolution Dynatrace chose', async () => {
    fake.once('GET', '/api/v2/metrics/query', {
      status: 200,
      json: metricData('5m', [
        { metricId: 'builtin:host.cpu.usage:splitBy():avg', data: [{ dimensionMap: {}, values: [40, 95] }] },
        { metricId: 'builtin:host.mem.used:splitBy():avg', data: [{ dimensionMap: {}, values: [2 * 1024 ** 3, 3 * 1024 ** 3] }] },
      ]),
    });
    const { dt } = adapter({ environmentTag: 'environment' });

    const series = await dt.queryMetrics({ ...window, environment: 'prod', services: ['payment-service'], metrics: ['cpu_pct', 'memory_mb'], resolutionSeconds: 300 });

    const req = fake.received[0];
    expect(req.query.get('metricSelector')).toBe('builtin:host.cpu.usage:splitBy():avg,builtin:host.mem.used:splitBy():avg');
    expect(req.query.get('entitySelector')).toBe('type(HOST),toRelationships.runsOnHost(type(SERVICE),entityName.equals("payment-service"),tag("environment:prod"))');
    expect(req.query.get('resolution')).toBe('5m');
    expect(series.map((s) => [s.metric, s.unit, s.points.map((p) => p.v)])).toEqual([
      ['cpu_pct', '%', [40, 95]],
      ['memory_mb', 'MB', [2048, 3072]],
    ]);
  });

  it('accepts an overriding metric table (a custom pool metric)', async () => {
    fake.once('GET', '/api/v2/metrics/query', (r: Received) => ({
      status: 200,
      json: metricData('1m', [{ metricId: r.query.get('metricSelector') ?? '', data: [{ dimensionMap: svc('SERVICE-A1', 'payment-service'), values: [50] }] }]),
    }));
    const { dt } = adapter({ metrics: { db_pool_active: { key: 'custom.hikaricp.connections.active', aggregation: 'max', entity: 'SERVICE', unit: 'connections' } } });

    const series = await dt.queryMetrics({ ...window, services: ['payment-service'], metrics: ['db_pool_active'] });

    expect(fake.received[0].query.get('metricSelector')).toBe('custom.hikaricp.connections.active:splitBy("dt.entity.service"):max:names');
    expect(series).toEqual([{ service: 'payment-service', metric: 'db_pool_active', unit: 'connections', points: [{ t: '2024-05-01T12:00:00.000Z', v: 50 }] }]);
  });

  it('walks the topology both ways through calls relationships, paging with nextPageKey only', async () => {
    const fields = 'fromRelationships.calls,toRelationships.calls,properties.serviceType,properties.databaseVendor';
    fake.once('GET', '/api/v2/entities', {
      status: 200,
      json: {
        totalCount: 1,
        pageSize: 500,
        entities: [
          {
            entityId: 'SERVICE-PAY',
            type: 'SERVICE',
            displayName: 'payment-service',
            properties: { serviceType: 'WEB_SERVICE' },
            fromRelationships: { calls: [{ id: 'SERVICE-DB', type: 'SERVICE' }] },
            toRelationships: { calls: [{ id: 'SERVICE-WEB', type: 'SERVICE' }, { id: 'APPLICATION-1', type: 'APPLICATION' }] },
          },
        ],
      },
    });
    fake.once('GET', '/api/v2/entities', {
      status: 200,
      json: {
        nextPageKey: 'PAGE2',
        entities: [
          { entityId: 'SERVICE-DB', displayName: 'payments-db', properties: { serviceType: 'DATABASE_SERVICE', databaseVendor: 'POSTGRESQL' }, fromRelationships: {}, toRelationships: { calls: [{ id: 'SERVICE-PAY', type: 'SERVICE' }] } },
        ],
      },
    });
    fake.once('GET', '/api/v2/entities', {
      status: 200,
      json: {
        entities: [{ entityId: 'SERVICE-WEB', displayName: 'web-frontend', properties: { serviceType: 'WEB_REQUEST' }, fromRelationships: { calls: [{ id: 'SERVICE-PAY', type: 'SERVICE' }] }, toRelationships: { calls: [{ id: 'APPLICATION-1', type: 'APPLICATION' }] } }],
      },
    });
    const { dt } = adapter();

    const nodes = await dt.getTopology({ services: ['payment-service'] });

    expect(fake.received.map((r) => Object.fromEntries(r.query))).toEqual([
      { entitySelector: 'type(SERVICE),entityName.in("payment-service")', fields, pageSize: '500' },
      { entitySelector: 'type(SERVICE),entityId("SERVICE-DB","SERVICE-WEB")', fields, pageSize: '500' },
      { nextPageKey: 'PAGE2' },
    ]);
    expect(nodes).toEqual([
      { name: 'payment-service', tier: 'backend', calls: ['payments-db'] },
      { name: 'payments-db', tier: 'database', calls: [] },
      { name: 'web-frontend', tier: 'frontend', calls: ['payment-service'] },
    ]);
  });

  it('says traces are unavailable through API v2 instead of answering an empty list', async () => {
    const { dt } = adapter();
    const error = await rejectionOf(dt.getTraces({ ...window, services: ['payment-service'] }));
    expect(error).toBeInstanceOf(ToolUnavailable);
    expect(error.message).toMatch(/^Dynatrace unavailable: traces are not available through the Environment API v2/);
    expect(fake.received).toHaveLength(0);
  });

  it('waits the Retry-After of a 429, then succeeds', async () => {
    fake.once('GET', '/api/v2/metrics/query', { status: 429, json: { error: { code: 429, message: 'Too Many Requests' } }, headers: { 'retry-after': '1' } });
    fake.once('GET', '/api/v2/metrics/query', { status: 200, json: metricData('1m', [{ metricId: 'x', data: [{ dimensionMap: svc('S', 'payment-service'), values: [1] }] }]) });
    const { dt, waits } = adapter();

    const series = await dt.queryMetrics({ ...window, services: ['payment-service'], metrics: ['error_rate_pct'] });

    expect(waits).toEqual([1000]);
    expect(fake.received).toHaveLength(2);
    expect(series[0].points).toEqual([{ t: '2024-05-01T12:00:00.000Z', v: 1 }]);
  });

  it('reports a 503 as ToolUnavailable naming Dynatrace and the status', async () => {
    fake.always('GET', '/api/v2/metrics/query', { status: 503, text: 'Service Unavailable' });
    const { dt } = adapter({ retries: 1 });

    const error = await rejectionOf(dt.queryMetrics({ ...window, services: ['payment-service'] }));

    expect(error).toBeInstanceOf(ToolUnavailable);
    expect(error.message).toMatch(/^Dynatrace unavailable: 503/);
    expect(fake.received).toHaveLength(2);
  });

  it('reports a server that never answers as a timeout', async () => {
    fake.always('GET', '/api/v2/entities', 'hang');
    const { dt } = adapter({ timeoutMs: 200, retries: 0 });

    const error = await rejectionOf(dt.getTopology({ services: ['payment-service'] }));

    expect(error).toBeInstanceOf(ToolUnavailable);
    expect(error.message).toBe('Dynatrace unavailable: timed out after 200 ms on GET /api/v2/entities');
  });

  it('quotes selector values with the tilde escape and reads resolutions', () => {
    expect(quoteSelectorValue('pay(ments),v2 "x" ~y')).toBe('"pay(ments),v2 ~"x~" ~~y"');
    expect(resolutionToSeconds('5m', 60)).toBe(300);
    expect(resolutionToSeconds('1h', 60)).toBe(3600);
    expect(resolutionToSeconds(undefined, 60)).toBe(60);
  });
});
