/**
 * Culprit and mechanism (issue 11, analysis/hypotheses/culprit.ts): every candidate kind has a culprit kind; a
 * candidate naming a change is the change's doing; a change whose category names only the trigger gets the mechanism
 * its evidence shows (a lowered thread limit at pinned CPU is saturation, a flooded callee that saturates is too),
 * and keeps its category when the evidence shows none; a model's answer without them is filled.
 */
import { describe, expect, it } from 'vitest';
import { analyseRootCause, type Candidate, type RootCauseInput } from '../../../functions/core/analysis/hypotheses.ts';
import { CULPRIT_KIND, culpritOf, mechanismOf, withCulpritFilled, withCulprits } from '../../../functions/core/analysis/hypotheses/culprit.ts';
import { indexEvidence } from '../../../functions/core/analysis/hypotheses/evidence.ts';
import type { Hypothesis, RootCauseOutput } from '../../../functions/core/model.ts';
import type { ChangeRequest, MetricSeries, ServiceNode } from '../../../functions/core/tools/ports.ts';
import { anomaly } from './fixtures/anomaly.ts';

const T = (hhmm: string) => `2026-06-02T${hhmm}:00.000Z`;
const MINUTE = 60_000;
const ONSET = T('10:05');

const topology: ServiceNode[] = [
  { name: 'shop-api', tier: 'frontend', calls: ['order-worker'] },
  { name: 'order-worker', tier: 'backend', calls: ['orders-db', 'pricing-service'] },
  { name: 'pricing-service', tier: 'backend', calls: [] },
  { name: 'orders-db', tier: 'database', calls: [] },
];

/** One point a minute from 08:30 to 10:30, `before` until 10:00 and `after` from then. */
const series = (service: string, metric: string, before: number, after: number): MetricSeries => ({
  service,
  metric,
  unit: '',
  points: Array.from({ length: 121 }, (_, i) => {
    const t = new Date(Date.parse(T('08:30')) + i * MINUTE).toISOString();
    return { t, v: Date.parse(t) >= Date.parse(T('10:00')) ? after : before };
  }),
});

const change = (over: Partial<ChangeRequest>): ChangeRequest => ({
  id: 'C1',
  service: 'order-worker',
  type: 'deploy',
  title: 'Release of order-worker',
  description: 'routine release',
  deployedAt: T('10:00'),
  state: 'implemented',
  ...over,
});

const config = (param: string, old: string, now: string, over: Partial<ChangeRequest> = {}) =>
  change({ type: 'config', title: `Set ${param}`, description: 'cost review', configChange: { param, old, new: now }, ...over });

/** The worker failing on its own at 10:05; `cpuPinned` adds its CPU at saturation. */
const input = (changes: ChangeRequest[], opts: { cpuPinned?: boolean; extra?: Partial<RootCauseInput> } = {}): RootCauseInput => ({
  incident: { service: 'shop-api', startedAt: T('10:06') },
  anomalies: [
    anomaly('order-worker', 'error_rate_pct', 0.1, 20, ONSET, 400),
    anomaly('shop-api', 'error_rate_pct', 0.1, 8, ONSET, 200),
    ...(opts.cpuPinned ? [anomaly('order-worker', 'cpu_pct', 50, 97, ONSET, 60)] : []),
  ],
  onset: ONSET,
  templates: [],
  changes,
  topology,
  traces: [],
  series: [series('order-worker', 'throughput_rps', 100, 100), ...(opts.cpuPinned ? [series('order-worker', 'cpu_pct', 50, 97)] : [])],
  now: T('10:30'),
  ...opts.extra,
});

const candidate = (over: Partial<Candidate>): Candidate => ({ kind: 'change', summary: 's', service: 'order-worker', category: 'bad-deploy', changeId: 'C1', predictions: [], ...over });

