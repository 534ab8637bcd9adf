/**
 * The action journal: one item per executed plan step, kept beside the incident and never overwritten by a rerun.
 *
 *   INCIDENT#<id> / ACTION#<mode>#<kind>#<service>#<target>
 *
 * A step is CLAIMED by a conditional write (the item must not exist) BEFORE its action runs, and COMPLETED with its
 * result after (only by the claim that holds it). The executor reads the journal before acting:
 *   - no item            → check the preconditions, claim, run, complete;
 *   - done               → the recorded result is used; the action never runs again (a Step Functions retry, a rerun);
 *   - claimed, fresh     → another invocation is running it now: wait briefly for its result, else `ActionInProgress`
 *                          (retryable: the state machine tries again after a backoff);
 *   - claimed, stale     → the invocation that claimed it died mid-action (a crash, a timeout), so whether the action
 *                          took effect is unknown. An irreversible action is never repeated blindly: it is reported as
 *                          of unknown outcome and verification, then humans, decide. A reversible action's claim is
 *                          taken over (a conditional write on the old claim id, so one invocation wins) and the action
 *                          runs again behind its preconditions, which are checked against the live tools first — a
 *                          rollback that did land finds its change already rolled back and is skipped.
 * "Stale" means older than the executor's Lambda timeout: Lambda has ended the claiming invocation by then.
 *
 * Single-item conditional writes only (no transactions: dynalite, the twin's DynamoDB, has none), so concurrent
 * invocations are safe on AWS too: DynamoDB serialises the writes to one item, and exactly one claim or take-over of a
 * step succeeds; the loser reads the winner's item.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Retryable, keepsSdkName, transientAwsFailure } from '../errors.ts';
import type { ExecutedAction, MitigationAction } from '../model.ts';
// JSON copy as DynamoDB keeps it (no undefined, numbers in range); the memory journal must not share objects either
import { plain } from './plain.ts';

export type JournalMode = 'apply' | 'undo';

export interface JournalEntry {
  readonly incidentId: string;
  /** The step key (`stepKey`): the mode and the action's identity. */
  readonly key: string;
  readonly mode: JournalMode;
  readonly action: { readonly kind: string; readonly service: string; readonly target?: string };
  /** The catalog's reversibility of the action (decides what a stale claim may do). */
  readonly reversible: boolean;
  readonly state: 'claimed' | 'done';
  /** The id of the invocation that holds (or completed) the step. */
  readonly claimId: string;
  readonly claimedAt: string;
  /** How many invocations claimed the step (a take-over of a stale reversible claim adds one). */
  readonly attempts: number;
  /** The execution that claimed it (e.g. `inc-1-rerun-2`), when known. */
  readonly claimedBy?: string;
  readonly result?: ExecutedAction;
  readonly completedAt?: string;
}

export type ClaimOutcome = { readonly claimed: true; readonly entry: JournalEntry } | { readonly claimed: false; readonly entry: JournalEntry };

export interface NewClaim {
  readonly incidentId: string;
  readonly mode: JournalMode;
  readonly action: Pick<MitigationAction, 'kind' | 'service' | 'target' | 'reversible'>;
  readonly claimId: string;
  readonly claimedAt: string;
  readonly claimedBy?: string;
}

export interface ActionJournal {
  /** The step's item, read consistently; undefined if the step was never claimed. */
  get(incidentId: string, key: string): Promise<JournalEntry | undefined>;
  /** Every step of the incident, both modes, in key order. */
  list(incidentId: string): Promise<JournalEntry[]>;
  /**
   * Claims the step if nobody has: `claimed: false` returns the item that is there. Idempotent for the same claim id
   * (a retried request whose first attempt landed holds the step).
   */
  claim(claim: NewClaim): Promise<ClaimOutcome>;
  /**
   * Takes over a claim still held by `expectedClaimId` and never completed; `claimed: false` returns what is there.
   * Idempotent for the same new claim id.
   */
  takeOver(incidentId: string, key: string, expectedClaimId: string, claimId: string, claimedAt: string): Promise<ClaimOutcome>;
  /**
   * Records the result of the step `claimId` holds. Idempotent for the same claim (a retried call returns the done
   * item); throws `JournalClaimLost` when another claim holds the step.
   */
  complete(incidentId: string, key: string, claimId: string, result: ExecutedAction, completedAt: string): Promise<JournalEntry>;
}

