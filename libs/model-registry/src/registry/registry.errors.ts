/** Registry errors follow the platform's `code` convention (mapped to HTTP by the apps). */
export class RegistryError extends Error {
  constructor(
    readonly code:
      | 'NOT_FOUND'
      | 'ALREADY_EXISTS'
      | 'FAILED_PRECONDITION'
      | 'INVALID_ARGUMENT'
      | 'PAYLOAD_TOO_LARGE'
      | 'RESOURCE_EXHAUSTED'
      | 'UNAVAILABLE',
    message: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export const modelNotFound = (name: string) =>
  new RegistryError('NOT_FOUND', `model '${name}' not found`);
export const versionNotFound = (name: string, version: number | string) =>
  new RegistryError('NOT_FOUND', `version ${version} of model '${name}' not found`);

/**
 * A quarantined version answers this, whichever way a request named it (503: the platform
 * stopped serving it; a new version or an admin brings serving back).
 */
export const versionQuarantined = (
  name: string,
  version: { number: number; statusReason: string | null },
) =>
  new RegistryError(
    'UNAVAILABLE',
    `version ${version.number} of model '${name}' is quarantined: ${
      version.statusReason ?? 'its requests stopped workers'
    }`,
  );
