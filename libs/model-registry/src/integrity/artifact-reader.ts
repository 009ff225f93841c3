import type { ObjectStore } from '../storage/object-store.js';
import { CodedError } from '../coded-error.js';
import { ObjectNotFoundError } from '../storage/storage-errors.js';
import { DecryptionError } from './envelope.js';
import type { TenantDataKeys } from './tenant-data-keys.js';
import { unsealThread } from './unseal-thread.js';

/** The bytes in storage are not the bytes that were recorded (tampering or corruption). */
export class ArtifactIntegrityError extends CodedError {
  readonly code = 'UNAVAILABLE';
  constructor(
    readonly artifactKey: string,
    readonly reason: string,
  ) {
    super(`artifact ${artifactKey} failed its integrity check: ${reason}`);
  }
}

/**
 * The bytes could not be read right now (a storage or database error, a timeout): nothing is
 * known about their integrity, so the version is left as it is and the request answers 503.
 */
export class ArtifactUnavailableError extends CodedError {
  readonly code = 'UNAVAILABLE';
  constructor(
    readonly artifactKey: string,
    override readonly cause: unknown,
  ) {
    super(
      `artifact ${artifactKey} could not be read: ${(cause as Error)?.message ?? String(cause)}`,
    );
  }
}

export interface StoredArtifact {
  tenantId: string;
  artifactKey: string;
  /** sha256 (hex) of the artifact as uploaded (the plaintext) */
  sha256: string | null;
  encrypted: boolean;
}

/**
 * The one way serving code reads a model artifact: fetch, decrypt when encrypted at rest
 * (AES-256-GCM under the tenant's data key), and check the recorded sha256 of the plaintext
 * before anything parses the bytes. Tampered, truncated, swapped or missing bytes reject with
 * ArtifactIntegrityError; a failure to read them at all (storage, data key lookup) with
 * ArtifactUnavailableError, which says nothing about the bytes. Decryption and hashing run on
 * a thread of their own (UnsealThread), so a cold load does not stall the requests around it.
 */
export class ArtifactReader {
  constructor(
    private readonly store: ObjectStore,
    private readonly dataKeys?: TenantDataKeys,
  ) {}

  async read(artifact: StoredArtifact): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await this.store.getBuffer(artifact.artifactKey);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) {
        throw new ArtifactIntegrityError(
          artifact.artifactKey,
          'the artifact is missing from storage',
        );
      }
      throw new ArtifactUnavailableError(artifact.artifactKey, error);
    }
    let dataKey: Buffer | undefined;
    if (artifact.encrypted) {
      if (!this.dataKeys) {
        throw new ArtifactIntegrityError(
          artifact.artifactKey,
          'encrypted artifacts need a data key',
        );
      }
      try {
        dataKey = await this.dataKeys.forTenant(artifact.tenantId);
      } catch (error) {
        throw new ArtifactUnavailableError(artifact.artifactKey, error);
      }
    }
    if (!dataKey && !artifact.sha256) return bytes;
    let unsealed: Awaited<ReturnType<typeof unsealThread.unseal>>;
    try {
      unsealed = await unsealThread.unseal(bytes, {
        decrypt: dataKey && { key: dataKey, associatedData: artifact.artifactKey },
        hash: Boolean(artifact.sha256),
      });
    } catch (error) {
      if (error instanceof DecryptionError) {
        throw new ArtifactIntegrityError(artifact.artifactKey, error.message);
      }
      throw error;
    }
    if (artifact.sha256 && unsealed.sha256 !== artifact.sha256) {
      throw new ArtifactIntegrityError(
        artifact.artifactKey,
        `sha256 ${unsealed.sha256} does not match the recorded ${artifact.sha256}`,
      );
    }
    return unsealed.plaintext;
  }
}
