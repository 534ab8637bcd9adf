import { describe, expect, it } from 'vitest';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { alertFixture, incidentStoreContract } from './contract.ts';

incidentStoreContract('MemoryIncidentStore', async (clock, faults) => new MemoryIncidentStore({ clock, afterWrite: (step) => faults.landed(step) }));

describe('unit: MemoryIncidentStore', () => {
  it('returns copies, so a caller mutating a result does not change the store', async () => {
    // Prepare
    const store = new MemoryIncidentStore();
    const { incident } = await store.recordAlert(alertFixture(), {}, () => 'inc-copy');
    // Act
    (incident as { title: string }).title = 'changed';
    // Assess
    expect((await store.getIncident('inc-copy'))?.title).toBe(alertFixture().title);
  });

  it('exposes the stored task token only through its test helper', async () => {
    const store = new MemoryIncidentStore();
    await store.recordAlert(alertFixture(), {}, () => 'inc-token');
    await store.requestApproval('inc-token', 'tok-1', { status: 'PENDING' });
    expect(store.taskTokenOf('inc-token')).toBe('tok-1');
  });
});
