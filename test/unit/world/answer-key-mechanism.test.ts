/**
 * The answer key's optional mechanism (issue 11): a scenario (or a recording) may say how its fault fails when its
 * category names only the trigger; a trigger is never a mechanism; every scenario file valid before stays valid. The
 * generator sets it from the injected fault where the world makes it clear (the service, or the callee a change floods,
 * runs out of CPU), and leaves it out where the fault names no resource (a defect that throws).
 */
import { describe, expect, it } from 'vitest';
import { Expect, listScenarios, loadScenario } from '../../../functions/core/world/scenario.ts';
import { RecordedExpect } from '../../../functions/core/recorded/format.ts';
import { familyOf, generateIncident } from '../../../functions/core/world/generator.ts';

const key = (rootCause: Record<string, unknown>) => ({ rootCause: { service: 'inventory-service', changeId: 'CR2077', category: 'config-change', ...rootCause }, mitigation: { kind: 'revert-config' } });

describe('unit: expect.rootCause.mechanism', () => {
  it('is optional, and accepted when it says how the fault fails', () => {
    expect(Expect.parse(key({})).rootCause).not.toHaveProperty('mechanism');
    expect(Expect.parse(key({ mechanism: 'connection-pool' })).rootCause?.mechanism).toBe('connection-pool');
    expect(RecordedExpect.parse({ rootCause: { service: 's', mechanism: 'throttling' } }).rootCause?.mechanism).toBe('throttling');
  });

  it('refuses a trigger or an unknown word as a mechanism, naming the field', () => {
    for (const mechanism of ['bad-deploy', 'config-change', 'gremlins']) {
      const parsed = Expect.safeParse(key({ mechanism }));
      expect(parsed.success, mechanism).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual(['rootCause', 'mechanism']);
      expect(RecordedExpect.safeParse({ rootCause: { service: 's', mechanism } }).success, mechanism).toBe(false);
    }
  });

  it('leaves every scenario file of the suite valid', () => {
    const all = listScenarios();
    expect(all.length).toBeGreaterThan(0);
    for (const s of all) expect(() => loadScenario(s.file), s.file).not.toThrow();
  });
});

describe('unit: the generator’s answer key names the mechanism of a triggered fault when the world makes it clear', () => {
  /** The first incident of `family` under seed "mech". */
  const first = (family: string) => {
    for (let i = 0; i < 2000; i++) if (familyOf('mech', i).name === family) return generateIncident('mech', i).scenario.expect.rootCause;
    throw new Error(`no ${family} incident in 2000`);
  };

  it.each([
    ['bad-deploy-cpu', 'bad-deploy', 'capacity'],
    ['lowered-limit-under-load', 'config-change', 'capacity'],
    ['retry-storm', 'config-change', 'capacity'],
    ['n-plus-one', 'bad-deploy', 'capacity'],
  ])('%s: category %s, mechanism %s', (family, category, mechanism) => {
    expect(first(family)).toMatchObject({ category, mechanism });
  });

  it.each(['bad-deploy-errors', 'feature-flag-errors', 'config-client-timeout', 'api-contract', 'config-pool-size', 'dependency-outage'])('%s: no mechanism beside its category', (family) => {
    expect(first(family)).not.toHaveProperty('mechanism');
  });
});
