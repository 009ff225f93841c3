import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { Algorithm, hash, verify } from '@node-rs/argon2';
import { APP_LOGGER, DomainError, type Logger } from '@maas/app-runtime';
import { PrismaService } from '@maas/db';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';
import { AuditService } from '../audit/audit.service.js';
import { CacheInvalidationService } from './cache-invalidation.service.js';
import { LoginAttemptsService } from './login-attempts.service.js';
import { API_KEY_SCOPES, type ApiKeyScope } from './principal.js';

const DEFAULT_ADMIN_EMAIL = 'admin@maas.local';
// argon2id with OWASP's minimum memory cost; verification costs ~20-40 ms per login.
const ARGON2 = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export interface AccessTokenPayload {
  sub: string;
  role: string;
  tenantId: string | null;
  typ: 'access' | 'refresh';
}

/** What a tenant member's role allows on tenant routes. */
export const ROLE_SCOPES: Record<string, readonly ApiKeyScope[]> = {
  viewer: ['models:read', 'usage:read'],
  developer: ['infer', 'models:read', 'models:write', 'train', 'usage:read'],
  owner: API_KEY_SCOPES,
};

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export const hashPassword = (password: string) => hash(password, ARGON2);

@Injectable()
export class AuthService implements OnApplicationBootstrap {
  // A hash to verify against when the email is unknown, so timing does not reveal accounts.
  private readonly dummyHash = hashPassword(randomBytes(16).toString('hex'));

  constructor(
    private readonly prisma: PrismaService,
    private readonly jwt: JwtService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(APP_LOGGER) private readonly logger: Logger,
    private readonly attempts: LoginAttemptsService,
    private readonly audit: AuditService,
    invalidation: CacheInvalidationService,
  ) {
    invalidation.onInvalidate((event) => {
      if (event.kind === 'user') this.members.delete(event.userId);
      if (event.kind === 'tenant') {
        for (const [userId, cached] of this.members) {
          if (cached.member?.tenantId === event.tenantId) this.members.delete(userId);
        }
      }
    });
  }

  async login(
    email: string,
    password: string,
    ip: string,
  ): Promise<{ accessToken: string; refreshToken: string }> {
    const account = email.toLowerCase();
    // Counted as a failure until the password proves right (LoginAttemptsService).
    const ticket = await this.attempts.check(account, ip);
    const user = await this.prisma.user.findUnique({ where: { email: account } });
    const valid = await verify(user?.passwordHash ?? (await this.dummyHash), password);
    if (!user || !valid) throw new DomainError('UNAUTHENTICATED', 'invalid email or password');
    await this.attempts.succeeded(ticket);
    await this.prisma.user.update({ where: { id: user.id }, data: { lastLoginAt: new Date() } });
    await this.audit.record({
      actorType: 'user',
      actorId: user.id,
      tenantId: user.tenantId,
      action: 'auth.login',
      targetType: 'users',
      targetId: user.id,
      ip,
    });
    return this.issueTokens(user);
  }

  /**
   * Rotates a refresh token: the presented one is spent and a new one issued. Presenting a
   * spent token again means it was stolen or replayed, so every token descended from it (the
   * family) is revoked and the holder has to log in again.
   */
  async refresh(refreshToken: string): Promise<{ accessToken: string; refreshToken: string }> {
    const invalid = new DomainError('UNAUTHENTICATED', 'invalid refresh token');
    const row = await this.prisma.refreshToken.findUnique({
      where: { tokenHash: hashToken(refreshToken) },
      include: { user: true },
    });
    if (!row || row.expiresAt.getTime() <= Date.now()) throw invalid;
    if (row.revokedAt || row.replacedById) {
      await this.revokeFamily(row.replacedById);
      throw invalid;
    }
    const { token, id } = await this.newRefreshToken(row.userId);
    const spent = await this.prisma.refreshToken.updateMany({
      where: { id: row.id, revokedAt: null, replacedById: null },
      data: { revokedAt: new Date(), replacedById: id },
    });
    if (spent.count !== 1) {
      // Rotated concurrently by someone else holding the same token: treat as reuse.
      await this.prisma.refreshToken.update({ where: { id }, data: { revokedAt: new Date() } });
      throw invalid;
    }
    return { accessToken: await this.accessToken(row.user), refreshToken: token };
  }

  /** Revokes a refresh token (logout); unknown tokens are ignored. */
  async logout(refreshToken: string): Promise<void> {
    await this.prisma.refreshToken.updateMany({
      where: { tokenHash: hashToken(refreshToken), revokedAt: null },
      data: { revokedAt: new Date() },
    });
  }

