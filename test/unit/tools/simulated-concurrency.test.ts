/**
 * Duplicate runs of one step against the simulated world (a Step Functions retry of a timed-out Lambda while the
 * first invocation still runs): both read the world before either writes. The executor's conditional append and
 * re-decide on a lost race must leave the action (or the recorded incident) in the world once.
 */
import { describe, expect, it, vi } from 'vitest';
import type { MitigationAction } from '../../../functions/core/model.ts';
import { MAX_WORLD_WRITE_ATTEMPTS, simulatedTools, WorldContended } from '../../../functions/core/tools/simulated.ts';
import type { PastIncident } from '../../../functions/core/tools/ports.ts';
import { findScenario } from '../../../functions/core/world/scenario.ts';
import { createWorld, type WorldAction, type WorldState } from '../../../functions/core/world/world.ts';
import { type AppendGuard, MemoryWorldStore, WorldChanged } from '../../../functions/core/world/world-store.ts';

const NOW = new Date('2026-03-14T12:00:00.000Z');
const WORLD = 'concurrency';

/**
 * A store whose first `readers` reads each take their snapshot at once but return only when all of them have
 * read: every reader decides on the same world, the interleaving a duplicate run produces.
 */
class GatedWorlds extends MemoryWorldStore {
  reads = 0;
  #held = 0;
  #readers: number;
  #release: (() => void)[] = [];
  constructor(readers: number) {
    super();
    this.#readers = readers;
  }
  override async getWorld(id: string): Promise<WorldState | undefined> {
    this.reads += 1;
    const state = await super.getWorld(id);
    if (this.#held < this.#readers) {
      this.#held += 1;
      await new Promise<void>((resolve) => {
        this.#release.push(resolve);
        if (this.#release.length === this.#readers) for (const r of this.#release) r();
      });
    }
    return state;
  }
}

const setup = async (readers = 2) => {
  const worlds = new GatedWorlds(readers);
  await worlds.putWorld(createWorld(findScenario('db-pool-exhaustion'), { id: WORLD, now: NOW }));
  return { worlds, tools: simulatedTools(worlds, { clock: () => NOW }) };
};
const actionsIn = async (worlds: MemoryWorldStore): Promise<readonly WorldAction[]> => (await worlds.getWorld(WORLD))!.actions;

const action = (a: Pick<MitigationAction, 'kind' | 'service'> & Partial<MitigationAction>): MitigationAction => ({ params: {}, description: a.kind, risk: 'low', reversible: true, evidenceIds: [], ...a });
const rollback = action({ kind: 'rollback-change', service: 'inventory-service', target: 'CR2077' });
const scale = action({ kind: 'scale-service', service: 'inventory-service', params: { factor: 2 } });
// Each duplicate run is its own agent run (its own run id), as two Lambda invocations are.
const run = (tools: ReturnType<typeof simulatedTools>, runId: string, a: MitigationAction, incidentId = 'inc-1') => tools.actions.execute({ environment: WORLD, runId, incidentId, action: a });

describe('unit: duplicate runs of an action in the simulated world', () => {
  it('a rollback run twice at once is recorded once; the run that lost the race says it was already applied', async () => {
    const { worlds, tools } = await setup();
    const [a, b] = await Promise.all([run(tools, 'exec/a', rollback), run(tools, 'exec/b', rollback)]);
    expect(await actionsIn(worlds)).toEqual([expect.objectContaining({ kind: 'rollback-change', target: 'CR2077', status: 'succeeded', changeId: 'CR2077' })]);
    expect(a.status).toBe('succeeded');
    expect(b).toEqual({ status: 'succeeded', detail: expect.stringMatching(/^already applied at 2026-03-14T12:00:00.000Z: rolled back CR2077/) });
  });

  it('a scale-out run twice at once scales once (×2, not ×4)', async () => {
    const { worlds, tools } = await setup();
    const [a, b] = await Promise.all([run(tools, 'exec/a', scale), run(tools, 'exec/b', scale)]);
    const recorded = await actionsIn(worlds);
    expect(recorded).toEqual([expect.objectContaining({ kind: 'scale-service', factor: 2, status: 'succeeded' })]);
    expect(a.detail).toMatch(/^scaled inventory-service ×2.00/);
    expect(b).toEqual({ status: 'succeeded', detail: expect.stringMatching(/^already applied at .*: scaled inventory-service ×2.00/) });
  });

  it('an undo run twice at once is recorded once', async () => {
    const { worlds, tools } = await setup(0);
    await run(tools, 'exec/a', rollback);
    const gated = new GatedWorlds(2);
    await gated.putWorld((await worlds.getWorld(WORLD))!);
    const undoTools = simulatedTools(gated, { clock: () => NOW });
    const undo = { ...rollback, params: { direction: 'undo' } };
    await Promise.all([run(undoTools, 'undo/a', undo), run(undoTools, 'undo/b', undo)]);
    expect((await actionsIn(gated)).map((x) => `${x.kind}${x.undo ? ' (undo)' : ''}: ${x.status}`)).toEqual(['rollback-change: succeeded', 'rollback-change (undo): succeeded']);
  });

  it('another incident\'s action landing in between is not a duplicate: both are recorded, decided on the fresh world', async () => {
    const { worlds, tools } = await setup();
    await Promise.all([run(tools, 'exec/a', scale, 'inc-1'), run(tools, 'exec/b', scale, 'inc-2')]);
    expect((await actionsIn(worlds)).map((x) => [x.incidentId, x.factor])).toEqual([
      ['inc-1', 2],
      ['inc-2', 2],
    ]);
  });

  it('gives up with WorldContended after a bounded number of lost races, recording nothing', async () => {
    class Contended extends MemoryWorldStore {
      reads = 0;
      override async getWorld(id: string) {
        this.reads += 1;
        return super.getWorld(id);
      }
      override async recordAction(id: string, _a: WorldAction, guard?: AppendGuard): Promise<void> {
        throw new WorldChanged(id, 'actions', guard?.expectedLength, (guard?.expectedLength ?? 0) + 1);
      }
    }
    const worlds = new Contended();
    await worlds.putWorld(createWorld(findScenario('db-pool-exhaustion'), { id: WORLD, now: NOW }));
    const error = await simulatedTools(worlds, { clock: () => NOW })
      .actions.execute({ environment: WORLD, runId: 'exec/a', incidentId: 'inc-1', action: rollback })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorldContended);
    expect((error as Error).message).toBe(`actions unavailable: cannot record the action in world "${WORLD}": the world changed under each of ${MAX_WORLD_WRITE_ATTEMPTS} attempts (concurrent writers); nothing was recorded by this call`);
    expect(worlds.reads).toBe(MAX_WORLD_WRITE_ATTEMPTS); // the run's read, then one fresh read per lost race
  });
});

