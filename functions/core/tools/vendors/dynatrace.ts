/**
 * Telemetry port over the Dynatrace Environment API v2.
 *
 * - Metrics: `GET /api/v2/metrics/query?metricSelector=…&entitySelector=…&from=…&to=…&resolution=…`
 *   (token scope `metrics.read`). Our metric names map to Dynatrace metric keys through a table
 *   (`DEFAULT_DYNATRACE_METRICS`, overridable per metric). Service metrics are split by
 *   `dt.entity.service` with `:names`, so each series carries the service's display name; host metrics
 *   (CPU, memory) are read for the hosts a service runs on (`toRelationships.runsOnHost`) and averaged.
 *   Metrics with no built-in Dynatrace equivalent (connection pool, active users, revenue) are absent from
 *   the default table: map them to your custom metric keys with `metrics: { db_pool_active: {...} }`.
 *   A requested metric that has no mapping is left out of the result.
 * - Topology: `GET /api/v2/entities?entitySelector=type(SERVICE),…&fields=fromRelationships.calls,
 *   toRelationships.calls,properties.serviceType,properties.databaseVendor` (scope `entities.read`),
 *   walked in both directions from the given services.
 * - Traces: the Environment API v2 has no distributed-trace search (PurePaths are not exported there;
 *   spans live in Grail and are read with DQL `fetch spans` through the platform query API, which needs a
 *   platform token and an asynchronous query protocol). Rather than answer `[]` — which an agent would
 *   read as "no failing traces" — `getTraces` throws `ToolUnavailable` saying so, and the agent records a
 *   gap.
 *
 * `scope.environment` is used only when `environmentTag` is set: entity selectors then add
 * `tag("<environmentTag>:<environment>")`, so one tenant can serve several environments.
 */
import * as z from 'zod';
import { METRICS, type MetricName, type MetricPoint, type MetricSeries, type ServiceNode, type Telemetry, type ToolScope, ToolUnavailable } from '../ports.ts';
import { type Credential, HttpClient, type RetryPolicy, resolveCredential } from './http.ts';
import { byCodeUnit } from '../../compare.ts';

const VENDOR = 'Dynatrace';

/** How one of our metric names is read from Dynatrace. */
export interface DynatraceMetric {
  /** Metric key, e.g. `builtin:service.response.time`. */
  readonly key: string;
  /** Aggregation transformation applied after the split, e.g. `percentile(99)`, `avg`, `value`. */
  readonly aggregation: string;
  /** The entity the metric belongs to: SERVICE metrics are split per service; HOST metrics are averaged over the service's hosts. */
  readonly entity: 'SERVICE' | 'HOST';
  /** Unit of our series. */
  readonly unit: string;
  /** Dynatrace value → our unit; `resolutionSeconds` is the width of the data point (for counts → rates). */
  readonly convert?: (value: number, resolutionSeconds: number) => number;
}

/**
 * The default mapping. Units: `builtin:service.response.time` is in microseconds; `requestCount.total`
 * is a count per data point (divided by the point's width for requests per second); `errors.total.rate` is
 * already a percentage; `host.mem.used` is in bytes.
 */
export const DEFAULT_DYNATRACE_METRICS: Readonly<Record<string, DynatraceMetric>> = {
  [METRICS.latencyP99]: { key: 'builtin:service.response.time', aggregation: 'percentile(99)', entity: 'SERVICE', unit: 'ms', convert: (us) => us / 1000 },
  [METRICS.errorRate]: { key: 'builtin:service.errors.total.rate', aggregation: 'avg', entity: 'SERVICE', unit: '%' },
  [METRICS.throughput]: { key: 'builtin:service.requestCount.total', aggregation: 'value', entity: 'SERVICE', unit: 'req/s', convert: (count, seconds) => count / seconds },
  [METRICS.cpu]: { key: 'builtin:host.cpu.usage', aggregation: 'avg', entity: 'HOST', unit: '%' },
  [METRICS.memory]: { key: 'builtin:host.mem.used', aggregation: 'avg', entity: 'HOST', unit: 'MB', convert: (bytes) => bytes / (1024 * 1024) },
};

