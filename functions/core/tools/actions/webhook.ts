/**
 * The `Actions` port over a generic signed webhook: each action is POSTed as JSON to one URL the operator
 * runs (a deploy tool, a chat-ops bot, a Lambda behind a function URL), signed so the receiver knows it came
 * from the autopilot and is fresh.
 *
 * Request: `POST <ACTIONS_WEBHOOK_URL>` with
 *   - body: `{"incidentId", "direction": "apply"|"undo", "action": {kind, service, target, params, description, risk, reversible}, "requestedAt", "idempotencyKey"}`
 *   - `x-autopilot-timestamp`: Unix seconds when the request was signed
 *   - `x-autopilot-signature`: `sha256=<hex HMAC-SHA256(key, "<timestamp>.<raw body>")>`
 *   - `idempotency-key`: the same key as in the body (one per incident, action and direction)
 * The receiver verifies with `verifyWebhookSignature` (or the same three lines in its language), rejects a
 * timestamp older than five minutes (replay), and dedupes on the idempotency key.
 *
 * Response: any 2xx means done; a JSON body `{"status": "failed", "detail": "…"}` reports a failure the
 * receiver noticed, `{"detail": "…"}` adds a note. 429 and 5xx are retried with backoff (Retry-After honoured
 * within a cap); other statuses, timeouts and network errors are NOT retried: a mutating call that timed out
 * may have acted, and the executor reports it as failed with that warning instead of acting twice. The
 * timeout, backoff and Retry-After handling are the vendor HTTP client's (`../vendors/http.ts`), whose `auth`
 * hook signs each attempt.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { MitigationAction } from '../../model.ts';
import { directionOf } from '../../runbooks/inverse.ts';
import type { ActionResult, Actions, ToolScope } from '../ports.ts';
import { HttpClient, type HttpResponse, VendorRequestFailed } from '../vendors/http.ts';

export const SIGNATURE_HEADER = 'x-autopilot-signature';
export const TIMESTAMP_HEADER = 'x-autopilot-timestamp';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** How old a signed request may be when it arrives. */
export const DEFAULT_TOLERANCE_SECONDS = 300;
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
export const DEFAULT_WEBHOOK_RETRIES = 2;
/** A Retry-After longer than this is not waited for: the action fails at once (the agent has a Lambda deadline). */
const MAX_RETRY_AFTER_MS = 15_000;
const NAME = 'action webhook';

/** `sha256=<hex>` over `<timestamp>.<body>`. */
export const signWebhook = (key: string, timestamp: string, body: string): string => `sha256=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;

/**
 * What a receiver runs: the signature matches (constant-time compare) and the timestamp is within
 * `toleranceSeconds` of now. Returns the reason when it does not verify.
 */
export const verifyWebhookSignature = (q: {
  key: string;
  timestamp: string | undefined;
  body: string;
  signature: string | undefined;
  now?: number;
  toleranceSeconds?: number;
}): { ok: true } | { ok: false; reason: string } => {
  if (!q.timestamp || !/^\d+$/.test(q.timestamp)) return { ok: false, reason: `missing or malformed ${TIMESTAMP_HEADER}` };
  if (!q.signature) return { ok: false, reason: `missing ${SIGNATURE_HEADER}` };
  const age = Math.abs((q.now ?? Date.now()) / 1000 - Number(q.timestamp));
  if (age > (q.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return { ok: false, reason: `timestamp is ${Math.round(age)} s away from now` };
  const expected = Buffer.from(signWebhook(q.key, q.timestamp, q.body));
  const given = Buffer.from(q.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'signature does not match' };
  return { ok: true };
};

/** One key per incident, action and direction: a retried delivery carries the same key. */
export const idempotencyKey = (incidentId: string, action: MitigationAction): string =>
  createHash('sha256').update(JSON.stringify([incidentId, action.kind, action.service, action.target ?? '', directionOf(action)])).digest('hex').slice(0, 32);

export interface WebhookActionsOptions {
  readonly url: string;
  /** The signing key (from Secrets Manager, read per request so a rotation is picked up). */
  readonly key: () => Promise<string>;
  /** Per attempt, including reading the response. @default 10_000 */
  readonly timeoutMs?: number;
  /** Retries after the first attempt, on 429/5xx only. @default 2 */
  readonly retries?: number;
  readonly fetch?: typeof globalThis.fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly now?: () => number;
}

const failed = (detail: string): ActionResult => ({ status: 'failed', detail: `${NAME}: ${detail}` });

/** The receiver's optional verdict in a 2xx body. */
const verdict = (body: string): { status?: string; detail?: string } => {
  try {
    const v = JSON.parse(body) as unknown;
    if (!v || typeof v !== 'object') return {};
    const o = v as Record<string, unknown>;
    return { ...(typeof o.status === 'string' ? { status: o.status } : {}), ...(typeof o.detail === 'string' ? { detail: o.detail } : {}) };
  } catch {
    return {};
  }
};

export class WebhookActions implements Actions {
  readonly #options: WebhookActionsOptions;
  readonly #now: () => number;

  constructor(options: WebhookActionsOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  async execute({ incidentId, action }: ToolScope & { incidentId: string; action: MitigationAction }): Promise<ActionResult> {
    let key: string;
    try {
      key = await this.#options.key();
    } catch (error) {
      return failed(`cannot read the signing key: ${(error as Error).message}`);
    }
    if (!key) return failed('the signing key is empty');
    const idem = idempotencyKey(incidentId, action);
    const payload = {
      incidentId,
      direction: directionOf(action),
      action: { kind: action.kind, service: action.service, ...(action.target ? { target: action.target } : {}), params: action.params, description: action.description, risk: action.risk, reversible: action.reversible },
      requestedAt: new Date(this.#now()).toISOString(),
      idempotencyKey: idem,
    };
    // One client per call: its auth hook signs with the key just read, per attempt, so a retry after a
    // backoff still carries a fresh timestamp. POST is not retried after a timeout or a network error.
    const http = new HttpClient({
      vendor: NAME,
      baseUrl: this.#options.url,
      timeoutMs: this.#options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS,
      retries: this.#options.retries ?? DEFAULT_WEBHOOK_RETRIES,
      maxRetryAfterMs: MAX_RETRY_AFTER_MS,
      ...(this.#options.fetch ? { fetch: this.#options.fetch } : {}),
      ...(this.#options.sleep ? { sleep: this.#options.sleep } : {}),
      ...(this.#options.random ? { random: this.#options.random } : {}),
      auth: async ({ body }) => {
        const timestamp = String(Math.floor(this.#now() / 1000));
        return { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: signWebhook(key, timestamp, body ?? '') };
      },
    });
    let response: HttpResponse;
    try {
      response = await http.request({ method: 'POST', path: '', json: payload, headers: { [IDEMPOTENCY_HEADER]: idem } });
    } catch (error) {
      if (!(error instanceof VendorRequestFailed)) return failed((error as Error).message);
      // No answer: the receiver may have acted; the key lets a human (or the receiver's log) tell.
      return failed(error.status === undefined ? `${error.reason} (idempotency key ${idem})` : error.reason);
    }
    const v = verdict(response.text);
    if (v.status === 'failed') return failed(`the receiver reported a failure: ${v.detail ?? 'no detail'}`);
    return { status: 'succeeded', detail: `${NAME}: ${response.status} from POST ${new URL(this.#options.url).pathname}${v.detail ? `: ${v.detail}` : ''}` };
  }
}
