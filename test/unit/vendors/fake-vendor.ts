/**
 * A fake vendor API on loopback (node:http, 127.0.0.1, port 0). Each test queues the answers it wants
 * (`reply`, or `hang` for a server that never answers) and reads back what the adapter sent: method, path,
 * query, headers and body. Unmatched requests get a 599 so a test never passes by accident.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach } from 'vitest';

export interface Received {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export type Answer =
  | { readonly status: number; readonly json?: unknown; readonly text?: string; readonly headers?: Record<string, string> }
  | 'hang';

type Route = { readonly method: string; readonly path: string | RegExp; readonly answer: Answer | ((r: Received) => Answer) };

export interface FakeVendor {
  readonly url: string;
  readonly received: Received[];
  /** Queues one answer for the next matching request (consumed once). */
  once(method: string, path: string | RegExp, answer: Answer | ((r: Received) => Answer)): void;
  /** Answers every matching request (after the queued ones). */
  always(method: string, path: string | RegExp, answer: Answer | ((r: Received) => Answer)): void;
  close(): Promise<void>;
}

const matches = (route: Route, r: Received) => route.method === r.method && (typeof route.path === 'string' ? route.path === r.path : route.path.test(r.path));

const send = (res: ServerResponse, answer: Exclude<Answer, 'hang'>) => {
  const body = answer.json !== undefined ? JSON.stringify(answer.json) : (answer.text ?? '');
  res.writeHead(answer.status, { 'content-type': answer.json !== undefined ? 'application/json' : 'text/plain', ...answer.headers });
  res.end(body);
};

export const startFakeVendor = async (): Promise<FakeVendor> => {
  const received: Received[] = [];
  const queued: Route[] = [];
  const standing: Route[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const r: Received = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      const qi = queued.findIndex((route) => matches(route, r));
      const route = qi >= 0 ? queued.splice(qi, 1)[0] : standing.find((s) => matches(s, r));
      if (!route) return send(res, { status: 599, text: `fake vendor: no route for ${r.method} ${r.path}` });
      const answer = typeof route.answer === 'function' ? route.answer(r) : route.answer;
      if (answer === 'hang') return; // never answer: the adapter's timeout must fire
      send(res, answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    once: (method, path, answer) => queued.push({ method, path, answer }),
    always: (method, path, answer) => standing.push({ method, path, answer }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};

/**
 * A fresh fake vendor for every test of the calling `describe`, closed after it. Call at describe level; the
 * returned object reaches the current test's server, so adapters built inside a test read its `url`.
 */
export const useFakeVendor = (): Omit<FakeVendor, 'close'> => {
  let current: FakeVendor | undefined;
  const live = (): FakeVendor => {
    if (!current) throw new Error('useFakeVendor: the fake vendor exists only while a test runs');
    return current;
  };
  beforeEach(async () => {
    current = await startFakeVendor();
  });
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return {
    get url() {
      return live().url;
    },
    get received() {
      return live().received;
    },
    once: (method, path, answer) => live().once(method, path, answer),
    always: (method, path, answer) => live().always(method, path, answer),
  };
};

/** A sleep that records what it was asked to wait and returns at once (no timed assertions, fast tests). */
export const recordingSleep = () => {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
};

/** The error a promise rejects with (fails the test if it resolves). */
export const rejectionOf = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
};
