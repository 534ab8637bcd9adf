/**
 * The hypothesis schema's culprit and mechanism (issue 11) are optional on the way in: a root-cause output stored
 * before they existed, and a model's answer that leaves them out, still parse; one with them keeps them, through
 * the strict schema a model answers in (encode → JSON → decode → parse) as well.
 */
import { describe, expect, it } from 'vitest';
import { Hypothesis, RootCauseOutput } from '../../../functions/core/model.ts';
import { toStrictOutputSchema } from '../../../functions/core/reasoning/strict-schema.ts';

/** A root-cause output as stored before issue 11 (no culprit, no mechanism). */
const stored = {
  rootCauses: [
    {
      summary: 'CHG-1 "Tune pool" (config on inventory-service: maximum-pool-size 20 → 10)',
      service: 'inventory-service',
      category: 'connection-pool',
      changeId: 'CHG-1',
      predictions: [{ statement: 'timing', result: 'supported', evidenceIds: ['change:CHG-1'] }],
      confidence: 0.93,
      evidenceIds: ['change:CHG-1'],
    },
  ],
  abstained: false,
  missingEvidence: [],
  rollbackCandidate: 'CHG-1',
  reasoning: 'r',
  evidenceIds: ['change:CHG-1'],
};

const withFields = {
  ...stored,
  rootCauses: [{ ...stored.rootCauses[0], category: 'config-change', culprit: { kind: 'change', service: 'inventory-service', changeId: 'CHG-1' }, mechanism: 'connection-pool' }],
};

describe('unit: Hypothesis culprit and mechanism', () => {
  it('parses an output stored before they existed, without inventing them', () => {
    const parsed = RootCauseOutput.parse(stored);
    expect(parsed.rootCauses[0].culprit).toBeUndefined();
    expect(parsed.rootCauses[0].mechanism).toBeUndefined();
    expect(parsed).toEqual(stored);
  });

  it('keeps them when given, and refuses a culprit kind or mechanism outside the enums, naming the field', () => {
    expect(RootCauseOutput.parse(withFields)).toEqual(withFields);
    const badKind = Hypothesis.safeParse({ ...withFields.rootCauses[0], culprit: { kind: 'cosmic-ray', service: 's' } });
    expect(badKind.success).toBe(false);
    expect(badKind.error?.issues[0]?.path).toEqual(['culprit', 'kind']);
    const badMechanism = Hypothesis.safeParse({ ...withFields.rootCauses[0], mechanism: 'gremlins' });
    expect(badMechanism.error?.issues[0]?.path).toEqual(['mechanism']);
    expect(Hypothesis.safeParse({ ...withFields.rootCauses[0], culprit: { kind: 'change' } }).success).toBe(false);
  });

  it('round-trips through the strict schema a model answers in, with and without them', () => {
    const strict = toStrictOutputSchema(RootCauseOutput);
    for (const output of [withFields, stored]) {
      const answer = JSON.parse(JSON.stringify(strict.encode(RootCauseOutput.parse(output))));
      expect(RootCauseOutput.parse(strict.decode(answer))).toEqual(output);
    }
    // A model that writes null for them (strict mode makes every property required) means "absent".
    const answer = JSON.parse(JSON.stringify(strict.encode(RootCauseOutput.parse(withFields)))) as { rootCauses: Record<string, unknown>[] };
    answer.rootCauses[0] = { ...answer.rootCauses[0], culprit: null, mechanism: null };
    const decoded = RootCauseOutput.parse(strict.decode(answer));
    expect(decoded.rootCauses[0].culprit).toBeUndefined();
    expect(decoded.rootCauses[0].mechanism).toBeUndefined();
  });
});
