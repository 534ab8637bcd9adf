/**
 * Benchmark of self-detection (functions/detect-anomalies): the detector function's own core, run tick by tick on
 * the simulated world's clock, in memory (MemoryWorldStore + the simulated telemetry adapter + MemoryIncidentStore
 * behind the real core intake; no twin).
 *
 *   npm run bench:detection                              JSON on stdout
 *   npm run bench:detection -- --seeds 3 --days 1 --generated 12 --quiet-worlds 10 [--confirm 2]
 *
 * - Detection delay: every scenario of events/scenarios with a fault, and `--generated` scenarios of the generator
 *   (functions/core/world/generator.ts, seeds `bench-det-<i>`), with their faults (and the changes and load that go
 *   with them) moved to start `FAULT_START_MINUTE` minutes after the world's anchor; ticks every minute from the
 *   anchor to `HORIZON_MINUTES` after the fault. Delay = the first tick at which the detector opened an incident for
 *   any service of the world, minus the fault's start (minutes); a detection before the start is a false alarm; none
 *   within the horizon is a miss. Median, p90 and max over the detected ones.
 * - False alarms per day: the same scenarios with no fault and no extra load (their noise, daily shape, jobs and
 *   queues remain), `--days` simulated days each, ticking every minute; every incident the detector opens there is a
 *   false alarm (a sustained detection deduplicates, so an alarm counts once). `--quiet-worlds` of the scenarios,
 *   spread over the list, across `--seeds` world ids (the noise is keyed by the world id). A world-day is 1,440 ticks
 *   (about a minute of CPU): the defaults keep the run to a few minutes.
 * - CPU: process CPU time per tick and per service scored (the world model's metric computation included: that is
 *   the simulated adapter's price, not the detector's, so the detector's scoring alone is reported too).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectAnomalies, type DetectorTarget } from '../functions/detect-anomalies/core.ts';
import { MemoryIncidentStore } from '../functions/core/store/memory-store.ts';
import { simulatedTools } from '../functions/core/tools/simulated.ts';
import { generateScenario } from '../functions/core/world/generator.ts';
import { parseScenario, type Scenario } from '../functions/core/world/scenario.ts';
import { createWorld } from '../functions/core/world/world.ts';
import { MemoryWorldStore } from '../functions/core/world/world-store.ts';

const SCENARIO_DIR = fileURLToPath(new URL('../events/scenarios/', import.meta.url));
/** Faults start this long after the world's anchor (the look-back before it is the world's own history). */
export const FAULT_START_MINUTE = 20;
/** A fault not detected this long after its start is missed. */
export const HORIZON_MINUTES = 30;
const ANCHOR = Date.parse('2026-03-02T14:00:00Z');
/** `--confirm N`: the targets' confirmMinutes (default: the detector's CONFIRM_POINTS). */
let CONFIRM = 0;

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a whole number ≥ 0, got ${process.argv[i + 1]}`);
  return v;
};

/** The scenario with its faults (and the changes and load before them) moved so the first fault starts at `start`. */
export const shiftFaults = (s: Scenario, start: number): Scenario => {
  const first = Math.min(...s.faults.map((f) => f.startsAt));
  const by = start - first;
  return {
    ...s,
    faults: s.faults.map((f) => ({ ...f, startsAt: f.startsAt + by, ...(f.endsAt !== undefined ? { endsAt: f.endsAt + by } : {}) })),
    changes: s.changes.map((c) => ({ ...c, deployedAt: c.deployedAt + by })),
    load: s.load.map((l) => ({ ...l, startsAt: l.startsAt + by, ...(l.endsAt !== undefined ? { endsAt: l.endsAt + by } : {}) })),
  };
};

const quiet = (s: Scenario): Scenario => ({ ...s, faults: [], load: [] });

const fakeIntake = (store: MemoryIncidentStore, clock: () => Date) => ({
  store,
  workflow: {
    start: async (name: string) => ({ executionArn: `arn:aws:states:us-east-1:000000000000:execution:bench:${name}`, alreadyExisted: false }),
    sendTaskFailure: async () => undefined,
  },
  events: { publish: async () => undefined },
  config: { VERIFY_WAIT_SECONDS: 120, MAX_VERIFY_CHECKS: 5, CORRELATION_WINDOW_SECONDS: 300 },
  clock,
});

interface Run {
  readonly name: string;
  /** Minutes from the anchor of each tick that opened (or correlated into) an incident. */
  readonly openedAt: number[];
  readonly ticks: number;
  readonly cpuMs: number;
  readonly scoringMs: number;
  readonly servicesScored: number;
}

/** Ticks the detector every minute from `fromMinute` to `toMinute` on a world of `scenario`. */
const runWorld = async (name: string, worldId: string, scenario: Scenario, fromMinute: number, toMinute: number): Promise<Run> => {
  const worlds = new MemoryWorldStore();
  await worlds.putWorld(createWorld(scenario, { id: worldId, now: new Date(ANCHOR) }));
  let now = ANCHOR;
  const clock = () => new Date(now);
  const store = new MemoryIncidentStore({ clock });
  const target: DetectorTarget = { environment: worldId, ...(CONFIRM ? { confirmMinutes: CONFIRM } : {}) };
  const run = detectAnomalies({ telemetry: simulatedTools(worlds, { clock }).telemetry, intake: fakeIntake(store, clock), targets: [target], clock });
  const openedAt: number[] = [];
  let cpuMs = 0;
  let scoringMs = 0;
  let servicesScored = 0;
  let ticks = 0;
  for (let m = fromMinute; m <= toMinute; m++) {
    now = ANCHOR + m * 60_000;
    const cpu = process.cpuUsage();
    const report = await run();
    const used = process.cpuUsage(cpu);
    cpuMs += (used.user + used.system) / 1000;
    ticks += 1;
    const t = report.targets[0]!;
    if (t.status !== 'ok') throw new Error(`${name}: ${t.reason}`);
    scoringMs += t.scoringMs;
    servicesScored += t.servicesScored;
    if (report.opened + report.correlated > 0) openedAt.push(m);
  }
  return { name, openedAt, ticks, cpuMs, scoringMs, servicesScored };
};

const percentile = (sorted: readonly number[], q: number): number | null => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);

const main = async () => {
  const seeds = arg('seeds', 1);
  const days = arg('days', 1);
  const generated = arg('generated', 6);
  const quietWorlds = arg('quiet-worlds', 6);
  CONFIRM = arg('confirm', 0);
  const scenarios: { name: string; scenario: Scenario }[] = readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ''), scenario: parseScenario(JSON.parse(readFileSync(join(SCENARIO_DIR, f), 'utf8'))) }));
  for (let i = 0; i < generated; i++) scenarios.push({ name: `generated:bench-det:${i}`, scenario: generateScenario('bench-det', i) });
  const faulted = scenarios.filter((s) => s.scenario.faults.length > 0);

  const runs: Run[] = [];
  const cases: { name: string; kind: string; service: string; delayMinutes: number | null; earlyAlarms: number }[] = [];
  for (const { name, scenario } of faulted) {
    const shifted = shiftFaults(scenario, FAULT_START_MINUTE);
    const r = await runWorld(name, 'bench-fault', shifted, 0, FAULT_START_MINUTE + HORIZON_MINUTES);
    runs.push(r);
    const after = r.openedAt.filter((m) => m >= FAULT_START_MINUTE);
    const fault = shifted.faults[0]!;
    cases.push({ name, kind: fault.kind, service: fault.service, delayMinutes: after.length > 0 ? after[0]! - FAULT_START_MINUTE : null, earlyAlarms: r.openedAt.filter((m) => m < FAULT_START_MINUTE).length });
  }
  const delays = cases.flatMap((c) => (c.delayMinutes === null ? [] : [c.delayMinutes])).sort((a, b) => a - b);

  const quietRuns: Run[] = [];
  const alarms: { name: string; seed: number; minutes: number[] }[] = [];
  const step = scenarios.length / Math.max(1, Math.min(quietWorlds, scenarios.length));
  const quietOnes = quietWorlds === 0 ? [] : Array.from({ length: Math.min(quietWorlds, scenarios.length) }, (_, i) => scenarios[Math.floor(i * step)]!);
  for (let seed = 0; seed < seeds; seed++) {
    for (const { name, scenario } of quietOnes) {
      const r = await runWorld(name, `bench-quiet-${seed}`, quiet(scenario), 0, days * 1440 - 1);
      quietRuns.push(r);
      if (r.openedAt.length > 0) alarms.push({ name, seed, minutes: r.openedAt });
    }
  }
  const quietDays = (quietRuns.reduce((s, r) => s + r.ticks, 0) / 1440) || 0;
  const falseAlarms = alarms.reduce((s, a) => s + a.minutes.length, 0);
  const all = [...runs, ...quietRuns];
  const ticks = all.reduce((s, r) => s + r.ticks, 0);
  const scored = all.reduce((s, r) => s + r.servicesScored, 0);
  const cpu = all.reduce((s, r) => s + r.cpuMs, 0);
  const scoring = all.reduce((s, r) => s + r.scoringMs, 0);

  const out = {
    benchmark: 'detection',
    settings: { faultStartMinute: FAULT_START_MINUTE, horizonMinutes: HORIZON_MINUTES, seeds, daysPerWorld: days, generated, quietWorlds: quietOnes.length, confirmMinutes: CONFIRM || 'default' },
    delay: {
      faults: cases.length,
      detected: delays.length,
      missed: cases.filter((c) => c.delayMinutes === null).map((c) => ({ name: c.name, kind: c.kind, service: c.service })),
      medianMinutes: percentile(delays, 0.5),
      p90Minutes: percentile(delays, 0.9),
      maxMinutes: delays.length > 0 ? delays.at(-1) : null,
      alarmsBeforeTheFault: cases.reduce((s, c) => s + c.earlyAlarms, 0),
      cases,
    },
    falseAlarms: {
      worlds: quietRuns.length,
      simulatedDays: Math.round(quietDays * 100) / 100,
      alarms: falseAlarms,
      perDay: quietDays > 0 ? Math.round((falseAlarms / quietDays) * 1000) / 1000 : null,
      perServiceDay: quietDays > 0 ? Math.round((falseAlarms / (quietRuns.reduce((s, r) => s + r.servicesScored, 0) / 1440)) * 10000) / 10000 : null,
      where: alarms,
    },
    cpu: {
      ticks,
      msPerTick: Math.round((cpu / ticks) * 100) / 100,
      msPerService: Math.round((cpu / scored) * 100) / 100,
      scoringMsPerService: Math.round((scoring / scored) * 100) / 100,
    },
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
};

await main();