export interface DynatraceOptions extends RetryPolicy {
  /** `https://<env-id>.live.dynatrace.com` (SaaS) or `https://<domain>/e/<env-id>` (Managed). */
  readonly baseUrl: string;
  /** API token with `metrics.read` and `entities.read`. */
  readonly apiToken: Credential;
  readonly fetch?: typeof globalThis.fetch;
  /** Per-metric overrides and additions (merged over the defaults). */
  readonly metrics?: Readonly<Record<string, DynatraceMetric>>;
  /** Tag key that carries the environment (e.g. `environment`); unset → `scope.environment` is ignored. */
  readonly environmentTag?: string;
  /** Upper bound on services a topology walk collects. @default 200 */
  readonly maxTopologyServices?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const MAX_METRICS_PER_QUERY = 10; // documented limit of one metric selector
const ENTITY_PAGE_SIZE = 500;
const IDS_PER_SELECTOR = 40; // keeps entitySelector well under its 2,000-character limit
const DEFAULT_MAX_TOPOLOGY_SERVICES = 200;
const NAME_DIMENSION = 'dt.entity.service.name';

// ───────────── response shapes (only the fields we read; Dynatrace adds more) ─────────────

const MetricData = z.object({
  resolution: z.string().optional(),
  result: z.array(
    z.object({
      metricId: z.string(),
      data: z.array(
        z.object({
          dimensionMap: z.record(z.string(), z.string().nullable()).default({}),
          timestamps: z.array(z.number()),
          values: z.array(z.number().nullable()),
        }),
      ),
    }),
  ),
});

const EntityRef = z.object({ id: z.string(), type: z.string().optional() });
const Entity = z.object({
  entityId: z.string(),
  displayName: z.string(),
  properties: z.record(z.string(), z.unknown()).optional(),
  fromRelationships: z.record(z.string(), z.array(EntityRef)).optional(),
  toRelationships: z.record(z.string(), z.array(EntityRef)).optional(),
});
type Entity = z.infer<typeof Entity>;
const EntityPage = z.object({ entities: z.array(Entity), nextPageKey: z.string().nullish() });

// ───────────── selector helpers ─────────────

/**
 * A quoted selector value. Quoting keeps commas and parentheses in a name from ending the criterion; inside
 * quotes Dynatrace's escape character is the tilde: `"` → `~"`, `~` → `~~`.
 */
export const quoteSelectorValue = (value: string): string => `"${value.replace(/[~"]/g, (c) => `~${c}`)}"`;

/** `1m`, `5m`, `1h` → seconds. */
export const resolutionToSeconds = (resolution: string | undefined, fallback: number): number => {
  const m = /^(\d+)\s*([smhdw])$/.exec(resolution ?? '');
  if (!m) return fallback;
  const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
};

const epochMs = (field: string, iso: string): number => {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new ToolUnavailable(VENDOR, `${field} is not an ISO 8601 time: "${iso}"`);
  return t;
};

const chunks = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

/** Pointwise mean of several series (a name Dynatrace knows twice, or the hosts of one service). */
const meanPoints = (series: readonly MetricPoint[][]): MetricPoint[] => {
  const byTime = new Map<string, { sum: number; n: number }>();
  for (const points of series)
    for (const p of points) {
      const acc = byTime.get(p.t) ?? { sum: 0, n: 0 };
      acc.sum += p.v;
      acc.n += 1;
      byTime.set(p.t, acc);
    }
  return [...byTime.entries()].sort(([a], [b]) => byCodeUnit(a, b)).map(([t, { sum, n }]) => ({ t, v: sum / n }));
};

/** Dynatrace service type → our tier. Entry points (no calling service) are the frontend. */
const tierOf = (entity: Entity, hasServiceCallers: boolean): ServiceNode['tier'] => {
  const type = String(entity.properties?.serviceType ?? '').toUpperCase();
  const vendor = String(entity.properties?.databaseVendor ?? '').toLowerCase();
  if (type === 'DATABASE_SERVICE') return /redis|memcache|hazelcast|ehcache/.test(vendor) ? 'cache' : 'database';
  if (type.includes('MESSAGING') || type.includes('QUEUE')) return 'queue';
  return hasServiceCallers ? 'backend' : 'frontend';
};

const isService = (ref: z.infer<typeof EntityRef>): boolean => (ref.type ? ref.type === 'SERVICE' : ref.id.startsWith('SERVICE-'));

export class DynatraceTelemetry implements Telemetry {
  readonly #http: HttpClient;
  readonly #metrics: Readonly<Record<string, DynatraceMetric>>;
  readonly #environmentTag: string | undefined;
  readonly #maxTopology: number;

