/**
 * `detector` is an intake source, not a webhook source: the normalised alert accepts it (the detector hands its alerts
 * to the core intake), the webhook does not (nobody outside may post alerts in the detector's name), and the API
 * description's `{source}` says so.
 */
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../../functions/core/api/openapi.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { AlertSource, DETECTOR_SOURCE, NormalizedAlert } from '../../../functions/core/model.ts';
import { StaticSecret } from '../../../functions/core/secrets.ts';
import { ingestAlert } from '../../../functions/ingest-alert/core.ts';
import { apiEvent, bodyOf, CONFIG, FakeWorkflow, SECRET, statusOf } from '../api/fixtures.ts';

describe('the detector alert source', () => {
  it('is a source of the normalised alert', () => {
    expect(NormalizedAlert.parse({ source: DETECTOR_SOURCE, dedupKey: 'prod/checkout', state: 'OPEN', title: 't', service: 'checkout', severity: 'SEV3', startedAt: '2026-03-02T12:00:00Z' }).source).toBe('detector');
  });

  it('is not a webhook source: POST /alerts/detector is a 404 that writes nothing', async () => {
    const store = new MemoryIncidentStore();
    const workflow = new FakeWorkflow();
    const ingest = ingestAlert({ store, workflow, events: { publish: async () => undefined }, secret: new StaticSecret(SECRET), config: CONFIG, clock: () => new Date() });
    const result = await ingest(apiEvent('POST /alerts/{source}', { path: { source: 'detector' }, body: { title: 'x', service: 'checkout' } }));
    expect(statusOf(result)).toBe(404);
    expect(String(bodyOf(result).message)).toContain('unknown alert source "detector"');
    expect((await store.listIncidents({})).items).toEqual([]);
  });

  it('is not in the API description’s {source}', () => {
    const doc = JSON.stringify(openApiDocument());
    expect(AlertSource.options).not.toContain(DETECTOR_SOURCE);
    expect(doc).not.toContain('"detector"');
  });
});
