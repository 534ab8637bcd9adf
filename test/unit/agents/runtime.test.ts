import * as z from 'zod';
import { describe, expect, it } from 'vitest';
import { clipSummary, EvidenceLog, loadIncident, MAX_SUMMARY_CHARS, runAgent, summarise, UndeclaredRead } from '../../../functions/core/agents/runtime.ts';
import { type ToolScope, ToolUnavailable, withPartialGaps } from '../../../functions/core/tools/ports.ts';
import { IncidentNotFound } from '../../../functions/core/store/store.ts';
import { FakeIncidentStore, fakeDeps, seedAgentRecord, seedIncident } from './fakes.ts';

/** Counts combined reads and refuses record-by-record ones. */
class CountingStore extends FakeIncidentStore {
  batchReads = 0;
  override async getIncidentWith(...args: Parameters<FakeIncidentStore['getIncidentWith']>) {
    this.batchReads += 1;
    return super.getIncidentWith(...args);
  }
  override async getAgentRecord(): Promise<never> {
    throw new Error('runAgent must not read records one by one');
  }
}

const Out = z.object({ note: z.string(), evidenceIds: z.array(z.string()) });

describe('unit: agent runtime reads', () => {
  it('gives the agent the declared earlier records, read with the incident in one store call', async () => {
    // Prepare
    const counting = new CountingStore();
    const deps = fakeDeps({ store: counting });
    const incidentId = await seedIncident(deps);
    await seedAgentRecord(deps, incidentId, 'impact', { note: 'impact says hi', evidenceIds: [] });
    // Act
    const seen: { impact?: string; logs?: unknown } = {};
    await runAgent(
      deps,
      'triage',
      incidentId,
      async ({ earlier }) => {
        seen.impact = earlier.output('impact', Out)?.output.note;
        seen.logs = earlier.record('logs');
        return { schema: Out, instructions: '', offline: { note: 'ok', evidenceIds: [] } };
      },
      ['impact', 'logs'],
    );
    // Assess
    expect(counting.batchReads).toBe(1);
    expect(seen).toEqual({ impact: 'impact says hi', logs: undefined });
  });

  it('fails with UndeclaredRead when an agent asks for a record it did not declare (no silent extra read)', async () => {
    const deps = fakeDeps();
    const incidentId = await seedIncident(deps);
    const run = runAgent(deps, 'plan', incidentId, async ({ earlier }) => {
      earlier.record('rootcause');
      return { schema: Out, instructions: '', offline: { note: 'never', evidenceIds: [] } };
    });
    await expect(run).rejects.toBeInstanceOf(UndeclaredRead);
    expect(await deps.store.getAgentRecord(incidentId, 'plan')).toBeUndefined();
  });

  it('gives every run its own runId in the tool scope, so an adapter can reuse reads within a run only', async () => {
    const deps = fakeDeps();
    const incidentId = await seedIncident(deps);
    const scopes: ToolScope[] = [];
    for (let i = 0; i < 2; i += 1) {
      await runAgent(deps, 'impact', incidentId, async ({ scope }) => {
        scopes.push(scope);
        return { schema: Out, instructions: '', offline: { note: 'x', evidenceIds: [] } };
      });
    }
    expect(scopes[0]?.runId).toMatch(new RegExp(`^${incidentId}/impact/`));
    expect(scopes[0]?.runId).not.toBe(scopes[1]?.runId);
  });

  it('loadIncident throws IncidentNotFound for an unknown incident', async () => {
    await expect(loadIncident(fakeDeps(), 'inc-nope', ['plan'])).rejects.toBeInstanceOf(IncidentNotFound);
  });
});

describe('unit: EvidenceLog gaps', () => {
  it('keeps one gap per tool that names every distinct failure, so a later failure is not reported with the first one\'s message', async () => {
    const log = new EvidenceLog(() => 0);
    const fail = (message: string) => async () => {
      throw new Error(message);
    };
    expect(await log.call('telemetry', fail('topology: 403 Forbidden'))).toBeUndefined();
    expect(await log.call('telemetry', async () => 'ok')).toBe('ok');
    await log.call('telemetry', fail('metrics: timed out'));
    await log.call('telemetry', fail('metrics: timed out'));
    const gaps = log.items.filter((e) => e.kind === 'gap');
    expect(gaps).toEqual([expect.objectContaining({ id: 'gap:telemetry', summary: 'telemetry unavailable: topology: 403 Forbidden; metrics: timed out' })]);
    expect(log.toolCalls.map((c) => c.ok)).toEqual([false, true, false, false]);
  });

  it('names the tool once when the adapter throws a ToolUnavailable (its message already says "<tool> unavailable")', async () => {
    const log = new EvidenceLog(() => 0);
    await log.call('telemetry', async () => {
      throw new ToolUnavailable('telemetry', 'environment "w1" is not a known simulated world');
    });
    expect(log.items[0]?.summary).toBe('telemetry unavailable: environment "w1" is not a known simulated world');
    expect(log.toolCalls[0]?.error).toBe('telemetry unavailable: environment "w1" is not a known simulated world');
  });

  it('records what a partial answer left out as a gap, returns the answer, and names at most five parts', async () => {
    const log = new EvidenceLog(() => 0);
    const lost = Array.from({ length: 7 }, (_, i) => ({ api: 'cloudwatch:GetMetricData', service: `svc${i}`, metric: 'cpu_pct', reason: 'ThrottlingException' }));
    const answer = await log.call('telemetry', async () => withPartialGaps([{ service: 'checkout' }], lost));
    expect(answer).toEqual([{ service: 'checkout' }]);
    expect(JSON.stringify(answer)).toBe('[{"service":"checkout"}]');
    const gap = log.items.find((e) => e.id === 'gap:telemetry');
    expect(gap?.summary).toContain('telemetry unavailable: partly: cloudwatch:GetMetricData (svc0 cpu_pct): ThrottlingException');
    expect(gap?.summary).toContain('; and 2 more');
    expect(gap?.summary).not.toContain('svc5');
    expect(log.toolCalls).toEqual([expect.objectContaining({ tool: 'telemetry', ok: true })]);
  });

  it('records no gap for a complete answer', async () => {
    const log = new EvidenceLog(() => 0);
    await log.call('telemetry', async () => withPartialGaps([1, 2], []));
    expect(log.items).toEqual([]);
  });
});

describe('unit: summaries for the state machine', () => {
  it('cuts a long summary to MAX_SUMMARY_CHARS, marked with "...", and leaves a short one alone', () => {
    const long = 'x'.repeat(MAX_SUMMARY_CHARS + 1);
    expect(clipSummary(long)).toHaveLength(MAX_SUMMARY_CHARS);
    expect(clipSummary(long).endsWith('...')).toBe(true);
    expect(clipSummary('x'.repeat(MAX_SUMMARY_CHARS))).toBe('x'.repeat(MAX_SUMMARY_CHARS));
    expect(summarise('inc-1', 'impact', long).summary).toBe(clipSummary(long));
  });
});
