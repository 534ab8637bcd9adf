/**
 * Robust anomaly scoring for metric time series against a known-good reference window: pure functions over plain
 * `{t, v}[]` arrays, serving the impact agent, the verification agent and the propagation ranking. (A stand-alone
 * series with no reference — `autopilot metrics anomalies`, the paging detector — is detector.ts.)
 *
 * The approach, and why:
 * - Baseline = median and MAD (median absolute deviation) of a reference window. Both have a 50% breakdown
 *   point: a few spikes inside the baseline do not move them, unlike mean/stddev.
 * - MAD × 1.4826 estimates the standard deviation for Gaussian noise, so `(v − median) / scale` is a robust
 *   z-score. A floor on the scale (relative to the level and absolute) stops a flat series — where MAD is 0 —
 *   from turning a 0.1% wiggle into an "infinite" anomaly.
 * - |z| is mapped to [0, 1] with a logistic centred on the detection threshold (3.5, the Iglewicz–Hoaglin
 *   cut-off for modified z-scores), so a score ≥ 0.5 means "anomalous" and the mapping stays monotone.
 * - Onset = the start of the sustained anomalous run at the end of the window: the run is confirmed by a
 *   "k of the last n points" rule at the high threshold, dated by a robust step fit, then extended backwards
 *   along a ramp (a pool filling up, a leak) to where it left the noise — but not through unrelated noise or
 *   load-driven creep before a jump (see `estimateOnset`).
 */

/** A point in time (ISO 8601 string or epoch milliseconds) and a value. */
export interface SeriesPoint {
  readonly t: string | number;
  readonly v: number;
}

export interface Baseline {
  readonly median: number;
  /** Raw median absolute deviation. */
  readonly mad: number;
  /** The robust standard deviation used to compute z: max(1.4826 × MAD, floors). */
  readonly scale: number;
  /** How many finite values the baseline was computed from. */
  readonly n: number;
}

export interface BaselineOptions {
  /** Minimum scale as a fraction of |median| (default 0.05: changes under ~5% of the level never score high). */
  readonly relativeFloor?: number;
  /** Minimum absolute scale (default 1e-6), for series whose level is 0. */
  readonly absoluteFloor?: number;
}

/** The Gaussian consistency constant: for normal data, 1.4826 × MAD estimates σ. */
export const MAD_TO_SIGMA = 1.4826;
/** Mean absolute deviation × 1.2533 estimates σ; used when more than half the values are identical (MAD = 0). */
export const MEAN_AD_TO_SIGMA = 1.2533;
/** Modified z-score above which a point is anomalous (Iglewicz & Hoaglin, 1993). */
export const DEFAULT_Z_THRESHOLD = 3.5;
/** The lower hysteresis threshold used to date the start of a confirmed run. */
export const DEFAULT_Z_LOW = 2;

export class InvalidSeries extends Error {
  override name = 'InvalidSeries';
}

const finite = (values: readonly number[]): number[] => values.filter((v) => Number.isFinite(v));

/**
 * Moves the k-th smallest value of `a` to index k, everything before it no larger (Hoare's selection with a
 * median-of-three pivot, in place): O(n) on average where a sort is O(n log n). Medians of pairwise slopes run
 * over thousands of values per series. The values must not be NaN.
 */
const selectInPlace = (a: Float64Array, k: number): number => {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const x0 = a[lo] as number;
    const x1 = a[(lo + hi) >> 1] as number;
    const x2 = a[hi] as number;
    const pivot = Math.max(Math.min(x0, x1), Math.min(Math.max(x0, x1), x2));
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i += 1;
      while ((a[j] as number) > pivot) j -= 1;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i += 1;
        j -= 1;
      }
    }
    // Now a[lo..j] <= pivot <= a[i..hi], and anything strictly between j and i equals the pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k] as number;
  }
  return a[k] as number;
};

