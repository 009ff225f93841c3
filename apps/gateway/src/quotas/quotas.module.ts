import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { TenantsModule } from '../tenants/tenants.module.js';
import { AdminQuotasController } from './admin-quotas.controller.js';
import { TenantAccountController } from './tenant-account.controller.js';
import { RequestLimits } from './request-limits.service.js';
import { LimitsInterceptor } from './limits.interceptor.js';
import { RateLimiterService } from './rate-limiter.service.js';
import { TenantLimitsService } from './tenant-limits.service.js';
import { TenantQuotaUsageService } from './tenant-quota-usage.service.js';
import { TenantQuotasService } from './tenant-quotas.service.js';
import { TrainingQuotaService } from './training-quota.service.js';

@Module({
  imports: [TenantsModule],
  controllers: [AdminQuotasController, TenantAccountController],
  providers: [
    RateLimiterService,
    TenantLimitsService,
    TenantQuotasService,
    TenantQuotaUsageService,
    RequestLimits,
    TrainingQuotaService,
    { provide: APP_INTERCEPTOR, useClass: LimitsInterceptor },
  ],
  exports: [RequestLimits, RateLimiterService, TenantLimitsService, TrainingQuotaService],
})
export class QuotasModule {}
