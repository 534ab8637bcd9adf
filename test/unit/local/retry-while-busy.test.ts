/** The CLI's rerun waits out a 503 or 429 that says when to come back (the incident is being opened elsewhere; load shed), within a budget. */
import { describe, expect, it } from 'vitest';
import { ApiError, retryAfterSeconds, retryWhileBusy } from '../../../lib/local/client.ts';

const busy = (seconds?: number) => new ApiError(503, 'incident inc-1 is being opened by another delivery or the sweeper', {}, seconds);

/** A request that fails with `errors` in turn, then answers `ok`; and a sleep that only records. */
const scripted = (errors: Error[]) => {
  const slept: number[] = [];
  let calls = 0;
  const request = async () => {
    calls += 1;
    const error = errors.shift();
    if (error) throw error;
    return 'ok';
  };
  return { request, slept, sleep: async (ms: number) => void slept.push(ms), calls: () => calls };
};

describe('unit: retryWhileBusy', () => {
  it('retries after each 503 with Retry-After, sleeping as asked, and returns the answer', async () => {
    // Prepare
    const s = scripted([busy(3), busy(1)]);
    const waits: number[] = [];
    // Act
    const result = await retryWhileBusy(s.request, 90_000, (_e, seconds) => waits.push(seconds), s.sleep);
    // Assess
    expect(result).toBe('ok');
    expect(s.calls()).toBe(3);
    expect(s.slept).toEqual([3000, 1000]);
    expect(waits).toEqual([3, 1]);
  });

  it('retries a 429 with Retry-After (the API shedding load) like a busy 503', async () => {
    // Prepare
    const s = scripted([new ApiError(429, 'Too Many Requests', { message: 'Too Many Requests' }, 2)]);
    // Act
    const result = await retryWhileBusy(s.request, 90_000, () => undefined, s.sleep);
    // Assess
    expect(result).toBe('ok');
    expect(s.calls()).toBe(2);
    expect(s.slept).toEqual([2000]);
  });

  it('gives up with the 503 once the next wait would pass the budget', async () => {
    const s = scripted([busy(5), busy(60)]);
    await expect(retryWhileBusy(s.request, 30_000, () => undefined, s.sleep)).rejects.toMatchObject({ status: 503, retryAfterSeconds: 60 });
    expect(s.calls()).toBe(2);
  });

  it('does not retry a 503 without Retry-After, a 409 or a 500', async () => {
    for (const error of [busy(undefined), new ApiError(409, 'a rerun is already running', {}, 5), new ApiError(500, 'internal error', {})]) {
      const s = scripted([error]);
      await expect(retryWhileBusy(s.request, 90_000, () => undefined, s.sleep)).rejects.toBe(error);
      expect(s.calls()).toBe(1);
    }
  });

  it('reads Retry-After in its delta-seconds form only', () => {
    expect(retryAfterSeconds('7')).toBe(7);
    expect(retryAfterSeconds(' 12 ')).toBe(12);
    expect(retryAfterSeconds('Wed, 21 Oct 2026 07:28:00 GMT')).toBeUndefined();
    expect(retryAfterSeconds('-1')).toBeUndefined();
    expect(retryAfterSeconds(null)).toBeUndefined();
  });
});
