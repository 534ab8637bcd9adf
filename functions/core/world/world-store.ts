/**
 * Where simulated worlds live: one item per world in the incident table (PK `WORLD#<id>`, SK `WORLD`), so
 * every Lambda of an incident sees the same world, including the mitigations executed in it. Actions and
 * recorded incidents are appended atomically (`list_append` under a condition); no transactions, which
 * dynalite lacks. An append can also be made conditional on the list still having the length the caller read
 * (optimistic concurrency): the lists only ever grow, so their length is the version of what the caller decided
 * on. Two duplicate runs of one action that both read "not applied yet" then cannot both record it: the second
 * append fails with `WorldChanged`, and its caller decides again on a fresh read (tools/simulated.ts). A recorded
 * incident recorded again with other content (people correcting what the autopilot recorded) replaces its entry in
 * place (`replaceIncident`, guarded by the length and the entry's id): the history's length, and so the presence of an
 * id, still only grows. The scenario is kept as a JSON string: one attribute, no marshalling surprises, and its
 * size is easy to check against DynamoDB's 400 KB item limit.
 *
 * A running world can also have its scenario edited: a fault injected at its current minute, or ended there
 * (`addFault` / `endFault`, the live world's fault injection). The edit rewrites the scenario attribute alone, under a
 * condition on the scenario version the editor read (`scenarioVersion`, counted up by every edit) and on the world's
 * anchor (a world replaced under the editor is not edited). A concurrent action or recorded incident is an append to
 * another attribute, so it is never lost; a concurrent edit makes the condition fail, and the edit is made again on a
 * fresh read (a few attempts, then `ScenarioEditContended`). Only faults that start or end at the current minute are
 * written, so the world's past — every metric already served — stays as it was.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type * as z from 'zod';
import { plain } from '../store/plain.ts';
import type { PastIncident } from '../tools/ports.ts';
import { type ChangeSpec, type Expect, type FaultSpec, parseScenario, type Scenario, ScenarioInvalid } from './scenario.ts';
import { checkClockAdvance, type FaultEvent, type WorldAction, type WorldState, worldNow, worldTime } from './world.ts';

/**
 * The world as the caller read it, for a conditional append: the list must still hold exactly `expectedLength`
 * entries (what the caller saw), or the append fails with `WorldChanged` and nothing is written.
 */
export interface AppendGuard {
  readonly expectedLength: number;
}

export interface WorldStore {
  getWorld(id: string): Promise<WorldState | undefined>;
  /** Creates or replaces the world. */
  putWorld(state: WorldState): Promise<void>;
  /**
   * Appends an action; throws `WorldNotFound` if the world does not exist, `WorldFull` past the cap, and (with a
   * guard) `WorldChanged` if the world no longer holds the number of actions the caller read.
   */
  recordAction(id: string, action: WorldAction, guard?: AppendGuard): Promise<void>;
  /** Appends an incident to the world's history (the memory grows as incidents resolve); errors as recordAction. */
  recordIncident(id: string, incident: PastIncident, guard?: AppendGuard): Promise<void>;
  /**
   * Replaces the history's entry at `index` (an incident recorded again with other content: people corrected what the
   * autopilot recorded, functions/resolve-incident), only while the history still holds `guard.expectedLength` entries
   * and that entry is still incident `incident.id`; `WorldChanged` otherwise (nothing written), `WorldNotFound`.
   */
  replaceIncident(id: string, index: number, incident: PastIncident, guard: AppendGuard): Promise<void>;
  /**
   * Moves the world's clock `ms` further ahead of the wall clock (`WorldState.clockAdvanceMs`): the laptop twin calls
   * it for each Wait state it compresses. Atomic (concurrent advances add up); `WorldNotFound` if there is no world.
   */
  advanceClock(id: string, ms: number): Promise<void>;
  /**
   * Adds a fault to the world at its current minute (on the world's clock at `now`): `make` builds it from the world
   * as read and that minute. The scenario is validated whole (`ScenarioInvalid`, with its problems) and written only if
   * no other edit landed since the read; a lost race runs `make` again on a fresh read. Throws `WorldNotFound`,
   * `WorldFull` past MAX_WORLD_FAULTS, `WorldTooLarge`, `ScenarioEditContended`.
   */
  addFault(id: string, make: (world: WorldState, minute: number) => FaultAddition, now: Date): Promise<AddedFault>;
  /**
   * Ends fault `faultId` at the world's current minute (its `endsAt`; the world ramps back over the next minutes).
   * A fault already ended by then is left as it is (`alreadyEnded`). Throws `WorldNotFound`, `FaultNotFound`,
   * `ScenarioEditContended`.
   */
  endFault(id: string, faultId: string, by: string, now: Date): Promise<EndedFault>;
}

