/**
 * POST /alerts/{source}: authenticate → known source? → limit and parse the body → normalise (zod, per vendor) → deduplicate
 * and record (store.openOrFold) → start the workflow (execution name = incident id) → 202.
 *
 * Nothing is written and nothing started on any 4xx. Every step after validation is idempotent, so a vendor
 * retry after a 5xx completes a half-done delivery:
 *   - the execution input is built only from the stored META, so StartExecution with the same name is
 *     idempotent (ExecutionAlreadyExists → already started);
 *   - `setExecutionArn` is the last step: an incident without an execution ARN gets its workflow started by
 *     whichever delivery sees it next, and `Incident Opened` is published just before that commit. So the event
 *     is published once in normal operation and at least once across retries (consumers key on incidentId).
 * A RESOLVED alert folds into its incident (recorded, plus a timeline event) and never starts a workflow;
 * a RESOLVED alert whose dedup key matches no incident is answered 202 `{ignored: true}`.
 * One alert → one result object; a payload with several (an Alertmanager group) → `{results: [...]}`.
 */
import { randomBytes } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { AlertPayloadInvalid, type NormalizedItem, UnknownAlertSource, isAlertSource, normalizeAlerts } from '../core/alerts/index.ts';
import type { Config } from '../core/config.ts';
import type { EventPublisher } from '../core/deps.ts';
import type { Observability } from '../core/handler.ts';
import { type ApiEvent, type ApiResult, BadRequest, NotFound, json, parseJson, pathParam, readBody, requireSecret, withErrors } from '../core/http.ts';
import type { AlertSource } from '../core/model.ts';
import type { SecretProvider } from '../core/secrets.ts';
import type { IncidentMeta, IncidentStore } from '../core/store/store.ts';
import { type WorkflowClient, executionInputFor } from '../core/workflow-client.ts';

/** The store plus a read of the dedup pointer (DynamoIncidentStore and MemoryIncidentStore have it). */
export interface IngestStore extends IncidentStore {
  findByDedupKey(source: AlertSource, dedupKey: string): Promise<IncidentMeta | undefined>;
}

export interface IngestDeps {
  readonly store: IngestStore;
  readonly workflow: Pick<WorkflowClient, 'start'>;
  readonly events: EventPublisher;
  readonly secret: SecretProvider;
  readonly config: Pick<Config, 'MAX_BODY_BYTES' | 'VERIFY_WAIT_SECONDS' | 'MAX_VERIFY_CHECKS'>;
  readonly clock: () => Date;
  readonly newIncidentId?: (now: Date) => string;
}

export type IngestOutcome =
  | { readonly incidentId: string; readonly executionArn?: string; readonly deduplicated: boolean; readonly state: 'OPEN' | 'RESOLVED' }
  | { readonly ignored: true; readonly reason: string; readonly dedupKey?: string };

/** `inc-20240501-9f2c4e1a7b`: the day, for humans, and 40 random bits; valid as a Step Functions execution name. */
export const newIncidentId = (now: Date): string => `inc-${now.toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(5).toString('hex')}`;

export const ingestAlert = (deps: IngestDeps) =>
  withErrors(async (event: ApiEvent, o?: Observability): Promise<ApiResult> => {
    await requireSecret(event, deps.secret);
    const source = pathParam(event, 'source');
    if (!isAlertSource(source)) throw new NotFound(new UnknownAlertSource(source).message);
    const payload = parseJson(readBody(event, deps.config.MAX_BODY_BYTES));
    const now = deps.clock();
    let items: NormalizedItem[];
    try {
      items = normalizeAlerts(source, payload, { now });
    } catch (error) {
      if (error instanceof AlertPayloadInvalid) throw new BadRequest(error.message, { problems: error.problems });
      throw error;
    }
    o?.metrics.addMetric('AlertsReceived', MetricUnit.Count, items.length);
    if (items.length === 0) return json(202, { ignored: true, reason: `no actionable alert in the ${source} payload` });

    const results: IngestOutcome[] = [];
    // One at a time: alerts of one group often share a dedup pointer's neighbours and the order is the vendor's.
    for (const item of items) results.push(await ingestOne(deps, item, o));
    o?.metrics.addMetric('IncidentsOpened', MetricUnit.Count, results.filter((r) => 'deduplicated' in r && !r.deduplicated).length);
    return json(202, results.length === 1 ? results[0] : { results });
  });

const ingestOne = async (deps: IngestDeps, { alert, raw }: NormalizedItem, o?: Observability): Promise<IngestOutcome> => {
  const { store } = deps;
  const makeId = () => (deps.newIncidentId ?? newIncidentId)(deps.clock());

  if (alert.state === 'RESOLVED') {
    const existing = await store.findByDedupKey(alert.source, alert.dedupKey);
    if (!existing) {
      o?.logger.info('resolved alert for no known incident', { source: alert.source, dedupKey: alert.dedupKey });
      return { ignored: true, reason: 'resolved alert for no known incident', dedupKey: alert.dedupKey };
    }
    const { incident } = await store.openOrFold(alert, raw, () => existing.incidentId);
    await store.appendEvent(incident.incidentId, {
      type: 'alert-resolved',
      actor: alert.source,
      message: `${alert.source} reports the alert resolved: ${alert.title}`,
      data: { dedupKey: alert.dedupKey },
    });
    return { incidentId: incident.incidentId, ...(incident.executionArn ? { executionArn: incident.executionArn } : {}), deduplicated: true, state: 'RESOLVED' };
  }

  const { incident, created } = await store.openOrFold(alert, raw, makeId);
  await store.appendEvent(incident.incidentId, {
    type: created ? 'incident-opened' : 'alert-deduplicated',
    actor: alert.source,
    message: created ? `Opened from a ${alert.source} alert: ${alert.title}` : `Another ${alert.source} delivery of the same alert (${incident.alertCount} so far)`,
    data: { dedupKey: alert.dedupKey, severity: alert.severity },
  });

  let executionArn = incident.executionArn;
  if (!executionArn) {
    const started = await deps.workflow.start(incident.incidentId, executionInputFor(incident, deps.config));
    executionArn = started.executionArn;
    await deps.events.publish('Incident Opened', openedDetail(incident, executionArn));
    await store.setExecutionArn(incident.incidentId, executionArn);
    await store.appendEvent(incident.incidentId, {
      type: 'workflow-started',
      message: started.alreadyExisted ? 'Workflow was already started (retried delivery)' : 'Workflow started',
      data: { executionArn },
    });
  }
  return { incidentId: incident.incidentId, executionArn, deduplicated: !created, state: 'OPEN' };
};

/** The `Incident Opened` detail (events/schemas/incident-opened.json). */
export const openedDetail = (incident: IncidentMeta, executionArn: string): Record<string, unknown> => ({
  incidentId: incident.incidentId,
  status: 'OPEN',
  severity: incident.severity,
  service: incident.service,
  title: incident.title,
  source: incident.source,
  dedupKey: incident.dedupKey,
  ...(incident.environment ? { environment: incident.environment } : {}),
  startedAt: incident.startedAt,
  createdAt: incident.createdAt,
  executionArn,
});
