/**
 * Service-fault hypotheses: "this service's own mechanism failed" (an expired certificate, a DNS record gone, a
 * cache or database gone bad) with no change of ours to blame, one per origin whose new errors name a mechanism.
 *
 * Predictions: it is the origin (origin-prediction.ts), new errors at it or in calls to it (its callers' error
 * templates and failing spans that name it) name the mechanism,
 * and no change to it could have caused it within a plausible lag. Why: many incidents come from outside any
 * change (time runs out on a certificate), and the error words are what name them.
 */
import type { FaultCategory } from '../../model.ts';
import { timeAlignment, MAX_PLAUSIBLE_LAG_MINUTES } from '../changes.ts';
import { byCodeUnit } from '../../compare.ts';
import { type Candidate, pick } from './candidate.ts';
import { type CallerSymptom, type World, callerSymptoms, categoryFromText, namesIn, withoutServiceNames } from './evidence.ts';
import { originPrediction } from './origin-prediction.ts';

/**
 * A fault of the service itself that no change of ours explains (an expired certificate, a DNS record that
 * stopped resolving, a cache or database gone bad). Generated only for an origin whose new errors — its own, or
 * its callers' errors that name it — say which mechanism failed (`categoryFromText`); without such words there is
 * nothing to name, and the surge, leak and change hypotheses cover the rest.
 */
export const testServiceFault = (w: World, service: string): Candidate | undefined => {
  // Its own new errors, and what its callers say of their calls to it (their errors and failing spans that name it).
  const symptoms: CallerSymptom[] = [
    // Its own lines that blame a callee of its ("call to ledger failed: SSLHandshakeException") are that callee's.
    ...w.input.templates
      .filter((t) => t.novel && t.service === service && ![...(w.graph.callees.get(service) ?? [])].some((c) => namesIn(c, t.template)))
      .map((t) => ({ text: withoutServiceNames(w, t.template), count: t.count, evidenceIds: t.evidenceIds })),
    ...callerSymptoms(w, service),
  ];
  // What the errors say, not whom they name: "customers-db" is a name, not a database symptom.
  const mechanismOf = (text: string) => categoryFromText(text);
  // The mechanism most of the symptom lines name.
  const counts = new Map<FaultCategory, number>();
  symptoms.forEach((t) => {
    const c = mechanismOf(t.text);
    if (c !== 'unknown') counts.set(c, (counts.get(c) ?? 0) + t.count);
  });
  if (counts.size === 0) return undefined;
  const category = [...counts.entries()].sort((a, b) => b[1] - a[1] || byCodeUnit(a[0], b[0]))[0][0];
  const naming = symptoms.filter((t) => mechanismOf(t.text) === category);
  const mechanism = pick('supported', `new errors at ${service} or in calls to it name a ${category} failure — "${naming[0].text.trim().slice(0, 160)}"`, 2, naming.flatMap((t) => t.evidenceIds));

  // A change to the service that could have caused it is the better explanation (and is tested on its own).
  const onset = w.onsetOf(service);
  const suspects = w.input.changes.filter((c) => c.service === service && c.state === 'implemented' && timeAlignment(c.deployedAt, onset, MAX_PLAUSIBLE_LAG_MINUTES, w.onsetSpreadOf(service)).verdict === 'supported');
  const noChange = pick(
    suspects.length === 0 ? 'supported' : 'refuted',
    `no change to ${service} explains it — ${suspects.length === 0 ? 'none was deployed before the onset within a plausible lag' : `${suspects.map((c) => c.id).join(', ')} could have (tested separately)`}`,
    suspects.length === 0 ? 0.5 : 1,
    suspects.map((c) => `change:${c.id}`),
  );
  return {
    kind: 'service-fault',
    summary: `${category} failure in ${service}, not caused by a recent change`,
    service,
    category,
    predictions: [originPrediction(w, service), mechanism, noChange],
  };
};
