import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../functions/core/config.ts';
import { ToolUnavailable } from '../../../functions/core/tools/ports.ts';
import { HttpClient, VendorRequestFailed, VendorUrlInvalid, checkBaseUrl, parseRetryAfter } from '../../../functions/core/tools/vendors/http.ts';
import { recordingSleep, rejectionOf, useFakeVendor } from './fake-vendor.ts';

describe('unit: vendor HTTP client', () => {
  const fake = useFakeVendor();

  const client = (over: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}) => {
    const { waits, sleep } = recordingSleep();
    const http = new HttpClient({ vendor: 'Acme', baseUrl: `${fake.url}/e/env1`, auth: async () => ({ authorization: 'Token secret-value' }), sleep, random: () => 0.5, timeoutMs: 2_000, ...over });
    return { http, waits };
  };

  it('keeps the base URL path prefix, repeats array parameters and sends the auth header', async () => {
    // Prepare
    fake.once('GET', '/e/env1/api/things', { status: 200, json: { ok: true } });
    const { http } = client();
    // Act
    const res = await http.request({ path: '/api/things', query: { 'ids[]': ['a', 'b'], q: 'x y', skipped: undefined } });
    // Assess
    expect(res.status).toBe(200);
    expect(fake.received[0].query.getAll('ids[]')).toEqual(['a', 'b']);
    expect(fake.received[0].query.get('q')).toBe('x y');
    expect(fake.received[0].query.has('skipped')).toBe(false);
    expect(fake.received[0].headers.authorization).toBe('Token secret-value');
  });

  it('retries a 500 with exponential backoff and full jitter, then succeeds', async () => {
    fake.once('GET', '/e/env1/x', { status: 500, text: 'boom' });
    fake.once('GET', '/e/env1/x', { status: 502, text: 'bad gateway' });
    fake.once('GET', '/e/env1/x', { status: 200, json: {} });
    const { http, waits } = client({ retries: 2, backoffBaseMs: 100 });

    await http.request({ path: '/x' });

    expect(fake.received).toHaveLength(3);
    // random() = 0.5 → half of 100·2^0 and of 100·2^1
    expect(waits).toEqual([50, 100]);
  });

  it('honours Retry-After given as an HTTP date', () => {
    const now = Date.parse('2024-05-01T12:00:00Z');
    expect(parseRetryAfter('Wed, 01 May 2024 12:00:03 GMT', now)).toBe(3000);
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });

  it('gives up at once when Retry-After is longer than the call may wait', async () => {
    fake.once('GET', '/e/env1/x', { status: 429, text: 'slow down', headers: { 'retry-after': '120' } });
    const { http, waits } = client({ retries: 3, maxRetryAfterMs: 10_000 });

    const error = await rejectionOf(http.request({ path: '/x' }));

    expect(error).toBeInstanceOf(ToolUnavailable);
    expect(error.message).toMatch(/^Acme unavailable: 429 .*Retry-After 120 s/);
    expect(fake.received).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('does not retry a 401 and never puts the credential in the message', async () => {
    fake.once('GET', '/e/env1/x', { status: 401, json: { error: 'invalid token' } });
    const { http } = client({ retries: 3 });

    const error = await rejectionOf(http.request({ path: '/x', query: { q: 'abc' } }));

    expect(error).toBeInstanceOf(ToolUnavailable);
    expect((error as ToolUnavailable).tool).toBe('Acme');
    expect(error.message).toMatch(/^Acme unavailable: 401 Unauthorized on GET \/e\/env1\/x: \{"error":"invalid token"\}$/);
    expect(error.message).not.toContain('secret-value');
    expect(fake.received).toHaveLength(1);
  });

  it('reports a network error after the bounded attempts', async () => {
    const { http, waits } = client({ baseUrl: 'http://127.0.0.1:1', retries: 1 });

    const error = await rejectionOf(http.request({ path: '/x' }));

    expect(error).toBeInstanceOf(ToolUnavailable);
    expect(error.message).toMatch(/^Acme unavailable: fetch failed .*on GET \/x \(after 2 attempts\)$/);
    expect(waits).toHaveLength(1);
  });

  it('does not send a POST again after a timeout (it may have acted), but retries a GET and a POST marked read-only', async () => {
    fake.always('POST', '/e/env1/create', 'hang');
    fake.once('GET', '/e/env1/read', 'hang');
    fake.once('GET', '/e/env1/read', { status: 200, json: {} });
    fake.once('POST', '/e/env1/search', 'hang');
    fake.once('POST', '/e/env1/search', { status: 200, json: {} });
    const { http, waits } = client({ retries: 2, timeoutMs: 150 });

    const error = await rejectionOf(http.request({ method: 'POST', path: '/create', json: { a: 1 } }));
    await http.request({ path: '/read' });
    await http.request({ method: 'POST', path: '/search', form: { q: 'x' }, retryUnanswered: true });

    expect(error).toBeInstanceOf(ToolUnavailable);
    expect(error).toBeInstanceOf(VendorRequestFailed);
    expect(error.message).toBe('Acme unavailable: timed out after 150 ms on POST /e/env1/create; not retried: the POST may have taken effect without its answer arriving');
    expect((error as VendorRequestFailed).reason).toBe('timed out after 150 ms on POST /e/env1/create; not retried: the POST may have taken effect without its answer arriving');
    expect(fake.received.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /e/env1/create', 'GET /e/env1/read', 'GET /e/env1/read', 'POST /e/env1/search', 'POST /e/env1/search']);
    expect(waits).toHaveLength(2);
  });

  it('builds the auth headers per attempt from the outgoing request, and sends the empty path to the base URL itself', async () => {
    fake.once('POST', '/e/env1', { status: 503, text: 'busy' });
    fake.once('POST', '/e/env1', { status: 200, json: {} });
    const seen: string[] = [];
    let n = 0;
    const { http } = client({
      auth: async (r) => {
        n += 1;
        seen.push(`${r.method} ${r.url.pathname} ${r.body}`);
        return { 'x-signature': `sig-${n}` };
      },
    });

    await http.request({ method: 'POST', path: '', json: { a: 1 } });

    expect(seen).toEqual(['POST /e/env1 {"a":1}', 'POST /e/env1 {"a":1}']);
    expect(fake.received.map((r) => r.headers['x-signature'])).toEqual(['sig-1', 'sig-2']);
  });

  it('turns a response of the wrong shape into ToolUnavailable naming the field', async () => {
    fake.once('GET', '/e/env1/x', { status: 200, json: { items: [{ id: 7 }] } });
    const { http } = client();
    const { z } = await import('zod');

    const error = await rejectionOf(http.json({ path: '/x' }, z.object({ items: z.array(z.object({ id: z.string() })) })));

    expect(error.message).toMatch(/^Acme unavailable: unexpected response from GET \/e\/env1\/x: items\.0\.id: /);
  });

  it('accepts https anywhere and http only on loopback', () => {
    expect(checkBaseUrl('X_URL', 'https://abc.live.dynatrace.com')).toBe('https://abc.live.dynatrace.com/');
    expect(checkBaseUrl('X_URL', 'http://127.0.0.1:8089')).toBe('http://127.0.0.1:8089/');
    expect(() => checkBaseUrl('X_URL', 'http://splunk.example.com:8089')).toThrow(VendorUrlInvalid);
    // A ConfigError itself: the select modules need not translate it.
    expect(() => checkBaseUrl('X_URL', 'http://splunk.example.com:8089')).toThrow(ConfigError);
    expect(() => checkBaseUrl('X_URL', 'http://splunk.example.com:8089')).toThrow(/^invalid configuration: X_URL must use https/);
    expect(() => checkBaseUrl('X_URL', 'https://user:pw@example.com')).toThrow(/must not carry credentials/);
    expect(() => checkBaseUrl('X_URL', 'not a url')).toThrow(/X_URL is not a URL/);
  });
});
