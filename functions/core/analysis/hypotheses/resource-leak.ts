/**
 * Resource-leak hypotheses: "this failing service leaks memory", one per failing service.
 *
 * Predictions: it is the origin (origin-prediction.ts), its memory climbs steadily (Kendall's τ) and by a real
 * factor in the two hours up to the onset (or, a slow leak, without pause over the whole look-back while the runtime
 * struggles), its errors mention memory / GC, and — when a deploy of it is where the climb starts — that no change
 * started it (refuted then: the change hypothesis says the same and names what to roll back). Why: a leak builds for hours with
 * no change or load to blame, and its one clear mark is memory that only grows.
 */
import { METRICS } from '../../tools/ports.ts';
import type { Check } from '../changes.ts';
import { type Candidate, pick, withReason } from './candidate.ts';
import { MINUTE_MS, STEADY_TREND_TAU, type World, anomalyIds, growthOf, historyId, seriesId, seriesOf, templateIds, trendTau } from './evidence.ts';
import { HISTORY_LOOKBACK_HOURS, climbBegan } from './history.ts';
import { originPrediction } from './origin-prediction.ts';
import { changesInWindow, slowBurn } from './change.ts';
import { CHANGE_EXPLAINS_WEIGHT } from './resource-evidence.ts';

/** A leak: memory climbs steadily (Kendall's tau ≥ STEADY_TREND_TAU) and by at least this factor. */
const LEAK_GROWTH = 1.2;
/** How far back the fast-leak check looks from the onset. */
const LEAK_WINDOW_MINUTES = 120;
/**
 * A slow leak (started many hours before the window): over the whole look-back the climb is small next to the
 * level, but it never stops. So: at least this steady (τ), over at least `SLOW_LEAK_MIN_MINUTES`, by at least
 * `SLOW_LEAK_GROWTH` — and the runtime already struggles (its logs speak of GC pauses or memory).
 */
const SLOW_LEAK_TAU = 0.8;
const SLOW_LEAK_GROWTH = 1.03;
const SLOW_LEAK_MIN_MINUTES = 150;
/** Below this growth, or this steadiness, over the fast-leak window, memory is not climbing — unless it climbs slowly over the whole look-back. */
const FLAT_GROWTH = 1.1;
const FLAT_TAU = 0.2;
/** Words of a runtime short of memory: GC pauses, heap, out of memory. */
export const MEMORY_PRESSURE_TEXT = /out ?of ?memory|heap|\bgc\b|garbage collect|\boom\b|memory|mark-compact|allocation failure/i;

