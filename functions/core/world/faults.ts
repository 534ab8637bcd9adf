/**
 * Faults injected into a running world (issue 12 §4): the live world `autopilot serve` keeps (LIVE_WORLD_ID), how a
 * request for a fault — a preset (presets.ts) or a scenario-format fault written by hand — becomes what the world
 * store adds at the world's current minute (WorldStore.addFault), and how the faults of a world are listed.
 *
 * A fault written by hand is a scenario-format fault without `startsAt`: it starts now (the world's current minute),
 * and an `endsAt` it gives counts from now too (`endsAt: 10` ends it ten minutes later). Its `causedBy` names a change
 * the world already has. Problems are reported with paths under `fault.` (`fault.effects.foo: not a metric a fault
 * can move …`): `FaultInvalid` for the fault alone, `ScenarioInvalid` (WorldStore.addFault) for the fault in its world,
 * both from the same validator as the scenario files.
 */
import { fileURLToPath } from 'node:url';
import { mitigationTransitions } from './dynamics.ts';
import { defaultService, type FaultPreset, presetFault, type Watch } from './presets.ts';
import { type Expect, FaultSpec, loadScenario, type Scenario } from './scenario.ts';
import { createWorld, worldNow, type WorldState, worldTime } from './world.ts';
import type { FaultAddition, WorldStore } from './world-store.ts';

import { LIVE_WORLD_ID } from './live-world-id.ts';

export { LIVE_WORLD_ID };
/** Seconds a mitigation takes to show fully in the live world's metrics (a rollout): short enough for the twin's verification window. */
export const LIVE_RECOVERY_LAG_SECONDS = 30;

/** events/worlds/live.json, resolved from this module (computed on call: a bundled Lambda never needs it). */
export const liveScenarioFile = (): string => fileURLToPath(new URL('../../../events/worlds/live.json', import.meta.url));

/**
 * Creates the live world from its fault-free base (events/worlds/live.json) unless it exists; an existing one is left
 * running as it is (its faults, actions and clock). Returns whether it was created.
 */
export const ensureLiveWorld = async (store: WorldStore, now: Date, file: string = liveScenarioFile()): Promise<{ world: WorldState; created: boolean }> => {
  const existing = await store.getWorld(LIVE_WORLD_ID);
  if (existing) return { world: existing, created: false };
  const world = createWorld(loadScenario(file), { id: LIVE_WORLD_ID, now, recoveryLagSeconds: LIVE_RECOVERY_LAG_SECONDS });
  await store.putWorld(world);
  return { world, created: true };
};

/** The next free `fault-<n>` id of a scenario (one more than the highest taken). */
export const nextFaultId = (scenario: Scenario): string => {
  let n = 0;
  for (const f of scenario.faults) {
    const m = /^fault-(\d+)$/.exec(f.id ?? '');
    if (m) n = Math.max(n, Number(m[1]));
  }
  return `fault-${n + 1}`;
};

/** A scenario-format fault without `startsAt`, as a client sends it (validated when it is added). */
export type FaultBody = Readonly<Record<string, unknown>>;

/** What to inject: a preset on a service (default: the preset's choice), or a fault written by hand. */
export type FaultRequest =
  | { readonly preset: FaultPreset; readonly service?: string; readonly by: string }
  | { readonly fault: FaultBody; readonly service?: string; readonly by: string };

/** What an injection added, besides the fault itself. */
export interface InjectionInfo {
  readonly service: string;
  readonly preset?: FaultPreset;
  readonly changes: readonly string[];
  readonly watch: readonly Watch[];
}

