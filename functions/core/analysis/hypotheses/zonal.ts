/**
 * Zonal hypotheses: "the fault is confined to one availability zone of this service" — its hosts, network or storage
 * there went bad — one per failing service whose metrics the telemetry splits by zone (`RootCauseInput.zoneSeries`:
 * what a load balancer reports per availability zone).
 *
 * Predictions: it is where the anomaly starts (origin-prediction.ts); after the onset one zone's errors or p99 rose
 * far above that zone's own level before, while every other zone stayed near its own (decisive against when every
 * zone degraded alike: a release, a surge or a failing callee reaches all zones); and no change to the service
 * explains it (a change reaches every zone it is deployed to — tested as a change). Why: an AZ impairment is
 * outside any change of ours and looks like a partial outage of the service; the per-zone split is the one thing
 * that tells it, and a zonal shift away from the zone is what ends it.
 */
import type { MetricSeries } from '../../tools/ports.ts';
import { METRICS } from '../../tools/ports.ts';
import type { Check } from '../changes.ts';
import { median } from '../metrics.ts';
import { type Candidate, pick, withReason } from './candidate.ts';
import { MINUTE_MS, type World, anomalyIds, zoneSeriesId } from './evidence.ts';
import { originPrediction } from './origin-prediction.ts';
import { fmtNumber, noChangeExplains, onsetMsOf } from './resource-evidence.ts';

/** A zone's errors rose this many points and this many times their level before… */
const ERRORS_ROSE_POINTS = 3;
const ERRORS_ROSE_RATIO = 3;
/** …or its p99 this many times its level before: the zone degraded. */
const LATENCY_ROSE_RATIO = 2;
/** The other zones stayed near their own level: each rose less than this share of the bad zone's rise. */
const OTHERS_SHARE = 0.25;
/** Before: the hour up to 5 minutes before the onset; after: from the onset, 15 minutes. */
const BEFORE_MINUTES = 60;
const AFTER_MINUTES = 15;

const zoneSeries = (w: World, service: string, metric: string): MetricSeries[] =>
  (w.input.zoneSeries ?? []).filter((s) => s.service === service && s.metric === metric && s.zone !== undefined && s.points.length > 0);

/** The subjects: failing services whose metrics are split by zone. */
export const zonedServices = (w: World): string[] => [...new Set((w.input.zoneSeries ?? []).filter((s) => s.zone !== undefined && w.degraded.has(s.service)).map((s) => s.service))].sort();

interface ZoneRise {
  readonly zone: string;
  readonly metric: string;
  readonly before: number;
  readonly after: number;
  /** How far it moved, in the metric's terms: points of error rate, or the p99's ratio minus one. */
  readonly rise: number;
  readonly degraded: boolean;
  readonly id: string;
}

const risesOf = (w: World, service: string, onset: number): ZoneRise[] =>
  [METRICS.errorRate, METRICS.latencyP99].flatMap((metric) =>
    zoneSeries(w, service, metric).flatMap((s): ZoneRise[] => {
      const within = (from: number, to: number) => s.points.filter((p) => Date.parse(p.t) >= from && Date.parse(p.t) <= to).map((p) => p.v);
      const before = within(onset - BEFORE_MINUTES * MINUTE_MS, onset - 5 * MINUTE_MS);
      const after = within(onset, onset + AFTER_MINUTES * MINUTE_MS);
      if (before.length < 3 || after.length < 2) return [];
      const [b, a] = [median(before), median(after)];
      const errors = metric === METRICS.errorRate;
      const rise = errors ? a - b : a / Math.max(b, Number.MIN_VALUE) - 1;
      const degraded = errors ? rise >= ERRORS_ROSE_POINTS && a >= ERRORS_ROSE_RATIO * Math.max(b, 0.1) : a >= LATENCY_ROSE_RATIO * b;
      return [{ zone: s.zone as string, metric, before: b, after: a, rise, degraded, id: zoneSeriesId(s) }];
    }),
  );

export const testZonal = (w: World, service: string): Candidate | undefined => {
  const onset = onsetMsOf(w, service);
  if (Number.isNaN(onset)) return undefined;
  const rises = risesOf(w, service, onset);
  if (rises.length === 0) return undefined;
  const zones = [...new Set(rises.map((r) => r.zone))];
  // Per metric: the zones that degraded, and whether the others stayed near their own level.
  let confined: (Check & { zone?: string; ids: string[] }) | undefined;
  let spread: ZoneRise[] | undefined;
  for (const metric of [METRICS.errorRate, METRICS.latencyP99]) {
    const mine = rises.filter((r) => r.metric === metric);
    const bad = mine.filter((r) => r.degraded);
    if (bad.length === 1) {
      const worst = bad[0];
      const others = mine.filter((r) => r !== worst);
      if (others.length > 0 && others.every((r) => r.rise < OTHERS_SHARE * worst.rise)) {
        const what = metric === METRICS.errorRate ? `errors ${fmtNumber(worst.before)} → ${fmtNumber(worst.after)} %` : `p99 ${fmtNumber(worst.before)} → ${fmtNumber(worst.after)} ms`;
        confined = { verdict: 'supported', reason: `${worst.zone}'s ${what} while ${others.map((r) => r.zone).join(', ')} stayed near their own`, zone: worst.zone, ids: mine.map((r) => r.id) };
        break;
      }
    }
    if (bad.length >= 2 && bad.length === mine.length) spread = bad;
  }
  if (!confined && !w.degraded.has(service)) return undefined;
  const check: Check & { zone?: string; ids: string[] } = confined ??
    (spread
      ? { verdict: 'refuted', reason: `every zone degraded (${spread.map((r) => r.zone).join(', ')}): not one zone's fault`, ids: spread.map((r) => r.id) }
      : { verdict: 'inconclusive', reason: `no one zone of ${zones.join(', ')} stands out`, ids: rises.map((r) => r.id) });
  const zonePrediction = pick(check.verdict, withReason(`${service} fails in one availability zone only`, check), 2.5, [...check.ids, ...anomalyIds(w, service)], { decisive: check.verdict === 'refuted' });
  const zone = confined?.zone;
  return {
    kind: 'zonal',
    summary: zone ? `Availability zone ${zone} of ${service} is impaired: its share of the traffic fails, the other zones serve` : `A fault confined to one availability zone of ${service}`,
    service,
    category: 'zone',
    culprit: { kind: 'zone', service, ...(zone ? { zone } : {}) },
    mechanism: 'zone',
    predictions: [originPrediction(w, service), zonePrediction, noChangeExplains(w, service)],
  };
};