  private async revokeFamily(nextId: string | null): Promise<void> {
    // Follows the chain of rotations forward from the reused token.
    for (let id = nextId, hops = 0; id && hops < 10_000; hops++) {
      const next = await this.prisma.refreshToken.update({
        where: { id },
        data: { revokedAt: new Date() },
        select: { replacedById: true },
      });
      id = next.replacedById;
    }
  }

  private async newRefreshToken(userId: string): Promise<{ token: string; id: string }> {
    const token = `maas_rt_${randomBytes(32).toString('base64url')}`;
    const row = await this.prisma.refreshToken.create({
      data: {
        userId,
        tokenHash: hashToken(token),
        expiresAt: new Date(Date.now() + this.config.REFRESH_TTL_SECONDS * 1000),
      },
    });
    return { token, id: row.id };
  }

  private accessToken(user: { id: string; role: string; tenantId: string | null }) {
    return this.jwt.signAsync(
      { sub: user.id, role: user.role, tenantId: user.tenantId, typ: 'access' },
      { expiresIn: this.config.JWT_TTL_SECONDS },
    );
  }

  private async issueTokens(user: { id: string; role: string; tenantId: string | null }) {
    const [accessToken, refresh] = await Promise.all([
      this.accessToken(user),
      this.newRefreshToken(user.id),
    ]);
    return { accessToken, refreshToken: refresh.token };
  }

  private readonly members = new Map<
    string,
    { member: { role: string; tenantId: string | null; active: boolean } | null; at: number }
  >();

  /**
   * A tenant member's access token on a tenant route: the user must still exist and its tenant
   * be active (checked through a cache as short as the API key cache).
   */
  async authenticateMember(
    token: string,
  ): Promise<{ userId: string; role: string; tenantId: string; scopes: ApiKeyScope[] }> {
    let payload: AccessTokenPayload;
    try {
      payload = await this.jwt.verifyAsync<AccessTokenPayload>(token);
    } catch {
      throw new DomainError('UNAUTHENTICATED', 'invalid or expired access token');
    }
    if (payload.typ !== 'access') {
      throw new DomainError('UNAUTHENTICATED', 'invalid or expired access token');
    }
    let cached = this.members.get(payload.sub);
    if (!cached || Date.now() - cached.at >= this.config.API_KEY_CACHE_MS) {
      const user = await this.prisma.user.findUnique({
        where: { id: payload.sub },
        include: { tenant: { select: { status: true } } },
      });
      cached = {
        member: user
          ? { role: user.role, tenantId: user.tenantId, active: user.tenant?.status === 'active' }
          : null,
        at: Date.now(),
      };
      if (this.members.size > 10_000) this.members.clear();
      this.members.set(payload.sub, cached);
    }
    const member = cached.member;
    if (!member) throw new DomainError('UNAUTHENTICATED', 'invalid or expired access token');
    if (!member.tenantId) {
      throw new DomainError('PERMISSION_DENIED', 'tenant routes need an API key or a tenant user');
    }
    if (!member.active) throw new DomainError('PERMISSION_DENIED', 'tenant is suspended');
    return {
      userId: payload.sub,
      role: member.role,
      tenantId: member.tenantId,
      scopes: [...(ROLE_SCOPES[member.role] ?? [])],
    };
  }

  /** The first platform admin: from MAAS_ADMIN_EMAIL/PASSWORD, else generated and printed once. */
  async onApplicationBootstrap(): Promise<void> {
    const email = (this.config.MAAS_ADMIN_EMAIL ?? DEFAULT_ADMIN_EMAIL).toLowerCase();
    const existing = await this.prisma.user.findUnique({ where: { email } });
    if (existing) return;
    if (!this.config.MAAS_ADMIN_EMAIL) {
      const anyAdmin = await this.prisma.user.findFirst({ where: { role: 'platform_admin' } });
      if (anyAdmin) return;
    }
    const password = this.config.MAAS_ADMIN_PASSWORD ?? randomBytes(12).toString('base64url');
    await this.prisma.user
      .create({
        data: { email, role: 'platform_admin', passwordHash: await hashPassword(password) },
      })
      .catch((error: { code?: string }) => {
        // Another gateway instance created it first.
        if (error.code !== 'P2002') throw error;
      });
    this.logger.info({ email }, 'created the first platform admin');
    if (!this.config.MAAS_ADMIN_PASSWORD) {
      // Printed to the terminal once, deliberately outside the structured log.
      process.stdout.write(
        `\n  First platform admin created: ${email} / ${password}\n  (set MAAS_ADMIN_EMAIL and MAAS_ADMIN_PASSWORD to choose them)\n\n`,
      );
    }
  }
}
