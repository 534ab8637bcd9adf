/**
 * Intake: what happens to alerts once they are normalised, whoever brings them. The alert webhook
 * (functions/ingest-alert: authenticate → parse → normalise) and the anomaly detector (functions/detect-anomalies:
 * read the telemetry → score → decide) both hand their `NormalizedItem`s to `intakeAlerts`, so an alert the system
 * raised itself is deduplicated, correlated, opened and resolved exactly like a vendor's.
 *
 * Per alert, in the caller's order (a vendor group's later entries may resolve or repeat its earlier ones):
 * - OPEN: record it (deduplicate on its identity, correlate by environment and service: `AlertIntakeStore.recordAlert`),
 *   list it on the incident's timeline, then make sure the incident's workflow runs and `Incident Opened` went out
 *   once (`ensureOpened`, opening.ts, whose module comment has the journal on META).
 * - RESOLVED: mark its identity resolved; when that leaves every alert of the incident resolved while its approval is
 *   PENDING, withdraw the approval (SendTaskFailure `AlertsResolved`, caught by the state machine, which writes the
 *   report: self-recovered). A RESOLVED alert whose identity matches no incident is `{ignored: true}`.
 *
 * Errors are the caller's to map, and they are the contract: `ServiceUnavailable` (a step failed after the alert was
 * recorded, or the opening is held by another delivery: retry), `StoreUnavailable`/`StoreRetryLater`/`IncidentNotReady`
 * (retryable store failures), `IncidentNotFound`. The webhook answers them 503/404 through `withErrors`; the detector
 * reports the target and its next run sends the alert again. Every step is idempotent or conditional on the journal,
 * so sending the same alert again completes a half-done intake.
 */
import { randomBytes } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { NormalizedItem } from '../alerts/common.ts';
import type { Config } from '../config.ts';
import type { EventPublisher } from '../deps.ts';
import type { Observability } from '../handler.ts';
import { ServiceUnavailable } from '../http.ts';
import type { AlertIntakeStore, IncidentMeta, RecordResult } from '../store/store.ts';
import { TaskClosed, type WorkflowClient } from '../workflow-client.ts';
import { ensureOpened } from './opening.ts';

