import { z } from 'zod';
import { InferenceError, json, type RouteSpecs } from '../docs/route-spec.js';

/**
 * The inference protocols' shapes, for the API reference: the Open Inference Protocol REST API
 * (KServe v2, with the binary tensor data extension) and TensorFlow Serving's REST API. The
 * worker that owns a version decodes and checks the bodies against the model's signature.
 */
const datatype = z
  .enum(['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64'])
  .or(z.enum(['FP16', 'FP32', 'FP64', 'BYTES']));
const parameters = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
  .describe('e.g. binary_data_size, binary_data, binary_data_output');
const shape = z.array(z.number().int().min(0));
const tensorData = z
  .array(z.unknown())
  .describe('Row-major, flat or nested; absent when the bytes travel in the binary part');

export const V2MetadataTensor = z
  .object({ name: z.string(), datatype, shape: z.array(z.number().int()) })
  .meta({ id: 'V2MetadataTensor', description: '-1 in a shape is a variable dimension' });

export const V2ServerMetadata = z
  .object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) })
  .meta({ id: 'V2ServerMetadata' });

export const V2ModelMetadata = z
  .object({
    name: z.string(),
    versions: z.array(z.string()),
    platform: z.string(),
    inputs: z.array(V2MetadataTensor),
    outputs: z.array(V2MetadataTensor),
  })
  .meta({ id: 'V2ModelMetadata' });

/** A tensor as both directions carry it (inputs of a request, outputs of an answer). */
const v2TensorFields = {
  name: z.string(),
  shape,
  datatype,
  parameters: parameters.optional(),
  data: tensorData.optional(),
};

export const V2RequestInput = z.object(v2TensorFields).meta({ id: 'V2RequestInput' });

export const V2InferenceRequest = z
  .object({
    id: z.string().optional(),
    parameters: parameters.optional(),
    inputs: z.array(V2RequestInput).min(1),
    outputs: z
      .array(z.object({ name: z.string(), parameters: parameters.optional() }))
      .optional()
      .describe('Which outputs to answer with (all when absent)'),
  })
  .meta({ id: 'V2InferenceRequest' });

export const V2ResponseOutput = z.object(v2TensorFields).meta({ id: 'V2ResponseOutput' });

export const V2InferenceResponse = z
  .object({
    model_name: z.string(),
    model_version: z.string().optional(),
    id: z.string().optional(),
    parameters: parameters.optional(),
    outputs: z.array(V2ResponseOutput),
  })
  .meta({ id: 'V2InferenceResponse' });

export const TfServingPredictRequest = z
  .object({
    signature_name: z.string().optional(),
    instances: z.array(z.unknown()).optional().describe('Row format: one entry per example'),
    inputs: z.unknown().optional().describe('Columnar format: a tensor or {name: tensor}'),
  })
  .meta({ id: 'TfServingPredictRequest', description: 'Exactly one of instances or inputs' });

export const TfServingPredictResponse = z
  .object({
    predictions: z.array(z.unknown()).optional().describe('Answer to `instances`'),
    outputs: z.unknown().optional().describe('Answer to `inputs`'),
  })
  .meta({ id: 'TfServingPredictResponse' });

export const TfServingModelStatus = z
  .object({
    model_version_status: z.array(
      z.object({
        version: z.string(),
        state: z.enum(['LOADING', 'AVAILABLE', 'END']),
        status: z.object({ error_code: z.string(), error_message: z.string() }),
      }),
    ),
  })
  .meta({ id: 'TfServingModelStatus' });

const tfTensorInfo = z.object({
  dtype: z.string(),
  tensor_shape: z.object({ dim: z.array(z.object({ size: z.string() })) }).loose(),
  name: z.string(),
});
export const TfServingModelMetadata = z
  .object({
    model_spec: z.object({ name: z.string(), signature_name: z.string(), version: z.string() }),
    metadata: z.object({
      signature_def: z.object({
        signature_def: z.record(
          z.string(),
          z.object({
            inputs: z.record(z.string(), tfTensorInfo),
            outputs: z.record(z.string(), tfTensorInfo),
            method_name: z.string(),
          }),
        ),
      }),
    }),
  })
  .meta({ id: 'TfServingModelMetadata' });

const modelParams = z.object({ model: z.string().describe('Model name') });
const versionParams = modelParams.extend({ version: z.string().describe('Version number') });
const ModelReady = z.object({ name: z.string(), ready: z.boolean() });

