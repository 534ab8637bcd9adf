#!/usr/bin/env node
/**
 * autopilot — the laptop twin's command line.
 *
 *   serve        run the twin (API, Step Functions, DynamoDB, EventBridge, Secrets Manager) until Ctrl-C;
 *                on first start, send the demo alert and show the incident moving through every state
 *   simulate     run one scenario end to end in an in-process twin and exit
 *   scenarios    list the scenarios
 *   eval         run every scenario and recorded incident through the whole workflow and score the diagnosis
 *                (top-1, top-3, Brier)
 *   metrics anomalies <file.csv>   anomaly score per row of a `timestamp,value` series, and the windows
 *   logs templates <file>          template id per log line, and the templates with counts
 *   import petshop <scenario-dir> --out <dir>   the PetShop dataset's cases of one traffic scenario as recordings
 *   inject <preset|file>, faults [end <id>]   inject a fault into the running simulated world (default: the live
 *                world `serve` keeps), list the faults, end one
 *   incidents, show, approve, reject, rerun, resolve, send, export <id> <dir> (what the agents saw, as a recording)
 *                talk to a running `serve` twin over HTTP (URL and secret from the data directory,
 *                or --url/--secret)
 * Every command takes --json for tools. Errors print one line and exit non-zero (AUTOPILOT_DEBUG=1 for stacks).
 *
 * Stored strings (alert titles, service names, agent outputs, timeline messages, approver names, log lines, API
 * messages) are untrusted: every one printed to the terminal goes through `safe` (functions/core/text.ts), which
 * shows control characters, escape sequences and bidi overrides as `\x1b`, `\n`, `\u202e` instead of sending them.
 * `--json` prints the original values (JSON escapes every control character).
 */
import { readFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { styleText } from 'node:util';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ApiClient, ApiError, type IncidentView, type ResolutionView, retryWhileBusy, type SummaryAnswer } from '../lib/local/client.ts';
import { FaultCategory } from '../functions/core/model.ts';
import { DEFAULT_PORT, LIVE_WORLD_ID } from '../lib/local/constants.ts';
import { PRESET_NAMES } from '../functions/core/world/preset-names.ts';
import { demoMarker, removeTwinInfo, resolveTwin, writeTwinInfo } from '../lib/local/data-dir.ts';
import { formatMs, Progress } from '../lib/local/progress.ts';
import { terminalBlock, terminalText as safe } from '../functions/core/text.ts';

const DEMO_SCENARIO = 'db-pool-exhaustion';
const SOURCES = ['dynatrace', 'alertmanager', 'datadog', 'cloudwatch', 'generic'] as const;
const OUTCOME_EVENTS = new Set(['Incident Resolved', 'Incident Escalated', 'Incident Failed']);

/** An error the CLI reports as one line. */
class CliError extends Error {
  override name = 'CliError';
}

const bold = (t: string) => styleText('bold', t, { stream: process.stdout });
const dim = (t: string) => styleText('dim', t, { stream: process.stdout });
const printJson = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};
/**
 * Until the returned function is called, whatever is written to stdout goes to stderr: a command that runs the
 * handlers in this process (eval) keeps stdout for its one JSON document, while their logger (AUTOPILOT_DEBUG,
 * POWERTOOLS_LOG_LEVEL) writes its lines to stdout.
 */
const stdoutToStderr = (): (() => void) => {
  const write = process.stdout.write;
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  return () => {
    process.stdout.write = write;
  };
};

