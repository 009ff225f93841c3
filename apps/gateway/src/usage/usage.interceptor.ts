import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Observable } from 'rxjs';
import type { AuthenticatedRequest } from '../auth/principal.js';
import { isInferenceRequest, pathOf } from '../quotas/limits.interceptor.js';
import { UsageMeterService } from './usage-meter.service.js';

/** What the inference forwarding code leaves on the request once it knows (rows 0 on failure). */
export interface InferenceUsage {
  modelName: string;
  modelVersion: number;
  rows: number;
}

/** The model (and version, 0 when not explicit) named by an inference URL. */
export function modelOfPath(url: string): { modelName: string; modelVersion: number } {
  const path = pathOf(url);
  const v2 = /^\/v2\/models\/([^/]+)(?:\/versions\/(\d+))?/.exec(path);
  const v1 = /^\/v1\/models\/([^/:]+)(?:\/versions\/(\d+))?/.exec(path);
  const match = v2 ?? v1;
  if (!match) return { modelName: '', modelVersion: 0 };
  let modelName = match[1];
  try {
    modelName = decodeURIComponent(modelName);
  } catch {
    // keep it as sent
  }
  return { modelName: modelName.slice(0, 200), modelVersion: Number(match[2] ?? 0) || 0 };
}

/**
 * Meters every admitted inference request once its answer is sent: tenant, key, model,
 * version, rows, status and latency. Requests refused by a limit are not usage.
 */
@Injectable()
export class UsageInterceptor implements NestInterceptor {
  constructor(private readonly meter: UsageMeterService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context
      .switchToHttp()
      .getRequest<
        AuthenticatedRequest & { inferenceUsage?: InferenceUsage; limitRejected?: boolean }
      >();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const principal = request.principal;
    if (
      context.getType() === 'http' &&
      principal?.tenantId &&
      isInferenceRequest(request.method, request.url)
    ) {
      const tenantId = principal.tenantId;
      const apiKeyId = principal.kind === 'api-key' ? principal.keyId : `user:${principal.userId}`;
      let metered = false;
      const meter = () => {
        if (metered || request.limitRejected) return;
        metered = true;
        const usage = request.inferenceUsage;
        const fallback = modelOfPath(request.url);
        // A client that hung up before the answer was complete still used the worker.
        const status = reply.raw.writableFinished ? reply.statusCode : 499;
        void this.meter.record({
          tenantId,
          apiKeyId,
          modelName: usage?.modelName ?? fallback.modelName,
          modelVersion: usage?.modelVersion ?? fallback.modelVersion,
          rows: status < 400 ? (usage?.rows ?? 0) : 0,
          status,
          latencyMs: reply.elapsedTime,
        });
      };
      reply.raw.once('finish', meter);
      reply.raw.once('close', meter);
    }
    return next.handle();
  }
}
