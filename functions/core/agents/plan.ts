/**
 * Plan agent: turns the root cause into immediate actions from the runbook catalog (roll back / revert the
 * blamed change; scale for capacity, a rate quota or a queue's consumer; fail over for a failing external dependency;
 * restart for a leak (memory, descriptors), a full disk, or a certificate / DNS / cache fault no change explains;
 * restart the callers of a rotated credential; relieve what a scheduled job loads; plus
 * the runbook that resolved the most similar past incident when it agrees with the root cause) and long-term
 * follow-ups, then applies the approval policy. An abstained root cause gets no action: humans investigate.
 */
import type { AgentDeps } from '../deps.ts';
import { type AgentSummary, type AgentTask, type Evidence, type Hypothesis, ImpactOutput, type MitigationAction, PlanOutput, type RiskLevel, RootCauseOutput, SimilarOutput } from '../model.ts';
import { tokens, tokensMatch } from '../analysis/changes.ts';
import { type ActionRequest, type BuildResult, type RunbookKind, buildAction, runbookFromText } from '../runbooks/catalog.ts';
import { type ApprovalPolicy, DEFAULT_POLICY, decide } from '../runbooks/policy.ts';
import type { ChangeRequest, ServiceNode } from '../tools/ports.ts';
import { METRICS } from '../tools/ports.ts';
import { recordedChanges, recordedNodes } from './recorded.ts';
import { EarlierAgentMissing } from './rootcause.ts';
import { runAgent, summarise } from './runtime.ts';

export class PlanNotFound extends Error {
  override name = 'PlanNotFound';
  constructor(incidentId: string) {
    super(`no mitigation plan stored for incident ${incidentId}`);
  }
}

export interface PlanResult extends AgentSummary {
  readonly hasActions: boolean;
  readonly autoApprove: boolean;
  readonly risk: RiskLevel;
}

/** Whether undoing `change` means restarting or redeploying instances (its rollback plan says so). */
export const rollbackNeedsRestart = (change: ChangeRequest): boolean =>
  /restart|redeploy|roll ?back|helm|re-?create/i.test((change.rollbackPlan ?? '').replace(/\b(?:no|without(?: an?)?)\s+(?:restart|reboot|redeploy)\w*/gi, ''));

/** Scale-out factor from the traffic ratio (current / baseline throughput), clamped to [2, 4]. */
export const scaleFactor = (ratio: number | undefined): number => Math.min(4, Math.max(2, Math.ceil(ratio && Number.isFinite(ratio) ? ratio : 2)));

interface PlanInputs {
  readonly top: Hypothesis;
  readonly change?: ChangeRequest;
  readonly nodes: ReadonlyMap<string, ServiceNode>;
  readonly impact?: ImpactOutput;
}

