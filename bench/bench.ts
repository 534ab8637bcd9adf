/**
 * Benchmark of the laptop twin (`npm run bench`): real handlers, real ASL, in-process twin with DynamoDB in
 * memory, Wait states at 0 ms and approvals given through the approval API as soon as they are requested.
 *
 * Prints JSON:
 *   medianMs, p95Ms          webhook accepted (202) → outcome event published, 50 sequential db-pool-exhaustion incidents
 *   incidentsPerSecond       100 incidents with 20 in flight (first POST → last outcome event)
 *   transitionsPerIncident   states entered per execution (the sequential runs)
 *   cpuMsPerIncident         CPU time of the whole process (every thread: handlers, state machine, dynalite) per
 *                            incident in the concurrent phase; on N cores incidentsPerSecond cannot pass N × 1000 / it
 *   cpuMsPerIncidentByThread the same split by thread: `main` (handlers, the AWS SDK's client side, the state machine,
 *                            the API), `dynamodb` (dynalite's thread), `other` (V8's GC helpers; handler workers
 *                            with AUTOPILOT_ISOLATION=workers); no thread can pass 1000 / its figure per second
 *   bundleBytes              function → bytes of its esbuild bundle as the default stack deploys it (tools=configured,
 *                            no LLM: node, esm, node22, bundle, minify, the stack's defines, BUNDLE_EXTERNAL_MODULES — the
 *                            AWS SDK — left to the Lambda runtime)
 *   bundleBytesSdkBundled    the same with the AWS SDK bundled too (for a runtime without it)
 *   bundleBytesAllRows       every adapter row and the openai SDK bundled (no defines: what no deployment ships)
 *   bundleBytesByTools       per stack `tools` choice (configured, simulated, aws; no LLM endpoint), function → bytes
 *                            of its bundle with the stack's own defines (the unused adapter rows and the openai SDK
 *                            left out), `sdkExternal` as deployed and `sdkBundled`
 * Targets (ISSUE): median < 150 ms, >= 20 incidents/s, every bundle < 1 MB.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_EXTERNAL_MODULES, FUNCTIONS } from '../functions/registry.ts';
import { LLM_OMIT_SWITCH } from '../lib/incident-functions.ts';
import { omitDefines, resolveToolSettings, TOOLS_CHOICES } from '../lib/tool-adapters.ts';
import { ApiClient, type AcceptedAlert } from '../lib/local/client.ts';
import { ApprovalWatcher, decideWhenRequested, seedScenario } from '../lib/local/incident-run.ts';
import { projectRoot } from '../lib/local/lambda-runtime.ts';
import { type BusEvent, startTwin, type StateEvent, type Twin } from '../lib/local/twin.ts';

const SCENARIO = 'db-pool-exhaustion';
/** Waits are skipped, so the world shows a mitigation at once (it would take a minute or two on a real fleet). */
const SEED = { recoveryLagSeconds: 0 } as const;
const SEQUENTIAL = 50;
const CONCURRENT_TOTAL = 100;
const IN_FLIGHT = 20;
const WARM_UP = 3;
const PER_INCIDENT_TIMEOUT_MS = 60_000;
const OUTCOMES = new Set(['Incident Resolved', 'Incident Escalated', 'Incident Failed']);

const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};

/** Outcome events by incident, waitable whether they arrive before or after the webhook's answer. */
class Outcomes {
  readonly #seen = new Map<string, { at: number; detailType: string }>();
  readonly #waiting = new Map<string, (o: { at: number; detailType: string }) => void>();

  constructor(twin: Twin) {
    twin.onEvent((e: BusEvent) => {
      const id = (e.detail as { incidentId?: string }).incidentId;
      if (!id || !OUTCOMES.has(e['detail-type'])) return;
      const outcome = { at: performance.now(), detailType: e['detail-type'] };
      this.#seen.set(id, outcome);
      this.#waiting.get(id)?.(outcome);
    });
  }

  wait(incidentId: string): Promise<{ at: number; detailType: string }> {
    const seen = this.#seen.get(incidentId);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no outcome event for ${incidentId} within ${PER_INCIDENT_TIMEOUT_MS} ms`)), PER_INCIDENT_TIMEOUT_MS);
      this.#waiting.set(incidentId, (o) => {
        clearTimeout(timer);
        this.#waiting.delete(incidentId);
        resolve(o);
      });
    });
  }
}

interface Run {
  readonly accepted: AcceptedAlert;
  readonly latencyMs: number;
  readonly outcome: string;
}

const runOne = async (twin: Twin, api: ApiClient, watcher: ApprovalWatcher, outcomes: Outcomes, alert: { source: string; payload: unknown }): Promise<Run> => {
  const { status, body } = await api.sendAlert(alert.source, alert.payload);
  const acceptedAt = performance.now();
  if (status !== 202) throw new Error(`webhook answered ${status}`);
  // Awaited together: a failed decision must reject this run, not surface later as an unhandled rejection.
  const [outcome] = await Promise.all([outcomes.wait(body.incidentId), decideWhenRequested(twin, watcher, api, body, 'approve', 'bench')]);
  await twin.waitForExecution(body.executionArn ?? body.incidentId, PER_INCIDENT_TIMEOUT_MS);
  watcher.forget(body.incidentId);
  return { accepted: body, latencyMs: outcome.at - acceptedAt, outcome: outcome.detailType };
};

