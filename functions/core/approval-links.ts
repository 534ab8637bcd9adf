/**
 * Signed approval links: `GET <API_BASE_URL>/approvals/<token>` opens a confirmation page, and only the page's
 * form (`POST /approvals/<token>`) decides. The token is the link's whole credential, so it is
 *
 *   token = base64url(claims JSON) "." base64url(HMAC-SHA256(key, "approval-link.v1." + base64url(claims JSON)))
 *   claims = { v: 1, i: incident id, d: approve|reject, e: expiry (epoch seconds), r: approval request id }
 *
 * - bound to ONE approval request (`r`, a random id stored with the pending approval): a link of an earlier
 *   request (before a rerun) can never decide a later one;
 * - bound to ONE decision (`d`): the form cannot flip an approve link into a rejection, or back;
 * - expiring at the approval deadline (`e`): after it the task is closed anyway;
 * - verified in constant time, signature BEFORE anything in the claims is trusted.
 *
 * The key. It is derived (HKDF-SHA256, info `incident-autopilot/approval-link/v1`) from the webhook secret in
 * Secrets Manager rather than kept in a secret of its own, because:
 *   1. whoever holds the webhook secret can already decide every approval through
 *      `POST /incidents/{id}/approval`; a link can do strictly less (one request, one decision, until a
 *      deadline), so a second secret would not protect anything the first does not already protect;
 *   2. HKDF separates the two uses: the signing key is not the header value, and a link reveals nothing about
 *      either (HMAC is one-way);
 *   3. rotating the webhook secret (the response to a leak) revokes every outstanding link with it;
 *   4. nothing new to create, grant, rotate or serve on the laptop twin (its Secrets Manager stand-in already
 *      serves the webhook secret).
 * The price: request-approval (which signs) and approval-page (which verifies) may read the webhook secret.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import type { SecretProvider } from './secrets.ts';
import type { ApprovalDecision } from './store/store.ts';

/** HKDF `info`: changing it (a new version) invalidates every link signed with the old derivation. */
export const LINK_KEY_INFO = 'incident-autopilot/approval-link/v1';
/** Prefix of the signed message, so a link signature can never be replayed as any other HMAC of this key. */
const SIGNING_PREFIX = 'approval-link.v1.';
/** The route the links point at (functions/registry.ts serves GET and POST on it). */
export const APPROVAL_LINK_ROUTE = '/approvals/{token}';
/** A token is ~200 characters; anything much longer is not one of ours (and is refused before any work). */
export const MAX_TOKEN_CHARS = 1024;
const SIGNATURE_BYTES = 32;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export interface ApprovalLinkClaims {
  readonly incidentId: string;
  readonly decision: ApprovalDecision;
  /** Expiry, epoch seconds (the approval deadline). */
  readonly expiresAt: number;
  /** The approval request this link may decide (see `approvalRequestIdOf`). */
  readonly requestId: string;
}

const WireClaims = z.strictObject({
  v: z.literal(1),
  i: z.string().min(1).max(128),
  d: z.enum(['approve', 'reject']),
  e: z.number().int().positive(),
  r: z.string().min(1).max(64),
});

/** Tampered, truncated, signed with another key, or not a token at all: answer 403, decide nothing. */
export class ApprovalLinkInvalid extends Error {
  override name = 'ApprovalLinkInvalid';
}

/** Genuine, but past its expiry (the approval deadline): answer 410, decide nothing. */
export class ApprovalLinkExpired extends Error {
  override name = 'ApprovalLinkExpired';
  readonly claims: ApprovalLinkClaims;
  constructor(claims: ApprovalLinkClaims) {
    super(`the approval link expired at ${new Date(claims.expiresAt * 1000).toISOString()}`);
    this.claims = claims;
  }
}

/** The 32-byte HMAC key for links, derived from the secret (see the module comment). */
export const deriveLinkKey = (secret: string): Buffer => {
  if (secret.length === 0) throw new ApprovalLinkInvalid('cannot derive an approval link key from an empty secret');
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), LINK_KEY_INFO, 32));
};

