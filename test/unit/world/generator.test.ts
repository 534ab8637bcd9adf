/**
 * The procedural incident generator (functions/core/world/generator.ts): deterministic per (seed, index), every
 * family drawn and valid against the same Scenario schema as the files, an answer key that follows from the
 * injected fault (a service that exists, the change that caused it, a mitigation that restores the world), red
 * herrings that never name the culprit, and names the hand-written suite does not use.
 */
import { describe, expect, it } from 'vitest';
import { applyAction, createWorld, snapshotAt, type WorldState } from '../../../functions/core/world/world.ts';
import { FAMILIES, familyOf, generateIncidentOfFamily, generateIncident, generateScenario, GeneratorError, type GeneratedIncident } from '../../../functions/core/world/generator.ts';
import { parseScenario, type Scenario } from '../../../functions/core/world/scenario.ts';
import { allScenarios, MINUTE, NOW } from './helpers.ts';

const SEEDS = ['alpha', 'b2', 'c-3'];
/** 300 incidents: 100 per seed, so every family at least a dozen times. */
const incidents: GeneratedIncident[] = SEEDS.flatMap((seed) => Array.from({ length: 100 }, (_, i) => generateIncident(seed, i)));
const at = (minutes: number) => NOW.getTime() + minutes * MINUTE;
const values = (w: WorldState, service: string, minutes: number) => snapshotAt(w, at(minutes)).services.get(service)?.values ?? {};
/** The scenario without its incident: no faults, no traffic that is part of it (a surge, a peak), and no job run (a week after the alert). */
const healthyOf = (s: Scenario): Scenario => ({
  ...s,
  services: s.services.map((x) => (x.schedule ? { ...x, schedule: { ...x.schedule, startsAt: 10_000 } } : x)),
  faults: [],
  load: s.expect.rootCause?.category === 'capacity' || s.expect.rootCause?.category === 'throttling' || s.faults.some((f) => f.kind === 'capacity-limit-lowered') ? [] : s.load,
});
/** The scenario without the p50/p95 baselines the generator adds from a draw stream of its own. */

