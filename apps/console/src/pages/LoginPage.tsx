import { useState } from 'react';
import { sessionStore } from '../api/client';
import { ErrorNotice, Field } from '../components/ui';
import { submitWith, useAction } from '../lib/use-action';

type Mode = 'password' | 'apiKey';

const MODES: { mode: Mode; label: string }[] = [
  { mode: 'password', label: 'Email and password' },
  { mode: 'apiKey', label: 'API key' },
];

/**
 * Sign in with an email and password (platform admins and tenant members: the gateway's login
 * answers a token that says which) or with a tenant's API key. The key is kept in this tab's
 * sessionStorage only.
 */
export function LoginPage({ notice }: { notice: string | null }) {
  const [mode, setMode] = useState<Mode>('password');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [key, setKey] = useState('');
  const signIn = useAction(() =>
    mode === 'password'
      ? sessionStore.signInWithPassword(email.trim(), password)
      : sessionStore.signInWithKey(key),
  );

  return (
    <div className="shell shell-centered">
      <main className="login" id="main">
        <h1>
          maas <span className="brand-sub">console</span>
        </h1>
        {notice && (
          <div className="notice notice-warn" role="alert" data-testid="signed-out-notice">
            {notice}
          </div>
        )}
        <div className="segmented" role="group" aria-label="Sign in with">
          {MODES.map((choice) => (
            <button
              key={choice.mode}
              type="button"
              aria-pressed={mode === choice.mode}
              onClick={() => {
                setMode(choice.mode);
                signIn.setError(null);
              }}
            >
              {choice.label}
            </button>
          ))}
        </div>
        <form onSubmit={submitWith(signIn.run)} className="form-stack">
          {mode === 'password' ? (
            <>
              <Field
                label="Email"
                type="email"
                autoComplete="username"
                required
                value={email}
                onValue={setEmail}
              />
              <Field
                label="Password"
                type="password"
                autoComplete="current-password"
                required
                value={password}
                onValue={setPassword}
              />
              <p className="hint">
                Platform admins and tenant members. Your login refreshes itself while this tab is
                open.
              </p>
            </>
          ) : (
            <>
              <Field
                label="API key"
                type="password"
                autoComplete="off"
                spellCheck={false}
                required
                value={key}
                onValue={setKey}
                hint="maas_live_… Kept in this tab only (session storage), gone when it closes."
              />
            </>
          )}
          <ErrorNotice error={signIn.error} />
          <button type="submit" className="button-primary" disabled={signIn.busy}>
            {signIn.busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </main>
    </div>
  );
}