/** The catalog actions the root cause calls for, in order of preference. */
const actionsFor = ({ top, change, nodes, impact }: PlanInputs): BuildResult[] => {
  const ids = top.evidenceIds;
  const tier = (s: string) => nodes.get(s)?.tier;
  const restart = (service: string, why: string) => buildAction('restart-service', { service, tier: tier(service), params: { strategy: 'rolling' } }, `Rolling restart of ${service} ${why}`, ids);
  const anomalous = new Set(impact?.anomalies.map((a) => a.service));
  // A rotated secret: the callers that cached the old credential fail; they read the new one on a restart. Rolling
  // the rotation back would break whoever already uses the new one.
  if (top.category === 'credential') {
    const callers = [...nodes.values()].filter((n) => n.calls.includes(top.service) && anomalous.has(n.name)).map((n) => n.name);
    const targets = callers.length > 0 ? callers : [top.service];
    return targets.map((s) => restart(s, `so that it reads the rotated credential of ${top.service}`));
  }
  // A scheduled job saturating what it calls: no action of ours stops a run, so relieve the resource it loads.
  if (top.culprit?.kind === 'job') {
    const loaded = nodes.get(top.service)?.calls.filter((c) => anomalous.has(c)) ?? [];
    return loaded.map((r) => buildAction('scale-service', { service: r, tier: tier(r), params: { factor: 2 } }, `Scale ${r} out ×2 to carry the run of job ${top.service} (or pause the job's schedule)`, ids));
  }
  if (top.changeId && change) {
    const base: ActionRequest = { service: change.service, change, tier: tier(change.service) };
    // The AWS resource the change names rides along, so a typed rollback acts on it without reading the history again.
    const resource = change.resource ? { resource: change.resource } : {};
    const rollback = buildAction(
      'rollback-change',
      { ...base, target: change.id, params: { ...(change.version ? { fromVersion: change.version.to, toVersion: change.version.from } : {}), ...(change.rollbackPlan ? { rollbackPlan: change.rollbackPlan } : {}), ...resource } },
      `Roll back ${change.id} on ${change.service}${change.version ? ` (${change.version.to} → ${change.version.from})` : ''}${change.rollbackPlan ? `: ${change.rollbackPlan}` : ''}`,
      ids,
    );
    // A config change whose undo needs a restart or redeploy is a rollback (instances restart: medium risk);
    // one that reloads live is a config revert (low risk).
    if (change.type === 'config' && change.configChange && !rollbackNeedsRestart(change)) {
      const cfg = change.configChange;
      // The target of a config revert is the parameter (MitigationAction.target); the change id rides along.
      const revert = buildAction('revert-config', { ...base, target: cfg.param, params: { param: cfg.param, changeId: change.id, from: cfg.new, to: cfg.old, ...resource } }, `Revert ${cfg.param} on ${change.service} from ${cfg.new} back to ${cfg.old} (undo ${change.id})`, ids);
      return revert.ok ? [revert] : [revert, rollback];
    }
    if (change.type === 'feature-flag') {
      const flag = change.configChange?.param;
      // Both values, as for a config revert: the action's inverse (inverse.ts swaps from ↔ to) must know what to
      // set the flag to again, or an undo would reach the adapter with no value.
      const toggle = buildAction(
        'toggle-feature-flag',
        { ...base, target: change.id, params: { flag, changeId: change.id, from: change.configChange?.new, to: change.configChange?.old, ...resource } },
        `Turn feature flag ${flag} back to ${change.configChange?.old} on ${change.service} (undo ${change.id})`,
        ids,
      );
      return toggle.ok ? [toggle] : [toggle, rollback];
    }
    return [rollback];
  }
  switch (top.category) {
    case 'capacity': {
      const tp = impact?.anomalies.find((a) => a.service === top.service && a.metric === METRICS.throughput);
      const factor = scaleFactor(tp && tp.baseline > 0 ? tp.current / tp.baseline : undefined);
      return [buildAction('scale-service', { service: top.service, tier: tier(top.service), params: { factor } }, `Scale ${top.service} out ×${factor} to absorb the traffic`, ids)];
    }
    case 'dependency': {
      const anomalous = new Set(impact?.anomalies.map((a) => a.service));
      const caller = [...nodes.values()].find((n) => n.calls.includes(top.service) && anomalous.has(n.name))?.name ?? [...nodes.values()].find((n) => n.calls.includes(top.service))?.name ?? top.service;
      return [buildAction('failover', { service: caller, target: top.service, tier: tier(caller), params: { dependency: top.service } }, `Fail over ${caller}'s calls to ${top.service} to the secondary path (open the circuit)`, ids)];
    }
    // A rate quota: more capacity raises it (provisioned throughput, reserved concurrency); a consumer behind a
    // queue: more of it drains the backlog.
    case 'throttling':
    case 'queue-backlog': {
      const tp = impact?.anomalies.find((a) => a.service === top.service && a.metric === METRICS.throughput);
      const factor = scaleFactor(tp && tp.baseline > 0 ? tp.current / tp.baseline : undefined);
      const why = top.category === 'throttling' ? `to raise the quota it is throttled at` : `to drain the queue it consumes`;
      return [buildAction('scale-service', { service: top.service, tier: tier(top.service), params: { factor } }, `Scale ${top.service} out ×${factor} ${why}`, ids)];
    }
    // One availability zone gone bad: shift the service's traffic away from it (a zonal shift, as Route 53 ARC does
    // for a load balancer); the other zones carry it. Reversible: shift back once the zone is healthy.
    case 'zone': {
      const zone = top.culprit?.zone;
      if (!zone) return [];
      return [buildAction('failover', { service: top.service, target: zone, tier: tier(top.service), params: { zone } }, `Shift ${top.service}'s traffic away from availability zone ${zone} (zonal shift)`, ids)];
    }
    case 'memory-leak':
      return [restart(top.service, 'to reclaim leaked memory')];
    case 'file-descriptors':
      return [restart(top.service, 'to close its leaked file descriptors')];
    // Space held by deleted files still open, temporary files and logs awaiting rotation is freed on a restart; the
    // volume itself still wants cleaning or growing (a follow-up).
    case 'disk-full':
      return [restart(top.service, 'to free the disk space its processes hold (deleted files still open, spool, logs)')];
    // No change to undo: the fault lives in the running instances' state (a certificate loaded at start-up,
    // a cached DNS answer, a poisoned cache), and a rolling restart reloads it.
    case 'certificate':
    case 'dns':
    case 'cache':
      return [buildAction('restart-service', { service: top.service, tier: tier(top.service), params: { strategy: 'rolling' } }, `Rolling restart of ${top.service} to reload its ${RELOADED[top.category]}`, ids)];
    default:
      return [];
  }
};

