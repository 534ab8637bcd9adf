/**
 * Sign-in against the Cognito managed login: the OAuth 2.0 authorization-code flow with PKCE (RFC 7636, S256 with
 * WebCrypto), the public client the stack creates (no client secret in a browser). Tokens live in sessionStorage:
 * gone with the tab, never in a cookie a cross-site request could carry. Requests send the ID token as
 * `Authorization: Bearer` (the HTTP API's JWT authorizer checks it against the pool and the client id).
 *
 * The redirect (and sign-out) URI is the console's own page, `origin + pathname` (`https://<console>/`): the hash
 * route in use is kept in sessionStorage across the round trip, since the managed login drops it.
 */
import type { AuthConfig } from './config.ts';

const TOKENS = 'autopilot.tokens';
const PENDING = 'autopilot.signin';

interface Tokens {
  readonly idToken: string;
  readonly accessToken: string;
  readonly refreshToken?: string;
  /** Epoch ms when the ID token expires. */
  readonly expiresAt: number;
}

interface PendingSignIn {
  readonly state: string;
  readonly verifier: string;
  readonly hash: string;
}

export class SignInFailed extends Error {
  override name = 'SignInFailed';
}

const redirectUri = (): string => `${location.origin}${location.pathname}`;

const base64Url = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

const randomString = (bytes = 32): string => base64Url(crypto.getRandomValues(new Uint8Array(bytes)));

const challengeOf = async (verifier: string): Promise<string> => base64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));

const readJson = <T>(key: string): T | undefined => {
  try {
    const raw = sessionStorage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : undefined;
  } catch {
    return undefined;
  }
};

export class Auth {
  readonly #config: AuthConfig;
  #refreshing: Promise<boolean> | undefined;

  constructor(config: AuthConfig) {
    this.#config = config;
  }

  /** The signed-in user's name from the ID token (display only: the API trusts the authorizer, not this). */
  user(): string | undefined {
    const tokens = readJson<Tokens>(TOKENS);
    if (!tokens) return undefined;
    try {
      const payload = JSON.parse(atob(tokens.idToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
      const name = payload.email ?? payload['cognito:username'] ?? payload.sub;
      return typeof name === 'string' ? name : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Completes a sign-in the managed login redirected back from (`?code=&state=`), or starts one when no token is kept.
   * Resolves true when signed in; false when the page is navigating to the managed login.
   */
  async ensureSignedIn(): Promise<boolean> {
    const params = new URLSearchParams(location.search);
    const error = params.get('error');
    if (error) throw new SignInFailed(`sign-in failed: ${error}${params.get('error_description') ? ` (${params.get('error_description')})` : ''}`);
    const code = params.get('code');
    if (code) {
      await this.#completeSignIn(code, params.get('state') ?? '');
      return true;
    }
    if (readJson<Tokens>(TOKENS)) return true;
    await this.signIn();
    return false;
  }

  /** The ID token to send, refreshed first when it is about to expire; undefined when a new sign-in is needed. */
  async idToken(): Promise<string | undefined> {
    const tokens = readJson<Tokens>(TOKENS);
    if (!tokens) return undefined;
    if (tokens.expiresAt - Date.now() > 60_000) return tokens.idToken;
    return (await this.refresh()) ? readJson<Tokens>(TOKENS)?.idToken : undefined;
  }

  /**
   * Trades the refresh token for new tokens (one at a time however many requests ask). `rejected`: the ID token a 401
   * answered; when the kept one is already another (a request that was refused after a refresh ended), it is used as is.
   */
  refresh(rejected?: string): Promise<boolean> {
    const kept = readJson<Tokens>(TOKENS)?.idToken;
    if (rejected !== undefined && kept !== undefined && kept !== rejected) return Promise.resolve(true);
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<boolean> {
    const tokens = readJson<Tokens>(TOKENS);
    if (!tokens?.refreshToken) return false;
    try {
      const fresh = await this.#token({ grant_type: 'refresh_token', client_id: this.#config.clientId, refresh_token: tokens.refreshToken });
      this.#keep({ ...fresh, refreshToken: fresh.refreshToken ?? tokens.refreshToken });
      return true;
    } catch {
      sessionStorage.removeItem(TOKENS);
      return false;
    }
  }

  /** Goes to the managed login (authorization code + PKCE); the current route comes back after it. */
  async signIn(): Promise<void> {
    const pending: PendingSignIn = { state: randomString(16), verifier: randomString(48), hash: location.hash };
    sessionStorage.setItem(PENDING, JSON.stringify(pending));
    const url = new URL(`${this.#config.domain}/oauth2/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: this.#config.clientId,
      redirect_uri: redirectUri(),
      scope: this.#config.scopes.join(' '),
      state: pending.state,
      code_challenge_method: 'S256',
      code_challenge: await challengeOf(pending.verifier),
    }).toString();
    location.assign(url.toString());
  }

  signOut(): void {
    sessionStorage.removeItem(TOKENS);
    const url = new URL(`${this.#config.domain}/logout`);
    url.search = new URLSearchParams({ client_id: this.#config.clientId, logout_uri: redirectUri() }).toString();
    location.assign(url.toString());
  }

  async #completeSignIn(code: string, state: string): Promise<void> {
    const pending = readJson<PendingSignIn>(PENDING);
    sessionStorage.removeItem(PENDING);
    // The state ties this redirect to the sign-in this tab started (a forged redirect carries another).
    if (!pending || pending.state !== state) throw new SignInFailed('sign-in failed: the answer of the managed login does not belong to a sign-in started here; reload to sign in again');
    const tokens = await this.#token({ grant_type: 'authorization_code', client_id: this.#config.clientId, code, redirect_uri: redirectUri(), code_verifier: pending.verifier });
    this.#keep(tokens);
    history.replaceState(null, '', `${location.pathname}${pending.hash || '#/incidents'}`);
  }

  async #token(form: Record<string, string>): Promise<Tokens> {
    const response = await fetch(`${this.#config.domain}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok || typeof body.id_token !== 'string' || typeof body.access_token !== 'string') {
      throw new SignInFailed(`sign-in failed: the token endpoint answered ${response.status}${typeof body.error === 'string' ? ` (${body.error})` : ''}`);
    }
    const seconds = typeof body.expires_in === 'number' ? body.expires_in : 3600;
    return {
      idToken: body.id_token,
      accessToken: body.access_token,
      ...(typeof body.refresh_token === 'string' ? { refreshToken: body.refresh_token } : {}),
      expiresAt: Date.now() + seconds * 1000,
    };
  }

  #keep(tokens: Tokens): void {
    sessionStorage.setItem(TOKENS, JSON.stringify(tokens));
  }
}
