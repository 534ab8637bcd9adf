import { workflowHandler } from '../core/handler.ts';
import { defaultDeps } from '../core/default-deps.ts';
import { AgentTask } from '../core/model.ts';
import { analyzeLogs } from '../core/agents/logs.ts';

export const handler = workflowHandler('analyze-logs', AgentTask, analyzeLogs(defaultDeps()));
