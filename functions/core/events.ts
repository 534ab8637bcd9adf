/**
 * Publishing this system's events (source `incident-autopilot`) to EventBridge, a recording fake for tests,
 * and `validateDetail`, which checks a detail against its JSON Schema in events/schemas/.
 *
 * Validation converts the JSON Schema file itself with zod 4's `z.fromJSONSchema` (zod is already a
 * dependency; no second validator), so the files stay the single source of truth for consumers and tests.
 */
import { readFileSync } from 'node:fs';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import * as z from 'zod';
import { EVENT_SOURCE } from '../registry.ts';
import type { DetailType, EventPublisher } from './deps.ts';

export const DETAIL_TYPES: readonly DetailType[] = [
  'Incident Opened',
  'Approval Requested',
  'Mitigation Executed',
  'Incident Resolved',
  'Incident Escalated',
  'Incident Failed',
  // People resolved an incident (functions/resolve-incident): the cause and the fix they found, and the grade.
  'Resolution Recorded',
];

export class EventPublishFailed extends Error {
  override name = 'EventPublishFailed';
  readonly errorCode: string | undefined;
  constructor(detailType: DetailType, errorCode: string | undefined, errorMessage: string | undefined) {
    super(`EventBridge rejected "${detailType}": ${errorCode ?? 'unknown error'}${errorMessage ? ` (${errorMessage})` : ''}`);
    this.errorCode = errorCode;
  }
}

/**
 * PutEvents, one entry per call; a rejected entry (FailedEntryCount > 0) throws `EventPublishFailed`.
 *
 * The EventBridge SDK module is imported on the first publish, not with this file: every workflow function
 * gets a publisher through default-deps, but only request-approval and execute-mitigation publish, and
 * loading the module costs the others 50-100 ms of cold start for nothing (`lazy` builds the client then too).
 */
export class EventBridgePublisher implements EventPublisher {
  #client: EventBridgeClient | undefined;
  readonly #bus: string;

  /** `client` undefined: built with default settings on the first publish (see `lazy`). */
  constructor(client: EventBridgeClient | undefined, busName: string) {
    this.#client = client;
    this.#bus = busName;
  }

  /** A publisher that loads the SDK module and builds its client on the first publish. */
  static lazy(busName: string): EventBridgePublisher {
    return new EventBridgePublisher(undefined, busName);
  }

  async publish(detailType: DetailType, detail: Record<string, unknown>): Promise<void> {
    // Cached by the module loader after the first call.
    const { EventBridgeClient, PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
    this.#client ??= new EventBridgeClient({});
    const out = await this.#client.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: this.#bus, Source: EVENT_SOURCE, DetailType: detailType, Detail: JSON.stringify(detail) }],
      }),
    );
    if ((out.FailedEntryCount ?? 0) > 0) {
      const failed = out.Entries?.find((e) => e.ErrorCode);
      throw new EventPublishFailed(detailType, failed?.ErrorCode, failed?.ErrorMessage);
    }
  }
}

export interface PublishedEvent {
  readonly source: string;
  readonly detailType: DetailType;
  readonly detail: Record<string, unknown>;
}

/**
 * Records what is published. With `{ validate: true }` every detail is checked against its schema and a
 * mismatch throws `InvalidEventDetail`, so a unit test of a publisher fails when it drifts from the schema.
 */
export class MemoryEventPublisher implements EventPublisher {
  readonly events: PublishedEvent[] = [];
  readonly #validate: boolean;

  constructor(options: { validate?: boolean } = {}) {
    this.#validate = options.validate ?? false;
  }

  async publish(detailType: DetailType, detail: Record<string, unknown>): Promise<void> {
    const copy = JSON.parse(JSON.stringify(detail)) as Record<string, unknown>;
    if (this.#validate) assertValidDetail(detailType, copy);
    this.events.push({ source: EVENT_SOURCE, detailType, detail: copy });
  }

  ofType(detailType: DetailType): Record<string, unknown>[] {
    return this.events.filter((e) => e.detailType === detailType).map((e) => e.detail);
  }
}

// ───────────────────────────── schemas ─────────────────────────────

/** `Incident Opened` → `incident-opened.json`. */
export const schemaFileName = (detailType: DetailType): string => `${detailType.toLowerCase().replace(/\s+/g, '-')}.json`;

const schemaDir = new URL('../../events/schemas/', import.meta.url);
const compiled = new Map<DetailType, z.ZodType>();

/** The JSON Schema file of a detail-type, parsed. */
export const detailSchema = (detailType: DetailType): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(schemaFileName(detailType), schemaDir), 'utf8')) as Record<string, unknown>;

const validator = (detailType: DetailType): z.ZodType => {
  let schema = compiled.get(detailType);
  if (!schema) {
    schema = z.fromJSONSchema(detailSchema(detailType) as Parameters<typeof z.fromJSONSchema>[0]);
    compiled.set(detailType, schema);
  }
  return schema;
};

export type DetailValidation = { readonly ok: true } | { readonly ok: false; readonly problems: readonly string[] };

/** Validates a detail against events/schemas/<detail-type>.json; problems name the field (`rootCause.confidence: …`). */
export const validateDetail = (detailType: DetailType, detail: unknown): DetailValidation => {
  const result = validator(detailType).safeParse(detail);
  if (result.success) return { ok: true };
  return { ok: false, problems: result.error.issues.map((i) => `${i.path.join('.') || '(detail)'}: ${i.message}`) };
};

export class InvalidEventDetail extends Error {
  override name = 'InvalidEventDetail';
  readonly problems: readonly string[];
  constructor(detailType: DetailType, problems: readonly string[]) {
    super(`"${detailType}" detail does not match its schema: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

export const assertValidDetail = (detailType: DetailType, detail: unknown): void => {
  const result = validateDetail(detailType, detail);
  if (!result.ok) throw new InvalidEventDetail(detailType, result.problems);
};
