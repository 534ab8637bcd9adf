import { describe, expect, it } from 'vitest';
import { baselineCoverage, historyRequest, MAX_HISTORY_DAYS, seriesResolutionMs, sustainedRule, withHistory } from '../../../functions/core/analysis/history.ts';
import type { MetricSeries } from '../../../functions/core/tools/ports.ts';

const series = (stepMs: number, from: string, to: string, gapsEvery = 0): MetricSeries => {
  const points: { t: string; v: number }[] = [];
  let i = 0;
  for (let t = Date.parse(from); t <= Date.parse(to); t += stepMs, i += 1) if (!gapsEvery || i % gapsEvery !== 0) points.push({ t: new Date(t).toISOString(), v: i });
  return { service: 'svc', metric: 'latency_avg_ms', unit: 'ms', points };
};
const WINDOW = { from: '2026-03-14T10:55:00.000Z', baselineEnd: '2026-03-14T11:55:00.000Z' };

describe('unit: how much history a diagnosis needs', () => {
  it('asks for nothing more at one-minute points with an hour of baseline', () => {
    const s = [series(60_000, WINDOW.from, '2026-03-14T12:30:00Z')];

    expect(seriesResolutionMs(s)).toBe(60_000);
    expect(baselineCoverage(s, WINDOW.baselineEnd)).toBe(60);
    expect(historyRequest(s, WINDOW, 1)).toBeUndefined();
  });

  it('asks for a day of five-minute points before the window, at five minutes, when the points are coarse', () => {
    const s = [series(300_000, WINDOW.from, '2026-03-14T12:30:00Z', 6)];

    expect(seriesResolutionMs(s)).toBe(300_000); // gaps are missing points, not a coarser grid
    expect(historyRequest(s, WINDOW, 1)).toEqual({ from: '2026-03-13T11:55:00.000Z', to: WINDOW.from, resolutionSeconds: 300 });
  });

  it('then, if the day held nothing, looks back up to the furthest history allowed', () => {
    const s = [series(300_000, WINDOW.from, '2026-03-14T12:30:00Z')];

    const far = historyRequest(s, WINDOW, 2)!;

    expect(Date.parse(far.to)).toBe(Date.parse('2026-03-13T11:55:00.000Z'));
    expect(Date.parse(WINDOW.baselineEnd) - Date.parse(far.from)).toBe(MAX_HISTORY_DAYS * 86_400_000);
    // and stops once the baseline is long enough
    const long = [series(300_000, '2026-03-13T00:00:00Z', '2026-03-14T12:30:00Z')];
    expect(historyRequest(long, WINDOW, 2)).toBeUndefined();
    expect(historyRequest([], WINDOW, 1)).toBeUndefined();
  });

  it('puts history before the window, one point per time, and keeps series that only have history', () => {
    const window = [{ service: 'a', metric: 'm', unit: '', points: [{ t: '2026-03-14T12:00:00.000Z', v: 2 }, { t: '2026-03-14T12:05:00.000Z', v: 3 }] }];
    const history = [
      { service: 'a', metric: 'm', unit: '', points: [{ t: '2026-03-13T12:00:00.000Z', v: 1 }, { t: '2026-03-14T12:00:00.000Z', v: 99 }] },
      { service: 'b', metric: 'm', unit: '', points: [{ t: '2026-03-13T12:00:00.000Z', v: 5 }] },
    ];

    const merged = withHistory(history, window);

    expect(merged[0].points.map((p) => p.v)).toEqual([1, 2, 3]);
    expect(merged[1]).toEqual(history[1]);
  });

  it('scales the sustained-anomaly rule to the resolution (3 of 5 at a minute, 2 of 3 at five)', () => {
    expect(sustainedRule(60_000)).toEqual({ n: 5, k: 3, currentPoints: 3 });
    expect(sustainedRule(300_000)).toEqual({ n: 3, k: 2, currentPoints: 2 });
  });
});
