/**
 * The laptop twin: the real handlers and the real ASL, offline. It serves on loopback DynamoDB (dynalite),
 * Step Functions (aws-local-stepfunctions behind the JSON API), EventBridge, Secrets Manager and the HTTP
 * API, and points the unchanged handlers at them through configuration only (AWS_ENDPOINT_URL_* and the
 * variables of functions/core/config.ts). The handlers contain no local-only branch.
 *
 * One twin per process: handlers read their configuration once, at import ("cold start"), and ES modules
 * cannot be re-imported, so a second twin in the same process would talk to the first one's endpoints.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { ASL_EVENT_BUS_KEY, ASL_EVENT_SOURCE_KEY, DETECT_SCHEDULE_INPUT, EVENT_SOURCE, FUNCTIONS, SWEEP_SCHEDULE_INPUT } from '../../functions/registry.ts';
import type { SweepReport } from '../../functions/sweep-openings/core.ts';
import { DETECTOR_TARGETS, type DetectionReport, type DetectorTarget, DetectorTargets } from '../../functions/detect-anomalies/core.ts';
import { substitute, workflowDefinition } from '../workflow-definition.ts';
import { buildConsole } from '../../console/build.ts';
import { type ApiLimits, type ThrottleStats, startApi } from './api-gateway.ts';
import { ConsoleSite } from './console-site.ts';
import { startAwsJsonServer } from './aws-json.ts';
import { EVENT_BUS_NAME, LIVE_WORLD_ID, LOCAL_CREDENTIALS, LOCAL_REGION, STATE_MACHINE_ARN, TABLE_NAME, WEBHOOK_SECRET_ID, lambdaArn } from './constants.ts';
import { startDynamo } from './dynamodb.ts';
import { type BusEvent, EventBus, eventBridgeService } from './event-bus.ts';
import { type Isolation, LocalLambdas } from './lambda-runtime.ts';
import { generateSecret, loadOrCreateSecret, secretsManagerService } from './secrets.ts';
import { type CompressedWait, type ExecutionResult, LocalStepFunctions, type StateEvent, stepFunctionsService } from './step-functions.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoIncidentStore } from '../../functions/core/store/dynamo-store.ts';
import { DynamoWorldStore, WorldNotFound } from '../../functions/core/world/world-store.ts';

export type { StateEvent } from './step-functions.ts';
export type { BusEvent } from './event-bus.ts';
export type { SweepReport } from '../../functions/sweep-openings/core.ts';
export type { DetectionReport, DetectorTarget } from '../../functions/detect-anomalies/core.ts';

export interface TwinOptions {
  /** Where data lives (DynamoDB, events.jsonl, secret, reports). @default '.autopilot' under the cwd */
  dataDir?: string;
  /** Port of the HTTP API; 0 picks a free one. @default 0 */
  port?: number;
  /** Tests: DynamoDB and events in memory, a temporary report directory removed on stop. */
  inMemory?: boolean;
  /** Deadline of the approval task. @default 3600 */
  approvalTimeoutSeconds?: number;
  /**
   * Pause between verification checks (VERIFY_WAIT_SECONDS). @default 3, or 120 (as on AWS) with `waitOverrideMs`: the
   * wait is then compressed and advances the simulated world's clock by its full length.
   */
  verifyWaitSeconds?: number;
  /** MAX_VERIFY_CHECKS. @default 5 */
  maxVerifyChecks?: number;
  /**
   * When set, every Wait state pauses this many milliseconds instead. The time it skips is not lost: with the
   * simulated tools, the incident's world clock is advanced by it (`advanceWorldClock`), so a verification after a
   * compressed wait reads minutes the world model computed, not the seconds that really passed.
   */
  waitOverrideMs?: number;
  /** Where reports are written (REPORT_DIR). @default `<dataDir>/reports` */
  reportDir?: string;
  /**
   * Where handlers run: `inline` — on the twin's thread, sharing warm caches (lowest latency per incident);
   * `workers` — a few worker threads, each its own isolate like a Lambda execution environment, so parallel
   * states use every core (higher throughput, and no state shared between functions, as on AWS).
   * @default AUTOPILOT_ISOLATION, else 'inline'
   */
  isolation?: Isolation;
  /** The approval policy (AUTO_APPROVE_LOW_RISK): false sends every plan to a human. @default true */
  autoApproveLowRisk?: boolean;
  /** Function name → error name: every invocation of that function fails with it (failure-path tests). */
  faults?: Readonly<Record<string, string>>;
  /** Called when an API handler fails (API Gateway would answer 500); the twin's stand-in for CloudWatch Logs. */
  onApiError?: (route: string, error: unknown) => void;
  /** Requests per API function at once before the API answers 429 (api-gateway.ts). @default apiLimitsFromEnv() */
  apiLimits?: ApiLimits;
  /**
   * Milliseconds between two runs of the opening sweeper (functions/sweep-openings): the laptop's stand-in for the
   * EventBridge Scheduler schedule (every 5 minutes on AWS), scaled down because a laptop twin is stopped and started
   * often. A timer that never keeps the process alive; 0 turns it off (`sweepOpenings()` still runs one sweep).
   * @default 0 (off) with `inMemory`, so tests turn it on; else DEFAULT_TWIN_SWEEP_INTERVAL_MS
   */
  sweepIntervalMs?: number;
  /** Called after each timed sweep with its report, or with the error it failed with. */
  onSweep?: (result: { readonly report: SweepReport } | { readonly error: unknown }) => void;
  /**
   * Milliseconds between two runs of the anomaly detector (functions/detect-anomalies): the laptop's stand-in for its
   * EventBridge Scheduler schedule (every minute on AWS). A timer that never keeps the process alive, one run at a time;
   * 0 turns it off (`detect()` still runs once).
   * @default 0 (off) with `inMemory`, so tests turn it on; else DEFAULT_TWIN_DETECT_INTERVAL_MS
   */
  detectIntervalMs?: number;
  /**
   * What the detector watches (DETECTOR_TARGETS, set before the handlers load). A target whose world does not exist
   * yet is reported skipped, quietly, until it does.
   * @default [{ environment: LIVE_WORLD_ID }] — the simulated world `autopilot serve` keeps for the demo
   */
  detectorTargets?: readonly DetectorTarget[];
  /** Called after each timed detection with its report, or with the error it failed with. */
  onDetect?: (result: { readonly report: DetectionReport } | { readonly error: unknown }) => void;
  /**
   * The tools' default (TOOLS_DEFAULT, functions/core/tools/runtime.ts): `simulated` — the simulated world behind every
   * port no adapter variable configures (the twin, `simulate`, `eval`, the bench and the demo); `none` — such ports
   * are reported gaps, as in a deployment that did not choose the simulator.
   * @default 'simulated'. `recorded` — the recorded adapter behind every such port (`autopilot eval` on recordings).
   * `aws` — the AWS adapters (X-Ray, CloudWatch, Logs Insights, CloudTrail, tags, rollbacks) against `awsEndpoint`.
   */
  tools?: 'simulated' | 'recorded' | 'aws' | 'none';
  /**
   * With `tools: 'aws'` (required then): where the account's AWS APIs answer — the loopback fake of a recorded account
   * (aws-account.ts). Every AWS service the twin does not serve itself goes there (AWS_ENDPOINT_URL and the
   * AWS_ENDPOINT_URL_<SERVICE> of each service the aws adapters call), so nothing reaches a real account.
   */
  awsEndpoint?: string;
  /**
   * Variables for the tool adapters, set with the twin's own before the handlers are imported (as the stack's
   * `toolsEnvironment`): AWS_SERVICE_MAP, AWS_ONCALL_ROSTER_PARAMETER, AWS_ACTIONS_RESOURCES, RECORDINGS_DIR, …
   * A variable the twin sets itself is refused (TwinOptionInvalid naming it).
   */
  toolsEnvironment?: Readonly<Record<string, string>>;
  /**
   * Build the console (console/build.ts) into `<dataDir>/console` at start and serve it at `/` (lib/local/console-site.ts).
   * Headless runs (eval, simulate, the benches) turn it off: nobody opens it, and the build costs a moment at start.
   * @default true
   */
  console?: boolean;
}

