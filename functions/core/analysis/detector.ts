/**
 * A causal streaming anomaly detector for one metric series: what `autopilot metrics anomalies` runs and what
 * self-detection pages with. Each point's score depends only on the points before it (plus itself), with one
 * configuration for every series: nothing depends on how long the series is.
 *
 * Why this shape: a page wakes someone, so the score must be a calibrated tail probability (how often the
 * series' own recent past produced something this unusual), not a clamped z that sits at 1.0 on thousands of
 * normal points; and one incident must page once.
 *
 * Per point x:
 * - Two statistics, both in units of the trailing window's robust scale (IQR/1.349 of the last `window` values):
 *   level  |x − median of the last `window` values|  (a value outside what the series has been doing), and
 *   jump   |x − median of the `predictor` values before it|  (what the last moments did not announce: a spike,
 *   a step, a break in the shape).
 * - Each statistic is turned into a tail probability against that statistic's own last `history` values: the
 *   empirical share at or above it, and past the top `tailFraction` an exponential tail fitted to the excesses
 *   (the peaks-over-threshold step of SPOT, Siffer et al., KDD 2017), so the probability keeps falling past
 *   the largest value seen instead of saturating. Values that the detector itself judged anomalous do not
 *   enter that history (an incident does not teach the detector that incidents are normal), but they do enter
 *   the value window: a level that persists becomes the new normal.
 * - p = min(1, 2 · min(p_level, p_jump)) (Bonferroni over the two), score = 1 − p.
 * Alert rule: a point pages when score ≥ `threshold` and the detector is armed; it then disarms until the score
 *   has stayed below `rearmBelow` for `rearmPoints` consecutive points. An incident runs from its page to the
 *   last point at or above `rearmBelow` before re-arming.
 */

export class InvalidDetectorInput extends Error {
  override name = 'InvalidDetectorInput';
}

export interface DetectorOptions {
  /** Trailing values the level and the scale are taken over (default 1000). */
  readonly window?: number;
  /** Values before a point whose median predicts it (default 3). */
  readonly predictor?: number;
  /** Past statistics a tail probability is taken against (default 2000). */
  readonly history?: number;
  /** Share of that history, from the top, that the exponential tail is fitted to (default 0.05). */
  readonly tailFraction?: number;
  /** Points seen before any point is scored; earlier points score 0 (default 60). */
  readonly warmup?: number;
  /** A point pages at score ≥ this (default `DEFAULT_ALERT_THRESHOLD`). */
  readonly threshold?: number;
  /** Re-arming needs the score below this ... (default 0.99) */
  readonly rearmBelow?: number;
  /** ... for this many consecutive points (default 30). */
  readonly rearmPoints?: number;
}

/** score ≥ 1 − 10⁻⁵·³: see the benchmark's report for why this level (one threshold for every series). */
export const DEFAULT_ALERT_THRESHOLD = 0.99999;

const DEFAULTS = { window: 1000, predictor: 3, history: 2000, tailFraction: 0.05, warmup: 60, threshold: DEFAULT_ALERT_THRESHOLD, rearmBelow: 0.99, rearmPoints: 30 } as const;

export interface DetectorConfig {
  readonly window: number;
  readonly predictor: number;
  readonly history: number;
  readonly tailFraction: number;
  readonly warmup: number;
  readonly threshold: number;
  readonly rearmBelow: number;
  readonly rearmPoints: number;
}

const checkInt = (name: string, v: number, min: number) => {
  if (!Number.isInteger(v) || v < min) throw new InvalidDetectorInput(`${name} must be an integer ≥ ${min}, got ${v}`);
};
const checkUnit = (name: string, v: number, lowOpen = 0) => {
  if (!(v > lowOpen && v < 1)) throw new InvalidDetectorInput(`${name} must be a number in (${lowOpen}, 1), got ${v}`);
};

