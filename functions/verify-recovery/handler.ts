import { workflowHandler } from '../core/handler.ts';
import { defaultDeps } from '../core/default-deps.ts';
import { VerifyTask, verifyRecovery } from '../core/agents/verify.ts';

export const handler = workflowHandler('verify-recovery', VerifyTask, verifyRecovery(defaultDeps()));
