/**
 * The five fault types of the demo (the third design note): latency spike, error rate, slow database, memory leak,
 * dependency down. Each expands, for one service of a running world, into a scenario-format fault that starts at
 * the world's current minute — and, where a real incident of that type has one, the change that caused it, made at
 * the same minute: a bad deploy raises the error rate, so rolling it back (what the autopilot plans) really ends the
 * fault in the world. The faults are the generator's own shapes (generator.ts: the same kinds, effects, logs and
 * span errors as the generated incidents), sized by draws keyed by the world and the fault id, so two injections
 * differ as two real incidents would, and the same injection replays the same.
 *
 * Each preset also gives the world's new answer key (`expect`, where the cause is and what fixes it) and the
 * metrics to watch: where the fault shows first.
 */
import type { ActionKind, FaultCategory } from '../model.ts';
import {
  Draw,
  databaseSlowdownFault,
  deployChange,
  exceptionAfterDeployFault,
  type IdStyle,
  infraChange,
  memoryLeakFault,
  OUTAGE_STATUSES,
  slowCodePathFault,
  thirdPartyOutageFault,
  uniqueIds,
} from './generator.ts';
import { keyPrefix } from './random.ts';
import type { ChangeSpec, Expect, FaultSpec, Scenario, ServiceSpec } from './scenario.ts';

import { type FaultPreset, PRESET_NAMES } from './preset-names.ts';

export { FaultPreset, PRESET_NAMES } from './preset-names.ts';

/** A metric of a service where the fault shows. */
export interface Watch {
  readonly service: string;
  readonly metric: string;
}

/** What a preset expands into, for one service at one minute. */
export interface PresetFault {
  readonly fault: FaultSpec;
  readonly changes: readonly ChangeSpec[];
  readonly expect: Expect;
  readonly watch: readonly Watch[];
}

/** The preset cannot be applied to the named service (its tier), or the world has no service it fits. */
export class PresetNotApplicable extends Error {
  override name = 'PresetNotApplicable';
}

type Tier = ServiceSpec['tier'];

interface PresetSpec {
  readonly name: FaultPreset;
  readonly title: string;
  readonly description: string;
  /** Which services it fits, said for an error message, and the test. */
  readonly fits: { readonly what: string; readonly test: (s: ServiceSpec, scenario: Scenario) => boolean };
  /** Among the services it fits, the better default first (compare). */
  readonly rank: (a: ServiceSpec, b: ServiceSpec, scenario: Scenario) => number;
  readonly build: (b: Build) => Omit<PresetFault, 'expect' | 'watch'> & { readonly category: FaultCategory; readonly mitigation: { kind: ActionKind; service?: string; target?: string }; readonly watch: readonly Watch[] };
}

interface Build {
  readonly d: Draw;
  readonly scenario: Scenario;
  readonly service: ServiceSpec;
  readonly minute: number;
  readonly id: string;
  readonly ids: IdStyle;
}

const callersOf = (scenario: Scenario, name: string): ServiceSpec[] => scenario.services.filter((s) => s.calls.includes(name));
const calledByFrontend = (scenario: Scenario, s: ServiceSpec): boolean => callersOf(scenario, s.name).some((c) => c.tier === 'frontend');
/** The services upstream of `name`, nearest first (where its errors and latency travel). */
const upstream = (scenario: Scenario, name: string): ServiceSpec[] => {
  const out: ServiceSpec[] = [];
  let frontier = [name];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const n of frontier) {
      for (const c of callersOf(scenario, n)) {
        if (c.name === name || out.includes(c)) continue;
        out.push(c);
        next.push(c.name);
      }
    }
    frontier = next;
  }
  return out;
};
/** Prefer (descending) by each key in turn. */
const by =
  (...keys: ((s: ServiceSpec, scenario: Scenario) => number)[]) =>
  (a: ServiceSpec, b: ServiceSpec, scenario: Scenario): number => {
    for (const k of keys) {
      const d = k(b, scenario) - k(a, scenario);
      if (d !== 0) return d;
    }
    return 0;
  };