/** The options with defaults filled in, checked (a bad option is an error naming it). */
export const detectorConfig = (options: DetectorOptions = {}): DetectorConfig => {
  const c = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as DetectorConfig;
  checkInt('window', c.window, 8);
  checkInt('predictor', c.predictor, 1);
  checkInt('history', c.history, 20);
  checkInt('warmup', c.warmup, 8);
  checkInt('rearmPoints', c.rearmPoints, 1);
  checkUnit('tailFraction', c.tailFraction);
  checkUnit('threshold', c.threshold);
  checkUnit('rearmBelow', c.rearmBelow);
  if (c.rearmBelow > c.threshold) throw new InvalidDetectorInput(`rearmBelow (${c.rearmBelow}) must not exceed threshold (${c.threshold})`);
  return c;
};

/**
 * The last `capacity` numbers pushed, kept both in arrival order (a ring) and sorted, so order statistics are
 * O(1) and an update is a binary search plus one block move.
 */
export class SlidingOrder {
  private readonly ring: Float64Array;
  private readonly sorted: Float64Array;
  private head = 0;
  size = 0;
  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.ring = new Float64Array(capacity);
    this.sorted = new Float64Array(capacity);
  }

  /** First index in sorted[0, size) whose value is ≥ x. */
  private lowerBound(x: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  push(x: number): void {
    if (this.size === this.capacity) {
      const old = this.ring[this.head];
      const at = this.lowerBound(old);
      this.sorted.copyWithin(at, at + 1, this.size);
      this.size -= 1;
    }
    const at = this.lowerBound(x);
    this.sorted.copyWithin(at + 1, at, this.size);
    this.sorted[at] = x;
    this.size += 1;
    this.ring[this.head] = x;
    this.head = (this.head + 1) % this.capacity;
  }

  /** Linear-interpolated quantile, q in [0, 1]. */
  quantile(q: number): number {
    const pos = q * (this.size - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, this.size - 1);
    return this.sorted[lo] + (this.sorted[hi] - this.sorted[lo]) * (pos - lo);
  }

  /** How many held values are ≥ x. */
  countAtLeast(x: number): number {
    return this.size - this.lowerBound(x);
  }

  /** The k-th largest held value (k ≥ 1). */
  largest(k: number): number {
    return this.sorted[this.size - k];
  }

  /** Mean of the k largest held values. */
  meanOfLargest(k: number): number {
    let s = 0;
    for (let i = this.size - k; i < this.size; i += 1) s += this.sorted[i];
    return s / k;
  }
}

/**
 * P(S ≥ s) against the held past statistics: empirical up to the top `tailFraction`, exponential beyond (fitted
 * to the excesses over the k-th largest value). Never exactly 0 for a finite s unless the past was constant.
 */
export const tailProbability = (past: SlidingOrder, s: number, tailFraction: number): number => {
  const n = past.size;
  const k = Math.max(5, Math.ceil(tailFraction * n));
  if (n < k + 1) return 1;
  const u = past.largest(k);
  if (s <= u) return (past.countAtLeast(s) + 1) / (n + 1);
  const top = past.largest(1);
  // a constant past (flat series) has no excess to fit: any departure is as rare as the history is long, and rarer
  // the further it goes; scale the excess by the value so that units do not matter
  const beta = Math.max(past.meanOfLargest(k) - u, 1e-9 * Math.max(1, Math.abs(top)));
  return ((k + 1) / (n + 1)) * Math.exp(-(s - u) / beta);
};

export interface PointScore {
  /** 1 − p: the calibrated anomaly score in [0, 1] (0 before warm-up and for non-finite values). */
  readonly score: number;
  /** The tail probability behind the score: how often the recent past was this unusual (1 = ordinary). */
  readonly p: number;
  /** True on the one point that pages for an incident. */
  readonly alert: boolean;
  /** Signed level statistic (value − trailing median, in robust scales): the direction of the departure. */
  readonly level: number;
}

/** The streaming detector: push one value at a time; state is bounded by `window` and `history`. */
export class StreamingDetector {
  readonly config: DetectorConfig;
  private readonly values: SlidingOrder;
  private readonly recent: Float64Array;
  private readonly levelPast: SlidingOrder;
  private readonly jumpPast: SlidingOrder;
  private seen = 0;
  private armed = true;
  private quiet = 0;

  constructor(options: DetectorOptions = {}) {
    this.config = detectorConfig(options);
    this.values = new SlidingOrder(this.config.window);
    this.recent = new Float64Array(this.config.predictor);
    this.levelPast = new SlidingOrder(this.config.history);
    this.jumpPast = new SlidingOrder(this.config.history);
  }

