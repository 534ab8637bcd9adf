/**
 * Poison payloads (issue 9, finding 1): bodies that are valid JSON and pass every vendor schema, but hold a value
 * this system cannot keep: an integer beyond 2^53, nesting 10,000 deep inside an accepted field, a lone UTF-16
 * surrogate. Each used to answer 500 after the incident and its dedup pointer were written. Now the body parser
 * refuses them (400 naming the field) before anything is written, started or published — with the memory store and
 * with DynamoIncidentStore (whose document client would refuse the unsafe integers only when storing the raw alert).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryEventPublisher } from '../../../functions/core/events.ts';
import { StaticSecret } from '../../../functions/core/secrets.ts';
import { DynamoIncidentStore } from '../../../functions/core/store/dynamo-store.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import type { AlertIntakeStore } from '../../../functions/core/store/store.ts';
import { ingestAlert } from '../../../functions/ingest-alert/core.ts';
import { decideApproval } from '../../../functions/decide-approval/core.ts';
import { manualClock } from '../store/contract.ts';
import { CONFIG, FakeWorkflow, SECRET, apiEvent, bodyOf, sampleAlert, statusOf } from './fixtures.ts';

type Json = Record<string, unknown>;
const MARK = '@@poison@@';

/** The sample of `source` as JSON text with `literal` (raw JSON text, e.g. `1e20`) at the dotted `path`. */
const poisoned = (source: string, path: string, literal: string): string => {
  const payload = structuredClone(sampleAlert(source));
  const parts = path.split('.');
  let at: Json = payload;
  for (const p of parts.slice(0, -1)) at = (at[p] ??= {}) as Json;
  at[parts.at(-1)!] = MARK;
  return JSON.stringify(payload).replace(JSON.stringify(MARK), literal);
};
const nested = (depth: number): string => `${'['.repeat(depth)}"x"${']'.repeat(depth)}`;

/** [name, source, body, the field the 400 must name first]. */
const POISON: [string, string, string, RegExp][] = [
  ['generic id 2^53 + 1', 'generic', poisoned('generic', 'id', '9007199254740993'), /^id: 9007199254740993 is not an integer this system can keep exactly \(beyond 2\^53\)$/],
  ['Dynatrace PID 1e308', 'dynatrace', poisoned('dynatrace', 'PID', '1e308'), /^PID: 1e308 is not an integer/],
  ['Dynatrace ProblemDetailsJSONv2.startTime 1e20', 'dynatrace', poisoned('dynatrace', 'ProblemDetailsJSONv2.startTime', '1e20'), /^ProblemDetailsJSONv2\.startTime: 1e20 is not an integer this system can keep exactly \(beyond 2\^53\)$/],
  ['Datadog org_id 12345678901234567890', 'datadog', poisoned('datadog', 'org_id', '12345678901234567890'), /^org_id: 12345678901234567890 is not an integer/],
  ['Dynatrace ProblemDetailsJSONv2 nested 10,000 deep', 'dynatrace', poisoned('dynatrace', 'ProblemDetailsJSONv2.evidence', nested(10_000)), /^ProblemDetailsJSONv2\.evidence(\.0)+: nests deeper than 24 levels/],
  ['Datadog extra field nested 10,000 deep', 'datadog', poisoned('datadog', 'extra', nested(10_000)), /^extra(\.0)+: nests deeper than 24 levels/],
  ['CloudWatch detail.configuration nested 10,000 deep', 'cloudwatch', poisoned('cloudwatch', 'detail.configuration.extra', nested(10_000)), /^detail\.configuration\.extra(\.0)+: nests deeper/],
  ['Dynatrace ProblemDetailsJSONv2 nested 64 deep (accepted before)', 'dynatrace', poisoned('dynatrace', 'ProblemDetailsJSONv2.evidence', nested(64)), /^ProblemDetailsJSONv2\.evidence(\.0)+: nests deeper/],
  ['CloudWatch detail.alarmName with a lone surrogate', 'cloudwatch', poisoned('cloudwatch', 'detail.alarmName', '"p99 \\ud800"'), /^detail\.alarmName: holds a lone UTF-16 surrogate/],
  ['generic object key with a lone surrogate', 'generic', poisoned('generic', 'tags', '{"te\\udc00am": "x"}'), /^tags\.te.am: this key holds a lone UTF-16 surrogate/],
];

