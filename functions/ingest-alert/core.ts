/**
 * POST /alerts/{source}: limit the body → authenticate (shared secret or HMAC signature of the raw body) → known
 * source? → parse → normalise (zod, per vendor) → record each alert (deduplicate on the vendor's identity,
 * correlate by service) → make sure the incident's workflow runs and `Incident Opened` went out once → 202.
 *
 * Nothing is written and nothing started on any 4xx. Every step after validation is idempotent, so a vendor
 * retry after a 5xx completes a half-done delivery.
 *
 * The opening of an incident (start its workflow, publish `Incident Opened` once) is functions/core/intake/opening.ts,
 * shared with the opening sweeper; its module comment has the journal on META (claim with a lease → StartExecution →
 * record the ARN → publish → mark published). Here, any OPEN delivery that finds the opening not published runs it
 * (`ensureOpened`). A failure the claimant sees releases the claim and answers 503, so the vendor's retry, or any other
 * alert of the incident, takes over at once. A claimant that dies (timeout, crash) holds its claim until the lease
 * (`OPENING_LEASE_MS`) ends; then the next delivery — a retry or any later alert — takes over.
 * A delivery that does not win the claim answers 202 only once the incident has an execution ARN (the execution
 * exists): it waits up to `OPENING_WAIT_MS` for the claimant to record it, then answers 503 with Retry-After (the lease
 * left). So for every 202 the execution exists, and every failure after the first write is completed by the retry
 * its 503 asks for, or by the next alert of the incident. If no delivery ever comes again after a claimant died
 * (or after a failure between recording the alert and claiming: a vendor that does not retry, a last alert whose
 * Lambda died), the opening sweeper completes it: `sweep-openings`, on an EventBridge Scheduler schedule on AWS
 * (every 5 minutes by default) and a timer on the twin (and once at `autopilot serve` start), takes over every
 * non-terminal incident whose opening is not published once its claim is released or its lease has passed (or, never
 * claimed, once the incident is older than the lease), through the same journal (functions/sweep-openings/core.ts).
 * An incident whose execution was lost (the twin's executions do not survive a restart) is the rerun's business:
 * the twin's restart check (`autopilot serve`) lists it with `autopilot rerun <id>`.
 * A closed incident (RESOLVED, ESCALATED, FAILED) is never claimed: an alert joining an escalated incident is
 * recorded and listed on its timeline, and starts and publishes nothing.
 *
 * On AWS, under Lambda concurrency (any number of deliveries of one alert at once, in separate execution
 * environments) and DynamoDB conditional-write contention, the guarantees rest only on single-item conditional
 * writes, which DynamoDB serialises per item: exactly one `claimOpening` wins per lease (the others fail their
 * condition and read META once), exactly one DEDUP claim per identity, one CORR pointer per service. Losers never
 * retry a condition in a loop against each other: a repeat of a published incident does 4 DynamoDB requests (DEDUP
 * refresh, META count, ALERT put, timeline put; no condition can fail) and nothing else; a new incident 10 (5 to
 * record the alert with correlation on, its timeline put, then claim, record the ARN, the workflow-started timeline
 * put, mark published) plus one StartExecution and one PutEvents; a loser of the opening claim 2 more (the refused
 * claim and the strongly consistent read of META it returns) plus one read per poll while it waits
 * (test/unit/store/dynamo-conditions.test.ts counts them). A throttled or failing DynamoDB request (after the SDK's retries) is
 * `StoreUnavailable`, answered 503 with Retry-After like every retryable failure here; ambiguous failures (a timeout
 * whose write may have landed) are safe because every write is idempotent or conditional on the journal.
 *
 * An alert identity that fires again after the vendor said RESOLVED (generic scripts and some setups reuse it) while
 * its incident is RESOLVED is not absorbed by that incident: the store re-points it, and it correlates or opens a new
 * incident, which this opening starts and pages as any other (`refiresAnew` in core/store/dynamo-store.ts). An
 * ESCALATED or FAILED incident keeps it (humans own that one); a repeated OPEN delivery that was never resolved (a
 * vendor repeat) folds into its incident whatever its status.
 *
 * A RESOLVED alert marks its identity resolved and never starts a workflow; when that leaves every alert of
 * the incident resolved while its approval is PENDING, the approval is withdrawn (SendTaskFailure
 * `AlertsResolved`, caught by the state machine, which writes the report: self-recovered). A RESOLVED alert
 * whose identity matches no incident is answered 202 `{ignored: true}`; one whose incident is still being opened
 * (no META yet) is answered 503, so the vendor retries it once the opening delivery has finished.
 * One alert → one result object; a payload with several (an Alertmanager group) → `{results: [...]}`.
 */