  /** Median of the last `predictor` values (the ring `recent`). */
  private prediction(): number {
    const k = Math.min(this.config.predictor, this.seen);
    const xs = Array.from(this.recent.subarray(0, k)).sort((a, b) => a - b);
    return k % 2 ? xs[(k - 1) / 2] : (xs[k / 2 - 1] + xs[k / 2]) / 2;
  }

  push(v: number): PointScore {
    if (!Number.isFinite(v)) return { score: 0, p: 1, alert: false, level: 0 };
    const c = this.config;
    let p = 1;
    let level = 0;
    if (this.seen >= 2) {
      const median = this.values.quantile(0.5);
      const iqrScale = (this.values.quantile(0.75) - this.values.quantile(0.25)) / 1.349;
      // a flat or quantised past has no spread: fall back to the mean absolute step, then to a tiny relative unit
      const scale = Math.max(iqrScale, 1e-6 * Math.max(1, Math.abs(median)));
      level = (v - median) / scale;
      const jump = Math.abs(v - this.prediction()) / scale;
      if (this.seen >= c.warmup) {
        const pLevel = tailProbability(this.levelPast, Math.abs(level), c.tailFraction);
        const pJump = tailProbability(this.jumpPast, jump, c.tailFraction);
        p = Math.min(1, 2 * Math.min(pLevel, pJump));
      }
      // what the detector judged anomalous is kept out of the calibration history
      if (p > 1 - c.threshold) {
        this.levelPast.push(Math.abs(level));
        this.jumpPast.push(jump);
      }
    }
    this.values.push(v);
    this.recent[this.seen % c.predictor] = v;
    this.seen += 1;
    const score = 1 - p;
    let alert = false;
    if (this.armed && score >= c.threshold) {
      alert = true;
      this.armed = false;
      this.quiet = 0;
    } else if (!this.armed) {
      this.quiet = score < c.rearmBelow ? this.quiet + 1 : 0;
      if (this.quiet >= c.rearmPoints) this.armed = true;
    }
    return { score, p, alert, level };
  }
}

export interface Incident {
  /** Row of the page. */
  readonly startIndex: number;
  /** Last row at or above `rearmBelow` before the detector re-armed (or the series ended). */
  readonly endIndex: number;
  readonly peakScore: number;
  readonly direction: 'up' | 'down';
}

export interface SeriesDetection {
  /** Calibrated score per input value, in [0, 1]. */
  readonly scores: number[];
  /** Tail probability per input value (score = 1 − p). */
  readonly p: number[];
  /** Indices of the points that page (one per incident). */
  readonly alerts: number[];
  readonly incidents: Incident[];
  readonly config: DetectorConfig;
}

/** Runs the streaming detector over a whole series. Throws `InvalidDetectorInput` on a bad series or option. */
export const detectSeries = (values: readonly number[], options: DetectorOptions = {}): SeriesDetection => {
  if (!Array.isArray(values)) throw new InvalidDetectorInput('values must be an array of numbers');
  values.forEach((v, i) => {
    if (typeof v !== 'number') throw new InvalidDetectorInput(`values[${i}] must be a number, got ${typeof v}`);
  });
  const detector = new StreamingDetector(options);
  const { rearmBelow } = detector.config;
  const scores: number[] = [];
  const p: number[] = [];
  const alerts: number[] = [];
  const incidents: Incident[] = [];
  let open: { startIndex: number; endIndex: number; peakScore: number; direction: 'up' | 'down' } | undefined;
  values.forEach((v, i) => {
    const r = detector.push(v);
    scores.push(r.score);
    p.push(r.p);
    if (r.alert) {
      if (open) incidents.push(open);
      alerts.push(i);
      open = { startIndex: i, endIndex: i, peakScore: r.score, direction: r.level < 0 ? 'down' : 'up' };
    } else if (open) {
      if (r.score >= rearmBelow) {
        open.endIndex = i;
        open.peakScore = Math.max(open.peakScore, r.score);
      } else if (i - open.endIndex >= detector.config.rearmPoints) {
        incidents.push(open);
        open = undefined;
      }
    }
  });
  if (open) incidents.push(open);
  return { scores, p, alerts, incidents, config: detector.config };
};
