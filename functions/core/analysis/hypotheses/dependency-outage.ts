/**
 * Dependency-outage hypotheses: "an external dependency failed", one per external-tier callee of a failing
 * service and per unmonitored service failing traces end in.
 *
 * Predictions: the failing spans end in the dependency (more than one trace: one is an anecdote), and its callers'
 * new errors name it or a remote failure (timeouts, refused connections, 502–504, open circuits), and its callers
 * fail with no other failing dependency to explain them. Why: we see an external dependency only through its
 * callers, so its traces and its callers' words are all the evidence there is.
 */
import { type Check, tokens } from '../changes.ts';
import { type Candidate, pick, withReason } from './candidate.ts';
import { type World, anomalyIds, templateIds, topologyIds } from './evidence.ts';
import { MIN_PLACING_TRACES } from './origin-prediction.ts';

/**
 * The subjects of the dependency family, in code-unit order: external-tier callees of an anomalous service, and
 * any service failing traces end in that we do not monitor as an anomalous service of ours.
 */
export const externalDependencies = (w: World): string[] => {
  const external = new Set<string>();
  for (const s of w.anomalous) for (const d of w.graph.callees.get(s) ?? []) if (w.graph.tiers.get(d) === 'external') external.add(d);
  for (const s of w.leafErrors.keys()) if (!w.anomalous.has(s) && (w.graph.tiers.get(s) ?? 'external') === 'external') external.add(s);
  return [...external].sort();
};

export const testDependencyOutage = (w: World, dependency: string): Candidate => {
  const leaf = w.leafErrors.get(dependency) ?? [];
  let spans: Check;
  if (w.errorTraceCount === 0) spans = { verdict: 'inconclusive', reason: 'no error traces' };
  else if (leaf.length / w.errorTraceCount >= 0.5 && leaf.length >= MIN_PLACING_TRACES) spans = { verdict: 'supported', reason: `${leaf.length} of ${w.errorTraceCount} failing traces end in ${dependency}` };
  else if (leaf.length === 0) spans = { verdict: 'refuted', reason: `none of ${w.errorTraceCount} failing traces ends in ${dependency}` };
  else spans = { verdict: 'inconclusive', reason: `only ${leaf.length} of ${w.errorTraceCount} failing traces end in ${dependency}` };
  const spansP = pick(spans.verdict, withReason(`the failing spans are in ${dependency}`, spans), 2, [...leaf.slice(0, 5).map((t) => `trace:${t}`), ...topologyIds(w, dependency)], {
    missing: w.errorTraceCount === 0 ? 'error traces of the affected services' : undefined,
  });
  const callers = new Set(w.graph.callers.get(dependency) ?? []);
  const depTokens = tokens(dependency);
  // New errors only: a caller's business-as-usual retries and rejections say nothing about this incident.
  const mentions = w.input.templates.filter(
    (t) => t.novel && callers.has(t.service) && ([...tokens(t.template)].some((x) => depTokens.has(x)) || /timed? ?out|connection refused|unavailable|\b50[234]\b|circuit/i.test(t.template)),
  );
  const mentionP = pick(mentions.length > 0 ? 'supported' : 'inconclusive', `errors of its callers mention ${dependency} or a remote failure — ${mentions.length > 0 ? `"${mentions[0].template}"` : 'none do'}`, 1, templateIds(mentions));
  const callersAnomalous = [...callers].filter((c) => w.anomalous.has(c));
  // Its callers fail, and no other dependency of theirs that we monitor fails enough to explain it: what an outage
  // of this one (which we see only through them) predicts. A caller that fails because of another dependency of
  // its own says nothing for this one.
  const unexplained = callersAnomalous.filter((c) => w.failingDepsOf(c).every((d) => d === dependency));
  const callersP = pick(
    unexplained.length > 0 ? 'supported' : 'inconclusive',
    `its callers fail and nothing else they call explains it — ${
      unexplained.length > 0 ? `${unexplained.join(', ')} ${unexplained.length === 1 ? 'fails' : 'fail'} with no other failing dependency` : callersAnomalous.length > 0 ? `${callersAnomalous.join(', ')} ${callersAnomalous.length === 1 ? 'has' : 'have'} other failing dependencies` : 'no caller fails'
    }`,
    1,
    [...unexplained.flatMap((c) => anomalyIds(w, c)), ...topologyIds(w, dependency, ...unexplained)],
  );
  return {
    kind: 'dependency-outage',
    summary: `Outage or degradation of external dependency ${dependency}${callersAnomalous.length ? ` (called by ${callersAnomalous.join(', ')})` : ''}`,
    service: dependency,
    category: 'dependency',
    predictions: [spansP, mentionP, callersP],
  };
};
