/**
 * The incident routes refuse an id that cannot be one of ours with 400 naming the path parameter, before the store is
 * read. Found on the laptop twin: `POST /incidents/<2,040 characters>/approval` (and `/rerun`) answered 500, because the
 * DynamoDB key `INCIDENT#<id>` passed the 2,048-byte partition-key limit and DynamoDB refused it with a
 * ValidationException. The store below refuses such keys the way DynamoDB does.
 */
import { describe, expect, it } from 'vitest';
import { type ApiEvent, MAX_PATH_PARAM_CHARS } from '../../../functions/core/http.ts';
import { MemoryEventPublisher } from '../../../functions/core/events.ts';
import { StaticSecret } from '../../../functions/core/secrets.ts';
import { MemoryActionJournal } from '../../../functions/core/store/journal.ts';
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { decideApproval } from '../../../functions/decide-approval/core.ts';
import { queryIncidents } from '../../../functions/query-incidents/core.ts';
import { rerunIncident } from '../../../functions/rerun-incident/core.ts';
import { manualClock } from '../store/contract.ts';
import { CONFIG, FakeWorkflow, SECRET, apiEvent, bodyOf, statusOf } from './fixtures.ts';

/** DynamoDB's limit on a partition key value, in bytes. */
const PARTITION_KEY_LIMIT = 2048;

/** A memory store that records every call and, like DynamoDB, refuses a partition key `INCIDENT#<id>` over 2,048 bytes. */
const keyLimitedStore = () => {
  const calls: string[] = [];
  const inner = new MemoryIncidentStore();
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        if (typeof args[0] === 'string' && Buffer.byteLength(`INCIDENT#${args[0]}`, 'utf8') > PARTITION_KEY_LIMIT) {
          const error = new Error('One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes');
          error.name = 'ValidationException';
          throw error;
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, calls };
};

const routes = () => {
  const { store, calls } = keyLimitedStore();
  const workflow = new FakeWorkflow();
  const secret = new StaticSecret(SECRET);
  const decide = decideApproval({ store, workflow, secret, config: CONFIG, clock: manualClock('2024-05-01T12:10:00.000Z') });
  const rerun = rerunIncident({ store, workflow, secret, config: CONFIG, journal: new MemoryActionJournal(), events: new MemoryEventPublisher() });
  const query = queryIncidents({ store });
  const call: Record<string, (id: string) => Promise<unknown>> = {
    'GET /incidents/{id}': (id) => query(apiEvent('GET /incidents/{id}', { path: { id }, secret: null }) as ApiEvent),
    'POST /incidents/{id}/approval': (id) => decide(apiEvent('POST /incidents/{id}/approval', { path: { id }, body: { decision: 'approve', approver: 'mallory' } })),
    'POST /incidents/{id}/rerun': (id) => rerun(apiEvent('POST /incidents/{id}/rerun', { path: { id }, body: {} })),
  };
  return { call, calls, workflow };
};

const ROUTES = ['GET /incidents/{id}', 'POST /incidents/{id}/approval', 'POST /incidents/{id}/rerun'] as const;

describe('unit: incident routes and the length of the id path parameter', () => {
  it.each(ROUTES)('%s answers 400 naming the path parameter for a 2,040-character id, before reading the store', async (route) => {
    // Prepare
    const { call, calls, workflow } = routes();
    const id = 'x'.repeat(2040);
    // Act
    const result = await call[route](id);
    // Assess
    expect(statusOf(result)).toBe(400);
    expect(String(bodyOf(result).message)).toBe(`path parameter "id" is 2040 characters long; at most ${MAX_PATH_PARAM_CHARS}`);
    expect(calls).toEqual([]);
    expect(workflow.executions.size).toBe(0);
  });

  it.each(ROUTES)('%s still looks up an id of the longest length allowed (404 for an unknown one)', async (route) => {
    // Prepare
    const { call, calls } = routes();
    // Act
    const result = await call[route]('y'.repeat(MAX_PATH_PARAM_CHARS));
    // Assess
    expect(statusOf(result)).toBe(404);
    expect(calls.length).toBeGreaterThan(0);
  });
});