const intBetween = (name: string, min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer between ${min} and ${max}`);
  return n;
};

interface GlobalOpts {
  dataDir: string;
  url?: string;
  secret?: string;
  json?: boolean;
}

// `autopilot scenarios | head`: a reader that closes early is the end of the output, not a crash with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const program = new Command()
  .name('autopilot')
  .description('Incident Autopilot on your laptop: the same handlers and state machine as on AWS, offline.')
  .option('--data-dir <dir>', 'where the twin keeps its data', '.autopilot')
  .option('--url <url>', 'API of a running twin (default: the one `serve` started in --data-dir)')
  .option('--secret <secret>', 'webhook shared secret (default: <data-dir>/secret)')
  .option('--json', 'machine-readable output')
  .showHelpAfterError();

const globals = (cmd: Command): GlobalOpts => cmd.optsWithGlobals<GlobalOpts>();

const apiFor = (cmd: Command): ApiClient => {
  const g = globals(cmd);
  const { url, secret } = resolveTwin({ dataDir: g.dataDir, url: g.url, secret: g.secret });
  return new ApiClient(url, secret);
};

// ───────────────────────────── serve ─────────────────────────────

program
  .command('serve')
  .description('run the laptop twin until Ctrl-C; on first start, send the demo alert and follow it')
  .option('--port <port>', 'API port', intBetween('--port', 0, 65_535), DEFAULT_PORT)
  .option('--no-demo', 'do not send the demo alert on first start')
  .addOption(new Option('--demo-approval <mode>', 'who approves the demo mitigation: auto (the demo approves through the API) or manual (you run `autopilot approve`)').choices(['auto', 'manual']).default('auto'))
  .option('--approval-timeout <seconds>', 'approval deadline before the incident escalates', intBetween('--approval-timeout', 1, 31_536_000), 3600)
  .option('--sweep-interval <seconds>', 'seconds between two runs of the opening sweeper, which starts incidents whose opening delivery died (0: only at start)', intBetween('--sweep-interval', 0, 86_400), 30)
  .option('--detect-interval <seconds>', 'seconds between two runs of the anomaly detector, which watches the live world and opens incidents itself (0: off)', intBetween('--detect-interval', 0, 86_400), 60)
  .action(async (opts: { port: number; demo: boolean; demoApproval: 'auto' | 'manual'; approvalTimeout: number; sweepInterval: number; detectInterval: number }, cmd: Command) => {
    const g = globals(cmd);
    const { startTwin } = await import('../lib/local/twin.ts');
    const json = Boolean(g.json);
    const progress = new Progress({ label: (e) => `${dim(safe(e.incidentId))}  ${safe(e.state)}` });
    const say = (text: string) => (json ? undefined : progress.line(text));
    const emit = (value: Record<string, unknown>) => json && process.stdout.write(`${JSON.stringify(value)}\n`);

    const twin = await startTwin({
      dataDir: g.dataDir,
      port: opts.port,
      approvalTimeoutSeconds: opts.approvalTimeout,
      // The simulated world runs on the wall clock and reports minute-grain metrics: verification needs a
      // couple of minutes of world time after the action to see recovery.
      verifyWaitSeconds: 20,
      maxVerifyChecks: 10,
      sweepIntervalMs: opts.sweepInterval * 1000,
      onSweep: (result) => {
        if ('error' in result) say(dim(`  (the opening sweep failed: ${safe((result.error as Error)?.message ?? String(result.error))})`));
        else if (result.report.takenOver.length > 0) reportSweep(result.report, say, emit);
      },
      detectIntervalMs: opts.detectInterval * 1000,
      onDetect: (result) => reportDetection(result, say, emit),
      onApiError: (route, error) => {
        const e = error instanceof Error ? error : new Error(String(error));
        process.stderr.write(`${styleText('red', '✖', { stream: process.stderr })} ${safe(route)}: ${safe(e.name)}: ${safe(e.message)}\n`);
      },
    }).catch((error: Error) => {
      if (error.name === 'EADDRINUSE' || (error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new CliError(`port ${opts.port} is in use: is another \`autopilot serve\` running? (or pass --port)`);
      throw error;
    });
    writeTwinInfo(g.dataDir, { url: twin.url, pid: process.pid, startedAt: new Date().toISOString() });
    const api = new ApiClient(twin.url, twin.secret);

    let shuttingDown = false;
    const shutdown = async () => {
      // A second Ctrl-C while the twin waits for running handlers (up to 10 s) leaves at once; the data on disk
      // is as consistent as after a crash, and twin.json is already gone.
      if (shuttingDown) process.exit(130);
      shuttingDown = true;
      progress.stop();
      say(dim('stopping the twin…'));
      removeTwinInfo(g.dataDir);
      await twin.stop();
      process.exit(0);
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);

    emit({ event: 'ready', url: twin.url, secret: twin.secret, dataDir: twin.dataDir, ...(twin.consoleUrl ? { consoleUrl: twin.consoleUrl } : {}) });
    say(`${bold('Incident Autopilot')} laptop twin is running`);
    if (twin.consoleUrl) say(`  Console    ${bold(twin.consoleUrl)}   (open it in a browser: incidents, approvals, the demo page)`);
    say(`  API        ${twin.url}   (POST /alerts/{source}, GET /incidents, POST /incidents/{id}/approval)`);
    say(`  API docs   ${twin.url}/docs   (OpenAPI: ${twin.url}/openapi.json)`);
    say(`  secret     ${twin.secret}   (header x-autopilot-secret)`);
    say(`  data       ${twin.dataDir}   (DynamoDB, events.jsonl, reports/)`);
    say(dim('  Ctrl-C stops it; the data stays for the next start.'));

    twin.onStateEvent((e) => (json ? emit({ event: 'state', ...e }) : progress.handle(e)));
    twin.onEvent((event) => {
      const detail = (event.detail ?? {}) as { incidentId?: string };
      emit({ event: 'bus', detailType: event['detail-type'], detail: event.detail });
      say(`  ${styleText('cyan', '⚑', { stream: process.stdout })} ${safe(event['detail-type'])} ${dim(`${safe(detail.incidentId)} → events.jsonl`)}`);
      if (OUTCOME_EVENTS.has(event['detail-type']) && detail.incidentId) {
        api
          .getIncident(detail.incidentId)
          .then((view) => {
            emit({ event: 'outcome', incidentId: detail.incidentId, status: view.incident.status, reportPath: view.incident.reportLocation });
            say(`${bold(`Incident ${safe(detail.incidentId)}: ${safe(view.incident.status)}`)}${view.incident.reportLocation ? `\n  RCA report: ${safe(view.incident.reportLocation)}` : ''}`);
          })
          .catch((error: Error) => say(`  could not read incident ${safe(detail.incidentId)}: ${safe(error.message)}`));
      }
    });

    await startLiveWorld(twin, say, emit);
    await reportLostExecutions(api, twin.hasExecution, say);
    await sweepAtStart(twin, say, emit);

    if (opts.demo && !existsSync(demoMarker(g.dataDir))) await sendDemo(twin, api, opts.demoApproval, say);
    else if (opts.demo) say(dim(`  (the demo was sent on first start; send this twin another alert with \`npx autopilot send <file.json>\` — \`npx autopilot simulate ${DEMO_SCENARIO}\` runs one in a twin of its own)`));
    await new Promise(() => undefined); // until a signal
  });

/** The live world the demo's faults go into (created on first start, then kept running across restarts). */
const startLiveWorld = async (twin: Twin, say: (t: string) => void, emit: (value: Record<string, unknown>) => void) => {
  const { ensureLiveWorld } = await import('../lib/local/incident-run.ts');
  const { world, created } = await ensureLiveWorld(twin);
  emit({ event: 'live-world', world: world.id, created, createdAt: world.createdAt, services: world.scenario.services.map((s) => s.name) });
  say(`  live world ${safe(world.id)}   (${world.scenario.services.length} services, ${created ? 'created now' : `running since ${safe(world.createdAt)}`}; \`npx autopilot inject <${PRESET_NAMES.join('|')}>\` injects a fault)`);
};

/**
 * Executions live in memory: incidents left open by an earlier run have no execution any more, and one whose opening
 * delivery died before starting it never had one. Lists every such incident (lib/local/interrupted.ts pages through
 * each non-terminal status), however many there are.
 */
const reportLostExecutions = async (api: ApiClient, has: (arn: string) => boolean, say: (t: string) => void) => {
  try {
    const { findInterruptedIncidents } = await import('../lib/local/interrupted.ts');
    const lost = await findInterruptedIncidents((query) => api.listIncidents(query), has);
    if (lost.length === 0) return;
    say(styleText('yellow', `  ${lost.length} incident(s) were in flight when the twin last stopped; their executions did not survive the restart:`, { stream: process.stdout }));
    for (const i of lost) say(`    ${safe(String(i.incidentId))}  ${safe(String(i.status))}  ${safe(String(i.title ?? ''))}  → \`npx autopilot rerun ${safe(String(i.incidentId))}\``);
  } catch (error) {
    say(dim(`  (could not list earlier incidents: ${safe((error as Error).message)})`));
  }
};

