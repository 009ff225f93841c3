import type { Model, ModelVersion } from '@maas/db';
import type { LabelView } from './version-labels.service.js';

/** The public JSON shape of a version (bigints as numbers, no storage internals). */
export function versionView(model: Pick<Model, 'name'>, version: ModelVersion) {
  return {
    model: model.name,
    version: version.number,
    status: version.status,
    statusReason: version.statusReason,
    format: version.format,
    sha256: version.sha256,
    sizeBytes: version.sizeBytes === null ? null : Number(version.sizeBytes),
    encrypted: version.encrypted,
    // a trained network's TensorFlow.js copy (GET …/artifact?format=tfjs)
    tfjs:
      version.tfjsSha256 === null
        ? null
        : { sha256: version.tfjsSha256, sizeBytes: Number(version.tfjsSizeBytes ?? 0) },
    inputs: version.inputs,
    outputs: version.outputs,
    servingConfig: version.servingConfig,
    metrics: version.metrics,
    trainingJobId: version.trainingJobId,
    createdBy: version.createdBy,
    createdAt: version.createdAt.toISOString(),
    updatedAt: version.updatedAt.toISOString(),
  };
}

/** The public JSON shape of a model; `labels` as `{name: {versions: {"3": 90, "4": 10}}}`. */
export function modelView(model: Model, labels?: LabelView[]) {
  return {
    id: model.id,
    name: model.name,
    description: model.description,
    metadata: model.metadata,
    ...(labels && {
      labels: Object.fromEntries(labels.map((l) => [l.name, { versions: l.versions }])),
    }),
    createdAt: model.createdAt.toISOString(),
    updatedAt: model.updatedAt.toISOString(),
  };
}
