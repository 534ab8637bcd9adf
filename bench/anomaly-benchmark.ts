/**
 * Benchmark of the causal streaming detector (functions/core/analysis/detector.ts, what
 * `autopilot metrics anomalies <file.csv>` and self-detection run) on the Numenta Anomaly Benchmark (NAB) series
 * in ../shared/data/nab (41 of NAB's 58 series with their labelled windows; read there, never copied here).
 *
 *   npm run bench:anomalies                       per-series table, per-category figures, then one JSON line
 *   npm run bench:anomalies -- --data <dir>       another NAB-layout folder (<category>/<series>.csv, combined_windows.json)
 *   npm run bench:anomalies -- --verbose          also every page outside the labelled windows
 *
 * Scoring is NAB's own, re-implemented from nab/sweeper.py (calcSweepScore, calcScoreByThreshold) and
 * nab/runner.py (normalize): see `nabSweep`. What NAB scores are the detector's pages (one per incident, the
 * alert rule with its single threshold for every series): a page is what wakes someone. For reference it also
 * prints NAB's own protocol on the raw per-point score (every point at or above a threshold is a detection), at
 * the detector's threshold and at the threshold NAB's optimiser would pick on these same series (optimistic:
 * tuned on the test data, as NAB does it).
 * Without the data folder it prints why and exits 0: nothing to measure.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSeriesCsv } from '../functions/core/analysis/csv.ts';
import { DEFAULT_ALERT_THRESHOLD, type DetectorOptions, detectorConfig, detectSeries, type Incident } from '../functions/core/analysis/detector.ts';

/** ../shared/data/nab next to the repository (the project's rule: benchmark data is read there, not copied). */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../shared/data/nab/', import.meta.url));

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
 * The labelled windows that lie inside the series, as row ranges. NAB's sweeper enters a window only on a row
 * whose timestamp equals the window's start, so a window edge that is not a row of the series is an error here
 * rather than a silent miss.
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
 * Checked line by line against nab/sweeper.py (NAB 1.x): weight of a row in a window
 * scaledSigmoid(−(right − i + 1)/width)·tpWeight/scaledSigmoid(−1); outside, scaledSigmoid(|prevRight − i|/(prevWidth − 1))
 * ·fpWeight, or −fpWeight before any window (position 3 → −1); scaledSigmoid(x ≥ 3) = −1; rows before
 * min(floor(0.15·rows), 750) are "probationary" and not scored; a window is entered on the row equal to its start
 * and left after the row equal to its end. Same behaviour, nothing to fix.
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

/**
 * NAB's optimiser over a whole corpus (`optimizeThreshold` → `calcScoreByThreshold` on the concatenated anomaly
 * lists): sort every scored row by score, descending, and total the raw score at each distinct threshold
 * (detections = rows with score ≥ threshold). O(n log n) instead of one full pass per threshold.
 */
export const nabOptimise = (series: readonly { scores: readonly number[]; sweep: readonly SweepPoint[] }[], cost: CostMatrix): { threshold: number; raw: number } => {
  const rows: { score: number; weighted: number; window: number }[] = [];
  let windowBase = 0;
  let raw = 0;
  for (const s of series) {
    let maxWindow = -1;
    s.sweep.forEach((p, i) => {
      if (p.window === null) return;
      rows.push({ score: s.scores[i], weighted: p.weighted, window: p.window < 0 ? -1 : windowBase + p.window });
      maxWindow = Math.max(maxWindow, p.window);
    });
    // windows with a scored row start as misses
    const scored = new Set(s.sweep.filter((p) => p.window !== null && p.window >= 0).map((p) => p.window as number));
    raw -= cost.fnWeight * scored.size;
    windowBase += maxWindow + 1;
  }
  rows.sort((a, b) => b.score - a.score);
  const best = new Map<number, number>();
  let top = { threshold: 1.1, raw };
  for (let i = 0; i < rows.length; i += 1) {
    const r = rows[i];
    if (r.window < 0) raw += r.weighted;
    else {
      const was = best.get(r.window) ?? -cost.fnWeight;
      if (r.weighted > was) {
        raw += r.weighted - was;
        best.set(r.window, r.weighted);
      }
    }
    if ((i + 1 === rows.length || rows[i + 1].score !== r.score) && raw > top.raw) top = { threshold: r.score, raw };
  }
  return top;
};

