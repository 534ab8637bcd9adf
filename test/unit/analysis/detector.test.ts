/**
 * Unit: the causal streaming detector (functions/core/analysis/detector.ts). Causality on random prefixes,
 * calibration and non-saturation on long normal noise, one page per step change, the tail model, bad input.
 * Its quality on real series is what `npm run bench:anomalies` measures (NAB), not this file.
 */
import { describe, expect, it } from 'vitest';
import {
  anomalousStretches,
  DEFAULT_ALERT_THRESHOLD,
  detectorConfig,
  detectSeries,
  InvalidDetectorInput,
  parseTimes,
  SlidingOrder,
  StreamingDetector,
  tailProbability,
} from '../../../functions/core/analysis/detector.ts';

/** Seeded uniform and Gaussian draws, so every run sees the same series. */
const rng = (seed: number) => {
  let s = seed;
  const uniform = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const gauss = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, gauss };
};

/** A 5-minute series with a daily cycle, noise, a spike, a level shift and a flat stretch. */
const eventful = (n: number) => {
  const { gauss } = rng(11);
  const t0 = Date.UTC(2024, 0, 1);
  const times = Array.from({ length: n }, (_, i) => t0 + i * 300_000);
  const values = times.map((_, i) => 50 + 10 * Math.sin((2 * Math.PI * i) / 288) + gauss() + (i === 1500 ? 25 : 0) + (i >= 2200 && i < 2400 ? 12 : 0));
  for (let i = 2800; i < Math.min(2900, n); i += 1) values[i] = 50;
  return { values, times };
};

describe('unit: detectSeries is causal', () => {
  it('gives a prefix exactly the scores and pages that the whole series gives its first points, for random prefixes', () => {
    // Prepare
    const { values, times } = eventful(3200);
    const whole = detectSeries(values, {}, times);
    const { uniform } = rng(5);
    const cuts = [...Array.from({ length: 6 }, () => 1 + Math.floor(uniform() * (values.length - 1))), 1501, 2201];
    for (const cut of cuts) {
      // Act
      const prefix = detectSeries(values.slice(0, cut), {}, times.slice(0, cut));
      // Assess
      expect(prefix.scores, `prefix ${cut}`).toEqual(whole.scores.slice(0, cut));
      expect(prefix.alerts, `prefix ${cut}`).toEqual(whole.alerts.filter((i) => i < cut));
    }
  });

  it('scores point by point in the streaming class exactly as over the whole array', () => {
    const { values, times } = eventful(1200);
    const detector = new StreamingDetector();
    const streamed = values.map((v, i) => detector.push(v, times[i]).score);
    expect(streamed).toEqual(detectSeries(values, {}, times).scores);
  });
});

describe('unit: calibrated, non-saturating scores', () => {
  const { gauss } = rng(42);
  const noise = Array.from({ length: 20_000 }, () => 100 + 5 * gauss());
  const { scores, p, alerts } = detectSeries(noise);

  it('never reaches 1.0 on 20,000 points of normal noise, and its tail probabilities are not smaller than they say', () => {
    expect(Math.max(...scores)).toBeLessThan(1);
    const scored = p.slice(100);
    for (const level of [0.1, 0.05, 0.01, 0.002]) {
      const share = scored.filter((x) => x <= level).length / scored.length;
      // calibrated (Bonferroni over the statistics makes it conservative), not the thousands of 1.0 a clamp gives
      expect(share, `P(p ≤ ${level})`).toBeLessThanOrEqual(level * 1.1);
      expect(share, `P(p ≤ ${level})`).toBeGreaterThan(level / 5);
    }
  });

  it('pages on pure noise no more often than its threshold says (20,000 × 10⁻⁴ = 2 at most; none here)', () => {
    expect(alerts.length).toBeLessThanOrEqual(noise.length * (1 - DEFAULT_ALERT_THRESHOLD));
  });

  it('keeps the probability above 0 past the largest value seen (a fitted tail, not a clamp) and decreasing', () => {
    const past = new SlidingOrder(1000);
    const { gauss: g } = rng(3);
    for (let i = 0; i < 1000; i += 1) past.push(Math.abs(g()));
    const top = past.largest(1);
    const far = [top + 1, top + 3, top + 10].map((s) => tailProbability(past, s, 0.1));
    expect(far[0]).toBeLessThan(1 / 1000);
    expect(far[0]).toBeGreaterThan(far[1]);
    expect(far[1]).toBeGreaterThan(far[2]);
    expect(far[2]).toBeGreaterThan(0);
    expect(tailProbability(past, 0, 0.1)).toBe(1);
  });
});

