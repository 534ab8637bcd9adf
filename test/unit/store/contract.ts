/**
 * The behaviour every IncidentStore must have, as a reusable suite: memory-store.test.ts runs it against
 * MemoryIncidentStore; test/twin/intake.test.ts runs it against DynamoIncidentStore on dynalite.
 * `makeStore(clock, faults)`: the store must call `faults.landed(step)` after each intake write of that kind has
 * landed (the DEDUP claim, an identity's state flip, the META count) and await it. Tests arm it to throw there —
 * a failure DynamoDB can have after applying a write (a timeout, a 5xx whose request landed, the Lambda dying
 * before its next request) — or to run another delivery at that point.
 */
import { describe, expect, it } from 'vitest';
import type { AgentRecord, NormalizedAlert } from '../../../functions/core/model.ts';
import { type AlertIntakeStore, ApprovalAlreadyDecided, ApprovalRequestMismatch, IncidentNotFound } from '../../../functions/core/store/store.ts';
import { InvalidCursor } from '../../../functions/core/store/dynamo-store.ts';
import type { IntakeStep } from '../../../functions/core/store/memory-store.ts';

export type ContractStore = AlertIntakeStore;

/** The intake writes after which a failure leaves the work half done (MemoryIncidentStore's `afterWrite` steps). */
export type { IntakeStep };

/** What a failure after a landed write looks like to the caller (the SDK's name for a request that timed out). */
export class InjectedTimeout extends Error {
  override name = 'TimeoutError';
  readonly step: IntakeStep;
  constructor(step: IntakeStep) {
    super(`injected: the ${step} write landed, then the request timed out`);
    this.step = step;
  }
}

/** Fault injection for the contract: handlers armed per intake step, each run once, in arming order. */
export class IntakeFaults {
  readonly #armed: { step: IntakeStep; run: () => Promise<void> | void }[] = [];

  /** The next `step` write lands, then its caller sees a timeout. */
  failAfter(step: IntakeStep): this {
    return this.at(step, () => {
      throw new InjectedTimeout(step);
    });
  }

  /** The next `step` write lands, then `run` runs (another delivery, say) before its caller goes on. */
  at(step: IntakeStep, run: () => Promise<void> | void): this {
    this.#armed.push({ step, run });
    return this;
  }

  /** Called by the store adapter after a write of `step` landed. */
  async landed(step: IntakeStep): Promise<void> {
    const i = this.#armed.findIndex((a) => a.step === step);
    if (i < 0) return;
    const [armed] = this.#armed.splice(i, 1);
    await armed.run();
  }
}

/** A clock the test moves by hand. */
export const manualClock = (start = '2024-05-01T12:00:00.000Z') => {
  let now = new Date(start).getTime();
  const clock = () => new Date(now);
  clock.advance = (ms: number) => {
    now += ms;
  };
  return clock;
};

export const alertFixture = (overrides: Partial<NormalizedAlert> = {}): NormalizedAlert => ({
  source: 'dynatrace',
  dedupKey: 'PID-1',
  state: 'OPEN',
  title: 'Response time degradation on inventory-service',
  service: 'inventory-service',
  severity: 'SEV2',
  startedAt: '2024-05-01T12:04:00.000Z',
  environment: 'w1',
  tags: { service: 'inventory-service' },
  ...overrides,
});

export const agentRecordFixture = (overrides: Partial<AgentRecord> = {}): AgentRecord => ({
  agent: 'impact',
  output: { severity: 'SEV2', evidenceIds: ['metric:inventory-service:latency_p99'] },
  evidence: [{ id: 'metric:inventory-service:latency_p99', kind: 'metric', source: 'telemetry', summary: 'p99 480 ms → 18 s', data: { points: [1, 2, 3] } }],
  latencyMs: 42,
  reasoner: 'offline',
  toolCalls: [{ tool: 'telemetry.metrics', ok: true, latencyMs: 5 }],
  completedAt: '2024-05-01T12:10:00.000Z',
  ...overrides,
});

let ids = 0;
const nextId = () => `inc-test-${++ids}`;
/** Unique per call, so contract runs against one shared table do not see each other's keys. */
const unique = (prefix: string) => `${prefix}-${nextId()}-${Math.random().toString(36).slice(2, 8)}`;

