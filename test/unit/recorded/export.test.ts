/** Unit: `autopilot export` — what the agents kept, written as a recording (recorded/export.ts, recorded/readings.ts). */
import { describe, expect, it } from 'vitest';
import { exportRecording, NotExportable, recordingJson, topHypothesisExpect, type ExportableIncident } from '../../../functions/core/recorded/export.ts';
import { parseRecording } from '../../../functions/core/recorded/format.ts';
import { fromReadings, toReadings } from '../../../functions/core/recorded/readings.ts';

const FN = 'create-order_AWS::Lambda::Function';
const TABLE = 'Orders_AWS::DynamoDB::Table';
const T0 = Date.parse('2025-01-01T10:00:00Z');
const at = (minutes: number, seconds = 0) => new Date(T0 + minutes * 60_000 + seconds * 1000).toISOString();

/** Minute points 0..9 with minute 4 missing, and an extra point 20 s after the last minute (as a tool's `to`). */
const points = [0, 1, 2, 3, 5, 6, 7, 8, 9].map((m) => ({ t: at(m), v: m * 1.5 })).concat([{ t: at(9, 20), v: 99 }]);

const view = (over: Partial<ExportableIncident> = {}): ExportableIncident & { agents: NonNullable<ExportableIncident['agents']> } => ({
  incident: { incidentId: 'inc-1', title: 'create-order errors', service: FN, startedAt: at(5), severity: 'SEV1' },
  alerts: [{ alert: { title: 'create-order errors above 5%', severity: 'SEV2', description: 'alarm' } }],
  agents: {
    impact: {
      completedAt: at(10),
      evidence: [
        { id: `topology:${FN}`, kind: 'topology', data: { callers: [], callees: [TABLE], tiers: { [FN]: 'backend', [TABLE]: 'database', 'q_AWS::SQS::Queue': 'queue' } } },
        { id: `metric:${TABLE}:throttle_rate_pct`, kind: 'metric', data: { unit: '%', readings: toReadings(points) } },
        { id: `metric:${FN}:error_rate_pct`, kind: 'metric', data: { unit: '%', recent: [1, 2] } },
        { id: `anomaly:${TABLE}:throttle_rate_pct`, kind: 'metric', data: {} },
      ],
    },
    rootcause: {
      completedAt: at(11),
      output: { rootCauses: [{ service: FN, category: 'bad-deploy', confidence: 0.3 }, { service: TABLE, category: 'capacity', changeId: 'ct-1', confidence: 0.8 }] },
      evidence: [
        { id: `topology:${FN}`, kind: 'topology', data: { name: FN, tier: 'backend', calls: [TABLE, 'unknown_remote'] } },
        { id: `topology:${TABLE}`, kind: 'topology', data: { name: TABLE, tier: 'database', calls: [] } },
        { id: 'change:ct-1', kind: 'change', data: { id: 'ct-1', service: TABLE, type: 'config', title: 'UpdateTable', description: 'd', deployedAt: at(2), state: 'implemented', resource: { type: 'AWS::DynamoDB::Table', arn: 'arn:aws:dynamodb:us-east-1:1:table/Orders' } } },
      ],
    },
    similar: {
      completedAt: at(10),
      output: { incidents: [{ id: 'INC-7', title: 'Orders throttled', score: 0.5, rootCause: 'hot key: partition', resolution: 'shard' }] },
      evidence: [{ id: 'incident:INC-7', kind: 'incident', summary: `INC-7 "Orders throttled" on ${TABLE}: hot key: partition`, data: { category: 'database', tags: ['ddb'], resolution: 'shard', openedAt: '2024-05-01T00:00:00Z' } }],
    },
    triage: {
      completedAt: at(10),
      evidence: [
        { id: `oncall:${FN}`, kind: 'oncall', data: { service: FN, primary: { name: 'P', contact: 'p@example.com' } } },
        { id: `ownership:${FN}`, kind: 'ownership', data: { service: FN, team: 'orders', sloTargetPct: 99.9, sloCurrentPct: 97 } },
      ],
    },
  },
  ...over,
});

describe('readings', () => {
  it('keeps a series compactly and reads it back (five significant digits, missing points absent)', () => {
    const r = toReadings([{ t: at(0), v: 1.234567 }, { t: at(1), v: 2 }, { t: at(3, 30), v: 1234567 }]);
    expect(r).toEqual({ t0: at(0), t: '0,60,210', v: '1.2346,2,1234600' });
    expect(fromReadings(r)).toEqual([{ at: T0, v: 1.2346 }, { at: T0 + 60_000, v: 2 }, { at: T0 + 210_000, v: 1234600 }]);
    expect(fromReadings({ t0: at(0), t: [0], v: [] })).toBeUndefined();
    // An older record's number lists still read.
    expect(fromReadings({ t0: at(0), t: [0, 60], v: [1.2346, 2] })).toEqual([{ at: T0, v: 1.2346 }, { at: T0 + 60_000, v: 2 }]);
    expect(fromReadings({ t0: at(0), t: '0,60', v: '1,' })).toBeUndefined();
    expect(toReadings([])).toBeUndefined();
  });
});

