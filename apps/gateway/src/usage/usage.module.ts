import { Module } from '@nestjs/common';
import { UsageMeterService } from './usage-meter.service.js';
import { UsageQueryService } from './usage-query.service.js';
import { AdminUsageController, UsageController } from './usage.controller.js';

@Module({
  controllers: [UsageController, AdminUsageController],
  providers: [UsageMeterService, UsageQueryService],
  exports: [UsageMeterService],
})
export class UsageModule {}
