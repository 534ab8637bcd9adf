/**
 * Fair verification on the laptop twin with compressed Wait states: each compressed "Wait for recovery" advances
 * the incident's simulated world clock by the wait it skipped, so verification judges minutes after the fix that
 * the world model computed (noise and the mitigation's 90 s ramp included) — not the second that really passed.
 * A right fix ends RESOLVED on fresh minutes; a wrong fix (the fault no longer tied to the change it rolls back)
 * ends ESCALATED, with the same compressed waits and the same advanced clock.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRESH_POINTS } from '../../functions/core/agents/verify.ts';
import { findScenario, type Scenario } from '../../functions/core/world/scenario.ts';
import { DEFAULT_RECOVERY_LAG_SECONDS } from '../../functions/core/world/world.ts';
import { DynamoWorldStore } from '../../functions/core/world/world-store.ts';
import { ApiClient } from '../../lib/local/client.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, TABLE_NAME } from '../../lib/local/constants.ts';
import { runScenario } from '../../lib/local/incident-run.ts';
import { COMPRESSED_VERIFY_WAIT_SECONDS, startTwin, type Twin } from '../../lib/local/twin.ts';

/** The scenario with every fault cut loose from its cause: rolling the change back is a wrong fix. */
const unfixable = (name: string): Scenario => {
  const s = findScenario(name);
  return { ...s, name: `${name}-wrong-fix`, faults: s.faults.map(({ causedBy: _cause, ...f }) => ({ ...f, fixedBy: [] })) };
};

interface VerifyData {
  verdict: string;
  freshMinutes: number;
  points: { t: string; v: number }[];
  mitigatedAt: string | null;
  healthy: { source: string; n: number };
}

describe('laptop twin, verification with compressed waits', () => {
  let twin: Twin;
  let worlds: DynamoWorldStore;
  let doc: DynamoDBDocumentClient;

  beforeAll(async () => {
    twin = await startTwin({ inMemory: true, waitOverrideMs: 0 });
    doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: twin.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }));
    worlds = new DynamoWorldStore(doc, TABLE_NAME);
  });
  afterAll(async () => {
    doc?.destroy();
    await twin?.stop();
  });

  const verification = async (incidentId: string) => {
    const view = await new ApiClient(twin.url, twin.secret).getIncident(incidentId);
    const record = view.agents?.verification as { evidence?: { id: string; data?: unknown }[] } | undefined;
    return (record?.evidence ?? []).filter((e) => e.id.startsWith('metric:')).map((e) => e.data as VerifyData);
  };

  it('a right fix with a 90 s recovery ramp ends RESOLVED, judged on post-fix minutes of the advanced world clock', async () => {
    // Act
    const result = await runScenario(twin, { scenario: 'error-rate', approve: 'auto', worldId: 'vc-right', recoveryLagSeconds: DEFAULT_RECOVERY_LAG_SECONDS });
    // Assess: resolved, by the rollback
    expect(result.status).toBe('RESOLVED');
    const checks = await verification(result.id);
    expect(checks.length).toBeGreaterThan(0);
    for (const c of checks) {
      expect(c.verdict).toBe('recovered');
      expect(c.points).toHaveLength(FRESH_POINTS);
      // every judged point is after the mitigation: minutes the world computed once its clock was advanced
      for (const p of c.points) expect(Date.parse(p.t)).toBeGreaterThan(Date.parse(c.mitigatedAt ?? ''));
      expect(c.healthy.source).toBe('healthy-window');
    }
    // the world's clock moved by whole compressed waits, one per check (not a pretend recovery at the same second)
    const world = await worlds.getWorld('vc-right');
    expect(world?.clockAdvanceMs ?? 0).toBeGreaterThanOrEqual(FRESH_POINTS * 60_000); // at least the fresh minutes judged
    expect((world?.clockAdvanceMs ?? 0) % (COMPRESSED_VERIFY_WAIT_SECONDS * 1000 - 1)).toBe(0);
  });

  it('a wrong fix with the same compressed waits does not end RESOLVED: the fresh minutes stay out of the healthy noise', async () => {
    // Act
    const result = await runScenario(twin, { scenario: unfixable('error-rate'), approve: 'auto', worldId: 'vc-wrong', recoveryLagSeconds: DEFAULT_RECOVERY_LAG_SECONDS });
    // Assess
    expect(result.status).not.toBe('RESOLVED');
    expect(result.status).toBe('ESCALATED');
    const checks = await verification(result.id);
    expect(checks.some((c) => c.verdict === 'not-recovered' && c.freshMinutes >= FRESH_POINTS)).toBe(true);
    expect((await worlds.getWorld('vc-wrong'))?.clockAdvanceMs ?? 0).toBeGreaterThan(0);
  });
});
