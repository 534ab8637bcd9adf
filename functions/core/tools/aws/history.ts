/**
 * Past incidents for the `aws` family's changes port (searchIncidents, recordIncident) when no ServiceNow is
 * configured: the project's own resolved incidents, in the incident table.
 *
 * Why a history item of its own rather than the RESOLVED incidents' META items: a META item has the title, the
 * service and the times, but neither the root cause nor what resolved it — those are in the AGENT#rootcause and
 * AGENT#execute items (each up to 400 KB with its evidence), and a false alarm is RESOLVED too. The report agent
 * already hands `recordIncident` the distilled PastIncident of every incident it resolved with a mitigation (root
 * cause, resolution, category, tags); that is what a later search needs, so it is written as one small item:
 *
 *   pk = HISTORY#<environment or "-">   sk = <openedAt>#<incidentId>   (kind HISTORY; the PastIncident's fields)
 *
 * - recordIncident is an unconditional PutItem of that item: idempotent (a retried or repeated report writes the same
 *   key), never a second copy. Texts are bounded (title 500 characters, root cause and resolution 4,000, 32 tags) so
 *   an item stays small. A PastIncident that does not fit the port's shape is refused with HistoryRecordInvalid naming
 *   the field.
 * - searchIncidents is one bounded Query of the environment's partition, newest first (`ScanIndexForward: false`), of
 *   at most `maxCandidates` items (AWS_HISTORY_MAX_CANDIDATES, default 200), then — like ServiceNow's adapter — only
 *   the asked services' incidents when services are given, ranked by the similarity agent's own code
 *   (analysis/similar.ts: BM25 over title, root cause, resolution and tags, with service, category and tag matches).
 *   No Scan, no new index. Incidents older than the newest `maxCandidates` are not searched (the newest carry the
 *   current system's runbooks).
 * - The partition is per environment, as the correlation keys are (`CORR#<env>#…`): one tenant's history is not
 *   another's.
 *
 * Incidents resolved before this adapter was in use (or resolved as false alarms) have no history item and are not
 * found. IAM: Query and PutItem on the table, leading keys `HISTORY#` only.
 */
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { rankIncidents } from '../../analysis/similar.ts';
import { type PastIncident, type ToolScope, ToolUnavailable } from '../ports.ts';
import { errorReason } from './clients.ts';

export const HISTORY_TOOL = 'incident history';
export const HISTORY_KEY_PREFIX = 'HISTORY#';
export const HISTORY_KIND = 'HISTORY';
export const DEFAULT_MAX_CANDIDATES = 200;
const DEFAULT_LIMIT = 10;

export const historyPk = (environment: string | undefined): string => `${HISTORY_KEY_PREFIX}${environment || '-'}`;
export const historySk = (openedAt: string, incidentId: string): string => `${openedAt}#${incidentId}`;

/** A PastIncident handed to recordIncident that the history cannot hold (the message names the field). */
export class HistoryRecordInvalid extends Error {
  override name = 'HistoryRecordInvalid';
}

const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'must be an ISO 8601 time' });
const bounded = (max: number) => z.string().transform((s) => s.slice(0, max));

/** The port's PastIncident, bounded for storage. */
export const StoredPastIncident = z.object({
  id: z.string().min(1).max(200),
  title: bounded(500),
  service: z.string().min(1).max(200),
  openedAt: isoTime,
  resolvedAt: isoTime.optional(),
  category: bounded(100).optional(),
  rootCause: bounded(4_000),
  resolution: bounded(4_000),
  resolutionMinutes: z.number().finite().nonnegative().optional(),
  tags: z.array(bounded(100)).transform((t) => t.slice(0, 32)),
});

const HistoryItem = StoredPastIncident.extend({ pk: z.string(), sk: z.string(), kind: z.literal(HISTORY_KIND) });

export interface IncidentHistoryOptions {
  /** The document client (the function's own); undefined when the function has no table: every call is a gap. */
  readonly doc: (() => DynamoDBDocumentClient) | undefined;
  readonly tableName: string | undefined;
  /** History items read per search (AWS_HISTORY_MAX_CANDIDATES). @default 200 */
  readonly maxCandidates?: number;
}

export class IncidentHistory {
  readonly #doc: (() => DynamoDBDocumentClient) | undefined;
  readonly #table: string | undefined;
  readonly #maxCandidates: number;

  constructor(options: IncidentHistoryOptions) {
    this.#doc = options.doc;
    this.#table = options.tableName;
    this.#maxCandidates = options.maxCandidates ?? DEFAULT_MAX_CANDIDATES;
  }

  #client(): { doc: DynamoDBDocumentClient; table: string } {
    if (!this.#doc || !this.#table) throw new ToolUnavailable(HISTORY_TOOL, 'the incident history needs the incident table (TABLE_NAME), which this function does not have');
    return { doc: this.#doc(), table: this.#table };
  }

  async searchIncidents(q: ToolScope & { text: string; services?: readonly string[]; limit?: number }): Promise<PastIncident[]> {
    const limit = Math.max(1, Math.floor(q.limit ?? DEFAULT_LIMIT));
    const services = q.services ?? [];
    const { doc, table } = this.#client();
    const candidates: PastIncident[] = [];
    let startKey: Record<string, unknown> | undefined;
    try {
      do {
        const page = await doc.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': historyPk(q.environment) },
            ScanIndexForward: false,
            Limit: this.#maxCandidates - candidates.length,
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) {
          const parsed = HistoryItem.safeParse(item);
          // An item this code did not write (or an older shape) is not an incident to rank.
          if (!parsed.success) continue;
          const { pk: _pk, sk: _sk, kind: _kind, ...incident } = parsed.data;
          candidates.push(incident);
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey && candidates.length < this.#maxCandidates);
    } catch (error) {
      throw new ToolUnavailable(HISTORY_TOOL, `Query of ${historyPk(q.environment)} failed: ${errorReason(error)}`, { cause: error });
    }
    const wanted = new Set(services);
    const pool = services.length > 0 ? candidates.filter((i) => wanted.has(i.service)) : candidates;
    if (pool.length === 0) return [];
    return rankIncidents({ title: q.text, service: services[0] ?? '', neighbours: services.slice(1) }, pool)
      .filter((r) => r.score > 0)
      .slice(0, limit)
      .map((r) => r.incident);
  }

  async recordIncident(q: ToolScope & { incident: PastIncident }): Promise<void> {
    const parsed = StoredPastIncident.safeParse(q.incident);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new HistoryRecordInvalid(`incident.${issue.path.join('.') || '(root)'} ${issue.message}`);
    }
    const incident = parsed.data;
    const { doc, table } = this.#client();
    try {
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: { pk: historyPk(q.environment), sk: historySk(incident.openedAt, incident.id), kind: HISTORY_KIND, ...JSON.parse(JSON.stringify(incident)) },
        }),
      );
    } catch (error) {
      throw new ToolUnavailable(HISTORY_TOOL, `PutItem of incident ${incident.id} failed: ${errorReason(error)}`, { cause: error });
    }
  }
}
