/**
 * Root cause agent: reads what the investigation found (impact anomalies, log templates, similar incidents),
 * gathers what a root cause needs besides (the changes in the window for the blast radius and its topology
 * neighbours, error traces, saturation / traffic / memory series), then tests hypotheses in code
 * (analysis/hypotheses.ts) and writes a RootCauseOutput (AGENT#rootcause). Where the impact agent traced the alert's
 * degradation along the call graph (its `origins:<service>` evidence, analysis/propagation.ts), that ranking is a
 * hypothesis source too: what a diagnosis rests on when metrics are all there is. Where a level that accumulates
 * (memory, open descriptors, disk) is already climbing from the first point read, its start lies further back: the
 * agent then reads that level's coarse history and the service's older changes (analysis/hypotheses/history.ts).
 */
import type { AgentDeps } from '../deps.ts';
import { type AgentSummary, type AgentTask, type Evidence, ImpactOutput, LogAnalysisOutput, RootCauseOutput, SimilarOutput } from '../model.ts';
import { analyseRootCause, failingLeaves } from '../analysis/hypotheses.ts';
import { withCulprits } from '../analysis/hypotheses/culprit.ts';
import { historyId, zoneSeriesId } from '../analysis/hypotheses/evidence.ts';
import { readOriginEvidence } from '../analysis/origin-evidence.ts';
import { RESOURCE_METRICS } from '../analysis/hypotheses/resource-evidence.ts';
import { MIN_ORIGIN_SHARE } from '../analysis/origin-hypotheses.ts';
import { logWindows, mineTemplates, recordTemplates } from './logs.ts';
import { topologyNeighbourhood } from './impact.ts';
import { HISTORY_LOOKBACK_HOURS, HISTORY_RESOLUTION_SECONDS, MAX_HISTORIES, climbingFromTheStart } from '../analysis/hypotheses/history.ts';
import { toReadings, traceRecord } from '../recorded/readings.ts';
import { METRICS, type ChangeRequest, type MetricSeries, type ServiceNode, type Trace } from '../tools/ports.ts';
import { runAgent, summarise } from './runtime.ts';

/** An agent ran before its inputs were written: the workflow is out of order. */
export class EarlierAgentMissing extends Error {
  override name = 'EarlierAgentMissing';
  constructor(agent: string, incidentId: string) {
    super(`the ${agent} agent has not run for incident ${incidentId}`);
  }
}

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** How far before the onset changes are considered (a bad change can smoulder, but not for days). */
export const CHANGE_LOOKBACK_HOURS = 6;
/** How much metric history before the onset the traffic/leak checks need. */
export const SERIES_LOOKBACK_HOURS = 3;
/** ...and at most this much (the change lookback plus the hour before the earliest change). */
export const MAX_SERIES_LOOKBACK_HOURS = CHANGE_LOOKBACK_HOURS + 1;
const TRACE_LIMIT = 50;
/** How far before the onset the per-zone series are read (the zonal family compares the hour before with after). */
const ZONE_LOOKBACK_MINUTES = 90;
/** At most this many services outside the logs agent's neighbourhood have their logs read, lines and templates kept. */
const MAX_DEEP_LOG_SERVICES = 3;
const DEEP_LOG_LINE_LIMIT = 2_000;
const MAX_DEEP_TEMPLATES = 10;
/**
 * Bytes of series readings a root-cause record keeps (`data.readings`, recorded/readings.ts), so `autopilot export`
 * can write the longer look-back this agent read (hours of a slow burn, the changed services) beside the impact
 * agent's window. About 10 bytes a point: 120 KB is some 80 series of three hours at one-minute points. The series
 * the analysis leans on most (the changed services', then the anomalous ones') come first; beyond the budget a
 * series keeps its summary only, and the export says it lacks its points.
 */
export const ROOTCAUSE_READINGS_BUDGET = 120_000;

const iso = (ms: number) => new Date(ms).toISOString();
const describeChange = (c: ChangeRequest): string =>
  c.configChange ? `${c.configChange.param}: ${c.configChange.old} → ${c.configChange.new}` : c.version ? `${c.version.from} → ${c.version.to}` : c.type;

