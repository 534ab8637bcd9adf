/**
 * Resource-leak hypotheses: "this failing service leaks memory", one per failing service.
 *
 * Predictions: it is the origin (origin-prediction.ts), its memory climbs steadily (Kendall's τ) and by a real
 * factor in the two hours up to the onset, and its errors mention memory / GC. Why: a leak builds for hours with
 * no change or load to blame, and its one clear mark is memory that only grows.
 */
import { METRICS } from '../../tools/ports.ts';
import type { Check } from '../changes.ts';
import { median } from '../metrics.ts';
import { type Candidate, pick, withReason } from './candidate.ts';
import { MINUTE_MS, STEADY_TREND_TAU, type World, anomalyIds, seriesId, seriesOf, templateIds, trendTau } from './evidence.ts';
import { originPrediction } from './origin-prediction.ts';

/** A leak: memory climbs steadily (Kendall's tau ≥ STEADY_TREND_TAU) and by at least this factor. */
const LEAK_GROWTH = 1.2;
/** How far back the leak check looks from the onset. */
const LEAK_WINDOW_MINUTES = 120;

export const testResourceLeak = (w: World, service: string): Candidate => {
  const mem = seriesOf(w, service, METRICS.memory);
  const onset = Date.parse(w.onsetOf(service) ?? '');
  const points = (mem?.points ?? []).filter((p) => Number.isNaN(onset) || Date.parse(p.t) >= onset - LEAK_WINDOW_MINUTES * MINUTE_MS);
  let grow: Check;
  if (points.length < 5) grow = { verdict: 'inconclusive', reason: 'no memory series' };
  else {
    const v = points.map((p) => p.v);
    const fifth = Math.max(1, Math.floor(v.length / 5));
    const tau = trendTau(v);
    const growth = median(v.slice(-fifth)) / Math.max(median(v.slice(0, fifth)), Number.MIN_VALUE);
    if (tau >= STEADY_TREND_TAU && growth >= LEAK_GROWTH) grow = { verdict: 'supported', reason: `memory climbs steadily (trend τ ${tau.toFixed(2)}), ×${growth.toFixed(2)} in ${LEAK_WINDOW_MINUTES} min` };
    else if (growth < 1.1 || tau < 0.2) grow = { verdict: 'refuted', reason: `memory is not climbing (τ ${tau.toFixed(2)}, ×${growth.toFixed(2)})` };
    else grow = { verdict: 'inconclusive', reason: `memory grew ×${growth.toFixed(2)} but not steadily (τ ${tau.toFixed(2)})` };
  }
  const growth = pick(grow.verdict, withReason(`memory of ${service} grows monotonically`, grow), 2, [...(mem ? [seriesId(mem)] : []), ...anomalyIds(w, service, METRICS.memory)], {
    missing: mem ? undefined : `memory of ${service}`,
  });
  const oom = w.input.templates.filter((t) => t.service === service && /out ?of ?memory|heap|\bgc\b|garbage collect|\boom\b|memory/i.test(t.template));
  const oomP = pick(oom.length > 0 ? 'supported' : 'inconclusive', `errors in ${service} mention memory exhaustion — ${oom.length > 0 ? `"${oom[0].template}"` : 'none do'}`, 1, templateIds(oom));
  return {
    kind: 'resource-leak',
    summary: `Resource (memory) leak in ${service}`,
    service,
    category: 'memory-leak',
    predictions: [originPrediction(w, service), growth, oomP],
  };
};
