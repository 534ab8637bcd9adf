import { describe, expect, it } from 'vitest';
import {
  analyseSeries,
  estimateOnset,
  hingeOnset,
  InvalidSeries,
  median,
  medianInPlace,
  mannKendallS,
  robustBaseline,
  scoreSeries,
  senSlope,
  trendTest,
  type SeriesPoint,
  zToScore,
} from '../../../functions/core/analysis/metrics.ts';
import { gaussian } from '../agents/fakes.ts';

const T0 = Date.parse('2026-03-14T11:00:00Z');
/** n points one minute apart: level(i) plus Gaussian noise of `sd`. */
const series = (n: number, level: (i: number) => number, sd: number, seed = 1): SeriesPoint[] => {
  const g = gaussian(seed);
  return Array.from({ length: n }, (_, i) => ({ t: new Date(T0 + i * 60_000).toISOString(), v: level(i) + sd * g() }));
};

describe('unit: median', () => {
  const bySorting = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? Number.NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  it('equals the median of the sorted values for odd and even sizes, duplicates, sorted and reversed input', () => {
    const g = gaussian(11);
    const cases: number[][] = [[], [3], [2, 1], [5, 5, 5, 5], [1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1], Array.from({ length: 40 }, (_, i) => i % 3)];
    for (let n = 1; n < 300; n += 7) cases.push(Array.from({ length: n }, () => Math.round(g() * 4)), Array.from({ length: n }, () => g() * 1e3));
    for (const xs of cases) {
      // (+ 0 folds -0 into 0: the order of equal zeros is not the point)
      expect(medianInPlace(Float64Array.from(xs)) + 0, JSON.stringify(xs.slice(0, 8))).toBe(bySorting(xs) + 0);
      expect(median(xs) + 0).toBe(bySorting(xs) + 0);
    }
  });

  it('ignores non-finite values', () => {
    expect(median([Number.NaN, 3, Infinity, 1, 2])).toBe(2);
    expect(median([Number.NaN])).toBeNaN();
  });
});

