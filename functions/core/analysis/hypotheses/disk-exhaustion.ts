/**
 * Disk-exhaustion hypotheses: "the volume of this service filled up, so its writes fail (ENOSPC)", one per service
 * that exposes its disk use (`disk_used_pct`) and either fails or filled past `DISK_HIGH_PCT`.
 *
 * Predictions: it is the origin (origin-prediction.ts); its disk reached full (≥ `DISK_FULL_PCT`) at the onset —
 * not hours before, not short of it; it got there by filling up — a steady climb (Kendall's τ, logs that only grow)
 * or a step (a dump, a runaway file) — rather than sitting full all along; its errors say the device is out of space;
 * and what started the fill: a change to the service deployed where the fill began (a log level raised to DEBUG) is
 * its culprit — the hypothesis then names that change (`changeId`: a rollback undoes it) and keeps the mechanism,
 * disk-full; otherwise no change to it explains it (resource-evidence.ts: a deploy near the onset does not, when the
 * fill began long before it). Why: a disk fills for hours with no change and no load to blame, and fails everything
 * that writes at once when it is full; its use series and the ENOSPC lines are its marks.
 */
import type { Check } from '../changes.ts';
import { type Candidate, pick, withReason } from './candidate.ts';
import { MINUTE_MS, type World, anomalyIds, historyId, seriesId, seriesOf, templateIds } from './evidence.ts';
import { climbBegan } from './history.ts';
import { originPrediction } from './origin-prediction.ts';
import {
  CLIMB_WINDOW_MINUTES,
  RESOURCE_METRICS,
  fmtNumber,
  fmtTime,
  limitReachedAtOnset,
  servicesWithMetric,
  shapeOfRise,
  templatesSaying,
  valuesBetween,
  changeThatStarted,
  noChangeExplains,
  pointsBetween,
} from './resource-evidence.ts';

/** At this use writes start to fail (the simulated world fails them from ~98 %; filesystems reserve a few %). */
export const DISK_FULL_PCT = 97;
/** A volume within this many points of its peak is at it (the last blocks go fast once writes start failing). */
const DISK_PINNED_POINTS = 1;
/** Below this peak a disk is not what failed (a service that fails with its disk at 60 % has another fault). */
export const DISK_HIGH_PCT = 90;
/** What a process logs when a write finds no room. */
export const DISK_FULL_TEXT = /no space left|enospc|disk (is )?full|out of disk|device full|not enough (disk )?space|insufficient (disk|storage)|disk quota exceeded/i;

/** The subjects: services that publish their disk use. */
export const servicesWithDisk = servicesWithMetric(RESOURCE_METRICS.diskUsedPct);

export const testDiskExhaustion = (w: World, service: string): Candidate | undefined => {
  const disk = seriesOf(w, service, RESOURCE_METRICS.diskUsedPct);
  if (!disk) return undefined;
  const reach = limitReachedAtOnset(w, service, disk, (p) => p.v, { full: DISK_FULL_PCT, low: DISK_HIGH_PCT, describe: (v) => `${fmtNumber(v)} % used`, tolerance: DISK_PINNED_POINTS });
  // A healthy service whose disk never got high: nothing to say about it.
  if (!w.degraded.has(service) && !(reach.peak >= DISK_HIGH_PCT)) return undefined;
  const diskIds = [seriesId(disk), ...anomalyIds(w, service, RESOURCE_METRICS.diskUsedPct)];
  const full = pick(reach.verdict, withReason(`the disk of ${service} was full at the onset`, reach), 2, diskIds);

  // How it got there: judged over the climb window up to where it became full (or up to the onset).
  const end = reach.at ?? Date.parse(w.onsetOf(service) ?? '');
  const window = Number.isNaN(end) ? valuesBetween(disk) : valuesBetween(disk, end - CLIMB_WINDOW_MINUTES * MINUTE_MS, end);
  const rise = shapeOfRise(window);
  // Where the climb began: in the series read, or — already climbing as they begin — in the longer history (history.ts).
  const since = Number.isNaN(end) ? undefined : climbBegan(w, service, RESOURCE_METRICS.diskUsedPct, { ...disk, points: pointsBetween(disk, end - 6 * 60 * MINUTE_MS) }, end);
  const began = since?.at;
  let fill: Check;
  if (window.length < 3) fill = { verdict: 'inconclusive', reason: 'too few readings before it was full' };
  else if (window[0] >= DISK_FULL_PCT) fill = { verdict: 'refuted', reason: `it was already ${fmtNumber(window[0])} % used ${CLIMB_WINDOW_MINUTES} min before: full all along, not filling at the onset` };
  else if (rise.shape === 'steady') fill = { verdict: 'supported', reason: `it filled steadily (trend τ ${rise.tau.toFixed(2)}) from ${fmtNumber(window[0])} % to ${fmtNumber(Math.max(...window))} %${typeof began === 'number' ? ` since ${fmtTime(began)}` : ''}` };
  else if (rise.shape === 'step') fill = { verdict: 'supported', reason: `it jumped: ${Math.round(rise.largestStepShare * 100)} % of its rise (${fmtNumber(window[0])} → ${fmtNumber(Math.max(...window))} %) came in one step${typeof began === 'number' ? ` at ${fmtTime(began)}` : ''}` };
  else if (rise.shape === 'flat') fill = { verdict: 'refuted', reason: `it did not fill (${fmtNumber(window[0])} % → ${fmtNumber(window[window.length - 1])} %)` };
  else fill = { verdict: 'inconclusive', reason: `it rose ${fmtNumber(rise.rise)} points, but neither steadily nor in a step (τ ${rise.tau.toFixed(2)})` };
  const filling = pick(fill.verdict, withReason(`${service}'s disk filled up before the onset (a steady fill or a step)`, fill), 1, [seriesId(disk)]);

  const said = templatesSaying(w, service, DISK_FULL_TEXT, { callers: true });
  const errors = pick(said.length > 0 ? 'supported' : 'inconclusive', `errors of ${service} say the device is out of space — ${said.length > 0 ? `"${said[0].template.slice(0, 160)}"` : 'none do'}`, 1.5, templateIds(said), {
    missing: said.length > 0 ? undefined : `error logs of ${service} (ENOSPC / "No space left on device")`,
  });

  // A change deployed where the fill began is its culprit (the mechanism stays this resource): the hypothesis names
  // it, and a rollback undoes it. Otherwise no change to the service may explain it better.
  const starter = changeThatStarted(w, service, began, since?.toleranceMs);
  const culprit = starter
    ? pick('supported', `the fill of ${service} began at a change — ${starter.id} ("${starter.title}") was deployed at ${fmtTime(Date.parse(starter.deployedAt))}, when it began (${fmtTime(began as number)})`, 1, [
        `change:${starter.id}`,
        seriesId(disk),
        ...(since?.history ? [historyId(since.history)] : []),
      ])
    : noChangeExplains(w, service, { movedAt: began, toleranceMs: since?.toleranceMs, what: 'its disk' });
  const how = fill.verdict === 'supported' ? (rise.shape === 'step' ? ', in a step' : ', filling steadily') : '';
  return {
    kind: 'disk-exhaustion',
    summary: `Disk of ${service} full (${fmtNumber(reach.peak)} % used${how}): writes fail with "No space left on device"${starter ? `; the fill began at ${starter.id}` : ''}`,
    service,
    ...(starter ? { changeId: starter.id } : {}),
    category: 'disk-full',
    predictions: [originPrediction(w, service), full, filling, errors, culprit],
  };
};
