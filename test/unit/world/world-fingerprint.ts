/**
 * A fingerprint of everything a world answers for a scenario: metric series (fine and coarse), traces rooted at
 * every service, and every service's logs, over a fixed window of a world with a fixed id seeded at a fixed
 * instant, both untouched and after the scenario's expected mitigation. Used to prove that extending the world
 * (new optional scenario fields, new capacity models) leaves every existing scenario's answers exactly as they
 * were: the reference file was generated at the commit before the extension.
 */
import { createHash } from 'node:crypto';
import { applyAction, createWorld, logs, metricSeries, traces, type WorldState } from '../../../functions/core/world/world.ts';
import type { Scenario } from '../../../functions/core/world/scenario.ts';

const MINUTE = 60_000;
export const FINGERPRINT_NOW = new Date('2026-03-10T12:00:31.000Z');
export const FINGERPRINT_WORLD_ID = 'fingerprint-1';

const sha = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');

const answers = (w: WorldState, services: string[]) => {
  const anchor = Date.parse(w.createdAt);
  const at = (minutes: number, seconds = 0) => anchor + minutes * MINUTE + seconds * 1000;
  return {
    fine: sha(metricSeries(w, { services, from: at(-90), to: at(20, 17) })),
    coarse: sha(metricSeries(w, { services, from: at(-240), to: at(30), resolutionSeconds: 300 })),
    traces: sha(traces(w, { services, from: at(-40), to: at(10), limit: 100 })),
    errorTraces: sha(traces(w, { services, from: at(-40), to: at(10), limit: 50, errorsOnly: true })),
    logs: sha(logs(w, { services, from: at(-25), to: at(5, 40), limit: 10_000 })),
  };
};

/** The scenario's fingerprint: a world as seeded, and the same world after its expected mitigation at t=+1. */
export const worldFingerprint = (s: Scenario): Record<string, Record<string, string>> => {
  const services = s.services.map((x) => x.name);
  const w = createWorld(s, { id: FINGERPRINT_WORLD_ID, now: FINGERPRINT_NOW });
  const out: Record<string, Record<string, string>> = { seeded: answers(w, services) };
  const m = s.expect.mitigation;
  if (m.kind !== 'none' && m.service) {
    const changeId = s.expect.rootCause?.changeId;
    const applied = applyAction(w, { kind: m.kind, service: m.service, ...(m.target ? { target: m.target } : {}), ...(changeId ? { params: { changeId } } : {}) }, new Date(Date.parse(w.createdAt) + MINUTE));
    out.mitigated = { status: applied.result.status, ...answers(applied.state, services) };
  }
  return out;
};
