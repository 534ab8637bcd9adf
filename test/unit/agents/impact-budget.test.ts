/**
 * Unit: the impact agent on a service map larger than it reads (MAX_SERVICES): the services it leaves out are
 * named as a gap in its record, never passed over in silence (one of them may be the cause).
 */
import { describe, expect, it } from 'vitest';
import { analyzeImpact, MAX_SERVICES, topologyNeighbourhood } from '../../../functions/core/agents/impact.ts';
import type { ServiceNode } from '../../../functions/core/tools/ports.ts';
import { fakeDeps, fakeQueryMetrics, seedIncident } from './fakes.ts';

const CHILDREN = MAX_SERVICES + 50;
const TOPOLOGY: ServiceNode[] = [
  { name: 'front', tier: 'frontend', calls: Array.from({ length: CHILDREN }, (_, i) => `svc-${i}`) },
  ...Array.from({ length: CHILDREN }, (_, i): ServiceNode => ({ name: `svc-${i}`, tier: 'backend', calls: [] })),
];

describe('unit: impact on a map larger than its budget', () => {
  it('topologyNeighbourhood says which services the budget left out', () => {
    const hood = topologyNeighbourhood(TOPOLOGY, 'front', 3, Number.POSITIVE_INFINITY, MAX_SERVICES);
    expect(hood.services).toHaveLength(MAX_SERVICES);
    expect(hood.omitted).toHaveLength(CHILDREN + 1 - MAX_SERVICES);
    expect(hood.omitted.at(-1)).toBe(`svc-${CHILDREN - 1}`);
    expect(topologyNeighbourhood([{ name: 'front', tier: 'frontend', calls: ['svc-0'] }, TOPOLOGY[1]!], 'front').omitted).toEqual([]);
  });

  it('records the services it did not read as a gap, with their count', async () => {
    const deps = fakeDeps({
      tools: { telemetry: { getTopology: async () => TOPOLOGY, queryMetrics: fakeQueryMetrics([{ service: 'front', metric: 'latency_p99_ms', base: 100 }], []), getTraces: async () => [] } },
    });
    const id = await seedIncident(deps, { service: 'front', title: 'front p99 latency high', startedAt: '2026-03-14T12:10:00Z', severity: 'SEV3' });
    await analyzeImpact(deps)({ incidentId: id });
    const record = (await deps.store.getAgentRecord(id, 'impact'))!;
    const gap = record.evidence.find((e) => e.kind === 'gap' && e.id === 'gap:topology.budget');
    expect(gap?.summary).toMatch(new RegExp(`^${CHILDREN + 1 - MAX_SERVICES} service\\(s\\) within reach of front were not read \\(at most ${MAX_SERVICES} are\\): svc-${MAX_SERVICES - 1}, `));
    expect(gap?.data).toEqual({ omitted: CHILDREN + 1 - MAX_SERVICES });
  });
});
