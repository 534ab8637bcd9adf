/**
 * A procedural incident generator: `generateScenario(seed, index)` builds a whole scenario (scenario.ts) from a
 * seed and an index — a random layered topology, healthy baselines, on-call teams, a fault of one family at a
 * random depth, random timings, red herrings and noise — and derives the answer key (`expect`) from the fault it
 * injected. It exists because the hand-written suite scores 100 % for the agents tuned on it while incidents
 * written by others score far less: generated incidents are ones nobody tuned the agents for.
 *
 * Rules that keep it honest:
 * - Nothing here reads the agents or the analysis. The answer key is the generated fault's: the changed service and
 *   the change when a change caused it, otherwise the failing service; the category is the family's mechanism; the
 *   mitigation is what undoes the cause in the world (rollback, config revert, flag toggle, failover, restart, scale).
 * - The alert is chosen from the world itself: the world is simulated with and without the incident, and the alert
 *   goes to the user-facing service when it clearly suffers, otherwise to the service that alarms first. An
 *   incident the world does not show at the alert is redrawn (a new attempt), never kept.
 * - Red herrings are what real incidents have: harmless changes in the same minutes on neighbours, a change after
 *   the onset on the alerting service, a past incident with the same symptom and another cause, benign error lines
 *   that were always there. They never touch the culprit service, and no harmless change moves a metric.
 *
 * Deterministic: every draw is a hash of (seed, index, attempt, draw number) through random.ts, so the same (seed,
 * index) gives the same scenario on every machine. Families are a table (`FAMILIES`): one entry per mechanism, so a
 * mechanism the world learns to express later is one more entry.
 */
import { createWorld } from './world.ts';
import { snapshotAt } from './dynamics.ts';
import { keyPrefix, type KeyPrefix } from './random.ts';
import { parseScenario, type ChangeSpec, type FaultSpec, type LoadSpec, type PastIncidentSpec, type Scenario, type ScenarioInput } from './scenario.ts';
import { type ActionKind, type FaultCategory, isTriggerCategory } from '../model.ts';

// ───────────────────────────── draws ─────────────────────────────

/** A stream of seeded draws: the n-th draw of (seed, index, attempt) is always the same number. */
export class Draw {
  #n = 0;
  readonly #key: KeyPrefix;
  constructor(key: KeyPrefix) {
    this.#key = key;
  }
  u(): number {
    return this.#key.uniform(this.#n++);
  }
  range(a: number, b: number): number {
    return a + (b - a) * this.u();
  }
  int(a: number, b: number): number {
    return a + Math.floor(this.u() * (b - a + 1));
  }
  chance(p: number): boolean {
    return this.u() < p;
  }
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new GeneratorError('pick from an empty list');
    return xs[Math.floor(this.u() * xs.length)] as T;
  }
  shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.u() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }
}

export class GeneratorError extends Error {
  override name = 'GeneratorError';
}

// ───────────────────────────── word lists ─────────────────────────────
// Names the hand-written suite does not use, so nothing a rule learnt from a suite name can fire here.

const NOUNS = [
  'fare', 'itinerary', 'voucher', 'loyalty', 'roster', 'dispatch', 'telemetry', 'quote', 'underwriting', 'subscription',
  'entitlement', 'courier', 'parcel', 'tariff', 'meter', 'warranty', 'rebate', 'routing', 'geofence', 'consent', 'kyc',
  'payroll', 'timesheet', 'appointment', 'prescription', 'settlement', 'remittance', 'escrow', 'auction', 'bid', 'venue',
  'fixture', 'playlist', 'transcode', 'subtitle', 'badge', 'referral', 'coupon', 'wishlist', 'bundle', 'shipment',
  'manifest', 'customs', 'locker', 'fleet', 'driver', 'rider', 'trip', 'quota', 'reward', 'survey', 'consultation',
  'enrollment', 'tuition', 'lesson', 'grade', 'rental', 'lease', 'tenant', 'valuation', 'mortgage', 'premium',
  'beneficiary', 'pension', 'dividend', 'portfolio', 'watchlist', 'messaging', 'presence', 'moderation', 'digest',
  'tracking', 'warehouse', 'picking', 'returns', 'membership', 'donation', 'forecast', 'ingest', 'studio', 'vehicle',
] as const;
const SUFFIX = {
  frontend: ['web', 'bff', 'portal', 'app', 'edge'],
  backend: ['svc', 'service', 'api', 'engine', 'core', 'manager'],
  database: ['pg', 'db', 'mysql', 'aurora', 'mongo'],
  cache: ['redis', 'memcached', 'valkey'],
  queue: ['events', 'stream', 'topic'],
  job: ['export', 'etl', 'reindex', 'reconcile', 'backfill', 'rollup'],
} as const;
const VENDORS = [
  'stripe-api', 'braintree-gw', 'mapbox-api', 'onfido-kyc', 'avalara-tax', 'plaid-link', 'mailgun-api', 'vonage-sms',
  'checkr-api', 'fedex-rates', 'okta-idp', 'sift-fraud', 'shippo-api', 'docusign-api', 'auth0-idp', 'algolia-api',
  'cloudinary-api', 'here-geocoder', 'persona-kyc', 'taxjar-api', 'easypost-api', 'sinch-sms', 'postmark-api', 'wise-payouts',
] as const;
const FIRST = ['Amara', 'Bjorn', 'Chiara', 'Dev', 'Elif', 'Farid', 'Greta', 'Hiro', 'Ines', 'Jonas', 'Kemi', 'Luca', 'Mei', 'Nadia', 'Oskar', 'Paulo', 'Quinn', 'Rhea', 'Sven', 'Tariq', 'Uma', 'Viktor', 'Wen', 'Yara', 'Zeno'];
const LAST = ['Abara', 'Berglund', 'Costa', 'Dubois', 'Eriksen', 'Fontaine', 'Gupta', 'Haddad', 'Ivanova', 'Jensen', 'Kowalski', 'Lindqvist', 'Moreau', 'Nakamura', 'Oyelaran', 'Petrov', 'Quispe', 'Rahman', 'Sato', 'Tanaka', 'Varga', 'Weber', 'Yilmaz', 'Zhou'];
const TEAM_WORDS = ['Platform', 'Squad', 'Team', 'Core', 'Services', 'Guild'];

// ───────────────────────────── topology ─────────────────────────────

type Tier = 'frontend' | 'backend' | 'database' | 'cache' | 'external' | 'queue' | 'job';

/** A service while the scenario is being built (plain data; becomes a ServiceSpec). */
interface Svc {
  name: string;
  tier: Tier;
  calls: string[];
  /** Hops from the nearest frontend. */
  depth: number;
  baseline: { latency_p99_ms: number; error_rate_pct: number; throughput_rps: number; cpu_pct: number; memory_mb: number; db_pool_active?: number; db_pool_max?: number; latency_p50_ms?: number; latency_p95_ms?: number };
  activeUsers?: number;
  revenuePerMinute?: number;
  memoryLimitMb?: number;
  poolTimeoutMs?: number;
  replicas: number;
  poolTarget?: string;
  cache?: { store: string; backing: string; hitRatioPct: number };
  disk?: { capacityGb: number; usedPct: number };
  fileDescriptors?: { limit: number; open: number };
  quota?: { name: string; limitRps: number };
  certificates?: { subject: string; notAfter: number }[];
  /** Availability zones (a zonal impairment's service). */
  zones?: string[];
  /** A queue's asynchronous consumer; a job's runs. */
  consumer?: { service: string; ratePerReplica?: number };
  schedule?: { startsAt: number; everyMinutes?: number; durationMinutes: number };
  team: string;
  oncall: { primary: { name: string; contact: string }; escalation?: { name: string; contact: string }; slack: string };
  runbookUrl?: string;
  sloTargetPct: number;
}

class Topology {
  readonly services: Svc[] = [];
  readonly #used = new Set<string>();
  readonly #nouns: string[];
  readonly #vendors: string[];
  readonly #teams: { team: string; oncall: Svc['oncall'] }[] = [];
  readonly zone: string;
  readonly d: Draw;
  constructor(d: Draw) {
    this.d = d;
    this.#nouns = d.shuffle(NOUNS);
    this.#vendors = d.shuffle(VENDORS);
    this.zone = `${d.pick(['svc', 'internal', 'prod'])}.${d.pick(['acme', 'northwind', 'globex', 'initech', 'umbra', 'vandelay'])}.${d.pick(['net', 'io', 'cloud'])}`;
  }
  get(name: string): Svc {
    const s = this.services.find((x) => x.name === name);
    if (!s) throw new GeneratorError(`no service ${name}`);
    return s;
  }
  callers(name: string): Svc[] {
    return this.services.filter((s) => s.calls.includes(name));
  }
  byTier(tier: Tier): Svc[] {
    return this.services.filter((s) => s.tier === tier);
  }
  #name(tier: Tier, noun?: string): string {
    if (tier === 'external') {
      const v = this.#vendors.find((x) => !this.#used.has(x)) ?? `vendor-${this.#used.size}-api`;
      this.#used.add(v);
      return v;
    }
    for (let k = 0; k < 40; k++) {
      const n = noun ?? this.#nouns[(this.#used.size + k) % this.#nouns.length];
      const name = `${n}-${this.d.pick(SUFFIX[tier])}`;
      if (!this.#used.has(name)) {
        this.#used.add(name);
        return name;
      }
    }
    const name = `${tier}-${this.#used.size}`;
    this.#used.add(name);
    return name;
  }
  #team(): { team: string; oncall: Svc['oncall'] } {
    // Teams own several services: reuse one half of the time.
    if (this.#teams.length > 0 && this.d.chance(0.5)) return this.d.pick(this.#teams);
    const person = () => {
      const first = this.d.pick(FIRST);
      const last = this.d.pick(LAST);
      return { name: `${first} ${last}`, contact: `@${first.toLowerCase()}.${last.toLowerCase()}` };
    };
    const noun = this.#nouns[(this.#teams.length * 7 + 3) % this.#nouns.length] as string;
    const team = `${noun[0]?.toUpperCase()}${noun.slice(1)} ${this.d.pick(TEAM_WORDS)}`;
    const primary = person();
    const manager = person();
    const t = { team, oncall: { primary, ...(this.d.chance(0.7) ? { escalation: { name: `${manager.name} (Eng Mgr)`, contact: manager.contact } } : {}), slack: `#${noun}-${this.d.pick(['oncall', 'incidents', 'alerts'])}` } };
    this.#teams.push(t);
    return t;
  }
  add(tier: Tier, depth: number, noun?: string): Svc {
    const d = this.d;
    const { team, oncall } = this.#team();
    const r = (a: number, b: number, digits = 0) => Math.round(d.range(a, b) * 10 ** digits) / 10 ** digits;
    const baseline: Svc['baseline'] = {
      frontend: () => ({ latency_p99_ms: r(220, 750), error_rate_pct: r(0.05, 0.3, 2), throughput_rps: r(150, 2200), cpu_pct: r(18, 40), memory_mb: r(380, 820) }),
      backend: () => ({ latency_p99_ms: r(30, 400), error_rate_pct: r(0.02, 0.3, 2), throughput_rps: 1, cpu_pct: r(15, 42), memory_mb: r(400, 1800) }),
      database: () => ({ latency_p99_ms: r(3, 18, 1), error_rate_pct: 0.01, throughput_rps: 1, cpu_pct: r(15, 42), memory_mb: d.pick([4096, 8192, 16384, 32768, 65536]) }),
      cache: () => ({ latency_p99_ms: r(0.8, 2.5, 1), error_rate_pct: 0, throughput_rps: 1, cpu_pct: r(10, 25), memory_mb: d.pick([2048, 4096, 8192, 12288]) }),
      external: () => ({ latency_p99_ms: r(120, 1200), error_rate_pct: r(0.05, 0.5, 2), throughput_rps: 1, cpu_pct: 0, memory_mb: 0 }),
      queue: () => ({ latency_p99_ms: r(2, 6, 1), error_rate_pct: 0, throughput_rps: 1, cpu_pct: r(10, 20), memory_mb: d.pick([2048, 3072, 4096]) }),
      job: () => ({ latency_p99_ms: r(200, 2000), error_rate_pct: r(0.01, 0.1, 2), throughput_rps: 1, cpu_pct: r(40, 80), memory_mb: r(1024, 4096) }),
    }[tier]();
    const s: Svc = {
      name: this.#name(tier, noun),
      tier,
      calls: [],
      depth,
      baseline,
      replicas: tier === 'external' ? 1 : tier === 'frontend' ? d.int(4, 12) : tier === 'database' || tier === 'cache' ? d.int(2, 3) : tier === 'job' ? d.int(1, 4) : d.int(2, 8),
      team,
      oncall,
      sloTargetPct: d.pick([99.5, 99.9, 99.9, 99.95]),
    };
    if (tier === 'frontend') {
      s.activeUsers = Math.round(baseline.throughput_rps * d.range(15, 60));
      s.revenuePerMinute = d.chance(0.8) ? Math.round(baseline.throughput_rps * d.range(2, 15)) : 0;
    }
    if ((tier === 'frontend' || tier === 'backend') && d.chance(0.6)) s.runbookUrl = `https://runbooks.${this.zone}/${s.name}`;
    this.services.push(s);
    this.#used.add(s.name);
    return s;
  }
}

/** What a family needs of the topology (`buildTopology` makes sure the drawn one has it). */
interface Needs {
  /** At least this many backend layers under the frontend. */
  readonly layers?: number;
  readonly minServices?: number;
}

