/**
 * A small OpenAI-compatible endpoint on 127.0.0.1 for the LLM reasoner's tests: `POST /v1/chat/completions`
 * answers with the next scripted reply and records every request it received. No network beyond loopback.
 */
import { type IncomingHttpHeaders, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON the SDK sent (untyped on purpose: tests assert on its fields). */
  readonly body: any;
}

/** One scripted reply; `'hang'` never answers (the client must time out). */
export type ScriptedReply = { readonly status?: number; readonly headers?: Record<string, string>; readonly body: unknown } | 'hang';

export interface FakeOpenAi {
  /** Base URL to give the SDK (ends in /v1). */
  readonly baseURL: string;
  readonly received: ReceivedRequest[];
  close(): Promise<void>;
}

/** A chat.completion body whose message content is `content` (a string is sent as is, anything else as JSON). */
export const completion = (content: unknown, usage = { prompt_tokens: 100, completion_tokens: 20 }, extra: { refusal?: string } = {}) => ({
  id: 'chatcmpl-test',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'fake-model',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: typeof content === 'string' ? content : JSON.stringify(content), refusal: extra.refusal ?? null },
      finish_reason: 'stop',
      logprobs: null,
    },
  ],
  usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
});

export const startFakeOpenAi = async (replies: ScriptedReply[]): Promise<FakeOpenAi> => {
  const received: ReceivedRequest[] = [];
  const queue = [...replies];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: text ? JSON.parse(text) : undefined });
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
        return;
      }
      const reply = queue.shift();
      if (reply === 'hang') return;
      if (!reply) {
        res.writeHead(500, { 'content-type': 'application/json', 'x-should-retry': 'false' }).end(JSON.stringify({ error: { message: 'no scripted reply left' } }));
        return;
      }
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers }).end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    received,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
};
