/**
 * EventBridge for the laptop twin: PutEvents entries become events in the shape a rule target receives
 * (`version`, `id`, `detail-type`, `source`, `time`, `detail` …), appended to `<dataDir>/events.jsonl`
 * (or kept in memory only) and announced to listeners. Used both by the SDK endpoint (handlers) and by
 * the state machine's `events:putEvents` integration.
 */
import { appendFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { type AwsService, AwsServiceError } from './aws-json.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './constants.ts';

export interface BusEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: unknown;
  readonly eventBusName: string;
}

export interface PutEntry {
  readonly Source?: unknown;
  readonly DetailType?: unknown;
  /** A JSON string from the SDK; the Step Functions integration passes an object. */
  readonly Detail?: unknown;
  readonly EventBusName?: unknown;
  readonly Resources?: unknown;
  readonly Time?: unknown;
}

type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

const MAX_ENTRIES = 10;
const MAX_ENTRY_BYTES = 256 * 1024;

export class EventBus {
  readonly #file: string | undefined;
  readonly #events: BusEvent[] = [];
  readonly #listeners = new Set<(event: BusEvent) => void>();

  constructor(file?: string) {
    this.#file = file;
  }

  get events(): readonly BusEvent[] {
    return this.#events;
  }

  onEvent(listener: (event: BusEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** PutEvents semantics: each entry succeeds or fails on its own; FailedEntryCount counts the failures. */
  put(entries: readonly PutEntry[], defaultBus: string): { FailedEntryCount: number; Entries: EntryResult[] } {
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_ENTRIES)
      throw new AwsServiceError('ValidationException', `Entries must hold 1 to ${MAX_ENTRIES} entries`);
    const results = entries.map((entry) => this.#putOne(entry, defaultBus));
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  }

  #putOne(entry: PutEntry, defaultBus: string): EntryResult {
    const invalid = (message: string): EntryResult => ({ ErrorCode: 'InvalidArgument', ErrorMessage: message });
    if (typeof entry.Source !== 'string' || !entry.Source) return invalid('Parameter Source is not valid. Reason: Source is a required argument.');
    if (typeof entry.DetailType !== 'string' || !entry.DetailType) return invalid('Parameter DetailType is not valid. Reason: DetailType is a required argument.');
    let detail: unknown = entry.Detail ?? {};
    if (typeof detail === 'string') {
      try {
        detail = JSON.parse(detail);
      } catch {
        return invalid('Parameter Detail is not valid. Reason: Detail must be a JSON object.');
      }
    }
    if (!detail || typeof detail !== 'object' || Array.isArray(detail)) return invalid('Parameter Detail is not valid. Reason: Detail must be a JSON object.');
    if (Buffer.byteLength(JSON.stringify(entry)) > MAX_ENTRY_BYTES) return invalid('Total size of the entries in the request is over the limit.');
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType,
      source: entry.Source,
      account: LOCAL_ACCOUNT,
      time: toIso(entry.Time) ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: LOCAL_REGION,
      resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
      detail,
      eventBusName: typeof entry.EventBusName === 'string' && entry.EventBusName ? entry.EventBusName : defaultBus,
    };
    this.#events.push(event);
    if (this.#file) appendFileSync(this.#file, `${JSON.stringify(event)}\n`);
    // On AWS a rule target's failure never fails PutEvents; here a throwing listener would fail the handler's call
    // after the event was stored, and the handler's retry would publish it twice.
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // the listener's own bug; the event is published
      }
    }
    return { EventId: event.id };
  }
}

/** The SDK sends `Time` as epoch seconds. */
const toIso = (time: unknown): string | undefined => {
  if (typeof time === 'number') return new Date(time * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (typeof time === 'string' && !Number.isNaN(Date.parse(time))) return new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return undefined;
};

export const eventBridgeService = (bus: EventBus, defaultBus: string): AwsService => ({
  targetPrefix: 'AWSEvents',
  contentType: 'application/x-amz-json-1.1',
  operations: {
    PutEvents: (input) => bus.put(input.Entries as PutEntry[], defaultBus),
  },
});
