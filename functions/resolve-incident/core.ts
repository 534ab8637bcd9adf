/**
 * POST /incidents/{id}/resolution (x-autopilot-secret) and POST /console/incidents/{id}/resolution (a console user:
 * the JWT authorizer on AWS) `{cause: {service, category, change?, summary}, fix, by?, comment?}`: people say what the
 * cause and the fix of an incident really were. The workflow hands an incident to people when it ends ESCALATED or
 * FAILED; this is how they close it, and how the project learns from them.
 *
 * Who resolved it: on the console route the signed-in user (`signedInUser`; on the twin, which serves the console on
 * loopback without sign-in, the body's `by`, else 'console'); on the secret route the body's `by`, required (a shared
 * secret names nobody).
 *
 * Semantics:
 * - Only a terminal incident takes a resolution. ESCALATED or FAILED → RESOLVED (people closed it); RESOLVED (the
 *   autopilot resolved it) stays RESOLVED, and the resolution records the people's confirmation or correction of the
 *   diagnosis. A running incident (OPEN … VERIFYING) → 409 `incident_not_closed`; one awaiting approval says to decide
 *   the approval first (reject it to hand the incident to people).
 * - Exactly once: one conditional write on META records it only if the incident has none (two people at once: one
 *   wins). A different resolution afterwards → 409 `incident_already_resolved` naming who resolved it and when; the
 *   same one again (a retry, a double click) → 200, and it completes what a failed first attempt left undone.
 * - The grade (functions/core/grading.ts, the rule `autopilot eval` scores with): whether the root-cause agent's top
 *   hypothesis names the service and category people wrote, and their change when they name one. Computed once, before
 *   the conditional write, and stored with the resolution, so every retry sees the same grade.
 * - Then, each step idempotent, in an order a retry can resume:
 *   1. the grade item (GRADE#<id>: a put of the same content; the production accuracy counts these items, one per
 *      incident, so no retry or race counts twice) — when there was a diagnosis to grade;
 *   2. the timeline entry, written once under a fixed key;
 *   3. the incident history (the changes port's `recordIncident`, in the incident's environment, keyed by the incident
 *      id as write-report keys what the autopilot resolved): the next similar incident's find-similar sees the
 *      people's cause and fix. Journalled (`resolution.recordedAt`) once done. A failure answers 503 saying the
 *      resolution is recorded and the same request completes it; a deployment with no changes adapter at all records
 *      a gap on the timeline instead (nothing to retry);
 *   4. `Resolution Recorded` on the event bus, journalled (`resolution.publishedAt`), tried even when step 3 failed
 *      (then 503 names both what is left). EventBridge delivery is at least once anyway: a retry racing the first
 *      attempt can publish twice, never zero times.
 * - A rerun of a resolved incident keeps the resolution (what people said stays said) and its grade item, and its
 *   report does not record the autopilot's diagnosis over theirs in the history (write-report checks the resolution).
 * - On an incident the autopilot RESOLVED, write-report recorded its own diagnosis under the same incident id: the
 *   people's record replaces it (ServiceNow upserts, the AWS history puts, the simulated world and the recorded replay
 *   replace the entry), so find-similar learns the correction.
 * Every text people send is data: stored as given (zod-trimmed), never interpolated into markup here; the readers
 * (console, CLI, report) escape it as they escape alert text.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ResolutionBody } from '../core/api/schemas.ts';
import type { Config } from '../core/config.ts';
import type { EventPublisher } from '../core/deps.ts';
import { gradeDiagnosis } from '../core/grading.ts';
import type { Observability } from '../core/handler.ts';
import { type ApiEvent, type ApiResult, BadRequest, Conflict, json, NotFound, parseJson, parseWith, pathParam, readBody, requireJsonContentType, requireSecret, ServiceUnavailable, signedInUser, withErrors } from '../core/http.ts';
import { type IncidentStatus, RootCauseOutput, TERMINAL_STATUSES, TriageOutput } from '../core/model.ts';
import type { SecretProvider } from '../core/secrets.ts';
import type { IncidentMeta, IncidentResolution, ResolutionStore, TimelineEvent } from '../core/store/store.ts';
import type { ToolUse } from '../core/agents/tool-use.ts';
import type { Tools } from '../core/tools/ports.ts';
import { PortNotConfigured } from '../core/tools/runtime.ts';

export { ResolutionBody };

export interface ResolveDeps {
  readonly store: ResolutionStore;
  /** The incident history the similar-incident agent searches (the changes port). */
  readonly tools: Pick<Tools, 'changes'>;
  readonly events: EventPublisher;
  readonly secret: SecretProvider;
  readonly config: Pick<Config, 'MAX_BODY_BYTES'>;
  readonly clock: () => Date;
}

