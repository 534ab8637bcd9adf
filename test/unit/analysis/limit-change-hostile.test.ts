/**
 * Unit: reading a limit change from a change's text (functions/core/analysis/changes.ts `limitChange`) on hostile
 * descriptions. The "param old → new" patterns were matched with matchAll, which tried every letter of a long run
 * without blanks as a start: quadratic (1.6 s for 40 KB, ~40 s for 200 KB — per change, and the root-cause analysis
 * reads each change more than once); the numbers of a long value were read in quadratic time too (12 s for 40 KB). It
 * must stay linear and find the same moves.
 */
import { describe, expect, it } from 'vitest';
import { limitChange, tokens } from '../../../functions/core/analysis/changes.ts';
import type { ChangeRequest } from '../../../functions/core/tools/ports.ts';

const change = (description: string, title = 'config update'): ChangeRequest =>
  ({ id: 'c-1', service: 'orders', type: 'config', title, description, deployedAt: '2025-01-01T00:00:00Z', state: 'implemented' }) as ChangeRequest;

describe('limitChange on hostile descriptions', () => {
  it('reads a 200 KB description without blanks in well under a second per pass (it took ~40 s)', () => {
    const started = performance.now();
    expect(limitChange(change('a'.repeat(200_000)))).toBeUndefined();
    expect(limitChange(change('a.'.repeat(100_000)))).toBeUndefined();
    // a long value: its numbers' labels were looked for from every letter (12 s for 40 KB)
    expect(limitChange(change(`pool size ${'a'.repeat(200_000)} → 10`))).toBeUndefined();
    // a long run of capitals as the name: splitting its words backtracked (5 s for 80 KB)
    expect(limitChange(change(`${'A'.repeat(200_000)} 20 → 10`))).toBeUndefined();
    expect(tokens(`${'A'.repeat(200_000)}b`).size).toBe(1);
    // a long run of blanks after a name: two ways to split them at every length (7 s for 100 KB)
    expect(limitChange(change(`pool from${' '.repeat(200_000)}b`))).toBeUndefined();
    expect(limitChange(change(`pool size:${' '.repeat(100_000)}20 → 10`))).toMatchObject({ direction: 'lowered', param: 'size' });
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('still finds a move beside such a blob, and the name as the whole word before it', () => {
    expect([...tokens('HTTPServer maxDBConnections')]).toEqual(['server', 'max', 'connections']) // 'http' is a stop word, 'db' too short;
    const read = limitChange(change(`${'k'.repeat(100_000)} then _pool_size from 20 to 10; ${'x'.repeat(50_000)}`));
    expect(read).toMatchObject({ direction: 'lowered', param: 'pool_size', from: '20', to: '10' });
    expect(limitChange(change('', 'ReservedConcurrency 100 → 20'))).toMatchObject({ direction: 'lowered', param: 'ReservedConcurrency' });
    expect(limitChange({ ...change(''), configChange: { param: 'ProvisionedThroughput', old: 'RCU: 200, WCU = 100', new: 'RCU 200, wcu_-x 9, WCU = 50' } } as ChangeRequest)).toMatchObject({ direction: 'lowered', reason: expect.stringContaining('wcu 100 → 50') });
  });
});
