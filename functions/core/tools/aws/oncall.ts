/**
 * OnCall port from what an AWS account already says about its services (the `aws-oncall` row):
 *
 * - Ownership: the service's tags in the directory (service-directory.ts: resource tags merged, the service map's
 *   `tags` over them): `team` → team, `slack` → Slack channel, `runbook` → runbook URL. A service without a `team`
 *   tag has no ownership entry.
 * - On-call: the roster in the SSM parameter `AWS_ONCALL_ROSTER_PARAMETER`, a JSON object keyed by service or team:
 *   `{ "checkout": { "primary": { "name": "Ana", "contact": "ana@example.com" }, "escalation": { … } },
 *      "payments": { "primary": { … } } }`. A service's own key wins over its team's; without either, the service's
 *   `oncall` tag (its value is the contact). A service none of these name has no entry (not an error).
 *
 * The roster is read at most once per `rosterTtlMs` per container (rotations show within minutes) and never served
 * stale: an unreadable or malformed roster is ToolUnavailable (the agent records a gap). So is a service whose tags
 * the directory could not read when nothing else answers for it: "no owner" is never the result of a failed call.
 * A call stops at its deadline (deadline.ts) with ToolUnavailable naming it.
 */
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import * as z from 'zod';
import { type OnCall, type OnCallEntry, type Ownership, type Person, type ToolScope, ToolUnavailable } from '../ports.ts';
import { type AwsClientSettings, awsClientOptions, budgetOf } from './clients.ts';
import { callDeadline, DeadlineReached } from './deadline.ts';
import { type DirectorySettings, fieldOf, OWNERSHIP_TAGS } from './directory-settings.ts';
import type { ServiceDirectory, ServiceResources } from './resources.ts';
import { serviceDirectory } from './service-directory.ts';

export const ONCALL_TOOL = 'AWS on-call';
export const DEFAULT_ROSTER_TTL_MS = 5 * 60_000;

const PersonSchema = z.object({ name: z.string().trim().min(1, 'must not be empty'), contact: z.string().trim().min(1, 'must not be empty') }).strict();
const RosterEntry = z.object({ primary: PersonSchema, escalation: PersonSchema.optional() }).strict();
const RosterSchema = z.record(z.string().trim().min(1), RosterEntry);
export type Roster = Readonly<Record<string, z.infer<typeof RosterEntry>>>;

/** The roster parameter's value is not a roster: the message names the parameter, key and field. */
export class RosterInvalid extends ToolUnavailable {
  override name = 'RosterInvalid';
  constructor(reason: string) {
    super(ONCALL_TOOL, reason);
  }
}

