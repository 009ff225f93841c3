import type { IncomingHttpHeaders } from 'node:http';
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { DomainError } from '@maas/app-runtime';
import { ApiKeyService } from './api-key.service.js';
import { AuthService } from './auth.service.js';
import { UnauthenticatedBudget } from './unauthenticated-budget.service.js';

const JWT_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
import {
  type ApiKeyScope,
  type AuthenticatedRequest,
  type Principal,
  REQUIRED_SCOPE,
} from './principal.js';

/** Platform admins only (JWT from /api/auth/login). */
@Injectable()
export class AdminGuard extends AuthGuard('jwt') {
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    try {
      await super.canActivate(context);
    } catch {
      throw new DomainError('UNAUTHENTICATED', 'a valid admin access token is required');
    }
    const request = context
      .switchToHttp()
      .getRequest<AuthenticatedRequest & { user?: Principal }>();
    const principal = request.user;
    if (principal?.kind !== 'user' || principal.role !== 'platform_admin') {
      throw new DomainError('PERMISSION_DENIED', 'platform admin role required');
    }
    request.principal = principal;
    return true;
  }
}

/** A request presenting credentials: a Fastify request, or the inference path's exchange. */
export interface CredentialBearer {
  headers: IncomingHttpHeaders;
  /** Who sent it (ProxyTrust): per-IP budgets count against it. */
  clientIp: string;
  principal?: Principal;
}

export function presentedApiKey(request: Pick<CredentialBearer, 'headers'>): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header.length > 0) return header.trim();
  const authorization = request.headers.authorization;
  if (authorization?.toLowerCase().startsWith('bearer ')) return authorization.slice(7).trim();
  return undefined;
}

/**
 * Who a tenant request comes from: an API key (Authorization: Bearer or x-api-key) or a
 * tenant member's access token, holding `scope`. Used by TenantAuthGuard and by the
 * inference routes that run outside Nest's pipeline.
 */
@Injectable()
export class TenantAuthenticator {
  constructor(
    private readonly apiKeys: ApiKeyService,
    private readonly auth: AuthService,
    private readonly budget: UnauthenticatedBudget,
  ) {}

  /**
   * Unauthenticated requests (no credentials, a bad key or token) spend from their client
   * IP's budget, and are refused with 429 once it is spent, before any database lookup.
   */
  async authenticate(
    request: CredentialBearer,
    scope: ApiKeyScope | undefined,
  ): Promise<Principal & { scopes: ApiKeyScope[] }> {
    const key = presentedApiKey(request);
    if (!key) {
      this.budget.spend(request.clientIp);
      throw new DomainError('UNAUTHENTICATED', 'an API key is required');
    }
    let principal: Principal & { scopes: ApiKeyScope[] };
    if (JWT_PATTERN.test(key)) {
      // A tenant member's access token: its role decides the scopes. Only a token whose
      // signature holds reaches the database, so a bad one pays after the fact.
      const member = await this.auth.authenticateMember(key).catch((error: unknown) => {
        if ((error as { code?: string }).code === 'UNAUTHENTICATED') {
          this.budget.spend(request.clientIp);
        }
        throw error;
      });
      principal = { kind: 'user', ...member };
    } else {
      principal = await this.apiKeys.authenticate(key, request.clientIp);
    }
    if (scope && !principal.scopes.includes(scope)) {
      throw new DomainError(
        'PERMISSION_DENIED',
        principal.kind === 'api-key'
          ? `API key lacks the '${scope}' scope`
          : `the '${principal.role}' role does not allow '${scope}'`,
      );
    }
    request.principal = principal;
    return principal;
  }
}

/**
 * Tenant routes: an API key or member token holding the route's scope (@RequireScope). The
 * tenant it belongs to becomes the scope of every query the route makes.
 */
@Injectable()
export class TenantAuthGuard implements CanActivate {
  constructor(
    private readonly authenticator: TenantAuthenticator,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const scope = this.reflector.getAllAndOverride<ApiKeyScope | undefined>(REQUIRED_SCOPE, [
      context.getHandler(),
      context.getClass(),
    ]);
    await this.authenticator.authenticate(
      context.switchToHttp().getRequest<AuthenticatedRequest>(),
      scope,
    );
    return true;
  }
}
