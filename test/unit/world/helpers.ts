import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach } from 'vitest';
import { listScenarios, loadScenario, type Scenario } from '../../../functions/core/world/scenario.ts';

export const NOW = new Date('2026-03-10T12:00:00.000Z');
export const MINUTE = 60_000;

/** Every scenario shipped in events/scenarios, loaded once. */
export const allScenarios = (): Scenario[] => listScenarios().map((s) => loadScenario(s.file));

/** The same scenario with no faults: same topology, load and noise, so a world with the same id is its healthy twin. */
export const withoutFaults = (s: Scenario): Scenario => ({ ...s, faults: [] });

/**
 * The scenario without its incident: no faults, and, when the incident is a traffic surge with no fault at all
 * (a capacity incident), no surge either. A world with the same id is the healthy twin.
 */
export const withoutIncident = (s: Scenario): Scenario => ({ ...s, faults: [], load: s.faults.length === 0 ? [] : s.load });

/** When the incident starts: its first fault, or for a fault-free capacity incident its first surge. */
export const incidentStart = (s: Scenario): number => Math.min(...(s.faults.length > 0 ? s.faults.map((f) => f.startsAt) : s.load.map((l) => l.startsAt)));

/** A change no fault is caused by (a red herring). */
export const unrelatedChange = (s: Scenario) => s.changes.find((c) => !s.faults.some((f) => f.causedBy === c.id) && c.deployedAt <= 0);

/**
 * A DynamoDB document client whose calls the returned mock answers, reset after each test of the describe block that
 * calls this (the world stores' DynamoDB tests).
 */
export const mockDocumentClient = () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  afterEach(() => ddb.reset());
  return { ddb, doc: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' })) };
};
