import { workflowHandler } from '../core/handler.ts';
import { defaultRuntime } from '../core/default-deps.ts';
import { AgentTask } from '../core/model.ts';
import { planMitigation } from '../core/agents/plan.ts';

const { deps, config } = defaultRuntime();
export const handler = workflowHandler('plan-mitigation', AgentTask, planMitigation(deps, { autoApproveLowRisk: config.AUTO_APPROVE_LOW_RISK }));