/** What `addFault` adds, built by its caller from the world as read and its current minute. */
export interface FaultAddition {
  /** The fault, with its `id` (unique in the world) and its `startsAt` (the minute it was given). Defaults are filled by the schema. */
  readonly fault: z.input<typeof FaultSpec>;
  /** Changes to add with it (the change that caused it, deployed at that minute). */
  readonly changes?: readonly z.input<typeof ChangeSpec>[];
  /** The world's answer key from now on (a fault-free world's key says "false alarm", which a fault contradicts). */
  readonly expect?: Expect;
  /** Who injected it, and from which preset. */
  readonly by: string;
  readonly preset?: string;
}

export interface AddedFault {
  /** The world as written. */
  readonly world: WorldState;
  /** The fault as stored (defaults filled). */
  readonly fault: FaultSpec;
}

export interface EndedFault {
  readonly world: WorldState;
  readonly fault: FaultSpec;
  /** When it ended (ISO, world clock): now, or the earlier end it already had. */
  readonly endedAt: string;
  /** It had already ended: nothing was written. */
  readonly alreadyEnded: boolean;
}

export const WORLD_SK = 'WORLD';
export const worldPk = (id: string): string => `WORLD#${id}`;
/** Caps that keep a world item well under 400 KB (a scenario is ~20–40 KB, an action ~0.5 KB, an incident ~1 KB). */
export const MAX_WORLD_ACTIONS = 200;
export const MAX_WORLD_INCIDENTS = 150;
export const MAX_SCENARIO_BYTES = 150_000;
/** Faults a world may hold (ended ones stay: they are the world's past, which its metrics keep showing). */
export const MAX_WORLD_FAULTS = 100;
/** Attempts at one scenario edit before giving up (each lost attempt means another edit landed: progress). */
export const MAX_SCENARIO_EDIT_ATTEMPTS = 5;

export class WorldNotFound extends Error {
  override name = 'WorldNotFound';
  constructor(id: string) {
    super(`world ${id} does not exist`);
  }
}

export class WorldFull extends Error {
  override name = 'WorldFull';
}

export class WorldTooLarge extends Error {
  override name = 'WorldTooLarge';
}

/**
 * A conditional append lost a race: another writer appended to the list (or replaced the world) since the caller
 * read it, so what the caller decided on is stale. Nothing was written; decide again on a fresh read. `detail`: the
 * message, when the refusal found something more specific (replaceIncident: no such entry at that index).
 */
export class WorldChanged extends Error {
  override name = 'WorldChanged';
  readonly list: WorldList;
  readonly expectedLength: number | undefined;
  readonly actualLength: number;
  constructor(id: string, list: WorldList, expectedLength: number | undefined, actualLength: number, detail?: string) {
    super(
      detail ??
        // The lists only grow, so a refused append that finds the length it expected met a world replaced under it.
        (expectedLength === undefined || expectedLength === actualLength
          ? `world ${id} was replaced while appending to its ${list}; nothing was written`
          : `world ${id} changed since it was read: it holds ${actualLength} ${list}, not the ${expectedLength} read; nothing was written`),
    );
    this.list = list;
    this.expectedLength = expectedLength;
    this.actualLength = actualLength;
  }
}

