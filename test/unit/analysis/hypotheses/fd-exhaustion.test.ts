/**
 * File-descriptor exhaustion: gateway-service leaks sockets, its open descriptors climb for hours and reach the
 * limit at the onset, and accept() fails with EMFILE. The family must blame the leak (category file-descriptors),
 * stay silent without descriptor metrics, refute a table far from full, and give way to a change that lowered
 * the limit or name the deploy that started the climb.
 */
import { describe, expect, it } from 'vitest';
import { ABSTAIN_BELOW, analyseRootCause, type RootCauseInput } from '../../../../functions/core/analysis/hypotheses.ts';
import { indexEvidence } from '../../../../functions/core/analysis/hypotheses/evidence.ts';
import { testFdExhaustion } from '../../../../functions/core/analysis/hypotheses/fd-exhaustion.ts';
import type { ChangeRequest, MetricSeries, ServiceNode } from '../../../../functions/core/tools/ports.ts';
import { anomaly } from '../fixtures/anomaly.ts';
import { at, change, failingTraces, m, ramp, series, step, template } from './fixtures.ts';

const topology: ServiceNode[] = [
  { name: 'web', tier: 'frontend', calls: ['gateway-service'] },
  { name: 'gateway-service', tier: 'backend', calls: ['catalog-service'] },
  { name: 'catalog-service', tier: 'backend', calls: [] },
];
const ONSET = at('11:00');
const LIMIT = 4096;

/** Open descriptors climb from 1500 (before the series) to the limit at 11:00, then stay pinned at it. */
const leaking = series('gateway-service', 'open_fds', (x) => Math.min(LIMIT, ramp(1500, LIMIT, -30, m('11:00'))(x)), 6);
const limit = (f: (x: number) => number = () => LIMIT) => series('gateway-service', 'fd_limit', f);

const input = (over: { fds?: MetricSeries[]; changes?: ChangeRequest[]; errors?: string } = {}): RootCauseInput => ({
  incident: { service: 'web', startedAt: at('11:02') },
  anomalies: [anomaly('gateway-service', 'error_rate_pct', 0.1, 40, ONSET, 500), anomaly('web', 'error_rate_pct', 0.1, 25, ONSET, 300)],
  onset: ONSET,
  templates: [template('gateway-service', over.errors ?? 'accept failed: java.io.IOException: Too many open files'), template('web', 'upstream gateway-service returned 503')],
  changes: over.changes ?? [],
  topology,
  traces: failingTraces(['web', 'gateway-service'], 6, 'EMFILE'),
  series: [series('gateway-service', 'throughput_rps', () => 300, 4), ...(over.fds ?? [])],
  now: at('11:30'),
});

