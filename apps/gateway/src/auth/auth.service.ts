import { randomBytes } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { Algorithm, hash, verify } from '@node-rs/argon2';
import { DomainError, type Logger } from '@maas/app-runtime';
import { PrismaService } from '@maas/db';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway-config.js';

export const GATEWAY_LOGGER = Symbol('GATEWAY_LOGGER');

const DEFAULT_ADMIN_EMAIL = 'admin@maas.local';
// argon2id with OWASP's minimum memory cost; verification costs ~20-40 ms per login.
const ARGON2 = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export interface AccessTokenPayload {
  sub: string;
  role: string;
  tenantId: string | null;
  typ: 'access' | 'refresh';
}

export const hashPassword = (password: string) => hash(password, ARGON2);

@Injectable()
export class AuthService implements OnApplicationBootstrap {
  // A hash to verify against when the email is unknown, so timing does not reveal accounts.
  private readonly dummyHash = hashPassword(randomBytes(16).toString('hex'));

  constructor(
    private readonly prisma: PrismaService,
    private readonly jwt: JwtService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(GATEWAY_LOGGER) private readonly logger: Logger,
  ) {}

  async login(
    email: string,
    password: string,
  ): Promise<{ accessToken: string; refreshToken: string }> {
    const user = await this.prisma.user.findUnique({ where: { email: email.toLowerCase() } });
    const valid = await verify(user?.passwordHash ?? (await this.dummyHash), password);
    if (!user || !valid) throw new DomainError('UNAUTHENTICATED', 'invalid email or password');
    await this.prisma.user.update({ where: { id: user.id }, data: { lastLoginAt: new Date() } });
    return this.issueTokens({ sub: user.id, role: user.role, tenantId: user.tenantId });
  }

  async refresh(refreshToken: string): Promise<{ accessToken: string; refreshToken: string }> {
    let payload: AccessTokenPayload;
    try {
      payload = await this.jwt.verifyAsync<AccessTokenPayload>(refreshToken);
    } catch {
      throw new DomainError('UNAUTHENTICATED', 'invalid refresh token');
    }
    if (payload.typ !== 'refresh')
      throw new DomainError('UNAUTHENTICATED', 'invalid refresh token');
    const user = await this.prisma.user.findUnique({ where: { id: payload.sub } });
    if (!user) throw new DomainError('UNAUTHENTICATED', 'invalid refresh token');
    return this.issueTokens({ sub: user.id, role: user.role, tenantId: user.tenantId });
  }

  private async issueTokens(claims: Omit<AccessTokenPayload, 'typ'>) {
    const [accessToken, refreshToken] = await Promise.all([
      this.jwt.signAsync({ ...claims, typ: 'access' }, { expiresIn: this.config.JWT_TTL_SECONDS }),
      this.jwt.signAsync(
        { ...claims, typ: 'refresh' },
        { expiresIn: this.config.REFRESH_TTL_SECONDS },
      ),
    ]);
    return { accessToken, refreshToken };
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