/**
 * A layered topology: 1–2 frontends → 1–4 layers of backends → leaves (databases, caches, third parties, queues).
 * Sizes run 4–27 before a family adds what it needs (at most 30 in all).
 */
const buildTopology = (d: Draw, needs: Needs): Topology => {
  const t = new Topology(d);
  const n = Math.max(needs.minServices ?? 4, 4 + Math.floor(23 * d.u() ** 1.6));
  const frontends = n >= 10 && d.chance(0.3) ? 2 : 1;
  const backends = Math.max(1, Math.round(n * d.range(0.35, 0.5)));
  const layers = Math.max(needs.layers ?? 1, Math.min(4, backends, 1 + Math.floor(d.u() * Math.min(4, Math.ceil(backends / 2)))));
  const fronts = Array.from({ length: frontends }, () => t.add('frontend', 0));
  const byLayer: Svc[][] = Array.from({ length: layers }, () => []);
  for (let k = 0; k < Math.max(backends, layers); k++) {
    const layer = k < layers ? k : d.int(0, layers - 1);
    byLayer[layer]?.push(t.add('backend', layer + 1));
  }
  // Every service of a layer has a caller in the layer above; each caller calls 1–3 of the next layer.
  const connect = (callers: Svc[], callees: Svc[]) => {
    for (const c of callees) d.pick(callers).calls.push(c.name);
    for (const c of callers) {
      const extra = d.int(0, 2);
      for (let k = 0; k < extra; k++) {
        const callee = d.pick(callees);
        if (!c.calls.includes(callee.name)) c.calls.push(callee.name);
      }
    }
  };
  connect(fronts, byLayer[0] as Svc[]);
  for (let l = 1; l < layers; l++) connect(byLayer[l - 1] as Svc[], byLayer[l] as Svc[]);
  // Leaves on the backends: databases (sometimes shared), caches, third parties, queues.
  const allBackends = byLayer.flat();
  const leaves = Math.max(1, n - frontends - allBackends.length);
  for (let k = 0; k < leaves; k++) {
    const owner = k < allBackends.length ? (allBackends[allBackends.length - 1 - k] as Svc) : d.pick(allBackends);
    const roll = d.u();
    const tier: Tier = roll < 0.45 ? 'database' : roll < 0.65 ? 'cache' : roll < 0.85 ? 'external' : 'queue';
    if (tier === 'database' && owner.calls.some((c) => t.get(c).tier === 'database')) {
      // One database per owner; another backend may share it.
      const other = d.pick(allBackends);
      const db = owner.calls.find((c) => t.get(c).tier === 'database') as string;
      if (other !== owner && !other.calls.includes(db) && !other.calls.some((c) => t.get(c).tier === 'database')) {
        other.calls.push(db);
        continue;
      }
    }
    const leaf = t.add(tier, owner.depth + 1, tier === 'database' || tier === 'cache' ? owner.name.replace(/-[a-z]+$/, '') : undefined);
    owner.calls.push(leaf.name);
  }
  for (const b of allBackends) decorate(t, b);
  return t;
};

/** A backend's pool, memory limit and read-through cache, drawn from what it calls. */
const decorate = (t: Topology, b: Svc): void => {
  const d = t.d;
  const db = b.calls.find((c) => t.get(c).tier === 'database');
  const cache = b.calls.find((c) => t.get(c).tier === 'cache');
  if (db && b.baseline.db_pool_max === undefined && d.chance(0.75)) addPool(t, b, db, d.chance(0.6));
  if (b.memoryLimitMb === undefined && d.chance(0.6)) b.memoryLimitMb = Math.ceil((b.baseline.memory_mb * d.range(2, 3.5)) / 256) * 256;
  if (db && cache && !b.cache && d.chance(0.6)) b.cache = { store: cache, backing: db, hitRatioPct: Math.round(d.range(85, 97)) };
};

const addPool = (t: Topology, b: Svc, db: string, target: boolean): void => {
  const d = t.d;
  b.baseline.db_pool_active = d.int(3, 9);
  b.baseline.db_pool_max = d.pick([20, 25, 30, 40, 50]);
  if (d.chance(0.3)) b.poolTimeoutMs = d.pick([5000, 10000, 20000]);
  if (target) b.poolTarget = db;
};

/** Callers before callees. */
const topoOrder = (t: Topology): Svc[] => {
  const out: Svc[] = [];
  const seen = new Set<string>();
  const visit = (s: Svc) => {
    if (seen.has(s.name)) return;
    seen.add(s.name);
    for (const c of t.callers(s.name)) visit(c);
    out.push(s);
  };
  for (const s of t.services) visit(s);
  return out;
};

/**
 * Throughput flows down the call graph (each edge carries a share of its caller's requests, a database several
 * queries per request) and latency builds up from the callees (a caller's p99 covers its slowest callee).
 */
const settleBaselines = (t: Topology): void => {
  const d = t.d;
  for (const s of topoOrder(t)) {
    const callers = t.callers(s.name);
    if (callers.length === 0) continue;
    const perRequest = s.tier === 'database' ? d.range(1.5, 4) : s.tier === 'cache' ? d.range(1.5, 3) : d.range(0.3, 1.2);
    s.baseline.throughput_rps = Math.max(1, Math.round(callers.reduce((sum, c) => sum + c.baseline.throughput_rps, 0) * perRequest));
  }
  for (const s of [...topoOrder(t)].reverse()) {
    const slowest = Math.max(0, ...s.calls.map((c) => t.get(c).baseline.latency_p99_ms));
    if (s.tier === 'frontend' || s.tier === 'backend') s.baseline.latency_p99_ms = Math.round(Math.max(s.baseline.latency_p99_ms, slowest * d.range(1.1, 1.4) + d.range(10, 80)));
  }
};

/** Services on some call path from a frontend down to `name`, nearest the frontend first, `name` excluded. */
const upstream = (t: Topology, name: string): Svc[] => {
  const out = new Map<string, Svc>();
  const walk = (n: string) => {
    for (const c of t.callers(n)) {
      if (out.has(c.name)) continue;
      out.set(c.name, c);
      walk(c.name);
    }
  };
  walk(name);
  return [...out.values()].sort((a, b) => a.depth - b.depth);
};

// ───────────────────────────── changes ─────────────────────────────

export interface IdStyle {
  readonly deploy: () => string;
  readonly flag: () => string;
}

/** `make` redrawn until it gives an id not in `used` (which then holds it too). */
export const uniqueIds =
  (used: Set<string>) =>
  (make: () => string) =>
  (): string => {
    for (;;) {
      const id = make();
      if (!used.has(id)) {
        used.add(id);
        return id;
      }
    }
  };

const idStyle = (d: Draw): IdStyle => {
  const unique = uniqueIds(new Set<string>());
  const style = d.int(0, 3);
  const deploy = unique(
    [() => `CHG${String(d.int(1000000, 9999999))}`, () => `CR${d.int(1000, 9999)}`, () => `REL-${d.int(100, 9999)}`, () => `CHG-${d.int(10000, 99999)}`][style] as () => string,
  );
  return { deploy, flag: unique(() => `FF-${d.int(100, 9999)}`) };
};

const version = (d: Draw): { from: string; to: string } => {
  const major = d.int(1, 14);
  const minor = d.int(0, 40);
  const patch = d.int(0, 12);
  return d.chance(0.6) ? { from: `v${major}.${minor}.${patch}`, to: `v${major}.${minor}.${patch + 1}` } : { from: `v${major}.${minor}.${patch}`, to: `v${major}.${minor + 1}.0` };
};

const short = (name: string) => name.replace(/-(svc|service|api|engine|core|manager|web|bff|portal|app|edge|pg|db|mysql|aurora|mongo|redis|memcached|valkey|events|stream|topic|gw|idp|kyc|sms|tax|rates|link|fraud|geocoder|payouts)$/, '');

const person = (d: Draw) => `${d.pick(FIRST).toLowerCase()}.${d.pick(LAST).toLowerCase()}`;

/** A deploy (what a harmful one says reads as harmless as any other: real change records do). */
export const deployChange = (d: Draw, ids: IdStyle, service: string, at: number, title?: string): ChangeSpec => {
  const v = version(d);
  const what = title ?? d.pick(DEPLOY_TITLES)(short(service));
  return { id: ids.deploy(), service, type: 'deploy', title: what, description: `Ships ${v.to} of ${service}: ${what.toLowerCase()}.`, deployedAt: at, version: v, rollbackPlan: `Redeploy ${v.from} through the pipeline`, author: person(d) };
};

const DEPLOY_TITLES: readonly ((s: string) => string)[] = [
  (s) => `${s}: refactor request validation`,
  (s) => `${s}: bump HTTP client and JSON libraries`,
  (s) => `${s}: new response fields for the mobile app`,
  (s) => `${s}: move reads to the new repository layer`,
  (s) => `${s}: upgrade base image and runtime`,
  (s) => `${s}: batch lookups and tidy error handling`,
  (s) => `${s}: add audit fields to the ${s} model`,
  (s) => `${s}: performance improvements in the list endpoint`,
  (s) => `${s}: observability — more spans and log context`,
];

export const configChange = (d: Draw, ids: IdStyle, service: string, at: number, param: string, old: string, now: string, why: string): ChangeSpec => ({
  id: ids.deploy(),
  service,
  type: 'config',
  title: `Set ${param} to ${now} on ${service}`,
  description: `${why} Changes ${param} from ${old} to ${now}.`,
  deployedAt: at,
  configChange: { param, old, new: now },
  rollbackPlan: `Set ${param} back to ${old} and roll the pods`,
  author: person(d),
});

const flagChange = (d: Draw, ids: IdStyle, service: string, at: number, param: string, old: string, now: string): ChangeSpec => ({
  id: ids.flag(),
  service,
  type: 'feature-flag',
  title: `Roll out ${param} to ${now}`,
  description: `Moves the ${param} flag from ${old} to ${now}.`,
  deployedAt: at,
  configChange: { param, old, new: now },
  rollbackPlan: `Set ${param} back to ${old} in the flag console`,
  author: person(d),
});

export const infraChange = (d: Draw, ids: IdStyle, service: string, at: number, title: string, description: string): ChangeSpec => ({
  id: ids.deploy(),
  service,
  type: 'infrastructure',
  title,
  description,
  deployedAt: at,
  rollbackPlan: `Revert the Terraform change for ${service} and re-apply`,
  author: person(d),
});

/** A harmless change of any type (a red herring): nothing in the world follows from it. */
const harmlessChange = (d: Draw, ids: IdStyle, s: Svc, at: number): ChangeSpec => {
  const n = short(s.name);
  const roll = d.u();
  if (s.tier === 'database' || s.tier === 'cache' || s.tier === 'queue') {
    const [param, old, now] = d.pick<readonly [string, string, string]>(
      s.tier === 'database'
        ? ([['log_min_duration_statement', '1000', '500'], ['autovacuum_naptime', '60', '30'], ['idle_in_transaction_session_timeout', '0', '600000']] as const)
        : s.tier === 'cache'
          ? ([['maxmemory-samples', '5', '10'], ['slowlog-log-slower-than', '10000', '5000']] as const)
          : ([['log.retention.hours', '168', '72'], ['num.io.threads', '8', '12']] as const),
    );
    return roll < 0.5
      ? configChange(d, ids, s.name, at, param, old, now, 'Routine tuning from the weekly review.')
      : infraChange(d, ids, s.name, at, `Apply minor engine patch to ${s.name}`, `Rolling minor-version patch of ${s.name} (replicas first, then a failover).`);
  }
  if (roll < 0.45) return deployChange(d, ids, s.name, at);
  if (roll < 0.75) {
    const [param, old, now] = d.pick([
      [`${n}.log-level`, 'INFO', 'DEBUG'],
      [`${n}.metrics.export-interval-s`, '60', '30'],
      [`${n}.banner.text`, '"spring"', '"summer"'],
      [`${n}.http.keepalive-s`, '60', '75'],
      [`${n}.cors.allowed-origins`, 'app', 'app,partners'],
      [`${n}.retry.jitter-ms`, '50', '100'],
    ] as const);
    return configChange(d, ids, s.name, at, param, old, now, 'Housekeeping.');
  }
  if (roll < 0.9) return flagChange(d, ids, s.name, at, `${n}.${d.pick(['new-onboarding', 'dark-mode', 'search-suggestions', 'promo-banner', 'faster-thumbnails'])}`, d.pick(['off', 'internal']), d.pick(['10pct', '50pct', 'all']));
  return infraChange(d, ids, s.name, at, `Node pool AMI update for ${s.name}`, `Rotates the ${s.name} nodes onto the patched AMI (rolling, one node at a time).`);
};

// ───────────────────────────── families ─────────────────────────────

/** What a family hands back: the incident itself. The answer key is derived from it (`answerKey`). */
interface Incident {
  readonly faults: FaultSpec[];
  readonly changes: ChangeSpec[];
  /** Traffic that is part of the incident (a surge); the healthy twin leaves it out. */
  readonly load: LoadSpec[];
  /** The fault whose cause is the answer (`faults[primary]`); undefined for a capacity incident with no fault. */
  readonly primary?: number;
  /** A capacity incident without a fault: the service that runs out of headroom (or the job that takes it). */
  readonly saturated?: string;
  /** The service whose scale-out mitigates a capacity incident, when not `saturated` (a job's contended database). */
  readonly scaleTarget?: string;
  readonly category: FaultCategory | null;
  /** The failover a dependency outage is fixed by: which caller fails over. */
  readonly failoverFrom?: string;
  /** When the incident begins (scenario minutes). */
  readonly onset: number;
  /** Services the herrings must leave alone (the culprit and where its fault sits). */
  readonly involved: readonly string[];
  /** What fixes it when that is not undoing the causing change (a rotated credential: restart the caller). */
  readonly mitigation?: Scenario['expect']['mitigation'];
}