/** The console's routes start with this; the person is the signed-in user there. */
export const CONSOLE_PREFIX = '/console/';
/** Who resolved an incident from the twin's console when the body names nobody (no sign-in on loopback). */
export const CONSOLE_USER = 'console';
/** The key of the resolution's timeline entry (written once, `appendEventOnce`). */
export const RESOLUTION_EVENT_KEY = 'resolution';
export const RESOLUTION_DETAIL_TYPE = 'Resolution Recorded';
/** The tool port methods it calls (the stack grants exactly these, lib/incident-autopilot-stack.ts TOOL_USING_API_FUNCTIONS). */
export const RESOLVE_TOOL_USE = { changes: ['recordIncident'] } as const satisfies ToolUse;

/** 409: the incident is still in the workflow's hands; the message says what to do instead. */
export class IncidentNotClosed extends Conflict {
  override name = 'IncidentNotClosed';
  constructor(incident: IncidentMeta) {
    super('incident_not_closed', notClosedMessage(incident.incidentId, incident.status), { status: incident.status });
  }
}

/** 409: someone resolved it already, with something else. */
export class IncidentAlreadyResolved extends Conflict {
  override name = 'IncidentAlreadyResolved';
  constructor(resolution: IncidentResolution) {
    super('incident_already_resolved', `already resolved by ${resolution.by} at ${resolution.at}; a resolution is recorded once`, { resolution });
  }
}

const notClosedMessage = (incidentId: string, status: IncidentStatus): string =>
  status === 'AWAITING_APPROVAL'
    ? `incident ${incidentId} awaits an approval: decide it first (POST /incidents/${incidentId}/approval, or autopilot approve|reject); a rejection hands the incident to people, who can then resolve it`
    : `incident ${incidentId} is ${status}: the workflow is still working on it; resolve it once it ends (${TERMINAL_STATUSES.join(', ')})`;

/** What a request asks to record (before the store adds when, the grade and the status it had). */
type Asked = Pick<IncidentResolution, 'cause' | 'fix' | 'by' | 'comment'>;

/** The same resolution: a retry or a double click, not a second opinion. */
export const sameResolution = (a: Asked, b: Asked): boolean =>
  a.by === b.by &&
  a.fix === b.fix &&
  (a.comment ?? '') === (b.comment ?? '') &&
  a.cause.service === b.cause.service &&
  a.cause.category === b.cause.category &&
  (a.cause.change ?? '') === (b.cause.change ?? '') &&
  a.cause.summary === b.cause.summary;

/** Who resolves: the signed-in console user; else the body's `by` (on the console route, 'console' without one). */
const resolver = (event: ApiEvent, consoleRoute: boolean, by: string | undefined): string => {
  if (consoleRoute) return signedInUser(event) ?? by ?? CONSOLE_USER;
  if (!by) throw new BadRequest('invalid resolution: by: who resolved the incident is required on this route', { problems: ['by: required'] });
  return by;
};

export const resolveIncident = (deps: ResolveDeps) =>
  withErrors(async (event: ApiEvent, o?: Observability): Promise<ApiResult> => {
    const consoleRoute = (event.routeKey ?? '').split(' ')[1]?.startsWith(CONSOLE_PREFIX) ?? false;
    // The console's route is authorized by API Gateway's JWT authorizer (loopback on the twin); the other by the secret.
    if (!consoleRoute) await requireSecret(event, deps.secret);
    const incidentId = pathParam(event, 'id');
    requireJsonContentType(event);
    const body = parseWith(ResolutionBody, parseJson(readBody(event, deps.config.MAX_BODY_BYTES)), 'resolution');
    const asked: Asked = { cause: body.cause, fix: body.fix, by: resolver(event, consoleRoute, body.by), ...(body.comment ? { comment: body.comment } : {}) };

    const found = await deps.store.getIncidentWith(incidentId, ['rootcause', 'triage']);
    if (!found) throw new NotFound(`incident ${incidentId} not found`);
    let incident = found.incident;
    let replayed = true;
    if (!incident.resolution) {
      if (!TERMINAL_STATUSES.includes(incident.status)) throw new IncidentNotClosed(incident);
      const rootcause = RootCauseOutput.safeParse(found.records.rootcause?.output);
      const resolution: IncidentResolution = {
        ...asked,
        at: deps.clock().toISOString(),
        statusBefore: incident.status,
        grade: gradeDiagnosis(rootcause.success ? rootcause.data : undefined, asked.cause),
      };
      const written = await deps.store.recordResolution(incidentId, resolution);
      incident = written.incident;
      replayed = !written.recorded;
      // Lost the conditional write: another resolution won (judged below), or a rerun took the incident back.
      if (!incident.resolution) throw new IncidentNotClosed(incident);
      if (written.recorded) {
        o?.metrics.addMetric('ResolutionsRecorded', MetricUnit.Count, 1);
        if (resolution.grade.graded) o?.metrics.addMetric(resolution.grade.matched ? 'DiagnosesConfirmed' : 'DiagnosesCorrected', MetricUnit.Count, 1);
      }
    }
    const resolution = incident.resolution!;
    if (replayed && !sameResolution(resolution, asked)) throw new IncidentAlreadyResolved(resolution);

    const headline = TriageOutput.safeParse(found.records.triage?.output);
    const history = await complete(deps, incident, resolution, headline.success ? headline.data.headline : undefined, o);
    return json(200, { incidentId, status: incident.status, resolution: { ...resolution, ...history.journal }, history: history.state, replayed });
  });

