/**
 * Two invocations of execute-mitigation for one incident at once (Step Functions retrying a Lambda that timed out
 * while the first invocation still runs), over the simulated world: neither has stored its output yet, so the
 * executor's "already done" check cannot help, and both reach the world before either records. The world must
 * receive the scale-out once.
 */
import { describe, expect, it } from 'vitest';
import { executeMitigation } from '../../../functions/core/agents/execute.ts';
import type { MitigationAction, PlanOutput } from '../../../functions/core/model.ts';
import { simulatedTools } from '../../../functions/core/tools/simulated.ts';
import { findScenario } from '../../../functions/core/world/scenario.ts';
import { createWorld, type WorldState } from '../../../functions/core/world/world.ts';
import { MemoryWorldStore } from '../../../functions/core/world/world-store.ts';
import { MemoryActionJournal } from '../../../functions/core/store/journal.ts';
import { fakeDeps, seedAgentRecord, seedIncident } from './fakes.ts';

const NOW = new Date('2026-03-14T12:00:00.000Z');
const WORLD = 'execute-twice';

/** Holds the first two reads until both have taken their snapshot: both runs decide on the same world. */
class TwoReadersAtOnce extends MemoryWorldStore {
  #waiting: (() => void)[] = [];
  override async getWorld(id: string): Promise<WorldState | undefined> {
    const state = await super.getWorld(id);
    if (this.#waiting.length < 2) {
      await new Promise<void>((resolve) => {
        this.#waiting.push(resolve);
        if (this.#waiting.length === 2) for (const r of this.#waiting) r();
      });
    }
    return state;
  }
}

const scale: MitigationAction = { kind: 'scale-service', service: 'inventory-service', params: { factor: 2 }, description: 'Scale out', risk: 'low', reversible: true, evidenceIds: [] };
const plan: PlanOutput = { immediate: [scale], longTerm: [], risk: 'low', reversible: true, autoApprove: true, rationale: 'policy', evidenceIds: [] };

describe('executeMitigation: duplicate invocations at once in the simulated world', () => {
  it('scales out once, and both invocations report the action succeeded', async () => {
    const worlds = new TwoReadersAtOnce();
    await worlds.putWorld(createWorld(findScenario('db-pool-exhaustion'), { id: WORLD, now: NOW }));
    const simulated = simulatedTools(worlds, { clock: () => NOW });
    const deps = fakeDeps({ clock: () => NOW, tools: { telemetry: { getTopology: async () => [{ name: 'inventory-service', tier: 'backend', calls: [] }] }, actions: simulated.actions } });
    const incidentId = await seedIncident(deps, { environment: WORLD });
    await seedAgentRecord(deps, incidentId, 'plan', plan);
    await seedAgentRecord(deps, incidentId, 'rootcause', {});

    // Each invocation with a journal of its own: the shared action journal would hold the second back until the
    // first completed (test/unit/agents/execute-journal.test.ts), and this test is about the world's own guard.
    const results = await Promise.all([executeMitigation(deps)({ incidentId }), executeMitigation({ ...deps, journal: new MemoryActionJournal() })({ incidentId })]);

    expect(results.map((r) => r.summary)).toEqual([expect.stringMatching(/^Executed 1\/1/), expect.stringMatching(/^Executed 1\/1/)]);
    const actions = (await worlds.getWorld(WORLD))!.actions;
    expect(actions.map((a) => `${a.incidentId} ${a.kind} ×${a.factor}`)).toEqual([`${incidentId} scale-service ×2`]);
  });
});