interface FamilyContext {
  readonly d: Draw;
  readonly t: Topology;
  readonly ids: IdStyle;
  /** Minutes before the alert that the symptoms should become visible. */
  readonly visibleAt: number;
}

interface Family {
  readonly name: string;
  /** A mechanism the hand-written suite has no scenario for. */
  readonly novel: boolean;
  readonly description: string;
  readonly needs?: Needs;
  readonly build: (c: FamilyContext) => Incident;
}

const backends = (t: Topology) => t.byTier('backend');

/** Makes sure `b` has a database callee and a pool (adding a database when it has none). */
const ensurePool = (t: Topology, b: Svc, target?: boolean): string => {
  let db = b.calls.find((c) => t.get(c).tier === 'database');
  if (!db) {
    const leaf = t.add('database', b.depth + 1, short(b.name));
    leaf.baseline.throughput_rps = Math.round(b.baseline.throughput_rps * 2);
    b.calls.push(leaf.name);
    db = leaf.name;
  }
  if (b.baseline.db_pool_max === undefined) addPool(t, b, db, target ?? t.d.chance(0.6));
  if (target && !b.poolTarget) b.poolTarget = db;
  return db;
};

const ensureMemoryLimit = (t: Topology, b: Svc): number => {
  b.memoryLimitMb ??= Math.ceil((b.baseline.memory_mb * t.d.range(2, 3.5)) / 256) * 256;
  return b.memoryLimitMb;
};

/** A backend with at least one caller that is a backend (a service deeper than the first layer), else any backend. */
const deepBackend = (c: FamilyContext, minDepth = 2): Svc => {
  const deep = backends(c.t).filter((b) => b.depth >= minDepth);
  return c.d.pick(deep.length > 0 ? deep : backends(c.t));
};

const onsetDraw = (c: FamilyContext, ramp: number) => c.visibleAt - ramp - c.d.int(0, 3);

const EXCEPTIONS = [
  (s: string) => `NullPointerException: Cannot invoke "${capital(short(s))}Dto.getId()" because "dto" is null`,
  (s: string) => `IllegalArgumentException: No enum constant ${capital(short(s))}Status.PENDING_REVIEW`,
  (s: string) => `TypeError: Cannot read properties of undefined (reading '${short(s)}Id')`,
  (s: string) => `ClassCastException: class java.lang.String cannot be cast to class java.lang.Long (${short(s)}.ref)`,
  (s: string) => `KeyError: '${short(s)}_region' in serializer`,
  (s: string) => `ArrayIndexOutOfBoundsException: Index 3 out of bounds for length 3 (${capital(short(s))}Mapper)`,
];
const capital = (s: string) => s.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());

/**
 * When a bad deploy's fault starts and the deploy that caused it: a given deploy time (a family that places the
 * deploy itself) bounds the onset from below; without one, the deploy lands 0–2 minutes before the onset.
 */
const deployOnset = (c: FamilyContext, s: Svc, ramp: number, deployAt: number | undefined): { onset: number; change: ChangeSpec } => {
  const onset = deployAt !== undefined ? Math.max(deployAt, onsetDraw(c, ramp)) : onsetDraw(c, ramp);
  return { onset, change: deployChange(c.d, c.ids, s.name, deployAt ?? onset - c.d.int(0, 2)) };
};

/** A bad deploy that makes the service throw on part of its requests. */
const badDeployErrors = (c: FamilyContext, s: Svc, deployAt?: number): Incident => {
  const { d } = c;
  const ramp = d.int(0, 4);
  const { onset, change } = deployOnset(c, s, ramp, deployAt);
  return {
    faults: [exceptionAfterDeployFault(d, s.name, onset, ramp, change.id)],
    changes: [change], load: [], primary: 0, category: 'bad-deploy', onset, involved: [s.name],
  };
};

// The shapes of the families' faults (their kinds, effects, logs and errors, each size drawn from `d`), shared with
// live fault injection (world/presets.ts), which adds them to a running world at its current minute.

/** A deploy makes `service` throw on part of its requests (`exception-after-deploy`); rolling back `causedBy` fixes it. */
export const exceptionAfterDeployFault = (d: Draw, service: string, startsAt: number, rampMinutes: number, causedBy: string): FaultSpec => {
  const error = d.pick(EXCEPTIONS)(service);
  return {
    service, startsAt, rampMinutes, causedBy, kind: 'exception-after-deploy',
    effects: { error_rate_pct: { add: Math.round(d.range(6, 45)) }, latency_p99_ms: { factor: round2(d.range(1.05, 1.3)) } },
    propagation: { latency: 0.85, errors: round2(d.range(0.7, 0.95)) },
    logs: [{ level: 'ERROR', template: `request {uuid} failed: ${error}`, perFailedRequest: round3(d.range(0.002, 0.01)) }],
    spanError: error, fixedBy: [], failsAt: 'server', callVolume: {},
  };
};

/** A deploy makes a hot path of `s` several times slower (`slow-code-path`); pool demand follows when it has a pool. */
export const slowCodePathFault = (d: Draw, s: { readonly name: string; readonly baseline: { readonly latency_p99_ms: number; readonly db_pool_max?: number } }, startsAt: number, rampMinutes: number, causedBy: string): FaultSpec => {
  const timeout = d.pick([2000, 3000, 5000]);
  const effects: FaultSpec['effects'] = { latency_p99_ms: { factor: round2(d.range(3, 12)) }, cpu_pct: { factor: round2(d.range(1.1, 1.4)) }, error_rate_pct: { add: round2(d.range(0.5, 3)) } };
  if (s.baseline.db_pool_max !== undefined) effects.db_pool_active = { factor: round2(d.range(1.5, 3)) };
  return {
    service: s.name, startsAt, rampMinutes, causedBy, kind: 'slow-code-path',
    effects,
    logs: [{ level: 'WARN', template: `slow request {op} took {int:${timeout}-${timeout * 4}}ms (budget ${Math.round(s.baseline.latency_p99_ms)}ms) requestId={uuid}`, ratePerMinute: round2(d.range(2, 12)) }],
    spanError: `TimeoutException: request exceeded ${timeout}ms`, fixedBy: [], failsAt: 'server', callVolume: {},
  };
};

/** A change to database `service` makes every query slower (`database-slowdown`); `storage`: throttled I/O (CPU falls) rather than a costlier engine. */
export const databaseSlowdownFault = (d: Draw, service: string, startsAt: number, rampMinutes: number, causedBy: string, storage: boolean): FaultSpec => ({
  service, startsAt, rampMinutes, causedBy, kind: 'database-slowdown',
  effects: { latency_p99_ms: { factor: round2(d.range(5, 40)) }, cpu_pct: { factor: storage ? 0.8 : round2(d.range(1.3, 2)) }, error_rate_pct: { add: round2(d.range(0.1, 1)) } },
  propagation: { latency: 0.9, errors: 0.8 },
  logs: [{ level: 'WARN', template: 'duration: {int:800-9000}.{int:100-999} ms  statement: {pick:SELECT|UPDATE|INSERT} ... ({int:1-500} rows)', ratePerMinute: round2(d.range(3, 12)) }],
  spanError: 'ERROR: canceling statement due to statement timeout', fixedBy: [], failsAt: 'server', callVolume: {},
});

/** A deploy of `service` leaks `perMinute` MiB a minute (`memory-leak`); `limit` (MiB) is what its GC logs show as the heap. */
export const memoryLeakFault = (d: Draw, service: string, startsAt: number, causedBy: string, perMinute: number, limit: number): FaultSpec => {
  const runtime = d.pick(['jvm', 'node'] as const);
  return {
    service, startsAt, rampMinutes: 1, causedBy, kind: 'memory-leak',
    effects: { memory_mb: { perMinute } },
    logs: runtime === 'jvm'
      ? [{ level: 'WARN', template: `[gc] Pause Full (G1 Evacuation Pause) {int:${Math.round(limit * 0.8)}-${limit}}M->{int:${Math.round(limit * 0.75)}-${Math.round(limit * 0.95)}}M({int:${limit}-${limit}}M) {int:300-2400}.{int:100-999}ms`, ratePerMinute: 0.6 }]
      : [{ level: 'WARN', template: `<--- Last few GCs ---> Mark-Compact {int:${Math.round(limit * 0.8)}-${limit}}.{int:1-9} -> {int:${Math.round(limit * 0.75)}-${limit}}.{int:1-9} MB, {int:300-1900} ms: allocation failure`, ratePerMinute: 0.5 }],
    spanError: `TimeoutException: request timed out after ${d.pick([2000, 3000, 5000])}ms (GC pause)`, fixedBy: [], failsAt: 'server', callVolume: {},
  };
};

/** What a failing third party answers (an outage's span error). */
export const OUTAGE_STATUSES = ['HTTP 503 Service Unavailable', 'HTTP 502 Bad Gateway', 'HTTP 500 Internal Server Error', 'HTTP 429 Too Many Requests'] as const;

/** Dependency `service` fails and slows (`third-party-outage`), no change of ours: a failover away from it fixes it. */
export const thirdPartyOutageFault = (d: Draw, service: string, startsAt: number, rampMinutes: number, status: string): FaultSpec => ({
  service, startsAt, rampMinutes, kind: 'third-party-outage',
  effects: { error_rate_pct: { add: Math.round(d.range(25, 80)) }, latency_p99_ms: { factor: round2(d.range(2, 10)) } },
  propagation: { latency: 0.8, errors: round2(d.range(0.75, 0.95)) },
  logs: [], spanError: `${status} from ${service}`,
  fixedBy: [{ kind: 'failover', target: service }], failsAt: 'server', callVolume: {},
});

/** A bad deploy that makes a hot path slow (a query without its index, a synchronous call in a loop). */
const badDeployLatency = (c: FamilyContext, s: Svc, deployAt?: number): Incident => {
  const { d } = c;
  const ramp = d.int(1, 5);
  const { onset, change } = deployOnset(c, s, ramp, deployAt);
  return {
    faults: [slowCodePathFault(d, s, onset, ramp, change.id)],
    changes: [change], load: [], primary: 0, category: 'bad-deploy', onset, involved: [s.name],
  };
};

