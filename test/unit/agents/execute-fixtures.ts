/**
 * The executor's test world, shared by execute.test.ts and execute-journal.test.ts: change CR2077 (the pool size
 * lowered from 20 to 10), the actions a plan may hold, and `setupExecution`, an incident with a stored plan and root
 * cause whose action port records what it was asked to run.
 */
import { ExecutionOutput, type MitigationAction, type PlanOutput } from '../../../functions/core/model.ts';
import { MemoryActionJournal } from '../../../functions/core/store/journal.ts';
import type { Actions, ChangeRequest, ServiceNode } from '../../../functions/core/tools/ports.ts';
import { FakeIncidentStore, RecordingPublisher, fakeDeps, seedAgentRecord, seedIncident } from './fakes.ts';

export const CR2077: ChangeRequest = {
  id: 'CR2077',
  service: 'inventory-service',
  type: 'config',
  title: 'Tune HikariCP pool settings',
  description: 'Lower maximum-pool-size from 20 to 10 per instance',
  deployedAt: '2026-03-14T11:52:00.000Z',
  state: 'implemented',
  configChange: { param: 'maximum-pool-size', old: '20', new: '10' },
  rollbackPlan: 'Revert maximum-pool-size to 20 via the config map (hot reload)',
};
export const TOPOLOGY: ServiceNode[] = [
  { name: 'inventory-service', tier: 'backend', calls: ['inventory-db'] },
  { name: 'inventory-db', tier: 'database', calls: [] },
];

export const revert: MitigationAction = {
  kind: 'revert-config',
  service: 'inventory-service',
  target: 'maximum-pool-size',
  params: { param: 'maximum-pool-size', changeId: 'CR2077', from: '10', to: '20' },
  description: 'Revert pool size',
  risk: 'low',
  reversible: true,
  evidenceIds: [],
};
export const scale: MitigationAction = { kind: 'scale-service', service: 'inventory-service', params: { factor: 2 }, description: 'Scale out', risk: 'low', reversible: true, evidenceIds: [] };
export const restart: MitigationAction = { kind: 'restart-service', service: 'inventory-service', params: { strategy: 'rolling' }, description: 'Rolling restart', risk: 'medium', reversible: false, evidenceIds: [] };
export const failover: MitigationAction = { kind: 'failover', service: 'checkout-service', target: 'payment-service', params: { dependency: 'payment-service' }, description: 'Fail over', risk: 'high', reversible: true, evidenceIds: [] };

export const planOf = (immediate: MitigationAction[], autoApprove: boolean): PlanOutput => ({ immediate, longTerm: [], risk: 'low', reversible: true, autoApprove, rationale: 'policy', evidenceIds: [] });

export interface ExecutionSetupOptions {
  readonly execute?: Actions['execute'];
  /** What the change history says now. @default [CR2077] implemented, or what `setChanges` set */
  readonly changes?: () => ChangeRequest[] | Promise<ChangeRequest[]>;
  /** Records the incident's approval as APPROVED by this approver. @default - no approval recorded */
  readonly approvedBy?: string;
}

export const setupExecution = async (p: PlanOutput, options: ExecutionSetupOptions = {}) => {
  const store = new FakeIncidentStore();
  const events = new RecordingPublisher();
  const journal = new MemoryActionJournal();
  const executed: MitigationAction[] = [];
  let changes: ChangeRequest[] = [CR2077];
  const deps = fakeDeps({
    store,
    events,
    journal,
    tools: {
      changes: { listChanges: async () => (options.changes ? options.changes() : changes) },
      telemetry: { getTopology: async () => TOPOLOGY },
      actions: {
        execute:
          options.execute ??
          (async ({ action }) => {
            executed.push(action);
            return { status: 'succeeded', detail: `${action.kind}${action.params.direction === 'undo' ? ' undone' : ''} done` };
          }),
      },
    },
  });
  const incidentId = await seedIncident(deps);
  await seedAgentRecord(deps, incidentId, 'plan', p);
  await seedAgentRecord(deps, incidentId, 'rootcause', {}, [{ id: 'change:CR2077', kind: 'change', source: 'changes', summary: 'CR2077', data: CR2077 }]);
  if (options.approvedBy) await store.updateIncident(incidentId, { approval: { status: 'APPROVED', approver: options.approvedBy } });
  const output = async () => ExecutionOutput.parse((await store.getAgentRecord(incidentId, 'execution'))?.output);
  return { deps, store, events, journal, executed, incidentId, output, setChanges: (c: ChangeRequest[]) => (changes = c) };
};
