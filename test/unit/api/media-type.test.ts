/**
 * JSON routes refuse a body declared as another media type (415 naming the header) and a body that is not UTF-8 (400
 * naming the body), before anything is written: a form post or invalid bytes decoded leniently used to open incidents
 * whose text the sender never sent.
 */
import { describe, expect, it } from 'vitest';
import { MemoryEventPublisher } from '../../../functions/core/events.ts';
import { type ApiEvent, requireJsonContentType, utf8Text } from '../../../functions/core/http.ts';
import { StaticSecret } from '../../../functions/core/secrets.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { decideApproval } from '../../../functions/decide-approval/core.ts';
import { ingestAlert } from '../../../functions/ingest-alert/core.ts';
import { rerunIncident } from '../../../functions/rerun-incident/core.ts';
import { manualClock } from '../store/contract.ts';
import { CONFIG, FakeWorkflow, SECRET, apiEvent, bodyOf, sampleAlert, statusOf } from './fixtures.ts';

const withContentType = (event: ApiEvent, contentType: string | undefined): ApiEvent => {
  const { 'content-type': _omitted, ...headers } = event.headers ?? {};
  return { ...event, headers: contentType === undefined ? headers : { ...headers, 'Content-Type': contentType } };
};

const setup = () => {
  const store = new MemoryIncidentStore();
  const workflow = new FakeWorkflow();
  const events = new MemoryEventPublisher({ validate: true });
  const ingest = ingestAlert({ store, workflow, events, secret: new StaticSecret(SECRET), config: CONFIG, clock: manualClock('2024-05-01T12:10:00.000Z'), newIncidentId: () => 'inc-1' });
  return { store, workflow, events, ingest };
};

describe('unit: requireJsonContentType', () => {
  it.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON; charset="UTF-8"', 'application/vnd.api+json', '', undefined])('takes %j', (contentType) => {
    expect(() => requireJsonContentType(withContentType(apiEvent('POST /alerts/{source}'), contentType))).not.toThrow();
  });

  it.each([
    ['text/plain', /^content-type: expected application\/json, got "text\/plain"$/],
    ['application/x-www-form-urlencoded', /^content-type: expected application\/json/],
    ['multipart/form-data; boundary=x', /^content-type: expected application\/json/],
    ['application/xml', /^content-type: expected application\/json/],
    ['application/jsonx', /^content-type: expected application\/json/],
    ['application/json; charset=latin1', /^content-type: the charset must be utf-8/],
  ])('refuses %j with 415 naming the header', (contentType, message) => {
    expect(() => requireJsonContentType(withContentType(apiEvent('POST /alerts/{source}'), contentType))).toThrow(expect.objectContaining({ status: 415, message: expect.stringMatching(message) }));
  });
});

describe('unit: utf8Text', () => {
  it('decodes UTF-8, multi-byte characters included', () => {
    expect(utf8Text(Buffer.from('{"t":"café ☕ 🚨"}', 'utf8'))).toBe('{"t":"café ☕ 🚨"}');
  });

  it.each([
    ['a lone continuation byte', [0x7b, 0x80, 0x7d]],
    ['a truncated 2-byte sequence', [0x22, 0xc3, 0x28, 0x22]],
    ['an overlong encoding of "/"', [0xc0, 0xaf]],
    ['an encoded surrogate (CESU-8)', [0xed, 0xa0, 0x80]],
  ])('refuses %s with 400 naming the body', (_what, bytes) => {
    expect(() => utf8Text(Uint8Array.from(bytes))).toThrow(expect.objectContaining({ status: 400, message: 'body: not valid UTF-8 (a JSON body must be UTF-8 encoded)' }));
  });
});

describe('unit: the JSON routes refuse other media types and invalid UTF-8 before acting', () => {
  it('ingest answers a valid alert sent as text/plain 415, and opens nothing', async () => {
    // Prepare
    const { store, workflow, events, ingest } = setup();
    const event = withContentType(apiEvent('POST /alerts/{source}', { path: { source: 'generic' }, body: sampleAlert('generic') }), 'text/plain');
    // Act
    const result = await ingest(event);
    // Assess
    expect(statusOf(result)).toBe(415);
    expect(bodyOf(result)).toMatchObject({ error: 'unsupported_media_type', message: expect.stringMatching(/^content-type: /) });
    expect((await store.listIncidents({})).items).toEqual([]);
    expect(workflow.executions.size).toBe(0);
    expect(events.events).toEqual([]);
  });

  it('ingest answers an alert whose bytes are not UTF-8 400, and opens nothing (a lenient decode used to store U+FFFD)', async () => {
    // Prepare: the sample with invalid bytes (C3 28) inside its title
    const { store, workflow, ingest } = setup();
    const text = JSON.stringify({ ...sampleAlert('generic'), title: 'p99 @@' });
    const bytes = Buffer.from(text, 'utf8');
    const at = bytes.indexOf('@@');
    bytes[at] = 0xc3;
    bytes[at + 1] = 0x28;
    const event = { ...apiEvent('POST /alerts/{source}', { path: { source: 'generic' } }), body: bytes.toString('base64'), isBase64Encoded: true };
    // Act
    const result = await ingest(event);
    // Assess
    expect(statusOf(result)).toBe(400);
    expect(bodyOf(result).message).toMatch(/^body: not valid UTF-8/);
    expect((await store.listIncidents({})).items).toEqual([]);
    expect(workflow.executions.size).toBe(0);
  });

  it('ingest still takes an alert with no Content-Type (a script without the header)', async () => {
    const { workflow, ingest } = setup();
    const result = await ingest(withContentType(apiEvent('POST /alerts/{source}', { path: { source: 'generic' }, body: sampleAlert('generic') }), undefined));
    expect(statusOf(result)).toBe(202);
    expect(workflow.executions.size).toBe(1);
  });

  it('decide-approval and rerun answer a form post 415 and decide or start nothing', async () => {
    const workflow = new FakeWorkflow();
    const store = new MemoryIncidentStore();
    const decide = decideApproval({ store, workflow, secret: new StaticSecret(SECRET), config: CONFIG, clock: manualClock('2024-05-01T12:10:00.000Z') });
    const rerun = rerunIncident({ store, workflow, secret: new StaticSecret(SECRET), config: CONFIG, journal: { list: async () => [] }, events: new MemoryEventPublisher() });
    const form = 'application/x-www-form-urlencoded';
    expect(statusOf(await decide(withContentType(apiEvent('POST /incidents/{id}/approval', { path: { id: 'inc-1' }, rawBody: 'decision=approve' }), form)))).toBe(415);
    expect(statusOf(await rerun(withContentType(apiEvent('POST /incidents/{id}/rerun', { path: { id: 'inc-1' }, rawBody: 'reason=x' }), form)))).toBe(415);
    expect([...workflow.successes, ...workflow.failures]).toEqual([]);
    expect(workflow.executions.size).toBe(0);
  });
});
