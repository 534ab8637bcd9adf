/**
 * Who may post alerts to `POST /alerts/{source}`. The key material is one secret, the webhook secret in
 * Secrets Manager (`WEBHOOK_SECRET_ID`), presented in one of two ways, whichever the sender can do:
 *
 *   signature  an HMAC-SHA256 of the raw body keyed with the secret, so the secret never travels:
 *              `x-autopilot-signature: sha256=<hex>` (generic senders, a signing proxy in front of Alertmanager),
 *              or Grafana's `X-Grafana-Alerting-Signature: <hex>` (Grafana's webhook contact point "HMAC signature").
 *              With a timestamp header (`x-autopilot-timestamp` / `X-Grafana-Alerting-Timestamp`, unix seconds)
 *              the signed text is `<timestamp>:<body>` and the timestamp must be within 5 minutes of now
 *              (replay protection; Grafana's construction). Without one, a replay is only a duplicate delivery,
 *              which deduplication folds into the same incident.
 *   secret     the secret itself: `x-autopilot-secret: <secret>`, `Authorization: Bearer <secret>`, or
 *              `Authorization: Basic base64(<any user>:<secret>)` — for senders that can only set static headers
 *              or basic auth (Dynatrace, Datadog, Alertmanager, CloudWatch through an EventBridge connection).
 *
 * A request carrying a signature header is judged on the signature alone: a wrong signature is a 401 even if a
 * correct secret header is also present (the body may have been altered). Comparisons are constant-time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type ApiEvent, HttpError, header, presentedSecret } from '../http.ts';
import { type SecretProvider, secretsMatch } from '../secrets.ts';
import { SECRET_HEADER } from '../../registry.ts';

export const SIGNATURE_HEADER = 'x-autopilot-signature';
export const TIMESTAMP_HEADER = 'x-autopilot-timestamp';
export const GRAFANA_SIGNATURE_HEADER = 'x-grafana-alerting-signature';
export const GRAFANA_TIMESTAMP_HEADER = 'x-grafana-alerting-timestamp';
/** How far a signed timestamp may be from now, either way. */
export const MAX_SIGNATURE_SKEW_SECONDS = 300;

export type AlertCredential = 'signature' | 'grafana-signature' | 'secret';

/** 401, naming what was wrong without revealing anything about the secret. */
export class AlertUnauthorized extends HttpError {
  override name = 'AlertUnauthorized';
  constructor(message: string) {
    super(401, 'unauthorized', message);
  }
}

/** Hex HMAC-SHA256 of `<timestamp>:<body>` (or of the body alone without a timestamp). */
export const signAlertBody = (secret: string, body: Buffer | string, timestamp?: string): string => {
  const hmac = createHmac('sha256', secret);
  if (timestamp !== undefined) hmac.update(`${timestamp}:`, 'utf8');
  hmac.update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  return hmac.digest('hex');
};

/** The `x-autopilot-signature` header value for a body: `sha256=<hex>`. */
export const alertSignatureHeader = (secret: string, body: Buffer | string, timestamp?: string): string => `sha256=${signAlertBody(secret, body, timestamp)}`;

const hexEqual = (presentedHex: string, expectedHex: string): boolean => {
  if (!/^[0-9a-f]+$/i.test(presentedHex) || presentedHex.length !== expectedHex.length) return false;
  return timingSafeEqual(Buffer.from(presentedHex.toLowerCase(), 'hex'), Buffer.from(expectedHex, 'hex'));
};

const checkTimestamp = (timestamp: string, headerName: string, now: Date): void => {
  if (!/^\d{1,12}$/.test(timestamp.trim())) throw new AlertUnauthorized(`${headerName} must be unix seconds`);
  const skew = Math.abs(now.getTime() / 1000 - Number(timestamp.trim()));
  if (skew > MAX_SIGNATURE_SKEW_SECONDS) throw new AlertUnauthorized(`${headerName} is more than ${MAX_SIGNATURE_SKEW_SECONDS} s from now: refusing a stale or replayed request`);
};

/**
 * The secret presented as a header or a bearer token (the API's own rule, `presentedSecret`), or, for alert
 * senders that can only do basic auth, as a basic-auth password.
 */
export const presentedAlertSecret = (event: ApiEvent): string | undefined => {
  const secret = presentedSecret(event);
  if (secret !== undefined) return secret;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec((header(event, 'authorization') ?? '').trim());
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
};

/**
 * Throws `AlertUnauthorized` unless the request carries a valid signature of `body` or the secret; returns
 * which credential it was (for metrics and logs). `body` is the raw bytes as received.
 */
export const authenticateAlert = async (event: ApiEvent, body: Buffer, secrets: SecretProvider, now: Date): Promise<AlertCredential> => {
  const secret = await secrets.getSecret();
  const ours = header(event, SIGNATURE_HEADER);
  if (ours !== undefined) {
    const match = /^sha256=([0-9a-f]+)$/i.exec(ours.trim());
    if (!match) throw new AlertUnauthorized(`${SIGNATURE_HEADER} must be sha256=<hex HMAC-SHA256 of the body>`);
    const timestamp = header(event, TIMESTAMP_HEADER);
    if (timestamp !== undefined) checkTimestamp(timestamp, TIMESTAMP_HEADER, now);
    if (!hexEqual(match[1], signAlertBody(secret, body, timestamp?.trim()))) throw new AlertUnauthorized(`${SIGNATURE_HEADER} does not match the body`);
    return 'signature';
  }
  const grafana = header(event, GRAFANA_SIGNATURE_HEADER);
  if (grafana !== undefined) {
    const timestamp = header(event, GRAFANA_TIMESTAMP_HEADER);
    if (timestamp !== undefined) checkTimestamp(timestamp, GRAFANA_TIMESTAMP_HEADER, now);
    if (!hexEqual(grafana.trim(), signAlertBody(secret, body, timestamp?.trim()))) throw new AlertUnauthorized(`${GRAFANA_SIGNATURE_HEADER} does not match the body`);
    return 'grafana-signature';
  }
  if (secretsMatch(presentedAlertSecret(event), secret)) return 'secret';
  throw new AlertUnauthorized(`missing or wrong credential: send ${SECRET_HEADER} (or Authorization: Bearer/Basic), or sign the body (${SIGNATURE_HEADER}: sha256=<hex>)`);
};