/** A claim on the step is held by an invocation that is still running it: retry later (the state machine does). */
export class ActionInProgress extends Retryable {
  override name = 'ActionInProgress';
  readonly entry: JournalEntry;
  constructor(entry: JournalEntry) {
    super(`incident ${entry.incidentId}: step ${entry.key} is being run by another invocation since ${entry.claimedAt}; retry once it has finished`);
    this.entry = entry;
  }
}

/** DynamoDB throttled or failed the journal's request after the SDK's own retries. Retryable. */
export class JournalUnavailable extends Retryable {
  override name = 'JournalUnavailable';
}

/** The step is held by another claim than the one completing it (its claim was taken over as stale). */
export class JournalClaimLost extends Error {
  override name = 'JournalClaimLost';
  constructor(incidentId: string, key: string, claimId: string, holder: JournalEntry | undefined) {
    super(`incident ${incidentId}: step ${key} is no longer held by claim ${claimId} (${holder ? `held by ${holder.claimId}, ${holder.state}` : 'no item'}); its result was not recorded`);
  }
}

/** A journal item that does not have the shape written here (hand-edited, or another writer). */
export class JournalEntryInvalid extends Error {
  override name = 'JournalEntryInvalid';
}

export const ACTION_SK_PREFIX = 'ACTION#';

/** The step's key: the mode and the action's identity (kind, service, target), whatever its position in the plan. */
export const stepKey = (mode: JournalMode, action: Pick<MitigationAction, 'kind' | 'service' | 'target'>): string => `${mode}#${action.kind}#${action.service}#${action.target ?? ''}`;

export const actionSk = (key: string): string => `${ACTION_SK_PREFIX}${key}`;

/**
 * The forward mitigation steps that were attempted: what a rerun must verify instead of diagnosing again. Every
 * `apply` item counts, whatever its result: a step is claimed only once its preconditions held, right before the
 * action port is called, so each item is an action that was sent. A `failed` result does not say the world is
 * unchanged — the adapters report a mutating call that timed out, or an SSM Automation still running at the end of
 * its wait, as failed ("may have acted", "not confirmed") — and a `skipped` one is a take-over that found the earlier
 * attempt's change already in place.
 */
export const mitigationSteps = (entries: readonly JournalEntry[]): JournalEntry[] => entries.filter((e) => e.mode === 'apply');

export const newClaimId = (): string => randomUUID();

const entryOf = (claim: NewClaim): JournalEntry => ({
  incidentId: claim.incidentId,
  key: stepKey(claim.mode, claim.action),
  mode: claim.mode,
  action: { kind: claim.action.kind, service: claim.action.service, ...(claim.action.target ? { target: claim.action.target } : {}) },
  reversible: claim.action.reversible,
  state: 'claimed',
  claimId: claim.claimId,
  claimedAt: claim.claimedAt,
  attempts: 1,
  ...(claim.claimedBy ? { claimedBy: claim.claimedBy } : {}),
});

// ───────────────────────────── in memory ─────────────────────────────

/** The journal for unit tests and in-process runs; the same semantics as the DynamoDB one. */
export class MemoryActionJournal implements ActionJournal {
  readonly #items = new Map<string, JournalEntry>();

  #id(incidentId: string, key: string): string {
    return `${incidentId}\u0000${key}`;
  }

  async get(incidentId: string, key: string): Promise<JournalEntry | undefined> {
    const item = this.#items.get(this.#id(incidentId, key));
    return item ? plain(item) : undefined;
  }

  async list(incidentId: string): Promise<JournalEntry[]> {
    return [...this.#items.values()].filter((e) => e.incidentId === incidentId).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map(plain);
  }

  async claim(claim: NewClaim): Promise<ClaimOutcome> {
    const entry = entryOf(claim);
    const id = this.#id(claim.incidentId, entry.key);
    const existing = this.#items.get(id);
    // The same claim made again (a retried request) holds the step, as on DynamoDB.
    if (existing) return { claimed: existing.claimId === claim.claimId && existing.state === 'claimed', entry: plain(existing) };
    this.#items.set(id, plain(entry));
    return { claimed: true, entry: plain(entry) };
  }

  async takeOver(incidentId: string, key: string, expectedClaimId: string, claimId: string, claimedAt: string): Promise<ClaimOutcome> {
    const id = this.#id(incidentId, key);
    const existing = this.#items.get(id);
    if (!existing) throw new JournalClaimLost(incidentId, key, expectedClaimId, undefined);
    if (existing.state === 'claimed' && existing.claimId === claimId) return { claimed: true, entry: plain(existing) };
    if (existing.state !== 'claimed' || existing.claimId !== expectedClaimId) return { claimed: false, entry: plain(existing) };
    const entry: JournalEntry = { ...existing, claimId, claimedAt, attempts: existing.attempts + 1 };
    this.#items.set(id, plain(entry));
    return { claimed: true, entry: plain(entry) };
  }

  async complete(incidentId: string, key: string, claimId: string, result: ExecutedAction, completedAt: string): Promise<JournalEntry> {
    const id = this.#id(incidentId, key);
    const existing = this.#items.get(id);
    if (!existing || existing.claimId !== claimId) throw new JournalClaimLost(incidentId, key, claimId, existing);
    if (existing.state === 'done') return plain(existing);
    const entry: JournalEntry = { ...existing, state: 'done', result: plain(result), completedAt };
    this.#items.set(id, plain(entry));
    return plain(entry);
  }
}

