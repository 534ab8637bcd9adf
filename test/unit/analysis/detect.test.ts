/** Unit: stand-alone anomaly scoring of a `timestamp,value` series (what `autopilot metrics anomalies` prints). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidCsv, parseSeriesCsv, splitCsvLine } from '../../../functions/core/analysis/csv.ts';
import { detectAnomalies, estimateOnset, robustBaseline, scoreSeries } from '../../../functions/core/analysis/metrics.ts';

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
});

describe('unit: detectAnomalies', () => {
  it('scores every row in [0, 1] and finds the spike and the start of the level shift, not the daily swing', () => {
    // Prepare: a sine (the "daily" shape) with noise, a spike at row 120 and a +25 shift over rows 180–199
    const points = parseSeriesCsv(fixture);
    // Act
    const { scores, windows } = detectAnomalies(points);
    // Assess
    expect(scores).toHaveLength(points.length);
    expect(scores.every((s) => s >= 0 && s <= 1)).toBe(true);
    expect(scores[120]).toBeGreaterThan(0.9);
    expect(scores[180]).toBeGreaterThan(0.9);
    const flagged = scores.map((s, i) => (s >= 0.5 ? i : -1)).filter((i) => i >= 0);
    const expected = (i: number) => i === 120 || (i >= 180 && i <= 201);
    expect(flagged.filter((i) => !expected(i)).length).toBeLessThanOrEqual(2); // the swing of the sine is not flagged
    expect(windows.some((w) => w.startIndex <= 120 && w.endIndex >= 120)).toBe(true);
    expect(windows.some((w) => w.startIndex === 180)).toBe(true);
    expect(windows.find((w) => w.startIndex === 180)!.start).toBe('2024-05-01 13:00:00');
  });

  it('scores a flat series 0 and a non-finite value 0', () => {
    const points = Array.from({ length: 50 }, (_, i) => ({ t: i, v: i === 30 ? Number.NaN : 10 }));
    const { scores, windows } = detectAnomalies(points);
    expect(scores.every((s) => s < 0.5)).toBe(true);
    expect(scores[30]).toBe(0);
    expect(windows).toEqual([]);
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
