/**
 * resolve-incident (functions/resolve-incident/core.ts) on the memory store with fakes for the history and the bus:
 * every answer, the race of two people, the retry after a partial failure, and hostile text kept as data.
 */
import { describe, expect, it } from 'vitest';
import { MemoryEventPublisher } from '../../../functions/core/events.ts';
import type { ApiEvent } from '../../../functions/core/http.ts';
import type { AgentRecord, Hypothesis, IncidentStatus } from '../../../functions/core/model.ts';
import { StaticSecret } from '../../../functions/core/secrets.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import type { ChangeHistory, PastIncident, ToolScope } from '../../../functions/core/tools/ports.ts';
import { ToolUnavailable } from '../../../functions/core/tools/ports.ts';
import { PortNotConfigured } from '../../../functions/core/tools/runtime.ts';
import { resolveIncident, type ResolveDeps } from '../../../functions/resolve-incident/core.ts';
import { alertFixture, manualClock } from '../store/contract.ts';
import { CONFIG, SECRET, apiEvent, bodyOf, sampleEvent, statusOf } from './fixtures.ts';

const ROUTE = 'POST /incidents/{id}/resolution';
const CONSOLE_ROUTE = 'POST /console/incidents/{id}/resolution';

/** The incident history: what recordIncident was handed, by environment; fails when told to. */
class FakeHistory implements ChangeHistory {
  readonly calls: (ToolScope & { incident: PastIncident })[] = [];
  readonly byEnvironment = new Map<string, Map<string, PastIncident>>();
  failNext: Error | undefined;
  async listChanges() {
    return [];
  }
  async searchIncidents() {
    return [];
  }
  async recordIncident(q: ToolScope & { incident: PastIncident }): Promise<void> {
    this.calls.push(q);
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    const env = this.byEnvironment.get(q.environment ?? '') ?? new Map<string, PastIncident>();
    env.set(q.incident.id, q.incident);
    this.byEnvironment.set(q.environment ?? '', env);
  }
}

/** A bus that can fail once, recording (and validating against its schema) what it takes. */
class FlakyBus extends MemoryEventPublisher {
  failNext = false;
  override async publish(...args: Parameters<MemoryEventPublisher['publish']>): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('EventBridge is unreachable');
    }
    return super.publish(...args);
  }
}

const hypothesis = (overrides: Partial<Hypothesis> = {}): Hypothesis => ({
  summary: 'CR2077 halved the HikariCP pool',
  service: 'inventory-service',
  category: 'connection-pool',
  changeId: 'CR2077',
  predictions: [],
  confidence: 0.9,
  evidenceIds: [],
  ...overrides,
});

const rootcauseRecord = (rootCauses: Hypothesis[], abstained = false): AgentRecord => ({
  agent: 'rootcause',
  output: { rootCauses, abstained, missingEvidence: [], reasoning: 'tested', evidenceIds: [] },
  evidence: [],
  latencyMs: 10,
  reasoner: 'offline',
  toolCalls: [],
  completedAt: '2024-05-01T12:10:00.000Z',
});

/** An incident in `status`, with a root-cause record unless `rootCauses` is null. */
const setup = async (status: IncidentStatus = 'ESCALATED', rootCauses: Hypothesis[] | null = [hypothesis()], opts: { abstained?: boolean } = {}) => {
  const clock = manualClock('2024-05-01T13:00:00.000Z');
  const store = new MemoryIncidentStore({ clock });
  await store.recordAlert(alertFixture(), {}, () => 'inc-1');
  if (rootCauses) await store.putAgentRecord('inc-1', rootcauseRecord(rootCauses, opts.abstained));
  if (status === 'RESOLVED') await store.updateIncident('inc-1', { status: 'RESOLVED', outcome: 'resolved', resolvedAt: '2024-05-01T12:30:00.000Z' });
  else if (status !== 'OPEN') await store.updateIncident('inc-1', { status });
  const history = new FakeHistory();
  const events = new FlakyBus({ validate: true });
  const deps: ResolveDeps = { store, tools: { changes: history }, events, secret: new StaticSecret(SECRET), config: CONFIG, clock };
  return { store, history, events, clock, deps, handler: resolveIncident(deps) };
};

