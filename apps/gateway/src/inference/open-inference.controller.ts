import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { parseVersionNumber } from '@maas/model-registry';
import { TenantAuthGuard } from '../auth/guards.js';
import { CurrentTenantId, RequireScope } from '../auth/principal.js';
import { OpenInferenceService } from './open-inference.service.js';

const SERVER_VERSION = '0.1.0';

/**
 * Open Inference Protocol (KServe v2 / Triton HTTP) for tenants: server, health and model
 * metadata. `.../infer` is the hot path, in inference-hot-path.ts.
 */
@Controller('v2')
export class OpenInferenceController {
  constructor(private readonly openInference: OpenInferenceService) {}

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
    await this.openInference.assertReady();
    return { ready: true };
  }

  @Get('models/:model')
  @UseGuards(TenantAuthGuard)
  @RequireScope('infer')
  async metadata(@CurrentTenantId() tenantId: string, @Param('model') model: string) {
    return this.openInference.metadata(tenantId, model, {});
  }

  @Get('models/:model/versions/:version')
  @UseGuards(TenantAuthGuard)
  @RequireScope('infer')
  async versionMetadata(
    @CurrentTenantId() tenantId: string,
    @Param('model') model: string,
    @Param('version') version: string,
  ) {
    return this.openInference.metadata(tenantId, model, { version: parseVersionNumber(version) });
  }

  @Get('models/:model/ready')
  @UseGuards(TenantAuthGuard)
  @RequireScope('infer')
  async modelReady(@CurrentTenantId() tenantId: string, @Param('model') model: string) {
    await this.openInference.assertModelReady(tenantId, model, {});
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
    await this.openInference.assertModelReady(tenantId, model, {
      version: parseVersionNumber(version),
    });
    return { name: model, ready: true };
  }
}
