/**
 * Root cause as hypothesis → experiment. From ALL the evidence we generate candidate explanations (every
 * change in the window, and every anomalous service as an origin: traffic surge, resource leak, failing
 * external dependency), state what each predicts, check every prediction against the evidence in code, and
 * compute a confidence from those checks. Nothing here knows a scenario: it sees anomalies, templates,
 * changes, topology, traces and metric series.
 *
 * Predictions per hypothesis:
 *   change      timing (decisive; a slow burn — a metric of the changed service flat before the deploy and
 *               climbing after — makes a long lag plausible), place (origin / dependency of the origin /
 *               floods it: its dependency's traffic jumps at the deploy far more than its own), meaning
 *               (symptoms name what it touched), novelty (new errors where its faults would show); and for a
 *               change of a capacity or limit (changes.ts, `limitChange`), mechanism: its service fails at the
 *               limit it lowered (throttles, CPU pinned, usage at its cap or at the new number, errors saying
 *               so). Lowering a limit is latent: the service fails when its load reaches the limit, so a late
 *               onset with the load risen since the deploy is timed as strongly as a prompt one; a limit it raised
 *               cannot make the service saturate;
 *   surge       origin, traffic rose before the onset, saturation (CPU, pool or another capacity at its
 *               limit), no change on the service (refuted by a change that lowered the limit it fails at);
 *   leak        origin, memory climbs steadily (Kendall's τ), errors mention memory / GC;
 *   dependency  failing spans end in the external dependency, callers' errors name it or a remote failure;
 *   metric-origin  the fault is where the alert's degradation stops along the call graph (origin-hypotheses.ts,
 *               from the impact agent's ranking, propagation.ts): its confidence is that ranking's calibrated one,
 *               it gives way to a credible hypothesis that places the fault in the same service or is a change
 *               above it, and it refutes surge / leak / service-fault / dependency hypotheses it places elsewhere;
 *   all         (when close past incidents exist) one reads like this hypothesis — weak support only.
 * Only failure signals (see `isFailureSignal`) mark a service as failing and set fault onsets: more load is
 * not a fault, and a sale that starts before a bad change must not refute the change.
 *
 * Confidence (documented, monotone, bounded):
 *
 *     confidence = 0                                          if a decisive prediction is refuted
 *     confidence = σ(PRIOR_LOG_ODDS + Σ w·[supported] − Σ w·[refuted])   otherwise
 *
 * σ is the logistic function; `PRIOR_LOG_ODDS` = −2 (an untested hypothesis is unlikely: σ(−2) ≈ 0.12);
 * each prediction has a weight w (how diagnostic it is). Inconclusive checks add nothing. A change deployed
 * after the onset is refuted outright (the timing prediction is decisive). Turning any check from
 * inconclusive to supported strictly raises the confidence; turning it to refuted strictly lowers it.
 *
 * We abstain when there is no anomaly (nothing to explain) or when the best hypothesis stays below
 * `ABSTAIN_BELOW` or has no supported prediction at all.
 *
 * Layout (hypotheses/): evidence.ts indexes the evidence once (the `World`: failing services, origins, onsets,
 * where failing traces end) with the readers several families share; candidate.ts is a tested hypothesis and the
 * confidence formula; one file per family — change.ts (with latent-limit.ts), traffic-surge.ts, resource-leak.ts,
 * dependency-outage.ts, service-fault.ts, metric-origin.ts (over origin-hypotheses.ts), origin-prediction.ts the
 * check the origin families share; families.ts the lookup table that generates them (a new family = a new file and
 * one entry there); rank.ts generates, tests and ranks. This module is the public face: callers import from here.
 */
export type { Template, RootCauseInput } from './hypotheses/evidence.ts';
export {
  failingLeaves,
  isTrafficMetric,
  CPU_SATURATION_PCT,
  isFailureSignal,
  DATING_SHARE,
  isServiceLevelIndicator,
  EXPLAINED_SLI_SHARE,
  WOBBLE_SCORE,
  trendTau,
  categoryFromText,
  STEADY_TREND_TAU,
  AMPLIFICATION_RATIO,
} from './hypotheses/evidence.ts';
export type { TestedPrediction, Candidate } from './hypotheses/candidate.ts';
export { PRIOR_LOG_ODDS, confidenceOf } from './hypotheses/candidate.ts';
export { SLOW_BURN_SLOPE_RATIO, PROMPT_LAG_MINUTES, changeCategory } from './hypotheses/change.ts';
export { AT_LIMIT_SHARE, LOAD_RISE_RATIO } from './hypotheses/latent-limit.ts';
export { TRAFFIC_SURGE_RATIO } from './hypotheses/traffic-surge.ts';
export type { RootCauseAnalysis } from './hypotheses/rank.ts';
export { ABSTAIN_BELOW, TOP_N, testHypotheses, analyseRootCause } from './hypotheses/rank.ts';
