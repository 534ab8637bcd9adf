/**
 * A small client of the incident API (the same routes on the twin and behind API Gateway), used by the CLI,
 * the demo, the benchmark and the whole-workflow tests. Every call sends the shared secret header.
 */
export { SECRET_HEADER } from '../../functions/registry.ts';
import { SECRET_HEADER } from '../../functions/registry.ts';

/** The API answered with a non-2xx status; `message` is the API's own message when it gave one. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly body: unknown;
  /** The answer's `Retry-After` in seconds (a 429 or 503 that says when to come back), when it sent one. */
  readonly retryAfterSeconds: number | undefined;
  constructor(status: number, message: string, body: unknown, retryAfterSeconds?: number) {
    super(message);
    this.status = status;
    this.body = body;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** `Retry-After` as whole seconds: the delta form only (the API never sends an HTTP date); undefined otherwise. */
export const retryAfterSeconds = (value: string | null): number | undefined => (value !== null && /^\d{1,6}$/.test(value.trim()) ? Number(value.trim()) : undefined);

/** The twin (or API) could not be reached at all. */
export class ApiUnreachable extends Error {
  override name = 'ApiUnreachable';
}

export interface AcceptedAlert {
  readonly incidentId: string;
  readonly executionArn?: string;
  readonly deduplicated?: boolean;
  readonly [key: string]: unknown;
}

export type Decision = 'approve' | 'reject';

export class ApiClient {
  readonly baseUrl: string;
  readonly #secret: string | undefined;

  constructor(baseUrl: string, secret?: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.#secret = secret;
  }

  /** POST /alerts/{source} with a raw vendor payload (a string is sent as is, so malformed JSON can be tested). */
  sendAlert(source: string, payload: unknown, opts: { secret?: string | null } = {}): Promise<{ status: number; body: AcceptedAlert }> {
    return this.#request('POST', `/alerts/${encodeURIComponent(source)}`, payload, opts.secret);
  }

  async listIncidents(query: { status?: string; limit?: number; cursor?: string } = {}): Promise<{ items: Record<string, unknown>[]; cursor?: string }> {
    const params = new URLSearchParams();
    if (query.status) params.set('status', query.status);
    if (query.limit) params.set('limit', String(query.limit));
    if (query.cursor) params.set('cursor', query.cursor);
    const qs = params.size ? `?${params}` : '';
    return (await this.#request<{ items: Record<string, unknown>[]; cursor?: string }>('GET', `/incidents${qs}`)).body;
  }

  async getIncident(id: string): Promise<IncidentView> {
    return (await this.#request<IncidentView>('GET', `/incidents/${encodeURIComponent(id)}`)).body;
  }

  async decide(id: string, decision: Decision, approver: string, comment?: string): Promise<Record<string, unknown>> {
    return (await this.#request<Record<string, unknown>>('POST', `/incidents/${encodeURIComponent(id)}/approval`, { decision, approver, channel: 'cli', ...(comment ? { comment } : {}) })).body;
  }

  /** POST /incidents/{id}/resolution: what the cause and the fix really were, by whom (functions/resolve-incident). */
  async resolve(id: string, resolution: ResolutionRequest): Promise<ResolutionAnswer> {
    return (await this.#request<ResolutionAnswer>('POST', `/incidents/${encodeURIComponent(id)}/resolution`, resolution)).body;
  }

  /** GET /summary: counts by status and the production accuracy. */
  async summary(): Promise<SummaryAnswer> {
    return (await this.#request<SummaryAnswer>('GET', '/summary')).body;
  }

  async rerun(id: string): Promise<Record<string, unknown>> {
    return (await this.#request<Record<string, unknown>>('POST', `/incidents/${encodeURIComponent(id)}/rerun`, {})).body;
  }

  /** GET /admin/faults: the faults of a simulated world (default: the live world), its services and the presets. */
  async listFaults(world?: string): Promise<FaultList> {
    return (await this.#request<FaultList>('GET', `/admin/faults${world ? `?${new URLSearchParams({ world })}` : ''}`)).body;
  }

  /** POST /admin/faults: a preset (on a service, or the preset's default) or a scenario-format fault without startsAt. */
  async injectFault(request: { world?: string; preset?: string; service?: string; fault?: unknown; by?: string }): Promise<InjectedFault> {
    return (await this.#request<InjectedFault>('POST', '/admin/faults', request)).body;
  }

  /** DELETE /admin/faults/{id}: ends the fault now (idempotent: `alreadyEnded` when it had ended). */
  async endFault(id: string, opts: { world?: string; by?: string } = {}): Promise<{ id: string; world: string; endedAt: string; alreadyEnded: boolean }> {
    const params = new URLSearchParams();
    if (opts.world) params.set('world', opts.world);
    if (opts.by) params.set('by', opts.by);
    return (await this.#request<{ id: string; world: string; endedAt: string; alreadyEnded: boolean }>('DELETE', `/admin/faults/${encodeURIComponent(id)}${params.size ? `?${params}` : ''}`)).body;
  }

  async #request<T>(method: string, path: string, body?: unknown, secret?: string | null): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const presented = secret === undefined ? this.#secret : secret;
    if (presented) headers[SECRET_HEADER] = presented;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    } catch (error) {
      throw new ApiUnreachable(`cannot reach ${this.baseUrl} (${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}); is \`autopilot serve\` running?`);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // keep the text
    }
    if (!res.ok) throw new ApiError(res.status, apiMessage(parsed) ?? `${method} ${path} answered ${res.status}`, parsed, retryAfterSeconds(res.headers.get('retry-after')));
    return { status: res.status, body: parsed as T };
  }
}

const apiMessage = (body: unknown): string | undefined => {
  if (typeof body === 'string' && body) return body;
  if (body && typeof body === 'object') {
    const b = body as { message?: unknown; error?: unknown };
    if (typeof b.message === 'string') return b.message;
    if (typeof b.error === 'string') return b.error;
    if (b.error && typeof b.error === 'object' && typeof (b.error as { message?: unknown }).message === 'string') return (b.error as { message: string }).message;
  }
  return undefined;
};

/** The body of POST /incidents/{id}/resolution (ResolutionBody in functions/core/api/schemas.ts). */
export interface ResolutionRequest {
  readonly cause: { readonly service: string; readonly category: string; readonly change?: string; readonly summary: string };
  readonly fix: string;
  readonly by: string;
  readonly comment?: string;
}

/** A resolution as recorded (IncidentResolution in functions/core/store/store.ts). */
export interface ResolutionView {
  readonly cause: ResolutionRequest['cause'];
  readonly fix: string;
  readonly by: string;
  readonly at: string;
  readonly comment?: string;
  readonly statusBefore: string;
  readonly grade: { readonly graded: boolean; readonly matched: boolean; readonly abstained?: boolean; readonly why: string; readonly top?: Record<string, unknown> };
}

export interface ResolutionAnswer {
  readonly incidentId: string;
  readonly status: string;
  readonly resolution: ResolutionView;
  readonly history: 'recorded' | 'not-configured';
  readonly replayed: boolean;
}

/** GET /summary. */
export interface SummaryAnswer {
  readonly counts: Record<string, number>;
  readonly total: number;
  readonly accuracy: { readonly graded: number; readonly matched: number; readonly rate: number | null };
}

/** GET /incidents/{id}: the incident, its alerts, each agent's record and the timeline. */
export interface IncidentView {
  readonly incident: Record<string, unknown> & { incidentId: string; status: string; approval?: { status: string; [k: string]: unknown }; reportLocation?: string; resolution?: ResolutionView };
  readonly alerts?: unknown[];
  readonly agents?: Partial<Record<string, { output?: unknown; [k: string]: unknown }>>;
  readonly timeline?: unknown[];
  /** What people recorded as the cause and the fix; null (or absent, from an older API) until someone resolves it. */
  readonly resolution?: ResolutionView | null;
}

/** GET /admin/faults (functions/manage-faults). */
export interface FaultList {
  readonly world: string;
  readonly services: string[];
  readonly presets: { name: string; title: string; description: string }[];
  readonly faults: { id: string; kind: string; service: string; startsAt: string; endsAt?: string; active: boolean; preset?: string; by?: string; endedBy?: string; causedBy?: string; mitigatedAt?: string }[];
}

/** POST /admin/faults's answer. */
export interface InjectedFault {
  readonly id: string;
  readonly world: string;
  readonly service: string;
  readonly kind: string;
  readonly startsAt: string;
  readonly fault: Record<string, unknown>;
  readonly preset?: string;
  readonly changes: string[];
  readonly watch: { service: string; metric: string }[];
  readonly by: string;
}

/** The answers that say "come back later" when they carry Retry-After: 503 (busy, e.g. the incident is being opened) and 429 (load shed). */
const BUSY_STATUSES: ReadonlySet<number> = new Set([429, 503]);

/**
 * Calls `request` again after each 429 or 503 that names a Retry-After (the incident is being opened by another
 * delivery or the sweeper; the API shedding load), until `budgetMs` would be passed; any other answer, or a wait past
 * the budget, is the result.
 */
export const retryWhileBusy = async <T>(request: () => Promise<T>, budgetMs: number, onWait: (error: ApiError, seconds: number) => void, sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))): Promise<T> => {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    try {
      return await request();
    } catch (error) {
      const seconds = error instanceof ApiError && BUSY_STATUSES.has(error.status) ? error.retryAfterSeconds : undefined;
      if (seconds === undefined || Date.now() + seconds * 1000 > deadline) throw error;
      onWait(error as ApiError, seconds);
      await sleep(seconds * 1000);
    }
  }
};
