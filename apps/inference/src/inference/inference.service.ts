import { Injectable } from '@nestjs/common';
import { DomainError } from '@maas/app-runtime';
import {
  checkInputsAgainstSignature,
  decodeInferRequest,
  decodePredictRequest,
  encodeInferResponse,
  encodePredictResponse,
  type Tensor,
} from '@maas/tensors';
import { type LoadedModel, ModelCacheService } from '../models/model-cache.service.js';
import { VersionLookupService } from '../models/version-lookup.service.js';
import { type BatchResult, rowsOf } from './batcher.js';
import { InferenceMetrics } from './inference.metrics.js';

export interface ServedResponse {
  body: Buffer;
  contentType: string;
  headerLength?: number;
  /** Rows billed: dim 0 of the first input. */
  rows: number;
  /** Rows of the runtime call the request rode in (dynamic batching). */
  batchRows: number;
}

/** Runs Open Inference Protocol and TF Serving requests against a tenant's model version. */
@Injectable()
export class InferenceService {
  constructor(
    private readonly versions: VersionLookupService,
    private readonly cache: ModelCacheService,
    private readonly metrics: InferenceMetrics,
  ) {}

  async infer(
    tenantId: string,
    modelName: string,
    versionNumber: number,
    body: Buffer,
    headerLength: number | undefined,
  ): Promise<ServedResponse> {
    const { model, version } = await this.versions.find(tenantId, modelName, versionNumber);
    const request = decodeInferRequest(body, { headerLength });
    return this.withModel(version, async (loaded) => {
      checkInputsAgainstSignature(request.inputs, loaded.inputs);
      const outputNames = request.outputs?.map((o) => o.name) ?? loaded.outputs.map((o) => o.name);
      for (const name of outputNames) {
        if (!loaded.outputs.some((o) => o.name === name)) {
          throw new DomainError(
            'INVALID_ARGUMENT',
            `output '${name}': the model has no such output`,
          );
        }
      }
      const result = await this.run(loaded, request.inputs, outputNames);
      const encoded = encodeInferResponse(
        {
          modelName: model.name,
          modelVersion: String(version.number),
          id: request.id,
          parameters: request.parameters,
          outputs: result.outputs,
        },
        { binaryOutputs: request.binaryOutputs },
      );
      return { ...encoded, rows: rowsOf(request.inputs), batchRows: result.batchRows };
    });
  }

  async predict(
    tenantId: string,
    modelName: string,
    versionNumber: number,
    body: Buffer,
  ): Promise<ServedResponse> {
    const { version } = await this.versions.find(tenantId, modelName, versionNumber);
    return this.withModel(version, async (loaded) => {
      const request = decodePredictRequest(body, loaded.inputs);
      const outputNames = loaded.outputs.map((o) => o.name);
      const result = await this.run(loaded, request.inputs, outputNames);
      const encoded = encodePredictResponse(result.outputs, request.format);
      return { ...encoded, rows: rowsOf(request.inputs), batchRows: result.batchRows };
    });
  }

  private async withModel<T>(
    version: Parameters<ModelCacheService['acquire']>[0],
    use: (loaded: LoadedModel) => Promise<T>,
  ): Promise<T> {
    const loaded = await this.cache.acquire(version);
    this.metrics.inFlight.inc();
    try {
      return await use(loaded);
    } finally {
      this.metrics.inFlight.dec();
      this.cache.release(loaded);
    }
  }

  private async run(
    loaded: LoadedModel,
    inputs: Tensor[],
    outputNames: string[],
  ): Promise<BatchResult> {
    let result: BatchResult;
    try {
      result = await loaded.batcher.submit(inputs, outputNames);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'RESOURCE_EXHAUSTED') this.metrics.shed.inc({ reason: 'queue_full' });
      if (code === 'DEADLINE_EXCEEDED') this.metrics.shed.inc({ reason: 'deadline' });
      throw error;
    }
    this.metrics.queueSeconds.observe(result.queueMs / 1000);
    this.metrics.batchWaitSeconds.observe(result.batchWaitMs / 1000);
    return result;
  }
}