describe('unit: a tail without jumps', () => {
  it('moves the tail probability of a recurring value smoothly as ordinary values accumulate (no switch to the steepest tail when the mean excess dips under the floor)', () => {
    // Prepare: a statistic that is 0 except for 14 recurring values of 1.349 (a square wave's daily jumps);
    // as zeros accumulate, the mean excess over the tail's threshold falls through 0.05 scales
    const ps: number[] = [];
    for (let zeros = 3700; zeros <= 3840; zeros += 10) {
      const past = new SlidingOrder(5000);
      for (let i = 0; i < 14; i += 1) past.push(1.349);
      for (let i = 0; i < zeros; i += 1) past.push(0);
      // Act
      ps.push(tailProbability(past, 1.349, 0.1));
    }
    // Assess: ten more ordinary values change p by a few per cent, never by orders of magnitude
    for (let i = 1; i < ps.length; i += 1) expect(ps[i - 1] / ps[i], `step ${i}`).toBeLessThan(1.2);
    expect(Math.min(...ps)).toBeGreaterThan(1e-5);
  });
});

describe('unit: one incident pages once', () => {
  it('pages once at a sustained step change, on the step, and not again while the new level lasts', () => {
    // Prepare: noise, then +10 sigma from row 3000 to the end
    const { gauss } = rng(7);
    const values = Array.from({ length: 6000 }, (_, i) => 100 + 5 * gauss() + (i >= 3000 ? 50 : 0));
    // Act
    const { alerts, incidents } = detectSeries(values);
    // Assess
    const onStep = alerts.filter((i) => i >= 3000);
    expect(onStep[0]).toBeGreaterThanOrEqual(3000);
    expect(onStep[0]).toBeLessThanOrEqual(3002);
    expect(alerts.filter((i) => i >= 3000 && i < 5000)).toHaveLength(1);
    const incident = incidents.find((x) => x.startIndex === onStep[0]);
    expect(incident?.direction).toBe('up');
  });

  it('pages on a spike and on a level shift of a daily cycle, and scores a flat line where it always moved as unusual', () => {
    const { values, times } = eventful(3200);
    const { alerts, scores } = detectSeries(values, {}, times);
    expect(alerts).toContain(1500);
    expect(alerts).toContain(2200);
    expect(Math.max(...scores.slice(2800, 2900))).toBeGreaterThanOrEqual(0.99);
  });

  it('keeps a lesser unusual thing from paging for a day of the series\' clock after a worse one, whatever the sampling interval', () => {
    // Prepare: noise with a spike of 16 sigma at row 600 and a distinct, lesser one of 8 sigma 100 rows later
    const { gauss } = rng(19);
    const values = Array.from({ length: 1000 }, (_, i) => 100 + 5 * gauss() + (i === 600 ? 80 : 0) + (i === 700 ? 40 : 0));
    const t0 = Date.UTC(2024, 0, 1);
    const every = (ms: number) => values.map((_, i) => t0 + i * ms);
    // Act
    const hourly = detectSeries(values, {}, every(3_600_000));
    const fiveMinute = detectSeries(values, {}, every(300_000));
    const hourlyByPoints = detectSeries(values, { recordHours: 0 }, every(3_600_000));
    // Assess: 100 hours later is a new incident and pages; 100 five-minute points later (8 h) it is within the
    // day after the worse spike and does not; counted in points (the old rule), 100 hourly rows were within 300
    expect(hourly.alerts).toEqual(expect.arrayContaining([600, 700]));
    expect(fiveMinute.alerts).toContain(600);
    expect(fiveMinute.alerts).not.toContain(700);
    expect(hourlyByPoints.alerts).toContain(600);
    expect(hourlyByPoints.alerts).not.toContain(700);
    expect(hourly.scores[700]).toBeGreaterThanOrEqual(DEFAULT_ALERT_THRESHOLD);
    expect(fiveMinute.scores[700]).toBeGreaterThanOrEqual(DEFAULT_ALERT_THRESHOLD);
  });

  it('groups anomalous points into stretches, bridging a one-point dip', () => {
    expect(anomalousStretches([0, 1, 1, 0, 1, 0, 0, 1], 0.9)).toEqual([
      { startIndex: 1, endIndex: 4, peakScore: 1 },
      { startIndex: 7, endIndex: 7, peakScore: 1 },
    ]);
  });
});

