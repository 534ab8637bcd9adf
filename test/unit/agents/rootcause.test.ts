import { describe, expect, it } from 'vitest';
import { executeMitigation } from '../../../functions/core/agents/execute.ts';
import { planMitigation } from '../../../functions/core/agents/plan.ts';
import { writeReport } from '../../../functions/core/agents/report.ts';
import { EarlierAgentMissing, findRootCause } from '../../../functions/core/agents/rootcause.ts';
import { verifyRecovery } from '../../../functions/core/agents/verify.ts';
import { findScenario, listScenarios } from '../../../functions/core/world/scenario.ts';
import { PlanOutput } from '../../../functions/core/model.ts';
import { type ImpactOutput, type LogAnalysisOutput, RootCauseOutput } from '../../../functions/core/model.ts';
import type { ChangeRequest, ServiceNode, Trace } from '../../../functions/core/tools/ports.ts';
import { investigate, seedScenarioWorld } from './scenario-world.ts';
import { type PartialTools, failing, fakeDeps, seedAgentRecord, seedIncident } from './fakes.ts';

const T = (hhmm: string) => `2026-03-14T${hhmm}:00.000Z`;

const topology: ServiceNode[] = [
  { name: 'checkout-service', tier: 'backend', calls: ['inventory-service'] },
  { name: 'inventory-service', tier: 'backend', calls: [] },
  { name: 'search-service', tier: 'backend', calls: [] },
];

const impact: ImpactOutput = {
  anomalies: [
    { service: 'inventory-service', metric: 'latency_p99_ms', baseline: 120, current: 18_340, score: 9, direction: 'up', onset: T('12:10'), evidenceIds: ['anomaly:inventory-service:latency_p99_ms'] },
    { service: 'checkout-service', metric: 'latency_p99_ms', baseline: 200, current: 18_500, score: 30, direction: 'up', onset: T('12:11'), evidenceIds: ['anomaly:checkout-service:latency_p99_ms'] },
  ],
  blastRadius: ['checkout-service', 'inventory-service'],
  usersImpacted: 47_000,
  revenuePerMinute: 18_400,
  severity: 'SEV1',
  onset: T('12:10'),
  confidence: 0.9,
  reasoning: 'latency up',
  evidenceIds: [],
};

const logs: LogAnalysisOutput = {
  templates: [
    {
      id: 't1',
      template: 'HikariPool$PoolTimeoutException: Connection is not available, request timed out after <*>ms',
      service: 'inventory-service',
      level: 'ERROR',
      count: 500,
      firstSeen: T('12:09'),
      lastSeen: T('12:29'),
      novel: true,
      evidenceIds: ['log-template:inventory-service:t1'],
    },
  ],
  totalLines: 500,
  firstErrorAt: T('12:09'),
  reasoning: 'one template',
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
    rollbackPlan: 'Revert to 20 via config map + rolling restart',
  },
];

const trace: Trace = {
  traceId: 'tr1',
  rootService: 'checkout-service',
  startedAt: T('12:20'),
  totalMs: 18_000,
  status: 'ERROR',
  spans: [
    { spanId: 'a', service: 'checkout-service', operation: 'reserve', startedAt: T('12:20'), durationMs: 18_000, status: 'ERROR' },
    { spanId: 'b', parentSpanId: 'a', service: 'inventory-service', operation: 'getConnection', startedAt: T('12:20'), durationMs: 17_900, status: 'ERROR' },
  ],
};

const setup = async (tools: PartialTools = {}) => {
  const calls: { listChanges?: unknown } = {};
  const deps = fakeDeps({
    tools: {
      telemetry: { getTopology: async () => topology, getTraces: async () => [trace], ...tools.telemetry },
      changes: {
        listChanges: async (q) => {
          calls.listChanges = q;
          return changes;
        },
        ...tools.changes,
      },
    },
  });
  const incidentId = await seedIncident(deps);
  await seedAgentRecord(deps, incidentId, 'impact', impact, [
    { id: 'anomaly:inventory-service:latency_p99_ms', kind: 'metric', source: 'telemetry', summary: 'inventory p99 up' },
    { id: 'anomaly:checkout-service:latency_p99_ms', kind: 'metric', source: 'telemetry', summary: 'checkout p99 up' },
  ]);
  await seedAgentRecord(deps, incidentId, 'logs', logs, [{ id: 'log-template:inventory-service:t1', kind: 'log', source: 'logs', summary: 'pool timeouts' }]);
  return { deps, incidentId, calls };
};

