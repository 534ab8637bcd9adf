import { describe, expect, it } from 'vitest';
import type { MitigationAction } from '../../../functions/core/model.ts';
import { ToolUnavailable, type Tools } from '../../../functions/core/tools/ports.ts';
import { simulatedTools } from '../../../functions/core/tools/simulated.ts';
import { createWorld, scenarioAlert } from '../../../functions/core/world/world.ts';
import { MemoryWorldStore } from '../../../functions/core/world/world-store.ts';
import type { Scenario } from '../../../functions/core/world/scenario.ts';
import { allScenarios, MINUTE, NOW } from './helpers.ts';

const iso = (minutes: number) => new Date(NOW.getTime() + minutes * MINUTE).toISOString();

const setup = async (s: Scenario, id = `tools-${s.name}`) => {
  const worlds = new MemoryWorldStore();
  await worlds.putWorld(createWorld(s, { id, now: NOW }));
  let now = NOW.getTime();
  const tools = simulatedTools(worlds, { clock: () => new Date(now) });
  return { worlds, tools, scope: { environment: id }, advance: (minutes: number) => (now += minutes * MINUTE) };
};

const action = (a: Partial<MitigationAction> & Pick<MitigationAction, 'kind' | 'service'>): MitigationAction => ({ params: {}, description: 'test', risk: 'low', reversible: true, evidenceIds: [], ...a });

/** Calls every read port broadly and returns everything an agent could see. */
const everything = async (tools: Tools, scope: { environment: string }, s: Scenario) => {
  const services = s.services.map((x) => x.name);
  const window = { from: iso(-180), to: iso(0) };
  return {
    metrics: await tools.telemetry.queryMetrics({ ...scope, ...window, services }),
    traces: await tools.telemetry.getTraces({ ...scope, ...window, services, limit: 30 }),
    errorTraces: await tools.telemetry.getTraces({ ...scope, ...window, services, limit: 30, errorsOnly: true }),
    topology: await tools.telemetry.getTopology(scope),
    changes: await tools.changes.listChanges({ ...scope, from: iso(-1440), to: iso(0) }),
    incidents: await tools.changes.searchIncidents({ ...scope, text: `${s.alert.title} ${s.description}`, services, limit: 50 }),
    logs: await tools.logs.search({ ...scope, ...window, services, limit: 10_000 }),
    oncall: await tools.oncall.getOnCall({ ...scope, services }),
    ownership: await tools.oncall.getOwnership({ ...scope, services }),
  };
};