/** A fault written by hand is invalid; `problems` name each with a path under `fault.`. */
export class FaultInvalid extends Error {
  override name = 'FaultInvalid';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid fault: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

/**
 * The `make` of WorldStore.addFault for a request, and what it added (filled in when `make` runs: on the fresh read of
 * the attempt that lands). Throws PresetNotApplicable / FaultInvalid from `make` for a request the world cannot take.
 */
export const faultMaker = (request: FaultRequest): { make: (world: WorldState, minute: number) => FaultAddition; info: () => InjectionInfo } => {
  let info: InjectionInfo | undefined;
  const make = (world: WorldState, minute: number): FaultAddition => {
    const faultId = nextFaultId(world.scenario);
    if ('preset' in request) {
      const service = request.service ?? defaultService(request.preset, world.scenario);
      const made = presetFault(request.preset, { worldId: world.id, scenario: world.scenario, service, minute, faultId });
      info = { service, preset: request.preset, changes: made.changes.map((c) => c.id), watch: made.watch };
      return { fault: made.fault, changes: made.changes, expect: made.expect, by: request.by, preset: request.preset };
    }
    const fault = customFault(world, request.fault, request.service, minute, faultId);
    info = { service: fault.service, changes: [], watch: [{ service: fault.service, metric: 'error_rate_pct' }, { service: fault.service, metric: 'latency_p99_ms' }, ...Object.keys(fault.effects).filter((m) => m !== 'error_rate_pct' && m !== 'latency_p99_ms').map((metric) => ({ service: fault.service, metric }))] };
    return { fault, expect: customExpect(world.scenario, fault), by: request.by };
  };
  return {
    make,
    info: () => {
      if (!info) throw new Error('the fault was not made yet');
      return info;
    },
  };
};

/** A hand-written fault at `minute`: checked alone first (paths under `fault.`), then in the world (by WorldStore.addFault). */
const customFault = (world: WorldState, body: FaultBody, service: string | undefined, minute: number, faultId: string): FaultSpec => {
  const problems: string[] = [];
  if ('startsAt' in body) problems.push('fault.startsAt: an injected fault starts now (the world\'s current minute): leave startsAt out');
  if (service !== undefined && body.service !== undefined && body.service !== service) problems.push(`fault.service: "${String(body.service)}" differs from the request's service "${service}"`);
  const endsAt = body.endsAt;
  if (endsAt !== undefined && (typeof endsAt !== 'number' || !(endsAt > 0))) problems.push('fault.endsAt: minutes from now until the fault ends by itself, above 0');
  if (problems.length > 0) throw new FaultInvalid(problems);
  const input = { ...body, id: body.id ?? faultId, service: body.service ?? service, startsAt: minute, ...(typeof endsAt === 'number' ? { endsAt: minute + endsAt } : {}) };
  const parsed = FaultSpec.safeParse(input);
  if (!parsed.success) throw new FaultInvalid(parsed.error.issues.map((i) => `fault${i.path.length > 0 ? `.${i.path.join('.')}` : ''}: ${i.message}`));
  if (world.scenario.faults.some((f) => f.id === parsed.data.id)) throw new FaultInvalid([`fault.id: world ${world.id} already has a fault "${parsed.data.id}"`]);
  return parsed.data;
};

/** The answer key of a hand-written fault: where its cause lives (the causing change's service), and what ends it. */
const customExpect = (scenario: Scenario, fault: FaultSpec): Expect => {
  const cause = scenario.changes.find((c) => c.id === fault.causedBy);
  const fix = fault.fixedBy[0];
  return {
    rootCause: { service: cause?.service ?? fault.service, ...(cause ? { changeId: cause.id } : {}), category: 'unknown' },
    mitigation: cause ? { kind: 'rollback-change', service: cause.service, target: cause.id } : fix ? { kind: fix.kind, ...(fix.service ? { service: fix.service } : {}), ...(fix.target ? { target: fix.target } : {}) } : { kind: 'none' },
  };
};

/** One fault of a world as GET /admin/faults lists it. */
export interface FaultView {
  readonly id: string;
  readonly kind: string;
  readonly service: string;
  /** ISO times on the world's clock. */
  readonly startsAt: string;
  readonly endsAt?: string;
  /** Started, not ended, and not ended by a mitigation, at the world's now. */
  readonly active: boolean;
  readonly preset?: string;
  /** Who injected it, and who ended it (from the world's fault log). */
  readonly by?: string;
  readonly endedBy?: string;
  /** The change that caused it (rolling it back ends it). */
  readonly causedBy?: string;
  /** When an action executed in the world ended it (a rollback, a failover), if one did. */
  readonly mitigatedAt?: string;
}

/** The faults of a world that have an id (those injected; a scenario's own faults have none), oldest first. */
export const faultViews = (world: WorldState, wallNow: Date): FaultView[] => {
  const now = worldNow(world, wallNow.getTime());
  const at = (m: number) => worldTime(world, m);
  const iso = (ms: number) => new Date(ms).toISOString();
  const log = world.faultLog ?? [];
  return world.scenario.faults.flatMap((f): FaultView[] => {
    if (f.id === undefined) return [];
    const transitions = mitigationTransitions(f, world.actions).filter((t) => t.at <= now);
    const last = transitions.at(-1);
    const mitigated = last?.mitigated === true;
    const injected = log.find((e) => e.fault === f.id && e.event === 'injected');
    const ended = log.find((e) => e.fault === f.id && e.event === 'ended');
    return [
      {
        id: f.id,
        kind: f.kind,
        service: f.service,
        startsAt: iso(at(f.startsAt)),
        ...(f.endsAt !== undefined ? { endsAt: iso(at(f.endsAt)) } : {}),
        active: at(f.startsAt) <= now && (f.endsAt === undefined || at(f.endsAt) > now) && !mitigated,
        ...(injected?.preset ? { preset: injected.preset } : {}),
        ...(injected ? { by: injected.by } : {}),
        ...(ended ? { endedBy: ended.by } : {}),
        ...(f.causedBy ? { causedBy: f.causedBy } : {}),
        ...(mitigated && last ? { mitigatedAt: iso(last.at) } : {}),
      },
    ];
  });
};