type Twin = import('../lib/local/twin.ts').Twin;
type SweepReport = import('../lib/local/twin.ts').SweepReport;
type DetectionReport = import('../lib/local/twin.ts').DetectionReport;

/**
 * What a detection run opened, correlated or resolved (a run that only deduplicated, or whose target does not exist
 * yet, prints nothing: it runs every minute). A failed target or run is one dim line.
 */
const reportDetection = (result: { readonly report: DetectionReport } | { readonly error: unknown }, say: (t: string) => void, emit: (value: Record<string, unknown>) => void) => {
  if ('error' in result) {
    say(dim(`  (the anomaly detector failed: ${safe((result.error as Error)?.message ?? String(result.error))})`));
    return;
  }
  const { report } = result;
  if (report.opened + report.correlated + report.resolved + report.failures > 0) emit({ event: 'detection', ...report });
  for (const target of report.targets) {
    if (target.status === 'failed') say(dim(`  (the detector could not read ${safe(target.environment)}: ${safe(target.reason ?? '')})`));
    for (const o of target.outcomes) {
      if (o.action === 'opened' || o.action === 'correlated') {
        const lead = o.signals?.[0];
        const what = lead ? `${lead.metric} ${lead.value} (baseline ${lead.baseline}) since ${lead.onset}` : '';
        say(`  ${styleText('magenta', '◉', { stream: process.stdout })} detector ${o.action === 'opened' ? 'opened' : 'added to'} ${bold(safe(o.incidentId ?? ''))}: ${safe(o.service)} in ${safe(target.environment)} ${dim(safe(what))}`);
      } else if (o.action === 'resolved') say(`  ${styleText('green', '◉', { stream: process.stdout })} detector: ${safe(o.service)} in ${safe(target.environment)} is normal again ${dim(safe(o.incidentId ?? ''))}`);
      else if (o.action === 'failed') say(dim(`  (the detector could not take ${safe(o.service)} in: ${safe(o.message ?? '')})`));
    }
  }
};

/** What a sweep took over: each incident whose interrupted opening it completed (its workflow started, `Incident Opened` out). */
const reportSweep = (report: SweepReport, say: (t: string) => void, emit: (value: Record<string, unknown>) => void) => {
  emit({ event: 'sweep', ...report });
  if (report.takenOver.length === 0) return;
  say(styleText('yellow', `  the opening sweep completed ${report.takenOver.length} interrupted opening(s):`, { stream: process.stdout }));
  for (const t of report.takenOver) say(`    ${safe(t.incidentId)}  ${t.started ? 'workflow started' : 'workflow already running'}${t.published ? ', Incident Opened published' : ''}`);
};

/**
 * Right after the restart check: one sweep, so an incident whose opening delivery died before its workflow started
 * is started now (its alert is not coming again). Executions lost in the restart are the rerun's business.
 */
const sweepAtStart = async (twin: Twin, say: (t: string) => void, emit: (value: Record<string, unknown>) => void) => {
  try {
    reportSweep(await twin.sweepOpenings(), say, emit);
  } catch (error) {
    say(dim(`  (could not sweep interrupted openings: ${safe((error as Error).message)})`));
  }
};

const sendDemo = async (twin: import('../lib/local/twin.ts').Twin, api: ApiClient, approval: 'auto' | 'manual', say: (t: string) => void) => {
  const { seedScenario, ApprovalWatcher, decideWhenRequested } = await import('../lib/local/incident-run.ts');
  const watcher = new ApprovalWatcher(twin);
  const { worldId, alert } = await seedScenario(twin, DEMO_SCENARIO, { recoveryLagSeconds: 0 });
  say(`\n${bold('Demo')}: the seed's P1 (${DEMO_SCENARIO}), sent as a ${alert.source} problem notification to ${twin.url}/alerts/${alert.source} ${dim(`(world ${worldId})`)}`);
  const { status, body } = await api.sendAlert(alert.source, alert.payload);
  writeFileSync(demoMarker(twin.dataDir), `${body.incidentId}\n`);
  say(`  webhook answered ${status}: incident ${bold(safe(body.incidentId))}`);
  if (approval === 'manual') {
    watcher.reached(body.incidentId).then(() => say(`  ${bold('Approval requested')}: in another terminal run \`npx autopilot approve ${safe(body.incidentId)}\` (or \`reject\`)`));
    return;
  }
  // First run: the point is to watch the whole loop, so the demo approves its own mitigation through the
  // real approval API (recorded as approver "demo"). Real incidents always wait for a human.
  decideWhenRequested(twin, watcher, api, body, 'approve', 'demo')
    .then((asked) => asked && say(`  ${dim('the demo approved its own mitigation as "demo"; real incidents wait for `npx autopilot approve <id>`')}`))
    .catch((error: Error) => say(`  demo approval failed: ${safe(error.message)}`))
    .finally(() => watcher.stop());
};

// ───────────────────────────── simulate ─────────────────────────────

program
  .command('simulate <scenario>')
  .description('run one scenario end to end in an in-process twin (waits skipped) and exit')
  .addOption(new Option('--approve <mode>', 'auto: approve through the API when asked; reject; manual: wait for `autopilot approve`').choices(['auto', 'manual', 'reject']).default('auto'))
  .addOption(new Option('--source <source>', 'how the alert is sent').choices(['dynatrace', 'alertmanager']))
  .action(async (scenario: string, opts: { approve: 'auto' | 'manual' | 'reject'; source?: 'dynatrace' | 'alertmanager' }, cmd: Command) => {
    const g = globals(cmd);
    const { startTwin } = await import('../lib/local/twin.ts');
    const { runScenario } = await import('../lib/local/incident-run.ts');
    const { findScenario } = await import('../functions/core/world/scenario.ts');
    findScenario(scenario); // fail fast, naming the scenario, before starting anything
    const persistent = cmd.getOptionValueSourceWithGlobals('dataDir') === 'cli';
    // No console and no self-detection here: `simulate` follows the one incident it sends (both are `serve`'s).
    const twin = await startTwin({ inMemory: !persistent, dataDir: g.dataDir, reportDir: persistent ? undefined : `${g.dataDir}/reports`, waitOverrideMs: 0, console: false, detectIntervalMs: 0 });
    const progress = new Progress();
    try {
      if (!g.json) twin.onStateEvent((e) => progress.handle(e));
      if (opts.approve === 'manual') {
        twin.onStateEvent((e) => {
          if (e.type === 'entered' && e.state === 'Request approval')
            process.stderr.write(`Approval requested: in another terminal run\n  npx autopilot approve ${safe(e.incidentId)} --url ${twin.url} --secret ${twin.secret}\n`);
        });
      }
      const result = await runScenario(twin, { scenario, approve: opts.approve, source: opts.source });
      progress.stop();
      if (g.json) printJson(result);
      else printSimulation(result);
      if (result.execution.status !== 'SUCCEEDED' || result.status === 'FAILED') process.exitCode = 1;
    } finally {
      progress.stop();
      await twin.stop();
    }
  });