const measureWorkflow = async () => {
  const twin = await startTwin({ inMemory: true, waitOverrideMs: 0, console: false });
  try {
    const api = new ApiClient(twin.url, twin.secret);
    const watcher = new ApprovalWatcher(twin);
    const outcomes = new Outcomes(twin);
    const entered = new Map<string, number>();
    twin.onStateEvent((e: StateEvent) => e.type === 'entered' && entered.set(e.executionArn, (entered.get(e.executionArn) ?? 0) + 1));

    for (let i = 0; i < WARM_UP; i += 1) await runOne(twin, api, watcher, outcomes, (await seedScenario(twin, SCENARIO, SEED)).alert);

    const sequential: Run[] = [];
    for (let i = 0; i < SEQUENTIAL; i += 1) {
      const { alert } = await seedScenario(twin, SCENARIO, SEED); // the vendor's world: not part of the measurement
      sequential.push(await runOne(twin, api, watcher, outcomes, alert));
    }

    const alerts: { source: string; payload: unknown }[] = [];
    for (let i = 0; i < CONCURRENT_TOTAL; i += 1) alerts.push((await seedScenario(twin, SCENARIO, SEED)).alert);
    let next = 0;
    const concurrent: Run[] = [];
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const mainBefore = process.threadCpuUsage();
    const dynamodbBefore = await twin.dynamodbCpuUsage();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < alerts.length) {
          const alert = alerts[next];
          next += 1;
          concurrent.push(await runOne(twin, api, watcher, outcomes, alert));
        }
      }),
    );
    const elapsedS = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const main = process.threadCpuUsage(mainBefore);
    const dynamodbAfter = await twin.dynamodbCpuUsage();
    watcher.stop();

    const perIncident = (usage: NodeJS.CpuUsage) => Math.round((usage.user + usage.system) / 1000 / concurrent.length);
    const latencies = sequential.map((r) => r.latencyMs);
    const transitions = sequential.map((r) => entered.get(r.accepted.executionArn ?? '') ?? 0);
    const outcomeCounts: Record<string, number> = {};
    for (const r of [...sequential, ...concurrent]) outcomeCounts[r.outcome] = (outcomeCounts[r.outcome] ?? 0) + 1;
    return {
      medianMs: Math.round(percentile(latencies, 50) * 10) / 10,
      p95Ms: Math.round(percentile(latencies, 95) * 10) / 10,
      incidentsPerSecond: Math.round((concurrent.length / elapsedS) * 10) / 10,
      transitionsPerIncident: Math.round((transitions.reduce((a, b) => a + b, 0) / transitions.length) * 10) / 10,
      cpuMsPerIncident: perIncident(cpu),
      cpuMsPerIncidentByThread: {
        main: perIncident(main),
        dynamodb: perIncident({ user: dynamodbAfter.user - dynamodbBefore.user, system: dynamodbAfter.system - dynamodbBefore.system }),
        other: perIncident({ user: cpu.user - main.user - (dynamodbAfter.user - dynamodbBefore.user), system: cpu.system - main.system - (dynamodbAfter.system - dynamodbBefore.system) }),
      },
      cores: availableParallelism(),
      outcomes: outcomeCounts,
      runs: { sequential: sequential.length, concurrent: concurrent.length, inFlight: IN_FLIGHT },
    };
  } finally {
    await twin.stop();
  }
};

const measureBundles = async (external: string[], define: Record<string, string> = {}): Promise<Record<string, number>> => {
  const dir = mkdtempSync(join(tmpdir(), 'autopilot-bundles-'));
  try {
    const sizes: Record<string, number> = {};
    for (const f of FUNCTIONS) {
      const outfile = join(dir, `${f.name}.mjs`);
      await build({ entryPoints: [join(projectRoot(), f.entry)], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node22', minify: true, external, define, logLevel: 'silent' });
      sizes[f.name] = statSync(outfile).size;
    }
    return sizes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

const main = async () => {
  const workflow = await measureWorkflow();
  const bundleBytesAllRows = await measureBundles([...BUNDLE_EXTERNAL_MODULES]);
  const bundleBytesByTools: Record<string, { sdkExternal: Record<string, number>; sdkBundled: Record<string, number>; largestSdkExternal: number; largestSdkBundled: number }> = {};
  for (const tools of TOOLS_CHOICES) {
    // The stack's own defines for this choice (lib/incident-functions.ts): unused rows and the openai SDK left out.
    const define = { ...omitDefines(resolveToolSettings({ tools }).omitted), [LLM_OMIT_SWITCH]: JSON.stringify('true') };
    const sdkExternal = await measureBundles([...BUNDLE_EXTERNAL_MODULES], define);
    const sdkBundled = await measureBundles([], define);
    bundleBytesByTools[tools] = { sdkExternal, sdkBundled, largestSdkExternal: Math.max(...Object.values(sdkExternal)), largestSdkBundled: Math.max(...Object.values(sdkBundled)) };
  }
  const { sdkExternal: bundleBytes, sdkBundled: bundleBytesSdkBundled } = bundleBytesByTools.configured!;
  // Every deployment the stack can make: the largest bundle of any tools choice.
  const largest = Math.max(...Object.values(bundleBytesByTools).map((b) => b.largestSdkExternal));
  const largestSdkBundled = Math.max(...Object.values(bundleBytesByTools).map((b) => b.largestSdkBundled));
  const result = {
    scenario: SCENARIO,
    ...workflow,
    bundleBytes,
    bundleBytesSdkBundled,
    bundleBytesAllRows,
    bundleBytesByTools,
    targets: {
      medianUnder150Ms: workflow.medianMs < 150,
      atLeast20PerSecond: workflow.incidentsPerSecond >= 20,
      everyBundleUnder1MB: largest < 1024 * 1024,
      everyBundleUnder1MBSdkBundled: largestSdkBundled < 1024 * 1024,
    },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
};

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
