/**
 * Unit: the scoring behind bench/anomaly-benchmark.ts (NAB's sweeper re-implemented, window metrics, ROC-AUC) on
 * small hand-made cases, and the integrity of the NAB excerpts in bench/data/nab (every label edge is a row).
 * It measures nothing about the detector's quality: that is what the benchmark prints.
 */
import { describe, expect, it } from 'vitest';
import {
  labelWindows,
  loadLabels,
  NAB_PROFILES,
  nabNormalized,
  nabRawScore,
  nabSweep,
  nabTime,
  prf,
  probationaryLength,
  rocAuc,
  runSeries,
  shiftedBaseline,
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

  it('places the same alarms at random to get the chance level: one 1-row alarm over a 1-row label hits 1 time in n-1', () => {
    const rows = 11;
    const chance = shiftedBaseline([window(5, 5)], [{ startIndex: 0, endIndex: 0 }], rows);
    expect(chance.recall).toBeCloseTo(1 / (rows - 1), 12);
    expect(chance.precision).toBeCloseTo(1 / (rows - 1), 12);
  });
});

describe('unit: the NAB excerpts', () => {
  const windows = loadLabels('combined_windows.json') as Record<string, [string, string][]>;
  const anomalies = loadLabels('combined_labels.json') as Record<string, string[]>;

  it('holds at least 8 series, each with a labelled window whose edges are rows of the excerpt', () => {
    const files = Object.keys(windows);
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const file of files) {
      const result = runSeries(file, windows[file], anomalies[file] ?? []);
      expect(result.labels.length, file).toBeGreaterThan(0);
      expect(result.scores).toHaveLength(result.rows);
      for (const t of anomalies[file] ?? []) {
        const inside = result.labels.some((l) => nabTime(t) >= nabTime(l.start) && nabTime(t) <= nabTime(l.end));
        const outsideExcerpt = nabTime(t) < result.times[0] || nabTime(t) > result.times[result.times.length - 1];
        expect(inside || outsideExcerpt, `${file} anomaly ${t}`).toBe(true);
      }
    }
  });

  it('rejects a label window whose edge is not a row, rather than silently skipping it like NAB would', () => {
    const times = [nabTime('2015-01-01 00:00:00'), nabTime('2015-01-01 00:05:00'), nabTime('2015-01-01 00:10:00')];
    expect(() => labelWindows(times, [['2015-01-01 00:01:00.000000', '2015-01-01 00:10:00.000000']])).toThrow(RangeError);
    expect(labelWindows(times, [['2014-12-31 00:00:00.000000', '2015-01-01 00:05:00.000000']])).toEqual({ inside: [], outside: 1 });
  });
});
