import { describe, expect, it } from 'vitest';
import { originCandidates, withoutSubsumedOrigins, withPlaceFromOrigins } from '../../../functions/core/analysis/origin-hypotheses.ts';
import { originConfidence, readOriginEvidence, toOriginEvidence } from '../../../functions/core/analysis/origin-evidence.ts';
import { latencyStrength, nodeSignals, rankOrigins, seriesSignal } from '../../../functions/core/analysis/propagation.ts';
import type { Candidate } from '../../../functions/core/analysis/hypotheses.ts';
import type { MetricSeries, ServiceNode } from '../../../functions/core/tools/ports.ts';

// A small synthetic world on a 5-minute grid: a day of history a week before the incident, then 20 minutes around
// the alert (two points before it, three after), as a recorded X-Ray incident has it.
const STEP = 300_000;
const ALERT = Date.parse('2026-03-14T12:10:00Z');
const BASELINE_END = new Date(ALERT - 15 * 60_000).toISOString();
const HISTORY_START = ALERT - 7 * 86_400_000 - 288 * STEP;
const WINDOW = [-2, -1, 0, 1, 2].map((i) => ALERT - 100_000 + i * STEP);

const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

interface NodeSpec {
  readonly latency: number;
  readonly rps: number;
  readonly errors?: number;
  /** Relative noise of latency (default 5 %). */
  readonly noise?: number;
}
interface Fault {
  /** Added latency (ms) per window point from the alert on, or added error points. */
  readonly latency?: Readonly<Record<string, number>>;
  readonly errors?: Readonly<Record<string, number>>;
  /** Traffic per window point instead of the node's usual (a dependency that only appears now, say). */
  readonly rps?: Readonly<Record<string, readonly number[]>>;
  /** Gaps: which latency/error cells of the window are missing, per node (indices 0–4). */
  readonly gaps?: Readonly<Record<string, readonly number[]>>;
}

const world = (nodes: Readonly<Record<string, NodeSpec>>, fault: Fault, seed = 1): MetricSeries[] => {
  const random = rng(seed);
  const jitter = (x: number, rel: number) => x * (1 + rel * (random() * 2 - 1));
  const out: MetricSeries[] = [];
  for (const [service, spec] of Object.entries(nodes)) {
    const latency: { t: string; v: number }[] = [];
    const p99: { t: string; v: number }[] = [];
    const errors: { t: string; v: number }[] = [];
    const rps: { t: string; v: number }[] = [];
    const at = (t: number) => new Date(t).toISOString();
    for (let i = 0; i < 288; i += 1) {
      const t = HISTORY_START + i * STEP;
      latency.push({ t: at(t), v: jitter(spec.latency, spec.noise ?? 0.05) });
      p99.push({ t: at(t), v: jitter(spec.latency * 3, (spec.noise ?? 0.05) * 2) });
      errors.push({ t: at(t), v: spec.errors ?? 0 });
      rps.push({ t: at(t), v: jitter(spec.rps, 0.03) });
    }
    WINDOW.forEach((t, i) => {
      const on = i >= 2 ? 1 : 0;
      const gap = fault.gaps?.[service]?.includes(i);
      const extra = on * (fault.latency?.[service] ?? 0);
      if (!gap) latency.push({ t: at(t), v: jitter(spec.latency, spec.noise ?? 0.05) + extra });
      if (!gap) p99.push({ t: at(t), v: jitter(spec.latency * 3, (spec.noise ?? 0.05) * 2) + extra });
      if (!gap) errors.push({ t: at(t), v: Math.min(100, (spec.errors ?? 0) + on * (fault.errors?.[service] ?? 0)) });
      rps.push({ t: at(t), v: fault.rps?.[service]?.[i] ?? jitter(spec.rps, 0.03) });
    });
    out.push({ service, metric: 'latency_avg_ms', unit: 'ms', points: latency }, { service, metric: 'latency_p99_ms', unit: 'ms', points: p99 });
    out.push({ service, metric: 'error_rate_pct', unit: '%', points: errors }, { service, metric: 'throughput_rps', unit: 'req/s', points: rps });
  }
  return out;
};

