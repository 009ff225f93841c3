import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { TenantsModule } from '../tenants/tenants.module.js';
import { AdminQuotasController } from './admin-quotas.controller.js';
import { LimitsInterceptor } from './limits.interceptor.js';
import { RateLimiterService } from './rate-limiter.service.js';
import { TenantLimitsService } from './tenant-limits.service.js';

@Module({
  imports: [TenantsModule],
  controllers: [AdminQuotasController],
  providers: [
    RateLimiterService,
    TenantLimitsService,
    { provide: APP_INTERCEPTOR, useClass: LimitsInterceptor },
  ],
  exports: [RateLimiterService, TenantLimitsService],
})
export class QuotasModule {}