/** Parses a roster's JSON; RosterInvalid naming `<source>["key"].primary.contact` otherwise. */
export const parseRoster = (json: string, source: string): Roster => {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new RosterInvalid(`${source} must be a JSON object such as {"checkout": {"primary": {"name": "Ana", "contact": "ana@example.com"}}}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new RosterInvalid(`${source} must be a JSON object of service or team → { primary, escalation? }`);
  const parsed = RosterSchema.safeParse(value);
  if (!parsed.success) throw new RosterInvalid(parsed.error.issues.slice(0, 5).map((i) => `${fieldOf(source, i.path)} ${i.code === 'unrecognized_keys' ? `has unknown field(s) ${(i as { keys: string[] }).keys.join(', ')}` : i.message}`).join('; '));
  return parsed.data;
};

export interface AwsOnCallOptions {
  readonly directory: ServiceDirectory;
  /** The roster's SSM parameter (name or ARN); none: on-call only from the `oncall` tag. */
  readonly rosterParameter?: string;
  readonly ssm?: SSMClient;
  readonly client?: AwsClientSettings;
  readonly now?: () => number;
  /** @default 5 minutes */
  readonly rosterTtlMs?: number;
}

export class AwsOnCall implements OnCall {
  readonly #options: AwsOnCallOptions;
  readonly #now: () => number;
  #ssm: SSMClient | undefined;
  #roster: { readonly at: number; readonly value: Promise<Roster> } | undefined;

  constructor(options: AwsOnCallOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  getOwnership(q: ToolScope & { services: readonly string[] }): Promise<Ownership[]> {
    return this.#within(q, 'owners', () => this.#getOwnership(q));
  }

  getOnCall(q: ToolScope & { services: readonly string[] }): Promise<OnCallEntry[]> {
    return this.#within(q, 'on-call', () => this.#getOnCall(q));
  }

  /** The call, or ToolUnavailable at its deadline (the directory's tag read and the roster are shared, and go on). */
  async #within<R>(q: ToolScope & { services: readonly string[] }, what: string, run: () => Promise<R>): Promise<R> {
    const deadline = callDeadline(q, budgetOf(this.#options.client), this.#now);
    try {
      return await deadline.race(run());
    } catch (error) {
      if (error instanceof DeadlineReached) throw new ToolUnavailable(ONCALL_TOOL, `the ${what} of ${q.services.join(', ')} could not be read: ${deadline.reason}`, { cause: error });
      throw error;
    } finally {
      deadline.dispose();
    }
  }

  async #getOwnership(q: ToolScope & { services: readonly string[] }): Promise<Ownership[]> {
    const entries = await this.#options.directory.resolve(q);
    const out: Ownership[] = [];
    const unknown: ServiceResources[] = [];
    for (const e of entries) {
      const team = e.tags[OWNERSHIP_TAGS.team];
      if (!team) {
        if (e.gap) unknown.push(e);
        continue;
      }
      const slack = e.tags[OWNERSHIP_TAGS.slack];
      const runbook = e.tags[OWNERSHIP_TAGS.runbook];
      out.push({ service: e.service, team, ...(slack ? { slackChannel: slack } : {}), ...(runbook ? { runbookUrl: runbook } : {}) });
    }
    if (unknown.length > 0) throw this.#unknown('owner', unknown);
    return out;
  }

  async #getOnCall(q: ToolScope & { services: readonly string[] }): Promise<OnCallEntry[]> {
    const roster = this.#options.rosterParameter ? await this.#readRoster(this.#options.rosterParameter) : {};
    const fromRoster = (service: string, key: string): OnCallEntry | undefined => {
      const r = Object.hasOwn(roster, key) ? roster[key] : undefined;
      return r ? { service, primary: r.primary, ...(r.escalation ? { escalation: r.escalation } : {}) } : undefined;
    };
    const byService = new Map<string, OnCallEntry>();
    for (const s of q.services) {
      const entry = fromRoster(s, s);
      if (entry) byService.set(s, entry);
    }
    const rest = q.services.filter((s) => !byService.has(s));
    const unknown: ServiceResources[] = [];
    if (rest.length > 0) {
      for (const e of await this.#options.directory.resolve({ ...q, services: rest })) {
        const team = e.tags[OWNERSHIP_TAGS.team];
        const oncall = e.tags[OWNERSHIP_TAGS.oncall]?.trim();
        const entry = (team ? fromRoster(e.service, team) : undefined) ?? (oncall ? { service: e.service, primary: tagPerson(oncall) } : undefined);
        if (entry) byService.set(e.service, entry);
        else if (e.gap) unknown.push(e);
      }
    }
    if (unknown.length > 0) throw this.#unknown('on-call', unknown);
    return q.services.flatMap((s) => (byService.has(s) ? [byService.get(s)!] : []));
  }

  #unknown(what: string, entries: readonly ServiceResources[]): ToolUnavailable {
    return new ToolUnavailable(ONCALL_TOOL, `the ${what} of ${entries.map((e) => e.service).join(', ')} cannot be told: ${entries.map((e) => e.gap).join('; ')}`);
  }

  /** The roster, read at most once per TTL; concurrent calls share one read, a failed read is not kept. */
  #readRoster(name: string): Promise<Roster> {
    const now = this.#now();
    const cached = this.#roster;
    if (cached && now - cached.at < (this.#options.rosterTtlMs ?? DEFAULT_ROSTER_TTL_MS)) return cached.value;
    const value = this.#fetchRoster(name);
    const entry = { at: now, value };
    this.#roster = entry;
    value.catch(() => {
      if (this.#roster === entry) this.#roster = undefined;
    });
    return value;
  }

  async #fetchRoster(name: string): Promise<Roster> {
    let json: string | undefined;
    try {
      this.#ssm ??= this.#options.ssm ?? new SSMClient(awsClientOptions(this.#options.client));
      json = (await this.#ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter?.Value;
    } catch (error) {
      const e = error as { name?: string; message?: string };
      if (e?.name === 'ParameterNotFound') throw new ToolUnavailable(ONCALL_TOOL, `the roster parameter ${name} (AWS_ONCALL_ROSTER_PARAMETER) does not exist`, { cause: error });
      throw new ToolUnavailable(ONCALL_TOOL, `the roster parameter ${name} could not be read: ${e?.name ?? 'Error'}: ${(e?.message ?? String(error)).slice(0, 300)}`, { cause: error });
    }
    if (json === undefined) throw new RosterInvalid(`the roster parameter ${name} has no value`);
    return parseRoster(json, `SSM parameter ${name}`);
  }
}

/** The person an `oncall` tag names: its value is the contact (tag values cannot carry "Name <address>"). */
const tagPerson = (value: string): Person => ({ name: value, contact: value });

export interface AwsOnCallSettings {
  readonly directory: DirectorySettings;
  readonly rosterParameter?: string;
  readonly client?: AwsClientSettings;
}

/** What the row's build calls: the on-call adapter over the shared directory. */
export const awsOnCall = (settings: AwsOnCallSettings): AwsOnCall =>
  new AwsOnCall({ directory: serviceDirectory(settings.directory, {}, settings.client ? { client: settings.client } : {}), ...(settings.rosterParameter ? { rosterParameter: settings.rosterParameter } : {}), ...(settings.client ? { client: settings.client } : {}) });