describe('unit: robustBaseline', () => {
  it('ignores a minority of huge outliers (median/MAD, not mean/stddev)', () => {
    // Prepare: 90 points around 100 (sd 5) and 10 spikes at 10 000.
    const values = [...series(90, () => 100, 5).map((p) => p.v), ...Array(10).fill(10_000)];

    // Act
    const b = robustBaseline(values);

    // Assess: the centre and spread stay those of the clean data.
    expect(b.median).toBeGreaterThan(95);
    expect(b.median).toBeLessThan(105);
    expect(b.scale).toBeGreaterThan(3);
    expect(b.scale).toBeLessThan(9);
    expect(b.n).toBe(100);
  });

  it('floors the scale of a flat series so a tiny wiggle is not an anomaly', () => {
    const b = robustBaseline(Array(30).fill(50));
    expect(b.mad).toBe(0);
    expect(b.scale).toBeCloseTo(2.5); // 5% of the level
    expect(Math.abs((51 - b.median) / b.scale)).toBeLessThan(1);
  });

  it('uses an absolute floor for a series that is flat at zero', () => {
    const b = robustBaseline([0, 0, 0, 0], { absoluteFloor: 0.5 });
    expect(b.scale).toBe(0.5);
  });

  it('falls back to the mean absolute deviation when most values are identical', () => {
    const b = robustBaseline([10, 10, 10, 10, 10, 10, 20, 0], { relativeFloor: 0 });
    expect(b.mad).toBe(0);
    expect(b.scale).toBeGreaterThan(2);
  });

  it('rejects a baseline without finite values, naming the problem', () => {
    expect(() => robustBaseline([Number.NaN])).toThrow(InvalidSeries);
    expect(() => robustBaseline([])).toThrow(/at least one finite value/);
  });

  it('computes the median of odd and even inputs', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('unit: scoreSeries', () => {
  it('maps |z| monotonically into [0, 1] with 0.5 at the threshold', () => {
    expect(zToScore(3.5)).toBeCloseTo(0.5);
    expect(zToScore(0)).toBeLessThan(0.01);
    expect(zToScore(10)).toBeGreaterThan(0.99);
    expect(zToScore(-6)).toBe(zToScore(6));
    expect(zToScore(5)).toBeGreaterThan(zToScore(4));
  });

  it('scores against a fixed baseline with direction', () => {
    const baseline = robustBaseline([100, 101, 99, 100, 102, 98]);
    const scored = scoreSeries([{ t: 1, v: 100 }, { t: 2, v: 200 }, { t: 3, v: 20 }], { baseline });
    expect(scored[0].score).toBeLessThan(0.05);
    expect(scored[1]).toMatchObject({ direction: 'up' });
    expect(scored[1].score).toBeGreaterThan(0.99);
    expect(scored[2]).toMatchObject({ direction: 'down' });
    expect(scored[2].z).toBeLessThan(-3.5);
  });

  it('with a trailing window, flags a spike without look-ahead and warms up at 0', () => {
    const points = series(60, (i) => (i === 45 ? 300 : 100), 3);
    const scored = scoreSeries(points, { window: 20 });
    expect(scored[0].z).toBe(0);
    expect(scored[45].score).toBeGreaterThan(0.99);
    expect(scored.filter((p) => p.score >= 0.5).map((p) => points.indexOf(points.find((x) => x.t === p.t)!))).toEqual([45]);
  });
});

describe('unit: estimateOnset', () => {
  it('dates a step change within 2 points', () => {
    for (const seed of [21, 22, 23]) {
      // Prepare: a level shift from 100 to 160 at index 70 of 100, noise sd 5.
      const points = series(100, (i) => (i >= 70 ? 160 : 100), 5, seed);
      const baseline = robustBaseline(points.slice(0, 50));

      // Act
      const onset = estimateOnset(scoreSeries(points, { baseline }));

      // Assess
      expect(onset).toBeDefined();
      expect(Math.abs(onset!.index - 70)).toBeLessThanOrEqual(2);
      expect(onset!.direction).toBe('up');
      expect(onset!.t).toBe(points[onset!.index].t);
    }
  });

  it('dates a ramp where it leaves the noise, not where it crosses the alarm line', () => {
    // A ramp from 100 at index 60 to 300 at index 90: |z| > 3.5 only from ~index 62–63 on.
    const points = series(100, (i) => (i < 60 ? 100 : 100 + Math.min(200, (i - 60) * (200 / 30))), 4, 31);
    const onset = estimateOnset(scoreSeries(points, { baseline: robustBaseline(points.slice(0, 50)) }));
    expect(onset!.index).toBeGreaterThanOrEqual(58);
    expect(onset!.index).toBeLessThanOrEqual(63);
  });

  it('dates a drop (down direction)', () => {
    const points = series(80, (i) => (i >= 60 ? 40 : 100), 3, 41);
    const onset = estimateOnset(scoreSeries(points, { baseline: robustBaseline(points.slice(0, 40)) }));
    expect(onset).toMatchObject({ direction: 'down' });
    expect(Math.abs(onset!.index - 60)).toBeLessThanOrEqual(2);
  });

  it('returns undefined when the end of the series is normal (an earlier burst is over)', () => {
    const points = series(100, (i) => (i >= 40 && i < 60 ? 200 : 100), 4, 51);
    expect(estimateOnset(scoreSeries(points, { baseline: robustBaseline(points.slice(0, 30)) }))).toBeUndefined();
  });

  it('returns undefined on pure noise', () => {
    for (const seed of [61, 62, 63, 64]) {
      const points = series(120, () => 100, 5, seed);
      expect(estimateOnset(scoreSeries(points, { baseline: robustBaseline(points.slice(0, 60)) }))).toBeUndefined();
    }
  });
});

describe('unit: analyseSeries', () => {
  it('splits at baselineEnd, reports current level, direction and onset for a sustained step', () => {
    const points = series(90, (i) => (i >= 70 ? 2000 : 200), 10, 71);
    const a = analyseSeries(points, { baselineEnd: points[60].t });
    expect(a.anomalous).toBe(true);
    expect(a.direction).toBe('up');
    expect(a.baseline.median).toBeGreaterThan(190);
    expect(a.baseline.median).toBeLessThan(210);
    expect(a.current).toBeGreaterThan(1900);
    expect(Math.abs(Date.parse(String(a.onset!.t)) - Date.parse(String(points[70].t)))).toBeLessThanOrEqual(2 * 60_000);
  });

  it('is not anomalous on pure noise', () => {
    for (const seed of [81, 82, 83]) {
      const points = series(90, () => 50, 2, seed);
      expect(analyseSeries(points, { baselineEnd: points[60].t }).anomalous).toBe(false);
    }
  });

  it('falls back to the first half when baselineEnd leaves too few baseline points', () => {
    const points = series(20, (i) => (i >= 15 ? 500 : 100), 2, 91);
    const a = analyseSeries(points, { baselineEnd: points[1].t });
    expect(a.baseline.n).toBe(10);
    expect(a.anomalous).toBe(true);
  });

  it('rejects a series with fewer than 4 finite points and bad timestamps', () => {
    expect(() => analyseSeries([{ t: 1, v: 1 }, { t: 2, v: Number.NaN }])).toThrow(/at least 4 finite points/);
    expect(() => analyseSeries(series(10, () => 1, 0), { baselineEnd: 'yesterday' })).toThrow(InvalidSeries);
  });
});

describe('unit: trendTest and hingeOnset', () => {
  it('detects a steady climb that started before the window, with Sen slope per minute', () => {
    // Prepare: +5 units/min from 1000, noise sd 20, 90 points.
    const points = series(90, (i) => 1000 + 5 * i, 20, 101);

    // Act
    const trend = trendTest(points);

    // Assess
    expect(trend.direction).toBe('up');
    expect(trend.z).toBeGreaterThan(8);
    expect(trend.slopePerMinute).toBeGreaterThan(4.5);
    expect(trend.slopePerMinute).toBeLessThan(5.5);
    expect(trend.relativeChange).toBeGreaterThan(0.3);
  });

  it('finds no trend in pure noise', () => {
    for (const seed of [111, 112, 113]) expect(Math.abs(trendTest(series(90, () => 500, 20, seed)).z)).toBeLessThan(3);
  });

  it('dates the start of a climb with a hinge fit', () => {
    const points = series(90, (i) => (i < 40 ? 800 : 800 + 8 * (i - 40)), 10, 121);
    const onset = hingeOnset(points);
    expect(Math.abs(onset.index - 40)).toBeLessThanOrEqual(3);
    expect(onset.t).toBe(points[onset.index].t);
  });

  it('rejects series too short to test', () => {
    expect(() => trendTest(series(5, () => 1, 0))).toThrow(/at least 8 finite points/);
    expect(() => hingeOnset(series(3, () => 1, 0))).toThrow(InvalidSeries);
  });
});

describe('unit: senSlope and mannKendallS', () => {
  const at = (minute: number) => new Date(Date.UTC(2026, 2, 14, 12, minute)).toISOString();

  it('is the median pairwise slope per minute, unmoved by one outlier, skipping pairs at the same time', () => {
    const line = [0, 1, 2, 3, 4, 5].map((m) => ({ t: at(m), v: 10 + 2 * m }));
    expect(senSlope(line)).toBe(2);
    expect(senSlope([...line.slice(0, 3), { t: at(3), v: 500 }, ...line.slice(4)])).toBe(2);
    // the pair at the same minute has no slope (0/0): only the two 2/min pairs count
    expect(senSlope([{ t: at(0), v: 1 }, { t: at(0), v: 1 }, { t: at(2), v: 5 }])).toBe(2);
    expect(senSlope([{ t: at(0), v: 1 }])).toBeNaN();
  });

  it('counts rising minus falling pairs', () => {
    expect(mannKendallS([1, 2, 3])).toBe(3);
    expect(mannKendallS([3, 2, 1])).toBe(-3);
    expect(mannKendallS([1, 1, 1])).toBe(0);
  });
});
