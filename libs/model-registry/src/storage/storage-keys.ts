import { assertValidKeySegment } from './object-key.js';
import { InvalidObjectKeyError } from './storage-errors.js';

// Every key a tenant's data lives under starts with tenants/{tenantId}/, so removing a
// tenant is one deletePrefix and no key of one tenant can be built from another's ids.

export function tenantPrefix(tenantId: string): string {
  assertValidKeySegment(tenantId);
  return `tenants/${tenantId}/`;
}

export function modelPrefix(tenantId: string, modelId: string): string {
  assertValidKeySegment(modelId);
  return `${tenantPrefix(tenantId)}models/${modelId}/`;
}

export function modelVersionPrefix(tenantId: string, modelId: string, version: number): string {
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new InvalidObjectKeyError(`model version must be a positive integer, got ${version}`);
  }
  return `${modelPrefix(tenantId, modelId)}versions/${version}/`;
}

export function modelArtifactKey(
  tenantId: string,
  modelId: string,
  version: number,
  fileName: string,
): string {
  assertValidKeySegment(fileName);
  return `${modelVersionPrefix(tenantId, modelId, version)}${fileName}`;
}

export function datasetKey(tenantId: string, datasetId: string): string {
  assertValidKeySegment(datasetId);
  return `${tenantPrefix(tenantId)}datasets/${datasetId}`;
}