type WorldList = 'actions' | 'incidents';

/** No fault of that id in the world; `known` lists the ids it has. */
export class FaultNotFound extends Error {
  override name = 'FaultNotFound';
  readonly known: readonly string[];
  constructor(world: string, id: string, known: readonly string[]) {
    super(`world ${world} has no fault "${id}"${known.length > 0 ? ` (its faults: ${known.join(', ')})` : ' (it has no faults with an id)'}`);
    this.known = known;
  }
}

/** A scenario edit's condition failed: another edit landed (or the world was replaced) since the read. Retried on a fresh read. */
class ScenarioChanged extends Error {
  override name = 'ScenarioChanged';
}

/** Every attempt at a scenario edit lost to a concurrent edit; nothing was written by this call. Try again. */
export class ScenarioEditContended extends Error {
  override name = 'ScenarioEditContended';
}

/** The world's current minute: scenario minutes since its anchor, on its clock at wall time `now` (to the ms). */
export const worldMinute = (world: Pick<WorldState, 'createdAt' | 'clockAdvanceMs'>, now: Date): number =>
  Math.round(((worldNow(world, now.getTime()) - Date.parse(world.createdAt)) / 60_000) * 60_000) / 60_000;

/** One edit of a world's scenario, decided on the world as read: the new scenario and log entries (none: nothing to write), and the answer. */
interface ScenarioEdit<T> {
  readonly scenario?: Scenario;
  readonly events: readonly FaultEvent[];
  readonly result: (world: WorldState) => T;
}

/**
 * Read, decide, write under the version condition; on a lost race, again on a fresh read. `write` throws
 * ScenarioChanged when its condition fails.
 */
const editScenario = async <T>(
  id: string,
  read: (id: string) => Promise<WorldState | undefined>,
  write: (world: WorldState, scenario: Scenario, events: readonly FaultEvent[]) => Promise<void>,
  decide: (world: WorldState) => ScenarioEdit<T>,
): Promise<T> => {
  for (let attempt = 1; ; attempt++) {
    const world = await read(id);
    if (!world) throw new WorldNotFound(id);
    const edit = decide(world);
    if (!edit.scenario) return edit.result(world);
    try {
      await write(world, edit.scenario, edit.events);
    } catch (error) {
      if (!(error instanceof ScenarioChanged)) throw error;
      if (attempt >= MAX_SCENARIO_EDIT_ATTEMPTS) throw new ScenarioEditContended(`world ${id} was edited concurrently under each of ${attempt} attempts; nothing was written by this call — try again`);
      continue;
    }
    return edit.result({ ...world, scenario: edit.scenario, scenarioVersion: (world.scenarioVersion ?? 0) + 1, faultLog: [...(world.faultLog ?? []), ...edit.events] });
  }
};

/** The edit that adds a fault (see WorldStore.addFault). */
const addition =
  (make: (world: WorldState, minute: number) => FaultAddition, now: Date) =>
  (world: WorldState): ScenarioEdit<AddedFault> => {
    if (world.scenario.faults.length >= MAX_WORLD_FAULTS) throw new WorldFull(`world ${world.id} already holds ${MAX_WORLD_FAULTS} faults (ended ones included: they are its past)`);
    const a = make(world, worldMinute(world, now));
    if (a.fault.id === undefined) throw new TypeError('an injected fault needs an id');
    let scenario: Scenario;
    try {
      scenario = parseScenario(
        { ...world.scenario, faults: [...world.scenario.faults, a.fault], changes: [...world.scenario.changes, ...(a.changes ?? [])], ...(a.expect ? { expect: a.expect } : {}) },
        `world ${world.id}`,
      );
    } catch (error) {
      if (!(error instanceof ScenarioInvalid)) throw error;
      // The problems of the added fault by its own name (`fault.effects.foo`), not its place in the list.
      const at = `faults.${world.scenario.faults.length}`;
      const problems = error.problems.map((p) => (p.startsWith(`${at}.`) || p.startsWith(`${at}:`) ? `fault${p.slice(at.length)}` : p));
      throw new ScenarioInvalid(`world ${world.id}`, `the added fault: ${problems.join('; ')}`, { problems, cause: error });
    }
    const id = a.fault.id;
    return {
      scenario,
      events: [{ fault: id, event: 'injected', at: now.toISOString(), by: a.by, ...(a.preset ? { preset: a.preset } : {}) }],
      result: (w) => ({ world: w, fault: w.scenario.faults.find((f) => f.id === id) as FaultSpec }),
    };
  };

