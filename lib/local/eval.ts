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
 * - culprit top-1 (issue 11): the top-1 names the expected service and, when the key names one, the expected change,
 *   whatever the category, and the agent did not abstain (a false alarm: abstained). What set the fault off, apart
 *   from how it fails.
 * - mechanism top-1: the top-1's mechanism (how it fails; its category for a hypothesis without one) is the key's —
 *   `expect.rootCause.mechanism`, else its category unless that names only a trigger (bad-deploy, config-change),
 *   when the mechanism is not scored (null) — and the agent did not abstain. A false alarm has none to score.
 * - Brier: (confidence of the top-1 − [top-1 is right])², averaged; a run without a hypothesis counts 0 confidence.
 * - resolved / mitigation: whether the incident ended RESOLVED and whether the first executed action is the
 *   expected kind (reported, not part of `pass`: the diagnosis is what is scored).
 *
 * Recorded incidents (files whose `format` is `autopilot.recording/1`, functions/core/recorded/format.ts) run the
 * same way, once each (seeds do not apply: a recording is one draw), on a twin whose tools are the recorded
 * adapter (TOOLS_DEFAULT=recorded): the recording is registered under a replay id, its alert is sent as a
 * `generic` alert with that id as its `environment`, and approvals are decided as for scenarios. Scoring uses only
 * the answer fields the recording gives: `rootCause.service` alone is a match on the service; the category and
 * the change count only when given; a recording without `expect` runs but is not scored (counted apart). A
 * recording's actions cannot run (the past cannot be changed), so `resolved` counts scenarios only, and an expected
 * mitigation is compared with the first action the executor attempted.
 *
 * One twin per process (its handlers keep the tools of their first import): a directory mixing scenarios and
 * recordings runs the scenarios on this process's twin and the recordings in a child process (`autopilot eval
 * --json <files>`), whose results are merged.
 *
 * Generated incidents (`generated: { count, seed }`, functions/core/world/generator.ts) are scenarios made from
 * (seed, index): incident i runs once, in one world (seeds do not multiply them), through the same path as a
 * scenario file, scored against the answer key the generator derived from the fault it injected. Each result
 * carries `kind: 'generated'` and its `family`; `byFamily` sums them up per family.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRecordingFile, parseRecording, type RecordedExpect, RECORDING_FORMAT } from '../../functions/core/recorded/format.ts';
import { registerRecording, replayAlert, unregisterRecording } from '../../functions/core/recorded/store.ts';
import { RECORDED_ACTION_REFUSED } from '../../functions/core/tools/recorded.ts';
import { DEFAULT_RECOVERY_LAG_SECONDS } from '../../functions/core/world/world.ts';
import { defaultScenarioDir, isFalseAlarm, listScenarios, loadScenario, parseScenario, type Scenario } from '../../functions/core/world/scenario.ts';
import { isTriggerCategory } from '../../functions/core/model.ts';
import { type AnswerKey, matches } from '../../functions/core/grading.ts';
import { familyOf, generateIncident, GeneratorError, SEED } from '../../functions/core/world/generator.ts';
import { ApiClient } from './client.ts';
import { ApprovalWatcher, decideWhenRequested, seedScenario, summarise } from './incident-run.ts';
import { startTwin, type Twin, TwinAlreadyStarted } from './twin.ts';

/** Seeds per scenario by default: enough to catch a noise-dependent diagnosis, small enough for CI. */
export const DEFAULT_SEEDS = 2;
/** The issue's targets on the suite. */
export const TARGETS = { top1: 0.9, top3: 1 } as const;

export class NoScenarios extends Error {
  override name = 'NoScenarios';
}

export interface Hypothesis {
  readonly service?: string;
  readonly category?: string;
  readonly changeId?: string;
  /** What set it off and how it fails (absent from a hypothesis made before issue 11). */
  readonly culprit?: { readonly kind?: string; readonly service?: string; readonly changeId?: string };
  readonly mechanism?: string;
  readonly confidence?: number;
  readonly summary?: string;
}

/** What a run replayed: a simulated scenario file (one world per seed), a recorded incident (once), or a generated incident (once). */
export type RunKind = 'scenario' | 'recording' | 'generated';

export interface ScenarioResult {
  readonly file: string;
  /** The scenario's name, or the recording's. */
  readonly scenario: string;
  /** The world id: it seeds the world's noise. For a recording, the replay id (seeds do not apply). */
  readonly seed: string;
  /** Absent in results made before recordings existed: a scenario. */
  readonly kind?: RunKind;
  /** False for a recording without an answer key: it ran, and counts in no score. Absent: scored. */
  readonly scored?: boolean;
  /** False when the answer key names no mitigation (a recording may not): `mitigationOk` then says nothing. */
  readonly mitigationScored?: boolean;
  readonly pass: boolean;
  /** `service/changeId/category`, or `abstain` for a false alarm. */
  readonly expected: string;
  /** The top-1 hypothesis in the same notation, or `abstain`. */
  readonly top1: string;
  readonly top3: boolean;
  /** The top-1 hypothesis names the expected service (change and category aside), not abstained; a false alarm: abstained. */
  readonly serviceTop1?: boolean;
  /**
   * The top-1 names the expected culprit: the service and, when the key names one, the change (category aside), not
   * abstained; a false alarm: abstained. Absent in results made before it existed.
   */
  readonly culpritTop1?: boolean;
  /** The top-1's mechanism is the expected one, not abstained; null when the key scores no mechanism (see the header). */
  readonly mechanismTop1?: boolean | null;
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
  /** A generated incident's fault family (generator.ts FAMILIES). */
  readonly family?: string;
  /** A generated incident whose family the hand-written suite has no scenario for. */
  readonly novel?: boolean;
}

/** The figures of one kind of run (`EvalResult.byKind`); null where the kind had no scored run. */
export interface KindSummary {
  readonly runs: number;
  readonly scored: number;
  readonly top1: number | null;
  readonly top3: number | null;
  /** Share whose top-1 names the expected service (change and category aside). */
  readonly serviceTop1: number | null;
  /** Share whose top-1 names the expected culprit (service, and change when the key has one). */
  readonly culpritTop1: number | null;
  /** Share, of the runs whose key scores a mechanism, whose top-1 names it; null when none does. */
  readonly mechanismTop1: number | null;
  readonly brier: number | null;
  readonly abstained: number;
  /** Scenarios and generated incidents only (a recording's actions cannot run): null for recordings. */
  readonly resolved: number | null;
  readonly falseAlarmsAbstained: boolean;
}

export interface EvalResult {
  /** Every run, scored or not. */
  readonly runs: number;
  /** Runs with an answer key: top-1, top-3, Brier and the targets are over these. */
  readonly scored: number;
  /** Recordings without an answer key (run, not scored). */
  readonly unscored: number;
  readonly top1: number;
  readonly top3: number;
  /** Share whose top-1 names the expected service (change and category aside); 0 when nothing is scored. */
  readonly serviceTop1: number;
  /** Share whose top-1 names the expected culprit (service, and change when the key has one); null when nothing is scored. */
  readonly culpritTop1: number | null;
  /** Share, of the runs whose key scores a mechanism, whose top-1 names it; null when none does. */
  readonly mechanismTop1: number | null;
  readonly brier: number;
  /** How many runs abstained. */
  readonly abstained: number;
  /** Share of scenario runs that ended RESOLVED (false alarms excluded: nothing to resolve; recordings excluded: their actions cannot run). */
  readonly resolved: number;
  readonly falseAlarmsAbstained: boolean;
  readonly meetsTargets: boolean;
  /** The same figures per kind of run. */
  readonly byKind: { readonly scenario: KindSummary; readonly recording: KindSummary; readonly generated: KindSummary };
  /** The same figures per generated family (empty without generated incidents). */
  readonly byFamily: Readonly<Record<string, KindSummary & { readonly novel: boolean }>>;
  /**
   * Calibration: the scored runs in ten bins of top-1 confidence ([0, 0.1), … [0.9, 1]), each with how many runs,
   * their mean confidence and the share whose top-1 was right. A calibrated agent's `right` follows `meanConfidence`.
   * Empty bins have `runs: 0` and null figures. Absent in results made before it existed.
   */
  readonly reliability?: readonly ReliabilityBin[];
  /** Every run, scenarios and recordings. */
  readonly scenarios: ScenarioResult[];
  readonly ms: number;
}

/** One confidence decile of `EvalResult.reliability`. */
export interface ReliabilityBin {
  readonly from: number;
  readonly to: number;
  readonly runs: number;
  readonly meanConfidence: number | null;
  /** Share of the bin's runs whose top-1 (abstained or not) was the expected cause: what Brier scores. */
  readonly right: number | null;
}

/** The reliability table of scored runs by confidence decile (a confidence of 1 falls in the last bin). */
export const reliabilityOf = (runs: readonly ScenarioResult[]): ReliabilityBin[] => {
  const bins = Array.from({ length: 10 }, (_, i) => ({ from: i / 10, to: (i + 1) / 10, confidences: [] as number[], right: 0 }));
  for (const r of runs.filter(isScored)) {
    const c = Number.isFinite(r.confidence) ? Math.min(1, Math.max(0, r.confidence)) : 0;
    const bin = bins[Math.min(9, Math.floor(c * 10))]!;
    bin.confidences.push(c);
    if (r.topRight) bin.right += 1;
  }
  return bins.map((b) => ({
    from: b.from,
    to: b.to,
    runs: b.confidences.length,
    meanConfidence: b.confidences.length === 0 ? null : round(b.confidences.reduce((x, y) => x + y, 0) / b.confidences.length),
    right: b.confidences.length === 0 ? null : round(b.right / b.confidences.length),
  }));
};

export interface EvalOptions {
  /** Directory of scenario and recording files. @default events/scenarios */
  readonly dir?: string;
  /** Directories and files of scenarios and recordings (instead of `dir`). */
  readonly paths?: readonly string[];
  /** Worlds per scenario. @default DEFAULT_SEEDS */
  readonly seeds?: number;
  /** Only these scenarios (name, file stem or path). */
  readonly files?: readonly string[];
  /** A running twin (one per process) for the scenarios; otherwise one is started in memory and stopped at the end. */
  readonly twin?: Twin;
  /**
   * A running twin whose tools are the recorded adapter (`startTwin({ tools: 'recorded' })`), for the recordings;
   * otherwise one is started in memory, or, when this process already has a twin, the recordings run in a child
   * process.
   */
  readonly recordingTwin?: Twin;
  /** Called after each run (progress). */
  readonly onResult?: (r: ScenarioResult, done: number, total: number) => void;
  /**
   * Also run `count` generated incidents of `seed` (indices 0…count-1), one world each. Without `paths` (or `dir`),
   * only those run; `files` (--only) then has nothing to select and is refused.
   */
  readonly generated?: { readonly count: number; readonly seed: string };
}

/** An answer key: a scenario's (every field given) or a recording's (only what the dataset knows). One definition with production's grading. */
export type { AnswerKey } from '../../functions/core/grading.ts';

export const describeExpected = (s: { expect: AnswerKey }): string =>
  s.expect.rootCause === null ? 'abstain' : [s.expect.rootCause.service, s.expect.rootCause.changeId, s.expect.rootCause.category].filter(Boolean).join('/');

export const describeHypothesis = (h: Hypothesis | undefined): string => (h ? [h.service, h.changeId, h.category].filter(Boolean).join('/') : 'none');

/** Whether a hypothesis is the expected root cause: the rule production grades with too (functions/core/grading.ts). */
export { matches };

/**
 * The mechanism an answer key scores: the one it names, else its category unless that names only a trigger
 * (bad-deploy, config-change); null when there is none to score (a false alarm, a trigger, a recording without a
 * category).
 */
export const expectedMechanism = (expect: AnswerKey): string | null => {
  const want = expect.rootCause;
  if (!want) return null;
  if (want.mechanism) return want.mechanism;
  return want.category && !isTriggerCategory(want.category) ? want.category : null;
};

/** Whether a hypothesis names the expected culprit: its service and, when the key names one, its change (category aside). */
export const culpritMatches = (h: Hypothesis | undefined, expect: AnswerKey): boolean => {
  const want = expect.rootCause;
  if (!h || !want) return false;
  const service = h.culprit?.service ?? h.service;
  const changeId = h.culprit?.changeId ?? h.changeId;
  return service === want.service && (!want.changeId || changeId === want.changeId);
};

/** A hypothesis's mechanism: the one it names, else its category (a hypothesis made before issue 11). */
const mechanismOfHypothesis = (h: Hypothesis | undefined): string | undefined => h?.mechanism ?? h?.category;

/**
 * Scores one finished run (pure: unit-tested without a twin). The mitigation is the first action that succeeded; a
 * recording's actions cannot succeed, so for one (`attempted`) it is the first action the executor attempted.
 */
export const scoreRun = (
  scenario: { expect: AnswerKey },
  run: { rootCauses: readonly Hypothesis[]; abstained: boolean; status: string; actions?: readonly { kind: string; service: string; target?: string; status: string }[] },
  opts: { attempted?: boolean } = {},
): Pick<ScenarioResult, 'pass' | 'expected' | 'top1' | 'top3' | 'serviceTop1' | 'culpritTop1' | 'mechanismTop1' | 'confidence' | 'topRight' | 'abstained' | 'falseAlarm' | 'mitigation' | 'mitigationOk'> & { mitigationScored: boolean } => {
  // A false alarm: nothing to find (scenario.ts `isFalseAlarm`, for any answer key).
  const falseAlarm = scenario.expect.rootCause === null;
  const top = run.rootCauses[0];
  const confidence = Number(top?.confidence ?? 0);
  const action = run.actions?.find((a) => (opts.attempted || a.status === 'succeeded') && a.kind !== 'none');
  const want = scenario.expect.mitigation;
  const mechanism = expectedMechanism(scenario.expect);
  const mitigationOk = falseAlarm
    ? !action
    : !!want && !!action && action.kind === want.kind && (!want.service || action.service === want.service) && (!want.target || action.target === want.target);
  return {
    mitigationScored: falseAlarm || !!want,
    falseAlarm,
    abstained: run.abstained,
    expected: describeExpected(scenario),
    top1: run.abstained ? `abstain (${describeHypothesis(top)})` : describeHypothesis(top),
    confidence: Number.isFinite(confidence) ? confidence : 0,
    topRight: !falseAlarm && matches(top, scenario.expect),
    pass: falseAlarm ? run.abstained : !run.abstained && matches(top, scenario.expect),
    top3: falseAlarm ? run.abstained : run.rootCauses.slice(0, 3).some((h) => matches(h, scenario.expect)),
    serviceTop1: falseAlarm ? run.abstained : !run.abstained && !!top && top.service === scenario.expect.rootCause?.service,
    culpritTop1: falseAlarm ? run.abstained : !run.abstained && culpritMatches(top, scenario.expect),
    mechanismTop1: mechanism === null ? null : !run.abstained && !!top && mechanismOfHypothesis(top) === mechanism,
    mitigation: action ? [action.kind, action.service, action.target].filter(Boolean).join(' ') : undefined,
    mitigationOk,
  };
};

/** A run that ended in an error before any diagnosis: a miss of the culprit, and of the mechanism when the key scores one. */
const missed = (expect: AnswerKey): Pick<ScenarioResult, 'culpritTop1' | 'mechanismTop1'> => ({ culpritTop1: false, mechanismTop1: expectedMechanism(expect) === null ? null : false });

const kindOf = (r: ScenarioResult): RunKind => r.kind ?? 'scenario';
const isScored = (r: ScenarioResult): boolean => r.scored !== false;

/** The score figures over some runs (the scored ones count). */
const figures = (runs: readonly ScenarioResult[]) => {
  const scored = runs.filter(isScored);
  const n = scored.length;
  const share = (xs: readonly ScenarioResult[], f: (r: ScenarioResult) => boolean) => (xs.length === 0 ? 1 : xs.filter(f).length / xs.length);
  return {
    n,
    top1: share(scored, (r) => r.pass),
    top3: share(scored, (r) => r.top3),
    serviceTop1: share(scored, (r) => r.serviceTop1 ?? r.pass),
    // A result made before culprits were scored: a full top-1 hit names the culprit too.
    culpritTop1: share(scored, (r) => r.culpritTop1 ?? r.pass),
    mechanismScored: scored.filter((r) => typeof r.mechanismTop1 === 'boolean'),
    brier: n === 0 ? 0 : scored.reduce((s, r) => s + (r.confidence - Number(r.topRight)) ** 2, 0) / n,
    abstained: runs.filter((r) => r.abstained).length,
    // Simulated worlds only: a recording's actions cannot run, so it cannot end RESOLVED by them.
    resolved: share(runs.filter((r) => kindOf(r) !== 'recording' && !r.falseAlarm), (r) => r.status === 'RESOLVED'),
    falseAlarmsAbstained: scored.filter((r) => r.falseAlarm).every((r) => r.abstained),
  };
};

/** The share of runs whose key scores a mechanism that named it; null when no run's key scores one. */
const mechanismShare = (runs: readonly ScenarioResult[]): number | null => (runs.length === 0 ? null : round(runs.filter((r) => r.mechanismTop1 === true).length / runs.length));

/** Aggregates runs into the summary figures. */
export const aggregate = (scenarios: ScenarioResult[], ms = 0): EvalResult => {
  const all = figures(scenarios);
  const summary = (runs: readonly ScenarioResult[], simulated: boolean): KindSummary => {
    const f = figures(runs);
    return {
      runs: runs.length,
      scored: f.n,
      top1: f.n === 0 ? null : round(f.top1),
      top3: f.n === 0 ? null : round(f.top3),
      serviceTop1: f.n === 0 ? null : round(f.serviceTop1),
      culpritTop1: f.n === 0 ? null : round(f.culpritTop1),
      mechanismTop1: mechanismShare(f.mechanismScored),
      brier: f.n === 0 ? null : round(f.brier),
      abstained: f.abstained,
      resolved: simulated && runs.some((r) => !r.falseAlarm) ? round(f.resolved) : null,
      falseAlarmsAbstained: f.falseAlarmsAbstained,
    };
  };
  const byKind = (kind: RunKind): KindSummary => summary(scenarios.filter((r) => kindOf(r) === kind), kind !== 'recording');
  const families = [...new Set(scenarios.filter((r) => kindOf(r) === 'generated').map((r) => r.family ?? 'unknown'))].sort();
  const byFamily = Object.fromEntries(
    families.map((family) => {
      const runs = scenarios.filter((r) => kindOf(r) === 'generated' && (r.family ?? 'unknown') === family);
      return [family, { ...summary(runs, true), novel: runs.some((r) => r.novel === true) }];
    }),
  );
  return {
    runs: scenarios.length,
    scored: all.n,
    unscored: scenarios.length - all.n,
    // Nothing scored (only recordings without an answer key): no hit to count, and no target met.
    top1: all.n === 0 ? 0 : round(all.top1),
    top3: all.n === 0 ? 0 : round(all.top3),
    serviceTop1: all.n === 0 ? 0 : round(all.serviceTop1),
    culpritTop1: all.n === 0 ? null : round(all.culpritTop1),
    mechanismTop1: mechanismShare(all.mechanismScored),
    brier: round(all.brier),
    abstained: all.abstained,
    resolved: round(all.resolved),
    falseAlarmsAbstained: all.falseAlarmsAbstained,
    meetsTargets: all.n > 0 && all.top1 >= TARGETS.top1 && all.top3 >= TARGETS.top3 && all.falseAlarmsAbstained,
    byKind: { scenario: byKind('scenario'), recording: byKind('recording'), generated: byKind('generated') },
    byFamily,
    reliability: reliabilityOf(scenarios),
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
  const base = { file: basename(file), scenario: scenario.name, seed, kind: 'scenario' as const, scored: true, expected: describeExpected(scenario), falseAlarm: isFalseAlarm(scenario) };
  try {
    // The world's own recovery lag (a mitigation ramps in over DEFAULT_RECOVERY_LAG_SECONDS): the twin's compressed
    // verification waits advance the world's clock, so verification reads the minutes after the fix as the world
    // model computes them instead of a mitigation that shows at once.
    const { alert } = await seedScenario(twin, scenario, { worldId: seed, recoveryLagSeconds: DEFAULT_RECOVERY_LAG_SECONDS });
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
    return { ...base, pass: false, top1: 'error', top3: false, ...missed(scenario.expect), confidence: 0, topRight: false, abstained: false, status: 'ERROR', mitigationOk: false, ms: Date.now() - started, error: (error as Error).message };
  } finally {
    watcher.stop();
  }
};

// ───────────────────────── recordings ─────────────────────────

/** The files of an evaluation, by kind (`evalFiles`). */
export interface EvalFiles {
  readonly scenarios: { file: string; scenario: Scenario }[];
  /** Recordings are read when they run (a recording with its baseline can be megabytes). */
  readonly recordings: { file: string; name: string }[];
}

/** The JSON of a file, or ScenarioInvalid naming it. */
const readJson = (file: string): unknown => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new NoScenarios(`${file} cannot be read as JSON: ${(error as Error).message}`);
  }
};

/**
 * A file that names a format eval does not run (a later recording format, an AWS recording) is refused as such,
 * instead of being read as a scenario and failing on every scenario field. Scenarios carry no `format`.
 */
const checkFormat = (json: unknown, file: string): void => {
  const format = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as { format?: unknown }).format : undefined;
  if (format === undefined || isRecordingFile(json)) return;
  const where = typeof format === 'string' && format.startsWith('autopilot.aws-recording/')
    ? ' (an AWS recording: the loopback fake account serves it to the aws adapters, lib/local/aws-account.ts; see events/recorded/README.md)'
    : '';
  throw new NoScenarios(`${file}: format ${JSON.stringify(format)} is not one eval runs: "${RECORDING_FORMAT}" (a recording) or none (a scenario)${where}`);
};

/**
 * How much of a scenario's name its world id keeps: world ids are at most 64 characters (world.ts WORLD_ID), and
 * `ev<tag>-<seed>-` takes up to 11 of them (a 6-character tag, seeds up to 99).
 */
const SCENARIO_ID_NAME_CHARS = 64 - 'ev-99-'.length - 6;

/** Fails naming both files when two runs of one kind would get the same id (the same name, or the same kept part). */
const uniqueNames = (runs: readonly { file: string; name: string }[], kind: string, keep?: number): void => {
  const seen = new Map<string, { file: string; name: string }>();
  for (const r of runs) {
    const key = keep === undefined ? r.name : r.name.slice(0, keep);
    const other = seen.get(key);
    if (other && other.name === r.name) throw new NoScenarios(`two ${kind} are named "${r.name}" (${other.file} and ${r.file}): names must be unique in one evaluation`);
    if (other) throw new NoScenarios(`${kind} "${other.name}" (${other.file}) and "${r.name}" (${r.file}) share their first ${keep} characters, all a run id keeps: rename one`);
    seen.set(key, r);
  }
};

/**
 * The scenarios and recordings to run: every `*.json` of each directory in `paths`, and each file named, told apart
 * by the recording format's `format` field; only those named in `only` (name, file stem or path) when given. Every
 * file is checked here (a bad one fails the evaluation before any twin starts, naming the file and field).
 */
export const evalFiles = (paths: readonly string[], only?: readonly string[]): EvalFiles => {
  const files: string[] = [];
  for (const p of paths) {
    const path = resolve(p);
    const info = statSync(path, { throwIfNoEntry: false });
    // Regular files only: a FIFO or a device named *.json would block or never end, a folder is not a file.
    if (info?.isDirectory()) files.push(...readdirSync(path).filter((f) => f.endsWith('.json')).sort().map((f) => join(path, f)).filter((f) => statSync(f, { throwIfNoEntry: false })?.isFile()));
    else if (info?.isFile()) files.push(path);
    else throw new NoScenarios(`${p} is not a directory or file of scenarios or recordings`);
  }
  const scenarios: EvalFiles['scenarios'] = [];
  const recordings: EvalFiles['recordings'] = [];
  for (const file of [...new Set(files)]) {
    const json = readJson(file);
    checkFormat(json, file);
    if (isRecordingFile(json)) {
      const name = parseRecording(json, file).name;
      recordings.push({ file, name });
    } else scenarios.push({ file, scenario: parseScenario(json, file) });
  }
  const wanted = (name: string, file: string) => !only || only.length === 0 || only.some((f) => f === name || f === basename(file, '.json') || resolve(f) === file);
  const chosen = { scenarios: scenarios.filter((s) => wanted(s.scenario.name, s.file)), recordings: recordings.filter((r) => wanted(r.name, r.file)) };
  if (chosen.scenarios.length + chosen.recordings.length === 0) {
    throw new NoScenarios(only?.length ? `none of ${only.join(', ')} is a scenario or recording in ${paths.join(', ')}` : `no scenario or recording files (*.json) in ${paths.join(', ')}`);
  }
  // A run's id is made from its name (world id, replay id, alert id): two files of one name would be one incident,
  // the second alert folded into the first and its score copied.
  uniqueNames(chosen.scenarios.map((s) => ({ file: s.file, name: s.scenario.name })), 'scenarios', SCENARIO_ID_NAME_CHARS);
  uniqueNames(chosen.recordings, 'recordings');
  return chosen;
};

/** Scores a run against a recording's answer key: only the fields given; no key, no score. */
const scoreRecording = (expect: RecordedExpect | undefined, run: Parameters<typeof scoreRun>[1]) => {
  if (!expect) {
    const top = run.rootCauses[0];
    const confidence = Number(top?.confidence ?? 0);
    return {
      scored: false,
      pass: false,
      expected: 'unscored',
      top1: run.abstained ? `abstain (${describeHypothesis(top)})` : describeHypothesis(top),
      top3: false,
      confidence: Number.isFinite(confidence) ? confidence : 0,
      topRight: false,
      abstained: run.abstained,
      falseAlarm: false,
      mitigationOk: false,
      mitigationScored: false,
    };
  }
  return { scored: true, ...scoreRun({ expect }, run, { attempted: true }) };
};

/**
 * Replays one recording on a twin whose tools are the recorded adapter: registered under `replayId` (anchored now),
 * its alert sent as a generic alert, approvals decided as for scenarios, scored on the answer fields it gives.
 */
export const runRecording = async (twin: Twin, file: string, replayId: string): Promise<ScenarioResult> => {
  const started = Date.now();
  const api = new ApiClient(twin.url, twin.secret);
  const watcher = new ApprovalWatcher(twin);
  let name = basename(file, '.json');
  let expect: RecordedExpect | undefined;
  const base = () => ({ file: basename(file), scenario: name, seed: replayId, kind: 'recording' as const, expected: expect ? describeExpected({ expect }) : 'unscored', falseAlarm: expect?.rootCause === null });
  try {
    const replay = registerRecording(replayId, readJson(file), { origin: file });
    name = replay.recording.name;
    expect = replay.recording.expect;
    const { body: accepted } = await api.sendAlert('generic', replayAlert(replay));
    await decideWhenRequested(twin, watcher, api, accepted, 'approve', 'autopilot-eval');
    const execution = await twin.waitForExecution(accepted.executionArn ?? accepted.incidentId, 10 * 60_000);
    const view = await api.getIncident(accepted.incidentId);
    const summary = summarise(view, { scenario: name, worldId: replayId, executionArn: accepted.executionArn, execution, timings: [], totalMs: 0 });
    const abstained = (view.agents?.rootcause?.output as { abstained?: unknown } | undefined)?.abstained === true;
    const actions = ((summary.mitigation as { actions?: unknown } | undefined)?.actions ?? []) as { kind: string; service: string; target?: string; status: string; detail?: string }[];
    // An approved plan ends the workflow FAILED when every action fails, and a recording's always do (nothing can be
    // run on the past): that is the replay working, not an evaluation error.
    const refused = actions.length > 0 && actions.every((a) => a.status === 'failed' && String(a.detail ?? '').startsWith(RECORDED_ACTION_REFUSED));
    return {
      ...base(),
      ...scoreRecording(expect, { rootCauses: summary.rootCauses as Hypothesis[], abstained, status: summary.status, actions }),
      status: summary.status,
      ms: Date.now() - started,
      ...(execution.status !== 'SUCCEEDED' && !refused ? { error: `${execution.error ?? execution.status}: ${execution.cause ?? ''}`.slice(0, 300) } : {}),
    };
  } catch (error) {
    return { ...base(), scored: expect !== undefined, pass: false, top1: 'error', top3: false, ...(expect ? missed(expect) : {}), confidence: 0, topRight: false, abstained: false, status: 'ERROR', mitigationOk: false, ms: Date.now() - started, error: (error as Error).message };
  } finally {
    watcher.stop();
    unregisterRecording(replayId);
  }
};

export class RecordingChildFailed extends Error {
  override name = 'RecordingChildFailed';
}

/** The command line (bin/autopilot.ts), which a child process runs for the recordings of a mixed evaluation. */
const CLI = fileURLToPath(new URL('../../bin/autopilot.ts', import.meta.url));

/** Runs recordings in a child process (`autopilot eval --json <files>`): this process's twin serves scenarios. */
const runRecordingsInChild = (files: readonly string[]): Promise<ScenarioResult[]> =>
  new Promise((resolvePromise, reject) => {
    execFile(process.execPath, [CLI, 'eval', '--json', ...files], { maxBuffer: 512 * 1024 * 1024, env: { ...process.env, AUTOPILOT_DEBUG: '' } }, (error, stdout, stderr) => {
      if (error) return reject(new RecordingChildFailed(`the recordings' evaluation (a child process) failed: ${String(stderr || error.message).trim().slice(0, 500)}`));
      try {
        resolvePromise((JSON.parse(stdout) as EvalResult).scenarios);
      } catch (e) {
        reject(new RecordingChildFailed(`the recordings' evaluation (a child process) printed no result: ${(e as Error).message}`));
      }
    });
  });