import { randomBytes } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { authenticateAlert } from '../core/alerts/auth.ts';
import { AlertPayloadInvalid, type NormalizedItem, UnknownAlertSource, isAlertSource, normalizeAlerts } from '../core/alerts/index.ts';
import type { Config } from '../core/config.ts';
import type { EventPublisher } from '../core/deps.ts';
import type { Observability } from '../core/handler.ts';
import { type ApiEvent, type ApiResult, BadRequest, NotFound, PayloadTooLarge, ServiceUnavailable, json, parseJson, pathParam, requireJsonContentType, utf8Text, withErrors } from '../core/http.ts';
import type { SecretProvider } from '../core/secrets.ts';
import { type AlertIntakeStore, type IncidentMeta, type RecordResult } from '../core/store/store.ts';
import { TaskClosed, type WorkflowClient } from '../core/workflow-client.ts';
import { ensureOpened } from '../core/intake/opening.ts';

// Where the webhook's tests and earlier callers found them: the opening is core/intake's now.
export { OPENING_LEASE_MS, OPENING_WAIT_MS, openedDetail } from '../core/intake/opening.ts';

export interface IngestDeps {
  /** DynamoIncidentStore and MemoryIncidentStore implement it. */
  readonly store: AlertIntakeStore;
  readonly workflow: Pick<WorkflowClient, 'start' | 'sendTaskFailure'>;
  readonly events: EventPublisher;
  readonly secret: SecretProvider;
  readonly config: Pick<Config, 'MAX_BODY_BYTES' | 'VERIFY_WAIT_SECONDS' | 'MAX_VERIFY_CHECKS'> & Partial<Pick<Config, 'CORRELATION_WINDOW_SECONDS'>>;
  readonly clock: () => Date;
  readonly newIncidentId?: (now: Date) => string;
  /** How long a delivery that lost the opening claim waits for the execution to be recorded. @default OPENING_WAIT_MS (core/intake/opening.ts) */
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

/** The body's raw bytes (what a signature covers), refusing more than `maxBytes`. */
export const rawBody = (event: ApiEvent, maxBytes: number): Buffer => {
  const body = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  if (bytes.byteLength > maxBytes) throw new PayloadTooLarge(bytes.byteLength, maxBytes);
  return bytes;
};

export const ingestAlert = (deps: IngestDeps) =>
  withErrors(async (event: ApiEvent, o?: Observability): Promise<ApiResult> => {
    const body = rawBody(event, deps.config.MAX_BODY_BYTES);
    const credential = await authenticateAlert(event, body, deps.secret, deps.clock());
    const source = pathParam(event, 'source');
    if (!isAlertSource(source)) throw new NotFound(new UnknownAlertSource(source).message);
    requireJsonContentType(event);
    const payload = parseJson(utf8Text(body));
    const now = deps.clock();
    let items: NormalizedItem[];
    try {
      items = normalizeAlerts(source, payload, { now });
    } catch (error) {
      if (error instanceof AlertPayloadInvalid) throw new BadRequest(error.message, { problems: error.problems });
      throw error;
    }
    o?.logger.appendKeys({ alertSource: source, credential });
    o?.metrics.addMetric('AlertsReceived', MetricUnit.Count, items.length);
    if (items.length === 0) return json(202, { ignored: true, reason: `no actionable alert in the ${source} payload` });

    const results: IngestOutcome[] = [];
    // In the vendor's order: a group's later entries may resolve or repeat its earlier ones.
    for (const item of items) results.push(item.alert.state === 'RESOLVED' ? await ingestResolved(deps, item, o) : await ingestOpen(deps, item, o));
    const opened = results.filter((r) => 'deduplicated' in r && !r.deduplicated && !r.correlated && r.state === 'OPEN').length;
    o?.metrics.addMetric('IncidentsOpened', MetricUnit.Count, opened);
    o?.metrics.addMetric('AlertsCorrelated', MetricUnit.Count, results.filter((r) => 'correlated' in r && r.correlated).length);
    return json(202, results.length === 1 ? results[0] : { results });
  });

const TIMELINE: Record<RecordResult['disposition'], { type: string; message: (r: RecordResult, item: NormalizedItem) => string }> = {
  opened: { type: 'incident-opened', message: (_r, { alert }) => `Opened from a ${alert.source} alert: ${alert.title}` },
  deduplicated: { type: 'alert-deduplicated', message: ({ incident }, { alert }) => `Another ${alert.source} delivery of a known alert (${incident.alertCount} deliveries so far)` },
  correlated: {
    type: 'alert-correlated',
    message: ({ incident }, { alert }) => `Another alert for ${alert.service} joined: ${alert.source} "${alert.title}" (${incident.distinctAlerts ?? '?'} alerts)`,
  },
};

const ingestOpen = async (deps: IngestDeps, item: NormalizedItem, o?: Observability): Promise<IngestOutcome> => {
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

const ingestResolved = async (deps: IngestDeps, { alert, raw }: NormalizedItem, o?: Observability): Promise<IngestOutcome> => {
  const { store } = deps;
  // IncidentNotReady (the opening delivery has not written the incident yet) is answered 503 by `withErrors`, not
  // 404: the vendor retries a 5xx, and by then the delivery that opened the incident has finished.
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
  // State-based, not "did this call resolve the last one": a vendor retry after a 503 below withdraws again.
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
 * → the withdrawal is undone and the vendor gets a 503, so its retry withdraws again.
 */
const withdrawApproval = async (deps: IngestDeps, incident: IncidentMeta, o?: Observability): Promise<boolean> => {
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
