/**
 * Benchmark of `detectAnomalies` (what `autopilot metrics anomalies <file.csv>` runs) on real labelled series:
 * excerpts of the Numenta Anomaly Benchmark corpus in bench/data/nab/ (source, license and rows: its README.md).
 *
 *   npx node bench/anomaly-benchmark.ts            table, then one JSON line
 *   npx node bench/anomaly-benchmark.ts --verbose  also every detected window outside the labels (false positives)
 *
 * Each series is parsed and scored exactly as the CLI does it (parseSeriesCsv, then detectAnomalies with default
 * options), and measured against NAB's labelled anomaly windows (labels/combined_windows.json):
 * - window level: a labelled window is found when any detected window overlaps it (recall); precision is the
 *   share of detected windows that overlap a labelled window; F1 of the two. Whole excerpt, no warm-up excluded.
 *   NAB windows are wide, so the same figures for the same alarms placed at random ("P rnd", "R rnd": every
 *   circular shift) are printed beside them: that is the level to beat. Timing: first alarm at or after NAB's
 *   anomaly timestamp, and how many alarms came earlier inside the window.
 * - point-wise ROC-AUC of the per-row score against "inside a labelled window" (ties get average ranks).
 * - the NAB score, re-implemented from NAB's own nab/sweeper.py and runner.normalize (see `nabSweep`), for the
 *   three NAB profiles, at the detector's own threshold (score >= 0.5) and at the threshold NAB would pick by
 *   optimising on these same series (optimistic: tuned on the test data, as NAB does it).
 * Caveat for all figures: these are excerpts (1-1.5k rows around the labelled windows), not NAB's full files, so
 * the NAB numbers are NAB-style, not comparable to NAB's published scoreboard.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseSeriesCsv } from '../functions/core/analysis/csv.ts';
import { type AnomalyWindow, detectAnomalies } from '../functions/core/analysis/metrics.ts';

const DATA_DIR = new URL('./data/nab/', import.meta.url);

/** NAB timestamps ("2015-09-11 15:34:00", labels with ".000000") are naive; read them as UTC, to the second. */
export const nabTime = (t: string): number => {
  const ms = Date.parse(`${t.slice(0, 19).replace(' ', 'T')}Z`);
  if (!Number.isFinite(ms)) throw new RangeError(`not a NAB timestamp: ${t}`);
  return ms;
};

export interface LabelWindow {
  readonly start: string;
  readonly end: string;
  readonly startIndex: number;
  readonly endIndex: number;
}

/**
 * The labelled windows that lie inside the series (an excerpt may leave some out), as row ranges. NAB's sweeper
 * enters a window only on a row whose timestamp equals the window's start, so a window edge that is not a row of
 * the series is an error here rather than a silent miss.
 */
export const labelWindows = (times: readonly number[], windows: readonly (readonly [string, string])[]): { inside: LabelWindow[]; outside: number } => {
  const inside: LabelWindow[] = [];
  let outside = 0;
  for (const [start, end] of windows) {
    const s = nabTime(start);
    const e = nabTime(end);
    if (s < times[0] || e > times[times.length - 1]) {
      outside += 1;
      continue;
    }
    const startIndex = times.indexOf(s);
    const endIndex = times.indexOf(e);
    if (startIndex < 0 || endIndex < 0) throw new RangeError(`label window ${start} .. ${end}: an edge is not a row of the series`);
    inside.push({ start, end, startIndex, endIndex });
  }
  return { inside, outside };
};

const overlaps = (a: { startIndex: number; endIndex: number }, b: { startIndex: number; endIndex: number }) =>
  a.startIndex <= b.endIndex && b.startIndex <= a.endIndex;

export interface WindowCounts {
  readonly labels: number;
  readonly labelsHit: number;
  readonly detected: number;
  readonly detectedHit: number;
}

