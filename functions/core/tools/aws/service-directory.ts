/**
 * The service directory of the `aws` adapters: which resources, X-Ray node names and log groups make up a service,
 * and who owns it. Two sources, merged:
 *
 * 1. the service map (`AWS_SERVICE_MAP`, or the SSM parameter `AWS_SERVICE_MAP_PARAMETER` holding the same JSON, read
 *    at most once per `mapTtlMs` per container), which wins where both speak;
 * 2. resource tags, read with the Resource Groups Tagging API (`GetResources` with a TagFilter on the service tag key,
 *    every page through the SDK's paginator): a resource tagged `service=checkout` belongs to `checkout`, and its
 *    other tags (team, oncall, runbook, slack, …) become the service's ownership tags.
 *
 * Defaults: X-Ray node names are the service name; log groups are `/aws/lambda/<function>` for each Lambda function
 * among the resources, unless the map lists the service's `logGroups`.
 *
 * The tag index is read once per agent run (`scope.runId`) and kept for a bounded number of runs and resources, and
 * its read is bounded in time (`readBudgetMs`, 15 s: GetResources pages a large account 100 resources at a time):
 * a read stopped there is a truncated index, as one stopped by the resource bound. Each adapter also waits for the
 * shared read only until its own call's deadline (deadline.ts).
 *
 * Failure is never an empty answer: when a source cannot be read (after the SDK's own retries), each service it
 * could have told about carries a `gap` (ServiceResources.gap) saying what is unknown, and the adapters record it.
 * Only when the failure leaves nothing known about any service asked for does `resolve` throw DirectoryUnavailable
 * (a ToolUnavailable: the agent records a gap). `serviceOf` throws it when the ARN's service cannot be told.
 * `scope.environment` is not used: the directory is the account and region the function runs in.
 */
