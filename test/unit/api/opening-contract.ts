/**
 * The journal of an incident's opening (ingest-alert/core.ts, module comment) as a reusable suite: the webhook core
 * with a real store — MemoryIncidentStore in ingest-opening.test.ts, DynamoIncidentStore on dynalite in
 * test/twin/intake.test.ts — a fake Step Functions and an in-memory bus, and a failure injected after each step.
 *
 * A fault is armed for one step of the next delivery. `seen`: the step's call fails and the delivery sees it (a
 * throttle, an error answer), so it can still release its claim. `died`: the step's write lands and then the Lambda
 * dies (a timeout, a crash): nothing after it runs, its claim is not released.
 */
import { describe, expect, it } from 'vitest';
import { MemoryEventPublisher } from '../../../functions/core/events.ts';
import { StaticSecret } from '../../../functions/core/secrets.ts';
import { StoreUnavailable } from '../../../functions/core/store/dynamo-store.ts';
import type { AlertIntakeStore } from '../../../functions/core/store/store.ts';
import type { StartResult } from '../../../functions/core/workflow-client.ts';
import type { ExecutionInput } from '../../../functions/core/model.ts';
import { OPENING_LEASE_MS, OPENING_WAIT_MS, ingestAlert } from '../../../functions/ingest-alert/core.ts';
import { manualClock } from '../store/contract.ts';
import { FakeWorkflow, apiEvent, bodyOf, statusOf } from './fixtures.ts';

/** The steps of an OPEN delivery after validation, in order. */
export const OPENING_STEPS = ['record', 'timeline', 'claim', 'start', 'started', 'timeline-started', 'publish', 'mark'] as const;
export type OpeningStep = (typeof OPENING_STEPS)[number];
export type FaultMode = 'seen' | 'died';

/** What the delivery sees when a step fails (a store throttle, a Step Functions or EventBridge error). */
export class InjectedFailure extends StoreUnavailable {
  override name = 'InjectedFailure';
}

class Faults {
  #armed: { step: OpeningStep; mode: FaultMode; times: number } | undefined;
  /** The delivery in flight has died: nothing of it runs any more (its release included). */
  dead = false;

  arm(step: OpeningStep, mode: FaultMode, times = 1): void {
    this.#armed = { step, mode, times };
  }

  /** Before the step's call: a `seen` failure throws here, the call never lands. */
  before(step: OpeningStep): void {
    if (this.dead) throw new InjectedFailure('the Lambda is dead');
    if (this.#armed?.step !== step || this.#armed.mode !== 'seen') return;
    if (--this.#armed.times <= 0) this.#armed = undefined;
    throw new InjectedFailure(`injected: ${step} failed; retry later`);
  }

  /** After the step's call landed: a `died` fault kills the delivery here. */
  after(step: OpeningStep): void {
    if (this.#armed?.step !== step || this.#armed.mode !== 'died') return;
    this.#armed = undefined;
    this.dead = true;
    throw new InjectedFailure(`injected: the Lambda died after ${step}`);
  }

  #meanwhile: { step: OpeningStep; run: () => Promise<void> } | undefined;

  /** Runs `run` once, just before the next `step` call (another actor — the workflow, a human — acting in between). */
  meanwhile(step: OpeningStep, run: () => Promise<void>): void {
    this.#meanwhile = { step, run };
  }

  async around<T>(step: OpeningStep | undefined, call: () => Promise<T>): Promise<T> {
    if (!step) {
      if (this.dead) throw new InjectedFailure('the Lambda is dead');
      return call();
    }
    if (this.#meanwhile?.step === step) {
      const { run } = this.#meanwhile;
      this.#meanwhile = undefined;
      await run();
    }
    this.before(step);
    const out = await call();
    this.after(step);
    return out;
  }
}

const STORE_STEPS: Record<string, OpeningStep | ((args: unknown[]) => OpeningStep | undefined)> = {
  recordAlert: 'record',
  claimOpening: 'claim',
  recordOpeningStarted: 'started',
  markOpeningPublished: 'mark',
  appendEvent: (args) => ((args[1] as { type: string }).type === 'workflow-started' ? 'timeline-started' : 'timeline'),
};

/** The store, each intake call going through `faults` (a dead delivery's calls all fail, its release included). */
const faultyStore = (store: AlertIntakeStore, faults: Faults): AlertIntakeStore =>
  new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const mapped = STORE_STEPS[String(prop)];
        const step = typeof mapped === 'function' ? mapped(args) : mapped;
        return faults.around(step, () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      };
    },
  });

