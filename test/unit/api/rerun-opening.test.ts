/**
 * The rerun goes through the opening journal (functions/rerun-incident/core.ts, module comment), with
 * MemoryIncidentStore, a fake Step Functions and an in-memory bus that validates every event against its schema:
 * - an incident whose opening is not published is opened first, by the same journal as the webhook and the sweeper,
 *   so `Incident Opened` goes out exactly once; an opening that starts the workflow is the run (`openingCompleted`);
 * - another holder's live claim is 503 `opening_in_progress` with Retry-After, nothing started;
 * - the rerun's execution is reserved on META (compare-and-set of the ARN it read) before StartExecution, so a stale
 *   read never starts a second workflow nor overwrites another execution, and of two reruns at once one starts.
 * Found on the twin (issue 9, adversarial runs): a rerun after a crash mid-opening resolved the incident with no
 * `Incident Opened`; reruns racing the sweeper ran two workflows for one incident and overwrote the sweeper's ARN.
 */
import { describe, expect, it } from 'vitest';
import { MemoryEventPublisher } from '../../../functions/core/events.ts';
import { OPENING_LEASE_MS } from '../../../functions/core/intake/opening.ts';
import type { ExecutionInput } from '../../../functions/core/model.ts';
import { StaticSecret } from '../../../functions/core/secrets.ts';
import { MemoryActionJournal, stepKey } from '../../../functions/core/store/journal.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import type { IncidentMeta } from '../../../functions/core/store/store.ts';
import { type StartResult, executionArnFor } from '../../../functions/core/workflow-client.ts';
import { RERUN_CLAIMANT, type RerunStore, rerunIncident, siblingExecutionArn } from '../../../functions/rerun-incident/core.ts';
import { sweepOpenings } from '../../../functions/sweep-openings/core.ts';
import { alertFixture, manualClock } from '../store/contract.ts';
import { CONFIG, FakeWorkflow, SECRET, STATE_MACHINE_ARN, apiEvent, bodyOf, statusOf } from './fixtures.ts';

const arn = (name: string) => executionArnFor(STATE_MACHINE_ARN, name);

/**
 * Step Functions as AWS answers StartExecution: the same name and input as a RUNNING execution is the same execution,
 * answered as a success (not ExecutionAlreadyExists). Each call waits a tick, so concurrent callers interleave.
 */
class AwsLikeWorkflow extends FakeWorkflow {
  readonly calls: string[] = [];
  override async start(name: string, input: ExecutionInput): Promise<StartResult> {
    this.calls.push(name);
    await new Promise((resolve) => setTimeout(resolve, 1));
    const existing = this.executions.get(arn(name));
    if (existing?.status === 'RUNNING' && JSON.stringify(existing.input) === JSON.stringify(input)) return { executionArn: arn(name), alreadyExisted: false };
    return super.start(name, input);
  }
  /** The executions DescribeExecution was asked about, in order. */
  readonly described: string[] = [];
  override async status(executionArn: string) {
    this.described.push(executionArn);
    return super.status(executionArn);
  }
  /** The twin after a restart: the execution is gone (DescribeExecution: does not exist). */
  lose(executionArn: string): void {
    this.executions.delete(executionArn);
  }
}

const setup = () => {
  const clock = manualClock('2024-05-01T12:10:00.000Z');
  const store = new MemoryIncidentStore({ clock });
  const workflow = new AwsLikeWorkflow();
  const events = new MemoryEventPublisher({ validate: true });
  const journal = new MemoryActionJournal();
  const rerunWith = (s: RerunStore = store) => rerunIncident({ store: s, workflow, events, secret: new StaticSecret(SECRET), config: CONFIG, journal, clock });
  const post = (id: string, s?: RerunStore) => rerunWith(s)(apiEvent('POST /incidents/{id}/rerun', { path: { id }, body: { requestedBy: 'sarah.chen' } }));
  const sweep = sweepOpenings({ store, workflow, events, config: CONFIG, clock });
  /** A delivery that recorded its alert and died before claiming the opening. */
  const recorded = async (id: string): Promise<IncidentMeta> => (await store.recordAlert(alertFixture({ dedupKey: id, title: `Alert ${id}` }), {}, () => id)).incident;
  const opened = (id: string) => events.ofType('Incident Opened').filter((d) => d.incidentId === id);
  const executionsOf = (id: string) => [...workflow.executions.keys()].filter((a) => a === arn(id) || a.startsWith(`${arn(id)}-rerun-`));
  const rerunEntries = async (id: string) => (await store.getDetail(id))!.timeline.filter((e) => e.type === 'rerun-started');
  return { clock, store, workflow, events, journal, post, sweep, recorded, opened, executionsOf, rerunEntries };
};

