import { Injectable } from '@nestjs/common';
import { PrismaService } from '@maas/db';
import { ModelsService } from './models.service.js';
import { assertValidLabel } from './registry.helper.js';
import { RegistryError, versionNotFound } from './registry.errors.js';

/** A label's targets: version number → weight (one entry: a plain label). */
export type LabelTargets = Record<string, number>;

export interface LabelView {
  name: string;
  versions: LabelTargets;
}

export function labelView(label: {
  name: string;
  targets: { weight: number; version: { number: number } }[];
}): LabelView {
  const versions: LabelTargets = {};
  for (const target of [...label.targets].sort((a, b) => a.version.number - b.version.number)) {
    versions[String(target.version.number)] = target.weight;
  }
  return { name: label.name, versions };
}

/**
 * A model's labels: names that point at one ready version, or split traffic by weight between
 * several (a canary). VersionResolutionService reads them.
 */
@Injectable()
export class VersionLabelsService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly models: ModelsService,
  ) {}

  async listLabels(tenantId: string, modelId: string): Promise<LabelView[]> {
    const labels = await this.db(tenantId).modelLabel.findMany({
      where: { modelId },
      include: { targets: { include: { version: { select: { number: true } } } } },
      orderBy: { name: 'asc' },
    });
    return labels.map(labelView);
  }

  /**
   * Points a label at one ready version, or splits it by weight between several (canary).
   * Replaces whatever the label pointed at before, atomically.
   */
  async setLabel(
    tenantId: string,
    name: string,
    label: string,
    targets: LabelTargets,
  ): Promise<LabelView> {
    assertValidLabel(label);
    const model = await this.models.getModel(tenantId, name);
    const entries = Object.entries(targets);
    if (entries.length === 0) {
      throw new RegistryError('INVALID_ARGUMENT', 'a label needs at least one version');
    }
    const numbers = entries.map(([version, weight]) => {
      if (!/^[0-9]{1,9}$/.test(version) || Number(version) < 1) {
        throw new RegistryError('INVALID_ARGUMENT', `'${version}' is not a version number`);
      }
      if (!Number.isInteger(weight) || weight < 1 || weight > 1_000_000) {
        throw new RegistryError(
          'INVALID_ARGUMENT',
          `weight of version ${version} must be an integer from 1 to 1000000`,
        );
      }
      return Number(version);
    });
    const db = this.db(tenantId);
    const versions = await db.modelVersion.findMany({
      where: { modelId: model.id, number: { in: numbers } },
    });
    for (const number of numbers) {
      const version = versions.find((v) => v.number === number);
      if (!version) throw versionNotFound(name, number);
      if (version.status !== 'ready') {
        throw new RegistryError(
          'INVALID_ARGUMENT',
          `version ${number} of model '${name}' is ${version.status}; a label can only point at a ready version`,
        );
      }
    }
    const saved = await db.$transaction(async (tx) => {
      const row = await tx.modelLabel.upsert({
        where: { modelId_name: { modelId: model.id, name: label } },
        create: { modelId: model.id, name: label },
        update: { updatedAt: new Date() },
      });
      await tx.modelLabelTarget.deleteMany({ where: { labelId: row.id } });
      // One create per target (a label has a few): a scoped create checks both parents.
      for (const [version, weight] of entries) {
        await tx.modelLabelTarget.create({
          data: {
            labelId: row.id,
            versionId: versions.find((v) => v.number === Number(version))!.id,
            weight,
          },
        });
      }
      return row;
    });
    return labelView({
      ...saved,
      targets: entries.map(([version, weight]) => ({
        weight,
        version: { number: Number(version) },
      })),
    });
  }

  async deleteLabel(tenantId: string, name: string, label: string): Promise<void> {
    assertValidLabel(label);
    const model = await this.models.getModel(tenantId, name);
    const { count } = await this.db(tenantId).modelLabel.deleteMany({
      where: { modelId: model.id, name: label },
    });
    if (count === 0) {
      throw new RegistryError('NOT_FOUND', `label '${label}' of model '${name}' not found`);
    }
  }

  /** Tenant-facing methods query through the tenant's scoped client, never the bare one. */
  private db(tenantId: string) {
    return this.prisma.forTenant(tenantId);
  }
}
