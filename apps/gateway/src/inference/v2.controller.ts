import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { DomainError } from '@maas/app-runtime';
import { PrismaService } from '@maas/db';
import {
  ModelVersionsService,
  parseVersionNumber,
  type ResolvedVersion,
} from '@maas/model-registry';
import { Inject } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { REDIS } from '@maas/app-runtime';
import { TenantAuthGuard } from '../auth/guards.js';
import { CurrentTenantId, RequireScope } from '../auth/principal.js';
import { VersionResolver } from './version-resolver.service.js';
import { WorkerDirectory } from './worker-directory.service.js';

const SERVER_VERSION = '0.1.0';

function platformOf(format: string): string {
  return format === 'onnx' ? 'onnxruntime_onnx' : 'tensorflowjs';
}

/**
 * Open Inference Protocol (KServe v2 / Triton HTTP) for tenants: server, health and model
 * metadata. `.../infer` is the hot path, in inference-routes.ts.
 */
@Controller('v2')
export class V2Controller {
  constructor(
    private readonly versions: ModelVersionsService,
    private readonly directory: WorkerDirectory,
    private readonly resolver: VersionResolver,
    private readonly prisma: PrismaService,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  @Get()
  server() {
    return { name: 'maas', version: SERVER_VERSION, extensions: ['binary_tensor_data'] };
  }

  @Get('health/live')
  live() {
    return { live: true };
  }

  @Get('health/ready')
  async ready() {
    try {
      await Promise.all([this.prisma.$queryRaw`SELECT 1`, this.redis.ping()]);
    } catch {
      throw new DomainError('UNAVAILABLE', 'not ready');
    }
    return { ready: true };
  }

  @Get('models/:model')
  @UseGuards(TenantAuthGuard)
  @RequireScope('infer')
  async metadata(@CurrentTenantId() tenantId: string, @Param('model') model: string) {
    return this.metadataOf(await this.resolver.resolve(tenantId, model, {}));
  }

  @Get('models/:model/versions/:version')
  @UseGuards(TenantAuthGuard)
  @RequireScope('infer')
  async versionMetadata(
    @CurrentTenantId() tenantId: string,
    @Param('model') model: string,
    @Param('version') version: string,
  ) {
    const resolved = await this.resolver.resolve(tenantId, model, {
      version: parseVersionNumber(version),
    });
    return this.metadataOf(resolved);
  }

  @Get('models/:model/ready')
  @UseGuards(TenantAuthGuard)
  @RequireScope('infer')
  async modelReady(@CurrentTenantId() tenantId: string, @Param('model') model: string) {
    await this.resolver.resolve(tenantId, model, {});
    return { name: model, ready: true };
  }

  @Get('models/:model/versions/:version/ready')
  @UseGuards(TenantAuthGuard)
  @RequireScope('infer')
  async versionReady(
    @CurrentTenantId() tenantId: string,
    @Param('model') model: string,
    @Param('version') version: string,
  ) {
    await this.resolver.resolve(tenantId, model, { version: parseVersionNumber(version) });
    return { name: model, ready: true };
  }

  private async metadataOf({ model, version }: ResolvedVersion) {
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
