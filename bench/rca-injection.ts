/**
 * Synthetic-injection check of the metric-only root-cause ranking (analysis/propagation.ts) on a real call graph
 * with real noise: the PetShop dataset's normal-operation periods (`noissue/`, two days per traffic level).
 *
 *   npx node bench/rca-injection.ts            table by depth and fault, then one JSON line
 *   npx node bench/rca-injection.ts --json     the JSON only
 *   npx node bench/rca-injection.ts --windows 8 --seed 3 --faults latency,errors --roots
 *   npx node bench/rca-injection.ts --workflow [--windows 1] [--keep <dir>]   the same cases through the whole workflow
 *
 * Why: every PetShop train case has the same root cause one hop below the alerting node, so the train figures say
 * nothing about other causes. Here every node 0–4 hops below the alerting node (PetSite) that carries traffic is
 * made the root cause in turn, in several 20-minute windows of real normal data, and the ranking must find it.
 *
 * The injection, per case (seeded, repeatable):
 * - a window of five 5-minute points of real normal data (its real gaps kept); the history is the other day of
 *   the recording, so it is as far from the window as the dataset's own baseline is from its cases. The alert
 *   falls in the second point; the fault covers the rest of that point from the alert on and the next three
 *   (with probability 0.3 it is over by the last point, as in some real cases).
 * - the fault, at the root: `latency` (all of its calls, or a tail of 2–30 % of them, are slowed by Δ ms: its
 *   average rises by share × Δ, a percentile Q by Δ once the share reaches 1 − Q), `throttled` (that, and 2–20 %
 *   of its calls fail),
 *   `errors` (its error rate rises by E percentage points), or `unreachable` (a share of the calls to it never
 *   arrive: its requests drop and its callers fail them). Each point of the fault is scaled by the node's own
 *   noise (its robust coefficient of variation).
 * - propagation to the callers along the real call graph, callees before callers: a caller's slowed share is
 *   Σ calls-per-request × damping in [0.6, 1] (parallel calls, timeouts) × the callee's slowed share, its average
 *   rises by the same sum over the callees' extra time, and its percentiles as above; its error rate by
 *   Σ calls-per-request × the callee's error rise × a retention in [0.3, 1] (retries, fallbacks). Calls per request
 *   split each callee's requests among its callers at random (Dirichlet-like, unlike the ranking's equal-rate
 *   assumption, so the check is not circular).
 * - magnitude: chosen so that the alerting node's alert metric moves by z ∈ [4, 15] of its own noise (the case
 *   must alert); a fault that would need more than 60 s of latency, 100 % errors at the root or more calls lost
 *   than it gets is skipped.
 * - gaps: 10 % of the window's latency and error cells are dropped on top of the real gaps.
 *
 * Reported: top-1 / top-3 of the root among the ranking, by depth and by fault, and the Brier score of the
 * confidence the product would give the top-1 (`originConfidence`). Skips cleanly when the data is absent.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../functions/core/analysis/metrics.ts';
import { originConfidence } from '../functions/core/analysis/origin-evidence.ts';
import { rankOrigins } from '../functions/core/analysis/propagation.ts';
import { RECORDING_FORMAT } from '../functions/core/recorded/format.ts';
import { mapPetshopMetric, parseGraph, parseMetricsCsv, type RecordingDocument, tierOf, xrayNodeType } from '../functions/core/recorded/petshop.ts';
import { evaluate } from '../lib/local/eval.ts';
import { startTwin } from '../lib/local/twin.ts';
import type { MetricSeries, ServiceNode } from '../functions/core/tools/ports.ts';

const DATA = fileURLToPath(new URL('../../shared/data/petshop/', import.meta.url));
const ALERT_SERVICE = 'PetSite';
const STEP_MS = 300_000;
const FAULTS = ['latency', 'errors', 'throttled', 'unreachable'] as const;
type Fault = (typeof FAULTS)[number];

// ───────────────────────── the dataset (graph and normal periods) ─────────────────────────

/** The call graph, each node's tier as the importer gives it (recorded/petshop.ts: from its X-Ray type). */
const readGraph = (scenario: string): ServiceNode[] => {
  const file = `${DATA}${scenario}/graph.csv`;
  const graph = parseGraph(readFileSync(file, 'utf8'), file);
  return graph.nodes.map((name) => ({ name, tier: tierOf(xrayNodeType(name), name === ALERT_SERVICE), calls: graph.calls.get(name) ?? [] }));
};

