import type { CallOptions } from '../http/typed-paths.js';
import type { Transport } from '../http/transport.js';
import type { TokenPair } from '../types.js';

/** Logins of platform admins and tenant members (JWT access token + rotating refresh token). */
export class Auth {
  constructor(private readonly transport: Transport) {}

  /**
   * Logs in and, on success, makes the access token this client's bearer credential (for
   * `/api/admin`, or a member's tenant routes when the client has no API key).
   */
  async login(email: string, password: string, options: CallOptions = {}): Promise<TokenPair> {
    const tokens = await this.transport.call(
      'post',
      '/api/auth/login',
      { body: { email, password }, ...options },
      'none',
    );
    this.transport.accessToken = tokens.accessToken;
    return tokens;
  }

  /** Rotates the refresh token (a spent one presented again revokes its successors). */
  async refresh(refreshToken: string, options: CallOptions = {}): Promise<TokenPair> {
    const tokens = await this.transport.call(
      'post',
      '/api/auth/refresh',
      { body: { refreshToken }, ...options },
      'none',
    );
    this.transport.accessToken = tokens.accessToken;
    return tokens;
  }

  async logout(refreshToken: string, options: CallOptions = {}): Promise<void> {
    await this.transport.call(
      'post',
      '/api/auth/logout',
      { body: { refreshToken }, ...options },
      'none',
    );
  }
}
