/** Unit: the recorded adapter (tools/recorded.ts) — time shift, gaps, clamping, filters, sections, and no answer key. */
import { afterEach, describe, expect, it } from 'vitest';
import type { MitigationAction } from '../../../functions/core/model.ts';
import { registerRecording, recordingSource, unregisterRecording } from '../../../functions/core/recorded/store.ts';
import { ToolUnavailable, type Tools } from '../../../functions/core/tools/ports.ts';
import { MAX_POINTS, recordedTools } from '../../../functions/core/tools/recorded.ts';
import { toolsRuntime } from '../../../functions/core/tools/runtime.ts';
import { ANCHOR, API, FN, LONELY, MINUTE, OFFSET, rec, recording, replayed, SECRET, TABLE, UNTIL, iso, without } from './fixture.ts';

const ids: string[] = [];
afterEach(() => {
  for (const id of ids.splice(0)) unregisterRecording(id);
});

/** The adapter over a replay of `value` anchored at ANCHOR, its clock `afterMinutes` past the anchor. */
const setup = (value: Record<string, unknown> = recording(), afterMinutes = 2) => {
  const id = `unit-${ids.length}-${Math.random().toString(36).slice(2, 8)}`;
  ids.push(id);
  registerRecording(id, value, { anchor: ANCHOR });
  const tools = recordedTools(recordingSource(), { clock: () => new Date(ANCHOR.getTime() + afterMinutes * MINUTE) });
  return { tools, scope: { environment: id } };
};

const action = (a: Partial<MitigationAction> & Pick<MitigationAction, 'kind' | 'service'>): MitigationAction => ({ params: {}, description: 'test', risk: 'low', reversible: true, evidenceIds: [], ...a });