/** A node's metrics on the grid: metric → values (NaN for a gap). */
type Grid = Map<string, Map<string, number[]>>;

/** The normal period, in the importer's metric names and units. */
const readNormal = (scenario: string): { times: number[]; grid: Grid } => {
  const file = `${DATA}${scenario}/noissue/metrics.csv`;
  const table = parseMetricsCsv(readFileSync(file, 'utf8'), file);
  const times = Array.from({ length: table.rows }, (_, i) => (table.start + i * table.resolutionSeconds) * 1000);
  const grid: Grid = new Map();
  for (const column of table.columns) {
    const map = mapPetshopMetric(column.metric, column.statistic);
    if (!map.known) continue;
    const values = column.values.map((v) => (v === null ? Number.NaN : map.convert(v, table.resolutionSeconds)));
    const node = grid.get(column.service) ?? grid.set(column.service, new Map()).get(column.service)!;
    node.set(map.metric, values);
  }
  return { times, grid };
};

// ───────────────────────── randomness ─────────────────────────

const mulberry32 = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
type Rng = () => number;
const uniform = (rng: Rng, a: number, b: number) => a + (b - a) * rng();
const gauss = (rng: Rng) => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());

// ───────────────────────── one injected case ─────────────────────────

interface Case {
  readonly root: string;
  readonly depth: number;
  readonly fault: Fault;
  readonly topology: ServiceNode[];
  readonly series: MetricSeries[];
  readonly alert: { service: string; startedAt: string };
  readonly baselineEnd: string;
}

const finite = (xs: readonly number[]) => xs.filter((x) => Number.isFinite(x));

/** Depth below the alerting node (shortest path) of every node it reaches. */
const depths = (topology: readonly ServiceNode[]): Map<string, number> => {
  const calls = new Map(topology.map((n) => [n.name, n.calls]));
  const depth = new Map([[ALERT_SERVICE, 0]]);
  let frontier = [ALERT_SERVICE];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const s of frontier) for (const c of calls.get(s) ?? []) if (!depth.has(c)) (depth.set(c, depth.get(s)! + 1), next.push(c));
    frontier = next;
  }
  return depth;
};

/** Callees before callers (reverse Kahn order over the reachable part). */
const calleesFirst = (topology: readonly ServiceNode[], reach: ReadonlySet<string>): string[] => {
  const calls = new Map(topology.map((n) => [n.name, n.calls.filter((c) => reach.has(c))]));
  const done = new Set<string>();
  const order: string[] = [];
  const visit = (n: string, stack: Set<string>) => {
    if (done.has(n) || stack.has(n)) return;
    stack.add(n);
    for (const c of calls.get(n) ?? []) visit(c, stack);
    stack.delete(n);
    done.add(n);
    order.push(n);
  };
  for (const n of [...reach].sort()) visit(n, new Set());
  return order;
};

const robustCv = (values: readonly number[]): number => {
  const v = finite(values);
  const m = median(v);
  if (!(m > 0)) return 0.1;
  const mad = median(v.map((x) => Math.abs(x - m)));
  return Math.min(1, Math.max(0.1, (1.4826 * mad) / m));
};

const robustScale = (values: readonly number[], floor: number): number => {
  const v = finite(values);
  const m = median(v);
  return Math.max(1.4826 * median(v.map((x) => Math.abs(x - m))), floor);
};

