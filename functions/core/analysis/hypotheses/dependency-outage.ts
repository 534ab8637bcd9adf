/**
 * Dependency-outage hypotheses: "an external dependency failed", one per external-tier callee of a failing
 * service and per unmonitored service failing traces end in.
 *
 * Predictions: the failing spans end in the dependency (more than one trace: one is an anecdote), and its callers'
 * new errors name it or a remote failure (timeouts, refused connections, 502–504, open circuits). Why: we see an external dependency only through its
 * callers, so its traces and its callers' words are all the evidence there is.
 */
import { type Check, tokens } from '../changes.ts';
import { type Candidate, pick, withReason } from './candidate.ts';
import { type World, templateIds, topologyIds } from './evidence.ts';
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
  return {
    kind: 'dependency-outage',
    summary: `Outage or degradation of external dependency ${dependency}${callersAnomalous.length ? ` (called by ${callersAnomalous.join(', ')})` : ''}`,
    service: dependency,
    category: 'dependency',
    predictions: [spansP, mentionP],
  };
};
