/**
 * Availability zones in the simulated world (issue 11, §2): a service may run in zones, a fault may be confined to
 * one; the service's metrics mix its zones', each zone has its own series on request (`groupBy: ['zone']`), and a
 * zonal shift away from the bad zone ends the fault. The generator's zonal-impairment family uses it.
 */
import { describe, expect, it } from 'vitest';
import { applyAction, createWorld, metricSeries, snapshotAt } from '../../../functions/core/world/world.ts';
import { FAMILIES, generateIncidentOfFamily } from '../../../functions/core/world/generator.ts';
import { parseScenario } from '../../../functions/core/world/scenario.ts';
import { MINUTE, NOW, allScenarios } from './helpers.ts';

const at = (minutes: number) => NOW.getTime() + minutes * MINUTE;

describe('zones in the world', () => {
  const incidents = Array.from({ length: 6 }, (_, i) => generateIncidentOfFamily('zones', i, 'zonal-impairment'));

  it('the zonal-impairment family is novel, keys the zone, and is fixed by a zonal shift away from it', () => {
    expect(FAMILIES.find((f) => f.name === 'zonal-impairment')?.novel).toBe(true);
    for (const { scenario: s } of incidents) {
      const fault = s.faults[0];
      expect(fault.zone, s.name).toBeDefined();
      expect(s.services.find((x) => x.name === fault.service)?.zones, s.name).toContain(fault.zone);
      expect(s.expect).toEqual({ rootCause: { service: fault.service, category: 'zone' }, mitigation: { kind: 'failover', service: fault.service, target: fault.zone } });
    }
  });

  it("fails only the bad zone's share: that zone far off its baseline, the others at theirs, the service between", () => {
    for (const { scenario: s } of incidents) {
      const fault = s.faults[0];
      const w = createWorld(s, { id: 'zones', now: NOW });
      const state = snapshotAt(w, at(0)).services.get(fault.service)!;
      const zones = state.zones!;
      expect(Object.keys(zones).sort(), s.name).toEqual([...(s.services.find((x) => x.name === fault.service)?.zones ?? [])].sort());
      const others = Object.entries(zones).filter(([z]) => z !== fault.zone).map(([, v]) => v);
      const bad = zones[fault.zone as string];
      if (fault.effects.error_rate_pct) {
        expect(bad.error_rate_pct, s.name).toBeGreaterThan(30);
        for (const o of others) expect(o.error_rate_pct, s.name).toBeLessThan(5);
        // The service's rate is the zones' average (equal shares).
        const mean = Object.values(zones).reduce((sum, v) => sum + v.error_rate_pct, 0) / Object.keys(zones).length;
        expect(state.values.error_rate_pct, s.name).toBeCloseTo(mean, 0);
      } else {
        for (const o of others) expect(bad.latency_p99_ms / o.latency_p99_ms, s.name).toBeGreaterThan(3);
        // The slowest zone holds the service's tail.
        expect(state.values.latency_p99_ms, s.name).toBeGreaterThan(0.9 * bad.latency_p99_ms);
      }
      // A zonal shift away from it: the zone recovers once the shift has taken (the world's recovery lag).
      const { state: shifted } = applyAction(w, { kind: 'failover', service: fault.service, target: fault.zone }, new Date(at(0)));
      const after = snapshotAt(shifted, at(20)).services.get(fault.service)!.zones![fault.zone as string];
      expect(after.error_rate_pct, s.name).toBeLessThan(5);
    }
  });

  it('answers per-zone series only when asked, and only for services that run in zones', () => {
    const { scenario: s } = incidents[0];
    const fault = s.faults[0];
    const w = createWorld(s, { id: 'zones', now: NOW });
    const q = { services: s.services.map((x) => x.name), metrics: ['error_rate_pct'], from: at(-30), to: at(0) };
    const plain = metricSeries(w, q);
    expect(plain.every((x) => x.zone === undefined)).toBe(true);
    const zoned = metricSeries(w, { ...q, groupBy: ['zone'] });
    expect(new Set(zoned.map((x) => x.service))).toEqual(new Set([fault.service]));
    expect(zoned.map((x) => x.zone).sort()).toEqual([...(s.services.find((x) => x.name === fault.service)?.zones ?? [])].sort());
    // A metric a zone has no series of (memory is per host, not per zone): none.
    expect(metricSeries(w, { ...q, metrics: ['memory_mb'], groupBy: ['zone'] })).toEqual([]);
    // The shipped scenarios declare no zones: the same worlds, no per-zone series.
    for (const x of allScenarios().slice(0, 5)) expect(metricSeries(createWorld(x, { id: 'z', now: NOW }), { ...q, services: x.services.map((y) => y.name), groupBy: ['zone'] })).toEqual([]);
  });
});

describe('zones in the scenario format', () => {
  const { scenario } = generateIncidentOfFamily('zones', 0, 'zonal-impairment');
  const service = scenario.faults[0].service;
  const withFault = (patch: Record<string, unknown>, zones?: unknown) => ({
    ...scenario,
    services: scenario.services.map((x) => (x.name === service ? { ...x, zones } : x)),
    faults: [{ ...scenario.faults[0], ...patch }],
  });

  it('names a zone the service does not run in, a service without zones, repeated zones and a zonal connection fault', () => {
    expect(() => parseScenario(withFault({ zone: 'mars-1z' }, ['eu-west-1a', 'eu-west-1b']), 'z')).toThrow(/faults\.0\.zone: "mars-1z" is not one of .*zones \(eu-west-1a, eu-west-1b\)/);
    expect(() => parseScenario(withFault({}, undefined), 'z')).toThrow(/faults\.0\.zone: .* declares no zones/);
    expect(() => parseScenario(withFault({}, ['eu-west-1a', 'eu-west-1a']), 'z')).toThrow(/zones must be distinct/);
    expect(() => parseScenario(withFault({ zone: 'eu-west-1a', failsAt: 'connection', callerError: 'x' }, ['eu-west-1a', 'eu-west-1b']), 'z')).toThrow(/a zonal fault fails at the server/);
    expect(() => parseScenario(withFault({ zone: 'eu-west-1a' }, ['eu-west-1a']), 'z')).toThrow(/zones/);
    expect(parseScenario(withFault({ zone: 'eu-west-1b' }, ['eu-west-1a', 'eu-west-1b']), 'z').faults[0].zone).toBe('eu-west-1b');
  });
});
