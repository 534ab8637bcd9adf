import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../../functions/core/config.ts';
import { type Evidence, ImpactOutput } from '../../../functions/core/model.ts';
import { InMemoryTokenBudget } from '../../../functions/core/reasoning/budget.ts';
import { createLlmReasoner, reasonerFromEnv } from '../../../functions/core/reasoning/llm.ts';
import type { ReasonRequest } from '../../../functions/core/reasoning/reasoner.ts';
import { offlineReasoner } from '../../../functions/core/reasoning/reasoner.ts';
import { completion, type FakeOpenAi, type ScriptedReply, startFakeOpenAi } from './fake-openai.ts';

const MODEL = 'test-model-1';

const EVIDENCE: Evidence[] = [
  { id: 'metric:stock-service:latency_p99_ms', kind: 'metric', source: 'telemetry', summary: 'stock-service p99 latency 180 ms → 4000 ms from 12:04', data: { baseline: 180, current: 4000 } },
  { id: 'metric:stock-service:db_pool_active', kind: 'metric', source: 'telemetry', summary: 'stock-service HikariCP active connections 6 → 10 of 10', data: { baseline: 6, current: 10, max: 10 } },
  { id: 'change:CR2077', kind: 'change', source: 'changes', summary: 'CR2077 lowered stock-service maximumPoolSize 30 → 10 at 12:04' },
];

/** What the offline analysis produced: the start point the model must check and improve. */
const OFFLINE: ImpactOutput = ImpactOutput.parse({
  anomalies: [
    { service: 'stock-service', metric: 'latency_p99_ms', baseline: 180, current: 4000, score: 42, direction: 'up', onset: '2026-03-14T12:04:00Z', evidenceIds: ['metric:stock-service:latency_p99_ms'] },
  ],
  blastRadius: ['stock-service'],
  usersImpacted: 0,
  revenuePerMinute: 0,
  severity: 'SEV3',
  onset: '2026-03-14T12:04:00Z',
  confidence: 0.6,
  reasoning: 'stock-service p99 latency rose twentyfold at 12:04.',
  evidenceIds: ['metric:stock-service:latency_p99_ms'],
});

/** A valid model answer, in the strict shape (optional fields as null). */
const answer = (overrides: Record<string, unknown> = {}) => ({
  anomalies: [
    { service: 'stock-service', metric: 'latency_p99_ms', baseline: 180, current: 4000, score: 42, direction: 'up', onset: '2026-03-14T12:04:00Z', evidenceIds: ['metric:stock-service:latency_p99_ms'] },
    { service: 'stock-service', metric: 'db_pool_active', baseline: 6, current: 10, score: 12, direction: 'up', onset: null, evidenceIds: ['metric:stock-service:db_pool_active'] },
  ],
  blastRadius: ['stock-service'],
  usersImpacted: 0,
  revenuePerMinute: 0,
  severity: 'SEV2',
  onset: null,
  confidence: 0.8,
  reasoning: 'The pool is saturated (10 of 10) since CR2077 lowered its size; latency follows.',
  evidenceIds: ['metric:stock-service:db_pool_active', 'change:CR2077'],
  ...overrides,
});

const request = (extra: Partial<ReasonRequest<ImpactOutput>> = {}): ReasonRequest<ImpactOutput> => ({
  agent: 'impact',
  schema: ImpactOutput,
  instructions: 'Quantify the impact of the incident: anomalies, blast radius, users, revenue, severity.',
  evidence: EVIDENCE,
  offline: OFFLINE,
  ...extra,
});

let server: FakeOpenAi | undefined;
const serve = async (replies: ScriptedReply[]) => {
  server = await startFakeOpenAi(replies);
  return server;
};
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const userText = (body: { messages: { role: string; content: string }[] }) => body.messages.filter((m) => m.role === 'user').map((m) => m.content);

