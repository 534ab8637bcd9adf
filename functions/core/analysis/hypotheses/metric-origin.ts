/**
 * Metric-origin hypotheses: "the fault is in X", where the alert's degradation stops along the call graph — the
 * impact agent's metric-only ranking (propagation.ts), as origin-evidence.ts keeps it. Built and checked in
 * ../origin-hypotheses.ts; this file only makes that family an entry of the table (families.ts).
 *
 * Predictions (stated there): X degraded on its own metrics, the alert's degradation flows down to it, nothing it
 * calls explains it; its confidence is the ranking's calibrated one, not `confidenceOf`. Why: when metrics are all
 * there is (no logs, traces or changes) this is the diagnosis; beside the other families it gives way to one that
 * says what the fault is (rank.ts: `withoutSubsumedOrigins`) and refutes those it places elsewhere
 * (`withPlaceFromOrigins`).
 */
import { originCandidates } from '../origin-hypotheses.ts';
import type { Candidate } from './candidate.ts';
import type { World } from './evidence.ts';

/** The subjects of the metric-origin family: its candidates, already tested by the ranking that made them. */
export const metricOriginCandidates = (w: World): Candidate[] => originCandidates(w.input.origins);
