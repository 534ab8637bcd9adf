/**
 * The real dependencies, built once per cold start from the configuration. The same code runs on AWS and on
 * the laptop twin: only the environment differs (AWS_ENDPOINT_URL_* point the SDK at the twin).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Config, loadConfig } from './config.ts';
import type { AgentDeps } from './deps.ts';
import { EventBridgePublisher } from './events.ts';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoTokenBudget } from './reasoning/budget.ts';
import { reasonerFromEnv } from './reasoning/llm.ts';
import { DynamoIncidentStore } from './store/dynamo-store.ts';
import { type ActionJournal, DynamoActionJournal } from './store/journal.ts';
import { secretsManagerGetter } from './secrets.ts';
import { type ToolSources, toolsRuntime } from './tools/runtime.ts';

/** The agents' dependencies plus the action journal (the executor claims and completes steps in it; verification reads it). */
export interface WorkflowDeps extends AgentDeps {
  readonly journal: ActionJournal;
}

export interface Runtime {
  readonly config: Config;
  readonly dynamo: DynamoDBDocumentClient;
  readonly deps: WorkflowDeps;
  /** Reads a Secrets Manager secret by id, cached per id (one client for the whole function). */
  readonly getSecret: (secretId: string) => Promise<string>;
  /** Which adapter serves each tool port ('none': the port is a reported gap). */
  readonly toolSources: ToolSources;
}

let runtime: Runtime | undefined;

/** Builds (once) the configuration, SDK clients and agent dependencies. */
export const defaultRuntime = (): Runtime => {
  if (runtime) return runtime;
  const config = loadConfig();
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true } });
  const store = new DynamoIncidentStore(dynamo, config.TABLE_NAME, { dedupTtlHours: config.DEDUP_TTL_HOURS });
  // Secrets (vendor tokens, the LLM key) are read lazily and cached: a function that needs none never calls Secrets Manager.
  const getSecret = secretsManagerGetter(new SecretsManagerClient({}));
  // Each tool port through the adapter table (functions/core/tools/adapters.ts): the adapter its variables configure,
  // else the one the deployment chose (TOOLS_DEFAULT=simulated on the twin and demo deployments), else a reported gap.
  const { tools, sources: toolSources } = toolsRuntime(process.env, { getSecret, dynamo: () => dynamo, tableName: config.TABLE_NAME });
  // Once per cold start: which adapter serves each port, so "why does this incident have a gap?" is one log search.
  new Logger().info('tool adapters', { toolSources, unconfigured: Object.entries(toolSources).filter(([, source]) => source === 'none').map(([port]) => port) });
  // The offline reasoner unless LLM_BASE_URL and LLM_MODEL are set.
  const reasoner = reasonerFromEnv(process.env, getSecret, (perIncident) => new DynamoTokenBudget(dynamo, config.TABLE_NAME, perIncident));
  // Only request-approval and execute-mitigation publish: the EventBridge SDK loads on the first publish.
  const events = EventBridgePublisher.lazy(config.EVENT_BUS_NAME);
  // The journal of executed plan steps lives in the incident's partition of the same table (INCIDENT#<id> / ACTION#…).
  const journal = new DynamoActionJournal(dynamo, config.TABLE_NAME);
  runtime = { config, dynamo, getSecret, toolSources, deps: { store, tools, reasoner, events, journal, clock: () => new Date() } };
  return runtime;
};

export const defaultDeps = (): WorkflowDeps => defaultRuntime().deps;
