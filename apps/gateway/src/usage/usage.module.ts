import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { UsageMeterService } from './usage-meter.service.js';
import { UsageQueryService } from './usage-query.service.js';
import { AdminUsageController, UsageController } from './usage.controller.js';
import { UsageInterceptor } from './usage.interceptor.js';

@Module({
  controllers: [UsageController, AdminUsageController],
  providers: [
    UsageMeterService,
    UsageQueryService,
    { provide: APP_INTERCEPTOR, useClass: UsageInterceptor },
  ],
  exports: [UsageMeterService],
})
export class UsageModule {}