const flag = (x: boolean) => (x ? 1 : 0);
const userFacing = by(
  (s) => flag(s.tier === 'backend'),
  (s, sc) => flag(calledByFrontend(sc, s)),
  (s) => s.revenuePerMinute,
  (s) => s.baseline.throughput_rps,
);
const RUNS_CODE: readonly Tier[] = ['frontend', 'backend', 'job'];
const runsCode = { what: 'a service that runs our code (frontend, backend or job)', test: (s: ServiceSpec) => RUNS_CODE.includes(s.tier) };
const watchUp = (scenario: Scenario, service: string, metric: string): Watch[] => [{ service, metric }, ...upstream(scenario, service).slice(0, 2).map((s) => ({ service: s.name, metric }))];
const rollback = (change: ChangeSpec) => ({ kind: 'rollback-change' as const, service: change.service, target: change.id });

const PRESETS: readonly PresetSpec[] = [
  {
    name: 'latency-spike',
    title: 'Latency spike',
    description: 'A deploy makes a hot path several times slower (a query without its index, a synchronous call in a loop); rolling it back ends it.',
    fits: runsCode,
    rank: userFacing,
    build: ({ d, scenario, service, minute, ids }) => {
      const change = deployChange(d, ids, service.name, minute);
      return { fault: slowCodePathFault(d, service, minute, 1, change.id), changes: [change], category: 'bad-deploy', mitigation: rollback(change), watch: watchUp(scenario, service.name, 'latency_p99_ms') };
    },
  },
  {
    name: 'error-rate',
    title: 'Error rate',
    description: 'A deploy makes the service throw on part of its requests; its callers fail with it. Rolling the deploy back ends it.',
    fits: runsCode,
    rank: userFacing,
    build: ({ d, scenario, service, minute, ids }) => {
      const change = deployChange(d, ids, service.name, minute);
      return { fault: exceptionAfterDeployFault(d, service.name, minute, 1, change.id), changes: [change], category: 'bad-deploy', mitigation: rollback(change), watch: watchUp(scenario, service.name, 'error_rate_pct') };
    },
  },
  {
    name: 'slow-database',
    title: 'Slow database',
    description: "The database's storage is moved to a throttled volume class: every query slows, and the connection pools of its callers fill up. Rolling the change back ends it.",
    fits: { what: 'a database', test: (s) => s.tier === 'database' },
    rank: by(
      (s, sc) => flag(sc.services.some((x) => x.poolTarget === s.name)),
      (s) => s.baseline.throughput_rps,
    ),
    build: ({ d, scenario, service, minute, ids }) => {
      const change = infraChange(d, ids, service.name, minute, `Migrate ${service.name} storage to gp3`, `Moves ${service.name} volumes from io2 to gp3 at the default throughput.`);
      const pools = scenario.services.filter((s) => s.poolTarget === service.name).map((s) => ({ service: s.name, metric: 'db_pool_active' }));
      return {
        fault: databaseSlowdownFault(d, service.name, minute, 2, change.id, true),
        changes: [change],
        category: 'database',
        mitigation: rollback(change),
        watch: [{ service: service.name, metric: 'latency_p99_ms' }, ...pools, ...upstream(scenario, service.name).slice(0, 1).map((s) => ({ service: s.name, metric: 'latency_p99_ms' }))],
      };
    },
  },
  {
    name: 'memory-leak',
    title: 'Memory leak',
    description: 'A deploy leaks memory: the heap grows every minute, then GC pauses slow the service and pods are OOM-killed. A restart only buys time; rolling back ends it.',
    fits: runsCode,
    rank: by(
      (s) => flag(s.memoryLimitMb !== undefined),
      (s) => flag(s.tier === 'backend'),
      (s, sc) => flag(calledByFrontend(sc, s)),
      (s) => s.baseline.throughput_rps,
    ),
    build: ({ d, service, minute, ids }) => {
      const change = deployChange(d, ids, service.name, minute);
      const base = service.baseline.memory_mb;
      // With a limit, the heap reaches 90 % of it in about ten minutes (GC pauses from 75 %, OOM kills at the limit);
      // without one, it grows 8 % of its healthy size a minute and nothing else follows.
      const limit = service.memoryLimitMb;
      const perMinute = Math.round((limit !== undefined ? Math.max(base * 0.02, (limit * 0.9 - base) / 10) : base * 0.08) * 1000) / 1000;
      const heap = Math.round(limit ?? base * 2.5);
      return {
        fault: memoryLeakFault(d, service.name, minute, change.id, perMinute, heap),
        changes: [change],
        category: 'memory-leak',
        mitigation: rollback(change),
        watch: [{ service: service.name, metric: 'memory_mb' }, { service: service.name, metric: 'latency_p99_ms' }],
      };
    },
  },
  {
    name: 'dependency-down',
    title: 'Dependency down',
    description: 'A dependency (a third party first) fails and slows, with no change of ours: its callers fail with it until one fails over away from it.',
    fits: { what: 'a service something calls (a dependency)', test: (s, sc) => callersOf(sc, s.name).length > 0 },
    rank: by(
      (s) => flag(s.tier === 'external'),
      (s) => flag(s.tier === 'backend'),
      (s) => s.baseline.throughput_rps,
    ),
    build: ({ d, scenario, service, minute }) => {
      const status = d.pick(OUTAGE_STATUSES);
      const caller = callersOf(scenario, service.name)[0] as ServiceSpec;
      return {
        fault: thirdPartyOutageFault(d, service.name, minute, 1, status),
        changes: [],
        category: 'dependency',
        mitigation: { kind: 'failover', service: caller.name, target: service.name },
        watch: [{ service: service.name, metric: 'error_rate_pct' }, ...callersOf(scenario, service.name).slice(0, 2).map((s) => ({ service: s.name, metric: 'error_rate_pct' }))],
      };
    },
  },
];

