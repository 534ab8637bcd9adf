import { describe, expect, it } from 'vitest';
import { planMitigation, scaleFactor } from '../../../functions/core/agents/plan.ts';
import { inverseOf } from '../../../functions/core/runbooks/inverse.ts';
import { EarlierAgentMissing } from '../../../functions/core/agents/rootcause.ts';
import { type Evidence, type Hypothesis, type ImpactOutput, PlanOutput, type RootCauseOutput, type SimilarOutput } from '../../../functions/core/model.ts';
import type { ChangeRequest } from '../../../functions/core/tools/ports.ts';
import { fakeDeps, seedAgentRecord, seedIncident } from './fakes.ts';

const poolChange: ChangeRequest = {
  id: 'CR2077',
  service: 'inventory-service',
  type: 'config',
  title: 'Tune HikariCP pool settings',
  description: 'Reduce maximum-pool-size',
  deployedAt: '2026-03-14T12:04:00.000Z',
  state: 'implemented',
  configChange: { param: 'maximum-pool-size', old: '20', new: '10' },
};
const deployChange: ChangeRequest = {
  id: 'CR3001',
  service: 'checkout-service',
  type: 'deploy',
  title: 'Checkout 2.4',
  description: 'new pricing engine',
  deployedAt: '2026-03-14T12:04:00.000Z',
  state: 'implemented',
  version: { from: '2.3.9', to: '2.4.0' },
};

const hypothesis = (overrides: Partial<Hypothesis>): Hypothesis => ({
  summary: 'something',
  service: 'inventory-service',
  category: 'unknown',
  predictions: [{ statement: 'it fits', result: 'supported', evidenceIds: [] }],
  confidence: 0.9,
  evidenceIds: [],
  ...overrides,
});

const rootcause = (top: Hypothesis | undefined, abstained = false): RootCauseOutput => ({
  rootCauses: top ? [top] : [],
  abstained,
  missingEvidence: abstained ? ['error traces of the affected services'] : [],
  ...(top?.changeId && !abstained ? { rollbackCandidate: top.changeId } : {}),
  reasoning: 'tested',
  evidenceIds: top?.evidenceIds ?? [],
});

const impact = (anomalies: ImpactOutput['anomalies'] = []): ImpactOutput => ({
  anomalies,
  blastRadius: [],
  usersImpacted: 0,
  revenuePerMinute: 0,
  severity: 'SEV2',
  confidence: 0.8,
  reasoning: '',
  evidenceIds: [],
});

const changeEvidence = (c: ChangeRequest): Evidence => ({ id: `change:${c.id}`, kind: 'change', source: 'changes', summary: c.title, data: c });

const setup = async (rc: RootCauseOutput, evidence: Evidence[] = [], extra: { impact?: ImpactOutput; similar?: SimilarOutput; similarEvidence?: Evidence[] } = {}) => {
  const deps = fakeDeps();
  const incidentId = await seedIncident(deps);
  await seedAgentRecord(deps, incidentId, 'rootcause', rc, evidence);
  await seedAgentRecord(deps, incidentId, 'impact', extra.impact ?? impact());
  if (extra.similar) await seedAgentRecord(deps, incidentId, 'similar', extra.similar, extra.similarEvidence ?? []);
  return { deps, incidentId };
};

const storedPlan = async (deps: ReturnType<typeof fakeDeps>, incidentId: string) => PlanOutput.parse((await deps.store.getAgentRecord(incidentId, 'plan'))?.output);

