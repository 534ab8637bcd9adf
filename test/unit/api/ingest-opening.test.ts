/**
 * The opening journal of the alert webhook (exactly one `Incident Opened` per incident, an execution behind every
 * 202, any failure completed by a retry or a later alert) against MemoryIncidentStore. The same suite runs against
 * DynamoIncidentStore on dynalite in test/twin/intake.test.ts.
 */
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { ingestOpeningContract } from './opening-contract.ts';

ingestOpeningContract('MemoryIncidentStore', async (clock) => new MemoryIncidentStore({ clock }));
