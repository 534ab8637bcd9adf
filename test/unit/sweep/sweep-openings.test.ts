/**
 * The opening sweeper's core (functions/sweep-openings/core.ts) with MemoryIncidentStore, a fake Step Functions and an
 * in-memory bus: which openings it takes over and when (a dead claimant's after its lease, a released claim at once, a
 * never-claimed incident once older than the lease, a published one never), paging to the end, its per-run bounds,
 * and races with another sweeper and with a live delivery (one start, one `Incident Opened`).
 */
import { describe, expect, it } from 'vitest';
import { MemoryEventPublisher } from '../../../functions/core/events.ts';
import type { Observability } from '../../../functions/core/handler.ts';
import { OPENING_LEASE_MS } from '../../../functions/core/intake/opening.ts';
import type { ExecutionInput } from '../../../functions/core/model.ts';
import { StaticSecret } from '../../../functions/core/secrets.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import type { ListQuery } from '../../../functions/core/store/store.ts';
import type { StartResult } from '../../../functions/core/workflow-client.ts';
import { ingestAlert } from '../../../functions/ingest-alert/core.ts';
import { MAX_TAKEOVERS_PER_RUN, SWEEPER_CLAIMANT, SweepSettingInvalid, sweepOpenings } from '../../../functions/sweep-openings/core.ts';
import { FakeWorkflow, apiEvent, bodyOf, statusOf } from '../api/fixtures.ts';
import { alertFixture, manualClock } from '../store/contract.ts';

/** Step Functions that answers after a tick (so concurrent takers interleave) and counts its StartExecution calls. */
class CountingWorkflow extends FakeWorkflow {
  readonly calls: string[] = [];
  onStart: (() => void) | undefined;
  override async start(name: string, input: ExecutionInput): Promise<StartResult> {
    this.calls.push(name);
    this.onStart?.();
    await new Promise((resolve) => setTimeout(resolve, 1));
    return super.start(name, input);
  }
}

/** Powertools' logger and metrics, recorded. */
const recordingObservability = () => {
  const metrics: Record<string, number> = {};
  const logs: { level: string; message: string; extra?: unknown }[] = [];
  const log = (level: string) => (message: string, extra?: unknown) => logs.push({ level, message, extra });
  const o = {
    logger: { info: log('info'), warn: log('warn'), error: log('error'), appendKeys: () => undefined },
    metrics: { addMetric: (name: string, _unit: string, value: number) => (metrics[name] = (metrics[name] ?? 0) + value) },
    tracer: {},
  } as unknown as Observability;
  return { o, metrics, logs };
};

const CONFIG = { VERIFY_WAIT_SECONDS: 30, MAX_VERIFY_CHECKS: 3 } as const;

