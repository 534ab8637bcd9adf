/**
 * Unit: what a blamed change did, read from the phenomenon — a DNS record change whose callers cannot resolve the
 * name (the service itself looks idle), a deploy whose cache stopped hitting (the database is the loud symptom), a
 * change to a database that slows it, a lowered limit named after the database that is really a pool running dry —
 * and when a change is blamed at all: an older deploy on the failing service whose code path fires long after it
 * (a newer change elsewhere must not displace it), and a leak that began before the series look-back.
 */
import { describe, expect, it } from 'vitest';
import { analyseRootCause, changeCategory, type RootCauseInput, type Template } from '../../../functions/core/analysis/hypotheses.ts';
import { originCandidates } from '../../../functions/core/analysis/origin-hypotheses.ts';
import type { Anomaly } from '../../../functions/core/model.ts';
import type { ChangeRequest, MetricSeries, ServiceNode, Trace } from '../../../functions/core/tools/ports.ts';

const T0 = Date.parse('2026-05-02T09:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

const anomaly = (service: string, metric: string, baseline: number, current: number, onsetMin: number, score = 40): Anomaly => ({
  service,
  metric,
  baseline,
  current,
  score,
  direction: current >= baseline ? 'up' : 'down',
  onset: at(onsetMin),
  evidenceIds: [`anomaly:${service}:${metric}`],
});
const template = (service: string, text: string, firstSeenMin: number, level = 'ERROR'): Template => ({
  id: `${service}-${text.length}`,
  template: text,
  service,
  level,
  count: 80,
  firstSeen: at(firstSeenMin),
  lastSeen: at(0),
  novel: true,
  evidenceIds: [`log-template:${service}:${text.length}`],
});
const change = (id: string, service: string, deployedMin: number, type: ChangeRequest['type'], title: string, description = title, extra: Partial<ChangeRequest> = {}): ChangeRequest => ({
  id,
  service,
  type,
  title,
  description,
  deployedAt: at(deployedMin),
  state: 'implemented',
  ...(type === 'deploy' ? { version: { from: '3.1.0', to: '3.2.0' } } : {}),
  ...extra,
});
/** One point per minute over the last `minutes` minutes. */
const perMinute = (service: string, metric: string, minutes: number, f: (m: number) => number): MetricSeries => ({
  service,
  metric,
  unit: '',
  points: Array.from({ length: minutes + 1 }, (_, i) => ({ t: at(i - minutes), v: f(i - minutes) })),
});
/** Traces from `root` whose deepest failing span is `caller`, which failed to reach `callee` with `error`. */
const failedCalls = (root: string, caller: string, callee: string, error: string, n = 6): Trace[] =>
  Array.from({ length: n }, (_, i) => ({
    traceId: `t${i}`,
    rootService: root,
    startedAt: at(-2),
    totalMs: 40,
    status: 'ERROR' as const,
    spans: [
      { spanId: 'a', service: root, operation: 'GET /orders', startedAt: at(-2), durationMs: 40, status: 'ERROR' as const, error: `call to ${caller} failed` },
      { spanId: 'b', parentSpanId: 'a', service: caller, operation: 'GET /orders', startedAt: at(-2), durationMs: 30, status: 'ERROR' as const, error: `${error} (calling ${callee})` },
    ],
  }));
/** Small deterministic wobble, so that flat series are not perfectly flat. */
const wobble = (m: number) => Math.sin(m * 1.7) * 0.8;

describe('unit: a DNS change breaks the name of a service its callers cannot resolve', () => {
  // web → orders → pricing; pricing's CNAME was repointed 4 min before the onset: orders fails to resolve it
  // (no pricing span, nothing in pricing's logs), pricing serves less and less. The change's text names no mechanism.
  const topology: ServiceNode[] = [
    { name: 'web', tier: 'frontend', calls: ['orders-service'] },
    { name: 'orders-service', tier: 'backend', calls: ['pricing-engine'] },
    { name: 'pricing-engine', tier: 'backend', calls: [] },
  ];
  const input: RootCauseInput = {
    incident: { service: 'web', startedAt: at(-6) },
    anomalies: [
      anomaly('web', 'error_rate_pct', 0.1, 30, -6, 200),
      anomaly('orders-service', 'error_rate_pct', 0.1, 45, -6, 500),
      anomaly('pricing-engine', 'throughput_rps', 80, 20, -6, 15),
    ],
    templates: [template('web', 'call to orders-service failed: HTTP <*> Internal Server Error', -6)],
    changes: [change('CHG-7', 'pricing-engine', -10, 'infrastructure', 'Point pricing-engine.prod.example at the new load balancer', 'Moves the pricing-engine entry to the new internal balancer.')],
    topology,
    traces: failedCalls('web', 'orders-service', 'pricing-engine', 'java.net.UnknownHostException: pricing-engine.prod.example: Name or service not known'),
    series: [],
    now: at(0),
  };

  it('blames the change as a DNS fault: what the callers say when the name does not resolve', () => {
    const out = analyseRootCause(input);
    expect(out.rootCauses[0]).toMatchObject({ service: 'pricing-engine', changeId: 'CHG-7', category: 'dns' });
  });

  it('reads the resolver wording of other runtimes too, and a change that names the record it edits', () => {
    for (const error of ['getaddrinfo ENOTFOUND pricing-engine.prod.example', 'dial tcp: lookup pricing-engine.prod.example: no such host', 'Temporary failure in name resolution']) {
      const out = analyseRootCause({ ...input, traces: failedCalls('web', 'orders-service', 'pricing-engine', error) });
      expect(out.rootCauses[0]).toMatchObject({ changeId: 'CHG-7', category: 'dns' });
    }
    const cname = change('CHG-8', 'pricing-engine', -10, 'infrastructure', 'Replace the pricing-engine CNAME');
    expect(changeCategory(cname)).toBe('dns');
  });
});

describe('unit: a change category read from the phenomenon', () => {
  it('reads a change to a database that names no mechanism as a database fault', () => {
    const resize = change('CHG-1', 'orders-pg', -5, 'infrastructure', 'Resize orders-pg to a smaller instance class');
    const audit = change('CHG-2', 'orders-pg', -5, 'config', 'Set log_statement to all on orders-pg', 'Needed for the audit review.', { configChange: { param: 'log_statement', old: 'none', new: 'all' } });
    expect(changeCategory(resize, undefined, [], { tier: 'database' })).toBe('database');
    expect(changeCategory(audit, undefined, [], { tier: 'database' })).toBe('database');
    // The same changes on a service that is not a database keep their type's category.
    expect(changeCategory(audit, undefined, [], { tier: 'backend' })).toBe('config-change');
  });

  it('reads a lowered limit its service fails at as the resource its own symptoms say ran out, whatever the parameter is called', () => {
    const cut = change('CHG-3', 'cart-service', -3, 'config', 'Set database.max_connections_per_pod to 2 on cart-service', 'Reduce connections.', {
      configChange: { param: 'database.max_connections_per_pod', old: '20', new: '2' },
    });
    const symptoms = ['HikariPool-1 - Connection is not available, request timed out after <*>ms', 'latency_p99_ms'];
    expect(changeCategory(cut, undefined, symptoms, { atLoweredLimit: true })).toBe('connection-pool');
    // Not at the limit: the parameter's words decide, as before.
    expect(changeCategory(cut, undefined, symptoms)).toBe('database');
  });

  it('reads a deploy whose cache stopped hitting as a cache fault although the hit ratio falling is no failure signal', () => {
    // catalog → catalog-db; the deploy evicts the cache: the hit ratio falls, the database takes the misses.
    const topology: ServiceNode[] = [
      { name: 'shop-web', tier: 'frontend', calls: ['catalog-engine'] },
      { name: 'catalog-engine', tier: 'backend', calls: ['catalog-redis', 'catalog-db'] },
      { name: 'catalog-redis', tier: 'cache', calls: [] },
      { name: 'catalog-db', tier: 'database', calls: [] },
    ];
    const input: RootCauseInput = {
      incident: { service: 'shop-web', startedAt: at(-6) },
      anomalies: [
        anomaly('catalog-db', 'error_rate_pct', 0.01, 11, -6, 900),
        anomaly('catalog-db', 'cpu_pct', 35, 100, -7),
        anomaly('catalog-db', 'throughput_rps', 1500, 6000, -7),
        anomaly('catalog-engine', 'error_rate_pct', 0.2, 8, -6, 150),
        anomaly('catalog-engine', 'cache_hit_ratio_pct', 92, 70, -7, 5),
        anomaly('shop-web', 'error_rate_pct', 0.1, 5, -6, 140),
      ],
      templates: [
        template('catalog-db', 'canceling statement due to statement timeout', -6),
        template('catalog-engine', 'call to catalog-db failed: Read timed out after <*>', -6),
      ],
      changes: [change('CHG-9', 'catalog-engine', -9, 'deploy', 'catalog: move reads to the new repository layer')],
      topology,
      traces: [],
      series: [
        perMinute('catalog-engine', 'throughput_rps', 60, (m) => 500 + wobble(m)),
        perMinute('catalog-db', 'throughput_rps', 60, (m) => (m < -9 ? 1500 : 6000) + wobble(m)),
      ],
      now: at(0),
    };
    const out = analyseRootCause(input);
    expect(out.rootCauses[0]).toMatchObject({ service: 'catalog-engine', changeId: 'CHG-9', category: 'cache' });
  });
});

describe('unit: an older deploy whose code path fires long after it, beside a newer change', () => {
  // web → quotes-service; quotes was deployed 75 min before the onset; its new exception appears only at the
  // onset. A harmless deploy of web lands 2 min before it.
  const topology: ServiceNode[] = [
    { name: 'web', tier: 'frontend', calls: ['quotes-service'] },
    { name: 'quotes-service', tier: 'backend', calls: [] },
  ];
  const failing: Trace[] = Array.from({ length: 8 }, (_, i) => ({
    traceId: `q${i}`,
    rootService: 'web',
    startedAt: at(-3),
    totalMs: 90,
    status: 'ERROR' as const,
    spans: [
      { spanId: 'a', service: 'web', operation: 'GET /quote', startedAt: at(-3), durationMs: 90, status: 'ERROR' as const, error: 'call failed' },
      { spanId: 'b', parentSpanId: 'a', service: 'quotes-service', operation: 'GET /quote', startedAt: at(-3), durationMs: 60, status: 'ERROR' as const, error: 'IllegalArgumentException: No enum constant QuoteStatus.EXPIRED' },
    ],
  }));
  const input = (quotesErrorFirstSeen: number, laterQuotesChange = false): RootCauseInput => ({
    incident: { service: 'web', startedAt: at(-5) },
    anomalies: [anomaly('web', 'error_rate_pct', 0.1, 30, -5, 200), anomaly('quotes-service', 'error_rate_pct', 0.1, 40, -5, 600)],
    templates: [
      template('quotes-service', 'request <*> failed: IllegalArgumentException: No enum constant QuoteStatus.EXPIRED', quotesErrorFirstSeen),
      template('web', 'call to quotes-service failed: HTTP <*> Internal Server Error', -5),
    ],
    changes: [
      change('CHG-OLD', 'quotes-service', -80, 'deploy', 'quotes: faster list endpoint'),
      change('CHG-NEW', 'web', -7, 'deploy', 'web: new footer'),
      ...(laterQuotesChange ? [change('CHG-MID', 'quotes-service', -30, 'config', 'Set quotes.page-size to 50 on quotes-service', 'Bigger pages.')] : []),
    ],
    topology,
    traces: failing,
    series: [],
    now: at(0),
  });

  it('blames the last change to the failing service when its new errors appear only at the onset', () => {
    const out = analyseRootCause(input(-5));
    expect(out.rootCauses[0]).toMatchObject({ service: 'quotes-service', changeId: 'CHG-OLD', category: 'bad-deploy' });
    expect(out.rootCauses[0].predictions[0]).toMatchObject({ result: 'supported' });
    expect(out.rootCauses[0].predictions[0].statement).toMatch(/latent code path/);
  });

  it('does not when the service was changed again since, or its errors were there since the deploy', () => {
    const later = analyseRootCause(input(-5, true)).considered.find((h) => h.changeId === 'CHG-OLD');
    expect(later?.predictions[0].result).toBe('inconclusive');
    const smouldering = analyseRootCause(input(-78)).considered.find((h) => h.changeId === 'CHG-OLD');
    expect(smouldering?.predictions[0].result).toBe('inconclusive');
  });
});

describe('unit: the last change to the failing service, when nothing else decides', () => {
  // quotes-service slows down (p99 only: no error lines, no traces) 90 min after its deploy; web changed at the onset.
  const topology: ServiceNode[] = [
    { name: 'web', tier: 'frontend', calls: ['quotes-service'] },
    { name: 'quotes-service', tier: 'backend', calls: [] },
  ];
  const input = (extra: ChangeRequest[] = []): RootCauseInput => ({
    incident: { service: 'web', startedAt: at(-5) },
    anomalies: [anomaly('web', 'latency_p99_ms', 200, 1400, -5, 40), anomaly('quotes-service', 'latency_p99_ms', 120, 1300, -5, 60)],
    templates: [],
    changes: [change('CHG-OLD', 'quotes-service', -95, 'deploy', 'quotes: faster list endpoint'), change('CHG-NEW', 'web', -6, 'deploy', 'web: new footer'), ...extra],
    topology,
    traces: [],
    series: [],
    now: at(0),
  });
  const elimination = (h: { predictions: { statement: string; result: string }[] } | undefined) => h?.predictions.find((p) => /is the last change to/.test(p.statement));

  it('names it as a weak suspect, above no suspect at all', () => {
    const out = analyseRootCause(input());
    const old = out.considered.find((h) => h.changeId === 'CHG-OLD');
    expect(elimination(old)).toMatchObject({ result: 'supported' });
    expect(old?.predictions[0].result).toBe('inconclusive');
    expect(old?.confidence).toBeGreaterThanOrEqual(0.5);
    expect(old?.confidence).toBeLessThan(0.7);
  });

  it('does not when the service changed again since, or the deploy is older than a dormant fault may lie', () => {
    const since = analyseRootCause(input([change('CHG-MID', 'quotes-service', -40, 'config', 'Set quotes.page-size to 50 on quotes-service', 'Bigger pages.')]));
    expect(elimination(since.considered.find((h) => h.changeId === 'CHG-OLD'))).toBeUndefined();
    const ancient = analyseRootCause({ ...input(), changes: [change('CHG-OLD', 'quotes-service', -8 * 60, 'deploy', 'quotes: faster list endpoint')] });
    expect(elimination(ancient.considered.find((h) => h.changeId === 'CHG-OLD'))).toBeUndefined();
  });
});

describe('unit: a leak that began before the look-back', () => {
  // ledger-api leaks since a deploy 20 h ago: over the 3 h read before the onset its memory climbs only ×1.07 but
  // without pause, and the JVM already spends its time in full GCs.
  const topology: ServiceNode[] = [
    { name: 'web', tier: 'frontend', calls: ['ledger-api'] },
    { name: 'ledger-api', tier: 'backend', calls: [] },
  ];
  const memory = perMinute('ledger-api', 'memory_mb', 180, (m) => 1240 + (m + 180) * 0.5 + wobble(m) * 3);
  const base: RootCauseInput = {
    incident: { service: 'ledger-api', startedAt: at(-4) },
    anomalies: [anomaly('ledger-api', 'latency_p99_ms', 500, 900, -4, 30)],
    templates: [template('ledger-api', '[gc] Pause Full (G1 Evacuation Pause) <*>M-><*>M(1536M) <*>ms', -170, 'WARN')],
    changes: [],
    topology,
    traces: [],
    series: [memory, perMinute('ledger-api', 'throughput_rps', 180, (m) => 200 + wobble(m))],
    now: at(0),
  };

  it('supports a leak of the service from a slow, unbroken climb and GC pressure', () => {
    const out = analyseRootCause(base);
    expect(out.rootCauses[0]).toMatchObject({ service: 'ledger-api', category: 'memory-leak' });
    const growth = out.rootCauses[0].predictions.find((p) => /grows monotonically/.test(p.statement));
    expect(growth?.result).toBe('supported');
  });

  it('blames the deploy older than the series as the leak, when it is the last change to the service', () => {
    const out = analyseRootCause({ ...base, changes: [change('CHG-20H', 'ledger-api', -20 * 60, 'deploy', 'ledger: upgrade the runtime')] });
    expect(out.rootCauses[0]).toMatchObject({ service: 'ledger-api', changeId: 'CHG-20H', category: 'memory-leak' });
    expect(out.rootCauses[0].predictions[0].statement).toMatch(/older than the series/);
  });

  // The agent's 48 h history of that memory (history.ts), 5-minute points: flat at 650 MiB until 20 h before the onset,
  // then the climb that reaches the 3 h series.
  const history: MetricSeries = {
    service: 'ledger-api',
    metric: 'memory_mb',
    unit: '',
    points: Array.from({ length: 48 * 12 + 1 }, (_, i) => {
      const m = -48 * 60 + i * 5;
      return { t: at(m), v: (m < -20 * 60 ? 650 : 650 + (m + 20 * 60) * 0.5) + wobble(m) * 3 };
    }),
  };

  it('with the history, blames the deploy where the climb began, not merely the last change before the series', () => {
    const started = analyseRootCause({ ...base, history: [history], changes: [change('CHG-20H', 'ledger-api', -20 * 60 - 10, 'deploy', 'ledger: upgrade the runtime')] });
    expect(started.rootCauses[0]).toMatchObject({ service: 'ledger-api', changeId: 'CHG-20H', category: 'memory-leak' });
    expect(started.rootCauses[0].predictions[0].statement).toMatch(/began to climb \d+ min before the onset in its longer history/);
    expect(started.rootCauses[0].evidenceIds).toContain('history:ledger-api:memory_mb');
    // A deploy 30 h before the onset is older than the climb: the leak stands without a change to blame.
    const older = analyseRootCause({ ...base, history: [history], changes: [change('CHG-30H', 'ledger-api', -30 * 60, 'deploy', 'ledger: upgrade the runtime')] });
    expect(older.rootCauses[0]).toMatchObject({ service: 'ledger-api', category: 'memory-leak' });
    expect(older.rootCauses[0].changeId).toBeUndefined();
    expect(older.rootCauses[0].predictions.find((p) => /grows monotonically/.test(p.statement))?.result).toBe('supported');
  });

  it('reads a leak from the history when the 3 h series alone are too flat to call one', () => {
    // 0.1 MiB a minute for 20 h: 18 MiB over the 3 h read, half lost in the wobble; the history shows ×1.4 since the start.
    const slow = (m: number) => (m < -20 * 60 ? 300 : 300 + (m + 20 * 60) * 0.1);
    const fine = perMinute('ledger-api', 'memory_mb', 180, (m) => slow(m) + wobble(m) * 3);
    const long: MetricSeries = { ...history, points: history.points.map((p) => ({ t: p.t, v: slow((Date.parse(p.t) - T0) / 60_000) })) };
    const without = analyseRootCause({ ...base, series: [fine] }).considered.find((h) => h.category === 'memory-leak' && !h.changeId);
    expect(without?.predictions.find((p) => /grows monotonically/.test(p.statement))?.result).not.toBe('supported');
    const withHistory = analyseRootCause({ ...base, series: [fine], history: [long] }).considered.find((h) => h.category === 'memory-leak' && !h.changeId);
    expect(withHistory?.predictions.find((p) => /grows monotonically/.test(p.statement))).toMatchObject({ result: 'supported', statement: expect.stringMatching(/in its 48 h history/) });
  });

  it('does not call flat memory a leak', () => {
    const flat = analyseRootCause({ ...base, series: [perMinute('ledger-api', 'memory_mb', 180, (m) => 1240 + wobble(m) * 3)] });
    const leak = flat.considered.find((h) => h.category === 'memory-leak' && !h.changeId);
    expect(leak?.predictions.find((p) => /grows monotonically/.test(p.statement))?.result).toBe('refuted');
  });
});

describe('unit: a deploy that floods its database through a cache that stopped hitting', () => {
  const deployed = change('CHG-4', 'catalog-engine', -9, 'deploy', 'catalog: move reads to the new repository layer');
  it('reads the flood as a cache fault, not as the pool that filled up with the slow calls', () => {
    // The pool climbed from the deploy (a "slow burn" of db_pool_active) and its errors speak of the pool.
    const symptoms = ['HikariPool-1 - Connection is not available, request timed out after <*>ms', 'db_pool_active', 'cache_hit_ratio_pct'];
    expect(changeCategory(deployed, 'db_pool_active', symptoms, { floods: true })).toBe('cache');
    // Without the flood, a pool that fills from the deploy on is still a connection leak.
    expect(changeCategory(deployed, 'db_pool_active', symptoms)).toBe('connection-pool');
    // A flood with no cache symptom (N+1 queries) is a bad deploy, whatever the pool says.
    expect(changeCategory(deployed, 'db_pool_active', symptoms.slice(0, 2), { floods: true })).toBe('bad-deploy');
  });

  it('sees misses that rise at the deploy in a hit-ratio series too small a fall for the detector', () => {
    const topology: ServiceNode[] = [
      { name: 'shop-web', tier: 'frontend', calls: ['catalog-engine'] },
      { name: 'catalog-engine', tier: 'backend', calls: ['catalog-redis', 'catalog-db'] },
      { name: 'catalog-redis', tier: 'cache', calls: [] },
      { name: 'catalog-db', tier: 'database', calls: [] },
    ];
    const input: RootCauseInput = {
      incident: { service: 'shop-web', startedAt: at(-6) },
      anomalies: [
        anomaly('catalog-db', 'error_rate_pct', 0.01, 11, -6, 900),
        anomaly('catalog-db', 'cpu_pct', 35, 100, -7),
        anomaly('catalog-engine', 'error_rate_pct', 0.2, 8, -6, 150),
        anomaly('shop-web', 'error_rate_pct', 0.1, 5, -6, 140),
      ],
      templates: [template('catalog-engine', 'call to catalog-db failed: Read timed out after <*>', -6)],
      changes: [deployed],
      topology,
      traces: [],
      series: [
        perMinute('catalog-engine', 'throughput_rps', 60, (m) => 500 + wobble(m)),
        perMinute('catalog-db', 'throughput_rps', 60, (m) => (m < -9 ? 1500 : 6000) + wobble(m)),
        // 97 % → 87 %: four times the misses.
        perMinute('catalog-engine', 'cache_hit_ratio_pct', 60, (m) => (m < -9 ? 97 : 87) + wobble(m) * 0.1),
      ],
      now: at(0),
    };
    expect(analyseRootCause(input).rootCauses[0]).toMatchObject({ changeId: 'CHG-4', category: 'cache' });
    const steady = { ...input, series: [...input.series.slice(0, 2), perMinute('catalog-engine', 'cache_hit_ratio_pct', 60, (m) => 97 + wobble(m) * 0.1)] };
    expect(analyseRootCause(steady).rootCauses[0]).toMatchObject({ changeId: 'CHG-4', category: 'bad-deploy' });
  });
});

describe('unit: a leak that a deploy of the service started', () => {
  it('ranks the deploy the climb starts at above the leak with no change to blame', () => {
    // ledger-api: memory flat until a deploy 50 min before the onset, then ×1.8; the JVM struggles.
    const topology: ServiceNode[] = [
      { name: 'web', tier: 'frontend', calls: ['ledger-api'] },
      { name: 'ledger-api', tier: 'backend', calls: [] },
    ];
    const input: RootCauseInput = {
      incident: { service: 'ledger-api', startedAt: at(-4) },
      anomalies: [anomaly('ledger-api', 'latency_p99_ms', 500, 1400, -4, 60), anomaly('ledger-api', 'memory_mb', 1000, 1800, -20, 30)],
      templates: [template('ledger-api', '[gc] Pause Full (G1 Evacuation Pause) <*>M-><*>M(2048M) <*>ms', -15, 'WARN')],
      changes: [change('CHG-L', 'ledger-api', -54, 'deploy', 'ledger: add audit fields')],
      topology,
      traces: [],
      series: [perMinute('ledger-api', 'memory_mb', 180, (m) => (m < -54 ? 1000 : 1000 + (m + 54) * 16) + wobble(m) * 3)],
      now: at(0),
    };
    const out = analyseRootCause(input);
    expect(out.rootCauses[0]).toMatchObject({ changeId: 'CHG-L', category: 'memory-leak' });
    const leak = out.considered.find((h) => h.category === 'memory-leak' && !h.changeId);
    expect(leak?.predictions.find((p) => /no change to ledger-api started the climb/.test(p.statement))?.result).toBe('refuted');
  });
});

describe('unit: a surge is not blamed on the dependencies it sends more work', () => {
  // web → fares-api → stock-service: users ×2.2 from -8; fares-api saturates (CPU 100 %), stock-service holds more of
  // its connections (3 → 6 of 20) and serves twice the calls, healthy. One failing trace ends in an external API.
  const topology: ServiceNode[] = [
    { name: 'web', tier: 'frontend', calls: ['fares-api'] },
    { name: 'fares-api', tier: 'backend', calls: ['stock-service', 'maps-ext'] },
    { name: 'stock-service', tier: 'backend', calls: [] },
    { name: 'maps-ext', tier: 'external', calls: [] },
  ];
  const surge = (m: number) => (m < -8 ? 1 : 2.2);
  const input: RootCauseInput = {
    incident: { service: 'web', startedAt: at(-5) },
    anomalies: [
      anomaly('web', 'error_rate_pct', 0.1, 12, -5, 300),
      anomaly('fares-api', 'error_rate_pct', 0.1, 15, -5, 350),
      anomaly('fares-api', 'latency_p99_ms', 300, 8000, -6, 300),
      anomaly('fares-api', 'cpu_pct', 45, 100, -7, 8),
      anomaly('fares-api', 'throughput_rps', 900, 1980, -8, 20),
      anomaly('stock-service', 'throughput_rps', 1200, 2640, -8, 20),
      anomaly('stock-service', 'db_pool_active', 3, 6, -7, 6),
    ],
    templates: [template('web', 'call to fares-api failed: HTTP <*> Service Unavailable', -5)],
    changes: [],
    topology,
    traces: [
      {
        traceId: 'x1',
        rootService: 'web',
        startedAt: at(-3),
        totalMs: 900,
        status: 'ERROR',
        spans: [
          { spanId: 'a', service: 'web', operation: 'GET /', startedAt: at(-3), durationMs: 900, status: 'ERROR', error: 'call failed' },
          { spanId: 'b', parentSpanId: 'a', service: 'fares-api', operation: 'GET /fare', startedAt: at(-3), durationMs: 880, status: 'ERROR', error: 'call failed' },
          { spanId: 'c', parentSpanId: 'b', service: 'maps-ext', operation: 'GET /route', startedAt: at(-3), durationMs: 850, status: 'ERROR', error: 'timeout' },
        ],
      },
    ],
    series: [
      perMinute('fares-api', 'throughput_rps', 90, (m) => 900 * surge(m) + wobble(m)),
      perMinute('fares-api', 'cpu_pct', 90, (m) => (m < -8 ? 45 : 100) + wobble(m)),
      perMinute('stock-service', 'throughput_rps', 90, (m) => 1200 * surge(m) + wobble(m)),
      perMinute('stock-service', 'db_pool_active', 90, (m) => (m < -8 ? 3 : 6)),
      perMinute('stock-service', 'db_pool_max', 90, () => 20),
    ],
    now: at(0),
  };

  it('blames the saturated service, not a dependency whose pool only holds more connections, nor one failing trace', () => {
    const out = analyseRootCause(input);
    expect(out.rootCauses[0]).toMatchObject({ service: 'fares-api', category: 'capacity' });
    const outage = out.considered.find((h) => h.service === 'maps-ext');
    expect(outage?.predictions[0].result).toBe('inconclusive');
  });

  it('still reads a pool at its maximum as a failure of the dependency', () => {
    const full = { ...input, series: [...input.series.slice(0, 3), perMinute('stock-service', 'db_pool_active', 90, (m) => (m < -8 ? 3 : 20)), input.series[4]] };
    const out = analyseRootCause({ ...full, anomalies: full.anomalies.map((a) => (a.metric === 'db_pool_active' ? { ...a, current: 20 } : a)) });
    const surgeOnFares = out.considered.find((h) => h.service === 'fares-api' && h.category === 'capacity');
    expect(surgeOnFares?.predictions[0].result).toBe('refuted');
  });
});

describe('unit: a fault only the callers\' failing spans name', () => {
  // web → billing-api → ledger-core → audit-store; ledger-core's certificate expired: billing-api's calls fail in
  // the handshake (no ledger-core span, no log lines read from billing-api), ledger-core serves less. A flag on
  // audit-store, the healthy dependency of ledger-core, flipped a minute before.
  const topology: ServiceNode[] = [
    { name: 'web', tier: 'frontend', calls: ['billing-api'] },
    { name: 'billing-api', tier: 'backend', calls: ['ledger-core'] },
    { name: 'ledger-core', tier: 'backend', calls: ['audit-store'] },
    { name: 'audit-store', tier: 'backend', calls: [] },
  ];
  const input: RootCauseInput = {
    incident: { service: 'web', startedAt: at(-6) },
    anomalies: [
      anomaly('web', 'error_rate_pct', 0.1, 40, -6, 300),
      anomaly('billing-api', 'error_rate_pct', 0.1, 60, -6, 500),
      anomaly('ledger-core', 'throughput_rps', 300, 40, -6, 25),
    ],
    templates: [],
    changes: [change('FF-1', 'audit-store', -7, 'feature-flag', 'Roll out audit.faster-thumbnails to all', 'Roll out audit.faster-thumbnails to all', { configChange: { param: 'audit.faster-thumbnails', old: 'internal', new: 'all' } })],
    topology,
    traces: failedCalls('web', 'billing-api', 'ledger-core', 'javax.net.ssl.SSLHandshakeException: PKIX path validation failed: validity check failed'),
    series: [],
    now: at(0),
  };

  it('names the certificate of the service the calls failed to reach, over a healthy dependency\'s flag', () => {
    const out = analyseRootCause(input);
    expect(out.rootCauses[0]).toMatchObject({ service: 'ledger-core', category: 'certificate' });
    expect(out.rootCauses[0].changeId).toBeUndefined();
  });
});

describe('unit: words every change and error share are no meaning', () => {
  it('does not match a flag rolled out from "internal" to errors that timed out with an Internal Server Error', () => {
    const flag = change('FF-2', 'promo-web', -3, 'feature-flag', 'Roll out promo.banner to 50pct', 'Roll out promo.banner to 50pct', { configChange: { param: 'promo.banner', old: 'internal', new: '50pct' } });
    const out = analyseRootCause({
      incident: { service: 'promo-web', startedAt: at(-2) },
      anomalies: [anomaly('promo-web', 'error_rate_pct', 0.1, 20, -2, 300)],
      templates: [template('promo-web', 'call to pricing failed: HTTP 500 Internal Server Error after the read timed out', -2)],
      changes: [flag],
      topology: [{ name: 'promo-web', tier: 'frontend', calls: [] }],
      traces: [],
      series: [],
      now: at(0),
    });
    const meaning = out.considered.find((h) => h.changeId === 'FF-2')?.predictions.find((p) => /mention what FF-2 touched/.test(p.statement));
    expect(meaning?.result).toBe('inconclusive');
  });
});

describe('unit: a rotated secret is a credential fault, on a database too', () => {
  it('reads the rotation and the auth failures as a credential, not as the database the secret belongs to', () => {
    const rotation = change('CHG-R', 'orders-pg', -2, 'infrastructure', 'Rotate secret prod/orders/app-credentials', 'Scheduled rotation: sets a new password for user app on orders-pg.');
    expect(changeCategory(rotation, undefined, [], { tier: 'database' })).toBe('credential');
    // Described by its callers only: they are turned away at the door.
    const quiet = change('CHG-Q', 'orders-pg', -2, 'infrastructure', 'Scheduled maintenance of orders-pg');
    expect(changeCategory(quiet, undefined, [], { tier: 'database', callerSymptoms: ['PSQLException: FATAL: password authentication failed for user "app" (calling  )'] })).toBe('credential');
    expect(changeCategory(quiet, undefined, [], { tier: 'database', callerSymptoms: ["SQLException: Access denied for user 'app' (using password: YES)"] })).toBe('credential');
  });
});

describe('unit: a healthy dependency changed at the wrong moment', () => {
  // venue-engine fails (its own release 90 min ago); its cache, healthy, got a config change 2 min before the onset.
  const topology: ServiceNode[] = [
    { name: 'web', tier: 'frontend', calls: ['venue-engine'] },
    { name: 'venue-engine', tier: 'backend', calls: ['venue-redis', 'venue-pg'] },
    { name: 'venue-redis', tier: 'cache', calls: [] },
    { name: 'venue-pg', tier: 'database', calls: [] },
  ];
  const input = (extra: { templates?: Template[]; changes?: ChangeRequest[] } = {}): RootCauseInput => ({
    incident: { service: 'web', startedAt: at(-5) },
    anomalies: [anomaly('web', 'error_rate_pct', 0.1, 20, -5, 200), anomaly('venue-engine', 'error_rate_pct', 0.1, 35, -5, 500)],
    templates: extra.templates ?? [template('venue-engine', 'request <*> failed: IllegalStateException: seat map not loaded', -5)],
    changes: [
      change('CHG-REL', 'venue-engine', -90, 'deploy', 'venue: new seat map loader'),
      change('CHG-CACHE', 'venue-redis', -7, 'config', 'Set maxmemory-policy to allkeys-lru on venue-redis', 'Eviction policy.', { configChange: { param: 'maxmemory-policy', old: 'volatile-lru', new: 'allkeys-lru' } }),
      ...(extra.changes ?? []),
    ],
    topology,
    traces: [],
    series: [],
    now: at(0),
  });
  const place = (out: ReturnType<typeof analyseRootCause>, id: string) => out.considered.find((h) => h.changeId === id)?.predictions[1];

  it('does not place the fault in it on the call graph alone: nothing its callers say points at it', () => {
    const out = analyseRootCause(input());
    expect(place(out, 'CHG-CACHE')).toMatchObject({ result: 'inconclusive', statement: expect.stringMatching(/venue-redis is healthy and nothing its callers say points at it/) });
    expect(out.rootCauses[0].changeId).toBe('CHG-REL');
  });

  it('does when the callers speak of what it changed (a rotated password refused) or name it', () => {
    const rotation = change('CHG-ROT', 'venue-pg', -6, 'infrastructure', 'Rotate secret prod/venue/app-credentials', 'Scheduled rotation: sets a new password for user app on venue-pg.');
    const refused = analyseRootCause(input({ changes: [rotation], templates: [template('venue-engine', 'PSQLException: FATAL: password authentication failed for user "app"', -5)] }));
    expect(place(refused, 'CHG-ROT')?.result).toBe('supported');
    const named = analyseRootCause(input({ templates: [template('venue-engine', 'call to venue-redis failed: WRONGTYPE Operation against a key holding the wrong kind of value', -5)] }));
    expect(place(named, 'CHG-CACHE')?.result).toBe('supported');
  });
});

describe('unit: a pool full at a lowered limit, and errors that blame a failing callee', () => {
  it('reads a lowered limit whose service shows its pool full at it as a pool fault, though no log line says so', () => {
    const cut = change('CHG-5', 'bid-svc', -3, 'config', 'Set database.max_connections_per_pod to 6 on bid-svc', 'Reduce connections.', {
      configChange: { param: 'database.max_connections_per_pod', old: '20', new: '6' },
    });
    expect(changeCategory(cut, undefined, ['db_pool_max'], { atLoweredLimit: true, limitReached: 'db_pool_active reached db_pool_max (6 of 6)' })).toBe('connection-pool');
  });

  it('does not count a healthy changed service\'s new errors that blame its failing database as its own', () => {
    // members-api → members-pg; the database's storage was migrated (the cause); members-api's node pool was updated
    // a minute later and its only new errors are calls to the slow database.
    const topology: ServiceNode[] = [
      { name: 'web', tier: 'frontend', calls: ['members-api'] },
      { name: 'members-api', tier: 'backend', calls: ['members-pg'] },
      { name: 'members-pg', tier: 'database', calls: [] },
    ];
    const out = analyseRootCause({
      incident: { service: 'web', startedAt: at(-5) },
      anomalies: [anomaly('members-pg', 'latency_p99_ms', 10, 300, -5, 300), anomaly('web', 'latency_p99_ms', 300, 2000, -5, 200)],
      templates: [template('members-api', 'call to members-pg failed: Read timed out after <*>', -5), template('members-pg', 'canceling statement due to statement timeout', -5)],
      changes: [change('CHG-DB', 'members-pg', -9, 'infrastructure', 'Migrate members-pg storage to gp3'), change('CHG-NODE', 'members-api', -8, 'infrastructure', 'Node image update for members-api')],
      topology,
      traces: [],
      series: [],
      now: at(0),
    });
    expect(out.rootCauses[0]).toMatchObject({ changeId: 'CHG-DB', category: 'database' });
    const node = out.considered.find((h) => h.changeId === 'CHG-NODE');
    expect(node?.predictions.find((p) => /new errors where members-api/.test(p.statement))?.result).toBe('inconclusive');
  });
});

describe('unit: an origin the metrics place by arithmetic alone is not a confident one', () => {
  const ranked = (p: number) => ({
    alertService: 'web',
    familyWeights: { latency: 0.5, errors: 0.5 },
    walked: 3,
    withoutData: 0,
    alertStrength: 1,
    ranked: [{ service: 'orders-db', score: 0.5, depth: 1, tier: 'database', strongest: { family: 'latency' as const, metric: 'latency_p99_ms', baseline: 13.2, level: 13.6, z: p < 0.5 ? 0.3 : 40, p }, explainedBy: [] }],
  });
  it('keeps a node whose own metrics hardly moved below the abstention line, and one degraded on its own at the ranking\'s number', () => {
    expect(originCandidates(ranked(0.1))[0].confidence).toBeLessThan(0.5);
    expect(originCandidates(ranked(0.99))[0].confidence).toBeCloseTo(0.725, 3);
  });
});
