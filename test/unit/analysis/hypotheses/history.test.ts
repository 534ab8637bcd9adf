/**
 * The longer look-back of a level already climbing when its series begin (history.ts): which series need one, and
 * how the descriptor family dates a leak's start in it — naming the deploy there, and no deploy elsewhere.
 */
import { describe, expect, it } from 'vitest';
import { analyseRootCause, type RootCauseInput } from '../../../../functions/core/analysis/hypotheses.ts';
import { climbingFromTheStart } from '../../../../functions/core/analysis/hypotheses/history.ts';
import type { ChangeRequest, MetricSeries, ServiceNode } from '../../../../functions/core/tools/ports.ts';
import { anomaly } from '../fixtures/anomaly.ts';
import { MINUTE, at, change, failingTraces, m, ramp, series, template } from './fixtures.ts';

const ONSET = at('11:00');
const LIMIT = 4096;
const topology: ServiceNode[] = [
  { name: 'web', tier: 'frontend', calls: ['gateway-service'] },
  { name: 'gateway-service', tier: 'backend', calls: [] },
];
/** Descriptors leak 2 a minute from 1500 at minute `start` (minutes since 09:00, negative: the day before) to the limit. */
const leak = (start: number) => (x: number) => Math.min(LIMIT, x < start ? 1500 : 1500 + 2 * (x - start));
const START = Date.parse(at('09:00'));
/** 48 h before 11:00 at 5-minute points, as the root-cause agent reads it. */
const history = (f: (x: number) => number): MetricSeries => ({
  service: 'gateway-service',
  metric: 'open_fds',
  unit: '',
  points: Array.from({ length: 48 * 12 + 1 }, (_, i) => {
    const x = m('11:00') - 48 * 60 + i * 5;
    return { t: new Date(START + x * MINUTE).toISOString(), v: f(x) };
  }),
});
const input = (over: { changes?: ChangeRequest[]; history?: MetricSeries[] } = {}): RootCauseInput => ({
  incident: { service: 'web', startedAt: at('11:02') },
  anomalies: [anomaly('gateway-service', 'error_rate_pct', 0.1, 40, ONSET, 500), anomaly('web', 'error_rate_pct', 0.1, 25, ONSET, 300)],
  onset: ONSET,
  templates: [template('gateway-service', 'accept failed: java.io.IOException: Too many open files')],
  changes: over.changes ?? [],
  topology,
  traces: failingTraces(['web', 'gateway-service'], 6, 'EMFILE'),
  // The leak began 1298 minutes before 11:00 (≈ 13:22 the day before) and reaches the limit at 11:00.
  series: [series('gateway-service', 'open_fds', leak(m('11:00') - 1298)), series('gateway-service', 'fd_limit', () => LIMIT), series('gateway-service', 'throughput_rps', () => 300, 4)],
  ...(over.history ? { history: over.history } : {}),
  now: at('11:30'),
});
const deployAt = (minutesBefore11: number) => new Date(Date.parse(ONSET) - minutesBefore11 * MINUTE).toISOString();

describe('history: a level that climbed before its series', () => {
  it('asks for the history of an accumulating level that rises from its first point, not of a flat one or a rate', () => {
    const climbing = series('gateway-service', 'open_fds', ramp(3000, 4000, 0, 150));
    const flat = series('gateway-service', 'memory_mb', () => 900, 3);
    const busy = series('gateway-service', 'throughput_rps', ramp(100, 400, 0, 150));
    const late = series('gateway-service', 'disk_used_pct', ramp(40, 95, 100, 150));
    expect(climbingFromTheStart([climbing, flat, busy, late], Date.parse(at('11:30'))).map((s) => s.metric)).toEqual(['open_fds']);
  });

  it('names the deploy where the history shows the leak began (22 h before the onset)', () => {
    const out = analyseRootCause(input({ changes: [change('CHG-1', 'gateway-service', deployAt(1300))], history: [history(leak(m('11:00') - 1298))] }));
    expect(out.rootCauses[0]).toMatchObject({ service: 'gateway-service', category: 'file-descriptors', changeId: 'CHG-1' });
    expect(out.rootCauses[0].evidenceIds).toContain('history:gateway-service:open_fds');
  });

  it('names no deploy far from where the climb began, nor any without the history to date it', () => {
    const far = analyseRootCause(input({ changes: [change('CHG-2', 'gateway-service', deployAt(900))], history: [history(leak(m('11:00') - 1298))] }));
    expect(far.rootCauses[0]).toMatchObject({ service: 'gateway-service', category: 'file-descriptors' });
    expect(far.rootCauses[0].changeId).toBeUndefined();
    const blind = analyseRootCause(input({ changes: [change('CHG-1', 'gateway-service', deployAt(1300))] }));
    expect(blind.rootCauses[0].changeId).toBeUndefined();
  });
});