describe('simulated tools', () => {
  for (const s of allScenarios()) {
    it(`${s.name}: no tool output or alert payload reveals the answer key or the fault definitions`, async () => {
      // Prepare
      const { tools, scope } = await setup(s);
      // Act
      const seen = JSON.stringify({
        ...(await everything(tools, scope, s)),
        action: await tools.actions.execute({ ...scope, incidentId: 'i-1', action: action({ kind: 'restart-service', service: s.services[0].name }) }),
        dynatrace: scenarioAlert(createWorld(s, { id: scope.environment, now: NOW }), 'dynatrace'),
        alertmanager: scenarioAlert(createWorld(s, { id: scope.environment, now: NOW }), 'alertmanager'),
      });
      // Assess
      // (Booleans, not toContain: a failure would print megabytes of output.)
      for (const key of ['expect', 'causedBy', 'fixedBy', 'effects', 'propagation', 'perFailedRequest', 'spanError', 'rampMinutes']) expect(seen.includes(`"${key}"`), key).toBe(false);
      if (s.expect.rootCause) expect(seen.includes(JSON.stringify(s.expect.rootCause)), 'expect.rootCause').toBe(false);
      expect(seen.includes(JSON.stringify(s.expect.mitigation)), 'expect.mitigation').toBe(false);
      expect(seen.length).toBeGreaterThan(10_000);
    });
  }

  it('throws ToolUnavailable naming a missing or unknown environment', async () => {
    const { tools } = await setup(allScenarios()[0]);
    const q = { from: iso(-10), to: iso(0), services: ['x'] };
    await expect(tools.telemetry.queryMetrics(q)).rejects.toThrow(ToolUnavailable);
    await expect(tools.logs.search({ ...q, environment: 'nowhere' })).rejects.toThrow(/logs unavailable: environment "nowhere" is not a known simulated world/);
  });

  it('serves the db-pool world like the seed: pool pinned at 10/10, CR2077 in the changes, INC-1843 first in the history', async () => {
    const s = allScenarios().find((x) => x.name === 'db-pool-exhaustion') as Scenario;
    const { tools, scope } = await setup(s);
    const [active] = await tools.telemetry.queryMetrics({ ...scope, from: iso(-5), to: iso(0), services: ['inventory-service'], metrics: ['db_pool_active'] });
    expect(active.points.at(-1)?.v).toBe(10);
    const changes = await tools.changes.listChanges({ ...scope, from: iso(-60), to: iso(0), services: ['inventory-service'] });
    expect(changes).toEqual([expect.objectContaining({ id: 'CR2077', state: 'implemented', configChange: { param: 'maximum-pool-size', old: '20', new: '10' } })]);
    expect(changes[0].deployedAt).toBe(iso(-18));
    const history = await tools.changes.searchIncidents({ ...scope, text: 'HikariCP connection pool timeout', services: ['inventory-service'] });
    expect(history[0]).toMatchObject({ id: 'INC-1843', resolutionMinutes: 28 });
    const [own] = await tools.oncall.getOwnership({ ...scope, services: ['inventory-service'] });
    expect(own).toMatchObject({ team: 'Inventory Platform', slackChannel: '#inventory-platform-incidents' });
    expect(own.sloCurrentPct).toBeLessThan(95);
    const [call] = await tools.oncall.getOnCall({ ...scope, services: ['inventory-service'] });
    expect(call.primary.name).toBe('James Wu');
  });

  it('returns the connected part of the topology for a service', async () => {
    const s = allScenarios().find((x) => x.name === 'db-pool-exhaustion') as Scenario;
    const { tools, scope } = await setup(s);
    const nodes = await tools.telemetry.getTopology({ ...scope, services: ['cart-service'] });
    expect(nodes.map((n) => n.name).sort()).toEqual(['cart-redis', 'cart-service', 'inventory-db', 'inventory-service', 'web-storefront']);
  });

  it('executes a rollback: records it in the world, marks the change rolled back, and the metrics recover after the lag', async () => {
    // Prepare
    const s = allScenarios().find((x) => x.name === 'db-pool-exhaustion') as Scenario;
    const { tools, scope, worlds, advance } = await setup(s);
    // Act
    const result = await tools.actions.execute({ ...scope, incidentId: 'inc-1', action: action({ kind: 'rollback-change', service: 'inventory-service', target: 'CR2077' }) });
    advance(3);
    // Assess
    expect(result.status).toBe('succeeded');
    expect((await worlds.getWorld(scope.environment))?.actions).toEqual([expect.objectContaining({ incidentId: 'inc-1', kind: 'rollback-change', changeId: 'CR2077', status: 'succeeded' })]);
    const [changes] = [await tools.changes.listChanges({ ...scope, from: iso(-60), to: iso(3), services: ['inventory-service'] })];
    expect(changes[0].state).toBe('rolled-back');
    const [errors] = await tools.telemetry.queryMetrics({ ...scope, from: iso(-5), to: iso(3), services: ['checkout-service'], metrics: ['error_rate_pct'] });
    expect(errors.points[0].v).toBeGreaterThan(10);
    expect(errors.points.at(-1)?.v).toBeLessThan(1);
  });

  it('fails a rollback of a change that does not exist with a clear detail', async () => {
    const { tools, scope } = await setup(allScenarios()[0]);
    const result = await tools.actions.execute({ ...scope, incidentId: 'inc-1', action: action({ kind: 'rollback-change', service: allScenarios()[0].services[0].name, target: 'CR0001' }) });
    expect(result).toEqual({ status: 'failed', detail: `change CR0001 does not exist in environment ${scope.environment}` });
  });

  it('records a resolved incident into the history, where search finds it', async () => {
    const s = allScenarios()[0];
    const { tools, scope } = await setup(s);
    const incident = { id: 'INC-9001', title: 'quasar widget meltdown', service: s.services[0].name, openedAt: iso(-10), rootCause: 'quasar', resolution: 'rollback', tags: ['quasar'] };
    await tools.changes.recordIncident({ ...scope, incident });
    expect(await tools.changes.searchIncidents({ ...scope, text: 'quasar meltdown' })).toEqual([incident]);
  });

  it('never returns data from the future', async () => {
    const { tools, scope } = await setup(allScenarios()[0]);
    const series = await tools.telemetry.queryMetrics({ ...scope, from: iso(-5), to: iso(30), services: [allScenarios()[0].services[0].name] });
    for (const p of series[0].points) expect(Date.parse(p.t)).toBeLessThanOrEqual(NOW.getTime());
  });
});

describe('scenarioAlert', () => {
  const s = allScenarios().find((x) => x.name === 'db-pool-exhaustion') as Scenario;

  it('renders a Dynatrace problem notification carrying the world id and service as tags, with a PID unique per world', () => {
    const a = scenarioAlert(createWorld(s, { id: 'world-a', now: NOW }));
    const b = scenarioAlert(createWorld(s, { id: 'world-b', now: NOW }));
    expect(a.source).toBe('dynatrace');
    expect(a.payload).toMatchObject({ State: 'OPEN', ProblemTitle: s.alert.title, ProblemSeverity: 'ERROR', ProblemImpact: 'SERVICE' });
    expect(a.payload.Tags).toContain('environment:world-a');
    expect(a.payload.Tags).toContain('service:checkout-service');
    expect(a.payload.ImpactedEntities).toEqual([expect.objectContaining({ type: 'SERVICE', name: 'checkout-service' })]);
    expect(a.payload.ProblemDetailsJSONv2).toMatchObject({ status: 'OPEN', startTime: NOW.getTime() + s.alert.startedAt * MINUTE });
    expect(a.payload.PID).not.toEqual(b.payload.PID);
  });

  it('renders an Alertmanager version 4 webhook with service, environment and severity labels', () => {
    const { payload } = scenarioAlert(createWorld(s, { id: 'world-a', now: NOW }), 'alertmanager');
    expect(payload).toMatchObject({ version: '4', status: 'firing' });
    const [alert] = payload.alerts as { labels: Record<string, string>; endsAt: string; startsAt: string; fingerprint: string }[];
    expect(alert.labels).toMatchObject({ service: 'checkout-service', environment: 'world-a', severity: 'critical' });
    expect(alert.endsAt).toBe('0001-01-01T00:00:00Z');
    expect(alert.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });
});