describe('unit: createLlmReasoner', () => {
  it('accepts a valid structured answer as llm:<model>, with the tokens from usage and a strict schema request', async () => {
    // Prepare
    const fake = await serve([{ body: completion(answer(), { prompt_tokens: 812, completion_tokens: 143 }) }]);
    const reasoner = createLlmReasoner({ baseURL: fake.baseURL, apiKey: 'sk-test', model: MODEL });

    // Act
    const result = await reasoner.reason(request());

    // Assess: the result
    expect(result.reasoner).toBe(`llm:${MODEL}`);
    expect(result.tokens).toEqual({ input: 812, output: 143 });
    expect(result.note).toBeUndefined();
    expect(result.output.severity).toBe('SEV2');
    expect(result.output.anomalies).toHaveLength(2);
    expect(result.output).not.toHaveProperty('onset'); // null in the strict answer = absent
    expect(result.output.anomalies[1]).not.toHaveProperty('onset');
    // Assess: what the endpoint received
    expect(fake.received).toHaveLength(1);
    const sent = fake.received[0];
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe('Bearer sk-test');
    expect(sent.body.model).toBe(MODEL);
    expect(sent.body.response_format.type).toBe('json_schema');
    expect(sent.body.response_format.json_schema.strict).toBe(true);
    expect(sent.body.response_format.json_schema.name).toBe('impact_output');
    const schema = sent.body.response_format.json_schema.schema;
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(Object.keys(schema.properties));
    expect(schema.properties.onset).toEqual({ anyOf: [{ type: 'string' }, { type: 'null' }] });
    expect(sent.body.messages[0].role).toBe('system');
    expect(sent.body.messages[0].content).toContain('Quantify the impact of the incident');
    const prompt = userText(sent.body).join('\n');
    for (const e of EVIDENCE) expect(prompt).toContain(e.id);
    expect(prompt).toContain('HikariCP active connections 6 → 10 of 10');
    expect(prompt).toContain('deterministic analysis to check and improve');
    expect(prompt).toContain('twentyfold');
  });

  it('retries once with the JSON parse problem named and accepts the corrected answer', async () => {
    // Prepare
    const fake = await serve([{ body: completion('{"anomalies": [', { prompt_tokens: 800, completion_tokens: 5 }) }, { body: completion(answer(), { prompt_tokens: 900, completion_tokens: 140 }) }]);
    const reasoner = createLlmReasoner({ baseURL: fake.baseURL, apiKey: 'sk-test', model: MODEL });

    // Act
    const result = await reasoner.reason(request());

    // Assess
    expect(result.reasoner).toBe(`llm:${MODEL}`);
    expect(result.tokens).toEqual({ input: 1700, output: 145 });
    expect(result.note).toContain('corrective retry');
    expect(fake.received).toHaveLength(2);
    const retry = fake.received[1].body.messages;
    expect(retry.at(-2)).toEqual({ role: 'assistant', content: '{"anomalies": [' });
    expect(retry.at(-1).role).toBe('user');
    expect(retry.at(-1).content).toContain('not valid JSON');
    expect(fake.received[1].body.response_format.json_schema.strict).toBe(true);
  });

  it('names the violated field in the corrective retry when the answer does not match the schema', async () => {
    // Prepare: confidence must be within 0..1
    const fake = await serve([{ body: completion(answer({ confidence: 3 })) }, { body: completion(answer()) }]);
    const reasoner = createLlmReasoner({ baseURL: fake.baseURL, apiKey: 'sk-test', model: MODEL });

    // Act
    const result = await reasoner.reason(request());

    // Assess
    expect(result.reasoner).toBe(`llm:${MODEL}`);
    expect(result.output.confidence).toBe(0.8);
    const correction = fake.received[1].body.messages.at(-1).content as string;
    expect(correction).toContain('does not match the schema');
    expect(correction).toContain('confidence');
  });

  it('falls back to the offline analysis, naming the id, when the model cites a non-existent evidence id twice', async () => {
    // Prepare
    const invented = answer({ evidenceIds: ['change:CR2077', 'log:stock-service:pool-exhausted'] });
    const fake = await serve([{ body: completion(invented) }, { body: completion(invented) }]);
    const reasoner = createLlmReasoner({ baseURL: fake.baseURL, apiKey: 'sk-test', model: MODEL });

    // Act
    const result = await reasoner.reason(request());

    // Assess
    expect(result.reasoner).toBe('offline-fallback');
    expect(result.output).toEqual(OFFLINE);
    expect(result.note).toContain('log:stock-service:pool-exhausted');
    expect(result.note).toContain('rejected twice');
    expect(result.tokens).toEqual({ input: 200, output: 40 }); // spent even though rejected
    expect(fake.received).toHaveLength(2);
    expect(fake.received[1].body.messages.at(-1).content).toContain('"log:stock-service:pool-exhausted"');
  });

  it('accepts citations of earlier evidence that the offline analysis itself cites', async () => {
    // Prepare: the offline analysis cites an earlier agent's evidence id that is not in this run's evidence
    const offline = ImpactOutput.parse({ ...OFFLINE, evidenceIds: ['incident:INC-1843'] });
    const fake = await serve([{ body: completion(answer({ evidenceIds: ['incident:INC-1843', 'change:CR2077'] })) }]);
    const reasoner = createLlmReasoner({ baseURL: fake.baseURL, apiKey: 'sk-test', model: MODEL });

    // Act
    const result = await reasoner.reason(request({ offline }));

    // Assess
    expect(result.reasoner).toBe(`llm:${MODEL}`);
    expect(result.output.evidenceIds).toEqual(['incident:INC-1843', 'change:CR2077']);
    expect(userText(fake.received[0].body).join('\n')).toContain('- incident:INC-1843');
  });

  it('retries a 429 through the SDK (Retry-After: 0) and then succeeds', async () => {
    // Prepare
    const fake = await serve([
      { status: 429, headers: { 'retry-after': '0' }, body: { error: { message: 'Rate limit reached', type: 'requests' } } },
      { body: completion(answer()) },
    ]);
    const reasoner = createLlmReasoner({ baseURL: fake.baseURL, apiKey: 'sk-test', model: MODEL });

    // Act
    const result = await reasoner.reason(request());

    // Assess
    expect(result.reasoner).toBe(`llm:${MODEL}`);
    expect(fake.received).toHaveLength(2);
    expect(fake.received[1].body).toEqual(fake.received[0].body); // the same request, not a corrective retry
  });

  it('falls back with a note when the endpoint never answers within timeoutMs', async () => {
    // Prepare
    const fake = await serve(['hang']);
    const reasoner = createLlmReasoner({ baseURL: fake.baseURL, apiKey: 'sk-test', model: MODEL, timeoutMs: 300, maxRetries: 0 });

    // Act
    const result = await reasoner.reason(request());

    // Assess
    expect(result.reasoner).toBe('offline-fallback');
    expect(result.output).toEqual(OFFLINE);
    expect(result.note).toContain('timed out after 300 ms');
    expect(result.tokens).toBeUndefined();
    expect(fake.received).toHaveLength(1);
  });

  it('falls back with the status in the note when the endpoint keeps failing after the configured retries', async () => {
    // Prepare
    const failure: ScriptedReply = { status: 503, headers: { 'retry-after': '0' }, body: { error: { message: 'model overloaded' } } };
    const fake = await serve([failure, failure]);
    const reasoner = createLlmReasoner({ baseURL: fake.baseURL, apiKey: 'sk-test', model: MODEL, maxRetries: 1 });

    // Act
    const result = await reasoner.reason(request());

    // Assess
    expect(result.reasoner).toBe('offline-fallback');
    expect(result.note).toContain('503');
    expect(result.note).toContain('model overloaded');
    expect(fake.received).toHaveLength(2);
  });

  it('treats a refusal as a bad answer and retries once', async () => {
    // Prepare
    const fake = await serve([{ body: completion('', undefined, { refusal: 'I cannot help with that.' }) }, { body: completion(answer()) }]);
    const reasoner = createLlmReasoner({ baseURL: fake.baseURL, apiKey: 'sk-test', model: MODEL });

    // Act
    const result = await reasoner.reason(request());

    // Assess
    expect(result.reasoner).toBe(`llm:${MODEL}`);
    expect(fake.received[1].body.messages.at(-1).content).toContain('the model refused: I cannot help with that.');
  });

  it('makes no request and falls back when the incident token budget is exhausted', async () => {
    // Prepare
    const fake = await serve([{ body: completion(answer()) }]);
    const budget = new InMemoryTokenBudget(5_000);
    await budget.consume('INC-7', 5_000);
    const reasoner = createLlmReasoner({ baseURL: fake.baseURL, apiKey: 'sk-test', model: MODEL, tokenBudget: budget });

    // Act
    const result = await reasoner.reason(request({ incidentId: 'INC-7' }));

    // Assess
    expect(fake.received).toHaveLength(0);
    expect(result.reasoner).toBe('offline-fallback');
    expect(result.output).toEqual(OFFLINE);
    expect(result.note).toContain('token budget of incident INC-7 is exhausted (0 tokens left');
  });

  it('charges the tokens an answer used to the incident budget', async () => {
    // Prepare
    const fake = await serve([{ body: completion(answer(), { prompt_tokens: 700, completion_tokens: 80 }) }]);
    const budget = new InMemoryTokenBudget(10_000);
    const reasoner = createLlmReasoner({ baseURL: fake.baseURL, apiKey: 'sk-test', model: MODEL, tokenBudget: budget });

    // Act
    await reasoner.reason(request({ incidentId: 'INC-8' }));

    // Assess
    expect(await budget.remaining('INC-8')).toBe(10_000 - 780);
    expect(await budget.remaining('INC-9')).toBe(10_000);
  });

  it('cuts evidence data to the data budget but always sends every id and summary', async () => {
    // Prepare
    const big: Evidence[] = Array.from({ length: 5 }, (_, i) => ({
      id: `log:svc-${i}`,
      kind: 'log',
      source: 'logs',
      summary: `log sample ${i}`,
      data: { lines: Array.from({ length: 500 }, (_, j) => `line ${j} of svc-${i}`) },
    }));
    const fake = await serve([{ body: completion(answer({ anomalies: [], evidenceIds: [] })) }]);
    const reasoner = createLlmReasoner({ baseURL: fake.baseURL, apiKey: 'sk-test', model: MODEL, maxDataChars: 2_000, maxItemDataChars: 1_500 });

    // Act
    await reasoner.reason(request({ evidence: big, offline: ImpactOutput.parse({ ...OFFLINE, anomalies: [], evidenceIds: [] }) }));

    // Assess
    const prompt = userText(fake.received[0].body).join('\n');
    for (const e of big) expect(prompt).toContain(`id: ${e.id}`);
    for (const e of big) expect(prompt).toContain(e.summary);
    expect(prompt).toContain('[truncated]');
    expect(prompt).toContain('omitted: evidence data budget used up');
    expect(prompt.length).toBeLessThan(6_000);
  });
});

