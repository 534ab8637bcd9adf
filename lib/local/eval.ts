/**
 * `autopilot eval`: runs every scenario file of a directory through the WHOLE workflow on one in-process
 * laptop twin (webhook → Step Functions → every agent → auto-approval → execution → verification → report),
 * each under N worlds (a world id seeds the world's noise), and scores the diagnosis against the scenario's
 * `expect` block — which no agent ever sees.
 *
 * Repeatable: the world ids are the same every evaluation (`ev0-<n>-<scenario>`), and a world answers as a
 * function of the time relative to its anchor, so two evaluations replay the same worlds. What still moves is
 * where in its minute a run falls: the world is anchored on the whole minute before the run, and the agents ask
 * "up to now", so a run seeded at :40 sees 40 more seconds of the current minute (log lines, traces, the current
 * metric value) than one seeded at :00.
 *
 * Scoring, per run:
 * - top-1 hit: the most confident root cause names the expected service, the expected change (when the
 *   scenario expects one) and the expected fault category, and the agent did not abstain. For a false alarm
 *   (nothing to find) the hit is
 *   an abstention (`expect.rootCause` is null, see `isFalseAlarm`).
 * - top-3 hit: one of the three hypotheses kept matches (a false alarm: abstained).
 * - Brier: (confidence of the top-1 − [top-1 is right])², averaged; a run without a hypothesis counts 0 confidence.
 * - resolved / mitigation: whether the incident ended RESOLVED and whether the first executed action is the
 *   expected kind (reported, not part of `pass`: the diagnosis is what is scored).
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { defaultScenarioDir, isFalseAlarm, listScenarios, loadScenario, type Scenario } from '../../functions/core/world/scenario.ts';
import { ApiClient } from './client.ts';
import { ApprovalWatcher, decideWhenRequested, seedScenario, summarise } from './incident-run.ts';
import { startTwin, type Twin } from './twin.ts';

/** Seeds per scenario by default: enough to catch a noise-dependent diagnosis, small enough for CI. */
export const DEFAULT_SEEDS = 2;
/** The targets on the suite. */
export const TARGETS = { top1: 0.9, top3: 1 } as const;

export class NoScenarios extends Error {
  override name = 'NoScenarios';
}

export interface Hypothesis {
  readonly service?: string;
  readonly category?: string;
  readonly changeId?: string;
  readonly confidence?: number;
  readonly summary?: string;
}

export interface ScenarioResult {
  readonly file: string;
  readonly scenario: string;
  /** The world id: it seeds the world's noise. */
  readonly seed: string;
  readonly pass: boolean;
  /** `service/changeId/category`, or `abstain` for a false alarm. */
  readonly expected: string;
  /** The top-1 hypothesis in the same notation, or `abstain`. */
  readonly top1: string;
  readonly top3: boolean;
  readonly confidence: number;
  /** Whether the top-1 hypothesis (even one the agent abstained on) is the expected cause: what Brier scores. */
  readonly topRight: boolean;
  readonly abstained: boolean;
  readonly falseAlarm: boolean;
  readonly status: string;
  /** The first executed action (`kind service target`), if any. */
  readonly mitigation?: string;
  readonly mitigationOk: boolean;
  readonly ms: number;
  readonly error?: string;
}

export interface EvalResult {
  readonly runs: number;
  readonly top1: number;
  readonly top3: number;
  readonly brier: number;
  /** How many runs abstained. */
  readonly abstained: number;
  /** Share of runs that ended RESOLVED (false alarms excluded: nothing to resolve). */
  readonly resolved: number;
  readonly falseAlarmsAbstained: boolean;
  readonly meetsTargets: boolean;
  readonly scenarios: ScenarioResult[];
  readonly ms: number;
}

export interface EvalOptions {
  /** Directory of scenario files. @default events/scenarios */
  readonly dir?: string;
  /** Worlds per scenario. @default DEFAULT_SEEDS */
  readonly seeds?: number;
  /** Only these scenarios (name, file stem or path). */
  readonly files?: readonly string[];
  /** A running twin (one per process); otherwise one is started in memory and stopped at the end. */
  readonly twin?: Twin;
  /** Called after each run (progress). */
  readonly onResult?: (r: ScenarioResult, done: number, total: number) => void;
}

export const describeExpected = (s: Pick<Scenario, 'expect'>): string =>
  s.expect.rootCause === null ? 'abstain' : [s.expect.rootCause.service, s.expect.rootCause.changeId, s.expect.rootCause.category].filter(Boolean).join('/');

