import { Injectable } from '@nestjs/common';
import { PrismaService } from '@maas/db';
import type { WorkerInfo } from '@maas/worker-link';
import { WorkerDirectory } from './worker-directory.service.js';

/** A version a worker has loaded, named as admins know it. */
export interface LoadedVersion {
  versionId: string;
  tenantId: string;
  model: string;
  version: number;
  format: string;
}

export type WorkerOverview = Pick<
  WorkerInfo,
  'id' | 'url' | 'capacity' | 'inFlight' | 'backends' | 'startedAt' | 'heartbeatAt'
> & { loadedVersions: LoadedVersion[] };

/** The live inference workers and what each has loaded, for platform admins. */
@Injectable()
export class WorkerOverviewService {
  constructor(
    private readonly directory: WorkerDirectory,
    private readonly prisma: PrismaService,
  ) {}

  /** Every live worker, by id; versions deleted since they were loaded are left out. */
  async list(): Promise<WorkerOverview[]> {
    await this.directory.refresh();
    const workers = this.directory.list();
    const ids = [...new Set(workers.flatMap((w) => w.loadedVersions))];
    // Workers serve every tenant: the unscoped client, on purpose.
    const versions = ids.length
      ? await this.prisma.modelVersion.findMany({
          where: { id: { in: ids } },
          select: {
            id: true,
            number: true,
            tenantId: true,
            format: true,
            model: { select: { name: true } },
          },
        })
      : [];
    const byId = new Map(versions.map((v) => [v.id, v]));
    return workers
      .slice()
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((worker) => ({
        id: worker.id,
        url: worker.url,
        capacity: worker.capacity,
        inFlight: worker.inFlight,
        backends: worker.backends,
        startedAt: worker.startedAt,
        heartbeatAt: worker.heartbeatAt,
        loadedVersions: worker.loadedVersions.flatMap((id) => {
          const v = byId.get(id);
          return v
            ? [
                {
                  versionId: id,
                  tenantId: v.tenantId,
                  model: v.model.name,
                  version: v.number,
                  format: v.format,
                },
              ]
            : [];
        }),
      }));
  }
}
