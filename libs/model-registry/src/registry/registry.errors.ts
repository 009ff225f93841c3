/** Registry errors follow the platform's `code` convention (mapped to HTTP by the apps). */
export class RegistryError extends Error {
  constructor(
    readonly code:
      | 'NOT_FOUND'
      | 'ALREADY_EXISTS'
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
