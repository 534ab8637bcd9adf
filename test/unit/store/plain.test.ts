import { describe, expect, it } from 'vitest';
import { keepableNumber, plain } from '../../../functions/core/store/plain.ts';

describe('plain (what the stores and the action journal write to DynamoDB)', () => {
  it('keeps numbers outside DynamoDB\'s range as the nearest it keeps, and leaves everything else as JSON does', () => {
    expect(plain({ p: 1e-140, q: -2e-131, big: 3e200, edge: 1e-130, ok: 1.5e-12, nan: NaN, u: undefined, s: 'e-140', d: new Date(0) })).toEqual({
      p: 0, q: 0, big: 9.99999999999999e125, edge: 1e-130, ok: 1.5e-12, nan: null, s: 'e-140', d: '1970-01-01T00:00:00.000Z',
    });
    expect(plain([1e-200, 'x'])).toEqual([0, 'x']);
    expect(plain(undefined)).toBeUndefined();
  });

  it('gives what the replacer on every write gave, whether or not the fast path was taken', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 5_000; i++) {
      const n = (random() - 0.5) * 10 ** Math.floor(random() * 600 - 300);
      const value = { n, list: [n * 1e10, n / 1e10], text: `v${n}` };
      expect(plain(value)).toEqual(JSON.parse(JSON.stringify(value, keepableNumber)));
    }
  });
});