const body = (overrides: Record<string, unknown> = {}) => ({
  cause: { service: 'inventory-service', category: 'connection-pool', change: 'CR2077', summary: 'CR2077 halved the HikariCP pool under flash-sale load' },
  fix: 'Reverted CR2077',
  by: 'james.wu',
  ...overrides,
});

const resolve = (b: unknown, opts: { secret?: string | null; route?: string; claims?: Record<string, unknown> } = {}): ApiEvent => {
  const event = apiEvent(opts.route ?? ROUTE, { path: { id: 'inc-1' }, body: b, secret: opts.secret });
  if (opts.claims) (event.requestContext as unknown as Record<string, unknown>).authorizer = { jwt: { claims: opts.claims, scopes: [] } };
  return event;
};

const resolutionEvents = async (store: MemoryIncidentStore) => ((await store.getDetail('inc-1'))?.timeline ?? []).filter((e) => e.type === 'resolution-recorded');

describe('unit: resolve-incident', () => {
  it('resolves an ESCALATED incident: RESOLVED, the resolution and its grade on META, one timeline entry, the history, the event, the accuracy', async () => {
    // Prepare
    const { store, history, events, handler } = await setup('ESCALATED');
    // Act
    const result = await handler(resolve(body({ comment: 'pool sizing review opened' })));
    // Assess
    expect(statusOf(result)).toBe(200);
    const answer = bodyOf(result);
    expect(answer).toMatchObject({ incidentId: 'inc-1', status: 'RESOLVED', history: 'recorded', replayed: false });
    const incident = await store.getIncident('inc-1');
    expect(incident?.status).toBe('RESOLVED');
    expect(incident?.resolvedAt).toBe('2024-05-01T13:00:00.000Z');
    expect(incident?.resolution).toMatchObject({
      cause: body().cause,
      fix: 'Reverted CR2077',
      by: 'james.wu',
      comment: 'pool sizing review opened',
      at: '2024-05-01T13:00:00.000Z',
      statusBefore: 'ESCALATED',
      grade: { graded: true, matched: true, top: { service: 'inventory-service', category: 'connection-pool', changeId: 'CR2077', confidence: 0.9 } },
      recordedAt: expect.any(String),
      publishedAt: expect.any(String),
    });
    expect(await resolutionEvents(store)).toEqual([expect.objectContaining({ actor: 'james.wu', message: expect.stringContaining('Reverted CR2077') })]);
    expect(history.calls).toHaveLength(1);
    expect(history.calls[0]).toMatchObject({
      environment: 'w1',
      incident: { id: 'inc-1', service: 'inventory-service', category: 'connection-pool', rootCause: 'CR2077 halved the HikariCP pool under flash-sale load (change CR2077)', resolution: 'Reverted CR2077', tags: expect.arrayContaining(['inventory-service', 'connection-pool', 'CR2077']) },
    });
    expect(events.ofType('Resolution Recorded')).toEqual([expect.objectContaining({ incidentId: 'inc-1', statusBefore: 'ESCALATED', resolvedBy: 'james.wu', grade: { graded: true, matched: true } })]);
    expect((await store.summarize()).accuracy).toEqual({ graded: 1, matched: 1, rate: 1 });
  });

  it('on an incident the autopilot RESOLVED records the correction without changing the status or resolvedAt, graded a miss', async () => {
    const { store, handler } = await setup('RESOLVED');
    const result = await handler(resolve(body({ cause: { service: 'postgres-primary', category: 'database', summary: 'vacuum stalled the primary' } })));
    expect(statusOf(result)).toBe(200);
    const incident = await store.getIncident('inc-1');
    expect(incident).toMatchObject({ status: 'RESOLVED', resolvedAt: '2024-05-01T12:30:00.000Z', resolution: { statusBefore: 'RESOLVED', grade: { graded: true, matched: false } } });
    expect(incident?.resolution?.grade.why).toMatch(/does not match/);
    expect((await store.summarize()).accuracy).toEqual({ graded: 1, matched: 0, rate: 0 });
  });

  it('resolves a FAILED incident with no diagnosis: RESOLVED, not graded, counted in no accuracy', async () => {
    const { store, handler } = await setup('FAILED', null);
    const result = await handler(resolve(body()));
    expect(statusOf(result)).toBe(200);
    expect((await store.getIncident('inc-1'))?.resolution?.grade).toMatchObject({ graded: false, matched: false });
    expect((await store.summarize()).accuracy).toEqual({ graded: 0, matched: 0, rate: null });
  });

  it('grades an abstention as a miss', async () => {
    const { store, handler } = await setup('ESCALATED', [], { abstained: true });
    await handler(resolve(body()));
    expect((await store.getIncident('inc-1'))?.resolution?.grade).toMatchObject({ graded: true, matched: false, abstained: true });
  });

  it.each([
    ['INVESTIGATING', /still working on it/],
    ['AWAITING_APPROVAL', /decide it first/],
    ['OPEN', /still working on it/],
  ] as const)('refuses a %s incident with 409 incident_not_closed saying what to do, and writes nothing', async (status, message) => {
    const { store, history, events, handler } = await setup(status);
    const result = await handler(resolve(body()));
    expect(statusOf(result)).toBe(409);
    expect(bodyOf(result)).toMatchObject({ error: 'incident_not_closed', status, message: expect.stringMatching(message) });
    expect((await store.getIncident('inc-1'))?.resolution).toBeUndefined();
    expect(history.calls).toEqual([]);
    expect(events.events).toEqual([]);
  });

  it('answers the same resolution again with 200 replayed, recording nothing twice', async () => {
    const { store, history, events, handler } = await setup('ESCALATED');
    const first = await handler(resolve(body()));
    const again = await handler(resolve(body()));
    expect(statusOf(again)).toBe(200);
    expect(bodyOf(again)).toMatchObject({ replayed: true, status: 'RESOLVED', resolution: { at: bodyOf(first).resolution && (bodyOf(first).resolution as { at: string }).at } });
    expect(history.calls).toHaveLength(1);
    expect(events.events).toHaveLength(1);
    expect(await resolutionEvents(store)).toHaveLength(1);
    expect((await store.summarize()).accuracy.graded).toBe(1);
  });

  it('refuses a different second resolution with 409 naming who resolved it and when', async () => {
    const { store, handler } = await setup('ESCALATED');
    await handler(resolve(body()));
    const second = await handler(resolve(body({ by: 'ana.silva', fix: 'Restarted the pods' })));
    expect(statusOf(second)).toBe(409);
    expect(bodyOf(second)).toMatchObject({ error: 'incident_already_resolved', message: 'already resolved by james.wu at 2024-05-01T13:00:00.000Z; a resolution is recorded once', resolution: { by: 'james.wu' } });
    expect((await store.getIncident('inc-1'))?.resolution?.fix).toBe('Reverted CR2077');
  });

  it('lets one of two people resolving at once win; the other gets 409 naming the winner; one grade, one history record, one event', async () => {
    // Prepare: both requests read the incident (no resolution yet) before either writes
    const { store, history, events, deps } = await setup('ESCALATED');
    let reads = 0;
    let bothRead: () => void = () => undefined;
    const barrier = new Promise<void>((r) => (bothRead = r));
    const racing: ResolveDeps = {
      ...deps,
      store: Object.assign(Object.create(store) as MemoryIncidentStore, {
        getIncidentWith: async (...args: Parameters<MemoryIncidentStore['getIncidentWith']>) => {
          const found = await store.getIncidentWith(...args);
          if (++reads === 2) bothRead();
          await barrier;
          return found;
        },
        recordResolution: (...args: Parameters<MemoryIncidentStore['recordResolution']>) => store.recordResolution(...args),
        putGrade: (...args: Parameters<MemoryIncidentStore['putGrade']>) => store.putGrade(...args),
        appendEventOnce: (...args: Parameters<MemoryIncidentStore['appendEventOnce']>) => store.appendEventOnce(...args),
        markResolutionStep: (...args: Parameters<MemoryIncidentStore['markResolutionStep']>) => store.markResolutionStep(...args),
      }),
    };
    const handler = resolveIncident(racing);
    // Act
    const [a, b] = await Promise.all([handler(resolve(body())), handler(resolve(body({ by: 'ana.silva', cause: { service: 'inventory-service', category: 'capacity', summary: 'flash sale' } })))]);
    // Assess
    expect([statusOf(a), statusOf(b)].sort()).toEqual([200, 409]);
    const loser = statusOf(a) === 409 ? a : b;
    const winner = (await store.getIncident('inc-1'))?.resolution;
    expect(bodyOf(loser)).toMatchObject({ error: 'incident_already_resolved', resolution: { by: winner?.by } });
    expect(history.calls).toHaveLength(1);
    expect(events.events).toHaveLength(1);
    expect((await store.summarize()).accuracy.graded).toBe(1);
  });

  it('after the history failed: 503 saying it is recorded; the same request again completes it, recording once', async () => {
    // Prepare
    const { store, history, events, handler } = await setup('ESCALATED');
    history.failNext = new ToolUnavailable('servicenow', 'HTTP 502 from the Table API');
    // Act
    const first = await handler(resolve(body()));
    // Assess: the resolution stands and its event went out; the history is pending
    expect(statusOf(first)).toBe(503);
    expect(bodyOf(first).message).toMatch(/the resolution is recorded \(by james\.wu at .*\), but adding it to the incident history failed \(.*HTTP 502.*\): send the same request again/);
    const half = await store.getIncident('inc-1');
    expect(half?.status).toBe('RESOLVED');
    expect(half?.resolution?.recordedAt).toBeUndefined();
    expect(half?.resolution?.publishedAt).toEqual(expect.any(String));
    expect(events.events).toHaveLength(1);
    // Act: the retry
    const retry = await handler(resolve(body()));
    // Assess
    expect(statusOf(retry)).toBe(200);
    expect(bodyOf(retry)).toMatchObject({ replayed: true, history: 'recorded' });
    expect(history.byEnvironment.get('w1')?.size).toBe(1);
    expect(events.events).toHaveLength(1);
    expect(await resolutionEvents(store)).toHaveLength(1);
    expect((await store.getIncident('inc-1'))?.resolution?.recordedAt).toEqual(expect.any(String));
    expect((await store.summarize()).accuracy).toEqual({ graded: 1, matched: 1, rate: 1 });
  });

  it('when both the history and the event fail: 503 naming both; the retry completes both, once each', async () => {
    const { store, history, events, handler } = await setup('ESCALATED');
    history.failNext = new ToolUnavailable('changes', 'world is full');
    events.failNext = true;
    const first = await handler(resolve(body()));
    expect(statusOf(first)).toBe(503);
    expect(bodyOf(first).message).toMatch(/adding it to the incident history failed \(.*world is full\), and its event could not be published/);
    expect(statusOf(await handler(resolve(body())))).toBe(200);
    expect(history.byEnvironment.get('w1')?.size).toBe(1);
    expect(events.ofType('Resolution Recorded')).toHaveLength(1);
    expect((await store.getIncident('inc-1'))?.resolution).toMatchObject({ recordedAt: expect.any(String), publishedAt: expect.any(String) });
  });

  it('after the event failed: 503; the retry publishes once and does not record the history again', async () => {
    const { history, events, handler } = await setup('ESCALATED');
    events.failNext = true;
    const first = await handler(resolve(body()));
    expect(statusOf(first)).toBe(503);
    expect(bodyOf(first).message).toMatch(/its event could not be published/);
    const retry = await handler(resolve(body()));
    expect(statusOf(retry)).toBe(200);
    expect(history.calls).toHaveLength(1);
    expect(events.ofType('Resolution Recorded')).toHaveLength(1);
  });

  it('with no changes adapter configured: 200, history not-configured, a gap on the timeline once', async () => {
    const { store, history, handler } = await setup('ESCALATED');
    history.failNext = new PortNotConfigured('changes');
    const result = await handler(resolve(body()));
    expect(statusOf(result)).toBe(200);
    expect(bodyOf(result).history).toBe('not-configured');
    const gaps = ((await store.getDetail('inc-1'))?.timeline ?? []).filter((e) => e.type === 'history-not-updated');
    expect(gaps).toHaveLength(1);
  });

  it('keeps hostile text as data: stored and answered exactly as sent, nothing interpreted', async () => {
    const { store, history, handler } = await setup('ESCALATED');
    const hostile = '<img src=x onerror=alert(1)> \u001b[31mred\u001b[0m [click](javascript:alert(1)) \u202eevil ${{7*7}}';
    const result = await handler(resolve(body({ cause: { service: 'inventory-service', category: 'connection-pool', change: 'CR2077', summary: hostile }, fix: hostile, by: '<b>mallory</b>', comment: hostile })));
    expect(statusOf(result)).toBe(200);
    const resolution = (await store.getIncident('inc-1'))?.resolution;
    expect(resolution).toMatchObject({ cause: { summary: hostile }, fix: hostile, by: '<b>mallory</b>', comment: hostile });
    expect((bodyOf(result).resolution as { fix: string }).fix).toBe(hostile);
    expect(history.calls[0]?.incident.resolution).toBe(hostile);
    const [entry] = await resolutionEvents(store);
    expect(entry?.data).toMatchObject({ fix: hostile, cause: { summary: hostile } });
  });

  it('refuses unknown fields, an unknown category and a missing by on the secret route with 400, writing nothing', async () => {
    const { store, handler } = await setup('ESCALATED');
    for (const bad of [{ ...body(), __proto__: { admin: true }, extra: 1 }, body({ cause: { service: 'x', category: 'gremlins', summary: 's' } }), { cause: body().cause, fix: 'f' }]) {
      const result = await handler(resolve(bad));
      expect(statusOf(result)).toBe(400);
    }
    expect((await store.getIncident('inc-1'))?.resolution).toBeUndefined();
  });

  it('answers 401 without the secret on the secret route, and 404 for an unknown incident', async () => {
    const { store, handler } = await setup('ESCALATED');
    expect(statusOf(await handler(resolve(body(), { secret: null })))).toBe(401);
    expect((await store.getIncident('inc-1'))?.resolution).toBeUndefined();
    const unknown = apiEvent(ROUTE, { path: { id: 'inc-nope' }, body: body() });
    expect(statusOf(await handler(unknown))).toBe(404);
  });

  it("console route: the signed-in user resolves (the body's by ignored); on the twin without sign-in the body's by, else 'console'", async () => {
    const signedIn = await setup('ESCALATED');
    await signedIn.handler(resolve(body({ by: 'someone-else' }), { route: CONSOLE_ROUTE, secret: null, claims: { email: 'ana@example.com', sub: 'abc' } }));
    expect((await signedIn.store.getIncident('inc-1'))?.resolution?.by).toBe('ana@example.com');

    const twin = await setup('ESCALATED');
    const { by: _by, ...anonymous } = body();
    expect(statusOf(await twin.handler(resolve(anonymous, { route: CONSOLE_ROUTE, secret: null })))).toBe(200);
    expect((await twin.store.getIncident('inc-1'))?.resolution?.by).toBe('console');
  });

  it('accepts the sample event events/api/resolve-incident.json', async () => {
    const { store, handler } = await setup('ESCALATED');
    const event = sampleEvent('resolve-incident');
    const result = await handler({ ...event, pathParameters: { id: 'inc-1' } });
    expect(statusOf(result)).toBe(200);
    expect((await store.getIncident('inc-1'))?.resolution).toMatchObject({ by: 'james.wu@example.com', grade: { matched: true } });
  });
});
