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
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { plain } from '../store/plain.ts';
import type { PastIncident } from '../tools/ports.ts';
import { parseScenario, type Scenario } from './scenario.ts';
import { checkClockAdvance, type WorldAction, type WorldState } from './world.ts';

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
}

export const WORLD_SK = 'WORLD';
export const worldPk = (id: string): string => `WORLD#${id}`;
/** Caps that keep a world item well under 400 KB (a scenario is ~20–40 KB, an action ~0.5 KB, an incident ~1 KB). */
export const MAX_WORLD_ACTIONS = 200;
export const MAX_WORLD_INCIDENTS = 150;
export const MAX_SCENARIO_BYTES = 150_000;

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
 * read it, so what the caller decided on is stale. Nothing was written; decide again on a fresh read.
 */
export class WorldChanged extends Error {
  override name = 'WorldChanged';
  readonly list: WorldList;
  readonly expectedLength: number | undefined;
  readonly actualLength: number;
  constructor(id: string, list: WorldList, expectedLength: number | undefined, actualLength: number) {
    super(
      // The lists only grow, so a refused append that finds the length it expected met a world replaced under it.
      expectedLength === undefined || expectedLength === actualLength
        ? `world ${id} was replaced while appending to its ${list}; nothing was written`
        : `world ${id} changed since it was read: it holds ${actualLength} ${list}, not the ${expectedLength} read; nothing was written`,
    );
    this.list = list;
    this.expectedLength = expectedLength;
    this.actualLength = actualLength;
  }
}

type WorldList = 'actions' | 'incidents';

/** A list index written into an UpdateExpression: a non-negative integer, nothing else. */
const checkIndex = (index: number): void => {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`a history index must be a non-negative integer, got ${index}`);
};

/**
 * Parsed scenarios by their stored JSON. Every agent run reads its world, and a scenario (tens of KB) never
 * changes once a world is created: validating it once per container instead of once per read saves most of a
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
        },
      }),
    );
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
      throw new WorldChanged(world.id, 'incidents', guard.expectedLength, world.incidents.length);
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

  async replaceIncident(id: string, index: number, incident: PastIncident, guard: AppendGuard): Promise<void> {
    checkIndex(index);
    const w = this.#require(id);
    if (w.incidents.length !== guard.expectedLength || w.incidents[index]?.id !== incident.id) throw new WorldChanged(id, 'incidents', guard.expectedLength, w.incidents.length);
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