const rank = (topology: ServiceNode[], series: MetricSeries[], alert = 'site') =>
  rankOrigins({ topology, series, alert: { service: alert, startedAt: new Date(ALERT).toISOString() }, baselineEnd: BASELINE_END });

const node = (name: string, calls: string[] = [], tier: ServiceNode['tier'] = 'backend'): ServiceNode => ({ name, tier, calls });

/** site → a → b → c → d (four hops), with noisy siblings at every level. */
const CHAIN: ServiceNode[] = [
  node('site', ['a', 'side1'], 'frontend'),
  node('a', ['b', 'side2']),
  node('b', ['c', 'side3']),
  node('c', ['d']),
  node('d', [], 'database'),
  node('side1'),
  node('side2'),
  node('side3'),
];
const CHAIN_SPECS: Record<string, NodeSpec> = {
  site: { latency: 120, rps: 50 },
  a: { latency: 80, rps: 50 },
  b: { latency: 50, rps: 50 },
  c: { latency: 30, rps: 50 },
  d: { latency: 10, rps: 50 },
  side1: { latency: 20, rps: 40, noise: 0.3 },
  side2: { latency: 15, rps: 30, noise: 0.3 },
  side3: { latency: 5, rps: 60, noise: 0.3 },
};
/** d slows by 60 ms; every caller on the path slows by as much (one call per request). */
const DEEP_FAULT: Fault = { latency: { d: 60, c: 60, b: 60, a: 60, site: 60 } };

