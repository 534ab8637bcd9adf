/** The same window a day earlier as the baseline of last resort (analysis/day-over-day.ts). */
import { describe, expect, it } from 'vitest';
import { dayBefore, dayOverDay } from '../../../functions/core/analysis/day-over-day.ts';
import { metricTrait } from '../../../functions/core/agents/impact.ts';
import type { MetricSeries } from '../../../functions/core/tools/ports.ts';

const series = (metric: string, f: (i: number) => number, n = 60): MetricSeries => ({
  service: 'ledger',
  metric,
  unit: '',
  points: Array.from({ length: n }, (_, i) => ({ t: new Date(Date.UTC(2026, 2, 14, 11, i)).toISOString(), v: f(i) })),
});
const wobble = (i: number) => Math.sin(i * 1.7);

describe('dayOverDay', () => {
  it('flags a level well above the same minutes yesterday, the worse way for its metric', () => {
    const found = dayOverDay(series('memory_mb', (i) => 1500 + 5 * wobble(i)), series('memory_mb', (i) => 900 + 5 * wobble(i)), metricTrait);
    expect(found).toMatchObject({ service: 'ledger', metric: 'memory_mb', direction: 'up', yesterday: expect.closeTo(900, 0) });
    expect(found!.relative).toBeCloseTo(0.667, 2);
    // Lower memory than yesterday is no degradation.
    expect(dayOverDay(series('memory_mb', () => 600), series('memory_mb', (i) => 900 + 5 * wobble(i)), metricTrait)).toBeUndefined();
  });

  it('ignores a change within the noise or below 30 %, throughput whatever it does, and errors that moved less than a point', () => {
    expect(dayOverDay(series('latency_p99_ms', (i) => 230 + 20 * wobble(i)), series('latency_p99_ms', (i) => 200 + 20 * wobble(i)), metricTrait)).toBeUndefined();
    expect(dayOverDay(series('throughput_rps', () => 100), series('throughput_rps', (i) => 300 + wobble(i)), metricTrait)).toBeUndefined();
    expect(dayOverDay(series('error_rate_pct', () => 0.5), series('error_rate_pct', (i) => 0.1 + 0.001 * wobble(i)), metricTrait)).toBeUndefined();
    expect(dayOverDay(series('error_rate_pct', () => 4), series('error_rate_pct', (i) => 0.1 + 0.01 * wobble(i)), metricTrait)).toMatchObject({ direction: 'up' });
  });

  it('needs enough of both days', () => {
    expect(dayOverDay(series('memory_mb', () => 1500, 2), series('memory_mb', () => 900), metricTrait)).toBeUndefined();
    expect(dayOverDay(series('memory_mb', () => 1500), series('memory_mb', () => 900, 5), metricTrait)).toBeUndefined();
  });

  it('asks for the same minutes a day earlier', () => {
    expect(dayBefore('2026-03-14T10:55:00.000Z', '2026-03-14T12:10:00.000Z')).toEqual({ from: '2026-03-13T10:55:00.000Z', to: '2026-03-13T12:10:00.000Z' });
  });
});