/** Window-level counts: labels overlapped by some detection, detections overlapping some label. */
export const windowCounts = (labels: readonly LabelWindow[], detected: readonly { startIndex: number; endIndex: number }[]): WindowCounts => ({
  labels: labels.length,
  labelsHit: labels.filter((l) => detected.some((d) => overlaps(l, d))).length,
  detected: detected.length,
  detectedHit: detected.filter((d) => labels.some((l) => overlaps(l, d))).length,
});

/** Recall, precision and F1 of window counts; a ratio with nothing to count is NaN (printed as "-"). */
export const prf = (c: WindowCounts): { precision: number; recall: number; f1: number } => {
  const precision = c.detected === 0 ? Number.NaN : c.detectedHit / c.detected;
  const recall = c.labels === 0 ? Number.NaN : c.labelsHit / c.labels;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : precision === 0 && recall === 0 ? 0 : Number.NaN;
  return { precision, recall, f1 };
};

/**
 * Chance level for the same alarms: mean precision and recall over every circular shift of the detected windows
 * (same count and lengths, random placement). With wide labels and many alarms, recall comes cheap; this says how
 * cheap.
 */
export const shiftedBaseline = (labels: readonly LabelWindow[], detected: readonly { startIndex: number; endIndex: number }[], rows: number): { precision: number; recall: number } => {
  if (rows < 2 || detected.length === 0 || labels.length === 0) return { precision: Number.NaN, recall: Number.NaN };
  let precision = 0;
  let recall = 0;
  for (let shift = 1; shift < rows; shift += 1) {
    // an alarm shifted past the end wraps to the start: it becomes two segments, still one alarm
    const alarms = detected.map((d) => {
      const start = (d.startIndex + shift) % rows;
      const end = start + (d.endIndex - d.startIndex);
      return end < rows ? [{ startIndex: start, endIndex: end }] : [{ startIndex: start, endIndex: rows - 1 }, { startIndex: 0, endIndex: end - rows }];
    });
    precision += alarms.filter((segments) => segments.some((a) => labels.some((l) => overlaps(a, l)))).length / alarms.length;
    recall += labels.filter((l) => alarms.some((segments) => segments.some((a) => overlaps(a, l)))).length / labels.length;
  }
  return { precision: precision / (rows - 1), recall: recall / (rows - 1) };
};

/**
 * ROC-AUC of scores against binary truth, as the Mann-Whitney U statistic: the probability that a random
 * positive row outscores a random negative one, ties counting half. NaN when one class is empty.
 */
export const rocAuc = (scores: readonly number[], truth: readonly boolean[]): number => {
  if (scores.length !== truth.length) throw new RangeError(`rocAuc: ${scores.length} scores for ${truth.length} labels`);
  const order = scores.map((s, i) => ({ s, pos: truth[i] })).sort((a, b) => a.s - b.s);
  let rankSumPos = 0;
  let positives = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && order[j].s === order[i].s) j += 1;
    const averageRank = (i + 1 + j) / 2; // ranks i+1 .. j share their mean
    for (let k = i; k < j; k += 1)
      if (order[k].pos) {
        rankSumPos += averageRank;
        positives += 1;
      }
    i = j;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSumPos - (positives * (positives + 1)) / 2) / (positives * negatives);
};

// ───────────────────────────── NAB scoring (nab/sweeper.py, runner.normalize) ─────────────────────────────

export interface CostMatrix {
  readonly tpWeight: number;
  readonly fpWeight: number;
  readonly fnWeight: number;
}

/** config/profiles.json of NAB (v1.x). */
export const NAB_PROFILES: Readonly<Record<'standard' | 'reward_low_FP_rate' | 'reward_low_FN_rate', CostMatrix>> = {
  standard: { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 },
  reward_low_FP_rate: { tpWeight: 1, fpWeight: 0.22, fnWeight: 1 },
  reward_low_FN_rate: { tpWeight: 1, fpWeight: 0.11, fnWeight: 2 },
};

