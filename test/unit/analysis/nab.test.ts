/**
 * Unit: the scoring behind bench/anomaly-benchmark.ts (NAB's sweeper re-implemented, window metrics, ROC-AUC) on
 * small hand-made cases, and the integrity of the NAB series in ../shared/data/nab (every label edge is a row;
 * skipped when that folder is absent).
 * It measures nothing about the detector's quality: that is what the benchmark prints.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  corpusFiles,
  DEFAULT_DATA_DIR,
  labelWindows,
  nabOptimise,
  NAB_PROFILES,
  nabNormalized,
  nabRawScore,
  nabSweep,
  nabTime,
  prf,
  probationaryLength,
  rocAuc,
  runSeries,
  windowCounts,
} from '../../../bench/anomaly-benchmark.ts';

const standard = NAB_PROFILES.standard;
const window = (startIndex: number, endIndex: number) => ({ start: `s${startIndex}`, end: `e${endIndex}`, startIndex, endIndex });
const nullScore = (rows: number, labels: ReturnType<typeof window>[]) => nabRawScore(new Array(rows).fill(0), nabSweep(rows, labels, standard), 1, standard);

describe('unit: NAB scoring (nab/sweeper.py semantics)', () => {
  const rows = 200; // probation = 30 rows
  const labels = [window(100, 119)];

  it('scores a detection on the first row of each window as perfect (100) and no detection as the null baseline (0)', () => {
    // Prepare
    const sweep = nabSweep(rows, labels, standard);
    const perfect = new Array(rows).fill(0);
    perfect[100] = 1;
    // Act
    const best = nabNormalized(nabRawScore(perfect, sweep, 0.5, standard), nullScore(rows, labels), labels.length, standard);
    const none = nabNormalized(nabRawScore(new Array(rows).fill(0), sweep, 0.5, standard), nullScore(rows, labels), labels.length, standard);
    // Assess
    expect(best).toBeCloseTo(100, 6);
    expect(none).toBe(0);
  });

  it('rewards an early detection more than a late one inside the same window', () => {
    const sweep = nabSweep(rows, labels, standard);
    const at = (i: number) => nabRawScore(Array.from({ length: rows }, (_, k) => (k === i ? 1 : 0)), sweep, 0.5, standard);
    expect(at(101)).toBeGreaterThan(at(110));
    expect(at(110)).toBeGreaterThan(at(119));
    expect(at(119)).toBeGreaterThan(-standard.fnWeight);
  });

  it('charges fpWeight for a detection before the first window and ignores the probationary period', () => {
    expect(probationaryLength(rows)).toBe(30);
    const sweep = nabSweep(rows, labels, standard);
    const inProbation = Array.from({ length: rows }, (_, k) => (k === 10 ? 1 : 0));
    const beforeWindow = Array.from({ length: rows }, (_, k) => (k === 50 ? 1 : 0));
    expect(nabRawScore(inProbation, sweep, 0.5, standard)).toBe(-1);
    expect(nabRawScore(beforeWindow, sweep, 0.5, standard)).toBeCloseTo(-1 - standard.fpWeight, 12);
  });

  it('charges a detection just after a window less than one far after it', () => {
    const sweep = nabSweep(rows, labels, standard);
    const at = (i: number) => nabRawScore(Array.from({ length: rows }, (_, k) => (k === i ? 1 : 0)), sweep, 0.5, standard);
    expect(at(121)).toBeGreaterThan(at(190));
    expect(at(190)).toBeLessThan(-1);
  });
});

describe('unit: window metrics and ROC-AUC', () => {
  it('counts a label found when any alarm overlaps it and an alarm right when it overlaps any label', () => {
    const c = windowCounts([window(10, 20), window(50, 60)], [{ startIndex: 18, endIndex: 25 }, { startIndex: 30, endIndex: 30 }]);
    expect(c).toEqual({ labels: 2, labelsHit: 1, detected: 2, detectedHit: 1 });
    expect(prf(c)).toEqual({ precision: 0.5, recall: 0.5, f1: 0.5 });
  });

  it('gives AUC 1 for a perfect ranking, 0.5 for constant scores and averages tied ranks', () => {
    expect(rocAuc([0.1, 0.2, 0.9, 0.8], [false, false, true, true])).toBe(1);
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [false, true, false, true])).toBe(0.5);
    expect(rocAuc([0.1, 0.5, 0.5, 0.9], [false, false, true, true])).toBe(0.875);
    expect(rocAuc([0.1, 0.2], [false, false])).toBeNaN();
  });
});

describe('unit: NAB label windows and the corpus optimiser', () => {
  it('rejects a label window whose edge is not a row, rather than silently skipping it like NAB would', () => {
    const times = [nabTime('2015-01-01 00:00:00'), nabTime('2015-01-01 00:05:00'), nabTime('2015-01-01 00:10:00')];
    expect(() => labelWindows(times, [['2015-01-01 00:01:00.000000', '2015-01-01 00:10:00.000000']])).toThrow(RangeError);
    expect(labelWindows(times, [['2014-12-31 00:00:00.000000', '2015-01-01 00:05:00.000000']])).toEqual({ inside: [], outside: 1 });
  });

  it("finds the same best threshold and raw score as trying every distinct score (NAB's optimiser)", () => {
    // Prepare: two series, pseudo-random scores, windows in each
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const series = [
      { rows: 300, labels: [window(120, 139), window(250, 269)] },
      { rows: 200, labels: [window(60, 79)] },
    ].map(({ rows, labels }) => ({ scores: Array.from({ length: rows }, () => Math.round(rnd() * 50) / 50), sweep: nabSweep(rows, labels, standard) }));
    // Act
    const fast = nabOptimise(series, standard);
    // Assess
    const thresholds = [...new Set(series.flatMap((x) => x.scores))];
    const brute = Math.max(...thresholds.map((t) => series.reduce((a, x) => a + nabRawScore(x.scores, x.sweep, t, standard), 0)));
    expect(fast.raw).toBeCloseTo(brute, 10);
    expect(series.reduce((a, x) => a + nabRawScore(x.scores, x.sweep, fast.threshold, standard), 0)).toBeCloseTo(brute, 10);
  });
});

describe.skipIf(!existsSync(DEFAULT_DATA_DIR))('unit: the NAB series in ../shared/data/nab', () => {
  it('holds series whose labelled windows all have edges that are rows of the series', () => {
    const files = corpusFiles(DEFAULT_DATA_DIR);
    expect(files.length).toBeGreaterThanOrEqual(8);
    const withWindows = files.filter((f) => f.windows.length > 0).slice(0, 4);
    for (const { file, windows } of withWindows) {
      const result = runSeries(DEFAULT_DATA_DIR, file, windows);
      expect(result.labels.length, file).toBe(windows.length);
      expect(result.scores).toHaveLength(result.rows);
    }
  });

});
