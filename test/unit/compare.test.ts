import { describe, expect, it } from 'vitest';
import { byCodeUnit } from '../../functions/core/compare.ts';

describe('unit: byCodeUnit', () => {
  it('orders ISO timestamps chronologically and sort keys as DynamoDB does (by code unit, not by locale)', () => {
    expect(['2026-03-14T12:00:01.000Z', '2026-03-14T11:59:59.999Z', '2026-03-14T12:00:00.000Z'].sort(byCodeUnit)).toEqual([
      '2026-03-14T11:59:59.999Z',
      '2026-03-14T12:00:00.000Z',
      '2026-03-14T12:00:01.000Z',
    ]);
    // A locale collation ignores the hyphen at first and puts "abb" first; DynamoDB compares bytes: "-" < "b".
    expect(['abb', 'ab-c', 'EVENT#2', 'ALERT#1'].sort(byCodeUnit)).toEqual(['ALERT#1', 'EVENT#2', 'ab-c', 'abb']);
    expect(byCodeUnit('x', 'x')).toBe(0);
  });
});
