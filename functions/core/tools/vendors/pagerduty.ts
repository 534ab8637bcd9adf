/**
 * OnCall port over the PagerDuty REST API v2 (`https://api.pagerduty.com`, EU accounts
 * `https://api.eu.pagerduty.com`), headers `Authorization: Token token=<key>` and
 * `Accept: application/vnd.pagerduty+json;version=2`.
 *
 * - A service is found with `GET /services?query=<name>&include[]=teams` (the query matches names by
 *   substring, so the exact name is picked here, case-insensitively).
 * - On-call: `GET /oncalls?escalation_policy_ids[]=…&include[]=users&earliest=true` for the services'
 *   escalation policies; level 1 is the primary, the next level up the escalation.
 * - Ownership: the service's first team (or, without teams, its escalation policy's name). PagerDuty has no
 *   field for a Slack channel, runbook or SLO, so those stay unset.
 * List endpoints are paginated with `limit`/`offset` and `more`; every page is read up to a bound.
 * `scope.environment` is not used.
 */
import * as z from 'zod';
import type { OnCall, OnCallEntry, Ownership, Person, ToolScope } from '../ports.ts';
import { type Credential, HttpClient, type QueryValue, type RetryPolicy, resolveCredential } from './http.ts';

const VENDOR = 'PagerDuty';
export const PAGERDUTY_API = 'https://api.pagerduty.com';
const PAGE_LIMIT = 100;
/** Bound on pages read from one list (10,000 records). */
const MAX_PAGES = 100;
/**
 * How long a service lookup is reused. Triage asks for on-call and ownership of the same services at the
 * same moment; both need the same `/services` lookups, which are made once. Short, so a renamed or
 * re-assigned service is seen within a minute by a warm function.
 */
const SERVICE_LOOKUP_TTL_MS = 60_000;

export interface PagerDutyOptions extends RetryPolicy {
  readonly token: Credential;
  /** @default 'https://api.pagerduty.com' */
  readonly baseUrl?: string;
  readonly fetch?: typeof globalThis.fetch;
  readonly sleep?: (ms: number) => Promise<void>;
}

const Ref = z.object({ id: z.string(), summary: z.string().nullish(), name: z.string().nullish() });
const Service = z.object({ id: z.string(), name: z.string(), escalation_policy: Ref.nullish(), teams: z.array(Ref).nullish() });
type Service = z.infer<typeof Service>;
const User = z.object({ id: z.string(), summary: z.string().nullish(), name: z.string().nullish(), email: z.string().nullish(), html_url: z.string().nullish() });
const Oncall = z.object({ escalation_policy: Ref, escalation_level: z.number(), user: User, start: z.string().nullish() });
type Oncall = z.infer<typeof Oncall>;
const page = <T extends z.ZodType>(key: string, item: T) => z.object({ [key]: z.array(item), more: z.boolean().nullish(), offset: z.number().nullish() });

const person = (o: Oncall): Person => ({
  name: o.user.name ?? o.user.summary ?? o.user.id,
  // The email when `include[]=users` expanded the user, else the user's PagerDuty page.
  contact: o.user.email ?? o.user.html_url ?? `pagerduty user ${o.user.id}`,
});

export class PagerDutyOnCall implements OnCall {
  readonly #http: HttpClient;
  readonly #lookups = new Map<string, { readonly at: number; readonly service: Promise<Service | undefined> }>();

  constructor(options: PagerDutyOptions) {
    const token = options.token;
    this.#http = new HttpClient({
      ...options,
      vendor: VENDOR,
      baseUrl: options.baseUrl ?? PAGERDUTY_API,
      auth: async () => ({ authorization: `Token token=${await resolveCredential(VENDOR, 'API key', token)}` }),
    });
  }

  /** Every page of a classic-paginated list. */
  async #list<T extends z.ZodType>(path: string, key: string, item: T, query: Record<string, QueryValue>): Promise<z.infer<T>[]> {
    const schema = page(key, item);
    const out: z.infer<T>[] = [];
    for (let n = 0, offset = 0; n < MAX_PAGES; n += 1) {
      const body = (await this.#http.json(
        { path, query: { ...query, limit: PAGE_LIMIT, offset }, headers: { accept: 'application/vnd.pagerduty+json;version=2' } },
        schema,
      )) as { more?: boolean | null } & Record<string, z.infer<T>[]>;
      const items = body[key];
      out.push(...items);
      if (!body.more || items.length === 0) break;
      offset += items.length;
    }
    return out;
  }

  /** The service named exactly `name` (case-insensitively), shared with a concurrent or recent lookup. */
  #service(name: string): Promise<Service | undefined> {
    const now = Date.now();
    const cached = this.#lookups.get(name);
    if (cached && now - cached.at < SERVICE_LOOKUP_TTL_MS) return cached.service;
    const service = this.#list('/services', 'services', Service, { query: name, 'include[]': ['teams'] }).then((candidates) =>
      candidates.find((s) => s.name.toLowerCase() === name.toLowerCase()),
    );
    this.#lookups.set(name, { at: now, service });
    // A failed lookup is not remembered: the next call tries again.
    service.catch(() => {
      if (this.#lookups.get(name)?.service === service) this.#lookups.delete(name);
    });
    return service;
  }

  async #services(names: readonly string[]): Promise<Map<string, Service>> {
    const found = new Map<string, Service>();
    for (const name of new Set(names)) {
      const match = await this.#service(name);
      if (match) found.set(name, match);
    }
    return found;
  }

  async getOnCall(q: ToolScope & { services: readonly string[] }): Promise<OnCallEntry[]> {
    const services = await this.#services(q.services);
    const policyIds = [...new Set([...services.values()].map((s) => s.escalation_policy?.id).filter((id): id is string => !!id))];
    if (policyIds.length === 0) return [];
    const oncalls = await this.#list('/oncalls', 'oncalls', Oncall, {
      'escalation_policy_ids[]': policyIds,
      'include[]': ['users'],
      earliest: 'true',
      time_zone: 'UTC',
    });
    const entries: OnCallEntry[] = [];
    for (const name of q.services) {
      const service = services.get(name);
      const policy = service?.escalation_policy?.id;
      if (!policy) continue;
      const levels = oncalls.filter((o) => o.escalation_policy.id === policy).sort((a, b) => a.escalation_level - b.escalation_level);
      const primary = levels[0];
      if (!primary) continue;
      const next = levels.find((o) => o.escalation_level > primary.escalation_level);
      entries.push({ service: name, primary: person(primary), ...(next ? { escalation: person(next) } : {}) });
    }
    return entries;
  }

  async getOwnership(q: ToolScope & { services: readonly string[] }): Promise<Ownership[]> {
    const services = await this.#services(q.services);
    const out: Ownership[] = [];
    for (const name of q.services) {
      const s = services.get(name);
      if (!s) continue;
      const team = s.teams?.[0];
      const owner = team?.name ?? team?.summary ?? s.escalation_policy?.summary ?? s.escalation_policy?.name;
      if (owner) out.push({ service: name, team: owner });
    }
    return out;
  }
}
