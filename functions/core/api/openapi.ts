/**
 * The HTTP API described as OpenAPI 3.1, built from what the code already holds: the routes of the registry
 * (API_ROUTES: the CDK AlertApi and the laptop twin serve exactly these), the zod schemas the functions validate
 * their input with (request bodies, query parameters), and the answers they give. Served as `GET /openapi.json` and,
 * readable, as `GET /docs` (query-incidents), on AWS and on the twin alike.
 *
 * Every route must have an entry in OPERATIONS (a test fails otherwise), so a new route cannot ship undocumented.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { API_ROUTES, type ApiRoute, SECRET_HEADER } from '../../registry.ts';
import { AlertSource } from '../model.ts';
import { ConsoleDecisionBody, DecisionBody, FaultInjectionBody, FaultQuery, ListParams, RerunBody, ResolutionBody, SignalsParams } from './schemas.ts';
import { escapeHtml } from '../text.ts';

/** What one route takes and answers. */
interface Operation {
  readonly summary: string;
  readonly description: string;
  /** Query parameters (GET /incidents), from a zod object. */
  readonly query?: z.ZodObject;
  /** The JSON body a POST takes, from the zod schema its function validates it with. */
  readonly body?: z.ZodType;
  /** Answers by status code. */
  readonly responses: Readonly<Record<string, string>>;
  /** The answer is HTML (a page for a browser), not JSON. */
  readonly html?: boolean;
}

const ERRORS = { '400': 'The request names something invalid: `{error, message}` says what.', '503': 'A dependency is unavailable: retry after `Retry-After` seconds.' } as const;
/** The routes of one incident answer 404 for an unknown one. */
const INCIDENT_ERRORS = { ...ERRORS, '404': 'No such incident.' } as const;

const RESOLUTION_RESPONSES = {
  '200': '`{incidentId, status, resolution, history, replayed}`: the resolution as recorded (with its grade); `replayed` when it was recorded before.',
  '401': 'Missing or wrong secret.',
  '409': '`incident_not_closed` (the workflow still runs: `{status}`) or `incident_already_resolved` (`{resolution}` says by whom and when).',
  ...INCIDENT_ERRORS,
  '503': 'A dependency is unavailable, or the resolution is recorded but not yet in the history or on the bus: send the same request again.',
} as const;
const SUMMARY_DESCRIPTION = 'Incidents by status, and how often the root-cause agent\'s top hypothesis matched what people resolved incidents with.';
const SUMMARY_ANSWER = '`{counts: {<status>: n}, total, accuracy: {graded, matched, rate}}` (rate null while nothing is graded).';


const SIGNALS_OPERATION: Operation = {
  summary: 'Signals of one incident',
  description:
    'What the console charts: p99 latency, error rate and throughput of the incident\'s services (its own, the culprit, the affected ones) and the metrics the top hypothesis cites, each with the baseline band from before the onset; markers for the onset, the detection, changes, actions, the approval and recovery. A tool that fails leaves its part out and is named in `gaps`.',
  query: SignalsParams,
  responses: { '200': '`{window: {from, to}, onset, series: [{service, metric, unit?, points: [{t, v}], baseline?: {low, high, mean}}], markers: [{t, kind, label, service?}], gaps: [{port, reason, service?, metric?}]}`.', ...INCIDENT_ERRORS },
};

