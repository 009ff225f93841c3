import { Injectable } from '@nestjs/common';
import * as ort from 'onnxruntime-node';
import { DomainError } from '@maas/app-runtime';
import {
  checkInputsAgainstSignature,
  decodeInferRequest,
  encodeInferResponse,
  type EncodedInferResponse,
  fromOrtOutput,
  toOrtFeeds,
} from '@maas/tensors';
import { ModelCacheService } from '../models/model-cache.service.js';
import { VersionLookupService } from '../models/version-lookup.service.js';

/** Runs one Open Inference Protocol request against a tenant's model version. */
@Injectable()
export class InferenceService {
  constructor(
    private readonly versions: VersionLookupService,
    private readonly cache: ModelCacheService,
  ) {}

  async infer(
    tenantId: string,
    modelName: string,
    versionNumber: number,
    body: Buffer,
    headerLength: number | undefined,
  ): Promise<EncodedInferResponse> {
    const { model, version } = await this.versions.find(tenantId, modelName, versionNumber);
    const request = decodeInferRequest(body, { headerLength });
    const loaded = await this.cache.get(version);
    checkInputsAgainstSignature(request.inputs, loaded.inputs);
    const outputNames = request.outputs?.map((o) => o.name) ?? loaded.outputs.map((o) => o.name);
    for (const name of outputNames) {
      if (!loaded.outputs.some((o) => o.name === name)) {
        throw new DomainError('INVALID_ARGUMENT', `output '${name}': the model has no such output`);
      }
    }
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, feed] of Object.entries(toOrtFeeds(request.inputs))) {
      feeds[name] = new ort.Tensor(feed.type, feed.data, feed.dims);
    }
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await loaded.session.run(feeds, outputNames);
    } catch (error) {
      // The runtime rejects inputs the signature could not rule out (e.g. a bad value range).
      throw new DomainError(
        'INVALID_ARGUMENT',
        `model rejected the request: ${(error as Error).message}`,
      );
    }
    const outputs = outputNames.map((name) => {
      const tensor = results[name];
      return fromOrtOutput(name, tensor.type, tensor.data, tensor.dims);
    });
    return encodeInferResponse(
      {
        modelName: model.name,
        modelVersion: String(version.number),
        id: request.id,
        parameters: request.parameters,
        outputs,
      },
      { binaryOutputs: request.binaryOutputs },
    );
  }
}
