/**
 * File-descriptor exhaustion hypotheses: "this service ran out of file descriptors, so accept() and open() fail
 * (EMFILE)", one per service that exposes `open_fds` and either fails or came close to its `fd_limit`.
 *
 * Predictions: it is the origin (origin-prediction.ts); its open descriptors reached the limit at the onset; they
 * climbed steadily before (a leak: sockets or files never closed — Kendall's τ), rather than jumping with a burst;
 * the limit itself did not come down (a lowered ulimit is a change's story); its errors say "Too many open files";
 * and what started the climb: a deploy to it where the climb began is the leak's culprit (the hypothesis names it,
 * `changeId`), otherwise no change to it explains it (resource-evidence.ts). Why: a descriptor leak builds for
 * hours — often from a deploy long before the window, or none — and fails every new connection at once when the
 * table is full.
 */
import type { Check } from '../changes.ts';
import { type Candidate, pick, withReason } from './candidate.ts';
import { MINUTE_MS, STEADY_TREND_TAU, type World, anomalyIds, historyId, seriesId, seriesOf, templateIds } from './evidence.ts';
import { climbBegan } from './history.ts';
import { originPrediction } from './origin-prediction.ts';
import {
  RESOURCE_METRICS,
  fmtNumber,
  fmtTime,
  limitReachedAtOnset,
  medianOr,
  changeThatStarted,
  noChangeExplains,
  onsetMsOf,
  pointsBetween,
  servicesWithMetric,
  shapeOfRise,
  templatesSaying,
  valuesBetween,
} from './resource-evidence.ts';

/** At this share of the limit the table is full (per-minute averages sit a little below it). */
export const FD_FULL_SHARE = 0.95;
/** A table within this share of its peak is pinned there (the kernel refuses the next descriptor at the limit). */
const FD_PINNED_TOLERANCE = 0.005;
/** Below this share at its peak the descriptor table is not what failed. */
export const FD_HIGH_SHARE = 0.8;
/** A leak grows by at least this factor over the readings before the limit (a slow leak near the limit grows little). */
const FD_LEAK_GROWTH = 1.05;
/** How far back from the limit the leak is judged. */
const FD_LEAK_WINDOW_MINUTES = 360;
/** A limit that fell by more than this share was lowered. */
const LIMIT_FALL_SHARE = 0.05;
export const FD_EXHAUSTED_TEXT = /too many open files|emfile|file descriptors?|ulimit|nofile|open files limit/i;

/** The subjects: services that publish their open descriptors. */
export const servicesWithFds = servicesWithMetric(RESOURCE_METRICS.openFds);