export const OPERATIONS: Readonly<Record<string, Operation>> = {
  'POST /alerts/{source}': {
    summary: 'Receive an alert',
    description: `A monitoring tool's webhook payload (${AlertSource.options.join(', ')}), as the vendor sends it; needs the ${SECRET_HEADER} header. Duplicates and flapping are folded into the open incident of the same alert identity.`,
    body: z.record(z.string(), z.unknown()).describe("the vendor's own payload"),
    responses: { '202': 'Accepted: the incident (opened or joined) and its execution, `{results}` for a payload of several alerts, or `{ignored, reason}`.', '401': 'Missing or wrong secret.', '413': 'Body too large.', '429': 'Throttled: retry after `Retry-After`.', ...ERRORS },
  },
  'GET /incidents': {
    summary: 'List incidents',
    description: 'Newest first, filtered by status, severity and service; paged with `cursor`.',
    query: ListParams,
    responses: { '200': '`{items, cursor}`: incident summaries, and the cursor of the next page or null.', ...ERRORS },
  },
  'GET /incidents/{id}': {
    summary: 'One incident',
    description: "The incident, its timeline, each agent's output and evidence, and its report.",
    responses: { '200': 'The incident view.', ...INCIDENT_ERRORS },
  },
  'POST /incidents/{id}/approval': {
    summary: 'Decide a pending approval',
    description: `Approve or reject the mitigation the workflow waits on (a task-token wait); needs the ${SECRET_HEADER} header.`,
    body: DecisionBody,
    responses: { '200': '`{incidentId, approval}`: the decision as recorded.', '401': 'Missing or wrong secret.', '409': 'Already decided, or no approval pending: `{approval}` says which.', ...INCIDENT_ERRORS },
  },
  'POST /incidents/{id}/rerun': {
    summary: 'Run the workflow again',
    description: `For an incident whose execution a restart cut short, or to diagnose again; needs the ${SECRET_HEADER} header.`,
    body: RerunBody,
    responses: { '202': '`{incidentId, executionArn, rerun, status}`.', '401': 'Missing or wrong secret.', '409': 'An execution is still running.', ...INCIDENT_ERRORS },
  },
  'GET /approvals/{token}': {
    summary: 'Approval page',
    description: 'The confirmation page of a signed approval link (mail scanners open links: it never decides).',
    html: true,
    responses: { '200': 'The page.', '403': 'The link is invalid or expired.' },
  },
  'POST /approvals/{token}': {
    summary: 'Decide through an approval link',
    description: 'The form of the approval page: decides once, as the signed link says.',
    html: true,
    responses: { '200': 'The outcome page.', '403': 'The link is invalid or expired.', '409': 'Already decided.' },
  },
  'GET /admin/faults': {
    summary: 'Faults of a simulated world',
    description: 'The faults injected into a running simulated world (default: the live world `autopilot serve` keeps), whether each is active now, its services and the fault presets.',
    query: FaultQuery.pick({ world: true }),
    responses: { '200': '`{world, services, presets: [{name, title, description}], faults: [{id, kind, service, startsAt, endsAt?, active, preset?, by?, endedBy?, causedBy?, mitigatedAt?}]}`.', ...ERRORS, '404': 'No such world.' },
  },
  'POST /admin/faults': {
    summary: 'Inject a fault',
    description: "Adds a fault to a running simulated world at its current minute: a preset (latency-spike, error-rate, slow-database, memory-leak, dependency-down) on a service (default: the preset's choice), with the change that caused it where the preset has one, or a scenario-format fault without startsAt. Who injected it: the signed-in user, else `by`, else 'console'.",
    body: FaultInjectionBody,
    responses: { '201': '`{id, world, service, kind, startsAt, fault, preset?, changes, watch: [{service, metric}], by}`.', '400': 'Unknown service (`services` lists the world\'s), unknown preset, a preset that does not fit the service, or an invalid fault (`problems`).', '404': 'No such world.', '409': 'The world holds as many faults as it can.', '503': ERRORS['503'] },
  },
  'DELETE /admin/faults/{id}': {
    summary: 'End a fault',
    description: "Ends the fault at the world's current minute (its metrics recover over the next minutes). Idempotent: a fault already ended answers 200 with its end and `alreadyEnded: true`.",
    query: FaultQuery,
    responses: { '200': '`{id, world, endedAt, alreadyEnded}`.', '404': 'No such world, or no such fault in it.', ...ERRORS },
  },
  'GET /openapi.json': { summary: 'This description', description: 'The HTTP API as OpenAPI 3.1.', responses: { '200': 'The document.' } },
  'GET /docs': { summary: 'This description, readable', description: 'The HTTP API as a page.', html: true, responses: { '200': 'The page.' } },
  'GET /incidents/{id}/signals': SIGNALS_OPERATION,
  'GET /console/incidents/{id}/signals': { ...SIGNALS_OPERATION, summary: 'Signals of one incident (console)', description: `${SIGNALS_OPERATION.description} For the signed-in console.` },
  'GET /console/incidents': {
    summary: 'List incidents (console)',
    description: 'The same answer as `GET /incidents`, for a person signed in to the console.',
    query: ListParams,
    responses: { '200': '`{items, cursor}`: incident summaries, and the cursor of the next page or null.', '401': 'Not signed in (no or an expired token).', ...ERRORS },
  },
  'GET /console/incidents/{id}': {
    summary: 'One incident (console)',
    description: 'The same answer as `GET /incidents/{id}`, for a person signed in to the console.',
    responses: { '200': 'The incident view.', '401': 'Not signed in (no or an expired token).', ...INCIDENT_ERRORS },
  },
  'POST /console/incidents/{id}/approval': {
    summary: 'Decide a pending approval (console)',
    description: "Approve or reject from the console. The approver recorded is the signed-in user (the token's e-mail, else user name); where nobody is signed in (the twin), the body's `approver`, else `console`. The channel is `console`.",
    body: ConsoleDecisionBody,
    responses: { '200': '`{incidentId, approval}`: the decision as recorded.', '401': 'Not signed in (no or an expired token).', '409': 'Already decided, or no approval pending: `{approval}` says which.', ...INCIDENT_ERRORS },
  },
  'POST /incidents/{id}/resolution': {
    summary: 'Resolve a closed incident',
    description: `What the cause and the fix really were, by whom (\`by\` required here); needs the ${SECRET_HEADER} header. An ESCALATED or FAILED incident becomes RESOLVED; on one the autopilot RESOLVED it records the confirmation or correction. Graded against the root-cause agent's top hypothesis and added to the incident history. Recorded once: the same body again completes a half-done resolution.`,
    body: ResolutionBody,
    responses: RESOLUTION_RESPONSES,
  },
  'POST /console/incidents/{id}/resolution': {
    summary: 'Resolve a closed incident (console)',
    description: 'As POST /incidents/{id}/resolution, for a user signed in to the console, who is recorded as the resolver (on the twin: the body\'s `by`, else "console").',
    body: ResolutionBody,
    responses: RESOLUTION_RESPONSES,
  },
  'GET /summary': { summary: 'Counts and production accuracy', description: SUMMARY_DESCRIPTION, responses: { '200': SUMMARY_ANSWER, ...ERRORS } },
  'GET /console/summary': { summary: 'Counts and production accuracy (console)', description: SUMMARY_DESCRIPTION, responses: { '200': SUMMARY_ANSWER, ...ERRORS } },
};

