/**
 * Culprit and mechanism (issue 11): one category used to say both what set a fault off (a change, a job, a
 * dependency, load) and how it fails (pool exhaustion, saturation, a full disk) — a pool-size change is both a
 * config change and a connection-pool fault. A hypothesis now says them apart:
 *
 * - the culprit: the kind of trigger, by candidate kind (`CULPRIT_KIND`), and where it lives; a candidate that
 *   blames a change is always a change's doing, whatever its family;
 * - the mechanism: the candidate's category when that is a mechanism; for a change whose category only names the
 *   trigger (a bad deploy, a config change) or nothing, the mechanism its evidence shows (`changeMechanism`), else
 *   the category stays (nothing better is known, and an answer key does not score it then).
 *
 * A family may set either itself (Candidate `culprit`, `mechanism`); this table fills what it leaves out. A model's
 * answer (the LLM reasoner) may leave them out too: `withCulprits` fills them from the offline hypothesis it
 * repeats, or from its category when it is one of its own.
 */
import { type Culprit, type CulpritKind, type FaultCategory, type Hypothesis, type RootCauseOutput, isTriggerCategory } from '../../model.ts';
import type { ChangeRequest } from '../../tools/ports.ts';
import { limitChange } from '../changes.ts';
import { byCodeUnit } from '../../compare.ts';
import type { Candidate } from './candidate.ts';
import { type World, amplification } from './evidence.ts';
import { atLimit, refusesWork } from './latent-limit.ts';

/** The culprit kind of each family's candidates (a candidate with a change id is the change's doing, whatever its kind). */
export const CULPRIT_KIND: Readonly<Record<Candidate['kind'], CulpritKind>> = {
  change: 'change',
  'traffic-surge': 'load',
  'dependency-outage': 'dependency',
  'scheduled-job': 'job',
  expiry: 'expiry',
  // Demand grows into a quota: the load is the trigger, the throttling the mechanism.
  'quota-throttling': 'load',
  'resource-leak': 'service',
  'disk-exhaustion': 'service',
  'fd-exhaustion': 'service',
  'service-fault': 'service',
  'queue-backlog': 'service',
  'metric-origin': 'service',
  zonal: 'zone',
};

/** The culprit of a candidate: its kind's, or a change's when it names one; an origin on an external tier is a dependency. */
export const culpritOf = (c: Candidate): Culprit => {
  if (c.changeId) return { kind: 'change', service: c.service, changeId: c.changeId };
  const kind = c.kind === 'metric-origin' && c.category === 'dependency' ? 'dependency' : CULPRIT_KIND[c.kind];
  return { kind, service: c.service };
};

/** Words of a lowered limit's parameter that say which resource runs out at it. */
const LIMIT_MECHANISMS: readonly (readonly [RegExp, FaultCategory])[] = [
  [/pool|connection/i, 'connection-pool'],
  [/quota|rate.?limit|throttl|concurren|\brcu\b|\bwcu\b|capacity.?units?|provisioned/i, 'throttling'],
  [/file.?descriptor|nofile|\bfds?\b/i, 'file-descriptors'],
  [/disk|volume|storage/i, 'disk-full'],
  [/replica|thread|worker|cpu|instance|task|desired|slot/i, 'capacity'],
];

/**
 * What a reading of a service at a limit (latent-limit.ts `refusesWork`, `atLimit`: the reason starts with the
 * metric that shows it) says runs out: a pool at its maximum, a throttle count, a disk, descriptors; CPU pinned or
 * any other work refused is saturation.
 */
const READING_MECHANISMS: readonly (readonly [RegExp, FaultCategory])[] = [
  [/pool/i, 'connection-pool'],
  [/throttl|quota|consumed|provisioned|concurren/i, 'throttling'],
  [/disk/i, 'disk-full'],
  [/open_fds|fd_limit|descriptor/i, 'file-descriptors'],
];
/** A category that does not say how the fault fails: a trigger's, or none. */
const unsaid = (category: FaultCategory): boolean => isTriggerCategory(category) || category === 'unknown';

const readingMechanism = (reason: string): FaultCategory => READING_MECHANISMS.find(([re]) => re.test(reason))?.[1] ?? 'capacity';

