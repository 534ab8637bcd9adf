/**
 * The LLM reasoner: any OpenAI-compatible chat-completions endpoint through the `openai` SDK.
 *
 * One `reason` call: build a strict JSON schema from the agent's zod schema (strict-schema.ts) → send the
 * instructions, the evidence and the offline analysis (prompt.ts) → parse the JSON answer, validate it with the
 * zod schema and reject citations of evidence ids that were not given → on a bad answer, ONE corrective retry
 * that tells the model exactly what was wrong → otherwise fall back to the offline result
 * (`reasoner: "offline-fallback"`) with a note saying why. A call that fails after the SDK's own retries
 * (429 and 5xx are retried with backoff, honouring Retry-After), times out, or would exceed the incident's token
 * budget falls back the same way: an agent never fails because the model did.
 *
 * The `openai` SDK is imported on the first request, not at cold start, and a deployment without an LLM leaves it
 * out of every bundle (the stack defines `process.env.AUTOPILOT_OMIT_LLM` as "true", so esbuild drops the import).
 */
import type OpenAI from 'openai';
import * as z from 'zod';
import { ConfigError } from '../config.ts';
import { citedEvidenceIds } from '../model.ts';
import { InMemoryTokenBudget, type TokenBudget } from './budget.ts';
import { type PromptLimits, buildMessages, correctionMessage, estimateTokens } from './prompt.ts';
import { type ReasonRequest, type ReasonResult, type Reasoner, offlineReasoner } from './reasoner.ts';
import { type StrictOutputSchema, toStrictOutputSchema } from './strict-schema.ts';

type Message = OpenAI.Chat.Completions.ChatCompletionMessageParam;
type Completion = OpenAI.Chat.Completions.ChatCompletion;

export interface LlmReasonerOptions extends PromptLimits {
  /** The endpoint, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`. */
  readonly baseURL: string;
  /** A key, or a function the SDK calls per request attempt (e.g. a cached Secrets Manager read). */
  readonly apiKey: string | (() => Promise<string>);
  readonly model: string;
  /** Per request attempt. @default 60_000 */
  readonly timeoutMs?: number;
  /** Retries of a failed attempt (429, 408, 409, 5xx, connection errors, timeouts) by the SDK, with backoff. @default 2 */
  readonly maxRetries?: number;
  /** Per-incident token budget; none when unset. */
  readonly tokenBudget?: TokenBudget;
  /** Sent only when set: some models accept only their default temperature. */
  readonly temperature?: number;
  /** A ready client (tests, custom fetch); `baseURL`, `apiKey`, `timeoutMs` and `maxRetries` are then unused. */
  readonly client?: OpenAI;
}

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_RETRIES = 2;

type Verdict<T> = { readonly ok: true; readonly output: T } | { readonly ok: false; readonly problem: string };

const quoteAll = (ids: readonly string[]): string => ids.map((id) => JSON.stringify(id)).join(', ');

const schemaProblem = (error: z.ZodError): string => {
  const issues = error.issues.slice(0, 8).map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
  const more = error.issues.length > 8 ? `; and ${error.issues.length - 8} more` : '';
  return `the reply does not match the schema (${issues.join('; ')}${more})`;
};