  constructor(options: DynatraceOptions) {
    const token = options.apiToken;
    this.#http = new HttpClient({
      ...options,
      vendor: VENDOR,
      auth: async () => ({ authorization: `Api-Token ${await resolveCredential(VENDOR, 'API token', token)}` }),
    });
    this.#metrics = { ...DEFAULT_DYNATRACE_METRICS, ...options.metrics };
    this.#environmentTag = options.environmentTag;
    this.#maxTopology = options.maxTopologyServices ?? DEFAULT_MAX_TOPOLOGY_SERVICES;
  }

  #scopeCriteria(scope: ToolScope): string {
    return this.#environmentTag && scope.environment ? `,tag(${quoteSelectorValue(`${this.#environmentTag}:${scope.environment}`)})` : '';
  }

  async queryMetrics(q: Parameters<Telemetry['queryMetrics']>[0]): Promise<MetricSeries[]> {
    // Per-zone series are not mapped for Dynatrace yet: none, as for a service whose metrics are not split by zone.
    if (q.groupBy?.length) return [];
    const from = epochMs('from', q.from);
    const to = epochMs('to', q.to);
    if (q.services.length === 0) return [];
    const wanted = (q.metrics ?? Object.keys(this.#metrics)).filter((m) => this.#metrics[m] !== undefined);
    const requestedSeconds = Math.max(60, q.resolutionSeconds ?? 60);
    const window = { from: String(from), to: String(to), resolution: `${Math.round(requestedSeconds / 60)}m` };
    const serviceMetrics = wanted.filter((m) => this.#metrics[m].entity === 'SERVICE');
    const hostMetrics = wanted.filter((m) => this.#metrics[m].entity === 'HOST');
    const out: MetricSeries[] = [];

    // Service metrics: one query per ≤10 metrics, all services at once, split per service.
    const names = q.services.map(quoteSelectorValue).join(',');
    for (const group of chunks(serviceMetrics, MAX_METRICS_PER_QUERY)) {
      const selectors = group.map((m) => `${this.#metrics[m].key}:splitBy("dt.entity.service"):${this.#metrics[m].aggregation}:names`);
      const data = await this.#query(selectors, `type(SERVICE),entityName.in(${names})${this.#scopeCriteria(q)}`, window);
      const seconds = resolutionToSeconds(data.resolution, requestedSeconds);
      group.forEach((metric, i) => {
        const collection = data.result[i];
        if (!collection) return;
        for (const service of q.services) {
          const matching = collection.data.filter((d) => d.dimensionMap[NAME_DIMENSION] === service).map((d) => this.#points(metric, d, seconds));
          if (matching.length > 0) out.push({ service, metric, unit: this.#metrics[metric].unit, points: meanPoints(matching) });
        }
      });
    }

    // Host metrics: per service, the hosts it runs on, merged into one series.
    if (hostMetrics.length > 0) {
      for (const service of q.services) {
        const selectors = hostMetrics.map((m) => `${this.#metrics[m].key}:splitBy():${this.#metrics[m].aggregation}`);
        const hosts = `type(HOST),toRelationships.runsOnHost(type(SERVICE),entityName.equals(${quoteSelectorValue(service)})${this.#scopeCriteria(q)})`;
        const data = await this.#query(selectors, hosts, window);
        const seconds = resolutionToSeconds(data.resolution, requestedSeconds);
        hostMetrics.forEach((metric, i) => {
          const series = (data.result[i]?.data ?? []).map((d) => this.#points(metric, d, seconds)).filter((p) => p.length > 0);
          if (series.length > 0) out.push({ service, metric, unit: this.#metrics[metric].unit, points: meanPoints(series) });
        });
      }
    }
    return out;
  }

  async #query(selectors: string[], entitySelector: string, window: { from: string; to: string; resolution: string }) {
    return this.#http.json({ path: '/api/v2/metrics/query', query: { metricSelector: selectors.join(','), entitySelector, ...window } }, MetricData);
  }

  #points(metric: MetricName, d: z.infer<typeof MetricData>['result'][number]['data'][number], seconds: number): MetricPoint[] {
    const convert = this.#metrics[metric].convert ?? ((v: number) => v);
    const points: MetricPoint[] = [];
    d.timestamps.forEach((t, i) => {
      const v = d.values[i];
      // null = no data in that slot: a gap, not a zero.
      if (v !== null && v !== undefined) points.push({ t: new Date(t).toISOString(), v: convert(v, seconds) });
    });
    return points;
  }

  async getTraces(_q: Parameters<Telemetry['getTraces']>[0]): Promise<never> {
    throw new ToolUnavailable(
      VENDOR,
      'traces are not available through the Environment API v2 (no trace search endpoint; spans are queried with DQL in Grail, which this adapter does not use)',
    );
  }

  async getTopology(q: Parameters<Telemetry['getTopology']>[0]): Promise<ServiceNode[]> {
    const fields = 'fromRelationships.calls,toRelationships.calls,properties.serviceType,properties.databaseVendor';
    const scope = this.#scopeCriteria(q);
    const byId = new Map<string, Entity>();
    const add = (entities: Entity[]) => {
      for (const e of entities) if (byId.size < this.#maxTopology || byId.has(e.entityId)) byId.set(e.entityId, e);
    };

    if (!q.services || q.services.length === 0) {
      add(await this.#entities(`type(SERVICE)${scope}`, fields));
    } else {
      add(await this.#entities(`type(SERVICE),entityName.in(${q.services.map(quoteSelectorValue).join(',')})${scope}`, fields));
      // Breadth-first over `calls` in both directions: everything the services reach and everything reaching them.
      let frontier = [...byId.values()];
      while (frontier.length > 0 && byId.size < this.#maxTopology) {
        const next = new Set<string>();
        for (const e of frontier)
          for (const ref of [...(e.fromRelationships?.calls ?? []), ...(e.toRelationships?.calls ?? [])]) if (isService(ref) && !byId.has(ref.id)) next.add(ref.id);
        const before = new Set(byId.keys());
        for (const ids of chunks([...next], IDS_PER_SELECTOR)) add(await this.#entities(`type(SERVICE),entityId(${ids.map(quoteSelectorValue).join(',')})`, fields));
        frontier = [...byId.values()].filter((e) => !before.has(e.entityId));
      }
    }

    const nameOf = (id: string) => byId.get(id)?.displayName;
    return [...byId.values()].map((e) => {
      const callers = (e.toRelationships?.calls ?? []).filter(isService);
      return {
        name: e.displayName,
        tier: tierOf(e, callers.length > 0),
        calls: [...new Set((e.fromRelationships?.calls ?? []).filter(isService).map((r) => nameOf(r.id)).filter((n): n is string => n !== undefined))],
      };
    });
  }

  /** All pages of an entity query (a follow-up page request carries only `nextPageKey`, as the API requires). */
  async #entities(entitySelector: string, fields: string): Promise<Entity[]> {
    const out: Entity[] = [];
    let page = await this.#http.json({ path: '/api/v2/entities', query: { entitySelector, fields, pageSize: ENTITY_PAGE_SIZE } }, EntityPage);
    out.push(...page.entities);
    while (page.nextPageKey && out.length < this.#maxTopology) {
      page = await this.#http.json({ path: '/api/v2/entities', query: { nextPageKey: page.nextPageKey } }, EntityPage);
      out.push(...page.entities);
    }
    return out;
  }
}