/** The store, with `meanwhile` run once right after the first call of `method` (another actor acting after a read). */
const after = (store: MemoryIncidentStore, method: keyof RerunStore, meanwhile: () => Promise<unknown>): RerunStore => {
  let done = false;
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const out = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (prop === method && !done) {
          done = true;
          await meanwhile();
        }
        return out;
      };
    },
  });
};

describe('unit: rerun-incident completes an unpublished opening first', () => {
  it('opens an incident whose workflow never started: one execution named by the incident id, one Incident Opened, 202 openingCompleted', async () => {
    // Prepare: the delivery recorded the alert and died before claiming the opening
    const { store, post, recorded, opened, executionsOf, rerunEntries } = setup();
    await recorded('inc-1');
    // Act
    const result = await post('inc-1');
    // Assess
    expect(statusOf(result)).toBe(202);
    expect(bodyOf(result)).toEqual({ incidentId: 'inc-1', executionArn: arn('inc-1'), rerun: 0, status: 'OPEN', openingCompleted: true });
    expect(executionsOf('inc-1')).toEqual([arn('inc-1')]);
    expect(opened('inc-1')).toHaveLength(1);
    expect(await store.getIncident('inc-1')).toMatchObject({ executionArn: arn('inc-1'), opening: { claimedBy: RERUN_CLAIMANT, publishedAt: expect.any(String) } });
    const entries = await rerunEntries('inc-1');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor: 'sarah.chen', data: { executionArn: arn('inc-1'), openingCompleted: true } });
    expect(entries[0].message).toMatch(/opening was not complete/);
  });

  it('answers 503 opening_in_progress with Retry-After while another holder’s claim is live, and starts and publishes nothing', async () => {
    // Prepare: a delivery claimed the opening 20 s ago (alive, or dead within its lease)
    const { clock, store, workflow, events, post, recorded } = setup();
    await recorded('inc-1');
    await store.claimOpening('inc-1', { claimId: 'delivery', claimedBy: 'dynatrace:inc-1', at: clock(), leaseMs: OPENING_LEASE_MS });
    clock.advance(20_000);
    // Act
    const result = await post('inc-1');
    // Assess
    expect(statusOf(result)).toBe(503);
    expect((result as { headers?: Record<string, string> }).headers?.['retry-after']).toBe('40');
    expect(bodyOf(result)).toMatchObject({ error: 'opening_in_progress', claimedBy: 'dynatrace:inc-1', retryAfterSeconds: 40 });
    expect(bodyOf(result).message).toMatch(/being opened by another delivery or the sweeper/);
    expect(workflow.executions.size).toBe(0);
    expect(events.events).toEqual([]);
  });

  it('answers 409 execution_running, asking Step Functions once, while an opener that holds its claim has a running workflow', async () => {
    // Prepare: the opener claimed the opening, started and recorded the workflow, and has not published yet
    const { clock, store, workflow, events, post, recorded, rerunEntries } = setup();
    await recorded('inc-1');
    await store.claimOpening('inc-1', { claimId: 'opener', claimedBy: 'dynatrace:inc-1', at: clock(), leaseMs: OPENING_LEASE_MS });
    const original = await workflow.start('inc-1', { incidentId: 'inc-1', service: 'inventory-service', severity: 'SEV2', title: 'Alert inc-1', policy: { verifyWaitSeconds: 30, maxVerifyChecks: 3 } });
    await store.recordOpeningStarted('inc-1', 'opener', original.executionArn);
    workflow.described.length = 0;
    // Act
    const result = await post('inc-1');
    // Assess: the opening is left to its holder; nothing started, published or written
    expect(statusOf(result)).toBe(409);
    expect(bodyOf(result)).toMatchObject({ error: 'execution_running', executionArn: original.executionArn });
    expect(workflow.described).toEqual([original.executionArn]);
    expect([...workflow.executions.keys()]).toEqual([original.executionArn]);
    expect(events.events).toEqual([]);
    expect(await rerunEntries('inc-1')).toEqual([]);
  });

  it('takes over the opening of an opener that died after recording its execution, once its lease passed: one Incident Opened, then the rerun', async () => {
    // Prepare: the opener started and recorded the execution, then died before publishing; a restart lost the execution
    const { clock, store, workflow, post, recorded, opened, executionsOf } = setup();
    await recorded('inc-1');
    await store.claimOpening('inc-1', { claimId: 'opener', claimedBy: 'dynatrace:inc-1', at: clock(), leaseMs: OPENING_LEASE_MS });
    const original = await workflow.start('inc-1', { incidentId: 'inc-1', service: 'inventory-service', severity: 'SEV2', title: 'Alert inc-1', policy: { verifyWaitSeconds: 30, maxVerifyChecks: 3 } });
    await store.recordOpeningStarted('inc-1', 'opener', original.executionArn);
    workflow.lose(original.executionArn);
    clock.advance(OPENING_LEASE_MS + 1_000);
    // Act
    const result = await post('inc-1');
    // Assess: the opening is published once (for the execution it had), and the rerun is <id>-rerun-1
    expect(statusOf(result)).toBe(202);
    expect(bodyOf(result)).toEqual({ incidentId: 'inc-1', executionArn: arn('inc-1-rerun-1'), rerun: 1, status: 'OPEN' });
    expect(opened('inc-1')).toEqual([expect.objectContaining({ executionArn: arn('inc-1') })]);
    expect(executionsOf('inc-1')).toEqual([arn('inc-1-rerun-1')]);
    expect(await store.getIncident('inc-1')).toMatchObject({ executionArn: arn('inc-1-rerun-1'), opening: { publishedAt: expect.any(String) } });
    // A later rerun publishes nothing more.
    workflow.finish(arn('inc-1-rerun-1'), 'SUCCEEDED');
    expect(bodyOf(await post('inc-1'))).toMatchObject({ rerun: 2 });
    expect(opened('inc-1')).toHaveLength(1);
  });

  it('starts the workflow itself when the opener died between StartExecution and recording it and the execution was lost', async () => {
    const { clock, store, workflow, post, recorded, opened, executionsOf } = setup();
    await recorded('inc-1');
    await store.claimOpening('inc-1', { claimId: 'opener', claimedBy: 'dynatrace:inc-1', at: clock(), leaseMs: OPENING_LEASE_MS });
    workflow.lose((await workflow.start('inc-1', { incidentId: 'inc-1', service: 'x', severity: 'SEV2', title: 't', policy: { verifyWaitSeconds: 1, maxVerifyChecks: 1 } })).executionArn);
    clock.advance(OPENING_LEASE_MS + 1_000);
    const result = await post('inc-1');
    expect(bodyOf(result)).toMatchObject({ executionArn: arn('inc-1'), rerun: 0, openingCompleted: true });
    expect(executionsOf('inc-1')).toEqual([arn('inc-1')]);
    expect(opened('inc-1')).toHaveLength(1);
  });

  it('reopens a closed incident whose opening was never published, publishes Incident Opened once, and reruns', async () => {
    // Prepare: the aftermath of the old bug: a rerun resolved the incident, the opener's claim expired unpublished
    const { clock, store, workflow, post, recorded, opened } = setup();
    await recorded('inc-1');
    await store.claimOpening('inc-1', { claimId: 'opener', claimedBy: 'dynatrace:inc-1', at: clock(), leaseMs: OPENING_LEASE_MS });
    const earlier = await workflow.start('inc-1-rerun-1', { incidentId: 'inc-1', service: 'x', severity: 'SEV2', title: 't', policy: { verifyWaitSeconds: 1, maxVerifyChecks: 1 } });
    await store.setExecutionArn('inc-1', earlier.executionArn);
    workflow.finish(earlier.executionArn, 'SUCCEEDED');
    await store.updateIncident('inc-1', { status: 'RESOLVED', outcome: 'resolved' });
    clock.advance(OPENING_LEASE_MS + 1_000);
    // Act
    const result = await post('inc-1');
    // Assess
    expect(bodyOf(result)).toEqual({ incidentId: 'inc-1', executionArn: arn('inc-1-rerun-2'), rerun: 2, status: 'INVESTIGATING' });
    expect(opened('inc-1')).toHaveLength(1);
    expect((await store.getIncident('inc-1'))?.opening?.publishedAt).toBeDefined();
  });

  it('gives the workflow its opening starts the journalled mitigation, so it verifies instead of acting again', async () => {
    // Prepare: the execution ran the restart, its ARN was never recorded, and it was lost
    const { clock, store, journal, workflow, post, recorded } = setup();
    await recorded('inc-1');
    const restart = { kind: 'restart-service', service: 'inventory-service', reversible: false } as const;
    await journal.claim({ incidentId: 'inc-1', mode: 'apply', action: restart, claimId: 'c1', claimedAt: clock().toISOString() });
    await journal.complete('inc-1', stepKey('apply', restart), 'c1', { kind: 'restart-service', service: 'inventory-service', status: 'succeeded', detail: 'ok', executedAt: clock().toISOString() }, clock().toISOString());
    clock.advance(OPENING_LEASE_MS + 1_000);
    // Act
    const result = await post('inc-1');
    // Assess
    expect(bodyOf(result)).toMatchObject({ executionArn: arn('inc-1'), openingCompleted: true, resumesVerification: true });
    expect(workflow.executions.get(arn('inc-1'))?.input).toMatchObject({ earlierMitigation: { steps: 1, summary: 'restart-service inventory-service: succeeded' } });
    expect((await store.getDetail('inc-1'))!.timeline.find((e) => e.type === 'rerun-started')?.message).toMatch(/verifies that earlier mitigation/);
  });

  it('refuses with 409 no_execution_recorded an incident whose opening is published without an execution', async () => {
    const { clock, store, workflow, post, recorded } = setup();
    await recorded('inc-1');
    await store.claimOpening('inc-1', { claimId: 'c', claimedBy: 'x', at: clock(), leaseMs: OPENING_LEASE_MS });
    await store.markOpeningPublished('inc-1', 'c');
    const result = await post('inc-1');
    expect(statusOf(result)).toBe(409);
    expect(bodyOf(result)).toMatchObject({ error: 'no_execution_recorded' });
    expect(workflow.executions.size).toBe(0);
  });
});