describe('unit: reasonerFromEnv', () => {
  it('returns the offline reasoner when no LLM endpoint is configured', () => {
    expect(reasonerFromEnv({})).toBe(offlineReasoner);
    expect(reasonerFromEnv({ LLM_BASE_URL: '', LLM_MODEL: '' })).toBe(offlineReasoner);
  });

  it('rejects half a configuration and a missing key with ConfigError naming the variable', () => {
    expect(() => reasonerFromEnv({ LLM_MODEL: MODEL })).toThrow(ConfigError);
    expect(() => reasonerFromEnv({ LLM_MODEL: MODEL })).toThrow(/LLM_BASE_URL is required/);
    expect(() => reasonerFromEnv({ LLM_BASE_URL: 'http://127.0.0.1:9/v1', LLM_MODEL: MODEL })).toThrow(/LLM_API_KEY or LLM_API_KEY_SECRET_ID/);
    expect(() => reasonerFromEnv({ LLM_BASE_URL: 'not a url', LLM_MODEL: MODEL, LLM_API_KEY: 'k' })).toThrow(/LLM_BASE_URL/);
    expect(() => reasonerFromEnv({ LLM_BASE_URL: 'http://127.0.0.1:9/v1', LLM_MODEL: MODEL, LLM_API_KEY: 'k', LLM_MAX_RETRIES: 'many' })).toThrow(/LLM_MAX_RETRIES/);
  });

  it('refuses an LLM configuration at cold start when the bundle was built without the openai SDK, naming the stack settings', () => {
    vi.stubEnv('AUTOPILOT_OMIT_LLM', 'true');
    try {
      expect(() => reasonerFromEnv({ LLM_BASE_URL: 'http://127.0.0.1:9/v1', LLM_MODEL: MODEL, LLM_API_KEY: 'k' })).toThrow(/built without the openai SDK.*llmBaseUrl and llmModel/);
      expect(reasonerFromEnv({})).toBe(offlineReasoner);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('reads the key through getSecret by its secret id and sends it as the bearer token', async () => {
    // Prepare
    const fake = await serve([{ body: completion(answer()) }]);
    const getSecret = vi.fn(async (id: string) => (id === 'autopilot/llm-key' ? 'sk-from-secrets' : 'wrong'));
    const reasoner = reasonerFromEnv({ LLM_BASE_URL: fake.baseURL, LLM_MODEL: MODEL, LLM_API_KEY_SECRET_ID: 'autopilot/llm-key', LLM_MAX_RETRIES: '0' }, getSecret);

    // Act
    const result = await reasoner.reason(request());

    // Assess
    expect(result.reasoner).toBe(`llm:${MODEL}`);
    expect(getSecret).toHaveBeenCalledWith('autopilot/llm-key');
    expect(fake.received[0].headers.authorization).toBe('Bearer sk-from-secrets');
  });

  it('applies LLM_TOKEN_BUDGET per incident', async () => {
    // Prepare
    const fake = await serve([{ body: completion(answer()) }]);
    const reasoner = reasonerFromEnv({ LLM_BASE_URL: fake.baseURL, LLM_MODEL: MODEL, LLM_API_KEY: 'k', LLM_TOKEN_BUDGET: '10' });

    // Act
    const result = await reasoner.reason({ ...request(), incidentId: 'INC-1' });

    // Assess: the prompt alone needs more than 10 tokens
    expect(fake.received).toHaveLength(0);
    expect(result.reasoner).toBe('offline-fallback');
  });
});