/**
 * Builds one case: root, fault, the five-point window starting at `start` (an index of the normal grid), the
 * history (the other day), the injected fault and its propagation. Undefined when the alert cannot fire.
 */
const inject = (rng: Rng, topology: ServiceNode[], normal: { times: number[]; grid: Grid }, root: string, depth: number, fault: Fault, start: number, historyGapMs: number): Case | undefined => {
  const { times, grid } = normal;
  const n = times.length;
  const half = Math.floor(n / 2);
  const history = start >= half ? [0, half - 12] : [half + 12, n];
  const win = [start, start + 5];
  const reach = new Set(depths(topology).keys());
  const series = (node: string, metric: string) => grid.get(node)?.get(metric);
  const windowOf = (values: number[] | undefined) => (values ? values.slice(win[0], win[1]) : []);
  const historyOf = (values: number[] | undefined) => (values ? values.slice(history[0], history[1]) : []);
  const load = (node: string) => {
    const w = finite(windowOf(series(node, 'throughput_rps')));
    return w.length > 0 ? median(w) : 0;
  };
  if (!(load(root) > 0)) return undefined;

  // Calls per request with a random split of each callee's requests among its callers.
  const callers = new Map<string, string[]>();
  for (const node of topology) for (const c of node.calls) if (reach.has(node.name) && reach.has(c)) (callers.get(c) ?? callers.set(c, []).get(c)!).push(node.name);
  const perRequest = new Map<string, number>();
  for (const [c, us] of callers) {
    const raw = us.map((u) => load(u) * -Math.log(1 - rng()) * -Math.log(1 - rng()));
    const total = raw.reduce((a, b) => a + b, 0);
    us.forEach((u, i) => perRequest.set(`${u}>${c}`, total > 0 && load(u) > 0 ? (load(c) * raw[i]) / total / load(u) : 0));
  }
  const damping = new Map<string, number>();
  const retention = new Map<string, number>();
  for (const key of perRequest.keys()) {
    damping.set(key, uniform(rng, 0.6, 1));
    retention.set(key, uniform(rng, 0.3, 1));
  }

  // Error gains: how many points one point of errors at the root adds at every node.
  const order = calleesFirst(topology, reach);
  const gains = (unit: Map<string, number>) => {
    const g = new Map(unit);
    for (const v of order) {
      if (v === root) continue;
      let sum = 0;
      for (const c of topology.find((x) => x.name === v)?.calls ?? []) {
        const key = `${v}>${c}`;
        sum += (perRequest.get(key) ?? 0) * (g.get(c) ?? 0) * retention.get(key)!;
      }
      if (sum > 0) g.set(v, (g.get(v) ?? 0) + sum);
    }
    return g;
  };
  // An unreachable root: a share d of its calls fail at the caller; its callers' errors rise by their calls to it × d.
  const unreachableGain = () => {
    const unit = new Map<string, number>();
    for (const u of callers.get(root) ?? []) unit.set(u, 100 * (perRequest.get(`${u}>${root}`) ?? 0));
    const g = new Map<string, number>();
    for (const v of order) {
      let sum = unit.get(v) ?? 0;
      for (const c of topology.find((x) => x.name === v)?.calls ?? []) {
        if (c === root) continue;
        const key = `${v}>${c}`;
        sum += (perRequest.get(key) ?? 0) * (g.get(c) ?? 0) * retention.get(key)!;
      }
      if (sum > 0) g.set(v, sum);
    }
    return g;
  };

  // Latency as (share of a node's requests slowed, delay of each): a fault slows all the root's calls or only
  // a tail of them (a hot partition, one bad task); a caller is slowed on the share of its requests that call a
  // slowed callee. Its average rises by share × delay, a percentile Q by the delay once the share reaches 1 − Q.
  const rootShare = rng() < 0.5 ? 1 : uniform(rng, 0.02, 0.3);
  const slowed = new Map<string, { share: number; delay: number }>([[root, { share: rootShare, delay: 1 }]]);
  const slow = fault === 'latency' || fault === 'throttled';
  if (slow)
    for (const v of order) {
      if (v === root) continue;
      let share = 0;
      let extra = 0;
      for (const c of topology.find((x) => x.name === v)?.calls ?? []) {
        const s = slowed.get(c);
        if (!s) continue;
        const key = `${v}>${c}`;
        const calls = (perRequest.get(key) ?? 0) * damping.get(key)!;
        share += calls * s.share;
        extra += calls * s.share * s.delay;
      }
      if (extra > 0) slowed.set(v, { share: Math.min(1, share), delay: extra / Math.min(1, share) });
    }
  const quantile: Record<string, number> = { latency_avg_ms: Number.NaN, latency_p50_ms: 0.5, latency_p90_ms: 0.9, latency_p95_ms: 0.95, latency_p99_ms: 0.99 };
  const latencyRise = (node: string, metric: string): number => {
    const s = slowed.get(node);
    if (!s) return 0;
    const q = quantile[metric];
    if (q === undefined || Number.isNaN(q)) return s.share * s.delay;
    return s.delay * Math.min(1, s.share / (1 - q)) ** 2;
  };

  const alertMetric = slow ? 'latency_avg_ms' : 'error_rate_pct';
  const gain = slow ? new Map([...slowed.keys()].map((n) => [n, latencyRise(n, 'latency_avg_ms')])) : fault === 'errors' ? gains(new Map([[root, 1]])) : unreachableGain();
  const atAlert = gain.get(ALERT_SERVICE) ?? 0;
  if (!(atAlert > 0)) return undefined;
  const alertHistory = historyOf(series(ALERT_SERVICE, alertMetric));
  const scale = robustScale(alertHistory, slow ? 0.05 * median(finite(alertHistory)) : 0.25);
  const wantedAtAlert = uniform(rng, 4, 15) * scale;
  const magnitude = wantedAtAlert / atAlert;
  if (slow && magnitude > 60_000) return undefined;
  if (fault === 'errors' && magnitude > 100) return undefined;
  if (fault === 'unreachable' && magnitude > 1) return undefined;
  // A throttled store is slow and also fails a share of its calls (2–20 %), which its callers pass on in part.
  const throttled = uniform(rng, 2, 20);
  const errorGain = fault === 'throttled' ? gains(new Map([[root, 1]])) : new Map<string, number>();

  // The fault's profile over the five points: the alert falls in the second; 30 % of faults are over by the fifth.
  const alertOffset = uniform(rng, 0, STEP_MS);
  const profile = [0, (STEP_MS - alertOffset) / STEP_MS, 1, 1, rng() < 0.3 ? 0 : 1];
  const alertAt = times[start + 1] + alertOffset;

  const out: MetricSeries[] = [];
  for (const [node, metrics] of grid) {
    if (!topology.some((x) => x.name === node)) continue;
    const cv = robustCv(historyOf(metrics.get('latency_avg_ms')));
    for (const [metric, values] of metrics) {
      const hist = historyOf(values);
      const now = windowOf(values).map((v, i) => {
        if (!Number.isFinite(v) || profile[i] === 0) return v;
        const jitter = Math.max(0, 1 + cv * gauss(rng));
        if (slow && metric.startsWith('latency')) return v + profile[i] * magnitude * latencyRise(node, metric) * jitter;
        if (fault === 'throttled' && metric === 'error_rate_pct') return Math.min(100, v + profile[i] * throttled * (errorGain.get(node) ?? 0) * jitter);
        if (!slow && metric === 'error_rate_pct') return Math.min(100, v + profile[i] * magnitude * (gain.get(node) ?? 0) * jitter);
        if (fault === 'unreachable' && node === root && metric === 'throughput_rps') return v * (1 - profile[i] * magnitude);
        return v;
      });
      // Extra gaps in the window's latency and error cells.
      const gapped = now.map((v) => (metric !== 'throughput_rps' && rng() < 0.1 ? Number.NaN : v));
      const stamp = (values: number[], at: (i: number) => number) => values.flatMap((v, i) => (Number.isFinite(v) ? [{ t: new Date(at(i)).toISOString(), v }] : []));
      // The history ends `historyGapMs` before the window (a week: a distant baseline; 0: right before it).
      const historyShift = times[start] - STEP_MS - historyGapMs - times[history[1] - 1];
      out.push({
        service: node,
        metric,
        unit: metric.startsWith('latency') ? 'ms' : metric === 'error_rate_pct' ? '%' : 'req/s',
        points: [...stamp(hist, (i) => times[history[0] + i] + historyShift), ...stamp(gapped, (i) => times[start + i])],
      });
    }
  }
  return {
    root,
    depth,
    fault,
    topology,
    series: out,
    alert: { service: ALERT_SERVICE, startedAt: new Date(alertAt).toISOString() },
    baselineEnd: new Date(alertAt - 15 * 60_000).toISOString(),
  };
};