/** A fresh approval request id: 128 random bits, base64url (stored with the pending approval). */
export const newApprovalRequestId = (): string => randomBytes(16).toString('base64url');

const mac = (key: Buffer, payload: string): Buffer => createHmac('sha256', key).update(SIGNING_PREFIX + payload, 'utf8').digest();

export const signApprovalLink = (key: Buffer, claims: ApprovalLinkClaims): string => {
  const wire = WireClaims.parse({ v: 1, i: claims.incidentId, d: claims.decision, e: claims.expiresAt, r: claims.requestId });
  const payload = Buffer.from(JSON.stringify(wire), 'utf8').toString('base64url');
  return `${payload}.${mac(key, payload).toString('base64url')}`;
};

/**
 * The claims of a genuine, unexpired token. Throws `ApprovalLinkInvalid` (403) unless the signature matches,
 * then `ApprovalLinkExpired` (410) when `now` is at or past the expiry. The signature is compared with
 * `timingSafeEqual` on fixed-length digests, so timing reveals nothing about the expected value.
 */
export const verifyApprovalLink = (key: Buffer, token: string, now: Date): ApprovalLinkClaims => {
  if (token.length === 0 || token.length > MAX_TOKEN_CHARS) throw new ApprovalLinkInvalid('not an approval link token');
  const parts = token.split('.');
  if (parts.length !== 2 || !BASE64URL.test(parts[0]) || !BASE64URL.test(parts[1])) throw new ApprovalLinkInvalid('not an approval link token');
  const [payload, signature] = parts;
  const presented = Buffer.from(signature, 'base64url');
  const expected = mac(key, payload);
  // Length first (a public fact: every genuine signature is 32 bytes), then the constant-time comparison.
  if (presented.length !== SIGNATURE_BYTES || !timingSafeEqual(presented, expected)) {
    throw new ApprovalLinkInvalid('the approval link signature does not match (altered, or signed with a rotated key)');
  }
  let parsed: z.infer<typeof WireClaims>;
  try {
    parsed = WireClaims.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
  } catch {
    // Only a holder of the key could produce this: a bug, not an attack. Still nothing is decided.
    throw new ApprovalLinkInvalid('the approval link is signed but its claims are malformed');
  }
  const claims: ApprovalLinkClaims = { incidentId: parsed.i, decision: parsed.d, expiresAt: parsed.e, requestId: parsed.r };
  if (now.getTime() >= claims.expiresAt * 1000) throw new ApprovalLinkExpired(claims);
  return claims;
};

/**
 * Signs and verifies with the key derived from a `SecretProvider` (Secrets Manager, cached by the provider),
 * re-deriving only when the secret's value changes (a rotation).
 */
export class ApprovalLinks {
  readonly #secret: SecretProvider;
  #derived: { secret: string; key: Buffer } | undefined;

  constructor(secret: SecretProvider) {
    this.#secret = secret;
  }

  async #key(): Promise<Buffer> {
    const secret = await this.#secret.getSecret();
    if (this.#derived?.secret !== secret) this.#derived = { secret, key: deriveLinkKey(secret) };
    return this.#derived.key;
  }

  async sign(claims: ApprovalLinkClaims): Promise<string> {
    return signApprovalLink(await this.#key(), claims);
  }

  async verify(token: string, now: Date): Promise<ApprovalLinkClaims> {
    return verifyApprovalLink(await this.#key(), token, now);
  }
}

/** `<apiBaseUrl>/approvals/<token>` (a path when no base URL is configured). */
export const approvalLinkUrl = (apiBaseUrl: string | undefined, token: string): string =>
  `${(apiBaseUrl ?? '').replace(/\/+$/, '')}${APPROVAL_LINK_ROUTE.replace('{token}', encodeURIComponent(token))}`;

/** Link expiry from the approval deadline (ISO): whole seconds, never later than the deadline. */
export const linkExpiry = (expiresAtIso: string): number => Math.floor(Date.parse(expiresAtIso) / 1000);


