/**
 * Property fuzz of the alert normalisers (issue 9, finding 1): whatever shape a payload has — wrong types at any
 * field, arrays where objects belong, null bodies, huge or odd strings — a normaliser either returns alerts or throws
 * AlertPayloadInvalid whose every problem names a field (`path: …`). Anything else (a TypeError, a URIError) would be
 * a 500 from POST /alerts/{source}; every alert returned is keepable (a clipped emoji title must not end in half a
 * surrogate pair). The last test sends a share of the cases through the webhook to show 202 or 4xx.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AlertPayloadInvalid, normalizeAlerts } from '../../../functions/core/alerts/index.ts';
import { MemoryEventPublisher } from '../../../functions/core/events.ts';
import { unkeepableProblems } from '../../../functions/core/keepable-json.ts';
import { NormalizedAlert } from '../../../functions/core/model.ts';
import { StaticSecret } from '../../../functions/core/secrets.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { ingestAlert } from '../../../functions/ingest-alert/core.ts';
import { FakeWorkflow, SECRET, apiEvent, statusOf } from '../api/fixtures.ts';

const SAMPLES = ['dynatrace', 'alertmanager', 'datadog', 'datadog-default', 'cloudwatch', 'generic'] as const;
const sourceOf = (sample: string) => sample.replace(/-default$/, '');
const sample = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../../events/alerts/${name}.json`, import.meta.url), 'utf8'));
const now = new Date('2024-05-01T12:10:00.000Z');

/** mulberry32: a small seeded generator, so a failure replays. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const HUGE = 'x'.repeat(200_000);
/** Values of every JSON type and the odd strings vendors and attackers send. */
const ODD_VALUES: unknown[] = [
  null, true, false, 0, -1, 1.5, -0, 1e-100, Number.MAX_SAFE_INTEGER, '', ' ', 'x', HUGE, `${'😀'.repeat(600)}x`, '\u0000\u0007\u001b[31m', '[Triggered]',
  '\ud800', 'a\udc00b',
  '2024-05-01T12:00:00Z', '1714565400000', '{"a":1}', '[1,2]', 'not json', [], [1, 'a'], [[]], [{}], {}, { a: 1 }, { name: 42 }, [null],
];

/** Every path in a JSON value (objects and arrays, all depths). */
const pathsOf = (value: unknown, prefix: (string | number)[] = []): (string | number)[][] => {
  if (typeof value !== 'object' || value === null) return [];
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...pathsOf(v, [...prefix, k])]);
};
const withValue = (payload: unknown, path: (string | number)[], value: unknown): unknown => {
  const copy = structuredClone(payload) as Record<string | number, unknown>;
  let at = copy;
  for (const p of path.slice(0, -1)) at = at[p] as Record<string | number, unknown>;
  at[path.at(-1)!] = value;
  return copy;
};

/** The outcome of one normalisation: alerts, or the problems of an AlertPayloadInvalid; anything else is thrown. */
const outcome = (source: string, payload: unknown): { alerts: number } | { problems: readonly string[] } => {
  try {
    const items = normalizeAlerts(source, payload, { now });
    // Every alert is valid and keepable: a clipped title must not end in half a surrogate pair.
    for (const { alert } of items) expect(unkeepableProblems(NormalizedAlert.parse(alert))).toEqual([]);
    return { alerts: items.length };
  } catch (error) {
    if (error instanceof AlertPayloadInvalid) return { problems: error.problems };
    throw new Error(`${source} normaliser threw ${(error as Error).name}: ${(error as Error).message}\npayload: ${JSON.stringify(payload).slice(0, 500)}`, { cause: error });
  }
};
/** A problem starts with the field it is about (a path, or a label such as `tags (service:<name>) or scope`), then ": ". */
const FIELD_PROBLEM = /^[^\s:][^\n]*?: \S/;

/** The cases: each field of each sample set to each odd value, then random multi-field mutations. */
const cases = (name: string): unknown[] => {
  const base = sample(name);
  const paths = pathsOf(base);
  const out: unknown[] = [null, [], [base], 'text', 42, {}, { ...(base as object), extra: HUGE }];
  for (const path of paths) for (const value of ODD_VALUES) out.push(withValue(base, path, value));
  const next = random(name.length * 7919);
  for (let i = 0; i < 300; i++) {
    let payload = base;
    for (let j = 0; j < 3; j++) {
      const current = pathsOf(payload);
      if (current.length === 0) break;
      payload = withValue(payload, current[Math.floor(next() * current.length)], ODD_VALUES[Math.floor(next() * ODD_VALUES.length)]);
    }
    out.push(payload);
  }
  return out;
};

describe('unit: alert normalisers under fuzz', () => {
  it.each(SAMPLES)('%s: every mutated payload gives alerts or AlertPayloadInvalid naming a field, never another error', (name) => {
    // Prepare
    const all = cases(name);
    let refused = 0;
    // Act + Assess
    for (const payload of all) {
      const result = outcome(sourceOf(name), payload);
      if ('problems' in result) {
        refused++;
        expect(result.problems.length).toBeGreaterThan(0);
        for (const problem of result.problems) expect(problem).toMatch(FIELD_PROBLEM);
      }
    }
    // The fuzz reaches both sides: some payloads are refused, some still accepted.
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThan(all.length);
  });

  it.each(SAMPLES)('%s: a share of the mutated payloads through POST /alerts/{source} answers 202 or 4xx, never 5xx', async (name) => {
    const store = new MemoryIncidentStore();
    const ingest = ingestAlert({
      store,
      workflow: new FakeWorkflow(),
      events: new MemoryEventPublisher({ validate: true }),
      secret: new StaticSecret(SECRET),
      config: { MAX_BODY_BYTES: 1024 * 1024, VERIFY_WAIT_SECONDS: 30, MAX_VERIFY_CHECKS: 3 },
      clock: () => now,
    });
    const all = cases(name).filter((_, i) => i % 7 === 0);
    const statuses = new Set<number>();
    for (const payload of all) {
      const result = await ingest(apiEvent('POST /alerts/{source}', { path: { source: sourceOf(name) }, rawBody: JSON.stringify(payload) }));
      statuses.add(statusOf(result) ?? 0);
      expect(statusOf(result), JSON.stringify(payload).slice(0, 300)).toBeLessThan(500);
    }
    expect([...statuses].every((s) => s === 202 || (s >= 400 && s < 500))).toBe(true);
  });
});