import { paginateGetResources, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { type PartialGap, ToolUnavailable, type ToolScope } from '../ports.ts';
import { type AwsClientSettings, awsClientOptions, errorReason } from './clients.ts';
import { Deadline, isDeadline } from './deadline.ts';
import { type DirectorySettings, parseServiceMap, type ServiceMap, ServiceMapInvalid } from './directory-settings.ts';
import { type AwsResource, type ParsedArn, parseArn, type ServiceDirectory, type ServiceResources } from './resources.ts';

export const DIRECTORY_TOOL = 'AWS service directory';

/** The directory could not answer at all (every source it needed failed). */
export class DirectoryUnavailable extends ToolUnavailable {
  override name = 'DirectoryUnavailable';
  constructor(reason: string, options?: ErrorOptions) {
    super(DIRECTORY_TOOL, reason, options);
  }
}

export interface DirectoryClients {
  readonly tagging?: ResourceGroupsTaggingAPIClient;
  readonly ssm?: SSMClient;
}

export interface DirectoryOptions {
  /** Client settings for the clients the directory builds itself. */
  readonly client?: AwsClientSettings;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
  /** How long the map read from SSM is reused. @default 5 minutes */
  readonly mapTtlMs?: number;
  /** How long a run's tag index is reused. @default 5 minutes (1 minute for calls without a runId) */
  readonly runTtlMs?: number;
  /** Runs whose tag index is kept. @default 8 */
  readonly maxRuns?: number;
  /** Tagged resources read per index; beyond it, services not yet seen carry a gap. @default 10,000 */
  readonly maxTaggedResources?: number;
  /** How long one read of the tag index may take; beyond it, as beyond `maxTaggedResources`. @default 15000 */
  readonly readBudgetMs?: number;
}

export const DEFAULT_MAP_TTL_MS = 5 * 60_000;
const DEFAULT_RUN_TTL_MS = 5 * 60_000;
const NO_RUN_TTL_MS = 60_000;
/** A failed read is tried again sooner than a good one is refreshed. */
const FAILURE_TTL_MS = 30_000;
const DEFAULT_MAX_RUNS = 8;
const DEFAULT_MAX_TAGGED = 10_000;
export const DEFAULT_TAG_READ_BUDGET_MS = 15_000;
/** GetResources' largest page. */
const PAGE_SIZE = 100;

/** The resources behind tags, for one run. */
interface TagIndex {
  readonly byService: ReadonlyMap<string, readonly AwsResource[]>;
  readonly serviceByArn: ReadonlyMap<string, string>;
  /** Set when a bound stopped the read: a service not in the index may still have tagged resources. */
  readonly truncatedAt?: number;
  /** Which bound (" (stopped after 15000 ms)"), for messages. */
  readonly truncatedBy?: string;
}

/** "only the first 120 tagged resources were read (…)" */
const truncation = (index: TagIndex): string => `only the first ${index.truncatedAt} tagged resources were read${index.truncatedBy ?? ''}`;
type Source<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** A Lambda function's ARN without a version or alias qualifier, so `function:checkout:live` is `function:checkout`. */
const baseArn = (p: ParsedArn): string => {
  if (p.service === 'lambda' && p.resourceType === 'function') {
    const [name] = p.resourceId.split(':');
    return `arn:${p.partition}:lambda:${p.region}:${p.account}:function:${name}`;
  }
  return p.arn;
};
const tryParse = (arn: string): ParsedArn | undefined => {
  try {
    return parseArn(arn);
  } catch {
    return undefined;
  }
};

const reasonOf = (error: unknown): string => {
  if (error instanceof ServiceMapInvalid) return error.message;
  return errorReason(error);
};

/** The default log group of each Lambda function (functions that set their own log group need the map's `logGroups`). */
const lambdaLogGroups = (resources: readonly ParsedArn[]): string[] => resources.filter((r) => r.service === 'lambda' && r.resourceType === 'function').map((r) => `/aws/lambda/${r.resourceId.split(':')[0]}`);

export class AwsServiceDirectory implements ServiceDirectory {
  readonly #settings: DirectorySettings;
  readonly #clients: DirectoryClients;
  readonly #options: DirectoryOptions;
  readonly #now: () => number;
  #tagging: ResourceGroupsTaggingAPIClient | undefined;
  #ssm: SSMClient | undefined;
  /** The map from SSM (container-wide), with when it was read; a failed refresh keeps the last good map. */
  #parameterMap: { readonly at: number; readonly value: Promise<Source<ServiceMap>> } | undefined;
  #lastGoodMap: ServiceMap | undefined;
  /** Tag indexes by run, oldest first (Map keeps insertion order: evict from the front). */
  readonly #runs = new Map<string, { readonly at: number; readonly ttl: number; readonly value: Promise<Source<TagIndex>> }>();
  readonly #mapArnIndex = new WeakMap<ServiceMap, ReadonlyMap<string, string>>();

  constructor(settings: DirectorySettings, clients: DirectoryClients = {}, options: DirectoryOptions = {}) {
    this.#settings = settings;
    this.#clients = clients;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  async resolve(q: ToolScope & { services: readonly string[] }): Promise<ServiceResources[]> {
    const [map, tags] = await Promise.all([this.#map(), this.#tags(q.runId)]);
    const mapValue = map.ok ? map.value : undefined;
    const entries = q.services.map((service) => this.#entry(service, mapValue, map, tags));
    const known = q.services.some((s) => (mapValue && Object.hasOwn(mapValue, s)) || (tags.ok && tags.value.byService.has(s)));
    if (!known && (!map.ok || !tags.ok)) throw new DirectoryUnavailable(`nothing is known about ${q.services.join(', ')}: ${[map, tags].flatMap((s) => (s.ok ? [] : [s.reason])).join('; ')}`);
    return entries;
  }

  async serviceOf(q: ToolScope & { arn: string }): Promise<string | undefined> {
    const parsed = tryParse(q.arn);
    const keys = parsed ? [...new Set([parsed.arn, baseArn(parsed)])] : [q.arn];
    const [map, tags] = await Promise.all([this.#map(), this.#tags(q.runId)]);
    if (map.ok) {
      const index = this.#arnIndex(map.value);
      for (const k of keys) if (index.has(k)) return index.get(k);
    }
    if (tags.ok) for (const k of keys) if (tags.value.serviceByArn.has(k)) return tags.value.serviceByArn.get(k);
    const failures = [map, tags].flatMap((s) => (s.ok ? [] : [s.reason]));
    if (tags.ok && tags.value.truncatedAt !== undefined) failures.push(truncation(tags.value));
    if (failures.length > 0) throw new DirectoryUnavailable(`cannot tell which service ${q.arn} belongs to: ${failures.join('; ')}`);
    return undefined;
  }

  #entry(service: string, mapValue: ServiceMap | undefined, map: Source<ServiceMap>, tags: Source<TagIndex>): ServiceResources {
    const mapped = mapValue && Object.hasOwn(mapValue, service) ? mapValue[service] : undefined;
    const tagged = tags.ok ? (tags.value.byService.get(service) ?? []) : [];
    const taggedByArn = new Map(tagged.map((r) => [r.arn, r]));
    const resources = new Map<string, AwsResource>();
    for (const arn of mapped?.resources ?? []) {
      const r = taggedByArn.get(arn) ?? tryParse(arn);
      if (r) resources.set(r.arn, r);
    }
    for (const r of tagged) if (!resources.has(r.arn)) resources.set(r.arn, r);
    const all = [...resources.values()];
    // Ownership tags: the first value in ARN order wins across resources; the map's own tags win over all.
    const tagsOut: Record<string, string> = {};
    for (const r of [...tagged].sort((a, b) => a.arn.localeCompare(b.arn)))
      for (const [k, v] of Object.entries(r.tags ?? {})) if (!(k in tagsOut) && k !== this.#settings.tagKey && !k.startsWith('aws:')) tagsOut[k] = v;
    Object.assign(tagsOut, mapped?.tags ?? {});
    const xray = mapped?.xray;
    const gaps: string[] = [];
    if (!map.ok) gaps.push(`the service map could not be read (${map.reason})`);
    if (!tags.ok) gaps.push(`resource tags could not be read (${tags.reason})${mapped ? ': answered from the service map only' : ''}`);
    else if (tags.value.truncatedAt !== undefined && tagged.length === 0) gaps.push(`${truncation(tags.value)}, none of them ${service}'s`);
    return {
      service,
      xrayNames: xray === undefined ? [service] : typeof xray === 'string' ? [xray] : [...xray],
      resources: all,
      logGroups: mapped?.logGroups ? [...mapped.logGroups] : [...new Set(lambdaLogGroups(all))],
      tags: tagsOut,
      ...(gaps.length > 0 ? { gap: `${service}: ${gaps.join('; ')}` } : {}),
    };
  }

  #arnIndex(map: ServiceMap): ReadonlyMap<string, string> {
    let index = this.#mapArnIndex.get(map);
    if (!index) {
      const m = new Map<string, string>();
      for (const [service, entry] of Object.entries(map))
        for (const arn of entry.resources ?? []) {
          const p = tryParse(arn);
          if (!m.has(arn)) m.set(arn, service);
          if (p && !m.has(baseArn(p))) m.set(baseArn(p), service);
        }
      index = m;
      this.#mapArnIndex.set(map, index);
    }
    return index;
  }

  /** The service map: inline, or from its SSM parameter (cached; a failed refresh keeps the last good map). */
  async #map(): Promise<Source<ServiceMap>> {
    const name = this.#settings.serviceMapParameter;
    if (!name) return { ok: true, value: this.#settings.serviceMap ?? {} };
    const cached = this.#parameterMap;
    if (cached) {
      const s = await cached.value;
      if (this.#parameterMap !== cached) return this.#parameterMap!.value; // another call refreshed it meanwhile
      if (this.#now() - cached.at < (s.ok ? (this.#options.mapTtlMs ?? DEFAULT_MAP_TTL_MS) : FAILURE_TTL_MS)) return s;
    }
    const now = this.#now();
    const value = this.#readParameterMap(name);
    this.#parameterMap = { at: now, value };
    return value;
  }

  async #readParameterMap(name: string): Promise<Source<ServiceMap>> {
    try {
      this.#ssm ??= this.#clients.ssm ?? new SSMClient(awsClientOptions(this.#options.client));
      const out = await this.#ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      const json = out.Parameter?.Value;
      if (json === undefined) throw new ServiceMapInvalid(`SSM parameter ${name} has no value`);
      const map = parseServiceMap(json, `SSM parameter ${name}`);
      this.#lastGoodMap = map;
      return { ok: true, value: map };
    } catch (error) {
      // A map read before stays good: a service's resources change rarely, and a stale map beats none.
      if (this.#lastGoodMap && !(error instanceof ServiceMapInvalid)) return { ok: true, value: this.#lastGoodMap };
      const e = error as { name?: string };
      return { ok: false, reason: e?.name === 'ParameterNotFound' ? `SSM parameter ${name} (AWS_SERVICE_MAP_PARAMETER) does not exist` : `SSM parameter ${name}: ${reasonOf(error)}` };
    }
  }

  /** The tag index of a run (read once per run; a bounded number of runs kept). */
  #tags(runId: string | undefined): Promise<Source<TagIndex>> {
    const key = runId ?? '';
    const now = this.#now();
    const cached = this.#runs.get(key);
    if (cached && now - cached.at < cached.ttl) return cached.value;
    this.#runs.delete(key);
    const ttl = runId === undefined ? NO_RUN_TTL_MS : (this.#options.runTtlMs ?? DEFAULT_RUN_TTL_MS);
    const value = this.#readTags().then((s) => {
      // A failed read is retried sooner than a good one is refreshed.
      if (!s.ok && this.#runs.get(key)?.value === value) this.#runs.set(key, { at: now, ttl: Math.min(ttl, FAILURE_TTL_MS), value });
      return s;
    });
    this.#runs.set(key, { at: now, ttl, value });
    const max = this.#options.maxRuns ?? DEFAULT_MAX_RUNS;
    for (const k of this.#runs.keys()) {
      if (this.#runs.size <= max) break;
      this.#runs.delete(k);
    }
    return value;
  }

  async #readTags(): Promise<Source<TagIndex>> {
    const tagKey = this.#settings.tagKey;
    const max = this.#options.maxTaggedResources ?? DEFAULT_MAX_TAGGED;
    const byService = new Map<string, AwsResource[]>();
    const serviceByArn = new Map<string, string>();
    let count = 0;
    let pages = 0;
    const budgetMs = this.#options.readBudgetMs ?? DEFAULT_TAG_READ_BUDGET_MS;
    const deadline = new Deadline(this.#now() + budgetMs, `the tag read's ${budgetMs} ms`, this.#now);
    try {
      this.#tagging ??= this.#clients.tagging ?? new ResourceGroupsTaggingAPIClient(awsClientOptions(this.#options.client));
      // A TagFilter with a key and no values: every resource carrying the key, whatever its value.
      for await (const page of deadline.pages(paginateGetResources({ client: this.#tagging, pageSize: PAGE_SIZE, stopOnSameToken: true }, { TagFilters: [{ Key: tagKey }] }, { abortSignal: deadline.signal }))) {
        pages += 1;
        for (const mapping of page.ResourceTagMappingList ?? []) {
          if (count >= max) return { ok: true, value: { byService, serviceByArn, truncatedAt: max } };
          const parsed = mapping.ResourceARN ? tryParse(mapping.ResourceARN) : undefined;
          if (!parsed) continue;
          const tags: Record<string, string> = {};
          for (const t of mapping.Tags ?? []) if (t.Key) tags[t.Key] = t.Value ?? '';
          const service = tags[tagKey]?.trim();
          if (!service) continue;
          count += 1;
          const list = byService.get(service) ?? [];
          list.push({ ...parsed, tags });
          byService.set(service, list);
          serviceByArn.set(parsed.arn, service);
          if (!serviceByArn.has(baseArn(parsed))) serviceByArn.set(baseArn(parsed), service);
        }
        if (count >= max && page.PaginationToken) return { ok: true, value: { byService, serviceByArn, truncatedAt: max } };
      }
      return { ok: true, value: { byService, serviceByArn } };
    } catch (error) {
      // Stopped in time after some pages: what was read is an index, truncated like one the resource bound stopped.
      if (isDeadline(error, deadline) && pages > 0) return { ok: true, value: { byService, serviceByArn, truncatedAt: count, truncatedBy: ` (stopped after ${budgetMs} ms)` } };
      return { ok: false, reason: `tag:GetResources: ${isDeadline(error, deadline) ? `no page within ${budgetMs} ms` : reasonOf(error)}` };
    } finally {
      deadline.dispose();
    }
  }
}

/** Directories built without given clients, by their settings: the aws rows of one function share one (one tag read per run). */
const shared = new Map<string, AwsServiceDirectory>();
const MAX_SHARED = 4;

/**
 * The directory the aws rows' builds call. Without clients (a deployment), rows with the same settings get the same
 * directory, so telemetry, logs, changes and on-call read the tags once per run between them; with clients (tests,
 * the twin) a new one.
 */
export const serviceDirectory = (settings: DirectorySettings, clients: DirectoryClients = {}, options: DirectoryOptions = {}): AwsServiceDirectory => {
  if (clients.tagging || clients.ssm || options.now) return new AwsServiceDirectory(settings, clients, options);
  const key = JSON.stringify([settings, options]);
  let directory = shared.get(key);
  if (!directory) {
    directory = new AwsServiceDirectory(settings, clients, options);
    shared.set(key, directory);
    for (const k of shared.keys()) if (shared.size > MAX_SHARED) shared.delete(k);
  }
  return directory;
};

/** The partial gaps of resolved services, one per service that carries one, under `api` (what the adapter calls the directory). */
export const directoryGaps = (entries: readonly ServiceResources[], api: string = DIRECTORY_TOOL): PartialGap[] =>
  entries.flatMap((e) => (e.gap ? [{ api, service: e.service, reason: e.gap }] : []));