const setup = () => {
  const clock = manualClock('2024-05-01T12:10:00.000Z');
  const store = new MemoryIncidentStore({ clock });
  const workflow = new CountingWorkflow();
  const events = new MemoryEventPublisher({ validate: true });
  const pages: ListQuery[] = [];
  // The store, with every page the sweeper asks for recorded.
  const listing = new Proxy(store, {
    get(target, prop) {
      if (prop === 'listIncidents') {
        return (query: ListQuery) => {
          pages.push(query);
          return target.listIncidents(query);
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const sweeper = (options: { maxTakeovers?: number; budgetMs?: number; pageSize?: number } = {}) =>
    sweepOpenings({ store: listing, workflow, events, config: CONFIG, clock, ...options });
  let n = 0;
  /** A delivery that recorded its alert and died before claiming the opening: an OPEN incident, no claim. */
  const recorded = async (service = `svc-${++n}`) => (await store.recordAlert(alertFixture({ dedupKey: `PID-${++n}`, service }), {}, () => `inc-${String(n).padStart(4, '0')}`, { correlationWindowSeconds: 3600 })).incident.incidentId;
  /** A delivery that recorded its alert, claimed the opening and died (its claim held until the lease ends). */
  const claimedAndDied = async () => {
    const incidentId = await recorded();
    const claim = await store.claimOpening(incidentId, { claimId: `dead-${incidentId}`, claimedBy: 'dynatrace:PID', at: clock(), leaseMs: OPENING_LEASE_MS });
    expect(claim.claimed).toBe(true);
    return incidentId;
  };
  const opened = (incidentId?: string) => events.ofType('Incident Opened').filter((d) => !incidentId || d.incidentId === incidentId);
  const startsOf = (incidentId: string) => workflow.calls.filter((c) => c === incidentId).length;
  return { clock, store, workflow, events, pages, sweeper, recorded, claimedAndDied, opened, startsOf };
};

describe('unit: sweep-openings takes over openings nobody will complete', () => {
  it('takes over a dead claimant’s opening once its lease has passed, and not before', async () => {
    // Prepare
    const { clock, store, sweeper, claimedAndDied, opened, workflow } = setup();
    const incidentId = await claimedAndDied();
    // Act: just before the lease ends, then just after
    clock.advance(OPENING_LEASE_MS - 1000);
    const early = await sweeper()();
    const callsEarly = [...workflow.calls];
    clock.advance(2000);
    const late = await sweeper()();
    // Assess
    expect(early.takenOver).toEqual([]);
    expect(callsEarly).toEqual([]);
    expect(late.takenOver).toEqual([{ incidentId, was: 'expired', executionArn: expect.stringContaining(incidentId), started: true, published: true }]);
    expect(opened(incidentId)).toEqual([expect.objectContaining({ incidentId, executionArn: late.takenOver[0].executionArn })]);
    const meta = await store.getIncident(incidentId);
    expect(meta?.executionArn).toBe(late.takenOver[0].executionArn);
    expect(meta?.opening).toMatchObject({ claimedBy: SWEEPER_CLAIMANT, publishedAt: expect.any(String) });
    const timeline = (await store.getDetail(incidentId))?.timeline ?? [];
    expect(timeline.filter((e) => e.type === 'workflow-started')).toHaveLength(1);
  });

  it('takes over an incident whose delivery died before claiming once the incident is older than the lease, not while its delivery may be alive', async () => {
    const { clock, sweeper, recorded, opened, workflow } = setup();
    const incidentId = await recorded();
    clock.advance(OPENING_LEASE_MS - 1);
    expect((await sweeper()()).takenOver).toEqual([]);
    clock.advance(1);
    const run = await sweeper()();
    expect(run.takenOver).toEqual([expect.objectContaining({ incidentId, was: 'unclaimed', started: true, published: true })]);
    expect(workflow.executions.size).toBe(1);
    expect(opened(incidentId)).toHaveLength(1);
  });

  it('takes a released claim at once, however young the incident', async () => {
    // Prepare: a delivery that saw a failure and gave its claim up (its vendor may never retry)
    const { store, clock, sweeper, recorded, opened } = setup();
    const incidentId = await recorded();
    await store.claimOpening(incidentId, { claimId: 'failed', claimedBy: 'generic:a', at: clock(), leaseMs: OPENING_LEASE_MS });
    await store.releaseOpening(incidentId, 'failed');
    // Act
    const run = await sweeper()();
    // Assess
    expect(run.takenOver).toEqual([expect.objectContaining({ incidentId, was: 'released', published: true })]);
    expect(opened(incidentId)).toHaveLength(1);
  });

  it('leaves a published opening alone, and an incident from before the journal (ARN, no journal)', async () => {
    // Prepare: one opened by the sweeper itself, one opened by an older version of the webhook
    const { store, clock, sweeper, recorded, opened, workflow } = setup();
    const first = await recorded();
    clock.advance(OPENING_LEASE_MS);
    await sweeper()();
    const legacy = await recorded();
    await store.setExecutionArn(legacy, `arn:aws:states:us-east-1:123456789012:execution:incident-response:${legacy}`);
    const callsBefore = workflow.calls.length;
    // Act: long after every lease
    clock.advance(10 * OPENING_LEASE_MS);
    const run = await sweeper()();
    // Assess
    expect(run).toMatchObject({ examined: 2, takenOver: [], skipped: [], failed: [], complete: true });
    expect(workflow.calls.length).toBe(callsBefore);
    expect(opened(first)).toHaveLength(1);
    expect(opened(legacy)).toHaveLength(0);
  });

  it('publishes the missing Incident Opened of an INVESTIGATING incident whose claimant died after starting its workflow, without starting another', async () => {
    // Prepare: started and recorded, then died before publishing; the workflow has moved the incident on
    const { store, clock, sweeper, claimedAndDied, opened, workflow } = setup();
    const incidentId = await claimedAndDied();
    const { executionArn } = await workflow.start(incidentId, { incidentId } as ExecutionInput);
    await store.recordOpeningStarted(incidentId, `dead-${incidentId}`, executionArn);
    await store.updateIncident(incidentId, { status: 'INVESTIGATING' });
    const calls = workflow.calls.length;
    clock.advance(OPENING_LEASE_MS + 1000);
    // Act
    const run = await sweeper()();
    // Assess
    expect(run.takenOver).toEqual([{ incidentId, was: 'expired', executionArn, started: false, published: true }]);
    expect(workflow.calls.length).toBe(calls);
    expect(opened(incidentId)).toHaveLength(1);
  });

  it('never touches a closed incident, published or not', async () => {
    const { store, clock, sweeper, recorded, workflow, opened } = setup();
    for (const status of ['ESCALATED', 'FAILED', 'RESOLVED'] as const) await store.updateIncident(await recorded(), { status });
    clock.advance(OPENING_LEASE_MS + 1000);
    const run = await sweeper()();
    expect(run).toMatchObject({ examined: 0, takenOver: [] });
    expect(workflow.calls).toEqual([]);
    expect(opened()).toEqual([]);
  });

  it('leaves an incident the lagging status index still lists as OPEN, but that has closed, without writing to it', async () => {
    // Prepare: the index still holds the OPEN copy of an incident that has escalated since
    const { store, clock, workflow, events, recorded, opened } = setup();
    const incidentId = await recorded();
    const stale = await store.getIncident(incidentId);
    await store.updateIncident(incidentId, { status: 'ESCALATED' });
    clock.advance(OPENING_LEASE_MS + 1000);
    const lagging = new Proxy(store, {
      get(target, prop) {
        if (prop === 'listIncidents') return async (query: ListQuery) => ({ items: query.status === 'OPEN' && stale ? [stale] : [] });
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    // Act
    const run = await sweepOpenings({ store: lagging, workflow, events, config: CONFIG, clock })();
    // Assess
    expect(run).toMatchObject({ examined: 1, takenOver: [], skipped: [incidentId], failed: [] });
    expect(workflow.calls).toEqual([]);
    expect(opened()).toEqual([]);
    expect(await store.getIncident(incidentId)).toMatchObject({ status: 'ESCALATED' });
    expect((await store.getIncident(incidentId))?.opening).toBeUndefined();
  });
});

describe('unit: sweep-openings reaches every interrupted incident, a bounded number per run', () => {
  it('pages through more than one page of OPEN incidents to the end', async () => {
    // Prepare: 250 OPEN incidents, 240 published, 10 interrupted among the oldest
    const { clock, store, sweeper, recorded, pages, opened } = setup();
    const interrupted: string[] = [];
    for (let i = 0; i < 250; i++) {
      const incidentId = await recorded();
      if (i < 10) interrupted.push(incidentId);
      else {
        await store.claimOpening(incidentId, { claimId: 'ok', claimedBy: 'x', at: clock(), leaseMs: OPENING_LEASE_MS });
        await store.recordOpeningStarted(incidentId, 'ok', `arn:aws:states:us-east-1:123456789012:execution:incident-response:${incidentId}`);
        await store.markOpeningPublished(incidentId, 'ok');
      }
    }
    clock.advance(OPENING_LEASE_MS + 1000);
    // Act
    const run = await sweeper({ pageSize: 100 })();
    // Assess
    expect(run).toMatchObject({ examined: 250, complete: true });
    expect(run.takenOver.map((t) => t.incidentId).sort()).toEqual(interrupted.sort());
    expect(pages.filter((p) => p.status === 'OPEN').map((p) => p.cursor === undefined)).toEqual([true, false, false]);
    expect(opened()).toHaveLength(10);
  });

  it(`takes over at most ${MAX_TAKEOVERS_PER_RUN} per run by default and leaves the rest to the next run`, async () => {
    // Prepare
    const { clock, sweeper, recorded, opened, workflow, store } = setup();
    const ids: string[] = [];
    for (let i = 0; i < MAX_TAKEOVERS_PER_RUN + 5; i++) ids.push(await recorded());
    clock.advance(OPENING_LEASE_MS);
    const { o, metrics, logs } = recordingObservability();
    // Act
    const first = await sweeper()(undefined, o);
    const second = await sweeper()();
    // Assess
    expect(first).toMatchObject({ complete: false, stoppedBy: 'takeover-cap' });
    expect(first.takenOver).toHaveLength(MAX_TAKEOVERS_PER_RUN);
    expect(metrics).toMatchObject({ OpeningsTakenOver: MAX_TAKEOVERS_PER_RUN, SweepWorkflowsStarted: MAX_TAKEOVERS_PER_RUN, SweepOpeningsPublished: MAX_TAKEOVERS_PER_RUN, SweepIncomplete: 1, SweepTakeoversFailed: 0 });
    expect(logs.filter((l) => l.message === 'opening taken over by the sweeper')).toHaveLength(MAX_TAKEOVERS_PER_RUN);
    expect(second).toMatchObject({ complete: true });
    expect(second.takenOver).toHaveLength(5);
    expect(workflow.executions.size).toBe(ids.length);
    expect(opened()).toHaveLength(ids.length);
    for (const id of ids) expect((await store.getIncident(id))?.opening?.publishedAt, id).toBeDefined();
  });

  it('stops taking over once its time budget is spent, and the next run goes on', async () => {
    // Prepare: each StartExecution takes 15 s of the clock; a budget of 40 s
    const { clock, sweeper, recorded, workflow, opened } = setup();
    for (let i = 0; i < 5; i++) await recorded();
    clock.advance(OPENING_LEASE_MS);
    workflow.onStart = () => clock.advance(15_000);
    // Act
    const first = await sweeper({ budgetMs: 40_000 })();
    workflow.onStart = undefined;
    const second = await sweeper({ budgetMs: 40_000 })();
    // Assess
    expect(first).toMatchObject({ complete: false, stoppedBy: 'time-budget' });
    expect(first.takenOver).toHaveLength(3);
    expect(second).toMatchObject({ complete: true });
    expect(second.takenOver).toHaveLength(2);
    expect(opened()).toHaveLength(5);
  });

  it('refuses a cap, budget or page size that is not a positive integer, naming it', () => {
    const { sweeper } = setup();
    expect(() => sweeper({ maxTakeovers: 0 })).toThrow(SweepSettingInvalid);
    expect(() => sweeper({ maxTakeovers: 0 })).toThrow(/maxTakeovers/);
    expect(() => sweeper({ budgetMs: 1.5 })).toThrow(/budgetMs/);
    expect(() => sweeper({ pageSize: -1 })).toThrow(/pageSize/);
  });

  it('logs and counts a takeover that fails, releases its claim, and the next run completes it at once', async () => {
    // Prepare
    const { clock, store, sweeper, recorded, workflow, opened } = setup();
    const incidentId = await recorded();
    clock.advance(OPENING_LEASE_MS);
    workflow.startError = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const { o, metrics, logs } = recordingObservability();
    // Act
    const failing = await sweeper()(undefined, o);
    workflow.startError = undefined;
    const next = await sweeper()();
    // Assess
    expect(failing.failed).toEqual([{ incidentId, error: 'ServiceUnavailable', message: expect.stringContaining('ThrottlingException') }]);
    expect(metrics.SweepTakeoversFailed).toBe(1);
    expect(logs.some((l) => l.level === 'error' && l.message.startsWith('taking over the opening failed'))).toBe(true);
    expect(next.takenOver).toEqual([expect.objectContaining({ incidentId, was: 'released', published: true })]);
    expect(opened(incidentId)).toHaveLength(1);
    expect((await store.getIncident(incidentId))?.opening?.publishedAt).toBeDefined();
  });
});

describe('unit: sweep-openings races safely', () => {
  it('gives two sweepers running at once over the same interrupted incidents one start and one Incident Opened each', async () => {
    // Prepare
    const { clock, sweeper, recorded, opened, startsOf } = setup();
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await recorded());
    clock.advance(OPENING_LEASE_MS);
    // Act
    const [a, b] = await Promise.all([sweeper()(), sweeper()()]);
    // Assess
    expect(a.takenOver.length + b.takenOver.length).toBe(ids.length);
    expect(a.skipped.length + b.skipped.length).toBe(ids.length);
    for (const id of ids) {
      expect(startsOf(id), id).toBe(1);
      expect(opened(id), id).toHaveLength(1);
    }
  });

  it('gives a sweeper and a live delivery of another alert of the incident one start and one Incident Opened', async () => {
    // Prepare: an interrupted incident; a new alert of its service arrives while the sweeper runs
    const { clock, store, workflow, events, sweeper, recorded, opened, startsOf } = setup();
    const incidentId = await recorded('checkout');
    clock.advance(OPENING_LEASE_MS);
    const ingest = ingestAlert({
      store,
      workflow,
      events,
      secret: new StaticSecret('sample-webhook-secret'),
      config: { MAX_BODY_BYTES: 64 * 1024, ...CONFIG, CORRELATION_WINDOW_SECONDS: 3600 },
      clock,
      openingWaitMs: 1000,
    });
    const delivery = () =>
      ingest(apiEvent('POST /alerts/{source}', { path: { source: 'generic' }, body: { id: 'another', title: 'Failure rate increase', service: 'checkout', environment: 'w1' }, secret: 'sample-webhook-secret' }));
    // Act
    const [run, answer] = await Promise.all([sweeper()(), delivery()]);
    // Assess
    expect(statusOf(answer)).toBe(202);
    expect(bodyOf(answer)).toMatchObject({ incidentId, correlated: true });
    expect(run.takenOver.length + run.skipped.length).toBe(1);
    expect(startsOf(incidentId)).toBe(1);
    expect(opened(incidentId)).toHaveLength(1);
  });
});
