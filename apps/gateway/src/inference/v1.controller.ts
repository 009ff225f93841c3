import { Controller, Get, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { DomainError, pathOf } from '@maas/app-runtime';
import {
  ModelVersionsService,
  parseVersionNumber,
  type ResolvedVersion,
  VersionResolutionService,
} from '@maas/model-registry';
import { TenantAuthGuard } from '../auth/guards.js';
import { CurrentTenantId, RequireScope } from '../auth/principal.js';
import {
  parseTfServingPath,
  selectorOf,
  type TfServingPath,
  tfServingMetadata,
  tfServingVersionStatus,
} from './tf-serving.js';

const PREFIX = /^\/v1\/models\//i;

function tfServingPathOf(request: FastifyRequest): TfServingPath {
  const url = pathOf(request.url);
  const parsed = parseTfServingPath(url.replace(PREFIX, ''));
  if (!parsed) throw new DomainError('NOT_FOUND', `no such route: ${url}`);
  return parsed;
}

/**
 * TensorFlow Serving REST API for tenants: `/v1/models/{m}[/versions/{v}|/labels/{l}]`
 * (status) and `.../metadata`. `...:predict` is the hot path, in inference-hot-path.ts: it is
 * forwarded untouched to the worker that owns the resolved version (the worker decodes
 * `instances`/`inputs` against the signature).
 */
@Controller('v1/models')
@UseGuards(TenantAuthGuard)
@RequireScope('infer')
export class V1Controller {
  constructor(
    private readonly versions: ModelVersionsService,
    private readonly resolution: VersionResolutionService,
  ) {}

  @Get('*')
  async get(@CurrentTenantId() tenantId: string, @Req() request: FastifyRequest) {
    const path = tfServingPathOf(request);
    if (path.action === 'metadata') {
      const { model, version } = await this.resolve(tenantId, path);
      return tfServingMetadata(model.name, version);
    }
    if (path.action !== undefined) {
      throw new DomainError('NOT_FOUND', `:${path.action} takes a POST`);
    }
    if (path.version !== undefined) {
      const version = await this.versions.getVersion(
        tenantId,
        path.model,
        parseVersionNumber(path.version),
      );
      return { model_version_status: [tfServingVersionStatus(version)] };
    }
    if (path.label !== undefined) {
      const { version } = await this.resolve(tenantId, path);
      return { model_version_status: [tfServingVersionStatus(version)] };
    }
    const versions = await this.versions.listVersions(tenantId, path.model);
    return {
      model_version_status: versions
        .filter((v) => v.status !== 'archived')
        .reverse()
        .map(tfServingVersionStatus),
    };
  }

  private resolve(tenantId: string, path: TfServingPath): Promise<ResolvedVersion> {
    return this.resolution.resolveVersion(tenantId, path.model, selectorOf(path));
  }
}
