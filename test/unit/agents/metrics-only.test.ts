import { describe, expect, it } from 'vitest';
import { analyzeImpact } from '../../../functions/core/agents/impact.ts';
import { findRootCause } from '../../../functions/core/agents/rootcause.ts';
import { ImpactOutput, RootCauseOutput } from '../../../functions/core/model.ts';
import { readOriginEvidence } from '../../../functions/core/analysis/origin-evidence.ts';
import type { MetricSeries, ServiceNode } from '../../../functions/core/tools/ports.ts';
import { citedEvidenceIds } from '../../../functions/core/model.ts';
import { fakeDeps, fakeQueryMetrics, seedIncident } from './fakes.ts';

// An X-Ray-shaped recorded incident: five-minute points with gaps, a day of healthy history recorded a week before,
// no logs, traces or changes, and the cause four hops below the alerting service.
const STEP = 300_000;
const START = '2026-03-14T12:18:00.000Z';
const WINDOW = [0, 1, 2, 3, 4].map((i) => Date.parse('2026-03-14T12:08:00.000Z') + i * STEP);
const HISTORY = Array.from({ length: 288 }, (_, i) => Date.parse('2026-03-06T12:00:00.000Z') + i * STEP);

const TOPOLOGY: ServiceNode[] = [
  { name: 'PetSite', tier: 'frontend', calls: ['payments_AWS::ECS::Container', 'search_AWS::ECS::Fargate', 'status_remote'] },
  { name: 'payments_AWS::ECS::Container', tier: 'backend', calls: ['updater/prod_AWS::ApiGateway::Stage', 'db_Database::SQL'] },
  { name: 'updater/prod_AWS::ApiGateway::Stage', tier: 'backend', calls: ['updater_AWS::Lambda'] },
  { name: 'updater_AWS::Lambda', tier: 'backend', calls: ['updater_AWS::Lambda::Function'] },
  { name: 'updater_AWS::Lambda::Function', tier: 'backend', calls: ['pets_AWS::DynamoDB::Table'] },
  { name: 'pets_AWS::DynamoDB::Table', tier: 'database', calls: [] },
  { name: 'db_Database::SQL', tier: 'database', calls: [] },
  { name: 'search_AWS::ECS::Fargate', tier: 'backend', calls: ['pets_AWS::DynamoDB::Table'] },
  { name: 'status_remote', tier: 'external', calls: [] },
];
/** Usual average latency (ms) and requests per second. */
const USUAL: Record<string, [number, number]> = {
  PetSite: [95, 1.6],
  'payments_AWS::ECS::Container': [210, 0.35],
  'updater/prod_AWS::ApiGateway::Stage': [60, 0.32],
  'updater_AWS::Lambda': [50, 0.32],
  'updater_AWS::Lambda::Function': [70, 0.32],
  'pets_AWS::DynamoDB::Table': [13, 2.9],
  'db_Database::SQL': [4, 0.45],
  'search_AWS::ECS::Fargate': [6, 2.6],
  status_remote: [14, 0.2],
};
/** The function's own code slows by 1.5 s from the third point on; every caller on the path carries it. */
const SLOWER: Record<string, number> = { 'updater_AWS::Lambda::Function': 1500, 'updater_AWS::Lambda': 1500, 'updater/prod_AWS::ApiGateway::Stage': 1500, 'payments_AWS::ECS::Container': 1400, PetSite: 300 };

const recorded = (): MetricSeries[] => {
  let seed = 42;
  const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  const out: MetricSeries[] = [];
  for (const [service, [latency, rps]] of Object.entries(USUAL)) {
    const at = (t: number) => new Date(t).toISOString();
    const gap = () => random() < 0.15;
    const avg = [...HISTORY, ...WINDOW].flatMap((t, i) => (gap() ? [] : [{ t: at(t), v: latency * (0.95 + 0.1 * random()) + (i >= 288 + 2 ? (SLOWER[service] ?? 0) : 0) }]));
    const p99 = avg.map((p) => ({ t: p.t, v: p.v * 3 }));
    const errors = [...HISTORY, ...WINDOW].flatMap((t) => (gap() ? [] : [{ t: at(t), v: 0 }]));
    const traffic = [...HISTORY, ...WINDOW].map((t) => ({ t: at(t), v: rps * (0.97 + 0.06 * random()) }));
    out.push({ service, metric: 'latency_avg_ms', unit: 'ms', points: avg }, { service, metric: 'latency_p99_ms', unit: 'ms', points: p99 });
    out.push({ service, metric: 'error_rate_pct', unit: '%', points: errors }, { service, metric: 'throughput_rps', unit: 'req/s', points: traffic });
  }
  return out;
};

/** Telemetry that serves what was recorded inside the asked window, and nothing else. */
const recordedTelemetry = (series: MetricSeries[], calls: { from: string; to: string; resolutionSeconds?: number }[]) => ({
  getTopology: async () => TOPOLOGY,
  getTraces: async () => [],
  queryMetrics: async (q: { services: readonly string[]; from: string; to: string; resolutionSeconds?: number }) => {
    calls.push({ from: q.from, to: q.to, resolutionSeconds: q.resolutionSeconds });
    const [from, to] = [Date.parse(q.from), Date.parse(q.to)];
    return series.filter((s) => q.services.includes(s.service)).map((s) => ({ ...s, points: s.points.filter((p) => Date.parse(p.t) >= from && Date.parse(p.t) <= to) }));
  },
});