// ───────────────────────────── the benchmark ─────────────────────────────

type ProfileName = keyof typeof NAB_PROFILES;

/** combined_windows.json of a NAB-layout folder: series path → [start, end] windows. */
export const loadWindows = (dataDir: string): Record<string, [string, string][]> =>
  JSON.parse(readFileSync(join(dataDir, 'combined_windows.json'), 'utf8')) as Record<string, [string, string][]>;

export interface SeriesResult {
  readonly file: string;
  readonly category: string;
  readonly rows: number;
  readonly labels: LabelWindow[];
  readonly scores: number[];
  readonly alerts: number[];
  readonly incidents: Incident[];
  /** Per profile: NAB raw score of the pages, of no detection, and the weights per row. */
  readonly sweeps: Record<ProfileName, SweepPoint[]>;
  readonly auc: number;
  readonly seconds: number;
}

/** Runs the detector on one series of the corpus (parsed as the CLI does) and prepares its NAB scoring. */
export const runSeries = (dataDir: string, file: string, windows: readonly (readonly [string, string])[], options: DetectorOptions = {}): SeriesResult => {
  const points = parseSeriesCsv(readFileSync(join(dataDir, file), 'utf8'), file);
  const values = points.map((p) => p.v);
  const times = points.map((p) => nabTime(p.t));
  const started = performance.now();
  const { scores, alerts, incidents } = detectSeries(values, options, times);
  const seconds = (performance.now() - started) / 1000;
  const { inside, outside } = labelWindows(times, windows);
  if (outside) throw new RangeError(`${file}: ${outside} label window(s) outside the series (a NAB series is whole)`);
  const truth = times.map((_, i) => inside.some((l) => i >= l.startIndex && i <= l.endIndex));
  const sweeps = Object.fromEntries(Object.entries(NAB_PROFILES).map(([name, cost]) => [name, nabSweep(points.length, inside, cost)])) as Record<ProfileName, SweepPoint[]>;
  return { file, category: file.split('/')[0], rows: points.length, labels: inside, scores, alerts, incidents, sweeps, auc: rocAuc(scores, truth), seconds };
};

/** 1 on the rows that page, 0 elsewhere: what NAB scores at threshold 0.5 for "the pages". */
const pageScores = (r: SeriesResult): number[] => {
  const s = new Array<number>(r.rows).fill(0);
  for (const i of r.alerts) s[i] = 1;
  return s;
};

/** NAB totals over some series: raw, null, perfect and normalised, for detections = scores ≥ threshold. */
export const nabTotals = (results: readonly SeriesResult[], scoresOf: (r: SeriesResult) => readonly number[], threshold: number, profile: ProfileName) => {
  const cost = NAB_PROFILES[profile];
  let raw = 0;
  let nul = 0;
  let windows = 0;
  for (const r of results) {
    const scores = scoresOf(r);
    raw += nabRawScore(scores, r.sweeps[profile], threshold, cost);
    nul += nabRawScore(scores, r.sweeps[profile], Number.POSITIVE_INFINITY, cost);
    windows += r.labels.length;
  }
  return { raw, nullRaw: nul, windows, score: windows === 0 && raw === nul ? Number.NaN : nabNormalized(raw, nul, windows, cost) };
};

/** Window-level counts of the pages: labelled windows with a page in them, pages outside every window (after probation). */
const pageCounts = (r: SeriesResult) => {
  const probation = probationaryLength(r.rows);
  const scored = r.alerts.filter((i) => i >= probation);
  const inWindow = (i: number) => r.labels.some((l) => i >= l.startIndex && i <= l.endIndex);
  return {
    windows: r.labels.length,
    found: r.labels.filter((l) => scored.some((i) => i >= l.startIndex && i <= l.endIndex)).length,
    pages: scored.length,
    falsePages: scored.filter((i) => !inWindow(i)).length,
  };
};

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '-');
const pad = (s: string | number, n: number) => String(s).padStart(n);

export class MissingData extends Error {
  override name = 'MissingData';
}