describe('recorded tools: metrics', () => {
  it('shifts every point by anchor − recordedUntil and maps the window back onto the recording', async () => {
    const { tools, scope } = setup();
    const [series] = await tools.telemetry.queryMetrics({ ...scope, from: replayed(-10), to: replayed(0), services: [API], metrics: ['error_rate_pct'] });
    // Recorded minutes −10 … −1 (the last point is at −1: 120 points from −120), shifted onto the replay's clock.
    expect(series.points.map((p) => p.t)).toEqual(Array.from({ length: 10 }, (_, k) => replayed(-10 + k)));
    expect(series.points.map((p) => p.v)).toEqual([110, 111, 112, 113, 114, 115, 116, 117, 118, 119]);
    expect(series).toMatchObject({ service: API, metric: 'error_rate_pct', unit: '%' });
  });

  it('has nothing after recordedUntil: a window reaching past it is clamped, one after it is empty', async () => {
    const { tools, scope } = setup(recording(), 60);
    const [past] = await tools.telemetry.queryMetrics({ ...scope, from: replayed(-3), to: replayed(50), services: [API], metrics: ['error_rate_pct'] });
    expect(past.points.map((p) => p.t)).toEqual([replayed(-3), replayed(-2), replayed(-1)]);
    const [after] = await tools.telemetry.queryMetrics({ ...scope, from: replayed(1), to: replayed(30), services: [API], metrics: ['error_rate_pct'] });
    expect(after.points).toEqual([]);
  });

  it('clamps to now on the replay clock, like the simulated world (a replay seen before its anchor)', async () => {
    const { tools, scope } = setup(recording(), -5);
    const [series] = await tools.telemetry.queryMetrics({ ...scope, from: replayed(-8), to: replayed(0), services: [API], metrics: ['error_rate_pct'] });
    expect(series.points.map((p) => p.t)).toEqual([replayed(-8), replayed(-7), replayed(-6), replayed(-5)]);
  });

  it('leaves a gap as a missing point, never a zero', async () => {
    const { tools, scope } = setup();
    const [series] = await tools.telemetry.queryMetrics({ ...scope, from: replayed(-22), to: replayed(-16), services: [API], metrics: ['error_rate_pct'] });
    // Minutes −20 … −18 (indexes 100 … 102) are gaps.
    expect(series.points.map((p) => p.t)).toEqual([replayed(-22), replayed(-21), replayed(-17), replayed(-16)]);
    expect(series.points.map((p) => p.v)).toEqual([98, 99, 103, 104]);
  });

  it('honours the metrics and services filters', async () => {
    const { tools, scope } = setup();
    const window = { from: replayed(-5), to: replayed(0) };
    const all = await tools.telemetry.queryMetrics({ ...scope, ...window, services: [API, TABLE] });
    expect(all.map((s) => `${s.service} ${s.metric}`)).toEqual([`${API} error_rate_pct`, `${API} latency_p99_ms`, `${TABLE} throttle_rate_pct`]);
    const one = await tools.telemetry.queryMetrics({ ...scope, ...window, services: [API, TABLE], metrics: ['latency_p99_ms'] });
    expect(one.map((s) => `${s.service} ${s.metric}`)).toEqual([`${API} latency_p99_ms`]);
    expect(await tools.telemetry.queryMetrics({ ...scope, ...window, services: [FN, 'nowhere'] })).toEqual([]);
  });

  it('averages into coarser periods that start at the window start (a gap does not count), and returns finer asks as recorded', async () => {
    const { tools, scope } = setup();
    const [coarse] = await tools.telemetry.queryMetrics({ ...scope, from: replayed(-25), to: replayed(-11), services: [API], metrics: ['error_rate_pct'], resolutionSeconds: 300 });
    // Periods [−25, −20): 95..99 → 97; [−20, −15): gaps 100..102, then 103, 104 → 103.5; [−15, −11]: 105..109 → 107.
    expect(coarse.points).toEqual([
      { t: replayed(-25), v: 97 },
      { t: replayed(-20), v: 103.5 },
      { t: replayed(-15), v: 107 },
    ]);
    const [fine] = await tools.telemetry.queryMetrics({ ...scope, from: replayed(-20), to: replayed(0), services: [TABLE], resolutionSeconds: 60 });
    // Five-minute points at −20 (a gap: index 20), −15, −10, −5: finer than recorded is as recorded.
    expect(fine.points).toEqual([
      { t: replayed(-15), v: 42 },
      { t: replayed(-10), v: 44 },
      { t: replayed(-5), v: 46 },
    ]);
  });

  it('keeps at most MAX_POINTS per series: a long window is averaged', async () => {
    const long = recording({ metrics: [{ service: API, metric: 'throughput_rps', unit: 'req/s', resolutionSeconds: 60, start: rec(-3000), values: Array.from({ length: 3000 }, () => 5) }] });
    const { tools, scope } = setup(long);
    const [series] = await tools.telemetry.queryMetrics({ ...scope, from: replayed(-3000), to: replayed(0), services: [API] });
    expect(series.points.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(series.points.length).toBeGreaterThan(MAX_POINTS / 2);
    expect(new Set(series.points.map((p) => p.v))).toEqual(new Set([5]));
  });

  it('refuses a bad window or resolution with a ToolUnavailable naming the field', async () => {
    const { tools, scope } = setup();
    await expect(tools.telemetry.queryMetrics({ ...scope, from: 'yesterday', to: replayed(0), services: [API] })).rejects.toThrow(/from is not an ISO 8601 time/);
    await expect(tools.telemetry.queryMetrics({ ...scope, from: replayed(0), to: replayed(-5), services: [API] })).rejects.toThrow(/is after to/);
    await expect(tools.telemetry.queryMetrics({ ...scope, from: replayed(-5), to: replayed(0), services: [API], resolutionSeconds: 0 })).rejects.toThrow(ToolUnavailable);
  });
});

describe('recorded tools: topology, traces, logs, changes, history, on-call, actions', () => {
  it('serves the topology without the recorded type, whole or the part connected to the services', async () => {
    const { tools, scope } = setup();
    const all = await tools.telemetry.getTopology(scope);
    expect(all).toEqual([
      { name: API, tier: 'frontend', calls: [FN] },
      { name: FN, tier: 'backend', calls: [TABLE] },
      { name: TABLE, tier: 'database', calls: [] },
      { name: LONELY, tier: 'backend', calls: [] },
    ]);
    expect((await tools.telemetry.getTopology({ ...scope, services: [TABLE] })).map((n) => n.name)).toEqual([API, FN, TABLE]);
  });

  it('returns the traces passing through a service in the window, shifted (spans too), errors only when asked, within the limit', async () => {
    const { tools, scope } = setup();
    const window = { from: replayed(-60), to: replayed(0) };
    const viaTable = await tools.telemetry.getTraces({ ...scope, ...window, services: [TABLE] });
    expect(viaTable.map((t) => t.traceId)).toEqual(['t-2']);
    expect(viaTable[0].startedAt).toBe(replayed(-7));
    expect(viaTable[0].spans.map((s) => s.startedAt)).toEqual([replayed(-7), replayed(-7)]);
    expect(viaTable[0].spans[1]).toEqual({ spanId: 's4', parentSpanId: 's3', service: TABLE, operation: 'PutItem', startedAt: replayed(-7), durationMs: 300, status: 'ERROR', error: 'ProvisionedThroughputExceededException' });
    expect((await tools.telemetry.getTraces({ ...scope, ...window, services: [API] })).map((t) => t.traceId)).toEqual(['t-1', 't-2', 't-3']);
    expect((await tools.telemetry.getTraces({ ...scope, ...window, services: [API], errorsOnly: true, limit: 1 })).map((t) => t.traceId)).toEqual(['t-3']);
    expect((await tools.telemetry.getTraces({ ...scope, from: replayed(-20), to: replayed(0), services: [API] })).map((t) => t.traceId)).toEqual(['t-2', 't-3']);
  });

  it('searches logs by service, window and level, keeping the newest lines up to the limit, shifted', async () => {
    const { tools, scope } = setup();
    const window = { from: replayed(-60), to: replayed(0) };
    const errors = await tools.logs.search({ ...scope, ...window, services: [FN], minLevel: 'ERROR' });
    expect(errors).toEqual([
      { timestamp: replayed(-7), service: FN, level: 'ERROR', message: 'ProvisionedThroughputExceededException', traceId: 't-2' },
      { timestamp: replayed(-1), service: FN, level: 'ERROR', message: 'ProvisionedThroughputExceededException', host: 'sandbox-1' },
    ]);
    const newest = await tools.logs.search({ ...scope, ...window, services: [FN, API], limit: 2 });
    expect(newest.map((l) => l.timestamp)).toEqual([replayed(-6), replayed(-1)]);
    expect(await tools.logs.search({ ...scope, from: replayed(-60), to: replayed(-55), services: [FN] })).toEqual([]);
  });

  it('lists the changes in the window, newest first, shifted, by service when asked', async () => {
    const { tools, scope } = setup();
    const changes = await tools.changes.listChanges({ ...scope, from: replayed(-120), to: replayed(0) });
    expect(changes.map((c) => [c.id, c.deployedAt, c.state])).toEqual([
      ['ct-1', replayed(-30), 'implemented'],
      ['ct-0', replayed(-90), 'implemented'],
    ]);
    expect(changes[0].configChange).toEqual({ param: 'BillingMode', old: 'PAY_PER_REQUEST', new: 'PROVISIONED' });
    expect((await tools.changes.listChanges({ ...scope, from: replayed(-120), to: replayed(0), services: [FN] })).map((c) => c.id)).toEqual(['ct-0']);
    expect(await tools.changes.listChanges({ ...scope, from: replayed(-20), to: replayed(0) })).toEqual([]);
  });

  it('searches the history as of the replay (a later incident does not exist yet), and keeps recorded incidents in memory for the replay', async () => {
    const { tools, scope } = setup();
    const found = await tools.changes.searchIncidents({ ...scope, text: 'orders table throttling' });
    expect(found.map((i) => i.id)).toEqual(['INC-1']);
    expect(found[0].openedAt).toBe(iso(Date.parse('2024-06-01T10:00:00Z') + OFFSET));
    const incident = { id: 'inc-new', title: 'Orders throttled by provisioned capacity', service: TABLE, openedAt: replayed(-10), rootCause: 'provisioned capacity', resolution: 'on-demand', tags: [] };
    await tools.changes.recordIncident({ ...scope, incident });
    await tools.changes.recordIncident({ ...scope, incident });
    expect((await tools.changes.searchIncidents({ ...scope, text: 'provisioned capacity' })).map((i) => i.id)).toEqual(['inc-new']);
    // Another replay of the same recording does not see it.
    const other = setup();
    expect((await other.tools.changes.searchIncidents({ ...other.scope, text: 'provisioned capacity' })).map((i) => i.id)).toEqual([]);
  });

  it('serves on-call and ownership for the services asked', async () => {
    const { tools, scope } = setup();
    expect(await tools.oncall.getOnCall({ ...scope, services: [API, FN] })).toEqual([{ service: API, primary: { name: 'Priya', contact: 'priya@example.com' } }]);
    expect(await tools.oncall.getOwnership({ ...scope, services: [API] })).toEqual([{ service: API, team: 'orders', slackChannel: '#orders' }]);
  });

  it('runs no action: failed, saying a recorded incident cannot be changed', async () => {
    const { tools, scope } = setup();
    const result = await tools.actions.execute({ ...scope, incidentId: 'i-1', action: action({ kind: 'revert-config', service: TABLE, target: 'ct-1' }) });
    expect(result.status).toBe('failed');
    expect(result.detail).toMatch(/^a recorded incident cannot be changed: revert-config Orders_AWS::DynamoDB::Table ct-1 was not run/);
  });

  it('reports a section the recording left out as a gap (ToolUnavailable), and an empty one as nothing there', async () => {
    const missing = setup(without('logs', 'traces', 'changes', 'history', 'oncall', 'ownership', 'metrics'));
    const q = { ...missing.scope, from: replayed(-10), to: replayed(0), services: [API] };
    await expect(missing.tools.logs.search(q)).rejects.toThrow(/logs unavailable: recording "unit-orders" holds no logs \(its "logs" section was not recorded\)/);
    await expect(missing.tools.telemetry.getTraces(q)).rejects.toThrow(/holds no traces/);
    await expect(missing.tools.telemetry.queryMetrics(q)).rejects.toThrow(/holds no metrics/);
    await expect(missing.tools.changes.listChanges(q)).rejects.toThrow(/holds no change records/);
    await expect(missing.tools.changes.searchIncidents({ ...missing.scope, text: 'x' })).rejects.toThrow(/holds no incident history/);
    await expect(missing.tools.oncall.getOnCall(q)).rejects.toThrow(/holds no on-call data/);
    await expect(missing.tools.oncall.getOwnership(q)).rejects.toThrow(/holds no ownership data/);
    const empty = setup(recording({ logs: [], changes: [] }));
    expect(await empty.tools.logs.search({ ...empty.scope, from: replayed(-10), to: replayed(0), services: [API] })).toEqual([]);
    expect(await empty.tools.changes.listChanges({ ...empty.scope, from: replayed(-10), to: replayed(0) })).toEqual([]);
  });

  it('names an unknown or missing environment', async () => {
    const { tools } = setup();
    const q = { from: replayed(-10), to: replayed(0), services: [API] };
    await expect(tools.telemetry.queryMetrics(q)).rejects.toThrow(/no environment in the tool scope/);
    await expect(tools.logs.search({ ...q, environment: 'nowhere' })).rejects.toThrow(/logs unavailable: environment "nowhere" is not a recording known to/);
  });
});

describe('recorded tools: the answer key', () => {
  it('never returns expect, the description or the source', async () => {
    const { tools, scope } = setup();
    const services = [API, FN, TABLE, LONELY];
    const window = { from: replayed(-200), to: replayed(0) };
    const seen = JSON.stringify({
      metrics: await tools.telemetry.queryMetrics({ ...scope, ...window, services }),
      traces: await tools.telemetry.getTraces({ ...scope, ...window, services, limit: 100 }),
      topology: await tools.telemetry.getTopology(scope),
      changes: await tools.changes.listChanges({ ...scope, ...window }),
      incidents: await tools.changes.searchIncidents({ ...scope, text: 'orders table throttling dns revert config', services, limit: 50 }),
      logs: await tools.logs.search({ ...scope, ...window, services, limit: 10_000 }),
      oncall: await tools.oncall.getOnCall({ ...scope, services }),
      ownership: await tools.oncall.getOwnership({ ...scope, services }),
      action: await tools.actions.execute({ ...scope, incidentId: 'i-1', action: action({ kind: 'revert-config', service: TABLE, target: 'ct-1' }) }),
    });
    for (const marker of ['"expect"', '"rootCause":{', '"category":"dns"', SECRET.target, SECRET.description, SECRET.source, '"type":"AWS::']) expect(seen.includes(marker), marker).toBe(false);
    expect(seen.length).toBeGreaterThan(2_000);
  });
});

describe('recorded row of the adapter table', () => {
  it('is chosen explicitly by TOOLS_DEFAULT=recorded for every port, and serves a registered replay', async () => {
    const runtime = toolsRuntime({ TOOLS_DEFAULT: 'recorded' }, { getSecret: async () => '', clock: () => new Date(ANCHOR.getTime() + MINUTE) });
    expect(runtime.sources).toEqual({ telemetry: 'recorded', changes: 'recorded', logs: 'recorded', oncall: 'recorded', actions: 'recorded' });
    const { scope } = setup();
    const tools: Tools = runtime.tools;
    expect((await tools.telemetry.getTopology(scope)).length).toBe(4);
    const [series] = await tools.telemetry.queryMetrics({ ...scope, from: replayed(-2), to: replayed(0), services: [API], metrics: ['error_rate_pct'] });
    expect(series.points.map((p) => p.v)).toEqual([118, 119]);
    expect(UNTIL + OFFSET).toBe(ANCHOR.getTime());
  });

  it('is never chosen without being named', () => {
    expect(toolsRuntime({}, { getSecret: async () => '' }).sources.telemetry).toBe('none');
  });
});