describe('planMitigation', () => {
  it('reverts a blamed config change: low risk and reversible, so the policy auto-approves it', async () => {
    // Prepare
    const { deps, incidentId } = await setup(rootcause(hypothesis({ changeId: 'CR2077', category: 'config-change', evidenceIds: ['change:CR2077', 'log-template:inventory-service:t1'] })), [changeEvidence(poolChange)]);
    await seedAgentRecord(deps, incidentId, 'logs', { templates: [] }, [{ id: 'log-template:inventory-service:t1', kind: 'log', source: 'logs', summary: 'pool timeouts' }]);
    // Act
    const result = await planMitigation(deps)({ incidentId });
    // Assess
    expect(result).toMatchObject({ agent: 'plan', hasActions: true, autoApprove: true, risk: 'low' });
    const plan = await storedPlan(deps, incidentId);
    expect(plan.immediate).toHaveLength(1);
    expect(plan.immediate[0]).toMatchObject({ kind: 'revert-config', service: 'inventory-service', target: 'maximum-pool-size', risk: 'low', reversible: true, params: { param: 'maximum-pool-size', changeId: 'CR2077', from: '10', to: '20' }, evidenceIds: ['change:CR2077', 'log-template:inventory-service:t1'] });
    expect(plan.longTerm.length).toBeGreaterThan(0);
  });

  it('rolls back (medium risk) a config change whose undo needs a rolling restart', async () => {
    const restartChange: ChangeRequest = { ...poolChange, rollbackPlan: 'Revert maximum-pool-size to 20 via config map + rolling restart' };
    const { deps, incidentId } = await setup(rootcause(hypothesis({ changeId: 'CR2077', category: 'connection-pool' })), [changeEvidence(restartChange)]);
    const result = await planMitigation(deps)({ incidentId });
    expect(result).toMatchObject({ hasActions: true, autoApprove: false, risk: 'medium' });
    expect((await storedPlan(deps, incidentId)).immediate).toEqual([expect.objectContaining({ kind: 'rollback-change', target: 'CR2077', params: expect.objectContaining({ rollbackPlan: restartChange.rollbackPlan }) })]);
  });

  it('turns a blamed feature flag back with both values, so its undo knows what to set the flag to again', async () => {
    const flagChange: ChangeRequest = { ...poolChange, id: 'FF-1207', type: 'feature-flag', title: 'Enable new wallet path', configChange: { param: 'wallet.new-path', old: 'false', new: 'true' } };
    const { deps, incidentId } = await setup(rootcause(hypothesis({ changeId: 'FF-1207', category: 'config-change' })), [changeEvidence(flagChange)]);
    await planMitigation(deps)({ incidentId });
    const [toggle] = (await storedPlan(deps, incidentId)).immediate;
    expect(toggle).toMatchObject({ kind: 'toggle-feature-flag', target: 'FF-1207', params: { flag: 'wallet.new-path', changeId: 'FF-1207', from: 'true', to: 'false' } });
    expect(inverseOf(toggle)?.params).toMatchObject({ flag: 'wallet.new-path', from: 'false', to: 'true', direction: 'undo' });
  });

  it('asks a human when the policy flag forbids auto-approval', async () => {
    const { deps, incidentId } = await setup(rootcause(hypothesis({ changeId: 'CR2077', category: 'config-change' })), [changeEvidence(poolChange)]);
    const result = await planMitigation(deps, { autoApproveLowRisk: false })({ incidentId });
    expect(result).toMatchObject({ hasActions: true, autoApprove: false, risk: 'low' });
  });

  it('rolls back a blamed deploy, which is medium risk and needs approval', async () => {
    const { deps, incidentId } = await setup(rootcause(hypothesis({ changeId: 'CR3001', service: 'checkout-service', category: 'bad-deploy' })), [changeEvidence(deployChange)]);
    const result = await planMitigation(deps)({ incidentId });
    expect(result).toMatchObject({ hasActions: true, autoApprove: false, risk: 'medium' });
    const plan = await storedPlan(deps, incidentId);
    expect(plan.immediate[0]).toMatchObject({ kind: 'rollback-change', target: 'CR3001', params: { fromVersion: '2.4.0', toVersion: '2.3.9' } });
  });

  it("carries the blamed change's AWS resource and versions into the action (and its inverse), so a typed rollback acts without reading the history again", async () => {
    const resource = { type: 'AWS::Lambda::Alias', arn: 'arn:aws:lambda:eu-west-1:111122223333:function:checkout:live', identifiers: { functionName: 'checkout', alias: 'live' } };
    const aliasChange: ChangeRequest = { ...deployChange, version: { from: '41', to: '42' }, resource };
    const { deps, incidentId } = await setup(rootcause(hypothesis({ changeId: 'CR3001', service: 'checkout-service', category: 'bad-deploy' })), [changeEvidence(aliasChange)]);
    await planMitigation(deps)({ incidentId });
    const [rollback] = (await storedPlan(deps, incidentId)).immediate;
    expect(rollback).toMatchObject({ kind: 'rollback-change', target: 'CR3001', params: { fromVersion: '42', toVersion: '41', resource } });
    expect(inverseOf(rollback!)?.params).toMatchObject({ fromVersion: '41', toVersion: '42', resource, direction: 'undo' });
    const parameter = { type: 'AWS::SSM::Parameter', arn: 'arn:aws:ssm:eu-west-1:111122223333:parameter/inventory/maximum-pool-size' };
    const ssmChange: ChangeRequest = { ...poolChange, resource: parameter };
    const second = await setup(rootcause(hypothesis({ changeId: 'CR2077', category: 'config-change' })), [changeEvidence(ssmChange)]);
    await planMitigation(second.deps)({ incidentId: second.incidentId });
    expect((await storedPlan(second.deps, second.incidentId)).immediate[0]).toMatchObject({ kind: 'revert-config', params: { from: '10', to: '20', resource: parameter } });
  });

  it('plans no typed rollback of an AWS resource whose previous value is hidden, and says why', async () => {
    const hidden: ChangeRequest = { ...poolChange, configChange: { param: '/inventory/maximum-pool-size', old: 'HIDDEN_DUE_TO_SECURITY_REASONS', new: '10' }, resource: { type: 'AWS::SSM::Parameter', arn: 'arn:aws:ssm:eu-west-1:111122223333:parameter/inventory/maximum-pool-size' } };
    const { deps, incidentId } = await setup(rootcause(hypothesis({ changeId: 'CR2077', category: 'config-change' })), [changeEvidence(hidden)]);
    const result = await planMitigation(deps)({ incidentId });
    expect(result.hasActions).toBe(false);
    expect((await storedPlan(deps, incidentId)).rationale).toContain('revert-config not applicable, precondition not met: the AWS resource and values the revert acts on');
  });

  it('does nothing when the root cause abstained: humans investigate', async () => {
    const { deps, incidentId } = await setup(rootcause(hypothesis({ confidence: 0.2 }), true));
    const result = await planMitigation(deps)({ incidentId });
    expect(result).toMatchObject({ hasActions: false, autoApprove: false });
    const plan = await storedPlan(deps, incidentId);
    expect(plan.immediate).toEqual([]);
    expect(plan.rationale).toMatch(/Humans investigate/);
    expect(plan.longTerm).toEqual(expect.arrayContaining([expect.stringMatching(/error traces/)]));
  });

  it('scales out for a capacity fault by the observed traffic ratio', async () => {
    const throughput = { service: 'inventory-service', metric: 'throughput_rps', baseline: 400, current: 1300, score: 9, direction: 'up' as const, evidenceIds: [] };
    const { deps, incidentId } = await setup(rootcause(hypothesis({ category: 'capacity' })), [], { impact: impact([throughput]) });
    const result = await planMitigation(deps)({ incidentId });
    expect(result).toMatchObject({ hasActions: true, autoApprove: true });
    expect((await storedPlan(deps, incidentId)).immediate[0]).toMatchObject({ kind: 'scale-service', params: { factor: 4 } });
  });

  it('fails over a failing external dependency (high risk) and restarts a leaking service (not reversible)', async () => {
    const topo: Evidence = { id: 'topology:checkout-service', kind: 'topology', source: 'telemetry', summary: '', data: { name: 'checkout-service', tier: 'backend', calls: ['payment-gateway'] } };
    const dep = await setup(rootcause(hypothesis({ category: 'dependency', service: 'payment-gateway' })), [topo]);
    expect(await planMitigation(dep.deps)({ incidentId: dep.incidentId })).toMatchObject({ risk: 'high', autoApprove: false });
    expect((await storedPlan(dep.deps, dep.incidentId)).immediate[0]).toMatchObject({ kind: 'failover', service: 'checkout-service', target: 'payment-gateway' });

    const leak = await setup(rootcause(hypothesis({ category: 'memory-leak' })));
    expect(await planMitigation(leak.deps)({ incidentId: leak.incidentId })).toMatchObject({ risk: 'medium', autoApprove: false });
    expect((await storedPlan(leak.deps, leak.incidentId)).immediate[0]).toMatchObject({ kind: 'restart-service', reversible: false });
  });

  it('acts on the mechanisms no change explains: restart for descriptors and a full disk, scale for a quota and a backlog', async () => {
    const expected = [
      ['file-descriptors', 'restart-service', /leaked file descriptors/],
      ['disk-full', 'restart-service', /free the disk space/],
      ['throttling', 'scale-service', /raise the quota/],
      ['queue-backlog', 'scale-service', /drain the queue/],
    ] as const;
    for (const [category, kind, why] of expected) {
      const { deps, incidentId } = await setup(rootcause(hypothesis({ category })));
      await planMitigation(deps)({ incidentId });
      const action = (await storedPlan(deps, incidentId)).immediate[0];
      expect(action, category).toMatchObject({ kind, service: 'inventory-service' });
      expect(action.description, category).toMatch(why);
    }
  });

  it('restarts the failing callers of a rotated credential instead of rolling the rotation back', async () => {
    const rotation: ChangeRequest = { id: 'CHG-9', service: 'orders-db', type: 'infrastructure', title: 'Rotate secret prod/orders/app', description: 'scheduled rotation', deployedAt: '2026-03-14T12:04:00.000Z', state: 'implemented', author: 'secrets-manager-rotation' };
    const topo = (name: string, calls: string[]): Evidence => ({ id: `topology:${name}`, kind: 'topology', source: 'telemetry', summary: '', data: { name, tier: 'backend', calls } });
    const anomaly = (service: string) => ({ service, metric: 'error_rate_pct', current: 30, baseline: 0.2, score: 0.99, direction: 'up' as const, since: '2026-03-14T12:05:00.000Z', evidenceIds: [] });
    const { deps, incidentId } = await setup(
      rootcause(hypothesis({ service: 'orders-db', changeId: 'CHG-9', category: 'credential' })),
      [changeEvidence(rotation), topo('orders-api', ['orders-db']), topo('billing-api', ['orders-db'])],
      { impact: impact([anomaly('orders-api')]) },
    );
    await planMitigation(deps)({ incidentId });
    const plan = await storedPlan(deps, incidentId);
    expect(plan.immediate.map((a) => `${a.kind} ${a.service}`)).toEqual(['restart-service orders-api']);
  });

  it('shifts traffic away from an impaired availability zone (a reversible, high-risk failover), and plans nothing without the zone', async () => {
    const { deps, incidentId } = await setup(rootcause(hypothesis({ category: 'zone', culprit: { kind: 'zone', service: 'inventory-service', zone: 'eu-west-1b' } })));
    expect(await planMitigation(deps)({ incidentId })).toMatchObject({ risk: 'high', autoApprove: false });
    expect((await storedPlan(deps, incidentId)).immediate[0]).toMatchObject({ kind: 'failover', service: 'inventory-service', target: 'eu-west-1b', reversible: true, params: { zone: 'eu-west-1b' } });
    const unnamed = await setup(rootcause(hypothesis({ category: 'zone', culprit: { kind: 'zone', service: 'inventory-service' } })));
    await planMitigation(unnamed.deps)({ incidentId: unnamed.incidentId });
    expect((await storedPlan(unnamed.deps, unnamed.incidentId)).immediate.some((a) => a.kind === 'failover')).toBe(false);
  });

  it('relieves what a scheduled job loads rather than scaling the job', async () => {
    const topo: Evidence = { id: 'topology:nightly-export', kind: 'topology', source: 'telemetry', summary: '', data: { name: 'nightly-export', tier: 'backend', calls: ['ledger-api', 'audit-api'] } };
    const anomaly = { service: 'ledger-api', metric: 'latency_p99_ms', current: 900, baseline: 90, score: 0.99, direction: 'up' as const, since: '2026-03-14T12:05:00.000Z', evidenceIds: [] };
    const { deps, incidentId } = await setup(rootcause(hypothesis({ service: 'nightly-export', category: 'capacity', culprit: { kind: 'job', service: 'nightly-export' } })), [topo], { impact: impact([anomaly]) });
    await planMitigation(deps)({ incidentId });
    const plan = await storedPlan(deps, incidentId);
    expect(plan.immediate.map((a) => `${a.kind} ${a.service}`)).toEqual(['scale-service ledger-api']);
  });

  it('cites the similar incident when its runbook is the same action', async () => {
    const similar: SimilarOutput = {
      incidents: [{ id: 'INC-1843', title: 'inventory-service DB pool starvation', score: 0.97, rootCause: 'HikariCP pool too small', resolution: 'Reverted the pool size config', evidenceIds: ['incident:INC-1843'] }],
      topMatch: 'INC-1843',
      suggestedRunbook: 'Revert the HikariCP pool size change',
      reasoning: '',
      evidenceIds: ['incident:INC-1843'],
    };
    const { deps, incidentId } = await setup(rootcause(hypothesis({ changeId: 'CR2077', category: 'config-change', summary: 'CR2077 Tune HikariCP pool settings' })), [changeEvidence(poolChange)], {
      similar,
      similarEvidence: [{ id: 'incident:INC-1843', kind: 'incident', source: 'changes', summary: 'INC-1843' }],
    });
    await planMitigation(deps)({ incidentId });
    const plan = await storedPlan(deps, incidentId);
    expect(plan.immediate).toHaveLength(1);
    expect(plan.immediate[0].evidenceIds).toContain('incident:INC-1843');
    expect(plan.rationale).toMatch(/INC-1843 was resolved the same way/);
  });

  it('fails with EarlierAgentMissing without a root cause record', async () => {
    const deps = fakeDeps();
    const incidentId = await seedIncident(deps);
    await expect(planMitigation(deps)({ incidentId })).rejects.toBeInstanceOf(EarlierAgentMissing);
  });
});

describe('scaleFactor', () => {
  it('rounds the traffic ratio up and clamps it to [2, 4]', () => {
    expect(scaleFactor(1.2)).toBe(2);
    expect(scaleFactor(2.5)).toBe(3);
    expect(scaleFactor(10)).toBe(4);
    expect(scaleFactor(undefined)).toBe(2);
  });
});