describe('unit: rankOrigins (metric-only root cause along the call graph)', () => {
  it('finds a cause four hops below the alerting service, not its callers on the path', () => {
    // Act
    const result = rank(CHAIN, world(CHAIN_SPECS, DEEP_FAULT));

    // Assess
    expect(result.ranked[0].service).toBe('d');
    expect(result.ranked[0].depth).toBe(4);
    expect(result.ranked[0].score).toBeGreaterThan(0.8);
    expect(result.ranked.find((r) => r.service === 'c')!.explainedBy).toEqual(['d']);
    expect(result.walked).toBe(8);
  });

  it('still finds it when the series are full of gaps (the cause\'s average has one point after the alert)', () => {
    const gaps: Fault['gaps'] = { d: [0, 3, 4], c: [1, 2], b: [4], a: [0, 3], site: [1] };

    const result = rank(CHAIN, world(CHAIN_SPECS, { ...DEEP_FAULT, gaps }, 2));

    expect(result.ranked[0].service).toBe('d');
  });

  it('does not blame a leaf that only wobbles with its usual noise', () => {
    // side3 is very noisy (±30 %) and its noise must not claim b's rise; the fault is in b itself.
    const result = rank(CHAIN, world(CHAIN_SPECS, { latency: { b: 60, a: 60, site: 60 } }, 3));

    expect(result.ranked[0].service).toBe('b');
    expect(result.ranked.find((r) => r.service === 'side3')?.score ?? 0).toBeLessThan(0.1);
  });

  it('keeps the blame on the alerting service when nothing below it degrades', () => {
    const result = rank(CHAIN, world(CHAIN_SPECS, { latency: { site: 80 } }, 4));

    expect(result.ranked[0]).toMatchObject({ service: 'site', depth: 0 });
    expect(originConfidence(result.ranked[0])).toBeLessThanOrEqual(0.3);
  });

  it('traces errors down to the callee whose failures its callers pass on', () => {
    const topology = [node('site', ['orders', 'catalog'], 'frontend'), node('orders', ['orders-db']), node('orders-db', [], 'database'), node('catalog')];
    const specs = { site: { latency: 100, rps: 40 }, orders: { latency: 60, rps: 20 }, 'orders-db': { latency: 5, rps: 60 }, catalog: { latency: 30, rps: 40 } };

    // The table throttles a third of its calls; orders fails 25 % of requests, the site half of that.
    const result = rank(topology, world(specs, { errors: { 'orders-db': 33, orders: 25, site: 12 } }, 5));

    expect(result.familyWeights.errors).toBeGreaterThan(0.9);
    expect(result.ranked[0].service).toBe('orders-db');
  });

  it('moves past a pass-through node to the one thing it calls (an X-Ray AWS::Lambda in front of its function)', () => {
    const topology = [node('site', ['api']), node('api', ['fn_AWS::Lambda']), node('fn_AWS::Lambda', ['fn_AWS::Lambda::Function']), node('fn_AWS::Lambda::Function', ['table', 'queue']), node('table', [], 'database'), node('queue', [], 'queue')];
    const specs = { site: { latency: 200, rps: 10 }, api: { latency: 150, rps: 10 }, 'fn_AWS::Lambda': { latency: 120, rps: 10 }, 'fn_AWS::Lambda::Function': { latency: 110, rps: 10 }, table: { latency: 8, rps: 30 }, queue: { latency: 10, rps: 10 } };

    const result = rank(topology, world(specs, { latency: { 'fn_AWS::Lambda::Function': 900, 'fn_AWS::Lambda': 900, api: 900, site: 900 } }, 6));

    expect(result.ranked[0].service).toBe('fn_AWS::Lambda::Function');
    expect(result.ranked.find((r) => r.service === 'fn_AWS::Lambda')!.explainedBy).toEqual(['fn_AWS::Lambda::Function']);
  });

  it('takes an external leaf that degrades with an instrumented sibling for the caller\'s view of calls to it', () => {
    // The site calls search through a load balancer that X-Ray also shows as a remote leaf.
    const topology = [node('site', ['search', 'lb_remote']), node('search', ['index']), node('lb_remote', [], 'external'), node('index', [], 'database')];
    // Every page goes through the balancer: by traffic alone, either could explain the site's rise.
    const specs = { site: { latency: 100, rps: 50 }, search: { latency: 6, rps: 80 }, lb_remote: { latency: 14, rps: 50 }, index: { latency: 3, rps: 80 } };

    const result = rank(topology, world(specs, { latency: { search: 30, lb_remote: 45, site: 48 } }, 7));

    expect(result.ranked[0].service).toBe('search');
    expect(result.ranked[0].score).toBeGreaterThan(0.8);
    expect(result.ranked.find((r) => r.service === 'lb_remote')?.score ?? 0).toBeLessThan(0.1);
  });

  it('keeps the blame on a remote endpoint that fails alone', () => {
    const topology = [node('site', ['search', 'payments_remote']), node('search'), node('payments_remote', [], 'external')];
    const specs = { site: { latency: 100, rps: 50 }, search: { latency: 6, rps: 80 }, payments_remote: { latency: 300, rps: 10 } };

    const result = rank(topology, world(specs, { latency: { payments_remote: 2_000, site: 400 } }, 8));

    expect(result.ranked[0].service).toBe('payments_remote');
  });

  it('blames the caller of a dependency that only appeared with the incident (new behaviour of the caller)', () => {
    const topology = [node('site', ['updater']), node('updater', ['table', 'new-table']), node('table', [], 'database'), node('new-table', [], 'database')];
    const specs = { site: { latency: 100, rps: 30 }, updater: { latency: 70, rps: 30 }, table: { latency: 10, rps: 30 }, 'new-table': { latency: 40, rps: 0 } };

    const result = rank(topology, world(specs, { errors: { 'new-table': 100, updater: 20, site: 20 }, rps: { 'new-table': [0, 0, 30, 30, 30] } }, 9));

    expect(result.signals.get('new-table')!.newTraffic).toBe(true);
    expect(result.ranked[0].service).toBe('updater');
  });

  it('does not take a flow that dips with the incident (fewer users get that far) for lost calls', () => {
    const topology = [node('site', ['search', 'notify']), node('search'), node('notify', [], 'queue')];
    const specs = { site: { latency: 100, rps: 50 }, search: { latency: 6, rps: 80 }, notify: { latency: 10, rps: 10 } };

    // Search fails 4 % of calls; the site fails 3 % of requests; the notification flow falls by 70 %: had those calls
    // failed, the site would fail 14 % of its requests.
    const result = rank(topology, world(specs, { errors: { search: 4, site: 3 }, rps: { notify: [10, 10, 3, 3, 3] } }, 10));

    expect(result.ranked[0].service).toBe('search');
    expect(result.ranked.find((r) => r.service === 'notify')?.score ?? 0).toBeLessThan(0.3);
  });

  describe('calls that never arrive (a callee down, scaled to zero, unreachable)', () => {
    const topology = [node('site', ['api', 'store'], 'frontend'), node('api'), node('store', [], 'database')];
    const specs = { site: { latency: 100, rps: 50 }, api: { latency: 20, rps: 50 }, store: { latency: 8, rps: 50 } };
    /** The store's series without any point from `from` on, and with a share of its history's cells empty at random. */
    const silent = (series: MetricSeries[], from: number, gapShare: number, seed: number): MetricSeries[] => {
      const random = rng(seed);
      return series.map((x) => (x.service !== 'store' ? x : { ...x, points: x.points.filter((p) => Date.parse(p.t) < from && random() >= gapShare) }));
    };

    it('blames the callee whose requests fell by as many calls as its caller now fails, not the caller', () => {
      // A fifth of the calls to the store never arrive; the site fails 18 % of its requests (retries save a few).
      const result = rank(topology, world(specs, { errors: { site: 18 }, rps: { store: [50, 50, 40, 40, 40] } }, 21));

      expect(result.ranked[0].service).toBe('store');
      expect(result.ranked[0].score).toBeGreaterThan(0.5);
    });

    it('does not blame a callee whose traffic dips by its usual noise while the caller fails on its own', () => {
      // The site fails 10 % of its requests; the store's traffic dips by 3–5 % (within its noise): losing 10 % of
      // its calls would have taken twice that.
      const result = rank(topology, world(specs, { errors: { site: 10 }, rps: { store: [50, 50, 48.5, 47.5, 48.8] } }, 22));

      expect(result.ranked[0].service).toBe('site');
      expect(result.ranked.find((r) => r.service === 'store')!.score).toBeLessThan(0.1);
    });

    it('does not blame a noise dip either when the caller\'s own error rise is too small to tell the two apart', () => {
      const result = rank(topology, world(specs, { errors: { site: 2 }, rps: { store: [50, 50, 48.5, 48, 48.8] } }, 23));

      expect(result.ranked[0].service).toBe('site');
    });

    it('blames a callee that went silent (no point since the history, ordinary gaps before) while its caller fails', () => {
      const series = silent(world(specs, { errors: { site: 90 } }, 24), Date.parse(BASELINE_END), 0.15, 5);

      const result = rank(topology, series);

      expect(result.ranked[0].service).toBe('store');
    });

    it('keeps the blame on the callee the calls never reach, not on a node below it whose signals stay within noise', () => {
      // The site's calls to the api are lost on the way (a certificate the callers reject, say): the site fails 90 %
      // of its requests, the api's traffic falls to almost nothing and its error rate moves by three hundredths of a point
      // (noise). The store below it, shared with a batch job, keeps its traffic within its noise. Divided by the api's
      // noise-level error rise, the store's faint call-ratio dip would "explain" all of it and take the blame.
      const topology = [node('site', ['api'], 'frontend'), node('api', ['store']), node('batch', ['store']), node('store', [], 'database')];
      const specs = { site: { latency: 100, rps: 50 }, api: { latency: 20, rps: 50, errors: 0.05 }, batch: { latency: 40, rps: 50 }, store: { latency: 8, rps: 100 } };
      for (const seed of [26, 27, 29, 30]) {
        const series = world(specs, { errors: { site: 90, api: 0.03 }, latency: { store: 0.3 }, rps: { api: [50, 50, 0.05, 0.06, 0.05], store: [99.5, 99.5, 99, 100, 99.5] } }, seed);

        const result = rank(topology, series);

        expect(result.ranked[0].service).toBe('api');
        expect(result.ranked[0].score).toBeGreaterThan(0.8);
        expect(result.ranked.find((r) => r.service === 'store')!.score).toBeLessThan(0.05);
      }
    });

    it('takes a silent callee for a gap when its caller fails far fewer requests than losing it would cause', () => {
      const series = silent(world(specs, { errors: { site: 5 } }, 25), Date.parse(BASELINE_END), 0.15, 6);

      const result = rank(topology, series);

      expect(result.ranked[0].service).toBe('site');
    });
  });

  it('reads a thin baseline (no history) from the points before the alert, with a wide noise floor', () => {
    const series = world(CHAIN_SPECS, DEEP_FAULT).map((s) => ({ ...s, points: s.points.filter((p) => Date.parse(p.t) >= WINDOW[0]) }));

    const signal = seriesSignal(series.find((s) => s.service === 'd' && s.metric === 'latency_avg_ms')!, 'latency', { baselineEnd: Date.parse(BASELINE_END), alertAt: ALERT });

    expect(signal).toMatchObject({ thin: true, historyPoints: 2 });
    expect(signal!.z).toBeGreaterThan(3.5);
  });

  it('rejects an alert time that is not a timestamp', () => {
    expect(() => rankOrigins({ topology: CHAIN, series: [], alert: { service: 'site', startedAt: 'soon' }, baselineEnd: BASELINE_END })).toThrow(/alert.startedAt/);
  });

  it('rates latency by the average, or by two percentiles agreeing', () => {
    const signals = nodeSignals(world(CHAIN_SPECS, DEEP_FAULT), { baselineEnd: Date.parse(BASELINE_END), alertAt: ALERT });
    expect(latencyStrength(signals.get('d'))).toBeGreaterThan(0.9);
    expect(latencyStrength(signals.get('side1'))).toBeLessThan(0.5);
    expect(latencyStrength(undefined)).toBe(0);
  });
});

