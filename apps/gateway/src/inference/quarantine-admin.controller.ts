import { Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import {
  ModelsService,
  ModelVersionsService,
  parseVersionNumber,
  versionView,
} from '@maas/model-registry';
import { AdminGuard } from '../auth/guards.js';
import { CacheInvalidationService } from '../auth/cache-invalidation.service.js';
import { json, type RouteSpecs } from '../docs/route-spec.js';
import { VersionView } from '../docs/view-schemas.js';
import { TenantsService } from '../tenants/tenants.service.js';
import { VersionQuarantine } from './version-quarantine.service.js';

export const quarantineAdminRouteSpecs: RouteSpecs = {
  'POST /api/admin/tenants/{id}/models/{name}/versions/{version}/unquarantine': {
    summary: 'Serve a quarantined version again (its worker-loss count starts from zero)',
    responses: { 200: json('The version', VersionView) },
    errors: [409],
  },
};

/**
 * `POST /api/admin/tenants/{id}/models/{name}/versions/{version}/unquarantine`: an admin puts a
 * quarantined version back into service (it answers at once on every gateway) and its count of
 * worker losses starts from zero. A ready version is answered as it is; one in any other state
 * is refused (409).
 */
@Controller('api/admin/tenants')
@UseGuards(AdminGuard)
export class QuarantineAdminController {
  constructor(
    private readonly tenants: TenantsService,
    private readonly models: ModelsService,
    private readonly versions: ModelVersionsService,
    private readonly quarantine: VersionQuarantine,
    private readonly invalidation: CacheInvalidationService,
  ) {}

  @Post(':id/models/:name/versions/:version/unquarantine')
  @HttpCode(200)
  async release(
    @Param('id') id: string,
    @Param('name') name: string,
    @Param('version') version: string,
  ) {
    const tenant = await this.tenants.get(id);
    const number = parseVersionNumber(version);
    const model = await this.models.getModel(tenant.id, name);
    const released = await this.versions.releaseQuarantine(tenant.id, name, number);
    await this.quarantine.forget(released.id);
    await this.invalidation.publish({ kind: 'model', tenantId: tenant.id, model: model.name });
    return versionView(model, released);
  }
}
