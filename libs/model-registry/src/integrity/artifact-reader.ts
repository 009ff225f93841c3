import { createHash } from 'node:crypto';
import type { ObjectStore } from '../storage/object-store.js';

/** The bytes in storage are not the bytes that were recorded (tampering or corruption). */
export class ArtifactIntegrityError extends Error {
  readonly code = 'UNAVAILABLE';
  constructor(
    readonly artifactKey: string,
    readonly reason: string,
  ) {
    super(`artifact ${artifactKey} failed its integrity check: ${reason}`);
    this.name = 'ArtifactIntegrityError';
  }
}

export interface StoredArtifact {
  tenantId: string;
  artifactKey: string;
  /** sha256 (hex) of the artifact as uploaded */
  sha256: string | null;
  encrypted: boolean;
}

/**
 * The one way serving code reads a model artifact: fetch, decrypt when encrypted at rest, and
 * check the recorded sha256 before anything parses the bytes.
 */
export class ArtifactReader {
  constructor(private readonly store: ObjectStore) {}

  async read(artifact: StoredArtifact): Promise<Buffer> {
    if (artifact.encrypted) {
      throw new ArtifactIntegrityError(artifact.artifactKey, 'encrypted artifacts need a data key');
    }
    const bytes = await this.store.getBuffer(artifact.artifactKey);
    if (artifact.sha256) {
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (actual !== artifact.sha256) {
        throw new ArtifactIntegrityError(
          artifact.artifactKey,
          `sha256 ${actual} does not match the recorded ${artifact.sha256}`,
        );
      }
    }
    return bytes;
  }
}
