import { describe, expect, it } from 'vitest';
import { explainMatch, inferCategories, keywords, rankIncidents } from '../../../functions/core/analysis/similar.ts';
import type { PastIncident } from '../../../functions/core/tools/ports.ts';

const past = (overrides: Partial<PastIncident> & Pick<PastIncident, 'id'>): PastIncident => ({
  title: 'untitled',
  service: 'other-service',
  openedAt: '2025-11-01T10:00:00Z',
  rootCause: 'unknown',
  resolution: 'unknown',
  tags: [],
  ...overrides,
});

const HISTORY: PastIncident[] = [
  past({
    id: 'INC-A',
    title: 'orders-service connection pool exhausted under peak load',
    service: 'orders-service',
    category: 'connection-pool',
    rootCause: 'Database connection pool too small for traffic; requests waited for connections and timed out',
    resolution: 'Raised the pool maximum from 10 to 30 and restarted',
    resolutionMinutes: 28,
    tags: ['connection-pool', 'database', 'timeout'],
  }),
  past({
    id: 'INC-B',
    title: 'TLS certificate expired on payments gateway',
    service: 'payments-gateway',
    category: 'certificate',
    rootCause: 'Certificate not renewed',
    resolution: 'Renewed the certificate',
    tags: ['certificate', 'tls'],
  }),
  past({
    id: 'INC-C',
    title: 'orders-service memory leak after release 4.2',
    service: 'orders-service',
    category: 'memory-leak',
    rootCause: 'Unbounded cache in release 4.2',
    resolution: 'Rolled back to 4.1',
    tags: ['memory', 'deploy'],
  }),
];

describe('unit: keywords and categories', () => {
  it('lower-cases, drops stopwords and numbers, keeps hyphenated words and their parts', () => {
    expect(keywords('The orders-service p99 is above 5000 ms')).toEqual(['orders-service', 'orders', 'p99', 'ms']);
  });

  it('infers categories from word prefixes', () => {
    expect([...inferCategories('Hikari pool exhausted, queries timeout')]).toEqual(expect.arrayContaining(['connection-pool', 'database', 'latency']));
    expect(inferCategories('all good here').size).toBe(0);
  });
});

describe('unit: rankIncidents', () => {
  it('ranks the same-service, same-failure incident first with scores in [0, 1]', () => {
    // Act
    const ranked = rankIncidents({ title: 'orders-service connection pool timeouts', service: 'orders-service', text: 'requests waiting for database connections' }, HISTORY);

    // Assess
    expect(ranked[0].incident.id).toBe('INC-A');
    expect(ranked[0].serviceMatch).toBe('same');
    expect(ranked[0].sharedCategories).toContain('connection-pool');
    for (const r of ranked) {
      expect(r.score).toBeGreaterThanOrEqual(0);
      expect(r.score).toBeLessThanOrEqual(1);
    }
    expect(ranked[0].score).toBeGreaterThan(ranked[1].score);
    expect(ranked.at(-1)!.incident.id).toBe('INC-B');
    expect(explainMatch(ranked[0])).toMatch(/^INC-A \(0\.\d\d\): same service orders-service; same category/);
  });

  it('scores a neighbour-service match above an unrelated service with the same text', () => {
    const twins = [past({ id: 'N', title: 'cache stampede', service: 'cart' }), past({ id: 'U', title: 'cache stampede', service: 'zzz' })];
    const ranked = rankIncidents({ title: 'cache stampede on web', service: 'web', neighbours: ['cart'] }, twins);
    expect(ranked.map((r) => r.incident.id)).toEqual(['N', 'U']);
    expect(ranked[0].serviceMatch).toBe('neighbour');
  });

  it('deduplicates candidates by id and returns [] for no candidates', () => {
    expect(rankIncidents({ title: 'x', service: 'y' }, [])).toEqual([]);
    expect(rankIncidents({ title: 'pool', service: 'orders-service' }, [HISTORY[0], HISTORY[0]])).toHaveLength(1);
  });

  it('gives a weak match a low score (the best of a weak field is not 1)', () => {
    const ranked = rankIncidents({ title: 'payments latency spike in eu-west region with retries', service: 'checkout' }, [HISTORY[1]]);
    expect(ranked[0].score).toBeLessThan(0.35);
  });
});