export interface IntakeDeps {
  /** DynamoIncidentStore and MemoryIncidentStore implement it. */
  readonly store: AlertIntakeStore;
  readonly workflow: Pick<WorkflowClient, 'start' | 'sendTaskFailure'>;
  readonly events: EventPublisher;
  readonly config: Pick<Config, 'VERIFY_WAIT_SECONDS' | 'MAX_VERIFY_CHECKS'> & Partial<Pick<Config, 'CORRELATION_WINDOW_SECONDS'>>;
  readonly clock: () => Date;
  readonly newIncidentId?: (now: Date) => string;
  /** How long a delivery that lost the opening claim waits for the execution to be recorded. @default OPENING_WAIT_MS (opening.ts) */
  readonly openingWaitMs?: number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

export type IngestOutcome =
  | {
      readonly incidentId: string;
      readonly executionArn?: string;
      /** Another delivery of an alert the incident already has. */
      readonly deduplicated: boolean;
      /** A new alert that joined the open incident of its service. */
      readonly correlated?: boolean;
      readonly state: 'OPEN' | 'RESOLVED';
      /** RESOLVED only: every alert of the incident is resolved now. */
      readonly allResolved?: boolean;
      /** RESOLVED only: the pending approval was withdrawn (the incident closes as self-recovered). */
      readonly approvalWithdrawn?: boolean;
    }
  | { readonly ignored: true; readonly reason: string; readonly dedupKey?: string };

/** The error the approval task fails with when every alert resolved (the ASL's "Request approval" catches it). */
export const ALERTS_RESOLVED = 'AlertsResolved';
/** Default correlation window when the configuration gives none (config.ts has the same default). */
export const DEFAULT_CORRELATION_WINDOW_SECONDS = 300;
/** `inc-20240501-9f2c4e1a7b`: the day, for humans, and 40 random bits; valid as a Step Functions execution name. */
export const newIncidentId = (now: Date): string => `inc-${now.toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(5).toString('hex')}`;

/** An outcome that opened a new incident (neither a repeat, nor joined to another, nor a resolution). */
export const openedAnIncident = (r: IngestOutcome): boolean => 'deduplicated' in r && !r.deduplicated && !r.correlated && r.state === 'OPEN';

/**
 * Takes normalised alerts in: one outcome per alert, in their order. Throws what a step throws (see the module
 * comment); alerts before the failing one are taken in, and sending them all again is safe.
 */
export const intakeAlerts = async (deps: IntakeDeps, items: readonly NormalizedItem[], o?: Observability): Promise<IngestOutcome[]> => {
  const results: IngestOutcome[] = [];
  for (const item of items) results.push(item.alert.state === 'RESOLVED' ? await intakeResolved(deps, item, o) : await intakeOpen(deps, item, o));
  o?.metrics.addMetric('IncidentsOpened', MetricUnit.Count, results.filter(openedAnIncident).length);
  o?.metrics.addMetric('AlertsCorrelated', MetricUnit.Count, results.filter((r) => 'correlated' in r && r.correlated).length);
  return results;
};

const TIMELINE: Record<RecordResult['disposition'], { type: string; message: (r: RecordResult, item: NormalizedItem) => string }> = {
  opened: { type: 'incident-opened', message: (_r, { alert }) => `Opened from a ${alert.source} alert: ${alert.title}` },
  deduplicated: { type: 'alert-deduplicated', message: ({ incident }, { alert }) => `Another ${alert.source} delivery of a known alert (${incident.alertCount} deliveries so far)` },
  correlated: {
    type: 'alert-correlated',
    message: ({ incident }, { alert }) => `Another alert for ${alert.service} joined: ${alert.source} "${alert.title}" (${incident.distinctAlerts ?? '?'} alerts)`,
  },
};

const intakeOpen = async (deps: IntakeDeps, item: NormalizedItem, o?: Observability): Promise<IngestOutcome> => {
  const { store } = deps;
  const { alert, raw } = item;
  const window = deps.config.CORRELATION_WINDOW_SECONDS ?? DEFAULT_CORRELATION_WINDOW_SECONDS;
  const recorded = await store.recordAlert(alert, raw, () => (deps.newIncidentId ?? newIncidentId)(deps.clock()), { correlationWindowSeconds: window });
  const { incident, disposition } = recorded;
  const entry = TIMELINE[disposition];
  await store.appendEvent(incident.incidentId, {
    type: entry.type,
    actor: alert.source,
    message: entry.message(recorded, item),
    data: { dedupKey: alert.dedupKey, severity: alert.severity, ...(disposition === 'correlated' ? { title: alert.title } : {}) },
  });

  const { executionArn } = await ensureOpened(deps, incident, `${alert.source}:${alert.dedupKey}`, o);
  return {
    incidentId: incident.incidentId,
    ...(executionArn ? { executionArn } : {}),
    deduplicated: disposition === 'deduplicated',
    ...(disposition === 'correlated' ? { correlated: true } : {}),
    state: 'OPEN',
  };
};

const intakeResolved = async (deps: IntakeDeps, { alert, raw }: NormalizedItem, o?: Observability): Promise<IngestOutcome> => {
  const { store } = deps;
  // IncidentNotReady (the opening delivery has not written the incident yet) is retryable (the webhook answers 503,
  // not 404): by the retry, the delivery that opened the incident has finished.
  const resolved = await store.resolveAlert(alert, raw);
  if (!resolved) {
    o?.logger.info('resolved alert for no known incident', { source: alert.source, dedupKey: alert.dedupKey });
    return { ignored: true, reason: 'resolved alert for no known incident', dedupKey: alert.dedupKey };
  }
  const { incident, newlyResolved, allResolved } = resolved;
  await store.appendEvent(incident.incidentId, {
    type: 'alert-resolved',
    actor: alert.source,
    message: `${alert.source} reports the alert resolved: ${alert.title} (${incident.resolvedAlerts ?? '?'} of ${incident.distinctAlerts ?? '?'} alerts resolved)${newlyResolved ? '' : ' — a repeated notification'}`,
    data: { dedupKey: alert.dedupKey, allResolved },
  });
  // State-based, not "did this call resolve the last one": a retry after a failure below withdraws again.
  const approvalWithdrawn = allResolved && incident.approval?.status === 'PENDING' ? await withdrawApproval(deps, incident, o) : false;
  return {
    incidentId: incident.incidentId,
    ...(incident.executionArn ? { executionArn: incident.executionArn } : {}),
    deduplicated: true,
    state: 'RESOLVED',
    allResolved,
    ...(approvalWithdrawn ? { approvalWithdrawn } : {}),
  };
};

/**
 * Withdraws a pending approval whose incident has no open alert left: the store's conditional update decides
 * between this and a human decision (only one wins), then the task fails with `AlertsResolved`. A task that is
 * already closed (timed out, execution over) → the approval is recorded EXPIRED; any other Step Functions error
 * → the withdrawal is undone and ServiceUnavailable is thrown, so a retry withdraws again.
 */
const withdrawApproval = async (deps: IntakeDeps, incident: IncidentMeta, o?: Observability): Promise<boolean> => {
  const { store } = deps;
  const incidentId = incident.incidentId;
  const reason = `every alert resolved on its own (${incident.resolvedAlerts} of ${incident.distinctAlerts}) while the mitigation awaited approval`;
  const result = await store.withdrawApproval(incidentId, reason);
  if (!result.withdrawn) {
    o?.logger.info('approval not withdrawn', { incidentId, reason: result.reason, approval: result.approval?.status });
    return false;
  }
  try {
    await deps.workflow.sendTaskFailure(result.taskToken, ALERTS_RESOLVED, reason);
  } catch (error) {
    if (error instanceof TaskClosed) {
      const { approver: _a, decidedAt: _d, comment: _c, ...request } = result.approval;
      await store.updateIncident(incidentId, { approval: { ...request, status: 'EXPIRED' } });
      await store.appendEvent(incidentId, {
        type: 'approval-expired',
        actor: 'autopilot',
        message: `Every alert resolved, but the approval task was already closed (${error.reason}); nothing to withdraw`,
        data: { reason: error.reason },
      });
      return false;
    }
    o?.logger.error('failing the approval task failed; undoing the withdrawal', error as Error);
    try {
      await store.undoWithdrawal(incidentId);
    } catch (undoError) {
      o?.logger.error('undoing the withdrawal failed', undoError as Error);
    }
    throw new ServiceUnavailable('Step Functions could not be reached to withdraw the pending approval; retry the notification');
  }
  o?.metrics.addMetric('ApprovalsWithdrawn', MetricUnit.Count, 1);
  await store.appendEvent(incidentId, {
    type: 'approval-withdrawn',
    actor: 'autopilot',
    message: `Approval withdrawn: ${reason}. Nothing was executed; the incident closes as self-recovered`,
    data: { resolvedAlerts: incident.resolvedAlerts, distinctAlerts: incident.distinctAlerts },
  });
  return true;
};
