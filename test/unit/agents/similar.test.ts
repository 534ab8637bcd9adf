import { describe, expect, it } from 'vitest';
import { findSimilar, RUNBOOK_MIN_SCORE } from '../../../functions/core/agents/similar.ts';
import { citedEvidenceIds, SimilarOutput } from '../../../functions/core/model.ts';
import type { PastIncident } from '../../../functions/core/tools/ports.ts';
import { IncidentNotFound } from '../../../functions/core/store/store.ts';
import { FakeIncidentStore, failing, fakeDeps, seedIncident } from './fakes.ts';

const HISTORY: PastIncident[] = [
  {
    id: 'INC-0901',
    title: 'stock-service DB connection pool starvation during sale',
    service: 'stock-service',
    openedAt: '2025-11-28T09:00:00Z',
    category: 'connection-pool',
    rootCause: 'Pool maximum too low for sale traffic; threads waited for connections',
    resolution: 'Raise the pool maximum from 10 to 30 via config and do a rolling restart',
    resolutionMinutes: 28,
    tags: ['connection-pool', 'database', 'latency'],
  },
  {
    id: 'INC-0777',
    title: 'orders-api latency after bad deploy',
    service: 'orders-api',
    openedAt: '2025-10-02T09:00:00Z',
    category: 'bad-deploy',
    rootCause: 'N+1 query introduced in release 3.4',
    resolution: 'Rolled back to 3.3',
    resolutionMinutes: 45,
    tags: ['deploy', 'latency'],
  },
  {
    id: 'INC-0500',
    title: 'Expired TLS certificate on CDN',
    service: 'cdn',
    openedAt: '2025-01-02T09:00:00Z',
    category: 'certificate',
    rootCause: 'Certificate not renewed',
    resolution: 'Renewed certificate',
    tags: ['tls'],
  },
  {
    id: 'INC-0400',
    title: 'search-service memory leak',
    service: 'search-service',
    openedAt: '2024-06-02T09:00:00Z',
    category: 'memory-leak',
    rootCause: 'Unbounded cache',
    resolution: 'Restarted pods and capped the cache',
    tags: ['memory'],
  },
];

describe('unit: findSimilar', () => {
  it('ranks the same-failure incident first, keeps the top 3 and suggests its runbook', async () => {
    // Prepare
    const queries: { text: string; services?: readonly string[] }[] = [];
    const deps = fakeDeps({
      tools: {
        changes: {
          searchIncidents: async (q) => {
            queries.push(q);
            return q.services ? HISTORY.filter((h) => q.services!.includes(h.service)) : HISTORY;
          },
        },
        telemetry: { getTopology: async () => [{ name: 'orders-api', tier: 'backend', calls: ['stock-service'] }, { name: 'stock-service', tier: 'backend', calls: [] }] },
      },
    });
    const id = await seedIncident(deps, { service: 'stock-service', title: 'stock-service connection pool timeouts, p99 latency high', description: 'Requests waiting for database connections' });

    // Act
    const summary = await findSimilar(deps)({ incidentId: id });

    // Assess
    expect(queries).toHaveLength(2);
    expect(queries[0].services).toEqual(['stock-service', 'orders-api']);
    expect(queries[0].text).toContain('pool');
    expect(queries[1].services).toBeUndefined();
    const record = (await deps.store.getAgentRecord(id, 'similar'))!;
    const output = SimilarOutput.parse(record.output);
    expect(output.incidents.map((i) => i.id)).toEqual(['INC-0901', 'INC-0777', expect.any(String)]);
    expect(output.topMatch).toBe('INC-0901');
    expect(output.incidents[0].score).toBeGreaterThanOrEqual(RUNBOOK_MIN_SCORE);
    for (const i of output.incidents) expect(i.score).toBeLessThanOrEqual(1);
    expect(output.incidents[0].score).toBeGreaterThan(output.incidents[1].score);
    expect(output.suggestedRunbook).toBe(HISTORY[0].resolution);
    expect(output.reasoning).toMatch(/Best: INC-0901 .*same service stock-service/);
    const ids = new Set(record.evidence.map((e) => e.id));
    for (const cited of citedEvidenceIds(output)) expect(ids).toContain(cited);
    expect(ids).toContain('incident:INC-0901');
    expect(summary.summary).toMatch(/^top match INC-0901/);
  });

  it('suggests no runbook when nothing is close enough', async () => {
    const deps = fakeDeps({ tools: { changes: { searchIncidents: async () => [HISTORY[2]] } } });
    const id = await seedIncident(deps, { service: 'payments', title: 'payments queue backlog growing' });
    await findSimilar(deps)({ incidentId: id });
    const output = SimilarOutput.parse((await deps.store.getAgentRecord(id, 'similar'))!.output);
    expect(output.incidents).toHaveLength(1);
    expect(output.incidents[0].score).toBeLessThan(RUNBOOK_MIN_SCORE);
    expect(output.suggestedRunbook).toBeUndefined();
    expect(output.reasoning).toMatch(/no runbook is suggested/);
  });

  it('records a gap when the history is unavailable and returns an empty, valid output', async () => {
    const deps = fakeDeps({ tools: { changes: { searchIncidents: failing('servicenow 500') } } });
    const id = await seedIncident(deps);
    const summary = await findSimilar(deps)({ incidentId: id });
    const record = (await deps.store.getAgentRecord(id, 'similar'))!;
    const output = SimilarOutput.parse(record.output);
    expect(record.evidence.find((e) => e.id === 'gap:changes')!.summary).toContain('servicenow 500');
    expect(output).toMatchObject({ incidents: [], evidenceIds: ['gap:changes'] });
    expect(output.topMatch).toBeUndefined();
    expect(summary.summary).toBe('no similar past incident');
  });

  it('reads the incident once: the partition it needs for the alert text, not the runtime read besides', async () => {
    const reads: string[] = [];
    class CountingStore extends FakeIncidentStore {
      override async getDetail(...args: Parameters<FakeIncidentStore['getDetail']>) {
        reads.push('getDetail');
        return super.getDetail(...args);
      }
      override async getIncidentWith(...args: Parameters<FakeIncidentStore['getIncidentWith']>) {
        reads.push('getIncidentWith');
        return super.getIncidentWith(...args);
      }
    }
    const deps = fakeDeps({ store: new CountingStore(), tools: { changes: { searchIncidents: async () => HISTORY } } });
    const id = await seedIncident(deps, { service: 'stock-service', title: 'stock-service pool timeouts', description: 'waiting for database connections' });
    await findSimilar(deps)({ incidentId: id });
    expect(reads).toEqual(['getDetail']);
    await expect(findSimilar(deps)({ incidentId: 'inc-nope' })).rejects.toBeInstanceOf(IncidentNotFound);
  });
});
