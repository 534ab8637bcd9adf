/**
 * Triage agent: reads what impact, similar and logs found (`earlierOutput`), asks on-call and ownership for
 * the blast radius, and produces the classification, the headline, a narrative, the teams to engage (with
 * contacts) and ordered next steps.
 *
 * Classification scores symptom classes from the evidence — anomalous metrics by their kind (see
 * `metricTrait`), pool/worker utilisation near its maximum, and the words of new/spiking log templates —
 * and names the strongest one first (`<class>: <detail>`), so it stays parseable.
 */
import type { AgentDeps } from '../deps.ts';
import { zToScore } from '../analysis/metrics.ts';
import { type AgentSummary, type AgentTask, type Evidence, ImpactOutput, LogAnalysisOutput, SimilarOutput, TriageOutput } from '../model.ts';
import type { OnCallEntry, Ownership } from '../tools/ports.ts';
import { isDegradation, metricTrait } from './impact.ts';
import { type AgentContext, runAgent, summarise } from './runtime.ts';

export type SymptomClass = 'availability' | 'errors' | 'latency' | 'saturation' | 'resource';

/** Words in new/spiking log templates that point at a symptom class (generic vocabulary). */
const LOG_WORDS: readonly [SymptomClass, RegExp][] = [
  ['saturation', /pool|exhaust|starv|queue (is )?full|rejected|too many|limit reached|backpressure|throttl|waiting for|no available|timed? ?out waiting/i],
  ['resource', /out ?of ?memory|oom|heap|gc overhead|cpu|disk (is )?full|no space/i],
  ['availability', /unavailable|refused|unreachable|no healthy|circuit (breaker )?open|503|connection reset|down\b/i],
  ['latency', /slow|timeout|timed out|deadline exceeded|took \S+ ?ms/i],
  ['errors', /exception|error|fail/i],
];

/**
 * Latency and errors are symptoms of nearly every fault; saturation, resource exhaustion and unavailability
 * say more about the mechanism, so with comparable evidence they rank first.
 */
const SPECIFICITY: Record<SymptomClass, number> = { saturation: 1.3, resource: 1.3, availability: 1.2, errors: 1, latency: 1 };

const MINUTE = 60_000;
const ONSET_TOLERANCE_MS = 5 * MINUTE;
/** A change of at least this fraction of the baseline is material (full weight at twice this). */
const MATERIAL_CHANGE = 0.25;
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

interface Classified {
  readonly primary: SymptomClass | undefined;
  /** Evidence per class, strongest first (after weighting by specificity). */
  readonly scores: ReadonlyMap<SymptomClass, number>;
  readonly detail: string;
  readonly evidenceIds: readonly string[];
}

