import { describe, expect, it } from 'vitest';
import { ABSTAIN_BELOW, analyseRootCause, confidenceOf, isFailureSignal, testHypotheses, trendTau, type RootCauseInput, type Template } from '../../../functions/core/analysis/hypotheses.ts';
import { anomaly } from './fixtures/anomaly.ts';
import type { ChangeRequest, MetricSeries, ServiceNode, Trace } from '../../../functions/core/tools/ports.ts';

const T = (hhmm: string) => `2026-03-14T${hhmm}:00.000Z`;

const topology: ServiceNode[] = [
  { name: 'frontend', tier: 'frontend', calls: ['checkout-service', 'recommendation-service'] },
  { name: 'checkout-service', tier: 'backend', calls: ['inventory-service', 'payment-gateway'] },
  { name: 'inventory-service', tier: 'backend', calls: ['inventory-db'] },
  { name: 'inventory-db', tier: 'database', calls: [] },
  { name: 'recommendation-service', tier: 'backend', calls: [] },
  { name: 'payment-gateway', tier: 'external', calls: [] },
];

const cr = (id: string, service: string, deployedAt: string, overrides: Partial<ChangeRequest> = {}): ChangeRequest => ({
  id,
  service,
  type: 'deploy',
  title: `Release of ${service}`,
  description: 'routine release',
  deployedAt,
  state: 'implemented',
  version: { from: '1.0.0', to: '1.1.0' },
  ...overrides,
});

const poolChange = cr('CR2077', 'inventory-service', T('12:04'), {
  type: 'config',
  title: 'Tune HikariCP pool settings',
  description: 'Reduce maximum-pool-size to lower database load',
  configChange: { param: 'maximum-pool-size', old: '20', new: '10' },
  version: undefined,
});

const poolTemplate: Template = {
  id: 't1',
  template: 'HikariPool$PoolTimeoutException: Connection is not available, request timed out after <*>ms',
  service: 'inventory-service',
  level: 'ERROR',
  count: 812,
  firstSeen: T('12:09'),
  lastSeen: T('12:29'),
  novel: true,
  evidenceIds: ['log-template:inventory-service:t1'],
};

/** Error traces from the frontend through checkout, failing first in `leaf`. */
const traces = (leaf: string, n = 4): Trace[] =>
  Array.from({ length: n }, (_, i) => ({
    traceId: `tr${i}`,
    rootService: 'frontend',
    startedAt: T('12:20'),
    totalMs: 18_000,
    status: 'ERROR',
    spans: [
      { spanId: 'a', service: 'frontend', operation: 'GET /checkout', startedAt: T('12:20'), durationMs: 18_000, status: 'ERROR' },
      { spanId: 'b', parentSpanId: 'a', service: 'checkout-service', operation: 'reserve', startedAt: T('12:20'), durationMs: 17_900, status: 'ERROR' },
      { spanId: 'c', parentSpanId: 'b', service: leaf, operation: 'call', startedAt: T('12:20'), durationMs: 17_800, status: 'ERROR', error: 'timeout' },
    ],
  }));

/** One point per 10 minutes from 09:00 to 12:30. */
const series = (service: string, metric: string, f: (minutesFrom9: number) => number): MetricSeries => ({
  service,
  metric,
  unit: '',
  points: Array.from({ length: 22 }, (_, i) => ({ t: new Date(Date.parse(T('09:00')) + i * 600_000).toISOString(), v: f(i * 10) })),
});

/** The pool-starvation incident: CR2077 at 12:04 on inventory, onset 12:10, checkout and frontend as symptoms. */
const poolIncident = (overrides: Partial<RootCauseInput> = {}): RootCauseInput => ({
  incident: { service: 'checkout-service', startedAt: T('12:10') },
  anomalies: [
    anomaly('inventory-service', 'latency_p99_ms', 120, 18_340, T('12:10'), 8),
    anomaly('checkout-service', 'latency_p99_ms', 200, 18_500, T('12:11'), 40),
    anomaly('frontend', 'error_rate_pct', 0.2, 42, T('12:11'), 60),
  ],
  onset: T('12:10'),
  templates: [poolTemplate],
  changes: [
    poolChange,
    // red herring: unrelated service, plausible timing
    cr('CR2080', 'recommendation-service', T('12:05'), { title: 'New carousel styling', description: 'CSS refresh of the product carousel' }),
    // deployed after the onset
    cr('CR2081', 'checkout-service', T('12:15'), { title: 'Checkout copy tweaks' }),
  ],
  topology,
  traces: traces('inventory-service'),
  series: [
    series('inventory-service', 'throughput_rps', () => 400),
    series('inventory-service', 'db_pool_active', (m) => (m >= 190 ? 10 : 6)),
    series('inventory-service', 'db_pool_max', (m) => (m >= 184 ? 10 : 20)),
  ],
  now: T('12:30'),
  ...overrides,
});

