/**
 * A scenario's simulated world behind fake dependencies, at a fixed clock and world id (deterministic), with its
 * alert opened as an incident — and the investigation the state machine runs first (impact, logs and similar in
 * parallel, then triage). Shared by the tests that run the real agents over a scenario.
 */
import { analyzeImpact } from '../../../functions/core/agents/impact.ts';
import { analyzeLogs } from '../../../functions/core/agents/logs.ts';
import { findSimilar } from '../../../functions/core/agents/similar.ts';
import { triage } from '../../../functions/core/agents/triage.ts';
import type { AgentDeps } from '../../../functions/core/deps.ts';
import { simulatedTools } from '../../../functions/core/tools/simulated.ts';
import type { Scenario } from '../../../functions/core/world/scenario.ts';
import { createWorld, worldTime } from '../../../functions/core/world/world.ts';
import { MemoryWorldStore } from '../../../functions/core/world/world-store.ts';
import { fakeDeps, seedIncident } from './fakes.ts';

export const SCENARIO_NOW = new Date('2026-03-14T12:30:00.000Z');

export const seedScenarioWorld = async (scenario: Scenario, worldId: string, now: Date = SCENARIO_NOW): Promise<{ deps: AgentDeps; incidentId: string }> => {
  const worlds = new MemoryWorldStore();
  const world = createWorld(scenario, { id: worldId, now });
  await worlds.putWorld(world);
  const deps = fakeDeps({ tools: simulatedTools(worlds, { clock: () => now }), clock: () => now });
  const { alert } = scenario;
  const incidentId = await seedIncident(deps, { service: alert.service, title: alert.title, severity: alert.severity, startedAt: new Date(worldTime(world, alert.startedAt)).toISOString(), environment: world.id });
  return { deps, incidentId };
};

/** The Investigate state (three agents in parallel) and triage. */
export const investigate = async (deps: AgentDeps, incidentId: string): Promise<void> => {
  await Promise.all([analyzeImpact(deps)({ incidentId }), analyzeLogs(deps)({ incidentId }), findSimilar(deps)({ incidentId })]);
  await triage(deps)({ incidentId });
};
