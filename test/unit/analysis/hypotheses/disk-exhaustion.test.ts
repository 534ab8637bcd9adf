/**
 * Disk exhaustion with no change: order-service's volume fills steadily and writes fail with ENOSPC when it is
 * full. The family must blame the disk (category disk-full, no change), stay silent on a service without disk
 * metrics, refute a disk that is far from full, and give way to — or name — a change that started the fill.
 */
import { describe, expect, it } from 'vitest';
import { ABSTAIN_BELOW, analyseRootCause, type RootCauseInput } from '../../../../functions/core/analysis/hypotheses.ts';
import { testDiskExhaustion } from '../../../../functions/core/analysis/hypotheses/disk-exhaustion.ts';
import { indexEvidence } from '../../../../functions/core/analysis/hypotheses/evidence.ts';
import type { ChangeRequest, MetricSeries, ServiceNode } from '../../../../functions/core/tools/ports.ts';
import { anomaly } from '../fixtures/anomaly.ts';
import { at, change, failingTraces, m, ramp, series, template } from './fixtures.ts';

const topology: ServiceNode[] = [
  { name: 'checkout-api', tier: 'frontend', calls: ['order-service'] },
  { name: 'order-service', tier: 'backend', calls: ['orders-db'] },
  { name: 'orders-db', tier: 'database', calls: [] },
];
const ONSET = at('11:00');

/** The disk fills from 80 % at 09:00 to 98.5 % at 11:00, then creeps to the top. */
const filling = series('order-service', 'disk_used_pct', (x) => (x <= m('11:00') ? ramp(80, 98.5, 0, m('11:00'))(x) : Math.min(99.8, 98.5 + 0.05 * (x - m('11:00')))), 0.05);

const input = (over: { disk?: MetricSeries; changes?: ChangeRequest[]; errors?: string } = {}): RootCauseInput => ({
  incident: { service: 'checkout-api', startedAt: at('11:02') },
  anomalies: [
    anomaly('order-service', 'error_rate_pct', 0.2, 45, ONSET, 600),
    anomaly('checkout-api', 'error_rate_pct', 0.1, 30, ONSET, 400),
    ...(over.disk && Math.max(...over.disk.points.map((p) => p.v)) > 90 ? [anomaly('order-service', 'disk_used_pct', 80, 99.5, at('10:10'), 12)] : []),
  ],
  onset: ONSET,
  templates: [template('order-service', over.errors ?? 'failed to write order journal: No space left on device (ENOSPC)'), template('checkout-api', 'POST /orders returned 500')],
  changes: over.changes ?? [],
  topology,
  traces: failingTraces(['checkout-api', 'order-service'], 6, 'IOException: No space left on device'),
  series: [series('order-service', 'throughput_rps', () => 120, 2), ...(over.disk ? [over.disk] : [])],
  now: at('11:30'),
});

describe('disk-exhaustion hypotheses', () => {
  it('blames a disk that filled steadily to full at the onset, with ENOSPC errors and no change', () => {
    const out = analyseRootCause(input({ disk: filling }));
    expect(out.abstained).toBe(false);
    expect(out.considered[0]).toMatchObject({ kind: 'disk-exhaustion', service: 'order-service', category: 'disk-full' });
    expect(out.rootCauses[0].changeId).toBeUndefined();
    expect(out.rootCauses[0].confidence).toBeGreaterThan(0.8);
    const statements = out.rootCauses[0].predictions.map((p) => `${p.result}: ${p.statement}`);
    expect(statements).toContainEqual(expect.stringMatching(/^supported: the disk of order-service was full at the onset — it reached 9\d(\.\d+)? % used at 1\d:\d\d/));
    expect(statements).toContainEqual(expect.stringMatching(/^supported: order-service's disk filled up before the onset .* filled steadily/));
    expect(statements).toContainEqual(expect.stringMatching(/^supported: errors of order-service say the device is out of space/));
    expect(statements).toContainEqual(expect.stringMatching(/^supported: no change to order-service explains it — none was deployed/));
    expect(out.rollbackCandidate).toBeUndefined();
  });

  it('says nothing of a service that publishes no disk use', () => {
    const out = analyseRootCause(input());
    expect(out.considered.some((h) => h.kind === 'disk-exhaustion')).toBe(false);
    const w = indexEvidence(input());
    expect(testDiskExhaustion(w, 'order-service')).toBeUndefined();
  });

  it('refutes a disk far from full, and stays silent on a healthy service whose disk is not high', () => {
    const flat = series('order-service', 'disk_used_pct', () => 45, 0.1);
    const out = analyseRootCause(input({ disk: flat, errors: 'NullPointerException in OrderMapper' }));
    const disk = out.considered.find((h) => h.kind === 'disk-exhaustion')!;
    expect(disk.predictions.find((p) => p.statement.startsWith('the disk of order-service was full'))?.result).toBe('refuted');
    expect(disk.confidence).toBeLessThan(ABSTAIN_BELOW);
    const healthy = indexEvidence({ ...input({ disk: series('orders-db', 'disk_used_pct', () => 45) }) });
    expect(testDiskExhaustion(healthy, 'orders-db')).toBeUndefined();
  });

  it('names the change whose deploy started the fill (a log level raised to DEBUG) as the culprit', () => {
    // Flat at 60 % until 09:40, when CHG-9 raised the log level; then the volume fills to the top by 11:00.
    const fromDeploy = series('order-service', 'disk_used_pct', (x) => (x <= m('09:40') ? 60 : Math.min(99.6, ramp(60, 98.5, m('09:40'), m('11:00'))(x))), 0.05);
    const logLevel = change('CHG-9', 'order-service', at('09:40'), { type: 'config', title: 'Set order-service log level to DEBUG', version: undefined, configChange: { param: 'logging.level.root', old: 'INFO', new: 'DEBUG' } });
    const out = analyseRootCause(input({ disk: fromDeploy, changes: [logLevel] }));
    expect(out.abstained).toBe(false);
    expect(out.rootCauses[0]).toMatchObject({ service: 'order-service', changeId: 'CHG-9' });
    expect(out.rollbackCandidate).toBe('CHG-9');
    const disk = out.considered.find((h) => h.kind === 'disk-exhaustion')!;
    expect(disk).toMatchObject({ category: 'disk-full', changeId: 'CHG-9' });
    expect(disk.predictions.find((p) => p.statement.includes('began at a change'))?.result).toBe('supported');
  });

  it('does not let a deploy near the onset take the blame for a fill that began long before it', () => {
    const release = change('CHG-4', 'order-service', at('10:45'));
    const out = analyseRootCause(input({ disk: filling, changes: [release] }));
    expect(out.considered[0]).toMatchObject({ kind: 'disk-exhaustion', service: 'order-service' });
    expect(out.rootCauses[0].changeId).toBeUndefined();
    const noChange = out.rootCauses[0].predictions.find((p) => p.statement.startsWith('no change to order-service'))!;
    expect(noChange.result).toBe('inconclusive');
  });
});
