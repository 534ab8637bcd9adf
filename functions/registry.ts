/**
 * Every Lambda function, named once. The CDK stack builds the functions from this list (entry, memory,
 * timeout, the permissions each needs) and substitutes `aslKey` into the state machine definition; the
 * laptop twin maps the state machine's Task states to the same handlers through the same `aslKey`.
 */

/** What a function is allowed to touch; the stack turns each into a grant. */
export type Access =
  | 'table:read'
  | 'table:write'
  | 'table:openings' // Query on the status index; GetItem, UpdateItem (the opening journal on META) and PutItem (timeline entries)
  | 'sfn:start' // StartExecution / DescribeExecution on the incident workflow
  | 'sfn:start-only' // StartExecution on the incident workflow, nothing else
  | 'sfn:respond' // SendTaskSuccess / SendTaskFailure
  | 'events:put'
  | 'secret:webhook' // the shared secret of the webhook/approval routes
  | 'secret:retool' // the Retool workflow API key
  | 'ssm:automation' // StartAutomationExecution of the configured action documents, GetAutomationExecution, PassRole of their assume role
  | 'secret:actions-webhook'; // the signing key of the action webhook

export interface FunctionSpec {
  /** Kebab-case name; also the folder under functions/. */
  readonly name: string;
  /** The handler file, relative to the project root. */
  readonly entry: string;
  readonly description: string;
  /**
   * `workflow` functions are invoked by the state machine; `api` functions sit behind API Gateway; `scheduled` functions
   * are invoked on a schedule (EventBridge Scheduler on AWS, a timer on the twin).
   */
  readonly role: 'workflow' | 'api' | 'scheduled';
  /** For workflow functions: the `${Key}` in statemachine/*.asl.json that becomes the function ARN. */
  readonly aslKey?: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly access: readonly Access[];
}

const agent = (name: string, aslKey: string, description: string, access: readonly Access[] = ['table:read', 'table:write'], timeoutSeconds = 60): FunctionSpec => ({
  name,
  entry: `functions/${name}/handler.ts`,
  description,
  role: 'workflow',
  aslKey,
  memoryMb: 1024,
  timeoutSeconds,
  access,
});

const api = (name: string, description: string, access: readonly Access[]): FunctionSpec => ({
  name,
  entry: `functions/${name}/handler.ts`,
  description,
  role: 'api',
  memoryMb: 512,
  timeoutSeconds: 15,
  access,
});

/** The opening sweeper's timeout: at most the opening claim's lease (60 s), so a live sweeper is never overtaken. */
export const SWEEP_OPENINGS_TIMEOUT_SECONDS = 60;

/** The detector's timeout: under a minute, its default rate, so runs do not pile up (each run scores the last minutes anew). */
export const DETECT_ANOMALIES_TIMEOUT_SECONDS = 55;

