import { Controller, Get, UseGuards } from '@nestjs/common';
import { PrismaService } from '@maas/db';
import { AdminGuard } from '../auth/guards.js';
import { WorkerDirectory } from './worker-directory.service.js';

/** `GET /api/admin/workers`: live inference workers and the versions each has loaded. */
@Controller('api/admin/workers')
@UseGuards(AdminGuard)
export class WorkersAdminController {
  constructor(
    private readonly directory: WorkerDirectory,
    private readonly prisma: PrismaService,
  ) {}

  @Get()
  async list() {
    await this.directory.refresh();
    const workers = this.directory.list();
    const ids = [...new Set(workers.flatMap((w) => w.loadedVersions))];
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
    return {
      items: workers
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
        })),
      nextCursor: null,
    };
  }
}
