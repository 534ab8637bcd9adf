/**
 * Generate, test, rank: every family's candidates for the evidence (families.ts), the metric ranking's word on
 * where the fault is (origin-hypotheses.ts), memory of close past incidents as weak support, then the ranking by
 * confidence, the top `TOP_N` and the abstention rule (see ../hypotheses.ts for the confidence formula).
 */
import type { Hypothesis, RootCauseOutput } from '../../model.ts';
import { dependenciesOf, tokens, tokensMatch, MIN_MEANING_MATCHES } from '../changes.ts';
import { byCodeUnit } from '../../compare.ts';
import { withoutSubsumedOrigins, withPlaceFromOrigins } from '../origin-hypotheses.ts';
import { type Candidate, confidenceOf, pick } from './candidate.ts';
import { type RootCauseInput, type World, indexEvidence } from './evidence.ts';
import { generateCandidates } from './families.ts';
import { culpritOf, withCulprit } from './culprit.ts';

export const ABSTAIN_BELOW = 0.5;
export const TOP_N = 3;

/** Every candidate explanation the evidence allows, each already tested, with its culprit and mechanism (culprit.ts). */
export const testHypotheses = (input: RootCauseInput): Candidate[] => {
  const w = indexEvidence(input);
  const placed = generateCandidates(w).map((c) => withPlaceFromOrigins(c, input.origins));
  // Walked once per service: subsumption asks for the same ones for every pair of candidates.
  const walked = new Map<string, ReadonlySet<string>>();
  const dependencies = (service: string) => walked.get(service) ?? walked.set(service, dependenciesOf(w.graph, service)).get(service)!;
  return withoutSubsumedOrigins(placed, (c) => c.confidence ?? confidenceOf(c.predictions), ABSTAIN_BELOW, dependencies).map((c) => withCulprit(w, withHistory(w, c)));
};

/** A past incident this close (similar agent's score) is worth comparing with. */
const HISTORY_MIN_SCORE = 0.5;

/**
 * Memory as weak evidence: a close past incident whose root cause reads like this hypothesis (two distinctive
 * shared words, service names aside) supports it a little (weight 0.5). Never a refutation: that a fault is
 * new says nothing against it. Added only when there are close past incidents to compare with.
 */
const withHistory = (w: World, c: Candidate): Candidate => {
  const past = (w.input.similar?.incidents ?? []).filter((i) => i.score >= HISTORY_MIN_SCORE);
  if (past.length === 0) return c;
  const mine = [...tokens(`${c.summary} ${c.category.replace('-', ' ')}`)].filter((t) => ![...w.serviceTokens].some((st) => tokensMatch(t, st)));
  const match = past
    .map((i) => ({ i, shared: [...tokens(`${i.title} ${i.rootCause ?? ''}`)].filter((t) => mine.some((m) => tokensMatch(m, t))) }))
    .sort((a, b) => b.shared.length - a.shared.length)[0];
  const supported = match.shared.length >= MIN_MEANING_MATCHES;
  const statement = supported
    ? `a similar past incident had this kind of cause — ${match.i.id} ("${match.i.rootCause ?? match.i.title}") shares ${match.shared.map((t) => `"${t}"`).join(', ')}`
    : `a similar past incident had this kind of cause — none of ${past.map((i) => i.id).join(', ')} reads like it`;
  return { ...c, predictions: [...c.predictions, pick(supported ? 'supported' : 'inconclusive', statement, 0.5, supported ? match.i.evidenceIds : [])] };
};

const supportedWeight = (c: Candidate) => c.predictions.filter((p) => p.result === 'supported').reduce((s, p) => s + p.weight, 0);

export interface RootCauseAnalysis extends RootCauseOutput {
  /** All candidates, ranked, with their confidence (for the report's "considered and refuted"). */
  readonly considered: readonly (Hypothesis & { kind: Candidate['kind'] })[];
}

