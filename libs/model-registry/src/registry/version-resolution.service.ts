import { Injectable } from '@nestjs/common';
import { type Model, type ModelVersion, PrismaService } from '@maas/db';
import { ModelsService } from './models.service.js';
import { assertPossibleModelName, assertValidLabel } from './registry.helper.js';
import { RegistryError, versionNotFound, versionQuarantined } from './registry.errors.js';

export interface VersionSelector {
  version?: number;
  label?: string;
}

export interface ResolvedVersion {
  model: Model;
  version: ModelVersion;
}

/** The versions a request may resolve to, with their traffic weights (at least one). */
export interface VersionCandidates {
  model: Model;
  targets: { version: ModelVersion; weight: number }[];
}

const DEFAULT_LABEL = 'production';
// Versions a request may resolve to; a quarantined one then answers 503 (pickServableVersion)
// instead of the request silently moving to another version.
const RESOLVABLE_STATUSES = ['ready', 'quarantined'] as const;

/** Draws one version from the candidates by weight (the only one when there is one). */
export function pickVersion(candidates: VersionCandidates): ResolvedVersion {
  return { model: candidates.model, version: pickWeighted(candidates.targets).version };
}

/** pickVersion for serving: a quarantined version answers 503 with its reason. */
export function pickServableVersion(candidates: VersionCandidates): ResolvedVersion {
  const resolved = pickVersion(candidates);
  if (resolved.version.status === 'quarantined') {
    throw versionQuarantined(resolved.model.name, resolved.version);
  }
  return resolved;
}

/** Which version of a model a request goes to. */
@Injectable()
export class VersionResolutionService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly models: ModelsService,
  ) {}

  /**
   * Which version serves a request: the explicit one, else the label's (weighted when it
   * splits traffic), else label `production`, else the newest ready version. An explicit
   * version that failed its integrity check answers 503. A quarantined version is resolved
   * like a ready one (a label's split skips it while it has a ready target): serving code
   * draws with pickServableVersion, which answers its reason with 503.
   */
  async resolveVersion(
    tenantId: string,
    name: string,
    selector: VersionSelector,
  ): Promise<ResolvedVersion> {
    return pickVersion(await this.resolveCandidates(tenantId, name, selector));
  }

  /**
   * What resolveVersion draws from: the versions a request may go to, with their weights.
   * Hot paths may cache this briefly and call pickVersion per request, so that a weighted
   * label still splits traffic request by request.
   */
  async resolveCandidates(
    tenantId: string,
    name: string,
    selector: VersionSelector,
  ): Promise<VersionCandidates> {
    assertPossibleModelName(name);
    // The tenant's scoped client, never the bare one.
    const db = this.prisma.forTenant(tenantId);
    const live = { name, deletedAt: null };
    if (selector.version !== undefined) {
      // The hot path is one query; the misses find out which part is missing.
      const found = await db.modelVersion.findFirst({
        where: { number: selector.version, model: live },
        include: { model: true },
      });
      if (found?.status === 'ready' || found?.status === 'quarantined') {
        const { model, ...version } = found;
        return { model, targets: [{ version, weight: 1 }] };
      }
      await this.models.getModel(tenantId, name);
      if (found?.status === 'corrupt') {
        throw new RegistryError(
          'UNAVAILABLE',
          `version ${selector.version} of model '${name}' failed its integrity check`,
        );
      }
      throw versionNotFound(name, selector.version);
    }
    if (selector.label !== undefined) assertValidLabel(selector.label);
    const labelName = selector.label ?? DEFAULT_LABEL;
    const label = await db.modelLabel.findFirst({
      where: { name: labelName, model: live },
      include: { model: true, targets: { include: { version: true } } },
    });
    const weighted = label?.targets.filter((t) => t.weight > 0) ?? [];
    const ready = weighted.filter((t) => t.version.status === 'ready');
    // A quarantined target drops out of a split; a label left with none answers its reason.
    const targets = ready.length
      ? ready
      : weighted.filter((t) => t.version.status === 'quarantined');
    if (label && targets.length > 0) {
      return {
        model: label.model,
        targets: targets
          .map((t) => ({ version: t.version, weight: t.weight }))
          .sort((a, b) => a.version.number - b.version.number),
      };
    }
    const model = await this.models.getModel(tenantId, name);
    if (selector.label !== undefined) {
      throw new RegistryError(
        'NOT_FOUND',
        `label '${selector.label}' of model '${name}' not found`,
      );
    }
    const newest = await db.modelVersion.findFirst({
      where: { modelId: model.id, status: { in: [...RESOLVABLE_STATUSES] } },
      orderBy: { number: 'desc' },
    });
    if (!newest) throw new RegistryError('NOT_FOUND', `model '${name}' has no ready version`);
    return { model, targets: [{ version: newest, weight: 1 }] };
  }
}

function pickWeighted<T extends { weight: number }>(targets: T[]): T {
  const total = targets.reduce((sum, t) => sum + t.weight, 0);
  let point = Math.random() * total;
  for (const target of targets) {
    point -= target.weight;
    if (point < 0) return target;
  }
  return targets[targets.length - 1];
}