export interface Twin {
  /** Base URL of the HTTP API (the webhook and the incident routes). */
  readonly url: string;
  /** The console's page (`<url>/`), or undefined when started with `console: false`. */
  readonly consoleUrl: string | undefined;
  /** The webhook shared secret (header `x-autopilot-secret`). */
  readonly secret: string;
  readonly dataDir: string;
  readonly reportDir: string;
  /** Where the twin's AWS services listen (also exported as AWS_ENDPOINT_URL_* for the handlers). */
  readonly endpoints: { readonly dynamodb: string; readonly stepFunctions: string; readonly eventBridge: string; readonly secretsManager: string };
  onStateEvent(listener: (e: StateEvent) => void): () => void;
  /** Every event published to the bus (PutEvents from handlers and the state machine). */
  onEvent(listener: (e: BusEvent) => void): () => void;
  waitForExecution(executionArnOrName: string, timeoutMs?: number): Promise<ExecutionResult>;
  /** Whether this twin (since it started) knows the execution: executions do not survive a restart. */
  hasExecution(executionArnOrName: string): boolean;
  stateTimings(executionArn: string): { state: string; ms: number }[];
  events(): unknown[];
  /** CPU time used so far by dynalite's thread (the handlers and the state machine run on the calling thread). */
  dynamodbCpuUsage(): Promise<NodeJS.CpuUsage>;
  /** Per API function: requests admitted, queued and shed with 429 by the API's load shedding. */
  apiThrottleStats(): Record<string, ThrottleStats>;
  /** Runs the opening sweeper once, now: the same handler the schedule invokes on AWS, with the schedule's input. */
  sweepOpenings(): Promise<SweepReport>;
  /** Runs the anomaly detector once, now: the same handler the schedule invokes on AWS, with the schedule's input. */
  detect(): Promise<DetectionReport>;
  stop(): Promise<void>;
}