/** Parses and validates one answer. */
const judge = <T>(completion: Completion, request: ReasonRequest<T>, strict: StrictOutputSchema, citable: ReadonlySet<string>): Verdict<T> => {
  const choice = completion.choices[0];
  const message = choice?.message;
  if (message?.refusal) return { ok: false, problem: `the model refused: ${message.refusal}` };
  const content = message?.content;
  if (!content || content.trim() === '') return { ok: false, problem: 'the reply was empty' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch (error) {
    const cut = choice.finish_reason === 'length' ? ', it was cut off at the output token limit' : '';
    return { ok: false, problem: `the reply is not valid JSON (${(error as Error).message}${cut})` };
  }
  const result = request.schema.safeParse(strict.decode(parsed));
  if (!result.success) return { ok: false, problem: schemaProblem(result.error) };
  const unknown = [...citedEvidenceIds(result.data)].filter((id) => !citable.has(id));
  if (unknown.length > 0) return { ok: false, problem: `the reply cites evidence ids that are not in the evidence list: ${quoteAll(unknown)}` };
  return { ok: true, output: result.data };
};

type OpenAiSdk = typeof import('openai');

/** This bundle was built without the openai SDK (a deployment without llmBaseUrl/llmModel). */
export class LlmNotBundled extends ConfigError {
  override name = 'LlmNotBundled';
  constructor() {
    super('invalid configuration: LLM_BASE_URL and LLM_MODEL are set, but this bundle was built without the openai SDK (AUTOPILOT_OMIT_LLM); deploy with the stack settings llmBaseUrl and llmModel');
  }
}

let sdk: Promise<OpenAiSdk> | undefined;
/** The openai SDK, imported once, on first use; in a bundle built without it, a rejection with LlmNotBundled. */
const openAiSdk = (): Promise<OpenAiSdk> => {
  sdk ??= process.env.AUTOPILOT_OMIT_LLM === 'true' ? Promise.reject(new LlmNotBundled()) : import('openai');
  return sdk;
};

const describeCallError = (error: unknown, timeoutMs: number | undefined, api: OpenAiSdk | undefined): string => {
  if (api && error instanceof api.APIConnectionTimeoutError) return `the request timed out${timeoutMs ? ` after ${timeoutMs} ms` : ''}`;
  if (api && error instanceof api.APIConnectionError) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `could not reach the endpoint (${error.message}${cause})`;
  }
  if (api && error instanceof api.APIError) return `the endpoint answered ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
};

/** Creates the LLM reasoner. */
export const createLlmReasoner = (options: LlmReasonerOptions): Reasoner => {
  const { model, tokenBudget } = options;
  const timeoutMs = options.client ? undefined : (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  let built: Promise<OpenAI> | undefined;
  const client = (): Promise<OpenAI> => {
    built ??= options.client
      ? Promise.resolve(options.client)
      : openAiSdk().then((api) => new api.default({ baseURL: options.baseURL, apiKey: options.apiKey, timeout: timeoutMs, maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES }));
    built.catch(() => (built = undefined)); // a failed import is tried again on the next request
    return built;
  };

  const reason = async <T>(request: ReasonRequest<T>): Promise<ReasonResult<T>> => {
    const used = { input: 0, output: 0 };
    let sawUsage = false;
    const notes: string[] = [];
    const fallback = (why: string): ReasonResult<T> => ({
      output: request.schema.parse(request.offline),
      reasoner: 'offline-fallback',
      note: [`${why}; used the offline analysis`, ...notes].join('; '),
      ...(sawUsage ? { tokens: { ...used } } : {}),
    });

    let strict: StrictOutputSchema;
    try {
      strict = toStrictOutputSchema(request.schema);
    } catch (error) {
      return fallback(`the ${request.agent} output schema cannot be sent to the model: ${(error as Error).message}`);
    }

    // The offline analysis' own citations are known-good ids (validated against this run or earlier records).
    const evidenceIds = new Set(request.evidence.map((e) => e.id));
    const citable = new Set([...evidenceIds, ...(request.knownEvidenceIds ?? []), ...citedEvidenceIds(request.offline)]);
    const otherCitableIds = [...citable].filter((id) => !evidenceIds.has(id));
    // The offline analysis is shown in the answer's own (strict) shape, so the model can keep what is right as is.
    const messages: Message[] = buildMessages({ agent: request.agent, instructions: request.instructions, evidence: request.evidence, offline: strict.encode(request.offline), otherCitableIds }, options);
    const budgetKey = tokenBudget ? request.incidentId : undefined;

    let firstProblem: string | undefined;
    for (let attempt = 1; attempt <= 2; attempt++) {
      if (budgetKey !== undefined && tokenBudget) {
        let left: number;
        try {
          left = await tokenBudget.remaining(budgetKey);
        } catch (error) {
          return fallback(`the token budget could not be read (${(error as Error).message})`);
        }
        const needed = estimateTokens(messages);
        if (left < needed) return fallback(`the token budget of incident ${budgetKey} is exhausted (${left} tokens left, about ${needed} needed for the prompt)`);
      }

      let completion: Completion;
      try {
        completion = await (await client()).chat.completions.create({
          model,
          messages,
          response_format: { type: 'json_schema', json_schema: { name: `${request.agent}_output`, description: `The output of the ${request.agent} agent`, schema: strict.schema, strict: true } },
          ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
        });
      } catch (error) {
        return fallback(`the LLM call failed: ${describeCallError(error, timeoutMs, await openAiSdk().catch(() => undefined))}`);
      }

      const spent = completion.usage ? completion.usage.prompt_tokens + completion.usage.completion_tokens : undefined;
      if (completion.usage) {
        sawUsage = true;
        used.input += completion.usage.prompt_tokens;
        used.output += completion.usage.completion_tokens;
      }
      if (budgetKey !== undefined && tokenBudget) {
        // An endpoint that reports no usage is charged an estimate, so the budget still bounds it.
        const charge = spent ?? estimateTokens(messages) + Math.ceil((completion.choices[0]?.message?.content?.length ?? 0) / 4);
        await tokenBudget.consume(budgetKey, charge).catch((error: unknown) => {
          notes.push(`token usage not recorded in the budget (${(error as Error).message})`);
        });
      }

      const verdict = judge(completion, request, strict, citable);
      if (verdict.ok) {
        const retried = firstProblem ? [`accepted after one corrective retry (first answer: ${firstProblem})`] : [];
        const note = [...retried, ...notes].join('; ');
        return { output: verdict.output, reasoner: `llm:${model}`, ...(note ? { note } : {}), ...(sawUsage ? { tokens: { ...used } } : {}) };
      }
      firstProblem ??= verdict.problem;
      if (attempt === 2) return fallback(`the LLM answer was rejected twice (last: ${verdict.problem})`);
      messages.push({ role: 'assistant', content: completion.choices[0]?.message?.content ?? '' }, correctionMessage(verdict.problem));
    }
    // Unreachable: the loop returns on every path of its second attempt.
    return fallback('the LLM produced no answer');
  };

  return { reason };
};

// ───────────────────────────── configuration ─────────────────────────────

const optionalInt = (min: number, max: number) => z.coerce.number().int().min(min).max(max).optional();

/** The LLM settings, read from the environment. Unset `LLM_BASE_URL` and `LLM_MODEL` → offline reasoning. */
export const LlmEnv = z.object({
  LLM_BASE_URL: z.url().optional(),
  LLM_MODEL: z.string().min(1).optional(),
  /** The key itself (laptop). */
  LLM_API_KEY: z.string().min(1).optional(),
  /** Secrets Manager id of the key (AWS); read through `getSecret`. */
  LLM_API_KEY_SECRET_ID: z.string().min(1).optional(),
  LLM_TIMEOUT_MS: optionalInt(1, 15 * 60_000),
  LLM_MAX_RETRIES: optionalInt(0, 10),
  /** Tokens (input + output) one incident may spend across its agents; unlimited when unset. */
  LLM_TOKEN_BUDGET: optionalInt(0, 100_000_000),
});
export type LlmEnv = z.infer<typeof LlmEnv>;

/**
 * The reasoner the environment asks for: the offline reasoner unless both `LLM_BASE_URL` and `LLM_MODEL` are
 * set. Setting only one of them is a configuration error (it is almost certainly a typo), as is an LLM without
 * a key: `LLM_API_KEY`, or `LLM_API_KEY_SECRET_ID` together with `getSecret`. `getSecret` is called per request
 * attempt, so it should cache (SecretsManagerSecret does, with a TTL that picks up rotations).
 */
export const reasonerFromEnv = (
  env: Record<string, string | undefined> = process.env,
  getSecret?: (secretId: string) => Promise<string>,
  /** Where LLM_TOKEN_BUDGET is counted; in process memory unless given (on AWS: the incident's DynamoDB item). */
  budgetFor: (perIncident: number) => TokenBudget = (perIncident) => new InMemoryTokenBudget(perIncident),
): Reasoner => {
  const blankless = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('LLM_') && v !== undefined && v !== ''));
  const parsed = LlmEnv.safeParse(blankless);
  if (!parsed.success) {
    throw new ConfigError(`invalid LLM configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const cfg = parsed.data;
  if (!cfg.LLM_BASE_URL && !cfg.LLM_MODEL) return offlineReasoner;
  if (!cfg.LLM_BASE_URL || !cfg.LLM_MODEL) {
    throw new ConfigError(`${cfg.LLM_BASE_URL ? 'LLM_MODEL' : 'LLM_BASE_URL'} is required when ${cfg.LLM_BASE_URL ? 'LLM_BASE_URL' : 'LLM_MODEL'} is set`);
  }
  let apiKey: string | (() => Promise<string>);
  if (cfg.LLM_API_KEY) apiKey = cfg.LLM_API_KEY;
  else if (cfg.LLM_API_KEY_SECRET_ID && getSecret) {
    const secretId = cfg.LLM_API_KEY_SECRET_ID;
    apiKey = () => getSecret(secretId);
  } else if (cfg.LLM_API_KEY_SECRET_ID) {
    throw new ConfigError('LLM_API_KEY_SECRET_ID is set but no secret reader was given to reasonerFromEnv');
  } else {
    throw new ConfigError('LLM_API_KEY or LLM_API_KEY_SECRET_ID is required when LLM_BASE_URL is set');
  }
  // At cold start, not on the first incident: a bundle built without the SDK cannot serve this configuration.
  if (process.env.AUTOPILOT_OMIT_LLM === 'true') throw new LlmNotBundled();
  return createLlmReasoner({
    baseURL: cfg.LLM_BASE_URL,
    model: cfg.LLM_MODEL,
    apiKey,
    timeoutMs: cfg.LLM_TIMEOUT_MS,
    maxRetries: cfg.LLM_MAX_RETRIES,
    tokenBudget: cfg.LLM_TOKEN_BUDGET !== undefined ? budgetFor(cfg.LLM_TOKEN_BUDGET) : undefined,
  });
};
