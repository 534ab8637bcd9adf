/**
 * The twin's restart check (`autopilot serve` → lib/local/interrupted.ts): every non-terminal incident without a live
 * execution, however many there are, found by paging each non-terminal status with the list API's cursor.
 */
import { describe, expect, it } from 'vitest';
import type { IncidentStatus } from '../../../functions/core/model.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { INTERRUPTED_PAGE_SIZE, findInterruptedIncidents } from '../../../lib/local/interrupted.ts';
import { alertFixture, manualClock } from '../store/contract.ts';

describe('unit: the restart check finds every interrupted incident', () => {
  it('lists every non-terminal incident without a live execution among 480, over 100 per status, across pages', async () => {
    // Prepare: 480 incidents, a second apart; by index: terminal ones, ones whose execution still runs, and interrupted
    // ones (an ARN that no longer runs, or none at all: an opener that died before starting the workflow)
    const clock = manualClock();
    const store = new MemoryIncidentStore({ clock });
    const statuses: IncidentStatus[] = ['OPEN', 'INVESTIGATING', 'AWAITING_APPROVAL', 'ESCALATED'];
    const live = new Set<string>();
    const expected: string[] = [];
    let n = 0;
    for (let i = 0; i < 480; i++) {
      clock.advance(1000);
      const { incident } = await store.recordAlert(alertFixture({ dedupKey: `k-${i}`, service: `svc-${i}` }), {}, () => `inc-${String(++n).padStart(4, '0')}`);
      const status = statuses[i % statuses.length];
      if (status !== 'OPEN') await store.updateIncident(incident.incidentId, { status });
      const arn = `arn:aws:states:local:0:execution:sm:${incident.incidentId}`;
      if (i % 5 !== 0) await store.setExecutionArn(incident.incidentId, arn);
      if (i % 3 === 0) live.add(arn);
      const interrupted = status !== 'ESCALATED' && (i % 5 === 0 || i % 3 !== 0);
      if (interrupted) expected.push(incident.incidentId);
    }
    const pages: { status: string; cursor?: string }[] = [];
    // Act
    const found = await findInterruptedIncidents(async (query) => {
      pages.push({ status: query.status, ...(query.cursor ? { cursor: query.cursor } : {}) });
      const page = await store.listIncidents({ ...query, status: query.status as IncidentStatus });
      return { ...page, items: page.items.map((i) => ({ ...i })) };
    }, (arn) => live.has(arn));
    // Assess
    expect(expected.length).toBeGreaterThan(INTERRUPTED_PAGE_SIZE);
    expect(found.map((i) => String(i.incidentId)).sort()).toEqual(expected.sort());
    expect(pages.filter((p) => p.status === 'OPEN')).toEqual([{ status: 'OPEN' }, { status: 'OPEN', cursor: expect.any(String) }]);
    expect(new Set(pages.map((p) => p.status))).toEqual(new Set(['OPEN', 'INVESTIGATING', 'AWAITING_APPROVAL', 'MITIGATING', 'VERIFYING']));
  });
});