const round2 = (x: number) => Math.round(x * 100) / 100;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** How much load a service must get for its CPU to reach `target` % (the world's CPU grows with load^0.9). */
const loadForCpu = (cpu: number, target: number) => (target / Math.max(1, cpu)) ** (1 / 0.9);

/**
 * The multiplier on one caller's edge that brings the callee's load to `load` (the callee's load is the
 * throughput-weighted mean of its callers' edges).
 */
const edgeFor = (t: Topology, callee: Svc, caller: Svc, load: number): number => {
  const total = t.callers(callee.name).reduce((s, c) => s + c.baseline.throughput_rps, 0);
  return 1 + ((load - 1) * total) / caller.baseline.throughput_rps;
};

/** Keeps every service but `except` below saturation under a load `factor` (a surge reaches them all). */
const headroom = (t: Topology, factor: number, except: string): void => {
  const g = factor ** 0.9;
  for (const s of t.services) {
    if (s.name === except) continue;
    if (s.baseline.cpu_pct * g > 70) s.baseline.cpu_pct = Math.max(5, Math.floor(70 / g));
    if (s.baseline.db_pool_max !== undefined && (s.baseline.db_pool_active ?? 0) * factor * 1.3 > s.baseline.db_pool_max) {
      s.baseline.db_pool_active = Math.max(1, Math.floor(s.baseline.db_pool_max / (factor * 1.3)));
    }
  }
};

const leakFamily = (name: string, description: string, novel: boolean, since: readonly [number, number]): Family => ({
  name,
  novel,
  description,
  build: (c) => {
    const { d, t } = c;
    const s = d.pick(backends(t));
    const limit = ensureMemoryLimit(t, s);
    const deployAt = -d.int(since[0], since[1]);
    const change = deployChange(d, c.ids, s.name, deployAt);
    // Grows so the heap crosses 85 % of the limit (a memory alarm, GC pauses starting) when the symptoms start.
    const perMinute = round3((limit * d.range(0.852, 0.862) - s.baseline.memory_mb) / (c.visibleAt - deployAt));
    return {
      faults: [memoryLeakFault(d, s.name, deployAt, change.id, perMinute, limit)],
      changes: [change], load: [], primary: 0, category: 'memory-leak', onset: deployAt, involved: [s.name],
    };
  },
});

const outage = (c: FamilyContext, withCallerDeploy: boolean): Incident => {
  const { d, t } = c;
  let ext = t.byTier('external').filter((e) => t.callers(e.name).length > 0);
  if (ext.length === 0) {
    const owner = d.pick(backends(t));
    const e = t.add('external', owner.depth + 1);
    e.baseline.throughput_rps = Math.max(1, Math.round(owner.baseline.throughput_rps * d.range(0.3, 1)));
    owner.calls.push(e.name);
    ext = [e];
  }
  const e = d.pick(ext);
  const caller = d.pick(t.callers(e.name));
  const ramp = d.int(0, 2);
  const onset = onsetDraw(c, ramp);
  const status = d.pick(OUTAGE_STATUSES);
  const changes = withCallerDeploy ? [deployChange(d, c.ids, caller.name, onset)] : [];
  return {
    faults: [thirdPartyOutageFault(d, e.name, onset, ramp, status)],
    changes, load: [], primary: 0, category: 'dependency', failoverFrom: caller.name, onset, involved: [e.name],
  };
};

export const FAMILIES: readonly Family[] = [
  {
    name: 'bad-deploy-errors',
    novel: false,
    description: 'a deploy makes the service throw on part of its requests',
    build: (c) => badDeployErrors(c, c.d.pick(backends(c.t))),
  },
  {
    name: 'bad-deploy-latency',
    novel: false,
    description: 'a deploy makes a hot path several times slower (pool demand follows)',
    build: (c) => badDeployLatency(c, c.d.pick(backends(c.t))),
  },
  {
    name: 'bad-deploy-cpu',
    novel: false,
    description: 'a deploy multiplies CPU per request at flat traffic: the service saturates and sheds',
    build: (c) => {
      const { d } = c;
      const s = d.pick(backends(c.t));
      const ramp = d.int(1, 4);
      const onset = onsetDraw(c, ramp);
      const change = deployChange(d, c.ids, s.name, onset - d.int(0, 2));
      return {
        faults: [{ service: s.name, startsAt: onset, rampMinutes: ramp, causedBy: change.id, kind: 'cpu-regression', effects: { cpu_pct: { factor: round2(d.range(108, 135) / s.baseline.cpu_pct) }, latency_p99_ms: { factor: 1.2 } }, logs: [], fixedBy: [], failsAt: 'server', callVolume: {} }],
        changes: [change], load: [], primary: 0, category: 'bad-deploy', onset, involved: [s.name],
      };
    },
  },
  {
    name: 'config-client-timeout',
    novel: false,
    description: "a client read timeout set below the callee's p99: calls time out and are retried",
    build: (c) => {
      const { d, t } = c;
      const callers = backends(t).filter((b) => b.calls.some((x) => ['backend', 'external'].includes(t.get(x).tier)));
      const s = callers.length > 0 ? d.pick(callers) : d.pick(backends(t));
      if (callers.length === 0) {
        const e = t.add('external', s.depth + 1);
        e.baseline.throughput_rps = Math.max(1, Math.round(s.baseline.throughput_rps * 0.6));
        s.calls.push(e.name);
      }
      const callee = t.get(d.pick(s.calls.filter((x) => ['backend', 'external'].includes(t.get(x).tier))));
      const p99 = callee.baseline.latency_p99_ms;
      const param = `${short(callee.name)}-client.read-timeout-ms`;
      const ramp = 1;
      const onset = onsetDraw(c, ramp);
      const change = configChange(d, c.ids, s.name, onset - d.int(0, 1), param, String(Math.ceil((p99 * d.range(2, 4)) / 100) * 100), String(Math.max(50, Math.round((p99 * d.range(0.4, 0.8)) / 50) * 50)), `Fail fast on slow ${callee.name} calls.`);
      return {
        faults: [
          {
            service: s.name, startsAt: onset, rampMinutes: ramp, causedBy: change.id, kind: 'client-timeout-too-short',
            effects: { error_rate_pct: { add: Math.round(d.range(6, 25)) }, latency_p99_ms: { factor: 0.8 } },
            callVolume: { [callee.name]: round2(d.range(1.1, 1.3)) },
            logs: [{ level: 'ERROR', template: `call to ${callee.name} timed out: java.net.SocketTimeoutException: Read timed out (read-timeout=${change.configChange?.new}ms) requestId={uuid}`, perFailedRequest: 0.005 }],
            spanError: `SocketTimeoutException: Read timed out (read-timeout=${change.configChange?.new}ms)`, fixedBy: [], failsAt: 'server',
          },
        ],
        changes: [change], load: [], primary: 0, category: 'config-change', onset, involved: [s.name],
      };
    },
  },
  {
    name: 'config-pool-size',
    novel: false,
    description: 'the connection pool maximum lowered below the demand: requests queue for a connection and time out',
    build: (c) => {
      const { d, t } = c;
      const s = d.pick(backends(t));
      ensurePool(t, s);
      const active = s.baseline.db_pool_active as number;
      const max = s.baseline.db_pool_max as number;
      const now = Math.max(1, Math.round(active * d.range(0.5, 0.75)));
      const param = d.pick(['spring.datasource.hikari.maximum-pool-size', 'db.pool.max-size', 'database.max_connections_per_pod']);
      const ramp = 1;
      const onset = onsetDraw(c, ramp);
      const change = configChange(d, c.ids, s.name, onset, param, String(max), String(now), `Reduce connections on ${s.calls.find((x) => t.get(x).tier === 'database')} ahead of a connection-limit review.`);
      return {
        faults: [
          {
            service: s.name, startsAt: onset, rampMinutes: ramp, causedBy: change.id, kind: 'pool-too-small',
            effects: { db_pool_max: { value: now } },
            logs: [{ level: 'ERROR', template: 'HikariPool-1 - Connection is not available, request timed out after {int:5000-30000}ms (total={metric:db_pool_max}, active={metric:db_pool_active}, idle=0, waiting={metric:db_pool_pending})', perFailedRequest: 0.003 }],
            spanError: 'SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out', fixedBy: [], failsAt: 'server', callVolume: {},
          },
        ],
        changes: [change], load: [], primary: 0, category: 'connection-pool', onset, involved: [s.name],
      };
    },
  },
  {
    name: 'feature-flag-errors',
    novel: false,
    description: 'a feature flag turns on a code path that throws for part of the traffic',
    build: (c) => {
      const { d, t } = c;
      const s = d.pick(backends(t));
      const ramp = d.int(0, 3);
      const onset = onsetDraw(c, ramp);
      const share = d.pick([['25pct', 0.25], ['50pct', 0.5], ['all', 1]] as const);
      const change = flagChange(d, c.ids, s.name, onset - d.int(0, 1), `${short(s.name)}.${d.pick(['pricing-v2', 'async-validation', 'new-serializer', 'bulk-endpoints', 'strict-schema'])}`, d.pick(['off', 'internal']), share[0]);
      const error = d.pick(EXCEPTIONS)(s.name);
      return {
        faults: [
          {
            service: s.name, startsAt: onset, rampMinutes: ramp, causedBy: change.id, kind: 'flagged-code-path',
            effects: { error_rate_pct: { add: Math.max(3, Math.round(d.range(10, 40) * share[1])) }, latency_p99_ms: { factor: round2(d.range(1, 1.25)) } },
            logs: [{ level: 'ERROR', template: `request {uuid} failed: ${error}`, perFailedRequest: 0.004 }],
            spanError: error, fixedBy: [], failsAt: 'server', callVolume: {},
          },
        ],
        changes: [change], load: [], primary: 0, category: 'config-change', onset, involved: [s.name],
      };
    },
  },
  {
    name: 'database-change',
    novel: false,
    description: 'a database change (smaller instance, throttled storage, a costly parameter) makes every query slower',
    build: (c) => {
      const { d, t } = c;
      let dbs = t.byTier('database');
      if (dbs.length === 0) {
        const b = d.pick(backends(t));
        ensurePool(t, b, true);
        dbs = t.byTier('database');
      }
      const db = d.pick(dbs);
      const ramp = d.int(2, 6);
      const onset = onsetDraw(c, ramp);
      const at = onset - d.int(0, 3);
      const kind = d.int(0, 2);
      const change =
        kind === 0
          ? infraChange(d, c.ids, db.name, at, `Resize ${db.name} to a smaller instance class`, `Moves ${db.name} from ${d.pick(['r6g.2xlarge', 'r6g.4xlarge', 'm6i.4xlarge'])} to ${d.pick(['r6g.large', 'r6g.xlarge', 'm6i.xlarge'])} after the cost review.`)
          : kind === 1
            ? infraChange(d, c.ids, db.name, at, `Migrate ${db.name} storage to gp3`, `Moves ${db.name} volumes from io2 to gp3 at the default throughput.`)
            : configChange(d, c.ids, db.name, at, d.pick(['pgaudit.log', 'log_statement', 'track_io_timing']), d.pick(['ddl', 'none', 'off']), d.pick(['all', 'on']), 'Needed for the audit review.');
      return {
        faults: [databaseSlowdownFault(d, db.name, onset, ramp, change.id, kind === 1)],
        changes: [change], load: [], primary: 0, category: 'database', onset, involved: [db.name],
      };
    },
  },
  leakFamily('memory-leak', 'a deploy leaks memory; an hour or two later GC pauses slow the service and pods are OOM-killed', false, [40, 150]),
  leakFamily('memory-leak-slow-burn', 'a deploy 3–5 h ago leaks slowly', false, [180, 300]),
  leakFamily('leak-before-window', 'a deploy 10–30 h ago leaks very slowly: the cause is older than any usual query window', true, [600, 1800]),
  {
    name: 'connection-leak',
    novel: false,
    description: 'a deploy leaks pooled connections; the pool fills up long after the deploy',
    build: (c) => {
      const { d, t } = c;
      const s = d.pick(backends(t));
      ensurePool(t, s);
      const deployAt = -d.int(20, 120);
      const change = deployChange(d, c.ids, s.name, deployAt);
      const active = s.baseline.db_pool_active as number;
      const max = s.baseline.db_pool_max as number;
      const perMinute = round3(((max - active) * d.range(1.1, 1.35)) / (c.visibleAt - deployAt));
      return {
        faults: [
          {
            service: s.name, startsAt: deployAt, rampMinutes: 1, causedBy: change.id, kind: 'connection-leak',
            effects: { db_pool_active: { perMinute } },
            logs: [
              { level: 'WARN', template: `HikariPool-1 - Connection leak detection triggered for connection@{hex:8} on thread http-exec-{int:1-200}`, ratePerMinute: round2(d.range(0.3, 1.2)) },
              { level: 'ERROR', template: 'HikariPool-1 - Connection is not available, request timed out after {int:5000-30000}ms (total={metric:db_pool_max}, active={metric:db_pool_active}, idle=0, waiting={metric:db_pool_pending})', perFailedRequest: 0.003 },
            ],
            spanError: 'SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out', fixedBy: [], failsAt: 'server', callVolume: {},
          },
        ],
        changes: [change], load: [], primary: 0, category: 'connection-pool', onset: deployAt, involved: [s.name],
      };
    },
  },
  {
    name: 'dependency-outage',
    novel: false,
    description: 'a third party fails and slows; no change of ours',
    build: (c) => outage(c, false),
  },
  {
    name: 'outage-with-caller-deploy',
    novel: true,
    description: 'a third-party outage starting in the same minute as a harmless deploy on its caller',
    build: (c) => outage(c, true),
  },
  {
    name: 'traffic-surge',
    novel: false,
    description: 'a traffic surge with no change: only the service without headroom saturates',
    build: (c) => {
      const { d, t } = c;
      const s = d.pick(backends(t));
      const factor = round2(d.range(1.8, 3));
      s.baseline.cpu_pct = Math.round(d.range(108, 130) / factor ** 0.9);
      headroom(t, factor, s.name);
      const ramp = d.int(2, 6);
      const onset = onsetDraw(c, ramp);
      return {
        faults: [], changes: [],
        load: [{ services: t.byTier('frontend').map((f) => f.name), startsAt: onset, rampMinutes: ramp, factor, description: d.pick(['Marketing push', 'Partner launch', 'Ticket drop', 'TV spot', 'End-of-month run']) }],
        saturated: s.name, category: 'capacity', onset, involved: [s.name],
      };
    },
  },
  {
    name: 'cache-invalidation',
    novel: false,
    description: "a deploy evicts the cache far too often: the backing database takes the misses and saturates (the loudest service is a symptom)",
    build: (c) => {
      const { d, t } = c;
      let owners = backends(t).filter((b) => b.cache);
      if (owners.length === 0) {
        const b = d.pick(backends(t));
        const db = ensurePool(t, b);
        let cache = b.calls.find((x) => t.get(x).tier === 'cache');
        if (!cache) {
          const leaf = t.add('cache', b.depth + 1, short(b.name));
          b.calls.push(leaf.name);
          cache = leaf.name;
        }
        b.cache = { store: cache, backing: db, hitRatioPct: Math.round(d.range(88, 97)) };
        owners = [b];
      }
      const s = d.pick(owners);
      const cache = s.cache as NonNullable<Svc['cache']>;
      const db = t.get(cache.backing);
      const load = loadForCpu(db.baseline.cpu_pct, d.range(115, 150));
      const missFactor = edgeFor(t, db, s, load);
      const hit = Math.max(0, Math.round(100 - missFactor * (100 - cache.hitRatioPct)));
      const ramp = d.int(1, 3);
      const onset = onsetDraw(c, ramp);
      const change = deployChange(d, c.ids, s.name, onset - d.int(0, 2));
      return {
        faults: [
          {
            service: s.name, startsAt: onset, rampMinutes: ramp, causedBy: change.id, kind: 'cache-invalidation-storm',
            effects: { cache_hit_ratio_pct: { value: hit }, cpu_pct: { factor: 1.1 } },
            logs: [{ level: 'INFO', template: `cache evicted {int:2000-60000} entries matching ${short(s.name)}:* after an update event`, ratePerMinute: round2(d.range(4, 15)) }],
            fixedBy: [], failsAt: 'server', callVolume: {},
          },
        ],
        changes: [change], load: [], primary: 0, category: 'cache', onset, involved: [s.name],
      };
    },
  },
  {
    name: 'certificate-expiry',
    novel: false,
    description: "a service's server certificate expired (the renewed one was never loaded): its callers' TLS handshakes fail",
    build: (c) => {
      const { d, t } = c;
      const s = deepBackend(c, 2);
      const ramp = 0;
      const onset = onsetDraw(c, ramp);
      const all = d.chance(0.6);
      return {
        faults: [
          {
            service: s.name, startsAt: onset, rampMinutes: ramp, kind: 'expired-server-certificate', failsAt: 'connection',
            effects: { error_rate_pct: { value: all ? 100 : Math.round(100 / s.replicas) * d.int(1, Math.max(1, s.replicas - 1)) } },
            propagation: { latency: 0.85, errors: round2(d.range(0.8, 0.95)) },
            callerError: 'javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed',
            logs: [{ level: 'WARN', template: `TLS handshake failed: certificate_expired (notAfter={at:${onset}}, subject=CN=${s.name}.${t.zone}) peer {ip}:{int:30000-60999}`, perFailedRequest: 0.01 }],
            fixedBy: [{ kind: 'restart-service', service: s.name }], callVolume: {},
          },
        ],
        changes: [], load: [], primary: 0, category: 'certificate', onset, involved: [s.name],
      };
    },
  },
  {
    name: 'dns-change',
    novel: false,
    description: "a DNS change breaks a service's name: callers cannot resolve it, the service itself looks idle",
    build: (c) => {
      const { d, t } = c;
      const s = deepBackend(c, 2);
      const ramp = d.int(1, 5);
      const onset = onsetDraw(c, ramp);
      const change = infraChange(d, c.ids, s.name, onset - d.int(0, 1), `Point ${s.name}.${t.zone} at the new load balancer`, `Replaces the ${s.name} CNAME with the new internal load balancer record (TTL 60 s).`);
      return {
        faults: [
          {
            service: s.name, startsAt: onset, rampMinutes: ramp, causedBy: change.id, kind: 'dns-nxdomain', failsAt: 'connection',
            effects: { error_rate_pct: { value: Math.round(d.range(60, 100)) } },
            propagation: { latency: 0.85, errors: round2(d.range(0.6, 0.9)) },
            callerError: `java.net.UnknownHostException: ${s.name}.${t.zone}: Name or service not known`,
            logs: [], fixedBy: [], callVolume: {},
          },
        ],
        changes: [change], load: [], primary: 0, category: 'dns', onset, involved: [s.name],
      };
    },
  },
  {
    name: 'api-contract',
    novel: false,
    description: 'a deploy changes a response shape: the callers fail to parse it while the changed service looks healthy',
    build: (c) => {
      const { d, t } = c;
      const callees = backends(t).filter((b) => t.callers(b.name).some((x) => x.tier === 'backend'));
      const y = callees.length > 0 ? d.pick(callees) : d.pick(backends(t));
      const x = d.pick(t.callers(y.name));
      const ramp = d.int(1, 3);
      const onset = onsetDraw(c, ramp);
      const change = deployChange(d, c.ids, y.name, onset - d.int(0, 1), `${short(y.name)}: v2 response model`);
      const field = d.pick(['amount', 'unitPrice', 'status', 'validUntil', 'currency', 'items']);
      const error = `MismatchedInputException: Missing required creator property '${field}' for type ${capital(short(y.name))}Response`;
      return {
        faults: [
          {
            service: x.name, startsAt: onset, rampMinutes: ramp, causedBy: change.id, kind: 'consumer-deserialisation',
            effects: { error_rate_pct: { add: Math.round(d.range(8, 40)) }, latency_p99_ms: { factor: 1.1 } },
            logs: [{ level: 'ERROR', template: `failed to read ${y.name} response for request {uuid}: ${error}`, perFailedRequest: 0.005 }],
            spanError: error, fixedBy: [], failsAt: 'server', callVolume: {},
          },
        ],
        changes: [change], load: [], primary: 0, category: 'bad-deploy', onset, involved: [x.name, y.name],
      };
    },
  },
  {
    name: 'n-plus-one',
    novel: false,
    description: 'a deploy issues one query per row against a shared database: another service (the loud one) starves',
    build: (c) => {
      const { d, t } = c;
      const bs = backends(t);
      if (bs.length < 2) throw new GeneratorError('n-plus-one needs two backends');
      const shared = t.byTier('database').filter((db) => t.callers(db.name).length >= 2);
      let db: Svc;
      let x: Svc;
      let victim: Svc;
      if (shared.length > 0) {
        db = d.pick(shared);
        const [a, b] = d.shuffle(t.callers(db.name));
        x = a as Svc;
        victim = b as Svc;
      } else {
        victim = d.pick(bs);
        db = t.get(ensurePool(t, victim, true));
        x = d.pick(bs.filter((b) => b !== victim));
        x.calls.push(db.name);
      }
      ensurePool(t, victim, true);
      victim.poolTarget = db.name;
      const load = loadForCpu(db.baseline.cpu_pct, d.range(115, 150));
      const volume = Math.min(50, round2(edgeFor(t, db, x, load)));
      const ramp = d.int(1, 3);
      const onset = onsetDraw(c, ramp);
      const change = deployChange(d, c.ids, x.name, onset - d.int(0, 2));
      return {
        faults: [{ service: x.name, startsAt: onset, rampMinutes: ramp, causedBy: change.id, kind: 'n-plus-one-queries', effects: { cpu_pct: { factor: 1.2 } }, callVolume: { [db.name]: volume }, logs: [], fixedBy: [], failsAt: 'server' }],
        changes: [change], load: [], primary: 0, category: 'bad-deploy', onset, involved: [x.name],
      };
    },
    needs: { minServices: 6 },
  },
  {
    name: 'retry-storm',
    novel: true,
    description: "a config change raises a client's retries: the callee saturates under the retried calls and everyone on it fails",
    build: (c) => {
      const { d, t } = c;
      const pairs = backends(t).flatMap((x) => x.calls.filter((y) => t.get(y).tier === 'backend').map((y) => [x, t.get(y)] as const));
      const [x, y] = pairs.length > 0 ? d.pick(pairs) : (() => {
        const a = d.pick(backends(t));
        const b = t.add('backend', a.depth + 1);
        b.baseline.throughput_rps = Math.max(1, Math.round(a.baseline.throughput_rps * 0.8));
        a.calls.push(b.name);
        return [a, b] as const;
      })();
      const load = loadForCpu(y.baseline.cpu_pct, d.range(115, 145));
      const volume = Math.min(50, Math.max(2, round2(edgeFor(t, y, x, load))));
      const ramp = 1;
      const onset = onsetDraw(c, ramp);
      const param = `${short(y.name)}-client.max-retries`;
      const change = configChange(d, c.ids, x.name, onset - d.int(0, 1), param, String(d.int(0, 1)), String(d.int(4, 6)), `Ride out brief ${y.name} blips.`);
      return {
        faults: [{ service: x.name, startsAt: onset, rampMinutes: ramp, causedBy: change.id, kind: 'retry-storm', effects: { cpu_pct: { factor: 1.1 } }, callVolume: { [y.name]: volume }, logs: [{ level: 'WARN', template: `retrying call to ${y.name} (attempt {int:2-6}/{int:4-6}) after {int:10-80}ms`, ratePerMinute: round2(d.range(10, 40)) }], fixedBy: [], failsAt: 'server' }],
        changes: [change], load: [], primary: 0, category: 'config-change', onset, involved: [x.name],
      };
    },
  },
  {
    name: 'older-change-newer-herring',
    novel: true,
    description: 'a latent change (effect starts 20 min–3 h later); a harmless change lands in the minutes before the onset',
    build: (c) => {
      const { d, t } = c;
      const s = d.pick(backends(t));
      const ramp = d.int(1, 4);
      const onset = onsetDraw(c, ramp);
      const deployAt = onset - d.int(20, 180);
      const inner = d.chance(0.5) ? badDeployErrors(c, s, deployAt) : badDeployLatency(c, s, deployAt);
      // The fault starts at the onset, long after its cause; the newer change lands just before it.
      const faults = inner.faults.map((f) => ({ ...f, startsAt: onset, rampMinutes: ramp }));
      const others = t.services.filter((x) => x.name !== s.name && x.tier !== 'external');
      const herring = harmlessChange(d, c.ids, d.pick(others), onset - d.int(0, 3));
      return { ...inner, faults, changes: [...inner.changes, herring], onset };
    },
  },
  {
    name: 'lowered-limit-under-load',
    novel: true,
    description: 'a config change halves a capacity limit hours before a routine traffic peak; the service saturates at the peak',
    build: (c) => {
      const { d, t } = c;
      const s = d.pick(backends(t));
      const cut = d.pick([2, 2, 3]);
      // Runs hot but below queueing with the lower limit; the peak then takes it past saturation.
      s.baseline.cpu_pct = Math.round(d.range(60, 72) / cut);
      const load = round2(Math.max(1.3, loadForCpu(s.baseline.cpu_pct * cut, d.range(110, 125))));
      headroom(t, load, s.name);
      const at = -d.int(60, 300);
      const [param, old] = d.pick([['autoscaling.max-replicas', s.replicas * cut], ['server.worker-threads', 64 * cut], ['resources.limits.cpu', `${cut * 1000}m`]] as const);
      const now = typeof old === 'number' ? String(old / cut) : `1000m`;
      const change = configChange(d, c.ids, s.name, at, param, String(old), now, 'Cost review: right-size the service.');
      const ramp = d.int(5, 15);
      const onset = c.visibleAt - ramp;
      return {
        faults: [{ service: s.name, startsAt: at, rampMinutes: 1, causedBy: change.id, kind: 'capacity-limit-lowered', effects: { cpu_pct: { factor: cut } }, logs: [], fixedBy: [], failsAt: 'server', callVolume: {} }],
        changes: [change],
        load: [{ services: t.byTier('frontend').map((f) => f.name), startsAt: onset, rampMinutes: ramp, factor: load, description: 'Evening peak' }],
        primary: 0, category: 'config-change', onset, involved: [s.name],
      };
    },
  },
  {
    name: 'deep-chain',
    novel: true,
    description: 'a bad deploy or database change three or more hops below the user-facing service, behind healthy-looking middle tiers',
    needs: { layers: 3, minServices: 9 },
    build: (c) => {
      const { d, t } = c;
      const deep = t.services.filter((s) => s.depth >= 3 && (s.tier === 'backend' || s.tier === 'database'));
      const s = deep.length > 0 ? d.pick(deep) : deepBackend(c, 2);
      if (s.tier === 'database') {
        const ramp = d.int(2, 5);
        const onset = onsetDraw(c, ramp);
        const change = infraChange(d, c.ids, s.name, onset - d.int(0, 2), `Resize ${s.name} to a smaller instance class`, `Moves ${s.name} to a smaller instance class after the cost review.`);
        return {
          faults: [{ service: s.name, startsAt: onset, rampMinutes: ramp, causedBy: change.id, kind: 'database-slowdown', effects: { latency_p99_ms: { factor: round2(d.range(10, 40)) }, cpu_pct: { factor: round2(d.range(1.5, 2.2)) }, error_rate_pct: { add: round2(d.range(0.5, 2)) } }, propagation: { latency: 0.9, errors: 0.85 }, logs: [], spanError: 'ERROR: canceling statement due to statement timeout', fixedBy: [], failsAt: 'server', callVolume: {} }],
          changes: [change], load: [], primary: 0, category: 'database', onset, involved: [s.name],
        };
      }
      return d.chance(0.5) ? badDeployErrors(c, s) : badDeployLatency(c, s);
    },
  },
  {
    name: 'false-alarm',
    novel: false,
    description: 'a static threshold trips on noise: nothing to find',
    build: (c) => ({ faults: [], changes: [], load: [], category: null, onset: c.visibleAt, involved: [] }),
  },
  // Causes that are not a recent change (issue 11): resources that run out, a quota, an expiry, a rotation.
  {
    name: 'disk-full',
    novel: true,
    description: "a service's volume fills (logs, spool, deleted files still held open) until writes fail with ENOSPC; sometimes after a log-level change",
    build: (c) => diskFull(c),
  },
  {
    name: 'zonal-impairment',
    novel: true,
    description: "one availability zone of a service goes bad: that zone's share fails or crawls, the others serve normally; a zonal shift away from it ends it",
    build: (c) => zonalImpairment(c),
  },
  {
    name: 'fd-leak',
    novel: true,
    description: 'a service leaks file descriptors for hours; at the limit accept() and open() fail with EMFILE',
    build: (c) => fdLeak(c),
  },
  {
    name: 'quota-throttling',
    novel: true,
    description: 'traffic grows into a rate quota (provisioned capacity, a concurrency limit) with no change: the excess is throttled (429)',
    build: (c) => quotaThrottling(c),
  },
  {
    name: 'certificate-expiry-observed',
    novel: true,
    description: "a service's certificate expires (its days to expiry cross 0 at the onset) and the renewed one was never loaded",
    build: (c) => certificateExpiryObserved(c),
  },
  {
    name: 'credential-rotation',
    novel: true,
    description: "an automated rotation changes a database password; a caller that cached the old one fails to authenticate",
    build: (c) => credentialRotation(c),
  },
  {
    name: 'queue-backlog',
    novel: true,
    description: "a queue's consumer slows (its deploy, or no change at all): depth and message age grow with no errors anywhere",
    build: (c) => queueBacklog(c),
  },
  {
    name: 'batch-job-contention',
    novel: true,
    description: 'a scheduled batch job starts a heavy run on a database other backends share: the database saturates and its callers slow; no change',
    needs: { minServices: 5 },
    build: (c) => batchJobContention(c),
  },
];

// ───────────────────────────── resource, expiry and rotation families ─────────────────────────────

/** Where a volume or a quota sits: backends and databases that something calls. */
const resourceHolders = (t: Topology): Svc[] => t.services.filter((s) => (s.tier === 'backend' || s.tier === 'database') && t.callers(s.name).length > 0);

/** Linear growth from `from` (scenario minutes) that takes `base` to `target` 0–3 minutes before the symptoms are visible. */
const growthPerMinute = (c: FamilyContext, base: number, target: number, from: number): number => round3((target - base) / (c.visibleAt - c.d.int(0, 3) - from));

const diskFull = (c: FamilyContext): Incident => {
  const { d, t } = c;
  const s = d.pick(resourceHolders(t));
  const usedPct = Math.round(d.range(55, 82));
  s.disk = { capacityGb: d.pick([50, 100, 200, 500, 1000]), usedPct };
  const withChange = s.tier === 'backend' && d.chance(0.5);
  const start = -d.int(withChange ? 40 : 90, withChange ? 240 : 720);
  // Full (past the ~98 % where writes fail, with room for the noise) just before the symptoms are visible.
  const perMinute = growthPerMinute(c, usedPct, 98.8, start);
  const change = withChange
    ? configChange(d, c.ids, s.name, start, d.pick([`${short(s.name)}.log-level`, 'logging.level.root', `${short(s.name)}.request-logging`]), d.pick(['INFO', 'WARN']), d.pick(['DEBUG', 'TRACE']), 'Verbose logs to investigate a customer report.')
    : undefined;
  return {
    faults: [
      {
        service: s.name, startsAt: start, rampMinutes: 1, kind: change ? 'verbose-logging-fills-disk' : 'volume-fills', effects: { disk_used_pct: { perMinute } },
        ...(change ? { causedBy: change.id } : {}),
        logs: change ? [{ level: 'DEBUG', template: `{op} request={uuid} headers={int:8-40} body={int:200-9000}B`, ratePerMinute: round2(d.range(30, 120)) }] : [],
        // Without a change, a restart frees the space (rotated logs and deleted files its processes still held open).
        fixedBy: change ? [] : [{ kind: 'restart-service', service: s.name }], failsAt: 'server', callVolume: {},
      },
    ],
    changes: change ? [change] : [], load: [], primary: 0, category: 'disk-full', onset: start, involved: [s.name],
  };
};

/** AWS regions a generated service's availability zones are drawn from. */
const REGIONS = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2'] as const;

/**
 * One availability zone of a backend goes bad (a host fleet, its network or its storage there): that zone's share of
 * the service fails or crawls while the others serve normally; no change of ours is involved. Shifting the service's
 * traffic away from the zone (a zonal shift) ends it.
 */
const zonalImpairment = (c: FamilyContext): Incident => {
  const { d, t } = c;
  const s = d.pick(backends(t));
  const region = d.pick(REGIONS);
  s.zones = (d.chance(0.7) ? ['a', 'b', 'c'] : ['a', 'b', 'c', 'd']).map((l) => `${region}${l}`);
  const zone = d.pick(s.zones) as string;
  const ramp = d.int(0, 3);
  const onset = onsetDraw(c, ramp);
  const fails = d.chance(0.55);
  return {
    faults: [
      {
        service: s.name, startsAt: onset, rampMinutes: ramp, kind: 'zone-impairment', zone,
        effects: fails ? { error_rate_pct: { value: round2(d.range(45, 90)) } } : { latency_p99_ms: { factor: round2(d.range(6, 14)) } },
        logs: fails
          ? [{ level: 'ERROR', template: `request {uuid} failed: ${d.pick(['upstream connect error or disconnect/reset before headers. reset reason: connection failure', 'I/O error on POST request: Connection reset by peer', 'EBS volume read failed: Input/output error'])}`, perFailedRequest: round3(d.range(0.002, 0.01)) }]
          : [{ level: 'WARN', template: `slow request {uuid}: {int:2000-9000}ms ${d.pick(['waiting for a connection to the host', 'in socket read', 'on disk I/O'])}`, ratePerMinute: round2(d.range(0.5, 3)) }],
        spanError: fails ? 'upstream connect error or disconnect/reset before headers' : undefined,
        fixedBy: [{ kind: 'failover', service: s.name, target: zone }], failsAt: 'server', callVolume: {},
      },
    ],
    changes: [], load: [], primary: 0, category: 'zone', onset, involved: [s.name], failoverFrom: s.name,
  };
};

const fdLeak = (c: FamilyContext): Incident => {
  const { d, t } = c;
  const s = d.pick(backends(t));
  const limit = d.pick([1024, 4096, 8192, 16384]);
  const open = Math.round(limit * d.range(0.12, 0.35));
  s.fileDescriptors = { limit, open };
  // The leak started long before any usual window: with a deploy hours ago, or with none (a slow client that stopped
  // closing sockets, an upstream that holds connections).
  const start = -d.int(240, 2400);
  const change = d.chance(0.5) ? deployChange(d, c.ids, s.name, start) : undefined;
  // At the limit (with room for the load's and the noise's swing) just before the symptoms are visible.
  const perMinute = growthPerMinute(c, open, limit * 1.03, start);
  return {
    faults: [
      {
        service: s.name, startsAt: start, rampMinutes: 1, kind: 'fd-leak', effects: { open_fds: { perMinute } },
        ...(change ? { causedBy: change.id } : {}),
        logs: [{ level: 'WARN', template: `{pick:connection|file handle} not closed: {pick:socket|FileInputStream|ZipFile}@{hex:8} opened by {op} was never released`, ratePerMinute: round2(d.range(0.2, 1)) }],
        fixedBy: [{ kind: 'restart-service', service: s.name }], failsAt: 'server', callVolume: {},
      },
    ],
    changes: change ? [change] : [], load: [], primary: 0, category: 'file-descriptors', onset: start, involved: [s.name],
    // A restart closes the leaked descriptors whatever started the leak.
    mitigation: { kind: 'restart-service', service: s.name },
  };
};

const quotaThrottling = (c: FamilyContext): Incident => {
  const { d, t } = c;
  const s = d.pick(resourceHolders(t));
  // Healthy demand (with the daily shape and noise) stays under the limit; the surge takes it well past, and a ×2
  // scale-out clears it.
  const factor = round2(d.range(1.9, 2.15));
  s.quota = {
    name: s.tier === 'database' ? d.pick(['provisioned WriteCapacityUnits', 'provisioned ReadCapacityUnits', 'requests-per-second quota']) : d.pick(['Lambda reserved concurrency', 'API Gateway usage plan rate', 'service quota requests/s']),
    limitRps: Math.round(s.baseline.throughput_rps * d.range(1.33, 1.42)),
  };
  // Only the quota runs out: every service (this one too) keeps CPU and pool headroom under the surge.
  headroom(t, factor, '');
  const ramp = d.int(3, 8);
  const onset = onsetDraw(c, ramp);
  return {
    faults: [], changes: [],
    load: [{ services: t.byTier('frontend').map((f) => f.name), startsAt: onset, rampMinutes: ramp, factor, description: d.pick(['Marketing push', 'Partner launch', 'Seasonal peak', 'Newsletter send', 'Batch import by a partner']) }],
    saturated: s.name, category: 'throttling', onset, involved: [s.name],
  };
};

const certificateExpiryObserved = (c: FamilyContext): Incident => {
  const inc = (FAMILIES.find((f) => f.name === 'certificate-expiry') as Family).build(c);
  const s = c.t.get((inc.faults[0] as FaultSpec).service);
  // The certificate the service presents expires at the onset; an internal one is still good for months.
  s.certificates = [{ subject: `CN=${s.name}.${c.t.zone}`, notAfter: inc.onset }, { subject: `CN=${s.name}-internal.${c.t.zone}`, notAfter: c.d.int(30, 300) * 1440 }];
  return inc;
};

const AUTH_FAILURES = {
  postgres: { span: 'PSQLException: FATAL: password authentication failed for user "app"', log: 'HikariPool-1 - Exception during pool initialization: org.postgresql.util.PSQLException: FATAL: password authentication failed for user "app" (requestId={uuid})' },
  mysql: { span: "SQLException: Access denied for user 'app' (using password: YES)", log: "HikariPool-1 - Connection is not available: java.sql.SQLException: Access denied for user 'app'@'{ip}' (using password: YES) (requestId={uuid})" },
  mongo: { span: 'MongoSecurityException: Exception authenticating MongoCredential{mechanism=SCRAM-SHA-256, userName=\'app\'}', log: 'com.mongodb.MongoSecurityException: Exception authenticating MongoCredential{mechanism=SCRAM-SHA-256, userName=\'app\', source=\'admin\'}: Authentication failed (requestId={uuid})' },
} as const;

const credentialRotation = (c: FamilyContext): Incident => {
  const { d, t } = c;
  let dbs = t.byTier('database').filter((x) => t.callers(x.name).length > 0);
  if (dbs.length === 0) {
    ensurePool(t, d.pick(backends(t)));
    dbs = t.byTier('database').filter((x) => t.callers(x.name).length > 0);
  }
  const db = d.pick(dbs);
  const caller = d.pick(t.callers(db.name));
  const engine = /mysql/.test(db.name) ? 'mysql' : /mongo/.test(db.name) ? 'mongo' : 'postgres';
  const failure = AUTH_FAILURES[engine];
  // The old password stops working when the rotation finishes; pooled connections then fail as they are recycled.
  const ramp = d.int(2, 6);
  const onset = onsetDraw(c, ramp);
  const secret = `prod/${short(db.name)}/app-credentials`;
  const rotation: ChangeSpec = {
    ...infraChange(d, c.ids, db.name, onset - d.int(0, 2), `Rotate secret ${secret}`, `Scheduled rotation of ${secret} (every ${d.pick([30, 60, 90])} days): sets a new password for user app on ${db.name} and moves AWSCURRENT to the new version.`),
    author: 'secrets-manager-rotation',
    rollbackPlan: `Move the AWSCURRENT label of ${secret} back to the previous version`,
  };
  return {
    faults: [
      {
        service: caller.name, startsAt: onset, rampMinutes: ramp, causedBy: rotation.id, kind: 'stale-cached-credential',
        effects: { error_rate_pct: { add: Math.round(d.range(25, 70)) }, latency_p99_ms: { factor: round2(d.range(1.05, 1.2)) } },
        propagation: { latency: 0.85, errors: round2(d.range(0.75, 0.95)) },
        logs: [{ level: 'ERROR', template: failure.log, perFailedRequest: round3(d.range(0.003, 0.008)) }],
        spanError: failure.span,
        // It read the secret at start-up: a restart reads the new one.
        fixedBy: [{ kind: 'restart-service', service: caller.name }], failsAt: 'server', callVolume: {},
      },
    ],
    changes: [rotation], load: [], primary: 0, category: 'credential', onset, involved: [db.name, caller.name],
    mitigation: { kind: 'restart-service', service: caller.name },
  };
};

/**
 * A producer → queue → consumer edge: a queue some backend publishes to (a new one when there is none), with a
 * consumer worker added (a backend with no synchronous callers, sometimes with a database of its own). The
 * consumer drains one message per request it handles, with the world's default headroom (1.5 × the inflow).
 */
const asyncEdge = (t: Topology): { producer: Svc; queue: Svc; consumer: Svc } => {
  const d = t.d;
  const queues = t.byTier('queue').filter((q) => !q.consumer && t.callers(q.name).some((p) => p.tier === 'backend'));
  let queue: Svc;
  if (queues.length > 0) queue = d.pick(queues);
  else {
    const owner = d.pick(backends(t));
    queue = t.add('queue', owner.depth + 1);
    queue.baseline.throughput_rps = Math.max(5, Math.round(owner.baseline.throughput_rps * d.range(0.3, 1)));
    owner.calls.push(queue.name);
  }
  const producer = d.pick(t.callers(queue.name).filter((p) => p.tier === 'backend'));
  const consumer = t.add('backend', queue.depth + 1, `${short(queue.name)}`);
  // Messages are handled one per request; the worker's p99 covers its own database when it has one.
  consumer.baseline.throughput_rps = queue.baseline.throughput_rps;
  consumer.baseline.latency_p99_ms = Math.round(d.range(40, 400));
  if (d.chance(0.6)) {
    const db = t.add('database', consumer.depth + 1, short(consumer.name));
    db.baseline.throughput_rps = Math.max(1, Math.round(consumer.baseline.throughput_rps * d.range(1.5, 3)));
    consumer.calls.push(db.name);
    consumer.baseline.latency_p99_ms = Math.round(Math.max(consumer.baseline.latency_p99_ms, db.baseline.latency_p99_ms * d.range(1.2, 1.5) + d.range(10, 60)));
  }
  queue.consumer = { service: consumer.name };
  return { producer, queue, consumer };
};

/**
 * The consumer of a queue slows: its deploy makes each message several times slower to handle, or (no change) a
 * consumer-group problem leaves it draining a fraction of the partitions. The backlog is a slow burn, so the
 * slowdown starts 12–30 minutes before the symptoms are due; no error is ever raised.
 */
const queueBacklog = (c: FamilyContext): Incident => {
  const { d, t } = c;
  const { queue, consumer } = asyncEdge(t);
  const ramp = d.int(1, 3);
  const onset = c.visibleAt - ramp - d.int(12, 30);
  const withDeploy = d.chance(0.5);
  const change = withDeploy ? deployChange(d, c.ids, consumer.name, onset - d.int(0, 2)) : undefined;
  const slower = round2(d.range(3, 8));
  const fault: FaultSpec = change
    ? {
        service: consumer.name, startsAt: onset, rampMinutes: ramp, causedBy: change.id, kind: 'slow-consumer',
        effects: { latency_p99_ms: { factor: slower }, cpu_pct: { factor: round2(d.range(1.1, 1.4)) } },
        logs: [{ level: 'WARN', template: `slow message handling on ${queue.name}: record {hex:12} took {int:${Math.round(consumer.baseline.latency_p99_ms * slower * 0.6)}-${Math.round(consumer.baseline.latency_p99_ms * slower * 1.5)}}ms`, ratePerMinute: round2(d.range(2, 10)) }],
        fixedBy: [], failsAt: 'server', callVolume: {},
      }
    : d.chance(0.5)
      ? {
          service: consumer.name, startsAt: onset, rampMinutes: ramp, kind: 'consumer-partitions-stalled',
          effects: { throughput_rps: { factor: round2(d.range(0.15, 0.4)) } },
          logs: [{ level: 'WARN', template: `[Consumer clientId={host}, groupId=${consumer.name}] partitions {int:0-11},{int:12-23} revoked; rebalance in progress`, ratePerMinute: round2(d.range(0.5, 3)) }],
          fixedBy: [{ kind: 'scale-service', service: consumer.name }], failsAt: 'server', callVolume: {},
        }
      : {
          service: consumer.name, startsAt: onset, rampMinutes: ramp, kind: 'large-messages',
          effects: { latency_p99_ms: { factor: slower }, cpu_pct: { factor: round2(d.range(1.2, 1.6)) } },
          logs: [{ level: 'INFO', template: `processed batch of {int:1-20} records from ${queue.name} (payload {int:400-4000} KiB)`, ratePerMinute: round2(d.range(2, 8)) }],
          fixedBy: [{ kind: 'scale-service', service: consumer.name }], failsAt: 'server', callVolume: {},
        };
  return { faults: [fault], changes: change ? [change] : [], load: [], primary: 0, category: 'queue-backlog', onset, involved: [consumer.name, queue.name] };
};

/**
 * A batch job on a database other backends share: its run starts at the onset (no change) and adds enough queries
 * to take the database past CPU saturation; every caller of the database slows. Scaling the database out is the
 * mitigation; the key's service is the job (the culprit), its category capacity.
 */
const batchJobContention = (c: FamilyContext): Incident => {
  const { d, t } = c;
  const shared = t.byTier('database').filter((db) => t.callers(db.name).length >= 2);
  let db: Svc;
  if (shared.length > 0) db = d.pick(shared);
  else {
    const owners = t.byTier('database').filter((x) => t.callers(x.name).length > 0);
    db = owners.length > 0 ? d.pick(owners) : t.get(ensurePool(t, d.pick(backends(t)), true));
    const others = backends(t).filter((b) => !b.calls.includes(db.name));
    if (others.length > 0) d.pick(others).calls.push(db.name);
  }
  const job = t.add('job', db.depth, d.pick(NOUNS));
  job.calls.push(db.name);
  // The run's queries take the database's CPU to 115–150 % (its load is 1 + job / its other callers' traffic).
  const load = loadForCpu(db.baseline.cpu_pct, d.range(115, 150));
  const callers = t.callers(db.name).filter((x) => x !== job).reduce((sum, x) => sum + x.baseline.throughput_rps, 0);
  job.baseline.throughput_rps = Math.max(1, Math.round((load - 1) * callers));
  const onset = onsetDraw(c, 1);
  job.schedule = { startsAt: onset, durationMinutes: d.int(25, 120), ...(d.chance(0.5) ? { everyMinutes: 1440 } : {}) };
  return { faults: [], changes: [], load: [], saturated: job.name, scaleTarget: db.name, category: 'capacity', onset, involved: [job.name, db.name] };
};

/**
 * p50/p95 baselines on about half the frontends and backends, from a draw stream of their own: every other value
 * of the scenario (topology, faults, timings, herrings) is what it would be without them.
 */
const addQuantiles = (t: Topology, q: Draw): void => {
  for (const s of t.services) {
    if ((s.tier !== 'frontend' && s.tier !== 'backend') || !q.chance(0.5)) continue;
    const p99 = s.baseline.latency_p99_ms;
    s.baseline.latency_p95_ms = Math.max(1, Math.round(p99 * q.range(0.45, 0.75)));
    s.baseline.latency_p50_ms = Math.max(1, Math.min(s.baseline.latency_p95_ms, Math.round(p99 * q.range(0.15, 0.35))));
  }
};

// ───────────────────────────── herrings and history ─────────────────────────────

const neighbours = (t: Topology, names: readonly string[]): Svc[] => {
  const set = new Set<string>();
  for (const n of names) {
    for (const c of t.callers(n)) set.add(c.name);
    for (const c of t.get(n).calls) set.add(c);
    for (const c of t.callers(n)) for (const sib of c.calls) set.add(sib);
  }
  for (const n of names) set.delete(n);
  return [...set].map((n) => t.get(n)).filter((s) => s.tier !== 'external');
};

const HISTORY: readonly ((s: string, d: Draw) => Omit<PastIncidentSpec, 'id' | 'service' | 'openedAt'>)[] = [
  (s, d) => ({ title: `${s} error spike after deploy`, rootCause: `A release of ${s} shipped a serializer change that threw on old records.`, resolution: 'Rolled back the release and added a contract test.', resolutionMinutes: d.int(15, 60), category: 'bad-deploy', tags: ['deploy', 'rollback'] }),
  (s, d) => ({ title: `${s} slow under the month-end peak`, rootCause: `${s} ran out of CPU at the peak: not enough replicas.`, resolution: `Scaled ${s} out and raised the autoscaling maximum.`, resolutionMinutes: d.int(20, 90), category: 'capacity', tags: ['capacity', 'scaling'] }),
  (s, d) => ({ title: `${s} connection pool exhausted`, rootCause: `The pool of ${s} was too small for the traffic; requests waited for connections and timed out.`, resolution: 'Raised the pool maximum and added replicas.', resolutionMinutes: d.int(20, 70), category: 'connection-pool', tags: ['hikaricp', 'pool', 'timeout'] }),
  (s, d) => ({ title: `${s} timeouts from a slow database`, rootCause: `A missing index after a migration made the main ${s} query scan.`, resolution: 'Added the index online.', resolutionMinutes: d.int(30, 120), category: 'database', tags: ['database', 'index', 'latency'] }),
  (s, d) => ({ title: `${s} pods OOM-killed`, rootCause: `An unbounded in-memory map in ${s} grew until the pods hit their limit.`, resolution: 'Restarted the pods, then shipped a bounded cache.', resolutionMinutes: d.int(25, 120), category: 'memory-leak', tags: ['oom', 'memory'] }),
  (s, d) => ({ title: `${s} failing calls to a provider`, rootCause: 'The third-party provider had a regional outage.', resolution: 'Failed over to the secondary provider.', resolutionMinutes: d.int(20, 90), category: 'dependency', tags: ['third-party', 'outage'] }),
  (s, d) => ({ title: `${s} errors after a config push`, rootCause: `A config change on ${s} set a timeout too low.`, resolution: 'Reverted the config.', resolutionMinutes: d.int(10, 40), category: 'config-change', tags: ['config', 'timeout'] }),
  (s, d) => ({ title: `${s} alert with no impact`, rootCause: 'A static threshold fired on a normal p99 spike; nothing was wrong.', resolution: 'Closed; the threshold was made relative to the baseline.', resolutionMinutes: d.int(5, 20), category: 'false-positive', tags: ['noise', 'threshold'] }),
];

/** The symptom families a misleading past incident copies (same symptom on the same service, another cause). */
const MISLEADING: Record<string, number[]> = {
  'bad-deploy': [1, 2, 3],
  'config-change': [0, 1, 2],
  database: [2, 1],
  'connection-pool': [2, 1, 3],
  'memory-leak': [1, 0],
  capacity: [0, 3],
  dependency: [0, 6],
  cache: [3, 1],
  certificate: [5, 0],
  dns: [5, 0],
  'disk-full': [1, 4],
  'file-descriptors': [4, 2],
  throttling: [1, 5],
  credential: [6, 0],
};

// ───────────────────────────── the world's view ─────────────────────────────

const CHECK_NOW = new Date('2026-01-15T12:00:00.000Z');
const MINUTE = 60_000;

/**
 * How a service differs from its healthy twin, as a monitoring tool would alarm on it: latency relative, errors in
 * points (over at least 1), and memory as pressure on the limit (an alarm from 85 %).
 */
const divergence = (a: Record<string, number>, b: Record<string, number>, limit: number | undefined): { latency: number; errors: number; memory: boolean; queue: boolean; alarm: boolean; strong: boolean } => {
  const latency = (a.latency_p99_ms - b.latency_p99_ms) / b.latency_p99_ms;
  const errors = (a.error_rate_pct - b.error_rate_pct) / Math.max(1, b.error_rate_pct);
  const memory = limit !== undefined && a.memory_mb / limit >= 0.85;
  // A queue with a consumer alarms on its oldest message's age (CloudWatch's ApproximateAgeOfOldestMessage): 2 minutes over healthy, strong at 3.
  const age = a.queue_oldest_age_s === undefined ? 0 : a.queue_oldest_age_s - (b.queue_oldest_age_s ?? 0);
  const queue = age >= QUEUE_AGE_ALARM_S;
  return { latency, errors, memory, queue, alarm: latency >= 0.3 || errors >= 1 || memory || queue, strong: latency >= 0.5 || errors >= 2 || memory || age >= QUEUE_AGE_STRONG_S };
};
const QUEUE_AGE_ALARM_S = 120;
const QUEUE_AGE_STRONG_S = 180;

/** A job does not run in the healthy twin's window: its first run moves a week past the alert. */
const withoutJobRuns = <S extends { tier: string; schedule?: { startsAt: number } }>(services: readonly S[]): S[] =>
  services.map((s) => (s.tier === 'job' && s.schedule ? { ...s, schedule: { ...s.schedule, startsAt: 10_000 } } : s));

/** Where and when the incident shows: per service, the divergence at t=0 and the first minute of a sustained alarm. */
const observe = (scenario: Scenario, healthy: Scenario, from: number, id = 'generator-check') => {
  const sick = createWorld(scenario, { id, now: CHECK_NOW });
  const well = createWorld(healthy, { id, now: CHECK_NOW });
  const at = (m: number) => CHECK_NOW.getTime() + m * MINUTE;
  const limits = new Map(scenario.services.map((s) => [s.name, s.memoryLimitMb]));
  const diff = (m: number, name: string) => divergence(snapshotAt(sick, at(m)).services.get(name)?.values ?? {}, snapshotAt(well, at(m)).services.get(name)?.values ?? {}, limits.get(name));
  return {
    now: (name: string) => diff(0, name),
    /** The first minute from which the service stays in alarm until the alert. */
    firstAlarm: (name: string): number | undefined => {
      let first: number | undefined;
      for (let m = 0; m >= from; m--) {
        if (diff(m, name).alarm) first = m;
        else break;
      }
      return first;
    },
  };
};

// ───────────────────────────── assembly ─────────────────────────────

export interface GeneratedIncident {
  readonly scenario: Scenario;
  readonly family: string;
  readonly novel: boolean;
  /** The red herrings put in (for reports and tests; never shown to an agent). */
  readonly herrings: readonly string[];
  /** Draws it took to get an incident the world shows (1 = the first). */
  readonly attempts: number;
}

const MAX_ATTEMPTS = 12;
export const SEED = /^[A-Za-z0-9][A-Za-z0-9._-]{0,23}$/;

/** The family of incident `index` of `seed`: a seeded permutation of the table, so N incidents spread evenly. */
export const familyOf = (seed: string, index: number): Family => {
  const order = new Draw(keyPrefix('generator-families', seed, Math.floor(index / FAMILIES.length))).shuffle(FAMILIES);
  return order[index % FAMILIES.length] as Family;
};

/** The incident `index` of `seed`, with its family and herrings. */
export const generateIncident = (seed: string, index: number): GeneratedIncident => {
  checkSeedAndIndex(seed, index);
  return incidentOf(seed, index, familyOf(seed, index));
};

/**
 * The incident `index` of `seed` drawn from a given family (whatever family `familyOf` assigns the index): the same
 * draws as `generateIncident` makes for that family, so a family's incidents do not depend on the table's size.
 */
export const generateIncidentOfFamily = (seed: string, index: number, familyName: string): GeneratedIncident => {
  checkSeedAndIndex(seed, index);
  const family = FAMILIES.find((f) => f.name === familyName);
  if (!family) throw new GeneratorError(`no family "${familyName}" (one of ${FAMILIES.map((f) => f.name).join(', ')})`);
  return incidentOf(seed, index, family);
};

const checkSeedAndIndex = (seed: string, index: number): void => {
  if (!SEED.test(seed)) throw new GeneratorError(`seed "${seed}" is invalid: letters, digits, ".", "_" or "-", at most 24 characters`);
  if (!Number.isSafeInteger(index) || index < 0) throw new GeneratorError(`index must be a whole number ≥ 0, got ${index}`);
};

const incidentOf = (seed: string, index: number, family: Family): GeneratedIncident => {
  let last: unknown;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    try {
      const made = attemptIncident(seed, index, attempt, family);
      if (made) return { ...made, attempts: attempt + 1 };
    } catch (error) {
      if (!(error instanceof GeneratorError)) throw error;
      last = error;
    }
  }
  throw new GeneratorError(`incident ${index} of seed ${seed} (${family.name}): no draw the world shows in ${MAX_ATTEMPTS} attempts${last ? ` (${(last as Error).message})` : ''}`);
};

