/**
 * A throughput regression behind an asynchronous edge: order-consumer drains orders-queue at 60 messages/s instead of
 * 100 from 11:00 while checkout-api keeps enqueueing 100/s; depth and oldest-message age climb, and nothing fails.
 * The family must blame the consumer (category queue-backlog) whether the topology draws the queue → consumer edge or
 * not, stay silent without queue metrics, refute a backlog that a surge of producers built, and name a deploy on
 * the consumer that landed just before the backlog began as its culprit (never blame the consumer alone above it).
 */
import { describe, expect, it } from 'vitest';
import { analyseRootCause, type RootCauseInput } from '../../../../functions/core/analysis/hypotheses.ts';
import { indexEvidence } from '../../../../functions/core/analysis/hypotheses/evidence.ts';
import { consumerOf, testQueueBacklog } from '../../../../functions/core/analysis/hypotheses/queue-backlog.ts';
import type { ChangeRequest, ServiceNode } from '../../../../functions/core/tools/ports.ts';
import { anomaly } from '../fixtures/anomaly.ts';
import { at, change, m, series } from './fixtures.ts';

const withEdge: ServiceNode[] = [
  { name: 'checkout-api', tier: 'frontend', calls: ['orders-queue'] },
  { name: 'orders-queue', tier: 'queue', calls: ['order-consumer'] },
  { name: 'order-consumer', tier: 'backend', calls: ['orders-db'] },
  { name: 'orders-db', tier: 'database', calls: [] },
];
/** The same system as a service map that does not draw the asynchronous edge (the consumer stands alone). */
const withoutEdge: ServiceNode[] = withEdge.map((n) => (n.name === 'orders-queue' ? { ...n, calls: [] } : n.name === 'order-consumer' ? { ...n, name: 'orders-worker' } : n));
const ONSET = at('11:00');

const input = (over: { topology?: ServiceNode[]; changes?: ChangeRequest[]; inflow?: (x: number) => number; drain?: (x: number) => number; consumer?: string } = {}): RootCauseInput => {
  const consumer = over.consumer ?? 'order-consumer';
  const inflow = over.inflow ?? (() => 100);
  const drain = over.drain ?? ((x: number) => (x < m('11:00') ? 100 : 60));
  // Depth integrates inflow − drain (a handful of messages in flight at rest).
  let depth = 5;
  const depths = Array.from({ length: 151 }, (_, x) => (depth = Math.max(5, depth + 60 * (inflow(x) - Math.min(drain(x), inflow(x) + depth / 60)))));
  return {
    incident: { service: 'orders-queue', startedAt: at('11:08') },
    anomalies: [
      anomaly('orders-queue', 'queue_depth', 5, depths[150], ONSET, 400),
      anomaly('orders-queue', 'queue_oldest_age_s', 2, 900, ONSET, 300),
      anomaly(consumer, 'throughput_rps', 100, 60, ONSET, 40),
    ],
    onset: ONSET,
    templates: [],
    changes: over.changes ?? [],
    topology: over.topology ?? withEdge,
    traces: [],
    series: [
      series('orders-queue', 'queue_depth', (x) => depths[x]),
      series('orders-queue', 'queue_oldest_age_s', (x) => (depths[x] <= 5 ? 2 : 2 + (depths[x] / 100) * 1.5)),
      series('orders-queue', 'throughput_rps', inflow, 1),
      series('checkout-api', 'throughput_rps', inflow, 1),
      series(consumer, 'throughput_rps', drain, 1),
    ],
    now: at('11:30'),
  };
};

describe('queue-backlog hypotheses', () => {
  it('blames the consumer that drains slower while the inflow holds and nothing fails', () => {
    const out = analyseRootCause(input());
    expect(out.abstained).toBe(false);
    expect(out.considered[0]).toMatchObject({ kind: 'queue-backlog', service: 'order-consumer', category: 'queue-backlog' });
    expect(out.rootCauses[0].confidence).toBeGreaterThan(0.8);
    const verdicts = Object.fromEntries(out.rootCauses[0].predictions.map((p) => [p.statement.split(' — ')[0], p.result]));
    expect(verdicts).toMatchObject({
      'the backlog of orders-queue grows (depth and oldest-message age)': 'supported',
      'the consumer of orders-queue drains no faster than before while the inflow holds': 'supported',
      'error rates stayed flat': 'supported',
      'no change to order-consumer explains it': 'supported',
    });
  });

  it('finds the consumer by its name and its drain when the topology does not draw the edge', () => {
    const w = indexEvidence(input({ topology: withoutEdge, consumer: 'orders-worker' }));
    expect(consumerOf(w, 'orders-queue')).toBe('orders-worker');
    const out = analyseRootCause(input({ topology: withoutEdge, consumer: 'orders-worker' }));
    expect(out.considered[0]).toMatchObject({ kind: 'queue-backlog', service: 'orders-worker' });
  });

  it('says nothing of a queue with no depth metric, and names the missing consumer when none can be found', () => {
    const bare = input();
    const noDepth = { ...bare, series: bare.series.filter((s) => !s.metric.startsWith('queue_')) };
    expect(analyseRootCause(noDepth).considered.some((h) => h.kind === 'queue-backlog')).toBe(false);
    const alone = input({ topology: withoutEdge, consumer: 'fulfilment' });
    const c = testQueueBacklog(indexEvidence(alone), 'orders-queue')!;
    expect(c.service).toBe('orders-queue');
    expect(c.predictions.find((p) => p.statement.startsWith('the consumer of orders-queue'))).toMatchObject({ result: 'inconclusive', missing: 'the consumer of orders-queue (topology)' });
  });

  it('refutes a slower consumer when a surge of producers built the backlog', () => {
    const surge = (x: number) => (x < m('11:00') ? 100 : 220);
    const out = analyseRootCause(input({ inflow: surge, drain: (x) => Math.min(surge(x), 150) }));
    const queue = out.considered.find((h) => h.kind === 'queue-backlog')!;
    expect(queue.predictions.find((p) => p.statement.startsWith('the consumer of orders-queue'))?.result).toBe('refuted');
    expect(queue.confidence).toBeLessThan(0.5);
  });

  it('names a deploy on the consumer that landed before the onset as the culprit (the same change the change tester blames)', () => {
    const release = change('CHG-12', 'order-consumer', at('10:58'), { title: 'order-consumer 3.1: enrich orders with loyalty data' });
    const out = analyseRootCause(input({ changes: [release] }));
    expect(out.rootCauses[0]).toMatchObject({ service: 'order-consumer', changeId: 'CHG-12', category: 'queue-backlog' });
    expect(out.rollbackCandidate).toBe('CHG-12');
    const queue = out.considered.find((h) => h.kind === 'queue-backlog')!;
    expect(queue.predictions.find((p) => p.statement.startsWith('a change to order-consumer slowed it'))?.result).toBe('supported');
    // No hypothesis blames the consumer with no change, or another culprit, above the deploy.
    expect(out.considered.filter((h) => h.confidence >= out.rootCauses[0].confidence).every((h) => h.changeId === 'CHG-12')).toBe(true);
  });

  it('does not name a deploy on the consumer hours before the backlog began', () => {
    const old = change('CHG-3', 'order-consumer', at('09:05'));
    const out = analyseRootCause(input({ changes: [old] }));
    expect(out.considered[0]).toMatchObject({ kind: 'queue-backlog', service: 'order-consumer' });
    expect(out.rootCauses[0].changeId).toBeUndefined();
  });

});
