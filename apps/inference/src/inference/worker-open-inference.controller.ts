import { Controller, Get, Headers, Param } from '@nestjs/common';
import { parseVersionNumber } from '@maas/model-registry';
import { ModelCacheService } from '../models/model-cache.service.js';
import { VersionLookupService } from '../models/version-lookup.service.js';
import { TENANT_HEADER, tenantOf } from './worker-inference.routes.js';

/**
 * The worker's Open Inference Protocol surface (called by the gateway); `.../infer` is in
 * worker-inference.routes.ts.
 */
@Controller('v2')
export class WorkerOpenInferenceController {
  constructor(
    private readonly versions: VersionLookupService,
    private readonly cache: ModelCacheService,
  ) {}

  @Get()
  server() {
    return { name: 'maas-inference', version: '0.1.0', extensions: ['binary_tensor_data'] };
  }

  @Get('health/live')
  live() {
    return { live: true };
  }

  @Get('health/ready')
  ready() {
    return { ready: true, loadedVersions: this.cache.loadedVersionIds().length };
  }

  @Get('models/:model/versions/:version')
  async metadata(
    @Headers(TENANT_HEADER) tenant: string | undefined,
    @Param('model') model: string,
    @Param('version') version: string,
  ) {
    const found = await this.versions.find(tenantOf(tenant), model, parseVersionNumber(version));
    return {
      name: found.model.name,
      versions: [String(found.version.number)],
      platform: 'onnxruntime_onnx',
      inputs: found.version.inputs,
      outputs: found.version.outputs,
    };
  }
}
