/** Unit: `autopilot export --confirm-top` — what a human confirms becomes the answer key, and nothing it did not say. */
import { describe, expect, it } from 'vitest';
import { topHypothesisExpect, type ExportableIncident } from '../../../functions/core/recorded/export.ts';

const SEARCH = 'PetSearch_AWS::ECS::Fargate';
const view = (rootCauses: unknown[]): ExportableIncident => ({ incident: { incidentId: 'inc-1' }, agents: { rootcause: { output: { rootCauses } } } });

describe('unit: export --confirm-top', () => {
  it('leaves the category out when the hypothesis has none to confirm ("unknown"), so a later, better category still matches', () => {
    expect(topHypothesisExpect(view([{ service: SEARCH, category: 'unknown', confidence: 0.9 }]))).toEqual({ rootCause: { service: SEARCH } });
    expect(topHypothesisExpect(view([{ service: SEARCH, category: 'database', confidence: 0.9 }]))).toEqual({ rootCause: { service: SEARCH, category: 'database' } });
  });
});
