/**
 * Resources the world can run out of with no change (contract §1 of issue 11): a disk that fills, file descriptors
 * that leak to the limit, a rate quota that demand grows into, and a certificate's days to expiry. Each model is
 * tested where it bites (errors start at the right moment, callers inherit them, derived log lines and span errors
 * say why), the schema rejects a bad field naming its path, and — the guarantee every existing scenario relies on —
 * all 26 scenario files answer exactly what they answered before the extension (fingerprints taken at fba0c8d).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { applyAction, createWorld, logs, metricSeries, snapshotAt, traces, type WorldState } from '../../../functions/core/world/world.ts';
import { METRIC_UNITS, serviceMetricNames } from '../../../functions/core/world/dynamics.ts';
import { listScenarios, loadScenario, parseScenario, type ServiceSpec } from '../../../functions/core/world/scenario.ts';
import { worldFingerprint } from './world-fingerprint.ts';
import { MINUTE, NOW } from './helpers.ts';

const person = { name: 'Ada Ops', contact: '@ada' };
const svc = (name: string, tier: string, calls: string[], baseline: Record<string, number>, extra: Record<string, unknown> = {}) => ({
  name, tier, calls, baseline: { error_rate_pct: 0.1, cpu_pct: 30, memory_mb: 500, ...baseline }, team: 'Ops', oncall: { primary: person, slack: '#ops' }, ...extra,
});

/** web → ledger-api → ledger-db; the features under test go on ledger-api (or the database). */
/** A scenario object as a file would hold it (validated by parseScenario). */
type Input = Record<string, unknown>;
const scenario = (over: { api?: Input; db?: Input; faults?: unknown[]; load?: unknown[]; expect?: unknown } = {}): Input => ({
  name: 'resources',
  title: 'resource exhaustion models',
  description: 'a small topology for the resource models',
  services: [
    svc('ledger-web', 'frontend', ['ledger-api'], { latency_p99_ms: 300, throughput_rps: 400 }),
    svc('ledger-api', 'backend', ['ledger-db'], { latency_p99_ms: 120, throughput_rps: 400 }, over.api),
    svc('ledger-db', 'database', [], { latency_p99_ms: 8, throughput_rps: 1200, error_rate_pct: 0.01 }, over.db),
  ],
  faults: over.faults ?? [],
  load: over.load ?? [],
  alert: { title: 'errors', service: 'ledger-web', severity: 'SEV2', problemSeverity: 'ERROR' },
  expect: over.expect ?? { rootCause: { service: 'ledger-api', category: 'disk-full' }, mitigation: { kind: 'restart-service', service: 'ledger-api' } },
});

const world = (input: Input, id = 'resources-1'): WorldState => createWorld(parseScenario(input, 'resources'), { id, now: NOW });
const at = (minutes: number) => NOW.getTime() + minutes * MINUTE;
const values = (w: WorldState, service: string, minutes: number) => snapshotAt(w, at(minutes)).services.get(service)?.values ?? {};

