/**
 * A scheduled job on a shared database: report-job (shown as one more backend service, as a service map shows a
 * job) starts its nightly run at 10:52 and loads shared-db, whose CPU and latency rise; orders-service and
 * billing-service, the database's other callers, degrade. The family must blame the job (category capacity), not
 * the database that degrades under it; refute a run that started after the onset; say nothing of a service that
 * never rests between runs; and give way to a change to the database at the same time.
 */
import { describe, expect, it } from 'vitest';
import { ABSTAIN_BELOW, analyseRootCause, type RootCauseInput } from '../../../../functions/core/analysis/hypotheses.ts';
import { indexEvidence } from '../../../../functions/core/analysis/hypotheses/evidence.ts';
import { jobServices, runStartOf, testScheduledJob } from '../../../../functions/core/analysis/hypotheses/scheduled-job.ts';
import type { ChangeRequest, ServiceNode } from '../../../../functions/core/tools/ports.ts';
import { anomaly } from '../fixtures/anomaly.ts';
import { at, change, failingTraces, m, series, template } from './fixtures.ts';

const topology: ServiceNode[] = [
  { name: 'web', tier: 'frontend', calls: ['orders-service', 'billing-service'] },
  { name: 'orders-service', tier: 'backend', calls: ['shared-db'] },
  { name: 'billing-service', tier: 'backend', calls: ['shared-db'] },
  { name: 'report-job', tier: 'backend', calls: ['shared-db'] },
  { name: 'shared-db', tier: 'database', calls: [] },
];
const ONSET = at('10:54');

const input = (over: { runAt?: string; changes?: ChangeRequest[]; jobRests?: boolean; jobCalls?: number } = {}): RootCauseInput => {
  const run = m(over.runAt ?? '10:52');
  const load = (x: number) => (x >= run ? 1 : 0);
  return {
    incident: { service: 'web', startedAt: at('10:57') },
    anomalies: [
      anomaly('shared-db', 'latency_p99_ms', 20, 420, ONSET, 300),
      anomaly('shared-db', 'cpu_pct', 40, 96, ONSET, 60),
      anomaly('orders-service', 'latency_p99_ms', 180, 2600, ONSET, 250),
      anomaly('billing-service', 'latency_p99_ms', 150, 2100, at('10:55'), 200),
      anomaly('web', 'latency_p99_ms', 300, 3000, ONSET, 200),
      anomaly('report-job', 'throughput_rps', 0, 80, at(over.runAt ?? '10:52'), 40),
    ],
    onset: ONSET,
    templates: [template('report-job', 'job nightly-report run started', false, 1), template('orders-service', 'query on shared-db timed out after 2000 ms')],
    changes: over.changes ?? [],
    topology,
    traces: failingTraces(['web', 'orders-service', 'shared-db'], 4, 'statement timeout'),
    series: [
      series('report-job', 'throughput_rps', over.jobRests === false ? () => 80 : (x) => 80 * load(x), over.jobRests === false ? 3 : 0),
      series('shared-db', 'throughput_rps', (x) => 400 + (over.jobCalls ?? 100) * load(x), 5),
      series('shared-db', 'cpu_pct', (x) => 40 + 56 * load(x), 1),
      series('shared-db', 'latency_p99_ms', (x) => 20 + 400 * load(x), 1),
      series('orders-service', 'throughput_rps', () => 250, 3),
      series('billing-service', 'throughput_rps', () => 150, 3),
    ],
    now: at('11:30'),
  };
};

describe('scheduled-job hypotheses', () => {
  it('blames the job whose run loads the shared database, not the database', () => {
    const out = analyseRootCause(input());
    expect(out.abstained).toBe(false);
    expect(out.considered[0]).toMatchObject({ kind: 'scheduled-job', service: 'report-job', category: 'capacity' });
    expect(out.rootCauses[0].changeId).toBeUndefined();
    const verdicts = Object.fromEntries(out.rootCauses[0].predictions.map((p) => [p.statement.split(' — ')[0], p.result]));
    expect(verdicts).toMatchObject({
      'a run of report-job started within 30 min before the onset': 'supported',
      'the resource report-job shares (shared-db) took its load when the run started': 'supported',
      "the extra traffic on shared-db is report-job's calls": 'supported',
      'the other callers of shared-db degraded': 'supported',
      'no change to shared-db explains it': 'supported',
      'report-job logs a run starting': 'supported',
    });
    // A surge on the database may be considered, but ranks below the job that makes it.
    for (const h of out.considered.filter((x) => x.service === 'shared-db')) expect(h.confidence).toBeLessThan(out.rootCauses[0].confidence);
  });

  it('finds when a run starts from rest, and no run in a service that never rests', () => {
    const w = indexEvidence(input());
    expect(runStartOf(w.input.series[0], Date.parse(at('09:30')), Date.parse(at('11:30')))?.at).toBe(Date.parse(at('10:52')));
    const busy = indexEvidence({ ...input({ jobRests: false }), templates: [] });
    expect(jobServices(busy)).toContain('report-job');
    expect(testScheduledJob(busy, 'report-job')).toBeUndefined();
    // A job that runs every hour: the run that dates the onset is the last to start before it.
    const hourly = series('report-job', 'throughput_rps', (x) => (x % 60 >= 52 || x % 60 < 12 ? 80 : 0));
    expect(runStartOf(hourly, Date.parse(at('09:00')), Date.parse(at('11:54')), Date.parse(ONSET))?.at).toBe(Date.parse(at('10:52')));
    // Services with no callee that degraded are never subjects.
    expect(jobServices(w)).not.toContain('web');
  });

  it('refutes, decisively, a run that started after the onset', () => {
    const out = analyseRootCause(input({ runAt: '11:10' }));
    const job = out.considered.find((h) => h.kind === 'scheduled-job')!;
    expect(job.confidence).toBe(0);
    expect(job.predictions[0]).toMatchObject({ result: 'refuted' });
    expect(job.predictions[0].statement).toMatch(/AFTER the onset/);
  });

  it('gives way to a change to the database at the onset when the run added no traffic to it (CPU and latency only)', () => {
    const dropIndex = change('CHG-5', 'shared-db', at('10:50'), {
      type: 'config',
      title: 'Drop unused index on shared-db orders table',
      version: undefined,
      configChange: { param: 'orders.idx_created_at', old: 'present', new: 'dropped' },
    });
    const out = analyseRootCause(input({ changes: [dropIndex], jobCalls: 5 }));
    const job = out.considered.find((h) => h.kind === 'scheduled-job')!;
    expect(job.predictions.find((p) => p.statement.startsWith('no change to shared-db'))?.result).toBe('refuted');
    const changeH = out.considered.find((h) => h.changeId === 'CHG-5')!;
    expect(changeH.confidence).toBeGreaterThan(job.confidence);
    expect(job.confidence).toBeLessThan(ABSTAIN_BELOW + 0.15);
  });

  it('keeps the job ahead of an unrelated change to the database when the run’s calls arrived at it', () => {
    const tuning = change('CHG-6', 'shared-db', at('10:45'), { type: 'config', title: 'Raise shared-db log retention', version: undefined, configChange: { param: 'log_retention_days', old: '7', new: '14' } });
    const out = analyseRootCause(input({ changes: [tuning] }));
    expect(out.considered[0]).toMatchObject({ kind: 'scheduled-job', service: 'report-job' });
    const job = out.considered[0];
    expect(job.predictions.find((p) => p.statement.startsWith('no change to shared-db'))?.result).toBe('inconclusive');
  });

});
