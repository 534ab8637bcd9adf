import { listScenarios, loadScenario, type Scenario } from '../../../functions/core/world/scenario.ts';

export const NOW = new Date('2026-03-10T12:00:00.000Z');
export const MINUTE = 60_000;

/** Every scenario shipped in events/scenarios, loaded once. */
export const allScenarios = (): Scenario[] => listScenarios().map((s) => loadScenario(s.file));

/** The same scenario with no faults: same topology, load and noise, so a world with the same id is its healthy twin. */
export const withoutFaults = (s: Scenario): Scenario => ({ ...s, faults: [] });

/** A change no fault is caused by (a red herring). */
export const unrelatedChange = (s: Scenario) => s.changes.find((c) => !s.faults.some((f) => f.causedBy === c.id) && c.deployedAt <= 0);
