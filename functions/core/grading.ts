/**
 * Grading a diagnosis against an answer: one rule for `autopilot eval` (lib/local/eval.ts, against a scenario's or a
 * recording's answer key) and for production (functions/resolve-incident, against what the people who resolved the
 * incident wrote), so the accuracy measured in evaluation and the one measured in production mean the same thing.
 *
 * A hypothesis matches when it names the expected service, the expected change when the answer names one, and the
 * expected category when the answer gives one. Production answers give the category, except `unknown` (the people do
 * not know how it failed): that one is not scored, as a recording's answer without a category. When the people name
 * a change and the top hypothesis names none (or another), it did not find the culprit: no match, as in evaluation.
 */
import type { RootCauseOutput } from './model.ts';
import type { ResolutionCause, ResolutionGrade } from './store/store.ts';

/** A hypothesis as graded: what an agent's output or an evaluation's run gives (each field optional: old outputs). */
export interface GradedHypothesis {
  readonly service?: string;
  readonly category?: string;
  readonly changeId?: string;
}

/** An answer key: a scenario's (every field given), a recording's (only what the dataset knows), or people's. */
export interface AnswerKey {
  readonly rootCause: { readonly service: string; readonly category?: string; readonly changeId?: string; readonly mechanism?: string } | null;
  readonly mitigation?: { readonly kind: string; readonly service?: string; readonly target?: string };
}

/**
 * Whether a hypothesis is the expected root cause: the service, the change when one is expected, the category when
 * one is given (a scenario always gives it; a recording may give only the service).
 */
export const matches = (h: GradedHypothesis | undefined, expect: AnswerKey): boolean => {
  const want = expect.rootCause;
  return !!h && !!want && h.service === want.service && (!want.category || h.category === want.category) && (!want.changeId || h.changeId === want.changeId);
};

/** The answer key of what people wrote (`unknown` scores no category). */
export const answerOfCause = (cause: ResolutionCause): AnswerKey => ({
  rootCause: { service: cause.service, ...(cause.category !== 'unknown' ? { category: cause.category } : {}), ...(cause.change ? { changeId: cause.change } : {}) },
});

const describe = (x: { service?: string; category?: string; changeId?: string }): string => [x.service, x.changeId, x.category].filter(Boolean).join('/');

/**
 * The grade of the root-cause agent's diagnosis against what people resolved the incident with. No diagnosis (the agent
 * never ran, or its output does not parse): not graded. An abstention: graded, not matched (there was a cause to find).
 */
export const gradeDiagnosis = (rootcause: RootCauseOutput | undefined, cause: ResolutionCause): ResolutionGrade => {
  const said = describe({ service: cause.service, changeId: cause.change, category: cause.category });
  if (!rootcause) return { graded: false, matched: false, why: 'the root-cause agent left no diagnosis for this incident: nothing to grade' };
  const top = rootcause.abstained ? undefined : rootcause.rootCauses[0];
  if (!top) return { graded: true, matched: false, abstained: true, why: `the root-cause agent abstained; people found ${said}` };
  const matched = matches(top, answerOfCause(cause));
  const stated = { service: top.service, category: top.category, ...(top.changeId ? { changeId: top.changeId } : {}), confidence: top.confidence, summary: top.summary };
  return { graded: true, matched, top: stated, why: `top hypothesis ${describe(top)} ${matched ? 'matches' : 'does not match'} what people found: ${said}` };
};
