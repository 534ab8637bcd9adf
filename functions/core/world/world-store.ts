/**
 * Where simulated worlds live: one item per world in the incident table (PK `WORLD#<id>`, SK `WORLD`), so
 * every Lambda of an incident sees the same world, including the mitigations executed in it. Actions and
 * recorded incidents are appended atomically (`list_append` under a condition); no transactions, which
 * dynalite lacks. The scenario is kept as a JSON string: one attribute, no marshalling surprises, and its
 * size is easy to check against DynamoDB's 400 KB item limit.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PastIncident } from '../tools/ports.ts';
import { parseScenario, type Scenario } from './scenario.ts';
import type { WorldAction, WorldState } from './world.ts';

export interface WorldStore {
  getWorld(id: string): Promise<WorldState | undefined>;
  /** Creates or replaces the world. */
  putWorld(state: WorldState): Promise<void>;
  /** Appends an action; throws `WorldNotFound` if the world does not exist, `WorldFull` past the cap. */
  recordAction(id: string, action: WorldAction): Promise<void>;
  /** Appends an incident to the world's history (the memory grows as incidents resolve). */
  recordIncident(id: string, incident: PastIncident): Promise<void>;
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

/** Plain JSON (drops undefined, which the DynamoDB marshaller rejects unless told otherwise). */
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

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
        },
      }),
    );
  }

  recordAction(id: string, action: WorldAction): Promise<void> {
    return this.#append(id, 'actions', plain(action), MAX_WORLD_ACTIONS);
  }

  recordIncident(id: string, incident: PastIncident): Promise<void> {
    return this.#append(id, 'incidents', plain(incident), MAX_WORLD_INCIDENTS);
  }

  async #append(id: string, list: 'actions' | 'incidents', value: unknown, max: number): Promise<void> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: worldPk(id), sk: WORLD_SK },
          UpdateExpression: 'SET #list = list_append(if_not_exists(#list, :empty), :item)',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#list) OR size(#list) < :max)',
          ExpressionAttributeNames: { '#list': list },
          ExpressionAttributeValues: { ':empty': [], ':item': [value], ':max': max },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException')) throw error;
      const world = await this.getWorld(id);
      if (!world) throw new WorldNotFound(id);
      throw new WorldFull(`world ${id} already holds ${max} ${list}`);
    }
  }
}

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

  async recordAction(id: string, action: WorldAction): Promise<void> {
    const w = this.#require(id);
    if (w.actions.length >= MAX_WORLD_ACTIONS) throw new WorldFull(`world ${id} already holds ${MAX_WORLD_ACTIONS} actions`);
    this.#worlds.set(id, { ...w, actions: [...w.actions, plain(action)] });
  }

  async recordIncident(id: string, incident: PastIncident): Promise<void> {
    const w = this.#require(id);
    if (w.incidents.length >= MAX_WORLD_INCIDENTS) throw new WorldFull(`world ${id} already holds ${MAX_WORLD_INCIDENTS} incidents`);
    this.#worlds.set(id, { ...w, incidents: [...w.incidents, plain(incident)] });
  }

  #require(id: string): WorldState {
    const w = this.#worlds.get(id);
    if (!w) throw new WorldNotFound(id);
    return w;
  }
}
