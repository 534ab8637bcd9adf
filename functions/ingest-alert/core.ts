/**
 * POST /alerts/{source}: limit the body → authenticate (shared secret or HMAC signature of the raw body) → known
 * source? → parse → normalise (zod, per vendor) → record each alert (deduplicate on the vendor's identity,
 * correlate by service) → make sure the incident's workflow runs and `Incident Opened` went out once → 202.
 *
 * Everything after normalisation is the core intake (functions/core/intake/intake.ts, `intakeAlerts`), which the
 * anomaly detector (functions/detect-anomalies) calls too; this module is the HTTP side: the body, authentication,
 * the vendor's payload, and the answer.
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
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { authenticateAlert } from '../core/alerts/auth.ts';
import { AlertPayloadInvalid, type NormalizedItem, UnknownAlertSource, isAlertSource, normalizeAlerts } from '../core/alerts/index.ts';
import type { Config } from '../core/config.ts';
import type { Observability } from '../core/handler.ts';
import { type ApiEvent, type ApiResult, BadRequest, NotFound, PayloadTooLarge, json, parseJson, pathParam, requireJsonContentType, utf8Text, withErrors } from '../core/http.ts';
import type { SecretProvider } from '../core/secrets.ts';
import { type IntakeDeps, intakeAlerts } from '../core/intake/intake.ts';

// Where the webhook's tests and earlier callers found them: the opening and the intake are core/intake's now.
export { OPENING_LEASE_MS, OPENING_WAIT_MS, openedDetail } from '../core/intake/opening.ts';
export { ALERTS_RESOLVED, DEFAULT_CORRELATION_WINDOW_SECONDS, type IngestOutcome, newIncidentId } from '../core/intake/intake.ts';

export interface IngestDeps extends IntakeDeps {
  readonly secret: SecretProvider;
  readonly config: IntakeDeps['config'] & Pick<Config, 'MAX_BODY_BYTES'>;
}

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

    const results = await intakeAlerts(deps, items, o);
    return json(202, results.length === 1 ? results[0] : { results });
  });