// ───────────────────────────── DynamoDB ─────────────────────────────

const errorName = (error: unknown): string | undefined => (error instanceof Error ? error.name : undefined);
const isConditionFailure = (error: unknown): boolean => errorName(error) === 'ConditionalCheckFailedException';

/** The attributes of a journal item besides its keys. */
const FIELDS = ['incidentId', 'key', 'mode', 'action', 'reversible', 'state', 'claimId', 'claimedAt', 'attempts', 'claimedBy', 'result', 'completedAt'] as const;

const fromItem = (item: Record<string, unknown>): JournalEntry => {
  const ok =
    typeof item.incidentId === 'string' &&
    typeof item.key === 'string' &&
    (item.mode === 'apply' || item.mode === 'undo') &&
    (item.state === 'claimed' || item.state === 'done') &&
    typeof item.claimId === 'string' &&
    // A claim's age decides whether its invocation is presumed dead: a time that does not parse would make it live for
    // ever (its age NaN), and the step would wait on it until the retries ran out.
    typeof item.claimedAt === 'string' &&
    Number.isFinite(Date.parse(item.claimedAt)) &&
    typeof item.action === 'object' &&
    item.action !== null &&
    // A done step carries its result: the executor uses it instead of running the step (without one it would try to
    // take the step over, be refused as done, and read it again, for ever).
    (item.state === 'claimed' || (typeof item.result === 'object' && item.result !== null));
  if (!ok) throw new JournalEntryInvalid(`journal item ${String(item.pk)} / ${String(item.sk)} is not a journal entry`);
  const entry: Record<string, unknown> = {};
  for (const f of FIELDS) if (item[f] !== undefined) entry[f] = item[f];
  return { ...(entry as unknown as JournalEntry), reversible: item.reversible === true, attempts: Number(item.attempts ?? 1) };
};

export interface DynamoJournalOptions {
  /** Query page size (tests). */
  readonly pageSize?: number;
}

export class DynamoActionJournal implements ActionJournal {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #pageSize: number | undefined;

  constructor(doc: DynamoDBDocumentClient, tableName: string, options: DynamoJournalOptions = {}) {
    this.#doc = doc;
    this.#table = tableName;
    this.#pageSize = options.pageSize;
  }