describe('findRootCause', () => {
  it('blames the pool change, stores the tested hypotheses and returns a short summary', async () => {
    // Prepare
    const { deps, incidentId, calls } = await setup();
    // Act
    const result = await findRootCause(deps)({ incidentId });
    // Assess
    expect(result).toMatchObject({ incidentId, agent: 'rootcause' });
    expect(result.summary).toMatch(/CR2077.*rollback candidate CR2077/);
    const record = await deps.store.getAgentRecord(incidentId, 'rootcause');
    const output = RootCauseOutput.parse(record?.output);
    expect(output.rollbackCandidate).toBe('CR2077');
    expect(output.rootCauses[0].evidenceIds).toEqual(expect.arrayContaining(['change:CR2077', 'trace:tr1', 'log-template:inventory-service:t1']));
    expect(record?.evidence.map((e) => e.id)).toEqual(expect.arrayContaining(['change:CR2077', 'topology:inventory-service', 'trace:tr1']));
    // changes were asked for the blast radius and its topology neighbours, from 6 h before the onset
    expect(calls.listChanges).toMatchObject({ from: T('06:10'), services: expect.arrayContaining(['checkout-service', 'inventory-service']) });
  });

  it('keeps going when the change history is down, recording the gap', async () => {
    const { deps, incidentId } = await setup({ changes: { listChanges: failing('ServiceNow 503') } });
    await findRootCause(deps)({ incidentId });
    const record = await deps.store.getAgentRecord(incidentId, 'rootcause');
    const output = RootCauseOutput.parse(record?.output);
    expect(record?.evidence.some((e) => e.id === 'gap:changes.listChanges')).toBe(true);
    expect(output.rootCauses.every((h) => h.changeId === undefined)).toBe(true);
  });

  it('reads the longer history of a level climbing from the first point it read, and the changes of that time', async () => {
    const queries: { from: string; to: string; services: readonly string[]; metrics?: readonly string[]; resolutionSeconds?: number }[] = [];
    const changeQueries: { from: string; to: string }[] = [];
    const minutes = (from: string, to: string, step: number) => {
      const out: string[] = [];
      for (let t = Date.parse(from); t <= Date.parse(to); t += step * 60_000) out.push(new Date(t).toISOString());
      return out;
    };
    const { deps, incidentId } = await setup({
      telemetry: {
        queryMetrics: async (q) => {
          queries.push(q);
          if (!q.metrics?.includes('memory_mb') || !q.services.includes('inventory-service')) return [];
          // Memory climbing a megabyte a minute since long before the look-back.
          const step = (q.resolutionSeconds ?? 60) / 60;
          const points = minutes(q.from, q.to, step).map((t) => ({ t, v: 500 + (Date.parse(t) - Date.parse(T('00:00'))) / 60_000 }));
          return [{ service: 'inventory-service', metric: 'memory_mb', unit: 'MiB', points }];
        },
      },
      changes: {
        listChanges: async (q) => {
          changeQueries.push(q);
          return Date.parse(q.to) <= Date.parse(T('06:10')) ? [{ ...changes[0], id: 'CR1999', type: 'deploy', title: 'inventory release', deployedAt: '2026-03-13T20:00:00.000Z', configChange: undefined }] : changes;
        },
      },
    });
    await findRootCause(deps)({ incidentId });
    const history = queries.find((q) => q.resolutionSeconds === 300);
    expect(history).toMatchObject({ from: '2026-03-12T12:10:00.000Z', to: T('12:10'), services: ['inventory-service'], metrics: ['memory_mb'] });
    expect(changeQueries.at(-1)).toMatchObject({ from: '2026-03-12T12:10:00.000Z', to: T('06:10'), services: ['inventory-service'] });
    const record = await deps.store.getAgentRecord(incidentId, 'rootcause');
    expect(record?.evidence.map((e) => e.id)).toEqual(expect.arrayContaining(['history:inventory-service:memory_mb', 'change:CR1999', 'change:CR2077']));
  });

  it("asks for a cache's hit ratio beside the saturation series (a release that stops it hitting floods the store)", async () => {
    const queries: { metrics?: readonly string[] }[] = [];
    const { deps, incidentId } = await setup({ telemetry: { queryMetrics: async (q) => (queries.push(q), []) } });
    await findRootCause(deps)({ incidentId });
    expect(queries[0].metrics).toEqual(expect.arrayContaining(['cache_hit_ratio_pct', 'throughput_rps', 'db_pool_active', 'open_fds']));
  });

  it('asks for the failing services per availability zone, and keeps the zones the telemetry splits them by', async () => {
    const queries: { services: readonly string[]; groupBy?: readonly string[]; metrics?: readonly string[] }[] = [];
    const { deps, incidentId } = await setup({
      telemetry: {
        queryMetrics: async (q) => {
          queries.push(q);
          if (!q.groupBy?.includes('zone')) return [];
          return ['a', 'b'].map((zone) => ({ service: 'inventory-service', metric: 'error_rate_pct', unit: '%', zone: `us-east-1${zone}`, points: [{ t: T('12:00'), v: 0.1 }, { t: T('12:15'), v: zone === 'a' ? 60 : 0.1 }] }));
        },
      },
    });
    await findRootCause(deps)({ incidentId });
    const zoned = queries.find((q) => q.groupBy?.includes('zone'));
    expect(zoned).toMatchObject({ services: ['inventory-service', 'checkout-service'], metrics: ['error_rate_pct', 'latency_p99_ms'] });
    const record = await deps.store.getAgentRecord(incidentId, 'rootcause');
    expect(record?.evidence.map((e) => e.id)).toEqual(expect.arrayContaining(['zone:inventory-service:us-east-1a:error_rate_pct', 'zone:inventory-service:us-east-1b:error_rate_pct']));
  });

  it('reads no history when nothing climbs from the start', async () => {
    const queries: { resolutionSeconds?: number }[] = [];
    const { deps, incidentId } = await setup({ telemetry: { queryMetrics: async (q) => (queries.push(q), []) } });
    await findRootCause(deps)({ incidentId });
    expect(queries.some((q) => q.resolutionSeconds === 300)).toBe(false);
  });

  it("reads the logs of an origin beyond the logs agent's neighbourhood, and only of that one", async () => {
    // checkout-service → a → b → c → ledger-db: the logs agent reads two hops down; the metric ranking places the
    // degradation in c (3 hops) and ledger-db (4 hops, a database, logs too), and a little in a (read already).
    const chain: ServiceNode[] = [
      { name: 'checkout-service', tier: 'frontend', calls: ['a'] },
      { name: 'a', tier: 'backend', calls: ['b'] },
      { name: 'b', tier: 'backend', calls: ['c'] },
      { name: 'c', tier: 'backend', calls: ['ledger-db', 'stripe-api'] },
      { name: 'ledger-db', tier: 'database', calls: [] },
      { name: 'stripe-api', tier: 'external', calls: [] },
    ];
    const searches: { services: readonly string[]; from: string; to: string }[] = [];
    const deps = fakeDeps({
      tools: {
        telemetry: { getTopology: async () => chain },
        logs: {
          search: async (q) => {
            searches.push(q);
            // c logs its own new error in the incident window only.
            return Date.parse(q.to) > Date.parse(T('12:05'))
              ? Array.from({ length: 12 }, (_, i) => ({ timestamp: T(`12:1${i % 10}`), service: 'c', level: 'ERROR' as const, message: `request ${i} failed: NullPointerException at LedgerClient.post` }))
              : [];
          },
        },
      },
    });
    const incidentId = await seedIncident(deps);
    const strongest = { family: 'errors' as const, metric: 'error_rate_pct', baseline: 0.2, level: 30, z: 90, p: 1 };
    await seedAgentRecord(deps, incidentId, 'impact', { ...impact, blastRadius: ['checkout-service', 'c'] }, [
      { id: 'origins:checkout-service', kind: 'metric', source: 'telemetry', summary: 'ranking', data: { alertService: 'checkout-service', familyWeights: { latency: 0.5, errors: 0.5 }, walked: 6, withoutData: 0, alertStrength: 1, ranked: 4 } },
      { id: 'origins:checkout-service#1', kind: 'metric', source: 'telemetry', summary: 'c', data: { service: 'c', score: 0.7, depth: 3, strongest, explainedBy: [] } },
      { id: 'origins:checkout-service#2', kind: 'metric', source: 'telemetry', summary: 'db', data: { service: 'ledger-db', score: 0.2, depth: 4, explainedBy: [] } },
      { id: 'origins:checkout-service#3', kind: 'metric', source: 'telemetry', summary: 'stripe', data: { service: 'stripe-api', score: 0.06, depth: 4, explainedBy: [] } },
      { id: 'origins:checkout-service#4', kind: 'metric', source: 'telemetry', summary: 'a', data: { service: 'a', score: 0.04, depth: 1, explainedBy: [] } },
      { id: 'metric:c:error_rate_pct', kind: 'metric', source: 'telemetry', summary: 'c errors up' },
    ]);
    await findRootCause(deps)({ incidentId });
    // The third-party endpoint has no logs of ours; a and b were read by the logs agent.
    expect(searches.map((q) => q.services)).toEqual([['c', 'ledger-db'], ['c', 'ledger-db']]);
    const record = await deps.store.getAgentRecord(incidentId, 'rootcause');
    const read = record?.evidence.filter((e) => e.id.startsWith('log-template:c:'));
    expect(read).toHaveLength(1);
    expect(read?.[0]).toMatchObject({ data: { status: 'new', template: expect.stringContaining('NullPointerException') } });
  });

  it('fails with EarlierAgentMissing when the impact agent has not run', async () => {
    const deps = fakeDeps();
    const incidentId = await seedIncident(deps);
    await expect(findRootCause(deps)({ incidentId })).rejects.toBeInstanceOf(EarlierAgentMissing);
  });

  it('feeds plan, execution, verification and the report with citations that all resolve', async () => {
    // Prepare: after the revert, latency is back at baseline
    const { deps, incidentId } = await setup({
      telemetry: {
        getTopology: async () => topology,
        getTraces: async () => [trace],
        // the three minutes up to the end of the query (after the revert: verification asks up to the minutes it waited)
        queryMetrics: async ({ metrics, to }) =>
          (metrics ?? []).includes('latency_p99_ms')
            ? ['inventory-service', 'checkout-service'].map((service) => ({ service, metric: 'latency_p99_ms', unit: 'ms', points: [2, 1, 0].map((k) => ({ t: new Date(Date.parse(to) - k * 60_000).toISOString(), v: 130 })) }))
            : [],
      },
    });
    // Act
    await findRootCause(deps)({ incidentId });
    const plan = await planMitigation(deps)({ incidentId });
    await deps.store.requestApproval(incidentId, 'task-token', { status: 'PENDING' });
    await deps.store.decideApproval(incidentId, 'approve', 'alice');
    await executeMitigation(deps)({ incidentId });
    const verified = await verifyRecovery(deps)({ incidentId, attempt: 2, maxChecks: 3, waitSeconds: 60 }); // the third check, 3 minutes after the revert
    const report = await writeReport(deps)({ incidentId });
    // Assess
    expect(plan).toMatchObject({ hasActions: true, autoApprove: false, risk: 'medium' }); // the rollback plan restarts instances
    expect(verified.recovered).toBe(true);
    expect(report).toMatchObject({ detailType: 'Incident Resolved', detail: { outcome: 'resolved', rootCause: { changeId: 'CR2077' } } });
  });
});