describe('unit: recording a resolved incident into the world history', () => {
  const incident: PastIncident = { id: 'inc-1', title: 'Pool exhausted', service: 'inventory-service', openedAt: NOW.toISOString(), rootCause: 'CR2077', resolution: 'roll back CR2077', tags: [] };

  it('two report runs at once record the incident once (the later record of the id wins)', async () => {
    const { worlds, tools } = await setup();
    await Promise.all([tools.changes.recordIncident({ environment: WORLD, runId: 'report/a', incident }), tools.changes.recordIncident({ environment: WORLD, runId: 'report/b', incident: { ...incident, resolutionMinutes: 9 } })]);
    const { incidents } = (await worlds.getWorld(WORLD))!;
    expect(incidents).toHaveLength(1);
    expect([incident, { ...incident, resolutionMinutes: 9 }]).toContainEqual(incidents[0]);
  });

  it('people correcting what the autopilot recorded replace its entry in place; the same record again writes nothing', async () => {
    const { worlds, tools } = await setup(0);
    await tools.changes.recordIncident({ environment: WORLD, incident });
    await tools.changes.recordIncident({ environment: WORLD, incident: { ...incident, id: 'inc-2' } });
    const corrected = { ...incident, category: 'database', rootCause: 'vacuum stalled the primary', resolution: 'killed the vacuum', tags: ['database'] };
    await tools.changes.recordIncident({ environment: WORLD, incident: corrected });
    const after = (await worlds.getWorld(WORLD))!.incidents;
    expect(after.map((i) => i.id)).toEqual(['inc-1', 'inc-2']);
    expect(after[0]).toEqual(corrected);
    const replace = vi.spyOn(worlds, 'replaceIncident');
    const append = vi.spyOn(worlds, 'recordIncident');
    await tools.changes.recordIncident({ environment: WORLD, incident: { ...corrected, tags: [...corrected.tags] } });
    expect((await worlds.getWorld(WORLD))!.incidents).toEqual(after);
    expect(replace).not.toHaveBeenCalled();
    expect(append).not.toHaveBeenCalled();
  });

  it('a retried report does not add the incident again; another incident is added', async () => {
    const { worlds, tools } = await setup(0);
    await tools.changes.recordIncident({ environment: WORLD, incident });
    await tools.changes.recordIncident({ environment: WORLD, incident });
    await tools.changes.recordIncident({ environment: WORLD, incident: { ...incident, id: 'inc-2' } });
    expect((await worlds.getWorld(WORLD))!.incidents.map((i) => i.id)).toEqual(['inc-1', 'inc-2']);
  });
});