/**
 * The steps after the conditional write (see the module comment), each idempotent; a step already journalled is
 * skipped. Returns whether the history has it now and the journal entries this call made.
 */
const complete = async (
  deps: ResolveDeps,
  incident: IncidentMeta,
  resolution: IncidentResolution,
  headline: string | undefined,
  o?: Observability,
): Promise<{ state: 'recorded' | 'not-configured'; journal: Partial<Pick<IncidentResolution, 'recordedAt' | 'publishedAt'>> }> => {
  const { incidentId } = incident;
  const journal: { recordedAt?: string; publishedAt?: string } = {};
  const { cause, grade } = resolution;
  if (grade.graded) await deps.store.putGrade({ incidentId, matched: grade.matched, at: resolution.at, by: resolution.by });
  await deps.store.appendEventOnce(incidentId, RESOLUTION_EVENT_KEY, resolutionEvent(resolution));

  // Both steps are tried whatever the other did (a history that refuses must not keep the event from going out), then
  // a failure of either answers 503 naming what is left: the same request completes it.
  const pending: string[] = [];
  let state: 'recorded' | 'not-configured' = 'recorded';
  if (!resolution.recordedAt) {
    let recorded = false;
    try {
      await deps.tools.changes.recordIncident({
        environment: incident.environment,
        incident: {
          id: incidentId,
          title: headline ?? incident.title,
          service: incident.service,
          openedAt: incident.startedAt,
          resolvedAt: resolution.at,
          category: cause.category,
          rootCause: cause.change ? `${cause.summary} (change ${cause.change})` : cause.summary,
          resolution: resolution.fix,
          resolutionMinutes: Math.max(0, Math.round((Date.parse(resolution.at) - Date.parse(incident.startedAt)) / 60_000)),
          tags: [...new Set([incident.service, cause.service, cause.category, ...(cause.change ? [cause.change] : [])])],
        },
      });
      recorded = true;
    } catch (error) {
      if (error instanceof PortNotConfigured) {
        // No history in this deployment: nothing a retry could do. Said once on the timeline.
        state = 'not-configured';
        await deps.store.appendEventOnce(incidentId, 'resolution-history', {
          at: resolution.at,
          type: 'history-not-updated',
          actor: 'autopilot',
          message: `The resolution was not added to the incident history: ${error.message}`,
        });
      } else {
        o?.logger.error('adding the resolution to the incident history failed', { incidentId, error: error as Error });
        pending.push(`adding it to the incident history failed (${(error as Error).message})`);
      }
    }
    if (recorded) {
      journal.recordedAt = deps.clock().toISOString();
      await deps.store.markResolutionStep(incidentId, 'recordedAt', journal.recordedAt);
    }
  }

  if (!resolution.publishedAt) {
    let published = false;
    try {
      await deps.events.publish(RESOLUTION_DETAIL_TYPE, resolutionDetail(incident, resolution));
      published = true;
    } catch (error) {
      o?.logger.error('publishing Resolution Recorded failed', { incidentId, error: error as Error });
      pending.push(`its event could not be published (${(error as Error).message})`);
    }
    if (published) {
      journal.publishedAt = deps.clock().toISOString();
      await deps.store.markResolutionStep(incidentId, 'publishedAt', journal.publishedAt);
    }
  }
  if (pending.length > 0) {
    throw new ServiceUnavailable(`the resolution is recorded (by ${resolution.by} at ${resolution.at}), but ${pending.join(', and ')}: send the same request again to complete it`);
  }
  return { state, journal };
};

/** The timeline entry: people's words kept as data (`data`), the message one line naming them. */
const resolutionEvent = (resolution: IncidentResolution): TimelineEvent => {
  const { cause, grade } = resolution;
  const verdict = grade.graded ? (grade.matched ? 'the diagnosis matched' : 'the diagnosis did not match') : 'no diagnosis to grade';
  return {
    at: resolution.at,
    type: 'resolution-recorded',
    actor: resolution.by,
    message: `Resolved by ${resolution.by}: ${cause.service}/${cause.category}${cause.change ? ` (change ${cause.change})` : ''}: ${cause.summary}. Fix: ${resolution.fix} (${verdict})`,
    data: { cause, fix: resolution.fix, by: resolution.by, statusBefore: resolution.statusBefore, grade, ...(resolution.comment ? { comment: resolution.comment } : {}) },
  };
};

/** The detail of `Resolution Recorded` (events/schemas/resolution-recorded.json). */
export const resolutionDetail = (incident: IncidentMeta, resolution: IncidentResolution): Record<string, unknown> => ({
  incidentId: incident.incidentId,
  status: 'RESOLVED',
  statusBefore: resolution.statusBefore,
  severity: incident.severity,
  service: incident.service,
  title: incident.title,
  resolvedBy: resolution.by,
  resolvedAt: resolution.at,
  cause: resolution.cause,
  fix: resolution.fix,
  grade: { graded: resolution.grade.graded, matched: resolution.grade.matched },
});
