/**
 * The console's charts on the laptop twin: after a simulated incident has run through the whole workflow, its signals
 * route reads the same simulated world the agents read, through the same tool ports: the culprit service's series
 * with points and a baseline band, and the scenario's change as a marker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Signals } from '../../functions/incident-signals/core.ts';
import { findScenario } from '../../functions/core/world/scenario.ts';
import { runScenario } from '../../lib/local/incident-run.ts';
import { startTwin, type Twin } from '../../lib/local/twin.ts';

const SCENARIO = 'db-pool-exhaustion';

describe('laptop twin, incident signals', () => {
  let twin: Twin;

  beforeAll(async () => {
    twin = await startTwin({ inMemory: true, waitOverrideMs: 0 });
  });
  afterAll(async () => {
    await twin?.stop();
  });

  it('answers the culprit service\'s series and the change marker once the incident has run', async () => {
    // Prepare
    const expected = findScenario(SCENARIO).expect.rootCause;
    if (!expected?.changeId) throw new Error(`${SCENARIO} has no expected change`);
    const result = await runScenario(twin, { scenario: SCENARIO, approve: 'auto' });
    expect(result.status).toBe('RESOLVED');
    // Act: the iam route and the console's route (both on loopback on the twin)
    const answers = await Promise.all(
      [`/incidents/${result.id}/signals`, `/console/incidents/${result.id}/signals`].map(async (path) => {
        const res = await fetch(`${twin.url}${path}`);
        expect(res.status, path).toBe(200);
        return (await res.json()) as Signals;
      }),
    );
    // Assess
    for (const signals of answers) {
      const culprit = signals.series.filter((s) => s.service === expected.service);
      expect(culprit.length, JSON.stringify(signals.series.map((s) => `${s.service} ${s.metric}`))).toBeGreaterThan(0);
      expect(culprit.some((s) => s.points.length >= 30 && s.baseline !== undefined)).toBe(true);
      expect(signals.markers).toContainEqual(expect.objectContaining({ kind: 'change', service: expected.service, label: expect.stringContaining(expected.changeId) }));
      expect(signals.markers.map((m) => m.kind)).toEqual(expect.arrayContaining(['onset', 'detection', 'action']));
      expect(signals.gaps).toEqual([]);
      expect(Date.parse(signals.window.from)).toBeLessThan(Date.parse(String(signals.onset)));
    }
    // Unknown incident: 404
    expect((await fetch(`${twin.url}/incidents/no-such-incident/signals`)).status).toBe(404);
  }, 120_000);
});