export const FUNCTIONS: readonly FunctionSpec[] = [
  // API roles
  api('ingest-alert', 'POST /alerts/{source}: authenticate, normalise, deduplicate, correlate, start the workflow; withdraw a pending approval when every alert resolved', ['table:read', 'table:write', 'sfn:start', 'sfn:respond', 'events:put', 'secret:webhook']),
  api('query-incidents', 'GET /incidents and GET /incidents/{id}', ['table:read']),
  api('decide-approval', 'POST /incidents/{id}/approval: approve or reject a pending mitigation', ['table:read', 'table:write', 'sfn:respond', 'secret:webhook']),
  // events:put: a rerun of an incident whose opening never completed opens it (Incident Opened) through the opening journal.
  api('rerun-incident', 'POST /incidents/{id}/rerun: run the workflow again for an incident', ['table:read', 'table:write', 'sfn:start', 'events:put', 'secret:webhook']),
  // The link key is derived from the webhook secret (functions/core/approval-links.ts).
  api('approval-page', 'GET /approvals/{token}: confirmation page of a signed approval link; POST decides', ['table:read', 'table:write', 'sfn:respond', 'secret:webhook']),
  // Reads telemetry and changes through the tool ports, as the agents do: the stack gives it their tool environment and grants.
  api('incident-signals', 'GET /incidents/{id}/signals: the metrics, baseline bands and markers the console charts', ['table:read']),
  // The demo's fault injection into a running simulated world (the live world by default): table:write edits its scenario.
  api('manage-faults', 'GET/POST /admin/faults and DELETE /admin/faults/{id}: list, inject and end faults in a running simulated world', ['table:read', 'table:write']),
  // Records into the incident history through the changes port: the stack gives it the tool environment and that grant (TOOL_USING_API_FUNCTIONS).
  api('resolve-incident', 'POST /incidents/{id}/resolution: people record the cause and the fix of a closed incident; graded against the diagnosis, added to the history', ['table:read', 'table:write', 'events:put', 'secret:webhook']),
  // Workflow agents
  agent('analyze-impact', 'AnalyzeImpactFunctionArn', 'Impact: anomalies against baseline, blast radius, users and revenue, severity'),
  agent('find-similar', 'FindSimilarFunctionArn', 'Similar past incidents, ranked, with the runbook that worked'),
  agent('analyze-logs', 'AnalyzeLogsFunctionArn', 'Error-log templates with counts and first-seen times'),
  agent('triage', 'TriageFunctionArn', 'Classification, headline, teams to engage and next steps'),
  agent('find-root-cause', 'FindRootCauseFunctionArn', 'Hypotheses tested against the evidence, ranked with confidence'),
  agent('plan-mitigation', 'PlanMitigationFunctionArn', 'Immediate and long-term actions with risk and reversibility'),
  // secret:webhook: it signs the approval links with a key derived from the webhook secret.
  agent('request-approval', 'RequestApprovalFunctionArn', 'Stores the task token and asks a human (Retool or the API)', ['table:read', 'table:write', 'events:put', 'secret:webhook', 'secret:retool']),
  // ssm:automation / secret:actions-webhook grant nothing unless the stack configures that actions adapter.
  agent('execute-mitigation', 'ExecuteMitigationFunctionArn', 'Runs the approved actions, and their inverses when recovery is not verified', ['table:read', 'table:write', 'events:put', 'ssm:automation', 'secret:actions-webhook']),
  agent('verify-recovery', 'VerifyRecoveryFunctionArn', 'Compares the metrics to the baseline after the action'),
  agent('escalate', 'EscalateFunctionArn', 'Hands the incident to humans (approval timed out, not recovered, rejected)'),
  agent('write-report', 'WriteReportFunctionArn', 'RCA report and the outcome event to publish'),
  agent('record-failure', 'RecordFailureFunctionArn', 'Marks the incident FAILED, keeping partial outputs'),
  // Scheduled
  {
    name: 'sweep-openings',
    entry: 'functions/sweep-openings/handler.ts',
    description: 'Every few minutes: starts the workflow and publishes Incident Opened of every incident whose opening delivery died with no delivery since',
    role: 'scheduled',
    memoryMb: 512,
    timeoutSeconds: SWEEP_OPENINGS_TIMEOUT_SECONDS,
    access: ['table:openings', 'sfn:start-only', 'events:put'],
  },
  // Reads the telemetry of DETECTOR_TARGETS (the tools' grants: lib/tool-adapters.ts, DETECTOR_TOOL_USE) and opens
  // incidents through the core intake, as ingest-alert does (sfn:respond: a RESOLVED detection withdraws a pending approval).
  {
    name: 'detect-anomalies',
    entry: 'functions/detect-anomalies/handler.ts',
    description: 'Every minute: scores the configured services\' metrics (anomaly detector, SLO burn rate) and opens or resolves incidents through the intake (source detector)',
    role: 'scheduled',
    memoryMb: 1024,
    timeoutSeconds: DETECT_ANOMALIES_TIMEOUT_SECONDS,
    access: ['table:read', 'table:write', 'sfn:start', 'sfn:respond', 'events:put'],
  },
];

export const functionSpec = (name: string): FunctionSpec => {
  const spec = FUNCTIONS.find((f) => f.name === name);
  if (!spec) throw new Error(`unknown function ${name}`);
  return spec;
};

/**
 * Modules left out of every bundle because the Lambda Node.js 22 runtime provides them (AWS SDK for JavaScript v3).
 * The stack bundles with these externals, and the benchmark measures bundles the same way.
 */
export const BUNDLE_EXTERNAL_MODULES: readonly string[] = ['@aws-sdk/*'];

/** What the opening sweeper's schedule sends (EventBridge Scheduler on AWS, the twin's timer): ignored, it names the invoker in the logs. */
export const SWEEP_SCHEDULE_INPUT = { source: 'incident-autopilot.schedule', task: 'sweep-openings' } as const;

/** What the detector's schedule sends (EventBridge Scheduler on AWS, the twin's timer): ignored, it names the invoker in the logs. */
export const DETECT_SCHEDULE_INPUT = { source: 'incident-autopilot.schedule', task: 'detect-anomalies' } as const;