/**
 * The mechanism of a change whose category names only the trigger, from what its tester reads too:
 * 1. it lowered a limit of its service (not a timeout: a call cut short names no resource) and the service — the
 *    origin — is at a limit: the resource the parameter names, else what the reading shows;
 * 2. it floods a dependency (its calls jump far more than its own traffic) that now refuses work: that dependency
 *    saturates (or throttles);
 * 3. its own service — the origin — refuses work: CPU pinned, a pool at its maximum, throttling.
 * Otherwise the trigger category stays: the evidence does not say how it fails.
 */
export const changeMechanism = (w: World, change: ChangeRequest, category: FaultCategory): FaultCategory => {
  if (!unsaid(category)) return category;
  const origin = w.origins.has(change.service);
  const limit = limitChange(change);
  if (limit?.direction === 'lowered' && origin && !/timeout/i.test(limit.param)) {
    const at = atLimit(w, change.service, limit);
    if (at) return LIMIT_MECHANISMS.find(([re]) => re.test(limit.param))?.[1] ?? readingMechanism(at.reason);
  }
  for (const target of [...w.anomalous].filter((s) => s !== change.service).sort(byCodeUnit)) {
    if (!amplification(w, change, target)) continue;
    const refused = refusesWork(w, target);
    if (refused) return readingMechanism(refused.reason);
  }
  const refused = origin ? refusesWork(w, change.service) : undefined;
  return refused ? readingMechanism(refused.reason) : category;
};

/**
 * The mechanism of a candidate: its category when that says how it fails; else, for a change, what its evidence
 * shows (`changeMechanism`), and for any other candidate whose category is unknown, what its service — an origin —
 * shows of a limit it runs into.
 */
export const mechanismOf = (w: World, c: Candidate): FaultCategory => {
  if (!unsaid(c.category)) return c.category;
  const change = c.changeId ? w.input.changes.find((x) => x.id === c.changeId) : undefined;
  if (change) return changeMechanism(w, change, c.category);
  const refused = c.category === 'unknown' && w.origins.has(c.service) ? refusesWork(w, c.service) : undefined;
  return refused ? readingMechanism(refused.reason) : c.category;
};

/** The candidate with its culprit and mechanism: what its family set, else the table's. */
export const withCulprit = (w: World, c: Candidate): Candidate & Required<Pick<Candidate, 'culprit' | 'mechanism'>> => ({
  ...c,
  culprit: c.culprit ?? culpritOf(c),
  mechanism: c.mechanism ?? mechanismOf(w, c),
});

/** The culprit kind a category implies when nothing else is known (a hypothesis a model wrote, with no candidate kind). */
const CATEGORY_CULPRIT: Partial<Record<FaultCategory, CulpritKind>> = {
  dependency: 'dependency',
  certificate: 'expiry',
  throttling: 'load',
  zone: 'zone',
};

/**
 * Fills a hypothesis's culprit and mechanism when it lacks them (a model's answer, which may omit them): from the
 * offline hypothesis it repeats (same service, change and category), else from its own fields — a change id is a
 * change's doing; otherwise its category's culprit kind (a dependency, an expiry, load into a quota) or the service
 * itself; the mechanism is its category.
 */
export const withCulpritFilled = (h: Hypothesis, offline: readonly Hypothesis[] = []): Hypothesis => {
  if (h.culprit && h.mechanism) return h;
  const same = offline.find((o) => o.service === h.service && o.changeId === h.changeId && o.category === h.category);
  const culprit: Culprit =
    h.culprit ?? same?.culprit ?? (h.changeId ? { kind: 'change', service: h.service, changeId: h.changeId } : { kind: CATEGORY_CULPRIT[h.category] ?? 'service', service: h.service });
  return { ...h, culprit, mechanism: h.mechanism ?? same?.mechanism ?? h.category };
};

/** A root-cause output with every hypothesis's culprit and mechanism filled (`withCulpritFilled`), given the offline analysis. */
export const withCulprits = (output: RootCauseOutput, offline?: Pick<RootCauseOutput, 'rootCauses'>): RootCauseOutput => ({
  ...output,
  rootCauses: output.rootCauses.map((h) => withCulpritFilled(h, offline?.rootCauses)),
});