/** The series of a NAB-layout folder: every <category>/<name>.csv that combined_windows.json lists. */
export const corpusFiles = (dataDir: string): { file: string; windows: [string, string][] }[] => {
  if (!existsSync(join(dataDir, 'combined_windows.json'))) throw new MissingData(`no NAB data at ${dataDir} (combined_windows.json missing)`);
  const windows = loadWindows(dataDir);
  const onDisk = readdirSync(dataDir)
    .filter((d) => statSync(join(dataDir, d)).isDirectory())
    .flatMap((d) => readdirSync(join(dataDir, d)).filter((f) => f.endsWith('.csv')).map((f) => `${d}/${f}`));
  const listed = onDisk.filter((f) => f in windows).sort();
  if (listed.length === 0) throw new MissingData(`no series of combined_windows.json found under ${dataDir}`);
  return listed.map((file) => ({ file, windows: windows[file] }));
};

export const parseArgs = (argv: readonly string[]): { dataDir: string; verbose: boolean } => {
  let dataDir = DEFAULT_DATA_DIR;
  const at = argv.indexOf('--data');
  if (at >= 0) {
    const dir = argv[at + 1];
    if (!dir || dir.startsWith('--')) throw new RangeError('--data needs a folder (a NAB layout: <category>/<series>.csv and combined_windows.json)');
    dataDir = resolve(dir);
  }
  return { dataDir, verbose: argv.includes('--verbose') };
};

