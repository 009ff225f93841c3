import type { ModelVersion } from '@maas/db';
import { parseVersionNumber, type VersionSelector } from '@maas/model-registry';
import type { TensorSpec } from '@maas/tensors';

/** What a `/v1/models/...` path names; keywords are matched case-insensitively, as TFS does. */
export interface TfServingPath {
  model: string;
  version?: string;
  label?: string;
  /** `metadata`, or the `:verb` after the model (`predict`, `classify`, `regress`). */
  action?: 'metadata' | 'predict' | 'classify' | 'regress';
}

const PATH =
  /^([^/:]+)(?:\/(versions|labels)\/([^/:]+))?(?:\/(metadata)|:(predict|classify|regress))?\/?$/i;

/** Parses the part of the URL after `/v1/models/`; undefined when it is no TFS route. */
export function parseTfServingPath(rest: string): TfServingPath | undefined {
  const match = PATH.exec(rest);
  if (!match) return undefined;
  let model: string;
  let selector: string | undefined;
  try {
    model = decodeURIComponent(match[1]!);
    selector = match[3] === undefined ? undefined : decodeURIComponent(match[3]);
  } catch {
    return undefined;
  }
  const parsed: TfServingPath = { model };
  const kind = match[2]?.toLowerCase();
  if (kind === 'versions') parsed.version = selector;
  if (kind === 'labels') parsed.label = selector;
  const action = (match[4] ?? match[5])?.toLowerCase();
  if (action) parsed.action = action as TfServingPath['action'];
  return parsed;
}

/** Which version a TFS path asks for: `/versions/{v}`, `/labels/{l}`, or the default. */
export function selectorOf(path: TfServingPath): VersionSelector {
  if (path.version !== undefined) return { version: parseVersionNumber(path.version) };
  if (path.label !== undefined) return { label: path.label };
  return {};
}

const TF_DTYPES: Record<string, string> = {
  BOOL: 'DT_BOOL',
  UINT8: 'DT_UINT8',
  UINT16: 'DT_UINT16',
  UINT32: 'DT_UINT32',
  UINT64: 'DT_UINT64',
  INT8: 'DT_INT8',
  INT16: 'DT_INT16',
  INT32: 'DT_INT32',
  INT64: 'DT_INT64',
  FP16: 'DT_HALF',
  BF16: 'DT_BFLOAT16',
  FP32: 'DT_FLOAT',
  FP64: 'DT_DOUBLE',
  BYTES: 'DT_STRING',
};

function tensorInfo(spec: TensorSpec) {
  return {
    dtype: TF_DTYPES[spec.datatype] ?? 'DT_INVALID',
    tensor_shape: {
      dim: spec.shape.map((size) => ({ size: String(size), name: '' })),
      unknown_rank: false,
    },
    name: spec.name,
  };
}

/** `GET /v1/models/{m}[/versions/{v}]/metadata` in TF Serving's shape. */
export function tfServingMetadata(modelName: string, version: ModelVersion) {
  const byName = (specs: TensorSpec[]) =>
    Object.fromEntries(specs.map((spec) => [spec.name, tensorInfo(spec)]));
  return {
    model_spec: { name: modelName, signature_name: '', version: String(version.number) },
    metadata: {
      signature_def: {
        signature_def: {
          serving_default: {
            inputs: byName(version.inputs as unknown as TensorSpec[]),
            outputs: byName(version.outputs as unknown as TensorSpec[]),
            method_name: 'tensorflow/serving/predict',
          },
        },
      },
    },
  };
}

/** One entry of `model_version_status`: ready versions are AVAILABLE. */
export function tfServingVersionStatus(
  version: Pick<ModelVersion, 'number' | 'status' | 'statusReason'>,
) {
  const state =
    version.status === 'ready'
      ? 'AVAILABLE'
      : version.status === 'uploading' || version.status === 'validating'
        ? 'LOADING'
        : 'END';
  const failed =
    version.status === 'failed' || version.status === 'corrupt' || version.status === 'quarantined';
  return {
    version: String(version.number),
    state,
    status: {
      error_code: failed ? 'UNKNOWN' : 'OK',
      error_message: failed ? (version.statusReason ?? version.status) : '',
    },
  };
}