/** The edit that ends a fault (see WorldStore.endFault). */
const ending =
  (faultId: string, by: string, now: Date) =>
  (world: WorldState): ScenarioEdit<EndedFault> => {
    const faults = world.scenario.faults;
    const index = faults.findIndex((f) => f.id === faultId);
    if (index < 0) throw new FaultNotFound(world.id, faultId, faults.flatMap((f) => (f.id ? [f.id] : [])));
    const fault = faults[index] as FaultSpec;
    const minute = worldMinute(world, now);
    const iso = (m: number) => new Date(worldTime(world, m)).toISOString();
    if (fault.endsAt !== undefined && fault.endsAt <= minute) return { events: [], result: (w) => ({ world: w, fault, endedAt: iso(fault.endsAt as number), alreadyEnded: true }) };
    const ended: FaultSpec = { ...fault, endsAt: minute };
    const scenario = parseScenario({ ...world.scenario, faults: faults.map((f, i) => (i === index ? ended : f)) }, `world ${world.id}`);
    return {
      scenario,
      events: [{ fault: faultId, event: 'ended', at: now.toISOString(), by }],
      result: (w) => ({ world: w, fault: w.scenario.faults[index] as FaultSpec, endedAt: iso(minute), alreadyEnded: false }),
    };
  };

/**
 * Why a replaceIncident was refused, from the world as it is now: the history grew since the read, or its entry at
 * `index` is not the incident (an index past the end, another incident there), or the world was replaced.
 */
const replaceRefused = (world: WorldState, index: number, incidentId: string, expectedLength: number): WorldChanged => {
  const actual = world.incidents.length;
  const there = world.incidents[index];
  const detail =
    actual !== expectedLength
      ? undefined
      : !there
        ? `world ${world.id} has no incident at index ${index} (its history holds ${actual}); nothing was written`
        : there.id !== incidentId
          ? `world ${world.id} holds incident ${there.id} at index ${index}, not ${incidentId}; nothing was written`
          : undefined;
  return new WorldChanged(world.id, 'incidents', expectedLength, actual, detail);
};

/** A list index written into an UpdateExpression: a non-negative integer, nothing else. */
const checkIndex = (index: number): void => {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`a history index must be a non-negative integer, got ${index}`);
};

/**
 * Parsed scenarios by their stored JSON. Every agent run reads its world, and a scenario (tens of KB) changes only
 * when a fault is injected or ended (new text, so a new entry): validating it once per container instead of once per read saves most of a
 * read's CPU. The same parsed object comes back for the same text, so caches keyed by it (dynamics.ts) hold too.
 * Treat it as immutable. Bounded: oldest first.
 */
const PARSED_SCENARIOS = 32;
const parsedScenarios = new Map<string, Scenario>();
const parseStoredScenario = (json: string, id: string): Scenario => {
  const cached = parsedScenarios.get(json);
  if (cached) return cached;
  const scenario = parseScenario(JSON.parse(json), `world ${id}`);
  if (parsedScenarios.size >= PARSED_SCENARIOS) parsedScenarios.delete(parsedScenarios.keys().next().value as string);
  parsedScenarios.set(json, scenario);
  return scenario;
};

