/**
 * Golden: the logs agent's output and evidence for every scenario's captured logs (test/unit/analysis/logs-fixtures.ts)
 * must not change when its feed loop and the miner are made faster. Generated from the agent as it was before;
 * regenerate (vitest -u) only for an intended change, and say so in the commit.
 */
import { describe, expect, it } from 'vitest';
import { replayLogsAgent, scenarioLogs } from '../analysis/logs-fixtures.ts';

describe('golden: logs agent over captured scenario logs', () => {
  it('reports the same templates, counts, first/last seen, first error and evidence as before, in every scenario', async () => {
    const golden: Record<string, unknown> = {};
    for (const capture of scenarioLogs()) golden[capture.scenario] = await replayLogsAgent(capture);
    await expect(`${JSON.stringify(golden, null, 1)}\n`).toMatchFileSnapshot('../analysis/fixtures/golden/logs-agent.json');
  });
});
