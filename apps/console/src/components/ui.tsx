import {
  type ReactNode,
  useEffect,
  useId,
  useRef,
  useState,
  type InputHTMLAttributes,
  type SelectHTMLAttributes,
} from 'react';
import { api } from '../api/client';
import { ApiError, messageOf } from '../api/problem';
import type { Page as ApiPage } from '../api/types';
import { Link } from '../lib/router';
import { useAction } from '../lib/use-action';

/**
 * A page: its heading takes the focus when the page opens, so screen readers announce it.
 * `parent`: the list it belongs to, a link before its title ("Models / iris").
 */
export function Page({
  title,
  parent,
  actions,
  children,
}: {
  title: ReactNode;
  parent?: { to: string; label: string };
  actions?: ReactNode;
  children: ReactNode;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus({ preventScroll: true });
  }, []);
  return (
    <section className="page">
      <header className="page-header">
        <h1 ref={heading} tabIndex={-1}>
          {parent && (
            <>
              <Link to={parent.to} className="crumb">
                {parent.label}
              </Link>{' '}
              /{' '}
            </>
          )}
          {title}
        </h1>
        {actions && <div className="page-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

export function Panel({
  title,
  children,
  actions,
  testId,
}: {
  title: ReactNode;
  children: ReactNode;
  actions?: ReactNode;
  testId?: string;
}) {
  const id = useId();
  return (
    <section className="panel" aria-labelledby={id} data-testid={testId}>
      <header className="panel-header">
        <h2 id={id}>{title}</h2>
        {actions && <div className="panel-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

/** Placeholder rows of the size the content will take, so nothing jumps when it arrives. */
export function Loading({ label = 'Loading…', rows = 3 }: { label?: string; rows?: number }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="visually-hidden">{label}</span>
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="skeleton" aria-hidden="true" />
      ))}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/**
 * An error answer as the gateway phrased it, with its request id for the logs; nothing while
 * `error` is null (no error).
 */
export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (error === null) return null;
  const requestId = error instanceof ApiError ? error.requestId : undefined;
  return (
    <div className="notice notice-error" role="alert">
      <p>{messageOf(error)}</p>
      {requestId && <p className="muted small">Request id: {requestId}</p>}
      {onRetry && (
        <button type="button" className="button-small" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Notice({ children, tone = 'info' }: { children: ReactNode; tone?: string }) {
  return (
    <div className={`notice notice-${tone}`} role="status">
      {children}
    </div>
  );
}

/**
 * The usual body of a view: the value when there is one (even while it reloads), else the
 * loading placeholder or the error.
 */
export function AsyncView<T>({
  state,
  children,
  rows,
}: {
  state: { status: string; value?: T; error?: unknown; reload: () => void };
  children: (value: T) => ReactNode;
  rows?: number;
}) {
  if (state.value !== undefined) {
    return (
      <>
        {state.status === 'error' && <ErrorNotice error={state.error} onRetry={state.reload} />}
        {children(state.value)}
      </>
    );
  }
  if (state.status === 'error') return <ErrorNotice error={state.error} onRetry={state.reload} />;
  return <Loading rows={rows} />;
}

/** The items, or the `empty` message when there are none. */
export function ListOrEmpty<T>({
  items,
  empty,
  children,
}: {
  items: T[];
  empty: ReactNode;
  children: (items: T[]) => ReactNode;
}) {
  return items.length === 0 ? <Empty>{empty}</Empty> : children(items);
}

/** A loaded list (all of it, or one page of it): see AsyncView and ListOrEmpty. */
export function AsyncList<T>({
  state,
  empty,
  rows,
  children,
}: {
  state: { status: string; value?: T[] | ApiPage<T>; error?: unknown; reload: () => void };
  empty: ReactNode;
  rows?: number;
  children: (items: T[]) => ReactNode;
}) {
  return (
    <AsyncView state={state} rows={rows}>
      {(value) => (
        <ListOrEmpty items={Array.isArray(value) ? value : value.items} empty={empty}>
          {children}
        </ListOrEmpty>
      )}
    </AsyncView>
  );
}

const STATUS_TONES: Record<string, string> = {
  ready: 'good',
  active: 'good',
  succeeded: 'good',
  running: 'busy',
  validating: 'busy',
  uploading: 'busy',
  queued: 'wait',
  failed: 'bad',
  corrupt: 'bad',
  quarantined: 'bad',
  suspended: 'bad',
  revoked: 'bad',
  cancelled: 'muted',
  archived: 'muted',
  expired: 'muted',
};

export function StatusBadge({ status, testId }: { status: string; testId?: string }) {
  return (
    <span className={`badge badge-${STATUS_TONES[status] ?? 'muted'}`} data-testid={testId}>
      {status}
    </span>
  );
}

type FieldProps = InputHTMLAttributes<HTMLInputElement> & {
  label: ReactNode;
  hint?: ReactNode;
  error?: string;
  /** Receives the text on every change (instead of `onChange`'s event). */
  onValue?: (value: string) => void;
};

/** A labelled input; its hint and error are announced with it (aria-describedby). */
export function Field({ label, hint, error, className, onValue, ...input }: FieldProps) {
  const id = useId();
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].join(' ').trim();
  return (
    <div className={`field ${className ?? ''}`}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        aria-invalid={error ? true : undefined}
        aria-describedby={described || undefined}
        onChange={onValue && ((event) => onValue(event.target.value))}
        {...input}
      />
      {hint && (
        <p id={`${id}-hint`} className="hint">
          {hint}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

type SelectProps = SelectHTMLAttributes<HTMLSelectElement> & {
  label: ReactNode;
  hint?: ReactNode;
  options: readonly (string | { value: string; label: string })[];
  /** Receives the chosen value on every change (instead of `onChange`'s event). */
  onValue?: (value: string) => void;
};

export function SelectField({ label, hint, options, className, onValue, ...select }: SelectProps) {
  const id = useId();
  return (
    <div className={`field ${className ?? ''}`}>
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        aria-describedby={hint ? `${id}-hint` : undefined}
        onChange={onValue && ((event) => onValue(event.target.value))}
        {...select}
      >
        {options.map((option) => {
          const { value, label: text } =
            typeof option === 'string' ? { value: option, label: option } : option;
          return (
            <option key={value} value={value}>
              {text}
            </option>
          );
        })}
      </select>
      {hint && (
        <p id={`${id}-hint`} className="hint">
          {hint}
        </p>
      )}
    </div>
  );
}

/** A select in a panel's header that narrows what the panel lists. */
export function FilterSelect(props: SelectProps) {
  return <SelectField className="field-inline" {...props} />;
}

/** Checkboxes for a set of choices; `onToggle` says which one changed and how. */
export function CheckboxGroup({
  legend,
  options,
  isChecked,
  onToggle,
}: {
  legend: string;
  options: readonly string[];
  isChecked: (option: string) => boolean;
  onToggle: (option: string, checked: boolean) => void;
}) {
  return (
    <fieldset className="checkbox-group">
      <legend>{legend}</legend>
      {options.map((option) => (
        <label key={option} className="checkbox">
          <input
            type="checkbox"
            checked={isChecked(option)}
            onChange={(event) => onToggle(option, event.target.checked)}
          />
          {option}
        </label>
      ))}
    </fieldset>
  );
}

type ConfirmProps = {
  children: ReactNode;
  title: string;
  message: ReactNode;
  confirmLabel: string;
  onConfirm: () => Promise<unknown>;
  className?: string;
  disabled?: boolean;
};

/**
 * A button that asks first, in a modal <dialog> (focus moves into it, Escape cancels, the
 * page behind is inert), then runs `onConfirm` and shows its error there if it fails.
 */
export function ConfirmButton({
  children,
  title,
  message,
  confirmLabel,
  onConfirm,
  className = 'button-danger',
  disabled,
}: ConfirmProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const { run, busy, error, setError } = useAction(onConfirm);
  const id = useId();
  const confirm = async () => {
    if (await run()) dialog.current?.close();
  };
  return (
    <>
      <button
        type="button"
        className={className}
        disabled={disabled}
        onClick={() => {
          setError(null);
          dialog.current?.showModal();
        }}
      >
        {children}
      </button>
      <dialog ref={dialog} aria-labelledby={`${id}-title`} className="dialog">
        <h2 id={`${id}-title`}>{title}</h2>
        <div className="dialog-body">{message}</div>
        <ErrorNotice error={error} />
        <div className="dialog-actions">
          <button type="button" onClick={() => dialog.current?.close()} disabled={busy}>
            Cancel
          </button>
          <button
            type="button"
            className="button-danger"
            onClick={() => void confirm()}
            disabled={busy}
          >
            {busy ? 'Working…' : confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  );
}

/** A ConfirmButton that DELETEs `path`, then calls `onDeleted`. */
export function DeleteButton({
  path,
  onDeleted,
  ...confirm
}: Omit<ConfirmProps, 'onConfirm'> & { path: string; onDeleted: () => void }) {
  return (
    <ConfirmButton
      {...confirm}
      onConfirm={async () => {
        await api(path, { method: 'DELETE' });
        onDeleted();
      }}
    />
  );
}

/** The last panel of a record's page: what deleting it removes, and the button that does. */
export function DeletePanel({
  what,
  hint,
  ...button
}: Omit<Parameters<typeof DeleteButton>[0], 'children' | 'confirmLabel'> & {
  what: string;
  hint: ReactNode;
}) {
  return (
    <Panel title={`Delete this ${what}`}>
      <p className="hint">{hint}</p>
      <DeleteButton {...button} confirmLabel={`Delete ${what}`}>
        Delete {what}
      </DeleteButton>
    </Panel>
  );
}

/** Copies a secret or id to the clipboard, saying so for screen readers too. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="button-small"
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(
          () => setCopied(true),
          () => setCopied(false),
        );
      }}
    >
      <span aria-live="polite">{copied ? 'Copied' : label}</span>
    </button>
  );
}

/** A determinate progress bar with its percentage as text. */
export function ProgressBar({ value, label }: { value: number; label: string }) {
  const percent = Math.round(value * 100);
  return (
    <div className="progress">
      <progress max={100} value={percent} aria-label={label} data-testid="upload-progress" />
      <span className="progress-text">{percent}%</span>
    </div>
  );
}

/** A key → value list (definition list) for a record's fields. */
export function Facts({ items }: { items: [ReactNode, ReactNode][] }) {
  return (
    <dl className="facts">
      {items.map(([term, value], i) => (
        <div key={i} className="fact">
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Wraps a table so a narrow screen scrolls it sideways instead of squeezing the page. */
export function TableScroll({ children, label }: { children: ReactNode; label: string }) {
  return (
    <div className="table-scroll" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
