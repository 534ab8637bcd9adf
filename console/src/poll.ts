/**
 * Live updates without reloading: `usePoll` runs a load now and every `intervalMs` while the tab is visible (a hidden
 * tab polls nothing; it catches up at once when shown again), one load at a time, and drops answers that arrive after
 * the inputs changed (a slow answer for the previous filter never overwrites the new one).
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Polled<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  /** Loads now (after an action), outside the timer. */
  readonly reload: () => void;
}

export const usePoll = <T,>(load: (signal: AbortSignal) => Promise<T>, intervalMs: number, deps: readonly unknown[], active = true): Polled<T> => {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const generation = useRef(0);
  const running = useRef<AbortController | undefined>(undefined);

  const run = useCallback(() => {
    if (running.current) return;
    const mine = generation.current;
    const controller = new AbortController();
    running.current = controller;
    load(controller.signal)
      .then((data) => mine === generation.current && setState({ data, error: undefined, loading: false }))
      .catch((error: unknown) => {
        if (controller.signal.aborted || mine !== generation.current) return;
        setState((s) => ({ data: s.data, error, loading: false }));
      })
      .finally(() => {
        if (running.current === controller) running.current = undefined;
      });
    // `deps` stand for what `load` reads (it is a new closure at every render).
  }, deps);

  useEffect(() => {
    generation.current += 1;
    running.current?.abort();
    running.current = undefined;
    setState((s) => ({ ...s, loading: true }));
    run();
    if (!active) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') run();
    }, intervalMs);
    const onVisible = () => document.visibilityState === 'visible' && run();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
      running.current?.abort();
      running.current = undefined;
    };
  }, [run, intervalMs, active]);

  return { ...state, reload: run };
};
