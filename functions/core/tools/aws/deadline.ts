/**
 * Time budgets of the `aws` adapters: no tool call may run an agent past its Lambda timeout (60 s for every agent,
 * functions/registry.ts). The SDK's own bounds are per request (AWS_TOOLS_TIMEOUT_MS × AWS_TOOLS_MAX_ATTEMPTS), but
 * one tool call makes many requests (CloudTrail pages paced at 2 per second, X-Ray statistics for 200 services, Logs
 * Insights polling, the tag index), and one agent run makes several tool calls (the impact agent: topology, three
 * metric reads, traces). So every call gets a deadline, the earlier of
 *
 * - its own budget, AWS_TOOLS_CALL_BUDGET_MS (20 s) from the call's start, and
 * - the run's budget, AWS_TOOLS_RUN_BUDGET_MS (40 s) from the first call of the agent run (`scope.runId`) to any aws
 *   adapter of the process, so the calls of one run share it; the rest of the Lambda's 60 s is the agent's own
 *   (reading the incident, the reasoner, writing its record).
 *
 * At the deadline the adapter stops: requests in flight are aborted (the deadline's `signal`, passed to the SDK), no
 * new one is sent, and the call answers with what it read and a partial gap naming the budget — or ToolUnavailable
 * when nothing worth returning was read. A write is never cut in the middle: the actions adapter checks the deadline
 * before a write, not during it.
 *
 * Light on purpose (no SDK import): the adapter table parses the variables with it.
 */

export const DEFAULT_CALL_BUDGET_MS = 20_000;
export const DEFAULT_RUN_BUDGET_MS = 40_000;
/** Agent runs whose start is remembered (a Lambda container runs one agent at a time; the twin a few). */
const MAX_RUNS = 128;

export interface TimeBudget {
  /** Milliseconds one tool call may take (AWS_TOOLS_CALL_BUDGET_MS). @default 20000 */
  readonly callMs?: number;
  /** Milliseconds the aws tool calls of one agent run may take together (AWS_TOOLS_RUN_BUDGET_MS). @default 40000 */
  readonly runMs?: number;
}

/** The deadline passed before the work finished. */
export class DeadlineReached extends Error {
  override name = 'DeadlineReached';
}

/** The start of each agent run seen (by `runId`), shared by the aws adapters of the process; oldest evicted first. */
const runStarts = new Map<string, number>();

/** Longer than any Lambda runs (15 minutes): a run start older than this, or ahead of the clock, is another clock's. */
const RUN_HORIZON_MS = 15 * 60_000;

const runStart = (runId: string, now: number): number => {
  const known = runStarts.get(runId);
  if (known !== undefined && known <= now && now - known <= RUN_HORIZON_MS) return known;
  runStarts.delete(runId);
  runStarts.set(runId, now);
  for (const k of runStarts.keys()) {
    if (runStarts.size <= MAX_RUNS) break;
    runStarts.delete(k);
  }
  return now;
};

/** One call's deadline. `dispose()` it when the call ends (it holds a timer). */
export class Deadline {
  /** Milliseconds since the epoch, on the adapter's clock. */
  readonly at: number;
  /** What the deadline is, for messages ("the call budget of 20000 ms (AWS_TOOLS_CALL_BUDGET_MS)"). */
  readonly why: string;
  readonly #now: () => number;
  readonly #controller = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #waiters = new Set<(error: DeadlineReached) => void>();