describe('unit: the culprit kind of every candidate kind', () => {
  it('covers every kind of the union with the contract’s culprit kind', () => {
    expect(CULPRIT_KIND).toEqual({
      change: 'change',
      'traffic-surge': 'load',
      'dependency-outage': 'dependency',
      'scheduled-job': 'job',
      expiry: 'expiry',
      'quota-throttling': 'load',
      'resource-leak': 'service',
      'disk-exhaustion': 'service',
      'fd-exhaustion': 'service',
      'service-fault': 'service',
      'queue-backlog': 'service',
      'metric-origin': 'service',
      zonal: 'zone',
    });
  });

  it('makes any candidate that names a change the change’s doing, and an origin on an external tier a dependency', () => {
    expect(culpritOf(candidate({ kind: 'queue-backlog', category: 'queue-backlog', changeId: 'DEP-9' }))).toEqual({ kind: 'change', service: 'order-worker', changeId: 'DEP-9' });
    expect(culpritOf(candidate({ kind: 'queue-backlog', category: 'queue-backlog', changeId: undefined }))).toEqual({ kind: 'service', service: 'order-worker' });
    expect(culpritOf(candidate({ kind: 'scheduled-job', category: 'capacity', changeId: undefined, service: 'nightly-export' }))).toEqual({ kind: 'job', service: 'nightly-export' });
    expect(culpritOf(candidate({ kind: 'metric-origin', category: 'dependency', changeId: undefined, service: 'payments-provider' }))).toEqual({ kind: 'dependency', service: 'payments-provider' });
    expect(culpritOf(candidate({ kind: 'metric-origin', category: 'unknown', changeId: undefined }))).toEqual({ kind: 'service', service: 'order-worker' });
  });
});

describe('unit: the mechanism of a change whose category names only the trigger', () => {
  it('reads a lowered thread limit with the service’s CPU pinned as saturation (capacity)', () => {
    const c = config('server.worker-threads', '64', '32');
    const w = indexEvidence(input([c], { cpuPinned: true }));
    expect(mechanismOf(w, candidate({ category: 'config-change' }))).toBe('capacity');
  });

  it('reads a deploy whose own service pins its CPU as saturation, and one that only throws as no known mechanism', () => {
    expect(mechanismOf(indexEvidence(input([change({})], { cpuPinned: true })), candidate({}))).toBe('capacity');
    expect(mechanismOf(indexEvidence(input([change({})])), candidate({}))).toBe('bad-deploy');
  });

  it('reads a change that floods a callee which then saturates (a retry storm) as saturation of the callee', () => {
    const c = config('pricing-client.max-retries', '1', '5');
    const w = indexEvidence(
      input([c], {
        extra: {
          anomalies: [anomaly('pricing-service', 'cpu_pct', 40, 98, ONSET, 80), anomaly('pricing-service', 'latency_p99_ms', 50, 900, ONSET, 50), anomaly('shop-api', 'error_rate_pct', 0.1, 8, ONSET, 200)],
          series: [series('order-worker', 'throughput_rps', 100, 100), series('pricing-service', 'throughput_rps', 100, 420), series('pricing-service', 'cpu_pct', 40, 98)],
        },
      }),
    );
    expect(mechanismOf(w, candidate({ category: 'config-change' }))).toBe('capacity');
    // Without the flood (the callee's traffic flat), the change's mechanism is not known.
    const flat = indexEvidence(input([c], { extra: { series: [series('order-worker', 'throughput_rps', 100, 100), series('pricing-service', 'throughput_rps', 100, 100)] } }));
    expect(mechanismOf(flat, candidate({ category: 'config-change' }))).toBe('config-change');
  });

  it('names the resource a lowered limit names when its service is at the new number (concurrency: throttling)', () => {
    const c = config('ReservedConcurrentExecutions', '100', '20');
    const extra = { anomalies: [...input([c]).anomalies, anomaly('order-worker', 'concurrent_executions', 6, 19.5, ONSET, 12)] };
    expect(mechanismOf(indexEvidence(input([c], { extra })), candidate({ category: 'config-change' }))).toBe('throttling');
    // Not at it: nothing says how it fails.
    expect(mechanismOf(indexEvidence(input([c])), candidate({ category: 'config-change' }))).toBe('config-change');
  });

  it('leaves a lowered timeout (a call cut short names no resource) and a category that is a mechanism as they are', () => {
    const timeout = config('pricing-client.read-timeout-ms', '3000', '200');
    const timedOut = { id: 't1', template: 'call to pricing-service timed out: Read timed out (read-timeout=200ms)', service: 'order-worker', level: 'ERROR', count: 300, firstSeen: T('10:01'), lastSeen: T('10:29'), novel: true, evidenceIds: ['log-template:order-worker:t1'] };
    const w = indexEvidence(input([timeout], { extra: { templates: [timedOut] } }));
    expect(mechanismOf(w, candidate({ category: 'config-change' }))).toBe('config-change');
    expect(mechanismOf(w, candidate({ category: 'connection-pool' }))).toBe('connection-pool');
    expect(mechanismOf(w, candidate({ kind: 'traffic-surge', category: 'capacity', changeId: undefined }))).toBe('capacity');
  });
});

