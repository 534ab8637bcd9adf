import { workflowHandler } from '../core/handler.ts';
import { defaultDeps } from '../core/default-deps.ts';
import { AgentTask } from '../core/model.ts';
import { findSimilar } from '../core/agents/similar.ts';

export const handler = workflowHandler('find-similar', AgentTask, findSimilar(defaultDeps()));
