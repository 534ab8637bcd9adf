/**
 * The dependencies a core function takes as arguments. Handlers build the real ones once per cold start
 * (see `defaultDeps` in functions/core/default-deps.ts); unit tests pass fakes.
 */
import type { Reasoner } from './reasoning/reasoner.ts';
import type { IncidentStore } from './store/store.ts';
import type { Tools } from './tools/ports.ts';

/** detail-types this system publishes (source `incident-autopilot`); each has a JSON schema in events/schemas/. */
export type DetailType =
  | 'Incident Opened'
  | 'Approval Requested'
  | 'Mitigation Executed'
  | 'Incident Resolved'
  | 'Incident Escalated'
  | 'Incident Failed'
  | 'Resolution Recorded';

export interface EventPublisher {
  publish(detailType: DetailType, detail: Record<string, unknown>): Promise<void>;
}

export interface AgentDeps {
  readonly store: IncidentStore;
  readonly tools: Tools;
  readonly reasoner: Reasoner;
  readonly events: EventPublisher;
  readonly clock: () => Date;
}
