/**
 * The twin's API sheds load the way API Gateway and Lambda's reserved concurrency do: a bounded number of
 * invocations per function run, a bounded queue waits (for a bounded time), and anything beyond is answered at
 * once with 429 `{message: "Too Many Requests"}` and `Retry-After` — never a function timeout or a 500.
 */
import { describe, expect, it } from 'vitest';
import { type ApiLimits, apiLimitsFromEnv, ConcurrencyGate, DEFAULT_API_LIMITS, InvalidApiLimit, startApi } from '../../lib/local/api-gateway.ts';

/** An invoke whose invocations stay running until `releaseAll`; counts how many ran at once. */
const heldInvoke = () => {
  const held: (() => void)[] = [];
  let running = 0;
  let maxRunning = 0;
  let started = 0;
  const invoke = async (): Promise<unknown> => {
    started += 1;
    running += 1;
    maxRunning = Math.max(maxRunning, running);
    await new Promise<void>((resolve) => held.push(resolve));
    running -= 1;
    return { statusCode: 200, body: '{"ok":true}' };
  };
  const releaseAll = () => {
    for (const release of held.splice(0)) release();
  };
  return { invoke, releaseAll, counts: () => ({ started, running, maxRunning, held: held.length }) };
};

const until = async (check: () => boolean, timeoutMs = 5000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

const post = (url: string) => fetch(`${url}/alerts/generic`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });

describe('twin API load shedding', () => {
  it('runs at most `concurrency` invocations of a function, queues `queue` more and answers the rest 429 with Retry-After', async () => {
    // Prepare
    const held = heldInvoke();
    const limits: ApiLimits = { concurrency: 2, queue: 3, maxWaitMs: 30_000 };
    const api = await startApi({ port: 0, invoke: held.invoke, limits });
    try {
      // Act: 10 requests at once, none of which finishes until released
      const settled: { status: number; retryAfter: string | null; body: unknown }[] = [];
      const responses = Array.from({ length: 10 }, () =>
        post(api.url).then(async (res) => settled.push({ status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() })),
      );
      await until(() => api.throttleStats()['ingest-alert'].shed === 5 && held.counts().running === 2 && settled.length === 5);
      const shedAtOnce = [...settled];
      await until(() => {
        held.releaseAll();
        return settled.length === 10;
      });
      await Promise.all(responses);

      // Assess
      for (const r of shedAtOnce) {
        expect(r.status).toBe(429);
        expect(r.body).toEqual({ message: 'Too Many Requests' });
        expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      }
      expect(settled.slice(5).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(held.counts().maxRunning).toBe(2);
      expect(api.throttleStats()['ingest-alert']).toMatchObject({ admitted: 5, shed: 5, queueFull: 5, waitExpired: 0, inFlight: 0, queued: 0, maxInFlight: 2, maxQueued: 3 });
    } finally {
      held.releaseAll();
      await api.stop();
    }
  });

  it('sheds with 429 a request that waited maxWaitMs in the queue, instead of letting it run into a timeout', async () => {
    // Prepare
    const held = heldInvoke();
    const api = await startApi({ port: 0, invoke: held.invoke, limits: { concurrency: 1, queue: 5, maxWaitMs: 50 } });
    try {
      // Act
      const first = post(api.url);
      await until(() => held.counts().running === 1);
      const waited = await post(api.url);
      held.releaseAll();

      // Assess
      expect(waited.status).toBe(429);
      expect(waited.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await first).status).toBe(200);
      expect(api.throttleStats()['ingest-alert']).toMatchObject({ shed: 1, waitExpired: 1, queueFull: 0 });
    } finally {
      held.releaseAll();
      await api.stop();
    }
  });

  it('keeps a separate budget per function: a flooded webhook does not shed the incident reads', async () => {
    // Prepare
    const held = heldInvoke();
    const api = await startApi({
      port: 0,
      invoke: (fn) => (fn === 'ingest-alert' ? held.invoke() : Promise.resolve({ statusCode: 200, body: '{"items":[]}' })),
      limits: { concurrency: 1, queue: 0, maxWaitMs: 0 },
    });
    try {
      // Act
      const flood = post(api.url);
      await until(() => held.counts().running === 1);
      const shed = await post(api.url);
      const read = await fetch(`${api.url}/incidents`);
      held.releaseAll();

      // Assess
      expect(shed.status).toBe(429);
      expect(read.status).toBe(200);
      expect((await flood).status).toBe(200);
      expect(api.throttleStats()['query-incidents']).toMatchObject({ admitted: 1, shed: 0 });
    } finally {
      held.releaseAll();
      await api.stop();
    }
  });

  it('lets a queued request whose client went away leave the queue without taking a slot', async () => {
    // Prepare
    const gate = new ConcurrencyGate({ concurrency: 1, queue: 2, maxWaitMs: 30_000 });
    expect(await gate.acquire()).toBe('admitted');
    const gone = new AbortController();

    // Act
    const waiting = gate.acquire(gone.signal);
    gone.abort();

    // Assess
    expect(await waiting).toBe('abandoned');
    expect(gate.stats()).toMatchObject({ queued: 0, abandoned: 1, shed: 0, inFlight: 1 });
    gate.release(10);
    expect(gate.stats().inFlight).toBe(0);
  });

  it('reads the limits from AUTOPILOT_API_* and names a malformed variable', () => {
    expect(apiLimitsFromEnv({})).toEqual(DEFAULT_API_LIMITS);
    expect(apiLimitsFromEnv({ AUTOPILOT_API_CONCURRENCY: '4', AUTOPILOT_API_QUEUE: '0', AUTOPILOT_API_QUEUE_WAIT_MS: '250' })).toEqual({ concurrency: 4, queue: 0, maxWaitMs: 250 });
    expect(() => apiLimitsFromEnv({ AUTOPILOT_API_CONCURRENCY: '0' })).toThrow(InvalidApiLimit);
    expect(() => apiLimitsFromEnv({ AUTOPILOT_API_QUEUE: 'lots' })).toThrow(/AUTOPILOT_API_QUEUE must be a whole number/);
  });
});
