/**
 * GET /incidents?status=&severity=&service=&limit=&cursor=  → {items, cursor}: newest first; `cursor` is
 *   opaque (pass it back for the next page; null on the last page).
 * GET /incidents/{id} → the whole incident: META, alerts, agent records (output, evidence, latency, reasoner,
 *   tool calls), the timeline, the approval (never its task token), the report and the resolution people recorded
 *   (null until then) → 404 if unknown.
 * GET /summary (and the console's GET /console/summary) → `{counts: {<every status>: n}, total, accuracy: {graded,
 *   matched, rate}}`: incidents by status (COUNT queries on the status index, every page) and the production accuracy:
 *   of the incidents people resolved after a diagnosis, how many the root-cause agent's top hypothesis matched
 *   (functions/resolve-incident; rate null while none is graded).
 */
import { DOCS_HEADERS, docsPage, openApiDocument } from '../core/api/openapi.ts';
import { type ApiEvent, type ApiResult, NotFound, json, parseWith, pathParam, withErrors } from '../core/http.ts';
import { ListParams } from '../core/api/schemas.ts';
import { ReportOutput } from '../core/model.ts';
import type { IncidentStore, SummaryStore } from '../core/store/store.ts';

export interface QueryDeps {
  readonly store: Pick<IncidentStore, 'listIncidents' | 'getDetail'> & SummaryStore;
}

/** The routes that answer the summary (the operators' and the console's). */
export const SUMMARY_ROUTES: readonly string[] = ['GET /summary', 'GET /console/summary'];

export { ListParams };

/** The API description, built on the first request for it (not at cold start) and kept for the container's life. */
let described: { json: string; page: string } | undefined;
const describedApi = () => {
  if (!described) {
    const doc = openApiDocument();
    described = { json: JSON.stringify(doc), page: docsPage(doc) };
  }
  return described;
};

export const queryIncidents = (deps: QueryDeps) =>
  withErrors(async (event: ApiEvent): Promise<ApiResult> => {
    // The API described: the same document on AWS and on the twin.
    if (event.routeKey === 'GET /openapi.json') return { ...json(200, null), body: describedApi().json };
    if (event.routeKey === 'GET /docs') return { statusCode: 200, headers: { ...DOCS_HEADERS }, body: describedApi().page };
    if (SUMMARY_ROUTES.includes(event.routeKey)) return json(200, await deps.store.summarize());
    // GET /incidents/{id}: the same path-parameter rule (decoding) as every other route.
    if (event.pathParameters?.id) return json(200, await detail(deps, pathParam(event, 'id')));
    const query = parseWith(ListParams, event.queryStringParameters ?? {}, 'query parameters');
    const page = await deps.store.listIncidents(query);
    return json(200, { items: page.items, cursor: page.cursor ?? null });
  });

const detail = async (deps: QueryDeps, incidentId: string) => {
  const found = await deps.store.getDetail(incidentId);
  if (!found) throw new NotFound(`incident ${incidentId} not found`);
  const report = ReportOutput.safeParse(found.agents.report?.output);
  return {
    incident: found.incident,
    alerts: found.alerts,
    agents: found.agents,
    timeline: found.timeline,
    approval: found.incident.approval ?? null,
    report: report.success ? report.data : null,
    resolution: found.incident.resolution ?? null,
  };
};