describe('exportRecording', () => {
  it('writes the alert as first sent, the topology the agents kept, the series on their own step, changes, history, on-call', () => {
    const { recording, missing } = exportRecording(view());
    const r = parseRecording(recording);
    expect(r.name).toBe('inc-1');
    expect(r.recordedUntil).toBe(at(11));
    expect(r.alert).toEqual({ service: FN, title: 'create-order errors above 5%', startedAt: at(5), severity: 'SEV2', description: 'alarm' });
    expect(r.topology).toEqual([
      { name: FN, tier: 'backend', calls: [TABLE] },
      { name: TABLE, tier: 'database', calls: [] },
      { name: 'q_AWS::SQS::Queue', tier: 'queue', calls: [] },
    ]);
    // One series (the other kept no readings): minute 4 a gap, the off-step point at 9:20 gives way to minute 9.
    expect(r.metrics).toEqual([{ service: TABLE, metric: 'throttle_rate_pct', unit: '%', resolutionSeconds: 60, start: at(0), values: [0, 1.5, 3, 4.5, null, 7.5, 9, 10.5, 12, 13.5] }]);
    expect(r.changes).toEqual([{ id: 'ct-1', service: TABLE, type: 'config', title: 'UpdateTable', description: 'd', deployedAt: at(2), state: 'implemented' }]);
    expect(r.history).toEqual([{ id: 'INC-7', title: 'Orders throttled', service: TABLE, openedAt: '2024-05-01T00:00:00Z', category: 'database', rootCause: 'hot key: partition', resolution: 'shard', tags: ['ddb'] }]);
    expect(r.oncall).toEqual([{ service: FN, primary: { name: 'P', contact: 'p@example.com' } }]);
    expect(r.ownership).toEqual([{ service: FN, team: 'orders', sloTargetPct: 99.9, sloCurrentPct: 97 }]);
    expect(recording.expect).toBeUndefined();
    // No logs agent ran, and no trace search is known to have answered: left out, not written empty (a replay
    // reports them as gaps).
    expect(Object.keys(recording)).not.toContain('logs');
    expect(Object.keys(recording)).not.toContain('traces');
    expect(missing.join('\n')).toMatch(/log lines \(the logs agent has not run\)/);
    expect(missing.join('\n')).toMatch(/1 service\(s\) the impact agent read but the root-cause agent did not keep whole/);
    expect(missing.join('\n')).toMatch(/1 call\(s\) to services the agents kept no node for/);
    expect(missing.join('\n')).toMatch(/1 metric series whose points the agents did not keep/);
    expect(r.description).toContain('Not in this recording: ');
  });

  it("merges the root-cause agent's longer look-back into the impact agent's series, the impact agent's point winning", () => {
    const { agents } = view();
    const longer = [-3, -2, -1, 0, 1].map((m) => ({ t: at(m), v: 100 + m }));
    const rootcause = { ...agents.rootcause, evidence: [...(agents.rootcause!.evidence as unknown[]), { id: `metric:${TABLE}:throttle_rate_pct`, kind: 'metric', data: { unit: '%', readings: toReadings(longer) } }] };
    const r = parseRecording(exportRecording(view({ agents: { ...agents, rootcause } })).recording);
    expect(r.metrics).toEqual([{ service: TABLE, metric: 'throttle_rate_pct', unit: '%', resolutionSeconds: 60, start: at(-3), values: [97, 98, 99, 0, 1.5, 3, 4.5, null, 7.5, 9, 10.5, 12, 13.5] }]);
  });

  it('writes each kept log template back as its example line, counted in the windows it was counted in', () => {
    const { agents } = view();
    // The logs agent ran at minute 10 (completed 10:00:02 after 2 s): its incident window starts at the impact
    // agent's baseline end, the baseline window before it is twice as long.
    const logs = {
      completedAt: at(10, 2),
      latencyMs: 2000,
      output: { totalLines: 6 },
      evidence: [
        { id: `log-template:${FN}:error-1`, kind: 'log', data: { service: FN, template: 'throttled <*>', level: 'ERROR', count: 3, baselineCount: 2, status: 'spiking', firstSeen: at(6), lastSeen: at(8), example: 'throttled PutItem', traceIds: ['t-1'] } },
        // An older record: the service only in the id.
        { id: `log-template:${TABLE}:warn-2`, kind: 'log', data: { template: 'slow', level: 'WARN', count: 1, baselineCount: 0, status: 'new', firstSeen: at(7), lastSeen: at(7), example: 'slow' } },
        { id: `log-template:${FN}:warn-9`, kind: 'log', data: { template: 'no example', level: 'WARN', count: 1 } },
      ],
    };
    const { recording, missing } = exportRecording(view({ agents: { ...agents, logs } }));
    const r = parseRecording(recording);
    const incident = r.logs.filter((l) => l.timestamp >= at(5));
    expect(incident.map((l) => [l.timestamp, l.service, l.level, l.message, l.traceId])).toEqual([
      [at(6), FN, 'ERROR', 'throttled PutItem', 't-1'],
      [at(7), FN, 'ERROR', 'throttled PutItem', undefined],
      [at(7), TABLE, 'WARN', 'slow', undefined],
      [at(8), FN, 'ERROR', 'throttled PutItem', undefined],
    ]);
    const baseline = r.logs.filter((l) => l.timestamp < at(5));
    expect(baseline).toHaveLength(2);
    expect(baseline.every((l) => l.service === FN && l.message === 'throttled PutItem')).toBe(true);
    expect(missing.join('\n')).toMatch(/1 log template\(s\) kept without an example line/);
    expect(missing.join('\n')).toMatch(/2 of the 6 incident log lines/);
  });

  it('writes each kept trace as its root span with one failing child per service its failures end in', () => {
    const { agents } = view();
    const trace = (id: string, rootService: string, status: string, failingLeaves: string[]) => ({ id: `trace:${id}`, kind: 'trace', data: { traceId: id, rootService, startedAt: at(6), status, totalMs: 120, failingLeaves } });
    const rootcause = {
      ...agents.rootcause,
      toolCalls: [{ tool: 'telemetry.getTraces', ok: true, latencyMs: 3 }],
      evidence: [...(agents.rootcause!.evidence as unknown[]), trace('a', FN, 'ERROR', [TABLE]), trace('b', FN, 'ERROR', [FN]), trace('c', FN, 'ERROR', [FN, TABLE]), trace('d', 'gone', 'ERROR', [])],
    };
    const { recording, missing } = exportRecording(view({ agents: { ...agents, rootcause } }));
    const r = parseRecording(recording);
    const leaves = (t: (typeof r.traces)[number]) => {
      const failing = t.spans.filter((s) => s.status === 'ERROR');
      const parents = new Set(failing.map((s) => s.parentSpanId));
      return failing.filter((s) => !parents.has(s.spanId)).map((s) => s.service);
    };
    expect(r.traces.map((t) => [t.traceId, leaves(t)])).toEqual([
      ['a', [TABLE]],
      ['b', [FN]],
      ['c', [FN, TABLE]],
    ]);
    expect(missing.join('\n')).toMatch(/1 trace\(s\) kept without their start or root service .*or rooted in a service not in the topology/);
    // A search that answered with nothing is written as no traces; one not known to have answered is left out.
    const none = exportRecording(view({ agents: { ...agents, rootcause: { ...agents.rootcause, toolCalls: [{ tool: 'telemetry.getTraces', ok: true }] } } })).recording;
    expect(none.traces).toEqual([]);
    const failed = exportRecording(view({ agents: { ...agents, rootcause: { ...agents.rootcause, toolCalls: [{ tool: 'telemetry.getTraces', ok: false }] } } })).recording;
    expect(Object.keys(failed)).not.toContain('traces');
  });

  it('writes the answer key only as given, and --confirm-top takes the most confident hypothesis', () => {
    expect(topHypothesisExpect(view())).toEqual({ rootCause: { service: TABLE, category: 'capacity', changeId: 'ct-1' } });
    expect(exportRecording(view(), { expect: { rootCause: { service: TABLE } } }).recording.expect).toEqual({ rootCause: { service: TABLE } });
  });

  it('leaves out a section whose agent did not run, and refuses an incident with no investigation or a bad name', () => {
    const { agents } = view();
    const noTriage = exportRecording(view({ agents: { ...agents, triage: undefined } }));
    expect(Object.keys(noTriage.recording)).not.toContain('oncall');
    expect(noTriage.missing.join('\n')).toMatch(/on-call and ownership \(triage has not run\)/);
    expect(() => exportRecording(view({ agents: {} }))).toThrow(NotExportable);
    expect(() => exportRecording(view(), { name: '../x' })).toThrow(/cannot name a recording/);
  });

  it('prints two-space JSON with each series on one line', () => {
    const text = recordingJson(exportRecording(view()).recording);
    expect(text).toContain('"values": [0,1.5,3,4.5,null,7.5,9,10.5,12,13.5]');
    expect(JSON.parse(text).metrics[0].values[4]).toBeNull();
  });
});