  constructor(at: number, why: string, now: () => number = Date.now) {
    this.at = at;
    this.why = why;
    this.#now = now;
    const ms = at - now();
    if (ms <= 0) this.#fire();
    else if (Number.isFinite(ms)) {
      this.#timer = setTimeout(() => this.#fire(), ms);
      // A deadline never keeps a process alive (the CLI, the twin).
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  /** A deadline that never passes (calls made outside any budget, tests). */
  static none(): Deadline {
    return new Deadline(Number.POSITIVE_INFINITY, 'no time budget');
  }

  /** Aborted when the deadline passes: pass it to the SDK (`send(command, { abortSignal })`, a paginator's third argument). */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  remaining(): number {
    return this.#controller.signal.aborted ? 0 : Math.max(0, this.at - this.#now());
  }

  get expired(): boolean {
    return this.remaining() <= 0;
  }

  /** "stopped at the deadline: the call budget of 20000 ms (AWS_TOOLS_CALL_BUDGET_MS)" */
  get reason(): string {
    return `stopped at the deadline (${this.why})`;
  }

  /** The work's outcome, or DeadlineReached when the deadline passes first (the work is left to its abort signal). */
  race<T>(pending: Promise<T>): Promise<T> {
    // A stub may answer with a plain value where the SDK answers with a promise.
    const work = Promise.resolve(pending);
    if (this.expired) {
      // Nothing may be left unhandled by the caller's early exit.
      work.catch(() => undefined);
      return Promise.reject(new DeadlineReached(this.reason));
    }
    return new Promise<T>((resolve, reject) => {
      const onDeadline = (error: DeadlineReached) => reject(error);
      this.#waiters.add(onDeadline);
      work.then(
        (v) => {
          this.#waiters.delete(onDeadline);
          resolve(v);
        },
        (e: unknown) => {
          this.#waiters.delete(onDeadline);
          reject(this.#controller.signal.aborted ? new DeadlineReached(this.reason) : e);
        },
      );
    });
  }

  /**
   * Pages of an SDK paginator, each raced against the deadline; DeadlineReached when it passes between or during pages.
   * `more` says whether a page has a next one (its NextToken): the last page is complete even when the deadline has
   * passed by the time it is read.
   */
  async *pages<T>(pages: AsyncIterable<T>, more: (page: T) => boolean = hasNextToken): AsyncGenerator<T> {
    const it = pages[Symbol.asyncIterator]();
    let done = false;
    try {
      for (;;) {
        if (this.expired) throw new DeadlineReached(this.reason);
        const r = await this.race(it.next());
        if (r.done) {
          done = true;
          return;
        }
        yield r.value;
        if (!more(r.value)) return;
      }
    } finally {
      // A consumer that stops early (or the deadline) closes the paginator; a page still in flight is aborted.
      if (!done) void Promise.resolve(it.return?.()).catch(() => undefined);
    }
  }

  /** Sleeps `ms`, or less when the deadline comes first. */
  sleepWithin(ms: number, sleep: (ms: number) => Promise<void>): Promise<void> {
    return sleep(Math.max(0, Math.min(ms, this.remaining())));
  }

  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waiters.clear();
  }

  #fire(): void {
    if (this.#controller.signal.aborted) return;
    this.#controller.abort(new DeadlineReached(this.reason));
    const error = new DeadlineReached(this.reason);
    for (const w of this.#waiters) w(error);
    this.#waiters.clear();
  }
}

/**
 * The deadline of a call starting now: the earlier of the call's budget and what is left of its run's. Calls without
 * a `runId` have the call budget only.
 */
export const callDeadline = (scope: { readonly runId?: string }, budget: TimeBudget = {}, now: () => number = Date.now): Deadline => {
  const t = now();
  const callMs = budget.callMs ?? DEFAULT_CALL_BUDGET_MS;
  const runMs = budget.runMs ?? DEFAULT_RUN_BUDGET_MS;
  const byCall = t + callMs;
  const byRun = scope.runId === undefined ? Number.POSITIVE_INFINITY : runStart(scope.runId, t) + runMs;
  return byRun < byCall
    ? new Deadline(byRun, `what was left of the agent run's budget of ${runMs} ms (AWS_TOOLS_RUN_BUDGET_MS)`, now)
    : new Deadline(byCall, `the call budget of ${callMs} ms (AWS_TOOLS_CALL_BUDGET_MS)`, now);
};

/** Whether an SDK page names a next one (NextToken, nextToken, PaginationToken); anything not an SDK page: unknown, so yes. */
export const hasNextToken = (page: unknown): boolean => {
  if (typeof page !== 'object' || page === null) return true;
  const p = page as { NextToken?: unknown; nextToken?: unknown; PaginationToken?: unknown };
  return Boolean(p.NextToken || p.nextToken || p.PaginationToken);
};

/** Whether an error is the deadline (ours, or the SDK's abort it caused). */
export const isDeadline = (error: unknown, deadline?: Deadline): boolean =>
  error instanceof DeadlineReached || (deadline !== undefined && deadline.signal.aborted && (error as { name?: string } | undefined)?.name === 'AbortError');

/** Forgets every run's start (tests). */
export const resetRunBudgets = (): void => runStarts.clear();