/**
 * checkout-service starts failing at 12:06 with one new error template, `error`; its failing traces end in it
 * (no deeper span failed) and no series are at hand. The anomalies, onset and changes come with `overrides`.
 */
const checkoutBreaks = (error: string, overrides: Partial<RootCauseInput>): RootCauseInput =>
  poolIncident({
    templates: [{ ...poolTemplate, service: 'checkout-service', template: error, firstSeen: T('12:06') }],
    traces: traces('checkout-service'),
    series: [],
    ...overrides,
  });

describe('analyseRootCause', () => {
  it('blames the change whose timing, place and meaning all fit, and proposes it for rollback', () => {
    // Act
    const out = analyseRootCause(poolIncident());
    // Assess
    expect(out.abstained).toBe(false);
    expect(out.rootCauses[0].changeId).toBe('CR2077');
    expect(out.rootCauses[0].category).toBe('connection-pool'); // the change names a HikariCP pool
    expect(out.rootCauses[0].confidence).toBeGreaterThan(0.9);
    expect(out.rootCauses[0].predictions.every((p) => p.result === 'supported')).toBe(true);
    expect(out.rollbackCandidate).toBe('CR2077');
    expect(out.rootCauses).toHaveLength(3);
    expect(out.rootCauses[0].evidenceIds).toEqual(expect.arrayContaining(['change:CR2077', 'log-template:inventory-service:t1', 'trace:tr0']));
  });

  it('refutes outright a change deployed after the onset', () => {
    const out = analyseRootCause(poolIncident());
    const after = out.considered.find((h) => h.changeId === 'CR2081')!;
    expect(after.confidence).toBe(0);
    expect(after.predictions[0].result).toBe('refuted');
    expect(out.reasoning).toMatch(/CR2081 \(confidence 0: deployed 5 min AFTER the onset/);
  });

  it('scores an unrelated change with plausible timing (a red herring) low', () => {
    const out = analyseRootCause(poolIncident());
    const herring = out.considered.find((h) => h.changeId === 'CR2080')!;
    expect(herring.predictions[0].result).toBe('supported'); // timing alone fits...
    expect(herring.predictions[1].result).toBe('refuted'); // ...but the place does not
    expect(herring.confidence).toBeLessThan(0.2);
    expect(out.rootCauses.map((h) => h.changeId)).not.toContain('CR2080');
  });

  it('blames the origin, not the loudest downstream symptom', () => {
    // Prepare: no change at all; memory grows steadily in inventory (the origin) and in checkout (a caller),
    // and checkout's anomaly is by far the loudest.
    const leak = (m: number) => 500 + m * 4;
    const input = poolIncident({
      changes: [],
      templates: [{ ...poolTemplate, template: 'java.lang.OutOfMemoryError: Java heap space', evidenceIds: ['log-template:inventory-service:oom'] }],
      series: [series('inventory-service', 'memory_mb', leak), series('checkout-service', 'memory_mb', leak)],
    });
    // Act
    const out = analyseRootCause(input);
    // Assess
    expect(out.abstained).toBe(false);
    expect(out.rootCauses[0]).toMatchObject({ service: 'inventory-service', category: 'memory-leak' });
    const symptom = out.considered.find((h) => h.service === 'checkout-service' && h.category === 'memory-leak')!;
    expect(symptom.predictions[0].result).toBe('refuted');
    expect(symptom.confidence).toBeLessThan(out.rootCauses[0].confidence);
  });

  it('does not let a load surge that began before the change refute it (fault onset, not load onset)', () => {
    // Prepare: a flash sale doubles throughput from 11:50; the pool change lands at 12:04; failures from 12:10.
    const input = poolIncident({
      anomalies: [
        anomaly('inventory-service', 'throughput_rps', 400, 900, T('11:50')),
        anomaly('inventory-db', 'throughput_rps', 1000, 1900, T('11:50')),
        ...poolIncident().anomalies,
      ],
      series: [series('inventory-service', 'throughput_rps', (m) => (m >= 170 ? 900 : 400)), ...poolIncident().series],
    });
    // Act
    const out = analyseRootCause(input);
    // Assess: inventory-db only carries more load, so inventory-service stays the origin
    expect(out.rootCauses[0].changeId).toBe('CR2077');
    expect(out.rootCauses[0].predictions.every((p) => p.result === 'supported')).toBe(true);
    const surge = out.considered.find((h) => h.category === 'capacity' && h.service === 'inventory-service')!;
    expect(surge.predictions[1].result).toBe('supported');
    expect(surge.confidence).toBeLessThan(out.rootCauses[0].confidence);
  });

  it('does not take a dependency that degraded a little as the origin of the failure of its caller', () => {
    // Prepare: the sale's load makes inventory-db 3.5 ms slower from 11:55, before CR2077, and background errors
    // tick up from 0.006 % to 0.016 % at 11:22; inventory-service then takes 18 s more and fails 23 % of requests
    // from 12:10. The database cannot explain that: inventory-service stays the origin.
    const input = poolIncident({
      anomalies: [
        anomaly('inventory-db', 'throughput_rps', 1000, 1900, T('11:50')),
        anomaly('inventory-db', 'latency_p99_ms', 13.5, 17, T('11:55'), 4.3),
        anomaly('inventory-db', 'error_rate_pct', 0.006, 0.016, T('11:22'), 4.5),
        anomaly('inventory-service', 'error_rate_pct', 0.1, 23, T('12:10'), 900),
        ...poolIncident().anomalies,
      ],
    });
    // Act
    const out = analyseRootCause(input);
    // Assess
    expect(out.rootCauses[0].changeId).toBe('CR2077');
    expect(out.rootCauses[0].predictions.every((p) => p.result === 'supported')).toBe(true);
    const surge = out.considered.find((h) => h.category === 'capacity' && h.service === 'inventory-service')!;
    expect(surge.predictions[0]).toMatchObject({ result: 'supported' });
    expect(surge.predictions[0].statement).toContain('inventory-db degraded far less');
  });

  it('does not let a wobble of the changed service before its deploy refute it when its callers break after it', () => {
    // Prepare: inventory-service's p99 drifts just past the detector's edge from 11:55 (120 → 145 ms, z 3.6: noise);
    // CR3001 changes its API at 12:04, and checkout-service fails 24 % of requests decoding its answers from 12:06.
    const contract = cr('CR3001', 'inventory-service', T('12:04'), { title: 'Reservation API v2 response format' });
    const input = checkoutBreaks('reserve failed: MismatchedInputException: missing property quantity in response from inventory-service v2 API', {
      anomalies: [anomaly('checkout-service', 'error_rate_pct', 0.1, 24, T('12:06'), 800), anomaly('inventory-service', 'latency_p99_ms', 120, 145, T('11:55'), 3.6)],
      onset: T('11:55'),
      changes: [contract, cr('CR2990', 'checkout-service', T('11:30'), { title: 'Checkout copy tweaks' })],
    });
    // Act
    const out = analyseRootCause(input);
    // Assess: the deploy is the cause; its timing is judged on the failure, not on the wobble
    expect(out.abstained).toBe(false);
    expect(out.rootCauses[0]).toMatchObject({ changeId: 'CR3001', service: 'inventory-service' });
    expect(out.rootCauses[0].predictions[0]).toMatchObject({ result: 'supported', statement: expect.stringContaining('on checkout-service') });
  });

  it('still takes a dependency whose latency rose as much as its caller did as the origin', () => {
    // Prepare: inventory-db itself takes 9 s more from 12:08: inventory-service only waits for it.
    const input = poolIncident({
      anomalies: [anomaly('inventory-db', 'latency_p99_ms', 13.5, 9_000, T('12:08'), 50), ...poolIncident().anomalies],
    });
    // Act
    const out = analyseRootCause(input);
    // Assess
    const surge = out.considered.find((h) => h.category === 'capacity' && h.service === 'inventory-service')!;
    expect(surge.predictions[0]).toMatchObject({ result: 'refuted' });
    expect(surge.predictions[0].statement).toContain('it calls anomalous inventory-db');
    const change = out.considered.find((h) => h.changeId === 'CR2077')!;
    expect(change.predictions[0].statement).toContain('on inventory-db');
  });

  it('accepts a long lag as a slow burn when memory climbs from the deploy', () => {
    // Prepare: a deploy at 10:20, memory flat before and climbing after, GC errors from 12:09
    const leak = cr('CHG-6204', 'inventory-service', T('10:20'), { title: 'Cache decoded claims in-process' });
    const input = poolIncident({
      changes: [leak],
      templates: [{ ...poolTemplate, template: 'request timed out during GC pause', firstSeen: T('12:09'), evidenceIds: ['log-template:inventory-service:gc'] }],
      series: [series('inventory-service', 'memory_mb', (m) => (m < 80 ? 500 + (m % 20 === 0 ? 3 : 0) : 500 + (m - 80) * 8))],
    });
    // Act
    const out = analyseRootCause(input);
    // Assess
    expect(out.rootCauses[0]).toMatchObject({ changeId: 'CHG-6204', category: 'memory-leak' });
    expect(out.rootCauses[0].predictions[0]).toMatchObject({ result: 'supported', statement: expect.stringMatching(/slow burn: memory_mb/) });
    expect(out.rootCauses[0].evidenceIds).toContain('metric:inventory-service:memory_mb');
  });

  it('counts errors a slow burn causes when it finally gives out, however long after the onset', () => {
    // Prepare: a leak deployed at 10:20 climbs until the onset at 12:10; the first OOM kill comes only at 12:27,
    // 17 minutes into the incident (a heap takes its time to fill), the new error template of the incident.
    const leak = cr('CHG-6204', 'inventory-service', T('10:20'), { title: 'Cache decoded claims in-process' });
    const oom = { ...poolTemplate, template: 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory', firstSeen: T('12:27'), evidenceIds: ['log-template:inventory-service:oom'] };
    const input = poolIncident({
      changes: [leak],
      templates: [oom],
      series: [series('inventory-service', 'memory_mb', (m) => (m < 80 ? 500 + (m % 20 === 0 ? 3 : 0) : 500 + (m - 80) * 8))],
    });
    // Act
    const out = analyseRootCause(input);
    // Assess: the OOM is the burn's doing (supported), and the deploy that started the leak ranks first
    const change = out.considered.find((h) => h.changeId === 'CHG-6204')!;
    expect(change.predictions.find((p) => p.statement.startsWith('new errors where'))).toMatchObject({ result: 'supported', evidenceIds: expect.arrayContaining(['log-template:inventory-service:oom']) });
    expect(out.rootCauses[0]).toMatchObject({ changeId: 'CHG-6204', category: 'memory-leak' });
  });

  it('leaves a long lag without a drift inconclusive', () => {
    const old = cr('CHG-1', 'inventory-service', T('09:30'));
    const out = analyseRootCause(poolIncident({ changes: [old], templates: [], series: [series('inventory-service', 'memory_mb', () => 500)] }));
    expect(out.considered.find((h) => h.changeId === 'CHG-1')?.predictions[0].result).toBe('inconclusive');
  });

  it('counts a close past incident with the same kind of cause as weak support, never as refutation', () => {
    const similar = {
      incidents: [{ id: 'INC-1843', title: 'inventory-service DB pool starvation', score: 0.9, rootCause: 'HikariCP maximumPoolSize too small for peak load', resolution: 'raised the pool', evidenceIds: ['incident:INC-1843'] }],
      reasoning: '',
      evidenceIds: [],
    };
    const out = analyseRootCause(poolIncident({ similar }));
    const top = out.rootCauses[0];
    const without = analyseRootCause(poolIncident()).rootCauses[0].predictions;
    // The history check comes last, and only when there are close past incidents.
    expect(top.predictions).toHaveLength(without.length + 1);
    expect(top.predictions.at(-1)).toMatchObject({ result: 'supported', evidenceIds: ['incident:INC-1843'] });
    const herring = out.considered.find((h) => h.changeId === 'CR2080')!;
    expect(herring.predictions.at(-1)?.result).toBe('inconclusive');
    expect(without.some((p) => p.statement.startsWith('a similar past incident'))).toBe(false);
  });

  it('finds a traffic surge with no change behind it', () => {
    const input = poolIncident({
      changes: [],
      templates: [],
      series: [series('inventory-service', 'throughput_rps', (m) => (m >= 160 ? 1300 : 400)), series('inventory-service', 'cpu_pct', (m) => (m >= 190 ? 97 : 40))],
    });
    const out = analyseRootCause(input);
    expect(out.rootCauses[0]).toMatchObject({ service: 'inventory-service', category: 'capacity' });
    expect(out.rollbackCandidate).toBeUndefined();
  });

  it('dates a surge by the saturation it causes, not by a p99 that wobbled past the threshold before it', () => {
    // Prepare: traffic into inventory-service jumps at 12:00 and its CPU saturates from 12:00; its p99 crossed the
    // detector's edge on noise at 11:40 (z 6.4) and rises no further: it serves the surge slowly but fails nothing.
    const input = poolIncident({
      anomalies: [
        anomaly('inventory-service', 'cpu_pct', 40, 91, T('12:00'), 17),
        anomaly('inventory-service', 'throughput_rps', 400, 1000, T('12:00'), 25),
        anomaly('inventory-service', 'latency_p99_ms', 120, 150, T('11:40'), 6.4),
      ],
      onset: T('11:40'),
      changes: [],
      templates: [],
      series: [series('inventory-service', 'throughput_rps', (m) => (m >= 180 ? 1000 : 400)), series('inventory-service', 'cpu_pct', (m) => (m >= 180 ? 91 : 40))],
    });
    // Act
    const out = analyseRootCause(input);
    // Assess
    expect(out.abstained).toBe(false);
    expect(out.rootCauses[0]).toMatchObject({ service: 'inventory-service', category: 'capacity' });
    expect(out.rootCauses[0].predictions.find((p) => p.statement.startsWith('traffic into'))?.result).toBe('supported');
  });

  it('does not take a dependency that serves a little less because its failing caller calls it less as the origin', () => {
    // Prepare: CR3002 shrinks checkout-service's HTTP pool to inventory-service at 12:04: from 12:06 checkout
    // times out waiting for a connection (errors 7 %, z 240) and inventory-service, called less, serves 19 % fewer
    // requests (z 3.8) with healthy latency and errors.
    const pool = cr('CR3002', 'checkout-service', T('12:04'), { type: 'config', title: 'Tune inventory client', configChange: { param: 'inventory.client.max-connections', old: '200', new: '20' }, version: undefined });
    const input = checkoutBreaks('reserve failed: ConnectionPoolTimeoutException: Timeout waiting for connection from pool (route: http://inventory-service)', {
      anomalies: [
        anomaly('checkout-service', 'error_rate_pct', 0.1, 7, T('12:06'), 240),
        anomaly('checkout-service', 'latency_p99_ms', 200, 2000, T('12:06'), 100),
        anomaly('inventory-service', 'throughput_rps', 400, 325, T('12:05'), 3.8),
      ],
      onset: T('12:05'),
      changes: [pool],
    });
    // Act
    const out = analyseRootCause(input);
    // Assess
    expect(out.rootCauses[0]).toMatchObject({ changeId: 'CR3002', service: 'checkout-service', category: 'config-change' });
  });

  it('blames an external dependency when the failing spans end there', () => {
    const input = poolIncident({
      anomalies: [anomaly('checkout-service', 'error_rate_pct', 0.1, 30, T('12:10'))],
      changes: [],
      templates: [{ ...poolTemplate, service: 'checkout-service', template: 'payment-gateway call timed out after <*>ms', evidenceIds: ['log-template:checkout-service:pg'] }],
      traces: traces('payment-gateway'),
      series: [],
    });
    const out = analyseRootCause(input);
    expect(out.rootCauses[0]).toMatchObject({ service: 'payment-gateway', category: 'dependency' });
    const own = out.considered.find((h) => h.service === 'checkout-service' && h.category === 'capacity')!;
    expect(own.predictions[0].result).toBe('refuted'); // failing traces end elsewhere
  });

  it('abstains on a false alarm: no anomaly, nothing to explain', () => {
    const out = analyseRootCause(poolIncident({ anomalies: [] }));
    expect(out.abstained).toBe(true);
    expect(out.rootCauses).toEqual([]);
    expect(out.rollbackCandidate).toBeUndefined();
    expect(out.missingEvidence[0]).toMatch(/false alarm/);
  });

  it('abstains and lists the missing evidence when nothing is supported', () => {
    // Prepare: an anomaly, but no topology, traces, series, templates or changes.
    const input = poolIncident({ changes: [], templates: [], topology: [], traces: [], series: [], gaps: ['gap:telemetry.getTraces'] });
    // Act
    const out = analyseRootCause(input);
    // Assess
    expect(out.abstained).toBe(true);
    expect(out.rollbackCandidate).toBeUndefined();
    expect(out.missingEvidence).toEqual(expect.arrayContaining(['data from telemetry.getTraces']));
    expect(out.missingEvidence.some((m) => /throughput|memory|topology/.test(m))).toBe(true);
  });

  it('generates a hypothesis per change in the window and per anomalous service', () => {
    const candidates = testHypotheses(poolIncident());
    expect(candidates.filter((c) => c.kind === 'change').map((c) => c.changeId)).toEqual(['CR2077', 'CR2080', 'CR2081']);
    expect(new Set(candidates.filter((c) => c.kind === 'traffic-surge').map((c) => c.service))).toEqual(new Set(['inventory-service', 'checkout-service', 'frontend']));
    expect(candidates.some((c) => c.kind === 'dependency-outage' && c.service === 'payment-gateway')).toBe(true);
  });
});

describe('confidenceOf', () => {
  const p = (result: 'supported' | 'refuted' | 'inconclusive', weight = 1, decisive = false) => ({ result, weight, decisive });

  it('rises strictly with each supported check and stays below 1', () => {
    const levels = [0, 1, 2, 3, 4].map((k) => confidenceOf([...Array(k)].map(() => p('supported')).concat([...Array(4 - k)].map(() => p('inconclusive')))));
    for (let i = 1; i < levels.length; i++) expect(levels[i]).toBeGreaterThan(levels[i - 1]);
    expect(levels[4]).toBeLessThan(1);
    expect(levels[0]).toBeLessThan(ABSTAIN_BELOW);
  });

  it('falls with a refuted check and is 0 when a decisive one is refuted', () => {
    expect(confidenceOf([p('supported'), p('refuted')])).toBeLessThan(confidenceOf([p('supported'), p('inconclusive')]));
    expect(confidenceOf([p('refuted', 1.5, true), p('supported', 5)])).toBe(0);
  });
});

describe('isFailureSignal and trendTau', () => {
  it('tells failures from load', () => {
    expect(isFailureSignal({ metric: 'throughput_rps', direction: 'up', current: 900 })).toBe(false);
    expect(isFailureSignal({ metric: 'throughput_rps', direction: 'down', current: 10 })).toBe(true);
    expect(isFailureSignal({ metric: 'cpu_pct', direction: 'up', current: 60 })).toBe(false);
    expect(isFailureSignal({ metric: 'cpu_pct', direction: 'up', current: 97 })).toBe(true);
    expect(isFailureSignal({ metric: 'latency_p99_ms', direction: 'up', current: 900 })).toBe(true);
  });

  it('measures a steady trend despite noise', () => {
    expect(trendTau([1, 2, 3, 4, 5])).toBe(1);
    expect(trendTau([5, 4, 3, 2, 1])).toBe(-1);
    expect(trendTau([1, 3, 2, 4, 3, 5, 4, 6])).toBeGreaterThan(0.6);
    expect(Math.abs(trendTau([3, 1, 3, 1, 3, 1]))).toBeLessThan(0.3);
  });
});