/** A scenario from (seed, index): deterministic, valid against the Scenario schema, with its answer key. */
export const generateScenario = (seed: string, index: number): Scenario => generateIncident(seed, index).scenario;

const attemptIncident = (seed: string, index: number, attempt: number, family: Family): Omit<GeneratedIncident, 'attempts'> | undefined => {
  const d = new Draw(keyPrefix('generator', seed, index, attempt));
  const t = buildTopology(d, family.needs ?? {});
  settleBaselines(t);
  const ids = idStyle(d);
  const visibleAt = -d.int(2, 8);
  const inc = family.build({ d, t, ids, visibleAt });
  // A family may have added services or edges: settle the new ones' throughput (existing values are kept).
  for (const s of topoOrder(t)) if (s.baseline.throughput_rps === 1 && t.callers(s.name).length > 0) s.baseline.throughput_rps = Math.max(1, Math.round(t.callers(s.name).reduce((a, c) => a + c.baseline.throughput_rps, 0) * d.range(0.5, 1.5)));
  if (t.services.length > 30) return undefined;
  addQuantiles(t, new Draw(keyPrefix('generator-quantiles', seed, index, attempt)));

  // Red herrings: never on the services the incident involves; harmless by construction (no fault follows them).
  const herrings: string[] = [];
  const changes = [...inc.changes];
  const cause = inc.primary !== undefined ? inc.faults[inc.primary]?.causedBy : undefined;
  const causeAt = changes.find((c) => c.id === cause)?.deployedAt ?? inc.onset;
  const near = neighbours(t, inc.involved);
  const free = t.services.filter((s) => !inc.involved.includes(s.name) && s.tier !== 'external');
  if (free.length > 0 && (family.name === 'false-alarm' || d.chance(0.6))) {
    const s = near.length > 0 ? d.pick(near) : d.pick(free);
    changes.push(harmlessChange(d, ids, s, Math.min(-1, causeAt + d.int(-3, 3))));
    herrings.push('same-minutes-change');
  }
  const history: PastIncidentSpec[] = [];
  const incidentIds = new Set<string>();
  const incidentId = () => {
    for (;;) {
      const id = `INC${d.int(10000, 99999)}`;
      if (!incidentIds.has(id)) {
        incidentIds.add(id);
        return id;
      }
    }
  };
  const filler = d.int(3, 5);
  for (let k = 0; k < filler; k++) {
    const s = d.pick(t.services.filter((x) => x.tier !== 'external'));
    history.push({ id: incidentId(), service: s.name, openedAt: -d.int(3, 360) * 1440 - d.int(0, 1439), ...d.pick(HISTORY)(s.name, d) });
  }
  const backgroundLogs: NonNullable<ScenarioInput['backgroundLogs']> = [];
  if (free.length > 0 && d.chance(0.4)) {
    const s = d.pick(free.filter((x) => x.tier === 'backend' || x.tier === 'frontend').length > 0 ? free.filter((x) => x.tier === 'backend' || x.tier === 'frontend') : free);
    backgroundLogs.push({
      service: s.name,
      level: d.pick(['ERROR', 'WARN'] as const),
      template: d.pick([
        'failed to refresh feature flags: HTTP 401 from flag service (will retry in 30s)',
        'deprecated endpoint {op} called by client {pick:ios-4.2|android-7.1|partner-sdk} (requestId={uuid})',
        'schema validation warning: unknown field "{pick:promoCode|channel|locale}" ignored',
        'circuit breaker half-open for reporting exporter; export skipped ({int:1-40} events)',
        'token introspection slow: {int:300-900}ms',
      ]),
      ratePerMinute: round2(d.range(1, 6)),
    });
    herrings.push('noisy-baseline');
  }

  const healthyLoad = inc.category === 'capacity' || inc.category === 'throttling' || family.name === 'lowered-limit-under-load' ? [] : inc.load;
  const base = {
    name: `gen-${seed.toLowerCase()}-${index}`.slice(0, 63),
    title: `Generated incident ${index} of seed ${seed}`,
    description: `Generated (${family.name}): ${family.description}.`,
    timeOfDay: d.int(0, 23),
    services: t.services.map(({ depth: _depth, ...s }) => s),
    faults: inc.faults,
    load: inc.load,
    history,
    backgroundLogs,
  };
  const provisional = (alertService: string, chg: ChangeSpec[]) =>
    parseScenario(
      { ...base, changes: chg, alert: { title: 'provisional', service: alertService, severity: 'SEV3', problemSeverity: 'PERFORMANCE', startedAt: -1 }, expect: { rootCause: null, mitigation: { kind: 'none' } }, faults: [], load: healthyLoad },
      `generated ${seed}/${index}`,
    );
  const front = t.byTier('frontend')[0] as Svc;
  const hasJobs = t.services.some((s) => s.tier === 'job');
  const provisionalHealthy = provisional(front.name, changes);
  const healthy = hasJobs ? parseScenario({ ...provisionalHealthy, services: withoutJobRuns(provisionalHealthy.services) }, `generated ${seed}/${index}`) : provisionalHealthy;
  const key = answerKey(inc, changes);
  const sick = parseScenario({ ...healthy, ...(hasJobs ? { services: provisionalHealthy.services } : {}), faults: inc.faults, load: inc.load, expect: key }, `generated ${seed}/${index}`);

  // The alert: on the user-facing service when it clearly suffers, else on the service that alarms first.
  let alertService: string;
  let startedAt: number;
  let kind: 'errors' | 'latency' | 'memory' | 'queue-age';
  if (key.rootCause === null) {
    const s = d.pick(t.services.filter((x) => x.tier === 'frontend' || x.tier === 'backend'));
    alertService = s.name;
    startedAt = -d.int(2, 5);
    kind = 'latency';
  } else {
    const view = observe(sick, healthy, Math.max(-360, inc.onset - 2));
    // Strong in two noise draws: the evaluation's world draws its own noise, and must still see it.
    const other = observe(sick, healthy, 0, 'generator-check-2');
    const candidates = t.services.filter(
      (s) => (s.tier !== 'external' && s.tier !== 'cache' && s.tier !== 'queue' && s.tier !== 'job' && view.now(s.name).strong && other.now(s.name).strong) || (s.consumer !== undefined && view.now(s.name).queue && other.now(s.name).queue && view.now(s.name).strong && other.now(s.name).strong),
    );
    if (candidates.length === 0) return undefined;
    const frontends = candidates.filter((s) => s.tier === 'frontend');
    const firsts = candidates.map((s) => ({ s, first: view.firstAlarm(s.name) ?? 0 }));
    const chosen =
      frontends.length > 0 && d.chance(0.6)
        ? (firsts.find((x) => x.s === frontends[0]) as (typeof firsts)[number])
        : firsts.sort((a, b) => a.first - b.first || a.s.depth - b.s.depth)[0] as (typeof firsts)[number];
    alertService = chosen.s.name;
    startedAt = Math.min(-1, chosen.first);
    const v = view.now(alertService);
    kind = v.errors >= 2 ? 'errors' : v.memory ? 'memory' : v.queue && t.get(alertService).consumer ? 'queue-age' : 'latency';
  }

  // A change after the onset on the alerting service (when it is not involved).
  if (!inc.involved.includes(alertService) && t.get(alertService).tier !== 'external' && startedAt < -3 && d.chance(0.3)) {
    changes.push(harmlessChange(d, ids, t.get(alertService), d.int(startedAt + 1, -1)));
    herrings.push('change-after-onset');
  }
  // A past incident with the same symptom on the alerting service and another cause.
  if (key.rootCause && d.chance(0.5)) {
    const options = (MISLEADING[key.rootCause.category] ?? [0]).map((i) => HISTORY[i] as (typeof HISTORY)[number]);
    history.push({ id: incidentId(), service: alertService, openedAt: -d.int(7, 120) * 1440, ...d.pick(options)(alertService, d) });
    herrings.push('misleading-history');
  } else if (key.rootCause === null && d.chance(0.5)) {
    history.push({ id: incidentId(), service: alertService, openedAt: -d.int(7, 120) * 1440, ...(HISTORY[1] as (typeof HISTORY)[number])(alertService, d) });
    herrings.push('misleading-history');
  }

  const svc = t.get(alertService);
  const op = svc.tier === 'frontend' ? `GET /${short(svc.name)}` : svc.tier === 'database' ? 'queries' : `POST /api/v1/${short(svc.name)}`;
  const queueAlert = { title: `Message age alarm on ${alertService}`, service: alertService, severity: 'SEV2' as const, problemSeverity: 'CUSTOM_ALERT' as const, impact: 'SERVICE' as const, startedAt, description: `The oldest message on ${alertService} is older than ${QUEUE_AGE_ALARM_S} s and the queue keeps growing.` };
  const alert =
    key.rootCause === null
      ? { title: `Response time degradation on ${alertService}`, service: alertService, severity: 'SEV3' as const, problemSeverity: 'PERFORMANCE' as const, impact: 'SERVICE' as const, startedAt, description: `p99 of ${op} above the static threshold of ${Math.round(svc.baseline.latency_p99_ms * 1.05)} ms for 2 minutes.` }
      : kind === 'errors'
        ? { title: `Failure rate increase on web service ${alertService}`, service: alertService, severity: svc.tier === 'frontend' ? ('SEV1' as const) : ('SEV2' as const), problemSeverity: 'ERROR' as const, impact: svc.tier === 'frontend' ? ('APPLICATION' as const) : ('SERVICE' as const), startedAt, description: `The failure rate of ${op} rose above its baseline.` }
        : kind === 'queue-age'
          ? queueAlert
          : kind === 'memory'
          ? { title: `Memory saturation on ${alertService}`, service: alertService, severity: 'SEV2' as const, problemSeverity: 'RESOURCE_CONTENTION' as const, impact: 'SERVICE' as const, startedAt, description: `Memory of ${alertService} is near its limit and rising.` }
          : { title: `Response time degradation on ${alertService}`, service: alertService, severity: 'SEV2' as const, problemSeverity: 'PERFORMANCE' as const, impact: svc.tier === 'frontend' ? ('APPLICATION' as const) : ('SERVICE' as const), startedAt, description: `The response time of ${op} degraded well above its baseline.` };
  const scenario = parseScenario({ ...base, changes, history, alert, expect: key }, `generated ${seed}/${index}`);
  return { scenario, family: family.name, novel: family.novel, herrings };
};

