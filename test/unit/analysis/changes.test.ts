import { describe, expect, it } from 'vitest';
import { callGraph, meaningOverlap, relationOf, timeAlignment, tokens, tokensMatch } from '../../../functions/core/analysis/changes.ts';
import type { ChangeRequest, ServiceNode } from '../../../functions/core/tools/ports.ts';

const change = (overrides: Partial<ChangeRequest> = {}): ChangeRequest => ({
  id: 'CR1',
  service: 'inventory-service',
  type: 'config',
  title: 'Tune HikariCP pool settings',
  description: 'Lower maximum-pool-size to reduce load on the database',
  deployedAt: '2026-03-14T12:04:00.000Z',
  state: 'implemented',
  configChange: { param: 'spring.datasource.hikari.maximum-pool-size', old: '20', new: '10' },
  ...overrides,
});

const topology: ServiceNode[] = [
  { name: 'frontend', tier: 'frontend', calls: ['checkout-service', 'recommendation-service'] },
  { name: 'checkout-service', tier: 'backend', calls: ['inventory-service'] },
  { name: 'inventory-service', tier: 'backend', calls: ['inventory-db'] },
  { name: 'inventory-db', tier: 'database', calls: [] },
  { name: 'recommendation-service', tier: 'backend', calls: [] },
  { name: 'billing-batch', tier: 'backend', calls: [] },
];

describe('timeAlignment', () => {
  it('supports an onset a few minutes after the deploy', () => {
    // Act
    const t = timeAlignment('2026-03-14T12:04:00Z', '2026-03-14T12:10:00Z');
    // Assess
    expect(t.verdict).toBe('supported');
    expect(t.lagMinutes).toBe(6);
  });

  it('refutes a change deployed after the onset', () => {
    const t = timeAlignment('2026-03-14T12:20:00Z', '2026-03-14T12:10:00Z');
    expect(t.verdict).toBe('refuted');
    expect(t.reason).toMatch(/AFTER the onset/);
  });

  it('tolerates a deploy inside the onset bucket (one minute after the stamped onset)', () => {
    expect(timeAlignment('2026-03-14T12:11:00Z', '2026-03-14T12:10:00Z').verdict).toBe('supported');
  });

  it('is inconclusive for a deploy hours before the onset or an unknown onset', () => {
    expect(timeAlignment('2026-03-14T08:00:00Z', '2026-03-14T12:10:00Z').verdict).toBe('inconclusive');
    expect(timeAlignment('2026-03-14T12:00:00Z', undefined).verdict).toBe('inconclusive');
  });
});

describe('relationOf', () => {
  const graph = callGraph(topology);

  it('sees a callee of the anomalous service as a dependency, with hops', () => {
    expect(relationOf(graph, 'inventory-db', 'checkout-service')).toEqual({ kind: 'dependency', hops: 2 });
  });

  it('sees a caller of the anomalous service as a dependent', () => {
    expect(relationOf(graph, 'frontend', 'inventory-service')).toEqual({ kind: 'dependent', hops: 2 });
  });

  it('finds no path between unrelated services', () => {
    expect(relationOf(graph, 'billing-batch', 'inventory-service').kind).toBe('unrelated');
    expect(relationOf(graph, 'recommendation-service', 'inventory-service').kind).toBe('unrelated');
  });

  it('reports an unknown service as unknown, not unrelated', () => {
    expect(relationOf(graph, 'mystery', 'inventory-service').kind).toBe('unknown');
  });
});

describe('tokens and meaning', () => {
  it('splits camelCase, $ and dotted names and drops stop words and numbers', () => {
    expect([...tokens('HikariPool$PoolTimeoutException after 30000ms')]).toEqual(['hikari', 'pool', 'timeout']);
    expect([...tokens('spring.datasource.hikari.maximum-pool-size')]).toEqual(['spring', 'datasource', 'hikari', 'maximum', 'pool', 'size']);
  });

  it('matches a token with its longer form but not short coincidences', () => {
    expect(tokensMatch('hikari', 'hikaricp')).toBe(true);
    expect(tokensMatch('pool', 'pools')).toBe(true);
    expect(tokensMatch('cpu', 'cpus')).toBe(false);
  });

  it('supports a change whose parameter the error templates name', () => {
    // Act
    const m = meaningOverlap(change(), ['HikariPool$PoolTimeoutException: Connection is not available, request timed out after <*>ms', 'db_pool_active'], new Set(['inventory']));
    // Assess
    expect(m.verdict).toBe('supported');
    expect(m.matched).toEqual(expect.arrayContaining(['hikari', 'pool']));
  });

  it('does not support an unrelated change', () => {
    const css = change({ type: 'deploy', title: 'New carousel styling', description: 'CSS refresh of the product carousel', configChange: undefined });
    const m = meaningOverlap(css, ['HikariPool$PoolTimeoutException: Connection is not available', 'latency_p99_ms']);
    expect(m.verdict).toBe('inconclusive');
    expect(m.matched).toEqual([]);
  });

  it('ignores tokens that only match a service name', () => {
    const c = change({ title: 'inventory release', description: 'inventory', configChange: undefined });
    const m = meaningOverlap(c, ['inventory-service timeout talking to inventory-db'], new Set(['inventory']));
    expect(m.matched).toEqual([]);
  });
});