describe('unit: every hypothesis the analysis writes carries its culprit and mechanism', () => {
  it('blames the thread-limit change as the culprit and saturation as the mechanism, keeping the category', () => {
    const out = analyseRootCause(input([config('server.worker-threads', '64', '32')], { cpuPinned: true }));
    const h = out.considered.find((x) => x.changeId === 'C1')!;
    expect(h).toMatchObject({ category: 'config-change', culprit: { kind: 'change', service: 'order-worker', changeId: 'C1' }, mechanism: 'capacity' });
    for (const x of [...out.rootCauses, ...out.considered]) {
      expect(x.culprit, x.summary).toBeDefined();
      expect(x.mechanism, x.summary).toBeDefined();
      if (x.changeId) expect(x.culprit).toMatchObject({ kind: 'change', changeId: x.changeId });
    }
  });
});

describe('unit: a model’s answer without culprit or mechanism is filled', () => {
  const offline: Hypothesis = { summary: 'C1', service: 'order-worker', category: 'config-change', changeId: 'C1', culprit: { kind: 'change', service: 'order-worker', changeId: 'C1' }, mechanism: 'capacity', predictions: [], confidence: 0.9, evidenceIds: [] };
  const bare = (h: Partial<Hypothesis>): Hypothesis => ({ summary: 'x', service: 'order-worker', category: 'config-change', predictions: [], confidence: 0.7, evidenceIds: [], ...h });

  it('from the offline hypothesis it repeats, else from its change id or category', () => {
    expect(withCulpritFilled(bare({ changeId: 'C1' }), [offline])).toMatchObject({ culprit: offline.culprit, mechanism: 'capacity' });
    expect(withCulpritFilled(bare({ changeId: 'C9' }), [offline])).toMatchObject({ culprit: { kind: 'change', service: 'order-worker', changeId: 'C9' }, mechanism: 'config-change' });
    expect(withCulpritFilled(bare({ service: 'payments-provider', category: 'dependency' }))).toMatchObject({ culprit: { kind: 'dependency', service: 'payments-provider' }, mechanism: 'dependency' });
    expect(withCulpritFilled(bare({ category: 'disk-full' }))).toMatchObject({ culprit: { kind: 'service', service: 'order-worker' }, mechanism: 'disk-full' });
    // What the model said is kept.
    const said = bare({ culprit: { kind: 'job', service: 'nightly-export' }, mechanism: 'capacity' });
    expect(withCulpritFilled(said, [offline])).toEqual(said);
  });

  it('fills every hypothesis of an output and leaves the rest of it alone', () => {
    const output: RootCauseOutput = { rootCauses: [bare({ changeId: 'C1' }), bare({ category: 'certificate', service: 'edge' })], abstained: false, missingEvidence: [], reasoning: 'r', evidenceIds: ['a'] };
    const filled = withCulprits(output, { rootCauses: [offline] });
    expect(filled.rootCauses.map((h) => [h.culprit?.kind, h.mechanism])).toEqual([
      ['change', 'capacity'],
      ['expiry', 'certificate'],
    ]);
    expect({ ...filled, rootCauses: [] }).toEqual({ ...output, rootCauses: [] });
  });
});