export const describeHypothesis = (h: Hypothesis | undefined): string => (h ? [h.service, h.changeId, h.category].filter(Boolean).join('/') : 'none');

/** Whether a hypothesis is the expected root cause (service, the change when one is expected, category). */
export const matches = (h: Hypothesis | undefined, expect: Scenario['expect']): boolean => {
  const want = expect.rootCause;
  return !!h && !!want && h.service === want.service && h.category === want.category && (!want.changeId || h.changeId === want.changeId);
};

/** Scores one finished run (pure: unit-tested without a twin). */
export const scoreRun = (
  scenario: Pick<Scenario, 'expect'>,
  run: { rootCauses: readonly Hypothesis[]; abstained: boolean; status: string; actions?: readonly { kind: string; service: string; target?: string; status: string }[] },
): Pick<ScenarioResult, 'pass' | 'expected' | 'top1' | 'top3' | 'confidence' | 'topRight' | 'abstained' | 'falseAlarm' | 'mitigation' | 'mitigationOk'> => {
  const falseAlarm = isFalseAlarm(scenario);
  const top = run.rootCauses[0];
  const confidence = Number(top?.confidence ?? 0);
  const action = run.actions?.find((a) => a.status === 'succeeded' && a.kind !== 'none');
  const want = scenario.expect.mitigation;
  const mitigationOk = falseAlarm
    ? !action
    : !!action && action.kind === want.kind && (!want.service || action.service === want.service) && (!want.target || action.target === want.target);
  return {
    falseAlarm,
    abstained: run.abstained,
    expected: describeExpected(scenario),
    top1: run.abstained ? `abstain (${describeHypothesis(top)})` : describeHypothesis(top),
    confidence: Number.isFinite(confidence) ? confidence : 0,
    topRight: !falseAlarm && matches(top, scenario.expect),
    pass: falseAlarm ? run.abstained : !run.abstained && matches(top, scenario.expect),
    top3: falseAlarm ? run.abstained : run.rootCauses.slice(0, 3).some((h) => matches(h, scenario.expect)),
    mitigation: action ? [action.kind, action.service, action.target].filter(Boolean).join(' ') : undefined,
    mitigationOk,
  };
};

/** Aggregates runs into the summary figures. */
export const aggregate = (scenarios: ScenarioResult[], ms = 0): EvalResult => {
  const n = scenarios.length;
  const share = (xs: ScenarioResult[], f: (r: ScenarioResult) => boolean) => (xs.length === 0 ? 1 : xs.filter(f).length / xs.length);
  const brier = n === 0 ? 0 : scenarios.reduce((s, r) => s + (r.confidence - Number(r.topRight)) ** 2, 0) / n;
  const top1 = share(scenarios, (r) => r.pass);
  const top3 = share(scenarios, (r) => r.top3);
  const falseAlarmsAbstained = scenarios.filter((r) => r.falseAlarm).every((r) => r.abstained);
  return {
    runs: n,
    top1: round(top1),
    top3: round(top3),
    brier: round(brier),
    abstained: scenarios.filter((r) => r.abstained).length,
    resolved: round(share(scenarios.filter((r) => !r.falseAlarm), (r) => r.status === 'RESOLVED')),
    falseAlarmsAbstained,
    meetsTargets: top1 >= TARGETS.top1 && top3 >= TARGETS.top3 && falseAlarmsAbstained,
    scenarios,
    ms,
  };
};

const round = (x: number) => Math.round(x * 1000) / 1000;

/** The scenario files to run: every `*.json` of `dir`, or those named in `files`. */
export const scenarioFiles = (dir: string, files?: readonly string[]): { file: string; scenario: Scenario }[] => {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new NoScenarios(`${dir} is not a directory of scenario files`);
  const all = listScenarios(dir);
  const chosen = files && files.length > 0 ? all.filter((s) => files.some((f) => f === s.name || f === basename(s.file, '.json') || resolve(f) === s.file)) : all;
  if (chosen.length === 0) throw new NoScenarios(files?.length ? `none of ${files.join(', ')} is a scenario in ${dir}` : `no scenario files (*.json) in ${dir}`);
  return chosen.map((s) => ({ file: s.file, scenario: loadScenario(s.file) }));
};

