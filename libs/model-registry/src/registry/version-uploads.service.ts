import { Readable } from 'node:stream';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { type Model, type ModelVersion, PrismaService } from '@maas/db';
import { ENCRYPTION_OVERHEAD } from '../integrity/envelope.js';
import { sealThread } from '../integrity/seal-thread.js';
import type { TenantDataKeys } from '../integrity/tenant-data-keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import { PayloadTooLargeError } from '../storage/storage-errors.js';
import { modelArtifactKey } from '../storage/storage-keys.js';
import { tfjsArchiveKind } from '../validation/tfjs-archive.js';
import { InvalidModelError } from '../validation/validation-errors.js';
import {
  ValidationSandbox,
  type ValidationSandboxOptions,
} from '../validation/validation-sandbox.js';
import { ModelsService } from './models.service.js';
import { modelNotFound, RegistryError, versionNotFound } from './registry.errors.js';
import { MODEL_UPLOAD_OPTIONS, OBJECT_STORE, TENANT_DATA_KEYS } from './registry.tokens.js';
import { StorageQuotaService } from './storage-quota.service.js';
import { UploadScratch, writeFully } from './upload-scratch.js';
import { UploadSlots } from './upload-slots.js';

/** How uploads are bounded in this process (the gateway sets them from its config). */
export interface ModelUploadOptions {
  /** The validation child's caps (VALIDATION_* and MAX_UNPACK_* in the gateway's config). */
  validation?: Partial<ValidationSandboxOptions>;
  /** Uploads in progress at once (MAX_UPLOADS_IN_FLIGHT); unset: no limit (the trainer). */
  maxInFlight?: number;
  /** ... of which one tenant may hold (MAX_UPLOADS_IN_FLIGHT_PER_TENANT); unset: no limit. */
  maxInFlightPerTenant?: number;
}

export type ModelFormatName = 'onnx' | 'tfjs';

export interface VersionUpload {
  format: ModelFormatName;
  body: Readable | Buffer;
  /** The platform's upload limit; the tenant's remaining storage quota may lower it. */
  maxBytes: number;
  /** "user:<id>" or "api-key:<id>" */
  createdBy: string;
  /** The training job that produced it, if any. */
  trainingJobId?: string;
  metrics?: Record<string, unknown>;
  /** A trained decision tree's description (the tree route shows it). */
  tree?: object;
}

/**
 * New versions: an upload streams to storage and to a scratch copy, is validated in a child
 * process, and ends `ready` or `failed`; the number of uploads in flight is bounded.
 */
@Injectable()
export class VersionUploadsService {
  /** Validates uploads in child processes (never on this event loop or heap). */
  private readonly validator: ValidationSandbox;
  private readonly uploadSlots: UploadSlots;

  constructor(
    private readonly prisma: PrismaService,
    private readonly models: ModelsService,
    private readonly quota: StorageQuotaService,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(TENANT_DATA_KEYS) private readonly dataKeys: TenantDataKeys,
    @Optional() @Inject(MODEL_UPLOAD_OPTIONS) uploads: ModelUploadOptions = {},
  ) {
    this.validator = new ValidationSandbox(uploads.validation);
    this.uploadSlots = new UploadSlots(
      uploads.maxInFlight ?? Infinity,
      uploads.maxInFlightPerTenant ?? Infinity,
    );
  }

