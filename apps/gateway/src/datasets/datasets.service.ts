import { randomUUID } from 'node:crypto';
import { finished, PassThrough, Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '@maas/app-runtime';
import { type Dataset, PrismaService } from '@maas/db';
import {
  datasetKey,
  ENCRYPTION_OVERHEAD,
  OBJECT_STORE,
  type ObjectStore,
  PayloadTooLargeError,
  sealThread,
  StorageQuotaService,
  TENANT_DATA_KEYS,
  type TenantDataKeys,
} from '@maas/model-registry';
import { type ColumnSummary, CsvFormatError, type CsvSummary } from '@maas/training';
// A subpath of its own: the thread's machinery (@maas/model-registry) stays out of the lib's
// index, which the browser console's specs type-check against.
import { profileCsvOffThread } from '@maas/training/csv-thread';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME = /^[^\u0000-\u001f]{1,200}$/;

export interface DatasetView {
  id: string;
  name: string;
  rows: number;
  columns: ColumnSummary[];
  sizeBytes: number;
  sha256: string;
  createdAt: string;
}

export function datasetView(dataset: Dataset): DatasetView {
  return {
    id: dataset.id,
    name: dataset.name,
    rows: dataset.rows,
    columns: dataset.columns as unknown as ColumnSummary[],
    sizeBytes: Number(dataset.sizeBytes),
    sha256: dataset.sha256,
    createdAt: dataset.createdAt.toISOString(),
  };
}

function datasetNotFound(id: string): DomainError {
  return new DomainError('NOT_FOUND', `dataset '${id}' not found`);
}

/**
 * Tenants' CSV datasets. An upload is streamed to object storage and profiled on the way
 * (column types, row count), so a bad CSV is refused with its line number and leaves nothing
 * behind, and the gateway never holds a whole dataset in memory. The stored bytes are
 * encrypted at rest like model artifacts (AES-256-GCM under the tenant's data key, the object
 * key as associated data); size and sha256 are the plaintext's, and the trainer reads them back
 * through the registry's ArtifactReader.
 */
@Injectable()
export class DatasetsService {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly quota: StorageQuotaService,
    @Inject(TENANT_DATA_KEYS) private readonly dataKeys: TenantDataKeys,
  ) {}

  async upload(
    tenantId: string,
    input: { name: string; body: Readable | Buffer; maxBytes: number; createdBy: string },
  ): Promise<Dataset> {
    if (!NAME.test(input.name)) {
      throw new DomainError('INVALID_ARGUMENT', 'name must be 1 to 200 printable characters');
    }
    // Datasets count against the tenant's storage quota like model artifacts.
    const allowance = await this.quota.storageAllowance(tenantId, input.maxBytes);
    const dataKey = await this.dataKeys.forTenant(tenantId);
    const id = randomUUID();
    const key = datasetKey(tenantId, id);
    const source = Buffer.isBuffer(input.body) ? Readable.from([input.body]) : input.body;
    const toStore = new PassThrough();
    const toProfiler = new PassThrough();
    // `finished` also reports an error the body had before this point (a client that hung up
    // while the quota was checked), which an 'error' listener added now would never see.
    finished(source, (error) => {
      if (!error) return;
      toStore.destroy(error);
      toProfiler.destroy(error);
    });
    // Failures surface through the two promises below; these only keep a late stream error
    // (after its consumer has given up) from becoming an uncaught exception.
    toStore.on('error', () => undefined);
    toProfiler.on('error', () => undefined);
    source.pipe(toStore);
    source.pipe(toProfiler);
    // Either side failing stops both and drains the rest of the request body.
    const abort = (error: Error) => {
      source.unpipe();
      toStore.destroy(error);
      toProfiler.destroy(error);
      source.resume();
    };
    // Profiled on a thread of its own, below the event loop's priority (the CSV's bytes are
    // copied to it in batches).
    const profiled = profileCsvOffThread(toProfiler).catch((error: unknown) => {
      abort(error as Error);
      throw error;
    });
    // The limit and the recorded size and sha256 are the plaintext's; the sha256 and the
    // encryption are the sealing thread's (off the event loop, as for model uploads).
    let sizeBytes = 0;
    const metered = async function* (): AsyncGenerator<Buffer> {
      for await (const chunk of toStore as AsyncIterable<Buffer>) {
        sizeBytes += chunk.length;
        if (sizeBytes > allowance.maxBytes) throw new PayloadTooLargeError(allowance.maxBytes);
        yield chunk;
      }
    };
    const sealed = sealThread.seal(metered(), dataKey, key);
    const stored = this.store
      .put(key, Readable.from(sealed.chunks), {
        maxBytes: allowance.maxBytes + ENCRYPTION_OVERHEAD,
        contentType: 'application/octet-stream',
      })
      .catch((error: unknown) => {
        abort(error as Error);
        throw error;
      });
    const [profile, put] = await Promise.allSettled([profiled, stored]);
    if (profile.status === 'rejected' || put.status === 'rejected') {
      await this.store.delete(key).catch(() => undefined);
      const csvError = profile.status === 'rejected' ? profile.reason : undefined;
      const storeError = put.status === 'rejected' ? put.reason : undefined;
      // Too large wins (the CSV "error" is then only the cut-off); otherwise the CSV's own.
      if ((storeError as { code?: string } | undefined)?.code === 'PAYLOAD_TOO_LARGE') {
        throw allowance.quotaBound ? allowance.quotaExceeded() : (storeError as Error);
      }
      if (csvError instanceof CsvFormatError) throw csvError;
      throw (csvError ?? storeError) as Error;
    }
    const summary: CsvSummary = profile.value;
    let created: Dataset | undefined;
    try {
      created = await this.prisma.forTenant(tenantId).dataset.create({
        data: {
          id,
          tenantId,
          name: input.name,
          storageKey: key,
          sizeBytes: BigInt(sizeBytes),
          sha256: sealed.sha256(),
          rows: summary.rows,
          columns: summary.columns as unknown as object[],
          encrypted: true,
          createdBy: input.createdBy,
        },
      });
      // Concurrent uploads each passed the allowance on their own: count them together.
      await this.quota.assertWithinStorageQuota(tenantId, sizeBytes);
      return created;
    } catch (error) {
      if (created) {
        await this.prisma
          .forTenant(tenantId)
          .dataset.delete({ where: { id: created.id } })
          .catch(() => undefined);
      }
      await this.store.delete(key).catch(() => undefined);
      throw error;
    }
  }

  async list(
    tenantId: string,
    page: { cursor?: string; limit: number },
  ): Promise<{ items: Dataset[]; nextCursor: string | null }> {
    const cursor = page.cursor && UUID.test(page.cursor) ? page.cursor : undefined;
    const rows = await this.prisma.forTenant(tenantId).dataset.findMany({
      where: { deletedAt: null },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: page.limit + 1,
      ...(cursor && { cursor: { id: cursor }, skip: 1 }),
    });
    const items = rows.slice(0, page.limit);
    return { items, nextCursor: rows.length > page.limit ? items[items.length - 1].id : null };
  }

  /** A live dataset of the tenant; a foreign or deleted id is 404 like a missing one. */
  async get(tenantId: string, id: string): Promise<Dataset> {
    if (!UUID.test(id)) throw datasetNotFound(id);
    const dataset = await this.prisma.forTenant(tenantId).dataset.findFirst({
      where: { id, deletedAt: null },
    });
    if (!dataset) throw datasetNotFound(id);
    return dataset;
  }

  /** Removes the bytes; the row stays (marked deleted) so past training jobs keep their record. */
  async delete(tenantId: string, id: string): Promise<void> {
    const dataset = await this.get(tenantId, id);
    const marked = await this.prisma.forTenant(tenantId).dataset.updateMany({
      where: { id: dataset.id, deletedAt: null },
      data: { deletedAt: new Date() },
    });
    if (marked.count === 0) throw datasetNotFound(id);
    await this.store.delete(dataset.storageKey);
  }
}
