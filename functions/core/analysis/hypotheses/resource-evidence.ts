/**
 * Readers the families of causes that are not a recent change share (issue 11: disk, file descriptors, quotas,
 * scheduled jobs, queues, certificates): which services expose a metric, a series' values around the onset, how a
 * level got where it is (a steady climb or a step), the error lines that say what ran out, and the one prediction
 * every such family makes — that no change to the service explains it better. Kept apart from evidence.ts (shared
 * by every family) because only these families read resources this way.
 *
 * Why a "no change explains it" check with a heavy refutation: these families claim a cause that is NOT a change.
 * When a change to the same service lands where the fault begins (within a plausible lag of the onset, or where the
 * resource started to move), the change tester (change.ts) covers that story and a rollback undoes it; the
 * no-change story must then fall below it, not compete with it on the strength of the same symptoms.
 */
import { METRICS, type ChangeRequest, type MetricPoint, type MetricSeries } from '../../tools/ports.ts';
import { type Check, timeAlignment, tokens, tokensMatch, MAX_PLAUSIBLE_LAG_MINUTES, ONSET_GRACE_MINUTES } from '../changes.ts';
import { median } from '../metrics.ts';
import { parseXrayNodeName } from '../../tools/aws/xray-names.ts';
import { type TestedPrediction, pick, withReason } from './candidate.ts';
import { MINUTE_MS, type World, trendTau } from './evidence.ts';

/**
 * The metrics these families read (names exact, as the simulated world and the CloudWatch adapter publish them);
 * the root-cause agent queries them for the services it reads.
 */
export const RESOURCE_METRICS = {
  diskUsedPct: 'disk_used_pct',
  openFds: 'open_fds',
  fdLimit: 'fd_limit',
  throttledRps: 'throttled_rps',
  quotaLimitRps: 'quota_limit_rps',
  certDaysToExpiry: 'cert_days_to_expiry',
  queueDepth: 'queue_depth',
  queueOldestAgeS: 'queue_oldest_age_s',
  latencyP50: 'latency_p50_ms',
  latencyP95: 'latency_p95_ms',
} as const;

/** The services with a non-empty series of `metric`, in code-unit order: a subject selector. */
export const servicesWithMetric =
  (metric: string) =>
  (w: World): string[] =>
    [...new Set(w.input.series.filter((s) => s.metric === metric && s.points.length > 0).map((s) => s.service))].sort();

/** The service's fault onset as epoch ms (NaN when unknown). */
export const onsetMsOf = (w: World, service: string): number => Date.parse(w.onsetOf(service) ?? '');

/** Points of a series with `from <= t <= to` (either bound may be NaN / undefined: open). */
export const pointsBetween = (s: MetricSeries | undefined, from?: number, to?: number): MetricPoint[] =>
  (s?.points ?? []).filter((p) => {
    const t = Date.parse(p.t);
    return !(from !== undefined && !Number.isNaN(from) && t < from) && !(to !== undefined && !Number.isNaN(to) && t > to);
  });

export const valuesBetween = (s: MetricSeries | undefined, from?: number, to?: number): number[] => pointsBetween(s, from, to).map((p) => p.v);

/** The first point at or after `from` whose value satisfies `test`. */
export const firstPoint = (s: MetricSeries | undefined, test: (v: number) => boolean, from?: number): MetricPoint | undefined =>
  pointsBetween(s, from).find((p) => test(p.v));

export const fmtNumber = (v: number): string => (Math.abs(v) >= 100 ? String(Math.round(v)) : String(Math.round(v * 100) / 100));
export const fmtTime = (ms: number): string => new Date(ms).toISOString().slice(11, 16);
export const minutesBetween = (a: number, b: number): number => Math.round(((b - a) / MINUTE_MS) * 10) / 10;

/**
 * How a level rose over `values` (a window leading up to where it peaked): `steady` when it climbed monotonically
 * (Kendall's τ ≥ `steadyTau`), `step` when most of the rise happened between two neighbouring points.
 */
export const shapeOfRise = (values: readonly number[], steadyTau = 0.6): { shape: 'steady' | 'step' | 'flat' | 'irregular'; tau: number; rise: number; largestStepShare: number } => {
  if (values.length < 3) return { shape: 'flat', tau: 0, rise: 0, largestStepShare: 0 };
  const tau = trendTau(values);
  const rise = Math.max(...values) - values[0];
  let largest = 0;
  for (let i = 1; i < values.length; i++) largest = Math.max(largest, values[i] - values[i - 1]);
  const largestStepShare = rise > 0 ? largest / rise : 0;
  if (rise <= 0) return { shape: 'flat', tau, rise, largestStepShare };
  if (largestStepShare >= 0.6) return { shape: 'step', tau, rise, largestStepShare };
  if (tau >= steadyTau) return { shape: 'steady', tau, rise, largestStepShare };
  return { shape: 'irregular', tau, rise, largestStepShare };
};