/**
 * How a fault a deploy or config change caused fails, by the fault's kind, where the world makes it clear (issue 11):
 * the service (or the callee it floods) runs out of CPU. A defect that throws, a slow code path, and a client timeout
 * set too short name no resource that runs out: their mechanism is not scored.
 */
const TRIGGERED_MECHANISM: Partial<Record<string, FaultCategory>> = {
  'cpu-regression': 'capacity',
  'capacity-limit-lowered': 'capacity',
  'retry-storm': 'capacity',
  'n-plus-one-queries': 'capacity',
};

/**
 * The answer key, from the generated fault alone: the cause lives where the causing change was made (or, without
 * a change, where the fault is; for a capacity incident, the service without headroom); the mitigation is what
 * undoes that cause in the world.
 */
const answerKey = (inc: Incident, changes: readonly ChangeSpec[]): Scenario['expect'] => {
  if (inc.category === null) return { rootCause: null, mitigation: { kind: 'none' } };
  if (inc.primary === undefined) {
    const service = inc.saturated as string;
    return { rootCause: { service, category: inc.category }, mitigation: { kind: 'scale-service', service: inc.scaleTarget ?? service } };
  }
  const fault = inc.faults[inc.primary] as FaultSpec;
  const change = changes.find((c) => c.id === fault.causedBy);
  if (change && inc.mitigation) return { rootCause: { service: change.service, changeId: change.id, category: inc.category }, mitigation: inc.mitigation };
  if (change) {
    const kind: ActionKind = change.type === 'feature-flag' ? 'toggle-feature-flag' : change.type === 'config' ? 'revert-config' : 'rollback-change';
    const target = change.type === 'config' ? (change.configChange?.param as string) : change.id;
    // A category that names only the trigger (a bad deploy, a config change) says how it fails when the fault does.
    const mechanism = isTriggerCategory(inc.category) ? TRIGGERED_MECHANISM[fault.kind] : undefined;
    return { rootCause: { service: change.service, changeId: change.id, category: inc.category, ...(mechanism ? { mechanism } : {}) }, mitigation: { kind, service: change.service, target } };
  }
  const fix = fault.fixedBy[0];
  if (!fix) throw new GeneratorError(`fault on ${fault.service} has neither a cause nor a fix`);
  const service = fix.kind === 'failover' ? (inc.failoverFrom as string) : (fix.service ?? fault.service);
  return { rootCause: { service: fault.service, category: inc.category }, mitigation: { kind: fix.kind, service, ...(fix.target ? { target: fix.target } : {}) } };
};