  /**
   * Runs one request; a throttle, a timeout, a service error or a broken connection the SDK gave up on (errors.ts's one
   * classifier, `transientAwsFailure`, and its one exception, `keepsSdkName`) becomes `JournalUnavailable` (retryable).
   */
  async #send<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      const failure = transientAwsFailure(error);
      if (failure !== undefined && !keepsSdkName('journal', failure)) throw new JournalUnavailable(`action journal: ${what} failed: ${errorName(error)}: ${(error as Error).message}`, { cause: error });
      throw error;
    }
  }

  /**
   * After a claim or take-over write failed: what the step's item says. A write can fail and still have landed — a
   * timeout, or a request the SDK sent again after a first attempt that did land, whose retry is then refused by
   * that very attempt — so the item, read consistently, decides: held by `claimId` means the write is ours. A
   * failure that was not a refused condition is thrown as it was when nothing of ours is there (or the read fails).
   */
  async #afterFailedWrite(error: unknown, incidentId: string, key: string, claimId: string): Promise<ClaimOutcome | undefined> {
    const refused = isConditionFailure(error);
    let existing: JournalEntry | undefined;
    try {
      existing = await this.get(incidentId, key);
    } catch (readError) {
      throw refused ? readError : error;
    }
    if (existing?.claimId === claimId && existing.state === 'claimed') return { claimed: true, entry: existing };
    if (!refused && !existing) throw error;
    return existing ? { claimed: false, entry: existing } : undefined;
  }

  #key(incidentId: string, key: string) {
    return { pk: `INCIDENT#${incidentId}`, sk: actionSk(key) };
  }

  /** A conditional UpdateItem of the step's item (take-over, completion): the item as written. */
  async #update(incidentId: string, key: string, u: { set: string; condition: string; names: Record<string, string>; values: Record<string, unknown> }): Promise<JournalEntry> {
    const out = await this.#send('UpdateItem', () =>
      this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: this.#key(incidentId, key),
          UpdateExpression: u.set,
          ConditionExpression: u.condition,
          ExpressionAttributeNames: u.names,
          ExpressionAttributeValues: u.values,
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return fromItem(out.Attributes ?? {});
  }

  async get(incidentId: string, key: string): Promise<JournalEntry | undefined> {
    const out = await this.#send('GetItem', () => this.#doc.send(new GetCommand({ TableName: this.#table, Key: this.#key(incidentId, key), ConsistentRead: true })));
    return out.Item ? fromItem(out.Item) : undefined;
  }

  async list(incidentId: string): Promise<JournalEntry[]> {
    const entries: JournalEntry[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.#send('Query', () =>
        this.#doc.send(
          new QueryCommand({
            TableName: this.#table,
            KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
            ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
            ExpressionAttributeValues: { ':pk': `INCIDENT#${incidentId}`, ':prefix': ACTION_SK_PREFIX },
            ConsistentRead: true,
            ...(this.#pageSize ? { Limit: this.#pageSize } : {}),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      );
      for (const item of out.Items ?? []) entries.push(fromItem(item));
      start = out.LastEvaluatedKey;
    } while (start);
    return entries;
  }

  async claim(claim: NewClaim): Promise<ClaimOutcome> {
    const entry = entryOf(claim);
    try {
      await this.#send('PutItem', () =>
        this.#doc.send(
          new PutCommand({
            TableName: this.#table,
            Item: { ...this.#key(claim.incidentId, entry.key), ...plain(entry) },
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': 'pk' },
          }),
        ),
      );
      return { claimed: true, entry };
    } catch (error) {
      const outcome = await this.#afterFailedWrite(error, claim.incidentId, entry.key, claim.claimId);
      // Items are never deleted: a refused put always finds the item that refused it.
      if (!outcome) throw new JournalUnavailable(`action journal: step ${entry.key} was refused as claimed but cannot be read; retry`);
      return outcome;
    }
  }

  async takeOver(incidentId: string, key: string, expectedClaimId: string, claimId: string, claimedAt: string): Promise<ClaimOutcome> {
    try {
      const entry = await this.#update(incidentId, key, {
        set: 'SET #claimId = :claimId, #claimedAt = :claimedAt, #attempts = #attempts + :one',
        condition: '#state = :claimed AND #claimId = :expected',
        names: { '#claimId': 'claimId', '#claimedAt': 'claimedAt', '#attempts': 'attempts', '#state': 'state' },
        values: { ':claimId': claimId, ':claimedAt': claimedAt, ':one': 1, ':claimed': 'claimed', ':expected': expectedClaimId },
      });
      return { claimed: true, entry };
    } catch (error) {
      const outcome = await this.#afterFailedWrite(error, incidentId, key, claimId);
      if (!outcome) throw new JournalClaimLost(incidentId, key, expectedClaimId, undefined);
      return outcome;
    }
  }

  async complete(incidentId: string, key: string, claimId: string, result: ExecutedAction, completedAt: string): Promise<JournalEntry> {
    try {
      return await this.#update(incidentId, key, {
        set: 'SET #state = :done, #result = :result, #completedAt = :completedAt',
        condition: '#claimId = :claimId AND #state = :claimed',
        names: { '#state': 'state', '#result': 'result', '#completedAt': 'completedAt', '#claimId': 'claimId' },
        values: { ':done': 'done', ':result': plain(result), ':completedAt': completedAt, ':claimId': claimId, ':claimed': 'claimed' },
      });
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const existing = await this.get(incidentId, key);
      // A retry of this very completion (its first answer was lost): already done by this claim.
      if (existing && existing.claimId === claimId && existing.state === 'done') return existing;
      throw new JournalClaimLost(incidentId, key, claimId, existing);
    }
  }
}