describe('fd-exhaustion hypotheses', () => {
  it('blames a descriptor leak that reaches the limit at the onset, with EMFILE errors and no change', () => {
    const out = analyseRootCause(input({ fds: [leaking, limit()] }));
    expect(out.abstained).toBe(false);
    expect(out.considered[0]).toMatchObject({ kind: 'fd-exhaustion', service: 'gateway-service', category: 'file-descriptors' });
    expect(out.rootCauses[0].changeId).toBeUndefined();
    expect(out.rootCauses[0].confidence).toBeGreaterThan(0.8);
    const verdicts = Object.fromEntries(out.rootCauses[0].predictions.map((p) => [p.statement.split(' — ')[0], p.result]));
    expect(verdicts).toMatchObject({
      'the open file descriptors of gateway-service reached its limit at the onset': 'supported',
      'open descriptors of gateway-service climbed before the onset (a leak)': 'supported',
      'the descriptor limit of gateway-service did not come down': 'supported',
      'errors of gateway-service say it ran out of file descriptors': 'supported',
      'no change to gateway-service explains it': 'supported',
    });
  });

  it('dates the exhaustion by when the table was pinned at its limit, not by noise that brushed 95 % an hour before', () => {
    // A slow leak near the limit: readings wobble ±1 % around a mean that reaches the limit at 11:00 (pinned from then);
    // they pass 95 % of it more than an hour before.
    const wobbly = series('gateway-service', 'open_fds', (x) => Math.min(LIMIT, ramp(3700, LIMIT, 0, m('11:00'))(x) * (1 + 0.01 * Math.sin(x * 2.3))));
    const out = analyseRootCause(input({ fds: [wobbly, limit()] }));
    expect(out.considered[0]).toMatchObject({ kind: 'fd-exhaustion', service: 'gateway-service' });
    const atLimit = out.rootCauses[0].predictions.find((p) => p.statement.startsWith('the open file descriptors'))!;
    expect(atLimit.result).toBe('supported');
    expect(atLimit.statement).toMatch(/it reached 100 % of its descriptor limit at 1\d:\d\d, \d+(\.\d)? min (before|after) the onset/);
  });

  it('dates the exhaustion by when the table stayed at its limit, not by the odd reading that touched it before', () => {
    // From 10:20 one reading in five touches the limit (a request fails now and then); from 10:56 it stays there.
    const touching = series('gateway-service', 'open_fds', (x) => (x >= m('10:56') ? LIMIT : x >= m('10:20') && x % 5 === 0 ? LIMIT : ramp(3000, 4000, 0, m('10:56'))(x)));
    const out = analyseRootCause(input({ fds: [touching, limit()] }));
    const atLimit = out.rootCauses[0].predictions.find((p) => p.statement.startsWith('the open file descriptors'))!;
    expect(atLimit.result).toBe('supported');
    expect(atLimit.statement).toMatch(/at 10:[45]\d, \d+ min before the onset/);
  });

  it('reads a table pinned long before a late-dated onset as the cause only when the error rate rose right then', () => {
    // Pinned from 10:20; the detector dated the onset 11:00 (its baseline already held the failure).
    const early = series('gateway-service', 'open_fds', (x) => Math.min(LIMIT, ramp(2500, LIMIT, 0, m('10:20'))(x)), 3);
    const errorsFrom = (t: string) => series('gateway-service', 'error_rate_pct', (x) => (x >= m(t) ? 35 : 0.2), 0.05);
    const statementOf = (extra: MetricSeries[]) =>
      testFdExhaustion(indexEvidence(input({ fds: [early, limit(), ...extra] })), 'gateway-service')!.predictions.find((p) => p.statement.startsWith('the open file descriptors'))!;
    expect(statementOf([errorsFrom('10:20')])).toMatchObject({ result: 'supported' });
    expect(statementOf([errorsFrom('10:20')]).statement).toMatch(/error rate rose from 0.2 % to 35 % then \(the onset was dated 40 min later\)/);
    expect(statementOf([errorsFrom('11:00')]).result).toBe('inconclusive');
    expect(statementOf([]).result).toBe('inconclusive');
  });

  it('reads a slow leak whose readings end in a jump to the cap as a leak, not a burst', () => {
    // +0.5 descriptors a minute from 3850 up to the 10:55 reading, then capped at the limit (the last step is most of the rise).
    const capped = series('gateway-service', 'open_fds', (x) => (x < m('10:56') ? 3850 + 0.5 * x : LIMIT));
    const out = analyseRootCause(input({ fds: [capped, limit()] }));
    expect(out.rootCauses[0].predictions.find((p) => p.statement.startsWith('open descriptors of gateway-service climbed'))?.result).toBe('supported');
  });

  it('says nothing without descriptor metrics; names the missing limit when only open_fds is published', () => {
    expect(analyseRootCause(input()).considered.some((h) => h.kind === 'fd-exhaustion')).toBe(false);
    const c = testFdExhaustion(indexEvidence(input({ fds: [leaking] })), 'gateway-service')!;
    const atLimit = c.predictions.find((p) => p.statement.startsWith('the open file descriptors'))!;
    expect(atLimit).toMatchObject({ result: 'inconclusive', missing: 'fd_limit of gateway-service' });
  });

  it('refutes a descriptor table far from full', () => {
    const calm = series('gateway-service', 'open_fds', () => 900, 10);
    const out = analyseRootCause(input({ fds: [calm, limit()], errors: 'NullPointerException in RouteTable' }));
    const fd = out.considered.find((h) => h.kind === 'fd-exhaustion')!;
    expect(fd.predictions.find((p) => p.statement.startsWith('the open file descriptors'))?.result).toBe('refuted');
    expect(fd.confidence).toBeLessThan(ABSTAIN_BELOW);
  });

  it('gives way to a change that lowered the limit (the table did not grow: its size came down)', () => {
    const steady = series('gateway-service', 'open_fds', (x) => (x < m('10:58') ? 2000 : 1024), 5);
    const lowered = limit(step(65536, 1024, m('10:58')));
    const ulimit = change('CHG-21', 'gateway-service', at('10:58'), {
      type: 'config',
      title: 'Harden gateway-service container limits',
      version: undefined,
      configChange: { param: 'ulimit.nofile', old: '65536', new: '1024' },
    });
    const out = analyseRootCause(input({ fds: [steady, lowered], changes: [ulimit] }));
    expect(out.rootCauses[0]).toMatchObject({ service: 'gateway-service', changeId: 'CHG-21' });
    const fd = out.considered.find((h) => h.kind === 'fd-exhaustion')!;
    expect(fd.predictions.find((p) => p.statement.startsWith('the descriptor limit'))?.result).toBe('refuted');
    expect(fd.predictions.find((p) => p.statement.startsWith('no change to gateway-service'))?.result).toBe('refuted');
    expect(fd.confidence).toBeLessThan(ABSTAIN_BELOW);
  });

  it('names the deploy where the climb began as the culprit of the leak', () => {
    const fromDeploy = series('gateway-service', 'open_fds', (x) => Math.min(LIMIT, x <= m('09:45') ? 1500 : ramp(1500, LIMIT, m('09:45'), m('11:00'))(x)), 6);
    const release = change('CHG-30', 'gateway-service', at('09:45'), { title: 'gateway-service 2.3: new HTTP client' });
    const out = analyseRootCause(input({ fds: [fromDeploy, limit()], changes: [release] }));
    expect(out.rootCauses[0]).toMatchObject({ service: 'gateway-service', changeId: 'CHG-30' });
    const fd = out.considered.find((h) => h.kind === 'fd-exhaustion')!;
    expect(fd).toMatchObject({ changeId: 'CHG-30', category: 'file-descriptors' });
  });
});
