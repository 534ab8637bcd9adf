/**
 * A per-incident token budget for the LLM reasoner: one runaway incident (a flapping alert re-run many times, a
 * huge log dump) must not spend without bound. The reasoner asks `remaining` before each model call and
 * reports what it used with `consume`.
 *
 * The check is deliberately soft: agents that run in parallel may each pass the check and together overshoot
 * by at most one call each. A shared implementation (e.g. a DynamoDB counter on the incident item with an
 * atomic `ADD`) can sit behind the same interface.
 */

import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface TokenBudget {
  /** Tokens this incident may still spend (0 when exhausted). */
  remaining(incidentId: string): Promise<number>;
  /** Records tokens spent by this incident. */
  consume(incidentId: string, tokens: number): Promise<void>;
}

export class InvalidTokenBudget extends Error {
  override name = 'InvalidTokenBudget';
}

/** A budget kept in process memory: per warm Lambda container, or for the whole laptop twin. */
export class InMemoryTokenBudget implements TokenBudget {
  readonly #limit: number;
  readonly #spent = new Map<string, number>();

  /** @param perIncident tokens (input + output) each incident may spend. */
  constructor(perIncident: number) {
    if (!Number.isFinite(perIncident) || perIncident < 0) {
      throw new InvalidTokenBudget(`perIncident must be a non-negative number, got ${perIncident}`);
    }
    this.#limit = perIncident;
  }

  async remaining(incidentId: string): Promise<number> {
    return Math.max(0, this.#limit - (this.#spent.get(incidentId) ?? 0));
  }

  async consume(incidentId: string, tokens: number): Promise<void> {
    if (!Number.isFinite(tokens) || tokens < 0) throw new InvalidTokenBudget(`tokens must be a non-negative number, got ${tokens}`);
    this.#spent.set(incidentId, (this.#spent.get(incidentId) ?? 0) + tokens);
  }
}

/**
 * The budget kept on the incident's own partition (`INCIDENT#<id>` / `BUDGET`, an atomic `ADD`), so every Lambda
 * container — the parallel investigation agents, a rerun — draws from the same count.
 */
export class DynamoTokenBudget implements TokenBudget {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #limit: number;

  constructor(doc: DynamoDBDocumentClient, tableName: string, perIncident: number) {
    if (!Number.isFinite(perIncident) || perIncident < 0) {
      throw new InvalidTokenBudget(`perIncident must be a non-negative number, got ${perIncident}`);
    }
    this.#doc = doc;
    this.#table = tableName;
    this.#limit = perIncident;
  }

  #key(incidentId: string) {
    return { pk: `INCIDENT#${incidentId}`, sk: 'BUDGET' };
  }

  async remaining(incidentId: string): Promise<number> {
    const { Item } = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: this.#key(incidentId), ConsistentRead: true }));
    return Math.max(0, this.#limit - Number(Item?.tokensSpent ?? 0));
  }

  async consume(incidentId: string, tokens: number): Promise<void> {
    if (!Number.isFinite(tokens) || tokens < 0) throw new InvalidTokenBudget(`tokens must be a non-negative number, got ${tokens}`);
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: this.#key(incidentId),
        UpdateExpression: 'ADD tokensSpent :t',
        ExpressionAttributeValues: { ':t': Math.round(tokens) },
      }),
    );
  }
}
