import type { ReactNode } from 'react';
import { submitWith } from '../lib/use-action';
import { ErrorNotice } from './ui';

/** What a form runs on submit (see useAction). */
interface FormAction {
  run: () => Promise<boolean>;
  busy: boolean;
  error: unknown;
}

/** A one-line form (its fields, then its button, disabled while it runs); its error below. */
export function RowForm({
  action,
  button,
  children,
}: {
  action: FormAction;
  button: string;
  children: ReactNode;
}) {
  return (
    <>
      <form className="form-row" onSubmit={submitWith(action.run)}>
        {children}
        <button type="submit" className="button-primary" disabled={action.busy}>
          {button}
        </button>
      </form>
      <ErrorNotice error={action.error} />
    </>
  );
}

/**
 * The form under a list that adds to it: its heading, its fields in a row (then `more`), its
 * error and its button.
 */
export function AddForm({
  title,
  action,
  button,
  disabled,
  more,
  children,
}: {
  title: string;
  action: FormAction;
  button: string;
  disabled?: boolean;
  more?: ReactNode;
  children: ReactNode;
}) {
  return (
    <form className="form-stack" onSubmit={submitWith(action.run)}>
      <h3>{title}</h3>
      <div className="form-row">{children}</div>
      {more}
      <ErrorNotice error={action.error} />
      <div>
        <button type="submit" className="button-primary" disabled={disabled}>
          {button}
        </button>
      </div>
    </form>
  );
}