/** Scores symptom classes from impact anomalies/evidence and log templates. Exported for tests. */
export const classify = (impact: { output: ImpactOutput; evidence: Evidence[] } | undefined, logs: LogAnalysisOutput | undefined): Classified => {
  // Per class and per source (anomalies, utilisation, logs) the strongest signal counts once: the same
  // symptom propagating to five callers is one symptom, not five.
  const parts = new Map<SymptomClass, Map<string, number>>();
  const cite = new Map<SymptomClass, string[]>();
  const bump = (c: SymptomClass, w: number, id?: string, source = 'anomaly') => {
    const m = parts.get(c) ?? new Map<string, number>();
    m.set(source, Math.max(m.get(source) ?? 0, w));
    parts.set(c, m);
    if (id) cite.set(c, [...(cite.get(c) ?? []), id]);
  };
  const details = new Map<SymptomClass, string>();
  // The mechanism comes before its symptoms and sits where they start: only classes seen on the service with
  // the earliest onset, within ONSET_TOLERANCE of it (plus saturation shown by utilisation, which has no
  // onset), may be primary. The rest are listed as "also".
  // Weights also scale with the size of the change: a 14% CPU rise is real but is not the story.
  const relative = (a: { baseline: number; current: number }) => (a.baseline !== 0 ? Math.abs(a.current - a.baseline) / Math.abs(a.baseline) : 1);
  const degradations = (impact?.output.anomalies ?? []).filter((a) => isDegradation(a.metric, a.direction));
  const first = degradations.filter((a) => a.onset && relative(a) >= MATERIAL_CHANGE).sort((a, b) => Date.parse(a.onset!) - Date.parse(b.onset!))[0];
  const candidates = new Set<SymptomClass>();
  const early = (a: (typeof degradations)[number]) =>
    !first || (a.service === first.service && relative(a) >= MATERIAL_CHANGE && a.onset !== undefined && Date.parse(a.onset) - Date.parse(first.onset!) <= ONSET_TOLERANCE_MS);

  for (const a of degradations) {
    const w = zToScore(a.score) * Math.min(1, relative(a) / (2 * MATERIAL_CHANGE));
    const id = a.evidenceIds.find((e) => e.startsWith('anomaly:'));
    const kind = metricTrait(a.metric).kind;
    const before = new Set(parts.keys());
    if (kind === 'latency') bump('latency', w, id);
    else if (kind === 'errors') {
      bump('errors', w, id);
      if (a.current >= 25 && /pct|rate|percent/.test(a.metric)) bump('availability', w, id);
    } else if (kind === 'saturation') bump('saturation', w, id);
    else if (kind === 'resource') bump('resource', w, id);
    else if (kind === 'throughput' || kind === 'users') {
      const drop = a.baseline > 0 ? (a.baseline - a.current) / a.baseline : 0;
      bump(drop >= 0.5 ? 'availability' : 'errors', 0.5 * w, id);
    }
    if (early(a)) for (const c of parts.keys()) if (!before.has(c) || kind === c || (kind === 'errors' && c === 'availability')) candidates.add(c);
    const cls = kind === 'throughput' || kind === 'users' ? undefined : (kind as SymptomClass);
    if (cls && !details.has(cls)) details.set(cls, `${a.metric} on ${a.service} ${a.baseline}→${a.current}${a.onset ? ` since ${a.onset}` : ''}`);
  }
  // Utilisation near the maximum is saturation even before a latency anomaly shows it.
  for (const e of impact?.evidence ?? []) {
    const u = (e.data as { utilisation?: number } | undefined)?.utilisation;
    if (e.kind === 'metric' && typeof u === 'number' && u >= 0.9) {
      bump('saturation', 1, e.id, 'utilisation');
      candidates.add('saturation');
      const [, service, metric] = e.id.split(':');
      details.set('saturation', `${metric} at ${Math.round(u * 100)}% of its maximum on ${service}`);
    }
  }
  for (const t of logs?.templates.filter((x) => x.novel) ?? []) {
    const match = LOG_WORDS.find(([, re]) => re.test(t.template));
    if (!match) continue;
    bump(match[0], 0.6, t.evidenceIds[0], 'logs');
    if (!details.has(match[0])) details.set(match[0], `"${t.template}" on ${t.service}`);
  }
  const scores = new Map<SymptomClass, number>([...parts.entries()].map(([c, m]) => [c, round([...m.values()].reduce((a, b) => a + b, 0), 3)]));
  const ranked = [...scores.entries()].sort((a, b) => b[1] * SPECIFICITY[b[0]] - a[1] * SPECIFICITY[a[0]]);
  const primary = ranked.find(([c]) => candidates.size === 0 || candidates.has(c))?.[0];
  if (primary) ranked.unshift(...ranked.splice(ranked.findIndex(([c]) => c === primary), 1));
  const others = ranked.slice(1).map(([c]) => c);
  const detail = primary ? `${details.get(primary) ?? 'see evidence'}${others.length > 0 ? `; also ${others.join(', ')}` : ''}` : 'no anomaly or new log template';
  return { primary, scores: new Map(ranked), detail, evidenceIds: primary ? [...new Set(cite.get(primary) ?? [])].slice(0, 4) : [] };
};

