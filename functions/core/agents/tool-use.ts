/**
 * Which tool ports, and which of their methods, each workflow function calls: the one declaration of it. The stack
 * grants a function the IAM of an adapter row only for the methods listed here (lib/tool-adapters.ts), so the triage
 * function is not granted X-Ray nor the impact function CloudTrail. A call not listed here is refused by IAM on AWS
 * (and recorded as a gap), so test/infra/tool-use.test.ts reads each function's agent and fails when it calls a port
 * method this table does not give it, or when the table gives one it does not call.
 *
 * Keyed by the registry's function name (functions/registry.ts; POWERTOOLS_SERVICE_NAME at run time).
 */
import type { Port, PortMethod } from '../tools/adapters.ts';

/** The methods a function calls, by port; a port it never calls is absent. */
export type ToolUse = { readonly [P in Port]?: readonly PortMethod<P>[] };

export const TOOL_USE = {
  // Topology for the blast radius, metrics against the baseline, traces of the failing service (impact.ts).
  'analyze-impact': { telemetry: ['getTopology', 'queryMetrics', 'getTraces'] },
  // Neighbours from the topology, then the past incidents (similar.ts).
  'find-similar': { telemetry: ['getTopology'], changes: ['searchIncidents'] },
  // Neighbours from the topology, then the log search (logs.ts).
  'analyze-logs': { telemetry: ['getTopology'], logs: ['search'] },
  // On-call and owners of the affected services (triage.ts).
  triage: { oncall: ['getOnCall', 'getOwnership'] },
  // Topology, recent changes, error traces and metrics of the suspects, logs of origins beyond the logs agent's reach (rootcause.ts).
  'find-root-cause': { telemetry: ['getTopology', 'getTraces', 'queryMetrics'], changes: ['listChanges'], logs: ['search'] },
  // Plans from the earlier agents' records only (plan.ts).
  'plan-mitigation': {},
  'request-approval': {},
  // Re-reads the change and the topology right before acting, then acts (execute.ts).
  'execute-mitigation': { telemetry: ['getTopology'], changes: ['listChanges'], actions: ['execute'] },
  // Metrics now against the healthy window (verify.ts).
  'verify-recovery': { telemetry: ['queryMetrics'] },
  // Whom to page (escalate.ts).
  escalate: { oncall: ['getOnCall'] },
  // Adds the resolved incident to the history (report.ts).
  'write-report': { changes: ['recordIncident'] },
  'record-failure': {},
} as const satisfies Readonly<Record<string, ToolUse>>;

export type ToolUsingFunction = keyof typeof TOOL_USE;

/** Thrown when a workflow function has no entry in TOOL_USE (a programming error: add its row). */
export class ToolUseUndeclared extends Error {
  override name = 'ToolUseUndeclared';
}

/** The tool use of a workflow function, by its registry name. */
export const toolUseOf = (functionName: string): ToolUse => {
  if (!Object.hasOwn(TOOL_USE, functionName)) throw new ToolUseUndeclared(`function ${functionName} declares no tool use: add it to TOOL_USE (functions/core/agents/tool-use.ts)`);
  return TOOL_USE[functionName as ToolUsingFunction];
};

/**
 * The anomaly detector's tool use (functions/detect-anomalies, a scheduled function, not an agent): the topology of a
 * target whose services are not listed, and the metrics it scores. The stack grants its tool IAM from this.
 */
export const DETECTOR_TOOL_USE = { telemetry: ['getTopology', 'queryMetrics'] } as const satisfies ToolUse;
