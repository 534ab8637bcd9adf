/**
 * The real dependencies, built once per cold start from the configuration. The same code runs on AWS and on
 * the laptop twin: only the environment differs (AWS_ENDPOINT_URL_* point the SDK at the twin).
 */
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
import { actionsFromEnv } from './tools/actions/select.ts';
import { simulatedTools } from './tools/simulated.ts';
import { secretsManagerGetter, toolsFromEnv } from './tools/vendors/select.ts';
import { DynamoWorldStore } from './world/world-store.ts';

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
  // Each tool port uses its vendor adapter when that vendor is configured, else the simulated world.
  const selected = toolsFromEnv(process.env, simulatedTools(new DynamoWorldStore(dynamo, config.TABLE_NAME)), { getSecret });
  // The actions port: SSM Automation or the signed webhook when configured, else the simulated world.
  const tools = { ...selected, actions: actionsFromEnv(process.env, selected.actions, { getSecret }) };
  // The offline reasoner unless LLM_BASE_URL and LLM_MODEL are set.
  const reasoner = reasonerFromEnv(process.env, getSecret, (perIncident) => new DynamoTokenBudget(dynamo, config.TABLE_NAME, perIncident));
  // Only request-approval and execute-mitigation publish: the EventBridge SDK loads on the first publish.
  const events = EventBridgePublisher.lazy(config.EVENT_BUS_NAME);
  // The journal of executed plan steps lives in the incident's partition of the same table (INCIDENT#<id> / ACTION#…).
  const journal = new DynamoActionJournal(dynamo, config.TABLE_NAME);
  runtime = { config, dynamo, getSecret, deps: { store, tools, reasoner, events, journal, clock: () => new Date() } };
  return runtime;
};

export const defaultDeps = (): WorkflowDeps => defaultRuntime().deps;
