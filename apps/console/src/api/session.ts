import { decodeAccessToken, refreshDelayMs } from './jwt';
import { ApiError, apiErrorOf } from './problem';

/** Who is signed in, as the pages need it. */
export interface Session {
  /** admin: a platform admin's login; member: a tenant user's login; apiKey: a tenant's key. */
  kind: 'admin' | 'member' | 'apiKey';
  /** The email, or the key's public prefix. */
  label: string;
  tenantId: string | null;
  /** platform_admin | owner | developer | viewer, or apiKey. */
  role: string;
}

export interface SessionState {
  session: Session | null;
  /** Why the last session ended, shown on the sign-in page (revoked key, expired login…). */
  notice: string | null;
  /** True until a session kept in this tab has been restored (or found absent). */
  restoring: boolean;
}

type Credential =
  | { kind: 'apiKey'; key: string }
  | { kind: 'token'; email: string; accessToken: string | null; refreshToken: string };

/**
 * Kept in sessionStorage only (this tab, gone when it closes), never localStorage: the API key
 * or the refresh token, so a reload does not sign the user out. Access tokens stay in memory.
 */
const STORAGE_KEY = 'maas-console-session';
const KEY_PREFIX = /^(maas_live_[A-Za-z0-9]{12})_/;

/** Whether the gateway refused the credential itself (not a busy or unreachable gateway). */
const isSignedOut = (error: unknown) => error instanceof ApiError && error.status === 401;

/**
 * The signed-in credential and everything about it: sign-in, silent token refresh (ahead of
 * expiry, and once more on a 401), sign-out (also when the gateway stops accepting the
 * credential: a revoked key, a spent refresh token). Pages subscribe with useSession().
 */