const RELOADED: Record<'certificate' | 'dns' | 'cache', string> = { certificate: 'TLS certificate from the keystore', dns: 'DNS resolution', cache: 'cache' };

const LONG_TERM: Partial<Record<Hypothesis['category'], (h: Hypothesis) => string[]>> = {
  'config-change': (h) => [`Validate ${h.service} configuration changes against load tests before rollout`, `Alert on saturation of the resource the change touched on ${h.service}`],
  'bad-deploy': (h) => [`Add canary analysis (error rate, latency) with automatic rollback to ${h.service} deploys`, 'Add a regression test for the failure seen in this incident'],
  capacity: (h) => [`Autoscale ${h.service} on throughput and saturation`, `Load-test ${h.service} at the observed peak`],
  dependency: (h) => [`Timeouts, retries with backoff and a circuit breaker for calls to ${h.service}`, `Agree an SLO and a status feed with the owner of ${h.service}`],
  'memory-leak': (h) => [`Heap-profile ${h.service} and fix the leak`, `Alert on steady memory growth of ${h.service}`],
  'connection-pool': (h) => [`Size the connection pool of ${h.service} for peak traffic; alert on pool saturation`],
  certificate: (h) => [`Reload ${h.service}'s certificate when it is renewed (or restart on renewal); alert 14 days before any certificate expires`],
  dns: (h) => [`Monitor resolution of the names ${h.service} depends on; lower TTLs before DNS changes`],
  cache: (h) => [`Alert on the cache hit ratio of ${h.service}; protect its backing store from a cold or invalidated cache`],
  'disk-full': (h) => [`Grow or clean the volume of ${h.service}; rotate and cap its logs; alert at 80 % and on the fill rate`],
  'file-descriptors': (h) => [`Find what ${h.service} leaves open (sockets, files) and close it; alert on open descriptors against the limit`],
  throttling: (h) => [`Raise or autoscale the quota ${h.service} is throttled at; alert on throttled requests before callers fail`],
  'queue-backlog': (h) => [`Autoscale ${h.service} on queue depth and message age; alert on the age of the oldest message`],
  credential: (h) => [`Have the clients of ${h.service} re-read the secret on rotation (or on an authentication failure) instead of caching it`],
};

/** Rolling back or reverting a change restarts the service's instances: a separate restart adds only risk. */
const SUBSUMES: Partial<Record<RunbookKind, readonly RunbookKind[]>> = {
  'rollback-change': ['restart-service'],
  'revert-config': [],
};
const subsumedBy = (kind: RunbookKind, service: string, actions: readonly MitigationAction[]): MitigationAction | undefined =>
  actions.find((a) => a.service === service && (a.kind === kind || (SUBSUMES[a.kind as RunbookKind] ?? []).includes(kind)));

/** The catalog states preconditions as what must hold: say that these do not. */
const unmetText = (unmet: readonly string[]): string => `${unmet.length === 1 ? 'precondition' : 'preconditions'} not met: ${unmet.join('; ')}`;

const sharedWords = (a: string, b: string): number => {
  const tb = [...tokens(b)];
  return [...tokens(a)].filter((x) => tb.some((y) => tokensMatch(x, y))).length;
};