/** The presets as the API lists them. */
export const presetList = (): { name: FaultPreset; title: string; description: string }[] => PRESETS.map(({ name, title, description }) => ({ name, title, description }));

const specOf = (name: FaultPreset): PresetSpec => {
  const spec = PRESETS.find((p) => p.name === name);
  if (!spec) throw new PresetNotApplicable(`no preset "${String(name)}" (the presets: ${PRESET_NAMES.join(', ')})`);
  return spec;
};

/** The service a preset picks in a world when none is named: the best-ranked one it fits, or PresetNotApplicable. */
export const defaultService = (preset: FaultPreset, scenario: Scenario): string => {
  const spec = specOf(preset);
  const fit = scenario.services.filter((s) => spec.fits.test(s, scenario)).sort((a, b) => spec.rank(a, b, scenario));
  if (fit.length === 0) throw new PresetNotApplicable(`preset ${preset} needs ${spec.fits.what}, and world has none (its services: ${scenario.services.map((s) => `${s.name} (${s.tier})`).join(', ')})`);
  return (fit[0] as ServiceSpec).name;
};

/** A change id the world does not have yet, in the style of its changes (`CHG-` and five digits). */
const changeIds = (d: Draw, scenario: Scenario): IdStyle => {
  const unique = uniqueIds(new Set(scenario.changes.map((c) => c.id)));
  return { deploy: unique(() => `CHG-${d.int(10000, 99999)}`), flag: unique(() => `FF-${d.int(1000, 9999)}`) };
};

/**
 * The fault `preset` makes on `service` of a world (id `worldId`, scenario `scenario`) at scenario minute `minute`,
 * with id `faultId`. Throws PresetNotApplicable when the service does not fit the preset (naming those that do).
 */
export const presetFault = (preset: FaultPreset, opts: { worldId: string; scenario: Scenario; service: string; minute: number; faultId: string }): PresetFault => {
  const spec = specOf(preset);
  const { scenario } = opts;
  const service = scenario.services.find((s) => s.name === opts.service);
  if (!service) throw new PresetNotApplicable(`world ${opts.worldId} has no service "${opts.service}" (its services: ${scenario.services.map((s) => s.name).join(', ')})`);
  if (!spec.fits.test(service, scenario)) {
    const fit = scenario.services.filter((s) => spec.fits.test(s, scenario)).map((s) => s.name);
    throw new PresetNotApplicable(`preset ${preset} needs ${spec.fits.what}: ${service.name} is a ${service.tier}${callersOf(scenario, service.name).length === 0 && service.tier !== 'frontend' ? ' nothing calls' : ''}${fit.length > 0 ? ` (services it fits: ${fit.join(', ')})` : ' (no service of this world fits)'}`);
  }
  const d = new Draw(keyPrefix('fault-preset', opts.worldId, opts.faultId, preset));
  const built = spec.build({ d, scenario, service, minute: opts.minute, id: opts.faultId, ids: changeIds(d, scenario) });
  const cause = built.changes[0];
  return {
    fault: { ...built.fault, id: opts.faultId },
    changes: built.changes,
    expect: { rootCause: { service: cause?.service ?? service.name, ...(cause ? { changeId: cause.id } : {}), category: built.category }, mitigation: built.mitigation },
    watch: built.watch,
  };
};
