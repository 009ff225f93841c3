import { Module } from '@nestjs/common';
import { DocsModule } from '../docs/docs.module.js';
import { QuotasModule } from '../quotas/quotas.module.js';
import { TenantsModule } from '../tenants/tenants.module.js';
import { UsageModule } from '../usage/usage.module.js';
import { InferenceForwarder } from './inference-forwarder.service.js';
import { InferenceHotPath } from './inference-hot-path.js';
import { InferenceWorkerClient } from './inference-worker.client.js';
import { OpenInferenceController } from './open-inference.controller.js';
import { OpenInferenceService } from './open-inference.service.js';
import { QuarantineAdminController } from './quarantine-admin.controller.js';
import { ReplicaWarmer } from './replica-warmer.js';
import { V1Controller } from './v1.controller.js';
import { VersionQuarantine } from './version-quarantine.service.js';
import { VersionResolver } from './version-resolver.service.js';
import { WorkerDirectory } from './worker-directory.service.js';
import { WorkerLinkClient } from './worker-link.client.js';
import { WorkerOverviewService } from './worker-overview.service.js';
import { WorkersAdminController } from './workers-admin.controller.js';

@Module({
  imports: [QuotasModule, UsageModule, DocsModule, TenantsModule],
  controllers: [
    OpenInferenceController,
    V1Controller,
    WorkersAdminController,
    QuarantineAdminController,
  ],
  providers: [
    InferenceWorkerClient,
    WorkerLinkClient,
    WorkerDirectory,
    VersionQuarantine,
    ReplicaWarmer,
    InferenceForwarder,
    VersionResolver,
    InferenceHotPath,
    OpenInferenceService,
    WorkerOverviewService,
  ],
})
export class InferenceModule {}
