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
 * may have acted, and the executor reports it as failed with that warning instead of acting twice.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { MitigationAction } from '../../model.ts';
import { directionOf } from '../../runbooks/inverse.ts';
import type { ActionResult, Actions, ToolScope } from '../ports.ts';
import { parseRetryAfter } from '../vendors/http.ts';

export const SIGNATURE_HEADER = 'x-autopilot-signature';
export const TIMESTAMP_HEADER = 'x-autopilot-timestamp';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** How old a signed request may be when it arrives. */
export const DEFAULT_TOLERANCE_SECONDS = 300;
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
export const DEFAULT_WEBHOOK_RETRIES = 2;
const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 5_000;
/** A Retry-After longer than this is not waited for: the action fails at once (the agent has a Lambda deadline). */
const MAX_RETRY_AFTER_MS = 15_000;
const MAX_EXCERPT = 200;

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

const failed = (detail: string): ActionResult => ({ status: 'failed', detail: `action webhook: ${detail}` });
const excerpt = (s: string): string => {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > MAX_EXCERPT ? `${line.slice(0, MAX_EXCERPT)}…` : line;
};

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
  readonly #url: string;
  readonly #key: () => Promise<string>;
  readonly #timeoutMs: number;
  readonly #attempts: number;
  readonly #fetch: typeof globalThis.fetch;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #now: () => number;

  constructor(options: WebhookActionsOptions) {
    this.#url = options.url;
    this.#key = options.key;
    this.#timeoutMs = Math.max(1, options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS);
    this.#attempts = 1 + Math.min(5, Math.max(0, Math.floor(options.retries ?? DEFAULT_WEBHOOK_RETRIES)));
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  async execute({ incidentId, action }: ToolScope & { incidentId: string; action: MitigationAction }): Promise<ActionResult> {
    let key: string;
    try {
      key = await this.#key();
    } catch (error) {
      return failed(`cannot read the signing key: ${(error as Error).message}`);
    }
    if (!key) return failed('the signing key is empty');
    const idem = idempotencyKey(incidentId, action);
    const body = JSON.stringify({
      incidentId,
      direction: directionOf(action),
      action: { kind: action.kind, service: action.service, ...(action.target ? { target: action.target } : {}), params: action.params, description: action.description, risk: action.risk, reversible: action.reversible },
      requestedAt: new Date(this.#now()).toISOString(),
      idempotencyKey: idem,
    });
    const path = new URL(this.#url).pathname;

    let problem = '';
    for (let attempt = 0; attempt < this.#attempts; attempt += 1) {
      // Signed per attempt: a retry after a long backoff still carries a fresh timestamp.
      const timestamp = String(Math.floor(this.#now() / 1000));
      let response: Response;
      let text: string;
      try {
        response = await this.#fetch(this.#url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: signWebhook(key, timestamp, body), [IDEMPOTENCY_HEADER]: idem },
          body,
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
        text = await response.text();
      } catch (error) {
        const e = error as { name?: string; message?: string; cause?: { code?: string } };
        const what = e?.name === 'TimeoutError' ? `timed out after ${this.#timeoutMs} ms` : `${e?.message ?? String(error)}${e?.cause?.code ? ` (${e.cause.code})` : ''}`;
        return failed(`POST ${path} ${what}; not retried: the receiver may have acted (idempotency key ${idem})`);
      }
      if (response.status >= 200 && response.status < 300) {
        const v = verdict(text);
        if (v.status === 'failed') return failed(`the receiver reported a failure: ${v.detail ?? 'no detail'}`);
        return { status: 'succeeded', detail: `action webhook: ${response.status} from POST ${path}${v.detail ? `: ${v.detail}` : ''}` };
      }
      problem = `${response.status} from POST ${path}${text.trim() ? `: ${excerpt(text)}` : ''}`;
      const retryable = response.status === 429 || response.status >= 500;
      if (!retryable) return failed(problem);
      if (attempt === this.#attempts - 1) break;
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), this.#now());
      if (retryAfter !== undefined && retryAfter > MAX_RETRY_AFTER_MS) return failed(`${problem} (Retry-After ${Math.ceil(retryAfter / 1000)} s is longer than this call may wait)`);
      await this.#sleep(retryAfter ?? Math.round(this.#random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt)));
    }
    return failed(`${problem} (after ${this.#attempts} attempts)`);
  }
}