export const main = (argv: readonly string[]): void => {
  const { dataDir, verbose } = parseArgs(argv);
  let files: ReturnType<typeof corpusFiles>;
  try {
    files = corpusFiles(dataDir);
  } catch (error) {
    if (!(error instanceof MissingData)) throw error;
    process.stdout.write(`skipped: ${error.message}; pass --data <dir> with a NAB-layout folder\n`);
    return;
  }
  const results = files.map(({ file, windows }) => runSeries(dataDir, file, windows));
  const profiles = Object.keys(NAB_PROFILES) as ProfileName[];

  const head = `${'series'.padEnd(52)} ${pad('rows', 6)} ${pad('windows', 7)} ${pad('found', 5)} ${pad('pages', 5)} ${pad('false', 5)} ${pad('AUC', 5)} ${pad('NAB', 7)}`;
  process.stdout.write(`${head}\n${'-'.repeat(head.length)}\n`);
  for (const r of results) {
    const c = pageCounts(r);
    const nab = nabTotals([r], pageScores, 0.5, 'standard');
    process.stdout.write(`${r.file.padEnd(52)} ${pad(r.rows, 6)} ${pad(c.windows, 7)} ${pad(c.found, 5)} ${pad(c.pages, 5)} ${pad(c.falsePages, 5)} ${pad(fmt(r.auc, 2), 5)} ${pad(r.labels.length ? fmt(nab.score) : `${fmt(nab.raw - nab.nullRaw, 2)}r`, 7)}\n`);
  }
  process.stdout.write(`${'-'.repeat(head.length)}\n(NAB per series: standard profile on the pages; a series without windows shows its raw cost, suffixed r)\n\n`);

  const categories = [...new Set(results.map((r) => r.category))].sort();
  const byCategory = Object.fromEntries(
    categories.map((cat) => {
      const rs = results.filter((r) => r.category === cat);
      const counts = rs.map(pageCounts).reduce((a, c) => ({ windows: a.windows + c.windows, found: a.found + c.found, pages: a.pages + c.pages, falsePages: a.falsePages + c.falsePages }));
      const std = nabTotals(rs, pageScores, 0.5, 'standard');
      return [cat, { series: rs.length, rows: rs.reduce((a, r) => a + r.rows, 0), ...counts, nabStandard: std.score, nabStandardRaw: std.raw - std.nullRaw }];
    }),
  );
  process.stdout.write(`${'category'.padEnd(24)} ${pad('series', 6)} ${pad('windows', 7)} ${pad('found', 5)} ${pad('pages', 5)} ${pad('false', 5)} ${pad('NAB std', 8)} ${pad('raw−null', 8)}\n`);
  for (const [cat, v] of Object.entries(byCategory))
    process.stdout.write(`${cat.padEnd(24)} ${pad(v.series, 6)} ${pad(v.windows, 7)} ${pad(v.found, 5)} ${pad(v.pages, 5)} ${pad(v.falsePages, 5)} ${pad(fmt(v.nabStandard), 8)} ${pad(fmt(v.nabStandardRaw, 2), 8)}\n`);

  const nab = Object.fromEntries(
    profiles.map((p) => {
      const pages = nabTotals(results, pageScores, 0.5, p);
      const raw = nabTotals(results, (r) => r.scores, DEFAULT_ALERT_THRESHOLD, p);
      const best = nabOptimise(
        results.map((r) => ({ scores: r.scores, sweep: r.sweeps[p] })),
        NAB_PROFILES[p],
      );
      const optimised = nabNormalized(best.raw, raw.nullRaw, raw.windows, NAB_PROFILES[p]);
      return [p, { pages: pages.score, rawScoresAtThreshold: raw.score, rawScoresOptimised: optimised, optimisedThreshold: best.threshold }];
    }),
  ) as Record<ProfileName, { pages: number; rawScoresAtThreshold: number; rawScoresOptimised: number; optimisedThreshold: number }>;

  const rows = results.reduce((a, r) => a + r.rows, 0);
  const seconds = results.reduce((a, r) => a + r.seconds, 0);
  const pointsPerSecond = rows / seconds;
  const totals = results.map(pageCounts).reduce((a, c) => ({ windows: a.windows + c.windows, found: a.found + c.found, pages: a.pages + c.pages, falsePages: a.falsePages + c.falsePages }));
  const meanAuc = results.filter((r) => Number.isFinite(r.auc)).reduce((a, r, _i, all) => a + r.auc / all.length, 0);
  process.stdout.write(`\n${results.length} series, ${rows} rows, ${totals.windows} windows: ${totals.found} found, ${totals.pages} pages after probation, ${totals.falsePages} outside the windows; mean per-series point ROC-AUC ${fmt(meanAuc, 3)}\n`);
  process.stdout.write(`NAB score (0 = never fires, 100 = perfect), threshold score ≥ ${DEFAULT_ALERT_THRESHOLD} for every series:\n`);
  for (const [p, v] of Object.entries(nab))
    process.stdout.write(`  ${p.padEnd(20)} pages: ${pad(fmt(v.pages), 6)}   raw score ≥ threshold, every point: ${pad(fmt(v.rawScoresAtThreshold), 8)}   raw score at NAB-optimised ${v.optimisedThreshold.toPrecision(8)}: ${pad(fmt(v.rawScoresOptimised), 6)}\n`);
  process.stdout.write(`speed: ${Math.round(pointsPerSecond)} points/s in process (${fmt(seconds, 2)} s for ${rows} points)\n`);

  if (verbose)
    for (const r of results) {
      const probation = probationaryLength(r.rows);
      const fps = r.incidents.filter((inc) => inc.startIndex >= probation && !r.labels.some((l) => inc.startIndex >= l.startIndex && inc.startIndex <= l.endIndex));
      if (fps.length === 0) continue;
      process.stdout.write(`\n${r.file}: ${fps.length} page(s) outside the labels\n`);
      for (const inc of fps) process.stdout.write(`  row ${pad(inc.startIndex, 6)} .. ${pad(inc.endIndex, 6)}  ${inc.direction.padEnd(4)} peak ${inc.peakScore.toFixed(6)}\n`);
    }

  const json = {
    corpus: dataDir,
    threshold: DEFAULT_ALERT_THRESHOLD,
    // how long a page keeps a lesser one from paging (hours of the series' clock): part of the alert rule scored
    recordHours: detectorConfig().recordHours,
    nab,
    nabStandard: nab.standard.pages,
    categories: byCategory,
    overall: { series: results.length, rows, ...totals, meanAuc },
    pointsPerSecond,
    series: results.map((r) => ({ file: r.file, rows: r.rows, ...pageCounts(r), auc: r.auc, nabStandard: r.labels.length ? nabTotals([r], pageScores, 0.5, 'standard').score : null })),
  };
  process.stdout.write(`${JSON.stringify(json, (k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : typeof v === 'number' && k !== 'threshold' && k !== 'optimisedThreshold' ? Math.round(v * 10_000) / 10_000 : v))}\n`);
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    process.stderr.write(`bench:anomalies: ${error.message}\n`);
    process.exitCode = 2;
  }
}
