/**
 * Plain JSON for what the stores write to DynamoDB: drops `undefined`, turns NaN/Infinity into null, class instances
 * into maps, and numbers outside DynamoDB's range into the nearest it keeps — DynamoDB rejects each of them otherwise
 * ("Number underflow" fails the put, and with it an incident's step or a journalled action's result). One helper for
 * the incident store and the action journal, so neither can drift from the other.
 */

/** DynamoDB's number range: magnitudes from 1e-130 to just under 1e126. */
const DYNAMO_MIN_MAGNITUDE = 1e-130;
const DYNAMO_MAX_MAGNITUDE = 9.99999999999999e125; // prints as 9.99999999999999e+125 (one more 9 prints as 1e+126, beyond the range)

/**
 * A computed number as DynamoDB can keep it: the nearest value in its range. What the stores write is computed
 * (agent outputs and evidence, verdicts, timings, measured action results), never a payload (intake refuses
 * unkeepable ones, keepable-json.ts): a tail probability of 1e-140 is 0 to every reader. A JSON.stringify replacer.
 */
export const keepableNumber = (_key: string, v: unknown): unknown => {
  if (typeof v !== 'number' || v === 0 || !Number.isFinite(v)) return v;
  const magnitude = Math.abs(v);
  if (magnitude < DYNAMO_MIN_MAGNITUDE) return 0;
  if (magnitude > DYNAMO_MAX_MAGNITUDE) return Math.sign(v) * DYNAMO_MAX_MAGNITUDE;
  return v;
};

/** Plain JSON as DynamoDB keeps it (see the header). `undefined` stays `undefined`. */
export const plain = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value, keepableNumber)) as T));
