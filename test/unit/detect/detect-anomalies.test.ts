/**
 * The detector's core (functions/detect-anomalies/core.ts) with fakes: a telemetry port whose series are a seeded,
 * per-minute noise (the same minute reads the same on every tick, as a metrics API answers) plus the faults a test
 * puts in, the in-memory incident store behind the real core intake, and a fake workflow.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../functions/core/config.ts';
import { intakeAlerts } from '../../../functions/core/intake/intake.ts';
import { NormalizedAlert } from '../../../functions/core/model.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { METRICS, type MetricSeries, type Telemetry, ToolUnavailable, UnknownEnvironment } from '../../../functions/core/tools/ports.ts';
import { CONFIRM_POINTS, type DetectorTarget, detectAnomalies, detectorDedupKey, parseDetectorTargets, RECOVERY_POINTS, TAG } from '../../../functions/detect-anomalies/core.ts';
import { FakeWorkflow } from '../api/fixtures.ts';

const MINUTE = 60_000;
const T0 = Date.parse('2026-03-02T12:00:00Z');
const BASE: Record<string, number> = { [METRICS.latencyP99]: 200, [METRICS.errorRate]: 0.5, [METRICS.throughput]: 100, [METRICS.cpu]: 40 };

/** A deterministic standard normal for (key, minute): the same minute answers the same on every tick. */
const noise = (key: string, minute: number): number => {
  let h = 2166136261;
  for (const c of `${key}#${minute}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  const u1 = ((h >>> 0) % 1_000_003) / 1_000_003 + 1e-7;
  h = Math.imul(h ^ 0x9e3779b9, 16777619);
  const u2 = ((h >>> 0) % 999_983) / 999_983;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
};

interface Fault {
  readonly environment?: string;
  readonly service: string;
  readonly metric: string;
  /** Minutes from T0. */
  readonly from: number;
  readonly to?: number;
  readonly value: (base: number) => number;
}

class FakeTelemetry implements Pick<Telemetry, 'queryMetrics' | 'getTopology'> {
  readonly faults: Fault[] = [];
  readonly broken = new Set<string>();
  readonly queries: { environment?: string; services: readonly string[] }[] = [];
  /** Who calls whom (caller → callees); none unless a test draws them. */
  readonly calls: Record<string, string[]> = {};
  readonly worlds: Record<string, string[]>;
  constructor(worlds: Record<string, string[]>) {
    this.worlds = worlds;
  }

  value(environment: string, service: string, metric: string, minute: number): number {
    const base = BASE[metric] ?? 50;
    const fault = this.faults.find((f) => (f.environment ?? 'w') === environment && f.service === service && f.metric === metric && minute >= f.from && (f.to === undefined || minute < f.to));
    const level = fault ? fault.value(base) : base;
    return Math.max(0, level + 0.03 * base * noise(`${environment}/${service}/${metric}`, minute));
  }

  async getTopology(q: { environment?: string }) {
    this.check(q.environment);
    return this.worlds[q.environment!]!.map((name) => ({ name, tier: 'backend' as const, calls: this.calls[name] ?? [] }));
  }

  async queryMetrics(q: { environment?: string; services: readonly string[]; metrics?: readonly string[]; from: string; to: string }): Promise<MetricSeries[]> {
    this.check(q.environment);
    this.queries.push({ environment: q.environment, services: q.services });
    const from = Date.parse(q.from);
    const to = Date.parse(q.to);
    const out: MetricSeries[] = [];
    for (const service of q.services) {
      for (const metric of q.metrics ?? Object.keys(BASE)) {
        if (!(metric in BASE)) continue;
        const points = [];
        for (let t = from; t <= to; t += MINUTE) points.push({ t: new Date(t).toISOString(), v: this.value(q.environment!, service, metric, Math.round((t - T0) / MINUTE)) });
        out.push({ service, metric, unit: '', points });
      }
    }
    return out;
  }

  private check(environment: string | undefined) {
    if (environment && this.broken.has(environment)) throw new ToolUnavailable('telemetry', `${environment}: 503 from the metrics API`);
    if (!environment || !this.worlds[environment]) throw new UnknownEnvironment('telemetry', environment ?? '', `environment "${environment}" is not a known simulated world`);
  }
}

const setup = (targets: DetectorTarget[] = [{ environment: 'w' }], worlds: Record<string, string[]> = { w: ['checkout', 'payments'] }) => {
  let now = T0;
  const clock = () => new Date(now);
  const telemetry = new FakeTelemetry(worlds);
  const store = new MemoryIncidentStore({ clock });
  const workflow = new FakeWorkflow();
  const published: { type: string; detail: Record<string, unknown> }[] = [];
  const run = detectAnomalies({
    telemetry,
    intake: { store, workflow, events: { publish: async (type, detail) => void published.push({ type, detail }) }, config: { VERIFY_WAIT_SECONDS: 30, MAX_VERIFY_CHECKS: 3, CORRELATION_WINDOW_SECONDS: 300 }, clock },
    targets,
    clock,
  });
  /** Runs the detector at `minute` (from T0). */
  const tick = (minute: number) => {
    now = T0 + minute * MINUTE + 7_000; // a few seconds into the minute, as a schedule fires
    return run();
  };
  return { telemetry, store, workflow, published, tick };
};

const errorsUp: Omit<Fault, 'from'> = { service: 'checkout', metric: METRICS.errorRate, value: () => 25 };

describe('detect-anomalies: a sustained anomaly', () => {
  it('opens one incident with source detector, the target environment and the detection as evidence, once the anomaly has lasted CONFIRM_POINTS minutes', async () => {
    const { telemetry, store, tick, published } = setup();
    telemetry.faults.push({ ...errorsUp, from: 10 });

    // Prepare / Act: before the fault, and on its first minutes, nothing
    for (let m = 0; m < 10 + CONFIRM_POINTS - 1; m++) expect((await tick(m)).detections, `minute ${m}`).toBe(0);
    const report = await tick(10 + CONFIRM_POINTS - 1);

    // Assess
    expect(report).toMatchObject({ detections: 1, opened: 1, failures: 0 });
    const outcome = report.targets[0]!.outcomes[0]!;
    expect(outcome).toMatchObject({ service: 'checkout', action: 'opened' });
    const incident = (await store.getIncident(outcome.incidentId!))!;
    expect(incident).toMatchObject({ source: 'detector', environment: 'w', service: 'checkout', dedupKey: detectorDedupKey('w', 'checkout'), severity: 'SEV3' });
    expect(incident.title).toMatch(/^Anomaly on checkout: error_rate_pct 2\d(\.\d+)? \(baseline 0\.\d+\)$/);
    // startedAt is the first anomalous minute, not the detection's
    expect(incident.startedAt).toBe(new Date(T0 + 10 * MINUTE).toISOString());
    const detail = (await store.getDetail(incident.incidentId))!;
    const { tags, description } = detail.alerts[0]!.alert;
    expect(tags).toMatchObject({ [TAG.metric]: 'error_rate_pct', [TAG.direction]: 'up', [TAG.onset]: incident.startedAt, environment: 'w', service: 'checkout' });
    expect(Number(tags[TAG.baseline])).toBeCloseTo(0.5, 1);
    expect(Number(tags[TAG.score])).toBeGreaterThanOrEqual(0.9999);
    expect(description).toContain('error_rate_pct = ');
    expect(detail.timeline.map((e) => e.type)).toContain('incident-opened');
    expect(published.filter((p) => p.type === 'Incident Opened')).toHaveLength(1);
  });

  it('confirms over a target’s confirmMinutes instead when it sets them (sooner, at the price of shorter blips)', async () => {
    const quick = setup([{ environment: 'w', confirmMinutes: 1 }]);
    const steady = setup();
    for (const s of [quick, steady]) s.telemetry.faults.push({ ...errorsUp, from: 10 });
    for (let m = 0; m < 10; m++) for (const s of [quick, steady]) await s.tick(m);

    expect((await quick.tick(10)).opened).toBe(1);
    expect((await steady.tick(10)).opened).toBe(0);
  });

  it('reads a source whose present is ahead of the wall clock (a world the twin moved ahead) up to that present, and stamps the alert with it', async () => {
    const { telemetry, store, tick } = setup();
    telemetry.faults.push({ ...errorsUp, from: 10 });
    // The world's clock runs 20 minutes ahead of the wall clock: at wall minute 0 the fault has lasted 10 minutes there.
    const ahead = telemetry as FakeTelemetry & { present?: () => Promise<string> };
    ahead.present = async () => new Date(T0 + 7_000 + 20 * MINUTE).toISOString();

    const report = await tick(0);

    expect(report).toMatchObject({ opened: 1 });
    const incident = (await store.getIncident(report.targets[0]!.outcomes[0]!.incidentId!))!;
    expect(incident.startedAt).toBe(new Date(T0 + 10 * MINUTE).toISOString());
    // Without a present (a real source), the wall clock decides: minute 0 is before the fault.
    const wall = setup();
    wall.telemetry.faults.push({ ...errorsUp, from: 10 });
    expect((await wall.tick(0)).detections).toBe(0);
  });

  it('opens one incident for anomalous services that call each other, for the deepest of them, and reports the callers as grouped into it', async () => {
    const { telemetry, store, tick } = setup();
    telemetry.calls.checkout = ['payments'];
    // The fault is in payments; its caller checkout inherits the errors.
    telemetry.faults.push({ service: 'payments', metric: METRICS.errorRate, from: 10, value: () => 30 }, { ...errorsUp, from: 10 });
    for (let m = 0; m < 10 + CONFIRM_POINTS - 1; m++) await tick(m);

    const report = await tick(10 + CONFIRM_POINTS - 1);

    expect((await store.listIncidents({})).items).toHaveLength(1);
    const opened = report.targets[0]!.outcomes.find((o) => o.action === 'opened')!;
    expect(opened.service).toBe('payments');
    expect(report.targets[0]!.outcomes).toContainEqual(expect.objectContaining({ service: 'checkout', action: 'grouped', groupedInto: 'payments', incidentId: opened.incidentId }));
    const alert = (await store.getDetail(opened.incidentId!))!.alerts[0]!.alert;
    expect(alert.tags[TAG.related]).toBe('checkout');
    expect(alert.description).toMatch(/Also anomalous[^\n]*\n- checkout: error_rate_pct/);
  });

  it('keeps a group on the incident it already has when the fault reaches a deeper service later', async () => {
    const { telemetry, store, tick } = setup();
    telemetry.calls.checkout = ['payments'];
    telemetry.faults.push({ ...errorsUp, from: 10 }, { service: 'payments', metric: METRICS.errorRate, from: 20, value: () => 30 });
    for (let m = 0; m <= 12; m++) await tick(m);
    const first = (await store.listIncidents({})).items;
    expect(first.map((i) => i.service)).toEqual(['checkout']);

    let last;
    for (let m = 13; m <= 25; m++) last = await tick(m);

    expect((await store.listIncidents({})).items).toHaveLength(1);
    expect(last!.targets[0]!.outcomes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ service: 'checkout', action: 'deduplicated', incidentId: first[0]!.incidentId }),
        expect.objectContaining({ service: 'payments', action: 'grouped', groupedInto: 'checkout' }),
      ]),
    );
  });

  it('sends the detection again while its incident’s opening is unfinished, and the repeat completes it', async () => {
    const { telemetry, store, workflow, tick, published } = setup();
    telemetry.faults.push({ ...errorsUp, from: 10 });
    for (let m = 0; m < 10 + CONFIRM_POINTS - 1; m++) await tick(m);
    // Prepare: Step Functions refuses the start on the detecting run
    workflow.startError = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $retryable: {} });
    const failed = await tick(10 + CONFIRM_POINTS - 1);
    expect(failed.targets[0]!.outcomes[0]).toMatchObject({ service: 'checkout', action: 'failed' });
    expect(workflow.executions.size).toBe(0);
    workflow.startError = undefined;

    // Act: the next run
    const next = await tick(10 + CONFIRM_POINTS);

    // Assess: sent again (not skipped as already open), the execution started, Incident Opened published once
    expect(next.targets[0]!.outcomes[0]).toMatchObject({ service: 'checkout', action: 'deduplicated' });
    expect(next.targets[0]!.outcomes[0]!.alreadyOpen).toBeUndefined();
    expect(workflow.executions.size).toBe(1);
    expect(published.filter((p) => p.type === 'Incident Opened')).toHaveLength(1);
    const incident = (await store.listIncidents({})).items[0]!;
    expect(incident.executionArn).toBeDefined();
  });

  it('deduplicates the next minutes’ detections of the same anomaly into the same incident', async () => {
    const { telemetry, store, tick, published } = setup();
    telemetry.faults.push({ ...errorsUp, from: 10 });
    for (let m = 0; m <= 12; m++) await tick(m);

    const next = await tick(13);
    const later = await tick(14);

    const first = (await store.findByDedupKey('detector', detectorDedupKey('w', 'checkout')))!;
    for (const r of [next, later]) expect(r.targets[0]!.outcomes).toEqual([expect.objectContaining({ service: 'checkout', action: 'deduplicated', incidentId: first.incidentId })]);
    // Its incident fully opened, the repeats send nothing: no alert and no timeline line a minute.
    for (const r of [next, later]) expect(r.targets[0]!.outcomes[0]).toMatchObject({ alreadyOpen: true });
    expect((await store.getIncident(first.incidentId))!.alertCount).toBe(1);
    expect((await store.getDetail(first.incidentId))!.timeline.filter((e) => e.type === 'alert-deduplicated')).toEqual([]);
    expect((await store.listIncidents({})).items).toHaveLength(1);
    expect(published.filter((p) => p.type === 'Incident Opened')).toHaveLength(1);
  });

  it('takes a second service’s anomaly through correlation as any alert: keyed by environment and service, it opens its own incident', async () => {
    const { telemetry, store, tick } = setup();
    telemetry.faults.push({ ...errorsUp, from: 10 }, { service: 'payments', metric: METRICS.latencyP99, from: 11, value: (b) => b * 3 });
    for (let m = 0; m <= 14; m++) await tick(m);
    const checkout = (await store.findByDedupKey('detector', detectorDedupKey('w', 'checkout')))!;
    const payments = (await store.findByDedupKey('detector', detectorDedupKey('w', 'payments')))!;
    // Correlation is by environment and service (CORR#<env>#<service>): two services, two incidents.
    expect(checkout.incidentId).not.toBe(payments.incidentId);
    expect(payments).toMatchObject({ source: 'detector', service: 'payments', environment: 'w' });
  });

  it('correlates into the open incident a vendor alert opened for the same environment and service', async () => {
    const { telemetry, store, tick, workflow } = setup();
    telemetry.faults.push({ ...errorsUp, from: 10 });
    const vendor = NormalizedAlert.parse({ source: 'generic', dedupKey: 'checkout-5xx', state: 'OPEN', title: 'checkout 5xx', service: 'checkout', severity: 'SEV2', startedAt: new Date(T0 + 10 * MINUTE).toISOString(), environment: 'w' });
    for (let m = 0; m <= 11; m++) await tick(m);
    const [opened] = await intakeAlerts({ store, workflow, events: { publish: async () => undefined }, config: { VERIFY_WAIT_SECONDS: 30, MAX_VERIFY_CHECKS: 3 }, clock: () => new Date(T0 + 11 * MINUTE + 30_000) }, [{ alert: vendor, raw: {} }]);

    const report = await tick(12);

    expect(report.targets[0]!.outcomes).toEqual([expect.objectContaining({ service: 'checkout', action: 'correlated', incidentId: (opened as { incidentId: string }).incidentId })]);
    expect((await store.getIncident((opened as { incidentId: string }).incidentId))!.distinctAlerts).toBe(2);
  });

  it('sends RESOLVED once the service is back within its baseline for RECOVERY_POINTS minutes, through the resolve path, and then nothing more', async () => {
    const { telemetry, store, tick } = setup();
    telemetry.faults.push({ ...errorsUp, from: 10, to: 20 });
    for (let m = 0; m < 20; m++) await tick(m);
    const incidentId = (await store.findByDedupKey('detector', detectorDedupKey('w', 'checkout')))!.incidentId;

    const actions: string[] = [];
    for (let m = 20; m < 20 + RECOVERY_POINTS + 3; m++) actions.push(...(await tick(m)).targets[0]!.outcomes.map((o) => `${m}:${o.action}`));

    // (the first normal minute can still score as anomalous: its jump back is itself unusual, and deduplicates)
    expect(actions.filter((a) => !a.endsWith(':deduplicated'))).toEqual([`${20 + RECOVERY_POINTS - 1}:resolved`]);
    const incident = (await store.getIncident(incidentId))!;
    expect(incident).toMatchObject({ distinctAlerts: 1, resolvedAlerts: 1 });
    const detail = (await store.getDetail(incidentId))!;
    expect(detail.alerts.at(-1)!.alert).toMatchObject({ source: 'detector', state: 'RESOLVED', dedupKey: detectorDedupKey('w', 'checkout') });
    expect(detail.timeline.map((e) => e.type)).toContain('alert-resolved');
  });

  it('withdraws a pending approval when the detector sees the service recover (the intake’s resolve path)', async () => {
    const { telemetry, store, tick, workflow } = setup();
    telemetry.faults.push({ ...errorsUp, from: 10, to: 20 });
    for (let m = 0; m < 20; m++) await tick(m);
    const incidentId = (await store.findByDedupKey('detector', detectorDedupKey('w', 'checkout')))!.incidentId;
    await store.requestApproval(incidentId, 'token-1', { status: 'PENDING', requestedAt: new Date(T0).toISOString(), channel: 'api', requestId: 'r1' });

    for (let m = 20; m < 20 + RECOVERY_POINTS; m++) await tick(m);

    expect(workflow.failures).toEqual([expect.objectContaining({ taskToken: 'token-1', error: 'AlertsResolved' })]);
    expect((await store.getIncident(incidentId))!.approval?.status).toBe('WITHDRAWN');
  });
});

describe('detect-anomalies: what opens nothing', () => {
  it('noise alone opens nothing over two hours of ticks', async () => {
    const { tick, store } = setup();
    let detections = 0;
    for (let m = 0; m < 120; m++) detections += (await tick(m)).detections;
    expect(detections).toBe(0);
    expect((await store.listIncidents({})).items).toHaveLength(0);
  });

  it('one noisy point (a single-minute spike) opens nothing', async () => {
    const { telemetry, tick } = setup();
    telemetry.faults.push({ ...errorsUp, from: 10, to: 11 });
    let detections = 0;
    for (let m = 0; m < 20; m++) detections += (await tick(m)).detections;
    expect(detections).toBe(0);
  });

  it('a change in the harmless direction (error rate falling, throughput up 10 %) opens nothing', async () => {
    const { telemetry, tick } = setup();
    telemetry.faults.push({ service: 'checkout', metric: METRICS.errorRate, from: 10, value: () => 0 }, { service: 'payments', metric: METRICS.throughput, from: 10, value: (b) => b * 1.1 });
    let detections = 0;
    for (let m = 0; m < 25; m++) detections += (await tick(m)).detections;
    expect(detections).toBe(0);
  });
});

describe('detect-anomalies: SLO burn rate', () => {
  it('pages on a burn of 14.4× over 1 h and 5 min that the anomaly detector does not see (a slow rise), with severity SEV2', async () => {
    // Only latency is scored for anomalies: the error rate is read for the SLO alone.
    const { telemetry, store, tick } = setup([{ environment: 'w', services: ['checkout'], metrics: [METRICS.latencyP99], slo: { objectivePct: 99.9 } }]);
    // 2 % errors for the last 70 minutes against a 0.1 % budget: 20× on both windows.
    telemetry.faults.push({ service: 'checkout', metric: METRICS.errorRate, from: -70, value: () => 2 });

    const report = await tick(0);

    expect(report.targets[0]!.outcomes[0]).toMatchObject({ service: 'checkout', action: 'opened' });
    const signal = report.targets[0]!.outcomes[0]!.signals![0]!;
    expect(signal).toMatchObject({ kind: 'slo-burn', metric: 'error_rate_pct', burn: { window: { longMinutes: 60, shortMinutes: 5, burnRate: 14.4 }, objectivePct: 99.9 } });
    expect(signal.burn!.long).toBeGreaterThan(14.4);
    const incident = (await store.findByDedupKey('detector', detectorDedupKey('w', 'checkout')))!;
    expect(incident).toMatchObject({ severity: 'SEV2' });
    expect(incident.title).toMatch(/^SLO burn on checkout: error budget burning \d+(\.\d+)?× \(5 min\) and \d+(\.\d+)?× \(60 min\)$/);
  });

  it('does not page while only the short window burns (a 5-minute blip)', async () => {
    const { telemetry, tick } = setup([{ environment: 'w', services: ['checkout'], metrics: [METRICS.latencyP99], slo: { objectivePct: 99.9 } }]);
    telemetry.faults.push({ service: 'checkout', metric: METRICS.errorRate, from: -5, value: () => 2 });
    expect((await tick(0)).detections).toBe(0);
  });
});

describe('detect-anomalies: targets', () => {
  it('a target whose telemetry fails is reported and skipped; the others still run', async () => {
    const { telemetry, tick } = setup([{ environment: 'broken' }, { environment: 'w' }], { broken: ['a'], w: ['checkout', 'payments'] });
    telemetry.broken.add('broken');
    telemetry.faults.push({ ...errorsUp, from: -3 });

    const report = await tick(0);

    expect(report.targets[0]).toMatchObject({ environment: 'broken', status: 'failed', error: 'ToolUnavailable', reason: expect.stringContaining('503 from the metrics API') });
    expect(report.targets[1]).toMatchObject({ environment: 'w', status: 'ok', servicesScored: 2 });
    expect(report.opened).toBe(1);
    expect(report.failures).toBe(1);
  });

  it('a target whose environment does not exist is skipped quietly (not a failure)', async () => {
    const { tick } = setup([{ environment: 'live' }, { environment: 'w' }]);
    const report = await tick(0);
    expect(report.targets[0]).toMatchObject({ environment: 'live', status: 'skipped', reason: expect.stringContaining('world live does not exist') });
    expect(report.failures).toBe(0);
    expect(report.targets[1]).toMatchObject({ status: 'ok', servicesScored: 2 });
  });

  it('scores the given services only, else the environment’s topology', async () => {
    const { telemetry, tick } = setup([{ environment: 'w', services: ['payments'] }]);
    await tick(0);
    expect(telemetry.queries.map((q) => q.services)).toEqual([['payments']]);
  });
});

describe('DETECTOR_TARGETS', () => {
  it('is a list of targets; unset or blank is none', () => {
    expect(parseDetectorTargets({})).toEqual([]);
    expect(parseDetectorTargets({ DETECTOR_TARGETS: ' ' })).toEqual([]);
    expect(parseDetectorTargets({ DETECTOR_TARGETS: '[{"environment":"prod","services":["checkout"],"slo":{"objectivePct":99.9}}]' })).toEqual([{ environment: 'prod', services: ['checkout'], slo: { objectivePct: 99.9 } }]);
  });

  it.each([
    ['not JSON', 'environment: prod', /DETECTOR_TARGETS is not JSON/],
    ['not a list', '{"environment":"prod"}', /DETECTOR_TARGETS: \(list\): /],
    ['a target without environment', '[{"services":["a"]}]', /DETECTOR_TARGETS: 0\.environment: /],
    ['an unknown field', '[{"environment":"prod","service":"a"}]', /DETECTOR_TARGETS: 0: .*service/],
    ['an objective of 100 %', '[{"environment":"prod","slo":{"objectivePct":100}}]', /DETECTOR_TARGETS: 0\.slo\.objectivePct: /],
    ['a short window as long as the long one', '[{"environment":"prod","slo":{"objectivePct":99,"windows":[{"longMinutes":5,"shortMinutes":5,"burnRate":2}]}}]', /DETECTOR_TARGETS: 0\.slo\.windows\.0\.shortMinutes: shortMinutes must be shorter/],
    ['confirmMinutes of 0', '[{"environment":"prod","confirmMinutes":0}]', /DETECTOR_TARGETS: 0\.confirmMinutes: /],
    ['an environment twice', '[{"environment":"prod"},{"environment":"prod"}]', /DETECTOR_TARGETS: 1\.environment: environment "prod" is listed twice/],
  ])('refuses %s with a ConfigError naming the problem', (_what, value, message) => {
    expect(() => parseDetectorTargets({ DETECTOR_TARGETS: value })).toThrow(ConfigError);
    expect(() => parseDetectorTargets({ DETECTOR_TARGETS: value })).toThrow(message);
  });
});
