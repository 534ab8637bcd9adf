/**
 * A deployment that did not choose the simulated world and configured no adapter: every tool port is a reported gap
 * (functions/core/tools/runtime.ts, PortNotConfigured), never the simulator — even with a simulated world seeded in
 * the table. The agents record each gap naming the variables to set, and the incident still completes, escalated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../lib/local/client.ts';
import { runScenario } from '../../lib/local/incident-run.ts';
import { startTwin, type Twin } from '../../lib/local/twin.ts';

type Evidence = { id: string; kind: string; summary: string };

describe('laptop twin with no tool adapter and no simulator chosen', () => {
  let twin: Twin;

  beforeAll(async () => {
    twin = await startTwin({ inMemory: true, waitOverrideMs: 0, tools: 'none' });
  });
  afterAll(async () => {
    await twin?.stop();
  });

  it('records a gap per port naming the variables to set, and escalates the incident instead of diagnosing the seeded world', async () => {
    // Act
    const result = await runScenario(twin, { scenario: 'db-pool-exhaustion', approve: 'auto' });
    // Assess
    expect(result.execution.status).toBe('SUCCEEDED');
    const view = await new ApiClient(twin.url, twin.secret).getIncident(result.id);
    expect(view.incident.status).toBe('ESCALATED');
    const evidenceOf = (agent: string) => ((view.agents?.[agent] as { evidence?: Evidence[] } | undefined)?.evidence ?? []);
    const impactGap = evidenceOf('impact').find((e) => e.id === 'gap:telemetry');
    expect(impactGap?.summary).toContain('no telemetry adapter is configured: set DYNATRACE_URL + DYNATRACE_TOKEN_SECRET_ID (Dynatrace), or TOOLS_TELEMETRY=simulated');
    expect(evidenceOf('logs').find((e) => e.id === 'gap:logs')?.summary).toContain('SPLUNK_URL + SPLUNK_TOKEN_SECRET_ID');
    expect(evidenceOf('triage').find((e) => e.id === 'gap:oncall')?.summary).toContain('PAGERDUTY_TOKEN_SECRET_ID');
    expect(evidenceOf('similar').find((e) => e.id === 'gap:changes')?.summary).toContain('SERVICENOW_URL');
    // Nothing was read from the seeded world: no metric anomaly became evidence.
    expect(evidenceOf('impact').filter((e) => e.id.startsWith('anomaly:'))).toEqual([]);
  });
});
