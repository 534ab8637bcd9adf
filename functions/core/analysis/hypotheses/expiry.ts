/**
 * Certificate-expiry hypotheses: "a certificate this service presents expired, so every TLS handshake with it
 * fails", one per service that publishes `cert_days_to_expiry` (what ACM publishes as DaysToExpiry) and either
 * fails or saw it cross zero.
 *
 * Predictions: the days to expiry crossed zero within minutes of the onset (decisive when the certificate is still
 * valid: a valid certificate fails no handshake for expiry); it is where the anomaly starts (origin-prediction.ts);
 * its failing callers' failures began when it expired (the handshake fails in the caller, so metrics show the fault
 * there: the expiry must date it); its callers (or itself) fail with TLS handshake errors — certificate_expired, PKIX path validation, an
 * x509 "certificate has expired"; and no change to it that touched its certificate explains it (decisive: a renewal
 * or rotation that went wrong is a change's story, tested as a change). Why: time runs out on a certificate with no
 * change at all; the expiry date is published, so the crossing dates the fault to the minute.
 */
import type { ChangeRequest } from '../../tools/ports.ts';
import type { Check } from '../changes.ts';
import { type Candidate, pick, withReason } from './candidate.ts';
import { MINUTE_MS, type World, anomalyIds, seriesId, seriesOf, templateIds } from './evidence.ts';
import { originPrediction } from './origin-prediction.ts';
import { RESOURCE_METRICS, fmtNumber, fmtTime, minutesBetween, noChangeExplains, onsetMsOf, servicesWithMetric, templatesSaying } from './resource-evidence.ts';

/** The crossing dates the onset when it is this close before it… */
const EXPIRED_BEFORE_ONSET_MINUTES = 20;
/** …or this close after (per-minute buckets, a symptom dated a minute early). */
const EXPIRED_AFTER_ONSET_MINUTES = 5;
/** A caller's failure dated this much before the expiry still began with it (per-minute buckets). */
const CALLER_ONSET_GRACE_MINUTES = 2;
/** Words of a handshake that failed on an expired or untrusted certificate. */
export const EXPIRED_TEXT =
  /certificate[_ ]?(has )?expired|certificateexpired|cert(ificate)? (is )?expired|pkix|x509|handshake|ssl ?exception|sslhandshake|tls alert|not ?after|certificate (verify|validation) failed|expired certificate/i;
/** What a change that renews or rotates a certificate says of itself. */
const CERT_CHANGE_TEXT = /certif|\btls\b|\bssl\b|x509|keystore|truststore|\bacm\b/i;

/** The subjects: services that publish when their certificate expires. */
export const servicesWithCertificates = servicesWithMetric(RESOURCE_METRICS.certDaysToExpiry);

