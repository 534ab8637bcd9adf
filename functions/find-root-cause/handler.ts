import { workflowHandler } from '../core/handler.ts';
import { defaultDeps } from '../core/default-deps.ts';
import { AgentTask } from '../core/model.ts';
import { findRootCause } from '../core/agents/rootcause.ts';

export const handler = workflowHandler('find-root-cause', AgentTask, findRootCause(defaultDeps()));
