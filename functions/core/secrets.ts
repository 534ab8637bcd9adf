/**
 * The shared secret of the webhook and approval routes, read from Secrets Manager (`WEBHOOK_SECRET_ID`) and
 * cached briefly so a warm Lambda does not call Secrets Manager per request, yet picks up a rotation within
 * the TTL. The secret is the plain `SecretString`.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export interface SecretProvider {
  getSecret(): Promise<string>;
}

export class SecretUnavailable extends Error {
  override name = 'SecretUnavailable';
}

export const DEFAULT_SECRET_TTL_MS = 60_000;

export class SecretsManagerSecret implements SecretProvider {
  readonly #client: SecretsManagerClient;
  readonly #secretId: string;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #cached: { value: string; fetchedAt: number } | undefined;
  #inflight: Promise<string> | undefined;

  constructor(client: SecretsManagerClient, secretId: string, options: { ttlMs?: number; now?: () => number } = {}) {
    this.#client = client;
    this.#secretId = secretId;
    this.#ttlMs = options.ttlMs ?? DEFAULT_SECRET_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  async getSecret(): Promise<string> {
    if (this.#cached && this.#now() - this.#cached.fetchedAt < this.#ttlMs) return this.#cached.value;
    // Concurrent requests on a cold cache share one GetSecretValue.
    this.#inflight ??= this.#fetch().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #fetch(): Promise<string> {
    let out;
    try {
      out = await this.#client.send(new GetSecretValueCommand({ SecretId: this.#secretId }));
    } catch (error) {
      // The SDK's messages do not always say which secret ("Secrets Manager can't find the specified
      // secret."): name the id (never a value) so the log line points at the configuration to fix.
      const e = error as { name?: string; message?: string };
      throw new SecretUnavailable(`secret ${this.#secretId} cannot be read: ${e?.name ?? 'Error'}: ${e?.message ?? String(error)}`, { cause: error });
    }
    const value = out.SecretString;
    if (!value) throw new SecretUnavailable(`secret ${this.#secretId} has no SecretString`);
    this.#cached = { value, fetchedAt: this.#now() };
    return value;
  }
}

/** A fixed secret (tests, or a deployment that injects it differently). */
export class StaticSecret implements SecretProvider {
  readonly #value: string;
  constructor(value: string) {
    if (value.length === 0) throw new SecretUnavailable('the secret is empty');
    this.#value = value;
  }
  async getSecret(): Promise<string> {
    return this.#value;
  }
}

/**
 * Constant-time comparison. Both sides are hashed first so the comparison never leaks the secret's length
 * (timingSafeEqual needs equal lengths).
 */
export const secretsMatch = (presented: string | undefined, expected: string): boolean => {
  if (presented === undefined || expected.length === 0) return false;
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
};

/**
 * A `getSecret` over Secrets Manager: one cached `SecretsManagerSecret` per secret id (values kept for the
 * TTL, concurrent cold reads shared), so a warm Lambda does not call Secrets Manager per vendor request.
 */
export const secretsManagerGetter = (client: SecretsManagerClient, options: { ttlMs?: number } = {}): ((id: string) => Promise<string>) => {
  const byId = new Map<string, SecretsManagerSecret>();
  return (id) => {
    let secret = byId.get(id);
    if (!secret) {
      secret = new SecretsManagerSecret(client, id, options);
      byId.set(id, secret);
    }
    return secret.getSecret();
  };
};
