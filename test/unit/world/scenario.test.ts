import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listScenarios, loadScenario, parseScenario, renameScenario, RenameConflict, ScenarioInvalid } from '../../../functions/core/world/scenario.ts';
import { allScenarios, incidentStart } from './helpers.ts';

describe('scenario files', () => {
  it('lists every scenario file with its name and title, and every one parses', () => {
    // Act
    const listed = listScenarios();
    // Assess
    expect(listed.length).toBeGreaterThanOrEqual(25);
    const names = listed.map((s) => s.name);
    for (const original of ['bad-deploy-latency', 'db-pool-exhaustion', 'db-slow', 'dependency-down', 'error-rate', 'latency-spike', 'memory-leak']) expect(names).toContain(original);
    for (const s of listed) {
      expect(basename(s.file, '.json')).toBe(s.name);
      expect(s.title.length).toBeGreaterThan(10);
    }
  });

  it('gives every scenario a realistic shape: 4-8 services, at most 3 changes, 3-6 past incidents, an answer key', () => {
    for (const s of allScenarios()) {
      expect(s.services.length, s.name).toBeGreaterThanOrEqual(4);
      expect(s.services.length, s.name).toBeLessThanOrEqual(8);
      expect(s.changes.length, s.name).toBeLessThanOrEqual(3);
      expect(s.history.length, s.name).toBeGreaterThanOrEqual(3);
      expect(s.history.length, s.name).toBeLessThanOrEqual(6);
      const rc = s.expect.rootCause;
      if (rc === null) {
        expect(s.faults, s.name).toEqual([]);
        continue;
      }
      // Something is wrong: a fault, or (a capacity incident) a traffic surge with no change at all.
      if (s.faults.length === 0) {
        expect(rc.category, s.name).toBe('capacity');
        expect(s.load.length, s.name).toBeGreaterThan(0);
        expect(s.changes, s.name).toEqual([]);
      }
      if (s.changes.length === 0) expect(rc.changeId, s.name).toBeUndefined();
      else expect(s.changes.some((c) => !s.faults.some((f) => f.causedBy === c.id)), `${s.name} has a harmless change too`).toBe(true);
      if (rc.changeId) expect(s.faults.some((f) => f.causedBy === rc.changeId), s.name).toBe(true);
    }
  });

  it('covers the fault categories and hard cases the suite promises', () => {
    const all = allScenarios();
    const categories = new Set(all.map((s) => s.expect.rootCause?.category ?? 'none'));
    for (const c of ['bad-deploy', 'config-change', 'database', 'connection-pool', 'memory-leak', 'capacity', 'dependency', 'cache', 'certificate', 'dns', 'none']) expect(categories, c).toContain(c);
    const kinds = new Set(all.map((s) => s.expect.mitigation.kind));
    for (const k of ['rollback-change', 'revert-config', 'toggle-feature-flag', 'scale-service', 'restart-service', 'failover', 'none']) expect(kinds, k).toContain(k);
    // A change deployed after the incident began, on the alerting service, that is not the cause.
    expect(all.some((s) => s.changes.some((c) => c.service === s.alert.service && c.deployedAt > incidentStart(s) && !s.faults.some((f) => f.causedBy === c.id)))).toBe(true);
    // Two changes on the cause's service, only one of them the cause.
    expect(all.some((s) => s.expect.rootCause?.changeId && s.changes.filter((c) => c.service === s.expect.rootCause?.service).length === 2)).toBe(true);
    // Two changes at the same minute, one of them harmless.
    expect(all.some((s) => s.changes.some((a) => s.changes.some((b) => a.id !== b.id && a.deployedAt === b.deployedAt)))).toBe(true);
  });

  it('carries the seed P1 facts in db-pool-exhaustion (CR2077, HikariCP, INC-1843)', () => {
    const s = allScenarios().find((x) => x.name === 'db-pool-exhaustion');
    const cr = s?.changes.find((c) => c.id === 'CR2077');
    expect(cr?.configChange).toEqual({ param: 'maximum-pool-size', old: '20', new: '10' });
    expect(cr?.deployedAt).toBe(-18);
    expect(s?.history.find((h) => h.id === 'INC-1843')?.title).toBe('inventory-service DB pool starvation');
  });

  it('has many scenarios with an unrelated change as a red herring', () => {
    const withHerring = allScenarios().filter((s) => s.changes.some((c) => !s.faults.some((f) => f.causedBy === c.id)));
    expect(withHerring.length).toBeGreaterThanOrEqual(15);
  });
});

