import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { pathOf } from '@maas/app-runtime';
import { from, mergeMap, type Observable } from 'rxjs';
import type { AuthenticatedRequest } from '../auth/principal.js';
import { AuditService } from './audit.service.js';

const MUTATIONS: Record<string, string> = {
  POST: 'create',
  PUT: 'put',
  PATCH: 'update',
  DELETE: 'delete',
};
// Answers to these carry secrets or nothing worth keeping; they are audited by their services.
const NOT_AUDITED = new Set(['/api/auth/login', '/api/auth/refresh', '/api/auth/logout']);
// Actions on an object that are not plain CRUD.
const ACTIONS: Record<string, { action: string; targetType: string }> = {
  'POST /api/training-jobs/:id/cancel': {
    action: 'training-jobs.cancel',
    targetType: 'training-jobs',
  },
};

/**
 * `POST /api/admin/tenants/:id/api-keys` → action `api-keys.create`, target type `api-keys`;
 * the target id is the created object's id, else the route's last parameter.
 */
export function describeMutation(method: string, pattern: string) {
  const segments = pattern.split('/').filter((s) => s && s !== 'api' && s !== 'admin');
  const targetParam = [...segments]
    .reverse()
    .find((s) => s.startsWith(':'))
    ?.slice(1);
  const special = ACTIONS[`${method} ${pattern}`];
  if (special) return { ...special, targetParam };
  const targetType = [...segments].reverse().find((s) => !s.startsWith(':')) ?? 'unknown';
  return { action: `${targetType}.${MUTATIONS[method]}`, targetType, targetParam };
}

/**
 * Every successful mutation on /api is written to the audit log before its answer goes out:
 * who (key or user), what (action), which object, in which tenant, from where. Request bodies
 * are never copied (they may hold passwords); route parameters are.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(private readonly audit: AuditService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const verb = MUTATIONS[request.method];
    const path = pathOf(request.url);
    // Only /api mutations: inference (/v1, /v2) is metered, not audited.
    if (!verb || !path.startsWith('/api/') || NOT_AUDITED.has(path)) return next.handle();
    return next
      .handle()
      .pipe(mergeMap((body: unknown) => from(this.write(request, body).then(() => body))));
  }

  private async write(request: AuthenticatedRequest, body: unknown): Promise<void> {
    const pattern = request.routeOptions.url ?? pathOf(request.url);
    const params = (request.params ?? {}) as Record<string, string>;
    const { action, targetType, targetParam } = describeMutation(request.method, pattern);
    const principal = request.principal;
    const createdId =
      body && typeof body === 'object' && 'id' in body
        ? String((body as { id: unknown }).id)
        : null;
    const tenantId =
      principal?.tenantId ??
      (pattern.startsWith('/api/admin/tenants/:id') ? params.id : null) ??
      (pattern === '/api/admin/tenants' && createdId ? createdId : null);
    await this.audit.record({
      // never the request body (it may hold passwords); route parameters only
      actorType: principal?.kind ?? 'anonymous',
      actorId: principal
        ? principal.kind === 'api-key'
          ? principal.keyId
          : principal.userId
        : null,
      tenantId,
      action,
      targetType,
      targetId:
        (request.method === 'POST' ? createdId : null) ??
        (targetParam ? params[targetParam] : null) ??
        createdId,
      ip: request.clientIp,
      requestId: request.id,
      details: { method: request.method, path: pathOf(request.url), params },
    });
  }
}
