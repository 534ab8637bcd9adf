/**
 * The root-cause agent stores every hypothesis with its culprit and mechanism (issue 11): the offline analysis sets
 * them, and when a model answers without them (it may: they are optional in the schema it answers in) the agent
 * fills them as the offline analysis has them, or from the hypothesis's own change id and category.
 */
import { describe, expect, it } from 'vitest';
import { findRootCause } from '../../../functions/core/agents/rootcause.ts';
import { type ImpactOutput, RootCauseOutput } from '../../../functions/core/model.ts';
import type { Reasoner } from '../../../functions/core/reasoning/reasoner.ts';
import type { ChangeRequest, ServiceNode } from '../../../functions/core/tools/ports.ts';
import { fakeDeps, seedAgentRecord, seedIncident } from './fakes.ts';

const T = (hhmm: string) => `2026-03-14T${hhmm}:00.000Z`;

const topology: ServiceNode[] = [
  { name: 'checkout-service', tier: 'backend', calls: ['inventory-service'] },
  { name: 'inventory-service', tier: 'backend', calls: [] },
];

const impact: ImpactOutput = {
  anomalies: [
    { service: 'inventory-service', metric: 'latency_p99_ms', baseline: 120, current: 18_340, score: 9, direction: 'up', onset: T('12:10'), evidenceIds: ['anomaly:inventory-service:latency_p99_ms'] },
    { service: 'checkout-service', metric: 'latency_p99_ms', baseline: 200, current: 18_500, score: 30, direction: 'up', onset: T('12:11'), evidenceIds: ['anomaly:checkout-service:latency_p99_ms'] },
  ],
  blastRadius: ['checkout-service', 'inventory-service'],
  usersImpacted: 1000,
  revenuePerMinute: 100,
  severity: 'SEV2',
  onset: T('12:10'),
  confidence: 0.9,
  reasoning: 'latency up',
  evidenceIds: [],
};

const changes: ChangeRequest[] = [
  {
    id: 'CR2077',
    service: 'inventory-service',
    type: 'config',
    title: 'Tune HikariCP pool settings',
    description: 'Reduce maximum-pool-size',
    deployedAt: T('12:04'),
    state: 'implemented',
    configChange: { param: 'maximum-pool-size', old: '20', new: '10' },
  },
];

const run = async (reasoner?: Reasoner) => {
  const deps = fakeDeps({ tools: { telemetry: { getTopology: async () => topology }, changes: { listChanges: async () => changes } }, ...(reasoner ? { reasoner } : {}) });
  const incidentId = await seedIncident(deps);
  await seedAgentRecord(deps, incidentId, 'impact', impact, [
    { id: 'anomaly:inventory-service:latency_p99_ms', kind: 'metric', source: 'telemetry', summary: 'inventory p99 up' },
    { id: 'anomaly:checkout-service:latency_p99_ms', kind: 'metric', source: 'telemetry', summary: 'checkout p99 up' },
  ]);
  await findRootCause(deps)({ incidentId });
  return RootCauseOutput.parse((await deps.store.getAgentRecord(incidentId, 'rootcause'))?.output);
};

describe('findRootCause: culprit and mechanism', () => {
  it('stores them for every hypothesis of the offline analysis', async () => {
    const output = await run();
    expect(output.rootCauses.length).toBeGreaterThan(0);
    expect(output.rootCauses[0]).toMatchObject({ changeId: 'CR2077', culprit: { kind: 'change', service: 'inventory-service', changeId: 'CR2077' } });
    for (const h of output.rootCauses) expect([h.culprit?.kind, h.mechanism].every(Boolean), h.summary).toBe(true);
  });

  it('fills what a model left out: from the offline hypothesis it repeats, else from its change id and category', async () => {
    const offline = await run();
    const model: Reasoner = {
      reason: async (request) => {
        const answer = request.offline as RootCauseOutput;
        const bare = answer.rootCauses.map(({ culprit: _c, mechanism: _m, ...h }) => h);
        // The model adds one of its own: an external dependency it suspects.
        const own = { summary: 'the payment provider is failing', service: 'payment-provider', category: 'dependency' as const, predictions: [], confidence: 0.2, evidenceIds: [] };
        return { output: request.schema.parse({ ...answer, rootCauses: [...bare, own] }), reasoner: 'llm:test' };
      },
    };
    const output = await run(model);
    expect(output.rootCauses.slice(0, -1).map((h) => [h.culprit, h.mechanism])).toEqual(offline.rootCauses.map((h) => [h.culprit, h.mechanism]));
    expect(output.rootCauses.at(-1)).toMatchObject({ culprit: { kind: 'dependency', service: 'payment-provider' }, mechanism: 'dependency' });
  });
});