describe('generateScenario', () => {
  it('is deterministic per (seed, index) and differs across indices and seeds', () => {
    expect(generateScenario('alpha', 7)).toEqual(generateScenario('alpha', 7));
    expect(JSON.stringify(generateScenario('alpha', 7))).toBe(JSON.stringify(incidents[7]?.scenario));
    expect(JSON.stringify(generateScenario('alpha', 8))).not.toBe(JSON.stringify(generateScenario('alpha', 7)));
    expect(JSON.stringify(generateScenario('other', 7))).not.toBe(JSON.stringify(generateScenario('alpha', 7)));
  });

  it('refuses a bad seed or index, naming it', () => {
    expect(() => generateScenario('no spaces', 0)).toThrow(GeneratorError);
    expect(() => generateScenario('ok', -1)).toThrow(/index/);
  });

  it('draws every family, evenly, and each one schema-valid (the same parse as the files)', () => {
    const counts = new Map<string, number>();
    for (const g of incidents) {
      counts.set(g.family, (counts.get(g.family) ?? 0) + 1);
      // A JSON round trip through the schema: what a file with this content would load as.
      expect(parseScenario(JSON.parse(JSON.stringify(g.scenario)), g.scenario.name)).toEqual(g.scenario);
      expect(g.scenario.services.length).toBeGreaterThanOrEqual(4);
      expect(g.scenario.services.length).toBeLessThanOrEqual(30);
    }
    for (const f of FAMILIES) expect(counts.get(f.name), f.name).toBeGreaterThanOrEqual(Math.floor(incidents.length / FAMILIES.length) - 1);
    expect(familyOf('alpha', 3).name).toBe(incidents[3]?.family);
  });

  it('includes families the hand-written suite lacks', () => {
    const novel = FAMILIES.filter((f) => f.novel).map((f) => f.name);
    for (const name of ['deep-chain', 'older-change-newer-herring', 'leak-before-window', 'outage-with-caller-deploy', 'disk-full', 'fd-leak', 'quota-throttling', 'certificate-expiry-observed', 'credential-rotation', 'queue-backlog', 'batch-job-contention']) expect(novel).toContain(name);
  });

  it('derives the answer key from the injected fault: an existing service, the causing change, its category', () => {
    for (const { scenario: s, family } of incidents) {
      const rc = s.expect.rootCause;
      if (family === 'false-alarm') {
        expect(rc, s.name).toBeNull();
        expect(s.faults).toEqual([]);
        continue;
      }
      expect(rc, s.name).not.toBeNull();
      if (!rc) continue;
      expect(s.services.map((x) => x.name), s.name).toContain(rc.service);
      if (rc.changeId) {
        const change = s.changes.find((c) => c.id === rc.changeId);
        expect(change?.service, s.name).toBe(rc.service);
        expect(s.faults.some((f) => f.causedBy === rc.changeId), s.name).toBe(true);
        // The cause happened before the alert, and the fault starts no earlier than it.
        expect(change?.deployedAt ?? 1).toBeLessThanOrEqual(0);
      } else if (rc.category === 'capacity' || rc.category === 'throttling') {
        expect(s.faults, s.name).toEqual([]);
        // A surge, or a job's run (the job is the culprit, the database it contends is what to scale).
        const job = s.services.find((x) => x.name === rc.service && x.tier === 'job');
        expect(s.load.length > 0 || job !== undefined, s.name).toBe(true);
        if (job) expect(job.calls, s.name).toContain(s.expect.mitigation.service);
      } else {
        // No change of ours: the fault sits on the culprit itself (a third party, an expired certificate).
        expect(s.faults.some((f) => f.service === rc.service && !f.causedBy), s.name).toBe(true);
      }
      expect(s.expect.mitigation.service, s.name).toBeDefined();
    }
  });

  it('keeps red herrings off the culprit: every other change is on another service and causes no fault', () => {
    let herrings = 0;
    for (const { scenario: s } of incidents) {
      const rc = s.expect.rootCause;
      for (const c of s.changes) {
        if (c.id === rc?.changeId) continue;
        herrings += 1;
        expect(s.faults.some((f) => f.causedBy === c.id), `${s.name} ${c.id}`).toBe(false);
        if (rc) expect(c.service, `${s.name} ${c.id}`).not.toBe(rc.service);
      }
    }
    expect(herrings).toBeGreaterThan(incidents.length / 2);
    const kinds = new Set(incidents.flatMap((g) => g.herrings));
    for (const k of ['same-minutes-change', 'change-after-onset', 'misleading-history', 'noisy-baseline']) expect(kinds, k).toContain(k);
  });

  it('uses names of its own, none of the hand-written suite', () => {
    const suite = new Set(allScenarios().flatMap((s) => s.services.map((x) => x.name)));
    for (const { scenario: s } of incidents) for (const x of s.services) expect(suite.has(x.name), `${s.name}: ${x.name}`).toBe(false);
  });

  // Two of each family: the world shows the incident at the alert, and the expected mitigation restores it.
  const sample = FAMILIES.flatMap((f) => incidents.filter((g) => g.family === f.name).slice(0, 2));
  for (const { scenario: s, family } of sample) {
    it(`${s.name} (${family}): the alert service is off its healthy twin at the alert, and the expected mitigation restores it`, () => {
      const id = `gen-test-${s.name}`;
      const sick = createWorld(s, { id, now: NOW });
      const well = createWorld(healthyOf(s), { id, now: NOW });
      const a = values(sick, s.alert.service, 0);
      const b = values(well, s.alert.service, 0);
      const rc = s.expect.rootCause;
      if (!rc) {
        expect(a).toEqual(b);
        return;
      }
      const limit = s.services.find((x) => x.name === s.alert.service)?.memoryLimitMb ?? Infinity;
      const off = (minute: number) => {
        const [x, y] = [values(sick, s.alert.service, minute), values(well, s.alert.service, minute)];
        const queueAge = (x.queue_oldest_age_s ?? 0) - (y.queue_oldest_age_s ?? 0);
        return Math.max((x.latency_p99_ms - y.latency_p99_ms) / y.latency_p99_ms, (x.error_rate_pct - y.error_rate_pct) / Math.max(1, y.error_rate_pct), x.memory_mb / limit >= 0.85 ? 1 : 0, queueAge >= 120 ? 1 : 0);
      };
      // Another noise draw than the generator's checks: still in alarm (≥ 30 % slower, a point more errors, memory ≥ 85 %,
      // messages 2 min older) in 2 of the last 3 minutes, as an alarm evaluates datapoints (an incident at a capacity
      // knee can dip out of alarm for a minute).
      const inAlarm = [-2, -1, 0].filter((m) => off(m) >= 0.3).length;
      expect(inAlarm, 'the alert service shows the incident').toBeGreaterThanOrEqual(2);
      const m = s.expect.mitigation;
      const { state, result } = applyAction(sick, { kind: m.kind, service: m.service ?? rc.service, target: m.target, incidentId: 'i-1' }, NOW);
      expect(result.status, result.detail).toBe('succeeded');
      const fixed = values(state, s.alert.service, 8);
      const healthy = values(well, s.alert.service, 8);
      expect(fixed.error_rate_pct - healthy.error_rate_pct, 'errors back').toBeLessThan(1);
      expect(fixed.latency_p99_ms / healthy.latency_p99_ms, 'latency back').toBeLessThan(1.3);
      // A backlog drains: its oldest message is younger 15 minutes after the fix than at the alert.
      if ((a.queue_oldest_age_s ?? 0) - (b.queue_oldest_age_s ?? 0) >= 120) expect(values(state, s.alert.service, 15).queue_oldest_age_s, 'queue draining').toBeLessThan(a.queue_oldest_age_s as number);
    });
  }
});

