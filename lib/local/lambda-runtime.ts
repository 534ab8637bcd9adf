/**
 * Runs the real Lambda handlers the way the Lambda runtime would: each registry entry is imported once (a
 * "cold start", after the twin has set the environment), called with a JSON copy of the event and a Lambda
 * context, and its result is JSON-serialised. By default (`isolation: 'inline'`) the handlers run on the twin's
 * own thread; `workers` runs them in a small pool of worker threads (`WorkerPool`): each its own isolate, like
 * Lambda's execution environments, and the parallel branches of the workflow really run in parallel. A thrown error keeps its `name` (the
 * contract with the state machine's Retry/Catch) and, like Lambda, carries `{errorType, errorMessage,
 * trace}` as its message, which Step Functions shows as the `Cause`.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { FUNCTIONS, type FunctionSpec } from '../../functions/registry.ts';
import { lambdaArn } from './constants.ts';
import { lambdaContext } from './lambda-context.ts';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** A handler's error as Step Functions sees it: `name` is the Lambda errorType. */
export class LambdaFunctionError extends Error {
  override name = 'LambdaFunctionError';
  readonly errorType: string;
  readonly errorMessage: string;
  constructor(errorType: string, errorMessage: string, trace: string[] = []) {
    super(JSON.stringify({ errorType, errorMessage, trace }));
    this.name = errorType; // dynamic on purpose: ASL Catch matches on it
    this.errorType = errorType;
    this.errorMessage = errorMessage;
  }
}

export class UnknownFunction extends Error {
  override name = 'UnknownFunction';
}

export class HandlerMissing extends Error {
  override name = 'HandlerMissing';
}

export const projectRoot = (): string => new URL('../../', import.meta.url).pathname;

export class LocalLambdas {
  readonly #root: string;
  readonly #loaded = new Map<string, Promise<Handler>>();
  readonly #byName = new Map(FUNCTIONS.map((f) => [f.name, f]));
  readonly #byArn = new Map(FUNCTIONS.map((f) => [lambdaArn(f.name), f]));
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #faults: ReadonlyMap<string, string>;
  readonly #isolation: Isolation;
  #pool: WorkerPool | undefined;

  /**
   * @param faults function name → error name: those invocations fail with that error, the way AWS FIS's
   *   `aws:lambda:invocation-error` action makes them fail, for tests of the failure paths.
   * @param isolation `inline` (default): handlers run on the caller's thread; `workers`: in worker threads.
   */
  constructor(root: string = projectRoot(), faults: Readonly<Record<string, string>> = {}, isolation: Isolation = 'inline') {
    this.#root = root;
    this.#faults = new Map(Object.entries(faults));
    this.#isolation = isolation;
  }

  /** Stops the worker threads (after `drain`). */
  async stop(): Promise<void> {
    await this.#pool?.stop();
    this.#pool = undefined;
  }

  /** Finds a function by name or by the ARN the twin substituted into the state machine. */
  spec(nameOrArn: string): FunctionSpec {
    const spec = this.#byName.get(nameOrArn) ?? this.#byArn.get(nameOrArn);
    if (!spec) throw new UnknownFunction(`no function ${nameOrArn} in functions/registry.ts`);
    return spec;
  }

  /** Imports every registry entry now, so a missing or broken handler fails at start, not mid-incident. */
  async preload(): Promise<void> {
    if (this.#isolation === 'inline') {
      await Promise.all(FUNCTIONS.map((f) => this.#handler(f)));
      return;
    }
    // Workers are created now, after the twin has set the environment they inherit.
    this.#pool = new WorkerPool(this.#root);
    try {
      await this.#pool.loadEverywhere(FUNCTIONS.map((f) => f.entry));
    } catch (error) {
      throw new HandlerMissing(`cannot load the handlers: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  /**
   * Invokes a function synchronously (RequestResponse). Throws `LambdaFunctionError` for a handler error
   * or a timeout (`Sandbox.Timedout`, after the registry's timeoutSeconds).
   */
  invoke(nameOrArn: string, event: unknown): Promise<unknown> {
    const run = this.#invoke(nameOrArn, event);
    const tracked = run.catch(() => undefined);
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
    return run;
  }

  /** Waits (at most `timeoutMs`) for running invocations to finish: stopping the databases under them would crash them. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    while (this.#inFlight.size > 0) {
      const settled = await Promise.race([Promise.all([...this.#inFlight]).then(() => 'drained' as const), deadline.then(() => 'deadline' as const)]);
      if (settled === 'deadline') break;
    }
    clearTimeout(timer);
  }

  async #invoke(nameOrArn: string, event: unknown): Promise<unknown> {
    const spec = this.spec(nameOrArn);
    const fault = this.#faults.get(spec.name);
    if (fault) throw new LambdaFunctionError(fault, `fault injected into ${spec.name}`, []);
    const deadline = Date.now() + spec.timeoutSeconds * 1000;
    const pool = this.#pool;
    const handler: Handler = pool
      ? (event) => pool.invoke(spec.entry, { name: spec.name, memoryMb: spec.memoryMb, arn: lambdaArn(spec.name) }, event, deadline)
      : await this.#handler(spec);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new LambdaFunctionError('Sandbox.Timedout', `Task timed out after ${spec.timeoutSeconds}.00 seconds`)), spec.timeoutSeconds * 1000);
      timer.unref();
    });
    try {
      const result = await Promise.race([handler(jsonCopy(event), lambdaContext({ name: spec.name, memoryMb: spec.memoryMb, arn: lambdaArn(spec.name) }, deadline)), timeout]);
      return result === undefined ? null : jsonCopy(result);
    } catch (error) {
      if (error instanceof LambdaFunctionError) throw error;
      const e = error instanceof Error ? error : new Error(String(error));
      throw new LambdaFunctionError(e.name || 'Error', e.message, (e.stack ?? '').split('\n').slice(1, 11).map((l) => l.trim()));
    } finally {
      clearTimeout(timer);
    }
  }

  #handler(spec: FunctionSpec): Promise<Handler> {
    let loaded = this.#loaded.get(spec.name);
    if (!loaded) {
      loaded = import(pathToFileURL(join(this.#root, spec.entry)).href).then(
        (mod: { handler?: unknown }) => {
          if (typeof mod.handler !== 'function') throw new HandlerMissing(`${spec.entry} does not export a handler function`);
          return mod.handler as Handler;
        },
        (error: unknown) => {
          throw new HandlerMissing(`cannot load ${spec.entry}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        },
      );
      loaded.catch(() => this.#loaded.delete(spec.name)); // retry the import next time
      this.#loaded.set(spec.name, loaded);
    }
    return loaded;
  }
}

const jsonCopy = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));