describe('loadScenario', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scenarios-'));
  const valid = allScenarios()[0];

  it('rejects a fault caused by an unknown change, naming the file and the field', () => {
    // Prepare
    const file = join(dir, 'bad-cause.json');
    writeFileSync(file, JSON.stringify({ ...valid, faults: [{ ...valid.faults[0], causedBy: 'CR0000' }] }));
    // Act / Assess
    expect(() => loadScenario(file)).toThrow(ScenarioInvalid);
    expect(() => loadScenario(file)).toThrow(/bad-cause\.json.*faults\.0\.causedBy: unknown change "CR0000"/);
  });

  it('rejects invalid JSON naming the file', () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{ "name": ');
    expect(() => loadScenario(file)).toThrow(/broken\.json: not valid JSON/);
  });

  it('accepts a false alarm only as rootCause null with the mitigation none and no faults', () => {
    const quiet = { ...valid, faults: [], expect: { rootCause: null, mitigation: { kind: 'none' } } };
    expect(parseScenario(quiet, 'quiet').expect.rootCause).toBeNull();
    expect(() => parseScenario({ ...quiet, expect: { rootCause: null, mitigation: { kind: 'restart-service' } } }, 'q')).toThrow(/expect\.mitigation\.kind: a false alarm/);
    expect(() => parseScenario({ ...quiet, faults: valid.faults }, 'q')).toThrow(/expect\.rootCause: a false alarm \(rootCause null\) has no faults/);
  });

  it('rejects world extensions that point at a service the owner does not call', () => {
    const [first] = valid.services;
    const svc = (extra: Record<string, unknown>) => ({ ...valid, services: [{ ...first, ...extra }, ...valid.services.slice(1)] });
    expect(() => parseScenario(svc({ cache: { store: 'nowhere', backing: first.calls[0], hitRatioPct: 90 } }), 'c')).toThrow(/services\.0\.cache\.store: "nowhere" is not one of/);
    expect(() => parseScenario(svc({ poolTarget: first.calls[0] }), 'p')).toThrow(/poolTarget: a poolTarget needs a pool/);
    const fault = valid.faults[0];
    expect(() => parseScenario({ ...valid, faults: [{ ...fault, callVolume: { ghost: 3 } }] }, 'v')).toThrow(/faults\.0\.callVolume\.ghost/);
    expect(() => parseScenario({ ...valid, faults: [{ ...fault, failsAt: 'connection' }] }, 'f')).toThrow(/faults\.0\.callerError/);
    expect(() => parseScenario({ ...valid, faults: [{ ...fault, effects: { cache_hit_ratio_pct: { value: 10 } } }] }, 'h')).toThrow(/has no cache/);
  });

  it('rejects a {hex:n} log placeholder whose length is not a whole number from 1 to 64, naming the template', () => {
    const fault = valid.faults[0];
    const withTemplate = (template: string) => ({ ...valid, faults: [{ ...fault, logs: [{ level: 'ERROR', template, ratePerMinute: 1 }] }] });
    // {hex:Infinity} never finished a log query; {hex:100000000} drew 100 MB per line.
    for (const bad of ['{hex:Infinity}', '{hex:100000000}', '{hex:0}', '{hex:2.5}', '{hex:abc}']) {
      expect(() => parseScenario(withTemplate(`token ${bad} rejected`), 'x')).toThrow(/faults\.0\.logs\.0\.template: \{hex:[^}]*\}: the length must be a whole number from 1 to 64/);
    }
    expect(() => parseScenario({ ...valid, backgroundLogs: [{ level: 'INFO', template: 'x {hex:65}', ratePerMinute: 1 }] }, 'b')).toThrow(/backgroundLogs\.0\.template: \{hex:65\}/);
    expect(parseScenario(withTemplate('session {hex:12} {hex:64} {hex:1}'), 'ok').faults[0]?.logs[0]?.template).toBe('session {hex:12} {hex:64} {hex:1}');
  });

  it('rejects a call graph with a cycle and an effect on a metric a fault cannot move', () => {
    const [a, b] = valid.services;
    const cyclic = { ...valid, services: [{ ...a, calls: [b.name] }, { ...b, calls: [a.name] }, ...valid.services.slice(2)] };
    expect(() => parseScenario(cyclic, 'cyclic')).toThrow(/cycle/);
    const badEffect = { ...valid, faults: [{ ...valid.faults[0], effects: { revenue_per_min: { factor: 0.5 } } }] };
    expect(() => parseScenario(badEffect, 'effect')).toThrow(/faults\.0\.effects\.revenue_per_min/);
  });
});

describe('renameScenario', () => {
  it('renames services, change ids and incident ids everywhere, free text included', () => {
    // Prepare
    const s = allScenarios().find((x) => x.name === 'db-pool-exhaustion');
    if (!s) throw new Error('missing scenario');
    const mapping = { 'inventory-service': 'stock-keeper', 'checkout-service': 'order-front', CR2077: 'CHG9001', 'INC-1843': 'INC-7001' };
    // Act
    const r = renameScenario(s, mapping);
    // Assess
    const text = JSON.stringify(r);
    for (const old of Object.keys(mapping)) expect(text).not.toMatch(new RegExp(`(?<![A-Za-z0-9_-])${old}(?![A-Za-z0-9_-])`));
    expect(r.expect.rootCause).toEqual({ service: 'stock-keeper', changeId: 'CHG9001', category: 'connection-pool' });
    expect(r.faults[0]).toMatchObject({ service: 'stock-keeper', causedBy: 'CHG9001' });
    expect(r.services.find((x) => x.name === 'web-storefront')?.calls).toContain('order-front');
    expect(r.history.find((h) => h.id === 'INC-7001')?.title).toBe('stock-keeper DB pool starvation');
    expect(r.alert.service).toBe('order-front');
    // Names that merely contain a renamed one stay as they are.
    expect(r.services.map((x) => x.name)).toContain('inventory-db');
  });

  it('refuses a mapping onto an existing name or from an unknown one', () => {
    const s = allScenarios()[0];
    expect(() => renameScenario(s, { [s.services[0].name]: s.services[1].name })).toThrow(RenameConflict);
    expect(() => renameScenario(s, { 'no-such-service': 'x' })).toThrow(RenameConflict);
  });
});
