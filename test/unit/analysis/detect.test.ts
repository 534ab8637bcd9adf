/** Unit: reading a `timestamp,value` series (what `autopilot metrics anomalies` reads) and dating an onset against noise. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidCsv, parseSeriesCsv, splitCsvLine } from '../../../functions/core/analysis/csv.ts';
import { estimateOnset, robustBaseline, scoreSeries } from '../../../functions/core/analysis/metrics.ts';

const fixture = readFileSync(new URL('./fixtures/series.csv', import.meta.url), 'utf8');

describe('unit: parseSeriesCsv', () => {
  it('reads a header and keeps the timestamps exactly as written', () => {
    const points = parseSeriesCsv(fixture, 'series.csv');
    expect(points).toHaveLength(240);
    expect(points[0].t).toBe('2024-05-01 10:00:00');
    expect(typeof points[0].v).toBe('number');
  });

  it('picks the columns by name and accepts a file without a header', () => {
    expect(parseSeriesCsv('value,timestamp\n3,t1\n4,t2')).toEqual([{ t: 't1', v: 3 }, { t: 't2', v: 4 }]);
    expect(parseSeriesCsv('t1,3\nt2,4\n')).toEqual([{ t: 't1', v: 3 }, { t: 't2', v: 4 }]);
    expect(splitCsvLine('"2024-01-01, 10:00",5')).toEqual(['2024-01-01, 10:00', '5']);
  });

  it('names the file and row of a value that is not a number', () => {
    expect(() => parseSeriesCsv('timestamp,value\nt1,3\nt2,oops', 'x.csv')).toThrow(new InvalidCsv('x.csv row 3: value "oops" is not a number'));
  });

  it('refuses a header with no rows, and a value so large its differences overflow (a NaN score otherwise)', () => {
    expect(() => parseSeriesCsv('timestamp,value\n', 'h.csv')).toThrow(new InvalidCsv('h.csv: a header and no rows'));
    expect(() => parseSeriesCsv('t1,3\nt2,1.7e308', 'b.csv')).toThrow(/b\.csv row 2: value "1\.7e308" is beyond/);
    expect(parseSeriesCsv('t1,-1e150', 'ok.csv')).toEqual([{ t: 't1', v: -1e150 }]);
  });
});

describe('unit: estimateOnset against noise before a step', () => {
  it('is not pulled back by a p99 spike a few minutes before the step', () => {
    // Prepare: z ≈ 0 noise, a lone spike (z 8) at 45, then the fault from 50 on (z ≈ 60)
    const z = Array.from({ length: 70 }, (_, i) => (i === 45 ? 8 : i === 46 ? 2.5 : i >= 50 ? 60 + (i % 3) : 0.3));
    const scored = z.map((v, i) => ({ t: i, v, z: v, score: 0, direction: 'up' as const }));
    // Act
    const onset = estimateOnset(scored);
    // Assess
    expect(onset?.index).toBe(50);
  });

  it('still dates a ramp where it left the noise', () => {
    const values = Array.from({ length: 120 }, (_, i) => 100 + (i >= 60 ? (i - 60) * 3 : 0) + ((i * 7) % 5) - 2);
    const points = values.map((v, i) => ({ t: i, v }));
    const onset = estimateOnset(scoreSeries(points, { baseline: robustBaseline(points.slice(0, 50)) }));
    expect(onset!.index).toBeGreaterThanOrEqual(60);
    expect(onset!.index).toBeLessThanOrEqual(64);
  });
});