/**
 * Runs every scenario under `seeds` worlds and every recording once, and scores the diagnoses. Scenarios run on
 * `opts.twin` or a twin of our own (simulated tools); recordings on `opts.recordingTwin`, a twin of our own
 * (recorded tools) when this process has none yet, else in a child process (see the header).
 */
export const evaluate = async (opts: EvalOptions = {}): Promise<EvalResult> => {
  const generated = opts.generated;
  if (generated) checkGenerated(generated);
  // Generated incidents alone unless files are named too; without either, the default suite.
  const paths = opts.paths && opts.paths.length > 0 ? opts.paths : opts.dir ? [opts.dir] : generated ? [] : [defaultScenarioDir()];
  if (generated && paths.length === 0 && opts.files && opts.files.length > 0) {
    throw new NoScenarios(`--only selects scenario or recording files, and none are named: give their paths with --generated (generated incidents are chosen by --generated and --seed)`);
  }
  const seeds = opts.seeds ?? DEFAULT_SEEDS;
  if (!Number.isInteger(seeds) || seeds < 1) throw new RangeError(`seeds must be a positive integer, got ${seeds}`);
  const { scenarios: files, recordings } = paths.length > 0 ? evalFiles(paths, opts.files) : { scenarios: [], recordings: [] };
  const started = Date.now();
  const results: ScenarioResult[] = [];
  const total = files.length * seeds + recordings.length + (generated?.count ?? 0);
  const done = (r: ScenarioResult) => {
    results.push(r);
    opts.onResult?.(r, results.length, total);
  };
  // The world id seeds the world's noise, so a twin of our own gets the same ids every time: two evaluations
  // replay the same worlds and score the same. A long-lived twin (opts.twin) may hold worlds and alerts of an
  // earlier evaluation: one random tag per evaluation keeps world ids (and alert identities) unique there.
  const tag = opts.twin || opts.recordingTwin ? randomBytes(3).toString('hex') : '0';
  if (files.length > 0 || generated) {
    const twin = opts.twin ?? (await startTwin({ inMemory: true, waitOverrideMs: 0, console: false }));
    try {
      for (let s = 0; s < seeds; s += 1) {
        for (const { file, scenario } of files) done(await runOne(twin, file, scenario, `ev${tag}-${s}-${scenario.name}`.slice(0, 64)));
      }
      if (generated) for (let i = 0; i < generated.count; i += 1) done(await runGenerated(twin, generated.seed, i, generated.count, tag));
    } finally {
      if (!opts.twin) await twin.stop();
    }
  }
  if (recordings.length > 0) {
    let twin = opts.recordingTwin;
    let own = false;
    // This process's twin keeps the tools it started with: a twin of our own only if no other ran here.
    if (!twin && !opts.twin && files.length === 0) {
      twin = await startTwin({ inMemory: true, waitOverrideMs: 0, tools: 'recorded', console: false }).catch((error: unknown) => {
        if (error instanceof TwinAlreadyStarted) return undefined;
        throw error;
      });
      own = twin !== undefined;
    }
    if (twin) {
      try {
        for (const { file, name } of recordings) done(await runRecording(twin, file, `rc${tag}-${name}`));
      } finally {
        if (own) await twin.stop();
      }
    } else {
      for (const r of await runRecordingsInChild(recordings.map((x) => x.file))) done(r);
    }
  }
  results.sort((a, b) => a.file.localeCompare(b.file) || a.seed.localeCompare(b.seed));
  return aggregate(results, Date.now() - started);
};

