/**
 * Loads statemachine/incident-response.asl.json, the single source of the workflow for AWS and the laptop
 * twin, and applies the settings both share. ARNs stay `${Placeholders}`: CDK fills them through
 * `definitionSubstitutions`, the twin through `substitute`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ASL_FILE } from '../functions/registry.ts';

export const APPROVAL_STATE = 'Request approval';
export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 3600;

export interface WorkflowSettings {
  /** How long a human has to decide before the approval times out and the incident escalates. @default 3600 */
  readonly approvalTimeoutSeconds?: number;
}

const aslPath = fileURLToPath(new URL(`../${ASL_FILE}`, import.meta.url));

interface TaskState {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
  Parameters?: { Payload?: Record<string, unknown> };
  Branches?: { States: Record<string, TaskState> }[];
}
export interface AslDefinition {
  StartAt: string;
  States: Record<string, TaskState>;
  [key: string]: unknown;
}

export const readWorkflowDefinition = (): AslDefinition => JSON.parse(readFileSync(aslPath, 'utf8')) as AslDefinition;

/** The definition with the shared settings applied; placeholders untouched. */
export const workflowDefinition = (settings: WorkflowSettings = {}): AslDefinition => {
  const definition = readWorkflowDefinition();
  const timeout = settings.approvalTimeoutSeconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS;
  if (!Number.isInteger(timeout) || timeout < 1) throw new Error(`approvalTimeoutSeconds must be a positive integer, got ${timeout}`);
  const approval = definition.States[APPROVAL_STATE];
  if (!approval?.Parameters?.Payload) throw new Error(`${ASL_FILE} has no "${APPROVAL_STATE}" task with a Payload`);
  approval.TimeoutSeconds = timeout;
  approval.Parameters.Payload.timeoutSeconds = timeout;
  return definition;
};

/** Every `${Key}` placeholder in a definition. */
export const placeholders = (definition: unknown): Set<string> =>
  new Set([...JSON.stringify(definition).matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));

/** Replaces every `${Key}`; throws naming any placeholder without a value. */
export const substitute = <T>(definition: T, values: Readonly<Record<string, string>>): T => {
  const missing = [...placeholders(definition)].filter((k) => values[k] === undefined);
  if (missing.length > 0) throw new Error(`no substitution for ${missing.map((k) => `\${${k}}`).join(', ')}`);
  return JSON.parse(JSON.stringify(definition).replace(/\$\{(\w+)\}/g, (_, k: string) => values[k])) as T;
};

/** Every state by name, including those inside Parallel branches (the one walk the stack, the twin and the CLI share). */
export const allStates = (definition: Pick<AslDefinition, 'States'>): Map<string, TaskState> => {
  const out = new Map<string, TaskState>();
  const visit = (states: Record<string, TaskState>) => {
    for (const [name, state] of Object.entries(states)) {
      out.set(name, state);
      for (const branch of state.Branches ?? []) visit(branch.States);
    }
  };
  visit(definition.States);
  return out;
};

/** Every Task state, including those inside Parallel branches, by name. */
export const taskStates = (definition: AslDefinition): Map<string, TaskState> => new Map([...allStates(definition)].filter(([, state]) => state.Type === 'Task'));