/** NAB excludes the first 15% of each file (at most 750 rows) from scoring: detectors are still learning. */
const PROBATION_PERCENT = 0.15;
export const probationaryLength = (rows: number): number => Math.min(Math.floor(PROBATION_PERCENT * rows), PROBATION_PERCENT * 5000);

/** 2·sigmoid(−5x) − 1: +0.987 at a window's left edge (x = −1), 0 at its right edge, → −1 past it. */
const scaledSigmoid = (x: number): number => (x >= 3 ? -1 : 2 / (1 + Math.exp(5 * x)) - 1);

/** Per row: the NAB weight it earns if it is a detection, and the labelled window it belongs to. */
export interface SweepPoint {
  readonly weighted: number;
  /** Index into the label windows; -1 outside every window; null inside the probationary period (not scored). */
  readonly window: number | null;
}

/**
 * NAB's `Sweeper.calcSweepScore`: a detection inside a window is worth tpWeight scaled by how early it comes;
 * one outside is worth −fpWeight, scaled down when it follows shortly after a window's right edge.
 */
export const nabSweep = (rows: number, labels: readonly LabelWindow[], cost: CostMatrix): SweepPoint[] => {
  const maxTP = scaledSigmoid(-1);
  const probation = probationaryLength(rows);
  const points: SweepPoint[] = [];
  let next = 0;
  let current: { index: number; right: number; width: number } | undefined;
  let previous: { right: number; width: number } | undefined;
  for (let i = 0; i < rows; i += 1) {
    if (next < labels.length && labels[next].startIndex === i) {
      const l = labels[next];
      current = { index: next, right: l.endIndex, width: l.endIndex - l.startIndex + 1 };
      next += 1;
    }
    let weighted: number;
    if (current) weighted = (scaledSigmoid(-(current.right - i + 1) / current.width) * cost.tpWeight) / maxTP;
    else {
      const position = previous ? Math.abs(previous.right - i) / (previous.width - 1) : 3;
      weighted = scaledSigmoid(position) * cost.fpWeight;
    }
    points.push({ weighted, window: i < probation ? null : current ? current.index : -1 });
    if (current && i === current.right) {
      previous = { right: current.right, width: current.width };
      current = undefined;
    }
  }
  return points;
};

/**
 * NAB's score at one threshold (`calcScoreByThreshold`): every scored window starts at −fnWeight and takes the
 * best (earliest) detection inside it; every detection outside windows adds its (negative) weight.
 */
export const nabRawScore = (scores: readonly number[], sweep: readonly SweepPoint[], threshold: number, cost: CostMatrix): number => {
  const windows = new Map<number, number>();
  let fp = 0;
  sweep.forEach((p) => {
    if (p.window !== null && p.window >= 0 && !windows.has(p.window)) windows.set(p.window, -cost.fnWeight);
  });
  sweep.forEach((p, i) => {
    if (p.window === null || scores[i] < threshold) return;
    if (p.window < 0) fp += p.weighted;
    else windows.set(p.window, Math.max(windows.get(p.window) ?? -cost.fnWeight, p.weighted));
  });
  return fp + [...windows.values()].reduce((a, b) => a + b, 0);
};

/** runner.normalize: 100 · (raw − null) / (perfect − null); null = no detections, perfect = tpWeight per window. */
export const nabNormalized = (raw: number, nullScore: number, windows: number, cost: CostMatrix): number =>
  (100 * (raw - nullScore)) / (windows * cost.tpWeight - nullScore);

// ───────────────────────────── the benchmark ─────────────────────────────

