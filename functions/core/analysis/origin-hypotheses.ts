/**
 * Root-cause hypotheses from the metric-only ranking of propagation.ts (as origin-evidence.ts keeps it): "the fault
 * is in X", for the few nodes that hold most of the alert's degradation. They are what a diagnosis rests on when
 * metrics are all there is (X-Ray and CloudWatch without logs, traces or changes), and one more candidate beside the
 * change, surge, leak and dependency hypotheses when there is more.
 *
 * Each states the checks the ranking made (the node degraded on its own metrics; the alert's degradation flows
 * down to it; nothing it calls explains it), but its confidence is the ranking's calibrated one
 * (`originConfidence`, origin-evidence.ts): the checks are one computation seen three ways, not independent
 * evidence to add up.
 */
import type { FaultCategory } from '../model.ts';
import type { Candidate, TestedPrediction } from './hypotheses.ts';
import { type OriginEvidence, originConfidence, originsEvidenceId, rankedEvidenceId } from './origin-evidence.ts';

/** A node with less of the alert's degradation than this is not proposed. */
export const MIN_ORIGIN_SHARE = 0.05;
/** At most this many origin hypotheses (the report keeps three hypotheses in all). */
export const MAX_ORIGIN_CANDIDATES = 5;
/** Below this strength (propagation's p: 0.5 at the detection threshold) a signal is noise. */
const ANOMALOUS = 0.5;
/** The most an origin hypothesis is worth when the node's own metrics are not anomalous (see `originCandidates`). */
export const WEAK_ORIGIN_CONFIDENCE = 0.45;

/** What the metrics can say of the mechanism: an external endpoint is a dependency, a database a database. */
const categoryOf = (tier: string | undefined): FaultCategory => (tier === 'external' ? 'dependency' : tier === 'database' ? 'database' : 'unknown');

const fmt = (x: number): string => (Math.abs(x) >= 100 ? String(Math.round(x)) : String(Math.round(x * 100) / 100));
const pct = (x: number): string => `${Math.round(x * 100)} %`;

/** Whether anything along the call graph is degraded: the alerting service, or a node the ranking holds. */
const degradedAnywhere = (origins: OriginEvidence): boolean => origins.alertStrength >= ANOMALOUS || origins.ranked.some((r) => (r.strongest?.p ?? 0) >= ANOMALOUS);

/** The origin hypotheses of a ranking (none when nothing along the call graph is degraded). */
export const originCandidates = (origins: OriginEvidence | undefined): Candidate[] => {
  if (!origins || !degradedAnywhere(origins)) return [];
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
        // A node whose own metrics hardly moved holds its share of the degradation by the flow arithmetic alone:
        // the ranking's calibrated number presumes a node degraded on its own, so without that it stays below the
        // abstention line (it can still be the answer, not a confident one).
        confidence: own && own.p >= ANOMALOUS ? originConfidence(r) : Math.min(originConfidence(r), WEAK_ORIGIN_CONFIDENCE),
      };
    });
};

/**
 * An origin hypothesis says where the fault is, not what it is. Another hypothesis with at least `credible` confidence
 * that says what it is explains the same degradation and says more, so the origin hypothesis is dropped rather than
 * left to compete with it (its 'unknown' mechanism would otherwise win on a slightly higher number) when it:
 * - places the fault in the same service (a change to it, a leak, a certificate…);
 * - places it in something the origin calls, directly or not (a callee's release whose responses the origin fails
 *   on, a rotated database credential, a dependency outage): the origin's own metrics show the failure where the
 *   call fails, and the ranking's "nothing it calls explains it" reads only the callee's metrics;
 * - is a change to a service that calls the origin (a release that floods or misuses its dependency), or that calls
 *   what the origin calls (a release whose queries saturate a database the origin shares with it).
 */
export const withoutSubsumedOrigins = (
  candidates: readonly Candidate[],
  confidence: (c: Candidate) => number,
  credible: number,
  /** What a service calls, directly or not. */
  dependencies: (service: string) => ReadonlySet<string> = () => new Set(),
): Candidate[] => {
  const explaining = candidates.filter((c) => c.kind !== 'metric-origin' && confidence(c) >= credible);
  const calls = (caller: string, callee: string) => dependencies(caller).has(callee);
  const sharesCallee = (a: string, b: string) => [...dependencies(a)].some((s) => s !== b && calls(b, s));
  const explains = (c: Candidate, origin: string) =>
    c.service === origin || calls(origin, c.service) || (c.kind === 'change' && (calls(c.service, origin) || sharesCallee(c.service, origin)));
  return candidates.filter((c) => c.kind !== 'metric-origin' || !explaining.some((e) => explains(e, c.service)));
};

/** Weight of the ranking's verdict against another origin hypothesis (as strong as a supported traffic or leak check). */
export const PLACE_WEIGHT = 1.5;
/** The fault is placed elsewhere when nodes holding at least `ELSEWHERE_SHARE` each hold this share together. */
const PLACED_SHARE = 0.5;
const ELSEWHERE_SHARE = 0.1;

/**
 * The ranking's word against another hypothesis that places the fault in a service (a surge, a leak, a service
 * fault, a failing dependency — not a change, whose place is tested on its own terms: a change can break a
 * dependency it floods): refuted when the alert's degradation traces down the call graph to other services that
 * hold at least half of it between them (each at least a tenth) and this one holds almost none — a low-rate flow that doubled by chance, or a node
 * that wobbled beside the real failure, is not what the alert is about. Only ever a refutation: where the ranking
 * agrees, the hypothesis's own origin check already says so, and the metric-origin hypothesis stands beside it.
 */
export const withPlaceFromOrigins = (candidate: Candidate, origins: OriginEvidence | undefined): Candidate => {
  if (!origins || candidate.kind === 'change' || candidate.kind === 'metric-origin' || !degradedAnywhere(origins)) return candidate;
  const mine = origins.ranked.find((r) => r.service === candidate.service)?.score ?? 0;
  const elsewhere = origins.ranked.filter((r) => r.service !== candidate.service && r.score >= ELSEWHERE_SHARE);
  const placed = elsewhere.reduce((sum, r) => sum + r.score, 0);
  if (mine >= ELSEWHERE_SHARE || placed < PLACED_SHARE) return candidate;
  const where = elsewhere.map((r) => `${r.service} ${pct(r.score)}`).join(', ');
  const prediction: TestedPrediction = {
    statement: `${origins.alertService}'s degradation traces down the call graph to ${candidate.service} — it traces to ${where} instead (${candidate.service} ${pct(mine)})`,
    result: 'refuted',
    weight: PLACE_WEIGHT,
    evidenceIds: [originsEvidenceId(origins.alertService)],
  };
  return { ...candidate, predictions: [...candidate.predictions, prediction] };
};
