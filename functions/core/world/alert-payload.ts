/**
 * The webhook body a monitoring tool would send for the scenario's alert, shaped like the vendor's: a
 * Dynatrace problem notification (custom integration payload) or an Alertmanager webhook (version 4). The
 * world id travels as the `environment` tag/label, so the incident's tools query this world.
 */
import { hash53, hex } from './random.ts';
import type { WorldState } from './world.ts';

export interface ScenarioAlert {
  readonly source: 'dynatrace' | 'alertmanager';
  readonly payload: Record<string, unknown>;
}

const ALERTMANAGER_SEVERITY = { SEV1: 'critical', SEV2: 'high', SEV3: 'warning', SEV4: 'info' } as const;

const dynatrace = (world: WorldState): Record<string, unknown> => {
  const { alert, services } = world.scenario;
  const service = services.find((s) => s.name === alert.service);
  const startTime = Date.parse(world.createdAt) + alert.startedAt * 60_000;
  // Dynatrace PIDs are "<signed 64-bit>_<start ms>V2"; derive one per world so two worlds never collide.
  const pid = `${hash53(`${world.id}|pid`) % 8_000_000_000_000_000 + 1_000_000_000_000_000}_${startTime}V2`;
  const displayId = `P-${String(hash53(`${world.id}|display`) % 9_000_000 + 1_000_000)}`;
  const entity = `SERVICE-${hex(16, world.id, alert.service, 'entity').toUpperCase()}`;
  const tags = [`environment:${world.id}`, `service:${alert.service}`, ...(service ? [`team:${service.team}`, `tier:${service.tier}`] : []), `severity:${alert.severity}`];
  const url = `https://${world.id}.apps.dynatrace.invalid/#problems/problemdetails;pid=${pid}`;
  const affected = [{ entityId: { id: entity, type: 'SERVICE' }, name: alert.service }];
  return {
    PID: pid,
    ProblemID: displayId,
    ProblemTitle: alert.title,
    State: 'OPEN',
    ProblemSeverity: alert.problemSeverity,
    ProblemImpact: alert.impact,
    ProblemURL: url,
    Tags: tags.join(', '),
    ImpactedEntity: `${alert.service}`,
    ImpactedEntities: [{ type: 'SERVICE', name: alert.service, entity }],
    ProblemDetailsText: alert.description ?? alert.title,
    ProblemDetailsJSONv2: {
      problemId: pid,
      displayId,
      title: alert.title,
      status: 'OPEN',
      severityLevel: alert.problemSeverity,
      impactLevel: alert.impact,
      startTime,
      endTime: -1,
      affectedEntities: affected,
      impactedEntities: affected,
      rootCauseEntity: null,
      managementZones: [{ id: String(hash53(`${world.id}|mz`) % 1e12), name: world.id }],
      entityTags: tags.map((t) => {
        const [key, ...rest] = t.split(':');
        return { context: 'CONTEXTLESS', key, value: rest.join(':'), stringRepresentation: t };
      }),
      problemFilters: [],
      evidenceDetails: { totalCount: 0, details: [] },
    },
  };
};

const alertmanager = (world: WorldState): Record<string, unknown> => {
  const { alert } = world.scenario;
  const startsAt = new Date(Date.parse(world.createdAt) + alert.startedAt * 60_000).toISOString();
  const alertname = alert.title.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : '')).replace(/^./, (c) => c.toUpperCase());
  const labels = { alertname, service: alert.service, environment: world.id, severity: ALERTMANAGER_SEVERITY[alert.severity] };
  const annotations = { summary: alert.title, description: alert.description ?? alert.title };
  return {
    version: '4',
    groupKey: `{}/{environment="${world.id}"}:{alertname="${alertname}", service="${alert.service}"}`,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'incident-autopilot',
    groupLabels: { alertname, service: alert.service },
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: `http://alertmanager.${world.id}.invalid:9093`,
    alerts: [
      {
        status: 'firing',
        labels,
        annotations,
        startsAt,
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: `http://prometheus.${world.id}.invalid:9090/graph?g0.expr=${encodeURIComponent(`service="${alert.service}"`)}`,
        fingerprint: hex(16, world.id, 'fingerprint', alert.service, alertname),
      },
    ],
  };
};

const BUILDERS = { dynatrace, alertmanager } as const;

/** The vendor-shaped webhook body of the scenario's alert in this world. */
export const scenarioAlert = (world: WorldState, source: ScenarioAlert['source'] = 'dynatrace'): ScenarioAlert => ({ source, payload: BUILDERS[source](world) });
