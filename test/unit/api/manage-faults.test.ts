/**
 * GET/POST /admin/faults and DELETE /admin/faults/{id} (functions/manage-faults/core.ts) over an in-memory world store:
 * each answer of the contract, and each refusal naming what is wrong.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { manageFaults } from '../../../functions/manage-faults/core.ts';
import { ensureLiveWorld } from '../../../functions/core/world/faults.ts';
import { PRESET_NAMES } from '../../../functions/core/world/presets.ts';
import { MemoryWorldStore } from '../../../functions/core/world/world-store.ts';
import type { ApiEvent } from '../../../functions/core/http.ts';
import { apiEvent, bodyOf, CONFIG, statusOf } from './fixtures.ts';

const CREATED = new Date('2026-11-02T09:00:00.000Z');
const MINUTE = 60_000;
let now = new Date(CREATED.getTime() + 2 * 1440 * MINUTE);
let store: MemoryWorldStore;
let handle: ReturnType<typeof manageFaults>;

beforeEach(async () => {
  store = new MemoryWorldStore();
  await ensureLiveWorld(store, CREATED);
  now = new Date(CREATED.getTime() + 2 * 1440 * MINUTE);
  handle = manageFaults({ worlds: store, config: CONFIG, clock: () => now });
});

const post = (body: unknown) => handle(apiEvent('POST /admin/faults', { body, secret: null }));
const list = (query?: Record<string, string>) => handle(apiEvent('GET /admin/faults', { secret: null, ...(query ? { query } : {}) }));
const end = (id: string, query?: Record<string, string>) => handle(apiEvent('DELETE /admin/faults/{id}', { path: { id }, secret: null, ...(query ? { query } : {}) }));
/** The event as API Gateway's JWT authorizer hands it over: the verified claims of the signed-in user. */
const signedIn = (event: ApiEvent, email: string): ApiEvent => ({ ...event, requestContext: { ...event.requestContext, authorizer: { jwt: { claims: { email }, scopes: [] } } } as ApiEvent['requestContext'] });