export interface SeriesResult {
  readonly file: string;
  readonly rows: number;
  readonly labels: LabelWindow[];
  readonly labelsOutside: number;
  readonly detected: AnomalyWindow[];
  readonly counts: WindowCounts;
  readonly auc: number;
  readonly scores: number[];
  readonly times: number[];
  /** Share of rows inside labelled windows: what a detector alarming at random would get as precision. */
  readonly labelCoverage: number;
  /** Precision and recall of the same alarms placed at random (`shiftedBaseline`). */
  readonly chance: { precision: number; recall: number };
  /** Detected windows per day of data. */
  readonly alarmsPerDay: number;
  /** Per labelled window, against NAB's anomaly timestamp inside it (see `alarmTiming`). */
  readonly timing: AlarmTiming[];
}

export interface AlarmTiming {
  /** Minutes from the anomaly timestamp to the first alarm active at or after it, within the window; null: none. */
  readonly delayMinutes: number | null;
  /** Alarms that start inside the window before the anomaly timestamp (NAB credits them as early detections). */
  readonly earlier: number;
}

/**
 * When the first alarm comes for one labelled window. NAB windows are wide (10% of the file shared among its
 * anomalies) and centred on the labelled anomaly, so "some alarm overlaps the window" says little about timing.
 */
export const alarmTiming = (label: LabelWindow, anomalyIndex: number, detected: readonly { startIndex: number; endIndex: number }[], times: readonly number[]): AlarmTiming => {
  const first = detected.find((d) => d.endIndex >= anomalyIndex && d.startIndex <= label.endIndex);
  return {
    delayMinutes: first ? Math.round((times[Math.max(first.startIndex, anomalyIndex)] - times[anomalyIndex]) / 60_000) : null,
    earlier: detected.filter((d) => d.startIndex >= label.startIndex && d.startIndex < anomalyIndex).length,
  };
};

export const loadLabels = (name: string): Record<string, string[] | [string, string][]> =>
  JSON.parse(readFileSync(new URL(name, DATA_DIR), 'utf8')) as Record<string, string[] | [string, string][]>;

/** Runs the detector on one series of the corpus and measures it. */
export const runSeries = (file: string, windows: readonly (readonly [string, string])[], anomalies: readonly string[]): SeriesResult => {
  const points = parseSeriesCsv(readFileSync(new URL(file, DATA_DIR), 'utf8'), file);
  const { scores, windows: detected } = detectAnomalies(points);
  const times = points.map((p) => nabTime(p.t));
  const { inside, outside } = labelWindows(times, windows);
  const truth = times.map((_, i) => inside.some((l) => i >= l.startIndex && i <= l.endIndex));
  const timing = inside.map((l) => {
    const anomaly = anomalies.map(nabTime).find((t) => t >= times[l.startIndex] && t <= times[l.endIndex]);
    const anomalyIndex = anomaly === undefined ? l.startIndex : times.findIndex((t) => t >= anomaly);
    return alarmTiming(l, anomalyIndex, detected, times);
  });
  const days = (times[times.length - 1] - times[0]) / 86_400_000;
  return {
    file,
    rows: points.length,
    labels: inside,
    labelsOutside: outside,
    detected,
    counts: windowCounts(inside, detected),
    auc: rocAuc(scores, truth),
    scores,
    times,
    labelCoverage: truth.filter(Boolean).length / truth.length,
    chance: shiftedBaseline(inside, detected, points.length),
    alarmsPerDay: detected.length / days,
    timing,
  };
};

type ProfileName = keyof typeof NAB_PROFILES;

/** NAB totals over the corpus at one threshold: raw, null and normalized, per profile. */
const nabAt = (results: readonly SeriesResult[], sweeps: readonly Record<ProfileName, SweepPoint[]>[], threshold: number, profile: ProfileName) => {
  const cost = NAB_PROFILES[profile];
  let raw = 0;
  let nul = 0;
  let windows = 0;
  results.forEach((r, k) => {
    raw += nabRawScore(r.scores, sweeps[k][profile], threshold, cost);
    nul += nabRawScore(r.scores, sweeps[k][profile], Number.POSITIVE_INFINITY, cost);
    windows += r.labels.length;
  });
  return { raw, normalized: nabNormalized(raw, nul, windows, cost) };
};