/** The header that carries the shared secret on the webhook, approval and rerun routes. */
export const SECRET_HEADER = 'x-autopilot-secret';

export interface ApiRoute {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** API Gateway route path, with `{param}` segments. */
  readonly path: string;
  /** The registry function behind it. */
  readonly function: string;
  /**
   * `secret`: the function verifies SECRET_HEADER (vendors and Retool can send only static headers);
   * `iam`: API Gateway checks a SigV4 signature (operators reading incidents);
   * `signed-link`: the function verifies the HMAC-signed, expiring token in the path (approvers' browsers can
   * send neither a header nor a signature);
   * `jwt`: a person signed in to the console: on AWS the HTTP API's JWT authorizer checks the Cognito token (Bearer)
   * before the function runs, and the function takes who decided from its claims (`signedInUser`, core/http.ts). The
   * laptop twin serves these routes on loopback without sign-in (nothing but the local user can reach them).
   */
  readonly auth: 'secret' | 'iam' | 'signed-link' | 'jwt';
}

/** Every HTTP route: the CDK AlertApi and the laptop twin's API both serve exactly these. */
export const API_ROUTES: readonly ApiRoute[] = [
  { method: 'POST', path: '/alerts/{source}', function: 'ingest-alert', auth: 'secret' },
  { method: 'GET', path: '/incidents', function: 'query-incidents', auth: 'iam' },
  { method: 'GET', path: '/incidents/{id}', function: 'query-incidents', auth: 'iam' },
  { method: 'POST', path: '/incidents/{id}/approval', function: 'decide-approval', auth: 'secret' },
  { method: 'POST', path: '/incidents/{id}/rerun', function: 'rerun-incident', auth: 'secret' },
  // GET shows the confirmation page and never decides (mail scanners open links); only the form's POST decides.
  { method: 'GET', path: '/approvals/{token}', function: 'approval-page', auth: 'signed-link' },
  { method: 'POST', path: '/approvals/{token}', function: 'approval-page', auth: 'signed-link' },
  // The API described (functions/core/api/openapi.ts): the document, and the same as a page.
  { method: 'GET', path: '/openapi.json', function: 'query-incidents', auth: 'iam' },
  { method: 'GET', path: '/docs', function: 'query-incidents', auth: 'iam' },
  // The console's charts: metrics of the incident's services, baseline bands, onset, change and action markers.
  { method: 'GET', path: '/incidents/{id}/signals', function: 'incident-signals', auth: 'iam' },
  { method: 'GET', path: '/console/incidents/{id}/signals', function: 'incident-signals', auth: 'jwt' },
  // The console's demo page: faults injected into the running simulated world.
  { method: 'GET', path: '/admin/faults', function: 'manage-faults', auth: 'jwt' },
  { method: 'POST', path: '/admin/faults', function: 'manage-faults', auth: 'jwt' },
  { method: 'DELETE', path: '/admin/faults/{id}', function: 'manage-faults', auth: 'jwt' },
  // The console's reads and decisions: the same functions, under /console with the signed-in user's token.
  { method: 'GET', path: '/console/incidents', function: 'query-incidents', auth: 'jwt' },
  { method: 'GET', path: '/console/incidents/{id}', function: 'query-incidents', auth: 'jwt' },
  { method: 'POST', path: '/console/incidents/{id}/approval', function: 'decide-approval', auth: 'jwt' },
  // Closing the loop: people resolve a closed incident (the secret route, and the console's), and the summary (counts
  // by status, the production accuracy of the diagnosis) for operators and for the console.
  { method: 'POST', path: '/incidents/{id}/resolution', function: 'resolve-incident', auth: 'secret' },
  { method: 'POST', path: '/console/incidents/{id}/resolution', function: 'resolve-incident', auth: 'jwt' },
  { method: 'GET', path: '/summary', function: 'query-incidents', auth: 'iam' },
  { method: 'GET', path: '/console/summary', function: 'query-incidents', auth: 'jwt' },
];

/** Substitution keys of the workflow definition that are not function ARNs. */
export const ASL_EVENT_BUS_KEY = 'EventBusName';
export const ASL_EVENT_SOURCE_KEY = 'EventSource';
export const EVENT_SOURCE = 'incident-autopilot';

/** The workflow definition file, relative to the project root. */
export const ASL_FILE = 'statemachine/incident-response.asl.json';