/** Median of a typed array's values, reordering it in place. NaN for an empty input; the values must be finite. */
export const medianInPlace = (values: Float64Array): number => {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const mid = n >> 1;
  const upper = selectInPlace(values, mid);
  if (n % 2 === 1) return upper;
  // Everything before `mid` is no larger than the upper middle: the lower middle is their maximum.
  let lower = -Infinity;
  for (let i = 0; i < mid; i += 1) if ((values[i] as number) > lower) lower = values[i] as number;
  return (lower + upper) / 2;
};

/** Median of finite values; NaN for an empty input. */
export const median = (values: readonly number[]): number => {
  const copy = new Float64Array(values.length);
  let n = 0;
  for (const v of values) if (Number.isFinite(v)) copy[n++] = v;
  return medianInPlace(copy.subarray(0, n));
};

/** Epoch milliseconds of a point's time. Throws `InvalidSeries` naming the bad value. */
export const toMillis = (t: string | number): number => {
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) throw new InvalidSeries(`point time is not a valid timestamp: ${String(t)}`);
  return ms;
};

/**
 * Robust baseline (median, MAD, scale) of a reference window. Accepts values or points.
 * Throws `InvalidSeries` when there is no finite value.
 */
export const robustBaseline = (input: readonly number[] | readonly SeriesPoint[], options: BaselineOptions = {}): Baseline => {
  const values = finite(input.map((x) => (typeof x === 'number' ? x : x.v)));
  if (values.length === 0) throw new InvalidSeries('baseline needs at least one finite value');
  const med = median(values);
  const deviations = values.map((v) => Math.abs(v - med));
  const mad = median(deviations);
  let spread = MAD_TO_SIGMA * mad;
  if (spread === 0) spread = MEAN_AD_TO_SIGMA * (deviations.reduce((a, b) => a + b, 0) / deviations.length);
  const floor = Math.max(options.absoluteFloor ?? 1e-6, (options.relativeFloor ?? 0.05) * Math.abs(med));
  return { median: med, mad, scale: Math.max(spread, floor), n: values.length };
};

/** Robust z of one value against a baseline. */
export const robustZ = (v: number, baseline: Baseline): number => (v - baseline.median) / baseline.scale;

/** Maps |z| to [0, 1]: 0.5 at the threshold, ~0.05 at |z| = threshold − 2, ~0.95 at threshold + 2. */
export const zToScore = (z: number, threshold = DEFAULT_Z_THRESHOLD): number => {
  if (!Number.isFinite(z)) return Number.isNaN(z) ? 0 : 1;
  return 1 / (1 + Math.exp(-1.5 * (Math.abs(z) - threshold)));
};

export interface ScoredPoint {
  readonly t: string | number;
  readonly v: number;
  /** Robust z against the baseline in force at this point (0 while a trailing window warms up). */
  readonly z: number;
  /** |z| mapped to [0, 1]; ≥ 0.5 means beyond the threshold. */
  readonly score: number;
  readonly direction: 'up' | 'down';
}

export interface ScoreOptions extends BaselineOptions {
  /** Score every point against this fixed baseline (e.g. computed from an earlier window). */
  readonly baseline?: Baseline;
  /**
   * Without `baseline`: score each point against the robust baseline of the `window` points before it
   * (a trailing window, for streams without a known-good reference). Default 30.
   */
  readonly window?: number;
  /** Points needed before a trailing baseline is trusted (default min(window, 8)); earlier points score 0. */
  readonly minHistory?: number;
  readonly zThreshold?: number;
}

/**
 * Scores every point of a series. With `baseline`, against that fixed reference; otherwise against a
 * trailing window of earlier points (no look-ahead, so it can run on a stream).
 */
export const scoreSeries = (points: readonly SeriesPoint[], options: ScoreOptions = {}): ScoredPoint[] => {
  const threshold = options.zThreshold ?? DEFAULT_Z_THRESHOLD;
  const scored = (p: SeriesPoint, z: number): ScoredPoint => ({ t: p.t, v: p.v, z, score: zToScore(z, threshold), direction: z < 0 ? 'down' : 'up' });
  if (options.baseline) {
    const b = options.baseline;
    return points.map((p) => scored(p, Number.isFinite(p.v) ? robustZ(p.v, b) : 0));
  }
  const window = Math.max(2, options.window ?? 30);
  const minHistory = Math.max(2, options.minHistory ?? Math.min(window, 8));
  return points.map((p, i) => {
    const history = points.slice(Math.max(0, i - window), i).map((x) => x.v).filter((v) => Number.isFinite(v));
    if (history.length < minHistory || !Number.isFinite(p.v)) return scored(p, 0);
    return scored(p, robustZ(p.v, robustBaseline(history, options)));
  });
};