const toHypothesis = (c: Candidate): Hypothesis & { kind: Candidate['kind'] } => ({
  kind: c.kind,
  summary: c.summary,
  service: c.service,
  category: c.category,
  ...(c.changeId ? { changeId: c.changeId } : {}),
  culprit: c.culprit ?? culpritOf(c),
  mechanism: c.mechanism ?? c.category,
  predictions: c.predictions.map((p) => ({ statement: p.statement, result: p.result, evidenceIds: [...p.evidenceIds] })),
  confidence: c.confidence ?? confidenceOf(c.predictions),
  evidenceIds: [...new Set(c.predictions.flatMap((p) => p.evidenceIds))],
});

/** Generates, tests and ranks the hypotheses; keeps the top 3; abstains when nothing is supported. */
export const analyseRootCause = (input: RootCauseInput): RootCauseAnalysis => {
  if (input.anomalies.length === 0) {
    return {
      rootCauses: [],
      considered: [],
      abstained: true,
      missingEvidence: ['an anomalous metric: telemetry does not confirm the alert (possible false alarm)', ...(input.gaps ?? []).map((g) => `data from ${g.replace(/^gap:/, '')}`)],
      reasoning: 'No metric deviates from its baseline, so there is nothing to explain: abstaining.',
      evidenceIds: [...(input.gaps ?? [])],
    };
  }
  const candidates = testHypotheses(input);
  const ranked = candidates
    .map((c) => ({ c, h: toHypothesis(c), supported: supportedWeight(c) }))
    .sort((a, b) => b.h.confidence - a.h.confidence || b.supported - a.supported || Number(b.c.kind === 'change') - Number(a.c.kind === 'change') || byCodeUnit(a.h.summary, b.h.summary));
  const best = ranked[0];
  const abstained = !best || best.h.confidence < ABSTAIN_BELOW || best.supported === 0;
  const top = ranked.slice(0, TOP_N);
  const missing = new Set<string>();
  if (abstained) {
    for (const { c } of top) for (const p of c.predictions) if (p.result === 'inconclusive' && p.missing) missing.add(p.missing);
    for (const g of input.gaps ?? []) missing.add(`data from ${g.replace(/^gap:/, '')}`);
    if (missing.size === 0) missing.add('a change, traffic, leak or dependency signal that explains the anomaly');
  }
  // The rejected alternatives go into the reasoning (RootCauseOutput keeps only the top 3), so the report can
  // say what was considered and why it was ruled out.
  const rejected = ranked.slice(TOP_N).concat(top.filter((r) => r.h.confidence < ABSTAIN_BELOW && r !== best));
  const refuted = rejected
    .filter((r) => r.c.predictions.some((p) => p.result === 'refuted'))
    .slice(0, 8)
    .map((r) => {
      const why = r.c.predictions.find((p) => p.result === 'refuted' && p.decisive) ?? r.c.predictions.find((p) => p.result === 'refuted')!;
      return `${r.c.changeId ?? `${r.c.kind} in ${r.c.service}`} (confidence ${r.h.confidence}: ${why.statement.split(' — ').pop()})`;
    });
  const reasoning = [
    `Tested ${candidates.length} hypothesis(es): ${input.changes.length} change(s) in the window, and the failing services as origins (surge, leak) and their external dependencies.`,
    best ? `Best: ${best.h.summary} — confidence ${best.h.confidence} (${best.c.predictions.filter((p) => p.result === 'supported').length}/${best.c.predictions.length} predictions supported).` : '',
    refuted.length ? `Ruled out: ${refuted.join('; ')}.` : '',
    abstained ? `Abstaining: no hypothesis reaches ${ABSTAIN_BELOW} with supported evidence.` : '',
    'Confidence = σ(−2 + Σ supported weights − Σ refuted weights); 0 when a decisive prediction is refuted.',
  ]
    .filter(Boolean)
    .join(' ');
  const rootCauses = top.map((r) => {
    const { kind: _kind, ...h } = r.h;
    return h;
  });
  return {
    rootCauses,
    considered: ranked.map((r) => r.h),
    abstained,
    missingEvidence: [...missing],
    ...(!abstained && best.c.changeId ? { rollbackCandidate: best.c.changeId } : {}),
    reasoning,
    evidenceIds: [...new Set(rootCauses.flatMap((h) => h.evidenceIds))],
  };
};
