import { Module, type DynamicModule } from '@nestjs/common';
import { PrismaService } from '@maas/db';
import type { MasterKey } from '../integrity/envelope.js';
import { TenantDataKeys } from '../integrity/tenant-data-keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import {
  MODEL_UPLOAD_OPTIONS,
  type ModelUploadOptions,
  ModelRegistryService,
  OBJECT_STORE,
  TENANT_DATA_KEYS,
} from './model-registry.service.js';
import { VersionArtifactsService } from './version-artifacts.service.js';

export interface ModelRegistryKeys {
  /** The platform master key that wraps new tenant data keys. */
  masterKey: MasterKey;
  /** Older master keys still accepted for unwrapping (during a rotation). */
  previousMasterKeys?: MasterKey[];
}

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
        ModelRegistryService,
        VersionArtifactsService,
      ],
      exports: [OBJECT_STORE, TENANT_DATA_KEYS, ModelRegistryService, VersionArtifactsService],
    };
  }
}