export interface OnsetOptions {
  readonly zThreshold?: number;
  /** Lower threshold that dates the start of a confirmed run (hysteresis; default 2). */
  readonly zLow?: number;
  /** "k of the last n": the run is sustained if ≥ k of the last n points are beyond the threshold. Defaults 3 of 5. */
  readonly k?: number;
  readonly n?: number;
}

export interface Onset {
  readonly t: string | number;
  readonly index: number;
  readonly direction: 'up' | 'down';
  /** Points from the onset to the end of the series. */
  readonly length: number;
}

/** Values are capped at this many times the threshold when the step is fitted, so one huge point cannot dominate. */
const STEP_FIT_CAP = 3;
/** Walking back from the step, a point continues a ramp only if it is at least this share of the next one. */
const RAMP_RATIO = 1 / 3;

/**
 * The start of the sustained anomalous run at the end of a scored series, or undefined when the end of the
 * series is not anomalous (fewer than k of the last n points beyond the threshold in one direction).
 *
 * Two steps, so that neither noise before the fault nor a slow ramp misdates it:
 * 1. Step fit: the split c that best explains the series as "normal (z ≈ 0) before c, level m after", by least
 *    squares on z capped at ±`STEP_FIT_CAP` × threshold. A p99 spike a few minutes before the fault costs more
 *    in the "after" segment than it saves, so it does not pull the onset back.
 * 2. Ramp extension: from c, walk back while points stay beyond the low threshold AND each is a plausible part
 *    of a ramp into the next (at least `RAMP_RATIO` of it). A leak or a filling pool is dated where it left
 *    the noise; load-driven creep at z ≈ 2–3 just before a jump to z ≈ 60 is not a ramp into it, so the jump
 *    stays the onset.
 */
export const estimateOnset = (scored: readonly ScoredPoint[], options: OnsetOptions = {}): Onset | undefined => {
  const high = options.zThreshold ?? DEFAULT_Z_THRESHOLD;
  const low = Math.min(options.zLow ?? DEFAULT_Z_LOW, high);
  const n = Math.max(1, options.n ?? 5);
  const k = Math.min(n, Math.max(1, options.k ?? 3));
  if (scored.length < k) return undefined;
  const tail = scored.slice(-n);
  const up = tail.filter((p) => p.z >= high).length;
  const down = tail.filter((p) => p.z <= -high).length;
  if (Math.max(up, down) < k) return undefined;
  const direction: 'up' | 'down' = up >= down ? 'up' : 'down';
  const sign = direction === 'up' ? 1 : -1;
  const cap = STEP_FIT_CAP * high;
  const x = scored.map((p) => Math.max(-cap, Math.min(cap, sign * (Number.isFinite(p.z) ? p.z : 0))));
  // Prefix sums make every split O(1): cost(c) = Σ_{i<c} x² + Σ_{i≥c} (x − mean_after)².
  const m = x.length;
  const sum = [0];
  const sq = [0];
  for (let i = 0; i < m; i += 1) {
    sum.push(sum[i] + x[i]);
    sq.push(sq[i] + x[i] * x[i]);
  }
  let best = m - 1;
  let bestCost = Number.POSITIVE_INFINITY;
  // The after-segment must be able to hold the confirmed tail: c ≤ m − k.
  for (let c = 0; c <= m - k; c += 1) {
    const count = m - c;
    const s = sum[m] - sum[c];
    const mean = s / count;
    if (mean < low) continue; // "after" must be anomalous on average
    const cost = sq[c] + (sq[m] - sq[c]) - (s * s) / count;
    if (cost < bestCost) {
      bestCost = cost;
      best = c;
    }
  }
  let onset = best;
  while (onset > 0 && x[onset - 1] >= low && x[onset - 1] >= RAMP_RATIO * x[onset]) onset -= 1;
  return { t: scored[onset].t, index: onset, direction, length: scored.length - onset };
};