/** The most generated incidents one evaluation runs. */
export const MAX_GENERATED = 100_000;

const checkGenerated = (g: { count: number; seed: string }): void => {
  if (!Number.isInteger(g.count) || g.count < 1 || g.count > MAX_GENERATED) throw new RangeError(`generated.count must be an integer from 1 to ${MAX_GENERATED}, got ${g.count}`);
  if (!SEED.test(g.seed)) throw new NoScenarios(`--seed "${g.seed}" is invalid: letters, digits, ".", "_" or "-", at most 24 characters`);
};

/**
 * Generates incident `index` of `seed` and runs it like a scenario file, in one world. A generator failure (a bug: every
 * draw should give an incident the world shows) is that run's error, not the evaluation's.
 */
export const runGenerated = async (twin: Twin, seed: string, index: number, count: number, tag = '0'): Promise<ScenarioResult> => {
  const file = `generated:${seed}/${String(index).padStart(String(Math.max(0, count - 1)).length, '0')}`;
  const worldId = `ev${tag}-g${index}-${seed}`.slice(0, 64);
  let incident: ReturnType<typeof generateIncident>;
  try {
    incident = generateIncident(seed, index);
  } catch (error) {
    if (!(error instanceof GeneratorError)) throw error;
    const family = familyOf(seed, index);
    return { file, scenario: `gen-${seed.toLowerCase()}-${index}`, seed: worldId, kind: 'generated', family: family.name, novel: family.novel, scored: true, pass: false, expected: 'unknown', top1: 'error', top3: false, culpritTop1: false, mechanismTop1: null, confidence: 0, topRight: false, abstained: false, falseAlarm: false, status: 'ERROR', mitigationOk: false, ms: 0, error: error.message };
  }
  const result = await runOne(twin, file, incident.scenario, worldId);
  return { ...result, file, kind: 'generated', family: incident.family, novel: incident.novel };
};

