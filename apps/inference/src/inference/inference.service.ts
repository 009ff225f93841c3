import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '@maas/app-runtime';
import type { ModelVersion } from '@maas/db';
import {
  applyOutputPolicy,
  checkInputsAgainstSignature,
  decodeInferRequest,
  decodePredictRequest,
  encodeInferResponse,
  encodePredictResponse,
  isBinaryOutput,
  isWithheldOutput,
  type OutputPolicy,
  outputPolicyFrom,
  type Tensor,
  type TensorSpec,
} from '@maas/tensors';
import { INFERENCE_CONFIG, type InferenceConfig } from '../config/inference-config.js';
import {
  type LoadedModel,
  ModelCacheService,
  RAW_BYTES_PER_ANSWER_BYTE,
  type ServingConfig,
} from '../models/model-cache.service.js';
import { OutputTooLargeError } from '../models/ort-threads.js';
import { VersionLookupService } from '../models/version-lookup.service.js';
import { AnswerTooLargeError, answerBytesAtLeast, answerJsonBytesExpected } from './answer-size.js';
import { type BatchResult, rowsOf } from './batcher.js';
import { CodecThread, decodesOffLoop, encodesOffLoop } from './codec-thread.js';
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
  /** Where large JSON is decoded and encoded (CODEC_THREAD_MIN_BYTES), off the event loop. */
  private readonly codec = new CodecThread();

  constructor(
    private readonly versions: VersionLookupService,
    private readonly cache: ModelCacheService,
    private readonly metrics: InferenceMetrics,
    @Inject(INFERENCE_CONFIG) private readonly config: InferenceConfig,
  ) {}

  /**
   * The most tensor elements one request to `version` may carry (its serving_config's
   * maxElementsPerRequest, else MAX_ELEMENTS_PER_REQUEST): checked from the shapes, before the
   * data is decoded, so a small body cannot make the worker allocate for a huge shape.
   */
  private maxElements(version: ModelVersion): number {
    const override = (version.servingConfig as ServingConfig | null)?.maxElementsPerRequest;
    return typeof override === 'number' && Number.isSafeInteger(override) && override > 0
      ? override
      : this.config.MAX_ELEMENTS_PER_REQUEST;
  }

  /**
   * The most bytes one answer of `version` may take: MAX_RESPONSE_BYTES, or less when its
   * serving_config.maxResponseBytes says so (a tenant may lower the cap, never raise it).
   */
  private maxResponseBytes(version: ModelVersion): number {
    const override = (version.servingConfig as { maxResponseBytes?: unknown } | null)
      ?.maxResponseBytes;
    const limit = this.config.MAX_RESPONSE_BYTES;
    return typeof override === 'number' && Number.isSafeInteger(override) && override > 0
      ? Math.min(override, limit)
      : limit;
  }

  /** Fails this request alone when its answer is (or surely will be) past the limit. */
  private assertAnswerFits(bytes: number, limit: number): void {
    if (bytes <= limit) return;
    this.metrics.answersTooLarge.inc();
    throw new AnswerTooLargeError(bytes, limit);
  }

  async infer(
    tenantId: string,
    modelName: string,
    versionNumber: number,
    body: Buffer,
    headerLength: number | undefined,
  ): Promise<ServedResponse> {
    const { model, version } = await this.versions.find(tenantId, modelName, versionNumber);
    // The version row carries the signature: names, datatypes and shapes are refused before
    // any tensor data is decoded, and before the model is loaded.
    const options = {
      headerLength,
      maxElements: this.maxElements(version),
      signature: Array.isArray(version.inputs)
        ? (version.inputs as unknown as TensorSpec[])
        : undefined,
    };
    const request = decodesOffLoop(
      body.length,
      headerLength,
      options.signature,
      this.config.CODEC_THREAD_MIN_BYTES,
    )
      ? await this.codec.decodeInfer(body, options)
      : decodeInferRequest(body, options);
    const policy = outputPolicyFrom(version.servingConfig);
    return this.withModel(version, async (loaded) => {
      checkInputsAgainstSignature(request.inputs, loaded.inputs);
      const outputNames = request.outputs?.map((o) => o.name) ?? servedOutputs(loaded, policy);
      for (const name of outputNames) {
        const spec = loaded.outputs.find((o) => o.name === name);
        if (!spec) {
          throw new DomainError(
            'INVALID_ARGUMENT',
            `output '${name}': the model has no such output`,
          );
        }
        if (isWithheldOutput(policy, spec)) {
          throw new DomainError(
            'INVALID_ARGUMENT',
            `output '${name}': this version answers its label only (servingConfig.outputPolicy)`,
          );
        }
      }
      const result = await this.run(loaded, request.inputs, outputNames);
      const outputs = applyOutputPolicy(result.outputs, policy);
      const limit = this.maxResponseBytes(version);
      const isBinary = (name: string) => isBinaryOutput(request.binaryOutputs, name);
      const atLeast = answerBytesAtLeast(outputs, isBinary);
      this.assertAnswerFits(atLeast, limit);
      const response = {
        modelName: model.name,
        modelVersion: String(version.number),
        id: request.id,
        parameters: request.parameters,
        outputs,
      };
      const encodeOptions = { binaryOutputs: request.binaryOutputs };
      const offLoop = encodesOffLoop(
        outputs,
        atLeast,
        () => answerJsonBytesExpected(outputs, isBinary),
        this.config.CODEC_THREAD_MIN_BYTES,
      );
      const encoded = offLoop
        ? await this.codec.encodeInfer(response, encodeOptions)
        : encodeInferResponse(response, encodeOptions);
      this.assertAnswerFits(encoded.body.length, limit);
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
    // Decoded against the version row's signature, before the model is loaded for it.
    const signature = version.inputs as unknown as TensorSpec[];
    const options = { maxElements: this.maxElements(version) };
    // (A TF Serving body is all JSON.)
    const request = decodesOffLoop(
      body.length,
      undefined,
      signature,
      this.config.CODEC_THREAD_MIN_BYTES,
    )
      ? await this.codec.decodePredict(body, signature, options)
      : decodePredictRequest(body, signature, options);
    const policy = outputPolicyFrom(version.servingConfig);
    return this.withModel(version, async (loaded) => {
      const result = await this.run(loaded, request.inputs, servedOutputs(loaded, policy));
      const outputs = applyOutputPolicy(result.outputs, policy);
      const limit = this.maxResponseBytes(version);
      // A TF Serving answer is all JSON: its least size is its JSON's.
      const atLeast = answerBytesAtLeast(outputs, () => false);
      this.assertAnswerFits(atLeast, limit);
      const encoded = encodesOffLoop(
        outputs,
        atLeast,
        () => answerJsonBytesExpected(outputs, () => false),
        this.config.CODEC_THREAD_MIN_BYTES,
      )
        ? await this.codec.encodePredict(outputs, request.format)
        : encodePredictResponse(outputs, request.format);
      this.assertAnswerFits(encoded.body.length, limit);
      return { ...encoded, rows: rowsOf(request.inputs), batchRows: result.batchRows };
    });
  }

  /**
   * Loads a version without running it (the link's `load` call): the gateway warms a replica
   * before it routes requests to it, so that none of them waits for the load. The load goes
   * through the same memory budget, load slots and per-tenant shares as a request's.
   */
  async preload(tenantId: string, modelName: string, versionNumber: number): Promise<void> {
    const { version } = await this.versions.find(tenantId, modelName, versionNumber);
    this.cache.release(await this.cache.acquire(version, true));
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
      if (error instanceof OutputTooLargeError) {
        // Refused on the model thread: past any answer the cap allows (see RAW_BYTES_PER_ANSWER_BYTE).
        this.metrics.answersTooLarge.inc();
        throw new AnswerTooLargeError(
          Math.ceil(error.bytes / RAW_BYTES_PER_ANSWER_BYTE),
          this.config.MAX_RESPONSE_BYTES,
        );
      }
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

/** The outputs a request gets by default: all but those the output policy withholds. */
function servedOutputs(loaded: LoadedModel, policy: OutputPolicy | null): string[] {
  return loaded.outputs.filter((o) => !isWithheldOutput(policy, o)).map((o) => o.name);
}
