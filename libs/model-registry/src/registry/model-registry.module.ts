import { Module, type DynamicModule } from '@nestjs/common';
import { PrismaService } from '@maas/db';
import { ArtifactReader } from '../integrity/artifact-reader.js';
import type { MasterKey } from '../integrity/envelope.js';
import { TenantDataKeys } from '../integrity/tenant-data-keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import { ModelVersionsService } from './model-versions.service.js';
import { ModelsService } from './models.service.js';
import { RegistryMaintenanceService } from './registry-maintenance.service.js';
import { MODEL_UPLOAD_OPTIONS, OBJECT_STORE, TENANT_DATA_KEYS } from './registry.tokens.js';
import { StorageQuotaService } from './storage-quota.service.js';
import { VersionArtifactsService } from './version-artifacts.service.js';
import { VersionLabelsService } from './version-labels.service.js';
import { VersionResolutionService } from './version-resolution.service.js';
import { type ModelUploadOptions, VersionUploadsService } from './version-uploads.service.js';

export interface ModelRegistryKeys {
  /** The platform master key that wraps new tenant data keys. */
  masterKey: MasterKey;
  /** Older master keys still accepted for unwrapping (during a rotation). */
  previousMasterKeys?: MasterKey[];
}

const SERVICES = [
  ModelsService,
  ModelVersionsService,
  VersionUploadsService,
  VersionLabelsService,
  VersionResolutionService,
  StorageQuotaService,
  RegistryMaintenanceService,
  VersionArtifactsService,
];

@Module({})
export class ModelRegistryModule {
  static forRoot(
    store: ObjectStore,
    keys: ModelRegistryKeys,
    uploads: ModelUploadOptions = {},
  ): DynamicModule {
    return {
      module: ModelRegistryModule,
      global: true,
      providers: [
        { provide: OBJECT_STORE, useValue: store },
        { provide: MODEL_UPLOAD_OPTIONS, useValue: uploads },
        {
          provide: TENANT_DATA_KEYS,
          inject: [PrismaService],
          useFactory: (prisma: PrismaService) =>
            new TenantDataKeys(prisma, keys.masterKey, keys.previousMasterKeys),
        },
        // Reads artifacts and datasets as serving code does (decrypted, sha256-checked).
        {
          provide: ArtifactReader,
          inject: [OBJECT_STORE, TENANT_DATA_KEYS],
          useFactory: (objects: ObjectStore, dataKeys: TenantDataKeys) =>
            new ArtifactReader(objects, dataKeys),
        },
        ...SERVICES,
      ],
      exports: [OBJECT_STORE, TENANT_DATA_KEYS, ArtifactReader, ...SERVICES],
    };
  }
}
