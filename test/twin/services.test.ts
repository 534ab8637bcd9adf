/**
 * The twin's pieces on their own, where they must behave like AWS or fail naming the problem: API Gateway's answer
 * to a function timeout, EventBridge with a failing subscriber, dynalite on a directory another twin holds, the
 * CLI's reading of a damaged twin.json, and `eval` on a directory that does not exist.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { startApi } from '../../lib/local/api-gateway.ts';
import { resolveTwin, TwinNotRunning } from '../../lib/local/data-dir.ts';
import { DynamoStartFailed, startDynamo } from '../../lib/local/dynamodb.ts';
import { NoScenarios, scenarioFiles } from '../../lib/local/eval.ts';
import { EventBus } from '../../lib/local/event-bus.ts';
import { LambdaFunctionError } from '../../lib/local/lambda-runtime.ts';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'autopilot-services-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('twin services', () => {
  it('answers a function timeout with 500 Internal Server Error, as API Gateway does for any function error', async () => {
    const api = await startApi({ port: 0, invoke: async () => Promise.reject(new LambdaFunctionError('Sandbox.Timedout', 'Task timed out after 15.00 seconds')) });
    try {
      const res = await fetch(`${api.url}/incidents`);
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ message: 'Internal Server Error' });
    } finally {
      await api.stop();
    }
  });

  it('hands path parameters to the function decoded, once, and answers a malformed escape with 400 without invoking it', async () => {
    const seen: unknown[] = [];
    const api = await startApi({
      port: 0,
      invoke: async (_fn, event) => {
        seen.push((event as { pathParameters?: unknown }).pathParameters);
        return { statusCode: 200, body: '{}' };
      },
    });
    try {
      expect((await fetch(`${api.url}/incidents/inc%2D1%25`)).status).toBe(200);
      expect(seen).toEqual([{ id: 'inc-1%' }]);
      expect((await fetch(`${api.url}/incidents/inc%zz`)).status).toBe(400);
      expect(seen).toHaveLength(1);
    } finally {
      await api.stop();
    }
  });

  it('publishes an event even when a subscriber throws (PutEvents does not fail for a target)', () => {
    const bus = new EventBus();
    const seen: string[] = [];
    bus.onEvent(() => {
      throw new Error('subscriber bug');
    });
    bus.onEvent((e) => seen.push(e['detail-type']));
    const result = bus.put([{ Source: 'test', DetailType: 'Incident Resolved', Detail: '{"incidentId":"i-1"}' }], 'bus');
    expect(result.FailedEntryCount).toBe(0);
    expect(seen).toEqual(['Incident Resolved']);
    expect(bus.events).toHaveLength(1);
  });

  it('refuses a second dynalite on a data directory another twin holds, saying so', async () => {
    const path = join(tempDir(), 'dynamodb');
    const first = await startDynamo({ path, tableName: 'incidents' });
    try {
      await expect(startDynamo({ path, tableName: 'incidents' })).rejects.toThrow(DynamoStartFailed);
      await expect(startDynamo({ path, tableName: 'incidents' })).rejects.toThrow(/another twin running on/);
    } finally {
      await first.stop();
    }
  });

  it("reports the CPU time of dynalite's thread, which grows with the requests it serves, and still stops", async () => {
    const dynamo = await startDynamo({ tableName: 'incidents' });
    try {
      const before = await dynamo.cpuUsage();
      for (let i = 0; i < 20; i++) await dynamo.client.send(new DescribeTableCommand({ TableName: 'incidents' }));
      const after = await dynamo.cpuUsage();
      expect(after.user + after.system).toBeGreaterThan(before.user + before.system);
    } finally {
      await dynamo.stop();
    }
    await expect(dynamo.cpuUsage()).rejects.toThrow(DynamoStartFailed);
  });

  it('names a damaged twin.json instead of failing with a bare JSON error', () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'twin.json'), '{"url": "http://127.0.0.1:8787", "pi');
    expect(() => resolveTwin({ dataDir })).toThrow(TwinNotRunning);
    expect(() => resolveTwin({ dataDir })).toThrow(/twin\.json is not valid JSON/);
    writeFileSync(join(dataDir, 'twin.json'), '{"url": "http://127.0.0.1:8787", "startedAt": "2026-01-01T00:00:00Z"}');
    expect(() => resolveTwin({ dataDir })).toThrow(/twin\.json: pid: /);
  });

  it('says that an eval directory does not exist', () => {
    const missing = join(tempDir(), 'no-such-dir');
    expect(() => scenarioFiles(missing)).toThrow(NoScenarios);
    expect(() => scenarioFiles(missing)).toThrow(`${missing} is not a directory of scenario files`);
  });
});