export interface SeriesAnalysis {
  readonly baseline: Baseline;
  /** Median of the last `currentPoints` values: robust to a single odd last sample. */
  readonly current: number;
  /** Robust z of `current`. */
  readonly z: number;
  readonly score: number;
  readonly direction: 'up' | 'down';
  /** The sustained anomalous run at the end of the evaluation part, if any. */
  readonly onset?: Onset;
  /** True when the end of the series is in a sustained anomalous run and `current` is beyond the threshold. */
  readonly anomalous: boolean;
  readonly scored: readonly ScoredPoint[];
}

export interface AnalyseOptions extends BaselineOptions, OnsetOptions {
  /** Points with t < baselineEnd form the baseline; the rest is evaluated. Default: the first half. */
  readonly baselineEnd?: string | number;
  /** Fewest baseline points accepted before falling back to the first half of the series (default 5). */
  readonly minBaselinePoints?: number;
  readonly currentPoints?: number;
}

/**
 * Splits a series into a baseline part and an evaluation part, scores the evaluation part against the
 * baseline and says whether (and since when) it is anomalous. Throws `InvalidSeries` on fewer than 4 points.
 */
export const analyseSeries = (points: readonly SeriesPoint[], options: AnalyseOptions = {}): SeriesAnalysis => {
  const usable = points.filter((p) => Number.isFinite(p.v));
  if (usable.length < 4) throw new InvalidSeries(`series needs at least 4 finite points, got ${usable.length}`);
  const minBaseline = options.minBaselinePoints ?? 5;
  let split = Math.floor(usable.length / 2);
  if (options.baselineEnd !== undefined) {
    const end = toMillis(options.baselineEnd);
    const before = usable.findIndex((p) => toMillis(p.t) >= end);
    const candidate = before < 0 ? usable.length : before;
    if (candidate >= Math.min(minBaseline, usable.length - 1) && candidate < usable.length) split = candidate;
  }
  const baseline = robustBaseline(usable.slice(0, split), options);
  const evaluation = scoreSeries(usable.slice(split), { baseline, zThreshold: options.zThreshold });
  const current = median(evaluation.slice(-(options.currentPoints ?? 3)).map((p) => p.v));
  const z = robustZ(current, baseline);
  const threshold = options.zThreshold ?? DEFAULT_Z_THRESHOLD;
  const onset = estimateOnset(evaluation, options);
  const direction: 'up' | 'down' = z < 0 ? 'down' : 'up';
  return {
    baseline,
    current,
    z,
    score: zToScore(z, threshold),
    direction,
    onset,
    anomalous: onset !== undefined && onset.direction === direction && Math.abs(z) >= threshold,
    scored: evaluation,
  };
};

// ───────────────────────── slow trends (leaks, creeping saturation) ─────────────────────────

export interface Trend {
  /** Sen's slope: the median of pairwise slopes, in value units per minute (robust to outliers). */
  readonly slopePerMinute: number;
  /** Mann–Kendall Z (normal approximation, tie-corrected): |Z| ≥ 3 is a monotonic trend beyond chance. */
  readonly z: number;
  readonly direction: 'up' | 'down';
  /** Change over the series implied by the slope, relative to the series' median level. */
  readonly relativeChange: number;
  readonly n: number;
}

/** Mann–Kendall S: Σ sign(v_j − v_i) over every pair i < j (positive: rising). O(n²). */
export const mannKendallS = (values: readonly number[]): number => {
  let s = 0;
  for (let i = 0; i < values.length - 1; i += 1) for (let j = i + 1; j < values.length; j += 1) s += Math.sign((values[j] as number) - (values[i] as number));
  return s;
};

