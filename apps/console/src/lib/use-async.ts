import { useCallback, useEffect, useRef, useState } from 'react';

export type AsyncState<T> =
  | { status: 'loading'; value?: T; error?: undefined }
  | { status: 'ready'; value: T; error?: undefined }
  | { status: 'error'; value?: T; error: unknown };

/**
 * Loads something for a view and reloads on demand (`reload`) or every `pollMs`, keeping the
 * last value on screen while it reloads (no flash of a spinner, no layout shift). Answers that
 * arrive after the view changed its inputs are dropped.
 */
export function useAsync<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
  options: { pollMs?: number } = {},
): AsyncState<T> & { reload: () => void } {
  const [state, setState] = useState<AsyncState<T>>({ status: 'loading' });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const controller = new AbortController();
    setState((previous) => ({ status: 'loading', value: previous.value }));
    loadRef
      .current(controller.signal)
      .then((value) => {
        if (!controller.signal.aborted) setState({ status: 'ready', value });
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted) {
          setState((previous) => ({ status: 'error', error, value: previous.value }));
        }
      });
    return () => controller.abort();
    // The caller lists the inputs in `deps`; `load` itself is read through a ref.
  }, [...deps, tick]);

  useEffect(() => {
    if (!options.pollMs) return;
    const id = setInterval(() => setTick((t) => t + 1), options.pollMs);
    return () => clearInterval(id);
  }, [options.pollMs]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}