export const planMitigation =
  (deps: AgentDeps, policy: ApprovalPolicy = DEFAULT_POLICY) =>
  async ({ incidentId }: AgentTask): Promise<PlanResult> => {
    const { output } = await runAgent(deps, 'plan', incidentId, async ({ incident, earlier }) => {
      const rootcause = earlier.output('rootcause', RootCauseOutput);
      if (!rootcause) throw new EarlierAgentMissing('rootcause', incidentId);
      const impact = earlier.output('impact', ImpactOutput);
      const similar = earlier.output('similar', SimilarOutput);
      // The root cause cites ids from every investigation record (anomalies, log templates, past incidents).
      const others = (['triage', 'logs'] as const).map((a) => earlier.record(a));
      const earlierEvidence: Evidence[] = [rootcause, impact, similar, ...others].flatMap((r) => r?.evidence ?? []);
      const known = new Set(earlierEvidence.map((e) => e.id));
      const nodes = new Map(recordedNodes(earlierEvidence).map((n) => [n.name, n]));

      const rc = rootcause.output;
      const top = rc.rootCauses[0];
      const longTerm: string[] = [];
      const notes: string[] = [];
      let immediate: MitigationAction[] = [];

      if (rc.abstained || !top) {
        notes.push(`Root cause undetermined: no automatic action. Humans investigate${rc.missingEvidence.length ? `; missing: ${rc.missingEvidence.join('; ')}` : ''}.`);
        longTerm.push(...rc.missingEvidence.map((m) => `Close the observability gap: ${m}`));
      } else {
        const change = top.changeId ? recordedChanges(earlierEvidence).find((c) => c.id === top.changeId) : undefined;
        const results = actionsFor({ top, change, nodes, impact: impact?.output });
        for (const r of results) {
          if (r.ok) {
            immediate.push(r.action);
            break; // the first applicable runbook is the preferred one; later ones are fallbacks
          }
          notes.push(`${r.kind} not applicable, ${unmetText(r.unmet)}.`);
        }
        if (results.length === 0) notes.push(`No runbook in the catalog addresses a ${top.category} fault on its own.`);

        // The runbook that resolved the most similar past incident, when it agrees with this root cause.
        const best = similar?.output.incidents[0];
        const suggested = similar?.output.suggestedRunbook ?? best?.resolution;
        if (best && suggested) {
          const kind: RunbookKind | undefined = runbookFromText(suggested);
          const agrees = sharedWords(`${best.title} ${best.rootCause ?? ''}`, `${top.summary} ${top.category}`) >= 2;
          const same = immediate.find((a) => a.kind === kind);
          if (same) {
            immediate = immediate.map((a) => (a === same ? { ...a, evidenceIds: [...new Set([...a.evidenceIds, ...best.evidenceIds])] } : a));
            notes.push(`${best.id} was resolved the same way (${kind}).`);
          } else if (kind && agrees && subsumedBy(kind, top.service, immediate)) {
            notes.push(`${best.id}'s fix (${kind}) is already covered by ${subsumedBy(kind, top.service, immediate)!.kind}.`);
          } else if (kind && agrees) {
            const built = buildAction(kind, { service: top.service, tier: nodes.get(top.service)?.tier, params: kind === 'scale-service' ? { factor: 2 } : {} }, `As in ${best.id}: ${suggested}`, [...best.evidenceIds, ...top.evidenceIds]);
            if (built.ok) immediate.push(built.action);
            else notes.push(`${best.id}'s runbook (${kind}) not applicable, ${unmetText(built.unmet)}.`);
          } else {
            notes.push(`${best.id}'s fix ("${suggested}") ${agrees ? 'is not a catalog action' : 'does not match this root cause'}: kept as a follow-up.`);
          }
          longTerm.push(`Compare with ${best.id}: ${suggested}`);
        }
        longTerm.push(...(LONG_TERM[top.category]?.(top) ?? []));
        if (top.changeId) longTerm.push(`Review how ${top.changeId} was validated and approved before rollout`);
      }

      longTerm.push(`Postmortem review of ${incident.title}`);
      const decision = decide(immediate, policy);
      const autoApprove = immediate.length > 0 && decision.autoApprove;
      const offline: PlanOutput = {
        immediate,
        longTerm: [...new Set(longTerm)],
        risk: decision.risk,
        reversible: decision.reversible,
        autoApprove,
        rationale: [
          top && !rc.abstained ? `Root cause: ${top.summary} (confidence ${top.confidence}).` : '',
          ...notes,
          immediate.length ? `Risk ${decision.risk}, ${decision.reversible ? 'reversible' : 'not reversible'}; ${autoApprove ? 'auto-approved' : 'needs approval'}: ${decision.reasons.join('; ')}.` : '',
        ]
          .filter(Boolean)
          .join(' '),
        evidenceIds: [...new Set(immediate.flatMap((a) => a.evidenceIds))],
      };
      return {
        schema: PlanOutput,
        instructions:
          'Plan the mitigation from the root cause using only catalog actions (rollback-change, revert-config, scale-service, restart-service, toggle-feature-flag, failover) with their catalog risk and reversibility; add long-term follow-ups. autoApprove only when every action is low risk and reversible and the policy allows it. No action when the root cause abstained.',
        offline,
        knownEvidenceIds: known,
      };
    }, ['rootcause', 'impact', 'similar', 'triage', 'logs']);
    // The policy verdict is authoritative whatever the reasoner wrote.
    const verdict = decide(output.immediate, policy);
    const hasActions = output.immediate.length > 0;
    const autoApprove = hasActions && verdict.autoApprove;
    const summary = hasActions
      ? `${output.immediate.map((a) => a.description).join('; ')} — risk ${verdict.risk}, ${autoApprove ? 'auto-approved by policy' : 'needs approval'}`
      : `No automatic action: ${output.rationale || 'nothing to mitigate'}`;
    return { ...summarise(incidentId, 'plan', summary), hasActions, autoApprove, risk: verdict.risk };
  };