const SECURITY: Readonly<Record<ApiRoute['auth'], readonly Record<string, string[]>[]>> = {
  secret: [{ sharedSecret: [] }],
  iam: [{ sigv4: [] }],
  'signed-link': [],
  jwt: [{ console: [] }],
};

const jsonSchema = (schema: z.ZodType): Record<string, unknown> => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

const pathParameters = (path: string) =>
  [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: m[1] === 'source' ? jsonSchema(AlertSource) : { type: 'string' } }));

/** The OpenAPI 3.1 document of API_ROUTES. */
export const openApiDocument = (version = '1'): Record<string, unknown> => {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of API_ROUTES) {
    const op = OPERATIONS[`${route.method} ${route.path}`];
    if (!op) throw new Error(`route ${route.method} ${route.path} has no entry in OPERATIONS (functions/core/api/openapi.ts)`);
    const queryShape = op.query ? (jsonSchema(op.query).properties as Record<string, unknown>) : {};
    const parameters = [...pathParameters(route.path), ...Object.entries(queryShape).map(([name, schema]) => ({ name, in: 'query', required: false, schema }))];
    const type = op.html ? 'text/html' : 'application/json';
    (paths[route.path] ??= {})[route.method.toLowerCase()] = {
      operationId: `${route.method.toLowerCase()}${route.path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: op.summary,
      description: op.description,
      security: SECURITY[route.auth],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(op.body) } } } } : {}),
      responses: Object.fromEntries(Object.entries(op.responses).map(([code, description]) => [code, { description, content: { [code.startsWith('2') ? type : 'application/json']: {} } }])),
      'x-autopilot-function': route.function,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Incident Autopilot API', version, description: 'The webhook, incidents, approvals and reruns. The same routes on AWS (API Gateway HTTP API) and on the laptop twin.' },
    components: {
      securitySchemes: {
        sharedSecret: { type: 'apiKey', in: 'header', name: SECRET_HEADER, description: 'The webhook secret (Secrets Manager on AWS, `.autopilot/secret` on the twin).' },
        sigv4: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'AWS Signature Version 4 with execute-api:Invoke (the twin answers on loopback without one).' },
        console: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A Cognito token of a user signed in to the console (managed login), checked by the HTTP API\'s JWT authorizer (the twin answers on loopback without one).' },
      },
    },
    paths,
  };
};

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1f2328;background:#fff}main{max-width:60rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin:1.8rem 0 .3rem}code,pre{font:13px ui-monospace,monospace}pre{background:#f6f8fa;padding:.6rem;overflow:auto;border-radius:4px}
.m{display:inline-block;min-width:3.2rem;font-weight:700;color:#0b5394}table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}`;
const STYLE_HASH = createHash('sha256').update(STYLE, 'utf8').digest('base64');

export const DOCS_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; frame-ancestors 'none'; base-uri 'none'`,
  'x-content-type-options': 'nosniff',
};

/** The document as a page: every operation with its auth, parameters, body schema and answers (all text escaped, no script). */
export const docsPage = (doc: Record<string, unknown> = openApiDocument()): string => {
  const paths = doc.paths as Record<string, Record<string, Record<string, unknown>>>;
  const sections = Object.entries(paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const params = (op.parameters as { name: string; in: string }[] | undefined) ?? [];
      const body = (op.requestBody as { content: { 'application/json': { schema: unknown } } } | undefined)?.content['application/json'].schema;
      const responses = Object.entries(op.responses as Record<string, { description: string }>);
      const auth = (op.security as Record<string, unknown>[]).map((s) => Object.keys(s).join('+')).join(', ') || 'the signed link in the path';
      return `<section><h2><span class="m">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code> — ${escapeHtml(op.summary)}</h2>
<p>${escapeHtml(op.description)}</p><p>Auth: ${escapeHtml(auth)}</p>
${params.length ? `<p>Parameters: ${params.map((p) => `<code>${escapeHtml(p.name)}</code> (${escapeHtml(p.in)})`).join(', ')}</p>` : ''}
${body ? `<p>Body:</p><pre>${escapeHtml(JSON.stringify(body, null, 2))}</pre>` : ''}
<table><tr><th>status</th><th>meaning</th></tr>${responses.map(([code, r]) => `<tr><td>${escapeHtml(code)}</td><td>${escapeHtml(r.description)}</td></tr>`).join('')}</table></section>`;
    }),
  );
  const info = doc.info as { title: string; description: string };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(info.title)}</title><style>${STYLE}</style></head>
<body><main><h1>${escapeHtml(info.title)}</h1><p>${escapeHtml(info.description)} The machine-readable document: <a href="openapi.json">openapi.json</a>.</p>
${sections.join('\n')}
</main></body></html>
`;
};
