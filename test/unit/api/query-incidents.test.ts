import { describe, expect, it } from 'vitest';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { queryIncidents } from '../../../functions/query-incidents/core.ts';
import { agentRecordFixture, alertFixture, manualClock } from '../store/contract.ts';
import { apiEvent, bodyOf, sampleEvent, statusOf } from './fixtures.ts';

const seeded = async () => {
  const clock = manualClock();
  const store = new MemoryIncidentStore({ clock });
  for (let i = 1; i <= 3; i++) {
    clock.advance(60_000);
    await store.recordAlert(alertFixture({ dedupKey: `k${i}`, service: i === 3 ? 'checkout' : 'inventory-service', severity: i === 1 ? 'SEV1' : 'SEV3' }), {}, () => `inc-${i}`);
  }
  return { store, query: queryIncidents({ store }) };
};

describe('unit: query-incidents list', () => {
  it('lists newest first and pages with the cursor', async () => {
    // Prepare
    const { query } = await seeded();
    // Act
    const first = bodyOf(await query(apiEvent('GET /incidents', { query: { limit: '2' }, secret: null })));
    const second = bodyOf(await query(apiEvent('GET /incidents', { query: { limit: '2', cursor: String(first.cursor) }, secret: null })));
    // Assess
    expect((first.items as { incidentId: string }[]).map((i) => i.incidentId)).toEqual(['inc-3', 'inc-2']);
    expect((second.items as { incidentId: string }[]).map((i) => i.incidentId)).toEqual(['inc-1']);
    expect(second.cursor).toBeNull();
  });

  it('filters by status, severity (any case) and service', async () => {
    const { store, query } = await seeded();
    await store.updateIncident('inc-2', { status: 'INVESTIGATING' });
    const ids = async (q: Record<string, string>) => (bodyOf(await query(apiEvent('GET /incidents', { query: q }))).items as { incidentId: string }[]).map((i) => i.incidentId);
    expect(await ids({ status: 'investigating' })).toEqual(['inc-2']);
    expect(await ids({ severity: 'sev1' })).toEqual(['inc-1']);
    expect(await ids({ service: 'checkout' })).toEqual(['inc-3']);
  });

  it('answers 400 naming a bad query parameter', async () => {
    const { query } = await seeded();
    const badStatus = await query(apiEvent('GET /incidents', { query: { status: 'DONE' } }));
    expect(statusOf(badStatus)).toBe(400);
    expect(bodyOf(badStatus).problems).toEqual([expect.stringMatching(/^status: /)]);
    expect(bodyOf(await query(apiEvent('GET /incidents', { query: { limit: '500' } }))).problems).toEqual([expect.stringMatching(/^limit: /)]);
  });

  it('answers 400 for a cursor it did not issue', async () => {
    const { query } = await seeded();
    const result = await query(apiEvent('GET /incidents', { query: { cursor: 'bm9wZQ' } }));
    expect(statusOf(result)).toBe(400);
    expect(bodyOf(result).message).toMatch(/cursor/);
  });

  it('accepts the sample event events/api/list-incidents.json', async () => {
    const { query } = await seeded();
    const result = await query(sampleEvent('list-incidents'));
    expect(statusOf(result)).toBe(200);
    expect(bodyOf(result)).toEqual({ items: [], cursor: null });
  });
});

describe('unit: query-incidents detail', () => {
  it('answers 404 for an unknown incident', async () => {
    const { query } = await seeded();
    const result = await query(apiEvent('GET /incidents/{id}', { path: { id: 'inc-404' } }));
    expect(statusOf(result)).toBe(404);
    expect(bodyOf(result)).toMatchObject({ error: 'not_found', message: 'incident inc-404 not found' });
  });

  it('takes the id as API Gateway decoded it: a literal "%" is an unknown id (404), not a decoding crash (500)', async () => {
    const { query } = await seeded();
    const result = await query(apiEvent('GET /incidents/{id}', { path: { id: 'inc-100%' } }));
    expect(statusOf(result)).toBe(404);
    expect(bodyOf(result)).toMatchObject({ message: 'incident inc-100% not found' });
  });

  it('returns alerts, agent records, timeline, approval without the token and the report', async () => {
    const { store, query } = await seeded();
    await store.putAgentRecord('inc-1', agentRecordFixture());
    await store.putAgentRecord('inc-1', agentRecordFixture({ agent: 'report', output: { markdown: '# RCA', location: 'dynamodb://x', outcome: 'resolved' } }));
    await store.appendEvent('inc-1', { type: 'note', message: 'hello' });
    await store.requestApproval('inc-1', 'tok-do-not-leak', { status: 'PENDING', channel: 'retool' });
    const result = await query(apiEvent('GET /incidents/{id}', { path: { id: 'inc-1' } }));
    const body = bodyOf(result);
    expect(statusOf(result)).toBe(200);
    expect(body).toMatchObject({
      incident: { incidentId: 'inc-1', status: 'AWAITING_APPROVAL' },
      alerts: [expect.objectContaining({ deduplicated: false })],
      agents: { impact: expect.objectContaining({ latencyMs: 42, evidence: [expect.objectContaining({ id: 'metric:inventory-service:latency_p99' })] }) },
      timeline: [expect.objectContaining({ type: 'note' })],
      approval: { status: 'PENDING', channel: 'retool' },
      report: { markdown: '# RCA', location: 'dynamodb://x', outcome: 'resolved' },
    });
    expect(JSON.stringify(body)).not.toContain('tok-do-not-leak');
  });

  it('accepts the sample event events/api/get-incident.json', async () => {
    const { query } = await seeded();
    expect(statusOf(await query(sampleEvent('get-incident')))).toBe(404);
  });
});