describe('unit: bad input', () => {
  it('names the bad value, option or length', () => {
    expect(() => detectSeries('1,2,3' as unknown as number[])).toThrow(new InvalidDetectorInput('values must be an array of numbers'));
    expect(() => detectSeries([1, 2, '3' as unknown as number])).toThrow(new InvalidDetectorInput('values[2] must be a number, got string'));
    expect(() => detectSeries([1, 2, 3], {}, [1, 2])).toThrow(/times has 2 entries for 3 values/);
    expect(() => detectorConfig({ window: 4 })).toThrow(/window must be an integer ≥ 8, got 4/);
    expect(() => detectorConfig({ threshold: 1 })).toThrow(/threshold must be a number in \(0, 1\), got 1/);
    expect(() => detectorConfig({ threshold: 0.9, rearmBelow: 0.95 })).toThrow(/rearmBelow/);
    expect(() => detectorConfig({ windw: 10 } as never)).toThrow(/unknown detector option: windw/);
    expect(() => detectorConfig({ recordHours: -1 })).toThrow(/recordHours must be a finite number ≥ 0, got -1/);
  });

  it('refuses a value beyond ±1e150 from code too, naming its row (its differences overflowed into NaN scores)', () => {
    const { values } = eventful(300);
    const huge = values.map((v, i) => (i > 200 ? v * 1e160 : v));
    expect(() => detectSeries(huge)).toThrow(new InvalidDetectorInput(`values[201] = ${huge[201]} is beyond ±1e+150 (its differences overflow, so it cannot be scored)`));
    expect(() => new StreamingDetector().push(-1e151)).toThrow(InvalidDetectorInput);
    expect(detectSeries(values.map((v, i) => (i === 250 ? 1e150 : v))).scores.every(Number.isFinite)).toBe(true);
  });

  it('scores a non-finite value 0 and skips it: the points after it score as if it were absent', () => {
    const { values } = eventful(600);
    const holed = [...values.slice(0, 400), Number.NaN, ...values.slice(400)];
    const a = detectSeries(holed).scores;
    expect(a[400]).toBe(0);
    expect([...a.slice(0, 400), ...a.slice(401)]).toEqual(detectSeries(values).scores);
  });

  it('reads naive NAB timestamps as UTC and gives up on the time of day when one does not parse', () => {
    expect(parseTimes(['2015-09-11 15:34:00', '2015-09-11T15:39:00Z'])).toEqual([Date.UTC(2015, 8, 11, 15, 34), Date.UTC(2015, 8, 11, 15, 39)]);
    expect(parseTimes(['2015-09-11 15:34:00', 'yesterday'])).toBeUndefined();
  });
});