const printSimulation = (r: import('../lib/local/incident-run.ts').SimulationResult) => {
  const line = (label: string, value: string | undefined) => value && process.stdout.write(`  ${label.padEnd(12)}${value}\n`);
  process.stdout.write(`\n${bold(`Incident ${safe(r.id)}: ${safe(r.status)}`)}  ${dim(`${formatMs(r.totalMs)} end to end, execution ${safe(r.execution.status)}${r.execution.error ? ` (${safe(r.execution.error)})` : ''}`)}\n`);
  const top = r.rootCauses[0] as { summary?: string; service?: string; category?: string; changeId?: string; culprit?: { kind?: string }; mechanism?: string; confidence?: number } | undefined;
  // What triggered it and how it fails (issue 11), when the root-cause agent says (the mechanism when it adds to the category).
  const split = [top?.culprit?.kind && `culprit ${safe(top.culprit.kind)}`, top?.mechanism && top.mechanism !== top.category && `mechanism ${safe(top.mechanism)}`].filter(Boolean).join(', ');
  line('root cause', top ? `${safe(top.summary)} ${dim(`[${[top.service, top.category, top.changeId].filter(Boolean).map(safe).join(', ')}${split ? `; ${split}` : ''}; confidence ${Number(top.confidence).toFixed(2)}]`)}` : 'none found');
  const plan = r.plan as { immediate?: { description?: string; risk?: string }[] } | undefined;
  line('plan', plan?.immediate?.map((a) => `${safe(a.description)} (${safe(a.risk)} risk)`).join('; '));
  const approval = r.approval as { status?: string; approver?: string } | undefined;
  line('approval', approval?.status && `${safe(approval.status)}${approval.approver ? ` by ${safe(approval.approver)}` : ''}`);
  const verification = r.verification as { recovered?: boolean; attempt?: number } | undefined;
  line('verified', verification && `${verification.recovered ? 'recovered' : 'not recovered'} after ${safe(verification.attempt)} check(s)`);
  line('report', r.reportPath && safe(r.reportPath));
};

// ───────────────────────────── scenarios ─────────────────────────────

program
  .command('scenarios')
  .description('list the scenarios `simulate` can run')
  .action(async (_opts: unknown, cmd: Command) => {
    const { listScenarios } = await import('../functions/core/world/scenario.ts');
    const scenarios = listScenarios().map(({ name, title }) => ({ name, title }));
    if (globals(cmd).json) return printJson(scenarios);
    const width = Math.max(0, ...scenarios.map((s) => safe(s.name).length));
    for (const s of scenarios) process.stdout.write(`${safe(s.name).padEnd(width)}  ${safe(s.title)}\n`);

  });

// ───────────────────────────── eval ─────────────────────────────

program
  .command('eval [paths...]')
  .description('run every scenario and recorded incident of the directories or files given (default events/scenarios) through the whole workflow and score the diagnosis')
  .option('--seeds <n>', 'worlds per scenario (a world id seeds its noise); recordings run once each, seeds do not apply', intBetween('--seeds', 1, 100), 2)
  .option('--only <names...>', 'only these scenarios or recordings (name or file)')
  .option('--check', 'exit 1 when the targets (top-1 ≥ 90%, top-3 = 100%, false alarms abstain) are not met')
  .option(
    '--generated <n>',
    'run n generated incidents (functions/core/world/generator.ts: random topologies, fault families, timings, red herrings), one world each, scored per family; alone it runs only those, with paths it runs those files too; --seeds and --only apply to the files only',
    intBetween('--generated', 1, 100_000),
  )
  .option('--seed <seed>', 'the generator seed for --generated (letters, digits, ".", "_", "-"): the same seed and n give the same incidents', '1')
  .action(async (paths: string[], opts: { seeds: number; only?: string[]; check?: boolean; generated?: number; seed: string }, cmd: Command) => {
    const g = globals(cmd);
    if (opts.generated === undefined && cmd.getOptionValueSource('seed') === 'cli') throw new CliError('--seed only applies with --generated <n>');
    const { evaluate, formatTable } = await import('../lib/local/eval.ts');
    const restore = g.json ? stdoutToStderr() : undefined;
    let result: Awaited<ReturnType<typeof evaluate>>;
    try {
      result = await evaluate({
        paths,
        seeds: opts.seeds,
        files: opts.only,
        ...(opts.generated !== undefined ? { generated: { count: opts.generated, seed: opts.seed } } : {}),
        // With --json, progress only on a terminal (a long `--generated` run is otherwise silent); never into a pipe.
        onResult: g.json && !process.stderr.isTTY ? undefined : (r, done, total) => process.stderr.write(`\r${dim(`${done}/${total} ${safe(r.scenario)} ${r.scored === false ? 'unscored' : r.pass ? 'pass' : 'FAIL'}`.padEnd(60))}`),
      });
    } finally {
      restore?.();
    }
    if (!g.json || process.stderr.isTTY) process.stderr.write('\r'.padEnd(62) + '\r');
    if (g.json) printJson(result);
    else process.stdout.write(`${terminalBlock(formatTable(result))}\n`);
    if (opts.check && !result.meetsTargets) process.exitCode = 1;
  });

// ───────────────────────────── export ─────────────────────────────

