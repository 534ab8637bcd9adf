import { describe, expect, it } from 'vitest';
import { analyzeLogs, poissonTail, templateStatus } from '../../../functions/core/agents/logs.ts';
import { citedEvidenceIds, LogAnalysisOutput } from '../../../functions/core/model.ts';
import type { LogLine } from '../../../functions/core/tools/ports.ts';
import { failing, fakeDeps, seedAgentRecord, seedIncident } from './fakes.ts';

const at = (base: string, minutes: number) => new Date(Date.parse(base) + minutes * 60_000).toISOString();
const line = (timestamp: string, service: string, level: LogLine['level'], message: string, traceId?: string): LogLine => ({ timestamp, service, level, message, traceId });

/**
 * Baseline (before 11:55): a steady slow-query warning. Incident (11:55 → 12:30): the same warning at the
 * same rate, a new pool-timeout error from 12:04 and a warning that spikes from 1 to many per window.
 */
const searchLogs = (calls: { services: readonly string[]; from: string; to: string }[]) => async (q: { services: readonly string[]; from: string; to: string; minLevel?: string }) => {
  calls.push(q);
  const lines: LogLine[] = [];
  const from = Date.parse(q.from);
  const to = Date.parse(q.to);
  for (let t = Date.parse('2026-03-14T10:00:00Z'); t < Date.parse('2026-03-14T12:30:00Z'); t += 5 * 60_000) {
    lines.push(line(new Date(t).toISOString(), 'stock-service', 'WARN', `Slow query on table stock took ${800 + (t % 7)}ms`));
  }
  lines.push(line('2026-03-14T11:00:00Z', 'stock-service', 'WARN', 'Retrying reservation 7781 after conflict'));
  for (let i = 0; i < 40; i += 1) {
    lines.push(line(at('2026-03-14T12:04:30Z', i * 0.5), 'stock-service', 'ERROR', `HikariPool-1 - Connection is not available, request timed out after ${30000 + i}ms.`, `tr-${i}`));
    lines.push(line(at('2026-03-14T12:05:00Z', i * 0.5), 'stock-service', 'WARN', `Retrying reservation ${9000 + i} after conflict`));
  }
  lines.push(line('2026-03-14T12:06:00Z', 'orders-api', 'ERROR', 'Upstream stock-service returned 503 for order 5521'));
  lines.push(line('2026-03-14T12:06:00Z', 'orders-api', 'INFO', 'should be filtered by level'));
  return lines.filter((l) => q.services.includes(l.service) && Date.parse(l.timestamp) >= from && Date.parse(l.timestamp) < to);
};

