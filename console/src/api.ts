/**
 * The console's HTTP client: every request goes to `apiBase` + a /console route (or /admin), with the ID token when
 * signed in. A 401 refreshes the tokens once and retries, else signs in again. Failures become `ApiError`s that say
 * what failed in the API's own words (`message`), and a route the API does not have (API Gateway's bare 404) is named
 * as such, so a console newer than its API says what is missing instead of showing an empty page.
 */
import type { Auth } from './auth.ts';

export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  /** `METHOD /path` of the request. */
  readonly route: string;
  /** The API's machine-readable code (`error`), when it gave one. */
  readonly code: string | undefined;
  readonly body: Record<string, unknown>;
  constructor(status: number, route: string, message: string, code: string | undefined, body: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.route = route;
    this.code = code;
    this.body = body;
  }
  /** The route itself is missing (not a missing incident: the function answers those with `error: not_found`). */
  get routeMissing(): boolean {
    return this.status === 404 && this.code === undefined;
  }
}

/** What to show for a failed request: the API's message, or which route is missing, or why the request never arrived. */
export const describeError = (error: unknown): string => {
  if (error instanceof ApiError) {
    if (error.routeMissing) return `The API has no route ${error.route} (404): this deployment does not serve it yet.`;
    return `${error.route} failed (${error.status}): ${error.message}`;
  }
  if (error instanceof TypeError) return `The API could not be reached (${error.message}). Is the twin still running?`;
  return error instanceof Error ? error.message : String(error);
};

type Query = Readonly<Record<string, string | number | undefined>>;

export class Api {
  readonly #base: string;
  readonly #auth: Auth | null;

  constructor(base: string, auth: Auth | null) {
    this.#base = base;
    this.#auth = auth;
  }

  /** The API's own URL of a path (e.g. the API description's page). */
  url(path: string): string {
    return `${this.#base}${path}`;
  }

  get<T>(path: string, query: Query = {}, signal?: AbortSignal): Promise<T> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
    const search = params.toString();
    return this.#request<T>('GET', search ? `${path}?${search}` : path, undefined, signal);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.#request<T>('POST', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.#request<T>('DELETE', path);
  }

  async #request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal, retried = false): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let token: string | undefined;
    if (this.#auth) {
      token = await this.#auth.idToken();
      if (!token) {
        await this.#auth.signIn();
        throw new ApiError(401, `${method} ${path.split('?')[0]}`, 'signing in again', 'unauthorized', {});
      }
      headers.authorization = `Bearer ${token}`;
    }
    const response = await fetch(this.url(path), { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), ...(signal ? { signal } : {}) });
    if (response.status === 401 && this.#auth) {
      if (!retried && (await this.#auth.refresh(token))) return this.#request<T>(method, path, body, signal, true);
      await this.#auth.signIn();
    }
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: described below
    }
    if (!response.ok) {
      const record = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
      const message = typeof record.message === 'string' ? record.message : text.slice(0, 200) || response.statusText;
      throw new ApiError(response.status, `${method} ${path.split('?')[0]}`, message, typeof record.error === 'string' ? record.error : undefined, record);
    }
    return parsed as T;
  }
}
