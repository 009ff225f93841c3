import { Module } from '@nestjs/common';
import { AdminTenantsController } from './admin-tenants.controller.js';
import { AdminUsersController } from './admin-users.controller.js';
import { TenantUsersService } from './tenant-users.service.js';
import { TenantsService } from './tenants.service.js';

@Module({
  controllers: [AdminTenantsController, AdminUsersController],
  providers: [TenantsService, TenantUsersService],
  exports: [TenantsService],
})
export class TenantsModule {}