/** Step Functions that takes a little while to answer, so concurrent deliveries interleave. */
class SlowWorkflow extends FakeWorkflow {
  starts = 0;
  readonly faults: Faults;
  constructor(faults: Faults) {
    super();
    this.faults = faults;
  }
  override async start(name: string, input: ExecutionInput): Promise<StartResult> {
    return this.faults.around('start', async () => {
      this.starts += 1;
      await new Promise((resolve) => setTimeout(resolve, 2));
      return super.start(name, input);
    });
  }
}

class FaultyBus extends MemoryEventPublisher {
  readonly faults: Faults;
  constructor(faults: Faults) {
    super({ validate: true });
    this.faults = faults;
  }
  override async publish(...args: Parameters<MemoryEventPublisher['publish']>): Promise<void> {
    return this.faults.around('publish', () => super.publish(...args));
  }
}

let serial = 0;

export const ingestOpeningContract = (name: string, makeStore: (clock: ReturnType<typeof manualClock>) => Promise<AlertIntakeStore>) => {
  describe(`unit: the opening journal of ingest-alert (${name})`, () => {
    /** `waitMs`: how long a delivery that lost the claim waits for the execution (short where a dead claimant is the point). */
    const setup = async ({ waitMs = 50 }: { waitMs?: number } = {}) => {
      const clock = manualClock('2024-05-01T12:10:00.000Z');
      const faults = new Faults();
      const store = await makeStore(clock);
      const workflow = new SlowWorkflow(faults);
      const events = new FaultyBus(faults);
      const run = ++serial;
      const prefix = `${Date.now().toString(36)}-${run}`;
      let n = 0;
      const ingest = ingestAlert({
        store: faultyStore(store, faults),
        workflow,
        events,
        secret: new StaticSecret('sample-webhook-secret'),
        config: { MAX_BODY_BYTES: 256 * 1024, VERIFY_WAIT_SECONDS: 30, MAX_VERIFY_CHECKS: 3, CORRELATION_WINDOW_SECONDS: 300 },
        clock,
        newIncidentId: () => `inc-${prefix}-${++n}`,
        openingWaitMs: waitMs,
      });
      const service = `svc-${prefix}`;
      const alert = (id: string, status?: 'resolved') => ({ id: `${prefix}-${id}`, title: `alert ${id}`, service, environment: 'w1', ...(status ? { status } : {}) });
      /** One delivery: a new Lambda invocation (a dead one's faults do not carry over). `status: 'resolved'`: the vendor's resolution. */
      const post = async (id: string, status?: 'resolved') => {
        faults.dead = false;
        const result = await ingest(apiEvent('POST /alerts/{source}', { path: { source: 'generic' }, rawBody: JSON.stringify(alert(id, status)), secret: 'sample-webhook-secret' }));
        faults.dead = false;
        return { status: statusOf(result), body: bodyOf(result), retryAfter: result.headers?.['retry-after'] };
      };
      const opened = () => events.ofType('Incident Opened');
      return { clock, faults, store, workflow, events, post, opened };
    };

    it('gives one incident, one execution and exactly one Incident Opened to 40 concurrent deliveries of one alert, each answered 202 with the execution', async () => {
      // Prepare
      const { post, workflow, opened } = await setup({ waitMs: OPENING_WAIT_MS });
      // Act
      const answers = await Promise.all(Array.from({ length: 40 }, () => post('same')));
      // Assess
      expect(answers.filter((a) => a.status !== 202)).toEqual([]);
      expect(new Set(answers.map((a) => a.body.incidentId)).size).toBe(1);
      expect(new Set(answers.map((a) => a.body.executionArn))).toEqual(new Set([expect.stringContaining(String(answers[0].body.incidentId))]));
      expect(workflow.executions.size).toBe(1);
      expect(opened()).toHaveLength(1);
      // A repeat once the opening is published calls Step Functions no more.
      const startsBefore = workflow.starts;
      expect((await post('same')).status).toBe(202);
      expect(workflow.starts).toBe(startsBefore);
    });

    it('publishes once for 20 concurrent distinct alerts of one service (the opener and its correlated alerts racing)', async () => {
      const { post, workflow, opened } = await setup({ waitMs: OPENING_WAIT_MS });
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => post(`distinct-${i}`)));
      expect(answers.filter((a) => a.status !== 202)).toEqual([]);
      expect(new Set(answers.map((a) => a.body.incidentId)).size).toBe(1);
      expect(answers.every((a) => typeof a.body.executionArn === 'string')).toBe(true);
      expect(workflow.executions.size).toBe(1);
      expect(opened()).toHaveLength(1);
    });

    describe('a failure the delivery sees, at each step: it answers 503 with Retry-After, and its retry completes the opening at once', () => {
      it.each(OPENING_STEPS.filter((s) => s !== 'mark'))('fails at %s → 503; the immediate retry → 202, one execution, one Incident Opened', async (step) => {
        // Prepare
        const { post, faults, workflow, opened } = await setup();
        faults.arm(step, 'seen');
        // Act
        const failed = await post('a');
        const retry = await post('a');
        // Assess
        expect(failed.status).toBe(503);
        expect(Number(failed.retryAfter)).toBeGreaterThanOrEqual(1);
        expect(failed.body.message).toMatch(/retry/);
        expect(retry.status).toBe(202);
        expect(retry.body.executionArn).toEqual(expect.stringContaining(String(retry.body.incidentId)));
        expect(workflow.executions.size).toBe(1);
        expect(opened()).toHaveLength(1);
      });

      it('a mark that fails once is retried in place: 202 and one Incident Opened, and no later delivery publishes again', async () => {
        const { post, faults, opened, clock } = await setup();
        faults.arm('mark', 'seen');
        expect((await post('a')).status).toBe(202);
        clock.advance(OPENING_LEASE_MS + 1000);
        expect((await post('b')).status).toBe(202);
        expect(opened()).toHaveLength(1);
      });
    });

    describe('a delivery that dies after each step: the retry (or any later alert) completes the opening, publishing once', () => {
      /** What a retry at once gets: a claim held by the dead delivery and no execution recorded → 503 until its lease ends. */
      const early: Partial<Record<OpeningStep, number>> = { claim: 503, start: 503 };

      it.each(OPENING_STEPS.filter((s) => s !== 'mark' && s !== 'publish'))('dies after %s → the retry completes it: one execution, one Incident Opened', async (step) => {
        // Prepare
        const { post, faults, workflow, opened, clock } = await setup();
        faults.arm(step, 'died');
        expect((await post('a')).status).toBe(503);
        // Act: a retry at once; then, past the dead delivery's lease, another
        const now = await post('a');
        clock.advance(OPENING_LEASE_MS + 1000);
        const late = await post('a');
        // Assess: while a dead delivery's claim lasts and no execution is recorded, the retry is told when to come back;
        // once the execution is recorded, a retry is answered 202 (it exists) and the publish waits for the takeover
        expect(now.status).toBe(early[step] ?? 202);
        if (now.status === 503) {
          expect(Number(now.retryAfter)).toBeGreaterThan(1);
          expect(now.body.message).toMatch(/being opened by another delivery/);
        } else {
          expect(now.body.executionArn).toEqual(expect.stringContaining(String(now.body.incidentId)));
        }
        expect(late.status).toBe(202);
        expect(late.body.executionArn).toEqual(expect.stringContaining(String(late.body.incidentId)));
        expect(workflow.executions.size).toBe(1);
        expect(opened()).toHaveLength(1);
      });

      it('dies after the publish, before the mark → the taker publishes a second time (the one documented double)', async () => {
        const { post, faults, opened, clock } = await setup();
        faults.arm('publish', 'died');
        await post('a');
        clock.advance(OPENING_LEASE_MS + 1000);
        expect((await post('a')).status).toBe(202);
        expect(opened()).toHaveLength(2);
        clock.advance(OPENING_LEASE_MS + 1000);
        expect((await post('a')).status).toBe(202);
        expect(opened()).toHaveLength(2);
      });

      it('a correlated alert takes over an opening whose delivery keeps failing after it recorded the alert (the old phantom), without waiting for a grace period', async () => {
        // Prepare: the poison delivery fails after its write every time it is retried
        const { post, faults, workflow, opened, clock } = await setup();
        for (let attempt = 0; attempt < 3; attempt++) {
          faults.arm('record', 'died');
          expect((await post('poison')).status).toBe(503);
        }
        expect(workflow.executions.size).toBe(0);
        clock.advance(1000);
        // Act
        const other = await post('other');
        // Assess
        expect(other).toMatchObject({ status: 202, body: { correlated: true, executionArn: expect.stringContaining(String(other.body.incidentId)) } });
        expect(workflow.executions.size).toBe(1);
        expect(opened()).toHaveLength(1);
      });
    });

    it('keeps a rerun\'s execution when the rerun lands between the opener starting the workflow and recording it; the opener still publishes once', async () => {
      // Prepare: just before the opener records the execution it started, a human reruns the incident (its ARN recorded)
      const { post, faults, store, workflow, opened } = await setup();
      let rerunArn = '';
      faults.meanwhile('started', async () => {
        const [original] = [...workflow.executions.keys()];
        const incidentId = original?.split(':').at(-1) ?? '';
        rerunArn = `${original}-rerun-1`;
        await store.setExecutionArn(incidentId, rerunArn);
      });
      // Act
      const answer = await post('a');
      // Assess: the incident points at the rerun; the opening is journalled and published once
      expect(answer.status).toBe(202);
      const incident = await store.getIncident(String(answer.body.incidentId));
      expect(incident).toMatchObject({ executionArn: rerunArn, opening: { startedAt: expect.any(String), publishedAt: expect.any(String) } });
      expect(opened()).toHaveLength(1);
      expect(workflow.executions.size).toBe(1);
    });

    it('starts and publishes nothing for an incident that closed between the delivery reading it and claiming its opening', async () => {
      for (const status of ['ESCALATED', 'FAILED', 'RESOLVED'] as const) {
        // Prepare: the opener started the workflow, failed to record it and released its claim; the workflow then ran on
        const { post, faults, store, workflow, opened } = await setup();
        faults.arm('started', 'seen');
        const failed = await post('a');
        expect(failed.status, status).toBe(503);
        const [executionArn] = [...workflow.executions.keys()];
        const incidentId = executionArn?.split(':').at(-1) ?? '';
        const startsBefore = workflow.starts;
        // …and closes the incident just after the vendor's retry has read it, before it claims the opening
        faults.meanwhile('claim', async () => {
          await store.updateIncident(incidentId, { status });
        });
        // Act
        const retry = await post('a');
        // Assess
        expect(retry, status).toMatchObject({ status: 202, body: { incidentId } });
        expect(workflow.starts, status).toBe(startsBefore);
        expect(opened(), status).toEqual([]);
        expect((await store.getIncident(incidentId))?.status, status).toBe(status);
      }
    });

    it('opens, starts and publishes anew for a re-fire of an alert (same identity, OPEN after RESOLVED) whose incident is RESOLVED', async () => {
      // Prepare: alert a opened an incident, the vendor resolved it, and the workflow closed the incident
      const { post, store, workflow, opened } = await setup();
      const first = await post('a');
      expect((await post('a', 'resolved')).body).toMatchObject({ incidentId: first.body.incidentId, state: 'RESOLVED', allResolved: true });
      await store.updateIncident(String(first.body.incidentId), { status: 'RESOLVED', outcome: 'resolved' });
      // Act: the same identity fires again, within the dedup window
      const refired = await post('a');
      // Assess: a new incident with its own execution, and exactly one more Incident Opened (a page)
      expect(refired).toMatchObject({ status: 202, body: { deduplicated: false, state: 'OPEN' } });
      expect(refired.body.incidentId).not.toBe(first.body.incidentId);
      expect(refired.body.executionArn).toEqual(expect.stringContaining(String(refired.body.incidentId)));
      expect(workflow.executions.size).toBe(2);
      expect(opened().map((e) => e.incidentId)).toEqual([first.body.incidentId, refired.body.incidentId]);
      // A repeat of the re-fire folds into the new incident and pages no more.
      expect((await post('a')).body).toMatchObject({ incidentId: refired.body.incidentId, deduplicated: true });
      expect(opened()).toHaveLength(2);
    });

    it('lets a re-fire join its ESCALATED incident: nothing new is started or published', async () => {
      const { post, store, workflow, opened } = await setup();
      const first = await post('a');
      await post('a', 'resolved');
      await store.updateIncident(String(first.body.incidentId), { status: 'ESCALATED', outcome: 'escalated' });
      const refired = await post('a');
      expect(refired).toMatchObject({ status: 202, body: { incidentId: first.body.incidentId, deduplicated: true } });
      expect(workflow.executions.size).toBe(1);
      expect(opened()).toHaveLength(1);
    });

    it('lets an ESCALATED, AWAITING_APPROVAL or FAILED incident absorb its service’s alerts without starting or publishing anything; a RESOLVED one does not', async () => {
      for (const status of ['ESCALATED', 'AWAITING_APPROVAL', 'FAILED'] as const) {
        // Prepare
        const { post, store, workflow, opened } = await setup();
        const first = await post('first');
        const incidentId = String(first.body.incidentId);
        await store.updateIncident(incidentId, { status });
        // Act
        const joined = await post('joined');
        // Assess
        expect(joined, status).toMatchObject({ status: 202, body: { incidentId, correlated: true, executionArn: first.body.executionArn } });
        expect(workflow.executions.size).toBe(1);
        expect(opened()).toHaveLength(1);
        const detail = await store.getDetail(incidentId);
        expect(detail?.incident.status).toBe(status);
        expect(detail?.timeline.filter((e) => e.type === 'alert-correlated').map((e) => e.message)).toEqual([expect.stringMatching(/joined/)]);
      }
      const { post, store } = await setup();
      const first = await post('first');
      await store.updateIncident(String(first.body.incidentId), { status: 'RESOLVED', outcome: 'resolved' });
      const next = await post('next');
      expect(next.body.incidentId).not.toBe(first.body.incidentId);
      expect(next.body.correlated).toBeUndefined();
    });
  });
};
