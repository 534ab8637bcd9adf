/**
 * The readers the no-change families share: where a climb began (so a change that started it can be named, and one
 * that did not is not blamed), and the shape of a rise.
 */
import { describe, expect, it } from 'vitest';
import { riseStart, shapeOfRise } from '../../../../functions/core/analysis/hypotheses/resource-evidence.ts';
import type { MetricSeries } from '../../../../functions/core/tools/ports.ts';

const MINUTE = 60_000;
const T0 = Date.parse('2026-05-20T05:00:00.000Z');
/** `n` minute points from 05:00. */
const minutes = (n: number, f: (i: number) => number): MetricSeries => ({
  service: 's',
  metric: 'disk_used_pct',
  unit: 'percent',
  points: Array.from({ length: n }, (_, i) => ({ t: new Date(T0 + i * MINUTE).toISOString(), v: f(i) })),
});

describe('riseStart', () => {
  it('finds the knee of a slow fill, not the last low point a quarter of an hour after it', () => {
    // Flat at 70 % until minute 60, then +28 points over five hours (0.093 a minute), with a small wobble.
    const slow = minutes(361, (i) => (i < 60 ? 70 : 70 + (28 * (i - 60)) / 300) + 0.05 * Math.sin(i));
    const start = riseStart(slow, T0 + 360 * MINUTE);
    expect(typeof start).toBe('number');
    expect(Math.abs((start as number) - (T0 + 60 * MINUTE)) / MINUTE).toBeLessThan(5);
  });

  it('says the climb began before the series when it climbs from the first point', () => {
    expect(riseStart(minutes(120, (i) => 50 + i / 4), T0 + 119 * MINUTE)).toBe('before-series');
  });

  it('says nothing rose for a level that fell or only wobbled', () => {
    expect(riseStart(minutes(120, (i) => (i < 100 ? 2000 : 1024)), T0 + 119 * MINUTE)).toBeUndefined();
    expect(riseStart(minutes(120, (i) => 45 + 0.3 * Math.sin(i)), T0 + 119 * MINUTE)).toBeUndefined();
  });
});

describe('shapeOfRise', () => {
  it('tells a steady climb from a step and from a flat line', () => {
    expect(shapeOfRise(Array.from({ length: 30 }, (_, i) => 60 + i)).shape).toBe('steady');
    expect(shapeOfRise(Array.from({ length: 30 }, (_, i) => (i < 20 ? 60 : 98))).shape).toBe('step');
    expect(shapeOfRise(Array.from({ length: 30 }, () => 60)).shape).toBe('flat');
  });
});