const analyse = async (ctx: AgentContext) => {
  const { incident, scope, evidence, deps, earlier } = ctx;
  const impact = earlier.output('impact', ImpactOutput);
  const similar = earlier.output('similar', SimilarOutput);
  const logs = earlier.output('logs', LogAnalysisOutput);
  const known = new Set([...(impact?.evidence ?? []), ...(similar?.evidence ?? []), ...(logs?.evidence ?? [])].map((e) => e.id));

  // Services, most likely origin first: earliest anomaly onset, then the deeper (non-user-facing) one.
  const onsetOf = new Map<string, number>();
  for (const a of impact?.output.anomalies ?? [])
    if (a.onset && isDegradation(a.metric, a.direction)) onsetOf.set(a.service, Math.min(onsetOf.get(a.service) ?? Infinity, Date.parse(a.onset)));
  const blast = impact?.output.blastRadius ?? [];
  const services = [...new Set([...blast, incident.service])].sort((a, b) => (onsetOf.get(a) ?? Infinity) - (onsetOf.get(b) ?? Infinity) || blast.indexOf(a) - blast.indexOf(b));
  const origin = onsetOf.size > 0 ? services[0] : incident.service;

  const [oncall, ownership] = await Promise.all([
    evidence.call('oncall', () => deps.tools.oncall.getOnCall({ ...scope, services })),
    evidence.call('oncall', () => deps.tools.oncall.getOwnership({ ...scope, services })),
  ]);
  const oncallBy = new Map<string, OnCallEntry>((oncall ?? []).map((o) => [o.service, o]));
  const ownerBy = new Map<string, Ownership>((ownership ?? []).map((o) => [o.service, o]));
  for (const o of oncall ?? [])
    evidence.add({ id: `oncall:${o.service}`, kind: 'oncall', source: 'oncall', summary: `${o.service} on call: ${o.primary.name} (${o.primary.contact})${o.escalation ? `, escalation ${o.escalation.name}` : ''}`, data: o });
  for (const o of ownership ?? [])
    evidence.add({
      id: `ownership:${o.service}`,
      kind: 'ownership',
      source: 'oncall',
      summary: `${o.service} owned by ${o.team}${o.slackChannel ? ` (${o.slackChannel})` : ''}${o.sloCurrentPct !== undefined && o.sloTargetPct !== undefined ? `, SLO ${o.sloCurrentPct}% vs ${o.sloTargetPct}% target` : ''}`,
      data: o,
    });

  const teamsToEngage: TriageOutput['teamsToEngage'] = [];
  const seenTeams = new Set<string>();
  for (const s of services) {
    const on = oncallBy.get(s);
    const own = ownerBy.get(s);
    if (!on && !own) continue;
    const team = own?.team ?? `${s} on-call`;
    if (seenTeams.has(team)) continue;
    seenTeams.add(team);
    teamsToEngage.push({
      team,
      service: s,
      oncall: on?.primary.name ?? 'unknown (no on-call schedule)',
      contact: on?.primary.contact ?? own?.slackChannel ?? 'unknown',
      slackChannel: own?.slackChannel,
      escalation: on?.escalation ? `${on.escalation.name} (${on.escalation.contact})` : undefined,
      evidenceIds: [...(on ? [`oncall:${s}`] : []), ...(own ? [`ownership:${s}`] : [])],
    });
  }

  const cls = classify(impact, logs?.output);
  const severity = impact?.output.severity ?? incident.severity;
  const classification = cls.primary ? `${cls.primary}: ${cls.detail}` : `unclassified: ${cls.detail}`;
  // The alerting service is what users and responders know the incident by; the origin is named beside it.
  const face = incident.service;
  const symptoms = [...cls.scores.keys()].slice(0, 3);
  const stakes = [
    impact && impact.output.usersImpacted > 0 ? `${fmt(impact.output.usersImpacted)} users` : '',
    impact && impact.output.revenuePerMinute > 0 ? `$${fmt(impact.output.revenuePerMinute)}/min` : '',
  ].filter(Boolean);
  const money = stakes.length > 0 ? ` — ${stakes.join(', ')} at risk` : '';
  const headline = `${severity} ACTIVE: ${face} ${symptoms.length > 0 ? symptoms.join(' and ') : 'degraded'}${origin !== face ? ` (origin ${origin})` : ''}${money}`;

  const novelLogs = logs?.output.templates.filter((t) => t.novel) ?? [];
  const best = similar?.output.incidents[0];
  const missing = (['impact', 'similar', 'logs'] as const).filter((n) => !{ impact, similar, logs }[n]);
  const narrative = [
    impact
      ? `${impact.output.reasoning}`
      : `Impact analysis is not available; the alert reports ${incident.severity} on ${incident.service}.`,
    logs ? (novelLogs.length > 0 ? `Logs: ${novelLogs.slice(0, 2).map((t) => `${t.service} "${t.template}" ×${t.count} since ${t.firstSeen}`).join('; ')}${logs.output.firstErrorAt ? `; first new error at ${logs.output.firstErrorAt}` : ''}.` : 'Logs show no new error pattern.') : '',
    best ? `Closest past incident: ${best.id} "${best.title}" (score ${best.score.toFixed(2)})${best.rootCause ? `, caused by ${best.rootCause}` : ''}.` : '',
    teamsToEngage.length > 0 ? `Engage ${teamsToEngage.map((t) => `${t.team} (${t.oncall})`).join(', ')}.` : 'No owner or on-call could be found for the affected services.',
    missing.length > 0 ? `Missing inputs: ${missing.join(', ')}.` : '',
  ]
    .filter(Boolean)
    .join(' ');

  const originTeam = teamsToEngage.find((t) => t.service === origin) ?? teamsToEngage[0];
  const nextSteps: string[] = [];
  if (originTeam) nextSteps.push(`Page ${originTeam.oncall} (${originTeam.team}, ${originTeam.service}) via ${originTeam.contact}${originTeam.escalation ? `; escalate to ${originTeam.escalation} if no answer in 5 min` : ''}.`);
  if (severity === 'SEV1' || severity === 'SEV2')
    nextSteps.push(`Open the incident bridge${originTeam?.slackChannel ? ` in ${originTeam.slackChannel}` : ''}, bring in ${teamsToEngage.slice(1).map((t) => t.team).join(', ') || 'the owning teams'} and post status updates every 15 minutes.`);
  if (similar?.output.suggestedRunbook && best) nextSteps.push(`Check whether the fix from ${best.id} applies: ${similar.output.suggestedRunbook}`);
  const focus = cls.primary;
  if (focus === 'saturation') nextSteps.push(`Confirm the saturation (${cls.detail.split(';')[0]}): compare the limit with current demand and recent changes to it.`);
  else if (focus === 'resource') nextSteps.push(`Check resource usage on ${origin} (${cls.detail.split(';')[0]}) and whether a recent deploy changed it.`);
  else if (focus === 'availability') nextSteps.push(`Check the health and failover state of ${origin} and its dependencies.`);
  else if (focus === 'latency') nextSteps.push(`Inspect the slowest traces through ${origin} to find the slow dependency.`);
  else if (focus === 'errors' && novelLogs[0]) nextSteps.push(`Investigate the new error "${novelLogs[0].template}" on ${novelLogs[0].service}.`);
  const since = impact?.output.onset ? new Date(Date.parse(impact.output.onset) - 30 * MINUTE).toISOString() : undefined;
  nextSteps.push(`Review changes to ${services.slice(0, 4).join(', ')}${since ? ` deployed since ${since}` : ''} (root-cause analysis runs next).`);
  const gaps = evidence.items.filter((e) => e.kind === 'gap').map((e) => e.source);
  if (gaps.length > 0) nextSteps.push(`Restore access to ${[...new Set(gaps)].join(', ')}: engagement data is incomplete.`);

  // Confidence: the impact agent's own confidence, raised when logs corroborate it (new templates on a
  // degraded service, first error near the onset), lowered for each missing input or failed lookup.
  let confidence = impact ? impact.output.confidence : 0.3;
  const degraded = new Set((impact?.output.anomalies ?? []).map((a) => a.service));
  if (novelLogs.some((t) => degraded.has(t.service))) confidence += 0.1;
  if (logs?.output.firstErrorAt && impact?.output.onset && Math.abs(Date.parse(logs.output.firstErrorAt) - Date.parse(impact.output.onset)) <= 15 * MINUTE) confidence += 0.05;
  if (!cls.primary) confidence -= 0.1;
  confidence -= 0.1 * missing.length + 0.1 * gaps.length;
  confidence = round(Math.min(0.99, Math.max(0.05, confidence)));

  const offline: TriageOutput = {
    classification,
    headline,
    narrative,
    teamsToEngage,
    nextSteps,
    confidence,
    evidenceIds: [...new Set([...cls.evidenceIds, ...teamsToEngage.flatMap((t) => t.evidenceIds), ...(best ? best.evidenceIds : []), ...evidence.items.filter((e) => e.kind === 'gap').map((e) => e.id)])],
  };
  return {
    schema: TriageOutput,
    instructions:
      'Triage this incident from the impact, similar-incident and log analyses and the on-call/ownership evidence: a classification (`<availability|errors|latency|saturation|resource>: detail`), a headline starting with the severity and ACTIVE, a short narrative, the teams to engage with contacts, and ordered next steps. Cite evidence ids.',
    offline,
    knownEvidenceIds: known,
  };
};

export const triage =
  (deps: AgentDeps) =>
  async (task: AgentTask): Promise<AgentSummary> => {
    const { output } = await runAgent(deps, 'triage', task.incidentId, analyse, ['impact', 'similar', 'logs']);
    return summarise(task.incidentId, 'triage', `${output.headline} [${output.classification.split(':')[0]}]; engage ${output.teamsToEngage.map((t) => t.team).join(', ') || 'nobody found'}`);
  };
