import { describe, expect, it } from 'vitest';
import type { MitigationAction } from '../../../functions/core/model.ts';
import { simulatedTools } from '../../../functions/core/tools/simulated.ts';
import { findScenario } from '../../../functions/core/world/scenario.ts';
import { createWorld, type WorldState } from '../../../functions/core/world/world.ts';
import { MemoryWorldStore } from '../../../functions/core/world/world-store.ts';

const NOW = new Date('2026-03-14T12:00:00.000Z');

/** A world store that counts reads. */
class CountingWorlds extends MemoryWorldStore {
  reads = 0;
  override async getWorld(id: string): Promise<WorldState | undefined> {
    this.reads += 1;
    return super.getWorld(id);
  }
}

const setup = async () => {
  const worlds = new CountingWorlds();
  const scenario = findScenario('db-pool-exhaustion');
  await worlds.putWorld(createWorld(scenario, { id: 'run-cache', now: NOW }));
  return { worlds, tools: simulatedTools(worlds, { clock: () => NOW }), service: scenario.alert.service };
};

const window = { from: new Date(NOW.getTime() - 30 * 60_000).toISOString(), to: NOW.toISOString() };

describe('unit: simulated tools read the world once per agent run', () => {
  it('queries of one run share one read; another run, or a query without a runId, reads again', async () => {
    const { worlds, tools, service } = await setup();
    const run = { environment: 'run-cache', runId: 'inc-1/impact/a' };
    await tools.telemetry.getTopology({ ...run, services: [service] });
    await tools.telemetry.queryMetrics({ ...run, ...window, services: [service] });
    await tools.logs.search({ ...run, ...window, services: [service] });
    expect(worlds.reads).toBe(1);
    await tools.telemetry.getTopology({ environment: 'run-cache', runId: 'inc-1/logs/b', services: [service] });
    await tools.telemetry.getTopology({ environment: 'run-cache', services: [service] });
    expect(worlds.reads).toBe(3);
  });

  it('an action recorded during a run is seen by the same run\'s next query (the cached world is dropped)', async () => {
    const { worlds, tools } = await setup();
    const run = { environment: 'run-cache', runId: 'inc-1/execution/c' };
    const lastSixHours = { from: new Date(NOW.getTime() - 6 * 3_600_000).toISOString(), to: NOW.toISOString() };
    const before = await tools.changes.listChanges({ ...run, ...lastSixHours });
    const culprit = before.find((c) => c.state === 'implemented');
    expect(culprit).toBeDefined();
    const rollback: MitigationAction = { kind: 'rollback-change', service: culprit!.service, target: culprit!.id, params: {}, description: 'roll back', risk: 'low', reversible: true, evidenceIds: [] };
    expect((await tools.actions.execute({ ...run, action: rollback, incidentId: 'inc-1' })).status).toBe('succeeded');
    const after = await tools.changes.listChanges({ ...run, ...lastSixHours });
    expect(after.find((c) => c.id === culprit!.id)?.state).toBe('rolled-back');
    expect(worlds.reads).toBe(2); // list, execute (from the run's read), list again after the write
  });

  it('a failed read is not remembered: the next query of the run reads again', async () => {
    const { worlds, tools, service } = await setup();
    let fail = true;
    const flaky = Object.assign(worlds, {});
    const original = flaky.getWorld.bind(flaky);
    flaky.getWorld = async (id: string) => {
      if (fail) {
        fail = false;
        throw new Error('throttled');
      }
      return original(id);
    };
    const run = { environment: 'run-cache', runId: 'inc-1/triage/d' };
    await expect(tools.oncall.getOnCall({ ...run, services: [service] })).rejects.toThrow(/throttled/);
    await expect(tools.oncall.getOnCall({ ...run, services: [service] })).resolves.toHaveLength(1);
  });
});
