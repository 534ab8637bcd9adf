import { workflowHandler } from '../core/handler.ts';
import { defaultDeps } from '../core/default-deps.ts';
import { AgentTask } from '../core/model.ts';
import { triage } from '../core/agents/triage.ts';

export const handler = workflowHandler('triage', AgentTask, triage(defaultDeps()));
