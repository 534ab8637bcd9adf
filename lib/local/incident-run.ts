/**
 * Runs scenarios through a twin the way production would see them: a simulated world is written to the
 * twin's table, the scenario's alert is POSTed to the real webhook with the shared secret (as the vendor
 * would send it), and a human's approval, when asked for, arrives through the real approval API.
 * Used by `autopilot simulate`, the `serve` demo, the benchmark and the whole-workflow tests.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { findScenario, type Scenario } from '../../functions/core/world/scenario.ts';
import { createWorld, scenarioAlert, type ScenarioAlert, type WorldState } from '../../functions/core/world/world.ts';
import { ensureLiveWorld as ensureWorld } from '../../functions/core/world/faults.ts';
import { DynamoWorldStore } from '../../functions/core/world/world-store.ts';
import { type AcceptedAlert, ApiClient, ApiError, type Decision, type IncidentView } from './client.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, TABLE_NAME } from './constants.ts';
import type { Twin } from './twin.ts';

export type ApproveMode = 'auto' | 'manual' | 'reject';

/** Creates a world for the scenario in the twin's table and returns the vendor payload of its alert. */
export const seedScenario = async (
  twin: Twin,
  scenarioOrName: string | Scenario,
  opts: { source?: ScenarioAlert['source']; now?: Date; recoveryLagSeconds?: number; worldId?: string } = {},
): Promise<{ worldId: string; alert: ScenarioAlert }> => {
  const scenario = typeof scenarioOrName === 'string' ? findScenario(scenarioOrName) : scenarioOrName;
  // The world id seeds the world's noise: a fixed id replays the same world, a fresh one draws a new one.
  const worldId = opts.worldId ?? `w-${randomBytes(5).toString('hex')}`;
  const world = createWorld(scenario, { id: worldId, now: opts.now ?? new Date(), recoveryLagSeconds: opts.recoveryLagSeconds });
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: twin.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }));
  try {
    await new DynamoWorldStore(doc, TABLE_NAME).putWorld(world);
  } finally {
    doc.destroy();
  }
  return { worldId, alert: scenarioAlert(world, opts.source) };
};

/**
 * Makes sure the twin holds the live world (LIVE_WORLD_ID): created on first start from its fault-free base
 * (events/worlds/live.json), otherwise left running as it is — its injected faults, executed mitigations and clock
 * survive a restart, as the data directory does. What `autopilot serve` does at start.
 */
export const ensureLiveWorld = async (twin: Twin, now: Date = new Date()): Promise<{ world: WorldState; created: boolean }> => {
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: twin.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }));
  try {
    return await ensureWorld(new DynamoWorldStore(doc, TABLE_NAME), now);
  } finally {
    doc.destroy();
  }
};

/**
 * Watches a twin for incidents whose approval is pending: the `Approval Requested` event, which "Request
 * approval" publishes once the task token is stored. Start it BEFORE sending the alert: a fast workflow can ask
 * before the webhook's answer names the incident.
 */
export class ApprovalWatcher {
  readonly #reached = new Map<string, PromiseWithResolvers<void>>();
  readonly #unsubscribe: () => void;

  constructor(twin: Twin) {
    this.#unsubscribe = twin.onEvent((e) => {
      const incidentId = (e.detail as { incidentId?: unknown } | undefined)?.incidentId;
      if (e['detail-type'] === 'Approval Requested' && typeof incidentId === 'string') this.#entry(incidentId).resolve();
    });
  }

  #entry(incidentId: string): PromiseWithResolvers<void> {
    let entry = this.#reached.get(incidentId);
    if (!entry) {
      entry = Promise.withResolvers<void>();
      this.#reached.set(incidentId, entry);
    }
    return entry;
  }

  reached(incidentId: string): Promise<void> {
    return this.#entry(incidentId).promise;
  }

  forget(incidentId: string): void {
    this.#reached.delete(incidentId);
  }

  stop(): void {
    this.#unsubscribe();
  }
}

/**
 * Decides an incident's approval through the API as soon as it is pending. Resolves `false` if the
 * execution ends without asking (the plan was auto-approved or had no action).
 */
export const decideWhenRequested = async (twin: Twin, watcher: ApprovalWatcher, api: ApiClient, accepted: AcceptedAlert, decision: Decision, approver: string): Promise<boolean> => {
  const ended = twin.waitForExecution(accepted.executionArn ?? accepted.incidentId, 10 * 60_000).then(() => 'ended' as const);
  const outcome = await Promise.race([watcher.reached(accepted.incidentId).then(() => 'reached' as const), ended]);
  if (outcome === 'ended') return false;
  // The event follows the stored token, so the approval is PENDING now — unless someone decided first (409).
  try {
    await api.decide(accepted.incidentId, decision, approver, decision === 'reject' ? 'rejected by the simulation' : undefined);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) return false;
    throw error;
  }
};

