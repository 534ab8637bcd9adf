/**
 * The hypothesis families, as a lookup table: one entry per kind of explanation, saying which subjects of the
 * evidence it considers (the changes in the window, the failing services, the origins, the external
 * dependencies…) and how it tests one. `generateCandidates` runs the table; nothing else names a family.
 *
 * A new family is a new file (its tester and, when no existing selector fits, its subject selector; a header that
 * says what it claims, what it predicts, and why) plus one entry here (and its kind in `Candidate['kind']`,
 * candidate.ts). A tester returns `undefined` when the family has nothing to say about a subject.
 *
 * Order: entries that share a subject selector (the same function) are tested subject by subject, in table order
 * (surge then leak for each failing service): the candidates come out in the order they always have, so ranking
 * ties resolve as before.
 */
import type { ChangeRequest } from '../../tools/ports.ts';
import type { Candidate } from './candidate.ts';
import { type World, anomalousServices, faultPlaces } from './evidence.ts';
import { changesInWindow, testChange } from './change.ts';
import { testTrafficSurge } from './traffic-surge.ts';
import { testResourceLeak } from './resource-leak.ts';
import { testServiceFault } from './service-fault.ts';
import { externalDependencies, testDependencyOutage } from './dependency-outage.ts';
import { metricOriginCandidates } from './metric-origin.ts';
import { servicesWithDisk, testDiskExhaustion } from './disk-exhaustion.ts';
import { servicesWithFds, testFdExhaustion } from './fd-exhaustion.ts';
import { servicesWithQuota, testQuotaThrottling } from './quota-throttling.ts';
import { jobServices, testScheduledJob } from './scheduled-job.ts';
import { queueServices, testQueueBacklog } from './queue-backlog.ts';
import { servicesWithCertificates, testExpiry } from './expiry.ts';
import { testZonal, zonedServices } from './zonal.ts';

export interface HypothesisFamily<Subject> {
  readonly kind: Candidate['kind'];
  /** What the family considers, in the order its candidates are generated. */
  readonly subjects: (w: World) => readonly Subject[];
  /** The tested hypothesis for one subject, or `undefined` when the family has none to offer for it. */
  readonly test: (w: World, subject: Subject) => Candidate | undefined;
}

/** Erases an entry's subject type, so that entries over different subjects share one table. */
export const family = <Subject>(f: HypothesisFamily<Subject>): HypothesisFamily<unknown> => f as HypothesisFamily<unknown>;

export const FAMILIES: readonly HypothesisFamily<unknown>[] = [
  family<ChangeRequest>({ kind: 'change', subjects: changesInWindow, test: testChange }),
  family<string>({ kind: 'traffic-surge', subjects: anomalousServices, test: testTrafficSurge }),
  family<string>({ kind: 'resource-leak', subjects: anomalousServices, test: testResourceLeak }),
  family<string>({ kind: 'service-fault', subjects: faultPlaces, test: testServiceFault }),
  family<string>({ kind: 'dependency-outage', subjects: externalDependencies, test: testDependencyOutage }),
  // Causes that are not a recent change (issue 11): each considers only the services that publish its signal.
  family<string>({ kind: 'disk-exhaustion', subjects: servicesWithDisk, test: testDiskExhaustion }),
  family<string>({ kind: 'fd-exhaustion', subjects: servicesWithFds, test: testFdExhaustion }),
  family<string>({ kind: 'quota-throttling', subjects: servicesWithQuota, test: testQuotaThrottling }),
  family<string>({ kind: 'scheduled-job', subjects: jobServices, test: testScheduledJob }),
  family<string>({ kind: 'queue-backlog', subjects: queueServices, test: testQueueBacklog }),
  family<string>({ kind: 'expiry', subjects: servicesWithCertificates, test: testExpiry }),
  family<string>({ kind: 'zonal', subjects: zonedServices, test: testZonal }),
  // Tested where they are made (origin-hypotheses.ts): the subject is the candidate.
  family<Candidate>({ kind: 'metric-origin', subjects: metricOriginCandidates, test: (_w, c) => c }),
];

/** Every family's candidates for the evidence, in table order (see the header for entries sharing subjects). */
export const generateCandidates = (w: World, families: readonly HypothesisFamily<unknown>[] = FAMILIES): Candidate[] => {
  const candidates: Candidate[] = [];
  for (let i = 0; i < families.length; ) {
    let end = i + 1;
    while (end < families.length && families[end].subjects === families[i].subjects) end++;
    const group = families.slice(i, end);
    for (const subject of group[0].subjects(w)) {
      for (const f of group) {
        const candidate = f.test(w, subject);
        if (candidate) candidates.push(candidate);
      }
    }
    i = end;
  }
  return candidates;
};