export const testFdExhaustion = (w: World, service: string): Candidate | undefined => {
  const open = seriesOf(w, service, RESOURCE_METRICS.openFds);
  if (!open) return undefined;
  const limit = seriesOf(w, service, RESOURCE_METRICS.fdLimit);
  const limits = new Map((limit?.points ?? []).map((p) => [p.t, p.v]));
  const fallback = medianOr(limit?.points.map((p) => p.v) ?? []);
  const limitAt = (t: string) => limits.get(t) ?? fallback;
  const reach: Check & { at?: number; peak: number } = limit
    ? limitReachedAtOnset(w, service, open, (p) => (limitAt(p.t) > 0 ? p.v / limitAt(p.t) : undefined), {
        full: FD_FULL_SHARE,
        low: FD_HIGH_SHARE,
        describe: (share) => `${Math.round(share * 100)} % of its descriptor limit`,
        tolerance: FD_PINNED_TOLERANCE,
      })
    : { verdict: 'inconclusive', reason: 'its descriptor limit (fd_limit) is not published', peak: Number.NaN };
  if (!w.degraded.has(service) && !(reach.peak >= FD_HIGH_SHARE)) return undefined;
  const ids = [seriesId(open), ...(limit ? [seriesId(limit)] : []), ...anomalyIds(w, service, RESOURCE_METRICS.openFds)];
  const atLimit = pick(reach.verdict, withReason(`the open file descriptors of ${service} reached its limit at the onset`, reach), 2, ids, {
    missing: limit ? undefined : `fd_limit of ${service}`,
  });

  // A leak: the climb up to where the table filled (or up to the onset).
  const end = reach.at ?? onsetMsOf(w, service);
  // A leak is slow (a few percent of the table an hour): judged over all the readings up to the limit, hours if there.
  const window = Number.isNaN(end) ? valuesBetween(open) : valuesBetween(open, end - FD_LEAK_WINDOW_MINUTES * MINUTE_MS, end);
  const rise = shapeOfRise(window, STEADY_TREND_TAU);
  const growth = window.length > 0 && window[0] > 0 ? Math.max(...window) / window[0] : Number.NaN;
  // Where the climb began: in the series read, or — already climbing as they begin — in the longer history (history.ts).
  const since = Number.isNaN(end) ? undefined : climbBegan(w, service, RESOURCE_METRICS.openFds, { ...open, points: pointsBetween(open, end - 6 * 60 * MINUTE_MS) }, end);
  const began = since?.at;
  let leak: Check;
  if (window.length < 3) leak = { verdict: 'inconclusive', reason: 'too few readings before the onset' };
  // A steady climb first: a leak that reaches the limit ends with one jump to it (readings capped there), which can
  // be most of a slow leak's rise in the window without making it a burst.
  else if (rise.tau >= STEADY_TREND_TAU && growth >= FD_LEAK_GROWTH) leak = { verdict: 'supported', reason: `they climb steadily (trend τ ${rise.tau.toFixed(2)}), ×${growth.toFixed(2)} in ${fmtNumber(window.length)} min${typeof began === 'number' ? ` since ${fmtTime(began)}` : ''}` };
  else if (rise.shape === 'step') leak = { verdict: 'inconclusive', reason: `they jumped in one step (${fmtNumber(window[0])} → ${fmtNumber(Math.max(...window))}): a burst of connections, not a leak` };
  else if (rise.shape === 'flat' || growth < 1.02) leak = { verdict: 'refuted', reason: `they did not climb (${fmtNumber(window[0])} → ${fmtNumber(Math.max(...window))})` };
  else leak = { verdict: 'inconclusive', reason: `they rose ×${growth.toFixed(2)}, not steadily (τ ${rise.tau.toFixed(2)})` };
  const climbing = pick(leak.verdict, withReason(`open descriptors of ${service} climbed before the onset (a leak)`, leak), 1, [seriesId(open)]);

  // The limit stayed put: a table that fills because its size came down is a lowered limit (a change, or a host
  // setting), not a leak.
  let kept: Check | undefined;
  if (limit) {
    const onset = onsetMsOf(w, service);
    const before = medianOr(valuesBetween(limit, undefined, Number.isNaN(onset) ? undefined : onset - 60 * MINUTE_MS));
    const lowest = Math.min(...valuesBetween(limit, Number.isNaN(onset) ? undefined : onset - 60 * MINUTE_MS));
    if (Number.isFinite(before) && Number.isFinite(lowest) && lowest < before * (1 - LIMIT_FALL_SHARE))
      kept = { verdict: 'refuted', reason: `fd_limit fell from ${fmtNumber(before)} to ${fmtNumber(lowest)}: the limit was lowered` };
    else if (Number.isFinite(before)) kept = { verdict: 'supported', reason: `fd_limit held at ${fmtNumber(before)}` };
  }
  const limitKept = kept ? [pick(kept.verdict, withReason(`the descriptor limit of ${service} did not come down`, kept), kept.verdict === 'refuted' ? 2 : 0.5, [seriesId(limit!)])] : [];

  const said = templatesSaying(w, service, FD_EXHAUSTED_TEXT, { callers: true });
  const errors = pick(said.length > 0 ? 'supported' : 'inconclusive', `errors of ${service} say it ran out of file descriptors — ${said.length > 0 ? `"${said[0].template.slice(0, 160)}"` : 'none do'}`, 1.5, templateIds(said), {
    missing: said.length > 0 ? undefined : `error logs of ${service} (EMFILE / "Too many open files")`,
  });
  // A change deployed where the climb began is its culprit (the mechanism stays this resource): the hypothesis names
  // it, and a rollback undoes it. Otherwise no change to the service may explain it better.
  const starter = changeThatStarted(w, service, began, since?.toleranceMs);
  const culprit = starter
    ? pick('supported', `the climb of ${service} began at a change — ${starter.id} ("${starter.title}") was deployed at ${fmtTime(Date.parse(starter.deployedAt))}, when it began (${fmtTime(began as number)})`, 1, [
        `change:${starter.id}`,
        seriesId(open),
        ...(since?.history ? [historyId(since.history)] : []),
      ])
    : noChangeExplains(w, service, { movedAt: began, toleranceMs: since?.toleranceMs, what: 'its open descriptors' });
  return {
    kind: 'fd-exhaustion',
    summary: `File descriptors of ${service} exhausted${leak.verdict === 'supported' ? ' by a leak' : ''}: new connections and files fail with "Too many open files"${starter ? `; the climb began at ${starter.id}` : ''}`,
    service,
    ...(starter ? { changeId: starter.id } : {}),
    category: 'file-descriptors',
    predictions: [originPrediction(w, service), atLimit, climbing, ...limitKept, errors, culprit],
  };
};
