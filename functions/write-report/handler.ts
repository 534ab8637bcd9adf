import { workflowHandler } from '../core/handler.ts';
import { defaultRuntime } from '../core/default-deps.ts';
import { AgentTask } from '../core/model.ts';
import { writeReport } from '../core/agents/report.ts';

const { deps, config } = defaultRuntime();
export const handler = workflowHandler('write-report', AgentTask, writeReport(deps, { reportDir: config.REPORT_DIR }));
