/**
 * The one grading rule (functions/core/grading.ts): production's grade of a diagnosis against what people wrote, and
 * evaluation's `matches` (lib/local/eval.ts re-exports the same function).
 */
import { describe, expect, it } from 'vitest';
import { answerOfCause, gradeDiagnosis, matches } from '../../../functions/core/grading.ts';
import type { Hypothesis, RootCauseOutput } from '../../../functions/core/model.ts';
import type { ResolutionCause } from '../../../functions/core/store/store.ts';
import { matches as evalMatches } from '../../../lib/local/eval.ts';

const h = (overrides: Partial<Hypothesis> = {}): Hypothesis => ({
  summary: 'CR2077 halved the pool',
  service: 'inventory-service',
  category: 'connection-pool',
  changeId: 'CR2077',
  predictions: [],
  confidence: 0.8,
  evidenceIds: [],
  ...overrides,
});
const output = (rootCauses: Hypothesis[], abstained = false): RootCauseOutput => ({ rootCauses, abstained, missingEvidence: [], reasoning: '', evidenceIds: [] });
const cause = (overrides: Partial<ResolutionCause> = {}): ResolutionCause => ({ service: 'inventory-service', category: 'connection-pool', change: 'CR2077', summary: 's', ...overrides });

describe('unit: grading a diagnosis against what people wrote', () => {
  it('is the rule autopilot eval scores with', () => {
    expect(evalMatches).toBe(matches);
  });

  it.each([
    ['same service, category and change', h(), cause(), true],
    ['another service', h({ service: 'checkout' }), cause(), false],
    ['another category', h({ category: 'capacity' }), cause(), false],
    ['another change', h({ changeId: 'CR2078' }), cause(), false],
    ['people name a change the hypothesis does not', h({ changeId: undefined }), cause(), false],
    ['the hypothesis names a change, people none', h(), cause({ change: undefined }), true],
    ["people's category unknown: service and change only", h({ category: 'capacity' }), cause({ category: 'unknown' }), true],
    ["people's category unknown, another service", h({ service: 'checkout' }), cause({ category: 'unknown' }), false],
  ] as const)('%s → matched %s', (_name, top, said, expected) => {
    const grade = gradeDiagnosis(output([top, h({ service: 'other' })]), said);
    expect(grade).toMatchObject({ graded: true, matched: expected });
    expect(grade.why).toMatch(expected ? /matches/ : /does not match/);
  });

  it('grades only the top hypothesis: the right one in second place is a miss', () => {
    expect(gradeDiagnosis(output([h({ service: 'checkout' }), h()]), cause()).matched).toBe(false);
  });

  it('an abstention is graded and missed; no diagnosis is not graded', () => {
    expect(gradeDiagnosis(output([h()], true), cause())).toMatchObject({ graded: true, matched: false, abstained: true });
    expect(gradeDiagnosis(output([]), cause())).toMatchObject({ graded: true, matched: false, abstained: true });
    expect(gradeDiagnosis(undefined, cause())).toMatchObject({ graded: false, matched: false });
  });

  it('keeps the top hypothesis as stated', () => {
    expect(gradeDiagnosis(output([h()]), cause()).top).toEqual({ service: 'inventory-service', category: 'connection-pool', changeId: 'CR2077', confidence: 0.8, summary: 'CR2077 halved the pool' });
  });

  it('turns people\'s cause into an answer key', () => {
    expect(answerOfCause(cause())).toEqual({ rootCause: { service: 'inventory-service', category: 'connection-pool', changeId: 'CR2077' } });
    expect(answerOfCause(cause({ category: 'unknown', change: undefined }))).toEqual({ rootCause: { service: 'inventory-service' } });
  });
});