/**
 * Sen's slope: the median of the slopes between every pair of points, in value units per minute (robust to
 * outliers). Pairs at the same time, or whose slope is not finite, are left out; NaN when no pair remains.
 * Each time is parsed once, not once per pair. O(n²).
 */
export const senSlope = (points: readonly SeriesPoint[]): number => {
  const n = points.length;
  const minutes = points.map((p) => toMillis(p.t) / 60_000);
  const slopes = new Float64Array((n * (n - 1)) / 2);
  let count = 0;
  for (let i = 0; i < n - 1; i += 1)
    for (let j = i + 1; j < n; j += 1) {
      const dt = (minutes[j] as number) - (minutes[i] as number);
      const slope = ((points[j] as SeriesPoint).v - (points[i] as SeriesPoint).v) / dt;
      if (dt !== 0 && Number.isFinite(slope)) slopes[count++] = slope;
    }
  return medianInPlace(slopes.subarray(0, count));
};

/**
 * Mann–Kendall trend test with Sen's slope: detects a steady climb (a memory leak, a queue filling up) that
 * a baseline/level comparison misses when the climb started before the baseline window. O(n²); fine for
 * the few hundred points of an incident window. Throws `InvalidSeries` below 8 finite points.
 */
export const trendTest = (points: readonly SeriesPoint[]): Trend => {
  const usable = points.filter((p) => Number.isFinite(p.v));
  const n = usable.length;
  if (n < 8) throw new InvalidSeries(`trend test needs at least 8 finite points, got ${n}`);
  const values = usable.map((p) => p.v);
  const s = mannKendallS(values);
  const ties = new Map<number, number>();
  for (const v of values) ties.set(v, (ties.get(v) ?? 0) + 1);
  const tieTerm = [...ties.values()].reduce((acc, t) => acc + t * (t - 1) * (2 * t + 5), 0);
  const variance = (n * (n - 1) * (2 * n + 5) - tieTerm) / 18;
  const z = variance <= 0 || s === 0 ? 0 : (s - Math.sign(s)) / Math.sqrt(variance);
  const slope = senSlope(usable);
  const level = Math.abs(median(values));
  const span = (toMillis(usable[n - 1].t) - toMillis(usable[0].t)) / 60_000;
  return { slopePerMinute: slope, z, direction: slope < 0 ? 'down' : 'up', relativeChange: level > 0 ? (slope * span) / level : 0, n };
};

/**
 * When a trend began: the breakpoint k of the best "flat, then linear" (hinge) fit,
 * y = a for t < t_k and y = a + b (t − t_k) after, chosen by least squares. Returns the first point when the
 * series was already climbing at the start of the window.
 */
export const hingeOnset = (points: readonly SeriesPoint[]): { t: string | number; index: number } => {
  const usable = points.filter((p) => Number.isFinite(p.v));
  if (usable.length < 4) throw new InvalidSeries(`hinge fit needs at least 4 finite points, got ${usable.length}`);
  const ts = usable.map((p) => toMillis(p.t) / 60_000);
  const ys = usable.map((p) => p.v);
  let best = { index: 0, sse: Number.POSITIVE_INFINITY };
  for (let k = 0; k < usable.length - 2; k += 1) {
    // Regressors: 1 and h_i = max(0, t_i − t_k); solve the 2×2 normal equations.
    let n = 0, sh = 0, shh = 0, sy = 0, shy = 0;
    for (let i = 0; i < usable.length; i += 1) {
      const h = Math.max(0, ts[i] - ts[k]);
      n += 1; sh += h; shh += h * h; sy += ys[i]; shy += h * ys[i];
    }
    const det = n * shh - sh * sh;
    if (det === 0) continue;
    const b = (n * shy - sh * sy) / det;
    const a = (sy - b * sh) / n;
    let sse = 0;
    for (let i = 0; i < usable.length; i += 1) sse += (ys[i] - a - b * Math.max(0, ts[i] - ts[k])) ** 2;
    if (sse < best.sse) best = { index: k, sse };
  }
  return { t: usable[best.index].t, index: best.index };
};