// ───────────────────────── the run ─────────────────────────

interface Tally {
  n: number;
  top1: number;
  top3: number;
  brier: number;
}
const tally = (): Tally => ({ n: 0, top1: 0, top3: 0, brier: 0 });
const add = (t: Tally, rank: number, confidence: number) => {
  t.n += 1;
  if (rank === 0) t.top1 += 1;
  if (rank >= 0 && rank < 3) t.top3 += 1;
  t.brier += (confidence - (rank === 0 ? 1 : 0)) ** 2;
};
const summary = (t: Tally) => ({ n: t.n, top1: t.n ? round(t.top1 / t.n) : 0, top3: t.n ? round(t.top3 / t.n) : 0, brier: t.n ? round(t.brier / t.n) : 0 });
const round = (x: number) => Math.round(x * 1000) / 1000;

export interface InjectionOptions {
  /** How far before the window the history ends (default a week: as far as a recorded baseline may be). */
  readonly historyGapMs?: number;
  readonly windows?: number;
  readonly seed?: number;
  readonly scenarios?: readonly string[];
  readonly faults?: readonly Fault[];
}

/** Every injected case (undefined where the fault could not make the alert fire), in a repeatable order. */
export function* injectedCases(options: InjectionOptions = {}): Generator<(Case & { scenario: string }) | undefined> {
  const windows = options.windows ?? 4;
  const rng = mulberry32(options.seed ?? 1);
  for (const scenario of options.scenarios ?? ['low_traffic', 'high_traffic']) {
    const topology = readGraph(scenario);
    const normal = readNormal(scenario);
    const depth = depths(topology);
    const roots = [...depth.entries()].filter(([, d]) => d <= 4).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
    for (const [root, d] of roots)
      for (const fault of options.faults ?? FAULTS)
        for (let w = 0; w < windows; w += 1) {
          const start = Math.floor(uniform(rng, 0, normal.times.length - 6));
          const c = inject(rng, topology, normal, root, d, fault, start, options.historyGapMs ?? 7 * 86_400_000);
          yield c && { ...c, scenario };
        }
  }
}