/** NAB's optimise step: the threshold (among the distinct scores) with the highest total raw score. */
const optimiseThreshold = (results: readonly SeriesResult[], sweeps: readonly Record<ProfileName, SweepPoint[]>[], profile: ProfileName) => {
  const candidates = [...new Set(results.flatMap((r) => r.scores)), 1.1].sort((a, b) => b - a);
  let best = { threshold: 1.1, raw: Number.NEGATIVE_INFINITY, normalized: Number.NaN };
  for (const threshold of candidates) {
    const at = nabAt(results, sweeps, threshold, profile);
    if (at.raw > best.raw) best = { threshold, ...at };
  }
  return best;
};

const fmt = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '-');
const pad = (s: string | number, n: number) => String(s).padStart(n);
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

export const main = (argv: readonly string[]): void => {
  const verbose = argv.includes('--verbose');
  const windowsByFile = loadLabels('combined_windows.json') as Record<string, [string, string][]>;
  const anomaliesByFile = loadLabels('combined_labels.json') as Record<string, string[]>;
  const results = Object.keys(windowsByFile)
    .sort()
    .map((file) => runSeries(file, windowsByFile[file], anomaliesByFile[file] ?? []));
  const sweeps = results.map((r) =>
    Object.fromEntries(Object.entries(NAB_PROFILES).map(([name, cost]) => [name, nabSweep(r.rows, r.labels, cost)])) as Record<ProfileName, SweepPoint[]>,
  );
  const perSeriesNab = results.map((r, k) => {
    const cost = NAB_PROFILES.standard;
    const nul = nabRawScore(r.scores, sweeps[k].standard, Number.POSITIVE_INFINITY, cost);
    return nabNormalized(nabRawScore(r.scores, sweeps[k].standard, 0.5, cost), nul, r.labels.length, cost);
  });

  const head = `${'series'.padEnd(52)} ${pad('rows', 5)} ${pad('labels', 6)} ${pad('found', 5)} ${pad('alarms', 6)} ${pad('/day', 5)} ${pad('on lbl', 6)} ${pad('P', 5)} ${pad('R', 5)} ${pad('F1', 5)} ${pad('P rnd', 5)} ${pad('R rnd', 5)} ${pad('AUC', 5)} ${pad('NAB@.5', 7)}  first alarm after NAB's anomaly time`;
  process.stdout.write(`${head}\n${'-'.repeat(head.length)}\n`);
  results.forEach((r, k) => {
    const m = prf(r.counts);
    const lags = r.timing.map((t) => `${t.delayMinutes === null ? 'none' : `+${t.delayMinutes}m`}${t.earlier ? ` (${t.earlier} before)` : ''}`).join(', ');
    const note = r.labelsOutside ? ` [${r.labelsOutside} label window(s) outside the excerpt]` : '';
    process.stdout.write(
      `${r.file.padEnd(52)} ${pad(r.rows, 5)} ${pad(r.counts.labels, 6)} ${pad(r.counts.labelsHit, 5)} ${pad(r.counts.detected, 6)} ${pad(fmt(r.alarmsPerDay, 1), 5)} ${pad(r.counts.detectedHit, 6)} ${pad(fmt(m.precision), 5)} ${pad(fmt(m.recall), 5)} ${pad(fmt(m.f1), 5)} ${pad(fmt(r.chance.precision), 5)} ${pad(fmt(r.chance.recall), 5)} ${pad(fmt(r.auc), 5)} ${pad(fmt(perSeriesNab[k], 1), 7)}  ${lags}${note}\n`,
    );
  });

  const total: WindowCounts = results.reduce((a, r) => ({ labels: a.labels + r.counts.labels, labelsHit: a.labelsHit + r.counts.labelsHit, detected: a.detected + r.counts.detected, detectedHit: a.detectedHit + r.counts.detectedHit }), { labels: 0, labelsHit: 0, detected: 0, detectedHit: 0 });
  const overall = prf(total);
  const pooledAuc = rocAuc(results.flatMap((r) => r.scores), results.flatMap((r) => r.times.map((_, i) => r.labels.some((l) => i >= l.startIndex && i <= l.endIndex))));
  const meanAuc = results.reduce((a, r) => a + r.auc, 0) / results.length;
  const rows = results.reduce((a, r) => a + r.rows, 0);
  const coverage = results.reduce((a, r) => a + r.labelCoverage * r.rows, 0) / rows;
  // pooled like the real counts: expected hits summed over series, divided by the totals
  const chance = {
    precision: results.reduce((a, r) => a + r.chance.precision * r.counts.detected, 0) / total.detected,
    recall: results.reduce((a, r) => a + r.chance.recall * r.counts.labels, 0) / total.labels,
  };
  const nab = Object.fromEntries(
    (Object.keys(NAB_PROFILES) as ProfileName[]).map((p) => {
      const own = nabAt(results, sweeps, 0.5, p);
      const best = optimiseThreshold(results, sweeps, p);
      return [p, { atThreshold05: own.normalized, optimised: best.normalized, optimisedThreshold: best.threshold }];
    }),
  ) as Record<ProfileName, { atThreshold05: number; optimised: number; optimisedThreshold: number }>;

  process.stdout.write(`${'-'.repeat(head.length)}\n`);
  process.stdout.write(
    `${'overall (windows pooled)'.padEnd(52)} ${pad(rows, 5)} ${pad(total.labels, 6)} ${pad(total.labelsHit, 5)} ${pad(total.detected, 6)} ${pad('', 5)} ${pad(total.detectedHit, 6)} ${pad(fmt(overall.precision), 5)} ${pad(fmt(overall.recall), 5)} ${pad(fmt(overall.f1), 5)} ${pad(fmt(chance.precision), 5)} ${pad(fmt(chance.recall), 5)} ${pad(fmt(pooledAuc), 5)}\n`,
  );
  process.stdout.write(`mean per-series ROC-AUC ${fmt(meanAuc, 3)}, pooled ${fmt(pooledAuc, 3)}\n`);
  process.stdout.write('NAB score (0 = no detections, 100 = perfect; excerpts, NOT comparable to the NAB scoreboard):\n');
  for (const [p, v] of Object.entries(nab))
    process.stdout.write(`  ${p.padEnd(20)} at score >= 0.5: ${pad(fmt(v.atThreshold05, 1), 6)}   at NAB-optimised threshold ${fmt(v.optimisedThreshold, 4)}: ${pad(fmt(v.optimised, 1), 6)}\n`);

  if (verbose)
    for (const r of results) {
      const fps = r.detected.filter((d) => !r.labels.some((l) => overlaps(l, d)));
      process.stdout.write(`\n${r.file}: ${fps.length} alarm window(s) outside the labels\n`);
      for (const d of fps) process.stdout.write(`  ${iso(r.times[d.startIndex])} .. ${iso(r.times[d.endIndex])}  ${pad(d.endIndex - d.startIndex + 1, 3)} rows  ${d.direction.padEnd(4)} peak z ${fmt(d.peakZ, 1)}\n`);
    }

  const json = {
    corpus: 'NAB excerpts (bench/data/nab)',
    series: results.map((r, k) => ({ file: r.file, rows: r.rows, ...r.counts, ...prf(r.counts), labelCoverage: r.labelCoverage, chance: r.chance, alarmsPerDay: r.alarmsPerDay, auc: r.auc, nabStandardAt05: perSeriesNab[k], timing: r.timing })),
    overall: { rows, ...total, ...overall, labelCoverage: coverage, chance, meanAuc, pooledAuc },
    nab,
  };
  process.stdout.write(`${JSON.stringify(json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : typeof v === 'number' ? Math.round(v * 10_000) / 10_000 : v))}\n`);
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
