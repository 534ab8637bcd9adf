/**
 * Error names are the retry contract: every exported error class of functions/ that extends `Retryable` is in
 * `RETRYABLE_ERROR_NAMES` and nothing else of ours is; every Task state of the ASL retries exactly that list (with
 * the agreed backoff), besides the Lambda service errors; and no retrier retries anything else (no States.ALL, no
 * catch-all States.TaskFailed on a Lambda task, no name of a non-retryable class).
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { AWS_TRANSIENT_ERROR_NAMES, IN_FLIGHT_ERROR_NAMES, IN_FLIGHT_RETRIER, LAMBDA_SERVICE_ERROR_NAMES, OWN_RETRYABLE_ERROR_NAMES, RETRYABLE_ERROR_NAMES, RETRYABLE_RETRIER, Retryable } from '../../functions/core/errors.ts';
import { EXECUTOR_TIMEOUT_MS } from '../../functions/core/agents/execute.ts';
import { readWorkflowDefinition, taskStates } from '../../lib/workflow-definition.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Every module under functions/ except the handlers (they read their configuration at import, as on a cold start). */
const modules = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return modules(path);
    return name.endsWith('.ts') && name !== 'handler.ts' && !name.endsWith('.d.ts') ? [path] : [];
  });

/** An argument every error constructor accepts: any property reads as "x", and it converts to "x". */
const anything: unknown = new Proxy({}, { get: (_, p) => (p === Symbol.toPrimitive ? () => 'x' : 'x') });
/** The same with numbers (a constructor that formats a date from a field). */
const zeros: unknown = new Proxy({}, { get: (_, p) => (p === Symbol.toPrimitive ? () => 0 : 0) });

/** The `name` of an instance, built with arguments its constructor accepts (a few want arrays or nothing). */
const instanceName = (cls: unknown): string => {
  for (const args of [[anything, anything, anything], [zeros, zeros, zeros], [[], [], []], []]) {
    try {
      return (Reflect.construct(cls as new (...a: unknown[]) => Error, args) as Error).name;
    } catch {
      // try the next shape of arguments
    }
  }
  throw new Error(`cannot construct ${(cls as { name: string }).name} to read its name`);
};

interface ErrorClass {
  readonly file: string;
  readonly className: string;
  /** The `name` an instance carries (what Lambda reports as errorType). */
  readonly name: string;
  readonly retryable: boolean;
}

const errorClasses = async (): Promise<ErrorClass[]> => {
  const found = new Map<unknown, ErrorClass>();
  for (const file of modules(join(ROOT, 'functions'))) {
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    for (const value of Object.values(mod)) {
      if (typeof value !== 'function' || !(value.prototype instanceof Error) || found.has(value)) continue;
      found.set(value, { file: relative(ROOT, file), className: value.name, name: instanceName(value), retryable: value.prototype instanceof Retryable || value === Retryable });
    }
  }
  return [...found.values()];
};

describe('unit: the retry contract (error names ↔ the ASL Retry)', () => {
  let classes: ErrorClass[];
  beforeAll(async () => {
    classes = await errorClasses();
  }, 60_000);

  it('finds the error classes of functions/, retryable ones among them', () => {
    expect(classes.length).toBeGreaterThan(20);
    expect(classes.filter((c) => c.retryable).map((c) => c.name)).toEqual(expect.arrayContaining(['StoreRetryLater', 'StoreUnavailable', 'ActionInProgress', 'JournalUnavailable']));
  });

  it('lists every class that extends Retryable, by the name its instances carry (= its class name)', () => {
    const retryable = classes.filter((c) => c.retryable);
    for (const c of retryable) expect(c.name, `${c.file}: ${c.className}`).toBe(c.className);
    expect([...OWN_RETRYABLE_ERROR_NAMES].sort()).toEqual([...new Set(retryable.map((c) => c.name))].sort());
  });

  it('lists no name of a class that does not extend Retryable', () => {
    const notRetryable = classes.filter((c) => !c.retryable).map((c) => c.name);
    expect(RETRYABLE_ERROR_NAMES.filter((n) => notRetryable.includes(n))).toEqual([]);
  });

  it('is the own names plus the AWS SDK transient names, once each', () => {
    expect(RETRYABLE_ERROR_NAMES).toEqual([...OWN_RETRYABLE_ERROR_NAMES, ...AWS_TRANSIENT_ERROR_NAMES]);
    expect(new Set(RETRYABLE_ERROR_NAMES).size).toBe(RETRYABLE_ERROR_NAMES.length);
  });

  const tasks = [...taskStates(readWorkflowDefinition())];

  /** The states that run the executor, the only function that throws the in-flight names. */
  const runsExecutor = (state: unknown): boolean => (state as { Parameters?: { FunctionName?: string } }).Parameters?.FunctionName === '${ExecuteMitigationFunctionArn}';

  it.each(tasks)('"%s" retries exactly the retryable error names, with backoff and full jitter', (_, state) => {
    const retriers = (state as { Retry?: { ErrorEquals: string[] }[] }).Retry ?? [];
    const ours = retriers.filter((r) => r.ErrorEquals.some((n) => RETRYABLE_ERROR_NAMES.includes(n)));
    const general = { ...RETRYABLE_RETRIER, ErrorEquals: RETRYABLE_ERROR_NAMES.filter((n) => !IN_FLIGHT_ERROR_NAMES.includes(n)) };
    expect(ours).toEqual(runsExecutor(state) ? [{ ...IN_FLIGHT_RETRIER, ErrorEquals: [...IN_FLIGHT_ERROR_NAMES] }, general] : [general]);
  });

  it('runs the executor in two states, and its in-flight retrier outlasts the claim of an invocation that died', () => {
    expect(tasks.filter(([, state]) => runsExecutor(state)).map(([name]) => name).sort()).toEqual(['Execute mitigation', 'Undo mitigation']);
    // Every name is retried by exactly one of the two retriers.
    expect([...IN_FLIGHT_RETRIER.ErrorEquals, ...RETRYABLE_RETRIER.ErrorEquals].sort()).toEqual([...RETRYABLE_ERROR_NAMES].sort());
    // Without jitter the delays are certain: their sum must pass the age at which a live claim is judged dead.
    const { IntervalSeconds, BackoffRate, MaxAttempts } = IN_FLIGHT_RETRIER;
    const totalSeconds = Array.from({ length: MaxAttempts }, (_, i) => IntervalSeconds * BackoffRate ** i).reduce((a, b) => a + b, 0);
    expect('JitterStrategy' in IN_FLIGHT_RETRIER).toBe(false);
    expect(totalSeconds * 1000).toBeGreaterThan(2 * EXECUTOR_TIMEOUT_MS);
  });

  it.each(tasks)('"%s" retries nothing else than the contract and the Lambda service errors', (_, state) => {
    const retried = ((state as { Retry?: { ErrorEquals: string[] }[] }).Retry ?? []).flatMap((r) => r.ErrorEquals);
    const invokesLambda = state.Resource?.startsWith('arn:aws:states:::lambda:') ?? false;
    // A service integration's own failure (events:putEvents) is States.TaskFailed: its entries are retried as a whole.
    const allowed = new Set([...RETRYABLE_ERROR_NAMES, ...LAMBDA_SERVICE_ERROR_NAMES, ...(invokesLambda ? [] : ['States.TaskFailed'])]);
    expect(retried.filter((n) => !allowed.has(n))).toEqual([]);
    if (invokesLambda) expect(retried).toEqual(expect.arrayContaining([...LAMBDA_SERVICE_ERROR_NAMES]));
  });
});