/** Median of `values`, or NaN when empty. */
export const medianOr = (values: readonly number[]): number => (values.length === 0 ? Number.NaN : median([...values]));

/** The distinctive words of a service's own name (`Orders_AWS::DynamoDB::Table` → orders; `ledger-service` → ledger). */
const ownNameTokens = (service: string): Set<string> => tokens((parseXrayNodeName(service).name || service).replace(/-(service|svc|api|db)$/, ''));

/**
 * Error templates that say `words`: the service's own, and — with `callers` — its callers' that name it (a caller
 * logs a throttled or refused call to it) or, with `anyCaller`, any of its callers' (a TLS handshake that fails in
 * the caller may not name the host). New templates first.
 */
export const templatesSaying = (w: World, service: string, words: RegExp, opts: { callers?: boolean; anyCaller?: boolean } = {}) => {
  const callers = w.graph.callers.get(service) ?? new Set<string>();
  const name = ownNameTokens(service);
  const namesIt = (text: string) => name.size > 0 && [...name].every((o) => [...tokens(text)].some((x) => tokensMatch(o, x)));
  return w.input.templates
    .filter((t) => words.test(t.template) && (t.service === service || ((opts.callers || opts.anyCaller) && callers.has(t.service) && (opts.anyCaller || namesIt(t.template)))))
    .sort((a, b) => Number(b.novel) - Number(a.novel) || b.count - a.count);
};

/** How strongly a change that explains the fault refutes a "not a change" hypothesis (see the header). */
export const CHANGE_EXPLAINS_WEIGHT = 3;
/** A resource that starts to move this close to a deploy started moving at it. */
export const STARTED_AT_DEPLOY_MINUTES = 15;

/**
 * "No change to `service` explains it". A change to it refutes this when it landed where the resource began to move
 * (`movedAt`: a disk's fill, a descriptor climb — what a change would have started), or, with `timing` (the
 * default when `movedAt` is not given), within a plausible lag before the onset; `refutes` lets a family name
 * changes that explain its fault whenever they landed (a change that lowered the quota). `movedAt: 'before-series'`
 * says the resource was already moving when the series begins: a change inside the window did not start it.
 * Changes to it that do none of this leave the check inconclusive; none at all supports it.
 */
export const noChangeExplains = (
  w: World,
  service: string,
  opts: { movedAt?: number | 'before-series'; toleranceMs?: number; what?: string; timing?: boolean; refutes?: (c: ChangeRequest) => string | undefined; onset?: string; decisive?: boolean } = {},
): TestedPrediction => {
  const onset = opts.onset ?? w.onsetOf(service);
  const onsetMs = Date.parse(onset ?? '');
  const timing = opts.timing ?? opts.movedAt === undefined;
  const own = w.input.changes.filter((c) => c.service === service && c.state === 'implemented' && !(Date.parse(c.deployedAt) > onsetMs + ONSET_GRACE_MINUTES * MINUTE_MS));
  const explaining = own
    .map((c) => {
      const special = opts.refutes?.(c);
      if (special) return { c, why: special };
      const deployed = Date.parse(c.deployedAt);
      if (typeof opts.movedAt === 'number' && !Number.isNaN(opts.movedAt) && Math.abs(opts.movedAt - deployed) <= (opts.toleranceMs ?? STARTED_AT_DEPLOY_MINUTES * MINUTE_MS))
        return { c, why: `${c.id} was deployed at ${fmtTime(deployed)}, when ${opts.what ?? 'the resource'} began to move (${fmtTime(opts.movedAt)})` };
      if (!timing) return undefined;
      const time = timeAlignment(c.deployedAt, onset, MAX_PLAUSIBLE_LAG_MINUTES, w.onsetSpreadOf(service));
      if (time.verdict === 'supported') return { c, why: `${c.id} was deployed ${fmtNumber(Math.max(0, time.lagMinutes ?? 0))} min before the onset (tested as a change)` };
      return undefined;
    })
    .filter((x): x is { c: ChangeRequest; why: string } => x !== undefined);
  const started = typeof opts.movedAt === 'number' && !Number.isNaN(opts.movedAt) ? `; ${opts.what ?? 'the resource'} began to move at ${fmtTime(opts.movedAt)}` : opts.movedAt === 'before-series' ? `; ${opts.what ?? 'the resource'} was moving before the series begins` : '';
  let check: Check;
  if (explaining.length > 0) check = { verdict: 'refuted', reason: explaining.map((x) => x.why).join('; ') };
  else if (own.length > 0) check = { verdict: 'inconclusive', reason: `${own.map((c) => c.id).join(', ')} deployed, but not where the fault began${started} (tested separately)` };
  else check = { verdict: 'supported', reason: 'none was deployed before the onset' };
  return pick(
    check.verdict,
    withReason(`no change to ${service} explains it`, check),
    check.verdict === 'refuted' ? CHANGE_EXPLAINS_WEIGHT : 0.5,
    (check.verdict === 'refuted' ? explaining.map((x) => x.c) : own).map((c) => `change:${c.id}`),
    { decisive: opts.decisive && check.verdict === 'refuted' },
  );
};

