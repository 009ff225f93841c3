import { type FormEvent, useState } from 'react';

/**
 * Runs something a user asked for (a form's submit, a button): `busy` while it runs, its
 * failure kept in `error` (cleared when it runs again) for an ErrorNotice. `run` answers
 * whether it succeeded.
 */
export function useAction<A extends unknown[]>(
  action: (...args: A) => Promise<unknown>,
): {
  run: (...args: A) => Promise<boolean>;
  busy: boolean;
  error: unknown;
  setError: (error: unknown) => void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (...args: A) => {
    setBusy(true);
    setError(null);
    try {
      await action(...args);
      return true;
    } catch (caught) {
      setError(caught);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, setError };
}

/** A form's submit handler that runs `action` instead of loading another page. */
export const submitWith =
  (action: () => unknown) =>
  (event: FormEvent): void => {
    event.preventDefault();
    void action();
  };