export const testExpiry = (w: World, service: string): Candidate | undefined => {
  const days = seriesOf(w, service, RESOURCE_METRICS.certDaysToExpiry);
  if (!days) return undefined;
  const onset = onsetMsOf(w, service);
  const crossing = days.points.find((p) => p.v <= 0);
  // A valid certificate on a healthy service: nothing to say about it.
  if (!crossing && !w.degraded.has(service)) return undefined;
  const lowest = Math.min(...days.points.map((p) => p.v));
  let crossed: Check;
  let decisive = false;
  if (!crossing) {
    crossed = { verdict: 'refuted', reason: `it is still valid (${fmtNumber(lowest)} days left at the least)` };
    decisive = true;
  } else if (Number.isNaN(onset)) crossed = { verdict: 'supported', reason: `it expired at ${fmtTime(Date.parse(crossing.t))}` };
  else {
    const lead = minutesBetween(Date.parse(crossing.t), onset);
    if (lead < -EXPIRED_AFTER_ONSET_MINUTES) {
      crossed = { verdict: 'refuted', reason: `it expired at ${fmtTime(Date.parse(crossing.t))}, ${fmtNumber(-lead)} min AFTER the onset` };
      decisive = true;
    } else if (lead <= EXPIRED_BEFORE_ONSET_MINUTES) crossed = { verdict: 'supported', reason: `it expired at ${fmtTime(Date.parse(crossing.t))}, ${fmtNumber(Math.max(0, lead))} min before the onset` };
    else crossed = { verdict: 'refuted', reason: `it expired at ${fmtTime(Date.parse(crossing.t))}, ${fmtNumber(lead)} min before the onset: handshakes would have failed long before` };
  }
  const crossedP = pick(crossed.verdict, withReason(`a certificate of ${service} expired within minutes of the onset`, crossed), 2, [seriesId(days)], { decisive });

  // The handshake errors are raised by the callers (the server's certificate is rejected client-side), and may not
  // name the host: any caller's TLS errors count, and the service's own (its outbound mTLS).
  const said = templatesSaying(w, service, EXPIRED_TEXT, { anyCaller: true }).filter((t) => t.novel || t.service !== service);
  const tls = pick(said.length > 0 ? 'supported' : 'inconclusive', `calls to ${service} fail the TLS handshake — ${said.length > 0 ? `"${said[0].template.slice(0, 160)}" (${said[0].service})` : 'no TLS errors logged'}`, 1.5, templateIds(said), {
    missing: said.length > 0 ? undefined : `error logs of ${service}'s callers (TLS handshake / certificate_expired)`,
  });

  // Its callers' failures began when it expired: metrics show the failure in the callers (the handshake fails there,
  // and the service itself only loses traffic), so their onsets are what the expiry must date.
  const crossedAt = crossing ? Date.parse(crossing.t) : Number.NaN;
  const failingCallers = [...(w.graph.callers.get(service) ?? [])].filter((c) => w.degraded.has(c)).sort();
  const callerOnsets = failingCallers.map((c) => ({ c, at: Date.parse(w.onsetOf(c) ?? '') })).filter((x) => !Number.isNaN(x.at));
  const dated = callerOnsets.filter((x) => {
    const lag = minutesBetween(crossedAt, x.at);
    return lag >= -CALLER_ONSET_GRACE_MINUTES && lag <= EXPIRED_BEFORE_ONSET_MINUTES;
  });
  let callersCheck: Check;
  if (Number.isNaN(crossedAt) || callerOnsets.length === 0) callersCheck = { verdict: 'inconclusive', reason: failingCallers.length === 0 ? 'none of its callers fails' : 'no expiry or caller onset to compare' };
  else if (dated.length > 0) callersCheck = { verdict: 'supported', reason: `${dated.map((x) => `${x.c} from ${fmtTime(x.at)}`).join(', ')}; it expired at ${fmtTime(crossedAt)}` };
  else if (callerOnsets.every((x) => minutesBetween(crossedAt, x.at) < -CALLER_ONSET_GRACE_MINUTES))
    callersCheck = { verdict: 'refuted', reason: `${callerOnsets.map((x) => `${x.c} failed from ${fmtTime(x.at)}`).join(', ')}, before it expired at ${fmtTime(crossedAt)}` };
  else callersCheck = { verdict: 'inconclusive', reason: `its callers failed from ${callerOnsets.map((x) => fmtTime(x.at)).join(', ')}, not within minutes of the expiry at ${fmtTime(crossedAt)}` };
  const callersP = pick(callersCheck.verdict, withReason(`the failures of ${service}'s callers began when it expired`, callersCheck), 1, failingCallers.flatMap((c) => anomalyIds(w, c)));

  const touchesCertificate = (c: ChangeRequest) =>
    CERT_CHANGE_TEXT.test(`${c.title} ${c.description} ${c.configChange?.param ?? ''}`) && !(Date.parse(c.deployedAt) > onset + EXPIRED_AFTER_ONSET_MINUTES * MINUTE_MS)
      ? `${c.id} ("${c.title}") touched its certificate (tested as a change)`
      : undefined;
  const noChange = noChangeExplains(w, service, { timing: false, refutes: touchesCertificate, decisive: true });
  return {
    kind: 'expiry',
    summary: `Certificate of ${service} expired${crossing ? ` at ${fmtTime(Date.parse(crossing.t))}` : ''}: TLS handshakes with it fail`,
    service,
    category: 'certificate',
    predictions: [originPrediction(w, service), crossedP, callersP, tls, noChange],
  };
};
