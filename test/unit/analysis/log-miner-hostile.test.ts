/**
 * Unit: the template miner on hostile lines (functions/core/analysis/logs.ts). A long run of colon-separated hex bytes
 * that does not end as a MAC-style variable (`aa:aa:…:aa:`) was tested once per byte, each test scanning the rest of
 * the run: quadratic, 3.5 minutes for one 900 KB line and ~15 ms per 8 KB line (a logs agent reading 10,000 such lines
 * would outlive its Lambda); finding the header of a long line of unclosed brackets was quadratic too (`logs templates`).
 * Both must stay linear, and group as before.
 */
import { describe, expect, it } from 'vitest';
import { mineTemplates } from '../../../functions/core/analysis/logs.ts';

describe('template miner on hostile lines', () => {
  it('mines a 300 KB run of hex bytes that ends in a colon in seconds (the quadratic scan took over two minutes on these two lines)', () => {
    const line = 'aa:'.repeat(100_000);
    const started = performance.now();
    const mined = mineTemplates([line, `${line}x`]);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(mined.templates.length).toBeGreaterThan(0);
  });

  it('mines a 180 KB line of unclosed brackets in seconds (finding where its header ends took 44 s a line)', () => {
    const line = '[a '.repeat(60_000);
    const started = performance.now();
    const mined = mineTemplates([line, `${line}z`]);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(mined.lines).toHaveLength(2);
  });

  it('still reads a MAC address as one variable, and a run that ends wrong as words', () => {
    const mined = mineTemplates(['link up on 00:0d:aa:e9:1d:dc now', 'link up on 00:0d:bb:e9:1d:dd now']);
    expect(mined.templates).toHaveLength(1);
    expect(mined.templates[0]!.template).toBe('link up on <*> now');
    const words = mineTemplates(['key aa:bb:cc:dd:ee:ff: end']);
    expect(words.templates[0]!.template).not.toContain('<*>');
  });
});