/** The table `autopilot eval` prints. */
export const formatTable = (r: EvalResult): string => {
  const rows = r.scenarios.map((s) => [
    s.scenario,
    // A recording or a generated incident runs once: no seed.
    s.kind === 'recording' || s.kind === 'generated' ? '-' : s.seed.replace(/^ev[0-9a-f]+-(\d+)-.*$/, '$1'),
    s.expected,
    s.top1,
    s.scored === false ? '-' : s.top3 ? 'yes' : 'no',
    s.confidence.toFixed(2),
    s.status,
    s.scored === false ? 'unscored' : s.pass ? 'PASS' : 'FAIL',
  ]);
  const head = ['scenario', 'seed', 'expected', 'top-1', 'top-3', 'conf', 'outcome', 'pass'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const { scenario, recording, generated } = r.byKind ?? {};
  // Beside top-1: the culprit share, the mechanism share (when a key scores one) and, where given, the service share.
  const beside = (culprit: number | null | undefined, mechanism: number | null | undefined, service: number | null | undefined) => {
    const parts = [
      ...(culprit === null || culprit === undefined ? [] : [`culprit ${pct(culprit)}`]),
      ...(mechanism === null || mechanism === undefined ? [] : [`mechanism ${pct(mechanism)}`]),
      ...(service === null || service === undefined ? [] : [`service ${pct(service)}`]),
    ];
    return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
  };
  const kindLine = (label: string, k: KindSummary) =>
    `  ${label}: runs ${k.runs}${k.scored !== k.runs ? ` (scored ${k.scored})` : ''}   top-1 ${k.top1 === null ? 'n/a' : pct(k.top1)}${k.top1 === null ? '' : beside(k.culpritTop1, k.mechanismTop1, k.serviceTop1)}   top-3 ${k.top3 === null ? 'n/a' : pct(k.top3)}   Brier ${k.brier === null ? 'n/a' : k.brier.toFixed(3)}   abstained ${k.abstained}${k.resolved === null ? '' : `   resolved ${pct(k.resolved)}`}`;
  const withRecordings = !!recording && recording.runs > 0;
  const withGenerated = !!generated && generated.runs > 0;
  const none = r.scored === 0;
  const families = Object.entries(r.byFamily ?? {});
  const familyWidth = Math.max(0, ...families.map(([f]) => f.length));
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `runs ${r.runs}${withRecordings && r.unscored > 0 ? ` (scored ${r.scored})` : ''}   top-1 ${none ? 'n/a' : pct(r.top1)}${none ? '' : beside(r.culpritTop1, r.mechanismTop1, withGenerated ? r.serviceTop1 : undefined)}   top-3 ${none ? 'n/a' : pct(r.top3)}   Brier ${none ? 'n/a' : r.brier.toFixed(3)}   abstained ${r.abstained}   resolved ${withRecordings && scenario?.runs === 0 && !withGenerated ? 'n/a' : pct(r.resolved)}   (${(r.ms / 1000).toFixed(1)} s)`,
    ...(withGenerated
      ? [
          ...(scenario && scenario.runs > 0 && !withRecordings ? [kindLine('scenarios', scenario)] : []),
          kindLine('generated', generated),
          '  per family (* = a family the hand-written suite lacks):',
          ...families.map(([family, k]) => kindLine(`${k.novel ? '*' : ' '} ${family.padEnd(familyWidth)}`, k)),
        ]
      : []),
    ...(withRecordings
      ? [
          ...(scenario && scenario.runs > 0 ? [kindLine('scenarios', scenario)] : []),
          kindLine('recordings', recording),
          '  recordings run once each (seeds do not apply); a recording is scored on the answer fields it gives, and not at all without `expect`; resolved counts scenarios only (a recording\'s actions cannot run: an approved plan ends FAILED)',
        ]
      : []),
    ...(r.reliability && !none
      ? [
          `reliability (top-1 confidence → share right): ${r.reliability
            .filter((b) => b.runs > 0)
            .map((b) => `${b.from.toFixed(1)}–${b.to.toFixed(1)}: ${b.runs} at ${b.meanConfidence!.toFixed(2)} → ${b.right!.toFixed(2)}`)
            .join('   ')}`,
        ]
      : []),
    `targets (top-1 ≥ ${pct(TARGETS.top1)}, top-3 = ${pct(TARGETS.top3)}, false alarms abstain): ${r.meetsTargets ? 'met' : none ? 'NOT met (no run has an answer key)' : 'NOT met'}`,
    ...r.scenarios.filter((s) => s.error).map((s) => `error in ${s.scenario} (${s.seed}): ${s.error}`),
  ].join('\n');
};
