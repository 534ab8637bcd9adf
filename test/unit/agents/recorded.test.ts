import { describe, expect, it } from 'vitest';
import { recordedChanges, recordedNodes } from '../../../functions/core/agents/recorded.ts';
import type { Evidence } from '../../../functions/core/model.ts';

describe('unit: reading back recorded tool data', () => {
  const evidence: Evidence[] = [
    // the root-cause agent keeps nodes and changes whole …
    { id: 'topology:api', kind: 'topology', source: 'telemetry', summary: 'api', data: { name: 'api', tier: 'frontend', calls: ['db'] } },
    { id: 'change:CR1', kind: 'change', source: 'changes', summary: 'CR1', data: { id: 'CR1', service: 'db', type: 'config', title: 't', description: 'd', deployedAt: '2026-03-14T12:00:00Z', state: 'implemented' } },
    // … the investigation agents keep a neighbourhood summary, which is not a node
    { id: 'topology:web', kind: 'topology', source: 'telemetry', summary: 'web', data: { callers: [], callees: ['api'] } },
    // a change without the fields the plan and the execution judge on is not a change
    { id: 'change:CR2', kind: 'change', source: 'changes', summary: 'CR2', data: { id: 'CR2' } },
    { id: 'metric:api:x', kind: 'metric', source: 'telemetry', summary: 'not topology', data: { name: 'x', calls: [] } },
  ];

  it('returns only the nodes and changes recorded whole', () => {
    expect(recordedNodes(evidence).map((n) => n.name)).toEqual(['api']);
    expect(recordedChanges(evidence).map((c) => c.id)).toEqual(['CR1']);
  });
});
