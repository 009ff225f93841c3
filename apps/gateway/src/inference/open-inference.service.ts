import { Inject, Injectable } from '@nestjs/common';
import { DomainError, REDIS } from '@maas/app-runtime';
import { PrismaService } from '@maas/db';
import { ModelVersionsService, type VersionSelector } from '@maas/model-registry';
import type { Redis } from 'ioredis';
import { VersionResolver } from './version-resolver.service.js';
import { WorkerDirectory } from './worker-directory.service.js';

function platformOf(format: string): string {
  return format === 'onnx' ? 'onnxruntime_onnx' : 'tensorflowjs';
}

/** What the Open Inference Protocol's health and model metadata routes answer. */
@Injectable()
export class OpenInferenceService {
  constructor(
    private readonly versions: ModelVersionsService,
    private readonly directory: WorkerDirectory,
    private readonly resolver: VersionResolver,
    private readonly prisma: PrismaService,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  /** Resolves when PostgreSQL and Redis answer; UNAVAILABLE otherwise. */
  async assertReady(): Promise<void> {
    try {
      await Promise.all([this.prisma.check(), this.redis.ping()]);
    } catch {
      throw new DomainError('UNAVAILABLE', 'not ready');
    }
  }

  /** Resolves when the tenant's model has a ready version matching the selector. */
  async assertModelReady(tenantId: string, model: string, selector: VersionSelector) {
    await this.resolver.resolve(tenantId, model, selector);
  }

  async metadata(tenantId: string, modelName: string, selector: VersionSelector) {
    const { model, version } = await this.resolver.resolve(tenantId, modelName, selector);
    const versions = await this.versions.readyVersionNumbers(model.id);
    return {
      name: model.name,
      versions: versions.map(String),
      platform: platformOf(version.format),
      backend: this.directory.backendFor(version.id, version.format),
      inputs: version.inputs,
      outputs: version.outputs,
    };
  }
}
