import type { Model, ModelVersion } from '@maas/db';

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
    inputs: version.inputs,
    outputs: version.outputs,
    servingConfig: version.servingConfig,
    createdBy: version.createdBy,
    createdAt: version.createdAt.toISOString(),
  };
}

export function modelView(model: Model) {
  return {
    id: model.id,
    name: model.name,
    description: model.description,
    metadata: model.metadata,
    createdAt: model.createdAt.toISOString(),
    updatedAt: model.updatedAt.toISOString(),
  };
}
