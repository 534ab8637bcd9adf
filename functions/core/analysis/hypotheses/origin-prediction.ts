/**
 * The prediction every origin family (surge, leak, service fault) makes first: the service is where the anomaly
 * starts — no failing dependency explains it and the failing traces end in it — so that the loudest downstream
 * symptom is never blamed for its dependency's fault.
 */
import { type Check, dependenciesOf } from '../changes.ts';
import { type TestedPrediction, pick, withReason } from './candidate.ts';
import { type World, anomalyIds, topologyIds } from './evidence.ts';

/**
 * One failing trace is an anecdote (background errors happen everywhere, and a saturated service times out its
 * calls anywhere): traces place a fault elsewhere from this many on (as change.ts's MIN_LEAF_TRACES).
 */
export const MIN_PLACING_TRACES = 2;

/** Shared by every origin hypothesis: blame the origin, not the loudest downstream symptom. */
export const originPrediction = (w: World, service: string): TestedPrediction => {
  const anomalousDeps = w.failingDepsOf(service);
  // Dependencies that degraded too, but by far too little to explain this service's failure.
  const barelyDegraded = [...dependenciesOf(w.graph, service)].filter((d) => w.degraded.has(d) && !anomalousDeps.includes(d));
  const healthyDeps = barelyDegraded.length > 0 ? `no dependency fails enough to explain it (${barelyDegraded.join(', ')} degraded far less)` : 'no dependency is anomalous';
  const leaf = w.leafErrors.get(service) ?? [];
  const elsewhere = [...w.leafErrors.entries()].filter(([s]) => s !== service).sort((a, b) => b[1].length - a[1].length)[0];
  let check: Check;
  if (anomalousDeps.length > 0) check = { verdict: 'refuted', reason: `it calls anomalous ${anomalousDeps.join(', ')}: a symptom, not the origin` };
  else if (leaf.length > 0 && (!elsewhere || leaf.length >= elsewhere[1].length)) check = { verdict: 'supported', reason: `${healthyDeps} and ${leaf.length} failing trace(s) end in it` };
  else if (elsewhere && leaf.length === 0 && elsewhere[1].length >= MIN_PLACING_TRACES) check = { verdict: 'refuted', reason: `failing traces end in ${elsewhere[0]}, not here` };
  else if (w.topologyKnown) check = { verdict: 'supported', reason: healthyDeps };
  else check = { verdict: 'inconclusive', reason: 'the call graph is unknown' };
  return pick(check.verdict, withReason(`${service} is where the anomaly starts`, check), 1, [
    ...anomalyIds(w, service),
    ...leaf.slice(0, 5).map((t) => `trace:${t}`),
    ...(elsewhere && check.verdict === 'refuted' ? elsewhere[1].slice(0, 3).map((t) => `trace:${t}`) : []),
    ...topologyIds(w, service, ...anomalousDeps),
  ], { missing: check.verdict === 'inconclusive' ? 'the service topology and error traces' : undefined });
};