/**
 * The change to `service` deployed where its resource began to move (within `toleranceMs`, by default
 * `STARTED_AT_DEPLOY_MINUTES`, of `movedAt`), if one was: a change that started a disk's fill or a descriptor climb (a
 * log level raised to DEBUG, a release that never closes its sockets) is the culprit of the exhaustion, whose
 * mechanism is still the resource.
 */
export const changeThatStarted = (w: World, service: string, movedAt: number | 'before-series' | undefined, toleranceMs = STARTED_AT_DEPLOY_MINUTES * MINUTE_MS): ChangeRequest | undefined => {
  if (typeof movedAt !== 'number' || Number.isNaN(movedAt)) return undefined;
  return w.input.changes
    .filter((c) => c.service === service && c.state === 'implemented' && Math.abs(Date.parse(c.deployedAt) - movedAt) <= toleranceMs)
    .sort((a, b) => Math.abs(Date.parse(a.deployedAt) - movedAt) - Math.abs(Date.parse(b.deployedAt) - movedAt))[0];
};

/**
 * When a level that peaks at `peakAt` began to rise: the last point before the peak still within 5 % of the
 * climb above the lowest level; `'before-series'` when that is among the first points (it was already rising
 * when the series begins); undefined when nothing rose (by less than a tenth of its peak).
 */
export const riseStart = (s: MetricSeries | undefined, peakAt: number): number | 'before-series' | undefined => {
  const all = pointsBetween(s, undefined, peakAt);
  if (all.length < 3) return undefined;
  // The climb that ends at the (first) peak: a level that fell to where it is now did not rise.
  const peak = Math.max(...all.map((p) => p.v));
  const pts = all.slice(0, all.findIndex((p) => p.v === peak) + 1);
  const low = Math.min(...pts.map((p) => p.v));
  // A level that moved less than a tenth of its peak did not rise: its lowest point is noise, not a start.
  if (pts.length < 3 || peak <= low || peak - low < 0.1 * Math.abs(peak)) return undefined;
  let at = -1;
  for (let i = 0; i < pts.length; i++) if (pts[i].v <= low + 0.05 * (peak - low)) at = i;
  if (at < 0) return undefined;
  if (at <= Math.max(1, Math.floor(all.length * 0.05))) return 'before-series';
  // The last low point lags the knee of a slow climb (5 % of a 28-point fill over five hours is a quarter of an
  // hour): the climb's line, from there to the peak, extended back to the low level is where it began.
  const last = pts[pts.length - 1];
  const [t0, t1] = [Date.parse(pts[at].t), Date.parse(last.t)];
  const slope = t1 > t0 ? (last.v - pts[at].v) / (t1 - t0) : 0;
  const knee = slope > 0 ? t0 - (pts[at].v - low) / slope : t0;
  return Math.max(Date.parse(pts[0].t), Math.min(t0, knee));
};

/** An error rate that at least doubles and rises by this many points when a resource runs out failed with it. */
const ERRORS_ROSE_POINTS = 1;
/** A level that reached its limit stayed there when at least this share of its readings from then on are at it. */
const STAYED_SHARE = 0.7;
/** A level that reaches its limit this long before the onset still dates it (metrics are per minute, detection lags). */
export const REACHED_BEFORE_ONSET_MINUTES = 20;
/** …and this long after (the onset can be dated by a symptom a minute or two ahead of the limit's own point). */
export const REACHED_AFTER_ONSET_MINUTES = 10;