program
  .command('export <incidentId> <dir>')
  .description("write what the agents saw of an incident (from a running twin's API) as a recording in <dir>, so `autopilot eval <dir>` replays it")
  .option('--name <name>', 'the recording name and file stem (default: the incident id)')
  .option('--confirm-top', "answer key: you confirm the agents' top root cause (service, category, change) was right")
  .option('--expect-service <service>', 'answer key: the root-cause service, as you confirmed it')
  .addOption(new Option('--expect-category <category>', 'answer key: its fault category (with --expect-service)'))
  .option('--expect-change <id>', 'answer key: the change that caused it (with --expect-service)')
  .option('--expect-false-alarm', 'answer key: there was nothing to find (the right outcome is to abstain)')
  .option('--force', 'replace a recording of that name already in <dir> (by default it is kept: it may hold an answer key)')
  .action(async (incidentId: string, dir: string, opts: { name?: string; confirmTop?: boolean; expectService?: string; expectCategory?: string; expectChange?: string; expectFalseAlarm?: boolean; force?: boolean }, cmd: Command) => {
    const { exportRecording, recordingJson, topHypothesisExpect } = await import('../functions/core/recorded/export.ts');
    const { FaultCategory } = await import('../functions/core/model.ts');
    if ([opts.confirmTop, opts.expectService !== undefined, opts.expectFalseAlarm].filter(Boolean).length > 1) throw new CliError('give one answer key: --confirm-top, --expect-service or --expect-false-alarm');
    if (!opts.expectService && (opts.expectCategory || opts.expectChange)) throw new CliError('--expect-category and --expect-change need --expect-service');
    const category = opts.expectCategory === undefined ? undefined : FaultCategory.safeParse(opts.expectCategory);
    if (category && !category.success) throw new CliError(`--expect-category must be one of ${FaultCategory.options.join(', ')}, got "${opts.expectCategory}"`);
    const code = (error: unknown) => (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    let info: ReturnType<typeof statSync>;
    try {
      info = statSync(dir, { throwIfNoEntry: false });
    } catch (error) {
      throw new CliError(`${dir}: cannot create the directory (${code(error)})`);
    }
    if (info && !info.isDirectory()) throw new CliError(`${dir} exists and is not a directory`);
    const view = await apiFor(cmd).getIncident(incidentId);
    const expect = opts.expectFalseAlarm
      ? { rootCause: null }
      : opts.confirmTop
        ? topHypothesisExpect(view)
        : opts.expectService
          ? { rootCause: { service: opts.expectService, ...(category?.success ? { category: category.data } : {}), ...(opts.expectChange ? { changeId: opts.expectChange } : {}) } }
          : undefined;
    const { recording, missing } = exportRecording(view, { name: opts.name, expect });
    const file = join(dir, `${recording.name as string}.json`);
    // A second export would silently drop the answer key a human gave the first.
    if (!opts.force && existsSync(file)) throw new CliError(`${file} exists: pass --force to replace it, or --name to write another`);
    // Written whole or not at all: a temporary file beside it, then renamed.
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(tmp, recordingJson(recording));
      renameSync(tmp, file);
    } catch (error) {
      // A write cut short (a full disk) or a rename refused (a directory of that name) leaves no stray .tmp behind.
      try {
        rmSync(tmp, { force: true });
      } catch {
        // the write's own error is the one to report
      }
      throw new CliError(`cannot write ${file} (${code(error)})`);
    }
    if (globals(cmd).json) return printJson({ file, name: recording.name, scored: expect !== undefined, missing });
    process.stdout.write(`Wrote ${safe(file)}${expect ? '' : ' (no answer key: eval runs it unscored; add --confirm-top, --expect-service or --expect-false-alarm)'}\n`);
    for (const m of missing) process.stdout.write(`  ${dim(`not in it: ${safe(m)}`)}\n`);
  });

// ───────────────────────────── analysis on files ─────────────────────────────

const readText = (file: string): string => {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
};

const metrics = program.command('metrics').description('metric analysis on files');
metrics
  .command('anomalies <file>')
  .description('causal anomaly score in [0,1] per row of a `timestamp,value` CSV (1 − a calibrated tail probability), the anomalous windows and the rows that would page')
  .option('--window <n>', 'trailing points the level and scale of each point are taken over (default 1000)', intBetween('--window', 8, 100_000))
  .action(async (file: string, opts: { window?: number }, cmd: Command) => {
    const { parseSeriesCsv, InvalidCsv } = await import('../functions/core/analysis/csv.ts');
    const { detectSeries, anomalousStretches, parseTimes, InvalidDetectorInput } = await import('../functions/core/analysis/detector.ts');
    let points: { t: string; v: number }[];
    try {
      points = parseSeriesCsv(readText(file), file);
    } catch (error) {
      if (error instanceof InvalidCsv) throw new CliError(error.message);
      throw error;
    }
    // times feed the time-of-day statistic; a file whose timestamps do not all parse is scored without it
    const times = parseTimes(points.map((p) => p.t));
    // A causal score reads the rows in time order: rows out of order, or two at one moment, would score the wrong past.
    const disorder = times?.findIndex((t, i) => i > 0 && t <= times[i - 1]!) ?? -1;
    if (times && disorder > 0)
      throw new CliError(`${file}: timestamp "${points[disorder]!.t}" (data row ${disorder + 1}) is not after the row before it ("${points[disorder - 1]!.t}"): sort the rows by time and keep one per moment`);
    let detection: ReturnType<typeof detectSeries>;
    try {
      detection = detectSeries(points.map((p) => p.v), { window: opts.window }, times);
    } catch (error) {
      if (error instanceof InvalidDetectorInput) throw new CliError(error.message);
      throw error;
    }
    const { scores, incidents, config } = detection;
    const windows = anomalousStretches(scores, config.threshold);
    const out = {
      scores,
      windows: windows.map((w) => ({ start: points[w.startIndex].t, end: points[w.endIndex].t })),
      threshold: config.threshold,
      pages: incidents.map((i) => ({ at: points[i.startIndex].t, until: points[i.endIndex].t, peakScore: i.peakScore, direction: i.direction })),
      timeOfDay: times !== undefined,
    };
    if (globals(cmd).json) return printJson(out);
    const paged = new Set(incidents.map((i) => i.startIndex));
    const width = Math.max(9, ...points.map((p) => safe(p.t).length));
    process.stdout.write(`${'timestamp'.padEnd(width)}  ${'value'.padStart(12)}  score\n`);
    points.forEach((p, i) => process.stdout.write(`${safe(p.t).padEnd(width)}  ${String(p.v).padStart(12)}  ${scores[i].toFixed(4)}${paged.has(i) ? '  PAGE' : scores[i] >= config.threshold ? '  *' : ''}\n`));
    process.stdout.write(`\n${windows.length} anomalous window(s) (score ≥ ${config.threshold})${windows.length ? ':' : ''}\n`);
    for (const w of windows) process.stdout.write(`  ${safe(points[w.startIndex].t)} → ${safe(points[w.endIndex].t)}  (${w.endIndex - w.startIndex + 1} point(s), peak score ${w.peakScore.toFixed(6)})\n`);
    process.stdout.write(`${incidents.length} page(s)${incidents.length ? ':' : ''}\n`);
    for (const i of incidents) process.stdout.write(`  ${safe(points[i.startIndex].t)}  ${i.direction}, peak score ${i.peakScore.toFixed(6)}\n`);
  });

