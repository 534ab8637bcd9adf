/**
 * `IncidentStore` on one DynamoDB table (see store.ts and ARCHITECTURE.md §Storage).
 *
 * Keys: `pk` / `sk` (strings). META items also carry `gsi1pk = STATUS#<status>` and
 * `gsi1sk = <createdAt>#<incidentId>` for the `byStatus` GSI. DEDUP items carry `expiresAt` (epoch seconds, TTL).
 *
 * Only single-item conditional writes and UpdateExpressions are used (no transactions, PartiQL or streams:
 * dynalite lacks them). Multi-item operations are ordered so that a retry after a partial failure completes
 * the job (see `openOrFold`).
 *
 * Listing "all statuses" queries the GSI once per status and merges newest-first; the opaque cursor is the
 * GSI sort key of the last item returned, so every per-status query resumes with `gsi1sk < :before`. That
 * costs one small Query per status (8) per page and needs no second index.
 *
 * Items stay under DynamoDB's 400 KB: an agent record whose evidence is too large has its evidence `data`
 * replaced, largest first, by a `{truncated, originalBytes, preview}` stub (ids, kinds and summaries stay, so
 * citations remain valid); raw alert payloads over `MAX_RAW_ALERT_BYTES` are stored as a preview.
 */
import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type AgentName, type AgentRecord, IncidentStatus, type NormalizedAlert, TERMINAL_STATUSES } from '../model.ts';
import {
  type ApprovalDecision,
  ApprovalAlreadyDecided,
  type ApprovalState,
  type IncidentDetail,
  type IncidentMeta,
  IncidentNotFound,
  type IncidentStore,
  type ListQuery,
  type OpenResult,
  type StoredAlert,
  type TimelineEvent,
} from './store.ts';

// ───────────────────────────── keys and shared rules (the memory store uses them too) ─────────────────────────────

export const STATUS_INDEX = 'byStatus';
export const META_SK = 'META';
export const DEDUP_SK = 'DEDUP';
export const incidentPk = (incidentId: string): string => `INCIDENT#${incidentId}`;
export const dedupPk = (source: string, dedupKey: string): string => `DEDUP#${source}:${dedupKey}`;
export const statusKey = (status: IncidentStatus): string => `STATUS#${status}`;
export const statusSortKey = (createdAt: string, incidentId: string): string => `${createdAt}#${incidentId}`;
export const agentSk = (agent: AgentName): string => `AGENT#${agent}`;

/** DynamoDB's item limit is 400 KB; keep a margin for attribute names and keys. */
export const MAX_ITEM_BYTES = 350_000;
export const MAX_RAW_ALERT_BYTES = 100_000;
const PREVIEW_CHARS = 2_000;
export const DEFAULT_LIST_LIMIT = 20;
export const MAX_LIST_LIMIT = 100;
export const DEFAULT_DEDUP_TTL_HOURS = 72;

export const isTerminal = (status: IncidentStatus): boolean => TERMINAL_STATUSES.includes(status);

/** The attributes of a META item that are the incident; everything else (keys, the task token) stays inside. */
const META_FIELDS = [
  'incidentId',
  'status',
  'severity',
  'title',
  'service',
  'environment',
  'source',
  'dedupKey',
  'createdAt',
  'updatedAt',
  'startedAt',
  'alertCount',
  'executionArn',
  'approval',
  'outcome',
  'reportLocation',
  'failure',
  'resolvedAt',
] as const satisfies readonly (keyof IncidentMeta)[];

export const TASK_TOKEN_ATTRIBUTE = 'approvalTaskToken';

export const toMeta = (item: Record<string, unknown>): IncidentMeta => {
  const meta: Record<string, unknown> = {};
  for (const field of META_FIELDS) if (item[field] !== undefined && item[field] !== null) meta[field] = item[field];
  return meta as unknown as IncidentMeta;
};

export class InvalidCursor extends Error {
  override name = 'InvalidCursor';
  constructor() {
    super('cursor is not one this API returned');
  }
}

/** The cursor is the GSI sort key of the last item of a page, base64url-encoded so clients treat it as opaque. */
export const encodeCursor = (before: string): string => Buffer.from(JSON.stringify({ v: 1, before }), 'utf8').toString('base64url');
export const decodeCursor = (cursor: string): string => {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { v?: unknown; before?: unknown };
    if (parsed.v === 1 && typeof parsed.before === 'string' && parsed.before.length > 0) return parsed.before;
  } catch {
    // fall through: any malformed cursor is the same client error
  }
  throw new InvalidCursor();
};