export const runInjection = (options: InjectionOptions = {}) => {
  const byDepth = new Map<number, Tally>();
  const byFault = new Map<Fault, Tally>();
  const byRoot = new Map<string, Tally>();
  const byFaultDepth = new Map<string, Tally>();
  const all = tally();
  let skipped = 0;
  const bucket = <K>(map: Map<K, Tally>, key: K) => map.get(key) ?? map.set(key, tally()).get(key)!;
  for (const c of injectedCases(options)) {
    if (!c) {
      skipped += 1;
      continue;
    }
    const analysis = rankOrigins({ topology: c.topology, series: c.series, alert: c.alert, baselineEnd: c.baselineEnd });
    const rank = analysis.ranked.findIndex((r) => r.service === c.root);
    const confidence = originConfidence(analysis.ranked[0]);
    for (const t of [all, bucket(byFaultDepth, `${c.fault}@${c.depth}`), bucket(byDepth, c.depth), bucket(byFault, c.fault), bucket(byRoot, `${c.scenario}:${c.root}`)]) add(t, rank, confidence);
  }
  return {
    cases: all.n,
    skipped,
    ...summary(all),
    byDepth: Object.fromEntries([...byDepth].sort((a, b) => a[0] - b[0]).map(([d, t]) => [d, summary(t)])),
    byFault: Object.fromEntries([...byFault].map(([f, t]) => [f, summary(t)])),
    byFaultDepth: Object.fromEntries([...byFaultDepth].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, t]) => [k, summary(t)])),
    byRoot: Object.fromEntries([...byRoot].map(([r, t]) => [r, summary(t)])),
  };
};