describe('unit: diagnosis from metrics alone (X-Ray-shaped, coarse, gap-ridden, distant baseline)', () => {
  it('reads history as far back as it exists, then ranks the cause four hops below the alert first', async () => {
    // Prepare
    const calls: { from: string; to: string; resolutionSeconds?: number }[] = [];
    const deps = fakeDeps({ tools: { telemetry: recordedTelemetry(recorded(), calls) } });
    const id = await seedIncident(deps, { service: 'PetSite', title: 'PetSite latency high', startedAt: START, severity: 'SEV3' });

    // Act
    await analyzeImpact(deps)({ incidentId: id });
    const impactCalls = [...calls];
    await findRootCause(deps)({ incidentId: id });

    // Assess: the window, then a day before it (empty), then up to 30 days back, at the series' own resolution
    expect(impactCalls).toHaveLength(3);
    expect(impactCalls[1].resolutionSeconds).toBe(300);
    expect(Date.parse(impactCalls[2].from)).toBeLessThan(Date.parse('2026-03-06T00:00:00Z'));
    const impact = (await deps.store.getAgentRecord(id, 'impact'))!;
    const output = ImpactOutput.parse(impact.output);
    expect(output.anomalies.map((a) => a.service)).toContain('updater_AWS::Lambda::Function');
    expect(readOriginEvidence(impact.evidence, 'PetSite')?.ranked[0].service).toBe('updater_AWS::Lambda::Function');
    // and the root cause agent, with no logs, traces or changes, names it
    const rootcause = RootCauseOutput.parse((await deps.store.getAgentRecord(id, 'rootcause'))!.output);
    expect(rootcause.abstained).toBe(false);
    expect(rootcause.rootCauses[0]).toMatchObject({ service: 'updater_AWS::Lambda::Function' });
    expect(rootcause.rootCauses[0].confidence).toBeGreaterThan(0.7);
    expect(rootcause.rootCauses[0].evidenceIds).toContain('origins:PetSite');
  });

  it('abstains when nothing is degraded anywhere along the call graph', async () => {
    const quiet = recorded().map((s) => ({ ...s, points: s.points.map((p, i) => (Date.parse(p.t) >= WINDOW[2] ? { t: p.t, v: s.points[i - 5 >= 0 ? i - 5 : i].v } : p)) }));
    const deps = fakeDeps({ tools: { telemetry: recordedTelemetry(quiet, []) } });
    const id = await seedIncident(deps, { service: 'PetSite', title: 'PetSite latency high', startedAt: START, severity: 'SEV3' });

    await analyzeImpact(deps)({ incidentId: id });
    await findRootCause(deps)({ incidentId: id });

    const rootcause = RootCauseOutput.parse((await deps.store.getAgentRecord(id, 'rootcause'))!.output);
    expect(rootcause.abstained).toBe(true);
  });

  it('keeps a 200-service map within the record its store holds, every cited series kept, the rest counted', async () => {
    // A binary tree of 200 services, seven series each at one-minute points; one service deep down slows.
    const nodes: ServiceNode[] = Array.from({ length: 200 }, (_, i) => ({ name: `svc-${i}`, tier: 'backend', calls: [2 * i + 1, 2 * i + 2].filter((j) => j < 200).map((j) => `svc-${j}`) }));
    const metrics = ['latency_avg_ms', 'latency_p50_ms', 'latency_p90_ms', 'latency_p95_ms', 'latency_p99_ms', 'error_rate_pct', 'throughput_rps'];
    const slow = new Set(['svc-0', 'svc-1', 'svc-3', 'svc-7', 'svc-15']);
    const specs = nodes.flatMap((n) => metrics.map((metric) => ({ service: n.name, metric, base: metric === 'error_rate_pct' ? 0.5 : 100, ...(slow.has(n.name) && metric.startsWith('latency') ? { changes: [{ at: '2026-03-14T12:10:00Z', level: 600 }] } : {}) })));
    const deps = fakeDeps({ tools: { telemetry: { getTopology: async () => nodes, queryMetrics: fakeQueryMetrics(specs), getTraces: async () => [] } } });
    const id = await seedIncident(deps, { service: 'svc-0', title: 'svc-0 latency high', startedAt: '2026-03-14T12:12:00Z', severity: 'SEV3' });

    await analyzeImpact(deps)({ incidentId: id });

    const record = (await deps.store.getAgentRecord(id, 'impact'))!;
    expect(Buffer.byteLength(JSON.stringify(record))).toBeLessThan(350_000);
    const ids = new Set(record.evidence.map((e) => e.id));
    for (const cited of citedEvidenceIds(record.output)) expect(ids).toContain(cited);
    expect(ids).toContain('metric:svc-15:latency_avg_ms');
    expect(record.evidence.find((e) => e.id === 'metric:omitted')?.summary).toMatch(/^\d+ more series of \d+ services/);
    expect(readOriginEvidence(record.evidence, 'svc-0')?.ranked[0].service).toBe('svc-15');
  });
});
