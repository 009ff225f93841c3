import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

export const API_KEY_SCOPES = [
  'infer',
  'models:read',
  'models:write',
  'train',
  'usage:read',
] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** Who is calling: a tenant's API key, or a user holding a JWT. */
export type Principal =
  | { kind: 'api-key'; tenantId: string; keyId: string; scopes: ApiKeyScope[] }
  | {
      kind: 'user';
      userId: string;
      role: string;
      tenantId: string | null;
      /** set on tenant routes, from the member's role */
      scopes?: ApiKeyScope[];
    };

export interface AuthenticatedRequest extends FastifyRequest {
  principal?: Principal;
}

export const REQUIRED_SCOPE = 'maas:required-scope';
/** The scope an API key needs for a tenant route. */
export const RequireScope = (scope: ApiKeyScope) => SetMetadata(REQUIRED_SCOPE, scope);

export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext) => {
  return context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
});

/** The tenant a tenant route acts in (set by TenantAuthGuard, so always present there). */
export const CurrentTenantId = createParamDecorator((_: unknown, context: ExecutionContext) => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal?.tenantId)
    throw new Error('CurrentTenantId used on a route without TenantAuthGuard');
  return principal.tenantId;
});

export function actorOf(principal: Principal): string {
  return principal.kind === 'api-key' ? `api-key:${principal.keyId}` : `user:${principal.userId}`;
}
