/**
 * The aws adapters' time budgets (functions/core/tools/aws/deadline.ts): a call's deadline is the earlier of its own
 * budget and what is left of its agent run's; racing work against it ends in DeadlineReached when the work outlasts it
 * (the SDK's requests aborted through its signal), paginators stop between or during pages.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { callDeadline, Deadline, DeadlineReached, isDeadline, resetRunBudgets } from '../../../../functions/core/tools/aws/deadline.ts';

const never = <T>() => new Promise<T>(() => undefined);

describe('callDeadline', () => {
  afterEach(() => resetRunBudgets());

  it('is the call budget from now, or what is left of the run budget when that comes first', () => {
    let now = 1_000_000;
    const clock = () => now;
    const first = callDeadline({ runId: 'r1' }, { callMs: 20_000, runMs: 40_000 }, clock);
    expect(first.at).toBe(1_020_000);
    expect(first.why).toContain('AWS_TOOLS_CALL_BUDGET_MS');
    now += 30_000;
    // The run started at the first call: 10 s of its 40 s are left.
    const later = callDeadline({ runId: 'r1' }, { callMs: 20_000, runMs: 40_000 }, clock);
    expect(later.at).toBe(1_040_000);
    expect(later.why).toContain('AWS_TOOLS_RUN_BUDGET_MS');
    // Another run has its own start; a call without a run has the call budget only.
    expect(callDeadline({ runId: 'r2' }, { callMs: 20_000, runMs: 40_000 }, clock).at).toBe(now + 20_000);
    expect(callDeadline({}, { callMs: 20_000, runMs: 1 }, clock).at).toBe(now + 20_000);
    [first, later].forEach((d) => d.dispose());
  });

  it('a spent run budget is a deadline already passed', () => {
    let now = 0;
    callDeadline({ runId: 'r' }, { runMs: 5_000 }, () => now).dispose();
    now = 6_000;
    const d = callDeadline({ runId: 'r' }, { runMs: 5_000 }, () => now);
    expect(d.expired).toBe(true);
    expect(d.signal.aborted).toBe(true);
  });
});

describe('Deadline', () => {
  it('race: the work when it is first, DeadlineReached naming the budget when the deadline is', async () => {
    const d = new Deadline(Date.now() + 30, 'the call budget of 30 ms (AWS_TOOLS_CALL_BUDGET_MS)');
    await expect(d.race(Promise.resolve(7))).resolves.toBe(7);
    const error = await d.race(never()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineReached);
    expect((error as Error).message).toBe('stopped at the deadline (the call budget of 30 ms (AWS_TOOLS_CALL_BUDGET_MS))');
    expect(d.signal.aborted).toBe(true);
    d.dispose();
  });

  it("an SDK abort the deadline caused reads as the deadline, the work's own errors as themselves", async () => {
    const d = new Deadline(Date.now() + 20, 'budget');
    const aborting = new Promise((_, reject) => d.signal.addEventListener('abort', () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }))));
    const error = await d.race(aborting).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineReached);
    expect(isDeadline(Object.assign(new Error('x'), { name: 'AbortError' }), d)).toBe(true);
    const other = new Deadline(Date.now() + 10_000, 'budget');
    await expect(other.race(Promise.reject(new Error('AccessDenied')))).rejects.toThrow('AccessDenied');
    other.dispose();
  });

  it('pages: stops a paginator whose page never comes, and closes it', async () => {
    let closed = false;
    async function* pages() {
      try {
        yield 1;
        yield 2;
        await never();
      } finally {
        closed = true;
      }
    }
    const d = new Deadline(Date.now() + 30, 'budget');
    const seen: number[] = [];
    const error = await (async () => {
      for await (const p of d.pages(pages())) seen.push(p);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([1, 2]);
    expect(error).toBeInstanceOf(DeadlineReached);
    // The generator is suspended in its await: its close is queued behind it, never thrown.
    expect(closed).toBe(false);
    d.dispose();
  });

  it('none never passes', () => {
    const d = Deadline.none();
    expect(d.expired).toBe(false);
    expect(d.remaining()).toBe(Number.POSITIVE_INFINITY);
  });
});