describe('existing scenarios are unchanged by the resource models', () => {
  it('every scenario file answers the same series, traces and logs as at fba0c8d (seeded and after its mitigation)', () => {
    const reference = JSON.parse(readFileSync(new URL('./fixtures/world-fingerprints.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    const files = listScenarios();
    expect(files.length).toBe(26);
    expect(Object.keys(reference).sort()).toEqual(files.map((f) => f.name).sort());
    for (const f of files) expect(worldFingerprint(loadScenario(f.file)), f.name).toEqual(reference[f.name]);
  });

  it('exposes none of the new metrics on a service that does not declare the feature', () => {
    const plain = parseScenario(scenario(), 'plain');
    for (const s of plain.services) expect(serviceMetricNames(s)).not.toEqual(expect.arrayContaining(['disk_used_pct']));
    const w = world(scenario());
    const names = new Set(metricSeries(w, { services: ['ledger-api', 'ledger-db'], from: at(-5), to: at(0) }).map((s) => s.metric));
    for (const m of ['disk_used_pct', 'open_fds', 'fd_limit', 'throttled_rps', 'quota_limit_rps', 'cert_days_to_expiry']) expect(names.has(m), m).toBe(false);
  });
});

describe('scenario schema: resource fields', () => {
  const bad = (input: Input, message: RegExp) => expect(() => parseScenario(input, 'bad')).toThrow(message);

  it('accepts every field and exposes its metrics with their units', () => {
    const s = parseScenario(scenario({ api: { disk: { capacityGb: 200, usedPct: 70 }, fileDescriptors: { limit: 4096, open: 900 }, quota: { name: 'WriteCapacityUnits', limitRps: 900 }, certificates: [{ subject: 'CN=ledger-api', notAfter: 43_200 }] } }), 'ok');
    const api = s.services[1] as ServiceSpec;
    const names = serviceMetricNames(api);
    for (const m of ['disk_used_pct', 'open_fds', 'fd_limit', 'throttled_rps', 'quota_limit_rps', 'cert_days_to_expiry']) {
      expect(names, m).toContain(m);
      expect(METRIC_UNITS[m], m).toBeTruthy();
    }
    expect(METRIC_UNITS.cert_days_to_expiry).toBe('days');
    expect(METRIC_UNITS.open_fds).toBe('descriptors');
  });

  it('rejects a bad field naming its path', () => {
    bad(scenario({ api: { disk: { capacityGb: 200, usedPct: 140 } } }), /services\.1\.disk\.usedPct/);
    bad(scenario({ api: { disk: { capacityGb: -1, usedPct: 40 } } }), /services\.1\.disk\.capacityGb/);
    bad(scenario({ api: { disk: { capacityGb: 10, usedPct: 40, iops: 3 } } }), /services\.1\.disk.*iops/);
    bad(scenario({ api: { fileDescriptors: { limit: 1024, open: 2000 } } }), /services\.1\.fileDescriptors\.open: open must be below limit/);
    bad(scenario({ api: { fileDescriptors: { limit: 10.5, open: 2 } } }), /services\.1\.fileDescriptors\.limit/);
    bad(scenario({ api: { quota: { name: '', limitRps: 10 } } }), /services\.1\.quota\.name/);
    bad(scenario({ api: { quota: { name: 'rate', limitRps: 0 } } }), /services\.1\.quota\.limitRps/);
    bad(scenario({ api: { certificates: [] } }), /services\.1\.certificates/);
    bad(scenario({ api: { certificates: [{ subject: 'CN=x', notAfter: 'soon' }] } }), /services\.1\.certificates\.0\.notAfter/);
    bad(scenario({ api: { certificates: [{ subject: 'CN=x', notAfter: 10, issuer: 'me' }] } }), /services\.1\.certificates\.0.*issuer/);
  });

  it('lets a fault move a resource metric only on a service that declares the feature', () => {
    const fault = (metric: string) => ({ service: 'ledger-api', startsAt: -30, kind: 'x', effects: { [metric]: { perMinute: 1 } }, fixedBy: [{ kind: 'restart-service', service: 'ledger-api' }] });
    bad(scenario({ faults: [fault('disk_used_pct')] }), /faults\.0\.effects\.disk_used_pct: ledger-api has no disk \(services\[\]\.disk\)/);
    bad(scenario({ faults: [fault('open_fds')] }), /faults\.0\.effects\.open_fds: ledger-api declares no file descriptors/);
    bad(scenario({ faults: [fault('quota_limit_rps')] }), /faults\.0\.effects\.quota_limit_rps: ledger-api has no quota/);
    bad(scenario({ faults: [fault('throttled_rps')] }), /faults\.0\.effects\.throttled_rps: not a metric a fault can move/);
    expect(() => parseScenario(scenario({ api: { disk: { capacityGb: 100, usedPct: 60 } }, faults: [fault('disk_used_pct')] }), 'ok')).not.toThrow();
  });
});

describe('disk: a volume that fills fails writes from ~98 %', () => {
  // 80 % used, +0.5 point a minute from t=-60: 98 % at t=-24.
  const input = scenario({
    api: { disk: { capacityGb: 500, usedPct: 80 } },
    faults: [{ service: 'ledger-api', startsAt: -60, rampMinutes: 0, kind: 'log-volume-growth', effects: { disk_used_pct: { perMinute: 0.5 } }, fixedBy: [{ kind: 'restart-service', service: 'ledger-api' }] }],
  });
  const w = world(input);
  const healthy = world({ ...input, faults: [] });

  it('shows the volume filling and errors starting when it is full, not before', () => {
    expect(values(w, 'ledger-api', -40).disk_used_pct).toBeCloseTo(90, 0);
    expect(values(w, 'ledger-api', -30).error_rate_pct - values(healthy, 'ledger-api', -30).error_rate_pct).toBeLessThan(0.5);
    expect(values(w, 'ledger-api', -27).disk_used_pct).toBeLessThan(97.8);
    expect(values(w, 'ledger-api', -27).error_rate_pct).toBeLessThan(1);
    expect(values(w, 'ledger-api', -20).disk_used_pct).toBeGreaterThanOrEqual(98);
    expect(values(w, 'ledger-api', -20).error_rate_pct).toBeGreaterThan(25);
    expect(values(w, 'ledger-api', 0).disk_used_pct).toBe(100);
    expect(values(w, 'ledger-api', 0).error_rate_pct).toBeGreaterThan(55);
    // The caller inherits it; the healthy twin shows nothing of it.
    expect(values(w, 'ledger-web', 0).error_rate_pct).toBeGreaterThan(30);
    expect(values(healthy, 'ledger-api', 0).disk_used_pct).toBeCloseTo(80, 0);
  });

  it('logs ENOSPC and a low-disk warning, and failed spans say No space left on device', () => {
    const lines = logs(w, { services: ['ledger-api'], from: at(-5), to: at(0), limit: 5000 });
    expect(lines.some((l) => l.level === 'ERROR' && l.message.includes('No space left on device'))).toBe(true);
    expect(lines.some((l) => l.level === 'WARN' && /low disk space on \/data: 100% of 500 GB used/.test(l.message))).toBe(true);
    const spans = traces(w, { services: ['ledger-web'], from: at(-5), to: at(0), limit: 30, errorsOnly: true }).flatMap((t) => t.spans);
    expect(spans.some((s) => s.service === 'ledger-api' && s.error === 'IOException: No space left on device (ENOSPC)')).toBe(true);
    expect(logs(w, { services: ['ledger-api'], from: at(-45), to: at(-35), limit: 5000 }).some((l) => l.message.includes('No space left'))).toBe(false);
  });

  it('restarting the service frees the space (the growth starts over)', () => {
    const { state } = applyAction(w, { kind: 'restart-service', service: 'ledger-api' }, new Date(at(0)));
    expect(values(state, 'ledger-api', 6).disk_used_pct).toBeLessThan(85);
    expect(values(state, 'ledger-api', 6).error_rate_pct).toBeLessThan(1);
  });
});

describe('file descriptors: a leak fails requests at the limit', () => {
  // 1,000 open of 4,096, +40 a minute from t=-120: the limit at about t=-43.
  const input = scenario({
    api: { fileDescriptors: { limit: 4096, open: 1000 } },
    faults: [{ service: 'ledger-api', startsAt: -120, rampMinutes: 0, kind: 'fd-leak', effects: { open_fds: { perMinute: 40 } }, fixedBy: [{ kind: 'restart-service', service: 'ledger-api' }] }],
    expect: { rootCause: { service: 'ledger-api', category: 'file-descriptors' }, mitigation: { kind: 'restart-service', service: 'ledger-api' } },
  });
  const w = world(input);

  it('counts open descriptors up to the limit, and errors only once they reach it', () => {
    expect(values(w, 'ledger-api', -90).open_fds).toBeGreaterThan(2000);
    expect(values(w, 'ledger-api', -60).open_fds).toBeLessThan(4096);
    expect(values(w, 'ledger-api', -60).error_rate_pct).toBeLessThan(1);
    expect(values(w, 'ledger-api', -30).open_fds).toBe(4096);
    expect(values(w, 'ledger-api', -30).fd_limit).toBe(4096);
    expect(values(w, 'ledger-api', -30).error_rate_pct).toBeGreaterThan(30);
    expect(values(w, 'ledger-web', -30).error_rate_pct).toBeGreaterThan(20);
  });

  it('logs EMFILE and failed spans say Too many open files', () => {
    const lines = logs(w, { services: ['ledger-api'], from: at(-5), to: at(0), limit: 5000 });
    expect(lines.some((l) => l.level === 'ERROR' && /Too many open files \(EMFILE\).*open fds 4096\/4096/.test(l.message))).toBe(true);
    const spans = traces(w, { services: ['ledger-api'], from: at(-5), to: at(0), limit: 20, errorsOnly: true }).flatMap((t) => t.spans);
    expect(spans.some((s) => s.error === 'IOException: Too many open files (EMFILE)')).toBe(true);
  });

  it('a restart closes the leaked descriptors', () => {
    const { state } = applyAction(w, { kind: 'restart-service', service: 'ledger-api' }, new Date(at(0)));
    expect(values(state, 'ledger-api', 6).open_fds).toBeLessThan(2000);
    expect(values(state, 'ledger-api', 6).error_rate_pct).toBeLessThan(1);
  });
});

describe('quota: demand that grows into a rate limit is throttled, with no fault at all', () => {
  // The database serves ~1,200 req/s under a 1,600 req/s quota; a 2× surge on the frontend reaches it through the calls.
  const input = scenario({
    db: { quota: { name: 'provisioned WriteCapacityUnits', limitRps: 1600 } },
    load: [{ services: ['ledger-web'], startsAt: -20, rampMinutes: 2, factor: 2 }],
    expect: { rootCause: { service: 'ledger-db', category: 'throttling' }, mitigation: { kind: 'scale-service', service: 'ledger-db' } },
  });
  const w = world(input);

  it('serves up to the limit, throttles the excess, and the callers inherit the throttled share as errors', () => {
    const before = values(w, 'ledger-db', -30);
    expect(before.throttled_rps).toBe(0);
    expect(before.quota_limit_rps).toBe(1600);
    expect(before.error_rate_pct).toBeLessThan(0.5);
    const now = values(w, 'ledger-db', 0);
    expect(now.throttled_rps).toBeGreaterThan(500);
    expect(now.throughput_rps).toBeCloseTo(1600, 0);
    const share = (100 * now.throttled_rps) / (now.throttled_rps + now.throughput_rps);
    expect(now.error_rate_pct).toBeGreaterThan(share - 1);
    expect(values(w, 'ledger-api', 0).error_rate_pct).toBeGreaterThan(share * 0.5);
    expect(values(w, 'ledger-web', 0).error_rate_pct).toBeGreaterThan(share * 0.3);
    // Not CPU: the database's CPU has headroom (the surge alone would not saturate it).
    expect(now.cpu_pct).toBeLessThan(85);
  });

  it('callers log ThrottlingException: Rate exceeded (429); the throttled service logs its throttling', () => {
    const api = logs(w, { services: ['ledger-api'], from: at(-5), to: at(0), limit: 5000 });
    expect(api.some((l) => l.message.includes('call to ledger-db failed: ThrottlingException: Rate exceeded (HTTP 429 Too Many Requests)'))).toBe(true);
    const db = logs(w, { services: ['ledger-db'], from: at(-5), to: at(0), limit: 5000 });
    expect(db.some((l) => l.level === 'WARN' && /429 Too Many Requests \(ThrottlingException: Rate exceeded for provisioned WriteCapacityUnits, limit 1600\/s/.test(l.message))).toBe(true);
  });

  it('scaling the throttled service raises the limit and the throttling stops', () => {
    const { state } = applyAction(w, { kind: 'scale-service', service: 'ledger-db' }, new Date(at(0)));
    const after = values(state, 'ledger-db', 6);
    expect(after.quota_limit_rps).toBe(3200);
    expect(after.throttled_rps).toBe(0);
    expect(values(state, 'ledger-web', 6).error_rate_pct).toBeLessThan(1);
  });

  it('a fault can lower the quota itself', () => {
    const lowered = world({ ...input, load: [], faults: [{ service: 'ledger-db', startsAt: -10, rampMinutes: 0, kind: 'quota-cut', effects: { quota_limit_rps: { value: 800 } }, fixedBy: [{ kind: 'scale-service', service: 'ledger-db' }] }] });
    expect(values(lowered, 'ledger-db', -15).throttled_rps).toBe(0);
    expect(values(lowered, 'ledger-db', 0).quota_limit_rps).toBe(800);
    expect(values(lowered, 'ledger-db', 0).throttled_rps).toBeGreaterThan(200);
  });
});

describe('certificates: days to expiry from the instant', () => {
  it('is the days to the earliest notAfter, crossing 0 at it and negative after', () => {
    const w = world(scenario({ api: { certificates: [{ subject: 'CN=ledger-api', notAfter: -10 }, { subject: 'CN=ledger-api-internal', notAfter: 30 * 1440 }] } }));
    expect(values(w, 'ledger-api', -1450).cert_days_to_expiry).toBeCloseTo(1, 3);
    expect(values(w, 'ledger-api', -11).cert_days_to_expiry).toBeGreaterThan(0);
    expect(values(w, 'ledger-api', -10).cert_days_to_expiry).toBe(0);
    expect(values(w, 'ledger-api', -9).cert_days_to_expiry).toBeLessThan(0);
    expect(values(w, 'ledger-api', 1430).cert_days_to_expiry).toBeCloseTo(-1, 3);
    // Observing the date fails nothing: without a fault the service is healthy.
    expect(values(w, 'ledger-api', 0).error_rate_pct).toBeLessThan(1);
    const [series] = metricSeries(w, { services: ['ledger-api'], metrics: ['cert_days_to_expiry'], from: at(-12), to: at(-8) });
    expect(series?.unit).toBe('days');
    expect(series?.points.map((p) => Math.sign(p.v))).toEqual([1, 1, 0, -1, -1]);
  });
});