/** The services the topology shows calling one of `services` (not themselves among them). */
const callersOf = (topology: readonly ServiceNode[], services: readonly string[]): string[] => {
  const wanted = new Set(services);
  return topology.filter((n) => !wanted.has(n.name) && n.calls.some((c) => wanted.has(c))).map((n) => n.name);
};

export const findRootCause =
  (deps: AgentDeps) =>
  async ({ incidentId }: AgentTask): Promise<AgentSummary> => {
    const { output } = await runAgent(deps, 'rootcause', incidentId, async ({ incident, scope, evidence, earlier }) => {
      const impact = earlier.output('impact', ImpactOutput);
      if (!impact) throw new EarlierAgentMissing('impact', incidentId);
      const logs = earlier.output('logs', LogAnalysisOutput);
      const similar = earlier.output('similar', SimilarOutput);
      const known = new Set([impact, logs, similar].flatMap((r) => (r ? r.evidence.map((e: Evidence) => e.id) : [])));

      const now = deps.clock().getTime();
      const onset = impact.output.onset ?? incident.startedAt;
      const onsetMs = Number.isNaN(Date.parse(onset)) ? now : Date.parse(onset);
      const anomalous = [...new Set(impact.output.anomalies.map((a) => a.service))];
      const blast = [...new Set([incident.service, ...impact.output.blastRadius, ...anomalous])];

      const topology: ServiceNode[] = (await evidence.call('telemetry.getTopology', () => deps.tools.telemetry.getTopology({ ...scope, services: blast }))) ?? [];
      for (const node of topology) {
        evidence.add({ id: `topology:${node.name}`, kind: 'topology', source: 'telemetry', summary: `${node.name} (${node.tier}) calls ${node.calls.join(', ') || 'nothing'}`, data: node });
      }
      // Neighbours: a change to something the blast radius calls (or that calls it) is a suspect too.
      const neighbours = new Set(blast);
      for (const node of topology) {
        if (blast.includes(node.name)) node.calls.forEach((c) => neighbours.add(c));
        if (node.calls.some((c) => blast.includes(c))) neighbours.add(node.name);
      }

      const changes: ChangeRequest[] =
        (await evidence.call('changes.listChanges', () =>
          deps.tools.changes.listChanges({ ...scope, from: iso(onsetMs - CHANGE_LOOKBACK_HOURS * HOUR_MS), to: iso(now), services: [...neighbours] }),
        )) ?? [];
      const addChange = (c: ChangeRequest) =>
        evidence.add({ id: `change:${c.id}`, kind: 'change', source: 'changes', summary: `${c.id} ${c.title} (${c.service}, ${describeChange(c)}) ${c.state} at ${c.deployedAt}`, data: c });
      changes.forEach(addChange);

      const traces: Trace[] =
        anomalous.length === 0
          ? []
          : ((await evidence.call('telemetry.getTraces', () =>
              deps.tools.telemetry.getTraces({ ...scope, from: iso(onsetMs - 15 * MINUTE_MS), to: iso(now), services: anomalous, errorsOnly: true, limit: TRACE_LIMIT }),
            )) ?? []);
      for (const t of traces) {
        const leaves = failingLeaves(t);
        evidence.add({
          id: `trace:${t.traceId}`,
          kind: 'trace',
          source: 'telemetry',
          summary: `trace from ${t.rootService} ${t.status} in ${t.totalMs} ms${leaves.length ? `, failing in ${leaves.join(', ')}` : ''}`,
          data: traceRecord(t, leaves),
        });
      }

      const series: MetricSeries[] =
        anomalous.length === 0
          ? []
          : ((await evidence.call('telemetry.queryMetrics', () =>
              deps.tools.telemetry.queryMetrics({
                ...scope,
                // Back far enough to see the earliest change's service before it was deployed (a slow burn).
                from: iso(Math.max(onsetMs - MAX_SERIES_LOOKBACK_HOURS * HOUR_MS, Math.min(onsetMs - SERIES_LOOKBACK_HOURS * HOUR_MS, ...changes.map((c) => Date.parse(c.deployedAt) - HOUR_MS).filter((t) => !Number.isNaN(t))))),
                to: iso(now),
                // the changed services too: a change that floods a dependency shows in both throughputs; and the other
                // callers of the anomalous services: a batch job that loads a shared database, a queue's producers
                services: [...new Set([...anomalous, ...changes.map((c) => c.service), ...callersOf(topology, anomalous)])],
                // Resources that run out with no change (disk, descriptors, quotas, certificates, queues): a service
                // that does not publish one returns no series for it. The error rate says when a service began to
                // fail as one ran out (a detected onset can lag).
                // A cache's hit ratio: a release that stops it hitting floods the store behind it, in a fall too small for
                // the detector (97 % → 87 % is four times the misses); change.ts reads it for the change's mechanism.
                metrics: [METRICS.throughput, METRICS.cpu, METRICS.memory, METRICS.dbPoolActive, METRICS.dbPoolMax, METRICS.latencyP99, METRICS.errorRate, METRICS.cacheHitRatio, ...Object.values(RESOURCE_METRICS)],
              }),
            )) ?? []);
      // Per availability zone, where the telemetry splits the failing services' metrics so: one zone failing while
      // the others serve is an AZ impairment, not the service's own fault (analysis/hypotheses/zonal.ts).
      const zoneSeries: MetricSeries[] =
        anomalous.length === 0
          ? []
          : ((await evidence.call('telemetry.queryMetrics', () =>
              deps.tools.telemetry.queryMetrics({ ...scope, from: iso(onsetMs - ZONE_LOOKBACK_MINUTES * MINUTE_MS), to: iso(now), services: anomalous, metrics: [METRICS.errorRate, METRICS.latencyP99], groupBy: ['zone'] }),
            )) ?? []).filter((s) => s.zone !== undefined && s.points.length > 0);
      for (const z of zoneSeries) {
        const last = z.points[z.points.length - 1];
        evidence.add({
          id: zoneSeriesId(z),
          kind: 'metric',
          source: 'telemetry',
          summary: `${z.service} ${z.metric} in ${z.zone}: ${z.points.length} points, last ${last.v} ${z.unit} at ${last.t}`,
          data: { unit: z.unit, zone: z.zone, readings: toReadings(z.points) },
        });
      }

      // A level already climbing where its series begins (a leak deployed yesterday): its start, and the change
      // there, lie further back. Read that level's coarse history and the service's changes over the same span.
      const climbing = climbingFromTheStart(series, onsetMs).slice(0, MAX_HISTORIES);
      const history: MetricSeries[] = [];
      if (climbing.length > 0) {
        const from = iso(onsetMs - HISTORY_LOOKBACK_HOURS * HOUR_MS);
        const services = [...new Set(climbing.map((s) => s.service))];
        const metrics = [...new Set(climbing.map((s) => s.metric))] as MetricSeries['metric'][];
        const read =
          (await evidence.call('telemetry.queryMetrics', () => deps.tools.telemetry.queryMetrics({ ...scope, from, to: iso(onsetMs), services, metrics, resolutionSeconds: HISTORY_RESOLUTION_SECONDS }))) ?? [];
        for (const h of read.filter((h) => h.points.length > 0 && climbing.some((c) => c.service === h.service && c.metric === h.metric))) {
          history.push(h);
          const first = h.points[0];
          const last = h.points[h.points.length - 1];
          evidence.add({
            id: historyId(h),
            kind: 'metric',
            source: 'telemetry',
            summary: `${h.service} ${h.metric} over ${HISTORY_LOOKBACK_HOURS} h (${h.points.length} points): ${first.v} ${h.unit} at ${first.t}, ${last.v} at ${last.t}`,
            data: { unit: h.unit, resolutionSeconds: HISTORY_RESOLUTION_SECONDS, readings: toReadings(h.points) },
          });
        }
        const earlier =
          (await evidence.call('changes.listChanges', () => deps.tools.changes.listChanges({ ...scope, from, to: iso(onsetMs - CHANGE_LOOKBACK_HOURS * HOUR_MS), services }))) ?? [];
        for (const c of earlier.filter((c) => !changes.some((k) => k.id === c.id))) {
          changes.push(c);
          addChange(c);
        }
      }

      const changed = new Set(changes.map((c) => c.service));
      let readingBytes = 0;
      for (const s of [...series].sort((a, b) => Number(changed.has(b.service)) - Number(changed.has(a.service)))) {
        if (s.points.length === 0) continue;
        const last = s.points[s.points.length - 1];
        const readings = toReadings(s.points);
        const bytes = readings ? readings.t.length + readings.v.length + 40 : 0;
        const keep = readings !== undefined && readingBytes + bytes <= ROOTCAUSE_READINGS_BUDGET;
        if (keep) readingBytes += bytes;
        evidence.add({
          id: `metric:${s.service}:${s.metric}`,
          kind: 'metric',
          source: 'telemetry',
          summary: `${s.service} ${s.metric}: ${s.points.length} points, last ${last.v} ${s.unit} at ${last.t}`,
          data: { unit: s.unit, ...(keep ? { readings } : {}) },
        });
      }

      // The logs agent reads the alert's neighbourhood (down two hops): a fault that starts deeper leaves its own
      // errors unread there, and the callers' "call to X failed" lines are all that shows. Where the metric ranking
      // places the degradation in services outside that neighbourhood, read their WARN+ lines in the same windows.
      const origins = readOriginEvidence(impact.evidence, incident.service);
      const covered = new Set(topologyNeighbourhood(topology, incident.service).services);
      const tiers = new Map(topology.map((n) => [n.name, n.tier]));
      const deep = (origins?.ranked ?? [])
        .filter((r) => r.score >= MIN_ORIGIN_SHARE && !covered.has(r.service) && tiers.get(r.service) !== 'external')
        .map((r) => r.service)
        .slice(0, MAX_DEEP_LOG_SERVICES);
      const deepTemplates: LogAnalysisOutput['templates'] = [];
      if (deep.length > 0 && topology.length > 0) {
        const w = logWindows(incident.startedAt, deps.clock());
        const query = { ...scope, services: deep, minLevel: 'WARN' as const, limit: DEEP_LOG_LINE_LIMIT };
        const during = await evidence.call('logs.search', () => deps.tools.logs.search({ ...query, from: iso(w.incidentFrom), to: iso(w.to) }));
        const before = during === undefined ? undefined : await evidence.call('logs.search', () => deps.tools.logs.search({ ...query, from: iso(w.baselineFrom), to: iso(w.incidentFrom) }));
        const { rows } = mineTemplates(during, before, Math.max(MINUTE_MS, w.to - w.incidentFrom), w.incidentFrom - w.baselineFrom, MAX_DEEP_TEMPLATES);
        deepTemplates.push(...recordTemplates(evidence, rows, before !== undefined, "read for the root cause: outside the logs agent's neighbourhood"));
      }

      const offline = analyseRootCause({
        incident: { service: incident.service, startedAt: incident.startedAt },
        anomalies: impact.output.anomalies,
        onset: impact.output.onset,
        templates: [...(logs?.output.templates ?? []), ...deepTemplates],
        changes,
        topology,
        traces,
        series,
        ...(history.length > 0 ? { history } : {}),
        ...(zoneSeries.length > 0 ? { zoneSeries } : {}),
        similar: similar?.output,
        gaps: evidence.items.filter((e) => e.kind === 'gap').map((e) => e.id),
        // Where the impact agent traced the alert's degradation to, along the call graph.
        origins,
        now: iso(now),
      });
      return {
        schema: RootCauseOutput,
        instructions:
          'Find the root cause. Each hypothesis (a change in the window, or an anomalous service as the origin: traffic surge, leak, failing dependency) lists predictions checked against the evidence. Blame the origin, not a downstream symptom; a change deployed after the onset cannot be the cause. Keep the top 3 with confidence in [0,1]; abstain (abstained: true, missingEvidence) when nothing is supported. rollbackCandidate is the change id of the top hypothesis if it is a change.',
        offline,
        knownEvidenceIds: known,
        // A model's answer may leave out a hypothesis's culprit and mechanism: filled as the offline analysis has them.
        finish: (output: RootCauseOutput) => withCulprits(output, offline),
      };
    }, ['impact', 'logs', 'similar']);
    const top = output.rootCauses[0];
    const summary = output.abstained
      ? `Root cause undetermined (abstained); missing: ${output.missingEvidence.join('; ') || 'supporting evidence'}`
      : `${top.summary} — confidence ${top.confidence}${output.rollbackCandidate ? `; rollback candidate ${output.rollbackCandidate}` : ''}`;
    return summarise(incidentId, 'rootcause', summary);
  };
