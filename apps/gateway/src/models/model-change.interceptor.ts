import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { type Observable, tap } from 'rxjs';
import { CacheInvalidationService } from '../auth/cache-invalidation.service.js';
import type { AuthenticatedRequest } from '../auth/principal.js';

/**
 * After any successful change to a model (its versions, labels, deletion), every gateway drops
 * the versions it resolved for that model, so the change serves at once.
 */
@Injectable()
export class ModelChangeInterceptor implements NestInterceptor {
  constructor(private readonly invalidation: CacheInvalidationService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context
      .switchToHttp()
      .getRequest<AuthenticatedRequest & { params?: { name?: string } }>();
    return next.handle().pipe(
      tap(() => {
        const model = request.params?.name;
        const tenantId = request.principal?.tenantId;
        if (request.method !== 'GET' && model && tenantId) {
          void this.invalidation.publish({ kind: 'model', tenantId, model });
        }
      }),
    );
  }
}