  /**
   * Streams an artifact to storage (encrypted under the tenant's data key, sha256 and size of
   * the plaintext recorded), validates it by loading it, and records its signature. The number
   * is taken atomically. Past the platform limit or the tenant's storage quota the stream stops
   * (413). Anything that fails after the number was taken leaves a `failed` version with the
   * reason, and no bytes.
   */
  async uploadVersion(
    tenantId: string,
    name: string,
    upload: VersionUpload,
  ): Promise<ModelVersion> {
    // The slot first: an upload refused for capacity (429) costs no database query, so a
    // flood of them (a slowloris of half-sent uploads) cannot load PostgreSQL.
    const release = this.uploadSlots.take(tenantId);
    try {
      const model = await this.models.getModel(tenantId, name);
      const allowance = await this.quota.storageAllowance(tenantId, upload.maxBytes);
      const maxBytes = allowance.maxBytes;
      const tooLarge = () =>
        allowance.quotaBound ? allowance.quotaExceeded() : new PayloadTooLargeError(maxBytes);
      const scratch = await UploadScratch.create();
      try {
        return await this.storeAndValidate(tenantId, model, upload, maxBytes, tooLarge, scratch);
      } finally {
        await scratch.dispose().catch(() => undefined);
      }
    } catch (error) {
      // The temp disk is sized for MAX_UPLOADS_IN_FLIGHT uploads (docs/deploy.md); if it still
      // fills, the upload is refused as a capacity problem, not reported as a bug.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        throw new RegistryError(
          'UNAVAILABLE',
          'no scratch space is left for this upload; retry later',
        );
      }
      throw error;
    } finally {
      release();
    }
  }

  /**
   * uploadVersion past its checks: streams the body to storage (encrypted) and, chunk by chunk,
   * to the scratch directory's plaintext copy that the validation child reads; then validates.
   */
  private async storeAndValidate(
    tenantId: string,
    model: Model,
    upload: VersionUpload,
    maxBytes: number,
    tooLarge: () => Error,
    scratch: UploadScratch,
  ): Promise<ModelVersion> {
    const name = model.name;
    const { first, rest } = await peekFirstChunk(upload.body);
    if (first.length === 0) throw new InvalidModelError('the model file is empty');
    let fileName = 'model.onnx';
    if (upload.format === 'tfjs') {
      const kind = tfjsArchiveKind(first);
      if (!kind) {
        throw new InvalidModelError(
          'not a TensorFlow.js model archive: send a .zip or .tar.gz holding model.json and its weight shards',
        );
      }
      fileName = kind === 'zip' ? 'model.zip' : 'model.tar.gz';
    }

    // The tenant's scoped client, never the bare one.
    const db = this.prisma.forTenant(tenantId);
    // Raw SQL is not scoped: the model id comes from the tenant's own getModel above.
    const taken = await db.$queryRaw<{ number: number }[]>`
      UPDATE models SET next_version = next_version + 1, updated_at = now()
      WHERE id = ${model.id}::uuid AND deleted_at IS NULL
      RETURNING next_version - 1 AS number`;
    if (taken.length === 0) throw modelNotFound(name);
    const number = Number(taken[0].number);
    const artifactKey = modelArtifactKey(tenantId, model.id, number, fileName);
    const version = await db.modelVersion.create({
      data: {
        tenantId,
        modelId: model.id,
        number,
        format: upload.format,
        artifactKey,
        status: 'uploading',
        encrypted: true,
        createdBy: upload.createdBy,
        trainingJobId: upload.trainingJobId,
        metrics: upload.metrics as object | undefined,
        tree: upload.tree,
      },
    });
    let bytesStored = false;
    try {
      const dataKey = await this.dataKeys.forTenant(tenantId);
      let sizeBytes = 0;
      const plaintext = await scratch.openArtifact();
      // Every chunk is metered and written to the validator's copy, then hashed and encrypted
      // on the sealing thread (off the event loop that serves every other request): memory
      // stays at a chunk and two sealing batches, and nothing is read back from storage to
      // validate.
      const teed = async function* (): AsyncGenerator<Buffer> {
        for await (const chunk of prepend(first, rest)) {
          sizeBytes += chunk.length;
          if (sizeBytes > maxBytes) throw tooLarge();
          await writeFully(plaintext, chunk);
          yield chunk;
        }
      };
      const sealed = sealThread.seal(teed(), dataKey, artifactKey);
      try {
        await this.store.put(artifactKey, Readable.from(sealed.chunks), {
          maxBytes: maxBytes + ENCRYPTION_OVERHEAD,
          contentType: 'application/octet-stream',
        });
      } finally {
        await plaintext.close();
      }
      bytesStored = true;
      const sha256 = sealed.sha256();
      const moved = await db.modelVersion.updateMany({
        where: { id: version.id, status: 'uploading' },
        data: { status: 'validating', sha256, sizeBytes: BigInt(sizeBytes) },
      });
      // Deleted, or given up on by the sweep, while its bytes were streaming.
      if (moved.count === 0) throw versionNotFound(name, number);
      // Concurrent uploads each passed the quota check on their own: count them together.
      await this.quota.assertWithinStorageQuota(tenantId, sizeBytes);

      const { signature } = await this.validator.validate({
        format: upload.format,
        file: scratch.artifactPath,
        workDir: scratch.directory,
      });
      const { count } = await db.modelVersion.updateMany({
        where: { id: version.id, status: 'validating' },
        data: {
          status: 'ready',
          inputs: signature.inputs as object[],
          outputs: signature.outputs as object[],
        },
      });
      // Deleted (the model or this version) while it was being validated.
      if (count === 0) throw versionNotFound(name, number);
      return await db.modelVersion.findUniqueOrThrow({ where: { id: version.id } });
    } catch (error) {
      if (bytesStored || !(error instanceof PayloadTooLargeError)) {
        await this.store.delete(artifactKey).catch(() => undefined);
      }
      await db.modelVersion
        .updateMany({
          where: { id: version.id, status: { in: ['uploading', 'validating'] } },
          data: { status: 'failed', statusReason: reasonOf(error) },
        })
        .catch(() => undefined);
      throw error;
    }
  }
}

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 1000 ? `${message.slice(0, 1000)}…` : message;
}

/** The first non-empty chunk of a body and the rest, without destroying the source. */
async function peekFirstChunk(
  body: Readable | Buffer,
): Promise<{ first: Buffer; rest: AsyncIterator<Buffer> | null }> {
  if (Buffer.isBuffer(body)) return { first: body, rest: null };
  const iterator = body.iterator({ destroyOnReturn: false })[Symbol.asyncIterator]();
  for (;;) {
    const next = await iterator.next();
    if (next.done) return { first: Buffer.alloc(0), rest: null };
    const chunk = toBuffer(next.value);
    if (chunk.length > 0) return { first: chunk, rest: iterator };
  }
}

async function* prepend(
  first: Buffer,
  rest: AsyncIterator<unknown> | null,
): AsyncGenerator<Buffer> {
  yield first;
  if (!rest) return;
  try {
    for (;;) {
      const next = await rest.next();
      if (next.done) return;
      yield toBuffer(next.value);
    }
  } finally {
    await rest.return?.();
  }
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array)
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk);
  throw new TypeError('upload bodies must be streams of bytes');
}
