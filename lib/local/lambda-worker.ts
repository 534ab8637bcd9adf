/**
 * One laptop-twin "Lambda execution environment": a worker thread that imports handlers (once each: the cold start)
 * and runs invocations the main thread sends it. Handlers run in their own V8 isolate, as on Lambda, so module state
 * is not shared with the twin, and the parallel investigation agents use both cores.
 *
 * Messages in:  {kind: 'load', id, entries} | {kind: 'invoke', id, entry, spec, event, deadline}
 * Messages out: {id, ok: true, result} | {id, ok: false, error: {name, message, stack}}
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type { Context } from 'aws-lambda';
import { type ContextSpec, lambdaContext } from './lambda-context.ts';

type Handler = (event: unknown, context: Context) => Promise<unknown>;
type Message = { kind: 'load'; id: number; entries: string[] } | { kind: 'invoke'; id: number; entry: string; spec: ContextSpec; event: unknown; deadline: number };

const root = (workerData as { root: string }).root;
const handlers = new Map<string, Promise<Handler>>();

const load = (entry: string): Promise<Handler> => {
  let loaded = handlers.get(entry);
  if (!loaded) {
    loaded = import(pathToFileURL(join(root, entry)).href).then((mod: { handler?: unknown }) => {
      if (typeof mod.handler !== 'function') throw new Error(`${entry} does not export a handler function`);
      return mod.handler as Handler;
    });
    loaded.catch(() => handlers.delete(entry)); // retry the import next time
    handlers.set(entry, loaded);
  }
  return loaded;
};


const errorOf = (error: unknown) => {
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name || 'Error', message: e.message, stack: e.stack ?? '' };
};

parentPort?.on('message', (message: Message) => {
  const run = async (): Promise<unknown> => {
    if (message.kind === 'load') {
      await Promise.all(message.entries.map(load));
      return null;
    }
    const handler = await load(message.entry);
    const result = await handler(message.event, lambdaContext(message.spec, message.deadline));
    return result === undefined ? null : JSON.parse(JSON.stringify(result));
  };
  run().then(
    (result) => parentPort?.postMessage({ id: message.id, ok: true, result }),
    (error: unknown) => parentPort?.postMessage({ id: message.id, ok: false, error: errorOf(error) }),
  );
});