describe('unit: analyzeLogs', () => {
  it('mines templates, marks new and spiking ones against the baseline and finds the first new error', async () => {
    // Prepare: orders-api calls stock-service (the topology the logs agent reads itself)
    const calls: { services: readonly string[]; from: string; to: string }[] = [];
    const deps = fakeDeps({
      tools: { logs: { search: searchLogs(calls) }, telemetry: { getTopology: async () => [{ name: 'orders-api', tier: 'backend', calls: ['stock-service'] }, { name: 'stock-service', tier: 'backend', calls: [] }] } },
    });
    const id = await seedIncident(deps, { service: 'orders-api', startedAt: '2026-03-14T12:10:00Z' });

    // Act
    const summary = await analyzeLogs(deps)({ incidentId: id });

    // Assess: the query
    expect(calls).toHaveLength(2);
    expect(calls[0].services).toEqual(['orders-api', 'stock-service']);
    expect(calls[0]).toMatchObject({ from: '2026-03-14T11:55:00.000Z', to: '2026-03-14T12:30:00.000Z', minLevel: 'WARN' });
    expect(calls[1]).toMatchObject({ to: '2026-03-14T11:55:00.000Z' });
    // the templates
    const record = (await deps.store.getAgentRecord(id, 'logs'))!;
    const output = LogAnalysisOutput.parse(record.output);
    const pool = output.templates.find((t) => t.template.startsWith('HikariPool'))!;
    expect(pool).toMatchObject({ service: 'stock-service', level: 'ERROR', count: 40, novel: true, firstSeen: '2026-03-14T12:04:30.000Z', template: 'HikariPool-<*> - Connection is not available, request timed out after <*>.' });
    const retry = output.templates.find((t) => t.template.startsWith('Retrying'))!;
    expect(retry).toMatchObject({ novel: true, count: 40 });
    expect(record.evidence.find((e) => e.id === `log-template:stock-service:${retry.id}`)!.data).toMatchObject({ status: 'spiking', baselineCount: 1 });
    const slow = output.templates.find((t) => t.template.startsWith('Slow query'))!;
    expect(slow.novel).toBe(false);
    expect(output.templates[0].novel).toBe(true);
    expect(output.firstErrorAt).toBe('2026-03-14T12:04:30.000Z');
    expect(output.totalLines).toBe(7 + 40 + 40 + 1);
    // evidence ids exist and follow the convention
    const ids = new Set(record.evidence.map((e) => e.id));
    for (const cited of citedEvidenceIds(output)) expect(ids).toContain(cited);
    expect(ids).toContain(`log-template:stock-service:${pool.id}`);
    expect(summary.summary).toMatch(/new\/spiking/);
  });

  it('reads the alert service and its topology neighbourhood (callers and callees, two hops), whatever other agents did', async () => {
    const calls: { services: readonly string[]; from: string; to: string }[] = [];
    const deps = fakeDeps({
      tools: {
        logs: { search: searchLogs(calls) },
        telemetry: { getTopology: async () => [{ name: 'web', tier: 'frontend', calls: ['orders-api'] }, { name: 'orders-api', tier: 'backend', calls: ['stock-service'] }, { name: 'stock-service', tier: 'backend', calls: ['db'] }] },
      },
    });
    const id = await seedIncident(deps, { service: 'orders-api', startedAt: '2026-03-14T12:10:00Z' });
    // an impact record with another blast radius does not change what the logs agent reads (the agents run in parallel)
    await seedAgentRecord(deps, id, 'impact', { anomalies: [], blastRadius: ['elsewhere'], usersImpacted: 0, revenuePerMinute: 0, severity: 'SEV2', confidence: 0.8, reasoning: 'x', evidenceIds: [] });
    await analyzeLogs(deps)({ incidentId: id });
    expect([...calls[0].services].sort()).toEqual(['db', 'orders-api', 'stock-service', 'web']);
    const record = (await deps.store.getAgentRecord(id, 'logs'))!;
    expect(record.evidence.map((e) => e.id)).toContain('topology:orders-api');
  });

  it('records a gap when the log search fails and still produces a valid, empty analysis', async () => {
    const deps = fakeDeps({ tools: { logs: { search: failing('splunk timeout') } } });
    const id = await seedIncident(deps);
    await analyzeLogs(deps)({ incidentId: id });
    const record = (await deps.store.getAgentRecord(id, 'logs'))!;
    const output = LogAnalysisOutput.parse(record.output);
    expect(record.evidence.find((e) => e.id === 'gap:logs')!.summary).toContain('splunk timeout');
    expect(output).toMatchObject({ templates: [], totalLines: 0 });
    expect(output.evidenceIds).toContain('gap:logs');
    expect(output.reasoning).toMatch(/could not be searched/);
  });

  it('marks nothing novel when only the baseline search fails', async () => {
    let call = 0;
    const inner = searchLogs([]);
    const deps = fakeDeps({ tools: { logs: { search: async (q) => (++call === 2 ? Promise.reject(new Error('baseline down')) : inner(q)) } } });
    const id = await seedIncident(deps, { service: 'stock-service', startedAt: '2026-03-14T12:10:00Z' });
    await analyzeLogs(deps)({ incidentId: id });
    const output = LogAnalysisOutput.parse((await deps.store.getAgentRecord(id, 'logs'))!.output);
    expect(output.templates.length).toBeGreaterThan(0);
    expect(output.templates.every((t) => !t.novel)).toBe(true);
    expect(output.reasoning).toMatch(/novelty is unknown/);
  });
});

describe('unit: log novelty statistics', () => {
  it('computes the Poisson upper tail', () => {
    expect(poissonTail(0, 3)).toBe(1);
    expect(poissonTail(1, 2)).toBeCloseTo(1 - Math.exp(-2));
    expect(poissonTail(20, 2)).toBeLessThan(1e-10);
    expect(poissonTail(3, 0)).toBe(0);
  });

  it('classifies new, spiking and steady templates by rate', () => {
    const hour = 3_600_000;
    expect(templateStatus(5, 0, hour, 2 * hour)).toBe('new');
    expect(templateStatus(40, 2, hour, 2 * hour)).toBe('spiking');
    expect(templateStatus(12, 20, hour, 2 * hour)).toBe('steady');
    expect(templateStatus(3, 1, hour, 2 * hour)).toBe('steady'); // 6× the rate, but 3 lines are not significant
  });
});
