import { describe, expect, it } from 'vitest';
import { FAMILIES, family, generateCandidates } from '../../../functions/core/analysis/hypotheses/families.ts';
import type { Candidate } from '../../../functions/core/analysis/hypotheses/candidate.ts';
import type { World } from '../../../functions/core/analysis/hypotheses/evidence.ts';

const candidate = (kind: Candidate['kind'], service: string): Candidate => ({ kind, summary: `${kind} in ${service}`, service, category: 'unknown', predictions: [] });
const world = {} as World;

describe('hypothesis families table', () => {
  it('has one entry per kind', () => {
    const kinds = FAMILIES.map((f) => f.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
    expect([...kinds].sort()).toEqual([
      'change',
      'dependency-outage',
      'disk-exhaustion',
      'expiry',
      'fd-exhaustion',
      'metric-origin',
      'queue-backlog',
      'quota-throttling',
      'resource-leak',
      'scheduled-job',
      'service-fault',
      'traffic-surge',
      'zonal',
    ]);
  });

  it('tests entries that share a subject selector subject by subject, in table order, and skips subjects a family has nothing for', () => {
    const services = () => ['a', 'b'];
    const families = [
      family<string>({ kind: 'traffic-surge', subjects: services, test: (_w, s) => candidate('traffic-surge', s) }),
      family<string>({ kind: 'resource-leak', subjects: services, test: (_w, s) => (s === 'b' ? undefined : candidate('resource-leak', s)) }),
      family<string>({ kind: 'service-fault', subjects: () => ['c'], test: (_w, s) => candidate('service-fault', s) }),
    ];
    expect(generateCandidates(world, families).map((c) => c.summary)).toEqual(['traffic-surge in a', 'resource-leak in a', 'traffic-surge in b', 'service-fault in c']);
  });

  it('runs entries with different selectors one after the other', () => {
    const families = [
      family<string>({ kind: 'traffic-surge', subjects: () => ['a', 'b'], test: (_w, s) => candidate('traffic-surge', s) }),
      family<string>({ kind: 'resource-leak', subjects: () => ['a', 'b'], test: (_w, s) => candidate('resource-leak', s) }),
    ];
    expect(generateCandidates(world, families).map((c) => c.summary)).toEqual(['traffic-surge in a', 'traffic-surge in b', 'resource-leak in a', 'resource-leak in b']);
  });
});
