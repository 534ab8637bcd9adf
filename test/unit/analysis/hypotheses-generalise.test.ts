/**
 * Unit: the hypothesis tests that make the diagnosis hold up across worlds — a caller reporting its callee's
 * failure, a fault of the service itself (certificate) no change explains, a surge caused by a change that
 * floods a dependency, a slow burn dated by rate rather than by steadiness, and a deploy's category read from
 * the changed service's own symptoms.
 */
import { describe, expect, it } from 'vitest';
import { analyseRootCause, changeCategory, type RootCauseInput, type Template } from '../../../functions/core/analysis/hypotheses.ts';
import type { Anomaly } from '../../../functions/core/model.ts';
import type { ChangeRequest, MetricSeries, ServiceNode, Trace } from '../../../functions/core/tools/ports.ts';

const T0 = Date.parse('2026-03-14T12:30:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

const anomaly = (service: string, metric: string, baseline: number, current: number, onsetMin: number): Anomaly => ({
  service,
  metric,
  baseline,
  current,
  score: 20,
  direction: current >= baseline ? 'up' : 'down',
  onset: at(onsetMin),
  evidenceIds: [`anomaly:${service}:${metric}`],
});
const template = (service: string, text: string, firstSeenMin: number, novel = true): Template => ({
  id: `${service}-${text.length}`,
  template: text,
  service,
  level: 'ERROR',
  count: 100,
  firstSeen: at(firstSeenMin),
  lastSeen: at(0),
  novel,
  evidenceIds: [`log-template:${service}:${text.length}`],
});
const deploy = (id: string, service: string, deployedMin: number, title: string): ChangeRequest => ({
  id,
  service,
  type: 'deploy',
  title,
  description: title,
  deployedAt: at(deployedMin),
  state: 'implemented',
  version: { from: '1.0.0', to: '1.1.0' },
});
/** Traces whose only failing span is in `leaf` (called by `root`). */
const failingIn = (root: string, leaf: string, n = 6): Trace[] =>
  Array.from({ length: n }, (_, i) => ({
    traceId: `t${i}`,
    rootService: root,
    startedAt: at(-2),
    totalMs: 300,
    status: 'ERROR' as const,
    spans: [
      { spanId: 'a', service: root, operation: 'POST /pay', startedAt: at(-2), durationMs: 300, status: 'ERROR' as const },
      ...(leaf === root ? [] : [{ spanId: 'b', parentSpanId: 'a', service: leaf, operation: 'call', startedAt: at(-2), durationMs: 250, status: 'ERROR' as const }]),
    ],
  }));
/** One point per minute over the last `minutes` minutes. */
const perMinute = (service: string, metric: string, minutes: number, f: (m: number) => number): MetricSeries => ({
  service,
  metric,
  unit: '',
  points: Array.from({ length: minutes + 1 }, (_, i) => ({ t: at(i - minutes), v: f(i - minutes) })),
});

describe('unit: a caller reporting its callee, and a certificate fault no change explains', () => {
  // checkout → payment → ledger; ledger's certificate expired 9 minutes ago: the TLS handshake fails in
  // payment (no ledger span), payment's errors name ledger, ledger's traffic collapses. A payment deploy 25
  // minutes earlier is a red herring.
  const topology: ServiceNode[] = [
    { name: 'checkout-api', tier: 'frontend', calls: ['payment-service'] },
    { name: 'payment-service', tier: 'backend', calls: ['ledger-service'] },
    { name: 'ledger-service', tier: 'backend', calls: [] },
  ];
  const input: RootCauseInput = {
    incident: { service: 'checkout-api', startedAt: at(-9) },
    anomalies: [
      anomaly('checkout-api', 'error_rate_pct', 0.2, 60, -9),
      anomaly('payment-service', 'error_rate_pct', 0.3, 90, -9),
      anomaly('ledger-service', 'throughput_rps', 144, 0.1, -9),
    ],
    onset: at(-9),
    templates: [
      template('payment-service', 'call to ledger-service failed: javax.net.ssl.SSLHandshakeException: PKIX path validation failed', -9),
      template('ledger-service', 'javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_expired (peer <*>)', -9),
      template('payment-service', 'retrying <*> to downstream after <*> (attempt <*>/<*>)', -60, false),
    ],
    changes: [deploy('CHG-6105', 'payment-service', -25, 'payment-service v12.7.1: retry jitter on PSP calls')],
    topology,
    traces: failingIn('payment-service', 'payment-service'),
    series: [],
    now: at(0),
  };

  it('blames the certificate of the callee the caller cannot reach, not the caller deploy', () => {
    // Act
    const out = analyseRootCause(input);
    // Assess
    expect(out.abstained).toBe(false);
    expect(out.rootCauses[0]).toMatchObject({ service: 'ledger-service', category: 'certificate' });
    expect(out.rootCauses[0].changeId).toBeUndefined();
    const herring = out.considered.find((h) => h.changeId === 'CHG-6105')!;
    expect(herring.confidence).toBeLessThan(ABSTAIN);
  });

  it('keeps the change when the fault is in a service a change was deployed to (no-change refuted)', () => {
    // Prepare: the same symptoms, but ledger-service itself got a TLS config deploy 5 minutes before the onset
    const withChange = { ...input, changes: [...input.changes, deploy('CHG-7000', 'ledger-service', -14, 'ledger-service: new TLS keystore')] };
    // Act
    const out = analyseRootCause(withChange);
    // Assess: the change is the better explanation; the "fault without a change" hypothesis is weakened
    expect(out.rootCauses[0].changeId).toBe('CHG-7000');
    const fault = out.considered.find((h) => h.kind === 'service-fault');
    expect(fault?.predictions.find((p) => p.statement.startsWith('no change'))?.result).toBe('refuted');
  });

  it('places it in the callee though the callee\'s own metrics show nothing (it still serves whoever reaches it)', () => {
    // Only a share of ledger's replicas expired: its traffic hardly moves, so no anomaly of its own and no log line of
    // its own read; payment's spans and lines say the handshake to ledger was refused.
    const quiet: RootCauseInput = {
      ...input,
      anomalies: input.anomalies.filter((a) => a.service !== 'ledger-service'),
      templates: input.templates.filter((t) => t.service !== 'ledger-service'),
      changes: [],
    };
    const out = analyseRootCause(quiet);
    expect(out.rootCauses[0]).toMatchObject({ service: 'ledger-service', category: 'certificate' });
    // payment's own lines blame its callee: no certificate failure of payment's own
    expect(out.considered.some((h) => h.kind === 'service-fault' && h.service === 'payment-service')).toBe(false);
  });

  it('does not move a failure to a callee the caller merely mentions (an order journal is not orders-db)', () => {
    const journal: RootCauseInput = {
      ...input,
      anomalies: input.anomalies.filter((a) => a.service !== 'ledger-service'),
      templates: [template('payment-service', 'failed to write ledger journal: No space left on device', -9)],
      changes: [],
    };
    const out = analyseRootCause(journal);
    expect(out.considered.some((h) => h.service === 'ledger-service' && h.kind === 'service-fault')).toBe(false);
  });
});
const ABSTAIN = 0.5;

describe('unit: a change that floods a dependency is not a traffic surge', () => {
  // reporting → customers-db; reporting's deploy multiplies its queries; customers-db saturates; customer-service
  // (sharing the db) fails loudly and names it; an old log-level change on customer-service is a red herring.
  const topology: ServiceNode[] = [
    { name: 'account-web', tier: 'frontend', calls: ['customer-service'] },
    { name: 'customer-service', tier: 'backend', calls: ['customers-db'] },
    { name: 'reporting-service', tier: 'backend', calls: ['customers-db'] },
    { name: 'customers-db', tier: 'database', calls: [] },
  ];
  const input: RootCauseInput = {
    incident: { service: 'account-web', startedAt: at(-10) },
    anomalies: [
      anomaly('customers-db', 'cpu_pct', 42, 100, -12),
      anomaly('customers-db', 'throughput_rps', 1000, 3300, -14),
      anomaly('customer-service', 'error_rate_pct', 0.05, 50, -10),
      anomaly('account-web', 'error_rate_pct', 0.1, 37, -10),
    ],
    onset: at(-12),
    templates: [
      template('customer-service', 'call to customers-db failed: Read timed out after <*> (requestId=<*>)', -10),
      template('customer-service', 'HikariPool-1 - Connection is not available, request timed out', -10),
    ],
    changes: [
      deploy('CHG-7303', 'reporting-service', -15, 'reporting-service v6.1.0: streaming CSV export'),
      { ...deploy('CHG-7296', 'customer-service', -70, 'Lower log level'), type: 'config', version: undefined, configChange: { param: 'logging.level.address', old: 'DEBUG', new: 'INFO' } },
    ],
    topology,
    traces: failingIn('customer-service', 'customer-service'),
    series: [
      perMinute('customers-db', 'throughput_rps', 90, (m) => (m >= -15 ? 3300 : 1000)),
      perMinute('reporting-service', 'throughput_rps', 90, () => 20),
      perMinute('customers-db', 'cpu_pct', 90, (m) => (m >= -14 ? 100 : 42)),
    ],
    now: at(0),
  };

  it('blames the flooding deploy over the surge, the loud caller and its old config change', () => {
    // Act
    const out = analyseRootCause(input);
    // Assess
    expect(out.rootCauses[0].changeId).toBe('CHG-7303');
    const surge = out.considered.find((h) => h.kind === 'traffic-surge' && h.service === 'customers-db')!;
    expect(surge.predictions.some((p) => p.result === 'refuted' && /multiplies its calls/.test(p.statement))).toBe(true);
    // the loud caller's errors name its callee: its failing traces are the callee's, so the old change has no place
    const old = out.considered.find((h) => h.changeId === 'CHG-7296')!;
    expect(old.predictions[1].result).not.toBe('supported');
    expect(old.confidence).toBeLessThan(out.rootCauses[0].confidence);
  });
});

describe('unit: a deploy upstream of the flooding one floods nothing', () => {
  // portal → orders-api → orders-db: orders-api's deploy (a cache that stopped hitting) multiplies its queries;
  // portal deployed in the same minutes, and its own calls into orders-api stayed flat.
  const topology: ServiceNode[] = [
    { name: 'portal', tier: 'frontend', calls: ['orders-api'] },
    { name: 'orders-api', tier: 'backend', calls: ['orders-db'] },
    { name: 'orders-db', tier: 'database', calls: [] },
  ];
  const input = (ordersApiCalls: (m: number) => number): RootCauseInput => ({
    incident: { service: 'portal', startedAt: at(-10) },
    anomalies: [anomaly('orders-db', 'cpu_pct', 40, 100, -12), anomaly('orders-api', 'latency_p99_ms', 90, 2000, -11), anomaly('portal', 'latency_p99_ms', 150, 2300, -11)],
    onset: at(-12),
    templates: [],
    changes: [deploy('CHG-PORTAL', 'portal', -16, 'portal: new banner'), deploy('CHG-ORDERS', 'orders-api', -15, 'orders: read through the new repository layer')],
    topology,
    traces: [],
    series: [
      perMinute('orders-db', 'throughput_rps', 90, (m) => (m >= -15 ? 4000 : 1000)),
      perMinute('orders-api', 'throughput_rps', 90, ordersApiCalls),
      perMinute('portal', 'throughput_rps', 90, () => 200),
    ],
    now: at(0),
  });
  const floods = (h: { predictions: { statement: string; result: string }[] } | undefined) => h?.predictions.some((p) => p.result === 'supported' && /multiplies its calls/.test(p.statement));

  it('credits the flood to the service whose calls rose, not to the one above it whose calls into it stayed flat', () => {
    const out = analyseRootCause(input(() => 200));
    expect(floods(out.considered.find((h) => h.changeId === 'CHG-ORDERS'))).toBe(true);
    expect(floods(out.considered.find((h) => h.changeId === 'CHG-PORTAL'))).toBe(false);
    expect(out.rootCauses[0].changeId).toBe('CHG-ORDERS');
  });

  it("credits a Lambda's alias move though X-Ray draws its function node between it and the table (the same code)", () => {
    const xray: ServiceNode[] = [
      { name: 'checkout', tier: 'backend', calls: ['checkout_AWS::Lambda::Function'] },
      { name: 'checkout_AWS::Lambda::Function', tier: 'backend', calls: ['orders_AWS::DynamoDB::Table'] },
      { name: 'orders_AWS::DynamoDB::Table', tier: 'database', calls: [] },
    ];
    const out = analyseRootCause({
      ...input(() => 200),
      incident: { service: 'checkout', startedAt: at(-10) },
      anomalies: [anomaly('orders_AWS::DynamoDB::Table', 'error_rate_pct', 0, 3, -12), anomaly('checkout', 'error_rate_pct', 0.1, 8, -11)],
      changes: [deploy('CHG-ALIAS', 'checkout', -15, 'Lambda checkout alias live: version 42 → 43')],
      topology: xray,
      series: [
        perMinute('orders_AWS::DynamoDB::Table', 'throughput_rps', 90, (m) => (m >= -15 ? 600 : 200)),
        perMinute('checkout_AWS::Lambda::Function', 'throughput_rps', 90, () => 200),
        perMinute('checkout', 'throughput_rps', 90, () => 200),
      ],
    });
    expect(floods(out.considered.find((h) => h.changeId === 'CHG-ALIAS'))).toBe(true);
  });

  it('credits the upstream deploy when its own calls into the next hop jumped too (a retry storm from the top)', () => {
    const out = analyseRootCause(input((m) => (m >= -16 ? 800 : 200)));
    expect(floods(out.considered.find((h) => h.changeId === 'CHG-PORTAL'))).toBe(true);
  });
});

describe('unit: slow burn dated by rate, not by steadiness', () => {
  const topology: ServiceNode[] = [{ name: 'session-service', tier: 'backend', calls: [] }];
  // Memory wanders slowly (±2 %, perfectly monotone over the hour before the deploy) then climbs 0.6 %/min.
  const memory = (m: number) => (m < -110 ? 1200 + 0.3 * (m + 170) : 1218 + 8 * (m + 110));
  const input: RootCauseInput = {
    incident: { service: 'session-service', startedAt: at(-5) },
    anomalies: [anomaly('session-service', 'latency_p99_ms', 90, 300, -5), anomaly('session-service', 'memory_mb', 1270, 2000, -60)],
    onset: at(-5),
    templates: [],
    changes: [deploy('CHG-6204', 'session-service', -110, 'Cache decoded JWT claims in-process')],
    topology,
    traces: [],
    series: [perMinute('session-service', 'memory_mb', 170, memory)],
    now: at(0),
  };

  it('supports the deploy 105 minutes before the onset as a memory leak although memory drifted before it', () => {
    const out = analyseRootCause(input);
    expect(out.rootCauses[0]).toMatchObject({ changeId: 'CHG-6204', category: 'memory-leak' });
    expect(out.rootCauses[0].predictions[0]).toMatchObject({ result: 'supported' });
    expect(out.rootCauses[0].predictions[0].statement).toMatch(/slow burn/);
  });
});

describe('unit: changeCategory', () => {
  const d = deploy('CHG-1', 'catalog-api', -16, 'catalog-api v7.3.0: evict products on price change');
  it('reads a deploy as the resource fault its own symptoms name, else a bad deploy', () => {
    expect(changeCategory(d, undefined, ['product cache miss rate high: <*> misses/s', 'cache_hit_ratio_pct'])).toBe('cache');
    expect(changeCategory(d, 'db_pool_active')).toBe('connection-pool');
    expect(changeCategory(d, 'memory_mb')).toBe('memory-leak');
    // a slow query is still a bad deploy: "database" is not a resource of the changed service
    expect(changeCategory(d, undefined, ['slow SQL query on listing'])).toBe('bad-deploy');
    expect(changeCategory(d, undefined, [])).toBe('bad-deploy');
  });
});

describe('unit: a fault is dated by its strong indicators', () => {
  it('does not let a mild latency creep before the fault put the onset before the deploy that caused it', () => {
    // Prepare: cart-service latency crept +25 % (z 5) from -22 min; its errors jumped to 24 % (z 700) at -1;
    // the bad deploy went out at -2 (after the creep began, before the errors)
    const topology: ServiceNode[] = [
      { name: 'mobile-gateway', tier: 'frontend', calls: ['cart-service'] },
      { name: 'cart-service', tier: 'backend', calls: ['pricing-service'] },
      { name: 'pricing-service', tier: 'backend', calls: [] },
    ];
    const input: RootCauseInput = {
      incident: { service: 'mobile-gateway', startedAt: at(-1) },
      anomalies: [
        { ...anomaly('cart-service', 'latency_p99_ms', 158, 200, -22), score: 5 },
        { ...anomaly('cart-service', 'error_rate_pct', 0.09, 24, -1), score: 700 },
        { ...anomaly('mobile-gateway', 'error_rate_pct', 0.2, 19, -1), score: 500 },
      ],
      onset: at(-22),
      templates: [template('cart-service', 'price lookup failed: unexpected field "amountMinor" in pricing response', -1)],
      changes: [{ ...deploy('CHG-20931', 'cart-service', -2, 'cart-service v3.1: new pricing response parsing') }],
      topology,
      traces: failingIn('mobile-gateway', 'cart-service'),
      series: [],
      now: at(0),
    };
    // Act
    const out = analyseRootCause(input);
    // Assess
    expect(out.rootCauses[0].changeId).toBe('CHG-20931');
    expect(out.rootCauses[0].predictions[0].result).toBe('supported');
  });
});
