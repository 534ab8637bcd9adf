import { workflowHandler } from '../core/handler.ts';
import { defaultRuntime } from '../core/default-deps.ts';
import { ExecuteTask, executeMitigation } from '../core/agents/execute.ts';

// The same policy as plan-mitigation: execute re-applies it to the actions it is about to run.
const { deps, config } = defaultRuntime();
export const handler = workflowHandler('execute-mitigation', ExecuteTask, executeMitigation(deps, { autoApproveLowRisk: config.AUTO_APPROVE_LOW_RISK }));
