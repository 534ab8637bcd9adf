import { workflowHandler } from '../core/handler.ts';
import { defaultDeps } from '../core/default-deps.ts';
import { FailureTask, recordFailure } from '../core/agents/failure.ts';

export const handler = workflowHandler('record-failure', FailureTask, recordFailure(defaultDeps()));
