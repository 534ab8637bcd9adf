/**
 * A hypothesis as tested: its kind, what it blames, and its predictions, each checked against the evidence with a
 * verdict and a weight; and the documented confidence formula over those checks (see ../hypotheses.ts). Every
 * family (families.ts) builds its candidates from these pieces, so every family is scored the same way.
 */
import type { Culprit, FaultCategory } from '../../model.ts';
import type { Check, Verdict } from '../changes.ts';

export const PRIOR_LOG_ODDS = -2;

/** A prediction with its weight; `decisive` means a refutation kills the hypothesis. */
export interface TestedPrediction {
  readonly statement: string;
  readonly result: Verdict;
  readonly weight: number;
  readonly decisive?: boolean;
  readonly evidenceIds: readonly string[];
  /** Evidence that would have settled an inconclusive check. */
  readonly missing?: string;
}

export interface Candidate {
  readonly kind:
    | 'change'
    | 'traffic-surge'
    | 'resource-leak'
    | 'dependency-outage'
    | 'service-fault'
    | 'metric-origin'
    // Causes that are not a recent change (issue 11), one file each.
    | 'disk-exhaustion'
    | 'fd-exhaustion'
    | 'quota-throttling'
    | 'scheduled-job'
    | 'queue-backlog'
    | 'expiry'
    | 'zonal';
  readonly summary: string;
  readonly service: string;
  readonly category: FaultCategory;
  readonly changeId?: string;
  readonly predictions: readonly TestedPrediction[];
  /** A confidence of its own, calibrated elsewhere (metric-origin: propagation.ts), instead of `confidenceOf`. */
  readonly confidence?: number;
  /**
   * What triggered it and how it fails, when the family knows better than culprit.ts's table (which fills them in
   * for every candidate that leaves them out, after testing: rank.ts).
   */
  readonly culprit?: Culprit;
  readonly mechanism?: FaultCategory;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The documented confidence formula (see the module comment). */
export const confidenceOf = (predictions: readonly Pick<TestedPrediction, 'result' | 'weight' | 'decisive'>[]): number => {
  if (predictions.some((p) => p.decisive && p.result === 'refuted')) return 0;
  const score = predictions.reduce((s, p) => s + (p.result === 'supported' ? p.weight : p.result === 'refuted' ? -p.weight : 0), 0);
  return Math.round(sigmoid(PRIOR_LOG_ODDS + score) * 1000) / 1000;
};

/** A tested prediction, its evidence ids deduplicated. */
export const pick = (verdict: Verdict, statement: string, weight: number, evidenceIds: readonly string[], extra: Partial<TestedPrediction> = {}): TestedPrediction => ({
  statement,
  result: verdict,
  weight,
  evidenceIds: [...new Set(evidenceIds)],
  ...extra,
});
export const withReason = (statement: string, check: Check) => `${statement} — ${check.reason}`;