export const testResourceLeak = (w: World, service: string): Candidate => {
  const mem = seriesOf(w, service, METRICS.memory);
  const onset = Date.parse(w.onsetOf(service) ?? '');
  const points = (mem?.points ?? []).filter((p) => Number.isNaN(onset) || Date.parse(p.t) >= onset - LEAK_WINDOW_MINUTES * MINUTE_MS);
  // The whole look-back up to the onset: where a slow leak shows.
  const longPoints = (mem?.points ?? []).filter((p) => Number.isNaN(onset) || Date.parse(p.t) <= onset);
  const longMinutes = longPoints.length > 1 ? (Date.parse(longPoints[longPoints.length - 1].t) - Date.parse(longPoints[0].t)) / MINUTE_MS : 0;
  const oom = w.input.templates.filter((t) => t.service === service && MEMORY_PRESSURE_TEXT.test(t.template));
  // A climb older than the series: where the agent read the memory's longer history (history.ts), it shows the climb whole.
  const history = mem && !Number.isNaN(onset) ? climbBegan(w, service, METRICS.memory, { ...mem, points: longPoints }, onset) : undefined;
  const historyClimb = history?.climb ?? [];
  let grow: Check;
  if (points.length < 5) grow = { verdict: 'inconclusive', reason: 'no memory series' };
  else {
    const v = points.map((p) => p.v);
    const tau = trendTau(v);
    const growth = growthOf(v);
    const long = longPoints.map((p) => p.v);
    const longTau = trendTau(long);
    const longGrowth = growthOf(long);
    if (tau >= STEADY_TREND_TAU && growth >= LEAK_GROWTH) grow = { verdict: 'supported', reason: `memory climbs steadily (trend τ ${tau.toFixed(2)}), ×${growth.toFixed(2)} in ${LEAK_WINDOW_MINUTES} min` };
    else if (longMinutes >= SLOW_LEAK_MIN_MINUTES && longTau >= SLOW_LEAK_TAU && longGrowth >= SLOW_LEAK_GROWTH && oom.length > 0) {
      grow = { verdict: 'supported', reason: `memory climbs without pause over the ${Math.round(longMinutes)} min before the onset (τ ${longTau.toFixed(2)}, ×${longGrowth.toFixed(2)}) and the runtime already struggles: a slow leak that began before the look-back` };
    } else if (typeof history?.at === 'number' && historyClimb.length >= 5 && trendTau(historyClimb) >= SLOW_LEAK_TAU && growthOf(historyClimb) >= LEAK_GROWTH) {
      grow = { verdict: 'supported', reason: `memory has climbed since ${new Date(history.at).toISOString().slice(0, 16)}Z in its ${HISTORY_LOOKBACK_HOURS} h history (τ ${trendTau(historyClimb).toFixed(2)}, ×${growthOf(historyClimb).toFixed(2)}): a slow leak that began before the look-back` };
    } else if ((growth < FLAT_GROWTH || tau < FLAT_TAU) && !(longTau >= SLOW_LEAK_TAU && longGrowth >= SLOW_LEAK_GROWTH)) grow = { verdict: 'refuted', reason: `memory is not climbing (τ ${tau.toFixed(2)}, ×${growth.toFixed(2)})` };
    else grow = { verdict: 'inconclusive', reason: `memory grew ×${growth.toFixed(2)} (τ ${tau.toFixed(2)}) in ${LEAK_WINDOW_MINUTES} min, ×${longGrowth.toFixed(2)} (τ ${longTau.toFixed(2)}) over ${Math.round(longMinutes)} min: not enough for a leak` };
  }
  const growth = pick(grow.verdict, withReason(`memory of ${service} grows monotonically`, grow), 2, [...(mem ? [seriesId(mem)] : []), ...(history?.history ? [historyId(history.history)] : []), ...anomalyIds(w, service, METRICS.memory)], {
    missing: mem ? undefined : `memory of ${service}`,
  });
  // A deploy of the service whose memory has climbed since it (a slow burn, change.ts) explains the leak and says
  // more: which change to roll back. The leak with no change to blame is then the weaker reading.
  const start = w.onsetOf(service);
  const leakingSince = changesInWindow(w)
    .filter((c) => c.service === service && !(Date.parse(c.deployedAt) > Date.parse(start ?? '')))
    .find((c) => slowBurn(w, c, start)?.metric === METRICS.memory);
  const noChange = leakingSince
    ? pick('refuted', `no change to ${service} started the climb — memory climbs from ${leakingSince.id}, deployed ${leakingSince.deployedAt} (tested separately)`, CHANGE_EXPLAINS_WEIGHT, [`change:${leakingSince.id}`, ...(mem ? [seriesId(mem)] : [])])
    : undefined;
  const oomP = pick(oom.length > 0 ? 'supported' : 'inconclusive', `errors in ${service} mention memory exhaustion — ${oom.length > 0 ? `"${oom[0].template}"` : 'none do'}`, 1, templateIds(oom));
  return {
    kind: 'resource-leak',
    summary: `Resource (memory) leak in ${service}`,
    service,
    category: 'memory-leak',
    predictions: [originPrediction(w, service), growth, oomP, ...(noChange ? [noChange] : [])],
  };
};