describe('unit: rerun-incident racing the sweeper and other reruns', () => {
  it('does not start a second workflow when the sweeper opened the incident after the rerun read it', async () => {
    // Prepare: recorded, never started, older than the lease; the rerun reads META (no ARN, OPEN), then the sweeper runs
    const { clock, store, sweep, post, recorded, opened, executionsOf } = setup();
    await recorded('inc-1');
    clock.advance(OPENING_LEASE_MS + 1_000);
    const stale = after(store, 'getIncident', () => sweep());
    // Act
    const result = await post('inc-1', stale);
    // Assess: the sweeper's execution is the one; the rerun says so
    expect(statusOf(result)).toBe(409);
    expect(bodyOf(result)).toMatchObject({ error: 'execution_running', executionArn: arn('inc-1') });
    expect(executionsOf('inc-1')).toEqual([arn('inc-1')]);
    expect(opened('inc-1')).toHaveLength(1);
    expect((await store.getIncident('inc-1'))?.executionArn).toBe(arn('inc-1'));
  });

  it('runs one workflow and publishes one Incident Opened per incident when a sweep and reruns of every incident run at once', async () => {
    // Prepare: five incidents recorded without their workflow (their deliveries died), older than the lease
    const { clock, store, sweep, post, recorded, opened, executionsOf } = setup();
    const ids = ['inc-a', 'inc-b', 'inc-c', 'inc-d', 'inc-e'];
    for (const id of ids) await recorded(id);
    clock.advance(OPENING_LEASE_MS + 1_000);
    // Act
    const [, ...answers] = await Promise.all([sweep(), ...ids.map((id) => post(id)), ...ids.map((id) => post(id))]);
    // Assess
    for (const id of ids) {
      expect(executionsOf(id), id).toHaveLength(1);
      expect(opened(id), id).toHaveLength(1);
      expect((await store.getIncident(id))?.executionArn, id).toBe(executionsOf(id)[0]);
    }
    for (const answer of answers as unknown[]) {
      const body = bodyOf(answer);
      const accepted = statusOf(answer) === 202 && body.openingCompleted === true;
      const told = (statusOf(answer) === 409 && body.error === 'execution_running') || (statusOf(answer) === 503 && body.error === 'opening_in_progress');
      expect(accepted || told, JSON.stringify(body)).toBe(true);
    }
  });

  it('of two reruns at once, starts one execution and writes one rerun-started entry; the other answers 409 naming it', async () => {
    // Prepare: an incident whose execution finished (Step Functions answers a repeated StartExecution as AWS does)
    const { store, workflow, post, recorded, rerunEntries } = setup();
    await recorded('inc-1');
    const first = await workflow.start('inc-1', { incidentId: 'inc-1', service: 'x', severity: 'SEV2', title: 't', policy: { verifyWaitSeconds: 1, maxVerifyChecks: 1 } });
    await store.setExecutionArn('inc-1', first.executionArn);
    workflow.finish(first.executionArn, 'FAILED');
    workflow.calls.length = 0;
    // Act
    const answers = await Promise.all([post('inc-1'), post('inc-1')]);
    // Assess
    const won = answers.find((a) => statusOf(a) === 202);
    const lost = answers.find((a) => statusOf(a) === 409);
    expect(won && lost).toBeTruthy();
    expect(bodyOf(lost)).toMatchObject({ error: 'execution_running', executionArn: bodyOf(won).executionArn });
    expect(workflow.calls).toEqual(['inc-1-rerun-1']);
    expect(await rerunEntries('inc-1')).toHaveLength(1);
  });

  it('never overwrites an execution another rerun recorded after this one read the incident: 409 naming it, nothing started', async () => {
    // Prepare
    const { store, workflow, post, recorded } = setup();
    await recorded('inc-1');
    const first = await workflow.start('inc-1', { incidentId: 'inc-1', service: 'x', severity: 'SEV2', title: 't', policy: { verifyWaitSeconds: 1, maxVerifyChecks: 1 } });
    await store.setExecutionArn('inc-1', first.executionArn);
    workflow.finish(first.executionArn, 'SUCCEEDED');
    workflow.calls.length = 0;
    const stale = after(store, 'getIncident', () => store.setExecutionArn('inc-1', arn('inc-1-rerun-1')));
    // Act
    const result = await post('inc-1', stale);
    // Assess
    expect(statusOf(result)).toBe(409);
    expect(bodyOf(result)).toMatchObject({ error: 'execution_running', executionArn: arn('inc-1-rerun-1') });
    expect(workflow.calls).toEqual([]);
    expect((await store.getIncident('inc-1'))?.executionArn).toBe(arn('inc-1-rerun-1'));
  });

  it('gives its reservation back when StartExecution fails, so the retry starts the same rerun number', async () => {
    // Prepare
    const { store, workflow, post, recorded, rerunEntries } = setup();
    await recorded('inc-1');
    const first = await workflow.start('inc-1', { incidentId: 'inc-1', service: 'x', severity: 'SEV2', title: 't', policy: { verifyWaitSeconds: 1, maxVerifyChecks: 1 } });
    await store.setExecutionArn('inc-1', first.executionArn);
    workflow.finish(first.executionArn, 'FAILED');
    workflow.startError = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    // Act
    const failed = await post('inc-1');
    workflow.startError = undefined;
    const retried = await post('inc-1');
    // Assess
    expect(statusOf(failed)).toBe(503);
    expect(await rerunEntries('inc-1')).toHaveLength(1);
    expect(bodyOf(retried)).toMatchObject({ rerun: 1, executionArn: arn('inc-1-rerun-1') });
  });

  it('derives the reserved ARN from the incident’s own execution ARN, and refuses one that is not an execution ARN by name', () => {
    expect(siblingExecutionArn(arn('inc-1'), 'inc-1-rerun-4')).toBe(arn('inc-1-rerun-4'));
    expect(() => siblingExecutionArn('arn:legacy', 'inc-1-rerun-1')).toThrow(/not a Step Functions execution ARN/);
  });
});