describe('unit: manage-faults', () => {
  it('POST a preset answers 201 with the fault, its change and what to watch; GET lists it active; DELETE ends it', async () => {
    // Act
    const injected = await post({ preset: 'error-rate', by: 'ana' });
    // Assess
    expect(statusOf(injected), JSON.stringify(bodyOf(injected))).toBe(201);
    const body = bodyOf(injected);
    expect(body).toMatchObject({ id: 'fault-1', world: 'live', service: 'checkout-service', kind: 'exception-after-deploy', startsAt: now.toISOString(), preset: 'error-rate', by: 'ana' });
    expect(body.changes).toEqual([(body.fault as { causedBy: string }).causedBy]);
    expect(body.watch).toEqual([
      { service: 'checkout-service', metric: 'error_rate_pct' },
      { service: 'web-storefront', metric: 'error_rate_pct' },
    ]);
    now = new Date(now.getTime() + 3 * MINUTE);
    const listed = bodyOf(await list());
    expect(listed.world).toBe('live');
    expect(listed.services).toContain('checkout-service');
    expect((listed.presets as { name: string }[]).map((p) => p.name)).toEqual([...PRESET_NAMES]);
    expect(listed.faults).toEqual([{ id: 'fault-1', kind: 'exception-after-deploy', service: 'checkout-service', startsAt: body.startsAt, active: true, preset: 'error-rate', by: 'ana', causedBy: (body.fault as { causedBy: string }).causedBy }]);
    const ended = await end('fault-1', { by: 'bo' });
    expect(statusOf(ended)).toBe(200);
    expect(bodyOf(ended)).toEqual({ id: 'fault-1', world: 'live', endedAt: now.toISOString(), alreadyEnded: false });
    now = new Date(now.getTime() + MINUTE);
    expect((bodyOf(await list()).faults as { active: boolean; endsAt: string; endedBy: string }[])[0]).toMatchObject({ active: false, endsAt: bodyOf(ended).endedAt, endedBy: 'bo' });
  });

  it('ending an ended fault is idempotent: 200 with the end it has', async () => {
    await post({ preset: 'latency-spike' });
    const first = bodyOf(await end('fault-1'));
    now = new Date(now.getTime() + 5 * MINUTE);
    const again = await end('fault-1');
    expect(statusOf(again)).toBe(200);
    expect(bodyOf(again)).toEqual({ ...first, alreadyEnded: true });
  });

  it('records the signed-in user over the body’s name, and "console" when nobody is named', async () => {
    expect(bodyOf(await handle(signedIn(apiEvent('POST /admin/faults', { body: { preset: 'memory-leak', by: 'someone-else' }, secret: null }), 'op@example.com')))).toMatchObject({ by: 'op@example.com', service: 'catalog-service' });
    expect(bodyOf(await post({ preset: 'dependency-down' }))).toMatchObject({ by: 'console', service: 'card-psp' });
    expect((await store.getWorld('live'))!.faultLog?.map((e) => e.by)).toEqual(['op@example.com', 'console']);
  });

  it('injects a scenario-format fault written by hand on the named service', async () => {
    const answer = await post({ service: 'payment-service', fault: { kind: 'card-timeouts', effects: { latency_p99_ms: { factor: 5 } }, endsAt: 30 } });
    expect(statusOf(answer), JSON.stringify(bodyOf(answer))).toBe(201);
    expect(bodyOf(answer)).toMatchObject({ id: 'fault-1', service: 'payment-service', kind: 'card-timeouts', changes: [] });
    expect((bodyOf(await list()).faults as { endsAt: string }[])[0]?.endsAt).toBe(new Date(now.getTime() + 30 * MINUTE).toISOString());
  });

  it('answers 404 naming an unknown world, on every route', async () => {
    for (const answer of [await post({ world: 'nowhere', preset: 'error-rate' }), await list({ world: 'nowhere' }), await end('fault-1', { world: 'nowhere' })]) {
      expect(statusOf(answer)).toBe(404);
      expect(bodyOf(answer).message).toBe('world nowhere does not exist');
    }
  });

  it('answers 400 listing the world’s services for an unknown service', async () => {
    const answer = await post({ preset: 'error-rate', service: 'billing-service' });
    expect(statusOf(answer)).toBe(400);
    expect(bodyOf(answer).message).toBe('world live has no service "billing-service": its services are web-storefront, checkout-service, catalog-service, inventory-service, payment-service, inventory-db, catalog-db, card-psp');
    expect(bodyOf(answer).services).toHaveLength(8);
    const handWritten = await post({ fault: { service: 'billing-service', kind: 'x' } });
    expect(statusOf(handWritten)).toBe(400);
    expect(bodyOf(handWritten).message).toMatch(/^world live has no service "billing-service": its services are web-storefront, /);
  });

  it('answers 400 listing the presets for an unknown preset, and naming what fits for a service the preset does not', async () => {
    const unknown = await post({ preset: 'disk-full' });
    expect(statusOf(unknown)).toBe(400);
    expect(bodyOf(unknown).message).toBe(`invalid fault injection: preset: unknown preset "disk-full": one of ${PRESET_NAMES.join(', ')}`);
    const misfit = await post({ preset: 'slow-database', service: 'checkout-service' });
    expect(statusOf(misfit)).toBe(400);
    expect(bodyOf(misfit).message).toBe('preset slow-database needs a database: checkout-service is a backend (services it fits: inventory-db, catalog-db)');
  });

  it('answers 400 with the scenario validator’s problems for a bad fault', async () => {
    const answer = await post({ fault: { service: 'payment-service', kind: 'x', effects: { queue_depth: { add: 1 } }, causedBy: 'CHG-1' } });
    expect(statusOf(answer)).toBe(400);
    expect(bodyOf(answer).problems).toEqual(['fault.effects.queue_depth: not a metric a fault can move (one of latency_p99_ms, error_rate_pct, throughput_rps, cpu_pct, memory_mb, db_pool_active, db_pool_max, cache_hit_ratio_pct, disk_used_pct, open_fds, quota_limit_rps)', 'fault.causedBy: unknown change "CHG-1"']);
    const both = await post({ preset: 'error-rate', fault: { kind: 'x' } });
    expect(statusOf(both)).toBe(400);
    expect(bodyOf(both).message).toMatch(/give either a preset or a fault/);
    expect((await store.getWorld('live'))!.scenario.faults).toEqual([]);
  });

  it('answers 404 for an unknown fault id, listing the world’s', async () => {
    await post({ preset: 'error-rate' });
    const answer = await end('fault-7');
    expect(statusOf(answer)).toBe(404);
    expect(bodyOf(answer).message).toBe('world live has no fault "fault-7" (its faults: fault-1)');
  });
});