const logs = program.command('logs').description('log analysis on files');
logs
  .command('templates <file>')
  .description('template mining (Brain-style, one configuration for every format): a template id per line, and the templates with counts')
  .action(async (file: string, _opts: unknown, cmd: Command) => {
    const { mineTemplates } = await import('../functions/core/analysis/logs.ts');
    const text = readText(file);
    const lines = text.split(/\r?\n/);
    if (lines.at(-1) === '') lines.pop(); // the final newline ends the last line; it does not start another
    const result = mineTemplates(lines);
    if (globals(cmd).json) return printJson(result);
    const sorted = [...result.templates].sort((a, b) => b.count - a.count);
    const width = Math.max(2, ...sorted.map((t) => safe(t.id).length));
    process.stdout.write(`${lines.length} line(s), ${sorted.length} template(s)\n`);
    for (const t of sorted) process.stdout.write(`${safe(t.id).padEnd(width)}  ${String(t.count).padStart(7)}  ${safe(t.template)}\n`);
  });

// ───────────────────────────── import ─────────────────────────────

const importer = program.command('import').description('convert a public dataset into recordings (functions/core/recorded/format.ts) for `autopilot eval`');
importer
  .command('petshop <scenario-dir>')
  .description("the PetShop dataset's cases of one traffic scenario (graph.csv, noissue/, train/ and test/ issue_*), one recording each")
  .requiredOption('--out <dir>', 'where to write <scenario>-<split>-<case>.json')
  .action(async (scenarioDir: string, opts: { out: string }, cmd: Command) => {
    const { importPetshopScenario, InvalidPetshopData } = await import('../functions/core/recorded/petshop.ts');
    let summary: ReturnType<typeof importPetshopScenario>;
    try {
      summary = importPetshopScenario(scenarioDir, opts.out);
    } catch (error) {
      if (error instanceof InvalidPetshopData) throw new CliError(error.message);
      throw error;
    }
    if (globals(cmd).json) return printJson(summary);
    const pct = (part: number, whole: number) => `${whole === 0 ? 0 : ((part / whole) * 100).toFixed(1)}%`;
    const rows = summary.cases.map((c) => [safe(c.name), String(c.nodes), String(c.edges), String(c.series), String(c.points), pct(c.gaps, c.points), pct(c.caseGaps, c.casePoints), c.baselineRows ? `${c.baselineRows} pts` : 'none']);
    const head = ['recording', 'nodes', 'edges', 'series', 'points', 'gaps', 'gaps in case', 'baseline'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
    const t = summary.totals;
    process.stdout.write(`${[line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')}\n\n`);
    process.stdout.write(`${t.cases} recording(s) in ${safe(summary.outDir)}: ${t.series} series, ${t.points} points, ${t.gaps} gaps (${pct(t.gaps, t.points)}; in the cases ${pct(t.caseGaps, t.casePoints)})\n`);
    if (t.unmapped.length > 0) process.stdout.write(`kept under derived names (no mapping): ${t.unmapped.map(safe).join(', ')}\n`);
    if (t.baselineSkipped > 0) process.stdout.write(`baseline columns of nodes not in graph.csv, not imported: ${[...new Set(summary.cases.flatMap((c) => c.baselineSkipped))].map(safe).join(', ')}\n`);
  });

// ───────────────────────────── commands against a running twin ─────────────────────────────

program
  .command('incidents')
  .description('list incidents, newest first')
  .option('--status <status>', 'only this status (OPEN, INVESTIGATING, AWAITING_APPROVAL, MITIGATING, VERIFYING, RESOLVED, ESCALATED, FAILED)')
  .option('--limit <n>', 'at most n', intBetween('--limit', 1, 1000))
  .action(async (opts: { status?: string; limit?: number }, cmd: Command) => {
    const api = apiFor(cmd);
    const [list, summary] = await Promise.all([api.listIncidents({ status: opts.status?.toUpperCase(), limit: opts.limit }), summaryOf(api)]);
    // `items` and `cursor` as before; beside them the counts of every status and the production accuracy (GET /summary).
    if (globals(cmd).json) return printJson({ ...list, ...(summary ? { summary: { counts: summary.counts, total: summary.total }, accuracy: summary.accuracy } : {}) });
    if (summary && summary.total > 0) process.stdout.write(`${summaryLine(summary)}\n`);
    if (list.items.length === 0) {
      process.stdout.write('no incidents\n');
      return;
    }
    for (const i of list.items) console.log(`${safe(i.incidentId).padEnd(28)} ${safe(i.status).padEnd(18)} ${safe(i.severity).padEnd(5)} ${safe(i.service).padEnd(22)} ${safe(i.title)}`);
  });

/** GET /summary; undefined from an API that has no such route (an older deployment): the list still prints. */
const summaryOf = async (api: ApiClient): Promise<SummaryAnswer | undefined> => {
  try {
    return await api.summary();
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
};

/** `14 incidents: 9 RESOLVED, 3 ESCALATED, 2 INVESTIGATING · production accuracy 7/9 (77.8%)`: the statuses with any. */
const summaryLine = (s: SummaryAnswer): string => {
  const counts = Object.entries(s.counts).filter(([, n]) => n > 0).map(([status, n]) => `${n} ${safe(status)}`);
  const { graded, matched, rate } = s.accuracy;
  const accuracy = rate === null ? 'production accuracy: none graded yet (autopilot resolve <id>)' : `production accuracy ${matched}/${graded} (${(rate * 100).toFixed(1)}%)`;
  return `${s.total} incident${s.total === 1 ? '' : 's'}: ${counts.join(', ')} · ${accuracy}`;
};

program
  .command('show <id>')
  .description('one incident: status, agents, approval, report, timeline')
  .action(async (id: string, _opts: unknown, cmd: Command) => {
    const view = await apiFor(cmd).getIncident(id);
    if (globals(cmd).json) return printJson(view);
    printIncident(view);
  });

const printIncident = (view: IncidentView) => {
  const i = view.incident;
  process.stdout.write(`${bold(`${safe(i.incidentId)}  ${safe(i.status)}`)}  ${safe(i.severity)} ${safe(i.service)}\n  ${safe(i.title)}\n`);
  if (i.approval) process.stdout.write(`  approval   ${safe(i.approval.status)}${i.approval.approver ? ` by ${safe(i.approval.approver)}` : ''}\n`);
  if (i.reportLocation) process.stdout.write(`  report     ${safe(i.reportLocation)}\n`);
  const resolution = view.resolution ?? i.resolution;
  if (resolution) printResolution(resolution);
  for (const [agent, record] of Object.entries(view.agents ?? {})) {
    const r = record as { latencyMs?: number; reasoner?: string; evidence?: unknown[] };
    process.stdout.write(`  ${safe(agent).padEnd(12)} ${dim(`${r.evidence?.length ?? 0} evidence, ${safe(r.reasoner)}, ${formatMs(r.latencyMs ?? 0)}`)}\n`);
  }
  for (const e of (view.timeline ?? []) as { at?: string; type?: string; message?: string }[]) process.stdout.write(`  ${dim(safe(e.at))} ${safe(e.type)}: ${safe(e.message)}\n`);
};

/** What people recorded: who and when, the cause, the fix, and how the diagnosis fared. */
const printResolution = (r: ResolutionView) => {
  const c = r.cause;
  process.stdout.write(`  resolved   by ${safe(r.by)} at ${safe(r.at)} (was ${safe(r.statusBefore)})\n`);
  process.stdout.write(`  cause      ${safe(c.service)}/${safe(c.category)}${c.change ? ` (change ${safe(c.change)})` : ''}: ${safe(c.summary)}\n`);
  process.stdout.write(`  fix        ${safe(r.fix)}\n`);
  if (r.comment) process.stdout.write(`  comment    ${safe(r.comment)}\n`);
  process.stdout.write(`  diagnosis  ${r.grade.graded ? (r.grade.matched ? 'matched' : 'missed') : 'not graded'}: ${safe(r.grade.why)}\n`);
};

program
  .command('resolve <id>')
  .description('record what the cause and the fix of a closed incident (ESCALATED, FAILED, or RESOLVED by the autopilot) really were: graded against the diagnosis, added to the incident history')
  .requiredOption('--service <service>', 'the service where the cause was')
  .addOption(new Option('--category <category>', 'the kind of fault (the root-cause agent\'s categories)').choices([...FaultCategory.options]).makeOptionMandatory())
  .option('--change <id>', 'the change that caused it, when one did')
  .requiredOption('--summary <text>', 'what the cause was')
  .requiredOption('--fix <text>', 'what fixed it')
  .option('--by <name>', 'who resolved it', userInfo().username)
  .option('--comment <text>', 'anything else')
  .option('--wait <seconds>', 'when the resolution is recorded but its history or event is not yet (503 with Retry-After), send it again for up to this long: the same request completes it', intBetween('--wait', 0, 3600), 30)
  .action(async (id: string, opts: { service: string; category: string; change?: string; summary: string; fix: string; by: string; comment?: string; wait: number }, cmd: Command) => {
    const request = {
      cause: { service: opts.service, category: opts.category, ...(opts.change ? { change: opts.change } : {}), summary: opts.summary },
      fix: opts.fix,
      by: opts.by,
      ...(opts.comment ? { comment: opts.comment } : {}),
    };
    const result = await retryWhileBusy(() => apiFor(cmd).resolve(id, request), opts.wait * 1000, (error, seconds) => console.error(`${safe(error.message)} — retrying in ${seconds} s`));
    if (globals(cmd).json) return printJson(result);
    const r = result.resolution;
    console.log(`${result.replayed ? 'Already recorded' : 'Resolved'}: ${safe(id)} is ${safe(result.status)} (by ${safe(r.by)} at ${safe(r.at)}).`);
    console.log(`  diagnosis ${r.grade.graded ? (r.grade.matched ? 'matched' : 'missed') : 'not graded'}: ${safe(r.grade.why)}`);
    if (result.history === 'not-configured') console.log('  not added to the incident history: no changes adapter is configured');
  });

for (const decision of ['approve', 'reject'] as const) {
  program
    .command(`${decision} <id>`)
    .description(`${decision} the pending mitigation of an incident`)
    .option('--by <name>', 'who decides', userInfo().username)
    .option('--comment <text>', 'why')
    .action(async (id: string, opts: { by: string; comment?: string }, cmd: Command) => {
      const result = await apiFor(cmd).decide(id, decision, opts.by, opts.comment);
      if (globals(cmd).json) return printJson(result);
      console.log(`${decision === 'approve' ? 'Approved' : 'Rejected'} the mitigation of ${safe(id)} (by ${safe(opts.by)}).`);
    });
}

program
  .command('rerun <id>')
  .description('run the workflow again for an incident (e.g. one whose execution was lost at a restart)')
  .option('--wait <seconds>', 'while the incident is being opened or the API sheds load (503 or 429 with Retry-After), retry for up to this long', intBetween('--wait', 0, 3600), 90)
  .action(async (id: string, opts: { wait: number }, cmd: Command) => {
    const result = await retryWhileBusy(() => apiFor(cmd).rerun(id), opts.wait * 1000, (error, seconds) => console.error(`${safe(error.message)} — retrying in ${seconds} s`));
    if (globals(cmd).json) return printJson(result);
    console.log(`Re-running ${safe(id)}${result.executionArn ? `: ${safe(result.executionArn)}` : ''}`);
  });

// ───────────────────────────── faults in a running world ─────────────────────────────

program
  .command('inject <fault>')
  .description(`inject a fault into a running simulated world at its current minute: a preset (${PRESET_NAMES.join(', ')}) or a JSON file holding a scenario-format fault without startsAt`)
  .option('--service <name>', "the service it hits (default: the preset's choice for the world)")
  .option('--world <id>', 'the simulated world', LIVE_WORLD_ID)
  .option('--by <name>', 'who injects it', userInfo().username)
  .action(async (fault: string, opts: { service?: string; world: string; by: string }, cmd: Command) => {
    const preset = (PRESET_NAMES as readonly string[]).includes(fault) ? fault : undefined;
    let body: unknown;
    if (!preset) {
      if (!existsSync(fault)) throw new CliError(`"${fault}" is neither a preset (${PRESET_NAMES.join(', ')}) nor a file`);
      try {
        body = JSON.parse(readText(fault));
      } catch (error) {
        if (error instanceof CliError) throw error;
        throw new CliError(`${fault}: not valid JSON (${(error as Error).message})`);
      }
    }
    const injected = await apiFor(cmd).injectFault({ world: opts.world, ...(preset ? { preset } : { fault: body }), ...(opts.service ? { service: opts.service } : {}), by: opts.by });
    if (globals(cmd).json) return printJson(injected);
    console.log(`Injected ${bold(safe(injected.id))} (${safe(injected.preset ?? 'custom')}: ${safe(injected.kind)}) into ${bold(safe(injected.service))} of world ${safe(injected.world)} at ${safe(injected.startsAt)}`);
    for (const change of injected.changes) console.log(`  caused by change ${safe(change)}, made at the same minute: rolling it back ends the fault`);
    if (injected.watch.length > 0) console.log(`  watch      ${injected.watch.map((w) => `${safe(w.service)} ${safe(w.metric)}`).join(', ')}`);
    console.log(dim(`  the detector watching world ${safe(injected.world)} opens an incident once the anomaly has lasted three one-minute points, two to four minutes (\`autopilot incidents\`); \`autopilot faults end ${safe(injected.id)}\` ends the fault`));
  });

const faults = program.command('faults').description('the faults injected into a running simulated world: list them, end one');
faults
  .command('list', { isDefault: true })
  .description('the faults of the world, active or ended (the default)')
  .option('--world <id>', 'the simulated world', LIVE_WORLD_ID)
  .action(async (opts: { world: string }, cmd: Command) => {
    const list = await apiFor(cmd).listFaults(opts.world);
    if (globals(cmd).json) return printJson(list);
    if (list.faults.length === 0) console.log(`no faults injected in world ${safe(list.world)} (\`autopilot inject <${PRESET_NAMES.join('|')}>\`)`);
    for (const f of list.faults) {
      const state = f.active ? styleText('red', 'ACTIVE', { stream: process.stdout }) : f.mitigatedAt ? `mitigated ${safe(f.mitigatedAt)}` : f.endsAt ? `ended ${safe(f.endsAt)}` : 'not started';
      console.log(`${safe(f.id).padEnd(10)} ${state.padEnd(f.active ? 6 + 9 : 32)} ${safe(f.service).padEnd(22)} ${safe(f.preset ?? f.kind).padEnd(18)} since ${safe(f.startsAt)}${f.by ? dim(` by ${safe(f.by)}`) : ''}`);
    }
  });
faults
  .command('end <id>')
  .description('end a fault now (its metrics recover over the next minutes); ending an ended fault changes nothing')
  .option('--world <id>', 'the simulated world', LIVE_WORLD_ID)
  .option('--by <name>', 'who ends it', userInfo().username)
  .action(async (id: string, opts: { world: string; by: string }, cmd: Command) => {
    const ended = await apiFor(cmd).endFault(id, { world: opts.world, by: opts.by });
    if (globals(cmd).json) return printJson(ended);
    console.log(ended.alreadyEnded ? `${safe(id)} had already ended at ${safe(ended.endedAt)}` : `Ended ${safe(id)} in world ${safe(ended.world)} at ${safe(ended.endedAt)}`);
  });

/** Recognises a vendor payload by its shape (the webhook route still validates it). */
const guessSource = (payload: unknown): (typeof SOURCES)[number] => {
  if (!payload || typeof payload !== 'object') return 'generic';
  const p = payload as Record<string, unknown>;
  if ('PID' in p || 'ProblemID' in p) return 'dynatrace';
  if (p.version === '4' && Array.isArray(p.alerts)) return 'alertmanager';
  if ('ALERT_CYCLE_KEY' in p || 'alert_cycle_key' in p || ('id' in p && 'alert_transition' in p)) return 'datadog';
  // Datadog's default webhook payload: $EVENT_TYPE, $ORG_ID/$ORG_NAME, $LAST_UPDATED.
  if ('event_type' in p && 'org' in p && 'last_updated' in p) return 'datadog';
  if (p.source === 'aws.cloudwatch') return 'cloudwatch';
  return 'generic';
};

program
  .command('send <file>')
  .description("POST a JSON payload to the running twin's webhook, as the vendor would")
  .addOption(new Option('--source <source>', 'the webhook route (default: recognised from the payload)').choices([...SOURCES]))
  .action(async (file: string, opts: { source?: (typeof SOURCES)[number] }, cmd: Command) => {
    const text = readText(file);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined; // sent as is: the API is the judge of what it accepts
    }
    const source = opts.source ?? guessSource(parsed);
    const { status, body } = await apiFor(cmd).sendAlert(source, text);
    if (globals(cmd).json) return printJson(body);
    // One alert → one outcome; a group (an Alertmanager notification) → `results`, one per alert.
    const outcomes = Array.isArray(body.results) ? (body.results as Record<string, unknown>[]) : [body];
    for (const o of outcomes) console.log(`${status} ${describeOutcome(o)} (as ${source})`);
  });

/** One line per alert the webhook took: what became of it. */
const describeOutcome = (o: Record<string, unknown>): string => {
  if (o.ignored) return `ignored: ${safe(String(o.reason))}`;
  if (o.state === 'RESOLVED') return `resolved notification recorded on incident ${safe(String(o.incidentId))}`;
  if (o.correlated) return `joined incident ${safe(String(o.incidentId))} (same service, correlation window)`;
  return `${o.deduplicated ? 'folded into' : 'opened'} incident ${safe(String(o.incidentId))}`;
};

// ───────────────────────────── errors ─────────────────────────────

program.parseAsync(process.argv).catch((error: unknown) => {
  const e = error instanceof Error ? error : new Error(String(error));
  if (process.env.AUTOPILOT_DEBUG) process.stderr.write(`${terminalBlock(e.stack)}\n`);
  const prefix = e instanceof ApiError ? `the API answered ${e.status}: ` : '';
  process.stderr.write(`autopilot: ${prefix}${safe(e.message)}\n`);
  process.exit(1);
});