export class TwinAlreadyStarted extends Error {
  override name = 'TwinAlreadyStarted';
}

let started = false;

export const DEFAULT_DATA_DIR = '.autopilot';
/** The twin's sweep period (AWS: 5 minutes). An interrupted opening is taken over a lease (1 min) after it was left. */
export const DEFAULT_TWIN_SWEEP_INTERVAL_MS = 30_000;
/** The twin's detection period: as on AWS, a minute (the detector scores one-minute points). */
export const DEFAULT_TWIN_DETECT_INTERVAL_MS = 60_000;

export class TwinOptionInvalid extends Error {
  override name = 'TwinOptionInvalid';
}

export const startTwin = async (opts: TwinOptions = {}): Promise<Twin> => {
  const sweepIntervalMs = intervalOf(opts, 'sweepIntervalMs', DEFAULT_TWIN_SWEEP_INTERVAL_MS);
  const detectIntervalMs = intervalOf(opts, 'detectIntervalMs', DEFAULT_TWIN_DETECT_INTERVAL_MS);
  const detectorTargets = detectorTargetsOf(opts);
  checkToolOptions(opts);
  if (started) throw new TwinAlreadyStarted('a laptop twin was already started in this process (handlers keep the configuration of their first import); start one twin per process');
  started = true;
  let configured = false;
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    const dataDir = opts.inMemory ? mkdtempSync(join(tmpdir(), 'autopilot-twin-')) : resolve(opts.dataDir ?? DEFAULT_DATA_DIR);
    if (opts.inMemory) cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    mkdirSync(dataDir, { recursive: true });
    const reportDir = resolve(opts.reportDir ?? join(dataDir, 'reports'));
    mkdirSync(reportDir, { recursive: true });
    const secret = opts.inMemory ? generateSecret() : loadOrCreateSecret(join(dataDir, 'secret'));

    const dynamo = await startDynamo({ path: opts.inMemory ? undefined : join(dataDir, 'dynamodb'), tableName: TABLE_NAME });
    cleanups.push(() => dynamo.stop());
    const bus = new EventBus(opts.inMemory ? undefined : join(dataDir, 'events.jsonl'));
    const lambdas = new LocalLambdas(undefined, opts.faults, opts.isolation ?? isolationFromEnv());
    const substitutions: Record<string, string> = { [ASL_EVENT_BUS_KEY]: EVENT_BUS_NAME, [ASL_EVENT_SOURCE_KEY]: EVENT_SOURCE };
    for (const f of FUNCTIONS) if (f.aslKey) substitutions[f.aslKey] = lambdaArn(f.name);
    const definition = substitute(workflowDefinition({ approvalTimeoutSeconds: opts.approvalTimeoutSeconds }), substitutions);
    const worldClock = (opts.tools ?? 'simulated') === 'simulated' && opts.waitOverrideMs !== undefined ? worldClockAdvancer(dynamo.endpoint) : undefined;
    if (worldClock) cleanups.push(() => worldClock.close());
    const sfn = new LocalStepFunctions({
      definition: definition as unknown as StateMachineDefinition,
      lambdas,
      bus,
      defaultEventBus: EVENT_BUS_NAME,
      waitOverrideMs: opts.waitOverrideMs,
      ...(worldClock ? { onWaitCompressed: worldClock.advance, onError: (error: Error) => console.warn(`world clock: ${error.message}`) } : {}),
    });
    const aws = await startAwsJsonServer([stepFunctionsService(sfn), eventBridgeService(bus, EVENT_BUS_NAME), secretsManagerService(new Map([[WEBHOOK_SECRET_ID, secret]]))]);
    cleanups.push(() => aws.stop());
    // Cleanups run in reverse: the API stops taking requests, executions are aborted, running handlers
    // finish (stopping dynalite under a handler crashes dynalite), then the services go.
    cleanups.push(() => lambdas.stop());
    cleanups.push(() => lambdas.drain(10_000));
    cleanups.push(() => sfn.stop());
    // Built fresh at each start (esbuild: well under a second), so the console always matches the code that serves it.
    const site = opts.console === false ? undefined : await consoleSite(join(dataDir, 'console'));
    const api = await startApi({
      port: opts.port ?? 0,
      invoke: (fn, event) => lambdas.invoke(fn, event),
      onError: opts.onApiError,
      limits: opts.apiLimits,
      ...(site ? { fallback: (req, res, path) => site.serve(req, res, path) } : {}),
    });
    cleanups.push(() => api.stop());

    configureEnvironment({ dynamoEndpoint: dynamo.endpoint, awsEndpoint: aws.endpoint, apiUrl: api.url, reportDir, opts, detectorTargets });
    configured = true;
    // Import every handler now ("cold start"): a missing or broken handler fails here, not mid-incident.
    await lambdas.preload();
    const sweepOpenings = async (): Promise<SweepReport> => (await lambdas.invoke(SWEEP_FUNCTION, SWEEP_SCHEDULE_INPUT)) as SweepReport;
    // Started last, stopped first (cleanups run in reverse): no sweep starts once the twin is stopping.
    cleanups.push(startScheduleTimer(sweepIntervalMs, sweepOpenings, opts.onSweep));
    const detect = async (): Promise<DetectionReport> => (await lambdas.invoke(DETECT_FUNCTION, DETECT_SCHEDULE_INPUT)) as DetectionReport;
    cleanups.push(startScheduleTimer(detectIntervalMs, detect, opts.onDetect));

    let stopped = false;
    return {
      url: api.url,
      consoleUrl: site ? `${api.url}/` : undefined,
      secret,
      dataDir,
      reportDir,
      endpoints: { dynamodb: dynamo.endpoint, stepFunctions: aws.endpoint, eventBridge: aws.endpoint, secretsManager: aws.endpoint },
      onStateEvent: (listener) => sfn.onStateEvent(listener),
      onEvent: (listener) => bus.onEvent(listener),
      waitForExecution: (arnOrName, timeoutMs) => sfn.waitFor(arnOrName, timeoutMs),
      hasExecution: (arnOrName) => sfn.has(arnOrName),
      stateTimings: (arn) => sfn.timings(arn),
      events: () => [...bus.events],
      dynamodbCpuUsage: () => dynamo.cpuUsage(),
      apiThrottleStats: () => api.throttleStats(),
      sweepOpenings,
      detect,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await runCleanups(cleanups);
      },
    };
  } catch (error) {
    await runCleanups(cleanups);
    if (!configured) started = false; // no handler was imported yet: a later start is safe
    throw error;
  }
};