const scenarioJson = (state: WorldState): string => {
  const json = JSON.stringify(state.scenario);
  if (Buffer.byteLength(json) > MAX_SCENARIO_BYTES) throw new WorldTooLarge(`scenario of world ${state.id} is ${Buffer.byteLength(json)} bytes; the limit is ${MAX_SCENARIO_BYTES}`);
  return json;
};

const checkCaps = (state: WorldState) => {
  if (state.actions.length > MAX_WORLD_ACTIONS) throw new WorldTooLarge(`world ${state.id} has ${state.actions.length} actions; the limit is ${MAX_WORLD_ACTIONS}`);
  if (state.incidents.length > MAX_WORLD_INCIDENTS) throw new WorldTooLarge(`world ${state.id} has ${state.incidents.length} recorded incidents; the limit is ${MAX_WORLD_INCIDENTS}`);
};

export class DynamoWorldStore implements WorldStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, tableName: string) {
    this.#doc = doc;
    this.#table = tableName;
  }

  async getWorld(id: string): Promise<WorldState | undefined> {
    const { Item } = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: { pk: worldPk(id), sk: WORLD_SK }, ConsistentRead: true }));
    if (!Item) return undefined;
    return {
      id: Item.id as string,
      createdAt: Item.createdAt as string,
      recoveryLagSeconds: Number(Item.recoveryLagSeconds),
      scenario: parseStoredScenario(Item.scenario as string, id),
      actions: (Item.actions ?? []) as WorldAction[],
      incidents: (Item.incidents ?? []) as PastIncident[],
      ...(Number(Item.clockAdvanceMs) > 0 ? { clockAdvanceMs: Number(Item.clockAdvanceMs) } : {}),
      ...(Number(Item.scenarioVersion) > 0 ? { scenarioVersion: Number(Item.scenarioVersion) } : {}),
      ...(Array.isArray(Item.faultLog) && Item.faultLog.length > 0 ? { faultLog: Item.faultLog as FaultEvent[] } : {}),
    };
  }

  async putWorld(state: WorldState): Promise<void> {
    checkCaps(state);
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          pk: worldPk(state.id),
          sk: WORLD_SK,
          id: state.id,
          createdAt: state.createdAt,
          recoveryLagSeconds: state.recoveryLagSeconds,
          scenarioName: state.scenario.name,
          scenario: scenarioJson(state),
          actions: plain(state.actions),
          incidents: plain(state.incidents),
          ...(state.clockAdvanceMs ? { clockAdvanceMs: state.clockAdvanceMs } : {}),
          ...(state.scenarioVersion ? { scenarioVersion: state.scenarioVersion } : {}),
          ...(state.faultLog && state.faultLog.length > 0 ? { faultLog: plain(state.faultLog) } : {}),
        },
      }),
    );
  }

  addFault(id: string, make: (world: WorldState, minute: number) => FaultAddition, now: Date): Promise<AddedFault> {
    return editScenario(id, (x) => this.getWorld(x), (w, s, e) => this.#writeScenario(w, s, e), addition(make, now));
  }

  endFault(id: string, faultId: string, by: string, now: Date): Promise<EndedFault> {
    return editScenario(id, (x) => this.getWorld(x), (w, s, e) => this.#writeScenario(w, s, e), ending(faultId, by, now));
  }

  /** Rewrites the scenario if the world is still the one read (same anchor, same scenario version); else ScenarioChanged. */
  async #writeScenario(world: WorldState, scenario: Scenario, events: readonly FaultEvent[]): Promise<void> {
    const json = scenarioJson({ ...world, scenario });
    const version = world.scenarioVersion ?? 0;
    const sameVersion = version === 0 ? '(attribute_not_exists(scenarioVersion) OR scenarioVersion = :version)' : 'scenarioVersion = :version';
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: worldPk(world.id), sk: WORLD_SK },
          UpdateExpression: 'SET scenario = :scenario, scenarioVersion = :next, faultLog = list_append(if_not_exists(faultLog, :empty), :events)',
          ConditionExpression: `attribute_exists(pk) AND createdAt = :createdAt AND ${sameVersion}`,
          ExpressionAttributeValues: { ':scenario': json, ':version': version, ':next': version + 1, ':createdAt': world.createdAt, ':empty': [], ':events': plain(events) },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new ScenarioChanged(`world ${world.id} changed since it was read`);
      throw error;
    }
  }

  async advanceClock(id: string, ms: number): Promise<void> {
    checkClockAdvance(ms);
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: worldPk(id), sk: WORLD_SK },
          UpdateExpression: 'ADD clockAdvanceMs :ms',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':ms': ms },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new WorldNotFound(id);
      throw error;
    }
  }

  recordAction(id: string, action: WorldAction, guard?: AppendGuard): Promise<void> {
    return this.#append(id, 'actions', plain(action), MAX_WORLD_ACTIONS, guard);
  }

  recordIncident(id: string, incident: PastIncident, guard?: AppendGuard): Promise<void> {
    return this.#append(id, 'incidents', plain(incident), MAX_WORLD_INCIDENTS, guard);
  }

  async replaceIncident(id: string, index: number, incident: PastIncident, guard: AppendGuard): Promise<void> {
    checkIndex(index);
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: worldPk(id), sk: WORLD_SK },
          UpdateExpression: `SET #list[${index}] = :item`,
          ConditionExpression: `attribute_exists(pk) AND size(#list) = :expected AND #list[${index}].#id = :id`,
          ExpressionAttributeNames: { '#list': 'incidents', '#id': 'id' },
          ExpressionAttributeValues: { ':item': plain(incident), ':expected': guard.expectedLength, ':id': incident.id },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const world = await this.getWorld(id);
      if (!world) throw new WorldNotFound(id);
      throw replaceRefused(world, index, incident.id, guard.expectedLength);
    }
  }

  async #append(id: string, list: WorldList, value: unknown, max: number, guard: AppendGuard | undefined): Promise<void> {
    const expected = guard?.expectedLength;
    // size() of a missing attribute is not 0 in a condition (the comparison is false): an empty list may be absent.
    const unchanged = expected === undefined ? '' : expected === 0 ? ' AND (attribute_not_exists(#list) OR size(#list) = :expected)' : ' AND size(#list) = :expected';
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: worldPk(id), sk: WORLD_SK },
          UpdateExpression: 'SET #list = list_append(if_not_exists(#list, :empty), :item)',
          ConditionExpression: `attribute_exists(pk) AND (attribute_not_exists(#list) OR size(#list) < :max)${unchanged}`,
          ExpressionAttributeNames: { '#list': list },
          ExpressionAttributeValues: { ':empty': [], ':item': [value], ':max': max, ...(expected === undefined ? {} : { ':expected': expected }) },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // Which part of the condition failed, from a fresh read (the item as it is now, not as it was at the write).
      const world = await this.getWorld(id);
      if (!world) throw new WorldNotFound(id);
      throw whyRefused(world, list, max, expected);
    }
  }
}

