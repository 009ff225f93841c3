import { Module } from '@nestjs/common';
import { InferenceWorkerClient } from './inference-worker.client.js';
import { V2Controller } from './v2.controller.js';

@Module({ controllers: [V2Controller], providers: [InferenceWorkerClient] })
export class InferenceModule {}
