import { workflowHandler } from '../core/handler.ts';
import { defaultDeps } from '../core/default-deps.ts';
import { AgentTask } from '../core/model.ts';
import { analyzeImpact } from '../core/agents/impact.ts';

export const handler = workflowHandler('analyze-impact', AgentTask, analyzeImpact(defaultDeps()));