/**
 * A write its ConditionExpression refused: by name, as an SDK of another copy (a second bundle of the client) throws
 * an exception that is not an instance of this module's class.
 */
const isConditionFailure = (error: unknown): boolean => error instanceof Error && error.name === 'ConditionalCheckFailedException';

/** The error for an append the condition refused, judged on the world as it is now. */
const whyRefused = (world: WorldState, list: WorldList, max: number, expected: number | undefined): Error => {
  const length = world[list].length;
  // A guarded caller first learns that it decided on a stale world: on a fresh read it may not append at all.
  if (expected !== undefined && length !== expected) return new WorldChanged(world.id, list, expected, length);
  if (length >= max) return new WorldFull(`world ${world.id} already holds ${max} ${list}`);
  // Neither full nor changed in length now: the world was replaced between the write and this read.
  return new WorldChanged(world.id, list, expected, length);
};

/** The in-memory store (unit tests, a single-process CLI). Copies on the way in and out, like a database. */
export class MemoryWorldStore implements WorldStore {
  readonly #worlds = new Map<string, WorldState>();

  async getWorld(id: string): Promise<WorldState | undefined> {
    const w = this.#worlds.get(id);
    return w ? structuredClone(w) : undefined;
  }

  async putWorld(state: WorldState): Promise<void> {
    checkCaps(state);
    scenarioJson(state);
    this.#worlds.set(state.id, plain(state)); // plain() is already a deep copy
  }