/** The store behind a proxy that records every write (any method but reads). */
const recording = <S extends object>(store: S) => {
  const writes: string[] = [];
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (!/^(get|list|find)/.test(String(prop))) writes.push(String(prop));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { proxy, writes };
};

const setup = (store: AlertIntakeStore) => {
  const workflow = new FakeWorkflow();
  const events = new MemoryEventPublisher({ validate: true });
  const ingest = ingestAlert({ store, workflow, events, secret: new StaticSecret(SECRET), config: CONFIG, clock: manualClock('2024-05-01T12:10:00.000Z'), newIncidentId: () => 'inc-1' });
  const post = (source: string, rawBody: string) => ingest(apiEvent('POST /alerts/{source}', { path: { source }, rawBody }));
  return { workflow, events, post };
};

describe('unit: poison payloads with the memory store', () => {
  it.each(POISON)('%s → 400 naming the field; nothing written, started or published', async (_name, source, body, problem) => {
    // Prepare
    const memory = new MemoryIncidentStore();
    const { proxy, writes } = recording(memory);
    const { post, workflow, events } = setup(proxy);
    // Act
    const result = await post(source, body);
    // Assess
    expect(statusOf(result), JSON.stringify(bodyOf(result))).toBe(400);
    expect((bodyOf(result).problems as string[])[0]).toMatch(problem);
    expect(writes).toEqual([]); // no incident, no DEDUP or CORR pointer, no ALERT, no timeline event
    expect((await memory.listIncidents({})).items).toEqual([]);
    expect(workflow.executions.size).toBe(0);
    expect(events.events).toEqual([]);
  });

  it('still accepts each sample with a safe integer and a deep-but-allowed field (controls for the cases above)', async () => {
    for (const [source, body] of [
      ['generic', poisoned('generic', 'id', '9007199254740991')],
      ['dynatrace', poisoned('dynatrace', 'ProblemDetailsJSONv2.evidence', nested(20))],
    ]) {
      const { post, workflow } = setup(new MemoryIncidentStore());
      expect(statusOf(await post(source, body))).toBe(202);
      expect(workflow.executions.size).toBe(1);
    }
  });
});

describe('unit: poison payloads with DynamoIncidentStore', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  beforeEach(() => ddb.reset());

  it.each(POISON)('%s → 400 naming the field, and not one DynamoDB request', async (_name, source, body, problem) => {
    // Prepare
    const store = new DynamoIncidentStore(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), 'incidents', { clock: manualClock('2024-05-01T12:10:00.000Z') });
    const { post, workflow, events } = setup(store);
    // Act
    const result = await post(source, body);
    // Assess
    expect(statusOf(result)).toBe(400);
    expect((bodyOf(result).problems as string[])[0]).toMatch(problem);
    expect(ddb.calls()).toHaveLength(0);
    expect(workflow.executions.size).toBe(0);
    expect(events.events).toEqual([]);
  });
});

describe('unit: every API route that parses a JSON body refuses an unkeepable one', () => {
  it('decide-approval answers a body nested 10,000 deep 400 naming the field, and decides nothing', async () => {
    const workflow = new FakeWorkflow();
    const decide = decideApproval({ store: new MemoryIncidentStore(), workflow, secret: new StaticSecret(SECRET), config: CONFIG, clock: manualClock('2024-05-01T12:10:00.000Z') });
    const result = await decide(apiEvent('POST /incidents/{id}/approval', { path: { id: 'inc-1' }, rawBody: `{"decision": "APPROVE", "comment": ${nested(10_000)}}` }));
    expect(statusOf(result)).toBe(400);
    expect(bodyOf(result).problems).toEqual([expect.stringMatching(/^comment(\.0)+: nests deeper than 24 levels/)]);
    expect([...workflow.successes, ...workflow.failures]).toEqual([]);
  });
});