export const incidentStoreContract = (name: string, makeStore: (clock: ReturnType<typeof manualClock>, faults: IntakeFaults) => Promise<ContractStore>) => {
  describe(`IncidentStore contract: ${name}`, () => {
    const setup = async () => {
      const clock = manualClock();
      const faults = new IntakeFaults();
      const store = await makeStore(clock, faults);
      return { clock, store, faults };
    };

    it('opens a new incident from a first alert and records the alert', async () => {
      // Prepare
      const { store } = await setup();
      // Act
      const { incident, created } = await store.recordAlert(alertFixture({ dedupKey: `new-${nextId()}` }), { raw: true }, nextId);
      const detail = await store.getDetail(incident.incidentId);
      // Assess
      expect(created).toBe(true);
      expect(incident).toMatchObject({ status: 'OPEN', severity: 'SEV2', service: 'inventory-service', alertCount: 1, environment: 'w1', source: 'dynatrace' });
      expect(detail?.alerts).toHaveLength(1);
      expect(detail?.alerts[0]).toMatchObject({ deduplicated: false, raw: { raw: true } });
    });

    it('folds a second delivery of the same dedup key into the same incident', async () => {
      const { store, clock } = await setup();
      const alert = alertFixture({ dedupKey: `dup-${nextId()}` });
      const first = await store.recordAlert(alert, {}, nextId);
      clock.advance(1000);
      const second = await store.recordAlert(alert, {}, nextId);
      const detail = await store.getDetail(first.incident.incidentId);
      expect(second.created).toBe(false);
      expect(second.incident.incidentId).toBe(first.incident.incidentId);
      expect(second.incident.alertCount).toBe(2);
      expect(detail?.alerts.map((a) => a.deduplicated)).toEqual([false, true]);
    });

    it('keeps different sources with the same key apart', async () => {
      const { store } = await setup();
      const key = `shared-${nextId()}`;
      const a = await store.recordAlert(alertFixture({ source: 'datadog', dedupKey: key }), {}, nextId);
      const b = await store.recordAlert(alertFixture({ source: 'generic', dedupKey: key }), {}, nextId);
      expect(a.incident.incidentId).not.toBe(b.incident.incidentId);
      expect(b.created).toBe(true);
    });

    it('opens a new incident once the dedup pointer has expired', async () => {
      const { store, clock } = await setup();
      const alert = alertFixture({ dedupKey: `ttl-${nextId()}` });
      const first = await store.recordAlert(alert, {}, nextId);
      clock.advance(73 * 3600 * 1000);
      const again = await store.recordAlert(alert, {}, nextId);
      expect(again.created).toBe(true);
      expect(again.incident.incidentId).not.toBe(first.incident.incidentId);
    });

    it('finds an incident by dedup key and nothing for an unknown key', async () => {
      const { store } = await setup();
      const alert = alertFixture({ source: 'alertmanager', dedupKey: `find-${nextId()}` });
      const { incident } = await store.recordAlert(alert, {}, nextId);
      expect((await store.findByDedupKey('alertmanager', alert.dedupKey))?.incidentId).toBe(incident.incidentId);
      expect(await store.findByDedupKey('alertmanager', 'never-seen')).toBeUndefined();
    });

    it('never moves a terminal status back to a non-terminal one, but applies the rest of the patch', async () => {
      const { store } = await setup();
      const { incident } = await store.recordAlert(alertFixture({ dedupKey: `term-${nextId()}` }), {}, nextId);
      await store.updateIncident(incident.incidentId, { status: 'RESOLVED', outcome: 'resolved' });
      const after = await store.updateIncident(incident.incidentId, { status: 'VERIFYING', reportLocation: 'dynamodb://x' });
      expect(after.status).toBe('RESOLVED');
      expect(after.reportLocation).toBe('dynamodb://x');
      const failed = await store.updateIncident(incident.incidentId, { status: 'FAILED' });
      expect(failed.status).toBe('FAILED');
    });

    it('throws IncidentNotFound when updating an unknown incident', async () => {
      const { store } = await setup();
      await expect(store.updateIncident('inc-missing', { status: 'INVESTIGATING' })).rejects.toBeInstanceOf(IncidentNotFound);
      await expect(store.setExecutionArn('inc-missing', 'arn')).rejects.toBeInstanceOf(IncidentNotFound);
    });

    it('keeps the task token out of every read and decides a pending approval once', async () => {
      const { store } = await setup();
      const { incident } = await store.recordAlert(alertFixture({ dedupKey: `appr-${nextId()}` }), {}, nextId);
      await store.requestApproval(incident.incidentId, 'secret-token-123', { status: 'PENDING', requestedAt: '2024-05-01T12:20:00.000Z', expiresAt: '2024-05-01T13:20:00.000Z', channel: 'api' });
      const reads = [await store.getIncident(incident.incidentId), await store.getDetail(incident.incidentId), (await store.listIncidents({ status: 'AWAITING_APPROVAL' })).items];
      expect(JSON.stringify(reads)).not.toContain('secret-token-123');
      expect(reads[0]).toMatchObject({ status: 'AWAITING_APPROVAL', approval: { status: 'PENDING', channel: 'api' } });

      const decided = await store.decideApproval(incident.incidentId, 'approve', 'james.wu', 'go');
      expect(decided.taskToken).toBe('secret-token-123');
      expect(decided.approval).toMatchObject({ status: 'APPROVED', approver: 'james.wu', comment: 'go', channel: 'api' });
      const second = await store.decideApproval(incident.incidentId, 'reject', 'sarah.chen').catch((e: unknown) => e);
      expect(second).toBeInstanceOf(ApprovalAlreadyDecided);
      expect((second as ApprovalAlreadyDecided).approval).toMatchObject({ status: 'APPROVED', approver: 'james.wu' });
    });

    it('decides only the approval request it was made for: another request id is refused and leaves it PENDING', async () => {
      const { store } = await setup();
      const { incident } = await store.recordAlert(alertFixture({ dedupKey: `req-${nextId()}` }), {}, nextId);
      await store.requestApproval(incident.incidentId, 'tok', { status: 'PENDING', requestedAt: '2024-05-01T12:20:00.000Z', requestId: 'req-new' });
      const stale = await store.decideApproval(incident.incidentId, 'approve', 'retool-bot', undefined, 'req-old').catch((e: unknown) => e);
      expect(stale).toBeInstanceOf(ApprovalRequestMismatch);
      expect((stale as ApprovalRequestMismatch).approval).toMatchObject({ status: 'PENDING', requestId: 'req-new' });
      expect((await store.getIncident(incident.incidentId))?.approval).toMatchObject({ status: 'PENDING', requestId: 'req-new' });
      const decided = await store.decideApproval(incident.incidentId, 'approve', 'retool-bot', undefined, 'req-new');
      expect(decided.approval).toMatchObject({ status: 'APPROVED', requestId: 'req-new' });
    });

    it('puts a decided approval back to PENDING with undoDecision', async () => {
      const { store } = await setup();
      const { incident } = await store.recordAlert(alertFixture({ dedupKey: `undo-${nextId()}` }), {}, nextId);
      await store.requestApproval(incident.incidentId, 'tok', { status: 'PENDING', requestedAt: '2024-05-01T12:20:00.000Z' });
      await store.decideApproval(incident.incidentId, 'reject', 'james.wu', 'no');
      await store.undoDecision(incident.incidentId);
      const meta = await store.getIncident(incident.incidentId);
      expect(meta?.approval).toEqual({ status: 'PENDING', requestedAt: '2024-05-01T12:20:00.000Z' });
      expect((await store.decideApproval(incident.incidentId, 'approve', 'sarah.chen')).approval.status).toBe('APPROVED');
    });

    it('refuses a decision when no approval was requested', async () => {
      const { store } = await setup();
      const { incident } = await store.recordAlert(alertFixture({ dedupKey: `noappr-${nextId()}` }), {}, nextId);
      await expect(store.decideApproval(incident.incidentId, 'approve', 'x')).rejects.toBeInstanceOf(ApprovalAlreadyDecided);
      await expect(store.decideApproval('inc-missing', 'approve', 'x')).rejects.toBeInstanceOf(IncidentNotFound);
    });

    it('stores agent records and a timeline in order', async () => {
      const { store, clock } = await setup();
      const { incident } = await store.recordAlert(alertFixture({ dedupKey: `agent-${nextId()}` }), {}, nextId);
      await store.putAgentRecord(incident.incidentId, agentRecordFixture());
      await store.appendEvent(incident.incidentId, { type: 'a', message: 'first' });
      await store.appendEvent(incident.incidentId, { type: 'b', message: 'same millisecond' });
      clock.advance(5);
      await store.appendEvent(incident.incidentId, { type: 'c', message: 'later' });
      const detail = await store.getDetail(incident.incidentId);
      expect(await store.getAgentRecord(incident.incidentId, 'impact')).toEqual(agentRecordFixture());
      expect(detail?.agents.impact?.latencyMs).toBe(42);
      expect(detail?.timeline.map((e) => e.type)).toEqual(['a', 'b', 'c']);
      expect(await store.getAgentRecord(incident.incidentId, 'plan')).toBeUndefined();
    });

    it('reads the incident with the asked agents\' records in one call: absent agents are missing, not errors', async () => {
      const { store } = await setup();
      const { incident } = await store.recordAlert(alertFixture({ dedupKey: `with-${nextId()}` }), {}, nextId);
      await store.putAgentRecord(incident.incidentId, agentRecordFixture());
      await store.putAgentRecord(incident.incidentId, agentRecordFixture({ agent: 'logs', latencyMs: 7 }));
      await store.putAgentRecord(incident.incidentId, agentRecordFixture({ agent: 'triage' }));
      const got = await store.getIncidentWith(incident.incidentId, ['impact', 'logs', 'plan']);
      expect(got?.incident).toEqual(await store.getIncident(incident.incidentId));
      expect(got?.records.impact).toEqual(agentRecordFixture());
      expect(got?.records.logs?.latencyMs).toBe(7);
      expect(Object.keys(got?.records ?? {}).sort()).toEqual(['impact', 'logs']); // triage was not asked, plan has not run
      expect(JSON.stringify(got)).not.toContain('approvalTaskToken');
      expect(await store.getIncidentWith('inc-missing', ['impact'])).toBeUndefined();
      expect((await store.getIncidentWith(incident.incidentId, []))?.records).toEqual({});
    });

    it('trims huge evidence data so the agent record fits in one item', async () => {
      const { store } = await setup();
      const { incident } = await store.recordAlert(alertFixture({ dedupKey: `big-${nextId()}` }), {}, nextId);
      const huge = { lines: Array.from({ length: 5000 }, (_, i) => `2024-05-01T12:04:${String(i % 60).padStart(2, '0')}Z ERROR HikariPool-1 - Connection is not available ${i}`) };
      await store.putAgentRecord(incident.incidentId, agentRecordFixture({ agent: 'logs', evidence: [{ id: 'log:1', kind: 'log', source: 'logs', summary: 'pool timeouts', data: huge }] }));
      const stored = await store.getAgentRecord(incident.incidentId, 'logs');
      expect(stored?.evidence[0]).toMatchObject({ id: 'log:1', summary: 'pool timeouts', data: { truncated: true } });
      expect(JSON.stringify(stored).length).toBeLessThan(400_000);
    });

    it('lists newest first across statuses with filters and an opaque cursor', async () => {
      const { store, clock } = await setup();
      const service = `svc-${nextId()}`;
      const opened: string[] = [];
      for (let i = 0; i < 5; i++) {
        clock.advance(60_000);
        const { incident } = await store.recordAlert(alertFixture({ dedupKey: `list-${service}-${i}`, service, severity: i % 2 === 0 ? 'SEV1' : 'SEV3' }), {}, nextId);
        opened.push(incident.incidentId);
        if (i === 1) await store.updateIncident(incident.incidentId, { status: 'RESOLVED' });
        if (i === 2) await store.updateIncident(incident.incidentId, { status: 'INVESTIGATING' });
      }
      const page1 = await store.listIncidents({ service, limit: 2 });
      const page2 = await store.listIncidents({ service, limit: 2, cursor: page1.cursor });
      const page3 = await store.listIncidents({ service, limit: 2, cursor: page2.cursor });
      expect([...page1.items, ...page2.items, ...page3.items].map((i) => i.incidentId)).toEqual([...opened].reverse());
      expect(page1.cursor).toBeTruthy();
      expect(page3.cursor).toBeUndefined();
      expect((await store.listIncidents({ service, status: 'RESOLVED' })).items.map((i) => i.incidentId)).toEqual([opened[1]]);
      expect((await store.listIncidents({ service, severity: 'SEV1' })).items.map((i) => i.incidentId)).toEqual([opened[4], opened[2], opened[0]]);
      await expect(store.listIncidents({ cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidCursor);
    });

    it('refuses a cursor whose position is not a status sort key: too long, a lone surrogate, no ISO time, no incident id', async () => {
      // Prepare: cursors shaped like ours, whose decoded position DynamoDB would refuse (a ValidationException) or never wrote
      const { store } = await setup();
      const cursorOf = (before: string) => Buffer.from(JSON.stringify({ v: 1, before }), 'utf8').toString('base64url');
      const forged = [
        `2024-05-01T12:00:00.000Z#${'x'.repeat(1_500)}`,
        '2024-05-01T12:00:00.000Z#inc-\ud800',
        'x'.repeat(1_500),
        'yesterday#inc-1',
        '2024-13-01T12:00:00.000Z#inc-1',
        '2024-05-01T12:00:00.000Z#',
        '2024-05-01T12:00:00.000Z',
      ];
      // Act + Assess
      for (const before of forged) await expect(store.listIncidents({ cursor: cursorOf(before) }), before.slice(0, 40)).rejects.toBeInstanceOf(InvalidCursor);
      await expect(store.listIncidents({ cursor: cursorOf(`2024-05-01T12:00:00.000Z#${'x'.repeat(128)}`) })).resolves.toMatchObject({ items: expect.any(Array) });
    });

    it('replaces the execution ARN only when it is still the one expected (a rerun reserving its execution)', async () => {
      // Prepare
      const { store } = await setup();
      const { incident } = await store.recordAlert(alertFixture({ dedupKey: `swap-${nextId()}` }), {}, nextId);
      // Act
      const fromNone = await store.replaceExecutionArn(incident.incidentId, undefined, 'arn:original');
      const stale = await store.replaceExecutionArn(incident.incidentId, undefined, 'arn:late');
      const next = await store.replaceExecutionArn(incident.incidentId, 'arn:original', 'arn:rerun-1');
      const behind = await store.replaceExecutionArn(incident.incidentId, 'arn:original', 'arn:rerun-1-too');
      // Assess
      expect(fromNone).toMatchObject({ replaced: true, incident: { executionArn: 'arn:original' } });
      expect(stale).toMatchObject({ replaced: false, incident: { executionArn: 'arn:original' } });
      expect(next).toMatchObject({ replaced: true, incident: { executionArn: 'arn:rerun-1' } });
      expect(behind).toMatchObject({ replaced: false, incident: { executionArn: 'arn:rerun-1' } });
      expect((await store.getIncident(incident.incidentId))?.executionArn).toBe('arn:rerun-1');
      await expect(store.replaceExecutionArn('inc-missing', undefined, 'arn')).rejects.toBeInstanceOf(IncidentNotFound);
    });

    it('lets exactly one of 20 concurrent replacements from the same ARN win', async () => {
      const { store } = await setup();
      const { incident } = await store.recordAlert(alertFixture({ dedupKey: `swap-race-${nextId()}` }), {}, nextId);
      await store.setExecutionArn(incident.incidentId, 'arn:original');
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.replaceExecutionArn(incident.incidentId, 'arn:original', `arn:rerun-${i}`)));
      const winners = results.filter((r) => r.replaced);
      expect(winners).toHaveLength(1);
      expect((await store.getIncident(incident.incidentId))?.executionArn).toBe(winners[0].incident.executionArn);
    });

    it('reopens a terminal incident for a rerun and leaves a running one alone', async () => {
      const { store } = await setup();
      const { incident } = await store.recordAlert(alertFixture({ dedupKey: `reopen-${nextId()}` }), {}, nextId);
      await store.requestApproval(incident.incidentId, 'tok', { status: 'PENDING' });
      await store.updateIncident(incident.incidentId, { status: 'ESCALATED', outcome: 'escalated', reportLocation: 'r' });
      const reopened = await store.reopen(incident.incidentId);
      expect(reopened.status).toBe('INVESTIGATING');
      expect(reopened.outcome).toBeUndefined();
      expect(reopened.approval).toBeUndefined();
      await expect(store.decideApproval(incident.incidentId, 'approve', 'x')).rejects.toBeInstanceOf(ApprovalAlreadyDecided);
      expect((await store.reopen(incident.incidentId)).status).toBe('INVESTIGATING');
      expect((await store.listIncidents({ status: 'INVESTIGATING' })).items.map((i) => i.incidentId)).toContain(incident.incidentId);
    });

    it('correlates a new alert for the same environment and service within the window into the open incident', async () => {
      // Prepare
      const { store, clock } = await setup();
      const service = unique('svc');
      const first = await store.recordAlert(alertFixture({ dedupKey: unique('a'), service }), {}, nextId, { correlationWindowSeconds: 300 });
      clock.advance(240_000);
      // Act
      const second = await store.recordAlert(alertFixture({ dedupKey: unique('b'), service, source: 'datadog' }), { second: true }, nextId, { correlationWindowSeconds: 300 });
      // Assess
      expect(first).toMatchObject({ created: true, disposition: 'opened' });
      expect(second).toMatchObject({ created: false, disposition: 'correlated', incident: { incidentId: first.incident.incidentId, alertCount: 2, distinctAlerts: 2, resolvedAlerts: 0 } });
      const detail = await store.getDetail(first.incident.incidentId);
      expect(detail?.alerts.map((a) => [a.alert.source, a.deduplicated, a.correlated ?? false])).toEqual([
        ['dynatrace', false, false],
        ['datadog', false, true],
      ]);
    });

    it('slides the correlation window with each alert and opens a new incident after a quiet window', async () => {
      const { store, clock } = await setup();
      const service = unique('svc');
      const opts = { correlationWindowSeconds: 60 };
      const a = await store.recordAlert(alertFixture({ dedupKey: unique('k'), service }), {}, nextId, opts);
      clock.advance(50_000);
      const b = await store.recordAlert(alertFixture({ dedupKey: unique('k'), service }), {}, nextId, opts);
      clock.advance(50_000); // 100 s after the first, 50 s after the latest
      const c = await store.recordAlert(alertFixture({ dedupKey: unique('k'), service }), {}, nextId, opts);
      clock.advance(61_000);
      const d = await store.recordAlert(alertFixture({ dedupKey: unique('k'), service }), {}, nextId, opts);
      expect([b.incident.incidentId, c.incident.incidentId]).toEqual([a.incident.incidentId, a.incident.incidentId]);
      expect(d).toMatchObject({ created: true, disposition: 'opened' });
      expect(d.incident.incidentId).not.toBe(a.incident.incidentId);
    });

    it('keeps other environments, other services and correlation-off alerts apart', async () => {
      const { store } = await setup();
      const service = unique('svc');
      const opts = { correlationWindowSeconds: 300 };
      const w1 = await store.recordAlert(alertFixture({ dedupKey: unique('k'), service, environment: 'w1' }), {}, nextId, opts);
      const w2 = await store.recordAlert(alertFixture({ dedupKey: unique('k'), service, environment: 'w2' }), {}, nextId, opts);
      const other = await store.recordAlert(alertFixture({ dedupKey: unique('k'), service: `${service}-other`, environment: 'w1' }), {}, nextId, opts);
      const off = await store.recordAlert(alertFixture({ dedupKey: unique('k'), service, environment: 'w1' }), {}, nextId);
      expect(new Set([w1, w2, other, off].map((r) => r.incident.incidentId)).size).toBe(4);
      expect([w1, w2, other, off].every((r) => r.disposition === 'opened')).toBe(true);
    });

    it('opens a new incident when the correlated one has closed', async () => {
      const { store, clock } = await setup();
      const service = unique('svc');
      const opts = { correlationWindowSeconds: 300 };
      const first = await store.recordAlert(alertFixture({ dedupKey: unique('k'), service }), {}, nextId, opts);
      await store.updateIncident(first.incident.incidentId, { status: 'RESOLVED', outcome: 'resolved' });
      clock.advance(1000);
      const next = await store.recordAlert(alertFixture({ dedupKey: unique('k'), service }), {}, nextId, opts);
      const after = await store.recordAlert(alertFixture({ dedupKey: unique('k'), service }), {}, nextId, opts);
      expect(next).toMatchObject({ created: true, disposition: 'opened' });
      expect(next.incident.incidentId).not.toBe(first.incident.incidentId);
      expect(after).toMatchObject({ disposition: 'correlated', incident: { incidentId: next.incident.incidentId } });
    });

    it('opens a new incident when the correlated one holds its budget of identity tags (an alert storm on one service)', async () => {
      const { store } = await setup();
      const service = unique('svc');
      const opts = { correlationWindowSeconds: 300, maxCorrelatedTags: 3 };
      const storm = [];
      for (let i = 0; i < 5; i++) storm.push(await store.recordAlert(alertFixture({ dedupKey: unique('k'), service }), {}, nextId, opts));
      const [first, , third, fourth, fifth] = storm;
      expect(third).toMatchObject({ disposition: 'correlated', incident: { incidentId: first!.incident.incidentId, distinctAlerts: 3 } });
      expect(fourth).toMatchObject({ created: true, disposition: 'opened' });
      expect(fourth!.incident.incidentId).not.toBe(first!.incident.incidentId);
      expect(fifth).toMatchObject({ disposition: 'correlated', incident: { incidentId: fourth!.incident.incidentId } });
    });

    it('folds a repeated delivery into its incident as deduplicated, not as a new identity', async () => {
      const { store } = await setup();
      const alert = alertFixture({ dedupKey: unique('k'), service: unique('svc') });
      const opts = { correlationWindowSeconds: 300 };
      const first = await store.recordAlert(alert, {}, nextId, opts);
      const again = await store.recordAlert(alert, {}, nextId, opts);
      expect(again).toMatchObject({ created: false, disposition: 'deduplicated', incident: { incidentId: first.incident.incidentId, alertCount: 2, distinctAlerts: 1 } });
    });

    it('marks an identity resolved once, tells when every alert is resolved, and reopens it on a new OPEN delivery', async () => {
      const { store } = await setup();
      const service = unique('svc');
      const opts = { correlationWindowSeconds: 300 };
      const a = alertFixture({ dedupKey: unique('a'), service });
      const b = alertFixture({ dedupKey: unique('b'), service });
      const { incident } = await store.recordAlert(a, {}, nextId, opts);
      await store.recordAlert(b, {}, nextId, opts);
      const resolvedA = await store.resolveAlert({ ...a, state: 'RESOLVED' }, { n: 1 });
      const repeatA = await store.resolveAlert({ ...a, state: 'RESOLVED' }, { n: 2 });
      const resolvedB = await store.resolveAlert({ ...b, state: 'RESOLVED' }, {});
      expect(resolvedA).toMatchObject({ newlyResolved: true, allResolved: false, incident: { incidentId: incident.incidentId, resolvedAlerts: 1, distinctAlerts: 2 } });
      expect(repeatA).toMatchObject({ newlyResolved: false, allResolved: false, incident: { resolvedAlerts: 1 } });
      expect(resolvedB).toMatchObject({ newlyResolved: true, allResolved: true, incident: { resolvedAlerts: 2, alertCount: 5 } });
      const refired = await store.recordAlert(a, {}, nextId, opts);
      expect(refired).toMatchObject({ disposition: 'deduplicated', incident: { resolvedAlerts: 1, distinctAlerts: 2 } });
      const detail = await store.getDetail(incident.incidentId);
      expect(detail?.alerts.map((x) => x.alert.state)).toEqual(['OPEN', 'OPEN', 'RESOLVED', 'RESOLVED', 'RESOLVED', 'OPEN']);
      expect(await store.resolveAlert(alertFixture({ dedupKey: unique('never'), state: 'RESOLVED' }), {})).toBeUndefined();
    });

    it('withdraws a pending approval only once every alert is resolved, and then no decision can win', async () => {
      const { store } = await setup();
      const a = alertFixture({ dedupKey: unique('a'), service: unique('svc') });
      const { incident } = await store.recordAlert(a, {}, nextId, { correlationWindowSeconds: 300 });
      await store.requestApproval(incident.incidentId, 'tok-withdraw', { status: 'PENDING', requestedAt: '2024-05-01T12:20:00.000Z', channel: 'api' });
      expect(await store.withdrawApproval(incident.incidentId, 'alerts resolved')).toMatchObject({ withdrawn: false, reason: 'alerts-open', approval: { status: 'PENDING' } });
      await store.resolveAlert({ ...a, state: 'RESOLVED' }, {});
      const withdrawn = await store.withdrawApproval(incident.incidentId, 'every alert resolved');
      expect(withdrawn).toMatchObject({ withdrawn: true, taskToken: 'tok-withdraw', approval: { status: 'WITHDRAWN', approver: 'autopilot', comment: 'every alert resolved', channel: 'api' } });
      await expect(store.decideApproval(incident.incidentId, 'approve', 'james.wu')).rejects.toBeInstanceOf(ApprovalAlreadyDecided);
      expect(await store.withdrawApproval(incident.incidentId, 'again')).toMatchObject({ withdrawn: false, reason: 'not-pending', approval: { status: 'WITHDRAWN' } });
      expect(JSON.stringify(await store.getDetail(incident.incidentId))).not.toContain('tok-withdraw');
    });

    it('lets a human decision that came first win over a withdrawal, and undoes a withdrawal back to PENDING', async () => {
      const { store } = await setup();
      const a = alertFixture({ dedupKey: unique('a'), service: unique('svc') });
      const decidedFirst = (await store.recordAlert(a, {}, nextId)).incident.incidentId;
      await store.requestApproval(decidedFirst, 'tok-1', { status: 'PENDING' });
      await store.resolveAlert({ ...a, state: 'RESOLVED' }, {});
      await store.decideApproval(decidedFirst, 'reject', 'sarah.chen');
      expect(await store.withdrawApproval(decidedFirst, 'resolved')).toMatchObject({ withdrawn: false, reason: 'not-pending', approval: { status: 'REJECTED' } });

      const b = alertFixture({ dedupKey: unique('b'), service: unique('svc') });
      const undone = (await store.recordAlert(b, {}, nextId)).incident.incidentId;
      await store.requestApproval(undone, 'tok-2', { status: 'PENDING', requestedAt: '2024-05-01T12:20:00.000Z' });
      await store.resolveAlert({ ...b, state: 'RESOLVED' }, {});
      await store.withdrawApproval(undone, 'resolved');
      await store.undoWithdrawal(undone);
      expect((await store.getIncident(undone))?.approval).toEqual({ status: 'PENDING', requestedAt: '2024-05-01T12:20:00.000Z' });
      expect((await store.decideApproval(undone, 'approve', 'james.wu')).taskToken).toBe('tok-2');
      await expect(store.withdrawApproval('inc-missing', 'x')).rejects.toBeInstanceOf(IncidentNotFound);
    });

    it('under concurrent deliveries opens exactly one incident per service and counts every alert', async () => {
      // Prepare: 60 alerts, 3 services, 20 distinct identities each, every identity delivered once
      const { store } = await setup();
      const services = [unique('svc'), unique('svc'), unique('svc')];
      const alerts = Array.from({ length: 60 }, (_, i) => alertFixture({ dedupKey: unique(`storm-${i}`), service: services[i % 3] }));
      // Act
      const results = await Promise.all(alerts.map((a) => store.recordAlert(a, {}, nextId, { correlationWindowSeconds: 300 })));
      // Assess
      const byService = new Map(services.map((s) => [s, new Set(results.filter((_, i) => alerts[i].service === s).map((r) => r.incident.incidentId))]));
      for (const s of services) expect(byService.get(s)?.size, s).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(3);
      const counts = await Promise.all([...byService.values()].map(async (ids) => (await store.getIncident([...ids][0]))!));
      expect(counts.map((m) => m.distinctAlerts)).toEqual([20, 20, 20]);
      expect(counts.map((m) => m.alertCount)).toEqual([20, 20, 20]);
    });

    it('under concurrent deliveries of one identity opens one incident', async () => {
      const { store } = await setup();
      const alert = alertFixture({ dedupKey: unique('same'), service: unique('svc') });
      const results = await Promise.all(Array.from({ length: 20 }, () => store.recordAlert(alert, {}, nextId, { correlationWindowSeconds: 300 })));
      expect(new Set(results.map((r) => r.incident.incidentId)).size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const meta = await store.getIncident(results[0].incident.incidentId);
      expect(meta).toMatchObject({ alertCount: 20, distinctAlerts: 1 });
    });

    it('keeps an ESCALATED, AWAITING_APPROVAL or FAILED incident taking its service’s correlated alerts, never moving its status', async () => {
      for (const status of ['ESCALATED', 'AWAITING_APPROVAL', 'FAILED'] as const) {
        // Prepare
        const { store, clock } = await setup();
        const service = unique('svc');
        const opts = { correlationWindowSeconds: 300 };
        const first = await store.recordAlert(alertFixture({ dedupKey: unique('k'), service }), {}, nextId, opts);
        await store.updateIncident(first.incident.incidentId, { status });
        clock.advance(1000);
        // Act
        const joined = await store.recordAlert(alertFixture({ dedupKey: unique('k'), service }), {}, nextId, opts);
        // Assess
        expect(joined, status).toMatchObject({ created: false, disposition: 'correlated', incident: { incidentId: first.incident.incidentId, status, distinctAlerts: 2 } });
      }
    });

    describe('an alert identity that fires again: a re-fire after a RESOLVED incident opens anew, a repeat folds', () => {
      const opts = { correlationWindowSeconds: 300 };
      /** Alert `a` opened incident X, the vendor then said RESOLVED, and X was closed with `status`. */
      const firedAndResolved = async (store: ContractStore, status: 'RESOLVED' | 'ESCALATED' | 'FAILED', options: { correlationWindowSeconds?: number } = opts) => {
        const a = alertFixture({ dedupKey: unique('refire'), service: unique('svc') });
        const { incident } = await store.recordAlert(a, {}, nextId, options);
        await store.resolveAlert({ ...a, state: 'RESOLVED' }, {});
        await store.updateIncident(incident.incidentId, { status, outcome: status.toLowerCase() });
        return { a, incidentId: incident.incidentId };
      };

      it('opens a new incident for a re-fire (OPEN after RESOLVED) of an identity whose incident is RESOLVED, with or without correlation', async () => {
        for (const options of [opts, {}]) {
          // Prepare
          const { store, clock } = await setup();
          const { a, incidentId } = await firedAndResolved(store, 'RESOLVED', options);
          clock.advance(3600_000); // within the 72 h dedup window
          // Act
          const refired = await store.recordAlert(a, { again: true }, nextId, options);
          // Assess: a new incident, which the identity now points at; the resolved one took nothing
          expect(refired, JSON.stringify(options)).toMatchObject({ created: true, disposition: 'opened', incident: { status: 'OPEN', distinctAlerts: 1, resolvedAlerts: 0, alertCount: 1 } });
          expect(refired.incident.incidentId).not.toBe(incidentId);
          expect((await store.findByDedupKey(a.source, a.dedupKey))?.incidentId).toBe(refired.incident.incidentId);
          expect(await store.getIncident(incidentId)).toMatchObject({ status: 'RESOLVED', alertCount: 2, distinctAlerts: 1, resolvedAlerts: 1 });
          expect((await store.getDetail(refired.incident.incidentId))?.alerts).toEqual([expect.objectContaining({ deduplicated: false, raw: { again: true } })]);
          // Its repeat folds into the new incident, and its resolution resolves it there.
          expect(await store.recordAlert(a, {}, nextId, options)).toMatchObject({ disposition: 'deduplicated', incident: { incidentId: refired.incident.incidentId, alertCount: 2 } });
          expect(await store.resolveAlert({ ...a, state: 'RESOLVED' }, {})).toMatchObject({ allResolved: true, incident: { incidentId: refired.incident.incidentId } });
        }
      });

      it('lets a re-fire join the open incident its service correlates to now, rather than the resolved one', async () => {
        const { store } = await setup();
        const { a, incidentId } = await firedAndResolved(store, 'RESOLVED');
        const other = await store.recordAlert(alertFixture({ dedupKey: unique('other'), service: a.service }), {}, nextId, opts);
        const refired = await store.recordAlert(a, {}, nextId, opts);
        expect(other).toMatchObject({ created: true, disposition: 'opened' });
        expect(other.incident.incidentId).not.toBe(incidentId);
        expect(refired).toMatchObject({ created: false, disposition: 'correlated', incident: { incidentId: other.incident.incidentId, distinctAlerts: 2 } });
      });

      it('reopens a re-fire in its ESCALATED or FAILED incident (humans own it): it joins, nothing new opens', async () => {
        for (const status of ['ESCALATED', 'FAILED'] as const) {
          const { store } = await setup();
          const { a, incidentId } = await firedAndResolved(store, status);
          const refired = await store.recordAlert(a, {}, nextId, opts);
          expect(refired, status).toMatchObject({ created: false, disposition: 'deduplicated', incident: { incidentId, status, distinctAlerts: 1, resolvedAlerts: 0 } });
        }
      });

      it('folds a repeated OPEN delivery of an identity that never resolved into its incident, RESOLVED as it is (a duplicate delivery)', async () => {
        const { store } = await setup();
        const a = alertFixture({ dedupKey: unique('repeat'), service: unique('svc') });
        const { incident } = await store.recordAlert(a, {}, nextId, opts);
        await store.updateIncident(incident.incidentId, { status: 'RESOLVED', outcome: 'resolved' });
        const repeat = await store.recordAlert(a, {}, nextId, opts);
        expect(repeat).toMatchObject({ created: false, disposition: 'deduplicated', incident: { incidentId: incident.incidentId, status: 'RESOLVED', alertCount: 2, distinctAlerts: 1 } });
      });

      it('opens exactly one new incident for 20 racing re-fires of one identity, with or without correlation', async () => {
        for (const options of [opts, {}]) {
          const { store } = await setup();
          const { a, incidentId } = await firedAndResolved(store, 'RESOLVED', options);
          const results = await Promise.all(Array.from({ length: 20 }, () => store.recordAlert(a, {}, nextId, options)));
          const ids = new Set(results.map((r) => r.incident.incidentId));
          expect(ids.size, JSON.stringify(options)).toBe(1);
          expect(ids.has(incidentId)).toBe(false);
          expect(results.filter((r) => r.created)).toHaveLength(1);
          expect(await store.getIncident([...ids][0])).toMatchObject({ alertCount: 20, distinctAlerts: 1, resolvedAlerts: 0 });
          expect(await store.getIncident(incidentId)).toMatchObject({ alertCount: 2, distinctAlerts: 1, resolvedAlerts: 1 });
        }
      });

      it('completes a re-fire that failed after its re-point landed with its retry: one new incident, counted once', async () => {
        const { store, faults } = await setup();
        const { a, incidentId } = await firedAndResolved(store, 'RESOLVED');
        faults.failAfter('claim');
        await expect(store.recordAlert(a, {}, nextId, opts)).rejects.toBeInstanceOf(InjectedTimeout);
        const retry = await store.recordAlert(a, {}, nextId, opts);
        expect(retry).toMatchObject({ created: true, disposition: 'opened', incident: { distinctAlerts: 1, alertCount: 1 } });
        expect(retry.incident.incidentId).not.toBe(incidentId);
        expect((await store.findByDedupKey(a.source, a.dedupKey))?.incidentId).toBe(retry.incident.incidentId);
      });

      it('re-routes a new alert whose incident was RESOLVED between correlation reading it joinable and the count landing', async () => {
        // Prepare: X is ESCALATED (joinable); right after b's identity is claimed for X, the workflow resolves X
        const { store, faults } = await setup();
        const service = unique('svc');
        const first = await store.recordAlert(alertFixture({ dedupKey: unique('a'), service }), {}, nextId, opts);
        const x = first.incident.incidentId;
        await store.updateIncident(x, { status: 'ESCALATED' });
        const b = alertFixture({ dedupKey: unique('b'), service, source: 'datadog' });
        faults.at('claim', async () => {
          await store.updateIncident(x, { status: 'RESOLVED', outcome: 'resolved' });
        });
        // Act
        const landed = await store.recordAlert(b, { b: true }, nextId, opts);
        // Assess: b opened a new incident, its identity points there, and the next alert of the service joins it
        expect(landed).toMatchObject({ created: true, disposition: 'opened', incident: { status: 'OPEN', distinctAlerts: 1 } });
        expect(landed.incident.incidentId).not.toBe(x);
        expect((await store.findByDedupKey(b.source, b.dedupKey))?.incidentId).toBe(landed.incident.incidentId);
        expect((await store.getIncident(x))?.status).toBe('RESOLVED');
        expect((await store.getDetail(x))?.alerts.map((s) => s.alert.dedupKey)).toEqual([first.incident.dedupKey]);
        const next = await store.recordAlert(alertFixture({ dedupKey: unique('c'), service }), {}, nextId, opts);
        expect(next).toMatchObject({ disposition: 'correlated', incident: { incidentId: landed.incident.incidentId } });
      });
    });

    describe('the opening journal: one conditional claim decides who starts the workflow and publishes Incident Opened', () => {
      const claim = (at: Date, claimId = unique('claim')) => ({ claimId, claimedBy: 'generic:a', at, leaseMs: 60_000 });

      it('grants one claim, refuses others while its lease lasts, and grants a new one after it passed or was released', async () => {
        // Prepare
        const { store, clock } = await setup();
        const { incident } = await store.recordAlert(alertFixture({ dedupKey: unique('open') }), {}, nextId);
        // Act
        const first = await store.claimOpening(incident.incidentId, claim(clock(), 'first'));
        const second = await store.claimOpening(incident.incidentId, claim(clock(), 'second'));
        clock.advance(61_000);
        const taker = await store.claimOpening(incident.incidentId, claim(clock(), 'taker'));
        await store.releaseOpening(incident.incidentId, 'first'); // not the holder any more: nothing happens
        const afterStale = await store.claimOpening(incident.incidentId, claim(clock(), 'late'));
        await store.releaseOpening(incident.incidentId, 'taker');
        const afterRelease = await store.claimOpening(incident.incidentId, claim(clock(), 'next'));
        // Assess
        expect(first).toMatchObject({ claimed: true, incident: { opening: { claimId: 'first', claimedBy: 'generic:a', claimedUntil: new Date(clock().getTime() - 61_000 + 60_000).toISOString() } } });
        expect(second).toMatchObject({ claimed: false, incident: { opening: { claimId: 'first' } } });
        expect(taker).toMatchObject({ claimed: true, incident: { opening: { claimId: 'taker' } } });
        expect(afterStale.claimed).toBe(false);
        expect(afterRelease).toMatchObject({ claimed: true, incident: { opening: { claimId: 'next' } } });
      });

      it('records the execution only for the current holder, and refuses every claim once published', async () => {
        const { store, clock } = await setup();
        const { incident } = await store.recordAlert(alertFixture({ dedupKey: unique('open') }), {}, nextId);
        await store.claimOpening(incident.incidentId, claim(clock(), 'old'));
        clock.advance(61_000);
        await store.claimOpening(incident.incidentId, claim(clock(), 'new'));
        expect(await store.recordOpeningStarted(incident.incidentId, 'old', 'arn:old')).toBe(false);
        expect((await store.getIncident(incident.incidentId))?.executionArn).toBeUndefined();
        expect(await store.recordOpeningStarted(incident.incidentId, 'new', 'arn:new')).toBe(true);
        await store.markOpeningPublished(incident.incidentId, 'new');
        clock.advance(61_000);
        const after = await store.claimOpening(incident.incidentId, claim(clock(), 'again'));
        expect(after).toMatchObject({ claimed: false, incident: { executionArn: 'arn:new', opening: { claimId: 'new', publishedAt: expect.any(String), startedAt: expect.any(String) } } });
        await expect(store.claimOpening('inc-missing', claim(clock()))).rejects.toBeInstanceOf(IncidentNotFound);
      });

      it('records the start without replacing an execution ARN a rerun recorded meanwhile, and keeps the claim going', async () => {
        // Prepare: a taker holds the unpublished opening; a human reruns the incident, which records its rerun's ARN
        const { store, clock } = await setup();
        const { incident } = await store.recordAlert(alertFixture({ dedupKey: unique('rerun') }), {}, nextId);
        await store.claimOpening(incident.incidentId, claim(clock(), 'taker'));
        await store.setExecutionArn(incident.incidentId, 'arn:rerun-1');
        // Act: the taker records the original execution it found by name
        const recorded = await store.recordOpeningStarted(incident.incidentId, 'taker', 'arn:original');
        // Assess: the start is journalled, the rerun's ARN stays
        expect(recorded).toBe(true);
        expect(await store.getIncident(incident.incidentId)).toMatchObject({ executionArn: 'arn:rerun-1', opening: { claimId: 'taker', startedAt: expect.any(String) } });
        // The same ARN again (a retried record) is a no-op that still answers true.
        expect(await store.recordOpeningStarted(incident.incidentId, 'taker', 'arn:rerun-1')).toBe(true);
        expect((await store.getIncident(incident.incidentId))?.executionArn).toBe('arn:rerun-1');
      });

      it('counts an incident with an execution ARN and no journal (opened before the journal) as published', async () => {
        const { store, clock } = await setup();
        const { incident } = await store.recordAlert(alertFixture({ dedupKey: unique('legacy') }), {}, nextId);
        await store.setExecutionArn(incident.incidentId, 'arn:legacy');
        expect((await store.claimOpening(incident.incidentId, claim(clock()))).claimed).toBe(false);
      });

      it('refuses to claim the opening of a closed incident, even one whose claim was released or expired', async () => {
        for (const status of ['RESOLVED', 'ESCALATED', 'FAILED'] as const) {
          // Prepare: a claimant that failed after starting the workflow released its claim; the workflow then closed the incident
          const { store, clock } = await setup();
          const { incident } = await store.recordAlert(alertFixture({ dedupKey: unique('closed') }), {}, nextId);
          await store.claimOpening(incident.incidentId, claim(clock(), 'failed'));
          await store.releaseOpening(incident.incidentId, 'failed');
          await store.updateIncident(incident.incidentId, { status });
          const never = await store.recordAlert(alertFixture({ dedupKey: unique('never') }), {}, nextId);
          await store.updateIncident(never.incident.incidentId, { status });
          clock.advance(61_000);
          // Act
          const released = await store.claimOpening(incident.incidentId, claim(clock(), 'taker'));
          const unclaimed = await store.claimOpening(never.incident.incidentId, claim(clock(), 'taker'));
          // Assess
          expect(released, status).toMatchObject({ claimed: false, incident: { status, opening: { claimId: 'failed' } } });
          expect(unclaimed, status).toMatchObject({ claimed: false, incident: { status } });
          expect(unclaimed.incident.opening, status).toBeUndefined();
        }
      });

      it('grants exactly one of 20 concurrent claims', async () => {
        const { store, clock } = await setup();
        const { incident } = await store.recordAlert(alertFixture({ dedupKey: unique('race') }), {}, nextId);
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.claimOpening(incident.incidentId, claim(clock(), `c${i}`))));
        expect(results.filter((r) => r.claimed)).toHaveLength(1);
      });
    });

    describe('an alert is counted exactly once, whatever fails between claiming its identity and counting it', () => {
      const opts = { correlationWindowSeconds: 300 };
      /** An incident opened by alert `a`, and a second alert `b` of the same service (not yet delivered). */
      const twoAlerts = async (store: ContractStore) => {
        const service = unique('svc');
        const a = alertFixture({ dedupKey: unique('a'), service });
        const b = alertFixture({ dedupKey: unique('b'), service, source: 'datadog' });
        const { incident } = await store.recordAlert(a, {}, nextId, opts);
        return { a, b, incidentId: incident.incidentId };
      };

      it('a delivery that failed after its claim landed is counted by its retry', async () => {
        // Prepare: b's claim lands, then the request times out (or the Lambda dies): nothing counted it yet
        const { store, clock, faults } = await setup();
        const { b, incidentId } = await twoAlerts(store);
        faults.failAfter('claim');
        await expect(store.recordAlert(b, {}, nextId, opts)).rejects.toBeInstanceOf(InjectedTimeout);
        clock.advance(30_000);
        // Act: the sender retries
        const retry = await store.recordAlert(b, {}, nextId, opts);
        // Assess
        expect(retry.incident).toMatchObject({ incidentId, distinctAlerts: 2, resolvedAlerts: 0, alertCount: 2 });
        expect(await store.getIncident(incidentId)).toMatchObject({ distinctAlerts: 2, alertCount: 2 });
      });

      it('a delivery whose count landed but whose answer was lost is not counted twice by its retry', async () => {
        const { store, faults } = await setup();
        const { b, incidentId } = await twoAlerts(store);
        faults.failAfter('count');
        await expect(store.recordAlert(b, {}, nextId, opts)).rejects.toBeInstanceOf(InjectedTimeout);
        const retry = await store.recordAlert(b, {}, nextId, opts);
        expect(retry).toMatchObject({ disposition: 'deduplicated', incident: { incidentId, distinctAlerts: 2, alertCount: 3 } });
      });

      it('an opening delivery that failed after its claim is completed by its retry: one incident, counted once', async () => {
        const { store, faults } = await setup();
        const a = alertFixture({ dedupKey: unique('a'), service: unique('svc') });
        faults.failAfter('claim');
        await expect(store.recordAlert(a, {}, nextId, opts)).rejects.toBeInstanceOf(InjectedTimeout);
        const retry = await store.recordAlert(a, {}, nextId, opts);
        const again = await store.recordAlert(a, {}, nextId, opts);
        expect(retry).toMatchObject({ created: true, disposition: 'opened', incident: { distinctAlerts: 1, alertCount: 1 } });
        expect(again).toMatchObject({ created: false, incident: { incidentId: retry.incident.incidentId, distinctAlerts: 1, alertCount: 2 } });
      });

      it('the retry arriving while the first attempt is still running, and two retries at once, count it once', async () => {
        // Prepare: right after b's claim lands, two retries run to the end; then the first attempt goes on and counts
        const { store, faults } = await setup();
        const { b, incidentId } = await twoAlerts(store);
        const retries: Promise<unknown>[] = [];
        faults.at('claim', async () => {
          retries.push(store.recordAlert(b, {}, nextId, opts), store.recordAlert(b, {}, nextId, opts));
          await Promise.all(retries);
        });
        // Act
        const first = await store.recordAlert(b, {}, nextId, opts);
        // Assess
        expect(retries).toHaveLength(2);
        expect(first.incident).toMatchObject({ incidentId, distinctAlerts: 2, alertCount: 4 });
        // And a failed first attempt whose two retries race each other: still once.
        const c = alertFixture({ dedupKey: unique('c'), service: b.service });
        faults.failAfter('claim');
        await expect(store.recordAlert(c, {}, nextId, opts)).rejects.toBeInstanceOf(InjectedTimeout);
        await Promise.all([store.recordAlert(c, {}, nextId, opts), store.recordAlert(c, {}, nextId, opts)]);
        expect(await store.getIncident(incidentId)).toMatchObject({ distinctAlerts: 3, alertCount: 6 });
      });

      it('a RESOLVED notification arriving before its alert was counted counts it, so the incident does not look all-resolved', async () => {
        // Prepare: a fires and stays open; b's delivery fails after its claim, then b's RESOLVED arrives
        const { store, faults } = await setup();
        const { a, b, incidentId } = await twoAlerts(store);
        await store.requestApproval(incidentId, 'tok-early', { status: 'PENDING' });
        faults.failAfter('claim');
        await expect(store.recordAlert(b, {}, nextId, opts)).rejects.toBeInstanceOf(InjectedTimeout);
        // Act
        const resolvedB = await store.resolveAlert({ ...b, state: 'RESOLVED' }, {});
        // Assess: b counted and resolved, a still open → nothing to withdraw
        expect(resolvedB).toMatchObject({ newlyResolved: true, allResolved: false, incident: { distinctAlerts: 2, resolvedAlerts: 1 } });
        expect(await store.withdrawApproval(incidentId, 'x')).toMatchObject({ withdrawn: false, reason: 'alerts-open' });
        const resolvedA = await store.resolveAlert({ ...a, state: 'RESOLVED' }, {});
        expect(resolvedA).toMatchObject({ allResolved: true, incident: { distinctAlerts: 2, resolvedAlerts: 2 } });
      });

      it('a reopen (RESOLVED → OPEN) that failed after its flip is still counted open by its retry: no withdrawal while it fires', async () => {
        const { store, faults } = await setup();
        const a = alertFixture({ dedupKey: unique('a'), service: unique('svc') });
        const { incident } = await store.recordAlert(a, {}, nextId, opts);
        await store.resolveAlert({ ...a, state: 'RESOLVED' }, {});
        await store.requestApproval(incident.incidentId, 'tok-reopen', { status: 'PENDING' });
        faults.failAfter('flip');
        await expect(store.recordAlert(a, {}, nextId, opts)).rejects.toBeInstanceOf(InjectedTimeout);
        const retry = await store.recordAlert(a, {}, nextId, opts);
        expect(retry.incident).toMatchObject({ distinctAlerts: 1, resolvedAlerts: 0 });
        expect(await store.withdrawApproval(incident.incidentId, 'x')).toMatchObject({ withdrawn: false, reason: 'alerts-open' });
        // Resolved again later: counted resolved once more, and the withdrawal can happen.
        expect(await store.resolveAlert({ ...a, state: 'RESOLVED' }, {})).toMatchObject({ newlyResolved: true, allResolved: true, incident: { distinctAlerts: 1, resolvedAlerts: 1 } });
        expect(await store.withdrawApproval(incident.incidentId, 'x')).toMatchObject({ withdrawn: true });
      });

      it('a RESOLVED notification that failed after its flip is counted resolved by its retry', async () => {
        const { store, faults } = await setup();
        const a = alertFixture({ dedupKey: unique('a'), service: unique('svc') });
        const { incident } = await store.recordAlert(a, {}, nextId, opts);
        faults.failAfter('flip');
        await expect(store.resolveAlert({ ...a, state: 'RESOLVED' }, {})).rejects.toBeInstanceOf(InjectedTimeout);
        const retry = await store.resolveAlert({ ...a, state: 'RESOLVED' }, {});
        expect(retry).toMatchObject({ newlyResolved: false, allResolved: true, incident: { incidentId: incident.incidentId, distinctAlerts: 1, resolvedAlerts: 1 } });
        const repeat = await store.resolveAlert({ ...a, state: 'RESOLVED' }, {});
        expect(repeat?.incident).toMatchObject({ distinctAlerts: 1, resolvedAlerts: 1 });
      });

      it('after its pointer expired, the retry of a delivery that failed after its claim opens one incident and counts it once', async () => {
        const { store, clock, faults } = await setup();
        const a = alertFixture({ dedupKey: unique('a'), service: unique('svc') });
        faults.failAfter('claim');
        await expect(store.recordAlert(a, {}, nextId, opts)).rejects.toBeInstanceOf(InjectedTimeout);
        clock.advance(73 * 3600 * 1000);
        const retry = await store.recordAlert(a, {}, nextId, opts);
        expect(retry).toMatchObject({ created: true, incident: { distinctAlerts: 1, alertCount: 1 } });
        expect((await store.findByDedupKey(a.source, a.dedupKey))?.incidentId).toBe(retry.incident.incidentId);
      });
    });
  });
};
