/**
 * A certificate that expires with no change: ledger-service's server certificate runs out at 10:58 (its published
 * days to expiry cross zero), and from then on payment-service fails every TLS handshake with it. The family must
 * blame the certificate (category certificate, no change), stay silent on a service that publishes no expiry or
 * a valid certificate on a healthy service, refute outright a certificate still valid, and give way to a change
 * that touched the certificate at the onset.
 */
import { describe, expect, it } from 'vitest';
import { ABSTAIN_BELOW, analyseRootCause, type RootCauseInput } from '../../../../functions/core/analysis/hypotheses.ts';
import { indexEvidence } from '../../../../functions/core/analysis/hypotheses/evidence.ts';
import { testExpiry } from '../../../../functions/core/analysis/hypotheses/expiry.ts';
import type { ChangeRequest, MetricSeries, ServiceNode } from '../../../../functions/core/tools/ports.ts';
import { anomaly } from '../fixtures/anomaly.ts';
import { at, change, failingTraces, m, series, template } from './fixtures.ts';

const topology: ServiceNode[] = [
  { name: 'checkout-api', tier: 'frontend', calls: ['payment-service'] },
  { name: 'payment-service', tier: 'backend', calls: ['ledger-service'] },
  { name: 'ledger-service', tier: 'backend', calls: ['ledger-db'] },
  { name: 'ledger-db', tier: 'database', calls: [] },
];
const ONSET = at('11:00');
const DAY_MINUTES = 1440;

/** Days to the certificate's notAfter, `notAfter` minutes after 09:00 (negative once it has passed). */
const daysLeft = (notAfter: number): MetricSeries => series('ledger-service', 'cert_days_to_expiry', (x) => (notAfter - x) / DAY_MINUTES);

const input = (over: { cert?: MetricSeries; changes?: ChangeRequest[]; errors?: boolean } = {}): RootCauseInput => ({
  incident: { service: 'checkout-api', startedAt: at('11:03') },
  anomalies: [
    anomaly('ledger-service', 'throughput_rps', 150, 4, ONSET, 30),
    anomaly('payment-service', 'error_rate_pct', 0.3, 60, ONSET, 800),
    anomaly('checkout-api', 'error_rate_pct', 0.2, 40, ONSET, 600),
  ],
  onset: ONSET,
  templates:
    over.errors === false
      ? [template('payment-service', 'call to ledger-service failed: connection reset')]
      : [template('payment-service', 'call to ledger-service failed: javax.net.ssl.SSLHandshakeException: PKIX path validation failed: certificate_expired')],
  changes: over.changes ?? [],
  topology,
  traces: failingTraces(['checkout-api', 'payment-service'], 6, 'SSLHandshakeException'),
  series: [series('ledger-service', 'throughput_rps', (x) => (x < m('11:00') ? 150 : 4), 2), ...(over.cert ? [over.cert] : [])],
  now: at('11:30'),
});

describe('expiry hypotheses', () => {
  it('blames a certificate whose days to expiry crossed zero at the onset, with TLS handshake errors in its callers', () => {
    const out = analyseRootCause(input({ cert: daysLeft(m('10:58')) }));
    expect(out.abstained).toBe(false);
    expect(out.considered[0]).toMatchObject({ kind: 'expiry', service: 'ledger-service', category: 'certificate' });
    expect(out.rootCauses[0].changeId).toBeUndefined();
    expect(out.rootCauses[0].confidence).toBeGreaterThan(0.8);
    const verdicts = Object.fromEntries(out.rootCauses[0].predictions.map((p) => [p.statement.split(' — ')[0], p.result]));
    expect(verdicts).toMatchObject({
      'a certificate of ledger-service expired within minutes of the onset': 'supported',
      "the failures of ledger-service's callers began when it expired": 'supported',
      'calls to ledger-service fail the TLS handshake': 'supported',
      'no change to ledger-service explains it': 'supported',
    });
  });

  it('stays ahead of the metric ranking that places the fault in the caller where the handshake fails', () => {
    // Metrics see the failure in payment-service (its errors), not in ledger-service (which only loses traffic).
    const origins: RootCauseInput['origins'] = {
      alertService: 'checkout-api',
      familyWeights: { latency: 0.5, errors: 0.5 },
      walked: 4,
      withoutData: 0,
      alertStrength: 1,
      ranked: [
        { service: 'payment-service', score: 0.99, depth: 1, strongest: { family: 'errors', metric: 'error_rate_pct', baseline: 0.3, level: 60, z: 800, p: 1 }, explainedBy: [] },
        { service: 'ledger-service', score: 0.01, depth: 2, explainedBy: [] },
      ],
    };
    const out = analyseRootCause({ ...input({ cert: daysLeft(m('10:58')) }), origins });
    expect(out.considered[0]).toMatchObject({ kind: 'expiry', service: 'ledger-service', category: 'certificate' });
    // The metric ranking's "fault in payment-service" only says where the handshake fails; the expiry of what it
    // calls says why, so the bare location is dropped (origin-hypotheses.ts withoutSubsumedOrigins).
    expect(out.considered.some((h) => h.kind === 'metric-origin' && h.service === 'payment-service')).toBe(false);
    // The ranking's word against it stands (it is evidence), and is outweighed.
    expect(out.considered[0].predictions.some((p) => p.result === 'refuted' && p.statement.includes('traces down the call graph'))).toBe(true);
  });

  it('says nothing without the expiry metric, nor of a valid certificate on a healthy service', () => {
    expect(analyseRootCause(input()).considered.some((h) => h.kind === 'expiry')).toBe(false);
    const w = indexEvidence(input({ cert: series('ledger-db', 'cert_days_to_expiry', () => 200) }));
    expect(testExpiry(w, 'ledger-db')).toBeUndefined();
  });

  it('refutes, decisively, a certificate still valid on a failing service; names the missing logs when the callers say nothing of TLS', () => {
    const out = analyseRootCause(input({ cert: series('ledger-service', 'cert_days_to_expiry', (x) => 200 - x / DAY_MINUTES), errors: false }));
    const expiry = out.considered.find((h) => h.kind === 'expiry')!;
    expect(expiry.confidence).toBe(0);
    const c = testExpiry(indexEvidence(input({ cert: daysLeft(m('10:58')), errors: false })), 'ledger-service')!;
    expect(c.predictions.find((p) => p.statement.startsWith('calls to ledger-service'))).toMatchObject({ result: 'inconclusive', missing: "error logs of ledger-service's callers (TLS handshake / certificate_expired)" });
  });

  it('refutes a certificate that expired hours before anything failed', () => {
    const out = analyseRootCause(input({ cert: daysLeft(m('09:10')) }));
    const expiry = out.considered.find((h) => h.kind === 'expiry')!;
    expect(expiry.predictions.find((p) => p.statement.startsWith('a certificate of ledger-service expired'))?.result).toBe('refuted');
  });

  it('gives way to a change that rotated the certificate at the onset', () => {
    const rotate = change('CHG-40', 'ledger-service', at('10:57'), { type: 'infrastructure', title: 'Rotate ledger-service TLS certificate', description: 'replace the keystore with the new certificate', version: undefined });
    const out = analyseRootCause(input({ cert: daysLeft(m('10:58')), changes: [rotate] }));
    const expiry = out.considered.find((h) => h.kind === 'expiry')!;
    expect(expiry.predictions.find((p) => p.statement.startsWith('no change to ledger-service'))?.result).toBe('refuted');
    expect(expiry.confidence).toBeLessThan(ABSTAIN_BELOW);
    expect(out.rootCauses[0]).toMatchObject({ changeId: 'CHG-40' });
  });
});