export type Isolation = 'workers' | 'inline';

/** An error a worker reported: rebuilt with the handler's own name, so the state machine's Catch still matches. */
const rebuild = (error: { name: string; message: string; stack: string }): Error => {
  const e = new Error(error.message);
  e.name = error.name;
  e.stack = error.stack;
  return e;
};

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** One worker thread and the invocations it has not answered yet. */
interface Slot {
  worker: Worker;
  readonly pending: Map<number, Pending>;
  /** Set when a replacement died before answering anything: respawning it again would only loop. */
  dead?: Error;
}

/**
 * A few worker threads (one per core, at most 4), each running any handler; an invocation goes to the worker with the
 * fewest in flight. Each worker keeps its own module state (its "warm container"). A worker that dies (an uncaught
 * error in a handler's stray promise ends its thread) fails what it had in flight with `Runtime.ExitError` and is
 * replaced, as Lambda replaces a crashed execution environment; the new one imports each handler on first use.
 */
export class WorkerPool {
  readonly #root: string;
  readonly #slots: Slot[];
  #next = 0;
  #stopping = false;

  constructor(root: string, size = Math.max(1, Math.min(4, availableParallelism()))) {
    this.#root = root;
    this.#slots = Array.from({ length: size }, () => {
      const slot = { pending: new Map() } as Slot;
      this.#spawn(slot);
      return slot;
    });
  }

  #spawn(slot: Slot): void {
    const worker = new Worker(new URL('./lambda-worker.ts', import.meta.url), { workerData: { root: this.#root } });
    let answered = false;
    const failAll = (error: Error) => {
      for (const p of slot.pending.values()) p.reject(error);
      slot.pending.clear();
    };
    worker.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: { name: string; message: string; stack: string } }) => {
      answered = true;
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(rebuild(m.error ?? { name: 'Error', message: 'unknown worker error', stack: '' }));
    });
    // The uncaught error comes first, then the exit: replace the worker at the first sign, so that nothing sent in
    // between goes to a thread that is already going away.
    const retire = (error: Error) => {
      if (slot.worker !== worker) return;
      failAll(error);
      if (this.#stopping) return;
      if (answered) this.#spawn(slot);
      else slot.dead = error;
    };
    worker.on('error', retire);
    worker.on('exit', (code) => retire(new LambdaFunctionError('Runtime.ExitError', `Runtime exited with error: exit status ${code}`)));
    worker.unref();
    slot.worker = worker;
  }

  #send(slot: Slot, message: Record<string, unknown>): Promise<unknown> {
    if (slot.dead) return Promise.reject(slot.dead);
    const id = (this.#next += 1);
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ ...message, id });
    });
  }

  /** Imports the entries in every worker (the cold starts), failing if any handler is missing or broken. */
  async loadEverywhere(entries: readonly string[]): Promise<void> {
    await Promise.all(this.#slots.map((slot) => this.#send(slot, { kind: 'load', entries })));
  }

  invoke(entry: string, spec: { name: string; memoryMb: number; arn: string }, event: unknown, deadline: number): Promise<unknown> {
    const live = this.#slots.filter((slot) => !slot.dead);
    const slot = live.length === 0 ? this.#slots[0] : live.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    return this.#send(slot, { kind: 'invoke', entry, spec, event, deadline });
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#slots.map(({ worker }) => worker.terminate()));
  }
}