export const listLimit = (limit: number | undefined): number => Math.min(Math.max(Math.trunc(limit ?? DEFAULT_LIST_LIMIT), 1), MAX_LIST_LIMIT);

/** Plain JSON: drops `undefined`, turns NaN/Infinity into null and class instances into maps (DynamoDB rejects them otherwise). */
export const plain = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');

const preview = (value: unknown, originalBytes: number) => ({
  truncated: true,
  originalBytes,
  preview: (JSON.stringify(value) ?? '').slice(0, PREVIEW_CHARS),
});

/** A raw vendor payload as stored on an ALERT item: as is when small, a preview otherwise. */
export const fitRawAlert = (raw: unknown, maxBytes = MAX_RAW_ALERT_BYTES): unknown => {
  const bytes = jsonBytes(raw);
  return bytes <= maxBytes ? plain(raw) : preview(raw, bytes);
};

export class ItemTooLarge extends Error {
  override name = 'ItemTooLarge';
}

/**
 * Makes an agent record fit in one item. Evidence `data` is dropped largest first (replaced by a preview stub);
 * then over-long summaries are shortened. The output itself is never altered: if it alone is too large the
 * record cannot be stored faithfully and `ItemTooLarge` is thrown.
 */
export const fitAgentRecord = (record: AgentRecord, maxBytes = MAX_ITEM_BYTES): AgentRecord => {
  const clean = plain(record);
  let size = jsonBytes(clean);
  if (size <= maxBytes) return clean;
  const evidence = clean.evidence.map((e) => ({ ...e }));
  const bySize = evidence
    .map((e, i) => ({ i, bytes: e.data === undefined ? 0 : jsonBytes(e.data) }))
    .filter((x) => x.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
  for (const { i, bytes } of bySize) {
    if (size <= maxBytes) break;
    const stub = preview(evidence[i].data, bytes);
    evidence[i].data = stub;
    size -= bytes - jsonBytes(stub);
  }
  for (const e of evidence) {
    if (size <= maxBytes) break;
    if (e.summary.length > PREVIEW_CHARS) {
      size -= Buffer.byteLength(e.summary.slice(PREVIEW_CHARS), 'utf8');
      e.summary = `${e.summary.slice(0, PREVIEW_CHARS)}… [truncated]`;
    }
  }
  const fitted: AgentRecord = { ...clean, evidence };
  const finalSize = jsonBytes(fitted);
  if (finalSize > maxBytes) throw new ItemTooLarge(`agent record ${record.agent} is ${finalSize} bytes after trimming evidence (limit ${maxBytes}): its output is too large to store`);
  return fitted;
};

/**
 * Timeline sequence: a per-process counter (orders events written in the same millisecond by one writer) and
 * random bytes (separates concurrent writers), so `EVENT#<iso>#<seq>` never collides.
 */
let eventCounter = 0;
export const eventSeq = (): string => `${(eventCounter++ % 1_000_000).toString().padStart(6, '0')}${randomBytes(3).toString('hex')}`;
export const eventSk = (at: string, seq: string = eventSeq()): string => `EVENT#${at}#${seq}`;
export const alertSk = (receivedAt: string, n: number): string => `ALERT#${receivedAt}#${n.toString().padStart(6, '0')}`;

/** What a new incident's META looks like, from its first alert. */
export const newMeta = (incidentId: string, alert: NormalizedAlert, now: string): IncidentMeta => ({
  incidentId,
  status: 'OPEN',
  severity: alert.severity,
  title: alert.title,
  service: alert.service,
  ...(alert.environment ? { environment: alert.environment } : {}),
  source: alert.source,
  dedupKey: alert.dedupKey,
  createdAt: now,
  updatedAt: now,
  startedAt: alert.startedAt,
  alertCount: 0,
});

type Patch = Parameters<IncidentStore['updateIncident']>[1];

// ───────────────────────────── the DynamoDB implementation ─────────────────────────────

export interface DynamoStoreOptions {
  /** How long a dedup pointer lives after the last alert that used it. @default 72 */
  readonly dedupTtlHours?: number;
  readonly clock?: () => Date;
}

const isConditionFailure = (error: unknown): boolean => error instanceof Error && error.name === 'ConditionalCheckFailedException';

/** Builds `SET a = :a, ...` / `REMOVE ...` with placeholder names for every attribute (reserved words are many). */
class UpdateBuilder {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  readonly #sets: string[] = [];
  readonly #removes: string[] = [];
  readonly #adds: string[] = [];
  #n = 0;

  name(path: string): string {
    return path
      .split('.')
      .map((part) => {
        const key = `#${part.replace(/\W/g, '_')}`;
        this.names[key] = part;
        return key;
      })
      .join('.');
  }

  value(v: unknown): string {
    const key = `:v${this.#n++}`;
    this.values[key] = v;
    return key;
  }

  set(path: string, v: unknown): this {
    this.#sets.push(`${this.name(path)} = ${this.value(v)}`);
    return this;
  }

  add(path: string, v: number): this {
    this.#adds.push(`${this.name(path)} ${this.value(v)}`);
    return this;
  }

  remove(path: string): this {
    this.#removes.push(this.name(path));
    return this;
  }

  expression(): string {
    return [
      this.#sets.length > 0 ? `SET ${this.#sets.join(', ')}` : '',
      this.#adds.length > 0 ? `ADD ${this.#adds.join(', ')}` : '',
      this.#removes.length > 0 ? `REMOVE ${this.#removes.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
  }

  get hasValues(): boolean {
    return Object.keys(this.values).length > 0;
  }
}

export class DynamoIncidentStore implements IncidentStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #ttlSeconds: number;
  readonly #clock: () => Date;

  constructor(doc: DynamoDBDocumentClient, tableName: string, options: DynamoStoreOptions = {}) {
    this.#doc = doc;
    this.#table = tableName;
    this.#ttlSeconds = Math.round((options.dedupTtlHours ?? DEFAULT_DEDUP_TTL_HOURS) * 3600);
    this.#clock = options.clock ?? (() => new Date());
  }

  /**
   * 1. Claim `DEDUP#<source>:<key>` for a new id (conditional put; an expired pointer counts as absent, since
   *    TTL deletion is lazy and dynalite never deletes). If taken, refresh its TTL and read the id it holds.
   * 2. Put META if absent: `created` is whoever wrote it, so a retry after step 1 succeeded but 2 failed still
   *    creates the incident exactly once.
   * 3. Count the alert on META (ADD alertCount) and put the ALERT item numbered by that count.
   */
  async openOrFold(alert: NormalizedAlert, raw: unknown, newIncidentId: () => string): Promise<OpenResult> {
    const now = this.#clock();
    const nowIso = now.toISOString();
    const incidentId = await this.#claimDedup(alert, now, newIncidentId);

    let created = false;
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: this.#metaItem(newMeta(incidentId, alert, nowIso)),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      created = true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }

    const counted = await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk: incidentPk(incidentId), sk: META_SK },
        UpdateExpression: 'SET #updatedAt = :now ADD #alertCount :one',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#updatedAt': 'updatedAt', '#alertCount': 'alertCount' },
        ExpressionAttributeValues: { ':now': nowIso, ':one': 1 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const incident = toMeta(counted.Attributes ?? {});
    const stored: StoredAlert = { receivedAt: nowIso, alert: plain(alert), raw: fitRawAlert(raw), deduplicated: !created };
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: { pk: incidentPk(incidentId), sk: alertSk(nowIso, incident.alertCount), kind: 'ALERT', ...stored },
      }),
    );
    return { incident, created };
  }

  /** The incident an alert's dedup key points at, if the pointer exists and has not expired. */
  async findByDedupKey(source: NormalizedAlert['source'], dedupKey: string): Promise<IncidentMeta | undefined> {
    const pointer = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: { pk: dedupPk(source, dedupKey), sk: DEDUP_SK }, ConsistentRead: true }));
    const item = pointer.Item;
    if (!item || Number(item.expiresAt) < this.#epoch(this.#clock())) return undefined;
    return this.getIncident(String(item.incidentId));
  }

  async getIncident(incidentId: string): Promise<IncidentMeta | undefined> {
    const item = await this.#getMetaItem(incidentId);
    return item ? toMeta(item) : undefined;
  }

  async getDetail(incidentId: string): Promise<IncidentDetail | undefined> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': incidentPk(incidentId) },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return assembleDetail(items);
  }

  async listIncidents(query: ListQuery): Promise<{ items: IncidentMeta[]; cursor?: string }> {
    const limit = listLimit(query.limit);
    const before = query.cursor ? decodeCursor(query.cursor) : undefined;
    const statuses = query.status ? [query.status] : IncidentStatus.options;
    // limit + 1 per status tells whether anything is left after this page.
    const perStatus = await Promise.all(statuses.map((status) => this.#queryStatus(status, query, before, limit + 1)));
    const merged = perStatus.flat().sort((a, b) => String(b.gsi1sk).localeCompare(String(a.gsi1sk)));
    const page = merged.slice(0, limit);
    const last = page.at(-1);
    return { items: page.map(toMeta), ...(merged.length > limit && last ? { cursor: encodeCursor(String(last.gsi1sk)) } : {}) };
  }

  async setExecutionArn(incidentId: string, executionArn: string): Promise<void> {
    await this.#update(incidentId, new UpdateBuilder().set('executionArn', executionArn));
  }

  async updateIncident(incidentId: string, patch: Patch): Promise<IncidentMeta> {
    const build = (withStatus: boolean) => {
      const u = new UpdateBuilder();
      for (const [field, value] of Object.entries(patch)) {
        if (value === undefined || field === 'status') continue;
        u.set(field, plain(value));
      }
      if (withStatus && patch.status) u.set('status', patch.status).set('gsi1pk', statusKey(patch.status));
      return u;
    };
    return this.#updateGuarded(incidentId, patch.status, build);
  }

  async putAgentRecord(incidentId: string, record: AgentRecord): Promise<void> {
    const fitted = fitAgentRecord(record);
    await this.#doc.send(
      new PutCommand({ TableName: this.#table, Item: { pk: incidentPk(incidentId), sk: agentSk(record.agent), kind: 'AGENT', record: fitted } }),
    );
  }

  async getAgentRecord(incidentId: string, agent: AgentName): Promise<AgentRecord | undefined> {
    const got = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: { pk: incidentPk(incidentId), sk: agentSk(agent) }, ConsistentRead: true }));
    return got.Item?.record as AgentRecord | undefined;
  }

  async appendEvent(incidentId: string, event: Omit<TimelineEvent, 'at'> & { at?: string }): Promise<void> {
    const at = event.at ?? this.#clock().toISOString();
    const stored: TimelineEvent = plain({ ...event, at });
    await this.#doc.send(new PutCommand({ TableName: this.#table, Item: { pk: incidentPk(incidentId), sk: eventSk(at), kind: 'EVENT', event: stored } }));
  }

  /** Stores the token (a top-level attribute no read returns), marks approval PENDING and, unless terminal, the incident AWAITING_APPROVAL. */
  async requestApproval(incidentId: string, taskToken: string, approval: ApprovalState): Promise<void> {
    const pending: ApprovalState = plain({ ...approval, status: 'PENDING' });
    await this.#updateGuarded(incidentId, 'AWAITING_APPROVAL', (withStatus) => {
      const u = new UpdateBuilder().set(TASK_TOKEN_ATTRIBUTE, taskToken).set('approval', pending);
      if (withStatus) u.set('status', 'AWAITING_APPROVAL').set('gsi1pk', statusKey('AWAITING_APPROVAL'));
      return u;
    });
  }

  async decideApproval(incidentId: string, decision: ApprovalDecision, approver: string, comment?: string): Promise<{ taskToken: string; approval: ApprovalState }> {
    const u = new UpdateBuilder()
      .set('approval.status', decision === 'approve' ? 'APPROVED' : 'REJECTED')
      .set('approval.decidedAt', this.#clock().toISOString())
      .set('approval.approver', approver);
    if (comment !== undefined) u.set('approval.comment', comment);
    u.set('updatedAt', this.#clock().toISOString());
    const pending = u.value('PENDING');
    try {
      const out = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: incidentPk(incidentId), sk: META_SK },
          UpdateExpression: u.expression(),
          ConditionExpression: `attribute_exists(pk) AND ${u.name('approval.status')} = ${pending} AND attribute_exists(${u.name(TASK_TOKEN_ATTRIBUTE)})`,
          ExpressionAttributeNames: u.names,
          ExpressionAttributeValues: u.values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      const item = out.Attributes ?? {};
      return { taskToken: String(item[TASK_TOKEN_ATTRIBUTE]), approval: item.approval as ApprovalState };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = await this.#getMetaItem(incidentId);
      if (!current) throw new IncidentNotFound(incidentId);
      throw new ApprovalAlreadyDecided(current.approval as ApprovalState | undefined);
    }
  }

  /** Back to PENDING, only from APPROVED/REJECTED (an EXPIRED approval stays expired); a no-op otherwise. */
  async undoDecision(incidentId: string): Promise<void> {
    const u = new UpdateBuilder().set('approval.status', 'PENDING').remove('approval.decidedAt').remove('approval.approver').remove('approval.comment');
    const approved = u.value('APPROVED');
    const rejected = u.value('REJECTED');
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: incidentPk(incidentId), sk: META_SK },
          UpdateExpression: u.expression(),
          ConditionExpression: `attribute_exists(pk) AND ${u.name('approval.status')} IN (${approved}, ${rejected})`,
          ExpressionAttributeNames: u.names,
          ExpressionAttributeValues: u.values,
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      if (!(await this.#getMetaItem(incidentId))) throw new IncidentNotFound(incidentId);
    }
  }

  /**
   * For a rerun: a terminal incident goes back to INVESTIGATING and forgets the previous run's outcome,
   * failure, report location and approval (with its token). The only way out of a terminal status. A
   * non-terminal incident is returned unchanged.
   */
  async reopen(incidentId: string): Promise<IncidentMeta> {
    const u = new UpdateBuilder()
      .set('status', 'INVESTIGATING')
      .set('gsi1pk', statusKey('INVESTIGATING'))
      .set('updatedAt', this.#clock().toISOString());
    for (const field of ['outcome', 'failure', 'resolvedAt', 'reportLocation', 'approval', TASK_TOKEN_ATTRIBUTE]) u.remove(field);
    const terminals = TERMINAL_STATUSES.map((s) => u.value(s)).join(', ');
    try {
      const out = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: incidentPk(incidentId), sk: META_SK },
          UpdateExpression: u.expression(),
          ConditionExpression: `attribute_exists(pk) AND ${u.name('status')} IN (${terminals})`,
          ExpressionAttributeNames: u.names,
          ExpressionAttributeValues: u.values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toMeta(out.Attributes ?? {});
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = await this.#getMetaItem(incidentId);
      if (!current) throw new IncidentNotFound(incidentId);
      return toMeta(current);
    }
  }

  // ───────────── internals ─────────────

  #epoch(date: Date): number {
    return Math.floor(date.getTime() / 1000);
  }

  async #claimDedup(alert: NormalizedAlert, now: Date, newIncidentId: () => string): Promise<string> {
    const key = { pk: dedupPk(alert.source, alert.dedupKey), sk: DEDUP_SK };
    const nowEpoch = this.#epoch(now);
    const expiresAt = nowEpoch + this.#ttlSeconds;
    // Two rounds: the pointer can expire between a failed claim and the refresh.
    for (let round = 0; round < 2; round++) {
      const candidate = newIncidentId();
      try {
        await this.#doc.send(
          new PutCommand({
            TableName: this.#table,
            Item: { ...key, kind: 'DEDUP', incidentId: candidate, source: alert.source, dedupKey: alert.dedupKey, createdAt: now.toISOString(), expiresAt },
            ConditionExpression: 'attribute_not_exists(pk) OR #expiresAt < :now',
            ExpressionAttributeNames: { '#expiresAt': 'expiresAt' },
            ExpressionAttributeValues: { ':now': nowEpoch },
          }),
        );
        return candidate;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      try {
        const refreshed = await this.#doc.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: key,
            UpdateExpression: 'SET #expiresAt = :exp',
            ConditionExpression: 'attribute_exists(pk) AND #expiresAt >= :now',
            ExpressionAttributeNames: { '#expiresAt': 'expiresAt' },
            ExpressionAttributeValues: { ':exp': expiresAt, ':now': nowEpoch },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return String(refreshed.Attributes?.incidentId);
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    throw new Error(`could not claim or read the dedup pointer ${key.pk}`);
  }

  #metaItem(meta: IncidentMeta): Record<string, unknown> {
    return {
      pk: incidentPk(meta.incidentId),
      sk: META_SK,
      kind: 'META',
      gsi1pk: statusKey(meta.status),
      gsi1sk: statusSortKey(meta.createdAt, meta.incidentId),
      ...plain(meta),
    };
  }

  async #getMetaItem(incidentId: string): Promise<Record<string, unknown> | undefined> {
    const got = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: { pk: incidentPk(incidentId), sk: META_SK }, ConsistentRead: true }));
    return got.Item;
  }

  async #queryStatus(status: IncidentStatus, query: ListQuery, before: string | undefined, want: number): Promise<Record<string, unknown>[]> {
    const names: Record<string, string> = { '#gpk': 'gsi1pk' };
    const values: Record<string, unknown> = { ':gpk': statusKey(status) };
    let keyCondition = '#gpk = :gpk';
    if (before) {
      names['#gsk'] = 'gsi1sk';
      values[':before'] = before;
      keyCondition += ' AND #gsk < :before';
    }
    const filters: string[] = [];
    if (query.severity) {
      names['#severity'] = 'severity';
      values[':severity'] = query.severity;
      filters.push('#severity = :severity');
    }
    if (query.service) {
      names['#service'] = 'service';
      values[':service'] = query.service;
      filters.push('#service = :service');
    }
    const found: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: STATUS_INDEX,
          KeyConditionExpression: keyCondition,
          ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          Limit: want,
          ExclusiveStartKey: startKey,
        }),
      );
      found.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey && found.length < want);
    return found.slice(0, want);
  }

  /** A plain conditional update of META (must exist); returns the new META. */
  async #update(incidentId: string, u: UpdateBuilder): Promise<IncidentMeta> {
    u.set('updatedAt', this.#clock().toISOString());
    try {
      const out = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: incidentPk(incidentId), sk: META_SK },
          UpdateExpression: u.expression(),
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: u.names,
          ExpressionAttributeValues: u.values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toMeta(out.Attributes ?? {});
    } catch (error) {
      if (isConditionFailure(error)) throw new IncidentNotFound(incidentId);
      throw error;
    }
  }

  /**
   * An update that may move the status. A non-terminal status is written only if the current one is not
   * terminal (condition); when that condition fails on an existing incident, the rest of the patch is applied
   * without the status, so a late writer never moves RESOLVED/ESCALATED/FAILED back.
   */
  async #updateGuarded(incidentId: string, status: IncidentStatus | undefined, build: (withStatus: boolean) => UpdateBuilder): Promise<IncidentMeta> {
    if (!status || isTerminal(status)) return this.#update(incidentId, build(true));
    const u = build(true).set('updatedAt', this.#clock().toISOString());
    const terminals = TERMINAL_STATUSES.map((s) => u.value(s)).join(', ');
    try {
      const out = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: incidentPk(incidentId), sk: META_SK },
          UpdateExpression: u.expression(),
          ConditionExpression: `attribute_exists(pk) AND NOT ${u.name('status')} IN (${terminals})`,
          ExpressionAttributeNames: u.names,
          ExpressionAttributeValues: u.values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toMeta(out.Attributes ?? {});
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const current = await this.#getMetaItem(incidentId);
    if (!current) throw new IncidentNotFound(incidentId);
    const rest = build(false);
    if (!rest.hasValues) return toMeta(current);
    return this.#update(incidentId, rest);
  }
}

/** Sorts one partition's items into an IncidentDetail (items arrive in sort-key order: ALERT, EVENT by time). */
export const assembleDetail = (items: readonly Record<string, unknown>[]): IncidentDetail | undefined => {
  const meta = items.find((i) => i.sk === META_SK);
  if (!meta) return undefined;
  const sorted = [...items].sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
  const alerts: StoredAlert[] = [];
  const agents: IncidentDetail['agents'] = {};
  const timeline: TimelineEvent[] = [];
  for (const item of sorted) {
    const sk = String(item.sk);
    if (sk.startsWith('ALERT#')) {
      alerts.push({ receivedAt: item.receivedAt as string, alert: item.alert as NormalizedAlert, raw: item.raw, deduplicated: Boolean(item.deduplicated) });
    } else if (sk.startsWith('AGENT#')) {
      const record = item.record as AgentRecord;
      agents[record.agent] = record;
    } else if (sk.startsWith('EVENT#')) {
      timeline.push(item.event as TimelineEvent);
    }
  }
  return { incident: toMeta(meta), alerts, agents, timeline };
};
