import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PrismaService } from '@maas/db';
import { strToU8, zipSync } from 'fflate';
import { ArtifactReader } from '../integrity/artifact-reader.js';
import { encryptBuffer } from '../integrity/envelope.js';
import type { TenantDataKeys } from '../integrity/tenant-data-keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import { modelArtifactKey } from '../storage/storage-keys.js';
import { ModelVersionsService } from './model-versions.service.js';
import { RegistryError } from './registry.errors.js';
import { OBJECT_STORE, TENANT_DATA_KEYS } from './registry.tokens.js';
import { StorageQuotaService } from './storage-quota.service.js';

/** What the trainer writes for a TensorFlow.js layers model besides its ONNX export. */
export interface TfjsCopyFiles {
  /** model.json; its weightsManifest names `weights.bin` */
  modelJson: string;
  weights: Uint8Array;
  /** the preprocessing the model expects (feature scaling, category codes) */
  preprocessing: unknown;
}

export type ArtifactFormat = 'model' | 'tfjs';

export interface ArtifactDownload {
  bytes: Buffer;
  /** sha256 (hex) of `bytes`, as recorded when they were stored */
  sha256: string;
  fileName: string;
}

const TFJS_COPY_FILE = 'tfjs.zip';

/**
 * A version's bytes beyond its served artifact, and the way out for all of them. Every object
 * is stored as the artifact is: encrypted under the tenant's data key, the plaintext's sha256
 * and size recorded (the size counts in the storage quota), under the version's prefix so that
 * deleting the version removes it; reads go through the ArtifactReader.
 */
@Injectable()
export class VersionArtifactsService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly versions: ModelVersionsService,
    private readonly quota: StorageQuotaService,
    private readonly reader: ArtifactReader,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(TENANT_DATA_KEYS) private readonly dataKeys: TenantDataKeys,
  ) {}

  /**
   * Stores a trained version's TF.js copy as one zip (model.json, weights.bin,
   * preprocessing.json: a valid `format=tfjs` upload). Past the storage quota the copy is
   * removed again and the quota error thrown; the version itself stays as it is.
   */
  async attachTfjsCopy(tenantId: string, versionId: string, files: TfjsCopyFiles): Promise<void> {
    const db = this.prisma.forTenant(tenantId);
    const version = await db.modelVersion.findUnique({ where: { id: versionId } });
    if (!version) throw new RegistryError('NOT_FOUND', `model version ${versionId} not found`);
    const plaintext = Buffer.from(
      zipSync(
        {
          'model.json': strToU8(files.modelJson),
          'weights.bin': files.weights,
          'preprocessing.json': strToU8(JSON.stringify(files.preprocessing)),
        },
        // Weights barely compress; the zip is a container, not a compressor.
        { level: 0 },
      ),
    );
    const key = modelArtifactKey(tenantId, version.modelId, version.number, TFJS_COPY_FILE);
    const dataKey = await this.dataKeys.forTenant(tenantId);
    await this.store.put(key, encryptBuffer(plaintext, dataKey, key), {
      contentType: 'application/octet-stream',
    });
    try {
      await db.modelVersion.update({
        where: { id: version.id },
        data: {
          tfjsArtifactKey: key,
          tfjsSha256: createHash('sha256').update(plaintext).digest('hex'),
          tfjsSizeBytes: BigInt(plaintext.length),
        },
      });
      await this.quota.assertWithinStorageQuota(tenantId, plaintext.length);
    } catch (error) {
      await db.modelVersion
        .update({
          where: { id: version.id },
          data: { tfjsArtifactKey: null, tfjsSha256: null, tfjsSizeBytes: null },
        })
        .catch(() => undefined);
      await this.store.delete(key).catch(() => undefined);
      throw error;
    }
  }

  /**
   * A ready version's bytes, decrypted and sha256-checked: the served artifact (`model`) or a
   * trained version's TF.js copy (`tfjs`, 404 when the version has none).
   */
  async download(
    tenantId: string,
    name: string,
    number: number,
    format: ArtifactFormat,
  ): Promise<ArtifactDownload> {
    const version = await this.versions.getVersion(tenantId, name, number);
    if (version.status !== 'ready') {
      throw new RegistryError(
        'NOT_FOUND',
        `version ${number} of model '${name}' is ${version.status}; only ready versions can be downloaded`,
      );
    }
    if (format === 'tfjs') {
      if (!version.tfjsArtifactKey || !version.tfjsSha256) {
        throw new RegistryError(
          'NOT_FOUND',
          `version ${number} of model '${name}' has no TensorFlow.js copy (only trained neural networks do)`,
        );
      }
      const bytes = await this.reader.read({
        tenantId,
        artifactKey: version.tfjsArtifactKey,
        sha256: version.tfjsSha256,
        encrypted: true,
      });
      return { bytes, sha256: version.tfjsSha256, fileName: `${name}-v${number}-tfjs.zip` };
    }
    const bytes = await this.reader.read({
      tenantId,
      artifactKey: version.artifactKey,
      sha256: version.sha256,
      encrypted: version.encrypted,
    });
    const fileName = version.artifactKey.slice(version.artifactKey.lastIndexOf('/') + 1);
    return {
      bytes,
      sha256: version.sha256 ?? createHash('sha256').update(bytes).digest('hex'),
      fileName: `${name}-v${number}-${fileName}`,
    };
  }
}