// ───────────────────────── through the whole workflow ─────────────────────────

/** An injected case as a recording, in the importer's shape (the history right before the window). */
const toRecording = (name: string, c: Case): RecordingDocument => {
  const times = c.series.flatMap((s) => s.points.map((p) => Date.parse(p.t)));
  const start = times.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
  const end = times.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
  const rows = Math.round((end - start) / STEP_MS) + 1;
  return {
    format: RECORDING_FORMAT,
    name,
    recordedUntil: new Date(end + STEP_MS).toISOString(),
    alert: { service: c.alert.service, title: `${c.alert.service} ${c.fault === 'latency' || c.fault === 'throttled' ? 'latency' : 'availability'} alarm`, startedAt: c.alert.startedAt, metric: c.fault === 'latency' || c.fault === 'throttled' ? 'latency_avg_ms' : 'error_rate_pct' },
    topology: c.topology.map((n) => ({ name: n.name, tier: n.tier, calls: [...n.calls], ...(xrayNodeType(n.name) ? { type: xrayNodeType(n.name) } : {}) })),
    metrics: c.series.map((s) => {
      const values: (number | null)[] = new Array(rows).fill(null);
      for (const p of s.points) values[Math.round((Date.parse(p.t) - start) / STEP_MS)] = p.v;
      return { service: s.service, metric: s.metric, unit: s.unit, resolutionSeconds: STEP_MS / 1000, start: new Date(start).toISOString(), values };
    }),
    expect: { rootCause: { service: c.root } },
  };
};

/**
 * The injected cases (history right before the window, as the importer splices it) written as recordings and run
 * through the whole workflow by `evaluate` on a recorded-tools twin, as `autopilot eval <dir>` runs them: what the
 * product answers, with every other hypothesis competing, not the ranking alone.
 */
export const runWorkflow = async (options: InjectionOptions & { readonly keep?: string } = {}) => {
  const dir = options.keep ?? mkdtempSync(join(tmpdir(), 'rca-injection-'));
  const cases = new Map<string, Case & { scenario: string }>();
  let skipped = 0;
  try {
    for (const c of injectedCases({ ...options, historyGapMs: 0 })) {
      if (!c) {
        skipped += 1;
        continue;
      }
      const name = `inj-${String(cases.size).padStart(4, '0')}-${c.fault}`;
      writeFileSync(join(dir, `${name}.json`), JSON.stringify(toRecording(name, c)));
      cases.set(name, c);
    }
    const twin = await startTwin({ inMemory: true, waitOverrideMs: 0, tools: 'recorded', console: false });
    let result: Awaited<ReturnType<typeof evaluate>>;
    try {
      result = await evaluate({ paths: [dir], recordingTwin: twin, onResult: (r, done, total) => process.stderr.write(`${done}/${total} ${r.scenario} (${cases.get(r.scenario)?.root}): ${r.pass ? 'top-1' : r.top3 ? 'top-3' : 'miss'} (${r.top1})\n`) });
    } finally {
      await twin.stop();
    }
    const tallies = new Map<string, { n: number; top1: number; named: number; top3: number; brier: number; abstained: number; errors: number }>();
    const bump = (key: string, r: (typeof result.scenarios)[number]) => {
      const t = tallies.get(key) ?? tallies.set(key, { n: 0, top1: 0, named: 0, top3: 0, brier: 0, abstained: 0, errors: 0 }).get(key)!;
      t.n += 1;
      t.top1 += Number(r.pass);
      t.named += Number(r.topRight);
      t.top3 += Number(r.top3);
      t.brier += (r.confidence - Number(r.topRight)) ** 2;
      t.abstained += Number(r.abstained);
      t.errors += Number(Boolean(r.error));
    };
    for (const r of result.scenarios) {
      const c = cases.get(r.scenario);
      if (!c) continue;
      for (const key of ['all', `depth ${c.depth}`, `fault ${c.fault}`, `${c.fault} at depth ${c.depth}`]) bump(key, r);
    }
    const summary = Object.fromEntries(
      [...tallies].map(([k, t]) => [k, { n: t.n, top1: round(t.top1 / t.n), top1Named: round(t.named / t.n), top3: round(t.top3 / t.n), brier: round(t.brier / t.n), abstained: t.abstained, errors: t.errors }]),
    );
    return { cases: cases.size, skipped, summary };
  } finally {
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  }
};

