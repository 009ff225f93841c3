import { Module } from '@nestjs/common';
import { InferenceForwarder } from './inference-forwarder.service.js';
import { InferenceWorkerClient } from './inference-worker.client.js';
import { V1Controller } from './v1.controller.js';
import { VersionResolver } from './version-resolver.service.js';
import { V2Controller } from './v2.controller.js';
import { WorkerDirectory } from './worker-directory.service.js';
import { WorkersAdminController } from './workers-admin.controller.js';

@Module({
  controllers: [V2Controller, V1Controller, WorkersAdminController],
  providers: [InferenceWorkerClient, WorkerDirectory, InferenceForwarder, VersionResolver],
})
export class InferenceModule {}