/**
 * Whether a usage reached its limit at the onset: `share` reads a point as a fraction of its limit (1 = at it).
 * Supported when it first reached `full` — and its peak, within `tolerance` — within minutes of the onset, or earlier
 * with the service's error rate rising right then (a late-dated onset); inconclusive when it was there long before (a
 * resource at its limit for an hour with nothing failing is not what broke now) or got close without reaching it;
 * refuted when it stayed below `low`.
 */
export const limitReachedAtOnset = (
  w: World,
  service: string,
  series: MetricSeries,
  share: (p: MetricPoint) => number | undefined,
  bounds: { full: number; low: number; describe: (v: number) => string; tolerance?: number },
): Check & { at?: number; peak: number } => {
  const onset = onsetMsOf(w, service);
  const upTo = Number.isNaN(onset) ? undefined : onset + REACHED_AFTER_ONSET_MINUTES * MINUTE_MS;
  const readings = pointsBetween(series, undefined, upTo)
    .map((p) => ({ t: Date.parse(p.t), v: share(p) }))
    .filter((r): r is { t: number; v: number } => r.v !== undefined && Number.isFinite(r.v));
  if (readings.length === 0) return { verdict: 'inconclusive', reason: 'no readings up to the onset', peak: Number.NaN };
  const peak = Math.max(...readings.map((r) => r.v));
  // When it got to where it peaked (within `tolerance`) and stayed there, not when noise first brushed the full mark:
  // a table whose readings wobble a few percent touches 95 % of its limit an hour before it is pinned at it, and
  // touches the limit now and then for half an hour before it stays there (failing a request now and then).
  const at = Math.max(bounds.full, peak - (bounds.tolerance ?? 0));
  const stayed = peak >= bounds.full ? readings.find((r, i) => r.v >= at && readings.slice(i).filter((x) => x.v >= at).length >= STAYED_SHARE * (readings.length - i)) : undefined;
  // A level that wobbles at its peak without staying (averages of a pinned table dipping below it): its first reach.
  const first = stayed ?? (peak >= bounds.full ? readings.find((r) => r.v >= at) : undefined);
  if (!first) {
    return peak < bounds.low
      ? { verdict: 'refuted', reason: `it peaked at ${bounds.describe(peak)}, far from full`, peak }
      : { verdict: 'inconclusive', reason: `it reached ${bounds.describe(peak)}, close to full but not at it`, peak };
  }
  if (Number.isNaN(onset)) return { verdict: 'supported', reason: `it reached ${bounds.describe(first.v)} at ${fmtTime(first.t)}`, at: first.t, peak };
  const lead = minutesBetween(first.t, onset);
  if (lead > REACHED_BEFORE_ONSET_MINUTES) {
    // The detected onset can lag (a baseline that already holds the failure dates it late): the service's own error
    // rate says whether it began to fail when the resource ran out.
    const errors = w.input.series.find((x) => x.service === service && x.metric === METRICS.errorRate && x.points.length > 0);
    // Failing from then on: most readings from there to the onset well above the error rate before it.
    const before = medianOr(valuesBetween(errors, first.t - 40 * MINUTE_MS, first.t - 5 * MINUTE_MS));
    const since = valuesBetween(errors, first.t, onset);
    const failing = since.filter((v) => v >= 2 * before + ERRORS_ROSE_POINTS);
    if (Number.isFinite(before) && since.length > 0 && failing.length >= STAYED_SHARE * since.length)
      return {
        verdict: 'supported',
        reason: `it reached ${bounds.describe(first.v)} at ${fmtTime(first.t)}, and its error rate rose from ${fmtNumber(before)} % to ${fmtNumber(medianOr(failing))} % then (the onset was dated ${fmtNumber(lead)} min later)`,
        at: first.t,
        peak,
      };
    return { verdict: 'inconclusive', reason: `it was at ${bounds.describe(first.v)} from ${fmtTime(first.t)}, ${fmtNumber(lead)} min before the onset: full long before anything failed`, at: first.t, peak };
  }
  return {
    verdict: 'supported',
    reason: `it reached ${bounds.describe(first.v)} at ${fmtTime(first.t)}, ${lead >= 0 ? `${fmtNumber(lead)} min before` : `${fmtNumber(-lead)} min after`} the onset`,
    at: first.t,
    peak,
  };
};

/** How far back from where a level reached its limit the fill / climb is judged. */
export const CLIMB_WINDOW_MINUTES = 120;