/** Runs one scenario in a fresh world (id `seed`) and scores it. */
export const runOne = async (twin: Twin, file: string, scenario: Scenario, seed: string): Promise<ScenarioResult> => {
  const started = Date.now();
  const api = new ApiClient(twin.url, twin.secret);
  const watcher = new ApprovalWatcher(twin);
  const base = { file: basename(file), scenario: scenario.name, seed, expected: describeExpected(scenario), falseAlarm: isFalseAlarm(scenario) };
  try {
    // recoveryLagSeconds 0: Wait states are skipped, so a mitigation must show at once in the world's clock.
    const { alert } = await seedScenario(twin, scenario, { worldId: seed, recoveryLagSeconds: 0 });
    const { body: accepted } = await api.sendAlert(alert.source, alert.payload);
    await decideWhenRequested(twin, watcher, api, accepted, 'approve', 'autopilot-eval');
    const execution = await twin.waitForExecution(accepted.executionArn ?? accepted.incidentId, 10 * 60_000);
    const view = await api.getIncident(accepted.incidentId);
    const summary = summarise(view, { scenario: scenario.name, worldId: seed, executionArn: accepted.executionArn, execution, timings: [], totalMs: 0 });
    const abstained = (view.agents?.rootcause?.output as { abstained?: unknown } | undefined)?.abstained === true;
    const actions = ((summary.mitigation as { actions?: unknown } | undefined)?.actions ?? []) as { kind: string; service: string; target?: string; status: string }[];
    return {
      ...base,
      ...scoreRun(scenario, { rootCauses: summary.rootCauses as Hypothesis[], abstained, status: summary.status, actions }),
      status: summary.status,
      ms: Date.now() - started,
      ...(execution.status !== 'SUCCEEDED' ? { error: `${execution.error ?? execution.status}: ${execution.cause ?? ''}`.slice(0, 300) } : {}),
    };
  } catch (error) {
    return { ...base, pass: false, top1: 'error', top3: false, confidence: 0, topRight: false, abstained: false, status: 'ERROR', mitigationOk: false, ms: Date.now() - started, error: (error as Error).message };
  } finally {
    watcher.stop();
  }
};

/** Runs every scenario under `seeds` worlds and scores the diagnoses. */
export const evaluate = async (opts: EvalOptions = {}): Promise<EvalResult> => {
  const dir = resolve(opts.dir ?? defaultScenarioDir());
  const seeds = opts.seeds ?? DEFAULT_SEEDS;
  if (!Number.isInteger(seeds) || seeds < 1) throw new RangeError(`seeds must be a positive integer, got ${seeds}`);
  const files = scenarioFiles(dir, opts.files);
  const started = Date.now();
  const twin = opts.twin ?? (await startTwin({ inMemory: true, waitOverrideMs: 0 }));
  const results: ScenarioResult[] = [];
  // The world id seeds the world's noise, so a twin of our own gets the same ids every time: two evaluations
  // replay the same worlds and score the same. A long-lived twin (opts.twin) may hold worlds and alerts of an
  // earlier evaluation: one random tag per evaluation keeps world ids (and alert identities) unique there.
  const tag = opts.twin ? randomBytes(3).toString('hex') : '0';
  try {
    const total = files.length * seeds;
    for (let s = 0; s < seeds; s += 1) {
      for (const { file, scenario } of files) {
        const r = await runOne(twin, file, scenario, `ev${tag}-${s}-${scenario.name}`.slice(0, 64));
        results.push(r);
        opts.onResult?.(r, results.length, total);
      }
    }
  } finally {
    if (!opts.twin) await twin.stop();
  }
  results.sort((a, b) => a.file.localeCompare(b.file) || a.seed.localeCompare(b.seed));
  return aggregate(results, Date.now() - started);
};

/** The table `autopilot eval` prints. */
export const formatTable = (r: EvalResult): string => {
  const rows = r.scenarios.map((s) => [
    s.scenario,
    s.seed.replace(/^ev[0-9a-f]+-(\d+)-.*$/, '$1'),
    s.expected,
    s.top1,
    s.top3 ? 'yes' : 'no',
    s.confidence.toFixed(2),
    s.status,
    s.pass ? 'PASS' : 'FAIL',
  ]);
  const head = ['scenario', 'seed', 'expected', 'top-1', 'top-3', 'conf', 'outcome', 'pass'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `runs ${r.runs}   top-1 ${pct(r.top1)}   top-3 ${pct(r.top3)}   Brier ${r.brier.toFixed(3)}   abstained ${r.abstained}   resolved ${pct(r.resolved)}   (${(r.ms / 1000).toFixed(1)} s)`,
    `targets (top-1 ≥ ${pct(TARGETS.top1)}, top-3 = ${pct(TARGETS.top3)}, false alarms abstain): ${r.meetsTargets ? 'met' : 'NOT met'}`,
    ...r.scenarios.filter((s) => s.error).map((s) => `error in ${s.scenario} (${s.seed}): ${s.error}`),
  ].join('\n');
};