  async recordAction(id: string, action: WorldAction, guard?: AppendGuard): Promise<void> {
    this.#append(id, 'actions', plain(action), MAX_WORLD_ACTIONS, guard);
  }

  async recordIncident(id: string, incident: PastIncident, guard?: AppendGuard): Promise<void> {
    this.#append(id, 'incidents', plain(incident), MAX_WORLD_INCIDENTS, guard);
  }

  addFault(id: string, make: (world: WorldState, minute: number) => FaultAddition, now: Date): Promise<AddedFault> {
    return editScenario(id, (x) => this.getWorld(x), async (w, s, e) => this.#writeScenario(w, s, e), addition(make, now));
  }

  endFault(id: string, faultId: string, by: string, now: Date): Promise<EndedFault> {
    return editScenario(id, (x) => this.getWorld(x), async (w, s, e) => this.#writeScenario(w, s, e), ending(faultId, by, now));
  }

  /** The same condition as DynamoWorldStore's, checked and applied in one synchronous step. */
  #writeScenario(world: WorldState, scenario: Scenario, events: readonly FaultEvent[]): void {
    scenarioJson({ ...world, scenario });
    const current = this.#worlds.get(world.id);
    if (!current || current.createdAt !== world.createdAt || (current.scenarioVersion ?? 0) !== (world.scenarioVersion ?? 0)) throw new ScenarioChanged(`world ${world.id} changed since it was read`);
    this.#worlds.set(world.id, plain({ ...current, scenario, scenarioVersion: (current.scenarioVersion ?? 0) + 1, faultLog: [...(current.faultLog ?? []), ...events] }));
  }

  async replaceIncident(id: string, index: number, incident: PastIncident, guard: AppendGuard): Promise<void> {
    checkIndex(index);
    const w = this.#require(id);
    if (w.incidents.length !== guard.expectedLength || w.incidents[index]?.id !== incident.id) throw replaceRefused(w, index, incident.id, guard.expectedLength);
    this.#worlds.set(id, { ...w, incidents: w.incidents.map((x, i) => (i === index ? plain(incident) : x)) });
  }

  async advanceClock(id: string, ms: number): Promise<void> {
    checkClockAdvance(ms);
    const w = this.#require(id);
    this.#worlds.set(id, { ...w, clockAdvanceMs: (w.clockAdvanceMs ?? 0) + ms });
  }

  /** The same conditions as DynamoWorldStore's, checked and applied in one synchronous step (atomic here). */
  #append(id: string, list: WorldList, value: WorldAction | PastIncident, max: number, guard: AppendGuard | undefined): void {
    const w = this.#require(id);
    const expected = guard?.expectedLength;
    if ((expected !== undefined && w[list].length !== expected) || w[list].length >= max) throw whyRefused(w, list, max, expected);
    this.#worlds.set(id, { ...w, [list]: [...w[list], value] } as WorldState);
  }

  #require(id: string): WorldState {
    const w = this.#worlds.get(id);
    if (!w) throw new WorldNotFound(id);
    return w;
  }
}