// Every simulated scenario, investigated through the tool ports by the real investigation agents: the root cause
// and the first planned action must be the scenario's expected ones, the red herrings must not win, and a false
// alarm must end with no confident root cause.
describe('findRootCause on the simulated scenarios', () => {
  it.each(listScenarios().map((s) => s.name))('%s: blames the expected cause and plans the expected action', async (name) => {
    // Prepare
    const scenario = findScenario(name);
    const { deps, incidentId } = await seedScenarioWorld(scenario, `w-${name}`);
    await investigate(deps, incidentId);
    // Act
    await findRootCause(deps)({ incidentId });
    await planMitigation(deps)({ incidentId });
    // Assess
    const rc = RootCauseOutput.parse((await deps.store.getAgentRecord(incidentId, 'rootcause'))?.output);
    const plan = PlanOutput.parse((await deps.store.getAgentRecord(incidentId, 'plan'))?.output);
    const expected = scenario.expect.rootCause;
    if (expected === null) {
      // a false alarm: no confident root cause, no action
      expect(rc.abstained).toBe(true);
      expect(plan.immediate).toEqual([]);
      return;
    }
    expect(rc.abstained).toBe(false);
    expect(rc.rootCauses[0]).toMatchObject({ service: expected.service, category: expected.category });
    expect(rc.rootCauses[0].changeId).toBe(expected.changeId);
    expect(plan.immediate[0]).toMatchObject(scenario.expect.mitigation);
  });
});
