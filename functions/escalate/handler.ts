import { workflowHandler } from '../core/handler.ts';
import { defaultDeps } from '../core/default-deps.ts';
import { EscalateTask, escalate } from '../core/agents/escalate.ts';

export const handler = workflowHandler('escalate', EscalateTask, escalate(defaultDeps()));
