/**
 * Unit: `autopilot export` on a logs record counting more lines than a recording holds (recorded/export.ts): refused
 * with NotExportable naming the cap, before a line is made — not an out-of-memory on a count of a billion, nor an
 * InvalidRecording after building 200,000+ lines.
 */
import { describe, expect, it } from 'vitest';
import { exportRecording, NotExportable } from '../../../functions/core/recorded/export.ts';

const T0 = Date.parse('2025-01-01T10:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const SERVICE = 'orders:api';

const view = (count: number, baselineCount = 0) => ({
  incident: { incidentId: 'inc-1', title: 'orders errors', service: SERVICE, startedAt: at(30) },
  agents: {
    impact: { completedAt: at(40), evidence: [{ id: `topology:${SERVICE}`, kind: 'topology', data: { tiers: { [SERVICE]: 'backend' } } }] },
    logs: {
      completedAt: at(40),
      latencyMs: 1000,
      evidence: [{ id: `log-template:${SERVICE}:error-1`, kind: 'log', data: { level: 'ERROR', example: 'boom', count, baselineCount, firstSeen: at(31), lastSeen: at(39) } }],
    },
  },
});

describe('export: bounded log lines', () => {
  it('writes a template counted 5,000 times as 5,000 lines of its service (a name with colons)', () => {
    const logs = exportRecording(view(5_000, 20)).recording.logs as { service: string }[];
    expect(logs).toHaveLength(5_020);
    expect(new Set(logs.map((l) => l.service))).toEqual(new Set([SERVICE]));
  });

  it('refuses a record counting more lines than a recording holds, quickly', () => {
    const started = performance.now();
    expect(() => exportRecording(view(1_000_000_000))).toThrow(NotExportable);
    expect(() => exportRecording(view(150_000, 150_000))).toThrow(/200000/);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
