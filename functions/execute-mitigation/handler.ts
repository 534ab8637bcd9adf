import { workflowHandler } from '../core/handler.ts';
import { defaultDeps } from '../core/default-deps.ts';
import { AgentTask } from '../core/model.ts';
import { executeMitigation } from '../core/agents/execute.ts';

export const handler = workflowHandler('execute-mitigation', AgentTask, executeMitigation(defaultDeps()));