export class SessionStore {
  private credential: Credential | null = null;
  private state: SessionState = { session: null, notice: null, restoring: true };
  private readonly listeners = new Set<() => void>();
  private refreshing: Promise<boolean> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly storage: Storage | null) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): SessionState => this.state;

  private set(state: Partial<SessionState>): void {
    this.state = { ...this.state, ...state };
    for (const listener of this.listeners) listener();
  }

  /** Picks up the credential this tab kept, if any; a login is refreshed to a new token. */
  async restore(): Promise<void> {
    const kept = this.read();
    if (kept === null) {
      this.set({ restoring: false });
      return;
    }
    this.credential = kept;
    if (kept.kind === 'apiKey') {
      this.set({ session: keySession(kept.key), restoring: false });
      return;
    }
    const ok = await this.refresh();
    this.set({ restoring: false, ...(ok ? {} : { session: null }) });
  }

  async signInWithPassword(email: string, password: string): Promise<Session> {
    const tokens = await postJson<TokenPair>('/api/auth/login', { email, password });
    this.credential = { kind: 'token', email, ...tokens };
    const session = this.adoptTokens(tokens);
    this.write();
    this.set({ notice: null });
    return session;
  }

  /** Checks the key with one cheap call (401: refused; 403: valid, lacks that scope). */
  async signInWithKey(key: string): Promise<Session> {
    const trimmed = key.trim();
    const response = await fetch('/api/models?limit=1', { headers: { 'x-api-key': trimmed } });
    if (response.status === 401 || (!response.ok && response.status !== 403)) {
      throw await errorOf(response);
    }
    this.credential = { kind: 'apiKey', key: trimmed };
    const session = keySession(trimmed);
    this.write();
    this.set({ session, notice: null });
    return session;
  }

  /** Ends the session here and, for a login, spends its refresh token at the gateway. */
  signOut(notice: string | null = null): void {
    const credential = this.credential;
    this.credential = null;
    clearTimeout(this.timer);
    this.storage?.removeItem(STORAGE_KEY);
    this.set({ session: null, notice });
    if (credential?.kind === 'token') {
      void fetch('/api/auth/logout', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: credential.refreshToken }),
      }).catch(() => undefined);
    }
  }

  /** Headers that authenticate a call, with an access token refreshed first when it is due. */
  async authHeaders(): Promise<Record<string, string>> {
    const credential = this.credential;
    if (credential === null) return {};
    if (credential.kind === 'apiKey') return { 'x-api-key': credential.key };
    const claims = credential.accessToken ? decodeAccessToken(credential.accessToken) : undefined;
    if (claims === undefined || claims.exp * 1000 - Date.now() < 5_000) await this.refresh();
    const current = this.credential;
    return current?.kind === 'token' && current.accessToken
      ? { authorization: `Bearer ${current.accessToken}` }
      : {};
  }

  /**
   * A call was answered 401: a login gets one refresh (true: retry the call); a key, or a
   * login whose refresh fails, is signed out with the reason.
   */
  async unauthorized(error: ApiError): Promise<boolean> {
    const credential = this.credential;
    if (credential === null) return false;
    if (credential.kind === 'apiKey') {
      this.signOut(
        `Signed out: the gateway no longer accepts this API key (${error.detail || 'revoked or expired'}).`,
      );
      return false;
    }
    credential.accessToken = null;
    return this.refresh();
  }

  /** One refresh at a time: refresh tokens rotate, and a spent one presented twice is theft. */
  private refresh(): Promise<boolean> {
    this.refreshing ??= this.rotate().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async rotate(): Promise<boolean> {
    const credential = this.credential;
    if (credential?.kind !== 'token') return false;
    try {
      const tokens = await postJson<TokenPair>('/api/auth/refresh', {
        refreshToken: credential.refreshToken,
      });
      if (this.credential !== credential) return false;
      credential.accessToken = tokens.accessToken;
      credential.refreshToken = tokens.refreshToken;
      this.adoptTokens(tokens);
      this.write();
      return true;
    } catch (error) {
      if (this.credential !== credential) return false;
      if (isSignedOut(error)) {
        this.signOut('Your session ended (signed out elsewhere or expired); sign in again.');
        return false;
      }
      // The gateway is unreachable or busy: keep the session and try again shortly.
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.refresh(), 5_000);
      return false;
    }
  }

  private adoptTokens(tokens: TokenPair): Session {
    const claims = decodeAccessToken(tokens.accessToken);
    if (claims === undefined) throw new Error('the gateway answered an unreadable access token');
    const credential = this.credential;
    const email = credential?.kind === 'token' ? credential.email : '';
    const session: Session = {
      kind: claims.role === 'platform_admin' ? 'admin' : 'member',
      label: email,
      tenantId: claims.tenantId,
      role: claims.role,
    };
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), refreshDelayMs(claims, Date.now()));
    const previous = this.state.session;
    const same =
      previous !== null &&
      previous.kind === session.kind &&
      previous.label === session.label &&
      previous.tenantId === session.tenantId &&
      previous.role === session.role;
    if (!same) this.set({ session });
    return same ? previous : session;
  }

  private read(): Credential | null {
    try {
      const raw = this.storage?.getItem(STORAGE_KEY);
      if (!raw) return null;
      const kept = JSON.parse(raw) as Record<string, unknown>;
      if (kept.kind === 'apiKey' && typeof kept.key === 'string') {
        return { kind: 'apiKey', key: kept.key };
      }
      if (
        kept.kind === 'token' &&
        typeof kept.refreshToken === 'string' &&
        typeof kept.email === 'string'
      ) {
        return {
          kind: 'token',
          email: kept.email,
          refreshToken: kept.refreshToken,
          accessToken: null,
        };
      }
    } catch {
      // A value this version cannot read: sign in again.
    }
    return null;
  }

  private write(): void {
    const credential = this.credential;
    if (credential === null || this.storage === null) return;
    const kept =
      credential.kind === 'apiKey'
        ? { kind: 'apiKey', key: credential.key }
        : { kind: 'token', email: credential.email, refreshToken: credential.refreshToken };
    this.storage.setItem(STORAGE_KEY, JSON.stringify(kept));
  }
}

interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

function keySession(key: string): Session {
  const prefix = KEY_PREFIX.exec(key)?.[1] ?? `${key.slice(0, 14)}…`;
  return { kind: 'apiKey', label: prefix, tenantId: null, role: 'apiKey' };
}

/** An error answer as an ApiError (its body read as problem details or `{error}`). */
export async function errorOf(response: Response): Promise<ApiError> {
  return apiErrorOf({
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: await response.text(),
    requestId: response.headers.get('x-request-id'),
    retryAfter: response.headers.get('retry-after'),
  });
}

async function postJson<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await errorOf(response);
  return (await response.json()) as T;
}