const main = async () => {
  if (!existsSync(`${DATA}low_traffic/noissue/metrics.csv`)) {
    console.log(`PetShop data not found under ${DATA}: skipping the injection check.`);
    return;
  }
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const faultsArg = process.argv.indexOf('--faults');
  const faults = faultsArg >= 0 ? (process.argv[faultsArg + 1].split(',') as Fault[]) : undefined;
  if (faults?.some((f) => !FAULTS.includes(f))) throw new RangeError(`--faults takes a comma-separated list of ${FAULTS.join(', ')}`);
  if (process.argv.includes('--workflow')) {
    const keepAt = process.argv.indexOf('--keep');
    const keep = keepAt >= 0 ? process.argv[keepAt + 1] : undefined;
    if (keep) mkdirSync(keep, { recursive: true });
    const result = await runWorkflow({ windows: arg('--windows') ?? 1, seed: arg('--seed'), faults, keep });
    if (!process.argv.includes('--json'))
      for (const [k, t] of Object.entries(result.summary).sort((a, b) => (a[0] < b[0] ? -1 : 1)))
        console.log(`${k.padEnd(30)} n=${String(t.n).padStart(4)}  top-1 ${t.top1.toFixed(3)} (named ${t.top1Named.toFixed(3)})  top-3 ${t.top3.toFixed(3)}  Brier ${t.brier.toFixed(3)}  abstained ${t.abstained}  errors ${t.errors}`);
    console.log(JSON.stringify({ mode: 'workflow', ...result }));
    return;
  }
  const result = runInjection({ windows: arg('--windows'), seed: arg('--seed'), faults });
  if (!process.argv.includes('--json')) {
    const row = (label: string, t: { n: number; top1: number; top3: number; brier: number }) => console.log(`${label.padEnd(72)} n=${String(t.n).padStart(4)}  top-1 ${t.top1.toFixed(3)}  top-3 ${t.top3.toFixed(3)}  Brier ${t.brier.toFixed(3)}`);
    for (const [d, t] of Object.entries(result.byDepth)) row(`depth ${d}`, t);
    for (const [f, t] of Object.entries(result.byFault)) row(`fault ${f}`, t);
    for (const [k, t] of Object.entries(result.byFaultDepth)) row(`  ${k.replace('@', ' at depth ')}`, t);
    if (process.argv.includes('--roots')) for (const [r, t] of Object.entries(result.byRoot)) row(r, t);
    row('all', result);
    console.log(`skipped ${result.skipped} (no traffic at the root, or the alert could not fire)`);
  }
  const { byRoot: _byRoot, ...line } = result;
  console.log(JSON.stringify(line));
};

if (process.argv[1] === fileURLToPath(import.meta.url))
  main().catch((error: unknown) => {
    process.stderr.write(`rca-injection: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