const BINARY_HEADER = {
  'Inference-Header-Content-Length': {
    description:
      'Binary tensor data extension: length in bytes of the JSON header that starts an application/octet-stream body; the tensors follow it',
  },
};
const BINARY_BODY_SCHEMA = {
  type: 'string',
  contentMediaType: 'application/octet-stream',
  description:
    'JSON header (Inference-Header-Content-Length bytes), then each binary tensor in input order (parameters.binary_data_size bytes each)',
};

function v2Infer(summary: string, params: z.ZodObject): RouteSpecs[string] {
  return {
    summary,
    description:
      'Open Inference Protocol `POST …/infer`. With the binary tensor data extension, send `application/octet-stream` with `Inference-Header-Content-Length`; ask for binary outputs with `parameters.binary_data_output` and read the answer the same way.',
    params,
    headers: BINARY_HEADER,
    body: [
      {
        contentType: 'application/json',
        schema: { $ref: '#/components/schemas/V2InferenceRequest' },
      },
      { contentType: 'application/octet-stream', schema: BINARY_BODY_SCHEMA },
    ],
    responses: {
      200: {
        description: 'The outputs (binary ones after the JSON header when asked for)',
        content: [
          {
            contentType: 'application/json',
            schema: { $ref: '#/components/schemas/V2InferenceResponse' },
          },
          { contentType: 'application/octet-stream', schema: BINARY_BODY_SCHEMA },
        ],
        headers: {
          'Inference-Header-Content-Length': 'Set when the answer carries binary outputs',
        },
      },
    },
    errors: [413, 415, 422, 502, 504],
  };
}

export const inferenceRouteSpecs: RouteSpecs = {
  'GET /v2': {
    summary: 'Open Inference Protocol server metadata',
    responses: { 200: json('Server metadata', V2ServerMetadata) },
  },
  'GET /v2/health/live': {
    summary: 'Liveness (KServe v2)',
    responses: { 200: json('Live', z.object({ live: z.boolean() })) },
  },
  'GET /v2/health/ready': {
    summary: 'Readiness (KServe v2)',
    responses: { 200: json('Ready', z.object({ ready: z.boolean() })) },
  },
  'GET /v2/models/{model}': {
    summary: 'Model metadata (default version)',
    params: modelParams,
    responses: { 200: json('Model metadata', V2ModelMetadata) },
  },
  'GET /v2/models/{model}/versions/{version}': {
    summary: 'Model metadata of a version',
    params: versionParams,
    responses: { 200: json('Model metadata', V2ModelMetadata) },
  },
  'GET /v2/models/{model}/ready': {
    summary: 'Model readiness (default version)',
    params: modelParams,
    responses: { 200: json('Ready', ModelReady) },
  },
  'GET /v2/models/{model}/versions/{version}/ready': {
    summary: 'Readiness of a version',
    params: versionParams,
    responses: { 200: json('Ready', ModelReady) },
  },
  'POST /v2/models/{model}/infer': v2Infer(
    'Inference (KServe v2 / Triton), default version; binary tensor extension supported',
    modelParams,
  ),
  'POST /v2/models/{model}/versions/{version}/infer': v2Infer(
    'Inference on a version',
    versionParams,
  ),
  'GET /v1/models/*': {
    summary: 'TF Serving model status and metadata',
    description:
      'TensorFlow Serving REST API. `GET /v1/models/{model}[/versions/{version}|/labels/{label}]` answers the model status; the same followed by `/metadata` answers the signature.',
    responses: {
      200: {
        description: 'Status (TfServingModelStatus) or, for …/metadata, TfServingModelMetadata',
        content: [
          {
            contentType: 'application/json',
            schema: {
              oneOf: [
                { $ref: '#/components/schemas/TfServingModelStatus' },
                { $ref: '#/components/schemas/TfServingModelMetadata' },
              ],
            },
          },
        ],
      },
    },
  },
  'POST /v1/models/*': {
    summary: 'TF Serving predict',
    description:
      'TensorFlow Serving REST API: `POST /v1/models/{model}[/versions/{version}|/labels/{label}]:predict`. `:classify` and `:regress` answer 501.',
    body: [
      {
        contentType: 'application/json',
        schema: { $ref: '#/components/schemas/TfServingPredictRequest' },
      },
    ],
    responses: {
      200: {
        description: 'Predictions',
        content: [
          {
            contentType: 'application/json',
            schema: { $ref: '#/components/schemas/TfServingPredictResponse' },
          },
        ],
      },
    },
    errors: [413, 415, 422, 501, 502, 504],
  },
};

/** Schemas referenced by name above (so they land in components.schemas). */
export const INFERENCE_COMPONENTS = [
  V2InferenceRequest,
  V2InferenceResponse,
  TfServingPredictRequest,
  TfServingPredictResponse,
  TfServingModelStatus,
  TfServingModelMetadata,
  InferenceError,
];