describe('families without a change of ours', () => {
  const queue = Array.from({ length: 16 }, (_, i) => generateIncidentOfFamily('async', i, 'queue-backlog'));
  const jobs = Array.from({ length: 16 }, (_, i) => generateIncidentOfFamily('async', i, 'batch-job-contention'));

  it('queue-backlog: a producer → queue → consumer edge; the consumer is the culprit; nothing errs', () => {
    const kinds = new Set<string>();
    for (const { scenario: s } of queue) {
      const rc = s.expect.rootCause;
      const q = s.services.find((x) => x.consumer?.service === rc?.service);
      expect(q, s.name).toBeDefined();
      expect(s.services.some((x) => x.calls.includes(q?.name as string)), `${s.name}: a producer`).toBe(true);
      expect(rc?.category).toBe('queue-backlog');
      kinds.add(rc?.changeId ? 'rollback-change' : s.expect.mitigation.kind);
      if (!rc?.changeId) expect(s.expect.mitigation).toEqual({ kind: 'scale-service', service: rc?.service });
      const id = `gen-errors-${s.name}`;
      const sick = createWorld(s, { id, now: NOW });
      const well = createWorld(healthyOf(s), { id, now: NOW });
      for (const x of s.services) expect(values(sick, x.name, 0).error_rate_pct, `${s.name}: ${x.name} errors`).toBe(values(well, x.name, 0).error_rate_pct);
      expect((values(sick, q?.name as string, 0).queue_oldest_age_s as number) - (values(well, q?.name as string, 0).queue_oldest_age_s as number), s.name).toBeGreaterThan(120);
    }
    // Both keys: the consumer's deploy, and no change (scale the consumer).
    expect([...kinds].sort()).toEqual(['rollback-change', 'scale-service']);
    // Some of them alarm on the queue's message age, with no error to alarm on.
    expect(queue.some((g) => g.scenario.services.find((x) => x.name === g.scenario.alert.service)?.tier === 'queue')).toBe(true);
  });

  it('batch-job-contention: the job runs from the onset on a database another backend calls; no change, no fault', () => {
    for (const { scenario: s } of jobs) {
      const job = s.services.find((x) => x.tier === 'job');
      expect(job?.name, s.name).toBe(s.expect.rootCause?.service);
      expect(s.expect.rootCause?.category).toBe('capacity');
      const db = s.services.find((x) => x.name === s.expect.mitigation.service);
      expect(db?.tier, s.name).toBe('database');
      expect(s.services.filter((x) => x.calls.includes(db?.name as string) && x.tier !== 'job').length, s.name).toBeGreaterThanOrEqual(1);
      expect(s.faults).toEqual([]);
      expect(s.changes.every((c) => c.service !== job?.name)).toBe(true);
      // The database is busier during the run than in the healthy twin.
      const sick = createWorld(s, { id: 'job', now: NOW });
      const well = createWorld(healthyOf(s), { id: 'job', now: NOW });
      expect(values(sick, db?.name as string, 0).cpu_pct, s.name).toBeGreaterThan(values(well, db?.name as string, 0).cpu_pct as number);
    }
  });
});