export interface SimulationResult {
  readonly id: string;
  readonly status: string;
  readonly title?: unknown;
  readonly service?: unknown;
  readonly severity?: unknown;
  readonly scenario: string;
  readonly worldId: string;
  readonly executionArn?: string;
  readonly execution: { status: string; error?: string; cause?: string };
  readonly rootCauses: unknown[];
  readonly plan?: unknown;
  readonly approval?: unknown;
  readonly mitigation?: unknown;
  readonly verification?: unknown;
  readonly outcome?: unknown;
  readonly reportPath?: string;
  readonly timings: { state: string; ms: number }[];
  readonly totalMs: number;
}

/** Sends one scenario alert and follows the incident to the end of its execution. */
export const runScenario = async (
  twin: Twin,
  opts: {
    /** A built-in scenario's name, or a scenario itself (e.g. a renamed one). */
    scenario: string | Scenario;
    approve: ApproveMode;
    /** Seeds the world's noise (see `seedScenario`). @default a fresh random id */
    worldId?: string;
    approver?: string;
    source?: ScenarioAlert['source'];
    /**
     * How long the world takes to show a mitigation in its metrics. The world runs on the wall clock, so it
     * must fit in the verification window: 0 when Wait states are skipped (time compressed). @default 0
     */
    recoveryLagSeconds?: number;
  },
): Promise<SimulationResult> => {
  const api = new ApiClient(twin.url, twin.secret);
  const watcher = new ApprovalWatcher(twin);
  try {
    const { worldId, alert } = await seedScenario(twin, opts.scenario, { source: opts.source, recoveryLagSeconds: opts.recoveryLagSeconds ?? 0, worldId: opts.worldId });
    const started = Date.now();
    const { body: accepted } = await api.sendAlert(alert.source, alert.payload);
    const arn = accepted.executionArn ?? accepted.incidentId;
    if (opts.approve !== 'manual') await decideWhenRequested(twin, watcher, api, accepted, opts.approve === 'auto' ? 'approve' : 'reject', opts.approver ?? 'autopilot-simulate');
    const execution = await twin.waitForExecution(arn, 30 * 60_000);
    const view = await api.getIncident(accepted.incidentId);
    return summarise(view, { scenario: typeof opts.scenario === 'string' ? opts.scenario : opts.scenario.name, worldId, executionArn: accepted.executionArn, execution, timings: twin.stateTimings(accepted.executionArn ?? ''), totalMs: Date.now() - started });
  } finally {
    watcher.stop();
  }
};

const output = (view: IncidentView, agent: string): Record<string, unknown> | undefined => view.agents?.[agent]?.output as Record<string, unknown> | undefined;

/** The incident as `simulate --json` prints it: the decisions, not the raw records. */
export const summarise = (
  view: IncidentView,
  run: { scenario: string; worldId: string; executionArn?: string; execution: { status: string; error?: string; cause?: string }; timings: { state: string; ms: number }[]; totalMs: number },
): SimulationResult => {
  const rootCause = output(view, 'rootcause');
  const rootCauses = ((rootCause?.rootCauses as Record<string, unknown>[] | undefined) ?? [])
    .map((h) => ({ summary: h.summary, service: h.service, category: h.category, ...(h.changeId ? { changeId: h.changeId } : {}), ...(h.culprit ? { culprit: h.culprit } : {}), ...(h.mechanism ? { mechanism: h.mechanism } : {}), confidence: h.confidence, evidenceIds: h.evidenceIds ?? [] }))
    .sort((a, b) => Number(b.confidence) - Number(a.confidence));
  const report = output(view, 'report');
  const location = (view.incident.reportLocation ?? report?.location) as string | undefined;
  return {
    id: view.incident.incidentId,
    status: view.incident.status,
    title: view.incident.title,
    service: view.incident.service,
    severity: view.incident.severity,
    scenario: run.scenario,
    worldId: run.worldId,
    executionArn: run.executionArn,
    execution: { status: run.execution.status, ...(run.execution.error ? { error: run.execution.error, cause: run.execution.cause } : {}) },
    rootCauses,
    plan: output(view, 'plan'),
    approval: view.incident.approval,
    mitigation: output(view, 'execution'),
    verification: output(view, 'verification'),
    outcome: view.incident.outcome ?? report?.outcome,
    reportPath: location,
    timings: run.timings,
    totalMs: run.totalMs,
  };
};
