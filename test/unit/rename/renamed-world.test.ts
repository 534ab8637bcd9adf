/**
 * Conclusions follow the world, not memorised names: every service, change id and past-incident id of a scenario
 * is renamed, the agents investigate the renamed world through the tool ports, and the root cause, the plan and
 * the similar incident they reach are the renamed ones — with no old name left anywhere in their outputs.
 * Deterministic: a fixed world id and a fixed clock.
 */
import { describe, expect, it } from 'vitest';
import { planMitigation } from '../../../functions/core/agents/plan.ts';
import { findRootCause } from '../../../functions/core/agents/rootcause.ts';
import { PlanOutput, RootCauseOutput, SimilarOutput } from '../../../functions/core/model.ts';
import { findScenario, renameScenario, type Scenario } from '../../../functions/core/world/scenario.ts';
import { investigate, seedScenarioWorld } from '../agents/scenario-world.ts';

const NOW = new Date('2026-03-14T12:30:00.000Z');

/** old name → new name for every service, change and past incident of a scenario. */
const renaming = (s: Scenario): Record<string, string> => {
  const mapping: Record<string, string> = {};
  s.services.forEach((svc, i) => (mapping[svc.name] = `zeta-${i}-svc`));
  s.changes.forEach((c, i) => (mapping[c.id] = `CHG-R${900 + i}`));
  s.history.forEach((h, i) => (mapping[h.id] = `PAST-R${500 + i}`));
  return mapping;
};

const conclude = async (scenario: Scenario) => {
  const { deps, incidentId } = await seedScenarioWorld(scenario, `w-rename-${scenario.name}`, NOW);
  await investigate(deps, incidentId);
  await findRootCause(deps)({ incidentId });
  await planMitigation(deps)({ incidentId });
  const output = async (agent: 'rootcause' | 'plan' | 'similar') => (await deps.store.getAgentRecord(incidentId, agent))?.output;
  return {
    rootCause: RootCauseOutput.parse(await output('rootcause')),
    plan: PlanOutput.parse(await output('plan')),
    similar: SimilarOutput.parse(await output('similar')),
    everything: JSON.stringify(await deps.store.getDetail(incidentId)),
  };
};

describe('a renamed world', () => {
  it.each(['db-pool-exhaustion', 'bad-deploy-latency'])('%s: the conclusions follow the renamed services, changes and incidents', async (name) => {
    // Prepare
    const original = findScenario(name);
    const mapping = renaming(original);
    const renamed = renameScenario(original, mapping);
    const expected = original.expect.rootCause;
    if (!expected) throw new Error(`${name} has no expected root cause`);
    // Act
    const before = await conclude(original);
    const after = await conclude(renamed);
    // Assess: the same conclusion, under the new names
    expect(after.rootCause.rootCauses[0]).toMatchObject({ service: mapping[expected.service], category: expected.category });
    expect(after.rootCause.rootCauses[0].changeId).toBe(expected.changeId ? mapping[expected.changeId] : undefined);
    expect(after.plan.immediate[0].kind).toBe(before.plan.immediate[0].kind);
    expect(after.plan.immediate[0].service).toBe(mapping[before.plan.immediate[0].service]);
    if (before.similar.topMatch) expect(after.similar.topMatch).toBe(mapping[before.similar.topMatch]);
    // ... and no old name survives anywhere the agents wrote
    for (const old of Object.keys(mapping)) expect(after.everything, `old name ${old} leaked`).not.toMatch(new RegExp(`\\b${old}\\b`));
  });
});