/** Builds the console into `dir` and serves it; a failed build fails the start, naming the console. */
const consoleSite = async (dir: string): Promise<ConsoleSite> => {
  try {
    await buildConsole(dir);
  } catch (error) {
    throw new Error(`building the console (console/build.ts) failed: ${(error as Error).message}`, { cause: error });
  }
  return new ConsoleSite(dir);
};

/** The registry function the sweep timer invokes. */
const SWEEP_FUNCTION = 'sweep-openings';

/** The registry function the detection timer invokes. */
const DETECT_FUNCTION = 'detect-anomalies';

/** A timer's period: the option, else off with `inMemory` (tests turn it on), else the twin's default; 0 is off. */
const intervalOf = (opts: TwinOptions, option: 'sweepIntervalMs' | 'detectIntervalMs', defaultMs: number): number => {
  const ms = opts[option] ?? (opts.inMemory ? 0 : defaultMs);
  if (!Number.isInteger(ms) || ms < 0) throw new TwinOptionInvalid(`${option} must be a whole number of milliseconds ≥ 0 (0: off), got ${ms}`);
  return ms;
};

/** The detector's targets, checked by the detector's own schema before anything starts. */
const detectorTargetsOf = (opts: TwinOptions): DetectorTarget[] => {
  const parsed = DetectorTargets.safeParse(opts.detectorTargets ?? [{ environment: LIVE_WORLD_ID }]);
  if (!parsed.success) throw new TwinOptionInvalid(`detectorTargets: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(list)'}: ${i.message}`).join('; ')}`);
  return parsed.data;
};

/**
 * The laptop's stand-in for an EventBridge Scheduler schedule (the opening sweeper's, the detector's): runs `run` every
 * `intervalMs` (0: never) on an unref'd timer, one run at a time (a tick while a run is still going is skipped, as the
 * schedule's next invocation would find the work done). Returns the cleanup that stops it.
 */
const startScheduleTimer = <R>(intervalMs: number, run: () => Promise<R>, onRun: ((result: { readonly report: R } | { readonly error: unknown }) => void) | undefined): (() => void) => {
  if (intervalMs === 0) return () => undefined;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    run()
      .then((report) => onRun?.({ report }), (error: unknown) => onRun?.({ error }))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
};

/** The services the aws adapters call, by the SDK's endpoint variable (AWS_ENDPOINT_URL_ + the service id, upper case, `_` for blanks). */
export const AWS_TOOL_ENDPOINT_VARIABLES = [
  'AWS_ENDPOINT_URL_XRAY',
  'AWS_ENDPOINT_URL_CLOUDWATCH',
  'AWS_ENDPOINT_URL_CLOUDWATCH_LOGS',
  'AWS_ENDPOINT_URL_CLOUDTRAIL',
  'AWS_ENDPOINT_URL_CODEDEPLOY',
  'AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API',
  'AWS_ENDPOINT_URL_SSM',
  'AWS_ENDPOINT_URL_LAMBDA',
  'AWS_ENDPOINT_URL_ECS',
  'AWS_ENDPOINT_URL_APPCONFIG',
] as const;

/** The tool options agree with each other (checked before anything starts). */
const checkToolOptions = (opts: TwinOptions): void => {
  if (opts.tools === 'aws' && !opts.awsEndpoint) throw new TwinOptionInvalid("tools: 'aws' needs awsEndpoint: the twin has no AWS account of its own (start a recorded one with lib/local/aws-account.ts)");
  if (opts.awsEndpoint !== undefined) {
    if (opts.tools !== 'aws') throw new TwinOptionInvalid(`awsEndpoint is only used with tools: 'aws' (tools is ${JSON.stringify(opts.tools ?? 'simulated')})`);
    if (!/^https?:\/\/[^\s/]+(\/\S*)?$/.test(opts.awsEndpoint)) throw new TwinOptionInvalid(`awsEndpoint must be an http(s) URL, got ${JSON.stringify(opts.awsEndpoint)}`);
  }
  for (const [name, value] of Object.entries(opts.toolsEnvironment ?? {})) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new TwinOptionInvalid(`toolsEnvironment: ${JSON.stringify(name)} is not an environment variable name`);
    if (typeof value !== 'string') throw new TwinOptionInvalid(`toolsEnvironment.${name} must be a string`);
  }
};

/** Stops in reverse order of start: the API first (no new work), executions, then the services they use. */
const runCleanups = async (cleanups: (() => Promise<void> | void)[]): Promise<void> => {
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch {
      // Keep stopping the rest; a half-stopped twin would hold ports and files.
    }
  }
};

/**
 * VERIFY_WAIT_SECONDS when waits are compressed: the AWS default (DEFAULT_VERIFY_WAIT_SECONDS, 120 s), so each check
 * reads two more minutes of the world, as it would on AWS — the compressed wait costs no wall time either way.
 */
export const COMPRESSED_VERIFY_WAIT_SECONDS = 120;

/**
 * Where Wait compression meets the world clock: a compressed Wait of an incident whose environment is a simulated
 * world advances that world's clock by the time skipped (the wait's length less what was really waited). The
 * metrics of those minutes are then computed by the world model like any others (noise, the mitigation's ramp);
 * nothing is written but the clock. An incident without a simulated world (another tool, a missing world) is left
 * alone.
 */
const worldClockAdvancer = (endpoint: string): { advance: (wait: CompressedWait) => Promise<void>; close: () => void } => {
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }));
  const incidents = new DynamoIncidentStore(doc, TABLE_NAME);
  const worlds = new DynamoWorldStore(doc, TABLE_NAME);
  return {
    advance: async (wait) => {
      const skippedMs = Math.round(wait.seconds * 1000 - wait.waitedMs);
      if (skippedMs <= 0) return;
      const environment = (await incidents.getIncident(wait.incidentId))?.environment;
      if (!environment) return;
      try {
        await worlds.advanceClock(environment, skippedMs);
      } catch (error) {
        if (!(error instanceof WorldNotFound)) throw error;
      }
    },
    close: () => doc.destroy(),
  };
};

/** The only difference between AWS and the laptop: environment variables. */
const configureEnvironment = (p: { dynamoEndpoint: string; awsEndpoint: string; apiUrl: string; reportDir: string; opts: TwinOptions; detectorTargets: readonly DetectorTarget[] }): void => {
  const debug = Boolean(process.env.AUTOPILOT_DEBUG);
  const own: Record<string, string> = {
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: p.dynamoEndpoint,
    AWS_ENDPOINT_URL_SFN: p.awsEndpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: p.awsEndpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: p.awsEndpoint,
    TABLE_NAME,
    EVENT_BUS_NAME,
    STATE_MACHINE_ARN,
    WEBHOOK_SECRET_ID,
    API_BASE_URL: p.apiUrl,
    REPORT_DIR: p.reportDir,
    VERIFY_WAIT_SECONDS: String(p.opts.verifyWaitSeconds ?? (p.opts.waitOverrideMs !== undefined ? COMPRESSED_VERIFY_WAIT_SECONDS : 3)),
    MAX_VERIFY_CHECKS: String(p.opts.maxVerifyChecks ?? 5),
    AUTO_APPROVE_LOW_RISK: String(p.opts.autoApproveLowRisk ?? true),
    [DETECTOR_TARGETS]: JSON.stringify(p.detectorTargets),
    // The simulated world is chosen, never a silent fallback (functions/core/tools/runtime.ts).
    TOOLS_DEFAULT: p.opts.tools === 'none' ? '' : (p.opts.tools ?? 'simulated'),
    POWERTOOLS_LOG_LEVEL: debug ? 'DEBUG' : (process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN'),
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
    // No X-Ray here: without this, the X-Ray SDK (under Powertools Tracer) still installs async hooks that track
    // every promise's destruction for a trace context nobody reads — an eighth of the twin's CPU. On AWS the
    // variable is unset and tracing works as deployed. (Read when the SDK is first imported: the handlers are
    // imported after this.)
    AWS_XRAY_MANUAL_MODE: 'true',
    // The account's APIs (tools: 'aws'): the given endpoint for every AWS service the twin does not serve itself.
    ...(p.opts.tools === 'aws' && p.opts.awsEndpoint ? { AWS_ENDPOINT_URL: p.opts.awsEndpoint, ...Object.fromEntries(AWS_TOOL_ENDPOINT_VARIABLES.map((v) => [v, p.opts.awsEndpoint!])) } : {}),
  };
  const clash = Object.keys(p.opts.toolsEnvironment ?? {}).filter((name) => name in own);
  if (clash.length > 0) throw new TwinOptionInvalid(`toolsEnvironment may not set ${clash.join(', ')}: the twin sets ${clash.length > 1 ? 'them' : 'it'} itself`);
  Object.assign(process.env, own, p.opts.toolsEnvironment ?? {});
  // A session token from the user's shell would be sent with the fake keys; the twin does not need it.
  delete process.env.AWS_SESSION_TOKEN;
};

/** AUTOPILOT_ISOLATION=workers runs handlers in worker threads (e.g. `AUTOPILOT_ISOLATION=workers npm run bench`). */
const isolationFromEnv = (): Isolation => {
  const value = process.env.AUTOPILOT_ISOLATION;
  if (value === undefined || value === '') return 'inline';
  if (value !== 'workers' && value !== 'inline') throw new Error(`AUTOPILOT_ISOLATION must be "workers" or "inline", got "${value}"`);
  return value;
};