describe('unit: origin evidence and hypotheses', () => {
  const analysis = rank(CHAIN, world(CHAIN_SPECS, DEEP_FAULT));
  const tiers = new Map(CHAIN.map((n) => [n.name, n.tier]));

  it('keeps the ranking as evidence that the root-cause agent reads back', () => {
    const items = toOriginEvidence(analysis, tiers);

    expect(items[0]).toMatchObject({ id: 'origins:site', kind: 'metric', source: 'telemetry' });
    expect(items[0].summary).toMatch(/^Where site's degradation starts/);
    expect(items[1]).toMatchObject({ id: 'origins:site#1', summary: expect.stringMatching(/^1\. d: /) });
    const read = readOriginEvidence([{ id: 'other', data: {} }, ...items], 'site');
    expect(read?.ranked[0]).toMatchObject({ service: 'd', tier: 'database' });
    expect(read?.ranked).toHaveLength(items.length - 1);
    // a ranked item lost (trimmed from a record that outgrew its store) makes the ranking unreadable, not shorter
    expect(readOriginEvidence(items.filter((e) => e.id !== 'origins:site#1'), 'site')).toBeUndefined();
    expect(readOriginEvidence([{ id: 'origins:site', data: { ranked: 'no' } }], 'site')).toBeUndefined();
  });

  it('proposes the top nodes as hypotheses with the calibrated confidence', () => {
    const candidates = originCandidates(readOriginEvidence(toOriginEvidence(analysis, tiers), 'site'));

    expect(candidates[0]).toMatchObject({ kind: 'metric-origin', service: 'd', category: 'database', confidence: originConfidence(analysis.ranked[0]) });
    expect(candidates[0].confidence).toBeGreaterThan(0.8);
    expect(candidates[0].predictions.map((p) => p.result)).toEqual(['supported', 'supported', 'supported']);
    expect(candidates[0].predictions[0].evidenceIds).toEqual(['metric:d:latency_avg_ms']);
    expect(candidates[0].predictions[1].evidenceIds).toEqual(['origins:site', 'origins:site#1']);
  });

  it('proposes nothing when nothing along the call graph is degraded', () => {
    const quiet = rank(CHAIN, world(CHAIN_SPECS, {}, 11));

    expect(originCandidates(readOriginEvidence(toOriginEvidence(quiet, tiers), 'site'))).toEqual([]);
    expect(originCandidates(undefined)).toEqual([]);
  });

  it('gives way to a credible hypothesis that places the fault in the same service, or a credible change above it', () => {
    const origin = originCandidates(readOriginEvidence(toOriginEvidence(analysis, tiers), 'site'))[0];
    const change: Candidate = { kind: 'change', summary: 'CHG-1 on d', service: 'd', category: 'bad-deploy', predictions: [] };
    const elsewhere: Candidate = { ...change, service: 'b' };

    expect(withoutSubsumedOrigins([origin, change], () => 0.9, 0.5)).toEqual([change]);
    expect(withoutSubsumedOrigins([origin, change], (c) => (c.kind === 'change' ? 0.3 : 0.9), 0.5)).toEqual([origin, change]);
    expect(withoutSubsumedOrigins([origin, elsewhere], () => 0.9, 0.5)).toEqual([origin, elsewhere]);
    // a credible change to a caller of the origin (a release that floods its table) explains it too
    const upstream: Candidate = { ...change, service: 'b' };
    const calls = (service: string) => new Set(service === 'b' ? ['d'] : []);
    expect(withoutSubsumedOrigins([origin, upstream], () => 0.9, 0.5, calls)).toEqual([upstream]);
    expect(withoutSubsumedOrigins([origin, { ...upstream, kind: 'traffic-surge' }], () => 0.9, 0.5, calls)).toEqual([origin, { ...upstream, kind: 'traffic-surge' }]);
  });

  it('gives way to a credible hypothesis on something the origin calls, or a credible change that shares its callee', () => {
    const origin = originCandidates(readOriginEvidence(toOriginEvidence(analysis, tiers), 'site'))[0];
    expect(origin.service).toBe('d');
    // d calls e, which calls f; g calls f too; h is unrelated.
    const edges: Record<string, string[]> = { d: ['e', 'f'], e: ['f'], g: ['f'] };
    const calls = (service: string) => new Set(edges[service] ?? []);
    const dependency: Candidate = { kind: 'dependency-outage', summary: 'f is down', service: 'f', category: 'dependency', predictions: [] };
    const calleeRelease: Candidate = { kind: 'change', summary: 'CHG-2 on e', service: 'e', category: 'bad-deploy', predictions: [] };
    const neighbourRelease: Candidate = { kind: 'change', summary: 'CHG-3 on g', service: 'g', category: 'bad-deploy', predictions: [] };
    const neighbourSurge: Candidate = { ...neighbourRelease, kind: 'traffic-surge' };
    const unrelated: Candidate = { ...calleeRelease, service: 'h' };

    expect(withoutSubsumedOrigins([origin, dependency], () => 0.9, 0.5, calls)).toEqual([dependency]);
    expect(withoutSubsumedOrigins([origin, calleeRelease], () => 0.9, 0.5, calls)).toEqual([calleeRelease]);
    // a release of a neighbour whose calls saturate what both call: a change says what; a surge there does not
    expect(withoutSubsumedOrigins([origin, neighbourRelease], () => 0.9, 0.5, calls)).toEqual([neighbourRelease]);
    expect(withoutSubsumedOrigins([origin, neighbourSurge], () => 0.9, 0.5, calls)).toEqual([origin, neighbourSurge]);
    expect(withoutSubsumedOrigins([origin, unrelated], () => 0.9, 0.5, calls)).toEqual([origin, unrelated]);
    // not credible: the location stands
    expect(withoutSubsumedOrigins([origin, dependency], (c) => (c.kind === 'metric-origin' ? 0.9 : 0.4), 0.5, calls)).toEqual([origin, dependency]);
  });

  it('refutes another origin hypothesis in a service the alert\'s degradation does not trace to, and only that', () => {
    const origins = readOriginEvidence(toOriginEvidence(analysis, tiers), 'site');
    const surge = (service: string): Candidate => ({ kind: 'traffic-surge', summary: `surge in ${service}`, service, category: 'capacity', predictions: [] });

    const elsewhere = withPlaceFromOrigins(surge('side2'), origins);
    const there = withPlaceFromOrigins(surge('d'), origins);
    const change = withPlaceFromOrigins({ ...surge('side2'), kind: 'change' }, origins);

    expect(elsewhere.predictions).toEqual([expect.objectContaining({ result: 'refuted', evidenceIds: ['origins:site'], statement: expect.stringContaining('it traces to d') })]);
    expect(there.predictions).toEqual([]);
    expect(change.predictions).toEqual([]);
    expect(withPlaceFromOrigins(surge('side2'), undefined).predictions).toEqual([]);
  });

  it('maps the share to confidence by the documented formula', () => {
    expect(originConfidence({ score: 1, depth: 2 })).toBe(0.9);
    expect(originConfidence({ score: 0, depth: 1 })).toBe(0.55);
    expect(originConfidence({ score: 1, depth: 0 })).toBe(0.3);
  });
});
