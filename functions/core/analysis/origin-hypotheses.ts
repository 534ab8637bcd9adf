/**
 * Root-cause hypotheses from the metric-only ranking of propagation.ts: "the fault is in X", for the few nodes that
 * hold most of the alert's degradation. They are what a diagnosis rests on when metrics are all there is (X-Ray and
 * CloudWatch without logs, traces or changes), and one more candidate beside the change, surge, leak and
 * dependency hypotheses when there is more.
 *
 * Each states the checks the ranking made (the node degraded on its own metrics; the alert's degradation flows
 * down to it; nothing it calls explains it), but its confidence is the ranking's calibrated one (`originConfidence`):
 * the checks are one computation seen three ways, not independent evidence to add up.
 */
import type { FaultCategory } from '../model.ts';
import type { Candidate, TestedPrediction } from './hypotheses.ts';
import { type OriginEvidence, originConfidence, originsEvidenceId, rankedEvidenceId } from './propagation.ts';

/** A node with less of the alert's degradation than this is not proposed. */
export const MIN_ORIGIN_SHARE = 0.05;
/** At most this many origin hypotheses (the report keeps three hypotheses in all). */
export const MAX_ORIGIN_CANDIDATES = 5;
/** Below this strength (propagation's p: 0.5 at the detection threshold) a signal is noise. */
const ANOMALOUS = 0.5;

/** What the metrics can say of the mechanism: an external endpoint is a dependency, a database a database. */
const categoryOf = (tier: string | undefined): FaultCategory => (tier === 'external' ? 'dependency' : tier === 'database' ? 'database' : 'unknown');

const fmt = (x: number): string => (Math.abs(x) >= 100 ? String(Math.round(x)) : String(Math.round(x * 100) / 100));
const pct = (x: number): string => `${Math.round(x * 100)} %`;

/** The origin hypotheses of a ranking (none when nothing along the call graph is degraded). */
export const originCandidates = (origins: OriginEvidence | undefined): Candidate[] => {
  if (!origins) return [];
  const anyAnomaly = origins.alertStrength >= ANOMALOUS || origins.ranked.some((r) => (r.strongest?.p ?? 0) >= ANOMALOUS);
  if (!anyAnomaly) return [];
  const ranking = originsEvidenceId(origins.alertService);
  return origins.ranked
    .filter((r) => r.score >= MIN_ORIGIN_SHARE)
    .slice(0, MAX_ORIGIN_CANDIDATES)
    .map((r, i): Candidate => {
      const own = r.strongest;
      const mine = [ranking, rankedEvidenceId(origins.alertService, i + 1)];
      const ownIds = own ? [`metric:${r.service}:${own.metric}`] : [];
      const where = r.depth === 0 ? 'the alerting service itself' : `${r.depth} hop(s) below ${origins.alertService}`;
      const predictions: TestedPrediction[] = [
        {
          statement: `${r.service} is degraded on its own metrics — ${own ? `${own.metric} ${fmt(own.baseline)} → ${fmt(own.level)} (robust z ${fmt(own.z)})` : 'no usable series'}`,
          result: own && own.p >= ANOMALOUS ? 'supported' : 'inconclusive',
          weight: 1,
          evidenceIds: ownIds,
          ...(own ? {} : { missing: `metrics of ${r.service}` }),
        },
        {
          statement: `${origins.alertService}'s degradation flows down the call graph to ${r.service} and stays there — it holds ${pct(r.score)} of it (${where})`,
          result: r.score >= 0.5 ? 'supported' : 'inconclusive',
          weight: 1,
          evidenceIds: mine,
        },
        {
          statement: `nothing ${r.service} calls explains its degradation — ${r.explainedBy.length === 0 ? 'its callees are healthy or degraded far too little' : `${r.explainedBy.join(', ')} explain part of it`}`,
          result: r.explainedBy.length === 0 ? 'supported' : 'inconclusive',
          weight: 1,
          evidenceIds: mine,
        },
      ];
      return {
        kind: 'metric-origin',
        summary: `Fault in ${r.service} (${where}), from metrics along the call graph: ${own ? `${own.metric} ${fmt(own.baseline)} → ${fmt(own.level)}` : 'degraded'}, ${pct(r.score)} of ${origins.alertService}'s degradation`,
        service: r.service,
        category: categoryOf(r.tier),
        predictions,
        confidence: originConfidence(r),
      };
    });
};

/**
 * An origin hypothesis says where the fault is, not what it is. When another hypothesis places the fault in the
 * same service and says what it is (a change to it, a leak, a certificate…) with at least `credible` confidence,
 * that one states the same place and more: the origin hypothesis is dropped rather than left to compete with it
 * (its 'unknown' mechanism would otherwise win on a slightly higher number).
 */
export const withoutSubsumedOrigins = (candidates: readonly Candidate[], confidence: (c: Candidate) => number, credible: number): Candidate[] => {
  const placed = new Set(candidates.filter((c) => c.kind !== 'metric-origin' && confidence(c) >= credible).map((c) => c.service));
  return candidates.filter((c) => c.kind !== 'metric-origin' || !placed.has(c.service));
};
